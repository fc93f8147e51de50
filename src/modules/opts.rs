//! Reading option maps (`#{timeout: 30, cwd: "/tmp"}`) with errors that name the field (of kind
//! [`Kind::Invalid`](crate::error::Kind::Invalid)).

use crate::effects::process::Arg;
use crate::effects::secret::Secret;
use crate::error::Error;
use rhai::{Dynamic, Map};

/// An option map checked against the keys a function knows.
pub struct Opts<'a> {
    func: &'a str,
    map: Map,
}

impl<'a> Opts<'a> {
    /// Fails on a key that `known` does not list, naming the closest known key.
    pub fn new(func: &'a str, map: Map, known: &[&str]) -> Result<Self, Error> {
        for k in map.keys() {
            if !known.contains(&k.as_str()) {
                let hint = crate::util::suggest::hint(k, known.iter().copied());
                return Err(Error::invalid(format!(
                    "{func}: unknown option '{k}'{hint}; known options: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(Opts { func, map })
    }

    fn get(&self, key: &str) -> Option<&Dynamic> {
        self.map.get(key).filter(|v| !v.is_unit())
    }

    fn wrong(&self, key: &str, want: &str, got: &Dynamic) -> Error {
        Error::invalid(format!(
            "{}: option '{key}' must be {want}, not {}",
            self.func,
            type_name(got)
        ))
    }

    pub fn str(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(v.clone().into_string().unwrap_or_default())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// [`Opts::str`], `default` when the key is not given.
    pub fn str_or(&self, key: &str, default: &str) -> Result<String, Error> {
        Ok(self.str(key)?.unwrap_or_else(|| default.to_string()))
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().map_err(|_| self.wrong(key, "true or false", v)),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_int()
                .map(Some)
                .map_err(|_| self.wrong(key, "an integer", v)),
        }
    }

    /// A duration in seconds, integer or float, at least zero.
    pub fn seconds(&self, key: &str) -> Result<Option<std::time::Duration>, Error> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let secs = if let Ok(i) = v.as_int() {
            i as f64
        } else if let Ok(f) = v.as_float() {
            f
        } else {
            return Err(self.wrong(key, "a number of seconds", v));
        };
        if !(0.0..=1e9).contains(&secs) {
            return Err(Error::invalid(format!(
                "{}: option '{key}' must be a number of seconds between 0 and 1e9, not {secs}",
                self.func
            )));
        }
        Ok(Some(std::time::Duration::from_secs_f64(secs)))
    }

    /// A required string.
    pub fn req_str(&self, key: &str) -> Result<String, Error> {
        self.str(key)?
            .ok_or_else(|| Error::invalid(format!("{}: '{key}' is required", self.func)))
    }

    /// A required integer in `range`; `unit` names the unit in errors ("MiB").
    pub fn req_int(
        &self,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        unit: &str,
    ) -> Result<i64, Error> {
        let v = match self.get(key) {
            None => {
                return Err(Error::invalid(format!(
                    "{}: '{key}' is required ({unit})",
                    self.func
                )))
            }
            Some(v) => v,
        };
        let Ok(n) = v.as_int() else {
            return Err(Error::invalid(format!(
                "{}: '{key}' must be an integer number of {unit}, not {} {}",
                self.func,
                type_name(v),
                crate::engine::value::literal(v)
            )));
        };
        if !range.contains(&n) {
            return Err(Error::invalid(format!(
                "{}: '{key}' = {n} {unit} is out of range ({}..={} {unit})",
                self.func,
                range.start(),
                range.end()
            )));
        }
        Ok(n)
    }

    /// An array (of anything); missing gives an empty one.
    pub fn array(&self, key: &str) -> Result<rhai::Array, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(v) if v.is_array() => Ok(v.clone().into_array().unwrap_or_default()),
            Some(v) => Err(self.wrong(key, "an array", v)),
        }
    }

    /// Whether the key is present and not `()`.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The raw value, if present.
    pub fn value(&self, key: &str) -> Option<&Dynamic> {
        self.get(key)
    }

    pub fn map(&self, key: &str) -> Result<Option<Map>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.is_map() => Ok(v.read_lock::<Map>().map(|m| m.clone())),
            Some(v) => Err(self.wrong(key, "a map", v)),
        }
    }

    /// A string or a secret.
    pub fn arg(&self, key: &str) -> Result<Option<Arg>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => to_arg(v)
                .map(Some)
                .map_err(|_| self.wrong(key, "a string or a secret", v)),
        }
    }
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
