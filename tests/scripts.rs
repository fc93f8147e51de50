//! Running scripts: plan vs apply, stages and their selection, the recap, parameters, modules and
//! their override precedence, helpers, and the stdlib's own Rhai tests.

use crate::support::{Lab, LAB_STAGES};
use std::path::Path;

fn touch_script(lab: &Lab) -> std::path::PathBuf {
    let w = lab.work();
    lab.file(
        "touch.rhai",
        &format!(
            r#"
stage("a", || run(["touch", "{a}"]));
stage("b", || sh("echo b > '{b}'"));
stage("c", || {{
    let r = run(["touch", "{c}"]);
    if plan_mode() {{ assert(r.planned); }}
    secret("lab-root-password", #{{generate: true}});
}});
"#,
            a = w.join("a").display(),
            b = w.join("b").display(),
            c = w.join("c").display()
        ),
    )
}

fn exists(lab: &Lab, names: &[&str]) -> Vec<bool> {
    names.iter().map(|n| lab.work().join(n).exists()).collect()
}

#[test]
fn plan_never_touches_the_world_and_apply_does() {
    let lab = Lab::new();
    let f = touch_script(&lab);
    let before: Vec<_> = crate::support::walk(lab.root.path());
    let o = lab.run(["run", "--plan", "--json", f.to_str().unwrap()]);
    o.ok();
    let after: Vec<_> = crate::support::walk(lab.root.path());
    let new: Vec<_> = after.iter().filter(|p| !before.contains(p)).collect();
    // A plan writes nothing, not even a journal: its output is the record.
    assert_eq!(new.len(), 0, "{new:?}");
    assert_eq!(exists(&lab, &["a", "b", "c"]), [false, false, false]);
    assert!(!lab.state().join("secrets").exists());
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["event"], "recap");
    assert_eq!(
        recap["totals"],
        serde_json::json!({"ok": 0, "changed": 0, "planned": 4, "failed": 0})
    );

    lab.run_file(&f).ok().stderr_has("RECAP");
    assert_eq!(exists(&lab, &["a", "b", "c"]), [true, true, true]);
    let secrets = lab.state().join("secrets");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The second run generates nothing new: the secret is already there (ok).
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["ok"], 1);
    assert_eq!(
        std::fs::read_to_string(&secrets).unwrap().lines().count(),
        1
    );
}

#[test]
fn json_output_is_one_object_per_line_ending_with_the_recap() {
    let lab = Lab::new();
    let f = lab.file(
        "s.rhai",
        "print(\"hello\");\nstage(\"one\", || run([\"echo\", \"out\"]));\nstage(\"two\", || 2);\n",
    );
    let o = lab.run(["run", "--json", f.to_str().unwrap()]);
    o.ok();
    assert!(o.stderr.trim().is_empty(), "stderr: {}", o.stderr);
    let lines = o.json_lines();
    assert!(lines
        .iter()
        .any(|l| l["event"] == "print" && l["text"] == "hello"));
    assert!(lines
        .iter()
        .any(|l| l["event"] == "output" && l["line"] == "out"));
    let recap = lines.last().unwrap();
    assert_eq!(recap["event"], "recap");
    let stages: Vec<&str> = recap["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["one", "two"]);
    assert_eq!(recap["stages"][0]["changed"], 1);
    assert_eq!(
        recap["totals"],
        serde_json::json!({"ok": 0, "changed": 1, "planned": 0, "failed": 0})
    );
}

#[test]
fn only_and_from_select_stages() {
    let lab = Lab::new();
    let f = touch_script(&lab);
    lab.run(["run", f.to_str().unwrap(), "--only", "b"])
        .ok()
        .stderr_has("── a (skipped)");
    assert_eq!(exists(&lab, &["a", "b", "c"]), [false, true, false]);
    let lab = Lab::new();
    let f = touch_script(&lab);
    lab.run(["run", f.to_str().unwrap(), "--from", "b"]).ok();
    assert_eq!(exists(&lab, &["a", "b", "c"]), [false, true, true]);
    let lab = Lab::new();
    let f = touch_script(&lab);
    lab.run(["run", f.to_str().unwrap(), "--only", "a", "--only", "c"])
        .ok();
    assert_eq!(exists(&lab, &["a", "b", "c"]), [true, false, true]);
}

#[test]
fn unknown_stage_is_a_usage_error_that_runs_nothing() {
    let lab = Lab::new();
    let f = touch_script(&lab);
    lab.run(["run", f.to_str().unwrap(), "--only", "bb"])
        .code(2)
        .stderr_has("unknown stage 'bb'")
        .stderr_has("has: a, b, c")
        .stderr_has("did you mean 'b'?");
    lab.run(["run", f.to_str().unwrap(), "--from", "z"]).code(2);
    assert_eq!(exists(&lab, &["a", "b", "c"]), [false, false, false]);
    assert!(lab.journals().is_empty());
}

#[test]
fn a_failed_stage_stops_the_run_and_says_how_to_continue() {
    let lab = Lab::new();
    let w = lab.work();
    let gate = w.join("gate");
    let f = lab.file(
        "s.rhai",
        &format!(
            r#"
stage("first", || run(["touch", "{first}"]));
stage("second", || {{
    run(["test", "-e", "{gate}"]);
    run(["touch", "{second}"]);
}});
stage("third", || run(["touch", "{third}"]));
"#,
            first = w.join("first").display(),
            second = w.join("second").display(),
            third = w.join("third").display(),
            gate = gate.display()
        ),
    );
    let o = lab.run(["run", f.to_str().unwrap(), "--set", "x=1"]);
    // --set x is not a parameter of this script.
    o.code(2).stderr_has("unknown --set key 'x'");
    let o = lab.run_file(&f);
    o.code(1)
        .stderr_has("command failed with exit code 1: test -e")
        .stderr_has("s.rhai:4:5")
        .stderr_has("stage 'second' failed");
    assert_eq!(
        exists(&lab, &["first", "second", "third"]),
        [true, false, false]
    );
    let cont = format!("labsh run {} --from second", f.display());
    o.stderr_has(&cont);
    let recap_line = o.stderr.lines().find(|l| l.starts_with("second")).unwrap();
    assert!(recap_line.contains("FAILED"), "{recap_line}");
    // Fix the cause, then run exactly the printed command.
    std::fs::write(&gate, "").unwrap();
    std::fs::remove_file(w.join("first")).unwrap();
    let args: Vec<&str> = cont.split_whitespace().skip(1).collect();
    lab.run(args).ok();
    assert_eq!(
        exists(&lab, &["first", "second", "third"]),
        [false, true, true]
    );
    let ev = lab.last_journal();
    assert_eq!(ev.last().unwrap()["event"], "run_end");
}

#[test]
fn params_take_set_values_in_the_default_type() {
    let lab = Lab::new();
    let f = lab.file(
        "p.rhai",
        "let n = param(\"count\", 3);\nlet s = param(\"name\", \"lab\");\nlet on = param(\"fast\", false);\nprint(`${type_of(n)} ${n} ${s} ${on}`);\n",
    );
    lab.run_file(&f).ok().stdout_has("i64 3 lab false");
    lab.run([
        "run",
        f.to_str().unwrap(),
        "--set",
        "count=7",
        "--set",
        "name=x y",
        "--set",
        "fast=yes",
    ])
    .ok()
    .stdout_has("i64 7 x y true");
    lab.run(["run", f.to_str().unwrap(), "--set", "count=seven"])
        // Checked against the literal default before the run starts: a usage error.
        .code(2)
        .stderr_has("--set count=seven: expected an integer");
    lab.run(["run", f.to_str().unwrap(), "--set", "cuont=1"])
        .code(2)
        .stderr_has("did you mean 'count'?");
}

#[test]
fn run_reports_exit_codes_timeouts_and_streams_output() {
    let lab = Lab::new();
    let f = lab.file(
        "r.rhai",
        "let r = run([\"sh\", \"-c\", \"echo to-out; echo to-err >&2; exit 4\"], #{check: false});\nprint(`code ${r.code}`);\nrun([\"sh\", \"-c\", \"echo boom >&2; exit 3\"]);\n",
    );
    lab.run_file(&f)
        .code(1)
        .stdout_has("code 4")
        .stderr_has("sh │ to-out")
        .stderr_has("sh │ to-err")
        .stderr_has("command failed with exit code 3")
        .stderr_has("boom");
    let t0 = std::time::Instant::now();
    lab.run(["-e", "run([\"sleep\", \"20\"], #{timeout: 0.3})"])
        .code(1)
        .stderr_has("timed out after");
    assert!(t0.elapsed().as_secs() < 10);
    lab.run(["-e", "run([\"true\"], #{timout: 1})"])
        .code(1)
        .stderr_has("unknown option 'timout' (did you mean 'timeout'?)");
    lab.run(["-e", "run([\"/no/such/program\"])"])
        .code(1)
        .stderr_has("not found on PATH");
}

#[test]
fn a_bindings_bad_options_name_the_field_with_rhai_types() {
    let lab = Lab::new();
    lab.run(["-e", "run([\"true\"], #{check: \"no\"})"])
        .code(1)
        .stderr_has("run: option 'check' expected bool, found string \"no\"");
    lab.run(["-e", "run([\"true\"], #{env: #{A: [1]}})"])
        .code(1)
        .stderr_has("run: option 'env' expected map of string or secret, found map");
    lab.run(["-e", "wait_until(|| true, #{timeout: \"soon\"})"])
        .code(1)
        .stderr_has("wait_until: option 'timeout' expected seconds (int or float), found string");
    lab.run(["-e", "stage(\"s\", #{pln: true}, || 1)"])
        .code(1)
        .stderr_has("stage: unknown option 'pln' (did you mean 'plan'?); known options: plan, why");
    // A password given as plain text is refused, and not shown.
    let out = lab.run([
        "-e",
        "bmc::ipmi_power(#{port: 6230, password: \"plain-pw-123\"}, \"status\")",
    ]);
    out.code(1)
        .stderr_has("ipmi: option 'password' expected secret, found string");
    // (The source line shown under it is the script's own text.)
    let message = out.stderr.lines().find(|l| l.starts_with("error:"));
    assert!(
        message.is_some_and(|l| !l.contains("plain-pw-123")),
        "{}",
        out.stderr
    );
}

#[test]
fn parallel_work_collects_every_error() {
    let lab = Lab::new();
    lab.run([
        "-e",
        "par_map([1, 2, 3, 4], |x| if x % 2 == 0 { throw `bad ${x}` } else { x })",
    ])
    .code(1)
    .stderr_has("2 of 4 items failed")
    .stderr_has("[1] bad 2")
    .stderr_has("[3] bad 4");
    // On 4 jobs the four run at once: each marks that it started and waits for all four marks,
    // which jobs run one at a time never see.
    let marks = lab.work().join("marks");
    let f = lab.file(
        "barrier.rhai",
        &format!(
            "fn job(i, t) {{\n    files::write(`{d}/${{i}}`, \"\");\n    wait_until(|| [0, 1, 2, 3].all(|k| files::exists(`{d}/${{k}}`)), #{{every: 0.02, timeout: t, what: \"all four jobs started\"}});\n    i\n}}\nlet t = param(\"timeout\", 30.0);\nprint(parallel([|| job(0, t), || job(1, t), || job(2, t), || job(3, t)]));\n",
            d = marks.display()
        ),
    );
    let barrier = |jobs: &str, timeout: &str| {
        let _ = std::fs::remove_dir_all(&marks);
        std::fs::create_dir_all(&marks).unwrap();
        let args = ["--jobs", jobs, "run", f.to_str().unwrap(), "--set", timeout];
        lab.run(args)
    };
    barrier("4", "timeout=30.0").ok().stdout_has("[0, 1, 2, 3]");
    barrier("1", "timeout=0.5")
        .code(1)
        .stderr_has("waiting for all four jobs started");
}

#[test]
fn wait_until_times_out_with_the_last_error() {
    let lab = Lab::new();
    lab.run([
        "-e",
        "wait_until(|| { throw \"not yet\" }, #{timeout: 0.3, every: 0.05, what: \"the thing\"})",
    ])
    .code(1)
    .stderr_has("waiting for the thing")
    .stderr_has("last error: not yet");
}

#[test]
fn errors_inside_modules_point_into_the_module() {
    let lab = Lab::new();
    lab.file(
        "helper.rhai",
        "fn explode(x) {\n    let y = x + 1;\n    throw `exploded at ${y}`;\n}\n",
    );
    let f = lab.file("main.rhai", "import \"helper\" as h;\nh::explode(1);\n");
    lab.run_file(&f)
        .code(1)
        .stderr_has("exploded at 2")
        .stderr_has("helper.rhai:3:5")
        .stderr_has("in call to function 'explode'");
    let g = lab.file("main2.rhai", "import \"helpr\" as h;\n");
    lab.run_file(&g)
        .code(1)
        .stderr_has("module \"helpr\" not found");
}

#[test]
fn module_override_precedence() {
    let lab = Lab::new();
    let script = "import \"util\" as util;\nprint(util::gib(1));\nif is_def_fn(\"dummy\", 0) {}\nprint(util::get_path(#{a: #{b: 5}}, \"a.b\", 0));\n";
    let f = lab.file("app/main.rhai", script);
    // 1. The embedded stdlib.
    lab.run_file(&f).ok().stdout_has("1073741824");
    // 2. The user's override folder beats the stdlib.
    let over =
        |who: &str| format!("fn gib(n) {{ \"{who}\" }}\nfn get_path(m, p, d) {{ \"{who}\" }}\n");
    std::fs::write(lab.lib().join("util.rhai"), over("user-lib")).unwrap();
    lab.run_file(&f).ok().stdout_has("user-lib");
    // 3. LABSH_PATH beats the user's folder.
    let extra = lab.work().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("util.rhai"), over("labsh-path")).unwrap();
    let with_labsh_path = || {
        lab.labsh()
            .args(["run", f.to_str().unwrap()])
            .env("LABSH_PATH", extra.to_str().unwrap())
            .run()
    };
    with_labsh_path().ok().stdout_has("labsh-path");
    // 4. A file beside the script beats everything.
    std::fs::write(lab.work().join("app/util.rhai"), over("beside")).unwrap();
    with_labsh_path().ok().stdout_has("beside");
}

#[test]
fn ctrl_c_stops_a_run_cleanly_and_says_how_to_continue() {
    let lab = Lab::new();
    let f = lab.file(
        "long.rhai",
        "stage(\"quick\", || 1);\nstage(\"slow\", || run([\"sleep\", \"30\"]));\nstage(\"after\", || 2);\n",
    );
    let mut c = lab.labsh().args(["run", f.to_str().unwrap()]).command();
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let t0 = std::time::Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let o = child.wait_with_output().unwrap();
    assert!(t0.elapsed().as_secs() < 5, "took {:?}", t0.elapsed());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("--from slow"), "{stderr}");
    let ev = lab.last_journal();
    assert!(ev
        .iter()
        .any(|e| e["event"] == "stage" && e["stage"] == "slow" && e["status"] == "interrupted"));
    assert!(!ev.iter().any(|e| e["stage"] == "after"));
    assert_eq!(ev.last().unwrap()["status"], "interrupted");
}

#[test]
fn the_stdlib_passes_its_own_rhai_tests() {
    let lab = Lab::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rhai");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rhai") {
            lab.run_file(&p).ok();
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[test]
fn a_broken_module_is_reported_before_anything_runs() {
    let lab = Lab::new();
    let marker = lab.work().join("touched");
    lab.file("broken.rhai", "fn ok() { 1 }\nfn bad( { 2 }\n");
    let f = lab.file(
        "main.rhai",
        &format!(
            "run([\"touch\", {:?}]);\nimport \"broken\" as b;\nb::ok();\n",
            marker.display()
        ),
    );
    lab.run_file(&f)
        .code(1)
        .stderr_has("broken.rhai:2:")
        .stderr_has("imported at");
    assert!(!marker.exists());
}

#[test]
fn the_main_job_runs_on_a_fresh_state_folder() {
    let lab = Lab::new();
    let o = lab.run_script("lab.rhai").args(["--json"]).run();
    o.ok();
    let lines = o.json_lines();
    let recap = lines.last().unwrap();
    let stages = recap["stages"].as_array().unwrap();
    let names: Vec<&str> = stages.iter().map(|s| s["name"].as_str().unwrap()).collect();
    let mut want = vec!["main"];
    want.extend(LAB_STAGES);
    assert_eq!(names, want);
    assert!(stages.iter().all(|s| s["status"] == "done"), "{recap}");
    // The sandbox is the article's L0 host: the seed's VMs fit it.
    for check in ["vCPUs", "memory"] {
        let row = lines
            .iter()
            .find(|l| l["event"] == "print" && l["text"].as_str().unwrap().starts_with(check))
            .unwrap();
        assert!(row["text"].as_str().unwrap().contains(" pass "), "{row}");
    }
    let inst: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lab.state().join("out/sandbox/lab/instackenv.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(inst["nodes"].as_array().unwrap().len(), 7);
    for check in [
        "vCPUs",
        "memory",
        "/dev/kvm",
        "nested virtualization",
        "disk",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["event"] == "print" && l["text"].as_str().unwrap().starts_with(check)),
            "no {check} row"
        );
    }
}

#[test]
fn a_script_named_like_a_module_imports_the_module_and_cycles_are_reported() {
    let lab = Lab::new();
    // util.rhai beside nothing else: `import "util"` inside it means the stdlib's util.
    let f = lab.file(
        "util.rhai",
        "import \"util\" as util;\nprint(util::gib(2));\n",
    );
    lab.run_file(&f).ok().stdout_has("2147483648");
    lab.file("m1.rhai", "import \"m2\" as m2;\nfn one() { 1 }\n");
    lab.file("m2.rhai", "import \"m1\" as m1;\nfn two() { 2 }\n");
    let g = lab.file("main.rhai", "import \"m1\" as m1;\nprint(m1::one());\n");
    lab.run_file(&g).code(1).stderr_has("import cycle:");
}

#[test]
fn the_main_job_plans_on_a_fresh_machine_and_creates_nothing() {
    let lab = Lab::new();
    let o = lab.run_script("lab.rhai").args(["--plan", "--json"]).run();
    o.ok();
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
    assert!(recap["totals"]["planned"].as_u64().unwrap() > 30, "{recap}");
    let files: Vec<_> = crate::support::walk(&lab.state())
        .into_iter()
        .filter(|p| !p.starts_with(lab.state().join("runs")))
        .collect();
    assert!(files.is_empty(), "a plan wrote {files:?}");
}
