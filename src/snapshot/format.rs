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
    hex(&Sha256::digest(bytes))
}

/// A `Write` that feeds SHA-256: serialising into it hashes without building the text.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The digest a snapshot's `content_digest` must hold: SHA-256 over its canonical (compact
/// JSON) form with that field empty. Streams into the hasher; the snapshot is not copied.
pub fn content_digest(snapshot: &mut Snapshot) -> String {
    let stored = std::mem::take(&mut snapshot.content_digest);
    let mut hasher = HashWriter(Sha256::new());
    // INVARIANT: snapshot types serialise infallibly, and HashWriter never fails.
    serde_json::to_writer(&mut hasher, &*snapshot).expect("snapshot serialises");
    snapshot.content_digest = stored;
    hex(&hasher.0.finalize())
}

/// Writes a snapshot; the text ends with a newline.
pub fn write(
    snapshot: &Snapshot,
    format: Format,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, snapshot).map_err(std::io::Error::other)?
        }
        Format::Yaml => {
            serde_yaml::to_writer(&mut *out, snapshot).map_err(std::io::Error::other)?
        }
    }
    if format == Format::Json {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Renders a snapshot to a string (tests, small outputs; `build` streams with [`write`]).
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    let mut out = Vec::new();
    // INVARIANT: writing to a Vec cannot fail, and the output is UTF-8.
    write(snapshot, format, &mut out).expect("snapshot serialises");
    String::from_utf8(out).expect("serde output is UTF-8")
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
    let mut snapshot = parse(&text).map_err(|e| LoadError::Unparsable(path.to_path_buf(), e))?;
    drop(text);
    if content_digest(&mut snapshot) != snapshot.content_digest {
        return Err(LoadError::Tampered(path.to_path_buf()));
    }
    Ok(snapshot)
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    format_version: u32,
}
