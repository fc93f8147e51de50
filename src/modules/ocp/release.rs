//! OpenShift on OpenStack release by release: which install-config fields each release defines,
//! how it renames and refuses them, what it needs of the tenant, the checks it runs against the
//! cloud before it builds anything, and which OpenStack releases its documentation names.
//!
//! The facts are data, in releases.yaml beside this file (compiled in), each with its source; this
//! file reads them and holds the logic that applies them, so a new release is an entry there and
//! no code here. The field table is tested against tests/data/ocp/installer-schema.json, the
//! installer's own types read at each release's commit (tools/ocp-installer-fields.py).

use super::data::{and_list, table, ControlPlane, Field, Quota, RawTable};
pub use super::data::{
    FlavorMinimums, Gate, ProviderNeeds, Role, Section, Support, Together, UnknownFields, Version,
    DATA_FILE,
};
use crate::error::Error;
use serde::Serialize;
use std::fmt;

/// The node-level network options as the quota counts them.
#[derive(Clone, Copy, Debug, Default)]
pub struct NetworkShape {
    /// The control plane pool's additional networks.
    pub control_plane_networks: i64,
    /// The compute pool's additional networks.
    pub compute_networks: i64,
    /// The machines on a pre-made subnet (machinesSubnet, controlPlanePort).
    pub premade_subnet: bool,
}

/// One release of OpenShift labsh writes for, with its facts.
#[derive(Clone, Copy)]
pub struct Release {
    pub version: Version,
    t: &'static RawTable,
}

impl fmt::Debug for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Release({})", self.version)
    }
}

impl PartialEq for Release {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
    }
}

/// A fact's value for a release.
macro_rules! fact {
    ($r:expr, $name:ident) => {
        $r.t.facts.$name.step($r.version).map(|s| &s.value)
    };
}

impl Release {
    /// `4.18`, `4.18.3`, `4.2.4` or `4.16.0-rc.2`; a release labsh does not write for is an
    /// error that names the oldest and the newest it does (and why a newer one in the
    /// installer's source is not among them).
    pub fn parse(version: &str) -> Result<Release, Error> {
        let t = table()?;
        let v = version.trim();
        let core = v.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        let num = |s: &str| s.parse::<u32>().ok().filter(|_| !s.is_empty());
        let malformed = || {
            Error::invalid(format!(
                "{} is not an OpenShift version such as \"4.18\" or \"4.18.3\"",
                crate::util::shown(version)
            ))
        };
        let (Some(major), Some(minor)) = (
            parts.first().and_then(|s| num(s)),
            parts.get(1).and_then(|s| num(s)),
        ) else {
            return Err(malformed());
        };
        if parts.len() > 3 || parts.get(2).is_some_and(|s| num(s).is_none()) {
            return Err(malformed());
        }
        let want = Version { major, minor };
        if t.releases.iter().any(|r| r.version == want) {
            return Ok(Release { version: want, t });
        }
        let (oldest, newest) = match (t.releases.first(), t.releases.last()) {
            (Some(o), Some(n)) => (o.version, n.version),
            _ => return Err(Error::failed(format!("{DATA_FILE}: `releases` is empty"))),
        };
        let why = t
            .unpublished
            .iter()
            .find(|u| u.version == want)
            .map(|u| {
                format!(
                    "; {want} is in the installer's source but not published ({})",
                    one_line(&u.why)
                )
            })
            .unwrap_or_default();
        Err(Error::invalid(format!(
            "OpenShift {want} is not one labsh writes for: the releases are {oldest} to {newest}, the newest {newest}{why}"
        )))
    }

    pub fn name(&self) -> String {
        self.version.to_string()
    }

    /// The oldest release: the article's.
    fn is_oldest(&self) -> bool {
        self.t.releases.first().map(|r| r.version) == Some(self.version)
    }

    /// What the installer does with install-config keys it does not know.
    pub fn unknown_fields(&self) -> UnknownFields {
        fact!(self, unknown_fields)
            .copied()
            .unwrap_or(UnknownFields::Warning)
    }

    /// The machine network's field: `machineCIDR` or `machineNetwork`.
    pub fn machine_network_field(&self) -> &'static str {
        fact!(self, machine_network).map_or("machineNetwork", |s| s.as_str())
    }

    /// The API floating IP's field: `lbFloatingIP` or `apiFloatingIP`.
    pub fn api_fip_field(&self) -> &'static str {
        fact!(self, api_floating_ip).map_or("apiFloatingIP", |s| s.as_str())
    }

    /// The ingress floating IP the installer attaches itself, or `None`: attached to the
    /// `<infraID>-ingress-port` after the install.
    pub fn ingress_fip_field(&self) -> Option<&'static str> {
        fact!(self, ingress_floating_ip).and_then(|s| s.as_deref())
    }

    /// The flavor of every machine in `defaultMachinePlatform.type` (else `computeFlavor`).
    pub fn flavor_in_default_pool(&self) -> bool {
        fact!(self, flavor_in_default_pool).copied().unwrap_or(true)
    }

    /// `octaviaSupport`, `trunkSupport` and `region` read by the release.
    pub fn legacy_platform_fields(&self) -> bool {
        fact!(self, legacy_platform_fields)
            .copied()
            .unwrap_or(false)
    }

    /// `platform.openstack.clusterOSImage` (else the image named `rhcos`).
    pub fn cluster_os_image_field(&self) -> bool {
        fact!(self, cluster_os_image).copied().unwrap_or(true)
    }

    /// The mirrors of a disconnected install.
    pub fn mirrors_field(&self) -> &'static str {
        fact!(self, mirrors_field).map_or("imageDigestSources", |s| s.as_str())
    }

    /// The network types the installer refuses.
    pub fn refused_network_types(&self) -> Vec<&'static str> {
        fact!(self, refused_network_types)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The network type when none is given.
    pub fn default_network_type(&self) -> &'static str {
        fact!(self, default_network_type).map_or("OVNKubernetes", |s| s.as_str())
    }

    /// Whether the installer takes a control plane of `n` on OpenStack.
    pub fn masters_allowed(&self, n: i64) -> bool {
        match fact!(self, control_plane) {
            Some(ControlPlane::AtLeast(m)) => n >= *m,
            Some(ControlPlane::Sizes(s)) => s.contains(&n),
            None => false,
        }
    }

    /// The control-plane sizes as words, for errors: "1 or more", "exactly 3", "1 or 3".
    pub fn masters_words(&self) -> String {
        match fact!(self, control_plane) {
            Some(ControlPlane::AtLeast(m)) => format!("{m} or more"),
            Some(ControlPlane::Sizes(s)) if s.len() == 1 => format!("exactly {}", s[0]),
            Some(ControlPlane::Sizes(s)) => {
                let words: Vec<String> = s.iter().map(|n| n.to_string()).collect();
                let (init, last) = words.split_at(words.len() - 1);
                format!("{} or {}", init.join(", "), last.join(""))
            }
            None => "none".into(),
        }
    }

    /// The longest cluster name on OpenStack, when the release limits it.
    pub fn max_cluster_name(&self) -> Option<usize> {
        fact!(self, max_cluster_name).copied().flatten()
    }

    /// The tenant's Swift account needs a Temp-URL-Key (the bootstrap Ignition's temp URL).
    pub fn needs_temp_url_key(&self) -> bool {
        fact!(self, temp_url_key).copied().unwrap_or(false)
    }

    /// The tenant user needs the `swiftoperator` role for the installer's own Swift objects.
    pub fn needs_swiftoperator(&self) -> bool {
        fact!(self, swiftoperator).copied().unwrap_or(false)
    }

    /// The flavor minimums of a role, when the release checks them.
    pub fn flavor_minimums(&self, role: Role) -> Option<FlavorMinimums> {
        let m = fact!(self, flavor_minimums).copied().flatten()?;
        let r = match role {
            Role::ControlPlane => m.control_plane,
            Role::Compute => m.compute,
        };
        Some(FlavorMinimums {
            vcpus: r.vcpus,
            ram_mib: r.ram_mib,
            disk_gb: r.disk_gb,
            disk_warn_below_gb: m.disk_warn_below_gb,
        })
    }

    /// The floating IP checks: each given address exists, is DOWN and needs externalNetwork.
    pub fn checks_floating_ips(&self) -> bool {
        fact!(self, checks_floating_ips).copied().unwrap_or(false)
    }

    /// The API and ingress floating IPs must differ.
    pub fn floating_ips_differ(&self) -> bool {
        fact!(self, floating_ips_differ).copied().unwrap_or(false)
    }

    /// clusterOSImage, when it names a Glance image, exists and is active.
    pub fn checks_image(&self) -> bool {
        fact!(self, checks_image).copied().unwrap_or(false)
    }

    /// The credentials modes the installer takes on OpenStack, the first its default; `None`:
    /// it refuses `credentialsMode` on OpenStack.
    pub fn credentials_modes(&self) -> Option<&'static [String]> {
        fact!(self, credentials_modes).and_then(|m| m.as_deref())
    }

    /// The fields the installer refuses unless a feature gate is on.
    pub fn feature_gates(&self) -> &'static [Gate] {
        fact!(self, feature_gates).map_or(&[], |g| g.as_slice())
    }

    /// `dnsRecordsType: External` only with `loadBalancer.type: UserManaged`.
    pub fn dns_records_need_user_managed_lb(&self) -> bool {
        fact!(self, dns_records_need_user_managed_lb)
            .copied()
            .unwrap_or(false)
    }

    /// The field naming the machines' own subnet made before the install (`machinesSubnet`,
    /// then `controlPlanePort`), or `None` where the installer always makes it.
    pub fn premade_machines_subnet(&self) -> Option<&'static str> {
        fact!(self, premade_machines_subnet).and_then(|s| s.as_deref())
    }

    /// The install-config fields that must hold version-4 UUIDs ("pools.X": every pool's).
    pub fn uuid_fields(&self) -> &'static [String] {
        fact!(self, uuid_fields).map_or(&[], |v| v.as_slice())
    }

    /// The pairs of fields the installer refuses together.
    pub fn forbidden_together(&self) -> &'static [Together] {
        fact!(self, forbidden_together).map_or(&[], |v| v.as_slice())
    }

    /// The installer asks the cloud whether the pools' additional networks and security groups
    /// exist.
    pub fn checks_additional_ids_exist(&self) -> bool {
        fact!(self, checks_additional_ids_exist)
            .copied()
            .unwrap_or(false)
    }

    /// What a provider network needs to be the machines' network, or `None` where the release
    /// documents none.
    pub fn provider_machines_network(&self) -> Option<ProviderNeeds> {
        fact!(self, provider_machines_network).copied().flatten()
    }

    /// The API and ingress VIPs must be outside the pre-made subnet's allocation pools.
    pub fn vips_outside_pool(&self) -> bool {
        fact!(self, vips_outside_pool).copied().unwrap_or(false)
    }

    /// The VIP fields of the release: `Some(("apiVIPs", "ingressVIPs"))` (lists, 4.12),
    /// `Some(("apiVIP", "ingressVIP"))` (4.5), `None` before.
    pub fn vip_fields(&self) -> Option<(&'static str, &'static str)> {
        if self.defines(Section::OpenstackPlatform, "apiVIPs") {
            Some(("apiVIPs", "ingressVIPs"))
        } else if self.defines(Section::OpenstackPlatform, "apiVIP") {
            Some(("apiVIP", "ingressVIP"))
        } else {
            None
        }
    }

    /// The quota the installer checks, computed as it does (pkg/asset/quota/openstack/openstack.go)
    /// for one machine network and one compute MachineSet.
    pub fn quota(
        &self,
        masters: i64,
        workers: i64,
        vcpus: i64,
        ram_mib: i64,
    ) -> Vec<(String, i64)> {
        self.quota_with(masters, workers, vcpus, ram_mib, &NetworkShape::default())
    }

    /// [`Release::quota`] with the node-level network options: each machine has a port on each
    /// additional network of its pool, and a pre-made machines subnet drops the network, subnet
    /// and router the installer would make (where the release counts so).
    pub fn quota_with(
        &self,
        masters: i64,
        workers: i64,
        vcpus: i64,
        ram_mib: i64,
        shape: &NetworkShape,
    ) -> Vec<(String, i64)> {
        // Masters are counted one by one, workers by their MachineSets' replicas; the bootstrap
        // node is not counted. One MachineSet per failure domain (one without zones), made even
        // with 0 replicas (pkg/asset/machines/openstack/machinesets.go).
        let machine_sets = 1;
        let byon = shape.premade_subnet
            && fact!(self, quota_byon_drops_network)
                .copied()
                .unwrap_or(false);
        let keys = fact!(self, quota).map(|q| q.as_slice()).unwrap_or(&[]);
        keys.iter()
            .filter(|k| !(byon && matches!(k, Quota::Networks | Quota::Subnets | Quota::Routers)))
            .map(|k| match k {
                Quota::Cores => ("cores", (masters + workers) * vcpus),
                Quota::Ram => ("ram", (masters + workers) * ram_mib),
                // Control-plane machines plus the number of worker MachineSets, as coded.
                Quota::Instances => ("instances", masters + machine_sets),
                // 4 = router gateway, API, ingress and bootstrap ports; one per machine on each
                // network it is on (the machine network and its pool's additional ones).
                Quota::Ports => (
                    "ports",
                    4 + masters * (1 + shape.control_plane_networks)
                        + workers * (1 + shape.compute_networks),
                ),
                Quota::SecurityGroups => ("security_groups", 2),
                Quota::SecurityGroupRules => ("security_group_rules", 56),
                Quota::Networks => ("networks", 1),
                Quota::Subnets => ("subnets", 1),
                Quota::Routers => ("routers", 1),
                Quota::ServerGroups => ("server_groups", 2),
                Quota::ServerGroupMembers => ("server_group_members", masters + machine_sets),
            })
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// What this release's documentation says of the OpenStack releases it installs on.
    pub fn support(&self) -> Option<&'static Support> {
        self.t.support.iter().find(|s| s.openshift == self.version)
    }

    /// Why OpenShift on OpenStack `osp` ("17.1") is not documented, naming the document; `None`
    /// when it is.
    pub fn undocumented_on(&self, osp: &str) -> Option<String> {
        let name = self.name();
        let Some(s) = self.support() else {
            return Some(format!(
                "OpenShift {name} has no row in the support table of {DATA_FILE}"
            ));
        };
        if s.names(osp) {
            return None;
        }
        Some(if s.openstack.is_empty() {
            format!(
                "OpenShift {name}'s documentation names no OpenStack release it installs on ({}): check OSP {osp} there",
                s.document
            )
        } else {
            format!(
                "OpenShift {name} is documented on OpenStack {}, not OSP {osp} ({})",
                s.words(),
                s.document
            )
        })
    }
}

/// What changes with a release, as `ocp::release` returns it.
#[derive(Serialize)]
pub struct Facts {
    pub version: String,
    pub major: u32,
    pub minor: u32,
    pub machine_network: &'static str,
    pub api_fip_field: &'static str,
    pub ingress_fip_field: Option<&'static str>,
    pub flavor_in_default_pool: bool,
    pub legacy_platform_fields: bool,
    pub cluster_os_image: bool,
    pub mirrors_field: &'static str,
    /// The article's own release: its file is written as the article has it, with the two
    /// fields no release defines (4.2 ignores them).
    pub article_extras: bool,
    pub unknown_fields: UnknownFields,
    pub default_network_type: &'static str,
    pub refused_network_types: Vec<&'static str>,
    pub masters: String,
    pub temp_url_key: bool,
    pub swiftoperator: bool,
    pub checks_floating_ips: bool,
    pub floating_ips_differ: bool,
    pub checks_image: bool,
    pub credentials_modes: Option<&'static [String]>,
    pub feature_gates: &'static [Gate],
    pub documented_openstack: Vec<&'static str>,
    /// The machines' pre-made subnet field (`machinesSubnet`, `controlPlanePort`), or `None`.
    pub premade_machines_subnet: Option<&'static str>,
    /// The pools take `additionalNetworkIDs` and `additionalSecurityGroupIDs`.
    pub pool_additional_ids: bool,
    /// What a provider network needs as the machines' network, or `None`: not documented.
    pub provider_machines_network: Option<ProviderNeeds>,
    /// The API VIP's field (`apiVIP`, `apiVIPs`), or `None`.
    pub api_vip_field: Option<&'static str>,
    /// The ingress VIP's field (`ingressVIP`, `ingressVIPs`), or `None`.
    pub ingress_vip_field: Option<&'static str>,
    /// The installer asks the cloud whether the pools' additional networks and security groups
    /// exist.
    pub checks_additional_ids_exist: bool,
}

impl Release {
    pub fn facts(&self) -> Facts {
        Facts {
            version: self.name(),
            major: self.version.major,
            minor: self.version.minor,
            machine_network: self.machine_network_field(),
            api_fip_field: self.api_fip_field(),
            ingress_fip_field: self.ingress_fip_field(),
            flavor_in_default_pool: self.flavor_in_default_pool(),
            legacy_platform_fields: self.legacy_platform_fields(),
            cluster_os_image: self.cluster_os_image_field(),
            mirrors_field: self.mirrors_field(),
            article_extras: self.is_oldest(),
            unknown_fields: self.unknown_fields(),
            default_network_type: self.default_network_type(),
            refused_network_types: self.refused_network_types(),
            masters: self.masters_words(),
            temp_url_key: self.needs_temp_url_key(),
            swiftoperator: self.needs_swiftoperator(),
            checks_floating_ips: self.checks_floating_ips(),
            floating_ips_differ: self.floating_ips_differ(),
            checks_image: self.checks_image(),
            credentials_modes: self.credentials_modes(),
            feature_gates: self.feature_gates(),
            documented_openstack: self
                .support()
                .map(|s| s.openstack.iter().map(String::as_str).collect())
                .unwrap_or_default(),
            premade_machines_subnet: self.premade_machines_subnet(),
            pool_additional_ids: self
                .defines(Section::OpenstackMachinePool, "additionalNetworkIDs"),
            provider_machines_network: self.provider_machines_network(),
            api_vip_field: self.vip_fields().map(|v| v.0),
            ingress_vip_field: self.vip_fields().map(|v| v.1),
            checks_additional_ids_exist: self.checks_additional_ids_exist(),
        }
    }
}

/// Fields of the article's file that no release defines: `clusterID` and the pools' `type`. 4.2
/// ignores them (unknown keys are dropped), so the seed's file keeps them where unknown keys are
/// ignored, and never writes them where they are refused or warned about.
pub const ARTICLE_EXTRAS: &[(Section, &str)] = &[
    (Section::TopLevel, "clusterID"),
    (Section::MachinePool, "type"),
];

impl Release {
    /// The entries of `name` in `section`.
    fn entries(&self, section: Section, name: &str) -> Vec<&'static Field> {
        self.t
            .fields
            .iter()
            .filter(|s| s.section == section)
            .flat_map(|s| s.fields.iter())
            .filter(|x| x.name == name)
            .collect()
    }

    /// Whether `f` is a field of this release.
    fn has(&self, f: &Field) -> bool {
        f.since <= self.version && f.until.is_none_or(|u| self.version <= u)
    }

    /// The fields `section` has in this release.
    #[cfg(test)]
    pub fn fields(&self, section: Section) -> Vec<&'static str> {
        self.t
            .fields
            .iter()
            .filter(|s| s.section == section)
            .flat_map(|s| s.fields.iter())
            .filter(|x| self.has(x))
            .map(|x| x.name.as_str())
            .collect()
    }

    /// Whether `name` is a field of `section` in this release.
    pub fn defines(&self, section: Section, name: &str) -> bool {
        self.entries(section, name).iter().any(|x| self.has(x))
    }

    /// The values the installer takes for a field of this release, where it names them.
    pub fn field_values(&self, section: Section, name: &str) -> Option<&'static [String]> {
        self.entries(section, name)
            .into_iter()
            .find(|x| self.has(x))
            .and_then(|x| x.values.as_deref())
    }

    /// Why `name` is not a field of `section` here: the releases that have it, or what replaced
    /// it. `None` when it is one.
    pub fn field_problem(&self, section: Section, name: &str) -> Option<String> {
        let known = self.entries(section, name);
        if known.iter().any(|x| self.has(x)) {
            return None;
        }
        if ARTICLE_EXTRAS.contains(&(section, name)) {
            return (self.unknown_fields() != UnknownFields::Ignored).then(|| {
                format!(
                    "no release defines it (OpenShift {} {} unknown fields; 4.2 ignored it)",
                    self.name(),
                    if self.unknown_fields() == UnknownFields::Error {
                        "refuses"
                    } else {
                        "warns about"
                    }
                )
            });
        }
        Some(match known.first() {
            Some(x) if x.since > self.version => {
                format!(
                    "OpenShift {} has no such field: it comes in {}",
                    self.name(),
                    x.since
                )
            }
            Some(x) => format!(
                "OpenShift {} has no such field: it was removed after {}",
                self.name(),
                x.until.map(|u| u.to_string()).unwrap_or_default()
            ),
            None => format!("OpenShift {} has no such field", self.name()),
        })
    }

    /// What replaces a field that is deprecated in this release.
    pub fn deprecated(&self, section: Section, name: &str) -> Option<&'static str> {
        self.entries(section, name)
            .into_iter()
            .find_map(|x| x.deprecated.as_ref())
            .filter(|d| self.version >= d.from)
            .map(|d| d.instead.as_str())
    }
}

/// Every release labsh writes for, oldest first (none when the data cannot be read, which its
/// unit tests rule out).
pub fn all() -> Vec<Release> {
    table()
        .map(|t| {
            t.releases
                .iter()
                .map(|r| Release {
                    version: r.version,
                    t,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The table of what changes by release (docs/guide.md carries it, generated from these rules).
pub fn table_markdown() -> String {
    let mut out = String::from(
        "| release | machine network | API floating IP | ingress floating IP | flavor | network types refused | control plane | unknown fields | Temp-URL-Key | swiftoperator | flavor minimums (control plane) | quota checked | credentialsMode on OpenStack | fields behind a feature gate |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in all() {
        let fm = r
            .flavor_minimums(Role::ControlPlane)
            .map(|m| {
                let ram = if m.ram_mib >= 1024 {
                    format!("{} MiB", m.ram_mib)
                } else {
                    "RAM not checked".to_string()
                };
                let warn = m
                    .disk_warn_below_gb
                    .map(|w| format!(", under {w} GB a warning"))
                    .unwrap_or_default();
                format!("{} vCPUs, {ram}, {} GB{warn}", m.vcpus, m.disk_gb)
            })
            .unwrap_or_else(|| "none".into());
        let quota: Vec<String> = r
            .quota(3, 2, 4, 16384)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let refused = r.refused_network_types();
        let gates: Vec<String> = r
            .feature_gates()
            .iter()
            .map(|g| match &g.equals {
                Some(v) => format!("`{}: {v}` ({})", g.field, g.gate),
                None => format!("`{}` ({})", g.field, g.gate),
            })
            .collect();
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name(),
            r.machine_network_field(),
            r.api_fip_field(),
            r.ingress_fip_field()
                .map(|f| format!("`{f}`"))
                .unwrap_or_else(|| "attached after the install".into()),
            if r.flavor_in_default_pool() {
                "`defaultMachinePlatform.type`"
            } else {
                "`computeFlavor`"
            },
            if refused.is_empty() {
                "none".to_string()
            } else {
                refused.join(", ")
            },
            r.masters_words(),
            match r.unknown_fields() {
                UnknownFields::Ignored => "ignored",
                UnknownFields::Error => "an error",
                UnknownFields::Warning => "a warning",
            },
            if r.needs_temp_url_key() { "yes" } else { "no" },
            if r.needs_swiftoperator() { "yes" } else { "no" },
            fm,
            if quota.is_empty() {
                "no".to_string()
            } else {
                quota.join(", ").replace('_', " ")
            },
            match r.credentials_modes() {
                None => "refused".to_string(),
                Some(m) => format!("{} only (the default)", and_list(m)),
            },
            if gates.is_empty() {
                "none".to_string()
            } else {
                gates.join(", ")
            },
        ));
    }
    out
}

/// The support matrix as Markdown: each OpenShift release, the OpenStack releases its
/// documentation names, and the document (docs/guide.md carries it; `labsh doc releases` shows
/// it).
pub fn support_markdown() -> String {
    let mut out = String::from(
        "| OpenShift | documented on OpenStack | the documentation says | document |\n|---|---|---|---|\n",
    );
    for r in all() {
        let Some(s) = r.support() else { continue };
        let osp = if s.openstack.is_empty() {
            "none named".to_string()
        } else {
            s.openstack
                .iter()
                .map(|v| match v.as_str() {
                    "18.0" => "RHOSO 18.0".to_string(),
                    "16" => "16 (any 16.x)".to_string(),
                    v => format!("OSP {v}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let cell = |t: &str| t.replace('|', "\\|");
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.name(),
            osp,
            cell(&s.says),
            cell(&s.document)
        ));
    }
    out
}

/// What "documented" means, as the data file says it beside the table.
const DOCUMENTED: &str = "An OpenStack release is documented for an OpenShift release when that release's own documentation names it as one its clusters are installed on: for 4.2 to 4.11 the list of Supported platforms; from 4.12 that list names none and refers to the support matrix (https://access.redhat.com/articles/4679401, a Knowledgebase article outside the documentation), so a version counts when the release's installation or operation documentation names it as the platform its clusters run on. An undocumented combination is a warning naming the document (the preflight's \"OpenShift on OpenStack\" row); none is an error, since the installer checks no OpenStack release.";

/// `labsh doc releases`: the releases labsh writes for, the support matrix with what
/// "documented" means, and what changes by release.
pub fn doc_text() -> String {
    let t = match table() {
        Ok(t) => t,
        Err(e) => return e.to_string(),
    };
    let mut out = String::from("OpenShift releases labsh writes for (");
    out.push_str(DATA_FILE);
    out.push_str(", each fact with its source):\n\n");
    for r in &t.releases {
        out.push_str(&format!(
            "  {:<5} {}\n",
            r.version.to_string(),
            one_line(&r.published)
        ));
        if let Some(n) = &r.notes {
            out.push_str(&format!("        {}\n", one_line(n)));
        }
    }
    for u in &t.unpublished {
        out.push_str(&format!(
            "  {:<5} not written for: {}\n",
            u.version.to_string(),
            one_line(&u.why)
        ));
    }
    out.push_str("\nWhich OpenStack releases each OpenShift release is documented on:\n\n");
    out.push_str(&support_markdown());
    out.push('\n');
    out.push_str(DOCUMENTED);
    out.push_str("\n\nWhat changes by release:\n\n");
    out.push_str(&table_markdown());
    out.push_str("\nWhere each fact is read (a fact holds from a release until its next one):\n");
    for (name, steps) in t.facts.sources() {
        out.push_str(&format!("\n  {name}\n"));
        for (from, source) in steps {
            out.push_str(&format!(
                "    {:<5} {}\n",
                from.to_string(),
                one_line(source)
            ));
        }
    }
    out.trim_end().to_string()
}

/// Folded text on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture() -> Value {
        let text = include_str!("../../../tests/data/ocp/installer-schema.json");
        serde_json::from_str(text).expect("the fixture is JSON")
    }

    fn newest() -> Release {
        *all().last().expect("releases")
    }

    #[test]
    fn versions_parse_and_outsiders_are_refused_naming_the_newest() {
        assert_eq!(Release::parse("4.2.4").unwrap().version.minor, 2);
        assert_eq!(Release::parse("4.18").unwrap().version.minor, 18);
        assert_eq!(Release::parse("4.16.0-rc.2").unwrap().version.minor, 16);
        assert_eq!(Release::parse("4.22.3").unwrap().name(), "4.22");
        for bad in ["4", "four", "4.x", "4.18.x", "", "4.18.1.2"] {
            let e = Release::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::Kind::Invalid, "{bad}: {e}");
            assert!(
                e.message().contains("is not an OpenShift version"),
                "{bad}: {e}"
            );
        }
        let n = newest().name();
        for out in ["4.1", "3.11", "4.99", "6.0"] {
            let e = Release::parse(out).unwrap_err();
            assert_eq!(e.kind(), crate::error::Kind::Invalid, "{out}: {e}");
            assert!(
                e.message()
                    .contains(&format!("the releases are 4.2 to {n}, the newest {n}")),
                "{out}: {e}"
            );
        }
        // In the installer's source but not published: said so.
        let e = Release::parse("5.0").unwrap_err();
        assert!(
            e.message()
                .contains("5.0 is in the installer's source but not published"),
            "{e}"
        );
        assert!(Release::parse("4.23.0")
            .unwrap_err()
            .message()
            .contains("fast-forwarded from release-5.0"));
    }

    /// The field table is the installer's, release by release: every field the fixture has for
    /// a section, and nothing more; deprecated exactly where the fixture says so.
    #[test]
    fn the_fields_are_the_installers_for_every_release() {
        let fx = fixture();
        let releases = fx["releases"].as_object().unwrap();
        // Both ways: every release of the table is in the fixture and every one of the
        // fixture in the table.
        let mut ours: Vec<String> = all().iter().map(|r| r.name()).collect();
        let mut theirs: Vec<String> = releases.keys().cloned().collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
        for r in all() {
            let rel = &fx["releases"][r.name()];
            for s in Section::all() {
                let mut want: Vec<String> = rel[s.key()]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                want.sort();
                let mut have: Vec<String> = r.fields(s).iter().map(|x| x.to_string()).collect();
                have.sort();
                assert_eq!(have, want, "{} {}", r.name(), s.key());
                // What the fixture marks deprecated is deprecated here, and nothing else.
                for name in &have {
                    let key = format!("{}.{name}", s.key());
                    let marked = rel["deprecated"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|d| d == &key);
                    assert_eq!(
                        r.deprecated(s, name).is_some(),
                        marked,
                        "{}: {key} deprecated in the installer: {marked}",
                        r.name()
                    );
                }
            }
        }
    }

    #[test]
    fn the_quota_is_computed_as_the_installer_does() {
        let r = Release::parse("4.18").unwrap();
        let q: std::collections::BTreeMap<String, i64> =
            r.quota(3, 2, 4, 16384).into_iter().collect();
        assert_eq!(q["cores"], 20);
        assert_eq!(q["ram"], 81920);
        assert_eq!(q["instances"], 4);
        assert_eq!(q["ports"], 9);
        assert_eq!(q["security_group_rules"], 56);
        assert!(!q.contains_key("server_groups"));
        for v in ["4.19", "4.22"] {
            assert!(Release::parse(v)
                .unwrap()
                .quota(3, 2, 4, 1)
                .iter()
                .any(|(k, v)| k == "server_groups" && *v == 2));
        }
        assert!(Release::parse("4.6").unwrap().quota(3, 2, 4, 1).is_empty());
    }

    #[test]
    fn the_quota_counts_the_network_options_as_the_installer_does() {
        let shape = NetworkShape {
            control_plane_networks: 0,
            compute_networks: 1,
            premade_subnet: true,
        };
        let q = |v: &str| -> std::collections::BTreeMap<String, i64> {
            Release::parse(v)
                .unwrap()
                .quota_with(3, 2, 4, 16384, &shape)
                .into_iter()
                .collect()
        };
        // 4 + 3 masters + 2 workers on two networks.
        assert_eq!(q("4.22")["ports"], 11);
        for k in ["networks", "subnets", "routers"] {
            assert!(!q("4.22").contains_key(k), "{k}");
            assert_eq!(q("4.8")[k], 1, "4.8 counts {k} with a pre-made subnet");
        }
    }

    #[test]
    fn the_facts_of_the_new_releases() {
        let r21 = Release::parse("4.21").unwrap();
        let r22 = Release::parse("4.22").unwrap();
        let r20 = Release::parse("4.20").unwrap();
        assert_eq!(r20.credentials_modes(), None);
        assert_eq!(r21.credentials_modes().unwrap(), ["Passthrough"]);
        assert!(r21.defines(Section::OpenstackPlatform, "dnsRecordsType"));
        assert!(!r20.defines(Section::OpenstackPlatform, "dnsRecordsType"));
        assert!(r22.defines(Section::TopLevel, "osImageStream"));
        assert!(!r21.defines(Section::TopLevel, "osImageStream"));
        assert_eq!(
            r22.field_values(Section::TopLevel, "osImageStream")
                .unwrap(),
            ["rhel-9", "rhel-10"]
        );
        assert_eq!(r21.feature_gates().len(), 1);
        assert_eq!(r22.feature_gates().len(), 2);
        assert!(r20.feature_gates().is_empty());
        assert!(r21.dns_records_need_user_managed_lb() && !r20.dns_records_need_user_managed_lb());
        assert_eq!(r22.masters_words(), "1 or 3");
        assert_eq!(Release::parse("4.6").unwrap().masters_words(), "exactly 3");
        assert_eq!(Release::parse("4.8").unwrap().masters_words(), "1, 2 or 3");
        assert_eq!(Release::parse("4.2").unwrap().masters_words(), "1 or more");
    }

    /// Every release from the oldest to the newest has its row, citing a document, and the
    /// rows are the releases' own: no gap, none unknown.
    #[test]
    fn the_support_table_has_no_gap() {
        let t = table().unwrap();
        let rows: Vec<Version> = t.support.iter().map(|s| s.openshift).collect();
        let releases: Vec<Version> = all().iter().map(|r| r.version).collect();
        assert_eq!(rows, releases);
        for s in &t.support {
            assert!(
                !s.document.trim().is_empty() && !s.says.trim().is_empty(),
                "{s:?}"
            );
            // A row that names no version says where the versions are.
            if s.openstack.is_empty() {
                assert!(
                    s.document.contains("access.redhat.com/articles/4679401"),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn undocumented_combinations_name_the_document() {
        let r = |v: &str| Release::parse(v).unwrap();
        assert_eq!(r("4.2").undocumented_on("13"), None);
        assert_eq!(r("4.5").undocumented_on("16.1"), None);
        assert_eq!(r("4.22").undocumented_on("17.1"), None);
        let w = r("4.9").undocumented_on("13").unwrap();
        assert!(
            w.contains("OpenShift 4.9 is documented on OpenStack 16.1 and 16.2, not OSP 13")
                && w.contains("enterprise-4.9"),
            "{w}"
        );
        let w = r("4.16").undocumented_on("17.1").unwrap();
        assert!(
            w.contains("names no OpenStack release") && w.contains("4679401"),
            "{w}"
        );
        assert!(r("4.2").undocumented_on("17.1").is_some());
    }

    #[test]
    fn the_doc_shows_every_release_and_the_matrix() {
        let d = doc_text();
        for r in all() {
            assert!(d.contains(&format!("| {} |", r.name())), "{}", r.name());
        }
        assert!(d.contains("5.0   not written for"));
        assert!(d.contains("documented on OpenStack"));
        assert!(d.contains("4679401"));
    }
}
