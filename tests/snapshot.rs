//! Whole-lab snapshots (`labsh snapshot`, stdlib snapshot, `virt::snapshot_*`): on the sandbox,
//! what a snapshot keeps and brings back and every bad input, each changing nothing; on a real
//! libvirtd with the seed's L1 and its real BMCs, a live and a cold snapshot, the lab changed
//! (a VM powered off through its BMC, a stopped VM's disk written with qemu-io, a domain's
//! autostart taken away) and brought back, read back with virsh, qemu-img and ipmitool; the
//! revert's upper layers against the stand-in director and the Kubernetes API stand-in; and a
//! devlab whose BMCs were stopped until Ironic put its nodes in maintenance, repaired by the
//! next run.

use crate::support::{script, Lab, Out};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `labsh snapshot ARGS...` for `lab`.
fn snap(lab: &Lab, args: &[&str]) -> Out {
    let mut a = vec!["snapshot"];
    a.extend_from_slice(args);
    lab.run(a)
}

/// The sandbox's domains as `virt::domain_list` reads them: name, state, autostart.
fn sandbox_domains(lab: &Lab) -> Vec<(String, String, bool)> {
    let out = lab.run([
        "-e",
        "virt::domain_list(virt::sandbox()).map(|d| [d.name, d.state, d.autostart])",
    ]);
    out.ok();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_bool().unwrap(),
            )
        })
        .collect()
}

fn snapshots_of(lab: &Lab, target: &str, name: &str) -> PathBuf {
    lab.state().join("snapshots").join(target).join(name)
}

#[test]
fn on_the_sandbox_a_snapshot_keeps_the_lab_and_its_stages_and_bad_input_changes_nothing() {
    let lab = Lab::new();
    let labrhai = script("lab.rhai");
    let l = labrhai.to_str().unwrap();
    // The host's stages, with a snapshot at the end of l1.
    let built = lab.run([
        "run",
        l,
        "--only",
        "l0",
        "--only",
        "l1",
        "--snapshot-after",
        "l1",
        "--json",
    ]);
    built.ok();
    let dir = snapshots_of(&lab, "sandbox", "lab/after-l1");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(m["lab"], "lab");
    assert_eq!(m["record"]["after"], "l1");
    assert_eq!(m["record"]["stages"], serde_json::json!(["l0", "l1"]));
    assert_eq!(m["domains"].as_array().unwrap().len(), 8);
    assert!(
        dir.join("files/out/stages.json").is_file(),
        "the stage record is kept"
    );
    let before = sandbox_domains(&lab);
    assert!(before.iter().all(|d| d.1 == "running" && d.2), "{before:?}");
    snap(&lab, &["list"])
        .ok()
        .stdout_has("after-l1")
        .stdout_has("states");

    // Bad input, each changing nothing.
    snap(&lab, &["save", "after-l1"])
        .code(1)
        .stderr_has("snapshot after-l1 of lab lab exists already");
    snap(&lab, &["revert", "after-l", "--yes"])
        .code(1)
        .stderr_has("lab lab has no snapshot after-l on target sandbox (did you mean 'after-l1'?)");
    snap(&lab, &["save", "../escape"])
        .code(1)
        .stderr_has("is not one labsh takes");
    assert!(!lab.state().join("snapshots/escape").exists());
    // Another lab's snapshot of that name.
    let other = lab.file(
        "profiles/other.rhai",
        "fn overrides() { #{ name: \"other\" } }\n",
    );
    snap(
        &lab,
        &[
            "revert",
            "after-l1",
            "--yes",
            "--profile",
            other.to_str().unwrap(),
        ],
    )
    .code(1)
    .stderr_has("snapshot after-l1 on target sandbox is lab lab's, not lab other's");
    // No terminal and no --yes: asked, not done.
    snap(&lab, &["revert", "after-l1"])
        .code(1)
        .stderr_has("pass --yes");
    // A run that holds the lab's state: the revert waits for nobody and says who holds it.
    let hold = lab.file("hold.rhai", "sleep(60);\n");
    let mut holder = lab.labsh().args(["run", hold.to_str().unwrap()]).command();
    holder
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let holder = crate::support::Spawned(holder.spawn().unwrap());
    let t0 = Instant::now();
    while !std::fs::read_to_string(lab.state().join("lock"))
        .unwrap_or_default()
        .contains(&format!("labsh pid {}", holder.0.id()))
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the holder took no lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    snap(&lab, &["revert", "after-l1", "--yes"])
        .code(1)
        .stderr_has(&format!("is in use by labsh pid {}", holder.0.id()));
    drop(holder);
    assert_eq!(sandbox_domains(&lab), before, "nothing changed");

    // The lab changed: a VM off, an autostart gone, the next stage recorded.
    lab.run([
        "-e",
        "let u = virt::sandbox(); virt::domain_destroy(u, \"overcloud-ctrl01\"); virt::domain_autostart(u, \"undercloud\", false);",
    ])
    .ok();
    let record = lab.state().join("out/sandbox/lab/stages.json");
    let mut r: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    r["done"].as_array_mut().unwrap().push("undercloud".into());
    std::fs::write(&record, r.to_string()).unwrap();
    assert_ne!(sandbox_domains(&lab), before);
    // Brought back, and told where to go on from.
    let back = snap(&lab, &["revert", "after-l1", "--yes"]);
    back.ok()
        .stdout_has("autostart set back on undercloud")
        .stdout_has("the lab is as it was after stage l1; to go on from there:")
        .stdout_has(&format!("labsh run {l} --from undercloud"));
    assert_eq!(sandbox_domains(&lab), before, "every VM as it was");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(
        r["done"],
        serde_json::json!(["l0", "l1"]),
        "the stages done as they were"
    );
    // A second run of the same stages with --snapshot-after keeps the snapshot there.
    lab.run(["run", l, "--only", "l1", "--snapshot-after", "l1"])
        .ok()
        .stdout_has("snapshot after-l1: kept");

    // Teardown takes the lab's snapshots with it; deleting one that is gone is refused.
    lab.run_script("teardown.rhai").args(["--yes"]).run().ok();
    assert!(!dir.exists(), "the snapshot's folder went with the lab");
    snap(&lab, &["delete", "after-l1", "--yes"])
        .code(1)
        .stderr_has("lab lab has no snapshot after-l1 on target sandbox; it has none");
}

/// A TripleO lab whose undercloud API does not answer (a closed port on 127.0.0.1), on a test
/// driver's libvirt: a cold snapshot says Ironic's nodes could not be held (nor released) and is
/// taken all the same; its revert, of a snapshot taken before the undercloud, says there is no
/// node to agree with libvirt and succeeds.
#[test]
fn a_cold_snapshot_and_its_revert_go_on_when_ironic_cannot_be_reached_and_say_so() {
    let lab = Lab::new();
    let w = lab.work();
    let port = crate::support::ports::free_port(29400);
    let clouds = lab.file(
        "gone/clouds.yaml",
        &format!("clouds:\n  gone:\n    auth:\n      auth_url: http://127.0.0.1:{port}/v3\n      username: admin\n      password: not-a-real-password\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n"),
    );
    let target = lab.file(
        "targets/gone.yaml",
        &format!(
            "libvirt_uri: test:///default\nout: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\nundercloud: {{offline: true, cloud: {{cloud: gone, clouds_yaml: \"{}\"}}}}\ncluster: {{offline: true}}\n",
            w.join("out").display(),
            w.join("images").display(),
            w.join("images-ssd").display(),
            clouds.display()
        ),
    );
    let uri = lab.run([
        "-e",
        &format!("virt::sandbox_host(\"{}\")", w.join("host.xml").display()),
    ]);
    uri.ok();
    let set_uri = format!("uri={}", uri.stdout.trim());
    let t = target.to_str().unwrap();
    let mk = lab.file(
        "make-l1.rhai",
        "import \"target\" as target;\nimport \"l0\" as l0;\nimport \"l1\" as l1;\n\
         let s = target::setup(run_info());\nl0::networks(s.t.uri, s.p);\nl1::build(s.t.uri, s.p);\n\
         virt::sandbox_save(s.t.uri);\n",
    );
    lab.run([
        "run",
        mk.to_str().unwrap(),
        "--target",
        t,
        "--set",
        &set_uri,
    ])
    .ok();
    let unreachable = format!("cannot reach Keystone at http://127.0.0.1:{port}/v3/auth/tokens");
    let save_cold = |name: &str| {
        snap(
            &lab,
            &[
                "save",
                name,
                "--cold",
                "--target",
                t,
                "--set",
                &set_uri,
                "--set",
                "shutdown_timeout=1",
            ],
        )
    };
    save_cold("c1")
        .ok()
        .stdout_has(&format!(
            "Ironic: not reached to hold the lab's nodes (cloud 'gone': {unreachable}"
        ))
        .stdout_has(&format!(
            "Ironic: not reached to release the nodes held (cloud 'gone': {unreachable}"
        ))
        .stdout_has("snapshot c1 of lab lab: 8 VMs, cold (the VMs shut down)");
    snap(
        &lab,
        &["revert", "c1", "--yes", "--target", t, "--set", &set_uri],
    )
    .ok()
    .stdout_has("snapshot c1: 8 VMs")
    .stdout_has("Ironic: not reached (cloud 'gone': ")
    .stdout_has("the undercloud was not deployed at this snapshot: no node to agree with libvirt");
    // A snapshot taken after the undercloud stage: Ironic has the lab's nodes then, and a revert
    // that cannot reach it fails saying so and what to do.
    std::fs::create_dir_all(w.join("out/lab")).unwrap();
    std::fs::write(
        w.join("out/lab/stages.json"),
        "{\"done\": [\"l0\", \"l1\", \"undercloud\"]}",
    )
    .unwrap();
    save_cold("c2").ok();
    snap(&lab, &["revert", "c2", "--yes", "--target", t, "--set", &set_uri])
        .code(1)
        .stderr_has("Ironic does not answer after the revert, so its nodes' power states could not be made libvirt's")
        .stderr_has("once the undercloud's API answers, revert again");
}

/// ipmitool's `power ACTION` on the BMC at `port` with the lab's BMC password.
#[test]
fn a_snapshots_bad_options_name_the_field_with_rhai_types() {
    let lab = Lab::new();
    let save = |opts: &str| {
        lab.run([
            "--plan",
            "-e",
            &format!("virt::snapshot_save(\"test:///default\", #{{lab: \"l\", name: \"s\", dir: \"/nonexistent/s\", {opts}}})"),
        ])
    };
    save("domains: \"a\"").code(1).stderr_has(
        "virt::snapshot_save: option 'domains' expected array of string, found string \"a\"",
    );
    save("recrd: #{}")
        .code(1)
        .stderr_has("virt::snapshot_save: unknown option 'recrd' (did you mean 'record'?)");
    save("keep: #{out: 3}")
        .code(1)
        .stderr_has("virt::snapshot_save: option 'keep' expected map of string, found map");
    save("keep: #{out: \"out\"}")
        .code(1)
        .stderr_has("virt::snapshot_save: keep.out \"out\" must be an absolute path");
    lab.run([
        "--plan",
        "-e",
        "virt::snapshot_delete(\"test:///default\", #{lab: \"l\", name: \"s\"})",
    ])
    .code(1)
    .stderr_has("virt::snapshot_delete: 'dir' is required (string)");
}

fn ipmi(port: u16, password: &str, action: &str) -> String {
    let out = Command::new("ipmitool")
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
            "power",
            action,
        ])
        .env("IPMI_PASSWORD", password)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The secret `name` from the lab's secrets file.
fn secret_of(lab: &Lab, name: &str) -> String {
    std::fs::read_to_string(lab.state().join("secrets"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_string))
        .unwrap()
}

/// Waits until `f` is true (60 s at most), naming `what` if it never is.
fn wait_for(what: &str, f: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(60), "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The disk's content as the snapshot `snap` inside it holds it, extracted into `to`.
fn snapshot_content(disk: &Path, snap: &str, to: &Path) {
    crate::support::run_ok(
        Command::new("qemu-img")
            .args(["convert", "-U", "-O", "qcow2", "-l"])
            .arg(format!("snapshot.name={snap}"))
            .arg(disk)
            .arg(to),
        format!(
            "qemu-img convert -l snapshot.name={snap} {}",
            disk.display()
        ),
    );
}

/// Whether `qemu-img compare` finds the two images' contents the same.
fn same_content(a: &Path, b: &Path) -> bool {
    let out = Command::new("qemu-img")
        .args(["compare", "-U"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(1) => false,
        _ => panic!("qemu-img compare: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// Whether the disk holds the byte `pattern` in its first MiB (qemu-io's `read -P`).
fn holds_pattern(disk: &Path, pattern: &str) -> bool {
    Command::new("qemu-io")
        .args(["-r", "-U", "-f", "qcow2", "-c"])
        .arg(format!("read -P {pattern} 0 1M"))
        .arg(disk)
        .output()
        .map(|o| {
            o.status.success()
                && !String::from_utf8_lossy(&o.stdout).contains("Pattern verification failed")
        })
        .unwrap()
}

/// Writes the byte `pattern` over the disk's first MiB with qemu-io (the VM must be off).
fn write_pattern(disk: &Path, pattern: &str) {
    crate::support::run_ok(
        Command::new("qemu-io")
            .args(["-f", "qcow2", "-c"])
            .arg(format!("write -P {pattern} 0 1M"))
            .arg(disk),
        format!("qemu-io write {}", disk.display()),
    );
}

/// A tmpfs of `size` mounted on a folder for as long as it lives.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        crate::support::run_ok(
            Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size},mode=0700"),
                    "tmpfs",
                ])
                .arg(dir),
            "mount a tmpfs",
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn the_seeds_l1_is_kept_live_and_cold_and_every_change_to_it_undone() {
    use crate::support::bmc::{path_with_venv, venv_bin, Vbmcd};
    use crate::support::host::RealHost;
    let host = RealHost::start("snapshot");
    let lab = Lab::new();
    let vbmcd = Vbmcd::start(&lab.work().join("vbmcd"));
    let port_base = crate::support::ports::free_ports(24300, 7);
    // The VMs' disks of an earlier run of this test (one that failed before its teardown) would
    // be kept by the lab's build: they go first.
    let ssd = host.dir.join("images-ssd");
    std::fs::create_dir_all(&ssd).unwrap();
    for d in [host.images(), ssd.clone()] {
        for f in std::fs::read_dir(&d).unwrap().flatten() {
            let n = f.file_name().to_string_lossy().to_string();
            if n.starts_with("overcloud-") || n.starts_with("undercloud") {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    let target = lab.file(
        "targets/snaptest.yaml",
        &format!(
            "libvirt_uri: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\ndomain_type: qemu\n\
             bmc: {{address: 127.0.0.1, port_base: {port_base}, config: \"{}\"}}\n\
             undercloud: {{offline: true}}\ncluster: {{offline: true}}\n\
             profile:\n  vms:\n    compute: {{memory_mib: 8192}}\n",
            host.uri,
            host.images().display(),
            ssd.display(),
            vbmcd.config.display()
        ),
    );
    let t = target.to_str().unwrap();
    let lab_rhai = script("lab.rhai");
    let run = |args: &[&str]| {
        lab.labsh()
            .args(args.iter().copied())
            .env("PATH", &path_with_venv())
            .run()
    };
    run(&[
        "run",
        lab_rhai.to_str().unwrap(),
        "--target",
        t,
        "--only",
        "l0",
        "--only",
        "l1",
    ])
    .ok();
    let pw = secret_of(&lab, "bmc-password");
    // The BMCs' ports in the order l1 gives them: the overcloud VMs by name.
    let port = |vm: &str| {
        let names = [
            "overcloud-ceph01",
            "overcloud-ceph02",
            "overcloud-ceph03",
            "overcloud-compute01",
            "overcloud-ctrl01",
            "overcloud-ctrl02",
            "overcloud-ctrl03",
        ];
        port_base + names.iter().position(|n| *n == vm).unwrap() as u16
    };
    let state = |vm: &str| host.virsh(&["domstate", vm]).trim().to_string();
    let autostart = |vm: &str| {
        host.virsh(&["dominfo", vm])
            .contains("Autostart:      enable")
    };
    let vms: Vec<String> = host
        .virsh(&["list", "--all", "--name"])
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(vms.len(), 8, "{vms:?}");

    // Not enough room in the snapshot's folder for the lab's folders: refused, nothing changed.
    let big = lab.state().join("out/snaptest/lab/big.bin");
    std::fs::write(&big, vec![7u8; 24 << 20]).unwrap();
    {
        let _small = Tmpfs::mount(&lab.state().join("snapshots"), "8m");
        run(&["snapshot", "save", "roomless", "--target", t])
            .code(1)
            .stderr_has("not enough space for snapshot roomless")
            .stderr_has("the lab's folders, 25 MiB; it has 8 MiB free")
            .stderr_has("nothing was changed");
    }
    std::fs::remove_file(&big).unwrap();
    assert!(host
        .virsh(&["snapshot-list", "--name", "undercloud"])
        .trim()
        .is_empty());
    assert!(vms.iter().all(|v| state(v) == "running"));

    // Live: the VMs paused together, each one's disks and memory kept.
    let saved = run(&["snapshot", "save", "live", "--target", t, "--json"]);
    saved.ok();
    for v in &vms {
        assert_eq!(
            host.virsh(&["snapshot-list", "--name", v]).trim(),
            "live",
            "{v}"
        );
        assert_eq!(state(v), "running", "{v} runs again");
    }
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(
            lab.state()
                .join("snapshots/snaptest/lab/live/snapshot.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(m["record"]["after"], "l1");
    assert_eq!(
        m["record"]["bmc"].as_array().unwrap().len(),
        7,
        "{}",
        m["record"]
    );
    // The lab changed: a VM powered off through its BMC, its disk written while it is off, a
    // domain's autostart taken away.
    let ctrl = host.images().join("overcloud-ctrl01.qcow2");
    let reference = lab.work().join("ctrl01-live.qcow2");
    snapshot_content(&ctrl, "live", &reference);
    assert!(ipmi(port("overcloud-ctrl01"), &pw, "off").contains("Chassis Power Control: Down/Off"));
    wait_for("ctrl01 off through its BMC", || {
        state("overcloud-ctrl01") == "shut off"
    });
    write_pattern(&ctrl, "0xab");
    assert!(holds_pattern(&ctrl, "0xab"));
    assert!(!same_content(&ctrl, &reference), "the write is seen");
    host.virsh(&["autostart", "--disable", "undercloud"]);
    assert!(!autostart("undercloud"));
    let back = run(&["snapshot", "revert", "live", "--target", t, "--yes"]);
    back.ok()
        .stdout_has("autostart set back on undercloud")
        .stdout_has("8 let run together");
    for v in &vms {
        assert_eq!(state(v), "running", "{v}");
        assert!(autostart(v), "{v}");
    }
    assert!(same_content(&ctrl, &reference), "ctrl01's disk as it was");
    assert!(!holds_pattern(&ctrl, "0xab"));
    assert!(ipmi(port("overcloud-ctrl01"), &pw, "status").contains("Chassis Power is on"));

    // Cold: the VMs shut down (powered off: no guest here hears ACPI) and started again.
    run(&[
        "snapshot",
        "save",
        "cold",
        "--cold",
        "--target",
        t,
        "--set",
        "shutdown_timeout=1",
    ])
    .ok()
    .stderr_has("did not shut down within 1 s");
    for v in &vms {
        assert_eq!(state(v), "running", "{v} runs again");
    }
    let osd = ssd.join("overcloud-ceph01-osd1.qcow2");
    let osd_ref = lab.work().join("ceph01-osd-cold.qcow2");
    snapshot_content(&osd, "cold", &osd_ref);
    assert!(ipmi(port("overcloud-ceph01"), &pw, "off").contains("Down/Off"));
    wait_for("ceph01 off through its BMC", || {
        state("overcloud-ceph01") == "shut off"
    });
    write_pattern(&osd, "0xcd");
    assert!(!same_content(&osd, &osd_ref));
    host.virsh(&["autostart", "--disable", "overcloud-ctrl02"]);
    // A BMC stopped too: the revert has every BMC answer again.
    crate::support::run_ok(
        Command::new(venv_bin().join("vbmc"))
            .args(["stop", "overcloud-ctrl03"])
            .env("VIRTUALBMC_CONFIG", &vbmcd.config),
        "vbmc stop",
    );
    assert!(!ipmi(port("overcloud-ctrl03"), &pw, "status").contains("Chassis Power is on"));
    run(&["snapshot", "revert", "cold", "--target", t, "--yes"])
        .ok()
        .stdout_has("repair: the BMC(s) of overcloud-ctrl03 started again")
        .stdout_has("BMCs: all IPMI BMCs answer");
    for v in &vms {
        assert_eq!(state(v), "running", "{v}");
        assert!(autostart(v), "{v}");
    }
    assert!(same_content(&osd, &osd_ref), "ceph01's OSD disk as it was");
    for vm in ["overcloud-ceph01", "overcloud-ctrl03"] {
        assert!(
            ipmi(port(vm), &pw, "status").contains("Chassis Power is on"),
            "{vm}"
        );
    }

    // What a restart of the host leaves stale, found by the next run's undercloud stage (its
    // director work planned here): the director off, a BMC stopped.
    host.virsh(&["destroy", "undercloud"]);
    crate::support::run_ok(
        Command::new(venv_bin().join("vbmc"))
            .args(["stop", "overcloud-ctrl02"])
            .env("VIRTUALBMC_CONFIG", &vbmcd.config),
        "vbmc stop",
    );
    run(&[
        "run",
        lab_rhai.to_str().unwrap(),
        "--target",
        t,
        "--only",
        "undercloud",
    ])
    .ok()
    .stdout_has("repair: VM undercloud started again (it should run)")
    .stdout_has("repair: the BMC(s) of overcloud-ctrl02 started again");
    assert_eq!(state("undercloud"), "running");
    assert!(ipmi(port("overcloud-ctrl02"), &pw, "status").contains("Chassis Power is on"));

    // Deleted: libvirt's and labsh's records go; the other snapshot stays.
    run(&["snapshot", "delete", "live", "--target", t, "--yes"]).ok();
    assert_eq!(
        host.virsh(&["snapshot-list", "--name", "undercloud"])
            .trim(),
        "cold"
    );
    assert!(!lab.state().join("snapshots/snaptest/lab/live").exists());
    // Teardown takes the lab and its snapshots.
    lab.labsh()
        .args([
            "run",
            script("teardown.rhai").to_str().unwrap(),
            "--target",
            t,
            "--yes",
        ])
        .env("PATH", &path_with_venv())
        .run()
        .ok();
    assert!(host.virsh(&["list", "--all", "--name"]).trim().is_empty());
    assert!(!lab.state().join("snapshots/snaptest/lab").exists());
}

/// What the stand-in director ran of a revert's upper layers, in order, each kind once per run
/// of it: "clock", "pcs", "ceph", "services" (the compute services and network agents read),
/// "restart".
fn layer_steps(d: &crate::director::Director, from: usize) -> Vec<String> {
    let log = std::fs::read_to_string(d.path("log.jsonl")).unwrap();
    let mut steps: Vec<String> = Vec::new();
    for l in log.lines().skip(from) {
        let e: Value = serde_json::from_str(l).unwrap();
        let args: Vec<&str> = e["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let step = match (e["prog"].as_str().unwrap(), args.as_slice()) {
            ("chronyc", _) | ("systemctl", ["restart", "ntpd"]) => "clock",
            ("pcs", _) => "pcs",
            ("docker", ["exec", ..]) | ("cephadm", _) => "ceph",
            ("openstack", ["compute", "service", "list", ..])
            | ("openstack", ["network", "agent", "list", ..]) => "services",
            ("docker", ["restart", ..]) | ("systemctl", ["restart", ..]) => "restart",
            _ => continue,
        };
        if steps.last().map(String::as_str) != Some(step) {
            steps.push(step.to_string());
        }
    }
    steps
}

/// A lab built through the overcloud against the stand-in director, with a snapshot after the
/// overcloud stage; then reverted while the overcloud comes back as after a real revert
/// (Pacemaker's resources stopped for two reads, Ceph HEALTH_WARN for one, a compute service
/// and a network agent down until restarted): the revert steps the clocks, waits for Pacemaker
/// and Ceph, then restarts what is still down after its grace, and waits for it.
fn the_revert_brings_the_overcloud_back(release: &str, stale_agent: &str) {
    use crate::director::{Director, Run};
    let d = Director::start(release);
    let lab = Lab::new();
    let run = Run::new(&lab, &d, release);
    run.run(&["--snapshot-after", "overcloud"])
        .ok()
        .stdout_has("snapshot after-overcloud");
    let target = d.target(&lab);
    let lab_args = |extra: &[&str]| {
        let mut a: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        for s in [
            "--target".to_string(),
            target.display().to_string(),
            "--profile".into(),
            run.profile.display().to_string(),
            "--set".into(),
            format!("uri={}", run.uri),
            "--set".into(),
            format!("images={}", run.images.display()),
            "--set".into(),
            "revert_every=0.1".into(),
            "--set".into(),
            "revert_grace=1".into(),
            "--set".into(),
            "revert_timeout=20".into(),
        ] {
            a.push(s);
        }
        a
    };
    d.flags(&format!(
        r#"{{"pcs_stopped_reads": 2, "ceph_warn_reads": 1, "stale": ["nova-compute", "{stale_agent}"]}}"#
    ));
    let from = std::fs::read_to_string(d.path("log.jsonl"))
        .unwrap()
        .lines()
        .count();
    let out = lab
        .labsh()
        .args(lab_args(&[
            "snapshot",
            "revert",
            "after-overcloud",
            "--yes",
        ]))
        .run();
    let servers = d.state()["servers"].as_array().unwrap().clone();
    let names = |role: &str| -> Vec<String> {
        servers
            .iter()
            .filter(|s| s["role"] == role)
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let compute = names("Compute")[0].clone();
    out.ok()
        .stdout_has("clocks: stepped on director, ")
        .stdout_has("overcloud: Pacemaker's resources started")
        .stdout_has("overcloud: Ceph is HEALTH_OK")
        .stdout_has(&format!(
            "overcloud: restarted what was still down after 1 s (stale message-queue connections): nova-compute@{compute}"
        ))
        .stdout_has(&format!("{stale_agent}@{compute}"))
        .stdout_has("overcloud: every compute service and network agent is up")
        .stdout_has("cluster: not installed at this snapshot");
    // Every node's clock stepped, with the release's time service.
    let steps = d.state()["clock_steps"].as_array().unwrap().clone();
    let stepped: Vec<&str> = steps.iter().map(|s| s["node"].as_str().unwrap()).collect();
    assert!(stepped.contains(&"director"), "{steps:?}");
    for s in &servers {
        assert!(stepped.contains(&s["name"].as_str().unwrap()), "{steps:?}");
    }
    let how = if release == "13" {
        "ntpd restarted"
    } else {
        "chronyc makestep"
    };
    assert!(steps.iter().all(|s| s["how"] == how), "{steps:?}");
    // In InfraRed's order: clocks, Pacemaker (read until started), Ceph (until healthy), the
    // services and agents, the stale ones restarted, then read again until up.
    assert_eq!(
        layer_steps(&d, from),
        ["clock", "pcs", "ceph", "services", "restart", "services"],
    );
    let reads = &d.state()["reads"];
    assert_eq!(reads["pcs"], 3, "{reads}");
    assert_eq!(reads["ceph"], 2, "{reads}");
    // Restarted on the node that holds it, by its unit or container, nothing else.
    let unit = |c: &str| {
        if release == "13" {
            c.to_string()
        } else {
            format!("tripleo_{c}")
        }
    };
    let agent_container = match stale_agent {
        "neutron-openvswitch-agent" => "neutron_ovs_agent",
        _ => "ovn_controller",
    };
    for s in &servers {
        let restarts: Vec<&str> = s["restarts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let mut want = match s["role"].as_str().unwrap() {
            "Compute" => vec![unit("nova_compute"), unit(agent_container)],
            "Controller" => vec![unit(agent_container)],
            _ => vec![],
        };
        let mut got: Vec<String> = restarts.iter().map(|r| r.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{}", s["name"]);
    }

    // A service that never comes back fails the revert, naming it and where.
    d.flags(r#"{"dead": ["nova-scheduler"]}"#);
    let mut args = lab_args(&["snapshot", "revert", "after-overcloud", "--yes"]);
    args.extend(["--set".to_string(), "revert_timeout=1".to_string()]);
    let out = lab.labsh().args(args).run();
    let ctrl = names("Controller")[0].clone();
    out.code(1)
        .stderr_has("the overcloud's services still down after 1 s")
        .stderr_has(&format!("nova-scheduler@{ctrl}.localdomain"));
}

#[test]
fn osp13_a_revert_steps_the_clocks_waits_for_pacemaker_and_ceph_and_restarts_stale_agents() {
    the_revert_brings_the_overcloud_back("13", "neutron-openvswitch-agent");
}

#[test]
fn osp17_1_a_revert_steps_the_clocks_waits_for_pacemaker_and_ceph_and_restarts_stale_agents() {
    the_revert_brings_the_overcloud_back("17.1", "ovn-controller");
}

/// The cluster's secrets in `ns` as the Kubernetes API stand-in serves them: one signer whose
/// certificate is good until `not_after` (library-go's certrotation annotations).
fn signer_secrets(k8s: &Path, ns: &str, name: &str, not_after: &str) {
    std::fs::write(
        k8s.join(format!("secrets-{ns}.json")),
        serde_json::json!({"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": [
            {"kind": "Secret", "apiVersion": "v1", "type": "kubernetes.io/tls",
             "metadata": {"name": name, "namespace": ns, "annotations": {
                 "auth.openshift.io/certificate-not-after": not_after,
                 "auth.openshift.io/certificate-not-before": "2026-01-01T00:00:00Z",
                 "auth.openshift.io/certificate-issuer": format!("openshift-kube-apiserver-operator_{name}@1767225600")}}}
        ]})
        .to_string(),
    )
    .unwrap();
}

/// An RFC 3339 time `secs` seconds from now, as `date` writes it.
fn rfc3339_in(secs: i64) -> String {
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", now_secs() + secs),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A lab whose cluster answers (the Kubernetes API stand-in) reverted: a snapshot older than a
/// certificate the cluster has rotated since is refused, naming it, unless --force; a good one
/// has the nodes' pending certificate requests approved and the operators waited for.
#[test]
fn a_revert_approves_the_clusters_certificate_requests_and_refuses_a_snapshot_older_than_its_certificates(
) {
    let lab = Lab::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let k8s = lab.work().join("k8s");
    std::fs::create_dir_all(&k8s).unwrap();
    std::fs::copy(
        root.join("tests/data/k8s/nodes.json"),
        k8s.join("nodes.json"),
    )
    .unwrap();
    std::fs::write(
        k8s.join("clusteroperators.json"),
        serde_json::json!({"kind": "ClusterOperatorList", "apiVersion": "config.openshift.io/v1", "metadata": {}, "items": [
            {"kind": "ClusterOperator", "apiVersion": "config.openshift.io/v1", "metadata": {"name": "kube-apiserver"}},
            {"kind": "ClusterOperator", "apiVersion": "config.openshift.io/v1", "metadata": {"name": "machine-config"}}
        ]})
        .to_string(),
    )
    .unwrap();
    let (child, port) = crate::support::spawn_and_read_line(
        Command::new("python3")
            .arg(root.join("tests/harness/kubeapi.py"))
            .arg(&k8s),
    );
    let _api = crate::support::Spawned(child);
    let target = lab.file(
        "targets/cluster.yaml",
        &format!(
            "libvirt_uri: test:///default\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\nundercloud: {{offline: true}}\n",
            lab.work().join("images").display(),
            lab.work().join("images-ssd").display()
        ),
    );
    // Where the lab's ocp stage leaves the cluster's kubeconfig (the target's output folder).
    let kubeconfig = lab.state().join("out/cluster/lab/ocp/auth/kubeconfig");
    std::fs::create_dir_all(kubeconfig.parent().unwrap()).unwrap();
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"http://127.0.0.1:{}\"}}\n  name: ocp4\ncontexts:\n- context: {{cluster: ocp4, user: admin}}\n  name: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user: {{token: recorded}}\n",
            port.trim()
        ),
    )
    .unwrap();
    let uri = lab.run([
        "-e",
        &format!(
            "virt::sandbox_host(\"{}\")",
            lab.work().join("host.xml").display()
        ),
    ]);
    uri.ok();
    let uri = format!("uri={}", uri.stdout.trim());
    let t = target.to_str().unwrap().to_string();
    let labsh = |args: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--target", &t, "--set", &uri]);
        lab.labsh()
            .args(a)
            .env("HOME", lab.home().to_str().unwrap())
            .run()
    };
    let lab_rhai = script("lab.rhai");
    labsh(&[
        "run",
        lab_rhai.to_str().unwrap(),
        "--only",
        "l0",
        "--only",
        "l1",
    ])
    .ok();
    // The cluster installed (its stage recorded as done, as a run that made it records it).
    let record = lab.state().join("out/cluster/lab/stages.json");
    let mut r: Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    r["done"].as_array_mut().unwrap().push("ocp".into());
    std::fs::write(&record, r.to_string()).unwrap();

    let ns = "openshift-kube-apiserver-operator";
    let signer = "kube-apiserver-to-kubelet-signer";
    signer_secrets(&k8s, ns, signer, &rfc3339_in(30 * 86400));
    labsh(&["snapshot", "save", "good"]).ok();
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(lab.state().join("snapshots/cluster/lab/good/snapshot.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(m["record"]["after"], "ocp");
    assert_eq!(m["record"]["cluster"]["secret"], format!("{ns}/{signer}"));
    // A snapshot taken two seconds before the cluster's signer expires: by the revert it has
    // been rotated.
    let soon = rfc3339_in(2);
    signer_secrets(&k8s, ns, signer, &soon);
    labsh(&["snapshot", "save", "old"]).ok();
    std::thread::sleep(Duration::from_secs(3));

    // The nodes ask for new certificates after the revert.
    let csr = |name: &str, node: &str| {
        serde_json::json!({"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1",
            "metadata": {"name": name},
            "spec": {"signerName": "kubernetes.io/kubelet-serving", "username": format!("system:node:{node}"),
                     "usages": ["digital signature", "key encipherment", "server auth"], "request": "LS0tLS1CRUdJTg=="},
            "status": {}})
    };
    std::fs::write(
        k8s.join("csrs.json"),
        serde_json::json!({"kind": "CertificateSigningRequestList", "apiVersion": "certificates.k8s.io/v1", "metadata": {},
            "items": [csr("csr-4kq8x", "ocp4-4p5fd-worker-76gvc"), csr("csr-9wz2m", "ocp4-4p5fd-worker-n6jvq")]})
        .to_string(),
    )
    .unwrap();
    let approved = || -> Vec<String> {
        let out = Command::new("kubectl")
            .args(["get", "csr", "-o", "json"])
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", lab.home())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| {
                c["status"]["conditions"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|x| x["type"] == "Approved"))
            })
            .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };

    // Too old: refused with the reason, nothing changed.
    labsh(&["snapshot", "revert", "old", "--yes"])
        .code(1)
        .stderr_has(&format!(
            "its certificate {ns}/{signer} expired at {soon}, and the cluster has rotated it since"
        ))
        .stderr_has("nothing was changed")
        .stderr_has("--force");
    assert!(approved().is_empty(), "nothing approved");

    // A good one: the requests approved, the operators waited for.
    labsh(&[
        "snapshot",
        "revert",
        "good",
        "--yes",
        "--set",
        "revert_every=0.2",
        "--set",
        "revert_timeout=20",
    ])
    .ok()
    .stdout_has("cluster: approved 2 certificate request(s): csr-4kq8x, csr-9wz2m")
    .stdout_has("cluster: every node Ready, every operator Available")
    .stdout_has("the lab is as it was after stage ocp");
    assert_eq!(approved(), ["csr-4kq8x", "csr-9wz2m"]);

    // --force reverts the old one anyway, saying why it would not.
    labsh(&["snapshot", "revert", "old", "--yes", "--force"])
        .ok()
        .stdout_has("reverting as --force says");
}

/// The overcloud's nodes of the repair test's lab, as Ironic names them (their VMs' names): the
/// seed's, each under a name of its own (the profile's `vms.*.name`), so that they never meet the
/// nodes `baremetal::` and `devlab::` make in the same Ironic.
const NODES: [&str; 7] = [
    "t-sr-ceph01",
    "t-sr-ceph02",
    "t-sr-ceph03",
    "t-sr-compute01",
    "t-sr-ctrl01",
    "t-sr-ctrl02",
    "t-sr-ctrl03",
];

/// On the devlab (a real libvirtd, VirtualBMC, the devcloud's Ironic), what a restart of the host
/// leaves stale: the BMCs stopped long enough for Ironic's power sync to put every node in
/// maintenance (fault "power failure"), then started again but one, and two VMs that should run
/// left off. The next run brings all of it back and says each repair; a node a person put in
/// maintenance is left so. Needs the devcloud (127.0.0.1:5000) and takes some minutes: Ironic
/// gives up on a BMC after `[conductor] power_state_sync_max_retries` (3) failed syncs, one every
/// `sync_power_state_interval` (15 s in tests/harness/devcloud.sh; each failed sync also waits out
/// ipmitool's 10 s), so a minute and a half after its BMCs stop. Its nodes have names of their own
/// ([`NODES`]).
#[test]
fn on_the_devlab_a_run_brings_back_the_bmcs_vms_and_ironic_nodes_a_host_restart_left_stale() {
    use crate::support::bmc::{path_with_venv, venv_bin, Vbmcd};
    use crate::support::devcloud::{devcloud, osc};
    use crate::support::host::RealHost;
    let clouds = devcloud();
    let host = RealHost::start("snaprepair");
    let lab = Lab::new();
    let vbmcd = Vbmcd::start(&lab.work().join("vbmcd"));
    let port_base = crate::support::ports::free_ports(24500, 7);
    std::fs::create_dir_all(host.dir.join("images-ssd")).unwrap();
    let c = clouds.display();
    let target = lab.file(
        "targets/snaprepair.yaml",
        &format!(
            "libvirt_uri: \"{}\"\nimages: \"{}\"\ndisk_folders: {{ssd: \"{}\"}}\ndomain_type: qemu\nbmc: {{address: 127.0.0.1, port_base: {port_base}, config: \"{}\"}}\ncloud: {{cloud: devcloud, clouds_yaml: \"{c}\"}}\nundercloud: {{offline: true, cloud: {{cloud: devcloud-system, clouds_yaml: \"{c}\"}}}}\ncluster: {{offline: true}}\nprofile:\n  name: t-sr\n  base_image: {{size: 4G}}\n  vms:\n    undercloud: {{memory_mib: 512, vcpus: 1}}\n    ctrl: {{memory_mib: 1024, vcpus: 1, name: t-sr-ctrl%02d}}\n    ceph: {{memory_mib: 1024, vcpus: 1, osd_disks: [\"1G\"], name: t-sr-ceph%02d}}\n    compute: {{memory_mib: 1024, vcpus: 1, name: t-sr-compute%02d}}\n",
            host.uri,
            host.images().display(),
            host.dir.join("images-ssd").display(),
            vbmcd.config.display(),
        ),
    );
    let t = target.to_str().unwrap();
    let labsh = |args: &[&str]| {
        lab.labsh()
            .args(args.iter().copied())
            .env("PATH", &path_with_venv())
            .run()
    };
    let lab_rhai = script("lab.rhai");
    let teardown = script("teardown.rhai");
    let run_args = [
        "run",
        lab_rhai.to_str().unwrap(),
        "--yes",
        "--target",
        t,
        "--only",
        "l0",
        "--only",
        "l1",
        "--only",
        "undercloud",
        "--only",
        "overcloud",
    ];
    let node = |n: &str| {
        osc(
            &clouds,
            "devcloud-system",
            &["baremetal", "node", "show", n],
        )
    };
    let vbmc = |verb: &str, vm: &str| {
        crate::support::run_ok(
            Command::new(venv_bin().join("vbmc"))
                .args([verb, vm])
                .env("VIRTUALBMC_CONFIG", &vbmcd.config),
            format!("vbmc {verb} {vm}"),
        );
    };
    // What an earlier run of this test left on the shared devcloud: this lab's nodes.
    labsh(&["run", teardown.to_str().unwrap(), "--target", t, "--yes"]).ok();
    labsh(&run_args).ok();
    for n in NODES {
        let v = node(n);
        assert_eq!(v["provision_state"], "available", "{n}: {v}");
        assert_eq!(v["maintenance"], false, "{n}: {v}");
    }

    // The host restarted: the BMCs are not there while Ironic syncs its nodes' power.
    for n in NODES {
        vbmc("stop", n);
    }
    let t0 = Instant::now();
    loop {
        let held: Vec<&str> = NODES
            .iter()
            .copied()
            .filter(|n| {
                let v = node(n);
                v["maintenance"] == true && v["fault"] == "power failure"
            })
            .collect();
        if held.len() == NODES.len() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(360),
            "Ironic put only {held:?} in maintenance within 6 minutes"
        );
        std::thread::sleep(Duration::from_secs(5));
    }
    eprintln!(
        "Ironic put every node in maintenance after {:?}",
        t0.elapsed()
    );
    // One BMC back (as the issue's user had them all back), the others still stopped; two VMs
    // that should run are off (the director and a node, whose power state Ironic forgot when
    // it gave up: both autostart).
    let by_hand = "t-sr-ctrl01";
    vbmc("start", by_hand);
    host.virsh(&["destroy", "undercloud"]);
    host.virsh(&["destroy", "t-sr-ctrl02"]);

    // The next run, continuing from the undercloud (as the continue command of a failed
    // overcloud stage does; a run from l1 would make and start them again as the l1 stage
    // does), brings it all back before the undercloud's node work, and says so.
    let again = labsh(&[
        "run",
        lab_rhai.to_str().unwrap(),
        "--yes",
        "--target",
        t,
        "--only",
        "undercloud",
        "--only",
        "overcloud",
    ]);
    again
        .ok()
        .stdout_has("repair: VM undercloud started again (it should run)")
        .stdout_has("repair: VM t-sr-ctrl02 started again (it should run)");
    let bmcs = again
        .stdout
        .lines()
        .find(|l| l.starts_with("repair: the BMC(s) of "))
        .unwrap_or_else(|| panic!("no BMC started again:\n{}", again.stdout))
        .to_string();
    for n in NODES.iter().filter(|n| **n != by_hand) {
        assert!(bmcs.contains(n), "{n} in {bmcs}");
        // Ironic's own recovery (every power_failure_recovery_interval, 300 s) could have taken
        // the node whose BMC came back first out of maintenance before the run: the others
        // could not answer it.
        again.stdout_has(&format!(
            "repair: node {n} taken out of maintenance: Ironic put it there when its BMC did not answer"
        ));
    }
    assert!(!bmcs.contains(by_hand), "{bmcs}");
    for n in NODES {
        let v = node(n);
        assert_eq!(v["maintenance"], false, "{n}: {v}");
        assert!(v["fault"].is_null(), "{n}: {v}");
        assert_eq!(v["provision_state"], "available", "{n}: {v}");
    }
    for vm in ["undercloud", "t-sr-ctrl02"] {
        assert_eq!(host.virsh(&["domstate", vm]).trim(), "running", "{vm}");
    }

    // A node a person put in maintenance stays there, and the repair says why.
    let by_hand = |args: &[&str]| {
        assert!(
            crate::support::devcloud::osc_status(&clouds, "devcloud-system", args),
            "openstack {args:?}"
        )
    };
    by_hand(&[
        "baremetal",
        "node",
        "maintenance",
        "set",
        "--reason",
        "disk swap",
        "t-sr-compute01",
    ]);
    let f = lab.file(
        "repair.rhai",
        "import \"target\" as target;\nimport \"snapshot\" as snapshot;\nlet s = target::setup(run_info());\nsnapshot::repair(s.p, s.t);\n",
    );
    // And a node a revert that was interrupted left held is labsh's to release.
    by_hand(&[
        "baremetal",
        "node",
        "maintenance",
        "set",
        "--reason",
        "labsh: held while snapshot cold is reverted",
        "t-sr-ctrl03",
    ]);
    labsh(&["run", f.to_str().unwrap(), "--target", t])
        .ok()
        .stdout_has(
        "Ironic: node t-sr-compute01 is in maintenance, put there by a person (disk swap): left so",
    )
        .stdout_has("repair: node t-sr-ctrl03 released from the maintenance labsh held it in");
    assert_eq!(node("t-sr-compute01")["maintenance"], true);
    assert_eq!(node("t-sr-ctrl03")["maintenance"], false);
    by_hand(&[
        "baremetal",
        "node",
        "maintenance",
        "unset",
        "t-sr-compute01",
    ]);

    // A revert makes Ironic's power states libvirt's again: a node powered off through Ironic
    // after a cold snapshot runs again after the revert, and Ironic says so.
    // Ironic's power sync would power a VM back on in the middle of its cold snapshot: the
    // nodes are held in maintenance meanwhile, then released.
    labsh(&[
        "snapshot",
        "save",
        "cold",
        "--cold",
        "--target",
        t,
        "--set",
        "shutdown_timeout=1",
    ])
    .ok()
    .stdout_has(&format!(
        "Ironic: {} nodes held in maintenance while the VMs are shut down or reverted",
        NODES.len()
    ))
    .stdout_has(" released from maintenance");
    for n in NODES {
        assert_eq!(
            node(n)["maintenance"],
            false,
            "{n} still held after the save"
        );
    }
    by_hand(&["baremetal", "node", "power", "off", "t-sr-compute01"]);
    let t0 = Instant::now();
    while node("t-sr-compute01")["power_state"] != "power off" {
        assert!(t0.elapsed() < Duration::from_secs(120), "compute01 not off");
        std::thread::sleep(Duration::from_secs(2));
    }
    assert_eq!(
        host.virsh(&["domstate", "t-sr-compute01"]).trim(),
        "shut off"
    );
    // Ironic may not have read every node's power again since their maintenance ended: those
    // are set too. Its power sync would otherwise power compute01 off again between the revert
    // and labsh's setting it (force_power_state_during_sync): the nodes are held in maintenance
    // before the VMs are reverted, and released once their power states are libvirt's.
    let back = labsh(&["snapshot", "revert", "cold", "--target", t, "--yes"]);
    back.ok().stdout_has("BMCs: all IPMI BMCs answer");
    let at = |what: &str| {
        back.stdout
            .find(what)
            .unwrap_or_else(|| panic!("no {what:?} in:\n{}", back.stdout))
    };
    assert!(
        at("nodes held in maintenance") < at("snapshot cold: 8 VMs reverted"),
        "{}",
        back.stdout
    );
    let agrees = back
        .stdout
        .lines()
        .find(|l| l.starts_with("Ironic: every node's power state agrees with libvirt (set: "))
        .unwrap_or_else(|| panic!("no power state set:\n{}", back.stdout))
        .to_string();
    assert!(agrees.contains("t-sr-compute01 on"), "{agrees}");
    assert!(agrees.contains("released from maintenance"), "{agrees}");
    for n in NODES {
        assert_eq!(host.virsh(&["domstate", n]).trim(), "running", "{n}");
        let v = node(n);
        assert_eq!(v["power_state"], "power on", "{n}: {v}");
        assert_eq!(v["maintenance"], false, "{n}: {v}");
    }
    labsh(&["run", teardown.to_str().unwrap(), "--target", t, "--yes"]).ok();
    assert!(!lab.state().join("snapshots/snaprepair/t-sr").exists());
}

/// A RHOSO lab's snapshot (profiles/rhoso.rhai on a test driver's libvirt, its substrate the
/// Kubernetes API stand-in holding what its profile applies): the substrate's certificates
/// kept in the record; a revert brings back, in order, the substrate (its nodes' pending
/// certificate requests approved, its operators waited for) and then the OpenStackControlPlane
/// waited for Ready, with no director, BMC, Ironic or Pacemaker step; a control plane that does
/// not come back is named with its failing condition; a snapshot older than the substrate's
/// certificate rotation is refused and changes nothing.
#[test]
fn a_rhoso_labs_revert_brings_back_its_substrate_then_its_control_plane() {
    let lab = Lab::new();
    let (kc, args) = crate::status::rhoso_lab(&lab);
    let k8s = lab.work().join("k8s");
    std::fs::create_dir_all(&k8s).unwrap();
    std::fs::copy(
        crate::support::root().join("tests/data/k8s/nodes.json"),
        k8s.join("nodes.json"),
    )
    .unwrap();
    std::fs::write(
        k8s.join("clusteroperators.json"),
        serde_json::json!({"kind": "ClusterOperatorList", "apiVersion": "config.openshift.io/v1", "metadata": {}, "items": [
            {"kind": "ClusterOperator", "apiVersion": "config.openshift.io/v1", "metadata": {"name": "kube-apiserver"}}
        ]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(k8s.join("progress.json"), "0").unwrap();
    let _api = crate::status::kubeapi(&k8s, &kc);
    crate::status::kubectl_apply(
        &kc,
        &lab.home(),
        &crate::support::root().join("tests/data/rhoso/objects"),
    );
    // The stages a run of the lab recorded done, up to the data plane.
    let record = lab.work().join("out/rhoso/stages.json");
    std::fs::write(
        &record,
        serde_json::json!({"script": "scripts/lab.rhai",
            "stages": ["preflight", "l0", "l1", "substrate", "controlplane", "dataplane", "tenant", "ocp", "verify"],
            "done": ["preflight", "l0", "l1", "substrate", "controlplane", "dataplane"]})
        .to_string(),
    )
    .unwrap();
    let labsh = |more: &[&str]| {
        let mut a: Vec<&str> = more.to_vec();
        a.extend(args.iter().map(String::as_str));
        lab.labsh()
            .args(a)
            .env("HOME", lab.home().to_str().unwrap())
            .run()
    };
    let ns = "openshift-kube-apiserver-operator";
    let signer = "kube-apiserver-to-kubelet-signer";
    signer_secrets(&k8s, ns, signer, &rfc3339_in(30 * 86400));
    labsh(&["snapshot", "save", "good"]).ok();
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(lab.state().join("snapshots/rhoso/rhoso/good/snapshot.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(m["record"]["after"], "dataplane");
    assert_eq!(m["record"]["substrate"]["secret"], format!("{ns}/{signer}"));
    assert_eq!(m["record"]["bmc"], Value::Null);
    assert_eq!(m["domains"].as_array().unwrap().len(), 4);
    let soon = rfc3339_in(2);
    signer_secrets(&k8s, ns, signer, &soon);
    labsh(&["snapshot", "save", "old"]).ok();
    std::thread::sleep(Duration::from_secs(3));

    // The substrate's node asks for a new certificate after the revert.
    std::fs::write(
        k8s.join("csrs.json"),
        serde_json::json!({"kind": "CertificateSigningRequestList", "apiVersion": "certificates.k8s.io/v1", "metadata": {},
            "items": [{"kind": "CertificateSigningRequest", "apiVersion": "certificates.k8s.io/v1",
                "metadata": {"name": "csr-7xq2p"},
                "spec": {"signerName": "kubernetes.io/kubelet-serving", "username": "system:node:rhoso-ocp01",
                         "usages": ["digital signature", "key encipherment", "server auth"], "request": "LS0tLS1CRUdJTg=="},
                "status": {}}]})
        .to_string(),
    )
    .unwrap();

    // Older than the substrate's certificate rotation: refused, naming it; nothing changed.
    labsh(&["snapshot", "revert", "old", "--yes"])
        .code(1)
        .stderr_has(&format!(
            "its certificate {ns}/{signer} expired at {soon}, and the OpenShift substrate has rotated it since"
        ))
        .stderr_has("nothing was changed");

    let quick = [
        "--yes",
        "--set",
        "revert_every=0.2",
        "--set",
        "revert_timeout=5",
    ];
    let out = labsh(&[&["snapshot", "revert", "good"][..], &quick].concat());
    let out = out.ok();
    let lines = [
        "substrate: approved 1 certificate request(s): csr-7xq2p",
        "substrate: every node Ready, every operator Available",
        "controlplane: OpenStackControlPlane openstack-control-plane Ready",
        "cluster: not installed at this snapshot: nothing to wait for",
        "the lab is as it was after stage dataplane",
    ];
    let at: Vec<usize> = lines
        .iter()
        .map(|l| {
            out.stdout
                .find(l)
                .unwrap_or_else(|| panic!("no {l:?} in:\n{}", out.stdout))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", out.stdout);
    for none in ["clocks:", "BMCs:", "Ironic", "Pacemaker", "overcloud:"] {
        assert!(!out.stdout.contains(none), "{none}: {}", out.stdout);
    }

    // A control plane that does not come back: the revert names its failing condition.
    let nova = "OpenStackControlPlane Nova error occured Deployment nova-api: Pod nova-api-0 is in CrashLoopBackOff";
    std::fs::write(
        k8s.join("fail.json"),
        serde_json::json!({"OpenStackControlPlane/openstack-control-plane":
            {"condition": "OpenStackControlPlaneNovaReady", "reason": "Error", "message": nova}})
        .to_string(),
    )
    .unwrap();
    labsh(&[&["snapshot", "revert", "good"][..], &quick].concat())
        .code(1)
        .stderr_has("the OpenStackControlPlane openstack-control-plane not Ready after 5 s")
        .stderr_has(&format!("OpenStackControlPlaneNovaReady False ({nova})"));
}

/// The domains and networks at `uri` as libvirt lists them (name, lab, state, autostart, disks
/// and the rest), as JSON values sorted by name.
fn libvirt_objects(lab: &Lab, uri: &str) -> (Vec<Value>, Vec<Value>) {
    let list = |what: &str| -> Vec<Value> {
        let o = lab.run([
            "-e",
            &format!("files::to_json(virt::{what}_list(\"{uri}\"))"),
        ]);
        let mut v: Vec<Value> = serde_json::from_str(o.ok().stdout.trim()).unwrap();
        v.sort_by_key(|x| x["name"].as_str().unwrap_or("").to_string());
        v
    };
    (list("domain"), list("network"))
}

/// Every file under `dir` with its bytes, sorted by path.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A RHOSO lab torn down beside a TripleO lab on one libvirt (a test driver's, shared by a target
/// file): its VMs, its snapshots and its substrate folder (OUT/substrate) go; the TripleO lab's
/// domains, networks, output folder and snapshot are as they were, and so is the rest of the
/// RHOSO lab's output folder.
#[test]
fn a_rhoso_labs_teardown_leaves_a_tripleo_lab_beside_it_untouched() {
    let lab = Lab::new();
    let out_dir = lab.work().join("out");
    let target = lab.file(
        "targets/shared.yaml",
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
    let uri = uri.ok().stdout.trim().to_string();
    let set = format!("uri={uri}");
    let t = target.to_str().unwrap();
    let with = |profile: &str, more: &[&str]| {
        let mut a: Vec<&str> = more.to_vec();
        a.extend(["--profile", profile, "--target", t, "--set", &set]);
        lab.labsh()
            .args(a)
            .env("HOME", lab.home().to_str().unwrap())
            .run()
    };
    // The TripleO lab (the seed's, lab "lab"): its L0 and L1, and a snapshot.
    let lab_rhai = script("lab.rhai");
    with(
        "seed",
        &[
            "run",
            lab_rhai.to_str().unwrap(),
            "--only",
            "l0",
            "--only",
            "l1",
        ],
    )
    .ok();
    with("seed", &["snapshot", "save", "tripleo-l1"]).ok();
    // The RHOSO lab's VMs on the same libvirt (on the TripleO lab's networks: a lab's own
    // networks of the same names would be in the other's way), its substrate's folder and a
    // snapshot.
    let mk = lab.file(
        "make-rhoso-l1.rhai",
        "import \"target\" as target;\nimport \"l1\" as l1;\n\
         let s = target::setup(run_info());\n\
         l1::build_rhoso(s.t.uri, s.p, #{ key: \"ssh-ed25519 AAAA test\", customize_offline: \"no libguestfs in this test\" });\n\
         virt::sandbox_save(s.t.uri);\n\
         files::write(s.t.out + \"/stages.json\", \"{\\\"script\\\": \\\"scripts/lab.rhai\\\", \\\"stages\\\": [\\\"l0\\\", \\\"l1\\\", \\\"substrate\\\"], \\\"done\\\": [\\\"l0\\\", \\\"l1\\\", \\\"substrate\\\"]}\");\n",
    );
    with("rhoso", &["run", mk.to_str().unwrap()]).ok();
    // The agent ISO the substrate stage puts where the substrate VM's CD-ROM reads it.
    let iso = lab.work().join("images/rhoso-agent.x86_64.iso");
    std::fs::write(&iso, "an ISO").unwrap();
    with("rhoso", &["snapshot", "save", "rhoso-substrate"]).ok();
    // What the substrate stage leaves in the output folder (written after the snapshot, which
    // would ask the substrate for its certificates).
    let substrate = out_dir.join("rhoso/substrate");
    std::fs::create_dir_all(substrate.join("auth")).unwrap();
    std::fs::write(
        substrate.join("auth/kubeconfig"),
        "apiVersion: v1\nkind: Config\n",
    )
    .unwrap();
    std::fs::write(substrate.join("agent-config.yaml"), "apiVersion: v1beta1\n").unwrap();

    let (doms, nets) = libvirt_objects(&lab, &uri);
    let default_net = || {
        lab.run([
            "-e",
            &format!("virt::network_definition(\"{uri}\", \"default\")"),
        ])
        .ok()
        .stdout
        .clone()
    };
    let default_before = default_net();
    let of = |v: &[Value], who: &str| -> Vec<Value> {
        v.iter().filter(|x| x["lab"] == who).cloned().collect()
    };
    assert_eq!(of(&doms, "rhoso").len(), 4, "{doms:?}");
    assert_eq!(of(&doms, "lab").len(), 8, "{doms:?}");
    let tripleo_out = tree(&out_dir.join("lab"));
    assert!(!tripleo_out.is_empty());
    let snaps = lab.state().join("snapshots/shared");
    let tripleo_snap = tree(&snaps.join("lab"));
    assert!(snaps.join("rhoso/rhoso-substrate").is_dir());
    assert!(substrate.join("auth/kubeconfig").is_file());

    // A plan names what would go, and removes nothing.
    let teardown = script("teardown.rhai");
    with("rhoso", &["run", teardown.to_str().unwrap(), "--plan"])
        .ok()
        .stdout_has(&format!("its substrate folder {}", substrate.display()))
        .stderr_has(&format!(
            "planned  file.remove_tree {}",
            substrate.display()
        ));
    assert!(substrate.join("auth/kubeconfig").is_file());
    assert_eq!(libvirt_objects(&lab, &uri), (doms.clone(), nets.clone()));

    with("rhoso", &["run", teardown.to_str().unwrap(), "--yes"]).ok();
    let (doms_after, nets_after) = libvirt_objects(&lab, &uri);
    assert!(of(&doms_after, "rhoso").is_empty(), "{doms_after:?}");
    assert!(
        !iso.exists(),
        "the agent ISO is removed with the substrate VM"
    );
    assert!(!substrate.exists());
    assert!(!snaps.join("rhoso/rhoso-substrate").exists());
    // The rest of the RHOSO lab's output folder is kept, as a TripleO lab's is.
    assert!(out_dir.join("rhoso/stages.json").is_file());
    // The TripleO lab is as it was.
    assert_eq!(of(&doms_after, "lab"), of(&doms, "lab"));
    assert_eq!(of(&nets_after, "lab"), of(&nets, "lab"));
    // libvirt's `default` keeps the DHCP range the TripleO lab's l0 took from it.
    assert_eq!(default_net(), default_before);
    assert_eq!(tree(&out_dir.join("lab")), tripleo_out);
    assert_eq!(tree(&snaps.join("lab")), tripleo_snap);
    with("seed", &["snapshot", "list"])
        .ok()
        .stdout_has("tripleo-l1");
}

/// `--snapshot-after controlplane` and `--snapshot-after dataplane` on a RHOSO lab on the sandbox
/// (its VMs made first; the target has no substrate, so both stages are planned): each takes
/// its snapshot once its stage is done, and a revert to the one after the data plane goes
/// through the substrate and the control plane, planned, in that order.
#[test]
fn a_rhoso_labs_snapshot_after_controlplane_and_dataplane_is_taken_and_reverted() {
    let lab = Lab::new();
    let mk = lab.file(
        "make-l1.rhai",
        "import \"target\" as target;\nimport \"l0\" as l0;\nimport \"l1\" as l1;\n\
         let s = target::setup(run_info());\nl0::networks(s.t.uri, s.p);\nl1::build(s.t.uri, s.p);\nvirt::sandbox_save(s.t.uri);\n",
    );
    lab.run(["run", mk.to_str().unwrap(), "--profile", "rhoso"])
        .ok();
    // The stages done before, as a run that installed the substrate records them.
    let out_dir = lab.state().join("out/sandbox/rhoso");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(
        out_dir.join("stages.json"),
        serde_json::json!({"script": "scripts/lab.rhai", "stages": ["preflight", "l0", "l1", "substrate", "controlplane", "dataplane"],
                           "done": ["preflight", "l0", "l1", "substrate"]})
        .to_string(),
    )
    .unwrap();
    let lab_rhai = script("lab.rhai");
    let out = lab.run([
        "run",
        lab_rhai.to_str().unwrap(),
        "--profile",
        "rhoso",
        "--only",
        "controlplane",
        "--only",
        "dataplane",
        "--snapshot-after",
        "controlplane",
        "--snapshot-after",
        "dataplane",
    ]);
    out.ok()
        .stdout_has("snapshot after-controlplane of lab rhoso: 4 VMs")
        .stdout_has("snapshot after-dataplane of lab rhoso: 4 VMs");
    let m: Value = serde_json::from_str(
        &std::fs::read_to_string(
            lab.state()
                .join("snapshots/sandbox/rhoso/after-dataplane/snapshot.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(m["record"]["after"], "dataplane");
    let out = snap(
        &lab,
        &["revert", "after-dataplane", "--profile", "rhoso", "--yes"],
    );
    out.ok();
    let at = |l: &str| {
        out.stdout
            .find(l)
            .unwrap_or_else(|| panic!("no {l:?} in:\n{}", out.stdout))
    };
    assert!(
        at("substrate: every node Ready")
            < at("controlplane: OpenStackControlPlane openstack-control-plane Ready")
    );
    assert!(
        out.stderr
            .contains("planned, not applied: the sandbox has no OpenShift substrate"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stdout.contains("clocks:") && !out.stdout.contains("Ironic"),
        "{}",
        out.stdout
    );
}
