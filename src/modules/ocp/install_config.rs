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
            "metadata.name: {name:?} must be a DNS label (lower-case letters, digits, '-')"
        ));
    } else if let Some(max) = r.max_cluster_name().filter(|m| name.len() > *m) {
        // pkg/types/openstack/validation/platform.go, release-4.2 to release-4.9.
        p.push(format!(
            "metadata.name: {name:?} is longer than the {max} characters OpenShift {} takes on OpenStack",
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
                "ocp.cluster: {c:?} is longer than the {max} characters OpenShift {name} takes on OpenStack"
            ));
        }
    }
    if !r.cluster_os_image_field() {
        let img = s("image_name");
        if !img.is_empty() && img != "rhcos" {
            // pkg/asset/rhcos/image.go, release-4.2: the image is the one named rhcos.
            errors.push(format!(
                "tenant.image.name: OpenShift {name} boots the image named rhcos, not {img:?} (clusterOSImage comes in 4.3)"
            ));
        }
    }
    if !r.legacy_platform_fields() {
        for (k, field) in [("octavia", "octaviaSupport"), ("trunk", "trunkSupport")] {
            if v.get(k).and_then(|x| x.as_bool()) == Some(true) {
                errors.push(format!(
                    "ocp.{k}: has no meaning on OpenShift {name}: the installer ignores {field} from 4.6 and detects it; it is taken by 4.2 to 4.5 (set it to false)"
                ));
            }
        }
    }
    if let Some(f) = v.get("flavor") {
        // One flavor for every node: the control plane's minimums apply.
        let (e, w) = flavor_problems(r, release::Role::ControlPlane, f, "tenant.flavor");
        errors.extend(e);
        warnings.extend(w);
    }
    (errors, warnings)
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
}
