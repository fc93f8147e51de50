//! The REPL, driven in a real terminal (tmux): completion, multi-line input, history, `:save`,
//! `:plan`, `:edit`, persistence between lines, and Ctrl-C.

use crate::support::{bin, Lab};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A terminal (a tmux session) a person drives: keys in, the screen read back.
pub(crate) struct Term {
    socket: PathBuf,
}

impl Term {
    /// The REPL in a terminal, at its prompt.
    fn start(lab: &Lab, extra_env: &[(&str, &str)]) -> Term {
        let t = Term::command(lab, extra_env, &[bin().display().to_string()]);
        t.wait_for("labsh>");
        t
    }

    /// `argv` in a terminal of its own, with the lab's environment and `extra_env`.
    pub(crate) fn command(lab: &Lab, extra_env: &[(&str, &str)], argv: &[String]) -> Term {
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
        cmd.extend(argv.iter().cloned());
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
        Term { socket }
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

    pub(crate) fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Types `text` literally, then Enter.
    pub(crate) fn line(&self, text: &str) {
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

    pub(crate) fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t", "-S", "-200"])
    }

    #[track_caller]
    pub(crate) fn wait_for(&self, text: &str) -> String {
        self.wait_for_in(text, Duration::from_secs(15))
    }

    /// The screen once it shows `text`, waited for at most `limit`.
    #[track_caller]
    pub(crate) fn wait_for_in(&self, text: &str, limit: Duration) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            if t0.elapsed() > limit {
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
fn what_a_plan_planned_is_gone_when_plan_mode_ends() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    let host = lab.work().join("planned-host.xml");
    let cloud = "#{cloud: \"later\", planned: \"its credentials are made by this plan\"}";
    t.line(":plan on");
    t.wait_for("labsh(plan)>");
    // The plan opens the sandbox it would write from memory, and plans against a cloud whose
    // credentials are only planned as an offline one.
    t.line(&format!(
        "virt::node_info(virt::sandbox_host(\"{}\")).cpus",
        host.display()
    ));
    t.wait_for("\n32");
    t.line(&format!("cloud::connect({cloud}).offline"));
    t.wait_for("\ntrue");
    t.line(":plan off");
    t.wait_for("plan mode off");
    // Real mode sees the world: no sandbox file, no such cloud.
    t.line("let seen = ();");
    t.line(&format!(
        "try {{ seen = virt::node_info(\"test://{}\").cpus }} catch (e) {{ seen = \"no\" + \" sandbox: \" + e.kind }}",
        host.display()
    ));
    t.line("seen");
    t.wait_for("no sandbox: unreachable");
    t.line(&format!(
        "try {{ seen = cloud::connect({cloud}).offline }} catch (e) {{ seen = \"no\" + \" cloud: \" + e.kind }}"
    ));
    t.line("seen");
    t.wait_for("no cloud: not_found");
    assert!(!host.exists());
    t.line(":quit");
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
    // Every statement that ran is kept, terminated: the help and the value shown too.
    assert!(
        s.contains("saved 7 statement(s) and definition(s)"),
        "{s}\n{saved}"
    );
    assert!(
        saved.contains("x * 1024") && !saved.contains("x * 2 "),
        "{saved}"
    );
    assert!(
        saved.contains("\nhelp(\"run\");\n") && saved.contains("\nn;\n"),
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

/// The lines of `out` that are in `want`, in the order `out` has them.
fn lines_among(out: &str, want: &[&str]) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| want.contains(l))
        .map(str::to_string)
        .collect()
}

#[test]
fn save_keeps_every_statement_that_ran_terminated_and_the_run_replays_the_session() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    t.line("import \"seed\" as seed");
    t.line("let p = seed::profile()");
    t.line("let m = #{a: 1}");
    // A command whose result is used, a property, a .map(..) line: each ran.
    t.line("run([\"echo\", \"from-run\"]).code");
    t.wait_for("echo │ from-run");
    t.line("p.ocp");
    t.wait_for("cluster: \"ocp4\"");
    t.line("let names = seed::vm_list(p).map(|vm| vm.name)");
    t.line("names.len()");
    t.wait_for("\n8\n");
    // Of a line that fails, what ran before the failure is kept, the rest is not.
    t.line("let x = 5; print(`x is ${x}`); nosuch.y; print(\"never printed\")");
    t.wait_for("Variable not found: nosuch");
    t.line("print(`m.a=${m.a} x=${x} names=${names.len()} cluster=${p.ocp.cluster}`)");
    let session = t.wait_for("m.a=1 x=5 names=8 cluster=ocp4");
    let out = lab.work().join("session.rhai");
    t.line(&format!(":save {}", out.display()));
    t.wait_for("saved ");
    let saved = std::fs::read_to_string(&out).unwrap();
    for want in [
        "let m = #{a: 1};\n",
        "run([\"echo\", \"from-run\"]).code;\n",
        "\np.ocp;\n",
        "let names = seed::vm_list(p).map(|vm| vm.name);\n",
        "let x = 5;\nprint(`x is ${x}`);\nprint(`m.a=",
    ] {
        assert!(saved.contains(want), "no {want:?} in\n{saved}");
    }
    assert!(
        !saved.contains("nosuch") && !saved.contains("never printed"),
        "{saved}"
    );
    // A second :save to the same file asks first; no leaves it as it was.
    std::fs::write(&out, "// mine\n").unwrap();
    t.line(&format!(":save {}", out.display()));
    t.wait_for("exists: overwrite it? [y/N]");
    t.line("n");
    t.wait_for("left as it was");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "// mine\n");
    t.line(&format!(":save {}", out.display()));
    t.wait_for("exists: overwrite it? [y/N]");
    t.line("y");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), saved);
    // Never through a symbolic link.
    let target = lab.work().join("target.txt");
    std::fs::write(&target, "untouched\n").unwrap();
    let link = lab.work().join("link.rhai");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    t.line(&format!(":save {}", link.display()));
    t.wait_for("is a symbolic link: :save does not write through one");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");
    t.line(":quit");

    // labsh check passes it, and its run prints what the session printed, in that order.
    lab.run(["check", out.to_str().unwrap()]).ok();
    let run = lab.run_file(&out);
    run.ok();
    let printed = ["x is 5", "m.a=1 x=5 names=8 cluster=ocp4"];
    assert_eq!(lines_among(&session, &printed), printed, "{session}");
    assert_eq!(
        lines_among(&run.stdout, &printed),
        printed,
        "{}",
        run.stdout
    );
    // The command's output, as the session streamed it.
    run.stderr_has("echo │ from-run");
    assert!(!run.stdout.contains("never printed"), "{}", run.stdout);
}

#[test]
fn a_missing_key_is_an_error_with_a_did_you_mean_and_the_sandbox_keeps_the_sessions_changes() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    t.line("import \"seed\" as seed");
    t.line("let p = seed::profile()");
    t.line("p.vms.ctrl.cuont");
    let s = t.wait_for("did you mean 'count'?");
    assert!(s.contains("no key 'cuont' in p.vms.ctrl"), "{s}");
    // What the REPL does to the sandbox is there for the next run.
    t.line("virt::network_ensure(virt::sandbox(), #{lab: \"repl\", name: \"from-repl\", address: \"10.79.0.1\", netmask: \"255.255.255.0\", dhcp: false})");
    t.wait_for("changed=");
    t.line(":quit");
    std::thread::sleep(Duration::from_millis(300));
    lab.run(["-e", "virt::network_list(virt::sandbox()).map(|n| n.name)"])
        .ok()
        .stdout_has("from-repl");
}

#[test]
fn the_labs_node_names_complete_inside_ssh_node() {
    let lab = Lab::new();
    let t = Term::start(&lab, &[]);
    // The seed's: the director and the overcloud's host names the deploy gives its nodes.
    t.tmux(&["send-keys", "-t", "t", "-l", "ssh::node(\"overcloud-nov"]);
    t.keys(&["Tab"]);
    t.wait_for("ssh::node(\"overcloud-novacompute-0");
    t.keys(&["C-u"]);
    // Several: their common part, then the list.
    t.tmux(&["send-keys", "-t", "t", "-l", "ssh::node(\"overcloud-co"]);
    t.keys(&["Tab"]);
    t.wait_for("ssh::node(\"overcloud-controller-");
    t.keys(&["Tab"]);
    let s = t.wait_for("overcloud-controller-2");
    assert!(s.contains("overcloud-controller-0"), "{s}");
    t.keys(&["C-u"]);
    // Completing read the profile and changed nothing (the target is not resolved: a sandbox
    // not made yet is not made).
    assert!(!lab.state().join("sandbox").exists());
    // The name completed is one ssh::node takes.
    t.line("ssh::node(\"overcloud-novacompute-0\").user");
    t.wait_for("heat-admin");
    t.line(":quit");
}
