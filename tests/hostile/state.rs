//! The state folder is private: under umask 000 a run leaves it 0700 with its files 0600, and
//! nothing labsh writes there follows a symbolic link planted at its path; `labsh doc
//! --markdown` refuses one too and asks before overwriting.

use super::{lab_with_state, script};
use crate::support::bmc::path_with_venv;
use crate::support::ports::free_port;
use crate::support::{qcow2, walk, Lab, Labsh, Out, Sshd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs labsh with `args` (and `stdin`) under `umask 000`, with the lab's environment.
fn run_with_umask_000(lab: &Lab, args: &[&str], stdin: &str) -> Out {
    under_umask_000(lab, lab.labsh().args(args), stdin)
}

/// Runs `labsh` (with its arguments and environment) under `umask 000` in the lab's folder.
fn under_umask_000(lab: &Lab, labsh: Labsh<'_>, stdin: &str) -> Out {
    let inner = labsh.command();
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(inner.get_program())
        .args(inner.get_args())
        .current_dir(lab.work());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every folder under `dir` (itself included).
fn folders(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(folders(&e.path()));
        }
    }
    out
}

#[test]
fn under_umask_000_the_state_folder_is_0700_and_its_files_0600() {
    let lab = Lab::new();
    // The state folder is made by labsh, as on a first run.
    std::fs::remove_dir(lab.state()).unwrap();
    run_with_umask_000(&lab, &["run", &script("lab.rhai")], "").ok();
    // The REPL's history, and a secret stored from -e.
    run_with_umask_000(&lab, &["repl"], "let x = 1;\nx + 1\n").ok();
    run_with_umask_000(
        &lab,
        &["-e", "secret(\"umask-test\", #{generate: true}); 1"],
        "",
    )
    .ok();
    let state = lab.state();
    let files = walk(&state);
    for f in [
        "lock",
        "history",
        "secrets",
        "out/sandbox/lab/undercloud.conf",
        "sandbox/lab/host.xml",
    ] {
        assert!(files.contains(&state.join(f)), "{f} was not made");
    }
    assert!(files.iter().any(|f| f.starts_with(state.join("runs"))));
    assert!(files
        .iter()
        .any(|f| f.starts_with(state.join("sandbox/lab/images"))));
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    // (The ssh sockets' folder is made when ssh first runs: the next test reaches a real sshd.)
    for d in folders(&state) {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
}

/// Every file under the state folder 0600 and every folder 0700.
#[track_caller]
fn assert_private(state: &Path) {
    for f in walk(state) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    for d in folders(state) {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
}

/// Stops the Redfish emulator of a PID file when the test ends, whatever it did.
struct StopEmulator(std::path::PathBuf);

impl Drop for StopEmulator {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

/// What the bindings write into the state folder under umask 000: the Redfish emulator's
/// configuration, password file, PID file, log and state folder (a real sushy-emulator), an
/// ssh job's local log (a real sshd) and the ssh sockets' folder, the base-image cache (a copy
/// of a 0644 image).
#[test]
fn under_umask_000_what_the_bindings_write_in_the_state_folder_is_private() {
    let sshd = Sshd::start();
    let lab = Lab::new();
    std::fs::remove_dir(lab.state()).unwrap();
    let state = lab.state();
    let port = free_port(18640);
    let base = lab.work().join("base.qcow2");
    qcow2(&base, "1M");
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o644)).unwrap();
    let remote = lab.work().join("remote-jobs");
    let _stop = StopEmulator(state.join("redfish/lab/sushy.pid"));
    let f = lab.file(
        "writers.rhai",
        &format!(
            r#"
let state = run_info().state_dir;
let dir = `${{state}}/redfish/lab`;
let pw = secret("umask-redfish", #{{generate: true, length: 16}});
bmc::sushy_configured(#{{port: {port}, libvirt_uri: "test:///default", pid_file: `${{dir}}/sushy.pid`,
    config: `${{dir}}/sushy.conf`, password: pw, systems: []}});
assert(bmc::sushy_running(`${{dir}}/sushy.pid`));
let r = ssh::job({host}, "umask", "echo job-output", #{{log: `${{state}}/out/jobs/umask.log`, dir: "{remote}", every: 0.1}});
assert_eq(r.tail, ["job-output"]);
img::cache_base("{base}", `${{state}}/sandbox/images/cache`);
"#,
            host = sshd.host(),
            remote = remote.display(),
            base = base.display(),
        ),
    );
    let f = f.display().to_string();
    let labsh = lab.labsh().args(["run", &f]).env("PATH", &path_with_venv());
    under_umask_000(&lab, labsh, "").ok();
    let files = walk(&state);
    for f in [
        "redfish/lab/sushy.conf",
        "redfish/lab/sushy.conf.htpasswd",
        "redfish/lab/sushy.pid",
        "redfish/lab/sushy.pid.log",
        "out/jobs/umask.log",
    ] {
        assert!(files.contains(&state.join(f)), "{f} was not made");
    }
    assert!(state.join("redfish/lab/sushy.conf.state").is_dir());
    assert!(
        state.join("ssh").is_dir(),
        "the ssh sockets' folder was not made"
    );
    assert!(
        files
            .iter()
            .any(|f| f.starts_with(state.join("sandbox/images/cache"))),
        "the base image was not cached"
    );
    assert_private(&state);
    // The emulator stopped: its PID file goes.
    let stop = lab.file(
        "stop.rhai",
        "bmc::sushy_stop(`${run_info().state_dir}/redfish/lab/sushy.pid`);\n",
    );
    let stop = stop.display().to_string();
    under_umask_000(
        &lab,
        lab.labsh()
            .args(["run", &stop])
            .env("PATH", &path_with_venv()),
        "",
    )
    .ok();
    assert!(!state.join("redfish/lab/sushy.pid").exists());
}

/// A folder of the state folder (runs/, out/, sandbox/, ssh/) that is a link to another place: a
/// run refuses it, naming it, and writes nothing there.
#[test]
fn a_folder_of_the_state_folder_that_is_a_link_is_never_written_through() {
    for (folder, cases) in [
        (
            "runs",
            vec![
                vec!["run", "LAB"],
                vec!["-e", "files::write(`${run_info().state_dir}/x.txt`, \"x\")"],
            ],
        ),
        ("out", vec![vec!["run", "LAB"]]),
        ("sandbox", vec![vec!["run", "LAB"]]),
        // The ssh sockets' folder, made before ssh starts: refused before any connection.
        (
            "ssh",
            vec![vec![
                "-e",
                "ssh::run(#{host: \"127.0.0.1\", user: \"root\", port: 9, connect_timeout: 1}, \"true\")",
            ]],
        ),
    ] {
        for args in cases {
            let lab = Lab::new();
            let elsewhere = lab.root.path().join("elsewhere");
            std::fs::create_dir_all(&elsewhere).unwrap();
            symlink(&elsewhere, lab.state().join(folder)).unwrap();
            let lab_script = script("lab.rhai");
            let args: Vec<&str> = args
                .iter()
                .map(|a| if *a == "LAB" { lab_script.as_str() } else { *a })
                .collect();
            let out = lab.run(&args);
            out.code(1).stderr_has(&format!(
                "{} is a symbolic link in the state folder",
                lab.state().join(folder).display()
            ));
            assert_eq!(
                walk(&elsewhere),
                Vec::<std::path::PathBuf>::new(),
                "{folder} {args:?}: written through the link"
            );
        }
    }
}

/// A file outside the state folder that a link in it points at.
fn outside(lab: &Lab, text: &str) -> std::path::PathBuf {
    let p = lab.root.path().join("outside.txt");
    std::fs::write(&p, text).unwrap();
    p
}

/// Replaces `STATE/rel` by a link to `to`.
fn plant(lab: &Lab, rel: &str, to: &Path) {
    let at = lab.state().join(rel);
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&at);
    symlink(to, &at).unwrap();
}

#[test]
fn a_link_planted_at_a_state_path_is_never_written_through() {
    const KEEP: &str = "127.0.0.1 localhost\n# the user's own file\n";
    // The lock: refused, naming it, before anything runs.
    let lab = lab_with_state();
    let o = outside(&lab, KEEP);
    plant(&lab, "lock", &o);
    let out = lab.run(["run", &script("lab.rhai")]);
    out.code(1).stderr_has(&format!(
        "{} is a symbolic link",
        lab.state().join("lock").display()
    ));
    assert_eq!(std::fs::read_to_string(&o).unwrap(), KEEP, "lock");

    // The hosts file the sandbox's lab writes in place, an out/ artifact, the sandbox's
    // autostart file and the secrets file, links planted after a first run: replaced by the
    // next, their targets untouched.
    let lab = Lab::new();
    lab.run(["run", &script("lab.rhai")]).ok();
    let planted: Vec<(&str, std::path::PathBuf, String)> = [
        "out/sandbox/lab/hosts",
        "out/sandbox/lab/undercloud.conf",
        "sandbox/lab/host.xml.autostart",
        "secrets",
    ]
    .iter()
    .enumerate()
    .map(|(i, rel)| {
        // Files labsh reads back hold what it wrote (a link is read through); the others the
        // user's text, which the run would write over.
        let text = if *rel == "secrets" || rel.ends_with(".autostart") {
            std::fs::read_to_string(lab.state().join(rel)).unwrap()
        } else {
            KEEP.to_string()
        };
        let o = lab.root.path().join(format!("outside-{i}"));
        std::fs::write(&o, &text).unwrap();
        plant(&lab, rel, &o);
        (*rel, o, text)
    })
    .collect();
    lab.run(["run", &script("lab.rhai")]).ok();
    // A secret stored for the first time rewrites the secrets file.
    let more = lab.file("more.rhai", "secret(\"one-more\", #{generate: true});\n");
    lab.run_file(&more).ok();
    for (rel, o, text) in &planted {
        assert_eq!(&std::fs::read_to_string(o).unwrap(), text, "{rel}");
        let at = lab.state().join(rel);
        assert!(!at.is_symlink(), "{rel}: the link is still there");
        assert_eq!(mode(&at), 0o600, "{rel}");
    }

    // The secrets' lock, a link to nowhere: not made where it points.
    let lab = lab_with_state();
    let nowhere = lab.root.path().join("made-by-labsh");
    plant(&lab, "secrets.lock", &nowhere);
    let f = lab.file("more.rhai", "secret(\"one-more\", #{generate: true});\n");
    let out = lab.run_file(&f);
    out.code(1).stderr_has("secrets.lock is a symbolic link");
    assert!(!nowhere.exists());

    // The REPL's history: not written through, the session goes on.
    let lab = Lab::new();
    let o = outside(&lab, KEEP);
    plant(&lab, "history", &o);
    let out = run_with_umask_000(&lab, &["repl"], "let x = 41;\nx + 1\n");
    out.ok().stdout_has("42");
    assert_eq!(std::fs::read_to_string(&o).unwrap(), KEEP, "history");
}

#[test]
fn doc_markdown_refuses_a_link_and_asks_before_overwriting() {
    let lab = Lab::new();
    let dir = lab.work().join("ref");
    let dir_s = dir.display().to_string();
    lab.run(["doc", "--markdown", &dir_s]).ok();
    let index = std::fs::read_to_string(dir.join("index.md")).unwrap();
    // The same pages again: nothing to overwrite, nothing asked.
    lab.run(["doc", "--markdown", &dir_s]).ok();

    // A link at a page's path: refused, even with --yes; the target untouched.
    let o = outside(&lab, "the user's notes\n");
    std::fs::remove_file(dir.join("files.md")).unwrap();
    symlink(&o, dir.join("files.md")).unwrap();
    for yes in [false, true] {
        let mut args = vec!["doc", "--markdown", &dir_s];
        if yes {
            args.push("--yes");
        }
        lab.run(&args).code(1).stderr_has(&format!(
            "{} is a symbolic link",
            dir.join("files.md").display()
        ));
        assert_eq!(std::fs::read_to_string(&o).unwrap(), "the user's notes\n");
    }
    std::fs::remove_file(dir.join("files.md")).unwrap();

    // A page that holds something else: without a terminal, refused unless --yes.
    std::fs::write(dir.join("index.md"), "my own index\n").unwrap();
    lab.run(["doc", "--markdown", &dir_s])
        .code(1)
        .stderr_has("index.md exist(s) with other text; pass --yes to overwrite");
    assert_eq!(
        std::fs::read_to_string(dir.join("index.md")).unwrap(),
        "my own index\n"
    );
    lab.run(["doc", "--markdown", &dir_s, "--yes"]).ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("index.md")).unwrap(),
        index
    );
    assert!(dir.join("files.md").is_file());
}
