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

/// A copy of the devcloud's clouds.yaml, the test's own: it names the devcloud twice, `devcloud`
/// (the admin project) and `devcloud-system` (system scope, as Ironic's policy wants for node
/// administration).
pub fn system_clouds(lab: &Lab, devcloud_yaml: &Path) -> PathBuf {
    let text = std::fs::read_to_string(devcloud_yaml).unwrap();
    assert!(
        text.contains("devcloud-system:"),
        "{}",
        devcloud_yaml.display()
    );
    lab.file("clouds.yaml", &text)
}
