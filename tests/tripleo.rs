//! labsh's overcloud files and commands checked by each TripleO release's own code: the
//! release's tripleo-heat-templates (the sdist, rendered with its own process-templates.py), its
//! python-tripleoclient (undercloud.conf, the command lines' parsers), tripleo-common
//! (instackenv.json), tripleo-ansible (network_data v2, vip_data, baremetal_deployment) and
//! os-net-config (each nic-config, --noop in a network namespace). tests/harness/tripleo.sh
//! builds them into a cache once (tools/test.sh runs it).

use crate::support::{run_ok, Lab};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn harness(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/harness")
        .join(name)
}

/// The paths of the releases' code (tests/harness/tripleo.sh env), each checked to be there.
pub fn releases_code() -> HashMap<String, String> {
    let out = run_ok(
        Command::new("bash").arg(harness("tripleo.sh")).arg("env"),
        "tripleo.sh env",
    );
    let env: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for k in [
        "THT_13",
        "THT_17_1",
        "TC_13",
        "TC_17_1",
        "ONC_13",
        "ONC_17_1",
        "PARSERS_13",
        "PARSERS_17_1",
        "TRIPLEO_ANSIBLE",
    ] {
        assert!(
            Path::new(&env[k]).exists(),
            "{k}: {} is missing: run tests/harness/tripleo.sh install (tools/test.sh does)",
            env[k]
        );
    }
    env
}

/// Runs `cmd` to its end: (exit code, stdout and stderr).
fn code_and_output(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs the checker with `python` (a release's venv or the tools' one); (exit code, output).
fn check(python: &str, args: &[&str]) -> (i32, String) {
    code_and_output(
        Command::new(python)
            .arg(harness("tripleo/check.py"))
            .args(args)
            .env("PYTHONWARNINGS", "ignore"),
    )
}

/// The checker's output, for a check that must pass.
#[track_caller]
fn passes(python: &str, args: &[&str]) -> String {
    let (code, text) = check(python, args);
    assert_eq!(code, 0, "check.py {args:?}:\n{text}");
    text
}

/// The sandbox run of the lab for a release: its output folder and the command lines it planned
/// on the director (jobs and commands, from the journal).
fn sandbox(lab: &Lab, profile: Option<&str>) -> (PathBuf, PathBuf) {
    let mut run = lab.run_script("lab.rhai");
    if let Some(p) = profile {
        run = run.args(["--profile", p]);
    }
    let o = run
        .env("LABSH_SECRET_REGISTRY_PASSWORD", "registry-pw-of-the-test")
        .run();
    o.ok();
    let mut commands = vec![];
    for e in lab.last_journal() {
        if e["event"] == "effect" && (e["op"] == "ssh.job" || e["op"] == "ssh.run") {
            let c = e["args"]["command"]
                .as_str()
                .map(|s| s.to_string())
                .unwrap_or_else(|| {
                    let t = e["target"].as_str().unwrap();
                    t.split_once(": ").unwrap().1.to_string()
                });
            commands.push(serde_json::Value::String(c));
        }
    }
    assert!(commands.len() > 5, "{commands:?}");
    let f = lab.work().join("commands.json");
    std::fs::write(&f, serde_json::to_string(&commands).unwrap()).unwrap();
    (crate::support::lab_out(&o), f)
}

/// A variant of this test's: the seed's lab on OSP 17.1, with a login for Red Hat's registry.
fn seed_on_17_1(lab: &Lab) -> PathBuf {
    lab.file(
        "profiles/seed17.rhai",
        "fn overrides() { #{ base_image: #{ name: \"rhel9-guest.qcow2\" }, overcloud: #{ release: \"17.1\", registry_user: \"1234567|lab\" } } }\n",
    )
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Checks the environment files `names` of `out` with the release's templates at `tht`, and the
/// commands `cmds` against them; returns the files' paths.
#[track_caller]
fn templates_and_commands_pass(
    tc: &str,
    tht: &str,
    out: &Path,
    cmds: &Path,
    names: &[&str],
) -> Vec<String> {
    let envs: Vec<String> = names.iter().map(|f| s(&out.join(f))).collect();
    let mut a = vec!["tht", tht];
    a.extend(envs.iter().map(|x| x.as_str()));
    passes(tc, &a);
    passes(tc, &["commands", tht, &s(out), "/home/stack", &s(cmds)]);
    envs
}

#[test]
fn each_releases_files_and_commands_pass_its_own_templates_clients_and_schemas() {
    let env = releases_code();
    // OSP 13, the seed.
    let lab = Lab::new();
    let (out, cmds) = sandbox(&lab, None);
    let (tht, tc) = (&env["THT_13"], &env["TC_13"]);
    let envs = templates_and_commands_pass(
        tc,
        tht,
        &out,
        &cmds,
        &[
            "network-environment.yaml",
            "node-info.yaml",
            "ceph-config.yaml",
            "lab-parameters.yaml",
        ],
    );
    passes(tc, &["undercloud", &s(&out.join("undercloud.conf"))]);
    passes(tc, &["instackenv", &s(&out.join("instackenv.json"))]);
    // The checks can fail: OSP 13's network environment is not Wallaby's (its nic-configs'
    // get_file, NeutronExternalNetworkBridge), a parameter no template declares is named, and
    // OSP 17.1's undercloud.conf is not Queens'.
    let (code, text) = check(&env["TC_17_1"], &["tht", &env["THT_17_1"], &envs[0]]);
    assert!(
        code == 1 && text.contains("NeutronExternalNetworkBridge is a parameter no template"),
        "{text}"
    );
    let typo = lab.file("typo.yaml", "parameter_defaults:\n  NovaReservedHostMemry: 4096\nresource_registry:\n  OS::TripleO::Compute::Net::SoftwareConfg: OS::Heat::None\n");
    let (code, text) = check(tc, &["tht", tht, &s(&typo)]);
    assert!(
        code == 1 && text.contains("NovaReservedHostMemry") && text.contains("SoftwareConfg"),
        "{text}"
    );

    // OSP 17.1: the shipped profile of today's releases, and the seed on 17.1 with a registry
    // login (its credentials go into containers-prepare-parameter.yaml).
    let shipped = Lab::new();
    let current = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/current.rhai");
    let (out_current, cmds_current) = sandbox(&shipped, Some(&s(&current)));
    let lab17 = Lab::new();
    let profile = seed_on_17_1(&lab17);
    let (out17, cmds17) = sandbox(&lab17, Some(&s(&profile)));
    let (tht, tc) = (&env["THT_17_1"], &env["TC_17_1"]);
    let prep = std::fs::read_to_string(out17.join("containers-prepare-parameter.yaml")).unwrap();
    assert!(
        prep.contains("ContainerImageRegistryCredentials") && prep.contains("registry.redhat.io"),
        "{prep}"
    );
    for (out, cmds) in [(&out_current, &cmds_current), (&out17, &cmds17)] {
        templates_and_commands_pass(
            tc,
            tht,
            out,
            cmds,
            &[
                "containers-prepare-parameter.yaml",
                "ceph-config.yaml",
                "lab-parameters.yaml",
            ],
        );
    }
    passes(tc, &["undercloud", &s(&out17.join("undercloud.conf"))]);
    passes(tc, &["instackenv", &s(&out17.join("instackenv.json"))]);
    passes(
        tc,
        &[
            "v2",
            &env["TRIPLEO_ANSIBLE"],
            &s(&out17.join("network_data.yaml")),
            &s(&out17.join("vip_data.yaml")),
            &s(&out17.join("baremetal_deployment.yaml")),
        ],
    );
    let (code, text) = check(
        &env["TC_13"],
        &["undercloud", &s(&out17.join("undercloud.conf"))],
    );
    assert!(
        code == 1 && text.contains("container_images_file: not an option"),
        "{text}"
    );
    // Each release's commands are its own: OSP 17.1's provisioning does not exist in OSP 13.
    let (code, text) = check(
        &env["TC_13"],
        &[
            "commands",
            &env["THT_13"],
            &s(&out17),
            "/home/stack",
            &s(&cmds17),
        ],
    );
    assert!(
        code == 1 && text.contains("'overcloud network provision' is not an openstack command"),
        "{text}"
    );
}

/// The ifcfg files os-net-config --noop would write for `config`, in a namespace of this test's
/// with the VM's four NICs.
fn os_net_config(onc: &str, config: &Path) -> (i32, String) {
    code_and_output(
        Command::new("bash")
            .arg(harness("onc-noop.sh"))
            .args([onc, &s(config), "4"]),
    )
}

/// The --noop output of os-net-config `onc` for a config it must accept (else fails: `refused`).
#[track_caller]
fn onc_accepts(onc: &str, config: &Path, refused: &str) -> String {
    let (code, text) = os_net_config(onc, config);
    assert_eq!(code, 0, "{refused}:\n{text}");
    text
}

/// Splits os-net-config's --noop output into its files: name -> content.
fn ifcfg_files(text: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for part in text.split("File: ").skip(1) {
        let (name, body) = part.split_once('\n').unwrap_or((part, ""));
        let name = name.trim().rsplit('/').next().unwrap().to_string();
        m.insert(name, body.split("\n----").next().unwrap_or("").to_string());
    }
    m
}

/// The bond of nic3+nic4 (eth2, eth3 here), the bridge, and one VLAN for each of `vlans`.
#[track_caller]
fn assert_bond_bridge_vlans(text: &str, bridge: &str, vlans: &[u32], what: &str) {
    let files = ifcfg_files(text);
    let bond = files
        .get("ifcfg-bond1")
        .unwrap_or_else(|| panic!("{what}: no bond1:\n{text}"));
    assert!(
        bond.contains("TYPE=OVSBond")
            && bond.contains("BOND_IFACES=\"eth2 eth3\"")
            && bond.contains(&format!("OVS_BRIDGE={bridge}")),
        "{what}: {bond}"
    );
    assert!(
        bond.contains("OVS_OPTIONS=\"bond_mode=active-backup\""),
        "{what}: {bond}"
    );
    let br = files
        .get(&format!("ifcfg-{bridge}"))
        .unwrap_or_else(|| panic!("{what}: no {bridge}:\n{text}"));
    assert!(br.contains("TYPE=OVSBridge"), "{what}: {br}");
    let mut got: Vec<u32> = files
        .keys()
        .filter_map(|k| k.strip_prefix("ifcfg-vlan").and_then(|v| v.parse().ok()))
        .collect();
    got.sort();
    assert_eq!(got, vlans, "{what}: the VLANs");
    for v in vlans {
        let f = &files[&format!("ifcfg-vlan{v}")];
        assert!(
            f.contains(&format!("OVS_OPTIONS=\"tag={v}\""))
                && f.contains(&format!("OVS_BRIDGE={bridge}")),
            "{what}: vlan{v}: {f}"
        );
    }
    // nic1 on the ctlplane.
    assert!(
        files
            .get("ifcfg-eth0")
            .is_some_and(|f| f.contains("IPADDR=172.16.0.")),
        "{what}: eth0:\n{text}"
    );
}

#[test]
fn each_releases_nic_configs_pass_its_os_net_config_with_the_bond_the_bridge_and_a_vlan_per_network(
) {
    let env = releases_code();
    let tools_py = format!("{}/venv-tools/bin/python", env["TRIPLEO_CACHE"]);
    // OSP 13: each role's Heat template, its network_config as Heat resolves it for a node.
    let lab = Lab::new();
    let (out, _) = sandbox(&lab, None);
    let node = r#"{"ControlPlaneIp": "172.16.0.30", "ExternalIpSubnet": "192.168.122.100/24", "InternalApiIpSubnet": "172.17.1.10/24", "StorageIpSubnet": "172.17.3.10/24", "StorageMgmtIpSubnet": "172.17.4.10/24", "TenantIpSubnet": "172.17.2.10/24"}"#;
    for (role, bridge, vlans) in [
        ("controller", "br-ex", vec![20, 30, 40, 50]),
        ("compute", "br-ex", vec![20, 30, 50]),
        ("ceph-storage", "br-bond", vec![30, 40]),
    ] {
        let json = passes(
            &tools_py,
            &[
                "heat-nic",
                &s(&out.join(format!("nic-configs/{role}.yaml"))),
                &s(&out.join("network-environment.yaml")),
                "--node",
                node,
            ],
        );
        let cfg = lab.file(&format!("onc13-{role}.json"), &json);
        let text = onc_accepts(
            &env["ONC_13"],
            &cfg,
            &format!("os-net-config 8.5.1 refused the {role} nic-config"),
        );
        assert_bond_bridge_vlans(&text, bridge, &vlans, &format!("13 {role}"));
    }
    // OSP 17.1: the Jinja template rendered with each role's variables.
    let lab17 = Lab::new();
    let profile = seed_on_17_1(&lab17);
    let (out17, _) = sandbox(&lab17, Some(&s(&profile)));
    for (role, vlans) in [
        ("Controller", vec![20, 30, 40, 50]),
        ("Compute", vec![20, 30, 50]),
        ("CephStorage", vec![30, 40]),
    ] {
        let vars = passes(
            &tools_py,
            &[
                "j2-vars",
                role,
                &s(&out17.join("network_data.yaml")),
                &s(&out17.join("baremetal_deployment.yaml")),
                "0",
            ],
        );
        let vf = lab17.file(&format!("vars-{role}.json"), &vars);
        let json = passes(
            &tools_py,
            &[
                "j2-nic",
                &s(&out17.join("nic-configs/bonds_vlans.j2")),
                &s(&vf),
            ],
        );
        let cfg = lab17.file(&format!("onc17-{role}.json"), &json);
        let text = onc_accepts(
            &env["ONC_17_1"],
            &cfg,
            &format!("os-net-config 14.2.0 refused the {role} nic config"),
        );
        assert_bond_bridge_vlans(&text, "br-ex", &vlans, &format!("17.1 {role}"));
    }
    // os-net-config can refuse: a VLAN without its id.
    let bad = lab.file(
        "bad-onc.json",
        r#"{"network_config": [{"type": "ovs_bridge", "name": "br-ex", "members": [{"type": "vlan", "addresses": [{"ip_netmask": "172.17.1.10/24"}]}]}]}"#,
    );
    for v in ["ONC_13", "ONC_17_1"] {
        let (code, text) = os_net_config(&env[v], &bad);
        assert!(code != 0 && text.contains("vlan_id"), "{v}: {text}");
    }
}

#[test]
fn redfish_nodes_pass_each_releases_own_node_validation() {
    let env = releases_code();
    let lab = Lab::new();
    // The seed on 17.1 with Redfish BMCs: the sandbox writes instackenv.json in l1.
    let v = lab.file(
        "profiles/redfish17.rhai",
        "fn overrides() { #{ base_image: #{ name: \"rhel9-guest.qcow2\" }, bmc: #{ type: \"redfish\" }, overcloud: #{ release: \"17.1\", registry_user: \"1234567|lab\" } } }\n",
    );
    lab.run_script("lab.rhai")
        .args(["--profile", &s(&v), "--only", "l0", "--only", "l1"])
        .run()
        .ok();
    let file = lab.state().join("out/sandbox/lab/instackenv.json");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let nodes = j["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 7);
    for n in nodes {
        assert_eq!(n["pm_type"], "redfish", "{n}");
        assert_eq!(n["pm_addr"], "http://172.16.0.254:8000", "{n}");
        assert!(n.get("pm_port").is_none(), "{n}");
        assert!(
            n["pm_system_id"]
                .as_str()
                .unwrap()
                .starts_with("/redfish/v1/Systems/"),
            "{n}"
        );
    }
    // tripleo-common's validate_nodes, as `openstack overcloud node import --validate-only`
    // runs it: 15.4.0 (OSP 17.1) and, for the same nodes, Queens' (OSP 13).
    passes(&env["TC_17_1"], &["instackenv", &s(&file)]);
    passes(&env["TC_13"], &["instackenv", &s(&file)]);
    // The validation can fail: the Redfish driver has no pm_port.
    let mut with_port = j.clone();
    for n in with_port["nodes"].as_array_mut().unwrap() {
        n["pm_port"] = "8000".into();
    }
    let bad = lab.file("with-port.json", &with_port.to_string());
    let (code, text) = check(&env["TC_17_1"], &["instackenv", &s(&bad)]);
    assert!(
        code == 1 && text.contains("Unknown field pm_port"),
        "{text}"
    );
}

/// The overcloud's provider VLANs (overcloud.provider_vlan_ranges: NeutronBridgeMappings and
/// NeutronNetworkVLANRanges in lab-parameters.yaml) judged by each release's templates: the
/// netopts profile on OSP 17.1 (THT 14.3.0) and the seed with the same ranges on OSP 13 (THT
/// 8.4.1); a parameter named as neither release names it is refused.
#[test]
fn the_provider_vlans_pass_each_releases_templates() {
    let env = releases_code();
    let lab17 = Lab::new();
    let (out17, _) = sandbox(&lab17, Some("netopts"));
    let lab13 = Lab::new();
    let seed13 = lab13.file(
        "profiles/vlans13.rhai",
        "fn overrides() { #{ overcloud: #{ provider_vlan_ranges: [#{ physical_network: \"datacentre\", min: 100, max: 109 }] } } }\n",
    );
    let (out13, _) = sandbox(&lab13, Some(&s(&seed13)));
    for (out, tree, tc) in [
        (&out17, &env["THT_17_1"], &env["TC_17_1"]),
        (&out13, &env["THT_13"], &env["TC_13"]),
    ] {
        let params = out.join("lab-parameters.yaml");
        let text = std::fs::read_to_string(&params).unwrap();
        assert!(
            text.contains("NeutronBridgeMappings:\n  - datacentre:br-ex")
                && text.contains("NeutronNetworkVLANRanges:\n  - datacentre:100:109"),
            "{text}"
        );
        passes(tc, &["tht", tree, &s(&params)]);
        // A spelling neither release declares is refused by the same check.
        let wrong = lab13.file(
            "wrong-vlans.yaml",
            "parameter_defaults:\n  NeutronNetworkVlanRanges: [\"datacentre:100:109\"]\n",
        );
        let (code, text) = check(tc, &["tht", tree, &s(&wrong)]);
        assert!(
            code == 1 && text.contains("NeutronNetworkVlanRanges is a parameter no template"),
            "{text}"
        );
    }
}

/// A variant of this test's that asks for Octavia (ocp.octavia), on OSP 13 (the seed) or on OSP
/// 17.1 with a login for Red Hat's registry.
fn octavia_lab(lab: &Lab, release: &str) -> PathBuf {
    let over = if release == "13" {
        "ocp: #{ octavia: true }".to_string()
    } else {
        "ocp: #{ octavia: true }, base_image: #{ name: \"rhel9-guest.qcow2\" }, overcloud: #{ release: \"17.1\", registry_user: \"1234567|lab\" }".to_string()
    };
    lab.file(
        "profiles/octavia.rhai",
        &format!("fn overrides() {{ #{{ {over} }} }}\n"),
    )
}

/// Octavia when the profile asks for it: the deploy names the release's own environment file,
/// which is in that release's templates (the commands' check finds each -e in the tree) and
/// passes its templates with the lab's environment files (every parameter declared, every
/// registered template there with its files); the other release's file is not in a release's
/// tree, and the same check says so.
#[test]
fn octavia_is_deployed_with_each_releases_own_environment() {
    let env = releases_code();
    for (release, file, tht, tc) in [
        (
            "13",
            "environments/services-docker/octavia.yaml",
            &env["THT_13"],
            &env["TC_13"],
        ),
        (
            "17.1",
            "environments/services/octavia.yaml",
            &env["THT_17_1"],
            &env["TC_17_1"],
        ),
    ] {
        let lab = Lab::new();
        let v = octavia_lab(&lab, release);
        let (out, cmds) = sandbox(&lab, Some(&s(&v)));
        let text = std::fs::read_to_string(&cmds).unwrap();
        let want = format!("-e /usr/share/openstack-tripleo-heat-templates/{file}");
        assert!(
            text.contains(&want) && text.contains("openstack overcloud deploy"),
            "{release}: {text}"
        );
        assert!(
            text.contains("octavia-amphora-image-x86_64"),
            "{release}: the amphora image's package: {text}"
        );
        passes(tc, &["commands", tht, &s(&out), "/home/stack", &s(&cmds)]);
        let mut envs = vec![format!("{tht}/{file}")];
        let own: &[&str] = if release == "13" {
            &[
                "network-environment.yaml",
                "node-info.yaml",
                "ceph-config.yaml",
                "lab-parameters.yaml",
            ]
        } else {
            &[
                "containers-prepare-parameter.yaml",
                "ceph-config.yaml",
                "lab-parameters.yaml",
            ]
        };
        envs.extend(own.iter().map(|f| s(&out.join(f))));
        let mut a = vec!["tht", tht.as_str()];
        a.extend(envs.iter().map(|x| x.as_str()));
        passes(tc, &a);
    }
    // The check can fail: OSP 13's file is not in OSP 17.1's templates.
    let lab = Lab::new();
    let bad = lab.file(
        "commands.json",
        r#"["openstack overcloud deploy --templates /usr/share/openstack-tripleo-heat-templates --stack overcloud --deployed-server -e /usr/share/openstack-tripleo-heat-templates/environments/services-docker/octavia.yaml"]"#,
    );
    let (code, text) = check(
        &env["TC_17_1"],
        &[
            "commands",
            &env["THT_17_1"],
            &s(&lab.work()),
            "/home/stack",
            &s(&bad),
        ],
    );
    assert!(
        code == 1
            && text.contains("services-docker/octavia.yaml is not in the release's templates"),
        "{text}"
    );
}

/// The value of `key:` in lab-parameters.yaml's text (a scalar, or a list's first item).
fn lab_parameter(text: &str, key: &str) -> Option<String> {
    let rest = text.split(&format!("{key}:")).nth(1)?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix("- ").unwrap_or(rest);
    rest.split_whitespace().next().map(|v| v.to_string())
}

/// The netopts lab's provider VLAN (tenant.networks.mgmt: VLAN 100 on datacentre, in the
/// overcloud's ranges 100-109) through os-net-config 14.2.0 --noop: the bridge Neutron maps
/// datacentre to (NeutronBridgeMappings) is the OVS bridge os-net-config builds over the bond of
/// nic3+nic4 on every role that carries tenants' traffic, and the host has no interface on the
/// provider VLANs, only on the overcloud's own: Neutron tags VLAN 100 on br-ex itself, so the
/// nic template needs nothing for it. A template rendered for another bridge puts the bond
/// there, which the mapping does not name.
#[test]
fn the_provider_vlan_rides_the_bonds_bridge_as_os_net_config_builds_it() {
    let env = releases_code();
    let tools_py = format!("{}/venv-tools/bin/python", env["TRIPLEO_CACHE"]);
    let lab = Lab::new();
    let (out, _) = sandbox(&lab, Some("netopts"));
    let params = std::fs::read_to_string(out.join("lab-parameters.yaml")).unwrap();
    let mapping = lab_parameter(&params, "NeutronBridgeMappings").unwrap_or_default();
    let (physnet, mapped) = mapping.split_once(':').unwrap_or(("", ""));
    assert_eq!(physnet, "datacentre", "{params}");
    assert_eq!(
        lab_parameter(&params, "NeutronNetworkVLANRanges").as_deref(),
        Some("datacentre:100:109"),
        "{params}"
    );
    let physical = lab_parameter(&params, "NeutronPhysicalBridge").unwrap_or_default();
    let render = |role: &str, bridge: &str| {
        let vars = passes(
            &tools_py,
            &[
                "j2-vars",
                role,
                &s(&out.join("network_data.yaml")),
                &s(&out.join("baremetal_deployment.yaml")),
                "0",
            ],
        );
        let mut v: serde_json::Value = serde_json::from_str(&vars).unwrap();
        // What tripleo_network_config gives the template: NeutronPhysicalBridge.
        v["neutron_physical_bridge_name"] = bridge.into();
        let vf = lab.file(&format!("vars-{role}-{bridge}.json"), &v.to_string());
        let json = passes(
            &tools_py,
            &[
                "j2-nic",
                &s(&out.join("nic-configs/bonds_vlans.j2")),
                &s(&vf),
            ],
        );
        let cfg = lab.file(&format!("onc-{role}-{bridge}.json"), &json);
        onc_accepts(
            &env["ONC_17_1"],
            &cfg,
            &format!("os-net-config 14.2.0 refused the netopts {role} nic config"),
        )
    };
    for (role, vlans) in [
        ("Controller", vec![20, 30, 40, 50]),
        ("Compute", vec![20, 30, 50]),
    ] {
        let text = render(role, &physical);
        assert_bond_bridge_vlans(&text, mapped, &vlans, &format!("netopts {role}"));
        let files = ifcfg_files(&text);
        for v in 100..=109 {
            assert!(
                !files.keys().any(|k| k.ends_with(&format!("vlan{v}"))),
                "netopts {role}: VLAN {v} is Neutron's, not the host's:\n{text}"
            );
        }
    }
    let other = render("Compute", "br-other");
    let files = ifcfg_files(&other);
    assert!(
        files
            .get("ifcfg-bond1")
            .is_some_and(|b| b.contains("OVS_BRIDGE=br-other")
                && !b.contains(&format!("OVS_BRIDGE={mapped}"))),
        "{other}"
    );
}
