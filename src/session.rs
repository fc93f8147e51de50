//! What every binding reaches: the run's [`Session`] (the effects seam, secrets, options), read
//! from the engine's default tag, and the crate's [`Error`] a native function raises at its call's
//! position ([`rt_err`]), read back from what an evaluation ended with ([`error_of`]).
//! Bindings depend on this and on the effects seam; the engine that registers them does not know
//! them.

use crate::effects::secret::SecretsFile;
use crate::effects::Effects;
use crate::error::{At, Error};
use rhai::{Dynamic, EvalAltResult, NativeCallContext, Position};
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
    /// The exit code the script asked for with `exit(N)`.
    exit_code: Mutex<Option<u8>>,
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
            exit_code: Mutex::new(None),
        }
    }

    /// Records the exit code the script asked for with `exit(N)`.
    pub fn ask_exit(&self, code: u8) {
        *self.exit_code.lock().unwrap_or_else(|p| p.into_inner()) = Some(code);
    }

    /// The exit code the script asked for with `exit(N)`, if it called it.
    pub fn asked_exit(&self) -> Option<u8> {
        *self.exit_code.lock().unwrap_or_else(|p| p.into_inner())
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

/// The error `e` raised at the position of the native call, so the user sees file:line:col (an
/// error that has no place yet is given the call's). A string is an error of kind
/// [`Kind::Failed`]. The script's `catch` gets the [`Error`] itself; an interrupt ends the script,
/// uncaught.
pub fn rt_err(ctx: &NativeCallContext, e: impl Into<Error>) -> Box<EvalAltResult> {
    raise(e.into(), ctx.call_source(), ctx.call_position())
}

/// The error `e` as Rhai raises it at `pos` of `source`: a runtime error whose value is the
/// [`Error`], or the end of the script when it is an interrupt.
pub fn raise(e: Error, source: Option<&str>, pos: Position) -> Box<EvalAltResult> {
    let e = match (e.at(), pos.line()) {
        (None, Some(line)) => e.with_at(At::Script {
            source: source.map(str::to_string),
            line,
            column: pos.position().unwrap_or(0),
        }),
        _ => e,
    };
    Box::new(if e.is_interrupted() {
        EvalAltResult::ErrorTerminated(Dynamic::from(e), pos)
    } else {
        EvalAltResult::ErrorRuntime(Dynamic::from(e), pos)
    })
}

/// Runs a binding's client code with the session's effects; its error becomes a runtime error
/// at the call's position (a stop asked for with Ctrl-C ends the script as an interrupt).
pub fn with_effects<T, E: Into<Error>>(
    ctx: &NativeCallContext,
    f: impl FnOnce(&Effects) -> Result<T, E>,
) -> Res<T> {
    let s = session(ctx)?;
    f(&s.effects).map_err(|e| rt_err(ctx, e))
}

/// The end of a script stopped with Ctrl-C (or SIGTERM), at the call's position.
pub fn interrupted(ctx: &NativeCallContext) -> Box<EvalAltResult> {
    rt_err(ctx, Error::interrupted())
}

/// The crate's error an evaluation ended with, where it is one (a binding's, a script's `fail`,
/// one a script caught and threw again), through the calls and modules it passed.
pub fn error_of(e: &EvalAltResult) -> Option<Error> {
    match e {
        EvalAltResult::ErrorRuntime(d, _) | EvalAltResult::ErrorTerminated(d, _) => {
            d.clone().try_cast::<Error>()
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _)
        | EvalAltResult::ErrorInModule(_, inner, _) => error_of(inner),
        _ => None,
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
pub fn map_of<T: serde::Serialize>(value: &T) -> Result<rhai::Map, Error> {
    let d = rhai::serde::to_dynamic(value).map_err(|e| Error::failed(e.to_string()))?;
    let t = d.type_name();
    d.try_cast::<rhai::Map>()
        .ok_or_else(|| Error::failed(format!("internal error: a record became {t}, not a map")))
}

/// [`to_dynamic`] of a list of records, as an array.
pub fn to_array<T: serde::Serialize>(ctx: &NativeCallContext, rows: &[T]) -> Res<rhai::Array> {
    rows.iter().map(|r| to_dynamic(ctx, r)).collect()
}

/// Whether an error is (or wraps) the stop asked for with Ctrl-C or a signal.
pub fn is_interrupt(e: &EvalAltResult) -> bool {
    error_of(e).is_some_and(|e| e.is_interrupted())
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
        let stop = super::raise(
            crate::error::Error::interrupted(),
            None,
            Position::new(1, 1),
        );
        assert!(matches!(*stop, EvalAltResult::ErrorTerminated(..)));
        assert!(super::is_interrupt(&stop) && !super::is_exit(&stop));
        let fail = EvalAltResult::ErrorRuntime(Dynamic::from("boom"), Position::NONE);
        assert!(!super::is_exit(&fail) && !super::is_interrupt(&fail));
        // The word is not the kind: a message that says "interrupted" is no stop.
        let word = EvalAltResult::ErrorRuntime(Dynamic::from("interrupted"), Position::NONE);
        assert!(!super::is_interrupt(&word));
        let budget =
            EvalAltResult::ErrorTerminated(Dynamic::from("more than 9 operations"), Position::NONE);
        assert!(!super::is_interrupt(&budget));
    }

    #[test]
    fn a_raised_error_keeps_its_kind_and_advice_and_gets_the_calls_place() {
        use crate::error::{At, Error, Kind};
        use rhai::{EvalAltResult, Position};
        let e = Error::not_found("no flavor x").with_advice("create it");
        let raised = super::raise(e, Some("lab.rhai"), Position::new(4, 9));
        assert!(matches!(*raised, EvalAltResult::ErrorRuntime(..)));
        let wrapped =
            EvalAltResult::ErrorInFunctionCall("f".into(), String::new(), raised, Position::NONE);
        let got = super::error_of(&wrapped).expect("the crate's error");
        assert_eq!(got.kind(), Kind::NotFound);
        assert_eq!(got.advice(), Some("create it"));
        assert_eq!(
            got.at(),
            Some(&At::Script {
                source: Some("lab.rhai".into()),
                line: 4,
                column: 9
            })
        );
        // An error that names its place in the input keeps it.
        let input = Error::invalid("v.rhai: bad").in_input(Some("v.rhai"), None);
        let got = super::error_of(&super::raise(input, None, Position::new(1, 1)));
        assert!(got.is_some_and(|e| e.at_input()));
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
