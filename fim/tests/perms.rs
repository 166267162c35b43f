//! `fim perms` on a tree with what an intruder leaves behind (issue 19): an
//! unpackaged set-uid root shell, a program with capabilities no package
//! installed, a world-writable cron file and program directory, a file of
//! a removed account; and what is fine: a packaged set-uid program reached
//! through a merged /usr (dpkg lists /bin/passwd, the walk sees
//! /usr/bin/passwd), a sticky shared directory.

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn put(root: &Path, rel: &str, text: &str, mode: u32) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, text).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_inventory_finds_what_an_intruder_leaves_and_nothing_else() {
    if !hardkit_core::oracle::require_root("fim perms inventory") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    put(
        r,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        0o644,
    );
    put(r, "etc/group", "root:x:0:\nalice:x:1000:\n", 0o644);
    put(
        r,
        "var/lib/dpkg/status",
        "Package: passwd\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n",
        0o644,
    );
    put(
        r,
        "var/lib/dpkg/info/passwd.list",
        "/.\n/bin\n/bin/passwd\n",
        0o644,
    );
    fs::create_dir_all(r.join("usr/bin")).unwrap();
    std::os::unix::fs::symlink("usr/bin", r.join("bin")).unwrap();
    put(r, "usr/bin/passwd", "packaged\n", 0o4755);
    put(
        r,
        "usr/local/bin/.sysupd",
        "#!/bin/sh\nexec /bin/sh -p\n",
        0o4755,
    );
    put(r, "usr/local/bin/ncat", "binary\n", 0o755);
    put(
        r,
        "etc/cron.d/backup",
        "* * * * * root /opt/agent/backup.sh\n",
        0o666,
    );
    fs::create_dir_all(r.join("opt/agent")).unwrap();
    fs::set_permissions(r.join("opt/agent"), fs::Permissions::from_mode(0o777)).unwrap();
    fs::create_dir_all(r.join("srv/drop")).unwrap();
    fs::set_permissions(r.join("srv/drop"), fs::Permissions::from_mode(0o1777)).unwrap();
    put(r, "srv/old/notes", "left behind\n", 0o644);
    std::os::unix::fs::chown(r.join("srv/old/notes"), Some(4242), Some(4242)).unwrap();
    // cap_net_raw+ep on ncat, as setcap writes it (vfs_cap_data v2).
    let mut cap = Vec::new();
    cap.extend_from_slice(&(0x0200_0000u32 | 1).to_le_bytes());
    cap.extend_from_slice(&(1u32 << 13).to_le_bytes());
    cap.extend_from_slice(&[0u8; 12]);
    let path = CString::new(r.join("usr/local/bin/ncat").as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated strings and a buffer of cap.len() bytes.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            cap.as_ptr() as *const libc::c_void,
            cap.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());

    // A root service the admin installed, whose script lives in a home.
    put(
        r,
        "etc/systemd/system/agent.service",
        "[Service]\nExecStart=/usr/bin/python3 /home/agent/app/loop.py\nWorkingDirectory=/home/agent/app\n",
        0o644,
    );
    put(r, "home/agent/app/loop.py", "print('hi')\n", 0o666);
    put(r, "home/agent/notes.txt", "not the service's\n", 0o666);
    let out = run([
        "perms".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        r.as_os_str(),
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut got: Vec<(String, String, String)> = Vec::new();
    for line in out.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] == "finding" {
            got.push((
                v["location"]["path"].as_str().unwrap().to_string(),
                v["id"].as_str().unwrap().to_string(),
                v["severity"].as_str().unwrap().to_string(),
            ));
        }
    }
    got.sort();
    let want: Vec<(String, String, String)> = [
        ("/etc/cron.d/backup", "fim/world-writable-file", "critical"),
        (
            "/home/agent/app/loop.py",
            "fim/world-writable-file",
            "critical",
        ),
        ("/opt/agent", "fim/world-writable-dir", "critical"),
        ("/srv/old/notes", "fim/no-owner", "medium"),
        (
            "/usr/local/bin/.sysupd",
            "fim/setuid-unpackaged",
            "critical",
        ),
        ("/usr/local/bin/ncat", "fim/capabilities-unpackaged", "high"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want, "{}", out.stdout);
}

/// Stock Debian 12, 13 and testing (the cached roots): nothing to report.
/// Their set-uid programs are all packaged, through the merged /usr.
#[test]
fn stock_debian_roots_give_no_finding() {
    const TEST: &str = "fim perms on stock Debian roots";
    for suite in ["bookworm", "trixie", "forky"] {
        let Some(root) = hardkit_core::oracle::debian_root(&format!("{TEST}: {suite}"), suite)
        else {
            continue;
        };
        let out = run([
            "perms".as_ref(),
            "--json".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
        ]);
        assert_eq!(out.code, 0, "{suite}: {}{}", out.stdout, out.stderr);
        assert!(
            !out.stdout.contains("\"type\":\"finding\""),
            "{suite}: {}",
            out.stdout
        );
    }
}
