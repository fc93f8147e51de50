//! Assertions and checks: `assert`, `assert_eq`, `fail` (a mistake in what the user gave, an
//! error of kind "invalid" with its advice), `failed_check` (counted in the recap),
//! `did_you_mean`, and `styled` for the tables checks print.

use crate::engine::value;
use crate::error::{Error, Kind};
use crate::modules::opts::{option_spec, OptField, OptionSpec};
use crate::session::Res;
use crate::session::{rt_err, session};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};

/// The error `fail` raises: of `kind`, naming its own place in the user's input (so shown
/// without the stdlib's frames), with its advice.
fn user_error(
    message: &str,
    advice: Option<&str>,
    kind: Kind,
    file: Option<&str>,
    key: Option<&str>,
) -> Error {
    let e = Error::new(kind, message).in_input(file, key);
    match advice {
        Some(a) => e.with_advice(a),
        None => e,
    }
}

option_spec! {
    /// The map of `fail`.
    pub struct FailOpts {
        /// What is wrong (required).
        message: Option<String>,
        /// What to do about it.
        advice: Option<String>,
        /// The error's kind (default invalid).
        kind: Option<String>,
        /// The file of the user's input it is about.
        file: Option<String>,
        /// The key in that file.
        key: Option<String>,
    }
}

/// The option maps of the assertions.
pub const OPTIONS: &[(&str, &[OptField])] = &[("fail", FailOpts::FIELDS)];

/// `fail`'s map: `message`, and `advice`, `kind`, `file`, `key` when given.
fn user_error_of(spec: Map) -> Result<Error, Error> {
    let o = FailOpts::read("fail", spec)?;
    let message = o
        .message
        .ok_or_else(|| Error::invalid("fail: the map needs a message (#{message: \"...\"})"))?;
    let kind = match o.kind {
        None => Kind::Invalid,
        Some(k) => Kind::from_name(&k).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            Error::invalid(format!(
                "fail: kind {k:?} is none of {}{}",
                names.join(", "),
                crate::util::suggest::hint(&k, names.iter().copied())
            ))
        })?,
    };
    Ok(user_error(
        &message,
        o.advice.as_deref(),
        kind,
        o.file.as_deref(),
        o.key.as_deref(),
    ))
}

fn eq_values(a: &Dynamic, b: &Dynamic) -> bool {
    value::to_json(a) == value::to_json(b) && (a.is_int() == b.is_int())
}

#[export_module]
pub mod assertions_fns {
    /// Fails with "assertion failed" unless `cond` is true.
    ///
    /// ```rhai
    /// assert(1 < 2);
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert(ctx: NativeCallContext, cond: bool) -> Res<()> {
        if cond {
            Ok(())
        } else {
            Err(super::rt_err(&ctx, "assertion failed"))
        }
    }

    /// Fails with `message` unless `cond` is true.
    ///
    /// ```rhai
    /// assert(2 + 2 == 4, "arithmetic");
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert_msg(ctx: NativeCallContext, cond: bool, message: &str) -> Res<()> {
        if cond {
            Ok(())
        } else {
            Err(super::rt_err(&ctx, format!("assertion failed: {message}")))
        }
    }

    /// Fails with the error `message` (one a `catch` got) unless `cond` is true.
    ///
    /// ```rhai
    /// try { fail("p.rhai: vms.ctrl.count: -1 must be 0 or more"); }
    /// catch (e) { assert(e.kind == "invalid", e); }
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert_error(ctx: NativeCallContext, cond: bool, message: Error) -> Res<()> {
        assert_msg(ctx, cond, message.message())
    }

    /// Fails, showing both values, unless `left` equals `right`.
    ///
    /// ```rhai
    /// assert_eq([1, #{a: "b"}], [1, #{a: "b"}]);
    /// ```
    #[rhai_fn(name = "assert_eq", return_raw)]
    pub fn assert_eq(ctx: NativeCallContext, left: Dynamic, right: Dynamic) -> Res<()> {
        assert_eq_msg(ctx, left, right, "left == right")
    }

    /// `assert_eq` with a message.
    ///
    /// ```rhai
    /// assert_eq(1 + 1, 2, "sum");
    /// ```
    #[rhai_fn(name = "assert_eq", return_raw)]
    pub fn assert_eq_msg(
        ctx: NativeCallContext,
        left: Dynamic,
        right: Dynamic,
        message: &str,
    ) -> Res<()> {
        if super::eq_values(&left, &right) {
            return Ok(());
        }
        Err(super::rt_err(
            &ctx,
            format!(
                "assertion failed: {message}\n    left:  {}\n    right: {}",
                super::value::literal(&left),
                super::value::literal(&right)
            ),
        ))
    }

    /// Stops with `message`, a mistake in what the user gave (a profile, a target) that names
    /// its own file and key: an error of kind "invalid", shown as it is, without the stdlib's
    /// frames.
    ///
    /// ```rhai
    /// try { fail("profile.rhai: ocp.workers: -1 must be 0 or more"); }
    /// catch (e) { assert_eq([e.kind, e.advice], ["invalid", ()]); }
    /// ```
    #[rhai_fn(name = "fail", return_raw)]
    pub fn fail(ctx: NativeCallContext, message: &str) -> Res<()> {
        Err(super::rt_err(
            &ctx,
            super::user_error(message, None, super::Kind::Invalid, None, None),
        ))
    }

    /// `fail` with `advice`: what to do before running again, said instead of the command that
    /// continues from the stage (`e.advice` in a `catch`).
    ///
    /// ```rhai
    /// try { fail("domain x belongs to lab y", "tear lab y down, or rename this lab"); }
    /// catch (e) { assert_eq(e.advice, "tear lab y down, or rename this lab"); }
    /// ```
    #[rhai_fn(name = "fail", return_raw)]
    pub fn fail_advice(ctx: NativeCallContext, message: &str, advice: &str) -> Res<()> {
        Err(super::rt_err(
            &ctx,
            super::user_error(message, Some(advice), super::Kind::Invalid, None, None),
        ))
    }

    /// `fail` with a map: `message`, and any of `advice`, `kind` (a name `e.kind` reads:
    /// "invalid" when not given, "refused" for a precondition, "not_found", ...), `file` and
    /// `key` (where in the user's input, which `e.at` reads).
    ///
    /// ```rhai
    /// try { fail(#{message: "x.yaml: images: /nope does not exist", kind: "not_found",
    ///              file: "x.yaml", key: "images", advice: "make the folder"}); }
    /// catch (e) { assert_eq([e.kind, e.at, e.advice], ["not_found", "x.yaml: images", "make the folder"]); }
    /// ```
    #[rhai_fn(name = "fail", return_raw)]
    pub fn fail_map(ctx: NativeCallContext, spec: Map) -> Res<()> {
        let e = super::user_error_of(spec).map_err(|e| super::rt_err(&ctx, e))?;
        Err(super::rt_err(&ctx, e))
    }

    /// Records that the check `name` failed, with `detail`: counted as failed in the recap and
    /// journaled, as a failed change is (preflight reports each failed check so).
    ///
    /// ```rhai
    /// if plan_mode() { failed_check("example check", "shown in the recap"); }
    /// ```
    #[rhai_fn(name = "failed_check", return_raw)]
    pub fn failed_check(ctx: NativeCallContext, name: &str, detail: &str) -> Res<()> {
        super::session(&ctx)?.effects.check_failed(name, detail);
        Ok(())
    }

    /// The candidate closest to `word` (by edit distance), or `()` when none is close: for
    /// "did you mean" hints in scripts' own checks.
    ///
    /// ```rhai
    /// assert_eq(did_you_mean("contrl", ["ctrl", "control", "compute"]), "control");
    /// ```
    #[rhai_fn(name = "did_you_mean")]
    pub fn did_you_mean(word: &str, candidates: Array) -> Dynamic {
        let c: Vec<String> = candidates.iter().map(|c| c.to_string()).collect();
        crate::util::suggest::closest(word, c.iter().map(|s| s.as_str()))
            .map(|s| Dynamic::from(s.to_string()))
            .unwrap_or(Dynamic::UNIT)
    }

    /// `text` coloured as `kind` says ("pass" or "ok" green, "warn" yellow, "fail" red, "dim",
    /// "bold") when the output is a terminal and `NO_COLOR` is unset; else `text` as it is. For
    /// tables scripts print, such as preflight's.
    ///
    /// ```rhai
    /// let s = styled("pass", "pass");
    /// assert(s.contains("pass"));
    /// ```
    #[rhai_fn(name = "styled", return_raw)]
    pub fn styled(ctx: NativeCallContext, kind: &str, text: &str) -> Res<String> {
        use crate::printer::Tone;
        let tone = match kind {
            "pass" | "ok" => Tone::Ok,
            "warn" => Tone::Changed,
            "fail" => Tone::Failed,
            "dim" => Tone::Dim,
            "bold" => Tone::Bold,
            other => {
                return Err(super::rt_err(
                    &ctx,
                    Error::invalid(format!(
                        "styled: kind {other:?} must be pass, ok, warn, fail, dim or bold"
                    )),
                ))
            }
        };
        Ok(super::session(&ctx)?
            .effects
            .printer()
            .paint_out(tone, text))
    }
}
