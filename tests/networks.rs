//! The customer's networks: each network of a profile with its way out (`forward`: nat, route,
//! open, bridge onto a host bridge, none), checked, planned on the sandbox, made by a real
//! libvirtd and read back with `virsh net-dumpxml`; preflight's word on the external network.

use crate::support::host::{run_args, RealHost};
use crate::support::{run_ok, Lab};
use std::process::Command;

/// A customer's variant: the external network moved to `ext` (10.9.0.0/24, no `forward`: NAT
/// is labsh's choice for it), and a network of each other mode beside it.
const CUSTOMER: &str = r#"
fn overrides() {
    #{
        networks: #{
            ext:    #{ address: "10.9.0.1", netmask: "255.255.255.0" },
            routed: #{ address: "10.9.1.1", netmask: "255.255.255.0", forward: "route" },
            opened: #{ address: "10.9.2.1", netmask: "255.255.255.0", forward: "open" },
            lan:    #{ address: "10.9.3.1", netmask: "255.255.255.0", forward: "bridge", bridge: "br-cust" },
            quiet:  #{ address: "10.9.4.1", netmask: "255.255.255.0", forward: "none" },
        },
        overcloud: #{
            keystone: "http://10.9.0.150:5000/v3",
            networks: #{ external: #{ cidr: "10.9.0.0/24", gateway: "10.9.0.1", pool: ["10.9.0.100", "10.9.0.149"], vip: "10.9.0.150" } },
        },
        tenant: #{ external_cidr: "10.9.0.0/24", api_fip: "10.9.0.164", ingress_fip: "10.9.0.180" },
    }
}
"#;

/// The XML of each network a `--plan --json` run would define, by name.
fn planned_networks(o: &crate::support::Out) -> Vec<(String, String)> {
    o.json_lines()
        .iter()
        .filter(|l| l["event"] == "effect" && l["op"] == "virt.network.define")
        .map(|l| {
            let target = l["target"].as_str().unwrap_or("");
            let name = target.split('@').next().unwrap_or("").to_string();
            (name, l["args"]["xml"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

#[test]
fn each_forward_mode_is_planned_as_libvirt_documents_it() {
    let lab = Lab::new();
    let v = lab.file("profiles/customer.rhai", CUSTOMER);
    let o = lab
        .run_script("lab.rhai")
        .args(["--plan", "--json", "--profile", v.to_str().unwrap()])
        .args(["--only", "preflight", "--only", "l0"])
        .run();
    o.ok();
    let nets = planned_networks(&o);
    let xml = |name: &str| {
        nets.iter()
            .find(|(n, _)| n == name)
            .map(|(_, x)| x.clone())
            .unwrap_or_else(|| panic!("{name} not planned: {nets:?}\n{}", o.stderr))
    };
    assert!(
        xml("ext").contains("<forward mode=\"nat\"/>"),
        "{}",
        xml("ext")
    );
    assert!(xml("ext").contains("<ip address=\"10.9.0.1\" netmask=\"255.255.255.0\"/>"));
    assert!(xml("routed").contains("<forward mode=\"route\"/>"));
    assert!(xml("opened").contains("<forward mode=\"open\"/>"));
    assert!(xml("lan").contains("<forward mode=\"bridge\"/><bridge name=\"br-cust\"/>"));
    assert!(!xml("lan").contains("<ip"), "{}", xml("lan"));
    assert!(!xml("quiet").contains("<forward"), "{}", xml("quiet"));
    assert!(!xml("provisioning").contains("<forward"));
    // The plan's human form says it, and preflight's row names labsh's choice.
    let o = lab
        .run_script("lab.rhai")
        .args(["--plan", "--profile", v.to_str().unwrap()])
        .args(["--only", "preflight", "--only", "l0"])
        .run();
    o.ok().stdout_has(
        "networks.ext (10.9.0.0/24) forward nat, labsh's choice for the external network",
    );
    // Each effect with its XML, as the plan shows it.
    assert!(
        o.stderr.contains("planned  virt.network.define lan@")
            && o.stderr
                .contains(r#"<forward mode=\"bridge\"/><bridge name=\"br-cust\"/></network>"#),
        "{}",
        o.stderr
    );
}

#[test]
fn an_isolated_external_network_is_named_by_preflight_with_what_will_fail() {
    let lab = Lab::new();
    let isolated = CUSTOMER.replace(
        "ext:    #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\" }",
        "ext:    #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"none\" }",
    );
    assert_ne!(isolated, CUSTOMER);
    let v = lab.file("profiles/isolated.rhai", &isolated);
    let o = lab
        .run_script("lab.rhai")
        .args([
            "--plan",
            "--profile",
            v.to_str().unwrap(),
            "--only",
            "preflight",
        ])
        .run();
    o.ok()
        .stdout_has(
            "networks.ext (10.9.0.0/24) is isolated (forward \"none\"): the lab has no way out",
        )
        .stdout_has("the director's repositories")
        .stdout_has("OpenShift's release images");
    // strict: the same is a failure that stops the run.
    let o = lab
        .run_script("lab.rhai")
        .args([
            "--plan",
            "--profile",
            v.to_str().unwrap(),
            "--only",
            "preflight",
        ])
        .args(["--set", "strict=true"])
        .run();
    o.code(1).stderr_has("external network: networks.ext");
    // A disconnected lab with its mirrors: no word of a way out.
    let disc = isolated.replace(
        "tenant: #{",
        "disconnected: true,\n        ocp: #{ mirrors: [#{ source: \"quay.io/openshift-release-dev/ocp-release\", mirrors: [\"registry.lab:5000/ocp4/openshift4\"] }], release_image: \"registry.lab:5000/ocp4/openshift4:4.2.4\" },\n        tenant: #{",
    )
    .replace(
        "keystone: \"http://10.9.0.150:5000/v3\",",
        "keystone: \"http://10.9.0.150:5000/v3\", containers: #{ namespace: \"registry.lab:5000/rhosp13\" },",
    );
    let v = lab.file("profiles/disconnected.rhai", &disc);
    let o = lab
        .run_script("lab.rhai")
        .args([
            "--plan",
            "--profile",
            v.to_str().unwrap(),
            "--only",
            "preflight",
        ])
        .args(["--set", "strict=true"])
        .run();
    o.ok()
        .stdout_has("a disconnected lab, installing from its mirrors");
}

#[test]
fn a_forward_mode_libvirt_does_not_know_is_refused_naming_file_and_key() {
    let lab = Lab::new();
    for (name, over, want) in [
        (
            "nating",
            "ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"nating\" }",
            "networks.ext.forward: \"nating\" is not a forward mode libvirt knows: nat, route, open, bridge (onto networks.ext.bridge) or none",
        ),
        (
            "nobridge",
            "ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"bridge\" }",
            "networks.ext.bridge: is required with forward \"bridge\"",
        ),
        (
            "typed",
            "ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: 1 }",
            "networks.ext.forward: must be a string, not an integer",
        ),
        (
            "badbridge",
            "ext: #{ address: \"10.9.0.1\", netmask: \"255.255.255.0\", forward: \"bridge\", bridge: \"br0; reboot\" }",
            "networks.ext.bridge: \"br0; reboot\" is not an interface name",
        ),
    ] {
        let v = lab.file(
            &format!("profiles/{name}.rhai"),
            &format!("fn overrides() {{ #{{ networks: #{{ {over} }} }} }}\n"),
        );
        let o = lab
            .run_script("lab.rhai")
            .args(["--profile", v.to_str().unwrap()])
            .run();
        o.code(1).stderr_has(want);
        assert!(o.stderr.contains(&format!("{name}.rhai")), "{}", o.stderr);
        assert!(!lab.state().join("sandbox").exists(), "{name}: nothing made");
    }
}

/// The script that makes a profile's networks on a real libvirtd (the l0 stage alone).
const L0_SCRIPT: &str = r#"
import "profile" as profile;
import "l0" as l0;
let uri = param("uri", "");
let images = param("images", "");
let variant = param("variant", "");
let p = profile::load(variant, ()).profile;
stage("l0", || l0::networks(uri, p));
"#;

#[test]
fn a_real_libvirtd_makes_each_forward_mode_and_reads_it_back() {
    let host = RealHost::start("fwdtest");
    // The customer's LAN bridge, on the host (the test's network namespace).
    let ns = format!("labsh-{}", host.name);
    for args in [
        vec!["link", "add", "br-cust", "type", "bridge"],
        vec!["link", "set", "br-cust", "up"],
    ] {
        run_ok(
            Command::new("ip")
                .args(["netns", "exec", &ns, "ip"])
                .args(&args),
            format!("ip {args:?}"),
        );
    }
    let lab = Lab::new();
    let v = lab.file("profiles/customer.rhai", CUSTOMER);
    let script = lab.file("l0.rhai", L0_SCRIPT);
    let variant = format!("variant={}", v.display());
    lab.run(run_args(&host, &script, &["--set", &variant])).ok();
    let dump = |n: &str| host.virsh(&["net-dumpxml", n]);
    let mode = |n: &str| {
        let x = dump(n);
        let doc = roxmltree::Document::parse(&x).unwrap();
        let f = doc
            .root_element()
            .children()
            .find(|c| c.has_tag_name("forward"))
            .map(|f| f.attribute("mode").unwrap_or("nat").to_string());
        (f, x)
    };
    for (n, want) in [
        ("ext", Some("nat")),
        ("routed", Some("route")),
        ("opened", Some("open")),
        ("lan", Some("bridge")),
        ("quiet", None),
        ("provisioning", None),
    ] {
        let (f, x) = mode(n);
        assert_eq!(f.as_deref(), want, "{n}: {x}");
    }
    let (_, lan) = mode("lan");
    assert!(lan.contains("<bridge name='br-cust'/>"), "{lan}");
    assert!(!lan.contains("<ip"), "{lan}");
    let (_, ext) = mode("ext");
    assert!(
        ext.contains("<ip address='10.9.0.1' netmask='255.255.255.0'"),
        "{ext}"
    );
    // Every network is up, the bridge one on the host's bridge.
    let active = host.virsh(&["net-list", "--name"]);
    for n in [
        "ext",
        "routed",
        "opened",
        "lan",
        "quiet",
        "provisioning",
        "default",
    ] {
        assert!(
            active.lines().any(|l| l.trim() == n),
            "{n} not active: {active}"
        );
    }
    // A second run changes nothing.
    let o = lab
        .labsh()
        .args(run_args(&host, &script, &["--set", &variant, "--json"]))
        .run();
    o.ok();
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
}
