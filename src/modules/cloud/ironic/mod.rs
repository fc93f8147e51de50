//! The bare metal operations (Ironic) behind the `baremetal` bindings, with ensure semantics:
//! nodes enrolled from instackenv.json entries (found again by name or by BMC, changed fields
//! updated), ports by MAC, provision-state goals reached by watching every node with one list
//! request a tick, power, validation and deletion. Every change goes through the effects seam;
//! a create is looked up again before any retry.
//!
//! This file holds the entries (checked instackenv.json nodes), BMC keys and capabilities;
//! nodes.rs enrolls, updates, validates and deletes nodes, ports.rs makes their ports, and
//! provision.rs moves them to a provision goal or a power state, watching.

use super::api::{q, Api};
use crate::effects::lab_key::LabKey;
use crate::effects::secret::Secret;
use crate::effects::Op;
use crate::error::Error;
use serde_json::{json, Map as JMap, Value};

mod nodes;
mod ports;
mod provision;

pub use nodes::EnrollOpts;
pub use provision::Goal;

/// A node's hardware type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    Ipmi,
    Redfish,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Ipmi => "ipmi",
            Driver::Redfish => "redfish",
        }
    }
}

/// One node to enroll, checked (an instackenv.json entry).
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub driver: Driver,
    /// ipmi: the BMC's host; redfish: its base URL (`http://127.0.0.1:8000`).
    pub address: String,
    /// ipmi: the BMC's UDP port.
    pub port: Option<u16>,
    /// redfish: the system's path (`/redfish/v1/Systems/UUID`).
    pub system_id: Option<String>,
    pub username: String,
    pub password: Secret,
    pub verify_ca: Option<bool>,
    /// Lower-case MACs; the first is the provisioning NIC's.
    pub macs: Vec<String>,
    pub cpus: Option<i64>,
    pub memory_mb: Option<i64>,
    pub local_gb: Option<i64>,
    pub cpu_arch: Option<String>,
    pub capabilities: Vec<(String, String)>,
}

impl Entry {
    /// The BMC as errors and plans name it.
    pub fn bmc(&self) -> String {
        match self.driver {
            Driver::Ipmi => format!("ipmi {}:{}", self.address, self.port.unwrap_or(623)),
            Driver::Redfish => format!(
                "redfish {}{}",
                self.address,
                self.system_id.as_deref().unwrap_or_default()
            ),
        }
    }

    /// What identifies the BMC (two nodes never share it).
    pub fn bmc_key(&self) -> String {
        bmc_key(
            self.driver.name(),
            &self.address,
            self.port.map(|p| p.to_string()).as_deref(),
            self.system_id.as_deref(),
        )
    }

    fn driver_info(&self) -> Value {
        match self.driver {
            Driver::Ipmi => json!({
                "ipmi_address": self.address,
                "ipmi_port": self.port.unwrap_or(623),
                "ipmi_username": self.username,
                "ipmi_password": self.password.expose(),
            }),
            Driver::Redfish => {
                let mut v = json!({
                    "redfish_address": self.address,
                    "redfish_system_id": self.system_id,
                    "redfish_username": self.username,
                    "redfish_password": self.password.expose(),
                });
                if let Some(b) = self.verify_ca {
                    v["redfish_verify_ca"] = json!(b);
                }
                v
            }
        }
    }

    /// driver_info as plans and journals show it.
    fn driver_info_shown(&self) -> Value {
        let mut v = self.driver_info();
        let key = format!("{}_password", self.driver.name());
        v[key] = json!(self.password.mask());
        v
    }

    /// A digest of the BMC's address and credentials, keyed with the lab's key, kept in the
    /// node's `extra`: Ironic shows passwords as `******`, so this is how a changed password is
    /// seen without the password ever being read back; keyed, it gives whoever reads the node
    /// nothing to test guessed passwords against.
    fn digest(&self, key: &LabKey) -> String {
        let parts = [
            "labsh-bmc",
            &self.name,
            self.driver.name(),
            &self.bmc_key(),
            &self.username,
            self.password.expose(),
        ];
        let parts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        let hex: String = key.digest(&parts)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("hmac-sha256:{hex}")
    }

    fn properties(&self) -> JMap<String, Value> {
        let mut p = JMap::new();
        if let Some(c) = self.cpus {
            p.insert("cpus".into(), json!(c));
        }
        if let Some(m) = self.memory_mb {
            p.insert("memory_mb".into(), json!(m));
        }
        if let Some(d) = self.local_gb {
            p.insert("local_gb".into(), json!(d));
        }
        if let Some(a) = &self.cpu_arch {
            p.insert("cpu_arch".into(), json!(a));
        }
        p
    }
}

/// The key of a BMC from its parts.
pub fn bmc_key(driver: &str, address: &str, port: Option<&str>, system_id: Option<&str>) -> String {
    match driver {
        "redfish" => format!(
            "redfish {} {}",
            address.trim_end_matches('/').to_ascii_lowercase(),
            system_id.unwrap_or_default().trim_end_matches('/')
        ),
        _ => format!(
            "ipmi {} {}",
            address.to_ascii_lowercase(),
            port.unwrap_or("623")
        ),
    }
}

/// The BMC key of a node as Ironic holds it.
fn node_bmc_key(n: &Value) -> Option<String> {
    let di = &n["driver_info"];
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(x) => Some(x.to_string()),
        _ => None,
    };
    if let Some(a) = di["redfish_address"].as_str() {
        return Some(bmc_key(
            "redfish",
            a,
            None,
            di["redfish_system_id"].as_str(),
        ));
    }
    let a = di["ipmi_address"].as_str()?;
    Some(bmc_key("ipmi", a, text(&di["ipmi_port"]).as_deref(), None))
}

/// The BMC of a node as errors name it.
pub fn node_bmc(n: &Value) -> String {
    let di = &n["driver_info"];
    if let Some(a) = di["redfish_address"].as_str() {
        return format!(
            "redfish {a}{}",
            di["redfish_system_id"].as_str().unwrap_or_default()
        );
    }
    match di["ipmi_address"].as_str() {
        Some(a) => format!(
            "ipmi {a}:{}",
            match &di["ipmi_port"] {
                Value::Null => "623".to_string(),
                Value::String(s) => s.clone(),
                v => v.to_string(),
            }
        ),
        None => format!("{} (no BMC address)", n["driver"].as_str().unwrap_or("?")),
    }
}

/// Capabilities (`profile:control,boot_option:local`) as ordered pairs.
pub fn parse_capabilities(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|kv| {
            let kv = kv.trim();
            let (k, v) = kv.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

pub fn capabilities_text(c: &[(String, String)]) -> String {
    c.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `have` with each of `want` set (existing keys keep their place, new ones are appended).
pub fn merge_capabilities(have: &str, want: &[(String, String)]) -> String {
    let mut c = parse_capabilities(have);
    for (k, v) in want {
        match c.iter_mut().find(|(ck, _)| ck == k) {
            Some(slot) => slot.1 = v.clone(),
            None => c.push((k.clone(), v.clone())),
        }
    }
    capabilities_text(&c)
}

/// Whether `s` is a MAC address (six pairs of hex digits with colons).
pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl<'a> Api<'a> {
    /// Why a step whose node exists only in this plan, or whose cloud is offline, cannot be
    /// applied (a plan shows it; only a run against the live cloud does it).
    fn only_planned(&self) -> crate::error::Error {
        crate::error::Error::failed(format!(
            "cloud '{}' is offline here or the node is not enrolled yet: this step can only be planned",
            self.conn.name()
        ))
    }

    fn bm_op(&self, op: &str, target: &str) -> Op {
        Op::new(format!("baremetal.{op}"), target).arg("cloud", self.conn.name())
    }

    /// The microversion this session speaks with the bare metal service.
    pub fn baremetal_version(&self) -> Result<String, Error> {
        self.read(
            "baremetal version",
            |c| c.baremetal_version().map_err(Error::from),
            "(offline)".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_merge_in_place() {
        assert_eq!(
            merge_capabilities(
                "boot_mode:bios,profile:compute",
                &[
                    ("profile".into(), "control".into()),
                    ("boot_option".into(), "local".into())
                ]
            ),
            "boot_mode:bios,profile:control,boot_option:local"
        );
        assert_eq!(
            merge_capabilities("", &[("profile".into(), "x".into())]),
            "profile:x"
        );
        assert_eq!(
            parse_capabilities(" profile : control ,bad, a:b"),
            [
                ("profile".to_string(), "control".to_string()),
                ("a".into(), "b".into())
            ]
        );
    }

    #[test]
    fn the_credentials_digest_is_keyed_by_the_lab_and_follows_the_password() {
        let entry = |pw: &str| Entry {
            name: "overcloud-ctrl01".into(),
            driver: Driver::Ipmi,
            address: "172.16.0.254".into(),
            port: Some(6230),
            system_id: None,
            username: "admin".into(),
            password: Secret::new("bmc-digest-unit", pw),
            verify_ca: None,
            macs: vec![],
            cpus: None,
            memory_mb: None,
            local_gb: None,
            cpu_arch: None,
            capabilities: vec![],
        };
        let (k1, k2) = (LabKey::fixed(1), LabKey::fixed(2));
        let d = entry("digest-unit-pw").digest(&k1);
        assert!(d.starts_with("hmac-sha256:") && d.len() == 12 + 32, "{d}");
        assert_eq!(d, entry("digest-unit-pw").digest(&k1));
        assert_ne!(d, entry("digest-unit-pw2").digest(&k1));
        assert_ne!(d, entry("digest-unit-pw").digest(&k2), "another lab's key");
    }

    #[test]
    fn bmc_keys_ignore_case_and_slashes() {
        assert_eq!(
            bmc_key(
                "redfish",
                "http://H:8000/",
                None,
                Some("/redfish/v1/Systems/x/")
            ),
            bmc_key(
                "redfish",
                "http://h:8000",
                None,
                Some("/redfish/v1/Systems/x")
            )
        );
        assert_eq!(bmc_key("ipmi", "10.0.0.1", None, None), "ipmi 10.0.0.1 623");
        assert!(
            is_mac("52:54:00:AA:bb:0c")
                && !is_mac("52:54:00:aa:bb")
                && !is_mac("zz:54:00:aa:bb:cc")
        );
    }
}
