//! openshift-install run in its folder, with its progress, its log and the diagnosis of an expired
//! wait; skipped once it has installed the cluster there.

use super::parsers::progress;
use crate::effects::process::{self, Command, LineHook};
use crate::effects::{Effects, Error, Op};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// What an install did (`planned` and `version` only where set).
#[derive(serde::Serialize)]
pub struct Installed {
    pub kubeconfig: String,
    /// The installer ran, or a plan shows that it would.
    pub changed: bool,
    /// Only shown: a plan.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub planned: bool,
    /// The release the installer said it worked towards (a run that installed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Runs the installer in `dir`: output to `dir/labsh-install.log`, its progress shown.
pub fn install(
    fx: &Effects,
    installer: &str,
    dir: &str,
    timeout: std::time::Duration,
    log_level: &str,
    release_image: Option<&str>,
) -> Result<Installed, Error> {
    let kubeconfig = Path::new(dir).join("auth/kubeconfig");
    let metadata = Path::new(dir).join("metadata.json");
    let mut op = Op::new("ocp.install", dir).arg("installer", installer);
    if let Some(r) = release_image {
        op = op.arg("release_image", r);
    }
    // Written once the installer said it is done: what tells the next run to leave it alone.
    let marker = Path::new(dir)
        .join(".labsh-install-complete")
        .display()
        .to_string();
    let mut done = Installed {
        kubeconfig: kubeconfig.display().to_string(),
        changed: false,
        planned: false,
        version: None,
    };
    if kubeconfig.is_file() && metadata.is_file() && Path::new(&marker).is_file() {
        fx.unchanged(op);
        return Ok(done);
    }
    let log_path = Path::new(dir).join("labsh-install.log");
    let state = Arc::new(Mutex::new((
        String::new(),
        0u8,
        false,
        Vec::<String>::new(),
    )));
    let printer = fx.printer().clone();
    let st = state.clone();
    let log = Arc::new(Mutex::new(None::<std::fs::File>));
    let lg = log.clone();
    let shown_log = log_path.display().to_string();
    let hook: LineHook = Arc::new(move |line: &str| {
        if let Ok(mut f) = lg.lock() {
            if let Some(file) = f.as_mut() {
                use std::io::Write;
                // A copy that cannot be written is said once, and ends there.
                if let Err(e) = writeln!(file, "{}", crate::effects::secret::redact(line)) {
                    printer.warn(&format!(
                        "cannot write {shown_log}: {e}; the rest of the installer's output is not copied there"
                    ));
                    *f = None;
                }
            }
        }
        if let Ok(mut g) = st.lock() {
            if let Some((v, pct)) = progress(line) {
                if pct != g.1 || v != g.0 {
                    printer.status(&format!("  progress {v}: {pct}% complete"));
                    g.0 = v;
                    g.1 = pct;
                }
            }
            if line.contains("Install complete!") {
                g.2 = true;
            }
            if line.contains("level=error")
                || line.contains("level=fatal")
                || line.starts_with("ERROR")
                || line.starts_with("FATAL")
            {
                g.3.push(line.to_string());
            }
            if line.contains("INFO") || line.contains("level=info") {
                printer.status(&format!("  {}", line.trim()));
            }
        }
    });
    let mut cmd = Command::new([
        installer,
        "create",
        "cluster",
        "--dir",
        dir,
        "--log-level",
        log_level,
    ]);
    cmd.timeout = Some(timeout);
    cmd.on_line = Some(hook);
    // What the installer writes into the state folder (auth/, its state) is private too.
    cmd.private = crate::paths::in_state(std::path::Path::new(dir));
    if let Some(r) = release_image {
        // A disconnected install pulls the release from the mirror.
        cmd.env.push((
            "OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE".into(),
            r.to_string().into(),
        ));
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "the change that runs the installer makes its folder and its log"
    )]
    let r = fx.change_typed(
        op.arg("timeout_s", timeout.as_secs()),
        || {
            crate::effects::files::make_dir(std::path::Path::new(dir))?;
            *log.lock().map_err(|_| "log lock")? =
                Some(crate::effects::files::create_file(&log_path)?);
            fx.exec(&cmd)
        },
        process::Output::planned,
    );
    let g = state.lock().map(|g| g.clone()).unwrap_or_default();
    let diag = |why: &str| {
        let tail: Vec<String> = std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(15)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let mut msg = format!(
            "openshift-install {why} (last progress: {}{}); its log: {}",
            if g.0.is_empty() {
                "none".to_string()
            } else {
                format!("{} {}%", g.0, g.1)
            },
            if g.3.is_empty() {
                String::new()
            } else {
                format!("; errors: {}", g.3.join(" | "))
            },
            log_path.display()
        );
        if !tail.is_empty() {
            msg.push_str("\n    ");
            msg.push_str(&tail.join("\n    "));
        }
        msg.push_str(&format!(
            "\n  to see more: {installer} gather bootstrap --dir {dir}; {installer} wait-for install-complete --dir {dir}"
        ));
        msg
    };
    let out = match r {
        Ok(o) => o,
        Err(Error::TimedOut(_)) => {
            return Err(Error::Failed(diag(&format!(
                "did not finish in {}",
                crate::effects::fmt_ms(timeout.as_millis())
            ))))
        }
        Err(e) => return Err(e),
    };
    if !fx.is_plan() && (out.code != 0 || !g.2) {
        return Err(Error::Failed(diag(&format!(
            "failed with exit code {}",
            out.code
        ))));
    }
    crate::effects::files::ensure_file(fx, &marker, "", false, None).map_err(|e| {
        format!("the cluster is installed, but {e}: without {marker} the next run starts the installer again")
    })?;
    done.changed = true;
    if fx.is_plan() {
        done.planned = true;
        return Ok(done);
    }
    done.version = Some(g.0);
    Ok(done)
}
