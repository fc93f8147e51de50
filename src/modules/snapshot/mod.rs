//! Whole-lab snapshots of libvirt domains, as `virt::snapshot_*` functions: a set of domains
//! stopped in one moment and kept (disks, memory, definitions, autostart, the lab's folders),
//! brought back the same way, deleted, listed. The mechanism and its reasons are in
//! [`client`]; the lab's orchestration (which domains, the stages done, the BMCs, Ironic, the
//! overcloud and the cluster after a revert) is stdlib/snapshot.rhai.

pub mod client;

use crate::engine::value;
use crate::error::Error;
use crate::modules::opts::{option_spec, OptAny, OptField, OptionSpec, Seconds};
use crate::session::{rt_err, session, to_array, to_map, with_effects, Res};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

option_spec! {
    /// `virt::snapshot_save`.
    pub struct SaveOpts {
        /// The lab whose domains these are (each must carry its mark).
        lab: String,
        /// The snapshot's name.
        name: String,
        /// Its folder, absolute; it must not exist.
        dir: String,
        /// The domains to keep, by name.
        domains: Vec<String>,
        /// Shut the domains down first, and start them again after (false: live).
        cold: Option<bool>,
        /// The lab's folders to copy while it stands still: `#{label: folder}` (absolute).
        keep: BTreeMap<String, String>,
        /// Kept with the snapshot as given: any value (its keys are the caller's).
        record: OptAny,
        /// Seconds a cold snapshot waits for each domain to shut down before powering it off (120).
        shutdown_timeout: Option<Seconds>,
    }
}

option_spec! {
    /// Which snapshot `virt::snapshot_revert` and `virt::snapshot_delete` mean.
    pub struct WhichOpts {
        /// The lab.
        lab: String,
        /// The snapshot's name.
        name: String,
        /// Its folder, absolute.
        dir: String,
        /// The lab's domains, for a plan whose snapshot is taken earlier in it.
        domains: Vec<String>,
    }
}

/// The option maps of the snapshot functions (in `virt`).
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("snapshot_save", SaveOpts::FIELDS),
    ("snapshot_revert", WhichOpts::FIELDS),
    ("snapshot_delete", WhichOpts::FIELDS),
];

/// `dir`, the snapshot's folder: it must be absolute.
fn dir_of(func: &str, d: String) -> Result<PathBuf, Error> {
    if !d.starts_with('/') {
        return Err(Error::invalid(format!(
            "{func}: 'dir' {d:?} must be an absolute path"
        )));
    }
    Ok(PathBuf::from(d))
}

fn save_spec(m: Map) -> Result<client::SaveSpec, Error> {
    let func = "virt::snapshot_save";
    let o = SaveOpts::read(func, m)?;
    let mut keep = Vec::new();
    for (k, path) in o.keep {
        if !path.starts_with('/') {
            return Err(Error::invalid(format!(
                "{func}: keep.{k} {path:?} must be an absolute path"
            )));
        }
        keep.push((k, path));
    }
    let record = match o.record.0 {
        v if v.is_unit() => serde_json::Value::Null,
        v => value::to_json(&v),
    };
    Ok(client::SaveSpec {
        lab: o.lab,
        name: o.name,
        dir: dir_of(func, o.dir)?,
        domains: o.domains,
        cold: o.cold.unwrap_or(false),
        keep,
        record,
        shutdown_timeout: o.shutdown_timeout.map_or(Duration::from_secs(120), |s| s.0),
    })
}

/// Which snapshot a revert's or a deletion's spec names.
fn which(func: &str, m: Map) -> Result<client::Which, Error> {
    let o = WhichOpts::read(func, m)?;
    Ok(client::Which {
        lab: o.lab,
        name: o.name,
        dir: dir_of(func, o.dir)?,
        domains: o.domains,
    })
}

#[export_module]
pub mod snapshot_fns {
    /// Takes a snapshot of the domains of a lab, all in one moment: `#{lab, name, dir (its
    /// folder, absolute; it must not exist), domains: [names], cold: false, keep: #{label:
    /// folder} (the lab's folders, copied while the lab stands still), record: #{..} (kept
    /// with it), shutdown_timeout: 120}`. Live, every running domain is paused at once, each
    /// domain's disks and memory kept as libvirt's internal snapshot, then every one resumed
    /// together; cold, the domains are shut down first (powered off after `shutdown_timeout`
    /// seconds) and started again after. Each domain must carry the lab's mark and have no
    /// snapshot of that name; the room it needs (each running domain's memory in the folder of
    /// its first disk) is checked before anything stops. On libvirt's test driver the domains'
    /// definitions, autostart and states are kept. Returns the snapshot's record:
    /// `#{name, lab, uri, created, cold, domains: [#{name, state, autostart, ...}], kept,
    /// frozen_ms, memory_bytes, record}`.
    ///
    /// ```rhai
    /// let uri = "test:///default";
    /// virt::domain_ensure(uri, #{lab: "doc-snap", name: "doc-snap-a", memory_mib: 256, vcpus: 1});
    /// if !plan_mode() {
    ///     let s = virt::snapshot_save(uri, #{lab: "doc-snap", name: "s1", dir: "/tmp/labsh-doc-snap/s1",
    ///                                      domains: ["doc-snap-a"], record: #{after: "l1"}});
    ///     assert_eq(s.domains[0].state, "running");
    ///     virt::snapshot_delete(uri, #{lab: "doc-snap", name: "s1", dir: "/tmp/labsh-doc-snap/s1"});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn snapshot_save(ctx: NativeCallContext, uri: &str, spec: Map) -> Res<Map> {
        let spec = super::save_spec(spec).map_err(|e| super::rt_err(&ctx, e))?;
        let jobs = super::session(&ctx)?.jobs();
        let m = super::with_effects(&ctx, |fx| super::client::save(fx, uri, &spec, jobs))?;
        super::to_map(&ctx, &m)
    }

    /// Brings a lab back to its snapshot `#{lab, name, dir, domains}` (taken by `snapshot_save`
    /// at this URI; `domains`: the lab's, for a plan whose snapshot is taken earlier in it): every domain reverted (disks and memory) at once and left paused, its definition
    /// and autostart as they were (a domain undefined since is defined again), the kept folders
    /// put back, then every domain that ran at the snapshot let run again, together. Every check
    /// is made before anything changes. Returns `#{name, reverted, defined, autostart,
    /// running, stopped, files, frozen_ms}`.
    ///
    /// ```rhai
    /// let uri = "test:///default";
    /// virt::domain_ensure(uri, #{lab: "doc-snap", name: "doc-snap-b", memory_mib: 256, vcpus: 1});
    /// if !plan_mode() {
    ///     let spec = #{lab: "doc-snap", name: "s2", dir: "/tmp/labsh-doc-snap/s2"};
    ///     virt::snapshot_save(uri, spec + #{domains: ["doc-snap-b"]});
    ///     virt::domain_destroy(uri, "doc-snap-b");
    ///     let r = virt::snapshot_revert(uri, spec);
    ///     assert_eq(r.running, ["doc-snap-b"]);
    ///     assert_eq(virt::domain_state(uri, "doc-snap-b"), "running");
    ///     virt::snapshot_delete(uri, spec);
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn snapshot_revert(ctx: NativeCallContext, uri: &str, spec: Map) -> Res<Map> {
        let which =
            super::which("virt::snapshot_revert", spec).map_err(|e| super::rt_err(&ctx, e))?;
        let jobs = super::session(&ctx)?.jobs();
        let r = super::with_effects(&ctx, |fx| super::client::revert(fx, uri, &which, jobs))?;
        super::to_map(&ctx, &r)
    }

    /// Deletes a lab's snapshot `#{lab, name, dir, domains}` (`domains` as for
    /// `snapshot_revert`): each domain's (libvirt removes its data
    /// from the disks, a running domain's too), then its folder. Returns the domains whose
    /// snapshot was deleted.
    ///
    /// ```rhai
    /// let uri = "test:///default";
    /// virt::domain_ensure(uri, #{lab: "doc-snap", name: "doc-snap-c", memory_mib: 256, vcpus: 1});
    /// if !plan_mode() {
    ///     let spec = #{lab: "doc-snap", name: "s3", dir: "/tmp/labsh-doc-snap/s3"};
    ///     virt::snapshot_save(uri, spec + #{domains: ["doc-snap-c"]});
    ///     virt::snapshot_delete(uri, spec);
    ///     assert_eq(virt::snapshot_show("/tmp/labsh-doc-snap/s3"), ());
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn snapshot_delete(ctx: NativeCallContext, uri: &str, spec: Map) -> Res<Array> {
        let which =
            super::which("virt::snapshot_delete", spec).map_err(|e| super::rt_err(&ctx, e))?;
        let jobs = super::session(&ctx)?.jobs();
        let gone = super::with_effects(&ctx, |fx| super::client::delete(fx, uri, &which, jobs))?;
        Ok(gone.into_iter().map(Dynamic::from).collect())
    }

    /// The record of the snapshot in folder `dir` (as `snapshot_save` returns it), or `()` when
    /// there is none there.
    ///
    /// ```rhai
    /// assert_eq(virt::snapshot_show("/tmp/labsh-doc-snap/none"), ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn snapshot_show(ctx: NativeCallContext, dir: &str) -> Res<Dynamic> {
        match super::client::read_manifest(std::path::Path::new(dir))
            .map_err(|e| super::rt_err(&ctx, e))?
        {
            Some(m) => Ok(Dynamic::from_map(super::to_map(&ctx, &m)?)),
            None => Ok(Dynamic::UNIT),
        }
    }

    /// Every snapshot under `root` (`root/LAB/NAME`): `[#{dir, manifest (the record, or ()),
    /// damaged (why it cannot be read, or ())}]`, by lab, then by when each was taken.
    ///
    /// ```rhai
    /// assert_eq(virt::snapshot_list("/tmp/labsh-doc-snap-none"), []);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn snapshot_list(ctx: NativeCallContext, root: &str) -> Res<Array> {
        let rows =
            super::client::list(std::path::Path::new(root)).map_err(|e| super::rt_err(&ctx, e))?;
        super::to_array(&ctx, &rows)
    }
}
