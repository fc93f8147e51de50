//! The cluster through `oc` or `kubectl`, with no Rhai types: the client found, KUBECONFIG per
//! call, `-o json` read back, nodes and pods summarized, a command in a pod, and the wait for Ready
//! nodes; every call a read through the effects seam.

use crate::effects::process::{Arg, Command};
use crate::effects::{Effects, Error, Op};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// `oc` when it is on PATH, else `kubectl`; `LABSH_OC` overrides.
pub fn binary() -> String {
    if let Ok(b) = std::env::var("LABSH_OC") {
        if !b.is_empty() {
            return b;
        }
    }
    if crate::util::path::on_path("oc") {
        "oc".into()
    } else {
        "kubectl".into()
    }
}

/// Whether the cluster can be asked: `false` in plan mode when the kubeconfig is not there yet (the
/// cluster reads as empty), an error in a run.
pub fn ready(fx: &Effects, kubeconfig: &str) -> Result<bool, Error> {
    if Path::new(kubeconfig).is_file() {
        return Ok(true);
    }
    if fx.is_plan() {
        return Ok(false);
    }
    Err(Error::not_found(format!(
        "kubeconfig {kubeconfig} does not exist: is the cluster installed?"
    )))
}

/// Runs the client with `args` (a read). `None` in plan mode when the kubeconfig is not there yet.
pub fn read_json(fx: &Effects, kubeconfig: &str, args: &[String]) -> Result<Option<Value>, Error> {
    if !ready(fx, kubeconfig)? {
        return Ok(None);
    }
    let bin = binary();
    let mut argv = vec![bin.clone(), "--request-timeout=30s".into()];
    argv.extend(args.iter().cloned());
    let mut cmd = Command::new(argv);
    cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
    cmd.timeout = Some(Duration::from_secs(90));
    // A list of a whole cluster is parsed here, never held by a script: more than a string's worth.
    cmd.max_output = Some(64 << 20);
    let shown = format!("{bin} {}", args.join(" "));
    let out = fx.run_checked(Op::new("oc.get", &shown), &cmd, true)?;
    serde_json::from_str(&out.stdout)
        .map(Some)
        .map_err(|e| Error::failed(format!("{shown}: not JSON: {e}")))
}

/// The items of a list the client printed (one object as a list of one).
pub fn items(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Object(mut m)) => match m.remove("items") {
            Some(Value::Array(a)) => a,
            Some(_) => vec![],
            None => vec![Value::Object(m)],
        },
        _ => vec![],
    }
}

/// A node as a summary: name, Ready, roles, kubelet version, internal IP.
pub fn node_summary(n: &Value) -> Value {
    let ready = n["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let roles: Vec<String> = n["metadata"]["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.strip_prefix("node-role.kubernetes.io/").map(String::from))
        .collect();
    let ip = n["status"]["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["type"] == "InternalIP")
        .map(|a| a["address"].clone())
        .unwrap_or(Value::Null);
    serde_json::json!({
        "name": n["metadata"]["name"],
        "ready": ready,
        "roles": roles,
        "version": n["status"]["nodeInfo"]["kubeletVersion"],
        "internal_ip": ip,
    })
}

/// A pod as a summary: name, phase, ready "n/m", restarts, node, IP.
pub fn pod_summary(p: &Value) -> Value {
    let cs: Vec<&Value> = p["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let ready = cs.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = cs
        .iter()
        .map(|c| c["restartCount"].as_i64().unwrap_or(0))
        .sum();
    serde_json::json!({
        "name": p["metadata"]["name"],
        "namespace": p["metadata"]["namespace"],
        "phase": p["status"]["phase"],
        "ready": format!("{ready}/{}", cs.len()),
        "restarts": restarts,
        "node": p["spec"]["nodeName"],
        "ip": p["status"]["podIP"],
    })
}

/// The nodes as summaries (see [`node_summary`]).
pub fn nodes(fx: &Effects, kubeconfig: &str) -> Result<Vec<Value>, Error> {
    summaries(
        fx,
        kubeconfig,
        &["get", "nodes", "-o", "json"],
        node_summary,
    )
}

/// The pods of `namespace` as summaries (see [`pod_summary`]).
pub fn pods(fx: &Effects, kubeconfig: &str, namespace: &str) -> Result<Vec<Value>, Error> {
    let args = ["get", "pods", "-n", namespace, "-o", "json"];
    summaries(fx, kubeconfig, &args, pod_summary)
}

/// The items a `get ... -o json` lists, each as `summary` makes it.
fn summaries(
    fx: &Effects,
    kubeconfig: &str,
    args: &[&str],
    summary: fn(&Value) -> Value,
) -> Result<Vec<Value>, Error> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    Ok(items(read_json(fx, kubeconfig, &args)?)
        .iter()
        .map(summary)
        .collect())
}

/// Runs `argv` in `pod` of `namespace` (`oc exec`, a read) and returns its stdout: "" in a plan
/// before the kubeconfig exists ([`ready`]). A secret among `argv` reaches the pod as its value
/// and shows as its mask.
pub fn exec(
    fx: &Effects,
    kubeconfig: &str,
    namespace: &str,
    pod: &str,
    argv: Vec<Arg>,
) -> Result<String, Error> {
    if !ready(fx, kubeconfig)? {
        return Ok(String::new());
    }
    let mut a: Vec<Arg> = [
        binary().as_str(),
        "--request-timeout=30s",
        "exec",
        "-n",
        namespace,
        pod,
        "--",
    ]
    .into_iter()
    .map(Arg::from)
    .collect();
    a.extend(argv);
    let shown = a.iter().map(Arg::shown).collect::<Vec<_>>().join(" ");
    let mut cmd = Command::new(a);
    cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
    cmd.timeout = Some(Duration::from_secs(120));
    let out = fx.run_checked(Op::new("oc.exec", shown), &cmd, true)?;
    Ok(out.stdout)
}

/// Approves certificate signing requests by name (`oc adm certificate approve`, `kubectl
/// certificate approve`): a change, shown in a plan.
pub fn certificate_approve(fx: &Effects, kubeconfig: &str, names: &[String]) -> Result<(), Error> {
    if names.is_empty() {
        return Ok(());
    }
    let bin = binary();
    let mut argv = vec![bin.clone(), "--request-timeout=30s".into()];
    if bin.ends_with("oc") {
        argv.push("adm".into());
    }
    argv.push("certificate".into());
    argv.push("approve".into());
    argv.extend(names.iter().cloned());
    let shown = argv.join(" ");
    let op = Op::new("oc.certificate.approve", &shown);
    if !ready(fx, kubeconfig)? {
        return fx.planned_step(op);
    }
    let mut cmd = Command::new(argv);
    cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
    cmd.timeout = Some(Duration::from_secs(90));
    fx.run_checked(op, &cmd, false).map(|_| ())
}

/// Waits until at least `count` nodes are Ready, asking every `interval`; returns the nodes (none
/// in plan mode before the cluster exists). The error on expiry lists the nodes not Ready.
pub fn wait_nodes_ready(
    fx: &Effects,
    kubeconfig: &str,
    count: i64,
    timeout: Duration,
    interval: Duration,
) -> Result<Vec<Value>, Error> {
    if !ready(fx, kubeconfig)? {
        return Ok(vec![]);
    }
    let t0 = Instant::now();
    loop {
        let nodes = nodes(fx, kubeconfig)?;
        let ready = nodes.iter().filter(|n| n["ready"] == true).count() as i64;
        if ready >= count {
            return Ok(nodes);
        }
        if t0.elapsed() >= timeout {
            let not: Vec<String> = nodes
                .iter()
                .filter(|n| n["ready"] != true)
                .map(|n| n["name"].as_str().unwrap_or_default().to_string())
                .collect();
            return Err(Error::timed_out(format!(
                "{ready} of {count} nodes Ready after {}s; not Ready: {}",
                timeout.as_secs(),
                if not.is_empty() {
                    "(none listed yet)".into()
                } else {
                    not.join(", ")
                }
            )));
        }
        fx.check_cancel()?;
        std::thread::sleep(
            interval
                .min(timeout.saturating_sub(t0.elapsed()))
                .max(Duration::from_millis(50)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let n = serde_json::json!({"metadata": {"name": "ocp4-4p5fd-master-0", "labels": {"node-role.kubernetes.io/master": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.14.6+c7d2111b9"},
                       "addresses": [{"type": "InternalIP", "address": "10.0.0.11"}]}});
        let s = node_summary(&n);
        assert_eq!(s["ready"], true);
        assert_eq!(s["roles"][0], "master");
        assert_eq!(s["internal_ip"], "10.0.0.11");
        let p = serde_json::json!({"metadata": {"name": "haproxy-ocp4-4p5fd-master-0", "namespace": "x"}, "spec": {"nodeName": "m0"},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 2}, {"ready": true, "restartCount": 0}]}});
        let s = pod_summary(&p);
        assert_eq!(s["ready"], "2/2");
        assert_eq!(s["restarts"], 2);
    }
}
