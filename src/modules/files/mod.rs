//! `files`: files labsh writes and edits. Writes converge (ok when the file already holds the
//! content), are atomic unless asked to write in place, and anything holding a secret is 0600.
//! YAML and JSON from maps (secrets written for real into the file, masked everywhere else), INI
//! edits that keep comments, order and repeated keys, and marked blocks in hosts-style files.

use crate::error::{Context, Error};

pub mod edit;

use crate::effects::files::ensure_file_with;
use crate::engine::value;
use crate::modules::opts::{option_spec, type_name, OptField, OptionSpec};
use crate::session::with_effects;
use crate::util::yaml::yaml_text;
use rhai::plugin::*;
use rhai::{Array, Dynamic, Map, NativeCallContext};
use serde_json::Value;

use crate::session::Res;

/// A value as JSON with secrets' values in place (for the file itself), and whether any was.
pub fn exposed_json(d: &Dynamic, secret: &mut bool) -> Value {
    value::to_json_with(d, &mut |s| {
        *secret = true;
        Value::String(s.expose().to_string())
    })
}

/// An INI value from a script value: (what the file holds, what output shows). A secret is
/// written as itself and shown as its mask.
pub fn ini_value(d: &Dynamic) -> (String, String) {
    match d.read_lock::<crate::effects::secret::Secret>() {
        Some(s) => (s.expose().to_string(), s.mask()),
        None => (d.to_string(), d.to_string()),
    }
}

/// How a file is written (`#{mode, in_place}`): private (0600) or not, in place or through a
/// temporary file; by default neither.
#[derive(Default)]
struct WriteOpts {
    private: bool,
    in_place: bool,
}

option_spec! {
    /// The options of `files::write` and `files::write_yaml`.
    pub struct FileOpts {
        /// "0600" (private) or "0644" (default).
        mode: Option<String>,
        /// Written in place, not through a temporary file renamed over it (default false).
        in_place: Option<bool>,
    }
}

/// The option maps of the `files` module.
pub const OPTIONS: &[(&str, &[OptField])] = &[
    ("write", FileOpts::FIELDS),
    ("write_yaml", FileOpts::FIELDS),
];

fn write_opts(func: &str, m: Map) -> Result<WriteOpts, Error> {
    let o = FileOpts::read(func, m)?;
    let private = match o.mode.as_deref() {
        None | Some("0644") | Some("644") => false,
        Some("0600") | Some("600") => true,
        Some(other) => {
            return Err(Error::invalid(format!(
                "{func}: mode {other:?} is not supported; use \"0600\" (private) or \"0644\""
            )))
        }
    };
    Ok(WriteOpts {
        private,
        in_place: o.in_place.unwrap_or(false),
    })
}

fn write_value(
    ctx: &NativeCallContext,
    path: &str,
    v: &Dynamic,
    w: WriteOpts,
    yaml: bool,
) -> Res<bool> {
    let mut secret = false;
    let real = exposed_json(v, &mut secret);
    let shown = value::to_json(v);
    let text = if yaml {
        yaml_text(&real)
    } else {
        serde_json::to_string_pretty(&real)
            .map(|s| s + "\n")
            .map_err(|e| Error::failed(e.to_string()))
    }
    .map_err(|e| crate::session::rt_err(ctx, e))?;
    with_effects(ctx, |fx| {
        ensure_file_with(
            fx,
            path,
            &text,
            w.private || secret,
            Some(shown),
            w.in_place,
        )
    })
}

/// A file's text, bounded ([`crate::util::read`]): a device, a folder or a file over 16 MiB is an
/// error naming it.
fn read_text(path: &str) -> Result<String, Error> {
    crate::util::read::text(path).map_err(Error::from)
}

fn lines_of(func: &str, a: &Array) -> Result<Vec<String>, Error> {
    a.iter()
        .map(|l| {
            if l.is_string() {
                Ok(l.clone().into_string().unwrap_or_default())
            } else {
                Err(Error::invalid(format!(
                    "{func}: each line must be a string, not {}",
                    type_name(l)
                )))
            }
        })
        .collect()
}

#[export_module]
pub mod files_fns {
    /// Makes the file at `path` hold `text` (folders made); `true` when it changed.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example.txt";
    /// files::write(f, "hello\n");
    /// ```
    #[rhai_fn(name = "write", return_raw)]
    pub fn write(ctx: NativeCallContext, path: &str, text: &str) -> Res<bool> {
        with_effects(&ctx, |fx| {
            ensure_file_with(fx, path, text, false, None, false)
        })
    }

    /// Writes a file the user asked for on the command line (such as `--graph lab.svg`): as
    /// `write`, but done in a plan too, since seeing it is why the plan was asked for.
    ///
    /// ```rhai
    /// files::write_output(run_info().state_dir + "/example-picture.dot", "digraph {}\n");
    /// ```
    #[rhai_fn(name = "write_output", return_raw)]
    pub fn write_output(ctx: NativeCallContext, path: &str, text: &str) -> Res<bool> {
        with_effects(&ctx, |fx| {
            fx.output(|| ensure_file_with(fx, path, text, false, None, false))
        })
    }

    /// As `write`, with `#{mode: "0600"}` (private) or `#{in_place: true}` (rewrite the file
    /// itself, for bind-mounted files).
    ///
    /// ```rhai
    /// files::write(run_info().state_dir + "/example.key", "k\n", #{mode: "0600"});
    /// ```
    #[rhai_fn(name = "write", return_raw)]
    pub fn write_opts(ctx: NativeCallContext, path: &str, text: &str, opts: Map) -> Res<bool> {
        let w =
            super::write_opts("files::write", opts).map_err(|e| crate::session::rt_err(&ctx, e))?;
        with_effects(&ctx, |fx| {
            ensure_file_with(fx, path, text, w.private, None, w.in_place)
        })
    }

    /// The text of a file (UTF-8, at most 16 MiB; a device, FIFO or folder is an error naming
    /// it).
    ///
    /// ```rhai
    /// let t = files::read("/etc/hostname");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read(ctx: NativeCallContext, path: &str) -> Res<String> {
        super::read_text(path).map_err(|e| crate::session::rt_err(&ctx, e))
    }

    /// The sha256 of a file's bytes, in hex, or `()` when it does not exist (a read): the digest
    /// a step records of the files it was made from. The file is streamed, so its size does not
    /// matter; what is not a regular file (a device such as /dev/zero, a FIFO, a folder) is an
    /// error naming it.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-digest.txt";
    /// files::write(f, "abc");
    /// if !plan_mode() { assert_eq(files::sha256(f), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); }
    /// assert_eq(files::sha256("/nonexistent/file"), ());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sha256(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        match crate::util::digest::sha256_file(path) {
            Ok(h) => Ok(Dynamic::from(h)),
            Err(e) if e.is_missing() => Ok(Dynamic::UNIT),
            Err(e) => Err(crate::session::rt_err(&ctx, e)),
        }
    }

    /// The first control character of `text` (a line break, a carriage return, a tab, an
    /// escape, U+2028...) in words with its place, or `()`: what one line of an INI, hosts or
    /// YAML file cannot hold without the file reading it as more lines.
    ///
    /// ```rhai
    /// assert_eq(files::control_char("eth1\n[evil]"), "a line break (\\n) at character 5");
    /// assert_eq(files::control_char("eth1"), ());
    /// ```
    pub fn control_char(text: &str) -> Dynamic {
        match super::edit::control_char(text) {
            Some((at, c)) => format!("{} at character {at}", super::edit::describe_char(c)).into(),
            None => Dynamic::UNIT,
        }
    }

    /// Removes folder `path` with everything in it (a teardown's: a lab's folder inside its
    /// output folder), when it is strictly inside folder `within`; a path outside it, or with
    /// `..` in it, is refused and nothing removed. A link is removed, never followed. `true`
    /// when it was there. A change: planned in a plan.
    ///
    /// ```rhai
    /// let out = run_info().state_dir + "/example-out";
    /// files::write(out + "/substrate/auth/kubeconfig", "apiVersion: v1\n");
    /// files::remove_tree(out + "/substrate", out);
    /// if !plan_mode() { assert(!files::exists(out + "/substrate")); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn remove_tree(ctx: NativeCallContext, path: &str, within: &str) -> Res<bool> {
        with_effects(&ctx, |fx| {
            crate::effects::files::remove_tree(fx, path, within)
        })
    }

    /// Whether a file or folder exists.
    ///
    /// ```rhai
    /// assert(files::exists("/etc"));
    /// ```
    pub fn exists(path: &str) -> bool {
        std::path::Path::new(path).exists()
    }

    /// A value as YAML text (secrets masked).
    ///
    /// ```rhai
    /// assert(files::to_yaml(#{a: 1}).contains("a: 1"));
    /// ```
    #[rhai_fn(return_raw)]
    pub fn to_yaml(ctx: NativeCallContext, v: Dynamic) -> Res<String> {
        super::yaml_text(&value::to_json(&v)).map_err(|e| crate::session::rt_err(&ctx, e))
    }

    /// A value as indented JSON text (secrets masked).
    ///
    /// ```rhai
    /// assert(files::to_json(#{a: 1}).contains("\"a\": 1"));
    /// ```
    pub fn to_json(v: Dynamic) -> String {
        serde_json::to_string_pretty(&value::to_json(&v)).unwrap_or_default()
    }

    /// Parses YAML text (merge keys applied); errors give the line.
    ///
    /// ```rhai
    /// assert(files::parse_yaml("a: [1, 2]").a[1] == 2);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_yaml(ctx: NativeCallContext, text: &str) -> Res<Dynamic> {
        crate::util::yaml::parse_yaml(text)
            .map(|v| value::from_json(&v))
            .map_err(|e| crate::session::rt_err(&ctx, e))
    }

    /// Parses JSON text.
    ///
    /// ```rhai
    /// assert(files::parse_json("{\"a\": true}").a);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn parse_json(ctx: NativeCallContext, text: &str) -> Res<Dynamic> {
        serde_json::from_str::<Value>(text)
            .map(|v| value::from_json(&v))
            .map_err(|e| crate::session::rt_err(&ctx, Error::invalid(format!("invalid JSON: {e}"))))
    }

    /// Reads a YAML file; errors name the file and line.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example.yaml";
    /// files::write(f, "a: 1\n");
    /// if !plan_mode() { assert(files::read_yaml(f).a == 1); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_yaml(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        crate::util::yaml::read_yaml(std::path::Path::new(path))
            .map(|v| value::from_json(&v))
            .map_err(|e| crate::session::rt_err(&ctx, e))
    }

    /// Reads a JSON file.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example.json";
    /// files::write_json(f, #{a: 1});
    /// if !plan_mode() { assert(files::read_json(f).a == 1); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn read_json(ctx: NativeCallContext, path: &str) -> Res<Dynamic> {
        super::read_text(path)
            .and_then(|t| {
                serde_json::from_str::<Value>(&t).with_context(|| format!("{path}: invalid JSON"))
            })
            .map(|v| value::from_json(&v))
            .map_err(|e| crate::session::rt_err(&ctx, e))
    }

    /// Writes a value as YAML. Secrets in it are written for real and the file is made 0600;
    /// plans and journals show them masked.
    ///
    /// ```rhai
    /// files::write_yaml(run_info().state_dir + "/example-clouds.yaml",
    ///     #{clouds: #{lab: #{auth: #{username: "u", password: secret("example-pw", #{generate: true})}}}});
    /// ```
    #[rhai_fn(name = "write_yaml", return_raw)]
    pub fn write_yaml(ctx: NativeCallContext, path: &str, v: Dynamic) -> Res<bool> {
        super::write_value(&ctx, path, &v, Default::default(), true)
    }

    /// As `write_yaml`, with `#{mode, in_place}`.
    ///
    /// ```rhai
    /// files::write_yaml(run_info().state_dir + "/example2.yaml", #{a: "no"}, #{mode: "0600"});
    /// ```
    #[rhai_fn(name = "write_yaml", return_raw)]
    pub fn write_yaml_opts(ctx: NativeCallContext, path: &str, v: Dynamic, opts: Map) -> Res<bool> {
        let w = super::write_opts("files::write_yaml", opts)
            .map_err(|e| crate::session::rt_err(&ctx, e))?;
        super::write_value(&ctx, path, &v, w, true)
    }

    /// Writes a value as indented JSON (secrets as in `write_yaml`).
    ///
    /// ```rhai
    /// files::write_json(run_info().state_dir + "/example.json", #{a: 1});
    /// ```
    #[rhai_fn(name = "write_json", return_raw)]
    pub fn write_json(ctx: NativeCallContext, path: &str, v: Dynamic) -> Res<bool> {
        super::write_value(&ctx, path, &v, Default::default(), false)
    }

    /// The value of `key` in `[section]` of an INI file (the first one when repeated), or `()`.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example.ini";
    /// files::write(f, "[neutron]\ntimeout=30\n");
    /// if !plan_mode() { assert(files::ini_get(f, "neutron", "timeout") == "30"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ini_get(ctx: NativeCallContext, path: &str, section: &str, key: &str) -> Res<Dynamic> {
        let t = super::read_text(path).map_err(|e| crate::session::rt_err(&ctx, e))?;
        Ok(super::edit::ini_get(&t, section, key)
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT))
    }

    /// Sets `key = value` in `[section]` of an INI file, keeping comments, order, spacing and
    /// repeated keys; `true` when it changed. The file is rewritten in place. A section, key or
    /// value that would write more than this one setting (a line break or other control
    /// character, `[` `]` in the section, `=` `:` in the key) is an error naming it.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-nova.conf";
    /// files::write(f, "[DEFAULT]\n# keep me\n[neutron]\nurl=http://x\n");
    /// if !plan_mode() { files::ini_set(f, "neutron", "timeout", "300"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ini_set(
        ctx: NativeCallContext,
        path: &str,
        section: &str,
        key: &str,
        value: Dynamic,
    ) -> Res<bool> {
        // A secret goes into the file as itself and shows as its mask.
        let (v, shown_v) = super::ini_value(&value);
        let refused = |e: Error| crate::session::rt_err(&ctx, e.context("files::ini_set"));
        super::edit::check_ini(section, key, &v).map_err(refused)?;
        let t = super::read_text(path).map_err(|e| crate::session::rt_err(&ctx, e))?;
        match super::edit::ini_set(&t, section, key, &v).map_err(refused)? {
            None => with_effects(&ctx, |fx| {
                fx.unchanged(
                    crate::effects::Op::new("file.ini_set", path)
                        .arg("set", format!("[{section}] {key} = {shown_v}")),
                );
                Ok::<_, crate::error::Error>(false)
            }),
            Some(new) => with_effects(&ctx, |fx| {
                let private = value.is::<crate::effects::secret::Secret>()
                    || std::fs::metadata(path)
                        .map(|m| {
                            std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o077 == 0
                        })
                        .unwrap_or(false);
                let shown = serde_json::json!({"set": format!("[{section}] {key} = {shown_v}")});
                ensure_file_with(fx, path, &new, private, Some(shown), true)
            }),
        }
    }

    /// Makes the block `# BEGIN labsh NAME` … `# END labsh NAME` of a hosts-style file hold
    /// `lines` (an empty array removes it), in place; lines outside the block are never touched.
    /// `true` when it changed. The name is letters, digits, '.', '_' and '-'; a line with a
    /// line break or a labsh marker in it is an error naming it.
    ///
    /// ```rhai
    /// let f = run_info().state_dir + "/example-hosts";
    /// files::write(f, "127.0.0.1 localhost\n");
    /// if !plan_mode() { files::hosts_block(f, "ocp4", ["192.168.122.164 api.ocp4.osd2019.local"]); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn hosts_block(ctx: NativeCallContext, path: &str, name: &str, lines: Array) -> Res<bool> {
        let body = super::lines_of("files::hosts_block", &lines)
            .map_err(|e| crate::session::rt_err(&ctx, e))?;
        super::edit::check_block(name, &body)
            .map_err(|e| crate::session::rt_err(&ctx, e.context("files::hosts_block")))?;
        let t = crate::util::read::text_if_exists(path)
            .map_err(|e| crate::session::rt_err(&ctx, e))?
            .unwrap_or_default();
        let op = crate::effects::Op::new("file.hosts_block", path).arg("block", name);
        match super::edit::block_set(&t, name, &body)
            .map_err(|e| crate::session::rt_err(&ctx, e.context(path)))?
        {
            None => with_effects(&ctx, |fx| {
                fx.unchanged(op);
                Ok::<_, crate::error::Error>(false)
            }),
            Some(new) => with_effects(&ctx, |fx| {
                ensure_file_with(
                    fx,
                    path,
                    &new,
                    false,
                    Some(serde_json::json!({"block": name, "lines": body})),
                    true,
                )
            }),
        }
    }
}
