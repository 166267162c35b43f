//! Everything the checks read of one system, gathered once.

use hardkit_core::release::ReleaseRecord;
use hardkit_core::Root;

use crate::aptconf::{AptConfig, ConfigError};
use crate::model::{self, DebianRelease};
use crate::origin::{Archive, Distro, Pattern, PatternError};
use crate::pending::Pending;
use crate::system::{self, FetchedArchive, Installed, OsRelease, PackagesList, Source};

#[derive(Clone)]
pub struct Target {
    pub root: Root,
    pub os: Option<OsRelease>,
    pub distro: Distro,
    pub debian: Option<&'static DebianRelease>,
    /// None: no dpkg status file (not a Debian-like system).
    pub packages: Option<Vec<Installed>>,
    pub config: Result<AptConfig, ConfigError>,
    pub sources: Vec<Source>,
    pub archives: Vec<FetchedArchive>,
    pub lists: Vec<PackagesList>,
    pub release: ReleaseRecord,
    /// The pending security updates and the lists that could not be read,
    /// worked out once (the audit's finding and its records share them).
    pending: std::sync::OnceLock<Pending>,
}

/// A pattern entry of the configuration, parsed or not.
pub struct Entry {
    pub raw: String,
    pub at: Option<crate::aptconf::SetAt>,
    pub parsed: Result<Pattern, PatternError>,
}

impl Target {
    pub fn load(root: &Root) -> Target {
        let os = system::os_release(root);
        let codename = os.as_ref().map(|o| o.codename.clone()).unwrap_or_default();
        let id = match os.as_ref().map(|o| o.id.as_str()) {
            Some("debian") | None => "Debian".to_string(),
            Some("ubuntu") => "Ubuntu".to_string(),
            Some(other) => other.to_string(),
        };
        let (archives, lists) = system::fetched_lists(root);
        let packages = system::installed_packages(root);
        let uu = packages
            .as_ref()
            .and_then(|p| p.iter().find(|p| p.name == "unattended-upgrades"))
            .map(|p| p.version.clone());
        Target {
            root: root.clone(),
            debian: model::debian_release(&codename),
            distro: Distro {
                id,
                codename: codename.clone(),
            },
            os,
            packages,
            config: AptConfig::load(root),
            sources: system::sources(root),
            archives,
            lists,
            release: model::detect(uu.as_deref(), &codename),
            pending: std::sync::OnceLock::new(),
        }
    }

    /// The security updates apt knows of and the system has not installed,
    /// and the Packages lists that could not be read (path, error).
    pub fn pending(&self) -> &Pending {
        self.pending.get_or_init(|| crate::pending::pending(self))
    }

    pub fn installed(&self, name: &str) -> Option<&Installed> {
        self.packages.as_ref()?.iter().find(|p| p.name == name)
    }

    /// Every Allowed-Origins and Origins-Pattern entry, in the order
    /// unattended-upgrade takes them (the old form first).
    pub fn entries(&self) -> Vec<Entry> {
        let Ok(config) = &self.config else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for v in config.list(model::ALLOWED_ORIGINS) {
            out.push(Entry {
                raw: v.text.to_string(),
                at: v.set_at.cloned(),
                parsed: Pattern::parse_legacy(v.text, &self.distro),
            });
        }
        for v in config.list(model::ORIGINS_PATTERN) {
            out.push(Entry {
                raw: v.text.to_string(),
                at: v.set_at.cloned(),
                parsed: Pattern::parse(v.text, &self.distro),
            });
        }
        out
    }

    /// Is this fetched archive Debian's security archive?
    pub fn is_security(archive: &Archive) -> bool {
        archive.label == "Debian-Security"
            || archive.codename.ends_with("-security")
            || archive.suite.ends_with("-security")
    }

    /// The security archive(s) of the target's release: those apt fetched,
    /// else the one Debian publishes for it (as its Release file names it).
    pub fn security_archives(&self) -> Vec<Archive> {
        let fetched: Vec<Archive> = self
            .archives
            .iter()
            .filter(|a| Target::is_security(&a.release))
            .map(|a| Archive {
                component: "main".to_string(),
                ..a.release.clone()
            })
            .collect();
        if !fetched.is_empty() {
            return fetched;
        }
        match self.debian {
            Some(r) if r.has_security_archive => vec![Archive {
                origin: "Debian".to_string(),
                label: "Debian-Security".to_string(),
                suite: format!("{}-security", r.suite),
                codename: format!("{}-security", r.codename),
                component: "main".to_string(),
                site: self
                    .security_sources()
                    .first()
                    .and_then(|s| s.uri.split('/').nth(2))
                    .unwrap_or("security.debian.org")
                    .to_string(),
            }],
            _ => Vec::new(),
        }
    }

    /// The sources that name the release's security suite.
    pub fn security_sources(&self) -> Vec<&Source> {
        let codename = &self.distro.codename;
        self.sources
            .iter()
            .filter(|s| {
                s.suite == format!("{codename}-security")
                    || s.suite == format!("{codename}/updates")
                    || (s.uri.contains("security") && s.suite.ends_with("-security"))
            })
            .collect()
    }
}
