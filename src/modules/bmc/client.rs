//! Virtual BMCs: VirtualBMC (the `vbmc` CLI talking to `vbmcd`) for IPMI with ipmitool as its
//! client, and the node list (instackenv.json) the undercloud imports. Redfish (sushy-tools and
//! curl) is in redfish.rs.

use super::zmtp;
use crate::effects::process::{Arg, Command, Output};
use crate::effects::secret::Secret;
use crate::effects::{Effects, Op};
use crate::error::Error;
use serde_json::{json, Map as JMap, Value};

pub(super) fn tool(name: &str, env_var: &str) -> String {
    std::env::var(env_var).unwrap_or_else(|_| name.to_string())
}

pub(super) fn run(fx: &Effects, argv: Vec<Arg>, env: &[(String, Arg)]) -> Result<Output, Error> {
    let mut cmd = Command::new(argv);
    cmd.env = env.to_vec();
    run_cmd(fx, cmd)
}

/// `run` with `stdin` on the program's input.
pub(super) fn run_with_input(
    fx: &Effects,
    argv: Vec<Arg>,
    stdin: Option<Arg>,
) -> Result<Output, Error> {
    let mut cmd = Command::new(argv);
    cmd.stdin = stdin;
    run_cmd(fx, cmd)
}

fn run_cmd(fx: &Effects, mut cmd: Command) -> Result<Output, Error> {
    cmd.timeout = Some(std::time::Duration::from_secs(60));
    let out = fx.exec(&cmd).map_err(|e| {
        if e.is_not_found() {
            e.map_message(|m| format!(
                "{m} (sushy-emulator: pip install sushy-tools; ipmitool and curl: apt-get install ipmitool curl)"
            ))
        } else {
            e
        }
    })?;
    if out.code != 0 {
        return Err(Error::failed(out.failure(&cmd.display())));
    }
    Ok(out)
}

/// The strings of a JSON array (anything else in it as "").
fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A BMC as `bmc::vbmc_list` shows it.
#[derive(serde::Serialize)]
pub struct VbmcRow {
    pub domain: String,
    pub status: String,
    pub address: String,
    pub port: i64,
}

impl VbmcRow {
    /// From a row of [`Vbmc::list`] (a missing field: "" or 0).
    pub fn of(r: &Value) -> VbmcRow {
        let text = |key: &str| r[key].as_str().unwrap_or("").to_string();
        VbmcRow {
            domain: text("Domain name"),
            status: text("Status"),
            address: text("Address"),
            port: r["Port"].as_i64().unwrap_or(0),
        }
    }
}

/// Where vbmcd listens: the `server_port` of a virtualbmc.conf (`config`, else
/// `$VIRTUALBMC_CONFIG`, else ~/.vbmc/virtualbmc.conf), 50891 by default.
#[derive(Clone, Debug, Default)]
pub struct Vbmc {
    pub config: Option<String>,
}

impl Vbmc {
    pub fn port(&self) -> Result<u16, Error> {
        let path = self
            .config
            .clone()
            .or_else(|| std::env::var("VIRTUALBMC_CONFIG").ok())
            .unwrap_or_else(|| {
                format!(
                    "{}/.vbmc/virtualbmc.conf",
                    std::env::var("HOME").unwrap_or_default()
                )
            });
        let text = match crate::util::read::text(&path) {
            Ok(t) => t,
            Err(_) if self.config.is_none() => return Ok(50891),
            Err(e) => return Err(e.into()),
        };
        let mut section = String::new();
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with('[') {
                section = l.trim_matches(|c| c == '[' || c == ']').to_string();
            } else if section == "default" {
                if let Some((k, v)) = l.split_once('=') {
                    if k.trim() == "server_port" {
                        return v.trim().parse().map_err(|_| {
                            Error::invalid(format!(
                                "{path}: server_port {:?} is not a port",
                                v.trim()
                            ))
                        });
                    }
                }
            }
        }
        Ok(50891)
    }

    /// One request to vbmcd; an `rc` in the answer is an error with its messages.
    fn call(&self, request: Value) -> Result<Value, Error> {
        let port = self.port()?;
        let v = zmtp::request(port, &request, std::time::Duration::from_secs(30))?;
        if v["rc"].as_i64().unwrap_or(0) != 0 {
            return Err(Error::failed(format!(
                "vbmcd: {}",
                texts(&v["msg"]).join("; ")
            )));
        }
        Ok(v)
    }

    /// One map per BMC (Domain name, Status, Address, Port).
    pub fn list(&self, fx: &Effects) -> Result<Vec<Value>, Error> {
        let v = fx.read(Op::new("bmc.vbmc.list", "vbmcd"), || {
            self.call(json!({"command": "list"}))
        })?;
        let header = texts(&v["header"]);
        Ok(v["rows"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|row| {
                let mut m = serde_json::Map::new();
                for (k, val) in header
                    .iter()
                    .zip(row.as_array().cloned().unwrap_or_default())
                {
                    m.insert(k.clone(), val);
                }
                Value::Object(m)
            })
            .collect())
    }

    fn add(&self, spec: &BmcSpec) -> Result<(), Error> {
        self.call(json!({
            "command": "add",
            "domain_name": spec.domain,
            "username": spec.username,
            "password": spec.password.expose(),
            "port": spec.port,
            "address": spec.address,
            "libvirt_uri": spec.libvirt_uri,
            "libvirt_sasl_username": null,
            "libvirt_sasl_password": null,
        }))
        .map(|_| ())
    }

    fn on(&self, command: &str, domain: &str) -> Result<(), Error> {
        self.call(json!({"command": command, "domain_names": [domain]}))
            .map(|_| ())
    }
}

/// One virtual BMC as labsh wants it.
#[derive(Clone, Debug)]
pub struct BmcSpec {
    pub domain: String,
    pub address: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    pub libvirt_uri: String,
}

fn find<'a>(list: &'a [Value], domain: &str) -> Option<&'a Value> {
    list.iter().find(|v| v["Domain name"] == domain)
}

/// Adds (if missing) and starts (if stopped) a VirtualBMC for a domain. An existing one on
/// another address or port is an error: labsh does not move a BMC a director may know.
pub fn vbmc_ensure(fx: &Effects, v: &Vbmc, spec: &BmcSpec, start: bool) -> Result<bool, Error> {
    let list = list_for_ensure(fx, v)?;
    if let Some(why) = vbmc_problem(fx, spec, &list) {
        return Err(why);
    }
    vbmc_ensure_in(fx, v, spec, start, &list)
}

/// `vbmc list`, or (plan mode, vbmcd unreachable) an empty list.
fn list_for_ensure(fx: &Effects, v: &Vbmc) -> Result<Vec<Value>, Error> {
    match v.list(fx) {
        Ok(l) => Ok(l),
        Err(e) if fx.is_plan() => {
            fx.printer()
                .warn(&format!("{e}; planning as if no BMC existed"));
            Ok(Vec::new())
        }
        Err(e) => Err(e),
    }
}

/// `vbmc_ensure` for several BMCs: one `vbmc list`, ports checked against each other, then the
/// adds and starts on up to `jobs` threads. Returns whether each changed.
pub fn vbmcs_ensure(
    fx: &Effects,
    v: &Vbmc,
    specs: &[BmcSpec],
    start: bool,
    jobs: usize,
) -> Result<Vec<bool>, Error> {
    let mut seen = std::collections::HashMap::new();
    for s in specs {
        if let Some(other) = seen.insert((s.address.clone(), s.port), s.domain.clone()) {
            return Err(Error::invalid(format!(
                "BMC port {}:{} is given to both {other} and {}",
                s.address, s.port, s.domain
            )));
        }
    }
    let list = list_for_ensure(fx, v)?;
    let problems: Vec<Error> = specs
        .iter()
        .filter_map(|s| vbmc_problem(fx, s, &list))
        .collect();
    if !problems.is_empty() {
        let said: Vec<&str> = problems.iter().map(Error::message).collect();
        return Err(Error::of_several(
            format!("{}; no BMC was added", said.join("; ")),
            &problems,
        ));
    }
    crate::effects::pool::run_all(
        jobs,
        specs.len(),
        "BMCs",
        |i| specs[i].domain.clone(),
        |i| vbmc_ensure_in(fx, v, &specs[i], start, &list),
    )
}

/// Why `spec` cannot be made as asked, if it cannot: its domain's BMC is elsewhere, its port is
/// another BMC's, or something else on this host holds the port. Checked for every BMC of a
/// batch before any is added.
fn vbmc_problem(fx: &Effects, spec: &BmcSpec, list: &[Value]) -> Option<Error> {
    if let Some(b) = find(list, &spec.domain) {
        let port = b["Port"].as_u64().unwrap_or(0);
        let addr = b["Address"].as_str().unwrap_or("");
        if port != spec.port as u64 || addr != spec.address {
            return Some(Error::refused(format!(
                "BMC for {} exists on {addr}:{port}, not {}:{}; delete it (bmc::vbmc_delete) to move it",
                spec.domain, spec.address, spec.port
            )));
        }
        return None;
    }
    if let Some(other) = list.iter().find(|b| {
        b["Port"].as_u64() == Some(spec.port as u64) && b["Address"] == spec.address.as_str()
    }) {
        return Some(Error::conflict(format!(
            "BMC port {}:{} is already used by {}",
            spec.address,
            spec.port,
            other["Domain name"].as_str().unwrap_or("another domain")
        )));
    }
    if !fx.is_plan() && !port_free(&spec.address, spec.port) {
        return Some(Error::conflict(format!(
            "BMC port {}:{} for {} is already in use on this host (another program holds it); choose another port_base",
            spec.address, spec.port, spec.domain
        )));
    }
    None
}

/// Adds and starts `spec`'s BMC; `vbmc_problem` has found nothing against it.
fn vbmc_ensure_in(
    fx: &Effects,
    v: &Vbmc,
    spec: &BmcSpec,
    start: bool,
    list: &[Value],
) -> Result<bool, Error> {
    let target = format!("{}@{}:{}", spec.domain, spec.address, spec.port);
    let mut changed = false;
    if find(list, &spec.domain).is_none() {
        fx.change(
            Op::new("bmc.vbmc.add", &target)
                .arg("username", &spec.username)
                .arg("password", spec.password.mask())
                .arg("libvirt_uri", &spec.libvirt_uri),
            || v.add(spec),
            || (),
        )?;
        changed = true;
    }
    let running = find(list, &spec.domain).is_some_and(|b| b["Status"] == "running");
    if start && !running {
        fx.change(
            Op::new("bmc.vbmc.start", &target),
            || {
                v.on("start", &spec.domain)?;
                // vbmcd answers before the BMC's process has bound its port: wait for it, so
                // that "started" means an IPMI client gets an answer.
                let t0 = std::time::Instant::now();
                while port_free(&spec.address, spec.port) {
                    if t0.elapsed() > std::time::Duration::from_secs(15) {
                        return Err(Error::timed_out(format!(
                            "the BMC of {} did not open {}:{} within 15 s",
                            spec.domain, spec.address, spec.port
                        )));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Ok(())
            },
            || (),
        )?;
        changed = true;
    }
    if !changed {
        fx.unchanged(Op::new("bmc.vbmc", &target));
    }
    Ok(changed)
}

pub fn vbmc_stop(fx: &Effects, v: &Vbmc, domain: &str) -> Result<bool, Error> {
    let list = v.list(fx)?;
    match find(&list, domain) {
        Some(b) => vbmc_command(fx, v, "stop", domain, b["Status"] == "running"),
        None => Err(Error::not_found(format!("no BMC for {domain}"))),
    }
}

pub fn vbmc_delete(fx: &Effects, v: &Vbmc, domain: &str) -> Result<bool, Error> {
    let list = v.list(fx)?;
    vbmc_command(fx, v, "delete", domain, find(&list, domain).is_some())
}

/// The vbmcd `command` on a domain's BMC where `needed`, else recorded as ok. Whether it ran.
fn vbmc_command(
    fx: &Effects,
    v: &Vbmc,
    command: &str,
    domain: &str,
    needed: bool,
) -> Result<bool, Error> {
    let op = Op::new(format!("bmc.vbmc.{command}"), domain);
    if !needed {
        fx.unchanged(op);
        return Ok(false);
    }
    fx.change(op, || v.on(command, domain), || ())?;
    Ok(true)
}

/// Whether nothing listens on address:port (UDP, as IPMI does).
pub fn port_free(address: &str, port: u16) -> bool {
    std::net::UdpSocket::bind((address, port)).is_ok()
}

/// IPMI credentials and endpoint.
#[derive(Clone, Debug)]
pub struct Ipmi {
    pub address: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    /// Seconds ipmitool waits for an answer before it asks once more, then gives up (`-N T -R
    /// 1`: a BMC that does not answer fails in about 2T); ipmitool's own (about 20 s) when
    /// `None`.
    pub timeout: Option<u16>,
}

/// ipmitool's command line for `power ACTION` on `i`: no password in it (`-E`, from the
/// environment).
fn ipmitool_argv(i: &Ipmi, action: &str) -> Vec<Arg> {
    let port = i.port.to_string();
    let mut argv: Vec<Arg> = [
        tool("ipmitool", "LABSH_IPMITOOL").as_str(),
        "-I",
        "lanplus",
        "-H",
        &i.address,
        "-p",
        &port,
        "-U",
        &i.username,
        "-E",
    ]
    .into_iter()
    .map(Arg::from)
    .collect();
    if let Some(t) = i.timeout {
        argv.extend(["-N", &t.to_string(), "-R", "1"].map(Arg::from));
    }
    argv.extend(["power", action].map(Arg::from));
    argv
}

/// `ipmitool power ACTION` (status, on, off, reset, cycle); returns what ipmitool printed.
pub fn ipmi_power(fx: &Effects, i: &Ipmi, action: &str) -> Result<String, Error> {
    if !["status", "on", "off", "reset", "cycle", "soft"].contains(&action) {
        return Err(Error::invalid(format!(
            "ipmi power: unknown action {action:?}: status, on, off, reset, cycle or soft"
        )));
    }
    let argv: Vec<Arg> = ipmitool_argv(i, action);
    // -E: ipmitool reads the password from its environment, whole (-f would cut it at the first
    // tab or line break), never from its command line; IPMITOOL_PASSWORD first, then
    // IPMI_PASSWORD (ipmitool/ipmitool, lib/ipmi_main.c, IPMITOOL_1_8_19: options 'E' and 'f'),
    // so both are set and one the user has exported cannot win.
    let env = ["IPMITOOL_PASSWORD", "IPMI_PASSWORD"]
        .map(|k| (k.to_string(), Arg::Secret(i.password.clone())));
    let target = format!("{}:{}", i.address, i.port);
    let go = || {
        again_when_no_session(
            || run(fx, argv.clone(), &env).map(|o| o.stdout.trim().to_string()),
            std::time::Duration::from_millis(500),
        )
    };
    if action == "status" {
        fx.read(Op::new("bmc.ipmi.power_status", &target), go)
    } else {
        fx.change(
            Op::new(format!("bmc.ipmi.power_{action}"), &target),
            go,
            || format!("planned: power {action}"),
        )
    }
}

/// What ipmitool prints when the BMC answered but no RMCP+ session came of it: an answer to an
/// earlier, retransmitted request arriving while the next one was awaited (a slow BMC: VirtualBMC
/// on a busy host), or a BMC out of sessions. No command reached the BMC, so asking again is safe
/// for every action, `reset` and `cycle` included. A BMC that does not answer at all is not in
/// this list: asking it again would only wait as long again.
const NO_SESSION_YET: [&str; 3] = [
    "Received an Unexpected",
    "insufficient resources for session",
    "BMC initialization in progress",
];

/// How many times ipmitool is run when it fails with one of NO_SESSION_YET. Ironic does the same
/// for the same messages, on every ipmitool command it runs (openstack/ironic,
/// ironic/drivers/modules/ipmitool.py, `_exec_ipmitool` and IPMITOOL_RETRYABLE_FAILURES, 39.0.0).
const SESSION_TRIES: u32 = 4;

/// Runs `go` again, after `pause` (doubled each time), while it fails with one of NO_SESSION_YET,
/// SESSION_TRIES times at most; any other failure, and the last one, is returned as it is.
fn again_when_no_session(
    mut go: impl FnMut() -> Result<String, Error>,
    pause: std::time::Duration,
) -> Result<String, Error> {
    let mut wait = pause;
    for _ in 1..SESSION_TRIES {
        match go() {
            Err(e) if NO_SESSION_YET.iter().any(|m| e.message().contains(m)) => {
                std::thread::sleep(wait);
                wait *= 2;
            }
            done => return done,
        }
    }
    go()
}

/// One node of instackenv.json, checked: its fields as the file holds them (`name`, `pm_type`,
/// `pm_addr`, `pm_port`, `mac`, ...), the BMC password apart.
#[derive(Clone, Debug)]
pub struct Node {
    pub fields: JMap<String, Value>,
    pub pm_password: Secret,
}

/// instackenv.json for the undercloud's node import. `reveal`: put the real passwords in (for
/// the file); otherwise they are masked.
pub fn instackenv(nodes: &[Node], reveal: bool) -> Value {
    let list: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let mut v = n.fields.clone();
            let pw = if reveal {
                n.pm_password.expose().to_string()
            } else {
                n.pm_password.mask()
            };
            v.insert("pm_password".into(), json!(pw));
            Value::Object(v)
        })
        .collect();
    json!({ "nodes": list })
}

/// Writes instackenv.json with mode 0600 (it holds the BMC passwords); ok when it is already so.
pub fn write_instackenv(fx: &Effects, path: &str, nodes: &[Node]) -> Result<bool, Error> {
    let text =
        serde_json::to_string_pretty(&instackenv(nodes, true)).map_err(|e| e.to_string())? + "\n";
    crate::effects::files::ensure_file(fx, path, &text, true, Some(instackenv(nodes, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipmitool_is_run_again_only_while_the_bmc_answered_without_a_session() {
        let stale = "command failed with exit code 1: ipmitool -I lanplus power status\n\
            Error: Received an Unexpected Open Session Response\n\
            Error: Unable to establish IPMI v2 / RMCP+ session";
        let pause = std::time::Duration::from_millis(1);
        let mut runs = 0;
        let got = again_when_no_session(
            || {
                runs += 1;
                if runs < 3 {
                    Err(Error::failed(stale))
                } else {
                    Ok("Chassis Power is on".into())
                }
            },
            pause,
        );
        assert_eq!(got.ok().as_deref(), Some("Chassis Power is on"));
        assert_eq!(runs, 3);

        let mut runs = 0;
        let got = again_when_no_session(
            || {
                runs += 1;
                Err(Error::failed(stale))
            },
            pause,
        );
        assert!(got.is_err_and(|e| e.message().contains("Unexpected Open Session")));
        assert_eq!(runs, SESSION_TRIES);

        // A BMC that does not answer, or refuses the password, is asked once.
        for other in [
            "Error: Unable to establish IPMI v2 / RMCP+ session",
            "Error in open session response message : invalid user name",
        ] {
            let mut runs = 0;
            let got = again_when_no_session(
                || {
                    runs += 1;
                    Err(Error::failed(other))
                },
                pause,
            );
            assert!(got.is_err());
            assert_eq!(runs, 1, "{other}");
        }
    }

    #[test]
    fn ipmitool_waits_the_timeout_given_and_asks_once_more() {
        let mut i = Ipmi {
            address: "127.0.0.1".into(),
            port: 6230,
            username: "admin".into(),
            password: Secret::new("bmc", "pw-not-on-argv"),
            timeout: None,
        };
        let line = |i: &Ipmi| {
            ipmitool_argv(i, "status")
                .iter()
                .skip(1)
                .map(Arg::shown)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            line(&i),
            "-I lanplus -H 127.0.0.1 -p 6230 -U admin -E power status"
        );
        i.timeout = Some(1);
        assert_eq!(
            line(&i),
            "-I lanplus -H 127.0.0.1 -p 6230 -U admin -E -N 1 -R 1 power status"
        );
    }

    #[test]
    fn a_vbmcd_row_reads_as_domain_status_address_and_int_port() {
        let r =
            json!({"Domain name": "ctrl01", "Status": "running", "Address": "::", "Port": 6230});
        let m = rhai::serde::to_dynamic(VbmcRow::of(&r))
            .unwrap()
            .cast::<rhai::Map>();
        let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
        assert_eq!(keys, ["address", "domain", "port", "status"]);
        assert_eq!(m["port"].as_int(), Ok(6230));
        assert_eq!(m["domain"].clone().into_string().unwrap(), "ctrl01");
        let empty = VbmcRow::of(&json!({}));
        assert_eq!((empty.domain.as_str(), empty.port), ("", 0));
    }

    #[test]
    fn instackenv_masks_unless_revealed() {
        let fields = json!({"name": "overcloud-ctrl01", "pm_type": "ipmi", "pm_port": "6230"});
        let n = Node {
            fields: fields.as_object().cloned().unwrap_or_default(),
            pm_password: Secret::new("bmc", "instackenv-unit-pw"),
        };
        let masked = instackenv(std::slice::from_ref(&n), false).to_string();
        assert!(masked.contains("«secret bmc»") && !masked.contains("instackenv-unit-pw"));
        let real = instackenv(&[n], true);
        assert_eq!(real["nodes"][0]["pm_password"], "instackenv-unit-pw");
        assert_eq!(real["nodes"][0]["pm_port"], "6230");
    }
}
