//! Bounded memory: what a hostile script makes labsh hold. A file hashed is streamed, however
//! large; a device is refused, not read forever; a file read whole has a limit; a program's
//! captured output has one; a runaway loop meets the limit of its value in seconds.
//!
//! Every labsh here runs under an address-space limit (ulimit -v) and a watchdog, so that a
//! labsh that does hold everything fails the test instead of the machine. Time is the CPU time
//! labsh takes, which a busy machine does not stretch as it stretches the wall clock.

use crate::support::{walk, Lab, CANARY_VALUE};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space each labsh gets, in KiB: far more than any of these scripts needs.
const ADDRESS_SPACE_KIB: u64 = 4_000_000;

/// CPU time after which a labsh is called stuck (each of these takes seconds when it works).
const STUCK: Duration = Duration::from_secs(120);

/// Wall-clock time after which a labsh is called stuck, however busy the machine.
const STUCK_WALL: Duration = Duration::from_secs(900);

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    /// The CPU time labsh took (user and system).
    cpu: Duration,
}

/// The CPU time process `pid` has taken so far (a process that has ended and is not reaped yet
/// still tells it), from /proc/PID/stat's utime and stime, in Linux's 100 ticks a second.
fn cpu_of(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// `labsh run SCRIPT` (written into the lab's work folder) under `ulimit -v kib`, killed when it
/// takes more than [`STUCK`] of CPU time (or [`STUCK_WALL`] of wall-clock time).
fn run_limited(lab: &Lab, name: &str, script: &str, kib: u64) -> Ran {
    let f = lab.file(name, script);
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(format!("ulimit -v {kib}; exec \"$0\" \"$@\""))
        .arg(crate::support::bin())
        .args(["run", f.to_str().unwrap()])
        .current_dir(lab.work())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in lab.envs() {
        c.env(k, v);
    }
    let t0 = Instant::now();
    let mut child = c.spawn().unwrap();
    // The pipes are drained while it runs: a chatty labsh must not block on them.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut s).unwrap();
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut s).unwrap();
        s
    });
    let mut cpu = Duration::ZERO;
    let status = loop {
        // Read before reaping: an ended process's times stay until it is reaped.
        cpu = cpu_of(child.id()).unwrap_or(cpu);
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if cpu > STUCK || t0.elapsed() > STUCK_WALL {
            // Gone already is as good: it is stopped.
            if let Err(e) = child.kill() {
                eprintln!("{name}: kill: {e}");
            }
            child.wait().unwrap();
            panic!(
                "{name}: still running after {cpu:?} of CPU time ({:?}); its stderr so far is \
                 lost with it (labsh held on instead of stopping at a limit)",
                t0.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let ran = Ran {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out_t.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_t.join().unwrap()).into_owned(),
        cpu,
    };
    assert!(!ran.stdout.contains(CANARY_VALUE) && !ran.stderr.contains(CANARY_VALUE));
    lab.assert_no_canary_in_files();
    ran
}

#[track_caller]
fn says(r: &Ran, what: &str, texts: &[&str]) {
    for t in texts {
        assert!(
            r.stderr.contains(t),
            "{what}: no {t:?} in (exit {}, {:?} of CPU):\n{}",
            r.code,
            r.cpu,
            r.stderr
        );
    }
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("out of memory"),
        "{what}:\n{}",
        r.stderr
    );
}

#[test]
fn files_sha256_streams_a_3_gb_sparse_file_in_half_a_gigabyte_of_address_space() {
    let lab = Lab::new();
    let big = lab.work().join("sparse.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let want = crate::support::run_ok(Command::new("sha256sum").arg(&big), "sha256sum");
    let want = String::from_utf8_lossy(&want.stdout);
    let want = want.split_whitespace().next().unwrap().to_string();
    let r = run_limited(
        &lab,
        "hash.rhai",
        &format!("print(files::sha256({:?}));\n", big.display().to_string()),
        500_000,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().next(), Some(want.as_str()), "{}", r.stderr);
}

#[test]
fn files_sha256_refuses_a_device_at_once_naming_it() {
    let lab = Lab::new();
    let r = run_limited(
        &lab,
        "zero.rhai",
        "let h = files::sha256(\"/dev/zero\");\n",
        ADDRESS_SPACE_KIB,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    says(
        &r,
        "sha256 of /dev/zero",
        &[
            "cannot read /dev/zero: not a regular file (a character device)",
            "zero.rhai:1:",
        ],
    );
    assert!(r.cpu < Duration::from_secs(10), "{:?}", r.cpu);
}

#[test]
fn a_program_that_never_stops_printing_is_stopped_naming_the_limit_and_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new();
    // A secret the program prints: the file keeps its mask, never its value.
    let r = run_limited(
        &lab,
        "yes.rhai",
        "let pw = secret(\"bounds-pw\", #{generate: true});\n\
         run([\"sh\", \"-c\", \"echo $PW; exec yes\"], #{quiet: true, env: #{PW: pw}});\n",
        ADDRESS_SPACE_KIB,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let files = walk(&lab.state().join("output"));
    assert_eq!(files.len(), 1, "{files:?}\n{}", r.stderr);
    let file = &files[0];
    says(
        &r,
        "yes",
        &[
            "wrote more than 8 MiB to its stdout, the most labsh keeps of a program's output",
            "it was stopped after 64 MiB",
            &file.display().to_string(),
            "#{max_output: \"16M\"}",
            "yes.rhai:2:",
        ],
    );
    let meta = std::fs::metadata(file).unwrap();
    assert_eq!(meta.len(), 64 << 20);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let secrets = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let pw = secrets
        .lines()
        .find_map(|l| l.strip_prefix("bounds-pw="))
        .unwrap();
    let head = read_head(file, 4096);
    assert!(
        head.starts_with("«secret bounds-pw»\ny\ny\n") && !head.contains(pw),
        "{head:?}"
    );

    // Asked to keep more than a string may hold: refused, naming the most.
    let r = run_limited(
        &lab,
        "more.rhai",
        "run([\"yes\"], #{quiet: true, max_output: \"64M\"});\n",
        ADDRESS_SPACE_KIB,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    says(
        &r,
        "max_output 64M",
        &["option 'max_output' is 64 MiB, more than a script's string may hold (16 MiB)"],
    );
}

fn read_head(p: &Path, n: u64) -> String {
    let mut s = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(std::fs::File::open(p).unwrap(), n),
        &mut s,
    )
    .unwrap();
    s
}

#[test]
fn reading_an_oversized_file_or_a_device_fails_naming_it_and_the_limit() {
    let lab = Lab::new();
    let big = lab.work().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len((16 << 20) + 1)
        .unwrap();
    let big = big.display().to_string();
    for read in ["files::read", "files::read_json", "files::read_yaml"] {
        let r = run_limited(
            &lab,
            "big.rhai",
            &format!("let t = {read}({big:?});\n"),
            ADDRESS_SPACE_KIB,
        );
        assert_eq!(r.code, 1, "{read}: {}", r.stderr);
        says(
            &r,
            read,
            &[
                &format!(
                    "cannot read {big}: it is larger than 16 MiB, the most labsh reads of this file"
                ),
                "big.rhai:1:",
            ],
        );
    }
    let r = run_limited(
        &lab,
        "dev.rhai",
        "let t = files::read(\"/dev/zero\");\n",
        ADDRESS_SPACE_KIB,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    says(
        &r,
        "files::read /dev/zero",
        &["cannot read /dev/zero: not a regular file (a character device)"],
    );
}

/// A script's state as one map that already holds many entries, as a lab's profile does: Rhai
/// measured the whole map after each change to a value in it, and a whole array after each push.
const STATE: &str = "let state = #{seen: #{}, log: [], text: \"\"};\n\
                     for i in 0..50000 { state.seen[`host-${i}`] = i; }\n";

/// The most CPU time a runaway loop may take to meet its limit: generous (each takes a few
/// seconds), and short of what re-measuring the whole value at each step took (minutes, even in
/// a release build).
const RUNAWAY: Duration = Duration::from_secs(60);

#[test]
fn runaway_loops_meet_the_limit_of_their_value_in_seconds() {
    let lab = Lab::new();
    let cases: [(&str, String, &str); 3] = [
        (
            "map.rhai",
            // The loop of the report: a map filled with new keys without end.
            "let m = #{};\nlet i = 0;\nloop { m[`k${i}`] = i; i += 1; }\n".to_string(),
            "a map grew over 1048576 entries, the most one value may hold",
        ),
        (
            "array.rhai",
            // A record appended for each event, without end.
            format!(
                "{STATE}let i = 0;\nloop {{\n    state.log.push(#{{host: `host-${{i}}`, at: i, \
                 a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}});\n    i += 1;\n}}\n"
            ),
            "an array grew over 65536 items, the most one value may hold",
        ),
        (
            "string.rhai",
            format!("{STATE}loop {{\n    state.text += \"one more line of text\\n\";\n}}\n"),
            "a string grew over 16 MiB, the most one value may hold",
        ),
    ];
    for (name, script, limit) in cases {
        let r = run_limited(&lab, name, &script, ADDRESS_SPACE_KIB);
        // The line of the value that grew: the loop's line in each script.
        let line = script
            .lines()
            .position(|l| l.contains("m[") || l.contains("push") || l.contains("+= \""))
            .unwrap()
            + 1;
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        says(&r, name, &[limit, &format!("{name}:{line}:")]);
        assert!(r.cpu < RUNAWAY, "{name}: stopped only after {:?}", r.cpu);
        eprintln!("{name}: stopped after {:?} of CPU time", r.cpu);
    }
}
