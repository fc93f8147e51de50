//! `ssh`: commands and files on remote hosts through the system ssh client, so ~/.ssh/config,
//! the agent and known_hosts apply. One master connection per host is kept open for a while
//! (ControlMaster), so many small commands are fast. Output streams with the host as prefix.
//! Long commands run as detached jobs on the host (job.rs), followed until they end. This file
//! reads the Rhai values; client.rs reaches the hosts.

use crate::error::Error;

pub mod client;
pub mod job;

pub use client::Host;

use crate::effects::process::{shell_quote, Arg};
use crate::effects::Op;
use crate::modules::core::output_map;
use crate::modules::files::edit;
use crate::modules::opts::{
    one_of, option_spec, to_arg, type_name, OptArg, OptField, OptionSpec, Seconds,
};
use crate::session::{rt_err, to_map, with_effects};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

use crate::session::Res;

/// Parses `"user@host:port"` or `#{host, user, port, identity, connect_timeout, options}`.
pub fn host_of(func: &str, d: &Dynamic) -> Result<Host, Error> {
    if d.is_string() {
        let s = d.clone().into_string().unwrap_or_default();
        let (user, rest) = match s.split_once('@') {
            Some((u, r)) => (Some(u.to_string()), r.to_string()),
            None => (None, s.clone()),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (
                h.to_string(),
                Some(p.parse::<u16>().map_err(|_| {
                    Error::invalid(format!("{func}: {s:?}: the port {p:?} is not a number"))
                })?),
            ),
            _ => (rest, None),
        };
        if host.is_empty() {
            return Err(Error::invalid(format!("{func}: the host is empty")));
        }
        return Ok(Host {
            host,
            user,
            port,
            identity: None,
            connect_timeout: 10,
            options: vec![],
            offline: false,
            via: None,
        });
    }
    let Some(m) = d.read_lock::<Map>().map(|m| m.clone()) else {
        return Err(Error::invalid(format!(
            "{func}: a host is \"user@host[:port]\" or #{{host, user, port, identity}}, not {}",
            type_name(d)
        )));
    };
    let o = HostOpts::read(func, m)?;
    let via = match &o.via.0 {
        v if v.is_unit() => None,
        v => Some(Box::new(host_of(&format!("{func} (via)"), v)?)),
    };
    Ok(Host {
        host: o.host,
        user: o.user,
        port: match o.port {
            Some(p) if (1..=65535).contains(&p) => Some(p as u16),
            Some(p) => return Err(Error::invalid(format!("{func}: port {p} is out of range"))),
            None => None,
        },
        identity: o.identity,
        connect_timeout: o.connect_timeout.unwrap_or(10).max(1) as u64,
        options: o.options,
        offline: o.offline.unwrap_or(false),
        via,
    })
}

option_spec! {
    /// A host given as a map (`ssh::run(#{host, user}, ...)`).
    pub struct HostOpts {
        /// The host name or address.
        host: String,
        /// The login user (default: ssh's).
        user: Option<String>,
        /// The port (default 22).
        port: Option<i64>,
        /// The private key file.
        identity: Option<String>,
        /// Seconds to connect (default 10).
        connect_timeout: Option<i64>,
        /// More `-o` options for ssh.
        options: Vec<String>,
        /// Not reachable yet: a plan shows what it would do there (default false).
        offline: Option<bool>,
        /// A jump host: "user@host[:port]" or a map like this one.
        via: Via,
    }
}

one_of!(
    /// A jump host.
    Via,
    "string or map (a host)"
);

one_of!(
    /// Run as root (true) or as a user (a name).
    Sudo,
    "bool or string (a user)"
);

option_spec! {
    /// The options of `ssh::run`.
    pub struct RunOpts {
        /// Seconds before the command is stopped (default: none).
        timeout: Option<Seconds>,
        /// A non-zero exit fails (default true).
        check: Option<bool>,
        /// Only reads: runs in a plan too (default false).
        read: Option<bool>,
        /// Its output not streamed (default false).
        quiet: Option<bool>,
        /// Run as root (true) or as this user, through sudo.
        sudo: Sudo,
        /// Its input, a string or a secret.
        stdin: Option<OptArg>,
    }
}

option_spec! {
    /// The options of a write or an edit of a remote file.
    pub struct FileOpts {
        /// Its mode, octal such as "0600".
        mode: Option<String>,
        /// Written in place, not through a temporary file renamed over it (default false).
        in_place: Option<bool>,
        /// Written as root (true) or as this user, through sudo.
        sudo: Sudo,
    }
}

option_spec! {
    /// The options of `ssh::job`.
    pub struct JobOpts {
        /// The job's log file on the host (required).
        log: String,
        /// The folder it runs in.
        cwd: Option<String>,
        /// The jobs' folder on the host (default .labsh/jobs).
        dir: Option<String>,
        /// Seconds before it is given up (default: none).
        timeout: Option<Seconds>,
        /// Seconds between looks at it (default 2).
        every: Option<Seconds>,
        /// A non-zero exit fails (default true).
        check: Option<bool>,
    }
}

option_spec! {
    /// The options of `ssh::job_state`.
    pub struct JobStateOpts {
        /// The jobs' folder on the host (default .labsh/jobs).
        dir: Option<String>,
    }
}

/// The option maps of the `ssh` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("run", RunOpts::FIELDS),
    ("write", FileOpts::FIELDS),
    ("put", FileOpts::FIELDS),
    ("ini_set", FileOpts::FIELDS),
    ("hosts_block", FileOpts::FIELDS),
    ("job", JobOpts::FIELDS),
    ("job_state", JobStateOpts::FIELDS),
];

/// The remote command line: a string as is, an array shell-quoted; wrapped in sudo when asked.
fn remote_line(func: &str, cmd: &Dynamic, sudo: &Option<String>) -> Result<String, Error> {
    let line = if cmd.is_string() {
        cmd.clone().into_string().unwrap_or_default()
    } else if cmd.is_array() {
        let mut parts = vec![];
        for a in cmd.clone().into_array().unwrap_or_default() {
            match to_arg(&a)? {
                Arg::Plain(p) => parts.push(shell_quote(&p)),
                Arg::Secret(_) | Arg::SecretFile { .. } => {
                    return Err(Error::refused(format!(
                        "{func}: a secret cannot go on a remote command line (it would show in the remote process list); pass it with #{{stdin: secret}}"
                    )))
                }
            }
        }
        parts.join(" ")
    } else {
        return Err(Error::invalid(format!(
            "{func}: the command is a string or an array, not {}",
            type_name(cmd)
        )));
    };
    client::as_user(func, line, sudo)
}

fn sudo_of(sudo: &Sudo) -> Result<Option<String>, Error> {
    match Some(&sudo.0).filter(|v| !v.is_unit()) {
        None => Ok(None),
        Some(v) if v.is_bool() => Ok(v.as_bool().unwrap_or(false).then(|| "root".to_string())),
        Some(v) if v.is_string() => Ok(Some(v.to_string())),
        Some(v) => Err(Error::invalid(format!(
            "option 'sudo' must be true or a user name, not {}",
            type_name(v)
        ))),
    }
}

/// Runs a remote command line with the option map of `ssh::run`.
fn run_remote(ctx: &NativeCallContext, func: &str, h: &Host, cmd: &Dynamic, opts: Map) -> Res<Map> {
    let err = |e: crate::error::Error| rt_err(ctx, e);
    let o = RunOpts::read(func, opts).map_err(err)?;
    let sudo = sudo_of(&o.sudo).map_err(err)?;
    let line = remote_line(func, cmd, &sudo).map_err(err)?;
    let run = client::Run {
        timeout: o.timeout.map(|t| t.0),
        stdin: o.stdin.map(|a| a.0),
        quiet: o.quiet.unwrap_or(false),
        check: o.check.unwrap_or(true),
        read: o.read.unwrap_or(false),
    };
    let (out, planned) = with_effects(ctx, |fx| {
        client::run(fx, func, h, &line, &run).map(|o| (o, fx.is_plan() && !run.read))
    })?;
    output_map(ctx, planned, &out)
}

/// The text of a remote file, or None when it does not exist (a read: runs in plan mode too).
fn remote_text(
    ctx: &NativeCallContext,
    h: &Host,
    path: &str,
    sudo: &Option<String>,
) -> Res<Option<String>> {
    with_effects(ctx, |fx| client::read_text(fx, h, path, sudo))
}

/// The host of a binding's call; a mistake in it is an error at the call.
fn host_at(ctx: &NativeCallContext, func: &str, host: &Dynamic) -> Res<Host> {
    host_of(func, host).map_err(|e| rt_err(ctx, e))
}

/// The host and the options of a write of a remote file.
fn write_of(
    ctx: &NativeCallContext,
    func: &str,
    host: &Dynamic,
    opts: Map,
) -> Res<(Host, client::Write)> {
    let h = host_at(ctx, func, host)?;
    let w = file_opts(func, opts).map_err(|e| rt_err(ctx, e))?;
    Ok((h, w))
}

/// The host and the `sudo` option of an edit of a remote file.
fn edit_of(
    ctx: &NativeCallContext,
    func: &str,
    host: &Dynamic,
    opts: Map,
) -> Res<(Host, Option<String>)> {
    write_of(ctx, func, host, opts).map(|(h, w)| (h, w.sudo))
}

/// The options of a remote file write: `#{mode, in_place, sudo}`.
fn file_opts(func: &str, m: Map) -> Result<client::Write, Error> {
    let o = FileOpts::read(func, m)?;
    let mode = o.mode;
    if let Some(mode) = &mode {
        if !(mode.len() == 3 || mode.len() == 4) || !mode.chars().all(|c| ('0'..='7').contains(&c))
        {
            return Err(Error::invalid(format!(
                "{func}: mode {mode:?} must be octal such as \"0600\""
            )));
        }
    }
    Ok(client::Write {
        mode,
        in_place: o.in_place.unwrap_or(false),
        sudo: sudo_of(&o.sudo)?,
        shown: serde_json::Value::Null,
    })
}

/// In a plan, the step `op` on a file an earlier planned step would make is shown, not done:
/// `true`. Outside a plan, `false`.
fn planned_instead(ctx: &NativeCallContext, op: impl FnOnce() -> Op) -> Res<bool> {
    with_effects(ctx, |fx| {
        if !fx.is_plan() {
            return Ok(false);
        }
        fx.planned_step(op()).map(|()| true)
    })
}

/// How a job ended, as `ssh::job` returns it (`seconds` only where it ran, `planned` only
/// where a plan showed it).
#[derive(serde::Serialize)]
struct JobResult<'a> {
    code: i64,
    attached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    tail: &'a [String],
    log: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    planned: bool,
}

/// What the host says of a job, as `ssh::job_state` returns it.
#[derive(serde::Serialize)]
struct JobState {
    state: &'static str,
    code: Option<i64>,
    same: bool,
}

/// The host, the checked job name and the options of a call of `func` on a job.
fn job_call<T: OptionSpec>(
    ctx: &NativeCallContext,
    func: &str,
    host: &Dynamic,
    name: &str,
    opts: Map,
) -> Res<(Host, T)> {
    let h = host_at(ctx, func, host)?;
    job::check_name(name).map_err(|e| rt_err(ctx, e))?;
    let o = T::read(func, opts).map_err(|e| rt_err(ctx, e))?;
    Ok((h, o))
}

/// The jobs' folder on the host: option `dir`, by default `.labsh/jobs` of the login folder.
fn jobs_dir(dir: Option<String>) -> String {
    dir.unwrap_or_else(|| ".labsh/jobs".into())
}

fn job_view(st: &job::State) -> JobState {
    use job::State;
    let (state, code, same) = match *st {
        State::None => ("none", None, false),
        State::Died => ("died", None, false),
        State::Running { same } => ("running", None, same),
        State::Done { code, same } => ("done", Some(code), same),
    };
    JobState { state, code, same }
}

/// How a host value is read, as `ssh::host` returns it.
#[derive(serde::Serialize)]
struct HostView<'a> {
    host: &'a str,
    user: &'a Option<String>,
    port: Option<u16>,
    label: String,
}

/// Makes a remote file hold `text` as `w` says.
fn remote_write(
    ctx: &NativeCallContext,
    h: &Host,
    path: &str,
    text: &str,
    w: &client::Write,
) -> Res<bool> {
    with_effects(ctx, |fx| client::write_text(fx, h, path, text, w))
}

/// The end of an edit of a remote file just read: `ok` when the edit changes nothing, else the
/// new text written in place (mode and owner kept).
fn finish_edit(
    ctx: &NativeCallContext,
    h: &Host,
    path: &str,
    op: Op,
    new: Option<String>,
    sudo: Option<String>,
    shown: serde_json::Value,
) -> Res<bool> {
    let w = client::Write {
        mode: None,
        in_place: true,
        sudo,
        shown,
    };
    with_effects(ctx, |fx| client::finish_edit(fx, h, path, op, new, &w))
}

/// The ssh host of the lab's node `name` for the lab `--profile` and `--target` name (as
/// stdlib/target.rhai's `setup` resolves it): stdlib/access.rhai's `node`, which `labsh ssh` uses.
fn lab_node(ctx: &NativeCallContext, name: &str) -> Res<Map> {
    let script = format!(
        "import \"target\" as target;\nimport \"access\" as access;\naccess::node(target::setup(run_info()), {})\n",
        serde_json::Value::from(name)
    );
    let ast = ctx
        .engine()
        .compile(&script)
        .map_err(|e| rt_err(ctx, format!("ssh::node: {e}")))?;
    let v = ctx.engine().eval_ast::<Dynamic>(&ast).map_err(|e| {
        // The stdlib's error (an unknown name with its did-you-mean) as it says it, kind and
        // advice kept, shown without the frames of the script made here.
        let d = crate::engine::diag::Diagnostic::from_eval(&e, None);
        let err = match crate::session::error_of(&e) {
            Some(x) => x.map_message(|_| d.message),
            None => Error::failed(d.message),
        };
        rt_err(ctx, err.in_input(None, None))
    })?;
    v.try_cast::<Map>()
        .ok_or_else(|| rt_err(ctx, "ssh::node: access::node gave no host map"))
}

#[export_module]
pub mod ssh_fns {
    /// Runs a command on a host: `"user@host[:port]"` or `#{host, user, port, identity,
    /// connect_timeout, options: ["Key=value"], via}` (`via`: a host this one is reached through,
    /// with that host's own ssh client and keys, as an overcloud node from the director). The command is a shell line or an argument
    /// array (quoted for the remote shell). Output streams prefixed with the host; returns
    /// `#{code, stdout, stderr}`; a non-zero exit is an error naming the host, the exit code and
    /// the last lines. In plan mode the command is shown, not run.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { ssh::run(uc, ["openstack", "server", "list"]); }
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run(ctx: NativeCallContext, host: Dynamic, cmd: Dynamic) -> Res<Map> {
        let h = super::host_at(&ctx, "ssh::run", &host)?;
        super::run_remote(&ctx, "ssh.run", &h, &cmd, Map::new())
    }

    /// `run` with options: `timeout` (seconds), `check` (false: return a failing exit code),
    /// `read` (true: the command changes nothing, so it runs in plan mode too), `quiet`, `sudo`
    /// (true for root, or a user name), `stdin` (text or a secret: the way to pass a secret).
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { ssh::run(uc, "openstack undercloud install", #{timeout: 7200}); }
    /// ```
    #[rhai_fn(name = "run", return_raw)]
    pub fn run_opts(ctx: NativeCallContext, host: Dynamic, cmd: Dynamic, opts: Map) -> Res<Map> {
        let h = super::host_at(&ctx, "ssh::run", &host)?;
        super::run_remote(&ctx, "ssh.run", &h, &cmd, opts)
    }

    /// The text of a remote file (a read: runs in plan mode too); an error when it is missing.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { assert(!ssh::exists(uc, "/home/stack/overcloudrc")); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read(ctx: NativeCallContext, host: Dynamic, path: &str) -> Res<String> {
        let h = super::host_at(&ctx, "ssh::read", &host)?;
        super::remote_text(&ctx, &h, path, &None)?.ok_or_else(|| {
            rt_err(
                &ctx,
                Error::not_found(format!("{path} does not exist on {}", h.label())),
            )
        })
    }

    /// Whether a remote path exists (a read).
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { assert(!ssh::exists(uc, "/home/stack/overcloudrc")); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn exists(ctx: NativeCallContext, host: Dynamic, path: &str) -> Res<bool> {
        let h = super::host_at(&ctx, "ssh::exists", &host)?;
        Ok(super::remote_text(&ctx, &h, path, &None)?.is_some())
    }

    /// Makes a remote file hold `text`; `#{mode: "0600", in_place: true, sudo: true}`. Written
    /// through a temporary file and a rename unless `in_place`, its folder made when missing.
    /// `true` when it changed.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { ssh::write(uc, "/home/stack/undercloud.conf", "[DEFAULT]\n", #{mode: "0644"}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write(
        ctx: NativeCallContext,
        host: Dynamic,
        path: &str,
        text: &str,
        opts: Map,
    ) -> Res<bool> {
        let (h, mut w) = super::write_of(&ctx, "ssh::write", &host, opts)?;
        w.shown = serde_json::json!(format!("{} bytes", text.len()));
        super::remote_write(&ctx, &h, path, text, &w)
    }

    /// Copies a local file to the host (its content compared first: `true` when it changed).
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { ssh::put(uc, "/etc/hostname", "/tmp/hostname", #{mode: "0644"}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn put(
        ctx: NativeCallContext,
        host: Dynamic,
        local: &str,
        remote: &str,
        opts: Map,
    ) -> Res<bool> {
        let (h, mut w) = super::write_of(&ctx, "ssh::put", &host, opts)?;
        let text = match crate::util::read::text(local) {
            Ok(t) => t,
            // In a plan, the file may be one an earlier (planned) step would write.
            Err(_)
                if super::planned_instead(&ctx, || {
                    Op::new("ssh.write", format!("{}:{remote}", h.label()))
                        .arg("content", format!("from {local} (not written yet)"))
                })? =>
            {
                return Ok(true);
            }
            Err(e) => return Err(rt_err(&ctx, e)),
        };
        w.shown = serde_json::json!(format!("from {local}"));
        super::remote_write(&ctx, &h, remote, &text, &w)
    }

    /// Copies a remote file here (mode 0600: fetched files such as overcloudrc hold secrets).
    /// `true` when the local copy changed. A read of the host, so it runs in plan mode; the
    /// local write is planned.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() && ssh::exists(uc, "/home/stack/overcloudrc") { ssh::get(uc, "/home/stack/overcloudrc", "out/overcloudrc"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get(ctx: NativeCallContext, host: Dynamic, remote: &str, local: &str) -> Res<bool> {
        let h = super::host_at(&ctx, "ssh::get", &host)?;
        let text = super::remote_text(&ctx, &h, remote, &None)?.ok_or_else(|| {
            rt_err(
                &ctx,
                Error::not_found(format!("{remote} does not exist on {}", h.label())),
            )
        })?;
        with_effects(&ctx, |fx| {
            crate::effects::files::ensure_file(fx, local, &text, true, None)
        })
    }

    /// Sets `key = value` in `[section]` of a remote INI file, keeping everything else as it is
    /// (comments, order, repeated keys); `#{sudo: true}` for root's files. `true` when it changed.
    ///
    /// ```rhai
    /// let node = #{host: "172.16.0.26", user: "heat-admin", offline: true};
    /// if plan_mode() { ssh::ini_set(node, "/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf", "neutron", "timeout", 300, #{sudo: true}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ini_set(
        ctx: NativeCallContext,
        host: Dynamic,
        path: &str,
        section: &str,
        key: &str,
        value: Dynamic,
        opts: Map,
    ) -> Res<bool> {
        let (h, sudo) = super::edit_of(&ctx, "ssh::ini_set", &host, opts)?;
        let (v, shown_v) = crate::modules::files::ini_value(&value);
        edit::check_ini(section, key, &v).map_err(|e| rt_err(&ctx, e.context("ssh::ini_set")))?;
        let shown = serde_json::json!(format!("[{section}] {key} = {shown_v}"));
        let cur = super::remote_text(&ctx, &h, path, &sudo)?;
        let Some(cur) = cur else {
            if super::planned_instead(&ctx, || {
                Op::new("ssh.ini_set", format!("{}:{path}", h.label())).arg("set", shown)
            })? {
                return Ok(true);
            }
            return Err(rt_err(
                &ctx,
                Error::not_found(format!("{path} does not exist on {}", h.label())),
            ));
        };
        super::finish_edit(
            &ctx,
            &h,
            path,
            Op::new("ssh.ini_set", format!("{}:{path}", h.label())).arg("set", &shown),
            edit::ini_set(&cur, section, key, &v)
                .map_err(|e| rt_err(&ctx, e.context("ssh::ini_set")))?,
            sudo,
            serde_json::json!({"set": shown}),
        )
    }

    /// Makes the block `NAME` of a remote hosts-style file hold `lines` (in place; `#{sudo: true}`
    /// for /etc/hosts). `true` when it changed.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() { ssh::hosts_block(uc, "/etc/hosts", "ocp4", ["192.168.122.164 api.ocp4.osd2019.local"], #{sudo: true}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn hosts_block(
        ctx: NativeCallContext,
        host: Dynamic,
        path: &str,
        name: &str,
        lines: Array,
        opts: Map,
    ) -> Res<bool> {
        let (h, sudo) = super::edit_of(&ctx, "ssh::hosts_block", &host, opts)?;
        let body: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        edit::check_block(name, &body).map_err(|e| rt_err(&ctx, e.context("ssh::hosts_block")))?;
        let cur = super::remote_text(&ctx, &h, path, &sudo)?.unwrap_or_default();
        let new = edit::block_set(&cur, name, &body)
            .map_err(|e| rt_err(&ctx, e.context(format!("{path} on {}", h.label()))))?;
        super::finish_edit(
            &ctx,
            &h,
            path,
            Op::new("ssh.hosts_block", format!("{}:{path}", h.label())).arg("block", name),
            new,
            sudo,
            serde_json::json!({"block": name, "lines": body}),
        )
    }

    /// Runs a long `command` (a shell line) on the host as the detached job `name`, and follows
    /// it to its end: the command runs there in a session of its own with its output in a file
    /// (in `dir`, default `.labsh/jobs` of the login folder), so a labsh that is killed or
    /// interrupted leaves it running, and the next call finds it and waits for it instead of
    /// starting it again. The output is copied to the local file `log` as it arrives; a spinner
    /// shows the elapsed time and the last line. Options: `log` (required), `cwd` (on the host),
    /// `dir`, `timeout` (seconds: the job is stopped), `every` (seconds between looks, default
    /// 2), `check` (default true: a non-zero exit is an error with the last lines). Returns
    /// `#{code, attached, seconds, tail, log}` (`attached`: it was already running). In plan
    /// mode the job is shown, not started.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// if plan_mode() {
    ///     ssh::job(uc, "undercloud-install", "openstack undercloud install", #{log: "/tmp/undercloud-install.log", timeout: 5400});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn job(
        ctx: NativeCallContext,
        host: Dynamic,
        name: &str,
        command: &str,
        opts: Map,
    ) -> Res<Map> {
        let err = |e: crate::error::Error| rt_err(&ctx, e);
        let (h, o): (_, super::JobOpts) = super::job_call(&ctx, "ssh::job", &host, name, opts)?;
        if command.trim().is_empty() {
            return Err(err("ssh::job: the command is empty".into()));
        }
        let spec = super::job::JobSpec {
            name: name.to_string(),
            command: command.to_string(),
            dir: super::jobs_dir(o.dir),
            cwd: o.cwd,
            log: o.log,
            timeout: o.timeout.map(|t| t.0),
            every: o
                .every
                .map_or(std::time::Duration::from_secs(2), |t| t.0)
                .max(std::time::Duration::from_millis(50)),
            check: o.check.unwrap_or(true),
        };
        let shown = Op::new("ssh.job", format!("{}: {name}", h.label()))
            .arg("command", command)
            .arg("log", &spec.log);
        if super::with_effects(&ctx, |fx| {
            super::client::offline(fx, &h, Some(shown), command)
        })? {
            let shown = super::JobResult {
                code: 0,
                attached: false,
                seconds: None,
                tail: &[],
                log: &spec.log,
                planned: true,
            };
            return super::to_map(&ctx, &shown);
        }
        // With `check`, a non-zero exit is judged inside the effect: recorded as failed.
        let (end, planned) = super::with_effects(&ctx, |fx| {
            super::job::run(fx, &h, &spec).map(|end| (end, fx.is_plan()))
        })?;
        let done = super::JobResult {
            code: end.code,
            attached: end.attached,
            seconds: Some(end.seconds),
            tail: &end.tail,
            log: &spec.log,
            planned,
        };
        super::to_map(&ctx, &done)
    }

    /// What the host says of the job `name` (a read): `#{state, code, same}`, `state` one of
    /// "none", "running", "done" (with its exit `code`) or "died" (gone without an exit code);
    /// `same`: it is (or was) `command`. Options: `dir` (as for `job`). A step uses it to see
    /// that its job already ran to success with the same command.
    ///
    /// ```rhai
    /// let uc = #{host: "undercloud", user: "stack", offline: true};
    /// assert_eq(ssh::job_state(uc, "deploy", "openstack overcloud deploy", #{}).state, "none");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn job_state(
        ctx: NativeCallContext,
        host: Dynamic,
        name: &str,
        command: &str,
        opts: Map,
    ) -> Res<Map> {
        let (h, o): (_, super::JobStateOpts) =
            super::job_call(&ctx, "ssh::job_state", &host, name, opts)?;
        use super::job::State;
        if h.is_offline() {
            return super::to_map(&ctx, &super::job_view(&State::None));
        }
        let spec = super::job::JobSpec {
            name: name.to_string(),
            command: command.to_string(),
            dir: super::jobs_dir(o.dir),
            cwd: None,
            log: String::new(),
            timeout: None,
            every: std::time::Duration::from_secs(1),
            check: false,
        };
        let st = super::with_effects(&ctx, |fx| super::job::state(fx, &h, &spec))?;
        super::to_map(&ctx, &super::job_view(&st))
    }

    /// The ssh host of the lab's node `name`, for the lab this run's `--profile` and `--target`
    /// name (stdlib/target.rhai's `setup`), as `labsh ssh NODE` reaches it: the director
    /// ("undercloud") at the target's address; an overcloud node by its host name
    /// (overcloud-controller-0, ...) through the director, at the ctlplane address the director
    /// lists for it (OSP 13's `openstack server list`, OSP 17.1's deploy inventory), as the
    /// release's user (heat-admin on 13, tripleo-admin on 17.1). A name the lab does not have
    /// is an error with a did-you-mean; an OpenShift node's error says how to reach it.
    ///
    /// ```rhai
    /// let uc = ssh::node("undercloud");     // the seed on the sandbox: its director is offline
    /// assert(uc.offline);
    /// let node = ssh::node("overcloud-novacompute-0");
    /// assert_eq(node.user, "heat-admin");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn node(ctx: NativeCallContext, name: &str) -> Res<Map> {
        super::lab_node(&ctx, name)
    }

    /// How a host value is read: `#{host, user, port, label}`.
    ///
    /// ```rhai
    /// assert(ssh::host("stack@undercloud:2222").port == 2222);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn host(ctx: NativeCallContext, host: Dynamic) -> Res<Map> {
        let h = super::host_at(&ctx, "ssh::host", &host)?;
        super::to_map(
            &ctx,
            &super::HostView {
                host: &h.host,
                user: &h.user,
                port: h.port,
                label: h.label(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &Map) -> Vec<&str> {
        m.keys().map(|k| k.as_str()).collect()
    }

    fn map_of(v: impl serde::Serialize) -> Map {
        rhai::serde::to_dynamic(v).unwrap().cast()
    }

    #[test]
    fn job_results_carry_the_keys_scripts_read() {
        let planned = JobResult {
            code: 0,
            attached: false,
            seconds: None,
            tail: &[],
            log: "l",
            planned: true,
        };
        let m = map_of(&planned);
        assert_eq!(keys(&m), ["attached", "code", "log", "planned", "tail"]);
        assert_eq!(m["code"].as_int(), Ok(0));
        let tail = ["last".to_string()];
        let ran = JobResult {
            code: 2,
            attached: true,
            seconds: Some(1.5),
            tail: &tail,
            log: "l",
            planned: false,
        };
        let m = map_of(&ran);
        assert_eq!(keys(&m), ["attached", "code", "log", "seconds", "tail"]);
        assert_eq!(m["seconds"].as_float(), Ok(1.5));
        let st = map_of(job_view(&job::State::Done {
            code: 3,
            same: true,
        }));
        assert_eq!(keys(&st), ["code", "same", "state"]);
        assert_eq!(st["code"].as_int(), Ok(3));
        let none = map_of(job_view(&job::State::None));
        assert!(none["code"].is_unit());
    }

    #[test]
    fn a_host_reads_back_with_int_port_and_unit_user() {
        let h = host_of("t", &Dynamic::from("h:2222")).unwrap();
        let v = HostView {
            host: &h.host,
            user: &h.user,
            port: h.port,
            label: h.label(),
        };
        let m = map_of(&v);
        assert_eq!(keys(&m), ["host", "label", "port", "user"]);
        assert_eq!(m["port"].as_int(), Ok(2222));
        assert!(m["user"].is_unit());
    }
}
