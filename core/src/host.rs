//! Facts about a system that more than one tool reads, read one way: which
//! systemd units start at boot, and whether ufw is switched on. (The
//! accounts are [`crate::accounts`].) fwplan judges the boot firewall and
//! jailgen the firewall its bans must use from the same answers, instead of
//! each reading the tree its own way and disagreeing on a masked unit, a
//! unit enabled by its package, or `ENABLED="yes"`.

use std::fs;
use std::path::Path;

use crate::Root;

/// Where unit files and their `.wants`/`.requires` directories live, the
/// administrator's first.
pub const UNIT_DIRS: [&str; 3] = [
    "/etc/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// Masked: `/etc/systemd/system/UNIT` (or `/run/...`) links to /dev/null.
pub fn unit_masked(root: &Root, unit: &str) -> bool {
    ["/etc/systemd/system", "/run/systemd/system"]
        .iter()
        .any(|dir| {
            root.resolve_parent(format!("{dir}/{unit}"))
                .ok()
                .and_then(|p| fs::read_link(p).ok())
                .is_some_and(|target| target == Path::new("/dev/null"))
        })
}

/// Whether systemd starts `unit` at boot: a link (dangling is fine: that is
/// what `systemctl --root` leaves for a unit in /lib) named `unit` in any
/// `*.wants` or `*.requires` directory of [`UNIT_DIRS`] (`systemctl enable`
/// makes one in /etc, a package may ship one in /lib or /usr/lib), and not
/// masked.
pub fn unit_enabled(root: &Root, unit: &str) -> bool {
    if unit_masked(root, unit) {
        return false;
    }
    UNIT_DIRS.iter().any(|dir| {
        let Ok(host) = root.resolve(dir) else {
            return false;
        };
        let Ok(entries) = fs::read_dir(host) else {
            return false;
        };
        entries.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            (name.ends_with(".wants") || name.ends_with(".requires"))
                && fs::symlink_metadata(e.path().join(unit)).is_ok()
        })
    })
}

/// Whether ufw is switched on: `ENABLED=yes` in /etc/ufw/ufw.conf (the
/// value as ufw's own shell reading takes it: quotes allowed, any case).
pub fn ufw_enabled(root: &Root) -> bool {
    let Ok(path) = root.resolve("/etc/ufw/ufw.conf") else {
        return false;
    };
    let Ok(bytes) = crate::input::read_regular_file(&path, 1 << 20) else {
        return false;
    };
    String::from_utf8_lossy(&bytes).lines().any(|line| {
        line.trim().strip_prefix("ENABLED=").is_some_and(|v| {
            v.trim()
                .trim_matches(['"', '\''])
                .eq_ignore_ascii_case("yes")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const NFT: &str = "nftables.service";

    #[test]
    fn enabled_means_a_wants_link_anywhere_and_not_masked() {
        let d = tempfile::tempdir().unwrap();
        let root = Root::new(d.path()).unwrap();
        assert!(!unit_enabled(&root, NFT));
        let wants = d.path().join("etc/systemd/system/sysinit.target.wants");
        fs::create_dir_all(&wants).unwrap();
        symlink("/lib/systemd/system/nftables.service", wants.join(NFT)).unwrap();
        assert!(unit_enabled(&root, NFT));
        assert!(!unit_enabled(&root, "netfilter-persistent.service"));
        // A package's own wants link in /usr/lib.
        let pkg = d
            .path()
            .join("usr/lib/systemd/system/multi-user.target.wants");
        fs::create_dir_all(&pkg).unwrap();
        symlink(
            "../netfilter-persistent.service",
            pkg.join("netfilter-persistent.service"),
        )
        .unwrap();
        assert!(unit_enabled(&root, "netfilter-persistent.service"));
        // Masked wins over every link.
        symlink("/dev/null", d.path().join("etc/systemd/system").join(NFT)).unwrap();
        assert!(!unit_enabled(&root, NFT));
        assert!(unit_masked(&root, NFT));
    }

    #[test]
    fn ufw_is_on_only_with_enabled_yes() {
        let d = tempfile::tempdir().unwrap();
        let root = Root::new(d.path()).unwrap();
        assert!(!ufw_enabled(&root));
        fs::create_dir_all(d.path().join("etc/ufw")).unwrap();
        for (text, on) in [
            ("ENABLED=no\n", false),
            ("# ENABLED=yes\nENABLED=no\n", false),
            ("ENABLED=yes\n", true),
            ("ENABLED=\"yes\"\n", true),
            ("  ENABLED='YES'\n", true),
        ] {
            fs::write(d.path().join("etc/ufw/ufw.conf"), text).unwrap();
            assert_eq!(ufw_enabled(&root), on, "{text:?}");
        }
    }
}
