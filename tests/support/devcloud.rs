//! The devcloud (tests/harness/devcloud.sh: Keystone, Nova, Placement, Neutron, Glance, Swift
//! and Ironic from PyPI on 127.0.0.1) and python-openstackclient, the client we did not write
//! that reads back what labsh made.

use super::{run_ok, succeeded, Lab};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Starts the devcloud if it is not up (idempotent, serialised by the harness) and returns the
/// clouds.yaml that names it `devcloud`.
pub fn devcloud() -> PathBuf {
    run_ok(
        Command::new("bash")
            .arg(super::root().join("tests/harness/devcloud.sh"))
            .arg("start"),
        "devcloud did not start",
    );
    let env = Command::new("bash")
        .arg(super::root().join("tests/harness/devcloud.sh"))
        .arg("env")
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&env.stdout).trim())
}

/// python-openstackclient in its venv (tools/setup-tests.sh builds it; LABSH_OSC_VENV elsewhere).
pub fn osc_bin() -> PathBuf {
    std::env::var_os("LABSH_OSC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::cache("venv-osc"))
        .join("bin/openstack")
}

/// python-openstackclient with `args` against a cloud of a clouds.yaml, not started yet.
pub fn osc_command(clouds: &Path, cloud: &str, args: &[&str]) -> Command {
    let mut c = Command::new(osc_bin());
    c.args(args)
        .env("OS_CLIENT_CONFIG_FILE", clouds)
        .env("OS_CLOUD", cloud)
        .current_dir(std::env::temp_dir());
    c
}

/// python-openstackclient, `-f json`, against a cloud of a clouds.yaml.
pub fn osc(clouds: &Path, cloud: &str, args: &[&str]) -> Value {
    let out = osc_command(clouds, cloud, args)
        .args(["-f", "json"])
        .output()
        .expect("python-openstackclient (tools/setup-tests.sh installs it)");
    let out = succeeded(out, format!("openstack {args:?}"));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The same, quietly, for a command that may fail: whether it succeeded.
pub fn osc_status(clouds: &Path, cloud: &str, args: &[&str]) -> bool {
    osc_command(clouds, cloud, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A clouds.yaml of the test's own naming the devcloud twice: `devcloud` (the admin project)
/// and `devcloud-system` (system scope, as Ironic's policy wants for node administration).
pub fn system_clouds(lab: &Lab, devcloud_yaml: &Path) -> PathBuf {
    let t = std::fs::read_to_string(devcloud_yaml).unwrap();
    let pw = t
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: ").map(|s| s.to_string()))
        .unwrap();
    lab.file(
        "clouds.yaml",
        &format!(
            "clouds:\n  devcloud:\n    auth: {{auth_url: http://127.0.0.1:5000/v3, username: admin, password: {pw}, project_name: admin, user_domain_name: Default, project_domain_name: Default}}\n    region_name: regionOne\n  devcloud-system:\n    auth: {{auth_url: http://127.0.0.1:5000/v3, username: admin, password: {pw}, user_domain_name: Default, system_scope: all}}\n    region_name: regionOne\n"
        ),
    )
}
