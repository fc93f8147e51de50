//! The agent-based installer: install-config.yaml and agent-config.yaml checked by the
//! installer's own rules for the release, and `openshift-install agent create image` / `agent
//! wait-for` run in their folder with their progress and log, each step skipped once done there.
//!
//! The rules come from openshift/installer release-4.18:
//! - pkg/asset/agent/common.go: the platforms the agent installer takes
//!   (SupportedInstallerPlatforms, checked by installconfig.go's ValidateSupportedPlatforms);
//! - pkg/asset/agent/installconfig.go: the control plane's replicas
//!   (validateControlPlaneConfiguration: 1, 3, 4 or 5 from 4.18, 1 or 3 before;
//!   docs/user/agent/control-plane-replicas.md), single-node OpenShift (validateSNOConfiguration:
//!   0 computes, platform none or external, and there OVNKubernetes);
//! - pkg/types/defaults/machinepools.go and installconfig.go: a machine pool without replicas
//!   has 3, and an install-config without compute pools one of 3 workers (SetMachinePoolDefaults,
//!   SetInstallConfigDefaults);
//! - pkg/types/validation/installconfig.go: OpenShiftSDN refused from 4.15 (validateNetworking);
//!   baremetal's apiVIPs and ingressVIPs given, inside the machine network and apart
//!   (validateAPIAndIngressVIPs, ValidateIPinMachineCIDR);
//! - pkg/asset/agent/agentconfig/agenthosts.go: each host's interfaces with a MAC each, valid
//!   (pkg/validate MAC: six octets, unicast) and unique across hosts (validateHostInterfaces),
//!   its role master or worker (validateRoles), the WWN extensions refused in its
//!   rootDeviceHints (validateHostRootDeviceHints), the rendezvous IP on no worker
//!   (validateRendezvousIPNotWorker);
//! - pkg/types/baremetal/validation/platform.go: a root device hint's deviceName a path in /dev
//!   or /dev/disk/by-path (ValidateHostRootDeviceHints).
//!
//! labsh's own rules beside them (the installer finds these only once the hosts boot): the
//! rendezvous IP given, IPv4, an address of a host's networkConfig, inside the machine network;
//! exactly as many hosts of each role as the replicas (each host is a VM of the lab, none spare;
//! the installer's validateHostsCount does not run for agent installs); host names unique; each
//! mac-address of a host's networkConfig one of its interfaces.

use super::installer::{line_hook, Said};
use crate::effects::process::{self, Command};
use crate::effects::{Effects, Error, Op};
use crate::util::cidr;
use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};

const IC: &str = "install-config.yaml";
const AC: &str = "agent-config.yaml";

/// The field at `path` (dots) of `v`, or Null.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

/// A field's text, or "".
fn text<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path).as_str().unwrap_or("")
}

/// The machine network's CIDRs of an install-config.
fn machine_networks(ic: &Value) -> Vec<String> {
    at(ic, "networking.machineNetwork")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.get("cidr").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The platform an install-config names (its one key under `platform`), or "".
fn platform(ic: &Value) -> String {
    at(ic, "platform")
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .unwrap_or_default()
}

/// The replicas the installer gives a machine pool that names none (pkg/types/defaults
/// machinepools.go SetMachinePoolDefaults, release-4.18).
const DEFAULT_REPLICAS: i64 = 3;

/// The compute replicas of an install-config, all pools together, with the installer's
/// defaults: a pool without replicas has 3, and no compute pools is one pool of 3 workers.
fn workers(ic: &Value) -> i64 {
    match at(ic, "compute").as_array() {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|p| match p.get("replicas") {
                None | Some(Value::Null) => DEFAULT_REPLICAS,
                Some(r) => r.as_i64().unwrap_or(0),
            })
            .sum(),
        _ => DEFAULT_REPLICAS,
    }
}

/// The control plane's replicas, the installer's default of 3 when none are given; None when
/// they are not a whole number.
fn control_replicas(ic: &Value) -> Option<i64> {
    match at(ic, "controlPlane.replicas") {
        Value::Null => Some(DEFAULT_REPLICAS),
        r => r.as_i64(),
    }
}

/// Every problem of install-config.yaml for the agent installer of `minor` (4.x).
fn install_config_problems(minor: u32, ic: &Value, bad: &mut Vec<String>) {
    let mut say = |key: &str, msg: String| bad.push(format!("{IC}: {key}: {msg}"));
    let replicas = control_replicas(ic);
    // validateControlPlaneConfiguration: 4 and 5 control-plane nodes from 4.18.
    let allowed: &[i64] = if minor >= 18 { &[1, 3, 4, 5] } else { &[1, 3] };
    match replicas {
        Some(r) if allowed.contains(&r) => {}
        Some(r) => say(
            "controlPlane.replicas",
            format!("{r}: the agent installer of 4.{minor} takes {allowed:?}"),
        ),
        None => say(
            "controlPlane.replicas",
            format!(
                "{}: a whole number: 1 (single-node) or 3 (compact)",
                at(ic, "controlPlane.replicas")
            ),
        ),
    }
    // ValidateSupportedPlatforms.
    let plat = platform(ic);
    let supported = ["baremetal", "external", "none", "nutanix", "vsphere"];
    if !supported.contains(&plat.as_str()) {
        say(
            "platform",
            format!(
                "{:?} is not a platform of the agent installer ({})",
                plat,
                supported.join(", ")
            ),
        );
    }
    let nets = machine_networks(ic);
    if nets.is_empty() || nets.iter().any(|c| cidr::parse_cidr(c).is_none()) {
        say(
            "networking.machineNetwork",
            format!("{nets:?}: give the nodes' network as [{{cidr: \"192.168.122.0/24\"}}]"),
        );
    }
    let nt = text(ic, "networking.networkType");
    if nt == "OpenShiftSDN" && minor >= 15 {
        say(
            "networking.networkType",
            format!(
                "{nt:?}: OpenShift 4.{minor} refuses OpenShiftSDN (since 4.15); use OVNKubernetes"
            ),
        );
    } else if nt != "OVNKubernetes" && nt != "OpenShiftSDN" {
        say(
            "networking.networkType",
            format!("{nt:?}: OVNKubernetes or OpenShiftSDN"),
        );
    }
    // validateSNOConfiguration.
    if replicas == Some(1) {
        let w = workers(ic);
        if w != 0 {
            say(
                "compute.replicas",
                format!("{w}: a single-node OpenShift (controlPlane.replicas 1) has 0 computes"),
            );
        } else {
            if plat != "none" && plat != "external" {
                say(
                    "platform",
                    format!("{plat:?}: only platform none or external installs 1 control-plane node and 0 computes"),
                );
            } else if nt != "OVNKubernetes" && !(nt == "OpenShiftSDN" && minor >= 15) {
                say(
                    "networking.networkType",
                    format!("{nt:?}: a single-node OpenShift takes OVNKubernetes only"),
                );
            }
        }
    }
    if plat == "baremetal" {
        vip_problems(ic, &nets, bad);
    }
}

/// The baremetal platform's VIPs: given, inside the machine network `nets`, and apart.
fn vip_problems(ic: &Value, nets: &[String], bad: &mut Vec<String>) {
    let mut say = |key: &str, msg: String| bad.push(format!("{IC}: {key}: {msg}"));
    let vips = |k: &str| -> Vec<String> {
        at(ic, &format!("platform.baremetal.{k}"))
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let api = vips("apiVIPs");
    let ingress = vips("ingressVIPs");
    for (k, v) in [("apiVIPs", &api), ("ingressVIPs", &ingress)] {
        if v.is_empty() {
            say(
                &format!("platform.baremetal.{k}"),
                "missing: the baremetal platform needs one in the machine network".into(),
            );
        }
        for a in v.iter() {
            if !nets.iter().any(|c| cidr::contains(c, a)) {
                say(
                    &format!("platform.baremetal.{k}"),
                    format!("{a} is outside the machine network {nets:?}"),
                );
            }
        }
    }
    if api.iter().any(|a| ingress.contains(a)) {
        say(
            "platform.baremetal.ingressVIPs",
            format!("{ingress:?}: the ingress VIP must differ from the API VIP"),
        );
    }
}

/// The IPv4 addresses a host's nmstate networkConfig gives its interfaces.
fn host_addresses(host: &Value) -> Vec<String> {
    let mut out = vec![];
    for i in at(host, "networkConfig.interfaces")
        .as_array()
        .into_iter()
        .flatten()
    {
        for a in at(i, "ipv4.address").as_array().into_iter().flatten() {
            if let Some(ip) = a.get("ip").and_then(Value::as_str) {
                out.push(ip.to_string());
            }
        }
    }
    out
}

/// Why `m` is not a MAC address as the installer's validate.MAC takes it (openshift/installer
/// pkg/validate/validate.go MAC, release-4.18: net.ParseMAC's six octets, written with colons or
/// dashes, and unicast: the low bit of the first octet clear), or None.
fn mac_problem(m: &str) -> Option<&'static str> {
    let sep = if m.contains('-') { '-' } else { ':' };
    let octets: Vec<Option<u8>> = m
        .split(sep)
        .map(|p| {
            (p.len() == 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect();
    match octets.first() {
        _ if octets.len() != 6 || octets.iter().any(Option::is_none) => {
            Some("is not a MAC address (six octets, such as 52:54:00:aa:bb:01)")
        }
        Some(Some(b)) if b & 1 == 1 => Some("is a multicast MAC address: a NIC's is unicast"),
        _ => None,
    }
}

/// A MAC address as it is compared: lower case, colons.
fn mac_key(m: &str) -> String {
    m.to_lowercase().replace('-', ":")
}

/// Every problem of one host of agent-config.yaml (`k`: its key, such as hosts[0]).
fn host_problems(k: &str, host: &Value, macs: &mut Vec<String>, bad: &mut Vec<String>) {
    let mut say = |key: &str, msg: String| bad.push(format!("{AC}: {k}.{key}: {msg}"));
    let role = text(host, "role");
    if !role.is_empty() && role != "master" && role != "worker" {
        say(
            "role",
            format!("{role:?}: a host's role is master or worker"),
        );
    }
    let ifaces = at(host, "interfaces")
        .as_array()
        .cloned()
        .unwrap_or_default();
    if ifaces.is_empty() {
        say(
            "interfaces",
            "none: each host needs at least one interface with its MAC".into(),
        );
    }
    let mut own = vec![];
    for (j, i) in ifaces.iter().enumerate() {
        let mac = mac_key(text(i, "macAddress"));
        let key = format!("interfaces[{j}].macAddress");
        if mac.is_empty() {
            say(&key, "missing: each interface needs its MAC address".into());
            continue;
        }
        if let Some(why) = mac_problem(&mac) {
            say(&key, format!("{mac:?} {why}"));
        }
        if macs.contains(&mac) {
            say(&key, format!("{mac} is given twice: each MAC is one NIC's"));
        }
        macs.push(mac.clone());
        own.push(mac);
    }
    // nmstate's interfaces are the host's NICs, named by MAC.
    for (j, i) in at(host, "networkConfig.interfaces")
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let m = mac_key(text(i, "mac-address"));
        if !m.is_empty() && !own.contains(&m) {
            say(
                &format!("networkConfig.interfaces[{j}].mac-address"),
                format!("{m} is not one of the host's interfaces ({own:?})"),
            );
        }
    }
    let hints = at(host, "rootDeviceHints");
    let dev = text(hints, "deviceName");
    if !dev.is_empty() {
        // ValidateHostRootDeviceHints: /dev/NAME or /dev/disk/by-path/NAME, nothing deeper.
        match dev.strip_prefix("/dev/") {
            None => say(
                "rootDeviceHints.deviceName",
                format!("{dev:?}: a device's path under /dev"),
            ),
            Some(rest)
                if rest
                    .strip_prefix("disk/by-path/")
                    .unwrap_or(rest)
                    .contains('/') =>
            {
                say(
                    "rootDeviceHints.deviceName",
                    format!("{dev:?}: a path in /dev or /dev/disk/by-path (such as /dev/vda)"),
                )
            }
            Some(_) => {}
        }
    }
    for w in ["wwnWithExtension", "wwnVendorExtension"] {
        if !text(hints, w).is_empty() {
            say(
                &format!("rootDeviceHints.{w}"),
                "WWN extensions are not taken in root device hints".into(),
            );
        }
    }
}

/// Every problem of agent-config.yaml with its install-config.yaml.
fn agent_problems(ic: &Value, ac: &Value, bad: &mut Vec<String>) {
    let hosts = at(ac, "hosts").as_array().cloned().unwrap_or_default();
    let mut macs = vec![];
    let mut names: Vec<&str> = vec![];
    for (i, h) in hosts.iter().enumerate() {
        let k = format!("hosts[{i}]");
        host_problems(&k, h, &mut macs, bad);
        let n = text(h, "hostname");
        if !n.is_empty() && names.contains(&n) {
            bad.push(format!("{AC}: {k}.hostname: {n} is given twice"));
        }
        names.push(n);
    }
    // The roles' counts: the installer waits for as many hosts as the replicas say.
    let count = |role: &str| hosts.iter().filter(|h| text(h, "role") == role).count() as i64;
    if let Some(r) = control_replicas(ic) {
        if count("master") != r {
            bad.push(format!(
                "{AC}: hosts: {} of role master, and {IC}'s controlPlane.replicas is {r}: give one host of role master for each",
                count("master")
            ));
        }
    }
    let w = workers(ic);
    if count("worker") != w {
        bad.push(format!(
            "{AC}: hosts: {} of role worker, and {IC}'s compute replicas are {w}",
            count("worker")
        ));
    }
    // The rendezvous host.
    let rv = text(ac, "rendezvousIP");
    if rv.is_empty() {
        bad.push(format!(
            "{AC}: rendezvousIP: missing: give the address of the first control-plane host"
        ));
        return;
    }
    if rv.parse::<std::net::Ipv4Addr>().is_err() {
        bad.push(format!("{AC}: rendezvousIP: {rv:?} is not an IPv4 address"));
        return;
    }
    let nets = machine_networks(ic);
    if !nets.iter().any(|c| cidr::contains(c, rv)) {
        bad.push(format!(
            "{AC}: rendezvousIP: {rv} is outside {IC}'s networking.machineNetwork {nets:?}"
        ));
    }
    match hosts.iter().position(|h| host_addresses(h).iter().any(|a| a == rv)) {
        None => bad.push(format!(
            "{AC}: rendezvousIP: {rv} is no host's address in its networkConfig: give it to the first control-plane host"
        )),
        Some(i) if text(&hosts[i], "role") == "worker" => bad.push(format!(
            "{AC}: hosts[{i}].role: worker, and it has the rendezvousIP {rv}: the rendezvous host is a control-plane host"
        )),
        Some(_) => {}
    }
}

/// Every problem of install-config.yaml and agent-config.yaml for the agent installer of
/// OpenShift `minor` (4.x), each naming its file and key. Empty when fine.
pub fn problems(minor: u32, ic: &Value, ac: &Value) -> Vec<String> {
    let mut bad = vec![];
    if minor < 12 {
        // [downstream] the agent-based installer came with OpenShift 4.12.
        bad.push(format!(
            "{IC}: the agent-based installer came with OpenShift 4.12, not 4.{minor}"
        ));
        return bad;
    }
    install_config_problems(minor, ic, &mut bad);
    agent_problems(ic, ac, &mut bad);
    bad
}

/// A step of the agent installer.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Step {
    /// `agent create image`: DIR/agent.x86_64.iso.
    Image,
    /// `agent wait-for bootstrap-complete`.
    Bootstrap,
    /// `agent wait-for install-complete`.
    Install,
}

impl Step {
    /// "image", "bootstrap-complete" or "install-complete".
    pub fn parse(s: &str) -> Option<Step> {
        match s {
            "image" => Some(Step::Image),
            "bootstrap-complete" => Some(Step::Bootstrap),
            "install-complete" => Some(Step::Install),
            _ => None,
        }
    }

    fn args(self) -> [&'static str; 3] {
        match self {
            Step::Image => ["agent", "create", "image"],
            Step::Bootstrap => ["agent", "wait-for", "bootstrap-complete"],
            Step::Install => ["agent", "wait-for", "install-complete"],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Step::Image => "image",
            Step::Bootstrap => "bootstrap-complete",
            Step::Install => "install-complete",
        }
    }
}

/// What a step did.
#[derive(serde::Serialize)]
pub struct Done {
    pub step: String,
    pub iso: String,
    pub kubeconfig: String,
    /// The installer ran, or a plan shows that it would.
    pub changed: bool,
}

/// The file that says a step is done in `dir`: the ISO for the image, a marker labsh writes once
/// the installer said a wait ended well.
fn done_file(dir: &str, step: Step) -> String {
    let p = Path::new(dir);
    match step {
        Step::Image => p.join("agent.x86_64.iso"),
        Step::Bootstrap => p.join(".labsh-agent-bootstrap-complete"),
        Step::Install => p.join(".labsh-agent-install-complete"),
    }
    .display()
    .to_string()
}

/// Runs `installer agent ...` for `step` in `dir` (output to DIR/labsh-agent.log, progress shown),
/// unless it is done there already.
pub fn run(
    fx: &Effects,
    installer: &str,
    dir: &str,
    step: Step,
    timeout: std::time::Duration,
    log_level: &str,
) -> Result<Done, Error> {
    let mut done = Done {
        step: step.name().into(),
        iso: done_file(dir, Step::Image),
        kubeconfig: Path::new(dir).join("auth/kubeconfig").display().to_string(),
        changed: false,
    };
    let marker = done_file(dir, step);
    let op = Op::new(format!("ocp.agent.{}", step.name()), dir).arg("installer", installer);
    let kube_there = step != Step::Install || Path::new(&done.kubeconfig).is_file();
    if Path::new(&marker).is_file() && kube_there {
        fx.unchanged(op);
        return Ok(done);
    }
    let log_path = Path::new(dir).join("labsh-agent.log");
    let said = Arc::new(Mutex::new(Said::default()));
    let log = Arc::new(Mutex::new(None::<std::fs::File>));
    let hook = line_hook(
        said.clone(),
        log.clone(),
        fx.printer().clone(),
        log_path.display().to_string(),
    );
    let mut cmd = command(installer, dir, step, log_level);
    cmd.timeout = Some(timeout);
    cmd.on_line = Some(hook);
    #[expect(
        clippy::disallowed_methods,
        reason = "the change that runs the installer makes its folder and appends to its log"
    )]
    let r = fx.change(
        op.arg("timeout_s", timeout.as_secs()),
        || {
            crate::effects::files::make_dir(Path::new(dir))?;
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| format!("open {}: {e}", log_path.display()))?;
            *log.lock().map_err(|_| "log lock")? = Some(f);
            fx.exec(&cmd)
        },
        process::Output::planned,
    );
    let g = said.lock().map(|g| g.clone()).unwrap_or_default();
    let more = format!(
        "{installer} agent wait-for {} --dir {dir} --log-level debug; {installer} agent gather (on the rendezvous host: journalctl -u assisted-service)",
        if step == Step::Bootstrap { "bootstrap-complete" } else { "install-complete" }
    );
    let out = match r {
        Ok(o) => o,
        Err(e) if e.is(crate::effects::Kind::TimedOut) => {
            return Err(Error::timed_out(g.diagnosis_with(
                &format!(
                    "agent {} did not finish in {}",
                    step.name(),
                    crate::effects::fmt_ms(timeout.as_millis())
                ),
                &log_path,
                &more,
            )))
        }
        Err(e) => return Err(e),
    };
    done.changed = true;
    if fx.is_plan() {
        return Ok(done);
    }
    finish(fx, step, &marker, out.code, &g, &log_path, &more)?;
    Ok(done)
}

/// `installer agent ...` for `step` in `dir`: private in the state folder, its output allowed to
/// be long (its lines go to its log).
fn command(installer: &str, dir: &str, step: Step, log_level: &str) -> Command {
    let [a, b, c] = step.args();
    let mut cmd = Command::new([installer, a, b, c, "--dir", dir, "--log-level", log_level]);
    cmd.private = crate::paths::in_state(Path::new(dir));
    cmd.max_output = Some(64 << 20);
    cmd
}

/// After a step ran (exit `code`): its failure explained, or what says it is done: the ISO the
/// image step must have written, the marker of a wait that ended well.
fn finish(
    fx: &Effects,
    step: Step,
    marker: &str,
    code: i32,
    said: &Said,
    log_path: &Path,
    more: &str,
) -> Result<(), Error> {
    if code != 0 {
        return Err(Error::failed(said.diagnosis_with(
            &format!("agent {} failed with exit code {code}", step.name()),
            log_path,
            more,
        )));
    }
    if step == Step::Image {
        if !Path::new(marker).is_file() {
            return Err(Error::failed(format!(
                "openshift-install agent create image ended well but wrote no {marker}; its log: {}",
                log_path.display()
            )));
        }
    } else {
        crate::effects::files::ensure_file(fx, marker, "", false, None).map_err(|e| {
            format!(
                "agent {} ended well, but {e}: without {marker} the next run waits again",
                step.name()
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sno() -> (Value, Value) {
        let ic = json!({
            "apiVersion": "v1", "baseDomain": "lab.local", "metadata": {"name": "substrate"},
            "controlPlane": {"name": "master", "replicas": 1}, "compute": [{"name": "worker", "replicas": 0}],
            "networking": {"networkType": "OVNKubernetes", "machineNetwork": [{"cidr": "192.168.122.0/24"}]},
            "platform": {"none": {}}
        });
        let ac = json!({
            "rendezvousIP": "192.168.122.10",
            "hosts": [{"hostname": "ocp01", "role": "master", "rootDeviceHints": {"deviceName": "/dev/vda"},
                       "interfaces": [{"name": "enp1s0", "macAddress": "52:54:00:aa:bb:01"}],
                       "networkConfig": {"interfaces": [{"name": "enp1s0", "mac-address": "52:54:00:aa:bb:01",
                           "ipv4": {"enabled": true, "address": [{"ip": "192.168.122.10", "prefix-length": 24}]}}]}}]
        });
        (ic, ac)
    }

    #[test]
    fn a_good_single_node_config_passes() {
        let (ic, ac) = sno();
        assert_eq!(problems(18, &ic, &ac), Vec::<String>::new());
    }

    #[test]
    fn each_single_node_rule_names_its_file_and_key() {
        let (mut ic, ac) = sno();
        ic["platform"] =
            json!({"baremetal": {"apiVIPs": ["192.168.122.5"], "ingressVIPs": ["192.168.122.6"]}});
        let p = problems(18, &ic, &ac);
        assert!(
            p.iter().any(|e| e
                .starts_with("install-config.yaml: platform: \"baremetal\": only platform none")),
            "{p:?}"
        );
        let (mut ic, ac) = sno();
        ic["networking"]["networkType"] = json!("OpenShiftSDN");
        assert!(problems(14, &ic, &ac)[0].starts_with(
            "install-config.yaml: networking.networkType: \"OpenShiftSDN\": a single-node"
        ));
        // From 4.15 the installer refuses OpenShiftSDN for every cluster: said once.
        let p = problems(18, &ic, &ac);
        assert_eq!(
            p,
            vec!["install-config.yaml: networking.networkType: \"OpenShiftSDN\": OpenShift 4.18 refuses OpenShiftSDN (since 4.15); use OVNKubernetes".to_string()]
        );
        // A compute pool without replicas has the installer's 3, and so has a config without
        // compute pools: neither is a single-node OpenShift.
        for compute in [json!([{"name": "worker"}]), Value::Null] {
            let (mut ic, ac) = sno();
            ic["compute"] = compute;
            let p = problems(18, &ic, &ac);
            assert!(
                p.iter()
                    .any(|e| e.starts_with("install-config.yaml: compute.replicas: 3")),
                "{p:?}"
            );
        }
        // Without controlPlane.replicas the installer makes 3 control-plane nodes.
        let (mut ic, ac) = sno();
        ic["controlPlane"] = json!({"name": "master"});
        let p = problems(18, &ic, &ac);
        assert!(
            p.iter().any(|e| e.contains(
                "1 of role master, and install-config.yaml's controlPlane.replicas is 3"
            )),
            "{p:?}"
        );
        let (mut ic, ac) = sno();
        ic["compute"][0]["replicas"] = json!(2);
        let p = problems(18, &ic, &ac);
        assert!(
            p[0].starts_with("install-config.yaml: compute.replicas: 2"),
            "{p:?}"
        );
    }

    #[test]
    fn control_plane_replicas_follow_the_release() {
        let (mut ic, ac) = sno();
        ic["controlPlane"]["replicas"] = json!(4);
        ic["platform"] =
            json!({"baremetal": {"apiVIPs": ["192.168.122.5"], "ingressVIPs": ["192.168.122.6"]}});
        assert!(!problems(18, &ic, &ac)
            .iter()
            .any(|e| e.contains("controlPlane.replicas: 4")));
        assert!(problems(17, &ic, &ac)
            .iter()
            .any(|e| e
                .contains("controlPlane.replicas: 4: the agent installer of 4.17 takes [1, 3]")));
        assert!(problems(11, &ic, &ac)[0].contains("came with OpenShift 4.12"));
    }

    #[test]
    fn agent_config_rules_name_their_key() {
        let (ic, mut ac) = sno();
        ac["rendezvousIP"] = json!("10.0.0.10");
        let p = problems(18, &ic, &ac);
        assert!(p.contains(&"agent-config.yaml: rendezvousIP: 10.0.0.10 is outside install-config.yaml's networking.machineNetwork [\"192.168.122.0/24\"]".to_string()), "{p:?}");
        // MACs as net.ParseMAC reads them, unicast, compared whatever their case or separator.
        for (mac, want) in [
            ("52-54-00-AA-BB-01", None),
            ("52:54:00:aa:bb", Some("is not a MAC address")),
            ("53:54:00:aa:bb:01", Some("is a multicast MAC address")),
            ("52:54:00:aa:bb:zz", Some("is not a MAC address")),
        ] {
            let (ic, mut ac) = sno();
            ac["hosts"][0]["interfaces"][0]["macAddress"] = json!(mac);
            let p = problems(18, &ic, &ac);
            let said = p.iter().any(|e| {
                e.starts_with("agent-config.yaml: hosts[0].interfaces[0].macAddress:")
                    && want.is_some_and(|w| e.contains(w))
            });
            assert_eq!(said, want.is_some(), "{mac}: {p:?}");
            if want.is_none() {
                assert!(p.is_empty(), "{mac}: {p:?}");
            }
        }
        // A root device hint: a path in /dev or /dev/disk/by-path, nothing deeper.
        for (dev, ok) in [
            ("/dev/vda", true),
            ("/dev/disk/by-path/pci-0000:04:00.0", true),
            ("/dev/disk/by-id/wwn-0x5000c500", false),
            ("vda", false),
        ] {
            let (ic, mut ac) = sno();
            ac["hosts"][0]["rootDeviceHints"]["deviceName"] = json!(dev);
            let p = problems(18, &ic, &ac);
            assert_eq!(p.is_empty(), ok, "{dev}: {p:?}");
        }
        let (ic, mut ac) = sno();
        ac["hosts"][0]["interfaces"][0]["macAddress"] = json!("");
        let p = problems(18, &ic, &ac);
        assert!(
            p.iter()
                .any(|e| e
                    .starts_with("agent-config.yaml: hosts[0].interfaces[0].macAddress: missing")),
            "{p:?}"
        );
        let (ic, mut ac) = sno();
        let h = ac["hosts"][0].clone();
        ac["hosts"] = json!([h.clone(), h]);
        let p = problems(18, &ic, &ac);
        assert!(
            p.iter().any(|e| e
                .contains("hosts[1].interfaces[0].macAddress: 52:54:00:aa:bb:01 is given twice")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|e| e.contains(
                "2 of role master, and install-config.yaml's controlPlane.replicas is 1"
            )),
            "{p:?}"
        );
        let (ic, mut ac) = sno();
        ac["hosts"][0]["role"] = json!("worker");
        let p = problems(18, &ic, &ac);
        assert!(
            p.iter().any(|e| e.starts_with(
                "agent-config.yaml: hosts[0].role: worker, and it has the rendezvousIP"
            )),
            "{p:?}"
        );
        let (ic, mut ac) = sno();
        ac["hosts"][0]["rootDeviceHints"] = json!({"deviceName": "vda", "wwnWithExtension": "x"});
        let p = problems(18, &ic, &ac);
        assert!(
            p.iter()
                .any(|e| e.contains("hosts[0].rootDeviceHints.deviceName")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|e| e.contains("hosts[0].rootDeviceHints.wwnWithExtension")),
            "{p:?}"
        );
    }

    #[test]
    fn a_compact_cluster_on_baremetal_needs_its_vips_in_the_machine_network() {
        let (mut ic, _) = sno();
        ic["controlPlane"]["replicas"] = json!(3);
        ic["platform"] =
            json!({"baremetal": {"apiVIPs": ["192.168.122.8"], "ingressVIPs": ["10.1.1.9"]}});
        let p = problems(
            18,
            &ic,
            &json!({"rendezvousIP": "192.168.122.10", "hosts": []}),
        );
        assert!(p.iter().any(|e| e == "install-config.yaml: platform.baremetal.ingressVIPs: 10.1.1.9 is outside the machine network [\"192.168.122.0/24\"]"), "{p:?}");
        assert!(
            p.iter()
                .any(|e| e.contains("rendezvousIP: 192.168.122.10 is no host's address")),
            "{p:?}"
        );
    }
}
