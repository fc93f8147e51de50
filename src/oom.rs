//! Running out of memory ends labsh with a message and exit code 1, never an abort with a
//! backtrace: every allocation goes through [`Guarded`], which stops the process cleanly when the
//! system allocator has nothing left. The script's own values are bounded first (see
//! `engine::limits`); this is what is left when many such values outgrow the machine.
//!
//! [`Guarded`] also counts the bytes the process holds ([`live_bytes`]): the engine measures the
//! script's values when that has grown, instead of after every write. Each thread adds what it
//! allocates and frees into a count of its own and passes it on to the total by 64 KiB, so that
//! counting costs no atomic operation on most allocations.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::OnceLock;

/// Bytes held by the process, as passed on by its threads. Process-wide: the allocator guard's.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// What a thread passes on at a time.
const BATCH: isize = 64 << 10;

thread_local! {
    /// What this thread allocated (less what it freed) and has not passed on yet.
    static PENDING: Cell<isize> = const { Cell::new(0) };
}

#[inline]
fn count(delta: isize) {
    // A thread-local without destructor: never torn down, never allocates.
    let passed = PENDING.try_with(|p| {
        let v = p.get() + delta;
        if v >= BATCH || v <= -BATCH {
            LIVE.fetch_add(v, Ordering::Relaxed);
            p.set(0);
        } else {
            p.set(v);
        }
    });
    if passed.is_err() {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
}

/// The bytes the process's allocations hold, to within 64 KiB a thread.
pub fn live_bytes() -> usize {
    usize::try_from(LIVE.load(Ordering::Relaxed)).unwrap_or(0)
}

/// The script running, named in the message. Process-wide: `labsh run` names it at start, for
/// the allocator guard.
static SCRIPT: OnceLock<String> = OnceLock::new();

/// Names the script for the out-of-memory message.
pub fn set_script(name: &str) {
    #[expect(
        clippy::let_underscore_must_use,
        reason = "set once: the first script named stays named"
    )]
    let _ = SCRIPT.set(name.to_string());
}

fn write_err(s: &str) {
    // SAFETY: write(2) on fd 2 with a valid pointer and length; nothing is allocated.
    unsafe {
        libc::write(2, s.as_ptr().cast(), s.len());
    }
}

#[cold]
fn out_of_memory(layout: Layout) -> ! {
    write_err("error: out of memory");
    if let Some(s) = SCRIPT.get() {
        write_err(" while running ");
        write_err(s);
    }
    let _ = layout;
    write_err(
        ": the script's values outgrew this machine's memory (one value may hold at most \
         16 MiB of text, 65536 array items and 1048576 map entries); nothing more was done\n",
    );
    // The limits named above are the engine's: engine::tests checks they are still these.
    // SAFETY: _exit(2) ends the process at once; no destructor runs (none could allocate).
    unsafe { libc::_exit(1) }
}

/// The system allocator, with a clean end when it fails.
pub struct Guarded;

// SAFETY: every method forwards to `System` with the same arguments; a null result (failure) ends
// the process instead of returning.
unsafe impl GlobalAlloc for Guarded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if p.is_null() {
            out_of_memory(layout);
        }
        count(layout.size() as isize);
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            out_of_memory(layout);
        }
        count(layout.size() as isize);
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() {
            out_of_memory(layout);
        }
        count(new_size as isize - layout.size() as isize);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_process_holds_is_counted() {
        let before = live_bytes();
        let v = vec![1u8; 64 << 20];
        let during = live_bytes();
        // Other tests' threads allocate and free meanwhile: only a large change is certain.
        assert!(during >= before + (32 << 20), "{before} then {during}");
        drop(v);
        assert!(
            live_bytes() + (32 << 20) <= during,
            "{during} then {}",
            live_bytes()
        );
    }
}
