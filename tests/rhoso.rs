//! RHOSO 18.0 (`overcloud.release: "18.0"`, profiles/rhoso.rhai) through the real binary: the
//! plan shows the substrate, control-plane and data-plane stages with every custom resource they
//! would apply and is the run's, stage by stage; a run on the sandbox plans what needs the
//! substrate and shows no password; a profile RHOSO refuses names its file and key, and nothing
//! is made. The resources themselves are checked against the operators' CRD schemas in
//! tests/rhai/rhoso_test.rhai.

use crate::support::Lab;

/// The CA bundle the stand-in's control plane holds in Secret combined-ca-bundle (a shape, not a
/// certificate anything trusts).
const CA_BUNDLE: &str = "-----BEGIN CERTIFICATE-----\nMIIBstandinRootCAofTheRHOSOtestsOnly\n-----END CERTIFICATE-----\n";

/// On the sandbox (no substrate, no EDPM nodes) a RHOSO run goes through every stage: what
/// needs the substrate is planned, each resource applied shown by kind and name, osp-secret's
/// keys shown and none of the passwords labsh generated for it, in its output or its journal.
#[test]
fn a_rhoso_run_on_the_sandbox_plans_what_needs_the_substrate_and_shows_no_password() {
    let lab = Lab::new();
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "rhoso"])
        .run();
    o.ok()
        .stderr_has("planned  oc.apply OpenStackControlPlane/openstack-control-plane -n openstack")
        .stderr_has("planned  oc.apply Secret/osp-secret -n openstack {\"keys\":[\"AdminPassword\"")
        .stderr_has("planned  ssh.run cloud-admin@172.16.0.100: sudo cephadm bootstrap --mon-ip 172.17.3.100")
        .stdout_has("plan: dataplane: nova-manage cell_v2 discover_hosts --verbose in openstack/nova-cell0-conductor-0");
    for stage in ["controlplane", "dataplane", "tenant", "ocp", "verify"] {
        assert!(
            o.stderr.contains(&format!("── {stage}")),
            "{stage}: {}",
            o.stderr
        );
    }
    // The passwords were made and kept in labsh's secret store, and are shown nowhere.
    let secrets = std::fs::read_to_string(lab.state().join("secrets")).unwrap();
    let values: Vec<&str> = secrets
        .lines()
        .filter(|l| l.starts_with("rhoso-"))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v))
        .collect();
    assert_eq!(values.len(), 27, "{secrets}");
    let mut journals = String::new();
    for (path, _) in lab.state_files() {
        if path.starts_with(lab.state().join("runs")) {
            journals += &std::fs::read_to_string(&path).unwrap_or_default();
        }
    }
    assert!(!journals.is_empty());
    for v in values {
        for (what, text) in [
            ("stdout", &o.stdout),
            ("stderr", &o.stderr),
            ("journal", &journals),
        ] {
            assert!(!text.contains(v), "a password in the {what}");
        }
    }
}

/// The plan of a fresh RHOSO lab is its run on the sandbox, stage by stage: the same operations
/// on the same targets, planned in the plan, changed or planned in the run (as tests/lab.rs
/// checks for the TripleO profiles).
#[test]
fn the_plan_of_the_rhoso_lab_is_its_run() {
    use std::collections::BTreeMap;
    let lab = Lab::new();
    let count = |out: &crate::support::Out, outcomes: &[&str]| {
        let mut m: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for e in out.json_lines() {
            if e["event"] == "effect" && outcomes.contains(&e["outcome"].as_str().unwrap()) {
                let k = (
                    e["stage"].as_str().unwrap().to_string(),
                    e["op"].as_str().unwrap().to_string(),
                    e["target"].as_str().unwrap().to_string(),
                );
                *m.entry(k).or_default() += 1;
            }
        }
        m
    };
    let plan = lab
        .run_script("lab.rhai")
        .args(["--plan", "--json", "--profile", "rhoso"])
        .run();
    plan.ok();
    let planned = count(&plan, &["planned"]);
    let run = lab
        .run_script("lab.rhai")
        .args(["--json", "--profile", "rhoso"])
        .run();
    run.ok();
    let done = count(&run, &["changed", "planned"]);
    for stage in ["controlplane", "dataplane", "tenant"] {
        assert!(
            planned.keys().filter(|k| k.0 == stage).count() > 5,
            "{stage}: {planned:?}"
        );
    }
    assert_eq!(planned, done, "the plan is not the run");
}

#[test]
fn the_rhoso_plan_shows_its_stages_and_the_resources_each_would_apply() {
    let lab = Lab::new();
    let o = lab
        .run_script("lab.rhai")
        .args(["--profile", "rhoso", "--plan", "--json"])
        .run();
    o.ok();
    let lines = o.json_lines();
    let writes: Vec<String> = lines
        .iter()
        .filter(|l| l["event"] == "effect" && l["op"] == "file.write" && l["outcome"] == "planned")
        .filter_map(|l| l["target"].as_str().map(String::from))
        .filter(|t| t.contains("/rhoso/rhoso/"))
        .collect();
    for kind in [
        "controlplane-01-OperatorGroup-kubernetes-nmstate-operator.yaml",
        "Subscription-openstack-operator.yaml",
        "NodeNetworkConfigurationPolicy-rhoso-ocp01-osp.yaml",
        "NetworkAttachmentDefinition-octavia.yaml",
        "IPAddressPool-internalapi.yaml",
        "L2Advertisement-internalapi.yaml",
        "NetConfig-netconfig.yaml",
        "OpenStackControlPlane-openstack-control-plane.yaml",
        "dataplane-01-OpenStackDataPlaneNodeSet-openstack-edpm.yaml",
        "OpenStackDataPlaneDeployment-openstack-edpm-post-ceph.yaml",
    ] {
        assert!(
            writes.iter().any(|w| w.ends_with(kind)),
            "{kind} in {writes:?}"
        );
    }
    assert_eq!(writes.len(), 31, "{writes:?}");
    let out: String = lines
        .iter()
        .filter(|l| l["event"] == "print")
        .filter_map(|l| l["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for said in ["plan: substrate: the OpenShift 4.18 substrate (sno: [\"rhoso-ocp01\"]) by the agent-based installer",
                 "plan: dataplane: nova-manage cell_v2 discover_hosts --verbose in openstack/nova-cell0-conductor-0",
                 "plan: ceph: the cluster's fsid is read from"] {
        assert!(out.contains(said), "{said} in {out}");
    }
    // Preflight on the article's host: the lab fits.
    let memory = lines
        .iter()
        .find(|l| l["check"] == "memory")
        .map(|l| l["status"].clone());
    if let Some(status) = memory {
        assert_eq!(status, "pass");
    }
    assert!(
        !lab.state()
            .join("sandbox")
            .join("rhoso")
            .join("host.xml")
            .exists(),
        "a plan makes nothing"
    );
}

#[test]
fn a_profile_rhoso_refuses_names_its_file_and_key_and_nothing_is_made() {
    let lab = Lab::new();
    let cases = [
        ("release", "overcloud: #{ release: \"18.1\" }",
         "profiles/release.rhai: overcloud.release: \"18.1\" is not a release labsh knows"),
        ("nics", "vms: #{ compute: #{ nics: [\"provisioning\", \"default\"] } }",
         "profiles/nics.rhai: vms.compute.nics: 2 NIC(s), and the EDPM network template names nic1-nic4"),
        ("trunk", "rhoso: #{ trunk_vlans: [20, 30, 40, 50] }",
         "profiles/trunk.rhai: rhoso.trunk_vlans: VLAN 60 of rhoso.octavia is missing from the substrate's trunk"),
        ("octavia", "rhoso: #{ octavia: #{ enabled: false } }",
         "profiles/octavia.rhai: rhoso.octavia.enabled: false, and rhoso.load_balancers asks for them"),
        ("small", "vms: #{ ocp: #{ memory_mib: 16384 } }",
         "profiles/small.rhai: vms.ocp.memory_mib: 16384 MiB is below the 32768 MiB a single-node OpenShift needs"),
        ("octvlan", "rhoso: #{ octavia: #{ vlan: 20 } }",
         "profiles/octvlan.rhai: rhoso.octavia.vlan: 20 is the VLAN of overcloud.networks.internal_api too"),
        ("smallnet", "overcloud: #{ networks: #{ storage: #{ cidr: \"172.17.3.0/26\", pool: [\"172.17.3.40\", \"172.17.3.50\"] } } }",
         "profiles/smallnet.rhai: overcloud.networks.storage.cidr: 172.17.3.0/26 is too small for a RHOSO lab"),
    ];
    for (name, over, want) in cases {
        lab.file(
            &format!("profiles/{name}.rhai"),
            &format!("fn overrides() {{ #{{ base: \"rhoso\", {over} }} }}\n"),
        );
        let o = lab
            .run_script("lab.rhai")
            .args(["--profile", &format!("profiles/{name}.rhai"), "--plan"])
            .run();
        o.code(1).stderr_has(want);
        assert!(
            !lab.state().join("sandbox").exists(),
            "{name}: nothing made"
        );
    }
}

/// The EDPM network template, rendered with each node's variables as the OpenStack operator's
/// inventory gives them (rhoso::edpm_template_vars) the way edpm-ansible renders it (Jinja with
/// Ansible's lookup('vars'), tests/harness/tripleo/check.py j2-nic), passes os-net-config --noop
/// in a namespace with the VM's four NICs: nic1 on ctlplane, the OVS bond of nic3 and nic4 under
/// br-ex, a VLAN port with the node's address for each network. The os-net-config is the
/// harness's newest (14.2.0, Wallaby's); RHOSO 18.0's EDPM nodes run a later one.
#[test]
fn the_edpm_network_template_passes_os_net_config_with_the_bond_and_a_vlan_per_network() {
    let env = crate::tripleo::releases_code();
    let tools_py = format!("{}/venv-tools/bin/python", env["TRIPLEO_CACHE"]);
    let harness = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness");
    let lab = Lab::new();
    let dir = lab.work();
    let script = lab.file(
        "edpm.rhai",
        &format!(
            "import \"rhoso\" as rhoso;\nlet p = rhoso::example();\nfiles::write({:?}, rhoso::edpm_network_template(p));\nfor i in 0..3 {{ files::write_json(`{}/vars-${{i}}.json`, rhoso::edpm_template_vars(p, i)); }}\n",
            dir.join("edpm.j2").display().to_string(),
            dir.display()
        ),
    );
    lab.run_file(&script).ok();
    for i in 0..3 {
        let rendered = std::process::Command::new(&tools_py)
            .arg(harness.join("tripleo/check.py"))
            .args(["j2-nic", &dir.join("edpm.j2").display().to_string()])
            .arg(dir.join(format!("vars-{i}.json")))
            .output()
            .unwrap();
        assert!(
            rendered.status.success(),
            "{}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        let cfg = lab.file(
            &format!("onc-{i}.json"),
            &String::from_utf8_lossy(&rendered.stdout),
        );
        let out = std::process::Command::new("bash")
            .arg(harness.join("onc-noop.sh"))
            .args([env["ONC_17_1"].as_str(), &cfg.display().to_string(), "4"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "node {i}: {text}");
        assert!(
            text.contains(&format!("IPADDR=172.16.0.{}", 100 + i)),
            "node {i}: {text}"
        );
        assert!(
            text.contains("TYPE=OVSBond") && text.contains("BOND_IFACES=\"eth2 eth3\""),
            "node {i}: {text}"
        );
        for (vlan, addr) in [
            (20, "172.17.1"),
            (30, "172.17.3"),
            (40, "172.17.4"),
            (50, "172.17.2"),
        ] {
            assert!(
                text.contains(&format!("ifcfg-vlan{vlan}"))
                    && text.contains(&format!("OVS_OPTIONS=\"tag={vlan}\""))
                    && text.contains(&format!("IPADDR={addr}.{}", 100 + i)),
                "node {i}: VLAN {vlan}: {text}"
            );
        }
    }
}

/// A RHOSO lab against the Kubernetes API stand-in (tests/harness/kubeapi.py): its substrate's
/// kubeconfig given by the target file (no install), no EDPM nodes to reach (edpm.offline: Ceph
/// and what follows it planned), no cloud or cluster. The profile is rhoso with its waits looking
/// at once; the openstack-config ConfigMap the keystone operator would make is put there first.
struct StandIn {
    lab: Lab,
    data: std::path::PathBuf,
    target: std::path::PathBuf,
    kubeconfig: std::path::PathBuf,
    _api: crate::support::Spawned,
}

impl StandIn {
    fn new(progress: &str) -> StandIn {
        StandIn::with_edpm(progress, "{offline: true}")
    }

    /// As `new`, the target file's `edpm:` being `edpm` (YAML).
    fn with_edpm(progress: &str, edpm: &str) -> StandIn {
        let lab = Lab::new();
        let data = lab.work().join("kubeapi");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("progress.json"), progress).unwrap();
        let (child, port) = crate::support::spawn_and_read_line(
            std::process::Command::new("python3")
                .arg(crate::support::root().join("tests/harness/kubeapi.py"))
                .arg(&data),
        );
        let api = crate::support::Spawned(child);
        let kubeconfig = lab.file(
            "substrate/kubeconfig",
            &format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"http://127.0.0.1:{}\"}}\n  name: substrate\ncontexts:\n- context: {{cluster: substrate, user: admin}}\n  name: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user: {{token: stand-in}}\n",
                port.trim()
            ),
        );
        let target = lab.file(
            "standin.yaml",
            &format!(
                "libvirt_uri: \"test:///default\"\nimages: {}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\nedpm: {}\nsubstrate: {{kubeconfig: {}}}\n",
                lab.work().join("images").display(),
                edpm,
                kubeconfig.display()
            ),
        );
        lab.file(
            "profiles/rhoso-now.rhai",
            "fn overrides() { #{ base: \"rhoso\", rhoso: #{ wait_interval: 0 } } }\n",
        );
        // The lab's ssh key, which the EDPM nodes accept (the profile's ocp.ssh_public_key).
        let ssh = lab.home().join(".ssh");
        std::fs::create_dir_all(&ssh).unwrap();
        let kg = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(ssh.join("id_rsa"))
            .status()
            .unwrap();
        assert!(kg.success());
        let s = StandIn {
            lab,
            data,
            target,
            kubeconfig,
            _api: api,
        };
        s.kubectl_apply("{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"openstack\"}}");
        // The CA bundle of the control plane's routes, as the OpenStack operator makes it.
        s.kubectl_apply(&format!("{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{\"name\": \"combined-ca-bundle\", \"namespace\": \"openstack\"}}, \"stringData\": {{\"tls-ca-bundle.pem\": {}}}}}", serde_json::json!(CA_BUNDLE)));
        s.kubectl_apply("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"openstack-config\", \"namespace\": \"openstack\"}, \"data\": {\"clouds.yaml\": \"clouds:\\n  default:\\n    auth:\\n      auth_url: https://keystone-public-openstack.apps.rhoso.example.com\\n      project_name: admin\\n      username: admin\\n      user_domain_name: Default\\n      project_domain_name: Default\\n    region_name: regionOne\\n\"}}");
        s
    }

    /// The fields `jsonpath` picks of the OpenStack operator's Subscription, as kubectl reads
    /// them from the stand-in.
    fn operator_subscription(&self, jsonpath: &str) -> String {
        let jp = format!("jsonpath={jsonpath}");
        self.kubectl(
            &[
                "get",
                "subscription.v1alpha1.operators.coreos.com",
                "openstack-operator",
                "-n",
                "openstack-operators",
                "-o",
                &jp,
            ],
            None,
        )
    }

    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut c = std::process::Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.lab.home())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut si = c.stdin.take().unwrap();
        si.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(si);
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn kubectl_apply(&self, json: &str) {
        self.kubectl(
            &[
                "apply",
                "--server-side",
                "--field-manager=test",
                "--validate=false",
                "-f",
                "-",
            ],
            Some(json),
        );
    }

    /// The lines of the stand-in's writes.log: VERB Kind ns/name result.
    fn writes(&self) -> Vec<String> {
        std::fs::read_to_string(self.data.join("writes.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn run(&self, extra: &[&str]) -> crate::support::Labsh<'_> {
        let mut args = vec![
            "--profile",
            "profiles/rhoso-now.rhai",
            "--target",
            self.target.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.lab.run_script("lab.rhai").args(args)
    }
}

/// Each object labsh created on the stand-in (`Kind ns/name`), as often as it was created.
fn created(writes: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for w in writes {
        let f: Vec<&str> = w.split_whitespace().collect();
        if f.len() == 4 && f[3] == "created" {
            *m.entry(format!("{} {}", f[1], f[2])).or_default() += 1;
        }
    }
    m
}

/// The control plane and the data plane applied on the stand-in: every resource created once,
/// each wait passed through its conditions in progress to Ready, the passwords given to the
/// cluster and shown nowhere, the cloud's clouds.yaml and secure.yaml written; a second run
/// writes nothing.
#[test]
fn the_control_plane_and_data_plane_are_applied_once_on_the_stand_in_and_a_second_run_writes_nothing(
) {
    let s = StandIn::new("2");
    let before = s.writes().len();
    let o = s
        .run(&["--only", "controlplane", "--only", "dataplane"])
        .run();
    o.ok();
    let writes = s.writes()[before..].to_vec();
    let made = created(&writes);
    for obj in [
        "Namespace /openstack-operators",
        "Subscription openstack-operators/openstack-operator",
        "MetalLB metallb-system/metallb",
        "NodeNetworkConfigurationPolicy /rhoso-ocp01-osp",
        "Secret openstack/osp-secret",
        "OpenStackControlPlane openstack/openstack-control-plane",
        "Secret openstack/nova-migration-ssh-key",
        "OpenStackDataPlaneNodeSet openstack/openstack-edpm",
        "OpenStackDataPlaneDeployment openstack/openstack-edpm-pre-ceph",
    ] {
        assert_eq!(made.get(obj), Some(&1), "{obj} in {writes:#?}");
    }
    assert!(made.values().all(|n| *n == 1), "{made:#?}");
    assert_eq!(made.len(), writes.len(), "only creations: {writes:#?}");
    // Ceph and what follows it need the EDPM nodes: planned, not applied.
    assert!(!made.contains_key("Secret openstack/ceph-conf-files"));
    o.stderr_has("planned  oc.apply Secret/ceph-conf-files -n openstack")
        .stderr_has(
            "planned  oc.apply OpenStackDataPlaneDeployment/openstack-edpm-post-ceph -n openstack",
        );
    // The waits saw the conditions in progress, then Ready.
    o.stderr_has("wait openstackcontrolplane.v1beta1.core.openstack.org/openstack-control-plane -n openstack (")
        .stderr_has("Ready False (Requested): Setup started")
        .stderr_has("wait clusterserviceversion.v1alpha1.operators.coreos.com/")
        .stderr_has("status.phase Succeeded");
    // The passwords: the cluster has them, no output shows them.
    let secrets = std::fs::read_to_string(s.lab.state().join("secrets")).unwrap();
    let admin = secrets
        .lines()
        .find_map(|l| l.strip_prefix("rhoso-AdminPassword="))
        .unwrap()
        .to_string();
    let stored: serde_json::Value = serde_json::from_str(&s.kubectl(
        &[
            "get",
            "secret",
            "osp-secret",
            "-n",
            "openstack",
            "-o",
            "json",
        ],
        None,
    ))
    .unwrap();
    use base64::Engine as _;
    assert_eq!(
        stored["data"]["AdminPassword"],
        base64::engine::general_purpose::STANDARD.encode(&admin)
    );
    assert!(!o.stdout.contains(&admin) && !o.stderr.contains(&admin));
    // The cloud's credentials where the tenant stage reads them.
    let out = s.lab.state().join("out/standin/rhoso/rhoso/cloud");
    let clouds = std::fs::read_to_string(out.join("clouds.yaml")).unwrap();
    assert!(
        clouds.contains("keystone-public-openstack.apps.rhoso.example.com"),
        "{clouds}"
    );
    // Its endpoints checked against the control plane's CA bundle, kept beside it.
    let ca = out.join("tls-ca-bundle.pem");
    assert_eq!(std::fs::read_to_string(&ca).unwrap(), CA_BUNDLE);
    assert!(
        clouds.contains(&format!("cacert: {}", ca.display())),
        "{clouds}"
    );
    let secure = out.join("secure.yaml");
    assert!(std::fs::read_to_string(&secure).unwrap().contains(&admin));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secure).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let again = s
        .run(&["--only", "controlplane", "--only", "dataplane"])
        .run();
    again.ok();
    assert_eq!(
        s.writes().len(),
        before + writes.len(),
        "a second run wrote: {:#?}",
        &s.writes()[before + writes.len()..]
    );
    assert!(
        !again.stderr.contains("changed  oc.apply"),
        "{}",
        again.stderr
    );
}

/// A run stopped (SIGTERM) while it waits for the control plane continues with the command it
/// names, and finishes with nothing created twice.
#[test]
fn a_run_stopped_during_the_control_planes_wait_continues_and_creates_nothing_twice() {
    use std::io::BufRead;
    let s =
        StandIn::new("{\"reads\": 0, \"OpenStackControlPlane/openstack-control-plane\": 1000000}");
    let mut c = s
        .run(&["--only", "controlplane", "--only", "dataplane"])
        .command();
    let mut child = c
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let mut lines = vec![];
    for line in std::io::BufReader::new(err).lines() {
        let line = line.unwrap();
        let waiting = line.contains("wait openstackcontrolplane");
        lines.push(line);
        if waiting {
            let k = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(k.success());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "{lines:#?}");
    let text = lines.join("\n");
    assert!(
        text.contains("stage 'controlplane' was terminated"),
        "{text}"
    );
    let cont = lines
        .iter()
        .skip_while(|l| !l.contains("to continue from it"))
        .nth(1)
        .map(|l| l.trim().to_string())
        .unwrap_or_default();
    assert!(
        cont.ends_with("--only controlplane --only dataplane --from controlplane"),
        "{text}"
    );
    let first = s.writes();
    assert!(first
        .iter()
        .any(|w| w.contains("OpenStackControlPlane openstack/openstack-control-plane created")));
    // The control plane gets ready; the run goes on from the stage it stopped in.
    std::fs::write(s.data.join("progress.json"), "0").unwrap();
    let o = s
        .run(&[
            "--only",
            "controlplane",
            "--only",
            "dataplane",
            "--from",
            "controlplane",
        ])
        .run();
    o.ok();
    let all = s.writes();
    assert!(all.len() > first.len());
    let made = created(&all);
    assert!(made.values().all(|n| *n == 1), "{made:#?}");
    assert_eq!(
        made.get("OpenStackDataPlaneNodeSet openstack/openstack-edpm"),
        Some(&1)
    );
}

/// A condition the operator sets False with severity Error stops the wait at once with its
/// message and the command that continues; a profile RHOSO refuses writes nothing to the cluster.
#[test]
fn a_failed_condition_is_explained_with_its_message_and_the_command_that_continues() {
    let s = StandIn::new("0");
    std::fs::write(
        s.data.join("fail.json"),
        "{\"OpenStackControlPlane/openstack-control-plane\": {\"condition\": \"OpenStackControlPlaneKeystoneAPIReady\", \"reason\": \"Error\", \"message\": \"KeystoneAPI error occurred: keystone-db-sync failed\"}}",
    )
    .unwrap();
    let o = s
        .run(&["--only", "controlplane", "--only", "dataplane"])
        .run();
    o.code(1)
        .stderr_has("openstackcontrolplane.v1beta1.core.openstack.org/openstack-control-plane -n openstack: condition OpenStackControlPlaneKeystoneAPIReady is False with severity Error (Error): KeystoneAPI error occurred: keystone-db-sync failed")
        .stderr_has("--only controlplane --only dataplane --from controlplane");
    assert!(!s
        .writes()
        .iter()
        .any(|w| w.contains("OpenStackDataPlaneNodeSet")));

    let before = s.writes().len();
    s.lab.file(
        "profiles/small.rhai",
        "fn overrides() { #{ base: \"rhoso\", vms: #{ ocp: #{ memory_mib: 16384 } } } }\n",
    );
    s.lab
        .run_script("lab.rhai")
        .args([
            "--profile",
            "profiles/small.rhai",
            "--target",
            s.target.to_str().unwrap(),
            "--only",
            "controlplane",
        ])
        .run()
        .code(1)
        .stderr_has("profiles/small.rhai: vms.ocp.memory_mib: 16384 MiB is below the 32768 MiB");
    assert_eq!(s.writes().len(), before, "nothing written to the cluster");
}

/// An operator held at a version (rhoso.operator_csv): its Subscription starts at that CSV
/// with Manual approval; labsh approves the InstallPlan of that CSV (and only it), waits for it
/// and the CSV; a second run, the CSV installed, approves and writes nothing.
#[test]
fn an_operator_held_at_a_version_has_its_install_plan_approved_once() {
    let s = StandIn::new("0");
    s.lab.file(
        "profiles/rhoso-pin.rhai",
        "fn overrides() { #{ base: \"rhoso\", rhoso: #{ wait_interval: 0, operator_csv: #{ \"openstack-operator\": \"openstack-operator.v1.0.6\" } } } }\n",
    );
    let run = || {
        s.lab
            .run_script("lab.rhai")
            .args([
                "--profile",
                "profiles/rhoso-pin.rhai",
                "--target",
                s.target.to_str().unwrap(),
                "--only",
                "controlplane",
            ])
            .run()
    };
    let first = run();
    first.ok();
    let approvals: Vec<String> = s
        .writes()
        .into_iter()
        .filter(|w| w.contains("InstallPlan"))
        .collect();
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert!(
        approvals[0].starts_with("PATCH InstallPlan openstack-operators/install-")
            && approvals[0].ends_with(" changed"),
        "{approvals:?}"
    );
    let all = format!("{}{}", first.stdout, first.stderr);
    assert!(
        all.contains("of openstack-operator.v1.0.6 approved"),
        "{all}"
    );
    let csv = s.kubectl(
        &[
            "get",
            "clusterserviceversion.v1alpha1.operators.coreos.com",
            "openstack-operator.v1.0.6",
            "-n",
            "openstack-operators",
            "-o",
            "jsonpath={.status.phase}",
        ],
        None,
    );
    assert_eq!(csv.trim(), "Succeeded");
    let sub = s.operator_subscription("{.spec.installPlanApproval} {.spec.startingCSV}");
    assert_eq!(sub.trim(), "Manual openstack-operator.v1.0.6");
    let before = s.writes().len();
    let again = run();
    again.ok();
    assert_eq!(s.writes().len(), before, "a second run writes nothing");
    assert!(!format!("{}{}", again.stdout, again.stderr).contains("approved"));
}

/// A second run on a cluster whose operators are installed goes on when the InstallPlans that
/// installed them are gone (OLM keeps only the newest): nothing is waited for, nothing written.
#[test]
fn a_second_run_does_not_wait_for_install_plans_olm_has_cleaned_up() {
    let s = StandIn::new("0");
    s.run(&["--only", "controlplane"]).run().ok();
    let plan = s.operator_subscription("{.status.installPlanRef.name}");
    assert!(plan.trim().starts_with("install-"), "{plan}");
    s.kubectl(
        &[
            "delete",
            "installplan.v1alpha1.operators.coreos.com",
            plan.trim(),
            "-n",
            "openstack-operators",
        ],
        None,
    );
    let before = s.writes().len();
    let t0 = std::time::Instant::now();
    s.run(&["--only", "controlplane"]).run().ok();
    assert!(
        t0.elapsed().as_secs() < 120,
        "it waited for the plan that is gone"
    );
    let after: Vec<String> = s.writes().into_iter().skip(before).collect();
    assert!(
        after.iter().all(|w| w.starts_with("DELETE ")),
        "a second run wrote {after:?}"
    );
}

/// An API server that does not answer for a while during a wait (503 ServiceUnavailable, as
/// while it or an aggregated API restarts) is waited through, said in the wait's progress; the
/// stage goes on once it answers.
#[test]
fn a_wait_rides_over_an_api_server_that_does_not_answer_for_a_while() {
    let s = StandIn::new("0");
    // The OpenStackControlPlane's first GET (oc::apply's read before it writes) is served, the
    // next three (the wait's) are refused.
    std::fs::write(
        s.data.join("unavailable.json"),
        "{\"path\": \"openstackcontrolplanes/openstack-control-plane\", \"skip\": 1, \"count\": 3}",
    )
    .unwrap();
    let o = s.run(&["--only", "controlplane"]).run();
    o.ok().stderr_has(
        "openstackcontrolplane.v1beta1.core.openstack.org/openstack-control-plane -n openstack (0s): the API does not answer: Error from server (ServiceUnavailable): the server is currently unable to handle the request",
    );
    let u: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.data.join("unavailable.json")).unwrap())
            .unwrap();
    assert!(u["seen"].as_u64().unwrap() >= 5, "{u}");
}

/// An operator whose InstallPlan OLM marks Failed stops the control plane stage at once, with
/// OLM's message and the command that continues, before any later resource is written.
#[test]
fn a_failed_install_plan_stops_the_control_plane_with_olms_message() {
    let s = StandIn::new("0");
    // The stand-in's InstallPlan name for Subscription openstack-operators/openstack-operator,
    // from the stand-in itself.
    let named = crate::support::run_ok(
        std::process::Command::new("python3")
            .arg(crate::support::root().join("tests/harness/kubeapi.py"))
            .args(["--plan-name", "openstack-operators/openstack-operator"]),
        "kubeapi.py --plan-name",
    );
    let plan = String::from_utf8_lossy(&named.stdout).trim().to_string();
    assert!(plan.starts_with("install-"), "{plan}");
    std::fs::write(
        s.data.join("fail.json"),
        format!("{{\"InstallPlan/{plan}\": {{\"condition\": \"Installed\", \"reason\": \"InstallComponentFailed\", \"message\": \"error validating existing CRs against new CRD's schema for \\\"openstackcontrolplanes.core.openstack.org\\\"\"}}}}"),
    )
    .unwrap();
    let o = s.run(&["--only", "controlplane"]).run();
    o.code(1)
        .stderr_has(&format!("installplan.v1alpha1.operators.coreos.com/{plan} -n openstack-operators: status.phase is Failed"))
        .stderr_has("error validating existing CRs against new CRD's schema")
        .stderr_has("--only controlplane --from controlplane");
    assert!(
        !s.writes()
            .iter()
            .any(|w| w.contains("OpenStackControlPlane")
                || w.contains("NodeNetworkConfigurationPolicy")),
        "nothing after the operators is written: {:?}",
        s.writes()
    );
}

/// The EDPM nodes' side for the dataplane stage: the stand-in sshd of tests/harness/director.sh
/// (a mount namespace of overlays on 127.0.0.1) with the data plane's user `cloud-admin`
/// accepting the lab's key, sudo without a password, and tests/harness/edpm/cephadm.py as
/// `cephadm` on root's PATH. The three nodes are one sshd: the target file's `edpm.options`
/// send each ctlplane address (172.16.0.10x, only names here) to it with
/// `ProxyCommand=nc 127.0.0.1 PORT`. `kubectl exec` (nova's host discovery) has no stand-in in
/// the API's: LABSH_OC is a wrapper that records each exec and answers as nova-manage, and
/// hands every other command to kubectl.
struct Edpm {
    s: StandIn,
    node: crate::director::Director,
    oc: std::path::PathBuf,
}

impl Edpm {
    fn new() -> Edpm {
        let node = crate::director::Director::start("17.1");
        let edpm = format!(
            "{{options: [\"ProxyCommand=nc 127.0.0.1 {}\", \"StrictHostKeyChecking=no\", \"UserKnownHostsFile=/dev/null\", \"LogLevel=ERROR\"]}}",
            node.port
        );
        let s = StandIn::with_edpm("0", &edpm);
        let key = std::fs::read_to_string(s.lab.home().join(".ssh/id_rsa.pub")).unwrap();
        let lib = node.path("lib/cephadm.py");
        std::fs::copy(
            crate::support::root().join("tests/harness/edpm/cephadm.py"),
            &lib,
        )
        .unwrap();
        let bin = node.path("bin/cephadm");
        std::fs::write(
            &bin,
            format!(
                "#!/bin/sh\nexec /usr/bin/python3 {} {} \"$@\"\n",
                lib.display(),
                node.path("").display()
            ),
        )
        .unwrap();
        std::fs::write(
            node.path("cephadm.json"),
            "{\"hostname\": \"edpm-compute01\"}",
        )
        .unwrap();
        crate::ssh_node::as_root(
            &node,
            &format!(
                "set -e\nuseradd -m -s /bin/sh cloud-admin\ninstall -d -m 0700 -o cloud-admin /home/cloud-admin/.ssh\n\
                 echo '{}' > /home/cloud-admin/.ssh/authorized_keys\nchown cloud-admin /home/cloud-admin/.ssh/authorized_keys\n\
                 echo 'cloud-admin ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/cloud-admin\nchmod 0440 /etc/sudoers.d/cloud-admin\n",
                key.trim()
            ),
        );
        let oc = s.lab.file(
            "bin/oc-standin",
            &format!(
                "#!/bin/sh\nif [ \"$2\" = exec ]; then\n  echo \"$*\" >> {log}\n  \
                 echo 'Found 2 cell mappings.'\n  echo 'Skipping cell0 since it does not contain hosts.'\n  \
                 echo \"Getting computes from cell 'cell1': 5f1c8a3e-0000-4000-8000-000000000002\"\n  \
                 echo 'Found 0 unmapped computes in cell: 5f1c8a3e-0000-4000-8000-000000000002'\n  exit 0\nfi\nexec kubectl \"$@\"\n",
                log = s.lab.work().join("oc-exec.log").display()
            ),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&oc, std::fs::Permissions::from_mode(0o755)).unwrap();
        Edpm { s, node, oc }
    }

    fn run(&self, extra: &[&str]) -> crate::support::Out {
        let mut args = vec!["--only", "dataplane"];
        args.extend_from_slice(extra);
        self.s
            .run(&args)
            .env("LABSH_OC", self.oc.to_str().unwrap())
            .run()
    }

    /// Every cephadm call on the nodes, in order: ("args..." after `shell -- ceph`, bootstrap
    /// as "bootstrap ...", its exit code, what it printed on stdout).
    fn ceph_log(&self) -> Vec<(String, i64, String)> {
        std::fs::read_to_string(self.node.path("ceph.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let e: serde_json::Value = serde_json::from_str(l).unwrap();
                let a: Vec<&str> = e["args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap())
                    .collect();
                let c = if a.starts_with(&["shell", "--", "ceph"]) {
                    a[3..].join(" ")
                } else {
                    a.join(" ")
                };
                let out = e["out"].as_str().unwrap_or_default().to_string();
                (c, e["rc"].as_i64().unwrap(), out)
            })
            .collect()
    }

    /// The cephadm calls on the nodes (rc 0): (reads, changes), each as ceph_log names it.
    fn ceph_calls(&self) -> (Vec<String>, Vec<String>) {
        let reads = ["orch host ls", "orch ls", "osd pool ls", "auth get "];
        let mut r = (vec![], vec![]);
        for (c, rc, _) in self.ceph_log() {
            if rc != 0 {
                continue;
            }
            if reads.iter().any(|x| c.starts_with(x)) {
                r.0.push(c);
            } else {
                r.1.push(c);
            }
        }
        r
    }

    /// Runs `args` of Ceph's CLI on the first node as root, as labsh does (`cephadm shell --
    /// ceph ...`): its exit code and stdout.
    fn ceph_as_root(&self, args: &str) -> (i32, String) {
        let out = crate::ssh_node::as_root(
            &self.node,
            &format!("cephadm shell -- ceph {args} 2>/dev/null; echo \"rc=$?\""),
        );
        let (text, rc) = out.trim_end().rsplit_once("rc=").unwrap();
        (rc.parse().unwrap(), text.to_string())
    }
}

/// The dataplane stage with EDPM nodes to reach (the stand-in sshd and cephadm): Ceph
/// bootstrapped once, the other nodes added, the OSDs applied, the pools and the client key
/// made; ceph.conf and the key fetched (0600) and given to the cluster in ceph-conf-files,
/// the key shown nowhere; the post-Ceph resources applied and nova's host discovery run. A
/// second run runs no Ceph command that changes anything and writes nothing to the API.
#[test]
fn the_dataplane_deploys_ceph_on_the_edpm_nodes_over_ssh_once_and_a_second_run_changes_nothing() {
    let e = Edpm::new();
    let o = e.run(&[]);
    o.ok();
    let (_, changes) = e.ceph_calls();
    let bootstraps: Vec<&String> = changes
        .iter()
        .filter(|c| c.starts_with("bootstrap "))
        .collect();
    assert_eq!(bootstraps.len(), 1, "{changes:#?}");
    assert!(
        bootstraps[0].starts_with("bootstrap --mon-ip 172.17.3.100 --cluster-network "),
        "{changes:#?}"
    );
    for c in [
        "orch host add edpm-compute02 172.17.3.101",
        "orch host add edpm-compute03 172.17.3.102",
        "orch apply osd --all-available-devices",
        "osd pool create vms",
        "osd pool create volumes",
        "osd pool create images",
        "osd pool application enable vms rbd",
        "osd pool application enable images rbd",
    ] {
        assert_eq!(
            changes.iter().filter(|x| *x == c).count(),
            1,
            "{c} in {changes:#?}"
        );
    }
    assert!(
        changes.iter().any(|c| c.starts_with(
            "auth get-or-create client.openstack mgr allow * mon profile rbd osd profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images"
        )),
        "{changes:#?}"
    );
    // ceph.conf and the key fetched, private.
    let dir = e.s.lab.state().join("out/standin/rhoso/rhoso/ceph");
    let conf = std::fs::read_to_string(dir.join("ceph.conf")).unwrap();
    assert!(
        conf.contains("mon_host = [v2:172.17.3.100:3300/0"),
        "{conf}"
    );
    let ring = std::fs::read_to_string(dir.join("ceph.client.openstack.keyring")).unwrap();
    assert!(ring.starts_with("[client.openstack]\n\tkey = "), "{ring}");
    let key = ring.split("key = ").nth(1).unwrap().trim().to_string();
    // A cephx key as Ceph writes it (ceph/ceph src/auth/Crypto.cc CryptoKey::encode, reef): type
    // 1 (AES, u16), created (8 bytes), the secret's length (u16, 16), the 16 secret bytes.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let raw = b64.decode(&key).unwrap();
    assert_eq!((key.len(), raw.len()), (40, 28), "{key}");
    assert!(key.starts_with("AQ") && key.ends_with("=="), "{key}");
    assert_eq!((&raw[..2], &raw[10..12]), (&[1u8, 0][..], &[16u8, 0][..]));
    // Before the OSDs were applied, `orch ls osd --format json` answered as reef's orchestrator
    // does with nothing to list (not JSON), which labsh read as no service; then it applied them.
    let log = e.ceph_log();
    let at = |c: &str| log.iter().position(|(x, rc, _)| x == c && *rc == 0);
    let (ls, apply) = (
        at("orch ls osd --format json").unwrap(),
        at("orch apply osd --all-available-devices").unwrap(),
    );
    assert!(ls < apply, "{log:#?}");
    assert_eq!(log[ls].2.trim(), "No services reported", "{log:#?}");
    // bootstrap's lines are on its stdout (reef's cephadm logs bootstrap's INFO there).
    let boot = log
        .iter()
        .find(|(c, _, _)| c.starts_with("bootstrap "))
        .unwrap();
    assert!(boot.2.contains("Bootstrap complete."), "{boot:?}");
    use std::os::unix::fs::PermissionsExt;
    for f in ["ceph.conf", "ceph.client.openstack.keyring"] {
        assert_eq!(
            std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
    // The cluster has them in ceph-conf-files; no output or journal shows the key.
    let stored: serde_json::Value = serde_json::from_str(&e.s.kubectl(
        &[
            "get",
            "secret",
            "ceph-conf-files",
            "-n",
            "openstack",
            "-o",
            "json",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(
        stored["data"]["ceph.client.openstack.keyring"],
        b64.encode(&ring)
    );
    assert_eq!(stored["data"]["ceph.conf"], b64.encode(&conf));
    let mut journals = String::new();
    for j in e.s.lab.journals() {
        journals += &std::fs::read_to_string(&j).unwrap_or_default();
    }
    assert!(!journals.is_empty());
    for (what, text) in [
        ("stdout", &o.stdout),
        ("stderr", &o.stderr),
        ("journal", &journals),
    ] {
        assert!(!text.contains(&key), "the key in the {what}");
    }
    // The rest of the stage: everything created once, nova's host discovery run.
    let writes = e.s.writes();
    let made = created(&writes);
    for obj in [
        "Secret openstack/ceph-conf-files",
        "ConfigMap openstack/ceph-nova",
        "OpenStackDataPlaneService openstack/nova-custom-ceph",
        "OpenStackDataPlaneDeployment openstack/openstack-edpm-post-ceph",
    ] {
        assert_eq!(made.get(obj), Some(&1), "{obj} in {writes:#?}");
    }
    assert!(made.values().all(|n| *n == 1), "{made:#?}");
    let execs = std::fs::read_to_string(e.s.lab.work().join("oc-exec.log")).unwrap();
    assert!(
        execs.contains("exec -n openstack nova-cell0-conductor-0 -- nova-manage cell_v2 discover_hosts --verbose"),
        "{execs}"
    );
    o.stdout_has("Found 2 cell mappings.");

    let before = e.s.writes().len();
    let (reads_before, _) = e.ceph_calls();
    let again = e.run(&[]);
    again.ok();
    let (reads, changes_again) = e.ceph_calls();
    assert_eq!(changes_again, changes, "a second run changed Ceph");
    assert!(reads.len() > reads_before.len(), "a second run read Ceph");
    assert_eq!(
        e.s.writes().len(),
        before,
        "a second run wrote: {:#?}",
        &e.s.writes()[before..]
    );
    assert!(
        !again
            .stderr
            .lines()
            .any(|l| l.trim_start().starts_with("changed ")),
        "{}",
        again.stderr
    );
    // The second run's read found the OSDs' service as JSON.
    let log = e.ceph_log();
    let last = log
        .iter()
        .rev()
        .find(|(c, _, _)| c == "orch ls osd --format json")
        .unwrap();
    assert!(
        last.2.starts_with('[') && last.2.contains("osd.all-available-devices"),
        "{last:?}"
    );

    // The stand-in's auth as reef's AuthMonitor: `auth get` shows the caps the key was made
    // with; get-or-create of it with another cap fails (EINVAL), the key unchanged.
    let (rc, got) = e.ceph_as_root("auth get client.openstack");
    assert_eq!(rc, 0, "{got}");
    assert_eq!(
        got,
        format!(
            "[client.openstack]\n\tkey = {key}\n\tcaps mgr = \"allow *\"\n\tcaps mon = \"profile rbd\"\n\t\
             caps osd = \"profile rbd pool=vms, profile rbd pool=volumes, profile rbd pool=images\"\n"
        )
    );
    let (rc, got) = e.ceph_as_root("auth get-or-create client.openstack mon 'allow r'");
    assert_eq!((rc, got.as_str()), (22, ""));
    let (rc, got) = e.ceph_as_root("auth get-or-create client.openstack mon 'profile rbd'");
    assert_eq!(
        (rc, got),
        (0, format!("[client.openstack]\n\tkey = {key}\n"))
    );
    // `cephadm shell` runs ceph in a container: a keyring written with -o under /etc/ceph stays
    // there; the node's own files are under /rootfs.
    let ring_o =
        |path: &str| e.ceph_as_root(&format!("auth get-or-create client.openstack -o {path}"));
    assert_eq!(ring_o("/etc/ceph/o.keyring"), (0, String::new()));
    assert_eq!(ring_o("/rootfs/root/o.keyring"), (0, String::new()));
    assert_eq!(
        crate::ssh_node::as_root(
            &e.node,
            "test -e /etc/ceph/o.keyring || echo none; cat /root/o.keyring"
        ),
        format!("none\n[client.openstack]\n\tkey = {key}\n")
    );
}

/// A Ceph command that fails on the node stops the stage with its output and the command that
/// continues; nothing of Ceph's is given to the cluster; once it passes, the command given
/// finishes the stage with nothing done twice.
#[test]
fn a_failing_ceph_command_stops_the_dataplane_with_its_output_and_the_command_that_continues() {
    let e = Edpm::new();
    std::fs::write(
        e.node.path("cephadm.json"),
        "{\"hostname\": \"edpm-compute01\", \"fail\": \"osd pool create volumes\"}",
    )
    .unwrap();
    let o = e.run(&[]);
    o.code(1)
        .stderr_has("Error ERANGE:  pg_num 32 size 3 for this pool")
        .stderr_has("osd pool create volumes")
        .stderr_has("--only dataplane --from dataplane");
    assert!(!e.s.writes().iter().any(|w| w.contains("ceph-conf-files")));
    let (_, changes) = e.ceph_calls();
    assert!(
        !changes.iter().any(|c| c.starts_with("auth get-or-create")),
        "{changes:#?}"
    );
    std::fs::write(
        e.node.path("cephadm.json"),
        "{\"hostname\": \"edpm-compute01\"}",
    )
    .unwrap();
    e.run(&["--from", "dataplane"]).ok();
    let (_, changes) = e.ceph_calls();
    for c in ["osd pool create vms", "osd pool create volumes"] {
        assert_eq!(
            changes.iter().filter(|x| *x == c).count(),
            1,
            "{c} in {changes:#?}"
        );
    }
    assert_eq!(
        changes
            .iter()
            .filter(|c| c.starts_with("bootstrap "))
            .count(),
        1
    );
    let made = created(&e.s.writes());
    assert_eq!(made.get("Secret openstack/ceph-conf-files"), Some(&1));
    assert!(made.values().all(|n| *n == 1), "{made:#?}");
}

/// The tenant stage of a RHOSO lab on a real cloud: the control plane's ConfigMap openstack-config
/// names the devcloud's Keystone (the stand-in cannot run one) behind TLS with a certificate of
/// the CA in Secret combined-ca-bundle, and the admin password is the one labsh keeps for
/// osp-secret's AdminPassword (here given as the devcloud's). The dataplane stage writes the
/// cloud's clouds.yaml (its cacert that CA), a 0600 secure.yaml; the tenant stage then makes the
/// OpenShift tenant on that cloud with no cloud named in the target file, as python-
/// openstackclient reads back, and its clouds.yaml names the CA too; the password is in no
/// output.
#[test]
fn a_rhoso_labs_tenant_is_made_on_the_cloud_its_control_plane_names() {
    use std::os::unix::fs::PermissionsExt;
    let clouds = crate::support::devcloud::devcloud();
    // The devcloud's admin credentials, as its clouds.yaml gives them (its first cloud's).
    let text = std::fs::read_to_string(&clouds).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {key} in {}", clouds.display()))
    };
    let (auth_url, password) = (value("auth_url:"), value("password:"));
    assert!(auth_url.starts_with("http://127.0.0.1:5000/"), "{auth_url}");
    let s = StandIn::new("0");
    // The control plane's clouds.yaml, as the OpenStack operator writes it, naming the devcloud's
    // Keystone behind TLS with a certificate of a CA of the test's own, as the control plane's
    // routes have certificates of its own CAs; that CA in Secret combined-ca-bundle.
    let front = crate::cloud::TlsFront::start(&s.lab);
    let cloud_yaml = format!(
        "clouds:\n  default:\n    auth:\n      auth_url: https://127.0.0.1:{}/v3\n      project_name: admin\n      username: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: regionOne\n",
        front.port
    );
    s.kubectl_apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "openstack-config", "namespace": "openstack"},
        "data": {"clouds.yaml": cloud_yaml}})
        .to_string(),
    );
    let ca = std::fs::read_to_string(&front.ca).unwrap();
    s.kubectl_apply(
        &serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "combined-ca-bundle", "namespace": "openstack"},
        "stringData": {"tls-ca-bundle.pem": ca}})
        .to_string(),
    );
    let p = crate::cloud::uniq("rhoso");
    let (api, ingress) = ("192.168.122.236", "192.168.122.237");
    crate::cloud::release_fips(&clouds, &[api, ingress]);
    let img = crate::cloud::small_image(&s.lab);
    s.lab.file(
        "profiles/rhoso-cloud.rhai",
        &format!(
            "fn overrides() {{ #{{ base: \"rhoso\", rhoso: #{{ wait_interval: 0 }}, tenant: #{{ project: \"{p}-tenant\", user: \"{p}-user\", flavor: #{{ name: \"{p}-master\" }},\n  api_fip: \"{api}\", ingress_fip: \"{ingress}\", image: #{{ name: \"{p}-rhcos\", file: \"{}\" }} }} }} }}\n",
            img.display()
        ),
    );
    let o = s
        .lab
        .run_script("lab.rhai")
        .args([
            "--profile",
            "profiles/rhoso-cloud.rhai",
            "--target",
            s.target.to_str().unwrap(),
            "--only",
            "dataplane",
            "--only",
            "tenant",
        ])
        .env("LABSH_SECRET_RHOSO_ADMINPASSWORD", &password)
        .run();
    o.ok();
    assert!(
        !o.stdout.contains(&password) && !o.stderr.contains(&password),
        "the admin password is shown"
    );
    let secure = crate::support::walk(&s.lab.state().join("out"))
        .into_iter()
        .find(|f| f.ends_with("rhoso/cloud/secure.yaml"))
        .expect("secure.yaml written");
    assert_eq!(
        std::fs::metadata(&secure).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&secure)
        .unwrap()
        .contains(&password));
    // The CA bundle kept beside the cloud's clouds.yaml, which names it; the tenant's clouds.yaml
    // (the installer's) names it too.
    let bundle = secure.with_file_name("tls-ca-bundle.pem");
    assert_eq!(std::fs::read_to_string(&bundle).unwrap(), ca);
    let tenant_yaml = crate::support::walk(&s.lab.state().join("out"))
        .into_iter()
        .find(|f| f.ends_with("clouds.yaml") && !f.ends_with("rhoso/cloud/clouds.yaml"))
        .expect("the tenant's clouds.yaml");
    let text = std::fs::read_to_string(&tenant_yaml).unwrap();
    assert!(
        text.contains(&format!("cacert: {}", bundle.display())),
        "{text}"
    );
    // What the tenant stage made, read back by python-openstackclient on the devcloud.
    let project = crate::support::devcloud::osc(
        &clouds,
        "devcloud",
        &["project", "show", &format!("{p}-tenant")],
    );
    assert_eq!(project["name"], format!("{p}-tenant"));
    let fips = crate::support::devcloud::osc(
        &clouds,
        "devcloud",
        &[
            "floating",
            "ip",
            "list",
            "--project",
            &format!("{p}-tenant"),
        ],
    );
    let addrs: Vec<&str> = fips
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["Floating IP Address"].as_str())
        .collect();
    assert!(
        addrs.contains(&api) && addrs.contains(&ingress),
        "{addrs:?}"
    );
}
