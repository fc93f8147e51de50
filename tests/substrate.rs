//! A RHOSO lab's L1 and its OpenShift substrate (stdlib/l1.rhai's build_rhoso,
//! stdlib/substrate.rhai) through the real binary: install-config.yaml and agent-config.yaml of a
//! single-node and a compact substrate pass the agent installer's rules for OpenShift 4.18, and
//! each broken rule is named with its file and key; the L1 and the substrate stage run on the
//! sandbox (libvirt's test driver) with a stand-in `openshift-install` (a shell script: no
//! OpenShift can be installed on this machine) that writes what the real one writes (the ISO,
//! auth/kubeconfig, the configs consumed) and prints lines of the kind the real one prints; the
//! ISO is attached to the substrate's VM (its domain XML read back), a second run changes
//! nothing, a run killed during `agent wait-for` continues with the wait, and bad input stops
//! before anything is made.

use crate::support::{kill_at_line, Lab};
use std::path::PathBuf;

/// The stand-in openshift-install in work/bin: each call appended to OUT/standin-calls; `agent
/// create image` needs both configs in its folder, removes them (the real one consumes them),
/// writes agent.x86_64.iso and auth/kubeconfig; `agent wait-for install-complete` sleeps
/// `$STANDIN_SLOW` seconds first when that is set.
fn stand_in(lab: &Lab) -> PathBuf {
    let body = r#"#!/bin/sh
# A stand-in for openshift-install's agent commands, for tests: no OpenShift is installed.
[ "$1" = agent ] || exit 9
dir="$5"
echo "$2 $3" >> "$dir/../standin-calls"
case "$2 $3" in
"create image")
  [ -f "$dir/install-config.yaml" ] && [ -f "$dir/agent-config.yaml" ] || { echo 'level=fatal msg="missing install-config.yaml or agent-config.yaml"' >&2; exit 3; }
  echo 'level=info msg="Configuration has 1 master replicas and 0 worker replicas"' >&2
  echo 'level=info msg="The rendezvous host IP (node0 IP) is 192.168.122.10"' >&2
  echo 'level=info msg="Consuming Install Config from target directory"' >&2
  echo 'level=info msg="Consuming Agent Config from target directory"' >&2
  rm -f "$dir/install-config.yaml" "$dir/agent-config.yaml"
  echo "stand-in ISO" > "$dir/agent.x86_64.iso"
  mkdir -p "$dir/auth"; echo "stand-in kubeconfig" > "$dir/auth/kubeconfig"
  echo "level=info msg=\"Generated ISO at $dir/agent.x86_64.iso\"" >&2 ;;
"wait-for bootstrap-complete")
  echo 'level=info msg="Bootstrap configMap status is complete"' >&2
  echo 'level=info msg="cluster bootstrap is complete"' >&2 ;;
"wait-for install-complete")
  echo 'level=info msg="Waiting up to 40m0s (until 10:40AM) for the cluster at https://api.rhoso.osd2019.local:6443 to initialize..."' >&2
  [ -n "$STANDIN_SLOW" ] && sleep "$STANDIN_SLOW" && exit 1
  echo 'level=debug msg="Still waiting for the cluster to initialize: Working towards 4.18.1: 98% complete"' >&2
  echo 'level=info msg="Cluster is installed"' >&2
  echo 'level=info msg="Install complete!"' >&2 ;;
*) exit 9 ;;
esac
"#;
    let p = lab.file("bin/openshift-install", body);
    let mut perm = std::fs::metadata(&p).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
    std::fs::set_permissions(&p, perm).unwrap();
    p
}

const PULL: &str = "{\"auths\":{\"registry.example\":{\"auth\":\"c2VjcmV0LXB1bGw=\"}}}";

/// The script a test runs with --profile rhoso on the sandbox: the lab's networks, the RHOSO L1,
/// and the substrate stage for real (the sandbox only stands in for it otherwise), then the
/// substrate VM's definition printed.
fn stage_script(lab: &Lab) -> PathBuf {
    stage_script_with(lab, "")
}

/// The same with `extra` run just before the stage.
fn stage_script_with(lab: &Lab, extra: &str) -> PathBuf {
    lab.file(
        "stage.rhai",
        &r#"import "target" as target;
import "l0" as l0;
import "l1" as l1;
import "substrate" as substrate;
let s = target::setup(run_info());
let p = s.p;
let t = s.t;
l0::networks(t.uri, p);
l1::build_rhoso(t.uri, p, #{ key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test", customize_offline: "the sandbox has no libguestfs" });
virt::sandbox_save(t.uri);
t.offline.remove("substrate");
EXTRA
let r = substrate::install(p, t, #{ key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestKey test", pull: secret("pull-secret") });
print(`installed: ${r.installed}`);
print(`state: ${virt::domain_state(t.uri, "rhoso-ocp01")}`);
print(`autostart: ${virt::domain_list(t.uri).filter(|d| d.name == "rhoso-ocp01")[0].autostart}`);
print(virt::domain_definition(t.uri, "rhoso-ocp01"));
"#
        .replace("EXTRA", extra),
    )
}

fn path_with(lab: &Lab) -> String {
    format!(
        "{}:{}",
        lab.work().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn out_dir(lab: &Lab) -> PathBuf {
    lab.state().join("out/sandbox/rhoso")
}

#[test]
fn the_substrate_stage_attaches_the_agent_iso_waits_for_the_install_and_converges() {
    let lab = Lab::new();
    stand_in(&lab);
    let f = stage_script(&lab);
    let run = |json: bool| {
        let mut args = vec!["run", f.to_str().unwrap(), "--profile", "rhoso"];
        if json {
            args.push("--json");
        }
        lab.labsh()
            .args(args)
            .env("PATH", &path_with(&lab))
            .env("LABSH_SECRET_PULL_SECRET", PULL)
            .run()
    };
    let o = run(false);
    o.ok();
    let text = format!("{}{}", o.stdout, o.stderr);
    assert!(
        !text.contains("c2VjcmV0LXB1bGw="),
        "the pull secret never shows"
    );
    assert!(text.contains("installed: true"), "{text}");
    assert!(
        text.contains("Generated ISO at"),
        "the installer's lines are shown"
    );
    assert!(text.contains("progress 4.18.1: 98% complete"), "{text}");
    let out = out_dir(&lab);
    // The installer consumed its configs; the copies are kept, private (the pull secret).
    assert!(!out.join("substrate/install-config.yaml").exists());
    for f in ["install-config.yaml", "agent-config.yaml"] {
        let p = out.join("substrate-config").join(f);
        let mode = std::fs::metadata(&p).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600,
            "{f}"
        );
    }
    let ac = std::fs::read_to_string(out.join("substrate-config/agent-config.yaml")).unwrap();
    assert!(ac.contains("rendezvousIP: \"192.168.122.10\""), "{ac}");
    assert!(out.join("substrate/auth/kubeconfig").is_file());
    assert!(out.join("substrate/labsh-agent.log").is_file());
    // The ISO attached: the substrate VM's CD-ROM holds it, it boots its disk, then the CD-ROM,
    // and it runs; its MACs are agent-config.yaml's.
    let xml = &o.stdout.replace('\'', "\"");
    let iso = lab
        .state()
        .join("sandbox/rhoso/images/rhoso-agent.x86_64.iso");
    assert_eq!(std::fs::read_to_string(&iso).unwrap(), "stand-in ISO\n");
    assert!(xml.contains(&format!("{}", iso.display())), "{xml}");
    let cdrom = xml.find("device=\"cdrom\"").expect("a CD-ROM");
    assert!(
        xml[cdrom..].contains(&format!("<source file=\"{}\"/>", iso.display())),
        "{xml}"
    );
    let boots: Vec<&str> = xml
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("<boot dev="))
        .collect();
    assert_eq!(
        boots,
        ["<boot dev=\"hd\"/>", "<boot dev=\"cdrom\"/>"],
        "{xml}"
    );
    assert!(xml.contains("state: running"), "{xml}");
    assert!(xml.contains("autostart: true"), "{xml}");
    let mac = ac
        .split("macAddress: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    assert!(xml.contains(mac), "{mac} in {xml}");
    let calls = std::fs::read_to_string(out.join("standin-calls")).unwrap();
    assert_eq!(
        calls,
        "create image\nwait-for bootstrap-complete\nwait-for install-complete\n"
    );

    // A second run installs nothing and changes nothing.
    let second = run(true);
    second.ok();
    let recap = second.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
    assert!(second.stdout.contains("installed: false"));
    assert_eq!(
        std::fs::read_to_string(out.join("standin-calls")).unwrap(),
        calls
    );
}

#[test]
fn a_run_killed_during_the_wait_for_the_install_continues_with_the_wait() {
    let lab = Lab::new();
    stand_in(&lab);
    let f = stage_script(&lab);
    let mut cmd = lab
        .labsh()
        .args(["run", f.to_str().unwrap(), "--profile", "rhoso", "--json"])
        .env("PATH", &path_with(&lab))
        .env("LABSH_SECRET_PULL_SECRET", PULL)
        .env("STANDIN_SLOW", "2")
        .command();
    let seen = kill_at_line(&mut cmd, |l| l.contains("Waiting up to 40m0s")).unwrap();
    assert!(!seen.is_empty());
    // The stand-in's wait ends on its own; then the next run continues.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let out = out_dir(&lab);
    assert!(!out.join("substrate/.labsh-agent-install-complete").exists());
    let o = lab
        .labsh()
        .args(["run", f.to_str().unwrap(), "--profile", "rhoso"])
        .env("PATH", &path_with(&lab))
        .env("LABSH_SECRET_PULL_SECRET", PULL)
        .run();
    o.ok().stdout_has("installed: true");
    // The image was made once, bootstrap waited for once, the install waited for again.
    assert_eq!(
        std::fs::read_to_string(out.join("standin-calls")).unwrap(),
        "create image\nwait-for bootstrap-complete\nwait-for install-complete\nwait-for install-complete\n"
    );
}

#[test]
fn a_substrate_whose_kubeconfig_answers_is_not_installed_again() {
    let lab = Lab::new();
    stand_in(&lab);
    // The Kubernetes API stand-in serves Ready nodes (tests/harness/kubeapi.py).
    let api = crate::oc::KubeApi::start(&lab);
    let f = stage_script_with(
        &lab,
        &format!(
            "t.substrate_kubeconfig = {:?};",
            api.kubeconfig.display().to_string()
        ),
    );
    let o = lab
        .labsh()
        .args(["run", f.to_str().unwrap(), "--profile", "rhoso"])
        .env("PATH", &path_with(&lab))
        .env("LABSH_SECRET_PULL_SECRET", PULL)
        .run();
    o.ok()
        .stdout_has("answers, every node Ready: not installed again")
        .stdout_has("installed: false");
    let out = out_dir(&lab);
    assert!(
        !out.join("standin-calls").exists(),
        "the installer never ran"
    );
    assert!(!out.join("substrate-config").exists(), "no file written");
}

/// Runs `body` (a script with `p`, the rhoso example profile, and `key`) and returns its output.
fn eval(lab: &Lab, name: &str, body: &str) -> crate::support::Out {
    let f = lab.file(
        name,
        &format!(
            "import \"substrate\" as substrate;\nimport \"rhoso\" as rhoso;\nlet p = rhoso::example();\nlet macs = #{{ \"rhoso-ocp01\": [\"52:54:00:00:00:01\", \"52:54:00:00:00:02\", \"52:54:00:00:00:03\"], \"rhoso-ocp02\": [\"52:54:00:00:00:11\"], \"rhoso-ocp03\": [\"52:54:00:00:00:21\"] }};\n{body}\n"
        ),
    );
    lab.run_file(&f)
}

#[test]
fn the_files_of_a_single_node_and_a_compact_substrate_pass_the_installers_rules() {
    let lab = Lab::new();
    let o = eval(
        &lab,
        "good.rhai",
        r#"let ic = substrate::install_config(p, "ssh-ed25519 AAAA lab", "{}");
let ac = substrate::agent_config(p, macs);
print(`sno: ${substrate::problems(p, ic, ac)} ${ic.platform.keys()} ${ic.controlPlane.replicas} ${ic.compute[0].replicas}`);
p.rhoso.substrate = "compact";
p.vms.ocp.count = 3; p.vms.ocp.memory_mib = 16384; p.vms.ocp.vcpus = 4;
let ic = substrate::install_config(p, "ssh-ed25519 AAAA lab", "{}");
let ac = substrate::agent_config(p, macs);
print(`compact: ${substrate::problems(p, ic, ac)} ${ic.platform.baremetal.apiVIPs} ${ic.platform.baremetal.ingressVIPs} ${ac.hosts.map(|h| h.networkConfig.interfaces[0].ipv4.address[0].ip)}`);
print(`profile: ${rhoso::profile_problems(p, "compact.rhai")}`);"#,
    );
    o.ok()
        .stdout_has("sno: [] [\"none\"] 1 0")
        .stdout_has("compact: [] [\"192.168.122.8\"] [\"192.168.122.9\"] [\"192.168.122.10\", \"192.168.122.11\", \"192.168.122.12\"]")
        .stdout_has("profile: []");
}

#[test]
fn each_broken_rule_of_the_substrates_files_names_its_file_and_key() {
    let lab = Lab::new();
    // Each case breaks one rule of a good single-node pair (ic, ac) and prints the problems.
    let cases = [
        ("ac.rendezvousIP = \"10.9.9.9\";",
         "agent-config.yaml: rendezvousIP: 10.9.9.9 is outside install-config.yaml's networking.machineNetwork [\"192.168.122.0/24\"]"),
        ("ac.rendezvousIP = \"192.168.122.77\";",
         "agent-config.yaml: rendezvousIP: 192.168.122.77 is no host's address in its networkConfig"),
        ("ac.hosts[0].interfaces[1].macAddress = ac.hosts[0].interfaces[0].macAddress;",
         "agent-config.yaml: hosts[0].interfaces[1].macAddress: 52:54:00:00:00:01 is given twice"),
        ("ac.hosts[0].interfaces[2].macAddress = \"\";",
         "agent-config.yaml: hosts[0].interfaces[2].macAddress: missing"),
        ("ac.hosts[0].role = \"arbiter\";",
         "agent-config.yaml: hosts[0].role: \"arbiter\": a host's role is master or worker"),
        ("ic.platform = #{ baremetal: #{ apiVIPs: [\"192.168.122.8\"], ingressVIPs: [\"192.168.122.9\"] } };",
         "install-config.yaml: platform: \"baremetal\": only platform none or external installs 1 control-plane node and 0 computes"),
        ("ic.compute[0].replicas = 2;",
         "install-config.yaml: compute.replicas: 2: a single-node OpenShift (controlPlane.replicas 1) has 0 computes"),
        ("ic.networking.networkType = \"OpenShiftSDN\";",
         "install-config.yaml: networking.networkType: \"OpenShiftSDN\": OpenShift 4.18 refuses OpenShiftSDN (since 4.15); use OVNKubernetes"),
        ("ac.hosts[0].interfaces[0].macAddress = \"01:00:5e:00:00:01\";",
         "agent-config.yaml: hosts[0].interfaces[0].macAddress: \"01:00:5e:00:00:01\" is a multicast MAC address"),
        ("ac.hosts[0].rootDeviceHints = #{ deviceName: \"/dev/disk/by-id/wwn-0x5000c500\" };",
         "agent-config.yaml: hosts[0].rootDeviceHints.deviceName: \"/dev/disk/by-id/wwn-0x5000c500\": a path in /dev or /dev/disk/by-path"),
        ("ic.compute = [];",
         "install-config.yaml: compute.replicas: 3: a single-node OpenShift (controlPlane.replicas 1) has 0 computes"),
        ("ic.controlPlane.replicas = 2;",
         "install-config.yaml: controlPlane.replicas: 2: the agent installer of 4.18 takes [1, 3, 4, 5]"),
        ("ic.controlPlane.replicas = 3; ic.platform = #{ none: #{} };",
         "agent-config.yaml: hosts: 1 of role master, and install-config.yaml's controlPlane.replicas is 3"),
    ];
    for (i, (change, want)) in cases.iter().enumerate() {
        let o = eval(
            &lab,
            &format!("bad{i}.rhai"),
            &format!("let ic = substrate::install_config(p, \"ssh-ed25519 AAAA lab\", \"{{}}\");\nlet ac = substrate::agent_config(p, macs);\n{change}\nfor e in substrate::problems(p, ic, ac) {{ print(e); }}"),
        );
        o.ok().stdout_has(want);
    }
}

#[test]
fn bad_substrate_input_stops_before_anything_is_made() {
    let lab = Lab::new();
    stand_in(&lab);
    // A substrate VM without the NICs, too small a substrate: the profile's checks.
    for (name, over, want) in [
        ("nonics", "vms: #{ ocp: #{ nics: [\"default\"] } }",
         "profiles/nonics.rhai: vms.ocp.nics: the substrate needs 3 NICs (enp1s0: the machine network, enp2s0: ctlplane, enp3s0: the VLAN trunk), it has 1"),
        ("small", "vms: #{ ocp: #{ vcpus: 8 } }",
         "profiles/small.rhai: vms.ocp.vcpus: 8 is below the 12 vCPUs a single-node OpenShift needs"),
        ("compact", "rhoso: #{ substrate: \"compact\" }, vms: #{ ocp: #{ count: 3, memory_mib: 8192 } }",
         "profiles/compact.rhai: vms.ocp.memory_mib: 8192 MiB: each node of a compact OpenShift needs 16384 MiB"),
    ] {
        lab.file(
            &format!("profiles/{name}.rhai"),
            &format!("fn overrides() {{ #{{ base: \"rhoso\", {over} }} }}\n"),
        );
        let f = stage_script(&lab);
        let o = lab
            .labsh()
            .args(["run", f.to_str().unwrap(), "--profile", &format!("profiles/{name}.rhai")])
            .env("PATH", &path_with(&lab))
            .env("LABSH_SECRET_PULL_SECRET", PULL)
            .run();
        o.code(1).stderr_has(want);
        assert!(!lab.state().join("sandbox").exists(), "{name}: nothing made");
        assert!(!lab.state().join("out").exists(), "{name}: nothing made");
    }
    // A rendezvous IP outside the machine network: the stage's own check, before any file.
    let f = lab.file(
        "rendezvous.rhai",
        r#"import "substrate" as substrate;
import "rhoso" as rhoso;
let p = rhoso::example();
let ac = substrate::agent_config(p, #{ "rhoso-ocp01": ["52:54:00:00:00:01"] });
ac.rendezvousIP = "10.0.0.10";
substrate::write_files(p, run_info().state_dir + "/out-rv", substrate::install_config(p, "ssh-ed25519 AAAA lab", "{}"), ac);
"#,
    );
    let o = lab.run_file(&f);
    o.code(1)
        .stderr_has("the substrate's install files have 2 problem(s) for OpenShift 4.18's agent installer")
        .stderr_has("agent-config.yaml: rendezvousIP: 10.0.0.10 is outside install-config.yaml's networking.machineNetwork [\"192.168.122.0/24\"]");
    assert!(!lab.state().join("out-rv").exists(), "nothing written");
}
