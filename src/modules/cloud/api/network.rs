//! Neutron: networks, subnets, routers with their interfaces, floating IPs, ports, security
//! groups and their rules.

use super::spec::{
    FloatingIpSpec, NetworkSpec, PortFilter, PortSpec, RouterSpec, RuleSpec, SecurityGroupSpec,
    SubnetSpec,
};
use super::{q, sid, Api, Collection};
use crate::error::Error;
use crate::modules::cloud::client::Client;
use crate::modules::cloud::id::Id;
use crate::util::cidr::contains as cidr_contains;
use serde_json::{json, Value};
use ureq::http::Method;

const NETWORKS: Collection =
    Collection::new("network", "network", "/networks", "networks", "network");
const SUBNETS: Collection = Collection::new("network", "subnet", "/subnets", "subnets", "subnet");
const ROUTERS: Collection = Collection::new("network", "router", "/routers", "routers", "router");
const FLOATING_IPS: Collection = Collection::new(
    "network",
    "floating_ip",
    "/floatingips",
    "floatingips",
    "floatingip",
);
const PORTS: Collection = Collection::new("network", "port", "/ports", "ports", "port");
const SECURITY_GROUPS: Collection = Collection::new(
    "network",
    "security_group",
    "/security-groups",
    "security_groups",
    "security_group",
);

impl<'a> Api<'a> {
    pub fn network_find(&self, name: &Id) -> Result<Option<Value>, Error> {
        self.find_by_id_or_name(&NETWORKS, name, || Ok(String::new()))
    }

    /// The id of network `name`, reused from a lookup of the last seconds (the session keeps
    /// them, as for projects and users) or found; forgotten when a network is deleted.
    fn network_id(&self, name: &Id) -> Result<Id, Error> {
        if let Id::Real(text) = name {
            return self.id_by_name("network", text, || self.network_find(name));
        }
        match self.network_find(name)? {
            Some(n) => Ok(sid(&n)),
            None if self.fx.is_plan() => Ok(Id::planned("network", &name.to_string())),
            None => Err(Error::not_found(format!(
                "network '{name}' does not exist in cloud '{}'",
                self.conn.name()
            ))),
        }
    }

    fn project_field(
        &self,
        project: Option<&Id>,
        body: &mut Value,
        key: &str,
    ) -> Result<(), Error> {
        if let Some(p) = project {
            if let Id::Real(pid) = self.project_id(p)? {
                body[key]["project_id"] = json!(pid);
            }
        }
        Ok(())
    }

    pub fn network_ensure(&self, s: NetworkSpec) -> Result<Value, Error> {
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
                return Err(Error::refused(format!(
                    "network '{name}' exists and is not external; delete it or choose another name"
                )));
            }
            self.fx.unchanged(self.op("network.ensure", &name));
            return Ok(found);
        }
        let list_path = format!("/networks?name={}", q(&name));
        let shown = body["network"].clone();
        let op = self.op("network.create", &name).arg("spec", &shown);
        self.create_listed(op, &NETWORKS, &name, &list_path, body, shown.clone())
    }

    pub fn subnets_of(&self, network_id: &Id) -> Result<Vec<Value>, Error> {
        let Id::Real(network_id) = network_id else {
            return Ok(vec![]);
        };
        self.list(
            "network",
            &format!("/subnets?network_id={}", q(network_id)),
            "subnets",
        )
    }

    pub fn subnet_ensure(&self, spec: SubnetSpec) -> Result<Value, Error> {
        let SubnetSpec {
            name,
            network,
            cidr,
            gateway,
            dhcp,
            pools: wanted_pools,
            dns,
            host_routes,
            ip_version,
            project,
        } = spec;
        if cidr.parse::<std::net::Ipv4Addr>().is_ok() || !cidr.contains('/') {
            return Err(Error::invalid(format!(
                "subnet '{name}': cidr {cidr:?} must be an address/prefix such as 192.168.122.0/24"
            )));
        }
        let nid = self.network_id(&network)?;
        let mut body = json!({"subnet": {"name": name, "network_id": nid, "cidr": cidr,
            "ip_version": ip_version, "enable_dhcp": dhcp}});
        let s = &mut body["subnet"];
        if let Some(g) = gateway {
            if !cidr_contains(&cidr, &g) {
                return Err(Error::invalid(format!(
                    "subnet '{name}': gateway {g} is outside {cidr}"
                )));
            }
            s["gateway_ip"] = json!(g);
        }
        let mut pools = vec![];
        for (start, end) in wanted_pools {
            for a in [&start, &end] {
                if !cidr_contains(&cidr, a) {
                    return Err(Error::invalid(format!(
                        "subnet '{name}': pool address {a} is outside {cidr}"
                    )));
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
        let mut routes = vec![];
        for (dest, hop) in host_routes {
            if !cidr_contains(&cidr, &hop) {
                return Err(Error::invalid(format!(
                    "subnet '{name}': the next hop {hop} of the route to {dest} is outside {cidr}"
                )));
            }
            routes.push(json!({"destination": dest, "nexthop": hop}));
        }
        if !routes.is_empty() {
            s["host_routes"] = json!(routes);
        }
        self.project_field(project.as_ref(), &mut body, "subnet")?;
        if let Some(found) = self
            .subnets_of(&nid)?
            .into_iter()
            .find(|s| s["name"] == name.as_str())
        {
            if found["cidr"] != cidr.as_str() {
                return Err(Error::refused(format!("subnet '{name}' exists with cidr {} (wanted {cidr}); delete it or choose another name", found["cidr"])));
            }
            self.fx.unchanged(self.op("subnet.ensure", &name));
            return Ok(found);
        }
        let list_path = format!("/subnets?network_id={}&name={}", q(&nid), q(&name));
        let shown = body["subnet"].clone();
        let op = self.op("subnet.create", &name).arg("spec", &shown);
        self.create_listed(op, &SUBNETS, &name, &list_path, body, shown.clone())
    }

    pub fn router_ensure(&self, s: RouterSpec) -> Result<Value, Error> {
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
        let list_path = format!("/routers?name={}", q(&name));
        let existing = self.first_in(&ROUTERS, &list_path)?;
        let router = match existing {
            Some(r) => {
                self.fx.unchanged(self.op("router.ensure", &name));
                r
            }
            None => {
                let op = self
                    .op("router.create", &name)
                    .arg("external_network", &ext);
                self.create_listed(op, &ROUTERS, &name, &list_path, body, json!({}))?
            }
        };
        let rid = sid(&router);
        // The subnets the router has an interface on, read once (none for a router still to be
        // made); each interface added joins them.
        let mut on: Vec<Value> = if rid.is_planned() {
            vec![]
        } else {
            self.list("network", &format!("/ports?device_id={}", q(&rid)), "ports")?
                .iter()
                .flat_map(|p| p["fixed_ips"].as_array().cloned().unwrap_or_default())
                .map(|f| f["subnet_id"].clone())
                .collect()
        };
        for sname in s.subnets {
            let target = format!("{name} → {sname}");
            let subs = self.list(
                "network",
                &format!("/subnets?name={}", q(&sname)),
                "subnets",
            )?;
            if subs.iter().any(|sub| on.contains(&sub["id"])) {
                self.fx.unchanged(self.op("router.interface", &target));
                continue;
            }
            let sid_ = match subs.first() {
                Some(s) => sid(s),
                None if self.fx.is_plan() => Id::planned("subnet", &sname),
                None => {
                    return Err(Error::not_found(format!(
                        "router '{name}': subnet '{sname}' does not exist"
                    )))
                }
            };
            self.send(
                self.op("router.interface", &target),
                Method::PUT,
                "network",
                &format!("/routers/{rid}/add_router_interface"),
                Some(json!({"subnet_id": sid_})),
            )?;
            if let Some(sub) = subs.first() {
                on.push(sub["id"].clone());
            }
        }
        Ok(router)
    }

    pub fn floating_ip_ensure(&self, s: FloatingIpSpec) -> Result<Value, Error> {
        let FloatingIpSpec {
            network: net,
            address: addr,
            project,
            description: desc,
        } = s;
        if addr.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(Error::invalid(format!(
                "floating IP: address {addr:?} is not an IPv4 address"
            )));
        }
        let nid = self.network_id(&net)?;
        let subnets = self.subnets_of(&nid)?;
        if !subnets.is_empty()
            && !subnets
                .iter()
                .any(|s| cidr_contains(s["cidr"].as_str().unwrap_or_default(), &addr))
        {
            let cidrs: Vec<&str> = subnets.iter().filter_map(|s| s["cidr"].as_str()).collect();
            return Err(Error::invalid(format!(
                "floating IP {addr} is outside the subnets of network '{net}' ({}); choose an address inside them",
                cidrs.join(", ")
            )));
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
            self.first_in(&FLOATING_IPS, &lookup)?
        };
        if let Some(f) = found {
            if let Some(Id::Real(p)) = &pid {
                if f["project_id"] != p.as_str() {
                    return Err(Error::conflict(format!(
                        "floating IP {addr} already belongs to project {}; release it there or choose another address",
                        f["project_id"].as_str().unwrap_or("?")
                    )));
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
        let op = self
            .op("floating_ip.create", &addr)
            .arg("network", &net)
            .arg("project", &project);
        let planned =
            json!({"floating_ip_address": addr, "floating_network_id": nid, "port_id": null});
        self.create_listed(op, &FLOATING_IPS, &addr, &lookup, body, planned)
    }

    pub fn floating_ip_find(&self, addr: &str) -> Result<Option<Value>, Error> {
        self.first_in(
            &FLOATING_IPS,
            &format!("/floatingips?floating_ip_address={}", q(addr)),
        )
    }

    pub fn floating_ip_associate(&self, addr: &str, port: &Id) -> Result<Value, Error> {
        let fip = self.floating_ip_find(addr)?;
        let p = self.port_find(port)?;
        let target = format!("{addr} → {port}");
        let (fip, p) = match (fip, p) {
            (Some(f), Some(p)) => (f, p),
            _ if self.fx.is_plan() => {
                return self.update(
                    self.op("floating_ip.associate", &target),
                    |_| Ok(Value::Null),
                    json!({"floating_ip_address": addr, "port_id": Id::planned("port", &port.to_string())}),
                )
            }
            (None, _) => {
                return Err(Error::not_found(format!(
                "floating IP {addr} does not exist; create it first (cloud::floating_ip_ensure)"
            )))
            }
            (_, None) => return Err(Error::not_found(format!("port '{port}' does not exist"))),
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
                let body = json!({"floatingip": {"port_id": pid}});
                let path = format!("/floatingips/{fid}");
                Ok(c.request(Method::PUT, "network", &path, Some(&body))?["floatingip"].clone())
            },
            json!({"floating_ip_address": addr, "port_id": pid}),
        )?;
        Ok(if r.is_null() { fip } else { r })
    }

    pub fn floating_ip_delete(&self, addr: &str) -> Result<bool, Error> {
        let found = self.floating_ip_find(addr)?;
        self.delete_found("floating_ip", addr, found, "network", |id| {
            format!("/floatingips/{id}")
        })
    }

    /// Deletes the network `name` (its subnets go with it); `false` when there is none.
    pub fn network_delete(&self, name: &str) -> Result<bool, Error> {
        let found = self.network_find(&Id::parse(name))?;
        let gone = self.delete_found("network", name, found, "network", |id| {
            format!("/networks/{id}")
        })?;
        if let (true, Some(c)) = (gone, self.live()) {
            c.forget_ids("network:");
        }
        Ok(gone)
    }

    /// Deletes the router `name`, its subnets' interfaces first; `false` when there is none.
    pub fn router_delete(&self, name: &str) -> Result<bool, Error> {
        let found = self.first_in(&ROUTERS, &format!("/routers?name={}", q(name)))?;
        if let Some(r) = &found {
            let rid = sid(r);
            let ports = self.list(
                "network",
                &format!(
                    "/ports?device_id={}&device_owner=network:router_interface",
                    q(rid.to_string())
                ),
                "ports",
            )?;
            for p in ports {
                let pid = p["id"].as_str().unwrap_or_default().to_string();
                self.send(
                    self.op("router.interface_remove", &format!("{name} port {pid}")),
                    Method::PUT,
                    "network",
                    &format!("/routers/{rid}/remove_router_interface"),
                    Some(json!({"port_id": pid})),
                )?;
            }
        }
        self.delete_found("router", name, found, "network", |id| {
            format!("/routers/{id}")
        })
    }

    /// Deletes the security group `name` (of `project` when given); `false` when there is none.
    pub fn security_group_delete(&self, name: &str, project: Option<&Id>) -> Result<bool, Error> {
        let found = self.security_group_find(name, project)?;
        self.delete_found("security_group", name, found, "network", |id| {
            format!("/security-groups/{id}")
        })
    }

    pub fn port_find(&self, port: &Id) -> Result<Option<Value>, Error> {
        self.find_by_id_or_name(&PORTS, port, || Ok(String::new()))
    }

    pub fn ports(&self, f: PortFilter) -> Result<Vec<Value>, Error> {
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

    pub fn port_create(&self, s: PortSpec) -> Result<Value, Error> {
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
        let list_path = format!("/ports?name={}&network_id={}", q(&name), q(&nid));
        if let Some(p) = self.first_in(&PORTS, &list_path)? {
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
        let op = self.op("port.create", &name);
        let port =
            self.create_listed(op, &PORTS, &name, &list_path, body, json!({"tags": tags}))?;
        let id = sid(&port);
        if !tags.is_empty() && !id.is_planned() {
            self.send(
                self.op("port.tags", &name).arg("tags", &tags),
                Method::PUT,
                "network",
                &format!("/ports/{id}/tags"),
                Some(json!({"tags": tags})),
            )?;
            return self.port_find(&id).map(|p| p.unwrap_or(port));
        }
        Ok(port)
    }

    /// A security group by name or id, of `project` when given; `None` when there is none (or
    /// the project is only planned).
    pub fn security_group_find(
        &self,
        name: &str,
        project: Option<&Id>,
    ) -> Result<Option<Value>, Error> {
        let pid = match project {
            Some(p) => Some(self.project_id(p)?),
            None => None,
        };
        if pid.as_ref().is_some_and(Id::is_planned) || Id::parse(name).is_planned() {
            return Ok(None);
        }
        let looks_like_id =
            name.len() == 36 && name.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if looks_like_id {
            let by_id = format!("/security-groups?id={}", q(name));
            if let Some(g) = self.first_in(&SECURITY_GROUPS, &by_id)? {
                return Ok(Some(g));
            }
        }
        let mut path = format!("/security-groups?name={}", q(name));
        if let Some(Id::Real(p)) = &pid {
            path.push_str(&format!("&project_id={}", q(p)));
        }
        self.first_in(&SECURITY_GROUPS, &path)
    }

    pub fn security_group_ensure(&self, s: SecurityGroupSpec) -> Result<Value, Error> {
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
            self.first_in(&SECURITY_GROUPS, &path)?
        };
        if let Some(g) = found {
            self.fx.unchanged(self.op("security_group.ensure", &name));
            return Ok(g);
        }
        let mut body = json!({"security_group": {"name": name, "description": s.description.unwrap_or_default()}});
        if let Some(Id::Real(p)) = &pid {
            body["security_group"]["project_id"] = json!(p);
        }
        let op = self.op("security_group.create", &name);
        let planned = json!({"security_group_rules": []});
        self.create_listed(op, &SECURITY_GROUPS, &name, &path, body, planned)
    }

    pub fn security_group_rule_ensure(&self, s: RuleSpec) -> Result<Value, Error> {
        let group = s.group;
        let g = self.first_in(
            &SECURITY_GROUPS,
            &format!("/security-groups?name={}", q(&group)),
        )?;
        let gid = match &g {
            Some(g) => sid(g),
            None if self.fx.is_plan() => Id::planned("security_group", &group),
            None => {
                return Err(Error::not_found(format!(
                    "security group '{group}' does not exist"
                )))
            }
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
        let find = |c: &Client| -> Result<Option<Value>, Error> {
            let rules = c.list(
                "network",
                &format!("/security-group-rules?security_group_id={}", q(&gid)),
                "security_group_rules",
            )?;
            Ok(rules.into_iter().find(|r| matches(r)))
        };
        let post = |c: &Client| {
            c.post(
                "network",
                "/security-group-rules",
                &body,
                "security_group_rule",
            )
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
}
