//! Hashing one regular file safely: named relative to its open directory,
//! never through a symlink, never blocking on a fifo that replaced the
//! file, never with mmap (a file truncated under
//! a mapping kills the reader with SIGBUS), and never returning a hash for
//! content that changed while it was read.

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Read size: large enough that blake3 can spread one buffer over several
/// threads (it pays from about 128 KiB), small enough to keep memory flat.
const BUFFER: usize = 1 << 20;
/// Below this many bytes in a buffer, hashing on one thread is faster.
const PARALLEL_FROM: usize = 256 << 10;
/// Up to this many bytes of holes a file's hash is b3sum's (the zeros are
/// hashed from memory: about a fifth of a CPU-second here). A file with
/// more holes gets the bounded sparse digest instead (see
/// [`SPARSE_PREFIX`]): BLAKE3 mixes each chunk's offset into its hash, so
/// b3sum's value of a 16 TiB hole costs most of an hour of CPU whatever
/// reads it, and anyone who can write in a watched tree could plant one.
pub const HOLE_LIMIT: u64 = 1 << 30;
/// The sparse digest's mark: `sparse:` and the hex of a BLAKE3 in derive-
/// key mode over the file's size, then each data extent's offset, length
/// and bytes. Holes read as zeros, so these determine the whole logical
/// content: a different content is a different digest. Its cost is the
/// data and the number of extents, never the holes.
pub const SPARSE_PREFIX: &str = "sparse:";
const SPARSE_CONTEXT: &str = "hardkit fim 2026-12-05 sparse file digest: size, data extents, bytes";

thread_local! {
    // Taken out while in use, not borrowed: update_rayon lets this thread
    // run another file's hash while it waits, and that one needs a buffer
    // of its own.
    static READ_BUFFER: Cell<Option<Vec<u8>>> = const { Cell::new(None) };
}

/// The identity and state of a file, as lstat/fstat report it; the hash is
/// only trusted when these agree before and after reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Fingerprint {
    /// From a `stat` the walk or an `fstat` returned.
    pub fn of_stat(st: &libc::stat) -> Fingerprint {
        Fingerprint {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size as u64,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }

    pub fn of(meta: &std::fs::Metadata) -> Fingerprint {
        Fingerprint {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file is not the one lstat saw, or it changed while being read.
    #[error("changed during scan: {0}")]
    Changed(String),
}

/// Open `name` in the open directory `dir` for reading, never through a
/// symlink (`O_NOFOLLOW`: a symlink fails with ELOOP), without blocking on
/// a fifo or taking a terminal (`O_NONBLOCK`, `O_NOCTTY`), without touching
/// the access time where the kernel allows that. The caller checks with
/// `fstat` that it opened a regular file before reading (only the
/// directory's entry is named: nothing above it is resolved again).
pub fn open_at(dir: libc::c_int, name: &CStr) -> io::Result<File> {
    let flags =
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: name is NUL-terminated, dir an open descriptor or AT_FDCWD.
    let mut fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_NOATIME) };
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
        // O_NOATIME is refused unless we own the file or have CAP_FOWNER.
        // SAFETY: as above.
        fd = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly opened descriptor that nothing else owns.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// `fstat` of an open file.
pub fn fstat(file: &File) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is valid to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is open, st writable.
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn is_regular(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFREG
}

/// Hash the regular file at `path` (a test and tool convenience: the walk
/// hashes through [`hash_at`]), which lstat described as `expected`.
pub fn hash_file(path: &Path, expected: &Fingerprint) -> Result<String, HashError> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    hash_at(libc::AT_FDCWD, &c_path, expected)
}

/// Hash `name` in the open directory `dir`, which the walk saw as
/// `expected`.
pub fn hash_at(dir: libc::c_int, name: &CStr, expected: &Fingerprint) -> Result<String, HashError> {
    let file = match open_at(dir, name) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(HashError::Changed(
                "no longer a regular file when opened".into(),
            ))
        }
        other => other?,
    };
    hash_checked(file, expected)
}

/// The opened file must be a regular file with the identity and state
/// `expected`; then hash it.
fn hash_checked(file: File, expected: &Fingerprint) -> Result<String, HashError> {
    let before = fstat(&file)?;
    if !is_regular(&before) {
        return Err(HashError::Changed(
            "no longer a regular file when opened".into(),
        ));
    }
    let fp_before = Fingerprint::of_stat(&before);
    if fp_before != *expected {
        return Err(HashError::Changed(describe_difference(
            expected, &fp_before,
        )));
    }
    hash_open(file, &before)
}

/// Hash an open regular file whose `fstat` before reading was `before`:
/// one read per buffer (none past the size fstat gave) and one `fstat`
/// after, which must agree with `before` (else the content changed while
/// it was read).
pub fn hash_open(mut file: File, before: &libc::stat) -> Result<String, HashError> {
    let fp_before = Fingerprint::of_stat(before);
    let mut hasher = blake3::Hasher::new();
    let mut buffer = READ_BUFFER.take().unwrap_or_default();
    if buffer.len() < BUFFER {
        buffer.resize(BUFFER, 0);
    }
    // Fewer allocated bytes than the size: holes to skip. Other files are
    // read without the extra lseek per buffer.
    let allocated = (before.st_blocks as u64).saturating_mul(512);
    let sparse = allocated < fp_before.size;
    let huge_holes = sparse
        && fp_before.size - allocated > HOLE_LIMIT
        && hole_bytes(&file, fp_before.size)?.is_some_and(|holes| holes > HOLE_LIMIT);
    let read = if huge_holes {
        hasher = blake3::Hasher::new_derive_key(SPARSE_CONTEXT);
        read_extents_into_hasher(&file, &mut buffer, fp_before.size, &mut hasher)
    } else {
        read_into_hasher(&mut file, &mut buffer, fp_before.size, sparse, &mut hasher)
    };
    READ_BUFFER.set(Some(buffer));
    let read = read?;
    let after = Fingerprint::of_stat(&fstat(&file)?);
    if after != fp_before {
        return Err(HashError::Changed(describe_difference(&fp_before, &after)));
    }
    if read != after.size {
        return Err(HashError::Changed(format!(
            "read {read} bytes but the size is {}",
            after.size
        )));
    }
    let hex = hasher.finalize().to_hex();
    Ok(if huge_holes {
        format!("{SPARSE_PREFIX}{hex}")
    } else {
        hex.to_string()
    })
}

/// `lseek` with SEEK_DATA or SEEK_HOLE from `pos`: the offset found, None
/// past the last data (ENXIO), or the error (EINVAL when unsupported).
fn seek_extent(file: &File, pos: u64, whence: libc::c_int) -> io::Result<Option<u64>> {
    let offset =
        libc::off_t::try_from(pos).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: lseek on a descriptor we own; it only moves the offset.
    let found = unsafe { libc::lseek(file.as_raw_fd(), offset, whence) };
    if found >= 0 {
        return Ok(Some(found as u64));
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ENXIO) {
        return Ok(None);
    }
    Err(err)
}

/// The file's data extents up to `size`, as SEEK_DATA/SEEK_HOLE walk them
/// from `pos`: the next one as (start, end), or None when only holes
/// remain.
fn next_extent(file: &File, pos: u64, size: u64) -> io::Result<Option<(u64, u64)>> {
    let Some(start) = seek_extent(file, pos, libc::SEEK_DATA)? else {
        return Ok(None);
    };
    if start >= size {
        return Ok(None);
    }
    // Every data offset has a hole after it (the end of the file at least).
    let end = seek_extent(file, start, libc::SEEK_HOLE)?.unwrap_or(size);
    Ok(Some((start, end.clamp(start + 1, size))))
}

/// How many bytes of the first `size` are holes, or None when the
/// filesystem cannot tell. One pass over the extents (as many as the
/// allocated blocks allow), nothing read.
fn hole_bytes(file: &File, size: u64) -> io::Result<Option<u64>> {
    let (mut pos, mut holes) = (0u64, 0u64);
    while pos < size {
        match next_extent(file, pos, size) {
            Ok(Some((start, end))) => {
                holes += start - pos;
                pos = end;
            }
            Ok(None) => return Ok(Some(holes + (size - pos))),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Some(holes))
}

/// The sparse digest's input: the size, then each data extent's offset and
/// length (u64, little-endian) and its bytes. Only data is read
/// (positioned reads, none past `size`); returns the bytes the file was
/// found to hold (`size` unless it shrank while being read).
fn read_extents_into_hasher(
    file: &File,
    buffer: &mut [u8],
    size: u64,
    hasher: &mut blake3::Hasher,
) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    // The size first: each extent after it delimits itself, so no two
    // contents give the same input.
    hasher.update(&size.to_le_bytes());
    let mut pos = 0u64;
    while let Some((start, end)) = next_extent(file, pos, size)? {
        hasher.update(&start.to_le_bytes());
        hasher.update(&(end - start).to_le_bytes());
        let mut at = start;
        while at < end {
            let want = (end - at).min(buffer.len() as u64) as usize;
            let n = match file.read_at(&mut buffer[..want], at) {
                Ok(0) => return Ok(at),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n >= PARALLEL_FROM {
                hasher.update_rayon(&buffer[..n]);
            } else {
                hasher.update(&buffer[..n]);
            }
            at += n as u64;
        }
        pos = end;
    }
    Ok(size)
}

/// Zeros for the holes of sparse files: hashed from memory, never read.
static ZEROS: [u8; BUFFER] = [0; BUFFER];

/// Feed the file to the hasher, up to `size` bytes (the size fstat
/// reported: the read that would return end-of-file is saved, and growth
/// during the read still shows in the fstat after it). The holes of a
/// sparse file (SEEK_DATA/SEEK_HOLE) are not read: the zeros they stand
/// for are hashed from a static buffer, so the hash stays b3sum's while
/// the disk and the page cache are spared. (BLAKE3 mixes each 1 KiB chunk's
/// offset into its hash, so the zeros still cost hashing time: no subtree
/// of zeros can be reused at another offset.)
fn read_into_hasher(
    file: &mut File,
    buffer: &mut [u8],
    size: u64,
    sparse: bool,
    hasher: &mut blake3::Hasher,
) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        if sparse && total < size {
            if let Some(data) = next_data(file, total, size)? {
                if data > total {
                    hash_zeros(hasher, data - total);
                    total = data;
                    if total >= size {
                        // Holes to the end: the next read must find the end.
                        file.seek(SeekFrom::Start(total))?;
                    }
                }
            }
        }
        let wanted = (size - total.min(size)).min(buffer.len() as u64);
        // For an empty file, one byte of room tells "still empty" apart
        // from "grew".
        let limit = if wanted == 0 { 1 } else { wanted as usize };
        let filled = fill(file, &mut buffer[..limit])?;
        if filled == 0 {
            return Ok(total);
        }
        total += filled as u64;
        if filled >= PARALLEL_FROM {
            hasher.update_rayon(&buffer[..filled]);
        } else {
            hasher.update(&buffer[..filled]);
        }
        if total >= size || filled < limit {
            return Ok(total);
        }
    }
}

/// Where the next data at or after `pos` starts (the file offset is left
/// there), `size` when only a hole follows, or None when the filesystem
/// cannot tell (then everything is read, as before).
fn next_data(file: &mut File, pos: u64, size: u64) -> io::Result<Option<u64>> {
    let Ok(offset) = libc::off_t::try_from(pos) else {
        return Ok(None);
    };
    // SAFETY: lseek on a descriptor we own; it only moves the offset.
    let data = unsafe { libc::lseek(file.as_raw_fd(), offset, libc::SEEK_DATA) };
    if data >= 0 {
        return Ok(Some((data as u64).min(size)));
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // No data after pos (up to the end as the kernel sees it now).
        Some(libc::ENXIO) => Ok(Some(size)),
        // SEEK_DATA not supported: the offset is unchanged.
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
            file.seek(SeekFrom::Start(pos))?;
            Ok(None)
        }
        _ => Err(err),
    }
}

fn hash_zeros(hasher: &mut blake3::Hasher, mut len: u64) {
    while len > 0 {
        let n = len.min(ZEROS.len() as u64) as usize;
        hasher.update_rayon(&ZEROS[..n]);
        len -= n as u64;
    }
}

/// Read until the buffer is full or the file ends.
fn fill(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn describe_difference(before: &Fingerprint, after: &Fingerprint) -> String {
    let mut parts = Vec::new();
    if (before.dev, before.ino) != (after.dev, after.ino) {
        parts.push("replaced by another file".to_string());
    }
    if before.size != after.size {
        parts.push(format!("size {} -> {}", before.size, after.size));
    }
    if before.mtime != after.mtime {
        parts.push("mtime moved".to_string());
    }
    if before.ctime != after.ctime {
        parts.push("ctime moved".to_string());
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_blake3_and_symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&file, &data).unwrap();
        let fp = Fingerprint::of(&std::fs::symlink_metadata(&file).unwrap());
        let hex = hash_file(&file, &fp).unwrap();
        assert_eq!(hex, blake3::hash(&data).to_hex().to_string());

        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let err = hash_file(&link, &fp).unwrap_err();
        // O_NOFOLLOW refuses the link: it is not a regular file.
        assert!(matches!(err, HashError::Changed(_)), "{err}");

        // A fifo without a writer: opened without blocking, found not to
        // be a regular file, never read, so no hang.
        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: valid path in our temp dir.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        assert!(matches!(hash_file(&fifo, &fp), Err(HashError::Changed(_))));
    }

    /// Bytes this thread has read through read(2) and friends so far.
    fn bytes_read_by_this_thread() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .unwrap()
            .parse()
            .unwrap()
    }

    /// A sparse file's holes are hashed without being read, and the hash
    /// is the BLAKE3 of its whole logical content (b3sum's).
    #[test]
    fn sparse_files_hash_like_b3sum_without_reading_the_holes() {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse");
        let size: u64 = 300 << 20;
        let pieces: [(u64, &[u8]); 4] = [
            (0, b"head"),
            (5 << 20, b"in the middle"),
            ((200 << 20) + 7, b"odd offset"),
            (size - 3, b"end"),
        ];
        let f = File::create(&path).unwrap();
        f.set_len(size).unwrap();
        for (at, bytes) in pieces {
            f.write_all_at(bytes, at).unwrap();
        }
        f.sync_all().unwrap();
        drop(f);
        let mut expected = blake3::Hasher::new();
        let mut logical = vec![0u8; size as usize];
        for (at, bytes) in pieces {
            logical[at as usize..at as usize + bytes.len()].copy_from_slice(bytes);
        }
        expected.update_rayon(&logical);
        drop(logical);

        let fp = Fingerprint::of(&std::fs::symlink_metadata(&path).unwrap());
        let before = bytes_read_by_this_thread();
        let hex = hash_file(&path, &fp).unwrap();
        let read = bytes_read_by_this_thread() - before;
        assert_eq!(hex, expected.finalize().to_hex().to_string());
        // Only the data extents (a few blocks each, as the filesystem
        // allocates them) are read, not 300 MiB of holes.
        assert!(
            read < 32 << 20,
            "read {read} bytes of a 300 MiB sparse file"
        );

        // All hole, and a file ending in a hole after data.
        let hole = dir.path().join("hole");
        File::create(&hole).unwrap().set_len(3 << 20).unwrap();
        let fp = Fingerprint::of(&std::fs::symlink_metadata(&hole).unwrap());
        assert_eq!(
            hash_file(&hole, &fp).unwrap(),
            blake3::hash(&vec![0u8; 3 << 20]).to_hex().to_string()
        );
    }

    /// A file with more than HOLE_LIMIT of holes gets the sparse digest:
    /// holes neither read nor hashed, every content told apart.
    #[test]
    fn huge_holes_get_a_bounded_digest_that_tells_contents_apart() {
        use std::os::unix::fs::FileExt;
        let dir = tempfile::tempdir().unwrap();
        let size = 4 * HOLE_LIMIT;
        let make = |name: &str, pieces: &[(u64, &[u8])]| {
            let path = dir.path().join(name);
            let f = File::create(&path).unwrap();
            f.set_len(size).unwrap();
            for (at, bytes) in pieces {
                f.write_all_at(bytes, *at).unwrap();
            }
            f.sync_all().unwrap();
            let fp = Fingerprint::of(&std::fs::symlink_metadata(&path).unwrap());
            hash_file(&path, &fp).unwrap()
        };
        let pieces: [(u64, &[u8]); 3] = [
            (0, b"head"),
            (3 * HOLE_LIMIT + 7, b"deep"),
            (size - 1, b"!"),
        ];
        let before = bytes_read_by_this_thread();
        let started = std::time::Instant::now();
        let digest = make("a", &pieces);
        assert!(digest.starts_with(SPARSE_PREFIX), "{digest}");
        assert_eq!(digest.len(), SPARSE_PREFIX.len() + 64);
        let read = bytes_read_by_this_thread() - before;
        assert!(read < 32 << 20, "read {read} bytes");
        // b3sum's value of these 4 GiB takes most of a CPU-second.
        assert!(
            started.elapsed().as_millis() < 400,
            "{:?}",
            started.elapsed()
        );

        // The same content again: the same digest.
        assert_eq!(make("b", &pieces), digest);
        // A byte changed, the same bytes elsewhere, a different size: each
        // a different digest.
        let changed: [(u64, &[u8]); 3] = [
            (0, b"head"),
            (3 * HOLE_LIMIT + 7, b"deeP"),
            (size - 1, b"!"),
        ];
        assert_ne!(make("c", &changed), digest);
        let moved: [(u64, &[u8]); 3] = [
            (0, b"head"),
            (2 * HOLE_LIMIT + 7, b"deep"),
            (size - 1, b"!"),
        ];
        assert_ne!(make("d", &moved), digest);
        make("e", &pieces);
        let path = dir.path().join("e");
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(size + 1).unwrap();
        let fp = Fingerprint::of(&std::fs::symlink_metadata(&path).unwrap());
        assert_ne!(hash_file(&path, &fp).unwrap(), digest);

        // Holes up to the limit keep b3sum's value.
        let path = dir.path().join("at-limit");
        let f = File::create(&path).unwrap();
        f.set_len(HOLE_LIMIT + 4096).unwrap();
        f.write_all_at(b"data", HOLE_LIMIT).unwrap();
        drop(f);
        let fp = Fingerprint::of(&std::fs::symlink_metadata(&path).unwrap());
        let mut expected = blake3::Hasher::new();
        hash_zeros(&mut expected, HOLE_LIMIT);
        let mut tail = vec![0u8; 4096];
        tail[..4].copy_from_slice(b"data");
        expected.update(&tail);
        assert_eq!(
            hash_file(&path, &fp).unwrap(),
            expected.finalize().to_hex().to_string()
        );
    }

    #[test]
    fn a_file_changed_since_lstat_is_reported_not_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"one").unwrap();
        let fp = Fingerprint::of(&std::fs::symlink_metadata(&file).unwrap());
        std::fs::write(&file, b"three").unwrap();
        let err = hash_file(&file, &fp).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("changed during scan: size 3 -> 5"),
            "{err}"
        );
    }
}
