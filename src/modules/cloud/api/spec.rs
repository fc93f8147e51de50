//! The typed specs the ensure operations take, one per kind of object: what the bindings'
//! option maps are read into (`cloud/spec.rs`), never a Rhai type.

use crate::effects::secret::Secret;
use crate::modules::cloud::id::Id;

/// A flavor to ensure: sizes in MiB (ram) and GB (disk, ephemeral), swap in MiB.
pub struct FlavorSpec {
    pub name: String,
    pub ram: i64,
    pub vcpus: i64,
    pub disk: i64,
    pub ephemeral: i64,
    pub swap: i64,
    pub public: bool,
    pub description: Option<String>,
}

/// A project to ensure.
pub struct ProjectSpec {
    pub name: String,
    pub domain: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
}

/// A user to ensure.
pub struct UserSpec {
    pub name: String,
    pub password: Secret,
    pub domain: Option<String>,
    /// The default project, by name or id.
    pub project: Option<Id>,
    pub email: Option<String>,
    pub description: Option<String>,
}

/// An image to ensure from a local file: qcow2 and bare unless given.
pub struct ImageSpec {
    pub name: String,
    pub file: String,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub visibility: Option<String>,
    pub tags: Vec<String>,
    /// The project that owns it, by name or id.
    pub project: Option<Id>,
}

/// A network to ensure.
pub struct NetworkSpec {
    pub name: String,
    pub external: bool,
    pub shared: bool,
    /// flat, vlan, vxlan...
    pub network_type: Option<String>,
    pub physical_network: Option<String>,
    pub segmentation_id: Option<i64>,
    pub mtu: Option<i64>,
    pub description: Option<String>,
    pub project: Option<Id>,
}

/// A subnet to ensure.
pub struct SubnetSpec {
    pub name: String,
    pub network: Id,
    pub cidr: String,
    pub gateway: Option<String>,
    pub dhcp: bool,
    /// Allocation pools as (start, end).
    pub pools: Vec<(String, String)>,
    pub dns: Vec<String>,
    /// Host routes as (destination CIDR, next hop).
    pub host_routes: Vec<(String, String)>,
    pub ip_version: i64,
    pub project: Option<Id>,
}

/// A router to ensure, with interfaces on subnets (by name).
pub struct RouterSpec {
    pub name: String,
    pub external_network: Option<Id>,
    pub subnets: Vec<String>,
    pub project: Option<Id>,
}

/// A floating IP with a fixed address.
pub struct FloatingIpSpec {
    pub network: Id,
    pub address: String,
    pub project: Option<Id>,
    pub description: Option<String>,
}

/// Which ports to list.
pub struct PortFilter {
    pub name: Option<String>,
    pub name_suffix: Option<String>,
    pub tags: Vec<String>,
    pub device_owner: Option<String>,
    pub network: Option<Id>,
    pub project: Option<Id>,
}

/// A port to ensure, by name on a network.
pub struct PortSpec {
    pub name: String,
    pub network: Id,
    pub fixed_ip: Option<String>,
    pub tags: Vec<String>,
    pub allowed_address_pairs: Vec<String>,
    pub device_owner: Option<String>,
    pub project: Option<Id>,
}

/// A security group to ensure.
pub struct SecurityGroupSpec {
    pub name: String,
    pub description: Option<String>,
    pub project: Option<Id>,
}

/// A rule of a security group (by name): ingress and IPv4 unless given; `port_max` is
/// `port_min` unless given.
pub struct RuleSpec {
    pub group: String,
    pub direction: Option<String>,
    pub ethertype: Option<String>,
    pub protocol: Option<String>,
    pub port_min: Option<i64>,
    pub port_max: Option<i64>,
    pub remote_ip_prefix: Option<String>,
}
