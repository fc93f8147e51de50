//! scripts/lab.rhai as users run it: the sandbox (applied, then again), plans of every shipped
//! variant, the artifacts it writes, bad profiles and targets, the picture.

use crate::support::{cache, run_ok, Lab, LAB_STAGES};
use serde_json::Value;
use std::path::Path;

fn yaml(path: &Path) -> Value {
    let to_json = |py: &Path| {
        let mut c = std::process::Command::new(py);
        c.args([
            "-c",
            "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path);
        c
    };
    let out = to_json(Path::new("python3")).output().unwrap();
    if out.status.success() {
        return serde_json::from_slice(&out.stdout).unwrap();
    }
    // Without PyYAML there: the venv tools/test.sh makes for it, or the devcloud's.
    let py = ["venv-yaml/bin/python", "venv-devcloud/bin/python"]
        .into_iter()
        .map(cache)
        .find(|p| p.exists())
        .unwrap_or_else(|| cache("venv-devcloud/bin/python"));
    let out = run_ok(&mut to_json(&py), path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The seed's install-config.yaml as the article prints it.
const SEED_INSTALL_CONFIG: &str = "apiVersion: v1\nclusterID: ocp4\nbaseDomain: osd2019.local\ncompute:\n- hyperthreading: Enabled\n  name: worker\n  platform: {}\n  replicas: 2\n  type: worker\ncontrolPlane:\n  hyperthreading: Enabled\n  name: master\n  platform: {}\n  replicas: 3\n  type: master\nmetadata:\n  name: ocp4\nnetworking:\n  clusterNetwork:\n  - cidr: 10.128.0.0/14\n    hostPrefix: 23\n  machineCIDR: 10.0.0.0/16\n  networkType: OpenShiftSDN\n  serviceNetwork:\n  - 172.60.0.0/16\nplatform:\n  openstack:\n    cloud: openstack\n    computeFlavor: master\n    externalNetwork: external\n    lbFloatingIP: 192.168.122.164\n    octaviaSupport: false\n    region: regionOne\n    trunkSupport: false\npullSecret: 'mypull secret'\nsshKey: ssh-rsa blablabla stack@undercloud.redhat.local\n";

/// The seed's install-config.yaml is, byte for byte, what it has always been (the article's file,
/// with the sandbox's stand-in key and a pull secret given).
#[test]
fn the_seeds_install_config_stays_byte_for_byte() {
    let lab = Lab::new();
    lab.run_script("lab.rhai")
        .args(["--only", "ocp"])
        .env("LABSH_SECRET_PULL_SECRET_STANDIN", "{\"auths\":{}}")
        .run()
        .ok();
    let got = std::fs::read(lab.state().join("out/sandbox/lab/install-config.yaml")).unwrap();
    let want = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ocp/seed-install-config-4.2.yaml"),
    )
    .unwrap();
    assert!(got == want, "{}", String::from_utf8_lossy(&got));
}

#[test]
fn the_sandbox_run_writes_every_artifact_and_a_second_run_changes_nothing() {
    let lab = Lab::new();
    let first = lab.run_script("lab.rhai").args(["--json"]).run();
    first.ok();
    let recap = first.json_lines().pop().unwrap();
    let names: Vec<&str> = recap["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for s in LAB_STAGES {
        assert!(names.contains(&s), "{s} missing from {names:?}");
    }
    // What needs a real undercloud, cloud or cluster was planned, not applied.
    let stage = |n: &str| crate::support::recap_stage(&recap, n).unwrap().clone();
    assert!(stage("overcloud")["planned"].as_u64().unwrap() >= 5);
    assert_eq!(stage("overcloud")["changed"], 0);
    assert!(stage("tenant")["planned"].as_u64().unwrap() >= 15);
    let out = lab.state().join("out/sandbox/lab");
    for f in [
        "libvirt/network-provisioning.xml",
        "libvirt/network-default.xml",
        "libvirt/domain-undercloud.xml",
        "libvirt/domain-overcloud-ctrl01.xml",
        "instackenv.json",
        "undercloud.conf",
        "network-environment.yaml",
        "nic-configs/controller.yaml",
        "nic-configs/compute.yaml",
        "nic-configs/ceph-storage.yaml",
        "node-info.yaml",
        "ceph-config.yaml",
        "lab-parameters.yaml",
        "clouds.yaml",
        "install-config.yaml",
        "ocp/install-config.yaml",
        "hosts-block.txt",
        "hosts",
    ] {
        assert!(out.join(f).is_file(), "{f} not written");
    }
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o777
    };
    for secret_file in ["instackenv.json", "clouds.yaml", "install-config.yaml"] {
        assert_eq!(mode(&out.join(secret_file)), 0o600, "{secret_file}");
    }
    // install-config.yaml is the article's, field by field, secrets aside.
    let mut got = yaml(&out.join("install-config.yaml"));
    let seed_file = lab.file("seed-install-config.yaml", SEED_INSTALL_CONFIG);
    let mut want = yaml(&seed_file);
    for v in [&mut got, &mut want] {
        v.as_object_mut().unwrap().remove("pullSecret");
        v.as_object_mut().unwrap().remove("sshKey");
    }
    assert_eq!(got, want);
    // The overcloud's files read back: counts, the bond's VLANs, the article's addresses.
    let ni = yaml(&out.join("node-info.yaml"));
    assert_eq!(ni["parameter_defaults"]["ControllerCount"], 3);
    assert_eq!(ni["parameter_defaults"]["ComputeCount"], 1);
    assert_eq!(ni["parameter_defaults"]["CephStorageCount"], 3);
    let env = yaml(&out.join("network-environment.yaml"));
    assert_eq!(
        env["parameter_defaults"]["InternalApiNetCidr"],
        "172.17.1.0/24"
    );
    assert!(env["parameter_defaults"]
        .get("ExternalNetworkVlanID")
        .is_none());
    let hosts = std::fs::read_to_string(out.join("hosts")).unwrap();
    assert!(hosts.contains("192.168.122.164 api.ocp4.osd2019.local"));
    assert!(hosts.contains("192.168.122.180 grafana-openshift-monitoring.apps.ocp4.osd2019.local"));
    let uc = std::fs::read_to_string(out.join("undercloud.conf")).unwrap();
    assert!(
        uc.contains("[ctlplane-subnet]\ncidr = 172.16.0.0/24\n"),
        "{uc}"
    );

    let second = lab.run_script("lab.rhai").args(["--json"]).run();
    second.ok();
    let recap = second.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
    assert_eq!(recap["totals"]["failed"], 0);
}

#[test]
fn every_shipped_variant_is_checked_and_planned() {
    let lab = Lab::new();
    for v in ["seed", "minimal", "large"] {
        let o = lab
            .run_script("lab.rhai")
            .args(["--plan", "--json", "--profile", v])
            .run();
        o.ok();
        let recap = o.json_lines().pop().unwrap();
        assert_eq!(recap["totals"]["changed"], 0, "{v}: {recap}");
        assert!(
            recap["totals"]["planned"].as_u64().unwrap() > 40,
            "{v}: {recap}"
        );
    }
    // The minimal variant's hook ran, and its single controller is what it plans.
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "minimal", "--only", "l0", "--only", "l1"])
        .run();
    o.ok().stdout_has("minimal: 1 controller, no Ceph");
    assert!(!o.stderr.contains("overcloud-ceph01"), "{}", o.stderr);
}

#[test]
fn a_bad_variant_is_refused_naming_file_and_key_before_anything_runs() {
    let lab = Lab::new();
    // The lab with the variant `name`, of `text`.
    let with_variant = |name: &str, text: &str| {
        let v = lab.file(name, text);
        lab.run_script("lab.rhai")
            .args(["--profile", v.to_str().unwrap()])
            .run()
    };
    let o = with_variant(
        "profiles/typo.rhai",
        "fn overrides() { #{ vms: #{ ctrl: #{ cout: 2, memory_mib: \"16G\" } }, ocp: #{ machine_cidr: \"172.16.0.0/16\" }, tenant: #{ api_fip: \"10.0.0.5\" } } }\n",
    );
    o.code(1)
        .stderr_has("unknown key 'vms.ctrl.cout' (did you mean 'vms.ctrl.count'?)")
        .stderr_has("vms.ctrl.memory_mib: must be an integer, not a string (16G)");
    assert!(o.stderr.contains("typo.rhai"), "{}", o.stderr);
    assert!(!lab.state().join("sandbox").exists(), "nothing ran");
    // Keys right, values wrong: overlaps and ranges, all reported at once.
    let o = with_variant(
        "profiles/clash.rhai",
        "fn overrides() { #{ ocp: #{ machine_cidr: \"172.16.0.0/16\" }, tenant: #{ api_fip: \"10.0.0.5\" } } }\n",
    );
    o.code(1)
        .stderr_has(
            "networks.provisioning (172.16.0.0/24) overlaps ocp.machine_cidr (172.16.0.0/16)",
        )
        .stderr_has("tenant.api_fip: 10.0.0.5 is outside the external subnet 192.168.122.0/24");
    assert!(!lab.state().join("sandbox").exists(), "nothing ran");
}

#[test]
fn unknown_targets_and_bad_target_files_are_named() {
    let lab = Lab::new();
    lab.run_script("lab.rhai")
        .args(["--target", "nowhere"])
        .run()
        .code(2)
        .stderr_has("unknown target 'nowhere'");
    let t = lab.file(
        "t.yaml",
        "libvirt_uri: test:///default\nundercloud: {offline: true}\nclud: {cloud: x}\n",
    );
    lab.run_script("lab.rhai")
        .args(["--target", t.to_str().unwrap()])
        .run()
        .code(1)
        .stderr_has("t.yaml: unknown key 'clud' (did you mean 'cloud'?)");
}

#[test]
fn the_lab_is_drawn() {
    let lab = Lab::new();
    let g = lab.work().join("lab.dot");
    lab.run_script("lab.rhai")
        .args(["--only", "preflight", "--graph", g.to_str().unwrap()])
        .run()
        .ok();
    let dot = std::fs::read_to_string(&g).unwrap();
    for want in [
        "overcloud-ctrl01",
        "BMC IPMI 172.16.0.254:6230",
        "172.16.0.0/24",
        "VLAN 20",
        "192.168.122.164",
        "machine network",
        // Labels are escaped: the bond's NICs are text, not DOT.
        "OVS bond1 (nic3, nic4 on default)",
    ] {
        assert!(dot.contains(want), "{want} not in the picture");
    }
    // The SVG of the seed and of every shipped profile, written under --plan too, and nothing
    // else beside it; parsed, with every VM and network of the profile in it.
    let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let mut names = vec!["seed".to_string()];
    for e in std::fs::read_dir(&profiles).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().to_string();
        names.push(n.trim_end_matches(".rhai").to_string());
    }
    for name in names {
        let dir = lab.work().join(format!("pic-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let svg = dir.join("lab.svg");
        lab.run_script("lab.rhai")
            .args([
                "--plan",
                "--only",
                "preflight",
                "--profile",
                &name,
                "--graph",
                svg.to_str().unwrap(),
            ])
            .run()
            .ok();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1, "{name}: only the picture is written");
        let text = std::fs::read_to_string(&svg).unwrap();
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&text, opts)
            .unwrap_or_else(|e| panic!("{name}: not SVG: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "text")
            .filter_map(|n| n.text().map(str::to_string))
            .collect();
        // What the profile makes: its VMs and networks, as the lab's own plan names them.
        let o = lab.run([
                "-e",
                &format!(
                    "import \"profile\" as profile; import \"seed\" as seed; let p = profile::load({}, ()).profile; #{{vms: seed::vm_list(p).map(|v| v.name), nets: p.networks.keys() + p.overcloud.networks.keys()}}",
                    if name == "seed" { "\"seed\"".to_string() } else { format!("\"{}\"", profiles.join(format!("{name}.rhai")).display()) }
                ),
                "--json",
            ]);
        o.ok();
        let v = o
            .json_lines()
            .into_iter()
            .find(|l| l["event"] == "result")
            .unwrap()["value"]
            .clone();
        for want in v["vms"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["nets"].as_array().unwrap())
        {
            let want = want.as_str().unwrap();
            assert!(
                texts.iter().any(|t| t == want),
                "{name}: {want} is not in the picture"
            );
        }
    }
}

#[test]
fn create_ocp_tenant_and_teardown_plan_on_a_fresh_machine() {
    let lab = Lab::new();
    let o = lab
        .run_script("create_ocp_tenant.rhai")
        .args([
            "--plan",
            "--json",
            "--set",
            &format!("cloud={}/none/overcloudrc", lab.work().display()),
        ])
        .run();
    o.ok();
    assert!(
        o.json_lines().pop().unwrap()["totals"]["planned"]
            .as_u64()
            .unwrap()
            >= 15
    );
    lab.run_script("teardown.rhai")
        .args(["--plan"])
        .run()
        .ok()
        .stdout_has("nothing of this lab to remove");
}

#[test]
fn preflight_alone_shows_the_table_and_a_failure_starts_nothing() {
    let lab = Lab::new();
    // Alone: the table, warnings and all, and nothing else.
    for d in ["images", "ssd"] {
        std::fs::create_dir_all(lab.work().join(d)).unwrap();
    }
    let t = lab.file(
        "small-host.yaml",
        &format!(
            "libvirt_uri: test:///default\nimages: {w}/images\ndisk_folders: {{ssd: {w}/ssd}}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\nprofile: {{host: {{memory_overcommit: 10.0}}, vms: {{ceph: {{osd_disks: [1G]}}}}}}\n",
            w = lab.work().display()
        ),
    );
    // (This machine has less memory than the seed's VMs: overcommitted on purpose, preflight
    // warns instead of failing.)
    let o = lab
        .run_script("lab.rhai")
        .args(["--preflight", "--target", t.to_str().unwrap()])
        .run();
    o.ok()
        .stdout_has("OpenShift quota")
        .stdout_has("floating IPs")
        .stdout_has("BMC ports");
    assert!(!o.stderr.contains("── l0\n"), "only preflight ran");
    // The seed on this small machine, strict: the table, then the failure; nothing made.

    let o = lab
        .run_script("lab.rhai")
        .args(["--target", t.to_str().unwrap(), "--set", "strict=true"])
        .run();
    o.code(1)
        .stdout_has("memory")
        .stderr_has("preflight check(s) failed")
        .stderr_has("--from preflight");
    assert!(
        !lab.state()
            .join("out/small-host/lab/instackenv.json")
            .exists(),
        "nothing started"
    );
}

#[test]
fn preflight_refuses_a_redfish_port_that_something_else_holds() {
    let lab = Lab::new();
    // Something that is not the lab's emulator listens on the profile's Redfish port.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port();
    lab.redfish_preflight(port)
        .code(1)
        .stderr_has("BMC ports: TCP")
        .stdout_has(&format!(
            "TCP {port} in use by something other than this lab's Redfish emulator"
        ))
        .stdout_has("move bmc.redfish_port");
    drop(other);
    lab.redfish_preflight(port)
        .ok()
        .stdout_has(&format!("TCP {port} free"));
}

#[test]
fn a_target_that_cannot_be_reached_is_named_with_its_stage() {
    let lab = Lab::new();
    let t = lab.file(
        "gone.yaml",
        "libvirt_uri: \"qemu:///system?socket=/nonexistent/libvirt-sock\"\nimages: /tmp\nundercloud: {offline: true}\ncluster: {offline: true}\n",
    );
    lab.run_script("lab.rhai")
        .args(["--target", t.to_str().unwrap(), "--from", "l0"])
        .run()
        .code(1)
        .stderr_has("cannot connect to libvirt at qemu:///system?socket=/nonexistent/libvirt-sock")
        .stderr_has("stage 'l0' failed");
}

#[test]
fn a_missing_ssh_key_or_pull_secret_stops_the_ocp_stage_before_anything_is_written() {
    let lab = Lab::new();
    // A target with a cluster (not offline): the real key and pull secret are needed.
    let t = lab.file(
        "withcluster.yaml",
        "libvirt_uri: test:///default\nundercloud: {offline: true}\n",
    );
    // The ocp stage alone on that target with the variant `v`.
    let ocp_with = |v: &Path| {
        lab.run_script("lab.rhai")
            .args([
                "--target",
                t.to_str().unwrap(),
                "--profile",
                v.to_str().unwrap(),
                "--only",
                "ocp",
            ])
            .run()
    };
    let v = lab.file(
        "profiles/nokey.rhai",
        "fn overrides() { #{ ocp: #{ ssh_public_key: \"/nonexistent/id_rsa.pub\" } } }\n",
    );
    ocp_with(&v)
        .code(1)
        .stderr_has("ocp.ssh_public_key: /nonexistent/id_rsa.pub does not exist");
    let key = lab.file("id.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITest test\n");
    let v2 = lab.file(
        "profiles/nopull.rhai",
        &format!(
            "fn overrides() {{ #{{ ocp: #{{ ssh_public_key: \"{}\" }} }} }}\n",
            key.display()
        ),
    );
    ocp_with(&v2).code(1).stderr_has("pull-secret");
    assert!(
        !lab.state()
            .join("out/withcluster/lab/install-config.yaml")
            .exists(),
        "nothing half-written"
    );
}

/// A domain of another lab stops the build, and the advice says how to clear the way.
#[test]
fn a_domain_of_another_lab_is_left_alone_with_advice() {
    let lab = Lab::new();
    lab.run_script("lab.rhai")
        .args(["--only", "l0", "--only", "l1"])
        .run()
        .ok();
    let other = lab.file("other.rhai", "fn overrides() { #{ name: \"other\" } }\n");
    // Each lab has a sandbox of its own: the other lab is given the seed's, one libvirt for both.
    let shared = format!(
        "uri=test://{}",
        lab.state().join("sandbox/lab/host.xml").display()
    );
    lab.run_script("lab.rhai")
        .args([
            "--profile",
            other.to_str().unwrap(),
            "--only",
            "l1",
            "--set",
            &shared,
        ])
        .run()
        .code(1)
        .stderr_has("belongs to lab lab, not other")
        .stderr_has("stage 'l1' failed: tear lab lab down");
}

/// The plan of a fresh lab is the run: on a state folder that does not exist yet, `--plan`
/// writes nothing, says nothing of libvirt's own, repeats no line, and plans exactly the
/// operations the run then performs, stage by stage (for the seed and the current profile).
#[test]
fn the_plan_of_a_fresh_lab_is_the_run() {
    use std::collections::BTreeMap;
    for profile in ["seed", "current"] {
        let lab = Lab::new();
        std::fs::remove_dir_all(lab.state()).unwrap();
        let plan = lab
            .run_script("lab.rhai")
            .args(["--plan", "--json", "--profile", profile])
            .run();
        plan.ok();
        assert!(
            !lab.state().exists(),
            "{profile}: the plan wrote into the state folder"
        );
        let human = lab
            .run_script("lab.rhai")
            .args(["--plan", "--profile", profile])
            .run();
        human.ok();
        assert!(
            !human.stderr.contains("I/O warning") && !human.stderr.contains("warning:"),
            "{}",
            human.stderr
        );
        let mut seen = std::collections::HashSet::new();
        for l in human
            .stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("note"))
        {
            assert!(seen.insert(l.to_string()), "{profile}: repeated line {l}");
        }
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
        let planned = count(&plan, &["planned"]);
        let run = lab
            .run_script("lab.rhai")
            .args(["--json", "--profile", profile])
            .run();
        run.ok();
        let done = count(&run, &["changed", "planned"]);
        assert!(planned.len() > 30, "{profile}: {planned:?}");
        assert_eq!(planned, done, "{profile}: the plan is not the run");
    }
}

/// The L1 in two steps (l1::define, then l1::start_with_bmcs with a change to make first, as
/// tools/bench/l1.rhai does with the DHCP change of `default`): the change comes before any
/// domain is defined or started in the plan, and the BMCs are still planned.
#[test]
fn the_change_given_to_start_with_bmcs_comes_before_the_domains_start() {
    let lab = Lab::new();
    let o = lab.run([
        "--plan",
        "--json",
        "-e",
        "import \"l1\" as l1; import \"target\" as target; let s = target::setup(run_info()); let p = s.p; p.host.images = s.t.images; p.host.disk_folders = s.t.disk_folders; l1::define(s.t.uri, p); l1::start_with_bmcs(s.t.uri, p, || files::write(s.t.images + \"/before-start\", \"x\")); 1",
    ]);
    o.ok();
    let ops: Vec<String> = o
        .json_lines()
        .into_iter()
        .filter(|l| l["event"] == "effect")
        .filter_map(|l| {
            let target = l["target"].as_str().unwrap_or_default();
            let op = l["op"].as_str()?;
            Some(if target.ends_with("/before-start") {
                "the change".into()
            } else {
                op.to_string()
            })
        })
        .collect();
    let first = |op: &str| ops.iter().position(|o| o == op);
    let change = first("the change").unwrap_or_else(|| panic!("no change in {ops:?}"));
    let start = first("virt.domain.start").unwrap_or_else(|| panic!("no start in {ops:?}"));
    assert!(change < start, "the change after a start: {ops:?}");
    assert!(first("img.overlay").is_some_and(|i| i < change), "{ops:?}");
    assert_eq!(
        ops.iter().filter(|o| *o == "bmc.vbmc.add").count(),
        7,
        "{ops:?}"
    );
}

/// The plan of the L1 VMs with their BMCs plans the BMCs the profile's `bmc.type` asks for: one
/// Redfish emulator for "redfish", a VirtualBMC per node for "ipmi".
#[test]
fn a_plan_of_the_bmcs_plans_the_kind_the_profile_names() {
    let lab = Lab::new();
    for (kind, want, never) in [
        ("redfish", "bmc.sushy.start", "bmc.vbmc.add"),
        ("ipmi", "bmc.vbmc.add", "bmc.sushy.start"),
    ] {
        let o = lab.run([
            "--plan",
            "--json",
            "-e",
            &format!(
                "import \"l1\" as l1; import \"target\" as target; let s = target::setup(run_info()); let p = s.p; p.host.images = s.t.images; p.host.disk_folders = s.t.disk_folders; p.bmc.type = \"{kind}\"; l1::build_with_bmcs(s.t.uri, p); 1"
            ),
        ]);
        o.ok();
        let ops: Vec<String> = o
            .json_lines()
            .into_iter()
            .filter(|l| l["event"] == "effect")
            .filter_map(|l| l["op"].as_str().map(str::to_string))
            .collect();
        assert!(
            ops.iter().any(|op| op == want),
            "{kind}: no {want} in {ops:?}"
        );
        assert!(
            !ops.iter().any(|op| op == never),
            "{kind}: {never} in {ops:?}"
        );
    }
}

#[test]
fn a_targets_own_profile_values_are_the_defaults_of_its_folders_and_undercloud() {
    let lab = Lab::new();
    let w = lab.work().display().to_string();
    // No `images` key and no undercloud host: the target's profile block says them.
    let t = lab.file(
        "own.yaml",
        &format!("libvirt_uri: test:///default\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\nprofile: {{host: {{images: {w}/custom}}, undercloud: {{host: 10.0.0.5}}}}\n"),
    );
    let f = lab.file(
        "show.rhai",
        "import \"target\" as target;\nlet s = target::setup(run_info());\nprint(`images ${s.p.host.images} ${s.t.images}`);\nprint(`undercloud ${s.t.undercloud.host}`);\n",
    );
    lab.run(["run", f.to_str().unwrap(), "--target", t.to_str().unwrap()])
        .ok()
        .stdout_has(&format!("images {w}/custom {w}/custom"))
        .stdout_has("undercloud 10.0.0.5");
}

/// profiles/netopts.rhai: the shipped text with `from` replaced by `to` (each must be there).
fn netopts_with(edits: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/netopts.rhai");
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "{from} is not in profiles/netopts.rhai"
        );
        text = text.replacen(from, to, 1);
    }
    text
}

#[test]
fn the_netopts_lab_makes_the_networks_the_overcloud_carries_the_vlan_and_install_config_has_their_ids(
) {
    let lab = Lab::new();
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "netopts"])
        .env("LABSH_SECRET_REGISTRY_PASSWORD", "registry-pw-of-the-test")
        .run();
    o.ok();
    // The tenant stage: the management provider network (VLAN 100 on datacentre, shared), its
    // subnet with the pool and the route to the metadata address, the machines' network with
    // its router, the security group and its rule.
    o.stderr_has("planned  cloud.network.create mgmt")
        .stderr_has("\"provider:network_type\":\"vlan\",\"provider:physical_network\":\"datacentre\",\"provider:segmentation_id\":100,\"shared\":true")
        .stderr_has("planned  cloud.subnet.create mgmt-subnet")
        .stderr_has("planned  cloud.network.create machines")
        .stderr_has("planned  cloud.router.create machines-router")
        .stderr_has("planned  cloud.router.interface machines-router → machines-subnet")
        .stderr_has("planned  cloud.security_group.create mgmt-ssh")
        .stderr_has("planned  cloud.security_group_rule.create mgmt-ssh ingress tcp 22-22 from 192.168.100.0/24");
    let subnet = lab
        .last_journal()
        .into_iter()
        .find(|e| e["op"] == "cloud.subnet.create" && e["target"] == "mgmt-subnet")
        .expect("the management subnet is planned");
    assert_eq!(
        subnet["args"]["spec"]["host_routes"],
        serde_json::json!([{"destination": "169.254.169.254/32", "nexthop": "192.168.100.1"}]),
        "{subnet}"
    );
    assert_eq!(subnet["args"]["spec"]["gateway_ip"], "192.168.100.1");
    let out = lab.state().join("out/sandbox/netopts");
    let params = std::fs::read_to_string(out.join("lab-parameters.yaml")).unwrap();
    assert!(
        params.contains("NeutronBridgeMappings:\n  - datacentre:br-ex")
            && params.contains("NeutronNetworkVLANRanges:\n  - datacentre:100:109"),
        "{params}"
    );
    // install-config.yaml: the workers' additional network and security group, the machines'
    // port on the pre-made subnet, the VIPs; the ids the tenant step gives them (planned here).
    let ic = std::fs::read_to_string(out.join("install-config.yaml")).unwrap();
    for want in [
        "compute:\n- hyperthreading: Enabled\n  name: worker\n  platform:\n    openstack:\n      additionalNetworkIDs:\n      - (planned network mgmt)\n      additionalSecurityGroupIDs:\n      - (planned security_group mgmt-ssh)\n",
        "controlPlane:\n  hyperthreading: Enabled\n  name: master\n  platform: {}\n",
        "  machineNetwork:\n  - cidr: 10.0.0.0/16\n",
        "    apiVIPs:\n    - \"10.0.0.5\"\n",
        "    controlPlanePort:\n      fixedIPs:\n      - subnet:\n          id: (planned subnet machines-subnet)\n      network:\n        id: (planned network machines)\n",
        "    ingressVIPs:\n    - \"10.0.0.7\"\n",
    ] {
        assert!(ic.contains(want), "{want} not in:\n{ic}");
    }
    // The seed asks for none of it.
    let seed = Lab::new();
    let o = seed.run_script("lab.rhai").run();
    o.ok();
    assert!(!o.stderr.contains("cloud.network.create"), "{}", o.stderr);
    let params =
        std::fs::read_to_string(seed.state().join("out/sandbox/lab/lab-parameters.yaml")).unwrap();
    assert!(!params.contains("NeutronNetworkVLANRanges"), "{params}");
}

#[test]
fn network_options_the_release_or_the_overcloud_refuses_are_named_before_anything_runs() {
    let lab = Lab::new();
    let refused = |name: &str, text: String, wants: &[&str]| {
        let v = lab.file(&format!("profiles/{name}.rhai"), &text);
        let o = lab
            .run_script("lab.rhai")
            .args(["--profile", v.to_str().unwrap()])
            .run();
        o.code(1);
        for w in wants {
            o.stderr_has(w);
        }
        assert!(o.stderr.contains(&format!("{name}.rhai: ")), "{}", o.stderr);
        assert!(!lab.state().join("sandbox").exists(), "{name}: nothing ran");
    };
    // The options on OpenShift 4.2, which has none of them.
    refused(
        "old",
        netopts_with(&[("version: \"4.22\"", "version: \"4.2.4\"")]),
        &[
            "ocp.pools.compute.networks: OpenShift 4.2 has no such field: it comes in 4.5 (additionalNetworkIDs)",
            "ocp.pools.compute.security_groups: OpenShift 4.2 has no such field: it comes in 4.5",
            "ocp.machines_network: OpenShift 4.2 always makes the machines' network itself",
            "ocp.vips.api: OpenShift 4.2 takes no VIP address",
        ],
    );
    // A VLAN outside the overcloud's provider ranges, and one of the overcloud's own.
    refused(
        "vlan",
        netopts_with(&[("vlan: 100,", "vlan: 20,")]),
        &[
            "tenant.networks.mgmt.vlan: VLAN 20 on datacentre is outside the overcloud's provider VLAN ranges (datacentre:100:109)",
            "tenant.networks.mgmt.vlan: VLAN 20 is the overcloud's internal_api network's",
        ],
    );
    // The machines on the provider network: not shared, no route to the metadata address.
    refused(
        "provider",
        netopts_with(&[
            ("machines_network: \"machines\"", "machines_network: \"mgmt\""),
            ("\"shared\": true, metadata_route: \"192.168.100.1\"", "\"shared\": false, metadata_route: ()"),
        ]),
        &[
            "tenant.networks.mgmt.shared: a provider network of the machines must be shared",
            "tenant.networks.mgmt.metadata_route: a provider network of the machines needs a route to the metadata address 169.254.169.254",
            "ocp.machine_cidr: 10.0.0.0/16 must be the CIDR of the machines' subnet tenant.networks.mgmt.cidr (192.168.100.0/24)",
            "ocp.vips.api: \"10.0.0.5\" is not an address of the machines' subnet 192.168.100.0/24",
        ],
    );
    // A pool naming a network the tenant does not make; a misspelled key of a network.
    refused(
        "names",
        netopts_with(&[
            ("networks: [\"mgmt\"]", "networks: [\"mgmnt\"]"),
            ("metadata_route: \"192.168.100.1\"", "metadata_rout: \"192.168.100.1\""),
        ]),
        &[
            "ocp.pools.compute.networks: \"mgmnt\" is not one of tenant.networks (machines, mgmt)",
            "unknown key 'tenant.networks.mgmt.metadata_rout' (did you mean 'tenant.networks.mgmt.metadata_route'?)",
        ],
    );
}
