//! fim's records: `entry` (one file of the baseline) and `change` (one path
//! that differs from it), with the encodings they need to be lossless: paths
//! and extended-attribute values are bytes, timestamps keep nanoseconds.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hardkit_core::{BytesPath, Record};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// What kind of file an entry is (AIDE calls this attribute `ftype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    Char,
    Block,
}

impl FileKind {
    pub fn from_mode(mode: u32) -> FileKind {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileKind::Dir,
            libc::S_IFLNK => FileKind::Symlink,
            libc::S_IFIFO => FileKind::Fifo,
            libc::S_IFSOCK => FileKind::Socket,
            libc::S_IFCHR => FileKind::Char,
            libc::S_IFBLK => FileKind::Block,
            _ => FileKind::File,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Symlink => "symlink",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
            FileKind::Char => "char",
            FileKind::Block => "block",
        }
    }
}

/// Extended attributes, name to value, both raw bytes.
///
/// JSON encoding (lossless): the object key is the attribute name when it is
/// UTF-8, otherwise `base64:` followed by the standard base64 of the name (a
/// real name always starts with a namespace such as `user.` or `security.`,
/// so the two cannot collide). The value is a JSON string when it is UTF-8
/// text without control characters (an SELinux label keeps its trailing NUL
/// as `\u0000`), otherwise `{"bytes": "<base64>"}`, the same convention as
/// paths; a file capability (`security.capability`) is binary, so it is the
/// second form. Readers accept either form for any value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Xattrs(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl Xattrs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const NAME_B64_PREFIX: &str = "base64:";

/// An xattr value in JSON: text when it is UTF-8, else `{"bytes": base64}`.
struct ValueBytes<'a>(&'a [u8]);

impl Serialize for ValueBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) if is_plain_text(text) => serializer.serialize_str(text),
            _ => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("bytes", &STANDARD.encode(self.0))?;
                map.end()
            }
        }
    }
}

/// Text without control characters, except the one NUL that ends C
/// strings such as SELinux labels: such a value is written as a string.
fn is_plain_text(text: &str) -> bool {
    let body = text.strip_suffix('\0').unwrap_or(text);
    !body.chars().any(char::is_control)
}

impl Serialize for Xattrs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            let key = match std::str::from_utf8(name) {
                Ok(text) => text.to_string(),
                Err(_) => format!("{NAME_B64_PREFIX}{}", STANDARD.encode(name)),
            };
            map.serialize_entry(&key, &ValueBytes(value))?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ValueRepr {
    Text(String),
    Bytes(BytesValue),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BytesValue {
    bytes: String,
}

impl<'de> Deserialize<'de> for Xattrs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct XattrVisitor;
        impl<'de> Visitor<'de> for XattrVisitor {
            type Value = Xattrs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of extended attributes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Xattrs, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let name = match key.strip_prefix(NAME_B64_PREFIX) {
                        Some(encoded) => STANDARD.decode(encoded).map_err(|e| {
                            de::Error::custom(format!("bad base64 in xattr name: {e}"))
                        })?,
                        None => key.into_bytes(),
                    };
                    let value = match map.next_value::<ValueRepr>()? {
                        ValueRepr::Text(text) => text.into_bytes(),
                        ValueRepr::Bytes(b) => STANDARD.decode(b.bytes).map_err(|e| {
                            de::Error::custom(format!("bad base64 in xattr value: {e}"))
                        })?,
                    };
                    out.insert(name, value);
                }
                Ok(Xattrs(out))
            }
        }
        deserializer.deserialize_map(XattrVisitor)
    }
}

/// One file of the baseline, as `fim show` prints it and as the baseline
/// stores it (one JSON object per line, without the `type`/`tool` envelope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The system path (as seen inside `--root`).
    pub path: BytesPath,
    /// File type. Named `ftype` (as in AIDE) because `type` is the record's
    /// own envelope field.
    pub ftype: FileKind,
    /// Permission bits including set-id and sticky, four octal digits.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// RFC 3339 UTC with nanoseconds.
    pub mtime: String,
    pub ctime: String,
    pub inode: u64,
    pub nlink: u64,
    /// Symlink target, for symlinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<BytesPath>,
    /// BLAKE3 of the content (hex), for regular files whose content the
    /// rule asks for and that could be read consistently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
    #[serde(default, skip_serializing_if = "Xattrs::is_empty")]
    pub xattrs: Xattrs,
}

impl Record for Entry {
    const TYPE: &'static str = "entry";
}

/// The attribute names a rule can compare; they are the entry's field names,
/// and `change.attrs` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attr {
    Ftype,
    Mode,
    Uid,
    Gid,
    Size,
    Mtime,
    Ctime,
    Inode,
    Nlink,
    Target,
    Blake3,
    Xattrs,
}

impl Attr {
    pub const ALL: [Attr; 12] = [
        Attr::Ftype,
        Attr::Mode,
        Attr::Uid,
        Attr::Gid,
        Attr::Size,
        Attr::Mtime,
        Attr::Ctime,
        Attr::Inode,
        Attr::Nlink,
        Attr::Target,
        Attr::Blake3,
        Attr::Xattrs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Attr::Ftype => "ftype",
            Attr::Mode => "mode",
            Attr::Uid => "uid",
            Attr::Gid => "gid",
            Attr::Size => "size",
            Attr::Mtime => "mtime",
            Attr::Ctime => "ctime",
            Attr::Inode => "inode",
            Attr::Nlink => "nlink",
            Attr::Target => "target",
            Attr::Blake3 => "blake3",
            Attr::Xattrs => "xattrs",
        }
    }

    pub fn from_name(name: &str) -> Option<Attr> {
        Attr::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The JSON value of this attribute in `entry`.
    pub fn value_of(self, entry: &Entry) -> serde_json::Value {
        use serde_json::{to_value, Value};
        let value = match self {
            Attr::Ftype => to_value(entry.ftype),
            Attr::Mode => to_value(&entry.mode),
            Attr::Uid => to_value(entry.uid),
            Attr::Gid => to_value(entry.gid),
            Attr::Size => to_value(entry.size),
            Attr::Mtime => to_value(&entry.mtime),
            Attr::Ctime => to_value(&entry.ctime),
            Attr::Inode => to_value(entry.inode),
            Attr::Nlink => to_value(entry.nlink),
            Attr::Target => to_value(&entry.target),
            Attr::Blake3 => to_value(&entry.blake3),
            Attr::Xattrs => to_value(&entry.xattrs),
        };
        value.unwrap_or(Value::Null)
    }

    /// Whether two entries differ in this attribute.
    pub fn differs(self, old: &Entry, new: &Entry) -> bool {
        match self {
            Attr::Ftype => old.ftype != new.ftype,
            Attr::Mode => old.mode != new.mode,
            Attr::Uid => old.uid != new.uid,
            Attr::Gid => old.gid != new.gid,
            Attr::Size => old.size != new.size,
            Attr::Mtime => old.mtime != new.mtime,
            Attr::Ctime => old.ctime != new.ctime,
            Attr::Inode => old.inode != new.inode,
            Attr::Nlink => old.nlink != new.nlink,
            Attr::Target => old.target != new.target,
            Attr::Blake3 => old.blake3 != new.blake3,
            Attr::Xattrs => old.xattrs != new.xattrs,
        }
    }
}

/// How a path differs from the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// One path that differs from the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub path: BytesPath,
    pub change: ChangeKind,
    /// For `changed`: the entry fields that differ, in entry field order.
    /// Empty for `added` and `removed`.
    pub attrs: Vec<String>,
    /// The baseline's values: of `attrs` for `changed`, the whole entry
    /// (without `path`) for `removed`; absent for `added`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<serde_json::Map<String, serde_json::Value>>,
    /// The system's values: of `attrs` for `changed`, the whole entry for
    /// `added`; absent for `removed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Record for Change {
    const TYPE: &'static str = "change";
}

/// Every field of an entry but its path, as a JSON object.
pub fn entry_fields(entry: &Entry) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(entry) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("path");
            map
        }
        _ => serde_json::Map::new(),
    }
}

/// The order of the baseline and of the walk: paths compared component by
/// component, each component by its bytes. This is byte order with `/`
/// sorting before every other byte, so a directory's whole subtree comes
/// right after it and before its next sibling: `a`, `a/b`, `a.b` (plain
/// byte order would put `a.b` between `a` and `a/b`, which a depth-first
/// walk cannot produce).
pub fn path_order(a: &[u8], b: &[u8]) -> Ordering {
    fn key(byte: u8) -> u8 {
        if byte == b'/' {
            0
        } else {
            byte
        }
    }
    let common = a.len().min(b.len());
    for i in 0..common {
        let (x, y) = (key(a[i]), key(b[i]));
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
}

/// RFC 3339 UTC with nine fractional digits: `2026-11-22T05:37:23.000000000Z`.
pub fn format_time(secs: i64, nanos: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        nanos.clamp(0, 999_999_999)
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), valid for every i64 time a file system can store.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The current time, formatted as [`format_time`] does.
pub fn now_string() -> String {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => format_time(d.as_secs() as i64, i64::from(d.subsec_nanos())),
        Err(_) => format_time(0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_puts_subtree_before_sibling_with_dot() {
        let mut paths: Vec<&[u8]> = vec![b"/a.b", b"/a/b", b"/a", b"/a-b", b"/a/b/c", b"/b"];
        paths.sort_by(|x, y| path_order(x, y));
        assert_eq!(
            paths,
            vec![&b"/a"[..], b"/a/b", b"/a/b/c", b"/a-b", b"/a.b", b"/b"]
        );
    }

    #[test]
    fn times_are_rfc3339_with_nanoseconds() {
        assert_eq!(format_time(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_time(1_795_325_843, 5),
            "2026-11-22T05:37:23.000000005Z"
        );
        assert_eq!(format_time(-1, 0), "1969-12-31T23:59:59.000000000Z");
        assert_eq!(
            format_time(951_782_400, 0),
            "2000-02-29T00:00:00.000000000Z"
        );
    }

    #[test]
    fn xattrs_round_trip_binary_names_and_values() {
        let mut x = Xattrs::default();
        x.0.insert(b"security.capability".to_vec(), vec![0, 0, 0, 2, 0xff]);
        x.0.insert(
            b"security.selinux".to_vec(),
            b"system_u:object_r:bin_t:s0\0".to_vec(),
        );
        x.0.insert(b"user.\xff".to_vec(), b"v".to_vec());
        let json = serde_json::to_string(&x).unwrap();
        assert!(
            json.contains("\"security.capability\":{\"bytes\":\"AAAAAv8=\"}"),
            "{json}"
        );
        assert!(json.contains("s0\\u0000"), "{json}");
        assert!(json.contains("\"base64:dXNlci7/\""), "{json}");
        let back: Xattrs = serde_json::from_str(&json).unwrap();
        assert_eq!(back, x);
    }
}
