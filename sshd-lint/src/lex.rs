//! Splitting sshd_config text into lines and lines into words, the way
//! OpenSSH's `load_server_config`, `strdelim` and `argv_split` do.
//!
//! The details matter because they decide what sshd sees:
//! - every physical line loses its leading spaces, tabs and CRs, and a NUL
//!   byte ends the line *and swallows its newline* (sshd copies with
//!   `strlen`), joining it to the next one;
//! - trailing spaces, tabs, CR, LF and form feeds are stripped, so CRLF
//!   files work;
//! - the keyword ends at whitespace or at a single `=` (`Port=22`,
//!   `Port = 22`); a `"` quoted keyword is allowed;
//! - the arguments are split on spaces and tabs, with `"` and `'` quoting and
//!   `\` escapes, and a `#` at the *start* of a word ends the line.

/// One logical line of a config file, numbered as sshd numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub number: u64,
    pub text: String,
}

/// Split a file's bytes into the lines sshd's parser sees.
pub fn split_lines(data: &[u8]) -> Vec<SourceLine> {
    // load_server_config: per getline() chunk, skip leading " \t\r" and copy
    // up to the first NUL (which may drop the newline).
    let mut buffer: Vec<u8> = Vec::with_capacity(data.len());
    for chunk in data.split_inclusive(|&b| b == b'\n') {
        let start = chunk
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\r'))
            .unwrap_or(chunk.len());
        let rest = &chunk[start..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        buffer.extend_from_slice(&rest[..end]);
    }
    // parse_server_config_depth: strsep(&buf, "\n"), numbering from 1.
    buffer
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, line)| SourceLine {
            number: i as u64 + 1,
            text: String::from_utf8_lossy(line).into_owned(),
        })
        .collect()
}

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// What one line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lexed {
    /// Empty line or comment.
    Nothing,
    Directive(Directive),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The keyword as written (case preserved).
    pub keyword: String,
    /// Everything after the keyword and its delimiter, unsplit (ForceCommand,
    /// Match and a few others read this rather than the words).
    pub rest: String,
    /// The words after the keyword, unquoted.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    #[error("no argument after keyword \"{0}\"")]
    NoArgument(String),
    #[error("invalid quotes")]
    InvalidQuotes,
}

/// sshd's `strdelim`: take one word off the front of `s`. Returns the word
/// and what is left (None when nothing is left); None for the word means an
/// unterminated quote.
pub fn strdelim(s: &str, split_equals: bool) -> (Option<String>, Option<String>) {
    let is_delim = |c: char| WHITESPACE.contains(&c) || c == '"' || (split_equals && c == '=');
    let Some(pos) = s.find(is_delim) else {
        return (Some(s.to_string()), None);
    };
    let mut word = s[..pos].to_string();
    let after = &s[pos..];
    if let Some(quoted) = after.strip_prefix('"') {
        let Some(close) = quoted.find('"') else {
            return (None, None);
        };
        word.push_str(&quoted[..close]);
        let rest = quoted[close + 1..].trim_start_matches(WHITESPACE);
        return (Some(word), Some(rest.to_string()));
    }
    let first = after.chars().next().unwrap_or(' ');
    let saw_equals = split_equals && first == '=';
    let mut rest = after[first.len_utf8()..].trim_start_matches(WHITESPACE);
    if split_equals && !saw_equals {
        if let Some(r) = rest.strip_prefix('=') {
            rest = r.trim_start_matches(WHITESPACE);
        }
    }
    (Some(word), Some(rest.to_string()))
}

/// sshd's `argv_split(s, .., terminate_on_comment=1)`.
pub fn argv_split(s: &str) -> Result<Vec<String>, LexError> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' || chars[i] == '\t' {
            i += 1;
            continue;
        }
        if chars[i] == '#' {
            break;
        }
        let mut quote: Option<char> = None;
        let mut arg = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let next = chars.get(i + 1).copied();
                match next {
                    Some(n)
                        if n == '\'' || n == '"' || n == '\\' || (quote.is_none() && n == ' ') =>
                    {
                        arg.push(n);
                        i += 2;
                        continue;
                    }
                    _ => arg.push(c),
                }
            } else if quote.is_none() && (c == ' ' || c == '\t') {
                break;
            } else if quote.is_none() && (c == '"' || c == '\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        if i >= chars.len() && quote.is_some() {
            return Err(LexError::InvalidQuotes);
        }
        args.push(arg);
    }
    Ok(args)
}

/// Lex one line as `process_server_config_line` does before looking at the
/// keyword.
pub fn lex_line(line: &str) -> Result<Lexed, LexError> {
    // Strip trailing whitespace and form feeds (never the first character).
    let mut end = line.len();
    while end > 1 {
        let c = line[..end].chars().next_back().unwrap_or('x');
        if matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0c') {
            end -= c.len_utf8();
        } else {
            break;
        }
    }
    let line = &line[..end];
    if line.is_empty() {
        return Ok(Lexed::Nothing);
    }
    let (mut keyword, mut rest) = strdelim(line, true);
    if keyword.as_deref() == Some("") {
        match rest {
            Some(r) => (keyword, rest) = strdelim(&r, true),
            None => return Ok(Lexed::Nothing),
        }
    }
    let Some(keyword) = keyword else {
        return Ok(Lexed::Nothing);
    };
    if keyword.is_empty() || keyword.starts_with('#') {
        return Ok(Lexed::Nothing);
    }
    let rest = rest.unwrap_or_default();
    if rest.is_empty() {
        return Err(LexError::NoArgument(keyword));
    }
    let args = argv_split(&rest)?;
    Ok(Lexed::Directive(Directive {
        keyword,
        rest,
        args,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(line: &str) -> Directive {
        match lex_line(line).unwrap() {
            Lexed::Directive(d) => d,
            Lexed::Nothing => panic!("nothing in {line:?}"),
        }
    }

    #[test]
    fn equals_and_whitespace_delimit_the_keyword() {
        assert_eq!(dir("Port=22").args, ["22"]);
        assert_eq!(dir("Port = 22").args, ["22"]);
        assert_eq!(dir("Port =22").args, ["22"]);
        assert_eq!(dir("Port==22").args, ["=22"]);
        assert_eq!(dir("Port\t22\r").args, ["22"]);
    }

    #[test]
    fn quotes_escapes_and_comments() {
        assert_eq!(dir("AllowUsers \"a b\" c # d").args, ["a b", "c"]);
        assert_eq!(dir("AllowUsers a#b").args, ["a#b"]);
        assert_eq!(dir("AllowUsers 'x y'\\ z").args, ["x y z"]);
        assert_eq!(lex_line("AllowUsers \"a"), Err(LexError::InvalidQuotes));
        assert_eq!(lex_line("# Port 22").unwrap(), Lexed::Nothing);
        assert_eq!(
            lex_line("Port").unwrap_err(),
            LexError::NoArgument("Port".into())
        );
    }

    #[test]
    fn nul_swallows_the_newline_and_crlf_is_stripped() {
        let lines = split_lines(b"  Port 22\r\nPermit\0junk\nRootLogin no\n");
        assert_eq!(lines[0].text, "Port 22\r");
        assert_eq!(lines[1].text, "PermitRootLogin no");
        assert_eq!(lines[1].number, 2);
    }
}
