//! How a script runs: stages, planned steps, waits and pauses, parallel work, the parameters
//! given with `--set`, the run's facts, questions, and the hooks of a profile variant.

use super::{interrupted, Res};
use crate::effects::{Op, StageStatus};
use crate::engine::diag::Diagnostic;
use crate::engine::value;
use crate::error::Error;
use crate::modules::opts::{option_spec, type_name, OptField, OptionSpec, Seconds};
use crate::session::{error_of, is_exit, is_interrupt, rt_err, session};
use rhai::plugin::*;
use rhai::{Array, Dynamic, FnPtr, Map};
use std::time::{Duration, Instant};

fn truthy(v: &Dynamic) -> bool {
    if v.is_unit() {
        return false;
    }
    v.as_bool().unwrap_or(true)
}

fn sleep_interruptible(ctx: &NativeCallContext, d: Duration) -> Res<()> {
    let s = session(ctx)?;
    let until = Instant::now() + d;
    while Instant::now() < until {
        if s.effects.check_cancel().is_err() {
            return Err(interrupted(ctx));
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
    }
    Ok(())
}

option_spec! {
    /// The options of `wait_until`.
    pub struct WaitOpts {
        /// Seconds before it gives up (default 300).
        timeout: Option<Seconds>,
        /// Seconds between tries (default 2).
        every: Option<Seconds>,
        /// What it waits for, as its messages say it (default "the condition").
        what: Option<String>,
    }
}

option_spec! {
    /// The options of `stage`.
    pub struct StageOpts {
        /// Only planned, never applied, even in a run that applies (default false).
        plan: Option<bool>,
        /// Why it is only planned, as the run says it.
        why: Option<String>,
    }
}

/// The option maps of the flow functions.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("wait_until", WaitOpts::FIELDS),
    ("stage", StageOpts::FIELDS),
];

fn wait_impl(ctx: &NativeCallContext, f: FnPtr, opts: Map) -> Res<Dynamic> {
    let s = session(ctx)?;
    let o = WaitOpts::read("wait_until", opts).map_err(|e| rt_err(ctx, e))?;
    let timeout = o.timeout.map_or(Duration::from_secs(300), |t| t.0);
    let every = o.every.map_or(Duration::from_secs(2), |t| t.0);
    let what = o.what.unwrap_or_else(|| "the condition".into());
    let t0 = Instant::now();
    let spinner = s.effects.printer().spinner(&format!("waiting for {what}"));
    let mut last_err: Option<(String, Option<Error>)> = None;
    let mut tries = 0u64;
    loop {
        if s.effects.check_cancel().is_err() {
            return Err(interrupted(ctx));
        }
        tries += 1;
        match f.call_within_context::<Dynamic>(ctx, ()) {
            Ok(v) if truthy(&v) => {
                if let Some(p) = &spinner {
                    p.finish_and_clear();
                }
                return Ok(v);
            }
            Ok(_) => {}
            Err(e) if is_interrupt(&e) => return Err(e),
            Err(e) => last_err = Some((Diagnostic::from_eval(&e, None).message, error_of(&e))),
        }
        if s.effects.is_plan() {
            // A plan cannot wait for something it has not done: show the wait and go on.
            s.effects
                .planned_step(Op::new("wait", &what).arg("timeout_s", timeout.as_secs()))
                .map_err(|e| rt_err(ctx, e))?;
            return Ok(true.into());
        }
        let elapsed = t0.elapsed();
        if elapsed >= timeout {
            if let Some(p) = &spinner {
                p.finish_and_clear();
            }
            let mut msg = format!(
                "timed out after {} waiting for {what} ({tries} tries)",
                crate::effects::fmt_ms(elapsed.as_millis())
            );
            let cause = match last_err {
                Some((m, cause)) => {
                    msg.push_str(&format!("; last error: {m}"));
                    cause
                }
                None => None,
            };
            let e = Error::timed_out(msg);
            return Err(rt_err(ctx, cause.map_or(e.clone(), |c| e.with_cause(c))));
        }
        if let Some(p) = &spinner {
            p.set_message(crate::printer::data(
                &format!(
                    "waiting for {what} ({}s of {}s)",
                    elapsed.as_secs(),
                    timeout.as_secs()
                ),
                false,
            ));
        }
        sleep_interruptible(ctx, every.min(timeout.saturating_sub(elapsed)))?;
    }
}

/// Runs `n` tasks on up to `jobs` threads; every error is collected.
fn par_impl(
    ctx: &NativeCallContext,
    what: &str,
    n: usize,
    task: impl Fn(usize) -> Res<Dynamic> + Sync,
) -> Res<Array> {
    let s = session(ctx)?;
    let results = crate::effects::pool::run_indexed(s.jobs(), n, task);
    let mut out = Array::with_capacity(n);
    let mut errors = Vec::new();
    let mut parts = Vec::new();
    let mut any_interrupt = false;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => out.push(v),
            Err(e) => {
                any_interrupt |= is_interrupt(&e);
                let d = Diagnostic::from_eval(&e, ctx.call_source());
                let loc = d.location().map(|l| format!(" ({l})")).unwrap_or_default();
                errors.push(format!(
                    "  [{i}] {}{loc}",
                    d.message.replace('\n', "\n      ")
                ));
                parts.push(error_of(&e).unwrap_or_else(|| Error::failed(d.message)));
            }
        }
    }
    if any_interrupt {
        return Err(interrupted(ctx));
    }
    if !errors.is_empty() {
        // Of the failures' kind when they share one, with the first one's advice.
        return Err(rt_err(
            ctx,
            Error::of_several(
                format!(
                    "{} of {n} {what} failed:\n{}",
                    errors.len(),
                    errors.join("\n")
                ),
                &parts,
            ),
        ));
    }
    Ok(out)
}

/// What `run_info` returns.
#[derive(serde::Serialize)]
struct RunInfo {
    plan: bool,
    run_id: Option<String>,
    script: Option<String>,
    profile: Option<String>,
    target: Option<String>,
    jobs: usize,
    stages: Vec<String>,
    yes: bool,
    graph: Option<String>,
    state_dir: String,
    done: Vec<String>,
    commands: Vec<String>,
    /// `--set` values of profile keys (a KEY with a '.'), which profile::load lays on the
    /// profile; a KEY without one is a script parameter (`param`).
    profile_sets: std::collections::BTreeMap<String, String>,
    /// `--snapshot-after STAGE`: the stages at whose end the lab's snapshot is taken.
    snapshot_after: Vec<String>,
}

/// `--set name=raw` as a value of the type of `default`: what `param` returns, and what the
/// runner checks before a run starts.
pub fn parse_param(name: &str, raw: &str, default: &Dynamic) -> Result<Dynamic, Error> {
    let bad = |want: &str| Error::invalid(format!("--set {name}={raw}: expected {want}"));
    fn number<T: std::str::FromStr + rhai::Variant + Clone>(raw: &str) -> Option<Dynamic> {
        raw.trim().parse::<T>().ok().map(Dynamic::from)
    }
    if default.is_int() {
        return number::<i64>(raw).ok_or_else(|| bad("an integer"));
    }
    if default.is_float() {
        return number::<f64>(raw).ok_or_else(|| bad("a number"));
    }
    if default.is_bool() {
        return match raw.trim() {
            "true" | "yes" | "on" | "1" => Ok(true.into()),
            "false" | "no" | "off" | "0" => Ok(false.into()),
            _ => Err(bad("true or false")),
        };
    }
    if default.is_string() {
        return Ok(raw.into());
    }
    if default.is_array() || default.is_map() {
        let v: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| bad(&format!("JSON ({e})")))?;
        let d = value::from_json(&v);
        if default.is_array() != d.is_array() {
            return Err(bad(if default.is_array() {
                "a JSON array"
            } else {
                "a JSON object"
            }));
        }
        return Ok(d);
    }
    Ok(serde_json::from_str::<serde_json::Value>(raw)
        .map(|v| value::from_json(&v))
        .unwrap_or_else(|_| raw.into()))
}

fn stage_impl(ctx: &NativeCallContext, name: &str, opts: Map, f: FnPtr) -> Res<Dynamic> {
    let o = StageOpts::read("stage", opts).map_err(|e| rt_err(ctx, e))?;
    let plan_only = o.plan.unwrap_or(false);
    let why = o.why;
    let s = session(ctx)?;
    if name.trim().is_empty() {
        return Err(rt_err(ctx, Error::invalid("stage: the name is empty")));
    }
    if !s.stage_selected(name) {
        s.effects.stage_skipped(name);
        return Ok(Dynamic::UNIT);
    }
    let already_plan = s.effects.is_plan();
    let body = || {
        s.effects.stage_begin(name);
        if plan_only && !already_plan {
            s.effects.printer().status(&format!(
                "  note     stage {name} is planned, not applied{}",
                why.as_deref().map(|w| format!(": {w}")).unwrap_or_default()
            ));
        }
        let t0 = std::time::Instant::now();
        let r = f.call_within_context::<Dynamic>(ctx, ());
        let ms = t0.elapsed().as_millis();
        let status = match &r {
            Ok(_) => StageStatus::Done,
            Err(e) if is_interrupt(e) => StageStatus::Interrupted,
            // `exit(..)` inside the stage ends the script, not as a failure of the stage.
            Err(e) if is_exit(e) => StageStatus::Done,
            Err(_) => StageStatus::Failed,
        };
        s.effects.stage_end(name, status, ms);
        if status != StageStatus::Done {
            s.set_failed_stage(name);
        }
        r
    };
    if plan_only {
        s.effects.planning(body)
    } else {
        body()
    }
}

#[export_module]
pub mod flow_fns {
    /// Calls `f` until it returns something other than `false` or `()`, and returns that.
    /// Defaults: `timeout` 300 s, `every` 2 s. Errors from `f` count as "not yet"; the last one is
    /// reported on timeout. In plan mode `f` is tried once, then the wait is shown as planned.
    ///
    /// ```rhai
    /// let n = 0;
    /// let v = wait_until(|| { n += 1; n >= 3 }, #{every: 0.01, timeout: 5, what: "three tries"});
    /// assert_eq(v, true);
    /// ```
    #[rhai_fn(name = "wait_until", return_raw)]
    pub fn wait_until_opts(ctx: NativeCallContext, f: FnPtr, opts: Map) -> Res<Dynamic> {
        super::wait_impl(&ctx, f, opts)
    }

    /// `wait_until` with the defaults (300 s timeout, a try every 2 s).
    ///
    /// ```rhai
    /// wait_until(|| true);
    /// ```
    #[rhai_fn(name = "wait_until", return_raw)]
    pub fn wait_until(ctx: NativeCallContext, f: FnPtr) -> Res<Dynamic> {
        super::wait_impl(&ctx, f, Map::new())
    }

    /// Pauses for `seconds` (a Ctrl-C ends the pause).
    ///
    /// ```rhai
    /// sleep(0.01);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_float(ctx: NativeCallContext, seconds: f64) -> Res<()> {
        if !(0.0..=1e7).contains(&seconds) {
            return Err(super::rt_err(
                &ctx,
                Error::invalid(format!("sleep: {seconds} is not a number of seconds")),
            ));
        }
        super::sleep_interruptible(&ctx, std::time::Duration::from_secs_f64(seconds))
    }

    /// Pauses for `seconds` (a Ctrl-C ends the pause).
    ///
    /// ```rhai
    /// sleep(0);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_int(ctx: NativeCallContext, seconds: i64) -> Res<()> {
        sleep_float(ctx, seconds as f64)
    }

    /// Calls each function of `fns` on up to `--jobs` threads and returns their results in order.
    /// If any fail, every failure is reported together.
    ///
    /// ```rhai
    /// let r = parallel([|| 1 + 1, || "two"]);
    /// assert_eq(r, [2, "two"]);
    /// ```
    #[rhai_fn(name = "parallel", return_raw)]
    pub fn parallel(ctx: NativeCallContext, fns: Array) -> Res<Array> {
        let mut ptrs = Vec::with_capacity(fns.len());
        for (i, f) in fns.into_iter().enumerate() {
            let t = super::type_name(&f);
            match f.try_cast::<FnPtr>() {
                Some(p) => ptrs.push(p),
                None => {
                    return Err(super::rt_err(
                        &ctx,
                        Error::invalid(format!(
                            "parallel: item {i} must be a function (|| ...), not {t}"
                        )),
                    ))
                }
            }
        }
        super::par_impl(&ctx, "tasks", ptrs.len(), |i| {
            ptrs[i].call_within_context::<Dynamic>(&ctx, ())
        })
    }

    /// Calls `f` on each item of `items` on up to `--jobs` threads; returns the results in order.
    /// If any fail, every failure is reported together.
    ///
    /// ```rhai
    /// let squares = par_map([1, 2, 3], |x| x * x);
    /// assert_eq(squares, [1, 4, 9]);
    /// ```
    #[rhai_fn(name = "par_map", return_raw)]
    pub fn par_map(ctx: NativeCallContext, items: Array, f: FnPtr) -> Res<Array> {
        super::par_impl(&ctx, "items", items.len(), |i| {
            f.call_within_context::<Dynamic>(&ctx, (items[i].clone(),))
        })
    }

    /// Runs `f` as the stage `name` and returns its result. Effects inside are counted under the
    /// stage in the recap. `--only` and `--from` choose which stages run; a stage left out
    /// returns `()`. When a stage fails, the run stops and labsh prints the command that continues
    /// from it.
    ///
    /// ```rhai
    /// let n = stage("prepare", || 40 + 2);
    /// ```
    #[rhai_fn(name = "stage", return_raw)]
    pub fn stage(ctx: NativeCallContext, name: &str, f: FnPtr) -> Res<Dynamic> {
        super::stage_impl(&ctx, name, Map::new(), f)
    }

    /// `stage` with options: `#{plan: true, why: "..."}` runs the stage in plan mode even in an
    /// applying run (the sandbox plans what needs a real cloud or cluster), saying why.
    ///
    /// ```rhai
    /// stage("tenant", #{plan: true, why: "no cloud on the sandbox"}, || run(["true"]));
    /// ```
    #[rhai_fn(name = "stage", return_raw)]
    pub fn stage_opts(ctx: NativeCallContext, name: &str, opts: Map, f: FnPtr) -> Res<Dynamic> {
        super::stage_impl(&ctx, name, opts, f)
    }

    /// Runs `f` in plan mode within an applying run, saying `why` once: the steps that need
    /// something the target only stands in for (an undercloud, a cloud, a cluster) are shown,
    /// not done, while the rest of the stage applies.
    ///
    /// ```rhai
    /// let r = planned("no undercloud on the sandbox", || run(["openstack", "undercloud", "install"]));
    /// assert(r.planned);
    /// ```
    #[rhai_fn(name = "planned", return_raw)]
    pub fn planned(ctx: NativeCallContext, why: &str, f: FnPtr) -> Res<Dynamic> {
        let s = super::session(&ctx)?;
        if !s.effects.is_plan() {
            s.effects
                .printer()
                .status(&format!("  note     planned, not applied: {why}"));
        }
        s.effects
            .planning(|| f.call_within_context::<Dynamic>(&ctx, ()))
    }

    /// True in plan mode (`--plan`, `:plan on`).
    ///
    /// ```rhai
    /// if plan_mode() { print("only planning"); }
    /// ```
    #[rhai_fn(name = "plan_mode", return_raw)]
    pub fn plan_mode(ctx: NativeCallContext) -> Res<bool> {
        Ok(super::session(&ctx)?.effects.is_plan())
    }

    /// A script parameter: the value given with `--set name=value`, converted to the type of
    /// `default`, or `default`. `labsh run` refuses `--set` keys that no `param` call names.
    ///
    /// ```rhai
    /// let vms = param("vm_count", 3);
    /// assert_eq(type_of(vms), "i64");
    /// ```
    #[rhai_fn(name = "param", return_raw)]
    pub fn param(ctx: NativeCallContext, name: &str, default: Dynamic) -> Res<Dynamic> {
        let s = super::session(&ctx)?;
        match s.options.sets.get(name) {
            Some(raw) => {
                super::parse_param(name, raw, &default).map_err(|e| super::rt_err(&ctx, e))
            }
            None => Ok(default),
        }
    }

    /// Asks `question` (y/N) and returns the answer. `--yes` answers yes; in plan mode nothing
    /// will be changed, so it is yes too; with no terminal to ask on and no `--yes`, it is an
    /// error that says to pass `--yes`.
    ///
    /// ```rhai
    /// if plan_mode() { assert(confirm("remove the lab?")); }
    /// ```
    #[rhai_fn(name = "confirm", return_raw)]
    pub fn confirm(ctx: NativeCallContext, question: &str) -> Res<bool> {
        let s = super::session(&ctx)?;
        if s.options.yes || s.effects.is_plan() {
            return Ok(true);
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(super::rt_err(
                &ctx,
                Error::refused(format!(
                    "{question} (no terminal to ask on: pass --yes to confirm)"
                )),
            ));
        }
        s.effects.printer().status(&format!("{question} [y/N] "));
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| super::rt_err(&ctx, format!("cannot read the answer: {e}")))?;
        Ok(matches!(
            line.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        ))
    }

    /// What this run is: `#{plan, run_id, script, profile, target, jobs, stages, yes, graph,
    /// state_dir, done, commands, profile_sets, snapshot_after}` (`stages`: the script's, in
    /// order; `done`: those this run has finished so far; `commands`: the subcommands of this
    /// labsh, such as "status"; `profile_sets`: the `--set` values whose KEY has a '.', profile
    /// keys; `snapshot_after`: the stages `--snapshot-after` names).
    ///
    /// ```rhai
    /// let i = run_info();
    /// assert(i.jobs >= 1);
    /// stage("example-done", || 1);
    /// assert(run_info().done.contains("example-done"));
    /// ```
    #[rhai_fn(name = "run_info", return_raw)]
    pub fn run_info(ctx: NativeCallContext) -> Res<Map> {
        let s = super::session(&ctx)?;
        let shown = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        crate::session::to_map(
            &ctx,
            &super::RunInfo {
                plan: s.effects.is_plan(),
                run_id: s.effects.run_id(),
                script: shown(&s.options.script),
                profile: s.options.profile.clone(),
                target: s.options.target.clone(),
                jobs: s.jobs(),
                stages: s.stages(),
                yes: s.options.yes,
                graph: shown(&s.options.graph),
                state_dir: crate::paths::state_dir().display().to_string(),
                done: s
                    .effects
                    .stats()
                    .into_iter()
                    .filter(|st| {
                        st.status == crate::effects::StageStatus::Done
                            && st.name != crate::effects::MAIN_STAGE
                    })
                    .map(|st| st.name)
                    .collect(),
                commands: s.options.commands.clone(),
                profile_sets: s
                    .options
                    .sets
                    .iter()
                    .filter(|(k, _)| crate::session::is_profile_key(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                snapshot_after: s.options.snapshot_after.clone(),
            },
        )
    }

    /// Lines that say what to do next, shown after the recap when the run ends well (on
    /// stderr; in JSON mode one `{"event": "next", "lines": [..]}`); a later call replaces
    /// them. scripts/lab.rhai ends with `what_next(status::next_steps(p, t, run_info()))`.
    ///
    /// ```rhai
    /// what_next(["status: labsh status"]);
    /// ```
    #[rhai_fn(name = "what_next", return_raw)]
    pub fn what_next(ctx: NativeCallContext, lines: Array) -> Res<()> {
        let s = super::session(&ctx)?;
        let mut out = Vec::with_capacity(lines.len());
        for (i, l) in lines.into_iter().enumerate() {
            match l.into_immutable_string() {
                Ok(t) => out.push(t.to_string()),
                Err(t) => {
                    return Err(rt_err(
                        &ctx,
                        format!("what_next: line {i} must be a string, not {t}"),
                    ))
                }
            }
        }
        s.set_next(out);
        Ok(())
    }

    /// Whether the script file at `path` defines a function `name` (hooks of a profile variant).
    ///
    /// ```rhai
    /// assert(!script_has_fn("/nonexistent.rhai", "after_l1"));
    /// ```
    pub fn script_has_fn(path: &str, name: &str) -> bool {
        let Ok(text) = crate::engine::sources::read(std::path::Path::new(path), "profile") else {
            return false;
        };
        // A cheap look before a compile: the function must be written there.
        text.contains(&format!("fn {name}("))
    }

    /// Calls function `name` of the script file at `path` with `args` and returns its result:
    /// how a profile variant's hooks (`fn after_l1(p)`) run.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-hooks.rhai";
    /// if !plan_mode() {
    ///     files::write(f, "fn twice(x) { x * 2 }");
    ///     assert_eq(call_script_fn(f, "twice", [21]), 42);
    /// }
    /// ```
    #[rhai_fn(name = "call_script_fn", return_raw)]
    pub fn call_script_fn(
        ctx: NativeCallContext,
        path: &str,
        name: &str,
        args: Array,
    ) -> Res<Dynamic> {
        let text = crate::engine::sources::read(std::path::Path::new(path), "profile")
            .map_err(|e| rt_err(&ctx, e))?;
        let mut ast = ctx
            .engine()
            .compile(&text)
            .map_err(|e| rt_err(&ctx, Error::invalid(format!("{path}: {e}"))))?;
        ast.set_source(path);
        let mut scope = rhai::Scope::new();
        ctx.engine()
            .call_fn::<Dynamic>(&mut scope, &ast, name, args)
            .map_err(|e| {
                if is_interrupt(&e) {
                    return e;
                }
                let d = Diagnostic::from_eval(&e, Some(path));
                let message = format!("in {path}, {name}: {}", d.message);
                // Of the kind, and with the advice, of what failed in the function.
                rt_err(
                    &ctx,
                    error_of(&e).map_or_else(
                        || Error::failed(message.clone()),
                        |inner| inner.map_message(|_| message.clone()),
                    ),
                )
            })
    }
}
