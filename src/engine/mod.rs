//! Builds the Rhai engine: limits, Ctrl-C, print routing, the native modules (registered from the one
//! list in [`crate::modules::all`]), the `Secret` and `Error` types, and the module resolver that
//! serves the stdlib.
//!
//! Every native function reaches the run's [`Session`] (effects seam, secrets, options) through the
//! engine's default tag, read back with [`session`].

pub mod analyze;
pub mod catalog;
pub mod diag;
pub mod errors;
pub mod limits;
pub mod resolver;
pub mod sources;
pub mod value;

use crate::effects::secret::Secret;
use crate::session::{Session, SessionTag};
use rhai::{Dynamic, Engine, Module};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Limits, set explicitly: debug builds of Rhai default to tiny ones. A value that outgrows the
/// size limits (a string doubled without end) is an error at its line, not an abort; they are
/// checked by [`limits`], in time that grows with the values, not with their square.
pub const MAX_CALL_LEVELS: usize = 256;
pub const MAX_EXPR_DEPTH: usize = 256;
pub const MAX_FN_EXPR_DEPTH: usize = 128;
/// Bytes of one string, and of all strings in one value.
pub const MAX_STRING_SIZE: usize = 16 << 20;
/// Items of one array (nested arrays counted in).
pub const MAX_ARRAY_SIZE: usize = 65_536;
/// Entries of one map (nested maps counted in).
pub const MAX_MAP_SIZE: usize = 1 << 20;
/// Short strings Rhai keeps one copy of: none (see `build`).
pub const MAX_STRINGS_INTERNED: usize = 0;
/// Script operations a profile's `overrides()` may take (a whole lab's profile takes a few
/// thousand).
pub const PROFILE_OPS: u64 = 1_000_000;

/// Builds the engine for one session with the native `modules` (namespace, module; the empty
/// namespace is the global one). `script_dir` is searched for modules before the stdlib.
pub fn build(
    session: Arc<Session>,
    modules: Vec<(&'static str, Module)>,
    script_dir: Option<PathBuf>,
) -> Engine {
    let mut engine = Engine::new();
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    engine.set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FN_EXPR_DEPTH);
    // Rhai's interner looks through all it holds for one to drop each time a new short string
    // comes once it is full: with 4096 held, a loop making new keys spent most of its time there,
    // and with Rhai's 256, compiling the stdlib spent a tenth of its time there. Without it, a
    // string is allocated where it would have been shared: the lab's run takes the same time.
    engine.set_max_strings_interned(MAX_STRINGS_INTERNED);
    limits::install(&mut engine);
    engine.set_fail_on_invalid_map_property(true);

    let cancel = session.effects.cancel_flag().clone();
    engine.on_progress(move |ops| {
        if cancel.load(Ordering::Relaxed) {
            return Some(Dynamic::from(crate::error::Error::interrupted()));
        }
        if let Some(m) = limits::heap_over() {
            return Some(Dynamic::from(m));
        }
        crate::effects::over_budget(ops).map(Dynamic::from)
    });

    let printer = session.effects.printer().clone();
    engine.on_print(move |s| printer.out(s));
    let printer = session.effects.printer().clone();
    engine.on_debug(move |s, src, pos| {
        let at = match (src, pos.line()) {
            (Some(src), Some(l)) => format!("[{src}:{l}] "),
            (None, Some(l)) => format!("[{l}] "),
            _ => String::new(),
        };
        printer.out(&format!("{at}{s}"));
    });

    errors::register(&mut engine);
    engine
        .register_type_with_name::<Secret>("Secret")
        .register_fn("to_string", |s: &mut Secret| s.mask())
        .register_fn("to_debug", |s: &mut Secret| s.mask())
        .register_get("name", |s: &mut Secret| s.name().to_string());

    for (name, module) in modules {
        if name.is_empty() {
            engine.register_global_module(module.into());
        } else {
            engine.register_static_module(name, module.into());
        }
    }

    engine.set_module_resolver(resolver::Resolver::new(
        script_dir,
        Some(session.effects.printer().clone()),
    ));
    engine.set_default_tag(Dynamic::from(SessionTag(session)));
    engine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_named_elsewhere_are_these() {
        // The out-of-memory message cannot format them (it allocates nothing).
        let oom = include_str!("../oom.rs");
        let named = format!(
            "{} MiB of text, {} array items and {} map entries",
            MAX_STRING_SIZE >> 20,
            MAX_ARRAY_SIZE,
            MAX_MAP_SIZE
        );
        assert!(oom.contains(&named), "src/oom.rs does not say {named:?}");
        // What run and sh may keep of a program's output is what one string may hold.
        assert_eq!(
            crate::effects::process::MAX_OUTPUT_OPTION,
            MAX_STRING_SIZE as u64
        );
    }
}
