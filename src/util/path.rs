//! Programs on PATH.

use std::path::PathBuf;

/// Where `program` is on PATH: the first folder of PATH that holds a file of that name.
pub fn which(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Whether `program` is on PATH.
pub fn on_path(program: &str) -> bool {
    which(program).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path() {
        assert!(which("sh").is_some_and(|p| p.ends_with("sh")));
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-here"));
    }
}
