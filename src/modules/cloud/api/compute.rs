//! Nova: flavors (which cannot change, only be made or deleted), servers and limits.

use super::spec::FlavorSpec;
use super::{q, Api};
use crate::error::Error;
use crate::modules::cloud::client::Client;
use serde_json::{json, Value};
use ureq::http::Method;

/// Every flavor, public or not, a page of 1000 at a time.
const FLAVORS: &str = "/flavors/detail?is_public=None&limit=1000";

impl<'a> Api<'a> {
    pub fn flavors(&self) -> Result<Vec<Value>, Error> {
        self.read("flavors", |c| c.list("compute", FLAVORS, "flavors"), vec![])
    }

    pub fn flavor_ensure(&self, s: FlavorSpec) -> Result<Value, Error> {
        let FlavorSpec {
            name,
            ram,
            vcpus,
            disk,
            ephemeral: eph,
            swap,
            public,
            description: desc,
        } = s;
        if let Some(f) = self
            .flavors()?
            .into_iter()
            .find(|f| f["name"] == name.as_str())
        {
            let mut differs = vec![];
            for (k, want) in [
                ("ram", ram),
                ("vcpus", vcpus),
                ("disk", disk),
                ("OS-FLV-EXT-DATA:ephemeral", eph),
            ] {
                let have = f[k].as_i64().unwrap_or(0);
                if have != want {
                    differs.push(format!("{k} {have} (wanted {want})"));
                }
            }
            if !differs.is_empty() {
                return Err(Error::refused(format!(
                    "flavor '{name}' exists with {}; a flavor cannot change: delete it (cloud::flavor_delete) or choose another name",
                    differs.join(", ")
                )));
            }
            let want = desc.as_ref().map(|d| json!(d));
            return self.ensure_field(f, "description", want, &name, "flavor", |id, d| {
                self.send(
                    self.op("flavor.update", &name).arg("description", d),
                    Method::PUT,
                    "compute",
                    &format!("/flavors/{id}"),
                    Some(json!({"flavor": {"description": d}})),
                )
            });
        }
        let mut body = json!({"flavor": {"name": name, "ram": ram, "vcpus": vcpus, "disk": disk,
            "OS-FLV-EXT-DATA:ephemeral": eph, "os-flavor-access:is_public": public}});
        if swap > 0 {
            body["flavor"]["swap"] = json!(swap);
        }
        if let Some(d) = &desc {
            body["flavor"]["description"] = json!(d);
        }
        let find = |c: &Client| -> Result<Option<Value>, Error> {
            Ok(c.list("compute", FLAVORS, "flavors")?
                .into_iter()
                .find(|f| f["name"] == name.as_str()))
        };
        let post = |c: &Client| c.post("compute", "/flavors", &body, "flavor");
        self.create(
            self.op("flavor.create", &name)
                .arg("ram", ram)
                .arg("vcpus", vcpus)
                .arg("disk", disk),
            "flavor",
            &name,
            &find,
            &post,
            json!({"ram": ram, "vcpus": vcpus, "disk": disk}),
        )
    }

    pub fn flavor_delete(&self, name: &str) -> Result<bool, Error> {
        let found = self
            .flavors()?
            .into_iter()
            .find(|f| f["name"] == name || f["id"] == name);
        self.delete_found("flavor", name, found, "compute", |id| {
            format!("/flavors/{id}")
        })
    }

    pub fn servers(&self, all_projects: bool, name: Option<String>) -> Result<Vec<Value>, Error> {
        let mut path = "/servers/detail?limit=1000".to_string();
        if all_projects {
            path.push_str("&all_tenants=1");
        }
        if let Some(n) = name {
            path.push_str(&format!("&name={}", q(format!("^{}$", regex_escape(&n)))));
        }
        self.list("compute", &path, "servers")
    }

    pub fn limits(&self) -> Result<Value, Error> {
        self.read(
            "limits",
            |c| Ok(c.get("compute", "/limits")?["limits"]["absolute"].clone()),
            json!({}),
        )
    }
}

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if ".^$*+?()[]{}|\\".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}
