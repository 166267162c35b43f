//! fwplan: one firewall policy, rendered for nftables, ufw and iptables,
//! proved with packets in the test suite, and applied without lockout.
//!
//! - [`policy`]: the typed policy and the parsing of flag values;
//! - [`policy_file`]: the JSON policy file;
//! - [`sshd_input`]: sshd-lint's `port` settings (`--sshd`);
//! - [`blocklist`]: addresses to drop (`--block-from`, logscan offenders);
//! - [`plan`]: the normalized rule list, conflicts refused, SSH admitted;
//! - [`render_nft`], [`render_iptables`], [`render_ufw`]: the backends;
//! - [`audit`]: listening sockets and the live firewall, read-only;
//! - [`boot_firewall`], [`nft_include`], [`netns_load`]: a root tree's
//!   firewall after boot, loaded in a private network namespace;
//! - [`check`]: a candidate nftables.conf judged by the target's own nft;
//! - [`apply`]: atomic load of `table inet hardkit`, confirm and rollback;
//! - [`cli`]: the command line.

pub mod apply;
pub mod audit;
pub mod blocklist;
pub mod boot_firewall;
pub mod check;
pub mod cli;
pub mod egress;
pub mod netns_load;
pub mod nft_include;
pub mod plan;
pub mod policy;
pub mod policy_file;
pub mod render_iptables;
pub mod render_nft;
pub mod render_ufw;
pub mod sshd_input;
pub mod stack_input;

pub const TOOL: &str = "fwplan";

/// Everything that stops a run; each message names the flag, file or field.
#[derive(Debug, thiserror::Error)]
pub enum FwplanError {
    #[error(transparent)]
    Policy(#[from] policy::PolicyError),
    #[error(transparent)]
    Sshd(#[from] sshd_input::SshdInputError),
    #[error(transparent)]
    Blocklist(#[from] blocklist::BlocklistError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Check(#[from] check::CheckError),
    #[error("{0}")]
    Usage(String),
}

impl From<std::io::Error> for FwplanError {
    fn from(source: std::io::Error) -> Self {
        FwplanError::Io {
            context: "writing output".into(),
            source,
        }
    }
}
