//! openshift-install and oc: found on PATH or in the output folder, else fetched from a mirror
//! and unpacked only when their sha256 is the one given.

use crate::effects::process::Command;
use crate::effects::{Effects, Error, Kind, Op};
use crate::util::digest::sha256_file;
use std::path::{Path, PathBuf};

/// `name` in `dir`, else on PATH.
pub fn find(name: &str, dir: Option<&str>) -> Option<String> {
    if let Some(d) = dir {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Some(p.display().to_string());
        }
    }
    crate::util::path::which(name).map(|p| p.display().to_string())
}

/// Downloads `MIRROR/ARCHIVE`, checks its sha256 and unpacks `name` from it into `dir`; the path
/// of the tool there.
pub fn download(
    fx: &Effects,
    name: &str,
    dir: &str,
    mirror: &str,
    archive: &str,
    sha: &str,
) -> Result<String, Error> {
    let url = format!("{}/{archive}", mirror.trim_end_matches('/'));
    let target = Path::new(dir).join(name);
    fx.change(
        Op::new("ocp.download", &url)
            .arg("sha256", sha)
            .arg("into", dir),
        || -> Result<(), Error> {
            #[expect(
                clippy::disallowed_methods,
                reason = "inside Effects::change: the folder a tool is installed into"
            )]
            crate::effects::files::make_dir(Path::new(dir))?;
            let tmp = PathBuf::from(crate::effects::files::temp_path(&format!(
                "{dir}/.{archive}"
            )));
            let r = fetch_and_unpack(fx, &url, &tmp, sha, dir, name, archive);
            // The download is not kept, unpacked or not.
            #[expect(clippy::disallowed_methods, clippy::let_underscore_must_use, reason = "best-effort removal of the downloaded archive, unpacked or not: what the download and the unpacking did is returned")]
            let _ = std::fs::remove_file(&tmp);
            r
        },
        || (),
    )?;
    Ok(target.display().to_string())
}

/// A download that failed, of its kind: an HTTP status of its own (404 not found, 401 and 403
/// unauthorized), a timeout timed out, no connection (refused, no such host, TLS) unreachable.
fn get_failed(url: &str, e: &ureq::Error) -> Error {
    let kind = match e {
        ureq::Error::StatusCode(s) => Kind::of_http_status(*s),
        ureq::Error::Timeout(_) => Kind::TimedOut,
        ureq::Error::Io(io) => Kind::of_io(io),
        ureq::Error::HostNotFound
        | ureq::Error::ConnectionFailed
        | ureq::Error::Tls(_)
        | ureq::Error::Rustls(_) => Kind::Unreachable,
        _ => Kind::Failed,
    };
    Error::new(kind, format!("GET {url}: {e}"))
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
    let resp = ureq::get(url).call().map_err(|e| get_failed(url, &e))?;
    let mut reader = resp.into_body().into_reader();
    #[expect(
        clippy::disallowed_methods,
        reason = "called inside Effects::change: the archive downloaded into a temporary file"
    )]
    let mut f = crate::effects::files::create_file(tmp)?;
    std::io::copy(&mut reader, &mut f).map_err(|e| Error::io(format_args!("GET {url}"), &e))?;
    let got = sha256_file(tmp)?;
    if !got.eq_ignore_ascii_case(sha) {
        return Err(Error::failed(format!(
            "{url}: sha256 {got} is not the expected {sha}; nothing was installed"
        )));
    }
    let tmp = tmp.display().to_string();
    let mut tar = Command::new(["tar", "-xzf", tmp.as_str(), "-C", dir, name]);
    tar.timeout = Some(std::time::Duration::from_secs(600));
    tar.private = crate::paths::in_state(Path::new(dir));
    let out = fx.exec(&tar)?;
    if out.code != 0 {
        return Err(Error::failed(format!(
            "cannot unpack {name} from {archive}: {}",
            out.failure(&tar.display())
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A listener on 127.0.0.1 that answers one request with `status`.
    fn answering(status: &'static str) -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = l.accept() {
                let mut buf = [0u8; 4096];
                assert!(s.read(&mut buf).unwrap() > 0);
                write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
            }
        });
        port
    }

    fn get(url: &str) -> Error {
        get_failed(url, &ureq::get(url).call().unwrap_err())
    }

    #[test]
    fn a_failed_download_is_of_its_kind() {
        let url = format!("http://127.0.0.1:{}/oc.tar.gz", answering("404 Not Found"));
        let e = get(&url);
        assert_eq!(e.kind(), Kind::NotFound, "{e}");
        assert!(e.message().starts_with(&format!("GET {url}: ")), "{e}");
        let e = get(&format!(
            "http://127.0.0.1:{}/x",
            answering("403 Forbidden")
        ));
        assert_eq!(e.kind(), Kind::Unauthorized, "{e}");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = get(&format!("http://127.0.0.1:{closed}/x"));
        assert_eq!(e.kind(), Kind::Unreachable, "{e}");
    }
}
