//! Programs: `run` (an argument vector) and `sh` (a shell line), through the effects seam, with
//! their options; the environment they see (`env`).

use super::Res;
use crate::effects::process::{self, Arg, Command};
use crate::effects::Op;
use crate::error::Error;
use crate::modules::opts::{one_of, option_spec, to_word, OptArg, OptField, OptionSpec, Seconds};
use crate::session::{rt_err, to_map, with_effects};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map};
use std::collections::BTreeMap;

option_spec! {
    /// The options of `run` and `sh`.
    pub struct RunOpts {
        /// Seconds before the program is stopped (default: none).
        timeout: Option<Seconds>,
        /// The folder it runs in.
        cwd: Option<String>,
        /// Environment variables added, each a string or a secret.
        env: BTreeMap<String, OptArg>,
        /// Its output not streamed (default false).
        quiet: Option<bool>,
        /// A non-zero exit fails (default true).
        check: Option<bool>,
        /// Only reads: runs in a plan too (default false).
        read: Option<bool>,
        /// Its input, a string or a secret.
        stdin: Option<OptArg>,
        /// The prefix of its streamed lines (default: the program's name).
        prefix: Option<String>,
        /// The most output kept: a size ("16M") or a number of bytes.
        max_output: MaxOutput,
    }
}

/// The option maps of `run` and `sh`.
pub const OPTIONS: &[(&str, &[OptField])] = &[("run", RunOpts::FIELDS), ("sh", RunOpts::FIELDS)];

one_of!(
    /// A size ("16M") or a number of bytes.
    MaxOutput,
    "int or string (a size)"
);

fn run_impl(ctx: &NativeCallContext, func: &str, argv: Vec<Arg>, opts: Map) -> Res<Map> {
    let o = RunOpts::read(func, opts).map_err(|e| rt_err(ctx, e))?;
    let err = |e: crate::error::Error| rt_err(ctx, e);
    let mut cmd = Command::new(argv);
    if cmd.argv.is_empty() {
        return Err(err(Error::invalid(format!("{func}: the command is empty"))));
    }
    cmd.timeout = o.timeout.map(|t| t.0);
    cmd.cwd = o.cwd.map(Into::into);
    cmd.env = o.env.into_iter().map(|(k, v)| (k, v.0)).collect();
    cmd.stdin = o.stdin.map(|a| a.0);
    cmd.max_output = max_output(func, Some(&o.max_output.0)).map_err(err)?;
    let quiet = o.quiet.unwrap_or(false);
    let check = o.check.unwrap_or(true);
    let read = o.read.unwrap_or(false);
    if !quiet {
        cmd.stream = Some(o.prefix.unwrap_or_else(|| cmd.program_name()));
    }
    let target = cmd.display();
    exec_checked(ctx, func, cmd, target, check, read)
}

/// The `max_output` option: a size ("16M") or a number of bytes, at most what one string of a
/// script may hold (the output comes back as one).
fn max_output(func: &str, v: Option<&Dynamic>) -> Result<Option<u64>, Error> {
    let Some(v) = v.filter(|v| !v.is_unit()) else {
        return Ok(None);
    };
    let n = if let Ok(i) = v.as_int() {
        u64::try_from(i)
            .map_err(|_| Error::invalid(format!("{func}: option 'max_output' is negative: {i}")))?
    } else if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        crate::util::size::parse_size(&s)
            .map_err(|e| e.context(format!("{func}: option 'max_output'")))?
    } else {
        return Err(Error::invalid(format!(
            "{func}: option 'max_output' must be a size such as \"16M\" or a number of bytes, not {}",
            crate::modules::opts::type_name(v)
        )));
    };
    let most = process::MAX_OUTPUT_OPTION;
    if n > most {
        return Err(Error::invalid(format!(
            "{func}: option 'max_output' is {}, more than a script's string may hold ({}): \
             have the program write its output to a file instead (sh(\"prog > file\"))",
            crate::util::size::shown(n),
            crate::util::size::shown(most)
        )));
    }
    Ok(Some(n))
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
    let (out, planned) = with_effects(ctx, |fx| {
        // A non-zero exit of a checked command is a failure, recorded as one.
        let exec = || {
            fx.exec(&cmd).and_then(|o| {
                if check && o.code != 0 {
                    Err(crate::effects::Error::failed(o.failure(&target)))
                } else {
                    Ok(o)
                }
            })
        };
        let out = if read {
            fx.read(op, exec)
        } else {
            fx.change(op, exec, process::Output::planned)
        };
        out.map(|o| (o, fx.is_plan() && !read))
    })?;
    output_map(ctx, planned, &out)
}

/// `#{code, stdout, stderr}` of a command (and `planned: true` when a plan only showed it).
pub fn output_map(ctx: &NativeCallContext, planned: bool, out: &process::Output) -> Res<Map> {
    let mut m = to_map(ctx, out)?;
    if planned {
        m.insert("planned".into(), true.into());
    }
    Ok(m)
}

/// The words of a command line; a secret among them is refused, naming its place.
fn argv_of(ctx: &NativeCallContext, argv: Array) -> Res<Vec<Arg>> {
    const INSTEAD: &str = "give it to the program on its input, run([..], #{stdin: s}), or in its environment, run([..], #{env: #{VAR: s}}), and have the program read it from there";
    argv.iter()
        .enumerate()
        .map(|(i, v)| {
            to_word(v, INSTEAD)
                .map(Arg::Plain)
                .map_err(|e| rt_err(ctx, e.map_message(|m| format!("run: argv[{i}] {m}"))))
        })
        .collect()
}

#[export_module]
pub mod process_fns {
    /// Runs a program from an argument vector (no shell), streams its output prefixed with the
    /// program's name, and returns `#{code, stdout, stderr}`. A non-zero exit is an error.
    /// In plan mode the command is shown, not run, and the result is `#{code: 0, stdout: "",
    /// stderr: "", planned: true}`. A secret is refused among the words, where every local user
    /// could read it in the process list: give it with the options `stdin` or `env`.
    ///
    /// ```rhai
    /// let r = run(["echo", "hello"]);
    /// if !plan_mode() { assert_eq(r.stdout, "hello\n"); }
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run(ctx: NativeCallContext, argv: Array) -> Res<Map> {
        let argv = super::argv_of(&ctx, argv)?;
        super::run_impl(&ctx, "run", argv, Map::new())
    }

    /// `run` with options: `timeout` (seconds), `cwd`, `env` (map; values may be secrets),
    /// `stdin` (a string or a secret), `quiet` (no streaming), `prefix` (for streamed lines),
    /// `check` (false: a non-zero exit is returned in `code`, not raised), `read` (true: the
    /// command changes nothing, so it runs in plan mode too and is not counted as a change),
    /// `max_output` (the most of each of stdout and stderr kept, "8M" unless given, at most
    /// "16M": a program that writes more is an error naming the file under the state folder that
    /// holds its whole output).
    ///
    /// ```rhai
    /// let r = run(["sh", "-c", "exit 3"], #{check: false, quiet: true, timeout: 10});
    /// if !plan_mode() { assert_eq(r.code, 3); }
    /// let v = run(["uname", "-s"], #{read: true, quiet: true});
    /// assert_eq(v.stdout, "Linux\n");
    /// // A secret goes on the program's input or in its environment, never among the words.
    /// let token = secret("doc-token", #{generate: true});
    /// let n = run(["wc", "-c"], #{stdin: token, read: true, quiet: true});
    /// assert_eq(n.stdout, "24\n");
    /// run(["sh", "-c", "test -n \"$TOKEN\""], #{env: #{TOKEN: token}, quiet: true});
    /// let big = run(["head", "-c", "9000000", "/dev/zero"], #{read: true, quiet: true, max_output: "16M"});
    /// assert_eq(big.stdout.len(), 9000000);
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_opts(ctx: NativeCallContext, argv: Array, opts: Map) -> Res<Map> {
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
    pub fn sh(ctx: NativeCallContext, script: &str) -> Res<Map> {
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
    pub fn sh_opts(ctx: NativeCallContext, script: &str, opts: Map) -> Res<Map> {
        super::run_impl(
            &ctx,
            "sh",
            vec!["sh".into(), "-c".into(), script.into()],
            opts,
        )
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
}
