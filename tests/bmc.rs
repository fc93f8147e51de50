//! The bmc binding against real VirtualBMC (vbmcd + ipmitool) and sushy-tools, driving domains
//! of a real libvirtd; libvirt is asked (virsh) whether the power changes happened.

use crate::support::bmc::{path_with_venv, Vbmcd};
use crate::support::host::RealHost;
use crate::support::ports::free_port;
use crate::support::Lab;

/// A libvirtd of the test's own named `name`, a lab, and a vbmcd in the lab's folder.
fn host_lab_and_vbmcd(name: &str) -> (RealHost, Lab, Vbmcd) {
    let host = RealHost::start(name);
    let lab = Lab::new();
    let vbmcd = Vbmcd::start(&lab.work().join("vbmcd"));
    (host, lab, vbmcd)
}

#[test]
fn ipmi_and_redfish_power_cycles_reach_libvirt() {
    let (host, lab, vbmcd) = host_lab_and_vbmcd("bmc");
    let ipmi_port = free_port(16230);
    let redfish_port = free_port(18000);
    // A UDP port some other program holds.
    let held = free_port(19230);
    let _holder = std::net::UdpSocket::bind(("127.0.0.1", held)).unwrap();
    let free2 = free_port(held + 1);
    let f = lab.file(
        "bmc.rhai",
        &format!(
            r#"
let uri = "{uri}";
let pw = secret("bmc-password", #{{generate: true, length: 16}});
virt::network_ensure(uri, #{{lab: "b", name: "provisioning", address: "172.16.0.254", netmask: "255.255.255.0"}});
img::create("{images}/node.qcow2", "64M");
virt::domain_ensure(uri, #{{lab: "b", name: "node1", type: "qemu", memory_mib: 128, vcpus: 1,
    nics: ["provisioning"], disks: [#{{path: "{images}/node.qcow2"}}]}});
let spec = #{{domain: "node1", port: {ipmi_port}, password: pw, libvirt_uri: uri, config: "{config}"}};
assert(bmc::vbmc_ensure(spec), "added and started");
assert(!bmc::vbmc_ensure(spec), "second time: ok");
let list = bmc::vbmc_list(#{{config: "{config}"}});
assert_eq([list[0].domain, list[0].status, list[0].port], ["node1", "running", {ipmi_port}]);
let ipmi = #{{port: {ipmi_port}, password: pw}};
assert_eq(bmc::ipmi_power(ipmi, "status"), "Chassis Power is on");
bmc::ipmi_power(ipmi, "off");
wait_until(|| virt::domain_state(uri, "node1") == "shutoff", #{{timeout: 20, every: 0.2, what: "IPMI power off"}});
assert_eq(bmc::ipmi_power(ipmi, "status"), "Chassis Power is off");
bmc::ipmi_power(ipmi, "on");
wait_until(|| virt::domain_state(uri, "node1") == "running", #{{timeout: 20, every: 0.2, what: "IPMI power on"}});
// A wrong password is refused.
let wrong = "";
try {{ bmc::ipmi_power(#{{port: {ipmi_port}, password: secret("wrong-bmc", #{{generate: true, length: 16}})}}, "status"); }} catch (e) {{ wrong = e; }}
assert(wrong != "", "a wrong password must be refused");
// Another domain on the same port is refused before anything is added.
let long = "";
try {{ bmc::ipmi_power(#{{port: {ipmi_port}, password: secret("long-bmc", #{{generate: true, length: 24}})}}, "status"); }} catch (e) {{ long = e; }}
assert(long.contains("IPMI allows at most 20"), long);
let clash = "";
try {{ bmc::vbmc_ensure(#{{domain: "other", port: {ipmi_port}, password: pw, libvirt_uri: uri, config: "{config}"}}); }} catch (e) {{ clash = e; }}
assert(clash.contains("already used by node1"), clash);
// A port another program holds is refused, and a batch with one such port adds none of its BMCs.
let busy = "";
try {{ bmc::vbmcs_ensure([#{{domain: "node2", port: {free2}, password: pw, libvirt_uri: uri, config: "{config}"}},
                         #{{domain: "node3", port: {held}, password: pw, libvirt_uri: uri, config: "{config}"}}]); }} catch (e) {{ busy = e; }}
assert(busy.contains("BMC port 127.0.0.1:{held} for node3 is already in use on this host"), busy);
assert(busy.contains("no BMC was added"), busy);
assert_eq(bmc::vbmc_list(#{{config: "{config}"}}).map(|b| b.domain), ["node1"]);

let base = "http://127.0.0.1:{redfish_port}";
assert(bmc::sushy_ensure(#{{port: {redfish_port}, libvirt_uri: uri, pid_file: "{work}/sushy.pid"}}));
assert(!bmc::sushy_ensure(#{{port: {redfish_port}, libvirt_uri: uri, pid_file: "{work}/sushy.pid"}}));
let sys = bmc::redfish_systems(base).filter(|s| s.name == "node1")[0];
assert_eq(sys.power, "On");
bmc::redfish_reset(base, sys.id, "ForceOff");
wait_until(|| virt::domain_state(uri, "node1") == "shutoff", #{{timeout: 20, every: 0.2, what: "Redfish ForceOff"}});
bmc::redfish_reset(base, sys.id, "On");
wait_until(|| virt::domain_state(uri, "node1") == "running", #{{timeout: 20, every: 0.2, what: "Redfish On"}});
assert(bmc::sushy_stop("{work}/sushy.pid"));
// The lab's emulator behind HTTP basic auth: curl is given the credentials on its input.
let uuid = virt::domain_list(uri).filter(|d| d.name == "node1")[0].uuid;
assert(bmc::sushy_configured(#{{port: {redfish_port}, libvirt_uri: uri, pid_file: "{work}/sushy-auth.pid",
    config: "{work}/sushy-auth.conf", password: pw, systems: [#{{uuid: uuid, disk_bytes: 67108864}}]}}));
let auth = #{{username: "admin", password: pw}};
let sys = bmc::redfish_systems(base, auth);
assert_eq(sys.map(|s| s.name), ["node1"]);
bmc::redfish_reset(base, sys[0].id, "ForceOff", auth);
wait_until(|| virt::domain_state(uri, "node1") == "shutoff", #{{timeout: 20, every: 0.2, what: "Redfish ForceOff with credentials"}});
bmc::redfish_reset(base, sys[0].id, "On", auth);
wait_until(|| virt::domain_state(uri, "node1") == "running", #{{timeout: 20, every: 0.2, what: "Redfish On with credentials"}});
let refused = "";
try {{ bmc::redfish_systems(base, #{{password: secret("wrong-redfish", #{{generate: true, length: 16}})}}); }} catch (e) {{ refused = e; }}
assert(refused.contains("HTTP 401"), refused);
assert(bmc::sushy_stop("{work}/sushy-auth.pid"));
bmc::write_instackenv("{work}/instackenv.json", [#{{name: "node1", pm_addr: "127.0.0.1", pm_port: {ipmi_port},
    pm_password: pw, mac: [virt::mac("b", "node1", 0)], profile: "control"}}]);
assert(bmc::vbmc_delete("node1", #{{config: "{config}"}}));
"#,
            uri = host.uri,
            images = host.images().display(),
            config = vbmcd.config.display(),
            work = lab.work().display(),
            held = held,
            free2 = free2,
        ),
    );
    lab.labsh()
        .args(["run", f.to_str().unwrap()])
        .env("PATH", &path_with_venv())
        .run()
        .ok();
    // What a director would import: the real password, mode 0600, the node's MAC.
    let path = lab.work().join("instackenv.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let secrets = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let pw = secrets
        .lines()
        .find_map(|l| l.strip_prefix("bmc-password="))
        .unwrap();
    assert_eq!(v["nodes"][0]["pm_password"], pw);
    assert_eq!(v["nodes"][0]["pm_port"], ipmi_port.to_string());
    let mac = host
        .virsh(&["domiflist", "node1"])
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    assert_eq!(v["nodes"][0]["mac"][0], mac);
}

#[test]
fn the_seed_l1_gets_a_bmc_per_overcloud_node_and_a_matching_instackenv() {
    let (host, lab, vbmcd) = host_lab_and_vbmcd("l1bmc");
    let base = free_port(26230);
    let script = format!(
        "{}\np.bmc.address = \"127.0.0.1\";\np.bmc.port_base = {base};\np.bmc.config = \"{}\";\n\
         stage(\"bmc\", || {{\n    l1::bmcs(uri, p);\n    bmc::write_instackenv(\"{}/instackenv.json\", l1::instackenv_nodes(uri, p));\n\
         let pw = secret(\"bmc-password\");\n    for i in 0..7 {{ assert_eq(bmc::ipmi_power(#{{port: {base} + i, password: pw}}, \"status\"), \"Chassis Power is on\"); }}\n}});\n\
         stage(\"selftest\", || l1::bmc_selftest(uri, p, \"overcloud-ctrl01\"));\n",
        crate::support::host::L1_SCRIPT,
        vbmcd.config.display(),
        lab.work().display()
    );
    let f = lab.file("l1bmc.rhai", &script);
    let args = |extra: &[&str]| {
        let mut e = vec!["--json"];
        e.extend_from_slice(extra);
        crate::support::host::run_args(&host, &f, &e)
    };
    lab.labsh()
        .args(args(&[]))
        .env("PATH", &path_with_venv())
        .run()
        .ok();
    // Again, without the self-test (which powers a node off and on: changes by design).
    let again = lab
        .labsh()
        .args(args(&["--only", "l0", "--only", "l1", "--only", "bmc"]))
        .env("PATH", &path_with_venv())
        .run();
    again.ok();
    let changed: Vec<String> = again
        .json_lines()
        .iter()
        .filter(|l| l["event"] == "effect" && l["outcome"] == "changed")
        .map(|l| format!("{} {}", l["op"], l["target"]))
        .collect();
    assert!(
        changed.is_empty(),
        "a second run changes nothing, but: {changed:?}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.work().join("instackenv.json")).unwrap())
            .unwrap();
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 7);
    for n in nodes {
        let name = n["name"].as_str().unwrap();
        let first_mac = host
            .virsh(&["domiflist", name])
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .last()
            .unwrap()
            .to_string();
        assert_eq!(n["mac"][0], first_mac, "{name}: the provisioning NIC's MAC");
        let want = if name.contains("ctrl") {
            "control"
        } else if name.contains("ceph") {
            "ceph-storage"
        } else {
            "compute"
        };
        assert_eq!(
            n["capabilities"],
            format!("profile:{want},boot_option:local")
        );
    }
    let ports: std::collections::BTreeSet<u64> = nodes
        .iter()
        .map(|n| n["pm_port"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ports.len(), 7, "one BMC port per node");
}

#[test]
fn preflight_takes_the_labs_own_redfish_emulator_for_its_own() {
    let lab = Lab::new();
    // The real emulator on the profile's Redfish port, its PID where the lab keeps it.
    let port = free_port(48300);
    let emu = crate::support::Spawned(
        std::process::Command::new(crate::support::bmc::venv_bin().join("sushy-emulator"))
            .args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["--libvirt-uri", "test:///default"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "sushy-emulator did not listen on {port}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let pid_file = lab.state().join("redfish/lab/sushy.pid");
    std::fs::create_dir_all(pid_file.parent().unwrap()).unwrap();
    std::fs::write(&pid_file, format!("{}\n", emu.0.id())).unwrap();
    lab.redfish_preflight(port)
        .ok()
        .stdout_has(&format!("TCP {port} free (or this lab's Redfish emulator)"));
    // The PID file naming another program (this test): the listener is not the lab's.
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).unwrap();
    lab.redfish_preflight(port).code(1).stdout_has(&format!(
        "TCP {port} in use by something other than this lab's Redfish emulator"
    ));
}
