//! The ssh client under the binding, with no Rhai types: a host and how to reach it (its ssh
//! command lines: the shared options, the master connection, a hop through another host), remote
//! command lines under sudo, ssh's own failures named, and commands and files on the host through
//! the effects seam.

use crate::effects::process::{shell_quote, Arg, Command, Output};
use crate::effects::{Effects, Error, Kind, Op};
use std::time::Duration;

/// A remote host and how to reach it.
#[derive(Clone, Debug)]
pub struct Host {
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity: Option<String>,
    pub connect_timeout: u64,
    pub options: Vec<String>,
    /// A host that must not be contacted (a sandbox stands for it): plans treat its files as
    /// absent; applying anything on it is an error.
    pub offline: bool,
    /// The host this one is reached through: the command runs on `via` as an ssh of its own
    /// (with `via`'s keys), as an overcloud node is reached from the director.
    pub via: Option<Box<Host>>,
}

impl Host {
    /// `user@host:port` as people write it.
    pub fn label(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        if let Some(v) = &self.via {
            s.push_str(&format!(" via {}", v.label()));
        }
        s
    }

    /// Whether this host, or one it is reached through, must not be contacted.
    pub fn is_offline(&self) -> bool {
        self.offline || self.via.as_ref().is_some_and(|v| v.is_offline())
    }

    fn control_dir() -> String {
        crate::paths::state_dir().join("ssh").display().to_string()
    }

    /// The ssh options every call shares. The folder of the master connections' sockets is made
    /// when missing, and a folder that cannot be made is an error naming it; a session that only
    /// plans (`plan`) writes nothing, so it shares a master only where one is already there.
    fn base(&self, program: &str, plan: bool) -> Result<Vec<String>, Error> {
        let dir = Self::control_dir();
        // One master connection per host, its socket in the state folder.
        let multiplex = if plan {
            std::path::Path::new(&dir).is_dir()
        } else {
            // Private (0700): the sockets in it reach the hosts as this user.
            #[expect(
                clippy::disallowed_methods,
                reason = "labsh's own state: the folder of ssh's master connections, made private"
            )]
            crate::paths::create_private_dir_all(std::path::Path::new(&dir)).map_err(|e| {
                format!("cannot create {dir}, the folder of ssh's master connections: {e}")
            })?;
            true
        };
        let mut v: Vec<String> = vec![program.into()];
        let mut opts = vec![
            "BatchMode=yes".to_string(),
            format!("ConnectTimeout={}", self.connect_timeout),
        ];
        if multiplex {
            opts.push("ControlMaster=auto".into());
            opts.push(format!("ControlPath={dir}/%C"));
            opts.push("ControlPersist=120".into());
        }
        opts.push("ServerAliveInterval=15".into());
        self.push_flags(&mut v, opts, if program == "scp" { "-P" } else { "-p" });
        Ok(v)
    }

    /// `-o` with each of `opts`, then this host's own options, identity and port (`port_flag`:
    /// ssh's `-p`, scp's `-P`).
    fn push_flags(&self, v: &mut Vec<String>, opts: Vec<String>, port_flag: &str) {
        for o in opts.into_iter().chain(self.options.iter().cloned()) {
            v.push("-o".into());
            v.push(o);
        }
        if let Some(i) = &self.identity {
            v.push("-i".into());
            v.push(i.clone());
        }
        if let Some(p) = self.port {
            v.push(port_flag.into());
            v.push(p.to_string());
        }
    }

    fn dest(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// The ssh command line that runs `remote` (a shell command line) on the host, for a
    /// session that only plans or not (`plan`: see [`Host::base`]).
    pub fn command(&self, remote: &str, plan: bool) -> Result<Vec<String>, Error> {
        if let Some(via) = &self.via {
            return via.command(&self.hop_line(remote), plan);
        }
        let mut v = self.base("ssh", plan)?;
        v.push(self.dest());
        v.push("--".into());
        v.push(remote.into());
        Ok(v)
    }

    /// The ssh command line of a person's session on the host: `remote` (a shell command line)
    /// with its output and exit code, or with none a login shell; `tty` asks for a terminal on
    /// every hop (a login shell, or a command that wants one). Through `via`, the hop is that
    /// host's own ssh client, as for [`Host::command`].
    pub fn session_command(
        &self,
        remote: Option<&str>,
        tty: bool,
        plan: bool,
    ) -> Result<Vec<String>, Error> {
        if let Some(via) = &self.via {
            let hop = self.hop_words(remote, tty);
            let line = hop
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ");
            return via.session_command(Some(&line), tty, plan);
        }
        let mut v = self.base("ssh", plan)?;
        if tty {
            v.push("-t".into());
        }
        v.push(self.dest());
        if let Some(r) = remote {
            v.push("--".into());
            v.push(r.into());
        }
        Ok(v)
    }

    /// The words of the ssh run on the `via` host: its own client, keys and known hosts, no
    /// master connection; `remote` after `--`, or none for a login shell.
    fn hop_words(&self, remote: Option<&str>, tty: bool) -> Vec<String> {
        let mut v: Vec<String> = vec!["ssh".into()];
        let opts = vec![
            "BatchMode=yes".to_string(),
            format!("ConnectTimeout={}", self.connect_timeout),
            "StrictHostKeyChecking=accept-new".into(),
        ];
        self.push_flags(&mut v, opts, "-p");
        if tty {
            v.push("-t".into());
        }
        v.push(self.dest());
        if let Some(r) = remote {
            v.push("--".into());
            v.push(r.into());
        }
        v
    }

    /// The ssh command line run on the `via` host: its own client, its keys and known hosts (a
    /// node the director just deployed is accepted on first sight), no master connection.
    fn hop_line(&self, remote: &str) -> String {
        self.hop_words(Some(remote), false)
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `line` as `sudo` asks: as it is, as root, or as another user (`sudo -n`: never a password
/// prompt); an empty line is an error of `func`.
pub fn as_user(func: &str, line: String, sudo: &Option<String>) -> Result<String, Error> {
    if line.trim().is_empty() {
        return Err(Error::invalid(format!("{func}: the command is empty")));
    }
    Ok(match sudo {
        None => line,
        Some(u) if u == "root" => format!("sudo -n -- sh -c {}", shell_quote(&line)),
        Some(u) => format!(
            "sudo -n -u {} -H -- sh -c {}",
            shell_quote(u),
            shell_quote(&line)
        ),
    })
}

/// Whether ssh stopped before it sent the command: the master connection it shares
/// (ControlMaster) went away as it asked it whether it was alive. OpenSSH's mux.c
/// (mux_client_request_alive, 9.2p1) exits 255 with "mux_client_request_alive: write packet: ..."
/// there, before mux_client_request_session sends the command, so nothing ran on the host.
/// (A master that does not answer its hello, or answers "not alive", makes ssh connect by
/// itself and run the command: no failure.)
fn master_lost_before_command(out: &Output) -> bool {
    out.code == 255
        && out.stdout.is_empty()
        && out.stderr.lines().any(|l| {
            l.trim()
                .starts_with("mux_client_request_alive: write packet:")
        })
}

/// Runs an ssh command, again (twice at most, a moment apart) when the master connection it
/// shares went away before the command was sent (see [`master_lost_before_command`]): a new
/// master is made, and the command runs once.
pub(super) fn exec_ssh(fx: &Effects, c: &Command) -> Result<Output, Error> {
    let mut out = fx.exec(c)?;
    for pause in [200, 1000] {
        if !master_lost_before_command(&out) {
            break;
        }
        fx.check_cancel()?;
        std::thread::sleep(Duration::from_millis(pause));
        out = fx.exec(c)?;
    }
    Ok(out)
}

/// Turns ssh's own failures (exit 255) into a message naming the host.
fn explain(h: &Host, code: i32, stderr: &str) -> Option<Error> {
    if code != 255 {
        return None;
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    // ssh's own words (OpenSSH's ssh.c and sshconnect.c) say which failure it was.
    let (kind, hint) = if last.contains("Permission denied") {
        (
            Kind::Unauthorized,
            "authentication refused: check the user, the identity file and the remote authorized_keys",
        )
    } else if last.contains("timed out")
        || last.contains("No route")
        || last.contains("Connection refused")
    {
        (
            if last.contains("timed out") {
                Kind::TimedOut
            } else {
                Kind::Unreachable
            },
            "the host cannot be reached: check the address, the port and that sshd runs",
        )
    } else if last.contains("Host key verification failed") {
        (
            Kind::Refused,
            "the host key is unknown or changed: check known_hosts",
        )
    } else {
        (Kind::Failed, "ssh failed")
    };
    Some(Error::new(
        kind,
        format!("ssh to {}: {hint} ({last})", h.label()),
    ))
}

/// How a remote command runs (the options of `ssh::run`).
#[derive(Clone, Debug, Default)]
pub struct Run {
    pub timeout: Option<Duration>,
    pub stdin: Option<Arg>,
    /// No streaming of its output.
    pub quiet: bool,
    /// A non-zero exit is an error naming the host, the code and the last lines.
    pub check: bool,
    /// It changes nothing: it runs in plan mode too and is not counted as a change.
    pub read: bool,
}

/// Whether `h` is offline (the target stands in for it), when it is never contacted: in a run
/// that is an error naming `what` (the command); in a plan the step `shown` is shown (`None` for a
/// read, which shows nothing).
pub fn offline(fx: &Effects, h: &Host, shown: Option<Op>, what: &str) -> Result<bool, Error> {
    if !h.is_offline() {
        return Ok(false);
    }
    if !fx.is_plan() {
        return Err(Error::refused(format!(
            "{} is offline (the target stands in for it); nothing was run: {what}",
            h.label()
        )));
    }
    if let Some(op) = shown {
        fx.planned_step(op)?;
    }
    Ok(true)
}

/// Runs the remote command line `line` as `func`. A plan shows a change and runs a read; an
/// offline host is never contacted: a plan reads nothing from it (exit code 3, as a missing file)
/// and shows the change, a run is an error.
pub fn run(fx: &Effects, func: &str, h: &Host, line: &str, o: &Run) -> Result<Output, Error> {
    let target = format!("{}: {line}", h.label());
    let shown = (!o.read).then(|| Op::new(func, target.clone()));
    if offline(fx, h, shown, line)? {
        return Ok(Output {
            code: if o.read { 3 } else { 0 },
            stdout: String::new(),
            stderr: String::new(),
        });
    }
    let op = Op::new(func, target);
    // ssh's own failure (no connection) and a checked command's non-zero exit are judged inside
    // the effect, so that it is recorded as failed, not as changed.
    let run = || -> Result<Output, Error> {
        let mut c = Command::new(h.command(line, fx.session_plans())?);
        c.timeout = o.timeout;
        c.stdin = o.stdin.clone();
        if !o.quiet {
            c.stream = Some(h.label());
        }
        let out = exec_ssh(fx, &c)?;
        if let Some(e) = explain(h, out.code, &out.stderr) {
            return Err(e);
        }
        if o.check && out.code != 0 {
            return Err(Error::failed(remote_failure(h, line, &out)));
        }
        Ok(out)
    };
    if o.read {
        fx.read(op, run)
    } else {
        fx.change(op, run, Output::planned)
    }
}

/// A checked remote command's non-zero exit: the host, the code, the command and its last lines.
fn remote_failure(h: &Host, line: &str, out: &Output) -> String {
    let all = format!("{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(10)..];
    format!(
        "on {}: command failed with exit code {}: {line}{}",
        h.label(),
        out.code,
        if last.is_empty() {
            String::new()
        } else {
            format!("\n    {}", last.join("\n    "))
        }
    )
}

/// The text of a remote file, or None when it does not exist (a read: runs in plan mode too).
pub fn read_text(
    fx: &Effects,
    h: &Host,
    path: &str,
    sudo: &Option<String>,
) -> Result<Option<String>, Error> {
    let line = format!(
        "if [ -e {p} ]; then cat {p}; else exit 3; fi",
        p = shell_quote(path)
    );
    let line = as_user("ssh.read", line, sudo)?;
    let quietly = Run {
        quiet: true,
        read: true,
        ..Run::default()
    };
    let out = run(fx, "ssh.read", h, &line, &quietly)?;
    match out.code {
        0 => Ok(Some(out.stdout)),
        3 => Ok(None),
        c => Err(Error::failed(format!(
            "cannot read {path} on {}: exit code {c}: {}",
            h.label(),
            out.stderr.trim()
        ))),
    }
}

/// How a remote file is written.
#[derive(Clone, Debug, Default)]
pub struct Write {
    /// Octal, such as "0600"; a new file through a rename is 0644 without one.
    pub mode: Option<String>,
    /// Written in place (mode and owner kept) rather than through a temporary file and a rename.
    pub in_place: bool,
    pub sudo: Option<String>,
    /// What plans and journals show instead of the content.
    pub shown: serde_json::Value,
}

/// Makes a remote file hold `text`: `ok` when it does already. `true` when it changed.
pub fn write_text(
    fx: &Effects,
    h: &Host,
    path: &str,
    text: &str,
    w: &Write,
) -> Result<bool, Error> {
    let current = read_text(fx, h, path, &w.sudo)?;
    if current.as_deref() == Some(text) {
        let target = format!("{}:{path}", h.label());
        fx.unchanged(Op::new("ssh.write", &target).arg("mode", w.mode.as_deref()));
        return Ok(false);
    }
    put_text(fx, h, path, text, w)
}

/// Writes `text` to a remote file known to hold something else (no read first).
pub fn put_text(fx: &Effects, h: &Host, path: &str, text: &str, w: &Write) -> Result<bool, Error> {
    let target = format!("{}:{path}", h.label());
    let p = shell_quote(path);
    // The file's folder is made first, as files::write makes a local one.
    let mkdir = match std::path::Path::new(path).parent() {
        Some(d) if !d.as_os_str().is_empty() && d != std::path::Path::new("/") => {
            format!("mkdir -p {} && ", shell_quote(&d.display().to_string()))
        }
        _ => String::new(),
    };
    let line = match (w.in_place, w.mode.as_deref()) {
        (true, None) => format!("{mkdir}cat > {p}"),
        (true, Some(m)) => format!("{mkdir}cat > {p} && chmod {m} {p}"),
        (false, m) => format!(
            "{mkdir}umask 077 && t={p}.labsh-tmp.$$ && cat > \"$t\" && chmod {} \"$t\" && mv -f \"$t\" {p}",
            m.unwrap_or("0644")
        ),
    };
    let full = as_user("ssh.write", line, &w.sudo)?;
    let op = Op::new("ssh.write", &target)
        .arg("mode", w.mode.as_deref())
        .arg("content", &w.shown);
    // A write that failed (ssh's own failure, or the remote shell's) is recorded as failed.
    fx.change(
        op,
        || -> Result<(), Error> {
            let mut c = Command::new(h.command(&full, fx.session_plans())?);
            c.stdin = Some(Arg::Plain(text.to_string()));
            let out = exec_ssh(fx, &c)?;
            if let Some(e) = explain(h, out.code, &out.stderr) {
                return Err(e);
            }
            if out.code != 0 {
                return Err(Error::failed(format!(
                    "cannot write {path} on {}: exit code {}: {}",
                    h.label(),
                    out.code,
                    out.stderr.trim()
                )));
            }
            Ok(())
        },
        || (),
    )?;
    Ok(true)
}

/// The end of an edit of a remote file just read: `ok` when the edit changes nothing, else the
/// new text written in place (mode and owner kept).
pub fn finish_edit(
    fx: &Effects,
    h: &Host,
    path: &str,
    op: Op,
    new: Option<String>,
    w: &Write,
) -> Result<bool, Error> {
    match new {
        None => {
            fx.unchanged(op);
            Ok(false)
        }
        Some(new) => put_text(fx, h, path, &new, w),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_lost_before_the_command_is_asked_again_and_the_command_runs_once() {
        let dir = tempfile::tempdir().unwrap();
        let ran = dir.path().join("ran");
        let tries = dir.path().join("tries");
        // An ssh stand-in: twice it loses its master before the command, then runs it.
        let script = format!(
            "echo x >> {tries}\nif [ $(wc -l < {tries}) -le 2 ]; then echo 'mux_client_request_alive: write packet: Broken pipe' >&2; exit 255; fi\necho ran >> {ran}\necho done",
            tries = tries.display(),
            ran = ran.display()
        );
        let fx = Effects::for_tests(crate::effects::Mode::Apply);
        let c = Command::new(vec!["sh".to_string(), "-c".to_string(), script]);
        let out = exec_ssh(&fx, &c).unwrap();
        assert_eq!((out.code, out.stdout.trim()), (0, "done"));
        assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran\n");
        // Any other failure of ssh, or a command that ran, is not asked again.
        for (code, stdout, stderr) in [
            (
                255,
                "",
                "ssh: connect to host 127.0.0.1 port 1: Connection refused",
            ),
            (
                255,
                "partial",
                "mux_client_request_alive: write packet: Broken pipe",
            ),
            (1, "", "mux_client_request_alive: write packet: Broken pipe"),
        ] {
            let o = Output {
                code,
                stdout: stdout.into(),
                stderr: stderr.into(),
            };
            assert!(
                !master_lost_before_command(&o),
                "{code} {stdout:?} {stderr:?}"
            );
        }
    }

    fn node() -> Host {
        Host {
            host: "172.16.0.21".into(),
            user: Some("tripleo-admin".into()),
            port: None,
            identity: None,
            connect_timeout: 15,
            options: vec![],
            offline: false,
            via: None,
        }
    }

    #[test]
    fn a_session_through_the_director_asks_for_a_terminal_on_the_hop_only_for_a_login_shell() {
        let n = node();
        // A login shell: a terminal on the hop, no command (ssh then starts the login shell).
        let shell = n.hop_words(None, true);
        assert_eq!(
            shell.last().map(String::as_str),
            Some("tripleo-admin@172.16.0.21")
        );
        assert!(shell.contains(&"-t".to_string()), "{shell:?}");
        assert!(!shell.contains(&"--".to_string()), "{shell:?}");
        // A command: after `--`, no terminal, as a job's hop has.
        let cmd = n.hop_words(Some("hostname"), false);
        assert_eq!(cmd[cmd.len() - 2..], ["--", "hostname"]);
        assert!(!cmd.contains(&"-t".to_string()), "{cmd:?}");
        assert_eq!(
            n.hop_line("hostname"),
            cmd.iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
}
