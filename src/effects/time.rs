//! Wall-clock timestamps for journals and run ids, without a date library.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Days since 1970-01-01 to a civil (year, month, day), after Howard Hinnant's algorithm.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn parts(ms: u128) -> (i64, u32, u32, u64, u64, u64, u64) {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400) as u64;
    (
        y,
        mo,
        d,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        (ms % 1000) as u64,
    )
}

/// `2026-11-25T21:35:38.123Z`
pub fn rfc3339(ms: u128) -> String {
    let (y, mo, d, h, mi, s, milli) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `20261125T213538.123Z`, the sortable prefix of a run id.
pub fn compact(ms: u128) -> String {
    let (y, mo, d, h, mi, s, milli) = parts(ms);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}.{milli:03}Z")
}

/// Days since 1970-01-01 of a civil date (the inverse of `civil`, after Howard Hinnant).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch of `2026-11-25T21:35:38.123Z` (as [`rfc3339`] writes it).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, clock) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, "0"));
    let mut c = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (c.next()??, c.next()??, c.next()??);
    let milli: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    let days = days_from_civil(y, mo as u32, da as u32);
    let ms = ((days * 86_400 + h * 3600 + mi * 60 + se) * 1000) + milli;
    u64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsed_back() {
        for ms in [0u64, 1_795_642_538_500, 951_782_400_007] {
            assert_eq!(parse_rfc3339(&rfc3339(ms as u128)), Some(ms));
        }
        assert_eq!(parse_rfc3339("nope"), None);
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-25T21:35:38.5Z
        assert_eq!(rfc3339(1_795_642_538_500), "2026-11-25T21:35:38.500Z");
        assert_eq!(compact(951_782_400_007), "20000229T000000.007Z");
    }
}
