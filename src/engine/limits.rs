//! The growth limits of a script's values ([`MAX_STRING_SIZE`], [`MAX_ARRAY_SIZE`],
//! [`MAX_MAP_SIZE`]), checked in time that grows with the values, not with its square.
//!
//! Rhai's own limits measure the whole variable after every write to it (a map of a million
//! entries is walked a million times on its way there), so they are off. Instead, the values a
//! script can reach (the variables of the scope it runs in, and `this`) are measured when the
//! heap has grown since they were last measured by eight bytes for each item and entry that
//! measure walked (at least 256 KiB): each item takes at least sixteen, so all the measures of a
//! growing value walk, together, a few times the items it ends with. A variable found over a
//! limit is an error at its next use (the line of the runaway loop), or at the next measure. A
//! string grows inside the room it has without the heap seeing it: a string variable is looked at
//! whenever it is used. Functions that
//! make a large value in one call (`pad`, `blob`) check the size they are asked for first. And
//! whatever escapes these (a value grown through `this` alone) meets [`MAX_HEAP`], checked on
//! every operation.

use super::{MAX_ARRAY_SIZE, MAX_MAP_SIZE, MAX_STRING_SIZE};
use rhai::{
    Array, Blob, Dynamic, Engine, EvalAltResult, EvalContext, ImmutableString, Map, Position, INT,
};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The heap of the whole process, past which a script is stopped at the operation it is on:
/// what escapes the limits of single values.
pub const MAX_HEAP: usize = 4 << 30;

/// The least growth of the heap between two measures: a sixteenth of an array at its limit.
const STEP: usize = 256 << 10;

/// Growth of the heap before the next measure, for each item or entry the last one walked.
const PER_ITEM: usize = 8;

/// Deeper nesting than this is not measured (a value nested so deep is an error of its own).
const MAX_DEPTH: usize = 512;

/// The heap size at which the values are measured next. Process-wide, as the heap is (the
/// allocator guard, src/oom.rs, counts it).
static NEXT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// A variable found over a limit, with the limit's name: an error at its next use.
    static OVER: RefCell<Option<(String, &'static str)>> = const { RefCell::new(None) };
    /// Whether `OVER` holds one (looked at on every use of a variable).
    static ANY_OVER: Cell<bool> = const { Cell::new(false) };
}

/// What one value holds, counted as Rhai counts it: items of arrays (and bytes of BLOBs), entries
/// of maps and bytes of strings, nested ones included.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub items: usize,
    pub entries: usize,
    pub bytes: usize,
}

impl Sizes {
    /// The name of the limit these sizes are over (Rhai's words, which `diag` turns into ours).
    pub fn over(&self) -> Option<&'static str> {
        if self.bytes > MAX_STRING_SIZE {
            Some("Length of string")
        } else if self.items > MAX_ARRAY_SIZE {
            Some("Size of array")
        } else if self.entries > MAX_MAP_SIZE {
            Some("Size of object map")
        } else {
            None
        }
    }
}

fn add(v: &Dynamic, depth: usize, s: &mut Sizes) {
    if depth > MAX_DEPTH {
        return;
    }
    if v.is_shared() {
        // A value another closure holds locked just now is measured next time.
        if let Some(inner) = v.read_lock::<Dynamic>() {
            add(&inner, depth + 1, s);
        }
        return;
    }
    if let Some(a) = v.read_lock::<Array>() {
        add_items(&a, depth, s);
    } else if let Some(m) = v.read_lock::<Map>() {
        s.entries += m.len();
        for x in m.values() {
            add(x, depth + 1, s);
        }
    } else if let Some(t) = v.read_lock::<ImmutableString>() {
        s.bytes += t.len();
    } else if let Some(b) = v.read_lock::<Blob>() {
        s.items += b.len();
    }
}

fn add_items(a: &Array, depth: usize, s: &mut Sizes) {
    s.items += a.len();
    for x in a.iter() {
        add(x, depth + 1, s);
    }
}

/// The sizes of `v`.
pub fn sizes(v: &Dynamic) -> Sizes {
    let mut s = Sizes::default();
    add(v, 0, &mut s);
    s
}

fn too_large(what: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorDataTooLarge(what.to_string(), Position::NONE).into()
}

/// Called before each use of a variable `name` (`index`: its place from the end of the scope, 1
/// for the last; 0 when not known): an error when it, or a value of the scope, is over its
/// limit.
fn check_var(name: &str, index: usize, ctx: &EvalContext) -> Result<(), Box<EvalAltResult>> {
    if ANY_OVER.with(Cell::get) {
        let due = OVER.with(|o| {
            let mut o = o.borrow_mut();
            match o.as_ref() {
                Some((n, what)) if n == name => {
                    let what = *what;
                    *o = None;
                    Some(what)
                }
                _ => None,
            }
        });
        if let Some(what) = due {
            ANY_OVER.with(|a| a.set(false));
            return Err(too_large(what));
        }
    }
    // A string grows inside the room it has, which the heap does not see: a string variable
    // is looked at itself, which costs no more than its length.
    if index > 0 {
        let var = ctx.scope().iter_raw().nth(index - 1);
        if let Some((_, _, v)) = var.filter(|(n, _, v)| *n == name && !v.is_shared()) {
            if let Some(s) = v.read_lock::<ImmutableString>() {
                if s.len() > MAX_STRING_SIZE {
                    return Err(too_large("Length of string"));
                }
            }
        }
    }
    let live = crate::oom::live_bytes();
    if live < NEXT.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut walked = 0;
    let mut measure = |v: &Dynamic| {
        let s = sizes(v);
        walked += 1 + s.items + s.entries;
        s.over()
    };
    let this_over = ctx.this_ptr().and_then(&mut measure);
    let mut over: Option<(String, &'static str)> = None;
    for (var, _, value) in ctx.scope().iter_raw() {
        if let Some(what) = measure(value) {
            over = Some((var.to_string(), what));
            if var == name {
                break;
            }
        }
    }
    // The next measure waits for the heap to grow from what it is now, in proportion to this one.
    let now = crate::oom::live_bytes();
    NEXT.store(
        now + walked.saturating_mul(PER_ITEM).max(STEP),
        Ordering::Relaxed,
    );
    if let Some(what) = this_over {
        return Err(too_large(what));
    }
    match over {
        Some((var, what)) if var == name => Err(too_large(what)),
        Some(found) => {
            // The value that grew is shown where it is used next; if it is not, the next measure
            // (the heap still growing) stops the script wherever it is.
            let again = OVER.with(|o| o.borrow_mut().replace(found));
            ANY_OVER.with(|a| a.set(true));
            match again {
                Some((_, what)) => {
                    OVER.with(|o| o.borrow_mut().take());
                    ANY_OVER.with(|a| a.set(false));
                    Err(too_large(what))
                }
                None => Ok(()),
            }
        }
        None => Ok(()),
    }
}

/// What the process's heap is over [`MAX_HEAP`] by, as the message that stops the script.
pub fn heap_over() -> Option<String> {
    let live = crate::oom::live_bytes();
    (live > MAX_HEAP).then(|| {
        format!(
            "labsh's memory grew over {}, the most a run may take: a loop without an end?",
            crate::util::size::shown(MAX_HEAP as u64)
        )
    })
}

/// `len` as a size in the units of a limit, or an error naming that limit.
fn wanted(len: INT, most: usize, what: &str) -> Result<usize, Box<EvalAltResult>> {
    match usize::try_from(len) {
        Ok(n) if n <= most => Ok(n),
        Ok(_) => Err(too_large(what)),
        Err(_) => Ok(0),
    }
}

fn pad_with_char(s: &mut ImmutableString, len: INT, c: char) -> Result<(), Box<EvalAltResult>> {
    let len = wanted(len, MAX_STRING_SIZE, "Length of string")?;
    let have = s.chars().count();
    if len <= have {
        return Ok(());
    }
    if s.len() + (len - have) * c.len_utf8() > MAX_STRING_SIZE {
        return Err(too_large("Length of string"));
    }
    let mut buf = [0u8; 4];
    s.make_mut()
        .push_str(&c.encode_utf8(&mut buf).repeat(len - have));
    Ok(())
}

fn pad_with_str(s: &mut ImmutableString, len: INT, pad: &str) -> Result<(), Box<EvalAltResult>> {
    let len = wanted(len, MAX_STRING_SIZE, "Length of string")?;
    let mut have = s.chars().count();
    let pad_len = pad.chars().count();
    if len <= have || pad_len == 0 {
        return Ok(());
    }
    let p = s.make_mut();
    while have < len {
        if have + pad_len <= len {
            p.push_str(pad);
            have += pad_len;
        } else {
            p.extend(pad.chars().take(len - have));
            have = len;
        }
        if p.len() > MAX_STRING_SIZE {
            return Err(too_large("Length of string"));
        }
    }
    Ok(())
}

fn pad_array(a: &mut Array, len: INT, item: Dynamic) -> Result<(), Box<EvalAltResult>> {
    let len = wanted(len, MAX_ARRAY_SIZE, "Size of array")?;
    if len <= a.len() {
        return Ok(());
    }
    let copies = len - a.len();
    let one = sizes(&item);
    let mut now = Sizes::default();
    add_items(a, 0, &mut now);
    let after = Sizes {
        items: now.items + copies + one.items.saturating_mul(copies),
        entries: now.entries + one.entries.saturating_mul(copies),
        bytes: now.bytes + one.bytes.saturating_mul(copies),
    };
    if let Some(what) = after.over() {
        return Err(too_large(what));
    }
    a.resize(len, item);
    Ok(())
}

fn blob_of(len: INT, value: INT) -> Result<Blob, Box<EvalAltResult>> {
    let len = wanted(len, MAX_ARRAY_SIZE, "Size of array/BLOB")?;
    Ok(vec![(value & 0xff) as u8; len])
}

fn pad_blob(b: &mut Blob, len: INT, value: INT) -> Result<(), Box<EvalAltResult>> {
    let len = wanted(len, MAX_ARRAY_SIZE, "Size of array/BLOB")?;
    if len > b.len() {
        b.resize(len, (value & 0xff) as u8);
    }
    Ok(())
}

/// Turns Rhai's own size limits off and puts these in their place.
pub fn install(engine: &mut Engine) {
    engine.set_max_string_size(0);
    engine.set_max_array_size(0);
    engine.set_max_map_size(0);
    // Rhai marks on_var "volatile", not deprecated: the hook is the one place that sees the scope.
    #[allow(deprecated)]
    engine.on_var(|name, index, ctx| check_var(name, index, &ctx).map(|()| None));
    // In the engine's own namespace, found before the standard library's functions of the same
    // name and argument types, which check against Rhai's limits, now off.
    engine
        .register_fn("pad", pad_with_char)
        .register_fn("pad", pad_with_str)
        .register_fn("pad", pad_array)
        .register_fn("pad", pad_blob)
        .register_fn("blob", |len: INT| blob_of(len, 0))
        .register_fn("blob", blob_of);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut e = Engine::new();
        install(&mut e);
        e
    }

    /// The name of the limit a script ran into, or what else it did.
    fn stopped_by(script: &str) -> String {
        match engine().run(script) {
            Ok(()) => "nothing".into(),
            Err(e) => match *e {
                EvalAltResult::ErrorDataTooLarge(what, pos) => format!("{what} at {pos}"),
                other => other.to_string(),
            },
        }
    }

    #[test]
    fn values_are_measured_as_rhai_measures_them() {
        let e = Engine::new();
        let v: Dynamic = e
            .eval(r#"#{a: [1, [2, 3], "four"], b: #{c: "five!"}, d: blob(7)}"#)
            .unwrap();
        // items: a's 3 and its inner 2, and d's 7 bytes; entries: a, b, d, and c; bytes: 4 + 5.
        assert_eq!(
            sizes(&v),
            Sizes {
                items: 12,
                entries: 4,
                bytes: 9
            }
        );
        assert_eq!(sizes(&v).over(), None);
    }

    #[test]
    fn a_runaway_array_is_stopped_at_the_line_of_the_variable() {
        let got = stopped_by("let a = [];\nlet i = 0;\nloop {\n    a.push(i);\n    i += 1;\n}\n");
        assert_eq!(got, "Size of array at line 4, position 5");
    }

    #[test]
    fn a_string_grown_a_byte_at_a_time_is_stopped_at_its_limit() {
        // At its limit, then one byte more, then the loop goes on to its next use of `s`.
        let got = stopped_by("let s = \"\";\ns.pad(16777216, 'x');\nloop {\n    s += \"y\";\n}\n");
        assert_eq!(got, "Length of string at line 4, position 5");
    }

    #[test]
    fn a_doubling_string_is_stopped() {
        let got = stopped_by("let s = \"x\";\nloop { s += s; }\n");
        assert!(got.starts_with("Length of string at line 2"), "{got}");
    }

    #[test]
    fn a_map_nested_in_a_function_is_stopped() {
        // Entries of an inner map count: the outer one stays small.
        let got = stopped_by(
            "fn f() { let m = #{inner: #{}}; let i = 0; loop { m.inner[`k${i}`] = [i, i, i, i]; i += 1; } }\nf();\n",
        );
        assert!(got.starts_with("Size of array at line 2"), "{got}");
    }

    #[test]
    fn one_call_that_would_make_a_huge_value_is_refused_before_it_does() {
        for (script, what) in [
            (
                "let s = \"x\"; s.pad(1000000000000, \"y\");",
                "Length of string",
            ),
            (
                "let s = \"x\"; s.pad(1000000000000, 'y');",
                "Length of string",
            ),
            ("let b = blob(100000000000);", "Size of array/BLOB"),
            ("let b = blob(100000000000, 7);", "Size of array/BLOB"),
            (
                "let b = blob(); b.pad(100000000000, 7);",
                "Size of array/BLOB",
            ),
            ("let a = []; a.pad(100000000000, 1);", "Size of array"),
            (
                "let m = #{}; for i in 0..1000 { m[`k${i}`] = i; } let a = []; a.pad(2000, m);",
                "Size of object map",
            ),
        ] {
            let got = stopped_by(script);
            assert!(got.starts_with(what), "{script}: {got}");
        }
    }

    #[test]
    fn the_replacements_do_what_rhais_functions_do() {
        let e = engine();
        let r: Array = e
            .eval(
                r#"let s = "ab"; s.pad(5, '.'); let t = "hello"; t.pad(10, "(!)");
                   let a = [1]; a.pad(3, 0); let b = blob(2, 0x1ff); b.pad(4, 3);
                   [s, t, a, b.to_array(), blob(3).len()]"#,
            )
            .unwrap();
        let shown: Vec<String> = r.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            shown,
            ["ab...", "hello(!)(!", "[1, 0, 0]", "[255, 255, 3, 3]", "3"]
        );
    }
}
