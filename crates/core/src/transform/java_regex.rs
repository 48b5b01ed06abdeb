//! `java.util.regex.Pattern` on top of the `regex` crate.
//!
//! Users paste patterns written for Java (`RegexRouter.regex`,
//! `TopicNameMatches.pattern`). Most of the syntax is shared; where Java
//! differs we translate (`\d`, `\w`, `\s` are ASCII-only in Java, `\Q…\E`,
//! `\uXXXX`, octal escapes, POSIX `\p{Alpha}` classes), and what the `regex`
//! crate cannot express (look-around, backreferences, possessive quantifiers,
//! atomic groups) is rejected when the transform is configured, never
//! silently mis-matched at run time.

use std::sync::Mutex;

use regex::{CaptureLocations, Regex};

/// A compiled Java regex: the pattern for `find`/`replaceFirst`, and the same
/// pattern anchored on both ends for `Matcher.matches()`.
#[derive(Debug)]
pub(crate) struct JavaRegex {
    find: Regex,
    full: Regex,
    // Capture slots reused across records, so a match allocates nothing;
    // when another thread holds them, a fresh set is used instead.
    slots: Mutex<CaptureLocations>,
}

impl JavaRegex {
    pub(crate) fn compile(pattern: &str) -> Result<Self, String> {
        let translated = translate(pattern)?;
        let find = Regex::new(&translated).map_err(|e| e.to_string())?;
        let full = Regex::new(&format!(r"\A(?:{translated})\z")).map_err(|e| e.to_string())?;
        let slots = Mutex::new(find.capture_locations());
        Ok(JavaRegex { find, full, slots })
    }

    /// `Matcher.matches()`: the whole input matches.
    pub(crate) fn matches(&self, input: &str) -> bool {
        self.full.is_match(input)
    }

    /// The pattern used for searching.
    pub(crate) fn find_regex(&self) -> &Regex {
        &self.find
    }

    /// The number of capture groups, without group 0 (`groupCount()`).
    pub(crate) fn group_count(&self) -> usize {
        self.find.captures_len().saturating_sub(1)
    }
}

/// A config validator: the pattern compiles (Kafka's `RegexValidator`).
pub(crate) fn validate(pattern: &str) -> Result<(), String> {
    JavaRegex::compile(pattern)
        .map(|_| ())
        .map_err(|e| format!("Invalid regex: {e}"))
}

/// One piece of a `Matcher.replaceFirst` replacement string.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Literal(String),
    Group(usize),
}

/// A Java replacement string (`$1`, `${name}`, `\$`), parsed once against a
/// pattern so group references are checked at config time rather than
/// failing (as Java would) on the first record.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

impl Replacement {
    pub(crate) fn parse(replacement: &str, regex: &JavaRegex) -> Result<Self, String> {
        let group_count = regex.group_count();
        let chars: Vec<char> = replacement.chars().collect();
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    let c = chars
                        .get(i + 1)
                        .ok_or("character to be escaped is missing")?;
                    literal.push(*c);
                    i += 2;
                }
                '$' => {
                    i += 1;
                    let next = *chars
                        .get(i)
                        .ok_or("Illegal group reference: group index is missing")?;
                    let group = if next == '{' {
                        let end = chars[i..]
                            .iter()
                            .position(|c| *c == '}')
                            .ok_or("named capturing group is missing trailing '}'")?;
                        let name: String = chars[i + 1..i + end].iter().collect();
                        if name.is_empty() {
                            return Err("named capturing group has 0 length name".to_string());
                        }
                        i += end + 1;
                        regex
                            .find_regex()
                            .capture_names()
                            .position(|n| n == Some(name.as_str()))
                            .ok_or_else(|| format!("No group with name {{{name}}}"))?
                    } else {
                        let mut group =
                            next.to_digit(10).ok_or("Illegal group reference")? as usize;
                        i += 1;
                        // Java takes the longest run of digits that names an existing group.
                        while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                            let longer = group * 10 + d as usize;
                            if longer > group_count {
                                break;
                            }
                            group = longer;
                            i += 1;
                        }
                        if group > group_count {
                            return Err(format!("No group {group}"));
                        }
                        group
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Group(group));
                }
                c => {
                    literal.push(c);
                    i += 1;
                }
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }

    /// `Matcher.replaceFirst`: replaces the first match of `regex` in `input`.
    #[cfg(test)]
    pub(crate) fn replace_first(&self, regex: &JavaRegex, input: &str) -> String {
        match regex.find_regex().captures(input) {
            Some(caps) => self.expand(&caps, input),
            None => input.to_string(),
        }
    }

    /// `if (matcher.matches()) matcher.replaceFirst(replacement)`, as
    /// RegexRouter does, with one search in the common case: when the first
    /// match spans the whole input, the input matches.
    pub(crate) fn replace_if_matches(&self, regex: &JavaRegex, input: &str) -> Option<String> {
        let mut fresh;
        let mut guard = regex.slots.try_lock();
        let locs = match guard.as_deref_mut() {
            Ok(locs) => locs,
            Err(_) => {
                fresh = regex.find.capture_locations();
                &mut fresh
            }
        };
        let (start, end) = {
            let m = regex.find.captures_read(locs, input)?;
            (m.start(), m.end())
        };
        if (start != 0 || end != input.len()) && !regex.matches(input) {
            return None;
        }
        let mut out = String::with_capacity(input.len() + 16);
        out.push_str(&input[..start]);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(g) => {
                    if let Some((a, b)) = locs.get(*g) {
                        out.push_str(&input[a..b]);
                    }
                }
            }
        }
        out.push_str(&input[end..]);
        Some(out)
    }

    #[cfg(test)]
    fn expand(&self, caps: &regex::Captures<'_>, input: &str) -> String {
        let Some(whole) = caps.get(0) else {
            return input.to_string();
        };
        let mut out = String::with_capacity(input.len() + 16);
        out.push_str(&input[..whole.start()]);
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(g) => {
                    if let Some(m) = caps.get(*g) {
                        out.push_str(m.as_str());
                    }
                }
            }
        }
        out.push_str(&input[whole.end()..]);
        out
    }
}

fn unsupported(what: &str, index: usize, pattern: &str) -> String {
    format!("{what} is not supported near index {index}\n{pattern}")
}

const JAVA_SPACE: &str = r"\t\n\x0B\f\r\x20";
const JAVA_HSPACE: &str = r"\x20\t\xA0\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const JAVA_VSPACE: &str = r"\n\x0B\f\r\x{85}\x{2028}\x{2029}";

/// Translates Java regex syntax to the `regex` crate's.
pub(crate) fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut class_depth = 0usize;
    // Whether the previous token was a quantifier, to spot possessive `*+`.
    let mut after_quantifier = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let was_quantifier = after_quantifier;
        after_quantifier = false;
        match c {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(format!(
                        "Unexpected internal error near index {i}\n{pattern}"
                    ));
                };
                i += 2;
                let in_class = class_depth > 0;
                match e {
                    'Q' => {
                        let mut literal = String::new();
                        while i < chars.len() {
                            if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            literal.push(chars[i]);
                            i += 1;
                        }
                        out.push_str(&regex::escape(&literal));
                        continue;
                    }
                    'E' => continue,
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' => out.push_str(if in_class { "[:^digit:]" } else { "[^0-9]" }),
                    'w' => out.push_str(if in_class {
                        "a-zA-Z0-9_"
                    } else {
                        "[a-zA-Z0-9_]"
                    }),
                    'W' => out.push_str(if in_class {
                        "[:^word:]"
                    } else {
                        "[^a-zA-Z0-9_]"
                    }),
                    's' => push_set(&mut out, JAVA_SPACE, in_class, false),
                    'S' => {
                        if in_class {
                            out.push_str("[:^space:]");
                        } else {
                            push_set(&mut out, JAVA_SPACE, false, true);
                        }
                    }
                    'h' => push_set(&mut out, JAVA_HSPACE, in_class, false),
                    'v' => push_set(&mut out, JAVA_VSPACE, in_class, false),
                    'H' | 'V' if !in_class => {
                        let set = if e == 'H' { JAVA_HSPACE } else { JAVA_VSPACE };
                        push_set(&mut out, set, false, true);
                    }
                    'R' if !in_class => out.push_str(&format!(r"(?:\r\n|[{JAVA_VSPACE}])")),
                    'u' => {
                        let cp = hex(&chars, i, 4).ok_or_else(|| {
                            format!("Illegal Unicode escape sequence near index {i}\n{pattern}")
                        })?;
                        i += 4;
                        let mut cp = cp;
                        // A surrogate pair written as two \u escapes.
                        if (0xD800..0xDC00).contains(&cp)
                            && chars.get(i) == Some(&'\\')
                            && chars.get(i + 1) == Some(&'u')
                        {
                            if let Some(lo) = hex(&chars, i + 2, 4) {
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                    i += 6;
                                }
                            }
                        }
                        out.push_str(&format!(r"\x{{{cp:X}}}"));
                    }
                    '0' => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while n < 3 {
                            match chars.get(i).and_then(|c| c.to_digit(8)) {
                                Some(d) if v * 8 + d <= 0o377 => {
                                    v = v * 8 + d;
                                    i += 1;
                                    n += 1;
                                }
                                _ => break,
                            }
                        }
                        if n == 0 {
                            return Err(format!(
                                "Illegal octal escape sequence near index {i}\n{pattern}"
                            ));
                        }
                        out.push_str(&format!(r"\x{{{v:X}}}"));
                    }
                    'c' => {
                        let Some(&x) = chars.get(i) else {
                            return Err(format!(
                                "Illegal control escape sequence near index {i}\n{pattern}"
                            ));
                        };
                        i += 1;
                        out.push_str(&format!(r"\x{{{:X}}}", (x as u32) ^ 64));
                    }
                    'e' => out.push_str(r"\x1B"),
                    'p' | 'P' => {
                        let (name, used) = property_name(&chars, i).ok_or_else(|| {
                            format!("Unknown character property name near index {i}\n{pattern}")
                        })?;
                        i += used;
                        out.push_str(&property(&name, e == 'P', in_class));
                    }
                    '<' | '>' => out.push(e),
                    '1'..='9' | 'k' => {
                        return Err(unsupported("backreference", i - 2, pattern));
                    }
                    'G' | 'Z' | 'X' => {
                        return Err(unsupported(&format!("\\{e}"), i - 2, pattern));
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
                continue;
            }
            '[' => {
                class_depth += 1;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            '(' if class_depth == 0 => {
                if chars.get(i + 1) == Some(&'?') {
                    let rest: String = chars[i + 2..].iter().take(2).collect();
                    if rest.starts_with('=')
                        || rest.starts_with('!')
                        || rest == "<="
                        || rest == "<!"
                    {
                        return Err(unsupported("look-around", i, pattern));
                    }
                    if rest.starts_with('>') {
                        return Err(unsupported("atomic group", i, pattern));
                    }
                    if rest.starts_with('<') || rest.starts_with(':') {
                        out.push_str("(?");
                        i += 2;
                        continue;
                    }
                    // Inline flags: Java's d, u and U have no counterpart (and
                    // U means something else in Rust), so they are dropped.
                    let mut j = i + 2;
                    let mut flags = String::new();
                    while let Some(&f) = chars.get(j) {
                        match f {
                            'i' | 'm' | 's' | 'x' | '-' => flags.push(f),
                            'd' | 'u' | 'U' => {}
                            _ => break,
                        }
                        j += 1;
                    }
                    let flags = flags.trim_end_matches('-').to_string();
                    match chars.get(j) {
                        Some(')') => {
                            if !flags.is_empty() && flags != "-" {
                                out.push_str(&format!("(?{flags})"));
                            }
                            i = j + 1;
                            continue;
                        }
                        Some(':') => {
                            if flags.is_empty() || flags == "-" {
                                out.push_str("(?:");
                            } else {
                                out.push_str(&format!("(?{flags}:"));
                            }
                            i = j + 1;
                            continue;
                        }
                        _ => {
                            return Err(format!(
                                "Unknown inline modifier near index {j}\n{pattern}"
                            ))
                        }
                    }
                }
                out.push('(');
            }
            '*' | '+' | '?' if class_depth == 0 => {
                if c == '+' && was_quantifier {
                    return Err(unsupported("possessive quantifier", i, pattern));
                }
                out.push(c);
                // `*?` is lazy; a `+` after it is not possessive but an error either way.
                after_quantifier = !(c == '?' && was_quantifier);
            }
            '{' if class_depth == 0 => {
                let mut j = i + 1;
                while chars
                    .get(j)
                    .is_some_and(|c| c.is_ascii_digit() || *c == ',')
                {
                    j += 1;
                }
                if j > i + 1 && chars.get(j) == Some(&'}') {
                    out.extend(&chars[i..=j]);
                    i = j + 1;
                    after_quantifier = true;
                    continue;
                }
                out.push('{');
            }
            _ => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

fn push_set(out: &mut String, set: &str, in_class: bool, negated: bool) {
    if in_class {
        out.push_str(set);
    } else if negated {
        out.push_str("[^");
        out.push_str(set);
        out.push(']');
    } else {
        out.push('[');
        out.push_str(set);
        out.push(']');
    }
}

fn hex(chars: &[char], at: usize, n: usize) -> Option<u32> {
    let digits: String = chars.get(at..at + n)?.iter().collect();
    u32::from_str_radix(&digits, 16).ok()
}

/// Reads `{Name}` or a single letter after `\p`; returns the name and the
/// number of chars used.
fn property_name(chars: &[char], at: usize) -> Option<(String, usize)> {
    match chars.get(at)? {
        '{' => {
            let end = chars[at..].iter().position(|c| *c == '}')?;
            Some((chars[at + 1..at + end].iter().collect(), end + 1))
        }
        c => Some((c.to_string(), 1)),
    }
}

fn property(name: &str, negated: bool, in_class: bool) -> String {
    let posix = match name {
        "Lower" => Some("lower"),
        "Upper" => Some("upper"),
        "Alpha" => Some("alpha"),
        "Digit" => Some("digit"),
        "Alnum" => Some("alnum"),
        "Punct" => Some("punct"),
        "Graph" => Some("graph"),
        "Print" => Some("print"),
        "Blank" => Some("blank"),
        "Cntrl" => Some("cntrl"),
        "XDigit" => Some("xdigit"),
        "Space" => Some("space"),
        "ASCII" => Some("ascii"),
        _ => None,
    };
    if let Some(p) = posix {
        let neg = if negated { "^" } else { "" };
        return if in_class {
            format!("[:{neg}{p}:]")
        } else {
            format!("[[:{neg}{p}:]]")
        };
    }
    let rust = match name {
        "javaLowerCase" => "Lowercase",
        "javaUpperCase" => "Uppercase",
        "javaWhitespace" => "White_Space",
        "javaAlphabetic" => "Alphabetic",
        other => other,
    };
    format!("\\{}{{{rust}}}", if negated { 'P' } else { 'p' })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_java_only_syntax() {
        assert_eq!(translate(r"\d+-\w").unwrap(), r"[0-9]+-[a-zA-Z0-9_]");
        assert_eq!(translate(r"[\d.]").unwrap(), r"[0-9.]");
        assert_eq!(translate(r"\Qa.b\E").unwrap(), r"a\.b");
        assert_eq!(translate(r"\u00e9").unwrap(), r"\x{E9}");
        assert_eq!(translate(r"\p{Alpha}").unwrap(), r"[[:alpha:]]");
        assert_eq!(translate(r"(?i)abc").unwrap(), r"(?i)abc");
        assert_eq!(translate(r"(?u)abc").unwrap(), r"abc");
        assert_eq!(translate(r"a{2,3}b").unwrap(), r"a{2,3}b");
        // Whitespace classes survive the (?x) flag, which drops literal spaces.
        let r = JavaRegex::compile(r"(?x) a \s b").unwrap();
        assert!(r.matches("a b"));
        let r = JavaRegex::compile(r"[a-z&&[^b]]+").unwrap();
        assert!(r.matches("ac") && !r.matches("ab"));
    }

    /// Pseudo-random patterns and replacements never panic.
    #[test]
    fn random_patterns_do_not_panic() {
        let alphabet: Vec<char> = r"()[]{}?*+\^$.|-&:<>=!pPQEuc0dwsk1,ab${}é"
            .chars()
            .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..5000 {
            let len = next(10);
            let pattern: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            if let Ok(r) = JavaRegex::compile(&pattern) {
                let len = next(6);
                let repl: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
                if let Ok(rep) = Replacement::parse(&repl, &r) {
                    let _ = rep.replace_if_matches(&r, "ab-é");
                }
            }
        }
    }

    #[test]
    fn rejects_what_rust_cannot_match() {
        for p in [r"a(?=b)", r"(?<!x)y", r"(a)\1", "a++", "a{2}+", "(?>a)"] {
            assert!(translate(p).is_err(), "{p} should be rejected");
        }
    }

    #[test]
    fn replacement_follows_java_group_rules() {
        let r = JavaRegex::compile("(.*)-(.*)").unwrap();
        let rep = Replacement::parse("$2_$1a", &r).unwrap();
        assert_eq!(rep.replace_first(&r, "x-y"), "y_xa");
        let rep = Replacement::parse("$12", &r).unwrap();
        assert_eq!(rep.replace_first(&r, "x-y"), "x2");
        let rep = Replacement::parse(r"\$1", &r).unwrap();
        assert_eq!(rep.replace_first(&r, "x-y"), "$1");
        assert!(Replacement::parse("$3", &r).is_err());
        assert!(Replacement::parse("$x", &r).is_err());
        let r = JavaRegex::compile("(?<a>x)").unwrap();
        let rep = Replacement::parse("<${a}>", &r).unwrap();
        assert_eq!(rep.replace_first(&r, "axbx"), "a<x>bx");
    }

    #[test]
    fn matches_is_whole_input() {
        let r = JavaRegex::compile("foo.*").unwrap();
        assert!(r.matches("foobar"));
        assert!(!r.matches("xfoobar"));
        let r = JavaRegex::compile(r"\d").unwrap();
        assert!(!r.matches("٣"), "java \\d is ASCII-only");
    }
}
