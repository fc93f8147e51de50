//! Errors as scripts catch them: every native function's error is an `Error` whose `kind` says
//! what failed (a cloud's 404 is "not_found", 409 "conflict", 401 "unauthorized", a closed port
//! "unreachable"), read in `catch` without matching words; `fail` makes one with advice, and the
//! runner says the advice. The cloud here is a stand-in on 127.0.0.1 answering as Keystone, Nova
//! and Neutron answer (their status codes and error bodies), made by the test.

use crate::support::Lab;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

/// A stand-in OpenStack on 127.0.0.1: Keystone issues a token (401 for the password "refused-pw-7f2c"),
/// Nova lists no flavors, refuses a new one with 409 and has no limits (404), Neutron refuses
/// every token with 401. Each answer closes its connection.
struct StandIn {
    port: u16,
}

impl StandIn {
    fn start() -> StandIn {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = answer(s, port);
                });
            }
        });
        StandIn { port }
    }
}

fn answer(s: TcpStream, port: u16) -> std::io::Result<()> {
    let mut r = BufReader::new(s.try_clone()?);
    let Some((head, body)) = crate::support::read_request(&mut r) else {
        return Ok(());
    };
    let body = String::from_utf8_lossy(&body);
    let first = head.lines().next().unwrap_or_default().to_string();
    let base = format!("http://127.0.0.1:{port}");
    let (status, extra, json) = if first.starts_with("POST /v3/auth/tokens") {
        if body.contains("\"refused-pw-7f2c\"") {
            (
                "401 Unauthorized",
                "",
                r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#.to_string(),
            )
        } else {
            (
                "201 Created",
                "X-Subject-Token: stand-in-token\r\n",
                format!(
                    r#"{{"token": {{"expires_at": "2099-01-01T00:00:00.000000Z", "user": {{"id": "u1", "name": "admin"}}, "project": {{"id": "p1", "name": "admin"}}, "roles": [{{"name": "admin"}}], "catalog": [{{"type": "compute", "endpoints": [{{"interface": "public", "region_id": "RegionOne", "url": "{base}/compute/v2.1"}}]}}, {{"type": "network", "endpoints": [{{"interface": "public", "region_id": "RegionOne", "url": "{base}/network"}}]}}]}}}}"#
                ),
            )
        }
    } else if first.starts_with("GET /compute/v2.1/flavors") {
        ("200 OK", "", r#"{"flavors": []}"#.to_string())
    } else if first.starts_with("POST /compute/v2.1/flavors") {
        (
            "409 Conflict",
            "",
            r#"{"conflictingRequest": {"code": 409, "message": "Flavor with name kind-test already exists."}}"#.to_string(),
        )
    } else if first.starts_with("GET /network/") {
        (
            "401 Unauthorized",
            "",
            r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#.to_string(),
        )
    } else {
        (
            "404 Not Found",
            "",
            r#"{"itemNotFound": {"code": 404, "message": "The resource could not be found."}}"#
                .to_string(),
        )
    };
    let mut w = s;
    w.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
            json.len()
        )
        .as_bytes(),
    )
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn clouds(lab: &Lab, port: u16, closed: u16) -> PathBuf {
    let entry = |name: &str, port: u16, password: &str| {
        format!(
            "  {name}:\n    auth:\n      auth_url: http://127.0.0.1:{port}/v3\n      username: admin\n      password: {password}\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n"
        )
    };
    lab.file(
        "clouds.yaml",
        &format!(
            "clouds:\n{}{}{}",
            entry("standin", port, "standin-pw-3e9a"),
            entry("refused", port, "refused-pw-7f2c"),
            entry("closed", closed, "standin-pw-3e9a")
        ),
    )
}

#[test]
fn a_script_catches_a_clouds_failures_by_their_kind() {
    let lab = Lab::new();
    let standin = StandIn::start();
    let clouds = clouds(&lab, standin.port, closed_port());
    let f = lab.file(
        "kinds.rhai",
        r#"
fn kind_of(f) { let k = "no error"; try { f.call(); } catch (e) { print(`${e.kind}: ${e}`); k = e.kind; } k }
assert_eq(cloud::flavors("standin"), []);
assert_eq(kind_of(|| cloud::limits("standin")), "not_found");
assert_eq(kind_of(|| cloud::flavor_ensure("standin", #{name: "kind-test", ram: 1024, vcpus: 1, disk: 1})), "conflict");
assert_eq(kind_of(|| cloud::ports("standin", #{})), "unauthorized");
assert_eq(kind_of(|| cloud::flavors("refused")), "unauthorized");
assert_eq(kind_of(|| cloud::flavors("closed")), "unreachable");
// What is caught reads as its message, as the strings errors were.
try { cloud::limits("standin") } catch (e) {
    assert(e.contains("404") && type_of(e) == "Error" && e.message == `${e}`, e);
    assert(e.advice == () && e.at.contains("kinds.rhai:"), e);
}
print("all caught");
"#,
    );
    let o = lab
        .labsh()
        .env("OS_CLIENT_CONFIG_FILE", clouds.to_str().unwrap())
        .args(["run", f.to_str().unwrap()])
        .run();
    o.ok().stdout_has("all caught");
    o.stdout_has("conflict: POST http://127.0.0.1:")
        .stdout_has("Flavor with name kind-test already exists");
    o.stdout_has("unreachable: cloud 'closed': cannot reach Keystone at");
}

#[test]
fn a_plan_takes_an_unreachable_cloud_as_empty_and_a_run_says_so() {
    let lab = Lab::new();
    let clouds = lab.file(
        "clouds.yaml",
        &format!(
            "clouds:\n  closed:\n    auth:\n      auth_url: http://127.0.0.1:{}/v3\n      username: admin\n      password: standin-pw-3e9a\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n",
            closed_port()
        ),
    );
    let f = lab.file(
        "offline.rhai",
        "let c = cloud::connect(\"closed\");\nprint(`offline: ${c.offline}`);\n",
    );
    let run = |plan: bool| {
        let mut args = vec!["run"];
        if plan {
            args.push("--plan");
        }
        args.push(f.to_str().unwrap());
        lab.labsh()
            .env("OS_CLIENT_CONFIG_FILE", clouds.to_str().unwrap())
            .args(args)
            .run()
    };
    run(true)
        .ok()
        .stdout_has("offline: true")
        .stderr_has("cloud 'closed' cannot be reached yet");
    let o = run(false);
    o.code(1).stderr_has("cannot reach Keystone");
}

#[test]
fn fail_with_advice_is_an_invalid_error_whose_advice_the_runner_says() {
    let lab = Lab::new();
    let f = lab.file(
        "advice.rhai",
        r#"
try { fail("p.rhai: vms.ctrl.count: -1 must be 0 or more", "give a count of 0 or more") }
catch (e) { print(`${e.kind} | ${e.advice} | ${e}`); }
try { fail(#{message: "x.yaml: images: /nope does not exist", kind: "not_found", file: "x.yaml", key: "images"}) }
catch (e) { print(`${e.kind} | ${e.at}`); }
try { fail(#{message: "m", kind: "notfound"}) } catch (e) { print(`${e.kind} | ${e}`); }
fail("the lab has 2 problem(s)", "correct them in the profile, then run again");
"#,
    );
    let o = lab.run_file(&f);
    o.code(1)
        .stdout_has(
            "invalid | give a count of 0 or more | p.rhai: vms.ctrl.count: -1 must be 0 or more",
        )
        .stdout_has("not_found | x.yaml: images")
        .stdout_has("invalid | fail: kind \"notfound\" is none of")
        .stdout_has("did you mean 'not_found'?");
    // Shown as it is (it names its own file and key), the advice as the hint.
    o.stderr_has("error: the lab has 2 problem(s)")
        .stderr_has("hint: correct them in the profile, then run again");
    assert!(!o.stderr.contains("-->"), "no frames: {}", o.stderr);
    // In --json the error event carries its kind and advice.
    let j = lab
        .labsh()
        .args(["--json", "run", f.to_str().unwrap()])
        .run();
    let err = j
        .json_lines()
        .into_iter()
        .find(|l| l["event"] == "error")
        .unwrap();
    assert_eq!(err["kind"], "invalid", "{err}");
    assert_eq!(err["advice"], "correct them in the profile, then run again");
}

#[test]
fn an_error_thrown_again_keeps_its_kind_and_a_native_one_has_the_calls_place() {
    let lab = Lab::new();
    let f = lab.file(
        "again.rhai",
        r#"
let e = ();
try { run(["/nonexistent/prog"]) } catch (x) { e = x; }
assert_eq(e.kind, "not_found");
assert(e.at.starts_with(run_info().script) || e.at.contains("again.rhai:3:"), e.at);
try { throw e; } catch (y) { assert_eq(y.kind, "not_found"); assert(y == e); }
try { img::parse_size("ten G") } catch (x) { assert_eq(x.kind, "invalid", `${x}`); }
try { wait_until(|| false, #{timeout: 0.05, every: 0.01, what: "nothing"}) } catch (x) { assert_eq(x.kind, "timed_out", `${x}`); }
try { parallel([|| fail("a"), || fail("b", "do b")]) } catch (x) { assert_eq([x.kind, x.advice], ["invalid", "do b"]); }
print("kinds kept");
"#,
    );
    lab.run_file(&f).ok().stdout_has("kinds kept");
}

#[test]
fn a_file_read_fails_by_its_kind_missing_a_device_or_too_large() {
    let lab = Lab::new();
    let big = lab.file("big.txt", &"x".repeat((16 << 20) + 1));
    let f = lab.file(
        "reads.rhai",
        &format!(
            r#"
fn kind_of(f) {{ let k = "no error"; try {{ f.call(); }} catch (e) {{ print(`${{e.kind}}: ${{e}}`); k = e.kind; }} k }}
assert_eq(kind_of(|| files::read("/nonexistent/file")), "not_found");
assert_eq(kind_of(|| files::read("/dev/zero")), "invalid");
assert_eq(kind_of(|| files::read_json("/dev/null")), "invalid");
assert_eq(kind_of(|| files::read({big:?})), "refused");
assert_eq(kind_of(|| files::sha256("/dev/zero")), "invalid");
print("reads by kind");
"#
        ),
    );
    lab.run_file(&f)
        .ok()
        .stdout_has("reads by kind")
        .stdout_has("not_found: cannot read /nonexistent/file")
        .stdout_has("refused: cannot read ");
}

/// In --json a failed stage's command that continues from it is an event on stdout too, with
/// the stage and the advice; the journal has it as before.
#[test]
fn in_json_a_failed_stage_says_how_to_continue_as_an_event() {
    let lab = Lab::new();
    let f = lab.file(
        "stages.rhai",
        "stage(\"first\", || print(\"first done\"));\nstage(\"second\", || fail(\"the second broke\", \"mend the second\"));\n",
    );
    let o = lab
        .labsh()
        .args(["--json", "run", f.to_str().unwrap()])
        .run();
    o.code(1);
    let ev = o
        .json_lines()
        .into_iter()
        .find(|l| l["event"] == "continue")
        .unwrap_or_else(|| panic!("no continue event: {}", o.stdout));
    assert_eq!(ev["stage"], "second", "{ev}");
    assert_eq!(ev["advice"], "mend the second", "{ev}");
    assert_eq!(ev["stopped"], false, "{ev}");
    let cmd = ev["command"].as_str().unwrap();
    assert!(
        cmd.starts_with("labsh run ") && cmd.ends_with("--json --from second"),
        "{cmd}"
    );
}
