//! Running out of memory ends labsh with a message and exit code 1, never an abort with a
//! backtrace: every allocation goes through [`Guarded`], which stops the process cleanly when the
//! system allocator has nothing left. The script's own values are bounded first (see
//! `engine::MAX_STRING_SIZE` and its neighbours); this is what is left when many such values
//! outgrow the machine.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::OnceLock;

/// The script running, named in the message.
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
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            out_of_memory(layout);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() {
            out_of_memory(layout);
        }
        p
    }
}
