//! Labs side by side and labsh anywhere: each lab (a profile's `name`) keeps its own sandbox and
//! output folder, so the README's and the guide's commands run in their order on one state
//! folder; another lab in the way on one libvirt is a preflight failure naming it; the shipped
//! scripts, profiles and targets run from an empty folder; a plan on a host that is not ready
//! lists every preflight failure and goes on; a state folder of the shared layout is moved.

use crate::support::{recap_stage, root, Lab, Out};
use std::path::Path;

/// A fenced block of a Markdown file: its language and its lines.
struct Block {
    doc: &'static str,
    lang: String,
    lines: Vec<String>,
}

/// The fenced blocks of `doc` (a path in the source tree), in order.
fn blocks(doc: &'static str) -> Vec<Block> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    let mut out = vec![];
    let mut open: Option<Block> = None;
    for line in text.lines() {
        match (line.strip_prefix("```"), open.take()) {
            (Some(lang), None) => {
                open = Some(Block {
                    doc,
                    lang: lang.trim().to_string(),
                    lines: vec![],
                })
            }
            (Some(_), Some(b)) => out.push(b),
            (None, Some(mut b)) => {
                b.lines.push(line.to_string());
                open = Some(b);
            }
            (None, None) => {}
        }
    }
    out
}

/// The words of a shell line as sh reads them (quotes taken off, `$(..)` kept whole), without
/// its comment; then its commands, split at `&&`.
fn commands(line: &str) -> Vec<Vec<String>> {
    let mut words: Vec<String> = vec![];
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut depth = 0;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q && depth == 0 => quote = None,
            (Some(_), '(') => {
                depth += 1;
                cur.push(c)
            }
            (Some(_), ')') => {
                depth -= 1;
                cur.push(c)
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true
            }
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
        .split(|w| w == "&&")
        .filter(|c| !c.is_empty())
        .map(|c| c.to_vec())
        .collect()
}

/// The commands of the README and the guide this test does not run, by how they start, and
/// why: each needs what a real host has, or changes the reader's machine or shell.
const SKIPPED: &[(&str, &str)] = &[
    (
        "tools/setup.sh",
        "installs labsh's requirements with the system's package manager",
    ),
    ("tools/setup-tests.sh", "installs what the tests drive"),
    (
        "tools/test.sh",
        "the whole test suite (this test is part of it)",
    ),
    (
        "tools/devlab.sh",
        "starts the local real stack (libvirtd, VirtualBMC, the devcloud)",
    ),
    ("tests/harness/", "starts or installs a real component"),
    (
        "cargo build",
        "builds labsh: the test runs the binary cargo built for it",
    ),
    (
        "alias labsh=",
        "the reader's shell: the test runs the built binary",
    ),
    (
        "export ",
        "the reader's environment (a pull secret, a devcloud's clouds.yaml)",
    ),
    (
        "labsh run scripts/lab.rhai --target devlab",
        "the local real stack (tools/devlab.sh up)",
    ),
    (
        "labsh run scripts/lab.rhai --target targets/seed-host.yaml",
        "a real lab host: this machine is not the article's L0 host",
    ),
    (
        "labsh run scripts/lab.rhai --target mylab.yaml",
        "the reader's own target file",
    ),
    (
        "labsh run scripts/teardown.rhai --target mylab.yaml",
        "the reader's own target file",
    ),
    (
        "labsh status --target mylab.yaml",
        "the reader's own target file",
    ),
    (
        "labsh ssh ",
        "a director that answers: the sandbox only stands in for it (tests/ssh_node.rs)",
    ),
    (
        "labsh console ",
        "a running VM of a real libvirtd: the sandbox's has no console (tests/console.rs)",
    ),
    (
        "labsh run scripts/create_ocp_tenant.rhai",
        "an overcloud's admin credentials (overcloudrc)",
    ),
    (
        "labsh -e cloud::",
        "the devcloud (tests/harness/devcloud.sh start)",
    ),
    (
        "labsh -e baremetal::",
        "the devcloud (tests/harness/devcloud.sh start)",
    ),
    (
        "labsh -e virt::node_info(\"qemu:///system",
        "a libvirtd of the harness",
    ),
    // Rhai blocks that are parts of a variant, not scripts (their first line).
    (
        "fn director_repos(",
        "a hook of a variant (needs the reader's subscription)",
    ),
    ("ocp: #{", "a part of a variant's overrides"),
];

/// The skip rule for `text`, if any.
fn skip_rule(text: &str) -> Option<&'static (&'static str, &'static str)> {
    SKIPPED.iter().find(|(start, _)| text.starts_with(start))
}

/// `words` without the optional parts a synopsis writes in brackets (`[--target T]`).
fn without_optional(words: &[String]) -> Vec<String> {
    let mut out = vec![];
    let mut depth = 0;
    for w in words {
        if w.starts_with('[') {
            depth += 1;
        }
        if depth == 0 {
            out.push(w.clone());
        }
        if w.ends_with(']') && depth > 0 {
            depth -= 1;
        }
    }
    out
}

/// The README's and the guide's examples, in their order, on one fresh state folder, from an
/// empty folder outside the source tree (labsh's scripts, profiles and targets are the ones it
/// ships): every labsh command of their shell blocks runs and succeeds; a variant a block writes
/// (`// profiles/acme.rhai`) is written first; the README's first script runs on a machine
/// where its folder does not exist yet; `ls` of a folder in the state folder finds it. What
/// needs a real host is listed as skipped, by name, and a rule that skips nothing fails.
#[test]
fn the_readme_and_guide_examples_run_in_order_on_a_fresh_state() {
    let lab = Lab::new();
    let mut ran = vec![];
    let mut skipped: Vec<String> = vec![];
    let mut used = vec![false; SKIPPED.len()];
    let mut first_script = true;
    let run = |what: &str, args: Vec<String>| -> Out {
        let o = lab.labsh().args(&args).run();
        assert_eq!(
            o.code,
            0,
            "{what}: labsh {}\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            o.stdout,
            o.stderr
        );
        o
    };
    for b in blocks("README.md")
        .into_iter()
        .chain(blocks("docs/guide.md"))
    {
        let text = b.lines.join("\n");
        let first = b.lines.first().map(|l| l.trim()).unwrap_or("");
        match b.lang.as_str() {
            "rhai" => {
                if let Some(file) = first
                    .strip_prefix("// ")
                    .filter(|f| f.ends_with(".rhai") && f.contains('/'))
                {
                    lab.file(file, &text);
                    ran.push(format!("{}: wrote {file}", b.doc));
                } else if first_script {
                    // A fresh machine: the folder the script names does not exist yet.
                    first_script = false;
                    let dir = lab.work().join("fresh/lab");
                    assert!(text.contains("/tmp/lab"), "{text}");
                    let f = lab.file(
                        "readme-example.rhai",
                        &text.replace("/tmp/lab", &dir.display().to_string()),
                    );
                    run(
                        &format!("{}: the first script", b.doc),
                        vec!["run".into(), f.display().to_string()],
                    );
                    assert!(dir.join("undercloud.qcow2").exists(), "{}", dir.display());
                    ran.push(format!("{}: the first script", b.doc));
                } else {
                    let i = SKIPPED
                        .iter()
                        .position(|(s, _)| first.starts_with(s))
                        .unwrap_or_else(|| panic!("{}: a Rhai block this test does not know: run it, or list it in SKIPPED with why:\n{text}", b.doc));
                    used[i] = true;
                    skipped.push(format!("{}: {first}  ({})", b.doc, SKIPPED[i].1));
                }
            }
            "sh" => {
                for line in &b.lines {
                    for words in commands(line) {
                        let shown = words.join(" ");
                        if let Some(rule) = skip_rule(&shown) {
                            used[SKIPPED.iter().position(|r| r == rule).unwrap()] = true;
                            skipped.push(format!("{}: {shown}  ({})", b.doc, rule.1));
                            continue;
                        }
                        let words = without_optional(&words);
                        let args: Vec<String> = match words[0].as_str() {
                            "labsh" => words[1..].to_vec(),
                            "cargo" if words[1..4] == ["run", "--release", "--"] => {
                                words[4..].to_vec()
                            }
                            "ls" => {
                                let rel = words[1]
                                    .strip_prefix("~/.local/state/labsh/")
                                    .unwrap_or_else(|| panic!("{}: ls of {shown}", b.doc));
                                assert!(
                                    lab.state().join(rel).is_dir(),
                                    "{}: {shown}: no such folder in the state folder",
                                    b.doc
                                );
                                ran.push(format!("{}: {shown}", b.doc));
                                continue;
                            }
                            _ => panic!(
                                "{}: a command this test does not know: {shown}; run it, or list it in SKIPPED with why",
                                b.doc
                            ),
                        };
                        run(b.doc, args);
                        ran.push(format!("{}: {shown}", b.doc));
                    }
                }
            }
            _ => {}
        }
    }
    eprintln!("ran:\n  {}", ran.join("\n  "));
    eprintln!("skipped:\n  {}", skipped.join("\n  "));
    assert!(!first_script, "the README's first script was not found");
    for (i, u) in used.iter().enumerate() {
        assert!(
            u,
            "SKIPPED rule {:?} skips nothing: remove it",
            SKIPPED[i].0
        );
    }
    // The README's order: the seed, then a variant, then today's releases, each in its folder.
    for (lab_name, file) in [
        ("lab", "install-config.yaml"),
        ("mini", "instackenv.json"),
        ("acme", "lab.json"),
    ] {
        let p = lab.state().join("out/sandbox").join(lab_name).join(file);
        // A plan writes nothing: acme's record is only planned.
        assert_eq!(p.exists(), lab_name != "acme", "{}", p.display());
    }
    assert!(ran.len() >= 12, "{ran:?}");
}

/// The files of `dir` (names relative to it).
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = crate::support::walk(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

/// The labs whose marks a sandbox file holds.
fn marks(host_xml: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(host_xml).unwrap();
    let mut v: Vec<String> = text
        .split("<labsh:lab ")
        .skip(1)
        .map(|s| {
            let s = &s[s.find('>').unwrap() + 1..];
            s[..s.find('<').unwrap()].to_string()
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The seed, then `current` (OSP 17.1), then `minimal` on one state folder: each runs, plans and
/// continues (`--from l1`) in its own sandbox and output folder, and none holds another's files
/// (before, `current` stopped in l1 on the seed's overlays, and node-info.yaml of one lab sat
/// beside baremetal_deployment.yaml of another).
#[test]
fn three_profiles_run_in_order_on_one_state_each_in_its_own_folders() {
    let lab = Lab::new();
    let lab_rhai = "scripts/lab.rhai";
    for args in [
        vec!["run", lab_rhai],
        vec!["run", lab_rhai, "--profile", "current", "--plan"],
        vec!["run", lab_rhai, "--profile", "current"],
        vec!["run", lab_rhai, "--profile", "current", "--from", "l1"],
        vec!["run", lab_rhai, "--profile", "minimal"],
        vec!["run", lab_rhai, "--profile", "minimal", "--plan"],
    ] {
        lab.run(&args).ok();
    }
    let out = lab.state().join("out/sandbox");
    let seed = names_in(&out.join("lab"));
    let current = names_in(&out.join("current"));
    let mini = names_in(&out.join("mini"));
    assert!(seed.contains(&"node-info.yaml".to_string()), "{seed:?}");
    assert!(
        !seed.contains(&"baremetal_deployment.yaml".to_string()),
        "{seed:?}"
    );
    assert!(
        current.contains(&"baremetal_deployment.yaml".to_string()),
        "{current:?}"
    );
    assert!(
        !current.contains(&"node-info.yaml".to_string()),
        "{current:?}"
    );
    assert!(
        !mini.contains(&"ceph-config.yaml".to_string()),
        "mini has no Ceph: {mini:?}"
    );
    // Nothing of the shared layout left in the target's folder.
    let top: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let mut top = top;
    top.sort();
    assert_eq!(top, ["current", "lab", "mini"]);
    // Each lab's files say what that lab is.
    let node_info = |l: &str| std::fs::read_to_string(out.join(l).join("node-info.yaml")).unwrap();
    assert!(
        node_info("lab").contains("ControllerCount: 3"),
        "{}",
        node_info("lab")
    );
    assert!(
        node_info("mini").contains("ControllerCount: 1"),
        "{}",
        node_info("mini")
    );
    assert!(
        node_info("mini").contains("CephStorageCount: 0"),
        "{}",
        node_info("mini")
    );
    let nodes = |l: &str| {
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(l).join("instackenv.json")).unwrap(),
        )
        .unwrap();
        v["nodes"].as_array().unwrap().len()
    };
    assert_eq!((nodes("lab"), nodes("current"), nodes("mini")), (7, 7, 2));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("mini/lab.json")).unwrap()).unwrap();
    assert_eq!(record["profile"], "minimal");
    assert_eq!(record["target"], "sandbox");
    // Each sandbox holds its own lab only, its images in its own folder.
    for l in ["lab", "current", "mini"] {
        let dir = lab.state().join("sandbox").join(l);
        assert_eq!(marks(&dir.join("host.xml")), [l.to_string()]);
        assert!(dir.join("images/undercloud.qcow2").exists(), "{l}");
    }
    assert!(!lab.state().join("sandbox/host.xml").exists());
    // The seed again: its sandbox and folder are as it left them.
    let o = lab.run(["run", lab_rhai, "--json"]);
    o.ok();
    let recap = o.json_lines().pop().unwrap();
    assert_eq!(recap["totals"]["changed"], 0, "{recap}");
}

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

/// A target file for this test's own machine whose disk folders do not exist: the plan lists
/// every preflight failure, goes on through every stage, and exits 1 listing them again (before,
/// it stopped at preflight and showed nothing else). Its director, still to be made, is never
/// contacted.
#[test]
fn a_plan_on_a_host_that_is_not_ready_lists_every_failure_and_goes_on() {
    let lab = Lab::new();
    let w = lab.work();
    let t = lab.file(
        "bare-host.yaml",
        &format!(
            "libvirt_uri: test:///default\nimages: {w}/missing-images\ndisk_folders: {{ssd: {w}/missing-ssd}}\nundercloud: {{host: 127.0.0.1, port: 1}}\nhosts_file: out/hosts\nprofile: {{host: {{memory_overcommit: 100}}}}\n",
            w = w.display()
        ),
    );
    let o = lab.run([
        "run",
        "scripts/lab.rhai",
        "--target",
        t.to_str().unwrap(),
        "--plan",
        "--json",
    ]);
    o.code(1);
    let lines = o.json_lines();
    let printed: Vec<&str> = lines
        .iter()
        .filter(|l| l["event"] == "print")
        .filter_map(|l| l["text"].as_str())
        .collect();
    let all = printed.join("\n");
    for s in [
        "plan: 2 preflight check(s) fail: a run would stop here; the plan goes on",
        "plan: a run would stop at preflight: 2 check(s) fail",
        "missing-images",
        "missing-ssd",
    ] {
        assert!(all.contains(s), "{s}:\n{all}");
    }
    let recap = lines.last().unwrap();
    for s in crate::support::LAB_STAGES {
        assert!(recap_stage(recap, s).is_some(), "{s}: {recap}");
    }
    assert_eq!(
        recap_stage(recap, "preflight").unwrap()["failed"],
        2,
        "{recap}"
    );
    assert!(
        recap_stage(recap, "l1").unwrap()["planned"]
            .as_u64()
            .unwrap()
            > 20,
        "{recap}"
    );
    assert!(
        recap_stage(recap, "undercloud").unwrap()["planned"]
            .as_u64()
            .unwrap()
            > 5,
        "{recap}"
    );
    // The director is not there yet: nothing was asked of it.
    assert!(!all.contains("127.0.0.1 port 1"), "{all}");
    assert!(!o.stderr.contains("ssh to"), "{}", o.stderr);
    // The plan says what the run would do, not that undone steps are done.
    assert!(!all.contains("node provide: done"), "{all}");
    assert!(!all.contains("profiles: done"), "{all}");
    assert!(
        all.contains("node provide: would be done by the introspection planned above"),
        "{all}"
    );
}

/// Two labs on one libvirt (the seed's sandbox given to `current` as a target file's URI):
/// preflight fails naming the other lab, its domains and networks and the command that removes
/// it; no stack trace; a plan shows it as a preflight failure and goes on.
#[test]
fn another_lab_in_the_way_is_a_preflight_failure_naming_it() {
    let lab = Lab::new();
    lab.run(["run", "scripts/lab.rhai"]).ok();
    for d in ["images", "ssd"] {
        std::fs::create_dir_all(lab.work().join(d)).unwrap();
    }
    let shared = lab.state().join("sandbox/lab/host.xml");
    let t = lab.file(
        "shared-host.yaml",
        &format!(
            "libvirt_uri: test://{}\nimages: {w}/images\ndisk_folders: {{ssd: {w}/ssd}}\nundercloud: {{offline: true}}\ncluster: {{offline: true}}\nhosts_file: out/hosts\nprofile: {{host: {{memory_overcommit: 100}}, vms: {{ceph: {{osd_disks: [1G]}}}}}}\n",
            shared.display(),
            w = lab.work().display()
        ),
    );
    let target = t.to_str().unwrap();
    let o = lab.run([
        "run",
        "scripts/lab.rhai",
        "--profile",
        "current",
        "--target",
        target,
        "--only",
        "preflight",
    ]);
    o.code(1)
        .stdout_has("lab lab has domains overcloud-ceph01")
        .stdout_has("undercloud and networks provisioning")
        .stdout_has("lab current would make them too")
        .stdout_has("remove lab lab first (labsh run scripts/teardown.rhai --profile seed --yes)")
        .stderr_has("1 preflight check(s) failed");
    assert!(!o.stderr.contains("in call to function"), "{}", o.stderr);
    let o = lab.run([
        "run",
        "scripts/lab.rhai",
        "--profile",
        "current",
        "--target",
        target,
        "--plan",
    ]);
    o.code(1)
        .stdout_has("plan: 1 preflight check(s) fail")
        .stdout_has("plan: l1 cannot be planned: 8 of 8 domains failed")
        .stdout_has("plan: a run would stop at preflight: 1 check(s) fail");
    assert!(!o.stderr.contains("in call to function"), "{}", o.stderr);
    assert!(!o.stderr.contains("-->"), "{}", o.stderr);
    // The other lab was not touched.
    assert_eq!(marks(&shared), ["lab"]);
    // Its own sandbox, no one in its way.
    lab.run([
        "run",
        "scripts/lab.rhai",
        "--profile",
        "current",
        "--only",
        "preflight",
    ])
    .ok()
    .stdout_has("no other lab's VMs or networks in lab current's way");
}

/// A state folder an earlier labsh left (every lab's output in out/TARGET, one sandbox for every
/// lab): the output is moved into the folder of the lab its libvirt definitions name, the old
/// sandbox is named and left alone, and the run works; a plan only shows the moves.
#[test]
fn a_state_folder_of_the_shared_layout_is_moved_into_the_labs_folders() {
    let lab = Lab::new();
    let old = lab.state().join("out/sandbox");
    std::fs::create_dir_all(old.join("libvirt")).unwrap();
    std::fs::create_dir_all(old.join("ocp")).unwrap();
    std::fs::write(
        old.join("libvirt/network-default.xml"),
        "<network><name>default</name></network>\n",
    )
    .unwrap();
    std::fs::write(
        old.join("libvirt/domain-undercloud.xml"),
        "<domain><name>undercloud</name><metadata><labsh:lab xmlns:labsh=\"https://labsh.dev/xmlns/lab/1\">mini</labsh:lab></metadata></domain>\n",
    )
    .unwrap();
    std::fs::write(
        old.join("ocp/.openshift_install.log"),
        "the installer's log\n",
    )
    .unwrap();
    std::fs::write(old.join("hosts-block.txt"), "the old block\n").unwrap();
    std::fs::create_dir_all(lab.state().join("sandbox/images")).unwrap();
    std::fs::write(lab.state().join("sandbox/host.xml"), "<node/>\n").unwrap();

    let o = lab.run(["run", "scripts/lab.rhai", "--plan"]);
    o.ok().stderr_has("planned  file.move");
    assert!(old.join("hosts-block.txt").exists(), "a plan moves nothing");

    let o = lab.run(["run", "scripts/lab.rhai"]);
    o.ok()
        .stdout_has("held lab mini's output as an earlier labsh wrote it")
        .stdout_has("moved 3 entries into")
        .stdout_has("the sandbox an earlier labsh kept for every lab");
    let mini = old.join("mini");
    assert_eq!(
        std::fs::read_to_string(mini.join("ocp/.openshift_install.log")).unwrap(),
        "the installer's log\n"
    );
    assert_eq!(
        std::fs::read_to_string(mini.join("hosts-block.txt")).unwrap(),
        "the old block\n"
    );
    assert!(mini.join("lab.json").exists());
    assert!(
        old.join("lab/install-config.yaml").exists(),
        "the seed's own run"
    );
    assert!(
        lab.state().join("sandbox/host.xml").exists(),
        "the old sandbox is left alone"
    );
    // Nothing left to move: the next run says nothing of it.
    let o = lab.run(["run", "scripts/lab.rhai", "--profile", "minimal"]);
    o.ok();
    assert!(!o.stdout.contains("earlier labsh wrote it"), "{}", o.stdout);
    assert!(mini.join("undercloud.conf").exists());
}
