//! Finding the real programs a tool hands work to (sshd, nft, visudo, ...).

use std::path::{Path, PathBuf};

/// Where `program` is: PATH first, then the sbin and bin directories, since
/// a non-root PATH often lacks /usr/sbin, where sshd, nft and visudo live.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Does the tree under `root` have an executable regular file at the
/// system path `program` (resolved inside the tree, as its own programs
/// would see it)? For the judges that are a target's own programs.
pub fn in_tree(root: &crate::Root, program: &str) -> bool {
    root.resolve(program).is_ok_and(|p| is_executable(&p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(find_program("sh").is_some());
        assert!(find_program("hardkit-no-such-program").is_none());
    }
}
