//! VirtualBMC's daemon of a test's own, and the BMC venv.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The BMC venv's bin folder (VirtualBMC, sushy-tools; tools/setup-tests.sh builds it).
pub fn venv_bin() -> PathBuf {
    let base = std::env::var_os("LABSH_BMC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/labsh/venv-bmc")
        });
    base.join("bin")
}

pub struct Vbmcd {
    child: Child,
    pub config: PathBuf,
}

impl Vbmcd {
    /// vbmcd on a free port of its own, once `vbmc list` answers. A daemon that ended at once
    /// (its port taken meanwhile by another test's server) is started again on another port; one
    /// that does not answer within a minute (a loaded machine starts Python slowly) fails the
    /// test with its log.
    pub fn start(dir: &std::path::Path) -> Vbmcd {
        std::fs::create_dir_all(dir.join("vbmc")).unwrap();
        let config = dir.join("virtualbmc.conf");
        let log = dir.join("vbmcd.log");
        let mut from = 40000;
        for _ in 0..3 {
            let port = super::ports::free_port(from);
            from = port + 1;
            std::fs::write(
                &config,
                format!(
                    "[default]\nconfig_dir = {}\nserver_port = {port}\n[log]\nlogfile = {}\n",
                    dir.join("vbmc").display(),
                    log.display()
                ),
            )
            .unwrap();
            use std::os::unix::process::CommandExt;
            let child = Command::new(venv_bin().join("vbmcd"))
                .arg("--foreground")
                .process_group(0)
                .env("VIRTUALBMC_CONFIG", &config)
                .env("HOME", dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("vbmcd (tools/setup-tests.sh installs VirtualBMC)");
            let mut v = Vbmcd {
                child,
                config: config.clone(),
            };
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(60) {
                if let Ok(Some(_)) = v.child.try_wait() {
                    break;
                }
                let ok = Command::new(venv_bin().join("vbmc"))
                    .args(["list"])
                    .env("VIRTUALBMC_CONFIG", &v.config)
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                if ok {
                    return v;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !matches!(v.child.try_wait(), Ok(Some(_))) {
                break;
            }
        }
        panic!(
            "vbmcd did not answer; its log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
}

impl Drop for Vbmcd {
    fn drop(&mut self) {
        // vbmcd forks a process per BMC: stop the whole group.
        let _ = Command::new("kill")
            .args(["--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PATH with the BMC venv first.
pub fn path_with_venv() -> String {
    format!(
        "{}:{}",
        venv_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
