//! Swift: the account's metadata and containers.

use super::{q, Api};
use crate::error::Error;
use crate::modules::cloud::client::Body;
use serde_json::Value;
use ureq::http::Method;

impl<'a> Api<'a> {
    /// The account's headers: metadata (`X-Account-Meta-*`, lower-cased, without the prefix) and
    /// counts.
    pub fn account(&self) -> Result<Vec<(String, String)>, Error> {
        self.read(
            "account",
            |c| {
                let r = c.call(Method::HEAD, "object-store", "", Body::None, &[])?;
                Ok(r.headers)
            },
            vec![],
        )
    }

    pub fn account_meta_set(&self, want: &[(String, String, bool)]) -> Result<bool, Error> {
        let have = self.account()?;
        let get = |k: &str| {
            have.iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(&format!("x-account-meta-{k}")))
                .map(|(_, v)| v.clone())
        };
        let mut changed = false;
        for (k, v, secret) in want {
            let shown = if *secret {
                crate::effects::secret::mask(&format!("account.{}", k.to_ascii_lowercase()))
            } else {
                v.clone()
            };
            if get(k).as_deref() == Some(v.as_str()) {
                self.fx.unchanged(self.op("account.meta", k));
                continue;
            }
            let hdr = format!("X-Account-Meta-{k}");
            let val = v.clone();
            self.update(
                self.op("account.meta", k).arg("value", shown),
                |c| {
                    c.call(
                        Method::POST,
                        "object-store",
                        "",
                        Body::None,
                        &[(hdr.as_str(), val)],
                    )
                    .map(|_| Value::Null)
                },
                Value::Null,
            )?;
            changed = true;
        }
        Ok(changed)
    }

    pub fn container_ensure(&self, name: &str) -> Result<bool, Error> {
        let path = format!("/{}", q(name));
        let exists = self.read(name, |c| c.exists("object-store", &path), false)?;
        if exists {
            self.fx.unchanged(self.op("container.ensure", name));
            return Ok(false);
        }
        self.send(
            self.op("container.create", name),
            Method::PUT,
            "object-store",
            &path,
            None,
        )?;
        Ok(true)
    }
}
