//! Cloud configuration read the way the OpenStack tools read it: clouds.yaml on the same search
//! path with secure.yaml merged over it, `OS_CLOUD`, the `OS_*` variables, and openrc files
//! (`export OS_...=...` lines, as TripleO's overcloudrc).

use crate::effects::secret::Secret;
use crate::error::Error;
use crate::util::yaml::read_yaml;
use serde_json::{Map as JMap, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How labsh authenticates to a cloud.
#[derive(Clone, Debug)]
pub enum Auth {
    Password {
        username: Option<String>,
        user_id: Option<String>,
        password: Secret,
        user_domain: DomainRef,
    },
    AppCredential {
        id: Option<String>,
        name: Option<String>,
        username: Option<String>,
        user_domain: DomainRef,
        secret: Secret,
    },
}

/// A domain named by id or by name (the default domain when neither is given).
#[derive(Clone, Debug, PartialEq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

impl DomainRef {
    pub fn to_json(&self) -> Value {
        match self {
            DomainRef::Id(i) => serde_json::json!({ "id": i }),
            DomainRef::Name(n) => serde_json::json!({ "name": n }),
        }
    }
}

/// The project (or domain) a token is scoped to.
#[derive(Clone, Debug, PartialEq)]
pub enum Scope {
    Project {
        id: Option<String>,
        name: Option<String>,
        domain: DomainRef,
    },
    Domain(DomainRef),
    /// The whole deployment (`system_scope: all`), as Ironic's default policy wants for an
    /// administrator.
    System,
    Unscoped,
}

/// One cloud, resolved.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// The cloud's name (`envvars` for OS_* variables, `openrc` for an openrc file).
    pub name: String,
    /// Where it was read from, for error messages.
    pub source: String,
    /// The Keystone v3 URL.
    pub auth_url: String,
    pub auth: Auth,
    pub scope: Scope,
    pub region: Option<String>,
    /// public, internal or admin.
    pub interface: String,
    pub verify: bool,
    pub cacert: Option<PathBuf>,
    pub timeout: Duration,
}

impl CloudConfig {
    /// What identifies this configuration among the open sessions (no secret in it).
    pub fn key(&self) -> String {
        let user = match &self.auth {
            Auth::Password {
                username, user_id, ..
            } => username.clone().or(user_id.clone()).unwrap_or_default(),
            Auth::AppCredential { id, name, .. } => id.clone().or(name.clone()).unwrap_or_default(),
        };
        let scope = match &self.scope {
            Scope::Project { id, name, .. } => id.clone().or(name.clone()).unwrap_or_default(),
            Scope::Domain(d) => format!("{d:?}"),
            Scope::System => "system".into(),
            Scope::Unscoped => String::new(),
        };
        format!(
            "{}|{}|{}|{}|{}",
            self.name,
            self.auth_url,
            user,
            scope,
            self.region.clone().unwrap_or_default()
        )
    }

    /// The project name or id the cloud is scoped to, for display.
    pub fn project(&self) -> String {
        match &self.scope {
            Scope::Project { id, name, .. } => name.clone().or(id.clone()).unwrap_or_default(),
            _ => String::new(),
        }
    }

    pub fn user(&self) -> String {
        match &self.auth {
            Auth::Password {
                username, user_id, ..
            } => username.clone().or(user_id.clone()).unwrap_or_default(),
            Auth::AppCredential { username, id, .. } => {
                username.clone().or(id.clone()).unwrap_or_default()
            }
        }
    }
}

/// Where clouds.yaml and secure.yaml are looked for, in order (as openstacksdk does).
pub fn search_dirs() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from(".")];
    if let Some(h) = std::env::var_os("XDG_CONFIG_HOME") {
        v.push(PathBuf::from(h).join("openstack"));
    } else if let Some(h) = std::env::var_os("HOME") {
        v.push(PathBuf::from(h).join(".config/openstack"));
    }
    v.push(PathBuf::from("/etc/openstack"));
    v
}

fn first_existing(env: &str, file: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        return p.exists().then_some(p);
    }
    search_dirs()
        .into_iter()
        .map(|d| d.join(file))
        .find(|p| p.is_file())
}

/// Deep merge of `over` into `base` (maps merged key by key, everything else replaced).
pub fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(bv) => merge(bv, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// The `clouds:` map of clouds.yaml with secure.yaml merged over it, and the files read.
pub fn load_clouds_files(
    clouds_yaml: Option<&Path>,
) -> Result<(JMap<String, Value>, Vec<PathBuf>), Error> {
    let mut files = vec![];
    let mut all = Value::Object(JMap::new());
    let main = match clouds_yaml {
        Some(p) => {
            if !p.is_file() {
                return Err(Error::not_found(format!(
                    "clouds file {} does not exist",
                    p.display()
                )));
            }
            Some(p.to_path_buf())
        }
        None => first_existing("OS_CLIENT_CONFIG_FILE", "clouds.yaml"),
    };
    if let Some(p) = main {
        all = read_yaml(&p)?;
        files.push(p);
    }
    let secure = match clouds_yaml {
        Some(p) => p
            .parent()
            .map(|d| d.join("secure.yaml"))
            .filter(|p| p.is_file()),
        None => first_existing("OS_CLIENT_SECURE_FILE", "secure.yaml"),
    };
    if let Some(p) = secure {
        merge(&mut all, read_yaml(&p)?);
        files.push(p);
    }
    let clouds = match all.get("clouds") {
        None => JMap::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(Error::invalid(format!(
                "{}: 'clouds' must be a map of cloud names",
                files
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )))
        }
    };
    Ok((clouds, files))
}

fn s(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Some(true),
            "false" | "no" | "0" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The Keystone v3 URL for what the user wrote (`http://h:5000`, `.../v3/`, `.../v2.0`).
pub fn v3_url(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    if u.ends_with("/v3") {
        u.to_string()
    } else if let Some(b) = u.strip_suffix("/v2.0") {
        format!("{b}/v3")
    } else {
        format!("{u}/v3")
    }
}

fn domain(v: &Value, id: &str, name: &str, fallbacks: &[(&str, &str)]) -> DomainRef {
    if let Some(i) = s(v, id) {
        return DomainRef::Id(i);
    }
    if let Some(n) = s(v, name) {
        return DomainRef::Name(n);
    }
    for (fid, fname) in fallbacks {
        if let Some(i) = s(v, fid) {
            return DomainRef::Id(i);
        }
        if let Some(n) = s(v, fname) {
            return DomainRef::Name(n);
        }
    }
    DomainRef::Id("default".into())
}

/// A cloud from its clouds.yaml entry (`auth:` plus the top-level keys).
pub fn from_entry(name: &str, entry: &Value, source: &str) -> Result<CloudConfig, Error> {
    let at = |key: &str| format!("{source}: cloud '{name}': {key}");
    let Some(auth) = entry.get("auth") else {
        return Err(Error::invalid(format!("{} is missing", at("auth"))));
    };
    let auth_url = s(auth, "auth_url")
        .ok_or_else(|| Error::invalid(format!("{} is missing", at("auth.auth_url"))))?;
    if !auth_url.starts_with("http://") && !auth_url.starts_with("https://") {
        return Err(Error::invalid(format!(
            "{} must start with http:// or https://, not {auth_url:?}",
            at("auth.auth_url")
        )));
    }
    let a = auth_of(name, entry, auth, &at)?;
    let scope = scope_of(auth, &a, &at)?;
    let (verify, cacert) = tls_of(entry, &at)?;
    let interface = s(entry, "interface")
        .or(s(entry, "endpoint_type"))
        .unwrap_or_else(|| "public".into())
        .trim_end_matches("URL")
        .to_string();
    if !["public", "internal", "admin"].contains(&interface.as_str()) {
        return Err(Error::invalid(format!(
            "{}: {interface:?} must be public, internal or admin",
            at("interface")
        )));
    }
    let timeout = match entry.get("api_timeout") {
        Some(Value::Number(n)) => Duration::from_secs_f64(n.as_f64().unwrap_or(60.0)),
        Some(Value::String(t)) => Duration::from_secs_f64(t.parse::<f64>().map_err(|_| {
            Error::invalid(format!(
                "{}: {t:?} is not a number of seconds",
                at("api_timeout")
            ))
        })?),
        _ => Duration::from_secs(60),
    };
    Ok(CloudConfig {
        name: name.to_string(),
        source: source.to_string(),
        auth_url: v3_url(&auth_url),
        auth: a,
        scope,
        region: s(entry, "region_name"),
        interface,
        verify,
        cacert,
        timeout,
    })
}

/// The domains a user's or a project's domain falls back to.
const DOMAIN_FALLBACK: [(&str, &str); 2] = [
    ("default_domain_id", "default_domain_name"),
    ("domain_id", "domain_name"),
];

/// How the cloud `name` signs in (`auth_type`: a password, or an application credential), its
/// secret named `cloud.NAME.FIELD`; `at` names a key for an error.
fn auth_of(
    name: &str,
    entry: &Value,
    auth: &Value,
    at: &dyn Fn(&str) -> String,
) -> Result<Auth, Error> {
    let auth_type = s(entry, "auth_type").unwrap_or_else(|| {
        if s(auth, "application_credential_secret").is_some() {
            "v3applicationcredential".into()
        } else {
            "password".into()
        }
    });
    let user_domain = domain(auth, "user_domain_id", "user_domain_name", &DOMAIN_FALLBACK);
    let secret_name = format!("cloud.{name}");
    match auth_type.as_str() {
        "password" | "v3password" => {
            let password = s(auth, "password").ok_or_else(|| {
                format!(
                    "{} is missing (or set it in secure.yaml)",
                    at("auth.password")
                )
            })?;
            let username = s(auth, "username");
            let user_id = s(auth, "user_id");
            if username.is_none() && user_id.is_none() {
                return Err(Error::invalid(format!(
                    "{} is missing",
                    at("auth.username")
                )));
            }
            Ok(Auth::Password {
                username,
                user_id,
                password: Secret::new(&format!("{secret_name}.password"), &password),
                user_domain,
            })
        }
        "v3applicationcredential" | "applicationcredential" => {
            let secret = s(auth, "application_credential_secret").ok_or_else(|| {
                format!("{} is missing", at("auth.application_credential_secret"))
            })?;
            let id = s(auth, "application_credential_id");
            let cname = s(auth, "application_credential_name");
            if id.is_none() && cname.is_none() {
                return Err(Error::invalid(format!(
                    "{} is missing",
                    at("auth.application_credential_id")
                )));
            }
            Ok(Auth::AppCredential {
                id,
                name: cname,
                username: s(auth, "username"),
                user_domain,
                secret: Secret::new(
                    &format!("{secret_name}.application_credential_secret"),
                    &secret,
                ),
            })
        }
        other => Err(Error::invalid(format!(
            "{}: {other:?} is not supported; use password or v3applicationcredential",
            at("auth_type")
        ))),
    }
}

/// What the token is scoped to: the system (`system_scope: all`), a project, a domain, or
/// nothing (an application credential carries its own).
fn scope_of(auth: &Value, a: &Auth, at: &dyn Fn(&str) -> String) -> Result<Scope, Error> {
    let system = s(auth, "system_scope");
    if let Some(sys) = system.as_deref().filter(|v| *v != "all") {
        return Err(Error::invalid(format!(
            "{}: {sys:?} is not a system scope; the only one is \"all\"",
            at("auth.system_scope")
        )));
    }
    Ok(if matches!(a, Auth::AppCredential { .. }) {
        Scope::Unscoped
    } else if system.is_some() {
        Scope::System
    } else if s(auth, "project_id").is_some()
        || s(auth, "project_name").is_some()
        || s(auth, "tenant_name").is_some()
    {
        Scope::Project {
            id: s(auth, "project_id").or(s(auth, "tenant_id")),
            name: s(auth, "project_name").or(s(auth, "tenant_name")),
            domain: domain(
                auth,
                "project_domain_id",
                "project_domain_name",
                &DOMAIN_FALLBACK,
            ),
        }
    } else if s(auth, "domain_id").is_some() || s(auth, "domain_name").is_some() {
        Scope::Domain(domain(auth, "domain_id", "domain_name", &[]))
    } else {
        Scope::Unscoped
    })
}

/// Whether TLS certificates are verified (`verify`, `insecure`), and the CA file to verify them
/// with (it must be there).
fn tls_of(entry: &Value, at: &dyn Fn(&str) -> String) -> Result<(bool, Option<PathBuf>), Error> {
    let mut verify = entry.get("verify").and_then(truthy).unwrap_or(true);
    if entry.get("insecure").and_then(truthy) == Some(true) {
        verify = false;
    }
    let cacert = s(entry, "cacert").map(PathBuf::from);
    if let Some(c) = &cacert {
        if !c.is_file() {
            return Err(Error::not_found(format!(
                "{}: {} does not exist",
                at("cacert"),
                c.display()
            )));
        }
    }
    Ok((verify, cacert))
}

/// The clouds.yaml-shaped entry that a set of `OS_*` variables describes.
pub fn entry_from_vars(vars: &[(String, String)]) -> Value {
    let get = |k: &str| {
        vars.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
    };
    let mut auth = JMap::new();
    let mut top = JMap::new();
    for (var, key) in [
        ("OS_AUTH_URL", "auth_url"),
        ("OS_USERNAME", "username"),
        ("OS_USER_ID", "user_id"),
        ("OS_PASSWORD", "password"),
        ("OS_PROJECT_NAME", "project_name"),
        ("OS_TENANT_NAME", "tenant_name"),
        ("OS_PROJECT_ID", "project_id"),
        ("OS_TENANT_ID", "tenant_id"),
        ("OS_USER_DOMAIN_NAME", "user_domain_name"),
        ("OS_USER_DOMAIN_ID", "user_domain_id"),
        ("OS_PROJECT_DOMAIN_NAME", "project_domain_name"),
        ("OS_PROJECT_DOMAIN_ID", "project_domain_id"),
        ("OS_DOMAIN_NAME", "domain_name"),
        ("OS_DOMAIN_ID", "domain_id"),
        ("OS_SYSTEM_SCOPE", "system_scope"),
        ("OS_APPLICATION_CREDENTIAL_ID", "application_credential_id"),
        (
            "OS_APPLICATION_CREDENTIAL_NAME",
            "application_credential_name",
        ),
        (
            "OS_APPLICATION_CREDENTIAL_SECRET",
            "application_credential_secret",
        ),
    ] {
        if let Some(v) = get(var) {
            auth.insert(key.into(), Value::String(v));
        }
    }
    for (var, key) in [
        ("OS_REGION_NAME", "region_name"),
        ("OS_INTERFACE", "interface"),
        ("OS_ENDPOINT_TYPE", "endpoint_type"),
        ("OS_CACERT", "cacert"),
        ("OS_INSECURE", "insecure"),
        ("OS_AUTH_TYPE", "auth_type"),
        ("OS_API_TIMEOUT", "api_timeout"),
    ] {
        if let Some(v) = get(var) {
            top.insert(key.into(), Value::String(v));
        }
    }
    top.insert("auth".into(), Value::Object(auth));
    Value::Object(top)
}

/// The `OS_*` assignments of an openrc file: `export OS_X=value` (quotes removed). Lines that
/// compute values (`$(...)`, `${...}`) are refused with their line number.
pub fn parse_openrc(text: &str, source: &str) -> Result<Vec<(String, String)>, Error> {
    let mut vars = vec![];
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let Some(rest) = line.strip_prefix("export ") else {
            continue;
        };
        let Some((name, value)) = rest.trim().split_once('=') else {
            continue;
        };
        if !name.starts_with("OS_") {
            continue;
        }
        let mut v = value.trim().to_string();
        if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            v = v[1..v.len() - 1].to_string();
        } else if let Some(hash) = v.find(" #") {
            v.truncate(hash);
        }
        if v.contains("$(") || v.contains("${") || v.contains('`') {
            return Err(Error::invalid(format!(
                "{source}:{}: {name} is computed by the shell ({v}); write its value instead",
                i + 1
            )));
        }
        vars.push((name.to_string(), v));
    }
    if !vars.iter().any(|(n, _)| n == "OS_AUTH_URL") {
        return Err(Error::invalid(format!(
            "{source}: no 'export OS_AUTH_URL=...' line"
        )));
    }
    Ok(vars)
}

/// The `OS_*` variables of this process.
pub fn env_vars() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("OS_"))
        .collect()
}

/// Resolves a cloud by name: `envvars` (or an empty name with `OS_AUTH_URL` set and no
/// `OS_CLOUD`) from the environment, otherwise from clouds.yaml.
pub fn named(name: &str, clouds_yaml: Option<&Path>) -> Result<CloudConfig, Error> {
    let env = env_vars();
    let name = if name.is_empty() {
        std::env::var("OS_CLOUD").unwrap_or_default()
    } else {
        name.to_string()
    };
    if name == "envvars" || (name.is_empty() && env.iter().any(|(k, _)| k == "OS_AUTH_URL")) {
        return from_entry("envvars", &entry_from_vars(&env), "the OS_* variables");
    }
    let (clouds, files) = load_clouds_files(clouds_yaml)?;
    let source = files
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "clouds.yaml".into());
    if name.is_empty() {
        return Err(Error::invalid(format!(
            "no cloud named: pass a cloud name, set OS_CLOUD, or source an openrc (known clouds: {})",
            known(&clouds)
        )));
    }
    match clouds.get(&name) {
        Some(e) => from_entry(&name, e, &source),
        None if files.is_empty() => Err(Error::not_found(format!(
            "unknown cloud '{name}': no clouds.yaml found (looked in {})",
            search_dirs()
                .iter()
                .map(|d| d.join("clouds.yaml").display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => {
            let hint = crate::util::suggest::hint(&name, clouds.keys().map(|k| k.as_str()));
            Err(Error::not_found(format!(
                "unknown cloud '{name}' in {source}{hint}; known clouds: {}",
                known(&clouds)
            )))
        }
    }
}

fn known(clouds: &JMap<String, Value>) -> String {
    if clouds.is_empty() {
        "none".into()
    } else {
        clouds.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// A cloud from an openrc file.
pub fn openrc(path: &Path) -> Result<CloudConfig, Error> {
    let text = crate::util::read::text(path).map_err(|e| Error::from(e).context("openrc"))?;
    let src = path.display().to_string();
    let vars = parse_openrc(&text, &src)?;
    from_entry("openrc", &entry_from_vars(&vars), &src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_urls_become_v3() {
        assert_eq!(v3_url("http://h:5000"), "http://h:5000/v3");
        assert_eq!(v3_url("http://h:5000/v3/"), "http://h:5000/v3");
        assert_eq!(v3_url("http://h:5000/v2.0"), "http://h:5000/v3");
    }

    #[test]
    fn clouds_yaml_with_merge_keys_and_secure_yaml() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("clouds.yaml"),
            "base: &base\n  region_name: regionOne\n  interface: internal\nclouds:\n  a:\n    <<: *base\n    auth:\n      auth_url: http://127.0.0.1:5000\n      username: u\n      project_name: p\n      user_domain_name: Default\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("secure.yaml"),
            "clouds:\n  a:\n    auth:\n      password: s3cr3t-pw\n",
        )
        .unwrap();
        let c = named("a", Some(&dir.path().join("clouds.yaml"))).unwrap();
        assert_eq!(c.auth_url, "http://127.0.0.1:5000/v3");
        assert_eq!(c.region.as_deref(), Some("regionOne"));
        assert_eq!(c.interface, "internal");
        match &c.auth {
            Auth::Password {
                password,
                user_domain,
                ..
            } => {
                assert_eq!(password.expose(), "s3cr3t-pw");
                assert_eq!(user_domain, &DomainRef::Name("Default".into()));
            }
            _ => panic!("password auth expected"),
        }
        let e = named("b", Some(&dir.path().join("clouds.yaml"))).unwrap_err();
        assert!(
            e.message().contains("unknown cloud 'b'") && e.message().contains("known clouds: a"),
            "{e}"
        );
    }

    #[test]
    fn malformed_yaml_names_file_and_line() {
        let (_dir, p) = crate::util::testing::temp_file(
            "clouds.yaml",
            "clouds:\n  a:\n    auth: [\n      x: 1\n",
        );
        let e = named("a", Some(&p)).unwrap_err();
        assert!(e.message().contains("clouds.yaml"), "{e}");
        assert!(e.message().contains("line"), "{e}");
    }

    #[test]
    fn openrc_lines_are_read_and_computed_values_refused() {
        let rc = "# Clear any old environment\nfor key in $( set | awk '{FS=\"=\"}  /^OS_/ {print $1}' ); do unset $key ; done\nexport NOVA_VERSION=1.1\nexport OS_USERNAME=admin\nexport OS_PROJECT_NAME=admin\nexport OS_PASSWORD='pa ss'\nexport OS_AUTH_URL=http://192.168.122.150:5000\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\nexport OS_REGION_NAME=regionOne\n";
        let vars = parse_openrc(rc, "overcloudrc").unwrap();
        let c = from_entry("openrc", &entry_from_vars(&vars), "overcloudrc").unwrap();
        assert_eq!(c.auth_url, "http://192.168.122.150:5000/v3");
        assert_eq!(c.project(), "admin");
        let e =
            parse_openrc("export OS_AUTH_URL=x\nexport OS_PASSWORD=$(cat f)\n", "rc").unwrap_err();
        assert!(e.message().starts_with("rc:2:"), "{e}");
    }
}
