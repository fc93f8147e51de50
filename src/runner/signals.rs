//! The signals that stop labsh: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2.
//!
//! The first one sets the stop flag: the script stops at its next step, the process group of each
//! running command gets SIGTERM (and SIGKILL 2 s later), and the run ends as any run does, on its
//! main thread: the error, the recap, the journal's last events, the lock given back, and the exit
//! code 128 + the signal's number. A second one (Ctrl-C twice) kills the children's process groups
//! at once, and the run still ends so. A run that has not ended 10 s after the first signal (a call
//! that does not return), or 3 s after the second, is ended from here: its children killed, its
//! recap and last event written by [`on_forced_end`]'s closure, and the process exits.
//!
//! In the REPL ([`set_interactive`]) Ctrl-C stops the line being run, and a second one kills its
//! children at once; the other signals end the REPL as they end a run. A SIGHUP that was ignored
//! when labsh started (`nohup`) stays ignored.

use crate::effects::process;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The signals that stop a run.
pub const STOP_SIGNALS: [i32; 6] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

/// How long a run has after the first signal to end by itself.
const GRACE: Duration = Duration::from_secs(10);

/// How long it has after the second (its children are killed already).
const GRACE_AT_ONCE: Duration = Duration::from_secs(3);

/// Exit code of a run stopped by Ctrl-C in the REPL's way (no signal recorded).
const INTERRUPTED: u8 = 130;

// The signal state is process-wide by nature: a signal is sent to the process.

/// The stop flag the signal handler sets, given to each session's effects.
static CANCEL: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The first signal that stops the process, 0 before any.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The REPL runs: Ctrl-C stops the line, not labsh.
static INTERACTIVE: AtomicBool = AtomicBool::new(false);

/// How the process ends after a signal: by its main thread, or from here when that thread does
/// not end the run in time.
struct Ending {
    /// A run (or the REPL) is on: a signal waits for it to end. Before one is (`labsh check`,
    /// `labsh doc`), the process exits at once.
    on: bool,
    /// The run's end (recap, journal, lock) was written.
    done: bool,
    /// Writes the run's end when its main thread did not.
    force: Option<Box<dyn FnOnce() + Send>>,
}

static ENDING: Mutex<Ending> = Mutex::new(Ending {
    on: false,
    done: false,
    force: None,
});
static ENDED: Condvar = Condvar::new();

fn ending() -> MutexGuard<'static, Ending> {
    ENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide stop flag, with the signals' handler installed at the first call. Running
/// scripts stop at their next step and running commands (their whole process groups) are
/// stopped once it is set.
pub fn cancel_flag() -> Arc<AtomicBool> {
    CANCEL
        .get_or_init(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let wanted: Vec<i32> = STOP_SIGNALS
                .into_iter()
                .filter(|s| *s != SIGHUP || !ignored_at_start(SIGHUP))
                .collect();
            match signal_hook::iterator::Signals::new(&wanted) {
                Ok(mut signals) => {
                    let f = flag.clone();
                    std::thread::spawn(move || {
                        for sig in signals.forever() {
                            handle(sig, &f);
                        }
                    });
                }
                Err(e) => tracing::warn!("cannot handle the stop signals: {e}"),
            }
            flag
        })
        .clone()
}

/// Whether `sig` was ignored when labsh started (`nohup` ignores SIGHUP for the command it
/// starts).
#[allow(unsafe_code)]
fn ignored_at_start(sig: i32) -> bool {
    // SAFETY: sigaction(2) with a null new action only reads the signal's current action into
    // `old`, a zeroed struct owned here.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

fn handle(sig: i32, cancel: &AtomicBool) {
    if sig == SIGINT && INTERACTIVE.load(Ordering::SeqCst) && SIGNAL.load(Ordering::SeqCst) == 0 {
        // The REPL: Ctrl-C stops the line; a second one while it stops kills its children.
        if cancel.load(Ordering::SeqCst) {
            process::kill_children_at_once();
        } else {
            process::stop_gently();
            cancel.store(true, Ordering::SeqCst);
        }
        return;
    }
    match SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            process::stop_gently();
            cancel.store(true, Ordering::SeqCst);
            std::thread::spawn(|| end_within(GRACE));
        }
        Err(_) => {
            cancel.store(true, Ordering::SeqCst);
            let n = process::kill_children_at_once();
            if n > 0 {
                eprintln!(
                    "\n{} again: killing the running commands at once",
                    signal_name(sig)
                );
            }
            std::thread::spawn(|| end_within(GRACE_AT_ONCE));
        }
    }
}

/// Waits up to `grace` for the run to end; then ends it from here and exits.
fn end_within(grace: Duration) {
    let deadline = Instant::now() + grace;
    let mut g = ending();
    loop {
        if g.done {
            // The main thread ended the run: it exits with its code.
            return;
        }
        // Nothing to wait for: no run, or the REPL with no command left running.
        if !g.on
            || (INTERACTIVE.load(Ordering::SeqCst) && process::running_children() == 0)
            || Instant::now() >= deadline
        {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        g = match ENDED.wait_timeout(g, left.min(Duration::from_millis(20))) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
    }
    process::kill_children_at_once();
    if let Some(force) = g.force.take() {
        force();
    }
    g.done = true;
    std::process::exit(i32::from(stopped_code()));
}

/// Marks the REPL: Ctrl-C stops its line, not labsh.
pub fn set_interactive(on: bool) {
    INTERACTIVE.store(on, Ordering::SeqCst);
}

/// Sets what ends the run when its main thread does not end it in time after a signal (its
/// recap, its journal's last event, its lock). From now on, a signal waits for the run's end.
pub fn on_forced_end(force: impl FnOnce() + Send + 'static) {
    let mut g = ending();
    g.on = true;
    g.force = Some(Box::new(force));
}

/// Held by the main thread while it writes the run's end; the signals wait for it to be dropped.
pub struct Ended(MutexGuard<'static, Ending>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.done = true;
        ENDED.notify_all();
    }
}

/// The main thread's turn to end the run: returns once nothing else is ending it. When a signal
/// already ended it (the run did not stop in time), it never returns: the process is exiting.
pub fn end_of_run() -> Ended {
    let g = ending();
    if g.done {
        drop(g);
        loop {
            std::thread::park();
        }
    }
    Ended(g)
}

/// The signal that stopped the run, if one did.
pub fn stop_signal() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// 128 + the number of the signal that stopped the run (130 for a stop with no signal: the
/// REPL's Ctrl-C).
pub fn stopped_code() -> u8 {
    stop_signal()
        .and_then(|s| u8::try_from(128 + s).ok())
        .unwrap_or(INTERRUPTED)
}

/// How a stopped run ended, as its journal and `labsh journal` say it: `interrupted` (Ctrl-C)
/// or `terminated` (any other signal).
pub fn stopped_status() -> &'static str {
    match stop_signal() {
        None | Some(SIGINT) => "interrupted",
        Some(_) => "terminated",
    }
}

/// What the error line says of a stopped run: `interrupted`, `terminated`, or `terminated by
/// SIGHUP` for the signals not named by the status alone.
pub fn stopped_message() -> String {
    match stop_signal() {
        None | Some(SIGINT) | Some(SIGTERM) => stopped_status().to_string(),
        Some(s) => format!("terminated by {}", signal_name(s)),
    }
}

/// `SIGHUP`, `SIGUSR1`, ...
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGTERM => "SIGTERM",
        SIGINT => "SIGINT",
        SIGHUP => "SIGHUP",
        SIGQUIT => "SIGQUIT",
        SIGUSR1 => "SIGUSR1",
        SIGUSR2 => "SIGUSR2",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stop_signal_has_its_name_and_exit_code() {
        for (sig, name, code) in [
            (SIGTERM, "SIGTERM", 143),
            (SIGINT, "SIGINT", 130),
            (SIGHUP, "SIGHUP", 129),
            (SIGQUIT, "SIGQUIT", 131),
            (SIGUSR1, "SIGUSR1", 138),
            (SIGUSR2, "SIGUSR2", 140),
        ] {
            assert_eq!(signal_name(sig), name);
            assert_eq!(u8::try_from(128 + sig).ok(), Some(code), "{name}");
        }
    }
}
