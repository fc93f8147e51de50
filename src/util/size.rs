//! Sizes as people write them: "100G", "512M", "12288MiB", "20 GB", or a number of bytes.
//! Binary multiples throughout (K = KiB = 1024), as qemu-img and libvirt read them.

use crate::error::Error;

/// The units, longest first so that "GIB" is not read as "B".
const UNITS: [(&str, i32); 13] = [
    ("TIB", 4),
    ("GIB", 3),
    ("MIB", 2),
    ("KIB", 1),
    ("TB", 4),
    ("GB", 3),
    ("MB", 2),
    ("KB", 1),
    ("T", 4),
    ("G", 3),
    ("M", 2),
    ("K", 1),
    ("B", 0),
];

/// `s` in bytes when it carries a unit; `Ok(None)` when it has none.
fn with_unit(s: &str) -> Result<Option<u64>, Error> {
    let t = s.trim().to_ascii_uppercase().replace(' ', "");
    for (u, p) in UNITS {
        if let Some(num) = t.strip_suffix(u) {
            let n: f64 = num
                .parse()
                .map_err(|_| Error::invalid(format!("{s:?} is not a size like 100G or 512M")))?;
            if n < 0.0 {
                return Err(Error::invalid(format!("{s:?} is negative")));
            }
            let bytes = n * 1024f64.powi(p);
            if bytes >= u64::MAX as f64 {
                return Err(Error::invalid(format!("{s:?} is too large")));
            }
            return Ok(Some(bytes as u64));
        }
    }
    Ok(None)
}

/// A size in bytes: "100G", "512M", "12288MiB", "20 GiB", "1.5K", or a bare number of bytes
/// ("4096").
pub fn parse_size(s: &str) -> Result<u64, Error> {
    if let Some(n) = with_unit(s)? {
        return Ok(n);
    }
    let t = s.trim();
    t.parse::<u64>().map_err(|_| {
        Error::invalid(if t.parse::<f64>().is_ok_and(|n| n < 0.0) {
            format!("{s:?} is negative")
        } else {
            format!("{s:?} is not a size like 100G, 512M or a number of bytes")
        })
    })
}

/// As [`parse_size`], with a unit required: where a bare number is surely a mistake (a disk of
/// "100" is 100 bytes, not 100 GiB).
pub fn parse_size_with_unit(s: &str) -> Result<u64, Error> {
    with_unit(s)?.ok_or_else(|| {
        Error::invalid(format!(
            "{s:?} has no unit: write it like 100G, 512M or 20GiB"
        ))
    })
}

/// `bytes` as people read it: "16 MiB", "1 GiB", "1.5 KiB", "512 bytes" (binary multiples, at
/// most one decimal, dropped when it is zero).
pub fn shown(bytes: u64) -> String {
    const NAMES: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = NAMES[0];
    for name in &NAMES[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = name;
    }
    let text = format!("{v:.1}");
    format!("{} {unit}", text.strip_suffix(".0").unwrap_or(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_shown() {
        assert_eq!(shown(512), "512 bytes");
        assert_eq!(shown(1536), "1.5 KiB");
        assert_eq!(shown(16 << 20), "16 MiB");
        assert_eq!(shown(1 << 30), "1 GiB");
        assert_eq!(shown(3 << 40), "3 TiB");
        assert_eq!(parse_size(&shown(64 << 20)).unwrap(), 64 << 20);
    }

    #[test]
    fn sizes_with_units() {
        for f in [parse_size, parse_size_with_unit] {
            assert_eq!(f("100G").unwrap(), 100 << 30);
            assert_eq!(f("12288MiB").unwrap(), 12288 << 20);
            assert_eq!(f(" 20 gb ").unwrap(), 20 << 30);
            assert_eq!(f("512k").unwrap(), 524288);
            assert_eq!(f("1.5K").unwrap(), 1536);
            assert_eq!(f("2T").unwrap(), 2 << 40);
            assert_eq!(f("100B").unwrap(), 100);
            assert!(f("ten G").unwrap_err().message().contains("is not a size"));
            assert!(f("-1G").unwrap_err().message().contains("negative"));
            assert!(f("20000000T").unwrap_err().message().contains("too large"));
        }
    }

    #[test]
    fn a_bare_number_is_bytes_unless_a_unit_is_required() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size(" 4096 ").unwrap(), 4096);
        assert!(parse_size("-5").unwrap_err().message().contains("negative"));
        assert!(parse_size("ten")
            .unwrap_err()
            .message()
            .contains("is not a size"));
        assert!(parse_size("")
            .unwrap_err()
            .message()
            .contains("is not a size"));
        assert!(parse_size_with_unit("100")
            .unwrap_err()
            .message()
            .contains("has no unit"));
        assert!(parse_size_with_unit("ten")
            .unwrap_err()
            .message()
            .contains("has no unit"));
    }
}
