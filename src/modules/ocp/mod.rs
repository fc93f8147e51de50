//! `ocp`: OpenShift installer-provisioned infrastructure on OpenStack: install-config.yaml checks,
//! the installer run with its progress, tools found or fetched with a checksum, and parsers for
//! what the cluster's keepalived and haproxy pods say (the networking deep dive).

use crate::effects::process::{self, Command, LineHook};
use crate::effects::Op;
use crate::engine::{rt_err, session, value, with_effects};
use crate::modules::cloud::api::in_cidr;
use crate::modules::opts::{type_name, Opts};
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map, NativeCallContext};
use serde_json::Value;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// An IPv4 network: (address, prefix length).
pub fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('/')?;
    let a: Ipv4Addr = a.trim().parse().ok()?;
    let b: u32 = b.trim().parse().ok()?;
    (b <= 32).then_some((u32::from(a), b))
}

fn range(c: (u32, u32)) -> (u64, u64) {
    let mask: u64 = if c.1 == 0 {
        0
    } else {
        (u32::MAX << (32 - c.1)) as u64
    };
    let start = (c.0 as u64) & mask;
    (start, start + (1u64 << (32 - c.1)) - 1)
}

/// Whether two CIDRs share an address.
pub fn overlaps(a: &str, b: &str) -> bool {
    match (parse_cidr(a), parse_cidr(b)) {
        (Some(x), Some(y)) => {
            let (a0, a1) = range(x);
            let (b0, b1) = range(y);
            a0 <= b1 && b0 <= a1
        }
        _ => false,
    }
}

fn get<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for p in path.split('.') {
        cur = if let Ok(i) = p.parse::<usize>() {
            cur.get(i)?
        } else {
            cur.get(p)?
        };
    }
    Some(cur)
}

/// Every problem of an install-config (as JSON, secrets masked or not), each naming the field.
/// `lab` names the lab's own networks (`name -> CIDR`) that must not overlap the cluster's, and
/// `external_cidr` the subnet the API floating IP must be in.
pub fn check_install_config(
    c: &Value,
    lab: &[(String, String)],
    external_cidr: Option<&str>,
) -> Vec<String> {
    let mut p = vec![];
    let s = |path: &str| {
        get(c, path)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    if s("apiVersion") != "v1" {
        p.push("apiVersion: must be v1".into());
    }
    let dns_label = |x: &str| {
        !x.is_empty()
            && x.len() <= 63
            && x.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !x.starts_with('-')
            && !x.ends_with('-')
    };
    let name = s("metadata.name");
    if !dns_label(&name) {
        p.push(format!(
            "metadata.name: {name:?} must be a DNS label (lower-case letters, digits, '-')"
        ));
    }
    let bd = s("baseDomain");
    if bd.is_empty() || !bd.split('.').all(dns_label) {
        p.push(format!(
            "baseDomain: {bd:?} must be a domain name such as example.com"
        ));
    }
    match get(c, "controlPlane.replicas").and_then(|v| v.as_i64()) {
        Some(3) | Some(1) => {}
        other => p.push(format!(
            "controlPlane.replicas: {other:?} must be 3 (or 1 for a single node)"
        )),
    }
    match get(c, "compute.0.replicas").and_then(|v| v.as_i64()) {
        Some(n) if n >= 0 => {}
        other => p.push(format!("compute[0].replicas: {other:?} must be 0 or more")),
    }
    let mut nets: Vec<(String, String)> = vec![];
    let machine = s("networking.machineCIDR");
    let machine = if machine.is_empty() {
        s("networking.machineNetwork.0.cidr")
    } else {
        machine
    };
    if parse_cidr(&machine).is_none() {
        p.push(format!(
            "networking.machineCIDR: {machine:?} is not a CIDR such as 10.0.0.0/16"
        ));
    } else {
        nets.push(("networking.machineCIDR".into(), machine.clone()));
    }
    let cluster = s("networking.clusterNetwork.0.cidr");
    match parse_cidr(&cluster) {
        None => p.push(format!(
            "networking.clusterNetwork[0].cidr: {cluster:?} is not a CIDR"
        )),
        Some((_, len)) => {
            nets.push(("networking.clusterNetwork[0].cidr".into(), cluster.clone()));
            match get(c, "networking.clusterNetwork.0.hostPrefix").and_then(|v| v.as_i64()) {
                Some(h) if h as u32 > len && h <= 30 => {}
                other => p.push(format!(
                    "networking.clusterNetwork[0].hostPrefix: {other:?} must be longer than the network's /{len} and at most 30"
                )),
            }
        }
    }
    let service = s("networking.serviceNetwork.0");
    if parse_cidr(&service).is_none() {
        p.push(format!(
            "networking.serviceNetwork[0]: {service:?} is not a CIDR"
        ));
    } else {
        nets.push(("networking.serviceNetwork[0]".into(), service.clone()));
    }
    let nt = s("networking.networkType");
    if !["OpenShiftSDN", "OVNKubernetes"].contains(&nt.as_str()) {
        p.push(format!(
            "networking.networkType: {nt:?} must be OpenShiftSDN or OVNKubernetes"
        ));
    }
    for i in 0..nets.len() {
        for j in i + 1..nets.len() {
            if overlaps(&nets[i].1, &nets[j].1) {
                p.push(format!(
                    "{} ({}) overlaps {} ({})",
                    nets[i].0, nets[i].1, nets[j].0, nets[j].1
                ));
            }
        }
        for (lname, lcidr) in lab {
            if overlaps(&nets[i].1, lcidr) {
                p.push(format!(
                    "{} ({}) overlaps the lab's network {lname} ({lcidr}); choose another range",
                    nets[i].0, nets[i].1
                ));
            }
        }
    }
    for f in ["cloud", "computeFlavor", "externalNetwork", "region"] {
        if s(&format!("platform.openstack.{f}")).is_empty() {
            p.push(format!("platform.openstack.{f}: is missing"));
        }
    }
    let fip = s("platform.openstack.lbFloatingIP");
    if fip.parse::<Ipv4Addr>().is_err() {
        p.push(format!(
            "platform.openstack.lbFloatingIP: {fip:?} is not an IPv4 address"
        ));
    } else if let Some(ext) = external_cidr {
        if !in_cidr(&fip, ext) {
            p.push(format!(
                "platform.openstack.lbFloatingIP: {fip} is outside the external subnet {ext}"
            ));
        }
    }
    let ps = s("pullSecret");
    if ps.is_empty() {
        p.push(
            "pullSecret: is missing (secret(\"pull-secret\"): the JSON from the Red Hat console)"
                .into(),
        );
    }
    proxy_and_mirror_problems(c, &mut p);
    let key = s("sshKey");
    if key.is_empty() {
        p.push("sshKey: is missing (the public key for the nodes' core user)".into());
    } else if !(key.starts_with("ssh-") || key.starts_with("ecdsa-") || key.starts_with("«secret"))
    {
        p.push(format!(
            "sshKey: {:?}… does not look like a public key",
            &key[..key.len().min(12)]
        ));
    }
    p
}

/// The cluster-wide proxy, the release-image mirrors of a disconnected install and the extra CA
/// bundle, when the config has them.
fn proxy_and_mirror_problems(c: &Value, p: &mut Vec<String>) {
    if let Some(proxy) = c.get("proxy") {
        let Some(m) = proxy.as_object() else {
            p.push("proxy: must be a map (httpProxy, httpsProxy, noProxy)".into());
            return;
        };
        for (k, v) in m {
            let text = v.as_str().unwrap_or("");
            if text.starts_with("«secret") {
                // A proxy URL with a password in it is a secret: shown only by its name.
                continue;
            }
            match k.as_str() {
                "httpProxy" | "httpsProxy" => {
                    let rest = text
                        .strip_prefix("http://")
                        .or_else(|| text.strip_prefix("https://"));
                    let host = rest
                        .map(|r| r.rsplit('@').next().unwrap_or(r))
                        .map(|r| r.split(['/', ':']).next().unwrap_or(""));
                    if host.is_none_or(str::is_empty) {
                        p.push(format!(
                            "proxy.{k}: {text:?} must be a URL such as http://proxy.example.com:3128"
                        ));
                    }
                }
                "noProxy" => {
                    if text
                        .split(',')
                        .any(|x| x.trim().is_empty() || x.contains(' '))
                    {
                        p.push(format!(
                            "proxy.noProxy: {text:?} must be a comma-separated list of domains, addresses or CIDRs, without spaces"
                        ));
                    }
                }
                other => p.push(format!(
                    "proxy.{other}: unknown key (httpProxy, httpsProxy, noProxy)"
                )),
            }
        }
        if !m.contains_key("httpProxy") && !m.contains_key("httpsProxy") {
            p.push("proxy: needs httpProxy or httpsProxy".into());
        }
    }
    if let Some(list) = c.get("imageContentSources") {
        let Some(list) = list.as_array() else {
            p.push("imageContentSources: must be a list of #{source, mirrors}".into());
            return;
        };
        for (i, e) in list.iter().enumerate() {
            let src = e.get("source").and_then(Value::as_str).unwrap_or("");
            if src.is_empty() || src.contains("://") {
                p.push(format!(
                    "imageContentSources[{i}].source: {src:?} must be a repository such as quay.io/openshift-release-dev/ocp-release"
                ));
            }
            let mirrors: Vec<&str> = e
                .get("mirrors")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if mirrors.is_empty() {
                p.push(format!(
                    "imageContentSources[{i}].mirrors: needs at least one repository to pull {src} from"
                ));
            }
            for m in mirrors {
                if m.is_empty() || m.contains("://") {
                    p.push(format!(
                        "imageContentSources[{i}].mirrors: {m:?} must be a repository such as registry.lab:5000/ocp/release (no scheme)"
                    ));
                }
            }
        }
    }
    if let Some(b) = c.get("additionalTrustBundle") {
        let text = b.as_str().unwrap_or("");
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            p.push(
                "additionalTrustBundle: must hold PEM certificates (-----BEGIN CERTIFICATE-----)"
                    .into(),
            );
        }
    }
}

/// `(version, percent)` from a "Working towards 4.2.4: 98% complete" line.
pub fn progress(line: &str) -> Option<(String, u8)> {
    let i = line.find("Working towards ")?;
    let rest = &line[i + "Working towards ".len()..];
    let (version, rest) = rest.split_once(':')?;
    let pct = rest
        .trim_start()
        .split('%')
        .next()?
        .trim()
        .parse::<u8>()
        .ok()?;
    Some((version.trim().to_string(), pct.min(100)))
}

/// The VIPs of a keepalived.conf: `(instance, address/prefix)`.
pub fn keepalived_vips(conf: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    let mut instance = String::new();
    let words: Vec<&str> = conf.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        match words[i] {
            "vrrp_instance" if i + 1 < words.len() => instance = words[i + 1].to_string(),
            "virtual_ipaddress" => {
                let mut j = i + 1;
                if words.get(j) == Some(&"{") {
                    j += 1;
                }
                while j < words.len() && words[j] != "}" {
                    if parse_cidr(words[j]).is_some() || words[j].parse::<Ipv4Addr>().is_ok() {
                        out.push((instance.clone(), words[j].to_string()));
                    }
                    j += 1;
                }
                i = j;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The backends of an haproxy.cfg: `(backend, server name, address:port)`, and the frontend binds.
pub fn haproxy_backends(cfg: &str) -> (Vec<(String, String, String)>, Vec<String>) {
    let words: Vec<&str> = cfg.split_whitespace().collect();
    let mut backends = vec![];
    let mut binds = vec![];
    let mut section = String::new();
    let mut section_name = String::new();
    for (i, w) in words.iter().enumerate() {
        match *w {
            "backend" | "frontend" | "listen" | "defaults" | "global" => {
                section = w.to_string();
                section_name = words.get(i + 1).map(|s| s.to_string()).unwrap_or_default();
            }
            "server" if section == "backend" => {
                if let (Some(n), Some(a)) = (words.get(i + 1), words.get(i + 2)) {
                    backends.push((section_name.clone(), n.to_string(), a.to_string()));
                }
            }
            "bind" if section == "frontend" => {
                if let Some(b) = words.get(i + 1) {
                    binds.push(b.to_string());
                }
            }
            _ => {}
        }
    }
    (backends, binds)
}

/// Runs the installer in `dir`: output to `dir/labsh-install.log`, progress lines to `on_progress`.
fn install(
    ctx: &NativeCallContext,
    installer: &str,
    dir: &str,
    timeout: std::time::Duration,
    log_level: &str,
    release_image: Option<&str>,
) -> Res<Map> {
    let s = session(ctx)?;
    let fx = &s.effects;
    let kubeconfig = Path::new(dir).join("auth/kubeconfig");
    let metadata = Path::new(dir).join("metadata.json");
    let mut op = Op::new("ocp.install", dir).arg("installer", installer);
    if let Some(r) = release_image {
        op = op.arg("release_image", r);
    }
    let mut m = Map::new();
    m.insert("kubeconfig".into(), kubeconfig.display().to_string().into());
    if kubeconfig.is_file()
        && metadata.is_file()
        && Path::new(dir).join(".labsh-install-complete").is_file()
    {
        fx.unchanged(op);
        m.insert("changed".into(), false.into());
        return Ok(m);
    }
    let log_path = Path::new(dir).join("labsh-install.log");
    let state = Arc::new(Mutex::new((
        String::new(),
        0u8,
        false,
        Vec::<String>::new(),
    )));
    let printer = fx.printer().clone();
    let st = state.clone();
    let log = Arc::new(Mutex::new(None::<std::fs::File>));
    let lg = log.clone();
    let hook: LineHook = Arc::new(move |line: &str| {
        if let Ok(mut f) = lg.lock() {
            if let Some(f) = f.as_mut() {
                use std::io::Write;
                let _ = writeln!(f, "{}", crate::effects::secret::redact(line));
            }
        }
        if let Ok(mut g) = st.lock() {
            if let Some((v, pct)) = progress(line) {
                if pct != g.1 || v != g.0 {
                    printer.status(&format!("  progress {v}: {pct}% complete"));
                    g.0 = v;
                    g.1 = pct;
                }
            }
            if line.contains("Install complete!") {
                g.2 = true;
            }
            if line.contains("level=error")
                || line.contains("level=fatal")
                || line.starts_with("ERROR")
                || line.starts_with("FATAL")
            {
                g.3.push(line.to_string());
            }
            if line.contains("INFO") || line.contains("level=info") {
                printer.status(&format!("  {}", line.trim()));
            }
        }
    });
    let mut cmd = Command::new([
        installer,
        "create",
        "cluster",
        "--dir",
        dir,
        "--log-level",
        log_level,
    ]);
    cmd.timeout = Some(timeout);
    cmd.on_line = Some(hook);
    if let Some(r) = release_image {
        // A disconnected install pulls the release from the mirror.
        cmd.env.push((
            "OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE".into(),
            r.to_string().into(),
        ));
    }
    let r = fx.change(
        op.arg("timeout_s", timeout.as_secs()),
        || {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
            *log.lock().map_err(|_| "log lock")? = Some(
                std::fs::File::create(&log_path)
                    .map_err(|e| format!("cannot write {}: {e}", log_path.display()))?,
            );
            process::exec(&cmd, fx.cancel_flag(), fx.printer())
        },
        || process::Output {
            code: 0,
            stdout: String::new(),
            stderr: String::new(),
        },
    );
    let g = state.lock().map(|g| g.clone()).unwrap_or_default();
    let diag = |why: &str| {
        let tail: Vec<String> = std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(15)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let mut msg = format!(
            "openshift-install {why} (last progress: {}{}); its log: {}",
            if g.0.is_empty() {
                "none".to_string()
            } else {
                format!("{} {}%", g.0, g.1)
            },
            if g.3.is_empty() {
                String::new()
            } else {
                format!("; errors: {}", g.3.join(" | "))
            },
            log_path.display()
        );
        if !tail.is_empty() {
            msg.push_str("\n    ");
            msg.push_str(&tail.join("\n    "));
        }
        msg.push_str(&format!(
            "\n  to see more: {installer} gather bootstrap --dir {dir}; {installer} wait-for install-complete --dir {dir}"
        ));
        msg
    };
    let out = match r {
        Ok(o) => o,
        Err(e) if e == "interrupted" => return Err(rt_err(ctx, "interrupted")),
        Err(e) if e.starts_with("timed out") => {
            return Err(rt_err(
                ctx,
                diag(&format!(
                    "did not finish in {}",
                    crate::effects::fmt_ms(timeout.as_millis())
                )),
            ))
        }
        Err(e) => return Err(rt_err(ctx, e)),
    };
    if fx.is_plan() {
        m.insert("changed".into(), true.into());
        m.insert("planned".into(), true.into());
        return Ok(m);
    }
    if out.code != 0 || !g.2 {
        return Err(rt_err(
            ctx,
            diag(&format!("failed with exit code {}", out.code)),
        ));
    }
    let _ = std::fs::write(Path::new(dir).join(".labsh-install-complete"), "");
    m.insert("changed".into(), true.into());
    m.insert("version".into(), g.0.into());
    Ok(m)
}

fn sha256_file(p: &Path) -> Result<String, String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Finds `name` on PATH or in `dir`; else, with a mirror, downloads `MIRROR/ARCHIVE`, checks its
/// sha256 and unpacks it into `dir`.
fn tool(ctx: &NativeCallContext, name: &str, o: &Opts) -> Res<String> {
    let err = |e: String| rt_err(ctx, e);
    let dir = o.str("dir").map_err(err)?;
    if let Some(d) = &dir {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Ok(p.display().to_string());
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&paths) {
            let p = d.join(name);
            if p.is_file() {
                return Ok(p.display().to_string());
            }
        }
    }
    let (Some(mirror), Some(archive), Some(sha)) = (
        o.str("mirror").map_err(err)?,
        o.str("archive").map_err(err)?,
        o.str("sha256").map_err(err)?,
    ) else {
        return Err(err(format!(
            "{name} is neither on PATH nor in {}; install it, or give #{{mirror, archive, sha256}} to download it",
            dir.as_deref().unwrap_or("the lab folder")
        )));
    };
    let dir = dir.ok_or_else(|| {
        err(format!(
            "ocp::tool {name}: 'dir' is needed to download into"
        ))
    })?;
    let url = format!("{}/{archive}", mirror.trim_end_matches('/'));
    let target = Path::new(&dir).join(name);
    let s = session(ctx)?;
    let fx = &s.effects;
    fx.change(
        Op::new("ocp.download", &url)
            .arg("sha256", &sha)
            .arg("into", &dir),
        || {
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
            let tmp = PathBuf::from(crate::effects::files::temp_path(&format!(
                "{dir}/.{archive}"
            )));
            let resp = ureq::get(&url)
                .call()
                .map_err(|e| format!("GET {url}: {e}"))?;
            let mut reader = resp.into_body().into_reader();
            let mut f = std::fs::File::create(&tmp)
                .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
            std::io::copy(&mut reader, &mut f).map_err(|e| format!("GET {url}: {e}"))?;
            let got = sha256_file(&tmp)?;
            if !got.eq_ignore_ascii_case(&sha) {
                let _ = std::fs::remove_file(&tmp);
                return Err(format!(
                    "{url}: sha256 {got} is not the expected {sha}; nothing was installed"
                ));
            }
            let out = std::process::Command::new("tar")
                .args(["-xzf"])
                .arg(&tmp)
                .args(["-C", &dir, name])
                .output()
                .map_err(|e| format!("tar: {e}"))?;
            let _ = std::fs::remove_file(&tmp);
            if !out.status.success() {
                return Err(format!(
                    "cannot unpack {name} from {archive}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            Ok(())
        },
        || (),
    )
    .map_err(err)?;
    Ok(target.display().to_string())
}

#[export_module]
pub mod ocp_fns {
    /// Every problem of an install-config map, each naming its field: DNS names, replicas, the
    /// machine, cluster and service networks (CIDRs, host prefix, overlaps with each other and
    /// with the lab's own networks in `lab`, a map of name → CIDR), the OpenStack platform fields,
    /// the API floating IP inside `external_cidr`, the pull secret and the ssh key. `[]` when fine.
    ///
    /// ```rhai
    /// let c = #{apiVersion: "v1", baseDomain: "osd2019.local", metadata: #{name: "ocp4"},
    ///     controlPlane: #{replicas: 3}, compute: [#{replicas: 2}],
    ///     networking: #{machineCIDR: "10.0.0.0/16", clusterNetwork: [#{cidr: "10.128.0.0/14", hostPrefix: 23}],
    ///                   serviceNetwork: ["172.60.0.0/16"], networkType: "OpenShiftSDN"},
    ///     platform: #{openstack: #{cloud: "openstack", computeFlavor: "master", externalNetwork: "external",
    ///                              lbFloatingIP: "192.168.122.164", region: "regionOne"}},
    ///     pullSecret: "{}", sshKey: "ssh-rsa AAAA"};
    /// assert_eq(ocp::check_install_config(c, #{provisioning: "172.16.0.0/24"}, "192.168.122.0/24"), []);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn check_install_config(
        ctx: NativeCallContext,
        config: Map,
        lab: Map,
        external_cidr: &str,
    ) -> Res<Array> {
        let v = value::to_json(&Dynamic::from_map(config));
        let mut nets = vec![];
        for (k, c) in &lab {
            if !c.is_string() {
                return Err(rt_err(
                    &ctx,
                    format!(
                        "ocp::check_install_config: lab network {k} must be a CIDR string, not {}",
                        type_name(c)
                    ),
                ));
            }
            nets.push((k.to_string(), c.to_string()));
        }
        let ext = (!external_cidr.is_empty()).then_some(external_cidr);
        Ok(super::check_install_config(&v, &nets, ext)
            .into_iter()
            .map(Dynamic::from)
            .collect())
    }

    /// Whether two CIDRs share an address.
    ///
    /// ```rhai
    /// assert(ocp::overlaps("10.0.0.0/16", "10.0.128.0/17"));
    /// assert(!ocp::overlaps("10.0.0.0/16", "172.16.0.0/24"));
    /// ```
    pub fn overlaps(a: &str, b: &str) -> bool {
        super::overlaps(a, b)
    }

    /// The installer's progress in a log line: `#{version, percent}`, or `()`.
    ///
    /// ```rhai
    /// let p = ocp::progress("DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 98% complete");
    /// assert(p.version == "4.2.4" && p.percent == 98);
    /// ```
    pub fn progress(line: &str) -> Dynamic {
        match super::progress(line) {
            Some((v, p)) => {
                let mut m = Map::new();
                m.insert("version".into(), v.into());
                m.insert("percent".into(), (p as i64).into());
                m.into()
            }
            None => Dynamic::UNIT,
        }
    }

    /// Runs `openshift-install create cluster --dir DIR` (`#{installer, timeout (seconds, default
    /// 5400), log_level ("debug"), release_image}`; `release_image`, for a disconnected install,
    /// is the release in the mirror registry, given to the installer as
    /// OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE): its output goes to DIR/labsh-install.log, progress lines are
    /// shown as they change, and when it fails or the wait expires the error carries the last
    /// progress, the error lines and the log's tail. A cluster this labsh already installed in DIR
    /// is left alone. Returns `#{kubeconfig, changed}`.
    ///
    /// ```rhai
    /// if plan_mode() { ocp::install("out/ocp-install", #{installer: "openshift-install", timeout: 3600}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn install(ctx: NativeCallContext, dir: &str, opts: Map) -> Res<Map> {
        let o = Opts::new(
            "ocp::install",
            opts,
            &["installer", "timeout", "log_level", "release_image"],
        )
        .map_err(|e| rt_err(&ctx, e))?;
        let release = o.str("release_image").map_err(|e| rt_err(&ctx, e))?;
        let installer = o
            .str("installer")
            .map_err(|e| rt_err(&ctx, e))?
            .unwrap_or_else(|| "openshift-install".into());
        let timeout = o
            .seconds("timeout")
            .map_err(|e| rt_err(&ctx, e))?
            .unwrap_or(std::time::Duration::from_secs(5400));
        let level = o
            .str("log_level")
            .map_err(|e| rt_err(&ctx, e))?
            .unwrap_or_else(|| "debug".into());
        super::install(&ctx, &installer, dir, timeout, &level, release.as_deref())
    }

    /// The path of a tool (`openshift-install`, `oc`): from `dir` or PATH; else, given `#{dir,
    /// mirror, archive, sha256}`, downloaded from the mirror, checked against the sha256 and
    /// unpacked into `dir`.
    ///
    /// ```rhai
    /// let sh = ocp::tool("sh", #{});
    /// assert(sh.ends_with("/sh"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn tool(ctx: NativeCallContext, name: &str, opts: Map) -> Res<String> {
        let o = Opts::new("ocp::tool", opts, &["dir", "mirror", "archive", "sha256"])
            .map_err(|e| rt_err(&ctx, e))?;
        super::tool(&ctx, name, &o)
    }

    /// The VIPs a keepalived.conf configures: `[#{instance, address}]`.
    ///
    /// ```rhai
    /// let v = ocp::keepalived_vips("vrrp_instance ocp4_API { state BACKUP virtual_ipaddress { 10.0.0.5/16 } }");
    /// assert(v[0].instance == "ocp4_API" && v[0].address == "10.0.0.5/16");
    /// ```
    pub fn keepalived_vips(conf: &str) -> Array {
        super::keepalived_vips(conf)
            .into_iter()
            .map(|(i, a)| {
                let mut m = Map::new();
                m.insert("instance".into(), i.into());
                m.insert("address".into(), a.into());
                m.into()
            })
            .collect()
    }

    /// What an haproxy.cfg balances: `#{binds: [..], servers: [#{backend, name, address}]}`.
    ///
    /// ```rhai
    /// let h = ocp::haproxy_backends("frontend main bind :7443 default_backend masters backend masters server etcd-0 10.0.0.11:6443 check");
    /// assert(h.binds == [":7443"] && h.servers[0].address == "10.0.0.11:6443");
    /// ```
    pub fn haproxy_backends(cfg: &str) -> Map {
        let (servers, binds) = super::haproxy_backends(cfg);
        let mut m = Map::new();
        m.insert(
            "binds".into(),
            Dynamic::from_array(binds.into_iter().map(Dynamic::from).collect()),
        );
        m.insert(
            "servers".into(),
            Dynamic::from_array(
                servers
                    .into_iter()
                    .map(|(b, n, a)| {
                        let mut s = Map::new();
                        s.insert("backend".into(), b.into());
                        s.insert("name".into(), n.into());
                        s.insert("address".into(), a.into());
                        s.into()
                    })
                    .collect(),
            ),
        );
        m
    }

    /// Writes install-config.yaml into the installer's folder (0600: it holds the pull secret)
    /// unless the installer has already consumed it there (metadata.json present: the cluster
    /// exists or is being made), which is reported as ok. `true` when written.
    ///
    /// ```rhai
    /// let d = run_info().state_dir + "/example-install";
    /// ocp::write_install_config(d, #{apiVersion: "v1", pullSecret: secret("example-pull", #{generate: true})});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_install_config(ctx: NativeCallContext, dir: &str, config: Map) -> Res<bool> {
        let p = format!("{dir}/install-config.yaml");
        if Path::new(dir).join("metadata.json").is_file() {
            return with_effects(&ctx, |fx| {
                fx.unchanged(Op::new("ocp.install_config", &p).arg("consumed", true));
                Ok(false)
            });
        }
        let mut secret = false;
        let d = Dynamic::from_map(config);
        let real = crate::modules::files::exposed_json(&d, &mut secret);
        let text = crate::modules::files::yaml_text(&real).map_err(|e| rt_err(&ctx, e))?;
        with_effects(&ctx, |fx| {
            crate::effects::files::ensure_file(fx, &p, &text, true, Some(value::to_json(&d)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's install-config.yaml, as the article prints it.
    const SEED: &str = "apiVersion: v1\nclusterID: ocp4\nbaseDomain: osd2019.local\ncompute:\n- hyperthreading: Enabled\n  name: worker\n  platform: {}\n  replicas: 2\n  type: worker\ncontrolPlane:\n  hyperthreading: Enabled\n  name: master\n  platform: {}\n  replicas: 3\n  type: master\nmetadata:\n  name: ocp4\nnetworking:\n  clusterNetwork:\n  - cidr: 10.128.0.0/14\n    hostPrefix: 23\n  machineCIDR: 10.0.0.0/16\n  networkType: OpenShiftSDN\n  serviceNetwork:\n  - 172.60.0.0/16\nplatform:\n  openstack:\n    cloud: openstack\n    computeFlavor: master\n    externalNetwork: external\n    lbFloatingIP: 192.168.122.164\n    octaviaSupport: false\n    region: regionOne\n    trunkSupport: false\npullSecret: 'mypull secret'\nsshKey: ssh-rsa blablabla stack@undercloud.redhat.local\n";

    fn seed() -> Value {
        crate::modules::cloud::config::parse_yaml(SEED).unwrap()
    }

    #[test]
    fn the_seed_passes_and_mistakes_name_their_fields() {
        let lab = vec![
            ("provisioning".to_string(), "172.16.0.0/24".to_string()),
            ("default".to_string(), "192.168.122.0/24".to_string()),
        ];
        assert_eq!(
            check_install_config(&seed(), &lab, Some("192.168.122.0/24")),
            Vec::<String>::new()
        );
        let mut bad = seed();
        bad["networking"]["serviceNetwork"][0] = "10.0.128.0/17".into();
        bad["platform"]["openstack"]["lbFloatingIP"] = "192.168.123.5".into();
        bad["metadata"]["name"] = "OCP_4".into();
        bad["networking"]["clusterNetwork"][0]["hostPrefix"] = 12.into();
        bad["pullSecret"] = "".into();
        let p = check_install_config(&bad, &lab, Some("192.168.122.0/24"));
        let all = p.join("\n");
        for want in [
            "networking.machineCIDR (10.0.0.0/16) overlaps networking.serviceNetwork[0] (10.0.128.0/17)",
            "platform.openstack.lbFloatingIP: 192.168.123.5 is outside the external subnet 192.168.122.0/24",
            "metadata.name: \"OCP_4\"",
            "networking.clusterNetwork[0].hostPrefix",
            "pullSecret: is missing",
        ] {
            assert!(all.contains(want), "{want} not in:\n{all}");
        }
        let mut disconnected = seed();
        disconnected["proxy"] = serde_json::json!({
            "httpProxy": "http://proxy.lab:3128", "httpsProxy": "http://user:pw@proxy.lab:3128",
            "noProxy": "10.0.0.0/16,.osd2019.local,192.168.122.151"});
        disconnected["imageContentSources"] = serde_json::json!([{
            "source": "quay.io/openshift-release-dev/ocp-release",
            "mirrors": ["registry.lab:5000/ocp4/openshift4"]}]);
        disconnected["additionalTrustBundle"] =
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into();
        assert_eq!(
            check_install_config(&disconnected, &lab, None),
            Vec::<String>::new()
        );
        disconnected["proxy"] =
            serde_json::json!({"httpProxy": "proxy.lab:3128", "noProxy": "a, b", "ftp": "x"});
        disconnected["imageContentSources"] =
            serde_json::json!([{"source": "https://quay.io/x", "mirrors": []}]);
        disconnected["additionalTrustBundle"] = "/etc/pki/ca.pem".into();
        let all = check_install_config(&disconnected, &lab, None).join("\n");
        for want in [
            "proxy.httpProxy: \"proxy.lab:3128\" must be a URL",
            "proxy.noProxy: \"a, b\"",
            "proxy.ftp: unknown key",
            "imageContentSources[0].source: \"https://quay.io/x\"",
            "imageContentSources[0].mirrors: needs at least one",
            "additionalTrustBundle: must hold PEM certificates",
        ] {
            assert!(all.contains(want), "{want} not in:\n{all}");
        }
        let mut lab_clash = seed();
        lab_clash["networking"]["machineCIDR"] = "172.16.0.0/16".into();
        let p = check_install_config(&lab_clash, &lab, None).join("\n");
        assert!(
            p.contains("overlaps the lab's network provisioning (172.16.0.0/24)"),
            "{p}"
        );
    }

    #[test]
    fn progress_from_the_seeds_log_lines() {
        assert_eq!(
            progress("DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 98% complete"),
            Some(("4.2.4".into(), 98))
        );
        assert_eq!(
            progress("DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 99% complete"),
            Some(("4.2.4".into(), 99))
        );
        assert_eq!(progress("DEBUG Cluster is initialized"), None);
        assert_eq!(progress("INFO Install complete!"), None);
    }

    #[test]
    fn keepalived_and_haproxy_as_the_seed_shows_them() {
        let k = "vrrp_instance ocp4_API { state BACKUP interface ens3 virtual_router_id 29 priority 40 advert_int 1 authentication { auth_type PASS auth_pass ocp4_api_vip } virtual_ipaddress { 10.0.0.5/16 } track_script { chk_ocp } }\nvrrp_instance ocp4_DNS { virtual_ipaddress { 10.0.0.6/16 } }\nvrrp_instance ocp4_INGRESS { virtual_ipaddress { 10.0.0.7/16 } }";
        let v = keepalived_vips(k);
        assert_eq!(
            v,
            vec![
                ("ocp4_API".to_string(), "10.0.0.5/16".to_string()),
                ("ocp4_DNS".to_string(), "10.0.0.6/16".to_string()),
                ("ocp4_INGRESS".to_string(), "10.0.0.7/16".to_string())
            ]
        );
        let h = "defaults maxconn 20000 mode tcp log /var/run/haproxy/haproxy-log.sock local0 option dontlognull retries 3 timeout http-keep-alive 10s frontend main bind :7443 default_backend masters listen health_check_http_url bind :50936 mode http monitor-uri /healthz option dontlognull listen stats bind 127.0.0.1:50000 mode http stats enable backend masters option httpchk GET /healthz HTTP/1.0 option log-health-checks balance roundrobin server etcd-0.ocp4.osd2019.local. 10.0.0.11:6443 weight 1 verify none check check-ssl inter 3s fall 2 rise 3 server etcd-2.ocp4.osd2019.local. 10.0.0.18:6443 weight 1 verify none check check-ssl inter 3s fall 2 rise 3 server etcd-1.ocp4.osd2019.local. 10.0.0.26:6443 weight 1 verify none check check-ssl inter 3s fall 2 rise 3";
        let (servers, binds) = haproxy_backends(h);
        assert_eq!(binds, vec![":7443"]);
        let addrs: Vec<&str> = servers.iter().map(|s| s.2.as_str()).collect();
        assert_eq!(
            addrs,
            vec!["10.0.0.11:6443", "10.0.0.18:6443", "10.0.0.26:6443"]
        );
        assert!(servers.iter().all(|s| s.0 == "masters"));
    }

    #[test]
    fn cidr_overlaps() {
        assert!(overlaps("10.128.0.0/14", "10.130.0.0/16"));
        assert!(!overlaps("10.128.0.0/14", "10.0.0.0/16"));
        assert!(overlaps("0.0.0.0/0", "1.2.3.4/32"));
    }
}
