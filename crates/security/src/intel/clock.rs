//! Time for expiry: an injectable clock (tests move it by hand), read at
//! most once per record and only when a hit needs it, and the timestamp
//! shapes feeds write.

use std::sync::Arc;

/// Milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(now_ms)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The current time, read from the clock on first use: a record that hits
/// nothing never reads it.
pub struct Now<'c> {
    clock: &'c (dyn Fn() -> i64 + Send + Sync),
    at: Option<i64>,
}

impl<'c> Now<'c> {
    /// Reads `clock` lazily.
    pub fn new(clock: &'c (dyn Fn() -> i64 + Send + Sync)) -> Self {
        Now { clock, at: None }
    }

    /// A fixed time.
    pub fn fixed(at: i64) -> Now<'static> {
        Now {
            clock: &now_ms,
            at: Some(at),
        }
    }

    /// The time, ms since the epoch.
    pub fn get(&mut self) -> i64 {
        *self.at.get_or_insert_with(|| (self.clock)())
    }
}

/// Parses the times feeds write, as ms since the epoch (UTC unless an
/// offset says otherwise): `2024-01-15 10:03:06` (abuse.ch),
/// `2024-01-15T10:03:06.123Z` (STIX, RFC 3339), `2024-01-15` (a day).
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim().trim_matches('"');
    if t.is_empty() {
        return None;
    }
    if let Some(ms) = parse_utc_fast(t) {
        return Some(ms);
    }
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    if let Ok(dt) = chrono::DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(dt.timestamp_millis());
    }
    None
}

/// Epoch seconds written as digits (MISP's `timestamp`).
pub fn parse_epoch_seconds(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<i64>().ok().map(|s| s * 1000)
}

/// `YYYY-MM-DD`, optionally followed by `[ T]HH:MM:SS`, fractional seconds
/// and `Z`: the UTC shapes that make up nearly every feed line, parsed
/// without chrono's format machinery (a million-line feed parses two per
/// line).
fn parse_utc_fast(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        let mut n = 0i64;
        for d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            n = n * 10 + i64::from(d - b'0');
        }
        Some(n)
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if b.len() == 10 {
        return Some(ms);
    }
    if !(b.len() >= 19 && (b[10] == b' ' || b[10] == b'T') && b[13] == b':' && b[16] == b':') {
        return None;
    }
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    ms += (h * 3600 + mi * 60 + s) * 1000;
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut millis = 0i64;
        for i in 0..3 {
            millis = millis * 10
                + frac
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |c| i64::from(c - b'0'));
        }
        ms += millis;
        rest = &frac[n..];
    }
    match rest {
        b"" | b"Z" | b"z" | b" UTC" | b"+00:00" => Some(ms),
        _ => None,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An ECS date: RFC 3339, UTC, milliseconds.
pub fn format_time(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_time_shapes() {
        let t = 1_705_313_006_000; // 2024-01-15T10:03:26Z
        assert_eq!(parse_time("2024-01-15 10:03:26"), Some(t));
        assert_eq!(parse_time("\"2024-01-15 10:03:26\""), Some(t));
        assert_eq!(parse_time("2024-01-15T10:03:26Z"), Some(t));
        assert_eq!(parse_time("2024-01-15T10:03:26.250Z"), Some(t + 250));
        assert_eq!(parse_time("2024-01-15T10:03:26.2Z"), Some(t + 200));
        assert_eq!(parse_time("2024-01-15T12:03:26+02:00"), Some(t));
        assert_eq!(parse_time("2024-01-15 10:03:26 UTC"), Some(t));
        assert_eq!(parse_time("2024-01-15"), Some(1_705_276_800_000));
        assert_eq!(parse_time("1970-01-01"), Some(0));
        assert_eq!(parse_time("None"), None);
        assert_eq!(parse_time("2024-13-01"), None);
        assert_eq!(parse_time("2024-01-15 25:00:00"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_epoch_seconds("1705313006"), Some(t));
        assert_eq!(parse_epoch_seconds("17x"), None);
        assert_eq!(
            format_time(t + 250).as_deref(),
            Some("2024-01-15T10:03:26.250Z")
        );
    }
}
