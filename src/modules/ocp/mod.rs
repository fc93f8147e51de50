//! `ocp`: OpenShift installer-provisioned infrastructure on OpenStack: install-config.yaml checks,
//! the installer run with its progress, tools found or fetched with a checksum, and parsers for
//! what the cluster's keepalived and haproxy pods say (the networking deep dive). This file holds
//! the Rhai functions; install_config.rs, installer.rs, tools.rs, parsers.rs and release.rs do
//! the work, with no Rhai types.

use crate::effects::Op;
use crate::engine::value;
use crate::modules::opts::{option_spec, type_name, OptField, OptionSpec, Seconds};
use crate::session::{rt_err, to_map, with_effects};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use std::path::Path;

mod agent;
mod data;
mod install_config;
mod installer;
mod parsers;
pub mod release;
mod tools;

use install_config::{
    check_install_config, flavor_problems, network_option_profile_problems, release_problems,
};
use parsers::{haproxy_backends, keepalived_vips, progress};

use crate::session::Res;

/// The installer's progress, as `ocp::progress` returns it.
#[derive(serde::Serialize)]
struct Progress {
    version: String,
    percent: u8,
}

/// A VIP of a keepalived.conf.
#[derive(serde::Serialize)]
struct Vip {
    instance: String,
    address: String,
}

/// What an haproxy.cfg balances.
#[derive(serde::Serialize)]
struct Balanced {
    binds: Vec<String>,
    servers: Vec<Server>,
}

#[derive(serde::Serialize)]
struct Server {
    backend: String,
    name: String,
    address: String,
}

/// `#{errors, warnings}` of a check.
fn problems_map(
    ctx: &NativeCallContext,
    (errors, warnings): (Vec<String>, Vec<String>),
) -> Res<Map> {
    #[derive(serde::Serialize)]
    struct Problems {
        errors: Vec<String>,
        warnings: Vec<String>,
    }
    to_map(ctx, &Problems { errors, warnings })
}

option_spec! {
    /// The values of `ocp::quota_needs`.
    pub struct QuotaValues {
        /// Control plane machines.
        masters: i64,
        /// Compute machines.
        workers: i64,
        /// vCPUs of each machine.
        vcpus: i64,
        /// Memory of each machine, in MiB.
        ram_mib: i64,
        /// Additional networks of the control plane machines (default 0).
        control_plane_networks: Option<i64>,
        /// Additional networks of the compute machines (default 0).
        compute_networks: Option<i64>,
        /// The machine subnet is made before the install (default false).
        premade_subnet: Option<bool>,
    }
}

option_spec! {
    /// The options of `ocp::install`.
    pub struct InstallOpts {
        /// The installer's path (default openshift-install).
        installer: Option<String>,
        /// Seconds before the install is given up (default 5400).
        timeout: Option<Seconds>,
        /// The installer's log level (default debug).
        log_level: Option<String>,
        /// A release image to install instead of the installer's own.
        release_image: Option<String>,
    }
}

option_spec! {
    /// The options of `ocp::agent`.
    pub struct AgentOpts {
        /// The step: "image" (agent create image), "bootstrap-complete" or "install-complete"
        /// (agent wait-for).
        step: String,
        /// The installer's path (default openshift-install).
        installer: Option<String>,
        /// Seconds before the step is given up (default 3600; the image 1800).
        timeout: Option<Seconds>,
        /// The installer's log level (default debug).
        log_level: Option<String>,
    }
}

option_spec! {
    /// The options of `ocp::tool`.
    pub struct ToolOpts {
        /// The folder it is looked for and unpacked in.
        dir: Option<String>,
        /// The mirror it is downloaded from.
        mirror: Option<String>,
        /// The archive's name on the mirror.
        archive: Option<String>,
        /// The archive's sha256.
        sha256: Option<String>,
    }
}

/// The option maps of the `ocp` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("quota_needs", QuotaValues::FIELDS),
    ("install", InstallOpts::FIELDS),
    ("agent", AgentOpts::FIELDS),
    ("tool", ToolOpts::FIELDS),
];

#[export_module]
pub mod ocp_fns {
    /// Every problem of an install-config map for OpenShift `version` ("4.2.4", "4.18"), each
    /// naming its field: fields the release does not define or deprecates (with what replaces
    /// them), DNS names, the control-plane sizes the release installs, the machine, cluster and
    /// service networks (CIDRs, host prefix, overlaps with each other and with the lab's own
    /// networks in `lab`, a map of name → CIDR), a network type the release refuses, the OpenStack
    /// platform fields, the floating IPs inside `external_cidr`, the pull secret and the ssh key.
    /// `[]` when fine.
    ///
    /// ```rhai
    /// let c = #{apiVersion: "v1", baseDomain: "osd2019.local", metadata: #{name: "ocp4"},
    ///     controlPlane: #{name: "master", replicas: 3}, compute: [#{name: "worker", replicas: 2}],
    ///     networking: #{machineNetwork: [#{cidr: "10.0.0.0/16"}], clusterNetwork: [#{cidr: "10.128.0.0/14", hostPrefix: 23}],
    ///                   serviceNetwork: ["172.60.0.0/16"], networkType: "OVNKubernetes"},
    ///     platform: #{openstack: #{cloud: "openstack", defaultMachinePlatform: #{type: "master"}, externalNetwork: "external",
    ///                              apiFloatingIP: "192.168.122.164", ingressFloatingIP: "192.168.122.180"}},
    ///     pullSecret: "{}", sshKey: "ssh-rsa AAAA"};
    /// assert_eq(ocp::check_install_config(c, #{provisioning: "172.16.0.0/24"}, "192.168.122.0/24", "4.18"), []);
    /// c.platform.openstack.lbFloatingIP = "192.168.122.164";
    /// assert(ocp::check_install_config(c, #{}, "", "4.18")[0].contains("deprecated"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn check_install_config(
        ctx: NativeCallContext,
        config: Map,
        lab: Map,
        external_cidr: &str,
        version: &str,
    ) -> Res<Array> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let v = value::to_json(&Dynamic::from_map(config));
        let mut nets = vec![];
        for (k, c) in &lab {
            if !c.is_string() {
                return Err(rt_err(
                    &ctx,
                    crate::error::Error::invalid(format!(
                        "ocp::check_install_config: lab network {k} must be a CIDR string, not {}",
                        type_name(c)
                    )),
                ));
            }
            nets.push((k.to_string(), c.to_string()));
        }
        let ext = (!external_cidr.is_empty()).then_some(external_cidr);
        Ok(super::check_install_config(&v, r, &nets, ext)
            .into_iter()
            .map(Dynamic::from)
            .collect())
    }

    /// What OpenShift `version` is, as the lab needs it: `#{version, major, minor,
    /// machine_network, api_fip_field, ingress_fip_field (() before 4.6: attached after the
    /// install), flavor_in_default_pool, legacy_platform_fields, cluster_os_image, mirrors_field,
    /// article_extras, unknown_fields, default_network_type, refused_network_types, masters,
    /// temp_url_key, swiftoperator, checks_floating_ips, floating_ips_differ, checks_image,
    /// credentials_modes (() where OpenStack refuses credentialsMode; else the modes it takes,
    /// the default first), feature_gates ([#{field, equals, gate, feature_sets}]: fields refused
    /// unless the gate is on), documented_openstack (the OpenStack releases its documentation
    /// names)}`. Each fact is read from that release's installer or documentation, with its
    /// source, in `src/modules/ocp/releases.yaml` (`labsh doc releases` shows them). A malformed
    /// version, or one labsh does not write for, is an error naming the newest it does.
    ///
    /// ```rhai
    /// let r = ocp::release("4.18.3");
    /// assert_eq(r.api_fip_field, "apiFloatingIP");
    /// assert(!r.temp_url_key && ocp::release("4.2.4").temp_url_key);
    /// assert_eq(ocp::release("4.2").ingress_fip_field, ());
    /// assert_eq(ocp::release("4.20").credentials_modes, ());
    /// assert_eq(ocp::release("4.21").credentials_modes, ["Passthrough"]);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn release(ctx: NativeCallContext, version: &str) -> Res<Map> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        to_map(&ctx, &r.facts())
    }

    /// Every OpenShift release labsh writes for, oldest first: `["4.2", "4.3", ...]`.
    ///
    /// ```rhai
    /// let all = ocp::releases();
    /// assert_eq(all[0], "4.2");
    /// assert(all.contains("4.22"));
    /// ```
    pub fn releases() -> Array {
        release::all()
            .into_iter()
            .map(|r| Dynamic::from(r.name()))
            .collect()
    }

    /// What OpenShift `version`'s documentation says of installing it on OpenStack `openstack`
    /// ("13", "17.1"): `#{documented, openstack (the releases it names), document, says, notes,
    /// warning ("" when documented; else why not, naming the document)}`.
    ///
    /// ```rhai
    /// assert(ocp::openstack_support("4.2.4", "13").documented);
    /// let s = ocp::openstack_support("4.9", "13");
    /// assert(!s.documented && s.warning.contains("16.1 and 16.2"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn openstack_support(ctx: NativeCallContext, version: &str, openstack: &str) -> Res<Map> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let warning = r.undocumented_on(openstack);
        #[derive(serde::Serialize)]
        struct Answer<'a> {
            documented: bool,
            openstack: &'a [String],
            document: &'a str,
            says: &'a str,
            notes: Option<&'a str>,
            warning: String,
        }
        let none: &[String] = &[];
        let s = r.support();
        to_map(
            &ctx,
            &Answer {
                documented: warning.is_none(),
                openstack: s.map_or(none, |s| s.openstack.as_slice()),
                document: s.map_or("", |s| s.document.as_str()),
                says: s.map_or("", |s| s.says.as_str()),
                notes: s.and_then(|s| s.notes.as_deref()),
                warning: warning.unwrap_or_default(),
            },
        )
    }

    /// The support matrix as Markdown: each OpenShift release, the OpenStack releases its
    /// documentation names, what it says and the document; docs/guide.md carries it.
    ///
    /// ```rhai
    /// assert(ocp::support_table().contains("| 4.22 | OSP 17.1, RHOSO 18.0 |"));
    /// ```
    pub fn support_table() -> String {
        release::support_markdown()
    }

    /// What a profile asks of OpenShift `version` that the release would refuse, each naming
    /// the profile key: `values` is `#{network_type, masters, workers, flavor: #{ram_mib, vcpus,
    /// disk_gb}, image_name, octavia, trunk, cluster}` (the profile's `ocp` and `tenant` values).
    /// `#{errors, warnings}`, each a list of `key: what is wrong and what to do`.
    ///
    /// ```rhai
    /// let v = #{network_type: "OpenShiftSDN", masters: 3, workers: 2,
    ///           flavor: #{ram_mib: 16384, vcpus: 4, disk_gb: 25}, image_name: "rhcos",
    ///           octavia: false, trunk: false, cluster: "ocp4"};
    /// assert_eq(ocp::release_problems("4.2.4", v).errors, []);
    /// let r = ocp::release_problems("4.18", v);
    /// assert(r.errors[0].starts_with("ocp.network_type"));
    /// assert(r.warnings[0].starts_with("tenant.flavor.disk_gb"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn release_problems(ctx: NativeCallContext, version: &str, values: Map) -> Res<Map> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let v = value::to_json(&Dynamic::from_map(values));
        super::problems_map(&ctx, super::release_problems(r, &v))
    }

    /// What a profile's node-level network options ask of OpenShift `version` that it refuses,
    /// each naming the profile key: `values` is `#{machines_network, pools: #{control_plane,
    /// compute: #{networks, security_groups}}, networks, security_groups, vlan_ranges,
    /// overcloud_vlans, machine_cidr, vips: #{api, ingress}}` (the profile's `ocp.pools`,
    /// `ocp.machines_network`, `ocp.vips`, `tenant.networks`, `tenant.security_groups` and
    /// `overcloud.provider_vlan_ranges`, and the VLANs of the overcloud's own networks). The
    /// release's fields and rules are read from its installer (`labsh doc releases`); a
    /// provider network as the machines' network must be shared, have a route to the metadata
    /// address and the VIPs given; a VLAN must be in the overcloud's provider ranges and not one
    /// of its own networks'. `[]` when fine.
    ///
    /// ```rhai
    /// let v = #{machines_network: (), machine_cidr: "10.0.0.0/16", vips: #{api: (), ingress: ()},
    ///           pools: #{control_plane: #{networks: [], security_groups: []},
    ///                    compute: #{networks: ["mgmt"], security_groups: []}},
    ///           networks: #{mgmt: #{cidr: "192.168.100.0/24", vlan: 100, physical_network: "datacentre"}},
    ///           security_groups: #{},
    ///           vlan_ranges: [#{physical_network: "datacentre", min: 100, max: 109}],
    ///           overcloud_vlans: #{internal_api: 20}};
    /// assert_eq(ocp::network_option_problems("4.22", v), []);
    /// assert(ocp::network_option_problems("4.2", v)[0].contains("it comes in 4.5"));
    /// v.networks.mgmt.vlan = 20;
    /// assert(ocp::network_option_problems("4.22", v)[0].contains("outside the overcloud's provider VLAN ranges"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_option_problems(
        ctx: NativeCallContext,
        version: &str,
        values: Map,
    ) -> Res<Array> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let v = value::to_json(&Dynamic::from_map(values));
        Ok(super::network_option_profile_problems(r, &v)
            .into_iter()
            .map(Dynamic::from)
            .collect())
    }

    /// The flavor `flavor` (`#{name, ram, vcpus, disk}` as `cloud::flavors` lists it, or
    /// `#{ram_mib, vcpus, disk_gb}`) against the minimums OpenShift `version` has for `role`
    /// ("control-plane" or "compute"): `#{errors, warnings}`, each naming `key`'s field
    /// (`tenant.flavor.vcpus`) and what the release needs.
    ///
    /// ```rhai
    /// let small = #{name: "m1.small", ram: 2048, vcpus: 1, disk: 20};
    /// let r = ocp::flavor_problems("4.18", "control-plane", small, "tenant.flavor");
    /// assert_eq(r.errors.len(), 3);
    /// assert(r.errors[0].starts_with("tenant.flavor.vcpus: 1"));
    /// assert_eq(ocp::flavor_problems("4.2", "control-plane", small, "tenant.flavor").errors, []);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn flavor_problems(
        ctx: NativeCallContext,
        version: &str,
        role: &str,
        flavor: Map,
        key: &str,
    ) -> Res<Map> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let role = match role {
            "control-plane" | "master" => release::Role::ControlPlane,
            "compute" | "worker" => release::Role::Compute,
            other => {
                return Err(rt_err(
                    &ctx,
                    crate::error::Error::invalid(format!(
                    "ocp::flavor_problems: role {other:?} must be \"control-plane\" or \"compute\""
                )),
                ))
            }
        };
        let v = value::to_json(&Dynamic::from_map(flavor));
        super::problems_map(&ctx, super::flavor_problems(r, role, &v, key))
    }

    /// The quota OpenShift `version`'s installer checks before it builds the cluster, computed
    /// as it does (pkg/asset/quota/openstack): `#{cores, ram, instances, ports, security_groups,
    /// security_group_rules, networks, subnets, routers, server_groups, server_group_members}`,
    /// the keys the release checks only (empty before 4.7). `values`: `#{masters, workers,
    /// vcpus, ram_mib}` of the cluster's flavor, and the node-level network options when there
    /// are any: `control_plane_networks`, `compute_networks` (the pools' additional networks:
    /// a port for each on each machine) and `premade_subnet` (true: no network, subnet and
    /// router counted, from 4.9).
    ///
    /// ```rhai
    /// let q = ocp::quota_needs("4.18", #{masters: 3, workers: 2, vcpus: 4, ram_mib: 16384});
    /// assert_eq(q.cores, 20);
    /// assert_eq(q.ports, 9);
    /// let q = ocp::quota_needs("4.22", #{masters: 3, workers: 2, vcpus: 4, ram_mib: 16384,
    ///                                    compute_networks: 1, premade_subnet: true});
    /// assert_eq(q.ports, 11);
    /// assert(!("networks" in q));
    /// assert_eq(ocp::quota_needs("4.2", #{masters: 3, workers: 2, vcpus: 4, ram_mib: 16384}), #{});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn quota_needs(ctx: NativeCallContext, version: &str, values: Map) -> Res<Map> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let o =
            super::QuotaValues::read("ocp::quota_needs", values).map_err(|e| rt_err(&ctx, e))?;
        let shape = release::NetworkShape {
            control_plane_networks: o.control_plane_networks.unwrap_or(0),
            compute_networks: o.compute_networks.unwrap_or(0),
            premade_subnet: o.premade_subnet.unwrap_or(false),
        };
        let q = r.quota_with(o.masters, o.workers, o.vcpus, o.ram_mib, &shape);
        Ok(q.into_iter()
            .map(|(k, v)| (k.into(), Dynamic::from(v)))
            .collect())
    }

    /// The table of what changes by OpenShift release (machine network, floating IPs, flavor
    /// field, network types, control plane, unknown fields, Swift, flavor minimums, quota,
    /// credentialsMode, fields behind a feature gate), as Markdown, from the same rules the lab
    /// uses: docs/guide.md carries it.
    ///
    /// ```rhai
    /// assert(ocp::release_table().contains("| 4.18 |"));
    /// ```
    pub fn release_table() -> String {
        release::table_markdown()
    }

    /// Whether two CIDRs share an address.
    ///
    /// ```rhai
    /// assert(ocp::overlaps("10.0.0.0/16", "10.0.128.0/17"));
    /// assert(!ocp::overlaps("10.0.0.0/16", "172.16.0.0/24"));
    /// ```
    pub fn overlaps(a: &str, b: &str) -> bool {
        crate::util::cidr::overlaps(a, b)
    }

    /// The installer's progress in a log line: `#{version, percent}`, or `()`.
    ///
    /// ```rhai
    /// let p = ocp::progress("DEBUG Still waiting for the cluster to initialize: Working towards 4.2.4: 98% complete");
    /// assert(p.version == "4.2.4" && p.percent == 98);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn progress(ctx: NativeCallContext, line: &str) -> Res<Dynamic> {
        let p =
            super::progress(line).map(|(version, percent)| super::Progress { version, percent });
        crate::session::to_dynamic(&ctx, &p)
    }

    /// Runs `openshift-install create cluster --dir DIR` (`#{installer, timeout (seconds, default
    /// 5400), log_level ("debug"), release_image}`; `release_image`, for a disconnected install,
    /// is the release in the mirror registry, given to the installer as
    /// OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE): its output goes to DIR/labsh-install.log, progress lines are
    /// shown as they change, and when it fails or the wait expires the error carries the last
    /// progress, the error lines and the log's tail. A cluster this labsh already installed in DIR
    /// is left alone. Returns `#{kubeconfig, changed}`.
    ///
    /// ```rhai
    /// if plan_mode() { ocp::install("out/ocp-install", #{installer: "openshift-install", timeout: 3600}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn install(ctx: NativeCallContext, dir: &str, opts: Map) -> Res<Map> {
        let o = super::InstallOpts::read("ocp::install", opts).map_err(|e| rt_err(&ctx, e))?;
        let release = o.release_image;
        let installer = o.installer.unwrap_or_else(|| "openshift-install".into());
        let timeout = o
            .timeout
            .map_or(std::time::Duration::from_secs(5400), |t| t.0);
        let level = o.log_level.unwrap_or_else(|| "debug".into());
        let done = with_effects(&ctx, |fx| {
            super::installer::install(fx, &installer, dir, timeout, &level, release.as_deref())
        })?;
        to_map(&ctx, &done)
    }

    /// Every problem of an agent-based install's install-config.yaml and agent-config.yaml
    /// (maps) for OpenShift `version`, by the installer's rules for that release
    /// (pkg/asset/agent/installconfig.go, pkg/asset/agent/agentconfig/agenthosts.go): the
    /// control plane's replicas, single-node OpenShift's platform (none), computes (0) and network
    /// type, the platforms it takes, the baremetal VIPs in the machine network, each host's role,
    /// interfaces and MACs (present, valid, unique), its root device hints, the roles' counts
    /// against the replicas, the rendezvous IP inside the machine network and a control-plane
    /// host's address. Each names its file and key; `[]` when fine.
    ///
    /// ```rhai
    /// let ic = #{controlPlane: #{name: "master", replicas: 1}, compute: [#{name: "worker", replicas: 0}],
    ///     networking: #{networkType: "OVNKubernetes", machineNetwork: [#{cidr: "192.168.122.0/24"}]}, platform: #{none: #{}}};
    /// let ac = #{rendezvousIP: "192.168.122.10", hosts: [#{hostname: "ocp01", role: "master",
    ///     interfaces: [#{name: "enp1s0", macAddress: "52:54:00:aa:bb:01"}],
    ///     networkConfig: #{interfaces: [#{name: "enp1s0", "mac-address": "52:54:00:aa:bb:01",
    ///         ipv4: #{enabled: true, address: [#{ip: "192.168.122.10", "prefix-length": 24}]}}]}}]};
    /// assert_eq(ocp::agent_config_problems("4.18", ic, ac), []);
    /// ac.rendezvousIP = "10.0.0.1";
    /// assert(ocp::agent_config_problems("4.18", ic, ac)[0].starts_with("agent-config.yaml: rendezvousIP: 10.0.0.1 is outside"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn agent_config_problems(
        ctx: NativeCallContext,
        version: &str,
        install_config: Map,
        agent_config: Map,
    ) -> Res<Array> {
        let r = release::Release::parse(version).map_err(|e| rt_err(&ctx, e))?;
        let ic = value::to_json(&Dynamic::from_map(install_config));
        let ac = value::to_json(&Dynamic::from_map(agent_config));
        Ok(super::agent::problems(r.version.minor, &ic, &ac)
            .into_iter()
            .map(Dynamic::from)
            .collect())
    }

    /// One step of the agent-based installer in DIR (`#{step, installer, timeout, log_level}`):
    /// step "image" runs `openshift-install agent create image --dir DIR` (DIR/agent.x86_64.iso,
    /// from the install-config.yaml and agent-config.yaml it consumes there), "bootstrap-complete"
    /// and "install-complete" `openshift-install agent wait-for ...`. Its output goes to
    /// DIR/labsh-agent.log, its progress and INFO lines are shown, and when it fails or the wait
    /// expires the error carries the last progress, the error lines, the log's tail and what to
    /// run next. A step done there already (the ISO made, a wait that ended well) is left alone,
    /// so a run stopped during a wait continues with that wait. Returns `#{step, iso, kubeconfig,
    /// changed}`.
    ///
    /// ```rhai
    /// if plan_mode() { ocp::agent("out/substrate", #{step: "image", installer: "openshift-install"}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn agent(ctx: NativeCallContext, dir: &str, opts: Map) -> Res<Map> {
        let err = |e: crate::error::Error| rt_err(&ctx, e);
        let o = super::AgentOpts::read("ocp::agent", opts).map_err(err)?;
        let step = super::agent::Step::parse(&o.step).ok_or_else(|| {
            err(crate::error::Error::invalid(format!(
                "ocp::agent: 'step' is image, bootstrap-complete or install-complete, not {:?}",
                o.step
            )))
        })?;
        let installer = o.installer.unwrap_or_else(|| "openshift-install".into());
        let default = if step == super::agent::Step::Image {
            1800
        } else {
            3600
        };
        let timeout = o
            .timeout
            .map_or(std::time::Duration::from_secs(default), |t| t.0);
        let level = o.log_level.unwrap_or_else(|| "debug".into());
        let done = with_effects(&ctx, |fx| {
            super::agent::run(fx, &installer, dir, step, timeout, &level)
        })?;
        to_map(&ctx, &done)
    }

    /// The path of a tool (`openshift-install`, `oc`): from `dir` or PATH; else, given `#{dir,
    /// mirror, archive, sha256}`, downloaded from the mirror, checked against the sha256 and
    /// unpacked into `dir`.
    ///
    /// ```rhai
    /// let sh = ocp::tool("sh", #{});
    /// assert(sh.ends_with("/sh"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn tool(ctx: NativeCallContext, name: &str, opts: Map) -> Res<String> {
        let err = |e: crate::error::Error| rt_err(&ctx, e);
        let o = super::ToolOpts::read("ocp::tool", opts).map_err(err)?;
        let dir = o.dir;
        if let Some(p) = super::tools::find(name, dir.as_deref()) {
            return Ok(p);
        }
        let (Some(mirror), Some(archive), Some(sha)) = (o.mirror, o.archive, o.sha256) else {
            return Err(err(crate::error::Error::not_found(format!(
                "{name} is neither on PATH nor in {}; install it, or give #{{mirror, archive, sha256}} to download it",
                dir.as_deref().unwrap_or("the lab folder")
            ))));
        };
        let dir = dir.ok_or_else(|| {
            err(crate::error::Error::invalid(format!(
                "ocp::tool {name}: 'dir' is needed to download into"
            )))
        })?;
        with_effects(&ctx, |fx| {
            super::tools::download(fx, name, &dir, &mirror, &archive, &sha)
        })
    }

    /// The VIPs a keepalived.conf configures: `[#{instance, address}]`.
    ///
    /// ```rhai
    /// let v = ocp::keepalived_vips("vrrp_instance ocp4_API { state BACKUP virtual_ipaddress { 10.0.0.5/16 } }");
    /// assert(v[0].instance == "ocp4_API" && v[0].address == "10.0.0.5/16");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn keepalived_vips(ctx: NativeCallContext, conf: &str) -> Res<Array> {
        let vips: Vec<super::Vip> = super::keepalived_vips(conf)
            .into_iter()
            .map(|(instance, address)| super::Vip { instance, address })
            .collect();
        crate::session::to_array(&ctx, &vips)
    }

    /// What an haproxy.cfg balances: `#{binds: [..], servers: [#{backend, name, address}]}`.
    ///
    /// ```rhai
    /// let h = ocp::haproxy_backends("frontend main bind :7443 default_backend masters backend masters server etcd-0 10.0.0.11:6443 check");
    /// assert(h.binds == [":7443"] && h.servers[0].address == "10.0.0.11:6443");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn haproxy_backends(ctx: NativeCallContext, cfg: &str) -> Res<Map> {
        let (servers, binds) = super::haproxy_backends(cfg);
        let servers = servers
            .into_iter()
            .map(|(backend, name, address)| super::Server {
                backend,
                name,
                address,
            })
            .collect();
        to_map(&ctx, &super::Balanced { binds, servers })
    }

    /// Writes install-config.yaml into the installer's folder (0600: it holds the pull secret)
    /// unless the installer has already consumed it there (metadata.json present: the cluster
    /// exists or is being made), which is reported as ok. `true` when written.
    ///
    /// ```rhai
    /// let d = run_info().state_dir + "/example-install";
    /// ocp::write_install_config(d, #{apiVersion: "v1", pullSecret: secret("example-pull", #{generate: true})});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_install_config(ctx: NativeCallContext, dir: &str, config: Map) -> Res<bool> {
        let p = format!("{dir}/install-config.yaml");
        if Path::new(dir).join("metadata.json").is_file() {
            return with_effects(&ctx, |fx| {
                fx.unchanged(Op::new("ocp.install_config", &p).arg("consumed", true));
                Ok::<_, crate::error::Error>(false)
            });
        }
        let mut secret = false;
        let d = Dynamic::from_map(config);
        let real = crate::modules::files::exposed_json(&d, &mut secret);
        let text = crate::util::yaml::yaml_text(&real).map_err(|e| rt_err(&ctx, e))?;
        with_effects(&ctx, |fx| {
            crate::effects::files::ensure_file(fx, &p, &text, true, Some(value::to_json(&d)))
        })
    }
}
