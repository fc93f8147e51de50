//! The bare metal operations (Ironic) behind the `baremetal` bindings, with ensure semantics:
//! nodes enrolled from instackenv.json entries (found again by name or by BMC, changed fields
//! updated), ports by MAC, provision-state goals reached by watching every node with one list
//! request a tick, power, validation and deletion. Every change goes through the effects seam;
//! a create is looked up again before any retry.

use super::api::Api;
use super::client::{Body, Client, Failure};
use super::id::Id;
use crate::effects::secret::Secret;
use crate::effects::Op;
use serde_json::{json, Map as JMap, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use ureq::http::Method;

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

    /// A digest of the BMC's address and credentials, salted with the node's name, kept in the
    /// node's `extra`: Ironic shows passwords as `******`, so this is how a changed password is
    /// seen without the password ever being read back.
    fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [
            "labsh-bmc",
            &self.name,
            self.driver.name(),
            &self.bmc_key(),
            &self.username,
            self.password.expose(),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        h.finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
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

/// Where provision transitions lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// `manage`: verified against its BMC (a node already past it, available or active, is left).
    Manageable,
    /// `inspect`: inspected once (a node that has been is left).
    Inspected,
    /// `provide`: available for deployment.
    Available,
}

impl Goal {
    pub fn parse(s: &str) -> Result<Goal, String> {
        match s {
            "manage" | "manageable" => Ok(Goal::Manageable),
            "inspect" | "inspected" => Ok(Goal::Inspected),
            "provide" | "available" => Ok(Goal::Available),
            other => Err(format!(
                "unknown provision goal {other:?}: manage, inspect or provide"
            )),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Goal::Manageable => "manageable",
            Goal::Inspected => "inspected",
            Goal::Available => "available",
        }
    }
}

/// What a node needs next on its way to a goal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Done,
    Wait,
    Do(&'static str),
    Fail(String),
}

/// States a node only passes through.
fn transitional(state: &str) -> bool {
    matches!(
        state,
        "verifying"
            | "inspecting"
            | "inspect wait"
            | "cleaning"
            | "clean wait"
            | "deploying"
            | "wait call-back"
            | "deleting"
            | "adopting"
            | "rescuing"
            | "rescue wait"
            | "unrescuing"
            | "servicing"
            | "service wait"
    )
}

/// The next step of a node in `state` (with `target`, and `inspected` once) towards `goal`.
pub fn next_step(state: &str, target: Option<&str>, inspected: bool, goal: Goal) -> Step {
    if target.is_some() || transitional(state) {
        return Step::Wait;
    }
    match (state, goal) {
        ("active", _) => Step::Done,
        ("enroll", _) => Step::Do("manage"),
        ("manageable", Goal::Manageable) => Step::Done,
        ("manageable", Goal::Inspected) if inspected => Step::Done,
        ("manageable", Goal::Inspected) => Step::Do("inspect"),
        ("manageable", Goal::Available) => Step::Do("provide"),
        ("available", Goal::Inspected) if !inspected => Step::Do("manage"),
        ("available", _) => Step::Done,
        ("inspect failed", Goal::Inspected) => Step::Do("inspect"),
        ("inspect failed" | "clean failed", _) => Step::Do("manage"),
        (other, _) => Step::Fail(format!(
            "it is {other}; labsh moves nodes from enroll, manageable, available, inspect failed and clean failed only"
        )),
    }
}

/// The transitions a node in `state` goes through to `goal` (for a plan).
pub fn path(state: &str, inspected: bool, goal: Goal) -> Vec<&'static str> {
    let (mut s, mut insp) = (state.to_string(), inspected);
    let mut out = vec![];
    for _ in 0..6 {
        match next_step(&s, None, insp, goal) {
            Step::Do(v) => {
                out.push(v);
                match v {
                    "manage" => s = "manageable".into(),
                    "inspect" => {
                        s = "manageable".into();
                        insp = true;
                    }
                    _ => s = "available".into(),
                }
            }
            _ => break,
        }
    }
    out
}

/// Options of an enrollment.
#[derive(Clone, Debug, Default)]
pub struct EnrollOpts {
    /// The lab the nodes belong to: kept in each node's `extra.labsh_lab`.
    pub lab: Option<String>,
    /// Inspect interfaces by driver ("redfish" for redfish nodes, say).
    pub inspect_interface: HashMap<&'static str, String>,
    /// Check the power and management interfaces after a change.
    pub validate: bool,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where the transitions a plan has shown leave each node ("cloud|node"), so the plan's next
/// step starts there.
static PLANNED: std::sync::Mutex<BTreeMap<String, (String, bool)>> =
    std::sync::Mutex::new(BTreeMap::new());

fn planned_state(key: &str) -> Option<(String, bool)> {
    PLANNED.lock().ok()?.get(key).cloned()
}

fn set_planned_state(key: &str, v: (String, bool)) {
    if let Ok(mut m) = PLANNED.lock() {
        m.insert(key.to_string(), v);
    }
}

/// What enrolling one entry changes: the node (create, or a JSON patch) and its ports.
struct NodePlan<'e> {
    entry: &'e Entry,
    existing: Option<Value>,
    patch: Vec<Value>,
    shown: JMap<String, Value>,
    reset_interfaces: bool,
    new_macs: Vec<String>,
}

/// The fields of a node the provision watcher reads.
const WATCH_FIELDS: &str = "uuid,name,provision_state,target_provision_state,provision_updated_at,last_error,inspection_finished_at,maintenance,maintenance_reason,power_state,target_power_state,driver,driver_info";

impl<'a> Api<'a> {
    fn bm_read<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Client) -> Result<T, String>,
        offline: T,
    ) -> Result<T, String> {
        self.read(what, f, offline)
    }

    /// Why a step whose node exists only in this plan, or whose cloud is offline, cannot be
    /// applied (a plan shows it; only a run against the live cloud does it).
    fn only_planned(&self) -> String {
        format!(
            "cloud '{}' is offline here or the node is not enrolled yet: this step can only be planned",
            self.conn.name()
        )
    }

    fn bm_op(&self, op: &str, target: &str) -> Op {
        Op::new(format!("baremetal.{op}"), target).arg("cloud", self.conn.name())
    }

    /// The microversion this session speaks with the bare metal service.
    pub fn baremetal_version(&self) -> Result<String, String> {
        self.bm_read(
            "baremetal version",
            |c| c.baremetal_version().map_err(String::from),
            "(offline)".into(),
        )
    }

    /// Every node, with details (`/v1/nodes/detail`, following `next`).
    pub fn bm_nodes(&self) -> Result<Vec<Value>, String> {
        self.bm_read(
            "nodes",
            |c| c.list("baremetal", "/nodes/detail?limit=1000", "nodes"),
            vec![],
        )
    }

    /// A node by name or UUID.
    pub fn bm_node(&self, ident: &Id) -> Result<Option<Value>, String> {
        let Id::Real(ident) = ident else {
            return Ok(None);
        };
        let path = format!("/nodes/{}", q(ident));
        self.bm_read(ident, |c| c.get_opt("baremetal", &path), None)
    }

    /// Every port, or a node's.
    pub fn bm_ports(&self, node: Option<&Id>) -> Result<Vec<Value>, String> {
        let path = match node {
            Some(n) => {
                let Some(found) = self.bm_node(n)? else {
                    return Ok(vec![]);
                };
                format!(
                    "/ports/detail?limit=1000&node_uuid={}",
                    q(found["uuid"].as_str().unwrap_or_default())
                )
            }
            None => "/ports/detail?limit=1000".into(),
        };
        self.bm_read("ports", |c| c.list("baremetal", &path, "ports"), vec![])
    }

    /// Everything wrong with enrolling `entries` against what Ironic holds, before any change:
    /// a BMC or MAC already another node's, a node of the same name on another BMC that this
    /// lab did not make.
    fn enroll_problems(
        &self,
        entries: &[Entry],
        nodes: &[Value],
        ports: &[Value],
        lab: Option<&str>,
    ) -> Vec<String> {
        let mut bad = vec![];
        for e in entries {
            let by_name = nodes.iter().find(|n| n["name"] == e.name.as_str());
            let by_bmc = nodes
                .iter()
                .find(|n| node_bmc_key(n).as_deref() == Some(e.bmc_key().as_str()));
            let ours = |n: &Value| lab.is_some() && n["extra"]["labsh_lab"].as_str() == lab;
            if let Some(n) = by_bmc {
                if n["name"] != e.name.as_str() && (by_name.is_some() || !ours(n)) {
                    bad.push(format!(
                        "{}: its BMC ({}) is already enrolled as node '{}'{}; delete that node or change the entry",
                        e.name,
                        e.bmc(),
                        n["name"].as_str().unwrap_or(n["uuid"].as_str().unwrap_or("?")),
                        if ours(n) { "" } else { ", which this lab did not make" }
                    ));
                    continue;
                }
            }
            if let Some(n) = by_name {
                if node_bmc_key(n).as_deref() != Some(e.bmc_key().as_str()) && !ours(n) {
                    bad.push(format!(
                        "{}: a node of this name exists with BMC {}, and this lab did not make it; delete it or rename the entry",
                        e.name,
                        node_bmc(n)
                    ));
                    continue;
                }
            }
            let mine = by_name.or(by_bmc).and_then(|n| n["uuid"].as_str());
            for m in &e.macs {
                if let Some(p) = ports.iter().find(|p| {
                    p["address"].as_str().map(|a| a.to_ascii_lowercase()) == Some(m.clone())
                }) {
                    if p["node_uuid"].as_str() != mine {
                        let owner = nodes
                            .iter()
                            .find(|n| n["uuid"] == p["node_uuid"])
                            .and_then(|n| n["name"].as_str().or(n["uuid"].as_str()))
                            .unwrap_or("another node");
                        bad.push(format!(
                            "{}: MAC {m} is already a port of node '{owner}'",
                            e.name
                        ));
                    }
                }
            }
        }
        bad
    }

    /// What enrolling `e` changes on the node Ironic has (`existing`), or its create.
    fn node_plan<'e>(
        &self,
        e: &'e Entry,
        existing: Option<&Value>,
        ports: &[Value],
        o: &EnrollOpts,
        version: &str,
    ) -> NodePlan<'e> {
        let mut patch = vec![];
        let mut shown = JMap::new();
        let mut reset_interfaces = false;
        let uuid = existing.and_then(|n| n["uuid"].as_str());
        let new_macs: Vec<String> = e
            .macs
            .iter()
            .filter(|m| {
                !ports.iter().any(|p| {
                    p["address"]
                        .as_str()
                        .map(|a| a.to_ascii_lowercase())
                        .as_deref()
                        == Some(m.as_str())
                        && uuid.is_some()
                        && p["node_uuid"].as_str() == uuid
                })
            })
            .cloned()
            .collect();
        let Some(n) = existing else {
            return NodePlan {
                entry: e,
                existing: None,
                patch,
                shown,
                reset_interfaces,
                new_macs,
            };
        };
        let mut set = |path: &str, value: Value, show: Value| {
            patch.push(json!({"op": "add", "path": path, "value": value}));
            shown.insert(path.trim_start_matches('/').replace('/', "."), show);
        };
        if n["name"] != e.name.as_str() {
            set("/name", json!(e.name), json!(e.name));
        }
        let driver_changed = n["driver"] != e.driver.name();
        if driver_changed {
            set("/driver", json!(e.driver.name()), json!(e.driver.name()));
            reset_interfaces = super::client::microversion(version) >= Some((1, 45));
        }
        let digest = e.digest();
        let same_bmc = node_bmc_key(n).as_deref() == Some(e.bmc_key().as_str());
        let user_key = format!("{}_username", e.driver.name());
        let same_user = n["driver_info"][user_key.as_str()] == e.username.as_str();
        let same_verify = e.verify_ca.is_none_or(|b| {
            text_of(&n["driver_info"]["redfish_verify_ca"]).as_deref() == Some(&b.to_string())
        });
        if driver_changed
            || !same_bmc
            || !same_user
            || !same_verify
            || n["extra"]["labsh_bmc"].as_str() != Some(digest.as_str())
        {
            set("/driver_info", e.driver_info(), e.driver_info_shown());
            set(
                "/extra/labsh_bmc",
                json!(digest),
                json!("(digest of the BMC's credentials)"),
            );
        }
        if let Some(i) = o.inspect_interface.get(e.driver.name()) {
            if n["inspect_interface"] != i.as_str() || driver_changed {
                set("/inspect_interface", json!(i), json!(i));
            }
        }
        if let Some(lab) = &o.lab {
            if n["extra"]["labsh_lab"] != lab.as_str() {
                set("/extra/labsh_lab", json!(lab), json!(lab));
            }
        }
        // Inspection measures what the entry only states: once inspected, its values stand.
        let inspected = !n["inspection_finished_at"].is_null();
        for (k, v) in e.properties() {
            let have = text_of(&n["properties"][k.as_str()]);
            if have.as_deref() == text_of(&v).as_deref() {
                continue;
            }
            if inspected && k != "cpus" {
                continue;
            }
            if inspected && have.is_some() {
                continue;
            }
            set(&format!("/properties/{k}"), v.clone(), v);
        }
        if !e.capabilities.is_empty() {
            let have = n["properties"]["capabilities"].as_str().unwrap_or_default();
            let merged = merge_capabilities(have, &e.capabilities);
            if parse_capabilities(&merged) != parse_capabilities(have) {
                set("/properties/capabilities", json!(merged), json!(merged));
            }
        }
        NodePlan {
            entry: e,
            existing: Some(n.clone()),
            patch,
            shown,
            reset_interfaces,
            new_macs,
        }
    }

    /// Enrolls `entries` (checked already): each node found by name or by its BMC is updated
    /// where it differs, the others are created, each gets a port per MAC, and (with
    /// `o.validate`) its power and management interfaces are validated. Nothing changes when
    /// any entry conflicts with what Ironic holds.
    pub fn bm_enroll(
        &self,
        entries: &[Entry],
        o: &EnrollOpts,
        jobs: usize,
    ) -> Result<Vec<Value>, String> {
        let nodes = self.bm_nodes()?;
        let ports = self.bm_ports(None)?;
        let bad = self.enroll_problems(entries, &nodes, &ports, o.lab.as_deref());
        if !bad.is_empty() {
            return Err(format!(
                "{} node(s) cannot be enrolled as given; nothing was changed:\n  {}",
                bad.len(),
                bad.join("\n  ")
            ));
        }
        let version = if self.live().is_some() {
            self.baremetal_version()?
        } else {
            super::client::BAREMETAL_MICROVERSIONS.1.to_string()
        };
        let plans: Vec<NodePlan> = entries
            .iter()
            .map(|e| {
                let existing = nodes
                    .iter()
                    .find(|n| n["name"] == e.name.as_str())
                    .or_else(|| {
                        nodes
                            .iter()
                            .find(|n| node_bmc_key(n).as_deref() == Some(e.bmc_key().as_str()))
                    });
                self.node_plan(e, existing, &ports, o, &version)
            })
            .collect();
        crate::effects::pool::run_all(
            jobs,
            plans.len(),
            "nodes",
            |i| format!("{} ({})", plans[i].entry.name, plans[i].entry.bmc()),
            |i| self.enroll_one(&plans[i], o),
        )
    }

    fn enroll_one(&self, p: &NodePlan, o: &EnrollOpts) -> Result<Value, String> {
        let e = p.entry;
        let mut changed = false;
        let node = match &p.existing {
            None => {
                let mut props = e.properties();
                if !e.capabilities.is_empty() {
                    props.insert(
                        "capabilities".into(),
                        json!(capabilities_text(&e.capabilities)),
                    );
                }
                let mut extra = json!({"labsh_bmc": e.digest()});
                if let Some(l) = &o.lab {
                    extra["labsh_lab"] = json!(l);
                }
                let mut body = json!({"name": e.name, "driver": e.driver.name(),
                    "driver_info": e.driver_info(), "properties": props, "extra": extra});
                if let Some(i) = o.inspect_interface.get(e.driver.name()) {
                    body["inspect_interface"] = json!(i);
                }
                let name = e.name.clone();
                let find = |c: &Client| c.get_opt("baremetal", &format!("/nodes/{}", q(&name)));
                let post = |c: &Client| -> Result<Value, Failure> {
                    Ok(c.call(
                        Method::POST,
                        "baremetal",
                        "/nodes",
                        Body::Json(body.clone()),
                        &[],
                    )?
                    .body)
                };
                changed = true;
                self.create(
                    self.bm_op("node.create", &e.name)
                        .arg("driver", e.driver.name())
                        .arg("driver_info", e.driver_info_shown())
                        .arg("properties", &props)
                        .arg("lab", &o.lab),
                    "node",
                    &e.name,
                    &find,
                    &post,
                    json!({"provision_state": "enroll", "driver": e.driver.name()}),
                )?
            }
            Some(n) if !p.patch.is_empty() => {
                let uuid = n["uuid"].as_str().unwrap_or_default().to_string();
                let path = if p.reset_interfaces {
                    format!("/nodes/{uuid}?reset_interfaces=true")
                } else {
                    format!("/nodes/{uuid}")
                };
                let patch = Value::Array(p.patch.clone());
                changed = true;
                let r = self.update(
                    self.bm_op("node.update", &e.name)
                        .arg("set", &p.shown)
                        .arg("bmc", e.bmc()),
                    |c| {
                        Ok(
                            c.call(Method::PATCH, "baremetal", &path, Body::Json(patch), &[])?
                                .body,
                        )
                    },
                    n.clone(),
                )?;
                if r.is_null() {
                    n.clone()
                } else {
                    r
                }
            }
            Some(n) => n.clone(),
        };
        let uuid = Id::from_json(&node["uuid"]);
        for m in &p.new_macs {
            self.bm_port_create(&e.name, &uuid, m)?;
            changed = true;
        }
        let real = uuid.real().filter(|u| !u.is_empty());
        if !changed {
            self.fx.unchanged(self.bm_op("node.ensure", &e.name));
        } else if let Some(uuid) = real.filter(|_| o.validate && !self.fx.is_plan()) {
            let v = self.bm_validate(uuid)?;
            for iface in ["power", "management"] {
                if v[iface]["result"] == json!(false) {
                    return Err(format!(
                        "the {iface} interface does not validate: {}",
                        v[iface]["reason"].as_str().unwrap_or("no reason given")
                    ));
                }
            }
        }
        Ok(node)
    }

    fn bm_port_create(&self, name: &str, uuid: &Id, mac: &str) -> Result<Value, String> {
        let body = json!({"address": mac, "node_uuid": uuid, "pxe_enabled": true});
        let mac_q = q(mac);
        let find = |c: &Client| -> Result<Option<Value>, String> {
            Ok(c.list(
                "baremetal",
                &format!("/ports/detail?address={mac_q}"),
                "ports",
            )?
            .into_iter()
            .next())
        };
        let post = |c: &Client| -> Result<Value, Failure> {
            Ok(c.call(
                Method::POST,
                "baremetal",
                "/ports",
                Body::Json(body.clone()),
                &[],
            )?
            .body)
        };
        if uuid.is_planned() || self.fx.is_plan() || self.live().is_none() {
            return self.fx.change(
                self.bm_op("port.create", &format!("{name} {mac}")),
                || Err::<_, String>(self.only_planned()),
                || json!({"address": mac, "node_uuid": uuid, "planned": true}),
            );
        }
        self.create(
            self.bm_op("port.create", &format!("{name} {mac}")),
            "port",
            mac,
            &find,
            &post,
            json!({"address": mac}),
        )
    }

    /// Ensures a port with `mac` on node `ident`; a port with this MAC on another node is an error.
    pub fn bm_port_ensure(&self, ident: &Id, mac: &str) -> Result<Value, String> {
        let mac = mac.to_ascii_lowercase();
        if !is_mac(&mac) {
            return Err(format!("{mac:?} is not a MAC address (52:54:00:aa:bb:cc)"));
        }
        let node = self.bm_node(ident)?;
        let uuid = match &node {
            Some(n) => Id::from_json(&n["uuid"]),
            None if self.fx.is_plan() => Id::planned("node", &ident.to_string()),
            None => return Err(format!("no node '{ident}' in cloud '{}'", self.conn.name())),
        };
        let found = self
            .bm_read(
                &mac,
                |c| {
                    c.list(
                        "baremetal",
                        &format!("/ports/detail?address={}", q(&mac)),
                        "ports",
                    )
                },
                vec![],
            )?
            .into_iter()
            .next();
        if let Some(p) = found {
            if p["node_uuid"] != uuid.to_string() {
                return Err(format!(
                    "MAC {mac} is already a port of node {}",
                    p["node_uuid"].as_str().unwrap_or("?")
                ));
            }
            self.fx
                .unchanged(self.bm_op("port.ensure", &format!("{ident} {mac}")));
            return Ok(p);
        }
        self.bm_port_create(&ident.to_string(), &uuid, &mac)
    }

    /// `GET /v1/nodes/X/validate`: each interface's `{result, reason}`.
    pub fn bm_validate(&self, ident: &str) -> Result<Value, String> {
        let path = format!("/nodes/{}/validate", q(ident));
        self.bm_read(
            &format!("validate {ident}"),
            |c| c.get("baremetal", &path),
            json!({}),
        )
    }

    /// Sets properties, capabilities (merged into the node's) and extra keys where they differ.
    pub fn bm_node_update(
        &self,
        ident: &Id,
        properties: &JMap<String, Value>,
        capabilities: &[(String, String)],
        extra: &JMap<String, Value>,
    ) -> Result<Value, String> {
        let node = match self.bm_node(ident)? {
            Some(n) => n,
            None if self.fx.is_plan() => {
                let mut shown = JMap::new();
                for (k, v) in properties {
                    shown.insert(format!("properties.{k}"), v.clone());
                }
                if !capabilities.is_empty() {
                    shown.insert(
                        "properties.capabilities".into(),
                        json!(capabilities_text(capabilities)),
                    );
                }
                for (k, v) in extra {
                    shown.insert(format!("extra.{k}"), v.clone());
                }
                return self.fx.change(
                    self.bm_op("node.update", &ident.to_string())
                        .arg("set", &shown),
                    || Err::<_, String>(self.only_planned()),
                    || json!({"name": ident, "planned": true}),
                );
            }
            None => return Err(format!("no node '{ident}' in cloud '{}'", self.conn.name())),
        };
        let mut patch = vec![];
        let mut shown = JMap::new();
        for (k, v) in properties {
            if text_of(&node["properties"][k.as_str()]) != text_of(v) {
                patch.push(json!({"op": "add", "path": format!("/properties/{k}"), "value": v}));
                shown.insert(format!("properties.{k}"), v.clone());
            }
        }
        if !capabilities.is_empty() {
            let have = node["properties"]["capabilities"]
                .as_str()
                .unwrap_or_default();
            let merged = merge_capabilities(have, capabilities);
            if parse_capabilities(&merged) != parse_capabilities(have) {
                patch.push(
                    json!({"op": "add", "path": "/properties/capabilities", "value": merged}),
                );
                shown.insert("properties.capabilities".into(), json!(merged));
            }
        }
        for (k, v) in extra {
            if node["extra"][k.as_str()] != *v {
                patch.push(json!({"op": "add", "path": format!("/extra/{k}"), "value": v}));
                shown.insert(format!("extra.{k}"), v.clone());
            }
        }
        if patch.is_empty() {
            self.fx
                .unchanged(self.bm_op("node.update", &ident.to_string()));
            return Ok(node);
        }
        let uuid = Id::from_json(&node["uuid"]);
        let r = self.update(
            self.bm_op("node.update", &ident.to_string())
                .arg("set", &shown),
            |c| {
                Ok(c.call(
                    Method::PATCH,
                    "baremetal",
                    &format!("/nodes/{uuid}"),
                    Body::Json(Value::Array(patch)),
                    &[],
                )?
                .body)
            },
            node.clone(),
        )?;
        Ok(if r.is_null() { node } else { r })
    }

    /// The watched fields of every node (one request).
    fn watch_list(&self) -> Result<Vec<Value>, String> {
        let path = format!("/nodes?limit=1000&fields={WATCH_FIELDS}");
        self.bm_read("nodes", |c| c.list("baremetal", &path, "nodes"), vec![])
    }

    /// Moves each node of `names` to `goal`: every node's next transition is asked for at once,
    /// then all are watched with one list request a tick (0.1 s at first, at most 0.5 s) until
    /// each has arrived or failed, progress printed as states change. A node whose transition
    /// failed (Ironic's `last_error`) is left where Ironic put it, and the error names each such
    /// node with its BMC; the others still reach the goal. Plan mode shows each transition.
    pub fn bm_provision(
        &self,
        names: &[String],
        goal: Goal,
        timeout: Duration,
        jobs: usize,
    ) -> Result<Vec<Value>, String> {
        let t0 = Instant::now();
        let mut nodes = self.watch_list()?;
        let find = |nodes: &[Value], n: &str| -> Option<Value> {
            nodes
                .iter()
                .find(|x| x["name"] == n || x["uuid"] == n)
                .cloned()
        };
        if self.fx.is_plan() || self.live().is_none() {
            let mut out = vec![];
            for n in names {
                let (state, inspected, node) = match find(&nodes, n) {
                    Some(x) => (
                        x["provision_state"]
                            .as_str()
                            .unwrap_or("enroll")
                            .to_string(),
                        !x["inspection_finished_at"].is_null(),
                        x,
                    ),
                    None => ("enroll".into(), false, json!({"name": n, "planned": true})),
                };
                // Where an earlier step of this plan left the node.
                let key = format!("{}|{n}", self.conn.name());
                let (state, inspected) = planned_state(&key).unwrap_or((state, inspected));
                let steps = path(&state, inspected, goal);
                let after = match steps.last() {
                    Some(&"provide") => (
                        "available".to_string(),
                        inspected || steps.contains(&"inspect"),
                    ),
                    Some(_) => (
                        "manageable".to_string(),
                        inspected || steps.contains(&"inspect"),
                    ),
                    None => (state.clone(), inspected),
                };
                set_planned_state(&key, after);
                if steps.is_empty() {
                    self.fx
                        .unchanged(self.bm_op(&format!("node.{}", goal.word()), n));
                }
                for v in steps {
                    self.fx.change(
                        self.bm_op(&format!("node.{v}"), n),
                        || Err::<_, String>(self.only_planned()),
                        || (),
                    )?;
                }
                out.push(node);
            }
            return Ok(out);
        }
        let missing: Vec<&String> = names.iter().filter(|n| find(&nodes, n).is_none()).collect();
        if !missing.is_empty() {
            return Err(format!(
                "no node {} in cloud '{}'; enroll them first (baremetal::nodes_ensure)",
                missing
                    .iter()
                    .map(|m| format!("'{m}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.conn.name()
            ));
        }
        // What each node was asked to do, and when its provision state last changed then.
        let mut asked: HashMap<String, (&'static str, Value, Value)> = HashMap::new();
        let mut tried: HashMap<String, Vec<&'static str>> = HashMap::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        let mut done: BTreeMap<String, Value> = BTreeMap::new();
        let mut last_seen: HashMap<String, String> = HashMap::new();
        let mut changed_any: HashMap<String, bool> = HashMap::new();
        let mut tick = Duration::from_millis(100);
        loop {
            let mut to_do: Vec<(String, &'static str, Value)> = vec![];
            let mut pending = 0;
            for n in names {
                if failed.contains_key(n) || done.contains_key(n) {
                    continue;
                }
                let Some(node) = find(&nodes, n) else {
                    failed.insert(n.clone(), "the node is gone".into());
                    continue;
                };
                let state = node["provision_state"].as_str().unwrap_or("").to_string();
                let target = node["target_provision_state"].as_str().map(String::from);
                let seen = match &target {
                    Some(t) => format!("{state} → {t}"),
                    None => state.clone(),
                };
                if last_seen.get(n) != Some(&seen) {
                    if last_seen.contains_key(n) || asked.contains_key(n) {
                        self.fx.printer().status(&format!("  {n}: {seen}"));
                    }
                    last_seen.insert(n.clone(), seen);
                }
                if node["maintenance"] == json!(true) {
                    failed.insert(
                        n.clone(),
                        format!(
                            "it is in maintenance: {}",
                            node["maintenance_reason"]
                                .as_str()
                                .unwrap_or("no reason given")
                        ),
                    );
                    continue;
                }
                let inspected = !node["inspection_finished_at"].is_null();
                let mut step = next_step(&state, target.as_deref(), inspected, goal);
                // A transition asked for and not begun yet (Ironic records the change at once;
                // this covers a slow answer): the state and its time are as before.
                if let (Step::Do(v), Some((asked_v, at_state, at_time))) = (&step, asked.get(n)) {
                    let unchanged = node["provision_state"] == *at_state
                        && node["provision_updated_at"] == *at_time;
                    if unchanged && v == asked_v {
                        step = Step::Wait;
                    }
                }
                match step {
                    Step::Done => {
                        if !changed_any.get(n).copied().unwrap_or(false) {
                            self.fx
                                .unchanged(self.bm_op(&format!("node.{}", goal.word()), n));
                        }
                        done.insert(n.clone(), node);
                    }
                    Step::Wait => pending += 1,
                    Step::Fail(why) => {
                        failed.insert(n.clone(), why);
                    }
                    Step::Do(v) => {
                        if tried.get(n).is_some_and(|t| t.contains(&v)) {
                            let last = tried.get(n).and_then(|t| t.last().copied()).unwrap_or(v);
                            failed.insert(
                                n.clone(),
                                format!(
                                    "{last} failed: it is {state}{}",
                                    match node["last_error"].as_str() {
                                        Some(e) if !e.is_empty() => format!(": {e}"),
                                        _ => String::new(),
                                    }
                                ),
                            );
                        } else {
                            to_do.push((n.clone(), v, node));
                        }
                    }
                }
            }
            if !to_do.is_empty() {
                let results = crate::effects::pool::run_indexed(jobs, to_do.len(), |i| {
                    let (n, v, node) = &to_do[i];
                    self.provision_put(n, v, node)
                });
                for ((n, v, node), r) in to_do.into_iter().zip(results) {
                    match r {
                        Ok(()) => {
                            tried.entry(n.clone()).or_default().push(v);
                            changed_any.insert(n.clone(), true);
                            asked.insert(
                                n.clone(),
                                (
                                    v,
                                    node["provision_state"].clone(),
                                    node["provision_updated_at"].clone(),
                                ),
                            );
                            pending += 1;
                        }
                        Err(e) => {
                            failed.insert(n, e);
                        }
                    }
                }
            }
            if pending == 0 {
                break;
            }
            if t0.elapsed() > timeout {
                for n in names {
                    if !failed.contains_key(n) && !done.contains_key(n) {
                        let seen = last_seen.get(n).cloned().unwrap_or_default();
                        failed.insert(
                            n.clone(),
                            format!(
                                "not {} within {} s; it is {seen}",
                                goal.word(),
                                timeout.as_secs()
                            ),
                        );
                    }
                }
                break;
            }
            self.fx.check_cancel()?;
            std::thread::sleep(tick);
            if t0.elapsed() > Duration::from_secs(3) {
                tick = (tick * 2).min(Duration::from_millis(500));
            }
            nodes = self.watch_list()?;
        }
        if !failed.is_empty() {
            let lines: Vec<String> = failed
                .iter()
                .map(|(n, why)| {
                    let bmc = find(&nodes, n)
                        .map(|x| node_bmc(&x))
                        .unwrap_or_else(|| "?".into());
                    format!("{n} (BMC {bmc}): {why}")
                })
                .collect();
            return Err(format!(
                "{} of {} node(s) did not become {}:\n  {}",
                failed.len(),
                names.len(),
                goal.word(),
                lines.join("\n  ")
            ));
        }
        Ok(names.iter().filter_map(|n| done.get(n).cloned()).collect())
    }

    fn provision_put(&self, name: &str, verb: &str, node: &Value) -> Result<(), String> {
        let uuid = node["uuid"].as_str().unwrap_or_default().to_string();
        self.update(
            self.bm_op(&format!("node.{verb}"), name)
                .arg("from", &node["provision_state"])
                .arg("bmc", node_bmc(node)),
            |c| {
                c.call(
                    Method::PUT,
                    "baremetal",
                    &format!("/nodes/{uuid}/states/provision"),
                    Body::Json(json!({"target": verb})),
                    &[],
                )
                .map(|_| Value::Null)
            },
            Value::Null,
        )
        .map(|_| ())
    }

    /// Powers a node on, off or reboots it, then watches it until Ironic reports the new
    /// state (or `timeout`). Returns the power state.
    pub fn bm_power(&self, ident: &Id, want: &str, timeout: Duration) -> Result<String, String> {
        let (target, state) = match want {
            "on" => ("power on", "power on"),
            "off" => ("power off", "power off"),
            "reboot" => ("rebooting", "power on"),
            other => return Err(format!("unknown power action {other:?}: on, off or reboot")),
        };
        let node = match self.bm_node(ident)? {
            Some(n) => n,
            None if self.fx.is_plan() => {
                return self.fx.change(
                    self.bm_op(&format!("node.power_{want}"), &ident.to_string()),
                    || Err::<_, String>(self.only_planned()),
                    || state.to_string(),
                )
            }
            None => return Err(format!("no node '{ident}' in cloud '{}'", self.conn.name())),
        };
        if want != "reboot" && node["power_state"] == state && node["target_power_state"].is_null()
        {
            self.fx
                .unchanged(self.bm_op(&format!("node.power_{want}"), &ident.to_string()));
            return Ok(state.to_string());
        }
        let uuid = Id::from_json(&node["uuid"]);
        let before = node["last_error"].clone();
        let bmc = node_bmc(&node);
        let t0 = Instant::now();
        self.update(
            self.bm_op(&format!("node.power_{want}"), &ident.to_string())
                .arg("bmc", &bmc),
            |c| {
                c.call(
                    Method::PUT,
                    "baremetal",
                    &format!("/nodes/{uuid}/states/power"),
                    Body::Json(json!({"target": target})),
                    &[],
                )?;
                Ok(Value::Null)
            },
            Value::Null,
        )?;
        if self.fx.is_plan() {
            return Ok(state.to_string());
        }
        let mut tick = Duration::from_millis(100);
        loop {
            let n = self.bm_node(&uuid)?.unwrap_or_default();
            if n["target_power_state"].is_null() {
                if n["power_state"] == state {
                    return Ok(state.to_string());
                }
                if n["last_error"] != before && !n["last_error"].is_null() {
                    return Err(format!(
                        "{ident} (BMC {bmc}): power {want} failed: {}",
                        n["last_error"].as_str().unwrap_or_default()
                    ));
                }
            }
            if t0.elapsed() > timeout {
                return Err(format!(
                    "{ident} (BMC {bmc}): not {state} within {} s (it is {})",
                    timeout.as_secs(),
                    n["power_state"].as_str().unwrap_or("unknown")
                ));
            }
            self.fx.check_cancel()?;
            std::thread::sleep(tick);
            tick = (tick * 2).min(Duration::from_millis(500));
        }
    }

    /// Deletes a node (its ports go with it). A node that Ironic would not delete in its state
    /// (available with cleaning on, a failed or waiting state) is put in maintenance first.
    pub fn bm_node_delete(&self, ident: &Id) -> Result<bool, String> {
        let Some(node) = self.bm_node(ident)? else {
            self.fx
                .unchanged(self.bm_op("node.absent", &ident.to_string()));
            return Ok(false);
        };
        let uuid = Id::from_json(&node["uuid"]);
        let state = node["provision_state"].as_str().unwrap_or_default();
        let deletable = matches!(
            state,
            "enroll" | "manageable" | "available" | "adopt failed"
        );
        let maint = !deletable && node["maintenance"] != json!(true);
        self.update(
            self.bm_op("node.delete", &ident.to_string())
                .arg("state", state)
                .arg("maintenance_first", maint),
            |c| {
                if maint {
                    c.call(
                        Method::PUT,
                        "baremetal",
                        &format!("/nodes/{uuid}/maintenance"),
                        Body::Json(json!({"reason": "removed by labsh"})),
                        &[],
                    )?;
                }
                match c.call(
                    Method::DELETE,
                    "baremetal",
                    &format!("/nodes/{uuid}"),
                    Body::None,
                    &[],
                ) {
                    Ok(_) => Ok(Value::Null),
                    Err(f) if f.status() == Some(404) => Ok(Value::Null),
                    // available with automated cleaning on: maintenance, then again
                    Err(f) if matches!(f.status(), Some(400) | Some(409)) && !maint => {
                        c.call(
                            Method::PUT,
                            "baremetal",
                            &format!("/nodes/{uuid}/maintenance"),
                            Body::Json(json!({"reason": "removed by labsh"})),
                            &[],
                        )?;
                        c.call(
                            Method::DELETE,
                            "baremetal",
                            &format!("/nodes/{uuid}"),
                            Body::None,
                            &[],
                        )
                        .map(|_| Value::Null)
                    }
                    Err(f) => Err(f),
                }
            },
            Value::Null,
        )?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_lead_each_state_to_its_goal() {
        assert_eq!(
            path("enroll", false, Goal::Available),
            ["manage", "provide"]
        );
        assert_eq!(
            path("enroll", false, Goal::Inspected),
            ["manage", "inspect"]
        );
        assert_eq!(
            path("available", false, Goal::Inspected),
            ["manage", "inspect"]
        );
        assert!(path("available", true, Goal::Inspected).is_empty());
        assert!(path("available", false, Goal::Manageable).is_empty());
        assert!(path("active", false, Goal::Available).is_empty());
        assert_eq!(
            path("inspect failed", true, Goal::Available),
            ["manage", "provide"]
        );
        assert_eq!(
            next_step("verifying", None, false, Goal::Manageable),
            Step::Wait
        );
        assert_eq!(
            next_step("manageable", Some("available"), false, Goal::Available),
            Step::Wait
        );
        assert!(matches!(
            next_step("deploy failed", None, false, Goal::Available),
            Step::Fail(_)
        ));
    }

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
