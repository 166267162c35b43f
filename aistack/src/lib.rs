//! aistack: the self-hosted AI stack as an attacker finds it. Which AI
//! services run (compose files, systemd units), where each listens, whether
//! it asks for a login, and how it is reached: Docker's published ports
//! (which pass ufw by), the host's interfaces, a Cloudflare tunnel.
//!
//! - [`yaml`]: YAML trees with line numbers, anchors and merge keys;
//! - [`compose`]: compose files as Compose reads them (interpolation,
//!   env_file, ports, networks);
//! - [`cloudflared`]: cloudflared's config.yml (ingress rules, Access);
//! - [`apps`] (the `hardkit-aiapps` crate, shared with svcacct): the AI
//!   services known, one row each, with what decides their login by
//!   version;
//! - [`stack`]: finding the files on a root and putting them together;
//! - [`audit`]: the checks, one row each;
//! - [`cli`]: the command line and the records.
pub mod apply;
/// The apps' table lives in its own crate, shared with svcacct.
pub use hardkit_aiapps as apps;
pub mod audit;
pub mod cli;
pub mod cloudflared;
pub mod compose;
pub mod fix;
pub mod stack;
pub mod yaml;
