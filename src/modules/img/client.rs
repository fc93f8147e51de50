//! Disk images: qemu-img and the libguestfs tools, run as argument vectors through the effects
//! seam, with ensure semantics; base images cached by content hash.

use super::guest::{self, Guest};
use crate::effects::lab_key::LabKey;
use crate::effects::process::{Arg, Command, Output};
use crate::effects::secret::Secret;
use crate::effects::{Effects, Op};
use crate::error::{Context, Error};
use crate::util::digest::sha256_file;
use std::path::{Path, PathBuf};

/// The Debian package that provides a tool, for "install it" errors.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "qemu-img" => "qemu-utils",
        "virt-resize" | "virt-customize" | "virt-filesystems" | "virt-cat" | "virt-make-fs"
        | "virt-inspector" => "libguestfs-tools",
        "curl" => "curl",
        _ => "the package that provides it",
    }
}

fn need(tool: &str) -> Result<(), Error> {
    if crate::util::path::on_path(tool) {
        Ok(())
    } else {
        Err(Error::not_found(format!(
            "{tool} is not installed: apt-get install {}",
            package_of(tool)
        )))
    }
}

fn exec(fx: &Effects, cmd: &Command) -> Result<Output, Error> {
    let out = fx.exec(cmd)?;
    if out.code != 0 {
        return Err(Error::failed(out.failure(&cmd.display())));
    }
    Ok(out)
}

/// An argument vector of plain words.
fn words(w: &[&str]) -> Vec<Arg> {
    w.iter().map(|&a| a.into()).collect()
}

/// `qemu-img ARGS` as the change `op` on `target`: `true`, it changed.
fn qemu_img(fx: &Effects, op: &str, target: &str, args: &[&str]) -> Result<bool, Error> {
    let mut argv = words(&["qemu-img"]);
    argv.extend(words(args));
    change(fx, op, target, argv, vec![])?;
    Ok(true)
}

/// Makes the folder an image goes into: 0700 in the state folder (the sandbox's images, the
/// base image cache there), never through a link there, as anything labsh makes there.
#[expect(
    clippy::disallowed_methods,
    reason = "called inside Effects::change: the folder of the image a tool is about to make"
)]
fn make_dir(dir: &Path) -> Result<(), Error> {
    crate::effects::files::make_dir(dir)
}

/// An image a tool made in the state folder is labsh's own: 0600, whatever the tool's umask
/// (set on the file itself: a link there is refused before the tool runs).
#[expect(
    clippy::disallowed_methods,
    reason = "called inside Effects::change: an image a tool made in the state folder, made 0600"
)]
fn own_file(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    if crate::paths::in_state(path) && is_file {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private (0600)", path.display()))?;
    }
    Ok(())
}

/// Before a tool writes `target`: in the state folder, a link at it (or at a folder on its way)
/// is refused, naming it, and what the tool makes there is its user's alone (umask 077).
fn into_state(cmd: &mut Command, target: &Path) -> Result<(), Error> {
    if crate::paths::in_state(target) {
        crate::paths::no_link_in_state(target)?;
        cmd.private = true;
    }
    Ok(())
}

/// Runs a tool that changes something, through the seam.
fn change(
    fx: &Effects,
    op: &str,
    target: &str,
    argv: Vec<Arg>,
    env: Vec<(String, Arg)>,
) -> Result<(), Error> {
    let tool = argv.first().map(|a| a.shown()).unwrap_or_default();
    let mut cmd = Command::new(argv);
    cmd.env = env;
    cmd.stream = Some(tool.rsplit('/').next().unwrap_or(&tool).to_string());
    let shown = cmd.display();
    fx.change(
        Op::new(op, target).arg("argv", shown),
        || {
            need(&tool)?;
            if let Some(dir) = Path::new(target)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                make_dir(dir)?;
            }
            into_state(&mut cmd, Path::new(target))?;
            exec(fx, &cmd)?;
            own_file(Path::new(target))
        },
        || (),
    )
}

/// libguestfs under software emulation where KVM is not usable.
fn guestfs_env() -> Vec<(String, Arg)> {
    let mut env = vec![(
        "LIBGUESTFS_BACKEND".to_string(),
        Arg::Plain("direct".into()),
    )];
    if std::env::var_os("LIBGUESTFS_BACKEND_SETTINGS").is_none() && !kvm_usable() {
        env.push((
            "LIBGUESTFS_BACKEND_SETTINGS".into(),
            Arg::Plain("force_tcg".into()),
        ));
    }
    env
}

/// KVM works when /dev/kvm opens and a vendor module (kvm_intel, kvm_amd) is loaded: in some
/// containers /dev/kvm exists without one, and guests started on it hang.
#[expect(
    clippy::disallowed_methods,
    reason = "opens /dev/kvm read-write to see whether KVM is usable: nothing is written"
)]
pub fn kvm_usable() -> bool {
    std::env::var_os("LABSH_NO_KVM").is_none()
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok()
        && (Path::new("/sys/module/kvm_intel").exists()
            || Path::new("/sys/module/kvm_amd").exists())
}

/// What `qemu-img info --output=json` says, in the parts labsh uses.
/// As a Rhai value: the three fields `img::info` adds to the tool's own.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Info {
    pub format: String,
    pub virtual_size: u64,
    #[serde(skip)]
    pub actual_size: u64,
    pub backing: Option<String>,
    #[serde(skip)]
    pub json: serde_json::Value,
}

pub fn info(fx: &Effects, path: &str) -> Result<Option<Info>, Error> {
    if !Path::new(path).exists() {
        return Ok(None);
    }
    need("qemu-img")?;
    let cmd = Command::new(["qemu-img", "info", "--output=json", "-U", path]);
    let out = fx.read(Op::new("img.info", path), || exec(fx, &cmd))?;
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).with_context(|| format!("qemu-img info {path}"))?;
    Ok(Some(Info {
        format: v["format"].as_str().unwrap_or("").to_string(),
        virtual_size: v["virtual-size"].as_u64().unwrap_or(0),
        actual_size: v["actual-size"].as_u64().unwrap_or(0),
        backing: v["full-backing-filename"]
            .as_str()
            .or(v["backing-filename"].as_str())
            .map(str::to_string),
        json: v,
    }))
}

pub fn create(fx: &Effects, path: &str, size: u64, format: &str) -> Result<bool, Error> {
    if let Some(i) = info(fx, path)? {
        // Grown since (img::resize, virt-resize) is still as wanted.
        if i.format != format || i.virtual_size < size || i.backing.is_some() {
            return Err(Error::refused(format!(
                "{path} exists as {} of {} bytes{}, not {format} of at least {size} bytes; labsh does not overwrite it",
                i.format,
                i.virtual_size,
                i.backing.map(|b| format!(" on {b}")).unwrap_or_default()
            )));
        }
        fx.unchanged(Op::new("img.create", path));
        return Ok(false);
    }
    let size = size.to_string();
    qemu_img(
        fx,
        "img.create",
        path,
        &["create", "-q", "-f", format, path, &size],
    )
}

pub fn overlay(fx: &Effects, path: &str, backing: &str, size: Option<u64>) -> Result<bool, Error> {
    let base = info(fx, backing)?;
    if base.is_none() && !fx.is_plan() {
        return Err(Error::not_found(format!(
            "backing image {backing} does not exist"
        )));
    }
    let base_fmt = base
        .as_ref()
        .map(|b| b.format.clone())
        .unwrap_or_else(|| "qcow2".into());
    if let Some(i) = info(fx, path)? {
        let same = i
            .backing
            .as_deref()
            .map(|b| Path::new(b) == Path::new(backing))
            .unwrap_or(false);
        if !same {
            return Err(Error::refused(format!(
                "{path} exists with backing {}, not {backing}; labsh does not overwrite it",
                i.backing.as_deref().unwrap_or("none")
            )));
        }
        fx.unchanged(Op::new("img.overlay", path));
        return Ok(false);
    }
    let size = size.map(|s| s.to_string());
    let mut args = vec![
        "create", "-q", "-f", "qcow2", "-b", backing, "-F", &base_fmt, path,
    ];
    args.extend(size.as_deref());
    qemu_img(fx, "img.overlay", path, &args)
}

/// Grows an image to `size` (never shrinks).
pub fn resize(fx: &Effects, path: &str, size: u64) -> Result<bool, Error> {
    match info(fx, path)? {
        Some(i) if i.virtual_size >= size => {
            fx.unchanged(Op::new("img.resize", path).arg("size", size));
            return Ok(false);
        }
        Some(_) => {}
        // Made earlier in this plan.
        None if fx.is_plan() => {}
        None => return Err(Error::not_found(format!("{path} does not exist"))),
    }
    qemu_img(
        fx,
        "img.resize",
        path,
        &["resize", "-q", path, &size.to_string()],
    )
}

pub fn convert(fx: &Effects, src: &str, dst: &str, format: &str) -> Result<bool, Error> {
    if let Some(i) = info(fx, dst)? {
        if i.format != format {
            return Err(Error::refused(format!(
                "{dst} exists as {}, not {format}; labsh does not overwrite it",
                i.format
            )));
        }
        fx.unchanged(Op::new("img.convert", dst));
        return Ok(false);
    }
    qemu_img(
        fx,
        "img.convert",
        dst,
        &["convert", "-q", "-O", format, src, dst],
    )
}

/// The sha256 of a file, read once per run for a file of the same length and modification time
/// (preflight, the cache and the inspection of one image in one run hash it once).
pub fn digest(fx: &Effects, path: &str) -> Result<String, Error> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    /// A file's length and modification time, and its digest read then.
    type Read = (u64, Option<std::time::SystemTime>, String);
    /// The run's digests by path.
    #[derive(Default)]
    struct Digests(Mutex<HashMap<PathBuf, Read>>);
    let seen = fx.run_state::<Digests>();
    let seen = &seen.0;
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
    let key = PathBuf::from(path);
    let (len, mtime) = (meta.len(), meta.modified().ok());
    if let Some((l, m, h)) = seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned()
    {
        if l == len && m == mtime && mtime.is_some() {
            return Ok(h);
        }
    }
    let hash = fx.read(Op::new("img.hash", path), || {
        sha256_file(path).map_err(Error::from)
    })?;
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (len, mtime, hash.clone()));
    Ok(hash)
}

/// The extension a source's copy in the cache keeps (a URL's query and fragment aside).
fn cache_ext(source: &str) -> String {
    let file_part = source.split(['?', '#']).next().unwrap_or(source);
    Path::new(file_part)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("img")
        .to_string()
}

/// A URL's copy in `dir`, found by the index of the downloads (`sources.txt`: hash and URL a
/// line), when it is there.
fn downloaded(dir: &Path, source: &str) -> Option<PathBuf> {
    let ext = cache_ext(source);
    let text = crate::util::read::text(dir.join("sources.txt")).ok()?;
    text.lines().find_map(|l| {
        let (hash, url) = l.split_once(' ')?;
        let p = dir.join(format!("{hash}.{ext}"));
        (url == source && p.exists()).then_some(p)
    })
}

/// Where `cache_base` keeps `source` in `cache_dir`, when it is there already: a URL downloaded
/// before, or a file whose content is cached.
pub fn cached(fx: &Effects, source: &str, cache_dir: &str) -> Result<Option<String>, Error> {
    let dir = PathBuf::from(cache_dir);
    if source.starts_with("http://") || source.starts_with("https://") {
        return Ok(downloaded(&dir, source).map(|p| p.display().to_string()));
    }
    if !Path::new(source).is_file() {
        return Ok(None);
    }
    let p = dir.join(format!("{}.{}", digest(fx, source)?, cache_ext(source)));
    Ok(p.is_file().then(|| p.display().to_string()))
}

/// Copies (or downloads, for http/https) a base image once into `cache_dir`, named by the hash of
/// its content. Returns the cached path.
pub fn cache_base(fx: &Effects, source: &str, cache_dir: &str) -> Result<String, Error> {
    let dir = PathBuf::from(cache_dir);
    let ext = cache_ext(source);
    let cached = |p: &str| Op::new("img.cache", p).arg("source", source);
    // What a plan names a file whose hash is not known yet.
    let unhashed = || {
        dir.join(format!("«sha256 of {source}».{ext}"))
            .display()
            .to_string()
    };
    if source.starts_with("http://") || source.starts_with("https://") {
        if let Some(p) = downloaded(&dir, source) {
            let p = p.display().to_string();
            fx.unchanged(cached(&p));
            return Ok(p);
        }
        return download_base(fx, source, &dir, &ext, unhashed());
    }
    let src = Path::new(source);
    if !src.is_file() {
        if fx.is_plan() {
            // Made earlier in this plan: its hash is not known yet.
            let planned = unhashed();
            return fx.change(
                cached(&planned),
                || Ok::<_, crate::error::Error>(planned.clone()),
                || planned.clone(),
            );
        }
        return Err(Error::not_found(format!(
            "base image {source} does not exist"
        )));
    }
    let hash = digest(fx, source)?;
    let dst = dir.join(format!("{hash}.{ext}"));
    let p = dst.display().to_string();
    if dst.is_file() {
        fx.unchanged(cached(&p));
        return Ok(p);
    }
    fx.change(
        cached(&p),
        || -> Result<String, Error> {
            make_dir(&dir)?;
            let tmp = PathBuf::from(crate::effects::files::temp_path(&p));
            #[expect(
                clippy::disallowed_methods,
                reason = "inside Effects::change: a base image copied into the cache (0600 in the state folder)"
            )]
            crate::effects::files::copy_new(src, &tmp, crate::paths::in_state(&dst))
                .with_context(|| format!("cannot copy {source} to {}", tmp.display()))?;
            #[expect(
                clippy::disallowed_methods,
                reason = "inside Effects::change: the copy put in place, whole"
            )]
            std::fs::rename(&tmp, &dst).with_context(|| format!("cannot move to {p}"))?;
            Ok(p.clone())
        },
        || p.clone(),
    )
}

/// Downloads the base image at the URL `source` into the cache `dir` (named by its content's
/// hash, `.ext`), its URL recorded in the cache's index; `planned` is the name a plan shows.
#[expect(
    clippy::disallowed_methods,
    reason = "the change that downloads a base image into the cache: its folder, the file, the index"
)]
fn download_base(
    fx: &Effects,
    source: &str,
    dir: &Path,
    ext: &str,
    planned: String,
) -> Result<String, Error> {
    // The index keeps a record of where each hash came from.
    let index = dir.join("sources.txt");
    let part = dir.join(format!("download-{}.part", std::process::id()));
    fx.change(
        Op::new("img.cache", &planned).arg("source", source),
        || {
            need("curl")?;
            make_dir(dir)?;
            let mut cmd = Command::new([
                "curl",
                "-fsSL",
                "--retry",
                "3",
                "-o",
                &part.display().to_string(),
                source,
            ]);
            cmd.stream = Some("curl".into());
            into_state(&mut cmd, &part)?;
            if let Err(e) = exec(fx, &cmd) {
                // Nothing of a failed download is kept.
                #[expect(clippy::let_underscore_must_use, reason = "best-effort removal of a failed download's partial file: the download's own error is returned")]
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
            let hash = sha256_file(&part)?;
            let dst = dir.join(format!("{hash}.{ext}"));
            std::fs::rename(&part, &dst)
                .with_context(|| format!("cannot move the download to {}", dst.display()))?;
            // The index is how a later run finds the download by its URL: not written, the
            // next run downloads it again.
            use std::io::Write;
            let cannot = |e: std::io::Error| format!("cannot write {}: {e}", index.display());
            let mut f = if crate::paths::in_state(&index) {
                crate::paths::open_private(
                    &index,
                    std::fs::OpenOptions::new().create(true).append(true),
                )?
            } else {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&index)
                    .map_err(cannot)?
            };
            writeln!(f, "{hash} {source}").map_err(cannot)?;
            Ok(dst.display().to_string())
        },
        || planned.clone(),
    )
}

/// `virt-resize --expand PART src dst` into a new `dst` of `size` (created sparse first).
pub fn virt_resize(
    fx: &Effects,
    src: &str,
    dst: &str,
    size: u64,
    expand: &str,
) -> Result<bool, Error> {
    if let Some(i) = info(fx, dst)? {
        if i.virtual_size >= size {
            fx.unchanged(Op::new("img.virt_resize", dst));
            return Ok(false);
        }
        return Err(Error::refused(format!(
            "{dst} exists with {} bytes, less than {size}; remove it to resize again",
            i.virtual_size
        )));
    }
    // Unique to this run: never shared with another writer, never removed beforehand.
    let tmp = crate::effects::files::temp_path(dst);
    let args = ["create", "-q", "-f", "qcow2", &tmp, &size.to_string()];
    qemu_img(fx, "img.create", dst, &args)?;
    change(
        fx,
        "img.virt_resize",
        dst,
        words(&["virt-resize", "--quiet", "--expand", expand, src, &tmp]),
        guestfs_env(),
    )?;
    fx.change(
        Op::new("file.rename", dst).arg("from", &tmp),
        || {
            #[expect(
                clippy::disallowed_methods,
                reason = "inside Effects::change: the resized image put in place, whole"
            )]
            std::fs::rename(&tmp, dst).with_context(|| format!("cannot rename {tmp}"))?;
            own_file(Path::new(dst))
        },
        || (),
    )?;
    Ok(true)
}

/// `virt-filesystems --long --csv -a path`: one map of column to value per filesystem.
pub fn filesystems(fx: &Effects, path: &str) -> Result<Vec<Vec<(String, String)>>, Error> {
    need("virt-filesystems")?;
    let mut cmd = Command::new([
        "virt-filesystems",
        "--long",
        "--csv",
        "--blkdevs",
        "--partitions",
        "--filesystems",
        "-a",
        path,
    ]);
    cmd.env = guestfs_env();
    let out = fx.read(Op::new("img.filesystems", path), || exec(fx, &cmd))?;
    let mut lines = out.stdout.lines();
    let head: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect();
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            head.iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect())
}

/// Where the inspection of an image of content `hash` is kept: `STATE/image-guests/HASH.json`.
fn inspection_file(hash: &str) -> PathBuf {
    crate::paths::state_dir()
        .join("image-guests")
        .join(format!("{hash}.json"))
}

/// An inspection kept before: `Some(guest or none)`, or `None` when there is none (or it cannot
/// be read, and is made again).
fn kept_inspection(file: &Path) -> Option<Option<Guest>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
    let g = &v["guest"];
    if g.is_null() {
        return Some(None);
    }
    let num = |k: &str| g[k].as_u64().and_then(|n| u32::try_from(n).ok());
    Some(Some(Guest::new(
        g["distro"].as_str()?,
        num("major")?,
        num("minor"),
        g["stream"].as_bool().unwrap_or(false),
    )))
}

/// Keeps an inspection in `file`: written aside and renamed over, 0600 in a private folder of
/// the state folder, never through a link.
#[expect(
    clippy::disallowed_methods,
    reason = "labsh's own record of a read (what an image of this content holds), not a change to the lab: written in apply mode only"
)]
fn keep_inspection(file: &Path, guest: Option<&Guest>) -> Result<(), Error> {
    let v = serde_json::json!({
        "guest": guest.map(|g| serde_json::json!({
            "distro": g.distro, "major": g.major, "minor": g.minor, "stream": g.stream,
        })),
    });
    crate::effects::files::write_now(&file.display().to_string(), &format!("{v}\n"), true)
}

/// The guest operating system in the image at `path`, read by libguestfs inspection
/// (virt-inspector) once per content: the answer is kept by the image's sha256 in the state
/// folder (a plan writes nothing, and keeps nothing). `None` when libguestfs finds no operating
/// system in it. A file that is missing or not a regular file is an error, as is a missing
/// virt-inspector or one that fails.
pub fn inspect(fx: &Effects, path: &str) -> Result<Option<Guest>, Error> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(m) => {
            return Err(Error::invalid(format!(
                "{path} is not a regular file ({})",
                crate::paths::file_kind(&m)
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::not_found(format!("{path} does not exist")))
        }
        Err(e) => return Err(Error::io(format_args!("cannot read {path}"), &e)),
    }
    let hash = digest(fx, path)?;
    // Once per run too: a plan keeps nothing in the state folder, and inspects once.
    use std::collections::HashMap;
    use std::sync::Mutex;
    /// The guests the run's images hold, by the image's sha256.
    #[derive(Default)]
    struct Guests(Mutex<HashMap<String, Option<Guest>>>);
    let seen = fx.run_state::<Guests>();
    let seen = &seen.0;
    if let Some(g) = seen
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&hash)
        .cloned()
    {
        return Ok(g);
    }
    let file = inspection_file(&hash);
    if let Some(g) = kept_inspection(&file) {
        return Ok(g);
    }
    need("virt-inspector")?;
    let format = info(fx, path)?
        .map(|i| i.format)
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| "raw".into());
    let mut cmd = Command::new([
        "virt-inspector",
        "--no-applications",
        "--no-icon",
        &format!("--format={format}"),
        "-a",
        path,
    ]);
    cmd.env = guestfs_env();
    let out = fx.read(Op::new("img.inspect", path), || exec(fx, &cmd))?;
    let guest = guest::from_inspector_xml(&out.stdout)
        .map_err(|e| e.context(format!("virt-inspector -a {path}")))?;
    if !fx.is_plan() {
        keep_inspection(&file, guest.as_ref())?;
    }
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(hash, guest.clone());
    Ok(guest)
}

/// What virt-customize should do.
#[derive(Default, Debug)]
pub struct Customize {
    pub root_password: Option<Secret>,
    pub ssh_inject: Vec<String>,
    pub selinux_relabel: bool,
    pub run: Vec<String>,
    pub write: Vec<(String, String)>,
    pub uninstall: Vec<String>,
    pub hostname: Option<String>,
}

/// One piece of a virt-customize command line: a word, or the root password.
enum Part<'a> {
    Word(String),
    RootPassword(&'a Secret),
}

impl Customize {
    fn parts(&self, path: &str) -> Vec<Part<'_>> {
        let w = |s: &str| Part::Word(s.to_string());
        let mut a = vec![w("virt-customize"), w("--quiet"), w("-a"), w(path)];
        if let Some(h) = &self.hostname {
            a.extend([w("--hostname"), w(h)]);
        }
        if let Some(pw) = &self.root_password {
            a.extend([
                w("--root-password"),
                Part::RootPassword(pw),
                w("--password-crypto"),
                w("sha512"),
            ]);
        }
        for k in &self.ssh_inject {
            a.extend([w("--ssh-inject"), w(k)]);
        }
        for p in &self.uninstall {
            a.extend([w("--uninstall"), w(p)]);
        }
        for (p, content) in &self.write {
            a.extend([w("--write"), Part::Word(format!("{p}:{content}"))]);
        }
        for r in &self.run {
            a.extend([w("--run-command"), w(r)]);
        }
        if self.selinux_relabel {
            a.push(w("--selinux-relabel"));
        }
        a
    }

    /// The argument vector. The root password goes as `file:PATH`, a private file made for the
    /// run, whose first line virt-customize takes as the password (virt-builder(1), USERS AND
    /// PASSWORDS, guestfs-tools 1.48.2: "The whole first line of this file is the replacement
    /// password"); never as `password:PW` on the command line.
    pub fn argv(&self, path: &str) -> Vec<Arg> {
        self.parts(path)
            .into_iter()
            .map(|p| match p {
                Part::Word(w) => Arg::Plain(w),
                Part::RootPassword(s) => Arg::secret_file("file:", s),
            })
            .collect()
    }

    /// A fingerprint of what is asked, keyed with the lab's key, so a second run can tell it is
    /// done: the same operations and password give the same one, a changed password another;
    /// without the key nobody can test guessed passwords against it.
    pub fn fingerprint(&self, path: &str, key: &LabKey) -> String {
        let parts: Vec<Vec<u8>> = self
            .parts(path)
            .iter()
            .map(|p| match p {
                Part::Word(w) => [b"w".as_slice(), w.as_bytes()].concat(),
                Part::RootPassword(s) => [b"p".as_slice(), s.expose().as_bytes()].concat(),
            })
            .collect();
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let hex: String = key.digest(&refs)[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("hmac-sha256:{hex}")
    }

    /// The unkeyed fingerprint older releases wrote (sha256 over the words, the password as a
    /// word `password:PW` hashed on its own), which a guessed password can be tested against:
    /// recognized so that its marker is rewritten keyed, never written.
    fn legacy_fingerprint(&self, path: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for p in self.parts(path) {
            match p {
                Part::Word(w) => h.update(w.as_bytes()),
                Part::RootPassword(s) => h.update(Sha256::digest(
                    format!("password:{}", s.expose()).as_bytes(),
                )),
            }
            h.update([0]);
        }
        h.finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Runs virt-customize once per image and set of operations: a marker beside the image (0600)
/// records the keyed fingerprint of what was done.
pub fn customize(fx: &Effects, path: &str, c: &Customize) -> Result<bool, Error> {
    if let Some(pw) = &c.root_password {
        if pw.expose().contains(['\n', '\r']) {
            return Err(Error::invalid(format!(
                "img::customize {path}: the root password {} has a line break, and virt-customize takes its first line only; give a password of one line",
                pw.mask()
            )));
        }
    }
    if !Path::new(path).exists() && !fx.is_plan() {
        return Err(Error::not_found(format!("{path} does not exist")));
    }
    let marker = format!("{path}.labsh-customized");
    // A plan makes no key: without one, what is recorded cannot be matched and is planned again.
    let fp = LabKey::of_state(!fx.is_plan())?.map(|k| c.fingerprint(path, &k));
    let recorded = crate::util::read::text(&marker)
        .ok()
        .map(|s| s.trim().to_string());
    if let Some(r) = &recorded {
        if Some(r) == fp.as_ref() {
            fx.unchanged(Op::new("img.customize", path));
            return Ok(false);
        }
        if *r == c.legacy_fingerprint(path) {
            // Done by an older release: only its marker is replaced, keyed and private.
            fx.unchanged(Op::new("img.customize", path));
            crate::effects::files::ensure_file(fx, &marker, &fp.unwrap_or_default(), true, None)?;
            return Ok(false);
        }
    }
    change(fx, "img.customize", path, c.argv(path), guestfs_env())?;
    crate::effects::files::ensure_file(fx, &marker, &fp.unwrap_or_default(), true, None)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_writes_and_removes_nothing() {
        let fx = Effects::for_tests(crate::effects::Mode::Plan);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        // Files a run would leave or replace beside its outputs.
        std::fs::write(dir.path().join("big.qcow2.labsh-part"), "x").unwrap();
        std::fs::write(dir.path().join("src.img"), "base").unwrap();
        let before = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(virt_resize(
            &fx,
            &format!("{d}/src.img"),
            &format!("{d}/big.qcow2"),
            1 << 30,
            "/dev/sda1"
        )
        .unwrap());
        assert!(create(&fx, &format!("{d}/new.qcow2"), 1 << 20, "qcow2").unwrap());
        let cached = cache_base(&fx, &format!("{d}/src.img"), &format!("{d}/cache")).unwrap();
        assert!(cached.starts_with(&format!("{d}/cache/")), "{cached}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), before);
        assert_eq!(fx.stats()[0].planned, 5);
    }

    #[test]
    fn customize_puts_the_password_in_a_file_and_keys_its_fingerprint() {
        let with = |pw: &str| Customize {
            root_password: Some(Secret::new("root", pw)),
            ssh_inject: vec!["root:file:/root/.ssh/id_rsa.pub".into()],
            selinux_relabel: true,
            run: vec!["yum remove cloud-init* -y".into()],
            ..Default::default()
        };
        let c = with("customize-secret-pw");
        let argv = c.argv("/i/u.qcow2");
        let shown: Vec<String> = argv.iter().map(|a| a.shown()).collect();
        let at = shown.iter().position(|a| a == "--root-password").unwrap();
        assert_eq!(shown[at + 1], "file:«secret root»", "{shown:?}");
        assert!(
            argv.iter().all(|a| !matches!(a, Arg::Secret(_))),
            "no secret on the command line: {shown:?}"
        );
        assert!(shown.contains(&"--selinux-relabel".to_string()));
        let (k1, k2) = (LabKey::fixed(1), LabKey::fixed(2));
        let fp = c.fingerprint("/i/u.qcow2", &k1);
        assert!(fp.starts_with("hmac-sha256:"), "{fp}");
        assert_eq!(
            fp,
            with("customize-secret-pw").fingerprint("/i/u.qcow2", &k1)
        );
        assert_ne!(
            fp,
            with("customize-secret-pw2").fingerprint("/i/u.qcow2", &k1)
        );
        assert_ne!(
            fp,
            c.fingerprint("/i/u.qcow2", &k2),
            "another lab, another key"
        );
        assert_ne!(fp, c.legacy_fingerprint("/i/u.qcow2"));
        assert!(!fp.contains("customize-secret-pw"));
    }
}
