//! The OpenStack operations behind the `cloud` bindings, with ensure semantics: look up, compare,
//! then create or update through the effects seam. A create is never blindly repeated: after a
//! failure that may have reached the server, the lookup runs again first.
//!
//! A cloud that cannot be reached in plan mode (its openrc not written yet, say) is planned
//! against as if it were empty: reads find nothing and every change is planned.
//!
//! This file holds what every service shares (the connection, reads, creates and updates through
//! the seam); each service has a file of its own: identity.rs (Keystone), quota.rs, compute.rs
//! (Nova), network.rs (Neutron), image.rs (Glance), object.rs (Swift). The bare metal operations
//! (Ironic) extend `Api` in the `ironic` module. Nothing here sees a Rhai type: the bindings
//! fill the specs.

use super::client::{Client, Failure};
use super::config::CloudConfig;
use super::id::Id;
use crate::effects::{Effects, Op};
use crate::error::Error;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use ureq::http::Method;

mod compute;
mod identity;
mod image;
mod network;
mod object;
mod quota;
mod spec;

pub use spec::{
    FlavorSpec, FloatingIpSpec, ImageSpec, NetworkSpec, PortFilter, PortSpec, ProjectSpec,
    RouterSpec, RuleSpec, SecurityGroupSpec, SubnetSpec, UserSpec,
};

/// A REST collection of a service: objects of `kind` (as plans name them) created by a POST to
/// `path`, listed under `list_key`, each answered under `key` (the whole answer when empty).
pub(super) struct Collection {
    service: &'static str,
    kind: &'static str,
    path: &'static str,
    list_key: &'static str,
    key: &'static str,
}

impl Collection {
    pub(super) const fn new(
        service: &'static str,
        kind: &'static str,
        path: &'static str,
        list_key: &'static str,
        key: &'static str,
    ) -> Collection {
        Collection {
            service,
            kind,
            path,
            list_key,
            key,
        }
    }
}

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

/// What the operations work with.
pub struct Api<'a> {
    pub fx: &'a Effects,
    pub conn: Conn,
}

/// `s` percent-encoded for a URL's path or query.
pub(super) fn q(s: impl std::fmt::Display) -> String {
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
        f: impl FnOnce(&Client) -> Result<T, Error>,
        offline: T,
    ) -> Result<T, Error> {
        match self.live() {
            Some(c) => self.fx.read(Op::new("cloud.read", what), || f(c)),
            None => Ok(offline),
        }
    }

    fn get_opt(&self, service: &str, path: &str) -> Result<Option<Value>, Error> {
        self.read(path, |c| c.get_opt(service, path), None)
    }

    fn list(&self, service: &str, path: &str, key: &str) -> Result<Vec<Value>, Error> {
        self.read(path, |c| c.list(service, path, key), vec![])
    }

    /// The first item of a list: what a lookup by name finds.
    fn first(&self, service: &str, path: &str, key: &str) -> Result<Option<Value>, Error> {
        Ok(self.list(service, path, key)?.into_iter().next())
    }

    /// The first item of a listing (`path`, with its query) of `coll`.
    fn first_in(&self, coll: &Collection, path: &str) -> Result<Option<Value>, Error> {
        self.first(coll.service, path, coll.list_key)
    }

    /// An object of `coll` (networks, ports, projects, users) by id or by name: a value that
    /// looks like an id is read at `PATH/ID`; otherwise, or when there is no such id, the first
    /// of `PATH?name=NAME` and what `filter` adds (`&domain_id=..`). A planned id finds nothing.
    fn find_by_id_or_name(
        &self,
        coll: &Collection,
        id: &Id,
        filter: impl FnOnce() -> Result<String, Error>,
    ) -> Result<Option<Value>, Error> {
        let Id::Real(name) = id else {
            return Ok(None);
        };
        if looks_like_id(name) {
            if let Some(v) = self.get_opt(coll.service, &format!("{}/{name}", coll.path))? {
                return Ok(Some(v[coll.key].clone()));
            }
        }
        let path = format!("{}?name={}{}", coll.path, q(name), filter()?);
        self.first_in(coll, &path)
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
        find: &dyn Fn(&Client) -> Result<Option<Value>, Error>,
        post: &dyn Fn(&Client) -> Result<Value, Failure>,
        planned: Value,
    ) -> Result<Value, Error> {
        let live = self.live().cloned();
        let mut p = planned;
        if let Value::Object(m) = &mut p {
            m.insert("id".into(), json!(Id::planned(kind, name)));
            m.insert("planned".into(), json!(true));
            m.insert("name".into(), json!(name));
        }
        if self.fx.is_plan() || live.is_none() {
            return self.fx.change(
                op,
                || Err::<Value, Error>(Error::failed("unreachable")),
                || p,
            );
        }
        let c = live.ok_or_else(|| Error::failed("no session"))?;
        self.fx.change(
            op,
            || -> Result<Value, Error> {
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

    /// The usual create: the first item of `list_path` (a listing of `coll`) is what exists; a
    /// POST of `body` to the collection makes it.
    pub(super) fn create_listed(
        &self,
        op: Op,
        coll: &Collection,
        name: &str,
        list_path: &str,
        body: Value,
        planned: Value,
    ) -> Result<Value, Error> {
        let find = |c: &Client| -> Result<Option<Value>, Error> {
            Ok(c.list(coll.service, list_path, coll.list_key)?
                .into_iter()
                .next())
        };
        let post = |c: &Client| c.post(coll.service, coll.path, &body, coll.key);
        self.create(op, coll.kind, name, &find, &post, planned)
    }

    /// A change that is safe to repeat (PUT, PATCH of fields, DELETE).
    pub(super) fn update(
        &self,
        op: Op,
        f: impl FnOnce(&Client) -> Result<Value, Failure>,
        planned: Value,
    ) -> Result<Value, Error> {
        match self.live().cloned() {
            Some(c) if !self.fx.is_plan() => self.fx.change(op, || f(&c), || Value::Null),
            _ => self.fx.change(
                op,
                || Err::<Value, Error>(Error::failed("unreachable")),
                || planned,
            ),
        }
    }

    /// [`Api::update`] as one JSON request (`body` `None`: none): the reply's body, `null`
    /// when planned.
    pub(super) fn send(
        &self,
        op: Op,
        method: Method,
        service: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        self.update(
            op,
            |c| c.request(method, service, path, body.as_ref()),
            Value::Null,
        )
    }

    /// `found` (the `kind` `name`) with `field` made `want`: as it is when nothing is wanted or
    /// it holds `want` already (unchanged), else once `change` (given the id and `want`) set it.
    fn ensure_field(
        &self,
        mut found: Value,
        field: &str,
        want: Option<Value>,
        name: &str,
        kind: &str,
        change: impl FnOnce(Id, &Value) -> Result<Value, Error>,
    ) -> Result<Value, Error> {
        match want.filter(|w| found[field] != *w) {
            Some(w) => {
                change(sid(&found), &w)?;
                found[field] = w;
            }
            None => self.fx.unchanged(self.op(&format!("{kind}.ensure"), name)),
        }
        Ok(found)
    }

    /// Deletes `found` (a `kind` looked up as `name`) at the path its id gives; nothing found
    /// is `false`, unchanged.
    fn delete_found(
        &self,
        kind: &str,
        name: &str,
        found: Option<Value>,
        service: &str,
        path: impl FnOnce(&Id) -> String,
    ) -> Result<bool, Error> {
        let Some(v) = found else {
            self.fx.unchanged(self.op(&format!("{kind}.absent"), name));
            return Ok(false);
        };
        let path = path(&sid(&v));
        self.send(
            self.op(&format!("{kind}.delete"), name),
            Method::DELETE,
            service,
            &path,
            None,
        )?;
        Ok(true)
    }
}

/// A config for display: no secret (the name is the connection's).
#[derive(Serialize)]
pub struct Described<'c> {
    source: &'c str,
    auth_url: &'c str,
    user: String,
    project: String,
    region: Option<&'c str>,
    interface: &'c str,
    verify: bool,
    /// The CA bundle the cloud's certificates are checked against, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    cacert: Option<String>,
}

pub fn describe(cfg: &CloudConfig) -> Described<'_> {
    Described {
        source: &cfg.source,
        auth_url: &cfg.auth_url,
        user: cfg.user(),
        project: cfg.project(),
        region: cfg.region.as_deref(),
        interface: &cfg.interface,
        verify: cfg.verify,
        cacert: cfg.cacert.as_ref().map(|c| c.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_quoting() {
        assert!(looks_like_id("699eeaefb7b84291a75d389ec0f10ea2"));
        assert!(looks_like_id("c3c14e9d-750f-46fb-af9c-e9fd375719b2"));
        assert!(!looks_like_id("ocp-tenant"));
        assert_eq!(q("a b&c"), "a%20b%26c");
    }
}
