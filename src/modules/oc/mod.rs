//! `oc`: the cluster through the user's `oc` (or `kubectl` when oc is absent), with KUBECONFIG
//! set per call, `-o json` and a request timeout. Reads run in plan mode too; a kubeconfig that
//! does not exist yet in plan mode reads as an empty cluster. This file reads the Rhai values;
//! client.rs asks the cluster.

pub mod client;

use crate::engine::value;
use crate::modules::opts::{option_spec, to_word, OptField, OptionSpec, Seconds};
use crate::session::{rt_err, with_effects};
use rhai::plugin::*;
use rhai::{Array, Map, NativeCallContext};
use std::time::Duration;

use crate::session::Res;

option_spec! {
    /// The options of `oc::get`.
    pub struct GetOpts {
        /// The namespace (`-n`).
        namespace: Option<String>,
        /// One resource by name.
        name: Option<String>,
        /// A label selector (`-l`).
        selector: Option<String>,
        /// Every namespace (default false).
        all_namespaces: Option<bool>,
    }
}

option_spec! {
    /// The options of `oc::wait_nodes_ready`.
    pub struct WaitNodesOpts {
        /// Seconds before it gives up (default 1800).
        timeout: Option<Seconds>,
        /// Seconds between looks (default 10).
        interval: Option<Seconds>,
    }
}

option_spec! {
    /// The options of `oc::wait_for`.
    pub struct WaitForOpts {
        /// The object's namespace (`-n`); none for a cluster-scoped kind.
        namespace: Option<String>,
        /// The condition that must be True (default "Ready"; not with `field`).
        condition: Option<String>,
        /// A field of the object to wait on instead, as a dotted path ("status.phase").
        field: Option<String>,
        /// The value `field` must have (without it, any value but empty).
        equals: Option<String>,
        /// Values of `field` that end the wait as failed ("Failed" for an InstallPlan's or a
        /// ClusterServiceVersion's status.phase).
        fails: Option<Vec<String>>,
        /// Seconds before it gives up (default 1800).
        timeout: Option<Seconds>,
        /// Seconds between looks (default 10).
        interval: Option<Seconds>,
    }
}

/// The option maps of the `oc` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("get", GetOpts::FIELDS),
    ("wait_for", WaitForOpts::FIELDS),
    ("wait_nodes_ready", WaitNodesOpts::FIELDS),
];

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
        let o = super::GetOpts::read("oc::get", opts).map_err(|e| rt_err(&ctx, e))?;
        let mut args = vec!["get".to_string(), resource.to_string()];
        if let Some(n) = o.name {
            args.push(n);
        }
        if let Some(ns) = o.namespace {
            args.push("-n".into());
            args.push(ns);
        }
        if let Some(sel) = o.selector {
            args.push("-l".into());
            args.push(sel);
        }
        if o.all_namespaces.unwrap_or(false) {
            args.push("--all-namespaces".into());
        }
        args.extend(["-o".to_string(), "json".to_string()]);
        let found = with_effects(&ctx, |fx| super::client::read_json(fx, kubeconfig, &args))?;
        Ok(super::client::items(found)
            .iter()
            .map(value::from_json)
            .collect())
    }

    /// Applies a resource (a map: apiVersion, kind, metadata.name, metadata.namespace, ...)
    /// server-side as labsh's field manager, after reading it back: when the cluster's object
    /// already holds every field of it, nothing is written. Returns `#{action: "created" |
    /// "changed" | "unchanged", kind, name, namespace}` (in a plan, what a run would do). A
    /// Secret's values may be secrets (in `stringData` or, base64, in `data`), or in
    /// `stringData` a file's content (`#{file: PATH}`, as `oc create secret --from-file`; masked
    /// as a secret of the name "SECRET.KEY"): the cluster is given their values, every output
    /// shows the Secret's keys only. A change: a plan shows the write "oc.apply Kind/name -n ns".
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     let r = oc::apply("/nonexistent/kubeconfig", #{apiVersion: "v1", kind: "Secret",
    ///         metadata: #{name: "osp-secret", namespace: "openstack"},
    ///         stringData: #{AdminPassword: secret("example-admin", #{generate: true})}});
    ///     assert_eq(r.action, "created");
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn apply(ctx: NativeCallContext, kubeconfig: &str, resource: Map) -> Res<Map> {
        let plan = with_effects(&ctx, |fx| Ok::<_, crate::error::Error>(fx.is_plan()))?;
        let resource = super::files_read(resource, plan).map_err(|e| rt_err(&ctx, e))?;
        let d = Dynamic::from_map(resource);
        let shown = value::to_json(&d);
        let mut any = false;
        let exposed = crate::modules::files::exposed_json(&d, &mut any);
        let a = with_effects(&ctx, |fx| {
            super::client::apply(fx, kubeconfig, &shown, &exposed)
        })?;
        let mut m = Map::new();
        m.insert("action".into(), a.action.into());
        m.insert("kind".into(), a.kind.into());
        m.insert("name".into(), a.name.into());
        m.insert(
            "namespace".into(),
            a.namespace.map_or(Dynamic::UNIT, Dynamic::from),
        );
        Ok(m)
    }

    /// Waits for an object (`kind` as `oc get` takes it: "OpenStackControlPlane",
    /// "csv", "subscription.v1alpha1.operators.coreos.com") until its condition is True
    /// (`#{condition}`, default "Ready") or a field has a value (`#{field: "status.phase",
    /// equals: "Succeeded"}`); `namespace`, `timeout` (seconds, 1800), `interval` (10). Prints a
    /// line each time its conditions change; fails at once when a condition is False with
    /// severity Error, naming it with its reason and message, or when `field` holds one of
    /// `fails` (a list of values), naming it with the object's status.reason, status.message and
    /// the conditions not True; on expiry names the conditions not True. An API server that does
    /// not answer for a while (503, refused connections, timeouts: it or an aggregated API
    /// restarting) is waited through, said in the progress. A status its operator wrote for an older generation of the object (its
    /// observedGeneration behind metadata.generation, as right after a change) is waited past.
    /// Returns the object; `()` in a plan, which does not wait.
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     oc::wait_for("/nonexistent/kubeconfig", "OpenStackControlPlane", "openstack-control-plane",
    ///         #{namespace: "openstack", timeout: 3600});
    ///     oc::wait_for("/nonexistent/kubeconfig", "csv", "openstack-operator.v1.0.6",
    ///         #{namespace: "openstack-operators", field: "status.phase", equals: "Succeeded",
    ///           fails: ["Failed"]});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn wait_for(
        ctx: NativeCallContext,
        kubeconfig: &str,
        kind: &str,
        name: &str,
        opts: Map,
    ) -> Res<Dynamic> {
        let w = super::wait_spec(kind, name, opts).map_err(|e| rt_err(&ctx, e))?;
        let got = with_effects(&ctx, |fx| super::client::wait_for(fx, kubeconfig, &w))?;
        Ok(got.as_ref().map_or(Dynamic::UNIT, value::from_json))
    }

    /// The nodes: `[#{name, ready, roles, version, internal_ip}]`.
    ///
    /// ```rhai
    /// if plan_mode() { let ready = oc::nodes("/nonexistent/kubeconfig").filter(|n| n.ready).len(); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn nodes(ctx: NativeCallContext, kubeconfig: &str) -> Res<Array> {
        let nodes = with_effects(&ctx, |fx| super::client::nodes(fx, kubeconfig))?;
        Ok(nodes.iter().map(value::from_json).collect())
    }

    /// The pods of a namespace: `[#{name, namespace, phase, ready ("1/1"), restarts, node, ip}]`.
    ///
    /// ```rhai
    /// if plan_mode() { let infra = oc::pods("/nonexistent/kubeconfig", "openshift-openstack-infra"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn pods(ctx: NativeCallContext, kubeconfig: &str, namespace: &str) -> Res<Array> {
        let pods = with_effects(&ctx, |fx| super::client::pods(fx, kubeconfig, namespace))?;
        Ok(pods.iter().map(value::from_json).collect())
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
        let mut words = Vec::with_capacity(argv.len());
        for (i, x) in argv.iter().enumerate() {
            let w = to_word(x, "it would show in the pod's process list as well: keep it in a Kubernetes secret the pod reads")
                .map_err(|e| rt_err(&ctx, e.map_message(|m| format!("oc::exec: argv[{i}] {m}"))))?;
            words.push(w.into());
        }
        with_effects(&ctx, |fx| {
            super::client::exec(fx, kubeconfig, namespace, pod, words)
        })
    }

    /// Approves the cluster's certificate signing requests `names` (a node's kubelet asks for
    /// its certificates with one): `oc adm certificate approve`, or `kubectl certificate
    /// approve`. A change: shown in a plan.
    ///
    /// ```rhai
    /// if plan_mode() { oc::certificate_approve("/nonexistent/kubeconfig", ["csr-8vnps"]); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn certificate_approve(ctx: NativeCallContext, kubeconfig: &str, names: Array) -> Res<()> {
        let mut v = Vec::with_capacity(names.len());
        for (i, n) in names.into_iter().enumerate() {
            match n.into_string() {
                Ok(s) if !s.is_empty() && !s.starts_with('-') => v.push(s),
                Ok(s) => {
                    return Err(rt_err(
                        &ctx,
                        format!(
                            "oc::certificate_approve: names[{i}] {s:?} is not a request's name"
                        ),
                    ))
                }
                Err(t) => {
                    return Err(rt_err(
                        &ctx,
                        format!("oc::certificate_approve: names[{i}] must be a name, not {t}"),
                    ))
                }
            }
        }
        with_effects(&ctx, |fx| {
            super::client::certificate_approve(fx, kubeconfig, &v)
        })
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
        let o = super::WaitNodesOpts::read("oc::wait_nodes_ready", opts)
            .map_err(|e| rt_err(&ctx, e))?;
        let timeout = o.timeout.map_or(Duration::from_secs(1800), |t| t.0);
        let interval = o.interval.map_or(Duration::from_secs(10), |t| t.0);
        let nodes = with_effects(&ctx, |fx| {
            super::client::wait_nodes_ready(fx, kubeconfig, count, timeout, interval)
        })?;
        Ok(nodes.iter().map(value::from_json).collect())
    }

    /// Writes the value of `key` in Secret `name` of `namespace`, decoded, to `path` (mode 0600,
    /// its content never shown), as `oc extract secret/NAME --keys KEY` does: whether the Secret
    /// holds that key (`false`, nothing written, when it does not; in a plan, before the cluster
    /// is there, too).
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     oc::secret_to_file("/nonexistent/kubeconfig", "openstack", "combined-ca-bundle",
    ///         "tls-ca-bundle.pem", "/tmp/tls-ca-bundle.pem")      // false
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn secret_to_file(
        ctx: NativeCallContext,
        kubeconfig: &str,
        namespace: &str,
        name: &str,
        key: &str,
        path: &str,
    ) -> Res<bool> {
        with_effects(&ctx, |fx| {
            super::client::secret_to_file(fx, kubeconfig, namespace, name, key, path)
        })
    }

    /// The problems of a custom resource against the CRD schema of its kind in a schema file
    /// (`{"schemas": [{kind, apiVersion, schema}]}`, as tools/rhoso-crds.py writes
    /// tests/data/rhoso/crd-schemas.json): each "path: what", `[]` when it fits. A field the
    /// schema does not know, a missing required one, a wrong type or a value outside its enum is
    /// one. Reads only the file; no cluster.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-crds.json";
    /// files::write_json(f, #{schemas: [#{kind: "NetConfig", apiVersion: "network.openstack.org/v1beta1",
    ///     schema: #{type: "object", properties: #{apiVersion: #{type: "string"}, kind: #{type: "string"},
    ///         metadata: #{type: "object"}, spec: #{type: "object", required: ["networks"],
    ///         properties: #{networks: #{type: "array"}}}}}}]});
    /// if !plan_mode() {
    ///     let cr = #{apiVersion: "network.openstack.org/v1beta1", kind: "NetConfig",
    ///         metadata: #{name: "netconfig"}, spec: #{netwroks: []}};
    ///     assert_eq(oc::schema_problems(cr, f),
    ///         ["spec.networks: required, missing", "spec.netwroks: unknown field \"netwroks\" (did you mean 'networks'?)"]);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn schema_problems(ctx: NativeCallContext, resource: Map, schemas: &str) -> Res<Array> {
        let text = crate::util::read::text(schemas)
            .map_err(|e| rt_err(&ctx, crate::error::Error::from(e)))?;
        let fixture: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            rt_err(
                &ctx,
                crate::error::Error::invalid(format!("{schemas}: invalid JSON: {e}")),
            )
        })?;
        let cr = value::to_json(&Dynamic::from_map(resource));
        Ok(crate::util::crd_schema::validate_resource(&cr, &fixture)
            .iter()
            .map(|p| Dynamic::from(p.to_string()))
            .collect())
    }
}

/// A Secret's `stringData` values given as `#{file: PATH}` replaced by the file's content as a
/// secret named "SECRET.KEY" (masked in every output from then on). In a plan a file not there
/// yet (one this run makes first) stands as the text "(the content of PATH)".
fn files_read(mut resource: Map, plan: bool) -> Result<Map, crate::error::Error> {
    use crate::error::Error;
    let is_secret = resource.get("kind").map(|k| k.to_string()) == Some("Secret".into());
    let name = resource
        .get("metadata")
        .and_then(|m| {
            m.read_lock::<Map>()
                .and_then(|m| m.get("name").map(|n| n.to_string()))
        })
        .unwrap_or_default();
    let Some(sd) = resource.get_mut("stringData") else {
        return Ok(resource);
    };
    let Some(mut map) = sd.clone().try_cast::<Map>() else {
        return Ok(resource);
    };
    for (k, v) in map.iter_mut() {
        let Some(path) = v
            .read_lock::<Map>()
            .and_then(|m| m.get("file").map(|f| f.to_string()))
        else {
            continue;
        };
        if !is_secret {
            return Err(Error::invalid(format!(
                "oc::apply: stringData.{k}: a file's content goes in a Secret only"
            )));
        }
        match crate::util::read::text(&path) {
            Ok(text) => {
                *v = Dynamic::from(crate::effects::secret::Secret::new(
                    &format!("{name}.{k}"),
                    &text,
                ));
            }
            Err(_) if plan && !std::path::Path::new(&path).exists() => {
                *v = Dynamic::from(format!("(the content of {path})"));
            }
            Err(e) => {
                return Err(
                    Error::from(e).context(format!("oc::apply: Secret {name} stringData.{k}"))
                );
            }
        }
    }
    *sd = Dynamic::from_map(map);
    Ok(resource)
}

/// `oc::wait_for`'s arguments read: what to wait for, or the option that is wrong.
fn wait_spec(kind: &str, name: &str, opts: Map) -> Result<client::Wait, crate::error::Error> {
    use crate::error::Error;
    let o = WaitForOpts::read("oc::wait_for", opts)?;
    for (what, v) in [("kind", kind), ("name", name)] {
        if v.is_empty() || v.starts_with('-') || v.contains(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "oc::wait_for: {what} {v:?} is not a {what} oc takes"
            )));
        }
    }
    if o.fails.is_some() && o.field.is_none() {
        return Err(Error::invalid(
            "oc::wait_for: option 'fails' needs 'field' (the path whose values it lists)",
        ));
    }
    let until = match (o.condition, o.field, o.equals) {
        (Some(_), Some(_), _) => {
            return Err(Error::invalid(
                "oc::wait_for: give either option 'condition' or 'field', not both",
            ))
        }
        (_, None, Some(_)) => {
            return Err(Error::invalid(
                "oc::wait_for: option 'equals' needs 'field' (the path whose value it is)",
            ))
        }
        (c, None, None) => client::Until::Condition(c.unwrap_or_else(|| "Ready".into())),
        (None, Some(f), e) => client::Until::Field(f, e),
    };
    Ok(client::Wait {
        type_ref: kind.to_string(),
        name: name.to_string(),
        namespace: o.namespace,
        until,
        fails: o.fails.unwrap_or_default(),
        timeout: o.timeout.map_or(Duration::from_secs(1800), |t| t.0),
        interval: o.interval.map_or(Duration::from_secs(10), |t| t.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secrets_file_values_are_read_as_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id");
        std::fs::write(
            &key,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
        )
        .unwrap();
        let mut file = Map::new();
        file.insert("file".into(), key.display().to_string().into());
        let mut sd = Map::new();
        sd.insert("ssh-privatekey".into(), Dynamic::from_map(file.clone()));
        let mut meta = Map::new();
        meta.insert("name".into(), "edpm-key".into());
        let mut r = Map::new();
        r.insert("kind".into(), "Secret".into());
        r.insert("metadata".into(), Dynamic::from_map(meta));
        r.insert("stringData".into(), Dynamic::from_map(sd));
        let got = Dynamic::from_map(files_read(r.clone(), false).unwrap());
        let shown = value::to_json(&got);
        assert_eq!(
            shown["stringData"]["ssh-privatekey"],
            "«secret edpm-key.ssh-privatekey»"
        );
        let mut any = false;
        let exposed = crate::modules::files::exposed_json(&got, &mut any);
        assert!(exposed["stringData"]["ssh-privatekey"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN"));
        // Missing: a plan names the file, a run fails naming it.
        std::fs::remove_file(&key).unwrap();
        let planned = value::to_json(&Dynamic::from_map(files_read(r.clone(), true).unwrap()));
        assert!(planned["stringData"]["ssh-privatekey"]
            .as_str()
            .unwrap()
            .starts_with("(the content of "));
        let e = files_read(r.clone(), false).unwrap_err().to_string();
        assert!(
            e.contains("stringData.ssh-privatekey") && e.contains("/id"),
            "{e}"
        );
        r.insert("kind".into(), "ConfigMap".into());
        assert!(files_read(r, false).is_err());
    }

    #[test]
    fn wait_for_reads_a_condition_or_a_field() {
        let w = wait_spec("OpenStackControlPlane", "cp", Map::new()).unwrap();
        assert_eq!(w.until, client::Until::Condition("Ready".into()));
        assert_eq!(w.timeout, Duration::from_secs(1800));
        let mut m = Map::new();
        m.insert("field".into(), "status.phase".into());
        m.insert("equals".into(), "Succeeded".into());
        m.insert("timeout".into(), Dynamic::from(60_i64));
        let w = wait_spec("csv", "x.v1", m).unwrap();
        assert_eq!(
            w.until,
            client::Until::Field("status.phase".into(), Some("Succeeded".into()))
        );
        assert_eq!(w.timeout, Duration::from_secs(60));
    }

    #[test]
    fn wait_for_refuses_options_that_do_not_go_together() {
        let mut m = Map::new();
        m.insert("field".into(), "status.phase".into());
        m.insert("condition".into(), "Ready".into());
        assert!(wait_spec("csv", "x", m)
            .unwrap_err()
            .to_string()
            .contains("not both"));
        let mut m = Map::new();
        m.insert("equals".into(), "Succeeded".into());
        assert!(wait_spec("csv", "x", m)
            .unwrap_err()
            .to_string()
            .contains("needs 'field'"));
        let mut m = Map::new();
        m.insert("fails".into(), Dynamic::from_array(vec!["Failed".into()]));
        assert!(wait_spec("csv", "x", m)
            .unwrap_err()
            .to_string()
            .contains("'fails' needs 'field'"));
        let mut m = Map::new();
        m.insert("timout".into(), Dynamic::from(5_i64));
        assert!(wait_spec("csv", "x", m)
            .unwrap_err()
            .to_string()
            .contains("timout"));
        assert!(wait_spec("csv", "--all", Map::new()).is_err());
    }
}
