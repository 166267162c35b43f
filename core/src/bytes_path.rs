//! Paths in JSON without losing bytes.
//!
//! Linux file names are bytes, not text. A name that is valid UTF-8 is written
//! as a plain JSON string (what jq users expect); any other name is written as
//! `{"bytes": "<standard base64 of the raw bytes>"}`, the convention ripgrep
//! uses for arbitrary data. Readers accept both forms, so every path makes the
//! round trip exactly.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// A file system path carried losslessly through JSON.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BytesPath(PathBuf);

impl BytesPath {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        BytesPath(path.into())
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }

    pub fn into_path_buf(self) -> PathBuf {
        self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_os_str().as_bytes()
    }
}

impl fmt::Debug for BytesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<PathBuf> for BytesPath {
    fn from(p: PathBuf) -> Self {
        BytesPath(p)
    }
}

impl From<&Path> for BytesPath {
    fn from(p: &Path) -> Self {
        BytesPath(p.to_path_buf())
    }
}

impl From<&str> for BytesPath {
    fn from(p: &str) -> Self {
        BytesPath(PathBuf::from(p))
    }
}

impl AsRef<Path> for BytesPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Serialize for BytesPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.as_bytes()) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("bytes", &STANDARD.encode(self.as_bytes()))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for BytesPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PathVisitor;

        impl<'de> Visitor<'de> for PathVisitor {
            type Value = BytesPath;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path string or {\"bytes\": base64}")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<BytesPath, E> {
                Ok(BytesPath(PathBuf::from(v)))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BytesPath, A::Error> {
                let mut bytes: Option<Vec<u8>> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "bytes" {
                        return Err(de::Error::unknown_field(&key, &["bytes"]));
                    }
                    let encoded: String = map.next_value()?;
                    let decoded = STANDARD
                        .decode(encoded.as_bytes())
                        .map_err(|e| de::Error::custom(format!("bad base64 in path: {e}")))?;
                    bytes = Some(decoded);
                }
                let bytes = bytes.ok_or_else(|| de::Error::missing_field("bytes"))?;
                Ok(BytesPath(PathBuf::from(OsString::from_vec(bytes))))
            }
        }

        deserializer.deserialize_any(PathVisitor)
    }
}

/// Display form for humans: lossless is not possible on a terminal, so
/// invalid bytes become `\xNN` and control characters are escaped (see
/// [`crate::output::escape_untrusted`]).
pub fn display_path(path: &Path) -> String {
    crate::output::escape_untrusted_bytes(path.as_os_str().as_bytes())
}

/// Build a path from raw bytes (for parsers that read paths out of files).
pub fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_paths_are_plain_strings() {
        let p = BytesPath::from("/etc/ssh/sshd_config");
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            "\"/etc/ssh/sshd_config\""
        );
    }

    #[test]
    fn non_utf8_paths_round_trip_exactly() {
        let raw = b"/tmp/caf\xe9/\xff\xfe\n".to_vec();
        let p = BytesPath::new(PathBuf::from(OsString::from_vec(raw.clone())));
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.starts_with("{\"bytes\":"), "{json}");
        let back: BytesPath = serde_json::from_str(&json).unwrap();
        assert_eq!(back.as_bytes(), &raw[..]);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_base64() {
        assert!(serde_json::from_str::<BytesPath>("{\"text\":\"x\"}").is_err());
        assert!(serde_json::from_str::<BytesPath>("{\"bytes\":\"!!\"}").is_err());
    }

    #[test]
    fn display_escapes_bytes_and_controls() {
        let p = path_from_bytes(b"/a\xffb\x1b[31m");
        assert_eq!(display_path(&p), "/a\\xffb\\x1b[31m");
    }
}
