//! libvirt (through [`super::libvirt`], loaded at the first connection): one connection per URI
//! for each run, kept for the life of its session, and the ensure operations on networks and
//! domains, every change through the effects seam.

use super::libvirt::{self, Connect, Domain, Network};
use super::sandbox;
use super::xml::{self, DomSpec, NetSpec};
use crate::effects::{Effects, Op};
use crate::error::{Context, Error};
use serde::Serialize;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// The libvirt connections a run opened, by URI: in its run state ([`Effects::run_state`]), or
/// in its plan's ([`Effects::plan_state`]) for a sandbox a plan opened from memory, which the
/// changes made after the plan never see.
#[derive(Default)]
struct Connections(Mutex<HashMap<String, Arc<Connect>>>);

/// The state (file text, autostart sidecar) of each sandbox file this run opened, as it was
/// opened or last saved by [`save_changed_sandboxes`].
type SandboxState = (String, String);
#[derive(Default)]
struct Sandboxes(Mutex<Vec<(String, Option<SandboxState>)>>);

/// The host a sandbox file is made from (`virt::sandbox_host`).
const SANDBOX_NODE: &str = include_str!("sandbox.xml");

/// A libvirt error with what was being done: of its kind (no such domain or network is not
/// found).
fn verr(what: &str, e: libvirt::Error) -> Error {
    Error::from(e).context(what)
}

/// The run's connection to `uri`, opened once (libvirt is loaded before the first). A
/// connection is closed with the run's session, never before: libvirt's test driver resets its
/// state when the last connection closes.
pub fn connect(fx: &Effects, uri: &str) -> Result<Arc<Connect>, Error> {
    let kept = fx.run_state::<Connections>();
    let mut g = kept
        .0
        .lock()
        .map_err(|_| Error::failed("libvirt connection pool poisoned"))?;
    if let Some(c) = g.get(uri) {
        return Ok(c.clone());
    }
    let planned = fx.plan_state::<Connections>();
    let mut from_plan = planned
        .0
        .lock()
        .map_err(|_| Error::failed("libvirt connection pool poisoned"))?;
    if let Some(c) = from_plan.get(uri) {
        return Ok(c.clone());
    }
    libvirt::ensure_loaded().with_context(|| format!("cannot connect to libvirt at {uri}"))?;
    let hint = if uri.starts_with("test://") {
        "does the test driver's file exist?"
    } else {
        "is libvirtd running there, and may you use its socket?"
    };
    let (open_uri, planned_file) = sandbox::open_uri(fx, uri)?;
    let c = Connect::open(&open_uri).map_err(|e| {
        Error::unreachable(format!(
            "cannot connect to libvirt at {uri}: {} ({hint})",
            e.message()
        ))
    })?;
    // libvirt has read a planned file: the connection holds what it read.
    let planned_file = planned_file.is_some();
    if let Some(path) = uri.strip_prefix("test://") {
        sandbox::restore_autostart(&c, path);
        // A sandbox file (not one a plan reads from memory) is remembered as it was opened.
        if path.starts_with('/') && std::path::Path::new(path).is_file() {
            if let Ok(mut g) = fx.run_state::<Sandboxes>().0.lock() {
                g.push((uri.to_string(), sandbox::state(&c, SANDBOX_NODE).ok()));
            }
        }
    }
    let c = Arc::new(c);
    if planned_file {
        from_plan.insert(uri.to_string(), c.clone());
    } else {
        g.insert(uri.to_string(), c.clone());
    }
    Ok(c)
}

/// Saves, as `virt::sandbox_save` does, each sandbox file this run opened whose networks or
/// domains changed since it was opened (or last saved here): the REPL and `-e` keep what they did
/// to the sandbox as a run of the lab does. Returns whether a file was written.
pub fn save_changed_sandboxes(fx: &Effects) -> Result<bool, Error> {
    let sandboxes = fx.run_state::<Sandboxes>();
    let opened: Vec<(String, Option<SandboxState>)> = sandboxes
        .0
        .lock()
        .map(|g| g.clone())
        .map_err(|_| "the sandbox list is poisoned".to_string())?;
    let mut wrote = false;
    for (uri, before) in opened {
        let Some(path) = uri.strip_prefix("test://") else {
            continue;
        };
        let now = sandbox::state(&*connect(fx, &uri)?, SANDBOX_NODE)?;
        if before.as_ref() == Some(&now) {
            continue;
        }
        let a = crate::effects::files::ensure_file(
            fx,
            &sandbox::autostart_file(path),
            &now.1,
            false,
            None,
        )?;
        let b = crate::effects::files::ensure_file(fx, path, &now.0, false, None)?;
        wrote |= a || b;
        if let Ok(mut g) = sandboxes.0.lock() {
            for (_, s) in g.iter_mut().filter(|(u, _)| *u == uri) {
                *s = Some(now.clone());
            }
        }
    }
    Ok(wrote)
}

/// The state of the sandbox at `uri` (a `test:///PATH` URI) as a test-driver file; see
/// [`sandbox::state`].
pub fn sandbox_state(fx: &Effects, uri: &str, node_xml: &str) -> Result<(String, String), Error> {
    sandbox::state(&*connect(fx, uri)?, node_xml)
}

#[derive(Serialize)]
pub struct NodeInfo {
    pub model: String,
    pub memory_kib: u64,
    pub cpus: u32,
    pub mhz: u32,
    pub numa_cells: u32,
    pub sockets: u32,
    pub cores: u32,
    pub threads: u32,
    pub hostname: String,
}

pub fn node_info(fx: &Effects, uri: &str) -> Result<NodeInfo, Error> {
    let c = connect(fx, uri)?;
    let n = c.node_info().map_err(|e| verr("node info", e))?;
    Ok(NodeInfo {
        model: n.model,
        memory_kib: n.memory,
        cpus: n.cpus,
        mhz: n.mhz,
        numa_cells: n.nodes,
        sockets: n.sockets,
        cores: n.cores,
        threads: n.threads,
        hostname: c.hostname().unwrap_or_default(),
    })
}

#[derive(Serialize)]
pub struct Caps {
    pub arch: String,
    pub cpu_model: String,
    /// Domain types the host offers for x86_64 guests ("kvm", "qemu", "test").
    pub domain_types: Vec<String>,
}

pub fn capabilities(fx: &Effects, uri: &str) -> Result<Caps, Error> {
    let c = connect(fx, uri)?;
    let xml = c.capabilities().map_err(|e| verr("capabilities", e))?;
    let doc = roxmltree::Document::parse(&xml).context("bad capabilities XML")?;
    let mut caps = Caps {
        arch: String::new(),
        cpu_model: String::new(),
        domain_types: Vec::new(),
    };
    for n in doc.descendants() {
        match n.tag_name().name() {
            "arch"
                if n.parent().is_some_and(|p| p.tag_name().name() == "cpu")
                    && caps.arch.is_empty() =>
            {
                caps.arch = n.text().unwrap_or("").to_string();
            }
            "model"
                if n.parent().is_some_and(|p| p.tag_name().name() == "cpu")
                    && caps.cpu_model.is_empty() =>
            {
                caps.cpu_model = n.text().unwrap_or("").to_string();
            }
            "domain" if n.parent().is_some_and(|p| p.tag_name().name() == "arch") => {
                if let Some(t) = n.attribute("type") {
                    if !caps.domain_types.iter().any(|x| x == t) {
                        caps.domain_types.push(t.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(caps)
}

fn lookup_network(c: &Connect, name: &str) -> Result<Option<Network>, Error> {
    match c.lookup_network_by_name(name) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(verr(&format!("network {name}"), e)),
    }
}

fn lookup_domain(c: &Connect, name: &str) -> Result<Option<Domain>, Error> {
    match c.lookup_domain_by_name(name) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(verr(&format!("domain {name}"), e)),
    }
}

/// What an ensure did.
#[derive(Debug, Default, Serialize)]
pub struct Ensured {
    pub changed: bool,
    pub planned: bool,
    pub notes: Vec<String>,
}

/// Connects for reading. In plan mode an unreachable URI is not an error: everything is planned.
fn reach(fx: &Effects, uri: &str) -> Result<Option<Arc<Connect>>, Error> {
    let c = fx.read(Op::new("virt.connect", uri), || connect(fx, uri));
    unless_planned(fx, c, "planning as if nothing existed there")
}

/// A read of a target a plan may not reach (yet): in plan mode its failure is a warning (the
/// error, then `instead`) and `None`.
pub fn unless_planned<T>(
    fx: &Effects,
    r: Result<T, Error>,
    instead: &str,
) -> Result<Option<T>, Error> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if fx.is_plan() => {
            fx.printer().warn(&format!("{e}; {instead}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Connects (see [`reach`]) and looks the object up (`kind`: network or domain): the
/// connection, and the object where it exists.
fn find<T>(
    fx: &Effects,
    uri: &str,
    kind: &str,
    target: &str,
    lookup: impl FnOnce(&Connect) -> Result<Option<T>, Error>,
) -> Result<(Option<Arc<Connect>>, Option<T>), Error> {
    let conn = reach(fx, uri)?;
    let existing = match &conn {
        Some(c) => fx.read(Op::new(format!("virt.{kind}.lookup"), target), || lookup(c))?,
        None => None,
    };
    Ok((conn, existing))
}

/// Defines an object from its XML through the seam: `None` in a plan (or when `conn` is
/// missing, which only a plan allows).
fn define<T>(
    fx: &Effects,
    conn: &Option<Arc<Connect>>,
    op: Op,
    define: impl FnOnce(&Connect) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    fx.change(
        op,
        || {
            let c = conn.clone().ok_or("no connection")?;
            define(&c).map(Some)
        },
        || None,
    )
}

/// A change to a libvirt object through the seam (shown, not made, in a plan).
fn act<T>(fx: &Effects, op: Op, f: impl FnOnce() -> Result<T, Error>) -> Result<(), Error> {
    fx.change(op, || f().map(|_| ()), || ())
}

/// Turns autostart on (`set`) for the `kind` (network, domain) at `target` where it is off
/// (`on`, as libvirt said): whether it had to.
fn autostart_on(
    fx: &Effects,
    kind: &str,
    target: &str,
    on: libvirt::Res<bool>,
    set: impl FnOnce() -> libvirt::Res<()>,
) -> Result<bool, Error> {
    if on.map_err(|e| verr(&format!("{kind} autostart"), e))? {
        return Ok(false);
    }
    let op = Op::new(format!("virt.{kind}.autostart"), target);
    act(fx, op, || {
        set().map_err(|e| verr(&format!("autostart {kind}"), e))
    })?;
    Ok(true)
}

impl Ensured {
    /// What an ensure did: changed in a run, planned in a plan; one that changed nothing is
    /// recorded as `op`, ok.
    fn finish(mut self, fx: &Effects, changed: bool, op: Op) -> Ensured {
        if !changed {
            fx.unchanged(op);
        }
        self.changed = changed && !fx.is_plan();
        self.planned = changed && fx.is_plan();
        self
    }
}

const LIVE_CONFIG: u32 =
    libvirt::VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt::VIR_NETWORK_UPDATE_AFFECT_CONFIG;

pub fn network_ensure(
    fx: &Effects,
    uri: &str,
    spec: &NetSpec,
    lab: &str,
) -> Result<Ensured, Error> {
    let target = format!("{}@{uri}", spec.name);
    let done = Op::new("virt.network", &target);
    let (conn, existing) = find(fx, uri, "network", &target, |c| {
        lookup_network(c, &spec.name)
    })?;
    let Some(net) = existing else {
        network_create(fx, &conn, spec, lab, &target)?;
        return Ok(Ensured::default().finish(fx, true, done));
    };
    let facts = xml::parse_network(&net.xml_desc(0).map_err(|e| verr("network XML", e))?)?;
    network_differs(spec, &facts, lab)?;
    let active = net.is_active().map_err(|e| verr("network state", e))?;
    let mut changed = network_dhcp(fx, &net, spec, &facts, active, &target)?;
    if spec.active && !active {
        act(fx, Op::new("virt.network.start", &target), || {
            net.create().map_err(|e| verr("start network", e))
        })?;
        changed = true;
    }
    if spec.autostart {
        changed |= autostart_on(fx, "network", &target, net.autostart(), || {
            net.set_autostart(true)
        })?;
    }
    Ok(Ensured::default().finish(fx, changed, done))
}

/// Defines the network `spec` asks for, started and set to autostart as it says.
fn network_create(
    fx: &Effects,
    conn: &Option<Arc<Connect>>,
    spec: &NetSpec,
    lab: &str,
    target: &str,
) -> Result<(), Error> {
    let xml = xml::network_xml(spec, lab);
    let op = Op::new("virt.network.define", target).arg("xml", &xml);
    let net = define(fx, conn, op, |c| {
        c.define_network_xml(&xml)
            .map_err(|e| verr(&format!("define network {}", spec.name), e))
    })?;
    if spec.active {
        act(fx, Op::new("virt.network.start", target), || {
            let n = net.as_ref().ok_or("no network")?;
            n.create().map_err(|e| verr("start network", e))
        })?;
    }
    if spec.autostart {
        act(fx, Op::new("virt.network.autostart", target), || {
            let n = net.as_ref().ok_or("no network")?;
            n.set_autostart(true)
                .map_err(|e| verr("autostart network", e))
        })?;
    }
    Ok(())
}

/// Refuses an existing network that differs from `spec` in what labsh does not change in place
/// (its address, netmask, and, for this lab's own, its forward mode and host bridge).
fn network_differs(spec: &NetSpec, facts: &xml::NetFacts, lab: &str) -> Result<(), Error> {
    let mut diffs = Vec::new();
    if spec.address.is_some() && facts.address != spec.address {
        diffs.push(format!(
            "address {:?}, wanted {:?}",
            facts.address, spec.address
        ));
    }
    if spec.netmask.is_some() && facts.netmask != spec.netmask {
        diffs.push(format!(
            "netmask {:?}, wanted {:?}",
            facts.netmask, spec.netmask
        ));
    }
    if facts.forward != spec.forward && facts.owner.as_deref() == Some(lab) {
        diffs.push(format!(
            "forward {:?}, wanted {:?}",
            facts.forward, spec.forward
        ));
    }
    if spec.forward.as_deref() == Some("bridge")
        && facts.bridge != spec.bridge
        && facts.owner.as_deref() == Some(lab)
    {
        diffs.push(format!(
            "host bridge {:?}, wanted {:?}",
            facts.bridge, spec.bridge
        ));
    }
    if diffs.is_empty() {
        return Ok(());
    }
    let whose = match &facts.owner {
        Some(o) if o == lab => "this lab's".to_string(),
        Some(o) => format!("lab {o}'s"),
        None => "a network labsh did not create".into(),
    };
    Err(Error::refused(format!(
        "network {} exists ({whose}) and differs: {}; labsh does not redefine an existing network: change the profile, or remove the network first",
        spec.name,
        diffs.join("; ")
    )))
}

/// Brings an existing network's DHCP ranges to `spec`'s, live (when `active`) and in its
/// config (net-update): the seed removes the range of `default`. Whether any changed.
fn network_dhcp(
    fx: &Effects,
    net: &Network,
    spec: &NetSpec,
    facts: &xml::NetFacts,
    active: bool,
    target: &str,
) -> Result<bool, Error> {
    let wanted: Vec<(String, String)> = spec.dhcp.iter().cloned().collect();
    let flags = if active {
        LIVE_CONFIG
    } else {
        libvirt::VIR_NETWORK_UPDATE_AFFECT_CONFIG
    };
    let range_update = |command, verb: &str, r: &(String, String)| {
        let range = format!(
            "<range start=\"{}\" end=\"{}\"/>",
            xml::esc(&r.0),
            xml::esc(&r.1)
        );
        fx.change(
            Op::new(format!("virt.network.dhcp_range_{verb}"), target).arg("range", &range),
            || {
                net.update(
                    command,
                    libvirt::VIR_NETWORK_SECTION_IP_DHCP_RANGE,
                    -1,
                    &range,
                    flags,
                )
                .map_err(|e| verr(&format!("{verb} DHCP range"), e))
            },
            || (),
        )
    };
    let mut changed = false;
    for r in facts.dhcp_ranges.iter().filter(|r| !wanted.contains(r)) {
        range_update(libvirt::VIR_NETWORK_UPDATE_COMMAND_DELETE, "delete", r)?;
        changed = true;
    }
    for r in wanted.iter().filter(|r| !facts.dhcp_ranges.contains(r)) {
        range_update(libvirt::VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, "add", r)?;
        changed = true;
    }
    Ok(changed)
}

/// The spec's differences from an existing domain are applied by redefining it (this lab's own
/// domains only); a change of memory, CPUs, disks or NICs takes effect at the next boot.
/// Checks that every network the domains' NICs name exists at `uri`, before anything is made.
/// In plan mode a missing network may be one planned earlier in the run: not checked then.
pub fn check_networks(fx: &Effects, uri: &str, specs: &[&DomSpec]) -> Result<(), Error> {
    if fx.is_plan() {
        return Ok(());
    }
    let c = connect(fx, uri)?;
    let names: Vec<String> = fx.read(Op::new("virt.network.list", uri), || {
        c.list_all_networks(0)
            .map_err(|e| verr("list networks", e))?
            .iter()
            .map(|n| n.name().map_err(|e| verr("network name", e)))
            .collect()
    })?;
    for s in specs {
        for (i, n) in s.nics.iter().enumerate() {
            if !names.contains(&n.network) {
                let hint = crate::util::suggest::hint(&n.network, names.iter().map(String::as_str));
                return Err(Error::not_found(format!(
                    "domain {} nics[{i}]: no network {:?} at {uri}{hint}; networks there: {}",
                    s.name,
                    n.network,
                    names.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// The domains (`NAME@URI`) a plan has planned to define, so that a later ensure of the same
/// domain in that plan plans what the run will do with it defined (its start), not a second
/// definition.
#[derive(Default)]
struct PlannedDomains(std::sync::Mutex<std::collections::HashSet<String>>);

fn planned_domains(fx: &Effects) -> std::collections::HashSet<String> {
    fx.plan_state::<PlannedDomains>()
        .0
        .lock()
        .map(|g| g.clone())
        .unwrap_or_default()
}

pub fn domain_ensure(fx: &Effects, uri: &str, spec: &DomSpec, lab: &str) -> Result<Ensured, Error> {
    let mut out = Ensured::default();
    let target = format!("{}@{uri}", spec.name);
    let (conn, existing) = find(fx, uri, "domain", &target, |c| lookup_domain(c, &spec.name))?;
    let mut changed = false;
    let dom = match existing {
        // A domain this plan has already planned to define: the run finds it defined then.
        None if fx.is_plan() && planned_domains(fx).contains(&target) => None,
        None => {
            let xml = xml::domain_xml(spec, lab, None);
            let op = Op::new("virt.domain.define", &target).arg("xml", &xml);
            changed = true;
            let d = define(fx, &conn, op, |c| {
                c.define_domain_xml(&xml)
                    .map_err(|e| verr(&format!("define domain {}", spec.name), e))
            })?;
            if fx.is_plan() {
                if let Ok(mut g) = fx.plan_state::<PlannedDomains>().0.lock() {
                    g.insert(target.clone());
                }
            }
            d
        }
        Some(d) => {
            let facts = xml::parse_domain(
                &d.xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
                    .map_err(|e| verr("domain XML", e))?,
            )?;
            match facts.owner.as_deref() {
                Some(o) if o == lab => {}
                Some(o) => {
                    // The run cannot simply continue: say what clears the way.
                    return Err(Error::refused(format!(
                        "domain {} exists and belongs to lab {o}, not {lab}; labsh leaves it alone",
                        spec.name
                    ))
                    .with_advice(format!(
                        "tear lab {o} down (labsh run scripts/teardown.rhai with its profile and target), or give this lab another name (`name:` in the profile) or the VM another name, then continue"
                    )));
                }
                None => {
                    return Err(Error::refused(format!(
                        "domain {} exists and was not created by labsh; labsh leaves it alone: rename this lab's VM or remove that domain",
                        spec.name
                    )))
                }
            }
            let diffs = xml::domain_diff(spec, &facts);
            if !diffs.is_empty() {
                let xml = xml::domain_xml(spec, lab, Some(&facts.uuid));
                let op = Op::new("virt.domain.redefine", &target)
                    .arg("differs", &diffs)
                    .arg("xml", &xml);
                define(fx, &conn, op, |c| {
                    c.define_domain_xml(&xml)
                        .map_err(|e| verr(&format!("redefine domain {}", spec.name), e))
                })?;
                out.notes.push(format!("redefined: {}", diffs.join("; ")));
                changed = true;
            }
            Some(d)
        }
    };
    if let Some(d) = &dom {
        if spec.autostart {
            changed |= autostart_on(fx, "domain", &target, d.autostart(), || {
                d.set_autostart(true)
            })?;
        }
        if spec.running && !d.is_active().map_err(|e| verr("domain state", e))? {
            act(fx, Op::new("virt.domain.start", &target), || {
                d.create().map_err(|e| verr("start domain", e))
            })?;
            changed = true;
        }
    } else {
        // Plan mode: the domain was only planned; show what would follow.
        if spec.autostart {
            fx.planned_step(Op::new("virt.domain.autostart", &target))?;
        }
        if spec.running {
            fx.planned_step(Op::new("virt.domain.start", &target))?;
        }
    }
    Ok(out.finish(fx, changed, Op::new("virt.domain", &target)))
}

/// A domain's state in words: running, shutoff, paused, ...
fn state_word(d: &Domain) -> String {
    match d.state() {
        Ok(s) => libvirt::state_word(s),
        Err(_) => "unknown".into(),
    }
}

#[derive(Serialize)]
pub struct DomRow {
    pub name: String,
    pub uuid: String,
    pub state: String,
    pub autostart: bool,
    /// The owning lab (`()` when labsh did not create it).
    #[serde(rename = "lab")]
    pub owner: Option<String>,
    /// As defined: its vCPUs, its memory (`<memory>`, what `virsh dominfo` calls Max memory)
    /// and the files of its disks, in order.
    pub vcpus: u32,
    pub memory_kib: u64,
    pub disks: Vec<String>,
}

pub fn domain_list(fx: &Effects, uri: &str) -> Result<Vec<DomRow>, Error> {
    let c = connect(fx, uri)?;
    let mut out = Vec::new();
    for d in c.list_all_domains(0).map_err(|e| verr("list domains", e))? {
        let xml = d
            .xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
            .map_err(|e| verr("domain XML", e))?;
        let f = xml::parse_domain(&xml)?;
        out.push(DomRow {
            name: f.name,
            uuid: f.uuid,
            state: state_word(&d),
            autostart: d.autostart().unwrap_or(false),
            owner: f.owner,
            vcpus: f.vcpus,
            memory_kib: f.memory_kib,
            disks: f
                .disks
                .into_iter()
                .map(|(path, _)| path)
                .filter(|p| !p.is_empty())
                .collect(),
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[derive(Serialize)]
pub struct NetRow {
    pub name: String,
    pub active: bool,
    pub autostart: bool,
    pub bridge: Option<String>,
    /// The owning lab (`()` when labsh did not create it).
    #[serde(rename = "lab")]
    pub owner: Option<String>,
}

pub fn network_list(fx: &Effects, uri: &str) -> Result<Vec<NetRow>, Error> {
    let c = connect(fx, uri)?;
    let mut out = Vec::new();
    for n in c
        .list_all_networks(0)
        .map_err(|e| verr("list networks", e))?
    {
        let f = xml::parse_network(&n.xml_desc(0).map_err(|e| verr("network XML", e))?)?;
        out.push(NetRow {
            name: f.name,
            active: n.is_active().unwrap_or(false),
            autostart: n.autostart().unwrap_or(false),
            bridge: f.bridge,
            owner: f.owner,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub fn network_xml(fx: &Effects, uri: &str, name: &str) -> Result<String, Error> {
    let c = connect(fx, uri)?;
    let n = lookup_network(&c, name)?
        .ok_or_else(|| Error::not_found(format!("no network {name} at {uri}")))?;
    n.xml_desc(0).map_err(|e| verr("network XML", e))
}

/// The network's definition: the inactive XML where the driver gives it (the test driver does
/// not), without the count of connected interfaces, which changes as domains start and stop.
pub fn network_definition(fx: &Effects, uri: &str, name: &str) -> Result<String, Error> {
    let c = connect(fx, uri)?;
    let n = lookup_network(&c, name)?
        .ok_or_else(|| Error::not_found(format!("no network {name} at {uri}")))?;
    let x = match n.xml_desc(libvirt::VIR_NETWORK_XML_INACTIVE) {
        Ok(x) => x,
        Err(_) => n.xml_desc(0).map_err(|e| verr("network XML", e))?,
    };
    Ok(xml::without_connections(&x))
}

pub fn domain_xml(fx: &Effects, uri: &str, name: &str) -> Result<String, Error> {
    domain_xml_flags(fx, uri, name, 0)
}

/// The domain's XML with libvirt's flags (`VIR_DOMAIN_XML_INACTIVE`: the definition).
pub fn domain_xml_flags(fx: &Effects, uri: &str, name: &str, flags: u32) -> Result<String, Error> {
    let c = connect(fx, uri)?;
    let d = lookup_domain(&c, name)?.ok_or_else(|| {
        Error::not_found(format!(
            "no domain {name} at {uri} (is it defined? the l1 stage defines the lab's VMs)"
        ))
    })?;
    d.xml_desc(flags).map_err(|e| verr("domain XML", e))
}

pub fn domain_state(fx: &Effects, uri: &str, name: &str) -> Result<String, Error> {
    let c = connect(fx, uri)?;
    let d = lookup_domain(&c, name)?
        .ok_or_else(|| Error::not_found(format!("no domain {name} at {uri}")))?;
    Ok(state_word(&d))
}

/// A domain's consoles (its serial console's pty, its VNC address), read from its live XML. A
/// domain that does not run has none: an error naming its state, and nothing is changed.
/// No such domain is not found; one that does not run a conflict (its state forbids it).
pub fn consoles(fx: &Effects, uri: &str, name: &str) -> Result<xml::Consoles, Error> {
    let c = connect(fx, uri)?;
    let d = lookup_domain(&c, name)?.ok_or_else(|| {
        Error::not_found(format!(
            "no domain {name} at {uri} (is it defined? the l1 stage defines the lab's VMs)"
        ))
    })?;
    let state = state_word(&d);
    if state != "running" && state != "paused" {
        return Err(Error::conflict(format!(
            "{name} is not running ({state}): a VM has a serial console only while it runs; \
             start it first (virt::domain_start), nothing was changed"
        )));
    }
    let x = d.xml_desc(0).map_err(|e| verr("domain XML", e))?;
    xml::parse_consoles(&x)
}

/// Power actions on an existing domain: "start", "shutdown", "destroy". Converges: starting a
/// running domain or destroying a stopped one is `ok`.
pub fn domain_power(fx: &Effects, uri: &str, name: &str, action: &str) -> Result<bool, Error> {
    let target = format!("{name}@{uri}");
    let Some(c) = reach(fx, uri)? else {
        fx.planned_step(Op::new(format!("virt.domain.{action}"), &target))?;
        return Ok(true);
    };
    let found = fx.read(Op::new("virt.domain.lookup", &target), || {
        lookup_domain(&c, name)
    })?;
    let Some(d) = found else {
        if fx.is_plan() {
            // Planned earlier in this plan: show the action on it.
            fx.planned_step(Op::new(format!("virt.domain.{action}"), &target))?;
            return Ok(true);
        }
        return Err(Error::failed(format!("no domain {name} at {uri}")));
    };
    let active = d.is_active().map_err(|e| verr("domain state", e))?;
    type Call = fn(&Domain) -> libvirt::Res<()>;
    let (needed, call, what): (bool, Call, &str) = match action {
        "start" => (!active, Domain::create, "start domain"),
        "shutdown" => (active, Domain::shutdown, "shut down domain"),
        "destroy" => (active, Domain::destroy, "destroy domain"),
        other => {
            return Err(Error::invalid(format!(
                "unknown power action {other:?}: start, shutdown or destroy"
            )))
        }
    };
    let op = Op::new(format!("virt.domain.{action}"), &target);
    if !needed {
        fx.unchanged(op);
        return Ok(false);
    }
    act(fx, op, || call(&d).map_err(|e| verr(what, e)))?;
    Ok(true)
}

pub fn domain_set_autostart(fx: &Effects, uri: &str, name: &str, on: bool) -> Result<bool, Error> {
    let target = format!("{name}@{uri}");
    let op = Op::new("virt.domain.autostart", &target).arg("on", on);
    let Some(c) = reach(fx, uri)? else {
        fx.planned_step(op)?;
        return Ok(true);
    };
    let Some(d) = lookup_domain(&c, name)? else {
        if fx.is_plan() {
            fx.planned_step(op)?;
            return Ok(true);
        }
        return Err(Error::failed(format!("no domain {name} at {uri}")));
    };
    if d.autostart().map_err(|e| verr("domain autostart", e))? == on {
        fx.unchanged(op);
        return Ok(false);
    }
    act(fx, op, || {
        d.set_autostart(on).map_err(|e| verr("autostart", e))
    })?;
    Ok(true)
}

/// What a removal of the `kind` `name` finds: the object, or what the removal returns without
/// it (a plan that cannot reach the target plans the undefine; a missing object is ok).
fn removable<T>(
    fx: &Effects,
    uri: &str,
    kind: &str,
    name: &str,
    lookup: fn(&Connect, &str) -> Result<Option<T>, Error>,
) -> Result<ControlFlow<bool, T>, Error> {
    let op = Op::new(format!("virt.{kind}.undefine"), format!("{name}@{uri}"));
    let Some(c) = reach(fx, uri)? else {
        fx.planned_step(op)?;
        return Ok(ControlFlow::Break(true));
    };
    match lookup(&c, name)? {
        Some(o) => Ok(ControlFlow::Continue(o)),
        None => {
            fx.unchanged(op);
            Ok(ControlFlow::Break(false))
        }
    }
}

/// A removal touches only what carries this lab's mark (`owner`).
fn check_mark(kind: &str, name: &str, lab: &str, owner: Option<&str>) -> Result<(), Error> {
    if owner == Some(lab) {
        return Ok(());
    }
    Err(Error::refused(format!(
        "{kind} {name} does not carry lab {lab}'s mark (its owner: {}); labsh removes only what this lab created",
        owner.unwrap_or("none")
    )))
}

/// Stops and undefines a network of this lab; networks without this lab's mark are refused.
/// Ok when it does not exist.
pub fn network_remove(fx: &Effects, uri: &str, name: &str, lab: &str) -> Result<bool, Error> {
    let target = format!("{name}@{uri}");
    let n = match removable(fx, uri, "network", name, lookup_network)? {
        ControlFlow::Continue(n) => n,
        ControlFlow::Break(done) => return Ok(done),
    };
    let f = xml::parse_network(&n.xml_desc(0).map_err(|e| verr("network XML", e))?)?;
    check_mark("network", name, lab, f.owner.as_deref())?;
    if n.is_active().map_err(|e| verr("network state", e))? {
        act(fx, Op::new("virt.network.destroy", &target), || {
            n.destroy().map_err(|e| verr("stop network", e))
        })?;
    }
    act(fx, Op::new("virt.network.undefine", &target), || {
        n.undefine().map_err(|e| verr("undefine network", e))
    })?;
    Ok(true)
}

/// Undefines a domain of this lab (stopping it first), and with `storage` deletes its disk files.
/// Domains of other labs, or not created by labsh, are refused.
pub fn domain_undefine(
    fx: &Effects,
    uri: &str,
    name: &str,
    lab: &str,
    storage: bool,
) -> Result<bool, Error> {
    let target = format!("{name}@{uri}");
    let d = match removable(fx, uri, "domain", name, lookup_domain)? {
        ControlFlow::Continue(d) => d,
        ControlFlow::Break(done) => return Ok(done),
    };
    let f = xml::parse_domain(
        &d.xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
            .map_err(|e| verr("domain XML", e))?,
    )?;
    check_mark("domain", name, lab, f.owner.as_deref())?;
    if d.is_active().map_err(|e| verr("domain state", e))? {
        act(fx, Op::new("virt.domain.destroy", &target), || {
            d.destroy().map_err(|e| verr("destroy", e))
        })?;
    }
    let disks: Vec<String> = f
        .disks
        .iter()
        .map(|x| x.0.clone())
        .filter(|p| !p.is_empty())
        .collect();
    let op = Op::new("virt.domain.undefine", &target).arg("storage", storage);
    act(fx, op, || {
        d.undefine_flags(
            libvirt::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                | libvirt::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
        )
        .map_err(|e| verr("undefine", e))
    })?;
    if storage {
        let local = uri.starts_with("qemu:///") || uri.starts_with("test:///");
        for p in disks {
            if !local {
                return Err(Error::refused(format!("cannot delete {p} on a remote host yet; the domain is undefined, its disks are kept")));
            }
            #[expect(
                clippy::disallowed_methods,
                reason = "the change that deletes a domain's disk"
            )]
            fx.change(
                Op::new("file.remove", &p),
                || match std::fs::remove_file(&p) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(Error::failed(format!("cannot delete {p}: {e}"))),
                },
                || (),
            )?;
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::effects::Mode;

    #[test]
    fn each_run_has_its_own_connections_and_its_plans_sandbox_ends_with_the_plan() {
        let (a, b) = (
            Effects::for_tests(Mode::Plan),
            Effects::for_tests(Mode::Plan),
        );
        let first = connect(&a, "test:///default").expect("the test driver");
        assert!(Arc::ptr_eq(
            &first,
            &connect(&a, "test:///default").expect("the test driver")
        ));
        assert!(!Arc::ptr_eq(
            &first,
            &connect(&b, "test:///default").expect("the test driver")
        ));
        // A sandbox file a plan would write: that plan reads it from memory, no other run does,
        // and neither does the same session once its plan has ended.
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("host.xml").display().to_string();
        let uri = format!("test://{path}");
        sandbox::plan_file(&a, &path, SANDBOX_NODE);
        assert_eq!(node_info(&a, &uri).expect("the planned host").cpus, 32);
        assert!(node_info(&b, &uri).is_err());
        a.set_mode(Mode::Apply);
        match node_info(&a, &uri) {
            Ok(_) => panic!("the plan's sandbox was seen after the plan"),
            Err(e) => assert!(
                e.to_string().contains("does the test driver's file exist?"),
                "{e}"
            ),
        }
        assert!(!std::path::Path::new(&path).exists());
    }
}
