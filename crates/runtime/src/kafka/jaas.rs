//! `sasl.jaas.config`: the one-login-module JAAS entry Java Kafka clients
//! take (`org.apache.kafka.common.security.JaasConfig`), parsed into the
//! module's class and options.
//!
//! The text holds passwords, so no error here ever quotes it.

use std::collections::HashMap;

/// One login module: `<class> <flag> key="value" …;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginModule {
    /// The fully qualified class name, e.g. `…scram.ScramLoginModule`.
    pub class: String,
    /// The module's options.
    pub options: HashMap<String, String>,
}

impl LoginModule {
    /// The class name without its package.
    pub fn simple_name(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }
}

/// Why a JAAS entry could not be parsed. The texts follow Java's
/// `JaasConfig`, and never include the (secret) text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    #[error("JAAS config property does not contain any login modules")]
    Empty,
    #[error("JAAS config property contains {0} login modules, should be 1 module")]
    TooMany(usize),
    #[error("Login module control flag not specified in JAAS config")]
    NoFlag,
    #[error("Invalid login module control flag '{0}' in JAAS config")]
    BadFlag(String),
    #[error("Value not specified for key '{0}' in JAAS config")]
    NoValue(String),
    #[error("JAAS config entry not terminated by semi-colon")]
    NotTerminated,
    #[error("Unterminated quoted value in JAAS config")]
    Unterminated,
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

// Java reads the entry with a StreamTokenizer: words, double-quoted strings
// with backslash escapes, `=`, `;`, and `//` or `/* */` comments.
fn tokens(text: &str) -> Result<Vec<Token>, JaasError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            ';' => {
                chars.next();
                out.push(Token::Semicolon);
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(JaasError::Unterminated),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err(JaasError::Unterminated),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(other) => s.push(other),
                        },
                        Some(other) => s.push(other),
                    }
                }
                out.push(Token::Quoted(s));
            }
            '/' => {
                chars.next();
                match chars.peek() {
                    Some('/') => {
                        for c in chars.by_ref() {
                            if c == '\n' {
                                break;
                            }
                        }
                    }
                    Some('*') => {
                        chars.next();
                        let mut prev = '\0';
                        for c in chars.by_ref() {
                            if prev == '*' && c == '/' {
                                break;
                            }
                            prev = c;
                        }
                    }
                    _ => out.push(Token::Word("/".to_string())),
                }
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | ';' | '"') {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(Token::Word(s));
            }
        }
    }
    Ok(out)
}

/// Parses a `sasl.jaas.config` value holding exactly one login module.
pub fn parse(text: &str) -> Result<LoginModule, JaasError> {
    let tokens = tokens(text)?;
    let mut modules = Vec::new();
    let mut it = tokens.into_iter().peekable();
    while let Some(tok) = it.next() {
        let class = match tok {
            Token::Word(w) | Token::Quoted(w) => w,
            Token::Semicolon | Token::Equals => return Err(JaasError::NotTerminated),
        };
        let flag = match it.next() {
            Some(Token::Word(f)) => f,
            Some(Token::Semicolon) | None => return Err(JaasError::NoFlag),
            Some(_) => return Err(JaasError::NoFlag),
        };
        if !["required", "requisite", "sufficient", "optional"]
            .contains(&flag.to_ascii_lowercase().as_str())
        {
            return Err(JaasError::BadFlag(flag));
        }
        let mut options = HashMap::new();
        loop {
            match it.next() {
                Some(Token::Semicolon) => break,
                Some(Token::Word(key)) | Some(Token::Quoted(key)) => {
                    if it.next() != Some(Token::Equals) {
                        return Err(JaasError::NoValue(key));
                    }
                    match it.next() {
                        Some(Token::Word(v)) | Some(Token::Quoted(v)) => {
                            options.insert(key, v);
                        }
                        _ => return Err(JaasError::NoValue(key)),
                    }
                }
                Some(Token::Equals) | None => return Err(JaasError::NotTerminated),
            }
        }
        modules.push(LoginModule { class, options });
    }
    match modules.len() {
        0 => Err(JaasError::Empty),
        1 => Ok(modules.remove(0)),
        n => Err(JaasError::TooMany(n)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn scram_module_with_quoted_options() {
        let m = parse(
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cr=t;\"x";"#,
        )
        .unwrap();
        assert_eq!(m.simple_name(), "ScramLoginModule");
        assert_eq!(m.options["username"], "alice");
        assert_eq!(m.options["password"], r#"s3cr=t;"x"#);
    }

    #[test]
    fn unquoted_values_newlines_and_comments() {
        let m = parse(
            "org.apache.kafka.common.security.plain.PlainLoginModule Required\n  /* who */ username=bob // the user\n  password=\"pw\"\n;",
        )
        .unwrap();
        assert_eq!(m.simple_name(), "PlainLoginModule");
        assert_eq!(m.options["username"], "bob");
        assert_eq!(m.options["password"], "pw");
    }

    #[test]
    fn malformed_entries_are_refused_without_echoing_secrets() {
        let cases = [
            ("", JaasError::Empty),
            ("a.B", JaasError::NoFlag),
            ("a.B mandatory;", JaasError::BadFlag("mandatory".into())),
            (
                r#"a.B required password="hunter2""#,
                JaasError::NotTerminated,
            ),
            (
                r#"a.B required password;"#,
                JaasError::NoValue("password".into()),
            ),
            (
                r#"a.B required password="hunter2;"#,
                JaasError::Unterminated,
            ),
            ("a.B required; c.D required;", JaasError::TooMany(2)),
        ];
        for (text, want) in cases {
            let got = parse(text).unwrap_err();
            assert_eq!(got, want, "{text}");
            assert!(!got.to_string().contains("hunter2"));
        }
    }
}
