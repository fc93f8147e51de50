//! Virtual BMCs: VirtualBMC (IPMI) and sushy-tools (Redfish), their clients, and instackenv.json.

use crate::error::Error;

pub mod client;
pub mod redfish;
pub mod zmtp;

use crate::effects::secret::Secret;
use crate::engine::value;
use crate::modules::opts::{
    in_range, item_label, option_spec, type_name, OptField, OptMap, OptSecret, OptionSpec,
};
use crate::session::Res;
use crate::session::{rt_err, session, to_array, with_effects};
use client::{BmcSpec, Ipmi, Node, Vbmc};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

/// IPMI 2.0 (lanplus) passwords are at most 20 bytes.
fn check_ipmi_password(func: &str, s: &Secret) -> Result<(), Error> {
    if s.expose().len() > 20 {
        return Err(Error::invalid(format!(
            "{func}: the password {} is {} bytes; IPMI allows at most 20 (make it with secret(\"{}\", #{{generate: true, length: 16}}))",
            s.mask(),
            s.expose().len(),
            s.name()
        )));
    }
    Ok(())
}

fn port_of(func: &str, key: &str, port: i64) -> Result<u16, Error> {
    in_range(func, key, port, 1..=65535, "port number").map(|p| p as u16)
}

option_spec! {
    /// The options of `bmc::vbmc_ensure`.
    pub struct VbmcOpts {
        /// The libvirt domain it serves.
        domain: String,
        /// The address it listens on (default 127.0.0.1).
        address: Option<String>,
        /// Its IPMI port.
        port: i64,
        /// The IPMI user (default admin).
        username: Option<String>,
        /// The IPMI password, at most 20 bytes.
        password: OptSecret,
        /// The libvirt URI of the domain.
        libvirt_uri: String,
        /// A virtualbmc.conf (default ~/.vbmc).
        config: Option<String>,
        /// Started (default true).
        start: Option<bool>,
    }
}

option_spec! {
    /// The options of `bmc::vbmc_list`, `vbmc_stop` and `vbmc_delete`.
    pub struct VbmcConfigOpts {
        /// A virtualbmc.conf (default ~/.vbmc).
        config: Option<String>,
    }
}

option_spec! {
    /// A BMC reached with ipmitool (`bmc::ipmi_power`).
    pub struct IpmiOpts {
        /// Its address (default 127.0.0.1).
        address: Option<String>,
        /// Its IPMI port.
        port: i64,
        /// The IPMI user (default admin).
        username: Option<String>,
        /// The IPMI password, at most 20 bytes.
        password: OptSecret,
        /// Seconds per try, 1 to 60 (default ipmitool's).
        timeout: Option<i64>,
    }
}

option_spec! {
    /// The credentials of a Redfish service.
    pub struct AuthOpts {
        /// The user (default admin).
        username: Option<String>,
        /// The password.
        password: OptSecret,
    }
}

option_spec! {
    /// The options of `bmc::sushy_ensure`.
    pub struct SushyOpts {
        /// The address it listens on (default 127.0.0.1).
        address: Option<String>,
        /// Its port.
        port: i64,
        /// The libvirt URI of the domains it serves.
        libvirt_uri: String,
        /// Its PID file.
        pid_file: String,
    }
}

option_spec! {
    /// The options of `bmc::sushy_configured`.
    pub struct SushyConfiguredOpts {
        /// The address it listens on (default 127.0.0.1).
        address: Option<String>,
        /// Its port.
        port: i64,
        /// The libvirt URI of the domains it serves.
        libvirt_uri: String,
        /// Its PID file.
        pid_file: String,
        /// Its configuration file.
        config: String,
        /// The Redfish user (default admin).
        username: Option<String>,
        /// The Redfish password.
        password: OptSecret,
        /// The systems it serves: `#{uuid, disk_bytes}` each.
        systems: Vec<OptMap>,
    }
}

option_spec! {
    /// One system of `bmc::sushy_configured`.
    pub struct SystemOpts {
        /// The domain's UUID.
        uuid: String,
        /// Its disk's size in bytes.
        disk_bytes: i64,
    }
}

option_spec! {
    /// One node of instackenv.json.
    pub struct NodeOpts {
        /// The node's name.
        name: String,
        /// ipmi or redfish (default ipmi).
        pm_type: Option<String>,
        /// The BMC's address.
        pm_addr: String,
        /// The BMC's port (a redfish node: in pm_addr's URL).
        pm_port: Option<i64>,
        /// The BMC user (default admin).
        pm_user: Option<String>,
        /// The BMC password.
        pm_password: OptSecret,
        /// The node's MACs.
        mac: Vec<String>,
        /// A redfish node's system path.
        pm_system_id: Option<String>,
        /// The profile it is tagged with.
        profile: Option<String>,
        /// vCPUs.
        cpu: Option<i64>,
        /// Memory in MiB.
        memory_mib: Option<i64>,
        /// Disk in GB.
        disk_gb: Option<i64>,
    }
}

/// The option maps of the `bmc` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("vbmc_ensure", VbmcOpts::FIELDS),
    ("vbmc_list", VbmcConfigOpts::FIELDS),
    ("vbmc_stop", VbmcConfigOpts::FIELDS),
    ("vbmc_delete", VbmcConfigOpts::FIELDS),
    ("ipmi_power", IpmiOpts::FIELDS),
    ("redfish_systems", AuthOpts::FIELDS),
    ("redfish_reset", AuthOpts::FIELDS),
    ("sushy_ensure", SushyOpts::FIELDS),
    ("sushy_configured", SushyConfiguredOpts::FIELDS),
];

fn vbmc_of(func: &str, m: Map) -> Result<Vbmc, Error> {
    let o = VbmcConfigOpts::read(func, m)?;
    Ok(Vbmc { config: o.config })
}

fn bmc_spec(m: Map) -> Result<(BmcSpec, Vbmc, bool), Error> {
    let func = item_label("BMC of", &m, "domain", "?");
    let o = VbmcOpts::read(&func, m)?;
    let address = o.address.unwrap_or_else(|| "127.0.0.1".into());
    if address.parse::<std::net::IpAddr>().is_err() {
        return Err(Error::invalid(format!(
            "{func}: 'address' {address:?} is not an IP address"
        )));
    }
    let password = o.password.0;
    check_ipmi_password(&func, &password)?;
    Ok((
        BmcSpec {
            domain: o.domain,
            address,
            port: port_of(&func, "port", o.port)?,
            username: o.username.unwrap_or_else(|| "admin".into()),
            libvirt_uri: o.libvirt_uri,
            password,
        },
        Vbmc { config: o.config },
        o.start.unwrap_or(true),
    ))
}

fn ipmi_of(m: Map) -> Result<Ipmi, Error> {
    let o = IpmiOpts::read("ipmi", m)?;
    let password = o.password.0;
    check_ipmi_password("ipmi", &password)?;
    let timeout = match o.timeout {
        Some(t) => Some(in_range("ipmi", "timeout", t, 1..=60, "seconds")? as u16),
        None => None,
    };
    Ok(Ipmi {
        address: o.address.unwrap_or_else(|| "127.0.0.1".into()),
        port: port_of("ipmi", "port", o.port)?,
        username: o.username.unwrap_or_else(|| "admin".into()),
        password,
        timeout,
    })
}

/// The credentials of a Redfish service: `#{username: "admin", password: secret(..)}`.
fn auth_of(func: &str, m: Map) -> Result<redfish::Auth, Error> {
    let o = AuthOpts::read(func, m)?;
    let username = o.username.unwrap_or_else(|| "admin".into());
    // curl reads NAME:PASSWORD up to the first colon as the name.
    if username.contains(':') {
        return Err(Error::invalid(format!(
            "{func}: 'username' {username:?} has a colon, which HTTP basic auth cannot carry in a user name"
        )));
    }
    Ok(redfish::Auth {
        username,
        password: o.password.0,
    })
}

/// A Redfish reset of one system, its type checked first.
fn reset(
    ctx: &NativeCallContext,
    base_url: &str,
    system_id: &str,
    reset_type: &str,
    auth: Option<&redfish::Auth>,
) -> Res<()> {
    const TYPES: [&str; 7] = [
        "On",
        "ForceOff",
        "GracefulShutdown",
        "ForceRestart",
        "GracefulRestart",
        "Nmi",
        "PushPowerButton",
    ];
    if !TYPES.contains(&reset_type) {
        return Err(rt_err(
            ctx,
            Error::invalid(format!(
                "redfish_reset: unknown ResetType {reset_type:?}: one of {}",
                TYPES.join(", ")
            )),
        ));
    }
    with_effects(ctx, |fx| {
        redfish::redfish_reset(fx, base_url, system_id, reset_type, auth)
    })
}

/// A Redfish node's pm_addr as tripleo-common's Redfish driver takes it: the BMC's URL with its
/// port (`port`, a script's pm_port, goes into it). A URL with another port is an error.
fn redfish_addr(func: &str, addr: &str, port: Option<u16>) -> Result<String, Error> {
    let (scheme, rest) = match addr.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), addr),
    };
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    // "[::1]" has no port: its colons are inside the brackets.
    let has = match host.rsplit_once(':') {
        Some((_, p)) if !p.contains(']') => Some(p),
        _ => None,
    };
    match (has, port) {
        (Some(p), Some(q)) if p != q.to_string() => Err(Error::invalid(format!(
            "{func}: pm_addr {addr:?} has port {p}, pm_port says {q}: give the port once, in pm_addr"
        ))),
        (None, Some(q)) => Ok(format!("{scheme}{host}:{q}{path}")),
        _ => Ok(addr.to_string()),
    }
}

fn nodes_of(nodes: Array) -> Result<Vec<Node>, Error> {
    let mut out = Vec::new();
    let mut seen_ports = std::collections::HashSet::new();
    for (i, n) in nodes.into_iter().enumerate() {
        let Some(m) = n.read_lock::<Map>().map(|m| m.clone()) else {
            return Err(Error::invalid(format!(
                "instackenv: node {i} must be a map"
            )));
        };
        let func = item_label("instackenv node", &m, "name", &format!("#{i}"));
        let o = NodeOpts::read(&func, m)?;
        let pm_type = o.pm_type.unwrap_or_else(|| "ipmi".into());
        if pm_type != "ipmi" && pm_type != "redfish" {
            return Err(Error::invalid(format!(
                "{func}: 'pm_type' must be ipmi or redfish, not {pm_type:?}"
            )));
        }
        let name = o.name;
        let redfish = pm_type == "redfish";
        let pm_port = match o.pm_port {
            None if redfish => None,
            None => {
                return Err(Error::invalid(format!(
                    "{func}: 'pm_port' is required (port number)"
                )))
            }
            Some(p) => Some(port_of(&func, "pm_port", p)?),
        };
        let mut pm_addr = o.pm_addr;
        if redfish {
            pm_addr = redfish_addr(&func, &pm_addr, pm_port)?;
        }
        let macs = o.mac;
        let mut fields = serde_json::json!({
            "name": name,
            "pm_type": pm_type,
            "pm_addr": &pm_addr,
            "pm_user": o.pm_user.unwrap_or_else(|| "admin".into()),
            "mac": macs,
            "arch": "x86_64",
        });
        // The Redfish driver of tripleo-common has no pm_port: its port is in pm_addr's URL
        // (tripleo_common/utils/nodes.py RedfishDriverInfo, whose validate_nodes refuses the
        // field: 15.4.0 for OSP 17.1, 8.x for OSP 13); IPMI's is its own field.
        if let (false, Some(port)) = (redfish, pm_port) {
            fields["pm_port"] = port.to_string().into();
        }
        match o.pm_system_id {
            Some(s) => fields["pm_system_id"] = s.into(),
            // Both releases' Redfish driver needs it (mandatory_fields).
            None if redfish => {
                return Err(Error::invalid(format!(
                    "{func}: a redfish node needs 'pm_system_id', its system's path (/redfish/v1/Systems/ID)"
                )))
            }
            None => {}
        }
        if let Some(p) = o.profile {
            fields["capabilities"] = format!("profile:{p},boot_option:local").into();
        }
        // instackenv.json holds the sizes as strings.
        for (key, value, field, unit) in [
            ("cpu", o.cpu, "cpu", "vCPUs"),
            ("memory_mib", o.memory_mib, "memory", "MiB"),
            ("disk_gb", o.disk_gb, "disk", "GB"),
        ] {
            if let Some(n) = value {
                fields[field] = in_range(&func, key, n, 1..=i64::MAX, unit)?
                    .to_string()
                    .into();
            }
        }
        let serde_json::Value::Object(fields) = fields else {
            unreachable!("json!({{..}}) is an object")
        };
        let node = Node {
            fields,
            pm_password: o.pm_password.0,
        };
        if let (false, Some(pm_port)) = (redfish, pm_port) {
            if !seen_ports.insert((pm_addr.clone(), pm_port)) {
                return Err(Error::conflict(format!(
                    "{func}: BMC {pm_addr}:{pm_port} is used by another node too"
                )));
            }
        }
        out.push(node);
    }
    Ok(out)
}

#[export_module]
pub mod bmc_fns {
    /// Adds a VirtualBMC for a domain and starts it, or finds it so: `#{domain, port, address:
    /// "127.0.0.1", username: "admin", password: secret(..), libvirt_uri, config (a
    /// virtualbmc.conf, else ~/.vbmc), start: true}`. A BMC already on another address or port, or
    /// a port in use, is an error.
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     bmc::vbmc_ensure(#{domain: "example-node", port: 6299, password: secret("bmc", #{generate: true, length: 16}),
    ///         libvirt_uri: "qemu:///system"});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn vbmc_ensure(ctx: NativeCallContext, spec: Map) -> Res<bool> {
        let (spec, v, start) = super::bmc_spec(spec).map_err(|e| super::rt_err(&ctx, e))?;
        super::with_effects(&ctx, |fx| super::client::vbmc_ensure(fx, &v, &spec, start))
    }

    /// `vbmc_ensure` for several BMCs at once: one `vbmc list`, no port given twice, then the adds
    /// and starts on up to `--jobs` threads. Returns whether each changed.
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     let pw = secret("bmc", #{generate: true, length: 16});
    ///     bmc::vbmcs_ensure([#{domain: "n1", port: 6230, password: pw, libvirt_uri: "qemu:///system"},
    ///                        #{domain: "n2", port: 6231, password: pw, libvirt_uri: "qemu:///system"}]);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn vbmcs_ensure(ctx: NativeCallContext, specs: Array) -> Res<Array> {
        let mut parsed = Vec::new();
        let mut vb = None;
        let mut start = true;
        for (i, s) in specs.into_iter().enumerate() {
            let t = super::type_name(&s);
            let m = s.try_cast::<Map>().ok_or_else(|| {
                super::rt_err(
                    &ctx,
                    Error::invalid(format!("vbmcs_ensure: item {i} must be a map, not {t}")),
                )
            })?;
            let (spec, v, st) = super::bmc_spec(m).map_err(|e| super::rt_err(&ctx, e))?;
            parsed.push(spec);
            vb = Some(v);
            start = st;
        }
        let Some(v) = vb else { return Ok(Array::new()) };
        let jobs = super::session(&ctx)?.jobs();
        let r = super::with_effects(&ctx, |fx| {
            super::client::vbmcs_ensure(fx, &v, &parsed, start, jobs)
        })?;
        Ok(r.into_iter().map(Dynamic::from).collect())
    }

    /// The VirtualBMCs vbmcd knows: `[#{domain, status, address, port}]`. `opts.config`: a
    /// virtualbmc.conf.
    ///
    /// ```rhai
    /// if img::have("vbmc") && false { bmc::vbmc_list(#{}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn vbmc_list(ctx: NativeCallContext, opts: Map) -> Res<Array> {
        let v = super::vbmc_of("vbmc_list", opts).map_err(|e| super::rt_err(&ctx, e))?;
        let rows = super::with_effects(&ctx, |fx| v.list(fx))?;
        let rows: Vec<super::client::VbmcRow> =
            rows.iter().map(super::client::VbmcRow::of).collect();
        super::to_array(&ctx, &rows)
    }

    /// Stops a domain's VirtualBMC (ok when stopped).
    ///
    /// ```rhai
    /// if img::have("vbmc") && false { bmc::vbmc_stop("overcloud-ctrl01", #{}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn vbmc_stop(ctx: NativeCallContext, domain: &str, opts: Map) -> Res<bool> {
        let v = super::vbmc_of("vbmc_stop", opts).map_err(|e| super::rt_err(&ctx, e))?;
        super::with_effects(&ctx, |fx| super::client::vbmc_stop(fx, &v, domain))
    }

    /// Deletes a domain's VirtualBMC (ok when there is none).
    ///
    /// ```rhai
    /// if img::have("vbmc") && false { bmc::vbmc_delete("overcloud-ctrl01", #{}); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn vbmc_delete(ctx: NativeCallContext, domain: &str, opts: Map) -> Res<bool> {
        let v = super::vbmc_of("vbmc_delete", opts).map_err(|e| super::rt_err(&ctx, e))?;
        super::with_effects(&ctx, |fx| super::client::vbmc_delete(fx, &v, domain))
    }

    /// Whether nothing listens on `address`:`port` (UDP, as IPMI does).
    ///
    /// ```rhai
    /// assert(bmc::port_free("127.0.0.1", 6999));
    /// ```
    pub fn port_free(address: &str, port: i64) -> bool {
        (1..=65535).contains(&port) && super::client::port_free(address, port as u16)
    }

    /// `ipmitool -I lanplus ... power ACTION` (status, on, off, reset, cycle, soft) against
    /// `#{address, port, username, password: secret(..), timeout}`; returns ipmitool's answer
    /// ("Chassis Power is on"). `status` is a read and also runs in plan mode. The password
    /// goes to ipmitool in its environment (`-E`), never on its command line. `timeout`
    /// (seconds, 1 to 60): how long ipmitool waits for an answer before it asks once more and
    /// gives up, so a BMC that does not answer fails in about twice that (ipmitool's own wait
    /// is about 20 s).
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     bmc::ipmi_power(#{port: 6230, password: secret("bmc", #{generate: true, length: 16})}, "off");
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ipmi_power(ctx: NativeCallContext, bmc: Map, action: &str) -> Res<String> {
        let i = super::ipmi_of(bmc).map_err(|e| super::rt_err(&ctx, e))?;
        super::with_effects(&ctx, |fx| super::client::ipmi_power(fx, &i, action))
    }

    /// Starts the Redfish emulator on `address`:`port` for `libvirt_uri` (ok when something
    /// already answers there), recording its PID in `pid_file`.
    ///
    /// ```rhai
    /// if plan_mode() && img::have("sushy-emulator") {
    ///     bmc::sushy_ensure(#{port: 8000, libvirt_uri: "qemu:///system", pid_file: "/tmp/sushy.pid"});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sushy_ensure(ctx: NativeCallContext, opts: Map) -> Res<bool> {
        let err = |e: crate::error::Error| super::rt_err(&ctx, e);
        let o = super::SushyOpts::read("sushy_ensure", opts).map_err(err)?;
        let address = o.address.unwrap_or_else(|| "127.0.0.1".into());
        let port = super::port_of("sushy_ensure", "port", o.port).map_err(err)?;
        let uri = o.libvirt_uri;
        let pid = o.pid_file;
        super::with_effects(&ctx, |fx| {
            super::redfish::sushy_ensure(fx, &address, port, &uri, &pid)
        })
    }

    /// The lab's Redfish BMCs: a sushy-emulator on `address`:`port` for `libvirt_uri` that
    /// serves only `systems` (`[#{uuid, disk_bytes}]`: each domain's UUID and disk size, what
    /// Redfish inspection reads) behind HTTP basic auth (`username`, `password`: a secret). Its
    /// configuration (`config`, a path; the password file beside it keeps a bcrypt hash) is
    /// written, and the emulator started (PID in `pid_file`), or started again when they
    /// changed. `true` when anything changed.
    ///
    /// ```rhai
    /// if plan_mode() && img::have("sushy-emulator") {
    ///     bmc::sushy_configured(#{port: 8000, libvirt_uri: "qemu:///system", pid_file: "/tmp/sushy.pid",
    ///         config: "/tmp/sushy.conf", password: secret("bmc", #{generate: true, length: 16}),
    ///         systems: [#{uuid: "1b0c0000-0000-4000-8000-000000000002", disk_bytes: 4294967296}]});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sushy_configured(ctx: NativeCallContext, opts: Map) -> Res<bool> {
        let err = |e: crate::error::Error| super::rt_err(&ctx, e);
        let o = super::SushyConfiguredOpts::read("sushy_configured", opts).map_err(err)?;
        let mut systems = vec![];
        for (i, super::OptMap(m)) in o.systems.into_iter().enumerate() {
            let f = format!("sushy_configured: systems[{i}]");
            let so = super::SystemOpts::read(&f, m).map_err(err)?;
            systems.push(super::redfish::RedfishSystem {
                uuid: so.uuid,
                disk_bytes: super::in_range(&f, "disk_bytes", so.disk_bytes, 1..=i64::MAX, "bytes")
                    .map_err(err)? as u64,
            });
        }
        let spec = super::redfish::SushySpec {
            address: o.address.unwrap_or_else(|| "127.0.0.1".into()),
            port: super::port_of("sushy_configured", "port", o.port).map_err(err)?,
            libvirt_uri: o.libvirt_uri,
            pid_file: o.pid_file,
            config: o.config,
            username: o.username.unwrap_or_else(|| "admin".into()),
            password: o.password.0,
            systems,
        };
        super::with_effects(&ctx, |fx| super::redfish::sushy_configured(fx, &spec))
    }

    /// Whether the Redfish emulator recorded in `pid_file` runs: the PID names a live
    /// sushy-emulator process (not another program that took the PID over, not a zombie).
    ///
    /// ```rhai
    /// assert(!bmc::sushy_running("/nonexistent/labsh-doc-sushy.pid"));
    /// ```
    pub fn sushy_running(pid_file: &str) -> bool {
        super::redfish::running(pid_file)
    }

    /// Stops the Redfish emulator recorded in `pid_file`.
    ///
    /// ```rhai
    /// bmc::sushy_stop("/nonexistent/labsh-doc-sushy.pid");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sushy_stop(ctx: NativeCallContext, pid_file: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| super::redfish::sushy_stop(fx, pid_file))
    }

    /// The systems of a Redfish service (`http://127.0.0.1:8000`): `[#{id, name, power}]`.
    ///
    /// ```rhai
    /// if false { bmc::redfish_systems("http://127.0.0.1:8000"); }
    /// ```
    #[rhai_fn(name = "redfish_systems", return_raw)]
    pub fn redfish_systems(ctx: NativeCallContext, base_url: &str) -> Res<Array> {
        let rows = super::with_effects(&ctx, |fx| {
            super::redfish::redfish_systems(fx, base_url, None)
        })?;
        super::to_array(&ctx, &rows)
    }

    /// `redfish_systems` of a service behind HTTP basic auth (the lab's emulator,
    /// `sushy_configured`): `auth` is `#{username: "admin", password: secret(..)}`, given to curl
    /// on its input, never on its command line.
    ///
    /// ```rhai
    /// if false {
    ///     bmc::redfish_systems("http://127.0.0.1:8000", #{username: "admin", password: secret("bmc", #{generate: true, length: 16})});
    /// }
    /// ```
    #[rhai_fn(name = "redfish_systems", return_raw)]
    pub fn redfish_systems_auth(ctx: NativeCallContext, base_url: &str, auth: Map) -> Res<Array> {
        let auth = super::auth_of("redfish_systems", auth).map_err(|e| super::rt_err(&ctx, e))?;
        let rows = super::with_effects(&ctx, |fx| {
            super::redfish::redfish_systems(fx, base_url, Some(&auth))
        })?;
        super::to_array(&ctx, &rows)
    }

    /// A Redfish reset of one system: `reset_type` On, ForceOff, GracefulShutdown, ForceRestart.
    ///
    /// ```rhai
    /// if plan_mode() { bmc::redfish_reset("http://127.0.0.1:8000", "some-uuid", "ForceOff"); }
    /// ```
    #[rhai_fn(name = "redfish_reset", return_raw)]
    pub fn redfish_reset(
        ctx: NativeCallContext,
        base_url: &str,
        system_id: &str,
        reset_type: &str,
    ) -> Res<()> {
        super::reset(&ctx, base_url, system_id, reset_type, None)
    }

    /// `redfish_reset` on a service behind HTTP basic auth: `auth` is `#{username: "admin",
    /// password: secret(..)}`, given to curl on its input, never on its command line.
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     bmc::redfish_reset("http://127.0.0.1:8000", "some-uuid", "ForceOff",
    ///         #{password: secret("bmc", #{generate: true, length: 16})});
    /// }
    /// ```
    #[rhai_fn(name = "redfish_reset", return_raw)]
    pub fn redfish_reset_auth(
        ctx: NativeCallContext,
        base_url: &str,
        system_id: &str,
        reset_type: &str,
        auth: Map,
    ) -> Res<()> {
        let auth = super::auth_of("redfish_reset", auth).map_err(|e| super::rt_err(&ctx, e))?;
        super::reset(&ctx, base_url, system_id, reset_type, Some(&auth))
    }

    /// instackenv.json for the nodes (passwords masked): each `#{name, pm_type: "ipmi"/"redfish",
    /// pm_addr, pm_port, pm_user, pm_password: secret(..), pm_system_id, mac: [..], profile, cpu,
    /// memory_mib, disk_gb}`. A node is written as the release's node validation takes it
    /// (tripleo-common's validate_nodes): an IPMI node with its pm_port; a Redfish node with its
    /// BMC's URL in pm_addr (a pm_port given goes into it) and its pm_system_id, and no pm_port,
    /// which tripleo-common's Redfish driver does not have.
    ///
    /// ```rhai
    /// let pw = secret("bmc", #{generate: true, length: 16});
    /// let j = bmc::instackenv([#{name: "overcloud-ctrl01", pm_addr: "172.16.0.254", pm_port: 6230,
    ///     pm_password: pw, mac: ["52:54:00:01:02:03"], profile: "control"}]);
    /// assert_eq(j.nodes[0].pm_password, "«secret bmc»");
    /// let r = bmc::instackenv([#{name: "overcloud-ctrl01", pm_type: "redfish", pm_addr: "http://172.16.0.254",
    ///     pm_port: 8000, pm_system_id: "/redfish/v1/Systems/0b6b0b6e", pm_password: pw, mac: []}]);
    /// assert_eq(r.nodes[0].pm_addr, "http://172.16.0.254:8000");
    /// assert(!("pm_port" in r.nodes[0]));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn instackenv(ctx: NativeCallContext, nodes: Array) -> Res<Map> {
        let nodes = super::nodes_of(nodes).map_err(|e| super::rt_err(&ctx, e))?;
        let v = super::client::instackenv(&nodes, false);
        Ok(super::value::from_json(&v)
            .try_cast::<Map>()
            .unwrap_or_default())
    }

    /// Writes instackenv.json (real passwords, mode 0600); ok when the file is already so.
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     bmc::write_instackenv("/tmp/instackenv.json", [#{name: "n1", pm_addr: "127.0.0.1",
    ///         pm_port: 6230, pm_password: secret("bmc", #{generate: true, length: 16}), mac: []}]);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn write_instackenv(ctx: NativeCallContext, path: &str, nodes: Array) -> Res<bool> {
        let nodes = super::nodes_of(nodes).map_err(|e| super::rt_err(&ctx, e))?;
        super::with_effects(&ctx, |fx| super::client::write_instackenv(fx, path, &nodes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(extra: &[(&str, Dynamic)]) -> Array {
        let mut m = Map::new();
        m.insert("name".into(), "ctrl01".into());
        m.insert("pm_addr".into(), "127.0.0.1".into());
        m.insert("pm_port".into(), Dynamic::from(6230_i64));
        m.insert(
            "mac".into(),
            Dynamic::from(vec![Dynamic::from("52:54:00:aa:bb:cc")]),
        );
        m.insert(
            "pm_password".into(),
            Dynamic::from(Secret::new("bmc", "nodes-of-unit-pw")),
        );
        for (k, v) in extra {
            m.insert((*k).into(), v.clone());
        }
        vec![Dynamic::from(m)]
    }

    #[test]
    fn a_redfish_node_has_its_port_in_its_url_and_needs_its_system() {
        let redfish = |extra: &[(&str, Dynamic)]| {
            let mut x: Vec<(&str, Dynamic)> = vec![
                ("pm_type", "redfish".into()),
                ("pm_addr", "http://172.16.0.254".into()),
                ("pm_port", Dynamic::from(8000_i64)),
            ];
            x.extend(extra.iter().cloned());
            nodes_of(node(&x))
        };
        let e = redfish(&[]).unwrap_err();
        assert!(e.message().contains("needs 'pm_system_id'"), "{e}");
        let n = redfish(&[("pm_system_id", "/redfish/v1/Systems/abc".into())]).unwrap();
        let f = &n[0].fields;
        assert_eq!(f["pm_addr"], "http://172.16.0.254:8000");
        assert!(!f.contains_key("pm_port"), "{f:?}");
        assert_eq!(f["pm_system_id"], "/redfish/v1/Systems/abc");
        // Without pm_port the URL is taken as it is; a URL with another port is refused.
        let mut x = node(&[
            ("pm_type", "redfish".into()),
            ("pm_addr", "https://[::1]:8443/".into()),
            ("pm_system_id", "/redfish/v1/Systems/abc".into()),
        ]);
        if let Some(mut m) = x[0].write_lock::<Map>() {
            m.remove("pm_port");
        }
        assert_eq!(
            nodes_of(x).unwrap()[0].fields["pm_addr"],
            "https://[::1]:8443/"
        );
        let e = redfish(&[
            ("pm_addr", "http://172.16.0.254:8001".into()),
            ("pm_system_id", "/redfish/v1/Systems/abc".into()),
        ])
        .unwrap_err();
        assert!(
            e.message().contains("has port 8001, pm_port says 8000"),
            "{e}"
        );
    }

    #[test]
    fn an_instackenv_node_holds_the_files_fields_and_refuses_sizes_below_one() {
        let n = nodes_of(node(&[
            ("cpu", Dynamic::from(4_i64)),
            ("profile", "control".into()),
        ]))
        .unwrap();
        let f = &n[0].fields;
        assert_eq!(f["pm_port"], "6230");
        assert_eq!(f["cpu"], "4");
        assert_eq!(f["capabilities"], "profile:control,boot_option:local");
        assert!(!f.contains_key("pm_password") && !f.contains_key("memory"));
        let e = nodes_of(node(&[("memory_mib", Dynamic::from(0_i64))])).unwrap_err();
        assert!(
            e.message().contains("'memory_mib' = 0 MiB is out of range"),
            "{e}"
        );
    }
}
