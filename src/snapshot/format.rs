//! Snapshot serialisation: JSON and YAML, and the digests. The only module that uses
//! `serde_yaml` (deprecated upstream), so it can be swapped here alone.

use sha2::{Digest, Sha256};

use super::Snapshot;

/// Output formats of `build`, chosen by file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The digest a snapshot's `content_digest` must hold: over its canonical (compact JSON) form
/// with the digest field empty.
pub fn content_digest(snapshot: &Snapshot) -> String {
    let mut unsigned = snapshot.clone();
    unsigned.content_digest = String::new();
    // INVARIANT: snapshot types serialise infallibly (strings, vectors, maps with string keys).
    let canonical = serde_json::to_vec(&unsigned).expect("snapshot serialises");
    sha256(&canonical)
}

/// Renders a snapshot; the text ends with a newline.
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    // INVARIANT: as above, serialisation of snapshot types cannot fail.
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(snapshot).expect("snapshot serialises");
            s.push('\n');
            s
        }
        Format::Yaml => serde_yaml::to_string(snapshot).expect("snapshot serialises"),
    }
}

/// Parses a snapshot written by [`render`] (either format; YAML is a superset of JSON).
pub fn parse(text: &str) -> Result<Snapshot, String> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }
}

/// Why a snapshot file cannot be used (exit code 2).
#[derive(Debug)]
pub enum LoadError {
    Io(std::path::PathBuf, std::io::Error),
    Unparsable(std::path::PathBuf, String),
    Version {
        path: std::path::PathBuf,
        found: u32,
    },
    Tampered(std::path::PathBuf),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(p, e) => write!(f, "cannot read snapshot `{}`: {e}", p.display()),
            LoadError::Unparsable(p, e) => {
                write!(f, "`{}` is not a charter snapshot: {e}", p.display())
            }
            LoadError::Version { path, found } => write!(
                f,
                "snapshot `{}` has format version {found}, but this charter reads version {}: rebuild it with `charter build`",
                path.display(),
                super::FORMAT_VERSION
            ),
            LoadError::Tampered(p) => write!(
                f,
                "snapshot `{}` does not match its content digest: it was edited after `charter build`; rebuild it from the policy",
                p.display()
            ),
        }
    }
}

/// Reads a snapshot, refusing another format version or contents that no longer match their
/// digest (a hand-edited file).
pub fn load(path: &std::path::Path) -> Result<Snapshot, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io(path.to_path_buf(), e))?;
    // Read the version first, so that a snapshot of another shape is named as such.
    let version = if text.trim_start().starts_with('{') {
        serde_json::from_str::<VersionOnly>(&text)
            .map(|v| v.format_version)
            .map_err(|e| e.to_string())
    } else {
        serde_yaml::from_str::<VersionOnly>(&text)
            .map(|v| v.format_version)
            .map_err(|e| e.to_string())
    }
    .map_err(|e| LoadError::Unparsable(path.to_path_buf(), e))?;
    if version != super::FORMAT_VERSION {
        return Err(LoadError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let snapshot = parse(&text).map_err(|e| LoadError::Unparsable(path.to_path_buf(), e))?;
    if content_digest(&snapshot) != snapshot.content_digest {
        return Err(LoadError::Tampered(path.to_path_buf()));
    }
    Ok(snapshot)
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    format_version: u32,
}
