//! Java `.properties` parsing (`java.util.Properties.load`), enough for the
//! worker and connector files people already have.

use std::collections::HashMap;

/// A `.properties` file that could not be parsed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {reason}")]
pub struct PropertiesError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses Java properties text into key/value pairs, in file order (later
/// duplicates win, as with `Properties.load`).
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let mut logical = String::new();
        let mut current = first.trim_start();
        if current.is_empty() || current.starts_with('#') || current.starts_with('!') {
            continue;
        }
        // A line ending in an odd number of backslashes continues on the next.
        loop {
            let trailing = current.chars().rev().take_while(|c| *c == '\\').count();
            if trailing % 2 == 1 {
                logical.push_str(&current[..current.len() - 1]);
                match lines.next() {
                    Some((_, next)) => current = next.trim_start(),
                    None => break,
                }
            } else {
                logical.push_str(current);
                break;
            }
        }
        let (key, value) = split_key_value(&logical);
        let key = unescape(key).map_err(|reason| PropertiesError {
            line: index + 1,
            reason,
        })?;
        let value = unescape(value).map_err(|reason| PropertiesError {
            line: index + 1,
            reason,
        })?;
        out.retain(|(k, _)| *k != key);
        out.push((key, value));
    }
    Ok(out)
}

/// Parses properties into a map.
pub fn parse_properties_map(text: &str) -> Result<HashMap<String, String>, PropertiesError> {
    Ok(parse_properties(text)?.into_iter().collect())
}

fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'=' | b':' => {
                return (&line[..i], line[i + 1..].trim_start());
            }
            b' ' | b'\t' | b'\x0c' => {
                let rest = line[i..].trim_start();
                let rest = rest
                    .strip_prefix('=')
                    .or_else(|| rest.strip_prefix(':'))
                    .unwrap_or(rest);
                return (&line[..i], rest.trim_start());
            }
            _ => i += 1,
        }
    }
    (line, "")
}

fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("malformed \\uxxxx encoding: \\u{hex}"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_separators_comments_and_continuations() {
        let text = "# comment\n! also\nname=local-file-source\nconnector.class : FileStreamSource\ntasks.max 1\nfile=/tmp/a\\\n    b.txt\nkey\\=with=eq\nempty=\nunicode=caf\\u00e9\n";
        let props = parse_properties_map(text).unwrap();
        assert_eq!(props["name"], "local-file-source");
        assert_eq!(props["connector.class"], "FileStreamSource");
        assert_eq!(props["tasks.max"], "1");
        assert_eq!(props["file"], "/tmp/ab.txt");
        assert_eq!(props["key=with"], "eq");
        assert_eq!(props["empty"], "");
        assert_eq!(props["unicode"], "café");
    }

    #[test]
    fn bad_unicode_escape_is_an_error_not_a_panic() {
        let err = parse_properties("a=\\uZZ").unwrap_err();
        assert_eq!(err.line, 1);
    }
}
