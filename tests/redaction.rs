//! Masking that the shape of a secret cannot break: canary secrets of each awkward shape (several
//! lines with short ones, a JSON fragment, a common word, whitespace, quotes and backslashes)
//! through every output path (stdout, stderr, errors, `--json` and the journal read line by
//! line, the recap); the encoded forms a program prints; a file written from a program's output;
//! and `/proc/PID/environ` of a running labsh.

use crate::support::{Lab, CANARY_VALUE};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// The mask of the secret `x` every test here uses.
const MASK: &str = "«secret x»";

/// A script that uses the secret `x` every way a value reaches output: a program prints it
/// between marks on stdout and stderr; the script prints what it got back and passes that text
/// on to another program (its command line is shown shell-quoted); a failing program prints it
/// on stderr, which makes the run's error.
const USES: &str = r#"
let x = secret("x");
stage("uses", || {
    let r = run(["sh", "-c", "printf '<%s>\n' \"$V\"; printf '<%s>\n' \"$V\" >&2"], #{env: #{V: x}});
    print(r.stdout);
    print(`got ${r.stdout}`);
    run(["printf", "%s", r.stdout], #{quiet: true});
    run(["true"]);
});
stage("fails", || {
    run(["sh", "-c", "printf '<%s>\n' \"$V\" >&2; exit 3"], #{env: #{V: secret("x")}});
});
"#;

/// What one shape of secret left: each output of a human run and of a `--json` run, and both
/// runs' journals.
struct Runs {
    human: String,
    stderr: String,
    json: Vec<Value>,
    journals: Vec<Vec<Value>>,
}

/// Every line of `text` as JSON: a line that is not is a failed test.
fn json_lines(text: &str, what: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{what}: a line is not JSON ({e}): {l:?}\n{text}"))
        })
        .collect()
}

fn run_with(value: &str) -> Runs {
    let lab = Lab::new();
    let f = lab.file("uses.rhai", USES);
    let human = lab
        .labsh()
        .args(["run", f.to_str().unwrap()])
        .env("LABSH_SECRET_X", value)
        .run();
    human.code(1);
    let json = lab
        .labsh()
        .args(["run", "--json", f.to_str().unwrap()])
        .env("LABSH_SECRET_X", value)
        .run();
    json.code(1);
    assert!(
        json.stderr.is_empty(),
        "--json writes only to stdout: {}",
        json.stderr
    );
    let journals = lab
        .journals()
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            json_lines(&text, &p.display().to_string())
        })
        .collect();
    Runs {
        human: human.stdout.clone(),
        stderr: human.stderr.clone(),
        json: json_lines(&json.stdout, "--json"),
        journals,
    }
}

/// The events of a run as their kinds and keys, the warnings about weak secrets aside.
fn shape(events: &[Value]) -> Vec<(String, Vec<String>)> {
    events
        .iter()
        .filter(|e| e["event"] != "warning")
        .map(|e| {
            let mut keys: Vec<String> = e.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            (e["event"].as_str().unwrap_or_default().to_string(), keys)
        })
        .collect()
}

/// The labels of a run's events: what each is, its stage, its operation and outcome or status.
fn labels(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] != "warning")
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            format!(
                "{} {} {} {} {}",
                s("event"),
                s("stage"),
                s("op"),
                s("outcome"),
                s("status")
            )
        })
        .collect()
}

/// Every string a run left: its human output, and each string in its JSON lines and journals.
fn texts(r: &Runs) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut out = vec![r.human.clone(), r.stderr.clone()];
    for e in r.json.iter().chain(r.journals.iter().flatten()) {
        strings(e, &mut out);
    }
    out
}

/// Where `value` (printed between `<` and `>`) shows in `text`: its first line after the `<`,
/// its last before the `>`, a line of it longer than a few characters anywhere, and a shorter
/// one as a whole line of output.
fn unmasked(value: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = value.split('\n').collect();
    let mut found = vec![];
    for marked in [
        format!("<{}", lines[0]),
        format!("{}>", lines[lines.len() - 1]),
    ] {
        if text.contains(&marked) {
            found.push(marked);
        }
    }
    for mid in lines.iter().skip(1).take(lines.len().saturating_sub(2)) {
        let mid = mid.trim();
        let shown = |l: &str| l.rsplit("│ ").next().unwrap_or(l).trim() == mid;
        if mid.chars().count() >= 4 && text.contains(mid) || text.lines().any(shown) {
            found.push(mid.to_string());
        }
    }
    found
}

/// labsh's recap table without its time column.
fn recap_rows(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .skip_while(|l| !l.starts_with("RECAP"))
        .take(4)
        .map(|l| {
            l.split_whitespace()
                .enumerate()
                .filter(|(i, _)| *i != 5)
                .map(|(_, w)| w)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Checks that `value` never shows in the runs of [`USES`], that what marks it is masked, and
/// that every label, key and table of labsh is as it is with a strong secret.
fn check_shape(value: &str) {
    // As many lines as the value, each a strong one.
    let reference: Vec<String> = (0..value.split('\n').count())
        .map(|i| format!("Reference-Line-{i}-0123456789"))
        .collect();
    let reference = run_with(&reference.join("\n"));
    let r = run_with(value);
    for text in texts(&r) {
        assert_eq!(unmasked(value, &text), Vec::<String>::new(), "in:\n{text}");
    }
    // What marks the value is masked: in the stream, in what the script printed, in the error.
    assert!(r.stderr.contains(&format!("<{MASK}")), "{}", r.stderr);
    assert!(r.human.contains(&format!("got <{MASK}")), "{}", r.human);
    assert!(
        r.stderr.contains("error: command failed with exit code 3"),
        "{}",
        r.stderr
    );
    // labsh's own labels and table, as with a strong secret.
    for want in [
        "── uses\n",
        "── fails\n",
        "  changed  run true",
        "  failed   run sh -c",
        "RECAP     ok  changed  planned  failed      time  status\n",
        "stage 'fails' failed; to continue from it:",
    ] {
        assert!(
            r.stderr.contains(want),
            "stderr lacks {want:?}:\n{}",
            r.stderr
        );
    }
    assert_eq!(
        recap_rows(&r.stderr),
        recap_rows(&reference.stderr),
        "{}",
        r.stderr
    );
    // --json and the journals: every line JSON, the same events with the same keys and labels.
    assert_eq!(shape(&r.json), shape(&reference.json));
    assert_eq!(labels(&r.json), labels(&reference.json));
    assert_eq!(r.journals.len(), reference.journals.len());
    for (j, rj) in r.journals.iter().zip(&reference.journals) {
        assert_eq!(shape(j), shape(rj));
        assert_eq!(labels(j), labels(rj));
        let err = j
            .iter()
            .find(|e| e["event"] == "error")
            .expect("an error event");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(MASK), "{message}");
    }
    let out: Vec<&Value> = r.json.iter().filter(|e| e["event"] == "output").collect();
    assert_eq!(
        out.len(),
        shape(&reference.json)
            .iter()
            .filter(|(e, _)| e == "output")
            .count()
    );
    for e in out {
        assert!(e["line"].as_str().unwrap().contains(MASK), "{e}");
    }
}

#[test]
fn a_secret_of_several_lines_with_short_ones_is_masked_line_by_line_everywhere() {
    check_shape("pw1\nmiddle-line-of-it\nxyz\n12");
}

#[test]
fn a_secret_that_is_a_json_fragment_leaves_every_json_line_whole() {
    check_shape("{\"eve");
}

#[test]
fn a_secret_that_is_a_common_word_leaves_labsh_s_labels_and_is_named_in_one_warning() {
    check_shape("changed");
    let lab = Lab::new();
    let o = lab
        .labsh()
        .args(["-e", "let a = secret(\"x\"); let b = secret(\"x\"); run([\"sh\", \"-c\", \"echo $V changed\"], #{env: #{V: a}}); b"])
        .env("LABSH_SECRET_X", "changed")
        .run();
    o.ok();
    assert_eq!(
        o.stderr.matches("secret x is weak").count(),
        1,
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(&format!("sh │ {MASK} {MASK}")),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("  changed  run sh -c"), "{}", o.stderr);
    assert!(o.stdout.contains(MASK), "{}", o.stdout);
}

#[test]
fn a_secret_of_four_spaces_leaves_the_recap_and_the_layout() {
    check_shape("    ");
}

#[test]
fn a_secret_with_quotes_and_backslashes_is_masked_also_shell_quoted_on_a_command_line() {
    let value = "it's \"q\\uote\" \\\\ back-7";
    check_shape(value);
    // The text the script got back went on to another program's command line: shown quoted.
    let lab = Lab::new();
    let f = lab.file("uses.rhai", USES);
    let o = lab
        .labsh()
        .args(["run", "--json", f.to_str().unwrap()])
        .env("LABSH_SECRET_X", value)
        .run();
    let targets: Vec<String> = json_lines(&o.stdout, "--json")
        .iter()
        .filter(|e| e["event"] == "effect" && e["target"].as_str().unwrap().starts_with("printf"))
        .map(|e| e["target"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(targets.len(), 1, "{}", o.stdout);
    assert!(targets[0].contains(MASK), "{}", targets[0]);
    assert!(!targets[0].contains("it'\\''s"), "{}", targets[0]);
}

/// Prints each encoded form of `$V` as `NAME=FORM`, and writes them as JSON to the file it is
/// given (for the test to look for them, not through labsh).
const ENCODE: &str = r#"
import base64, json, os, shlex, sys, urllib.parse
v = os.environ["V"]
b = v.encode()
forms = {
    "b64": base64.b64encode(b).decode(),
    "b64url": base64.urlsafe_b64encode(b).decode().rstrip("="),
    "b64echo": base64.b64encode(b + b"\n").decode(),
    "b64at1": base64.b64encode(b"a" + b + b"tail").decode(),
    "b64at2": base64.b64encode(b"ab" + b).decode(),
    "b64at3url": base64.urlsafe_b64encode(b"user:" + b).decode().rstrip("="),
    "shlex": shlex.quote(v),
    "json": json.dumps(v),
    "json_utf8": json.dumps(v, ensure_ascii=False),
    "json_doc": json.dumps({"password": v}),
    "quote": urllib.parse.quote(v, safe=""),
    "quote_plus": urllib.parse.quote_plus(v),
    "url": "https://u:" + urllib.parse.quote(v, safe="") + "@example.invalid/",
}
for k, f in forms.items():
    print(k + "=" + f)
json.dump(forms, open(sys.argv[1], "w"))
"#;

#[test]
fn the_encoded_forms_a_program_prints_are_masked_wherever_they_go() {
    let lab = Lab::new();
    let value = "p'a\"ss w/rd\\ é+7Kq-enc0ded";
    let expect = lab.work().join("forms.json");
    let kept = lab.work().join("from-child.txt");
    let py = lab.file("encode.py", ENCODE);
    let f = lab.file(
        "encode.rhai",
        &format!(
            r#"
let x = secret("x");
let r = run(["python3", "{py}", "{expect}"], #{{env: #{{V: x}}}});
let q = run(["bash", "-c", "printf 'printf_q=%q\n' \"$V\"; echo \"at_q=${{V@Q}}\""], #{{env: #{{V: x, LC_ALL: "C.UTF-8"}}}});
let c = run(["bash", "-c", "printf 'ansi_c=%q\n' \"$V\""], #{{env: #{{V: x, LC_ALL: "C"}}}});
let back = r.stdout + q.stdout + c.stdout;
print(back);
print(#{{back: back}});
files::write("{kept}", back);
throw back;
"#,
            py = py.display(),
            expect = expect.display(),
            kept = kept.display()
        ),
    );
    let human = lab
        .labsh()
        .args(["run", f.to_str().unwrap()])
        .env("LABSH_SECRET_X", value)
        .run();
    human.code(1);
    let forms: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(&expect).unwrap()).unwrap();
    let mut forms: Vec<(String, String)> = forms
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_string()))
        .collect();
    forms.push((
        "printf_q".into(),
        r#"p\'a\"ss\ w/rd\\\ é+7Kq-enc0ded"#.into(),
    ));
    forms.push(("at_q".into(), r#"'p'\''a"ss w/rd\ é+7Kq-enc0ded'"#.into()));
    forms.push((
        "ansi_c".into(),
        r#"$'p\'a"ss w/rd\\ \303\251+7Kq-enc0ded'"#.into(),
    ));
    // The file holds what the programs printed, for real, and is private.
    let text = std::fs::read_to_string(&kept).unwrap();
    for (k, form) in &forms {
        assert!(text.contains(&format!("{k}={form}")), "{k}: {text}");
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&kept).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "a file holding a secret is private");
    let json = lab
        .labsh()
        .args(["run", "--json", f.to_str().unwrap()])
        .env("LABSH_SECRET_X", value)
        .run();
    json.code(1);
    let events = json_lines(&json.stdout, "--json");
    let journals: String = lab
        .journals()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    for p in lab.journals() {
        json_lines(
            &std::fs::read_to_string(&p).unwrap(),
            &p.display().to_string(),
        );
    }
    for (k, form) in &forms {
        // Streamed, printed back (as text and in a map), thrown, in JSON and in the journal.
        for (what, text) in [
            ("stdout", &human.stdout),
            ("stderr", &human.stderr),
            ("--json", &json.stdout),
            ("the journal", &journals),
        ] {
            assert!(
                !text.contains(form.as_str()),
                "{k}={form} in {what}:\n{text}"
            );
        }
        let streamed = format!("│ {k}=");
        let line = human
            .stderr
            .lines()
            .find(|l| l.contains(&streamed))
            .unwrap_or_else(|| panic!("no {k} line:\n{}", human.stderr));
        assert!(line.contains(MASK), "{line}");
        assert!(human.stdout.contains(&format!("{k}=")), "{}", human.stdout);
    }
    assert!(human.stderr.contains("error: b64="), "{}", human.stderr);
    let error = events.iter().find(|e| e["event"] == "error").unwrap();
    assert!(error["message"].as_str().unwrap().contains(MASK), "{error}");
}

#[test]
fn a_file_written_from_a_program_s_output_that_holds_a_secret_is_private() {
    let lab = Lab::new();
    let out = lab.work().join("out.txt");
    let plain = lab.work().join("plain.txt");
    let f = lab.file(
        "write.rhai",
        &format!(
            r#"
let r = run(["sh", "-c", "echo \"password=$V\""], #{{env: #{{V: secret("canary")}}, quiet: true}});
files::write("{out}", r.stdout);
files::write("{plain}", "password=none\n");
"#,
            out = out.display(),
            plain = plain.display()
        ),
    );
    lab.run_file(&f).ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("password={CANARY_VALUE}\n")
    );
    let mode = |p: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o777
    };
    assert_eq!(mode(&out), 0o600);
    assert_eq!(mode(&plain), 0o644);
}

#[test]
fn a_running_labsh_has_no_secret_in_its_proc_environ_and_keeps_its_pid_and_signals() {
    let lab = Lab::new();
    let f = lab.file(
        "sleeps.rhai",
        r#"
let c = secret("canary");
// The value still reaches a program it is given to; the parent of a program is labsh itself.
let n = run(["sh", "-c", "printf %s \"$V\" | wc -c"], #{env: #{V: c}, quiet: true}).stdout;
let pid = run(["sh", "-c", "echo $PPID"], #{quiet: true}).stdout;
n.trim();
pid.trim();
print(`ready ${n} ${pid}`);
sleep(30);
"#,
    );
    let mut cmd = lab.labsh().args(["run", f.to_str().unwrap()]).command();
    cmd.env("LABSH_SECRET_OTHER", "other-value-7c1d9e")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Stopped and reaped when the test is done with it, whatever happens.
    let mut labsh = crate::support::Spawned(cmd.spawn().unwrap());
    let pid = labsh.0.id();
    let mut line = String::new();
    BufReader::new(labsh.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    assert_eq!(
        line.trim(),
        format!("ready {} {pid}", CANARY_VALUE.len()),
        "the secret is read, and the PID is labsh's own"
    );
    assert!(!environ.contains("LABSH_SECRET_"), "{environ}");
    assert!(!environ.contains(CANARY_VALUE));
    assert!(!environ.contains("other-value-7c1d9e"));
    assert!(
        environ.contains("LABSH_STATE_DIR="),
        "the rest of the environment stays"
    );
    assert_eq!(comm.trim(), "labsh", "ps names it as before");
    // A signal reaches it as before: SIGTERM stops the run, which exits 128 + 15.
    crate::support::run_ok(
        std::process::Command::new("kill").args(["-TERM", &pid.to_string()]),
        "kill -TERM",
    );
    let status = labsh.0.wait().unwrap();
    assert_eq!(status.code(), Some(143));
}
