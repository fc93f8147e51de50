//! Files read whole, with a bound: every file labsh reads into memory (a script's `files::read`,
//! YAML and JSON files, instackenv.json, clouds.yaml, the secrets file, journals, pid files) goes
//! through here. Only regular files are read (a device, FIFO or folder is refused by name, never
//! read forever or waited on), and one larger than its limit is refused naming the file and the
//! limit, before it is held in memory.

use crate::error::{Error, Kind};
use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The most labsh reads of one file unless a caller gives its own limit: the longest string a
/// script may hold (`engine::MAX_STRING_SIZE`), and far more than any configuration file.
pub const MAX_FILE: u64 = 16 << 20;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// It does not exist (or a folder on its path does not).
    Missing(PathBuf, std::io::Error),
    /// It could not be opened or read.
    Io(PathBuf, std::io::Error),
    /// It is not a regular file: what it is.
    NotRegular(PathBuf, &'static str),
    /// It holds more than the limit (in bytes).
    TooLarge(PathBuf, u64),
    /// Its bytes are not UTF-8 text, first on this line.
    NotUtf8(PathBuf, usize),
}

impl ReadError {
    /// Whether the file does not exist: the case many callers take as "nothing yet".
    pub fn is_missing(&self) -> bool {
        matches!(self, ReadError::Missing(..))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Missing(p, _)
            | ReadError::Io(p, _)
            | ReadError::NotRegular(p, _)
            | ReadError::TooLarge(p, _)
            | ReadError::NotUtf8(p, _) => p,
        }
    }
}

impl ReadError {
    /// What is wrong, without the file's name: for a message that names it already.
    pub fn reason(&self) -> String {
        match self {
            ReadError::Missing(_, e) | ReadError::Io(_, e) => format!("cannot read it: {e}"),
            ReadError::NotRegular(_, what) => {
                format!("not a regular file ({what}); give the path of a file")
            }
            ReadError::TooLarge(_, limit) => format!(
                "it is larger than {}, the most labsh reads of this file",
                super::size::shown(*limit)
            ),
            ReadError::NotUtf8(_, line) => format!(
                "line {line} is not UTF-8 text; labsh reads text files as UTF-8: convert it \
                 (iconv -t UTF-8)"
            ),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Missing(p, e) | ReadError::Io(p, e) => {
                write!(f, "cannot read {}: {e}", p.display())
            }
            ReadError::NotUtf8(p, line) => write!(
                f,
                "{}:{line}: not UTF-8 text; labsh reads text files as UTF-8: convert it (iconv -t UTF-8)",
                p.display()
            ),
            other => write!(f, "cannot read {}: {}", other.path().display(), other.reason()),
        }
    }
}

impl std::error::Error for ReadError {}

impl ReadError {
    /// Its kind as the crate's error: a missing file not found; a device, FIFO or folder given
    /// for a file, or text that is not UTF-8, invalid (what was given is wrong); a file over its
    /// limit refused (labsh does not read more of it); any other failure to read of its I/O kind.
    pub fn kind(&self) -> Kind {
        match self {
            ReadError::Missing(..) => Kind::NotFound,
            ReadError::Io(_, e) => Kind::of_io(e),
            ReadError::NotRegular(..) | ReadError::NotUtf8(..) => Kind::Invalid,
            ReadError::TooLarge(..) => Kind::Refused,
        }
    }

    /// [`ReadError::reason`] as the crate's error of its kind: for a message that names the file
    /// already.
    pub fn reason_error(&self) -> Error {
        Error::new(self.kind(), self.reason())
    }
}

impl From<ReadError> for Error {
    /// The error of its [`ReadError::kind`], its message as shown.
    fn from(e: ReadError) -> Error {
        Error::new(e.kind(), e.to_string())
    }
}

impl From<ReadError> for String {
    fn from(e: ReadError) -> String {
        e.to_string()
    }
}

fn io_error(path: &Path, e: std::io::Error) -> ReadError {
    // ENOTDIR: a file stands where a folder of the path should be; nothing is there either.
    if e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) {
        ReadError::Missing(path.to_path_buf(), e)
    } else {
        ReadError::Io(path.to_path_buf(), e)
    }
}

/// What a file that is not a regular one is, in words.
fn kind_of(m: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Opens `path` (symlinks followed) for reading when it is a regular file. It is opened without
/// waiting (a FIFO would block until a writer came) and without becoming a terminal's, and
/// checked on the open file, so what was checked is what is read.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let m = f.metadata().map_err(|e| io_error(path, e))?;
    if !m.is_file() {
        return Err(ReadError::NotRegular(path.to_path_buf(), kind_of(&m)));
    }
    Ok((f, m))
}

/// The bytes of the file at `path`, at most `limit` of them: a larger file is an error, found
/// from its size before reading and from what it yields while reading (files in /proc say 0).
pub fn bytes_up_to(path: impl AsRef<Path>, limit: u64) -> Result<Vec<u8>, ReadError> {
    let path = path.as_ref();
    let (f, m) = open_regular(path)?;
    if m.len() > limit {
        return Err(ReadError::TooLarge(path.to_path_buf(), limit));
    }
    let mut out = Vec::with_capacity(m.len() as usize);
    f.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| io_error(path, e))?;
    if out.len() as u64 > limit {
        return Err(ReadError::TooLarge(path.to_path_buf(), limit));
    }
    Ok(out)
}

/// The bytes of the file at `path`, at most [`MAX_FILE`].
pub fn bytes(path: impl AsRef<Path>) -> Result<Vec<u8>, ReadError> {
    bytes_up_to(path, MAX_FILE)
}

/// `bytes` as UTF-8 text, or an error naming the line of the first byte that is not.
fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String, ReadError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..good].iter().filter(|b| **b == b'\n').count();
        ReadError::NotUtf8(path.to_path_buf(), line)
    })
}

/// The text of the file at `path`, at most `limit` bytes of UTF-8.
pub fn text_up_to(path: impl AsRef<Path>, limit: u64) -> Result<String, ReadError> {
    let path = path.as_ref();
    utf8(path, bytes_up_to(path, limit)?)
}

/// The text of the file at `path`, at most [`MAX_FILE`] bytes of UTF-8.
pub fn text(path: impl AsRef<Path>) -> Result<String, ReadError> {
    text_up_to(path, MAX_FILE)
}

/// The text of the file at `path`, or `None` when it does not exist.
pub fn text_if_exists(path: impl AsRef<Path>) -> Result<Option<String>, ReadError> {
    match text(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_missing() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The last `n` bytes of the file at `path` (all of it when shorter) as text, from the first
/// whole line in them; bytes that are not UTF-8 are replaced. For the end of a log that may be
/// any size.
pub fn tail(path: impl AsRef<Path>, n: u64) -> Result<String, ReadError> {
    let path = path.as_ref();
    let (mut f, m) = open_regular(path)?;
    let start = m.len().saturating_sub(n);
    f.seek(SeekFrom::Start(start))
        .map_err(|e| io_error(path, e))?;
    let mut out = Vec::new();
    f.take(n)
        .read_to_end(&mut out)
        .map_err(|e| io_error(path, e))?;
    let from = if start > 0 {
        out.iter().position(|b| *b == b'\n').map_or(0, |i| i + 1)
    } else {
        0
    };
    Ok(String::from_utf8_lossy(&out[from..]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_within_its_limit_is_read() {
        let (_dir, p) = crate::util::testing::temp_file("a.txt", "one\ntwo\n");
        assert_eq!(text(&p).unwrap(), "one\ntwo\n");
        assert_eq!(bytes_up_to(&p, 8).unwrap(), b"one\ntwo\n");
        assert_eq!(text_if_exists(&p).unwrap().as_deref(), Some("one\ntwo\n"));
    }

    #[test]
    fn a_file_over_its_limit_is_refused_naming_it_and_the_limit() {
        let (_dir, p) = crate::util::testing::temp_file("big.txt", &"x".repeat(2048));
        let e = text_up_to(&p, 1024).unwrap_err().to_string();
        assert!(
            e.contains(&p.display().to_string()) && e.contains("larger than 1 KiB"),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_grows_while_read_is_still_bounded() {
        // /proc files say they hold nothing and yield more: the bound holds on what is read.
        let e = bytes_up_to("/proc/self/status", 16)
            .unwrap_err()
            .to_string();
        assert!(e.contains("larger than 16 bytes"), "{e}");
        assert!(!text("/proc/self/status").unwrap().is_empty());
    }

    #[test]
    fn devices_fifos_and_folders_are_refused_by_name() {
        let t0 = std::time::Instant::now();
        let e = text("/dev/zero").unwrap_err().to_string();
        assert!(
            e.contains("/dev/zero") && e.contains("not a regular file (a character device)"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = text(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file (a directory)"), "{e}");
        // A FIFO with no writer is refused at once, not waited on.
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        #[allow(unsafe_code)]
        let rc = {
            // SAFETY: mkfifo(3) with a valid NUL-terminated path; no memory is handed over.
            unsafe { libc::mkfifo(c.as_ptr(), 0o600) }
        };
        assert_eq!(rc, 0);
        let e = text(&fifo).unwrap_err().to_string();
        assert!(e.contains("not a regular file (a FIFO)"), "{e}");
        assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_missing_file_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let e = text(dir.path().join("none")).unwrap_err();
        assert!(e.is_missing(), "{e}");
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        assert!(text_if_exists(dir.path().join("none")).unwrap().is_none());
        let (_d, f) = crate::util::testing::temp_file("f", "x");
        assert!(text(f.join("under-a-file")).unwrap_err().is_missing());
    }

    #[test]
    fn text_that_is_not_utf8_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("latin1.txt");
        std::fs::write(&p, b"one\ntwo\nd\xe9j\xe0\n").unwrap();
        let e = text(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:3: not UTF-8 text", p.display())),
            "{e}"
        );
    }

    #[test]
    fn each_failure_is_the_crate_error_of_its_kind() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Error::from(text(dir.path().join("none")).unwrap_err());
        assert_eq!(missing.kind(), Kind::NotFound, "{missing}");
        assert!(missing.message().starts_with("cannot read "), "{missing}");
        let device = Error::from(text("/dev/zero").unwrap_err());
        assert_eq!(device.kind(), Kind::Invalid, "{device}");
        assert!(device.message().contains("/dev/zero"), "{device}");
        let folder = Error::from(text(dir.path()).unwrap_err());
        assert_eq!(folder.kind(), Kind::Invalid, "{folder}");
        let (_d, p) = crate::util::testing::temp_file("big.txt", &"x".repeat(2048));
        let big = Error::from(text_up_to(&p, 1024).unwrap_err());
        assert_eq!(big.kind(), Kind::Refused, "{big}");
        assert!(big.message().contains("larger than 1 KiB"), "{big}");
        let latin1 = dir.path().join("latin1.txt");
        std::fs::write(&latin1, b"d\xe9j\xe0\n").unwrap();
        let e = text(&latin1).unwrap_err();
        assert_eq!(e.reason_error().kind(), Kind::Invalid);
        assert!(
            e.reason_error()
                .message()
                .starts_with("line 1 is not UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn the_tail_of_a_file_starts_at_a_whole_line() {
        let body: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let (_dir, p) = crate::util::testing::temp_file("log", &body);
        let t = tail(&p, 40).unwrap();
        assert!(t.ends_with("line 999\n") && t.starts_with("line "), "{t}");
        assert!(t.len() <= 40);
        assert_eq!(tail(&p, 1 << 20).unwrap(), body);
    }
}
