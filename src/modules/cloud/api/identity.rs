//! Keystone: domains, projects, users, roles and their assignments. Ids looked up by name are
//! reused for a while (the session keeps them) and forgotten when one of the kind is deleted.

use super::spec::{ProjectSpec, UserSpec};
use super::{looks_like_id, q, sid, Api, Collection};
use crate::error::Error;
use crate::modules::cloud::id::Id;
use serde_json::{json, Value};
use ureq::http::Method;

const PROJECTS: Collection =
    Collection::new("identity", "project", "/projects", "projects", "project");
const USERS: Collection = Collection::new("identity", "user", "/users", "users", "user");
const ROLES: Collection = Collection::new("identity", "role", "/roles", "roles", "role");

impl<'a> Api<'a> {
    pub fn domain_id(&self, d: Option<String>) -> Result<Id, Error> {
        let d = d.unwrap_or_else(|| "default".into());
        if d == "default" || d == "Default" || looks_like_id(&d) {
            return Ok(Id::Real(if d == "Default" { "default".into() } else { d }));
        }
        let found = self.list("identity", &format!("/domains?name={}", q(&d)), "domains")?;
        match found.first() {
            Some(v) => Ok(sid(v)),
            None if self.live().is_none() => Ok(Id::planned("domain", &d)),
            None => Err(Error::not_found(format!("domain '{d}' does not exist"))),
        }
    }

    /// A Keystone project or user (`coll`: PROJECTS, USERS) by id, or by name in a domain.
    fn identity_find(
        &self,
        coll: &Collection,
        name: &Id,
        domain: Option<String>,
    ) -> Result<Option<Value>, Error> {
        self.find_by_id_or_name(coll, name, || {
            Ok(format!("&domain_id={}", q(&self.domain_id(domain)?)))
        })
    }

    /// The id of a project or user by name or id; a placeholder in plan mode when it does not
    /// exist yet.
    fn identity_id(&self, coll: &Collection, name: &Id) -> Result<Id, Error> {
        let Id::Real(text) = name else {
            return Ok(name.clone());
        };
        self.id_by_name(coll.kind, text, || self.identity_find(coll, name, None))
    }

    /// The id of `kind` `name`, reused from a lookup of the last seconds (the session keeps them)
    /// or found with `find`; a placeholder in plan mode when it does not exist yet.
    pub(super) fn id_by_name(
        &self,
        kind: &str,
        name: &str,
        find: impl FnOnce() -> Result<Option<Value>, Error>,
    ) -> Result<Id, Error> {
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
            None => Err(Error::not_found(format!(
                "{kind} '{name}' does not exist in cloud '{}'",
                self.conn.name()
            ))),
        }
    }

    /// Keeps the id of `v`, the project or user `name` of the domain `did` that an ensure found
    /// or created, as a lookup by name would: the steps after it that name it (a user's default
    /// project, a role grant) do not look it up again. Only in the default domain, the one the
    /// lookups by name search.
    fn keep_id(&self, kind: &str, name: &str, did: &Id, v: &Value) {
        if self.fx.is_plan() || !matches!(did, Id::Real(d) if d == "default") {
            return;
        }
        if let (Some(c), Some(id)) = (self.live(), v["id"].as_str()) {
            c.remember_id(&format!("{kind}:{name}"), id);
        }
    }

    /// Deletes the Keystone `kind` (project, user, role) found as `name`, then forgets the ids
    /// of that kind looked up by name. Nothing found is `ok`.
    fn identity_delete(&self, kind: &str, name: &str, found: Option<Value>) -> Result<bool, Error> {
        if !self.delete_found(kind, name, found, "identity", |id| format!("/{kind}s/{id}"))? {
            return Ok(false);
        }
        if let Some(c) = self.live() {
            c.forget_ids(&format!("{kind}:"));
        }
        Ok(true)
    }

    pub fn project_find(&self, name: &Id, domain: Option<String>) -> Result<Option<Value>, Error> {
        self.identity_find(&PROJECTS, name, domain)
    }

    pub fn project_id(&self, name: &Id) -> Result<Id, Error> {
        self.identity_id(&PROJECTS, name)
    }

    pub fn project_ensure(&self, s: ProjectSpec) -> Result<Value, Error> {
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
                    let r = self.send(
                        self.op("project.update", &name).arg("description", d),
                        Method::PATCH,
                        "identity",
                        &format!("/projects/{id}"),
                        Some(json!({"project": {"description": d}})),
                    )?["project"]
                        .clone();
                    let r = if r.is_null() { p } else { r };
                    self.keep_id("project", &name, &did, &r);
                    return Ok(r);
                }
            }
            self.fx.unchanged(self.op("project.ensure", &name));
            self.keep_id("project", &name, &did, &p);
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
        let op = self
            .op("project.create", &name)
            .arg("domain", &did)
            .arg("description", &desc);
        let planned = json!({"domain_id": did, "description": desc});
        let made = self.create_listed(op, &PROJECTS, &name, &list_path, body, planned)?;
        self.keep_id("project", &name, &did, &made);
        Ok(made)
    }

    pub fn project_delete(&self, name: &Id) -> Result<bool, Error> {
        let found = self.project_find(name, None)?;
        self.identity_delete("project", &name.to_string(), found)
    }

    pub fn user_find(&self, name: &Id, domain: Option<String>) -> Result<Option<Value>, Error> {
        self.identity_find(&USERS, name, domain)
    }

    pub fn user_id(&self, name: &Id) -> Result<Id, Error> {
        self.identity_id(&USERS, name)
    }

    pub fn user_ensure(&self, s: UserSpec) -> Result<Value, Error> {
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
                self.send(
                    self.op("user.update", &name).arg("description", d),
                    Method::PATCH,
                    "identity",
                    &format!("/users/{id}"),
                    Some(json!({"user": {"description": d}})),
                )?;
            }
            let ok = self.read(
                &format!("password of {name}"),
                |c| c.password_works(&id.to_string(), password.expose()),
                true,
            )?;
            if !ok {
                self.send(
                    self.op("user.password", &name)
                        .arg("password", password.mask()),
                    Method::PATCH,
                    "identity",
                    &format!("/users/{id}"),
                    Some(json!({"user": {"password": password.expose()}})),
                )?;
            } else {
                self.fx.unchanged(self.op("user.ensure", &name));
            }
            self.keep_id("user", &name, &did, &u);
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
        let op = self
            .op("user.create", &name)
            .arg("domain", &did)
            .arg("password", password.mask())
            .arg("default_project", &project);
        let planned = json!({"domain_id": did, "default_project_id": project});
        let made = self.create_listed(op, &USERS, &name, &list_path, body, planned)?;
        self.keep_id("user", &name, &did, &made);
        Ok(made)
    }

    pub fn user_delete(&self, name: &Id) -> Result<bool, Error> {
        let found = self.user_find(name, None)?;
        self.identity_delete("user", &name.to_string(), found)
    }

    /// The role `name`, from one list of every role: each role's id is kept as a lookup by
    /// name keeps it, so the grants that follow (a tenant names three or four roles) look none
    /// of them up again.
    pub fn role_find(&self, name: &str) -> Result<Option<Value>, Error> {
        let all = self.list("identity", "/roles", "roles")?;
        if let (Some(c), false) = (self.live(), self.fx.is_plan()) {
            for r in &all {
                if let (Some(n), Some(id)) = (r["name"].as_str(), r["id"].as_str()) {
                    c.remember_id(&format!("role:{n}"), id);
                }
            }
        }
        Ok(all.into_iter().find(|r| r["name"] == name))
    }

    pub fn role_ensure(&self, name: &str) -> Result<Value, Error> {
        if let Some(r) = self.role_find(name)? {
            self.fx.unchanged(self.op("role.ensure", name));
            return Ok(r);
        }
        let op = self.op("role.create", name);
        let body = json!({"role": {"name": name}});
        self.create_listed(op, &ROLES, name, &role_path(name), body, json!({}))
    }

    pub fn role_delete(&self, name: &str) -> Result<bool, Error> {
        let found = self.role_find(name)?;
        self.identity_delete("role", name, found)
    }

    fn role_id(&self, name: &str) -> Result<Id, Error> {
        self.id_by_name("role", name, || self.role_find(name))
    }

    /// Grants (`grant`) or revokes a role of a user on a project.
    pub fn role_assignment(
        &self,
        user: &Id,
        project: &Id,
        role: &str,
        grant: bool,
    ) -> Result<bool, Error> {
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
            self.read(&target, |c| c.exists("identity", &path), false)?
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
            |c| match c.request(method, "identity", &path, None) {
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
    ) -> Result<Vec<Value>, Error> {
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
}

/// The roles named `name`.
fn role_path(name: &str) -> String {
    format!("/roles?name={}", q(name))
}
