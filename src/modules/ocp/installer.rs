//! openshift-install run in its folder, with its progress, its log and the diagnosis of an expired
//! wait; skipped once it has installed the cluster there.

use super::parsers::progress;
use crate::effects::process::{self, Command, LineHook};
use crate::effects::{Effects, Error, Op};
use crate::printer::Printer;
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

/// What the installer said so far: the release and percent of its last progress line, whether
/// it said the install is complete, and its error lines.
#[derive(Clone, Default)]
pub(super) struct Said {
    pub(super) version: String,
    percent: u8,
    complete: bool,
    errors: Vec<String>,
}

impl Said {
    /// One line of the installer's output: a progress that changed and the INFO lines shown.
    fn take(&mut self, line: &str, printer: &Printer) {
        if let Some((v, pct)) = progress(line) {
            if pct != self.percent || v != self.version {
                printer.status(&format!("  progress {v}: {pct}% complete"));
                self.version = v;
                self.percent = pct;
            }
        }
        if line.contains("Install complete!") {
            self.complete = true;
        }
        if line.contains("level=error")
            || line.contains("level=fatal")
            || line.starts_with("ERROR")
            || line.starts_with("FATAL")
        {
            self.errors.push(line.to_string());
        }
        if line.contains("INFO") || line.contains("level=info") {
            printer.status(&format!("  {}", line.trim()));
        }
    }

    /// The error of a run that did not end well (`why`): the last progress, the errors, the
    /// log's tail and what to run to see more.
    fn diagnosis(&self, why: &str, log_path: &Path, installer: &str, dir: &str) -> String {
        self.diagnosis_with(
            why,
            log_path,
            &format!("{installer} gather bootstrap --dir {dir}; {installer} wait-for install-complete --dir {dir}"),
        )
    }

    /// The same, with `more`: the commands that show more.
    pub(super) fn diagnosis_with(&self, why: &str, log_path: &Path, more: &str) -> String {
        // The log of a long install may be large: its last lines are read from its end.
        let tail: Vec<String> = crate::util::read::tail(log_path, 64 << 10)
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
            if self.version.is_empty() {
                "none".to_string()
            } else {
                format!("{} {}%", self.version, self.percent)
            },
            if self.errors.is_empty() {
                String::new()
            } else {
                format!("; errors: {}", self.errors.join(" | "))
            },
            log_path.display()
        );
        if !tail.is_empty() {
            msg.push_str("\n    ");
            msg.push_str(&tail.join("\n    "));
        }
        msg.push_str(&format!("\n  to see more: {more}"));
        msg
    }
}

/// The hook each line of the installer's output goes through: copied (redacted) to the log
/// while it can be written, and taken by `said`.
pub(super) fn line_hook(
    said: Arc<Mutex<Said>>,
    log: Arc<Mutex<Option<std::fs::File>>>,
    printer: Arc<Printer>,
    shown_log: String,
) -> LineHook {
    Arc::new(move |line: &str| {
        if let Ok(mut f) = log.lock() {
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
        if let Ok(mut g) = said.lock() {
            g.take(line, &printer);
        }
    })
}

/// `openshift-install create cluster` in `dir`: private in the state folder, its output allowed
/// to be long (its lines go to its log), the release pulled from `release_image` when given (a
/// disconnected install's mirror).
fn install_command(
    installer: &str,
    dir: &str,
    log_level: &str,
    release_image: Option<&str>,
) -> Command {
    let mut cmd = Command::new([
        installer,
        "create",
        "cluster",
        "--dir",
        dir,
        "--log-level",
        log_level,
    ]);
    // What the installer writes into the state folder (auth/, its state) is private too.
    cmd.private = crate::paths::in_state(std::path::Path::new(dir));
    // Its lines go to its log through the hook; an install at --log-level debug prints many.
    cmd.max_output = Some(64 << 20);
    if let Some(r) = release_image {
        // A disconnected install pulls the release from the mirror.
        cmd.env.push((
            "OPENSHIFT_INSTALL_RELEASE_IMAGE_OVERRIDE".into(),
            r.to_string().into(),
        ));
    }
    cmd
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
    let state = Arc::new(Mutex::new(Said::default()));
    let log = Arc::new(Mutex::new(None::<std::fs::File>));
    let hook = line_hook(
        state.clone(),
        log.clone(),
        fx.printer().clone(),
        log_path.display().to_string(),
    );
    let mut cmd = install_command(installer, dir, log_level, release_image);
    cmd.timeout = Some(timeout);
    cmd.on_line = Some(hook);
    #[expect(
        clippy::disallowed_methods,
        reason = "the change that runs the installer makes its folder and its log"
    )]
    let r = fx.change(
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
    let out = match r {
        Ok(o) => o,
        Err(e) if e.is(crate::effects::Kind::TimedOut) => {
            return Err(Error::timed_out(g.diagnosis(
                &format!(
                    "did not finish in {}",
                    crate::effects::fmt_ms(timeout.as_millis())
                ),
                &log_path,
                installer,
                dir,
            )))
        }
        Err(e) => return Err(e),
    };
    if !fx.is_plan() && (out.code != 0 || !g.complete) {
        return Err(Error::failed(g.diagnosis(
            &format!("failed with exit code {}", out.code),
            &log_path,
            installer,
            dir,
        )));
    }
    crate::effects::files::ensure_file(fx, &marker, "", false, None).map_err(|e| {
        format!("the cluster is installed, but {e}: without {marker} the next run starts the installer again")
    })?;
    done.changed = true;
    if fx.is_plan() {
        done.planned = true;
        return Ok(done);
    }
    done.version = Some(g.version);
    Ok(done)
}
