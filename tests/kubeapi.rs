//! The Kubernetes API stand-in (tests/harness/kubeapi.py) driven by the real kubectl, as the RHOSO
//! apply path drives it: server-side apply creating, then leaving alone, then changing an object;
//! reads; status conditions going from in progress to Ready by the recorded shapes
//! (tests/data/rhoso/status-shapes.json); a failure injected; OLM installing a Subscription's CSV;
//! discovery of every kind labsh writes; and DATA/writes.log counting each write.

use crate::support::{root, spawn_and_read_line, Lab, Spawned};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

struct Stand {
    _server: Spawned,
    data: PathBuf,
    kubeconfig: PathBuf,
    home: PathBuf,
}

impl Stand {
    fn start(lab: &Lab) -> Stand {
        let data = lab.work().join("api");
        std::fs::create_dir_all(&data).unwrap();
        let (child, port) = spawn_and_read_line(
            Command::new("python3")
                .arg(root().join("tests/harness/kubeapi.py"))
                .arg(&data),
        );
        let kubeconfig = lab.file(
            "kubeconfig",
            &format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"http://127.0.0.1:{}\"}}\n  name: rhoso\ncontexts:\n- context: {{cluster: rhoso, user: admin}}\n  name: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user: {{token: recorded}}\n",
                port.trim()
            ),
        );
        Stand {
            _server: Spawned(child),
            data,
            kubeconfig,
            home: lab.home(),
        }
    }

    /// kubectl with `args` (and `stdin`), its output whatever its exit.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// kubectl's JSON output, the command having succeeded.
    fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `kubectl apply --server-side` of `resource` as labsh sends it (oc::apply).
    fn apply(&self, resource: &Value) -> Value {
        self.json(
            &[
                "apply",
                "--server-side",
                "--field-manager=labsh",
                "--force-conflicts",
                "--validate=false",
                "-f",
                "-",
                "-o",
                "json",
            ],
            Some(&resource.to_string()),
        )
    }

    fn get(&self, resource: &str, ns: &str) -> Value {
        self.json(&["get", resource, "-n", ns, "-o", "json"], None)
    }

    fn writes(&self) -> Vec<String> {
        std::fs::read_to_string(self.data.join("writes.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn data_file(&self, name: &str, v: &Value) {
        std::fs::write(self.data.join(name), v.to_string()).unwrap();
    }
}

fn namespace(name: &str) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn controlplane(storage_class: &str) -> Value {
    serde_json::json!({
        "apiVersion": "core.openstack.org/v1beta1",
        "kind": "OpenStackControlPlane",
        "metadata": {"name": "controlplane", "namespace": "openstack"},
        "spec": {
            "secret": "osp-secret",
            "storageClass": storage_class,
            "octavia": {"enabled": true},
            "ironic": {"enabled": false}
        }
    })
}

/// The conditions of `obj` by type: (status, reason, severity, message).
fn conditions(obj: &Value) -> Vec<(String, String, String, String, String)> {
    obj["status"]["conditions"]
        .as_array()
        .unwrap_or_else(|| panic!("no conditions in {obj}"))
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (
                s("type"),
                s("status"),
                s("reason"),
                s("severity"),
                s("message"),
            )
        })
        .collect()
}

fn condition(obj: &Value, ty: &str) -> (String, String, String, String) {
    conditions(obj)
        .into_iter()
        .find(|c| c.0 == ty)
        .map(|c| (c.1, c.2, c.3, c.4))
        .unwrap_or_else(|| panic!("no condition {ty} in {obj}"))
}

fn rv(obj: &Value) -> &str {
    obj["metadata"]["resourceVersion"].as_str().unwrap()
}

#[test]
fn server_side_apply_creates_then_leaves_alone_then_changes_with_honest_versions() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.apply(&namespace("openstack"));
    let first = api.apply(&controlplane("local-storage"));
    assert_eq!(first["metadata"]["generation"], 1, "{first}");
    let again = api.apply(&controlplane("local-storage"));
    assert_eq!(
        rv(&again),
        rv(&first),
        "an unchanged apply keeps resourceVersion"
    );
    assert_eq!(again["metadata"]["generation"], 1);
    assert_eq!(
        api.writes(),
        [
            "PATCH Namespace /openstack created",
            "PATCH OpenStackControlPlane openstack/controlplane created",
            "PATCH OpenStackControlPlane openstack/controlplane unchanged",
        ]
    );
    let changed = api.apply(&controlplane("lvms-vg1"));
    assert_ne!(rv(&changed), rv(&first));
    assert_eq!(changed["metadata"]["generation"], 2);
    assert_eq!(
        api.writes().last().unwrap(),
        "PATCH OpenStackControlPlane openstack/controlplane changed"
    );
    let got = api.get("openstackcontrolplane/controlplane", "openstack");
    assert_eq!(got["spec"]["storageClass"], "lvms-vg1");
    assert_eq!(got["metadata"]["uid"], first["metadata"]["uid"]);
    assert_eq!(rv(&got), rv(&changed));
    // A field the manager applied before and leaves out now is gone, as server-side apply does.
    let mut fewer = controlplane("lvms-vg1");
    fewer["spec"].as_object_mut().unwrap().remove("ironic");
    let pruned = api.apply(&fewer);
    assert!(pruned["spec"].get("ironic").is_none(), "{pruned}");
    assert_eq!(pruned["metadata"]["generation"], 3);
    // Listed in its namespace and across all, by its short name from the CRD.
    let across = api.json(&["get", "osctlplane", "-A", "-o", "json"], None);
    assert_eq!(across["items"].as_array().unwrap().len(), 1, "{across}");
    assert_eq!(across["items"][0]["metadata"]["name"], "controlplane");
}

#[test]
fn conditions_are_the_recorded_ones_in_progress_then_ready() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.data_file("progress.json", &serde_json::json!({"reads": 2}));
    api.apply(&namespace("openstack"));
    api.apply(&controlplane("local-storage"));
    let reads: Vec<Value> = (0..3)
        .map(|_| api.get("openstackcontrolplane/controlplane", "openstack"))
        .collect();
    for r in &reads[..2] {
        // lib-common's Conditions.Init and a reconcile in progress: False, Requested, Info.
        assert_eq!(
            condition(r, "Ready"),
            (
                "False".into(),
                "Requested".into(),
                "Info".into(),
                "Setup started".into()
            )
        );
        assert_eq!(
            condition(r, "OpenStackControlPlaneOctaviaReady"),
            (
                "False".into(),
                "Requested".into(),
                "Info".into(),
                "OpenStackControlPlane Octavia in progress".into()
            )
        );
    }
    let ready = &reads[2];
    assert!(conditions(ready).iter().all(|c| c.1 == "True"), "{ready}");
    assert_eq!(
        condition(ready, "Ready"),
        (
            "True".into(),
            "Ready".into(),
            String::new(),
            "Setup complete".into()
        )
    );
    assert_eq!(
        condition(ready, "OpenStackControlPlaneNovaReady").3,
        "OpenStackControlPlane Nova completed"
    );
    // The services the spec enables (Octavia; Nova by the CRD's default), not the disabled ones.
    let types: Vec<String> = conditions(ready).into_iter().map(|c| c.0).collect();
    assert!(
        !types.contains(&"OpenStackControlPlaneIronicReady".to_string()),
        "{types:?}"
    );
    assert!(
        !types.contains(&"OpenStackControlPlaneManilaReady".to_string()),
        "{types:?}"
    );
    assert_eq!(types[0], "Ready", "lib-common keeps Ready first");
    // A new generation: first read before its operator has seen it (the old status, of
    // generation 1), then its progress starts again.
    api.apply(&controlplane("lvms-vg1"));
    let stale = api.get("openstackcontrolplane/controlplane", "openstack");
    assert_eq!(stale["metadata"]["generation"], 2);
    assert_eq!(stale["status"]["observedGeneration"], 1);
    assert_eq!(condition(&stale, "Ready").0, "True");
    let after = api.get("openstackcontrolplane/controlplane", "openstack");
    assert_eq!(condition(&after, "Ready").0, "False");
    assert_eq!(after["status"]["observedGeneration"], 2);
    // A NodeNetworkConfigurationPolicy (cluster-scoped) as nmstate reports it.
    let nncp = serde_json::json!({"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy",
        "metadata": {"name": "ospnet"}, "spec": {"desiredState": {"interfaces": []}}});
    api.apply(&nncp);
    let p = api.json(&["get", "nncp", "ospnet", "-o", "json"], None);
    assert_eq!(
        condition(&p, "Progressing"),
        (
            "True".into(),
            "ConfigurationProgressing".into(),
            String::new(),
            "Policy is progressing 0/1 nodes finished".into()
        )
    );
    api.json(&["get", "nncp", "ospnet", "-o", "json"], None);
    let p = api.json(&["get", "nncp", "ospnet", "-o", "json"], None);
    assert_eq!(
        condition(&p, "Available"),
        (
            "True".into(),
            "SuccessfullyConfigured".into(),
            String::new(),
            "1/1 nodes successfully configured".into()
        )
    );
    assert!(api
        .writes()
        .contains(&"PATCH NodeNetworkConfigurationPolicy /ospnet created".to_string()));
}

#[test]
fn a_failure_injected_shows_severity_error_with_its_message() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.data_file("progress.json", &serde_json::json!(1));
    api.data_file(
        "fail.json",
        &serde_json::json!({"OpenStackControlPlane/controlplane": {
            "condition": "OpenStackControlPlaneOctaviaReady", "reason": "Error",
            "message": "OpenStackControlPlane Octavia error occured amphora image not found"}}),
    );
    api.apply(&namespace("openstack"));
    api.apply(&controlplane("local-storage"));
    let first = api.get("openstackcontrolplane/controlplane", "openstack");
    assert_eq!(
        condition(&first, "OpenStackControlPlaneOctaviaReady").2,
        "Info"
    );
    let failed = api.get("openstackcontrolplane/controlplane", "openstack");
    let want = (
        "False".to_string(),
        "Error".to_string(),
        "Error".to_string(),
        "OpenStackControlPlane Octavia error occured amphora image not found".to_string(),
    );
    assert_eq!(
        condition(&failed, "OpenStackControlPlaneOctaviaReady"),
        want
    );
    assert_eq!(
        condition(&failed, "Ready"),
        want,
        "Ready mirrors the failure"
    );
    assert_eq!(
        condition(&failed, "OpenStackControlPlaneNovaReady").1,
        "Ready"
    );
    // The failure gone, the object is Ready.
    api.data_file("fail.json", &serde_json::json!({}));
    let fine = api.get("openstackcontrolplane/controlplane", "openstack");
    assert_eq!(condition(&fine, "Ready").0, "True");
}

#[test]
fn a_subscription_gets_an_install_plan_and_a_csv_that_succeeds() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.apply(&namespace("openstack-operators"));
    let sub = serde_json::json!({
        "apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": "openstack-operator", "namespace": "openstack-operators"},
        "spec": {"name": "openstack-operator", "channel": "stable-v1.0", "source": "redhat-operators",
                 "sourceNamespace": "openshift-marketplace", "startingCSV": "openstack-operator.v1.0.6"}
    });
    let created = api.apply(&sub);
    assert_eq!(created["status"]["state"], "UpgradePending");
    assert!(created["status"].get("installedCSV").is_none());
    let plan_name = created["status"]["installPlanRef"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let phases: Vec<Value> = (0..3)
        .map(|_| {
            api.get(&format!("installplan/{plan_name}"), "openstack-operators")["status"]["phase"]
                .clone()
        })
        .collect();
    assert_eq!(phases, ["Installing", "Installing", "Complete"]);
    let plan = api.get(&format!("installplan/{plan_name}"), "openstack-operators");
    assert_eq!(
        plan["spec"]["clusterServiceVersionNames"][0],
        "openstack-operator.v1.0.6"
    );
    let csv: Vec<Value> = (0..3)
        .map(|_| api.get("csv/openstack-operator.v1.0.6", "openstack-operators")["status"].clone())
        .collect();
    assert_eq!(csv[0]["phase"], "Installing");
    assert_eq!(csv[2]["phase"], "Succeeded");
    assert_eq!(csv[2]["reason"], "InstallSucceeded");
    let mut state = Value::Null;
    for _ in 0..3 {
        state = api.get("subscription/openstack-operator", "openstack-operators")["status"].clone();
    }
    assert_eq!(state["state"], "AtLatestKnown", "{state}");
    assert_eq!(state["installedCSV"], "openstack-operator.v1.0.6");
    // OLM's own objects are not labsh's writes.
    assert_eq!(
        api.writes(),
        [
            "PATCH Namespace /openstack-operators created",
            "PATCH Subscription openstack-operators/openstack-operator created",
        ]
    );
}

#[test]
fn every_kind_labsh_writes_is_discovered_and_created_deleted_and_merge_patched() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    let out = api.run(&["api-resources", "-o", "name"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let served: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let shapes: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/rhoso/status-shapes.json")).unwrap(),
    )
    .unwrap();
    let crds: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/rhoso/crd-schemas.json")).unwrap(),
    )
    .unwrap();
    let mut kinds: Vec<&str> = crds["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    kinds.extend(["InstallPlan", "ClusterServiceVersion"]);
    for kind in kinds {
        let r = &shapes["resources"][kind];
        let name = format!(
            "{}.{}",
            r["plural"].as_str().unwrap(),
            r["group"].as_str().unwrap()
        );
        assert!(served.contains(&name), "{kind}: {name} not in {served:?}");
    }
    for core in ["namespaces", "secrets", "configmaps", "nodes", "pods"] {
        assert!(
            served.contains(&core.to_string()),
            "{core} not in {served:?}"
        );
    }
    // A namespaced object in a namespace that does not exist: NotFound, as the API says it.
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1","namespace":"openstack"},"data":{"a":"1"}}"#;
    let out = api.run(&["create", "--validate=false", "-f", "-"], Some(cm));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("namespaces \"openstack\" not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    api.apply(&namespace("openstack"));
    api.json(
        &["create", "--validate=false", "-f", "-", "-o", "json"],
        Some(cm),
    );
    let out = api.run(&["create", "--validate=false", "-f", "-"], Some(cm));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AlreadyExists"));
    let patched = api.json(
        &[
            "patch",
            "configmap",
            "c1",
            "-n",
            "openstack",
            "--type",
            "merge",
            "-p",
            r#"{"data":{"a":null,"b":"2"}}"#,
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(patched["data"], serde_json::json!({"b": "2"}));
    let out = api.run(&["delete", "configmap", "c1", "-n", "openstack"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = api.run(&["get", "configmap", "c1", "-n", "openstack"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("configmaps \"c1\" not found"));
    assert_eq!(
        api.writes(),
        [
            "PATCH Namespace /openstack created",
            "POST ConfigMap openstack/c1 created",
            "PATCH ConfigMap openstack/c1 changed",
            "DELETE ConfigMap openstack/c1 deleted",
        ]
    );
}

#[test]
fn a_secret_keeps_string_data_as_data_lists_select_by_label_and_a_catalog_connects() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.apply(&namespace("openstack"));
    let secret = serde_json::json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "osp-secret", "namespace": "openstack", "labels": {"app": "rhoso"}},
        "stringData": {"AdminPassword": "12345678"}});
    let stored = api.apply(&secret);
    assert_eq!(stored["data"]["AdminPassword"], "MTIzNDU2Nzg=");
    assert!(stored.get("stringData").is_none(), "{stored}");
    let again = api.apply(&secret);
    assert_eq!(rv(&again), rv(&stored));
    let other = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "other", "namespace": "openstack", "labels": {"app": "else"}}});
    api.apply(&other);
    let names = |sel: &str| -> Vec<String> {
        api.json(
            &[
                "get",
                "secrets,configmaps",
                "-n",
                "openstack",
                "-l",
                sel,
                "-o",
                "json",
            ],
            None,
        )["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("app=rhoso"), ["osp-secret"]);
    assert_eq!(names("app!=rhoso"), ["other"]);
    assert_eq!(names("app"), ["osp-secret", "other"]);
    assert!(names("team").is_empty());
    api.apply(&namespace("openshift-marketplace"));
    let catalog = serde_json::json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "CatalogSource",
        "metadata": {"name": "openstack-operator-index", "namespace": "openshift-marketplace"},
        "spec": {"sourceType": "grpc", "image": "quay.io/openstack-k8s-operators/openstack-operator-index:latest"}});
    let first = api.apply(&catalog);
    assert_eq!(
        first["status"]["connectionState"]["lastObservedState"],
        "CONNECTING"
    );
    let mut state = Value::Null;
    for _ in 0..3 {
        state = api.get(
            "catalogsource/openstack-operator-index",
            "openshift-marketplace",
        )["status"]
            .clone();
    }
    assert_eq!(state["connectionState"]["lastObservedState"], "READY");
    assert_eq!(
        api.writes(),
        [
            "PATCH Namespace /openstack created",
            "PATCH Secret openstack/osp-secret created",
            "PATCH Secret openstack/osp-secret unchanged",
            "PATCH ConfigMap openstack/other created",
            "PATCH Namespace /openshift-marketplace created",
            "PATCH CatalogSource openshift-marketplace/openstack-operator-index created",
        ]
    );
}

#[test]
fn the_status_shapes_come_from_the_commits_the_crd_schemas_come_from() {
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join(p)).unwrap()).unwrap()
    };
    let shapes = read("tests/data/rhoso/status-shapes.json");
    let crds = read("tests/data/rhoso/crd-schemas.json");
    assert_eq!(shapes["made_by"], "tools/rhoso-status-shapes.py");
    for s in crds["schemas"].as_array().unwrap() {
        let kind = s["kind"].as_str().unwrap();
        let r = &shapes["resources"][kind];
        assert_eq!(r["source"]["commit"], s["commit"], "{kind}");
        assert_eq!(r["source"]["path"], s["path"], "{kind}");
        assert_eq!(
            format!(
                "{}/{}",
                r["group"].as_str().unwrap(),
                r["version"].as_str().unwrap()
            ),
            s["apiVersion"].as_str().unwrap(),
            "{kind}"
        );
        if let Some(k) = shapes["kinds"].get(kind) {
            assert_eq!(k["source"]["repository"], s["repository"], "{kind}");
            assert_eq!(k["source"]["commit"], s["commit"], "{kind}");
        }
    }
    // lib-common at the commit the openstack-operator's go.mod names, and its SeverityError.
    let lc = &shapes["lib_common"];
    let pseudo = lc["source"]["ref"].as_str().unwrap();
    let commit = lc["source"]["commit"].as_str().unwrap();
    assert!(pseudo.ends_with(&commit[..12]), "{pseudo} {commit}");
    assert_eq!(lc["severity"]["SeverityError"], "Error");
    for kind in [
        "OpenStackControlPlane",
        "OpenStackDataPlaneNodeSet",
        "OpenStackDataPlaneDeployment",
    ] {
        let conds = shapes["kinds"][kind]["conditions"].as_array().unwrap();
        assert!(conds.iter().any(|c| c["type"] == "Ready"), "{kind}");
        assert!(
            conds.iter().any(|c| c["type"] == "DeploymentReady"
                || c["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("OpenStackControlPlane")),
            "{kind}"
        );
    }
}

#[test]
fn the_data_plane_node_set_and_deployment_go_ready_as_their_operator_reports() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.data_file(
        "progress.json",
        &serde_json::json!({"reads": 2, "OpenStackDataPlaneDeployment/edpm": 1}),
    );
    api.apply(&namespace("openstack"));
    let nodeset = serde_json::json!({"apiVersion": "dataplane.openstack.org/v1beta1",
        "kind": "OpenStackDataPlaneNodeSet", "metadata": {"name": "edpm", "namespace": "openstack"},
        "spec": {"preProvisioned": true, "nodes": {"edpm-compute-0": {"hostName": "edpm-compute-0"}},
                 "nodeTemplate": {"ansibleSSHPrivateKeySecret": "dataplane-ansible-ssh-private-key-secret"}}});
    let created = api.apply(&nodeset);
    let types: Vec<String> = conditions(&created).into_iter().map(|c| c.0).collect();
    // InitConditions: no bare-metal provisioning for pre-provisioned nodes.
    assert_eq!(
        types,
        [
            "Ready",
            "DeploymentReady",
            "InputReady",
            "NodeSetDNSDataReady",
            "NodeSetIPReservationReady",
            "ServiceAccountReady",
            "SetupReady"
        ]
    );
    let mut provisioned = nodeset.clone();
    provisioned["spec"]["preProvisioned"] = Value::Bool(false);
    let applied = api.apply(&provisioned);
    // Its operator has not seen the change yet: the status is of generation 1.
    assert_eq!(applied["metadata"]["generation"], 2);
    assert_eq!(applied["status"]["observedGeneration"], 1);
    let first = api.get("openstackdataplanenodeset/edpm", "openstack");
    assert_eq!(
        first["status"]["observedGeneration"], 1,
        "the first read after the change"
    );
    let changed = api.get("openstackdataplanenodeset/edpm", "openstack");
    assert_eq!(changed["status"]["observedGeneration"], 2);
    assert!(
        conditions(&changed)
            .iter()
            .any(|c| c.0 == "NodeSetBaremetalProvisionReady"),
        "{changed}"
    );
    let deployment = serde_json::json!({"apiVersion": "dataplane.openstack.org/v1beta1",
        "kind": "OpenStackDataPlaneDeployment", "metadata": {"name": "edpm", "namespace": "openstack"},
        "spec": {"nodeSets": ["edpm"]}});
    let d = api.apply(&deployment);
    assert_eq!(d["status"]["deployed"], false);
    assert_eq!(
        condition(&d, "DeploymentReady"),
        (
            "False".into(),
            "Requested".into(),
            "Info".into(),
            "Deployment in progress".into()
        )
    );
    api.get("openstackdataplanedeployment/edpm", "openstack");
    let done = api.get("osdpd/edpm", "openstack");
    assert_eq!(done["status"]["deployed"], true, "{done}");
    assert_eq!(
        condition(&done, "DeploymentReady"),
        (
            "True".into(),
            "Ready".into(),
            String::new(),
            "Deployment completed".into()
        )
    );
    let ns = api.get("osdpns/edpm", "openstack");
    assert_eq!(
        condition(&ns, "Ready").0,
        "False",
        "one read of the node set so far"
    );
    api.get("osdpns/edpm", "openstack");
    let ns = api.get("osdpns/edpm", "openstack");
    assert_eq!(condition(&ns, "Ready").0, "True", "{ns}");
}

#[test]
fn the_operators_instances_metallb_goes_available_and_nmstate_shows_no_status() {
    let lab = Lab::new();
    let api = Stand::start(&lab);
    api.data_file("progress.json", &serde_json::json!(1));
    api.apply(&namespace("metallb-system"));
    let metallb = serde_json::json!({"apiVersion": "metallb.io/v1beta1", "kind": "MetalLB",
        "metadata": {"name": "metallb", "namespace": "metallb-system"}});
    let first = api.apply(&metallb);
    assert_eq!(condition(&first, "Progressing").0, "True");
    assert_eq!(condition(&first, "Available").0, "False");
    api.get("metallb/metallb", "metallb-system");
    let ready = api.get("metallb/metallb", "metallb-system");
    assert_eq!(condition(&ready, "Available").0, "True");
    assert_eq!(condition(&ready, "Progressing").0, "False");
    // The NMState operator of OpenShift 4.18 writes no status on its NMState.
    let nmstate = serde_json::json!({"apiVersion": "nmstate.io/v1", "kind": "NMState", "metadata": {"name": "nmstate"}});
    api.apply(&nmstate);
    for _ in 0..3 {
        let got = api.json(&["get", "nmstate", "nmstate", "-o", "json"], None);
        assert!(got.get("status").is_none(), "{got}");
    }
}
