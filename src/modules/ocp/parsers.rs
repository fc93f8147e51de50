//! What the installer and the cluster print, read back: the installer's progress lines, and the
//! keepalived and haproxy configurations of the networking deep dive.

use crate::util::cidr::parse_cidr;
use std::net::Ipv4Addr;

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
