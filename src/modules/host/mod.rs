//! L0 host facts for preflight: CPUs, memory, free disk where images go, KVM and nested
//! virtualization, tool versions; and the tuned profile.

use crate::effects::process::Command;
use crate::effects::{Effects, Op};
use crate::session::with_effects;
use rhai::plugin::*;
use rhai::{Array, Dynamic, EvalAltResult, Map, NativeCallContext};
use std::path::{Path, PathBuf};

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn cpus() -> i64 {
    read("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count() as i64)
        .filter(|n| *n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1)
        })
}

fn meminfo_kib(key: &str) -> i64 {
    read("/proc/meminfo")
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The nearest folder of `dir` that exists.
fn existing_ancestor(dir: &str) -> PathBuf {
    let mut p = PathBuf::from(dir);
    while !p.exists() {
        if !p.pop() {
            return PathBuf::from("/");
        }
    }
    p
}

fn free_kib(fx: &Effects, dir: &Path) -> Result<i64, String> {
    let d = dir.display().to_string();
    let cmd = Command::new(["df", "-Pk", &d]);
    let out = fx.read(Op::new("host.df", &d), || fx.exec(&cmd))?;
    out.stdout
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("cannot read free space of {d} from df"))
}

/// (vendor, nested) from the loaded KVM module.
fn nested() -> (String, String) {
    for v in ["intel", "amd"] {
        if let Some(n) = read(&format!("/sys/module/kvm_{v}/parameters/nested")) {
            return (v.to_string(), n);
        }
    }
    (String::new(), String::new())
}

/// The version line a tool prints, or None when it is not installed.
fn version_of(fx: &Effects, tool: &str) -> Option<String> {
    let flag = match tool {
        "ipmitool" | "virsh" | "dnsmasq" => "-V",
        "tuned-adm" => "--version",
        _ => "--version",
    };
    let flag = if tool == "virsh" { "--version" } else { flag };
    let mut cmd = Command::new([tool, flag]);
    cmd.timeout = Some(std::time::Duration::from_secs(20));
    let out = fx
        .read(Op::new("host.tool_version", tool), || fx.exec(&cmd))
        .ok()?;
    let text = if out.stdout.trim().is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    Some(
        text.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string(),
    )
}

#[export_module]
pub mod host_fns {
    /// This host's facts: `#{cpus, memory_kib, kvm (a usable /dev/kvm: it opens and kvm_intel
    /// or kvm_amd is loaded), vendor ("intel",
    /// "amd" or ""), nested ("Y"/"1" when enabled), hostname, kernel, images_dir (the nearest
    /// existing folder of `images_dir`), free_kib (free space there)}`.
    ///
    /// ```rhai
    /// let f = host::facts("/var/lib/libvirt/images");
    /// assert(f.cpus >= 1 && f.memory_kib > 0 && f.free_kib > 0);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn facts(ctx: NativeCallContext, images_dir: &str) -> Result<Map, Box<EvalAltResult>> {
        let dir = super::existing_ancestor(images_dir);
        let free = super::with_effects(&ctx, |fx| super::free_kib(fx, &dir))?;
        let (vendor, nested) = super::nested();
        let mut m = Map::new();
        m.insert("cpus".into(), super::cpus().into());
        m.insert("memory_kib".into(), super::meminfo_kib("MemTotal:").into());
        m.insert(
            "kvm".into(),
            crate::modules::img::client::kvm_usable().into(),
        );
        m.insert("vendor".into(), vendor.into());
        m.insert("nested".into(), nested.into());
        m.insert(
            "hostname".into(),
            super::read("/proc/sys/kernel/hostname")
                .unwrap_or_default()
                .into(),
        );
        m.insert(
            "kernel".into(),
            super::read("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .into(),
        );
        m.insert("images_dir".into(), dir.display().to_string().into());
        m.insert("free_kib".into(), free.into());
        Ok(m)
    }

    /// The version of each tool, or `()` when it is not installed: `#{"qemu-img": "qemu-img
    /// version 7.2.22 ...", "virt-install": ()}`.
    ///
    /// ```rhai
    /// let v = host::tools(["qemu-img", "no-such-tool-here"]);
    /// assert(v["qemu-img"].contains("qemu-img") && v["no-such-tool-here"] == ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn tools(ctx: NativeCallContext, names: Array) -> Result<Map, Box<EvalAltResult>> {
        let mut m = Map::new();
        for n in names {
            let name = n.to_string();
            let v = super::with_effects(&ctx, |fx| Ok(super::version_of(fx, &name)))?;
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
    pub fn tuned(ctx: NativeCallContext, profile: &str) -> Result<bool, Box<EvalAltResult>> {
        super::with_effects(&ctx, |fx| {
            if !crate::util::path::on_path("tuned-adm") {
                fx.printer().warn(&format!("tuned-adm is not installed: the {profile} profile is not applied (apt-get install tuned)"));
                return Ok(false);
            }
            let active = super::Command::new(["tuned-adm", "active"]);
            let out = fx.read(super::Op::new("host.tuned.active", profile), || {
                fx.exec(&active)
            })?;
            if out.stdout.trim().ends_with(profile) {
                fx.unchanged(super::Op::new("host.tuned", profile));
                return Ok(false);
            }
            let set = super::Command::new(["tuned-adm", "profile", profile]);
            fx.change(
                super::Op::new("host.tuned", profile),
                || {
                    fx.exec(&set).and_then(|o| {
                        if o.code == 0 {
                            Ok(())
                        } else {
                            Err(o.failure(&format!("tuned-adm profile {profile}")).into())
                        }
                    })
                },
                || (),
            )?;
            Ok(true)
        })
    }
}
