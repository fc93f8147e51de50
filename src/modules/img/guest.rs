//! The guest operating system of a disk image: read from the image by libguestfs inspection
//! (virt-inspector), from the file names Red Hat, CentOS and Fedora publish their guest images
//! under, or from an explicit libosinfo short id ("rhel9.4"). No Rhai types here.

use crate::error::{Context, Error};
use serde::Serialize;

/// A guest operating system as libguestfs names it: its distribution (`inspect-get-distro`:
/// "rhel", "centos", "fedora", "rocky", ...), major and minor version, and whether a CentOS is
/// CentOS Stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guest {
    pub distro: String,
    pub major: u32,
    pub minor: Option<u32>,
    /// CentOS Stream, not CentOS Linux.
    pub stream: bool,
    /// How people write it: "RHEL 9.4", "CentOS Stream 9", "Fedora 41".
    pub name: String,
    /// The libosinfo short id, as virt-inspector's `<osinfo>` and `base_image.os` give it:
    /// "rhel9.4", "centos-stream9", "fedora41".
    pub os: String,
    /// The RHEL major release the guest is, or is rebuilt from (CentOS, Rocky, AlmaLinux,
    /// Oracle Linux, Scientific Linux); `None` for any other distribution.
    pub el: Option<u32>,
}

/// The distributions built from RHEL's sources, whose major release is RHEL's.
const EL: [&str; 6] = [
    "rhel",
    "centos",
    "rocky",
    "almalinux",
    "oraclelinux",
    "scientificlinux",
];

impl Guest {
    pub fn new(distro: &str, major: u32, minor: Option<u32>, stream: bool) -> Guest {
        let distro = distro.to_ascii_lowercase();
        let stream = stream && distro == "centos";
        let version = match minor {
            Some(m) if !stream => format!("{major}.{m}"),
            _ => major.to_string(),
        };
        let shown = match distro.as_str() {
            "rhel" => "RHEL".to_string(),
            "centos" if stream => "CentOS Stream".to_string(),
            "centos" => "CentOS".to_string(),
            "fedora" => "Fedora".to_string(),
            "rocky" => "Rocky Linux".to_string(),
            "almalinux" => "AlmaLinux".to_string(),
            "oraclelinux" => "Oracle Linux".to_string(),
            "scientificlinux" => "Scientific Linux".to_string(),
            other => other.to_string(),
        };
        let os = if stream {
            format!("centos-stream{major}")
        } else {
            match minor {
                Some(m) => format!("{distro}{major}.{m}"),
                None => format!("{distro}{major}"),
            }
        };
        Guest {
            el: EL.contains(&distro.as_str()).then_some(major),
            name: format!("{shown} {version}"),
            os,
            distro,
            major,
            minor: if stream { None } else { minor },
            stream,
        }
    }
}

/// `s` without the extensions guest images are published with (qcow2, img, raw, and the
/// archives around them).
fn strip_extensions(s: &str) -> &str {
    const EXT: [&str; 12] = [
        ".xz", ".gz", ".bz2", ".zst", ".tar", ".qcow2c", ".qcow2", ".img", ".raw", ".vmdk", ".ova",
        ".iso",
    ];
    let mut s = s;
    while let Some(e) = EXT.iter().find(|e| s.ends_with(*e)) {
        s = &s[..s.len() - e.len()];
    }
    s
}

/// The version at the start of `s`: one or two digits of major release, then optionally `.`
/// and the minor release; and the rest. A version runs to the end or to a character that is not
/// a letter or digit (so "x86_64" or a build date is none).
fn version_at(s: &str) -> Option<(u32, Option<u32>, &str)> {
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(s);
    if n == 0 || n > 2 {
        return None;
    }
    let major: u32 = s[..n].parse().ok().filter(|m| *m > 0)?;
    let mut rest = &s[n..];
    let mut minor = None;
    if let Some(r) = rest.strip_prefix('.') {
        let m = digits(r);
        if m > 0 && m <= 2 {
            minor = r[..m].parse().ok();
            rest = &r[m..];
        }
    }
    if rest.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((major, minor, rest))
}

/// Whether position `i` of `s` starts a word: the start, or after a character that is not a
/// letter or digit.
fn at_word(s: &str, i: usize) -> bool {
    i == 0 || !s.as_bytes()[i - 1].is_ascii_alphanumeric()
}

/// The first version in `s` that starts a word and is not part of an architecture's name
/// ("x86_64", "aarch64", "ppc64le": '_' joins a word).
fn first_version(s: &str) -> Option<(u32, Option<u32>)> {
    let b = s.as_bytes();
    (0..s.len())
        .filter(|&i| {
            b[i].is_ascii_digit()
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        })
        .find_map(|i| version_at(&s[i..]).map(|(ma, mi, _)| (ma, mi)))
}

/// The guest a file name says, as Red Hat publishes its KVM guest images
/// (rhel-9.4-x86_64-kvm.qcow2, rhel-baseos-9.0-update-4-x86_64-kvm.qcow2,
/// rhel-server-7.9-update-12-x86_64-kvm.qcow2, rhel-guest-image-7.6-210.x86_64.qcow2,
/// rhel-8.10-x86_64-kvm.qcow2) and CentOS and Fedora theirs (CentOS-7-x86_64-GenericCloud-2009.qcow2,
/// CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2,
/// CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2,
/// Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2), or as labs name them (rhel9-guest.qcow2).
/// `None` when the name says no such guest. A path's folders are not read.
pub fn from_file_name(path: &str) -> Option<Guest> {
    // A URL's query and fragment are not part of its file name.
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let base = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let s = strip_extensions(&base);
    for (key, distro) in [
        ("rhel", "rhel"),
        ("centos", "centos"),
        ("fedora", "fedora"),
        ("rocky", "rocky"),
        ("almalinux", "almalinux"),
    ] {
        let Some(at) = s
            .match_indices(key)
            .map(|(i, _)| i)
            .find(|&i| at_word(s, i))
        else {
            continue;
        };
        let after = &s[at + key.len()..];
        if distro == "rhel" {
            // RHEL's version follows its name, or one of the words Red Hat puts between.
            let rest = after.trim_start_matches(['-', '_']);
            let rest = [
                "server-",
                "baseos-",
                "guest-image-",
                "kvm-rt-image-",
                "kvm-",
            ]
            .iter()
            .find_map(|w| rest.strip_prefix(w))
            .unwrap_or(rest);
            return version_at(rest).map(|(ma, mi, _)| Guest::new("rhel", ma, mi, false));
        }
        let stream = distro == "centos" && after.contains("stream");
        // The others' version is the first one after the name (a build date is none).
        return first_version(after)
            .map(|(ma, mi)| Guest::new(distro, ma, if stream { None } else { mi }, stream));
    }
    None
}

/// The guest a libosinfo short id names, as `base_image.os` takes it and virt-inspector's
/// `<osinfo>` gives it: "rhel9.4", "rhel7", "centos7.0", "centos-stream9", "fedora41",
/// "rocky9", "almalinux9".
pub fn from_os(s: &str) -> Result<Guest, Error> {
    let t = s.trim().to_ascii_lowercase();
    for (prefix, distro, stream) in [
        ("centos-stream", "centos", true),
        ("centos", "centos", false),
        ("rhel", "rhel", false),
        ("fedora", "fedora", false),
        ("rocky", "rocky", false),
        ("almalinux", "almalinux", false),
    ] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let rest = rest.strip_prefix('-').unwrap_or(rest);
            if let Some((ma, mi, "")) = version_at(rest) {
                return Ok(Guest::new(distro, ma, mi, stream));
            }
        }
    }
    Err(Error::invalid(format!(
        "{s:?} is not an operating system as libosinfo names it: such as \"rhel9.4\", \"rhel7.9\", \"centos-stream9\", \"centos7.0\", \"fedora41\""
    )))
}

/// The guest of virt-inspector's XML (its first operating system with a distribution), or
/// `None` when it found none (`<operatingsystems/>`).
pub fn from_inspector_xml(xml: &str) -> Result<Option<Guest>, Error> {
    let doc = roxmltree::Document::parse(xml).context("virt-inspector's output is not XML")?;
    let text = |os: roxmltree::Node, tag: &str| {
        os.children()
            .find(|c| c.has_tag_name(tag))
            .and_then(|c| c.text())
            .map(|t| t.trim().to_string())
    };
    for os in doc
        .root_element()
        .children()
        .filter(|c| c.has_tag_name("operatingsystem"))
    {
        let Some(distro) = text(os, "distro").filter(|d| !d.is_empty() && d != "unknown") else {
            continue;
        };
        let Some(major) = text(os, "major_version").and_then(|m| m.parse::<u32>().ok()) else {
            continue;
        };
        let minor = text(os, "minor_version").and_then(|m| m.parse::<u32>().ok());
        let product = text(os, "product_name").unwrap_or_default();
        let osinfo = text(os, "osinfo").unwrap_or_default();
        let stream = product.contains("Stream") || osinfo.starts_with("centos-stream");
        return Ok(Some(Guest::new(&distro, major, minor, stream)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_file_names_read_as_their_guest() {
        // (file name, the guest's libosinfo id), from the names Red Hat, CentOS and Fedora publish.
        let table = [
            ("rhel-9.4-x86_64-kvm.qcow2", Some("rhel9.4")),
            ("rhel-9.4-aarch64-kvm.qcow2", Some("rhel9.4")),
            ("rhel-baseos-9.0-x86_64-kvm.qcow2", Some("rhel9.0")),
            ("rhel-baseos-9.0-update-4-x86_64-kvm.qcow2", Some("rhel9.0")),
            ("rhel-baseos-9.1-x86_64-kvm.qcow2", Some("rhel9.1")),
            ("rhel-8.10-x86_64-kvm.qcow2", Some("rhel8.10")),
            ("rhel-8.6-x86_64-kvm.qcow2", Some("rhel8.6")),
            ("rhel-server-7.9-x86_64-kvm.qcow2", Some("rhel7.9")),
            (
                "rhel-server-7.9-update-12-x86_64-kvm.qcow2",
                Some("rhel7.9"),
            ),
            (
                "rhel-server-6.10-update-11-x86_64-kvm.qcow2",
                Some("rhel6.10"),
            ),
            (
                "rhel-guest-image-7.2-20160302.0.x86_64.qcow2",
                Some("rhel7.2"),
            ),
            ("rhel-guest-image-7.6-210.x86_64.qcow2", Some("rhel7.6")),
            ("rhel-guest-image-8.7-1660.x86_64.qcow2", Some("rhel8.7")),
            (
                "rhel-guest-image-7.0-20140930.0.x86_64.qcow2",
                Some("rhel7.0"),
            ),
            ("rhel-kvm-rt-image-7.6-220.x86_64.qcow2", Some("rhel7.6")),
            (
                "/var/lib/libvirt/images/rhel-9.4-x86_64-kvm.qcow2",
                Some("rhel9.4"),
            ),
            (
                "https://example.com/x/rhel-9.4-x86_64-kvm.qcow2?sig=abc",
                Some("rhel9.4"),
            ),
            ("rhel7-guest.qcow2", Some("rhel7")),
            ("rhel9-guest.qcow2", Some("rhel9")),
            ("RHEL9.qcow2", Some("rhel9")),
            ("my-rhel-9-lab.img", Some("rhel9")),
            ("CentOS-7-x86_64-GenericCloud-2009.qcow2", Some("centos7")),
            ("CentOS-7-x86_64-GenericCloud.qcow2", Some("centos7")),
            (
                "CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2",
                Some("centos-stream9"),
            ),
            (
                "CentOS-Stream-GenericCloud-x86_64-9-latest.x86_64.qcow2",
                Some("centos-stream9"),
            ),
            (
                "CentOS-Stream-GenericCloud-x86_64-10-latest.x86_64.qcow2",
                Some("centos-stream10"),
            ),
            (
                "CentOS-Stream-GenericCloud-8-20220913.0.x86_64.qcow2",
                Some("centos-stream8"),
            ),
            ("Fedora-Cloud-Base-38-1.6.x86_64.qcow2", Some("fedora38")),
            (
                "Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2",
                Some("fedora41"),
            ),
            (
                "Fedora-Cloud-Base-Generic.x86_64-40-1.14.qcow2",
                Some("fedora40"),
            ),
            (
                "Rocky-9-GenericCloud-Base.latest.x86_64.qcow2",
                Some("rocky9"),
            ),
            ("guest.qcow2", None),
            ("rhel-guest.qcow2", None),
            ("overcloud-full.qcow2", None),
            ("rhelx-9.qcow2", None),
            ("superhel9.qcow2", None),
            ("rhel-20160302.qcow2", None),
        ];
        for (name, want) in table {
            assert_eq!(
                from_file_name(name).map(|g| g.os),
                want.map(str::to_string),
                "{name}"
            );
        }
        let g = from_file_name("rhel-server-7.9-update-12-x86_64-kvm.qcow2").unwrap();
        assert_eq!((g.name.as_str(), g.el), ("RHEL 7.9", Some(7)));
        let c = from_file_name("CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2").unwrap();
        assert_eq!((c.name.as_str(), c.el), ("CentOS Stream 9", Some(9)));
        assert_eq!(
            from_file_name("Fedora-Cloud-Base-38-1.6.x86_64.qcow2")
                .unwrap()
                .el,
            None
        );
    }

    #[test]
    fn osinfo_ids_read_as_their_guest_and_others_are_refused() {
        for (id, name) in [
            ("rhel9.4", "RHEL 9.4"),
            ("rhel7", "RHEL 7"),
            ("RHEL-9.2", "RHEL 9.2"),
            ("centos7.0", "CentOS 7.0"),
            ("centos-stream9", "CentOS Stream 9"),
            ("fedora41", "Fedora 41"),
            ("almalinux9", "AlmaLinux 9"),
        ] {
            assert_eq!(from_os(id).unwrap().name, name, "{id}");
        }
        for bad in ["", "rhel", "rhel9.4.1", "windows10", "rhel9-beta", "9.4"] {
            let e = from_os(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::Kind::Invalid, "{bad}: {e}");
            assert!(e.message().contains("libosinfo"), "{bad}: {e}");
        }
    }

    #[test]
    fn virt_inspectors_xml_gives_the_first_operating_system() {
        let xml = r#"<?xml version="1.0"?>
<operatingsystems>
  <operatingsystem>
    <root>/dev/sda1</root>
    <name>linux</name>
    <distro>rhel</distro>
    <product_name>Red Hat Enterprise Linux 9.4 (Plow)</product_name>
    <major_version>9</major_version>
    <minor_version>4</minor_version>
    <osinfo>rhel9.4</osinfo>
  </operatingsystem>
</operatingsystems>"#;
        let g = from_inspector_xml(xml).unwrap().unwrap();
        assert_eq!((g.os.as_str(), g.name.as_str()), ("rhel9.4", "RHEL 9.4"));
        assert_eq!(
            from_inspector_xml("<?xml version=\"1.0\"?>\n<operatingsystems/>\n").unwrap(),
            None
        );
        assert!(from_inspector_xml("no xml").is_err());
        let cs = xml
            .replace("rhel</distro>", "centos</distro>")
            .replace("rhel9.4", "centos-stream9")
            .replace("Red Hat Enterprise Linux 9.4 (Plow)", "CentOS Stream 9");
        assert_eq!(
            from_inspector_xml(&cs).unwrap().unwrap().os,
            "centos-stream9"
        );
    }
}
