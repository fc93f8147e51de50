//! What preflight reads of the L0 host, with no Rhai types: CPUs, memory, the free space where
//! images go (df through the seam), KVM and nested virtualization, tool versions; and tuned's
//! profile, switched through the seam.

use crate::effects::process::Command;
use crate::effects::{Effects, Op};
use crate::error::Error;
use std::path::{Path, PathBuf};

fn read(path: &str) -> Option<String> {
    crate::util::read::text(path)
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

fn free_kib(fx: &Effects, dir: &Path) -> Result<i64, Error> {
    let d = dir.display().to_string();
    let cmd = Command::new(["df", "-Pk", &d]);
    let out = fx.read(Op::new("host.df", &d), || fx.exec(&cmd))?;
    out.stdout
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::failed(format!("cannot read free space of {d} from df")))
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
pub fn version_of(fx: &Effects, tool: &str) -> Option<String> {
    let flag = if matches!(tool, "ipmitool" | "dnsmasq") {
        "-V"
    } else {
        "--version"
    };
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

/// This host's facts (see `host::facts`).
#[derive(serde::Serialize)]
pub struct Facts {
    pub cpus: i64,
    pub memory_kib: i64,
    /// What the kernel could give programs without swapping (MemAvailable); the rest is in use.
    pub memory_available_kib: i64,
    pub kvm: bool,
    pub vendor: String,
    pub nested: String,
    pub hostname: String,
    pub kernel: String,
    /// The nearest existing folder of the images folder asked about.
    #[serde(serialize_with = "shown_path")]
    pub images_dir: PathBuf,
    pub free_kib: i64,
}

/// A path as text (as `display` shows it).
fn shown_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&p.display())
}

/// This host's facts, the free space that of `images_dir` (or its nearest existing folder).
pub fn facts(fx: &Effects, images_dir: &str) -> Result<Facts, Error> {
    let dir = existing_ancestor(images_dir);
    let free = free_kib(fx, &dir)?;
    let (vendor, nested) = nested();
    Ok(Facts {
        cpus: cpus(),
        memory_kib: meminfo_kib("MemTotal:"),
        memory_available_kib: meminfo_kib("MemAvailable:"),
        kvm: crate::modules::img::client::kvm_usable(),
        vendor,
        nested,
        hostname: read("/proc/sys/kernel/hostname").unwrap_or_default(),
        kernel: read("/proc/sys/kernel/osrelease").unwrap_or_default(),
        images_dir: dir,
        free_kib: free,
    })
}

/// Switches tuned to `profile`: ok when it is active already; `false` with a warning when tuned
/// is not installed.
pub fn tuned(fx: &Effects, profile: &str) -> Result<bool, Error> {
    if !crate::util::path::on_path("tuned-adm") {
        fx.printer().warn(&format!("tuned-adm is not installed: the {profile} profile is not applied (apt-get install tuned)"));
        return Ok(false);
    }
    let active = Command::new(["tuned-adm", "active"]);
    let out = fx.read(Op::new("host.tuned.active", profile), || fx.exec(&active))?;
    if out.stdout.trim().ends_with(profile) {
        fx.unchanged(Op::new("host.tuned", profile));
        return Ok(false);
    }
    let set = Command::new(["tuned-adm", "profile", profile]);
    fx.change(
        Op::new("host.tuned", profile),
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
}
