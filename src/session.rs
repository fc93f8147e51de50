//! What every binding reaches: the run's [`Session`] (the effects seam, secrets, options), read
//! from the engine's default tag, and the errors a native function raises at its call's position.
//! Bindings depend on this and on the effects seam; the engine that registers them does not know
//! them.

use crate::effects::secret::SecretsFile;
use crate::effects::Effects;
use rhai::{Dynamic, EvalAltResult, NativeCallContext};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Whether a `--set` KEY sets a profile key (a dotted path such as
/// `overcloud.networks.tenant.vlan`, which profile::load lays on the profile) rather than a
/// script parameter (`param("name", ..)`: a name, never with a '.').
pub fn is_profile_key(key: &str) -> bool {
    key.contains('.')
}

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
    /// The binary's subcommands (`run`, `status`, ...), for a script that tells the user what
    /// to run next.
    pub commands: Vec<String>,
    /// `--snapshot-after STAGE` (repeatable).
    pub snapshot_after: Vec<String>,
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
    /// What the script said to do next (`what_next`), shown after the recap of a run that
    /// ends well.
    next: Mutex<Vec<String>>,
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
            next: Mutex::new(Vec::new()),
        }
    }

    /// Sets what to do next, shown after the recap of a run that ends well.
    pub fn set_next(&self, lines: Vec<String>) {
        *self.next.lock().unwrap_or_else(|p| p.into_inner()) = lines;
    }

    /// What the script said to do next (`what_next`).
    pub fn next(&self) -> Vec<String> {
        self.next.lock().unwrap_or_else(|p| p.into_inner()).clone()
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

/// What a binding returns: its value, or the error Rhai raises.
pub type Res<T> = Result<T, Box<EvalAltResult>>;

/// The session of the running script.
pub fn session(ctx: &NativeCallContext) -> Res<Arc<Session>> {
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
/// [`user_error`]).
pub fn user_err(ctx: &NativeCallContext, msg: impl Into<String>) -> Box<EvalAltResult> {
    let msg = msg.into();
    user_error(&msg, None);
    rt_err(ctx, msg)
}

/// Runs a binding's client code with the session's effects; its error becomes a runtime error
/// at the call's position (a stop asked for with Ctrl-C ends the script as an interrupt).
pub fn with_effects<T, E: ClientError>(
    ctx: &NativeCallContext,
    f: impl FnOnce(&Effects) -> Result<T, E>,
) -> Res<T> {
    let s = session(ctx)?;
    f(&s.effects).map_err(|e| e.into_rhai(ctx))
}

/// The end of a script stopped with Ctrl-C (or SIGTERM), at the call's position.
pub fn interrupted(ctx: &NativeCallContext) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from("interrupted"),
        ctx.call_position(),
    ))
}

/// An error of a binding's client code, as the script sees it.
pub trait ClientError {
    fn into_rhai(self, ctx: &NativeCallContext) -> Box<EvalAltResult>;
}

impl ClientError for String {
    fn into_rhai(self, ctx: &NativeCallContext) -> Box<EvalAltResult> {
        rt_err(ctx, self)
    }
}

impl ClientError for crate::effects::Error {
    fn into_rhai(self, ctx: &NativeCallContext) -> Box<EvalAltResult> {
        match self {
            crate::effects::Error::Interrupted => interrupted(ctx),
            e => rt_err(ctx, e.to_string()),
        }
    }
}

/// A client's record as the Rhai value scripts see: a struct becomes a map of its fields (by
/// their serde names), `Option::None` becomes `()`, integers become Rhai ints (a `u64` past
/// `i64::MAX` would become a float), sequences arrays.
pub fn to_dynamic<T: serde::Serialize>(ctx: &NativeCallContext, value: &T) -> Res<Dynamic> {
    rhai::serde::to_dynamic(value).map_err(|e| rt_err(ctx, e.to_string()))
}

/// [`to_dynamic`] of a struct, as a map.
pub fn to_map<T: serde::Serialize>(ctx: &NativeCallContext, value: &T) -> Res<rhai::Map> {
    map_of(value).map_err(|e| rt_err(ctx, e))
}

/// [`to_map`] where there is no call to place an error at.
pub fn map_of<T: serde::Serialize>(value: &T) -> Result<rhai::Map, String> {
    let d = rhai::serde::to_dynamic(value).map_err(|e| e.to_string())?;
    let t = d.type_name();
    d.try_cast::<rhai::Map>()
        .ok_or_else(|| format!("internal error: a record became {t}, not a map"))
}

/// [`to_dynamic`] of a list of records, as an array.
pub fn to_array<T: serde::Serialize>(ctx: &NativeCallContext, rows: &[T]) -> Res<rhai::Array> {
    rows.iter().map(|r| to_dynamic(ctx, r)).collect()
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

/// Whether an error is (or wraps) the end a script asked for with `exit(..)`: not a failure.
pub fn is_exit(e: &EvalAltResult) -> bool {
    match e {
        EvalAltResult::Exit(..) => true,
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => is_exit(inner),
        _ => false,
    }
}

/// Mistakes in what the user gave (a profile, a target, a flag's value) that name their own file
/// and key and say what to do, by message: shown as they are, without the stdlib's frames, and
/// with their advice instead of the generic "continue from" line. Raised with `fail(message)`;
/// the error value stays the message, so a script's `catch` sees text.
static USER_ERRORS: std::sync::Mutex<Vec<(String, Option<String>)>> =
    std::sync::Mutex::new(Vec::new());

/// Marks `message` as a user's mistake, with what to do about it.
pub fn user_error(message: &str, advice: Option<&str>) {
    if let Ok(mut g) = USER_ERRORS.lock() {
        if !g.iter().any(|(m, _)| m == message) {
            g.push((message.to_string(), advice.map(str::to_string)));
        }
    }
}

/// The advice of the first user's mistake whose message `text` holds (a failure reported
/// inside a longer one, such as one of several domains).
pub fn advice_within(text: &str) -> Option<String> {
    USER_ERRORS
        .lock()
        .ok()?
        .iter()
        .find(|(m, a)| a.is_some() && text.contains(m.as_str()))
        .and_then(|(_, a)| a.clone())
}

/// The advice of a user's mistake with this message (`Some(None)` when it has none).
pub fn user_advice(message: &str) -> Option<Option<String>> {
    USER_ERRORS
        .lock()
        .ok()?
        .iter()
        .find(|(m, _)| m == message)
        .map(|(_, a)| a.clone())
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct Row {
        small: u16,
        count: u32,
        big: u64,
        code: i32,
        user: Option<String>,
        port: Option<u16>,
        tail: Vec<String>,
        on: bool,
    }

    #[test]
    fn exit_is_told_from_failures_and_stops() {
        use rhai::{Dynamic, EvalAltResult, Position};
        let exit = EvalAltResult::Exit(Dynamic::from_int(7), Position::NONE);
        let wrapped = EvalAltResult::ErrorInFunctionCall(
            "f".into(),
            String::new(),
            Box::new(EvalAltResult::Exit(Dynamic::from_int(7), Position::NONE)),
            Position::NONE,
        );
        assert!(super::is_exit(&exit) && super::is_exit(&wrapped));
        assert!(!super::is_interrupt(&wrapped));
        let stop = EvalAltResult::ErrorTerminated(Dynamic::from("interrupted"), Position::NONE);
        assert!(super::is_interrupt(&stop) && !super::is_exit(&stop));
        let fail = EvalAltResult::ErrorRuntime(Dynamic::from("boom"), Position::NONE);
        assert!(!super::is_exit(&fail) && !super::is_interrupt(&fail));
    }

    #[test]
    fn a_record_becomes_a_map_of_rhai_ints_strings_units_and_arrays() {
        let r = Row {
            small: 22,
            count: 32,
            big: 167_676_348,
            code: -1,
            user: None,
            port: Some(2222),
            tail: vec!["a".into()],
            on: true,
        };
        let m = rhai::serde::to_dynamic(&r)
            .expect("serializes")
            .try_cast::<rhai::Map>()
            .expect("a map");
        for (k, v) in [
            ("small", 22),
            ("count", 32),
            ("big", 167_676_348),
            ("code", -1),
        ] {
            assert_eq!(m[k].as_int(), Ok(v), "{k}");
        }
        assert!(m["user"].is_unit());
        assert_eq!(m["port"].as_int(), Ok(2222));
        assert_eq!(m["tail"].clone().into_array().map(|a| a.len()), Ok(1));
        assert_eq!(m["on"].as_bool(), Ok(true));
        assert_eq!(m.len(), 8);
    }
}
