//! `oc`: the cluster through the user's `oc` (or `kubectl` when oc is absent), with KUBECONFIG
//! set per call, `-o json` and a request timeout. Reads run in plan mode too; a kubeconfig that
//! does not exist yet in plan mode reads as an empty cluster.

use crate::effects::process::Command;
use crate::effects::Op;
use crate::engine::value;
use crate::modules::opts::{to_arg, Opts};
use crate::session::{rt_err, session};
use rhai::plugin::*;
use rhai::{Array, EvalAltResult, Map, NativeCallContext};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<EvalAltResult>>;

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

/// Runs the client with `args` (a read). `None` in plan mode when the kubeconfig is not there yet.
fn read_json(ctx: &NativeCallContext, kubeconfig: &str, args: &[String]) -> Res<Option<Value>> {
    let s = session(ctx)?;
    if !Path::new(kubeconfig).is_file() {
        if s.effects.is_plan() {
            return Ok(None);
        }
        return Err(rt_err(
            ctx,
            format!("kubeconfig {kubeconfig} does not exist: is the cluster installed?"),
        ));
    }
    let bin = binary();
    let mut argv = vec![bin.clone(), "--request-timeout=30s".into()];
    argv.extend(args.iter().cloned());
    let mut cmd = Command::new(argv);
    cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
    cmd.timeout = Some(Duration::from_secs(90));
    let shown = format!("{bin} {}", args.join(" "));
    let fx = &s.effects;
    let out = fx
        .run_checked(Op::new("oc.get", &shown), &cmd, true)
        .map_err(|e| rt_err(ctx, e.to_string()))?;
    serde_json::from_str(&out.stdout)
        .map(Some)
        .map_err(|e| rt_err(ctx, format!("{shown}: not JSON: {e}")))
}

fn items(v: Option<Value>) -> Vec<Value> {
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

/// Node summaries (see [`node_summary`]).
fn node_list(ctx: &NativeCallContext, kubeconfig: &str) -> Res<Vec<Value>> {
    let args: Vec<String> = ["get", "nodes", "-o", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    Ok(items(read_json(ctx, kubeconfig, &args)?)
        .iter()
        .map(node_summary)
        .collect())
}

#[export_module]
pub mod oc_fns {
    /// Any resource as JSON items: `oc::get(kubeconfig, "pods", #{namespace, name, selector,
    /// all_namespaces})`. A read; `[]` in plan mode before the cluster exists.
    ///
    /// ```rhai
    /// if plan_mode() { let pods = oc::get("/nonexistent/kubeconfig", "pods", #{namespace: "openshift-openstack-infra"}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn get(ctx: NativeCallContext, kubeconfig: &str, resource: &str, opts: Map) -> Res<Array> {
        let o = Opts::new(
            "oc::get",
            opts,
            &["namespace", "name", "selector", "all_namespaces"],
        )
        .map_err(|e| rt_err(&ctx, e))?;
        let mut args = vec!["get".to_string(), resource.to_string()];
        if let Some(n) = o.str("name").map_err(|e| rt_err(&ctx, e))? {
            args.push(n);
        }
        if let Some(ns) = o.str("namespace").map_err(|e| rt_err(&ctx, e))? {
            args.push("-n".into());
            args.push(ns);
        }
        if let Some(sel) = o.str("selector").map_err(|e| rt_err(&ctx, e))? {
            args.push("-l".into());
            args.push(sel);
        }
        if o.bool("all_namespaces", false)
            .map_err(|e| rt_err(&ctx, e))?
        {
            args.push("--all-namespaces".into());
        }
        args.extend(["-o".to_string(), "json".to_string()]);
        Ok(super::items(super::read_json(&ctx, kubeconfig, &args)?)
            .iter()
            .map(value::from_json)
            .collect())
    }

    /// The nodes: `[#{name, ready, roles, version, internal_ip}]`.
    ///
    /// ```rhai
    /// if plan_mode() { let ready = oc::nodes("/nonexistent/kubeconfig").filter(|n| n.ready).len(); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn nodes(ctx: NativeCallContext, kubeconfig: &str) -> Res<Array> {
        let args: Vec<String> = ["get", "nodes", "-o", "json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Ok(super::items(super::read_json(&ctx, kubeconfig, &args)?)
            .iter()
            .map(|n| value::from_json(&super::node_summary(n)))
            .collect())
    }

    /// The pods of a namespace: `[#{name, namespace, phase, ready ("1/1"), restarts, node, ip}]`.
    ///
    /// ```rhai
    /// if plan_mode() { let infra = oc::pods("/nonexistent/kubeconfig", "openshift-openstack-infra"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn pods(ctx: NativeCallContext, kubeconfig: &str, namespace: &str) -> Res<Array> {
        let args: Vec<String> = ["get", "pods", "-n", namespace, "-o", "json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        Ok(super::items(super::read_json(&ctx, kubeconfig, &args)?)
            .iter()
            .map(|p| value::from_json(&super::pod_summary(p)))
            .collect())
    }

    /// Runs a command in a pod (`oc exec -n NS POD -- ARGV`) and returns its stdout. A read
    /// (use it for commands that change nothing); `""` in plan mode before the cluster exists.
    ///
    /// ```rhai
    /// if plan_mode() { oc::exec("/nonexistent/kubeconfig", "openshift-openstack-infra", "keepalived-ocp4-4p5fd-master-0", ["cat", "/etc/keepalived/keepalived.conf"]); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn exec(
        ctx: NativeCallContext,
        kubeconfig: &str,
        namespace: &str,
        pod: &str,
        argv: Array,
    ) -> Res<String> {
        let s = session(&ctx)?;
        if !Path::new(kubeconfig).is_file() {
            if s.effects.is_plan() {
                return Ok(String::new());
            }
            return Err(rt_err(
                &ctx,
                format!("kubeconfig {kubeconfig} does not exist: is the cluster installed?"),
            ));
        }
        let bin = super::binary();
        let mut a = vec![
            bin.clone(),
            "--request-timeout=30s".into(),
            "exec".into(),
            "-n".into(),
            namespace.into(),
            pod.into(),
            "--".into(),
        ];
        for x in &argv {
            a.push(to_arg(x).map_err(|e| rt_err(&ctx, e))?.shown());
        }
        let mut cmd = Command::new(a.clone());
        cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
        cmd.timeout = Some(Duration::from_secs(120));
        let fx = &s.effects;
        let out = fx
            .run_checked(Op::new("oc.exec", a.join(" ")), &cmd, true)
            .map_err(|e| rt_err(&ctx, e.to_string()))?;
        Ok(out.stdout)
    }

    /// Waits until at least `count` nodes are Ready (`#{timeout (seconds, 1800), interval (10)}`);
    /// returns the nodes. The error on expiry lists the nodes that are not Ready.
    ///
    /// ```rhai
    /// if plan_mode() { oc::wait_nodes_ready("/nonexistent/kubeconfig", 5, #{timeout: 60}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait_nodes_ready(
        ctx: NativeCallContext,
        kubeconfig: &str,
        count: i64,
        opts: Map,
    ) -> Res<Array> {
        let o = Opts::new("oc::wait_nodes_ready", opts, &["timeout", "interval"])
            .map_err(|e| rt_err(&ctx, e))?;
        let timeout = o
            .seconds("timeout")
            .map_err(|e| rt_err(&ctx, e))?
            .unwrap_or(Duration::from_secs(1800));
        let interval = o
            .seconds("interval")
            .map_err(|e| rt_err(&ctx, e))?
            .unwrap_or(Duration::from_secs(10));
        let s = session(&ctx)?;
        if s.effects.is_plan() && !Path::new(kubeconfig).is_file() {
            return Ok(vec![]);
        }
        let t0 = Instant::now();
        loop {
            let nodes = super::node_list(&ctx, kubeconfig)?;
            let ready = nodes.iter().filter(|n| n["ready"] == true).count() as i64;
            if ready >= count {
                return Ok(nodes.iter().map(value::from_json).collect());
            }
            if t0.elapsed() >= timeout {
                let not: Vec<String> = nodes
                    .iter()
                    .filter(|n| n["ready"] != true)
                    .map(|n| n["name"].as_str().unwrap_or_default().to_string())
                    .collect();
                return Err(rt_err(
                    &ctx,
                    format!(
                        "{ready} of {count} nodes Ready after {}s; not Ready: {}",
                        timeout.as_secs(),
                        if not.is_empty() {
                            "(none listed yet)".into()
                        } else {
                            not.join(", ")
                        }
                    ),
                ));
            }
            s.effects.check_cancel().map_err(|e| rt_err(&ctx, e))?;
            std::thread::sleep(
                interval
                    .min(timeout.saturating_sub(t0.elapsed()))
                    .max(Duration::from_millis(50)),
            );
        }
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
