//! libvirt: node facts, networks and domains with ensure semantics, for local and remote URIs.

use crate::effects::Effects;
use crate::error::{Context, Error};

pub mod client;
pub mod libvirt;
pub mod sandbox;
pub mod xml;

use crate::modules::opts::{
    in_range, item_label, one_of, option_spec, type_name, OptField, OptMap, OptionSpec,
};
use crate::session::Res;
use crate::session::{rt_err, session, to_array, to_dynamic, to_map, with_effects};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use std::collections::HashSet;
use xml::{Disk, DomSpec, NetSpec, Nic};

option_spec! {
    /// The options of `virt::network_ensure`.
    pub struct NetOpts {
        /// The lab that owns the network.
        lab: String,
        /// The network's name.
        name: String,
        /// The bridge's name (with forward "bridge": the host's bridge).
        bridge: Option<String>,
        /// nat, route, open, bridge or none (default none: isolated).
        forward: Option<String>,
        /// The host's IPv4 address on the network.
        address: Option<String>,
        /// The network's IPv4 netmask.
        netmask: Option<String>,
        /// The DHCP range `[start, end]`, or false for none.
        dhcp: Dhcp,
        /// Started with the host (default true).
        autostart: Option<bool>,
        /// Started now (default true).
        active: Option<bool>,
    }
}

one_of!(
    /// A network's DHCP range: `[start, end]`, or false.
    Dhcp,
    "array of string or false"
);

fn net_spec(m: Map) -> Result<(NetSpec, String), Error> {
    let func = item_label("network", &m, "name", "?");
    let o = NetOpts::read(&func, m)?;
    let dhcp = match &o.dhcp.0 {
        v if v.is_unit() || v.as_bool() == Ok(false) => None,
        v if v.is_array() => {
            let a = v.clone().into_array().unwrap_or_default();
            let s: Vec<String> = a
                .iter()
                .filter_map(|x| x.clone().into_string().ok())
                .collect();
            if s.len() != 2 {
                return Err(Error::invalid(format!(
                    "{func}: 'dhcp' must be [start, end] addresses or false"
                )));
            }
            Some((s[0].clone(), s[1].clone()))
        }
        v => {
            return Err(Error::invalid(format!(
                "{func}: 'dhcp' must be [start, end] addresses or false, not {}",
                type_name(v)
            )))
        }
    };
    let forward = match o.forward.as_deref() {
        None | Some("none") | Some("") => None,
        Some(f @ ("nat" | "route" | "open" | "bridge")) => Some(f.to_string()),
        Some(other) => {
            return Err(Error::invalid(format!(
                "{func}: 'forward' must be nat, route, open, bridge or none, not {other:?}"
            )))
        }
    };
    // Forward mode "bridge" puts the network on a bridge of the host's, which libvirt neither
    // makes nor addresses (docs/formatnetwork.rst of libvirt 9.0): its name is needed, and an
    // address or DHCP range is refused as libvirt refuses <ip> there.
    if forward.as_deref() == Some("bridge") {
        if o.bridge.is_none() {
            return Err(Error::invalid(format!(
                "{func}: forward \"bridge\" needs 'bridge', the name of the host's bridge"
            )));
        }
        if o.address.is_some() || dhcp.is_some() {
            return Err(Error::invalid(format!(
                "{func}: forward \"bridge\" takes no 'address' or 'dhcp': the host's bridge has its \
                 own, and libvirt refuses an <ip> on such a network"
            )));
        }
    }
    for (key, a) in [("address", &o.address), ("netmask", &o.netmask)] {
        if let Some(a) = a {
            if a.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(Error::invalid(format!(
                    "{func}: '{key}' {a:?} is not an IPv4 address"
                )));
            }
        }
    }
    if let Some((s, e)) = &dhcp {
        for a in [s, e] {
            if a.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(Error::invalid(format!(
                    "{func}: 'dhcp' {a:?} is not an IPv4 address"
                )));
            }
        }
    }
    Ok((
        NetSpec {
            name: o.name,
            bridge: o.bridge,
            forward,
            address: o.address,
            netmask: o.netmask,
            dhcp,
            autostart: o.autostart.unwrap_or(true),
            active: o.active.unwrap_or(true),
        },
        o.lab,
    ))
}

option_spec! {
    /// The options of `virt::domain_ensure` (and each item of `virt::domains_ensure`).
    pub struct DomOpts {
        /// The lab that owns the domain.
        lab: String,
        /// The domain's name.
        name: String,
        /// Memory in MiB (64 to 16 TiB).
        memory_mib: i64,
        /// Virtual CPUs (1 to 1024).
        vcpus: i64,
        /// kvm, qemu or test (default: kvm when the host offers it).
        r#type: Option<String>,
        /// The CPU mode (default host-passthrough on kvm).
        cpu_mode: Option<String>,
        /// The machine type (default q35).
        machine: Option<String>,
        /// Disks: `#{path, bus: "virtio", format: "qcow2", device: "disk"}` each.
        disks: Vec<OptMap>,
        /// NICs: a network's name or `#{network, model: "virtio", mac}` each.
        nics: Nics,
        /// Boot order: hd, network or cdrom each (default ["hd"]).
        boot: Option<Vec<String>>,
        /// Started with the host (default true).
        autostart: Option<bool>,
        /// Running after the ensure (default true).
        running: Option<bool>,
        /// The lab's image folder: every disk's path must be inside it.
        images_dir: Option<String>,
    }
}

one_of!(
    /// A domain's NICs: each a network's name or a map.
    Nics,
    "array of string or map"
);

option_spec! {
    /// One disk of a domain.
    pub struct DiskOpts {
        /// The image file, an absolute path.
        path: String,
        /// virtio, sata, scsi or ide (default virtio).
        bus: Option<String>,
        /// The image format (default qcow2).
        format: Option<String>,
        /// disk or cdrom (default disk).
        device: Option<String>,
    }
}

option_spec! {
    /// One NIC of a domain.
    pub struct NicOpts {
        /// The libvirt network it is on.
        network: String,
        /// The NIC model (default virtio).
        model: Option<String>,
        /// Its MAC (default `virt::mac(lab, name, index)`).
        mac: Option<String>,
    }
}

/// A domain's spec as given, read without I/O: `domain_type` is empty and `cpu_mode` `None` when
/// the spec leaves them to the host ([`resolve_dom`]).
struct DomGiven {
    spec: DomSpec,
    lab: String,
    cpu_mode: Option<String>,
}

fn dom_spec(m: Map) -> Result<DomGiven, Error> {
    let func = item_label("domain", &m, "name", "?");
    let o = DomOpts::read(&func, m)?;
    let memory_mib = in_range(
        &func,
        "memory_mib",
        o.memory_mib,
        64..=16 * 1024 * 1024,
        "MiB",
    )?;
    let vcpus = in_range(&func, "vcpus", o.vcpus, 1..=1024, "vCPUs")?;
    let domain_type = match o.r#type {
        Some(t) if t == "kvm" || t == "qemu" || t == "test" => t,
        Some(t) => {
            return Err(Error::invalid(format!(
                "{func}: 'type' must be kvm or qemu, not {t:?}"
            )))
        }
        None => String::new(),
    };
    let disks = disks_of(&func, o.disks, o.images_dir.as_deref())?;
    let nics = nics_of(&func, &o.nics, &o.lab, &o.name)?;
    let boot = boot_of(&func, o.boot)?;
    Ok(DomGiven {
        spec: DomSpec {
            name: o.name,
            memory_mib: memory_mib as u64,
            vcpus: vcpus as u32,
            domain_type,
            cpu_mode: String::new(),
            machine: o.machine.unwrap_or_else(|| "q35".into()),
            disks,
            nics,
            boot,
            autostart: o.autostart.unwrap_or(true),
            running: o.running.unwrap_or(true),
        },
        lab: o.lab,
        cpu_mode: o.cpu_mode,
    })
}

/// A domain's `disks`: each path absolute, and inside `images_dir` when the lab has one.
fn disks_of(func: &str, disks: Vec<OptMap>, images_dir: Option<&str>) -> Result<Vec<Disk>, Error> {
    let mut out = Vec::new();
    for (i, OptMap(dm)) in disks.into_iter().enumerate() {
        let f = format!("{func}: disks[{i}]");
        let od = DiskOpts::read(&f, dm)?;
        let path = od.path;
        if !path.starts_with('/') {
            return Err(Error::invalid(format!(
                "{f}: 'path' {path:?} must be absolute"
            )));
        }
        if let Some(dir) = images_dir {
            let p = std::path::Path::new(&path);
            if !p.starts_with(dir) || path.contains("/../") {
                return Err(Error::invalid(format!(
                    "{f}: 'path' {path:?} is outside the lab's image folder {dir}"
                )));
            }
        }
        out.push(Disk {
            path,
            bus: od.bus.unwrap_or_else(|| "virtio".into()),
            format: od.format.unwrap_or_else(|| "qcow2".into()),
            device: od.device.unwrap_or_else(|| "disk".into()),
        });
    }
    Ok(out)
}

/// A domain's `nics`: each a network's name or `#{network, model, mac}`; a MAC not given is
/// derived from the lab, the domain's name and the NIC's place.
fn nics_of(func: &str, nics: &Nics, lab: &str, name: &str) -> Result<Vec<Nic>, Error> {
    let items = match &nics.0 {
        v if v.is_unit() => Vec::new(),
        v if v.is_array() => v.clone().into_array().unwrap_or_default(),
        v => {
            return Err(Error::invalid(format!(
                "{func}: option 'nics' expected array of string or map, found {}",
                crate::modules::opts::rhai_name(v)
            )))
        }
    };
    let mut out = Vec::new();
    for (i, n) in items.into_iter().enumerate() {
        let nm: Map = if n.is_string() {
            let mut m = Map::new();
            m.insert("network".into(), n);
            m
        } else if let Some(m) = n.read_lock::<Map>() {
            m.clone()
        } else {
            return Err(Error::invalid(format!(
                "{func}: nics[{i}] must be a network name or #{{network, model, mac}}"
            )));
        };
        let f = format!("{func}: nics[{i}]");
        let on = NicOpts::read(&f, nm)?;
        let mac = match on.mac {
            Some(m) => mac_of(&f, &m)?,
            None => xml::derived_mac(lab, name, i),
        };
        out.push(Nic {
            network: on.network,
            model: on.model.unwrap_or_else(|| "virtio".into()),
            mac,
        });
    }
    Ok(out)
}

/// A MAC address as given (`f` names the NIC), in lower case.
fn mac_of(f: &str, m: &str) -> Result<String, Error> {
    let ok = m.len() == 17
        && m.split(':').count() == 6
        && m.split(':')
            .all(|p| u8::from_str_radix(p, 16).is_ok() && p.len() == 2);
    if !ok {
        return Err(Error::invalid(format!(
            "{f}: 'mac' {m:?} is not a MAC address like 52:54:00:12:34:56"
        )));
    }
    Ok(m.to_lowercase())
}

/// A domain's boot order (`hd` alone when not given).
fn boot_of(func: &str, boot: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let boot = boot.unwrap_or_else(|| vec!["hd".into()]);
    if let Some(b) = boot
        .iter()
        .find(|b| !["hd", "network", "cdrom"].contains(&b.as_str()))
    {
        return Err(Error::invalid(format!(
            "{func}: 'boot' entries are hd, network or cdrom, not {b:?}"
        )));
    }
    Ok(boot)
}

/// A domain's spec with what it left to the host filled in from `uri`'s capabilities: the domain
/// type (kvm when offered, else test, else qemu; in a plan, a host not reachable yet is taken
/// as offering kvm) and the CPU mode (host-passthrough on kvm).
fn resolve_dom(fx: &Effects, uri: &str, given: DomGiven) -> Result<(DomSpec, String), Error> {
    let DomGiven {
        mut spec,
        lab,
        cpu_mode,
    } = given;
    if spec.domain_type.is_empty() {
        let caps = match client::capabilities(fx, uri) {
            Ok(c) => c,
            // Plan mode, target not reachable yet: a real host's default.
            Err(_) if fx.is_plan() => client::Caps {
                arch: String::new(),
                cpu_model: String::new(),
                domain_types: vec!["kvm".into()],
            },
            Err(e) => return Err(e),
        };
        spec.domain_type = if caps.domain_types.iter().any(|t| t == "kvm") {
            "kvm".into()
        } else if caps.domain_types.iter().any(|t| t == "test") {
            "test".into()
        } else {
            "qemu".into()
        };
    }
    spec.cpu_mode = cpu_mode.unwrap_or_else(|| {
        if spec.domain_type == "kvm" {
            "host-passthrough".into()
        } else {
            String::new()
        }
    });
    Ok((spec, lab))
}

option_spec! {
    /// The options of `virt::domain_undefine`.
    pub struct UndefineOpts {
        /// The lab that owns the domain.
        lab: String,
        /// Remove its disk files too (default false).
        storage: Option<bool>,
    }
}

/// The option maps of the `virt` module's functions.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("network_ensure", NetOpts::FIELDS),
    ("domain_ensure", DomOpts::FIELDS),
    ("domain_undefine", UndefineOpts::FIELDS),
];

/// Duplicate names and MACs across a set of domains.
fn check_unique(specs: &[(DomSpec, String)]) -> Result<(), Error> {
    let mut names = HashSet::new();
    let mut macs: std::collections::HashMap<String, String> = Default::default();
    for (s, _) in specs {
        if !names.insert(s.name.clone()) {
            return Err(Error::invalid(format!(
                "domain {}: the name is used twice in this set",
                s.name
            )));
        }
        for (i, n) in s.nics.iter().enumerate() {
            if let Some(other) = macs.insert(n.mac.clone(), format!("{} nics[{i}]", s.name)) {
                return Err(Error::invalid(format!(
                    "domain {} nics[{i}]: MAC {} is also used by {other}",
                    s.name, n.mac
                )));
            }
        }
    }
    Ok(())
}

/// The `virt` module: libvirt's functions and the whole-lab snapshots (src/modules/snapshot/).
pub fn module() -> rhai::Module {
    let mut m = rhai::exported_module!(virt_fns);
    m.combine(rhai::exported_module!(
        crate::modules::snapshot::snapshot_fns
    ));
    m
}

/// What an ensure did, as scripts see it: `#{name, changed, planned, notes}`.
fn ensured_map(ctx: &NativeCallContext, name: &str, e: &client::Ensured) -> Res<Map> {
    let mut m = to_map(ctx, e)?;
    m.insert("name".into(), name.into());
    Ok(m)
}

/// The key that leaves `virsh console` (virsh's default escape, `^]`).
pub const CONSOLE_ESCAPE: &str = "Ctrl+]";

#[export_module]
pub mod virt_fns {
    /// What `virsh nodeinfo` shows: `#{model, cpus, mhz, sockets, cores, threads, numa_cells,
    /// memory_kib, hostname}`. In plan mode an unreachable URI gives `()` and a warning.
    ///
    /// ```rhai
    /// let n = virt::node_info("test:///default");
    /// assert(n.cpus > 0 && n.memory_kib > 0);
    /// if plan_mode() { assert_eq(virt::node_info("test:///nonexistent/host.xml"), ()); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn node_info(ctx: NativeCallContext, uri: &str) -> Res<Dynamic> {
        let n = super::with_effects(&ctx, |fx| {
            let n = super::client::node_info(fx, uri);
            super::client::unless_planned(fx, n, "no node facts in this plan")
        })?;
        super::to_dynamic(&ctx, &n)
    }

    /// The host's capabilities: `#{arch, cpu_model, domain_types}` (`domain_types` holds "kvm"
    /// where hardware virtualization is offered, "qemu" for emulation).
    ///
    /// ```rhai
    /// let c = virt::capabilities("test:///default");
    /// assert(c.domain_types.len() > 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn capabilities(ctx: NativeCallContext, uri: &str) -> Res<Map> {
        let c = super::with_effects(&ctx, |fx| super::client::capabilities(fx, uri))?;
        super::to_map(&ctx, &c)
    }

    /// The sandbox: writes (once) a libvirt test-driver file modelled on the reference
    /// article's L0 host (32 CPUs, 2 NUMA cells, 167676348 KiB, the `default` network) to `path`
    /// and returns its URI, `test:///PATH`. Each labsh run that opens it gets a fresh copy.
    ///
    /// ```rhai
    /// let uri = virt::sandbox_host("/tmp/labsh-doc-sandbox.xml");
    /// if !plan_mode() { assert_eq(virt::node_info(uri).cpus, 32); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sandbox_host(ctx: NativeCallContext, path: &str) -> Res<String> {
        let text = include_str!("sandbox.xml");
        if !path.starts_with('/') {
            return Err(super::rt_err(
                &ctx,
                Error::invalid(format!(
                    "virt::sandbox_host: {path:?} must be an absolute path"
                )),
            ));
        }
        super::with_effects(&ctx, |fx| {
            // A saved sandbox keeps its state: only a missing file is made.
            if !std::path::Path::new(path).exists() {
                crate::effects::files::ensure_file(fx, path, text, false, None)?;
                if fx.is_plan() {
                    // The plan opens the host the run will write.
                    super::sandbox::plan_file(fx, path, text);
                }
            }
            Ok::<_, crate::error::Error>(format!("test://{path}"))
        })
    }

    /// The URI of the seed lab's sandbox, the one the main job uses without `--profile`
    /// (`STATE/sandbox/lab/host.xml`, made when missing): the article's L0 host as libvirt's
    /// test driver, to explore from the REPL. `virt::sandbox(LAB)` is another lab's.
    ///
    /// ```rhai
    /// let uri = virt::sandbox();
    /// if !plan_mode() { assert_eq(virt::node_info(uri).cpus, 32); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sandbox(ctx: NativeCallContext) -> Res<String> {
        sandbox_of(ctx, "lab")
    }

    /// The URI of lab `lab`'s sandbox (a profile's `name`: `"mini"` for profiles/minimal.rhai):
    /// each lab has its own, `STATE/sandbox/LAB/host.xml`, made when missing.
    ///
    /// ```rhai
    /// let uri = virt::sandbox("current");
    /// assert(uri.ends_with("/sandbox/current/host.xml"));
    /// ```
    #[rhai_fn(name = "sandbox", return_raw)]
    pub fn sandbox_of(ctx: NativeCallContext, lab: &str) -> Res<String> {
        let path = crate::paths::sandbox_file(lab).map_err(|e| super::rt_err(&ctx, e))?;
        sandbox_host(ctx, &path.display().to_string())
    }

    /// Saves a sandbox's networks and domains (with their run state and autostart) into its
    /// file, so the next run opens it as this one leaves it: a second run changes nothing and
    /// `--from` continues where it stopped. `virt::sandbox_reset(path)` forgets it.
    ///
    /// ```rhai
    /// let uri = virt::sandbox_host("/tmp/labsh-doc-sandbox-save.xml");
    /// virt::sandbox_save(uri);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sandbox_save(ctx: NativeCallContext, uri: &str) -> Res<bool> {
        let Some(path) = uri.strip_prefix("test://").filter(|p| p.starts_with('/')) else {
            return Err(super::rt_err(
                &ctx,
                Error::invalid(format!(
                    "virt::sandbox_save: {uri} is not a sandbox (test:///PATH)"
                )),
            ));
        };
        super::with_effects(&ctx, |fx| {
            // A plan saves nothing; its sandbox (from memory when the file is still to be
            // written) shows the writes the run will make.
            let (text, auto) = super::client::sandbox_state(fx, uri, include_str!("sandbox.xml"))?;
            let a = crate::effects::files::ensure_file(
                fx,
                &super::sandbox::autostart_file(path),
                &auto,
                false,
                None,
            )?;
            let b = crate::effects::files::ensure_file(fx, path, &text, false, None)?;
            Ok::<_, crate::error::Error>(a || b)
        })
    }

    /// Forgets a sandbox's saved state: the next `sandbox_host` starts from the stock host.
    ///
    /// ```rhai
    /// virt::sandbox_reset("/tmp/labsh-doc-sandbox-reset.xml");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sandbox_reset(ctx: NativeCallContext, path: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| {
            let mut any = false;
            for p in [path.to_string(), super::sandbox::autostart_file(path)] {
                if std::path::Path::new(&p).exists() {
                    #[expect(
                        clippy::disallowed_methods,
                        reason = "the change that forgets a sandbox's saved state"
                    )]
                    fx.change(
                        crate::effects::Op::new("file.remove", &p),
                        || std::fs::remove_file(&p).with_context(|| format!("cannot remove {p}")),
                        || (),
                    )?;
                    any = true;
                }
            }
            Ok::<_, crate::error::Error>(any)
        })
    }

    /// The MAC address of NIC `index` of VM `vm` in lab `lab`: derived from the three, so the
    /// same on every run (`52:54:xx:xx:xx:xx`).
    ///
    /// ```rhai
    /// assert_eq(virt::mac("lab", "undercloud", 0), virt::mac("lab", "undercloud", 0));
    /// ```
    pub fn mac(lab: &str, vm: &str, index: i64) -> String {
        super::xml::derived_mac(lab, vm, index.max(0) as usize)
    }

    /// Makes a network as `spec` says, or checks that it already is: `#{lab, name, address,
    /// netmask, dhcp: [start, end] or false, forward: "nat", "route", "open", "bridge" or "none",
    /// bridge (with forward "bridge": the host's bridge, and no address or dhcp), autostart: true,
    /// active: true}`. An existing network is never redefined; its DHCP range is changed live and
    /// in the config (the seed's removal of `default`'s range), and it is started and autostarted.
    ///
    /// ```rhai
    /// let r = virt::network_ensure("test:///default", #{lab: "doc", name: "doc-prov",
    ///     address: "172.16.0.254", netmask: "255.255.255.0", dhcp: false});
    /// assert_eq(r.name, "doc-prov");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_ensure(ctx: NativeCallContext, uri: &str, spec: Map) -> Res<Map> {
        let (spec, lab) = super::net_spec(spec).map_err(|e| super::rt_err(&ctx, e))?;
        let e = super::with_effects(&ctx, |fx| {
            super::client::network_ensure(fx, uri, &spec, &lab)
        })?;
        super::ensured_map(&ctx, &spec.name, &e)
    }

    /// The networks at `uri`: `[#{name, active, autostart, bridge, lab}]` (`lab`: the owning lab,
    /// or `()` when labsh did not create it).
    ///
    /// ```rhai
    /// let nets = virt::network_list("test:///default");
    /// assert(nets.some(|n| n.name == "default"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_list(ctx: NativeCallContext, uri: &str) -> Res<Array> {
        let rows = super::with_effects(&ctx, |fx| super::client::network_list(fx, uri))?;
        super::to_array(&ctx, &rows)
    }

    /// A network's live XML.
    ///
    /// ```rhai
    /// let x = virt::network_xml("test:///default", "default");
    /// assert(x.contains("<network"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_xml(ctx: NativeCallContext, uri: &str, name: &str) -> Res<String> {
        super::with_effects(&ctx, |fx| super::client::network_xml(fx, uri, name))
    }

    /// A network's definition: its persistent XML, without the run's details (how many
    /// interfaces are connected), so it is the same on every run.
    ///
    /// ```rhai
    /// assert(virt::network_definition("test:///default", "default").contains("<name>default</name>"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_definition(ctx: NativeCallContext, uri: &str, name: &str) -> Res<String> {
        super::with_effects(&ctx, |fx| super::client::network_definition(fx, uri, name))
    }

    /// Makes a domain as `spec` says, or converges an existing one of this lab: `#{lab, name,
    /// memory_mib, vcpus, type: "kvm"/"qemu" (default: kvm when the host offers it), cpu_mode,
    /// machine: "q35", disks: [#{path, bus: "virtio", format: "qcow2"}], nics: ["network" or
    /// #{network, model, mac}], boot: ["hd"], autostart: true, running: true, images_dir}`.
    /// MACs default to `virt::mac(lab, name, index)`. A domain of another lab, or not created by
    /// labsh, is never touched.
    ///
    /// ```rhai
    /// let r = virt::domain_ensure("test:///default", #{lab: "doc", name: "doc-vm", memory_mib: 512,
    ///     vcpus: 1, nics: ["default"], disks: [#{path: "/var/lib/libvirt/images/doc-vm.qcow2"}]});
    /// assert_eq(r.name, "doc-vm");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_ensure(ctx: NativeCallContext, uri: &str, spec: Map) -> Res<Map> {
        let given = super::dom_spec(spec).map_err(|e| super::rt_err(&ctx, e))?;
        let (spec, lab) = super::with_effects(&ctx, |fx| super::resolve_dom(fx, uri, given))?;
        let e = super::with_effects(&ctx, |fx| {
            super::client::check_networks(fx, uri, &[&spec])?;
            super::client::domain_ensure(fx, uri, &spec, &lab)
        })?;
        super::ensured_map(&ctx, &spec.name, &e)
    }

    /// `domain_ensure` for a set of domains: checked together first (no name or MAC twice), then
    /// ensured on up to `--jobs` threads. Returns one result per domain, in order.
    ///
    /// ```rhai
    /// let rs = virt::domains_ensure("test:///default", [
    ///     #{lab: "doc", name: "doc-a", memory_mib: 256, vcpus: 1, nics: ["default"]},
    ///     #{lab: "doc", name: "doc-b", memory_mib: 256, vcpus: 1, nics: ["default"]}]);
    /// assert_eq(rs.len(), 2);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domains_ensure(ctx: NativeCallContext, uri: &str, specs: Array) -> Res<Array> {
        let mut given = Vec::with_capacity(specs.len());
        for (i, s) in specs.into_iter().enumerate() {
            let t = super::type_name(&s);
            let Some(m) = s.try_cast::<Map>() else {
                return Err(super::rt_err(
                    &ctx,
                    Error::invalid(format!("domains_ensure: item {i} must be a map, not {t}")),
                ));
            };
            given.push(super::dom_spec(m).map_err(|e| super::rt_err(&ctx, e))?);
        }
        let mut parsed = Vec::with_capacity(given.len());
        for g in given {
            parsed.push(super::with_effects(&ctx, |fx| {
                super::resolve_dom(fx, uri, g)
            })?);
        }
        super::check_unique(&parsed).map_err(|e| super::rt_err(&ctx, e))?;
        let jobs = super::session(&ctx)?.jobs();
        let all: Vec<&super::DomSpec> = parsed.iter().map(|p| &p.0).collect();
        let done = super::with_effects(&ctx, |fx| {
            super::client::check_networks(fx, uri, &all)?;
            crate::effects::pool::run_all(
                jobs,
                parsed.len(),
                "domains",
                |i| parsed[i].0.name.clone(),
                |i| super::client::domain_ensure(fx, uri, &parsed[i].0, &parsed[i].1),
            )
        })?;
        done.iter()
            .zip(&parsed)
            .map(|(e, p)| super::ensured_map(&ctx, &p.0.name, e).map(Dynamic::from_map))
            .collect()
    }

    /// The domains at `uri`: `[#{name, uuid, state, autostart, lab, vcpus, memory_kib, disks}]`
    /// (`state`: running, shutoff, ...; `lab`: the owning lab, or `()` when labsh did not create
    /// it; `vcpus`, `memory_kib` and `disks`, the files of its disks, as defined).
    ///
    /// ```rhai
    /// let doms = virt::domain_list("test:///default");
    /// let t = doms.filter(|d| d.name == "test")[0];
    /// assert(t.vcpus == 2 && t.memory_kib == 8388608);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_list(ctx: NativeCallContext, uri: &str) -> Res<Array> {
        let rows = super::with_effects(&ctx, |fx| super::client::domain_list(fx, uri))?;
        super::to_array(&ctx, &rows)
    }

    /// A domain's state: running, shutoff, paused, ...
    ///
    /// ```rhai
    /// assert_eq(virt::domain_state("test:///default", "test"), "running");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_state(ctx: NativeCallContext, uri: &str, name: &str) -> Res<String> {
        super::with_effects(&ctx, |fx| super::client::domain_state(fx, uri, name))
    }

    /// A running domain's consoles, as `labsh console` attaches to them: `#{domain, serial,
    /// vnc, escape}` (`serial`: the pty of its serial console, `vnc`: the VNC address of its
    /// graphical one, `escape`: the key that leaves `virsh console`). A domain that is not
    /// running has no console: an error naming its state (nothing is changed).
    ///
    /// ```rhai
    /// // The test driver's domains have no pty: serial and vnc are ().
    /// let c = virt::console("test:///default", "test");
    /// assert_eq(c.escape, "Ctrl+]");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn console(ctx: NativeCallContext, uri: &str, name: &str) -> Res<Map> {
        let c = super::with_effects(&ctx, |fx| super::client::consoles(fx, uri, name))?;
        super::to_map(
            &ctx,
            &serde_json::json!({
                "domain": name,
                "serial": c.serial,
                "vnc": c.vnc,
                "escape": super::CONSOLE_ESCAPE,
            }),
        )
    }

    /// A domain's live XML.
    ///
    /// ```rhai
    /// assert(virt::domain_xml("test:///default", "test").contains("<domain"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_xml(ctx: NativeCallContext, uri: &str, name: &str) -> Res<String> {
        super::with_effects(&ctx, |fx| super::client::domain_xml(fx, uri, name))
    }

    /// A domain's definition: its persistent XML, without the run's details (id, live state),
    /// so it is the same on every run.
    ///
    /// ```rhai
    /// assert(virt::domain_definition("test:///default", "test").contains("<name>test</name>"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_definition(ctx: NativeCallContext, uri: &str, name: &str) -> Res<String> {
        super::with_effects(&ctx, |fx| {
            super::client::domain_xml_flags(fx, uri, name, super::libvirt::VIR_DOMAIN_XML_INACTIVE)
        })
    }

    /// Starts a domain (ok when it already runs). Returns whether anything changed.
    ///
    /// ```rhai
    /// virt::domain_start("test:///default", "test");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_start(ctx: NativeCallContext, uri: &str, name: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| {
            super::client::domain_power(fx, uri, name, "start")
        })
    }

    /// Asks a domain's guest to shut down (ACPI). Returns whether a request was sent.
    ///
    /// ```rhai
    /// virt::domain_ensure("test:///default", #{lab: "doc", name: "doc-sd", memory_mib: 256, vcpus: 1});
    /// virt::domain_shutdown("test:///default", "doc-sd");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_shutdown(ctx: NativeCallContext, uri: &str, name: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| {
            super::client::domain_power(fx, uri, name, "shutdown")
        })
    }

    /// Powers a domain off at once (ok when it is already off).
    ///
    /// ```rhai
    /// virt::domain_ensure("test:///default", #{lab: "doc", name: "doc-off", memory_mib: 256, vcpus: 1});
    /// virt::domain_destroy("test:///default", "doc-off");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_destroy(ctx: NativeCallContext, uri: &str, name: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| {
            super::client::domain_power(fx, uri, name, "destroy")
        })
    }

    /// Turns a domain's autostart on or off.
    ///
    /// ```rhai
    /// virt::domain_autostart("test:///default", "test", true);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_autostart(ctx: NativeCallContext, uri: &str, name: &str, on: bool) -> Res<bool> {
        super::with_effects(&ctx, |fx| {
            super::client::domain_set_autostart(fx, uri, name, on)
        })
    }

    /// Stops and removes a network of lab `lab`; a network without this lab's mark is refused.
    /// Ok when it does not exist.
    ///
    /// ```rhai
    /// virt::network_ensure("test:///default", #{lab: "doc", name: "doc-net-gone", address: "10.99.0.1", netmask: "255.255.255.0"});
    /// virt::network_remove("test:///default", "doc-net-gone", "doc");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn network_remove(ctx: NativeCallContext, uri: &str, name: &str, lab: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| super::client::network_remove(fx, uri, name, lab))
    }

    /// Removes a domain of lab `opts.lab` (stopping it first); with `storage: true` its disk files
    /// too. Domains without this lab's mark are refused. Ok when it does not exist.
    ///
    /// ```rhai
    /// virt::domain_ensure("test:///default", #{lab: "doc", name: "doc-gone", memory_mib: 256, vcpus: 1});
    /// virt::domain_undefine("test:///default", "doc-gone", #{lab: "doc", storage: false});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn domain_undefine(ctx: NativeCallContext, uri: &str, name: &str, opts: Map) -> Res<bool> {
        let o = super::UndefineOpts::read("domain_undefine", opts)
            .map_err(|e| super::rt_err(&ctx, e))?;
        let storage = o.storage.unwrap_or(false);
        super::with_effects(&ctx, |fx| {
            super::client::domain_undefine(fx, uri, name, &o.lab, storage)
        })
    }
}
