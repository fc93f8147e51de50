//! Quotas of a project, compute (Nova) and network (Neutron): read with their usage, and set
//! only where they differ, a limit below what is in use refused before anything changes.

use super::Api;
use crate::error::Error;
use crate::modules::cloud::id::Id;
use serde_json::{json, Map as JMap, Value};
use ureq::http::Method;

impl<'a> Api<'a> {
    /// Quotas of a project as `{key: {limit, in_use, reserved}}` (compute or network).
    pub fn quota(&self, service: &str, project: &Id) -> Result<Value, Error> {
        self.quota_of(service, project, &self.project_id(project)?)
    }

    /// [`Api::quota`] of the project `project` resolved to `pid`.
    fn quota_of(&self, service: &str, project: &Id, pid: &Id) -> Result<Value, Error> {
        let Id::Real(pid) = pid else {
            return Ok(json!({}));
        };
        // Nova's answer holds the project's `id` beside the quotas; Neutron's holds only quotas.
        let (svc, path, key, used, only_objects) = if service == "compute" {
            let path = format!("/os-quota-sets/{pid}/detail");
            ("compute", path, "quota_set", "in_use", true)
        } else {
            let path = format!("/quotas/{pid}/details.json");
            ("network", path, "quota", "used", false)
        };
        let v = self.read(&project.to_string(), |c| c.get(svc, &path), Value::Null)?;
        let out: JMap<String, Value> = v[key]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, d)| !only_objects || d.is_object())
            .map(|(k, d)| {
                let q = json!({"limit": d["limit"], "in_use": d[used], "reserved": d["reserved"]});
                (k.clone(), q)
            })
            .collect();
        Ok(Value::Object(out))
    }

    /// Sets quotas; a limit below what is in use is refused before anything changes.
    pub fn quota_set(
        &self,
        service: &str,
        project: &Id,
        want: &[(String, i64)],
    ) -> Result<Value, Error> {
        let pid = self.project_id(project)?;
        let cur = self.quota_of(service, project, &pid)?;
        let mut diff = JMap::new();
        let live = !pid.is_planned() && self.live().is_some();
        for (k, v) in want {
            if live {
                let Some(c) = cur.get(k) else {
                    let known: Vec<&str> = cur
                        .as_object()
                        .map(|m| m.keys().map(|k| k.as_str()).collect())
                        .unwrap_or_default();
                    let hint = crate::util::suggest::hint(k, known.iter().copied());
                    return Err(Error::invalid(format!(
                        "{service} quota '{k}' is unknown{hint}; known: {}",
                        known.join(", ")
                    )));
                };
                let used =
                    c["in_use"].as_i64().unwrap_or(0) + c["reserved"].as_i64().unwrap_or(0).max(0);
                if *v >= 0 && *v < used {
                    return Err(Error::refused(format!(
                        "{service} quota '{k}' = {v} for project '{project}' is below what is in use ({used}); raise it or free resources first"
                    )));
                }
                if c["limit"].as_i64() == Some(*v) {
                    continue;
                }
            }
            diff.insert(k.clone(), json!(v));
        }
        let target = format!("{service} quota of {project}");
        if diff.is_empty() {
            self.fx.unchanged(self.op("quota.set", &target));
            return Ok(cur);
        }
        let (path, body, svc) = if service == "compute" {
            (
                format!("/os-quota-sets/{pid}"),
                json!({"quota_set": diff}),
                "compute",
            )
        } else {
            (format!("/quotas/{pid}"), json!({"quota": diff}), "network")
        };
        self.send(
            self.op("quota.set", &target).arg("set", &diff),
            Method::PUT,
            svc,
            &path,
            Some(body),
        )?;
        if self.fx.is_plan() || !live {
            return Ok(Value::Object(diff));
        }
        // The quotas as they now are, from what was read before and the limits just set: no
        // second read.
        let mut now = cur;
        for (k, v) in diff {
            now[&k]["limit"] = v;
        }
        Ok(now)
    }
}
