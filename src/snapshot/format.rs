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

fn hex(digest: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// What `content_digest` holds while a snapshot is written and hashed: as wide as a digest,
/// so the real one can be written over it in place.
pub const PLACEHOLDER: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

/// Hashes what passes through, and keeps the first bytes to find the placeholder in.
struct Tee<W: std::io::Write> {
    inner: W,
    hasher: Sha256,
    head: Vec<u8>,
}

impl<W: std::io::Write> std::io::Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        if self.head.len() < 4096 {
            self.head
                .extend_from_slice(&buf[..n.min(4096 - self.head.len())]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes a snapshot and signs it. The content digest is SHA-256 over the written bytes with
/// the digest itself replaced by [`PLACEHOLDER`]: the bytes are hashed as they stream out, and
/// the digest is then written over the placeholder. Sets `snapshot.content_digest`.
pub fn write<W: std::io::Write + std::io::Seek>(
    snapshot: &mut Snapshot,
    format: Format,
    out: &mut W,
) -> std::io::Result<()> {
    use std::io::{SeekFrom, Write};
    let start = out.stream_position()?;
    snapshot.content_digest = PLACEHOLDER.to_owned();
    let (hasher, head) = {
        let buffered = std::io::BufWriter::with_capacity(1 << 20, &mut *out);
        let mut tee = Tee {
            inner: buffered,
            hasher: Sha256::new(),
            head: Vec::new(),
        };
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut tee, &*snapshot)
                    .map_err(std::io::Error::other)?;
                tee.write_all(b"\n")?;
            }
            Format::Yaml => {
                serde_yaml::to_writer(&mut tee, &*snapshot).map_err(std::io::Error::other)?
            }
        }
        tee.flush()?;
        (tee.hasher, tee.head)
    };
    // INVARIANT: `content_digest` is the fourth field, well inside the first 4 KiB.
    let offset = head
        .windows(PLACEHOLDER.len())
        .position(|w| w == PLACEHOLDER.as_bytes())
        .expect("placeholder in the snapshot head");
    let digest = hex(&hasher.finalize());
    out.seek(SeekFrom::Start(start + offset as u64))?;
    out.write_all(digest.as_bytes())?;
    out.seek(SeekFrom::End(0))?;
    snapshot.content_digest = digest;
    Ok(())
}

/// Whether a snapshot's text matches the `content_digest` it holds (see [`write`]).
pub fn verify(text: &str, content_digest: &str) -> bool {
    if content_digest.len() != PLACEHOLDER.len() || !content_digest.starts_with("sha256:") {
        return false;
    }
    let Some(at) = text.find(content_digest) else {
        return false;
    };
    let mut hasher = Sha256::new();
    hasher.update(&text.as_bytes()[..at]);
    hasher.update(PLACEHOLDER.as_bytes());
    hasher.update(&text.as_bytes()[at + content_digest.len()..]);
    hex(&hasher.finalize()) == content_digest
}

/// Renders a signed snapshot to a string (tests and small outputs; `build` streams to a file).
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    let mut signed = snapshot.clone();
    let mut out = std::io::Cursor::new(Vec::new());
    // INVARIANT: writing to memory cannot fail, and serde output is UTF-8.
    write(&mut signed, format, &mut out).expect("snapshot serialises");
    String::from_utf8(out.into_inner()).expect("serde output is UTF-8")
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
    if !verify(&text, &snapshot.content_digest) {
        return Err(LoadError::Tampered(path.to_path_buf()));
    }
    Ok(snapshot)
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    format_version: u32,
}
