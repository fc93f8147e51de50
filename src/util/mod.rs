//! Small helpers that more than one module needs, one file each: no Rhai types, no effects.
//! Bindings and clients call them; they call nothing of labsh's.

pub mod cidr;
pub mod crd_schema;
pub mod digest;
pub mod path;
pub mod read;
pub mod size;
pub mod suggest;
pub mod yaml;

/// A name the user gave, as an error quotes it (between quotes of the caller's): on one line,
/// its control characters escaped, and bounded: a name of over 80 characters shows its first 60,
/// then its length, so a huge argument does not flood the error that names it.
pub fn clip(s: &str) -> String {
    let n = s.chars().count();
    let take = if n > 80 { 60 } else { n };
    let mut out = String::new();
    for c in s.chars().take(take) {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    if n > 80 {
        out.push_str(&format!("… ({n} characters)"));
    }
    out
}

/// A value the user gave, as an error shows it: quoted as Rust's `{:?}` quotes it, and bounded
/// as `clip` bounds a name (its first 60 characters, then its length, when it has over 80).
pub fn shown(s: &str) -> String {
    let n = s.chars().count();
    if n <= 80 {
        return format!("{s:?}");
    }
    let head: String = s.chars().take(60).collect();
    format!("{head:?}… ({n} characters)")
}

#[cfg(test)]
mod clip_tests {
    #[test]
    fn a_name_is_shown_on_one_line_and_bounded() {
        assert_eq!(super::clip("ctrl-0"), "ctrl-0");
        assert_eq!(super::clip("a'b\\c\nd\u{1b}"), "a'b\\c\\nd\\u{1b}");
        let exact = "é".repeat(80);
        assert_eq!(super::clip(&exact), exact);
        let huge = "é".repeat(100_000);
        assert_eq!(
            super::clip(&huge),
            format!("{}… (100000 characters)", "é".repeat(60))
        );
        assert_eq!(super::shown("a\"b"), "\"a\\\"b\"");
        assert_eq!(
            super::shown(&huge),
            format!("\"{}\"… (100000 characters)", "é".repeat(60))
        );
    }
}

/// Fixtures of the unit tests.
#[cfg(test)]
pub mod testing {
    use std::path::PathBuf;

    /// `text` written to `name` in a new temporary folder (removed when the folder is dropped).
    pub fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        (dir, p)
    }
}
