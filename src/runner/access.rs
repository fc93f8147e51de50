//! `labsh ssh NODE [-- COMMAND]` and `labsh console NODE`: a person's way into the lab's nodes.
//!
//! The node is found by the stdlib (stdlib/access.rhai) for the lab `--profile` and `--target`
//! name, resolved as a run resolves it (stdlib/target.rhai's `setup`); what that reads (the
//! director's list of the overcloud's nodes, the domain's state) are reads, run as a plan, so
//! nothing is changed. Then ssh, or `virsh console`, runs attached to the terminal: the user's own session,
//! not a step of a lab (no plan, no journal, no lock, no timeout), as the REPL's `$EDITOR` is.
//!
//! The console is `virsh console` on the lab's URI rather than libvirt's virDomainOpenConsole
//! through the dlopen'd library: what a console needs besides the stream (the terminal in raw
//! mode and restored on every way out, the escape key, both directions pumped without blocking)
//! is what virsh's console already does, and virsh is libvirt's own client, of the same
//! version as the daemon's library.

use super::{setup, Program, FAILED, USAGE};
use crate::cli::{Common, LabArgs, SshArgs};
use crate::effects::{JournalSlot, Mode};
use crate::engine::diag::Diagnostic;
use crate::modules::ssh::host_of;
use crate::paths;
use crate::printer::Printer;
use crate::session::{RunOptions, Session};
use rhai::{Dynamic, Map};
use serde_json::json;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// `labsh ssh NODE [-- COMMAND]`: a login shell on the node, or COMMAND's output and exit code.
pub fn ssh(args: &SshArgs, common: &Common) -> u8 {
    let printer = Arc::new(Printer::new(common.out.json));
    let what = format!("labsh ssh {}", args.node);
    let (_, found) = match find(&printer, &args.lab, "login", &args.node, &what) {
        Ok(f) => f,
        Err(code) => return code,
    };
    if let Some(why) = found.get("offline").filter(|w| !w.is_unit()) {
        printer.error(
            &format!("{what}: the target only stands in for the director ({why}); nothing was run"),
            json!({"kind": "offline"}),
        );
        printer.hint("name a target that reaches the director: --target devlab, or a target file with undercloud.host");
        return FAILED;
    }
    let host = match found
        .get("host")
        .ok_or_else(|| crate::error::Error::failed("access::login gave no host"))
        .and_then(|h| host_of(&what, h))
    {
        Ok(h) => h,
        Err(e) => {
            printer.error(&e.to_string(), json!({}));
            return FAILED;
        }
    };
    let remote = (!args.command.is_empty()).then(|| args.command.join(" "));
    // A login shell gets a terminal on every hop; a command gets none, as with ssh itself.
    let tty = remote.is_none();
    let argv = match host.session_command(remote.as_deref(), tty, common.plan) {
        Ok(v) => v,
        Err(e) => {
            printer.error(&e.to_string(), json!({}));
            return FAILED;
        }
    };
    if tty {
        printer.status(&format!("ssh {}", host.label()));
    }
    attached(&printer, &argv, "ssh", "openssh-client")
}

/// `labsh console NODE`: the VM's serial console on the terminal, the VNC address shown.
pub fn console(args: &crate::cli::ConsoleArgs, common: &Common) -> u8 {
    let printer = Arc::new(Printer::new(common.out.json));
    let what = format!("labsh console {}", args.node);
    let (session, found) = match find(&printer, &args.lab, "vm", &args.node, &what) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let text = |k: &str| found.get(k).map(|v| v.to_string()).unwrap_or_default();
    let (uri, domain) = (text("uri"), text("domain"));
    if found.get("sandbox").and_then(|v| v.as_bool().ok()) == Some(true) {
        printer.error(
            &format!(
                "{what}: {domain} is a VM of the sandbox, libvirt's test driver, which has no \
                 consoles; nothing was attached"
            ),
            json!({"kind": "sandbox"}),
        );
        printer.hint("a target with a real libvirt has them: --target devlab, or a target file");
        return FAILED;
    }
    // The domain's consoles, and an error for one that does not run (nothing is changed).
    let consoles = match crate::modules::virt::client::consoles(&session.effects, &uri, &domain) {
        Ok(c) => c,
        Err(e) => {
            printer.error(&format!("{what}: {e}"), json!({"kind": "state"}));
            return FAILED;
        }
    };
    if !std::io::stdin().is_terminal() {
        printer.error(
            &format!("{what}: a console needs a terminal on standard input; nothing was attached"),
            json!({"kind": "usage"}),
        );
        return USAGE;
    }
    if let Some(vnc) = &consoles.vnc {
        printer.status(&format!(
            "{domain}: its graphical console is VNC at {vnc} (vncviewer {vnc}, or virt-viewer -c '{uri}' {domain})"
        ));
    }
    printer.status(&format!(
        "{domain}: its serial console{}; {} leaves it",
        consoles
            .serial
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default(),
        crate::modules::virt::CONSOLE_ESCAPE
    ));
    let argv: Vec<String> = vec!["virsh".into(), "-c".into(), uri, "console".into(), domain];
    attached(&printer, &argv, "virsh", "libvirt-clients")
}

/// The stdlib's `access::FUNC` of the lab `lab` names, for the node `name`: its map with the
/// session that found it, or the exit code after the error is shown.
fn find(
    printer: &Arc<Printer>,
    lab: &LabArgs,
    func: &str,
    name: &str,
    what: &str,
) -> Result<(Arc<Session>, Map), u8> {
    for (kind, n) in [
        (paths::LabFile::Profile, &lab.profile),
        (paths::LabFile::Target, &lab.target),
    ] {
        if let Some(n) = n {
            if let Err(e) = paths::lab_file(kind, n, None) {
                printer.error(&e.to_string(), json!({"kind": "usage"}));
                return Err(USAGE);
            }
        }
    }
    for (k, _) in &lab.sets {
        if !["uri", "images", "out"].contains(&k.as_str()) {
            let hint = crate::util::suggest::closest(k, ["uri", "images", "out"])
                .map(|c| format!(" (did you mean '{c}'?)"))
                .unwrap_or_default();
            printer.error(
                &format!(
                    "{what}: unknown --set key '{}'{hint}; the lab's resolution takes uri, images and out",
                    crate::util::clip(k)
                ),
                json!({"kind": "usage"}),
            );
            return Err(USAGE);
        }
    }
    let options = RunOptions {
        profile: lab.profile.clone(),
        target: lab.target.clone(),
        sets: lab.sets.iter().cloned().collect(),
        jobs: 4,
        ..Default::default()
    };
    let cwd = std::env::current_dir().ok();
    // Run as a plan: what finds the node only reads, and the seam keeps anything else from
    // changing (a sandbox not made yet is not made).
    let (session, engine) = setup(
        printer.clone(),
        Mode::Plan,
        JournalSlot::None,
        options,
        cwd.clone(),
    );
    let call = format!(
        "access::{func}(target::setup(run_info()), {})\n",
        serde_json::Value::from(name)
    );
    let script = format!("import \"target\" as target;\nimport \"access\" as access;\n{call}");
    let Some(program) = Program::load(&engine, printer, what, &script, cwd) else {
        return Err(FAILED);
    };
    match engine.eval_ast::<Dynamic>(&program.ast) {
        Ok(v) => match v.try_cast::<Map>() {
            Some(m) => Ok((session, m)),
            None => {
                printer.error(&format!("{what}: access::{func} gave no map"), json!({}));
                Err(FAILED)
            }
        },
        Err(e) => {
            let d = Diagnostic::from_eval(&e, Some(what));
            printer.error(&d.render(), d.to_json());
            if let Some(h) = &d.hint {
                printer.hint(h);
            }
            Err(FAILED)
        }
    }
}

/// Runs `argv` attached to this terminal (its input, output and errors are the user's), and
/// returns its exit code (128 + the signal that ended it, or that stopped labsh). The terminal's own signals (Ctrl-C
/// where no session has it in raw mode, a closed terminal) reach the child with labsh; a stop
/// signal sent to labsh alone (SIGTERM from a service manager) is passed on to the child as
/// SIGTERM, and labsh ends with it, never leaving it on the terminal.
fn attached(printer: &Printer, argv: &[String], program: &str, package: &str) -> u8 {
    let Some((prog, rest)) = argv.split_first() else {
        return FAILED;
    };
    if crate::util::path::which(prog).is_none() {
        printer.error(
            &format!("{program} is not installed (not on PATH); install {package}"),
            json!({"kind": "missing"}),
        );
        return FAILED;
    }
    let cancel = super::cancel_flag();
    if cancel.load(Ordering::SeqCst) {
        return super::signals::stopped_code();
    }
    #[expect(
        clippy::disallowed_methods,
        clippy::disallowed_types,
        reason = "labsh ssh and labsh console attach the user's terminal to a session on a node: the user's own session, not a step of a lab (no plan, no journal, no timeout)"
    )]
    let child = std::process::Command::new(prog).args(rest).spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            printer.error(&format!("cannot start {prog}: {e}"), json!({}));
            return FAILED;
        }
    };
    let pid = child.id().to_string();
    // A child that does not end within the signals' grace period is killed as labsh ends.
    let forced = pid.clone();
    super::signals::on_forced_end(move || {
        let _gone = crate::effects::process::terminate(&forced);
    });
    let done = Arc::new(AtomicBool::new(false));
    let watch = {
        let (done, pid) = (done.clone(), pid.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if cancel.load(Ordering::SeqCst) {
                    let _gone = crate::effects::process::terminate(&pid);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let status = child.wait();
    done.store(true, Ordering::SeqCst);
    let _watched = watch.join();
    // The session is over: a signal now ends labsh at once, with no child left to wait for.
    drop(super::signals::end_of_run());
    // Stopped by a signal: labsh's code for it (128 + its number), as a run's, whatever the
    // child made of the SIGTERM passed on (ssh exits 255).
    if super::signals::stop_signal().is_some() {
        return super::signals::stopped_code();
    }
    match status {
        Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
            (Some(c), _) => u8::try_from(c).unwrap_or(FAILED),
            (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(FAILED),
            _ => FAILED,
        },
        Err(e) => {
            printer.error(&format!("cannot wait for {prog}: {e}"), json!({}));
            FAILED
        }
    }
}
