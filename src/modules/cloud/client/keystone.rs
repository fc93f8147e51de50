//! Keystone v3: the token request (password or application credential, scoped to a project, a
//! domain or the system), the catalog it brings, one authentication at a time, and a token
//! dropped when it expires or a service refuses it.

use super::{server_message, Body, Client};
use crate::effects::secret::Secret;
use crate::error::{Error, Kind};
use crate::modules::cloud::config::{Auth, Scope};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use ureq::http::Method;

/// One catalog endpoint.
#[derive(Clone, Debug)]
pub(super) struct Endpoint {
    pub(super) service_type: String,
    pub(super) interface: String,
    pub(super) region: Option<String>,
    pub(super) url: String,
}

pub(super) struct Token {
    pub(super) value: Secret,
    pub(super) expires: Option<SystemTime>,
    pub(super) catalog: Vec<Endpoint>,
    pub(super) project_id: Option<String>,
    pub(super) user_id: String,
    pub(super) roles: Vec<String>,
}

impl Client {
    fn auth_body(&self) -> Value {
        let identity = match &self.cfg.auth {
            Auth::Password {
                username,
                user_id,
                password,
                user_domain,
            } => {
                let user = by_id_or_name(
                    json!({ "password": password.expose() }),
                    user_id,
                    || json!({ "name": username, "domain": user_domain.to_json() }),
                );
                json!({ "methods": ["password"], "password": { "user": user } })
            }
            Auth::AppCredential {
                id,
                name,
                username,
                user_domain,
                secret,
            } => {
                let ac = by_id_or_name(json!({ "secret": secret.expose() }), id, || {
                    json!({ "name": name,
                        "user": { "name": username, "domain": user_domain.to_json() } })
                });
                json!({ "methods": ["application_credential"], "application_credential": ac })
            }
        };
        let mut auth = json!({ "identity": identity });
        match &self.cfg.scope {
            Scope::Project { id, name, domain } => {
                auth["scope"] = match id {
                    Some(i) => json!({ "project": { "id": i } }),
                    None => json!({ "project": { "name": name, "domain": domain.to_json() } }),
                }
            }
            Scope::Domain(d) => auth["scope"] = json!({ "domain": d.to_json() }),
            Scope::System => auth["scope"] = json!({ "system": { "all": true } }),
            Scope::Unscoped => {}
        }
        json!({ "auth": auth })
    }

    /// Authenticates (retrying transient failures; a 401 is reported at once, with a hint).
    fn authenticate(&self) -> Result<Arc<Token>, Error> {
        let url = format!("{}/auth/tokens", self.cfg.auth_url);
        let body = Body::Json(self.auth_body());
        let mut attempt = 0;
        let reply = loop {
            attempt += 1;
            match self.send(&Method::POST, &url, &[], &body) {
                Ok(r) if matches!(r.status, 502..=504) && attempt < 4 => {}
                Ok(r) => break r,
                Err(e) if attempt < 4 => {
                    tracing::debug!(target: "labsh::cloud", "auth attempt {attempt}: {e}");
                }
                Err(e) => {
                    // Unreachable or timed out: a plan takes such a cloud as not there yet.
                    return Err(Error::from(e).context(format!(
                        "cloud '{}': cannot reach Keystone at {url}",
                        self.cfg.name
                    )));
                }
            }
            std::thread::sleep(Duration::from_millis(200 << attempt));
        };
        if reply.status == 401 {
            return Err(Error::unauthorized(format!(
                "cloud '{}': POST {url}: 401 Unauthorized: Keystone refused user '{}' (project '{}'); check the password and the user and project domains in {}",
                self.cfg.name,
                self.cfg.user(),
                self.cfg.project(),
                self.cfg.source
            )));
        }
        if !(200..300).contains(&reply.status) {
            return Err(Error::new(
                Kind::of_http_status(reply.status),
                format!(
                    "cloud '{}': POST {url}: {} {}",
                    self.cfg.name,
                    reply.status,
                    server_message(&reply.body).unwrap_or_default()
                ),
            ));
        }
        let value = reply
            .header("x-subject-token")
            .ok_or_else(|| {
                Error::failed(format!(
                    "POST {url}: no X-Subject-Token in Keystone's answer"
                ))
            })?
            .to_string();
        let t = &reply.body["token"];
        let expires = t["expires_at"].as_str().and_then(parse_time);
        let mut catalog = vec![];
        for svc in t["catalog"].as_array().into_iter().flatten() {
            let st = svc["type"].as_str().unwrap_or_default();
            for e in svc["endpoints"].as_array().into_iter().flatten() {
                catalog.push(Endpoint {
                    service_type: st.to_string(),
                    interface: e["interface"].as_str().unwrap_or_default().to_string(),
                    region: e["region_id"]
                        .as_str()
                        .or(e["region"].as_str())
                        .map(|s| s.to_string()),
                    url: e["url"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(Arc::new(Token {
            value: Secret::new(&format!("cloud.{}.token", self.cfg.name), &value),
            expires,
            catalog,
            project_id: t["project"]["id"].as_str().map(|s| s.to_string()),
            user_id: t["user"]["id"].as_str().unwrap_or_default().to_string(),
            roles: t["roles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["name"].as_str().map(|s| s.to_string()))
                .collect(),
        }))
    }

    pub(super) fn token(&self) -> Result<Arc<Token>, Error> {
        let fresh = |t: &Arc<Token>| {
            t.expires
                .is_none_or(|e| e > SystemTime::now() + Duration::from_secs(120))
        };
        if let Some(t) = self.token.lock().map_err(|_| "token lock")?.as_ref() {
            if fresh(t) {
                return Ok(t.clone());
            }
        }
        // One authentication at a time: parallel callers wait for it and share the token.
        let _g = self.auth_lock.lock().map_err(|_| "auth lock")?;
        if let Some(t) = self.token.lock().map_err(|_| "token lock")?.as_ref() {
            if fresh(t) {
                return Ok(t.clone());
            }
        }
        let t = self.authenticate()?;
        *self.token.lock().map_err(|_| "token lock")? = Some(t.clone());
        Ok(t)
    }

    pub(super) fn drop_token(&self, stale: &Arc<Token>) {
        if let Ok(mut g) = self.token.lock() {
            if g.as_ref().is_some_and(|t| Arc::ptr_eq(t, stale)) {
                *g = None;
            }
        }
    }

    /// Whether `password` authenticates user `user_id` (an unscoped token request).
    pub fn password_works(&self, user_id: &str, password: &str) -> Result<bool, Error> {
        let url = format!("{}/auth/tokens", self.cfg.auth_url);
        let body = json!({"auth": {"identity": {"methods": ["password"],
            "password": {"user": {"id": user_id, "password": password}}}}});
        match self.send(&Method::POST, &url, &[], &Body::Json(body)) {
            Ok(r) if (200..300).contains(&r.status) => Ok(true),
            Ok(r) if r.status == 401 => Ok(false),
            Ok(r) => Err(Error::new(
                Kind::of_http_status(r.status),
                format!(
                    "POST {url}: {} {}",
                    r.status,
                    server_message(&r.body).unwrap_or_default()
                ),
            )),
            Err(e) => Err(Error::failed(format!("POST {url}: {e}"))),
        }
    }

    /// Authenticates now if needed; returns (user id, project id, role names).
    pub fn whoami(&self) -> Result<(String, Option<String>, Vec<String>), Error> {
        let t = self.token()?;
        Ok((t.user_id.clone(), t.project_id.clone(), t.roles.clone()))
    }
}

/// `v` with `"id"` when there is an id, else with the keys of `by_name` (Keystone takes a user
/// or an application credential either way).
fn by_id_or_name(mut v: Value, id: &Option<String>, by_name: impl FnOnce() -> Value) -> Value {
    match id {
        Some(i) => v["id"] = json!(i),
        None => {
            if let Value::Object(keys) = by_name() {
                for (k, x) in keys {
                    v[k] = x;
                }
            }
        }
    }
    v
}

/// Parses Keystone's `2026-11-26T01:02:03.000000Z`.
fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.trim_end_matches('Z');
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, dd) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|x| x.parse::<i64>());
    let (h, mi, se) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + dd - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    let secs = days * 86400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs)
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystone_times_parse() {
        let t = parse_time("2019-11-01T00:49:21.000000Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1572569361
        );
    }

    #[test]
    fn users_and_credentials_by_id_or_name() {
        let by_name = || json!({"name": "n", "user": {"name": "u"}});
        let v = by_id_or_name(json!({"secret": "s"}), &Some("i".into()), by_name);
        assert_eq!(v, json!({"secret": "s", "id": "i"}));
        let v = by_id_or_name(json!({"secret": "s"}), &None, by_name);
        assert_eq!(
            v,
            json!({"secret": "s", "name": "n", "user": {"name": "u"}})
        );
    }
}
