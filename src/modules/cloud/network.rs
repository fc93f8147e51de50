//! `cloud` functions for Neutron: networks, subnets, routers, floating IPs, ports, security
//! groups and their rules.

use super::id::Id;
use super::spec::{
    floating_ip_spec, network_spec, port_filter, port_spec, router_spec, rule_spec,
    security_group_spec, subnet_spec,
};
use super::{with_api, Res};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

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
    /// dns: [..], host_routes: [#{destination, nexthop}], ip_version, project}`. Addresses
    /// outside the CIDR are refused.
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

    /// A security group by name (or id), or `()`; `project` (a name or id, or "") keeps to that
    /// project's groups.
    ///
    /// ```rhai
    /// cloud::security_group_ensure("devcloud", #{name: "example-sg"});
    /// assert(cloud::security_group_show("devcloud", "example-sg", "").name == "example-sg");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn security_group_show(
        ctx: NativeCallContext,
        cloud: Dynamic,
        name: &str,
        project: &str,
    ) -> Res<Dynamic> {
        let project = (!project.is_empty()).then(|| Id::parse(project));
        super::with_api(&ctx, &cloud, |a| {
            a.security_group_find(name, project.as_ref())
        })
    }

    /// Deletes the network `name` with its subnets; `false` when there was none.
    ///
    /// ```rhai
    /// cloud::network_delete("devcloud", "example-no-network");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.network_delete(name))
    }

    /// Deletes the router `name`, removing its subnets' interfaces first; `false` when there
    /// was none.
    ///
    /// ```rhai
    /// cloud::router_delete("devcloud", "example-no-router");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn router_delete(ctx: NativeCallContext, cloud: Dynamic, name: &str) -> Res<bool> {
        super::with_api(&ctx, &cloud, |a| a.router_delete(name))
    }

    /// Deletes the security group `name` (of `project`, a name or id, when not ""); `false`
    /// when there was none.
    ///
    /// ```rhai
    /// cloud::security_group_delete("devcloud", "example-no-sg", "");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn security_group_delete(
        ctx: NativeCallContext,
        cloud: Dynamic,
        name: &str,
        project: &str,
    ) -> Res<bool> {
        let project = (!project.is_empty()).then(|| Id::parse(project));
        super::with_api(&ctx, &cloud, |a| {
            a.security_group_delete(name, project.as_ref())
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
