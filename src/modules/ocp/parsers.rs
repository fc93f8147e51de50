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

#[cfg(test)]
mod tests {
    use super::*;

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
}
