//! The global functions: stages, commands, waits, parallel work, secrets, parameters, help and
//! assertions.

use crate::effects::process::{self, Arg, Command};
use crate::effects::secret::{self, Secret};
use crate::effects::{Op, StageStatus};
use crate::engine::diag::Diagnostic;
use crate::engine::value;
use crate::modules::opts::{to_arg, type_name, Opts};
use crate::session::{is_interrupt, rt_err, session};
use rhai::plugin::*;
use rhai::{Array, Dynamic, FnPtr, Map};
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<EvalAltResult>>;

fn interrupted(ctx: &NativeCallContext) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorTerminated(
        Dynamic::from("interrupted"),
        ctx.call_position(),
    ))
}

/// An error of the effects seam as a script sees it: a stop asked for (Ctrl-C, SIGTERM) ends the
/// script as an interrupt; anything else is a runtime error at the call's position.
pub fn fx_err(ctx: &NativeCallContext, e: crate::effects::Error) -> Box<EvalAltResult> {
    match e {
        crate::effects::Error::Interrupted => interrupted(ctx),
        e => rt_err(ctx, e.to_string()),
    }
}

fn run_impl(ctx: &NativeCallContext, func: &str, argv: Vec<Arg>, opts: Map) -> Res<Map> {
    let o = Opts::new(
        func,
        opts,
        &[
            "timeout", "cwd", "env", "quiet", "check", "read", "stdin", "prefix",
        ],
    )
    .map_err(|e| rt_err(ctx, e))?;
    let err = |e: String| rt_err(ctx, e);
    let mut cmd = Command::new(argv);
    if cmd.argv.is_empty() {
        return Err(err(format!("{func}: the command is empty")));
    }
    cmd.timeout = o.seconds("timeout").map_err(err)?;
    cmd.cwd = o.str("cwd").map_err(err)?.map(Into::into);
    if let Some(env) = o.map("env").map_err(err)? {
        for (k, v) in env {
            let a = to_arg(&v).map_err(|e| err(format!("{func}: env.{k}: {e}")))?;
            cmd.env.push((k.to_string(), a));
        }
    }
    cmd.stdin = o.arg("stdin").map_err(err)?;
    let quiet = o.bool("quiet", false).map_err(err)?;
    let check = o.bool("check", true).map_err(err)?;
    let read = o.bool("read", false).map_err(err)?;
    if !quiet {
        cmd.stream = Some(
            o.str("prefix")
                .map_err(err)?
                .unwrap_or_else(|| cmd.program_name()),
        );
    }
    let target = cmd.display();
    exec_checked(ctx, func, cmd, target, check, read)
}

/// Runs a prepared command through the effects seam (a read, or a change that plan mode only
/// shows) as `func` on `target`; a non-zero exit is an error with its last lines unless `check`
/// is false. Returns `#{code, stdout, stderr}` (and `planned: true` when only planned).
pub fn exec_checked(
    ctx: &NativeCallContext,
    func: &str,
    cmd: Command,
    target: String,
    check: bool,
    read: bool,
) -> Res<Map> {
    let s = session(ctx)?;
    let mut op = Op::new(func, target.clone());
    if let Some(c) = &cmd.cwd {
        op = op.arg("cwd", c.display().to_string());
    }
    if !cmd.env.is_empty() {
        let env: serde_json::Map<String, serde_json::Value> = cmd
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.shown().into()))
            .collect();
        op = op.arg("env", env);
    }
    let fx = &s.effects;
    // A non-zero exit of a checked command is a failure, recorded as one.
    let exec = || {
        fx.exec(&cmd).and_then(|o| {
            if check && o.code != 0 {
                Err(crate::effects::Error::Failed(o.failure(&target)))
            } else {
                Ok(o)
            }
        })
    };
    let out = if read {
        fx.read_typed(op, exec)
    } else {
        fx.change_typed(op, exec, process::Output::planned)
    };
    let out = out.map_err(|e| fx_err(ctx, e))?;

    let mut m = Map::new();
    m.insert("code".into(), (out.code as i64).into());
    m.insert("stdout".into(), out.stdout.into());
    m.insert("stderr".into(), out.stderr.into());
    if fx.is_plan() && !read {
        m.insert("planned".into(), true.into());
    }
    Ok(m)
}

fn argv_of(ctx: &NativeCallContext, argv: Array) -> Res<Vec<Arg>> {
    argv.iter()
        .enumerate()
        .map(|(i, v)| to_arg(v).map_err(|e| rt_err(ctx, format!("run: argv[{i}]: {e}"))))
        .collect()
}

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

fn wait_impl(ctx: &NativeCallContext, f: FnPtr, opts: Map) -> Res<Dynamic> {
    let s = session(ctx)?;
    let o =
        Opts::new("wait_until", opts, &["timeout", "every", "what"]).map_err(|e| rt_err(ctx, e))?;
    let timeout = o
        .seconds("timeout")
        .map_err(|e| rt_err(ctx, e))?
        .unwrap_or(Duration::from_secs(300));
    let every = o
        .seconds("every")
        .map_err(|e| rt_err(ctx, e))?
        .unwrap_or(Duration::from_secs(2));
    let what = o
        .str("what")
        .map_err(|e| rt_err(ctx, e))?
        .unwrap_or_else(|| "the condition".into());
    let t0 = Instant::now();
    let spinner = s.effects.printer().spinner(&format!("waiting for {what}"));
    let mut last_err: Option<String> = None;
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
            Err(e) => last_err = Some(Diagnostic::from_eval(&e, None).message),
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
            if let Some(e) = last_err {
                msg.push_str(&format!("; last error: {e}"));
            }
            return Err(rt_err(ctx, msg));
        }
        if let Some(p) = &spinner {
            p.set_message(format!(
                "waiting for {what} ({}s of {}s)",
                elapsed.as_secs(),
                timeout.as_secs()
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
            }
        }
    }
    if any_interrupt {
        return Err(interrupted(ctx));
    }
    if !errors.is_empty() {
        return Err(rt_err(
            ctx,
            format!(
                "{} of {n} {what} failed:\n{}",
                errors.len(),
                errors.join("\n")
            ),
        ));
    }
    Ok(out)
}

fn secret_impl(ctx: &NativeCallContext, name: &str, opts: Map) -> Res<Secret> {
    let s = session(ctx)?;
    let o = Opts::new("secret", opts, &["generate", "length", "env", "prompt"])
        .map_err(|e| rt_err(ctx, e))?;
    let err = |e: String| rt_err(ctx, e);
    secret::check_name(name).map_err(err)?;
    let make = |v: &str, from: &str| -> Res<Secret> {
        if v.len() < secret::MIN_LEN {
            return Err(err(format!(
                "secret {name} from {from} is shorter than {} characters",
                secret::MIN_LEN
            )));
        }
        Ok(Secret::new(name, v))
    };
    let env = o
        .str("env")
        .map_err(err)?
        .unwrap_or_else(|| secret::env_name(name));
    if let Some(v) = secret::env_value(&env) {
        if !v.is_empty() {
            return make(&v, &format!("${env}"));
        }
    }
    let generate = o.bool("generate", false).map_err(err)?;
    // A value a plan made for it earlier in this run (not stored): the same one again.
    if let Some(Some(v)) = s.secret_seen(name) {
        return Ok(Secret::new(name, &v));
    }
    if let Some(v) = s.secrets.get(name).map_err(err)? {
        if generate && s.secret_seen(name).is_none() {
            s.effects.unchanged(
                Op::new("secret.generate", name)
                    .arg("file", s.secrets.path().display().to_string()),
            );
            s.see_secret(name, None);
        }
        return make(&v, &s.secrets.path().display().to_string());
    }
    if generate {
        let len = o.int("length").map_err(err)?.unwrap_or(24);
        if !(12..=4096).contains(&len) {
            return Err(err(format!(
                "secret: option 'length' must be between 12 and 4096, not {len}"
            )));
        }
        let value = secret::generate(len as usize).map_err(err)?;
        let path = s.secrets.path().display().to_string();
        let op = Op::new("secret.generate", name).arg("file", &path);
        // Stored in any applying run, also inside planned(..): later steps use the same value.
        let stored = s
            .effects
            .change_local(op, || s.secrets.put(name, &value).map(Some), || None)
            .map_err(err)?;
        s.see_secret(
            name,
            if stored.is_none() {
                Some(value.clone())
            } else {
                None
            },
        );
        return Ok(Secret::new(name, stored.as_deref().unwrap_or(&value)));
    }
    if s.options.interactive && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let prompt = o
            .str("prompt")
            .map_err(err)?
            .unwrap_or_else(|| format!("secret {name}: "));
        let v =
            rpassword::prompt_password(prompt).map_err(|e| err(format!("secret {name}: {e}")))?;
        return make(&v, "the prompt");
    }
    Err(err(format!(
        "secret {name} is not set: export {env}=..., or add a line `{name}=...` to {} (mode 0600), or call secret(\"{name}\", #{{generate: true}}) to have one made",
        s.secrets.path().display()
    )))
}

/// `--set name=raw` as a value of the type of `default`: what `param` returns, and what the
/// runner checks before a run starts.
pub fn parse_param(name: &str, raw: &str, default: &Dynamic) -> Result<Dynamic, String> {
    let bad = |want: &str| format!("--set {name}={raw}: expected {want}");
    if default.is_int() {
        return raw
            .trim()
            .parse::<i64>()
            .map(Dynamic::from)
            .map_err(|_| bad("an integer"));
    }
    if default.is_float() {
        return raw
            .trim()
            .parse::<f64>()
            .map(Dynamic::from)
            .map_err(|_| bad("a number"));
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

fn eq_values(a: &Dynamic, b: &Dynamic) -> bool {
    value::to_json(a) == value::to_json(b) && (a.is_int() == b.is_int())
}

fn stage_impl(ctx: &NativeCallContext, name: &str, opts: Map, f: FnPtr) -> Res<Dynamic> {
    let o = Opts::new("stage", opts, &["plan", "why"]).map_err(|e| rt_err(ctx, e))?;
    let plan_only = o.bool("plan", false).map_err(|e| rt_err(ctx, e))?;
    let why = o.str("why").map_err(|e| rt_err(ctx, e))?;
    let s = session(ctx)?;
    if name.trim().is_empty() {
        return Err(rt_err(ctx, "stage: the name is empty"));
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
pub mod core_fns {
    /// Runs a program from an argument vector (no shell), streams its output prefixed with the
    /// program's name, and returns `#{code, stdout, stderr}`. A non-zero exit is an error.
    /// In plan mode the command is shown, not run, and the result is `#{code: 0, stdout: "",
    /// stderr: "", planned: true}`.
    ///
    /// ```rhai
    /// let r = run(["echo", "hello"]);
    /// if !plan_mode() { assert_eq(r.stdout, "hello\n"); }
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run(ctx: NativeCallContext, argv: Array) -> Result<Map, Box<EvalAltResult>> {
        let argv = super::argv_of(&ctx, argv)?;
        super::run_impl(&ctx, "run", argv, Map::new())
    }

    /// `run` with options: `timeout` (seconds), `cwd`, `env` (map; values may be secrets),
    /// `stdin`, `quiet` (no streaming), `prefix` (for streamed lines), `check` (false: a non-zero
    /// exit is returned in `code`, not raised), `read` (true: the command changes nothing, so it
    /// runs in plan mode too and is not counted as a change).
    ///
    /// ```rhai
    /// let r = run(["sh", "-c", "exit 3"], #{check: false, quiet: true, timeout: 10});
    /// if !plan_mode() { assert_eq(r.code, 3); }
    /// let v = run(["uname", "-s"], #{read: true, quiet: true});
    /// assert_eq(v.stdout, "Linux\n");
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_opts(
        ctx: NativeCallContext,
        argv: Array,
        opts: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        let argv = super::argv_of(&ctx, argv)?;
        super::run_impl(&ctx, "run", argv, opts)
    }

    /// Runs `script` with `sh -c`, for when a shell is really wanted (pipes, redirections).
    /// Prefer `run` with an argument vector otherwise. Same result and plan behaviour as `run`.
    ///
    /// ```rhai
    /// let r = sh("echo one two | wc -w", #{quiet: true, read: true});
    /// assert_eq(r.stdout, "2\n");
    /// ```
    #[rhai_fn(name = "sh", return_raw)]
    pub fn sh(ctx: NativeCallContext, script: &str) -> Result<Map, Box<EvalAltResult>> {
        super::run_impl(
            &ctx,
            "sh",
            vec!["sh".into(), "-c".into(), script.into()],
            Map::new(),
        )
    }

    /// `sh` with the options of `run`.
    ///
    /// ```rhai
    /// sh("echo $GREETING", #{env: #{GREETING: "hi"}, quiet: true});
    /// ```
    #[rhai_fn(name = "sh", return_raw)]
    pub fn sh_opts(
        ctx: NativeCallContext,
        script: &str,
        opts: Map,
    ) -> Result<Map, Box<EvalAltResult>> {
        super::run_impl(
            &ctx,
            "sh",
            vec!["sh".into(), "-c".into(), script.into()],
            opts,
        )
    }

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
    pub fn wait_until_opts(
        ctx: NativeCallContext,
        f: FnPtr,
        opts: Map,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        super::wait_impl(&ctx, f, opts)
    }

    /// `wait_until` with the defaults (300 s timeout, a try every 2 s).
    ///
    /// ```rhai
    /// wait_until(|| true);
    /// ```
    #[rhai_fn(name = "wait_until", return_raw)]
    pub fn wait_until(ctx: NativeCallContext, f: FnPtr) -> Result<Dynamic, Box<EvalAltResult>> {
        super::wait_impl(&ctx, f, Map::new())
    }

    /// Calls each function of `fns` on up to `--jobs` threads and returns their results in order.
    /// If any fail, every failure is reported together.
    ///
    /// ```rhai
    /// let r = parallel([|| 1 + 1, || "two"]);
    /// assert_eq(r, [2, "two"]);
    /// ```
    #[rhai_fn(name = "parallel", return_raw)]
    pub fn parallel(ctx: NativeCallContext, fns: Array) -> Result<Array, Box<EvalAltResult>> {
        let mut ptrs = Vec::with_capacity(fns.len());
        for (i, f) in fns.into_iter().enumerate() {
            let t = super::type_name(&f);
            match f.try_cast::<FnPtr>() {
                Some(p) => ptrs.push(p),
                None => {
                    return Err(super::rt_err(
                        &ctx,
                        format!("parallel: item {i} must be a function (|| ...), not {t}"),
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
    pub fn par_map(
        ctx: NativeCallContext,
        items: Array,
        f: FnPtr,
    ) -> Result<Array, Box<EvalAltResult>> {
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
    pub fn stage(
        ctx: NativeCallContext,
        name: &str,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        super::stage_impl(&ctx, name, Map::new(), f)
    }

    /// `stage` with options: `#{plan: true, why: "..."}` runs the stage in plan mode even in an
    /// applying run (the sandbox plans what needs a real cloud or cluster), saying why.
    ///
    /// ```rhai
    /// stage("tenant", #{plan: true, why: "no cloud on the sandbox"}, || run(["true"]));
    /// ```
    #[rhai_fn(name = "stage", return_raw)]
    pub fn stage_opts(
        ctx: NativeCallContext,
        name: &str,
        opts: Map,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
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
    pub fn planned(
        ctx: NativeCallContext,
        why: &str,
        f: FnPtr,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let s = super::session(&ctx)?;
        if !s.effects.is_plan() {
            s.effects
                .printer()
                .status(&format!("  note     planned, not applied: {why}"));
        }
        s.effects
            .planning(|| f.call_within_context::<Dynamic>(&ctx, ()))
    }

    /// The secret `name`: from `$LABSH_SECRET_<NAME>`, else the secrets file, else (in the REPL)
    /// a prompt. It prints as `«secret NAME»` everywhere; only bindings read its value.
    ///
    /// ```rhai
    /// let pw = secret("example-password", #{generate: true});
    /// assert_eq(`${pw}`, "«secret example-password»");
    /// ```
    #[rhai_fn(name = "secret", return_raw)]
    pub fn secret(ctx: NativeCallContext, name: &str) -> Result<super::Secret, Box<EvalAltResult>> {
        super::secret_impl(&ctx, name, Map::new())
    }

    /// `secret` with options: `generate` (true: make and store a strong random value when none
    /// exists; in plan mode it is made but not stored), `length` (of a generated value, default
    /// 24), `env` (read this variable instead of `LABSH_SECRET_<NAME>`), `prompt` (the REPL's
    /// question).
    ///
    /// ```rhai
    /// let pw = secret("example-token", #{generate: true, length: 32});
    /// assert_eq(pw.name, "example-token");
    /// ```
    #[rhai_fn(name = "secret", return_raw)]
    pub fn secret_opts(
        ctx: NativeCallContext,
        name: &str,
        opts: Map,
    ) -> Result<super::Secret, Box<EvalAltResult>> {
        super::secret_impl(&ctx, name, opts)
    }

    /// A script parameter: the value given with `--set name=value`, converted to the type of
    /// `default`, or `default`. `labsh run` refuses `--set` keys that no `param` call names.
    ///
    /// ```rhai
    /// let vms = param("vm_count", 3);
    /// assert_eq(type_of(vms), "i64");
    /// ```
    #[rhai_fn(name = "param", return_raw)]
    pub fn param(
        ctx: NativeCallContext,
        name: &str,
        default: Dynamic,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let s = super::session(&ctx)?;
        match s.options.sets.get(name) {
            Some(raw) => {
                super::parse_param(name, raw, &default).map_err(|e| super::rt_err(&ctx, e))
            }
            None => Ok(default),
        }
    }

    /// True in plan mode (`--plan`, `:plan on`).
    ///
    /// ```rhai
    /// if plan_mode() { print("only planning"); }
    /// ```
    #[rhai_fn(name = "plan_mode", return_raw)]
    pub fn plan_mode(ctx: NativeCallContext) -> Result<bool, Box<EvalAltResult>> {
        Ok(super::session(&ctx)?.effects.is_plan())
    }

    /// Asks `question` (y/N) and returns the answer. `--yes` answers yes; in plan mode nothing
    /// will be changed, so it is yes too; with no terminal to ask on and no `--yes`, it is an
    /// error that says to pass `--yes`.
    ///
    /// ```rhai
    /// if plan_mode() { assert(confirm("remove the lab?")); }
    /// ```
    #[rhai_fn(name = "confirm", return_raw)]
    pub fn confirm(ctx: NativeCallContext, question: &str) -> Result<bool, Box<EvalAltResult>> {
        let s = super::session(&ctx)?;
        if s.options.yes || s.effects.is_plan() {
            return Ok(true);
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(super::rt_err(
                &ctx,
                format!("{question} (no terminal to ask on: pass --yes to confirm)"),
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
    /// state_dir}` (`stages`: the script's, in order).
    ///
    /// ```rhai
    /// let i = run_info();
    /// assert(i.jobs >= 1);
    /// ```
    #[rhai_fn(name = "run_info", return_raw)]
    pub fn run_info(ctx: NativeCallContext) -> Result<Map, Box<EvalAltResult>> {
        let s = super::session(&ctx)?;
        let mut m = Map::new();
        let opt = |v: &Option<String>| v.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT);
        m.insert("plan".into(), s.effects.is_plan().into());
        m.insert("run_id".into(), opt(&s.effects.run_id()));
        m.insert(
            "script".into(),
            opt(&s.options.script.as_ref().map(|p| p.display().to_string())),
        );
        m.insert("profile".into(), opt(&s.options.profile));
        m.insert("target".into(), opt(&s.options.target));
        m.insert("jobs".into(), (s.jobs() as i64).into());
        m.insert(
            "stages".into(),
            s.stages()
                .iter()
                .map(|x| Dynamic::from(x.clone()))
                .collect::<Array>()
                .into(),
        );
        m.insert("yes".into(), s.options.yes.into());
        m.insert(
            "graph".into(),
            opt(&s.options.graph.as_ref().map(|p| p.display().to_string())),
        );
        m.insert(
            "state_dir".into(),
            crate::paths::state_dir().display().to_string().into(),
        );
        Ok(m)
    }

    /// Whether the script file at `path` defines a function `name` (hooks of a profile variant).
    ///
    /// ```rhai
    /// assert(!script_has_fn("/nonexistent.rhai", "after_l1"));
    /// ```
    pub fn script_has_fn(path: &str, name: &str) -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| rt_err(&ctx, format!("cannot read {path}: {e}")))?;
        let mut ast = ctx
            .engine()
            .compile(&text)
            .map_err(|e| rt_err(&ctx, format!("{path}: {e}")))?;
        ast.set_source(path);
        let mut scope = rhai::Scope::new();
        ctx.engine()
            .call_fn::<Dynamic>(&mut scope, &ast, name, args)
            .map_err(|e| {
                let d = Diagnostic::from_eval(&e, Some(path));
                rt_err(&ctx, format!("in {path}, {name}: {}", d.message))
            })
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

    /// Records that the check `name` failed, with `detail`: counted as failed in the recap and
    /// journaled, as a failed change is (preflight reports each failed check so).
    ///
    /// ```rhai
    /// if plan_mode() { failed_check("example check", "shown in the recap"); }
    /// ```
    #[rhai_fn(name = "failed_check", return_raw)]
    pub fn failed_check(
        ctx: NativeCallContext,
        name: &str,
        detail: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        super::session(&ctx)?.effects.check_failed(name, detail);
        Ok(())
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
    pub fn styled(
        ctx: NativeCallContext,
        kind: &str,
        text: &str,
    ) -> Result<String, Box<EvalAltResult>> {
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
                    format!("styled: kind {other:?} must be pass, ok, warn, fail, dim or bold"),
                ))
            }
        };
        Ok(super::session(&ctx)?
            .effects
            .printer()
            .paint_out(tone, text))
    }

    /// The environment variable `name`, or `()` when it is not set.
    ///
    /// ```rhai
    /// let home = env("HOME");
    /// ```
    #[rhai_fn(name = "env")]
    pub fn env(name: &str) -> Dynamic {
        std::env::var(name)
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT)
    }

    /// The environment variable `name`, or `default` when it is not set.
    ///
    /// ```rhai
    /// let editor = env("EDITOR", "vi");
    /// ```
    #[rhai_fn(name = "env")]
    pub fn env_or(name: &str, default: Dynamic) -> Dynamic {
        std::env::var(name).map(Dynamic::from).unwrap_or(default)
    }

    /// Pauses for `seconds` (a Ctrl-C ends the pause).
    ///
    /// ```rhai
    /// sleep(0.01);
    /// ```
    #[rhai_fn(name = "sleep", return_raw)]
    pub fn sleep_float(ctx: NativeCallContext, seconds: f64) -> Result<(), Box<EvalAltResult>> {
        if !(0.0..=1e7).contains(&seconds) {
            return Err(super::rt_err(
                &ctx,
                format!("sleep: {seconds} is not a number of seconds"),
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
    pub fn sleep_int(ctx: NativeCallContext, seconds: i64) -> Result<(), Box<EvalAltResult>> {
        sleep_float(ctx, seconds as f64)
    }

    /// Lists the modules and global functions.
    ///
    /// ```rhai
    /// help();
    /// ```
    #[rhai_fn(name = "help")]
    pub fn help(ctx: NativeCallContext) {
        let cat = crate::engine::catalog::Catalog::full(ctx.engine());
        if let Ok(s) = super::session(&ctx) {
            s.effects.printer().out(&crate::doc::overview(&cat));
        }
    }

    /// Shows the signature, doc and example of a function (`"run"`, `"virt::domain_ensure"`) or
    /// lists a module's functions (`"virt"`).
    ///
    /// ```rhai
    /// help("par_map");
    /// ```
    #[rhai_fn(name = "help", return_raw)]
    pub fn help_topic(ctx: NativeCallContext, topic: &str) -> Result<(), Box<EvalAltResult>> {
        let cat = crate::engine::catalog::Catalog::full(ctx.engine());
        let text = crate::doc::topic(&cat, topic).map_err(|e| super::rt_err(&ctx, e))?;
        super::session(&ctx)?.effects.printer().out(&text);
        Ok(())
    }

    /// Stops with `message`, a mistake in what the user gave (a profile, a target) that names
    /// its own file and key: it is shown as it is, without the stdlib's frames.
    ///
    /// ```rhai
    /// try { fail("profile.rhai: ocp.workers: -1 must be 0 or more"); } catch (e) { }
    /// ```
    #[rhai_fn(name = "fail", return_raw)]
    pub fn fail(ctx: NativeCallContext, message: &str) -> Result<(), Box<EvalAltResult>> {
        crate::session::user_error(message, None);
        Err(Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(message.to_string()),
            ctx.call_position(),
        )))
    }

    /// `fail` with `advice`: what to do before running again, said instead of the command that
    /// continues from the stage.
    ///
    /// ```rhai
    /// try { fail("domain x belongs to lab y", "tear lab y down, or rename this lab"); } catch (e) { }
    /// ```
    #[rhai_fn(name = "fail", return_raw)]
    pub fn fail_advice(
        ctx: NativeCallContext,
        message: &str,
        advice: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        crate::session::user_error(message, Some(advice));
        Err(Box::new(EvalAltResult::ErrorRuntime(
            Dynamic::from(message.to_string()),
            ctx.call_position(),
        )))
    }

    /// Fails with "assertion failed" unless `cond` is true.
    ///
    /// ```rhai
    /// assert(1 < 2);
    /// ```
    #[rhai_fn(name = "assert", return_raw)]
    pub fn assert(ctx: NativeCallContext, cond: bool) -> Result<(), Box<EvalAltResult>> {
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
    pub fn assert_msg(
        ctx: NativeCallContext,
        cond: bool,
        message: &str,
    ) -> Result<(), Box<EvalAltResult>> {
        if cond {
            Ok(())
        } else {
            Err(super::rt_err(&ctx, format!("assertion failed: {message}")))
        }
    }

    /// Fails, showing both values, unless `left` equals `right`.
    ///
    /// ```rhai
    /// assert_eq([1, #{a: "b"}], [1, #{a: "b"}]);
    /// ```
    #[rhai_fn(name = "assert_eq", return_raw)]
    pub fn assert_eq(
        ctx: NativeCallContext,
        left: Dynamic,
        right: Dynamic,
    ) -> Result<(), Box<EvalAltResult>> {
        if super::eq_values(&left, &right) {
            Ok(())
        } else {
            Err(super::rt_err(
                &ctx,
                format!(
                    "assertion failed: left == right\n    left:  {}\n    right: {}",
                    super::value::literal(&left),
                    super::value::literal(&right)
                ),
            ))
        }
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
    ) -> Result<(), Box<EvalAltResult>> {
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
}
