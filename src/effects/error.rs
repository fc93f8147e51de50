//! What can go wrong with an effect, as the code that branches on it needs it: stopped by Ctrl-C
//! or SIGTERM, out of time, a thing (a program, a file, an object) that is not there, or any other
//! failure with its message. Everything else carries its message only.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Ctrl-C or SIGTERM asked the run to stop.
    Interrupted,
    /// The time given ran out; what was waited for.
    TimedOut(String),
    /// What was needed is not there (a program not on PATH, a file, an object).
    NotFound(String),
    /// Anything else, said in words.
    Failed(String),
}

impl Error {
    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Interrupted => f.write_str("interrupted"),
            Error::TimedOut(m) | Error::NotFound(m) | Error::Failed(m) => f.write_str(m),
        }
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Failed(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::Failed(s.to_string())
    }
}

impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.to_string()
    }
}
