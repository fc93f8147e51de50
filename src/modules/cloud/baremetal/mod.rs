//! `baremetal`: the undercloud's bare metal (Ironic) on labsh's OpenStack client: nodes from
//! instackenv.json entries (ipmi and redfish), ports by MAC, power, provision goals (manage,
//! inspect, provide) reached by watching, validation, deletion. Every function takes the cloud
//! first, as the `cloud` functions do; the microversion is negotiated once per cloud.
//!
//! The functions and their option maps are here; entries.rs reads and checks instackenv.json
//! entries into `ironic::Entry`, the operations are in `ironic`.

use crate::error::Error;

mod entries;

use super::id::Id;
use super::ironic::{EnrollOpts, Goal};
use crate::engine::value;
use crate::modules::opts::{option_spec, type_name, OptField, OptMap, OptionSpec, Seconds};
use entries::{parse_entries, problems_text, read_instackenv};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::session::Res;

option_spec! {
    /// The options of `baremetal::instackenv`.
    pub struct InstackenvOpts {
        /// The lab's VM names: an entry of another name is a problem.
        vms: Option<Vec<String>>,
    }
}

option_spec! {
    /// The options of `baremetal::check`, `nodes_ensure` and `node_ensure`.
    pub struct EnrollSpec {
        /// The lab the nodes are enrolled for (kept in `extra.labsh_lab`).
        lab: Option<String>,
        /// The lab's VM names: an entry of another name is a problem.
        vms: Option<Vec<String>>,
        /// The inspect interface by driver (`#{ipmi: "inspector"}`).
        inspect_interface: BTreeMap<String, String>,
        /// Validated after enrolling (default true).
        validate: Option<bool>,
        /// What the problems name as the entries' source (default "entries").
        source: Option<String>,
    }
}

option_spec! {
    /// The options of `baremetal::power` and `baremetal::provision`.
    pub struct WaitOpts {
        /// Seconds before it gives up (default 120 for power, 600 for provision).
        timeout: Option<Seconds>,
    }
}

option_spec! {
    /// The filter of `baremetal::nodes`.
    pub struct NodesFilter {
        /// The nodes labsh enrolled for this lab.
        lab: Option<String>,
        /// The nodes of this driver.
        driver: Option<String>,
        /// The nodes in this provision state.
        provision_state: Option<String>,
        /// The node of this name.
        name: Option<String>,
    }
}

option_spec! {
    /// What `baremetal::node_update` sets.
    pub struct NodeUpdate {
        /// Properties set.
        properties: Option<OptMap>,
        /// Capabilities set, each a string.
        capabilities: Option<OptMap>,
        /// Extra fields set.
        extra: Option<OptMap>,
    }
}

/// The option maps of the `baremetal` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("instackenv", InstackenvOpts::FIELDS),
    ("check", EnrollSpec::FIELDS),
    ("nodes_ensure", EnrollSpec::FIELDS),
    ("node_ensure", EnrollSpec::FIELDS),
    ("power", WaitOpts::FIELDS),
    ("provision", WaitOpts::FIELDS),
    ("nodes", NodesFilter::FIELDS),
    ("node_update", NodeUpdate::FIELDS),
];

fn enroll_opts(func: &str, opts: Map) -> Result<(EnrollOpts, Option<Vec<String>>, String), Error> {
    let o = EnrollSpec::read(func, opts)?;
    let mut inspect = HashMap::new();
    for (k, v) in o.inspect_interface {
        let d = match k.as_str() {
            "ipmi" => "ipmi",
            "redfish" => "redfish",
            other => {
                return Err(Error::invalid(format!(
                    "{func}: inspect_interface is by driver (ipmi, redfish), not {other:?}"
                )))
            }
        };
        inspect.insert(d, v);
    }
    Ok((
        EnrollOpts {
            lab: o.lab,
            inspect_interface: inspect,
            validate: o.validate.unwrap_or(true),
        },
        o.vms,
        o.source.unwrap_or_else(|| "entries".into()),
    ))
}

/// A maintenance reason labsh will give Ironic: one line, not empty, at most 255 characters
/// (labsh's own bound: Ironic keeps any text, and a reason is read in one line of a listing).
fn maintenance_reason(reason: &str) -> Result<(), Error> {
    let what = "baremetal::maintenance_set: the reason";
    if reason.trim().is_empty() {
        return Err(Error::invalid(format!(
            "{what} is empty: say why the node is held"
        )));
    }
    if reason.contains(['\n', '\r']) {
        return Err(Error::invalid(format!(
            "{what} has a line break: give it on one line"
        )));
    }
    let n = reason.chars().count();
    if n > 255 {
        return Err(Error::invalid(format!(
            "{what} has {n} characters: at most 255"
        )));
    }
    Ok(())
}

fn timeout_of(func: &str, opts: Map, default: u64) -> Result<Duration, Error> {
    let o = WaitOpts::read(func, opts)?;
    Ok(o.timeout.map_or(Duration::from_secs(default), |t| t.0))
}

fn map_of(
    func: &str,
    m: Option<OptMap>,
    key: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match m {
        None => Ok(Default::default()),
        Some(OptMap(m)) => match value::to_json(&Dynamic::from_map(m)) {
            serde_json::Value::Object(j) => Ok(j),
            _ => Err(Error::invalid(format!("{func}: '{key}' must be a map"))),
        },
    }
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
        let err = |e: crate::error::Error| crate::session::rt_err(&ctx, e);
        let vms = super::InstackenvOpts::read("baremetal::instackenv", opts)
            .map_err(err)?
            .vms;
        let entries = super::read_instackenv(path).map_err(err)?;
        super::parse_entries(&entries, path, vms.as_deref())
            .map_err(|b| err(Error::invalid(super::problems_text(&b))))?;
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
            let o = super::NodesFilter::read("baremetal::nodes", filter)?;
            let (lab, driver, state, name) = (o.lab, o.driver, o.provision_state, o.name);
            let all = a.bm_nodes()?;
            Ok(all
                .into_iter()
                .filter(|n| {
                    lab.as_ref()
                        .is_none_or(|l| n["extra"]["labsh_lab"] == l.as_str())
                        && driver.as_ref().is_none_or(|d| n["driver"] == d.as_str())
                        && state
                            .as_ref()
                            .is_none_or(|s| n["provision_state"] == s.as_str())
                        && name.as_ref().is_none_or(|s| n["name"] == s.as_str())
                })
                .collect::<Vec<_>>())
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
        super::super::with_api(&ctx, &cloud, |a| a.bm_node(&Id::parse(node)))
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
        let err = |e: crate::error::Error| crate::session::rt_err(&ctx, e);
        let (o, vms, source) = super::enroll_opts("baremetal::nodes_ensure", opts).map_err(err)?;
        let parsed = super::parse_entries(&entries, &source, vms.as_deref())
            .map_err(|b| err(Error::invalid(super::problems_text(&b))))?;
        super::super::with_api(&ctx, &cloud, |a| a.bm_enroll(&parsed, &o, jobs))
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
    /// `extra` keys, only where they differ. A node Ironic is moving (inspecting, cleaning) is
    /// waited for first, as Ironic refuses to change it meanwhile (at most 30 minutes); the
    /// enrolling of `nodes_ensure` and `node_ensure` waits so too. Returns the node.
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
            let o = super::NodeUpdate::read("baremetal::node_update", set)?;
            let props = super::map_of("baremetal::node_update", o.properties, "properties")?;
            let caps: Vec<(String, String)> =
                super::map_of("baremetal::node_update", o.capabilities, "capabilities")?
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
            let extra = super::map_of("baremetal::node_update", o.extra, "extra")?;
            a.bm_node_update(&Id::parse(node), &props, &caps, &extra)
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
            a.bm_ports(node.as_ref())
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
        super::super::with_api(&ctx, &cloud, |a| a.bm_port_ensure(&Id::parse(node), mac))
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
        super::super::with_api(&ctx, &cloud, |a| a.bm_validate(&Id::parse(node)))
    }

    /// Puts a node in maintenance with `reason` (Ironic's power sync and its recovery leave it
    /// alone until it is taken out); `false`, and nothing changed, when it already was in
    /// maintenance. The reason is one line of at most 255 characters.
    ///
    /// ```rhai
    /// if plan_mode() { baremetal::maintenance_set("devcloud-system", "example-node1", "disk swap"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn maintenance_set(
        ctx: NativeCallContext,
        cloud: Dynamic,
        node: &str,
        reason: &str,
    ) -> Res<bool> {
        super::maintenance_reason(reason).map_err(|e| crate::session::rt_err(&ctx, e))?;
        super::super::with_api(&ctx, &cloud, |a| {
            a.bm_maintenance_set(&Id::parse(node), reason)
        })
    }

    /// Takes a node out of maintenance (its reason and fault cleared); `false` when it was not
    /// in maintenance.
    ///
    /// ```rhai
    /// if plan_mode() { baremetal::maintenance_unset("devcloud-system", "example-node1"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn maintenance_unset(ctx: NativeCallContext, cloud: Dynamic, node: &str) -> Res<bool> {
        super::super::with_api(&ctx, &cloud, |a| a.bm_maintenance_unset(&Id::parse(node)))
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
        let err = |e: crate::error::Error| crate::session::rt_err(&ctx, e);
        let g = Goal::parse(goal).map_err(err)?;
        let t = super::timeout_of("baremetal::provision", opts, 600).map_err(err)?;
        let mut names = vec![];
        for n in nodes {
            if !n.is_string() {
                return Err(err(Error::invalid(format!(
                    "baremetal::provision: nodes are names or UUIDs, not {}",
                    type_name(&n)
                ))));
            }
            names.push(n.to_string());
        }
        let uniq: HashSet<&String> = names.iter().collect();
        if uniq.len() != names.len() {
            return Err(err("baremetal::provision: a node is named twice".into()));
        }
        super::super::with_api(&ctx, &cloud, |a| a.bm_provision(&names, g, t, jobs))
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
    use super::maintenance_reason;

    #[test]
    fn a_maintenance_reason_is_one_line_of_some_text() {
        assert!(maintenance_reason("disk swap").is_ok());
        assert!(maintenance_reason(&"x".repeat(255)).is_ok());
        for (bad, says) in [
            ("", "is empty"),
            ("  ", "is empty"),
            ("disk\nswap", "line break"),
            ("disk\rswap", "line break"),
        ] {
            let e = maintenance_reason(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
        let e = maintenance_reason(&"é".repeat(256))
            .unwrap_err()
            .to_string();
        assert!(e.contains("256 characters"), "{e}");
    }
}
