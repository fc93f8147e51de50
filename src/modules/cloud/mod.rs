//! `cloud`: the OpenStack APIs (Keystone, Nova, Neutron, Glance, Swift) on labsh's own client,
//! configured as the OpenStack tools are (clouds.yaml, secure.yaml, `OS_CLOUD`, `OS_*`, openrc).
//! Every function takes the cloud first: a name from clouds.yaml, or what `cloud::connect`
//! returned.
//!
//! The Rhai functions are in this file (connect, whoami, and what every binding uses: the
//! connection a cloud argument names, conversions to and from Rhai values), identity.rs
//! (Keystone, quotas), compute.rs (Nova), network.rs (Neutron) and storage.rs (Glance, Swift),
//! each an exported module that [`module`] combines into `cloud`; baremetal/ is the `baremetal`
//! module. spec.rs reads their option maps into the specs of `api`, whose operations never see
//! a Rhai type, and `client` talks HTTP.

use crate::error::{Error, Kind};

pub mod api;
pub mod baremetal;
pub mod client;
mod compute;
pub mod config;
pub mod id;
mod identity;
pub mod ironic;
mod network;
mod spec;
pub use spec::OPTIONS;
mod storage;

use crate::effects::Effects;
use crate::engine::value;
use crate::modules::opts::type_name;
use crate::session::{rt_err, with_effects};
use api::{Api, Conn};
use config::CloudConfig;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::session::Res;

/// A run's connections to clouds by key (and by the name or spec they were asked by), with what
/// `cloud::connect` returns for each: a live one in the run's state, one a plan takes as offline
/// in the plan's ([`Effects::plan_state`]), which the changes made after the plan never see.
#[derive(Default)]
struct Clouds(Mutex<HashMap<String, (Conn, Map)>>);

fn remember(fx: &Effects, keys: &[String], conn: &Conn, info: &Map) {
    let clouds = match conn {
        Conn::Live(_) => fx.run_state::<Clouds>(),
        Conn::Offline { .. } => fx.plan_state::<Clouds>(),
    };
    if let Ok(mut m) = clouds.0.lock() {
        for k in keys {
            m.insert(k.clone(), (conn.clone(), info.clone()));
        }
    };
}

fn recall(fx: &Effects, key: &str) -> Option<(Conn, Map)> {
    [fx.run_state::<Clouds>(), fx.plan_state::<Clouds>()]
        .iter()
        .find_map(|clouds| clouds.0.lock().ok().and_then(|m| m.get(key).cloned()))
}

/// A configuration from a spec; `Err((error, missing_file))`.
fn config_of(spec: &Dynamic) -> Result<CloudConfig, (Error, bool)> {
    if spec.is_string() {
        let name = spec.clone().into_string().unwrap_or_default();
        return config::named(&name, None).map_err(|e| (e, false));
    }
    let Some(m) = spec.read_lock::<Map>().map(|m| m.clone()) else {
        return Err((
            Error::invalid(format!(
                "a cloud is a name from clouds.yaml or a map (#{{cloud: ..}}, #{{openrc: ..}}, #{{auth_url: ..}}), not {}",
                type_name(spec)
            )),
            false,
        ));
    };
    let o = spec::connect_opts(m).map_err(|e| (e, false))?;
    if let Some(rc) = &o.openrc {
        let p = PathBuf::from(rc);
        if !p.is_file() {
            return Err((
                Error::not_found(format!("openrc {rc} does not exist")),
                true,
            ));
        }
        return config::openrc(&p).map_err(|e| (e, false));
    }
    if o.auth_url.is_some() {
        let entry = o.entry();
        let name = o.cloud.unwrap_or_else(|| "inline".into());
        return config::from_entry(&name, &entry, "cloud::connect").map_err(|e| (e, false));
    }
    let file = o.clouds_yaml;
    if let Some(f) = &file {
        if !PathBuf::from(f).is_file() {
            return Err((
                Error::not_found(format!("clouds file {f} does not exist")),
                true,
            ));
        }
    }
    let name = o.cloud.unwrap_or_default();
    config::named(&name, file.as_ref().map(PathBuf::from).as_deref()).map_err(|e| (e, false))
}

/// What `cloud::connect` returns: the configuration when there is one, the connection's name
/// and key, whether it is offline and why.
#[derive(Serialize)]
struct Info<'a> {
    #[serde(flatten)]
    config: Option<api::Described<'a>>,
    name: String,
    offline: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    why: Option<&'a str>,
    key: &'a str,
}

fn info_map(conn: &Conn, cfg: Option<&CloudConfig>, why: Option<&str>, key: &str) -> Res<Map> {
    to_map(&Info {
        config: cfg.map(api::describe),
        name: conn.name(),
        offline: why.is_some(),
        why,
        key,
    })
}

/// Who the session is (`cloud::whoami`).
#[derive(Serialize)]
#[serde(untagged)]
enum Whoami {
    Offline {
        offline: bool,
        why: String,
    },
    Live {
        user_id: String,
        project_id: Option<String>,
        roles: Vec<String>,
    },
}

/// The Rhai map of a struct.
fn to_map(v: &impl Serialize) -> Res<Map> {
    crate::session::map_of(v).map_err(|e| crate::session::raise(e, None, rhai::Position::NONE))
}

/// The key of a cloud given as a map: a digest of it keyed with this process's random key, so
/// that a password given as plain text (not a secret) is kept nowhere, not in the key
/// `cloud::connect` returns either, nor can be guessed from it.
fn spec_key(spec: &Dynamic) -> String {
    let json = value::to_json(spec).to_string();
    let h = crate::effects::lab_key::LabKey::of_process().digest(&[json.as_bytes()]);
    let hex: String = h.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("spec:{hex}")
}

/// Resolves a cloud argument to a connection (authenticating once per cloud). In plan mode a
/// cloud that cannot be reached yet is planned against as an empty one.
fn conn_of(ctx: &NativeCallContext, spec: &Dynamic) -> Res<(Conn, Map)> {
    let session = crate::session::session(ctx)?;
    let fx = &session.effects;
    if let Some(m) = spec.read_lock::<Map>() {
        if let Some(k) = m.get("key").and_then(|k| k.clone().into_string().ok()) {
            if let Some(c) = recall(fx, &k) {
                return Ok(c);
            }
        }
    }
    let ask_key = if spec.is_string() {
        format!("name:{}", spec.clone().into_string().unwrap_or_default())
    } else {
        spec_key(spec)
    };
    if let Some(c) = recall(fx, &ask_key) {
        return Ok(c);
    }
    let plan = fx.is_plan();
    let offline = |name: String, why: String| {
        let conn = Conn::Offline {
            name: name.clone(),
            why: why.clone(),
        };
        let info = info_map(&conn, None, Some(&why), &ask_key)?;
        if let Ok(s) = crate::session::session(ctx) {
            s.effects.printer().status(&format!(
                "  note     cloud '{name}' cannot be reached yet ({why}): planning as if it were empty"
            ));
        }
        remember(fx, std::slice::from_ref(&ask_key), &conn, &info);
        Ok((conn, info))
    };
    // The `cloud` a map spec names, for an offline connection's name.
    let spec_name = |default: &str| {
        spec.read_lock::<Map>()
            .and_then(|m| m.get("cloud").map(|c| c.to_string()))
            .unwrap_or_else(|| default.into())
    };
    // A map's options are checked before a plan takes its cloud as planned: what a run would
    // refuse, a plan refuses too.
    let planned_why = match spec.read_lock::<Map>().map(|m| m.clone()) {
        Some(m) if plan => spec::connect_opts(m)
            .map_err(|e| rt_err(ctx, e))?
            .planned
            .0
            .clone(),
        _ => Dynamic::UNIT,
    };
    let planned_why = Some(planned_why).filter(|v| !v.is_unit() && v.as_bool() != Ok(false));
    if let (true, Some(why)) = (plan, planned_why) {
        let why = why
            .into_string()
            .unwrap_or_else(|_| "its credentials are only planned".into());
        return offline(spec_name("inline"), why);
    }
    let cfg = match config_of(spec) {
        Ok(c) => c,
        Err((why, true)) if plan => {
            return offline(spec_name("openrc"), why.to_string());
        }
        Err((e, _)) => return Err(rt_err(ctx, e)),
    };
    let key = cfg.key();
    if let Some(c) = recall(fx, &key) {
        remember(fx, &[ask_key], &c.0, &c.1);
        return Ok(c);
    }
    let name = cfg.name.clone();
    let cl = client::session(fx, cfg.clone()).map_err(|e| rt_err(ctx, e))?;
    match cl.whoami() {
        Ok(_) => {}
        // A cloud a plan cannot reach yet (no answer, or none in time) is planned as empty.
        Err(e) if plan && (e.is(Kind::Unreachable) || e.is(Kind::TimedOut)) => {
            return offline(name, e.to_string())
        }
        Err(e) => return Err(rt_err(ctx, e)),
    }
    let conn = Conn::Live(cl);
    let info = info_map(&conn, Some(&cfg), None, &key)?;
    remember(fx, &[key, ask_key], &conn, &info);
    Ok((conn, info))
}

fn with_api<T: ToRhai>(
    ctx: &NativeCallContext,
    cloud: &Dynamic,
    f: impl FnOnce(&Api) -> Result<T, Error>,
) -> Res<T::Out> {
    let (conn, _) = conn_of(ctx, cloud)?;
    with_effects(ctx, |fx| f(&Api { fx, conn }).map(T::to_rhai))
}

/// What a client call returns, as a binding hands it to Rhai: JSON as maps and arrays, a
/// look-up that found nothing as `()`.
trait ToRhai {
    type Out;
    fn to_rhai(self) -> Self::Out;
}

impl ToRhai for serde_json::Value {
    type Out = Dynamic;
    fn to_rhai(self) -> Dynamic {
        value::from_json(&self)
    }
}

impl ToRhai for Vec<serde_json::Value> {
    type Out = Array;
    fn to_rhai(self) -> Array {
        self.iter().map(value::from_json).collect()
    }
}

impl ToRhai for Option<serde_json::Value> {
    type Out = Dynamic;
    fn to_rhai(self) -> Dynamic {
        self.map(|v| value::from_json(&v)).unwrap_or(Dynamic::UNIT)
    }
}

macro_rules! as_itself {
    ($($t:ty),*) => {$(
        impl ToRhai for $t {
            type Out = $t;
            fn to_rhai(self) -> $t {
                self
            }
        }
    )*};
}
as_itself!(Dynamic, Array, Map, bool, i64, String, (), Whoami);

/// Integer values of a map (quotas), keys in order.
fn int_pairs(func: &str, m: &Map) -> Result<Vec<(String, i64)>, Error> {
    m.iter()
        .map(|(k, v)| {
            v.as_int().map(|i| (k.to_string(), i)).map_err(|_| {
                Error::invalid(format!(
                    "{func}: '{k}' must be an integer, not {}",
                    type_name(v)
                ))
            })
        })
        .collect()
}

/// The `cloud` module: the functions of each part in one module.
pub fn module() -> rhai::Module {
    let mut m = rhai::exported_module!(cloud_fns);
    m.combine(rhai::exported_module!(identity::identity_fns))
        .combine(rhai::exported_module!(compute::compute_fns))
        .combine(rhai::exported_module!(network::network_fns))
        .combine(rhai::exported_module!(storage::storage_fns));
    m
}

#[export_module]
pub mod cloud_fns {
    /// Connects to a cloud and authenticates once: a clouds.yaml name (`""` follows `OS_CLOUD`
    /// or the `OS_*` variables, `"envvars"` the variables), or a map: `#{cloud, clouds_yaml}`,
    /// `#{openrc: "overcloudrc"}`, or inline keys as in clouds.yaml's `auth:` (`auth_url`,
    /// `username`, `password` (a secret), `project_name`, domains, `region_name`, `interface`,
    /// `cacert`, `insecure`). Returns `#{name, key, auth_url, user, project, region, offline}`
    /// (and `cacert`, the CA bundle's path, when the cloud names one);
    /// pass it (or the name) to every other `cloud::` function. In plan mode a cloud that cannot
    /// be reached yet (its openrc not written) is `offline` and planned against as empty, and so
    /// is a map with `planned: "why"` (or `true`): credentials that only exist once the run has
    /// applied, such as those of a user the plan creates. An applying run ignores `planned`.
    ///
    /// ```rhai
    /// let c = cloud::connect("devcloud");
    /// assert(c.name == "devcloud" && !c.offline);
    /// if plan_mode() {
    ///     let u = cloud::connect(#{cloud: "new-user", auth_url: c.auth_url, username: "new-user",
    ///                              password: secret("new-user-pw", #{generate: true}),
    ///                              project_name: "new-project", planned: "the user is only planned"});
    ///     assert(u.offline);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn connect(ctx: NativeCallContext, spec: Dynamic) -> Res<Map> {
        super::conn_of(&ctx, &spec).map(|(_, i)| i)
    }

    /// Who the session is: `#{user_id, project_id, roles}`.
    ///
    /// ```rhai
    /// let me = cloud::whoami("devcloud");
    /// assert(me.roles.contains("admin"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn whoami(ctx: NativeCallContext, cloud: Dynamic) -> Res<Map> {
        let who = super::with_api(&ctx, &cloud, |a| match &a.conn {
            Conn::Offline { why, .. } => Ok(super::Whoami::Offline {
                offline: true,
                why: why.clone(),
            }),
            Conn::Live(c) => c
                .whoami()
                .map(|(user_id, project_id, roles)| super::Whoami::Live {
                    user_id,
                    project_id,
                    roles,
                }),
        })?;
        super::to_map(&who)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(m: &Map) -> Vec<&str> {
        m.keys().map(|k| k.as_str()).collect()
    }

    #[test]
    fn a_spec_key_is_stable_in_a_run_and_keyed_against_guessing() {
        let mut m = Map::new();
        m.insert("auth_url".into(), "http://127.0.0.1:5000/v3".into());
        m.insert("password".into(), "plain-spec-key-pw".into());
        let spec = Dynamic::from(m);
        let k = spec_key(&spec);
        assert_eq!(k, spec_key(&spec));
        use sha2::{Digest, Sha256};
        let unkeyed = Sha256::digest(value::to_json(&spec).to_string().as_bytes());
        let unkeyed: String = unkeyed
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_ne!(k, format!("spec:{unkeyed}"));
        assert_eq!(k.len(), 5 + 24, "{k}");
    }

    #[test]
    fn info_of_an_offline_connection_names_why() {
        let conn = Conn::Offline {
            name: "later".into(),
            why: "no openrc yet".into(),
        };
        let m = info_map(&conn, None, Some("no openrc yet"), "name:later").unwrap();
        assert_eq!(keys(&m), ["key", "name", "offline", "why"]);
        assert_eq!(m["name"].clone().into_string().unwrap(), "later");
        assert_eq!(m["key"].clone().into_string().unwrap(), "name:later");
        assert!(m["offline"].as_bool().unwrap());
    }

    #[test]
    fn info_of_a_config_shows_it_without_secrets() {
        let entry = serde_json::json!({"auth": {"auth_url": "http://127.0.0.1:5000/v3",
            "username": "admin", "password": "pw", "project_name": "admin"}});
        let cfg = config::from_entry("c", &entry, "test").unwrap();
        let conn = Conn::Offline {
            name: "c".into(),
            why: String::new(),
        };
        let m = info_map(&conn, Some(&cfg), None, "k").unwrap();
        assert_eq!(
            keys(&m),
            [
                "auth_url",
                "interface",
                "key",
                "name",
                "offline",
                "project",
                "region",
                "source",
                "user",
                "verify"
            ]
        );
        assert_eq!(m["user"].clone().into_string().unwrap(), "admin");
        assert!(m["region"].is_unit());
        assert!(m["verify"].as_bool().unwrap() && !m["offline"].as_bool().unwrap());
    }

    #[test]
    fn whoami_maps_keep_unit_and_string_lists() {
        let m = to_map(&Whoami::Live {
            user_id: "u".into(),
            project_id: None,
            roles: vec!["admin".into()],
        })
        .unwrap();
        assert_eq!(keys(&m), ["project_id", "roles", "user_id"]);
        assert!(m["project_id"].is_unit());
        let roles = m["roles"].clone().into_array().unwrap();
        assert_eq!(roles[0].clone().into_string().unwrap(), "admin");
        let m = to_map(&Whoami::Offline {
            offline: true,
            why: "w".into(),
        })
        .unwrap();
        assert_eq!(keys(&m), ["offline", "why"]);
    }
}
