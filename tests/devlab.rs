//! lab.rhai on a devlab-style target with the real stack: a libvirtd under emulation of this
//! test's own, VirtualBMC, and the devcloud. l0, l1, the tenant and the ingress floating IP are
//! applied; the run is killed at every stage boundary and run again; teardown leaves libvirt and
//! the cloud as they were, look-alikes included.

use crate::support::bmc::Vbmcd;
use crate::support::devcloud::{devcloud, osc_status};
use crate::support::host::{snapshot, RealHost};
use crate::support::ports::free_ports;
use crate::support::{kill_at_line, script, Lab};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn osc(clouds: &Path, args: &[&str]) -> Value {
    crate::support::devcloud::osc(clouds, "devcloud", args)
}

/// The same, for a command that may fail (removing what an earlier, failed run left).
fn osc_try(clouds: &Path, args: &[&str]) {
    osc_status(clouds, "devcloud", args);
}

fn osc_do(clouds: &Path, args: &[&str]) {
    assert!(osc_status(clouds, "devcloud", args), "openstack {args:?}");
}

/// What the cloud holds under the names this test's lab uses, and look-alikes.
fn cloud_snapshot(clouds: &Path, prefix: &str) -> Vec<String> {
    let mut v = vec![];
    for (args, key) in [
        (vec!["project", "list"], "Name"),
        (vec!["user", "list"], "Name"),
        (vec!["flavor", "list", "--all"], "Name"),
        (vec!["image", "list"], "Name"),
        (vec!["floating", "ip", "list"], "Floating IP Address"),
    ] {
        for x in osc(clouds, &args).as_array().unwrap() {
            let n = x[key].as_str().unwrap_or_default().to_string();
            if n.starts_with(prefix) || n == "192.168.122.230" || n == "192.168.122.231" {
                v.push(format!("{} {n}", args[0]));
            }
        }
    }
    v.sort();
    v
}

/// Runs labsh and kills it as soon as stage `stage` is done (read from its --json events).
fn kill_after(lab: &Lab, args: &[String], stage: &str) {
    let mut c = lab.labsh().args(args.iter().cloned()).command();
    let done = format!("\"stage\":\"{stage}\"");
    if let Err(out) = kill_at_line(&mut c, |l| {
        l.contains("\"event\":\"stage\"") && l.contains(&done) && l.contains("\"status\":\"done\"")
    }) {
        panic!("the run ended before stage {stage} was done:\n{out}");
    }
}

#[test]
fn the_devlab_target_applies_converges_after_kills_and_tears_down_to_what_was_there() {
    let clouds = devcloud();
    let host = RealHost::start("devlabtest");
    let lab = Lab::new();
    let vbmcd = Vbmcd::start(&lab.work().join("vbmcd"));
    // The seven BMCs' ports, all free, below the ephemeral range other programs' sockets take.
    let port_base = free_ports(24000, 7);
    let p = "t-dl";
    let image = lab.work().join("rhcos-standin.qcow2");
    crate::support::qcow2(&image, "4M");
    // A variant for this test: its own tenant names and floating IPs on the shared devcloud.
    let variant = lab.file(
        "profiles/devlabtest.rhai",
        &format!(
            // A name of its own for everything it makes on the shared devcloud, the image too, so
            // OpenShift 4.5: it boots the image clusterOSImage names (4.2 boots `rhcos`), and it
            // is the last release whose ingress floating IP is attached after the install.
            "fn overrides() {{ #{{ name: \"{p}\", ocp: #{{ version: \"4.5.0\" }}, bmc: #{{ port_base: {port_base} }}, tenant: #{{ project: \"{p}-tenant\", user: \"{p}-user\", flavor: #{{ name: \"{p}-master\" }},\n  api_fip: \"192.168.122.230\", ingress_fip: \"192.168.122.231\", image: #{{ name: \"{p}-rhcos\", file: \"{}\" }} }} }} }}\n",
            image.display()
        ),
    );
    // The profile's SSD folder: a disk folder must exist before the lab puts disks in it.
    std::fs::create_dir_all(host.dir.join("images-ssd")).unwrap();
    let target = lab.file(
        "targets/devlabtest.yaml",
        &format!(
            "libvirt_uri: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\ndomain_type: qemu\nbmc: {{address: 127.0.0.1, config: \"{}\"}}\ncloud: {{cloud: devcloud, clouds_yaml: \"{}\"}}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\nprofile:\n  vms:\n    undercloud: {{memory_mib: 512, vcpus: 1}}\n    ctrl: {{memory_mib: 256, vcpus: 1}}\n    ceph: {{memory_mib: 256, vcpus: 1, osd_disks: [\"1G\"]}}\n    compute: {{memory_mib: 256, vcpus: 1}}\n",
            host.uri,
            host.images().display(),
            host.dir.join("images-ssd").display(),
            vbmcd.config.display(),
            clouds.display()
        ),
    );
    let infra = format!("{p}-x1y2z");
    // `run scripts/NAME FLAG` on this target with this variant.
    let run_args = |name: &str, flag: &str| -> Vec<String> {
        [
            "run",
            script(name).to_str().unwrap(),
            flag,
            "--target",
            target.to_str().unwrap(),
            "--profile",
            variant.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let teardown = run_args("teardown.rhai", "--yes");
    // What an earlier run of this test may have left on the shared devcloud.
    let installer_cleanup = |clouds: &Path| {
        osc_try(
            clouds,
            &["floating", "ip", "unset", "--port", "192.168.122.231"],
        );
        osc_try(
            clouds,
            &[
                "router",
                "remove",
                "subnet",
                &format!("{infra}-external-router"),
                &format!("{infra}-nodes"),
            ],
        );
        osc_try(
            clouds,
            &["router", "delete", &format!("{infra}-external-router")],
        );
        osc_try(
            clouds,
            &[
                "port",
                "delete",
                &format!("{infra}-api-port"),
                &format!("{infra}-ingress-port"),
            ],
        );
        osc_try(
            clouds,
            &["network", "delete", &format!("{infra}-openshift")],
        );
    };
    installer_cleanup(&clouds);
    osc_try(&clouds, &["project", "delete", &format!("{p}-tenant-keep")]);
    osc_try(&clouds, &["flavor", "delete", &format!("{p}-master-keep")]);
    lab.run(teardown.clone()).ok();
    // Look-alikes that labsh did not make, and the state before.
    osc_do(&clouds, &["project", "create", &format!("{p}-tenant-keep")]);
    osc_do(
        &clouds,
        &[
            "flavor",
            "create",
            "--ram",
            "512",
            "--vcpus",
            "1",
            "--disk",
            "1",
            &format!("{p}-master-keep"),
        ],
    );
    let libvirt_before = snapshot(&host);
    let cloud_before = cloud_snapshot(&clouds, p);

    let args = run_args("lab.rhai", "--json");
    // The plan shows each domain and BMC once, and changes nothing.
    let mut plan_args = args.clone();
    plan_args.push("--plan".into());
    let plan = lab.run(plan_args);
    plan.ok();
    assert_eq!(plan.planned("virt.domain.define"), 8);
    assert_eq!(plan.planned("virt.domain.start"), 8);
    assert_eq!(plan.planned("bmc.vbmc.add"), 7);
    assert_eq!(snapshot(&host), libvirt_before, "a plan changes nothing");

    // Killed right after each applied stage, then run again: it continues.
    for stage in ["l0", "l1", "undercloud", "tenant"] {
        kill_after(&lab, &args, stage);
    }
    let first = lab.run(args.clone());
    first.ok();
    let again = lab.run(args.clone());
    again.ok();
    let recap = again.json_lines().pop().unwrap();
    assert_eq!(
        recap["totals"]["changed"], 0,
        "a second run changes nothing: {recap}"
    );

    // Nothing twice: one of each VM, one project, one flavor, one of each floating IP.
    let doms = host.virsh(&["list", "--all", "--name"]);
    assert_eq!(
        doms.lines()
            .filter(|l| l.trim() == "overcloud-ctrl01")
            .count(),
        1
    );
    assert_eq!(
        doms.lines().filter(|l| !l.trim().is_empty()).count(),
        8,
        "{doms}"
    );
    let snap = cloud_snapshot(&clouds, p);
    for want in [
        format!("project {p}-tenant"),
        format!("user {p}-user"),
        format!("flavor {p}-master"),
        format!("image {p}-rhcos"),
        "floating 192.168.122.230".to_string(),
        "floating 192.168.122.231".to_string(),
    ] {
        assert_eq!(
            snap.iter().filter(|s| **s == want).count(),
            1,
            "{want} in {snap:?}"
        );
    }
    // The BMCs answer IPMI for the lab's domains.
    let pw = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let pw = pw
        .lines()
        .find_map(|l| l.strip_prefix("bmc-password="))
        .unwrap()
        .to_string();
    let ipmi = Command::new("ipmitool")
        .args([
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            &port_base.to_string(),
            "-U",
            "admin",
            "-P",
            &pw,
            "power",
            "status",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ipmi.stdout).contains("Chassis Power is on"),
        "{}",
        String::from_utf8_lossy(&ipmi.stderr)
    );

    // The installer's ports, made the way it makes them, then the ocp stage attaches the
    // ingress floating IP to the ingress port.
    let out = lab.state().join("out/devlabtest").join(p);
    let tenant = format!("{p}-tenant");
    let f = lab.file(
        "installer-ports.rhai",
        &format!(
            r#"
let c = "devcloud";
cloud::network_ensure(c, #{{name: "{infra}-openshift", project: "{tenant}"}});
cloud::subnet_ensure(c, #{{name: "{infra}-nodes", network: "{infra}-openshift", cidr: "10.0.0.0/16", project: "{tenant}"}});
cloud::router_ensure(c, #{{name: "{infra}-external-router", external_network: "external", subnets: ["{infra}-nodes"], project: "{tenant}"}});
cloud::port_ensure(c, #{{name: "{infra}-api-port", network: "{infra}-openshift", fixed_ip: "10.0.0.5", tags: ["openshiftClusterID={infra}"], project: "{tenant}"}});
cloud::port_ensure(c, #{{name: "{infra}-ingress-port", network: "{infra}-openshift", fixed_ip: "10.0.0.7", tags: ["openshiftClusterID={infra}"], project: "{tenant}"}});
files::write("{out}/ocp/metadata.json", `{{"clusterName":"ocp4","infraID":"{infra}"}}`);
"#,
            out = out.display()
        ),
    );
    lab.labsh()
        .args(["run", f.to_str().unwrap()])
        .env("OS_CLIENT_CONFIG_FILE", clouds.to_str().unwrap())
        .run()
        .ok();
    let mut ocp_args = args.clone();
    ocp_args.extend(["--only".to_string(), "ocp".to_string()]);
    lab.run(ocp_args).ok();
    let fip = osc(&clouds, &["floating", "ip", "show", "192.168.122.231"]);
    let port = osc(&clouds, &["port", "show", &format!("{infra}-ingress-port")]);
    assert_eq!(fip["port_id"], port["id"]);
    assert_eq!(fip["fixed_ip_address"], "10.0.0.7");

    // Teardown: what the installer made is the installer's to remove; labsh removes its own.
    installer_cleanup(&clouds);
    lab.run(teardown.clone()).ok();
    assert_eq!(snapshot(&host), libvirt_before, "libvirt is as it was");

    // From nothing again, the host's stages in one run (the domains start after l0 wrote its
    // artifacts), then a second run that changes nothing.
    let mut host_args = args.clone();
    host_args.extend(["--only", "l0", "--only", "l1"].map(String::from));
    lab.run(host_args.clone()).ok();
    let second = lab.run(host_args);
    second.ok();
    let recap = second.json_lines().pop().unwrap();
    assert_eq!(
        recap["totals"]["changed"], 0,
        "a second run changes nothing: {recap}"
    );
    lab.run(teardown).ok();
    assert_eq!(snapshot(&host), libvirt_before, "libvirt is as it was");
    assert_eq!(
        cloud_snapshot(&clouds, p),
        cloud_before,
        "the cloud is as it was, look-alikes included"
    );
    osc_do(&clouds, &["project", "delete", &format!("{p}-tenant-keep")]);
    osc_do(&clouds, &["flavor", "delete", &format!("{p}-master-keep")]);
}
