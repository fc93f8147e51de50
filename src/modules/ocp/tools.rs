//! openshift-install and oc: found on PATH or in the output folder, else fetched from a mirror
//! and unpacked only when their sha256 is the one given.

use super::*;
use crate::effects::{Effects, Error};
use crate::modules::core::fx_err;
use crate::util::digest::sha256_file;

/// Finds `name` on PATH or in `dir`; else, with a mirror, downloads `MIRROR/ARCHIVE`, checks its
/// sha256 and unpacks it into `dir`.
pub(super) fn tool(ctx: &NativeCallContext, name: &str, o: &Opts) -> Res<String> {
    let err = |e: String| rt_err(ctx, e);
    let dir = o.str("dir").map_err(err)?;
    if let Some(d) = &dir {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Ok(p.display().to_string());
        }
    }
    if let Some(p) = crate::util::path::which(name) {
        return Ok(p.display().to_string());
    }
    let (Some(mirror), Some(archive), Some(sha)) = (
        o.str("mirror").map_err(err)?,
        o.str("archive").map_err(err)?,
        o.str("sha256").map_err(err)?,
    ) else {
        return Err(err(format!(
            "{name} is neither on PATH nor in {}; install it, or give #{{mirror, archive, sha256}} to download it",
            dir.as_deref().unwrap_or("the lab folder")
        )));
    };
    let dir = dir.ok_or_else(|| {
        err(format!(
            "ocp::tool {name}: 'dir' is needed to download into"
        ))
    })?;
    let url = format!("{}/{archive}", mirror.trim_end_matches('/'));
    let target = Path::new(&dir).join(name);
    let s = session(ctx)?;
    let fx = &s.effects;
    fx.change_typed(
        Op::new("ocp.download", &url)
            .arg("sha256", &sha)
            .arg("into", &dir),
        || -> Result<(), Error> {
            std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {dir}: {e}"))?;
            let tmp = PathBuf::from(crate::effects::files::temp_path(&format!(
                "{dir}/.{archive}"
            )));
            let r = fetch_and_unpack(fx, &url, &tmp, &sha, &dir, name, &archive);
            // The download is not kept, unpacked or not.
            let _ = std::fs::remove_file(&tmp);
            r
        },
        || (),
    )
    .map_err(|e| fx_err(ctx, e))?;
    Ok(target.display().to_string())
}

/// Downloads `url` (the archive `archive`) into `tmp`, checks its sha256 and unpacks `name` from
/// it into `dir`.
fn fetch_and_unpack(
    fx: &Effects,
    url: &str,
    tmp: &Path,
    sha: &str,
    dir: &str,
    name: &str,
    archive: &str,
) -> Result<(), Error> {
    let resp = ureq::get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    let mut reader = resp.into_body().into_reader();
    let mut f =
        std::fs::File::create(tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::io::copy(&mut reader, &mut f).map_err(|e| format!("GET {url}: {e}"))?;
    let got = sha256_file(tmp)?;
    if !got.eq_ignore_ascii_case(sha) {
        return Err(Error::Failed(format!(
            "{url}: sha256 {got} is not the expected {sha}; nothing was installed"
        )));
    }
    let tmp = tmp.display().to_string();
    let mut tar = Command::new(["tar", "-xzf", tmp.as_str(), "-C", dir, name]);
    tar.timeout = Some(std::time::Duration::from_secs(600));
    let out = fx.exec(&tar)?;
    if out.code != 0 {
        return Err(Error::Failed(format!(
            "cannot unpack {name} from {archive}: {}",
            out.failure(&tar.display())
        )));
    }
    Ok(())
}
