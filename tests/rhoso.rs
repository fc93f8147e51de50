//! RHOSO 18.0 (`overcloud.release: "18.0"`, profiles/rhoso.rhai) through the real binary: the
//! plan shows the substrate, control-plane and data-plane stages with every custom resource they
//! would apply; a run stops before it changes anything; a profile RHOSO refuses names its file
//! and key, and nothing is made. The resources themselves are checked against the operators'
//! CRD schemas in tests/rhai/rhoso_test.rhai.

use crate::support::Lab;

#[test]
fn a_rhoso_run_stops_before_it_changes_anything() {
    let lab = Lab::new();
    let before = lab.state_files();
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "rhoso"])
        .run();
    o.code(1)
        .stderr_has(
            "overcloud.release \"18.0\" (RHOSO 18.0): building the lab is not yet supported",
        )
        .stderr_has("--plan");
    assert!(!lab.state().join("sandbox").exists(), "no sandbox made");
    assert!(!lab.state().join("out").exists(), "no output made");
    // Only labsh's own journal of the run (and its lock) is new in the state folder.
    let after: Vec<_> = lab
        .state_files()
        .into_iter()
        .filter(|(p, _)| !p.starts_with(lab.state().join("runs")) && !p.ends_with("lock"))
        .collect();
    assert_eq!(after, before);
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
                 "plan: controlplane: the operators through OLM",
                 "plan: dataplane: the OpenStackDataPlaneNodeSet of [\"edpm-compute01\", \"edpm-compute02\", \"edpm-compute03\"]",
                 "plan: tenant, ocp, verify: on the RHOSO cloud once its control plane is built"] {
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
