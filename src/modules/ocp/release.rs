//! OpenShift 4.2 to 4.20 as the installer has them: which install-config fields each release
//! defines, how it renames and refuses them, what it needs of the tenant, and the checks it runs
//! against the cloud before it builds anything.
//!
//! Every rule names the file of openshift/installer it is read from and the first release it holds
//! for. The source read is the tip of `release-4.N` for 4.2 to 4.15 and, for 4.16 to 4.20, master
//! at the commit where `release-4.N` branched (the commit before master opened 4.N+1); the commits
//! are listed in tests/data/ocp/installer-schema.json, the fixture the field table is tested
//! against.

use serde::Serialize;

/// The oldest and newest minor releases labsh writes for.
pub const OLDEST: u32 = 2;
pub const NEWEST: u32 = 20;

/// One minor release of OpenShift 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    pub minor: u32,
}

impl Release {
    /// `4.18`, `4.18.3`, `4.2.4` or `4.16.0-rc.2`; a release outside 4.2-4.20 is an error that
    /// says which ones there are.
    pub fn parse(version: &str) -> Result<Release, String> {
        let v = version.trim();
        let core = v.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        let num = |s: &str| s.parse::<u32>().ok().filter(|_| !s.is_empty());
        let (Some(major), Some(minor)) = (
            parts.first().and_then(|s| num(s)),
            parts.get(1).and_then(|s| num(s)),
        ) else {
            return Err(format!(
                "{version:?} is not an OpenShift version such as \"4.18\" or \"4.18.3\""
            ));
        };
        if parts.len() > 3 || parts.get(2).is_some_and(|s| num(s).is_none()) {
            return Err(format!(
                "{version:?} is not an OpenShift version such as \"4.18\" or \"4.18.3\""
            ));
        }
        if major != 4 || !(OLDEST..=NEWEST).contains(&minor) {
            return Err(format!(
                "OpenShift {major}.{minor} is not one labsh writes for: the releases are 4.{OLDEST} to 4.{NEWEST}"
            ));
        }
        Ok(Release { minor })
    }

    pub fn name(&self) -> String {
        format!("4.{}", self.minor)
    }

    fn from(&self, minor: u32) -> bool {
        self.minor >= minor
    }

    /// What the installer does with install-config keys it does not know.
    /// pkg/asset/installconfig/installconfig.go: 4.2-4.9 decode with ghodss/yaml's Unmarshal
    /// (unknown keys dropped); release-4.10 decodes strictly (an error); from 4.11 a strict
    /// decode that fails is logged as a warning and the file decoded again leniently.
    pub fn unknown_fields(&self) -> UnknownFields {
        match self.minor {
            ..=9 => UnknownFields::Ignored,
            10 => UnknownFields::Error,
            _ => UnknownFields::Warning,
        }
    }

    /// The machine network: `networking.machineCIDR` in 4.2 (pkg/types/installconfig.go,
    /// release-4.2); `networking.machineNetwork[].cidr` from 4.3, machineCIDR converted
    /// (pkg/types/conversion/installconfig.go, release-4.3).
    pub fn machine_network_field(&self) -> &'static str {
        if self.from(3) {
            "machineNetwork"
        } else {
            "machineCIDR"
        }
    }

    /// The API floating IP: `lbFloatingIP` to 4.6; `apiFloatingIP` from 4.7, lbFloatingIP
    /// converted into it (pkg/types/openstack/platform.go and pkg/types/conversion/installconfig.go,
    /// release-4.7).
    pub fn api_fip_field(&self) -> &'static str {
        if self.from(7) {
            "apiFloatingIP"
        } else {
            "lbFloatingIP"
        }
    }

    /// The ingress floating IP the installer attaches itself: `ingressFloatingIP` from 4.6
    /// (pkg/types/openstack/platform.go, release-4.6). Before it, it is attached to the
    /// `<infraID>-ingress-port` by hand after the install (docs/user/openstack/README.md,
    /// release-4.2).
    pub fn ingress_fip_field(&self) -> Option<&'static str> {
        self.from(6).then_some("ingressFloatingIP")
    }

    /// The flavor of every machine: `platform.openstack.computeFlavor` to 4.6;
    /// `platform.openstack.defaultMachinePlatform.type` from 4.7, computeFlavor converted into it
    /// (pkg/types/conversion/installconfig.go convertOpenStack, release-4.7).
    pub fn flavor_in_default_pool(&self) -> bool {
        self.from(7)
    }

    /// `octaviaSupport`, `trunkSupport` and `region`: read (and overwritten by detection) to 4.5,
    /// deprecated and ignored from 4.6 (pkg/types/openstack/platform.go, release-4.6); labsh
    /// writes them only where the article's release reads them.
    pub fn legacy_platform_fields(&self) -> bool {
        !self.from(6)
    }

    /// `platform.openstack.clusterOSImage`, the Glance image the nodes boot, from 4.3
    /// (pkg/types/openstack/platform.go, release-4.3). In 4.2 the image is the one named `rhcos`
    /// (pkg/asset/rhcos/image.go, release-4.2).
    pub fn cluster_os_image_field(&self) -> bool {
        self.from(3)
    }

    /// The mirrors of a disconnected install: `imageContentSources`, deprecated for
    /// `imageDigestSources` from 4.14 (pkg/types/installconfig.go, release-4.14).
    pub fn mirrors_field(&self) -> &'static str {
        if self.from(14) {
            "imageDigestSources"
        } else {
            "imageContentSources"
        }
    }

    /// The network types the installer refuses: OpenShiftSDN and Kuryr from 4.15
    /// (pkg/types/validation/installconfig.go validateNetworking, release-4.15).
    pub fn refused_network_types(&self) -> &'static [&'static str] {
        if self.from(15) {
            &["OpenShiftSDN", "Kuryr"]
        } else {
            &[]
        }
    }

    /// The network type when none is given: OpenShiftSDN to 4.11, OVNKubernetes from 4.12
    /// (pkg/types/defaults/installconfig.go, release-4.12).
    pub fn default_network_type(&self) -> &'static str {
        if self.from(12) {
            "OVNKubernetes"
        } else {
            "OpenShiftSDN"
        }
    }

    /// The control-plane sizes the installer takes on OpenStack: any from 1 to 4.5; exactly 3 in
    /// 4.6 and 4.7; 1 to 3 from 4.8 (pkg/asset/installconfig/openstack/validate.go
    /// ValidateForProvisioning); from 4.19 not 2, which needs fencing that OpenStack does not
    /// have (pkg/types/validation/installconfig.go, release-4.19).
    pub fn masters_allowed(&self, n: i64) -> bool {
        match self.minor {
            ..=5 => n >= 1,
            6 | 7 => n == 3,
            8..=18 => (1..=3).contains(&n),
            _ => n == 1 || n == 3,
        }
    }

    /// The control-plane sizes as words, for errors.
    pub fn masters_words(&self) -> &'static str {
        match self.minor {
            ..=5 => "1 or more",
            6 | 7 => "exactly 3",
            8..=18 => "1, 2 or 3",
            _ => "1 or 3",
        }
    }

    /// The longest cluster name on OpenStack: 14 characters to 4.9
    /// (pkg/types/openstack/validation/platform.go), no limit of its own from 4.10.
    pub fn max_cluster_name(&self) -> Option<usize> {
        (!self.from(10)).then_some(14)
    }

    /// The bootstrap Ignition is served from a Swift temp URL, so the tenant's account needs a
    /// Temp-URL-Key: 4.2 only (data/data/openstack/bootstrap/main.tf, release-4.2); 4.3 serves it
    /// from a public-read container (pkg/tfvars/openstack/bootstrap_ignition.go, release-4.3).
    pub fn needs_temp_url_key(&self) -> bool {
        !self.from(3)
    }

    /// The tenant user needs the `swiftoperator` role for the installer's own Swift objects: 4.2
    /// and 4.3 (docs/user/openstack/README.md of those releases); from 4.4 the Ignition goes to
    /// Glance and Swift is only an optional registry backend (pkg/tfvars/openstack/bootstrap_ignition.go,
    /// release-4.4).
    pub fn needs_swiftoperator(&self) -> bool {
        !self.from(4)
    }

    /// The flavor minimums of a role (pkg/asset/installconfig/openstack/validation/machinepool.go):
    /// from 4.6 control plane 4 vCPUs and 25 GB of disk, compute 2 vCPUs and 25 GB, errors; RAM
    /// 16384 MiB and 8192 MiB compared in MiB from 4.9 (4.6 to 4.8 compare 16 and 8 against MiB,
    /// so their RAM check never fails); from 4.12 a disk under 100 GB is a warning.
    pub fn flavor_minimums(&self, role: Role) -> Option<FlavorMinimums> {
        if !self.from(6) {
            return None;
        }
        let (vcpus, ram) = match role {
            Role::ControlPlane => (4, 16384),
            Role::Compute => (2, 8192),
        };
        Some(FlavorMinimums {
            vcpus,
            ram_mib: if self.from(9) {
                ram
            } else if role == Role::ControlPlane {
                16
            } else {
                8
            },
            disk_gb: 25,
            disk_warn_below_gb: self.from(12).then_some(100),
        })
    }

    /// The floating IP checks (pkg/asset/installconfig/openstack/validation/platform.go
    /// validateFloatingIPs): from 4.6 each given address exists, is DOWN and needs
    /// externalNetwork; from 4.7 the API and ingress addresses differ.
    pub fn checks_floating_ips(&self) -> bool {
        self.from(6)
    }

    pub fn floating_ips_differ(&self) -> bool {
        self.from(7)
    }

    /// clusterOSImage, when it names a Glance image, exists and is active from 4.7
    /// (pkg/asset/installconfig/openstack/validation/cloudinfo.go, release-4.7).
    pub fn checks_image(&self) -> bool {
        self.from(7)
    }

    /// The quota the installer checks (pkg/asset/quota/openstack/openstack.go): cores, RAM and
    /// instances from 4.7; ports, security groups and rules, networks, subnets and routers from
    /// 4.8; server groups and their members from 4.19.
    pub fn quota(
        &self,
        masters: i64,
        workers: i64,
        vcpus: i64,
        ram_mib: i64,
    ) -> Vec<(String, i64)> {
        let mut q = vec![];
        if !self.from(7) {
            return q;
        }
        // Masters are counted one by one, workers by their MachineSets' replicas; the bootstrap
        // node is not counted. One MachineSet per failure domain (one without zones), made even
        // with 0 replicas (pkg/asset/machines/openstack/machinesets.go).
        let machine_sets = 1;
        q.push(("cores".into(), (masters + workers) * vcpus));
        q.push(("ram".into(), (masters + workers) * ram_mib));
        // Instances: control-plane machines plus the number of worker MachineSets, as coded.
        q.push(("instances".into(), masters + machine_sets));
        if self.from(8) {
            // 4 = router gateway, API, ingress and bootstrap ports; one per machine on the one
            // machine network.
            q.push(("ports".into(), 4 + masters + workers));
            q.push(("security_groups".into(), 2));
            q.push(("security_group_rules".into(), 56));
            q.push(("networks".into(), 1));
            q.push(("subnets".into(), 1));
            q.push(("routers".into(), 1));
        }
        if self.from(19) {
            q.push(("server_groups".into(), 2));
            q.push(("server_group_members".into(), masters + machine_sets));
        }
        q
    }
}

/// What changes with a release, as `ocp::release` returns it.
#[derive(Serialize)]
pub struct Facts {
    pub version: String,
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
    pub refused_network_types: &'static [&'static str],
    pub masters: &'static str,
    pub temp_url_key: bool,
    pub swiftoperator: bool,
    pub checks_floating_ips: bool,
    pub floating_ips_differ: bool,
    pub checks_image: bool,
}

impl Release {
    pub fn facts(&self) -> Facts {
        Facts {
            version: self.name(),
            minor: self.minor,
            machine_network: self.machine_network_field(),
            api_fip_field: self.api_fip_field(),
            ingress_fip_field: self.ingress_fip_field(),
            flavor_in_default_pool: self.flavor_in_default_pool(),
            legacy_platform_fields: self.legacy_platform_fields(),
            cluster_os_image: self.cluster_os_image_field(),
            mirrors_field: self.mirrors_field(),
            article_extras: self.minor == OLDEST,
            unknown_fields: self.unknown_fields(),
            default_network_type: self.default_network_type(),
            refused_network_types: self.refused_network_types(),
            masters: self.masters_words(),
            temp_url_key: self.needs_temp_url_key(),
            swiftoperator: self.needs_swiftoperator(),
            checks_floating_ips: self.checks_floating_ips(),
            floating_ips_differ: self.floating_ips_differ(),
            checks_image: self.checks_image(),
        }
    }
}

/// What the installer does with keys it does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FlavorMinimums {
    pub vcpus: i64,
    pub ram_mib: i64,
    pub disk_gb: i64,
    pub disk_warn_below_gb: Option<i64>,
}

/// Where a field sits in install-config.yaml.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The top level (types.InstallConfig, pkg/types/installconfig.go).
    Top,
    /// `networking` (types.Networking, pkg/types/installconfig.go).
    Networking,
    /// `compute[]` and `controlPlane` (types.MachinePool, pkg/types/machinepools.go).
    Pool,
    /// `platform.openstack` (openstack.Platform, pkg/types/openstack/platform.go).
    Platform,
    /// a pool's `platform.openstack` and `defaultMachinePlatform` (openstack.MachinePool,
    /// pkg/types/openstack/machinepool.go).
    PlatformPool,
}

#[cfg(test)]
impl Section {
    pub fn all() -> [Section; 5] {
        [
            Section::Top,
            Section::Networking,
            Section::Pool,
            Section::Platform,
            Section::PlatformPool,
        ]
    }

    /// The fixture's name of the section.
    pub fn key(&self) -> &'static str {
        match self {
            Section::Top => "top_level",
            Section::Networking => "networking",
            Section::Pool => "machine_pool",
            Section::Platform => "openstack_platform",
            Section::PlatformPool => "openstack_machine_pool",
        }
    }
}

/// A field and the releases that define it: the first, and the last (NEWEST while it stays).
struct Field {
    section: Section,
    name: &'static str,
    since: u32,
    until: u32,
    /// The release from which it is deprecated, and what replaces it.
    deprecated: Option<(u32, &'static str)>,
}

const fn f(section: Section, name: &'static str, since: u32) -> Field {
    Field {
        section,
        name,
        since,
        until: NEWEST,
        deprecated: None,
    }
}

const fn d(
    section: Section,
    name: &'static str,
    since: u32,
    from: u32,
    instead: &'static str,
) -> Field {
    Field {
        section,
        name,
        since,
        until: NEWEST,
        deprecated: Some((from, instead)),
    }
}

use Section::{Networking as N, Platform as P, PlatformPool as PP, Pool as MP, Top as T};

/// The install-config fields of each release, from the json tags of the types in
/// pkg/types/installconfig.go, pkg/types/machinepools.go, pkg/types/openstack/platform.go and
/// pkg/types/openstack/machinepool.go at each release's commit.
const FIELDS: &[Field] = &[
    f(T, "apiVersion", 2),
    f(T, "kind", 2),
    f(T, "metadata", 2),
    f(T, "additionalTrustBundle", 2),
    f(T, "baseDomain", 2),
    f(T, "compute", 2),
    f(T, "controlPlane", 2),
    d(T, "imageContentSources", 2, 14, "imageDigestSources"),
    f(T, "networking", 2),
    f(T, "platform", 2),
    f(T, "proxy", 2),
    f(T, "pullSecret", 2),
    f(T, "sshKey", 2),
    f(T, "fips", 3),
    f(T, "publish", 3),
    f(T, "credentialsMode", 5),
    f(T, "bootstrapInPlace", 8),
    f(T, "capabilities", 11),
    f(T, "additionalTrustBundlePolicy", 12),
    f(T, "featureSet", 12),
    f(T, "cpuPartitioningMode", 13),
    f(T, "featureGates", 14),
    f(T, "imageDigestSources", 14),
    f(T, "operatorPublishingStrategy", 15),
    f(T, "arbiter", 19),
    f(N, "clusterNetwork", 2),
    d(N, "clusterNetworks", 2, 2, "clusterNetwork"),
    d(N, "machineCIDR", 2, 3, "machineNetwork"),
    f(N, "networkType", 2),
    d(N, "serviceCIDR", 2, 2, "serviceNetwork"),
    f(N, "serviceNetwork", 2),
    d(N, "type", 2, 2, "networkType"),
    f(N, "machineNetwork", 3),
    f(N, "clusterNetworkMTU", 15),
    f(N, "ovnKubernetesConfig", 18),
    f(MP, "architecture", 2),
    f(MP, "hyperthreading", 2),
    f(MP, "name", 2),
    f(MP, "platform", 2),
    f(MP, "replicas", 2),
    f(MP, "fencing", 19),
    f(MP, "diskSetup", 20),
    f(P, "cloud", 2),
    d(P, "computeFlavor", 2, 7, "defaultMachinePlatform.type"),
    f(P, "defaultMachinePlatform", 2),
    f(P, "externalNetwork", 2),
    d(P, "lbFloatingIP", 2, 7, "apiFloatingIP"),
    d(
        P,
        "octaviaSupport",
        2,
        6,
        "nothing: the installer detects Octavia",
    ),
    d(P, "region", 2, 2, "nothing: the installer does not use it"),
    d(
        P,
        "trunkSupport",
        2,
        6,
        "nothing: the installer detects trunk ports",
    ),
    f(P, "clusterOSImage", 3),
    f(P, "externalDNS", 3),
    d(P, "apiVIP", 5, 12, "apiVIPs"),
    d(P, "ingressVIP", 5, 12, "ingressVIPs"),
    d(P, "machinesSubnet", 5, 14, "controlPlanePort"),
    f(P, "ingressFloatingIP", 6),
    f(P, "apiFloatingIP", 7),
    f(P, "clusterOSImageProperties", 7),
    f(P, "apiVIPs", 12),
    f(P, "ingressVIPs", 12),
    f(P, "loadBalancer", 13),
    f(P, "controlPlanePort", 14),
    f(PP, "rootVolume", 2),
    f(PP, "type", 2),
    f(PP, "additionalNetworkIDs", 5),
    f(PP, "additionalSecurityGroupIDs", 5),
    f(PP, "zones", 6),
    f(PP, "serverGroupPolicy", 9),
    // TechPreview in 4.13 only, removed in 4.14.
    Field {
        section: PP,
        name: "failureDomains",
        since: 13,
        until: 13,
        deprecated: None,
    },
];

/// Fields of the article's file that no release defines: `clusterID` and the pools' `type`. 4.2
/// ignores them (unknown keys are dropped), so the seed's file keeps them where unknown keys are
/// ignored, and never writes them where they are refused or warned about.
pub const ARTICLE_EXTRAS: &[(Section, &str)] = &[(T, "clusterID"), (MP, "type")];

impl Release {
    /// The fields `section` has in this release.
    #[cfg(test)]
    pub fn fields(&self, section: Section) -> Vec<&'static str> {
        FIELDS
            .iter()
            .filter(|x| x.section == section && (x.since..=x.until).contains(&self.minor))
            .map(|x| x.name)
            .collect()
    }

    /// Why `name` is not a field of `section` here: the releases that have it, or what replaced
    /// it. `None` when it is one.
    pub fn field_problem(&self, section: Section, name: &str) -> Option<String> {
        let known: Vec<&Field> = FIELDS
            .iter()
            .filter(|x| x.section == section && x.name == name)
            .collect();
        if known
            .iter()
            .any(|x| (x.since..=x.until).contains(&self.minor))
        {
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
            Some(x) if x.since > self.minor => {
                format!(
                    "OpenShift {} has no such field: it comes in 4.{}",
                    self.name(),
                    x.since
                )
            }
            Some(x) => format!(
                "OpenShift {} has no such field: it was removed after 4.{}",
                self.name(),
                x.until
            ),
            None => format!("OpenShift {} has no such field", self.name()),
        })
    }

    /// What replaces a field that is deprecated in this release.
    pub fn deprecated(&self, section: Section, name: &str) -> Option<&'static str> {
        FIELDS
            .iter()
            .find(|x| x.section == section && x.name == name)
            .and_then(|x| x.deprecated)
            .filter(|(from, _)| self.minor >= *from)
            .map(|(_, instead)| instead)
    }
}

/// Every release labsh writes for.
pub fn all() -> impl Iterator<Item = Release> {
    (OLDEST..=NEWEST).map(|minor| Release { minor })
}

/// The table of what changes by release (docs/guide.md carries it, generated from these rules).
pub fn table_markdown() -> String {
    let mut out = String::from(
        "| release | machine network | API floating IP | ingress floating IP | flavor | network types refused | control plane | unknown fields | Temp-URL-Key | swiftoperator | flavor minimums (control plane) | quota checked |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
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
        out.push_str(&format!(
            "| {} | `{}` | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
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
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn fixture() -> Value {
        let text = include_str!("../../../tests/data/ocp/installer-schema.json");
        serde_json::from_str(text).expect("the fixture is JSON")
    }

    #[test]
    fn versions_parse_and_outsiders_are_refused() {
        assert_eq!(Release::parse("4.2.4").unwrap().minor, 2);
        assert_eq!(Release::parse("4.18").unwrap().minor, 18);
        assert_eq!(Release::parse("4.16.0-rc.2").unwrap().minor, 16);
        for bad in ["4", "four", "4.x", "4.18.x", "", "4.18.1.2"] {
            let e = Release::parse(bad).unwrap_err();
            assert!(e.contains("is not an OpenShift version"), "{bad}: {e}");
        }
        for out in ["4.1", "4.21", "3.11", "5.0"] {
            let e = Release::parse(out).unwrap_err();
            assert!(e.contains("the releases are 4.2 to 4.20"), "{out}: {e}");
        }
    }

    /// The field table is the installer's, release by release: every field the fixture has for
    /// a section, and nothing more.
    #[test]
    fn the_fields_are_the_installers_for_every_release() {
        let fx = fixture();
        for r in all() {
            let rel = &fx["releases"][r.name()];
            assert!(rel.is_object(), "the fixture has no {}", r.name());
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
            }
            // And what the fixture marks deprecated is deprecated here.
            for dep in rel["deprecated"].as_array().unwrap() {
                let dep = dep.as_str().unwrap();
                let (sec, name) = dep.split_once('.').unwrap();
                let s = Section::all().into_iter().find(|s| s.key() == sec).unwrap();
                assert!(
                    r.deprecated(s, name).is_some(),
                    "{}: {dep} is deprecated in the installer",
                    r.name()
                );
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
        assert!(Release::parse("4.19")
            .unwrap()
            .quota(3, 2, 4, 1)
            .iter()
            .any(|(k, v)| k == "server_groups" && *v == 2));
        assert!(Release::parse("4.6").unwrap().quota(3, 2, 4, 1).is_empty());
    }
}
