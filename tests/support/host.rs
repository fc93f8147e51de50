//! A libvirtd of a test's own (tests/harness/libvirtd.sh: QEMU under emulation in a network
//! namespace of its own), read back with virsh; the seed's L0 and L1 as a script for it.

use super::run_ok;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A libvirtd of this test's own. Its folder outlives the test (QEMU's capability cache makes the
/// next start take well under a second); everything else in it is made anew at each start.
pub struct RealHost {
    pub name: String,
    pub dir: PathBuf,
    pub uri: String,
}

fn harness() -> PathBuf {
    super::root().join("tests/harness/libvirtd.sh")
}

impl RealHost {
    pub fn start(name: &str) -> RealHost {
        let base = std::env::var_os("LABSH_REALSTACK_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| super::cache("realstack"));
        let dir = base.join(name);
        // The host's image folder is there from the start, as /var/lib/libvirt/images is on a
        // host with libvirt installed (preflight refuses a folder that does not exist).
        std::fs::create_dir_all(dir.join("images")).unwrap();
        let out = run_ok(
            Command::new("bash")
                .arg(harness())
                .args(["start", name])
                .arg(&dir),
            "libvirtd did not start",
        );
        let uri = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let h = RealHost {
            name: name.into(),
            dir,
            uri,
        };
        // The `default` network as a distribution installs it: NAT, DHCP on .2-.254.
        let xml = h.dir.join("default-net.xml");
        std::fs::write(
            &xml,
            "<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/>\
             <ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>\
             <range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>",
        )
        .unwrap();
        h.virsh(&["net-define", xml.to_str().unwrap()]);
        h.virsh(&["net-start", "default"]);
        h
    }

    pub fn images(&self) -> PathBuf {
        self.dir.join("images")
    }

    /// Runs virsh against this daemon; panics on failure.
    pub fn virsh(&self, args: &[&str]) -> String {
        let out = run_ok(
            Command::new("virsh")
                .args(["-q", "-c", &self.uri])
                .args(args),
            format!("virsh {args:?}"),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RealHost {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(harness())
            .args(["stop", &self.name])
            .arg(&self.dir)
            .status();
    }
}

/// The seed's L0 and L1 on a real host. The compute node gets 8 GiB instead of the profile's
/// 64 GiB: QEMU cannot reserve a guest bigger than this 24 GiB test machine.
pub const L1_SCRIPT: &str = r#"
import "seed" as seed;
import "l0" as l0;
import "l1" as l1;
let uri = param("uri", "");
let images = param("images", "");
let p = seed::profile();
p.host.images = images;
p.host.disk_folders.ssd = images + "/ssd";
p.host.domain_type = "qemu";
p.vms.compute.memory_mib = 8192;
stage("l0", || l0::networks(uri, p));
stage("l1", || l1::build(uri, p));
"#;

/// `run SCRIPT --set uri=... --set images=...` for `host`, then `extra`.
pub fn run_args(host: &RealHost, script: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "run".to_string(),
        script.display().to_string(),
        "--set".into(),
        format!("uri={}", host.uri),
        "--set".into(),
        format!("images={}", host.images().display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The domains, the networks and `default`'s definition: what a lab must leave as it found.
pub fn snapshot(host: &RealHost) -> (Vec<String>, Vec<String>, String) {
    let names = |list: &str| {
        let mut v: Vec<String> = host
            .virsh(&[list, "--all", "--name"])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    (
        names("list"),
        names("net-list"),
        host.virsh(&["net-dumpxml", "--inactive", "default"]),
    )
}
