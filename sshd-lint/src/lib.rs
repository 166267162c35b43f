//! sshd-lint: read sshd_config exactly as OpenSSH's sshd does, print the
//! effective configuration like `sshd -T` (no root, no host keys, no sshd
//! needed), lint it, and fix it without locking anyone out.
//!
//! - [`lex`]: lines and words, as sshd splits them;
//! - [`options`]: every option sshd has, one release-aware row each (print
//!   order, default, Match copy, releases and builds);
//! - [`keywords`]: every spelling, its combination rule, Match permission
//!   and value type;
//! - [`parse`]: one directive to typed values, with sshd's checks;
//! - [`values`]: the value syntaxes (ports, times, sizes, paths, DSCP);
//! - [`include`]: files under `--root`, Include globs;
//! - [`matching`]: Match criteria, patterns, CIDR, `--context`;
//! - [`effective`]: sshd's two passes (global, then Match) with origins;
//! - [`print`]: the `sshd -T` format and per-release defaults;
//! - [`algorithms`]: algorithm lists and `+ - ^` modifiers;
//! - [`rules`]: the lint; [`lockout`]: the lockout guard; [`fix`]: `--fix`;
//! - [`sshd_check`]: the real `sshd -t` on the candidate, before writing;
//! - [`records`]: the `setting` record and SARIF output; [`cli`]: the tool.

pub mod accounts;
pub mod algorithms;
pub mod cli;
pub mod effective;
pub mod fix;
pub mod include;
pub mod keywords;
pub mod lex;
pub mod lockout;
pub mod matching;
pub mod options;
pub mod parse;
pub mod print;
pub mod records;
pub mod rules;
pub mod sshd_check;
pub mod values;
pub mod version;

pub const TOOL: &str = "sshd-lint";
