//! The fixtures tests share: the test builder (`lab.labsh().args([...]).run()`, `lab.run([...])`
//! for short), commands that must succeed (`run_ok`), the shipped scripts, a test's own sshd;
//! and, in their own files, a libvirtd of a test's own (host), the devcloud and
//! python-openstackclient (devcloud), VirtualBMC (bmc) and free ports (ports).

pub mod bmc;
pub mod devcloud;
pub mod host;
pub mod ports;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The canary secret: its value must never appear anywhere labsh writes.
pub const CANARY_VALUE: &str = "c4n4ry-7f3a9e1d-NEVER-PRINT";
pub const CANARY_ENV: &str = "LABSH_SECRET_CANARY";

/// The stages of scripts/lab.rhai, in their order (a RHOSO lab's controlplane and dataplane
/// are in every lab's, and do nothing in a TripleO one).
pub const LAB_STAGES: [&str; 11] = [
    "preflight",
    "l0",
    "l1",
    "substrate",
    "controlplane",
    "dataplane",
    "undercloud",
    "overcloud",
    "tenant",
    "ocp",
    "verify",
];

/// The source tree.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A script labsh ships (scripts/NAME).
pub fn script(name: &str) -> PathBuf {
    root().join("scripts").join(name)
}

/// A path under ~/.cache/labsh, where the test tools' venvs live.
pub fn cache(rel: &str) -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/labsh")
        .join(rel)
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_labsh"))
}

/// Runs `cmd` to its end and returns its output; fails the test as [`succeeded`] does, or when
/// the command cannot start.
#[track_caller]
pub fn run_ok(cmd: &mut Command, what: impl std::fmt::Display) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    succeeded(out, what)
}

/// A finished command's output; fails the test, naming `what` and showing what the command
/// printed, when it did not succeed.
#[track_caller]
pub fn succeeded(out: Output, what: impl std::fmt::Display) -> Output {
    assert!(
        out.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Makes an empty qcow2 image of `size` (qemu-img's notation: 2M, 1G) at `path`.
pub fn qcow2(path: &Path, size: &str) {
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(path)
        .arg(size)
        .status()
        .unwrap();
    assert!(st.success(), "qemu-img create {}", path.display());
}

/// A process a test started, killed and reaped when the test is done with it.
pub struct Spawned(pub Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` with its stdout piped and reads the first line it prints (a server's port, say).
pub fn spawn_and_read_line(cmd: &mut Command) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// Runs `cmd` (a `labsh --json` run), reading its JSON lines, and kills it with SIGKILL at the
/// first line `at` picks: an interrupted run, for the next run to continue. The lines read; `Err`
/// with them and its stderr when it ended before such a line.
pub fn kill_at_line(cmd: &mut Command, at: impl Fn(&str) -> bool) -> Result<Vec<String>, String> {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut seen = vec![];
    let mut killed = false;
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let hit = at(&line);
        seen.push(line);
        if hit {
            let _ = child.kill();
            killed = true;
            break;
        }
    }
    let _ = child.wait();
    if killed {
        Ok(seen)
    } else {
        Err(format!(
            "{}\n{}",
            seen.join("\n"),
            std::fs::read_to_string(err.path()).unwrap_or_default()
        ))
    }
}

/// The output folder a run of scripts/lab.rhai names on its first line ("lab LAB (profile ..)
/// on target ..: libvirt .., output DIR"): `STATE/out/TARGET/LAB`.
#[track_caller]
pub fn lab_out(o: &Out) -> PathBuf {
    let line = o
        .stdout
        .lines()
        .find(|l| l.starts_with("lab ") && l.contains(", output "))
        .unwrap_or_else(|| panic!("no lab line in:\n{}", o.stdout));
    PathBuf::from(line.rsplit_once(", output ").unwrap().1)
}

/// The stage `name` in a run's recap.
pub fn recap_stage<'a>(recap: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    recap["stages"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
}

/// A test's own folders: `state` (LABSH_STATE_DIR), `lib` (the user's override folder) and
/// `work` (scripts and files the test makes).
pub struct Lab {
    pub root: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        let root = tempfile::tempdir().expect("tempdir");
        for d in ["state", "lib", "work", "home"] {
            std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
        }
        Lab { root }
    }

    pub fn state(&self) -> PathBuf {
        self.root.path().join("state")
    }

    pub fn lib(&self) -> PathBuf {
        self.root.path().join("lib")
    }

    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// Writes `text` to `work/name` and returns the path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.work().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// The environment every labsh process of this lab gets.
    pub fn envs(&self) -> Vec<(String, String)> {
        vec![
            ("LABSH_STATE_DIR".into(), self.state().display().to_string()),
            ("LABSH_USER_LIB".into(), self.lib().display().to_string()),
            ("HOME".into(), self.home().display().to_string()),
            ("NO_COLOR".into(), "1".into()),
            (CANARY_ENV.into(), CANARY_VALUE.into()),
            ("RUST_BACKTRACE".into(), "0".into()),
        ]
    }

    /// Writes the reference as Markdown (`labsh doc --markdown`) into `work/ref`; returns that folder.
    pub fn doc_markdown(&self) -> PathBuf {
        let dir = self.work().join("ref");
        self.labsh()
            .args(["doc", "--markdown", dir.to_str().unwrap()])
            .run()
            .ok();
        dir
    }

    /// Runs labsh with `args`, no more environment and no stdin (see [`Labsh::run`]).
    pub fn run<I, S>(&self, args: I) -> Out
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.labsh().args(args).run()
    }

    /// Runs `labsh run FILE`.
    pub fn run_file(&self, file: &Path) -> Out {
        self.run(["run", file.to_str().unwrap()])
    }

    /// `labsh run scripts/NAME`, to which a test adds its arguments.
    pub fn run_script(&self, name: &str) -> Labsh<'_> {
        self.labsh().args(["run", script(name).to_str().unwrap()])
    }

    pub fn labsh(&self) -> Labsh<'_> {
        Labsh {
            lab: self,
            args: Vec::new(),
            envs: Vec::new(),
            cwd: self.work(),
            stdin: None,
        }
    }

    /// `lab.rhai --preflight` on a sandbox target whose BMCs are Redfish on `port` (its image and
    /// disk folders made under `work`).
    pub fn redfish_preflight(&self, port: u16) -> Out {
        for d in ["images", "ssd"] {
            std::fs::create_dir_all(self.work().join(d)).expect("mkdir");
        }
        let t = self.file(
            "redfish-host.yaml",
            &format!(
                "libvirt_uri: test:///default\nimages: {w}/images\ndisk_folders: {{ssd: {w}/ssd}}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\nprofile: {{host: {{memory_overcommit: 10.0}}, bmc: {{type: redfish, redfish_port: {port}}}, vms: {{ceph: {{osd_disks: [1G]}}}}}}\n",
                w = self.work().display()
            ),
        );
        self.run_script("lab.rhai")
            .args(["--preflight", "--target", t.to_str().unwrap()])
            .run()
    }

    /// Every file of the state folder with its content, sorted: what a refused command must leave
    /// as it was.
    pub fn state_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<(PathBuf, Vec<u8>)> = walk(&self.state())
            .into_iter()
            .filter(|p| p.is_file())
            .map(|p| {
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect();
        v.sort();
        v
    }

    /// Fails if the canary's value is in any file under the state folder.
    pub fn assert_no_canary_in_files(&self) {
        for f in walk(&self.state()) {
            if f.file_name().is_some_and(|n| n == "secrets") {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(CANARY_VALUE),
                "the canary secret leaked into {}",
                f.display()
            );
        }
    }

    /// The journal files, oldest first.
    pub fn journals(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = walk(&self.state().join("runs"));
        v.sort();
        v
    }

    /// The events of the newest journal.
    pub fn last_journal(&self) -> Vec<serde_json::Value> {
        let j = self.journals();
        let last = j.last().expect("a journal");
        std::fs::read_to_string(last)
            .expect("read journal")
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
            .collect()
    }
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

pub struct Labsh<'a> {
    lab: &'a Lab,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    cwd: PathBuf,
    stdin: Option<String>,
}

/// What a finished labsh left.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    #[track_caller]
    pub fn stdout_has(&self, s: &str) -> &Self {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}:\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Self {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}:\n{}",
            self.stderr
        );
        self
    }

    /// How many effects of operation `op` a `--json` run planned.
    pub fn planned(&self, op: &str) -> usize {
        self.json_lines()
            .iter()
            .filter(|l| l["event"] == "effect" && l["op"] == op && l["outcome"] == "planned")
            .count()
    }

    /// stdout as JSON lines.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))
            })
            .collect()
    }
}

impl<'a> Labsh<'a> {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(bin());
        c.args(&self.args).current_dir(&self.cwd);
        for (k, v) in self.lab.envs().into_iter().chain(self.envs.iter().cloned()) {
            c.env(k, v);
        }
        c
    }

    /// Runs to completion and checks the canary everywhere.
    pub fn run(self) -> Out {
        let mut c = self.command();
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("start labsh");
        if let Some(mut si) = child.stdin.take() {
            use std::io::Write;
            if let Some(s) = &self.stdin {
                let _ = si.write_all(s.as_bytes());
            }
        }
        let o: Output = child.wait_with_output().expect("wait labsh");
        let out = Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        assert!(
            !out.stdout.contains(CANARY_VALUE),
            "canary leaked to stdout:\n{}",
            out.stdout
        );
        assert!(
            !out.stderr.contains(CANARY_VALUE),
            "canary leaked to stderr:\n{}",
            out.stderr
        );
        self.lab.assert_no_canary_in_files();
        out
    }
}

/// An sshd of this test's own on 127.0.0.1 with throwaway keys, stopped by PID.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub pid: String,
}

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        for k in ["hostkey", "clientkey"] {
            let ok = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f", &p(k)])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        std::fs::copy(p("clientkey.pub"), p("authorized_keys")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        // Tests start sshds at the same time: each looks from a place of its own, and a port
        // taken between the look and sshd's bind is given up for the next one.
        let from = 22300 + (std::process::id() % 400) as u16;
        let mut tried = vec![];
        let port = loop {
            let port = (from..from + 600)
                .find(|port| {
                    !tried.contains(port)
                        && std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok()
                })
                .unwrap();
            tried.push(port);
            assert!(tried.len() <= 5, "sshd could not listen on {tried:?}");
            std::fs::write(
                p("sshd_config"),
                format!(
                    "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\n\
                     PasswordAuthentication no\nStrictModes no\nUsePAM no\nPidFile {}\n",
                    p("hostkey"),
                    p("authorized_keys"),
                    p("sshd.pid")
                ),
            )
            .unwrap();
            let ok = Command::new("/usr/sbin/sshd")
                .args(["-f", &p("sshd_config"), "-E", &p("sshd.log")])
                .status()
                .unwrap();
            assert!(
                ok.success(),
                "sshd did not start (apt-get install openssh-server)"
            );
            let t0 = Instant::now();
            let gave_up = || {
                std::fs::read_to_string(p("sshd.log"))
                    .is_ok_and(|l| l.contains("Cannot bind any address"))
            };
            while !dir.path().join("sshd.pid").exists()
                && !gave_up()
                && t0.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            if dir.path().join("sshd.pid").exists() {
                break port;
            }
            let log = std::fs::read_to_string(p("sshd.log")).unwrap_or_default();
            assert!(
                log.contains("Cannot bind any address"),
                "sshd wrote no PID file:\n{log}"
            );
        };
        let pid = std::fs::read_to_string(dir.path().join("sshd.pid"))
            .unwrap()
            .trim()
            .to_string();
        Sshd { dir, port, pid }
    }

    /// The client's private key (authorised for root).
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("clientkey")
    }

    /// The host as labsh's ssh binding takes it.
    pub fn host(&self) -> String {
        format!(
            "#{{host: \"127.0.0.1\", user: \"root\", port: {}, identity: \"{}\", options: [\"StrictHostKeyChecking=no\", \"UserKnownHostsFile=/dev/null\", \"LogLevel=ERROR\"]}}",
            self.port,
            self.key().display()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

/// Compares `text` with the snapshot tests/snapshots/NAME.txt; with LABSH_BLESS=1 writes it.
#[track_caller]
pub fn snapshot(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("LABSH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {} (LABSH_BLESS=1 writes it)", path.display()));
    if want != text {
        panic!(
            "{} differs from the output (LABSH_BLESS=1 rewrites it):\n--- want\n{want}\n--- got\n{text}",
            path.display()
        );
    }
}

/// Output with what varies from run to run made fixed: the lab's folders, run ids, times (and
/// the spaces that align a time, on the lines that have one).
pub fn normalized(text: &str, lab: &Lab) -> String {
    let mut t = text.replace(&lab.root.path().display().to_string(), "<lab>");
    t = t.replace(env!("CARGO_MANIFEST_DIR"), "<repo>");
    let duration = |w: &str| {
        let w = w.trim_start_matches('(').trim_end_matches([')', ':', ',']);
        let digits = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit() || c == '.');
        (w.ends_with("ms") && digits(&w[..w.len() - 2]))
            || (w.ends_with('s') && w.contains('.') && digits(&w[..w.len() - 1]))
            || (w.ends_with('s')
                && w.contains('m')
                && w.chars().filter(|c| c.is_ascii_digit()).count() + 2 == w.len())
    };
    let mut out = String::new();
    for line in t.lines() {
        let mut timed = false;
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                let run_id =
                    w.len() == 25 && w.as_bytes().get(8) == Some(&b'T') && w.contains("Z-");
                if duration(w) {
                    timed = true;
                    let lead = if w.starts_with('(') { "(" } else { "" };
                    let tail: String = w
                        .chars()
                        .rev()
                        .take_while(|c| [')', ':', ','].contains(c))
                        .collect();
                    format!("{lead}<t>{}", tail.chars().rev().collect::<String>())
                } else if run_id {
                    "<run>".to_string()
                } else {
                    w.to_string()
                }
            })
            .collect();
        let mut l = words.join(" ");
        if timed {
            while l.contains("  ") {
                l = l.replace("  ", " ");
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// One HTTP/1.1 request read off `s` by a stand-in server: its head (the request line and headers,
/// through the blank line) and its body (Content-Length bytes); `None` at the end of the stream.
pub fn read_request(s: &mut BufReader<std::net::TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if s.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    std::io::Read::read_exact(s, &mut body).ok()?;
    Some((head, body))
}
