//! libvirt XML for networks and domains: written from specs, read back into facts to compare.
//! Every network and domain labsh defines carries `<labsh:lab>` in its `<metadata>`.

use crate::error::{Context, Error};
use std::fmt::Write;

/// The namespace of labsh's metadata element.
pub const NS: &str = "https://labsh.dev/xmlns/lab/1";

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn owner_xml(lab: &str) -> String {
    format!(
        "<metadata><labsh:lab xmlns:labsh=\"{NS}\">{}</labsh:lab></metadata>",
        esc(lab)
    )
}

/// A network as labsh wants it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetSpec {
    pub name: String,
    pub bridge: Option<String>,
    /// "nat", "route", "open", "bridge" (onto the host bridge `bridge`) or `None` (isolated).
    pub forward: Option<String>,
    pub address: Option<String>,
    pub netmask: Option<String>,
    /// `None`: no DHCP.
    pub dhcp: Option<(String, String)>,
    pub autostart: bool,
    pub active: bool,
}

#[expect(
    clippy::let_underscore_must_use,
    reason = "write! into a String cannot fail"
)]
pub fn network_xml(spec: &NetSpec, lab: &str) -> String {
    let mut x = String::new();
    let _ = write!(
        x,
        "<network><name>{}</name>{}",
        esc(&spec.name),
        owner_xml(lab)
    );
    if let Some(f) = &spec.forward {
        let _ = write!(x, "<forward mode=\"{}\"/>", esc(f));
    }
    // libvirt 9.0's docs/formatnetwork.rst, "Using an existing host bridge": a network of
    // forward mode "bridge" is the host's bridge by name, with no <ip> (src/conf/network_conf.c
    // refuses one: "Unsupported <ip> element in network ... with forward mode='bridge'") and no
    // STP or delay of its own: libvirt neither makes nor configures that bridge.
    if spec.forward.as_deref() == Some("bridge") {
        if let Some(b) = &spec.bridge {
            let _ = write!(x, "<bridge name=\"{}\"/>", esc(b));
        }
        x.push_str("</network>");
        return x;
    }
    if let Some(b) = &spec.bridge {
        let _ = write!(x, "<bridge name=\"{}\" stp=\"on\" delay=\"0\"/>", esc(b));
    }
    if let Some(a) = &spec.address {
        let _ = write!(x, "<ip address=\"{}\"", esc(a));
        if let Some(m) = &spec.netmask {
            let _ = write!(x, " netmask=\"{}\"", esc(m));
        }
        match &spec.dhcp {
            Some((s, e)) => {
                let _ = write!(
                    x,
                    "><dhcp><range start=\"{}\" end=\"{}\"/></dhcp></ip>",
                    esc(s),
                    esc(e)
                );
            }
            None => x.push_str("/>"),
        }
    }
    x.push_str("</network>");
    x
}

/// What a network is, read from its XML.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetFacts {
    pub name: String,
    pub uuid: String,
    pub bridge: Option<String>,
    pub forward: Option<String>,
    pub address: Option<String>,
    pub netmask: Option<String>,
    pub dhcp_ranges: Vec<(String, String)>,
    pub owner: Option<String>,
}

fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn owner_of(root: roxmltree::Node) -> Option<String> {
    let md = child(root, "metadata")?;
    md.children()
        .find(|c| {
            c.is_element() && c.tag_name().name() == "lab" && c.tag_name().namespace() == Some(NS)
        })
        .map(|c| c.text().unwrap_or("").to_string())
}

pub fn parse_network(xml: &str) -> Result<NetFacts, Error> {
    let doc = roxmltree::Document::parse(xml).context("bad network XML")?;
    let root = doc.root_element();
    let text = |n: &str| {
        child(root, n)
            .and_then(|c| c.text())
            .unwrap_or("")
            .to_string()
    };
    let mut f = NetFacts {
        name: text("name"),
        uuid: text("uuid"),
        owner: owner_of(root),
        ..Default::default()
    };
    f.bridge = child(root, "bridge")
        .and_then(|b| b.attribute("name"))
        .map(str::to_string);
    f.forward = child(root, "forward")
        .and_then(|b| b.attribute("mode").or(Some("nat")))
        .map(str::to_string);
    if let Some(ip) = root.children().find(|c| {
        c.is_element()
            && c.tag_name().name() == "ip"
            && c.attribute("family").is_none_or(|f| f == "ipv4")
    }) {
        f.address = ip.attribute("address").map(str::to_string);
        f.netmask = ip.attribute("netmask").map(str::to_string);
        if let Some(d) = child(ip, "dhcp") {
            for r in d
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "range")
            {
                f.dhcp_ranges.push((
                    r.attribute("start").unwrap_or("").to_string(),
                    r.attribute("end").unwrap_or("").to_string(),
                ));
            }
        }
    }
    Ok(f)
}

#[derive(Clone, Debug, PartialEq)]
pub struct Disk {
    pub path: String,
    pub bus: String,
    pub format: String,
    /// "disk" or "cdrom".
    pub device: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Nic {
    pub network: String,
    pub model: String,
    pub mac: String,
}

/// A domain as labsh wants it.
#[derive(Clone, Debug, PartialEq)]
pub struct DomSpec {
    pub name: String,
    pub memory_mib: u64,
    pub vcpus: u32,
    /// "kvm" or "qemu".
    pub domain_type: String,
    /// "host-passthrough", "host-model", or "" for the hypervisor's default.
    pub cpu_mode: String,
    pub machine: String,
    pub disks: Vec<Disk>,
    pub nics: Vec<Nic>,
    /// "hd", "network", "cdrom".
    pub boot: Vec<String>,
    pub autostart: bool,
    /// Whether it should be running.
    pub running: bool,
}

fn dev_name(bus: &str, i: usize) -> String {
    let prefix = match bus {
        "virtio" => "vd",
        "ide" => "hd",
        _ => "sd",
    };
    format!("{prefix}{}", (b'a' + i as u8) as char)
}

#[expect(
    clippy::let_underscore_must_use,
    reason = "write! into a String cannot fail"
)]
pub fn domain_xml(spec: &DomSpec, lab: &str, uuid: Option<&str>) -> String {
    let mut x = String::new();
    let _ = write!(
        x,
        "<domain type=\"{}\"><name>{}</name>",
        esc(&spec.domain_type),
        esc(&spec.name)
    );
    if let Some(u) = uuid {
        let _ = write!(x, "<uuid>{}</uuid>", esc(u));
    }
    x.push_str(&owner_xml(lab));
    let _ = write!(
        x,
        "<memory unit=\"KiB\">{m}</memory><currentMemory unit=\"KiB\">{m}</currentMemory><vcpu placement=\"static\">{}</vcpu>",
        spec.vcpus,
        m = spec.memory_mib * 1024
    );
    let _ = write!(
        x,
        "<os><type arch=\"x86_64\" machine=\"{}\">hvm</type>",
        esc(&spec.machine)
    );
    for b in &spec.boot {
        let _ = write!(x, "<boot dev=\"{}\"/>", esc(b));
    }
    x.push_str("</os><features><acpi/><apic/></features>");
    if !spec.cpu_mode.is_empty() {
        let _ = write!(x, "<cpu mode=\"{}\"/>", esc(&spec.cpu_mode));
    }
    x.push_str("<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash><devices>");
    let mut per_bus: std::collections::HashMap<&str, usize> = Default::default();
    for d in &spec.disks {
        let n = per_bus.entry(d.bus.as_str()).or_default();
        let _ = write!(
            x,
            "<disk type=\"file\" device=\"{}\"><driver name=\"qemu\" type=\"{}\"/><source file=\"{}\"/><target dev=\"{}\" bus=\"{}\"/></disk>",
            esc(&d.device),
            esc(&d.format),
            esc(&d.path),
            dev_name(&d.bus, *n),
            esc(&d.bus)
        );
        *n += 1;
    }
    for n in &spec.nics {
        let _ = write!(
            x,
            "<interface type=\"network\"><mac address=\"{}\"/><source network=\"{}\"/><model type=\"{}\"/></interface>",
            esc(&n.mac),
            esc(&n.network),
            esc(&n.model)
        );
    }
    x.push_str("<serial type=\"pty\"/><console type=\"pty\"/><graphics type=\"vnc\" autoport=\"yes\" listen=\"127.0.0.1\"/></devices></domain>");
    x
}

/// What a domain is, read from its XML.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DomFacts {
    pub name: String,
    pub uuid: String,
    pub domain_type: String,
    pub memory_kib: u64,
    pub vcpus: u32,
    pub disks: Vec<(String, String)>,
    /// (network, mac, model), in order.
    pub nics: Vec<(String, String, String)>,
    pub owner: Option<String>,
}

pub fn parse_domain(xml: &str) -> Result<DomFacts, Error> {
    let doc = roxmltree::Document::parse(xml).context("bad domain XML")?;
    let root = doc.root_element();
    let text = |n: &str| {
        child(root, n)
            .and_then(|c| c.text())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut f = DomFacts {
        name: text("name"),
        uuid: text("uuid"),
        domain_type: root.attribute("type").unwrap_or("").to_string(),
        owner: owner_of(root),
        ..Default::default()
    };
    if let Some(m) = child(root, "memory") {
        let v: u64 = m.text().unwrap_or("0").trim().parse().unwrap_or(0);
        f.memory_kib = match m.attribute("unit").unwrap_or("KiB") {
            "b" | "bytes" => v / 1024,
            "M" | "MiB" => v * 1024,
            "G" | "GiB" => v * 1024 * 1024,
            _ => v,
        };
    }
    f.vcpus = text("vcpu").parse().unwrap_or(0);
    if let Some(devs) = child(root, "devices") {
        for d in devs.children().filter(|c| c.is_element()) {
            match d.tag_name().name() {
                "disk" => {
                    let src = child(d, "source")
                        .and_then(|s| s.attribute("file"))
                        .unwrap_or("");
                    let bus = child(d, "target")
                        .and_then(|s| s.attribute("bus"))
                        .unwrap_or("");
                    f.disks.push((src.to_string(), bus.to_string()));
                }
                "interface" => {
                    let net = child(d, "source")
                        .and_then(|s| s.attribute("network"))
                        .unwrap_or("");
                    let mac = child(d, "mac")
                        .and_then(|s| s.attribute("address"))
                        .unwrap_or("");
                    let model = child(d, "model")
                        .and_then(|s| s.attribute("type"))
                        .unwrap_or("");
                    f.nics
                        .push((net.to_string(), mac.to_lowercase(), model.to_string()));
                }
                _ => {}
            }
        }
    }
    Ok(f)
}

/// A running domain's consoles, read from its live XML: the serial console's pty (libvirt
/// gives the path once the domain runs) and the graphical console's VNC address.
#[derive(Clone, Debug, PartialEq, Default, serde::Serialize)]
pub struct Consoles {
    /// The pty of the first serial port (`<serial type="pty"><source path=...>`).
    pub serial: Option<String>,
    /// `LISTEN:PORT` of the VNC graphics (the port libvirt chose with autoport).
    pub vnc: Option<String>,
}

pub fn parse_consoles(xml: &str) -> Result<Consoles, Error> {
    let doc = roxmltree::Document::parse(xml).context("bad domain XML")?;
    let mut c = Consoles::default();
    let Some(devs) = child(doc.root_element(), "devices") else {
        return Ok(c);
    };
    for d in devs.children().filter(|n| n.is_element()) {
        match d.tag_name().name() {
            "serial" if c.serial.is_none() && d.attribute("type") == Some("pty") => {
                c.serial = child(d, "source")
                    .and_then(|s| s.attribute("path"))
                    .map(str::to_string);
            }
            "graphics" if c.vnc.is_none() && d.attribute("type") == Some("vnc") => {
                // A port of -1 is one libvirt has not chosen yet (the domain is not running).
                let port = d.attribute("port").and_then(|p| p.parse::<u16>().ok());
                let listen = d
                    .attribute("listen")
                    .or_else(|| child(d, "listen").and_then(|l| l.attribute("address")))
                    .unwrap_or("127.0.0.1");
                c.vnc = port.map(|p| format!("{listen}:{p}"));
            }
            _ => {}
        }
    }
    Ok(c)
}

/// What differs between a domain and its spec, one phrase each.
pub fn domain_diff(spec: &DomSpec, f: &DomFacts) -> Vec<String> {
    let mut d = Vec::new();
    if f.memory_kib != spec.memory_mib * 1024 {
        d.push(format!(
            "memory {} MiB, wanted {} MiB",
            f.memory_kib / 1024,
            spec.memory_mib
        ));
    }
    if f.vcpus != spec.vcpus {
        d.push(format!("vcpus {}, wanted {}", f.vcpus, spec.vcpus));
    }
    let want_disks: Vec<(String, String)> = spec
        .disks
        .iter()
        .map(|x| (x.path.clone(), x.bus.clone()))
        .collect();
    if f.disks != want_disks {
        d.push(format!("disks {:?}, wanted {:?}", f.disks, want_disks));
    }
    let want_nics: Vec<(String, String)> = spec
        .nics
        .iter()
        .map(|n| (n.network.clone(), n.mac.to_lowercase()))
        .collect();
    let have_nics: Vec<(String, String)> =
        f.nics.iter().map(|n| (n.0.clone(), n.1.clone())).collect();
    if have_nics != want_nics {
        d.push(format!("NICs {have_nics:?}, wanted {want_nics:?}"));
    }
    d
}

/// A MAC address derived from the lab, the VM and the NIC's index: the same on every run.
/// Locally administered, unicast (first octet 0x52, as libvirt's own 52:54:00 prefix).
pub fn derived_mac(lab: &str, vm: &str, index: usize) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("labsh-mac\0{lab}\0{vm}\0{index}").as_bytes());
    format!("52:54:{:02x}:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2], h[3])
}

/// A network's XML without the `connections` count libvirt puts on the live root element.
pub fn without_connections(xml: &str) -> String {
    let Some(start) = xml.find("<network") else {
        return xml.to_string();
    };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    let head = &xml[start..end];
    let Some(at) = head.find(" connections=") else {
        return xml.to_string();
    };
    let rest = &head[at + " connections=".len()..];
    let quote = rest.chars().next().unwrap_or('\'');
    let len = rest
        .get(1..)
        .and_then(|r| r.find(quote))
        .map_or(rest.len(), |q| q + 2);
    let cut = start + at..start + at + " connections=".len() + len;
    format!("{}{}", &xml[..cut.start], &xml[cut.end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_count_is_not_part_of_a_definition() {
        assert_eq!(
            without_connections("<network connections='22'>\n  <name>default</name>\n</network>"),
            "<network>\n  <name>default</name>\n</network>"
        );
        assert_eq!(
            without_connections("<network ipv6=\"yes\" connections=\"3\"><name>n</name></network>"),
            "<network ipv6=\"yes\"><name>n</name></network>"
        );
        let plain = "<network><name>n</name><bridge name='virbr1'/></network>";
        assert_eq!(without_connections(plain), plain);
    }

    #[test]
    fn network_round_trip() {
        let spec = NetSpec {
            name: "provisioning".into(),
            address: Some("172.16.0.254".into()),
            netmask: Some("255.255.255.0".into()),
            ..Default::default()
        };
        let f = parse_network(&network_xml(&spec, "lab")).unwrap();
        assert_eq!(f.owner.as_deref(), Some("lab"));
        assert_eq!(f.address.as_deref(), Some("172.16.0.254"));
        assert!(f.dhcp_ranges.is_empty());
        assert_eq!(f.forward, None);
    }

    #[test]
    fn each_forward_mode_is_written_as_libvirt_reads_it() {
        let mut spec = NetSpec {
            name: "ext".into(),
            address: Some("10.9.0.1".into()),
            netmask: Some("255.255.255.0".into()),
            ..Default::default()
        };
        for mode in ["nat", "route", "open"] {
            spec.forward = Some(mode.into());
            let x = network_xml(&spec, "lab");
            assert!(x.contains(&format!("<forward mode=\"{mode}\"/>")), "{x}");
            let f = parse_network(&x).unwrap();
            assert_eq!(f.forward.as_deref(), Some(mode));
            assert_eq!(f.address.as_deref(), Some("10.9.0.1"));
        }
        spec.forward = Some("bridge".into());
        spec.bridge = Some("br-cust".into());
        let x = network_xml(&spec, "lab");
        assert!(
            x.contains("<forward mode=\"bridge\"/><bridge name=\"br-cust\"/></network>"),
            "{x}"
        );
        assert!(!x.contains("<ip"), "{x}");
        let f = parse_network(&x).unwrap();
        assert_eq!(f.forward.as_deref(), Some("bridge"));
        assert_eq!(f.bridge.as_deref(), Some("br-cust"));
        assert_eq!(f.address, None);
    }

    #[test]
    fn domain_round_trip_and_diff() {
        let spec = DomSpec {
            name: "undercloud".into(),
            memory_mib: 12288,
            vcpus: 8,
            domain_type: "qemu".into(),
            cpu_mode: String::new(),
            machine: "q35".into(),
            disks: vec![Disk {
                path: "/i/u.qcow2".into(),
                bus: "virtio".into(),
                format: "qcow2".into(),
                device: "disk".into(),
            }],
            nics: vec![
                Nic {
                    network: "provisioning".into(),
                    model: "virtio".into(),
                    mac: derived_mac("lab", "undercloud", 0),
                },
                Nic {
                    network: "default".into(),
                    model: "virtio".into(),
                    mac: derived_mac("lab", "undercloud", 1),
                },
            ],
            boot: vec!["hd".into()],
            autostart: true,
            running: true,
        };
        let f = parse_domain(&domain_xml(&spec, "lab", None)).unwrap();
        assert_eq!(f.owner.as_deref(), Some("lab"));
        assert!(
            domain_diff(&spec, &f).is_empty(),
            "{:?}",
            domain_diff(&spec, &f)
        );
        let mut bigger = spec.clone();
        bigger.memory_mib = 16384;
        assert_eq!(
            domain_diff(&bigger, &f),
            vec!["memory 12288 MiB, wanted 16384 MiB"]
        );
    }

    #[test]
    fn every_domain_has_a_serial_console_and_a_vnc_display_on_loopback() {
        let spec = DomSpec {
            name: "vm".into(),
            memory_mib: 256,
            vcpus: 1,
            domain_type: "qemu".into(),
            cpu_mode: String::new(),
            machine: "pc".into(),
            disks: vec![],
            nics: vec![],
            boot: vec!["hd".into()],
            autostart: false,
            running: true,
        };
        let x = domain_xml(&spec, "lab", None);
        let doc = roxmltree::Document::parse(&x).unwrap();
        let devs = child(doc.root_element(), "devices").unwrap();
        let of = |tag: &str| {
            devs.children()
                .filter(|n| n.tag_name().name() == tag)
                .map(|n| n.attribute("type").unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(of("serial"), ["pty"]);
        assert_eq!(of("console"), ["pty"]);
        assert_eq!(of("graphics"), ["vnc"]);
        let g = child(devs, "graphics").unwrap();
        assert_eq!(g.attribute("listen"), Some("127.0.0.1"));
    }

    #[test]
    fn a_running_domains_consoles_are_read_from_its_live_xml() {
        // virsh dumpxml of a running domain (libvirt 9.0): the pty and the port it chose.
        let live = r#"<domain type="qemu"><name>vm</name><devices>
            <serial type="pty"><source path="/dev/pts/7"/><target type="isa-serial" port="0"/></serial>
            <console type="pty" tty="/dev/pts/7"><source path="/dev/pts/7"/><target type="serial" port="0"/></console>
            <graphics type="vnc" port="5901" autoport="yes" listen="127.0.0.1"><listen type="address" address="127.0.0.1"/></graphics>
            </devices></domain>"#;
        assert_eq!(
            parse_consoles(live).unwrap(),
            Consoles {
                serial: Some("/dev/pts/7".into()),
                vnc: Some("127.0.0.1:5901".into()),
            }
        );
        // A definition (the domain off): no pty, no port.
        let off = r#"<domain><devices><serial type="pty"/><graphics type="vnc" port="-1" autoport="yes" listen="127.0.0.1"/></devices></domain>"#;
        assert_eq!(parse_consoles(off).unwrap(), Consoles::default());
    }

    #[test]
    fn macs_are_stable_and_distinct() {
        let a = derived_mac("lab", "ctrl01", 0);
        assert_eq!(a, derived_mac("lab", "ctrl01", 0));
        assert_ne!(a, derived_mac("lab", "ctrl01", 1));
        assert_ne!(a, derived_mac("lab2", "ctrl01", 0));
        assert!(a.starts_with("52:54:") && a.len() == 17);
    }
}
