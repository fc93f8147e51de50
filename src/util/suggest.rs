//! "Did you mean": the known name closest to a mistyped one.

/// Levenshtein distance between two words, in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word`, for did-you-mean hints; `None` when none is close.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// " (did you mean 'c'?)" for the closest of `candidates` to `word`, or "" when none is close:
/// the tail of an error naming an unknown word.
pub fn hint<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("stage", "stag"), 1);
        assert_eq!(closest("l1", ["l0", "l1", "tenant"]), Some("l1"));
        assert_eq!(closest("tenent", ["l0", "tenant"]), Some("tenant"));
        assert_eq!(closest("zzzzzz", ["l0", "tenant"]), None);
        assert_eq!(
            hint("tenent", ["l0", "tenant"]),
            " (did you mean 'tenant'?)"
        );
        assert_eq!(hint("zzzzzz", ["l0", "tenant"]), "");
    }
}
