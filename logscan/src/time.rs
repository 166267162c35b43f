//! Time without a date library: civil dates to Unix seconds and back,
//! RFC 3339 formatting, the local UTC offset of syslog timestamps that carry
//! no zone, and fail2ban-style durations (`10m`, `1h`, `600`).

use std::fmt::Write as _;

/// Seconds since the Unix epoch, plus the UTC offset (seconds east) the
/// source wrote or implied, so the RFC 3339 form keeps the writer's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub unix: i64,
    pub micros: u32,
    pub offset: i32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A wall-clock time as written in a log line, before a zone is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
}

impl CivilTime {
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 61
    }

    /// Seconds since the epoch if this wall-clock time were UTC.
    pub fn as_utc_seconds(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86400
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second as i64
    }

    pub fn with_offset(&self, offset: i32) -> Timestamp {
        Timestamp {
            unix: self.as_utc_seconds() - offset as i64,
            micros: self.micros,
            offset,
        }
    }
}

/// The offset of local time (the TZ of this process) for a wall-clock time.
/// glibc's mktime is slow-ish, so the answer is cached per hour of wall time.
#[derive(Debug, Default)]
pub struct LocalZone {
    cached_hour: Option<i64>,
    cached_offset: i32,
}

impl LocalZone {
    pub fn offset_for(&mut self, civil: &CivilTime) -> i32 {
        self.offset_at(civil, civil.as_utc_seconds())
    }

    /// [`LocalZone::offset_for`] when the caller has `civil.as_utc_seconds()`.
    pub fn offset_at(&mut self, civil: &CivilTime, utc_seconds: i64) -> i32 {
        let hour_key = utc_seconds.div_euclid(3600);
        if self.cached_hour == Some(hour_key) {
            return self.cached_offset;
        }
        let offset = local_offset(civil);
        self.cached_hour = Some(hour_key);
        self.cached_offset = offset;
        offset
    }

    pub fn timestamp(&mut self, civil: &CivilTime) -> Timestamp {
        let offset = self.offset_for(civil);
        civil.with_offset(offset)
    }
}

fn local_offset(civil: &CivilTime) -> i32 {
    // SAFETY: tm is plain data fully initialised by zeroed(); mktime only
    // reads and normalises it.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tm.tm_year = (civil.year - 1900).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
        tm.tm_mon = civil.month as i32 - 1;
        tm.tm_mday = civil.day as i32;
        tm.tm_hour = civil.hour as i32;
        tm.tm_min = civil.minute as i32;
        tm.tm_sec = civil.second.min(59) as i32;
        tm.tm_isdst = -1;
        let t = libc::mktime(&mut tm);
        if t == -1 {
            return 0;
        }
        tm.tm_gmtoff as i32
    }
}

/// Now, in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Append `2026-11-22T05:37:23Z` / `...+02:00` (microseconds when present).
pub fn write_rfc3339(out: &mut String, ts: &Timestamp) {
    let mut buf = [0u8; RFC3339_MAX];
    match format_rfc3339(ts, &mut buf) {
        // Only ASCII digits and punctuation were written.
        Some(n) => out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default()),
        None => write_rfc3339_fmt(out, ts),
    }
}

/// The longest text [`format_rfc3339`] writes.
pub const RFC3339_MAX: usize = 32;

/// `n` as exactly two digits (`n < 100`).
#[inline]
fn two(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// The RFC 3339 text of a time with a four-digit year and an offset under
/// 100 hours (every time a log line can carry), written by hand: this runs
/// for most events of `logscan --json`. None for anything else, which
/// [`write_rfc3339_fmt`] handles.
pub fn format_rfc3339(ts: &Timestamp, out: &mut [u8; RFC3339_MAX]) -> Option<usize> {
    let local = ts.unix.checked_add(ts.offset as i64)?;
    let days = local.div_euclid(86400);
    let secs = local.rem_euclid(86400) as u32;
    let (y, m, d) = civil_from_days(days);
    let abs = ts.offset.unsigned_abs();
    if !(0..=9999).contains(&y) || ts.micros > 999_999 || abs / 3600 > 99 {
        return None;
    }
    let y = y as u32;
    two(&mut out[0..2], y / 100);
    two(&mut out[2..4], y % 100);
    out[4] = b'-';
    two(&mut out[5..7], m);
    out[7] = b'-';
    two(&mut out[8..10], d);
    out[10] = b'T';
    two(&mut out[11..13], secs / 3600);
    out[13] = b':';
    two(&mut out[14..16], (secs / 60) % 60);
    out[16] = b':';
    two(&mut out[17..19], secs % 60);
    let mut n = 19;
    if ts.micros != 0 {
        out[n] = b'.';
        let mut v = ts.micros;
        for i in (1..=6).rev() {
            out[n + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        n += 7;
    }
    if ts.offset == 0 {
        out[n] = b'Z';
        n += 1;
    } else {
        out[n] = if ts.offset < 0 { b'-' } else { b'+' };
        two(&mut out[n + 1..n + 3], abs / 3600);
        out[n + 3] = b':';
        two(&mut out[n + 4..n + 6], (abs / 60) % 60);
        n += 6;
    }
    Some(n)
}

/// The general form of [`write_rfc3339`] (years outside 0..=9999).
fn write_rfc3339_fmt(out: &mut String, ts: &Timestamp) {
    let local = ts.unix.saturating_add(ts.offset as i64);
    let days = local.div_euclid(86400);
    let secs = local.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if ts.micros != 0 {
        let _ = write!(out, ".{:06}", ts.micros);
    }
    if ts.offset == 0 {
        out.push('Z');
    } else {
        let sign = if ts.offset < 0 { '-' } else { '+' };
        let abs = ts.offset.unsigned_abs();
        let _ = write!(out, "{sign}{:02}:{:02}", abs / 3600, (abs / 60) % 60);
    }
}

pub fn rfc3339(ts: &Timestamp) -> String {
    let mut s = String::with_capacity(32);
    write_rfc3339(&mut s, ts);
    s
}

/// A UTC RFC 3339 string for a Unix time.
pub fn rfc3339_utc(unix: i64) -> String {
    rfc3339(&Timestamp {
        unix,
        micros: 0,
        offset: 0,
    })
}

/// Parse an RFC 3339 time (`2026-11-22T05:37:23Z`, offsets, fractions;
/// a space instead of `T` and a missing zone, meaning UTC, are accepted).
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let (civil, rest) = crate::format::parse_iso_datetime(text.as_bytes())?;
    let (offset, rest) = crate::format::parse_zone(rest);
    if !rest.is_empty() {
        return None;
    }
    Some(civil.with_offset(offset.unwrap_or(0)))
}

/// A duration in fail2ban's syntax: plain seconds (`600`) or numbers with
/// units `s`, `m`, `h`, `d`, `w` (also `min`, `hour`, `day`, `week`, and sums
/// such as `1h30m`).
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let n: i64 = text[start..i].parse().ok()?;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let mult = match &text[unit_start..i] {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "mi" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86400,
            "w" | "week" | "weeks" => 7 * 86400,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    Some(total)
}

/// `--since`/`--until`: an RFC 3339 time, or a duration back from now (`24h`).
pub fn parse_time_bound(text: &str, now: i64) -> Option<i64> {
    if let Some(ts) = parse_rfc3339(text) {
        return Some(ts.unix);
    }
    parse_duration(text).map(|d| now - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800000, -1, 0, 1, 10957, 20000, 2932896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
    }

    #[test]
    fn formats_rfc3339_with_offsets() {
        let ts = Timestamp {
            unix: 1_562_622_016,
            micros: 954_167,
            offset: -4 * 3600,
        };
        assert_eq!(rfc3339(&ts), "2019-07-08T17:40:16.954167-04:00");
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        let back = parse_rfc3339("2019-07-08T17:40:16.954167-04:00").unwrap();
        assert_eq!(back, ts);
    }

    #[test]
    fn hand_formatted_times_equal_the_formatter() {
        let mut unix = -62_135_596_800i64; // 0001-01-01
        let offsets = [
            0,
            3600,
            -4 * 3600,
            5 * 3600 + 1800,
            -(9 * 3600 + 1800),
            14 * 3600,
        ];
        let mut i = 0u32;
        while unix < 253_402_300_800 {
            let ts = Timestamp {
                unix,
                micros: if i % 3 == 0 {
                    0
                } else {
                    (i * 7919) % 1_000_000
                },
                offset: offsets[i as usize % offsets.len()],
            };
            let mut fast = String::new();
            write_rfc3339(&mut fast, &ts);
            let mut slow = String::new();
            write_rfc3339_fmt(&mut slow, &ts);
            assert_eq!(fast, slow);
            unix += 86_400 * 97 + 3713 * (i as i64 % 23) + 1;
            i += 1;
        }
        assert!(i > 10_000);
        // Outside four-digit years the formatter takes over.
        let far = Timestamp {
            unix: 253_402_300_800 + 86400,
            micros: 0,
            offset: 0,
        };
        assert_eq!(rfc3339(&far), "10000-01-02T00:00:00Z");
    }

    #[test]
    fn durations_in_fail2ban_syntax() {
        assert_eq!(parse_duration("600"), Some(600));
        assert_eq!(parse_duration("10m"), Some(600));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("2d"), Some(172800));
        assert_eq!(parse_duration("1w"), Some(604800));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_time_bound("24h", 100_000), Some(100_000 - 86400));
        assert_eq!(parse_time_bound("1970-01-02T00:00:00Z", 5), Some(86400));
    }
}
