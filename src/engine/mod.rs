//! Builds the Rhai engine: limits, Ctrl-C, print routing, the native modules (registered from the one
//! list in [`crate::modules::all`]), the `Secret` type, and the module resolver that serves the stdlib.
//!
//! Every native function reaches the run's [`Session`] (effects seam, secrets, options) through the
//! engine's default tag, read back with [`session`].

pub mod analyze;
pub mod catalog;
pub mod diag;
pub mod resolver;
pub mod sources;
pub mod value;

use crate::effects::secret::{Secret, SecretsFile};
use crate::effects::Effects;
use rhai::{Dynamic, Engine, EvalAltResult, NativeCallContext};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// What the command line said about this run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    pub script: Option<PathBuf>,
    pub profile: Option<String>,
    pub target: Option<String>,
    /// `--set key=value`, as given.
    pub sets: BTreeMap<String, String>,
    pub only: Vec<String>,
    pub from: Option<String>,
    pub jobs: usize,
    /// A person is at a terminal (the REPL): secrets may be prompted for.
    pub interactive: bool,
    pub yes: bool,
    /// `--graph FILE`.
    pub graph: Option<PathBuf>,
}

/// Everything a run shares with its native functions.
pub struct Session {
    pub effects: Effects,
    pub secrets: SecretsFile,
    pub options: RunOptions,
    from_reached: Mutex<bool>,
    failed_stage: Mutex<Option<String>>,
    /// The stages the script names (its literal `stage(..)` calls), in order.
    stages: Mutex<Vec<String>>,
    /// Secrets this run generated or already reported (by name): each is reported once, and a
    /// plan's unstored value is the one every later use gets.
    secrets_seen: Mutex<std::collections::HashMap<String, Option<String>>>,
}

impl Session {
    pub fn new(effects: Effects, secrets: SecretsFile, options: RunOptions) -> Self {
        let reached = options.from.is_none();
        Session {
            effects,
            secrets,
            options,
            from_reached: Mutex::new(reached),
            failed_stage: Mutex::new(None),
            stages: Mutex::new(Vec::new()),
            secrets_seen: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Whether the stage selection (`--only`, `--from`) runs `name`.
    pub fn stage_selected(&self, name: &str) -> bool {
        let mut reached = self.from_reached.lock().unwrap_or_else(|p| p.into_inner());
        if !*reached && self.options.from.as_deref() == Some(name) {
            *reached = true;
        }
        *reached && (self.options.only.is_empty() || self.options.only.iter().any(|s| s == name))
    }

    pub fn set_failed_stage(&self, name: &str) {
        let mut f = self.failed_stage.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            *f = Some(name.to_string());
        }
    }

    pub fn failed_stage(&self) -> Option<String> {
        self.failed_stage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_stages(&self, stages: Vec<String>) {
        *self.stages.lock().unwrap_or_else(|p| p.into_inner()) = stages;
    }

    pub fn stages(&self) -> Vec<String> {
        self.stages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether secret `name` was seen already in this run, and the value a plan made for it
    /// without storing it.
    pub fn secret_seen(&self, name: &str) -> Option<Option<String>> {
        self.secrets_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    pub fn see_secret(&self, name: &str, unstored: Option<String>) {
        self.secrets_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), unstored);
    }

    pub fn jobs(&self) -> usize {
        self.options.jobs.max(1)
    }
}

/// The engine tag that carries the session.
#[derive(Clone)]
pub struct SessionTag(pub Arc<Session>);

/// The session of the running script.
pub fn session(ctx: &NativeCallContext) -> Result<Arc<Session>, Box<EvalAltResult>> {
    ctx.tag()
        .and_then(|t| t.clone().try_cast::<SessionTag>())
        .map(|t| t.0)
        .ok_or_else(|| rt_err(ctx, "internal error: no labsh session in this engine"))
}

/// A runtime error at the position of the native call, so the user sees file:line:col.
pub fn rt_err(ctx: &NativeCallContext, msg: impl Into<String>) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg.into()),
        ctx.call_position(),
    ))
}

/// A mistake in what the user gave, naming its own file and key: shown without frames (see
/// [`diag::user_error`]).
pub fn user_err(ctx: &NativeCallContext, msg: impl Into<String>) -> Box<EvalAltResult> {
    let msg = msg.into();
    diag::user_error(&msg, None);
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg),
        ctx.call_position(),
    ))
}

/// Runs a binding's client code with the session's effects; its error becomes a runtime error
/// at the call's position.
pub fn with_effects<T>(
    ctx: &NativeCallContext,
    f: impl FnOnce(&Effects) -> Result<T, String>,
) -> Result<T, Box<EvalAltResult>> {
    let s = session(ctx)?;
    f(&s.effects).map_err(|e| rt_err(ctx, e))
}

/// Whether an error is (or wraps) the stop asked for with Ctrl-C.
pub fn is_interrupt(e: &EvalAltResult) -> bool {
    match e {
        EvalAltResult::ErrorTerminated(d, _) => {
            d.clone().into_string().map_or(true, |s| s == "interrupted")
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => is_interrupt(inner),
        EvalAltResult::ErrorRuntime(d, _) => {
            d.clone().into_string().is_ok_and(|s| s == "interrupted")
        }
        _ => false,
    }
}

/// Limits, set explicitly: debug builds of Rhai default to tiny ones. A value that outgrows the
/// size limits (a string doubled without end) is an error at its line, not an abort.
pub const MAX_CALL_LEVELS: usize = 256;
pub const MAX_EXPR_DEPTH: usize = 256;
pub const MAX_FN_EXPR_DEPTH: usize = 128;
/// Bytes of one string, and of all strings in one value.
pub const MAX_STRING_SIZE: usize = 16 << 20;
/// Items of one array (nested arrays counted in). Rhai measures a whole array after each change,
/// so a loop filling one to this size takes time that grows with its square: keep it modest.
pub const MAX_ARRAY_SIZE: usize = 65_536;
/// Entries of one map (nested maps counted in).
pub const MAX_MAP_SIZE: usize = 1 << 20;
/// Script operations a profile's `overrides()` may take (a whole lab's profile takes a few
/// thousand).
pub const PROFILE_OPS: u64 = 1_000_000;

/// Builds the engine for one session. `script_dir` is searched for modules before the stdlib.
pub fn build(session: Arc<Session>, script_dir: Option<PathBuf>) -> Engine {
    let mut engine = Engine::new();
    engine.set_max_call_levels(MAX_CALL_LEVELS);
    engine.set_max_expr_depths(MAX_EXPR_DEPTH, MAX_FN_EXPR_DEPTH);
    engine.set_max_strings_interned(4096);
    engine.set_max_string_size(MAX_STRING_SIZE);
    engine.set_max_array_size(MAX_ARRAY_SIZE);
    engine.set_max_map_size(MAX_MAP_SIZE);

    let cancel = session.effects.cancel_flag().clone();
    engine.on_progress(move |ops| {
        if cancel.load(Ordering::Relaxed) {
            return Some(Dynamic::from("interrupted"));
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

    engine
        .register_type_with_name::<Secret>("Secret")
        .register_fn("to_string", |s: &mut Secret| s.mask())
        .register_fn("to_debug", |s: &mut Secret| s.mask())
        .register_get("name", |s: &mut Secret| s.name().to_string());

    for (name, module) in crate::modules::all() {
        if name.is_empty() {
            engine.register_global_module(module.into());
        } else {
            engine.register_static_module(name, module.into());
        }
    }

    engine.set_module_resolver(resolver::Resolver::new(script_dir));
    engine.set_default_tag(Dynamic::from(SessionTag(session)));
    engine
}
