//! A small OpenStack client: Keystone v3 password or application-credential auth, one token and
//! one keep-alive connection pool per cloud, catalog lookup by type, interface and region,
//! re-authentication on 401 or expiry, retries with backoff for idempotent requests only, `next`
//! link paging, and errors that carry method, URL, status and the server's message, of the kind
//! the status or the connection says (404 not found, 409 conflict, 401 and 403 unauthorized, a
//! refused connection, an unknown host or a failed TLS handshake unreachable, a timeout timed
//! out).
//!
//! Requests, retries, the catalog and paging are here; keystone.rs authenticates and keeps the
//! token, microversion.rs holds the Nova microversion and negotiates Ironic's.

use super::config::CloudConfig;
use crate::effects::Effects;
use crate::error::{Error, Kind};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ureq::http::{Method, Request};

mod keystone;
mod microversion;

use keystone::Token;
pub use microversion::{microversion, BAREMETAL_MICROVERSIONS, NOVA_MICROVERSION};

/// An HTTP failure, told apart so callers can decide what to retry; it becomes the crate's
/// [`Error`] of its kind (see the module's doc) where a caller does not retry.
#[derive(Debug)]
pub enum Failure {
    /// No answer: connection refused or reset, timeout (or no token to ask with). A create may
    /// or may not have happened.
    Transport(Error),
    /// An answer with a status that is not 2xx.
    Status { status: u16, message: String },
}

impl Failure {
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            Failure::Transport(_) => None,
        }
    }

    /// Whether the request may have failed for a passing reason.
    pub fn transient(&self) -> bool {
        match self {
            Failure::Transport(_) => true,
            Failure::Status { status, .. } => matches!(status, 502..=504),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Transport(e) => e.message(),
            Failure::Status { message, .. } => message,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// A failure as the crate's error: a status of its kind ([`Kind::of_http_status`]), no answer of
/// the kind the connection said.
impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        match f {
            Failure::Transport(e) => e,
            Failure::Status { status, message } => {
                Error::new(Kind::of_http_status(status), message)
            }
        }
    }
}

/// An answer: status, selected headers and the body (JSON, or the text as a string).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request body.
pub enum Body {
    None,
    Json(Value),
    /// A Glance image change: a JSON patch of the v2.1 image media type.
    ImagePatch(Value),
    File(std::path::PathBuf, u64),
}

/// One cloud session.
pub struct Client {
    pub cfg: CloudConfig,
    agent: ureq::Agent,
    token: Mutex<Option<Arc<Token>>>,
    auth_lock: Mutex<()>,
    /// Ids looked up by name ("project:ocp-tenant"), reused for a short while: a run refers to
    /// the same project, user and roles many times.
    ids: Mutex<HashMap<String, (String, std::time::Instant)>>,
    /// The Ironic microversion negotiated with this cloud's bare metal service (once).
    baremetal_version: Mutex<Option<String>>,
}

/// How long an id looked up by name is reused.
const ID_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// A run's cloud sessions (their tokens with them), by the configuration's key: in the run's
/// state ([`Effects::run_state`]), dropped with it.
#[derive(Default)]
struct Sessions(Mutex<HashMap<String, Arc<Client>>>);

/// The run's session for a configuration: one per cloud per run.
pub fn session(fx: &Effects, cfg: CloudConfig) -> Result<Arc<Client>, Error> {
    let key = cfg.key();
    let pool = fx.run_state::<Sessions>();
    let mut pool = pool
        .0
        .lock()
        .map_err(|_| Error::failed("cloud session pool poisoned"))?;
    if let Some(c) = pool.get(&key) {
        return Ok(c.clone());
    }
    let c = Arc::new(Client::new(cfg)?);
    pool.insert(key, c.clone());
    Ok(c)
}

fn server_message(body: &Value) -> Option<String> {
    match body {
        Value::String(s) => {
            let t: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
            let t = strip_tags(&t);
            (!t.is_empty()).then(|| t.chars().take(300).collect())
        }
        Value::Object(m) => {
            // Ironic's answer holds its own JSON error as text (ironic 39.0.0
            // ironic/api/middleware/parsable_error.py: {"error_message": "{\"faultstring\": ..}"}).
            if let Some(Value::String(s)) = m.get("error_message") {
                let inner = serde_json::from_str::<Value>(s).ok();
                return inner
                    .as_ref()
                    .and_then(server_message)
                    .or_else(|| Some(s.clone()));
            }
            for k in ["message", "faultstring", "detail", "title"] {
                if let Some(Value::String(s)) = m.get(k) {
                    return Some(s.clone());
                }
            }
            m.values().find_map(|v| match v {
                Value::Object(_) => server_message(v),
                _ => None,
            })
        }
        _ => None,
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => {
                inside = false;
                out.push(' ');
            }
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The failure of a request that did not succeed: its status and the server's message, or the
/// transport's error, each naming the method and URL.
fn failure_of(r: Result<Reply, Failure>, method: &Method, url: &str) -> Failure {
    match r {
        Ok(rep) => Failure::Status {
            status: rep.status,
            message: format!(
                "{method} {url}: {} {}",
                rep.status,
                server_message(&rep.body).unwrap_or_else(|| reason(rep.status).into())
            ),
        },
        Err(Failure::Transport(e)) => Failure::Transport(e.context(format!("{method} {url}"))),
        Err(f) => f,
    }
}

/// Ironic answers 409 while a node is locked by the conductor's work on it (an inspection a
/// killed run left going, say): nothing was done, so the request is asked again, 5 times 2 s
/// apart as python-ironicclient does (6.3.0 ironicclient/common/http.py with_retries:
/// DEFAULT_MAX_RETRIES, DEFAULT_RETRY_INTERVAL). Only that 409 (ironic 39.0.0
/// ironic/common/exception.py NodeLocked: "... is locked by host ..."): the others (a node or
/// MAC that exists, a state that forbids the change) would answer the same after 10 s, and
/// callers act on them at once.
fn node_locked(failure: &Failure) -> bool {
    failure.status() == Some(409) && failure.to_string().contains("is locked by host")
}

fn idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// The version prefix a service's API paths start with, when the catalog URL lacks it.
fn with_version(service: &str, url: &str) -> String {
    let u = url.trim_end_matches('/');
    let want = match service {
        "network" => "/v2.0",
        "image" => "/v2",
        "baremetal" => "/v1",
        "identity" => "/v3",
        _ => return u.to_string(),
    };
    if u.ends_with(want) {
        u.to_string()
    } else {
        format!("{u}{want}")
    }
}

impl Client {
    fn new(cfg: CloudConfig) -> Result<Self, Error> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if !cfg.verify {
            tls = tls.disable_verification(true);
        }
        if let Some(ca) = &cfg.cacert {
            let pem = crate::util::read::bytes(ca).map_err(|e| Error::from(e).context("cacert"))?;
            let mut certs = vec![];
            for item in ureq::tls::parse_pem(&pem) {
                if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                    certs.push(c);
                }
            }
            if certs.is_empty() {
                return Err(Error::invalid(format!(
                    "cacert {} holds no PEM certificate",
                    ca.display()
                )));
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(cfg.timeout))
            .timeout_connect(Some(Duration::from_secs(10).min(cfg.timeout)))
            .max_idle_connections_per_host(16)
            .user_agent(concat!("labsh/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Client {
            cfg,
            agent,
            token: Mutex::new(None),
            auth_lock: Mutex::new(()),
            ids: Mutex::new(HashMap::new()),
            baremetal_version: Mutex::new(None),
        })
    }

    /// An id looked up by name within the last `ID_TTL`.
    pub fn cached_id(&self, key: &str) -> Option<String> {
        let ids = self.ids.lock().ok()?;
        ids.get(key)
            .filter(|(_, at)| at.elapsed() < ID_TTL)
            .map(|(id, _)| id.clone())
    }

    pub fn remember_id(&self, key: &str, id: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.insert(key.to_string(), (id.to_string(), std::time::Instant::now()));
        }
    }

    /// Forgets every id of a kind ("project:"), after one of that kind was deleted.
    pub fn forget_ids(&self, prefix: &str) {
        if let Ok(mut ids) = self.ids.lock() {
            ids.retain(|k, _| !k.starts_with(prefix));
        }
    }

    fn send(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, String)],
        body: &Body,
    ) -> Result<Reply, Failure> {
        let mut b = Request::builder().method(method.clone()).uri(url);
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        let t0 = Instant::now();
        let res = match body {
            Body::None if matches!(*method, Method::PUT | Method::POST | Method::PATCH) => b
                .header("Content-Length", "0")
                .body(Vec::<u8>::new())
                .map_err(|e| Failure::Transport(Error::failed(e.to_string())))
                .and_then(|r| self.agent.run(r).map_err(transport)),
            Body::None => b
                .body(())
                .map_err(|e| Failure::Transport(Error::failed(e.to_string())))
                .and_then(|r| self.agent.run(r).map_err(transport)),
            Body::Json(v) => b
                .header("Content-Type", "application/json")
                .body(v.to_string())
                .map_err(|e| Failure::Transport(Error::failed(e.to_string())))
                .and_then(|r| self.agent.run(r).map_err(transport)),
            Body::ImagePatch(v) => b
                .header(
                    "Content-Type",
                    "application/openstack-images-v2.1-json-patch",
                )
                .body(v.to_string())
                .map_err(|e| Failure::Transport(Error::failed(e.to_string())))
                .and_then(|r| self.agent.run(r).map_err(transport)),
            Body::File(path, len) => {
                let f = std::fs::File::open(path).map_err(|e| {
                    Failure::Transport(Error::io(
                        format_args!("cannot open {}", path.display()),
                        &e,
                    ))
                })?;
                b.header("Content-Type", "application/octet-stream")
                    .header("Content-Length", len.to_string())
                    .body(f)
                    .map_err(|e| Failure::Transport(Error::failed(e.to_string())))
                    .and_then(|r| self.agent.run(r).map_err(transport))
            }
        };
        let mut resp = match res {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(target: "labsh::cloud", method = %method, url, ms = t0.elapsed().as_millis() as u64, error = %e, "request");
                return Err(e);
            }
        };
        let status = resp.status().as_u16();
        let mut hs = vec![];
        for (k, v) in resp.headers() {
            let k = k.as_str();
            if k.eq_ignore_ascii_case("x-subject-token") {
                continue;
            }
            if let Ok(v) = v.to_str() {
                hs.push((k.to_string(), v.to_string()));
            }
        }
        let subject = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_string());
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        tracing::debug!(target: "labsh::cloud", method = %method, url, status, ms = t0.elapsed().as_millis() as u64, "request");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if let Some(s) = subject {
            hs.push(("x-subject-token".into(), s));
        }
        Ok(Reply {
            status,
            headers: hs,
            body,
        })
    }

    /// The URL of a service in the catalog (with the API version of the paths labsh uses).
    pub fn endpoint(&self, service_type: &str) -> Result<String, Error> {
        let t = self.token()?;
        self.endpoint_in(&t, service_type)
    }

    fn endpoint_in(&self, t: &Token, service_type: &str) -> Result<String, Error> {
        if service_type == "identity" {
            return Ok(self.cfg.auth_url.clone());
        }
        let types: &[&str] = match service_type {
            "object-store" => &["object-store"],
            "compute" => &["compute"],
            "image" => &["image"],
            "network" => &["network"],
            "baremetal" => &["baremetal"],
            other => return Err(Error::invalid(format!("unknown service type {other}"))),
        };
        let hit = t.catalog.iter().find(|e| {
            types.contains(&e.service_type.as_str())
                && e.interface == self.cfg.interface
                && match &self.cfg.region {
                    Some(r) => e.region.as_deref() == Some(r.as_str()),
                    None => true,
                }
        });
        match hit {
            Some(e) => Ok(with_version(service_type, &e.url)),
            None => {
                let have: Vec<String> = t
                    .catalog
                    .iter()
                    .filter(|e| e.interface == self.cfg.interface)
                    .map(|e| e.service_type.clone())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                Err(Error::failed(format!(
                    "cloud '{}': no {service_type} service in the catalog for interface {} region {} (the catalog has: {})",
                    self.cfg.name,
                    self.cfg.interface,
                    self.cfg.region.as_deref().unwrap_or("any"),
                    if have.is_empty() { "nothing".into() } else { have.join(", ") }
                )))
            }
        }
    }

    /// One API call. `path` is appended to the service's endpoint (or is a full URL).
    /// 2xx replies are returned; any other status is a [`Failure::Status`] naming method, URL,
    /// status and the server's message. A 401 re-authenticates once; idempotent methods are
    /// retried with backoff on transport errors and 502/503/504; Ironic's 409 (a locked node) is
    /// asked again every 2 s, 5 times.
    pub fn call(
        &self,
        method: Method,
        service: &str,
        path: &str,
        body: Body,
        extra: &[(&str, String)],
    ) -> Result<Reply, Failure> {
        let mut reauthed = false;
        let mut attempt = 0u32;
        let mut conflicts = 0u32;
        loop {
            attempt += 1;
            let t = self.token().map_err(Failure::Transport)?;
            let url = self.url_in(&t, service, path)?;
            let headers = self.headers_in(&t, service, extra)?;
            let failure = match self.send(&method, &url, &headers, &body) {
                Ok(rep) if (200..300).contains(&rep.status) => return Ok(rep),
                Ok(rep) if rep.status == 401 && !reauthed => {
                    reauthed = true;
                    self.drop_token(&t);
                    continue;
                }
                r => failure_of(r, &method, &url),
            };
            if failure.transient()
                && idempotent(&method)
                && attempt < 5
                && !matches!(body, Body::File(..))
            {
                tracing::debug!(target: "labsh::cloud", "retrying after: {failure}");
                std::thread::sleep(Duration::from_millis(150 << attempt));
                continue;
            }
            if service == "baremetal" && node_locked(&failure) && conflicts < 5 {
                conflicts += 1;
                tracing::debug!(target: "labsh::cloud", "retrying after: {failure}");
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
            return Err(failure);
        }
    }

    /// The URL of `path` (absolute, or under `service`'s endpoint in the token's catalog).
    fn url_in(&self, t: &Token, service: &str, path: &str) -> Result<String, Failure> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return Ok(path.to_string());
        }
        let endpoint = self.endpoint_in(t, service).map_err(|e| Failure::Status {
            status: 0,
            message: e.to_string(),
        })?;
        Ok(format!("{endpoint}{path}"))
    }

    /// A request's headers: the token, JSON, the caller's `extra`, and the microversion of
    /// Nova and Ironic unless the caller asks for one.
    fn headers_in<'a>(
        &self,
        t: &Token,
        service: &str,
        extra: &[(&'a str, String)],
    ) -> Result<Vec<(&'a str, String)>, Failure> {
        let mut headers: Vec<(&str, String)> = vec![
            ("X-Auth-Token", t.value.expose().to_string()),
            ("Accept", "application/json".into()),
        ];
        headers.extend(extra.iter().cloned());
        let asks = |name: &str| extra.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        // Nova: the microversion labsh is written against (flavor descriptions, servers
        // with their flavor), unless the caller asks for another.
        if service == "compute" && !asks("OpenStack-API-Version") {
            headers.push((
                "OpenStack-API-Version",
                format!("compute {NOVA_MICROVERSION}"),
            ));
            headers.push((
                "X-OpenStack-Nova-API-Version",
                NOVA_MICROVERSION.to_string(),
            ));
        }
        // Ironic: the microversion negotiated with this cloud, unless the caller asks for one.
        if service == "baremetal" && !asks("X-OpenStack-Ironic-API-Version") {
            let v = self.baremetal_version_in(t)?;
            headers.push(("X-OpenStack-Ironic-API-Version", v));
        }
        Ok(headers)
    }

    /// One JSON request (`body` `None`: no body) without extra headers: the reply's body.
    pub fn request(
        &self,
        method: Method,
        service: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        let body = body.map_or(Body::None, |b| Body::Json(b.clone()));
        Ok(self.call(method, service, path, body, &[])?.body)
    }

    /// A POST of `body`: the answer under `key`, or the whole answer when `key` is empty.
    pub fn post(
        &self,
        service: &str,
        path: &str,
        body: &Value,
        key: &str,
    ) -> Result<Value, Failure> {
        let r = self.request(Method::POST, service, path, Some(body))?;
        Ok(if key.is_empty() { r } else { r[key].clone() })
    }

    /// A GET whose 404 means "absent".
    pub fn get_opt(&self, service: &str, path: &str) -> Result<Option<Value>, Error> {
        match self.call(Method::GET, service, path, Body::None, &[]) {
            Ok(r) => Ok(Some(r.body)),
            Err(f) => match Error::from(f) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// A HEAD whose 404 means "absent": whether `path` exists.
    pub fn exists(&self, service: &str, path: &str) -> Result<bool, Error> {
        match self.call(Method::HEAD, service, path, Body::None, &[]) {
            Ok(_) => Ok(true),
            Err(f) => match Error::from(f) {
                e if e.is_not_found() => Ok(false),
                e => Err(e),
            },
        }
    }

    pub fn get(&self, service: &str, path: &str) -> Result<Value, Error> {
        Ok(self.call(Method::GET, service, path, Body::None, &[])?.body)
    }

    /// Every item of a list, following `next` links (`<key>_links`, or a top-level `next`).
    pub fn list(&self, service: &str, path: &str, key: &str) -> Result<Vec<Value>, Error> {
        let mut out = vec![];
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(p) = next.take() {
            pages += 1;
            if pages > 1000 {
                return Err(Error::failed(format!("GET {path}: more than 1000 pages")));
            }
            let body = self.get(service, &p)?;
            if let Some(items) = body[key].as_array() {
                out.extend(items.iter().cloned());
            }
            let link = body[format!("{key}_links")]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| l["rel"] == "next"))
                .and_then(|l| l["href"].as_str())
                .map(|s| s.to_string())
                .or_else(|| body["next"].as_str().map(|s| s.to_string()))
                .or_else(|| body["links"]["next"].as_str().map(|s| s.to_string()));
            if let Some(l) = link {
                next = Some(if l.starts_with("http") {
                    l
                } else {
                    // Glance gives a path from the host root (`/v2/images?marker=...`).
                    let base = self.endpoint(service)?;
                    let root = base
                        .find("://")
                        .and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j]))
                        .unwrap_or(&base)
                        .to_string();
                    format!("{root}{l}")
                });
            }
        }
        Ok(out)
    }
}

/// No answer, of its kind: a timeout timed out; a connection refused or reset, an unknown host,
/// a failed TLS handshake unreachable; anything else failed.
fn transport(e: ureq::Error) -> Failure {
    use std::io::ErrorKind as K;
    let kind = match &e {
        ureq::Error::Timeout(_) => Kind::TimedOut,
        ureq::Error::Io(io) if io.kind() == K::TimedOut => Kind::TimedOut,
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Io(_)
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => Kind::Unreachable,
        _ => Kind::Failed,
    };
    Failure::Transport(Error::new(kind, e.to_string()))
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failure_names_method_url_and_the_servers_message_and_only_a_locked_node_is_asked_again() {
        let reply = |status, body| {
            Ok(Reply {
                status,
                headers: vec![],
                body,
            })
        };
        let locked = failure_of(
            reply(
                409,
                json!({"error_message": "{\"faultstring\": \"Node n1 is locked by host c1, please retry after the current operation is completed.\"}"}),
            ),
            &Method::PATCH,
            "http://127.0.0.1:6385/v1/nodes/n1",
        );
        assert_eq!(locked.status(), Some(409));
        assert!(
            locked.to_string().starts_with(
                "PATCH http://127.0.0.1:6385/v1/nodes/n1: 409 Node n1 is locked by host c1"
            ),
            "{locked}"
        );
        assert!(node_locked(&locked));
        let exists = failure_of(
            reply(
                409,
                json!({"error_message": "{\"faultstring\": \"A node with name n1 already exists.\"}"}),
            ),
            &Method::POST,
            "http://127.0.0.1:6385/v1/nodes",
        );
        assert!(!node_locked(&exists), "{exists}");
        let bare = failure_of(
            reply(503, Value::Null),
            &Method::GET,
            "http://127.0.0.1:1/x",
        );
        assert_eq!(
            bare.to_string(),
            "GET http://127.0.0.1:1/x: 503 Service Unavailable"
        );
    }

    #[test]
    fn server_messages_from_each_service_shape() {
        let nova =
            json!({"itemNotFound": {"code": 404, "message": "Flavor x could not be found."}});
        assert_eq!(
            server_message(&nova).unwrap(),
            "Flavor x could not be found."
        );
        let neutron =
            json!({"NeutronError": {"type": "X", "message": "Quota exceeded", "detail": ""}});
        assert_eq!(server_message(&neutron).unwrap(), "Quota exceeded");
        let keystone = json!({"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}});
        assert!(server_message(&keystone)
            .unwrap()
            .starts_with("The request"));
        let glance = Value::String(
            "<html><body><h1>409 Conflict</h1>\nImage already exists</body></html>".into(),
        );
        assert_eq!(
            server_message(&glance).unwrap(),
            "409 Conflict Image already exists"
        );
        let ironic = json!({"error_message": "{\"faultstring\": \"Node 1be2 is locked by host uc, please retry after the current operation is completed.\", \"faultcode\": \"Client\", \"debuginfo\": null}"});
        assert!(server_message(&ironic)
            .unwrap()
            .starts_with("Node 1be2 is locked by host uc"));
    }

    #[test]
    fn each_run_has_its_own_session_of_a_cloud() {
        use crate::effects::{Effects, Mode};
        let cfg = || {
            let entry = json!({"auth": {"auth_url": "http://127.0.0.1:9/v3", "username": "u",
                "password": "p", "project_name": "p"}});
            super::super::config::from_entry("c", &entry, "clouds.yaml").expect("a cloud")
        };
        let (a, b) = (
            Effects::for_tests(Mode::Apply),
            Effects::for_tests(Mode::Apply),
        );
        let first = session(&a, cfg()).expect("a session");
        // One per cloud in a run: its token is shared by every call of the run.
        assert!(Arc::ptr_eq(&first, &session(&a, cfg()).expect("a session")));
        // Another run has its own, and its own token.
        assert!(!Arc::ptr_eq(
            &first,
            &session(&b, cfg()).expect("a session")
        ));
    }

    #[test]
    fn versions_added_to_endpoints() {
        assert_eq!(
            with_version("network", "http://h:9696/"),
            "http://h:9696/v2.0"
        );
        assert_eq!(with_version("image", "http://h:9292"), "http://h:9292/v2");
        assert_eq!(
            with_version("compute", "http://h:8774/v2.1"),
            "http://h:8774/v2.1"
        );
    }
}
