//! `labsh console NODE`: a VM's serial console through libvirt (`virsh console`), driven in a
//! real terminal (tmux) against a libvirtd of the test's own running QEMU under emulation; a VM
//! the lab does not have, one of the sandbox, and one that is off are refused, nothing changed.

use crate::repl::Term;
use crate::support::host::RealHost;
use crate::support::{bin, Lab};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[test]
fn sandbox_a_vm_the_lab_does_not_have_is_named_with_a_did_you_mean() {
    let lab = Lab::new();
    // The sandbox, made by a first look at it.
    lab.run(["ssh", "undercloud"]).code(1);
    let before = lab.state_files();
    let out = lab.run(["console", "overcloud-ctrl1"]);
    out.code(1)
        .stderr_has("the lab 'lab' has no VM 'overcloud-ctrl1' (did you mean 'overcloud-ctrl01'?)")
        .stderr_has("its VMs: overcloud-ceph01,");
    // An overcloud host name is not a VM's.
    lab.run(["console", "overcloud-controller-0"])
        .code(1)
        .stderr_has("the overcloud's host names are not VM names");
    // The sandbox's VMs are the test driver's: they have no console.
    lab.run(["console", "overcloud-ctrl01"])
        .code(1)
        .stderr_has("overcloud-ctrl01 is a VM of the sandbox, libvirt's test driver, which has no consoles; nothing was attached");
    lab.run(["console", "overcloud-ctrl01", "--target", "nosuch"])
        .code(2)
        .stderr_has("unknown target 'nosuch'");
    lab.run(["console", "overcloud-ctrl01", "--set", "imags=/x"])
        .code(2)
        .stderr_has("unknown --set key 'imags' (did you mean 'images'?)");
    assert_eq!(
        lab.state_files(),
        before,
        "a refused console changed the state"
    );
}

/// The host's kernel, which prints on the serial port it is told to (console=ttyS0): the tiny
/// guest whose output the console shows.
fn kernel() -> PathBuf {
    let boot = Path::new("/boot");
    let mut k: Vec<PathBuf> = std::fs::read_dir(boot)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    k.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
    });
    k.sort();
    k.pop()
        .expect("a kernel in /boot (linux-image-amd64) for the console's guest")
}

/// A domain of the seed's lab by name, with the serial console and the VNC display labsh gives
/// every VM, booting `kernel` straight (no disk) with its console on the serial port.
fn domain_xml(name: &str, kernel: &Path) -> String {
    format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{}</kernel>\
         <cmdline>console=ttyS0 panic=0 loglevel=7</cmdline></os>\
         <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>\
         <devices><serial type='pty'/><console type='pty'/>\
         <graphics type='vnc' autoport='yes' listen='127.0.0.1'/></devices></domain>",
        kernel.display()
    )
}

#[test]
fn console_attaches_to_a_running_domains_serial_console_and_refuses_one_that_is_off() {
    let host = RealHost::start("console");
    let k = host.images().join("vmlinuz");
    std::fs::copy(kernel(), &k).unwrap();
    for name in ["undercloud", "overcloud-ctrl01"] {
        let xml = host.dir.join(format!("{name}.xml"));
        std::fs::write(&xml, domain_xml(name, &k)).unwrap();
        host.virsh(&["define", xml.to_str().unwrap()]);
    }
    let lab = Lab::new();
    let uri = format!("uri={}", host.uri);

    // A VM that is off: a clear error, and it stays off.
    let before = lab.state_files();
    lab.run(["console", "overcloud-ctrl01", "--set", &uri])
        .code(1)
        .stderr_has("overcloud-ctrl01 is not running (shutoff): a VM has a serial console only while it runs")
        .stderr_has("nothing was changed");
    assert_eq!(
        host.virsh(&["domstate", "overcloud-ctrl01"]).trim(),
        "shut off"
    );
    assert_eq!(
        lab.state_files(),
        before,
        "a refused console changed the state"
    );

    // A running one (held paused until the console is attached, so none of its output is lost).
    host.virsh(&["start", "--paused", "undercloud"]);
    let display = host.virsh(&["domdisplay", "undercloud"]);
    // vnc://127.0.0.1:N is VNC display N, port 5900 + N.
    let n: u16 = display
        .trim()
        .rsplit(':')
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("virsh domdisplay: {display}"));
    let quoted = format!("'{}'", uri.replace('\'', "'\\''"));
    let line = format!(
        "{} console undercloud --set {quoted}; echo \"labsh exited $?\"; sleep 60",
        bin().display()
    );
    let t = Term::command(&lab, &[], &["sh".into(), "-c".into(), line]);
    let s = t.wait_for_in("Escape character is", Duration::from_secs(30));
    assert!(
        s.contains(&format!(
            "undercloud: its graphical console is VNC at 127.0.0.1:{}",
            5900 + n
        )),
        "{s}"
    );
    assert!(
        s.contains("undercloud: its serial console (/dev/pts/"),
        "{s}"
    );
    assert!(s.contains("Ctrl+] leaves it"), "{s}");
    host.virsh(&["resume", "undercloud"]);
    // The kernel's first lines on its serial port, through the console.
    // (the line after "Linux version" may reach the screen a moment later: both waited for)
    t.wait_for_in("Linux version", Duration::from_secs(120));
    t.wait_for_in("Command line: console=ttyS0", Duration::from_secs(30));
    // The escape key leaves the console; labsh ends with virsh's code, and the VM runs on.
    t.keys(&["C-]"]);
    t.wait_for_in("labsh exited 0", Duration::from_secs(15));
    assert_eq!(host.virsh(&["domstate", "undercloud"]).trim(), "running");
    host.virsh(&["destroy", "undercloud"]);
}
