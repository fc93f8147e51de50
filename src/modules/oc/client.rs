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
        names_a_server(kubeconfig)?;
        return Ok(true);
    }
    if fx.is_plan() {
        return Ok(false);
    }
    Err(Error::not_found(format!(
        "kubeconfig {kubeconfig} does not exist: is the cluster installed?"
    )))
}

/// A kubeconfig that names no cluster's server makes kubectl ask localhost:8080 (client-go's
/// default) instead: refused here, naming the file.
fn names_a_server(kubeconfig: &str) -> Result<(), Error> {
    let text = std::fs::read_to_string(kubeconfig)
        .map_err(|e| Error::failed(format!("cannot read kubeconfig {kubeconfig}: {e}")))?;
    // YAML in block or flow style, or JSON: a `server` key with a URL.
    let server = text
        .lines()
        .any(|l| (l.contains("server:") || l.contains("\"server\":")) && l.contains("://"));
    if server {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "kubeconfig {kubeconfig} names no cluster (no clusters[].cluster.server): kubectl would ask localhost:8080 instead"
    ))
    .with_advice(
        "point it at the cluster's own kubeconfig (the installer's auth/kubeconfig, or a target file's substrate.kubeconfig)",
    ))
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

/// How `kubectl` names a resource's type: `kind.version.group` in lower case (the RESTMapper
/// matches a kind's lower-case name as its singular resource), the kind alone for the core group.
pub fn type_ref(api_version: &str, kind: &str) -> String {
    let kind = kind.to_lowercase();
    match api_version.split_once('/') {
        Some((group, version)) => format!("{kind}.{version}.{group}"),
        None => kind,
    }
}

/// One object (`get TYPE NAME [-n NS] -o json --ignore-not-found`), `None` when the cluster has
/// none of that name (or, in a plan, is not there yet). A read.
pub fn get_one(
    fx: &Effects,
    kubeconfig: &str,
    type_ref: &str,
    name: &str,
    namespace: Option<&str>,
) -> Result<Option<Value>, Error> {
    if !ready(fx, kubeconfig)? {
        return Ok(None);
    }
    let bin = binary();
    let mut args = vec!["get".to_string(), type_ref.to_string(), name.to_string()];
    if let Some(ns) = namespace {
        args.extend(["-n".to_string(), ns.to_string()]);
    }
    args.extend(["-o", "json", "--ignore-not-found"].map(String::from));
    let mut argv = vec![bin.clone(), "--request-timeout=30s".into()];
    argv.extend(args.iter().cloned());
    let mut cmd = Command::new(argv);
    cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
    cmd.timeout = Some(Duration::from_secs(90));
    cmd.max_output = Some(16 << 20);
    let shown = format!("{bin} {}", args.join(" "));
    let out = fx.run_checked(Op::new("oc.get", &shown), &cmd, true)?;
    if out.stdout.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&out.stdout)
        .map(Some)
        .map_err(|e| Error::failed(format!("{shown}: not JSON: {e}")))
}

/// The value of `key` in Secret `name` of `namespace`, decoded, written to `path` (0600):
/// whether the Secret holds that key (`false`, nothing written, when it does not, or in a plan
/// before the cluster is there). The value is never shown.
pub fn secret_to_file(
    fx: &Effects,
    kubeconfig: &str,
    namespace: &str,
    name: &str,
    key: &str,
    path: &str,
) -> Result<bool, Error> {
    use base64::Engine;
    let Some(obj) = get_one(fx, kubeconfig, "secret", name, Some(namespace))? else {
        return Ok(false);
    };
    let Some(b64) = obj["data"][key].as_str() else {
        return Ok(false);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| {
            Error::failed(format!(
                "secret {namespace}/{name}: {key} is not base64: {e}"
            ))
        })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::failed(format!("secret {namespace}/{name}: {key} is not text")))?;
    crate::effects::files::ensure_file(fx, path, &text, true, None)?;
    Ok(true)
}

/// Whether `live` holds every field of `want`: each key of a map with a value it holds, a list
/// of the same length each item held, any other value equal. A `null` in `want` is held by a
/// missing key (the API server drops them).
pub fn holds(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (_, Value::Null) => true,
        (Value::Object(l), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| l.get(k).map_or(v.is_null(), |lv| holds(lv, v))),
        (Value::Array(l), Value::Array(w)) => {
            l.len() == w.len() && l.iter().zip(w).all(|(a, b)| holds(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => live == want,
    }
}

/// A resource as the API server keeps it: a Secret's `stringData` turned into `data` (base64), as
/// the server stores it, so that what the cluster holds can be compared with it.
pub fn as_stored(resource: &Value) -> Value {
    use base64::Engine as _;
    let mut r = resource.clone();
    if r["kind"] == "Secret" && r["apiVersion"] == "v1" {
        if let Some(Value::Object(sd)) = r.as_object_mut().and_then(|m| m.remove("stringData")) {
            let mut data = r["data"].as_object().cloned().unwrap_or_default();
            for (k, v) in sd {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                data.insert(
                    k,
                    Value::String(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
            r["data"] = Value::Object(data);
        }
    }
    r
}

/// What `oc::apply` did to one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// "created", "changed" or "unchanged" (in a plan, what a run would do).
    pub action: &'static str,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// The kind, name and namespace of a resource, or what is missing from it.
pub fn identity(resource: &Value) -> Result<(String, String, String, Option<String>), Error> {
    let text = |v: &Value, what: &str| {
        v.as_str()
            .filter(|s| !s.is_empty())
            .map(String::from)
            .ok_or_else(|| Error::invalid(format!("oc::apply: the resource has no {what}")))
    };
    let api = text(&resource["apiVersion"], "apiVersion")?;
    let kind = text(&resource["kind"], "kind")?;
    let name = text(&resource["metadata"]["name"], "metadata.name")?;
    let ns = resource["metadata"]["namespace"].as_str().map(String::from);
    Ok((api, kind, name, ns))
}

/// Applies one resource server-side (`apply --server-side --field-manager=labsh
/// --force-conflicts --validate=false -f - -o json`, the resource on stdin) after a GET: when the
/// cluster's object already holds every field of it, nothing is written ("unchanged"). `shown` is
/// the resource as output may show it (secrets masked), `exposed` with their values (what the
/// cluster is given). The plan's write names the object and, for a Secret, its keys only.
pub fn apply(
    fx: &Effects,
    kubeconfig: &str,
    shown: &Value,
    exposed: &Value,
) -> Result<Applied, Error> {
    let (api, kind, name, ns) = identity(shown)?;
    let want = as_stored(exposed);
    let live = get_one(fx, kubeconfig, &type_ref(&api, &kind), &name, ns.as_deref())?;
    let target = match &ns {
        Some(n) => format!("{kind}/{name} -n {n}"),
        None => format!("{kind}/{name}"),
    };
    let mut op = Op::new("oc.apply", &target);
    if kind == "Secret" && api == "v1" {
        let keys: Vec<String> = want["data"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        op = op.arg("keys", keys);
    }
    let done = |action| Applied {
        action,
        kind: kind.clone(),
        name: name.clone(),
        namespace: ns.clone(),
    };
    if let Some(l) = &live {
        if holds(l, &want) {
            fx.unchanged(op);
            return Ok(done("unchanged"));
        }
    }
    let action = if live.is_some() { "changed" } else { "created" };
    let bin = binary();
    let argv = [
        bin.as_str(),
        "--request-timeout=30s",
        "apply",
        "--server-side",
        "--field-manager=labsh",
        "--force-conflicts",
        "--validate=false",
        "-f",
        "-",
        "-o",
        "json",
    ];
    let mut cmd = Command::new(argv);
    cmd.env.push(("KUBECONFIG".into(), kubeconfig.into()));
    cmd.timeout = Some(Duration::from_secs(120));
    cmd.stdin = Some(Arg::Plain(want.to_string()));
    let ready = ready(fx, kubeconfig)?;
    fx.change(
        op,
        || {
            if !ready {
                return Ok(());
            }
            let o = fx.exec(&cmd)?;
            if o.code != 0 {
                return Err(Error::failed(
                    o.failure(&format!("{} ({target})", cmd.display())),
                ));
            }
            Ok(())
        },
        || (),
    )?;
    Ok(done(action))
}

/// What `oc::wait_for` waits for: a condition True, or a field equal to a value (any value but
/// empty when `equals` is `None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Until {
    Condition(String),
    Field(String, Option<String>),
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Until::Condition(c) => write!(f, "condition {c} True"),
            Until::Field(p, Some(v)) => write!(f, "{p} {v}"),
            Until::Field(p, None) => write!(f, "{p} set"),
        }
    }
}

/// The value at a dotted path of an object, as text (`None` when absent or empty).
pub fn field(obj: &Value, path: &str) -> Option<String> {
    let mut v = obj;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The object's conditions as one line: `Type Status (Reason): message` each, `; ` between.
pub fn conditions_line(obj: &Value) -> String {
    conditions(obj)
        .iter()
        .map(|c| {
            let mut s = format!(
                "{} {}",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?")
            );
            if let Some(r) = c["reason"].as_str().filter(|r| !r.is_empty()) {
                s.push_str(&format!(" ({r})"));
            }
            if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
                s.push_str(&format!(": {m}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn conditions(obj: &Value) -> Vec<Value> {
    obj["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Where an object stands against `until`: met, failed (a condition False with severity Error,
/// lib-common's condition.SeverityError, openstack-k8s-operators/lib-common
/// modules/common/condition/types.go: the error names it), or still to come.
#[derive(Debug, PartialEq)]
pub enum Standing {
    Met,
    Failed(String),
    Waiting,
}

/// The generation of `obj`'s spec its controller has not reported on yet: `Some((observed,
/// generation))` when its status's observedGeneration is behind metadata.generation (the status
/// is of an older spec: lib-common's operators set observedGeneration when they reconcile).
pub fn unobserved(obj: &Value) -> Option<(u64, u64)> {
    let observed = obj["status"]["observedGeneration"].as_u64()?;
    let generation = obj["metadata"]["generation"].as_u64()?;
    (observed < generation).then_some((observed, generation))
}

/// Where `obj` stands against `until` (see [`Standing`]). A status of an older generation than
/// the object's (its controller has not seen the last change) is waited past, neither met nor
/// failed.
pub fn standing(obj: &Value, until: &Until, fails: &[String]) -> Standing {
    if unobserved(obj).is_some() {
        return Standing::Waiting;
    }
    if let Until::Field(p, _) = until {
        if let Some(v) = field(obj, p).filter(|v| fails.contains(v)) {
            let mut why = format!("{p} is {v}");
            // OLM's objects say why in status.reason and status.message (a
            // ClusterServiceVersion), or in a condition (an InstallPlan's Installed).
            for k in ["reason", "message"] {
                if let Some(t) = obj["status"][k].as_str().filter(|t| !t.is_empty()) {
                    why.push_str(&format!("; {k}: {t}"));
                }
            }
            let open = not_true(obj);
            if !open.is_empty() {
                why.push_str(&format!("; not True: {}", open.join("; ")));
            }
            return Standing::Failed(why);
        }
    }
    // Ready mirrors the first failed condition (lib-common condition Mirror): the failed
    // condition itself is named when there is one.
    let failed: Vec<Value> = conditions(obj)
        .into_iter()
        .filter(|c| c["status"] == "False" && c["severity"] == "Error")
        .collect();
    let first = failed
        .iter()
        .find(|c| c["type"] != "Ready")
        .or_else(|| failed.first());
    if let Some(c) = first {
        let mut why = format!(
            "condition {} is False with severity Error",
            c["type"].as_str().unwrap_or("?")
        );
        if let Some(r) = c["reason"].as_str().filter(|r| !r.is_empty()) {
            why.push_str(&format!(" ({r})"));
        }
        if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
            why.push_str(&format!(": {m}"));
        }
        return Standing::Failed(why);
    }
    let met = match until {
        Until::Condition(t) => conditions(obj)
            .iter()
            .any(|c| c["type"] == t.as_str() && c["status"] == "True"),
        Until::Field(p, want) => match (field(obj, p), want) {
            (Some(v), Some(w)) => &v == w,
            (Some(_), None) => true,
            (None, _) => false,
        },
    };
    if met {
        Standing::Met
    } else {
        Standing::Waiting
    }
}

/// The conditions of `obj` that are not True, for the error on expiry.
pub fn not_true(obj: &Value) -> Vec<String> {
    conditions(obj)
        .iter()
        .filter(|c| c["status"] != "True")
        .map(|c| {
            let mut s = format!(
                "{} {}",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?")
            );
            if let Some(m) = c["message"].as_str().filter(|m| !m.is_empty()) {
                s.push_str(&format!(" ({m})"));
            }
            s
        })
        .collect()
}

/// What to wait for and how long: `oc::wait_for`'s options, read.
#[derive(Debug, Clone)]
pub struct Wait {
    pub type_ref: String,
    pub name: String,
    pub namespace: Option<String>,
    pub until: Until,
    /// Values of the Until::Field's field that end the wait as failed.
    pub fails: Vec<String>,
    pub timeout: Duration,
    pub interval: Duration,
}

/// Waits until the object meets `w.until`, asking every `w.interval`, and returns it; a line of
/// progress each time its conditions change. Fails at once on a condition False with severity
/// Error; on expiry names the conditions not True. In a plan (or before the cluster exists) it
/// does not wait: `None`.
pub fn wait_for(fx: &Effects, kubeconfig: &str, w: &Wait) -> Result<Option<Value>, Error> {
    if fx.is_plan() || !ready(fx, kubeconfig)? {
        return Ok(None);
    }
    let who = match &w.namespace {
        Some(ns) => format!("{}/{} -n {ns}", w.type_ref, w.name),
        None => format!("{}/{}", w.type_ref, w.name),
    };
    let t0 = Instant::now();
    let mut last: Option<String> = None;
    loop {
        // An API server that does not answer for a while (it, its etcd or an aggregated API
        // restarting, as operators' installs and updates make them do) is waited through.
        let (obj, blip) =
            match get_one(fx, kubeconfig, &w.type_ref, &w.name, w.namespace.as_deref()) {
                Ok(o) => (o, None),
                Err(e) if !e.is(crate::error::Kind::Interrupted) && api_blip(&e) => {
                    (None, Some(blip_line(&e)))
                }
                Err(e) => return Err(e),
            };
        let line = match &obj {
            None if blip.is_some() => {
                format!("the API does not answer: {}", blip.as_deref().unwrap_or(""))
            }
            None => "not there yet".to_string(),
            Some(o) if unobserved(o).is_some() => {
                let (seen, now) = unobserved(o).unwrap_or_default();
                format!(
                    "generation {now} not yet seen by its operator (its status is of generation {seen})"
                )
            }
            Some(o) => {
                let c = conditions_line(o);
                match &w.until {
                    Until::Field(p, _) => format!(
                        "{p} {}{}",
                        field(o, p).unwrap_or_else(|| "(unset)".into()),
                        if c.is_empty() {
                            String::new()
                        } else {
                            format!("; {c}")
                        }
                    ),
                    Until::Condition(_) if c.is_empty() => "no conditions yet".into(),
                    Until::Condition(_) => c,
                }
            }
        };
        if last.as_deref() != Some(line.as_str()) {
            progress(fx, &who, &line, t0.elapsed());
            last = Some(line);
        }
        if let Some(o) = &obj {
            match standing(o, &w.until, &w.fails) {
                Standing::Met => return Ok(obj),
                Standing::Failed(why) => {
                    return Err(Error::failed(format!("{who}: {why}")));
                }
                Standing::Waiting => {}
            }
        }
        if t0.elapsed() >= w.timeout {
            let open = obj.as_ref().map(not_true).unwrap_or_default();
            return Err(Error::timed_out(format!(
                "{who}: not {} after {}s; {}",
                w.until,
                w.timeout.as_secs(),
                match &obj {
                    None if blip.is_some() =>
                        format!("the API does not answer: {}", blip.as_deref().unwrap_or("")),
                    None => "it does not exist".to_string(),
                    Some(_) if open.is_empty() => "no condition is False or Unknown".to_string(),
                    Some(_) => format!("not True: {}", open.join("; ")),
                }
            )));
        }
        // Asleep in short steps, so that a stop is seen at once.
        let until = Instant::now()
            + w.interval
                .min(w.timeout.saturating_sub(t0.elapsed()))
                .max(Duration::from_millis(50));
        while Instant::now() < until {
            fx.check_cancel()?;
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(200)));
        }
    }
}

/// What kubectl says when the API server does not answer for a while: it, its etcd or an
/// aggregated API restarting (k8s.io/apimachinery pkg/api/errors: ServiceUnavailable,
/// TooManyRequests; client-go's connection errors), or a request that ran out of time.
const API_BLIPS: [&str; 11] = [
    "ServiceUnavailable",
    "the server is currently unable to handle the request",
    "TooManyRequests",
    "was refused - did you specify the right host or port",
    "connection refused",
    "connection reset by peer",
    "i/o timeout",
    "TLS handshake timeout",
    "unexpected EOF",
    "http2: client connection lost",
    "etcdserver: request timed out",
];

/// Whether `e` is the API server not answering for now (see API_BLIPS), not an answer.
fn api_blip(e: &Error) -> bool {
    e.is(crate::error::Kind::TimedOut) || API_BLIPS.iter().any(|m| e.message().contains(m))
}

/// The line of `e` that says what the API did: the last one that names a blip.
fn blip_line(e: &Error) -> String {
    e.message()
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| API_BLIPS.iter().any(|m| l.contains(m)))
        .unwrap_or_else(|| e.message().lines().next().unwrap_or("").trim())
        .to_string()
}

/// A line of a wait's progress: on stderr for a person, an event in JSON mode.
fn progress(fx: &Effects, who: &str, line: &str, elapsed: Duration) {
    let p = fx.printer();
    if p.is_json() {
        p.event(
            serde_json::json!({"event": "progress", "object": who, "status": line,
                                   "s": elapsed.as_secs()}),
        );
    } else {
        p.status(&format!("  wait {who} ({}s): {line}", elapsed.as_secs()));
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

    #[test]
    fn type_refs_name_the_group_and_version() {
        assert_eq!(
            type_ref("operators.coreos.com/v1alpha1", "Subscription"),
            "subscription.v1alpha1.operators.coreos.com"
        );
        assert_eq!(type_ref("v1", "Secret"), "secret");
    }

    #[test]
    fn an_object_holds_a_resource_when_it_has_every_field() {
        let live = serde_json::json!({"metadata": {"name": "a", "resourceVersion": "7", "labels": {"x": "1"}},
            "spec": {"replicas": 1, "list": [{"a": 1, "b": 2}], "mtu": 1500.0}, "status": {"ok": true}});
        assert!(holds(
            &live,
            &serde_json::json!({"metadata": {"name": "a"}, "spec": {"replicas": 1, "list": [{"a": 1}], "mtu": 1500}})
        ));
        assert!(holds(&live, &serde_json::json!({"spec": {"gone": null}})));
        assert!(!holds(&live, &serde_json::json!({"spec": {"replicas": 2}})));
        assert!(!holds(
            &live,
            &serde_json::json!({"spec": {"list": [{"a": 1}, {"a": 2}]}})
        ));
        assert!(!holds(&live, &serde_json::json!({"spec": {"new": "x"}})));
        assert!(!holds(
            &live,
            &serde_json::json!({"spec": {"replicas": "1"}})
        ));
    }

    #[test]
    fn a_secrets_string_data_is_stored_as_base64_data() {
        let r = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "osp-secret"},
            "data": {"a": "eA=="}, "stringData": {"AdminPassword": "hunter22"}});
        let s = as_stored(&r);
        assert_eq!(s["data"]["AdminPassword"], "aHVudGVyMjI=");
        assert_eq!(s["data"]["a"], "eA==");
        assert!(s.get("stringData").is_none());
        let cm =
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "stringData": {"a": "b"}});
        assert_eq!(as_stored(&cm), cm);
    }

    #[test]
    fn a_status_of_an_older_generation_is_waited_past() {
        let ready = Until::Condition("Ready".into());
        let at = |observed: u64, generation: u64, status: &str, severity: &str| {
            serde_json::json!({"metadata": {"generation": generation},
                "status": {"observedGeneration": observed,
                           "conditions": [{"type": "Ready", "status": status, "severity": severity}]}})
        };
        // Ready, but of the spec before the last change: not met yet.
        assert_eq!(unobserved(&at(1, 2, "True", "")), Some((1, 2)));
        assert_eq!(
            standing(&at(1, 2, "True", ""), &ready, &[]),
            Standing::Waiting
        );
        // A failure of the spec before the change is not this spec's.
        assert_eq!(
            standing(&at(1, 2, "False", "Error"), &ready, &[]),
            Standing::Waiting
        );
        // Seen: as the conditions say.
        assert_eq!(unobserved(&at(2, 2, "True", "")), None);
        assert_eq!(standing(&at(2, 2, "True", ""), &ready, &[]), Standing::Met);
        assert!(matches!(
            standing(&at(2, 2, "False", "Error"), &ready, &[]),
            Standing::Failed(_)
        ));
        // No observedGeneration (a kind whose operator sets none): the conditions alone.
        let plain = serde_json::json!({"metadata": {"generation": 3}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(standing(&plain, &ready, &[]), Standing::Met);
    }

    #[test]
    fn standing_reads_conditions_fields_and_errors() {
        let obj = |conds: Value| serde_json::json!({"status": {"phase": "Installing", "conditions": conds}});
        let ready = Until::Condition("Ready".into());
        let progressing = obj(
            serde_json::json!([{"type": "Ready", "status": "False", "severity": "Info", "reason": "Requested", "message": "Setup started"}]),
        );
        assert_eq!(standing(&progressing, &ready, &[]), Standing::Waiting);
        assert_eq!(not_true(&progressing), vec!["Ready False (Setup started)"]);
        assert_eq!(
            conditions_line(&progressing),
            "Ready False (Requested): Setup started"
        );
        let done = obj(serde_json::json!([{"type": "Ready", "status": "True"}]));
        assert_eq!(standing(&done, &ready, &[]), Standing::Met);
        let failed = obj(
            serde_json::json!([{"type": "Ready", "status": "False", "severity": "Warning"},
            {"type": "OpenStackControlPlaneKeystoneAPIReady", "status": "False", "severity": "Error", "reason": "Error", "message": "KeystoneAPI error occurred"}]),
        );
        assert_eq!(standing(&failed, &ready, &[]), Standing::Failed(
            "condition OpenStackControlPlaneKeystoneAPIReady is False with severity Error (Error): KeystoneAPI error occurred".into()));
        // Ready mirrors the failure (lib-common's Mirror): the condition that failed is named.
        let mirrored = obj(
            serde_json::json!([{"type": "Ready", "status": "False", "severity": "Error", "reason": "Error", "message": "KeystoneAPI error occurred"},
            {"type": "OpenStackControlPlaneKeystoneAPIReady", "status": "False", "severity": "Error", "reason": "Error", "message": "KeystoneAPI error occurred"}]),
        );
        assert!(
            matches!(standing(&mirrored, &ready, &[]), Standing::Failed(w) if w.starts_with("condition OpenStackControlPlaneKeystoneAPIReady "))
        );
        let phase = Until::Field("status.phase".into(), Some("Succeeded".into()));
        assert_eq!(standing(&done, &phase, &[]), Standing::Waiting);
        let csv = serde_json::json!({"status": {"phase": "Succeeded"}});
        assert_eq!(standing(&csv, &phase, &[]), Standing::Met);
        assert_eq!(
            standing(&csv, &Until::Field("status.installedCSV".into(), None), &[]),
            Standing::Waiting
        );
        assert_eq!(
            field(
                &serde_json::json!({"status": {"installedCSV": "x.v1"}}),
                "status.installedCSV"
            )
            .as_deref(),
            Some("x.v1")
        );
    }

    #[test]
    fn a_field_holding_a_failing_value_ends_the_wait_with_why() {
        let phase = Until::Field("status.phase".into(), Some("Complete".into()));
        let fails = ["Failed".to_string()];
        let plan = |p: &str| {
            serde_json::json!({"status": {"phase": p, "conditions": [{"type": "Installed",
                "status": "False", "reason": "InstallComponentFailed",
                "message": "error creating csv openstack-operator.v1.0.6"}]}})
        };
        assert_eq!(
            standing(&plan("Installing"), &phase, &fails),
            Standing::Waiting
        );
        assert_eq!(
            standing(&plan("Failed"), &phase, &fails),
            Standing::Failed(
                "status.phase is Failed; not True: Installed False (error creating csv openstack-operator.v1.0.6)"
                    .into()
            )
        );
        // Without `fails`, Failed is only not Complete yet.
        assert_eq!(standing(&plan("Failed"), &phase, &[]), Standing::Waiting);
        let csv = serde_json::json!({"status": {"phase": "Failed", "reason": "InstallCheckFailed",
            "message": "install timeout"}});
        let succeeded = Until::Field("status.phase".into(), Some("Succeeded".into()));
        assert_eq!(
            standing(&csv, &succeeded, &fails),
            Standing::Failed(
                "status.phase is Failed; reason: InstallCheckFailed; message: install timeout"
                    .into()
            )
        );
    }

    #[test]
    fn an_api_that_does_not_answer_is_told_from_one_that_answers_no() {
        let blip = Error::failed(
            "command failed with exit code 1: kubectl get x\n    Error from server (ServiceUnavailable): the server is currently unable to handle the request (get x y)",
        );
        assert!(api_blip(&blip));
        assert_eq!(
            blip_line(&blip),
            "Error from server (ServiceUnavailable): the server is currently unable to handle the request (get x y)"
        );
        assert!(api_blip(&Error::failed(
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?"
        )));
        assert!(api_blip(&Error::timed_out(
            "kubectl get x: no answer in 90s"
        )));
        for answer in [
            "Error from server (Forbidden): openstackcontrolplanes is forbidden",
            "error: the server doesn't have a resource type \"openstackcontrolplane\"",
            "error: You must be logged in to the server (Unauthorized)",
        ] {
            assert!(!api_blip(&Error::failed(answer)), "{answer}");
        }
    }

    #[test]
    fn a_kubeconfig_that_names_no_server_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let fx = Effects::for_tests(crate::effects::Mode::Apply);
        // Block and flow YAML, and JSON.
        for text in [
            "apiVersion: v1\nclusters:\n- cluster:\n    server: https://api.rhoso.example.com:6443\n  name: c\n",
            "clusters:\n- cluster: {server: \"http://127.0.0.1:1\"}\n  name: c\n",
            "{\"clusters\":[{\"cluster\":{\"server\":\"https://x:6443\"}}]}",
        ] {
            let good = dir.path().join("good");
            std::fs::write(&good, text).unwrap();
            assert!(ready(&fx, good.to_str().unwrap()).unwrap(), "{text}");
        }
        for text in ["", "apiVersion: v1\nkind: Config\nclusters: []\n"] {
            let bad = dir.path().join("bad");
            std::fs::write(&bad, text).unwrap();
            let e = ready(&fx, bad.to_str().unwrap()).unwrap_err();
            assert!(e.is(crate::error::Kind::Invalid), "{e}");
            assert!(e.message().contains("names no cluster"), "{e}");
        }
    }

    #[test]
    fn a_resource_without_a_name_is_refused() {
        let e =
            identity(&serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {}}))
                .unwrap_err();
        assert!(e.to_string().contains("metadata.name"), "{e}");
    }

    #[test]
    fn a_plan_before_the_cluster_exists_plans_the_write_and_names_a_secrets_keys_only() {
        let fx = Effects::for_tests(crate::effects::Mode::Plan);
        let r = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "osp-secret", "namespace": "openstack"},
            "stringData": {"AdminPassword": "«secret rhoso-admin»"}});
        let a = apply(&fx, "/nonexistent/kubeconfig", &r, &r).unwrap();
        assert_eq!(a.action, "created");
        assert_eq!(a.namespace.as_deref(), Some("openstack"));
        let planned: u64 = fx.stats().iter().map(|s| s.planned).sum();
        assert_eq!(planned, 1);
        // No wait in a plan.
        let w = Wait {
            type_ref: "secret".into(),
            name: "osp-secret".into(),
            namespace: None,
            until: Until::Condition("Ready".into()),
            fails: vec![],
            timeout: Duration::from_secs(1),
            interval: Duration::from_secs(1),
        };
        assert_eq!(wait_for(&fx, "/nonexistent/kubeconfig", &w).unwrap(), None);
    }

    /// apply and wait_for through a client that keeps one object in a folder: a create, then no
    /// write; a wait that sees the conditions change and ends Ready; a condition failed with
    /// severity Error stops the wait at once with its message.
    /// A kubeconfig of a cluster on a closed port: a fake kubectl answers instead.
    const CLOSED_PORT_KUBECONFIG: &str =
        "clusters: [{cluster: {server: \"https://127.0.0.1:1\"}}]\n";

    #[test]
    fn apply_and_wait_through_a_client() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let kc = d.join("kubeconfig");
        std::fs::write(&kc, CLOSED_PORT_KUBECONFIG).unwrap();
        let fake = d.join("kubectl");
        std::fs::write(
            &fake,
            format!(
                r#"#!/bin/bash
D={d}
case " $* " in
  *" apply "*) cat > $D/live.json; echo apply >> $D/writes; cat $D/live.json ;;
  *" get "*) n=$(cat $D/reads 2>/dev/null || echo 0); echo $((n+1)) > $D/reads
     if [ -f $D/status-$n.json ]; then cp $D/status-$n.json $D/live.json; fi
     if [ -f $D/live.json ]; then cat $D/live.json; fi ;;
esac
"#,
                d = d.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::env::set_var("LABSH_OC", &fake);
        let fx = Effects::for_tests(crate::effects::Mode::Apply);
        let kc = kc.display().to_string();
        let r = serde_json::json!({"apiVersion": "core.openstack.org/v1beta1", "kind": "OpenStackControlPlane",
            "metadata": {"name": "cp", "namespace": "openstack"}, "spec": {"secret": "osp-secret"}});
        assert_eq!(apply(&fx, &kc, &r, &r).unwrap().action, "created");
        assert_eq!(apply(&fx, &kc, &r, &r).unwrap().action, "unchanged");
        assert_eq!(
            std::fs::read_to_string(d.join("writes")).unwrap(),
            "apply\n"
        );
        let mut r2 = r.clone();
        r2["spec"]["storageClass"] = "lvms-vg1".into();
        assert_eq!(apply(&fx, &kc, &r2, &r2).unwrap().action, "changed");
        let with = |conds: Value| {
            let mut o = r2.clone();
            o["status"] = serde_json::json!({"conditions": conds});
            o.to_string()
        };
        let n: u64 = std::fs::read_to_string(d.join("reads"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        std::fs::write(d.join(format!("status-{n}.json")), with(serde_json::json!([{"type": "Ready", "status": "False", "message": "Setup started"}]))).unwrap();
        std::fs::write(
            d.join(format!("status-{}.json", n + 2)),
            with(serde_json::json!([{"type": "Ready", "status": "True"}])),
        )
        .unwrap();
        let w = Wait {
            type_ref: "openstackcontrolplane".into(),
            name: "cp".into(),
            namespace: Some("openstack".into()),
            until: Until::Condition("Ready".into()),
            fails: vec![],
            timeout: Duration::from_secs(20),
            interval: Duration::from_millis(50),
        };
        let got = wait_for(&fx, &kc, &w).unwrap().unwrap();
        assert_eq!(got["status"]["conditions"][0]["status"], "True");
        std::fs::write(
            d.join("live.json"),
            with(
                serde_json::json!([{"type": "Ready", "status": "False", "severity": "Error",
            "reason": "Error", "message": "the galera pods failed"}]),
            ),
        )
        .unwrap();
        let e = wait_for(&fx, &kc, &w).unwrap_err();
        assert!(
            e.to_string().contains(
                "condition Ready is False with severity Error (Error): the galera pods failed"
            ),
            "{e}"
        );
        std::fs::write(
            d.join("live.json"),
            with(serde_json::json!([{"type": "Ready", "status": "Unknown", "message": "Init"}])),
        )
        .unwrap();
        let short = Wait {
            timeout: Duration::from_millis(200),
            ..w
        };
        let e = wait_for(&fx, &kc, &short).unwrap_err();
        assert!(
            e.to_string()
                .contains("not condition Ready True after 0s; not True: Ready Unknown (Init)"),
            "{e}"
        );
    }
}
