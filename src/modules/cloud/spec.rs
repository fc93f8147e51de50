//! The option maps of the `cloud` bindings: each function's options one typed spec
//! ([`option_spec!`]), read once (unknown keys refused with the nearest known one, wrong types
//! named), then turned into the specs of `api`, so the API layer never sees a Rhai type. The
//! maps that are the user's data (a quota's limits, an account's metadata) are not specs: their
//! keys are open.

use super::api;
use super::id::Id;
use crate::error::Error;
use crate::modules::opts::{
    in_range, one_of, option_spec, OptArg, OptField, OptMap, OptSecret, OptionSpec, RhaiType,
};
use rhai::{Dynamic, Map};

/// A word of a list option (a tag, a DNS server, a subnet): a string, or a number or bool as
/// text.
#[derive(Clone, Debug)]
pub(super) struct Text(pub String);

impl RhaiType for Text {
    fn name() -> String {
        "string".into()
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text, E> {
                Ok(Text(s.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Text, E> {
                Ok(Text(n.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Text, E> {
                Ok(Text(n.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Text, E> {
                Ok(Text(Dynamic::from_float(n).to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Text, E> {
                Ok(Text(b.to_string()))
            }
            fn visit_char<E: serde::de::Error>(self, c: char) -> Result<Text, E> {
                Ok(Text(c.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

fn texts(v: Vec<Text>) -> Vec<String> {
    v.into_iter().map(|t| t.0).collect()
}

/// An option naming an object by name or id (a planned id is read back as one).
fn id_opt(v: Option<String>) -> Option<Id> {
    v.as_deref().map(Id::parse)
}

one_of!(
    /// `verify`, `insecure`: true or false, or as clouds.yaml writes them ("yes", "0").
    Flag,
    "bool or string"
);
one_of!(
    /// `api_timeout`: seconds, a number or its text.
    Timeout,
    "number or string"
);
one_of!(
    /// `planned`: the credentials are only planned (a plan takes the cloud as offline), and why.
    Planned,
    "bool or string"
);

option_spec! {
    /// A cloud given as a map (`cloud::connect`): a clouds.yaml entry by name, an openrc, or the
    /// connection itself as clouds.yaml's `auth:` and top-level keys would have it.
    pub(super) struct ConnectOpts {
        /// The cloud's name in clouds.yaml (or of the connection given inline).
        cloud: Option<String>,
        /// The clouds.yaml to read instead of the usual places.
        clouds_yaml: Option<String>,
        /// An openrc file (as overcloudrc) to read the connection from.
        openrc: Option<String>,
        /// Keystone's URL: the connection is given inline, by the keys below.
        auth_url: Option<OptArg>,
        /// The user's name.
        username: Option<OptArg>,
        /// The user's id.
        user_id: Option<OptArg>,
        /// The password (a secret).
        password: Option<OptArg>,
        /// The project to scope to, by name.
        project_name: Option<OptArg>,
        /// The project to scope to, by id.
        project_id: Option<OptArg>,
        /// The user's domain, by name.
        user_domain_name: Option<OptArg>,
        /// The user's domain, by id.
        user_domain_id: Option<OptArg>,
        /// The project's domain, by name.
        project_domain_name: Option<OptArg>,
        /// The project's domain, by id.
        project_domain_id: Option<OptArg>,
        /// The domain to scope to (or the users' and projects'), by name.
        domain_name: Option<OptArg>,
        /// The domain to scope to (or the users' and projects'), by id.
        domain_id: Option<OptArg>,
        /// The whole deployment ("all") as the scope.
        system_scope: Option<OptArg>,
        /// An application credential's id.
        application_credential_id: Option<OptArg>,
        /// An application credential's name.
        application_credential_name: Option<OptArg>,
        /// An application credential's secret (a secret).
        application_credential_secret: Option<OptArg>,
        /// The region (RegionOne).
        region_name: Option<OptArg>,
        /// The endpoints to use: public, internal or admin.
        interface: Option<OptArg>,
        /// The CA file to verify TLS against.
        cacert: Option<OptArg>,
        /// Do not verify TLS certificates.
        insecure: Flag,
        /// Verify TLS certificates (true).
        verify: Flag,
        /// Seconds to wait for an answer (60).
        api_timeout: Timeout,
        /// The credentials are only planned: a plan takes the cloud as offline (a string says why).
        planned: Planned,
    }
}

/// [`ConnectOpts`] read from a cloud given as a map.
pub(super) fn connect_opts(m: Map) -> Result<ConnectOpts, Error> {
    ConnectOpts::read("cloud::connect", m)
}

impl ConnectOpts {
    /// The connection given inline as the clouds.yaml entry it stands for: `auth:` and the
    /// top-level keys (a secret's value in it, for the client to authenticate with).
    pub(super) fn entry(&self) -> serde_json::Value {
        use serde_json::{Map as JsonMap, Value};
        let text = |v: &Option<OptArg>| v.as_ref().map(|a| Value::String(a.0.expose().to_string()));
        let auth: JsonMap<String, Value> = [
            ("auth_url", &self.auth_url),
            ("username", &self.username),
            ("user_id", &self.user_id),
            ("password", &self.password),
            ("project_name", &self.project_name),
            ("project_id", &self.project_id),
            ("user_domain_name", &self.user_domain_name),
            ("user_domain_id", &self.user_domain_id),
            ("project_domain_name", &self.project_domain_name),
            ("project_domain_id", &self.project_domain_id),
            ("domain_name", &self.domain_name),
            ("domain_id", &self.domain_id),
            ("system_scope", &self.system_scope),
            ("application_credential_id", &self.application_credential_id),
            (
                "application_credential_name",
                &self.application_credential_name,
            ),
            (
                "application_credential_secret",
                &self.application_credential_secret,
            ),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), text(v)?)))
        .collect();
        let mut top: JsonMap<String, Value> = [
            ("region_name", &self.region_name),
            ("interface", &self.interface),
            ("cacert", &self.cacert),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), text(v)?)))
        .collect();
        for (k, v) in [
            ("insecure", &self.insecure.0),
            ("verify", &self.verify.0),
            ("api_timeout", &self.api_timeout.0),
        ] {
            if !v.is_unit() {
                top.insert(k.into(), crate::engine::value::to_json(v));
            }
        }
        top.insert("auth".into(), Value::Object(auth));
        Value::Object(top)
    }
}

option_spec! {
    /// `cloud::project_ensure`.
    pub(super) struct ProjectOpts {
        /// The project's name.
        name: String,
        /// Its domain ("Default").
        domain: Option<String>,
        /// Its description (updated when it differs).
        description: Option<String>,
        /// Its tags.
        tags: Vec<Text>,
    }
}

option_spec! {
    /// `cloud::user_ensure`.
    pub(super) struct UserOpts {
        /// The user's name.
        name: String,
        /// The password (a secret: `secret("name")`).
        password: OptSecret,
        /// Its domain ("Default").
        domain: Option<String>,
        /// Its default project, by name or id.
        project: Option<String>,
        /// Its email address.
        email: Option<String>,
        /// Its description.
        description: Option<String>,
    }
}

option_spec! {
    /// `cloud::role_grant`, `cloud::role_revoke`.
    pub(super) struct RoleOpts {
        /// The user, by name or id.
        user: String,
        /// The project, by name or id.
        project: String,
        /// The role's name.
        role: String,
    }
}

option_spec! {
    /// `cloud::role_assignments`' filter.
    pub(super) struct RoleFilter {
        /// Only this user's (name or id).
        user: Option<String>,
        /// Only on this project (name or id).
        project: Option<String>,
    }
}

option_spec! {
    /// `cloud::servers`' filter.
    pub(super) struct ServersFilter {
        /// Every project's servers (false: the session's project's).
        all_projects: Option<bool>,
        /// Only servers of this name.
        name: Option<String>,
    }
}

option_spec! {
    /// `cloud::flavor_ensure`.
    pub(super) struct FlavorOpts {
        /// The flavor's name.
        name: String,
        /// Memory, MiB.
        ram: i64,
        /// Virtual CPUs.
        vcpus: i64,
        /// Root disk, GB (0).
        disk: Option<i64>,
        /// Ephemeral disk, GB (0).
        ephemeral: Option<i64>,
        /// Swap, MiB (0).
        swap: Option<i64>,
        /// Whether every project may use it (true).
        public: Option<bool>,
        /// Its description.
        description: Option<String>,
    }
}

option_spec! {
    /// `cloud::network_ensure`.
    pub(super) struct NetworkOpts {
        /// The network's name.
        name: String,
        /// Whether it is an external (provider) network for routers' gateways (false).
        external: Option<bool>,
        /// Whether every project may use it (false).
        shared: Option<bool>,
        /// The provider network type: flat, vlan, vxlan, ...
        r#type: Option<String>,
        /// The provider's physical network.
        physical_network: Option<String>,
        /// The VLAN or VNI.
        segmentation_id: Option<i64>,
        /// The MTU.
        mtu: Option<i64>,
        /// The project that owns it (name or id).
        project: Option<String>,
        /// Its description.
        description: Option<String>,
    }
}

option_spec! {
    /// `cloud::subnet_ensure`.
    pub(super) struct SubnetOpts {
        /// The subnet's name.
        name: String,
        /// Its network (name or id).
        network: String,
        /// Its CIDR.
        cidr: String,
        /// The gateway's address.
        gateway: Option<String>,
        /// Whether DHCP is on (true).
        dhcp: Option<bool>,
        /// Allocation pools: `[#{start, end}]`.
        pools: Vec<OptMap>,
        /// DNS servers.
        dns: Vec<Text>,
        /// Host routes: `[#{destination, nexthop}]`.
        host_routes: Vec<OptMap>,
        /// 4 or 6 (4).
        ip_version: Option<i64>,
        /// The project that owns it (name or id).
        project: Option<String>,
    }
}

option_spec! {
    /// `cloud::router_ensure`.
    pub(super) struct RouterOpts {
        /// The router's name.
        name: String,
        /// The network of its external gateway (name or id).
        external_network: Option<String>,
        /// The subnets it is attached to (names or ids).
        subnets: Vec<Text>,
        /// The project that owns it (name or id).
        project: Option<String>,
    }
}

option_spec! {
    /// `cloud::floating_ip_ensure`.
    pub(super) struct FloatingIpOpts {
        /// The external network (name or id).
        network: String,
        /// The address.
        address: String,
        /// The project that owns it (name or id).
        project: Option<String>,
        /// Its description.
        description: Option<String>,
    }
}

option_spec! {
    /// `cloud::ports`' filter.
    pub(super) struct PortFilterOpts {
        /// Ports of this name.
        name: Option<String>,
        /// Ports whose name ends so.
        name_suffix: Option<String>,
        /// Ports with every one of these tags.
        tags: Vec<Text>,
        /// Ports of this device owner.
        device_owner: Option<String>,
        /// Ports on this network (name or id).
        network: Option<String>,
        /// Ports of this project (name or id).
        project: Option<String>,
    }
}

option_spec! {
    /// `cloud::port_ensure`.
    pub(super) struct PortOpts {
        /// The port's name.
        name: String,
        /// Its network (name or id).
        network: String,
        /// Its fixed address.
        fixed_ip: Option<String>,
        /// Its tags.
        tags: Vec<Text>,
        /// Addresses (or CIDRs) allowed besides its own.
        allowed_address_pairs: Vec<Text>,
        /// Its device owner.
        device_owner: Option<String>,
        /// The project that owns it (name or id).
        project: Option<String>,
    }
}

option_spec! {
    /// `cloud::security_group_ensure`.
    pub(super) struct SecurityGroupOpts {
        /// The group's name.
        name: String,
        /// Its description.
        description: Option<String>,
        /// The project that owns it (name or id).
        project: Option<String>,
    }
}

option_spec! {
    /// `cloud::security_group_rule_ensure`.
    pub(super) struct RuleOpts {
        /// The security group (name or id).
        group: String,
        /// ingress or egress (ingress).
        direction: Option<String>,
        /// IPv4 or IPv6 (IPv4).
        ethertype: Option<String>,
        /// tcp, udp, icmp, ... (any).
        protocol: Option<String>,
        /// The first port.
        port_min: Option<i64>,
        /// The last port.
        port_max: Option<i64>,
        /// The remote CIDR.
        remote_ip_prefix: Option<String>,
    }
}

option_spec! {
    /// `cloud::image_ensure`.
    pub(super) struct ImageOpts {
        /// The image's name.
        name: String,
        /// The image file to upload.
        file: String,
        /// qcow2, raw, ... (from the file).
        disk_format: Option<String>,
        /// bare, ... (bare).
        container_format: Option<String>,
        /// public, private, shared or community.
        visibility: Option<String>,
        /// Its tags.
        tags: Vec<Text>,
        /// The project that owns it (name or id).
        project: Option<String>,
    }
}

/// The options of the `cloud` module's functions (`cloud::connect`'s for a cloud given as a map).
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("connect", ConnectOpts::FIELDS),
    ("project_ensure", ProjectOpts::FIELDS),
    ("user_ensure", UserOpts::FIELDS),
    ("role_grant", RoleOpts::FIELDS),
    ("role_revoke", RoleOpts::FIELDS),
    ("role_assignments", RoleFilter::FIELDS),
    ("servers", ServersFilter::FIELDS),
    ("flavor_ensure", FlavorOpts::FIELDS),
    ("network_ensure", NetworkOpts::FIELDS),
    ("subnet_ensure", SubnetOpts::FIELDS),
    ("router_ensure", RouterOpts::FIELDS),
    ("floating_ip_ensure", FloatingIpOpts::FIELDS),
    ("ports", PortFilterOpts::FIELDS),
    ("port_ensure", PortOpts::FIELDS),
    ("security_group_ensure", SecurityGroupOpts::FIELDS),
    ("security_group_rule_ensure", RuleOpts::FIELDS),
    ("image_ensure", ImageOpts::FIELDS),
];

pub(super) fn project_spec(m: Map) -> Result<api::ProjectSpec, Error> {
    let o = ProjectOpts::read("cloud::project_ensure", m)?;
    Ok(api::ProjectSpec {
        name: o.name,
        domain: o.domain,
        description: o.description,
        tags: texts(o.tags),
    })
}

pub(super) fn user_spec(m: Map) -> Result<api::UserSpec, Error> {
    let o = UserOpts::read("cloud::user_ensure", m)?;
    Ok(api::UserSpec {
        name: o.name,
        password: o.password.0,
        domain: o.domain,
        description: o.description,
        email: o.email,
        project: id_opt(o.project),
    })
}

/// The user, project and role of a grant or revocation (`func`).
pub(super) fn role_spec(func: &str, m: Map) -> Result<(Id, Id, String), Error> {
    let o = RoleOpts::read(func, m)?;
    Ok((Id::parse(&o.user), Id::parse(&o.project), o.role))
}

/// The user and project `cloud::role_assignments` is filtered by.
pub(super) fn role_filter(m: Map) -> Result<(Option<Id>, Option<Id>), Error> {
    let o = RoleFilter::read("cloud::role_assignments", m)?;
    Ok((id_opt(o.user), id_opt(o.project)))
}

/// Whether `cloud::servers` lists every project's, and the name it is filtered by.
pub(super) fn servers_filter(m: Map) -> Result<(bool, Option<String>), Error> {
    let o = ServersFilter::read("cloud::servers", m)?;
    Ok((o.all_projects.unwrap_or(false), o.name))
}

pub(super) fn flavor_spec(m: Map) -> Result<api::FlavorSpec, Error> {
    let func = "cloud::flavor_ensure";
    let o = FlavorOpts::read(func, m)?;
    Ok(api::FlavorSpec {
        name: o.name,
        ram: in_range(func, "ram", o.ram, 1..=i64::from(i32::MAX), "MiB")?,
        vcpus: in_range(func, "vcpus", o.vcpus, 1..=4096, "vCPUs")?,
        disk: o.disk.unwrap_or(0),
        ephemeral: o.ephemeral.unwrap_or(0),
        swap: o.swap.unwrap_or(0),
        public: o.public.unwrap_or(true),
        description: o.description,
    })
}

pub(super) fn network_spec(m: Map) -> Result<api::NetworkSpec, Error> {
    let o = NetworkOpts::read("cloud::network_ensure", m)?;
    Ok(api::NetworkSpec {
        name: o.name,
        external: o.external.unwrap_or(false),
        shared: o.shared.unwrap_or(false),
        network_type: o.r#type,
        physical_network: o.physical_network,
        segmentation_id: o.segmentation_id,
        mtu: o.mtu,
        description: o.description,
        project: id_opt(o.project),
    })
}

/// The `a` and `b` entries of each map, as text ("" when missing).
fn pairs(list: Vec<OptMap>, a: &str, b: &str) -> Vec<(String, String)> {
    list.into_iter()
        .map(|OptMap(m)| {
            let text = |k: &str| m.get(k).map(|v| v.to_string()).unwrap_or_default();
            (text(a), text(b))
        })
        .collect()
}

pub(super) fn subnet_spec(m: Map) -> Result<api::SubnetSpec, Error> {
    let o = SubnetOpts::read("cloud::subnet_ensure", m)?;
    Ok(api::SubnetSpec {
        name: o.name,
        network: Id::parse(&o.network),
        cidr: o.cidr,
        gateway: o.gateway,
        dhcp: o.dhcp.unwrap_or(true),
        pools: pairs(o.pools, "start", "end"),
        dns: texts(o.dns),
        host_routes: pairs(o.host_routes, "destination", "nexthop"),
        ip_version: o.ip_version.unwrap_or(4),
        project: id_opt(o.project),
    })
}

pub(super) fn router_spec(m: Map) -> Result<api::RouterSpec, Error> {
    let o = RouterOpts::read("cloud::router_ensure", m)?;
    Ok(api::RouterSpec {
        name: o.name,
        external_network: id_opt(o.external_network),
        subnets: texts(o.subnets),
        project: id_opt(o.project),
    })
}

pub(super) fn floating_ip_spec(m: Map) -> Result<api::FloatingIpSpec, Error> {
    let o = FloatingIpOpts::read("cloud::floating_ip_ensure", m)?;
    Ok(api::FloatingIpSpec {
        network: Id::parse(&o.network),
        address: o.address,
        project: id_opt(o.project),
        description: o.description,
    })
}

pub(super) fn port_filter(m: Map) -> Result<api::PortFilter, Error> {
    let o = PortFilterOpts::read("cloud::ports", m)?;
    Ok(api::PortFilter {
        name: o.name,
        name_suffix: o.name_suffix,
        tags: texts(o.tags),
        device_owner: o.device_owner,
        network: id_opt(o.network),
        project: id_opt(o.project),
    })
}

pub(super) fn port_spec(m: Map) -> Result<api::PortSpec, Error> {
    let o = PortOpts::read("cloud::port_ensure", m)?;
    Ok(api::PortSpec {
        name: o.name,
        network: Id::parse(&o.network),
        fixed_ip: o.fixed_ip,
        tags: texts(o.tags),
        allowed_address_pairs: texts(o.allowed_address_pairs),
        device_owner: o.device_owner,
        project: id_opt(o.project),
    })
}

pub(super) fn security_group_spec(m: Map) -> Result<api::SecurityGroupSpec, Error> {
    let o = SecurityGroupOpts::read("cloud::security_group_ensure", m)?;
    Ok(api::SecurityGroupSpec {
        name: o.name,
        description: o.description,
        project: id_opt(o.project),
    })
}

pub(super) fn rule_spec(m: Map) -> Result<api::RuleSpec, Error> {
    let o = RuleOpts::read("cloud::security_group_rule_ensure", m)?;
    Ok(api::RuleSpec {
        group: o.group,
        direction: o.direction,
        ethertype: o.ethertype,
        protocol: o.protocol,
        port_min: o.port_min,
        port_max: o.port_max,
        remote_ip_prefix: o.remote_ip_prefix,
    })
}

pub(super) fn image_spec(m: Map) -> Result<api::ImageSpec, Error> {
    let o = ImageOpts::read("cloud::image_ensure", m)?;
    Ok(api::ImageSpec {
        name: o.name,
        file: o.file,
        disk_format: o.disk_format,
        container_format: o.container_format,
        visibility: o.visibility,
        tags: texts(o.tags),
        project: id_opt(o.project),
    })
}
