//! The apply path of the undercloud and overcloud stages, end to end, against a stand-in
//! director (tests/harness/director.sh: an sshd of this test's on 127.0.0.1 in a mount
//! namespace of overlays, with the release's parsers and output formats, keeping the director's
//! state), for both releases: a first run applies every step in order, a second changes nothing,
//! the nova settings drifted on a compute node are put back in place, a run killed during the
//! deploy continues and runs nothing twice, a failing deploy prints the release's diagnostics
//! and the command that continues.

use crate::support::{run_ok, Lab};
use crate::tripleo::releases_code;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn harness() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/director.sh")
}

/// A stand-in director of this test's own, stopped (with what its sessions left) on drop.
pub struct Director {
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Director {
    pub fn start(release: &str) -> Director {
        let env = releases_code();
        let key = release.replace('.', "_");
        // The director's users (stack among them) must reach its folder.
        let dir = tempfile::Builder::new()
            .prefix("labsh-director-")
            .tempdir_in("/tmp")
            .unwrap();
        Command::new("chmod")
            .arg("0755")
            .arg(dir.path())
            .status()
            .unwrap();
        let from =
            23100 + (std::process::id() % 300) as u16 + if release == "13" { 0 } else { 300 };
        let port = (from..from + 300)
            .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .unwrap();
        let mut c = Command::new("bash");
        c.arg(harness())
            .args(["start", &dir.path().display().to_string(), release])
            .args([
                &env[&format!("THT_{key}")],
                &env[&format!("PARSERS_{key}")],
                &env[&format!("TC_{key}")],
            ])
            .arg(port.to_string());
        run_ok(&mut c, "the stand-in director did not start");
        Director { dir, port }
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub(crate) fn flags(&self, json: &str) {
        std::fs::write(self.path("flags.json"), json).unwrap();
    }

    pub(crate) fn state(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path("state.json")).unwrap()).unwrap()
    }

    /// The commands the director ran that change it (reads aside), as "prog args".
    fn changes(&self) -> Vec<String> {
        let reads = [
            "baremetal node list",
            "baremetal introspection list",
            "image list",
            "stack list",
            "stack failures list",
            "server list",
            "overcloud profiles list",
            "overcloud status",
        ];
        std::fs::read_to_string(self.path("log.jsonl"))
            .unwrap()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["rc"] == 0)
            .map(|e| {
                let args: Vec<String> = e["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect();
                format!("{} {}", e["prog"].as_str().unwrap(), args.join(" "))
            })
            .filter(|c| {
                let w: Vec<&str> = c.split_whitespace().collect();
                match w[0] {
                    "openstack" => !reads
                        .iter()
                        .any(|r| c.starts_with(&format!("openstack {r}"))),
                    "hostnamectl" => w.get(1) == Some(&"set-hostname"),
                    "subscription-manager" => c.contains("--enable="),
                    "yum" | "dnf" | "docker" | "systemctl" => true,
                    _ => false,
                }
            })
            .collect()
    }

    /// The target file that reaches it.
    pub(crate) fn target(&self, lab: &Lab) -> PathBuf {
        lab.file(
            "director.yaml",
            &format!(
                "libvirt_uri: test:///default\nundercloud:\n  host: 127.0.0.1\n  port: {}\n  identity: {}\n  options: [\"StrictHostKeyChecking=no\", \"UserKnownHostsFile=/dev/null\", \"LogLevel=ERROR\"]\ncluster: {{offline: true}}\n# The overcloud the stand-in records has no API: no cloud for the installer's checks.\ncloud: {{openrc: out/no-overcloud/overcloudrc}}\n",
                self.port,
                self.path("clientkey").display()
            ),
        )
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(harness())
            .args(["stop", &self.dir.path().display().to_string()])
            .status();
    }
}

/// The test's variant of the seed for `release`: small OSD disks for this machine, quick looks
/// at the director, the subscription's repositories as the director_repos hook (converging), and
/// `extra` (more overrides).
fn variant(lab: &Lab, release: &str, extra: &str) -> PathBuf {
    let (repos, more) = if release == "13" {
        (
            r#"["rhel-7-server-rpms", "rhel-7-server-openstack-13-rpms", "rhel-7-server-rhceph-3-tools-rpms"]"#,
            "",
        )
    } else {
        (
            r#"["rhel-9-for-x86_64-baseos-eus-rpms", "openstack-17.1-for-rhel-9-x86_64-rpms"]"#,
            r#", base_image: #{ name: "rhel9-guest.qcow2" }"#,
        )
    };
    let reg = if release == "13" {
        ""
    } else {
        r#", registry_user: "123|lab""#
    };
    lab.file(
        "profiles/director-test.rhai",
        &format!(
            r#"fn overrides() {{
    #{{ name: "dirtest", undercloud: #{{ poll_seconds: 0.1 }}, vms: #{{ ceph: #{{ osd_disks: ["1G"] }} }},
       overcloud: #{{ release: "{release}"{reg}{extra} }}{more} }}
}}
/// The test's subscription.
fn director_repos(p, admin) {{
    let have = ssh::run(admin, "subscription-manager repos --list-enabled", #{{ read: true, quiet: true }}).stdout;
    let missing = {repos}.filter(|r| !have.contains(`Repo ID:   ${{r}}`));
    if !missing.is_empty() {{ ssh::run(admin, "subscription-manager repos" + missing.reduce(|a, r| a + " --enable=" + r, "")); }}
}}
"#
        ),
    )
}

pub(crate) struct Run<'a> {
    lab: &'a Lab,
    director: &'a Director,
    pub(crate) profile: PathBuf,
    pub(crate) uri: String,
    pub(crate) images: PathBuf,
}

impl<'a> Run<'a> {
    pub(crate) fn new(lab: &'a Lab, director: &'a Director, release: &str) -> Run<'a> {
        let host = lab.work().join("host.xml");
        let uri = lab.run(["-e", &format!("virt::sandbox_host(\"{}\")", host.display())]);
        uri.ok();
        let images = lab.work().join("images");
        std::fs::create_dir_all(images.join("ssd")).unwrap();
        Run {
            lab,
            director,
            profile: variant(lab, release, ""),
            uri: uri.stdout.trim().to_string(),
            images,
        }
    }

    pub(crate) fn args(&self, extra: &[&str]) -> Vec<String> {
        let lab_rhai = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lab.rhai");
        let mut a: Vec<String> = vec![
            "run".into(),
            lab_rhai.display().to_string(),
            "--target".into(),
            self.director.target(self.lab).display().to_string(),
            "--profile".into(),
            self.profile.display().to_string(),
            "--set".into(),
            format!("uri={}", self.uri),
            "--set".into(),
            format!("images={}", self.images.display()),
        ];
        for s in ["preflight", "l0", "l1", "undercloud", "overcloud"] {
            a.push("--only".into());
            a.push(s.into());
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    pub(crate) fn run(&self, extra: &[&str]) -> crate::support::Out {
        self.lab
            .labsh()
            .args(self.args(extra))
            .env("LABSH_SECRET_REGISTRY_PASSWORD", "registry-pw-of-the-test")
            .run()
    }
}

/// The stage recap of a --json run: (changed, failed) of `stage`.
fn recap(out: &crate::support::Out, stage: &str) -> (u64, u64) {
    let r = out.json_lines().pop().unwrap();
    let s = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == stage)
        .unwrap()
        .clone();
    (
        s["changed"].as_u64().unwrap(),
        s["failed"].as_u64().unwrap(),
    )
}

fn the_director_converges_continues_and_explains(
    release: &str,
    first_steps: &[&str],
    failure: &[&str],
) {
    let d = Director::start(release);
    let lab = Lab::new();
    let run = Run::new(&lab, &d, release);

    // First run: every step of the release, in its order.
    run.run(&[]).ok();
    let changes = d.changes();
    let mut at = 0;
    for want in first_steps {
        let found = changes[at..].iter().position(|c| c.starts_with(want));
        assert!(
            found.is_some(),
            "{want:?} not run (in order) after {:?}:\n{changes:#?}",
            changes.get(at.saturating_sub(1))
        );
        at += found.unwrap() + 1;
    }
    // The director is prepared for real: its stack user, sudo for it, the host name.
    let passwd = std::fs::read_to_string(d.path("fs/etc/upper/passwd")).unwrap();
    assert!(passwd.contains("stack:x:"), "{passwd}");
    assert!(d.path("fs/etc/upper/sudoers.d/stack").exists());
    assert_eq!(d.state()["hostname"], "undercloud.redhat.local");
    // overcloudrc fetched back; each long step's log in the output folder.
    let out = lab.state().join("out/director/dirtest");
    assert!(std::fs::read_to_string(out.join("overcloudrc"))
        .unwrap()
        .contains("OS_AUTH_URL"));
    let deploy_log = std::fs::read_to_string(out.join("logs/overcloud-deploy.log")).unwrap();
    assert!(
        deploy_log.contains(if release == "13" {
            "Overcloud Deployed"
        } else {
            "Overcloud Deployed successfully"
        }),
        "{deploy_log}"
    );
    // The nova settings came with the deploy's templates: nova.conf has them, nothing restarted.
    let servers = d.state()["servers"].as_array().unwrap().clone();
    let compute = servers.iter().find(|s| s["role"] == "Compute").unwrap()["ip"]
        .as_str()
        .unwrap()
        .to_string();
    let conf = d.path(&format!(
        "nodes/{compute}/var/lib/config-data/puppet-generated/nova_libvirt/etc/nova/nova.conf"
    ));
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("[neutron]")
            && text.contains("timeout=300")
            && text.contains("vif_plugging_timeout=300"),
        "{text}"
    );
    assert!(
        text.contains("cpu_allocation_ratio=16.0")
            && text.contains("ram_allocation_ratio=1.5")
            && text.contains("reserved_host_memory_mb=4096"),
        "{text}"
    );

    // Second run: nothing changes, nothing more runs on the director.
    let before = d.changes().len();
    let second = run.run(&["--json"]);
    second.ok();
    for st in ["undercloud", "overcloud"] {
        assert_eq!(
            recap(&second, st),
            (0, 0),
            "{st} changed on the second run:\n{}",
            second.stderr
        );
    }
    assert_eq!(d.changes().len(), before, "{:#?}", &d.changes()[before..]);

    // The article's edit undone on the node (as a redeploy without the templates would): put back
    // in place, nova_compute restarted once; then nothing again.
    std::fs::write(&conf, text.replace("timeout=300", "timeout=30")).unwrap();
    run.run(&[]).ok();
    let fixed = std::fs::read_to_string(&conf).unwrap();
    assert!(
        fixed.contains("timeout = 300") || fixed.contains("timeout=300\n"),
        "{fixed}"
    );
    let restarts = |d: &Director| {
        d.state()["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["ip"] == compute.as_str())
            .unwrap()["restarts"]
            .clone()
    };
    let want_restart = if release == "13" {
        "nova_compute"
    } else {
        "tripleo_nova_compute"
    };
    assert_eq!(restarts(&d), serde_json::json!([want_restart]));
    run.run(&[]).ok();
    assert_eq!(
        restarts(&d),
        serde_json::json!([want_restart]),
        "restarted again"
    );

    // A changed template redeploys. Killed while the deploy runs: the deploy goes on on the
    // director, the next run follows it and runs nothing twice. The deploy lasts long enough
    // for the continuing run to reach it while still running on a loaded machine.
    d.flags(r#"{"deploy_seconds": 15}"#);
    let run2 = Run { profile: variant(&lab, release, ", nova: #{ cpu_allocation_ratio: 8.0, ram_allocation_ratio: 1.5, reserved_host_memory_mib: 4096 }"), ..run };
    let deploys = d.state()["deploys"].as_u64().unwrap();
    let mut child = lab
        .labsh()
        .args(run2.args(&[]))
        .env("LABSH_SECRET_REGISTRY_PASSWORD", "registry-pw-of-the-test")
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while d.state()["deploys"].as_u64().unwrap() == deploys {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the redeploy did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let before = d.changes().len();
    let cont = run2.run(&["--json"]);
    cont.ok();
    assert_eq!(
        d.state()["deploys"].as_u64().unwrap(),
        deploys + 1,
        "the deploy ran twice"
    );
    let after = d.changes();
    assert_eq!(
        after.len(),
        before + 1,
        "more than the deploy's end ran: {:#?}",
        &after[before..]
    );
    assert!(
        after[before].starts_with("openstack overcloud deploy"),
        "{:#?}",
        &after[before..]
    );
    let followed = cont.json_lines().into_iter().any(|e| {
        e["op"] == "ssh.job"
            && e["target"].as_str().unwrap().ends_with("overcloud-deploy")
            && e["args"]["running"] == true
    });
    assert!(
        followed,
        "the continuing run did not follow the running deploy:\n{}",
        cont.stdout
    );
    let conf_now = std::fs::read_to_string(&conf).unwrap();
    assert!(conf_now.contains("cpu_allocation_ratio=8.0"), "{conf_now}");

    // A deploy that fails: the release's own diagnostics and the command that continues.
    d.flags(r#"{"deploy_seconds": 0.3, "fail_deploy": 1}"#);
    let run3 = Run { profile: variant(&lab, release, ", nova: #{ cpu_allocation_ratio: 4.0, ram_allocation_ratio: 1.5, reserved_host_memory_mib: 4096 }"), ..run2 };
    let failed = run3.run(&[]);
    failed.code(1);
    for f in failure {
        assert!(
            failed.stderr.contains(f),
            "the failure does not show {f:?}:\n{}",
            failed.stderr
        );
    }
    assert!(
        failed
            .stderr
            .contains("stage 'overcloud' failed; to continue from it:")
            && failed.stderr.contains("--from overcloud"),
        "{}",
        failed.stderr
    );
    // The command it gives continues: the deploy runs again and succeeds.
    let line = failed
        .stderr
        .lines()
        .skip_while(|l| !l.contains("to continue from it:"))
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    let words: Vec<String> = line
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    lab.labsh()
        .args(&words)
        .env("LABSH_SECRET_REGISTRY_PASSWORD", "registry-pw-of-the-test")
        .run()
        .ok();
    assert_eq!(d.state()["deploys"].as_u64().unwrap(), deploys + 3);
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("cpu_allocation_ratio=4.0"));
}

#[test]
fn osp13_the_director_converges_continues_after_a_kill_and_explains_a_failed_deploy() {
    the_director_converges_continues_and_explains(
        "13",
        &[
            "hostnamectl set-hostname undercloud.redhat.local",
            "subscription-manager repos --enable=rhel-7-server-rpms",
            "yum install -y python-tripleoclient ceph-ansible",
            "openstack undercloud install",
            "yum install -y rhosp-director-images rhosp-director-images-ipa",
            "openstack overcloud image upload --image-path /home/stack/images/",
            "openstack overcloud container image prepare",
            "openstack overcloud container image upload",
            "openstack overcloud node import /home/stack/instackenv.json",
            "openstack overcloud node introspect --all-manageable --provide",
            "openstack overcloud deploy --templates /usr/share/openstack-tripleo-heat-templates --stack overcloud",
        ],
        &[
            "the overcloud deploy failed (exit code 1)",
            "openstack stack failures list overcloud:",
            "overcloud.AllNodesDeploySteps.ControllerDeployment_Step5:",
            "status: UPDATE_FAILED",
        ],
    );
}

#[test]
fn osp17_1_the_director_converges_continues_after_a_kill_and_explains_a_failed_deploy() {
    the_director_converges_continues_and_explains(
        "17.1",
        &[
            "hostnamectl set-hostname undercloud.redhat.local",
            "subscription-manager repos --enable=rhel-9-for-x86_64-baseos-eus-rpms",
            "dnf install -y python3-tripleoclient",
            "openstack undercloud install",
            "dnf install -y rhosp-director-images-uefi-x86_64 rhosp-director-images-ipa-x86_64",
            "openstack overcloud image upload --image-path /home/stack/images/ --whole-disk",
            "openstack overcloud node import /home/stack/instackenv.json",
            "openstack overcloud node introspect --all-manageable --provide",
            "openstack overcloud network provision",
            "openstack overcloud network vip provision",
            "openstack overcloud node provision --stack overcloud --network-config",
            "openstack overcloud ceph deploy",
            "openstack overcloud deploy --templates /usr/share/openstack-tripleo-heat-templates --stack overcloud --deployed-server",
        ],
        &[
            "the overcloud deploy failed on the director (exit code 1)",
            "failed Ansible task \"Run puppet host configuration for step 5\" on overcloud-controller-0",
            "Ansible execution failed. playbook:",
        ],
    );
}
