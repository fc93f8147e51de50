//! The option maps of the `cloud` bindings read into the specs of `api`: every key checked
//! (unknown ones named, with the nearest known one), every value converted once, so the API
//! layer never sees a Rhai type.

use super::api;
use super::id::Id;
use crate::effects::secret::Secret;
use crate::error::Error;
use crate::modules::opts::{type_name, Opts};
use rhai::Map;

pub(super) fn opts<'a>(func: &'a str, m: Map, known: &[&str]) -> Result<Opts<'a>, Error> {
    Opts::new(func, m, known)
}

/// A list option as text (each item as `to_string` writes it).
pub(super) fn texts(o: &Opts, key: &str) -> Result<Vec<String>, Error> {
    Ok(o.array(key)?.iter().map(|t| t.to_string()).collect())
}

/// An option naming an object by name or id (a planned id is read back as one).
pub(super) fn id_opt(o: &Opts, key: &str) -> Result<Option<Id>, Error> {
    Ok(o.str(key)?.as_deref().map(Id::parse))
}

pub(super) fn id_req(o: &Opts, key: &str) -> Result<Id, Error> {
    Ok(Id::parse(&o.req_str(key)?))
}

pub(super) fn project_spec(m: Map) -> Result<api::ProjectSpec, Error> {
    let o = opts(
        "cloud::project_ensure",
        m,
        &["name", "domain", "description", "tags"],
    )?;
    Ok(api::ProjectSpec {
        name: o.req_str("name")?,
        domain: o.str("domain")?,
        description: o.str("description")?,
        tags: texts(&o, "tags")?,
    })
}

pub(super) fn user_spec(m: Map) -> Result<api::UserSpec, Error> {
    let o = opts(
        "cloud::user_ensure",
        m,
        &[
            "name",
            "password",
            "domain",
            "project",
            "email",
            "description",
        ],
    )?;
    let password = match o.value("password") {
        Some(v) => v.read_lock::<Secret>().map(|s| s.clone()).ok_or_else(|| {
            format!(
                "cloud::user_ensure: 'password' must be a secret (secret(\"name\")), not {}",
                type_name(v)
            )
        })?,
        None => return Err("cloud::user_ensure: 'password' is required (a secret)".into()),
    };
    Ok(api::UserSpec {
        name: o.req_str("name")?,
        password,
        domain: o.str("domain")?,
        description: o.str("description")?,
        email: o.str("email")?,
        project: id_opt(&o, "project")?,
    })
}

pub(super) fn flavor_spec(m: Map) -> Result<api::FlavorSpec, Error> {
    let o = opts(
        "cloud::flavor_ensure",
        m,
        &[
            "name",
            "ram",
            "vcpus",
            "disk",
            "ephemeral",
            "swap",
            "public",
            "description",
        ],
    )?;
    Ok(api::FlavorSpec {
        name: o.req_str("name")?,
        ram: o.req_int("ram", 1..=i64::from(i32::MAX), "MiB")?,
        vcpus: o.req_int("vcpus", 1..=4096, "vCPUs")?,
        disk: o.int("disk")?.unwrap_or(0),
        ephemeral: o.int("ephemeral")?.unwrap_or(0),
        swap: o.int("swap")?.unwrap_or(0),
        public: o.bool("public", true)?,
        description: o.str("description")?,
    })
}

pub(super) fn network_spec(m: Map) -> Result<api::NetworkSpec, Error> {
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

pub(super) fn subnet_spec(m: Map) -> Result<api::SubnetSpec, Error> {
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
            "host_routes",
            "ip_version",
            "project",
        ],
    )?;
    let mut host_routes = vec![];
    for r in o.array("host_routes")? {
        let m = r
            .read_lock::<Map>()
            .map(|m| m.clone())
            .ok_or("subnet: each host route must be #{destination, nexthop}")?;
        let text = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
        host_routes.push((text("destination"), text("nexthop")));
    }
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
        host_routes,
        ip_version: o.int("ip_version")?.unwrap_or(4),
        project: id_opt(&o, "project")?,
    })
}

pub(super) fn router_spec(m: Map) -> Result<api::RouterSpec, Error> {
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

pub(super) fn floating_ip_spec(m: Map) -> Result<api::FloatingIpSpec, Error> {
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

pub(super) fn port_filter(m: Map) -> Result<api::PortFilter, Error> {
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

pub(super) fn port_spec(m: Map) -> Result<api::PortSpec, Error> {
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

pub(super) fn security_group_spec(m: Map) -> Result<api::SecurityGroupSpec, Error> {
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

pub(super) fn rule_spec(m: Map) -> Result<api::RuleSpec, Error> {
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

pub(super) fn image_spec(m: Map) -> Result<api::ImageSpec, Error> {
    let o = opts(
        "cloud::image_ensure",
        m,
        &[
            "name",
            "file",
            "disk_format",
            "container_format",
            "visibility",
            "tags",
            "project",
        ],
    )?;
    Ok(api::ImageSpec {
        name: o.req_str("name")?,
        file: o.req_str("file")?,
        disk_format: o.str("disk_format")?,
        container_format: o.str("container_format")?,
        visibility: o.str("visibility")?,
        tags: texts(&o, "tags")?,
        project: id_opt(&o, "project")?,
    })
}
