//! API microversions: which labsh speaks with Nova, and the Ironic one negotiated once per
//! session from the bare metal endpoint's version document.

use super::keystone::Token;
use super::{Body, Client, Failure};
use crate::error::Error;
use ureq::http::Method;

/// The Nova API microversion labsh speaks (Stein and later have it).
pub const NOVA_MICROVERSION: &str = "2.55";

/// The Ironic API microversions labsh works with: at least the first (interfaces as node fields,
/// OSP 13's Queens has 1.38), at most the second; the highest the server offers in between is used.
pub const BAREMETAL_MICROVERSIONS: (&str, &str) = ("1.31", "1.78");

/// A microversion ("1.31") as a comparable pair.
pub fn microversion(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The microversion to speak, from the server's range and labsh's: the highest both know.
pub fn negotiate(server_min: &str, server_max: &str, ours: (&str, &str)) -> Result<String, Error> {
    let parse = |v: &str| {
        microversion(v).ok_or_else(|| Error::invalid(format!("{v:?} is not a microversion")))
    };
    let (smin, smax) = (parse(server_min)?, parse(server_max)?);
    let (omin, omax) = (parse(ours.0)?, parse(ours.1)?);
    let hi = smax.min(omax);
    if hi < omin.max(smin) {
        return Err(Error::failed(format!(
            "the server speaks {server_min} to {server_max} and labsh {} to {}: no version in common",
            ours.0, ours.1
        )));
    }
    Ok(format!("{}.{}", hi.0, hi.1))
}

impl Client {
    /// The Ironic microversion this session speaks: asked once from the bare metal endpoint's
    /// version document (`X-OpenStack-Ironic-API-Minimum/Maximum-Version`, or its `version`),
    /// the highest both sides know.
    pub fn baremetal_version(&self) -> Result<String, Failure> {
        let t = self.token().map_err(Failure::Transport)?;
        self.baremetal_version_in(&t)
    }

    pub(super) fn baremetal_version_in(&self, t: &Token) -> Result<String, Failure> {
        if let Some(v) = self
            .baremetal_version
            .lock()
            .map_err(|_| Failure::Transport(Error::failed("version lock")))?
            .clone()
        {
            return Ok(v);
        }
        let base = self
            .endpoint_in(t, "baremetal")
            .map_err(|e| Failure::Status {
                status: 0,
                message: e.to_string(),
            })?;
        // A full URL and no service: `call` adds no version header, so this cannot recurse;
        // it retries, and signs in again on a 401, as every call does.
        let rep = self.call(Method::GET, "", &format!("{base}/"), Body::None, &[])?;
        let min = rep
            .header("X-OpenStack-Ironic-API-Minimum-Version")
            .map(String::from)
            .or_else(|| {
                rep.body["version"]["min_version"]
                    .as_str()
                    .map(String::from)
            })
            .unwrap_or_else(|| "1.1".into());
        let max = rep
            .header("X-OpenStack-Ironic-API-Maximum-Version")
            .map(String::from)
            .or_else(|| rep.body["version"]["version"].as_str().map(String::from))
            .unwrap_or_else(|| "1.1".into());
        let v = negotiate(&min, &max, BAREMETAL_MICROVERSIONS).map_err(|e| Failure::Status {
            status: 0,
            message: format!("cloud '{}': bare metal at {base}: {e}", self.cfg.name),
        })?;
        tracing::debug!(target: "labsh::cloud", "Ironic at {base}: {min}-{max}, speaking {v}");
        if let Ok(mut g) = self.baremetal_version.lock() {
            *g = Some(v.clone());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microversions_are_negotiated_to_the_highest_both_know() {
        assert_eq!(
            negotiate("1.1", "1.115", BAREMETAL_MICROVERSIONS).unwrap(),
            "1.78"
        );
        assert_eq!(
            negotiate("1.1", "1.38", BAREMETAL_MICROVERSIONS).unwrap(),
            "1.38"
        );
        assert_eq!(negotiate("1.1", "1.31", ("1.31", "1.78")).unwrap(), "1.31");
        let e = negotiate("1.1", "1.20", BAREMETAL_MICROVERSIONS).unwrap_err();
        assert!(
            e.message().contains("1.1 to 1.20") && e.message().contains("1.31 to 1.78"),
            "{e}"
        );
        assert!(negotiate("1.80", "1.90", ("1.31", "1.78")).is_err());
        assert!(microversion("1.9") < microversion("1.10"));
    }
}
