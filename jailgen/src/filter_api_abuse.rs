//! The filter for the `api-abuse` jail: clients of an HTTP API behind nginx
//! that keep getting 401/403/429 answers on a path prefix.
//!
//! It reads nginx's default `combined` access log format:
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//! ```
//!
//! Only `$remote_addr` is out of the client's hands. The user name, the
//! request line, the referer and the user agent are whatever the client
//! sent (nginx escapes `"` and control characters in them, nothing else), so
//! a loose pattern such as `<HOST>.*" 401` lets a client put someone else's
//! address in its user agent and have that address banned. The failregex is
//! therefore anchored at the start of the line, takes the address from the
//! first field only, and walks the fixed fields that follow field by field,
//! never skipping over client text with `.*`.

use std::fmt::Write;

/// The filter file's text for `path_prefix` (already validated: `/`,
/// letters, digits, `-._~`) and `statuses` (400-599).
pub fn render(path_prefix: &str, statuses: &[u16]) -> String {
    let escaped: String = path_prefix
        .chars()
        .map(|c| match c {
            '.' => "\\.".to_string(),
            other => other.to_string(),
        })
        .collect();
    let codes = statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join("|");
    let mut out = String::new();
    out.push_str("# Written by jailgen (hardkit): clients that keep getting ");
    out.push_str(&codes.replace('|', "/"));
    let _ = writeln!(out, " answers under {path_prefix}");
    out.push_str(
        "# from an HTTP API behind nginx. Reads nginx's default \"combined\" access log:\n\
         #   $remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"\n\
         # The address is taken from the first field only; the user name, request line,\n\
         # referer and user agent are client-controlled and are never searched for an address.\n\
         # Behind a proxy or load balancer, configure nginx's real_ip module so that\n\
         # $remote_addr is the client.\n\n",
    );
    out.push_str("[Definition]\n\n");
    // Field by field: address, "-", a user name without spaces or brackets,
    // the date (fail2ban cuts it out, leaving "[]"), the request line with a
    // method, a path under the prefix and a protocol, then the status.
    let _ = writeln!(
        out,
        "failregex = ^<ADDR> - (?:-|[^\\s\\[\\]\"]+) \\[\\] \"[A-Z]{{1,16}} {escaped}[^\"\\s]* HTTP/\\d(?:\\.\\d)?\" (?:{codes}) \\d+"
    );
    out.push('\n');
    out.push_str("ignoreregex =\n\n");
    // The date is the first bracketed field, as in fail2ban's own nginx filters.
    out.push_str("datepattern = ^[^\\[]*\\[({DATE})\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_is_anchored_and_escapes_the_prefix() {
        let text = render("/api.v1/", &[401, 403, 429]);
        let line = text.lines().find(|l| l.starts_with("failregex")).unwrap();
        assert!(line.starts_with("failregex = ^<ADDR> - "), "{line}");
        assert!(line.contains(" /api\\.v1/[^\"\\s]*"), "{line}");
        assert!(line.contains("(?:401|403|429)"), "{line}");
        assert!(!line.contains(".*"), "{line}");
        assert_eq!(text, render("/api.v1/", &[401, 403, 429]));
    }
}
