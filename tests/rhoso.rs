//! RHOSO 18.0 (`overcloud.release: "18.0"`, profiles/rhoso.rhai) through the real binary: the
//! plan shows the substrate, control-plane and data-plane stages with every custom resource they
//! would apply and is the run's, stage by stage; a run on the sandbox plans what needs the
//! substrate and shows no password; a profile RHOSO refuses names its file and key, and nothing
//! is made. The resources themselves are checked against the operators' CRD schemas in
//! tests/rhai/rhoso_test.rhai.

use crate::support::Lab;

/// On the sandbox (no substrate, no EDPM nodes) a RHOSO run goes through every stage: what
/// needs the substrate is planned, each resource applied shown by kind and name, osp-secret's
/// keys shown and none of the passwords labsh generated for it, in its output or its journal.
#[test]
fn a_rhoso_run_on_the_sandbox_plans_what_needs_the_substrate_and_shows_no_password() {
    let lab = Lab::new();
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "rhoso"])
        .run();
    o.ok()
        .stderr_has("planned  oc.apply OpenStackControlPlane/openstack-control-plane -n openstack")
        .stderr_has("planned  oc.apply Secret/osp-secret -n openstack {\"keys\":[\"AdminPassword\"")
        .stderr_has("planned  ssh.run cloud-admin@172.16.0.100: sudo cephadm bootstrap --mon-ip 172.17.3.100")
        .stdout_has("plan: dataplane: nova-manage cell_v2 discover_hosts --verbose in openstack/nova-cell0-conductor-0");
    for stage in ["controlplane", "dataplane", "tenant", "ocp", "verify"] {
        assert!(
            o.stderr.contains(&format!("── {stage}")),
            "{stage}: {}",
            o.stderr
        );
    }
    // The passwords were made and kept in labsh's secret store, and are shown nowhere.
    let secrets = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let values: Vec<&str> = secrets
        .lines()
        .filter(|l| l.starts_with("rhoso-"))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v))
        .collect();
    assert_eq!(values.len(), 27, "{secrets}");
    let mut journals = String::new();
    for (path, _) in lab.state_files() {
        if path.starts_with(lab.state().join("runs")) {
            journals += &std::fs::read_to_string(&path).unwrap_or_default();
        }
    }
    assert!(!journals.is_empty());
    for v in values {
        for (what, text) in [
            ("stdout", &o.stdout),
            ("stderr", &o.stderr),
            ("journal", &journals),
        ] {
            assert!(!text.contains(v), "a password in the {what}");
        }
    }
}

/// The plan of a fresh RHOSO lab is its run on the sandbox, stage by stage: the same operations
/// on the same targets, planned in the plan, changed or planned in the run (as tests/lab.rs
/// checks for the TripleO profiles).
#[test]
fn the_plan_of_the_rhoso_lab_is_its_run() {
    use std::collections::BTreeMap;
    let lab = Lab::new();
    let count = |out: &crate::support::Out, outcomes: &[&str]| {
        let mut m: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for e in out.json_lines() {
            if e["event"] == "effect" && outcomes.contains(&e["outcome"].as_str().unwrap()) {
                let k = (
                    e["stage"].as_str().unwrap().to_string(),
                    e["op"].as_str().unwrap().to_string(),
                    e["target"].as_str().unwrap().to_string(),
                );
                *m.entry(k).or_default() += 1;
            }
        }
        m
    };
    let plan = lab
        .run_script("lab.rhai")
        .args(["--plan", "--json", "--profile", "rhoso"])
        .run();
    plan.ok();
    let planned = count(&plan, &["planned"]);
    let run = lab
        .run_script("lab.rhai")
        .args(["--json", "--profile", "rhoso"])
        .run();
    run.ok();
    let done = count(&run, &["changed", "planned"]);
    for stage in ["controlplane", "dataplane", "tenant"] {
        assert!(
            planned.keys().filter(|k| k.0 == stage).count() > 5,
            "{stage}: {planned:?}"
        );
    }
    assert_eq!(planned, done, "the plan is not the run");
}

#[test]
fn the_rhoso_plan_shows_its_stages_and_the_resources_each_would_apply() {
    let lab = Lab::new();
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "rhoso", "--plan", "--json"])
        .run();
    o.ok();
    let lines = o.json_lines();
    let writes: Vec<String> = lines
        .iter()
        .filter(|l| l["event"] == "effect" && l["op"] == "file.write" && l["outcome"] == "planned")
        .filter_map(|l| l["target"].as_str().map(String::from))
        .filter(|t| t.contains("/rhoso/rhoso/"))
        .collect();
    for kind in [
        "controlplane-01-OperatorGroup-kubernetes-nmstate-operator.yaml",
        "Subscription-openstack-operator.yaml",
        "NodeNetworkConfigurationPolicy-rhoso-ocp01-osp.yaml",
        "NetworkAttachmentDefinition-octavia.yaml",
        "IPAddressPool-internalapi.yaml",
        "L2Advertisement-internalapi.yaml",
        "NetConfig-netconfig.yaml",
        "OpenStackControlPlane-openstack-control-plane.yaml",
        "dataplane-01-OpenStackDataPlaneNodeSet-openstack-edpm.yaml",
        "OpenStackDataPlaneDeployment-openstack-edpm-post-ceph.yaml",
    ] {
        assert!(
            writes.iter().any(|w| w.ends_with(kind)),
            "{kind} in {writes:?}"
        );
    }
    assert_eq!(writes.len(), 31, "{writes:?}");
    let out: String = lines
        .iter()
        .filter(|l| l["event"] == "print")
        .filter_map(|l| l["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for said in ["plan: substrate: the OpenShift 4.18 substrate (sno: [\"rhoso-ocp01\"]) by the agent-based installer",
                 "plan: dataplane: nova-manage cell_v2 discover_hosts --verbose in openstack/nova-cell0-conductor-0",
                 "plan: ceph: the cluster's fsid is read from"] {
        assert!(out.contains(said), "{said} in {out}");
    }
    // Preflight on the article's host: the lab fits.
    let memory = lines
        .iter()
        .find(|l| l["check"] == "memory")
        .map(|l| l["status"].clone());
    if let Some(status) = memory {
        assert_eq!(status, "pass");
    }
    assert!(
        !lab.state()
            .join("sandbox")
            .join("rhoso")
            .join("host.xml")
            .exists(),
        "a plan makes nothing"
    );
}

#[test]
fn a_profile_rhoso_refuses_names_its_file_and_key_and_nothing_is_made() {
    let lab = Lab::new();
    let cases = [
        ("release", "overcloud: #{ release: \"18.1\" }",
         "profiles/release.rhai: overcloud.release: \"18.1\" is not a release labsh knows"),
        ("nics", "vms: #{ compute: #{ nics: [\"provisioning\", \"default\"] } }",
         "profiles/nics.rhai: vms.compute.nics: 2 NIC(s), and the EDPM network template names nic1-nic4"),
        ("trunk", "rhoso: #{ trunk_vlans: [20, 30, 40, 50] }",
         "profiles/trunk.rhai: rhoso.trunk_vlans: VLAN 60 of rhoso.octavia is missing from the substrate's trunk"),
        ("octavia", "rhoso: #{ octavia: #{ enabled: false } }",
         "profiles/octavia.rhai: rhoso.octavia.enabled: false, and rhoso.load_balancers asks for them"),
        ("small", "vms: #{ ocp: #{ memory_mib: 16384 } }",
         "profiles/small.rhai: vms.ocp.memory_mib: 16384 MiB is below the 32768 MiB a single-node OpenShift needs"),
    ];
    for (name, over, want) in cases {
        lab.file(
            &format!("profiles/{name}.rhai"),
            &format!("fn overrides() {{ #{{ base: \"rhoso\", {over} }} }}\n"),
        );
        let o = lab
            .run_script("lab.rhai")
            .args(["--profile", &format!("profiles/{name}.rhai"), "--plan"])
            .run();
        o.code(1).stderr_has(want);
        assert!(
            !lab.state().join("sandbox").exists(),
            "{name}: nothing made"
        );
    }
}

/// The EDPM network template, rendered with each node's variables as the OpenStack operator's
/// inventory gives them (rhoso::edpm_template_vars) the way edpm-ansible renders it (Jinja with
/// Ansible's lookup('vars'), tests/harness/tripleo/check.py j2-nic), passes os-net-config --noop
/// in a namespace with the VM's four NICs: nic1 on ctlplane, the OVS bond of nic3 and nic4 under
/// br-ex, a VLAN port with the node's address for each network. The os-net-config is the
/// harness's newest (14.2.0, Wallaby's); RHOSO 18.0's EDPM nodes run a later one.
#[test]
fn the_edpm_network_template_passes_os_net_config_with_the_bond_and_a_vlan_per_network() {
    let env = crate::tripleo::releases_code();
    let tools_py = format!("{}/venv-tools/bin/python", env["TRIPLEO_CACHE"]);
    let harness = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness");
    let lab = Lab::new();
    let dir = lab.work();
    let script = lab.file(
        "edpm.rhai",
        &format!(
            "import \"rhoso\" as rhoso;\nlet p = rhoso::example();\nfiles::write({:?}, rhoso::edpm_network_template(p));\nfor i in 0..3 {{ files::write_json(`{}/vars-${{i}}.json`, rhoso::edpm_template_vars(p, i)); }}\n",
            dir.join("edpm.j2").display().to_string(),
            dir.display()
        ),
    );
    lab.run_file(&script).ok();
    for i in 0..3 {
        let rendered = std::process::Command::new(&tools_py)
            .arg(harness.join("tripleo/check.py"))
            .args(["j2-nic", &dir.join("edpm.j2").display().to_string()])
            .arg(dir.join(format!("vars-{i}.json")))
            .output()
            .unwrap();
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let cfg = lab.file(
            &format!("onc-{i}.json"),
            &String::from_utf8_lossy(&rendered.stdout),
        );
        let out = std::process::Command::new("bash")
            .arg(harness.join("onc-noop.sh"))
            .args([env["ONC_17_1"].as_str(), &cfg.display().to_string(), "4"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "node {i}: {text}");
        assert!(
            text.contains(&format!("IPADDR=172.16.0.{}", 100 + i)),
            "node {i}: {text}"
        );
        assert!(
            text.contains("TYPE=OVSBond") && text.contains("BOND_IFACES=\"eth2 eth3\""),
            "node {i}: {text}"
        );
        for (vlan, addr) in [
            (20, "172.17.1"),
            (30, "172.17.3"),
            (40, "172.17.4"),
            (50, "172.17.2"),
        ] {
            assert!(
                text.contains(&format!("ifcfg-vlan{vlan}"))
                    && text.contains(&format!("OVS_OPTIONS=\"tag={vlan}\""))
                    && text.contains(&format!("IPADDR={addr}.{}", 100 + i)),
                "node {i}: VLAN {vlan}: {text}"
            );
        }
    }
}
