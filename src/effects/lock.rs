//! One run per lab state at a time. A run that changes things holds `STATE/lock` (an advisory
//! lock the kernel drops when the process ends or dies, however it dies); a second one fails at
//! once saying which process holds it, or waits for it with `--wait`. The REPL and `-e` take it
//! at their first change and give it back after the line. The lock file is 0600 in a private
//! state folder, and never opened through a symbolic link.

use crate::error::{Context, Error};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The lock this process holds, and on which folder. Process-wide: the kernel's advisory lock is
/// the process's (a second open of the file in the same process would not share it), and a
/// signal's end of the run gives it back.
static HELD: Mutex<Option<(PathBuf, File)>> = Mutex::new(None);

/// The lock file of a state folder.
pub fn path_in(state: &Path) -> PathBuf {
    state.join("lock")
}

/// The holder's line, as it wrote it just after taking the lock; `None` while it is not written
/// yet, or when the process it names has ended (the lock is then free a moment later).
#[expect(
    clippy::let_underscore_must_use,
    reason = "a holder's line that cannot be read is one not written yet: None"
)]
fn holder(file: &mut File) -> Option<String> {
    let mut s = String::new();
    let _ = file.rewind();
    // One line, however large the file has become.
    let _ = Read::by_ref(file).take(64 << 10).read_to_string(&mut s);
    let line = s.strip_suffix('\n')?;
    let pid = line.split_whitespace().nth(2)?;
    Path::new("/proc")
        .join(pid)
        .exists()
        .then(|| line.to_string())
}

fn describe_self() -> String {
    let args: Vec<String> = std::env::args()
        .map(|a| super::process::shell_quote(&a))
        .collect();
    format!(
        "labsh pid {} ({}), since {}",
        std::process::id(),
        super::secret::redact(&args.join(" ")),
        super::time::rfc3339(super::time::now_ms())
    )
}

/// Takes the lock on `state` for this process, if it does not hold it already. When another
/// process holds it: an error naming that process, or with `wait`, a message and a wait that
/// Ctrl-C ends.
pub fn acquire(
    state: &Path,
    wait: bool,
    cancel: &AtomicBool,
    waiting: &dyn Fn(&str),
) -> Result<(), Error> {
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    if held.as_ref().is_some_and(|(p, _)| p == state) {
        return Ok(());
    }
    let path = path_in(state);
    // The state folder made private, the lock 0600, and a link planted at its path refused:
    // the holder's line is written into it.
    let mut file = crate::paths::open_private(
        &path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false),
    )?;
    let mut told = false;
    let mut unnamed = 0;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                if cancel.load(Ordering::SeqCst) {
                    return Err(Error::interrupted());
                }
                let Some(holder) = holder(&mut file) else {
                    // Just taken, or its holder just ended: look again in a moment.
                    unnamed += 1;
                    if unnamed > 200 && !wait {
                        return Err(Error::conflict(format!(
                            "the lab's state in {} is in use by another labsh process; wait for \
                             that run to end, or pass --wait to wait for it",
                            state.display()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                if !wait {
                    return Err(Error::conflict(format!(
                        "the lab's state in {} is in use by {holder}; wait for that run to end, \
                         or pass --wait to wait for it",
                        state.display()
                    )));
                }
                if !told {
                    waiting(&format!(
                        "waiting for the lab's state in {}, in use by {holder} (Ctrl-C to stop)",
                        state.display()
                    ));
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(
                    format_args!("cannot lock {}", path.display()),
                    &e,
                ));
            }
        }
    }
    // The holder's name, for the run that finds the lock taken; not written, the lock is given
    // back (the file closes) and the run stops saying why.
    write_holder(&mut file, &describe_self())
        .with_context(|| format!("cannot write {}", path.display()))?;
    *held = Some((state.to_path_buf(), file));
    Ok(())
}

fn write_holder(file: &mut File, me: &str) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(format!("{me}\n").as_bytes())?;
    file.flush()
}

/// Gives the lock back (the REPL, after each line).
pub fn release() {
    let mut held = HELD.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, f)) = held.take() {
        #[expect(
            clippy::let_underscore_must_use,
            reason = "giving the lock back: the holder's line is read only while the lock is held, and the lock goes with the file, closed just after"
        )]
        let _ = f.set_len(0);
        #[expect(
            clippy::let_underscore_must_use,
            reason = "the lock goes with the file, closed just after"
        )]
        let _ = f.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let cancel = AtomicBool::new(false);
        acquire(dir.path(), false, &cancel, &|_| {}).unwrap();
        // Taken again by its holder: a no-op.
        acquire(dir.path(), false, &cancel, &|_| {}).unwrap();
        // Another open file description stands for another process.
        let other = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path_in(dir.path()))
            .unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        let text = std::fs::read_to_string(path_in(dir.path())).unwrap();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        release();
        assert!(other.try_lock().is_ok());
    }
}
