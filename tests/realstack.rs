//! The L0 and L1 bindings against a real libvirtd (QEMU under emulation, in a network namespace
//! of its own, started by tests/harness/libvirtd.sh), read back with virsh.

use crate::support::host::{run_args, snapshot, RealHost, L1_SCRIPT};
use crate::support::{run_ok, Lab};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn l1_run(lab: &Lab, host: &RealHost, f: &Path, extra: &[&str]) -> crate::support::Out {
    let mut e = vec!["--json"];
    e.extend_from_slice(extra);
    lab.run(run_args(host, f, &e))
}

const SEED_VMS: [(&str, &str, &str); 8] = [
    ("undercloud", "12582912", "8"),
    ("overcloud-ctrl01", "16777216", "4"),
    ("overcloud-ctrl02", "16777216", "4"),
    ("overcloud-ctrl03", "16777216", "4"),
    ("overcloud-ceph01", "4194304", "2"),
    ("overcloud-ceph02", "4194304", "2"),
    ("overcloud-ceph03", "4194304", "2"),
    ("overcloud-compute01", "8388608", "16"),
];

fn field(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

fn check_seed_l1(host: &RealHost) {
    let mut names: Vec<String> = host
        .virsh(&["list", "--all", "--name"])
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect();
    names.sort();
    let mut want: Vec<String> = SEED_VMS.iter().map(|v| v.0.to_string()).collect();
    want.sort();
    assert_eq!(names, want);
    for (name, kib, cpus) in SEED_VMS {
        let info = host.virsh(&["dominfo", name]);
        assert_eq!(field(&info, "Max memory:"), format!("{kib} KiB"), "{name}");
        assert_eq!(field(&info, "CPU(s):"), cpus, "{name}");
        assert_eq!(field(&info, "State:"), "running", "{name}");
        assert_eq!(field(&info, "Autostart:"), "enable", "{name}");
        let nets: Vec<String> = host
            .virsh(&["domiflist", name])
            .lines()
            .map(|l| l.split_whitespace().nth(2).unwrap_or("").to_string())
            .collect();
        let want: Vec<&str> = if name == "undercloud" {
            vec!["provisioning", "default"]
        } else {
            vec!["provisioning", "default", "default", "default"]
        };
        assert_eq!(nets, want, "{name}");
    }
    let prov = host.virsh(&["net-dumpxml", "provisioning"]);
    assert!(
        prov.contains("address='172.16.0.254' netmask='255.255.255.0'"),
        "{prov}"
    );
    assert!(
        !prov.contains("<dhcp") && !prov.contains("<forward"),
        "{prov}"
    );
    for flags in [
        &["net-dumpxml", "default"][..],
        &["net-dumpxml", "--inactive", "default"][..],
    ] {
        assert!(
            !host.virsh(flags).contains("<range"),
            "DHCP gone from default ({flags:?})"
        );
    }
    let nets = host.virsh(&["net-list", "--all"]);
    for n in ["provisioning", "default"] {
        let line = nets
            .lines()
            .find(|l| l.split_whitespace().next() == Some(n))
            .unwrap();
        assert!(line.contains("active") && line.contains("yes"), "{line}");
    }
}

#[test]
fn seed_l1_on_a_real_libvirtd_converges_and_reads_back_with_virsh() {
    let host = RealHost::start("l1");
    let lab = Lab::new();
    let f = lab.file("l1.rhai", L1_SCRIPT);
    let first = l1_run(&lab, &host, &f, &[]);
    first.ok();
    check_seed_l1(&host);
    let recap = first.json_lines().pop().unwrap();
    assert!(
        recap["totals"]["changed"].as_u64().unwrap() >= 8 * 3 + 5,
        "{recap}"
    );
    // The same again changes nothing.
    let second = l1_run(&lab, &host, &f, &[]);
    second.ok();
    let recap = second.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
    assert_eq!(recap["totals"]["failed"], 0, "{recap}");
    check_seed_l1(&host);
    // Overlays on the one base image.
    let info = Command::new("qemu-img")
        .args(["info", "-U", "--output=json"])
        .arg(host.images().join("undercloud.qcow2"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(
        v["backing-filename"],
        host.images()
            .join("rhel7-guest.qcow2")
            .display()
            .to_string()
    );
    // The Ceph VMs' OSD disks (vdb), of the profile's size, and the compute node's disk, in the
    // folder the profile puts them (the article's SSD); the others' on host.images.
    let ssd = host.images().join("ssd");
    for n in 1..=3 {
        let name = format!("overcloud-ceph0{n}");
        let osd = ssd.join(format!("{name}-osd1.qcow2"));
        let info = run_ok(
            Command::new("qemu-img")
                .args(["info", "-U", "--output=json"])
                .arg(&osd),
            osd.display(),
        );
        let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
        assert_eq!(v["virtual-size"], 100u64 << 30, "{name}");
        assert_eq!(v["format"], "qcow2");
        assert_eq!(
            disks(&host, &name),
            vec![
                (
                    "vda".to_string(),
                    ssd.join(format!("{name}.qcow2")).display().to_string()
                ),
                ("vdb".to_string(), osd.display().to_string()),
            ]
        );
    }
    assert_eq!(
        disks(&host, "overcloud-compute01"),
        vec![(
            "vda".to_string(),
            ssd.join("overcloud-compute01.qcow2").display().to_string()
        )]
    );
    assert_eq!(
        disks(&host, "overcloud-ctrl01"),
        vec![(
            "vda".to_string(),
            host.images()
                .join("overcloud-ctrl01.qcow2")
                .display()
                .to_string()
        )]
    );
}

/// A domain's disks as virsh lists them: (target, source).
fn disks(host: &RealHost, name: &str) -> Vec<(String, String)> {
    host.virsh(&["domblklist", name])
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() == 2).then(|| (w[0].to_string(), w[1].to_string()))
        })
        .collect()
}

#[test]
fn killing_the_l1_build_midway_then_running_again_converges() {
    let host = RealHost::start("l1kill");
    let lab = Lab::new();
    let f = lab.file("l1.rhai", L1_SCRIPT);
    let mut cmd = lab
        .labsh()
        .args([
            "run",
            f.to_str().unwrap(),
            "--jobs",
            "1",
            "--set",
            &format!("uri={}", host.uri),
            "--set",
            &format!("images={}", host.images().display()),
        ])
        .command();
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // Kill it once it has defined some domains but not all.
    let t0 = Instant::now();
    loop {
        let defined = lab
            .journals()
            .iter()
            .map(|j| {
                std::fs::read_to_string(j)
                    .unwrap_or_default()
                    .matches("virt.domain.define")
                    .count()
            })
            .sum::<usize>();
        if defined >= 2 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the build did not get to the domains"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = host
        .virsh(&["list", "--all", "--name"])
        .lines()
        .filter(|l| !l.is_empty())
        .count();
    assert!(
        partial < 8,
        "the kill came too late to test anything ({partial} domains)"
    );
    l1_run(&lab, &host, &f, &[]).ok();
    check_seed_l1(&host);
    let again = l1_run(&lab, &host, &f, &[]);
    assert_eq!(again.json_lines().pop().unwrap()["totals"]["changed"], 0);
}

#[test]
fn vms_placed_on_two_hosts() {
    let a = RealHost::start("host-a");
    let b = RealHost::start("host-b");
    let lab = Lab::new();
    let f = lab.file(
        "two.rhai",
        &format!(
            r#"
let hosts = [["{ua}", "{ia}", "vm-a"], ["{ub}", "{ib}", "vm-b"]];
par_map(hosts, |h| {{
    virt::network_ensure(h[0], #{{lab: "two", name: "provisioning", address: "172.16.0.254", netmask: "255.255.255.0"}});
    img::create(`${{h[1]}}/${{h[2]}}.qcow2`, "64M");
    virt::domain_ensure(h[0], #{{lab: "two", name: h[2], type: "qemu", memory_mib: 128, vcpus: 1,
        nics: ["provisioning"], disks: [#{{path: `${{h[1]}}/${{h[2]}}.qcow2`}}]}});
}});
"#,
            ua = a.uri,
            ia = a.images().display(),
            ub = b.uri,
            ib = b.images().display()
        ),
    );
    lab.run_file(&f).ok();
    assert_eq!(a.virsh(&["list", "--name"]).trim(), "vm-a");
    assert_eq!(b.virsh(&["list", "--name"]).trim(), "vm-b");
    assert_ne!(
        a.virsh(&["dumpxml", "vm-a"]).matches("mac address").count(),
        0
    );
}

#[test]
fn teardown_removes_only_what_the_lab_made_and_leaves_libvirt_as_it_was() {
    let host = RealHost::start("teardown");
    let lab = Lab::new();
    // Things labsh did not make, named like the lab's.
    let dom = lab.file(
        "keep.xml",
        "<domain type='qemu'><name>overcloud-ctrl01-keep</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64'>hvm</type></os></domain>",
    );
    host.virsh(&["define", dom.to_str().unwrap()]);
    let net = lab.file("keepnet.xml", "<network><name>provisioning-keep</name><ip address='10.77.0.1' netmask='255.255.255.0'/></network>");
    host.virsh(&["net-define", net.to_str().unwrap()]);
    let before = snapshot(&host);
    let f = lab.file("l1.rhai", L1_SCRIPT);
    l1_run(&lab, &host, &f, &[]).ok();
    assert_ne!(snapshot(&host), before);
    let teardown = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/teardown.rhai");
    let args = |extra: &[&str]| run_args(&host, &teardown, extra);
    // No terminal, no --yes: nothing happens.
    lab.run(args(&[])).code(1).stderr_has("pass --yes");
    // The plan lists it all and removes nothing.
    let plan = lab.run(args(&["--plan", "--json"]));
    plan.ok();
    let planned = plan.json_lines().pop().unwrap()["totals"]["planned"]
        .as_u64()
        .unwrap();
    assert!(planned >= 8 * 2 + 2, "{planned}");
    assert_eq!(snapshot(&host).0.len(), 9);
    lab.run(args(&["--yes"])).ok();
    assert_eq!(
        snapshot(&host),
        before,
        "libvirt is as it was, the look-alikes included"
    );
    assert!(
        !host.images().join("undercloud.qcow2").exists(),
        "overlays removed"
    );
    assert!(
        host.images().join("rhel7-guest.qcow2").exists(),
        "the base image kept"
    );
    // Again: nothing to do.
    let again = lab.run(args(&["--yes", "--json"]));
    again.ok().stdout_has("nothing of this lab to remove");
    assert_eq!(again.json_lines().pop().unwrap()["totals"]["changed"], 0);
}

#[test]
fn a_remote_host_over_qemu_ssh_works_the_same() {
    let host = RealHost::start("remote");
    let sshd = crate::support::Sshd::start();
    let lab = Lab::new();
    let uri = format!(
        "qemu+ssh://root@127.0.0.1:{}/system?socket={}/run/libvirt/libvirt-sock&keyfile={}&no_verify=1&no_tty=1&proxy=netcat",
        sshd.port,
        host.dir.display(),
        sshd.key().display()
    );
    let f = lab.file(
        "remote.rhai",
        &format!(
            r#"
let uri = "{uri}";
assert_eq(virt::node_info(uri).cpus, virt::node_info("{local}").cpus);
virt::network_ensure(uri, #{{lab: "far", name: "provisioning", address: "172.16.0.254", netmask: "255.255.255.0"}});
img::create("{images}/far.qcow2", "64M");
assert(virt::domain_ensure(uri, #{{lab: "far", name: "far-vm", type: "qemu", memory_mib: 128, vcpus: 1,
    nics: ["provisioning"], disks: [#{{path: "{images}/far.qcow2"}}]}}).changed);
assert(!virt::domain_ensure(uri, #{{lab: "far", name: "far-vm", type: "qemu", memory_mib: 128, vcpus: 1,
    nics: ["provisioning"], disks: [#{{path: "{images}/far.qcow2"}}]}}).changed, "second time: ok");
"#,
            local = host.uri,
            images = host.images().display()
        ),
    );
    lab.run_file(&f).ok();
    // Seen locally by a client we did not write.
    assert_eq!(host.virsh(&["list", "--name"]).trim(), "far-vm");
    assert!(host
        .virsh(&["dumpxml", "far-vm"])
        .contains("https://labsh.dev/xmlns/lab/1"));
}
