//! Provision goals (manage, inspect, provide) reached by watching every node with one list
//! request a tick, and power actions watched until Ironic reports the new state.

use super::node_bmc;
use crate::effects::Effects;
use crate::error::Error;
use crate::modules::cloud::api::Api;
use crate::modules::cloud::id::Id;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use ureq::http::Method;

/// Where provision transitions lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// `manage`: verified against its BMC (a node already past it, available or active, is left).
    Manageable,
    /// `inspect`: inspected once (a node that has been is left).
    Inspected,
    /// `provide`: available for deployment.
    Available,
}

impl Goal {
    pub fn parse(s: &str) -> Result<Goal, Error> {
        match s {
            "manage" | "manageable" => Ok(Goal::Manageable),
            "inspect" | "inspected" => Ok(Goal::Inspected),
            "provide" | "available" => Ok(Goal::Available),
            other => Err(Error::invalid(format!(
                "unknown provision goal {other:?}: manage, inspect or provide"
            ))),
        }
    }

    fn word(self) -> &'static str {
        match self {
            Goal::Manageable => "manageable",
            Goal::Inspected => "inspected",
            Goal::Available => "available",
        }
    }
}

/// What a node needs next on its way to a goal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Done,
    Wait,
    Do(&'static str),
    Fail(String),
}

/// States a node only passes through.
fn transitional(state: &str) -> bool {
    matches!(
        state,
        "verifying"
            | "inspecting"
            | "inspect wait"
            | "cleaning"
            | "clean wait"
            | "deploying"
            | "wait call-back"
            | "deleting"
            | "adopting"
            | "rescuing"
            | "rescue wait"
            | "unrescuing"
            | "servicing"
            | "service wait"
    )
}

/// The next step of a node in `state` (with `target`, and `inspected` once) towards `goal`.
pub fn next_step(state: &str, target: Option<&str>, inspected: bool, goal: Goal) -> Step {
    if target.is_some() || transitional(state) {
        return Step::Wait;
    }
    match (state, goal) {
        ("active", _) => Step::Done,
        ("enroll", _) => Step::Do("manage"),
        ("manageable", Goal::Manageable) => Step::Done,
        ("manageable", Goal::Inspected) if inspected => Step::Done,
        ("manageable", Goal::Inspected) => Step::Do("inspect"),
        ("manageable", Goal::Available) => Step::Do("provide"),
        ("available", Goal::Inspected) if !inspected => Step::Do("manage"),
        ("available", _) => Step::Done,
        ("inspect failed", Goal::Inspected) => Step::Do("inspect"),
        ("inspect failed" | "clean failed", _) => Step::Do("manage"),
        (other, _) => Step::Fail(format!(
            "it is {other}; labsh moves nodes from enroll, manageable, available, inspect failed and clean failed only"
        )),
    }
}

/// The transitions a node in `state` goes through to `goal` (for a plan).
pub fn path(state: &str, inspected: bool, goal: Goal) -> Vec<&'static str> {
    let (mut s, mut insp) = (state.to_string(), inspected);
    let mut out = vec![];
    for _ in 0..6 {
        match next_step(&s, None, insp, goal) {
            Step::Do(v) => {
                out.push(v);
                match v {
                    "manage" => s = "manageable".into(),
                    "inspect" => {
                        s = "manageable".into();
                        insp = true;
                    }
                    _ => s = "available".into(),
                }
            }
            _ => break,
        }
    }
    out
}

/// Where the transitions a plan has shown leave each node ("cloud|node"), so the plan's next
/// step starts there: the plan's own ([`Effects::plan_state`]), never seen after it.
#[derive(Default)]
struct Planned(std::sync::Mutex<BTreeMap<String, (String, bool)>>);

fn planned_state(fx: &Effects, key: &str) -> Option<(String, bool)> {
    fx.plan_state::<Planned>().0.lock().ok()?.get(key).cloned()
}

fn set_planned_state(fx: &Effects, key: &str, v: (String, bool)) {
    if let Ok(mut m) = fx.plan_state::<Planned>().0.lock() {
        m.insert(key.to_string(), v);
    }
}

/// The fields of a node the provision watcher reads.
const WATCH_FIELDS: &str = "uuid,name,provision_state,target_provision_state,provision_updated_at,last_error,inspection_finished_at,maintenance,maintenance_reason,power_state,target_power_state,driver,driver_info";

impl<'a> Api<'a> {
    /// The watched fields of every node (one request).
    fn watch_list(&self) -> Result<Vec<Value>, Error> {
        let path = format!("/nodes?limit=1000&fields={WATCH_FIELDS}");
        self.read("nodes", |c| c.list("baremetal", &path, "nodes"), vec![])
    }

    /// Moves each node of `names` to `goal`: every node's next transition is asked for at once,
    /// then all are watched with one list request a tick (0.1 s at first, at most 0.5 s) until
    /// each has arrived or failed, progress printed as states change. A node whose transition
    /// failed (Ironic's `last_error`) is left where Ironic put it, and the error names each such
    /// node with its BMC; the others still reach the goal. Plan mode shows each transition.
    pub fn bm_provision(
        &self,
        names: &[String],
        goal: Goal,
        timeout: Duration,
        jobs: usize,
    ) -> Result<Vec<Value>, Error> {
        let t0 = Instant::now();
        let mut nodes = self.watch_list()?;
        let find = |nodes: &[Value], n: &str| -> Option<Value> {
            nodes
                .iter()
                .find(|x| x["name"] == n || x["uuid"] == n)
                .cloned()
        };
        if self.fx.is_plan() || self.live().is_none() {
            let mut out = vec![];
            for n in names {
                let (state, inspected, node) = match find(&nodes, n) {
                    Some(x) => (
                        x["provision_state"]
                            .as_str()
                            .unwrap_or("enroll")
                            .to_string(),
                        !x["inspection_finished_at"].is_null(),
                        x,
                    ),
                    None => ("enroll".into(), false, json!({"name": n, "planned": true})),
                };
                // Where an earlier step of this plan left the node.
                let key = format!("{}|{n}", self.conn.name());
                let (state, inspected) = planned_state(self.fx, &key).unwrap_or((state, inspected));
                let steps = path(&state, inspected, goal);
                let after = match steps.last() {
                    Some(&"provide") => (
                        "available".to_string(),
                        inspected || steps.contains(&"inspect"),
                    ),
                    Some(_) => (
                        "manageable".to_string(),
                        inspected || steps.contains(&"inspect"),
                    ),
                    None => (state.clone(), inspected),
                };
                set_planned_state(self.fx, &key, after);
                if steps.is_empty() {
                    self.fx
                        .unchanged(self.bm_op(&format!("node.{}", goal.word()), n));
                }
                for v in steps {
                    self.fx.change(
                        self.bm_op(&format!("node.{v}"), n),
                        || Err(self.only_planned()),
                        || (),
                    )?;
                }
                out.push(node);
            }
            return Ok(out);
        }
        let missing: Vec<&String> = names.iter().filter(|n| find(&nodes, n).is_none()).collect();
        if !missing.is_empty() {
            return Err(Error::not_found(format!(
                "no node {} in cloud '{}'; enroll them first (baremetal::nodes_ensure)",
                missing
                    .iter()
                    .map(|m| format!("'{m}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.conn.name()
            )));
        }
        // What each node was asked to do, and when its provision state last changed then.
        let mut asked: HashMap<String, (&'static str, Value, Value)> = HashMap::new();
        let mut tried: HashMap<String, Vec<&'static str>> = HashMap::new();
        let mut failed: BTreeMap<String, String> = BTreeMap::new();
        let mut done: BTreeMap<String, Value> = BTreeMap::new();
        let mut last_seen: HashMap<String, String> = HashMap::new();
        let mut changed_any: HashMap<String, bool> = HashMap::new();
        let mut tick = Duration::from_millis(100);
        loop {
            let mut to_do: Vec<(String, &'static str, Value)> = vec![];
            let mut pending = 0;
            for n in names {
                if failed.contains_key(n) || done.contains_key(n) {
                    continue;
                }
                let Some(node) = find(&nodes, n) else {
                    failed.insert(n.clone(), "the node is gone".into());
                    continue;
                };
                let state = node["provision_state"].as_str().unwrap_or("").to_string();
                let target = node["target_provision_state"].as_str().map(String::from);
                let seen = match &target {
                    Some(t) => format!("{state} → {t}"),
                    None => state.clone(),
                };
                if last_seen.get(n) != Some(&seen) {
                    if last_seen.contains_key(n) || asked.contains_key(n) {
                        self.fx.printer().status(&format!("  {n}: {seen}"));
                    }
                    last_seen.insert(n.clone(), seen);
                }
                if node["maintenance"] == json!(true) {
                    failed.insert(
                        n.clone(),
                        format!(
                            "it is in maintenance: {}",
                            node["maintenance_reason"]
                                .as_str()
                                .unwrap_or("no reason given")
                        ),
                    );
                    continue;
                }
                let inspected = !node["inspection_finished_at"].is_null();
                let mut step = next_step(&state, target.as_deref(), inspected, goal);
                // A transition asked for and not begun yet (Ironic records the change at once;
                // this covers a slow answer): the state and its time are as before.
                if let (Step::Do(v), Some((asked_v, at_state, at_time))) = (&step, asked.get(n)) {
                    let unchanged = node["provision_state"] == *at_state
                        && node["provision_updated_at"] == *at_time;
                    if unchanged && v == asked_v {
                        step = Step::Wait;
                    }
                }
                match step {
                    Step::Done => {
                        if !changed_any.get(n).copied().unwrap_or(false) {
                            self.fx
                                .unchanged(self.bm_op(&format!("node.{}", goal.word()), n));
                        }
                        done.insert(n.clone(), node);
                    }
                    Step::Wait => pending += 1,
                    Step::Fail(why) => {
                        failed.insert(n.clone(), why);
                    }
                    Step::Do(v) => {
                        if tried.get(n).is_some_and(|t| t.contains(&v)) {
                            let last = tried.get(n).and_then(|t| t.last().copied()).unwrap_or(v);
                            failed.insert(
                                n.clone(),
                                format!(
                                    "{last} failed: it is {state}{}",
                                    match node["last_error"].as_str() {
                                        Some(e) if !e.is_empty() => format!(": {e}"),
                                        _ => String::new(),
                                    }
                                ),
                            );
                        } else {
                            to_do.push((n.clone(), v, node));
                        }
                    }
                }
            }
            if !to_do.is_empty() {
                let results = crate::effects::pool::run_indexed(jobs, to_do.len(), |i| {
                    let (n, v, node) = &to_do[i];
                    self.provision_put(n, v, node)
                });
                for ((n, v, node), r) in to_do.into_iter().zip(results) {
                    match r {
                        Ok(()) => {
                            tried.entry(n.clone()).or_default().push(v);
                            changed_any.insert(n.clone(), true);
                            asked.insert(
                                n.clone(),
                                (
                                    v,
                                    node["provision_state"].clone(),
                                    node["provision_updated_at"].clone(),
                                ),
                            );
                            pending += 1;
                        }
                        Err(e) => {
                            failed.insert(n, e.to_string());
                        }
                    }
                }
            }
            if pending == 0 {
                break;
            }
            if t0.elapsed() > timeout {
                for n in names {
                    if !failed.contains_key(n) && !done.contains_key(n) {
                        let seen = last_seen.get(n).cloned().unwrap_or_default();
                        failed.insert(
                            n.clone(),
                            format!(
                                "not {} within {} s; it is {seen}",
                                goal.word(),
                                timeout.as_secs()
                            ),
                        );
                    }
                }
                break;
            }
            self.fx.check_cancel()?;
            std::thread::sleep(tick);
            if t0.elapsed() > Duration::from_secs(3) {
                tick = (tick * 2).min(Duration::from_millis(500));
            }
            nodes = self.watch_list()?;
        }
        if !failed.is_empty() {
            let lines: Vec<String> = failed
                .iter()
                .map(|(n, why)| {
                    let bmc = find(&nodes, n)
                        .map(|x| node_bmc(&x))
                        .unwrap_or_else(|| "?".into());
                    format!("{n} (BMC {bmc}): {why}")
                })
                .collect();
            return Err(Error::failed(format!(
                "{} of {} node(s) did not become {}:\n  {}",
                failed.len(),
                names.len(),
                goal.word(),
                lines.join("\n  ")
            )));
        }
        Ok(names.iter().filter_map(|n| done.get(n).cloned()).collect())
    }

    fn provision_put(&self, name: &str, verb: &str, node: &Value) -> Result<(), Error> {
        let uuid = node["uuid"].as_str().unwrap_or_default().to_string();
        self.send(
            self.bm_op(&format!("node.{verb}"), name)
                .arg("from", &node["provision_state"])
                .arg("bmc", node_bmc(node)),
            Method::PUT,
            "baremetal",
            &format!("/nodes/{uuid}/states/provision"),
            Some(json!({"target": verb})),
        )
        .map(|_| ())
    }

    /// Powers a node on, off or reboots it, then watches it until Ironic reports the new
    /// state (or `timeout`). Returns the power state.
    pub fn bm_power(&self, ident: &Id, want: &str, timeout: Duration) -> Result<String, Error> {
        let (target, state) = match want {
            "on" => ("power on", "power on"),
            "off" => ("power off", "power off"),
            "reboot" => ("rebooting", "power on"),
            other => {
                return Err(Error::invalid(format!(
                    "unknown power action {other:?}: on, off or reboot"
                )))
            }
        };
        let node = match self.bm_node(ident)? {
            Some(n) => n,
            None if self.fx.is_plan() => {
                return self.fx.change(
                    self.bm_op(&format!("node.power_{want}"), &ident.to_string()),
                    || Err(self.only_planned()),
                    || state.to_string(),
                )
            }
            None => {
                return Err(Error::not_found(format!(
                    "no node '{ident}' in cloud '{}'",
                    self.conn.name()
                )))
            }
        };
        if want != "reboot" && node["power_state"] == state && node["target_power_state"].is_null()
        {
            self.fx
                .unchanged(self.bm_op(&format!("node.power_{want}"), &ident.to_string()));
            return Ok(state.to_string());
        }
        let uuid = Id::from_json(&node["uuid"]);
        let before = node["last_error"].clone();
        let bmc = node_bmc(&node);
        let t0 = Instant::now();
        self.send(
            self.bm_op(&format!("node.power_{want}"), &ident.to_string())
                .arg("bmc", &bmc),
            Method::PUT,
            "baremetal",
            &format!("/nodes/{uuid}/states/power"),
            Some(json!({"target": target})),
        )?;
        if self.fx.is_plan() {
            return Ok(state.to_string());
        }
        let mut tick = Duration::from_millis(100);
        loop {
            let n = self.bm_node(&uuid)?.unwrap_or_default();
            if n["target_power_state"].is_null() {
                if n["power_state"] == state {
                    return Ok(state.to_string());
                }
                if n["last_error"] != before && !n["last_error"].is_null() {
                    return Err(Error::failed(format!(
                        "{ident} (BMC {bmc}): power {want} failed: {}",
                        n["last_error"].as_str().unwrap_or_default()
                    )));
                }
            }
            if t0.elapsed() > timeout {
                return Err(Error::timed_out(format!(
                    "{ident} (BMC {bmc}): not {state} within {} s (it is {})",
                    timeout.as_secs(),
                    n["power_state"].as_str().unwrap_or("unknown")
                )));
            }
            self.fx.check_cancel()?;
            std::thread::sleep(tick);
            tick = (tick * 2).min(Duration::from_millis(500));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_a_plan_leaves_a_node_is_its_sessions_until_its_mode_changes() {
        use crate::effects::Mode;
        let (a, b) = (
            Effects::for_tests(Mode::Plan),
            Effects::for_tests(Mode::Plan),
        );
        set_planned_state(&a, "c|n1", ("available".into(), true));
        assert_eq!(planned_state(&a, "c|n1"), Some(("available".into(), true)));
        assert_eq!(planned_state(&b, "c|n1"), None);
        a.set_mode(Mode::Apply);
        assert_eq!(planned_state(&a, "c|n1"), None);
    }

    #[test]
    fn steps_lead_each_state_to_its_goal() {
        assert_eq!(
            path("enroll", false, Goal::Available),
            ["manage", "provide"]
        );
        assert_eq!(
            path("enroll", false, Goal::Inspected),
            ["manage", "inspect"]
        );
        assert_eq!(
            path("available", false, Goal::Inspected),
            ["manage", "inspect"]
        );
        assert!(path("available", true, Goal::Inspected).is_empty());
        assert!(path("available", false, Goal::Manageable).is_empty());
        assert!(path("active", false, Goal::Available).is_empty());
        assert_eq!(
            path("inspect failed", true, Goal::Available),
            ["manage", "provide"]
        );
        assert_eq!(
            next_step("verifying", None, false, Goal::Manageable),
            Step::Wait
        );
        assert_eq!(
            next_step("manageable", Some("available"), false, Goal::Available),
            Step::Wait
        );
        assert!(matches!(
            next_step("deploy failed", None, false, Goal::Available),
            Step::Fail(_)
        ));
    }
}
