//! Ironic's provisioning watch on a stand-in Ironic on 127.0.0.1 (made by the test): nodes moved
//! to a goal through the transitions Ironic takes them, watched with one list request a tick; a
//! node whose transition fails and one in maintenance named with their BMC and why, the others
//! reaching the goal; a node already there left unchanged.

use crate::support::Lab;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A node as the stand-in keeps it.
#[derive(Clone)]
struct Node {
    uuid: String,
    name: String,
    state: String,
    target: Option<String>,
    last_error: Option<String>,
    maintenance: bool,
    port: u16,
    /// Cleaning fails for it: `provide` leaves it in clean failed.
    clean_fails: bool,
    /// A transition under way has been listed once.
    listed: bool,
    /// The node's properties, as PATCHes leave them.
    properties: serde_json::Value,
}

impl Node {
    fn new(n: usize, name: &str, state: &str) -> Node {
        Node {
            uuid: format!("00000000-0000-0000-0000-00000000000{n}"),
            name: name.into(),
            state: state.into(),
            target: None,
            last_error: None,
            maintenance: false,
            port: 6230 + n as u16,
            clean_fails: false,
            listed: false,
            properties: serde_json::json!({}),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "uuid": self.uuid, "name": self.name, "provision_state": self.state,
            "target_provision_state": self.target, "provision_updated_at": "2026-01-01T00:00:00",
            "last_error": self.last_error, "inspection_finished_at": null,
            "maintenance": self.maintenance,
            "maintenance_reason": if self.maintenance { Some("disk replaced by hand") } else { None },
            "power_state": "power off", "target_power_state": null, "driver": "ipmi",
            "driver_info": {"ipmi_address": "127.0.0.1", "ipmi_port": self.port},
            "properties": self.properties, "extra": {},
        })
    }

    /// A transition under way is listed once as it is, then it arrives (or fails).
    fn advance(&mut self) {
        if self.target.is_some() && !self.listed {
            self.listed = true;
            return;
        }
        let Some(t) = self.target.take() else { return };
        self.listed = false;
        if t == "available" && self.clean_fails {
            self.state = "clean failed".into();
            self.last_error = Some("clean step erase_devices failed".into());
        } else {
            self.state = t;
        }
    }

    fn ask(&mut self, verb: &str) {
        let (during, target) = match verb {
            "manage" => ("verifying", "manageable"),
            "provide" => ("cleaning", "available"),
            _ => ("inspecting", "manageable"),
        };
        self.state = during.into();
        self.target = Some(target.into());
        self.last_error = None;
    }
}

type Nodes = Arc<Mutex<Vec<Node>>>;

/// Keystone (a token whose catalog has bare metal) and Ironic's version document, node list and
/// provision state changes; each answer closes its connection.
fn start(nodes: Nodes) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let nodes = nodes.clone();
            std::thread::spawn(move || {
                let _ = answer(s, port, &nodes);
            });
        }
    });
    port
}

fn answer(s: TcpStream, port: u16, nodes: &Nodes) -> std::io::Result<()> {
    let mut r = BufReader::new(s.try_clone()?);
    let Some((head, body)) = crate::support::read_request(&mut r) else {
        return Ok(());
    };
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let first = head.lines().next().unwrap_or_default().to_string();
    let mut words = first.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let base = format!("http://127.0.0.1:{port}");
    let mut nodes = nodes.lock().unwrap();
    let (status, extra, json) = if method == "POST" && path == "/v3/auth/tokens" {
        (
            "201 Created",
            "X-Subject-Token: stand-in-token\r\n".to_string(),
            format!(
                r#"{{"token": {{"expires_at": "2099-01-01T00:00:00.000000Z", "user": {{"id": "u1", "name": "admin"}}, "project": {{"id": "p1", "name": "admin"}}, "roles": [{{"name": "admin"}}], "catalog": [{{"type": "baremetal", "endpoints": [{{"interface": "public", "region_id": "RegionOne", "url": "{base}/baremetal"}}]}}]}}}}"#
            ),
        )
    } else if method == "GET" && path.ends_with("/nodes") {
        for n in nodes.iter_mut() {
            n.advance();
        }
        let list: Vec<_> = nodes.iter().map(Node::json).collect();
        (
            "200 OK",
            String::new(),
            serde_json::json!({ "nodes": list }).to_string(),
        )
    } else if method == "GET" && path.contains("/nodes/") {
        // One node, by name or UUID; a transition under way moves on as in a list.
        let id = path.rsplit('/').next().unwrap_or("");
        match nodes.iter_mut().find(|n| n.uuid == id || n.name == id) {
            Some(n) => {
                n.advance();
                ("200 OK", String::new(), n.json().to_string())
            }
            None => (
                "404 Not Found",
                String::new(),
                r#"{"error_message": "{\"faultstring\": \"Node not found.\"}"}"#.to_string(),
            ),
        }
    } else if method == "PATCH" && path.contains("/nodes/") {
        // Ironic refuses to change a node in a transition (ironic/api/controllers/v1/node.py
        // NodesController.patch, ironic 39.0.0); else each "add" of a property is kept.
        let id = path.rsplit('/').next().unwrap_or("");
        match nodes.iter_mut().find(|n| n.uuid == id) {
            Some(n) if n.state == "inspecting" => (
                "409 Conflict",
                String::new(),
                format!(
                    r#"{{"error_message": "{{\"faultstring\": \"Cannot update node \\\"{}\\\" while it is in state \\\"inspecting\\\".\"}}"}}"#,
                    n.uuid
                ),
            ),
            Some(n) => {
                for op in body.as_array().into_iter().flatten() {
                    if let Some(k) = op["path"]
                        .as_str()
                        .and_then(|p| p.strip_prefix("/properties/"))
                    {
                        n.properties[k] = op["value"].clone();
                    }
                }
                ("200 OK", String::new(), n.json().to_string())
            }
            None => ("404 Not Found", String::new(), "{}".to_string()),
        }
    } else if method == "PUT" && path.ends_with("/states/provision") {
        let uuid = path.split('/').rev().nth(2).unwrap_or("");
        match nodes.iter_mut().find(|n| n.uuid == uuid) {
            Some(n) => {
                n.ask(body["target"].as_str().unwrap_or(""));
                ("202 Accepted", String::new(), String::new())
            }
            None => (
                "404 Not Found",
                String::new(),
                r#"{"error_message": "{\"faultstring\": \"Node not found.\"}"}"#.to_string(),
            ),
        }
    } else if method == "GET" && path.starts_with("/baremetal") {
        (
            "200 OK",
            "X-OpenStack-Ironic-API-Minimum-Version: 1.1\r\nX-OpenStack-Ironic-API-Maximum-Version: 1.78\r\n"
                .to_string(),
            r#"{"version": {"min_version": "1.1", "version": "1.78"}}"#.to_string(),
        )
    } else {
        (
            "404 Not Found",
            String::new(),
            r#"{"error_message": "not here"}"#.to_string(),
        )
    };
    drop(nodes);
    let mut w = s;
    w.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        )
        .as_bytes(),
    )
}

fn clouds(lab: &Lab, port: u16) -> std::path::PathBuf {
    lab.file(
        "clouds.yaml",
        &format!(
            "clouds:\n  standin:\n    auth:\n      auth_url: http://127.0.0.1:{port}/v3\n      username: admin\n      password: standin-pw-3e9a\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n"
        ),
    )
}

/// `labsh --jobs 1 run FILE` on the stand-in's clouds.yaml.
fn run_on(lab: &Lab, clouds: &std::path::Path, f: &std::path::Path) -> crate::support::Out {
    lab.labsh()
        .env("OS_CLIENT_CONFIG_FILE", clouds.to_str().unwrap())
        .args(["--jobs", "1", "run", f.to_str().unwrap()])
        .run()
}

#[test]
fn the_watch_brings_each_node_to_its_goal_and_names_those_that_did_not_get_there() {
    let lab = Lab::new();
    let mut bad = Node::new(2, "bad", "enroll");
    bad.clean_fails = true;
    let mut maint = Node::new(3, "maint", "manageable");
    maint.maintenance = true;
    let nodes: Nodes = Arc::new(Mutex::new(vec![
        Node::new(1, "good", "enroll"),
        bad,
        maint,
        Node::new(4, "there", "available"),
    ]));
    let port = start(nodes.clone());
    let clouds = clouds(&lab, port);
    let f = lab.file(
        "provide.rhai",
        r#"
let done = baremetal::provision("standin", ["good", "there"], "provide");
print(`reached: ${done.map(|n| `${n.name}=${n.provision_state}`)}`);
try {
    baremetal::provision("standin", ["maint", "bad", "there"], "provide");
} catch (e) {
    print(`failed: ${e.kind}: ${e}`);
}
"#,
    );
    let o = run_on(&lab, &clouds, &f);
    o.ok()
        .stdout_has("reached: [\"good=available\", \"there=available\"]")
        .stdout_has(
            "failed: failed: 2 of 3 node(s) did not become available:\n  \
             bad (BMC ipmi 127.0.0.1:6232): provide failed: it is clean failed: clean step erase_devices failed\n  \
             maint (BMC ipmi 127.0.0.1:6233): it is in maintenance: disk replaced by hand",
        )
        // Progress as the states change, after a transition was asked for.
        .stderr_has("  good: verifying → manageable")
        .stderr_has("  good: cleaning → available")
        .stderr_has("  bad: clean failed");
    let states: Vec<(String, String)> = nodes
        .lock()
        .unwrap()
        .iter()
        .map(|n| (n.name.clone(), n.state.clone()))
        .collect();
    assert_eq!(
        states,
        [
            ("good".into(), "available".into()),
            ("bad".into(), "clean failed".into()),
            ("maint".into(), "manageable".into()),
            ("there".into(), "available".into()),
        ]
    );
}

/// A node Ironic is inspecting (a run stopped during the inspection left it so) is changed only
/// once the inspection has ended: Ironic answers 409 to a change before.
#[test]
fn a_node_is_changed_only_once_ironic_has_ended_its_inspection() {
    let lab = Lab::new();
    let mut busy = Node::new(1, "busy", "inspecting");
    busy.target = Some("manageable".into());
    let nodes: Nodes = Arc::new(Mutex::new(vec![busy]));
    let port = start(nodes.clone());
    let clouds = clouds(&lab, port);
    let f = lab.file(
        "update.rhai",
        r#"
let n = baremetal::node_update("standin", "busy", #{ properties: #{ local_gb: 40 }, capabilities: #{ profile: "control" } });
print(`updated: ${n.provision_state} ${n.properties.local_gb}`);
"#,
    );
    let o = run_on(&lab, &clouds, &f);
    o.ok()
        .stderr_has("  busy: inspecting: waiting for Ironic to end it before the node is changed")
        .stdout_has("updated: manageable 40");
    let n = nodes.lock().unwrap()[0].clone();
    assert_eq!(n.state, "manageable");
    assert_eq!(n.properties["capabilities"], "profile:control");
}
