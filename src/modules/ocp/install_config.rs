//! install-config.yaml: every problem of a config, each naming its field, for the release it is
//! written for (fields the release defines, its conversions and refusals, networks, addresses,
//! the proxy and mirrors); and what a profile asks of a release that it refuses (its values, its
//! flavor against the release's minimums).

use super::release::{self, Release, Section};
use crate::util::cidr::{self, overlaps, parse_cidr};
use serde_json::Value;
use std::net::Ipv4Addr;

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for p in path.split('.') {
        cur = if let Ok(i) = p.parse::<usize>() {
            cur.get(i)?
        } else {
            cur.get(p)?
        };
    }
    Some(cur)
}

/// The fields of `c` that `r` does not define, section by section, with what replaced them.
fn schema_problems(c: &Value, r: Release, p: &mut Vec<String>) {
    let mut check = |section: Section, at: &str, v: Option<&Value>| {
        let Some(m) = v.and_then(|v| v.as_object()) else {
            return;
        };
        for k in m.keys() {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if let Some(why) = r.field_problem(section, k) {
                p.push(format!("{path}: {why}"));
            } else if let Some(instead) = r
                .deprecated(section, k)
                // The article's release still reads these three (see legacy_platform_fields).
                .filter(|_| {
                    !(section == Section::OpenstackPlatform
                        && r.legacy_platform_fields()
                        && ["octaviaSupport", "trunkSupport", "region"].contains(&k.as_str()))
                })
            {
                p.push(match instead.strip_prefix("nothing: ") {
                    Some(why) => format!(
                        "{path}: deprecated in OpenShift {}: leave it out ({why})",
                        r.name()
                    ),
                    None => format!(
                        "{path}: deprecated in OpenShift {}; write {instead} instead",
                        r.name()
                    ),
                });
            } else if let Some(values) = r.field_values(section, k) {
                let v = m.get(k).and_then(Value::as_str).unwrap_or("");
                if !values.iter().any(|x| x == v) {
                    p.push(format!(
                        "{path}: {} is not one OpenShift {} takes ({})",
                        m.get(k).map(Value::to_string).unwrap_or_default(),
                        r.name(),
                        values.join(", ")
                    ));
                }
            }
        }
    };
    check(Section::TopLevel, "", Some(c));
    check(Section::Networking, "networking", c.get("networking"));
    check(Section::MachinePool, "controlPlane", c.get("controlPlane"));
    fn pool_platform(v: Option<&Value>) -> Option<&Value> {
        v.and_then(|v| v.get("platform"))
            .and_then(|v| v.get("openstack"))
    }
    check(
        Section::OpenstackMachinePool,
        "controlPlane.platform.openstack",
        pool_platform(c.get("controlPlane")),
    );
    if let Some(pools) = c.get("compute").and_then(|v| v.as_array()) {
        for (i, pool) in pools.iter().enumerate() {
            check(Section::MachinePool, &format!("compute[{i}]"), Some(pool));
            check(
                Section::OpenstackMachinePool,
                &format!("compute[{i}].platform.openstack"),
                pool_platform(Some(pool)),
            );
        }
    }
    let osp = c.get("platform").and_then(|v| v.get("openstack"));
    check(Section::OpenstackPlatform, "platform.openstack", osp);
    check(
        Section::OpenstackMachinePool,
        "platform.openstack.defaultMachinePlatform",
        osp.and_then(|v| v.get("defaultMachinePlatform")),
    );
}

/// A string at `path` of `c`, or "".
fn text(c: &Value, path: &str) -> String {
    get(c, path)
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string()
}

/// Every problem of an install-config (as JSON, secrets masked or not) for OpenShift `r`, each
/// naming the field: fields the release does not define (or deprecates), values it does not
/// take, DNS names, replicas the release takes, the machine, cluster and service networks (CIDRs,
/// host prefix, overlaps with each other and with the lab's own networks in `lab`, `name ->
/// CIDR`), the network type, the OpenStack platform fields (the floating IPs in
/// `external_cidr`), what the release refuses on OpenStack (credentialsMode, fields behind a
/// feature gate, external DNS records without a user-managed load balancer), the pull secret,
/// the key, the proxy and mirrors.
pub fn check_install_config(
    c: &Value,
    r: Release,
    lab: &[(String, String)],
    external_cidr: Option<&str>,
) -> Vec<String> {
    let mut p = vec![];
    schema_problems(c, r, &mut p);
    name_and_size_problems(c, r, &mut p);
    network_problems(c, r, lab, &mut p);
    platform_problems(c, r, external_cidr, &mut p);
    refusal_problems(c, r, &mut p);
    network_option_problems(c, r, &mut p);
    proxy_and_mirror_problems(c, &mut p);
    secret_problems(c, &mut p);
    p
}

/// apiVersion, the cluster's name, the base domain, and the replicas the release installs.
fn name_and_size_problems(c: &Value, r: Release, p: &mut Vec<String>) {
    if text(c, "apiVersion") != "v1" {
        p.push("apiVersion: must be v1".into());
    }
    let dns_label = |x: &str| {
        !x.is_empty()
            && x.len() <= 63
            && x.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !x.starts_with('-')
            && !x.ends_with('-')
    };
    let name = text(c, "metadata.name");
    if !dns_label(&name) {
        p.push(format!(
            "metadata.name: {} must be a DNS label (lower-case letters, digits, '-')",
            crate::util::shown(&name)
        ));
    } else if let Some(max) = r.max_cluster_name().filter(|m| name.len() > *m) {
        // pkg/types/openstack/validation/platform.go, release-4.2 to release-4.9.
        p.push(format!(
            "metadata.name: {} is longer than the {max} characters OpenShift {} takes on OpenStack",
            crate::util::shown(&name),
            r.name()
        ));
    }
    let bd = text(c, "baseDomain");
    if bd.is_empty() || !bd.split('.').all(dns_label) {
        p.push(format!(
            "baseDomain: {bd:?} must be a domain name such as example.com"
        ));
    }
    match get(c, "controlPlane.replicas").and_then(|v| v.as_i64()) {
        Some(n) if r.masters_allowed(n) => {}
        other => p.push(format!(
            "controlPlane.replicas: {} is not a control plane OpenShift {} installs on OpenStack ({})",
            other.map(|n| n.to_string()).unwrap_or_else(|| "a missing value".into()),
            r.name(),
            r.masters_words()
        )),
    }
    match get(c, "compute.0.replicas").and_then(|v| v.as_i64()) {
        Some(n) if n >= 0 => {}
        other => p.push(format!("compute[0].replicas: {other:?} must be 0 or more")),
    }
}

/// The machine, cluster and service networks (CIDRs, host prefix, overlaps with each other and
/// with the lab's), and the network type.
fn network_problems(c: &Value, r: Release, lab: &[(String, String)], p: &mut Vec<String>) {
    let mut nets: Vec<(String, String)> = vec![];
    let (mfield, machine) = if r.machine_network_field() == "machineCIDR" {
        ("networking.machineCIDR", text(c, "networking.machineCIDR"))
    } else {
        (
            "networking.machineNetwork[0].cidr",
            text(c, "networking.machineNetwork.0.cidr"),
        )
    };
    if parse_cidr(&machine).is_none() {
        p.push(format!(
            "{mfield}: {machine:?} is not a CIDR such as 10.0.0.0/16"
        ));
    } else {
        nets.push((mfield.into(), machine.clone()));
    }
    let cluster = text(c, "networking.clusterNetwork.0.cidr");
    match parse_cidr(&cluster) {
        None => p.push(format!(
            "networking.clusterNetwork[0].cidr: {cluster:?} is not a CIDR"
        )),
        Some((_, len)) => {
            nets.push(("networking.clusterNetwork[0].cidr".into(), cluster.clone()));
            match get(c, "networking.clusterNetwork.0.hostPrefix").and_then(|v| v.as_i64()) {
                Some(h) if h as u32 > len && h <= 30 => {}
                other => p.push(format!(
                    "networking.clusterNetwork[0].hostPrefix: {other:?} must be longer than the network's /{len} and at most 30"
                )),
            }
        }
    }
    let service = text(c, "networking.serviceNetwork.0");
    if parse_cidr(&service).is_none() {
        p.push(format!(
            "networking.serviceNetwork[0]: {service:?} is not a CIDR"
        ));
    } else {
        nets.push(("networking.serviceNetwork[0]".into(), service.clone()));
    }
    let nt = text(c, "networking.networkType");
    if r.refused_network_types().contains(&nt.as_str()) {
        p.push(format!(
            "networking.networkType: OpenShift {} refuses {nt} (since 4.15); use OVNKubernetes",
            r.name()
        ));
    } else if !["OpenShiftSDN", "OVNKubernetes"].contains(&nt.as_str()) {
        p.push(format!(
            "networking.networkType: {nt:?} must be OVNKubernetes or OpenShiftSDN"
        ));
    }
    for i in 0..nets.len() {
        for j in i + 1..nets.len() {
            if overlaps(&nets[i].1, &nets[j].1) {
                p.push(format!(
                    "{} ({}) overlaps {} ({})",
                    nets[i].0, nets[i].1, nets[j].0, nets[j].1
                ));
            }
        }
        for (lname, lcidr) in lab {
            if overlaps(&nets[i].1, lcidr) {
                p.push(format!(
                    "{} ({}) overlaps the lab's network {lname} ({lcidr}); choose another range",
                    nets[i].0, nets[i].1
                ));
            }
        }
    }
}

/// The OpenStack platform's cloud, external network and flavor, and the floating IPs (inside
/// `external_cidr` when given).
fn platform_problems(c: &Value, r: Release, external_cidr: Option<&str>, p: &mut Vec<String>) {
    let flavor = if r.flavor_in_default_pool() {
        "defaultMachinePlatform.type"
    } else {
        "computeFlavor"
    };
    // pkg/types/openstack/validation/platform.go (release-4.2): the cloud, the external network
    // and the flavor name existing things; the API floating IP needs the external network
    // (pkg/asset/installconfig/openstack/validation/platform.go, release-4.6).
    for f in ["cloud", "externalNetwork", flavor] {
        if text(c, &format!("platform.openstack.{f}")).is_empty() {
            p.push(format!("platform.openstack.{f}: is missing"));
        }
    }
    let mut fips = vec![];
    for f in [Some(r.api_fip_field()), r.ingress_fip_field()]
        .into_iter()
        .flatten()
    {
        let path = format!("platform.openstack.{f}");
        let fip = text(c, &path);
        if fip.is_empty() && f == r.api_fip_field() {
            p.push(format!("{path}: is missing (the API's floating IP)"));
            continue;
        }
        if fip.is_empty() {
            continue;
        }
        if fip.parse::<Ipv4Addr>().is_err() {
            p.push(format!("{path}: {fip:?} is not an IPv4 address"));
        } else if let Some(ext) = external_cidr {
            if !cidr::contains(ext, &fip) {
                p.push(format!(
                    "{path}: {fip} is outside the external subnet {ext}"
                ));
            }
        }
        fips.push((path, fip));
    }
    if r.floating_ips_differ() && fips.len() == 2 && fips[0].1 == fips[1].1 {
        // pkg/asset/installconfig/openstack/validation/platform.go, release-4.7.
        p.push(format!("{}: must differ from {}", fips[1].0, fips[0].0));
    }
}

/// What the release refuses on OpenStack of the fields it defines: credentialsMode where it is
/// not taken, a field behind a feature gate that is off, external DNS records without a
/// user-managed load balancer (each rule in releases.yaml with its source).
fn refusal_problems(c: &Value, r: Release, p: &mut Vec<String>) {
    let name = r.name();
    let mode = text(c, "credentialsMode");
    if !mode.is_empty() && r.defines(Section::TopLevel, "credentialsMode") {
        match r.credentials_modes() {
            None => p.push(format!(
                "credentialsMode: OpenShift {name} refuses it on OpenStack (\"cannot be set when using the \\\"openstack\\\" platform\"); leave it out"
            )),
            Some(modes) if !modes.contains(&mode) => p.push(format!(
                "credentialsMode: OpenShift {name} takes only {} on OpenStack, not {mode:?}; leave it out for the default",
                modes.join(" or ")
            )),
            Some(_) => {}
        }
    }
    let feature_set = text(c, "featureSet");
    let custom: Vec<&str> = c
        .get("featureGates")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for g in r.feature_gates() {
        let Some(v) = get(c, &g.field).filter(|v| !v.is_null()) else {
            continue;
        };
        if g.equals
            .as_deref()
            .is_some_and(|want| v.as_str() != Some(want))
        {
            continue;
        }
        let on = g.feature_sets.contains(&feature_set)
            || (feature_set == "CustomNoUpgrade"
                && custom.iter().any(|x| {
                    x.split_once('=')
                        .is_some_and(|(k, on)| k.trim() == g.gate && on.trim() == "true")
                }));
        if !on {
            p.push(format!(
                "{}: OpenShift {name} takes it{} only with the {} feature gate: set featureSet: {}, or CustomNoUpgrade with featureGates: [\"{}=true\"]",
                g.field,
                g.equals.as_deref().map(|e| format!(" as {e}")).unwrap_or_default(),
                g.gate,
                g.feature_sets.first().map(String::as_str).unwrap_or("TechPreviewNoUpgrade"),
                g.gate
            ));
        }
    }
    if r.dns_records_need_user_managed_lb()
        && text(c, "platform.openstack.dnsRecordsType") == "External"
        && text(c, "platform.openstack.loadBalancer.type") != "UserManaged"
    {
        p.push(format!(
            "platform.openstack.dnsRecordsType: OpenShift {name} takes External only with platform.openstack.loadBalancer.type: UserManaged (\"external DNS records can only be configured with user-managed loadbalancers\")"
        ));
    }
}

/// Whether `s` is a UUID of version 4 as the installer's ValidUUIDv4 reads it
/// (pkg/asset/installconfig/openstack/validation/machinepool.go, google/uuid's Parse: the
/// 36-character form, 32 hex digits, `{...}` or `urn:uuid:`, and version 4).
pub fn is_uuid_v4(s: &str) -> bool {
    let s = s.strip_prefix("urn:uuid:").unwrap_or(s);
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let hex: String = match s.len() {
        36 => {
            let b = s.as_bytes();
            if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                return false;
            }
            s.chars().filter(|c| *c != '-').collect()
        }
        32 => s.to_string(),
        _ => return false,
    };
    hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) && hex.as_bytes()[12] == b'4'
}

/// An id the plan stands in for (`(planned network mgmt)`): what the tenant step will make.
fn planned_id(s: &str) -> bool {
    s.starts_with("(planned ") && s.ends_with(')')
}

/// Whether `v` is set: present, not null, not an empty string, list or map.
fn is_set(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(m)) => !m.is_empty(),
        Some(_) => true,
    }
}

/// The node-level network options (each rule in releases.yaml with its source): the pools'
/// `additionalNetworkIDs` and `additionalSecurityGroupIDs` lists of IDs, UUIDs where the
/// release checks them; the pre-made machines subnet (`machinesSubnet`, `controlPlanePort`'s
/// one or two subnet filters); and the fields the release refuses together. A planned id
/// (`(planned network mgmt)`) stands for the one the tenant step makes. A field the release
/// does not define is schema_problems' to name.
fn network_option_problems(c: &Value, r: Release, p: &mut Vec<String>) {
    let name = r.name();
    let uuid = |f: &str| r.uuid_fields().iter().any(|x| x == f);
    let id_problem = |path: &str, v: &Value, p: &mut Vec<String>, check_uuid: bool| match v.as_str()
    {
        Some(s) if planned_id(s) => {}
        Some("") => p.push(format!("{path}: is empty: give an ID")),
        Some(s) if check_uuid && !is_uuid_v4(s) => p.push(format!(
            "{path}: {s:?} is not a UUID (version 4): OpenShift {name} takes the ID, not a name"
        )),
        Some(_) => {}
        None => p.push(format!("{path}: {v} must be an ID (a string)")),
    };
    let osp = c.get("platform").and_then(|v| v.get("openstack"));
    let mut pools: Vec<(String, &Value)> = vec![];
    if let Some(cp) = get(c, "controlPlane.platform.openstack") {
        pools.push(("controlPlane.platform.openstack".into(), cp));
    }
    if let Some(list) = c.get("compute").and_then(Value::as_array) {
        for (i, pool) in list.iter().enumerate() {
            if let Some(v) = get(pool, "platform.openstack") {
                pools.push((format!("compute[{i}].platform.openstack"), v));
            }
        }
    }
    if let Some(d) = osp.and_then(|v| v.get("defaultMachinePlatform")) {
        pools.push(("platform.openstack.defaultMachinePlatform".into(), d));
    }
    for (at, pool) in &pools {
        for f in ["additionalNetworkIDs", "additionalSecurityGroupIDs"] {
            let Some(v) = pool.get(f).filter(|v| !v.is_null()) else {
                continue;
            };
            if !r.defines(Section::OpenstackMachinePool, f) {
                continue;
            }
            let path = format!("{at}.{f}");
            let Some(list) = v.as_array() else {
                p.push(format!("{path}: must be a list of IDs, not {v}"));
                continue;
            };
            for (i, x) in list.iter().enumerate() {
                id_problem(&format!("{path}[{i}]"), x, p, uuid(&format!("pools.{f}")));
            }
            let mut seen = vec![];
            for x in list.iter().filter_map(Value::as_str) {
                if seen.contains(&x) {
                    p.push(format!("{path}: {x} is listed twice"));
                }
                seen.push(x);
            }
        }
    }
    let Some(osp) = osp else { return };
    if let Some(v) = osp.get("machinesSubnet").filter(|v| is_set(Some(v))) {
        if r.defines(Section::OpenstackPlatform, "machinesSubnet") {
            id_problem(
                "platform.openstack.machinesSubnet",
                v,
                p,
                uuid("platform.openstack.machinesSubnet"),
            );
        }
    }
    if let Some(cpp) = osp.get("controlPlanePort").filter(|v| !v.is_null()) {
        if r.defines(Section::OpenstackPlatform, "controlPlanePort") {
            control_plane_port_problems(cpp, |f| uuid(f), p, &id_problem);
        }
    }
    for t in r.forbidden_together() {
        let [a, b] = &t.fields;
        let (va, vb) = (get(c, a), get(c, b));
        if !is_set(va) || !is_set(vb) {
            continue;
        }
        if t.same_subnet_allowed {
            // Taken when controlPlanePort has exactly the one subnet machinesSubnet names.
            let ms = text(c, "platform.openstack.machinesSubnet");
            let fixed = get(c, "platform.openstack.controlPlanePort.fixedIPs")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if fixed.len() == 1 && text(&fixed[0], "subnet.id") == ms {
                continue;
            }
        }
        p.push(format!(
            "{a}: OpenShift {name} refuses it together with {b} (\"{}\"); leave one out",
            t.says
        ));
    }
}

/// Names the problem of an ID at a path (`id_problem` of network_option_problems).
type IdCheck<'a> = &'a dyn Fn(&str, &Value, &mut Vec<String>, bool);

/// `controlPlanePort`: one or two subnet filters, each with an id or a name, and the network's
/// id a UUID where the release checks it (validateControlPlanePort,
/// pkg/types/openstack/validation/platform.go, release-4.14).
fn control_plane_port_problems(
    cpp: &Value,
    uuid: impl Fn(&str) -> bool,
    p: &mut Vec<String>,
    id_problem: IdCheck<'_>,
) {
    let at = "platform.openstack.controlPlanePort";
    if !cpp.is_object() {
        p.push(format!("{at}: must be a map (fixedIPs, network)"));
        return;
    }
    if let Some(id) = get(cpp, "network.id").filter(|v| is_set(Some(v))) {
        id_problem(
            &format!("{at}.network.id"),
            id,
            p,
            uuid("platform.openstack.controlPlanePort.network.id"),
        );
    }
    let fixed = cpp
        .get("fixedIPs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match fixed.len() {
        0 => p.push(format!(
            "{at}.fixedIPs: is required: the installer needs a subnet filter (\"it is required to set a subnet filter to the controlPlanePort\")"
        )),
        1 | 2 => {
            for (i, f) in fixed.iter().enumerate() {
                let sat = format!("{at}.fixedIPs[{i}].subnet");
                let id = get(f, "subnet.id").filter(|v| is_set(Some(v)));
                let name = get(f, "subnet.name").filter(|v| is_set(Some(v)));
                match (id, name) {
                    (None, None) => p.push(format!(
                        "{sat}: needs its id or its name (\"either ID or Name must be set on the subnet filter\")"
                    )),
                    (Some(id), _) => id_problem(
                        &format!("{sat}.id"),
                        id,
                        p,
                        uuid("platform.openstack.controlPlanePort.fixedIPs.subnet.id"),
                    ),
                    _ => {}
                }
            }
        }
        n => p.push(format!(
            "{at}.fixedIPs: {n} subnets; the installer takes one or two (an IPv4 and an IPv6)"
        )),
    }
}

/// The pull secret and the nodes' public key.
fn secret_problems(c: &Value, p: &mut Vec<String>) {
    if text(c, "pullSecret").is_empty() {
        p.push(
            "pullSecret: is missing (secret(\"pull-secret\"): the JSON from the Red Hat console)"
                .into(),
        );
    }
    let key = text(c, "sshKey");
    if key.is_empty() {
        p.push("sshKey: is missing (the public key for the nodes' core user)".into());
    } else if !(key.starts_with("ssh-") || key.starts_with("ecdsa-") || key.starts_with("«secret"))
    {
        p.push(format!(
            "sshKey: {:?}… does not look like a public key",
            &key[..key.len().min(12)]
        ));
    }
}

/// The cluster-wide proxy, the release-image mirrors of a disconnected install and the extra CA
/// bundle, when the config has them.
fn proxy_and_mirror_problems(c: &Value, p: &mut Vec<String>) {
    if let Some(proxy) = c.get("proxy") {
        let Some(m) = proxy.as_object() else {
            p.push("proxy: must be a map (httpProxy, httpsProxy, noProxy)".into());
            return;
        };
        for (k, v) in m {
            let text = v.as_str().unwrap_or("");
            if text.starts_with("«secret") {
                // A proxy URL with a password in it is a secret: shown only by its name.
                continue;
            }
            match k.as_str() {
                "httpProxy" | "httpsProxy" => {
                    let rest = text
                        .strip_prefix("http://")
                        .or_else(|| text.strip_prefix("https://"));
                    let host = rest
                        .map(|r| r.rsplit('@').next().unwrap_or(r))
                        .map(|r| r.split(['/', ':']).next().unwrap_or(""));
                    if host.is_none_or(str::is_empty) {
                        p.push(format!(
                            "proxy.{k}: {text:?} must be a URL such as http://proxy.example.com:3128"
                        ));
                    }
                }
                "noProxy" => {
                    if text
                        .split(',')
                        .any(|x| x.trim().is_empty() || x.contains(' '))
                    {
                        p.push(format!(
                            "proxy.noProxy: {text:?} must be a comma-separated list of domains, addresses or CIDRs, without spaces"
                        ));
                    }
                }
                other => p.push(format!(
                    "proxy.{other}: unknown key (httpProxy, httpsProxy, noProxy)"
                )),
            }
        }
        if !m.contains_key("httpProxy") && !m.contains_key("httpsProxy") {
            p.push("proxy: needs httpProxy or httpsProxy".into());
        }
    }
    for (field, list) in ["imageContentSources", "imageDigestSources"]
        .iter()
        .filter_map(|f| c.get(*f).map(|l| (*f, l)))
    {
        let Some(list) = list.as_array() else {
            p.push(format!("{field}: must be a list of #{{source, mirrors}}"));
            return;
        };
        for (i, e) in list.iter().enumerate() {
            let src = e.get("source").and_then(Value::as_str).unwrap_or("");
            if src.is_empty() || src.contains("://") {
                p.push(format!(
                    "{field}[{i}].source: {src:?} must be a repository such as quay.io/openshift-release-dev/ocp-release"
                ));
            }
            let mirrors: Vec<&str> = e
                .get("mirrors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if mirrors.is_empty() {
                p.push(format!(
                    "{field}[{i}].mirrors: needs at least one repository to pull {src} from"
                ));
            }
            for m in mirrors {
                if m.is_empty() || m.contains("://") {
                    p.push(format!(
                        "{field}[{i}].mirrors: {m:?} must be a repository such as registry.lab:5000/ocp/release (no scheme)"
                    ));
                }
            }
        }
    }
    if let Some(b) = c.get("additionalTrustBundle") {
        let text = b.as_str().unwrap_or("");
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            p.push(
                "additionalTrustBundle: must hold PEM certificates (-----BEGIN CERTIFICATE-----)"
                    .into(),
            );
        }
    }
}

/// The flavor `v` (`ram`/`ram_mib`, `vcpus`, `disk`/`disk_gb`) against `r`'s minimums for
/// `role`; errors and warnings name `key`'s fields.
pub fn flavor_problems(
    r: Release,
    role: release::Role,
    v: &serde_json::Value,
    key: &str,
) -> (Vec<String>, Vec<String>) {
    let (mut errors, mut warnings) = (vec![], vec![]);
    let Some(m) = r.flavor_minimums(role) else {
        return (errors, warnings);
    };
    let num = |a: &str, b: &str| {
        v.get(a)
            .or_else(|| v.get(b))
            .and_then(|x| x.as_i64())
            .unwrap_or(0)
    };
    let (ram, vcpus, disk) = (
        num("ram_mib", "ram"),
        num("vcpus", "vcpus"),
        num("disk_gb", "disk"),
    );
    let who = match role {
        release::Role::ControlPlane => "the control plane",
        release::Role::Compute => "compute nodes",
    };
    let name = r.name();
    if vcpus < m.vcpus {
        errors.push(format!(
            "{key}.vcpus: {vcpus} is below the {} vCPUs OpenShift {name} needs for {who}",
            m.vcpus
        ));
    }
    if ram < m.ram_mib {
        errors.push(format!(
            "{key}.ram_mib: {ram} MiB is below the {} MiB OpenShift {name} needs for {who}",
            m.ram_mib
        ));
    }
    if disk < m.disk_gb {
        errors.push(format!(
            "{key}.disk_gb: {disk} GB is below the {} GB OpenShift {name} needs for {who}",
            m.disk_gb
        ));
    } else if let Some(w) = m.disk_warn_below_gb.filter(|w| disk < *w) {
        warnings.push(format!(
            "{key}.disk_gb: {disk} GB is below the {w} GB OpenShift {name} recommends for {who} (the installer warns)"
        ));
    }
    (errors, warnings)
}

/// What a profile's `ocp` and `tenant` values ask of `r` that it refuses: `(errors, warnings)`,
/// each naming the profile key.
pub fn release_problems(r: Release, v: &serde_json::Value) -> (Vec<String>, Vec<String>) {
    let (mut errors, mut warnings) = (vec![], vec![]);
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let name = r.name();
    let nt = s("network_type");
    if r.refused_network_types().contains(&nt.as_str()) {
        errors.push(format!(
            "ocp.network_type: OpenShift {name} refuses {nt} (from 4.15; pkg/types/validation/installconfig.go): use OVNKubernetes"
        ));
    }
    if let Some(m) = v.get("masters").and_then(|x| x.as_i64()) {
        if !r.masters_allowed(m) {
            errors.push(format!(
                "ocp.masters: OpenShift {name} installs a control plane of {} on OpenStack, not {m}",
                r.masters_words()
            ));
        }
    }
    if let Some(w) = v.get("workers").and_then(|x| x.as_i64()) {
        if w < 0 {
            errors.push(format!("ocp.workers: {w} must be 0 or more"));
        }
    }
    if let Some(max) = r.max_cluster_name() {
        let c = s("cluster");
        if c.len() > max {
            errors.push(format!(
                "ocp.cluster: {} is longer than the {max} characters OpenShift {name} takes on OpenStack",
                crate::util::shown(&c)
            ));
        }
    }
    if !r.cluster_os_image_field() {
        let img = s("image_name");
        if !img.is_empty() && img != "rhcos" {
            // pkg/asset/rhcos/image.go, release-4.2: the image is the one named rhcos.
            errors.push(format!(
                "tenant.image.name: OpenShift {name} boots the image named rhcos, not {} (clusterOSImage comes in 4.3)",
                crate::util::shown(&img)
            ));
        }
    }
    // ocp.octavia is not refused here: it deploys Octavia in the overcloud on every release, and
    // the installer detects it (release 4.6 on: octaviaSupport is not written). trunkSupport has
    // nothing of the lab's behind it.
    if !r.legacy_platform_fields() && v.get("trunk").and_then(|x| x.as_bool()) == Some(true) {
        errors.push(format!(
            "ocp.trunk: has no meaning on OpenShift {name}: the installer ignores trunkSupport from 4.6 and detects it; it is taken by 4.2 to 4.5 (set it to false)"
        ));
    }
    if let Some(f) = v.get("flavor") {
        // One flavor for every node: the control plane's minimums apply.
        let (e, w) = flavor_problems(r, release::Role::ControlPlane, f, "tenant.flavor");
        errors.extend(e);
        warnings.extend(w);
    }
    (errors, warnings)
}

/// What a profile's node-level network options ask of `r`, each naming the profile key: `v` is
/// `#{machines_network, pools: #{control_plane, compute: #{networks, security_groups}},
/// networks (tenant.networks), security_groups (tenant.security_groups), vlan_ranges
/// ([#{physical_network, min, max}], overcloud.provider_vlan_ranges), overcloud_vlans (name ->
/// VLAN of the overcloud's own networks on the bond), machine_cidr, vips: #{api, ingress}}`.
/// The release's fields and rules (releases.yaml), a provider network's requirements as the
/// machines' network, and each network's addresses and VLAN against the overcloud's ranges.
pub fn network_option_profile_problems(r: Release, v: &Value) -> Vec<String> {
    let mut e = vec![];
    let empty = serde_json::Map::new();
    let nets = v
        .get("networks")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let groups = v
        .get("security_groups")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    pool_option_problems(r, v, nets, groups, &mut e);
    // Each network: its addresses, its VLAN on the overcloud's provider ranges.
    let ranges: Vec<(String, i64, i64)> = v
        .get("vlan_ranges")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        text_of(x.get("physical_network")),
                        x.get("min").and_then(Value::as_i64).unwrap_or(0),
                        x.get("max").and_then(Value::as_i64).unwrap_or(-1),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ovlans: Vec<(String, i64)> = v
        .get("overcloud_vlans")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, x)| x.as_i64().map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default();
    for (k, n) in nets {
        tenant_network_problems(k, n, &ranges, &ovlans, &mut e);
    }
    // The VIPs: fields of the release.
    if r.vip_fields().is_none() {
        for k in ["api", "ingress"] {
            if !text_of(get(v, &format!("vips.{k}"))).is_empty() {
                e.push(format!(
                    "ocp.vips.{k}: OpenShift {} takes no VIP address (apiVIP comes in 4.5); leave it ()",
                    r.name()
                ));
            }
        }
    }
    machines_network_problems(r, v, nets, &mut e);
    e
}

/// A value's text ("" for none or a value that is not a string).
fn text_of(x: Option<&Value>) -> String {
    x.and_then(Value::as_str).unwrap_or("").to_string()
}

/// The keys of a map, for a message.
fn key_names(m: &serde_json::Map<String, Value>) -> String {
    m.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The pools' additional networks and security groups: fields of the release, each one of the
/// tenant's (`nets`, `groups`).
fn pool_option_problems(
    r: Release,
    v: &Value,
    nets: &serde_json::Map<String, Value>,
    groups: &serde_json::Map<String, Value>,
    e: &mut Vec<String>,
) {
    for pool in ["control_plane", "compute"] {
        for (key, field, known) in [
            ("networks", "additionalNetworkIDs", nets),
            ("security_groups", "additionalSecurityGroupIDs", groups),
        ] {
            let at = format!("ocp.pools.{pool}.{key}");
            let list: Vec<String> = get(v, &format!("pools.{pool}.{key}"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            x.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            if list.is_empty() {
                continue;
            }
            if let Some(why) = r.field_problem(Section::OpenstackMachinePool, field) {
                e.push(format!("{at}: {why} ({field})"));
                continue;
            }
            for n in &list {
                if !known.contains_key(n) {
                    let what = if key == "networks" {
                        "tenant.networks"
                    } else {
                        "tenant.security_groups"
                    };
                    e.push(format!(
                        "{at}: {n:?} is not one of {what} ({}); define it there so the tenant step makes it",
                        key_names(known)
                    ));
                }
            }
        }
    }
}

/// The tenant network `k` (`n`): its addresses inside its CIDR, its VLAN in one of the
/// overcloud's provider `ranges` and none of the overcloud's own networks' (`ovlans`).
fn tenant_network_problems(
    k: &str,
    n: &Value,
    ranges: &[(String, i64, i64)],
    ovlans: &[(String, i64)],
    e: &mut Vec<String>,
) {
    let at = format!("tenant.networks.{k}");
    let cidr = text_of(n.get("cidr"));
    if parse_cidr(&cidr).is_none() {
        e.push(format!(
            "{at}.cidr: {cidr:?} is not a CIDR such as 192.168.100.0/24"
        ));
        return;
    }
    for f in ["gateway", "metadata_route"] {
        let a = text_of(n.get(f));
        let inside = a.parse::<Ipv4Addr>().is_ok() && cidr::contains(&cidr, &a);
        if !a.is_empty() && !inside {
            e.push(format!("{at}.{f}: {a:?} is not an address of {cidr}"));
        }
    }
    let pool: Vec<String> = n
        .get("pool")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| text_of(Some(x))).collect())
        .unwrap_or_default();
    if !pool.is_empty() && pool.len() != 2 {
        e.push(format!(
            "{at}.pool: must be [first, last] addresses, not {} of them",
            pool.len()
        ));
    }
    for a in &pool {
        if !(a.parse::<Ipv4Addr>().is_ok() && cidr::contains(&cidr, a)) {
            e.push(format!("{at}.pool: {a:?} is not an address of {cidr}"));
        }
    }
    let Some(vlan) = n.get("vlan").filter(|x| !x.is_null()) else {
        return;
    };
    let Some(vlan) = vlan.as_i64() else {
        e.push(format!("{at}.vlan: {vlan} must be a VLAN ID (an integer)"));
        return;
    };
    let phys = {
        let p = text_of(n.get("physical_network"));
        if p.is_empty() {
            "datacentre".to_string()
        } else {
            p
        }
    };
    let mine: Vec<&(String, i64, i64)> = ranges.iter().filter(|r| r.0 == phys).collect();
    if !mine.iter().any(|r| r.1 <= vlan && vlan <= r.2) {
        let shown: Vec<String> = ranges
            .iter()
            .map(|r| format!("{}:{}:{}", r.0, r.1, r.2))
            .collect();
        e.push(format!(
            "{at}.vlan: VLAN {vlan} on {phys} is outside the overcloud's provider VLAN ranges ({}): add a range that holds it to overcloud.provider_vlan_ranges",
            if shown.is_empty() { "none: overcloud.provider_vlan_ranges is empty".to_string() } else { shown.join(", ") }
        ));
    }
    for (on, ov) in ovlans {
        if *ov == vlan {
            e.push(format!(
                "{at}.vlan: VLAN {vlan} is the overcloud's {on} network's (overcloud.networks.{on}.vlan) on the same bond; choose another"
            ));
        }
    }
}

/// The machines' own network, made before the install: a field of the release, one of the
/// tenant's networks (`nets`) whose CIDR is the machine CIDR, a provider network only as the
/// release documents it, the VIPs inside it and outside its allocation pool where the release
/// says so.
fn machines_network_problems(
    r: Release,
    v: &Value,
    nets: &serde_json::Map<String, Value>,
    e: &mut Vec<String>,
) {
    let name = r.name();
    let machines = text_of(v.get("machines_network"));
    if machines.is_empty() {
        return;
    }
    let at = "ocp.machines_network";
    let Some(field) = r.premade_machines_subnet() else {
        e.push(format!(
            "{at}: OpenShift {name} always makes the machines' network itself: a pre-made machines subnet (machinesSubnet) comes in 4.5; leave it ()"
        ));
        return;
    };
    let Some(n) = nets.get(&machines) else {
        e.push(format!(
            "{at}: {machines:?} is not one of tenant.networks ({})",
            key_names(nets)
        ));
        return;
    };
    let cidr = text_of(n.get("cidr"));
    let mcidr = text_of(v.get("machine_cidr"));
    if cidr != mcidr {
        e.push(format!(
            "ocp.machine_cidr: {mcidr} must be the CIDR of the machines' subnet tenant.networks.{machines}.cidr ({cidr}): OpenShift {name} refuses a machineNetwork that is not the {field} subnet's"
        ));
    }
    let vip = |k: &str| text_of(get(v, &format!("vips.{k}")));
    let provider = n.get("vlan").is_some_and(|x| !x.is_null());
    if provider {
        match r.provider_machines_network() {
            None => e.push(format!(
                "{at}: tenant.networks.{machines} is a provider network (it has a VLAN): OpenShift {name} does not document the machines on a provider network (from 4.8)"
            )),
            Some(needs) => {
                if needs.shared && n.get("shared").and_then(Value::as_bool) != Some(true) {
                    e.push(format!(
                        "tenant.networks.{machines}.shared: a provider network of the machines must be shared, or Nova cannot make its ports (OpenShift's docs/user/openstack/provider_networks.md); set shared: true"
                    ));
                }
                if needs.metadata_route && text_of(n.get("metadata_route")).is_empty() {
                    e.push(format!(
                        "tenant.networks.{machines}.metadata_route: a provider network of the machines needs a route to the metadata address 169.254.169.254 (docs/user/openstack/provider_networks.md); give the next hop that reaches it"
                    ));
                }
                if needs.vips {
                    for k in ["api", "ingress"] {
                        if vip(k).is_empty() {
                            e.push(format!(
                                "ocp.vips.{k}: a provider network of the machines needs the {k} VIP given, an unassigned address of {cidr} (docs/user/openstack/provider_networks.md)"
                            ));
                        }
                    }
                }
            }
        }
    }
    for k in ["api", "ingress"] {
        let a = vip(k);
        if a.is_empty() {
            continue;
        }
        if r.vip_fields().is_none() {
            continue;
        }
        if !(a.parse::<Ipv4Addr>().is_ok() && cidr::contains(&cidr, &a)) {
            e.push(format!(
                "ocp.vips.{k}: {a:?} is not an address of the machines' subnet {cidr}"
            ));
            continue;
        }
        let pool: Vec<String> = n
            .get("pool")
            .and_then(Value::as_array)
            .map(|x| x.iter().map(|y| text_of(Some(y))).collect())
            .unwrap_or_default();
        if r.vips_outside_pool() && pool.len() == 2 && in_range(&a, &pool[0], &pool[1]) {
            e.push(format!(
                "ocp.vips.{k}: {a} is inside the allocation pool of tenant.networks.{machines} ({} to {}): OpenShift {name} refuses it (\"apiVIP can not fall in a MachineNetwork allocation pool\")",
                pool[0], pool[1]
            ));
        }
    }
}

/// Whether IPv4 `a` is between `lo` and `hi`, inclusive.
fn in_range(a: &str, lo: &str, hi: &str) -> bool {
    match (
        a.parse::<Ipv4Addr>(),
        lo.parse::<Ipv4Addr>(),
        hi.parse::<Ipv4Addr>(),
    ) {
        (Ok(a), Ok(l), Ok(h)) => l <= a && a <= h,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's install-config.yaml, as the article prints it.
    const SEED: &str = "apiVersion: v1\nclusterID: ocp4\nbaseDomain: osd2019.local\ncompute:\n- hyperthreading: Enabled\n  name: worker\n  platform: {}\n  replicas: 2\n  type: worker\ncontrolPlane:\n  hyperthreading: Enabled\n  name: master\n  platform: {}\n  replicas: 3\n  type: master\nmetadata:\n  name: ocp4\nnetworking:\n  clusterNetwork:\n  - cidr: 10.128.0.0/14\n    hostPrefix: 23\n  machineCIDR: 10.0.0.0/16\n  networkType: OpenShiftSDN\n  serviceNetwork:\n  - 172.60.0.0/16\nplatform:\n  openstack:\n    cloud: openstack\n    computeFlavor: master\n    externalNetwork: external\n    lbFloatingIP: 192.168.122.164\n    octaviaSupport: false\n    region: regionOne\n    trunkSupport: false\npullSecret: 'mypull secret'\nsshKey: ssh-rsa blablabla stack@undercloud.redhat.local\n";

    /// Every one of `wants` is in `all`.
    fn assert_all_in(all: &str, wants: &[&str]) {
        for want in wants {
            assert!(all.contains(want), "{want} not in:\n{all}");
        }
    }

    fn seed() -> Value {
        crate::util::yaml::parse_yaml(SEED).unwrap()
    }

    fn r42() -> release::Release {
        release::Release::parse("4.2.4").unwrap()
    }

    #[test]
    fn the_seeds_file_on_later_releases_names_what_they_refuse() {
        let lab = vec![];
        let at = |v: &str| {
            check_install_config(&seed(), release::Release::parse(v).unwrap(), &lab, None)
                .join("\n")
        };
        let p = at("4.18");
        assert_all_in(
            &p,
            &[
                "networking.networkType: OpenShift 4.18 refuses OpenShiftSDN",
                "clusterID: no release defines it (OpenShift 4.18 warns about unknown fields",
                "compute[0].type: no release defines it",
                "platform.openstack.computeFlavor: deprecated in OpenShift 4.18; write defaultMachinePlatform.type instead",
                "platform.openstack.lbFloatingIP: deprecated in OpenShift 4.18; write apiFloatingIP instead",
                "networking.machineCIDR: deprecated in OpenShift 4.18; write machineNetwork instead",
                "platform.openstack.defaultMachinePlatform.type: is missing",
                "platform.openstack.apiFloatingIP: is missing",
            ],
        );
        let p = at("4.10");
        assert!(
            p.contains("clusterID: no release defines it (OpenShift 4.10 refuses unknown fields"),
            "{p}"
        );
        assert!(
            !at("4.9").contains("clusterID"),
            "4.9 ignores unknown fields"
        );
    }

    #[test]
    fn the_seed_passes_and_mistakes_name_their_fields() {
        let lab = vec![
            ("provisioning".to_string(), "172.16.0.0/24".to_string()),
            ("default".to_string(), "192.168.122.0/24".to_string()),
        ];
        assert_eq!(
            check_install_config(&seed(), r42(), &lab, Some("192.168.122.0/24")),
            Vec::<String>::new()
        );
        let mut bad = seed();
        bad["networking"]["serviceNetwork"][0] = "10.0.128.0/17".into();
        bad["platform"]["openstack"]["lbFloatingIP"] = "192.168.123.5".into();
        bad["metadata"]["name"] = "OCP_4".into();
        bad["networking"]["clusterNetwork"][0]["hostPrefix"] = 12.into();
        bad["pullSecret"] = "".into();
        let p = check_install_config(&bad, r42(), &lab, Some("192.168.122.0/24"));
        let all = p.join("\n");
        assert_all_in(
            &all,
            &[
                "networking.machineCIDR (10.0.0.0/16) overlaps networking.serviceNetwork[0] (10.0.128.0/17)",
                "platform.openstack.lbFloatingIP: 192.168.123.5 is outside the external subnet 192.168.122.0/24",
                "metadata.name: \"OCP_4\"",
                "networking.clusterNetwork[0].hostPrefix",
                "pullSecret: is missing",
            ],
        );
        let mut disconnected = seed();
        disconnected["proxy"] = serde_json::json!({
            "httpProxy": "http://proxy.lab:3128", "httpsProxy": "http://user:pw@proxy.lab:3128",
            "noProxy": "10.0.0.0/16,.osd2019.local,192.168.122.151"});
        disconnected["imageContentSources"] = serde_json::json!([{
            "source": "quay.io/openshift-release-dev/ocp-release",
            "mirrors": ["registry.lab:5000/ocp4/openshift4"]}]);
        disconnected["additionalTrustBundle"] =
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into();
        assert_eq!(
            check_install_config(&disconnected, r42(), &lab, None),
            Vec::<String>::new()
        );
        disconnected["proxy"] =
            serde_json::json!({"httpProxy": "proxy.lab:3128", "noProxy": "a, b", "ftp": "x"});
        disconnected["imageContentSources"] =
            serde_json::json!([{"source": "https://quay.io/x", "mirrors": []}]);
        disconnected["additionalTrustBundle"] = "/etc/pki/ca.pem".into();
        let all = check_install_config(&disconnected, r42(), &lab, None).join("\n");
        assert_all_in(
            &all,
            &[
                "proxy.httpProxy: \"proxy.lab:3128\" must be a URL",
                "proxy.noProxy: \"a, b\"",
                "proxy.ftp: unknown key",
                "imageContentSources[0].source: \"https://quay.io/x\"",
                "imageContentSources[0].mirrors: needs at least one",
                "additionalTrustBundle: must hold PEM certificates",
            ],
        );
        let mut lab_clash = seed();
        lab_clash["networking"]["machineCIDR"] = "172.16.0.0/16".into();
        let p = check_install_config(&lab_clash, r42(), &lab, None).join("\n");
        assert!(
            p.contains("overlaps the lab's network provisioning (172.16.0.0/24)"),
            "{p}"
        );
    }

    /// A config for release `v` as the lab writes it, with the node-level network options:
    /// workers on an additional network and security group, the machines on a pre-made subnet.
    fn with_options(v: &str) -> Value {
        let r = release::Release::parse(v).unwrap();
        let mut c = serde_json::json!({
            "apiVersion": "v1", "baseDomain": "osd2019.local", "metadata": {"name": "ocp4"},
            "controlPlane": {"name": "master", "replicas": 3, "platform": {"openstack": {}}},
            "compute": [{"name": "worker", "replicas": 2, "platform": {"openstack": {
                "additionalNetworkIDs": [MGMT], "additionalSecurityGroupIDs": [SG]}}}],
            "networking": {"clusterNetwork": [{"cidr": "10.128.0.0/14", "hostPrefix": 23}],
                           "serviceNetwork": ["172.30.0.0/16"], "networkType": "OVNKubernetes"},
            "platform": {"openstack": {"cloud": "openstack", "externalNetwork": "external"}},
            "pullSecret": "{}", "sshKey": "ssh-ed25519 AAAA lab"});
        let osp = &mut c["platform"]["openstack"];
        osp[r.api_fip_field()] = "192.168.122.164".into();
        if let Some(f) = r.ingress_fip_field() {
            osp[f] = "192.168.122.180".into();
        }
        if r.flavor_in_default_pool() {
            osp["defaultMachinePlatform"] = serde_json::json!({"type": "master"});
        } else {
            osp["computeFlavor"] = "master".into();
        }
        match r.premade_machines_subnet() {
            Some("controlPlanePort") => {
                osp["controlPlanePort"] =
                    serde_json::json!({"fixedIPs": [{"subnet": {"id": SUBNET}}]})
            }
            Some(f) => osp[f] = SUBNET.into(),
            None => {}
        }
        if r.machine_network_field() == "machineCIDR" {
            c["networking"]["machineCIDR"] = "10.0.0.0/16".into();
        } else {
            c["networking"]["machineNetwork"] = serde_json::json!([{"cidr": "10.0.0.0/16"}]);
        }
        c
    }

    const MGMT: &str = "5b0b8a3c-1f0e-4a4f-9d53-5d1f3c2b7e11";
    const SG: &str = "0d6ae8e1-7a57-4c2b-8f0e-9a1c4e6f2b33";
    const SUBNET: &str = "c664df47-4f7e-4852-819e-e66f9882b7b3";

    // The network options by release: each release from 4.5 takes them as the lab writes them;
    // 4.2 to 4.4 name the fields they do not have, and every release names the hostile rows of
    // its own rules, one test a case.

    /// The problems of `c` as OpenShift `v` checks them, one a line.
    fn net_check(c: &Value, v: &str) -> String {
        check_install_config(c, release::Release::parse(v).unwrap(), &[], None).join("\n")
    }

    /// Every release with the additional networks and security groups (4.5 on): the release,
    /// its name and an install-config that uses its network options.
    fn option_releases() -> Vec<(release::Release, String, Value)> {
        let out: Vec<_> = release::all()
            .into_iter()
            .filter(|r| r.version.minor >= 5)
            .map(|r| {
                let v = r.name();
                let c = with_options(&v);
                (r, v, c)
            })
            .collect();
        assert!(!out.is_empty());
        out
    }

    #[test]
    fn before_4_5_the_additional_ids_are_fields_the_release_has_not() {
        let old: Vec<_> = release::all()
            .into_iter()
            .filter(|r| r.version.minor < 5)
            .collect();
        assert!(!old.is_empty());
        for r in old {
            let v = r.name();
            assert_all_in(
                &net_check(&with_options(&v), &v),
                &[
                    &format!("compute[0].platform.openstack.additionalNetworkIDs: OpenShift {v} has no such field: it comes in 4.5"),
                    "additionalSecurityGroupIDs: OpenShift",
                ],
            );
        }
    }

    #[test]
    fn from_4_5_the_network_options_pass() {
        for (_, v, c) in option_releases() {
            assert_eq!(net_check(&c, &v), "", "{v}");
        }
    }

    #[test]
    fn a_name_where_a_network_id_goes_is_refused_from_4_6_and_a_planned_id_passes() {
        for (r, v, c) in option_releases() {
            let mut named = c.clone();
            named["compute"][0]["platform"]["openstack"]["additionalNetworkIDs"] =
                serde_json::json!(["mgmt"]);
            let p = net_check(&named, &v);
            if r.version.minor >= 6 {
                assert!(
                    p.contains("additionalNetworkIDs[0]: \"mgmt\" is not a UUID (version 4)"),
                    "{v}: {p}"
                );
            } else {
                // 4.5 passes it to the machines.
                assert_eq!(p, "", "{v}");
            }
            // A planned id stands for the tenant step's.
            named["compute"][0]["platform"]["openstack"]["additionalNetworkIDs"] =
                serde_json::json!(["(planned network mgmt)"]);
            assert_eq!(net_check(&named, &v), "", "{v}");
        }
    }

    #[test]
    fn additional_ids_not_a_list_or_listed_twice_are_refused() {
        for (_, v, c) in option_releases() {
            let mut bad = c.clone();
            bad["controlPlane"]["platform"]["openstack"]["additionalSecurityGroupIDs"] = SG.into();
            bad["compute"][0]["platform"]["openstack"]["additionalNetworkIDs"] =
                serde_json::json!([MGMT, MGMT]);
            assert_all_in(
                &net_check(&bad, &v),
                &[
                    "controlPlane.platform.openstack.additionalSecurityGroupIDs: must be a list of IDs",
                    &format!("compute[0].platform.openstack.additionalNetworkIDs: {MGMT} is listed twice"),
                ],
            );
        }
    }

    #[test]
    fn external_dns_with_a_premade_subnet_is_refused_together() {
        for (r, v, c) in option_releases() {
            let mut dns = c.clone();
            dns["platform"]["openstack"]["externalDNS"] = serde_json::json!(["192.168.122.1"]);
            let field = r.premade_machines_subnet().unwrap();
            let p = net_check(&dns, &v);
            assert!(
                p.contains(&format!(
                    "platform.openstack.{field}: OpenShift {v} refuses it together with platform.openstack.externalDNS"
                )),
                "{v}: {p}"
            );
        }
    }

    #[test]
    fn machines_subnet_must_be_a_uuid() {
        for (_, v, c) in option_releases() {
            let mut ms = c.clone();
            ms["platform"]["openstack"]["machinesSubnet"] = "machines".into();
            let p = net_check(&ms, &v);
            assert!(
                p.contains("platform.openstack.machinesSubnet: \"machines\" is not a UUID"),
                "{v}: {p}"
            );
        }
    }

    /// The releases whose pre-made subnet is given as `controlPlanePort` (4.14 on), with their
    /// names and install-configs; the others' names.
    fn control_plane_port_releases() -> (Vec<(String, Value)>, Vec<String>) {
        let (with, without): (Vec<_>, Vec<_>) = option_releases()
            .into_iter()
            .partition(|(r, _, _)| r.premade_machines_subnet() == Some("controlPlanePort"));
        assert!(!with.is_empty() && !without.is_empty());
        (
            with.into_iter().map(|(_, v, c)| (v, c)).collect(),
            without.into_iter().map(|(_, v, _)| v).collect(),
        )
    }

    #[test]
    fn machines_subnet_beside_control_plane_port_is_taken_for_the_same_subnet_only() {
        for (v, c) in control_plane_port_releases().0 {
            let mut both = c.clone();
            both["platform"]["openstack"]["machinesSubnet"] = SUBNET.into();
            assert!(!net_check(&both, &v).contains("refuses it together"), "{v}");
            both["platform"]["openstack"]["machinesSubnet"] =
                "9f8b1f44-2e5c-4c47-a3f5-0c1e2d3b4a55".into();
            let p = net_check(&both, &v);
            assert!(
                p.contains("platform.openstack.machinesSubnet: OpenShift")
                    && p.contains("together with platform.openstack.controlPlanePort (\"machinesSubnet is deprecated; only controlPlanePort needs to be specified\")"),
                "{v}: {p}"
            );
        }
    }

    #[test]
    fn control_plane_ports_subnet_filters_are_checked() {
        for (v, c) in control_plane_port_releases().0 {
            // Without a subnet filter, with three, with a filter of nothing, with a bad id.
            for (fixed, want) in [
                (
                    serde_json::json!([]),
                    "controlPlanePort.fixedIPs: is required",
                ),
                (
                    serde_json::json!([{"subnet": {"id": SUBNET}}, {"subnet": {"name": "a"}}, {"subnet": {"name": "b"}}]),
                    "3 subnets; the installer takes one or two",
                ),
                (
                    serde_json::json!([{"subnet": {}}]),
                    "fixedIPs[0].subnet: needs its id or its name",
                ),
                (
                    serde_json::json!([{"subnet": {"id": "not-a-uuid"}}]),
                    "fixedIPs[0].subnet.id: \"not-a-uuid\" is not a UUID",
                ),
            ] {
                let mut cpp = c.clone();
                cpp["platform"]["openstack"]["controlPlanePort"]["fixedIPs"] = fixed;
                let p = net_check(&cpp, &v);
                assert!(p.contains(want), "{v}: {want}: {p}");
            }
        }
    }

    #[test]
    fn control_plane_port_before_4_14_is_a_field_the_release_has_not() {
        for v in control_plane_port_releases().1 {
            let mut cpp = with_options(&v);
            cpp["platform"]["openstack"]["controlPlanePort"] =
                serde_json::json!({"fixedIPs": [{"subnet": {"id": SUBNET}}]});
            let p = net_check(&cpp, &v);
            assert!(
                p.contains(&format!(
                    "platform.openstack.controlPlanePort: OpenShift {v} has no such field: it comes in 4.14"
                )),
                "{v}: {p}"
            );
        }
    }

    #[test]
    fn uuids_are_read_as_the_installer_reads_them() {
        for ok in [
            SUBNET,
            "C664DF47-4F7E-4852-819E-E66F9882B7B3",
            "c664df474f7e4852819ee66f9882b7b3",
            "{c664df47-4f7e-4852-819e-e66f9882b7b3}",
            "urn:uuid:c664df47-4f7e-4852-819e-e66f9882b7b3",
        ] {
            assert!(is_uuid_v4(ok), "{ok}");
        }
        for bad in [
            "",
            "mgmt",
            "c664df47-4f7e-1852-819e-e66f9882b7b3",
            "c664df47-4f7e-4852-819e-e66f9882b7b",
            "c664df47x4f7e-4852-819e-e66f9882b7b3",
            "g664df47-4f7e-4852-819e-e66f9882b7b3",
        ] {
            assert!(!is_uuid_v4(bad), "{bad}");
        }
    }

    /// The profile's options: references, the release's fields, a provider network's needs,
    /// VLANs against the overcloud's ranges, VIPs against the pool.
    #[test]
    fn the_profiles_network_options_name_their_keys() {
        let base = serde_json::json!({
            "machines_network": "machines", "machine_cidr": "10.0.0.0/16",
            "vips": {"api": null, "ingress": null},
            "pools": {"control_plane": {"networks": [], "security_groups": []},
                      "compute": {"networks": ["mgmt"], "security_groups": ["mgmt-ssh"]}},
            "networks": {
                "machines": {"cidr": "10.0.0.0/16", "pool": ["10.0.0.10", "10.0.255.254"], "gateway": "10.0.0.1"},
                "mgmt": {"cidr": "192.168.100.0/24", "vlan": 100, "physical_network": "datacentre",
                         "shared": true, "metadata_route": "192.168.100.1", "pool": ["192.168.100.10", "192.168.100.99"]}},
            "security_groups": {"mgmt-ssh": {}},
            "vlan_ranges": [{"physical_network": "datacentre", "min": 100, "max": 109}],
            "overcloud_vlans": {"internal_api": 20, "tenant": 50}});
        let at = |v: &Value, r: &str| {
            network_option_profile_problems(release::Release::parse(r).unwrap(), v).join("\n")
        };
        for r in ["4.14", "4.18", "4.22"] {
            assert_eq!(at(&base, r), "", "{r}");
        }
        assert_all_in(
            &at(&base, "4.2"),
            &[
                "ocp.pools.compute.networks: OpenShift 4.2 has no such field: it comes in 4.5 (additionalNetworkIDs)",
                "ocp.pools.compute.security_groups: OpenShift 4.2 has no such field: it comes in 4.5",
                "ocp.machines_network: OpenShift 4.2 always makes the machines' network itself",
            ],
        );
        let mut bad = base.clone();
        bad["pools"]["compute"]["networks"] = serde_json::json!(["mgmnt"]);
        bad["networks"]["mgmt"]["vlan"] = 20.into();
        bad["machine_cidr"] = "10.1.0.0/16".into();
        assert_all_in(
            &at(&bad, "4.22"),
            &[
                "ocp.pools.compute.networks: \"mgmnt\" is not one of tenant.networks (machines, mgmt)",
                "tenant.networks.mgmt.vlan: VLAN 20 on datacentre is outside the overcloud's provider VLAN ranges (datacentre:100:109)",
                "tenant.networks.mgmt.vlan: VLAN 20 is the overcloud's internal_api network's",
                "ocp.machine_cidr: 10.1.0.0/16 must be the CIDR of the machines' subnet tenant.networks.machines.cidr (10.0.0.0/16)",
            ],
        );
        // The machines on a provider network: shared, a metadata route and the VIPs.
        let mut prov = base.clone();
        prov["machines_network"] = "mgmt".into();
        prov["machine_cidr"] = "192.168.100.0/24".into();
        prov["networks"]["mgmt"]["shared"] = false.into();
        prov["networks"]["mgmt"]["metadata_route"] = Value::Null;
        assert_all_in(
            &at(&prov, "4.22"),
            &[
                "tenant.networks.mgmt.shared: a provider network of the machines must be shared",
                "tenant.networks.mgmt.metadata_route: a provider network of the machines needs a route to the metadata address 169.254.169.254",
                "ocp.vips.api: a provider network of the machines needs the api VIP given",
                "ocp.vips.ingress: a provider network of the machines needs the ingress VIP given",
            ],
        );
        assert!(
            at(&prov, "4.7")
                .contains("does not document the machines on a provider network (from 4.8)"),
            "{}",
            at(&prov, "4.7")
        );
        prov["networks"]["mgmt"]["shared"] = true.into();
        prov["networks"]["mgmt"]["metadata_route"] = "192.168.100.1".into();
        prov["vips"] = serde_json::json!({"api": "192.168.100.5", "ingress": "192.168.100.50"});
        let p = at(&prov, "4.22");
        assert!(
            p.contains("ocp.vips.ingress: 192.168.100.50 is inside the allocation pool of tenant.networks.mgmt")
                && !p.contains("ocp.vips.api"),
            "{p}"
        );
        // 4.11 does not check the pool.
        assert_eq!(at(&prov, "4.11"), "");
        prov["vips"]["api"] = "10.0.0.5".into();
        assert!(at(&prov, "4.22").contains(
            "ocp.vips.api: \"10.0.0.5\" is not an address of the machines' subnet 192.168.100.0/24"
        ));
        // Addresses of a network: a gateway and a pool outside its CIDR.
        let mut addr = base.clone();
        addr["networks"]["machines"]["gateway"] = "10.1.0.1".into();
        addr["networks"]["mgmt"]["pool"] = serde_json::json!(["192.168.100.10"]);
        addr["networks"]["mgmt"]["cidr"] = "192.168.100.0/24".into();
        addr["vlan_ranges"] = serde_json::json!([]);
        assert_all_in(
            &at(&addr, "4.22"),
            &[
                "tenant.networks.machines.gateway: \"10.1.0.1\" is not an address of 10.0.0.0/16",
                "tenant.networks.mgmt.pool: must be [first, last] addresses, not 1 of them",
                "outside the overcloud's provider VLAN ranges (none: overcloud.provider_vlan_ranges is empty)",
            ],
        );
    }
}
