//! instackenv.json entries as the director reads them, checked field by field and all together
//! before anything is enrolled: every problem names the source, the entry and the field.

use crate::effects::secret::Secret;
use crate::engine::value;
use crate::error::Error;
use crate::modules::cloud::ironic::{self, Driver, Entry};
use crate::modules::opts::type_name;
use rhai::{Array, Dynamic, Map};
use std::collections::HashMap;

/// A field of an entry as text: strings, and integers (TripleO writes "6230" or 6230).
fn field_text(m: &Map, k: &str) -> Option<Result<String, Error>> {
    let v = m.get(k).filter(|v| !v.is_unit())?;
    if v.is_string() {
        Some(Ok(v.clone().into_string().unwrap_or_default()))
    } else if v.is_int() {
        Some(Ok(v.to_string()))
    } else {
        Some(Err(Error::invalid(format!(
            "{k} must be a string, not {}",
            type_name(v)
        ))))
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
                bad.push(e.to_string());
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
fn redfish_url(addr: &str, port: Option<u16>) -> Result<String, Error> {
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => ("https".to_string(), addr),
    };
    if scheme != "http" && scheme != "https" {
        return Err(Error::invalid(format!(
            "pm_addr {addr:?} must be an http:// or https:// URL or a host"
        )));
    }
    let hostport = rest.trim_end_matches('/');
    if hostport.contains('/') {
        return Err(Error::invalid(format!(
            "pm_addr {addr:?} must be the BMC's address only; the system goes in pm_system_id"
        )));
    }
    let (host, has_port) = match hostport.rsplit_once(':') {
        // "[::1]" has no port: the colon is inside the brackets.
        Some((h, p)) if !p.contains(']') => {
            if p.parse::<u16>().map(|x| x == 0).unwrap_or(true) {
                return Err(Error::invalid(format!(
                    "pm_addr {addr:?} has no valid port"
                )));
            }
            (h, true)
        }
        _ => (hostport, false),
    };
    let host_ok = is_host(host.trim_start_matches('[').trim_end_matches(']'));
    if !host_ok {
        return Err(Error::invalid(format!(
            "pm_addr {addr:?}: {host:?} is not a host name or address"
        )));
    }
    Ok(match (has_port, port) {
        (false, Some(p)) => format!("{scheme}://{hostport}:{p}"),
        _ => format!("{scheme}://{hostport}"),
    })
}

/// One entry, or the problems of its fields.
fn parse_entry(m: &Map) -> Result<Entry, Vec<String>> {
    let mut bad = vec![];
    // Absent or null (instackenv's `null`): the field is missing. An empty or mistyped one is
    // named by `text_field` already.
    let absent = |k: &str| field_text(m, k).is_none();
    let name = text_field(m, "name", &mut bad);
    if name.is_none() && absent("name") {
        bad.push("name is missing".into());
    }
    let driver = driver_of(m, &mut bad);
    let port = port_of(m, &mut bad);
    let addr = text_field(m, "pm_addr", &mut bad);
    if addr.is_none() && absent("pm_addr") {
        bad.push("pm_addr is missing (the BMC's address)".into());
    }
    let (address, system_id) = bmc_of(m, driver, addr.as_deref(), port, &mut bad);
    let username = text_field(m, "pm_user", &mut bad);
    if username.is_none() && absent("pm_user") {
        bad.push("pm_user is missing".into());
    }
    let password = password_of(m, &mut bad);
    let macs = macs_of(m, &mut bad);
    let cpus = positive(m, &["cpu"], &mut bad);
    let memory_mb = positive(m, &["memory", "memory_mib", "memory_mb"], &mut bad);
    let local_gb = positive(m, &["disk", "disk_gb", "local_gb"], &mut bad);
    let cpu_arch = text_field(m, "arch", &mut bad);
    let capabilities = capabilities_of(m, &mut bad);
    let verify_ca = verify_ca_of(m, &mut bad);
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

/// A text field, trimmed; an empty or mistyped one named in `bad`.
fn text_field(m: &Map, k: &str, bad: &mut Vec<String>) -> Option<String> {
    match field_text(m, k) {
        Some(Ok(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
        Some(Ok(_)) => {
            bad.push(format!("{k} is empty"));
            None
        }
        Some(Err(e)) => {
            bad.push(e.to_string());
            None
        }
        None => None,
    }
}

/// `pm_type`: ipmi (and the names TripleO gave it before) or redfish.
fn driver_of(m: &Map, bad: &mut Vec<String>) -> Option<Driver> {
    match text_field(m, "pm_type", bad).as_deref() {
        Some("ipmi" | "pxe_ipmitool" | "ipmitool") => Some(Driver::Ipmi),
        Some("redfish") => Some(Driver::Redfish),
        Some(other) => {
            bad.push(format!(
                "pm_type {other:?} is not supported: ipmi (VirtualBMC) or redfish (sushy-tools)"
            ));
            None
        }
        None if field_text(m, "pm_type").is_none() => {
            bad.push("pm_type is missing (ipmi or redfish)".into());
            None
        }
        None => None,
    }
}

/// `pm_port`, when given.
fn port_of(m: &Map, bad: &mut Vec<String>) -> Option<u16> {
    match field_text(m, "pm_port") {
        None => None,
        Some(Err(e)) => {
            bad.push(e.to_string());
            None
        }
        Some(Ok(t)) => match t.trim().parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ => {
                bad.push(format!("pm_port {t:?} is not a port number (1-65535)"));
                None
            }
        },
    }
}

/// The BMC's address as its driver takes it (an IPMI host, with its port given; a Redfish URL)
/// and, for Redfish, the system's path.
fn bmc_of(
    m: &Map,
    driver: Option<Driver>,
    addr: Option<&str>,
    port: Option<u16>,
    bad: &mut Vec<String>,
) -> (String, Option<String>) {
    let mut address = String::new();
    let mut system_id = None;
    match (driver, addr) {
        (Some(Driver::Ipmi), Some(a)) => {
            if !is_host(a) {
                bad.push(format!("pm_addr {a:?} is not an IP address or host name"));
            }
            if port.is_none() && field_text(m, "pm_port").is_none() {
                bad.push("pm_port is missing (the BMC's UDP port, 623 on a real one)".into());
            }
            address = a.to_string();
        }
        (Some(Driver::Redfish), Some(a)) => {
            match redfish_url(a, port) {
                Ok(u) => address = u,
                Err(e) => bad.push(e.to_string()),
            }
            match text_field(m, "pm_system_id", bad) {
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
    (address, system_id)
}

/// `pm_password`: a secret, not empty.
fn password_of(m: &Map, bad: &mut Vec<String>) -> Option<Secret> {
    match m.get("pm_password").filter(|v| !v.is_unit()) {
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
    }
}

/// `mac`: a list of MAC addresses, at least one, each once, in lower case.
fn macs_of(m: &Map, bad: &mut Vec<String>) -> Vec<String> {
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
    macs
}

/// `capabilities` (`key:value,...`), with `profile` given on its own taking the place of the
/// one among them.
fn capabilities_of(m: &Map, bad: &mut Vec<String>) -> Vec<(String, String)> {
    let mut capabilities = match field_text(m, "capabilities") {
        None => vec![],
        Some(Err(e)) => {
            bad.push(e.to_string());
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
    if let Some(p) = text_field(m, "profile", bad) {
        if let Some(slot) = capabilities.iter_mut().find(|(k, _)| k == "profile") {
            slot.1 = p;
        } else {
            capabilities.push(("profile".into(), p));
        }
    }
    capabilities
}

/// `redfish_verify_ca`: a bool, or its text.
fn verify_ca_of(m: &Map, bad: &mut Vec<String>) -> Option<bool> {
    match m.get("redfish_verify_ca").filter(|v| !v.is_unit()) {
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
    }
}

/// Checks every entry and all of them together (names, MACs and BMCs given twice; names that
/// are not among `vms` when given). Every problem names the source, the entry and the field.
pub(super) fn parse_entries(
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

pub(super) fn problems_text(bad: &[String]) -> String {
    format!(
        "{} problem(s) in the nodes; nothing was enrolled:\n  {}",
        bad.len(),
        bad.join("\n  ")
    )
}

/// Reads instackenv.json as the director does: `{"nodes": [...]}`, passwords as secrets.
pub(super) fn read_instackenv(path: &str) -> Result<Array, Error> {
    let text = crate::util::read::text(path)?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(format!("{path}:{}:{}: not JSON: {e}", e.line(), e.column()))
    })?;
    let Some(nodes) = v["nodes"].as_array() else {
        return Err(Error::invalid(format!(
            "{path}: a \"nodes\" list is missing"
        )));
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
        // instackenv's null is a missing field, not a given one.
        for k in ["pm_addr", "pm_port", "pm_user", "name"] {
            let mut nulls = good("n4", 6234, "52:54:00:aa:00:06");
            nulls.retain(|(x, _)| *x != k);
            nulls.push((k, Dynamic::UNIT));
            let n = parse_entries(&vec![entry(&nulls)], "f", None)
                .unwrap_err()
                .join("\n");
            assert!(n.contains(&format!("{k} is missing")), "{k}: {n}");
        }
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
        assert_eq!(
            redfish_url("http://[::1]", Some(8000)).unwrap(),
            "http://[::1]:8000"
        );
        assert_eq!(
            redfish_url("[::1]:8000", None).unwrap(),
            "https://[::1]:8000"
        );
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
