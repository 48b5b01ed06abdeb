//! `java.text.SimpleDateFormat` in UTC, as `TimestampConverter` and
//! `TimestampRouter` use it: the pattern is compiled once into tokens, and
//! formatting and (lenient) parsing work on epoch milliseconds directly,
//! without per-record pattern interpretation.
//!
//! Differences from Java: the proleptic Gregorian calendar is used for all
//! dates (Java switches to the Julian calendar before 1582-10-15), only the
//! `UTC`/`GMT`/`Z` and numeric-offset time zones are parsed, and text fields
//! use the English (`Locale.US`) names.

const MILLIS_PER_DAY: i64 = 86_400_000;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(String),
    Field { letter: char, count: usize },
}

/// A compiled SimpleDateFormat pattern.
#[derive(Debug, Clone)]
pub(crate) struct JavaDateFormat {
    pattern: String,
    tokens: Vec<Token>,
}

impl JavaDateFormat {
    /// Compiles a pattern, failing with Java's messages.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("Unterminated quote".to_string()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            literal.push(ch);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !"GyYMLwWDdFEuaHkKhmsSzZX".contains(c) {
                    return Err(format!("Illegal pattern character '{c}'"));
                }
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Field { letter: c, count });
                i += count;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(JavaDateFormat {
            pattern: pattern.to_string(),
            tokens,
        })
    }

    /// The pattern, as `toPattern()`.
    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats epoch milliseconds in UTC.
    pub(crate) fn format(&self, millis: i64) -> String {
        let mut out = String::with_capacity(self.pattern.len() + 8);
        self.format_into(millis, &mut out);
        out
    }

    /// Formats epoch milliseconds in UTC, appending to `out`.
    pub(crate) fn format_into(&self, millis: i64, out: &mut String) {
        let days = millis.div_euclid(MILLIS_PER_DAY);
        let ms_of_day = millis.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let weekday = (days + 4).rem_euclid(7) as usize; // 0 = Sunday
        let hour = ms_of_day / 3_600_000;
        for token in &self.tokens {
            let (letter, count) = match token {
                Token::Literal(s) => {
                    out.push_str(s);
                    continue;
                }
                Token::Field { letter, count } => (*letter, *count),
            };
            match letter {
                'G' => out.push_str(if year > 0 { "AD" } else { "BC" }),
                'y' | 'Y' => {
                    let y = if letter == 'Y' {
                        week_year(days, year)
                    } else {
                        year
                    };
                    let y = if y <= 0 { 1 - y } else { y };
                    if count == 2 {
                        pad(out, y % 100, 2);
                    } else {
                        pad(out, y, count);
                    }
                }
                'M' | 'L' => {
                    text_or_number(out, MONTHS[month as usize - 1], i64::from(month), count)
                }
                'w' => pad(out, week_of_year(days, year), count),
                'W' => {
                    let first_weekday =
                        (i64::from(weekday as u32) - (i64::from(day) - 1)).rem_euclid(7);
                    pad(out, (i64::from(day) - 1 + first_weekday) / 7 + 1, count);
                }
                'D' => pad(out, days - days_from_civil(year, 1, 1) + 1, count),
                'd' => pad(out, i64::from(day), count),
                'F' => pad(out, (i64::from(day) - 1) / 7 + 1, count),
                'E' => {
                    let name = DAYS[weekday];
                    out.push_str(if count >= 4 { name } else { &name[..3] });
                }
                'u' => pad(out, if weekday == 0 { 7 } else { weekday as i64 }, count),
                'a' => out.push_str(if hour < 12 { "AM" } else { "PM" }),
                'H' => pad(out, hour, count),
                'k' => pad(out, if hour == 0 { 24 } else { hour }, count),
                'K' => pad(out, hour % 12, count),
                'h' => pad(out, if hour % 12 == 0 { 12 } else { hour % 12 }, count),
                'm' => pad(out, ms_of_day / 60_000 % 60, count),
                's' => pad(out, ms_of_day / 1000 % 60, count),
                'S' => pad(out, ms_of_day % 1000, count),
                'z' => out.push_str(if count >= 4 {
                    "Coordinated Universal Time"
                } else {
                    "UTC"
                }),
                'Z' => out.push_str("+0000"),
                'X' => out.push('Z'),
                _ => {}
            }
        }
    }

    /// Parses like `SimpleDateFormat.parse(String)` in lenient mode: fields
    /// out of range roll over, and text after the pattern is ignored.
    /// Returns epoch milliseconds, or `None` when the text does not match.
    pub(crate) fn parse(&self, text: &str) -> Option<i64> {
        let input: Vec<char> = text.chars().collect();
        let mut pos = 0;
        let mut f = Fields::default();
        for (idx, token) in self.tokens.iter().enumerate() {
            let (letter, count) = match token {
                Token::Literal(s) => {
                    for c in s.chars() {
                        if input.get(pos) != Some(&c) {
                            return None;
                        }
                        pos += 1;
                    }
                    continue;
                }
                Token::Field { letter, count } => (*letter, *count),
            };
            // SimpleDateFormat.subParse skips spaces and tabs before a field,
            // which is what makes "MMM d" read syslog's "Mar  4".
            while matches!(input.get(pos), Some(' ' | '\t')) {
                pos += 1;
            }
            // A numeric field directly followed by another numeric field is
            // read with its pattern width ("yyyyMMdd"), otherwise greedily.
            let abutting = matches!(self.tokens.get(idx + 1), Some(Token::Field { letter: l, count: c }) if is_numeric(*l, *c));
            let width = if abutting { Some(count) } else { None };
            match letter {
                'M' | 'L' if count >= 3 => {
                    f.month = Some(parse_name(&input, &mut pos, &MONTHS)? as i64 + 1)
                }
                'E' => {
                    parse_name(&input, &mut pos, &DAYS)?;
                }
                'G' => {
                    let era = parse_name(&input, &mut pos, &["BC", "AD"])?;
                    f.bc = era == 0;
                }
                'a' => {
                    let ampm = parse_name(&input, &mut pos, &["AM", "PM"])?;
                    f.pm = Some(ampm == 1);
                }
                'z' | 'Z' | 'X' => f.offset_ms = parse_zone(&input, &mut pos)?,
                _ => {
                    let start = pos;
                    let n = parse_number(&input, &mut pos, width)?;
                    match letter {
                        'y' | 'Y' => {
                            let digits = pos - start;
                            f.year = Some(if count <= 2 && digits == 2 {
                                two_digit_year(n)
                            } else {
                                n
                            });
                        }
                        'M' | 'L' => f.month = Some(n),
                        'd' => f.day = Some(n),
                        'D' => f.day_of_year = Some(n),
                        'H' => f.hour = Some(n),
                        'k' => f.hour = Some(if n == 24 { 0 } else { n }),
                        'K' | 'h' => f.hour12 = Some(if letter == 'h' && n == 12 { 0 } else { n }),
                        'm' => f.minute = n,
                        's' => f.second = n,
                        'S' => f.millis = n,
                        // Week and day-of-week numbers don't decide the date
                        // once year, month and day are known.
                        _ => {}
                    }
                }
            }
        }
        f.to_millis()
    }
}

#[derive(Default)]
struct Fields {
    year: Option<i64>,
    bc: bool,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: i64,
    second: i64,
    millis: i64,
    offset_ms: i64,
}

impl Fields {
    fn to_millis(&self) -> Option<i64> {
        let mut year = self.year.unwrap_or(1970);
        if self.bc {
            year = 1 - year;
        }
        // Beyond a billion years the calendar arithmetic could overflow;
        // Java's Calendar cannot represent those dates either.
        let plausible = |y: i64| (-1_000_000_000..=1_000_000_000).contains(&y);
        let days = match (self.day_of_year, self.month, self.day) {
            (Some(doy), None, None) if plausible(year) => {
                days_from_civil(year, 1, 1).checked_add(doy - 1)?
            }
            (Some(_), None, None) => return None,
            _ => {
                let month0 = self.month.unwrap_or(1).checked_sub(1)?;
                let y = year.checked_add(month0.div_euclid(12))?;
                if !plausible(y) {
                    return None;
                }
                let m = month0.rem_euclid(12) + 1;
                days_from_civil(y, m as u32, 1)
                    .checked_add(self.day.unwrap_or(1).checked_sub(1)?)?
            }
        };
        let hour = match (self.hour, self.hour12, self.pm) {
            (Some(h), _, _) => h,
            (None, Some(h), pm) => h.checked_add(if pm == Some(true) { 12 } else { 0 })?,
            (None, None, Some(true)) => 12,
            _ => 0,
        };
        let ms = days
            .checked_mul(MILLIS_PER_DAY)?
            .checked_add(hour.checked_mul(3_600_000)?)?
            .checked_add(self.minute.checked_mul(60_000)?)?
            .checked_add(self.second.checked_mul(1000)?)?
            .checked_add(self.millis)?
            .checked_sub(self.offset_ms)?;
        Some(ms)
    }
}

fn is_numeric(letter: char, count: usize) -> bool {
    match letter {
        'M' | 'L' => count < 3,
        'y' | 'Y' | 'w' | 'W' | 'D' | 'd' | 'F' | 'u' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' => {
            true
        }
        _ => false,
    }
}

fn pad(out: &mut String, value: i64, width: usize) {
    if value < 0 {
        use std::fmt::Write as _;
        let _ = write!(out, "{value:0width$}");
        return;
    }
    // Formatting runs per record; skip the `fmt` machinery.
    let mut buf = [0u8; 20];
    let mut n = value as u64;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for _ in buf.len() - i..width {
        out.push('0');
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

fn text_or_number(out: &mut String, name: &str, number: i64, count: usize) {
    match count {
        1 | 2 => pad(out, number, count),
        3 => out.push_str(&name[..3]),
        _ => out.push_str(name),
    }
}

fn parse_number(input: &[char], pos: &mut usize, width: Option<usize>) -> Option<i64> {
    let start = *pos;
    let mut negative = false;
    if width.is_none() && input.get(*pos) == Some(&'-') {
        negative = true;
        *pos += 1;
    }
    let digits_start = *pos;
    let mut value: i64 = 0;
    while let Some(d) = input.get(*pos).and_then(|c| c.to_digit(10)) {
        if width.is_some_and(|w| *pos - digits_start >= w) {
            break;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(d))?;
        *pos += 1;
    }
    if *pos == digits_start {
        *pos = start;
        return None;
    }
    Some(if negative { -value } else { value })
}

/// Matches the longest of the full names, then the three-letter
/// abbreviations, ignoring case. Returns the index of the name.
fn parse_name(input: &[char], pos: &mut usize, names: &[&str]) -> Option<usize> {
    let rest = &input[*pos..];
    let matches = |candidate: &str| {
        candidate.chars().count() <= rest.len()
            && candidate
                .chars()
                .zip(rest)
                .all(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    let mut best: Option<(usize, usize)> = None;
    for (i, name) in names.iter().enumerate() {
        for candidate in [*name, &name[..name.len().min(3)]] {
            if matches(candidate) && best.is_none_or(|(_, len)| candidate.len() > len) {
                best = Some((i, candidate.len()));
            }
        }
    }
    let (i, len) = best?;
    *pos += len;
    Some(i)
}

fn parse_zone(input: &[char], pos: &mut usize) -> Option<i64> {
    let rest: String = input[*pos..].iter().take(9).collect();
    if rest.starts_with('Z') {
        *pos += 1;
        return Some(0);
    }
    let mut used = 0;
    for prefix in ["UTC", "GMT"] {
        if rest.starts_with(prefix) {
            used = 3;
            break;
        }
    }
    let sign = match input.get(*pos + used) {
        Some('+') => 1,
        Some('-') => -1,
        _ if used > 0 => {
            *pos += used;
            return Some(0);
        }
        _ => return None,
    };
    let mut p = *pos + used + 1;
    let two = |p: &mut usize| -> Option<i64> {
        let a = input.get(*p)?.to_digit(10)?;
        let b = input.get(*p + 1)?.to_digit(10)?;
        *p += 2;
        Some(i64::from(a * 10 + b))
    };
    let hours = two(&mut p)?;
    if input.get(p) == Some(&':') {
        p += 1;
    }
    let minutes = two(&mut p.clone()).inspect(|_| p += 2);
    *pos = p;
    Some(sign * (hours * 3_600_000 + minutes.unwrap_or(0) * 60_000))
}

/// Java's default century for two-digit years: 80 years before now to 20
/// years after.
fn two_digit_year(yy: i64) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let (now_year, _, _) = civil_from_days(now_ms.div_euclid(MILLIS_PER_DAY));
    let start = now_year - 80;
    let ambiguous = start % 100;
    yy + (start / 100) * 100 + if yy < ambiguous { 100 } else { 0 }
}

/// Week of year with `Locale.US` rules: weeks start on Sunday and week 1 is
/// the week containing January 1st.
fn week_of_year(days: i64, year: i64) -> i64 {
    let week_start = days - (days + 4).rem_euclid(7);
    let next_jan1 = days_from_civil(year + 1, 1, 1);
    if week_start + 6 >= next_jan1 {
        return 1;
    }
    let jan1 = days_from_civil(year, 1, 1);
    let first_week_start = jan1 - (jan1 + 4).rem_euclid(7);
    (week_start - first_week_start) / 7 + 1
}

fn week_year(days: i64, year: i64) -> i64 {
    let week_start = days - (days + 4).rem_euclid(7);
    if week_start + 6 >= days_from_civil(year + 1, 1, 1) {
        year + 1
    } else {
        year
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str) -> JavaDateFormat {
        JavaDateFormat::new(p).unwrap()
    }

    #[test]
    fn formats_like_simple_date_format() {
        // 2017-03-14T15:09:26.535Z, a Tuesday
        let ms = 1_489_504_166_535;
        assert_eq!(f("yyyyMMdd").format(ms), "20170314");
        assert_eq!(
            f("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").format(ms),
            "2017-03-14T15:09:26.535Z"
        );
        assert_eq!(
            f("EEE, d MMM yy h:mm a z").format(ms),
            "Tue, 14 Mar 17 3:09 PM UTC"
        );
        assert_eq!(
            f("EEEE MMMM D w u k K ''").format(ms),
            "Tuesday March 73 11 2 15 3 '"
        );
        assert_eq!(f("yyyy-MM-dd").format(-1), "1969-12-31");
        // 2024-12-31 is in week 1 of 2025 in the US.
        let dec31 = days_from_civil(2024, 12, 31) * MILLIS_PER_DAY;
        assert_eq!(f("YYYY-ww").format(dec31), "2025-01");
    }

    #[test]
    fn parses_leniently() {
        let p = f("yyyy-MM-dd HH:mm:ss.SSS");
        assert_eq!(p.parse("2017-03-14 15:09:26.535"), Some(1_489_504_166_535));
        assert_eq!(
            p.parse("2017-03-14 15:09:26.535 trailing"),
            Some(1_489_504_166_535)
        );
        assert_eq!(
            f("yyyy-MM-dd").parse("2017-13-01"),
            f("yyyy-MM-dd").parse("2018-01-01")
        );
        assert_eq!(
            f("yyyyMMdd").parse("20170314"),
            f("yyyy-MM-dd").parse("2017-03-14")
        );
        assert_eq!(f("yyyy-MM-dd").parse("x"), None);
        assert_eq!(f("yyyy-MM-dd").parse("999999999999999999-01-01"), None);
        assert_eq!(
            f("yyyy-MM-dd hh a").parse("2017-01-01 999999999999999999 PM"),
            None
        );
        assert_eq!(
            f("yyyy-MM-dd'T'HH:mmZ").parse("2017-03-14T16:09+0100"),
            f("yyyy-MM-dd HH:mm").parse("2017-03-14 15:09")
        );
        assert_eq!(
            f("dd MMM yyyy").parse("14 mar 2017"),
            f("yyyy-MM-dd").parse("2017-03-14")
        );
        // RFC 3164 syslog pads single-digit days with a space.
        assert_eq!(
            f("MMM d HH:mm:ss").parse("Mar  4 15:09:26"),
            f("yyyy-MM-dd HH:mm:ss").parse("1970-03-04 15:09:26")
        );
    }

    /// Pseudo-random patterns and inputs never panic (a poor man's fuzz run).
    #[test]
    fn random_patterns_and_inputs_do_not_panic() {
        let alphabet: Vec<char> = "yMdHhmsSzZXEaGkKwWDFu'-: .0123456789+Zé日"
            .chars()
            .collect();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..3000 {
            let len = next(12);
            let pattern: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let len = next(20);
            let text: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            if let Ok(f) = JavaDateFormat::new(&pattern) {
                let _ = f.parse(&text);
                let _ = f.format(next(1 << 20) as i64 * 1_000_003 - (1 << 40));
                let _ = f.format(i64::MIN);
                let _ = f.format(i64::MAX);
            }
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(
            JavaDateFormat::new("yyyy-bb").unwrap_err(),
            "Illegal pattern character 'b'"
        );
        assert_eq!(JavaDateFormat::new("'x").unwrap_err(), "Unterminated quote");
    }
}
