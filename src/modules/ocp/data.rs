//! The per-release data of OpenShift on OpenStack: releases.yaml beside this file (compiled in),
//! read into typed tables and checked against its own rules when first used (releases in order,
//! every fact starting at the oldest release, every release it names one of its own). What the
//! facts mean and how they apply is release.rs's.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// The data, as the file holds it.
pub(super) const DATA: &str = include_str!("releases.yaml");
/// Where the data is, for errors and for the docs.
pub const DATA_FILE: &str = "src/modules/ocp/releases.yaml";

/// A release of OpenShift: major and minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    /// "4.21" exactly (no patch).
    fn exact(s: &str) -> Option<Version> {
        let (a, b) = s.split_once('.')?;
        let num = |x: &str| {
            (!x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
                .then(|| x.parse().ok())
                .flatten()
        };
        Some(Version {
            major: num(a)?,
            minor: num(b)?,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Version;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a release in quotes, such as \"4.21\"")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Version, E> {
                Version::exact(s)
                    .ok_or_else(|| E::custom(format!("{s:?} is not a release such as \"4.21\"")))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Version, E> {
                Err(E::custom(format!(
                    "{n} is a number, not a release: quote it (\"4.20\" is a release, 4.20 the number 4.2)"
                )))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Version, E> {
                self.visit_f64(n as f64)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Version, E> {
                self.visit_f64(n as f64)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One step of a fact: its value from release `from` until the next step's.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Step<T> {
    pub from: Version,
    pub value: T,
    pub source: String,
}

/// A fact by release: the steps, the first of them the oldest release's (checked on load).
#[derive(Deserialize, Debug)]
#[serde(transparent)]
pub struct Steps<T> {
    pub steps: Vec<Step<T>>,
}

impl<T> Steps<T> {
    /// The step that holds for `v`.
    pub(super) fn step(&self, v: Version) -> Option<&Step<T>> {
        self.steps.iter().rev().find(|s| s.from <= v)
    }

    /// Every step from a known release, in order, and the first the oldest's.
    pub(super) fn check(&self, name: &str, t: &RawTable) -> Result<(), Error> {
        let oldest = t.releases.first().map(|r| r.version);
        if self.steps.first().map(|s| s.from) != oldest {
            return Err(Error::failed(format!(
                "facts.{name}: the first step must be from the oldest release ({})",
                oldest.map(|v| v.to_string()).unwrap_or_default()
            )));
        }
        for w in self.steps.windows(2) {
            if w[0].from >= w[1].from {
                return Err(Error::failed(format!(
                    "facts.{name}: the steps must be in order of release ({} comes after {})",
                    w[1].from, w[0].from
                )));
            }
        }
        for s in &self.steps {
            t.known(s.from, &format!("facts.{name}"))?;
        }
        Ok(())
    }
}

/// What the installer does with install-config keys it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownFields {
    Ignored,
    Error,
    Warning,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    ControlPlane,
    Compute,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMinimums {
    pub vcpus: i64,
    pub ram_mib: i64,
    pub disk_gb: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Minimums {
    pub(super) control_plane: RoleMinimums,
    pub(super) compute: RoleMinimums,
    pub(super) disk_warn_below_gb: Option<i64>,
}

/// The flavor minimums of one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FlavorMinimums {
    pub vcpus: i64,
    pub ram_mib: i64,
    pub disk_gb: i64,
    pub disk_warn_below_gb: Option<i64>,
}

/// The control-plane sizes the installer takes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum ControlPlane {
    AtLeast(i64),
    Sizes(Vec<i64>),
}

/// A quota the installer checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Quota {
    Cores,
    Ram,
    Instances,
    Ports,
    SecurityGroups,
    SecurityGroupRules,
    Networks,
    Subnets,
    Routers,
    ServerGroups,
    ServerGroupMembers,
}

/// A field the installer refuses unless a feature gate is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// The install-config path, dotted.
    pub field: String,
    /// The value that needs the gate; `None`: any value.
    #[serde(default)]
    pub equals: Option<String>,
    pub gate: String,
    /// The feature sets that turn the gate on.
    pub feature_sets: Vec<String>,
}

/// Two install-config fields the installer refuses together.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Together {
    /// The two install-config paths, dotted.
    pub fields: [String; 2],
    /// What the installer says.
    pub says: String,
    /// Both are taken when they name the same one subnet.
    #[serde(default)]
    pub same_subnet_allowed: bool,
}

/// What a provider network needs to be the machines' network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderNeeds {
    /// Shared with other projects (Nova requests the ports).
    pub shared: bool,
    /// Owned by the installing project.
    pub owned_by_project: bool,
    /// A route to the metadata address 169.254.169.254.
    pub metadata_route: bool,
    /// The API and ingress VIPs given.
    pub vips: bool,
}

/// Every fact, by release (releases.yaml `facts`).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FactTable {
    pub(super) unknown_fields: Steps<UnknownFields>,
    pub(super) machine_network: Steps<String>,
    pub(super) api_floating_ip: Steps<String>,
    pub(super) ingress_floating_ip: Steps<Option<String>>,
    pub(super) flavor_in_default_pool: Steps<bool>,
    pub(super) legacy_platform_fields: Steps<bool>,
    pub(super) cluster_os_image: Steps<bool>,
    pub(super) mirrors_field: Steps<String>,
    pub(super) refused_network_types: Steps<Vec<String>>,
    pub(super) default_network_type: Steps<String>,
    pub(super) control_plane: Steps<ControlPlane>,
    pub(super) max_cluster_name: Steps<Option<usize>>,
    pub(super) temp_url_key: Steps<bool>,
    pub(super) swiftoperator: Steps<bool>,
    pub(super) flavor_minimums: Steps<Option<Minimums>>,
    pub(super) checks_floating_ips: Steps<bool>,
    pub(super) floating_ips_differ: Steps<bool>,
    pub(super) checks_image: Steps<bool>,
    pub(super) quota: Steps<Vec<Quota>>,
    pub(super) credentials_modes: Steps<Option<Vec<String>>>,
    pub(super) feature_gates: Steps<Vec<Gate>>,
    pub(super) dns_records_need_user_managed_lb: Steps<bool>,
    pub(super) premade_machines_subnet: Steps<Option<String>>,
    pub(super) uuid_fields: Steps<Vec<String>>,
    pub(super) forbidden_together: Steps<Vec<Together>>,
    pub(super) checks_additional_ids_exist: Steps<bool>,
    pub(super) provider_machines_network: Steps<Option<ProviderNeeds>>,
    pub(super) vips_outside_pool: Steps<bool>,
    pub(super) quota_byon_drops_network: Steps<bool>,
}

/// A release labsh writes for.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct ReleaseEntry {
    pub(super) version: Version,
    pub(super) published: String,
    #[serde(default)]
    pub(super) notes: Option<String>,
}

/// A release in the installer's source that labsh does not write for, and why.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct Unpublished {
    pub(super) version: Version,
    pub(super) why: String,
}

/// Where a field sits in install-config.yaml.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The top level (types.InstallConfig, pkg/types/installconfig.go).
    TopLevel,
    /// `networking` (types.Networking, pkg/types/installconfig.go).
    Networking,
    /// `compute[]` and `controlPlane` (types.MachinePool, pkg/types/machinepools.go).
    MachinePool,
    /// `platform.openstack` (openstack.Platform, pkg/types/openstack/platform.go).
    OpenstackPlatform,
    /// a pool's `platform.openstack` and `defaultMachinePlatform` (openstack.MachinePool,
    /// pkg/types/openstack/machinepool.go).
    OpenstackMachinePool,
}

impl Section {
    #[cfg(test)]
    pub fn all() -> [Section; 5] {
        [
            Section::TopLevel,
            Section::Networking,
            Section::MachinePool,
            Section::OpenstackPlatform,
            Section::OpenstackMachinePool,
        ]
    }

    /// The fixture's and the data's name of the section.
    #[cfg(test)]
    pub fn key(&self) -> &'static str {
        match self {
            Section::TopLevel => "top_level",
            Section::Networking => "networking",
            Section::MachinePool => "machine_pool",
            Section::OpenstackPlatform => "openstack_platform",
            Section::OpenstackMachinePool => "openstack_machine_pool",
        }
    }
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct Deprecation {
    pub(super) from: Version,
    pub(super) instead: String,
    #[expect(dead_code, reason = "read by people: the deprecation's source")]
    pub(super) source: String,
}

/// A field and the releases that define it.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) since: Version,
    #[serde(default)]
    pub(super) until: Option<Version>,
    #[serde(default)]
    pub(super) deprecated: Option<Deprecation>,
    /// The values the installer takes, where it names them.
    #[serde(default)]
    pub(super) values: Option<Vec<String>>,
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "read by people: where the field's facts come from"
    )]
    pub(super) source: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct SectionFields {
    pub(super) section: Section,
    #[expect(
        dead_code,
        reason = "read by people: the type the section's fields are read from"
    )]
    pub(super) source: String,
    pub(super) fields: Vec<Field>,
}

/// What one OpenShift release's documentation says of the OpenStack releases it installs on.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Support {
    pub openshift: Version,
    /// The versions as the documentation names them ("16" is any 16.x).
    pub openstack: Vec<String>,
    pub document: String,
    pub says: String,
    #[serde(default)]
    pub notes: Option<String>,
}

impl Support {
    /// Whether the documentation names OpenStack `osp` ("17.1"; "16.2" is in "16").
    pub fn names(&self, osp: &str) -> bool {
        self.openstack.iter().any(|v| {
            v == osp
                || osp
                    .strip_prefix(v.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
    }

    /// The documented versions as words: "16.1 and 16.2".
    pub(super) fn words(&self) -> String {
        and_list(&self.openstack)
    }
}

/// The data file, as read.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    pub(super) releases: Vec<ReleaseEntry>,
    pub(super) unpublished: Vec<Unpublished>,
    pub(super) fields: Vec<SectionFields>,
    pub(super) facts: FactTable,
    pub(super) support: Vec<Support>,
}

impl FactTable {
    /// Each fact's steps as (its name, [(release, source)]), for the docs.
    pub(super) fn sources(&self) -> Vec<(&'static str, Vec<(Version, &str)>)> {
        macro_rules! each {
            ($($name:ident),*) => {
                vec![$((
                    stringify!($name),
                    self.$name.steps.iter().map(|s| (s.from, s.source.as_str())).collect(),
                )),*]
            };
        }
        each!(
            unknown_fields,
            machine_network,
            api_floating_ip,
            ingress_floating_ip,
            flavor_in_default_pool,
            legacy_platform_fields,
            cluster_os_image,
            mirrors_field,
            refused_network_types,
            default_network_type,
            control_plane,
            max_cluster_name,
            temp_url_key,
            swiftoperator,
            flavor_minimums,
            checks_floating_ips,
            floating_ips_differ,
            checks_image,
            quota,
            credentials_modes,
            feature_gates,
            dns_records_need_user_managed_lb,
            premade_machines_subnet,
            uuid_fields,
            forbidden_together,
            checks_additional_ids_exist,
            provider_machines_network,
            vips_outside_pool,
            quota_byon_drops_network
        )
    }
}

impl RawTable {
    /// `v` is a release of the table; else an error naming `at`.
    pub(super) fn known(&self, v: Version, at: &str) -> Result<(), Error> {
        if self.releases.iter().any(|r| r.version == v) {
            Ok(())
        } else {
            Err(Error::failed(format!("{at}: {v} is not one of `releases`")))
        }
    }

    /// Every rule of the file's own: releases in order, every release a fact or field names
    /// known, every fact starting at the oldest release, every support row a known release.
    pub(super) fn check(&self) -> Result<(), Error> {
        if self.releases.is_empty() {
            return Err(Error::failed("`releases` is empty"));
        }
        for w in self.releases.windows(2) {
            if w[0].version >= w[1].version {
                return Err(Error::failed(format!(
                    "releases: {} comes after {}: list them oldest first",
                    w[1].version, w[0].version
                )));
            }
        }
        let f = &self.facts;
        f.unknown_fields.check("unknown_fields", self)?;
        f.machine_network.check("machine_network", self)?;
        f.api_floating_ip.check("api_floating_ip", self)?;
        f.ingress_floating_ip.check("ingress_floating_ip", self)?;
        f.flavor_in_default_pool
            .check("flavor_in_default_pool", self)?;
        f.legacy_platform_fields
            .check("legacy_platform_fields", self)?;
        f.cluster_os_image.check("cluster_os_image", self)?;
        f.mirrors_field.check("mirrors_field", self)?;
        f.refused_network_types
            .check("refused_network_types", self)?;
        f.default_network_type.check("default_network_type", self)?;
        f.control_plane.check("control_plane", self)?;
        f.max_cluster_name.check("max_cluster_name", self)?;
        f.temp_url_key.check("temp_url_key", self)?;
        f.swiftoperator.check("swiftoperator", self)?;
        f.flavor_minimums.check("flavor_minimums", self)?;
        f.checks_floating_ips.check("checks_floating_ips", self)?;
        f.floating_ips_differ.check("floating_ips_differ", self)?;
        f.checks_image.check("checks_image", self)?;
        f.quota.check("quota", self)?;
        f.credentials_modes.check("credentials_modes", self)?;
        f.feature_gates.check("feature_gates", self)?;
        f.dns_records_need_user_managed_lb
            .check("dns_records_need_user_managed_lb", self)?;
        f.premade_machines_subnet
            .check("premade_machines_subnet", self)?;
        f.uuid_fields.check("uuid_fields", self)?;
        f.forbidden_together.check("forbidden_together", self)?;
        f.checks_additional_ids_exist
            .check("checks_additional_ids_exist", self)?;
        f.provider_machines_network
            .check("provider_machines_network", self)?;
        f.vips_outside_pool.check("vips_outside_pool", self)?;
        f.quota_byon_drops_network
            .check("quota_byon_drops_network", self)?;
        for s in &self.fields {
            for x in &s.fields {
                let at = format!("fields: {}", x.name);
                self.known(x.since, &at)?;
                if let Some(u) = x.until {
                    self.known(u, &at)?;
                    if u < x.since {
                        return Err(Error::failed(format!(
                            "{at}: until {u} is before since {}",
                            x.since
                        )));
                    }
                }
                if let Some(d) = &x.deprecated {
                    self.known(d.from, &at)?;
                }
            }
        }
        for s in &self.support {
            self.known(s.openshift, "support")?;
        }
        for u in &self.unpublished {
            if self.releases.iter().any(|r| r.version == u.version) {
                return Err(Error::failed(format!(
                    "unpublished: {} is also one of `releases`",
                    u.version
                )));
            }
        }
        Ok(())
    }
}

/// The table, read once. Process-wide: labsh's own embedded data, the same for every run.
/// labsh's own data: an error reading it is no user's (its unit tests rule it out), so failed.
pub(super) fn table() -> Result<&'static RawTable, Error> {
    static T: OnceLock<Result<RawTable, Error>> = OnceLock::new();
    T.get_or_init(|| {
        let v = crate::util::yaml::parse_yaml(DATA)
            .map_err(|e| e.with_kind(crate::error::Kind::Failed).context(DATA_FILE))?;
        let t: RawTable =
            serde_json::from_value(v).map_err(|e| Error::failed(format!("{DATA_FILE}: {e}")))?;
        t.check().map_err(|e| e.context(DATA_FILE))?;
        Ok(t)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// "a", "a and b", "a, b and c".
pub(super) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., last] => format!(
            "{} and {}",
            init.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_reads_and_keeps_its_own_rules() {
        let t = table().unwrap();
        assert_eq!(t.releases.first().unwrap().version.to_string(), "4.2");
        assert!(t.releases.len() >= 21);
        // A step out of order, a fact not starting at the oldest release, an unknown release
        // and a version YAML reads as a number are refused, naming where.
        let bad = |from: &str, to: &str| {
            let text = DATA.replacen(from, to, 1);
            assert_ne!(text, DATA, "{from}");
            let v = crate::util::yaml::parse_yaml(&text).unwrap();
            match serde_json::from_value::<RawTable>(v) {
                Ok(t) => t.check().unwrap_err().to_string(),
                Err(e) => e.to_string(),
            }
        };
        assert!(bad(
            "{from: \"4.3\", value: machineNetwork",
            "{from: \"4.2\", value: machineNetwork"
        )
        .contains("facts.machine_network: the steps must be in order"));
        assert!(bad(
            "{from: \"4.2\", value: machineCIDR",
            "{from: \"4.1\", value: machineCIDR"
        )
        .contains("facts.machine_network: the first step must be from the oldest release (4.2)"));
        assert!(bad(
            "{name: arbiter, since: \"4.19\"}",
            "{name: arbiter, since: \"4.99\"}"
        )
        .contains("fields: arbiter: 4.99 is not one of `releases`"));
        assert!(bad(
            "{name: arbiter, since: \"4.19\"}",
            "{name: arbiter, since: 4.19}"
        )
        .contains("4.19 is a number, not a release: quote it"));
    }
}
