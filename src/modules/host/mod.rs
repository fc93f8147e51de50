//! L0 host facts for preflight: CPUs, memory, free disk where images go, KVM and nested
//! virtualization, tool versions; and the tuned profile. This file holds the Rhai functions;
//! client.rs reads the host.

pub mod client;

use crate::session::Res;
use crate::session::{to_map, with_effects};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};

#[export_module]
pub mod host_fns {
    /// This host's facts: `#{cpus, memory_kib, memory_available_kib (MemAvailable: the rest is
    /// in use), kvm (a usable /dev/kvm: it opens and kvm_intel or kvm_amd is loaded), vendor
    /// ("intel", "amd" or ""), nested ("Y"/"1" when enabled), hostname, kernel, images_dir (the
    /// nearest existing folder of `images_dir`), free_kib (free space there)}`.
    ///
    /// ```rhai
    /// let f = host::facts("/var/lib/libvirt/images");
    /// assert(f.cpus >= 1 && f.memory_kib > 0 && f.free_kib > 0);
    /// assert(f.memory_available_kib > 0 && f.memory_available_kib <= f.memory_kib);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn facts(ctx: NativeCallContext, images_dir: &str) -> Res<Map> {
        let f = super::with_effects(&ctx, |fx| super::client::facts(fx, images_dir))?;
        super::to_map(&ctx, &f)
    }

    /// The version of each tool, or `()` when it is not installed: `#{"qemu-img": "qemu-img
    /// version 7.2.22 ...", "virt-install": ()}`.
    ///
    /// ```rhai
    /// let v = host::tools(["qemu-img", "no-such-tool-here"]);
    /// assert(v["qemu-img"].contains("qemu-img") && v["no-such-tool-here"] == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn tools(ctx: NativeCallContext, names: Array) -> Res<Map> {
        let mut m = Map::new();
        for n in names {
            let name = n.to_string();
            let v = super::with_effects(&ctx, |fx| {
                Ok::<_, crate::error::Error>(super::client::version_of(fx, &name))
            })?;
            m.insert(name.into(), v.map(Dynamic::from).unwrap_or(Dynamic::UNIT));
        }
        Ok(m)
    }

    /// Switches tuned to `profile` (the seed uses "network-latency"); ok when it is active
    /// already. Returns `false` with a warning when tuned is not installed.
    ///
    /// ```rhai
    /// host::tuned("network-latency");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn tuned(ctx: NativeCallContext, profile: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| super::client::tuned(fx, profile))
    }
}
