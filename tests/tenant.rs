//! The OpenShift tenant on the devcloud: scripts/create_ocp_tenant.rhai converging, interrupted
//! and run again, read back with python-openstackclient; the tenants for OpenShift 4.18 and for
//! the newest release (4.22) and the installer's own checks against the cloud. (The lab's tenant
//! stage runs in devlab.rs.)

use crate::cloud::{fip, labsh_cloud, osc_ok, release_fips, role_assignments, small_image, uniq};
use crate::support::devcloud::{devcloud, osc};
use crate::support::{root, Lab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The object store account of the tenant whose clouds.yaml (cloud `openstack`) labsh wrote.
fn tenant_account(tenant_clouds: &Path) -> Value {
    osc(
        tenant_clouds,
        "openstack",
        &["object", "store", "account", "show"],
    )
}

struct Tenant {
    project: String,
    user: String,
    flavor: String,
    image: String,
    api: String,
    ingress: String,
}

impl Tenant {
    fn new(tag: &str, first_fip: u32) -> Tenant {
        Tenant {
            project: uniq(&format!("{tag}-tenant")),
            user: uniq(&format!("{tag}-user")),
            flavor: uniq(&format!("{tag}-master")),
            image: uniq(&format!("{tag}-rhcos")),
            api: fip(first_fip),
            ingress: fip(first_fip + 1),
        }
    }

    /// The tenant `tag` (see [`Tenant::new`]) with its floating IPs freed of what an earlier
    /// run left there, and the small image its runs upload.
    fn prepared(clouds: &Path, lab: &Lab, tag: &str, first_fip: u32) -> (Tenant, PathBuf) {
        let t = Tenant::new(tag, first_fip);
        release_fips(clouds, &[&t.api, &t.ingress]);
        (t, small_image(lab))
    }

    /// The scripts' parameters that name this tenant's things.
    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("project", self.project.clone()),
            ("user", self.user.clone()),
            ("flavor", self.flavor.clone()),
            ("api_fip", self.api.clone()),
            ("ingress_fip", self.ingress.clone()),
            ("image_name", self.image.clone()),
        ]
    }

    fn args(&self, lab: &Lab, image: &Path) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            root()
                .join("scripts/create_ocp_tenant.rhai")
                .to_str()
                .unwrap(),
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut params = vec![
            ("cloud", "devcloud".to_string()),
            ("image", image.display().to_string()),
            ("out", lab.work().join("out").display().to_string()),
        ];
        params.extend(self.params());
        for (k, v) in params {
            args.extend(["--set".to_string(), format!("{k}={v}")]);
        }
        args
    }
}

#[test]
fn tenant_script_converges_and_openstackclient_reads_it_back() {
    let clouds = devcloud();
    let lab = Lab::new();
    let (t, img) = Tenant::prepared(&clouds, &lab, "seed", 160);
    let first = labsh_cloud(&lab, &clouds)
        .env("LABSH_LOG", "labsh::cloud=debug")
        .args(t.args(&lab, &img))
        .run();
    first.ok();
    let recap = first.json_lines().pop().unwrap();
    assert!(
        recap["totals"]["changed"].as_u64().unwrap() >= 12,
        "{recap}"
    );
    // Each request, as the client logs it: a lookup is made once, what an earlier step returned
    // (a project or user it made, the roles' ids, the external network) is not asked again.
    let requests: Vec<&str> = first
        .stderr
        .lines()
        .filter(|l| l.contains(" request ") && l.contains("url="))
        .filter_map(|l| l.split("method=").nth(1))
        .collect();
    for lookup in [
        format!("/projects?name={}", t.project),
        format!("/users?name={}", t.user),
        "/roles".to_string(),
        "/networks?name=external".to_string(),
        "/quotas/".to_string(),
        "/os-quota-sets/".to_string(),
    ] {
        let n = requests
            .iter()
            .filter(|r| r.starts_with("GET ") && r.contains(&lookup))
            .count();
        assert!(n <= 1, "{lookup} read {n} times: {requests:#?}");
    }
    assert!(
        requests.len() <= 36,
        "{} requests: {requests:#?}",
        requests.len()
    );
    // A second run changes nothing.
    let second = labsh_cloud(&lab, &clouds).args(t.args(&lab, &img)).run();
    second.ok();
    let recap = second.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");

    // Read back with python-openstackclient.
    let roles = role_assignments(&clouds, &t.project);
    let got: Vec<(String, String)> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["User"].as_str().unwrap().to_string(),
                r["Role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for role in ["member", "admin", "swiftoperator"] {
        assert!(
            got.contains(&(format!("{}@Default", t.user), role.into())),
            "{got:?}"
        );
    }
    assert!(
        got.contains(&("admin@Default".into(), "admin".into())),
        "{got:?}"
    );
    let q = osc(
        &clouds,
        "devcloud",
        &["quota", "show", "--compute", &t.project],
    );
    let limit = |q: &Value, name: &str| {
        q.as_array()
            .unwrap()
            .iter()
            .find(|r| r["Resource"] == name)
            .map(|r| r["Limit"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(limit(&q, "cores"), 40);
    assert_eq!(limit(&q, "ram"), 102400);
    let nq = osc(
        &clouds,
        "devcloud",
        &["quota", "show", "--network", &t.project],
    );
    assert_eq!(limit(&nq, "security_groups"), 40, "{nq}");
    assert_eq!(limit(&nq, "security_group_rules"), 500, "{nq}");
    let f = osc(&clouds, "devcloud", &["flavor", "show", &t.flavor]);
    assert_eq!(
        (f["ram"].clone(), f["vcpus"].clone(), f["disk"].clone()),
        (16384.into(), 4.into(), 25.into())
    );
    for a in [&t.api, &t.ingress] {
        let fl = osc(&clouds, "devcloud", &["floating", "ip", "show", a]);
        assert_eq!(fl["floating_ip_address"], a.as_str());
        let pid = osc(&clouds, "devcloud", &["project", "show", &t.project])["id"].clone();
        assert_eq!(fl["project_id"], pid);
    }
    let i = osc(&clouds, "devcloud", &["image", "show", &t.image]);
    assert_eq!(i["status"], "active");
    // The tenant's clouds.yaml that labsh wrote works for the tenant user, and the account has
    // its Temp-URL-Key.
    let tenant_clouds = lab.work().join("out/clouds.yaml");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&tenant_clouds).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let acc = tenant_account(&tenant_clouds);
    assert!(
        acc["properties"]
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.eq_ignore_ascii_case("temp-url-key")),
        "{acc}"
    );
}

/// A tenant that asks for Octavia (ocp.octavia, `--set octavia=yes`): the user has Octavia's
/// load-balancer_member role in the project, read back with python-openstackclient, the role
/// made where Keystone had none; a second run changes nothing; without it there is no such
/// assignment. The devcloud has no Octavia: the role is Keystone's and real, the load balancers
/// themselves are the overcloud's.
#[test]
fn a_tenant_with_octavia_has_octavias_member_role() {
    let clouds = devcloud();
    let lab = Lab::new();
    let (t, img) = Tenant::prepared(&clouds, &lab, "octavia", 182);
    let mut args = t.args(&lab, &img);
    let plain = labsh_cloud(&lab, &clouds).args(&args).run();
    plain.ok();
    let has = |who: &str| {
        role_assignments(&clouds, &t.project)
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["User"] == format!("{who}@Default") && r["Role"] == "load-balancer_member")
    };
    assert!(!has(&t.user), "not asked for: no Octavia role");
    args.extend(["--set".to_string(), "octavia=yes".to_string()]);
    let first = labsh_cloud(&lab, &clouds).args(&args).run();
    first.ok();
    assert!(has(&t.user), "{}", role_assignments(&clouds, &t.project));
    let role = osc(
        &clouds,
        "devcloud",
        &["role", "show", "load-balancer_member"],
    );
    assert_eq!(role["name"], "load-balancer_member", "{role}");
    let second = labsh_cloud(&lab, &clouds).args(&args).run();
    second.ok();
    assert_eq!(
        second.json_lines().pop().unwrap()["totals"]["changed"],
        0,
        "a second run changes nothing"
    );
}

#[test]
fn interrupted_tenant_runs_converge_with_nothing_twice() {
    let clouds = devcloud();
    let lab = Lab::new();
    let (t, img) = Tenant::prepared(&clouds, &lab, "kill", 170);
    for ms in [60u64, 150, 250, 400] {
        let mut child = labsh_cloud(&lab, &clouds)
            .args(t.args(&lab, &img))
            .command()
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    labsh_cloud(&lab, &clouds)
        .args(t.args(&lab, &img))
        .run()
        .ok();
    let again = labsh_cloud(&lab, &clouds).args(t.args(&lab, &img)).run();
    again.ok();
    assert_eq!(again.json_lines().pop().unwrap()["totals"]["changed"], 0);
    let count = |args: &[&str], key: &str, want: &str| {
        osc(&clouds, "devcloud", args)
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x[key] == want)
            .count()
    };
    assert_eq!(count(&["project", "list"], "Name", &t.project), 1);
    assert_eq!(count(&["user", "list"], "Name", &t.user), 1);
    assert_eq!(count(&["flavor", "list", "--all"], "Name", &t.flavor), 1);
    assert_eq!(
        count(&["floating", "ip", "list"], "Floating IP Address", &t.api),
        1
    );
    assert_eq!(
        count(
            &["floating", "ip", "list"],
            "Floating IP Address",
            &t.ingress
        ),
        1
    );
    assert_eq!(count(&["image", "list"], "Name", &t.image), 1);
}

/// The rows the installer's checks print for tenant `t` (tests/data/ocp/installer-checks.rhai),
/// with the run's totals: a check changes nothing.
fn installer_checks(lab: &Lab, clouds: &Path, t: &Tenant, extra: &[(&str, &str)]) -> Vec<Value> {
    let script = root().join("tests/data/ocp/installer-checks.rhai");
    let mut args: Vec<String> = vec!["run".into(), script.display().to_string(), "--json".into()];
    let mut set = t.params();
    for (k, v) in extra {
        set.retain(|(a, _)| a != k);
        set.push((k, v.to_string()));
    }
    for (k, v) in set {
        args.push("--set".into());
        args.push(format!("{k}={v}"));
    }
    let out = labsh_cloud(lab, clouds).args(args).run();
    out.ok();
    let lines = out.json_lines();
    let recap = lines.last().unwrap();
    assert_eq!(
        recap["totals"]["changed"], 0,
        "a check changed something: {recap}"
    );
    let text = lines
        .iter()
        .find(|l| l["event"] == "print")
        .and_then(|l| l["text"].as_str())
        .unwrap()
        .to_string();
    serde_json::from_str::<Value>(&text).unwrap()["rows"]
        .as_array()
        .unwrap()
        .clone()
}

fn row<'a>(rows: &'a [Value], check: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["check"].as_str().unwrap().ends_with(check))
        .unwrap_or_else(|| panic!("no {check} row in {rows:?}"))
}

/// The row of `check`, which must have failed, and its detail.
#[track_caller]
fn failed<'a>(rows: &'a [Value], check: &str) -> (&'a Value, &'a str) {
    let r = row(rows, check);
    assert_eq!(r["status"], "fail", "{rows:?}");
    (r, r["detail"].as_str().unwrap())
}

/// The devcloud, a lab, and the tenant `tag` (see [`Tenant::prepared`]) that
/// create_ocp_tenant.rhai made for OpenShift `version`; the last is the tenant's image file.
fn tenant_for(version: &str, tag: &str, first_fip: u32) -> (PathBuf, Lab, Tenant, PathBuf) {
    let clouds = devcloud();
    let lab = Lab::new();
    let (t, img) = Tenant::prepared(&clouds, &lab, tag, first_fip);
    let mut args = t.args(&lab, &img);
    args.extend(["--set".to_string(), format!("ocp_version={version}")]);
    labsh_cloud(&lab, &clouds).args(&args).run().ok();
    (clouds, lab, t, img)
}

/// The tenant for OpenShift 4.18 (see [`tenant_for`]).
fn tenant_for_4_18(tag: &str, first_fip: u32) -> (PathBuf, Lab, Tenant, PathBuf) {
    tenant_for("4.18", tag, first_fip)
}

#[test]
fn the_tenant_for_4_18_has_no_temp_url_key_and_both_floating_ips_down() {
    let (clouds, lab, t, _) = tenant_for_4_18("v418", 174);
    let roles = role_assignments(&clouds, &t.project);
    let names: Vec<String> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Role"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"swiftoperator".to_string()), "{names:?}");
    let pid = osc(&clouds, "devcloud", &["project", "show", &t.project])["id"].clone();
    for a in [&t.api, &t.ingress] {
        let fl = osc(&clouds, "devcloud", &["floating", "ip", "show", a]);
        assert_eq!(fl["status"], "DOWN", "{fl}");
        assert_eq!(fl["project_id"], pid);
        assert!(fl["port_id"].is_null(), "{fl}");
    }
    let tenant_clouds = lab.work().join("out/clouds.yaml");
    let acc = tenant_account(&tenant_clouds);
    let props = acc["properties"].as_object().cloned().unwrap_or_default();
    assert!(
        !props.keys().any(|k| k.eq_ignore_ascii_case("temp-url-key")),
        "4.18 needs no Temp-URL-Key: {acc}"
    );
    // The image is the tenant's own: the tenant user sees it.
    let imgs = osc(&tenant_clouds, "openstack", &["image", "list"]);
    assert!(
        imgs.as_array()
            .unwrap()
            .iter()
            .any(|i| i["Name"] == t.image.as_str()),
        "{imgs}"
    );
}

#[test]
fn the_installers_checks_fail_on_the_broken_thing_and_pass_when_it_is_fixed() {
    let (clouds, lab, t, img) = tenant_for_4_18("chk", 176);
    let fails = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .filter(|r| r["status"] == "fail")
            .map(|r| r["detail"].as_str().unwrap().to_string())
            .collect()
    };
    let rows = installer_checks(&lab, &clouds, &t, &[]);
    assert!(fails(&rows).is_empty(), "{rows:?}");
    // The tenant's 25 GB flavor: 4.18's installer warns under 100 GB.
    assert_eq!(row(&rows, "flavor")["status"], "warn", "{rows:?}");

    // A flavor below 4.18's minimums.
    let small = uniq("chk-small");
    osc_ok(
        &clouds,
        &[
            "flavor", "create", "--ram", "2048", "--vcpus", "1", "--disk", "10", &small,
        ],
    );
    let rows = installer_checks(&lab, &clouds, &t, &[("flavor", &small)]);
    let (f, detail) = failed(&rows, "flavor");
    for want in [
        "tenant.flavor.vcpus: 1",
        "tenant.flavor.ram_mib: 2048",
        "tenant.flavor.disk_gb: 10",
    ] {
        assert!(detail.contains(want), "{want}: {f}");
    }
    osc_ok(&clouds, &["flavor", "delete", &small]);
    assert_eq!(
        row(&installer_checks(&lab, &clouds, &t, &[]), "flavor")["status"],
        "warn"
    );

    // The API floating IP attached to a port.
    let net = uniq("chk-net");
    let router = uniq("chk-router");
    let port = uniq("chk-port");
    osc_ok(
        &clouds,
        &["network", "create", "--project", &t.project, &net],
    );
    osc_ok(
        &clouds,
        &[
            "subnet",
            "create",
            "--project",
            &t.project,
            "--network",
            &net,
            "--subnet-range",
            "10.77.0.0/24",
            &net,
        ],
    );
    osc_ok(
        &clouds,
        &["router", "create", "--project", &t.project, &router],
    );
    osc_ok(
        &clouds,
        &["router", "set", "--external-gateway", "external", &router],
    );
    osc_ok(&clouds, &["router", "add", "subnet", &router, &net]);
    osc_ok(
        &clouds,
        &[
            "port",
            "create",
            "--project",
            &t.project,
            "--network",
            &net,
            &port,
        ],
    );
    osc_ok(&clouds, &["floating", "ip", "set", "--port", &port, &t.api]);
    let rows = installer_checks(&lab, &clouds, &t, &[]);
    let (a, detail) = failed(&rows, "API floating IP");
    assert!(
        detail.starts_with(&format!("tenant.api_fip: {} is attached to port", t.api)),
        "{a}"
    );
    osc_ok(&clouds, &["floating", "ip", "unset", "--port", &t.api]);
    assert_eq!(
        row(&installer_checks(&lab, &clouds, &t, &[]), "API floating IP")["status"],
        "pass"
    );

    // An image owned by another project and not shared.
    let other = uniq("chk-other");
    let foreign = uniq("chk-foreign");
    osc_ok(&clouds, &["project", "create", &other]);
    osc_ok(
        &clouds,
        &[
            "image",
            "create",
            "--private",
            "--project",
            &other,
            "--disk-format",
            "qcow2",
            "--file",
            img.to_str().unwrap(),
            &foreign,
        ],
    );
    let rows = installer_checks(&lab, &clouds, &t, &[("image_name", &foreign)]);
    let (i, detail) = failed(&rows, "image");
    assert!(detail.contains("cannot see it"), "{i}");
    osc_ok(&clouds, &["image", "set", "--public", &foreign]);
    let rows = installer_checks(&lab, &clouds, &t, &[("image_name", &foreign)]);
    assert_eq!(row(&rows, "image")["status"], "pass", "{rows:?}");
    osc_ok(&clouds, &["image", "delete", &foreign]);
    osc_ok(&clouds, &["project", "delete", &other]);

    // The port quota one short of what 4.18's installer counts: 4 + 3 masters + 2 workers.
    let q = osc(
        &clouds,
        "devcloud",
        &["quota", "show", "--network", "--usage", &t.project],
    );
    let in_use = q
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Resource"] == "ports")
        .map(|r| r["In Use"].as_i64().unwrap_or(0))
        .unwrap_or(0);
    let short = (in_use + 9 - 1).to_string();
    osc_ok(&clouds, &["quota", "set", "--ports", &short, &t.project]);
    let rows = installer_checks(&lab, &clouds, &t, &[]);
    let (qr, detail) = failed(&rows, "quota");
    assert!(detail.contains("ports: needs 9, 8 left"), "{qr}");
    osc_ok(
        &clouds,
        &[
            "quota",
            "set",
            "--ports",
            &(in_use + 9).to_string(),
            &t.project,
        ],
    );
    assert_eq!(
        row(&installer_checks(&lab, &clouds, &t, &[]), "quota")["status"],
        "pass"
    );

    osc_ok(&clouds, &["router", "remove", "subnet", &router, &net]);
    osc_ok(&clouds, &["router", "delete", &router]);
    osc_ok(&clouds, &["port", "delete", &port]);
    osc_ok(&clouds, &["network", "delete", &net]);
}

/// The tenant and the installer's checks of the newest release labsh writes for (4.22) on the
/// devcloud, as for 4.18: no Temp-URL-Key and no swiftoperator role, both floating IPs DOWN and
/// the tenant's, and the checks of that release passing on what the tenant step made: the flavor
/// (a warning under 100 GB), the external network, the floating IPs, the image and the quota the
/// installer counts (server groups from 4.19, where the cloud reports them).
#[test]
fn the_tenant_and_the_installers_checks_of_the_newest_release() {
    let (clouds, lab, t, _) = tenant_for("4.22", "v422", 178);
    let roles = role_assignments(&clouds, &t.project);
    let names: Vec<String> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Role"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"swiftoperator".to_string()), "{names:?}");
    let pid = osc(&clouds, "devcloud", &["project", "show", &t.project])["id"].clone();
    for a in [&t.api, &t.ingress] {
        let fl = osc(&clouds, "devcloud", &["floating", "ip", "show", a]);
        assert_eq!(fl["status"], "DOWN", "{fl}");
        assert_eq!(fl["project_id"], pid);
        assert!(fl["port_id"].is_null(), "{fl}");
    }
    let acc = tenant_account(&lab.work().join("out/clouds.yaml"));
    let props = acc["properties"].as_object().cloned().unwrap_or_default();
    assert!(
        !props.keys().any(|k| k.eq_ignore_ascii_case("temp-url-key")),
        "4.22 needs no Temp-URL-Key: {acc}"
    );
    let rows = installer_checks(&lab, &clouds, &t, &[("version", "4.22")]);
    for r in &rows {
        assert!(
            r["check"].as_str().unwrap().starts_with("OpenShift 4.22: "),
            "{r}"
        );
        assert_ne!(r["status"], "fail", "{rows:?}");
    }
    assert_eq!(row(&rows, "flavor")["status"], "warn", "{rows:?}");
    for check in [
        "external network",
        "API floating IP",
        "ingress floating IP",
        "image",
    ] {
        assert_eq!(row(&rows, check)["status"], "pass", "{check}: {rows:?}");
    }
    let q = row(&rows, "quota");
    let detail = q["detail"].as_str().unwrap();
    for want in ["cores 20", "ram 81920", "instances 4", "ports 9"] {
        assert!(detail.contains(want), "{want}: {q}");
    }
    // A flavor below the release's minimums fails its check, naming the key.
    let small = uniq("v422-small");
    osc_ok(
        &clouds,
        &[
            "flavor", "create", "--ram", "2048", "--vcpus", "1", "--disk", "10", &small,
        ],
    );
    let rows = installer_checks(
        &lab,
        &clouds,
        &t,
        &[("version", "4.22"), ("flavor", &small)],
    );
    let (f, detail) = failed(&rows, "flavor");
    assert!(
        detail.contains("tenant.flavor.vcpus: 1 is below the 4 vCPUs OpenShift 4.22 needs"),
        "{f}"
    );
    osc_ok(&clouds, &["flavor", "delete", &small]);
}

/// The node-level network options for real on the devcloud (not run by the fast tier): the
/// tenant's networks (a management provider network on VLAN 105 of datacentre, shared and owned
/// by the project, its subnet with the metadata route; the machines' network with its router),
/// the security group and its rule, made in Neutron and read back with python-openstackclient;
/// install-config.yaml carries their ids and passes the install-config check of 4.22, and the
/// installer's checks find them on the cloud; a second run changes nothing; the tenant's
/// teardown removes them. The devcloud's ML2 takes VLANs 100-109 on datacentre
/// (tests/harness/devcloud.sh).
#[test]
fn the_network_options_are_made_in_neutron_and_install_config_carries_their_ids() {
    let clouds = devcloud();
    let lab = Lab::new();
    let vlan = "105";
    // What an earlier run of this test left on VLAN 105 (each run's names are its own).
    for n in osc(
        &clouds,
        "devcloud",
        &["network", "list", "--provider-segment", vlan],
    )
    .as_array()
    .unwrap()
    {
        osc_ok(&clouds, &["network", "delete", n["ID"].as_str().unwrap()]);
    }
    let (project, mgmt, machines, sg) = (
        uniq("netopts-tenant"),
        uniq("mgmt"),
        uniq("machines"),
        uniq("mgmt-ssh"),
    );
    let script = lab.file(
        "netopts.rhai",
        r#"import "seed" as seed;
import "tenant" as tenant;
import "openshift" as openshift;
let p = seed::profile();
p.name = "netopts-test";
p.tenant.project = param("project", "");
p.ocp.version = "4.22";
p.ocp.network_type = "OVNKubernetes";
p.tenant.image.name = "rhcos-4.22";
p.tenant.flavor.disk_gb = 100;
let mgmt = param("mgmt", ""); let machines = param("machines", ""); let sg = param("sg", "");
let nets = #{};
nets[machines] = #{ cidr: "10.0.0.0/16", gateway: "10.0.0.1", pool: ["10.0.0.10", "10.0.255.254"] };
nets[mgmt] = #{ cidr: "192.168.100.0/24", gateway: "192.168.100.1", pool: ["192.168.100.10", "192.168.100.99"],
                vlan: parse_int(param("vlan", "")), physical_network: "datacentre", "shared": true, metadata_route: "192.168.100.1" };
p.tenant.networks = nets;
let groups = #{};
groups[sg] = #{ rules: [#{ protocol: "tcp", port_min: 22, port_max: 22, remote_ip_prefix: "192.168.100.0/24" }] };
p.tenant.security_groups = groups;
p.ocp.machines_network = machines;
p.ocp.vips = #{ api: "10.0.0.5", ingress: "10.0.0.7" };
p.ocp.pools.compute = #{ networks: [mgmt], security_groups: [sg] };
let c = cloud::connect("devcloud");
stage("tenant", || {
    cloud::project_ensure(c, #{ name: p.tenant.project, description: "labsh lab netopts-test" });
    tenant::networks(c, p)
});
stage("ocp", || {
    let cfg = openshift::install_config(p, "ssh-ed25519 AAAA lab", "{}");
    cfg = openshift::with_network_options(p, cfg, tenant::network_ids(c, p));
    openshift::check(p, cfg);
    files::write_json(param("out", ""), cfg);
    // The installer's checks find them there, the project's.
    let row = openshift::installer_checks(c, p).filter(|r| r.check.ends_with("network options"))[0];
    if row.status != "pass" || !row.detail.contains("on the cloud") { fail(`${row.status}: ${row.detail}`); }
});
if param("remove", "no") == "yes" { stage("remove", || print(`removed: ${tenant::remove(c, p)}`)); }
"#,
    );
    let out = lab.work().join("install-config.json");
    let run = || {
        let o = labsh_cloud(&lab, &clouds)
            .args(["run", script.to_str().unwrap(), "--json"])
            .args(["--set", &format!("project={project}")])
            .args(["--set", &format!("mgmt={mgmt}")])
            .args(["--set", &format!("machines={machines}")])
            .args(["--set", &format!("sg={sg}")])
            .args(["--set", &format!("vlan={vlan}")])
            .args(["--set", &format!("out={}", out.display())])
            .run();
        o.ok();
        o.json_lines().pop().unwrap()
    };
    let first = run();
    assert!(first["totals"]["changed"].as_u64().unwrap() >= 7, "{first}");
    assert_eq!(
        run()["totals"]["changed"],
        0,
        "a second run changes nothing"
    );
    // Read back with python-openstackclient.
    let pid = osc(&clouds, "devcloud", &["project", "show", &project])["id"].clone();
    let n = osc(&clouds, "devcloud", &["network", "show", &mgmt]);
    assert_eq!(n["provider:network_type"], "vlan", "{n}");
    assert_eq!(n["provider:physical_network"], "datacentre", "{n}");
    assert_eq!(n["provider:segmentation_id"], 105, "{n}");
    assert_eq!(n["shared"], true, "{n}");
    assert_eq!(n["project_id"], pid, "{n}");
    let s = osc(
        &clouds,
        "devcloud",
        &["subnet", "show", &format!("{mgmt}-subnet")],
    );
    // The metadata route the installer asks of a provider machines network
    // (docs/user/openstack/provider_networks.md), as python-openstackclient 10.5.0 reports it
    // (network/v2/subnet.py HostRoutesColumn: Neutron's list as it is in JSON): one route to
    // 169.254.169.254/32 through the profile's metadata_route, the subnet's router.
    assert_eq!(
        s["host_routes"],
        serde_json::json!([{ "destination": "169.254.169.254/32", "nexthop": "192.168.100.1" }]),
        "{s}"
    );
    assert_eq!(s["cidr"], "192.168.100.0/24", "{s}");
    assert_eq!(s["gateway_ip"], "192.168.100.1", "{s}");
    assert_eq!(s["project_id"], pid, "{s}");
    let m = osc(&clouds, "devcloud", &["network", "show", &machines]);
    let r = osc(
        &clouds,
        "devcloud",
        &["router", "show", &format!("{machines}-router")],
    );
    assert!(
        r["external_gateway_info"]
            .to_string()
            .contains("network_id"),
        "{r}"
    );
    let g = osc(&clouds, "devcloud", &["security", "group", "show", &sg]);
    assert_eq!(g["project_id"], pid, "{g}");
    assert!(g["rules"].to_string().contains("192.168.100.0/24"), "{g}");
    // install-config.yaml carries the ids Neutron gave them.
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let w = &cfg["compute"][0]["platform"]["openstack"];
    assert_eq!(w["additionalNetworkIDs"][0], n["id"], "{cfg}");
    assert_eq!(w["additionalSecurityGroupIDs"][0], g["id"], "{cfg}");
    let port = &cfg["platform"]["openstack"]["controlPlanePort"];
    assert_eq!(port["network"]["id"], m["id"], "{cfg}");
    let msub = osc(
        &clouds,
        "devcloud",
        &["subnet", "show", &format!("{machines}-subnet")],
    );
    assert_eq!(port["fixedIPs"][0]["subnet"]["id"], msub["id"], "{cfg}");
    // The tenant's teardown removes them (the router's interface first), and only them.
    let o = labsh_cloud(&lab, &clouds)
        .args(["run", script.to_str().unwrap(), "--only", "remove"])
        .args(["--set", &format!("project={project}")])
        .args(["--set", &format!("mgmt={mgmt}")])
        .args(["--set", &format!("machines={machines}")])
        .args(["--set", &format!("sg={sg}")])
        .args(["--set", &format!("vlan={vlan}")])
        .args(["--set", "remove=yes"])
        .run();
    o.ok();
    for name in [&mgmt, &machines] {
        let left = osc(&clouds, "devcloud", &["network", "list", "--name", name]);
        assert_eq!(left.as_array().unwrap().len(), 0, "{name}: {left}");
    }
    let left = osc(
        &clouds,
        "devcloud",
        &["router", "list", "--name", &format!("{machines}-router")],
    );
    assert_eq!(left.as_array().unwrap().len(), 0, "{left}");
    // The project, the lab's too, goes with them.
    let left = osc(&clouds, "devcloud", &["security", "group", "list"]);
    assert!(!left.to_string().contains(&sg), "{left}");
}
