//! `cloud` functions for Neutron: networks, subnets, routers, floating IPs, ports, security
//! groups and their rules.

use super::id::Id;
use super::{api, id_opt, id_req, opts, texts, with_api, Res};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

fn network_spec(m: Map) -> Result<api::NetworkSpec, String> {
    let o = opts(
        "cloud::network_ensure",
        m,
        &[
            "name",
            "external",
            "shared",
            "type",
            "physical_network",
            "segmentation_id",
            "mtu",
            "project",
            "description",
        ],
    )?;
    Ok(api::NetworkSpec {
        name: o.req_str("name")?,
        external: o.bool("external", false)?,
        shared: o.bool("shared", false)?,
        network_type: o.str("type")?,
        physical_network: o.str("physical_network")?,
        segmentation_id: o.int("segmentation_id")?,
        mtu: o.int("mtu")?,
        description: o.str("description")?,
        project: id_opt(&o, "project")?,
    })
}

fn subnet_spec(m: Map) -> Result<api::SubnetSpec, String> {
    let o = opts(
        "cloud::subnet_ensure",
        m,
        &[
            "name",
            "network",
            "cidr",
            "gateway",
            "dhcp",
            "pools",
            "dns",
            "ip_version",
            "project",
        ],
    )?;
    let mut pools = vec![];
    for p in o.array("pools")? {
        let m = p
            .read_lock::<Map>()
            .map(|m| m.clone())
            .ok_or("subnet: each pool must be #{start, end}")?;
        let text = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
        pools.push((text("start"), text("end")));
    }
    Ok(api::SubnetSpec {
        name: o.req_str("name")?,
        network: id_req(&o, "network")?,
        cidr: o.req_str("cidr")?,
        gateway: o.str("gateway")?,
        dhcp: o.bool("dhcp", true)?,
        pools,
        dns: texts(&o, "dns")?,
        ip_version: o.int("ip_version")?.unwrap_or(4),
        project: id_opt(&o, "project")?,
    })
}

fn router_spec(m: Map) -> Result<api::RouterSpec, String> {
    let o = opts(
        "cloud::router_ensure",
        m,
        &["name", "external_network", "subnets", "project"],
    )?;
    Ok(api::RouterSpec {
        name: o.req_str("name")?,
        external_network: id_opt(&o, "external_network")?,
        subnets: texts(&o, "subnets")?,
        project: id_opt(&o, "project")?,
    })
}

fn floating_ip_spec(m: Map) -> Result<api::FloatingIpSpec, String> {
    let o = opts(
        "cloud::floating_ip_ensure",
        m,
        &["network", "address", "project", "description"],
    )?;
    Ok(api::FloatingIpSpec {
        network: id_req(&o, "network")?,
        address: o.req_str("address")?,
        project: id_opt(&o, "project")?,
        description: o.str("description")?,
    })
}

fn port_filter(m: Map) -> Result<api::PortFilter, String> {
    let o = opts(
        "cloud::ports",
        m,
        &[
            "name",
            "name_suffix",
            "tags",
            "device_owner",
            "network",
            "project",
        ],
    )?;
    Ok(api::PortFilter {
        name: o.str("name")?,
        name_suffix: o.str("name_suffix")?,
        tags: texts(&o, "tags")?,
        device_owner: o.str("device_owner")?,
        network: id_opt(&o, "network")?,
        project: id_opt(&o, "project")?,
    })
}

fn port_spec(m: Map) -> Result<api::PortSpec, String> {
    let o = opts(
        "cloud::port_ensure",
        m,
        &[
            "name",
            "network",
            "fixed_ip",
            "tags",
            "allowed_address_pairs",
            "device_owner",
            "project",
        ],
    )?;
    Ok(api::PortSpec {
        name: o.req_str("name")?,
        network: id_req(&o, "network")?,
        fixed_ip: o.str("fixed_ip")?,
        tags: texts(&o, "tags")?,
        allowed_address_pairs: texts(&o, "allowed_address_pairs")?,
        device_owner: o.str("device_owner")?,
        project: id_opt(&o, "project")?,
    })
}

fn security_group_spec(m: Map) -> Result<api::SecurityGroupSpec, String> {
    let o = opts(
        "cloud::security_group_ensure",
        m,
        &["name", "description", "project"],
    )?;
    Ok(api::SecurityGroupSpec {
        name: o.req_str("name")?,
        description: o.str("description")?,
        project: id_opt(&o, "project")?,
    })
}

fn rule_spec(m: Map) -> Result<api::RuleSpec, String> {
    let o = opts(
        "cloud::security_group_rule_ensure",
        m,
        &[
            "group",
            "direction",
            "ethertype",
            "protocol",
            "port_min",
            "port_max",
            "remote_ip_prefix",
        ],
    )?;
    Ok(api::RuleSpec {
        group: o.req_str("group")?,
        direction: o.str("direction")?,
        ethertype: o.str("ethertype")?,
        protocol: o.str("protocol")?,
        port_min: o.int("port_min")?,
        port_max: o.int("port_max")?,
        remote_ip_prefix: o.str("remote_ip_prefix")?,
    })
}

#[export_module]
pub mod network_fns {

    /// Ensures a network: `#{name, external, shared, type (flat, vlan, vxlan), physical_network,
    /// segmentation_id, mtu, project, description}`.
    ///
    /// ```rhai
    /// let n = cloud::network_ensure("devcloud", #{name: "example-net"});
    /// assert(n.name == "example-net");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.network_ensure(super::network_spec(spec)?)
        })
    }

    /// A network by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::network_show("devcloud", "external").name == "external");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_show(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.network_find(&Id::parse(name)))
    }

    /// Ensures a subnet: `#{name, network, cidr, gateway, dhcp (true), pools: [#{start, end}],
    /// dns: [..], ip_version, project}`. Addresses outside the CIDR are refused.
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// let s = cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// assert(s.name == "example-subnet");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn subnet_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.subnet_ensure(super::subnet_spec(spec)?))
    }

    /// Ensures a router: `#{name, external_network, subnets: [names], project}`; interfaces on
    /// the subnets are added when missing.
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// let r = cloud::router_ensure("devcloud", #{name: "example-router", external_network: "external", subnets: ["example-subnet"]});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn router_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.router_ensure(super::router_spec(spec)?))
    }

    /// Ensures a floating IP with a fixed address: `#{network, address, project, description}`.
    /// One that already holds the address is reused; an address outside the network's subnets,
    /// or held by another project, is an error.
    ///
    /// ```rhai
    /// let f = cloud::floating_ip_ensure("devcloud", #{network: "external", address: "192.168.122.201"});
    /// assert(f.floating_ip_address == "192.168.122.201");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.floating_ip_ensure(super::floating_ip_spec(spec)?)
        })
    }

    /// Attaches a floating IP (by address) to a port (by name or id).
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// cloud::router_ensure("devcloud", #{name: "example-router", external_network: "external", subnets: ["example-subnet"]});
    /// cloud::port_ensure("devcloud", #{name: "example-port", network: "example-net"});
    /// cloud::floating_ip_ensure("devcloud", #{network: "external", address: "192.168.122.202"});
    /// let f = cloud::floating_ip_associate("devcloud", "192.168.122.202", "example-port");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_associate(
        ctx: NativeCallContext,
        cloud: Dynamic,
        address: &str,
        port: &str,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.floating_ip_associate(address, &Id::parse(port))
        })
    }

    /// A floating IP by address, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::floating_ip_show("devcloud", "192.168.122.99") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_show(ctx: NativeCallContext, cloud: Dynamic, address: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.floating_ip_find(address))
    }

    /// Releases a floating IP by address; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::floating_ip_delete("devcloud", "192.168.122.98");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn floating_ip_delete(ctx: NativeCallContext, cloud: Dynamic, address: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.floating_ip_delete(address))
    }

    /// Ports filtered by `#{name, name_suffix, tags: [..], device_owner, network, project}`
    /// (each port with its `allowed_address_pairs`, `status`, `fixed_ips`, `tags`).
    ///
    /// ```rhai
    /// let ingress = cloud::ports("devcloud", #{name_suffix: "-ingress-port"});
    /// print(ingress.len());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ports(ctx: NativeCallContext, cloud: Dynamic, filter: Map) -> Res<Array> {
        super::with_api(&ctx, &cloud, |a| a.ports(super::port_filter(filter)?))
    }

    /// A port by name or id, or `()`.
    ///
    /// ```rhai
    /// assert(cloud::port_show("devcloud", "no-such-port") == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn port_show(ctx: NativeCallContext, cloud: Dynamic, port: &str) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.port_find(&Id::parse(port)))
    }

    /// Ensures a port by name on a network: `#{name, network, fixed_ip, tags, allowed_address_pairs:
    /// [addresses], device_owner, project}`.
    ///
    /// ```rhai
    /// cloud::network_ensure("devcloud", #{name: "example-net"});
    /// cloud::subnet_ensure("devcloud", #{name: "example-subnet", network: "example-net", cidr: "10.10.0.0/24"});
    /// let p = cloud::port_ensure("devcloud", #{name: "example-vip-port", network: "example-net", tags: ["example=1"]});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn port_ensure(ctx: NativeCallContext, cloud: Dynamic, spec: Map) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| a.port_create(super::port_spec(spec)?))
    }

    /// Ensures a security group: `#{name, description, project}`.
    ///
    /// ```rhai
    /// let g = cloud::security_group_ensure("devcloud", #{name: "example-sg"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn security_group_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        spec: Map,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.security_group_ensure(super::security_group_spec(spec)?)
        })
    }

    /// Ensures a rule in a security group: `#{group, direction ("ingress"), ethertype ("IPv4"),
    /// protocol, port_min, port_max, remote_ip_prefix}`.
    ///
    /// ```rhai
    /// cloud::security_group_ensure("devcloud", #{name: "example-sg"});
    /// cloud::security_group_rule_ensure("devcloud", #{group: "example-sg", protocol: "tcp", port_min: 6443, remote_ip_prefix: "0.0.0.0/0"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn security_group_rule_ensure(
        ctx: NativeCallContext,
        cloud: Dynamic,
        spec: Map,
    ) -> Res<Dynamic> {
        super::with_api(&ctx, &cloud, |a| {
            a.security_group_rule_ensure(super::rule_spec(spec)?)
        })
    }
}
