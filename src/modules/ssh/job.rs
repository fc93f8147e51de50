//! Long commands on a remote host as detached jobs: the command runs on the host in a session of
//! its own (setsid), its output goes to a file there, and labsh follows it by polling over the
//! master connection. A labsh that is killed, interrupted or loses its connection leaves the job
//! running; the next run finds it and waits for it instead of starting it again. The job's output
//! is copied to a local log file as it arrives, and a spinner shows the elapsed time and the last
//! line.
//!
//! On the host, a job NAME lives in DIR/NAME: `cmd` (the command line, run with `sh`), `pid`
//! (its process group), `out` (its output), `rc` (its exit code, once it has one).

use super::Host;
use crate::effects::process::{shell_quote, Arg, Command, Output};
use crate::effects::{Effects, Error, Op};
use std::io::Write;
use std::time::{Duration, Instant};

/// What a job is and how to follow it.
pub struct JobSpec {
    pub name: String,
    pub command: String,
    /// The jobs' folder on the host (relative paths are from the login folder).
    pub dir: String,
    /// Where the command runs on the host.
    pub cwd: Option<String>,
    /// The local copy of the job's output.
    pub log: String,
    pub timeout: Option<Duration>,
    /// How often the host is asked.
    pub every: Duration,
    /// A non-zero exit is an error, and the job's effect is recorded as failed.
    pub check: bool,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnd {
    pub code: i64,
    /// A job that was already running when this run looked (started by an earlier run).
    pub attached: bool,
    pub seconds: f64,
    pub tail: Vec<String>,
}

/// What the host says of a job.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    None,
    Running {
        same: bool,
    },
    Done {
        code: i64,
        same: bool,
    },
    /// It was started and is gone without an exit code (the host rebooted, or it was killed).
    Died,
}

/// A job's name is a file name on the host: letters, digits, '.', '_' and '-'.
pub fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(Error::invalid(format!(
            "ssh::job: the name {name:?} must be letters, digits, '.', '_' and '-' (it names a folder on the host)"
        )));
    }
    Ok(())
}

fn folder(spec: &JobSpec) -> String {
    format!("{}/{}", spec.dir.trim_end_matches('/'), spec.name)
}

/// Runs one remote line, quietly, with `stdin`.
fn remote(
    fx: &Effects,
    h: &Host,
    line: &str,
    stdin: Option<&str>,
    timeout: Duration,
) -> Result<Output, Error> {
    let mut c = Command::new(h.command(line, fx.session_plans())?);
    c.stdin = stdin.map(|s| Arg::Plain(s.to_string()));
    c.timeout = Some(timeout);
    let out = super::client::exec_ssh(fx, &c)?;
    if out.code == 255 {
        return Err(Error::failed(format!(
            "ssh to {} failed while following a job: {}",
            h.label(),
            out.tail(3)
        )));
    }
    Ok(out)
}

/// Reads the job's state (a read: it runs in plan mode too).
pub fn state(fx: &Effects, h: &Host, spec: &JobSpec) -> Result<State, Error> {
    let d = shell_quote(&folder(spec));
    let line = format!(
        "D={d}; s=none; [ -f \"$D/pid\" ] && s=died; \
         [ -f \"$D/pid\" ] && kill -0 \"$(cat \"$D/pid\")\" 2>/dev/null && s=running; \
         [ -f \"$D/rc\" ] && s=\"done $(cat \"$D/rc\")\"; \
         c=other; cmp -s \"$D/cmd\" - 2>/dev/null && c=same; echo \"$s $c\""
    );
    let op = Op::new("ssh.job.state", format!("{}: {}", h.label(), spec.name));
    let out = fx.read(op, || {
        remote(fx, h, &line, Some(&spec.command), Duration::from_secs(60))
    })?;
    parse_state(&out.stdout).ok_or_else(|| {
        Error::failed(format!(
            "cannot read the state of job {} on {}: {}",
            spec.name,
            h.label(),
            out.tail(3)
        ))
    })
}

/// The state line the host prints: "running same", "done 0 other", "none other".
pub fn parse_state(text: &str) -> Option<State> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let w: Vec<&str> = line.split_whitespace().collect();
    let same = w.last() == Some(&"same");
    match w.first().copied()? {
        "none" => Some(State::None),
        "died" => Some(State::Died),
        "running" => Some(State::Running { same }),
        "done" => Some(match w.get(1).and_then(|c| c.parse::<i64>().ok()) {
            Some(code) => State::Done { code, same },
            None => State::Died,
        }),
        _ => None,
    }
}

/// Starts the job on the host: its folder made anew, the command written, then run detached.
fn start(fx: &Effects, h: &Host, spec: &JobSpec) -> Result<(), Error> {
    let d = shell_quote(&folder(spec));
    let cd = match &spec.cwd {
        Some(c) => format!("cd {} && ", shell_quote(c)),
        None => String::new(),
    };
    // The session leader's PID is its process group: a timeout stops the whole job.
    let line = format!(
        "D={d}; mkdir -p \"$D\" && rm -f \"$D/rc\" \"$D/rc.tmp\" \"$D/pid\" && cat > \"$D/cmd\" && : > \"$D/out\" || exit 1; \
         D=$(cd \"$D\" && pwd) && {cd}true || exit 1; \
         setsid sh -c 'echo $$ > \"$1/pid\"; sh \"$1/cmd\"; echo $? > \"$1/rc.tmp\"; mv \"$1/rc.tmp\" \"$1/rc\"' job \"$D\" \
         >> \"$D/out\" 2>&1 < /dev/null & echo $! > \"$D/pid\"; echo started"
    );
    let out = remote(fx, h, &line, Some(&spec.command), Duration::from_secs(60))?;
    if out.code != 0 || !out.stdout.contains("started") {
        return Err(Error::failed(format!(
            "cannot start job {} on {}: exit code {}: {}",
            spec.name,
            h.label(),
            out.code,
            out.tail(5)
        )));
    }
    Ok(())
}

/// Stops the job's process group on the host.
fn stop(fx: &Effects, h: &Host, spec: &JobSpec) -> Result<(), Error> {
    let d = shell_quote(&folder(spec));
    let line = format!(
        "D={d}; p=$(cat \"$D/pid\" 2>/dev/null) && kill -TERM -- \"-$p\" 2>/dev/null; sleep 2; kill -KILL -- \"-$p\" 2>/dev/null; true"
    );
    remote(fx, h, &line, None, Duration::from_secs(30)).map(|_| ())
}

/// Appends to the local copy of the job's output. A write that fails is said once and ends the
/// copy; the output stays on the host, in the job's folder.
fn copy_out(log: &mut Option<std::fs::File>, bytes: &[u8], fx: &Effects, h: &Host, spec: &JobSpec) {
    let Some(f) = log else {
        return;
    };
    if let Err(e) = f.write_all(bytes) {
        fx.printer().warn(&format!(
            "cannot write {}: {e}; the rest of {}'s output is not copied there (it is on {} in {}/out)",
            spec.log,
            spec.name,
            h.label(),
            folder(spec)
        ));
        *log = None;
    }
}

fn short(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// The most of a job's output one poll brings back: well within what labsh captures of a
/// command (a job that printed more since the last poll is caught up over several).
const CHUNK: u64 = 4 << 20;

/// The status line of a poll: "SIZE ALIVE [RC]".
pub fn parse_poll(line: &str) -> Option<(u64, bool, Option<i64>)> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let size = w.first()?.parse::<u64>().ok()?;
    let alive = w.get(1)? == &"1";
    let rc = w.get(2).and_then(|c| c.parse::<i64>().ok());
    Some((size, alive, rc))
}

/// What a followed job has printed so far: the line it has not ended yet, its last line and its
/// last 40 (blank lines left out).
#[derive(Default)]
struct Printed {
    pending: String,
    last: String,
    tail: Vec<String>,
}

impl Printed {
    /// `clean` (the output, redacted) added: its whole lines taken off the front once (a look
    /// may bring back millions).
    fn add(&mut self, clean: &str) {
        self.pending.push_str(clean);
        let mut start = 0;
        while let Some(i) = self.pending[start..].find('\n') {
            let l = self.pending[start..start + i].trim_end_matches('\r');
            start += i + 1;
            if !l.trim().is_empty() {
                self.last = l.to_string();
                self.tail.push(self.last.clone());
                if self.tail.len() > 40 {
                    self.tail.remove(0);
                }
            }
        }
        self.pending.drain(..start);
    }
}

/// The shell line of one poll of the job in folder `d` (quoted): "SIZE ALIVE [RC]", then what
/// the job printed from `offset` on, at most CHUNK bytes. The exit code is read before the size:
/// the job has printed all it will before its code is written, so a poll that brings back the
/// code brings back all the output too (the other order could miss its last lines).
fn poll_line(d: &str, offset: u64) -> String {
    format!(
        "D={d}; r=; [ -f \"$D/rc\" ] && r=$(cat \"$D/rc\"); s=$(wc -c < \"$D/out\" 2>/dev/null || echo 0); \
         a=0; kill -0 \"$(cat \"$D/pid\" 2>/dev/null)\" 2>/dev/null && a=1; echo \"$s $a $r\"; \
         n=$((s - {offset})); [ \"$n\" -gt {CHUNK} ] && n={CHUNK}; \
         tail -c +{} \"$D/out\" 2>/dev/null | head -c \"$n\"",
        offset + 1
    )
}

/// A job past its timeout `t`: stopped, and the error that says so with its log and the last of
/// what it printed.
fn stop_timed_out(fx: &Effects, h: &Host, spec: &JobSpec, t: Duration, tail: &[String]) -> Error {
    let stopped = match stop(fx, h, spec) {
        Ok(()) => "it was stopped".to_string(),
        Err(e) => format!("stopping it failed ({e}), it may still run there"),
    };
    Error::timed_out(format!(
        "{} did not finish in {} on {}; {stopped}. Its log: {}{}",
        spec.name,
        short(t),
        h.label(),
        spec.log,
        if tail.is_empty() {
            String::new()
        } else {
            format!(
                "\n    {}",
                tail[tail.len().saturating_sub(10)..].join("\n    ")
            )
        }
    ))
}

/// How a followed job's progress is shown: a spinner on a terminal, else a status line each
/// minute.
struct Progress {
    printer: std::sync::Arc<crate::printer::Printer>,
    what: String,
    spinner: Option<indicatif::ProgressBar>,
    said: std::cell::Cell<Instant>,
}

impl Progress {
    fn new(printer: &std::sync::Arc<crate::printer::Printer>, what: String) -> Progress {
        Progress {
            spinner: printer.spinner(&what),
            printer: printer.clone(),
            what,
            said: std::cell::Cell::new(Instant::now()),
        }
    }

    /// The time the job has run and its `last` line.
    fn show(&self, elapsed: Duration, last: &str) {
        let what = &self.what;
        let shown: String = last.chars().take(100).collect();
        match &self.spinner {
            Some(p) => p.set_message(crate::printer::data(
                &format!("{what} {}: {shown}", short(elapsed)),
                false,
            )),
            None => {
                if self.said.get().elapsed() >= Duration::from_secs(60) {
                    self.printer.status(&format!(
                        "  {what}: {} so far; last: {shown}",
                        short(elapsed)
                    ));
                    self.said.set(Instant::now());
                }
            }
        }
    }

    fn clear(&self) {
        if let Some(p) = &self.spinner {
            p.finish_and_clear();
        }
    }
}

/// Waits `every` before the next poll; false when the run is stopped meanwhile.
fn wait_poll(fx: &Effects, every: Duration) -> bool {
    let until = Instant::now() + every;
    while Instant::now() < until {
        if fx.check_cancel().is_err() {
            return false;
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
    }
    true
}

/// Follows the job until it has an exit code: its output copied to the local log, a spinner on a
/// terminal (else a status line each minute), the timeout honoured (the job is stopped), Ctrl-C
/// leaving it running.
fn follow(fx: &Effects, h: &Host, spec: &JobSpec, attached: bool) -> Result<JobEnd, Error> {
    // In the state folder: 0600 in private folders, never opened through a link.
    #[expect(
        clippy::disallowed_methods,
        reason = "called inside Effects::change: the job's output copied to its local log"
    )]
    let mut log = Some(crate::effects::files::create_file(std::path::Path::new(
        &spec.log,
    ))?);
    let d = shell_quote(&folder(spec));
    let progress = Progress::new(fx.printer(), format!("{} on {}", spec.name, h.label()));
    let t0 = Instant::now();
    let mut offset: u64 = 0;
    let mut printed = Printed::default();
    let mut misses = 0;
    // Interrupted: the job goes on on the host, and the next run follows it.
    let left_running = || {
        progress.clear();
        fx.printer().status(&format!(
            "  {} keeps running on {}; run again to follow it (its log so far: {})",
            spec.name,
            h.label(),
            spec.log
        ));
        Error::interrupted()
    };
    let end = loop {
        let line = poll_line(&d, offset);
        let out = remote(fx, h, &line, None, Duration::from_secs(120)).map_err(|e| {
            if e.is_interrupted() {
                left_running()
            } else {
                e
            }
        })?;
        let (status, rest) = out.stdout.split_once('\n').unwrap_or((&out.stdout, ""));
        let Some((size, alive, rc)) = parse_poll(status) else {
            return Err(Error::failed(format!(
                "cannot follow job {} on {}: {}",
                spec.name,
                h.label(),
                out.tail(3)
            )));
        };
        if !rest.is_empty() {
            let clean = crate::effects::secret::redact(rest);
            copy_out(&mut log, clean.as_bytes(), fx, h, spec);
            offset += rest.len() as u64;
            printed.add(&clean);
        }
        if offset > size {
            offset = size;
        }
        let elapsed = t0.elapsed();
        progress.show(elapsed, &printed.last);
        if let Some(code) = rc {
            if offset >= size {
                break code;
            }
            continue;
        }
        if !alive {
            // The code is written just before the job ends: look once more before calling it dead.
            misses += 1;
            if misses > 2 {
                break -1;
            }
        } else {
            misses = 0;
        }
        if let Some(t) = spec.timeout.filter(|t| elapsed > *t) {
            let e = stop_timed_out(fx, h, spec, t, &printed.tail);
            progress.clear();
            return Err(e);
        }
        if !wait_poll(fx, spec.every) {
            return Err(left_running());
        }
    };
    let mut tail = printed.tail;
    if !printed.pending.trim().is_empty() {
        tail.push(printed.pending.trim_end().to_string());
        copy_out(&mut log, b"\n", fx, h, spec);
    }
    progress.clear();
    Ok(JobEnd {
        code: end,
        attached,
        seconds: t0.elapsed().as_secs_f64(),
        tail,
    })
}

/// Runs the job to its end: a job of the same command already running (started by a run that
/// was killed) is followed, not started again; one running another command is waited for first.
/// `planned` is what plan mode returns.
pub fn run(fx: &Effects, h: &Host, spec: &JobSpec) -> Result<JobEnd, Error> {
    let st = state(fx, h, spec)?;
    let target = format!("{}: {}", h.label(), spec.name);
    let mut op = Op::new("ssh.job", target)
        .arg("command", &spec.command)
        .arg("log", &spec.log);
    if matches!(st, State::Running { .. }) {
        op = op.arg("running", true);
    }
    // A checked job's non-zero exit is judged inside the effect, so that it is recorded as
    // failed, not as changed.
    fx.change(
        op,
        || {
            let end = match st {
                State::Running { same: true } => follow(fx, h, spec, true),
                State::Running { same: false } => {
                    follow(fx, h, spec, true)?;
                    start(fx, h, spec)?;
                    follow(fx, h, spec, false)
                }
                _ => {
                    start(fx, h, spec)?;
                    follow(fx, h, spec, false)
                }
            }?;
            if spec.check && end.code != 0 {
                return Err(Error::failed(failure(h, spec, &end)));
            }
            Ok(end)
        },
        || JobEnd {
            code: 0,
            attached: false,
            seconds: 0.0,
            tail: vec![],
        },
    )
}

/// A checked job's non-zero exit: the host, the job, its code, its command, its last lines and
/// its log.
fn failure(h: &Host, spec: &JobSpec, end: &JobEnd) -> String {
    let last = &end.tail[end.tail.len().saturating_sub(10)..];
    format!(
        "on {}: job {} failed with exit code {}: {}\n    {}\n  its log: {}",
        h.label(),
        spec.name,
        end.code,
        spec.command,
        last.join("\n    "),
        spec.log
    )
}

#[cfg(test)]
mod tests {

    /// A job that prints its last line and ends just after a poll measured its output: the poll
    /// that brings back its exit code brings back that line too.
    #[test]
    fn a_poll_that_sees_the_exit_code_sees_all_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let job = dir.path().join("job");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&job).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(job.join("out"), "line 12\n").unwrap();
        // wc measures the output, then the job ends: "done", then its code.
        std::fs::write(
            bin.join("wc"),
            "#!/bin/sh\n/usr/bin/wc \"$@\"\nif [ ! -f \"$JOB/rc\" ]; then echo done >> \"$JOB/out\"; echo 0 > \"$JOB/rc\"; fi\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("wc"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let poll = |offset: u64| {
            let o = std::process::Command::new("sh")
                .arg("-c")
                .arg(poll_line(&shell_quote(&job.display().to_string()), offset))
                .env("JOB", &job)
                .env(
                    "PATH",
                    format!(
                        "{}:{}",
                        bin.display(),
                        std::env::var("PATH").unwrap_or_default()
                    ),
                )
                .output()
                .unwrap();
            String::from_utf8(o.stdout).unwrap()
        };
        let mut offset = 0;
        let mut all = String::new();
        for _ in 0..3 {
            let out = poll(offset);
            let (status, rest) = out.split_once('\n').unwrap();
            let (size, _, rc) = parse_poll(status).unwrap();
            all.push_str(rest);
            offset += rest.len() as u64;
            if rc.is_some() {
                assert!(offset >= size);
                assert_eq!(all, "line 12\ndone\n");
                return;
            }
        }
        panic!("no exit code in three polls: {all:?}");
    }
    use super::*;

    #[test]
    fn state_lines_as_the_host_prints_them() {
        assert_eq!(parse_state("none other\n"), Some(State::None));
        assert_eq!(
            parse_state("running same\n"),
            Some(State::Running { same: true })
        );
        assert_eq!(
            parse_state("running other"),
            Some(State::Running { same: false })
        );
        assert_eq!(
            parse_state("done 2 same"),
            Some(State::Done {
                code: 2,
                same: true
            })
        );
        assert_eq!(parse_state("done  same"), Some(State::Died));
        assert_eq!(parse_state("died other"), Some(State::Died));
        assert_eq!(parse_state("Permission denied"), None);
        assert_eq!(parse_poll("1234 1 "), Some((1234, true, None)));
        assert_eq!(parse_poll("10 0 0"), Some((10, false, Some(0))));
        assert_eq!(parse_poll("x 0"), None);
    }

    #[test]
    fn names_are_file_names() {
        assert!(check_name("overcloud-deploy").is_ok());
        assert!(check_name("../x").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("").is_err());
    }

    #[test]
    fn durations_read_short() {
        assert_eq!(short(Duration::from_secs(5)), "5s");
        assert_eq!(short(Duration::from_secs(125)), "2m05s");
        assert_eq!(short(Duration::from_secs(3720)), "1h02m");
    }
}
