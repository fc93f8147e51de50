//! Redfish: one configured sushy-emulator serving the lab's domains behind HTTP basic auth, and
//! curl as its client (the systems, their power).

use super::client::{run_with_input, tool};
use crate::effects::process::{Arg, Command};
use crate::effects::secret::Secret;
use crate::effects::{Effects, Op};
use crate::error::{Context, Error};
use base64::Engine;
use serde_json::{json, Value};
use std::os::unix::ffi::OsStrExt;

/// The HTTP basic-auth credentials of a Redfish service.
#[derive(Clone, Debug)]
pub struct Auth {
    pub username: String,
    pub password: Secret,
}

impl Auth {
    /// A curl configuration (read with `-K -` from curl's input) that gives the credentials:
    /// `user = "NAME:PASSWORD"`, in a quoted string where `\\`, `\"`, `\t`, `\n`, `\r` and
    /// `\v` are read back as what they stand for (curl/curl, src/tool_parsecfg.c, curl-7_88_1:
    /// unslashquote).
    pub fn curl_config(&self) -> Secret {
        let mut quoted = String::new();
        for c in format!("{}:{}", self.username, self.password.expose()).chars() {
            match c {
                '\\' => quoted.push_str("\\\\"),
                '"' => quoted.push_str("\\\""),
                '\t' => quoted.push_str("\\t"),
                '\n' => quoted.push_str("\\n"),
                '\r' => quoted.push_str("\\r"),
                '\x0b' => quoted.push_str("\\v"),
                c => quoted.push(c),
            }
        }
        Secret::new(self.password.name(), &format!("user = \"{quoted}\"\n"))
    }
}

fn curl(
    fx: &Effects,
    method: &str,
    url: &str,
    body: Option<&Value>,
    auth: Option<&Auth>,
) -> Result<Value, Error> {
    let mut argv: Vec<Arg> = vec![
        tool("curl", "LABSH_CURL").into(),
        "-sS".into(),
        "--max-time".into(),
        "30".into(),
        "-X".into(),
        method.into(),
    ];
    if let Some(b) = body {
        argv.extend([
            "-H".into(),
            "Content-Type: application/json".into(),
            "-d".into(),
            b.to_string().into(),
        ]);
    }
    // The credentials go on curl's input, never its command line (`-u` would show them to
    // every local user).
    let stdin = auth.map(|a| {
        argv.extend(["-K".into(), "-".into()]);
        Arg::Secret(a.curl_config())
    });
    argv.extend(["-w".into(), "\n%{http_code}".into(), url.into()]);
    let out = run_with_input(fx, argv, stdin)?;
    let (text, code) = out.stdout.rsplit_once('\n').unwrap_or(("", "0"));
    let code: u16 = code.trim().parse().unwrap_or(0);
    if !(200..300).contains(&code) {
        return Err(Error::new(
            crate::error::Kind::of_http_status(code),
            format!(
                "{method} {url}: HTTP {code}: {}",
                text.chars().take(300).collect::<String>()
            ),
        ));
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).with_context(|| format!("{method} {url}: not JSON"))
}

/// A system of a Redfish service.
#[derive(serde::Serialize)]
pub struct System {
    pub id: String,
    pub name: String,
    /// Its PowerState: On, Off, ...
    pub power: String,
}

/// The systems a Redfish service lists, with their power state; `auth`: its credentials.
pub fn redfish_systems(
    fx: &Effects,
    base: &str,
    auth: Option<&Auth>,
) -> Result<Vec<System>, Error> {
    let base = base.trim_end_matches('/');
    let list = fx.read(Op::new("bmc.redfish.systems", base), || {
        curl(fx, "GET", &format!("{base}/redfish/v1/Systems"), None, auth)
    })?;
    let mut out = Vec::new();
    for m in list["Members"].as_array().cloned().unwrap_or_default() {
        let Some(path) = m["@odata.id"].as_str() else {
            continue;
        };
        let sys = fx.read(Op::new("bmc.redfish.system", path), || {
            curl(fx, "GET", &format!("{base}{path}"), None, auth)
        })?;
        let text = |key: &str| sys[key].as_str().unwrap_or("").to_string();
        out.push(System {
            id: text("Id"),
            name: text("Name"),
            power: text("PowerState"),
        });
    }
    Ok(out)
}

/// POST Actions/ComputerSystem.Reset with ResetType (On, ForceOff, GracefulShutdown, ForceRestart).
pub fn redfish_reset(
    fx: &Effects,
    base: &str,
    system_id: &str,
    reset_type: &str,
    auth: Option<&Auth>,
) -> Result<(), Error> {
    let base = base.trim_end_matches('/');
    let url = format!("{base}/redfish/v1/Systems/{system_id}/Actions/ComputerSystem.Reset");
    fx.change(
        Op::new(
            format!("bmc.redfish.{reset_type}"),
            format!("{base} {system_id}"),
        ),
        || {
            let body = json!({ "ResetType": reset_type });
            curl(fx, "POST", &url, Some(&body), auth).map(|_| ())
        },
        || (),
    )
}

/// The Redfish emulator (sushy-tools) as a background process of labsh's, by PID file.
pub fn sushy_ensure(
    fx: &Effects,
    address: &str,
    port: u16,
    libvirt_uri: &str,
    pid_file: &str,
) -> Result<bool, Error> {
    let base = format!("http://{address}:{port}");
    let target = format!("sushy-emulator {base}");
    if fx
        .read(Op::new("bmc.redfish.probe", &base), || {
            curl(fx, "GET", &format!("{base}/redfish/v1"), None, None)
        })
        .is_ok()
    {
        fx.unchanged(Op::new("bmc.sushy.start", &target));
        return Ok(false);
    }
    fx.change(
        Op::new("bmc.sushy.start", &target)
            .arg("libvirt_uri", libvirt_uri)
            .arg("pid_file", pid_file),
        || {
            let args = vec![
                "-i".into(),
                address.into(),
                "-p".into(),
                port.to_string().into(),
                "--libvirt-uri".into(),
                libvirt_uri.into(),
            ];
            start_and_wait(fx, args, pid_file, &base)
        },
        || (),
    )?;
    Ok(true)
}

/// One system a configured Redfish emulator serves: the domain's UUID and its disk's size (what
/// Redfish inspection reads as the node's disk).
#[derive(Clone, Debug)]
pub struct RedfishSystem {
    pub uuid: String,
    pub disk_bytes: u64,
}

/// A Redfish emulator as the lab wants it: on `address`:`port` for `libvirt_uri`, serving only
/// `systems`, behind HTTP basic auth for `username`/`password`.
#[derive(Clone, Debug)]
pub struct SushySpec {
    pub address: String,
    pub port: u16,
    pub libvirt_uri: String,
    pub pid_file: String,
    pub config: String,
    pub username: String,
    pub password: Secret,
    pub systems: Vec<RedfishSystem>,
}

fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// sushy-emulator's configuration for `spec` (a Python file). The emulator links each system's
/// Storage but serves it only from this static part (without it, Ironic's Redfish inspection
/// fails on an answer 500), so each system's disk is described here.
pub fn sushy_config(spec: &SushySpec, htpasswd: &str, state_dir: &str) -> String {
    let uuids: Vec<String> = spec.systems.iter().map(|s| py_str(&s.uuid)).collect();
    let mut storage = String::new();
    let mut drives = String::new();
    let mut volumes = String::new();
    for s in &spec.systems {
        let u = py_str(&s.uuid);
        storage.push_str(&format!(
            "    {u}: [{{'Id': '1', 'Name': 'Local Storage Controller', 'StorageControllers': [{{'MemberId': '0', 'Name': 'Virtual RAID', 'SpeedGbps': 12}}], 'Drives': ['vda']}}],\n"
        ));
        drives.push_str(&format!(
            "    ({u}, '1'): [{{'Id': 'vda', 'Name': 'vda', 'CapacityBytes': {}, 'Protocol': 'SATA'}}],\n",
            s.disk_bytes
        ));
        volumes.push_str(&format!("    ({u}, '1'): [],\n"));
    }
    format!(
        "# Written by labsh for the lab's Redfish BMCs; changed by labsh only.\n\
         SUSHY_EMULATOR_LISTEN_IP = {}\n\
         SUSHY_EMULATOR_LISTEN_PORT = {}\n\
         SUSHY_EMULATOR_LIBVIRT_URI = {}\n\
         SUSHY_EMULATOR_ALLOWED_INSTANCES = [{}]\n\
         SUSHY_EMULATOR_AUTH_FILE = {}\n\
         SUSHY_EMULATOR_STATE_DIR = {}\n\
         SUSHY_EMULATOR_STORAGE = {{\n{storage}}}\n\
         SUSHY_EMULATOR_DRIVES = {{\n{drives}}}\n\
         SUSHY_EMULATOR_VOLUMES = {{\n{volumes}}}\n",
        py_str(&spec.address),
        spec.port,
        py_str(&spec.libvirt_uri),
        uuids.join(", "),
        py_str(htpasswd),
        py_str(state_dir),
    )
}

/// Starts sushy-emulator with `args`, a background service of labsh's (its output in
/// `pid_file`.log, its PID in `pid_file`), and waits up to 30 s for it to answer HTTP on `base`
/// (401 counts: it answers before credentials are checked), giving up as soon as it exits. In
/// the state folder its log and PID file are 0600 and what it makes there (its state folder)
/// its user's alone.
fn start_and_wait(fx: &Effects, args: Vec<Arg>, pid_file: &str, base: &str) -> Result<(), Error> {
    let log = format!("{pid_file}.log");
    if let Some(dir) = std::path::Path::new(pid_file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        #[expect(
            clippy::disallowed_methods,
            reason = "called inside Effects::change: the folder of the emulator's PID file and log"
        )]
        crate::effects::files::make_dir(dir)?;
    }
    let mut argv: Vec<Arg> = vec![tool("sushy-emulator", "LABSH_SUSHY").into()];
    argv.extend(args);
    let mut cmd = Command::new(argv);
    cmd.private = crate::paths::in_state(std::path::Path::new(pid_file));
    let pid = fx
        .spawn_detached(&cmd, std::path::Path::new(&log))
        .map_err(|e| {
            if e.is_not_found() {
                e.map_message(|m| format!("{m} (pip install sushy-tools)"))
            } else {
                e
            }
        })?;
    #[expect(
        clippy::disallowed_methods,
        reason = "the emulator's PID file, written as it starts, inside the Effects::change that starts it"
    )]
    crate::effects::files::write_now(pid_file, &pid.to_string(), false)?;
    let probe = Command::new([
        tool("curl", "LABSH_CURL").as_str(),
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "2",
        &format!("{base}/redfish/v1/Systems"),
    ]);
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(30) {
        if let Ok(o) = fx.exec(&probe) {
            if o.stdout == "401" || o.stdout == "200" {
                return Ok(());
            }
        }
        if pid_alive(pid_file).is_none() {
            return Err(Error::failed(format!(
                "sushy-emulator exited before it answered on {base}; see {log}"
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(Error::timed_out(format!(
        "sushy-emulator did not answer on {base} within 30 s; see {log}"
    )))
}

/// The PID in `pid_file` when that process is running and is the emulator labsh starts (an
/// argument of its command line is the emulator's program): a PID file left from before a
/// reboot may name another program now, which is neither asked about nor stopped.
/// Whether the Redfish emulator recorded in `pid_file` is running.
pub fn running(pid_file: &str) -> bool {
    pid_alive(pid_file).is_some()
}

fn pid_alive(pid_file: &str) -> Option<String> {
    let pid = crate::util::read::text(pid_file).ok()?.trim().to_string();
    let stat = crate::util::read::text(format!("/proc/{pid}/stat")).ok()?;
    // A zombie (state Z) is gone.
    let state = stat
        .rsplit_once(')')
        .map(|(_, r)| r.trim_start().chars().next());
    if state == Some(Some('Z')) {
        return None;
    }
    let program = tool("sushy-emulator", "LABSH_SUSHY");
    let name = std::path::Path::new(&program).file_name()?;
    let cmdline = crate::util::read::bytes(format!("/proc/{pid}/cmdline")).ok()?;
    cmdline
        .split(|b| *b == 0)
        .any(|a| std::path::Path::new(std::ffi::OsStr::from_bytes(a)).file_name() == Some(name))
        .then_some(pid)
}

/// The Redfish emulator as `spec` says: its configuration and password file written (0600; the
/// password file keeps its bcrypt hash while it still matches the password), then started, or
/// started again when its configuration changed. Returns whether anything changed.
pub fn sushy_configured(fx: &Effects, spec: &SushySpec) -> Result<bool, Error> {
    let htpasswd = format!("{}.htpasswd", spec.config);
    let state_dir = format!("{}.state", spec.config);
    let keep = crate::util::read::text(&htpasswd).ok().and_then(|t| {
        let line = t.lines().next()?.to_string();
        let (user, hash) = line.split_once(':')?;
        (user == spec.username && bcrypt::verify(spec.password.expose(), hash).unwrap_or(false))
            .then_some(t)
    });
    let pw_text = match keep {
        Some(t) => t,
        None => format!(
            "{}:{}\n",
            spec.username,
            bcrypt::hash(spec.password.expose(), 6).context("bcrypt")?
        ),
    };
    let pw_changed = crate::effects::files::ensure_file(
        fx,
        &htpasswd,
        &pw_text,
        true,
        Some(json!(format!("{}:{}", spec.username, spec.password.mask()))),
    )?;
    let text = sushy_config(spec, &htpasswd, &state_dir);
    let cfg_changed = crate::effects::files::ensure_file(fx, &spec.config, &text, true, None)?;
    let base = format!("http://{}:{}", spec.address, spec.port);
    let target = format!("sushy-emulator {base}");
    let running = pid_alive(&spec.pid_file);
    if running.is_some() && !pw_changed && !cfg_changed {
        fx.unchanged(Op::new("bmc.sushy.start", &target));
        sushy_prime(fx, spec)?;
        return Ok(false);
    }
    fx.change(
        Op::new(
            if running.is_some() {
                "bmc.sushy.restart"
            } else {
                "bmc.sushy.start"
            },
            &target,
        )
        .arg("config", &spec.config)
        .arg("systems", spec.systems.len()),
        || {
            if let Some(pid) = &running {
                crate::effects::process::terminate(pid)?;
                let t0 = std::time::Instant::now();
                while pid_alive(&spec.pid_file).is_some()
                    && t0.elapsed() < std::time::Duration::from_secs(10)
                {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "inside Effects::change: the emulator's state folder, made before it starts"
            )]
            crate::effects::files::make_dir(std::path::Path::new(&state_dir))?;
            start_and_wait(
                fx,
                vec!["--config".into(), spec.config.as_str().into()],
                &spec.pid_file,
                &base,
            )
        },
        || (),
    )?;
    sushy_prime(fx, spec)?;
    Ok(true)
}

/// Asks the emulator once for each system: the first time, sushy-tools writes its
/// default BIOS and firmware settings into the domain's definition, so that change happens while
/// the lab builds its domains (whose definitions the l1 stage keeps), not during an inspection.
fn sushy_prime(fx: &Effects, spec: &SushySpec) -> Result<(), Error> {
    if fx.is_plan() {
        return Ok(());
    }
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            spec.username,
            spec.password.expose()
        ))
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    for s in &spec.systems {
        // The system's answer reads its BIOS and firmware settings (writing the defaults once).
        {
            let url = format!(
                "http://{}:{}/redfish/v1/Systems/{}",
                spec.address, spec.port, s.uuid
            );
            let status = fx.read(Op::new("bmc.redfish.system", &url), || {
                agent
                    .get(&url)
                    .header("Authorization", &auth)
                    .call()
                    .map(|r| r.status().as_u16())
                    .with_context(|| format!("GET {url}"))
            })?;
            if !(200..300).contains(&status) {
                return Err(Error::new(crate::error::Kind::of_http_status(status), format!(
                    "GET {url}: HTTP {status} (the emulator does not serve this system, or refuses the BMC password)"
                )));
            }
        }
    }
    Ok(())
}

/// Stops the Redfish emulator started with `pid_file`. A PID file whose process is gone, or is
/// no longer the emulator, is removed without stopping anything; a damaged one is refused.
pub fn sushy_stop(fx: &Effects, pid_file: &str) -> Result<bool, Error> {
    let Ok(raw) = crate::util::read::text(pid_file) else {
        fx.unchanged(Op::new("bmc.sushy.stop", pid_file));
        return Ok(false);
    };
    let raw = raw.trim().to_string();
    let running = pid_alive(pid_file);
    #[expect(
        clippy::disallowed_methods,
        reason = "the change that stops the emulator removes its PID file"
    )]
    fx.change(
        Op::new("bmc.sushy.stop", pid_file).arg("pid", &raw),
        || {
            match &running {
                Some(pid) => crate::effects::process::terminate(pid)?,
                // terminate refuses what is not a process id.
                None if raw.parse::<u32>().map_or(true, |n| n == 0) => {
                    crate::effects::process::terminate(&raw)?
                }
                None => {}
            }
            std::fs::remove_file(pid_file).with_context(|| format!("cannot remove {pid_file}"))
        },
        || (),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_a_curl_configuration_line_with_its_escapes() {
        let a = Auth {
            username: "admin".into(),
            password: Secret::new("rf-unit", "a\"b\\c\td\ne:f-curl-unit"),
        };
        let c = a.curl_config();
        assert_eq!(
            c.expose(),
            "user = \"admin:a\\\"b\\\\c\\td\\ne:f-curl-unit\"\n"
        );
        assert_eq!(c.mask(), "«secret rf-unit»");
    }

    #[test]
    fn a_pid_file_counts_only_when_it_names_the_emulator() {
        let (dir, prog) = crate::util::testing::temp_file("sushy-emulator", "sleep 30\n");
        let cmd = Command::new(["sh", prog.to_str().unwrap()]);
        let pid = crate::effects::process::spawn_detached(&cmd, &dir.path().join("log")).unwrap();
        let pid_file = dir.path().join("pid");
        let pid_file = pid_file.to_str().unwrap();
        std::fs::write(pid_file, pid.to_string()).unwrap();
        // /proc shows the new command line once sh has started.
        let t0 = std::time::Instant::now();
        while pid_alive(pid_file).is_none() && t0.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(pid_alive(pid_file), Some(pid.to_string()));
        // This test's own process is running but is not the emulator.
        std::fs::write(pid_file, std::process::id().to_string()).unwrap();
        assert_eq!(pid_alive(pid_file), None);
        crate::effects::process::terminate(&pid.to_string()).unwrap();
        std::fs::write(pid_file, pid.to_string()).unwrap();
        let t0 = std::time::Instant::now();
        while pid_alive(pid_file).is_some() && t0.elapsed().as_secs() < 5 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(pid_alive(pid_file), None, "a stopped emulator is gone");
    }
}
