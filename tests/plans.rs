//! The plan of every shipped profile, as `labsh run scripts/lab.rhai --plan --profile P` prints
//! it (stdout and stderr), is the recorded one under tests/data/plans/: a change to the code that
//! changes what a lab would do shows here as a difference. The plans are made with `--jobs 1`, so
//! the effects of parallel work are printed in one order.
//!
//! What differs from run to run is normalised before comparing: the test's own folder (the state
//! folder, home, work) becomes `$LAB`, the source tree `$SRC`, the recap's time column `T`, and the
//! free space preflight finds on the test machine's disk `N GiB free`.
//!
//! To record them again after a change that means to change a plan:
//!
//! ```text
//! LABSH_RECORD_PLANS=1 cargo nextest run -E 'test(/^plans::/)'
//! git diff tests/data/plans/   # every difference is one the change meant
//! ```

use crate::support::Lab;
use std::path::{Path, PathBuf};

/// The profiles labsh ships: the seed and the variants in profiles/.
const PROFILES: [&str; 5] = ["seed", "minimal", "large", "current", "rhoso"];

fn recorded(profile: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/plans")
        .join(format!("{profile}.txt"))
}

/// A word of the recap's time column: `823ms`, `1.2s`, `2m03s`.
fn is_duration(w: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    if let Some(n) = w.strip_suffix("ms") {
        return digits(n);
    }
    if let Some(n) = w.strip_suffix('s') {
        return match n.split_once('m') {
            Some((m, s)) => digits(m) && digits(s),
            None => digits(n),
        };
    }
    w.strip_suffix('m').is_some_and(digits)
}

/// The run-specific parts of a plan's output made constant (see the module's doc).
fn normalise(text: &str, lab: &Path) -> String {
    let text = text
        .replace(&lab.display().to_string(), "$LAB")
        .replace(env!("CARGO_MANIFEST_DIR"), "$SRC");
    let mut out = String::new();
    let mut in_recap = false;
    for line in text.lines() {
        in_recap |= line.starts_with("RECAP ");
        let mut l = line.to_string();
        if in_recap {
            l = line
                .split_inclusive(' ')
                .map(|w| {
                    let t = w.trim_end();
                    if is_duration(t) {
                        format!("{:>width$}", "T", width = t.len()) + &w[t.len()..]
                    } else {
                        w.to_string()
                    }
                })
                .collect();
        }
        if let Some(i) = l.find(" GiB free") {
            let start = l[..i].rfind(' ').map_or(0, |s| s + 1);
            l = format!("{}N{}", &l[..start], &l[i..]);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn the_plan_of_every_shipped_profile_is_the_recorded_one() {
    let record = std::env::var_os("LABSH_RECORD_PLANS").is_some();
    let mut differ = vec![];
    for profile in PROFILES {
        let lab = Lab::new();
        let o = lab
            .run_script("lab.rhai")
            .args(["--plan", "--jobs", "1", "--profile", profile])
            .run();
        o.ok();
        let got = normalise(
            &format!("--- stdout\n{}--- stderr\n{}", o.stdout, o.stderr),
            lab.root.path(),
        );
        let file = recorded(profile);
        if record {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file).unwrap_or_else(|e| {
            panic!("{}: {e} (LABSH_RECORD_PLANS=1 records it)", file.display())
        });
        if got != want {
            let first = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            differ.push(format!(
                "{profile}: differs from {} at line {}:\n  got:  {}\n  want: {}",
                file.display(),
                first + 1,
                got.lines().nth(first).unwrap_or("(end)"),
                want.lines().nth(first).unwrap_or("(end)")
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn the_normalisation_keeps_what_a_plan_does() {
    let lab = Path::new("/tmp/.tmpAbC");
    let text = "  planned  file.write /tmp/.tmpAbC/state/x\nfree  pass  186 GiB free in /tmp/.tmpAbC/state/i\nRECAP  ok  time  status\nl1   0   48   44ms  done\ntotal  0  113  1.5s\nmain  2m03s\n";
    assert_eq!(
        normalise(text, lab),
        "  planned  file.write $LAB/state/x\nfree  pass  N GiB free in $LAB/state/i\nRECAP  ok  time  status\nl1   0   48      T  done\ntotal  0  113     T\nmain      T\n"
    );
}
