//! Secrets never show: the canary is used every way a script can use a value, and the support
//! module fails the test if its value appears in any output or file.

use crate::support::{Lab, CANARY_VALUE};

#[test]
fn the_canary_never_appears_anywhere() {
    let lab = Lab::new();
    let f = lab.file(
        "leak.rhai",
        r#"
let c = secret("canary");
print(c);
debug(c);
print(`interpolated ${c}`);
print("concatenated " + c);
print(#{nested: [c]});
stage("uses", || {
    // The program sees the real value and prints it: labsh masks it in the stream and the result.
    let r = run(["sh", "-c", "echo \"$C\"; echo \"$C\" >&2"], #{env: #{C: c}});
    print(r.stdout);
    run(["printenv", "VALUE"], #{env: #{VALUE: c}});
    run(["cat"], #{stdin: c});
    let e = run(["sh", "-c", "echo \"failing with $C\" >&2; exit 2"], #{env: #{C: c}, check: false});
    print(e.stderr);
});
stage("fails", || {
    run(["sh", "-c", "echo \"$C\" >&2; exit 9"], #{env: #{C: c}});
});
"#,
    );
    for extra in [vec![], vec!["--json"], vec!["--plan"], vec!["-vvv"]] {
        let mut args = vec!["run", f.to_str().unwrap()];
        args.extend(extra.iter().copied());
        let o = lab.run(&args);
        let all = format!("{}{}", o.stdout, o.stderr);
        assert!(all.contains("«secret canary»"), "{all}");
        assert!(!all.contains(CANARY_VALUE));
    }
    // The journals hold the mask too (the builder already checked they lack the value).
    let journals: String = lab
        .journals()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(journals.contains("«secret canary»"));
}

#[test]
fn missing_secrets_say_how_to_provide_them() {
    let lab = Lab::new();
    lab.run(["-e", "secret(\"db-password\")"])
        .code(1)
        .stderr_has("export LABSH_SECRET_DB_PASSWORD=")
        .stderr_has("#{generate: true}");
    lab.run(["-e", "secret(\"x\", #{genrate: true})"])
        .code(1)
        .stderr_has("did you mean 'generate'");
    lab.labsh()
        .args(["-e", "secret(\"short\")"])
        .env("LABSH_SECRET_SHORT", "ab")
        .run()
        .code(1)
        .stderr_has("shorter than 4");
}

#[test]
fn secrets_come_from_env_then_file_then_generation() {
    let lab = Lab::new();
    std::fs::write(lab.state().join("secrets"), "from-file=value-in-the-file\n").unwrap();
    // The mask is all a script can see; compare lengths through a binding that reads the value.
    let count = "run([\"wc\", \"-c\"], #{stdin: secret(\"from-file\"), quiet: true}).stdout";
    let o = lab.run(["-e", count]);
    o.ok();
    assert_eq!(o.stdout.trim(), "17");
    let o = lab
        .labsh()
        .args(["-e", count])
        .env("LABSH_SECRET_FROM_FILE", "env-wins")
        .run();
    assert_eq!(o.stdout.trim(), "8");
    lab.run(["-e", "secret(\"made\", #{generate: true, length: 40})"])
        .ok();
    let text = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let made = text.lines().find_map(|l| l.strip_prefix("made=")).unwrap();
    assert_eq!(made.len(), 40);
}

#[test]
fn a_secret_set_in_an_ini_file_is_written_for_real_shown_masked_and_the_file_made_private() {
    let lab = Lab::new();
    let ini = lab.work().join("service.conf");
    std::fs::write(&ini, "[DEFAULT]\n# keep\ndebug = false\n").unwrap();
    let f = lab.file(
        "ini.rhai",
        &format!(
            "files::ini_set(\"{p}\", \"keystone_authtoken\", \"password\", secret(\"canary\"));\nfiles::ini_set(\"{p}\", \"keystone_authtoken\", \"password\", secret(\"canary\"));",
            p = ini.display()
        ),
    );
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    o.ok();
    assert!(o.stdout.contains("«secret canary»"), "{}", o.stdout);
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(
        recap["totals"]["changed"], 1,
        "the second set is ok: {recap}"
    );
    let text = std::fs::read_to_string(&ini).unwrap();
    assert!(text.contains(&format!("password = {}", crate::support::CANARY_VALUE)));
    assert!(text.starts_with("[DEFAULT]\n# keep\ndebug = false\n"));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&ini).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_plain_text_password_in_a_cloud_map_is_not_in_the_connection_it_gives() {
    let lab = Lab::new();
    // Nothing listens there: in a plan the cloud is offline, and its map is what connect keeps.
    // The password is plain text, not a secret labsh knows to mask.
    let closed = crate::support::ports::free_port(23000);
    let pw = "plain-pw-5d1e77";
    let f = lab.file(
        "plain.rhai",
        &format!(
            "let c = cloud::connect(#{{auth_url: \"http://127.0.0.1:{closed}/v3\", username: \"u\", password: \"{pw}\", project_name: \"p\"}});\nprint(`key ${{c.key}}`);\nprint(c);\nassert(c.offline);\n"
        ),
    );
    let o = lab.run(["run", f.to_str().unwrap(), "--plan", "--json"]);
    o.ok().stdout_has("key spec:");
    assert!(
        !o.stdout.contains(pw) && !o.stderr.contains(pw),
        "{}{}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn a_secret_on_a_command_line_is_refused_at_its_line_saying_how_to_pass_it() {
    let lab = Lab::new();
    let f = lab.file(
        "argv.rhai",
        "let s = secret(\"canary\");\nlet ok = run([\"true\"], #{env: #{S: s}, stdin: s});\nrun([\"echo\", \"x\", s]);\n",
    );
    for plan in [false, true] {
        let mut args = vec!["run", f.to_str().unwrap()];
        if plan {
            args.push("--plan");
        }
        lab.run(&args)
            .code(1)
            .stderr_has("argv.rhai:3:")
            .stderr_has("run: argv[2] is the secret «secret canary»")
            .stderr_has("ps, /proc/PID/cmdline")
            .stderr_has("#{stdin: s}")
            .stderr_has("#{env: #{VAR: s}}");
    }
    let o = lab.run([
        "-e",
        "oc::exec(\"/nonexistent/kubeconfig\", \"ns\", \"pod\", [\"cat\", secret(\"canary\")])",
    ]);
    o.code(1)
        .stderr_has("oc::exec: argv[1] is the secret «secret canary»");
}

/// A stand-in for a program a binding runs: it records its command line (`argv`, a word a
/// line), its environment (`env`), its input when `STANDIN_STDIN` is set (`stdin`) and how
/// often it ran (`calls`) in its folder, runs `inspect` (shell, with the arguments), and with
/// `STANDIN_WAIT` set writes its PID (`pid`) and waits for a file `go` before it runs `answer`.
struct StandIn {
    dir: std::path::PathBuf,
    program: std::path::PathBuf,
}

impl StandIn {
    fn new(lab: &Lab, name: &str, inspect: &str, answer: &str) -> StandIn {
        let dir = lab.work().join(format!("standin-{name}"));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let program = dir.join("bin").join(name);
        std::fs::write(
            &program,
            format!(
                "#!/bin/sh\nrec='{rec}'\necho call >> \"$rec/calls\"\nprintf '%s\\n' \"$@\" > \"$rec/argv\"\nenv > \"$rec/env\"\n\
                 if [ -n \"$STANDIN_STDIN\" ]; then cat > \"$rec/stdin\"; fi\n{inspect}\n\
                 if [ -n \"$STANDIN_WAIT\" ]; then\n  echo $$ > \"$rec/pid.tmp\"; mv \"$rec/pid.tmp\" \"$rec/pid\"\n\
                 i=0; while [ ! -e \"$rec/go\" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\nfi\n{answer}\n",
                rec = dir.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        StandIn { dir, program }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    fn argv(&self) -> Vec<String> {
        self.read("argv").lines().map(str::to_string).collect()
    }

    fn calls(&self) -> usize {
        self.read("calls").lines().count()
    }

    /// PATH with the stand-in's folder first.
    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.program.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }
}

/// Every process whose command line holds `value`, as "PID: command line".
fn command_lines_holding(value: &str) -> Vec<String> {
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(value) {
            found.push(format!("{}: {line}", name.to_string_lossy()));
        }
    }
    found
}

/// Runs `labsh` as `cmd` with the stand-in waiting: once the stand-in runs, asserts that no
/// process's command line holds `value` (while it still runs, and labsh and its child with
/// it), lets it go on and returns labsh's exit code, stdout and stderr.
fn run_while_watching(
    cmd: crate::support::Labsh<'_>,
    standin: &StandIn,
    value: &str,
) -> (i32, String, String) {
    let mut c = cmd.env("STANDIN_WAIT", "1").command();
    let child = c
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = crate::support::Spawned(child);
    let t0 = std::time::Instant::now();
    while !standin.dir.join("pid").exists() {
        let ended = child.0.try_wait().unwrap().is_some();
        if ended || t0.elapsed() > std::time::Duration::from_secs(60) {
            std::fs::write(standin.dir.join("go"), "").unwrap();
            let o = child.wait_out();
            panic!("the stand-in never ran:\n{}\n{}", o.1, o.2);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = standin.read("pid").trim().to_string();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the stand-in runs while the process list is read"
    );
    let seen = command_lines_holding(value);
    std::fs::write(standin.dir.join("go"), "").unwrap();
    let out = child.wait_out();
    assert!(
        seen.is_empty(),
        "the secret is on a command line while the program runs: {seen:?}"
    );
    assert!(!out.1.contains(value) && !out.2.contains(value), "{out:?}");
    out
}

trait WaitOut {
    fn wait_out(self) -> (i32, String, String);
}

impl WaitOut for crate::support::Spawned {
    fn wait_out(mut self) -> (i32, String, String) {
        use std::io::Read;
        let (mut o, mut e) = (String::new(), String::new());
        if let Some(mut s) = self.0.stdout.take() {
            s.read_to_string(&mut o).unwrap();
        }
        if let Some(mut s) = self.0.stderr.take() {
            s.read_to_string(&mut e).unwrap();
        }
        let code = self.0.wait().unwrap().code().unwrap_or(-1);
        (code, o, e)
    }
}

#[test]
fn ipmitool_gets_the_bmc_password_in_its_environment_never_on_its_command_line() {
    let lab = Lab::new();
    let value = "ipmi-c4n4ry-5e7d1f0b";
    let ipmitool = StandIn::new(
        &lab,
        "ipmitool",
        "printf %s \"$IPMI_PASSWORD\" > \"$rec/ipmi_password\"",
        "echo 'Chassis Power is on'",
    );
    let f = lab.file(
        "ipmi.rhai",
        "print(bmc::ipmi_power(#{port: 6230, password: secret(\"bmc\")}, \"status\"));\n",
    );
    let (code, stdout, stderr) = run_while_watching(
        lab.labsh()
            .args(["run", f.to_str().unwrap()])
            .env("LABSH_SECRET_BMC", value)
            .env("LABSH_IPMITOOL", ipmitool.program.to_str().unwrap()),
        &ipmitool,
        value,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("Chassis Power is on"), "{stdout}");
    let argv = ipmitool.argv();
    assert!(argv.contains(&"-E".to_string()), "{argv:?}");
    assert!(!argv.contains(&"-P".to_string()), "{argv:?}");
    // It still gets the password, whole, where -E reads it.
    assert_eq!(ipmitool.read("ipmi_password"), value);
    assert!(ipmitool
        .read("env")
        .contains(&format!("IPMITOOL_PASSWORD={value}")));
}

#[test]
fn curl_gets_the_redfish_credentials_on_its_input_never_on_its_command_line() {
    let lab = Lab::new();
    // A quote and a backslash: curl's configuration syntax must carry them.
    let value = "rf-c4n4ry\"q\\b-3e2d";
    let curl = StandIn::new(&lab, "curl", "", "printf '{\"Members\": []}\\n200'");
    let f = lab.file(
        "redfish.rhai",
        "let s = bmc::redfish_systems(\"http://127.0.0.1:9\", #{username: \"admin\", password: secret(\"redfish\")});\nprint(`systems: ${s.len()}`);\n",
    );
    let (code, stdout, stderr) = run_while_watching(
        lab.labsh()
            .args(["run", f.to_str().unwrap()])
            .env("LABSH_SECRET_REDFISH", value)
            .env("LABSH_CURL", curl.program.to_str().unwrap())
            .env("STANDIN_STDIN", "1"),
        &curl,
        value,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("systems: 0"), "{stdout}");
    let argv = curl.argv();
    assert!(
        argv.windows(2).any(|w| w == ["-K", "-"]),
        "the configuration is read from the input: {argv:?}"
    );
    assert!(!argv.iter().any(|a| a == "-u" || a == "--user"), "{argv:?}");
    assert_eq!(
        curl.read("stdin"),
        "user = \"admin:rf-c4n4ry\\\"q\\\\b-3e2d\"\n"
    );
}

#[test]
fn the_real_curl_reads_back_the_credentials_labsh_gives_it() {
    use base64::Engine;
    use std::io::{BufRead, Write};
    let lab = Lab::new();
    let value = "rf-c4n4ry\"q\\b\ttab-3e2d";
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // One HTTP request, answered with an empty list of systems; its Authorization header kept.
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut r = std::io::BufReader::new(conn.try_clone().unwrap());
        let mut auth = String::new();
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Authorization: Basic ") {
                auth = v.trim().to_string();
            }
        }
        let body = "{\"Members\": []}";
        write!(
            &conn,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        auth
    });
    let f = lab.file(
        "redfish.rhai",
        &format!("bmc::redfish_systems(\"http://127.0.0.1:{port}\", #{{username: \"admin\", password: secret(\"redfish\")}});\n"),
    );
    lab.labsh()
        .args(["run", f.to_str().unwrap()])
        .env("LABSH_SECRET_REDFISH", value)
        .env("no_proxy", "127.0.0.1")
        .env("NO_PROXY", "127.0.0.1")
        .run()
        .ok();
    let auth = server.join().unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .unwrap();
    assert_eq!(
        String::from_utf8(decoded).unwrap(),
        format!("admin:{value}")
    );
}

/// What the stand-in virt-customize finds behind `--root-password`: the file's path, content,
/// mode and its folder's mode.
const READ_ROOT_PASSWORD: &str = "prev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = --root-password ]; then f=${a#file:}; printf %s \"$f\" > \"$rec/pw_path\"; cat \"$f\" > \"$rec/pw\"; stat -c %a \"$f\" > \"$rec/pw_mode\"; stat -c %a \"${f%/*}\" > \"$rec/pw_dir_mode\"; fi\n  prev=$a\ndone";

fn customize_script(lab: &Lab, image: &std::path::Path) -> std::path::PathBuf {
    lab.file(
        "customize.rhai",
        &format!(
            "print(`customized: ${{img::customize(\"{}\", #{{root_password: secret(\"root\"), run: [\"true\"]}})}}`);\n",
            image.display()
        ),
    )
}

fn mode(p: &std::path::Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777
}

#[test]
fn virt_customize_reads_the_root_password_from_a_private_file_that_is_gone_after() {
    let lab = Lab::new();
    let value = "root-c4n4ry-9a8b7c6d-customize";
    let vc = StandIn::new(&lab, "virt-customize", READ_ROOT_PASSWORD, "true");
    let image = lab.file("disk.qcow2", "not really an image");
    let f = customize_script(&lab, &image);
    let (code, stdout, stderr) = run_while_watching(
        lab.labsh()
            .args(["run", f.to_str().unwrap()])
            .env("LABSH_SECRET_ROOT", value)
            .env("PATH", &vc.path()),
        &vc,
        value,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("customized: true"), "{stdout}");
    let argv = vc.argv();
    let at = argv.iter().position(|a| a == "--root-password").unwrap();
    let path = vc.read("pw_path");
    assert_eq!(argv[at + 1], format!("file:{path}"));
    // The program got the password, from a file only its user reads, removed after the run.
    assert_eq!(vc.read("pw"), value);
    assert_eq!(vc.read("pw_mode").trim(), "600");
    assert_eq!(vc.read("pw_dir_mode").trim(), "700");
    assert!(!std::path::Path::new(&path).exists(), "{path} is left");
    assert!(!std::path::Path::new(&path).parent().unwrap().exists());
}

#[test]
fn the_customized_images_marker_is_private_keyed_by_the_lab_and_converges() {
    let lab = Lab::new();
    let value = "root-c4n4ry-0c1d2e3f-marker";
    let vc = StandIn::new(&lab, "virt-customize", "", "true");
    // One image both labs customize: what differs between their markers is the lab's key.
    let shared = tempfile::tempdir().unwrap();
    let image = shared.path().join("disk.qcow2");
    std::fs::write(&image, "not really an image").unwrap();
    let marker = shared.path().join("disk.qcow2.labsh-customized");
    let f = customize_script(&lab, &image);
    let run = |lab: &Lab, value: &str| {
        let o = lab
            .labsh()
            .args(["run", "--json", f.to_str().unwrap()])
            .env("LABSH_SECRET_ROOT", value)
            .env("PATH", &vc.path())
            .run();
        o.ok();
        o.json_lines().pop().unwrap()["totals"]["changed"].clone()
    };
    assert_eq!(run(&lab, value), 2, "customized, marker written");
    assert_eq!(vc.calls(), 1);
    assert_eq!(mode(&marker), 0o600);
    assert_eq!(mode(&lab.state().join("lab-key")), 0o600);
    let first = std::fs::read_to_string(&marker).unwrap();
    assert!(first.starts_with("hmac-sha256:"), "{first}");
    // The same again changes nothing; a changed password customizes again.
    assert_eq!(run(&lab, value), 0);
    assert_eq!(vc.calls(), 1);
    assert_eq!(run(&lab, "root-c4n4ry-changed-4a5b6c"), 2);
    assert_eq!(vc.calls(), 2);
    assert_ne!(std::fs::read_to_string(&marker).unwrap(), first);
    // Another lab, the same image and password: another key, another marker.
    assert_eq!(run(&lab, value), 2);
    let mine = std::fs::read_to_string(&marker).unwrap();
    assert_eq!(mine, first, "the same key, the same marker");
    let other = Lab::new();
    assert_eq!(run(&other, value), 2);
    assert_ne!(std::fs::read_to_string(&marker).unwrap(), mine);
}

/// The marker older releases wrote for `argv` (the words of virt-customize's command line, the
/// root password as the word `password:PW`): sha256 over the words, each followed by a zero
/// byte, the password's word hashed on its own; the first 16 bytes in hex.
fn legacy_marker(argv: &[&str], password_at: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, w) in argv.iter().enumerate() {
        if i == password_at {
            h.update(Sha256::digest(w.as_bytes()));
        } else {
            h.update(w.as_bytes());
        }
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn an_older_unkeyed_marker_is_replaced_by_a_keyed_private_one_without_customizing_again() {
    let lab = Lab::new();
    let value = "root-c4n4ry-legacy-77aa";
    let vc = StandIn::new(&lab, "virt-customize", "", "true");
    let image = lab.file("disk.qcow2", "not really an image");
    let marker = lab.work().join("disk.qcow2.labsh-customized");
    let pw = format!("password:{value}");
    let img = image.display().to_string();
    let argv = [
        "virt-customize",
        "--quiet",
        "-a",
        &img,
        "--root-password",
        &pw,
        "--password-crypto",
        "sha512",
        "--run-command",
        "true",
    ];
    std::fs::write(&marker, legacy_marker(&argv, 5)).unwrap();
    let f = customize_script(&lab, &image);
    let o = lab
        .labsh()
        .args(["run", "--json", f.to_str().unwrap()])
        .env("LABSH_SECRET_ROOT", value)
        .env("PATH", &vc.path())
        .run();
    o.ok().stdout_has("customized: false");
    assert_eq!(vc.calls(), 0, "the image is not customized again");
    assert_eq!(mode(&marker), 0o600);
    assert!(std::fs::read_to_string(&marker)
        .unwrap()
        .starts_with("hmac-sha256:"));
    let o = lab
        .labsh()
        .args(["run", "--json", f.to_str().unwrap()])
        .env("LABSH_SECRET_ROOT", value)
        .env("PATH", &vc.path())
        .run();
    assert_eq!(o.json_lines().pop().unwrap()["totals"]["changed"], 0);
    assert_eq!(vc.calls(), 0);
}
