//! labsh anywhere: the scripts, profiles and targets labsh ships run from an empty folder, a
//! file of the same name in the working folder first.

use crate::support::{root, Lab};

/// The main job by the built binary from an empty folder outside the source tree: the scripts,
/// profiles and targets are the ones labsh ships; a file of the same name in the working folder
/// comes first and is named; `labsh run --help` lists the shipped ones and the sandbox default.
#[test]
fn the_main_job_runs_from_an_empty_folder_with_what_labsh_ships() {
    let lab = Lab::new();
    let work = lab.work();
    assert!(
        std::fs::read_dir(&work).unwrap().next().is_none(),
        "an empty folder"
    );
    assert!(!work.starts_with(root()), "{}", work.display());
    lab.run(["check", "scripts/lab.rhai"])
        .ok()
        .stdout_has("scripts/lab.rhai: ok");
    let o = lab.run(["run", "scripts/lab.rhai", "--profile", "current"]);
    o.ok()
        .stdout_has("lab current (profile profiles/current.rhai) on target sandbox");
    assert!(!o.stderr.contains("note: "), "{}", o.stderr);
    let out = crate::support::lab_out(&o);
    assert!(out.join("install-config.yaml").exists());
    assert!(out.join("baremetal_deployment.yaml").exists());
    // The shipped targets and the teardown too.
    lab.run([
        "-e",
        "lab_file_yaml(lab_file(\"target\", \"targets/seed-host.yaml\")).libvirt_uri",
    ])
    .ok()
    .stdout_has("qemu:///system");
    lab.run([
        "run",
        "scripts/lab.rhai",
        "--target",
        "devlab",
        "--only",
        "preflight",
        "--plan",
    ])
    .stdout_has("on target devlab");
    lab.run([
        "run",
        "scripts/teardown.rhai",
        "--profile",
        "current",
        "--yes",
    ])
    .ok()
    .stdout_has("lab current at");
    // The working folder's profile of that name comes first, and is named.
    let mine = std::fs::read_to_string(root().join("profiles/current.rhai"))
        .unwrap()
        .replace("name: \"current\"", "name: \"mine\"");
    lab.file("profiles/current.rhai", &mine);
    let o = lab.run(["run", "scripts/lab.rhai", "--profile", "current", "--plan"]);
    o.ok()
        .stdout_has("lab mine (profile profiles/current.rhai)")
        .stderr_has(
            "note: profiles/current.rhai is used, not the profiles/current.rhai labsh ships",
        );
    // Help names what is shipped and the default.
    let h = lab.run(["run", "--help"]);
    h.ok();
    for s in [
        "shipped: current, large, minimal",
        "shipped: devlab, seed-host",
        "By default the sandbox",
        "scripts/lab.rhai, scripts/teardown.rhai",
    ] {
        assert!(h.stdout.contains(s), "{s}:\n{}", h.stdout);
    }
    // An unknown name lists the shipped ones.
    lab.run(["run", "scripts/lab.rhai", "--profile", "nope"])
        .code(2)
        .stderr_has("the profiles there are: seed, current, large, minimal");
}
