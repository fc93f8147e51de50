//! `labsh status`: every layer read back from its own source and compared with what a client we
//! did not write says of the same thing (virsh, python-openstackclient, kubectl): on the sandbox
//! (libvirt's test driver), on a real libvirtd with the seed's L1 and real BMCs, against the
//! devcloud's Ironic and against the Kubernetes API stand-in; a layer taken down says why; the
//! exit codes; and the "what next" lines at the end of a run of scripts/lab.rhai.

use crate::director::Director;
use crate::support::bmc::{path_with_venv, venv_bin, Vbmcd};
use crate::support::devcloud::{devcloud, osc, osc_status, system_clouds};
use crate::support::host::RealHost;
use crate::support::ports::{free_port, free_ports};
use crate::support::{spawn_and_read_line, Lab, Out, Spawned};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `labsh status --json ARGS`: its one status event.
fn status_json(lab: &Lab, args: &[&str]) -> (Out, Value) {
    let mut a = vec!["status", "--json"];
    a.extend_from_slice(args);
    let out = lab.run(a);
    let lines = out.json_lines();
    let ev = lines
        .iter()
        .find(|l| l["event"] == "status")
        .cloned()
        .unwrap_or_else(|| panic!("no status event:\n{}\n{}", out.stdout, out.stderr));
    (out, ev)
}

/// The layer `name` of a status event.
fn layer<'a>(st: &'a Value, name: &str) -> &'a Value {
    st["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no layer {name}: {st}"))
}

/// The row of a layer whose `name` is `n`.
fn row<'a>(l: &'a Value, n: &str) -> &'a Value {
    l["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == n)
        .unwrap_or_else(|| panic!("no row {n}: {l}"))
}

fn problems(l: &Value) -> Vec<String> {
    l["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

/// `virsh -c URI ARGS` (read only), its output.
fn virsh(uri: &str, args: &[&str]) -> String {
    let out = Command::new("virsh")
        .args(["-q", "-r", "-c", uri])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "virsh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A field of `virsh dominfo`.
fn field(text: &str, key: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

/// Each domain row of a status's domains layer against virsh's dominfo and domblklist.
fn domains_equal_virsh(st: &Value, uri: &str) -> usize {
    let l = layer(st, "domains");
    let mut names: Vec<String> = virsh(uri, &["list", "--all", "--name"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    names.sort();
    let mut shown: Vec<String> = l["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    shown.sort();
    assert_eq!(shown, names, "the lab's domains");
    for n in &names {
        let r = row(l, n);
        let info = virsh(uri, &["dominfo", n]);
        let state = match field(&info, "State:").as_str() {
            "shut off" => "shutoff".to_string(),
            s => s.to_string(),
        };
        assert_eq!(r["state"], state.as_str(), "{n}");
        assert_eq!(r["vcpus"].to_string(), field(&info, "CPU(s):"), "{n}");
        assert_eq!(
            format!("{} KiB", r["memory_kib"]),
            field(&info, "Max memory:"),
            "{n}"
        );
        let disks: Vec<String> = virsh(uri, &["domblklist", n])
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
        let files: Vec<String> = r["disk_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_string())
            .collect();
        assert_eq!(files, disks, "{n}");
        assert_eq!(r["disks"], disks.len(), "{n}");
    }
    names.len()
}

/// The seed's VMs, in the order the status lists them: the director, then the overcloud's
/// nodes by name (the order of their BMCs).
const SEED_VMS: [&str; 8] = [
    "undercloud",
    "overcloud-ceph01",
    "overcloud-ceph02",
    "overcloud-ceph03",
    "overcloud-compute01",
    "overcloud-ctrl01",
    "overcloud-ctrl02",
    "overcloud-ctrl03",
];

#[test]
fn status_on_the_sandbox_is_what_its_test_driver_file_holds_and_reads_only() {
    let lab = Lab::new();
    // Before any run there is no sandbox: said, not made.
    let out = lab.run(["status"]);
    out.code(1).stdout_has(&format!(
        "lab lab is not on the sandbox yet (no {}): labsh run scripts/lab.rhai makes it",
        lab.state().join("sandbox/lab/host.xml").display()
    ));
    assert!(!lab.state().join("sandbox/lab/host.xml").exists());

    lab.run_script("lab.rhai").run().ok();
    let file = lab.state().join("sandbox/lab/host.xml");
    // Another lab (profiles/minimal.rhai's "mini") has a sandbox of its own, not made yet.
    lab.run(["status", "--profile", "minimal"])
        .code(1)
        .stdout_has(&format!(
            "lab mini is not on the sandbox yet (no {}): labsh run scripts/lab.rhai --profile minimal makes it",
            lab.state().join("sandbox/mini/host.xml").display()
        ));
    let uri = format!("test://{}", file.display());
    let before = std::fs::read(&file).unwrap();
    let journals = lab.journals().len();

    let (out, st) = status_json(&lab, &[]);
    out.ok();
    assert_eq!(st["healthy"], true, "{st}");
    assert_eq!(st["lab"], "lab");
    assert_eq!(st["target"], "sandbox");
    let names: Vec<&str> = st["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "host",
            "networks",
            "domains",
            "undercloud",
            "overcloud",
            "tenant",
            "cluster"
        ]
    );
    // The domains as virsh reads the test driver's file; autostart as the sandbox keeps it
    // (virsh's test driver has none: labsh keeps it in a file beside).
    assert_eq!(domains_equal_virsh(&st, &uri), 8);
    let doms = layer(&st, "domains");
    let order: Vec<&str> = doms["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(order, SEED_VMS);
    let sidecar =
        std::fs::read_to_string(lab.state().join("sandbox/lab/host.xml.autostart")).unwrap();
    for n in SEED_VMS {
        assert_eq!(
            row(doms, n)["autostart"],
            sidecar.lines().any(|l| l == format!("domain {n}")),
            "{n}"
        );
        assert_eq!(row(doms, n)["bmc"], "-", "no BMCs on the sandbox");
    }
    // The networks as virsh lists them.
    let nets = layer(&st, "networks");
    for line in virsh(&uri, &["net-list", "--all"]).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(row(nets, w[0])["active"], w[1] == "active", "{line}");
    }
    assert_eq!(nets["rows"].as_array().unwrap().len(), 2);
    // The host the sandbox models: the article's (virsh nodeinfo of the file), its memory in
    // use the running domains' (2 + 16 x 3 + 4 x 3 + 68 + 12 GiB).
    let host = layer(&st, "host");
    let node = virsh(&uri, &["nodeinfo"]);
    assert_eq!(host["cpus"].to_string(), field(&node, "CPU(s):"));
    assert_eq!(
        format!("{} KiB", host["memory_kib"]),
        field(&node, "Memory size:")
    );
    assert_eq!(host["memory_used_kib"], 140u64 << 20);
    for l in ["undercloud", "overcloud", "tenant", "cluster"] {
        assert_eq!(layer(&st, l)["state"], "skipped", "{l}");
        assert_eq!(
            layer(&st, l)["why"],
            "the sandbox has no undercloud, cloud or cluster"
        );
    }
    // Reading changed nothing: the sandbox's file, no journal.
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(lab.journals().len(), journals);

    // The same for a person: a line per layer, the domains' table.
    let out = lab.run(["status"]);
    out.ok()
        .stdout_has("L1 domains")
        .stdout_has("8 of 8 defined, 8 running; no BMCs on the sandbox")
        .stdout_has("lab lab on sandbox: healthy");
    let line = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("overcloud-compute01"))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "overcloud-compute01",
            "running",
            "16",
            "68",
            "GiB",
            "1",
            "yes",
            "-"
        ]
    );

    // A domain stopped behind labsh's back (-e keeps what it does to the sandbox): degraded, 1.
    lab.run([
        "-e",
        "virt::domain_destroy(virt::sandbox(), \"overcloud-ctrl02\")",
    ])
    .ok();
    let (out, st) = status_json(&lab, &[]);
    out.code(1);
    assert_eq!(st["healthy"], false);
    let doms = layer(&st, "domains");
    assert_eq!(doms["state"], "degraded");
    assert_eq!(row(doms, "overcloud-ctrl02")["state"], "shutoff");
    assert_eq!(
        problems(doms),
        ["overcloud-ctrl02 is shutoff: virsh start overcloud-ctrl02, or run the l1 stage"]
    );
    domains_equal_virsh(&st, &uri);
    let out = lab.run(["status"]);
    out.code(1)
        .stdout_has("! overcloud-ctrl02 is shutoff")
        .stdout_has("lab lab on sandbox: not healthy (domains degraded;");
}

#[test]
fn status_reads_while_a_run_holds_the_lab() {
    let lab = Lab::new();
    lab.run_script("lab.rhai")
        .args(["--only", "l0", "--only", "l1"])
        .run()
        .ok();
    let slow = lab.file("slow.rhai", "stage(\"slow\", || sleep(30));\n");
    let mut c = lab.labsh().args(["run", slow.to_str().unwrap()]).command();
    c.stdout(Stdio::null()).stderr(Stdio::null());
    let run = Spawned(c.spawn().unwrap());
    let lock = lab.state().join("lock");
    let t0 = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&run.0.id().to_string())) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the run took no lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let t0 = Instant::now();
    let (out, st) = status_json(&lab, &[]);
    out.ok();
    assert_eq!(layer(&st, "domains")["rows"].as_array().unwrap().len(), 8);
    assert!(t0.elapsed() < Duration::from_secs(20), "status waited");
    // --repair changes the lab: while the run holds it, a clear error, no reading, no journal.
    let journals = lab.journals().len();
    let held = lab.run(["status", "--repair", "--json"]);
    held.code(1)
        .stdout_has(&format!("is in use by labsh pid {}", run.0.id()));
    assert!(
        held.json_lines()
            .iter()
            .any(|l| l["event"] == "error" && l["kind"] == "locked"),
        "{}",
        held.stdout
    );
    assert!(
        held.json_lines().iter().all(|l| l["event"] != "status"),
        "{}",
        held.stdout
    );
    assert_eq!(lab.journals().len(), journals);
    drop(run);
    // The run over: the repair runs as a run (journaled; the sandbox has nothing stale), then
    // the reading; a plan of it is not journaled.
    let out = lab.run(["status", "--repair"]);
    out.ok()
        .stdout_has("repair: nothing a restart of the host leaves stale was found")
        .stdout_has("healthy");
    assert_eq!(lab.journals().len(), journals + 1);
    let out = lab.run(["status", "--repair", "--plan", "--json"]);
    out.ok();
    let lines = out.json_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "run" && l["mode"] == "plan"),
        "{}",
        out.stdout
    );
    assert!(
        lines.iter().any(|l| l["event"] == "status"),
        "{}",
        out.stdout
    );
    assert_eq!(lab.journals().len(), journals + 1);
}

#[test]
fn status_refuses_what_it_cannot_do_before_reading() {
    let lab = Lab::new();
    lab.run(["status", "--target", "no-such-target"])
        .code(2)
        .stderr_has("no-such-target");
    lab.run(["status", "--profile", "/nonexistent/p.rhai"])
        .code(2)
        .stderr_has("profile file /nonexistent/p.rhai does not exist");
    lab.run(["status", "--set", "uir=x"])
        .code(2)
        .stderr_has("unknown --set key 'uir'")
        .stderr_has("did you mean 'uri'?");
    lab.run(["status", "--watch", "0"]).code(2);
}

#[test]
fn a_profile_or_target_that_cannot_be_read_is_why_nothing_was_read() {
    let lab = Lab::new();
    let bad = lab.file("targets/bad.yaml", "libvirt_uri: [oops\n");
    let b = bad.to_str().unwrap();
    let out = lab.run(["status", "--target", b]);
    out.code(1).stdout_has(&format!(
        "not healthy: {b}: error: line 1 column 14: unclosed bracket '['"
    ));
    assert!(
        !out.stderr.contains("in call to function"),
        "{}",
        out.stderr
    );
    let (out, st) = status_json(&lab, &["--target", b]);
    out.code(1);
    assert_eq!(st["healthy"], false);
    assert_eq!(st["target"], b);
    let why = format!("{b}: error: line 1 column 14: unclosed bracket '['");
    assert_eq!(st["why"], why.as_str());
    for l in st["layers"].as_array().unwrap() {
        assert_eq!(l["state"], "unreachable", "{l}");
        assert_eq!(l["why"], why.as_str(), "{l}");
    }
    // A profile whose value is of the wrong type, named by its field.
    let p = lab.file(
        "profiles/bad.rhai",
        "fn overrides() { #{ vms: #{ ctrl: #{ count: \"x\" } } } }\n",
    );
    let t = lab.file(
        "targets/test.yaml",
        "libvirt_uri: test:///default\nundercloud: {offline: true}\ncluster: {offline: true}\n",
    );
    let out = lab.run([
        "status",
        "--profile",
        p.to_str().unwrap(),
        "--target",
        t.to_str().unwrap(),
    ]);
    out.code(1)
        .stdout_has("not healthy: ")
        .stdout_has("vms.ctrl.count: must be an integer, not a string (x)");
    assert!(
        !out.stderr.contains("in call to function"),
        "{}",
        out.stderr
    );
}

#[test]
fn status_watch_reads_again_until_ctrl_c_and_ends_with_130() {
    use std::io::BufRead;
    let lab = Lab::new();
    lab.run_script("lab.rhai")
        .args(["--only", "l0", "--only", "l1"])
        .run()
        .ok();
    let mut c = lab
        .labsh()
        .args(["status", "--json", "--watch", "0.5"])
        .command();
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Two readings, however long each takes on a busy machine; then Ctrl-C.
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut readings = 0;
    let t0 = Instant::now();
    while readings < 2 {
        let line = lines.next().expect("the watch ended by itself").unwrap();
        let ev: Value = serde_json::from_str(&line).unwrap();
        if ev["event"] == "status" {
            assert_eq!(ev["healthy"], true, "{ev}");
            assert_eq!(ev["watch"], 0.5);
            readings += 1;
        }
        assert!(t0.elapsed() < Duration::from_secs(120));
    }
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    // The last line says it was interrupted.
    let last: Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(last["event"], "error");
    assert_eq!(last["kind"], "interrupted");
}

#[test]
fn a_run_of_the_lab_ends_with_what_is_true_to_do_next() {
    let lab = Lab::new();
    let out = lab.run_script("lab.rhai").run();
    out.ok();
    let at = out.stderr.find("what next:").expect("what next");
    let next: Vec<&str> = out.stderr[at..].lines().skip(1).map(str::trim).collect();
    let out_dir = lab.state().join("out/sandbox/lab");
    assert_eq!(
        next,
        [
            format!(
                "hosts:      the block in {}/hosts-block.txt, written into {}/hosts",
                out_dir.display(),
                out_dir.display()
            ),
            "status:     labsh status".to_string(),
        ]
    );
    // After the recap; nothing of a cluster the sandbox does not have.
    assert!(out.stderr[..at].contains("RECAP"));
    for absent in ["console", "kubeadmin", "KUBECONFIG", "ssh undercloud"] {
        assert!(!out.stderr[at..].contains(absent), "{absent}");
    }
    // In JSON: one event, before the recap (the last line).
    let out = lab.run_script("lab.rhai").args(["--json"]).run();
    out.ok();
    assert!(!out.stderr.contains("what next"));
    let lines = out.json_lines();
    assert_eq!(lines.last().unwrap()["event"], "recap");
    let ev = &lines[lines.len() - 2];
    assert_eq!(ev["event"], "next", "{ev}");
    assert_eq!(ev["lines"][1], "status:     labsh status");
    // A run of only the first stages: only what they made true.
    let out = lab
        .run_script("lab.rhai")
        .args(["--only", "l0", "--only", "l1", "--target", "sandbox"])
        .run();
    out.ok();
    let at = out.stderr.find("what next:").unwrap();
    assert_eq!(
        out.stderr[at..]
            .lines()
            .skip(1)
            .map(str::trim)
            .collect::<Vec<_>>(),
        ["status:     labsh status"]
    );
    // A plan and a failed run say nothing of what next.
    let out = lab.run_script("lab.rhai").args(["--plan"]).run();
    out.ok();
    assert!(!out.stderr.contains("what next"));
    let failing = lab.file(
        "profiles/failing.rhai",
        "fn overrides() { #{} }\nfn after_l1(p) { throw \"the hook failed\"; }\n",
    );
    let out = lab
        .run_script("lab.rhai")
        .args(["--profile", failing.to_str().unwrap()])
        .run();
    out.code(1).stderr_has("the hook failed");
    assert!(!out.stderr.contains("what next"));
}

/// A target file on a real libvirtd, its BMCs on vbmcd (IPMI from `port_base`), no undercloud
/// or cluster; the seed's compute node at 8 GiB (QEMU cannot reserve more on this machine).
fn real_target(lab: &Lab, host: &RealHost, vbmcd: &Vbmcd, port_base: u16) -> PathBuf {
    std::fs::create_dir_all(host.images().join("ssd")).unwrap();
    lab.file(
        "targets/real.yaml",
        &format!(
            "libvirt_uri: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\ndomain_type: qemu\n\
             bmc: {{address: 127.0.0.1, port_base: {port_base}, config: \"{}\"}}\n\
             out: \"{}\"\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\n\
             profile:\n  vms:\n    compute: {{memory_mib: 8192}}\n",
            host.uri,
            host.images().display(),
            host.images().join("ssd").display(),
            vbmcd.config.display(),
            lab.work().join("out").display(),
        ),
    )
}

/// The seed's L0 and L1 with its BMCs, on the target `lab.rhai` resolves.
const L1_WITH_BMCS: &str = r#"
import "target" as target;
import "l0" as l0;
import "l1" as l1;
let s = target::setup(run_info());
stage("l0", || l0::networks(s.t.uri, s.p));
stage("l1", || l1::build_with_bmcs(s.t.uri, s.p));
"#;

#[test]
fn status_on_a_real_libvirtd_is_what_virsh_and_the_bmcs_say() {
    let host = RealHost::start("status");
    let lab = Lab::new();
    let vbmcd = Vbmcd::start(&lab.work().join("vbmcd"));
    let port_base = free_ports(26000, 7);
    let target = real_target(&lab, &host, &vbmcd, port_base);
    let t = target.to_str().unwrap();
    let f = lab.file("l1.rhai", L1_WITH_BMCS);
    lab.run(["run", f.to_str().unwrap(), "--target", t]).ok();

    let (out, st) = status_json(&lab, &["--target", t]);
    // The overcloud's openrc is not there (no overcloud on this target): that layer says so.
    out.code(1);
    let tenant = layer(&st, "tenant");
    assert_eq!(tenant["state"], "unreachable");
    assert_eq!(
        tenant["why"],
        format!(
            "{}/overcloudrc does not exist: the overcloud stage fetches it from the director",
            lab.work().join("out/lab").display()
        )
    );
    let doms = layer(&st, "domains");
    assert_eq!(doms["state"], "ok", "{doms}");
    assert_eq!(domains_equal_virsh(&st, &host.uri), 8);
    for n in SEED_VMS {
        let info = virsh(&host.uri, &["dominfo", n]);
        assert_eq!(
            row(doms, n)["autostart"],
            field(&info, "Autostart:") == "enable"
        );
        let bmc = &row(doms, n)["bmc"];
        if n == "undercloud" {
            assert_eq!(bmc, "-");
        } else {
            assert_eq!(bmc, "on", "{n}");
        }
    }
    assert_eq!(
        doms["summary"],
        "8 of 8 defined, 8 running; 7 of 7 BMCs answer (ipmi)"
    );
    let nets = layer(&st, "networks");
    assert_eq!(nets["state"], "ok");
    for line in virsh(&host.uri, &["net-list", "--all"]).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let r = row(nets, w[0]);
        assert_eq!(r["active"], w[1] == "active", "{line}");
        assert_eq!(r["autostart"], w[2] == "yes", "{line}");
    }
    // This host: its CPUs, and the free space of the images folder as df tells it before and
    // after a reading (other programs write to this disk meanwhile).
    let h = layer(&st, "host");
    let cpus = Command::new("getconf")
        .arg("_NPROCESSORS_CONF")
        .output()
        .unwrap();
    assert_eq!(
        h["cpus"].to_string(),
        String::from_utf8_lossy(&cpus.stdout).trim()
    );
    let df = || -> i64 {
        let out = Command::new("df")
            .args(["-Pk"])
            .arg(host.images())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().nth(3))
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = df();
    let (_, st) = status_json(&lab, &["--target", t]);
    let after = df();
    let h = layer(&st, "host");
    assert_eq!(h["rows"][0]["path"], host.images().display().to_string());
    let shown = h["rows"][0]["free_kib"].as_i64().unwrap();
    let slack = 512 * 1024;
    assert!(
        before.min(after) - slack <= shown && shown <= before.max(after) + slack,
        "{shown} KiB free; df: {before} before, {after} after"
    );

    // One BMC stopped: not answering, and the lab not healthy.
    let st_ = Command::new(venv_bin().join("vbmc"))
        .args(["stop", "overcloud-ctrl01"])
        .env("VIRTUALBMC_CONFIG", &vbmcd.config)
        .status()
        .unwrap();
    assert!(st_.success());
    let t0 = Instant::now();
    let (out, st) = status_json(&lab, &["--target", t]);
    out.code(1);
    let doms = layer(&st, "domains");
    assert_eq!(doms["state"], "degraded");
    assert_eq!(row(doms, "overcloud-ctrl01")["bmc"], "no answer");
    assert_eq!(row(doms, "overcloud-ctrl02")["bmc"], "on");
    let p = problems(doms);
    assert_eq!(p.len(), 1, "{p:?}");
    // overcloud-ctrl01 is the fifth overcloud node by name (ceph01-03, compute01, ctrl01).
    assert_eq!(
        p[0],
        format!(
            "overcloud-ctrl01's BMC (IPMI 127.0.0.1:{}) does not answer: ipmitool: Error: Unable to establish IPMI v2 / RMCP+ session",
            port_base + 4
        )
    );
    // ipmitool gives up in about 2 s (a 1 s wait, asked twice), not its own 20.
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
    let out = lab.run(["status", "--target", t]);
    out.code(1)
        .stdout_has("no answer")
        .stdout_has("6 of 7 BMCs answer")
        .stdout_has("! overcloud-ctrl01's BMC");

    // What a restart of the host leaves stale, ctrl01's BMC stopped and a VM that should run
    // (autostart) off: a status without --repair only reads it, and changes none of it.
    host.virsh(&["destroy", "overcloud-ctrl02"]);
    let domstate = |vm: &str| virsh(&host.uri, &["domstate", vm]).trim().to_string();
    let ctrl01_bmc = || ipmi_status(port_base + 4, &lab);
    let (out, st) = status_json(&lab, &["--target", t]);
    out.code(1);
    assert_eq!(
        row(layer(&st, "domains"), "overcloud-ctrl02")["state"],
        "shutoff"
    );
    assert!(out.json_lines().iter().all(|l| l["event"] != "repair"));
    assert_eq!(
        domstate("overcloud-ctrl02"),
        "shut off",
        "a status repairs nothing"
    );
    assert!(!ctrl01_bmc(), "a status starts no BMC");

    // --repair while a run holds the lab's lock: a clear error naming it, nothing changed.
    let hold = lab.file("hold.rhai", "print(\"holding\");\nsleep(120);\n");
    let (mut holder, line) =
        spawn_and_read_line(&mut lab.labsh().args(["run", hold.to_str().unwrap()]).command());
    assert_eq!(line.trim(), "holding");
    let locked = lab.run(["status", "--repair", "--target", t]);
    let _ = Command::new("kill").arg(holder.id().to_string()).status();
    let _ = holder.wait();
    locked
        .code(1)
        .stderr_has("is in use by labsh pid")
        .stderr_has("nothing was repaired or read");
    assert!(!locked.stdout.contains("healthy"), "{}", locked.stdout);
    assert_eq!(domstate("overcloud-ctrl02"), "shut off");
    assert!(!ctrl01_bmc());

    // --repair --plan: the repairs it would make, named; nothing changed.
    let plan = lab.run(["status", "--repair", "--plan", "--target", t]);
    plan.code(1)
        .stdout_has("repair (planned): started overcloud-ctrl02")
        .stdout_has("repair (planned): BMC overcloud-ctrl01")
        .stdout_has("not healthy");
    assert_eq!(
        domstate("overcloud-ctrl02"),
        "shut off",
        "a plan starts nothing"
    );
    assert!(!ctrl01_bmc(), "a plan starts no BMC");

    // --repair: each repair said (and a repair event each in JSON), then the status after.
    let out = lab.run(["status", "--repair", "--json", "--target", t]);
    let lines = out.json_lines();
    let mut repairs: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "repair")
        .map(|l| l["repair"].as_str().unwrap())
        .collect();
    repairs.sort();
    assert_eq!(
        repairs,
        ["BMC overcloud-ctrl01", "started overcloud-ctrl02"],
        "{}",
        out.stdout
    );
    assert!(lines.iter().any(|l| l["event"] == "print"
        && l["text"] == "repair: VM overcloud-ctrl02 started again (it should run)"));
    let st = lines
        .iter()
        .find(|l| l["event"] == "status")
        .unwrap_or_else(|| panic!("no status after the repair:\n{}", out.stdout));
    let doms = layer(st, "domains");
    assert_eq!(doms["state"], "ok", "{doms}");
    assert_eq!(row(doms, "overcloud-ctrl02")["state"], "running");
    assert_eq!(row(doms, "overcloud-ctrl01")["bmc"], "on");
    assert_eq!(domstate("overcloud-ctrl02"), "running");
    assert!(ctrl01_bmc());
    // Nothing stale is left: a second repair says so, and changes nothing.
    lab.run(["status", "--repair", "--target", t])
        .stdout_has("repair: nothing a restart of the host leaves stale was found");
}

/// Whether the BMC on `port` answers a power status (ipmitool, the lab's BMC password).
fn ipmi_status(port: u16, lab: &Lab) -> bool {
    let secrets = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let pw = secrets
        .lines()
        .find_map(|l| l.strip_prefix("bmc-password="))
        .unwrap()
        .to_string();
    Command::new("ipmitool")
        .args([
            "-I",
            "lanplus",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "admin",
            "-E",
            "-R",
            "1",
            "-N",
            "1",
        ])
        .args(["power", "status"])
        .env("IPMI_PASSWORD", pw)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("Chassis Power is"))
        .unwrap_or(false)
}

/// Stops the lab's Redfish emulator (by the PID in its file) when a test ends, however it ends.
struct SushyGuard(PathBuf);

impl Drop for SushyGuard {
    fn drop(&mut self) {
        if let Some(pid) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

#[test]
fn status_with_redfish_bmcs_is_what_the_emulator_and_virsh_say() {
    let host = RealHost::start("statusrf");
    let lab = Lab::new();
    let port = free_port(29000);
    std::fs::create_dir_all(host.images().join("ssd")).unwrap();
    let target = lab.file(
        "targets/redfish.yaml",
        &format!(
            "libvirt_uri: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\ndomain_type: qemu\n\
             bmc: {{type: redfish, address: 127.0.0.1, redfish_port: {port}}}\n\
             out: \"{}\"\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\n\
             profile:\n  vms:\n    compute: {{memory_mib: 8192}}\n",
            host.uri,
            host.images().display(),
            host.images().join("ssd").display(),
            lab.work().join("out").display(),
        ),
    );
    let t = target.to_str().unwrap();
    let f = lab.file("l1.rhai", L1_WITH_BMCS);
    let pid_file = lab.state().join("redfish/lab/sushy.pid");
    let _sushy = SushyGuard(pid_file.clone());
    lab.labsh()
        .args(["run", f.to_str().unwrap(), "--target", t])
        .env("PATH", &path_with_venv())
        .run()
        .ok();
    assert!(pid_file.exists(), "the lab's Redfish emulator runs");

    let url = format!("http://127.0.0.1:{port}");
    let (_, st) = status_json(&lab, &["--target", t]);
    let doms = layer(&st, "domains");
    assert_eq!(doms["state"], "ok", "{doms}");
    assert_eq!(domains_equal_virsh(&st, &host.uri), 8);
    assert_eq!(
        doms["summary"],
        "8 of 8 defined, 8 running; 7 of 7 BMCs answer (redfish)"
    );
    for n in &SEED_VMS[1..] {
        assert_eq!(row(doms, n)["bmc"], "on", "{n}");
    }
    assert_eq!(row(doms, "undercloud")["bmc"], "-");

    // A node powered off behind labsh's back: its BMC says off, as libvirt does.
    host.virsh(&["destroy", "overcloud-compute01"]);
    let (out, st) = status_json(&lab, &["--target", t]);
    out.code(1);
    let doms = layer(&st, "domains");
    assert_eq!(row(doms, "overcloud-compute01")["bmc"], "off");
    assert_eq!(row(doms, "overcloud-compute01")["state"], "shutoff");
    assert_eq!(
        problems(doms),
        ["overcloud-compute01 is shutoff: virsh start overcloud-compute01, or run the l1 stage"]
    );
    domains_equal_virsh(&st, &host.uri);

    // The emulator stopped: no node's BMC answers, each says where it was asked.
    lab.run([
        "-e",
        &format!("bmc::sushy_stop(\"{}\")", pid_file.display()),
    ])
    .ok();
    let (out, st) = status_json(&lab, &["--target", t]);
    out.code(1);
    let doms = layer(&st, "domains");
    assert_eq!(doms["state"], "degraded");
    for n in &SEED_VMS[1..] {
        assert_eq!(row(doms, n)["bmc"], "no answer", "{n}");
    }
    assert!(doms["summary"]
        .as_str()
        .unwrap()
        .ends_with("; 0 of 7 BMCs answer (redfish)"));
    let p = problems(doms);
    let ctrl = p
        .iter()
        .find(|l| l.starts_with("overcloud-ctrl01's BMC"))
        .unwrap_or_else(|| panic!("{p:?}"));
    assert!(
        ctrl.starts_with(&format!("overcloud-ctrl01's BMC ({url}) does not answer: ")),
        "{ctrl}"
    );
}

/// python-ironicclient's reading of the nodes named in `names`: their fields as Ironic names
/// them, by node name.
fn ironic_nodes(clouds: &Path, names: &[String]) -> std::collections::BTreeMap<String, Value> {
    osc(
        clouds,
        "devcloud-system",
        &[
            "baremetal",
            "node",
            "list",
            "--fields",
            "name",
            "provision_state",
            "power_state",
            "maintenance",
            "maintenance_reason",
            "last_error",
        ],
    )
    .as_array()
    .unwrap()
    .iter()
    .filter(|n| names.iter().any(|m| n["name"] == m.as_str()))
    .map(|n| (n["name"].as_str().unwrap().to_string(), n.clone()))
    .collect()
}

#[test]
fn the_undercloud_layer_is_what_python_ironicclient_reads_from_ironic() {
    let clouds = devcloud();
    let lab = Lab::new();
    let clouds = system_clouds(&lab, &clouds);
    let p = "t-st";
    // The lab's three nodes, and one of another lab.
    let names: Vec<String> = ["ctrl01", "ceph01", "compute01"]
        .iter()
        .map(|n| format!("{p}-{n}"))
        .collect();
    let other = format!("{p}-other-lab");
    let all: Vec<String> = names.iter().cloned().chain([other.clone()]).collect();
    // What an earlier run of this test left (nodes in enroll are deleted as they are).
    let delete = || {
        let left: Vec<String> = ironic_nodes(&clouds, &all).into_keys().collect();
        if !left.is_empty() {
            let mut args = vec!["baremetal", "node", "delete"];
            args.extend(left.iter().map(String::as_str));
            osc_status(&clouds, "devcloud-system", &args);
        }
    };
    delete();
    // A lab of three overcloud nodes of its own names.
    let variant = lab.file(
        "profiles/statustest.rhai",
        &format!(
            "fn overrides() {{ #{{ name: \"{p}\", vms: #{{ ctrl: #{{ count: 1, name: \"{p}-ctrl%02d\" }}, \
             ceph: #{{ count: 1, name: \"{p}-ceph%02d\" }}, compute: #{{ name: \"{p}-compute%02d\" }} }} }} }}\n"
        ),
    );
    let target = lab.file(
        "targets/uc.yaml",
        &format!(
            "libvirt_uri: test:///default\nundercloud: {{offline: true, cloud: {{cloud: devcloud-system, clouds_yaml: \"{}\"}}}}\n\
             cluster: {{offline: true}}\n",
            clouds.display()
        ),
    );
    let args = [
        "--target",
        target.to_str().unwrap(),
        "--profile",
        variant.to_str().unwrap(),
    ];
    // Nothing enrolled yet.
    let (_, st) = status_json(&lab, &args);
    let uc = layer(&st, "undercloud");
    assert_eq!(uc["state"], "degraded", "{uc}");
    assert_eq!(uc["summary"], "0 of 3 enrolled, 0 ready");
    assert!(problems(uc).contains(&format!(
        "{p}-ctrl01 is not enrolled: the overcloud stage enrolls it"
    )));

    // The nodes made by python-openstackclient, on a BMC port where nothing answers.
    let closed = free_port(27000);
    let node = |name: &str, lab: &str| {
        serde_json::json!({
            "name": name, "driver": "ipmi", "extra": {"labsh_lab": lab},
            "driver_info": {"ipmi_address": "127.0.0.1", "ipmi_port": closed,
                            "ipmi_username": "admin", "ipmi_password": "not-a-bmc"},
        })
    };
    let mut nodes: Vec<Value> = names.iter().map(|n| node(n, p)).collect();
    nodes.push(node(&other, "t-st-other"));
    let file = lab.file(
        "nodes.json",
        &serde_json::json!({ "nodes": nodes }).to_string(),
    );
    assert!(osc_status(
        &clouds,
        "devcloud-system",
        &["baremetal", "create", file.to_str().unwrap()]
    ));
    assert!(osc_status(
        &clouds,
        "devcloud-system",
        &[
            "baremetal",
            "node",
            "maintenance",
            "set",
            &names[1],
            "--reason",
            "BMC replaced"
        ]
    ));
    // One node asked to manage through that BMC: Ironic records why it failed.
    osc_status(
        &clouds,
        "devcloud-system",
        &["baremetal", "node", "manage", &names[2]],
    );
    let t0 = Instant::now();
    let read = loop {
        let r = ironic_nodes(&clouds, &names);
        let n = &r[&names[2]];
        if n["provision_state"] != "verifying" && n["last_error"].is_string() {
            break r;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "{n}");
        std::thread::sleep(Duration::from_secs(1));
    };
    let (out, st) = status_json(&lab, &args);
    out.code(1);
    let uc = layer(&st, "undercloud");
    let mut shown: Vec<&str> = uc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    shown.sort();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort();
    // The other lab's node is not this lab's.
    assert_eq!(shown, want);
    for n in &names {
        let r = row(uc, n);
        for k in [
            "provision_state",
            "power_state",
            "maintenance",
            "maintenance_reason",
            "last_error",
        ] {
            assert_eq!(r[k], read[n][k], "{n} {k}");
        }
    }
    assert_eq!(row(uc, &names[1])["maintenance"], true);
    assert!(problems(uc).contains(&format!("{} is in maintenance: BMC replaced", names[1])));
    let err = row(uc, &names[2])["last_error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!err.is_empty(), "{uc}");
    assert!(problems(uc).contains(&format!("{}: last error: {err}", names[2])));
    assert_eq!(uc["summary"], "3 of 3 enrolled, 0 ready");
    delete();
}

/// The Kubernetes API stand-in serving the data in `data`, and a kubeconfig for it at `at`.
pub(crate) fn kubeapi(data: &Path, at: &Path) -> Spawned {
    let (child, port) = spawn_and_read_line(
        Command::new("python3")
            .arg(crate::support::root().join("tests/harness/kubeapi.py"))
            .arg(data),
    );
    write_kubeconfig(at, &format!("http://127.0.0.1:{}", port.trim()));
    Spawned(child)
}

fn write_kubeconfig(at: &Path, server: &str) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(
        at,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"{server}\"}}\n  name: ocp4\ncontexts:\n- context: {{cluster: ocp4, user: admin}}\n  name: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user: {{token: recorded}}\n"
        ),
    )
    .unwrap();
}

/// kubectl's own reading of `resource` through `kubeconfig`.
fn kubectl(kubeconfig: &Path, home: &Path, resource: &str) -> Vec<Value> {
    let out = Command::new("kubectl")
        .args(["get", resource, "-o", "json"])
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["items"].as_array().unwrap().clone()
}

fn condition(item: &Value, kind: &str) -> String {
    item["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .map(|c| c["status"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "Unknown".into())
}

#[test]
fn the_cluster_layer_is_what_kubectl_reads_and_a_closed_port_says_why() {
    let lab = Lab::new();
    let out_dir = lab.work().join("out");
    // A target file's `out:` holds a folder for each lab.
    let kc = out_dir.join("lab/ocp/auth/kubeconfig");
    // The cloud at a port where nothing listens: that layer cannot be read, and says why.
    let closed = free_port(28000);
    let clouds = lab.file(
        "clouds.yaml",
        &format!(
            "clouds:\n  gone:\n    auth:\n      auth_url: http://127.0.0.1:{closed}/v3\n      username: admin\n      password: not-there\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n"
        ),
    );
    let target = lab.file(
        "targets/k8s.yaml",
        &format!(
            "libvirt_uri: test:///default\nout: \"{}\"\ncloud: {{cloud: gone, clouds_yaml: \"{}\"}}\nundercloud: {{offline: true}}\n",
            out_dir.display(),
            clouds.display()
        ),
    );
    let t = target.to_str().unwrap();
    // The recorded cluster, one operator made Degraded and not Available.
    let data = lab.work().join("k8s");
    std::fs::create_dir_all(&data).unwrap();
    for f in [
        "nodes.json",
        "pods-openshift-openstack-infra.json",
        "clusteroperators.json",
    ] {
        std::fs::copy(
            crate::support::root().join("tests/data/k8s").join(f),
            data.join(f),
        )
        .unwrap();
    }
    let api = kubeapi(&data, &kc);
    let (out, st) = status_json(&lab, &["--target", t]);
    out.code(1);
    let c = layer(&st, "cluster");
    assert_eq!(c["state"], "ok", "{c}");
    let nodes = kubectl(&kc, &lab.home(), "nodes");
    let ops = kubectl(&kc, &lab.home(), "clusteroperators");
    assert_eq!(nodes.len(), 5);
    assert_eq!(ops.len(), 27);
    let rows = c["rows"].as_array().unwrap();
    for n in &nodes {
        let name = n["metadata"]["name"].as_str().unwrap();
        let r = rows
            .iter()
            .find(|r| r["kind"] == "node" && r["name"] == name)
            .unwrap();
        assert_eq!(r["ready"], condition(n, "Ready") == "True", "{name}");
    }
    for o in &ops {
        let name = o["metadata"]["name"].as_str().unwrap();
        let r = rows
            .iter()
            .find(|r| r["kind"] == "operator" && r["name"] == name)
            .unwrap();
        assert_eq!(r["ready"], condition(o, "Available") == "True", "{name}");
        assert_eq!(
            r["progressing"],
            condition(o, "Progressing") == "True",
            "{name}"
        );
        assert_eq!(r["degraded"], condition(o, "Degraded") == "True", "{name}");
    }
    assert_eq!(
        c["summary"],
        "5 of 5 nodes Ready; cluster operators: 27 of 27 Available, 0 Progressing, 0 Degraded"
    );
    let tenant = layer(&st, "tenant");
    assert_eq!(tenant["state"], "unreachable");
    let why = tenant["why"].as_str().unwrap();
    assert!(why.contains(&format!("127.0.0.1:{closed}")), "{why}");
    assert!(why.to_lowercase().contains("refused"), "{why}");

    // An operator degraded, as kubectl reads it too.
    let file = data.join("clusteroperators.json");
    let mut list: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for cond in list["items"][6]["status"]["conditions"]
        .as_array_mut()
        .unwrap()
    {
        match cond["type"].as_str().unwrap() {
            "Degraded" => {
                cond["status"] = "True".into();
                cond["message"] =
                    "IngressControllersDegraded: Some ingresscontrollers are degraded: default"
                        .into();
            }
            "Available" => cond["status"] = "False".into(),
            _ => {}
        }
    }
    std::fs::write(&file, list.to_string()).unwrap();
    let (_, st) = status_json(&lab, &["--target", t]);
    let c = layer(&st, "cluster");
    assert_eq!(c["state"], "degraded");
    assert_eq!(
        problems(c),
        [
            "cluster operator ingress is not Available",
            "cluster operator ingress is Degraded: IngressControllersDegraded: Some ingresscontrollers are degraded: default"
        ]
    );
    let ops = kubectl(&kc, &lab.home(), "clusteroperators");
    assert_eq!(condition(&ops[6], "Degraded"), "True");

    // The API taken down: the layer cannot be read, and says why; nothing crashes.
    drop(api);
    let (out, st) = status_json(&lab, &["--target", t]);
    out.code(1);
    let c = layer(&st, "cluster");
    assert_eq!(c["state"], "unreachable");
    let why = c["why"].as_str().unwrap();
    assert!(why.contains("refused"), "{why}");
    let out = lab.run(["status", "--target", t]);
    out.code(1).stdout_has("cannot be read: ");
    assert!(!out.stderr.contains("panicked") && !out.stderr.contains("backtrace"));
}

/// `ssh root@DIRECTOR COMMAND` with the stand-in's key: its output.
fn on_director(d: &Director, cmd: &str) -> String {
    let key = d.path("clientkey");
    let out = Command::new("ssh")
        .args(["-i", key.to_str().unwrap(), "-p", &d.port.to_string()])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args([
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=yes",
            "root@127.0.0.1",
            cmd,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The overcloud layer (the stack or the deployment status) and the undercloud's Ironic read on
/// the director over ssh (no undercloud.cloud in the target), against the stand-in director of
/// `release`, which answers in the release's formats; read back with the same commands.
fn the_director_layers_are_what_the_director_answers(release: &str) {
    let d = Director::start(release);
    let lab = Lab::new();
    // What the undercloud stage leaves: the stack user's stackrc.
    on_director(
        &d,
        "mkdir -p /home/stack && printf 'export OS_CLOUD=undercloud\\n' > /home/stack/stackrc",
    );
    // 17.1's guests are RHEL 9 (and its registry needs a user).
    let more = if release == "17.1" {
        ", registry_user: \"123|lab\" }, base_image: #{ name: \"rhel9-guest.qcow2\" }"
    } else {
        " }"
    };
    let variant = lab.file(
        "profiles/release.rhai",
        &format!("fn overrides() {{ #{{ overcloud: #{{ release: \"{release}\"{more} }} }}\n"),
    );
    let target = lab.file(
        "targets/director.yaml",
        &format!(
            "libvirt_uri: test:///default\nundercloud:\n  host: 127.0.0.1\n  port: {}\n  user: root\n  identity: {}\n  options: [\"StrictHostKeyChecking=no\", \"UserKnownHostsFile=/dev/null\", \"LogLevel=ERROR\"]\ncluster: {{offline: true}}\ncloud: {{openrc: out/no-overcloud/overcloudrc}}\n",
            d.port,
            d.path("clientkey").display()
        ),
    );
    let args = [
        "--target",
        target.to_str().unwrap(),
        "--profile",
        variant.to_str().unwrap(),
    ];
    // No deploy, no node yet.
    let (_, st) = status_json(&lab, &args);
    let oc = layer(&st, "overcloud");
    assert_eq!(oc["state"], "degraded", "{oc}");
    assert_eq!(
        problems(oc),
        ["no deploy of overcloud on the director: the overcloud stage deploys it"]
    );
    let uc = layer(&st, "undercloud");
    assert_eq!(uc["summary"], "0 of 7 enrolled, 0 ready", "{uc}");

    // The director's Ironic holds the nodes, one still being deployed; the deploy is done.
    let mut nodes = serde_json::Map::new();
    for (i, n) in SEED_VMS[1..].iter().enumerate() {
        let (power, state) = if i == 0 {
            ("power off", "deploying")
        } else {
            ("power on", "active")
        };
        nodes.insert(
            n.to_string(),
            serde_json::json!({"uuid": format!("7d1c3a2e-0000-4000-8000-00000000000{i}"), "power": power, "state": state, "instance": null}),
        );
    }
    let stack = serde_json::json!({"name": "overcloud", "status": "CREATE_COMPLETE", "id": "5f0c2a1e-1111-4000-8000-000000000001", "created": "2019-11-12T13:00:00Z", "updated": null});
    std::fs::write(
        d.path("state.json"),
        serde_json::json!({"nodes": nodes, "stack": stack}).to_string(),
    )
    .unwrap();
    if release == "17.1" {
        on_director(
            &d,
            "mkdir -p /root/overcloud-deploy/overcloud && printf 'deployment_status: DEPLOY_SUCCESS\\n' > /root/overcloud-deploy/overcloud/overcloud-deployment_status.yaml",
        );
    }
    let (out, st) = status_json(&lab, &args);
    out.code(1);
    let oc = layer(&st, "overcloud");
    assert_eq!(oc["state"], "ok", "{oc}");
    let word = if release == "13" {
        "CREATE_COMPLETE"
    } else {
        "DEPLOY_SUCCESS"
    };
    assert_eq!(oc["summary"], format!("overcloud: {word}"));
    // The release's own command says the same.
    let said = if release == "13" {
        on_director(
            &d,
            ". /home/stack/stackrc && openstack stack list -f value -c 'Stack Status'",
        )
    } else {
        on_director(
            &d,
            ". /home/stack/stackrc && openstack overcloud status --stack overcloud",
        )
    };
    assert!(said.contains(word), "{said}");
    let uc = layer(&st, "undercloud");
    assert_eq!(uc["state"], "degraded", "{uc}");
    let listed: Value = serde_json::from_str(&on_director(
        &d,
        ". /home/stack/stackrc && openstack baremetal node list -f json",
    ))
    .unwrap();
    for n in listed.as_array().unwrap() {
        let r = row(uc, n["Name"].as_str().unwrap());
        assert_eq!(r["provision_state"], n["Provisioning State"]);
        assert_eq!(r["power_state"], n["Power State"]);
        assert_eq!(r["maintenance"], n["Maintenance"]);
    }
    assert_eq!(uc["summary"], "7 of 7 enrolled, 6 ready");
    assert_eq!(problems(uc), ["overcloud-ceph01 is deploying"]);

    // The deploy failed: said in the release's words.
    if release == "13" {
        let mut s: Value =
            serde_json::from_str(&std::fs::read_to_string(d.path("state.json")).unwrap()).unwrap();
        s["stack"]["status"] = "UPDATE_FAILED".into();
        std::fs::write(d.path("state.json"), s.to_string()).unwrap();
    } else {
        on_director(
            &d,
            "printf 'deployment_status: DEPLOY_FAILED\\n' > /root/overcloud-deploy/overcloud/overcloud-deployment_status.yaml",
        );
    }
    let failed = if release == "13" {
        "UPDATE_FAILED"
    } else {
        "DEPLOY_FAILED"
    };
    let (_, st) = status_json(&lab, &args);
    let oc = layer(&st, "overcloud");
    assert_eq!(oc["state"], "degraded");
    assert_eq!(
        problems(oc),
        [format!("the deploy of overcloud is {failed}")]
    );
    let out = lab.run(["status", "--target", args[1], "--profile", args[3]]);
    out.code(1)
        .stdout_has(&format!("overcloud: {failed}"))
        .stdout_has(&format!("! the deploy of overcloud is {failed}"));
}

#[test]
fn the_director_layers_of_osp_13_are_what_the_director_answers() {
    the_director_layers_are_what_the_director_answers("13");
}

#[test]
fn the_director_layers_of_osp_17_1_are_what_the_director_answers() {
    the_director_layers_are_what_the_director_answers("17.1");
}

#[test]
fn a_director_that_never_answers_is_given_up_on_in_seconds_and_says_why() {
    // A port that takes the connection (the kernel's backlog) and never speaks SSH.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let lab = Lab::new();
    let target = lab.file(
        "targets/silent.yaml",
        &format!(
            "libvirt_uri: test:///default\nundercloud: {{host: 127.0.0.1, port: {port}, user: stack, \
             options: [\"StrictHostKeyChecking=no\", \"UserKnownHostsFile=/dev/null\", \"BatchMode=yes\"]}}\n\
             cluster: {{offline: true}}\ncloud: {{openrc: out/no-overcloud/overcloudrc}}\n"
        ),
    );
    let (out, st) = status_json(&lab, &["--target", target.to_str().unwrap()]);
    out.code(1);
    for name in ["undercloud", "overcloud"] {
        let l = layer(&st, name);
        assert_eq!(l["state"], "unreachable", "{l}");
        let why = l["why"].as_str().unwrap();
        assert!(why.contains(&format!("127.0.0.1 port {port}")), "{why}");
        assert!(why.contains("timed out"), "{why}");
        // ssh's own wait is 10 s; a status waits 3 s for a director (and ssh asks once).
        let ms = l["ms"].as_u64().unwrap();
        assert!(ms < 9000, "{name} waited {ms} ms");
    }
    drop(silent);
}

#[test]
fn the_tenant_layer_is_what_python_openstackclient_reads_from_the_devcloud() {
    let clouds = devcloud();
    let lab = Lab::new();
    let p = "t-stt";
    let image = lab.work().join("rhcos-standin.qcow2");
    crate::support::qcow2(&image, "4M");
    // A tenant of its own names on the shared devcloud (OpenShift 4.5 boots an image of its
    // own name), with two floating IPs no other test uses.
    let variant = lab.file(
        "profiles/tenanttest.rhai",
        &format!(
            "fn overrides() {{ #{{ name: \"{p}\", ocp: #{{ version: \"4.5.0\" }}, tenant: #{{ project: \"{p}-tenant\", user: \"{p}-user\", \
             flavor: #{{ name: \"{p}-master\" }}, api_fip: \"192.168.122.242\", ingress_fip: \"192.168.122.243\", \
             image: #{{ name: \"{p}-rhcos\", file: \"{}\" }} }} }} }}\n",
            image.display()
        ),
    );
    let target = lab.file(
        "targets/cloud.yaml",
        &format!(
            "libvirt_uri: test:///default\ncloud: {{cloud: devcloud, clouds_yaml: \"{}\"}}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\n",
            clouds.display()
        ),
    );
    let (t, v) = (target.to_str().unwrap(), variant.to_str().unwrap());
    let teardown = || {
        lab.run_script("teardown.rhai")
            .args(["--target", t, "--profile", v, "--yes"])
            .run()
    };
    teardown().ok();
    let (_, st) = status_json(&lab, &["--target", t, "--profile", v]);
    let tenant = layer(&st, "tenant");
    assert_eq!(tenant["state"], "degraded", "{tenant}");
    assert_eq!(
        problems(tenant),
        [
            format!("project {p}-tenant does not exist: the tenant stage makes it"),
            "the API floating IP 192.168.122.242 does not exist: the tenant stage makes it"
                .to_string(),
            "the ingress floating IP 192.168.122.243 does not exist: the tenant stage makes it"
                .to_string(),
        ]
    );

    lab.run_script("lab.rhai")
        .args(["--target", t, "--profile", v, "--only", "tenant"])
        .run()
        .ok();
    let (_, st) = status_json(&lab, &["--target", t, "--profile", v]);
    let tenant = layer(&st, "tenant");
    assert_eq!(tenant["state"], "ok", "{tenant}");
    let rows = tenant["rows"].as_array().unwrap();
    let usage = osc(
        &clouds,
        "devcloud",
        &["quota", "show", "--usage", &format!("{p}-tenant")],
    );
    // labsh's names of the quotas (Nova's and Neutron's), python-openstackclient's.
    let names = [
        ("instances", "instances"),
        ("cores", "cores"),
        ("ram", "ram"),
        ("floatingip", "floating_ips"),
        ("port", "ports"),
        ("network", "networks"),
        ("router", "routers"),
        ("security_group", "security_groups"),
        ("security_group_rule", "security_group_rules"),
    ];
    for (ours, theirs) in names {
        let r = rows.iter().find(|r| r["quota"] == ours).unwrap();
        let o = usage
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["Resource"] == theirs)
            .unwrap();
        assert_eq!(r["limit"], o["Limit"], "{ours}");
        assert_eq!(r["in_use"], o["In Use"], "{ours}");
    }
    // The profile's quotas, as the tenant stage set them.
    let cores = rows.iter().find(|r| r["quota"] == "cores").unwrap();
    assert_eq!(cores["limit"], 40);
    for (what, address) in [("API", "192.168.122.242"), ("ingress", "192.168.122.243")] {
        let fip = osc(&clouds, "devcloud", &["floating", "ip", "show", address]);
        let r = rows
            .iter()
            .find(|r| r["what"] == format!("{what} floating IP {address}"))
            .unwrap();
        assert_eq!(r["in_use"], fip["status"], "{address}");
        assert_eq!(r["port_id"], fip["port_id"], "{address}");
        assert_eq!(r["points_to"], "nothing");
    }
    teardown().ok();
}

/// kubectl's own reading of `resource` in namespace `ns` through `kubeconfig`.
pub(crate) fn kubectl_in(kubeconfig: &Path, home: &Path, ns: &str, resource: &str) -> Vec<Value> {
    let out = Command::new("kubectl")
        .args(["get", "-n", ns, resource, "-o", "json"])
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["items"].as_array().unwrap().clone()
}

/// `kubectl apply --server-side` of the files in `dir` through `kubeconfig`, as labsh applies.
pub(crate) fn kubectl_apply(kubeconfig: &Path, home: &Path, dir: &Path) {
    let out = Command::new("kubectl")
        .args(["apply", "--server-side", "--validate=false", "-f"])
        .arg(dir)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The RHOSO lab of profiles/rhoso.rhai on a test driver's libvirt shared by the runs of a test
/// (a target file with `out:` and the test's own image folders, its URI given by --set): its L0
/// and L1 made, the substrate's VM started as its stage leaves it, and the arguments status and
/// snapshot take for it.
pub(crate) fn rhoso_lab(lab: &Lab) -> (PathBuf, Vec<String>) {
    let out_dir = lab.work().join("out");
    let target = lab.file(
        "targets/rhoso.yaml",
        &format!(
            "libvirt_uri: test:///default\nout: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\n",
            out_dir.display(),
            lab.work().join("images").display(),
            lab.work().join("images-ssd").display()
        ),
    );
    let uri = lab.run([
        "-e",
        &format!(
            "virt::sandbox_host(\"{}\")",
            lab.work().join("host.xml").display()
        ),
    ]);
    uri.ok();
    let args: Vec<String> = [
        "--profile",
        "rhoso",
        "--target",
        target.to_str().unwrap(),
        "--set",
        &format!("uri={}", uri.stdout.trim()),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mk = lab.file(
        "make-l1.rhai",
        "import \"target\" as target;\nimport \"l0\" as l0;\nimport \"l1\" as l1;\n\
         let s = target::setup(run_info());\nl0::networks(s.t.uri, s.p);\n\
         l1::build_rhoso(s.t.uri, s.p, #{ key: \"ssh-ed25519 AAAA test\", customize_offline: \"no libguestfs in this test\" });\n\
         virt::domains_ensure(s.t.uri, l1::substrate_specs(s.p));\nvirt::sandbox_save(s.t.uri);\n",
    );
    let mut a = vec!["run".to_string(), mk.to_str().unwrap().to_string()];
    a.extend(args.iter().cloned());
    lab.run(a).ok();
    (out_dir.join("rhoso/substrate/auth/kubeconfig"), args)
}

/// A RHOSO lab (overcloud.release "18.0"): no director, Ironic or BMC; its substrate, control
/// plane and data plane read through oc with the substrate's kubeconfig from the Kubernetes API
/// stand-in holding the custom resources the profile applies (tests/data/rhoso/objects), each
/// condition as kubectl reads it; a failing condition named with its message (exit 1); before
/// the substrate is installed, and with its API down, each of the three says why it cannot be
/// read; on the sandbox they are skipped, saying why.
#[test]
fn a_rhoso_labs_substrate_control_plane_and_data_plane_are_what_kubectl_reads() {
    let lab = Lab::new();
    let (kc, args) = rhoso_lab(&lab);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let rhoso_layers = [
        "host",
        "networks",
        "domains",
        "substrate",
        "controlplane",
        "dataplane",
        "tenant",
        "cluster",
    ];

    // Before the substrate stage: no kubeconfig, and each layer on it says which stage writes it.
    let (out, st) = status_json(&lab, &a);
    out.code(1);
    let names: Vec<&str> = st["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, rhoso_layers);
    for n in ["substrate", "controlplane", "dataplane"] {
        let l = layer(&st, n);
        assert_eq!(l["state"], "unreachable", "{l}");
        assert_eq!(
            l["why"],
            format!(
                "{} does not exist: the substrate stage's agent-based install writes it",
                kc.display()
            )
        );
    }
    // The L1: the substrate's VM, then the EDPM nodes; no BMC column.
    let d = layer(&st, "domains");
    assert_eq!(d["state"], "ok", "{d}");
    let doms: Vec<&str> = d["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        doms,
        [
            "rhoso-ocp01",
            "edpm-compute01",
            "edpm-compute02",
            "edpm-compute03"
        ]
    );
    assert!(
        !d["columns"].to_string().contains("BMC"),
        "{}",
        d["columns"]
    );

    // The substrate answers (the stand-in), holding what the controlplane and dataplane stages
    // apply; its conditions Ready at once.
    let data = lab.work().join("k8s");
    std::fs::create_dir_all(&data).unwrap();
    for f in ["nodes.json", "clusteroperators.json"] {
        std::fs::copy(
            crate::support::root().join("tests/data/k8s").join(f),
            data.join(f),
        )
        .unwrap();
    }
    std::fs::write(data.join("progress.json"), "0").unwrap();
    let api = kubeapi(&data, &kc);
    kubectl_apply(
        &kc,
        &lab.home(),
        &crate::support::root().join("tests/data/rhoso/objects"),
    );
    let (out, st) = status_json(&lab, &a);
    // The tenant's cloud is not there: the one layer that is not ok.
    out.code(1);
    for n in rhoso_layers {
        let l = layer(&st, n);
        let want = match n {
            "tenant" => "unreachable",
            "cluster" => "skipped",
            _ => "ok",
        };
        assert_eq!(l["state"], want, "{n}: {l}");
    }
    let s = layer(&st, "substrate");
    assert_eq!(
        s["summary"],
        "5 of 5 nodes Ready; cluster operators: 27 of 27 Available, 0 Progressing, 0 Degraded"
    );
    let cps = kubectl_in(
        &kc,
        &lab.home(),
        "openstack",
        "openstackcontrolplanes.core.openstack.org",
    );
    let conds = cps[0]["status"]["conditions"].as_array().unwrap();
    let cp = layer(&st, "controlplane");
    let rows = cp["rows"].as_array().unwrap();
    assert_eq!(rows.len(), conds.len(), "{cp}");
    assert!(conds.len() > 10, "{cps:?}");
    for c in conds {
        let r = rows.iter().find(|r| r["condition"] == c["type"]).unwrap();
        assert_eq!(r["status"], c["status"], "{c}");
        assert_eq!(r["message"], c["message"], "{c}");
        assert_eq!(r["name"], "openstack-control-plane");
    }
    assert_eq!(
        cp["summary"],
        format!(
            "openstack-control-plane Ready ({} of {} conditions True)",
            conds.len(),
            conds.len()
        )
    );
    let dp = layer(&st, "dataplane");
    let names: Vec<(String, bool)> = dp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["kind"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                ),
                r["ready"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("OpenStackDataPlaneNodeSet/openstack-edpm".to_string(), true),
            (
                "OpenStackDataPlaneDeployment/openstack-edpm-post-ceph".to_string(),
                true
            ),
            (
                "OpenStackDataPlaneDeployment/openstack-edpm-pre-ceph".to_string(),
                true
            ),
        ]
    );

    // Nova fails in the control plane, and a deployment in the data plane: each named with
    // its condition and message, as kubectl reads them.
    let nova = "OpenStackControlPlane Nova error occured Deployment nova-api: Pod nova-api-0 is in CrashLoopBackOff";
    let deploy = "Deployment error occurred in configure-network service error backoff limit reached for execution.name configure-network-openstack-edpm-pre-ceph";
    std::fs::write(
        data.join("fail.json"),
        serde_json::json!({
            "OpenStackControlPlane/openstack-control-plane": {"condition": "OpenStackControlPlaneNovaReady", "reason": "Error", "message": nova},
            "OpenStackDataPlaneDeployment/openstack-edpm-pre-ceph": {"condition": "DeploymentReady", "reason": "Error", "message": deploy},
        })
        .to_string(),
    )
    .unwrap();
    let (out, st) = status_json(&lab, &a);
    out.code(1);
    let cps = kubectl_in(
        &kc,
        &lab.home(),
        "openstack",
        "openstackcontrolplanes.core.openstack.org",
    );
    let failed: Vec<&Value> = cps[0]["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "True")
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    let cp = layer(&st, "controlplane");
    assert_eq!(cp["state"], "degraded");
    assert_eq!(
        problems(cp),
        failed
            .iter()
            .map(|c| format!(
                "OpenStackControlPlane openstack-control-plane: {} is False (Error): {}",
                c["type"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            ))
            .collect::<Vec<_>>()
    );
    assert!(problems(cp).iter().any(|p| p.contains(nova)), "{cp}");
    let dp = layer(&st, "dataplane");
    assert_eq!(dp["state"], "degraded");
    assert_eq!(
        problems(dp),
        [format!(
            "OpenStackDataPlaneDeployment openstack-edpm-pre-ceph is not Ready: DeploymentReady is False (Error): {deploy}"
        )]
    );
    let out = lab.run([&["status"][..], &a].concat());
    out.code(1)
        .stdout_has(&format!(
            "OpenStackControlPlaneNovaReady is False (Error): {nova}"
        ))
        .stdout_has("Control plane (RHOSO 18.0)  degraded");

    // The substrate's API down: each layer on it cannot be read, and says why.
    drop(api);
    let (out, st) = status_json(&lab, &a);
    out.code(1);
    for n in ["substrate", "controlplane", "dataplane"] {
        let l = layer(&st, n);
        assert_eq!(l["state"], "unreachable", "{l}");
        let why = l["why"].as_str().unwrap();
        assert!(why.contains("refused"), "{n}: {why}");
    }

    // On the target's own libvirt (no --set uri), the tenant is on the RHOSO cloud whose
    // clouds.yaml the dataplane stage writes from the control plane.
    let (_, st) = status_json(&lab, &a[..4]);
    let tenant = layer(&st, "tenant");
    assert_eq!(tenant["state"], "unreachable", "{tenant}");
    assert_eq!(
        tenant["why"],
        format!(
            "{}/rhoso/cloud/clouds.yaml does not exist: the dataplane stage writes it from the control plane",
            kc.parent().unwrap().parent().unwrap().parent().unwrap().display()
        )
    );

    // On the sandbox the target has no substrate: skipped, saying so. A run of the lab there
    // makes its L1, and the substrate's VM, which only the substrate stage starts, is not a
    // problem: the lab is healthy.
    lab.run(["run", "scripts/lab.rhai", "--profile", "rhoso"])
        .ok();
    let (out, st) = status_json(&lab, &["--profile", "rhoso"]);
    out.ok();
    for n in ["substrate", "controlplane", "dataplane"] {
        let l = layer(&st, n);
        assert_eq!(l["state"], "skipped", "{l}");
        assert_eq!(l["why"], "the sandbox has no OpenShift substrate");
    }
    let d = layer(&st, "domains");
    assert_eq!(d["state"], "ok", "{d}");
    assert_eq!(d["rows"][0]["name"], "rhoso-ocp01");
    assert_eq!(d["rows"][0]["state"], "shutoff");
    assert_eq!(
        d["rows"][0]["note"],
        "started by the substrate stage: the sandbox has no OpenShift substrate"
    );
}

/// What next after a run of a RHOSO lab, once its substrate is there: the substrate's
/// kubeconfig, its console (from the API server the kubeconfig names), the kubeadmin password
/// the installer wrote, and the OpenStack client's pod once the control plane is applied; none
/// of it before the substrate stage, nor where the target has no substrate.
#[test]
fn a_rhoso_labs_next_steps_name_its_substrate_and_the_openstack_client() {
    let lab = Lab::new();
    let auth = lab.work().join("substrate/auth");
    std::fs::create_dir_all(&auth).unwrap();
    write_kubeconfig(
        &auth.join("kubeconfig"),
        "https://api.rhoso.lab.example.com:6443",
    );
    std::fs::write(auth.join("kubeadmin-password"), "not shown\n").unwrap();
    let script = lab.file(
        "next.rhai",
        &format!(
            "import \"status\" as status;\nimport \"target\" as target;\n\
             let s = target::setup(run_info());\nlet t = s.t;\nlet p = s.p;\np.overcloud.release = \"18.0\";\n\
             let info = run_info();\n\
             info.done = [\"l0\", \"l1\"];\nprint(status::next_steps(p, t, info));\n\
             t.offline.remove(\"substrate\");\nt.substrate_kubeconfig = \"{kc}\";\n\
             print(status::next_steps(p, t, info));\n\
             info.done = [\"l0\", \"l1\", \"substrate\"];\nprint(status::next_steps(p, t, info));\n\
             info.done = [\"l0\", \"l1\", \"substrate\", \"controlplane\"];\nprint(status::next_steps(p, t, info));\n",
            kc = auth.join("kubeconfig").display()
        ),
    );
    let out = lab.run_file(&script);
    out.ok();
    let kc = auth.join("kubeconfig");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "[\"status:     labsh status\"]");
    assert_eq!(lines[1], "[\"status:     labsh status\"]");
    let substrate = format!(
        "\"substrate:  export KUBECONFIG={}\", \"substrate console: https://console-openshift-console.apps.rhoso.lab.example.com\", \"substrate kubeadmin: its password is in {}/kubeadmin-password\"",
        kc.display(),
        auth.display()
    );
    assert_eq!(
        lines[2],
        format!("[{substrate}, \"status:     labsh status\"]")
    );
    assert_eq!(
        lines[3],
        format!(
            "[{substrate}, \"openstack:  KUBECONFIG={} oc -n openstack rsh openstackclient\", \"status:     labsh status\"]",
            kc.display()
        )
    );
    assert!(!out.stdout.contains("not shown"));
}
