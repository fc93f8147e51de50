//! `cloud`: the OpenStack APIs (Keystone, Nova, Neutron, Glance, Swift) on labsh's own client,
//! configured as the OpenStack tools are (clouds.yaml, secure.yaml, `OS_CLOUD`, `OS_*`, openrc).
//! Every function takes the cloud first: a name from clouds.yaml, or what `cloud::connect`
//! returned.

pub mod api;
pub mod baremetal;
pub mod client;
pub mod config;
pub mod id;
pub mod ironic;

use crate::effects::secret::Secret;
use crate::engine::value;
use crate::modules::opts::{type_name, Opts};
use crate::session::{rt_err, with_effects};
use api::{Api, Conn};
use config::CloudConfig;
use id::Id;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map, NativeCallContext};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Connections by key (and by the name or spec they were asked by).
static CONNS: OnceLock<Mutex<HashMap<String, (Conn, Map)>>> = OnceLock::new();

fn remember(keys: &[String], conn: &Conn, info: &Map) {
    if let Ok(mut m) = CONNS.get_or_init(Default::default).lock() {
        for k in keys {
            m.insert(k.clone(), (conn.clone(), info.clone()));
        }
    }
}

fn recall(key: &str) -> Option<(Conn, Map)> {
    CONNS.get()?.lock().ok()?.get(key).cloned()
}

const SPEC_KEYS: &[&str] = &[
    "cloud",
    "clouds_yaml",
    "openrc",
    "auth_url",
    "username",
    "user_id",
    "password",
    "project_name",
    "project_id",
    "user_domain_name",
    "user_domain_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "system_scope",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
    "region_name",
    "interface",
    "cacert",
    "insecure",
    "verify",
    "api_timeout",
    "planned",
];

/// A configuration from a spec; `Err((message, missing_file))`.
fn config_of(spec: &Dynamic) -> Result<(CloudConfig, String), (String, bool)> {
    if spec.is_string() {
        let name = spec.clone().into_string().unwrap_or_default();
        return config::named(&name, None)
            .map(|c| (c, format!("name:{name}")))
            .map_err(|e| (e, false));
    }
    let Some(m) = spec.read_lock::<Map>().map(|m| m.clone()) else {
        return Err((
            format!(
                "a cloud is a name from clouds.yaml or a map (#{{cloud: ..}}, #{{openrc: ..}}, #{{auth_url: ..}}), not {}",
                type_name(spec)
            ),
            false,
        ));
    };
    let o = Opts::new("cloud::connect", m.clone(), SPEC_KEYS).map_err(|e| (e, false))?;
    let key = value::to_json(spec).to_string();
    if let Some(rc) = o.str("openrc").map_err(|e| (e, false))? {
        let p = PathBuf::from(&rc);
        if !p.is_file() {
            return Err((format!("openrc {rc} does not exist"), true));
        }
        return config::openrc(&p).map(|c| (c, key)).map_err(|e| (e, false));
    }
    if o.has("auth_url") {
        let mut auth = serde_json::Map::new();
        let mut top = serde_json::Map::new();
        for (k, v) in &m {
            let k = k.as_str();
            let text = if let Some(s) = v.read_lock::<Secret>() {
                serde_json::Value::String(s.expose().to_string())
            } else {
                value::to_json(v)
            };
            match k {
                "region_name" | "interface" | "cacert" | "insecure" | "verify" | "api_timeout" => {
                    top.insert(k.into(), text);
                }
                "cloud" | "clouds_yaml" | "openrc" | "planned" => {}
                _ => {
                    auth.insert(k.into(), text);
                }
            }
        }
        top.insert("auth".into(), serde_json::Value::Object(auth));
        let name = o
            .str("cloud")
            .map_err(|e| (e, false))?
            .unwrap_or_else(|| "inline".into());
        return config::from_entry(&name, &serde_json::Value::Object(top), "cloud::connect")
            .map(|c| (c, key))
            .map_err(|e| (e, false));
    }
    let file = o.str("clouds_yaml").map_err(|e| (e, false))?;
    if let Some(f) = &file {
        if !PathBuf::from(f).is_file() {
            return Err((format!("clouds file {f} does not exist"), true));
        }
    }
    let name = o.str("cloud").map_err(|e| (e, false))?.unwrap_or_default();
    config::named(&name, file.as_ref().map(PathBuf::from).as_deref())
        .map(|c| (c, key))
        .map_err(|e| (e, false))
}

fn info_map(conn: &Conn, cfg: Option<&CloudConfig>, why: Option<&str>) -> Map {
    let mut m = match cfg {
        Some(c) => value::from_json(&api::describe(c)).cast::<Map>(),
        None => Map::new(),
    };
    m.insert("name".into(), conn.name().into());
    m.insert("offline".into(), why.is_some().into());
    if let Some(w) = why {
        m.insert("why".into(), w.into());
    }
    m
}

/// Resolves a cloud argument to a connection (authenticating once per cloud). In plan mode a
/// cloud that cannot be reached yet is planned against as an empty one.
fn conn_of(ctx: &NativeCallContext, spec: &Dynamic) -> Res<(Conn, Map)> {
    if let Some(m) = spec.read_lock::<Map>() {
        if let Some(k) = m.get("key").and_then(|k| k.clone().into_string().ok()) {
            if let Some(c) = recall(&k) {
                return Ok(c);
            }
        }
    }
    let ask_key = if spec.is_string() {
        format!("name:{}", spec.clone().into_string().unwrap_or_default())
    } else {
        value::to_json(spec).to_string()
    };
    if let Some(c) = recall(&ask_key) {
        return Ok(c);
    }
    let plan = crate::session::session(ctx)?.effects.is_plan();
    let offline = |name: String, why: String| {
        let conn = Conn::Offline {
            name: name.clone(),
            why: why.clone(),
        };
        let mut info = info_map(&conn, None, Some(&why));
        info.insert("key".into(), ask_key.clone().into());
        if let Ok(s) = crate::session::session(ctx) {
            s.effects.printer().status(&format!(
                "  note     cloud '{name}' cannot be reached yet ({why}): planning as if it were empty"
            ));
        }
        remember(std::slice::from_ref(&ask_key), &conn, &info);
        (conn, info)
    };
    // The `cloud` a map spec names, for an offline connection's name.
    let spec_name = |default: &str| {
        spec.read_lock::<Map>()
            .and_then(|m| m.get("cloud").map(|c| c.to_string()))
            .unwrap_or_else(|| default.into())
    };
    let planned_why = spec
        .read_lock::<Map>()
        .and_then(|m| m.get("planned").cloned())
        .filter(|v| !v.is_unit() && v.as_bool() != Ok(false));
    if let (true, Some(why)) = (plan, planned_why) {
        let why = why
            .into_string()
            .unwrap_or_else(|_| "its credentials are only planned".into());
        return Ok(offline(spec_name("inline"), why));
    }
    let (cfg, _) = match config_of(spec) {
        Ok(c) => c,
        Err((why, true)) if plan => {
            return Ok(offline(spec_name("openrc"), why));
        }
        Err((e, _)) => return Err(rt_err(ctx, e)),
    };
    let key = cfg.key();
    if let Some(c) = recall(&key) {
        remember(&[ask_key], &c.0, &c.1);
        return Ok(c);
    }
    let name = cfg.name.clone();
    let cl = client::session(cfg.clone()).map_err(|e| rt_err(ctx, e))?;
    match cl.whoami() {
        Ok(_) => {}
        Err(e) if plan && e.contains("cannot reach") => return Ok(offline(name, e)),
        Err(e) => return Err(rt_err(ctx, e)),
    }
    let conn = Conn::Live(cl);
    let mut info = info_map(&conn, Some(&cfg), None);
    info.insert("key".into(), key.clone().into());
    remember(&[key, ask_key], &conn, &info);
    Ok((conn, info))
}

fn with_api<T>(
    ctx: &NativeCallContext,
    cloud: &Dynamic,
    f: impl FnOnce(&Api) -> Result<T, String>,
) -> Res<T> {
    let (conn, _) = conn_of(ctx, cloud)?;
    with_effects(ctx, |fx| f(&Api { fx, conn }))
}

fn dynamic(v: serde_json::Value) -> Dynamic {
    value::from_json(&v)
}

fn array(v: Vec<serde_json::Value>) -> Array {
    v.iter().map(value::from_json).collect()
}

fn opts<'a>(func: &'a str, m: Map, known: &[&str]) -> Result<Opts<'a>, String> {
    Opts::new(func, m, known)
}

/// Integer values of a map (quotas), keys in order.
fn int_pairs(func: &str, m: &Map) -> Result<Vec<(String, i64)>, String> {
    m.iter()
        .map(|(k, v)| {
            v.as_int()
                .map(|i| (k.to_string(), i))
                .map_err(|_| format!("{func}: '{k}' must be an integer, not {}", type_name(v)))
        })
        .collect()
}

fn opt_or_unit(v: Option<serde_json::Value>) -> Dynamic {
    v.map(dynamic).unwrap_or(Dynamic::UNIT)
}

// ----- option maps to the API layer's specs -----

/// A list option as text (each item as `to_string` writes it).
fn texts(o: &Opts, key: &str) -> Result<Vec<String>, String> {
    Ok(o.array(key)?.iter().map(|t| t.to_string()).collect())
}

/// An option naming an object by name or id (a planned id is read back as one).
fn id_opt(o: &Opts, key: &str) -> Result<Option<Id>, String> {
    Ok(o.str(key)?.as_deref().map(Id::parse))
}

fn id_req(o: &Opts, key: &str) -> Result<Id, String> {
    Ok(Id::parse(&o.req_str(key)?))
}

fn project_spec(o: &Opts) -> Result<api::ProjectSpec, String> {
    Ok(api::ProjectSpec {
        name: o.req_str("name")?,
        domain: o.str("domain")?,
        description: o.str("description")?,
        tags: texts(o, "tags")?,
    })
}

fn user_spec(o: &Opts, password: Secret) -> Result<api::UserSpec, String> {
    Ok(api::UserSpec {
        name: o.req_str("name")?,
        password,
        domain: o.str("domain")?,
        description: o.str("description")?,
        email: o.str("email")?,
        project: id_opt(o, "project")?,
    })
}

fn flavor_spec(o: &Opts) -> Result<api::FlavorSpec, String> {
    Ok(api::FlavorSpec {
        name: o.req_str("name")?,
        ram: o.req_int("ram", 1..=i64::from(i32::MAX), "MiB")?,
        vcpus: o.req_int("vcpus", 1..=4096, "vCPUs")?,
        disk: o.int("disk")?.unwrap_or(0),
        ephemeral: o.int("ephemeral")?.unwrap_or(0),
        swap: o.int("swap")?.unwrap_or(0),
        public: o.bool("public", true)?,
        description: o.str("description")?,
    })
}

fn network_spec(o: &Opts) -> Result<api::NetworkSpec, String> {
    Ok(api::NetworkSpec {
        name: o.req_str("name")?,
        external: o.bool("external", false)?,
        shared: o.bool("shared", false)?,
        network_type: o.str("type")?,
        physical_network: o.str("physical_network")?,
        segmentation_id: o.int("segmentation_id")?,
        mtu: o.int("mtu")?,
        description: o.str("description")?,
        project: id_opt(o, "project")?,
    })
}

fn subnet_spec(o: &Opts) -> Result<api::SubnetSpec, String> {
    let mut pools = vec![];
    for p in o.array("pools")? {
        let m = p
            .read_lock::<Map>()
            .map(|m| m.clone())
            .ok_or("subnet: each pool must be #{start, end}")?;
        let text = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
        pools.push((text("start"), text("end")));
    }
    Ok(api::SubnetSpec {
        name: o.req_str("name")?,
        network: id_req(o, "network")?,
        cidr: o.req_str("cidr")?,
        gateway: o.str("gateway")?,
        dhcp: o.bool("dhcp", true)?,
        pools,
        dns: texts(o, "dns")?,
        ip_version: o.int("ip_version")?.unwrap_or(4),
        project: id_opt(o, "project")?,
    })
}

fn router_spec(o: &Opts) -> Result<api::RouterSpec, String> {
    Ok(api::RouterSpec {
        name: o.req_str("name")?,
        external_network: id_opt(o, "external_network")?,
        subnets: texts(o, "subnets")?,
        project: id_opt(o, "project")?,
    })
}

fn floating_ip_spec(o: &Opts) -> Result<api::FloatingIpSpec, String> {
    Ok(api::FloatingIpSpec {
        network: id_req(o, "network")?,
        address: o.req_str("address")?,
        project: id_opt(o, "project")?,
        description: o.str("description")?,
    })
}

fn port_filter(o: &Opts) -> Result<api::PortFilter, String> {
    Ok(api::PortFilter {
        name: o.str("name")?,
        name_suffix: o.str("name_suffix")?,
        tags: texts(o, "tags")?,
        device_owner: o.str("device_owner")?,
        network: id_opt(o, "network")?,
        project: id_opt(o, "project")?,
    })
}

fn port_spec(o: &Opts) -> Result<api::PortSpec, String> {
    Ok(api::PortSpec {
        name: o.req_str("name")?,
        network: id_req(o, "network")?,
        fixed_ip: o.str("fixed_ip")?,
        tags: texts(o, "tags")?,
        allowed_address_pairs: texts(o, "allowed_address_pairs")?,
        device_owner: o.str("device_owner")?,
        project: id_opt(o, "project")?,
    })
}

fn security_group_spec(o: &Opts) -> Result<api::SecurityGroupSpec, String> {
    Ok(api::SecurityGroupSpec {
        name: o.req_str("name")?,
        description: o.str("description")?,
        project: id_opt(o, "project")?,
    })
}

fn rule_spec(o: &Opts) -> Result<api::RuleSpec, String> {
    Ok(api::RuleSpec {
        group: o.req_str("group")?,
        direction: o.str("direction")?,
        ethertype: o.str("ethertype")?,
        protocol: o.str("protocol")?,
        port_min: o.int("port_min")?,
        port_max: o.int("port_max")?,
        remote_ip_prefix: o.str("remote_ip_prefix")?,
    })
}

fn image_spec(o: &Opts) -> Result<api::ImageSpec, String> {
    Ok(api::ImageSpec {
        name: o.req_str("name")?,
        file: o.req_str("file")?,
        disk_format: o.str("disk_format")?,
        container_format: o.str("container_format")?,
        visibility: o.str("visibility")?,
        tags: texts(o, "tags")?,
        project: id_opt(o, "project")?,
    })
}

#[export_module]
pub mod cloud_fns {
    /// Connects to a cloud and authenticates once: a clouds.yaml name (`""` follows `OS_CLOUD`
    /// or the `OS_*` variables, `"envvars"` the variables), or a map: `#{cloud, clouds_yaml}`,
    /// `#{openrc: "overcloudrc"}`, or inline keys as in clouds.yaml's `auth:` (`auth_url`,
    /// `username`, `password` (a secret), `project_name`, domains, `region_name`, `interface`,
    /// `cacert`, `insecure`). Returns `#{name, key, auth_url, user, project, region, offline}`;
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
        let (conn, _) = super::conn_of(&ctx, &cloud)?;
        let mut m = Map::new();
        if let Conn::Offline { why, .. } = &conn {
            m.insert("offline".into(), true.into());
            m.insert("why".into(), why.clone().into());
        }
        if let Conn::Live(c) = conn {
            let (u, p, roles) = c.whoami().map_err(|e| rt_err(&ctx, e))?;
            m.insert("user_id".into(), u.into());
            m.insert(
                "project_id".into(),
                p.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
            );
            m.insert(
                "roles".into(),
                Dynamic::from_array(roles.into_iter().map(Dynamic::from).collect()),
            );
        }
        Ok(m)
    }

    // ----- identity -----

    /// Ensures a project: `#{name, domain ("Default"), description, tags}`. The description is
    /// updated when it differs. Returns the project; in a plan that would create it, a map with
    /// a placeholder id and `planned: true` (as every `*_ensure` that creates returns).
    ///
    /// ```rhai
    /// let p = cloud::project_ensure("devcloud", #{name: "example-project", description: "labsh example"});
    /// assert(p.name == "example-project");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn project_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::project_ensure",
                spec,
                &["name", "domain", "description", "tags"],
            )?;
            a.project_ensure(super::project_spec(&o)?)
                .map(super::dynamic)
        })
    }

    /// A project by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::project_show("devcloud", "admin").name == "admin");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn project_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.project_find(&Id::parse(name), None)
                .map(super::opt_or_unit)
        })
    }

    /// Deletes a project; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-gone"});
    /// cloud::project_delete("devcloud", "example-gone");
    /// assert(plan_mode() || cloud::project_show("devcloud", "example-gone") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn project_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.project_delete(&Id::parse(name)))
    }

    /// Ensures a user: `#{name, password (a secret), domain, project (default project),
    /// email, description}`. An existing user whose password no longer authenticates gets the
    /// new one. Returns the user (`planned: true` in a plan that would create it).
    ///
    /// ```rhai
    /// let u = cloud::user_ensure("devcloud", #{name: "example-user", password: secret("example-user-pw", #{generate: true})});
    /// assert(u.name == "example-user");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn user_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::user_ensure",
                spec,
                &[
                    "name",
                    "password",
                    "domain",
                    "project",
                    "email",
                    "description",
                ],
            )?;
            let pw = match o.value("password") {
                Some(v) => v.read_lock::<Secret>().map(|s| s.clone()).ok_or_else(|| {
                    format!("cloud::user_ensure: 'password' must be a secret (secret(\"name\")), not {}", type_name(v))
                })?,
                None => return Err("cloud::user_ensure: 'password' is required (a secret)".into()),
            };
            a.user_ensure(super::user_spec(&o, pw)?).map(super::dynamic)
        })
    }

    /// A user by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::user_show("devcloud", "admin").name == "admin");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn user_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.user_find(&Id::parse(name), None).map(super::opt_or_unit)
        })
    }

    /// Deletes a user; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::user_delete("devcloud", "example-nobody");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn user_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.user_delete(&Id::parse(name)))
    }

    /// Ensures a role exists. Returns the role.
    ///
    /// ```rhai
    /// assert(cloud::role_ensure("devcloud", "swiftoperator").name == "swiftoperator");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_ensure(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.role_ensure(name).map(super::dynamic))
    }

    /// A role by name, or `()` (clouds name the member role `member` or `_member_`).
    ///
    /// ```rhai
    /// let r = cloud::role_show("devcloud", "member");
    /// let name = if r == () { "_member_" } else { r.name };
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.role_find(name).map(super::opt_or_unit))
    }

    /// Deletes a role; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::role_delete("devcloud", "example-no-such-role");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.role_delete(name))
    }

    /// Grants a role: `#{user, project, role}` (names or ids). `true` when it changed.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::role_grant("devcloud", #{user: "admin", project: "example-project", role: "admin"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_grant(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts("cloud::role_grant", spec, &["user", "project", "role"])?;
            a.role_assignment(
                &Id::parse(&o.req_str("user")?),
                &Id::parse(&o.req_str("project")?),
                &o.req_str("role")?,
                true,
            )
        })
    }

    /// Revokes a role: `#{user, project, role}`. `true` when it changed.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::role_revoke("devcloud", #{user: "admin", project: "example-project", role: "reader"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_revoke(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts("cloud::role_revoke", spec, &["user", "project", "role"])?;
            a.role_assignment(
                &Id::parse(&o.req_str("user")?),
                &Id::parse(&o.req_str("project")?),
                &o.req_str("role")?,
                false,
            )
        })
    }

    /// Role assignments, filtered by `#{user, project}`: `[#{user, project, role, ...}]`.
    ///
    /// ```rhai
    /// let a = cloud::role_assignments("devcloud", #{user: "admin", project: "admin"});
    /// assert(a.some(|x| x.role == "admin"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn role_assignments(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts("cloud::role_assignments", filter, &["user", "project"])?;
            let parse = |v: Option<String>| v.as_deref().map(Id::parse);
            a.role_assignments(parse(o.str("user")?), parse(o.str("project")?))
                .map(super::array)
        })
    }

    // ----- quotas -----

    /// Compute quotas of a project: `#{cores: #{limit, in_use, reserved}, ram: ..., ...}`.
    ///
    /// ```rhai
    /// let q = cloud::compute_quota("devcloud", "admin");
    /// assert(q.cores.limit != 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn compute_quota(ctx: NativeCallContext, cloud: Dynamic, project: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.quota("compute", &Id::parse(project)).map(super::dynamic)
        })
    }

    /// Sets compute quotas (`#{cores: 40, ram: 102400}`); only the ones that differ change, and a
    /// limit below current usage is refused before anything changes.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::compute_quota_set("devcloud", "example-project", #{cores: 40, ram: 102400});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn compute_quota_set(
        ctx: NativeCallContext,
        cloud: Dynamic,
        project: &str,
        limits: Map,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let want = super::int_pairs("cloud::compute_quota_set", &limits)?;
            a.quota_set("compute", &Id::parse(project), &want)
                .map(super::dynamic)
        })
    }

    /// Network quotas of a project: `#{security_group: #{limit, in_use, reserved}, ...}`.
    ///
    /// ```rhai
    /// let q = cloud::network_quota("devcloud", "admin");
    /// assert(q.security_group.limit != 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_quota(ctx: NativeCallContext, cloud: Dynamic, project: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.quota("network", &Id::parse(project)).map(super::dynamic)
        })
    }

    /// Sets network quotas (`#{security_group: 40, security_group_rule: 500}`), as
    /// `compute_quota_set` does.
    ///
    /// ```rhai
    /// cloud::project_ensure("devcloud", #{name: "example-project"});
    /// cloud::network_quota_set("devcloud", "example-project", #{security_group: 40, security_group_rule: 500});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_quota_set(
        ctx: NativeCallContext,
        cloud: Dynamic,
        project: &str,
        limits: Map,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let want = super::int_pairs("cloud::network_quota_set", &limits)?;
            a.quota_set("network", &Id::parse(project), &want)
                .map(super::dynamic)
        })
    }

    // ----- compute -----

    /// Ensures a flavor: `#{name, ram (MiB), vcpus, disk (GB), ephemeral, swap, public, description}`.
    /// A flavor cannot change: one with the same name and other sizes is an error.
    ///
    /// ```rhai
    /// let f = cloud::flavor_ensure("devcloud", #{name: "example.small", ram: 2048, vcpus: 1, disk: 10});
    /// assert(f.name == "example.small");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavor_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::flavor_ensure",
                spec,
                &[
                    "name",
                    "ram",
                    "vcpus",
                    "disk",
                    "ephemeral",
                    "swap",
                    "public",
                    "description",
                ],
            )?;
            a.flavor_ensure(super::flavor_spec(&o)?).map(super::dynamic)
        })
    }

    /// Every flavor (public and private).
    ///
    /// ```rhai
    /// let names = cloud::flavors("devcloud").map(|f| f.name);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavors(ctx: NativeCallContext, cloud: Dynamic) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| a.flavors().map(super::array))
    }

    /// Deletes a flavor by name or id; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::flavor_delete("devcloud", "example.none");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavor_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.flavor_delete(name))
    }

    /// Servers with details: `#{all_projects, name}` filter.
    ///
    /// ```rhai
    /// let s = cloud::servers("devcloud", #{all_projects: true});
    /// print(s.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn servers(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts("cloud::servers", filter, &["all_projects", "name"])?;
            a.servers(o.bool("all_projects", false)?, o.str("name")?)
                .map(super::array)
        })
    }

    /// A server by exact name, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::server_show("devcloud", "no-such-server") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn server_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.servers(true, Some(name.to_string()))
                .map(|v| super::opt_or_unit(v.into_iter().find(|s| s["name"] == name)))
        })
    }

    /// The project's absolute compute limits (`maxTotalCores`, `totalCoresUsed`, ...).
    ///
    /// ```rhai
    /// let l = cloud::limits("devcloud");
    /// assert(plan_mode() || l.maxTotalCores != 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn limits(ctx: NativeCallContext, cloud: Dynamic) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.limits().map(super::dynamic))
    }

    // ----- network -----

    /// Ensures a network: `#{name, external, shared, type (flat, vlan, vxlan), physical_network,
    /// segmentation_id, mtu, project, description}`.
    ///
    /// ```rhai
    /// let n = cloud::network_ensure("devcloud", #{name: "example-net"});
    /// assert(n.name == "example-net");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::network_ensure",
                spec,
                &[
                    "name",
                    "external",
                    "shared",
                    "type",
                    "physical_network",
                    "segmentation_id",
                    "mtu",
                    "project",
                    "description",
                ],
            )?;
            a.network_ensure(super::network_spec(&o)?)
                .map(super::dynamic)
        })
    }

    /// A network by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::network_show("devcloud", "external").name == "external");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.network_find(&Id::parse(name)).map(super::opt_or_unit)
        })
    }

    /// Ensures a subnet: `#{name, network, cidr, gateway, dhcp (true), pools: [#{start, end}],
    /// dns: [..], ip_version, project}`. Addresses outside the CIDR are refused.
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// let s = cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// assert(s.name == "example-subnet");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn subnet_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::subnet_ensure",
                spec,
                &[
                    "name",
                    "network",
                    "cidr",
                    "gateway",
                    "dhcp",
                    "pools",
                    "dns",
                    "ip_version",
                    "project",
                ],
            )?;
            a.subnet_ensure(super::subnet_spec(&o)?).map(super::dynamic)
        })
    }

    /// Ensures a router: `#{name, external_network, subnets: [names], project}`; interfaces on
    /// the subnets are added when missing.
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// let r = cloud::router_ensure("devcloud", #{name: "example-router", external_network: "external", subnets: ["example-subnet"]});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn router_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::router_ensure",
                spec,
                &["name", "external_network", "subnets", "project"],
            )?;
            a.router_ensure(super::router_spec(&o)?).map(super::dynamic)
        })
    }

    /// Ensures a floating IP with a fixed address: `#{network, address, project, description}`.
    /// One that already holds the address is reused; an address outside the network's subnets,
    /// or held by another project, is an error.
    ///
    /// ```rhai
    /// let f = cloud::floating_ip_ensure("devcloud", #{network: "external", address: "192.168.122.201"});
    /// assert(f.floating_ip_address == "192.168.122.201");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::floating_ip_ensure",
                spec,
                &["network", "address", "project", "description"],
            )?;
            a.floating_ip_ensure(super::floating_ip_spec(&o)?)
                .map(super::dynamic)
        })
    }

    /// Attaches a floating IP (by address) to a port (by name or id).
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// cloud::router_ensure("devcloud", #{name: "example-router", external_network: "external", subnets: ["example-subnet"]});
    /// cloud::port_ensure("devcloud", #{name: "example-port", network: "example-net"});
    /// cloud::floating_ip_ensure("devcloud", #{network: "external", address: "192.168.122.202"});
    /// let f = cloud::floating_ip_associate("devcloud", "192.168.122.202", "example-port");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_associate(
        ctx: NativeCallContext,
        cloud: Dynamic,
        address: &str,
        port: &str,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.floating_ip_associate(address, &Id::parse(port))
                .map(super::dynamic)
        })
    }

    /// A floating IP by address, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::floating_ip_show("devcloud", "192.168.122.99") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_show(ctx: NativeCallContext, cloud: Dynamic, address: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.floating_ip_find(address).map(super::opt_or_unit)
        })
    }

    /// Releases a floating IP by address; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::floating_ip_delete("devcloud", "192.168.122.98");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_delete(ctx: NativeCallContext, cloud: Dynamic, address: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.floating_ip_delete(address))
    }

    /// Ports filtered by `#{name, name_suffix, tags: [..], device_owner, network, project}`
    /// (each port with its `allowed_address_pairs`, `status`, `fixed_ips`, `tags`).
    ///
    /// ```rhai
    /// let ingress = cloud::ports("devcloud", #{name_suffix: "-ingress-port"});
    /// print(ingress.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ports(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::ports",
                filter,
                &[
                    "name",
                    "name_suffix",
                    "tags",
                    "device_owner",
                    "network",
                    "project",
                ],
            )?;
            a.ports(super::port_filter(&o)?).map(super::array)
        })
    }

    /// A port by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::port_show("devcloud", "no-such-port") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn port_show(ctx: NativeCallContext, cloud: Dynamic, port: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.port_find(&Id::parse(port)).map(super::opt_or_unit)
        })
    }

    /// Ensures a port by name on a network: `#{name, network, fixed_ip, tags, allowed_address_pairs:
    /// [addresses], device_owner, project}`.
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// let p = cloud::port_ensure("devcloud", #{name: "example-vip-port", network: "example-net", tags: ["example=1"]});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn port_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::port_ensure",
                spec,
                &[
                    "name",
                    "network",
                    "fixed_ip",
                    "tags",
                    "allowed_address_pairs",
                    "device_owner",
                    "project",
                ],
            )?;
            a.port_create(super::port_spec(&o)?).map(super::dynamic)
        })
    }

    /// Ensures a security group: `#{name, description, project}`.
    ///
    /// ```rhai
    /// let g = cloud::security_group_ensure("devcloud", #{name: "example-sg"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn security_group_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        spec: Map,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::security_group_ensure",
                spec,
                &["name", "description", "project"],
            )?;
            a.security_group_ensure(super::security_group_spec(&o)?)
                .map(super::dynamic)
        })
    }

    /// Ensures a rule in a security group: `#{group, direction ("ingress"), ethertype ("IPv4"),
    /// protocol, port_min, port_max, remote_ip_prefix}`.
    ///
    /// ```rhai
    /// cloud::security_group_ensure("devcloud", #{name: "example-sg"});
    /// cloud::security_group_rule_ensure("devcloud", #{group: "example-sg", protocol: "tcp", port_min: 6443, remote_ip_prefix: "0.0.0.0/0"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn security_group_rule_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        spec: Map,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::security_group_rule_ensure",
                spec,
                &[
                    "group",
                    "direction",
                    "ethertype",
                    "protocol",
                    "port_min",
                    "port_max",
                    "remote_ip_prefix",
                ],
            )?;
            a.security_group_rule_ensure(super::rule_spec(&o)?)
                .map(super::dynamic)
        })
    }

    // ----- image -----

    /// Ensures an image from a local file: `#{name, file, disk_format ("qcow2"),
    /// container_format ("bare"), visibility, tags, project}`. The upload is streamed; an image
    /// with the same name and the same sha512 is left alone (an unchanged file is never uploaded
    /// again). `project` (a name or id) owns it: its users see it even when it is not public, as
    /// when the project's own user uploads it; an image owned by another project is given to it.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example.img";
    /// run(["qemu-img", "create", "-f", "qcow2", f, "1M"]);
    /// let i = cloud::image_ensure("devcloud", #{name: "example-image", file: f});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn image_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            let o = super::opts(
                "cloud::image_ensure",
                spec,
                &[
                    "name",
                    "file",
                    "disk_format",
                    "container_format",
                    "visibility",
                    "tags",
                    "project",
                ],
            )?;
            a.image_ensure(super::image_spec(&o)?).map(super::dynamic)
        })
    }

    /// Every image.
    ///
    /// ```rhai
    /// let names = cloud::images("devcloud").map(|i| i.name);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn images(ctx: NativeCallContext, cloud: Dynamic) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| a.images(None).map(super::array))
    }

    /// Deletes the images with this name; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::image_delete("devcloud", "example-no-image");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn image_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.image_delete(name))
    }

    // ----- object store -----

    /// The object-store account of the session's project: `#{meta: #{key: value},
    /// containers, objects, bytes}`. A `temp-url-key` comes back as a secret.
    ///
    /// ```rhai
    /// let acc = cloud::account("devcloud");
    /// assert(type_of(acc.meta) == "map");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn account(ctx: NativeCallContext, cloud: Dynamic) -> Res<Map> {
        super::with_api(&ctx, &cloud, |a| {
            let hs = a.account()?;
            let mut meta = Map::new();
            let mut m = Map::new();
            for (k, v) in hs {
                let k = k.to_ascii_lowercase();
                if let Some(name) = k.strip_prefix("x-account-meta-") {
                    let d = if name.contains("temp-url-key") {
                        Dynamic::from(Secret::new(&format!("account.{name}"), &v))
                    } else {
                        v.into()
                    };
                    meta.insert(name.into(), d);
                } else if let Some(n) = k.strip_prefix("x-account-") {
                    let key = match n {
                        "container-count" => "containers",
                        "object-count" => "objects",
                        "bytes-used" => "bytes",
                        _ => continue,
                    };
                    m.insert(key.into(), v.parse::<i64>().unwrap_or(0).into());
                }
            }
            m.insert("meta".into(), meta.into());
            Ok(m)
        })
    }

    /// Sets account metadata: `#{"Temp-URL-Key": secret("temp-url-key")}` (secrets stay masked in
    /// plans and journals). Only values that differ are written. `true` when something changed.
    ///
    /// ```rhai
    /// cloud::account_meta_set("devcloud", #{"Example": "1"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn account_meta_set(ctx: NativeCallContext, cloud: Dynamic, meta: Map) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| {
            let mut want = vec![];
            for (k, v) in &meta {
                if let Some(s) = v.read_lock::<Secret>() {
                    want.push((k.to_string(), s.expose().to_string(), true));
                } else if v.is_string() || v.is_int() {
                    want.push((k.to_string(), v.to_string(), false));
                } else {
                    return Err(format!(
                        "cloud::account_meta_set: '{k}' must be a string or a secret, not {}",
                        type_name(v)
                    ));
                }
            }
            a.account_meta_set(&want)
        })
    }

    /// Ensures an object-store container. `true` when it was created.
    ///
    /// ```rhai
    /// cloud::container_ensure("devcloud", "example-container");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn container_ensure(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.container_ensure(name))
    }
}
