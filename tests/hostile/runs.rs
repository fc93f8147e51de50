//! Runs that meet each other or the world: concurrent runs on one state, secrets and children,
//! the stop signals (each of them, Ctrl-C twice, nohup, the REPL), plan mode in parallel tasks.

use super::script;
use crate::support::{Lab, CANARY_VALUE};
use std::time::{Duration, Instant};

/// Runs labsh with `args` in `lab` as a child, not waiting.
fn spawn(lab: &Lab, args: &[&str]) -> std::process::Child {
    let mut c = lab.labsh().args(args).command();
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c.spawn().unwrap()
}

fn finish(c: std::process::Child) -> (i32, String, String) {
    let o = c.wait_with_output().unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    );
    assert!(!out.contains(CANARY_VALUE) && !err.contains(CANARY_VALUE));
    (o.status.code().unwrap_or(-1), out, err)
}

const CONCURRENT: &str = r#"
// What two runs on one state fought over: generated secrets, written files, the sandbox.
let a = secret("first", #{generate: true});
let b = secret("second", #{generate: true});
let uri = virt::sandbox_host(run_info().state_dir + "/sandbox/host.xml");
for i in 0..5 {
    files::write(run_info().state_dir + `/out/f${i}.txt`, `${i}`);
}
virt::sandbox_save(uri);
let c = secret("third", #{generate: true});
"#;

#[test]
fn two_runs_on_one_state_never_interleave() {
    let lab = Lab::new();
    let f = lab.file("c.rhai", CONCURRENT);
    let f = f.to_str().unwrap();
    for trial in 0..40 {
        let wait = trial % 2 == 1;
        let mut args = vec!["run", f];
        if wait {
            args.push("--wait");
        }
        let a = spawn(&lab, &args);
        let b = spawn(&lab, &args);
        for (code, _, err) in [finish(a), finish(b)] {
            if code != 0 {
                assert!(
                    !wait && code == 1 && err.contains("is in use by labsh pid"),
                    "trial {trial}: a run failed otherwise ({code}):\n{err}"
                );
            }
        }
        // The secrets file reads whole, one line per secret.
        let text = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
        let names: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
        assert_eq!(
            names,
            ["first", "second", "third"],
            "trial {trial}:\n{text}"
        );
    }
    // What they left is a state a third run finds complete.
    let out = lab.run(["run", f, "--json"]);
    out.ok();
    let recap = out.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{}", out.stdout);
}

#[test]
fn two_lab_runs_on_one_state_one_waits_and_both_converge() {
    let lab = Lab::new();
    let lab_rhai = script("lab.rhai");
    for trial in 0..4 {
        let a = spawn(&lab, &["run", &lab_rhai, "--wait"]);
        let b = spawn(&lab, &["run", &lab_rhai]);
        let (ca, _, ea) = finish(a);
        let (cb, _, eb) = finish(b);
        assert_eq!(ca, 0, "trial {trial}: {ea}");
        assert!(
            cb == 0 || (cb == 1 && eb.contains("is in use by labsh pid")),
            "trial {trial}: {eb}"
        );
    }
    let out = lab.run(["run", &lab_rhai, "--json"]);
    out.ok();
    assert_eq!(out.json_lines().pop().unwrap()["totals"]["changed"], 0);
}

#[test]
fn children_get_no_secret_from_the_environment() {
    let lab = Lab::new();
    let f = lab.file(
        "env.rhai",
        "let c = secret(\"canary\");\nlet t = secret(\"token\", #{env: \"MY_TOKEN\"});\n\
         let r = run([\"env\"], #{quiet: true});\n\
         assert(!r.stdout.contains(\"LABSH_SECRET_\"), \"a LABSH_SECRET_ variable reached the child\");\n\
         assert(!r.stdout.contains(\"MY_TOKEN=\"), \"the token's variable reached the child\");\n\
         assert(r.stdout.contains(\"PATH=\"));\n\
         run([\"env\"]);\n\
         // On purpose: a binding passes one in the command's env.\n\
         let p = run([\"sh\", \"-c\", \"test -n \\\"$PASSED\\\"\"], #{env: #{PASSED: c}});\n",
    );
    let out = lab
        .labsh()
        .args(["run", f.to_str().unwrap()])
        .env("LABSH_SECRET_OTHER", "other-secret-never-used")
        .env("MY_TOKEN", "my-token-value-secret")
        .run();
    out.ok();
    assert!(
        !out.stdout.contains("other-secret-never-used"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stderr.contains("other-secret-never-used"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("my-token-value-secret"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("LABSH_SECRET_"), "{}", out.stderr);
}

#[test]
fn a_multi_line_secret_is_masked_in_output_errors_and_journals() {
    let lab = Lab::new();
    let pull = "{\n  \"auths\": {\n    \"quay.io\": {\"auth\": \"bXVsdGktbGluZS1wdWxsLXNlY3JldA==\", \"email\": \"lab@example.com\"}\n  }\n}";
    let f = lab.file(
        "pull.rhai",
        "let s = secret(\"pull\");\n\
         run([\"sh\", \"-c\", \"printf '%s\\\\n' \\\"$P\\\"\"], #{env: #{P: s}});\n\
         stage(\"fails\", || run([\"sh\", \"-c\", \"printf '%s\\\\n' \\\"$P\\\" >&2; exit 3\"], #{env: #{P: s}}));\n",
    );
    let out = lab
        .labsh()
        .args(["run", f.to_str().unwrap()])
        .env("LABSH_SECRET_PULL", pull)
        .run();
    out.code(1).stderr_has("command failed with exit code 3");
    let secret_line = "\"quay.io\": {\"auth\": \"bXVsdGktbGluZS1wdWxsLXNlY3JldA==\"";
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains("bXVsdGktbGluZS1wdWxsLXNlY3JldA"), "{text}");
        assert!(!text.contains(secret_line), "{text}");
    }
    assert!(out.stderr.contains("«secret pull»"), "{}", out.stderr);
    for j in lab.journals() {
        let text = std::fs::read_to_string(j).unwrap();
        assert!(!text.contains("bXVsdGktbGluZS1wdWxsLXNlY3JldA"), "{text}");
    }
}

#[test]
fn sigterm_stops_the_child_closes_the_journal_and_exits_143() {
    let lab = Lab::new();
    let pidfile = lab.work().join("child.pid");
    let f = lab.file(
        "long.rhai",
        &format!(
            "stage(\"long\", || run([\"sh\", \"-c\", \"echo $$ > {}; exec sleep 60\"]));\n",
            pidfile.display()
        ),
    );
    let child = spawn(&lab, &["run", f.to_str().unwrap()]);
    let t0 = Instant::now();
    while !pidfile.exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let grandchild = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let (code, _, err) = finish(child);
    assert_eq!(code, 143, "{err}");
    assert!(err.contains("terminated"), "{err}");
    assert!(err.contains("RECAP"), "{err}");
    assert!(
        err.contains("labsh run") && err.contains("--from long"),
        "{err}"
    );
    // The sleep is gone with its process group.
    let alive = std::process::Command::new("kill")
        .args(["-0", &grandchild])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(!alive, "the child {grandchild} outlived labsh");
    let events = lab.last_journal();
    let end = events.last().unwrap();
    assert_eq!(end["event"], "run_end");
    assert_eq!(end["status"], "terminated");
}

/// Runs labsh with `args` in `lab` as a child, not waiting, with `env_opt` given to env(1)
/// first: `--default-signal=HUP,INT,QUIT` (as a shell's foreground job has them, whatever the
/// test runner ignores), `--ignore-signal=HUP` (as nohup starts it).
fn spawn_with(lab: &Lab, env_opt: &str, args: &[&str]) -> std::process::Child {
    let inner = lab.labsh().args(args).command();
    let mut c = std::process::Command::new("env");
    c.arg(env_opt)
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    if let Some(d) = inner.get_current_dir() {
        c.current_dir(d);
    }
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    c.spawn().unwrap()
}

const DEFAULT_SIGNALS: &str = "--default-signal=HUP,INT,QUIT";

/// The PID a child wrote to `file`, once it is there.
fn pid_in(file: &std::path::Path) -> String {
    let t0 = Instant::now();
    loop {
        if let Ok(p) = std::fs::read_to_string(file) {
            if p.ends_with('\n') {
                return p.trim().to_string();
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the child never wrote {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether process `pid` is alive (a zombie waiting for a parent that does not reap is not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

fn send(signal: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}

/// A stopped run's journal: its recap, then its end naming the signal, last.
#[track_caller]
fn assert_closed(lab: &Lab, case: &str, status: &str, signal: &str) {
    let events = lab.last_journal();
    let end = events.last().unwrap();
    assert_eq!(end["event"], "run_end", "{case}: {events:?}");
    assert_eq!(end["status"], status, "{case}: {end}");
    assert_eq!(end["signal"], signal, "{case}: {end}");
    assert!(
        events.iter().any(|e| e["event"] == "recap"),
        "{case}: no recap in {events:?}"
    );
    // The lock was given back (its holder's line cleared), after the children stopped.
    let lock = std::fs::read_to_string(lab.state().join("lock")).unwrap_or_default();
    assert!(lock.is_empty(), "{case}: the lock still names {lock}");
}

#[test]
fn every_stop_signal_stops_the_child_closes_the_journal_and_exits_128_plus_its_number() {
    for (name, number, status) in [
        ("TERM", 15, "terminated"),
        ("INT", 2, "interrupted"),
        ("HUP", 1, "terminated"),
        ("QUIT", 3, "terminated"),
        ("USR1", 10, "terminated"),
        ("USR2", 12, "terminated"),
    ] {
        let lab = Lab::new();
        let pidfile = lab.work().join("child.pid");
        let f = lab.file(
            "long.rhai",
            &format!(
                "stage(\"long\", || run([\"sh\", \"-c\", \"echo $$ > {}; exec sleep 300\"]));\n",
                pidfile.display()
            ),
        );
        let child = spawn_with(&lab, DEFAULT_SIGNALS, &["run", f.to_str().unwrap()]);
        let sleeper = pid_in(&pidfile);
        send(name, child.id());
        let (code, _, err) = finish(child);
        assert_eq!(code, 128 + number, "SIG{name}:\n{err}");
        assert!(
            !alive(&sleeper),
            "SIG{name}: the child {sleeper} outlived labsh"
        );
        assert!(err.contains("RECAP"), "SIG{name}: {err}");
        assert!(err.contains("--from long"), "SIG{name}: {err}");
        assert_closed(&lab, &format!("SIG{name}"), status, &format!("SIG{name}"));
    }
}

#[test]
fn a_second_ctrl_c_kills_a_child_that_ignores_sigterm_at_once_and_still_closes_the_journal() {
    let lab = Lab::new();
    let pidfile = lab.work().join("child.pid");
    let f = lab.file(
        "stubborn.rhai",
        &format!(
            "stage(\"stubborn\", || run([\"sh\", \"-c\", \"trap '' TERM; echo $$ > {}; exec sleep 300\"]));\n",
            pidfile.display()
        ),
    );
    let child = spawn_with(&lab, DEFAULT_SIGNALS, &["run", f.to_str().unwrap()]);
    let sleeper = pid_in(&pidfile);
    let t0 = Instant::now();
    send("INT", child.id());
    std::thread::sleep(Duration::from_millis(200));
    // Still there: it ignores the SIGTERM of the first Ctrl-C, and has 2 s before SIGKILL.
    assert!(alive(&sleeper), "the child ended at the first Ctrl-C");
    send("INT", child.id());
    let (code, _, err) = finish(child);
    let took = t0.elapsed();
    assert_eq!(code, 130, "{err}");
    assert!(!alive(&sleeper), "the child {sleeper} outlived labsh");
    assert!(
        took < Duration::from_millis(1800),
        "labsh took {took:?}, the first Ctrl-C's grace period, not the second's at once:\n{err}"
    );
    assert!(err.contains("RECAP"), "{err}");
    assert_closed(&lab, "Ctrl-C twice", "interrupted", "SIGINT");
}

#[test]
fn a_sighup_ignored_when_labsh_starts_stays_ignored() {
    // `nohup labsh run ...`: the run goes on after its terminal closed.
    let lab = Lab::new();
    let pidfile = lab.work().join("child.pid");
    let f = lab.file(
        "nohup.rhai",
        &format!(
            "run([\"sh\", \"-c\", \"echo $$ > {}; sleep 1\"]);\n",
            pidfile.display()
        ),
    );
    let child = spawn_with(&lab, "--ignore-signal=HUP", &["run", f.to_str().unwrap()]);
    pid_in(&pidfile);
    send("HUP", child.id());
    let (code, _, err) = finish(child);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lab.last_journal().last().unwrap()["status"], "ok");
}

#[test]
fn a_stop_signal_ends_eval_and_the_repl_with_their_children() {
    // labsh -e, and the REPL (its input a pipe): Ctrl-C stops only the REPL's line, another
    // signal ends it as it ends a run.
    for (what, args, line) in [("-e", vec!["-e"], true), ("the REPL", vec![], false)] {
        let lab = Lab::new();
        let pidfile = lab.work().join("child.pid");
        let call = format!(
            "run([\"sh\", \"-c\", \"echo $$ > {}; exec sleep 300\"])",
            pidfile.display()
        );
        let mut args: Vec<&str> = args;
        if line {
            args.push(&call);
        }
        let inner = lab.labsh().args(&args).command();
        let mut c = std::process::Command::new("env");
        c.arg(DEFAULT_SIGNALS)
            .arg(inner.get_program())
            .args(inner.get_args())
            .envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .current_dir(lab.work())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if !line {
            use std::io::Write;
            writeln!(stdin, "{call}").unwrap();
        }
        let sleeper = pid_in(&pidfile);
        if !line {
            // Ctrl-C stops the line; the REPL reads the next.
            send("INT", child.id());
            let t0 = Instant::now();
            while alive(&sleeper) && t0.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(!alive(&sleeper), "{what}: Ctrl-C left the line's child");
            std::fs::remove_file(&pidfile).unwrap();
            use std::io::Write;
            writeln!(stdin, "{call}").unwrap();
        }
        let sleeper = pid_in(&pidfile);
        send("USR1", child.id());
        let (code, _, err) = finish(child);
        drop(stdin);
        assert_eq!(code, 138, "{what}:\n{err}");
        assert!(
            !alive(&sleeper),
            "{what}: the child {sleeper} outlived labsh"
        );
        assert!(err.contains("terminated by SIGUSR1"), "{what}: {err}");
        assert_closed(&lab, what, "terminated", "SIGUSR1");
    }
}

#[test]
fn plan_mode_belongs_to_the_task_not_the_session() {
    let lab = Lab::new();
    let a = lab.work().join("A");
    let b = lab.work().join("B");
    // One task plans while the other applies; each does what it was told, whatever the timing.
    let f = lab.file(
        "tasks.rhai",
        &format!(
            "let r = parallel([\n\
               || planned(\"only shown\", || {{ sleep(0.6); run([\"touch\", \"{a}\"]) }}),\n\
               || {{ sleep(0.3); run([\"touch\", \"{b}\"]) }},\n\
             ]);\n\
             assert(r[0].planned);\n\
             // The other way round: a planned step stays planned after the other task's plan ends.\n\
             parallel([\n\
               || planned(\"first\", || sleep(0.2)),\n\
               || planned(\"second\", || {{ sleep(0.5); run([\"touch\", \"{a}.late\"]) }}),\n\
             ]);\n\
             // Stages too: each task counts under its own.\n\
             parallel([|| stage(\"x\", || {{ sleep(0.3); run([\"true\"]) }}), || stage(\"y\", || {{ sleep(0.1); run([\"true\"]); sleep(0.4); run([\"true\"]) }})]);\n",
            a = a.display(),
            b = b.display()
        ),
    );
    let out = lab.run(["run", f.to_str().unwrap(), "--json", "--jobs", "2"]);
    out.ok();
    assert!(b.exists(), "the applying task's change was only planned");
    assert!(!a.exists(), "the planned task's change was applied");
    assert!(
        !lab.work().join("A.late").exists(),
        "a planned step was applied"
    );
    let recap = out.json_lines().pop().unwrap();
    let count = |stage: &str| {
        crate::support::recap_stage(&recap, stage).map(|s| s["changed"].as_u64().unwrap())
    };
    assert_eq!(count("x"), Some(1));
    assert_eq!(count("y"), Some(2));
}
