//! Disk images: qemu-img (create, overlay, info, resize, convert), the libguestfs tools
//! (virt-resize, virt-filesystems, virt-customize, virt-inspector), the base-image cache, and
//! the guest an image holds (inspected, or read from its file name or a libosinfo id).

use crate::error::Error;

pub mod client;
pub mod guest;

use crate::engine::value;
use crate::modules::opts::{option_spec, type_name, OptField, OptSecret, OptionSpec};
use crate::session::Res;
use crate::session::{rt_err, to_map, with_effects};
use crate::util::size::{parse_size, parse_size_with_unit};
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use std::collections::BTreeMap;

/// The size an image function is given: a string with a unit, or a number of bytes of at least
/// 1 MiB (a bare number below that is surely meant in another unit).
fn size_of(v: &Dynamic) -> Result<u64, Error> {
    if let Ok(n) = v.as_int() {
        if n < 1 << 20 {
            return Err(Error::invalid(format!(
                "size {n} is {n} bytes, which is surely not meant: write a unit, like \"{n}G\""
            )));
        }
        return Ok(n as u64);
    }
    if v.is_string() {
        return parse_size_with_unit(&v.clone().into_string().unwrap_or_default());
    }
    Err(Error::invalid(format!(
        "a size must be a string like \"100G\" or a number of bytes, not {}",
        type_name(v)
    )))
}

/// The size argument of `func` on `path`; a mistake in it is an error at the call.
fn size_at(ctx: &NativeCallContext, func: &str, path: &str, size: &Dynamic) -> Res<u64> {
    size_of(size).map_err(|e| rt_err(ctx, e.context(format!("{func} {path}"))))
}

option_spec! {
    /// The options of `img::customize`.
    pub struct CustomizeOpts {
        /// The root password, a secret.
        root_password: Option<OptSecret>,
        /// Public keys for root's authorized_keys.
        ssh_inject: Vec<String>,
        /// SELinux labels fixed on the next boot (default false).
        selinux_relabel: Option<bool>,
        /// Shell commands run in the guest.
        run: Vec<String>,
        /// Files written in the guest: path to text.
        write: BTreeMap<String, String>,
        /// Packages removed.
        uninstall: Vec<String>,
        /// The guest's host name.
        hostname: Option<String>,
    }
}

/// The option maps of the `img` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[("customize", CustomizeOpts::FIELDS)];

#[export_module]
pub mod img_fns {
    /// Creates a sparse image of `size` ("100G", "512M", or bytes) in qcow2; ok when it exists
    /// in that format and at least that big, an error when it exists otherwise (nothing is
    /// overwritten).
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-example.qcow2", "64M");
    /// ```
    #[rhai_fn(name = "create", return_raw)]
    pub fn create(ctx: NativeCallContext, path: &str, size: Dynamic) -> Res<bool> {
        create_fmt(ctx, path, size, "qcow2")
    }

    /// `create` in another format (`"raw"`, `"qcow2"`).
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-example.raw", "8M", "raw");
    /// ```
    #[rhai_fn(name = "create", return_raw)]
    pub fn create_fmt(
        ctx: NativeCallContext,
        path: &str,
        size: Dynamic,
        format: &str,
    ) -> Res<bool> {
        let size = super::size_at(&ctx, "img::create", path, &size)?;
        super::with_effects(&ctx, |fx| super::client::create(fx, path, size, format))
    }

    /// A qcow2 overlay on `backing` (each VM gets one on the shared base image); ok when it
    /// exists on that backing file.
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-base.qcow2", "64M");
    /// img::overlay("/tmp/labsh-doc-vm.qcow2", "/tmp/labsh-doc-base.qcow2");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn overlay(ctx: NativeCallContext, path: &str, backing: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| super::client::overlay(fx, path, backing, None))
    }

    /// What `qemu-img info --output=json` says, plus `virtual_size`, `format` and `backing`;
    /// `()` when the file does not exist.
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-info.qcow2", "64M");
    /// let i = img::info("/tmp/labsh-doc-info.qcow2");
    /// if !plan_mode() { assert_eq(i.virtual_size, 67108864); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn info(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        let i = super::with_effects(&ctx, |fx| super::client::info(fx, path))?;
        Ok(match i {
            None => Dynamic::UNIT,
            Some(i) => {
                let mut d = super::value::from_json(&i.json);
                if let Some(mut m) = d.write_lock::<Map>() {
                    m.extend(super::to_map(&ctx, &i)?);
                }
                d
            }
        })
    }

    /// Grows an image to `size` (never shrinks: ok when it is already that big).
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-grow.qcow2", "64M");
    /// img::resize("/tmp/labsh-doc-grow.qcow2", "128M");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn resize(ctx: NativeCallContext, path: &str, size: Dynamic) -> Res<bool> {
        let size = super::size_at(&ctx, "img::resize", path, &size)?;
        super::with_effects(&ctx, |fx| super::client::resize(fx, path, size))
    }

    /// Converts `src` into a new `dst` in `format`; ok when `dst` exists in that format.
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-conv.qcow2", "8M");
    /// img::convert("/tmp/labsh-doc-conv.qcow2", "/tmp/labsh-doc-conv.raw", "raw");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn convert(ctx: NativeCallContext, src: &str, dst: &str, format: &str) -> Res<bool> {
        super::with_effects(&ctx, |fx| super::client::convert(fx, src, dst, format))
    }

    /// Copies a base image (a file, or an http/https URL fetched with curl) once into
    /// `cache_dir`, named by the sha256 of its content; returns the cached path. Later runs find
    /// it there.
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-src.qcow2", "8M");
    /// let p = img::cache_base("/tmp/labsh-doc-src.qcow2", "/tmp/labsh-doc-cache");
    /// assert(p.starts_with("/tmp/labsh-doc-cache/") || plan_mode());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn cache_base(ctx: NativeCallContext, source: &str, cache_dir: &str) -> Res<String> {
        super::with_effects(&ctx, |fx| super::client::cache_base(fx, source, cache_dir))
    }

    /// Where `img::cache_base` keeps `source` in `cache_dir` when it is there already (a URL
    /// downloaded before, a file whose content was copied), else `()`; nothing is copied.
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-cached.qcow2", "8M");
    /// assert_eq(img::cached("/tmp/labsh-doc-cached.qcow2", "/tmp/labsh-doc-cache2"), ());
    /// let p = img::cache_base("/tmp/labsh-doc-cached.qcow2", "/tmp/labsh-doc-cache2");
    /// if !plan_mode() { assert_eq(img::cached("/tmp/labsh-doc-cached.qcow2", "/tmp/labsh-doc-cache2"), p); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn cached(ctx: NativeCallContext, source: &str, cache_dir: &str) -> Res<Dynamic> {
        let p = super::with_effects(&ctx, |fx| super::client::cached(fx, source, cache_dir))?;
        Ok(p.map(Dynamic::from).unwrap_or(Dynamic::UNIT))
    }

    /// The guest operating system in an image, read by libguestfs inspection (virt-inspector)
    /// once per content: `#{distro, major, minor, name, os, el}` (distro as libguestfs names it:
    /// "rhel", "centos", "fedora"; name "RHEL 9.4"; os the libosinfo id "rhel9.4"; el the RHEL
    /// release it is or is rebuilt from, else `()`), or `()` when it finds no operating system.
    /// The answer is kept by the image's sha256 in the state folder (`STATE/image-guests`), so
    /// the same image is inspected once. A missing file, or a missing virt-inspector, is an
    /// error.
    ///
    /// ```rhai
    /// img::create("/tmp/labsh-doc-blank.qcow2", "64M");
    /// if img::have("virt-inspector") && false {
    ///     img::inspect("/tmp/labsh-doc-blank.qcow2")          // (): a blank disk holds no system
    /// }
    /// let e = "";
    /// try { img::inspect("/tmp/labsh-doc-none.qcow2"); } catch (err) { e = err; }
    /// assert(e.contains("does not exist"), e);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn inspect(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        let g = super::with_effects(&ctx, |fx| super::client::inspect(fx, path))?;
        match g {
            None => Ok(Dynamic::UNIT),
            Some(g) => Ok(Dynamic::from_map(super::to_map(&ctx, &g)?)),
        }
    }

    /// The guest a file name says (`()` when it says none): the names Red Hat publishes its KVM
    /// guest images under (rhel-9.4-x86_64-kvm.qcow2, rhel-baseos-9.0-update-4-x86_64-kvm.qcow2,
    /// rhel-server-7.9-update-12-x86_64-kvm.qcow2, rhel-guest-image-7.6-210.x86_64.qcow2), CentOS's
    /// and Fedora's (CentOS-7-x86_64-GenericCloud-2009.qcow2,
    /// CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2, Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2)
    /// and labs' own (rhel9-guest.qcow2). A path or URL is read by its file name. The map is
    /// `img::inspect`'s.
    ///
    /// ```rhai
    /// assert_eq(img::guest_of_name("rhel-9.4-x86_64-kvm.qcow2").name, "RHEL 9.4");
    /// assert_eq(img::guest_of_name("/images/rhel-server-7.9-update-12-x86_64-kvm.qcow2").el, 7);
    /// assert_eq(img::guest_of_name("CentOS-Stream-GenericCloud-9-20230828.0.x86_64.qcow2").os, "centos-stream9");
    /// assert_eq(img::guest_of_name("guest.qcow2"), ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn guest_of_name(ctx: NativeCallContext, name: &str) -> Res<Dynamic> {
        match super::guest::from_file_name(name) {
            None => Ok(Dynamic::UNIT),
            Some(g) => Ok(Dynamic::from_map(super::to_map(&ctx, &g)?)),
        }
    }

    /// The guest a libosinfo short id names, as virt-inspector's `<osinfo>` gives it
    /// ("rhel9.4", "rhel7", "centos7.0", "centos-stream9", "fedora41"); anything else is an
    /// error saying the form. The map is `img::inspect`'s.
    ///
    /// ```rhai
    /// let g = img::guest_of_os("rhel9.4");
    /// assert_eq([g.distro, g.major, g.minor, g.el], ["rhel", 9, 4, 9]);
    /// assert_eq(img::guest_of_os("fedora41").el, ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn guest_of_os(ctx: NativeCallContext, os: &str) -> Res<Map> {
        let g = super::guest::from_os(os).map_err(|e| super::rt_err(&ctx, e))?;
        super::to_map(&ctx, &g)
    }

    /// `virt-resize --expand PARTITION src dst` into a new sparse `dst` of `size` (the seed's
    /// 100G guest image). Needs libguestfs-tools; ok when `dst` exists at least that big.
    ///
    /// ```rhai
    /// if img::have("virt-resize") && plan_mode() {
    ///     img::virt_resize("/tmp/base.qcow2", "/tmp/big.qcow2", "100G", "/dev/sda1");
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn virt_resize(
        ctx: NativeCallContext,
        src: &str,
        dst: &str,
        size: Dynamic,
        expand: &str,
    ) -> Res<bool> {
        let size = super::size_at(&ctx, "img::virt_resize", dst, &size)?;
        super::with_effects(&ctx, |fx| {
            super::client::virt_resize(fx, src, dst, size, expand)
        })
    }

    /// The partitions and filesystems of an image (`virt-filesystems --long --csv`), one map
    /// of column to value each.
    ///
    /// ```rhai
    /// if img::have("virt-filesystems") && !plan_mode() && false { img::filesystems("/tmp/x.qcow2"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn filesystems(ctx: NativeCallContext, path: &str) -> Res<Array> {
        let rows = super::with_effects(&ctx, |fx| super::client::filesystems(fx, path))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                Dynamic::from_map(
                    r.into_iter()
                        .map(|(k, v)| (k.into(), Dynamic::from(v)))
                        .collect(),
                )
            })
            .collect())
    }

    /// virt-customize, once per image and set of operations: `#{root_password: secret(..),
    /// ssh_inject: ["root:file:/root/.ssh/id_rsa.pub"], selinux_relabel: true, run: ["cmd"],
    /// write: #{"/etc/file": "content"}, uninstall: ["cloud-init"], hostname: "undercloud"}`.
    /// The password never shows: virt-customize reads it from a private file made for the run
    /// (`--root-password file:`), removed after. A marker beside the image (0600) records what
    /// was done, keyed with the lab's own key (`STATE/lab-key`) so that it gives nothing to
    /// test guessed passwords against: the same again changes nothing, a changed password
    /// customizes again.
    ///
    /// ```rhai
    /// if plan_mode() {
    ///     img::customize("/tmp/undercloud.qcow2", #{root_password: secret("doc-root", #{generate: true}),
    ///         selinux_relabel: true, run: ["yum remove cloud-init* -y"]});
    /// }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn customize(ctx: NativeCallContext, path: &str, opts: Map) -> Res<bool> {
        let f = format!("img::customize {path}");
        let err = |e: crate::error::Error| super::rt_err(&ctx, e);
        let o = super::CustomizeOpts::read(&f, opts).map_err(err)?;
        let c = super::client::Customize {
            root_password: o.root_password.map(|s| s.0),
            ssh_inject: o.ssh_inject,
            selinux_relabel: o.selinux_relabel.unwrap_or(false),
            run: o.run,
            write: o.write.into_iter().collect(),
            uninstall: o.uninstall,
            hostname: o.hostname,
        };
        super::with_effects(&ctx, |fx| super::client::customize(fx, path, &c))
    }

    /// A size in bytes: a string such as "100G", "512M", "12288MiB", "20 GB" or "4096" (a bare
    /// number is bytes), or a number of bytes as it is. Binary multiples (K = KiB = 1024), as
    /// qemu-img and libvirt read them. Unlike the image functions, which want a unit, this takes
    /// a bare number too.
    ///
    /// ```rhai
    /// assert_eq(img::parse_size("100G"), 107374182400);
    /// assert_eq(img::parse_size(" 20 gb "), 21474836480);
    /// assert_eq(img::parse_size("1.5K"), 1536);
    /// assert_eq(img::parse_size("4096"), 4096);
    /// assert_eq(img::parse_size(4096), 4096);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_size(ctx: NativeCallContext, size: Dynamic) -> Res<i64> {
        let err = |e: Error| super::rt_err(&ctx, e.context("img::parse_size"));
        let bytes = if let Ok(n) = size.as_int() {
            u64::try_from(n).map_err(|_| err(Error::invalid(format!("{n} is negative"))))?
        } else if size.is_string() {
            super::parse_size(&size.clone().into_string().unwrap_or_default()).map_err(err)?
        } else {
            return Err(err(Error::invalid(format!(
                "a size must be a string like \"100G\" or a number of bytes, not {}",
                super::type_name(&size)
            ))));
        };
        i64::try_from(bytes).map_err(|_| err(Error::invalid(format!("{size} is too large"))))
    }

    /// Whether a tool is installed (on PATH).
    ///
    /// ```rhai
    /// assert(img::have("qemu-img"));
    /// ```
    pub fn have(tool: &str) -> bool {
        crate::util::path::on_path(tool)
    }
}
