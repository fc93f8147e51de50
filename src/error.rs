//! The crate's one error: what kind of failure it is, its message, what the user should do about
//! it, where it is, and what caused it. Every layer returns it: the seam's effects, the clients of
//! daemons, CLIs and APIs, the bindings (which raise it to Rhai at the call's position with
//! `session::rt_err`, where a script's `catch` reads `e.kind`, `e.message` and `e.advice`), and
//! diag.rs and the runner print it. Code branches on the [`Kind`], never on the message's words.
//!
//! A leaf like util/: it imports nothing of the crate, and no Rhai type.

use std::fmt;
use std::sync::Arc;

/// What kind of failure an error is: what code decides on (an offline cloud is an `Unreachable`
/// one; a `NotFound` object is absent) and what a script's `catch` compares `e.kind` with (by
/// [`Kind::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Ctrl-C or a stop signal asked the run to stop: never caught by a script.
    Interrupted,
    /// The time given ran out.
    TimedOut,
    /// What was asked for is not there: a program not on PATH, a file, an object (HTTP 404).
    NotFound,
    /// The thing exists already, or is in a state that forbids the change (HTTP 409).
    Conflict,
    /// The credentials were refused or do not allow it (HTTP 401, 403).
    Unauthorized,
    /// The service cannot be reached: connection refused, no such host, TLS failed.
    Unreachable,
    /// What the user gave is wrong: a profile, a target, a flag, an option map.
    Invalid,
    /// A precondition does not hold: labsh leaves something alone (a domain of another lab, a
    /// file it did not write), or will not do what was asked.
    Refused,
    /// Anything else, said in words.
    Failed,
}

impl Kind {
    /// Every kind, in the order of the enum.
    pub const ALL: [Kind; 9] = [
        Kind::Interrupted,
        Kind::TimedOut,
        Kind::NotFound,
        Kind::Conflict,
        Kind::Unauthorized,
        Kind::Unreachable,
        Kind::Invalid,
        Kind::Refused,
        Kind::Failed,
    ];

    /// The name scripts see in `e.kind`: `"not_found"`, `"timed_out"`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Interrupted => "interrupted",
            Kind::TimedOut => "timed_out",
            Kind::NotFound => "not_found",
            Kind::Conflict => "conflict",
            Kind::Unauthorized => "unauthorized",
            Kind::Unreachable => "unreachable",
            Kind::Invalid => "invalid",
            Kind::Refused => "refused",
            Kind::Failed => "failed",
        }
    }

    /// The kind a name stands for (see [`Kind::name`]).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind of an HTTP status that is no success: 404 not found, 409 conflict, 401 and 403
    /// unauthorized, 408 and 504 timed out; any other failed.
    pub fn of_http_status(status: u16) -> Kind {
        match status {
            404 => Kind::NotFound,
            409 => Kind::Conflict,
            401 | 403 => Kind::Unauthorized,
            408 | 504 => Kind::TimedOut,
            _ => Kind::Failed,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where an error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// A place in a script or module (its name, when known): the call that raised it.
    Script {
        source: Option<String>,
        line: usize,
        column: usize,
    },
    /// A place in what the user gave: the file and the key in it, as far as they are known. The
    /// message names them itself, so an error at an input is shown without the script's frames.
    Input {
        file: Option<String>,
        key: Option<String>,
    },
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Script {
                source: Some(s),
                line,
                column,
            } => write!(f, "{s}:{line}:{column}"),
            At::Script {
                source: None,
                line,
                column,
            } => write!(f, "line {line}, column {column}"),
            At::Input {
                file: Some(file),
                key: Some(key),
            } => write!(f, "{file}: {key}"),
            At::Input {
                file: Some(s),
                key: None,
            }
            | At::Input {
                file: None,
                key: Some(s),
            } => f.write_str(s),
            At::Input {
                file: None,
                key: None,
            } => f.write_str("the input"),
        }
    }
}

/// An error: a [`Kind`], its message (what is shown; it says what failed and names the file,
/// key or object), the advice for the user (what to do before running again), where it is, and
/// the error that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    message: String,
    advice: Option<String>,
    at: Option<At>,
    cause: Option<Arc<Error>>,
}

/// A result whose error is the crate's.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            advice: None,
            at: None,
            cause: None,
        }
    }

    /// The stop asked for with Ctrl-C or a signal; its message is "interrupted".
    pub fn interrupted() -> Error {
        Error::new(Kind::Interrupted, "interrupted")
    }

    pub fn timed_out(message: impl Into<String>) -> Error {
        Error::new(Kind::TimedOut, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Kind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Error {
        Error::new(Kind::Conflict, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Error {
        Error::new(Kind::Unauthorized, message)
    }

    pub fn unreachable(message: impl Into<String>) -> Error {
        Error::new(Kind::Unreachable, message)
    }

    /// A mistake in what the user gave; the message names the file and key, or the field.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Kind::Invalid, message)
    }

    /// A precondition that does not hold: labsh will not do it.
    pub fn refused(message: impl Into<String>) -> Error {
        Error::new(Kind::Refused, message)
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error::new(Kind::Failed, message)
    }

    /// An I/O error with what was being done (`cannot read /x`): a missing file is `NotFound`,
    /// a refused connection `Unreachable`, a timeout `TimedOut`, anything else `Failed`. The
    /// message is `"{doing}: {e}"`.
    pub fn io(doing: impl fmt::Display, e: &std::io::Error) -> Error {
        Error::new(io_kind(e), format!("{doing}: {e}"))
    }

    /// Any error `e` with what was being done: the crate's keeps its kind, advice and place
    /// ([`Error::context`]), an I/O error has its kind ([`Error::io`]), any other is `Failed`.
    /// The message is `"{doing}: {e}"`.
    pub fn wrap(doing: impl fmt::Display, e: &(dyn std::error::Error + 'static)) -> Error {
        if let Some(ours) = e.downcast_ref::<Error>() {
            return ours.clone().context(doing);
        }
        let kind = e
            .downcast_ref::<std::io::Error>()
            .map_or(Kind::Failed, io_kind);
        Error::new(kind, format!("{doing}: {e}"))
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn is(&self, kind: Kind) -> bool {
        self.kind == kind
    }

    pub fn is_interrupted(&self) -> bool {
        self.kind == Kind::Interrupted
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == Kind::NotFound
    }

    /// What is shown: what failed, naming the file, key or object.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do before running again, when the error knows.
    pub fn advice(&self) -> Option<&str> {
        self.advice.as_deref()
    }

    pub fn at(&self) -> Option<&At> {
        self.at.as_ref()
    }

    /// Whether the error names its own place in what the user gave ([`At::Input`]): shown
    /// without the script's frames.
    pub fn at_input(&self) -> bool {
        matches!(self.at, Some(At::Input { .. }))
    }

    /// The error this one was caused by.
    pub fn cause(&self) -> Option<&Error> {
        self.cause.as_deref()
    }

    pub fn with_advice(mut self, advice: impl Into<String>) -> Error {
        self.advice = Some(advice.into());
        self
    }

    /// The same error, of another kind.
    pub fn with_kind(mut self, kind: Kind) -> Error {
        self.kind = kind;
        self
    }

    pub fn with_at(mut self, at: At) -> Error {
        self.at = Some(at);
        self
    }

    /// At a place in what the user gave (see [`At::Input`]).
    pub fn in_input(self, file: Option<&str>, key: Option<&str>) -> Error {
        self.with_at(At::Input {
            file: file.map(str::to_string),
            key: key.map(str::to_string),
        })
    }

    pub fn with_cause(mut self, cause: Error) -> Error {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The error with what was being done before its message (`"{doing}: {message}"`); its
    /// kind, advice and place are kept.
    pub fn context(mut self, doing: impl fmt::Display) -> Error {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// The error with its message made by `f` from the message (a longer sentence around it, a
    /// hint appended); its kind, advice and place are kept.
    pub fn map_message(mut self, f: impl FnOnce(&str) -> String) -> Error {
        self.message = f(&self.message);
        self
    }

    /// One error for several (`message` says what failed; the parts are usually listed in it):
    /// interrupted if one of them is, else of their kind when they share one, else failed; the
    /// advice of the first that has some; caused by the first.
    pub fn of_several<'a>(
        message: impl Into<String>,
        parts: impl IntoIterator<Item = &'a Error>,
    ) -> Error {
        let parts: Vec<&Error> = parts.into_iter().collect();
        let kind = if parts.iter().any(|e| e.is_interrupted()) {
            Kind::Interrupted
        } else {
            match parts.first() {
                Some(first) if parts.iter().all(|e| e.kind == first.kind) => first.kind,
                _ => Kind::Failed,
            }
        };
        let mut e = Error::new(kind, message);
        e.advice = parts.iter().find_map(|p| p.advice.clone());
        e.cause = parts.first().map(|p| Arc::new((*p).clone()));
        e
    }
}

fn io_kind(e: &std::io::Error) -> Kind {
    Kind::of_io(e)
}

impl Kind {
    /// The kind of an I/O error: not found, timed out, a refused connection or an unreachable
    /// host or network unreachable; any other failed.
    pub fn of_io(e: &std::io::Error) -> Kind {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::NotFound => Kind::NotFound,
            K::TimedOut => Kind::TimedOut,
            K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable => Kind::Unreachable,
            _ => Kind::Failed,
        }
    }
}

/// What was being done, said before a failure's message: `.context("cannot read x")?` on any
/// result whose error is a `std::error::Error` (see [`Error::wrap`]).
pub trait Context<T> {
    /// The error as the crate's, `"{doing}: {error}"`, of the error's kind.
    fn context(self, doing: impl fmt::Display) -> Result<T>;
    /// [`Context::context`] with what was being done said only on failure.
    fn with_context<D: fmt::Display>(self, doing: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: std::error::Error + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, doing: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::wrap(doing, &e))
    }

    fn with_context<D: fmt::Display>(self, doing: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| Error::wrap(doing(), &e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// A message alone is a failure of no particular kind.
impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::failed(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::failed(s)
    }
}

/// Where a message is all that is wanted (an edge that still speaks text): the message.
impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_the_names_scripts_compare_with() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "interrupted",
                "timed_out",
                "not_found",
                "conflict",
                "unauthorized",
                "unreachable",
                "invalid",
                "refused",
                "failed"
            ]
        );
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("NotFound"), None);
    }

    #[test]
    fn http_statuses_have_their_kinds() {
        for (status, kind) in [
            (404, Kind::NotFound),
            (409, Kind::Conflict),
            (401, Kind::Unauthorized),
            (403, Kind::Unauthorized),
            (504, Kind::TimedOut),
            (500, Kind::Failed),
            (400, Kind::Failed),
        ] {
            assert_eq!(Kind::of_http_status(status), kind, "{status}");
        }
    }

    #[test]
    fn context_keeps_kind_advice_and_place() {
        let e = Error::not_found("no image x")
            .with_advice("upload it first")
            .in_input(Some("p.rhai"), Some("tenant.image"))
            .context("cannot boot server y");
        assert_eq!(e.kind(), Kind::NotFound);
        assert_eq!(e.to_string(), "cannot boot server y: no image x");
        assert_eq!(e.advice(), Some("upload it first"));
        assert!(e.at_input());
        assert_eq!(
            e.at().map(|a| a.to_string()).as_deref(),
            Some("p.rhai: tenant.image")
        );
    }

    #[test]
    fn a_message_alone_is_a_failure_and_an_error_gives_its_message_back() {
        let e: Error = format!("boom {}", 1).into();
        assert_eq!(e.kind(), Kind::Failed);
        assert_eq!(String::from(e), "boom 1");
        let s: Error = "x".into();
        assert!(s.is(Kind::Failed) && s.advice().is_none() && s.at().is_none());
    }

    #[test]
    fn io_errors_have_their_kinds() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = Error::io("cannot read /x", &missing);
        assert!(e.is_not_found() && e.message().starts_with("cannot read /x: "));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Error::io("connect", &refused).kind(), Kind::Unreachable);
        let other = std::io::Error::other("disk on fire");
        assert_eq!(Error::io("write", &other).kind(), Kind::Failed);
    }

    #[test]
    fn context_on_a_result_keeps_the_kind_of_what_failed() {
        let ours: Result<(), Error> =
            Err(Error::conflict("port 623 is taken").with_advice("free it"));
        let e = ours.context("cannot add the BMC").expect_err("failed");
        assert_eq!(e.kind(), Kind::Conflict);
        assert_eq!(e.to_string(), "cannot add the BMC: port 623 is taken");
        assert_eq!(e.advice(), Some("free it"));
        let io: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        let e = io
            .with_context(|| format!("cannot read {}", "/x"))
            .expect_err("failed");
        assert!(e.is_not_found() && e.message().starts_with("cannot read /x: "));
        let json = serde_json::from_str::<serde_json::Value>("{").context("not JSON");
        assert!(json.is_err_and(|e| e.is(Kind::Failed)));
    }

    #[test]
    fn several_errors_are_one_of_their_kind_with_the_first_advice() {
        let a = Error::not_found("a");
        let b = Error::not_found("b").with_advice("make b");
        let one = Error::of_several("2 failed", [&a, &b]);
        assert_eq!(one.kind(), Kind::NotFound);
        assert_eq!(one.advice(), Some("make b"));
        assert_eq!(one.cause(), Some(&a));
        let c = Error::conflict("c");
        assert_eq!(Error::of_several("x", [&a, &c]).kind(), Kind::Failed);
        let stop = Error::interrupted();
        assert!(Error::of_several("x", [&a, &stop]).is_interrupted());
        assert_eq!(Error::of_several("none", []).kind(), Kind::Failed);
    }

    #[test]
    fn the_cause_is_the_source() {
        use std::error::Error as _;
        let e = Error::failed("provisioning failed").with_cause(Error::timed_out("no answer"));
        let src = e.source().map(|s| s.to_string());
        assert_eq!(src.as_deref(), Some("no answer"));
        assert_eq!(e.cause().map(Error::kind), Some(Kind::TimedOut));
    }

    #[test]
    fn places_read_as_people_write_them() {
        let s = At::Script {
            source: Some("lab.rhai".into()),
            line: 3,
            column: 7,
        };
        assert_eq!(s.to_string(), "lab.rhai:3:7");
        let i = At::Input {
            file: Some("v.rhai".into()),
            key: None,
        };
        assert_eq!(i.to_string(), "v.rhai");
    }
}
