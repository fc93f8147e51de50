//! The command line: -e, check, doc, journal, exit codes and bad input.

use crate::support::Lab;
use std::path::PathBuf;

#[test]
fn eval_prints_the_value() {
    let lab = Lab::new();
    lab.run(["-e", "40 + 2"]).ok().stdout_has("42");
    // Piped, a value is JSON (a string is itself).
    let o = lab.run(["-e", "#{a: [1, \"x\"]}"]);
    o.ok();
    assert_eq!(o.stdout.trim(), r#"{"a":[1,"x"]}"#);
    let o = lab.run(["-e", "\"plain text\""]);
    assert_eq!(o.stdout.trim(), "plain text");
}

#[test]
fn eval_json_gives_the_value_as_json() {
    let lab = Lab::new();
    let o = lab.run(["--json", "-e", "#{n: 1, s: [true]}"]);
    o.ok();
    let lines = o.json_lines();
    assert_eq!(lines[0]["event"], "result");
    assert_eq!(lines[0]["value"], serde_json::json!({"n": 1, "s": [true]}));
    assert_eq!(lines.last().unwrap()["event"], "recap");
}

#[test]
fn syntax_error_names_file_line_and_column_with_a_caret() {
    let lab = Lab::new();
    let f = lab.file("bad.rhai", "let a = 1;\nlet b = (a + ;\n");
    let o = lab.run_file(&f);
    o.code(1)
        .stderr_has(&format!("{}:2:", f.display()))
        .stderr_has("2 | let b = (a + ;")
        .stderr_has("^");
    lab.run(["check", f.to_str().unwrap()]).code(1);
    let o = lab.run(["-e", "let = 5"]);
    o.code(1).stderr_has("-e:1:");
}

/// Writes s.rhai: a command that touches a marker file, then `rest`; (the marker, the script).
fn touch_then(lab: &Lab, rest: &str) -> (PathBuf, PathBuf) {
    let marker = lab.work().join("touched");
    let f = lab.file(
        "s.rhai",
        &format!("run([\"touch\", {:?}]);\n{rest}", marker.display()),
    );
    (marker, f)
}

#[test]
fn unknown_function_is_reported_before_anything_runs() {
    let lab = Lab::new();
    let (marker, f) = touch_then(&lab, "let x = 1;\nstagee(\"a\", || 1);\n");
    let o = lab.run_file(&f);
    o.code(1)
        .stderr_has("unknown function 'stagee'")
        .stderr_has("s.rhai:3:1")
        .stderr_has("did you mean 'stage'?");
    assert!(
        !marker.exists(),
        "a script with an unknown function must run nothing"
    );
    assert!(
        lab.journals().is_empty(),
        "nothing ran, so nothing is journaled"
    );
}

#[test]
fn a_private_stdlib_function_is_named_as_private_before_anything_runs() {
    let lab = Lab::new();
    let (marker, f) = touch_then(
        &lab,
        "import \"l1\" as l1;\nimport \"seed\" as seed;\nl1::overcloud_nodes(seed::profile());\nl1::ipmi_of(#{});\nl1::nope(1);\n",
    );
    lab.run_file(&f)
        .code(1)
        .stderr_has("'l1::ipmi_of' is private to module l1")
        .stderr_has("s.rhai:5:5")
        .stderr_has("unknown function 'l1::nope'")
        .stderr_has("2 problems");
    assert!(!marker.exists());
}

#[test]
fn wrong_literal_argument_type_is_reported_before_anything_runs() {
    let lab = Lab::new();
    let (marker, f) = touch_then(&lab, "run(\"ls -l\");\n");
    lab.run_file(&f)
        .code(1)
        .stderr_has("wrong argument types for 'run'")
        .stderr_has("s.rhai:2:1")
        .stderr_has("help(\"run\")");
    assert!(!marker.exists());
}

#[test]
fn runtime_type_error_has_a_position() {
    let lab = Lab::new();
    let f = lab.file("s.rhai", "let argv = \"ls\";\nrun(argv);\n");
    lab.run_file(&f).code(1).stderr_has("s.rhai:2:1");
}

#[test]
fn missing_file_and_bad_flags_are_usage_errors() {
    let lab = Lab::new();
    lab.run(["run", "nope.rhai"])
        .code(2)
        .stderr_has("cannot read script nope.rhai");
    lab.run(["check", "nope.rhai"]).code(2);
    lab.run(["run", "--bogus", "x.rhai"])
        .code(2)
        .stderr_has("--bogus");
    lab.run(["run", "x.rhai", "--set", "novalue"])
        .code(2)
        .stderr_has("KEY=VALUE");
    lab.run(["--jobs", "0", "-e", "1"])
        .code(2)
        .stderr_has("--jobs");
    lab.run(["-e", "1", "doc"]).code(2);
}

#[test]
fn check_lists_stages_and_parameters() {
    let lab = Lab::new();
    let f = lab.file(
        "s.rhai",
        "let n = param(\"count\", 1);\nstage(\"one\", || 1);\nstage(\"two\", || 2);\n",
    );
    lab.run(["check", f.to_str().unwrap()])
        .ok()
        .stdout_has("ok; stages: one, two; parameters: count");
}

#[test]
fn doc_shows_the_reference_from_doc_comments() {
    let lab = Lab::new();
    lab.run(["doc"])
        .ok()
        .stdout_has("par_map")
        .stdout_has("stage");
    lab.run(["doc", "run"])
        .ok()
        .stdout_has("run(argv: Array)")
        .stdout_has("```rhai");
    lab.run(["doc", "core::par_map"])
        .ok()
        .stdout_has("par_map(items: Array, f: FnPtr)");
    lab.run(["doc", "core"]).ok().stdout_has("wait_until");
    lab.run(["doc", "par_mapp"])
        .code(2)
        .stderr_has("did you mean 'par_map'");
    let dir = lab.doc_markdown();
    let core = std::fs::read_to_string(dir.join("core.md")).unwrap();
    assert!(core.contains("## `run(argv: Array) -> Map`"), "{core}");
    assert!(std::fs::read_to_string(dir.join("index.md"))
        .unwrap()
        .contains("[core](core.md)"));
}

#[test]
fn doc_and_help_list_a_bindings_options_with_their_types() {
    let lab = Lab::new();
    lab.run(["doc", "virt::domain_ensure"])
        .ok()
        .stdout_has("Options:")
        .stdout_has("memory_mib: int, required")
        .stdout_has("type: string — kvm, qemu or test")
        .stdout_has("nics: array of string or map");
    lab.run(["-e", "help(\"virt::domain_undefine\")"])
        .ok()
        .stdout_has("storage: bool — ");
    let dir = lab.doc_markdown();
    let virt = std::fs::read_to_string(dir.join("virt.md")).unwrap();
    assert!(virt.contains("- `memory_mib`: int, required — "), "{virt}");
}

/// A target file's cloud map (stdlib/target.rhai `cloud_schema`, which checks target files before
/// anything connects) takes exactly the keys `cloud::connect` reads from its option spec, so the
/// two cannot drift apart.
#[test]
fn a_target_files_cloud_keys_are_cloud_connects_options() {
    let lab = Lab::new();
    let out = lab.run(["doc", "cloud::connect"]);
    out.ok();
    let text = &out.stdout;
    let options: std::collections::BTreeSet<String> = text
        .split_once("Options:")
        .expect("cloud::connect lists its options")
        .1
        .lines()
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_string()))
        .filter(|k| !k.is_empty() && !k.contains(' '))
        .collect();
    let target =
        std::fs::read_to_string(crate::support::root().join("stdlib/target.rhai")).unwrap();
    let body = target
        .split_once("private fn cloud_schema() {")
        .expect("target.rhai has cloud_schema")
        .1;
    let body = &body[..body.find("\n}").expect("cloud_schema ends")];
    let schema: std::collections::BTreeSet<String> = body
        .split(',')
        .filter_map(|kv| {
            kv.split_once(':')
                .map(|(k, _)| k.trim().trim_start_matches("#{").trim().to_string())
        })
        .filter(|k| !k.is_empty())
        .collect();
    assert!(options.len() > 20, "{options:?}");
    assert_eq!(
        schema, options,
        "target.rhai cloud_schema() against cloud::connect's options"
    );
}

#[test]
fn help_in_a_script_prints_the_same_reference() {
    let lab = Lab::new();
    lab.run(["-e", "help(\"par_map\")"])
        .ok()
        .stdout_has("par_map(items: Array, f: FnPtr)");
    lab.run(["-e", "help(\"nothing_here\")"])
        .code(1)
        .stderr_has("no function or module");
}

#[test]
fn journal_lists_runs_and_shows_events() {
    let lab = Lab::new();
    let f = lab.file("s.rhai", "stage(\"a\", || run([\"true\"]));\n");
    lab.run_file(&f).ok();
    let p = lab.file(
        "p.rhai",
        "stage(\"b\", || planned(\"shown only\", || run([\"true\"])));\n",
    );
    lab.run_file(&p).ok();
    // A plan writes no journal.
    lab.run(["run", "--plan", f.to_str().unwrap()]).ok();
    let bad = lab.file("bad.rhai", "stage(\"c\", || run([\"false\"]));\n");
    lab.run_file(&bad).code(1);
    let o = lab.run(["journal"]);
    o.ok();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "a header, three runs and a failed run's error:\n{}",
        o.stdout
    );
    assert!(
        lines[0].starts_with("RUN ") && lines[0].contains("PROFILE") && lines[0].contains("SCRIPT"),
        "{}",
        lines[0]
    );
    let cols = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let first = cols(lines[1]);
    assert_eq!(
        &first[1..9],
        ["apply", "ok", "seed", "sandbox", "0", "1", "0", "0"],
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with("s.rhai"), "{}", lines[1]);
    assert_eq!(cols(lines[2])[7], "1", "one planned: {}", lines[2]);
    assert_eq!(cols(lines[3])[2], "failed", "{}", lines[3]);
    assert!(
        lines[4]
            .trim_start()
            .starts_with("error: command failed with exit code 1: false"),
        "{}",
        lines[4]
    );
    let id = first[0].clone();
    // Any unique part of the id names the run.
    let part = &id[id.len() - 4..];
    lab.run(["journal", part])
        .ok()
        .stdout_has("stage a started")
        .stdout_has("changed  run true");
    let o = lab.run(["journal", "last", "--json"]);
    let ev = o.json_lines();
    assert!(ev
        .iter()
        .any(|e| e["event"] == "error" && e["message"].as_str().unwrap().contains("exit code 1")));
    lab.run(["journal", "1999"]).code(2).stderr_has("no run");
    // The run as a timeline.
    let svg = lab.work().join("t.svg");
    lab.run(["journal", &id, "--timeline", svg.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains(">a</text>") && text.contains("run true"),
        "{text}"
    );
}

#[test]
fn eval_without_effects_leaves_no_journal() {
    let lab = Lab::new();
    lab.run(["-e", "1 + 1"]).ok();
    assert!(lab.journals().is_empty());
    lab.run(["-e", "run([\"true\"])"]).ok();
    assert_eq!(lab.journals().len(), 1);
}

#[test]
fn the_readme_example_checks_and_plans() {
    let lab = Lab::new();
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    let start = readme
        .find("```rhai\n")
        .expect("a rhai example in the README")
        + 8;
    let len = readme[start..].find("```").unwrap();
    let f = lab.file("readme.rhai", &readme[start..start + len]);
    lab.run(["check", f.to_str().unwrap()]).ok();
    let o = lab.run(["run", "--plan", "--json", f.to_str().unwrap()]);
    o.ok();
    let recap = o.json_lines().pop().unwrap();
    // The secret generated, the folder made, eight images, the check.
    assert_eq!(recap["totals"]["planned"], 11, "{recap}");
}

#[test]
fn every_shipped_script_checks() {
    let lab = Lab::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["scripts", "tools/bench", "tests/rhai"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rhai") {
                lab.run(["check", p.to_str().unwrap()]).ok();
                n += 1;
            }
        }
    }
    assert!(n >= 5, "{n}");
}

#[test]
fn errors_speak_the_users_terms() {
    let lab = Lab::new();
    // A profile's mistakes: its file and key, no stdlib frames, no literal \n.
    let v = lab.file("v.rhai", "fn overrides() { #{ ocp: #{ workers: -1 } } }\n");
    let lab_rhai = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lab.rhai");
    let o = lab.run([
        "run",
        lab_rhai.to_str().unwrap(),
        "--profile",
        v.to_str().unwrap(),
    ]);
    o.code(1)
        .stderr_has("v.rhai: ocp.workers: -1 must be 0 or more");
    assert!(!o.stderr.contains("stdlib:"), "{}", o.stderr);
    assert!(!o.stderr.contains("\\n"), "{}", o.stderr);
    // Rust's type names never show.
    let o = lab.run(["-e", "let x = \"a\" - 1;"]);
    o.code(1).stderr_has("- (string, int)");
    for rust in ["&str", "i64", "ImmutableString"] {
        assert!(!o.stderr.contains(rust), "{rust} in {}", o.stderr);
    }
    // A missing map key is named where it is read, with the map it is missing from.
    lab.run(["-e", "let p = #{vms: #{}}; p.vms.ctrl.count"])
        .code(1)
        .stderr_has("no key 'ctrl' in p.vms")
        .stderr_has("p.vms is an empty map");
    // A failed strict preflight says what to do, not only where to continue.
    let small = lab.file(
        "small.rhai",
        "fn overrides() { #{ vms: #{ compute: #{ memory_mib: 8192 } } } }\n",
    );
    lab.run([
        "run",
        lab_rhai.to_str().unwrap(),
        "--profile",
        small.to_str().unwrap(),
    ])
    .code(1)
    .stderr_has("stage 'preflight' failed: make the fixes preflight names above, then run again:");
}

/// What users see, exactly: each command's help (its own options only), a recap, a plan and the
/// journal's list.
#[test]
fn cli_output_is_as_shown() {
    use crate::support::{normalized, snapshot};
    let lab = Lab::new();
    for (name, args) in [
        ("help", vec!["--help"]),
        ("help-run", vec!["run", "--help"]),
        ("help-check", vec!["check", "--help"]),
        ("help-doc", vec!["doc", "--help"]),
        ("help-journal", vec!["journal", "--help"]),
        ("help-repl", vec!["repl", "--help"]),
    ] {
        let o = lab.run(&args);
        o.ok();
        snapshot(name, &o.stdout);
    }
    // `doc` takes none of a run's options.
    lab.run(["doc", "--plan"]).code(2);
    let f = lab.file(
        "s.rhai",
        "stage(\"prepare\", || run([\"true\"]));\nstage(\"show\", || planned(\"no cloud here\", || run([\"true\"])));\nstage(\"fail\", || run([\"false\"]));\n",
    );
    let o = lab.run_file(&f);
    o.code(1);
    snapshot("recap", &normalized(&o.stderr, &lab));
    let o = lab.run(["run", "--plan", f.to_str().unwrap()]);
    snapshot("plan", &normalized(&o.stderr, &lab));
    let o = lab.run(["journal"]);
    o.ok();
    snapshot("journal-list", &normalized(&o.stdout, &lab));
}

#[test]
fn a_failed_ssh_connection_is_recorded_as_failed() {
    let lab = Lab::new();
    let free = crate::support::ports::free_port(47600);
    let o = lab.run([
        "--json",
        "-e",
        &format!("ssh::run(#{{host: \"127.0.0.1\", user: \"root\", port: {free}, connect_timeout: 3}}, \"touch /nothing\")"),
    ]);
    o.code(1);
    let effects: Vec<serde_json::Value> = o
        .json_lines()
        .into_iter()
        .filter(|e| e["event"] == "effect")
        .collect();
    assert_eq!(effects.len(), 1, "{}", o.stdout);
    assert_eq!(effects[0]["outcome"], "failed", "{}", effects[0]);
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
    assert_eq!(recap["totals"]["failed"], 1, "{recap}");
    let journal = lab.last_journal();
    assert!(
        journal
            .iter()
            .any(|e| e["event"] == "effect" && e["outcome"] == "failed"),
        "{journal:?}"
    );
}

#[test]
fn journal_skips_and_names_a_damaged_file() {
    let lab = Lab::new();
    let f = lab.file("s.rhai", "run([\"true\"]);\n");
    lab.run_file(&f).ok();
    lab.run_file(&f).ok();
    let bad = lab.state().join("runs/20200101T000000.000Z-dead.jsonl");
    std::fs::write(
        &bad,
        b"{\"event\":\"run\",\"script\":\"x.rhai\"}\n{\"event\":\"stage\",\"stage\":\"\xff\xfe\"}\n",
    )
    .unwrap();
    let o = lab.run(["journal"]);
    o.ok()
        .stderr_has(&format!("skipped the journal {}", bad.display()))
        .stderr_has("line 2 is not UTF-8");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "a header and the two good runs:\n{}",
        o.stdout
    );
    assert!(
        lines[1..].iter().all(|l| l.ends_with("s.rhai")),
        "{}",
        o.stdout
    );
    let o = lab.run(["journal", "--json"]);
    o.ok();
    let ev = o.json_lines();
    assert_eq!(ev[0]["event"], "journal_damaged", "{}", o.stdout);
    assert_eq!(ev.iter().filter(|e| e["event"] == "journal").count(), 2);
    // Asked for by its id: named, not shown; the others still are.
    lab.run(["journal", "dead"])
        .code(1)
        .stderr_has(&format!("the journal {} is damaged", bad.display()));
    lab.run(["journal", "last"]).ok().stdout_has("end ok");
}

#[test]
fn journal_prints_stored_text_with_control_characters_escaped() {
    let lab = Lab::new();
    // Its name too: the list shows it.
    let f = lab.file(
        "e\x1b[2Jsc.rhai",
        "files::write(run_info().state_dir + \"/out/\\x1b[2J\\x1b]0;title\\x07.txt\", \"x\");\n\
         stage(\"loud\", || run([\"sh\", \"-c\", \"printf 'boom\\\\033[31m red\\\\r\\\\n' >&2; exit 1\"]));\n",
    );
    lab.run_file(&f).code(1);
    for (args, shown) in [
        (vec!["journal"], "e\\x1b[2Jsc.rhai"),
        (vec!["journal", "last"], "boom\\x1b[31m red"),
        (vec!["journal", "last"], "\\x1b[2J\\x1b]0;title\\x07.txt"),
    ] {
        let o = lab.run(&args);
        o.ok();
        assert!(
            !o.stdout.contains('\x1b') && !o.stdout.contains('\x07') && !o.stdout.contains('\r'),
            "{args:?} printed control characters raw: {:?}",
            o.stdout
        );
        o.stdout_has(shown);
    }
    // As JSON the text is JSON's: escaped by JSON itself.
    let o = lab.run(["journal", "last", "--json"]);
    assert!(!o.stdout.contains('\x1b'), "{}", o.stdout);
    assert!(o
        .json_lines()
        .iter()
        .any(|e| e["target"].as_str().is_some_and(|t| t.contains("\x1b[2J"))));
}

#[test]
fn live_lines_print_targets_messages_and_output_with_control_characters_escaped() {
    let lab = Lab::new();
    let f = lab.file(
        "live.rhai",
        "files::write(run_info().state_dir + \"/out/\\x1b[2J\\x1b]0;title\\x07.txt\", \"x\");\n\
         stage(\"st\\x1b[2Jage\", || run([\"sh\", \"-c\", \"printf 'boom\\\\033[31m red\\\\033[2J\\\\n' >&2; exit 1\"]));\n",
    );
    let o = lab.run_file(&f);
    o.code(1);
    assert!(
        !o.stderr.contains('\x1b') && !o.stderr.contains('\x07'),
        "control characters printed raw: {:?}",
        o.stderr
    );
    o.stderr_has("file.write")
        .stderr_has("out/\\x1b[2J\\x1b]0;title\\x07.txt")
        // A stage's name, a command's output (its colours dropped where none are shown), the
        // error's message.
        .stderr_has("── st\\x1b[2Jage")
        .stderr_has("boom red\\x1b[2J")
        .stderr_has("boom\\x1b[31m red\\x1b[2J");
    // An error of -e: its message escaped too.
    let o = lab.run(["-e", "throw \"bad\\x1b]0;title\\x07 end\""]);
    o.code(1).stderr_has("bad\\x1b]0;title\\x07 end");
    assert!(!o.stderr.contains('\x1b'), "{:?}", o.stderr);
}

#[test]
fn a_failed_eval_journals_its_error_as_a_run_does() {
    let lab = Lab::new();
    let made = lab.work().join("made.txt");
    let expr = format!(
        "files::write(\"{}\", \"x\"); throw \"boom after a change\"",
        made.display()
    );
    lab.run(["-e", &expr]).code(1);
    let j = lab.last_journal();
    assert!(
        j.iter().any(|e| e["event"] == "error"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("boom after a change"))),
        "{j:?}"
    );
    assert_eq!(j.last().unwrap()["status"], "failed", "{j:?}");
    let o = lab.run(["journal"]);
    o.ok();
    let err = o
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("error: "))
        .unwrap_or_else(|| panic!("no error in the list:\n{}", o.stdout));
    assert!(err.contains("boom after a change"), "{err}");
    lab.run(["journal", "last"])
        .ok()
        .stdout_has("error: ")
        .stdout_has("boom after a change");
}

#[test]
fn exit_n_in_a_script_exits_n() {
    let lab = Lab::new();
    let f = lab.file("e.rhai", "print(\"a\");\nexit(7);\nprint(\"b\");\n");
    let o = lab.run_file(&f);
    o.code(7).stdout_has("a");
    assert!(!o.stdout.contains('b'), "{}", o.stdout);
    for (script, code) in [("exit();\n", 0), ("exit(0);\n", 0), ("exit(255);\n", 255)] {
        let f = lab.file("n.rhai", script);
        lab.run_file(&f).code(code);
    }
    // Inside a stage and a function: the stage is done, not failed; the journal says so.
    let f = lab.file(
        "s.rhai",
        "fn leave(n) { exit(n) }\nstage(\"s\", || { run([\"true\"]); leave(3); });\nprint(\"after\");\n",
    );
    let o = lab.run(["run", f.to_str().unwrap(), "--json"]);
    o.code(3);
    assert!(!o.stdout.contains("after"), "{}", o.stdout);
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(
        crate::support::recap_stage(&recap, "s").unwrap()["status"],
        "done",
        "{recap}"
    );
    assert_eq!(lab.last_journal().last().unwrap()["status"], "exit 3");
    // -e: the code, and no value printed.
    let o = lab.run(["-e", "exit(7)"]);
    o.code(7);
    assert_eq!(o.stdout, "");
    lab.run(["-e", "exit()"]).ok();
    lab.run(["-e", "exit(256)"])
        .code(1)
        .stderr_has("an exit code is 0 to 255");
    lab.run(["-e", "exit(\"done\")"])
        .code(1)
        .stderr_has("an integer from 0 to 255");
}

#[test]
fn a_run_whose_journal_cannot_be_written_changes_nothing() {
    let lab = Lab::new();
    // The journals' folder cannot be made: a file is in its place.
    std::fs::write(lab.state().join("runs"), "").unwrap();
    let marker = lab.work().join("made");
    let f = lab.file(
        "c.rhai",
        &format!(
            "stage(\"a\", || run([\"touch\", \"{}\"]));\n",
            marker.display()
        ),
    );
    let runs = lab.state().join("runs").display().to_string();
    lab.run_file(&f)
        .code(1)
        .stderr_has(&format!("cannot create {runs}"))
        .stderr_has("nothing was changed");
    assert!(!marker.exists(), "the run changed things with no journal");
    // A plan writes no journal: it runs.
    lab.run(["run", "--plan", f.to_str().unwrap()]).ok();
    // -e opens its journal at its first change: refused there.
    let o = lab.run(["-e", &format!("run([\"touch\", \"{}\"])", marker.display())]);
    o.code(1)
        .stderr_has(&format!("cannot create {runs}"))
        .stderr_has("no change is made that the journal cannot record");
    assert!(!marker.exists(), "-e changed things with no journal");
    // What changes nothing still runs.
    lab.run(["-e", "1 + 1"]).ok().stdout_has("2");
}

#[test]
fn a_missing_key_is_an_error_with_a_did_you_mean_from_the_maps_keys() {
    let lab = Lab::new();
    let o = lab.run([
        "-e",
        "import \"seed\" as seed; let p = seed::profile(); p.vms.ctrl.cuont",
    ]);
    o.code(1)
        .stderr_has("no key 'cuont' in p.vms.ctrl (did you mean 'count'?)")
        .stderr_has("p.vms.ctrl has count, memory_mib, name, nics, role, vcpus");
    // Inside a function the map is named as the line names it.
    let f = lab.file(
        "f.rhai",
        "import \"seed\" as seed;\nfn cpus(vm) { vm.vcpu }\nprint(cpus(seed::profile().vms.ctrl));\n",
    );
    lab.run_file(&f)
        .code(1)
        .stderr_has("no key 'vcpu' in vm (did you mean 'vcpus'?)")
        .stderr_has("f.rhai:2:18");
    // A key that is there, or asked for with `in`, is no error.
    lab.run([
        "-e",
        "import \"seed\" as seed; let p = seed::profile(); if \"cuont\" in p.vms.ctrl { 0 } else { p.vms.ctrl.count }",
    ])
    .ok()
    .stdout_has("3");
}

#[test]
fn what_eval_does_to_the_sandbox_is_kept_for_the_next_run() {
    let lab = Lab::new();
    lab.run([
        "-e",
        "virt::network_ensure(virt::sandbox(), #{lab: \"e\", name: \"from-eval\", address: \"10.78.0.1\", netmask: \"255.255.255.0\", dhcp: false})",
    ])
    .ok()
    .stderr_has("file.write");
    lab.run(["-e", "virt::network_list(virt::sandbox()).map(|n| n.name)"])
        .ok()
        .stdout_has("from-eval");
    // A look changes nothing: the file is not written again.
    let file = lab.state().join("sandbox/lab/host.xml");
    let before = std::fs::read(&file).unwrap();
    let o = lab.run(["-e", "virt::domain_list(virt::sandbox()).len()"]);
    o.ok();
    assert!(!o.stderr.contains("file.write"), "{}", o.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn a_module_beside_the_script_is_the_scripts_and_never_the_stdlibs() {
    let lab = Lab::new();
    // seed.rhai beside the script: the script's own import gets it, the stdlib's profile
    // still gets the stdlib's seed.
    lab.file("app/seed.rhai", "fn profile() { #{ name: \"beside\" } }\n");
    let f = lab.file(
        "app/main.rhai",
        "import \"seed\" as seed;\nimport \"profile\" as profile;\nprint(`mine: ${seed::profile().name}`);\nprint(`stdlib's: ${profile::load((), run_info().script).profile.name}`);\n",
    );
    let o = lab.run_file(&f);
    o.ok()
        .stdout_has("mine: beside")
        .stdout_has("stdlib's: lab");
    assert!(
        !o.stderr.contains("replaces the stdlib module"),
        "{}",
        o.stderr
    );
    // In the user's override folder it replaces the stdlib's for the stdlib too, and labsh
    // says so, naming the file.
    let seed = std::fs::read_to_string(crate::support::root().join("stdlib/seed.rhai"))
        .unwrap()
        .replacen("name: \"lab\"", "name: \"overridden\"", 1);
    std::fs::write(lab.lib().join("seed.rhai"), seed).unwrap();
    std::fs::remove_file(lab.work().join("app/seed.rhai")).unwrap();
    let o = lab.run_file(&f);
    o.ok()
        .stdout_has("mine: overridden")
        .stdout_has("stdlib's: overridden")
        .stderr_has(&format!(
            "{} replaces the stdlib module 'seed' for the stdlib's own imports too",
            lab.lib().join("seed.rhai").display()
        ));
}
