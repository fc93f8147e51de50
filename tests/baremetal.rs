//! The undercloud's bare metal on a real Ironic: lab.rhai's overcloud stage enrolls the seed's
//! seven overcloud VMs into the devcloud's Ironic, manages them through their real BMCs
//! (VirtualBMC, then sushy-tools with out-of-band inspection) and provides them; what it made is
//! read back with python-openstackclient's baremetal commands (python-ironicclient), a client
//! we did not write.

use crate::support::bmc::{path_with_venv, venv_bin, Vbmcd};
use crate::support::devcloud::{devcloud, osc_status, system_clouds};
use crate::support::host::RealHost;
use crate::support::ports::free_port;
use crate::support::{kill_at_line, script, Lab, CANARY_VALUE};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// python-openstackclient with python-ironicclient, `-f json`, as the system-scoped admin.
fn osc(clouds: &Path, args: &[&str]) -> Value {
    crate::support::devcloud::osc(clouds, "devcloud-system", args)
}

fn osc_do(clouds: &Path, args: &[&str]) -> bool {
    osc_status(clouds, "devcloud-system", args)
}

fn vbmc(config: &Path, args: &[&str]) {
    let st = Command::new(venv_bin().join("vbmc"))
        .args(args)
        .env("VIRTUALBMC_CONFIG", config)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "vbmc {args:?}");
}

const NODES: [(&str, &str); 7] = [
    ("overcloud-ceph01", "ceph-storage"),
    ("overcloud-ceph02", "ceph-storage"),
    ("overcloud-ceph03", "ceph-storage"),
    ("overcloud-compute01", "compute"),
    ("overcloud-ctrl01", "control"),
    ("overcloud-ctrl02", "control"),
    ("overcloud-ctrl03", "control"),
];

/// What Ironic holds for one node, read with python-ironicclient.
fn node(clouds: &Path, name: &str) -> Value {
    osc(clouds, &["baremetal", "node", "show", name])
}

/// The lab's nodes as python-ironicclient lists them (name → provision state).
fn lab_nodes(clouds: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = osc(
        clouds,
        &[
            "baremetal",
            "node",
            "list",
            "--fields",
            "name",
            "provision_state",
        ],
    )
    .as_array()
    .unwrap()
    .iter()
    .filter(|n| {
        n["name"]
            .as_str()
            .is_some_and(|x| NODES.iter().any(|(m, _)| *m == x))
    })
    .map(|n| {
        (
            n["name"].as_str().unwrap().to_string(),
            n["provision_state"].as_str().unwrap_or("").to_string(),
        )
    })
    .collect();
    v.sort();
    v
}

/// The first (provisioning) MAC of a domain.
fn first_mac(host: &RealHost, dom: &str) -> String {
    let xml = host.virsh(&["dumpxml", dom]);
    let at = xml.find("<mac address='").unwrap() + 14;
    xml[at..at + 17].to_string()
}

/// How many nodes Ironic holds for the lab: those labsh marked as the lab's (extra.labsh_lab),
/// and any other on one of the lab's BMCs (127.0.0.1, ports `port_base`..+7). A node enrolled
/// twice counts twice, named or not.
fn enrolled(clouds: &Path, lab: &str, port_base: u16) -> usize {
    osc(
        clouds,
        &[
            "baremetal",
            "node",
            "list",
            "--fields",
            "uuid",
            "extra",
            "driver_info",
        ],
    )
    .as_array()
    .unwrap()
    .iter()
    .filter(|n| {
        let di = &n["driver_info"];
        let port = di["ipmi_port"]
            .as_u64()
            .or_else(|| di["ipmi_port"].as_str().and_then(|p| p.parse().ok()));
        n["extra"]["labsh_lab"] == lab
            || (di["ipmi_address"] == "127.0.0.1"
                && port.is_some_and(|p| (port_base as u64..port_base as u64 + 7).contains(&p)))
    })
    .count()
}

struct Setup {
    lab: Lab,
    host: RealHost,
    vbmcd: Vbmcd,
    clouds: PathBuf,
    port_base: u16,
    redfish_port: u16,
}

/// The lab's Redfish emulator is a process of labsh's: stopped by its PID when the test ends,
/// also when it failed before the teardown.
impl Drop for Setup {
    fn drop(&mut self) {
        let pid = self.lab.state().join("redfish/t-bm/sushy.pid");
        if let Ok(p) = std::fs::read_to_string(pid) {
            let _ = Command::new("kill").arg(p.trim()).status();
        }
    }
}

impl Setup {
    fn target(&self, bmc_type: &str) -> PathBuf {
        self.lab.file(
            "targets/bmtest.yaml",
            &format!(
                "libvirt_uri: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\ndomain_type: qemu\nbmc: {{type: {bmc_type}, address: 127.0.0.1, port_base: {}, redfish_port: {}, config: \"{}\"}}\ncloud: {{cloud: devcloud, clouds_yaml: \"{c}\"}}\nundercloud: {{offline: true, cloud: {{cloud: devcloud-system, clouds_yaml: \"{c}\"}}}}\ncluster: {{offline: true}}\nprofile:\n  name: t-bm\n  base_image: {{size: 4G}}\n  vms:\n    undercloud: {{memory_mib: 512, vcpus: 1}}\n    ctrl: {{memory_mib: 1024, vcpus: 1}}\n    ceph: {{memory_mib: 1024, vcpus: 1, osd_disks: [\"1G\"]}}\n    compute: {{memory_mib: 1024, vcpus: 1}}\n",
                self.host.uri,
                self.host.images().display(),
                self.host.dir.join("images-ssd").display(),
                self.port_base,
                self.redfish_port,
                self.vbmcd.config.display(),
                c = self.clouds.display()
            ),
        )
    }

    fn args(&self, name: &str, bmc_type: &str) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "run".into(),
            script(name).display().to_string(),
            "--json".into(),
            "--yes".into(),
            "--target".into(),
            self.target(bmc_type).display().to_string(),
        ];
        if name == "lab.rhai" {
            for s in ["l0", "l1", "undercloud", "overcloud"] {
                a.push("--only".into());
                a.push(s.into());
            }
        }
        a
    }

    fn run(&self, script: &str, bmc_type: &str) -> crate::support::Out {
        self.lab
            .labsh()
            .args(self.args(script, bmc_type))
            .env("PATH", &path_with_venv())
            .run()
    }

    fn labsh_e(&self, code: &str) -> crate::support::Out {
        let f = self.lab.file("snippet.rhai", code);
        self.lab
            .labsh()
            .args(["run", f.to_str().unwrap()])
            .env("OS_CLIENT_CONFIG_FILE", self.clouds.to_str().unwrap())
            .run()
    }
}

/// The lab run with BMCs of `bmc_type` leaves every node available, as [`check_nodes`] wants
/// it, and a second run changes nothing.
#[track_caller]
fn all_provided_then_unchanged(s: &Setup, bmc_type: &str) {
    let first = s.run("lab.rhai", bmc_type);
    first.ok();
    assert_eq!(
        lab_nodes(&s.clouds),
        NODES
            .iter()
            .map(|(n, _)| (n.to_string(), "available".to_string()))
            .collect::<Vec<_>>()
    );
    check_nodes(s, bmc_type);
    // A second run changes nothing.
    let again = s.run("lab.rhai", bmc_type);
    again.ok();
    assert_eq!(changes(&again), Vec::<String>::new());
}

/// What a run changed, one line per effect.
fn changes(out: &crate::support::Out) -> Vec<String> {
    out.json_lines()
        .iter()
        .filter(|l| l["event"] == "effect" && l["outcome"] == "changed")
        .map(|l| format!("{} {}", l["op"], l["target"]))
        .collect()
}

fn check_nodes(s: &Setup, driver: &str) {
    for (i, (name, role)) in NODES.iter().enumerate() {
        let n = node(&s.clouds, name);
        assert_eq!(n["driver"], driver, "{name}: {n}");
        assert_eq!(n["provision_state"], "available", "{name}: {n}");
        assert_eq!(n["extra"]["labsh_lab"], "t-bm", "{name}: {n}");
        let di = &n["driver_info"];
        if driver == "ipmi" {
            assert_eq!(di["ipmi_address"], "127.0.0.1");
            assert_eq!(
                di["ipmi_port"].to_string().trim_matches('"'),
                (s.port_base as usize + i).to_string(),
                "{name}: {di}"
            );
        } else {
            assert_eq!(
                di["redfish_address"],
                format!("http://127.0.0.1:{}", s.redfish_port)
            );
            let uuid = s.host.virsh(&["domuuid", name]).trim().to_string();
            assert_eq!(
                di["redfish_system_id"],
                format!("/redfish/v1/Systems/{uuid}")
            );
            assert!(
                !n["inspection_finished_at"].is_null(),
                "{name} was inspected: {n}"
            );
        }
        assert_ne!(
            di["ipmi_password"]
                .as_str()
                .or(di["redfish_password"].as_str()),
            None
        );
        // Properties: the VM's vCPUs and memory (with Redfish, memory as inspection found it).
        let p = &n["properties"];
        assert_eq!(p["cpus"].to_string().trim_matches('"'), "1", "{name}: {p}");
        assert_eq!(
            p["memory_mb"].to_string().trim_matches('"'),
            "1024",
            "{name}: {p}"
        );
        let caps = p["capabilities"].as_str().unwrap_or_default();
        assert!(
            caps.split(',').any(|c| c == format!("profile:{role}")),
            "{name}: {caps}"
        );
        let uuid = n["uuid"].as_str().unwrap();
        let ports = osc(&s.clouds, &["baremetal", "port", "list", "--node", uuid]);
        let mac = first_mac(&s.host, name);
        assert!(
            ports
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["address"] == mac.as_str() || p["Address"] == mac.as_str()),
            "{name}: no port with {mac}: {ports}"
        );
    }
}

/// Runs labsh and kills it once an effect `op` has been recorded (read from --json); what it
/// printed when it never got there.
fn kill_at(s: &Setup, args: Vec<String>, op: &str) -> Result<(), String> {
    let mut c = s
        .lab
        .labsh()
        .args(args)
        .env("PATH", &path_with_venv())
        .command();
    let effect = format!("\"op\":\"{op}\"");
    kill_at_line(&mut c, |l| {
        l.contains("\"event\":\"effect\"") && l.contains(&effect)
    })
    .map(|_| ())
}

#[test]
fn the_seed_nodes_are_enrolled_managed_inspected_and_provided_on_a_real_ironic() {
    let dc = devcloud();
    let lab = Lab::new();
    let clouds = system_clouds(&lab, &dc);
    let host = RealHost::start("bmtest");
    std::fs::create_dir_all(host.dir.join("images-ssd")).unwrap();
    let vbmcd = Vbmcd::start(&lab.work().join("vbmcd"));
    let s = Setup {
        port_base: free_port(47600),
        redfish_port: free_port(18600),
        clouds,
        host,
        vbmcd,
        lab,
    };
    // What an earlier run of this test may have left in the shared Ironic.
    for (n, _) in NODES {
        osc_do(&s.clouds, &["baremetal", "node", "maintenance", "set", n]);
        osc_do(&s.clouds, &["baremetal", "node", "delete", n]);
    }
    osc_do(
        &s.clouds,
        &["baremetal", "node", "delete", "t-bm-lookalike"],
    );

    // The plan shows each node's enrollment, port and transitions once, and changes nothing.
    let mut plan_args = s.args("lab.rhai", "ipmi");
    plan_args.push("--plan".into());
    let plan = s
        .lab
        .labsh()
        .args(plan_args)
        .env("PATH", &path_with_venv())
        .run();
    plan.ok();
    for op in [
        "baremetal.node.create",
        "baremetal.port.create",
        "baremetal.node.manage",
        "baremetal.node.inspect",
        "baremetal.node.update",
        "baremetal.node.provide",
    ] {
        assert_eq!(plan.planned(op), 7, "{op}");
    }
    assert!(lab_nodes(&s.clouds).is_empty(), "a plan enrolls nothing");

    // ipmi: enrolled, managed through VirtualBMC, provided.
    all_provided_then_unchanged(&s, "ipmi");

    // Ironic powers a node off and on: libvirt agrees each time.
    let power = |want: &str| {
        s.labsh_e(&format!(
            "baremetal::power(\"devcloud-system\", \"overcloud-ctrl01\", \"{want}\", #{{timeout: 120}});"
        ))
        .ok();
        osc(
            &s.clouds,
            &["baremetal", "node", "show", "overcloud-ctrl01"],
        )["power_state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(power("off"), "power off");
    assert_eq!(
        s.host.virsh(&["domstate", "overcloud-ctrl01"]).trim(),
        "shut off"
    );
    assert_eq!(power("on"), "power on");
    assert_eq!(
        s.host.virsh(&["domstate", "overcloud-ctrl01"]).trim(),
        "running"
    );

    // A BMC with a wrong password: the stage fails naming the node and its BMC; the other
    // nodes stay as they were.
    let secrets = std::fs::read_to_string(s.lab.state().join("secrets")).unwrap();
    let pw = secrets
        .lines()
        .find_map(|l| l.strip_prefix("bmc-password="))
        .unwrap()
        .to_string();
    let ctrl02_port = (s.port_base + 5).to_string();
    let cfg = s.vbmcd.config.to_str().unwrap().to_string();
    let readd = |password: &str| {
        vbmc(Path::new(&cfg), &["delete", "overcloud-ctrl02"]);
        vbmc(
            Path::new(&cfg),
            &[
                "add",
                "overcloud-ctrl02",
                "--address",
                "127.0.0.1",
                "--port",
                &ctrl02_port,
                "--username",
                "admin",
                "--password",
                password,
                "--libvirt-uri",
                &s.host.uri,
            ],
        );
        vbmc(Path::new(&cfg), &["start", "overcloud-ctrl02"]);
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    readd("not-the-password");
    assert!(osc_do(
        &s.clouds,
        &["baremetal", "node", "delete", "overcloud-ctrl02"]
    ));
    let broken = s.run("lab.rhai", "ipmi");
    broken.code(1);
    let said = format!("{}{}", broken.stdout, broken.stderr);
    assert!(
        said.contains("overcloud-ctrl02 (BMC ipmi 127.0.0.1:") && said.contains(&ctrl02_port),
        "{said}"
    );
    let states = lab_nodes(&s.clouds);
    for (n, st) in &states {
        if n == "overcloud-ctrl02" {
            assert_eq!(st, "enroll");
        } else {
            assert_eq!(st, "available", "{n} was left as it was");
        }
    }
    readd(&pw);
    s.run("lab.rhai", "ipmi").ok();
    assert_eq!(lab_nodes(&s.clouds).len(), 7);
    assert_eq!(
        enrolled(&s.clouds, "t-bm", s.port_base),
        7,
        "nothing enrolled twice"
    );
    assert!(lab_nodes(&s.clouds).iter().all(|(_, st)| st == "available"));

    // redfish: the same nodes move to sushy-tools and are inspected out of band; a run killed
    // during the inspection continues and enrolls nothing twice.
    if let Err(out) = kill_at(&s, s.args("lab.rhai", "redfish"), "baremetal.node.inspect") {
        panic!("the run did not reach the inspection:\n{out}");
    }
    all_provided_then_unchanged(&s, "redfish");
    assert_eq!(
        enrolled(&s.clouds, "t-bm", s.port_base),
        7,
        "nothing enrolled twice"
    );

    // Teardown removes the lab's nodes, and only those, before their BMCs and domains. The
    // look-alike's BMC is 127.0.0.1 on a port nothing listens on.
    let closed = free_port(47900).to_string();
    assert!(osc_do(
        &s.clouds,
        &[
            "baremetal",
            "node",
            "create",
            "--driver",
            "ipmi",
            "--name",
            "t-bm-lookalike",
            "--driver-info",
            "ipmi_address=127.0.0.1",
            "--driver-info",
            &format!("ipmi_port={closed}"),
        ]
    ));
    let down = s.run("teardown.rhai", "redfish");
    down.ok();
    let order: Vec<String> = down
        .json_lines()
        .iter()
        .filter(|l| l["event"] == "effect" && l["outcome"] == "changed")
        .map(|l| l["op"].as_str().unwrap().to_string())
        .collect();
    let first_of = |op: &str| order.iter().position(|o| o == op).unwrap_or(usize::MAX);
    assert!(
        first_of("baremetal.node.delete") < first_of("bmc.sushy.stop"),
        "{order:?}"
    );
    assert!(
        first_of("bmc.sushy.stop") < first_of("virt.domain.undefine"),
        "{order:?}"
    );
    assert!(lab_nodes(&s.clouds).is_empty());
    assert_eq!(node(&s.clouds, "t-bm-lookalike")["name"], "t-bm-lookalike");
    assert!(osc_do(
        &s.clouds,
        &["baremetal", "node", "delete", "t-bm-lookalike"]
    ));
}

#[test]
fn bad_instackenv_entries_are_refused_naming_entry_and_field_before_anything_is_enrolled() {
    let dc = devcloud();
    let lab = Lab::new();
    let clouds = system_clouds(&lab, &dc);
    let good = r#"{"name": "t-bad-ok", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6390", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:01"]}"#;
    let cases = [
        (
            r#"{"name": "t-bad-1", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_type is missing",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "idrac", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_type \"idrac\" is not supported",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_addr is missing",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1 x", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_addr \"127.0.0.1 x\" is not an IP address or host name",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_port is missing",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "99999", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_port \"99999\" is not a port number",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_user is missing",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw"}"#,
            "nodes[1] (t-bad-1): mac is missing",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00"]}"#,
            "nodes[1] (t-bad-1): mac 52:54:00:77:00 is not a MAC address",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:01"]}"#,
            "nodes[1] (t-bad-1): mac 52:54:00:77:00:01 is also",
        ),
        (
            r#"{"name": "t-bad-1", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6390", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-1): pm_port: BMC ipmi 127.0.0.1:6390 is also",
        ),
        (
            r#"{"name": "t-bad-stranger", "pm_type": "ipmi", "pm_addr": "127.0.0.1", "pm_port": "6391", "pm_user": "admin", "pm_password": "pw", "mac": ["52:54:00:77:00:02"]}"#,
            "nodes[1] (t-bad-stranger): name 't-bad-stranger' is not a VM of the lab",
        ),
    ];
    for (i, (entry, want)) in cases.iter().enumerate() {
        // Each BMC password is the canary, which must show nowhere.
        let f = lab.file(
            &format!("instackenv-{i}.json"),
            &format!("{{\"nodes\": [{good}, {entry}]}}").replace(
                "\"pm_password\": \"pw\"",
                &format!("\"pm_password\": \"{CANARY_VALUE}\""),
            ),
        );
        let script = lab.file(
            "enroll.rhai",
            &format!(
                "let e = baremetal::instackenv(\"{}\", #{{vms: [\"t-bad-ok\", \"t-bad-1\"]}});\nbaremetal::nodes_ensure(\"devcloud-system\", e, #{{lab: \"t-bad\"}});\n",
                f.display()
            ),
        );
        let o = lab
            .labsh()
            .args(["run", script.to_str().unwrap()])
            .env("OS_CLIENT_CONFIG_FILE", clouds.to_str().unwrap())
            .run();
        o.code(1);
        let said = o.stderr.clone();
        assert!(
            said.contains(&format!("{}: {want}", f.display())),
            "case {i}: wanted {want:?} in:\n{said}"
        );
        assert!(said.contains("nothing was enrolled"), "{said}");
        assert!(
            !said.contains(CANARY_VALUE) && !o.stdout.contains(CANARY_VALUE),
            "case {i}: the BMC password shows:\n{said}"
        );
    }
    let names: Vec<String> = osc(&clouds, &["baremetal", "node", "list"])
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["Name"].as_str().map(String::from))
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("t-bad")),
        "nothing enrolled: {names:?}"
    );
}
