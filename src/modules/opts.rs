//! Reading option maps (`#{timeout: 30, cwd: "/tmp"}`) into typed specs, with errors that name the
//! function and the field (of kind [`Kind::Invalid`](crate::error::Kind::Invalid)).
//!
//! A binding's options are one struct declared with [`option_spec!`]: each field's name, type and
//! one-line doc, once. The struct is read from the Rhai map by serde through
//! [`rhai::serde::from_dynamic`] ([`OptionSpec::read`]), and the same declaration gives the
//! catalog its fields ([`OptionSpec::FIELDS`]) so `help` and `labsh doc` list them. Reading does
//! no I/O: what depends on a host is resolved by the binding after.

use crate::effects::process::Arg;
use crate::effects::secret::Secret;
use crate::error::Error;
use rhai::{Dynamic, Map};

/// One option of a binding, as `help` and `labsh doc` show it.
#[derive(Clone, Copy, Debug)]
pub struct OptField {
    /// The field's name as written in Rust (`r#type` for the key `type`): see [`OptField::name`].
    pub ident: &'static str,
    /// Its type as a script names it ("int", "array of string").
    pub typ: fn() -> String,
    /// What it is, one line.
    pub doc: &'static str,
    /// Whether the map must have it.
    pub required: bool,
}

impl OptField {
    /// The key in the option map.
    pub fn name(&self) -> &'static str {
        self.ident.trim_start_matches("r#")
    }
}

/// A Rust type as a script names the values it takes, for option specs' docs and errors.
pub trait RhaiType {
    fn name() -> String;
    /// A key of this type may be left out.
    const OPTIONAL: bool = false;
}

macro_rules! rhai_type {
    ($($t:ty => $n:literal),* $(,)?) => {
        $(impl RhaiType for $t {
            fn name() -> String {
                $n.to_string()
            }
        })*
    };
}
rhai_type!(i64 => "int", f64 => "float", bool => "bool", String => "string");

/// An option that is a map, read as one (a nested spec, or a map whose keys are open).
#[derive(Clone, Debug, Default)]
pub struct OptMap(pub Map);

impl RhaiType for OptMap {
    fn name() -> String {
        "map".into()
    }
    const OPTIONAL: bool = true;
}

impl<'de> serde::Deserialize<'de> for OptMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let v = Dynamic::deserialize(d)?;
        let t = rhai_name(&v);
        v.try_cast::<Map>()
            .map(OptMap)
            .ok_or_else(|| D::Error::custom(format!("invalid type: {t}, expected a map")))
    }
}

impl RhaiType for Dynamic {
    fn name() -> String {
        "any".into()
    }
    const OPTIONAL: bool = true;
}

impl<T: RhaiType> RhaiType for Option<T> {
    fn name() -> String {
        T::name()
    }
    const OPTIONAL: bool = true;
}

impl<T: RhaiType> RhaiType for Vec<T> {
    fn name() -> String {
        format!("array of {}", T::name())
    }
    const OPTIONAL: bool = true;
}

impl<T: RhaiType> RhaiType for std::collections::BTreeMap<String, T> {
    fn name() -> String {
        format!("map of {}", T::name())
    }
    const OPTIONAL: bool = true;
}

/// A binding's options: a struct declared with [`option_spec!`], read from a Rhai map.
pub trait OptionSpec: serde::de::DeserializeOwned {
    /// Every option, in the order declared.
    const FIELDS: &'static [OptField];

    /// The error serde gives reading `v` as the option `key`'s type (`None`: it reads, or no such
    /// option). Names the field a whole-struct error would not.
    fn probe(key: &str, v: &Dynamic) -> Option<Box<rhai::EvalAltResult>>;

    /// The options of `func` from `map`: an unknown key is refused naming the closest known one,
    /// a required one missing or a value of the wrong type named with its field; `()` is as if
    /// the key were not given. Does no I/O.
    fn read(func: &str, map: Map) -> Result<Self, Error> {
        read_spec(func, map)
    }
}

/// Declares a binding's options once: a struct whose fields each carry a one-line `///` doc,
/// read by serde (unknown keys refused, every field defaulted when missing unless its type makes
/// it required), and its [`OptionSpec`] with the fields' names, Rhai types and docs.
///
/// A field's type is a [`RhaiType`]: `Option<T>`, `Vec<T>`, `Map`, `BTreeMap<String, T>` may be
/// left out; `i64`, `String`, `bool` are required.
macro_rules! option_spec {
    (
        $(#[doc = $sdoc:literal])*
        $vis:vis struct $name:ident {
            $(
                #[doc = $doc:literal]
                $(#[$attr:meta])*
                $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        $vis struct $name {
            $(
                #[doc = $doc]
                $(#[$attr])*
                #[serde(default)]
                pub $field: $ty,
            )*
        }

        impl $crate::modules::opts::OptionSpec for $name {
            const FIELDS: &'static [$crate::modules::opts::OptField] = &[$(
                $crate::modules::opts::OptField {
                    ident: stringify!($field),
                    typ: <$ty as $crate::modules::opts::RhaiType>::name,
                    doc: $doc,
                    required: !<$ty as $crate::modules::opts::RhaiType>::OPTIONAL,
                },
            )*];

            fn probe(key: &str, v: &rhai::Dynamic) -> Option<Box<rhai::EvalAltResult>> {
                $(
                    if key == stringify!($field).trim_start_matches("r#") {
                        return rhai::serde::from_dynamic::<$ty>(v).err();
                    }
                )*
                None
            }
        }
    };
}
pub(crate) use option_spec;

/// [`OptionSpec::read`].
pub fn read_spec<T: OptionSpec>(func: &str, map: Map) -> Result<T, Error> {
    let map: Map = map.into_iter().filter(|(_, v)| !v.is_unit()).collect();
    let names = || T::FIELDS.iter().map(OptField::name);
    if let Some(k) = map.keys().find(|k| !names().any(|n| n == k.as_str())) {
        let hint = crate::util::suggest::hint(k, names());
        return Err(Error::invalid(format!(
            "{func}: unknown option '{k}'{hint}; known options: {}",
            names().collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(f) = T::FIELDS
        .iter()
        .find(|f| f.required && !map.contains_key(f.name()))
    {
        return Err(Error::invalid(format!(
            "{func}: '{}' is required ({})",
            f.name(),
            (f.typ)()
        )));
    }
    let stash = Stash::new();
    let hidden: Map = map
        .iter()
        .map(|(k, v)| (k.clone(), stash.hide(v)))
        .collect();
    for (k, v) in &hidden {
        if let Some(e) = T::probe(k, v) {
            let typ = T::FIELDS
                .iter()
                .find(|f| f.name() == k.as_str())
                .map_or_else(|| "a value".to_string(), |f| (f.typ)());
            let given = map.get(k).unwrap_or(v);
            let err = Error::invalid(format!(
                "{func}: option '{k}' {}",
                type_error(&e, &typ, given)
            ));
            if typ == OptSecret::name() && !given.is::<Secret>() {
                return Err(err.with_advice(format!(
                    "give it as secret(\"NAME\") (#{{{k}: secret(\"{k}\")}}): read from $LABSH_SECRET_<NAME> or the secrets file, it is never shown"
                )));
            }
            return Err(err);
        }
    }
    rhai::serde::from_dynamic::<T>(&Dynamic::from_map(hidden))
        .map_err(|e| Error::invalid(format!("{func}: {}", serde_text(&e))))
}

/// What is wrong with `given` for an option of type `typ`, from serde's error `e`: "expected int,
/// found string \"16G\"", or the option type's own words ("must be a number of seconds ...").
fn type_error(e: &rhai::EvalAltResult, typ: &str, given: &Dynamic) -> String {
    let text = serde_text(e);
    let generic = matches!(e, rhai::EvalAltResult::ErrorMismatchOutputType(..))
        || text.starts_with("invalid type")
        || text.starts_with("data did not match");
    if !generic {
        return text;
    }
    // A value given for a secret is not shown: it may be the password itself.
    let scalar = given.is_string() || given.is_int() || given.is_float() || given.is_bool();
    let shown = if scalar && !typ.contains("secret") {
        format!(" {}", crate::engine::value::literal(given))
    } else {
        String::new()
    };
    format!("expected {typ}, found {}{shown}", rhai_name(given))
}

/// The text of a serde error: a custom message as written, else Rhai's.
fn serde_text(e: &rhai::EvalAltResult) -> String {
    use rhai::{EvalAltResult, LexError, ParseErrorType};
    match e {
        EvalAltResult::ErrorParsing(
            ParseErrorType::BadInput(LexError::ImproperSymbol(_, m)),
            _,
        ) => m.clone(),
        e => e.to_string(),
    }
}

/// A value's type as Rhai's `type_of` names it (a secret "secret").
pub fn rhai_name(v: &Dynamic) -> &'static str {
    type Is = fn(&Dynamic) -> bool;
    const NAMES: &[(Is, &str)] = &[
        (Dynamic::is_string, "string"),
        (Dynamic::is_int, "int"),
        (Dynamic::is_float, "float"),
        (Dynamic::is_bool, "bool"),
        (Dynamic::is_char, "char"),
        (Dynamic::is_array, "array"),
        (Dynamic::is_map, "map"),
        (Dynamic::is_unit, "()"),
        (Dynamic::is_fnptr, "Fn"),
        (Dynamic::is::<Secret>, "secret"),
    ];
    NAMES
        .iter()
        .find(|(is, _)| is(v))
        .map_or("a value of another type", |&(_, name)| name)
}

/// The key of the map that stands for a secret while serde reads an option map: serde sees no
/// Rhai custom type, so [`Stash::hide`] puts each secret aside and [`OptArg`] takes it back.
const SECRET_KEY: &str = "\u{1}labsh-secret";

thread_local! {
    /// The secrets of the option map being read on this thread; emptied when the read ends (held
    /// only for the length of one [`read_spec`], never across calls).
    static STASHED: std::cell::RefCell<Vec<Secret>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The secrets put aside for one read; dropping it forgets them.
struct Stash;

impl Stash {
    fn new() -> Stash {
        STASHED.with(|s| s.borrow_mut().clear());
        Stash
    }

    /// `v` with each secret in it (at any depth) replaced by `#{SECRET_KEY: index}`.
    fn hide(&self, v: &Dynamic) -> Dynamic {
        if let Some(s) = v.read_lock::<Secret>() {
            let i = STASHED.with(|st| {
                let mut st = st.borrow_mut();
                st.push(s.clone());
                st.len() - 1
            });
            let mut m = Map::new();
            m.insert(SECRET_KEY.into(), (i as i64).into());
            return m.into();
        }
        if let Some(a) = v.read_lock::<rhai::Array>() {
            return a
                .iter()
                .map(|x| self.hide(x))
                .collect::<rhai::Array>()
                .into();
        }
        if let Some(m) = v.read_lock::<Map>() {
            return m
                .iter()
                .map(|(k, x)| (k.clone(), self.hide(x)))
                .collect::<Map>()
                .into();
        }
        v.clone()
    }
}

impl Drop for Stash {
    fn drop(&mut self) {
        STASHED.with(|s| s.borrow_mut().clear());
    }
}

/// An option that is a string or a secret (numbers and bools as text): a password, an input, an
/// environment value. A secret stays one: it is never a plain string that could be printed.
#[derive(Clone, Debug)]
pub struct OptArg(pub Arg);

impl RhaiType for OptArg {
    fn name() -> String {
        "string or secret".into()
    }
}

impl<'de> serde::Deserialize<'de> for OptArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OptArg;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a secret")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<OptArg, E> {
                Ok(OptArg(Arg::Plain(s.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<OptArg, E> {
                Ok(OptArg(Arg::Plain(n.to_string())))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<OptArg, E> {
                Ok(OptArg(Arg::Plain(n.to_string())))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<OptArg, E> {
                Ok(OptArg(Arg::Plain(Dynamic::from_float(n).to_string())))
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<OptArg, E> {
                Ok(OptArg(Arg::Plain(b.to_string())))
            }
            fn visit_char<E: serde::de::Error>(self, c: char) -> Result<OptArg, E> {
                Ok(OptArg(Arg::Plain(c.to_string())))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<OptArg, A::Error> {
                use serde::de::Error as _;
                let wrong = || A::Error::custom("invalid type: map, expected a string or a secret");
                let Some((k, i)) = m.next_entry::<String, i64>().map_err(|_| wrong())? else {
                    return Err(wrong());
                };
                let secret = (k == SECRET_KEY)
                    .then(|| STASHED.with(|s| s.borrow().get(i as usize).cloned()))
                    .flatten();
                secret.map(|s| OptArg(Arg::Secret(s))).ok_or_else(wrong)
            }
        }
        d.deserialize_any(V)
    }
}

/// An option that takes any value, kept as given, its secrets (at any depth) still secrets: a
/// record kept with something, whose keys are the caller's.
#[derive(Clone, Debug, Default)]
pub struct OptAny(pub Dynamic);

impl RhaiType for OptAny {
    fn name() -> String {
        "any".into()
    }
    const OPTIONAL: bool = true;
}

impl<'de> serde::Deserialize<'de> for OptAny {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Dynamic::deserialize(d).map(|v| OptAny(unhide(v)))
    }
}

/// `v` with each secret [`Stash::hide`] put aside taken back.
fn unhide(v: Dynamic) -> Dynamic {
    if let Some(m) = v.read_lock::<Map>().map(|m| m.clone()) {
        if let (1, Some(i)) = (m.len(), m.get(SECRET_KEY).and_then(|i| i.as_int().ok())) {
            if let Some(s) = STASHED.with(|s| s.borrow().get(i as usize).cloned()) {
                return Dynamic::from(s);
            }
        }
        return m
            .into_iter()
            .map(|(k, x)| (k, unhide(x)))
            .collect::<Map>()
            .into();
    }
    if let Some(a) = v.read_lock::<rhai::Array>().map(|a| a.clone()) {
        return a.into_iter().map(unhide).collect::<rhai::Array>().into();
    }
    v
}

/// An option that must be a secret (`secret("name")`): a password. A plain string is refused, and
/// never shown in the error.
#[derive(Clone, Debug)]
pub struct OptSecret(pub Secret);

/// For serde's `default` on every field of a spec: a required option is checked as given before
/// serde reads the map ([`read_spec`]), so this empty one is never read.
impl Default for OptSecret {
    fn default() -> Self {
        OptSecret(Secret::new("", ""))
    }
}

impl RhaiType for OptSecret {
    fn name() -> String {
        "secret".into()
    }
}

impl<'de> serde::Deserialize<'de> for OptSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match OptArg::deserialize(d)?.0 {
            Arg::Secret(s) => Ok(OptSecret(s)),
            _ => Err(D::Error::custom("invalid type: expected a secret")),
        }
    }
}

/// A duration in seconds, an int or a float between 0 and 1e9.
#[derive(Clone, Copy, Debug)]
pub struct Seconds(pub std::time::Duration);

impl RhaiType for Seconds {
    fn name() -> String {
        "seconds (int or float)".into()
    }
}

impl<'de> serde::Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl V {
            fn secs<E: serde::de::Error>(secs: f64) -> Result<Seconds, E> {
                if !(0.0..=1e9).contains(&secs) {
                    return Err(E::custom(format!(
                        "must be a number of seconds between 0 and 1e9, not {secs}"
                    )));
                }
                Ok(Seconds(std::time::Duration::from_secs_f64(secs)))
            }
        }
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of seconds")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Seconds, E> {
                V::secs(n as f64)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Seconds, E> {
                V::secs(n as f64)
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Seconds, E> {
                V::secs(n)
            }
        }
        d.deserialize_any(V)
    }
}

/// Declares a newtype over a Rhai value for an option that takes several shapes (the binding
/// checks which), with the Rhai type its docs show: `one_of!(Dhcp, "[start, end] or false");`.
macro_rules! one_of {
    ($(#[$m:meta])* $name:ident, $typ:literal) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub rhai::Dynamic);

        impl $crate::modules::opts::RhaiType for $name {
            fn name() -> String {
                $typ.to_string()
            }
            const OPTIONAL: bool = true;
        }
    };
}
pub(crate) use one_of;

/// `n`, an option `key` of `func` in `range`, or an error naming both and the `unit`.
pub fn in_range(
    func: &str,
    key: &str,
    n: i64,
    range: std::ops::RangeInclusive<i64>,
    unit: &str,
) -> Result<i64, Error> {
    if range.contains(&n) {
        return Ok(n);
    }
    Err(Error::invalid(format!(
        "{func}: '{key}' = {n} {unit} is out of range ({}..={} {unit})",
        range.start(),
        range.end()
    )))
}

/// How errors name an item given as a map: `what` and its `key` entry ("network prov"), or
/// `what` and `unnamed` when it has none.
pub fn item_label(what: &str, m: &Map, key: &str, unnamed: &str) -> String {
    let name = m.get(key).and_then(|v| v.clone().into_string().ok());
    format!("{what} {}", name.as_deref().unwrap_or(unnamed))
}

/// The type of a value as the user would name it.
pub fn type_name(v: &Dynamic) -> &'static str {
    type Is = fn(&Dynamic) -> bool;
    const NAMES: &[(Is, &str)] = &[
        (Dynamic::is_string, "a string"),
        (Dynamic::is_int, "an integer"),
        (Dynamic::is_float, "a float"),
        (Dynamic::is_bool, "a bool"),
        (Dynamic::is_array, "an array"),
        (Dynamic::is_map, "a map"),
        (Dynamic::is_unit, "()"),
        (Dynamic::is_fnptr, "a function"),
        (Dynamic::is::<Secret>, "a secret"),
    ];
    NAMES
        .iter()
        .find(|(is, _)| is(v))
        .map_or("a value of another type", |&(_, name)| name)
}

/// A word of a command line from a value: strings, numbers and bools as text. A secret is
/// refused, every local user can read a command line (ps, /proc/PID/cmdline); `instead` says how
/// the caller can hand it over. The error follows the word's name: "argv[2] must be a string".
pub fn to_word(v: &Dynamic, instead: &str) -> Result<String, Error> {
    if let Some(s) = v.read_lock::<Secret>() {
        return Err(Error::refused(format!(
            "is the secret {}, and a secret on a command line can be read by every local user (ps, /proc/PID/cmdline) while the program runs; {instead}",
            s.mask()
        )));
    }
    if v.is_string() {
        return Ok(v.clone().into_string().unwrap_or_default());
    }
    if v.is_int() || v.is_float() || v.is_bool() || v.is_char() {
        return Ok(v.to_string());
    }
    Err(Error::invalid(format!(
        "must be a string, not {}",
        type_name(v)
    )))
}

/// An environment value or a program's input from a value: strings, numbers and bools as text;
/// secrets kept masked (a child gets their value there on purpose).
pub fn to_arg(v: &Dynamic) -> Result<Arg, Error> {
    if let Some(s) = v.read_lock::<Secret>() {
        return Ok(Arg::Secret(s.clone()));
    }
    if v.is_string() {
        return Ok(Arg::Plain(v.clone().into_string().unwrap_or_default()));
    }
    if v.is_int() || v.is_float() || v.is_bool() || v.is_char() {
        return Ok(Arg::Plain(v.to_string()));
    }
    Err(Error::invalid(format!(
        "expected a string or a secret, got {}",
        type_name(v)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    option_spec! {
        struct Sample {
            /// A count.
            count: i64,
            /// A password.
            password: Option<OptArg>,
            /// A wait.
            timeout: Option<Seconds>,
            /// Words.
            words: Vec<String>,
            /// A keyword as a key.
            r#type: Option<String>,
            /// Anything.
            record: OptAny,
        }
    }

    option_spec! {
        struct Pw {
            /// A password.
            password: OptSecret,
        }
    }

    fn map(pairs: Vec<(&str, Dynamic)>) -> Map {
        pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
    }

    fn err(pairs: Vec<(&str, Dynamic)>) -> String {
        Sample::read("f", map(pairs))
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn a_spec_reads_its_fields_and_keeps_a_secret_one() {
        let s = Secret::new("bmc", "hunter2");
        let o = Sample::read(
            "f",
            map(vec![
                ("count", 3.into()),
                ("password", Dynamic::from(s)),
                ("timeout", Dynamic::from_float(1.5)),
                ("words", vec![Dynamic::from("a")].into()),
                ("type", "kvm".into()),
            ]),
        )
        .unwrap();
        assert_eq!(o.count, 3);
        assert!(matches!(&o.password, Some(OptArg(Arg::Secret(s))) if s.expose() == "hunter2"));
        assert!(!format!("{o:?}").contains("hunter2"));
        assert_eq!(o.timeout.map(|t| t.0.as_millis()), Some(1500));
        assert_eq!(o.words, ["a"]);
        assert_eq!(o.r#type.as_deref(), Some("kvm"));
        let o = Sample::read(
            "f",
            map(vec![
                ("count", 1.into()),
                (
                    "record",
                    map(vec![
                        ("n", 1.into()),
                        (
                            "pw",
                            vec![Dynamic::from(Secret::new("p", "hunter2"))].into(),
                        ),
                    ])
                    .into(),
                ),
            ]),
        )
        .unwrap();
        let record = o.record.0.cast::<Map>();
        assert_eq!(record["n"].as_int(), Ok(1));
        let pw = record["pw"].clone().cast::<rhai::Array>();
        assert!(pw[0]
            .read_lock::<Secret>()
            .is_some_and(|s| s.expose() == "hunter2"));
        STASHED.with(|s| assert!(s.borrow().is_empty()));
        let o = Sample::read(
            "f",
            map(vec![("count", 1.into()), ("password", "pw".into())]),
        )
        .unwrap();
        assert!(matches!(o.password, Some(OptArg(Arg::Plain(p))) if p == "pw"));
        assert!(o.words.is_empty() && o.timeout.is_none());
        // `()` is as if the key were not given.
        let o = Sample::read("f", map(vec![("count", 1.into()), ("type", Dynamic::UNIT)])).unwrap();
        assert!(o.r#type.is_none());
    }

    #[test]
    fn a_specs_errors_name_the_function_and_the_field() {
        assert_eq!(
            err(vec![("count", 1.into()), ("cuont", 1.into())]),
            "f: unknown option 'cuont' (did you mean 'count'?); known options: count, password, timeout, words, type, record"
        );
        assert_eq!(err(vec![]), "f: 'count' is required (int)");
        assert_eq!(
            err(vec![("count", "3".into())]),
            "f: option 'count' expected int, found string \"3\""
        );
        assert_eq!(
            err(vec![("count", 1.into()), ("words", "a".into())]),
            "f: option 'words' expected array of string, found string \"a\""
        );
        assert_eq!(
            err(vec![("count", 1.into()), ("password", Map::new().into())]),
            "f: option 'password' expected string or secret, found map"
        );
        assert_eq!(
            err(vec![("count", 1.into()), ("timeout", (-1).into())]),
            "f: option 'timeout' must be a number of seconds between 0 and 1e9, not -1"
        );
        // A password given as plain text is refused without showing it.
        let e = super::read_spec::<Pw>("f", map(vec![("password", "hunter2".into())]))
            .unwrap_err()
            .message()
            .to_string();
        assert_eq!(e, "f: option 'password' expected secret, found string");
        let advice = super::read_spec::<Pw>("f", map(vec![("password", "hunter2".into())]))
            .unwrap_err()
            .advice()
            .map(str::to_string);
        assert!(
            advice
                .as_deref()
                .is_some_and(|a| a.contains("secret(\"password\")") && !a.contains("hunter2")),
            "{advice:?}"
        );
        let pw = Pw::read(
            "f",
            map(vec![(
                "password",
                Dynamic::from(Secret::new("p", "hunter2")),
            )]),
        );
        assert!(pw.is_ok_and(|p| p.password.0.expose() == "hunter2"));
        // A secret given where text is wanted is named, never shown.

        let e = err(vec![("count", Dynamic::from(Secret::new("x", "hunter2")))]);
        assert_eq!(e, "f: option 'count' expected int, found secret");
        assert_eq!(Sample::FIELDS[4].name(), "type");
        assert_eq!((Sample::FIELDS[2].typ)(), "seconds (int or float)");
        assert!(!Sample::FIELDS[1].required && Sample::FIELDS[0].required);
    }
}
