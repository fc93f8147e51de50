//! Labs side by side: where a lab keeps what it owns (its sandbox, its images there, its output
//! folder: `src/paths.rs`), the record that says which profile and target made a lab's output,
//! the files of the layout before each lab had its own folders moved into the lab's, and the
//! target files labsh ships read as any other.

use crate::error::{Context, Error};
use crate::paths;
use crate::session::{rt_err, with_effects, Res};
use rhai::plugin::*;
use rhai::{Array, Map};
use std::path::{Path, PathBuf};

/// The records (`lab.json`) of lab `lab` in the state folder's output folders, each with the
/// file it was read from: `STATE/out/*/LAB/lab.json`.
fn records(lab: &str) -> Vec<serde_json::Value> {
    let Ok(rd) = std::fs::read_dir(paths::state_dir().join("out")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path().join(lab).join(paths::LAB_RECORD))
        .filter(|f| f.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(&f).ok()?;
            let mut v: serde_json::Value = serde_json::from_str(&text).ok()?;
            let obj = v.as_object_mut()?;
            (obj.get("lab")?.as_str()? == lab).then_some(())?;
            obj.insert("file".into(), f.display().to_string().into());
            Some(v)
        })
        .collect()
}

/// Moves the entries an earlier labsh left in the target's output folder `dir` (one folder for
/// every lab) into the folder of the lab that made them, `dir/OWNER` (the lab the libvirt
/// definitions there name). Returns what it did or could not do, for a note each.
fn migrate_out(fx: &crate::effects::Effects, dir: &Path) -> Result<Vec<String>, Error> {
    let entries = paths::shared_out_entries(dir);
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let shown = dir.display();
    let Some(owner) = paths::shared_out_owner(dir) else {
        return Ok(vec![format!(
            "{shown} holds files of an earlier labsh, which wrote every lab's output there; \
             which lab made them is not known (no libvirt/domain-*.xml): each lab now has its \
             own folder, {shown}/LAB; move them into the folder of the lab that made them"
        )]);
    };
    let to = dir.join(&owner);
    let mut notes = Vec::new();
    let mut moved = 0;
    for e in &entries {
        let Some(name) = e.file_name() else { continue };
        let dest = to.join(name);
        if std::fs::symlink_metadata(&dest).is_ok() {
            notes.push(format!(
                "{} is left where it is: {} is there already",
                e.display(),
                dest.display()
            ));
            continue;
        }
        let op = crate::effects::Op::new("file.move", e.display().to_string())
            .arg("to", dest.display().to_string());
        #[expect(
            clippy::disallowed_methods,
            reason = "the change that moves an entry of the shared layout into its lab's folder"
        )]
        fx.change(
            op,
            || {
                paths::private_dir(&to)?;
                std::fs::rename(e, &dest)
                    .with_context(|| format!("cannot move {} to {}", e.display(), dest.display()))
            },
            || (),
        )?;
        moved += 1;
    }
    // The lab's folder says whose it is, so that it is never taken for the shared layout.
    let record = to.join(paths::LAB_RECORD);
    if moved > 0 && std::fs::symlink_metadata(&record).is_err() {
        let text = serde_json::json!({"lab": owner, "moved_from": dir.display().to_string()});
        crate::effects::files::ensure_file(
            fx,
            &record.display().to_string(),
            &format!("{text:#}\n"),
            false,
            None,
        )?;
    }
    if moved > 0 {
        let verb = if fx.is_plan() { "would move" } else { "moved" };
        notes.insert(
            0,
            format!(
                "{shown} held lab {owner}'s output as an earlier labsh wrote it (one folder for \
                 every lab): {verb} {moved} entries into {}, its own folder",
                to.display()
            ),
        );
    }
    Ok(notes)
}

#[export_module]
pub mod labs_fns {
    /// Where lab `lab` (a profile's `name`) keeps what it owns on target `target` ("sandbox",
    /// "devlab", or a target file's path): `#{out, target_out, sandbox_file, sandbox_images}`:
    /// its output folder `STATE/out/TARGET/LAB`, the target's `STATE/out/TARGET`, and on the
    /// sandbox its own test-driver file and images folder, `STATE/sandbox/LAB/`.
    ///
    /// ```rhai
    /// let d = lab_paths("targets/seed-host.yaml", "mini");
    /// assert(d.out.ends_with("/out/seed-host/mini"));
    /// assert(d.sandbox_file.ends_with("/sandbox/mini/host.xml"));
    /// ```
    #[rhai_fn(name = "lab_paths", return_raw)]
    pub fn lab_paths(ctx: NativeCallContext, target: &str, lab: &str) -> Res<Map> {
        let sandbox = paths::sandbox_dir(lab).map_err(|e| rt_err(&ctx, e))?;
        let target_out = paths::target_out_dir(target);
        let mut m = Map::new();
        m.insert(
            "out".into(),
            target_out.join(lab).display().to_string().into(),
        );
        m.insert("target_out".into(), target_out.display().to_string().into());
        m.insert(
            "sandbox_file".into(),
            sandbox.join("host.xml").display().to_string().into(),
        );
        m.insert(
            "sandbox_images".into(),
            sandbox.join("images").display().to_string().into(),
        );
        Ok(m)
    }

    /// What the records in the state folder say of lab `lab`: one map per output folder that
    /// holds its `lab.json` (`#{lab, profile, target, libvirt, file}`: the `--profile` and
    /// `--target` it was made with, its libvirt URI), as a run of scripts/lab.rhai writes it.
    /// How a lab that stands in another's way is named with the command that removes it.
    ///
    /// ```rhai
    /// lab_records("no-such-lab")                              // []
    /// ```
    #[rhai_fn(name = "lab_records", return_raw)]
    pub fn lab_records(ctx: NativeCallContext, lab: &str) -> Res<Array> {
        crate::session::to_array(&ctx, &records(lab))
    }

    /// Moves what an earlier labsh left in a target's output folder `dir` (one folder for every
    /// lab) into the folder of the lab that made it, `dir/LAB`, as a change (a plan shows the
    /// moves); returns the notes to show (what moved, what could not be told or moved). The
    /// sandbox every lab shared is not moved: [`lab_shared_sandbox`] names it.
    ///
    /// ```rhai
    /// lab_migrate_out(run_info().state_dir + "/out/nowhere")  // []
    /// ```
    #[rhai_fn(name = "lab_migrate_out", return_raw)]
    pub fn lab_migrate_out(ctx: NativeCallContext, dir: &str) -> Res<Array> {
        with_effects(&ctx, |fx| migrate_out(fx, Path::new(dir)))
            .map(|v| v.into_iter().map(Dynamic::from).collect())
    }

    /// The files of the sandbox every lab shared before each had its own
    /// (`STATE/sandbox/host.xml`, its autostart sidecar, `STATE/sandbox/images`) that are still
    /// there: no lab uses them any more.
    ///
    /// ```rhai
    /// lab_shared_sandbox().len()                              // 0 in a fresh state folder
    /// ```
    #[rhai_fn(name = "lab_shared_sandbox")]
    pub fn lab_shared_sandbox() -> Array {
        paths::shared_sandbox_files()
            .into_iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .map(|p| Dynamic::from(p.display().to_string()))
            .collect()
    }

    /// The YAML of the target file at `path` (as `lab_file("target", ..)` gives it): the file,
    /// or the one labsh ships under that name; an empty map for an empty file. Errors name the file.
    ///
    /// ```rhai
    /// let y = lab_file_yaml(lab_file("target", "devlab"));
    /// assert_eq(y.domain_type, "qemu");
    /// ```
    #[rhai_fn(name = "lab_file_yaml", return_raw)]
    pub fn lab_file_yaml(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        let p = Path::new(path);
        let shipped = paths::shipped(p).filter(|_| std::fs::symlink_metadata(p).is_err());
        let v = match shipped {
            Some(text) => crate::util::yaml::parse_yaml(text).map_err(|e| e.context(path)),
            None => crate::util::yaml::read_yaml(p),
        };
        v.map(|v| crate::engine::value::from_json(&v))
            .map_err(|e| rt_err(&ctx, e))
    }
}
