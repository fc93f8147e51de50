//! The cloud binding against the devcloud: a real Keystone, Nova, Placement, Neutron, Glance,
//! Swift and Ironic from PyPI on 127.0.0.1 (tests/harness/devcloud.sh). What labsh creates is read back with
//! python-openstackclient, a client we did not write.

use crate::support::devcloud::{devcloud, osc, osc_command, osc_status, system_clouds};
use crate::support::{cache, root, run_ok, spawn_and_read_line, succeeded, Lab, Spawned};
use serde_json::Value;
use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A name unique to this test process (for what each run must create anew).
pub(crate) fn uniq(base: &str) -> String {
    format!("t-{base}-{}", std::process::id())
}

/// A name of this test's own, the same on every run, so a run on a devcloud kept from an earlier
/// one converges on what that run made.
pub(crate) fn fixed(base: &str) -> String {
    format!("t-{base}")
}

/// A floating IP address of the devcloud's external subnet, outside the pools Neutron hands
/// addresses out from (tests/harness/devcloud.sh); each test has its own.
pub(crate) fn fip(n: u32) -> String {
    format!("192.168.122.{n}")
}

/// Releases floating IPs an earlier run of the same test left at these addresses.
pub(crate) fn release_fips(clouds: &Path, addrs: &[&str]) {
    for f in osc(clouds, "devcloud", &["floating", "ip", "list"])
        .as_array()
        .unwrap()
    {
        if addrs.contains(&f["Floating IP Address"].as_str().unwrap_or_default()) {
            osc_ok(
                clouds,
                &["floating", "ip", "delete", f["ID"].as_str().unwrap()],
            );
        }
    }
}

/// The role assignments of `project`, by name.
pub(crate) fn role_assignments(clouds: &Path, project: &str) -> Value {
    osc(
        clouds,
        "devcloud",
        &[
            "role",
            "assignment",
            "list",
            "--project",
            project,
            "--names",
        ],
    )
}

pub(crate) fn labsh_cloud<'a>(lab: &'a Lab, clouds: &Path) -> crate::support::Labsh<'a> {
    lab.labsh()
        .env("OS_CLIENT_CONFIG_FILE", clouds.to_str().unwrap())
}

pub(crate) fn small_image(lab: &Lab) -> PathBuf {
    let p = lab.work().join("rhcos.qcow2");
    crate::support::qcow2(&p, "2M");
    p
}

#[test]
fn every_cloud_example_runs_against_the_devcloud() {
    let lab = Lab::new();
    // Both clouds of the devcloud: the baremetal examples use the system-scoped one.
    let clouds = system_clouds(&lab, &devcloud());
    let src = [
        "src/modules/cloud/mod.rs",
        "src/modules/cloud/identity.rs",
        "src/modules/cloud/compute.rs",
        "src/modules/cloud/network.rs",
        "src/modules/cloud/storage.rs",
        "src/modules/cloud/baremetal/mod.rs",
    ]
    .map(|f| std::fs::read_to_string(root().join(f)).unwrap())
    .join("\n");
    let mut examples = vec![];
    let mut cur: Option<String> = None;
    for line in src.lines() {
        let l = line.trim_start();
        match (&mut cur, l) {
            (None, "/// ```rhai") => cur = Some(String::new()),
            (Some(_), "/// ```") => examples.push(cur.take().unwrap()),
            (Some(c), _) => {
                c.push_str(
                    l.strip_prefix("///")
                        .unwrap_or(l)
                        .strip_prefix(' ')
                        .unwrap_or(""),
                );
                c.push('\n');
            }
            _ => {}
        }
    }
    assert!(examples.len() >= 55, "{} examples", examples.len());
    for (i, ex) in examples.iter().enumerate() {
        let f = lab.file(&format!("ex{i}.rhai"), ex);
        for plan in [true, false] {
            let mut args = vec!["run".to_string(), f.to_str().unwrap().to_string()];
            if plan {
                args.push("--plan".into());
            }
            let o = labsh_cloud(&lab, &clouds).args(args).run();
            assert_eq!(
                o.code, 0,
                "example {i} (plan: {plan}) failed:\n{ex}\n{}",
                o.stderr
            );
        }
    }
    // The nodes the bare metal examples enrolled are not left in the shared devcloud.
    for n in ["example-node1", "example-node2"] {
        osc_status(
            &clouds,
            "devcloud-system",
            &["baremetal", "node", "maintenance", "set", n],
        );
        osc_status(
            &clouds,
            "devcloud-system",
            &["baremetal", "node", "delete", n],
        );
        assert!(
            !osc_status(
                &clouds,
                "devcloud-system",
                &["baremetal", "node", "show", n]
            ),
            "{n} is still enrolled"
        );
    }
}

/// A proxy in front of Keystone that misbehaves: it resets connections before and after
/// forwarding (the second kind loses the answer of a request that did happen), answers 503
/// without forwarding, and delays. Every response closes its connection.
struct FaultProxy {
    port: u16,
    requests: Arc<AtomicUsize>,
    posts: Arc<AtomicUsize>,
}

impl FaultProxy {
    fn start(upstream: u16, faulty: bool) -> FaultProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let posts = Arc::new(AtomicUsize::new(0));
        let (r, p) = (requests.clone(), posts.clone());
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let (r, p) = (r.clone(), p.clone());
                std::thread::spawn(move || {
                    let _ = serve(s, upstream, faulty, &r, &p);
                });
            }
        });
        FaultProxy {
            port,
            requests,
            posts,
        }
    }
}

fn serve(
    s: TcpStream,
    upstream: u16,
    faulty: bool,
    n: &AtomicUsize,
    posts: &AtomicUsize,
) -> std::io::Result<()> {
    let mut r = BufReader::new(s.try_clone()?);
    let mut w = s;
    let Some((head, body)) = crate::support::read_request(&mut r) else {
        return Ok(());
    };
    let i = n.fetch_add(1, Ordering::SeqCst);
    if head.starts_with("POST") {
        posts.fetch_add(1, Ordering::SeqCst);
    }
    // One request in three meets a fault, in turn: a reset before forwarding, a 503, an answer
    // lost after the request happened, a slow answer.
    let fault = if faulty && i.is_multiple_of(3) {
        (i / 3) % 4
    } else {
        9
    };
    match fault {
        0 => return w.shutdown(std::net::Shutdown::Both),
        1 => {
            w.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        _ => {}
    }
    let head = head
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.write_all(head.trim_end().as_bytes())?;
    up.write_all(b"\r\nConnection: close\r\n\r\n")?;
    up.write_all(&body)?;
    let mut resp = vec![];
    up.read_to_end(&mut resp)?;
    if fault == 2 {
        // The request happened; its answer is lost.
        return w.shutdown(std::net::Shutdown::Both);
    }
    if fault == 3 {
        std::thread::sleep(Duration::from_millis(400));
    }
    w.write_all(&resp)
}

fn proxied_clouds(lab: &Lab, port: u16, password: &str) -> PathBuf {
    lab.file(
        "clouds.yaml",
        &format!(
            "clouds:\n  flaky:\n    auth:\n      auth_url: http://127.0.0.1:{port}/v3\n      username: admin\n      password: {password}\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: regionOne\n"
        ),
    )
}

fn admin_password(clouds: &Path) -> String {
    let t = std::fs::read_to_string(clouds).unwrap();
    t.lines()
        .find_map(|l| l.trim().strip_prefix("password: ").map(|s| s.to_string()))
        .unwrap()
}

#[test]
fn transient_faults_neither_break_a_run_nor_duplicate() {
    let clouds = devcloud();
    let lab = Lab::new();
    let proxy = FaultProxy::start(5000, true);
    let flaky = proxied_clouds(&lab, proxy.port, &admin_password(&clouds));
    let names: Vec<String> = (0..4).map(|i| uniq(&format!("flaky{i}"))).collect();
    let script = names
        .iter()
        .map(|n| format!("cloud::project_ensure(\"flaky\", #{{name: \"{n}\", description: \"labsh fault test\"}});\ncloud::role_grant(\"flaky\", #{{user: \"admin\", project: \"{n}\", role: \"admin\"}});\n"))
        .collect::<String>();
    let f = lab.file("flaky.rhai", &script);
    labsh_cloud(&lab, &flaky)
        .args(["-vv", "run", f.to_str().unwrap()])
        .run()
        .ok();
    assert!(proxy.requests.load(Ordering::SeqCst) > 12);
    for n in &names {
        let found = osc(&clouds, "devcloud", &["project", "list"])
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["Name"] == n.as_str())
            .count();
        assert_eq!(found, 1, "{n}");
        let roles = role_assignments(&clouds, n);
        assert_eq!(roles.as_array().unwrap().len(), 1, "{roles}");
    }
}

/// A cloud whose credentials are only planned: a plan takes it as offline, and reaches nothing.
const PLANNED: &str = "#{auth_url: \"http://127.0.0.1:9/v3\", planned: \"not made yet\"}";

#[test]
fn a_cloud_functions_bad_options_name_the_field_with_rhai_types_in_a_plan() {
    let lab = Lab::new();
    let plan = |call: &str| lab.run(["--plan", "-e", &call.replace("CLOUD", PLANNED)]);
    plan("cloud::network_ensure(CLOUD, #{name: \"n\", extrnal: true})").code(1).stderr_has(
        "cloud::network_ensure: unknown option 'extrnal' (did you mean 'external'?); known options: name, external, shared, type,",
    );
    plan("cloud::flavor_ensure(CLOUD, #{name: \"f\", ram: \"2G\", vcpus: 1})")
        .code(1)
        .stderr_has("cloud::flavor_ensure: option 'ram' expected int, found string \"2G\"");
    plan("cloud::flavor_ensure(CLOUD, #{name: \"f\", ram: 0, vcpus: 1})")
        .code(1)
        .stderr_has("cloud::flavor_ensure: 'ram' = 0 MiB is out of range (1..=2147483647 MiB)");
    plan("cloud::subnet_ensure(CLOUD, #{name: \"s\", network: \"n\", cidr: \"10.0.0.0/24\", dns: \"1.1.1.1\"})").code(1)
        .stderr_has("cloud::subnet_ensure: option 'dns' expected array of string, found string \"1.1.1.1\"");
    plan("cloud::servers(CLOUD, #{all_projects: \"yes\"})")
        .code(1)
        .stderr_has("cloud::servers: option 'all_projects' expected bool, found string \"yes\"");
    plan("cloud::role_grant(CLOUD, #{user: \"u\", project: \"p\"})")
        .code(1)
        .stderr_has("cloud::role_grant: 'role' is required (string)");
    // A password given as plain text is refused, and not shown.
    let out = plan("cloud::user_ensure(CLOUD, #{name: \"u\", password: \"plain-pw-123\"})");
    out.code(1)
        .stderr_has("cloud::user_ensure: option 'password' expected secret, found string")
        .stderr_has("hint: give it as secret(\"NAME\") (#{password: secret(\"password\")})");
    // (The source line shown under it is the script's own text.)
    let told: Vec<_> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") || l.starts_with("hint:"))
        .collect();
    assert!(
        told.len() == 2 && told.iter().all(|l| !l.contains("plain-pw-123")),
        "{}",
        out.stderr
    );
    // A cloud given as a map: its keys are checked before anything is reached, planned or not.
    plan("cloud::connect(#{auth_url: \"http://127.0.0.1:9/v3\", usrname: \"admin\"})")
        .code(1)
        .stderr_has("cloud::connect: unknown option 'usrname' (did you mean 'username'?)");
    plan("cloud::connect(#{auth_url: \"http://127.0.0.1:9/v3\", planned: \"x\", clouds_yaml: 3})")
        .code(1)
        .stderr_has("cloud::connect: option 'clouds_yaml' expected string, found int 3");
}

#[test]
fn bad_input_is_refused_clearly_with_nothing_half_done() {
    let clouds = devcloud();
    let lab = Lab::new();
    let run = |script: &str, cl: &Path| {
        let f = lab.file("bad.rhai", script);
        labsh_cloud(&lab, cl)
            .args(["run", f.to_str().unwrap()])
            .run()
    };
    // An unknown cloud lists the known ones.
    run("cloud::connect(\"devclod\");", &clouds)
        .code(1)
        .stderr_has("unknown cloud 'devclod'")
        .stderr_has("did you mean 'devcloud'")
        .stderr_has("known clouds: devcloud");
    // A malformed clouds.yaml: file and line.
    let broken = lab.file(
        "broken/clouds.yaml",
        "clouds:\n  x:\n    auth: [\n      a: 1\n",
    );
    run("cloud::connect(\"x\");", &broken)
        .code(1)
        .stderr_has("broken/clouds.yaml")
        .stderr_has("line");
    // A wrong password: 401 with a hint, one attempt only (no retry storm).
    let proxy = FaultProxy::start(5000, false);
    let wrong = proxied_clouds(&lab, proxy.port, "not-the-password");
    run("cloud::connect(\"flaky\");", &wrong)
        .code(1)
        .stderr_has("401 Unauthorized")
        .stderr_has("check the password");
    assert_eq!(proxy.posts.load(Ordering::SeqCst), 1);
    // A service missing from the catalog (no such region).
    let noregion = lab.file(
        "noregion/clouds.yaml",
        &std::fs::read_to_string(&clouds)
            .unwrap()
            .replace("regionOne", "regionTwo"),
    );
    run("cloud::flavors(\"devcloud\");", &noregion)
        .code(1)
        .stderr_has("no compute service in the catalog")
        .stderr_has("region regionTwo");
    // A quota below current usage, refused before anything changes.
    let p = fixed("quota");
    let a = fip(190);
    let b = fip(191);
    run(
        &format!(
            "cloud::project_ensure(\"devcloud\", #{{name: \"{p}\"}});\n\
             cloud::floating_ip_ensure(\"devcloud\", #{{network: \"external\", address: \"{a}\", project: \"{p}\"}});\n\
             cloud::floating_ip_ensure(\"devcloud\", #{{network: \"external\", address: \"{b}\", project: \"{p}\"}});"
        ),
        &clouds,
    )
    .ok();
    run(
        &format!("cloud::network_quota_set(\"devcloud\", \"{p}\", #{{floatingip: 1, security_group: 33}});"),
        &clouds,
    )
    .code(1)
    .stderr_has("is below what is in use (2)");
    let nq = osc(&clouds, "devcloud", &["quota", "show", "--network", &p]);
    assert_ne!(
        nq.as_array()
            .unwrap()
            .iter()
            .find(|r| r["Resource"] == "security_groups")
            .unwrap()["Limit"],
        33,
        "nothing changed"
    );
    // A floating IP outside the external subnet.
    run(
        "cloud::floating_ip_ensure(\"devcloud\", #{network: \"external\", address: \"10.9.9.9\"});",
        &clouds,
    )
    .code(1)
    .stderr_has("10.9.9.9 is outside the subnets of network 'external' (192.168.122.0/24)");
    // An image file that does not exist: no image record left behind.
    let name = uniq("noimage");
    run(
        &format!("cloud::image_ensure(\"devcloud\", #{{name: \"{name}\", file: \"/nonexistent/x.qcow2\"}});"),
        &clouds,
    )
    .code(1)
    .stderr_has("file /nonexistent/x.qcow2 does not exist");
    let imgs = osc(&clouds, "devcloud", &["image", "list"]);
    assert!(!imgs
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["Name"] == name.as_str()));
}

#[test]
fn an_openrc_file_is_read_like_overcloudrc() {
    let clouds = devcloud();
    let lab = Lab::new();
    let rc = lab.file(
        "overcloudrc",
        &format!(
            "# Clear any old environment that may conflict.\nfor key in $( set | awk '{{FS=\"=\"}}  /^OS_/ {{print $1}}' ); do unset $key ; done\nexport OS_NO_CACHE=True\nexport COMPUTE_API_VERSION=1.1\nexport OS_USERNAME=admin\nexport no_proxy=,127.0.0.1\nexport OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\nexport OS_PROJECT_NAME=admin\nexport OS_PASSWORD={}\nexport OS_AUTH_URL=http://127.0.0.1:5000\nexport OS_AUTH_TYPE=password\nexport OS_REGION_NAME=regionOne\nexport PYTHONWARNINGS='ignore:Certificate has no, ignore:A true SSLContext object is not available'\n",
            admin_password(&clouds)
        ),
    );
    let f = lab.file(
        "rc.rhai",
        &format!(
            "let c = cloud::connect(#{{openrc: \"{}\"}});\nassert(c.project == \"admin\");\nassert(cloud::network_show(c, \"external\").name == \"external\");",
            rc.display()
        ),
    );
    lab.run_file(&f).ok();
}

#[test]
fn servers_are_read_as_nova_lists_them() {
    let clouds = devcloud();
    let lab = Lab::new();
    let n = uniq("srv");
    let img = small_image(&lab);
    // Made with python-openstackclient; the devcloud's Nova has no compute node, so a server
    // stays in BUILD, listed with its flavor and image.
    let o = |args: &[&str]| osc(&clouds, "devcloud", args);
    o(&[
        "image",
        "create",
        "--file",
        img.to_str().unwrap(),
        "--disk-format",
        "qcow2",
        "--container-format",
        "bare",
        &n,
    ]);
    o(&["network", "create", &n]);
    o(&[
        "subnet",
        "create",
        "--network",
        &n,
        "--subnet-range",
        "10.98.0.0/24",
        &n,
    ]);
    o(&[
        "flavor", "create", "--ram", "64", "--vcpus", "1", "--disk", "1", &n,
    ]);
    let made = o(&[
        "server",
        "create",
        "--image",
        &n,
        "--flavor",
        &n,
        "--network",
        &n,
        &n,
    ]);
    let f = lab.file(
        "servers.rhai",
        &format!(
            r#"
let all = cloud::servers("devcloud", #{{all_projects: true}});
let mine = all.filter(|s| s.name == "{n}");
assert_eq(mine.len(), 1);
assert_eq(mine[0].id, "{id}");
let s = cloud::server_show("devcloud", "{n}");
assert_eq(s.status, "BUILD");
assert_eq(s.flavor.original_name, "{n}");
assert_eq(cloud::servers("devcloud", #{{name: "{n}"}}).len(), 1);
"#,
            id = made["id"].as_str().unwrap()
        ),
    );
    labsh_cloud(&lab, &clouds)
        .args(["run", f.to_str().unwrap()])
        .run()
        .ok();
    for args in [
        vec!["server", "delete", "--wait", n.as_str()],
        vec!["flavor", "delete", n.as_str()],
        vec!["network", "delete", n.as_str()],
        vec!["image", "delete", n.as_str()],
    ] {
        osc_ok(&clouds, &args);
    }
}

/// A TLS front for Keystone on 127.0.0.1 with a certificate from a CA of the test's own.
pub(crate) struct TlsFront {
    _server: Spawned,
    pub(crate) port: u16,
    pub(crate) ca: PathBuf,
}

impl TlsFront {
    pub(crate) fn start(lab: &Lab) -> TlsFront {
        let d = lab.work().join("tls");
        std::fs::create_dir_all(&d).unwrap();
        let sh = format!(
            "set -e; cd {d}; openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=labsh-test-ca -keyout ca.key -out ca.pem 2>/dev/null\n\
             openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr 2>/dev/null\n\
             printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf\n\
             openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out srv.pem 2>/dev/null",
            d = d.display()
        );
        assert!(Command::new("sh")
            .args(["-c", &sh])
            .status()
            .unwrap()
            .success());
        let (child, line) = spawn_and_read_line(
            Command::new("python3")
                .arg(root().join("tests/harness/tlsfront.py"))
                .arg(&d)
                .arg("5000"),
        );
        TlsFront {
            _server: Spawned(child),
            port: line.trim().parse().unwrap(),
            ca: d.join("ca.pem"),
        }
    }
}

#[test]
fn tls_is_verified_against_a_given_ca_and_application_credentials_authenticate() {
    let clouds = devcloud();
    let lab = Lab::new();
    let front = TlsFront::start(&lab);
    let pw = admin_password(&clouds);
    let entry = |name: &str, extra: &str| {
        format!(
            "  {name}:\n    auth:\n      auth_url: https://127.0.0.1:{}/v3\n      username: admin\n      password: {pw}\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: regionOne\n{extra}",
            front.port
        )
    };
    let ac_name = uniq("ac");
    let ac = osc(
        &clouds,
        "devcloud",
        &[
            "application",
            "credential",
            "create",
            &ac_name,
            "--secret",
            "labsh-ac-secret-value-1234",
        ],
    );
    let file = lab.file(
        "tls/clouds.yaml",
        &format!(
            "clouds:\n{}{}{}  appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      application_credential_id: {}\n      application_credential_secret: labsh-ac-secret-value-1234\n    region_name: regionOne\n",
            entry("verified", &format!("    cacert: {}\n", front.ca.display())),
            entry("unverified", ""),
            entry("insecure", "    verify: false\n"),
            ac["ID"].as_str().unwrap()
        ),
    );
    let run = |cloud: &str| {
        let f = lab.file("tls.rhai", &format!("let c = cloud::connect(\"{cloud}\");\nprint(cloud::whoami(c).roles);\nprint(cloud::network_show(c, \"external\").name);"));
        labsh_cloud(&lab, &file)
            .args(["run", f.to_str().unwrap()])
            .run()
    };
    run("verified")
        .ok()
        .stdout_has("admin")
        .stdout_has("external");
    run("unverified")
        .code(1)
        .stderr_has("cannot reach Keystone at https://127.0.0.1");
    run("insecure").ok().stdout_has("external");
    run("appcred").ok().stdout_has("external");
    let _ = osc_command(
        &clouds,
        "devcloud",
        &["application", "credential", "delete", &ac_name],
    )
    .status();
}

/// Keystone and Glance driven directly (urllib on the devcloud's venv python), to set up what a
/// test needs quickly: a token for `user`, then each line of `calls` as "METHOD PATH [JSON]"
/// against Glance or Keystone (paths starting with /v3 go to Keystone).
fn raw_calls(clouds: &Path, calls: &[String]) -> String {
    let py = cache("venv-devcloud/bin/python");
    let script = r#"
import json, sys, urllib.request
pw = sys.argv[1]
def call(m, url, body=None, tok=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=m)
    req.add_header("Content-Type", "application/json")
    if tok: req.add_header("X-Auth-Token", tok)
    with urllib.request.urlopen(req) as r:
        return r.headers, (r.read() or b"{}")
h, _ = call("POST", "http://127.0.0.1:5000/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": pw}}}, "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
tok = h["X-Subject-Token"]
out = []
for line in sys.stdin.read().splitlines():
    parts = line.split(" ", 2)
    base = "http://127.0.0.1:5000" if parts[1].startswith("/v3") else "http://127.0.0.1:9292"
    _, body = call(parts[0], base + parts[1], json.loads(parts[2]) if len(parts) > 2 else None, tok)
    out.append(body.decode())
print("\n".join(out))
"#;
    let mut child = Command::new(py)
        .args(["-c", script, &admin_password(clouds)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(calls.join("\n").as_bytes())
        .unwrap();
    let out = succeeded(
        child.wait_with_output().unwrap(),
        "the Keystone and Glance calls",
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn lists_follow_next_links_and_a_revoked_token_is_replaced() {
    let clouds = devcloud();
    let lab = Lab::new();
    // Glance pages image lists by 25 and links the next page from its root: 30 images need two.
    let prefix = uniq("page");
    let made = raw_calls(
        &clouds,
        &(0..30)
            .map(|i| format!("POST /v2/images {{\"name\": \"{prefix}-{i:02}\", \"disk_format\": \"qcow2\", \"container_format\": \"bare\"}}"))
            .collect::<Vec<_>>(),
    );
    let ids: Vec<String> = made
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 30);
    // A user of its own whose password change revokes the token labsh holds mid-run.
    let user = uniq("reauth");
    let f = lab.file(
        "pages.rhai",
        &format!(
            r#"
let mine = cloud::images("devcloud").filter(|i| i.name.starts_with("{prefix}-"));
assert_eq(mine.len(), 30);
let pw = secret("reauth-pw", #{{generate: true}});
cloud::project_ensure("devcloud", #{{name: "{user}"}});
cloud::user_ensure("devcloud", #{{name: "{user}", password: pw, project: "{user}"}});
cloud::role_grant("devcloud", #{{user: "{user}", project: "{user}", role: "admin"}});
let c = cloud::connect(#{{cloud: "reauth", auth_url: "http://127.0.0.1:5000/v3", username: "{user}", password: pw,
                         project_name: "{user}", user_domain_name: "Default", project_domain_name: "Default", region_name: "regionOne"}});
assert(cloud::network_show(c, "external") != ());
// The same password set again: Keystone revokes the user's tokens; the next call gets a 401,
// and labsh authenticates again once and goes on.
let uid = cloud::user_show("devcloud", "{user}").id;
run(["{py}", "-c", "{revoke}", "{clouds}", uid], #{{stdin: pw}});
assert(cloud::network_show(c, "external") != ());
"#,
            py = cache("venv-devcloud/bin/python").display(),
            clouds = clouds.display(),
            revoke = "import json,sys,yaml,urllib.request as u; a=yaml.safe_load(open(sys.argv[1]))['clouds']['devcloud']['auth']; pw=sys.stdin.read(); rq=u.Request('http://127.0.0.1:5000/v3/auth/tokens', data=json.dumps({'auth':{'identity':{'methods':['password'],'password':{'user':{'name':'admin','domain':{'id':'default'},'password':a['password']}}},'scope':{'project':{'name':'admin','domain':{'id':'default'}}}}}).encode(), method='POST'); rq.add_header('Content-Type','application/json'); t=u.urlopen(rq).headers['X-Subject-Token']; rq=u.Request('http://127.0.0.1:5000/v3/users/'+sys.argv[2], data=json.dumps({'user':{'password':pw}}).encode(), method='PATCH'); rq.add_header('Content-Type','application/json'); rq.add_header('X-Auth-Token',t); u.urlopen(rq)"
        ),
    );
    let o = labsh_cloud(&lab, &clouds)
        .args(["-vv", "run", f.to_str().unwrap()])
        .run();
    o.ok();
    assert!(
        o.stderr.contains("images?limit=25&marker=") || o.stderr.contains("marker="),
        "a second page was fetched"
    );
    let del: Vec<String> = ids
        .iter()
        .map(|id| format!("DELETE /v2/images/{id}"))
        .collect();
    raw_calls(&clouds, &del);
}

#[test]
fn names_are_looked_up_once_and_forgotten_when_deleted() {
    let clouds = devcloud();
    let lab = Lab::new();
    let project = uniq("ids-project");
    let user = uniq("ids-user");
    let f = lab.file(
        "ids.rhai",
        &format!(
            r#"
let c = "devcloud";
let pw = secret("ids-pw", #{{generate: true}});
cloud::project_ensure(c, #{{name: "{project}"}});
cloud::user_ensure(c, #{{name: "{user}", password: pw}});
for role in ["member", "admin", "reader"] {{
    cloud::role_grant(c, #{{user: "{user}", project: "{project}", role: role}});
}}
// Deleted and made again in the same run: the grant goes to the new project.
cloud::project_delete(c, "{project}");
cloud::project_ensure(c, #{{name: "{project}"}});
cloud::role_grant(c, #{{user: "{user}", project: "{project}", role: "member"}});
"#
        ),
    );
    let o = labsh_cloud(&lab, &clouds)
        .args(["run", f.to_str().unwrap()])
        .env("LABSH_LOG", "labsh::cloud=debug")
        .run();
    o.ok();
    let lookups = |what: &str| {
        o.stderr
            .lines()
            .filter(|l| l.contains("method=GET") && l.contains(what))
            .count()
    };
    // The project by name: looked up by the first ensure (the grants reuse the id it kept), by
    // the delete, and by the second ensure (the grant after the delete reuses the new id).
    assert_eq!(
        lookups(&format!("/projects?name={project}&")),
        3,
        "{}",
        o.stderr
    );
    assert_eq!(lookups(&format!("/users?name={user}&")), 1, "{}", o.stderr);
    // The roles: one list of them all, for the four grants.
    assert_eq!(lookups("/v3/roles\""), 1, "{}", o.stderr);
    assert_eq!(lookups("/roles?name="), 0, "{}", o.stderr);
    let roles = role_assignments(&clouds, &project);
    assert_eq!(roles.as_array().unwrap().len(), 1, "{roles}");
    labsh_cloud(&lab, &clouds)
        .args([
            "-e",
            &format!(
                "cloud::user_delete(\"devcloud\", \"{user}\"); cloud::project_delete(\"devcloud\", \"{project}\");"
            ),
        ])
        .run()
        .ok();
}

#[track_caller]
pub(crate) fn osc_ok(clouds: &Path, args: &[&str]) {
    run_ok(
        &mut osc_command(clouds, "devcloud", args),
        format!("openstack {args:?}"),
    );
}
