//! Whole-lab snapshots of a set of libvirt domains, with no Rhai types: every domain stopped in
//! the same moment (paused, or shut down for a cold one), each one's disks and memory kept, the
//! lab's own folders copied while nothing runs, and everything let run again together; brought
//! back the same way. Every change goes through the effects seam.
//!
//! # The mechanism, and why
//!
//! The lab's disks are qcow2 overlays on one base image (stdlib l1: `VM.qcow2` backed by the base,
//! and the OSD disks, qcow2 too), and the lab's domains boot with BIOS (virt/xml.rs writes no
//! `<loader>`). What libvirt 9.0 (Debian 12's; the oldest this supports) offers, measured on this
//! machine's libvirtd under QEMU 7.2:
//!
//! - **External snapshots** (`--memspec`/`--diskspec ... snapshot=external`) are taken live, the
//!   memory to a file of their own, but each puts a new overlay on top of every disk and points
//!   the domain (its live and its persistent definition) at it: the lab's domains would no longer
//!   name the disks the profile gives them, and the next run's `virt::domain_ensure` would put
//!   them back on the old overlays, now backing files. And libvirt 9.0 cannot revert one: "revert
//!   to external snapshot not supported yet" (reverting came with libvirt 9.7; deleting them
//!   with 9.0).
//! - **Internal snapshots** (`virDomainSnapshotCreateXML` without `disk-only`) keep every qcow2
//!   disk's state inside the disk itself (a qcow2 snapshot: the clusters it holds are copied on
//!   the next write), and of a running domain its memory too (QEMU's `savevm`, written into the
//!   domain's first disk). The domain keeps its disks, its process and its definition; libvirt
//!   reverts one in place (`loadvm`) and deletes one from a running domain. libvirt 9.0 refuses
//!   them for a domain with pflash (UEFI) firmware, running or not: "internal snapshots of a VM
//!   with pflash based firmware are not supported" (src/qemu/qemu_snapshot.c,
//!   qemuSnapshotPrepare; later releases allow inactive ones again).
//! - **`virDomainSaveFlags` + `qemu-img snapshot` + `virDomainRestoreFlags`**: the memory saved to
//!   a file (which stops QEMU), each disk snapshotted by qemu-img while nothing holds it, the
//!   domain restored from the file. This works for UEFI too (with the NVRAM file copied), but
//!   every save stops and starts every QEMU process, and deleting a snapshot needs the domains
//!   stopped again (qemu-img cannot change an image QEMU holds).
//!
//! Measured on the seed's L1 (8 domains, OSD disks, QEMU under emulation on 2 loaded CPUs;
//! tools/bench-snapshot.sh, docs/PERFORMANCE.md): libvirt's internal snapshots, all domains
//! paused first and snapshotted at once, 4.0-10.3 s to save and 7.3-9.0 s to revert (with the
//! BMCs checked); one domain after the other as kcli's plan snapshots do (`virsh
//! snapshot-create-as` / `snapshot-revert`), 11.6-19.2 s and 21.1-24.1 s, with each domain
//! caught at another moment. The save/qemu-img/restore way was not measured: it stops and
//! starts every QEMU process at each save, which internal snapshots do not.
//!
//! Where a live save's time goes (perf on QEMU, the QEMU processes' CPU time, strace of their
//! syncs; the seed's L1 has 80 GiB of guest memory, of which its idle guests touched 0.5 GiB):
//! nearly all of it is QEMU's `savevm` on the CPU, which walks every page of the guest's
//! memory, touched or not, checks it for zeros and writes a record of each (QEMU 7.2 has no way
//! to pass over the untouched ones); its syncs take a few tens of milliseconds a domain. So the
//! work grows with the memory the domains have, the peers' way does the same work one domain
//! after the other, and a save cannot go below that work spread over the host's CPUs
//! (tools/bench/snapshot-floor.sh, docs/PERFORMANCE.md). What labsh adds is kept off the time
//! the lab stands still: the domains are read at once before it stops, the snapshots of the
//! largest are asked for first (libvirtd runs only a few calls of one connection at a time:
//! `max_client_requests`, 5 by default in libvirt's libvirtd.conf, so a large one left to the
//! end would run alone), and the lab's folders are copied while QEMU writes.
//!
//! So a snapshot here is libvirt's internal snapshot of every domain, named as the lab's
//! snapshot: live, every running domain is paused (all at once, on `--jobs` threads) before the
//! first snapshot starts and resumed only when the last is done, so the lab is caught at one
//! moment; cold, every domain is shut down first (ACPI, then powered off when it does not stop in
//! time) and started again after. A domain with pflash firmware is refused with libvirt's reason.
//! The data lives in the disks (each domain's memory in its first disk: that folder needs the
//! room, which is checked before anything stops), libvirt's record of each snapshot in its
//! domain's snapshot metadata, and labsh's record (the domains' definitions, autostart and
//! states, libvirt's snapshot XML to redefine a record libvirt lost, the lab's own folders as
//! they were) in the snapshot's folder in labsh's state (`snapshot.json`, `files/`).
//!
//! On libvirt's test driver (the sandbox) nothing outlives the process but what the sandbox
//! file keeps, which has no snapshots: there a snapshot is modelled, keeping and restoring the
//! domains' definitions, autostart and states only.

use crate::effects::process::Command;
use crate::effects::{Effects, Op};
use crate::error::Error;
use crate::modules::virt::client::connect;
use crate::modules::virt::libvirt::{self, Connect, Domain};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The file that holds a snapshot's record, in its folder.
pub const MANIFEST: &str = "snapshot.json";

/// The room each disk's snapshot needs besides the memory: its tables (qcow2 copies the L1 table
/// and grows its refcounts), generously.
const DISK_MARGIN: u64 = 16 << 20;

/// What a snapshot is: labsh's record, `snapshot.json` in the snapshot's folder.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Manifest {
    pub name: String,
    pub lab: String,
    pub uri: String,
    /// When it was taken (RFC 3339, UTC) and in milliseconds since the epoch.
    pub created: String,
    pub created_ms: u64,
    /// Taken with the domains shut down (no memory).
    pub cold: bool,
    /// Kept by labsh alone (libvirt's test driver): the domains' definitions, autostart and
    /// states, no disks or memory.
    pub modelled: bool,
    pub domains: Vec<DomainRecord>,
    /// The lab's folders, as they were.
    pub kept: Vec<Kept>,
    /// How long the lab stood still while it was taken.
    pub frozen_ms: u64,
    /// The guests' memory it holds, in bytes.
    pub memory_bytes: u64,
    /// What the caller keeps with it (the stages done, the BMC set-up, the cluster's
    /// certificates).
    #[serde(default)]
    pub record: Value,
}

/// One domain as the snapshot found it.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct DomainRecord {
    pub name: String,
    pub uuid: String,
    /// running, paused or shutoff (any other state is taken as shutoff).
    pub state: String,
    pub autostart: bool,
    /// The persistent definition (inactive XML).
    pub definition: String,
    /// libvirt's snapshot XML, to give libvirt its record back when it lost it.
    #[serde(default)]
    pub snapshot_xml: String,
    pub disks: Vec<String>,
    pub memory_kib: u64,
}

/// A folder of the lab kept with the snapshot: its label, where it is, and what it held.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Kept {
    pub label: String,
    pub path: String,
    pub files: u64,
    pub bytes: u64,
}

/// What to take.
pub struct SaveSpec {
    pub lab: String,
    pub name: String,
    /// The snapshot's folder (made here; it must not exist).
    pub dir: PathBuf,
    pub domains: Vec<String>,
    pub cold: bool,
    /// (label, folder) of the lab's folders to keep.
    pub keep: Vec<(String, String)>,
    pub record: Value,
    /// How long a cold snapshot waits for the guests to shut down before powering them off.
    pub shutdown_timeout: Duration,
}

/// Which snapshot a revert or a deletion is of: the lab's, by name, in its folder; `domains`:
/// the lab's domains, for a plan whose snapshot is taken earlier in it.
pub struct Which {
    pub lab: String,
    pub name: String,
    pub dir: PathBuf,
    pub domains: Vec<String>,
}

/// What a revert did, for the caller to say.
#[derive(Serialize, Debug, Default)]
pub struct Reverted {
    pub name: String,
    /// Domains brought back to the snapshot.
    pub reverted: Vec<String>,
    /// Domains defined again (they were gone) or given their definition back.
    pub defined: Vec<String>,
    /// Domains whose autostart was set back.
    pub autostart: Vec<String>,
    /// Domains let run again (all together), and those left as they were at the snapshot
    /// (shut off or paused).
    pub running: Vec<String>,
    pub stopped: Vec<String>,
    /// The lab's folders put back, by label.
    pub files: Vec<String>,
    /// How long the lab stood still.
    pub frozen_ms: u64,
}

/// A libvirt failure with what was being done (a missing domain or snapshot is not found).
fn verr(what: &str, e: libvirt::Error) -> Error {
    Error::from(e).context(what)
}

fn now_ms() -> u64 {
    u64::try_from(crate::effects::time::now_ms()).unwrap_or(u64::MAX)
}

/// A snapshot's or lab's name: letters, digits, `.`, `_`, `-`; 1 to 64 of them, not starting
/// with `.` or `-` (it names a folder and libvirt's snapshot).
pub fn check_name(what: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{what} {name:?} is not a name labsh takes: 1 to 64 letters, digits, '.', '_' or '-', \
             not starting with '.' or '-'"
        )))
    }
}

/// The snapshot recorded in `dir`, or `None` when there is none.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, Error> {
    let f = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&f) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format_args!("cannot read {}", f.display()), &e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::failed(format!("{} is damaged: {e}", f.display())).with_advice(format!(
            "labsh cannot read this snapshot, nor delete it: move its folder {} away",
            dir.display()
        ))
    })
}

/// A snapshot folder found under a root: its record, or why it cannot be read.
#[derive(Serialize)]
pub struct Listed {
    pub dir: String,
    pub manifest: Option<Manifest>,
    pub damaged: Option<String>,
}

/// Every snapshot under `root` (`root/LAB/NAME/snapshot.json`), by lab then by when it was
/// taken.
pub fn list(root: &Path) -> Result<Vec<Listed>, Error> {
    let mut out = Vec::new();
    let labs = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(Error::io(
                format_args!("cannot read {}", root.display()),
                &e,
            ))
        }
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for lab in labs.flatten() {
        if !lab.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Ok(snaps) = std::fs::read_dir(lab.path()) {
            for s in snaps.flatten() {
                if s.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(s.path());
                }
            }
        }
    }
    for d in dirs {
        let (manifest, damaged) = match read_manifest(&d) {
            Ok(Some(m)) => (Some(m), None),
            // A folder without a record: one being taken, or left by one that did not finish.
            Ok(None) => (None, Some(format!("{} holds no {MANIFEST}", d.display()))),
            Err(e) => (None, Some(e.message().to_string())),
        };
        out.push(Listed {
            dir: d.display().to_string(),
            manifest,
            damaged,
        });
    }
    out.sort_by(|a, b| {
        let key = |l: &Listed| {
            l.manifest
                .as_ref()
                .map(|m| (m.lab.clone(), m.created_ms, m.name.clone()))
                .unwrap_or_default()
        };
        key(a).cmp(&key(b)).then(a.dir.cmp(&b.dir))
    });
    Ok(out)
}

/// What the inactive XML says of a domain's disks and firmware.
struct DomFacts {
    owner: Option<String>,
    uuid: String,
    /// (path, format, device, readonly) of each disk with a file.
    disks: Vec<(String, String, String, bool)>,
    pflash: bool,
}

fn dom_facts(xml: &str) -> Result<DomFacts, Error> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| {
        Error::failed(format!(
            "libvirt gave a domain XML that does not parse: {e}"
        ))
    })?;
    let root = doc.root_element();
    let mut f = DomFacts {
        owner: crate::modules::virt::xml::parse_domain(xml)?.owner,
        uuid: String::new(),
        disks: Vec::new(),
        pflash: false,
    };
    for n in root.children().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "uuid" => f.uuid = n.text().unwrap_or("").trim().to_string(),
            "os" => {
                f.pflash |= n.attribute("firmware") == Some("efi")
                    || n.children()
                        .any(|c| c.has_tag_name("loader") && c.attribute("type") == Some("pflash"));
            }
            "devices" => {
                for d in n.children().filter(|c| c.has_tag_name("disk")) {
                    let device = d.attribute("device").unwrap_or("disk").to_string();
                    let src = d
                        .children()
                        .find(|c| c.has_tag_name("source"))
                        .and_then(|s| s.attribute("file").or(s.attribute("dev")))
                        .unwrap_or("")
                        .to_string();
                    let format = d
                        .children()
                        .find(|c| c.has_tag_name("driver"))
                        .and_then(|s| s.attribute("type"))
                        .unwrap_or("raw")
                        .to_string();
                    let ro = d.children().any(|c| c.has_tag_name("readonly"));
                    if !src.is_empty() {
                        f.disks.push((src, format, device, ro));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(f)
}

/// A domain of the set, as found before anything changes.
struct Found {
    name: String,
    dom: Option<Domain>,
    state: String,
    autostart: bool,
    definition: String,
    facts: DomFacts,
    memory_kib: u64,
    /// The memory the guest has (0 shut off): what QEMU walks, page by page, to save it.
    size_kib: u64,
}

impl Found {
    /// A domain a plan makes before it snapshots it.
    fn planned(name: &str, lab: &str) -> Found {
        Found {
            name: name.to_string(),
            dom: None,
            state: "running".into(),
            autostart: true,
            definition: String::new(),
            facts: DomFacts {
                owner: Some(lab.to_string()),
                uuid: String::new(),
                disks: Vec::new(),
                pflash: false,
            },
            memory_kib: 0,
            size_kib: 0,
        }
    }
}

fn state_of(d: &Domain) -> Result<String, Error> {
    let s = libvirt::state_word(d.state().map_err(|e| verr("domain state", e))?);
    Ok(match s.as_str() {
        "running" | "blocked" => "running".into(),
        "paused" | "pmsuspended" => "paused".into(),
        _ => "shutoff".into(),
    })
}

fn lookup(c: &Connect, name: &str) -> Result<Option<Domain>, Error> {
    match c.lookup_domain_by_name(name) {
        Ok(d) => Ok(Some(d)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(verr(&format!("domain {name}"), e)),
    }
}

fn has_snapshot(d: &Domain, name: &str) -> Result<bool, Error> {
    match d.snapshot_lookup(name) {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(verr("snapshot lookup", e)),
    }
}

/// A domain of `lab` at `uri`, read: an error when it is missing or not the lab's.
fn find(c: &Connect, uri: &str, lab: &str, name: &str) -> Result<Found, Error> {
    let d =
        lookup(c, name)?.ok_or_else(|| Error::not_found(format!("no domain {name} at {uri}")))?;
    let definition = d
        .xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
        .map_err(|e| verr("domain XML", e))?;
    let facts = dom_facts(&definition)?;
    check_owner(name, lab, facts.owner.as_deref())?;
    let state = state_of(&d)?;
    // What a live snapshot writes of a domain's memory: the pages its guest touched (QEMU's
    // resident memory), never more than the memory it has.
    let (memory_kib, size_kib) = if state == "shutoff" {
        (0, 0)
    } else {
        let has = d.memory_kib().map_err(|e| verr("domain memory", e))?;
        match d.resident_kib() {
            Ok(Some(rss)) => (rss.min(has), has),
            _ => (has, has),
        }
    };
    Ok(Found {
        name: name.to_string(),
        autostart: d.autostart().map_err(|e| verr("domain autostart", e))?,
        dom: Some(d),
        state,
        definition,
        facts,
        memory_kib,
        size_kib,
    })
}

fn check_owner(name: &str, lab: &str, owner: Option<&str>) -> Result<(), Error> {
    match owner {
        Some(o) if o == lab => Ok(()),
        Some(o) => Err(Error::refused(format!(
            "domain {name} belongs to lab {o}, not {lab}: labsh snapshots only this lab's domains"
        ))),
        None => Err(Error::refused(format!(
            "domain {name} was not made by labsh: labsh snapshots only the lab's own domains"
        ))),
    }
}

fn target(name: &str, uri: &str) -> String {
    format!("{name}@{uri}")
}

/// Free space of the filesystems of `paths` (their nearest existing folders), by filesystem:
/// (filesystem, mount point, free bytes) per path, as `df -Pk` says.
fn free_space(fx: &Effects, paths: &[PathBuf]) -> Result<Vec<(String, String, u64)>, Error> {
    let dirs: Vec<String> = paths
        .iter()
        .map(|p| {
            let mut d = p.clone();
            while !d.exists() {
                if !d.pop() {
                    return "/".to_string();
                }
            }
            d.display().to_string()
        })
        .collect();
    let mut argv = vec!["df".to_string(), "-Pk".to_string()];
    argv.extend(dirs.iter().cloned());
    let cmd = Command::new(argv);
    let out = fx.read(Op::new("host.df", dirs.join(" ")), || fx.exec(&cmd))?;
    let rows: Vec<(String, String, u64)> = out
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let free = w.get(3)?.parse::<u64>().ok()?;
            Some((w.first()?.to_string(), w.last()?.to_string(), free * 1024))
        })
        .collect();
    if rows.len() != dirs.len() {
        return Err(Error::failed(format!(
            "cannot read the free space of {} from df",
            dirs.join(", ")
        )));
    }
    Ok(rows)
}

fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    }
}

/// The room a snapshot needs, checked against the free space of each filesystem it goes to:
/// each running domain's memory in the folder of its first disk, a margin per disk, and the
/// lab's folders in the snapshot's own folder.
fn check_space(
    fx: &Effects,
    name: &str,
    found: &[Found],
    cold: bool,
    modelled: bool,
    dir: &Path,
    kept_bytes: u64,
) -> Result<u64, Error> {
    // (folder, bytes, domain whose memory it is)
    let mut needs: Vec<(PathBuf, u64, Option<String>)> = Vec::new();
    let mut memory = 0;
    if !modelled {
        for f in found {
            for (i, (path, ..)) in f.facts.disks.iter().enumerate() {
                let folder = Path::new(path)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| PathBuf::from("/"));
                let mem = if i == 0 && !cold && f.state != "shutoff" {
                    f.memory_kib * 1024
                } else {
                    0
                };
                memory += mem;
                let whose = (mem > 0).then(|| format!("{} {}", f.name, gib(mem)));
                needs.push((folder, mem + DISK_MARGIN, whose));
            }
        }
    }
    let free = free_space(
        fx,
        &needs
            .iter()
            .map(|n| n.0.clone())
            .chain(std::iter::once(dir.to_path_buf()))
            .collect::<Vec<_>>(),
    )?;
    let short = shortfalls(&needs, dir, kept_bytes, &free);
    if !short.is_empty() {
        return Err(Error::refused(format!(
            "not enough space for snapshot {name}: {}; nothing was changed: free space there{}",
            short.join("; "),
            if cold {
                ""
            } else {
                ", or take it --cold (the guests shut down: no memory kept)"
            }
        )));
    }
    Ok(memory)
}

/// What each filesystem lacks for a snapshot: `needs` (folder, bytes, whose memory) of the
/// disks, then the lab's folders (`kept_bytes`) in `dir`, against `free` (filesystem, mount
/// point, free bytes: one per need, then one for `dir`, as [`free_space`] reads them). A line
/// per filesystem short of room, saying what it holds for the snapshot.
fn shortfalls(
    needs: &[(PathBuf, u64, Option<String>)],
    dir: &Path,
    kept_bytes: u64,
    free: &[(String, String, u64)],
) -> Vec<String> {
    // By filesystem: its mount point, what it needs, what it has, the memory it takes, how many
    // disks, the folders.
    struct Fs {
        mount: String,
        need: u64,
        avail: u64,
        memory: Vec<String>,
        disks: usize,
        folders: Vec<String>,
    }
    let mut by_fs: BTreeMap<String, Fs> = BTreeMap::new();
    let kept = (dir.to_path_buf(), kept_bytes + (1 << 20), None);
    for (i, ((path, bytes, whose), (fs, mount, avail))) in needs
        .iter()
        .chain(std::iter::once(&kept))
        .zip(free)
        .enumerate()
    {
        let e = by_fs.entry(fs.clone()).or_insert_with(|| Fs {
            mount: mount.clone(),
            need: 0,
            avail: *avail,
            memory: Vec::new(),
            disks: 0,
            folders: Vec::new(),
        });
        e.need += bytes;
        if let Some(w) = whose {
            e.memory.push(w.clone());
        }
        if i < needs.len() {
            e.disks += 1;
        }
        let f = path.display().to_string();
        if !e.folders.contains(&f) {
            e.folders.push(f);
        }
    }
    by_fs
        .values()
        .filter(|f| f.need > f.avail)
        .map(|f| {
            let mut what = Vec::new();
            if !f.memory.is_empty() {
                what.push(format!("the memory of {}", f.memory.join(", ")));
            }
            if f.disks > 0 {
                what.push(format!("the tables of {} disks", f.disks));
            }
            if f.folders.iter().any(|x| Path::new(x) == dir) {
                what.push(format!("the lab's folders, {}", gib(kept_bytes)));
            }
            format!(
                "{} (for {}) needs {}: {}; it has {} free",
                f.mount,
                f.folders.join(", "),
                gib(f.need),
                what.join("; "),
                gib(f.avail)
            )
        })
        .collect()
}

/// Files, folders and links of a tree, relative to its root, with their modes; nothing followed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Entry {
    path: String,
    kind: String,
    mode: u32,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    target: String,
}

fn walk(root: &Path) -> Result<Vec<Entry>, Error> {
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let rd = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(format_args!("cannot read {}", dir.display()), &e))?;
        let mut names: Vec<_> = rd.flatten().collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let r = rel.join(e.file_name());
            let m = std::fs::symlink_metadata(e.path())
                .map_err(|er| Error::io(format_args!("cannot read {}", e.path().display()), &er))?;
            let mode = m.permissions().mode() & 0o7777;
            let path = r.display().to_string();
            let ft = m.file_type();
            if ft.is_dir() {
                out.push(Entry {
                    path,
                    kind: "dir".into(),
                    mode,
                    size: 0,
                    target: String::new(),
                });
                stack.push(r);
            } else if ft.is_file() {
                out.push(Entry {
                    path,
                    kind: "file".into(),
                    mode,
                    size: m.len(),
                    target: String::new(),
                });
            } else if ft.is_symlink() {
                let t = std::fs::read_link(e.path()).map_err(|er| {
                    Error::io(format_args!("cannot read {}", e.path().display()), &er)
                })?;
                out.push(Entry {
                    path,
                    kind: "link".into(),
                    mode,
                    size: 0,
                    target: t.display().to_string(),
                });
            }
            // Sockets, FIFOs and devices are a running program's, not the lab's record.
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Copies the tree at `src` into `dst` (a new folder in the state folder: folders 0700, files
/// 0600) and writes its listing (with the modes to give back) as `dst.json`.
#[expect(
    clippy::disallowed_methods,
    reason = "a snapshot's copy of the lab's folders, made inside the change that keeps them"
)]
fn copy_tree(src: &Path, dst: &Path) -> Result<(), Error> {
    let entries = walk(src)?;
    crate::paths::private_dir(dst)?;
    for e in &entries {
        let from = src.join(&e.path);
        let to = dst.join(&e.path);
        match e.kind.as_str() {
            "dir" => crate::paths::private_dir(&to)?,
            "file" => {
                std::fs::copy(&from, &to)
                    .and_then(|_| {
                        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                    })
                    .map_err(|er| {
                        Error::io(
                            format_args!("cannot copy {} to {}", from.display(), to.display()),
                            &er,
                        )
                    })?;
            }
            _ => {}
        }
    }
    let listing =
        serde_json::to_string_pretty(&entries).map_err(|e| Error::failed(e.to_string()))?;
    let list_file = PathBuf::from(format!("{}.json", dst.display()));
    std::fs::write(&list_file, listing)
        .and_then(|_| std::fs::set_permissions(&list_file, std::fs::Permissions::from_mode(0o600)))
        .map_err(|e| Error::io(format_args!("cannot write {}", list_file.display()), &e))
}

/// Makes the tree at `dst` what the copy at `src` (with its listing `src.json`) holds: what is
/// not in it removed (a link removed, never followed), what differs written aside and renamed
/// over, each with the mode it had. Returns how many entries changed.
#[expect(
    clippy::disallowed_methods,
    reason = "a revert puts the lab's folders back, inside the change that restores them"
)]
fn restore_tree(src: &Path, dst: &Path) -> Result<usize, Error> {
    let list_file = PathBuf::from(format!("{}.json", src.display()));
    let text = std::fs::read_to_string(&list_file)
        .map_err(|e| Error::io(format_args!("cannot read {}", list_file.display()), &e))?;
    let want: Vec<Entry> = serde_json::from_str(&text)
        .map_err(|e| Error::failed(format!("{} is damaged: {e}", list_file.display())))?;
    let have = walk(dst)?;
    let wanted: HashMap<&str, &Entry> = want.iter().map(|e| (e.path.as_str(), e)).collect();
    let mut changed = 0;
    // What is not wanted, deepest first (a folder's content before the folder).
    for e in have.iter().rev() {
        let keep = wanted
            .get(e.path.as_str())
            .is_some_and(|w| w.kind == e.kind && (w.kind != "link" || w.target == e.target));
        if keep {
            continue;
        }
        let p = dst.join(&e.path);
        let r = if e.kind == "dir" {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        match r {
            Ok(()) => changed += 1,
            Err(er) if er.kind() == std::io::ErrorKind::NotFound => {}
            Err(er) => {
                return Err(Error::io(
                    format_args!("cannot remove {}", p.display()),
                    &er,
                ))
            }
        }
    }
    if !want.is_empty() || dst.exists() {
        std::fs::create_dir_all(dst)
            .map_err(|e| Error::io(format_args!("cannot create {}", dst.display()), &e))?;
    }
    for e in &want {
        let to = dst.join(&e.path);
        let perms = std::fs::Permissions::from_mode(e.mode);
        match e.kind.as_str() {
            "dir" => {
                if !to.is_dir() {
                    std::fs::create_dir_all(&to).map_err(|er| {
                        Error::io(format_args!("cannot create {}", to.display()), &er)
                    })?;
                    changed += 1;
                }
                std::fs::set_permissions(&to, perms).map_err(|er| {
                    Error::io(format_args!("cannot set the mode of {}", to.display()), &er)
                })?;
            }
            "file" => {
                let from = src.join(&e.path);
                let same = std::fs::symlink_metadata(&to).is_ok_and(|m| {
                    m.file_type().is_file() && m.permissions().mode() & 0o7777 == e.mode
                }) && files_equal(&from, &to);
                if same {
                    continue;
                }
                let tmp = crate::effects::files::temp_path(&to.display().to_string());
                let r = std::fs::copy(&from, &tmp)
                    .and_then(|_| std::fs::set_permissions(&tmp, perms))
                    .and_then(|_| std::fs::rename(&tmp, &to));
                if let Err(er) = r {
                    if let Err(e2) = std::fs::remove_file(&tmp) {
                        tracing::debug!("cannot remove {tmp}: {e2}");
                    }
                    return Err(Error::io(
                        format_args!("cannot restore {}", to.display()),
                        &er,
                    ));
                }
                changed += 1;
            }
            "link" => {
                if std::fs::read_link(&to).is_ok_and(|t| t.display().to_string() == e.target) {
                    continue;
                }
                std::os::unix::fs::symlink(&e.target, &to).map_err(|er| {
                    Error::io(
                        format_args!("cannot restore the link {}", to.display()),
                        &er,
                    )
                })?;
                changed += 1;
            }
            _ => {}
        }
    }
    Ok(changed)
}

fn files_equal(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    if ma.len() != mb.len() {
        return false;
    }
    let (Ok(mut fa), Ok(mut fb)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let (Ok(na), Ok(nb)) = (fa.read(&mut ba), fb.read(&mut bb)) else {
            return false;
        };
        if na != nb || ba[..na] != bb[..nb] {
            return false;
        }
        if na == 0 {
            return true;
        }
    }
}

/// The size of the regular files of a tree.
fn tree_size(root: &Path) -> Result<(u64, u64), Error> {
    let e = walk(root)?;
    let files: Vec<&Entry> = e.iter().filter(|x| x.kind == "file").collect();
    Ok((files.len() as u64, files.iter().map(|x| x.size).sum()))
}

/// Removes a snapshot's folder (and its lab folder when that is left empty).
#[expect(
    clippy::disallowed_methods,
    reason = "removing a snapshot's folder, inside the change that deletes the snapshot"
)]
fn remove_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::io(
                format_args!("cannot remove {}", dir.display()),
                &e,
            ))
        }
    }
    if let Some(parent) = dir.parent() {
        // Only when empty: another snapshot of the lab keeps it.
        if std::fs::read_dir(parent).is_ok_and(|mut rd| rd.next().is_none()) {
            if let Err(e) = std::fs::remove_dir(parent) {
                tracing::debug!("cannot remove {}: {e}", parent.display());
            }
        }
    }
    Ok(())
}

/// Makes a snapshot's folder (private, in the state folder).
#[expect(
    clippy::disallowed_methods,
    reason = "a snapshot's folder, made inside the change that takes it"
)]
fn make_dir(dir: &Path) -> Result<(), Error> {
    crate::paths::private_dir(dir)
}

/// Writes the record (0600, aside then renamed over).
#[expect(
    clippy::disallowed_methods,
    reason = "a snapshot's record, written inside the change that takes it"
)]
fn write_manifest(dir: &Path, m: &Manifest) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(m).map_err(|e| Error::failed(e.to_string()))?;
    let f = dir.join(MANIFEST);
    let tmp = crate::effects::files::temp_path(&f.display().to_string());
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)))
        .and_then(|_| std::fs::rename(&tmp, &f))
        .map_err(|e| Error::io(format_args!("cannot write {}", f.display()), &e))
}

/// A change to each of `items` on up to `jobs` threads, each through the seam; every failure is
/// listed.
fn each<T: Sync, R: Send>(
    fx: &Effects,
    jobs: usize,
    items: &[T],
    what: &str,
    name: impl Fn(&T) -> String + Sync,
    f: impl Fn(&T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    crate::effects::pool::run_all(
        jobs,
        items.len(),
        what,
        |i| name(&items[i]),
        |i| {
            fx.check_cancel()?;
            f(&items[i])
        },
    )
}

/// A libvirt change on a domain, through the seam (planned in a plan).
fn act(
    fx: &Effects,
    op: &str,
    name: &str,
    uri: &str,
    f: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    fx.change(Op::new(op, target(name, uri)), f, || ())
}

/// `op` on each domain of `list` at once, through the seam: libvirt's `call` on it, its failure
/// named by `verb` (and the lot as "domains to VERB"); a domain a plan has not made yet is passed
/// over.
fn on_each_domain(
    fx: &Effects,
    jobs: usize,
    uri: &str,
    list: &[&Now],
    op: &str,
    verb: &str,
    call: impl Fn(&Domain) -> Result<(), libvirt::Error> + Sync,
) -> Result<(), Error> {
    each(
        fx,
        jobs,
        list,
        &format!("domains to {verb}"),
        |n| n.rec.name.clone(),
        |n| {
            act(fx, op, &n.rec.name, uri, || match dom_now(fx, n)? {
                Some(d) => call(d).map_err(|e| verr(verb, e)),
                None => Ok(()),
            })
        },
    )
    .map(|_| ())
}

/// The `<domainsnapshot>` labsh asks libvirt for.
fn snapshot_xml(lab: &str, name: &str) -> String {
    format!(
        "<domainsnapshot><name>{}</name><description>labsh: lab {}, snapshot {}</description></domainsnapshot>",
        crate::modules::virt::xml::esc(name),
        crate::modules::virt::xml::esc(lab),
        crate::modules::virt::xml::esc(name)
    )
}

/// Takes the snapshot: see the module's notes. Nothing is changed before every check passed
/// (the domains are the lab's, none has a snapshot of that name, the disks can take one, the
/// room is there); a failure once the lab stands still deletes what was taken and lets the lab
/// run again.
pub fn save(fx: &Effects, uri: &str, spec: &SaveSpec, jobs: usize) -> Result<Manifest, Error> {
    let (found, modelled) = save_found(fx, uri, spec)?;
    // Every domain at once, whatever --jobs says: they are stopped and let run together, and
    // each is a wait on libvirtd, not work here.
    let jobs = jobs.max(found.len()).min(64);
    save_check(spec, &found, modelled)?;
    let (kept, kept_bytes) = kept_folders(spec)?;
    let memory_bytes = check_space(
        fx, &spec.name, &found, spec.cold, modelled, &spec.dir, kept_bytes,
    )?;
    let mut m = new_manifest(spec, uri, &found, kept, memory_bytes, modelled);
    let running: Vec<&Found> = found.iter().filter(|f| f.state == "running").collect();
    let stopped_at = Instant::now();
    // The lab stands still: every running domain paused (or shut down for a cold snapshot).
    stop_the_lab(fx, uri, spec, &found, &running, jobs)?;
    // The lab's folders are copied while libvirt takes the domains' snapshots: the lab stands
    // still for both, and waits only for the longer.
    let mut both = crate::effects::pool::run_indexed(2, 2, |i| match i {
        0 => take(fx, uri, spec, &found, modelled, jobs),
        _ => keep(fx, spec, &m.kept).map(|()| Vec::new()),
    });
    // (run_indexed returns one result for each index.)
    let missing = || Err(Error::failed("a part of the snapshot did not run"));
    let kept = both.pop().unwrap_or_else(missing);
    let taken = both.pop().unwrap_or_else(missing);
    if let Ok(xmls) = &taken {
        for (r, x) in m.domains.iter_mut().zip(xmls) {
            r.snapshot_xml = x.clone();
        }
    }
    let kept_and_recorded = taken.and(kept).and_then(|_| {
        m.frozen_ms = stopped_at.elapsed().as_millis() as u64;
        record(fx, spec, &m)
    });
    // The lab runs again, together, whatever happened.
    let again = run_again(fx, uri, spec, (&found, &running), false, jobs);
    if let Err(e) = kept_and_recorded {
        // What was taken goes: the lab is as it was.
        let undo = undo_save(fx, uri, spec, &found, modelled, jobs);
        return Err(e.map_message(|msg| {
            format!(
                "snapshot {} not taken: {msg}{}{}",
                spec.name,
                match undo {
                    Ok(()) => String::new(),
                    Err(u) => format!("\n  and what it had taken could not all be removed: {u}"),
                },
                match again {
                    Ok(()) => String::new(),
                    Err(a) => format!("\n  and the lab could not all run again: {a}"),
                }
            )
        }));
    }
    again?;
    Ok(m)
}

/// The domains a save takes, each read (a plan's own, not made yet, as planned), and whether
/// the URI is libvirt's test driver: an error, nothing changed, when the name is not one labsh
/// takes, the lab has no domains, or a snapshot of that name (or its folder) is there already.
fn save_found(fx: &Effects, uri: &str, spec: &SaveSpec) -> Result<(Vec<Found>, bool), Error> {
    check_name("the snapshot", &spec.name)?;
    if spec.domains.is_empty() {
        return Err(Error::not_found(format!(
            "lab {} has no domains at {uri}: nothing to snapshot (the l1 stage makes them)",
            spec.lab
        )));
    }
    if let Some(m) = read_manifest(&spec.dir)? {
        return Err(Error::conflict(format!(
            "snapshot {} of lab {} exists already (taken {}): choose another name, or delete it first",
            spec.name, m.lab, m.created
        )));
    }
    if spec.dir.exists() {
        return Err(Error::conflict(format!(
            "{} exists and holds no snapshot record (a snapshot that did not finish?): remove it, or choose another name",
            spec.dir.display()
        )));
    }
    let modelled = uri.starts_with("test:");
    let c: Arc<Connect> = fx.read(Op::new("virt.connect", uri), || connect(fx, uri))?;
    // Each domain read on a thread of its own (up to 64): a few calls to libvirtd each, all
    // before the lab stops, so they are waited on by the whole save.
    let n = spec.domains.len();
    let found: Vec<Found> = fx.read(Op::new("virt.snapshot.check", &spec.name), || {
        crate::effects::pool::run_indexed(n.min(64), n, |i| {
            let n = &spec.domains[i];
            match lookup(&c, n)? {
                // A domain this plan makes earlier: its snapshot is planned with it.
                None if fx.is_plan() => Ok(Found::planned(n, &spec.lab)),
                _ => find(&c, uri, &spec.lab, n),
            }
        })
        .into_iter()
        .collect::<Result<Vec<Found>, Error>>()
    })?;
    Ok((found, modelled))
}

/// What keeps a domain from an internal snapshot (a snapshot of that name already, UEFI
/// firmware, a writable disk that is not qcow2), all of them in one error, nothing changed.
fn save_check(spec: &SaveSpec, found: &[Found], modelled: bool) -> Result<(), Error> {
    let mut problems = Vec::new();
    for f in found {
        if let Some(d) = &f.dom {
            if has_snapshot(d, &spec.name)? {
                problems.push(format!(
                    "domain {} has a snapshot named {} already (not one of labsh's for this lab): choose another name",
                    f.name, spec.name
                ));
            }
        }
        if modelled {
            continue;
        }
        if f.facts.pflash {
            problems.push(format!(
                "domain {} boots with pflash (UEFI) firmware, and libvirt 9.0 takes no internal snapshot of such a domain (\"internal snapshots of a VM with pflash based firmware are not supported\"): labsh's snapshots need BIOS domains",
                f.name
            ));
        }
        for (path, format, device, ro) in &f.facts.disks {
            if *ro || device == "cdrom" || device == "floppy" {
                continue;
            }
            if format != "qcow2" {
                problems.push(format!(
                    "domain {}: disk {path} is {format}, and an internal snapshot needs every writable disk to be qcow2",
                    f.name
                ));
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::refused(format!(
        "snapshot {} cannot be taken; nothing was changed:\n  {}",
        spec.name,
        problems.join("\n  ")
    )))
}

/// The lab's folders a save keeps, each measured, and their bytes together.
fn kept_folders(spec: &SaveSpec) -> Result<(Vec<Kept>, u64), Error> {
    let mut kept_bytes = 0;
    let mut kept = Vec::new();
    for (label, path) in &spec.keep {
        check_name("a kept folder's label", label)?;
        let (files, bytes) = tree_size(Path::new(path))?;
        kept_bytes += bytes;
        kept.push(Kept {
            label: label.clone(),
            path: path.clone(),
            files,
            bytes,
        });
    }
    Ok((kept, kept_bytes))
}

/// The record of a snapshot about to be taken of `found` (libvirt's snapshot XML and the time
/// the lab stood still are added once it is taken).
fn new_manifest(
    spec: &SaveSpec,
    uri: &str,
    found: &[Found],
    kept: Vec<Kept>,
    memory_bytes: u64,
    modelled: bool,
) -> Manifest {
    let t0 = now_ms();
    Manifest {
        name: spec.name.clone(),
        lab: spec.lab.clone(),
        uri: uri.to_string(),
        created: crate::effects::time::rfc3339(u128::from(t0)),
        created_ms: t0,
        cold: spec.cold,
        modelled,
        domains: found
            .iter()
            .map(|f| DomainRecord {
                name: f.name.clone(),
                uuid: f.facts.uuid.clone(),
                state: f.state.clone(),
                autostart: f.autostart,
                definition: f.definition.clone(),
                snapshot_xml: String::new(),
                disks: f.facts.disks.iter().map(|d| d.0.clone()).collect(),
                memory_kib: if spec.cold { 0 } else { f.memory_kib },
            })
            .collect(),
        kept,
        frozen_ms: 0,
        memory_bytes,
        record: spec.record.clone(),
    }
}

/// The lab made to stand still: its running domains paused at once, or for a cold snapshot
/// every domain that is up shut down.
fn stand_still(
    fx: &Effects,
    uri: &str,
    spec: &SaveSpec,
    found: &[Found],
    running: &[&Found],
    jobs: usize,
) -> Result<(), Error> {
    if spec.cold {
        return shut_down(fx, uri, found, spec.shutdown_timeout, jobs);
    }
    each(
        fx,
        jobs,
        running,
        "domains to pause",
        |f| f.name.clone(),
        |f| {
            act(fx, "virt.domain.suspend", &f.name, uri, || {
                dom_of(f)?.suspend().map_err(|e| verr("pause", e))
            })
        },
    )
    .map(|_| ())
}

/// The lab let run again, together: the paused domains resumed, or after a cold snapshot every
/// domain that was up started again (and one that was paused paused again). With
/// `only_stopped` (after a stand-still that failed part-way), only those libvirt now says it
/// stopped: paused (live) or shut off (cold); each one it did not stop is left as it is.
fn run_again(
    fx: &Effects,
    uri: &str,
    spec: &SaveSpec,
    (found, running): (&[Found], &[&Found]),
    only_stopped: bool,
    jobs: usize,
) -> Result<(), Error> {
    let now_is = |f: &Found, word: &str| {
        !only_stopped
            || dom_of(f)
                .and_then(|d| d.state().map_err(|e| verr("domain state", e)))
                .is_ok_and(|st| libvirt::state_word(st) == word)
    };
    if !spec.cold {
        let paused: Vec<&Found> = running
            .iter()
            .copied()
            .filter(|f| now_is(f, "paused"))
            .collect();
        return each(
            fx,
            jobs,
            &paused,
            "domains to resume",
            |f| f.name.clone(),
            |f| {
                act(fx, "virt.domain.resume", &f.name, uri, || {
                    dom_of(f)?.resume().map_err(|e| verr("resume", e))
                })
            },
        )
        .map(|_| ());
    }
    let starts: Vec<&Found> = found
        .iter()
        .filter(|f| f.state != "shutoff" && now_is(f, "shutoff"))
        .collect();
    each(
        fx,
        jobs,
        &starts,
        "domains to start",
        |f| f.name.clone(),
        |f| {
            act(fx, "virt.domain.start", &f.name, uri, || {
                dom_of(f)?.create().map_err(|e| verr("start", e))?;
                if f.state == "paused" {
                    dom_of(f)?.suspend().map_err(|e| verr("pause", e))?;
                }
                Ok(())
            })
        },
    )
    .map(|_| ())
}

/// `stand_still`, or, when it fails part-way, what it stopped let run again before its error is
/// told: a failed save never leaves the lab standing still.
fn stop_the_lab(
    fx: &Effects,
    uri: &str,
    spec: &SaveSpec,
    found: &[Found],
    running: &[&Found],
    jobs: usize,
) -> Result<(), Error> {
    stand_still(fx, uri, spec, found, running, jobs).map_err(|e| {
        match run_again(fx, uri, spec, (found, running), true, jobs) {
            Ok(()) => e,
            Err(back) => e.with_cause(back),
        }
    })
}

fn dom_of(f: &Found) -> Result<&Domain, Error> {
    f.dom
        .as_ref()
        .ok_or_else(|| Error::not_found(format!("no domain {}", f.name)))
}

/// Every domain's snapshot, at once; libvirt's snapshot XML of each (for its record).
fn take(
    fx: &Effects,
    uri: &str,
    spec: &SaveSpec,
    found: &[Found],
    modelled: bool,
    jobs: usize,
) -> Result<Vec<String>, Error> {
    if modelled {
        // The test driver keeps no snapshot beyond this process: the record is the snapshot.
        return Ok(vec![String::new(); found.len()]);
    }
    let xml = snapshot_xml(&spec.lab, &spec.name);
    // The largest guests first: QEMU's time to save a domain grows with the memory it walks
    // (every page of it, touched or not), and libvirtd runs a few calls of one connection at a
    // time, so a large one left to the end would run alone.
    let order = largest_first(&found.iter().map(|f| f.size_kib).collect::<Vec<_>>());
    let xmls = each(
        fx,
        jobs,
        &order,
        "domains to snapshot",
        |&i| found[i].name.clone(),
        |&i| {
            let f = &found[i];
            fx.change(
                Op::new("virt.snapshot.create", target(&f.name, uri)).arg("snapshot", &spec.name),
                || {
                    let s = dom_of(f)?
                        .snapshot_create_xml(&xml, libvirt::VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC)
                        .map_err(|e| verr("snapshot", e))?;
                    s.xml_desc().map_err(|e| verr("snapshot XML", e))
                },
                String::new,
            )
        },
    )?;
    // Back in the domains' order, for their records.
    let mut by_domain = vec![String::new(); found.len()];
    for (&i, x) in order.iter().zip(xmls) {
        by_domain[i] = x;
    }
    Ok(by_domain)
}

/// The indexes of `sizes`, the largest first (equal ones in their order).
fn largest_first(sizes: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    order
}

/// The snapshot's folder made and the lab's folders copied into it (in a plan: shown).
fn keep(fx: &Effects, spec: &SaveSpec, kept: &[Kept]) -> Result<(), Error> {
    fx.change(
        Op::new("file.mkdir", spec.dir.display().to_string()),
        || make_dir(&spec.dir.join("files")),
        || (),
    )?;
    for k in kept {
        let dst = spec.dir.join("files").join(&k.label);
        fx.change(
            Op::new("snapshot.keep", &k.path)
                .arg("into", dst.display().to_string())
                .arg("files", k.files),
            || copy_tree(Path::new(&k.path), &dst),
            || (),
        )?;
    }
    Ok(())
}

/// The snapshot's record written (in a plan: shown), once every part of it is taken.
fn record(fx: &Effects, spec: &SaveSpec, m: &Manifest) -> Result<(), Error> {
    fx.change(
        Op::new("file.write", spec.dir.join(MANIFEST).display().to_string()),
        || write_manifest(&spec.dir, m),
        || (),
    )
}

/// Deletes what a failed save took.
fn undo_save(
    fx: &Effects,
    uri: &str,
    spec: &SaveSpec,
    found: &[Found],
    modelled: bool,
    jobs: usize,
) -> Result<(), Error> {
    if !modelled {
        each(
            fx,
            jobs,
            found,
            "snapshots to remove",
            |f| f.name.clone(),
            |f| {
                let d = dom_of(f)?;
                if fx.is_plan() || !has_snapshot(d, &spec.name)? {
                    return Ok(());
                }
                act(fx, "virt.snapshot.delete", &f.name, uri, || {
                    d.snapshot_lookup(&spec.name)
                        .and_then(|s| s.delete())
                        .map_err(|e| verr("delete snapshot", e))
                })
            },
        )?;
    }
    fx.change(
        Op::new("file.remove", spec.dir.display().to_string()),
        || remove_dir(&spec.dir),
        || (),
    )
}

/// Shuts the running and paused domains down at once: ACPI, then off at the end of `timeout`
/// for those still running (said on the status line).
fn shut_down(
    fx: &Effects,
    uri: &str,
    found: &[Found],
    timeout: Duration,
    jobs: usize,
) -> Result<(), Error> {
    let up: Vec<&Found> = found.iter().filter(|f| f.state != "shutoff").collect();
    // A paused guest cannot hear the ACPI request: it is powered off.
    let (paused, running): (Vec<&Found>, Vec<&Found>) =
        up.iter().partition(|f| f.state == "paused");
    each(
        fx,
        jobs,
        &running,
        "domains to shut down",
        |f| f.name.clone(),
        |f| {
            act(fx, "virt.domain.shutdown", &f.name, uri, || {
                dom_of(f)?.shutdown().map_err(|e| verr("shut down", e))
            })
        },
    )?;
    let t0 = Instant::now();
    if !fx.is_plan() {
        loop {
            let left = running
                .iter()
                .filter(|f| {
                    f.dom
                        .as_ref()
                        .is_some_and(|d| d.is_active().unwrap_or(false))
                })
                .count();
            if left == 0 || t0.elapsed() >= timeout {
                break;
            }
            fx.check_cancel()?;
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let stuck: Vec<&Found> = running
        .iter()
        .copied()
        .chain(paused)
        .filter(|f| {
            fx.is_plan() && f.state == "paused"
                || f.dom
                    .as_ref()
                    .is_some_and(|d| d.is_active().unwrap_or(false))
        })
        .collect();
    if !stuck.is_empty() && !fx.is_plan() {
        fx.printer().status(&format!(
            "  note     {} did not shut down within {} s (or were paused): powered off",
            stuck
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            timeout.as_secs()
        ));
    }
    each(
        fx,
        jobs,
        &stuck,
        "domains to power off",
        |f| f.name.clone(),
        |f| {
            act(fx, "virt.domain.destroy", &f.name, uri, || {
                dom_of(f)?.destroy().map_err(|e| verr("power off", e))
            })
        },
    )?;
    Ok(())
}

/// The record a plan uses for a snapshot it takes earlier (none is written in a plan): the
/// domains `domains`, each as running, with nothing of theirs to give back.
fn planned_manifest(lab: &str, name: &str, uri: &str, domains: &[String]) -> Manifest {
    Manifest {
        name: name.to_string(),
        lab: lab.to_string(),
        uri: uri.to_string(),
        created: "(planned)".into(),
        created_ms: 0,
        cold: false,
        modelled: uri.starts_with("test:"),
        domains: domains
            .iter()
            .map(|d| DomainRecord {
                name: d.clone(),
                uuid: String::new(),
                state: "running".into(),
                autostart: true,
                definition: String::new(),
                snapshot_xml: String::new(),
                disks: Vec::new(),
                memory_kib: 0,
            })
            .collect(),
        kept: Vec::new(),
        frozen_ms: 0,
        memory_bytes: 0,
        record: Value::Null,
    }
}

/// The record of the snapshot in `dir` for a revert or a deletion: [`manifest_of`]'s, or in a
/// plan, for one the plan takes earlier, [`planned_manifest`]'s.
fn manifest_or_planned(
    fx: &Effects,
    dir: &Path,
    lab: &str,
    name: &str,
    uri: &str,
    domains: &[String],
) -> Result<Manifest, Error> {
    check_name("the snapshot", name)?;
    if fx.is_plan() && read_manifest(dir)?.is_none() {
        return Ok(planned_manifest(lab, name, uri, domains));
    }
    manifest_of(dir, lab, name, uri)
}

/// Checks that the snapshot in `dir` is lab `lab`'s, taken at `uri`, and returns its record.
pub fn manifest_of(dir: &Path, lab: &str, name: &str, uri: &str) -> Result<Manifest, Error> {
    let m = read_manifest(dir)?
        .ok_or_else(|| Error::not_found(format!("lab {lab} has no snapshot {name}")))?;
    if m.lab != lab || m.name != name {
        return Err(Error::refused(format!(
            "{} holds snapshot {} of lab {}, not {name} of {lab}: labsh leaves it alone",
            dir.display(),
            m.name,
            m.lab
        )));
    }
    if m.uri != uri {
        return Err(Error::refused(format!(
            "snapshot {name} of lab {lab} was taken at {}, not at {uri}: revert it on that host (its target)",
            m.uri
        )));
    }
    Ok(m)
}

/// A domain of the snapshot, as the revert finds it now.
struct Now {
    rec: DomainRecord,
    dom: Option<Domain>,
    state: String,
    /// libvirt still has the snapshot (or, modelled, nothing is needed of it).
    has_snapshot: bool,
}

/// The domain of `n` (`None` only in a plan, for one it plans to define).
fn dom_now<'a>(fx: &Effects, n: &'a Now) -> Result<Option<&'a Domain>, Error> {
    match &n.dom {
        Some(d) => Ok(Some(d)),
        None if fx.is_plan() => Ok(None),
        None => Err(Error::not_found(format!("no domain {}", n.rec.name))),
    }
}

/// Brings the lab back to the snapshot in `dir`: see the module's notes. Every check is made
/// before anything changes (the record is this lab's, taken here; each domain is the lab's or
/// gone; libvirt has each one's snapshot or its record to give back).
pub fn revert(fx: &Effects, uri: &str, which: &Which, jobs: usize) -> Result<Reverted, Error> {
    let (lab, name, dir) = (which.lab.as_str(), which.name.as_str(), which.dir.as_path());
    let m = manifest_or_planned(fx, dir, lab, name, uri, &which.domains)?;
    let c: Arc<Connect> = fx.read(Op::new("virt.connect", uri), || connect(fx, uri))?;
    let mut now = revert_found(fx, &c, &m, lab, name)?;
    let jobs = jobs.max(now.len()).min(64);
    let files_dir = dir.join("files");
    for k in &m.kept {
        let l = PathBuf::from(format!("{}.json", files_dir.join(&k.label).display()));
        if !l.is_file() {
            return Err(Error::failed(format!(
                "snapshot {name} is damaged: {} is missing; nothing was changed",
                l.display()
            )));
        }
    }
    let mut out = Reverted {
        name: name.to_string(),
        ..Default::default()
    };
    let t0 = Instant::now();
    define_again(fx, &c, uri, &m, name, &mut now, &mut out)?;
    if !m.modelled {
        // (Modelled, the record is all there is: the states are set below.)
        revert_disks(fx, uri, &m, name, &now, jobs)?;
        out.reverted = now.iter().map(|n| n.rec.name.clone()).collect();
    }
    definitions_back(fx, &c, uri, &now, &mut out)?;
    // The lab's folders as they were.
    for k in &m.kept {
        let src = files_dir.join(&k.label);
        fx.change(
            Op::new("snapshot.restore", &k.path).arg("from", src.display().to_string()),
            || restore_tree(&src, Path::new(&k.path)),
            || 0,
        )?;
        out.files.push(k.label.clone());
    }
    // Together: every domain that ran at the snapshot runs again; the modelled ones are put in
    // their recorded state.
    let go: Vec<&Now> = now.iter().filter(|n| n.rec.state == "running").collect();
    let_run(fx, uri, &m, &go, jobs)?;
    if m.modelled {
        modelled_states(fx, uri, &now)?;
    }
    out.running = go.iter().map(|n| n.rec.name.clone()).collect();
    out.stopped = now
        .iter()
        .filter(|n| n.rec.state != "running")
        .map(|n| n.rec.name.clone())
        .collect();
    out.frozen_ms = t0.elapsed().as_millis() as u64;
    Ok(out)
}

/// Each domain of the record as the revert finds it now: the lab's, or gone; an error, nothing
/// changed, when one is another's or libvirt lost its snapshot and the record has none to give
/// back.
fn revert_found(
    fx: &Effects,
    c: &Connect,
    m: &Manifest,
    lab: &str,
    name: &str,
) -> Result<Vec<Now>, Error> {
    fx.read(Op::new("virt.snapshot.check", name), || {
        let mut v = Vec::new();
        for rec in &m.domains {
            let dom = lookup(c, &rec.name)?;
            let (state, has) = match &dom {
                Some(d) => {
                    let def = d
                        .xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
                        .map_err(|e| verr("domain XML", e))?;
                    check_owner(&rec.name, lab, dom_facts(&def)?.owner.as_deref())?;
                    (state_of(d)?, m.modelled || has_snapshot(d, name)?)
                }
                None => ("gone".to_string(), m.modelled),
            };
            if !has && !m.modelled && rec.snapshot_xml.is_empty() {
                return Err(Error::not_found(format!(
                    "domain {} has no snapshot {name} in libvirt, and the record holds none to give back",
                    rec.name
                )));
            }
            v.push(Now {
                rec: rec.clone(),
                dom,
                state,
                has_snapshot: has,
            });
        }
        Ok::<_, Error>(v)
    })
}

/// Domains that are gone defined again from their record; libvirt's record of the snapshot
/// given back where it lost it.
fn define_again(
    fx: &Effects,
    c: &Connect,
    uri: &str,
    m: &Manifest,
    name: &str,
    now: &mut [Now],
    out: &mut Reverted,
) -> Result<(), Error> {
    for n in now.iter_mut() {
        if n.dom.is_none() && !n.rec.definition.is_empty() {
            let def = n.rec.definition.clone();
            let d = fx.change(
                Op::new("virt.domain.define", target(&n.rec.name, uri)),
                || {
                    c.define_domain_xml(&def)
                        .map(Some)
                        .map_err(|e| verr("define", e))
                },
                || None,
            )?;
            n.dom = d;
            n.state = "shutoff".into();
            out.defined.push(n.rec.name.clone());
        }
        if !m.modelled && !n.has_snapshot && !n.rec.snapshot_xml.is_empty() {
            let xml = n.rec.snapshot_xml.clone();
            let d = n.dom.as_ref();
            fx.change(
                Op::new("virt.snapshot.redefine", target(&n.rec.name, uri)).arg("snapshot", name),
                || {
                    d.ok_or_else(|| Error::not_found(format!("no domain {}", n.rec.name)))?
                        .snapshot_create_xml(&xml, libvirt::VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
                        .map(|_| ())
                        .map_err(|e| verr("give libvirt its snapshot record back", e))
                },
                || (),
            )?;
        }
    }
    Ok(())
}

/// Every domain's disks (and memory) reverted at once, left paused when it ran (a cold
/// snapshot's domains powered off first).
fn revert_disks(
    fx: &Effects,
    uri: &str,
    m: &Manifest,
    name: &str,
    now: &[Now],
    jobs: usize,
) -> Result<(), Error> {
    if m.cold {
        let up: Vec<&Now> = now
            .iter()
            .filter(|n| n.state == "running" || n.state == "paused")
            .collect();
        on_each_domain(
            fx,
            jobs,
            uri,
            &up,
            "virt.domain.destroy",
            "power off",
            Domain::destroy,
        )?;
    }
    each(
        fx,
        jobs,
        now,
        "domains to revert",
        |n| n.rec.name.clone(),
        |n| {
            let flags = if !m.cold && n.rec.state != "shutoff" {
                libvirt::VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
            } else {
                0
            };
            fx.change(
                Op::new("virt.snapshot.revert", target(&n.rec.name, uri)).arg("snapshot", name),
                || match dom_now(fx, n)? {
                    Some(d) => d
                        .snapshot_lookup(name)
                        .and_then(|s| s.revert(flags))
                        .map_err(|e| verr("revert", e)),
                    None => Ok(()),
                },
                || (),
            )
        },
    )
    .map(|_| ())
}

/// Each domain's definition and autostart as they were.
fn definitions_back(
    fx: &Effects,
    c: &Connect,
    uri: &str,
    now: &[Now],
    out: &mut Reverted,
) -> Result<(), Error> {
    for n in now.iter().filter(|n| !n.rec.definition.is_empty()) {
        let Some(d) = dom_now(fx, n)? else { continue };
        let def = d
            .xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
            .map_err(|e| verr("domain XML", e))?;
        if def != n.rec.definition && !out.defined.contains(&n.rec.name) {
            let xml = n.rec.definition.clone();
            fx.change(
                Op::new("virt.domain.redefine", target(&n.rec.name, uri)),
                || {
                    c.define_domain_xml(&xml)
                        .map(|_| ())
                        .map_err(|e| verr("redefine", e))
                },
                || (),
            )?;
            out.defined.push(n.rec.name.clone());
        }
        if d.autostart().map_err(|e| verr("autostart", e))? != n.rec.autostart {
            let on = n.rec.autostart;
            fx.change(
                Op::new("virt.domain.autostart", target(&n.rec.name, uri)).arg("on", on),
                || d.set_autostart(on).map_err(|e| verr("autostart", e)),
                || (),
            )?;
            out.autostart.push(n.rec.name.clone());
        }
    }
    Ok(())
}

/// The domains that ran at the snapshot (`go`) let run again together: resumed from the paused
/// state a live revert leaves them in, or, cold or modelled, started (or resumed where they are
/// paused; one running already is left so).
fn let_run(fx: &Effects, uri: &str, m: &Manifest, go: &[&Now], jobs: usize) -> Result<(), Error> {
    if !(m.modelled || m.cold) {
        return on_each_domain(
            fx,
            jobs,
            uri,
            go,
            "virt.domain.resume",
            "resume",
            Domain::resume,
        );
    }
    each(
        fx,
        jobs,
        go,
        "domains to start",
        |n| n.rec.name.clone(),
        |n| {
            let active = dom_now(fx, n)?.is_some_and(|d| d.is_active().unwrap_or(false));
            let st = dom_now(fx, n)?
                .map(state_of)
                .transpose()?
                .unwrap_or_default();
            if active && st == "running" {
                fx.unchanged(Op::new("virt.domain.start", target(&n.rec.name, uri)));
                return Ok(());
            }
            let op = if active {
                "virt.domain.resume"
            } else {
                "virt.domain.start"
            };
            act(fx, op, &n.rec.name, uri, || match dom_now(fx, n)? {
                Some(d) if active => d.resume().map_err(|e| verr("resume", e)),
                Some(d) => d.create().map_err(|e| verr("start", e)),
                None => Ok(()),
            })
        },
    )
    .map(|_| ())
}

/// On libvirt's test driver, the domains that did not run at the snapshot put in their
/// recorded state: off, or paused.
fn modelled_states(fx: &Effects, uri: &str, now: &[Now]) -> Result<(), Error> {
    for n in now.iter().filter(|n| n.rec.state != "running") {
        let Some(d) = dom_now(fx, n)? else { continue };
        let st = state_of(d)?;
        if st == n.rec.state {
            continue;
        }
        if n.rec.state == "paused" {
            act(fx, "virt.domain.suspend", &n.rec.name, uri, || {
                if !d.is_active().unwrap_or(false) {
                    d.create().map_err(|e| verr("start", e))?;
                }
                d.suspend().map_err(|e| verr("pause", e))
            })?;
        } else {
            act(fx, "virt.domain.destroy", &n.rec.name, uri, || {
                d.destroy().map_err(|e| verr("power off", e))
            })?;
        }
    }
    Ok(())
}

/// Deletes the snapshot in `dir`: each domain's snapshot where it still has it (libvirt removes
/// the data from the disks, a running domain's too), then labsh's record. Returns the domains
/// whose snapshot was deleted.
pub fn delete(fx: &Effects, uri: &str, which: &Which, jobs: usize) -> Result<Vec<String>, Error> {
    let (lab, name, dir) = (which.lab.as_str(), which.name.as_str(), which.dir.as_path());
    let m = manifest_or_planned(fx, dir, lab, name, uri, &which.domains)?;
    let mut gone = Vec::new();
    if !m.modelled {
        let c: Arc<Connect> = fx.read(Op::new("virt.connect", uri), || connect(fx, uri))?;
        let mut have = Vec::new();
        for r in &m.domains {
            let Some(d) = lookup(&c, &r.name)? else {
                continue;
            };
            let def = d
                .xml_desc(libvirt::VIR_DOMAIN_XML_INACTIVE)
                .map_err(|e| verr("domain XML", e))?;
            if dom_facts(&def)?.owner.as_deref() != Some(lab) {
                continue;
            }
            if has_snapshot(&d, name)? {
                have.push((r.name.clone(), d));
            }
        }
        let jobs = jobs.max(have.len()).min(64);
        each(
            fx,
            jobs,
            &have,
            "snapshots to delete",
            |x| x.0.clone(),
            |(n, d)| {
                act(fx, "virt.snapshot.delete", n, uri, || {
                    d.snapshot_lookup(name)
                        .and_then(|s| s.delete())
                        .map_err(|e| verr("delete snapshot", e))
                })
            },
        )?;
        gone = have.into_iter().map(|x| x.0).collect();
    }
    fx.change(
        Op::new("file.remove", dir.display().to_string()),
        || remove_dir(dir),
        || (),
    )?;
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two running domains of libvirt's test driver; the second one stops before the lab is made
    /// to stand still, so its pause fails: the first, paused already, runs again.
    #[test]
    fn a_save_whose_pause_fails_part_way_leaves_no_domain_paused() {
        let c = Connect::open("test:///default").expect("test driver");
        let xml = |n: &str| {
            format!("<domain type='test'><name>{n}</name><memory>8192</memory><os><type>hvm</type></os></domain>")
        };
        let found = |n: &str| {
            let d = c.define_domain_xml(&xml(n)).expect("define");
            d.create().expect("start");
            Found {
                name: n.into(),
                dom: Some(d),
                state: "running".into(),
                autostart: false,
                definition: String::new(),
                facts: DomFacts {
                    owner: None,
                    uuid: String::new(),
                    disks: vec![],
                    pflash: false,
                },
                memory_kib: 8192,
                size_kib: 8192,
            }
        };
        let all = vec![found("stops-a"), found("stops-b")];
        // Gone under the save's feet: its pause will fail.
        all[1].dom.as_ref().expect("b").destroy().expect("destroy");
        let running: Vec<&Found> = all.iter().collect();
        let spec = SaveSpec {
            lab: "doc".into(),
            name: "s".into(),
            dir: PathBuf::from("/nonexistent"),
            domains: vec![],
            cold: false,
            keep: vec![],
            record: Value::Null,
            shutdown_timeout: Duration::from_secs(1),
        };
        let fx = Effects::for_tests(crate::effects::Mode::Apply);
        let r = stop_the_lab(&fx, "test:///default", &spec, &all, &running, 1);
        assert!(r.is_err(), "the pause of a stopped domain fails");
        let a = c.lookup_domain_by_name("stops-a").expect("a");
        assert_eq!(libvirt::state_word(a.state().expect("state")), "running");
    }

    #[test]
    fn the_room_a_snapshot_needs_is_counted_by_filesystem() {
        let gb = 1u64 << 30;
        let needs = vec![
            (
                PathBuf::from("/images"),
                12 * gb + DISK_MARGIN,
                Some("undercloud 12.0 GiB".into()),
            ),
            (
                PathBuf::from("/images"),
                16 * gb + DISK_MARGIN,
                Some("ctrl01 16.0 GiB".into()),
            ),
            (
                PathBuf::from("/ssd"),
                4 * gb + DISK_MARGIN,
                Some("ceph01 4.0 GiB".into()),
            ),
            (PathBuf::from("/ssd"), DISK_MARGIN, None),
        ];
        let dir = Path::new("/state/snapshots/t/lab/s1");
        // /images and the state folder share a filesystem with 30 GiB; the SSD has 100 GiB.
        let free = |images: u64| {
            vec![
                ("/dev/sda1".to_string(), "/".to_string(), images),
                ("/dev/sda1".to_string(), "/".to_string(), images),
                ("/dev/sdb1".to_string(), "/ssd".to_string(), 100 * gb),
                ("/dev/sdb1".to_string(), "/ssd".to_string(), 100 * gb),
                ("/dev/sda1".to_string(), "/".to_string(), images),
            ]
        };
        assert!(shortfalls(&needs, dir, 5 << 20, &free(30 * gb)).is_empty());
        let short = shortfalls(&needs, dir, 5 << 20, &free(28 * gb));
        assert_eq!(short.len(), 1, "{short:?}");
        assert!(
            short[0].starts_with("/ (for /images, /state/snapshots/t/lab/s1) needs 28.0 GiB: the memory of undercloud 12.0 GiB, ctrl01 16.0 GiB; the tables of 2 disks; the lab's folders, 5 MiB; it has 28.0 GiB free"),
            "{}",
            short[0]
        );
    }

    #[test]
    fn the_largest_domains_snapshots_are_asked_for_first() {
        // The seed's L1 by name: ceph01-03 (4 GiB), compute01 (8), ctrl01-03 (16), undercloud
        // (12); a shut-off domain (0) last.
        let gib = 1 << 20;
        let sizes = [
            4 * gib,
            4 * gib,
            4 * gib,
            8 * gib,
            16 * gib,
            16 * gib,
            16 * gib,
            12 * gib,
            0,
        ];
        assert_eq!(largest_first(&sizes), [4, 5, 6, 7, 3, 0, 1, 2, 8]);
        assert_eq!(largest_first(&[]), Vec::<usize>::new());
    }

    #[test]
    fn names_are_what_a_folder_and_libvirt_take() {
        for ok in ["after-overcloud", "s1", "v1.2_ok"] {
            assert!(check_name("the snapshot", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "-x", "a/b", "a b", "ü", &"x".repeat(65)] {
            let e = check_name("the snapshot", bad).unwrap_err();
            assert!(e.is(crate::error::Kind::Invalid), "{e:?}");
            assert!(e.message().contains("not a name labsh takes"), "{e}");
        }
    }

    #[test]
    fn a_snapshot_missing_of_another_lab_or_host_or_damaged_is_an_error_of_its_kind() {
        use crate::error::Kind;
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("lab/s1");
        let e = manifest_of(&dir, "lab", "s1", "test:///default").unwrap_err();
        assert_eq!(e.kind(), Kind::NotFound, "{e}");
        assert_eq!(e.message(), "lab lab has no snapshot s1");
        std::fs::create_dir_all(&dir).unwrap();
        let m = planned_manifest("other", "s1", "test:///default", &["a".into()]);
        write_manifest(&dir, &m).unwrap();
        let e = manifest_of(&dir, "lab", "s1", "test:///default").unwrap_err();
        assert_eq!(e.kind(), Kind::Refused, "{e}");
        assert!(
            e.message()
                .contains("holds snapshot s1 of lab other, not s1 of lab"),
            "{e}"
        );
        let e = manifest_of(&dir, "other", "s1", "qemu:///system").unwrap_err();
        assert_eq!(e.kind(), Kind::Refused, "{e}");
        assert!(e.message().contains("revert it on that host"), "{e}");
        assert!(manifest_of(&dir, "other", "s1", "test:///default").is_ok());
        std::fs::write(dir.join(MANIFEST), "{").unwrap();
        let e = read_manifest(&dir).unwrap_err();
        assert_eq!(e.kind(), Kind::Failed, "{e}");
        assert!(
            e.message()
                .ends_with("is damaged: EOF while parsing an object at line 1 column 1"),
            "{e}"
        );
        assert!(
            e.advice().is_some_and(|a| a.contains("move its folder")),
            "{e:?}"
        );
    }

    #[test]
    fn a_domains_disks_and_firmware_are_read_from_its_definition() {
        let xml = "<domain type='qemu'><name>a</name><uuid>u-1</uuid>\
            <metadata><labsh:lab xmlns:labsh='https://labsh.dev/xmlns/lab/1'>lab</labsh:lab></metadata>\
            <os firmware='efi'><type>hvm</type></os><devices>\
            <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/a.qcow2'/></disk>\
            <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/i/a.iso'/><readonly/></disk>\
            </devices></domain>";
        let f = dom_facts(xml).unwrap();
        assert_eq!(f.uuid, "u-1");
        assert!(f.pflash);
        assert_eq!(f.disks.len(), 2);
        assert_eq!(
            f.disks[0],
            ("/i/a.qcow2".into(), "qcow2".into(), "disk".into(), false)
        );
        assert!(f.disks[1].3);
        let bios = dom_facts(&xml.replace(" firmware='efi'", "")).unwrap();
        assert!(!bios.pflash);
        let loader = xml.replace(
            " firmware='efi'><type>hvm</type>",
            "><type>hvm</type><loader readonly='yes' type='pflash'>/c.fd</loader>",
        );
        assert!(dom_facts(&loader).unwrap().pflash);
    }

    #[test]
    fn a_tree_is_kept_and_put_back_as_it_was() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("out");
        std::fs::create_dir_all(src.join("ocp/auth")).unwrap();
        std::fs::write(src.join("stages.json"), "[\"l0\"]").unwrap();
        std::fs::write(src.join("ocp/auth/kubeconfig"), "k1").unwrap();
        std::fs::set_permissions(
            src.join("stages.json"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        std::os::unix::fs::symlink("stages.json", src.join("link")).unwrap();
        let keep = t.path().join("snap/files/out");
        copy_tree(&src, &keep).unwrap();
        assert_eq!(
            std::fs::metadata(keep.join("stages.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600,
            "a copy in the state folder is private"
        );
        // What the lab did since: a file changed, one added, a folder added, the link moved.
        std::fs::write(src.join("stages.json"), "[\"l0\",\"l1\"]").unwrap();
        std::fs::write(src.join("ocp/metadata.json"), "{}").unwrap();
        std::fs::create_dir_all(src.join("logs/deep")).unwrap();
        std::fs::write(src.join("logs/deep/x.log"), "x").unwrap();
        std::fs::remove_file(src.join("link")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        let changed = restore_tree(&keep, &src).unwrap();
        assert!(changed >= 4, "{changed}");
        assert_eq!(
            walk(&src).unwrap(),
            serde_json::from_str::<Vec<Entry>>(
                &std::fs::read_to_string(t.path().join("snap/files/out.json")).unwrap()
            )
            .unwrap()
        );
        assert_eq!(
            std::fs::read_to_string(src.join("stages.json")).unwrap(),
            "[\"l0\"]"
        );
        assert_eq!(
            std::fs::metadata(src.join("stages.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o644,
            "its own mode back"
        );
        assert_eq!(
            std::fs::read_link(src.join("link")).unwrap(),
            Path::new("stages.json")
        );
        assert!(!src.join("logs").exists() && !src.join("ocp/metadata.json").exists());
        // Again: nothing to do.
        assert_eq!(restore_tree(&keep, &src).unwrap(), 0);
    }

    #[test]
    fn the_snapshots_under_a_root_are_listed_with_the_damaged_named() {
        let t = tempfile::tempdir().unwrap();
        let m = |lab: &str, name: &str, at: u64| Manifest {
            name: name.into(),
            lab: lab.into(),
            uri: "test:///default".into(),
            created: String::new(),
            created_ms: at,
            cold: false,
            modelled: true,
            domains: vec![],
            kept: vec![],
            frozen_ms: 0,
            memory_bytes: 0,
            record: Value::Null,
        };
        for (lab, name, at) in [("b", "s2", 2), ("a", "late", 9), ("a", "early", 1)] {
            let d = t.path().join(lab).join(name);
            std::fs::create_dir_all(&d).unwrap();
            write_manifest(&d, &m(lab, name, at)).unwrap();
        }
        std::fs::create_dir_all(t.path().join("a/broken")).unwrap();
        std::fs::write(t.path().join("a/broken").join(MANIFEST), "{").unwrap();
        let l = list(t.path()).unwrap();
        let names: Vec<String> = l
            .iter()
            .map(|x| {
                x.manifest
                    .as_ref()
                    .map(|m| format!("{}/{}", m.lab, m.name))
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(names, vec!["", "a/early", "a/late", "b/s2"]);
        assert!(
            l[0].damaged.as_deref().unwrap().contains("is damaged"),
            "{:?}",
            l[0].damaged
        );
        assert!(list(&t.path().join("none")).unwrap().is_empty());
    }
}
