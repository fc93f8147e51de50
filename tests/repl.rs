//! The REPL, driven in a real terminal (tmux): completion, multi-line input, history, `:save`,
//! `:plan`, `:edit`, persistence between lines, and Ctrl-C.

use crate::support::{bin, Lab};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

struct Term {
    socket: PathBuf,
}

impl Term {
    fn start(lab: &Lab, extra_env: &[(&str, &str)]) -> Term {
        let socket = lab.root.path().join("tmux.sock");
        let mut env: Vec<String> = lab
            .envs()
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        env.extend(extra_env.iter().map(|(k, v)| format!("{k}={v}")));
        env.push("TERM=xterm".into());
        let mut cmd = vec!["env".to_string()];
        cmd.extend(env);
        cmd.push(bin().display().to_string());
        let status = Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "160",
                "-y",
                "50",
                "-c",
            ])
            .arg(lab.work())
            .args(&cmd)
            .status()
            .expect("tmux must be installed (apt-get install tmux)");
        assert!(status.success());
        let t = Term { socket };
        t.wait_for("labsh>");
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types `text` literally, then Enter.
    fn line(&self, text: &str) {
        // tmux reads an argument that ends in ';' as a command separator unless it is escaped.
        let escaped = match text.strip_suffix(';') {
            Some(head) => format!("{head}\\;"),
            None => text.to_string(),
        };
        self.tmux(&["send-keys", "-t", "t", "-l", &escaped]);
        // A person types one line at a time: keys that arrive together read as one pasted block.
        std::thread::sleep(Duration::from_millis(100));
        self.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(150));
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t", "-S", "-200"])
    }

    #[track_caller]
    fn wait_for(&self, text: &str) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if t0.elapsed() > Duration::from_secs(15) {
                panic!("timed out waiting for {text:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

#[test]
fn completion_multiline_persistence_history_and_save() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    // Completion from the engine's metadata.
    t.tmux(&["send-keys", "-t", "t", "-l", "par_m"]);
    t.keys(&["Tab"]);
    t.wait_for("par_map");
    t.keys(&["C-u"]);
    // Multi-line input decided by the compiler, including a brace inside a string.
    t.line("fn twice(x) {");
    t.line("  let s = \"{\";");
    t.line("  x * 2");
    t.line("}");
    t.line("let base = 20;");
    t.line("twice(base) + 2");
    t.wait_for("\n42");
    // A syntax error is drawn with a caret, and the session goes on.
    t.line("let = 1");
    t.wait_for("^");
    t.line("print(`base is ${base}`)");
    t.wait_for("base is 20");
    let out = lab.work().join("saved.rhai");
    t.line(&format!(":save {}", out.display()));
    t.wait_for("saved ");
    t.line(":quit");
    std::thread::sleep(Duration::from_millis(300));
    let history = std::fs::read_to_string(lab.state().join("history")).unwrap();
    assert!(history.contains("twice(base) + 2"), "{history}");
    let saved = std::fs::read_to_string(&out).unwrap();
    assert!(
        saved.contains("fn twice(x)") && !saved.contains("let = 1"),
        "{saved}"
    );
    // The saved session runs as a script.
    lab.run_file(&out).ok().stdout_has("base is 20");
}

#[test]
fn ctrl_c_stops_the_running_line_and_plan_mode_switches() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    t.line("loop { }");
    std::thread::sleep(Duration::from_millis(500));
    t.keys(&["C-c"]);
    t.wait_for("interrupted");
    t.line("1 + 1");
    t.wait_for("\n2");
    let marker = lab.work().join("planned-only");
    t.line(":plan on");
    t.wait_for("labsh(plan)>");
    t.line(&format!("run([\"touch\", \"{}\"])", marker.display()));
    t.wait_for("planned=1");
    assert!(!marker.exists());
    t.line(":plan off");
    t.line(&format!("run([\"touch\", \"{}\"])", marker.display()));
    t.wait_for("changed=1");
    assert!(marker.exists());
    t.keys(&["C-d"]);
}

#[test]
fn edit_copies_a_stdlib_module_and_reloads_it() {
    let lab = Lab::new();
    // The "editor" appends a function to the file it is given.
    let editor = lab.file(
        "editor.sh",
        "#!/bin/sh\necho 'fn added() { \"from the edit\" }' >> \"$1\"\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = Term::start(&lab, &[("EDITOR", editor.to_str().unwrap())]);
    t.line(":edit util");
    t.wait_for("reloaded util");
    t.line("util::added()");
    t.wait_for("\"from the edit\"");
    t.line("util::gib(1)");
    t.wait_for("1073741824");
    let copy = std::fs::read_to_string(lab.lib().join("util.rhai")).unwrap();
    assert!(copy.contains("fn parse_size") && copy.contains("fn added"));
    t.line(":quit");
}

#[test]
fn values_read_as_tables_and_indented_maps() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    t.line("[#{name: \"undercloud\", vcpus: 8, state: \"running\"}, #{name: \"overcloud-ctrl01\", vcpus: 4, state: \"shut off\"}]");
    let s = t.wait_for("overcloud-ctrl01  shut off");
    assert!(s.contains("NAME              STATE     VCPUS"), "{s}");
    t.line("import \"seed\" as seed;");
    t.line("seed::profile()");
    let s = t.wait_for("tuned_profile: \"network-latency\"");
    // Nested maps are indented under their key, one entry a line.
    assert!(s.contains("\nhost:\n  cpu_overcommit: 2.0\n"), "{s}");
    t.line(":quit");
}

#[test]
fn save_writes_what_the_session_did_and_check_accepts_it() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    let real = lab.work().join("real");
    let planned = lab.work().join("planned");
    t.line("fn size(x) { x * 2 }");
    t.line("fn size(x) { x * 1024 }");
    t.line("let n = size(2)");
    t.line("help(\"run\")");
    t.wait_for("run(argv");
    t.line("n");
    t.wait_for("\n2048");
    t.line(&format!("run([\"touch\", \"{}\"])", real.display()));
    t.wait_for("changed=1");
    t.line(":plan on");
    t.wait_for("labsh(plan)>");
    t.line(&format!("run([\"touch\", \"{}\"])", planned.display()));
    t.wait_for("planned=1");
    t.line(":plan off");
    t.line("print(`n is ${n}`)");
    t.wait_for("n is 2048");
    let out = lab.work().join("session.rhai");
    t.line(&format!(":save {}", out.display()));
    let s = t.wait_for("saved ");
    t.line(":quit");
    let saved = std::fs::read_to_string(&out).unwrap();
    assert!(
        s.contains("saved 5 statement(s) and definition(s)"),
        "{s}\n{saved}"
    );
    assert!(
        saved.contains("x * 1024") && !saved.contains("x * 2 "),
        "{saved}"
    );
    assert!(
        !saved.contains("help(") && !saved.contains("\nn\n"),
        "{saved}"
    );
    assert!(
        saved.contains("planned(\"typed under :plan on in the REPL\""),
        "{saved}"
    );
    // labsh check accepts it, and a run does what the session did: the planned touch stays planned.
    lab.run(["check", out.to_str().unwrap()]).ok();
    std::fs::remove_file(&real).unwrap();
    lab.run_file(&out).ok().stdout_has("n is 2048");
    assert!(real.exists());
    assert!(
        !planned.exists(),
        "a line typed under :plan on ran for real"
    );
}

#[test]
fn a_stdlib_module_has_help_doc_and_completion() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    t.line("help(\"l1\")");
    let s = t.wait_for("l1::build_with_bmcs");
    assert!(s.contains("stdlib module: import \"l1\" as l1;"), "{s}");
    t.line("import \"l1\" as l1;");
    t.tmux(&["send-keys", "-t", "t", "-l", "l1::build_w"]);
    t.keys(&["Tab"]);
    t.wait_for("l1::build_with_bmcs");
    t.keys(&["C-u"]);
    t.line(":quit");
    lab.run(["doc", "l1"])
        .ok()
        .stdout_has("l1::instackenv_nodes(uri, p)");
    let dir = lab.doc_markdown();
    let page = std::fs::read_to_string(dir.join("l1.md")).unwrap();
    assert!(page.contains("## `l1::build(uri, p)`"), "{page}");
    let index = std::fs::read_to_string(dir.join("index.md")).unwrap();
    assert!(index.contains("[l1](l1.md): (stdlib)"), "{index}");
}
