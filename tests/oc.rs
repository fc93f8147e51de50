//! The oc binding with a real kubectl (or oc) against a small local HTTP server that serves the
//! article's node and pod lists as the Kubernetes API would (tests/harness/kubeapi.py): no
//! Kubernetes API server can run on this machine.

use crate::support::{spawn_and_read_line, Lab, Spawned};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct KubeApi {
    _server: Spawned,
    pub kubeconfig: PathBuf,
}

impl KubeApi {
    pub fn start(lab: &Lab) -> KubeApi {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (child, port) = spawn_and_read_line(
            Command::new("python3")
                .arg(root.join("tests/harness/kubeapi.py"))
                .arg(root.join("tests/data/k8s")),
        );
        let kubeconfig = lab.file(
            "auth/kubeconfig",
            &format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"http://127.0.0.1:{}\"}}\n  name: ocp4\ncontexts:\n- context: {{cluster: ocp4, user: admin}}\n  name: admin\ncurrent-context: admin\nusers:\n- name: admin\n  user: {{token: recorded}}\n",
                port.trim()
            ),
        );
        KubeApi {
            _server: Spawned(child),
            kubeconfig,
        }
    }
}

#[test]
fn nodes_and_pods_as_the_article_shows_them() {
    let lab = Lab::new();
    let api = KubeApi::start(&lab);
    let f = lab.file(
        "oc.rhai",
        &format!(
            r#"
let kc = "{kc}";
let nodes = oc::nodes(kc);
assert_eq(nodes.len(), 5);
assert_eq(nodes.filter(|n| n.ready).len(), 5);
assert_eq(nodes.filter(|n| n.roles.contains("master")).len(), 3);
assert_eq(nodes[0].version, "v1.14.6+c7d2111b9");
let pods = oc::pods(kc, "openshift-openstack-infra");
assert_eq(pods.len(), 18);
assert_eq(pods.filter(|p| p.name.starts_with("keepalived-")).len(), 5);
let h = pods.filter(|p| p.name == "haproxy-ocp4-4p5fd-master-0")[0];
assert_eq(h.ready, "2/2");
assert_eq(h.restarts, 2);
assert_eq(h.node, "ocp4-4p5fd-master-0");
assert_eq(oc::get(kc, "nodes", #{{name: "ocp4-4p5fd-master-1"}})[0].metadata.name, "ocp4-4p5fd-master-1");
assert_eq(oc::wait_nodes_ready(kc, 5, #{{timeout: 5}}).len(), 5);
oc::wait_nodes_ready(kc, 6, #{{timeout: 1, interval: 0.2}});
"#,
            kc = api.kubeconfig.display()
        ),
    );
    lab.labsh()
        .args(["run", f.to_str().unwrap()])
        .env("HOME", lab.home().to_str().unwrap())
        .run()
        .code(1)
        .stderr_has("5 of 6 nodes Ready after 1s");
}

#[test]
fn a_missing_kubeconfig_plans_and_fails_clearly() {
    let lab = Lab::new();
    let f = lab.file(
        "nokc.rhai",
        "let n = oc::nodes(\"/nonexistent/auth/kubeconfig\");\nassert_eq(n, []);",
    );
    lab.run(["run", "--plan", f.to_str().unwrap()]).ok();
    lab.run_file(&f)
        .code(1)
        .stderr_has("kubeconfig /nonexistent/auth/kubeconfig does not exist");
}
