//! Nodes: enrolled from checked entries (found again by name or by BMC, changed fields
//! updated, nothing changed when any entry conflicts with what Ironic holds), updated, validated
//! and deleted.

use super::{
    capabilities_text, merge_capabilities, node_bmc, node_bmc_key, parse_capabilities, q, text_of,
    Entry,
};
use crate::effects::lab_key::LabKey;
use crate::error::Error;
use crate::modules::cloud::api::Api;
use crate::modules::cloud::client::Client;
use crate::modules::cloud::id::Id;
use serde_json::{json, Map as JMap, Value};
use std::collections::HashMap;
use ureq::http::Method;

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

/// A JSON patch of a node (RFC 6902 `add`s, which Ironic takes for new and existing fields
/// alike) and the same changes as plans and journals show them (`properties.cpus`; secrets
/// masked).
#[derive(Default)]
struct Patch {
    ops: Vec<Value>,
    shown: JMap<String, Value>,
}

impl Patch {
    /// Sets `path` (`/properties/cpus`) to `value`, shown as `show`.
    fn set(&mut self, path: &str, value: Value, show: Value) {
        self.ops
            .push(json!({"op": "add", "path": path, "value": value}));
        self.shown
            .insert(path.trim_start_matches('/').replace('/', "."), show);
    }

    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// The node Ironic holds under `e`'s name, and the one on `e`'s BMC (they may be one node).
fn matches<'n>(nodes: &'n [Value], e: &Entry) -> (Option<&'n Value>, Option<&'n Value>) {
    let key = e.bmc_key();
    (
        nodes.iter().find(|n| n["name"] == e.name.as_str()),
        nodes
            .iter()
            .find(|n| node_bmc_key(n).as_deref() == Some(key.as_str())),
    )
}

/// What enrolling one entry changes: the node (create, or a JSON patch) and its ports.
struct NodePlan<'e> {
    entry: &'e Entry,
    /// The keyed digest of its BMC's credentials ("" in a plan before the lab has a key).
    digest: String,
    existing: Option<Value>,
    patch: Patch,
    reset_interfaces: bool,
    new_macs: Vec<String>,
}

impl<'a> Api<'a> {
    /// Every node, with details (`/v1/nodes/detail`, following `next`).
    pub fn bm_nodes(&self) -> Result<Vec<Value>, Error> {
        self.read(
            "nodes",
            |c| c.list("baremetal", "/nodes/detail?limit=1000", "nodes"),
            vec![],
        )
    }

    /// A node by name or UUID.
    pub fn bm_node(&self, ident: &Id) -> Result<Option<Value>, Error> {
        let Id::Real(ident) = ident else {
            return Ok(None);
        };
        let path = format!("/nodes/{}", q(ident));
        self.read(ident, |c| c.get_opt("baremetal", &path), None)
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
            let (by_name, by_bmc) = matches(nodes, e);
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
        key: Option<&LabKey>,
    ) -> NodePlan<'e> {
        let digest = key.map(|k| e.digest(k)).unwrap_or_default();
        let mut patch = Patch::default();
        let mut reset_interfaces = false;
        let new_macs = new_macs(e, ports, existing.and_then(|n| n["uuid"].as_str()));
        let Some(n) = existing else {
            return NodePlan {
                entry: e,
                digest,
                existing: None,
                patch,
                reset_interfaces,
                new_macs,
            };
        };
        if n["name"] != e.name.as_str() {
            patch.set("/name", json!(e.name), json!(e.name));
        }
        let driver_changed = n["driver"] != e.driver.name();
        if driver_changed {
            patch.set("/driver", json!(e.driver.name()), json!(e.driver.name()));
            reset_interfaces =
                crate::modules::cloud::client::microversion(version) >= Some((1, 45));
        }
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
            patch.set("/driver_info", e.driver_info(), e.driver_info_shown());
            patch.set(
                "/extra/labsh_bmc",
                json!(&digest),
                json!("(digest of the BMC's credentials)"),
            );
        }
        if let Some(i) = o.inspect_interface.get(e.driver.name()) {
            if n["inspect_interface"] != i.as_str() || driver_changed {
                patch.set("/inspect_interface", json!(i), json!(i));
            }
        }
        if let Some(lab) = &o.lab {
            if n["extra"]["labsh_lab"] != lab.as_str() {
                patch.set("/extra/labsh_lab", json!(lab), json!(lab));
            }
        }
        properties_patch(e, n, &mut patch);
        NodePlan {
            entry: e,
            digest,
            existing: Some(n.clone()),
            patch,
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
    ) -> Result<Vec<Value>, Error> {
        let nodes = self.bm_nodes()?;
        let ports = self.bm_ports(None)?;
        let bad = self.enroll_problems(entries, &nodes, &ports, o.lab.as_deref());
        if !bad.is_empty() {
            return Err(Error::invalid(format!(
                "{} node(s) cannot be enrolled as given; nothing was changed:\n  {}",
                bad.len(),
                bad.join("\n  ")
            )));
        }
        let version = if self.live().is_some() {
            self.baremetal_version()?
        } else {
            crate::modules::cloud::client::BAREMETAL_MICROVERSIONS
                .1
                .to_string()
        };
        // A plan makes no key: without one, every node's credentials are planned as changed.
        let key = LabKey::of_state(!self.fx.is_plan())?;
        let plans: Vec<NodePlan> = entries
            .iter()
            .map(|e| {
                let (by_name, by_bmc) = matches(&nodes, e);
                self.node_plan(e, by_name.or(by_bmc), &ports, o, &version, key.as_ref())
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

    /// Node `n` once Ironic has ended the transition it is in (a run stopped during the
    /// nodes' inspection leaves them inspecting): Ironic refuses to change a node then (409
    /// "Cannot update node ... while it is in state inspecting", or "can not be updated while a
    /// state transition is in progress": ironic/api/controllers/v1/node.py
    /// `NodesController.patch`, ironic 39.0.0; labsh waits out every transition). Watched with
    /// one request a tick, for at most
    /// [`SETTLE_TIMEOUT`]; `n` as it is in a plan or when it is in no transition.
    fn settled(&self, n: &Value) -> Result<Value, Error> {
        let busy = |n: &Value| {
            !n["target_provision_state"].is_null()
                || super::provision::transitional(n["provision_state"].as_str().unwrap_or(""))
        };
        if self.fx.is_plan() || !busy(n) {
            return Ok(n.clone());
        }
        let uuid = Id::from_json(&n["uuid"]);
        let name = n["name"].as_str().unwrap_or_default().to_string();
        self.fx.printer().status(&format!(
            "  {name}: {}: waiting for Ironic to end it before the node is changed",
            n["provision_state"].as_str().unwrap_or("")
        ));
        let t0 = std::time::Instant::now();
        let mut tick = std::time::Duration::from_millis(200);
        loop {
            self.fx.check_cancel()?;
            std::thread::sleep(tick);
            tick = (tick * 2).min(std::time::Duration::from_secs(2));
            let Some(now) = self.bm_node(&uuid)? else {
                return Err(Error::not_found(format!("node {name} is gone")));
            };
            if !busy(&now) {
                return Ok(now);
            }
            if t0.elapsed() > SETTLE_TIMEOUT {
                return Err(Error::timed_out(format!(
                    "node {name} is still {} after {} s: Ironic refuses to change it until that ends; look at it with openstack baremetal node show {name}",
                    now["provision_state"].as_str().unwrap_or(""),
                    SETTLE_TIMEOUT.as_secs()
                )));
            }
        }
    }

    fn enroll_one(&self, p: &NodePlan, o: &EnrollOpts) -> Result<Value, Error> {
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
                let mut extra = json!({"labsh_bmc": p.digest});
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
                let post = |c: &Client| c.post("baremetal", "/nodes", &body, "");
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
                let n = &self.settled(n)?;
                let uuid = n["uuid"].as_str().unwrap_or_default().to_string();
                let path = if p.reset_interfaces {
                    format!("/nodes/{uuid}?reset_interfaces=true")
                } else {
                    format!("/nodes/{uuid}")
                };
                let patch = Value::Array(p.patch.ops.clone());
                changed = true;
                let r = self.update(
                    self.bm_op("node.update", &e.name)
                        .arg("set", &p.patch.shown)
                        .arg("bmc", e.bmc()),
                    |c| c.request(Method::PATCH, "baremetal", &path, Some(&patch)),
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
        // A node this plan creates has no uuid yet: its ports name it as planned.
        let uuid = if node["uuid"].is_string() {
            Id::from_json(&node["uuid"])
        } else {
            Id::planned("node", &e.name)
        };
        for m in &p.new_macs {
            self.bm_port_create(&e.name, &uuid, m)?;
            changed = true;
        }
        if !changed {
            self.fx.unchanged(self.bm_op("node.ensure", &e.name));
        } else if o.validate && !self.fx.is_plan() && !uuid.is_planned() {
            let v = self.bm_validate(&uuid)?;
            for iface in ["power", "management"] {
                if v[iface]["result"] == json!(false) {
                    return Err(Error::failed(format!(
                        "the {iface} interface does not validate: {}",
                        v[iface]["reason"].as_str().unwrap_or("no reason given")
                    )));
                }
            }
        }
        Ok(node)
    }

    /// `GET /v1/nodes/X/validate`: each interface's `{result, reason}`.
    pub fn bm_validate(&self, ident: &Id) -> Result<Value, Error> {
        // A node the plan only creates has nothing to validate yet.
        if self.fx.is_plan() && self.bm_node(ident)?.is_none() {
            return Ok(json!({}));
        }
        let path = format!("/nodes/{}/validate", q(ident));
        self.read(
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
    ) -> Result<Value, Error> {
        // A node still to be enrolled (in a plan) gets every field; one Ironic has, those that
        // differ once the transition it is in has ended.
        let node = match self.bm_node(ident)? {
            Some(n) => Some(self.settled(&n)?),
            None => None,
        };
        let n = node.as_ref();
        let mut patch = Patch::default();
        for (k, v) in properties {
            if n.is_none_or(|n| text_of(&n["properties"][k.as_str()]) != text_of(v)) {
                patch.set(&format!("/properties/{k}"), v.clone(), v.clone());
            }
        }
        if !capabilities.is_empty() {
            let have = n
                .and_then(|n| n["properties"]["capabilities"].as_str())
                .unwrap_or_default();
            let merged = merge_capabilities(have, capabilities);
            if n.is_none() || parse_capabilities(&merged) != parse_capabilities(have) {
                patch.set("/properties/capabilities", json!(merged), json!(merged));
            }
        }
        for (k, v) in extra {
            if n.is_none_or(|n| n["extra"][k.as_str()] != *v) {
                patch.set(&format!("/extra/{k}"), v.clone(), v.clone());
            }
        }
        let op = self
            .bm_op("node.update", &ident.to_string())
            .arg("set", &patch.shown);
        let node = match node {
            Some(n) => n,
            None if self.fx.is_plan() => {
                return self.fx.change(
                    op,
                    || Err(self.only_planned()),
                    || json!({"name": ident, "planned": true}),
                );
            }
            None => {
                return Err(Error::not_found(format!(
                    "no node '{ident}' in cloud '{}'",
                    self.conn.name()
                )))
            }
        };
        if patch.is_empty() {
            self.fx
                .unchanged(self.bm_op("node.update", &ident.to_string()));
            return Ok(node);
        }
        let uuid = Id::from_json(&node["uuid"]);
        let ops = Value::Array(patch.ops);
        let r = self.update(
            op,
            |c| {
                let path = format!("/nodes/{uuid}");
                c.request(Method::PATCH, "baremetal", &path, Some(&ops))
            },
            node.clone(),
        )?;
        Ok(if r.is_null() { node } else { r })
    }

    /// Deletes a node (its ports go with it). A node that Ironic would not delete in its state
    /// (available with cleaning on, a failed or waiting state) is put in maintenance first.
    pub fn bm_node_delete(&self, ident: &Id) -> Result<bool, Error> {
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
                let path = format!("/nodes/{uuid}");
                let maintenance = || {
                    let reason = json!({"reason": "removed by labsh"});
                    let path = format!("{path}/maintenance");
                    c.request(Method::PUT, "baremetal", &path, Some(&reason))
                };
                let delete = || c.request(Method::DELETE, "baremetal", &path, None);
                if maint {
                    maintenance()?;
                }
                match delete() {
                    Ok(_) => Ok(Value::Null),
                    Err(f) if f.status() == Some(404) => Ok(Value::Null),
                    // available with automated cleaning on: maintenance, then again
                    Err(f) if matches!(f.status(), Some(400) | Some(409)) && !maint => {
                        maintenance()?;
                        delete().map(|_| Value::Null)
                    }
                    Err(f) => Err(f),
                }
            },
            Value::Null,
        )?;
        Ok(true)
    }

    /// Puts a node in maintenance with `reason` (`PUT /v1/nodes/{node}/maintenance`): Ironic's
    /// power sync leaves it alone from then on (ironic/conductor/manager.py `_sync_power_states`
    /// lists only nodes with `maintenance: False`, ironic 39.0.0). `false`, and nothing changed,
    /// when it already is in maintenance, whatever its reason.
    pub fn bm_maintenance_set(&self, ident: &Id, reason: &str) -> Result<bool, Error> {
        self.bm_maintenance(ident, Some(reason))
    }

    /// Takes a node out of maintenance (`DELETE /v1/nodes/{node}/maintenance`, which clears its
    /// reason and fault too); `ok` when it is not in maintenance.
    pub fn bm_maintenance_unset(&self, ident: &Id) -> Result<bool, Error> {
        self.bm_maintenance(ident, None)
    }

    /// A node put in maintenance with `reason`, or taken out of it (`None`); `false`, and
    /// nothing changed, when it already is so.
    fn bm_maintenance(&self, ident: &Id, reason: Option<&str>) -> Result<bool, Error> {
        let op = match reason {
            Some(r) => self
                .bm_op("node.maintenance_set", &ident.to_string())
                .arg("reason", r),
            None => self.bm_op("node.maintenance_unset", &ident.to_string()),
        };
        let Some(node) = self.bm_node(ident)? else {
            if self.fx.is_plan() {
                return self.fx.change(op, || Err(self.only_planned()), || true);
            }
            return Err(Error::not_found(format!(
                "no node '{ident}' in cloud '{}'",
                self.conn.name()
            )));
        };
        if (node["maintenance"] == json!(true)) == reason.is_some() {
            self.fx.unchanged(op);
            return Ok(false);
        }
        let uuid = Id::from_json(&node["uuid"]);
        let path = format!("/nodes/{uuid}/maintenance");
        let op = match reason {
            Some(_) => op,
            None => op
                .arg("reason", &node["maintenance_reason"])
                .arg("fault", &node["fault"]),
        };
        self.update(
            op,
            |c| match reason {
                Some(r) => c.request(
                    Method::PUT,
                    "baremetal",
                    &path,
                    Some(&json!({ "reason": r })),
                ),
                None => c.request(Method::DELETE, "baremetal", &path, None),
            },
            Value::Null,
        )?;
        Ok(true)
    }
}

/// How long enrolling waits for a node Ironic is moving (an inspection, a cleaning) before it
/// changes it: an in-band inspection of a VM takes minutes.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1800);

/// The MACs of `e` that no port of the node `uuid` (none: a node not enrolled yet) has among
/// `ports`.
fn new_macs(e: &Entry, ports: &[Value], uuid: Option<&str>) -> Vec<String> {
    e.macs
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
        .collect()
}

/// The properties of `e` the node `n` has otherwise, and the capabilities it lacks, into
/// `patch`. Inspection measures what the entry only states: once inspected, its values stand.
fn properties_patch(e: &Entry, n: &Value, patch: &mut Patch) {
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
        patch.set(&format!("/properties/{k}"), v.clone(), v);
    }
    if !e.capabilities.is_empty() {
        let have = n["properties"]["capabilities"].as_str().unwrap_or_default();
        let merged = merge_capabilities(have, &e.capabilities);
        if parse_capabilities(&merged) != parse_capabilities(have) {
            patch.set("/properties/capabilities", json!(merged), json!(merged));
        }
    }
}
