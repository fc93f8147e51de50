//! Embeds every `stdlib/*.rhai` file in the binary (see `src/engine/resolver.rs`), and the
//! scripts, profiles and targets labsh ships (`scripts/*.rhai`, `profiles/*.rhai`,
//! `targets/*.yaml`, see `src/paths.rs`), so that an installed labsh runs them from any folder.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The files of `dir` whose names end in `.ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    files
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets this"));

    let mut out = String::from(
        "/// The stdlib modules: (name, source).\npub static STDLIB: &[(&str, &str)] = &[\n",
    );
    for f in files(&root.join("stdlib"), "rhai") {
        let name = f
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            f.display().to_string()
        )
        .expect("string write");
    }
    out.push_str("];\n");
    #[expect(
        clippy::disallowed_methods,
        reason = "a build script writes what it generates into OUT_DIR, which cargo gives it"
    )]
    std::fs::write(out_dir.join("stdlib.rs"), out).expect("write stdlib.rs");

    let mut out = String::from(
        "/// The scripts, profiles and targets labsh ships: (path in the source tree, text).\n\
         pub static SHIPPED: &[(&str, &str)] = &[\n",
    );
    for (folder, ext) in [
        ("scripts", "rhai"),
        ("profiles", "rhai"),
        ("targets", "yaml"),
    ] {
        for f in files(&root.join(folder), ext) {
            let name = f
                .file_name()
                .and_then(|s| s.to_str())
                .expect("utf-8 file name");
            writeln!(
                out,
                "    (\"{folder}/{name}\", include_str!({:?})),",
                f.display().to_string()
            )
            .expect("string write");
        }
    }
    out.push_str("];\n");
    #[expect(
        clippy::disallowed_methods,
        reason = "a build script writes what it generates into OUT_DIR, which cargo gives it"
    )]
    std::fs::write(out_dir.join("shipped.rs"), out).expect("write shipped.rs");
}
