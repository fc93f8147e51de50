//! Running programs: argument vectors (never a shell unless asked), output streamed line by line
//! with a prefix and captured, a timeout, and Ctrl-C. Each child runs in a process group of its own
//! so that a timeout or an interrupt stops everything it started.
//!
//! What is captured is bounded: up to [`MAX_OUTPUT`] of each of stdout and stderr (or the
//! command's own `max_output`) is kept in memory. Past it the output is kept in a file under
//! `STATE/output/` instead (0600, secrets masked), the command is an error naming the limit and
//! that file, and a program that goes on to write [`SPILL_FACTOR`] times the limit is stopped
//! there, as a timeout stops it. A streamed line is at most [`MAX_LINE`] long.

use super::secret::Secret;
use super::secret_file::SecretFiles;
use super::Error;
use crate::error::Context;
use crate::printer::Printer;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One argument or environment value: plain text, or a secret shown by its mask. A secret goes
/// to a child in its environment or on its input; on its command line, where every local user
/// reads it (ps, /proc/PID/cmdline), it is refused: there it goes as `SecretFile`, the path of a
/// private file holding it.
#[derive(Clone, Debug)]
pub enum Arg {
    Plain(String),
    Secret(Secret),
    /// `prefix` and the path of a private file holding the secret, made for the life of one
    /// child ([`super::secret_file`]): `--root-password file:PATH`.
    SecretFile {
        prefix: String,
        secret: Secret,
    },
}

impl Arg {
    /// A secret as a private file for one child, its path after `prefix`.
    pub fn secret_file(prefix: &str, secret: &Secret) -> Arg {
        Arg::SecretFile {
            prefix: prefix.to_string(),
            secret: secret.clone(),
        }
    }

    /// The text, or a secret's value (what a child reads on its input).
    pub fn expose(&self) -> &str {
        match self {
            Arg::Plain(s) => s,
            Arg::Secret(s) | Arg::SecretFile { secret: s, .. } => s.expose(),
        }
    }

    /// How the argument appears in plans, journals and errors.
    pub fn shown(&self) -> String {
        match self {
            Arg::Plain(s) => s.clone(),
            Arg::Secret(s) => s.mask(),
            Arg::SecretFile { prefix, secret } => format!("{prefix}{}", secret.mask()),
        }
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Plain(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Plain(s)
    }
}

/// Called with each output line (without its newline) as it arrives.
pub type LineHook = Arc<dyn Fn(&str) + Send + Sync>;

/// A program to run.
#[derive(Clone, Default)]
pub struct Command {
    pub argv: Vec<Arg>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, Arg)>,
    pub timeout: Option<Duration>,
    /// Prefix for streamed output; `None` runs quietly.
    pub stream: Option<String>,
    pub stdin: Option<Arg>,
    /// Sees every output line (stdout and stderr) as it arrives: progress parsers, log files.
    pub on_line: Option<LineHook>,
    /// What the program makes is its user's alone: its umask also takes the group's and
    /// others' bits (077). For a program that writes into the state folder.
    pub private: bool,
    /// The most of each of stdout and stderr kept in memory, in bytes; `None`: [`MAX_OUTPUT`].
    pub max_output: Option<u64>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl Command {
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arg>,
    {
        Command {
            argv: argv.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// The command line as a person would type it, secrets masked.
    pub fn display(&self) -> String {
        self.argv
            .iter()
            .map(|a| match a {
                Arg::Plain(s) => shell_quote(s),
                Arg::Secret(s) => s.mask(),
                Arg::SecretFile { prefix, secret } => {
                    format!("{}{}", shell_quote(prefix), secret.mask())
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The name shown before streamed lines: the program's file name.
    pub fn program_name(&self) -> String {
        self.argv
            .first()
            .map(|a| {
                let s = a.shown();
                s.rsplit('/').next().unwrap_or(&s).to_string()
            })
            .unwrap_or_default()
    }
}

/// Quotes a word for display the way a POSIX shell would read it back.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c) || !c.is_ascii())
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// How many of a failed command's last lines its error shows.
pub const TAIL_LINES: usize = 10;

/// The most of each of a program's stdout and stderr kept in memory unless the command says
/// otherwise.
pub const MAX_OUTPUT: u64 = 8 << 20;

/// The most `run` and `sh` may be asked to keep (`max_output`): what one string of a script may
/// hold (`engine::MAX_STRING_SIZE`).
pub const MAX_OUTPUT_OPTION: u64 = 16 << 20;

/// A program whose output goes past its limit is stopped once its file holds this many times the
/// limit: an output that does not end (`yes`) fills neither memory nor the disk.
pub const SPILL_FACTOR: u64 = 8;

/// The longest line streamed or shown to a line hook: a longer one is passed on in pieces.
pub const MAX_LINE: usize = 1 << 20;

/// Bytes read from a pipe at a time.
const CHUNK: usize = 64 << 10;

/// What a finished program left.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// What a plan returns for a command it only shows.
    pub fn planned() -> Output {
        Output {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    /// The failure of `command` that exited with this: its code and the last lines it printed
    /// (the one form every binding reports a failed command in).
    pub fn failure(&self, command: &str) -> String {
        let tail = self.tail(TAIL_LINES);
        let mut msg = format!("command failed with exit code {}: {command}", self.code);
        if !tail.is_empty() {
            msg.push_str("\n    ");
            msg.push_str(&tail.replace('\n', "\n    "));
        }
        msg
    }

    /// The last `n` non-empty lines of stderr (or stdout when stderr is empty), for error messages.
    pub fn tail(&self, n: usize) -> String {
        let src = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let lines: Vec<&str> = src.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// The children running now, by the PID of each one's process group leader (started by [`exec`]
/// and not reaped yet, so the group cannot be another's): what a stop signal stops.
/// Process-wide: a signal stops every child of the process, whichever run started it.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Set by a second stop signal: the children are killed (SIGKILL) at once instead of being
/// given their grace period after SIGTERM. Process-wide, as the signals are.
static AT_ONCE: AtomicBool = AtomicBool::new(false);

fn running() -> std::sync::MutexGuard<'static, Vec<u32>> {
    RUNNING.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many children [`exec`] is running now.
pub fn running_children() -> usize {
    running().len()
}

/// Kills the process group of every running child with SIGKILL, and of every child a stopped
/// run still starts: what a second Ctrl-C does, without the grace period of the first. Returns
/// how many groups were killed.
pub fn kill_children_at_once() -> usize {
    AT_ONCE.store(true, Ordering::SeqCst);
    let groups = running();
    for pid in groups.iter() {
        kill_group(*pid, libc::SIGKILL);
    }
    groups.len()
}

/// Gives the children of the next stop their grace period again (the REPL's next line).
pub fn stop_gently() {
    AT_ONCE.store(false, Ordering::SeqCst);
}

#[allow(unsafe_code)]
fn kill_group(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group the child leads; it has no
    // memory-safety preconditions. The group exists as long as the child has not been reaped.
    unsafe {
        libc::kill(-(pid as i32), signal);
    }
}

/// Which of a program's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Where one output goes once it has passed its limit.
struct Spill {
    path: PathBuf,
    /// `Err`: why the file could not be written (the program is stopped).
    file: Result<std::fs::File, Error>,
    /// Bytes in the file.
    written: u64,
    /// The end of the last line, held until its newline so that a secret is masked whole.
    pending: Vec<u8>,
}

/// What is kept of one output: its bytes up to the limit, then a file.
struct Capture {
    stream: Stream,
    limit: u64,
    buf: Vec<u8>,
    spill: Option<Spill>,
    /// Set when the program should be stopped: its file is full or cannot be written.
    stop: Arc<AtomicBool>,
    /// The folder of the file (`STATE/output`), and the program's name and PID for its name.
    dir: PathBuf,
    program: String,
    pid: u32,
}

/// A file for the output of `program`: 0600 in a 0700 folder, never through a planted link,
/// never one that is there already.
fn spill_file(
    dir: &Path,
    program: &str,
    pid: u32,
    stream: Stream,
) -> (PathBuf, Result<std::fs::File, Error>) {
    let name: String = program
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = super::time::compact(super::time::now_ms());
    let path = dir.join(format!("{stamp}-{name}-{pid}.{}", stream.name()));
    let file = crate::paths::open_private(
        &path,
        std::fs::OpenOptions::new().write(true).create_new(true),
    );
    (path, file)
}

impl Spill {
    /// Writes `bytes` (complete lines masked; a last partial line held until its end or until it
    /// is longer than [`MAX_LINE`]); `true` once the file holds `max` bytes or cannot be written.
    fn write(&mut self, bytes: &[u8], max: u64, end: bool) -> bool {
        self.pending.extend_from_slice(bytes);
        let cut = if end || self.pending.len() > MAX_LINE {
            self.pending.len()
        } else {
            self.pending
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
        };
        if cut > 0 {
            let text = String::from_utf8_lossy(&self.pending[..cut]);
            let masked = super::secret::redact(&text);
            let room = max.saturating_sub(self.written) as usize;
            let out = &masked.as_bytes()[..masked.len().min(room)];
            if let Ok(f) = &mut self.file {
                if let Err(e) = f.write_all(out) {
                    self.file = Err(Error::io(
                        format_args!("cannot write {}", self.path.display()),
                        &e,
                    ));
                }
            }
            self.written += out.len() as u64;
            self.pending.drain(..cut);
        }
        self.file.is_err() || self.written >= max
    }
}

impl Capture {
    /// Keeps `bytes`: in memory while within the limit, then in the file.
    fn keep(&mut self, bytes: &[u8]) {
        let max = self.limit.saturating_mul(SPILL_FACTOR);
        if let Some(s) = &mut self.spill {
            if s.written < max && s.write(bytes, max, false) {
                self.stop.store(true, Ordering::SeqCst);
            }
            return;
        }
        if (self.buf.len() + bytes.len()) as u64 <= self.limit {
            self.buf.extend_from_slice(bytes);
            return;
        }
        let (path, file) = spill_file(&self.dir, &self.program, self.pid, self.stream);
        let mut s = Spill {
            path,
            file,
            written: 0,
            pending: Vec::new(),
        };
        let before = std::mem::take(&mut self.buf);
        let full = s.write(&before, max, false) || s.write(bytes, max, false);
        self.spill = Some(s);
        if full {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    /// The output ended: what is held of a last line goes to the file.
    fn finish(&mut self) {
        let max = self.limit.saturating_mul(SPILL_FACTOR);
        if let Some(s) = &mut self.spill {
            if s.written < max {
                s.write(&[], max, true);
            }
        }
    }

    /// The error of an output that went past its limit, naming the limit and the file.
    fn overflow(&self, command: &str) -> Option<String> {
        let s = self.spill.as_ref()?;
        let limit = crate::util::size::shown(self.limit);
        let stream = self.stream.name();
        let mut msg = format!(
            "{command} wrote more than {limit} to its {stream}, the most labsh keeps of a \
             program's output"
        );
        match &s.file {
            Ok(_) => {
                let max = self.limit.saturating_mul(SPILL_FACTOR);
                if s.written >= max {
                    msg.push_str(&format!(
                        ": it was stopped after {}; that much of its {stream} is in {}",
                        crate::util::size::shown(max),
                        s.path.display()
                    ));
                } else {
                    msg.push_str(&format!("; its whole {stream} is in {}", s.path.display()));
                }
            }
            Err(e) => msg.push_str(&format!(
                ": it was stopped; its {stream} was not kept ({e})"
            )),
        }
        let most = MAX_OUTPUT_OPTION;
        if self.limit < most {
            msg.push_str(&format!(
                "; run and sh keep up to {} with #{{max_output: \"{}\"}}; for more, have the \
                 program write to a file",
                crate::util::size::shown(most),
                crate::util::size::shown(most)
                    .replace(' ', "")
                    .trim_end_matches("iB"),
            ));
        } else {
            msg.push_str("; have the program write its output to a file instead");
        }
        Some(msg)
    }
}

/// Reads one output of a program to its end: lines streamed with `prefix` and passed to `hook`
/// (each at most [`MAX_LINE`]), and the bytes kept by `sink`.
fn pump<R: Read + Send + 'static>(
    mut reader: R,
    sink: Arc<Mutex<Capture>>,
    prefix: Option<String>,
    printer: Arc<Printer>,
    hook: Option<LineHook>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let is_stderr = sink
            .lock()
            .map(|c| c.stream == Stream::Stderr)
            .unwrap_or(false);
        let lines = prefix.is_some() || hook.is_some();
        let emit = |line: &[u8]| {
            let text = String::from_utf8_lossy(line);
            let text = text.trim_end_matches(['\n', '\r']);
            if let Some(p) = &prefix {
                printer.stream(p, text, is_stderr);
            }
            if let Some(h) = &hook {
                h(text);
            }
        };
        let mut buf = vec![0u8; CHUNK];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let chunk = &buf[..n];
            if lines {
                let mut rest = chunk;
                while let Some(i) = rest.iter().position(|b| *b == b'\n') {
                    pending.extend_from_slice(&rest[..=i]);
                    emit(&pending);
                    pending.clear();
                    rest = &rest[i + 1..];
                }
                pending.extend_from_slice(rest);
                while pending.len() >= MAX_LINE {
                    let piece: Vec<u8> = pending.drain(..MAX_LINE).collect();
                    emit(&piece);
                }
            }
            if let Ok(mut s) = sink.lock() {
                s.keep(chunk);
            }
        }
        if lines && !pending.is_empty() {
            emit(&pending);
        }
        if let Ok(mut s) = sink.lock() {
            s.finish();
        }
    })
}

/// Starts `cmd` as a service that outlives this call: in a process group of its own, with no
/// input, its output in `log` (which it replaces), labsh's secrets kept from its environment. Returns its
/// PID, which the caller records to stop it later with [`terminate`].
pub fn spawn_detached(cmd: &Command, log: &std::path::Path) -> Result<u32, Error> {
    let (mut c, program, files) = std_command(cmd)?;
    if !files.is_empty() {
        return Err(Error::refused(format!(
            "cannot start {}: a service outlives the private file of its secret; give it a file of its own",
            cmd.display()
        )));
    }
    // In the state folder the log is 0600, never opened through a link.
    let out = if crate::paths::in_state(log) {
        super::files::create_file(log)?
    } else {
        std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(log)
            .with_context(|| format!("cannot write {}", log.display()))?
    };
    let err = out
        .try_clone()
        .with_context(|| format!("cannot write {}", log.display()))?;
    c.stdin(Stdio::null()).stdout(out).stderr(err);
    let child = c.spawn().map_err(|e| spawn_error(program, e))?;
    Ok(child.id())
}

/// Why a secret cannot be argument `index` of `cmd`, and how to hand it over instead.
fn secret_in_argv(cmd: &Command, index: usize, secret: &Secret) -> Error {
    Error::refused(format!(
        "cannot start {}: argument {index} is the secret {}, and every local user can read a command line (ps, /proc/PID/cmdline) while the program runs; hand the secret over on the program's input (stdin), in its environment, or in a 0600 file",
        cmd.program_name(),
        secret.mask()
    ))
}

/// What the child is given for `a`: its text or a secret's value (in its environment), or
/// the path of a private file holding the secret, made in `files`.
fn for_child(a: &Arg, files: &mut SecretFiles) -> Result<String, Error> {
    Ok(match a {
        Arg::SecretFile { prefix, secret } => {
            format!("{prefix}{}", files.add(secret)?.display())
        }
        other => other.expose().to_string(),
    })
}

/// The program of `cmd` with its arguments, folder and environment, in a process group of its
/// own; its name; and the private files of its secrets, to be kept until it has ended. A secret
/// on its command line is refused.
fn std_command(cmd: &Command) -> Result<(StdCommand, &Arg, SecretFiles), Error> {
    use std::os::unix::process::CommandExt;
    let Some(program) = cmd.argv.first() else {
        return Err(Error::invalid("run: the command is empty"));
    };
    if let Some((i, Arg::Secret(s))) = cmd
        .argv
        .iter()
        .enumerate()
        .find(|(_, a)| matches!(a, Arg::Secret(_)))
    {
        return Err(secret_in_argv(cmd, i, s));
    }
    let mut files = SecretFiles::default();
    let mut c = StdCommand::new(for_child(program, &mut files)?);
    for a in &cmd.argv[1..] {
        c.arg(for_child(a, &mut files)?);
    }
    if let Some(d) = &cmd.cwd {
        // A missing folder fails the spawn as a missing program would (ENOENT): named first.
        if !d.is_dir() {
            let (what, kind) = if d.exists() {
                ("is not a folder", crate::error::Kind::Invalid)
            } else {
                ("does not exist", crate::error::Kind::NotFound)
            };
            return Err(Error::new(
                kind,
                format!(
                    "cannot start {}: its folder (cwd) {} {what}",
                    shell_quote(&program.shown()),
                    d.display()
                ),
            ));
        }
        c.current_dir(d);
    }
    // A child gets no secret from labsh's environment; a binding passes one on purpose in
    // `cmd.env`.
    for k in super::secret::child_env_removals() {
        c.env_remove(k);
    }
    for (k, v) in &cmd.env {
        c.env(k, for_child(v, &mut files)?);
    }
    c.process_group(0);
    if cmd.private {
        private_umask(&mut c);
    }
    Ok((c, program, files))
}

/// Adds 077 to the umask the child starts with (what it makes is its user's alone).
#[allow(unsafe_code)]
fn private_umask(c: &mut StdCommand) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec; umask(2) is
    // async-signal-safe, allocates nothing and touches no memory.
    unsafe {
        c.pre_exec(|| {
            let old = libc::umask(0o077);
            libc::umask(old | 0o077);
            Ok(())
        });
    }
}

/// Why `program` did not start.
fn spawn_error(program: &Arg, e: std::io::Error) -> Error {
    let name = shell_quote(&program.shown());
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::not_found(format!(
            "cannot start {name}: {e}: not found on PATH (install it, or give its full path)"
        ))
    } else {
        Error::failed(format!("cannot start {name}: {e}"))
    }
}

/// Asks the process `pid` (one labsh started and recorded) to stop, with SIGTERM. A PID that is
/// not a positive number is refused, so that a damaged PID file never signals a whole group.
/// A process that is already gone is not an error.
#[allow(unsafe_code)]
pub fn terminate(pid: &str) -> Result<(), Error> {
    let n: i32 = pid
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid(format!("'{pid}' is not a process id")))?;
    // SAFETY: kill(2) on a positive pid signals that one process; no memory is involved.
    let rc = unsafe { libc::kill(n, libc::SIGTERM) };
    if rc != 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH) {
        return Err(Error::failed(format!(
            "cannot stop process {n}: {}",
            std::io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// Runs `cmd` to completion. Errors: the program cannot start, the timeout expires, `cancel` is
/// set, or its output goes past its limit (see the module's documentation); when the program is
/// stopped, its whole process group is (SIGTERM, then SIGKILL after 2 s, or at once after
/// [`kill_children_at_once`]).
pub fn exec(cmd: &Command, cancel: &AtomicBool, printer: &Arc<Printer>) -> Result<Output, Error> {
    exec_in(cmd, cancel, printer, &crate::paths::output_dir())
}

/// [`exec`], an output past its limit kept in `out_dir`.
fn exec_in(
    cmd: &Command,
    cancel: &AtomicBool,
    printer: &Arc<Printer>,
    out_dir: &Path,
) -> Result<Output, Error> {
    // The secret files live until this returns: after the child and its group are gone.
    let (mut c, program, _files) = std_command(cmd)?;
    let mut child = start(cmd, &mut c, program)?;
    let pid = child.id();
    // Set by a capture whose file is full or cannot be written: the program is stopped.
    let full = Arc::new(AtomicBool::new(false));
    let capture = |stream| {
        Arc::new(Mutex::new(Capture {
            stream,
            limit: cmd.max_output.unwrap_or(MAX_OUTPUT),
            buf: Vec::new(),
            spill: None,
            stop: full.clone(),
            dir: out_dir.to_path_buf(),
            program: cmd.program_name(),
            pid,
        }))
    };
    let out = capture(Stream::Stdout);
    let err = capture(Stream::Stderr);
    let prefix = cmd.stream.clone();
    let mut pumps = Vec::new();
    if let Some(o) = child.stdout.take() {
        pumps.push(pump(
            o,
            out.clone(),
            prefix.clone(),
            printer.clone(),
            cmd.on_line.clone(),
        ));
    }
    if let Some(e) = child.stderr.take() {
        pumps.push(pump(
            e,
            err.clone(),
            prefix,
            printer.clone(),
            cmd.on_line.clone(),
        ));
    }
    let (status, stopped) = wait_for(&mut child, cmd, cancel, &full)?;
    // Anything the program left running in its group would keep the pipes open.
    kill_group(pid, libc::SIGKILL);
    for p in pumps {
        #[expect(
            clippy::let_underscore_must_use,
            reason = "a pump that panicked lost only the output it was copying"
        )]
        let _ = p.join();
    }
    if let Some(e) = stopped.as_ref().filter(|e| e.is_interrupted()) {
        return Err(e.clone());
    }
    let over: Vec<String> = [&out, &err]
        .iter()
        .filter_map(|c| c.lock().ok()?.overflow(&cmd.display()))
        .collect();
    if !over.is_empty() {
        return Err(Error::failed(over.join("\n")));
    }
    if let Some(why) = stopped {
        return Err(why);
    }
    let take = |c: &Arc<Mutex<Capture>>| {
        c.lock()
            .map(|c| String::from_utf8_lossy(&c.buf).into_owned())
            .unwrap_or_default()
    };
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(Output {
        code,
        stdout: take(&out),
        stderr: take(&err),
    })
}

/// Starts `c` (the program `cmd` names) with its output piped, registered as it starts so that
/// a stop signal never misses it; its input, if it has one, written by a thread of its own.
fn start(cmd: &Command, c: &mut StdCommand, program: &Arg) -> Result<Child, Error> {
    c.stdin(if cmd.stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child: Child = {
        let mut groups = running();
        let child = c.spawn().map_err(|e| spawn_error(program, e))?;
        groups.push(child.id());
        child
    };
    if let (Some(input), Some(mut stdin)) = (&cmd.stdin, child.stdin.take()) {
        let data = input.expose().to_string();
        std::thread::spawn(move || {
            #[expect(
                clippy::let_underscore_must_use,
                reason = "a child that ends without reading all its input closes the pipe: its exit code and output say what happened"
            )]
            let _ = stdin.write_all(data.as_bytes());
        });
    }
    Ok(child)
}

/// Waits for `child` to end, its group stopped (SIGTERM, then SIGKILL after 2 s, or at once
/// after [`kill_children_at_once`]) when `cancel` is set, its timeout passes or a capture is
/// `full`: its exit status, and why it was stopped.
fn wait_for(
    child: &mut Child,
    cmd: &Command,
    cancel: &AtomicBool,
    full: &AtomicBool,
) -> Result<(std::process::ExitStatus, Option<Error>), Error> {
    let pid = child.id();
    let t0 = Instant::now();
    let mut stopped: Option<Error> = None;
    let mut stopping = false;
    let mut term_at: Option<Instant> = None;
    loop {
        // Reaped and unregistered under one lock: a group is signalled only while its leader
        // is there to hold its number.
        let waited = {
            let mut groups = running();
            let w = child.try_wait();
            if !matches!(w, Ok(None)) {
                groups.retain(|p| *p != pid);
            }
            w
        };
        match waited {
            Ok(Some(st)) => return Ok((st, stopped)),
            Ok(None) => {}
            Err(e) => return Err(Error::failed(format!("waiting for {}: {e}", cmd.display()))),
        }
        if stopped.as_ref().is_some_and(Error::is_interrupted) && AT_ONCE.load(Ordering::SeqCst) {
            kill_group(pid, libc::SIGKILL);
        }
        if !stopping {
            if cancel.load(Ordering::SeqCst) {
                stopped = Some(Error::interrupted());
            } else if let Some(t) = cmd.timeout {
                if t0.elapsed() > t {
                    stopped = Some(Error::timed_out(format!(
                        "timed out after {} running {}",
                        super::fmt_ms(t.as_millis()),
                        cmd.display()
                    )));
                }
            }
            if stopped.is_some() || full.load(Ordering::SeqCst) {
                stopping = true;
                kill_group(pid, libc::SIGTERM);
                term_at = Some(Instant::now());
            }
        } else if term_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
            kill_group(pid, libc::SIGKILL);
            term_at = None;
        }
        std::thread::sleep(Duration::from_millis(
            if t0.elapsed() < Duration::from_millis(50) {
                1
            } else {
                10
            },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(c: Command) -> Result<Output, Error> {
        exec(&c, &AtomicBool::new(false), &Arc::new(Printer::plain()))
    }

    #[test]
    fn captures_output_and_code() {
        let o = run(Command::new(["sh", "-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(o.code, 3);
        assert_eq!(o.stdout, "out\n");
        assert_eq!(o.stderr, "err\n");
        assert_eq!(o.tail(5), "err");
    }

    #[test]
    fn times_out_and_kills_the_group() {
        let mut c = Command::new(["sh", "-c", "sleep 30 & sleep 30"]);
        c.timeout = Some(Duration::from_millis(200));
        let t0 = Instant::now();
        let e = run(c).unwrap_err();
        assert!(e.message().contains("timed out"), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_private_command_makes_files_its_users_alone() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("made");
        let line = format!("umask; : > {}", f.display());
        let mut c = Command::new(["sh", "-c", line.as_str()]);
        c.private = true;
        let o = run(c).unwrap();
        assert!(o.stdout.trim_end().ends_with("77"), "{}", o.stdout);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    #[test]
    fn missing_program_is_named() {
        let e = run(Command::new(["/nonexistent/prog"])).unwrap_err();
        assert!(
            e.message().contains("/nonexistent/prog") && e.message().contains("not found"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_cwd_is_named_not_the_program() {
        let mut c = Command::new(["true"]);
        c.cwd = Some("/nonexistent/folder".into());
        let e = run(c).unwrap_err();
        assert!(
            e.message()
                .contains("its folder (cwd) /nonexistent/folder does not exist"),
            "{e}"
        );
        assert!(!e.message().contains("not found on PATH"), "{e}");
    }

    #[test]
    fn stdin_env_and_cwd_are_passed() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Command::new(["sh", "-c", "cat; echo $FOO; pwd"]);
        c.stdin = Some("in\n".into());
        c.env.push(("FOO".into(), "bar".into()));
        c.cwd = Some(dir.path().to_path_buf());
        let o = run(c).unwrap();
        let want = format!(
            "in\nbar\n{}\n",
            dir.path().canonicalize().unwrap().display()
        );
        assert_eq!(o.stdout, want);
    }

    #[test]
    fn display_quotes_and_masks() {
        let c = Command::new(vec![
            Arg::Plain("echo".into()),
            Arg::Plain("a b".into()),
            Arg::Secret(Secret::new("pw", "display-secret-value")),
        ]);
        assert_eq!(c.display(), "echo 'a b' «secret pw»");
    }

    #[test]
    fn a_secret_on_a_command_line_is_refused_saying_how_to_hand_it_over() {
        let c = Command::new(vec![
            Arg::Plain("echo".into()),
            Arg::Secret(Secret::new("argv", "argv-secret-unit-value")),
        ]);
        let e = run(c.clone()).unwrap_err();
        assert!(
            e.message()
                .contains("argument 1 is the secret «secret argv»"),
            "{e}"
        );
        assert!(
            e.message().contains("stdin")
                && e.message().contains("environment")
                && e.message().contains("0600 file"),
            "{e}"
        );
        assert!(!e.message().contains("argv-secret-unit-value"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = spawn_detached(&c, &dir.path().join("log")).unwrap_err();
        assert!(e.to_string().contains("«secret argv»"), "{e}");
    }

    #[test]
    fn a_secret_file_argument_is_a_private_file_while_the_child_runs_and_gone_after() {
        let s = Secret::new("file-arg", "file-arg-secret-unit-value");
        let mut c = Command::new(vec![
            Arg::Plain("sh".into()),
            Arg::Plain("-c".into()),
            Arg::Plain(
                r#"f=${1#file:}; printf '%s %s %s ' "$f" $(stat -c %a "$f" "${f%/*}"); cat "$f""#
                    .into(),
            ),
            Arg::Plain("sh".into()),
            Arg::secret_file("file:", &s),
        ]);
        c.env.push(("IN_ENV".into(), Arg::secret_file("", &s)));
        assert!(
            c.display().ends_with(" sh file:«secret file-arg»"),
            "{}",
            c.display()
        );
        let o = run(c).unwrap();
        let parts: Vec<&str> = o.stdout.splitn(4, ' ').collect();
        assert_eq!(
            parts[1..],
            ["600", "700", "file-arg-secret-unit-value"],
            "{}",
            o.stdout
        );
        assert!(
            !std::path::Path::new(parts[0]).exists(),
            "removed after the child"
        );
        // Also when the child fails.
        let mut c = Command::new(vec![
            Arg::Plain("sh".into()),
            Arg::Plain("-c".into()),
            Arg::Plain("printf %s \"$1\"; exit 3".into()),
            Arg::Plain("sh".into()),
            Arg::secret_file("", &s),
        ]);
        c.timeout = Some(Duration::from_secs(10));
        let o = run(c).unwrap();
        assert_eq!(o.code, 3);
        assert!(!std::path::Path::new(&o.stdout).exists(), "{}", o.stdout);
    }

    fn run_in(c: Command, dir: &Path) -> Result<Output, Error> {
        exec_in(
            &c,
            &AtomicBool::new(false),
            &Arc::new(Printer::plain()),
            dir,
        )
    }

    /// The one file the output went to in `dir`, and its text.
    fn the_file(dir: &Path) -> (PathBuf, String) {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let text = std::fs::read_to_string(&files[0]).unwrap();
        (files[0].clone(), text)
    }

    #[test]
    fn an_endless_output_is_stopped_and_named_with_its_limit_and_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("output");
        let mut c = Command::new(["yes"]);
        c.max_output = Some(64 << 10);
        let t0 = Instant::now();
        let e = run_in(c, &out).unwrap_err().to_string();
        assert!(t0.elapsed() < Duration::from_secs(20));
        let (file, text) = the_file(&out);
        assert!(
            e.starts_with("yes wrote more than 64 KiB to its stdout")
                && e.contains("it was stopped after 512 KiB")
                && e.contains(&file.display().to_string())
                && e.contains("#{max_output: \"16M\"}"),
            "{e}"
        );
        assert_eq!(text.len(), 512 << 10);
        assert!(text.lines().all(|l| l == "y"));
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&out), 0o700);
    }

    #[test]
    fn an_output_past_its_limit_is_kept_whole_in_the_file_secrets_masked() {
        let dir = tempfile::tempdir().unwrap();
        Secret::new("spilled", "spilled-secret-value");
        let mut c = Command::new([
            "sh",
            "-c",
            "i=0; while [ $i -lt 3000 ]; do echo \"line $i spilled-secret-value\"; i=$((i+1)); done; \
             echo done >&2",
        ]);
        c.max_output = Some(16 << 10);
        let e = run_in(c, dir.path()).unwrap_err().to_string();
        let (file, text) = the_file(dir.path());
        assert!(
            e.contains("wrote more than 16 KiB to its stdout")
                && e.contains(&format!("its whole stdout is in {}", file.display())),
            "{e}"
        );
        let want: String = (0..3000)
            .map(|i| format!("line {i} «secret spilled»\n"))
            .collect();
        assert_eq!(text, want);
        // stderr stayed within its limit: nothing of it is in a file.
        assert!(!e.contains("stderr"), "{e}");
    }

    #[test]
    fn an_output_within_its_limit_makes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Command::new(["head", "-c", "4096", "/dev/zero"]);
        c.max_output = Some(4096);
        let o = run_in(c, dir.path()).unwrap();
        assert_eq!(o.stdout.len(), 4096);
        assert!(!dir.path().exists() || std::fs::read_dir(dir.path()).unwrap().count() == 0);
    }

    #[test]
    fn a_line_without_end_is_streamed_in_pieces() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let mut c = Command::new([
            "sh",
            "-c",
            "head -c 2500000 /dev/zero | tr '\\0' x; echo; echo end",
        ]);
        c.on_line = Some(Arc::new(move |l: &str| {
            if let Ok(mut v) = seen.lock() {
                v.push(l.len());
            }
        }));
        let o = run(c).unwrap();
        assert_eq!(o.stdout.len(), 2500000 + 5);
        let got = lines.lock().unwrap().clone();
        assert_eq!(got, [MAX_LINE, MAX_LINE, 2500000 - 2 * MAX_LINE, 3]);
    }
}
