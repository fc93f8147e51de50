//! Provision goals (manage, inspect, provide) reached by watching every node with one list
//! request a tick, and power actions watched until Ironic reports the new state.

use super::node_bmc;
use crate::effects::Effects;
use crate::error::Error;
use crate::modules::cloud::api::Api;
use crate::modules::cloud::id::Id;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
pub(super) fn transitional(state: &str) -> bool {
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

/// The node of `nodes` named `n` (by name or UUID).
fn find_node(nodes: &[Value], n: &str) -> Option<Value> {
    nodes
        .iter()
        .find(|x| x["name"] == n || x["uuid"] == n)
        .cloned()
}

/// One node on its way to a goal, as the provision watch knows it.
#[derive(Default)]
struct Watched {
    /// The state last seen (`state → target` while one is under way).
    seen: Option<String>,
    /// The transition last asked for, with the provision state and its time when it was asked.
    asked: Option<(&'static str, Value, Value)>,
    /// The transitions asked for so far, in order (none: the node was left as it was).
    tried: Vec<&'static str>,
    /// Where it ended, once it has.
    end: Option<End>,
}

enum End {
    /// It reached the goal: the node as last listed.
    Reached(Value),
    /// It did not, and why.
    Failed(String),
}

impl Watched {
    fn fail(&mut self, why: impl Into<String>) {
        self.end = Some(End::Failed(why.into()));
    }

    fn failed(&self) -> Option<&str> {
        match &self.end {
            Some(End::Failed(why)) => Some(why),
            _ => None,
        }
    }
}

/// What one look at a node asks of the watch.
enum Next {
    /// Nothing this tick: it has ended, or it is on its way.
    Ended,
    Waiting,
    /// Ask Ironic for this transition of this node.
    Ask(&'static str, Value),
}

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
        if self.fx.is_plan() || self.live().is_none() {
            return self.provision_planned(names, goal, &nodes);
        }
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| find_node(&nodes, n).is_none())
            .collect();
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
        let mut watched: BTreeMap<&str, Watched> = names
            .iter()
            .map(|n| (n.as_str(), Watched::default()))
            .collect();
        let mut tick = Duration::from_millis(100);
        loop {
            let mut to_do: Vec<(&str, &'static str, Value)> = vec![];
            let mut pending = 0;
            for n in names {
                let Some(w) = watched.get_mut(n.as_str()) else {
                    continue;
                };
                match self.provision_look(n, find_node(&nodes, n), goal, w) {
                    Next::Ended => {}
                    Next::Waiting => pending += 1,
                    Next::Ask(v, node) => to_do.push((n, v, node)),
                }
            }
            pending += self.provision_ask(jobs, to_do, &mut watched);
            if pending == 0 {
                break;
            }
            if t0.elapsed() > timeout {
                for w in watched.values_mut().filter(|w| w.end.is_none()) {
                    let seen = w.seen.clone().unwrap_or_default();
                    w.fail(format!(
                        "not {} within {} s; it is {seen}",
                        goal.word(),
                        timeout.as_secs()
                    ));
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
        provision_result(names, goal, &nodes, watched)
    }

    /// [`Api::bm_provision`] in a plan (or on a cloud that is not there): each transition a node
    /// would go through shown, starting where an earlier step of the plan left it.
    fn provision_planned(
        &self,
        names: &[String],
        goal: Goal,
        nodes: &[Value],
    ) -> Result<Vec<Value>, Error> {
        let mut out = vec![];
        for n in names {
            let (state, inspected, node) = match find_node(nodes, n) {
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
        Ok(out)
    }

    /// One look at the node `n` as this tick's list shows it (`None`: it is gone): its change
    /// of state printed, and what it needs next towards `goal`, its end recorded in `w`.
    fn provision_look(&self, n: &str, node: Option<Value>, goal: Goal, w: &mut Watched) -> Next {
        if w.end.is_some() {
            return Next::Ended;
        }
        let Some(node) = node else {
            w.fail("the node is gone");
            return Next::Ended;
        };
        let state = node["provision_state"].as_str().unwrap_or("").to_string();
        let target = node["target_provision_state"].as_str().map(String::from);
        let seen = match &target {
            Some(t) => format!("{state} → {t}"),
            None => state.clone(),
        };
        if w.seen.as_ref() != Some(&seen) {
            if w.seen.is_some() || w.asked.is_some() {
                self.fx.printer().status(&format!("  {n}: {seen}"));
            }
            w.seen = Some(seen);
        }
        if node["maintenance"] == json!(true) {
            w.fail(format!(
                "it is in maintenance: {}",
                node["maintenance_reason"]
                    .as_str()
                    .unwrap_or("no reason given")
            ));
            return Next::Ended;
        }
        let inspected = !node["inspection_finished_at"].is_null();
        let mut step = next_step(&state, target.as_deref(), inspected, goal);
        // A transition asked for and not begun yet (Ironic records the change at once; this
        // covers a slow answer): the state and its time are as before.
        if let (Step::Do(v), Some((asked_v, at_state, at_time))) = (&step, &w.asked) {
            let unchanged =
                node["provision_state"] == *at_state && node["provision_updated_at"] == *at_time;
            if unchanged && v == asked_v {
                step = Step::Wait;
            }
        }
        match step {
            Step::Done => {
                if w.tried.is_empty() {
                    self.fx
                        .unchanged(self.bm_op(&format!("node.{}", goal.word()), n));
                }
                w.end = Some(End::Reached(node));
                Next::Ended
            }
            Step::Wait => Next::Waiting,
            Step::Fail(why) => {
                w.fail(why);
                Next::Ended
            }
            Step::Do(v) if w.tried.contains(&v) => {
                let last = w.tried.last().copied().unwrap_or(v);
                w.fail(format!(
                    "{last} failed: it is {state}{}",
                    match node["last_error"].as_str() {
                        Some(e) if !e.is_empty() => format!(": {e}"),
                        _ => String::new(),
                    }
                ));
                Next::Ended
            }
            Step::Do(v) => Next::Ask(v, node),
        }
    }

    /// Asks for every transition of `to_do` at once (on up to `jobs` threads), each recorded in
    /// its node's record, a refused one as its failure; how many were asked for.
    fn provision_ask(
        &self,
        jobs: usize,
        to_do: Vec<(&str, &'static str, Value)>,
        watched: &mut BTreeMap<&str, Watched>,
    ) -> usize {
        if to_do.is_empty() {
            return 0;
        }
        let results = crate::effects::pool::run_indexed(jobs, to_do.len(), |i| {
            let (n, v, node) = &to_do[i];
            self.provision_put(n, v, node)
        });
        let mut asked = 0;
        for ((n, v, node), r) in to_do.into_iter().zip(results) {
            let Some(w) = watched.get_mut(n) else {
                continue;
            };
            match r {
                Ok(()) => {
                    w.tried.push(v);
                    w.asked = Some((
                        v,
                        node["provision_state"].clone(),
                        node["provision_updated_at"].clone(),
                    ));
                    asked += 1;
                }
                Err(e) => w.fail(e.to_string()),
            }
        }
        asked
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

/// The nodes that reached the goal, in the order of `names`; or an error naming each node that
/// did not (by name, with its BMC as last listed in `nodes`) and why.
fn provision_result(
    names: &[String],
    goal: Goal,
    nodes: &[Value],
    watched: BTreeMap<&str, Watched>,
) -> Result<Vec<Value>, Error> {
    let lines: Vec<String> = watched
        .iter()
        .filter_map(|(n, w)| w.failed().map(|why| (n, why)))
        .map(|(n, why)| {
            let bmc = find_node(nodes, n)
                .map(|x| node_bmc(&x))
                .unwrap_or_else(|| "?".into());
            format!("{n} (BMC {bmc}): {why}")
        })
        .collect();
    if !lines.is_empty() {
        return Err(Error::failed(format!(
            "{} of {} node(s) did not become {}:\n  {}",
            lines.len(),
            names.len(),
            goal.word(),
            lines.join("\n  ")
        )));
    }
    Ok(names
        .iter()
        .filter_map(|n| match watched.get(n.as_str()).map(|w| &w.end) {
            Some(Some(End::Reached(node))) => Some(node.clone()),
            _ => None,
        })
        .collect())
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
