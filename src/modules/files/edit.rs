//! Line-level editors that change only what they are asked to: an INI setter that keeps
//! comments, order, spacing and repeated keys, and a marked block in a hosts-style file.

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
/// Returns the new text, or `None` when nothing changes.
pub fn ini_set(text: &str, section: &str, key: &str, value: &str) -> Option<String> {
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
                return None;
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
    Some(s)
}

fn markers(name: &str) -> (String, String) {
    (
        format!("# BEGIN labsh {name}"),
        format!("# END labsh {name}"),
    )
}

/// Makes the block `name` of a hosts-style file hold `body` lines (an empty body removes it).
/// Everything outside the markers is kept as it is. `None` when nothing changes.
pub fn block_set(text: &str, name: &str, body: &[String]) -> Result<Option<String>, String> {
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
            return Err(format!(
                "the markers of block '{name}' are broken (one of '{begin}' / '{end}' is missing or out of order); fix the file by hand"
            ))
        }
    }
    let mut s = out.join("\n");
    if !s.is_empty() {
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
        let t = ini_set(NOVA, "neutron", "timeout", "300").unwrap();
        assert!(t.contains("#timeout=30\nurl=http://x:9696\nmultiple=a\nmultiple=b\ntimeout = 300\n\n[libvirt]"), "{t}");
        assert_eq!(ini_set(&t, "neutron", "timeout", "300"), None);
        let t2 = ini_set(&t, "DEFAULT", "debug", "True").unwrap();
        assert!(t2.contains("debug=True\n"));
        let t3 = ini_set(&t2, "new", "k", "v").unwrap();
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
        for _ in 0..5000 {
            let text = random_text(&mut r);
            let section = r.pick(&["DEFAULT", "neutron", "a b", "new"]);
            let key = r.pick(&["timeout", "key", "k"]);
            if let Some(new) = ini_set(&text, section, key, "999") {
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
                    Some("999"),
                    "{text:?} -> {new:?}"
                );
            }
            let body = vec!["1.2.3.4 a".to_string()];
            if let Ok(Some(new)) = block_set(&text, "n", &body) {
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
