//! `labsh snapshot save|list|revert|delete`: a run of the script below, which labsh carries,
//! for the lab `--profile` and `--target` name: the stdlib's snapshot module does the work
//! (stdlib/snapshot.rhai; the mechanism is src/modules/snapshot/). Save, revert and delete run
//! as `labsh run` runs a script: one at a time per lab state (the lock), journaled, with a
//! recap; `list` only reads, as a plan does, and takes no lock.

use super::run_text;
use crate::cli::{Common, RunArgs, SnapshotAction};
use std::path::PathBuf;

/// What `labsh snapshot` runs: the action and the snapshot's name come as parameters.
const SCRIPT: &str = r#"import "target" as target;
import "snapshot" as snapshot;
let s = target::setup(run_info());
let action = param("snapshot_action", "list");
let name = param("snapshot_name", "");
switch action {
    "save" => { snapshot::save(s.p, s.t, name, #{ cold: param("snapshot_cold", false) }); }
    "list" => { snapshot::list(s.p, s.t, false); }
    "delete" => { snapshot::delete(s.p, s.t, name); }
    "revert" => {
        let r = snapshot::revert(s.p, s.t, name, #{ force: param("snapshot_force", false) });
        let next = snapshot::continue_command(s.p, s.t, run_info(), r.after);
        if next != () { print(`the lab is as it was after stage ${r.after}; to go on from there:` + "\n  " + next); }
    }
}
"#;

/// `labsh snapshot ACTION ...`.
pub fn snapshot(action: &SnapshotAction, common: &Common) -> u8 {
    let lab = action.lab();
    // The command's own parameters come last: they win over a --set of the same name.
    let mut sets = lab.lab.sets.clone();
    let mut common = common.clone();
    let (verb, name) = match action {
        SnapshotAction::Save { name, cold, .. } => {
            sets.push(("snapshot_cold".into(), cold.to_string()));
            ("save", Some(name))
        }
        SnapshotAction::List { .. } => {
            // A listing only reads: it takes no lock (a run may hold it) and writes no journal.
            common.plan = true;
            ("list", None)
        }
        SnapshotAction::Revert { name, force, .. } => {
            sets.push(("snapshot_force".into(), force.to_string()));
            ("revert", Some(name))
        }
        SnapshotAction::Delete { name, .. } => ("delete", Some(name)),
    };
    sets.push(("snapshot_action".into(), verb.into()));
    if let Some(n) = name {
        sets.push(("snapshot_name".into(), n.clone()));
    }
    let args = RunArgs {
        file: PathBuf::from(format!("labsh snapshot {verb}")),
        common: common.clone(),
        profile: lab.lab.profile.clone(),
        target: lab.lab.target.clone(),
        sets,
        only: Vec::new(),
        preflight: false,
        from: None,
        yes: lab.yes,
        graph: None,
        wait: lab.wait,
        snapshot_after: Vec::new(),
    };
    run_text(
        &args,
        &common,
        &format!("labsh snapshot {verb}"),
        SCRIPT,
        std::env::current_dir().ok(),
        None,
    )
}
