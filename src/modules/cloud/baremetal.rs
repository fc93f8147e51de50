//! `baremetal`: the undercloud's bare metal (Ironic) on labsh's OpenStack client: nodes from
//! instackenv.json entries (ipmi and redfish), ports by MAC, power, provision goals (manage,
//! inspect, provide) reached by watching, validation, deletion. Every function takes the cloud
//! first, as the `cloud` functions do; the microversion is negotiated once per cloud.

use super::id::Id;
use super::ironic::{self, Driver, EnrollOpts, Entry, Goal};
use crate::effects::secret::Secret;
use crate::engine::value;
use crate::modules::opts::{type_name, Opts};
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map, NativeCallContext};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A field of an entry as text: strings, and integers (TripleO writes "6230" or 6230).
fn field_text(m: &Map, k: &str) -> Option<Result<String, String>> {
    let v = m.get(k).filter(|v| !v.is_unit())?;
    if v.is_string() {
        Some(Ok(v.clone().into_string().unwrap_or_default()))
    } else if v.is_int() {
        Some(Ok(v.to_string()))
    } else {
        Some(Err(format!("{k} must be a string, not {}", type_name(v))))
    }
}

fn entry_name(m: &Map, i: usize) -> String {
    match field_text(m, "name") {
        Some(Ok(n)) if !n.trim().is_empty() => n,
        _ => format!("#{i}"),
    }
}

fn positive(m: &Map, keys: &[&str], bad: &mut Vec<String>) -> Option<i64> {
    for k in keys {
        match field_text(m, k) {
            None => continue,
            Some(Err(e)) => {
                bad.push(e);
                return None;
            }
            Some(Ok(t)) => match t.trim().parse::<i64>() {
                Ok(n) if n > 0 => return Some(n),
                _ => {
                    bad.push(format!("{k} {t:?} is not a positive integer"));
                    return None;
                }
            },
        }
    }
    None
}

fn is_host(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
        || (!s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !l.starts_with('-')
            }))
}

/// The base URL of a Redfish BMC from pm_addr (a URL, or host[:port], https as TripleO assumes)
/// and pm_port.
fn redfish_url(addr: &str, port: Option<u16>) -> Result<String, String> {
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_string(), addr),
    };
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "pm_addr {addr:?} must be an http:// or https:// URL or a host"
        ));
    }
    let hostport = rest.trim_end_matches('/');
    if hostport.contains('/') {
        return Err(format!(
            "pm_addr {addr:?} must be the BMC's address only; the system goes in pm_system_id"
        ));
    }
    let (host, has_port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => {
            if p.parse::<u16>().map(|x| x == 0).unwrap_or(true) {
                return Err(format!("pm_addr {addr:?} has no valid port"));
            }
            (h, true)
        }
        _ => (hostport, false),
    };
    let host_ok = is_host(host.trim_start_matches('[').trim_end_matches(']'));
    if !host_ok {
        return Err(format!(
            "pm_addr {addr:?}: {host:?} is not a host name or address"
        ));
    }
    Ok(match (has_port, port) {
        (false, Some(p)) => format!("{scheme}://{hostport}:{p}"),
        _ => format!("{scheme}://{hostport}"),
    })
}

/// One entry, or the problems of its fields.
fn parse_entry(m: &Map) -> Result<Entry, Vec<String>> {
    let mut bad = vec![];
    let get = |k: &str, bad: &mut Vec<String>| -> Option<String> {
        match field_text(m, k) {
            Some(Ok(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
            Some(Ok(_)) => {
                bad.push(format!("{k} is empty"));
                None
            }
            Some(Err(e)) => {
                bad.push(e);
                None
            }
            None => None,
        }
    };
    let name = get("name", &mut bad);
    if name.is_none() && !m.contains_key("name") {
        bad.push("name is missing".into());
    }
    let driver = match get("pm_type", &mut bad).as_deref() {
        Some("ipmi" | "pxe_ipmitool" | "ipmitool") => Some(Driver::Ipmi),
        Some("redfish") => Some(Driver::Redfish),
        Some(other) => {
            bad.push(format!(
                "pm_type {other:?} is not supported: ipmi (VirtualBMC) or redfish (sushy-tools)"
            ));
            None
        }
        None if !m.contains_key("pm_type") => {
            bad.push("pm_type is missing (ipmi or redfish)".into());
            None
        }
        None => None,
    };
    let port = match field_text(m, "pm_port") {
        None => None,
        Some(Err(e)) => {
            bad.push(e);
            None
        }
        Some(Ok(t)) => match t.trim().parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ => {
                bad.push(format!("pm_port {t:?} is not a port number (1-65535)"));
                None
            }
        },
    };
    let addr = get("pm_addr", &mut bad);
    if addr.is_none() && !m.contains_key("pm_addr") {
        bad.push("pm_addr is missing (the BMC's address)".into());
    }
    let mut address = String::new();
    let mut system_id = None;
    match (driver, &addr) {
        (Some(Driver::Ipmi), Some(a)) => {
            if !is_host(a) {
                bad.push(format!("pm_addr {a:?} is not an IP address or host name"));
            }
            if port.is_none() && !m.contains_key("pm_port") {
                bad.push("pm_port is missing (the BMC's UDP port, 623 on a real one)".into());
            }
            address = a.clone();
        }
        (Some(Driver::Redfish), Some(a)) => {
            match redfish_url(a, port) {
                Ok(u) => address = u,
                Err(e) => bad.push(e),
            }
            match get("pm_system_id", &mut bad) {
                Some(s) if s.starts_with('/') => system_id = Some(s),
                Some(s) => bad.push(format!(
                    "pm_system_id {s:?} must be the system's path (/redfish/v1/Systems/ID)"
                )),
                None => bad.push(
                    "pm_system_id is missing (the system's path, /redfish/v1/Systems/ID)".into(),
                ),
            }
        }
        _ => {}
    }
    let username = get("pm_user", &mut bad);
    if username.is_none() && !m.contains_key("pm_user") {
        bad.push("pm_user is missing".into());
    }
    let password = match m.get("pm_password").filter(|v| !v.is_unit()) {
        Some(v) => match v.read_lock::<Secret>() {
            Some(s) if !s.expose().is_empty() => Some(s.clone()),
            Some(_) => {
                bad.push("pm_password is empty".into());
                None
            }
            None => {
                bad.push(format!(
                    "pm_password must be a secret, not {} (read the file with baremetal::instackenv)",
                    type_name(v)
                ));
                None
            }
        },
        None => {
            bad.push("pm_password is missing".into());
            None
        }
    };
    let mut macs = vec![];
    match m.get("mac").filter(|v| !v.is_unit()) {
        Some(v) if v.is_array() => {
            for x in v.clone().into_array().unwrap_or_default() {
                let t = x.to_string().to_ascii_lowercase();
                if !x.is_string() || !ironic::is_mac(&t) {
                    bad.push(format!("mac {x} is not a MAC address (52:54:00:aa:bb:cc)"));
                } else if macs.contains(&t) {
                    bad.push(format!("mac {t} is given twice"));
                } else {
                    macs.push(t);
                }
            }
            if macs.is_empty() && !bad.iter().any(|b| b.starts_with("mac ")) {
                bad.push("mac is empty: the MAC of the provisioning NIC is needed".into());
            }
        }
        Some(v) => bad.push(format!(
            "mac must be a list of MAC addresses, not {}",
            type_name(v)
        )),
        None => bad.push("mac is missing (the MAC of the provisioning NIC, in a list)".into()),
    }
    let cpus = positive(m, &["cpu"], &mut bad);
    let memory_mb = positive(m, &["memory", "memory_mib", "memory_mb"], &mut bad);
    let local_gb = positive(m, &["disk", "disk_gb", "local_gb"], &mut bad);
    let cpu_arch = get("arch", &mut bad);
    let mut capabilities = match field_text(m, "capabilities") {
        None => vec![],
        Some(Err(e)) => {
            bad.push(e);
            vec![]
        }
        Some(Ok(t)) => {
            let c = ironic::parse_capabilities(&t);
            if c.len() != t.split(',').filter(|x| !x.trim().is_empty()).count() {
                bad.push(format!(
                    "capabilities {t:?} must be key:value pairs separated by commas (profile:control,boot_option:local)"
                ));
            }
            c
        }
    };
    if let Some(p) = get("profile", &mut bad) {
        if let Some(slot) = capabilities.iter_mut().find(|(k, _)| k == "profile") {
            slot.1 = p;
        } else {
            capabilities.push(("profile".into(), p));
        }
    }
    let verify_ca = match m.get("redfish_verify_ca").filter(|v| !v.is_unit()) {
        None => None,
        Some(v) if v.is_bool() => v.as_bool().ok(),
        Some(v) => match v.to_string().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                bad.push(format!("redfish_verify_ca {v} must be true or false"));
                None
            }
        },
    };
    if !bad.is_empty() {
        return Err(bad);
    }
    match (name, driver, username, password) {
        (Some(name), Some(driver), Some(username), Some(password)) => Ok(Entry {
            name,
            driver,
            address,
            port: if driver == Driver::Ipmi { port } else { None },
            system_id,
            username,
            password,
            verify_ca,
            macs,
            cpus,
            memory_mb,
            local_gb,
            cpu_arch,
            capabilities,
        }),
        _ => Err(vec!["is incomplete".into()]),
    }
}

/// Checks every entry and all of them together (names, MACs and BMCs given twice; names that
/// are not among `vms` when given). Every problem names the source, the entry and the field.
fn parse_entries(
    entries: &Array,
    source: &str,
    vms: Option<&[String]>,
) -> Result<Vec<Entry>, Vec<String>> {
    let mut out = vec![];
    let mut bad = vec![];
    let mut names: HashMap<String, String> = HashMap::new();
    let mut macs: HashMap<String, String> = HashMap::new();
    let mut bmcs: HashMap<String, String> = HashMap::new();
    for (i, d) in entries.iter().enumerate() {
        let Some(m) = d.read_lock::<Map>().map(|m| m.clone()) else {
            bad.push(format!(
                "{source}: nodes[{i}] must be a map, not {}",
                type_name(d)
            ));
            continue;
        };
        let label = format!("{source}: nodes[{i}] ({})", entry_name(&m, i));
        match parse_entry(&m) {
            Err(es) => bad.extend(es.into_iter().map(|e| format!("{label}: {e}"))),
            Ok(e) => {
                if let Some(v) = vms {
                    if !v.contains(&e.name) {
                        bad.push(format!(
                            "{label}: name '{}' is not a VM of the lab (its overcloud VMs: {})",
                            e.name,
                            v.join(", ")
                        ));
                    }
                }
                if let Some(other) = names.insert(e.name.clone(), label.clone()) {
                    bad.push(format!("{label}: name '{}' is also {other}'s", e.name));
                }
                for mac in &e.macs {
                    if let Some(other) = macs.insert(mac.clone(), label.clone()) {
                        bad.push(format!("{label}: mac {mac} is also {other}'s"));
                    }
                }
                if let Some(other) = bmcs.insert(e.bmc_key(), label.clone()) {
                    let field = if e.driver == Driver::Ipmi {
                        "pm_port"
                    } else {
                        "pm_system_id"
                    };
                    bad.push(format!(
                        "{label}: {field}: BMC {} is also {other}'s",
                        e.bmc()
                    ));
                }
                out.push(e);
            }
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(bad)
    }
}

fn problems_text(bad: &[String]) -> String {
    format!(
        "{} problem(s) in the nodes; nothing was enrolled:\n  {}",
        bad.len(),
        bad.join("\n  ")
    )
}

fn strings(func: &str, o: &Opts, key: &str) -> Result<Option<Vec<String>>, String> {
    if !o.has(key) {
        return Ok(None);
    }
    let mut v = vec![];
    for x in o.array(key)? {
        if !x.is_string() {
            return Err(format!("{func}: '{key}' must be a list of strings"));
        }
        v.push(x.to_string());
    }
    Ok(Some(v))
}

fn enroll_opts(func: &str, opts: Map) -> Result<(EnrollOpts, Option<Vec<String>>, String), String> {
    let o = Opts::new(
        func,
        opts,
        &["lab", "vms", "inspect_interface", "validate", "source"],
    )?;
    let mut inspect = HashMap::new();
    if let Some(m) = o.map("inspect_interface")? {
        for (k, v) in m {
            let d = match k.as_str() {
                "ipmi" => "ipmi",
                "redfish" => "redfish",
                other => {
                    return Err(format!(
                        "{func}: inspect_interface is by driver (ipmi, redfish), not {other:?}"
                    ))
                }
            };
            if !v.is_string() {
                return Err(format!("{func}: inspect_interface.{k} must be a string"));
            }
            inspect.insert(d, v.to_string());
        }
    }
    Ok((
        EnrollOpts {
            lab: o.str("lab")?,
            inspect_interface: inspect,
            validate: o.bool("validate", true)?,
        },
        strings(func, &o, "vms")?,
        o.str("source")?.unwrap_or_else(|| "entries".into()),
    ))
}

fn timeout_of(func: &str, opts: Map, default: u64) -> Result<Duration, String> {
    let o = Opts::new(func, opts, &["timeout"])?;
    Ok(o.seconds("timeout")?
        .unwrap_or(Duration::from_secs(default)))
}

fn map_of(
    func: &str,
    o: &Opts,
    key: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match o.map(key)? {
        None => Ok(Default::default()),
        Some(m) => match value::to_json(&Dynamic::from_map(m)) {
            serde_json::Value::Object(j) => Ok(j),
            _ => Err(format!("{func}: '{key}' must be a map")),
        },
    }
}

/// Reads instackenv.json as the director does: `{"nodes": [...]}`, passwords as secrets.
fn read_instackenv(path: &str) -> Result<Array, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{path}:{}:{}: not JSON: {e}", e.line(), e.column()))?;
    let Some(nodes) = v["nodes"].as_array() else {
        return Err(format!("{path}: a \"nodes\" list is missing"));
    };
    let mut out = Array::new();
    for (i, n) in nodes.iter().enumerate() {
        let mut d = value::from_json(n);
        if let Some(mut m) = d.write_lock::<Map>() {
            let name = n["name"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("{i}"));
            if let Some(serde_json::Value::String(pw)) = n.get("pm_password") {
                m.insert(
                    "pm_password".into(),
                    Dynamic::from(Secret::new(&format!("instackenv.{name}.pm_password"), pw)),
                );
            }
        }
        out.push(d);
    }
    Ok(out)
}

#[export_module]
pub mod baremetal_fns {
    /// Reads instackenv.json (`{"nodes": [...]}`, as the director's node import reads it) and
    /// checks every entry before anything is enrolled: `pm_type` (ipmi, redfish), `pm_addr`,
    /// `pm_port`, `pm_user`, `pm_password`, `pm_system_id` for redfish, `mac`, and the sizes
    /// (`cpu`, `memory` or `memory_mib`, `disk` or `disk_gb`, `arch`) and `capabilities`
    /// (`"profile:control,boot_option:local"`) or `profile`; names, MACs and BMCs given twice;
    /// with `opts.vms`, names that are not lab VMs. One error lists every problem with the file,
    /// the entry and the field. Returns the entries, each `pm_password` a secret.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-instackenv.json";
    /// bmc::write_instackenv(f, [#{name: "example-node", pm_addr: "127.0.0.1", pm_port: 6299,
    ///     pm_password: secret("example-bmc", #{generate: true, length: 16}), mac: ["52:54:00:00:99:01"]}]);
    /// if !plan_mode() {
    ///     let nodes = baremetal::instackenv(f, #{vms: ["example-node"]});
    ///     assert(nodes[0].name == "example-node" && type_of(nodes[0].pm_password) == "Secret");
    /// }
    /// ```
    #[rhai_fn(return_raw, name = "instackenv")]
    pub fn instackenv_with(ctx: NativeCallContext, path: &str, opts: Map) -> Res<Array> {
        let err = |e: String| crate::session::rt_err(&ctx, e);
        let o = Opts::new("baremetal::instackenv", opts, &["vms"]).map_err(err)?;
        let vms = super::strings("baremetal::instackenv", &o, "vms").map_err(err)?;
        let entries = super::read_instackenv(path).map_err(err)?;
        super::parse_entries(&entries, path, vms.as_deref())
            .map_err(|b| err(super::problems_text(&b)))?;
        Ok(entries)
    }

    /// `instackenv(path, #{})`.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-instackenv.json";
    /// bmc::write_instackenv(f, [#{name: "example-node", pm_addr: "127.0.0.1", pm_port: 6299,
    ///     pm_password: secret("example-bmc", #{generate: true, length: 16}), mac: ["52:54:00:00:99:01"]}]);
    /// if !plan_mode() { assert(baremetal::instackenv(f).len() == 1); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn instackenv(ctx: NativeCallContext, path: &str) -> Res<Array> {
        instackenv_with(ctx, path, Map::new())
    }

    /// Every problem of `entries` (instackenv.json's nodes) as `instackenv` reports them, as a
    /// list (empty when they are fine); `opts`: `#{vms, source}`.
    ///
    /// ```rhai
    /// let bad = baremetal::check([#{name: "n1", pm_type: "ipmi", pm_addr: "127.0.0.1", pm_port: "x",
    ///     pm_user: "admin", pm_password: secret("example-bmc", #{generate: true}), mac: ["52:54:00:00:99:01"]}], #{});
    /// assert(bad.len() == 1 && bad[0].contains("pm_port"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn check(ctx: NativeCallContext, entries: Array, opts: Map) -> Res<Array> {
        let (_, vms, source) = super::enroll_opts("baremetal::check", opts)
            .map_err(|e| crate::session::rt_err(&ctx, e))?;
        Ok(
            match super::parse_entries(&entries, &source, vms.as_deref()) {
                Ok(_) => Array::new(),
                Err(b) => b.into_iter().map(Dynamic::from).collect(),
            },
        )
    }

    /// The Ironic API microversion labsh speaks with this cloud: the highest that both the
    /// server and labsh (1.31 to 1.78) know, asked once.
    ///
    /// ```rhai
    /// let v = baremetal::microversion("devcloud-system");
    /// assert(plan_mode() || v.starts_with("1."));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn microversion(ctx: NativeCallContext, cloud: Dynamic) -> Res<String> {
        super::super::with_api(&ctx, &cloud, |a| a.baremetal_version())
    }

    /// Every node, with its details, filtered by `#{lab, driver, provision_state, name}` (`lab`:
    /// the nodes labsh enrolled for that lab, by `extra.labsh_lab`).
    ///
    /// ```rhai
    /// let mine = baremetal::nodes("devcloud-system", #{lab: "example-lab"});
    /// print(mine.len());
    /// ```
    #[rhai_fn(return_raw, name = "nodes")]
    pub fn nodes_filtered(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::super::with_api(&ctx, &cloud, |a| {
            let o = Opts::new(
                "baremetal::nodes",
                filter,
                &["lab", "driver", "provision_state", "name"],
            )?;
            let (lab, driver, state, name) = (
                o.str("lab")?,
                o.str("driver")?,
                o.str("provision_state")?,
                o.str("name")?,
            );
            let all = a.bm_nodes()?;
            Ok(super::super::array(
                all.into_iter()
                    .filter(|n| {
                        lab.as_ref()
                            .is_none_or(|l| n["extra"]["labsh_lab"] == l.as_str())
                            && driver.as_ref().is_none_or(|d| n["driver"] == d.as_str())
                            && state
                                .as_ref()
                                .is_none_or(|s| n["provision_state"] == s.as_str())
                            && name.as_ref().is_none_or(|s| n["name"] == s.as_str())
                    })
                    .collect(),
            ))
        })
    }

    /// Every node, with its details.
    ///
    /// ```rhai
    /// let names = baremetal::nodes("devcloud-system").map(|n| n.name);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn nodes(ctx: NativeCallContext, cloud: Dynamic) -> Res<Array> {
        nodes_filtered(ctx, cloud, Map::new())
    }

    /// A node by name or UUID, or `()`.
    ///
    /// ```rhai
    /// assert(baremetal::node_show("devcloud-system", "example-no-such-node") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn node_show(ctx: NativeCallContext, cloud: Dynamic, node: &str) -> Res<Dynamic> {
        super::super::with_api(&ctx, &cloud, |a| {
            a.bm_node(&Id::parse(node)).map(super::super::opt_or_unit)
        })
    }

    /// Enrolls nodes from instackenv.json entries (as `baremetal::instackenv` returns them),
    /// checked as `check` does before anything changes. A node found by name, or by its BMC,
    /// is not enrolled again: what differs is updated (name, driver and BMC with its
    /// credentials, sizes unless it was inspected, capabilities merged, the lab's mark) and a
    /// port made for each MAC it lacks; the others are created. A BMC or MAC that is another
    /// node's, or a node of the same name on another BMC that the lab did not make, stops the
    /// whole batch before any change. Each node changed has its power and management
    /// interfaces validated. Nodes are done on up to `--jobs` threads. `opts`: `#{lab (kept in
    /// extra.labsh_lab), vms (the names allowed), inspect_interface: #{redfish: "redfish"},
    /// validate (true), source (for errors)}`. Returns the nodes.
    ///
    /// ```rhai
    /// let pw = secret("example-bmc", #{generate: true, length: 16});
    /// let n = baremetal::nodes_ensure("devcloud-system", [#{name: "example-node1", pm_type: "ipmi",
    ///     pm_addr: "127.0.0.1", pm_port: 6299, pm_user: "admin", pm_password: pw,
    ///     mac: ["52:54:00:00:99:11"], cpu: 2, memory: 1024, capabilities: "profile:compute"}], #{lab: "example-lab"});
    /// assert(n[0].name == "example-node1");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn nodes_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        entries: Array,
        opts: Map,
    ) -> Res<Array> {
        let jobs = crate::session::session(&ctx)?.jobs();
        let err = |e: String| crate::session::rt_err(&ctx, e);
        let (o, vms, source) = super::enroll_opts("baremetal::nodes_ensure", opts).map_err(err)?;
        let parsed = super::parse_entries(&entries, &source, vms.as_deref())
            .map_err(|b| err(super::problems_text(&b)))?;
        super::super::with_api(&ctx, &cloud, |a| {
            a.bm_enroll(&parsed, &o, jobs).map(super::super::array)
        })
    }

    /// `nodes_ensure` for one entry. Returns the node.
    ///
    /// ```rhai
    /// let n = baremetal::node_ensure("devcloud-system", #{name: "example-node2", pm_type: "redfish",
    ///     pm_addr: "http://127.0.0.1:8299", pm_system_id: "/redfish/v1/Systems/example-2", pm_user: "admin",
    ///     pm_password: secret("example-bmc", #{generate: true, length: 16}), mac: ["52:54:00:00:99:21"]},
    ///     #{lab: "example-lab", inspect_interface: #{redfish: "redfish"}});
    /// assert(n.name == "example-node2");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn node_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        entry: Map,
        opts: Map,
    ) -> Res<Dynamic> {
        let mut r = nodes_ensure(ctx, cloud, vec![Dynamic::from_map(entry)], opts)?;
        Ok(r.pop().unwrap_or(Dynamic::UNIT))
    }

    /// Sets a node's `properties` (`#{cpus, memory_mb, local_gb, cpu_arch}`), `capabilities`
    /// (`#{profile: "control"}`, merged into the node's: the other capabilities stay) and
    /// `extra` keys, only where they differ. Returns the node.
    ///
    /// ```rhai
    /// baremetal::node_ensure("devcloud-system", #{name: "example-node1", pm_type: "ipmi", pm_addr: "127.0.0.1",
    ///     pm_port: 6299, pm_user: "admin", pm_password: secret("example-bmc", #{generate: true, length: 16}),
    ///     mac: ["52:54:00:00:99:11"]}, #{lab: "example-lab"});
    /// let n = baremetal::node_update("devcloud-system", "example-node1", #{capabilities: #{profile: "control"}});
    /// assert(plan_mode() || n.properties.capabilities.contains("profile:control"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn node_update(
        ctx: NativeCallContext,
        cloud: Dynamic,
        node: &str,
        set: Map,
    ) -> Res<Dynamic> {
        super::super::with_api(&ctx, &cloud, |a| {
            let o = Opts::new(
                "baremetal::node_update",
                set,
                &["properties", "capabilities", "extra"],
            )?;
            let props = super::map_of("baremetal::node_update", &o, "properties")?;
            let caps: Vec<(String, String)> =
                super::map_of("baremetal::node_update", &o, "capabilities")?
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k,
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect();
            let extra = super::map_of("baremetal::node_update", &o, "extra")?;
            a.bm_node_update(&Id::parse(node), &props, &caps, &extra)
                .map(super::super::dynamic)
        })
    }

    /// Deletes a node and its ports (putting it in maintenance first when Ironic would not
    /// delete it in its state); `false` when there was none.
    ///
    /// ```rhai
    /// baremetal::node_delete("devcloud-system", "example-node-gone");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn node_delete(ctx: NativeCallContext, cloud: Dynamic, node: &str) -> Res<bool> {
        super::super::with_api(&ctx, &cloud, |a| a.bm_node_delete(&Id::parse(node)))
    }

    /// A node's ports (each with its `address`, `pxe_enabled`), or every port when `node` is "".
    ///
    /// ```rhai
    /// let p = baremetal::ports("devcloud-system", "example-no-such-node");
    /// assert(p.is_empty());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ports(ctx: NativeCallContext, cloud: Dynamic, node: &str) -> Res<Array> {
        super::super::with_api(&ctx, &cloud, |a| {
            let node = (!node.is_empty()).then(|| Id::parse(node));
            a.bm_ports(node.as_ref()).map(super::super::array)
        })
    }

    /// Ensures a port with `mac` on a node; a port with that MAC on another node is an error.
    ///
    /// ```rhai
    /// baremetal::node_ensure("devcloud-system", #{name: "example-node1", pm_type: "ipmi", pm_addr: "127.0.0.1",
    ///     pm_port: 6299, pm_user: "admin", pm_password: secret("example-bmc", #{generate: true, length: 16}),
    ///     mac: ["52:54:00:00:99:11"]}, #{lab: "example-lab"});
    /// let p = baremetal::port_ensure("devcloud-system", "example-node1", "52:54:00:00:99:12");
    /// assert(p.address == "52:54:00:00:99:12");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn port_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        node: &str,
        mac: &str,
    ) -> Res<Dynamic> {
        super::super::with_api(&ctx, &cloud, |a| {
            a.bm_port_ensure(&Id::parse(node), mac)
                .map(super::super::dynamic)
        })
    }

    /// Ironic's validation of a node's interfaces: `#{power: #{result, reason}, management: ..,
    /// boot: .., deploy: .., inspect: .., ...}`.
    ///
    /// ```rhai
    /// baremetal::node_ensure("devcloud-system", #{name: "example-node1", pm_type: "ipmi", pm_addr: "127.0.0.1",
    ///     pm_port: 6299, pm_user: "admin", pm_password: secret("example-bmc", #{generate: true, length: 16}),
    ///     mac: ["52:54:00:00:99:11"]}, #{lab: "example-lab"});
    /// let v = baremetal::validate("devcloud-system", "example-node1");
    /// assert(plan_mode() || v.power.result);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn validate(ctx: NativeCallContext, cloud: Dynamic, node: &str) -> Res<Dynamic> {
        super::super::with_api(&ctx, &cloud, |a| {
            a.bm_validate(node).map(super::super::dynamic)
        })
    }

    /// Powers a node through Ironic (`"on"`, `"off"`, `"reboot"`) and watches it until Ironic
    /// reports the new state; `opts.timeout` in seconds (120). Returns the power state.
    ///
    /// ```rhai
    /// if plan_mode() { baremetal::power("devcloud-system", "example-node1", "off", #{timeout: 60}); }
    /// ```
    #[rhai_fn(return_raw, name = "power")]
    pub fn power_with(
        ctx: NativeCallContext,
        cloud: Dynamic,
        node: &str,
        action: &str,
        opts: Map,
    ) -> Res<String> {
        let t = super::timeout_of("baremetal::power", opts, 120)
            .map_err(|e| crate::session::rt_err(&ctx, e))?;
        super::super::with_api(&ctx, &cloud, |a| a.bm_power(&Id::parse(node), action, t))
    }

    /// `power(cloud, node, action, #{})`.
    ///
    /// ```rhai
    /// if plan_mode() { baremetal::power("devcloud-system", "example-node1", "on"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn power(ctx: NativeCallContext, cloud: Dynamic, node: &str, action: &str) -> Res<String> {
        power_with(ctx, cloud, node, action, Map::new())
    }

    /// Moves nodes (names or UUIDs) to a goal: `"manage"` (verified against the BMC:
    /// manageable, or already past it), `"inspect"` (inspected once, then manageable) or
    /// `"provide"` (available), asking each node's transitions in turn and watching all of them
    /// with one request a tick, progress printed as their states change; `opts.timeout` in
    /// seconds (600). Nodes that fail are named with their BMC and Ironic's `last_error`, and
    /// left where Ironic put them; the others reach the goal. Plan mode shows each transition.
    ///
    /// ```rhai
    /// if plan_mode() { baremetal::provision("devcloud-system", ["example-node1"], "provide", #{timeout: 300}); }
    /// ```
    #[rhai_fn(return_raw, name = "provision")]
    pub fn provision_with(
        ctx: NativeCallContext,
        cloud: Dynamic,
        nodes: Array,
        goal: &str,
        opts: Map,
    ) -> Res<Array> {
        let jobs = crate::session::session(&ctx)?.jobs();
        let err = |e: String| crate::session::rt_err(&ctx, e);
        let g = Goal::parse(goal).map_err(err)?;
        let t = super::timeout_of("baremetal::provision", opts, 600).map_err(err)?;
        let mut names = vec![];
        for n in nodes {
            if !n.is_string() {
                return Err(err(format!(
                    "baremetal::provision: nodes are names or UUIDs, not {}",
                    type_name(&n)
                )));
            }
            names.push(n.to_string());
        }
        let uniq: HashSet<&String> = names.iter().collect();
        if uniq.len() != names.len() {
            return Err(err("baremetal::provision: a node is named twice".into()));
        }
        super::super::with_api(&ctx, &cloud, |a| {
            a.bm_provision(&names, g, t, jobs).map(super::super::array)
        })
    }

    /// `provision(cloud, nodes, goal, #{})`.
    ///
    /// ```rhai
    /// if plan_mode() { baremetal::provision("devcloud-system", ["example-node1"], "manage"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn provision(
        ctx: NativeCallContext,
        cloud: Dynamic,
        nodes: Array,
        goal: &str,
    ) -> Res<Array> {
        provision_with(ctx, cloud, nodes, goal, Map::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pairs: &[(&str, Dynamic)]) -> Dynamic {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert((*k).into(), v.clone());
        }
        Dynamic::from_map(m)
    }

    fn good(name: &str, port: i64, mac: &str) -> Vec<(&'static str, Dynamic)> {
        vec![
            ("name", name.to_string().into()),
            ("pm_type", "ipmi".into()),
            ("pm_addr", "127.0.0.1".into()),
            ("pm_port", port.to_string().into()),
            ("pm_user", "admin".into()),
            ("pm_password", Dynamic::from(Secret::new("t", "unit-pw"))),
            (
                "mac",
                Dynamic::from_array(vec![Dynamic::from(mac.to_string())]),
            ),
            ("memory", "1024".into()),
            ("capabilities", "profile:control,boot_option:local".into()),
        ]
    }

    #[test]
    fn entries_are_read_tolerantly_and_checked_field_by_field() {
        let ok = parse_entries(
            &vec![entry(&good("n1", 6230, "52:54:00:AA:00:01"))],
            "f",
            None,
        )
        .unwrap();
        assert_eq!(ok[0].macs, ["52:54:00:aa:00:01"]);
        assert_eq!(ok[0].memory_mb, Some(1024));
        assert_eq!(ok[0].capabilities[0], ("profile".into(), "control".into()));
        let mut bad = good("n2", 6231, "52:54:00:aa:00:01");
        bad.retain(|(k, _)| *k != "pm_type");
        bad.push(("pm_user", "".into()));
        let mut other = good("n3", 6230, "52:54:00:aa:00:03");
        other[3] = ("pm_port", "70000".into());
        let e = parse_entries(
            &vec![
                entry(&good("n1", 6230, "52:54:00:aa:00:01")),
                entry(&bad),
                entry(&other),
                entry(&good("n1", 6232, "52:54:00:aa:00:04")),
                entry(&good("ghost", 6233, "52:54:00:aa:00:05")),
            ],
            "instackenv.json",
            Some(&["n1".to_string(), "n2".into(), "n3".into()]),
        )
        .unwrap_err();
        let all = e.join("\n");
        assert!(
            all.contains("instackenv.json: nodes[1] (n2): pm_type is missing"),
            "{all}"
        );
        assert!(all.contains("nodes[1] (n2): pm_user is empty"), "{all}");
        assert!(
            all.contains("nodes[2] (n3): pm_port \"70000\" is not a port number"),
            "{all}"
        );
        assert!(all.contains("nodes[3] (n1): name 'n1' is also"), "{all}");
        assert!(
            all.contains("nodes[4] (ghost): name 'ghost' is not a VM of the lab"),
            "{all}"
        );
        let dup = parse_entries(
            &vec![
                entry(&good("a", 6230, "52:54:00:aa:00:01")),
                entry(&good("b", 6230, "52:54:00:aa:00:01")),
            ],
            "f",
            None,
        )
        .unwrap_err()
        .join("\n");
        assert!(
            dup.contains("nodes[1] (b): mac 52:54:00:aa:00:01 is also"),
            "{dup}"
        );
        assert!(
            dup.contains("nodes[1] (b): pm_port: BMC ipmi 127.0.0.1:6230 is also"),
            "{dup}"
        );
    }

    #[test]
    fn redfish_addresses_become_base_urls() {
        assert_eq!(
            redfish_url("127.0.0.1:8000", None).unwrap(),
            "https://127.0.0.1:8000"
        );
        assert_eq!(
            redfish_url("http://h", Some(8000)).unwrap(),
            "http://h:8000"
        );
        assert!(redfish_url("http://h:8000/redfish/v1/Systems/x", None).is_err());
        assert!(redfish_url("ftp://h", None).is_err());
        let mut r = good("r", 1, "52:54:00:aa:00:09");
        r[1] = ("pm_type", "redfish".into());
        r[2] = ("pm_addr", "http://127.0.0.1".into());
        r.retain(|(k, _)| *k != "pm_port");
        let e = parse_entries(&vec![entry(&r)], "f", None)
            .unwrap_err()
            .join("\n");
        assert!(e.contains("pm_system_id is missing"), "{e}");
        r.push(("pm_system_id", "/redfish/v1/Systems/abc".into()));
        r.push(("pm_port", "8000".into()));
        let ok = parse_entries(&vec![entry(&r)], "f", None).unwrap();
        assert_eq!(ok[0].address, "http://127.0.0.1:8000");
        assert_eq!(
            ok[0].bmc(),
            "redfish http://127.0.0.1:8000/redfish/v1/Systems/abc"
        );
    }
}
