//! The OpenStack operations behind the `cloud` bindings, with ensure semantics: look up, compare,
//! then create or update through the effects seam. A create is never blindly repeated: after a
//! failure that may have reached the server, the lookup runs again first.
//!
//! A cloud that cannot be reached in plan mode (its openrc not written yet, say) is planned
//! against as if it were empty: reads find nothing and every change is planned.

use super::client::{Body, Client, Failure};
use super::config::CloudConfig;
use super::id::Id;
use crate::effects::secret::Secret;
use crate::effects::{Effects, Op};
use serde_json::{json, Map as JMap, Value};
use std::sync::Arc;
use ureq::http::Method;

/// A cloud to work on: a live session, or (plan mode only) one that cannot be reached yet.
#[derive(Clone)]
pub enum Conn {
    Live(Arc<Client>),
    /// Plan mode only: the cloud cannot be reached yet (`why`).
    Offline {
        name: String,
        why: String,
    },
}

impl Conn {
    pub fn name(&self) -> String {
        match self {
            Conn::Live(c) => c.cfg.name.clone(),
            Conn::Offline { name, .. } => name.clone(),
        }
    }
}

/// A project to ensure.
pub struct ProjectSpec {
    pub name: String,
    pub domain: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
}

/// A user to ensure.
pub struct UserSpec {
    pub name: String,
    pub password: Secret,
    pub domain: Option<String>,
    /// The default project, by name or id.
    pub project: Option<Id>,
    pub email: Option<String>,
    pub description: Option<String>,
}

/// A flavor to ensure: sizes in MiB (ram) and GB (disk, ephemeral), swap in MiB.
pub struct FlavorSpec {
    pub name: String,
    pub ram: i64,
    pub vcpus: i64,
    pub disk: i64,
    pub ephemeral: i64,
    pub swap: i64,
    pub public: bool,
    pub description: Option<String>,
}

/// A network to ensure.
pub struct NetworkSpec {
    pub name: String,
    pub external: bool,
    pub shared: bool,
    /// flat, vlan, vxlan...
    pub network_type: Option<String>,
    pub physical_network: Option<String>,
    pub segmentation_id: Option<i64>,
    pub mtu: Option<i64>,
    pub description: Option<String>,
    pub project: Option<Id>,
}

/// A subnet to ensure.
pub struct SubnetSpec {
    pub name: String,
    pub network: Id,
    pub cidr: String,
    pub gateway: Option<String>,
    pub dhcp: bool,
    /// Allocation pools as (start, end).
    pub pools: Vec<(String, String)>,
    pub dns: Vec<String>,
    pub ip_version: i64,
    pub project: Option<Id>,
}

/// A router to ensure, with interfaces on subnets (by name).
pub struct RouterSpec {
    pub name: String,
    pub external_network: Option<Id>,
    pub subnets: Vec<String>,
    pub project: Option<Id>,
}

/// A floating IP with a fixed address.
pub struct FloatingIpSpec {
    pub network: Id,
    pub address: String,
    pub project: Option<Id>,
    pub description: Option<String>,
}

/// Which ports to list.
pub struct PortFilter {
    pub name: Option<String>,
    pub name_suffix: Option<String>,
    pub tags: Vec<String>,
    pub device_owner: Option<String>,
    pub network: Option<Id>,
    pub project: Option<Id>,
}

/// A port to ensure, by name on a network.
pub struct PortSpec {
    pub name: String,
    pub network: Id,
    pub fixed_ip: Option<String>,
    pub tags: Vec<String>,
    pub allowed_address_pairs: Vec<String>,
    pub device_owner: Option<String>,
    pub project: Option<Id>,
}

/// A security group to ensure.
pub struct SecurityGroupSpec {
    pub name: String,
    pub description: Option<String>,
    pub project: Option<Id>,
}

/// A rule of a security group (by name): ingress and IPv4 unless given; `port_max` is
/// `port_min` unless given.
pub struct RuleSpec {
    pub group: String,
    pub direction: Option<String>,
    pub ethertype: Option<String>,
    pub protocol: Option<String>,
    pub port_min: Option<i64>,
    pub port_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
}

/// An image to ensure from a local file: qcow2 and bare unless given.
pub struct ImageSpec {
    pub name: String,
    pub file: String,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub visibility: Option<String>,
    pub tags: Vec<String>,
    /// The project that owns it, by name or id.
    pub project: Option<Id>,
}

/// What the operations work with.
pub struct Api<'a> {
    pub fx: &'a Effects,
    pub conn: Conn,
}

fn q(s: impl std::fmt::Display) -> String {
    let mut out = String::new();
    for b in s.to_string().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn looks_like_id(s: &str) -> bool {
    (s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit()))
        || (s.len() == 36
            && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && s.matches('-').count() == 4)
}

fn sid(v: &Value) -> Id {
    Id::from_json(&v["id"])
}

/// IPv4 CIDR membership.
pub fn in_cidr(addr: &str, cidr: &str) -> bool {
    let Some((net, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(a), Ok(n), Ok(b)) = (
        addr.parse::<std::net::Ipv4Addr>(),
        net.parse::<std::net::Ipv4Addr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    if b > 32 {
        return false;
    }
    let mask = if b == 0 { 0 } else { u32::MAX << (32 - b) };
    (u32::from(a) & mask) == (u32::from(n) & mask)
}

impl<'a> Api<'a> {
    pub(super) fn live(&self) -> Option<&Arc<Client>> {
        match &self.conn {
            Conn::Live(c) => Some(c),
            Conn::Offline { .. } => None,
        }
    }

    pub(super) fn read<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Client) -> Result<T, String>,
        offline: T,
    ) -> Result<T, String> {
        match self.live() {
            Some(c) => self.fx.read(Op::new("cloud.read", what), || f(c)),
            None => Ok(offline),
        }
    }

    fn get_opt(&self, service: &str, path: &str) -> Result<Option<Value>, String> {
        self.read(path, |c| c.get_opt(service, path), None)
    }

    fn list(&self, service: &str, path: &str, key: &str) -> Result<Vec<Value>, String> {
        self.read(path, |c| c.list(service, path, key), vec![])
    }

    fn op(&self, op: &str, target: &str) -> Op {
        Op::new(format!("cloud.{op}"), target).arg("cloud", self.conn.name())
    }

    /// Creates through the seam; `find` runs again after a failure that may have reached the
    /// server (transport error, 5xx, 409), so nothing is created twice.
    pub(super) fn create(
        &self,
        op: Op,
        kind: &str,
        name: &str,
        find: &dyn Fn(&Client) -> Result<Option<Value>, String>,
        post: &dyn Fn(&Client) -> Result<Value, Failure>,
        planned: Value,
    ) -> Result<Value, String> {
        let live = self.live().cloned();
        let mut p = planned;
        if let Value::Object(m) = &mut p {
            m.insert("id".into(), json!(Id::planned(kind, name)));
            m.insert("planned".into(), json!(true));
            m.insert("name".into(), json!(name));
        }
        if self.fx.is_plan() || live.is_none() {
            return self
                .fx
                .change(op, || Err::<Value, String>("unreachable".into()), || p);
        }
        let c = live.ok_or("no session")?;
        self.fx.change(
            op,
            || -> Result<Value, String> {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match post(&c) {
                        Ok(v) => return Ok(v),
                        Err(f) if attempt < 4 && (f.transient() || f.status() == Some(409) || f.status().is_some_and(|s| s >= 500)) => {
                            tracing::debug!(target: "labsh::cloud", "create {kind} {name}: {f}; looking again before retrying");
                            std::thread::sleep(std::time::Duration::from_millis(300 << attempt));
                            if let Some(v) = find(&c)? {
                                return Ok(v);
                            }
                            if f.status() == Some(409) {
                                return Err(f.into());
                            }
                        }
                        Err(f) => return Err(f.into()),
                    }
                }
            },
            || Value::Null,
        )
    }

    /// The usual create: the first item of `list_path` (key `list_key`) is what exists; a POST
    /// of `body` to `post_path` makes it (the answer under `key`, or the whole answer when
    /// `key` is empty).
    #[allow(clippy::too_many_arguments)]
    fn create_listed(
        &self,
        op: Op,
        kind: &str,
        name: &str,
        service: &str,
        list_path: &str,
        list_key: &str,
        post_path: &str,
        key: &str,
        body: Value,
        planned: Value,
    ) -> Result<Value, String> {
        let find = |c: &Client| -> Result<Option<Value>, String> {
            Ok(c.list(service, list_path, list_key)?.into_iter().next())
        };
        let post = |c: &Client| -> Result<Value, Failure> {
            let r = c.call(
                Method::POST,
                service,
                post_path,
                Body::Json(body.clone()),
                &[],
            )?;
            Ok(if key.is_empty() {
                r.body
            } else {
                r.body[key].clone()
            })
        };
        self.create(op, kind, name, &find, &post, planned)
    }

    /// A change that is safe to repeat (PUT, PATCH of fields, DELETE).
    pub(super) fn update(
        &self,
        op: Op,
        f: impl FnOnce(&Client) -> Result<Value, Failure>,
        planned: Value,
    ) -> Result<Value, String> {
        match self.live().cloned() {
            Some(c) if !self.fx.is_plan() => {
                self.fx
                    .change(op, || f(&c).map_err(String::from), || Value::Null)
            }
            _ => self.fx.change(
                op,
                || Err::<Value, String>("unreachable".into()),
                || planned,
            ),
        }
    }

    // ---------- identity ----------

    pub fn domain_id(&self, d: Option<String>) -> Result<Id, String> {
        let d = d.unwrap_or_else(|| "default".into());
        if d == "default" || d == "Default" || looks_like_id(&d) {
            return Ok(Id::Real(if d == "Default" { "default".into() } else { d }));
        }
        let found = self.list("identity", &format!("/domains?name={}", q(&d)), "domains")?;
        match found.first() {
            Some(v) => Ok(sid(v)),
            None if self.live().is_none() => Ok(Id::planned("domain", &d)),
            None => Err(format!("domain '{d}' does not exist")),
        }
    }

    /// A Keystone project or user (`kind`: "project", "user") by id, or by name in a domain.
    fn identity_find(
        &self,
        kind: &str,
        name: &Id,
        domain: Option<String>,
    ) -> Result<Option<Value>, String> {
        let Id::Real(name) = name else {
            return Ok(None);
        };
        if looks_like_id(name) {
            if let Some(v) = self.get_opt("identity", &format!("/{kind}s/{name}"))? {
                return Ok(Some(v[kind].clone()));
            }
        }
        let did = self.domain_id(domain)?;
        let path = format!("/{kind}s?name={}&domain_id={}", q(name), q(&did));
        Ok(self
            .list("identity", &path, &format!("{kind}s"))?
            .into_iter()
            .next())
    }

    /// The id of a project or user by name or id; a placeholder in plan mode when it does not
    /// exist yet.
    fn identity_id(&self, kind: &str, name: &Id) -> Result<Id, String> {
        let Id::Real(text) = name else {
            return Ok(name.clone());
        };
        self.id_by_name(kind, text, || self.identity_find(kind, name, None))
    }

    /// The id of `kind` `name`, reused from a lookup of the last seconds (the session keeps them)
    /// or found with `find`; a placeholder in plan mode when it does not exist yet.
    fn id_by_name(
        &self,
        kind: &str,
        name: &str,
        find: impl FnOnce() -> Result<Option<Value>, String>,
    ) -> Result<Id, String> {
        let key = format!("{kind}:{name}");
        if let Some(id) = self.live().and_then(|c| c.cached_id(&key)) {
            return Ok(Id::Real(id));
        }
        match find()? {
            Some(p) => {
                let id = sid(&p);
                if let (Some(c), Id::Real(text)) = (self.live(), &id) {
                    c.remember_id(&key, text);
                }
                Ok(id)
            }
            None if self.fx.is_plan() => Ok(Id::planned(kind, name)),
            None => Err(format!(
                "{kind} '{name}' does not exist in cloud '{}'",
                self.conn.name()
            )),
        }
    }

    /// Deletes the Keystone `kind` (project, user, role) found as `name`, then forgets the ids
    /// of that kind looked up by name. Nothing found is `ok`.
    fn identity_delete(
        &self,
        kind: &str,
        name: &str,
        found: Option<Value>,
    ) -> Result<bool, String> {
        let Some(v) = found else {
            self.fx.unchanged(self.op(&format!("{kind}.absent"), name));
            return Ok(false);
        };
        let id = sid(&v);
        self.update(
            self.op(&format!("{kind}.delete"), name),
            |c| {
                c.call(
                    Method::DELETE,
                    "identity",
                    &format!("/{kind}s/{id}"),
                    Body::None,
                    &[],
                )
                .map(|_| Value::Null)
            },
            Value::Null,
        )?;
        if let Some(c) = self.live() {
            c.forget_ids(&format!("{kind}:"));
        }
        Ok(true)
    }

    pub fn project_find(&self, name: &Id, domain: Option<String>) -> Result<Option<Value>, String> {
        self.identity_find("project", name, domain)
    }

    pub fn project_id(&self, name: &Id) -> Result<Id, String> {
        self.identity_id("project", name)
    }

    pub fn project_ensure(&self, s: ProjectSpec) -> Result<Value, String> {
        let ProjectSpec {
            name,
            domain,
            description: desc,
            tags,
        } = s;
        let did = self.domain_id(domain.clone())?;
        if let Some(p) = self.project_find(&Id::Real(name.clone()), domain.clone())? {
            if let Some(d) = &desc {
                if p["description"].as_str().unwrap_or_default() != d {
                    let id = sid(&p);
                    let body = json!({"project": {"description": d}});
                    let r = self.update(
                        self.op("project.update", &name).arg("description", d),
                        |c| {
                            Ok(c.call(
                                Method::PATCH,
                                "identity",
                                &format!("/projects/{id}"),
                                Body::Json(body),
                                &[],
                            )?
                            .body["project"]
                                .clone())
                        },
                        p.clone(),
                    )?;
                    return Ok(if r.is_null() { p } else { r });
                }
            }
            self.fx.unchanged(self.op("project.ensure", &name));
            return Ok(p);
        }
        let mut body = json!({"project": {"name": name, "domain_id": did, "enabled": true}});
        if let Some(d) = &desc {
            body["project"]["description"] = json!(d);
        }
        if !tags.is_empty() {
            body["project"]["tags"] = json!(tags);
        }
        let list_path = format!("/projects?name={}&domain_id={}", q(&name), q(&did));
        self.create_listed(
            self.op("project.create", &name)
                .arg("domain", &did)
                .arg("description", &desc),
            "project",
            &name,
            "identity",
            &list_path,
            "projects",
            "/projects",
            "project",
            body,
            json!({"domain_id": did, "description": desc}),
        )
    }

    pub fn project_delete(&self, name: &Id) -> Result<bool, String> {
        let found = self.project_find(name, None)?;
        self.identity_delete("project", &name.to_string(), found)
    }

    pub fn user_find(&self, name: &Id, domain: Option<String>) -> Result<Option<Value>, String> {
        self.identity_find("user", name, domain)
    }

    pub fn user_id(&self, name: &Id) -> Result<Id, String> {
        self.identity_id("user", name)
    }

    pub fn user_ensure(&self, s: UserSpec) -> Result<Value, String> {
        let UserSpec {
            name,
            password,
            domain,
            project,
            email,
            description: desc,
        } = s;
        let did = self.domain_id(domain.clone())?;
        let project = match project {
            Some(p) => Some(self.project_id(&p)?),
            None => None,
        };
        if let Some(u) = self.user_find(&Id::Real(name.clone()), domain)? {
            let id = sid(&u);
            if let Some(d) = desc
                .as_ref()
                .filter(|d| u["description"].as_str() != Some(d.as_str()))
            {
                let body = json!({"user": {"description": d}});
                self.update(
                    self.op("user.update", &name).arg("description", d),
                    |c| {
                        c.call(
                            Method::PATCH,
                            "identity",
                            &format!("/users/{id}"),
                            Body::Json(body),
                            &[],
                        )
                        .map(|_| Value::Null)
                    },
                    Value::Null,
                )?;
            }
            let ok = self.read(
                &format!("password of {name}"),
                |c| c.password_works(&id.to_string(), password.expose()),
                true,
            )?;
            if !ok {
                let body = json!({"user": {"password": password.expose()}});
                self.update(
                    self.op("user.password", &name)
                        .arg("password", password.mask()),
                    |c| {
                        c.call(
                            Method::PATCH,
                            "identity",
                            &format!("/users/{id}"),
                            Body::Json(body),
                            &[],
                        )
                        .map(|_| Value::Null)
                    },
                    Value::Null,
                )?;
            } else {
                self.fx.unchanged(self.op("user.ensure", &name));
            }
            return Ok(u);
        }
        let mut body = json!({"user": {"name": name, "domain_id": did, "enabled": true, "password": password.expose()}});
        if let Some(Id::Real(p)) = &project {
            body["user"]["default_project_id"] = json!(p);
        }
        if let Some(d) = &desc {
            body["user"]["description"] = json!(d);
        }
        if let Some(e) = &email {
            body["user"]["email"] = json!(e);
        }
        let list_path = format!("/users?name={}&domain_id={}", q(&name), q(&did));
        self.create_listed(
            self.op("user.create", &name)
                .arg("domain", &did)
                .arg("password", password.mask())
                .arg("default_project", &project),
            "user",
            &name,
            "identity",
            &list_path,
            "users",
            "/users",
            "user",
            body,
            json!({"domain_id": did, "default_project_id": project}),
        )
    }

    pub fn user_delete(&self, name: &Id) -> Result<bool, String> {
        let found = self.user_find(name, None)?;
        self.identity_delete("user", &name.to_string(), found)
    }

    pub fn role_find(&self, name: &str) -> Result<Option<Value>, String> {
        Ok(self
            .list("identity", &format!("/roles?name={}", q(name)), "roles")?
            .into_iter()
            .next())
    }

    pub fn role_ensure(&self, name: &str) -> Result<Value, String> {
        if let Some(r) = self.role_find(name)? {
            self.fx.unchanged(self.op("role.ensure", name));
            return Ok(r);
        }
        let n = name.to_string();
        let list_path = format!("/roles?name={}", q(&n));
        self.create_listed(
            self.op("role.create", name),
            "role",
            name,
            "identity",
            &list_path,
            "roles",
            "/roles",
            "role",
            json!({"role": {"name": n}}),
            json!({}),
        )
    }

    pub fn role_delete(&self, name: &str) -> Result<bool, String> {
        let found = self.role_find(name)?;
        self.identity_delete("role", name, found)
    }

    fn role_id(&self, name: &str) -> Result<Id, String> {
        self.id_by_name("role", name, || self.role_find(name))
    }

    /// Grants (`grant`) or revokes a role of a user on a project.
    pub fn role_assignment(
        &self,
        user: &Id,
        project: &Id,
        role: &str,
        grant: bool,
    ) -> Result<bool, String> {
        let (u, p, r) = (
            self.user_id(user)?,
            self.project_id(project)?,
            self.role_id(role)?,
        );
        let target = format!("{role} for {user} on {project}");
        let path = format!("/projects/{p}/users/{u}/roles/{r}");
        let has = if [&u, &p, &r].iter().any(|x| x.is_planned()) {
            false
        } else {
            self.read(
                &target,
                |c| match c.call(Method::HEAD, "identity", &path, Body::None, &[]) {
                    Ok(_) => Ok(true),
                    Err(f) if f.status() == Some(404) => Ok(false),
                    Err(f) => Err(f.into()),
                },
                false,
            )?
        };
        let (verb, method) = if grant {
            ("role.grant", Method::PUT)
        } else {
            ("role.revoke", Method::DELETE)
        };
        if has == grant {
            self.fx.unchanged(self.op(verb, &target));
            return Ok(false);
        }
        self.update(
            self.op(verb, &target),
            |c| match c.call(method, "identity", &path, Body::None, &[]) {
                Err(f) if !grant && f.status() == Some(404) => Ok(Value::Null),
                r => r.map(|_| Value::Null),
            },
            Value::Null,
        )?;
        Ok(true)
    }

    pub fn role_assignments(
        &self,
        user: Option<Id>,
        project: Option<Id>,
    ) -> Result<Vec<Value>, String> {
        let mut path = "/role_assignments?include_names=true".to_string();
        if let Some(u) = user {
            let Id::Real(id) = self.user_id(&u)? else {
                return Ok(vec![]);
            };
            path.push_str(&format!("&user.id={}", q(&id)));
        }
        if let Some(p) = project {
            let Id::Real(id) = self.project_id(&p)? else {
                return Ok(vec![]);
            };
            path.push_str(&format!("&scope.project.id={}", q(&id)));
        }
        let all = self.list("identity", &path, "role_assignments")?;
        Ok(all
            .iter()
            .map(|a| {
                json!({
                    "user": a["user"]["name"],
                    "user_id": a["user"]["id"],
                    "project": a["scope"]["project"]["name"],
                    "project_id": a["scope"]["project"]["id"],
                    "role": a["role"]["name"],
                })
            })
            .collect())
    }

    // ---------- quotas ----------

    /// Quotas of a project as `{key: {limit, in_use, reserved}}` (compute or network).
    pub fn quota(&self, service: &str, project: &Id) -> Result<Value, String> {
        let Id::Real(pid) = self.project_id(project)? else {
            return Ok(json!({}));
        };
        let mut out = JMap::new();
        if service == "compute" {
            let v = self.read(
                &project.to_string(),
                |c| c.get("compute", &format!("/os-quota-sets/{pid}/detail")),
                Value::Null,
            )?;
            for (k, d) in v["quota_set"].as_object().into_iter().flatten() {
                if d.is_object() {
                    out.insert(k.clone(), json!({"limit": d["limit"], "in_use": d["in_use"], "reserved": d["reserved"]}));
                }
            }
        } else {
            let v = self.read(
                &project.to_string(),
                |c| c.get("network", &format!("/quotas/{pid}/details.json")),
                Value::Null,
            )?;
            for (k, d) in v["quota"].as_object().into_iter().flatten() {
                out.insert(
                    k.clone(),
                    json!({"limit": d["limit"], "in_use": d["used"], "reserved": d["reserved"]}),
                );
            }
        }
        Ok(Value::Object(out))
    }

    /// Sets quotas; a limit below what is in use is refused before anything changes.
    pub fn quota_set(
        &self,
        service: &str,
        project: &Id,
        want: &[(String, i64)],
    ) -> Result<Value, String> {
        let pid = self.project_id(project)?;
        let cur = self.quota(service, project)?;
        let mut diff = JMap::new();
        let live = !pid.is_planned() && self.live().is_some();
        for (k, v) in want {
            if live {
                let Some(c) = cur.get(k) else {
                    let known: Vec<&str> = cur
                        .as_object()
                        .map(|m| m.keys().map(|k| k.as_str()).collect())
                        .unwrap_or_default();
                    let hint = crate::engine::analyze::closest(k, known.iter().copied())
                        .map(|c| format!(" (did you mean '{c}'?)"))
                        .unwrap_or_default();
                    return Err(format!(
                        "{service} quota '{k}' is unknown{hint}; known: {}",
                        known.join(", ")
                    ));
                };
                let used =
                    c["in_use"].as_i64().unwrap_or(0) + c["reserved"].as_i64().unwrap_or(0).max(0);
                if *v >= 0 && *v < used {
                    return Err(format!(
                        "{service} quota '{k}' = {v} for project '{project}' is below what is in use ({used}); raise it or free resources first"
                    ));
                }
                if c["limit"].as_i64() == Some(*v) {
                    continue;
                }
            }
            diff.insert(k.clone(), json!(v));
        }
        let target = format!("{service} quota of {project}");
        if diff.is_empty() {
            self.fx.unchanged(self.op("quota.set", &target));
            return Ok(cur);
        }
        let (path, body, svc) = if service == "compute" {
            (
                format!("/os-quota-sets/{pid}"),
                json!({"quota_set": diff}),
                "compute",
            )
        } else {
            (format!("/quotas/{pid}"), json!({"quota": diff}), "network")
        };
        self.update(
            self.op("quota.set", &target).arg("set", &diff),
            |c| {
                c.call(Method::PUT, svc, &path, Body::Json(body), &[])
                    .map(|r| r.body)
            },
            Value::Null,
        )?;
        if self.fx.is_plan() || !live {
            return Ok(Value::Object(diff));
        }
        self.quota(service, project)
    }

    // ---------- compute ----------

    pub fn flavors(&self) -> Result<Vec<Value>, String> {
        self.read(
            "flavors",
            |c| {
                let mut all = vec![];
                let mut path = "/flavors/detail?is_public=None&limit=1000".to_string();
                loop {
                    let r = c.call(Method::GET, "compute", &path, Body::None, &[])?.body;
                    let items = r["flavors"].as_array().cloned().unwrap_or_default();
                    let next = r["flavors_links"]
                        .as_array()
                        .and_then(|l| l.iter().find(|x| x["rel"] == "next"))
                        .and_then(|x| x["href"].as_str())
                        .map(String::from);
                    all.extend(items);
                    match next {
                        Some(n) => path = n,
                        None => return Ok(all),
                    }
                }
            },
            vec![],
        )
    }

    pub fn flavor_ensure(&self, s: FlavorSpec) -> Result<Value, String> {
        let FlavorSpec {
            name,
            ram,
            vcpus,
            disk,
            ephemeral: eph,
            swap,
            public,
            description: desc,
        } = s;
        if let Some(f) = self
            .flavors()?
            .into_iter()
            .find(|f| f["name"] == name.as_str())
        {
            let mut differs = vec![];
            for (k, want) in [
                ("ram", ram),
                ("vcpus", vcpus),
                ("disk", disk),
                ("OS-FLV-EXT-DATA:ephemeral", eph),
            ] {
                let have = f[k].as_i64().unwrap_or(0);
                if have != want {
                    differs.push(format!("{k} {have} (wanted {want})"));
                }
            }
            if !differs.is_empty() {
                return Err(format!(
                    "flavor '{name}' exists with {}; a flavor cannot change: delete it (cloud::flavor_delete) or choose another name",
                    differs.join(", ")
                ));
            }
            if let Some(d) = desc
                .as_ref()
                .filter(|d| f["description"].as_str() != Some(d.as_str()))
            {
                let id = sid(&f);
                let body = json!({"flavor": {"description": d}});
                self.update(
                    self.op("flavor.update", &name).arg("description", d),
                    |c| {
                        c.call(
                            Method::PUT,
                            "compute",
                            &format!("/flavors/{id}"),
                            Body::Json(body),
                            &[],
                        )
                        .map(|_| Value::Null)
                    },
                    Value::Null,
                )?;
                let mut f = f;
                f["description"] = json!(d);
                return Ok(f);
            }
            self.fx.unchanged(self.op("flavor.ensure", &name));
            return Ok(f);
        }
        let mut body = json!({"flavor": {"name": name, "ram": ram, "vcpus": vcpus, "disk": disk,
            "OS-FLV-EXT-DATA:ephemeral": eph, "os-flavor-access:is_public": public}});
        if swap > 0 {
            body["flavor"]["swap"] = json!(swap);
        }
        if let Some(d) = &desc {
            body["flavor"]["description"] = json!(d);
        }
        let find = |c: &Client| -> Result<Option<Value>, String> {
            let r = c
                .call(
                    Method::GET,
                    "compute",
                    "/flavors/detail?is_public=None&limit=1000",
                    Body::None,
                    &[],
                )?
                .body;
            Ok(r["flavors"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|f| f["name"] == name.as_str())
                .cloned())
        };
        let post = |c: &Client| -> Result<Value, Failure> {
            Ok(c.call(
                Method::POST,
                "compute",
                "/flavors",
                Body::Json(body.clone()),
                &[],
            )?
            .body["flavor"]
                .clone())
        };
        self.create(
            self.op("flavor.create", &name)
                .arg("ram", ram)
                .arg("vcpus", vcpus)
                .arg("disk", disk),
            "flavor",
            &name,
            &find,
            &post,
            json!({"ram": ram, "vcpus": vcpus, "disk": disk}),
        )
    }

    pub fn flavor_delete(&self, name: &str) -> Result<bool, String> {
        let Some(f) = self
            .flavors()?
            .into_iter()
            .find(|f| f["name"] == name || f["id"] == name)
        else {
            self.fx.unchanged(self.op("flavor.absent", name));
            return Ok(false);
        };
        let id = sid(&f);
        self.update(
            self.op("flavor.delete", name),
            |c| {
                c.call(
                    Method::DELETE,
                    "compute",
                    &format!("/flavors/{id}"),
                    Body::None,
                    &[],
                )
                .map(|_| Value::Null)
            },
            Value::Null,
        )?;
        Ok(true)
    }

    pub fn servers(&self, all_projects: bool, name: Option<String>) -> Result<Vec<Value>, String> {
        let mut path = "/servers/detail?limit=1000".to_string();
        if all_projects {
            path.push_str("&all_tenants=1");
        }
        if let Some(n) = name {
            path.push_str(&format!("&name={}", q(format!("^{}$", regex_escape(&n)))));
        }
        self.list("compute", &path, "servers")
    }

    pub fn limits(&self) -> Result<Value, String> {
        self.read(
            "limits",
            |c| Ok(c.get("compute", "/limits")?["limits"]["absolute"].clone()),
            json!({}),
        )
    }

    // ---------- network ----------

    pub fn network_find(&self, name: &Id) -> Result<Option<Value>, String> {
        let Id::Real(name) = name else {
            return Ok(None);
        };
        if looks_like_id(name) {
            if let Some(v) = self.get_opt("network", &format!("/networks/{name}"))? {
                return Ok(Some(v["network"].clone()));
            }
        }
        Ok(self
            .list(
                "network",
                &format!("/networks?name={}", q(name)),
                "networks",
            )?
            .into_iter()
            .next())
    }

    fn network_id(&self, name: &Id) -> Result<Id, String> {
        match self.network_find(name)? {
            Some(n) => Ok(sid(&n)),
            None if self.fx.is_plan() => Ok(Id::planned("network", &name.to_string())),
            None => Err(format!(
                "network '{name}' does not exist in cloud '{}'",
                self.conn.name()
            )),
        }
    }

    fn project_field(
        &self,
        project: Option<&Id>,
        body: &mut Value,
        key: &str,
    ) -> Result<(), String> {
        if let Some(p) = project {
            if let Id::Real(pid) = self.project_id(p)? {
                body[key]["project_id"] = json!(pid);
            }
        }
        Ok(())
    }

    pub fn network_ensure(&self, s: NetworkSpec) -> Result<Value, String> {
        let name = s.name;
        let mut body = json!({"network": {"name": name, "admin_state_up": true}});
        let n = &mut body["network"];
        if s.external {
            n["router:external"] = json!(true);
        }
        if s.shared {
            n["shared"] = json!(true);
        }
        if let Some(t) = s.network_type {
            n["provider:network_type"] = json!(t);
        }
        if let Some(p) = s.physical_network {
            n["provider:physical_network"] = json!(p);
        }
        if let Some(id) = s.segmentation_id {
            n["provider:segmentation_id"] = json!(id);
        }
        if let Some(m) = s.mtu {
            n["mtu"] = json!(m);
        }
        if let Some(d) = s.description {
            n["description"] = json!(d);
        }
        self.project_field(s.project.as_ref(), &mut body, "network")?;
        if let Some(found) = self.network_find(&Id::Real(name.clone()))? {
            if s.external && found["router:external"] != json!(true) {
                return Err(format!(
                    "network '{name}' exists and is not external; delete it or choose another name"
                ));
            }
            self.fx.unchanged(self.op("network.ensure", &name));
            return Ok(found);
        }
        let list_path = format!("/networks?name={}", q(&name));
        let shown = body["network"].clone();
        self.create_listed(
            self.op("network.create", &name).arg("spec", &shown),
            "network",
            &name,
            "network",
            &list_path,
            "networks",
            "/networks",
            "network",
            body,
            shown.clone(),
        )
    }

    pub fn subnets_of(&self, network_id: &Id) -> Result<Vec<Value>, String> {
        let Id::Real(network_id) = network_id else {
            return Ok(vec![]);
        };
        self.list(
            "network",
            &format!("/subnets?network_id={}", q(network_id)),
            "subnets",
        )
    }

    pub fn subnet_ensure(&self, spec: SubnetSpec) -> Result<Value, String> {
        let SubnetSpec {
            name,
            network,
            cidr,
            gateway,
            dhcp,
            pools: wanted_pools,
            dns,
            ip_version,
            project,
        } = spec;
        if cidr.parse::<std::net::Ipv4Addr>().is_ok() || !cidr.contains('/') {
            return Err(format!(
                "subnet '{name}': cidr {cidr:?} must be an address/prefix such as 192.168.122.0/24"
            ));
        }
        let nid = self.network_id(&network)?;
        let mut body = json!({"subnet": {"name": name, "network_id": nid, "cidr": cidr,
            "ip_version": ip_version, "enable_dhcp": dhcp}});
        let s = &mut body["subnet"];
        if let Some(g) = gateway {
            if !in_cidr(&g, &cidr) {
                return Err(format!("subnet '{name}': gateway {g} is outside {cidr}"));
            }
            s["gateway_ip"] = json!(g);
        }
        let mut pools = vec![];
        for (start, end) in wanted_pools {
            for a in [&start, &end] {
                if !in_cidr(a, &cidr) {
                    return Err(format!(
                        "subnet '{name}': pool address {a} is outside {cidr}"
                    ));
                }
            }
            pools.push(json!({"start": start, "end": end}));
        }
        if !pools.is_empty() {
            s["allocation_pools"] = json!(pools);
        }
        if !dns.is_empty() {
            s["dns_nameservers"] = json!(dns);
        }
        self.project_field(project.as_ref(), &mut body, "subnet")?;
        if let Some(found) = self
            .subnets_of(&nid)?
            .into_iter()
            .find(|s| s["name"] == name.as_str())
        {
            if found["cidr"] != cidr.as_str() {
                return Err(format!("subnet '{name}' exists with cidr {} (wanted {cidr}); delete it or choose another name", found["cidr"]));
            }
            self.fx.unchanged(self.op("subnet.ensure", &name));
            return Ok(found);
        }
        let list_path = format!("/subnets?network_id={}&name={}", q(&nid), q(&name));
        let shown = body["subnet"].clone();
        self.create_listed(
            self.op("subnet.create", &name).arg("spec", &shown),
            "subnet",
            &name,
            "network",
            &list_path,
            "subnets",
            "/subnets",
            "subnet",
            body,
            shown.clone(),
        )
    }

    pub fn router_ensure(&self, s: RouterSpec) -> Result<Value, String> {
        let name = s.name;
        let ext = match &s.external_network {
            Some(e) => Some(self.network_id(e)?),
            None => None,
        };
        let mut body = json!({"router": {"name": name, "admin_state_up": true}});
        if let Some(Id::Real(e)) = &ext {
            body["router"]["external_gateway_info"] = json!({"network_id": e});
        }
        self.project_field(s.project.as_ref(), &mut body, "router")?;
        let existing = self
            .list("network", &format!("/routers?name={}", q(&name)), "routers")?
            .into_iter()
            .next();
        let router = match existing {
            Some(r) => {
                self.fx.unchanged(self.op("router.ensure", &name));
                r
            }
            None => {
                let list_path = format!("/routers?name={}", q(&name));
                self.create_listed(
                    self.op("router.create", &name)
                        .arg("external_network", &ext),
                    "router",
                    &name,
                    "network",
                    &list_path,
                    "routers",
                    "/routers",
                    "router",
                    body,
                    json!({}),
                )?
            }
        };
        let rid = sid(&router);
        for sname in s.subnets {
            let attached = if rid.is_planned() {
                false
            } else {
                let ports =
                    self.list("network", &format!("/ports?device_id={}", q(&rid)), "ports")?;
                let subs = self.list(
                    "network",
                    &format!("/subnets?name={}", q(&sname)),
                    "subnets",
                )?;
                subs.iter().any(|sub| {
                    ports.iter().any(|p| {
                        p["fixed_ips"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|f| f["subnet_id"] == sub["id"])
                    })
                })
            };
            let target = format!("{name} → {sname}");
            if attached {
                self.fx.unchanged(self.op("router.interface", &target));
                continue;
            }
            let sub = self
                .list(
                    "network",
                    &format!("/subnets?name={}", q(&sname)),
                    "subnets",
                )?
                .into_iter()
                .next();
            let sid_ = match sub {
                Some(s) => sid(&s),
                None if self.fx.is_plan() => Id::planned("subnet", &sname),
                None => return Err(format!("router '{name}': subnet '{sname}' does not exist")),
            };
            self.update(
                self.op("router.interface", &target),
                |c| {
                    c.call(
                        Method::PUT,
                        "network",
                        &format!("/routers/{rid}/add_router_interface"),
                        Body::Json(json!({"subnet_id": sid_})),
                        &[],
                    )
                    .map(|r| r.body)
                },
                Value::Null,
            )?;
        }
        Ok(router)
    }

    pub fn floating_ip_ensure(&self, s: FloatingIpSpec) -> Result<Value, String> {
        let FloatingIpSpec {
            network: net,
            address: addr,
            project,
            description: desc,
        } = s;
        if addr.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(format!(
                "floating IP: address {addr:?} is not an IPv4 address"
            ));
        }
        let nid = self.network_id(&net)?;
        let subnets = self.subnets_of(&nid)?;
        if !subnets.is_empty()
            && !subnets
                .iter()
                .any(|s| in_cidr(&addr, s["cidr"].as_str().unwrap_or_default()))
        {
            let cidrs: Vec<&str> = subnets.iter().filter_map(|s| s["cidr"].as_str()).collect();
            return Err(format!(
                "floating IP {addr} is outside the subnets of network '{net}' ({}); choose an address inside them",
                cidrs.join(", ")
            ));
        }
        let pid = match &project {
            Some(p) => Some(self.project_id(p)?),
            None => None,
        };
        let lookup = format!(
            "/floatingips?floating_ip_address={}&floating_network_id={}",
            q(&addr),
            q(&nid)
        );
        let found = if nid.is_planned() {
            None
        } else {
            self.list("network", &lookup, "floatingips")?
                .into_iter()
                .next()
        };
        if let Some(f) = found {
            if let Some(Id::Real(p)) = &pid {
                if f["project_id"] != p.as_str() {
                    return Err(format!(
                        "floating IP {addr} already belongs to project {}; release it there or choose another address",
                        f["project_id"].as_str().unwrap_or("?")
                    ));
                }
            }
            self.fx.unchanged(self.op("floating_ip.ensure", &addr));
            return Ok(f);
        }
        let mut body =
            json!({"floatingip": {"floating_network_id": nid, "floating_ip_address": addr}});
        if let Some(Id::Real(p)) = &pid {
            body["floatingip"]["project_id"] = json!(p);
        }
        if let Some(d) = &desc {
            body["floatingip"]["description"] = json!(d);
        }
        let list_path = lookup;
        self.create_listed(
            self.op("floating_ip.create", &addr)
                .arg("network", &net)
                .arg("project", &project),
            "floating_ip",
            &addr,
            "network",
            &list_path,
            "floatingips",
            "/floatingips",
            "floatingip",
            body,
            json!({"floating_ip_address": addr, "floating_network_id": nid, "port_id": null}),
        )
    }

    pub fn floating_ip_find(&self, addr: &str) -> Result<Option<Value>, String> {
        Ok(self
            .list(
                "network",
                &format!("/floatingips?floating_ip_address={}", q(addr)),
                "floatingips",
            )?
            .into_iter()
            .next())
    }

    pub fn floating_ip_associate(&self, addr: &str, port: &Id) -> Result<Value, String> {
        let fip = self.floating_ip_find(addr)?;
        let p = self.port_find(port)?;
        let target = format!("{addr} → {port}");
        let (fip, p) = match (fip, p) {
            (Some(f), Some(p)) => (f, p),
            (None, _) if self.fx.is_plan() => {
                return self.update(
                    self.op("floating_ip.associate", &target),
                    |_| Ok(Value::Null),
                    json!({"floating_ip_address": addr, "port_id": Id::planned("port", &port.to_string())}),
                )
            }
            (_, None) if self.fx.is_plan() => {
                return self.update(
                    self.op("floating_ip.associate", &target),
                    |_| Ok(Value::Null),
                    json!({"floating_ip_address": addr, "port_id": Id::planned("port", &port.to_string())}),
                )
            }
            (None, _) => {
                return Err(format!(
                "floating IP {addr} does not exist; create it first (cloud::floating_ip_ensure)"
            ))
            }
            (_, None) => return Err(format!("port '{port}' does not exist")),
        };
        let (fid, pid) = (sid(&fip), sid(&p));
        if fip["port_id"] == pid.to_string() {
            self.fx.unchanged(self.op("floating_ip.associate", &target));
            return Ok(fip);
        }
        let r = self.update(
            self.op("floating_ip.associate", &target)
                .arg("port_id", &pid),
            |c| {
                Ok(c.call(
                    Method::PUT,
                    "network",
                    &format!("/floatingips/{fid}"),
                    Body::Json(json!({"floatingip": {"port_id": pid}})),
                    &[],
                )?
                .body["floatingip"]
                    .clone())
            },
            json!({"floating_ip_address": addr, "port_id": pid}),
        )?;
        Ok(if r.is_null() { fip } else { r })
    }

    pub fn floating_ip_delete(&self, addr: &str) -> Result<bool, String> {
        let Some(f) = self.floating_ip_find(addr)? else {
            self.fx.unchanged(self.op("floating_ip.absent", addr));
            return Ok(false);
        };
        let id = sid(&f);
        self.update(
            self.op("floating_ip.delete", addr),
            |c| {
                c.call(
                    Method::DELETE,
                    "network",
                    &format!("/floatingips/{id}"),
                    Body::None,
                    &[],
                )
                .map(|_| Value::Null)
            },
            Value::Null,
        )?;
        Ok(true)
    }

    pub fn port_find(&self, port: &Id) -> Result<Option<Value>, String> {
        let Id::Real(port) = port else {
            return Ok(None);
        };
        if looks_like_id(port) {
            if let Some(v) = self.get_opt("network", &format!("/ports/{port}"))? {
                return Ok(Some(v["port"].clone()));
            }
        }
        Ok(self
            .list("network", &format!("/ports?name={}", q(port)), "ports")?
            .into_iter()
            .next())
    }

    pub fn ports(&self, f: PortFilter) -> Result<Vec<Value>, String> {
        let mut path = "/ports?".to_string();
        if let Some(n) = &f.name {
            path.push_str(&format!("name={}&", q(n)));
        }
        if !f.tags.is_empty() {
            path.push_str(&format!("tags={}&", q(f.tags.join(","))));
        }
        if let Some(d) = &f.device_owner {
            path.push_str(&format!("device_owner={}&", q(d)));
        }
        if let Some(n) = &f.network {
            let Id::Real(nid) = self.network_id(n)? else {
                return Ok(vec![]);
            };
            path.push_str(&format!("network_id={}&", q(&nid)));
        }
        if let Some(p) = &f.project {
            let Id::Real(pid) = self.project_id(p)? else {
                return Ok(vec![]);
            };
            path.push_str(&format!("project_id={}&", q(&pid)));
        }
        let path = path.trim_end_matches(['&', '?']).to_string();
        let suffix = f.name_suffix;
        let all = self.list("network", &path, "ports")?;
        Ok(all
            .into_iter()
            .filter(|p| {
                suffix
                    .as_ref()
                    .is_none_or(|s| p["name"].as_str().unwrap_or_default().ends_with(s.as_str()))
            })
            .collect())
    }

    pub fn port_create(&self, s: PortSpec) -> Result<Value, String> {
        let PortSpec {
            name,
            network,
            fixed_ip,
            tags,
            allowed_address_pairs,
            device_owner,
            project,
        } = s;
        let nid = self.network_id(&network)?;
        if let Some(p) = self
            .list(
                "network",
                &format!("/ports?name={}&network_id={}", q(&name), q(&nid)),
                "ports",
            )?
            .into_iter()
            .next()
        {
            self.fx.unchanged(self.op("port.ensure", &name));
            return Ok(p);
        }
        let mut body = json!({"port": {"name": name, "network_id": nid}});
        let pairs: Vec<Value> = allowed_address_pairs
            .iter()
            .map(|a| json!({"ip_address": a}))
            .collect();
        if !pairs.is_empty() {
            body["port"]["allowed_address_pairs"] = json!(pairs);
        }
        if let Some(ip) = fixed_ip {
            body["port"]["fixed_ips"] = json!([{"ip_address": ip}]);
        }
        if let Some(d) = device_owner {
            body["port"]["device_owner"] = json!(d);
        }
        self.project_field(project.as_ref(), &mut body, "port")?;
        let list_path = format!("/ports?name={}&network_id={}", q(&name), q(&nid));
        let port = self.create_listed(
            self.op("port.create", &name),
            "port",
            &name,
            "network",
            &list_path,
            "ports",
            "/ports",
            "port",
            body,
            json!({"tags": tags}),
        )?;
        let id = sid(&port);
        if !tags.is_empty() && !id.is_planned() {
            self.update(
                self.op("port.tags", &name).arg("tags", &tags),
                |c| {
                    c.call(
                        Method::PUT,
                        "network",
                        &format!("/ports/{id}/tags"),
                        Body::Json(json!({"tags": tags})),
                        &[],
                    )
                    .map(|r| r.body)
                },
                Value::Null,
            )?;
            return self.port_find(&id).map(|p| p.unwrap_or(port));
        }
        Ok(port)
    }

    pub fn security_group_ensure(&self, s: SecurityGroupSpec) -> Result<Value, String> {
        let name = s.name;
        let pid = match &s.project {
            Some(p) => Some(self.project_id(p)?),
            None => None,
        };
        let mut path = format!("/security-groups?name={}", q(&name));
        if let Some(Id::Real(p)) = &pid {
            path.push_str(&format!("&project_id={}", q(p)));
        }
        let found = if pid.as_ref().is_some_and(Id::is_planned) {
            None
        } else {
            self.list("network", &path, "security_groups")?
                .into_iter()
                .next()
        };
        if let Some(g) = found {
            self.fx.unchanged(self.op("security_group.ensure", &name));
            return Ok(g);
        }
        let mut body = json!({"security_group": {"name": name, "description": s.description.unwrap_or_default()}});
        if let Some(Id::Real(p)) = &pid {
            body["security_group"]["project_id"] = json!(p);
        }
        let list_path = path;
        self.create_listed(
            self.op("security_group.create", &name),
            "security_group",
            &name,
            "network",
            &list_path,
            "security_groups",
            "/security-groups",
            "security_group",
            body,
            json!({"security_group_rules": []}),
        )
    }

    pub fn security_group_rule_ensure(&self, s: RuleSpec) -> Result<Value, String> {
        let group = s.group;
        let g = self
            .list(
                "network",
                &format!("/security-groups?name={}", q(&group)),
                "security_groups",
            )?
            .into_iter()
            .next();
        let gid = match &g {
            Some(g) => sid(g),
            None if self.fx.is_plan() => Id::planned("security_group", &group),
            None => return Err(format!("security group '{group}' does not exist")),
        };
        let direction = s.direction.unwrap_or_else(|| "ingress".into());
        let ethertype = s.ethertype.unwrap_or_else(|| "IPv4".into());
        let protocol = s.protocol;
        let (pmin, pmax) = (s.port_min, s.port_max.or(s.port_min));
        let remote = s.remote_ip_prefix;
        let want = json!({"direction": direction, "ethertype": ethertype, "protocol": protocol,
            "port_range_min": pmin, "port_range_max": pmax, "remote_ip_prefix": remote});
        let target = format!(
            "{group} {direction} {} {}-{} from {}",
            protocol.as_deref().unwrap_or("any"),
            pmin.map(|p| p.to_string()).unwrap_or_default(),
            pmax.map(|p| p.to_string()).unwrap_or_default(),
            remote.as_deref().unwrap_or("any")
        );
        let matches = |r: &Value| {
            [
                "direction",
                "ethertype",
                "protocol",
                "port_range_min",
                "port_range_max",
                "remote_ip_prefix",
            ]
            .iter()
            .all(|k| r[*k] == want[*k])
        };
        if let Some(r) = g.as_ref().and_then(|g| {
            g["security_group_rules"]
                .as_array()
                .and_then(|rs| rs.iter().find(|r| matches(r)).cloned())
        }) {
            self.fx
                .unchanged(self.op("security_group_rule.ensure", &target));
            return Ok(r);
        }
        let mut body = want.clone();
        body["security_group_id"] = json!(gid);
        let body = json!({"security_group_rule": body});
        let find = |c: &Client| -> Result<Option<Value>, String> {
            let rules = c.list(
                "network",
                &format!("/security-group-rules?security_group_id={}", q(&gid)),
                "security_group_rules",
            )?;
            Ok(rules.into_iter().find(|r| matches(r)))
        };
        let post = |c: &Client| -> Result<Value, Failure> {
            Ok(c.call(
                Method::POST,
                "network",
                "/security-group-rules",
                Body::Json(body.clone()),
                &[],
            )?
            .body["security_group_rule"]
                .clone())
        };
        self.create(
            self.op("security_group_rule.create", &target),
            "rule",
            &target,
            &find,
            &post,
            want.clone(),
        )
    }

    // ---------- image ----------

    pub fn images(&self, name: Option<&str>) -> Result<Vec<Value>, String> {
        let path = match name {
            Some(n) => format!("/images?name={}", q(n)),
            // Glance's own page size; `next` links are followed.
            None => "/images".into(),
        };
        self.list("image", &path, "images")
    }

    pub fn image_ensure(&self, s: ImageSpec) -> Result<Value, String> {
        let ImageSpec {
            name,
            file,
            disk_format,
            container_format,
            visibility,
            tags,
            project,
        } = s;
        let disk_format = disk_format.unwrap_or_else(|| "qcow2".into());
        let container_format = container_format.unwrap_or_else(|| "bare".into());
        // The project that owns it (by name or id): the one whose users see a private or shared
        // image, as when the tenant's own user uploads it.
        let owner = match &project {
            Some(p) => Some(self.project_id(p)?),
            None => None,
        };
        let meta = std::fs::metadata(&file);
        let (len, hash) = match meta {
            Ok(m) if m.is_file() => (m.len(), Some(sha512_file(&file)?)),
            _ if self.fx.is_plan() => (0, None),
            _ => return Err(format!("image '{name}': file {file} does not exist")),
        };
        let existing = self.images(Some(&name))?;
        if existing.len() > 1 {
            return Err(format!(
                "{} images are named '{name}'; delete the extra ones so the name is unique",
                existing.len()
            ));
        }
        let img = match existing.into_iter().next() {
            Some(i) if i["status"] == "active" => {
                let theirs = i["os_hash_value"].as_str().unwrap_or_default();
                if hash.as_deref().is_some_and(|h| h != theirs) && !theirs.is_empty() {
                    return Err(format!(
                        "image '{name}' exists with other content (sha512 {}…, the file's is {}…); delete it (cloud::image_delete) to upload the new one",
                        &theirs[..12.min(theirs.len())],
                        &hash.as_deref().unwrap_or_default()[..12]
                    ));
                }
                if let Some(own) = owner
                    .as_ref()
                    .filter(|o| i["owner"].as_str() != Some(o.to_string().as_str()))
                {
                    let id = sid(&i);
                    let patch = json!([{"op": "replace", "path": "/owner", "value": own}]);
                    self.update(
                        self.op("image.owner", &name).arg("owner", own),
                        |c| {
                            c.call(
                                Method::PATCH,
                                "image",
                                &format!("/images/{id}"),
                                Body::ImagePatch(patch.clone()),
                                &[],
                            )
                            .map(|r| r.body)
                        },
                        Value::Null,
                    )?;
                    let mut i = i;
                    i["owner"] = json!(own);
                    return Ok(i);
                }
                self.fx.unchanged(self.op("image.ensure", &name));
                return Ok(i);
            }
            Some(i) => i,
            None => {
                let mut body = json!({"name": name, "disk_format": disk_format, "container_format": container_format});
                if let Some(v) = &visibility {
                    body["visibility"] = json!(v);
                }
                if let Some(own) = &owner {
                    body["owner"] = json!(own);
                }
                if !tags.is_empty() {
                    body["tags"] = json!(tags);
                }
                let find = |c: &Client| -> Result<Option<Value>, String> {
                    Ok(
                        c.list("image", &format!("/images?name={}", q(&name)), "images")?
                            .into_iter()
                            .next(),
                    )
                };
                let post = |c: &Client| -> Result<Value, Failure> {
                    Ok(c.call(
                        Method::POST,
                        "image",
                        "/images",
                        Body::Json(body.clone()),
                        &[],
                    )?
                    .body)
                };
                self.create(
                    self.op("image.create", &name)
                        .arg("disk_format", &disk_format),
                    "image",
                    &name,
                    &find,
                    &post,
                    json!({"status": "queued"}),
                )?
            }
        };
        let id = sid(&img);
        let path = std::path::PathBuf::from(&file);
        self.update(
            self.op("image.upload", &name)
                .arg("file", &file)
                .arg("bytes", len),
            |c| {
                c.call(
                    Method::PUT,
                    "image",
                    &format!("/images/{id}/file"),
                    Body::File(path, len),
                    &[],
                )
                .map(|_| Value::Null)
            },
            Value::Null,
        )?;
        if self.fx.is_plan() || id.is_planned() {
            return Ok(img);
        }
        self.get_opt("image", &format!("/images/{id}"))
            .map(|v| v.unwrap_or(img))
    }

    pub fn image_delete(&self, name: &str) -> Result<bool, String> {
        let found = self.images(Some(name))?;
        if found.is_empty() {
            self.fx.unchanged(self.op("image.absent", name));
            return Ok(false);
        }
        for i in found {
            let id = sid(&i);
            self.update(
                self.op("image.delete", name).arg("id", &id),
                |c| {
                    c.call(
                        Method::DELETE,
                        "image",
                        &format!("/images/{id}"),
                        Body::None,
                        &[],
                    )
                    .map(|_| Value::Null)
                },
                Value::Null,
            )?;
        }
        Ok(true)
    }

    // ---------- object store ----------

    /// The account's headers: metadata (`X-Account-Meta-*`, lower-cased, without the prefix) and
    /// counts.
    pub fn account(&self) -> Result<Vec<(String, String)>, String> {
        self.read(
            "account",
            |c| {
                let r = c.call(Method::HEAD, "object-store", "", Body::None, &[])?;
                Ok(r.headers)
            },
            vec![],
        )
    }

    pub fn account_meta_set(&self, want: &[(String, String, bool)]) -> Result<bool, String> {
        let have = self.account()?;
        let get = |k: &str| {
            have.iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(&format!("x-account-meta-{k}")))
                .map(|(_, v)| v.clone())
        };
        let mut changed = false;
        for (k, v, secret) in want {
            let shown = if *secret {
                crate::effects::secret::mask(&format!("account.{}", k.to_ascii_lowercase()))
            } else {
                v.clone()
            };
            if get(k).as_deref() == Some(v.as_str()) {
                self.fx.unchanged(self.op("account.meta", k));
                continue;
            }
            let hdr = format!("X-Account-Meta-{k}");
            let val = v.clone();
            self.update(
                self.op("account.meta", k).arg("value", shown),
                |c| {
                    c.call(
                        Method::POST,
                        "object-store",
                        "",
                        Body::None,
                        &[(hdr.as_str(), val)],
                    )
                    .map(|_| Value::Null)
                },
                Value::Null,
            )?;
            changed = true;
        }
        Ok(changed)
    }

    pub fn container_ensure(&self, name: &str) -> Result<bool, String> {
        let path = format!("/{}", q(name));
        let exists = self.read(
            name,
            |c| match c.call(Method::HEAD, "object-store", &path, Body::None, &[]) {
                Ok(_) => Ok(true),
                Err(f) if f.status() == Some(404) => Ok(false),
                Err(f) => Err(f.into()),
            },
            false,
        )?;
        if exists {
            self.fx.unchanged(self.op("container.ensure", name));
            return Ok(false);
        }
        self.update(
            self.op("container.create", name),
            |c| {
                c.call(Method::PUT, "object-store", &path, Body::None, &[])
                    .map(|_| Value::Null)
            },
            Value::Null,
        )?;
        Ok(true)
    }
}

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if ".^$*+?()[]{}|\\".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// The sha512 of a file, streamed (Glance's `os_hash_value`).
pub fn sha512_file(path: &str) -> Result<String, String> {
    use sha2::{Digest, Sha512};
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut h = Sha512::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A config for display: no secret.
pub fn describe(cfg: &CloudConfig) -> Value {
    json!({
        "name": cfg.name,
        "source": cfg.source,
        "auth_url": cfg.auth_url,
        "user": cfg.user(),
        "project": cfg.project(),
        "region": cfg.region,
        "interface": cfg.interface,
        "verify": cfg.verify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_membership() {
        assert!(in_cidr("192.168.122.164", "192.168.122.0/24"));
        assert!(!in_cidr("192.168.123.1", "192.168.122.0/24"));
        assert!(in_cidr("10.1.2.3", "0.0.0.0/0"));
        assert!(!in_cidr("x", "10.0.0.0/8"));
    }

    #[test]
    fn ids_and_quoting() {
        assert!(looks_like_id("699eeaefb7b84291a75d389ec0f10ea2"));
        assert!(looks_like_id("c3c14e9d-750f-46fb-af9c-e9fd375719b2"));
        assert!(!looks_like_id("ocp-tenant"));
        assert_eq!(q("a b&c"), "a%20b%26c");
    }
}
