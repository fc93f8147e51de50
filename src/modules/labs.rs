//! The target files labsh ships, read as any other (see `src/paths.rs`: the scripts, profiles
//! and targets of the source tree are part of the binary).

use crate::paths;
use crate::session::{rt_err, Res};
use rhai::plugin::*;
use std::path::Path;

#[export_module]
pub mod labs_fns {
    /// The YAML of the target file at `path` (as `lab_file("target", ..)` gives it): the file,
    /// or the one labsh ships under that name; an empty map for an empty file. Errors name the file.
    ///
    /// ```rhai
    /// let y = lab_file_yaml(lab_file("target", "devlab"));
    /// assert_eq(y.domain_type, "qemu");
    /// ```
    #[rhai_fn(name = "lab_file_yaml", return_raw)]
    pub fn lab_file_yaml(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        let p = Path::new(path);
        let shipped = paths::shipped(p).filter(|_| std::fs::symlink_metadata(p).is_err());
        let v = match shipped {
            Some(text) => crate::util::yaml::parse_yaml(text).map_err(|e| format!("{path}: {e}")),
            None => crate::util::yaml::read_yaml(p),
        };
        v.map(|v| crate::engine::value::from_json(&v))
            .map_err(|e| rt_err(&ctx, e))
    }
}
