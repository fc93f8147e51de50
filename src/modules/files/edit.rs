//! Line-level editors that change only what they are asked to: an INI setter that keeps
//! comments, order, spacing and repeated keys, and a marked block in a hosts-style file. Neither
//! writes what the file's syntax would read as more than it was given: a line break, a section
//! bracket or a key delimiter in a name, a line break in a value, a block marker inside a block
//! are refused, naming the argument.

use crate::error::Error;

/// The first character of `s` that breaks a line or is another control character, with its
/// place (counted in characters from 1). U+2028 and U+2029 count: some readers end lines there.
pub fn control_char(s: &str) -> Option<(usize, char)> {
    s.chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        .map(|(i, c)| (i + 1, c))
}

/// A control character in words: "a line break (\n)", "the control character U+001B".
pub fn describe_char(c: char) -> String {
    match c {
        '\n' => "a line break (\\n)".into(),
        '\r' => "a carriage return (\\r)".into(),
        '\t' => "a tab (\\t)".into(),
        c => format!("the control character U+{:04X}", c as u32),
    }
}

/// `what` (an argument's name) holds no control character; the error says which and where
/// without showing the text (a value may be a secret).
fn one_line(what: &str, s: &str) -> Result<(), Error> {
    match control_char(s) {
        Some((at, c)) => Err(Error::invalid(format!(
            "{what} holds {} at character {at}: it must be one line of text, or it writes lines of its own into the file",
            describe_char(c)
        ))),
        None => Ok(()),
    }
}

/// Refuses what `ini_set` would write as more than one setting: a section name with a control
/// character or a bracket, a key with a control character, `=` or `:` (INI readers split a line
/// at the first of them: oslo.config's iniparser, Python's configparser) or starting as a
/// comment or section does, a value with a control character; names and values with white space
/// at either end (readers drop it, so the file would never hold what was asked).
pub fn check_ini(section: &str, key: &str, value: &str) -> Result<(), Error> {
    one_line(&format!("section {section:?}"), section)?;
    if let Some(c) = section.chars().find(|c| matches!(c, '[' | ']')) {
        return Err(Error::invalid(format!(
            "section {section:?} holds '{c}': a section name cannot hold '[' or ']'"
        )));
    }
    if section.trim() != section {
        return Err(Error::invalid(format!(
            "section {section:?} has white space at its ends, which INI readers drop"
        )));
    }
    one_line(&format!("key {key:?}"), key)?;
    if key.trim().is_empty() {
        return Err("key is empty".into());
    }
    if let Some(c) = key.chars().find(|c| matches!(c, '=' | ':')) {
        return Err(Error::invalid(format!(
            "key {key:?} holds '{c}': INI readers end a key at the first '=' or ':'"
        )));
    }
    if let Some(c) = key.chars().next().filter(|c| matches!(c, '[' | '#' | ';')) {
        return Err(Error::invalid(format!(
            "key {key:?} starts with '{c}', which INI readers take for a section or a comment"
        )));
    }
    if key.trim() != key {
        return Err(Error::invalid(format!(
            "key {key:?} has white space at its ends, which INI readers drop"
        )));
    }
    one_line("value", value)?;
    if value.trim() != value {
        return Err("value has white space at its ends, which INI readers drop".into());
    }
    Ok(())
}

/// Whether a line is a labsh block marker (of any block).
fn is_marker(line: &str) -> bool {
    let l = line.trim();
    l.starts_with("# BEGIN labsh") || l.starts_with("# END labsh")
}

/// Refuses a block name other than letters, digits, '.', '_' and '-' (it is written into the
/// marker lines), and a line of the body with a control character or that is a labsh marker
/// (a block ending inside a block leaves lines outside it when it is removed).
pub fn check_block(name: &str, body: &[String]) -> Result<(), Error> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Error::invalid(format!(
            "name {name:?} must be letters, digits, '.', '_' and '-' (it is written into the block's marker lines)"
        )));
    }
    for (i, l) in body.iter().enumerate() {
        one_line(&format!("lines[{i}]"), l)?;
        if is_marker(l) {
            return Err(Error::invalid(format!(
                "lines[{i}] {l:?} is a labsh block marker: a block cannot hold markers, or removing it leaves lines behind"
            )));
        }
    }
    Ok(())
}

/// Where a key's active line is, in an INI text.
fn find_key(lines: &[&str], section: &str, key: &str) -> (Option<usize>, Option<usize>, bool) {
    // (line of the key, last line of the section's content, section found)
    let mut in_target = section.is_empty();
    let mut found_section = section.is_empty();
    let mut last_in_section = None;
    let mut hit = None;
    for (i, raw) in lines.iter().enumerate() {
        let l = raw.trim();
        if l.starts_with('[') && l.ends_with(']') {
            let name = l[1..l.len() - 1].trim().to_string();
            in_target = name == section;
            if in_target {
                found_section = true;
                last_in_section = Some(i);
            }
            continue;
        }
        if !in_target {
            continue;
        }
        if !l.is_empty() && !l.starts_with('#') && !l.starts_with(';') {
            last_in_section = Some(i);
            if hit.is_none() {
                if let Some((k, _)) = l.split_once('=') {
                    if k.trim() == key {
                        hit = Some(i);
                    }
                }
            }
        } else if last_in_section.is_none() {
            last_in_section = Some(i);
        }
    }
    (hit, last_in_section, found_section)
}

/// The value of `key` in `[section]` (the first active one), if set.
pub fn ini_get(text: &str, section: &str, key: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (hit, _, _) = find_key(&lines, section, key);
    hit.and_then(|i| lines[i].split_once('=').map(|(_, v)| v.trim().to_string()))
}

/// Sets `key = value` in `[section]`: the first active occurrence keeps its place and spacing;
/// a missing key goes after the section's last setting; a missing section goes at the end.
/// Returns the new text, or `None` when nothing changes; an error naming the argument that
/// [`check_ini`] refuses.
pub fn ini_set(text: &str, section: &str, key: &str, value: &str) -> Result<Option<String>, Error> {
    check_ini(section, key, value)?;
    let lines: Vec<&str> = text.lines().collect();
    let trailing_nl = text.ends_with('\n') || text.is_empty();
    let (hit, last, found) = find_key(&lines, section, key);
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    match hit {
        Some(i) => {
            let line = lines[i];
            let eq = line.find('=').unwrap_or(line.len());
            let (k, rest) = line.split_at(eq);
            let rest = &rest[1..];
            let lead = &rest[..rest.len() - rest.trim_start().len()];
            let old = rest.trim();
            if old == value {
                return Ok(None);
            }
            out[i] = format!("{k}={lead}{value}");
        }
        None if found => {
            let at = last.map(|l| l + 1).unwrap_or(out.len());
            out.insert(at, format!("{key} = {value}"));
        }
        None => {
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(format!("[{section}]"));
            out.push(format!("{key} = {value}"));
        }
    }
    let mut s = out.join("\n");
    if trailing_nl {
        s.push('\n');
    }
    Ok(Some(s))
}

fn markers(name: &str) -> (String, String) {
    (
        format!("# BEGIN labsh {name}"),
        format!("# END labsh {name}"),
    )
}

/// Makes the block `name` of a hosts-style file hold `body` lines (an empty body removes it).
/// Everything outside the markers is kept as it is. `None` when nothing changes; an error for
/// broken markers and for what [`check_block`] refuses.
pub fn block_set(text: &str, name: &str, body: &[String]) -> Result<Option<String>, Error> {
    check_block(name, body)?;
    let (begin, end) = markers(name);
    let lines: Vec<&str> = text.lines().collect();
    let b = lines.iter().position(|l| l.trim() == begin);
    let e = lines.iter().position(|l| l.trim() == end);
    let mut out: Vec<String> = vec![];
    match (b, e) {
        (Some(b), Some(e)) if e > b => {
            let current: Vec<&str> = lines[b + 1..e].to_vec();
            if !body.is_empty() && current.iter().map(|s| s.to_string()).collect::<Vec<_>>() == body {
                return Ok(None);
            }
            out.extend(lines[..b].iter().map(|s| s.to_string()));
            if !body.is_empty() {
                out.push(begin.clone());
                out.extend(body.iter().cloned());
                out.push(end.clone());
            }
            out.extend(lines[e + 1..].iter().map(|s| s.to_string()));
        }
        (None, None) => {
            if body.is_empty() {
                return Ok(None);
            }
            out.extend(lines.iter().map(|s| s.to_string()));
            out.push(begin.clone());
            out.extend(body.iter().cloned());
            out.push(end.clone());
        }
        _ => {
            return Err(Error::refused(format!(
                "the markers of block '{name}' are broken (one of '{begin}' / '{end}' is missing or out of order); fix the file by hand"
            )))
        }
    }
    // Every line ends with its line break; a file of one empty line keeps it.
    let mut s = out.join("\n");
    if !out.is_empty() {
        s.push('\n');
    }
    Ok(Some(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOVA: &str = "[DEFAULT]\n# a comment\ndebug=False\nvif_plugging_timeout = 300\n\n[neutron]\n#timeout=30\nurl=http://x:9696\nmultiple=a\nmultiple=b\n\n[libvirt]\nvirt_type=kvm\n";

    #[test]
    fn ini_keeps_everything_else() {
        let t = ini_set(NOVA, "neutron", "timeout", "300").unwrap().unwrap();
        assert!(t.contains("#timeout=30\nurl=http://x:9696\nmultiple=a\nmultiple=b\ntimeout = 300\n\n[libvirt]"), "{t}");
        assert_eq!(ini_set(&t, "neutron", "timeout", "300"), Ok(None));
        let t2 = ini_set(&t, "DEFAULT", "debug", "True").unwrap().unwrap();
        assert!(t2.contains("debug=True\n"));
        let t3 = ini_set(&t2, "new", "k", "v").unwrap().unwrap();
        assert!(t3.ends_with("virt_type=kvm\n\n[new]\nk = v\n"), "{t3}");
        assert_eq!(ini_get(&t3, "neutron", "multiple").as_deref(), Some("a"));
        assert_eq!(ini_get(&t3, "neutron", "timeout").as_deref(), Some("300"));
    }

    #[test]
    fn block_in_place() {
        let hosts = "127.0.0.1 localhost\n::1 localhost\n";
        let b = vec!["192.168.122.164 api.ocp4.osd2019.local".to_string()];
        let t = block_set(hosts, "ocp4", &b).unwrap().unwrap();
        assert!(t.starts_with(hosts));
        assert_eq!(block_set(&t, "ocp4", &b).unwrap(), None);
        let t2 = block_set(&format!("{t}10.0.0.1 after\n"), "ocp4", &[])
            .unwrap()
            .unwrap();
        assert_eq!(t2, format!("{hosts}10.0.0.1 after\n"));
        assert!(block_set("# BEGIN labsh x\nfoo\n", "x", &b).is_err());
    }

    /// Each way a name or value could write lines or settings of its own, refused naming the
    /// argument; the text is never shown for a value (it may be a secret).
    #[test]
    fn ini_names_and_values_that_would_add_settings_are_refused() {
        let cases: &[(&str, &str, &str, &str)] = &[
            (
                "DEFAULT",
                "k",
                "eth1\n[evil]\nx = y",
                "value holds a line break (\\n) at character 5",
            ),
            ("DEFAULT", "k", "a\rb", "value holds a carriage return"),
            (
                "DEFAULT",
                "k",
                "a\u{2028}b",
                "value holds the control character U+2028",
            ),
            (
                "DEFAULT",
                "k",
                "a\u{1b}[31m",
                "value holds the control character U+001B",
            ),
            (
                "DEFAULT",
                "k",
                " padded",
                "value has white space at its ends",
            ),
            ("DEFAULT", "k\nx", "v", "key \"k\\nx\" holds a line break"),
            ("DEFAULT", "a=b", "v", "key \"a=b\" holds '='"),
            ("DEFAULT", "a:b", "v", "key \"a:b\" holds ':'"),
            ("DEFAULT", "[x", "v", "starts with '['"),
            ("DEFAULT", "#x", "v", "starts with '#'"),
            ("DEFAULT", "", "v", "key is empty"),
            ("a]b", "k", "v", "section \"a]b\" holds ']'"),
            ("a\n[b", "k", "v", "section \"a\\n[b\" holds a line break"),
        ];
        for (section, key, value, says) in cases {
            let e = ini_set(NOVA, section, key, value).unwrap_err();
            assert!(
                e.message().contains(says),
                "{section:?} {key:?} {value:?}: {e}"
            );
            if value.contains('\n') {
                assert!(!e.message().contains("evil"), "the value is not shown: {e}");
            }
        }
    }

    #[test]
    fn a_block_name_or_line_that_would_escape_the_block_is_refused() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "ocp4\n10.0.0.1 evil",
                &["1.2.3.4 a"],
                "name \"ocp4\\n10.0.0.1 evil\" must be",
            ),
            ("a b", &["1.2.3.4 a"], "name \"a b\" must be"),
            ("", &["1.2.3.4 a"], "name \"\" must be"),
            (
                "n",
                &["1.2.3.4 a\n10.0.0.1 evil"],
                "lines[0] holds a line break",
            ),
            (
                "n",
                &["1.2.3.4 a", "# END labsh n", "10.0.0.1 evil"],
                "lines[1] \"# END labsh n\" is a labsh block marker",
            ),
            (
                "n",
                &["  # BEGIN labsh other"],
                "lines[0] \"  # BEGIN labsh other\" is a labsh block marker",
            ),
        ];
        for (name, body, says) in cases {
            let e = block_set("127.0.0.1 localhost\n", name, &lines(body)).unwrap_err();
            assert!(e.message().contains(says), "{name:?} {body:?}: {e}");
        }
        // A comment that is no marker is a line like any other.
        assert!(block_set("", "n", &lines(&["# the API", "1.2.3.4 api"])).is_ok());
    }

    /// A small deterministic generator, so the fuzz cases are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    fn random_text(r: &mut Rng) -> String {
        let parts = [
            "[DEFAULT]",
            "[neutron]",
            "[a b]",
            "key=1",
            "key = 2",
            "timeout=3",
            " timeout = 4",
            "#timeout=5",
            "; c",
            "",
            "  ",
            "x==y",
            "=",
            "[",
            "]",
            "[neutron",
            "k=v=w",
            "# BEGIN labsh n",
            "# END labsh n",
            "127.0.0.1 localhost",
            "\tTIMEOUT=6",
            "ünï=☃",
        ];
        let n = r.next() % 25;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(r.pick(&parts));
            s.push('\n');
        }
        s
    }

    /// Lines outside the edit are never lost or reordered: removing the edited line(s) from the
    /// old and the new text leaves the same sequence.
    #[test]
    fn fuzzed_edits_touch_only_their_lines() {
        let mut r = Rng(0x9e3779b97f4a7c15);
        for _ in 0..10000 {
            let text = random_text(&mut r);
            let section = r.pick(&["DEFAULT", "neutron", "a b", "new", "x]", "n\n[e"]);
            let key = r.pick(&["timeout", "key", "k", "k=v", "k\nx=y", "[s]"]);
            let value = r.pick(&["999", "999", "9\n[evil]\nx = y", "9\r\nz=1", " 9"]);
            let edited = ini_set(&text, section, key, value);
            if edited.is_err() {
                assert!(
                    check_ini(section, key, value).is_err(),
                    "{section:?} {key:?} {value:?}"
                );
            }
            if let Ok(Some(new)) = edited {
                let old: Vec<&str> = text.lines().collect();
                let newl: Vec<&str> = new.lines().collect();
                assert!(
                    newl.len() >= old.len() && newl.len() <= old.len() + 3,
                    "{text:?} -> {new:?}"
                );
                // Every old line appears in order in the new text, except at most one rewritten.
                let mut j = 0;
                let mut rewritten = 0;
                for l in &old {
                    while j < newl.len() && newl[j] != *l {
                        j += 1;
                    }
                    if j == newl.len() {
                        rewritten += 1;
                        j = 0;
                        continue;
                    }
                    j += 1;
                }
                assert!(rewritten <= 1, "{text:?} -> {new:?}");
                assert_eq!(
                    ini_get(&new, section, key).as_deref(),
                    Some(value),
                    "{text:?} -> {new:?}"
                );
            }
            let body: Vec<String> = (0..r.next() % 3)
                .map(|_| {
                    r.pick(&["1.2.3.4 a", "# END labsh n", "5.6.7.8 b\n9.9.9.9 c", "# x"])
                        .to_string()
                })
                .collect();
            let body = if body.is_empty() {
                vec!["1.2.3.4 a".to_string()]
            } else {
                body
            };
            if let Ok(Some(new)) = block_set(&text, "n", &body) {
                // The block holds its body exactly, and removing it leaves what was outside.
                let inner: Vec<&str> = new
                    .lines()
                    .skip_while(|l| l.trim() != "# BEGIN labsh n")
                    .skip(1)
                    .take_while(|l| l.trim() != "# END labsh n")
                    .collect();
                assert_eq!(inner, body, "{text:?} -> {new:?}");
                // Removing it takes exactly the block's lines, markers included.
                let b = new.lines().position(|l| l.trim() == "# BEGIN labsh n");
                let e = new.lines().position(|l| l.trim() == "# END labsh n");
                if let (Some(b), Some(e), Ok(Some(gone))) = (b, e, block_set(&new, "n", &[])) {
                    let rest: Vec<&str> = new
                        .lines()
                        .enumerate()
                        .filter(|(i, _)| *i < b || *i > e)
                        .map(|(_, l)| l)
                        .collect();
                    assert_eq!(
                        gone.lines().collect::<Vec<_>>(),
                        rest,
                        "{new:?} -> {gone:?}"
                    );
                }
                let strip = |t: &str| -> Vec<String> {
                    let mut out = vec![];
                    let mut inside = false;
                    for l in t.lines() {
                        if l.trim() == "# BEGIN labsh n" {
                            inside = true;
                        } else if l.trim() == "# END labsh n" {
                            inside = false;
                        } else if !inside {
                            out.push(l.to_string());
                        }
                    }
                    out
                };
                assert_eq!(strip(&text), strip(&new), "{text:?} -> {new:?}");
            }
        }
    }
}
