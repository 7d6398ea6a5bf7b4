//! A JSON snapshot read in part: its head, the `index` at its end, and the spaces a query asks
//! about, each found by its byte range; the whole file is hashed against its content digest on
//! another thread meanwhile. A query against a 128 MB snapshot reads one space's few megabytes
//! instead of parsing them all (`pipeline::with_index`).
//!
//! Whatever does not look exactly as `build` writes it (no index, ranges that do not follow one
//! another, a space whose entry is not what its index entry says) is not guessed at: the
//! caller reads the whole file instead, with every check of [`super::format::load`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::format::{LoadError, nesting_ok};
use super::{IndexedSpace, Snapshot, SnapshotIndex, SpaceEntry};

/// Why a snapshot is read whole after all: not an error, the whole read decides.
#[derive(Debug)]
pub struct ReadWhole;

/// A snapshot of which some spaces are read: the rest are shells ([`IndexedSpace::shell`]).
pub struct Partial {
    path: PathBuf,
    file: Arc<std::fs::File>,
    /// Head and shells, then read spaces in place of their shells.
    pub snapshot: Snapshot,
    /// Which spaces are read.
    pub read: Vec<bool>,
    index: Vec<IndexedSpace>,
    verified: Option<std::thread::JoinHandle<Result<(), LoadError>>>,
}

/// The separator before each space's entry but the first (`[\n    ` before that).
const BETWEEN: &[u8] = b",\n    ";
/// What follows the last space: the end of `spaces` and the `index` key.
const INDEX_KEY: &[u8] = b"\n  ],\n  \"index\": ";

/// Opens the JSON snapshot at `path` in part (at most `limit` bytes), starting the digest check;
/// `Ok(Err(ReadWhole))` when it is to be read whole instead.
pub fn open(path: &Path, limit: u64) -> Result<Result<Partial, ReadWhole>, LoadError> {
    let io = |e| LoadError::Io(path.to_path_buf(), e);
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(LoadError::NotRegular(
            path.to_path_buf(),
            crate::source::kind_of(&meta),
        ));
    }
    if meta.len() > limit {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let file = crate::source::open_for_reading(path).map_err(io)?;
    let opened = file.metadata().map_err(io)?;
    if !opened.is_file() || !crate::source::same_file(&opened, &meta) {
        return Err(LoadError::NotRegular(
            path.to_path_buf(),
            crate::source::kind_of(&opened),
        ));
    }
    let len = opened.len();
    if len > limit {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    let file = Arc::new(file);
    let Some(index) = read_index(&file, len).map_err(io)? else {
        return Ok(Err(ReadWhole));
    };
    let head_end = index[0].at[0];
    let head = read_at(&file, 0, head_end).map_err(io)?;
    let Some(snapshot) = parse_head(&head) else {
        return Ok(Err(ReadWhole));
    };
    if snapshot.format_version != super::FORMAT_VERSION {
        return Err(LoadError::Version {
            path: path.to_path_buf(),
            found: snapshot.format_version,
        });
    }
    let signature = snapshot.signature.as_ref().map(|s| s.ed25519.clone());
    let digest = snapshot.content_digest.clone();
    let verified = {
        let (file, path) = (Arc::clone(&file), path.to_path_buf());
        std::thread::Builder::new()
            .name("charter-digest".to_owned())
            .spawn(move || verify(&path, &file, len, &head, &digest, signature.as_deref()))
            .map_err(io)?
    };
    let mut snapshot = snapshot;
    snapshot.spaces = index.iter().map(IndexedSpace::shell).collect();
    Ok(Ok(Partial {
        path: path.to_path_buf(),
        file,
        read: vec![false; index.len()],
        snapshot,
        index,
        verified: Some(verified),
    }))
}

impl Partial {
    /// Reads spaces `spaces` in place of their shells, on the compile pool's threads when there
    /// are several.
    pub fn read(&mut self, spaces: &[u32]) -> Result<(), ReadWhole> {
        let mut todo: Vec<usize> = spaces
            .iter()
            .map(|&s| s as usize)
            .filter(|&s| !self.read.get(s).copied().unwrap_or(true))
            .collect();
        todo.sort_unstable();
        todo.dedup();
        let (file, index) = (&*self.file, &self.index);
        let parse = |&s: &usize| parse_space(file, &index[s]);
        let parsed: Vec<Result<SpaceEntry, ReadWhole>> = match crate::pool() {
            Some(pool) if todo.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| todo.par_iter().map(parse).collect())
            }
            _ => todo.iter().map(parse).collect(),
        };
        for (s, entry) in todo.into_iter().zip(parsed) {
            self.snapshot.spaces[s] = entry?;
            self.read[s] = true;
        }
        Ok(())
    }

    /// The whole snapshot, once every space is read, its index in place as a whole read has it.
    pub fn into_snapshot(mut self) -> Snapshot {
        let mut snapshot = std::mem::take(&mut self.snapshot);
        snapshot.index = Some(SnapshotIndex {
            spaces: std::mem::take(&mut self.index),
        });
        snapshot
    }

    /// Waits for the digest check: the file's bytes are what `build` wrote, or an error.
    pub fn verified(&mut self) -> Result<(), LoadError> {
        match self.verified.take() {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                Err(LoadError::Io(
                    self.path.clone(),
                    std::io::Error::other("the digest check stopped"),
                ))
            }),
            None => Ok(()),
        }
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        // The digest thread ends on its own; nothing waits for an answer nobody will read.
        drop(self.verified.take());
    }
}

/// A space's entry read from its range, if it is the one its index entry describes.
fn parse_space(file: &std::fs::File, indexed: &IndexedSpace) -> Result<SpaceEntry, ReadWhole> {
    let bytes = read_at(file, indexed.at[0], indexed.at[1]).map_err(|_| ReadWhole)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| ReadWhole)?;
    if !nesting_ok(text, super::format::Format::Json) {
        return Err(ReadWhole);
    }
    let entry: SpaceEntry = serde_json::from_str(text).map_err(|_| ReadWhole)?;
    if !indexed.describes(&entry) {
        return Err(ReadWhole);
    }
    Ok(entry)
}

fn read_at(file: &std::fs::File, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let n = usize::try_from(end.saturating_sub(start))
        .map_err(|_| std::io::Error::other("a range too large"))?;
    let mut buf = vec![0; n];
    read_exact_at(file, &mut buf, start)?;
    Ok(buf)
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(not(unix))]
fn read_exact_at(_: &std::fs::File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    // Positioned reads are Unix's here; elsewhere the snapshot is read whole.
    Err(std::io::Error::other("positioned reads are not available"))
}

/// The index at the end of a file of `len` bytes, if it is there and its ranges follow one
/// another as `build` writes them, from the first space to the `index` key.
fn read_index(file: &std::fs::File, len: u64) -> std::io::Result<Option<Vec<IndexedSpace>>> {
    const END: &[u8] = b"\n  }\n}\n";
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        let tail = match read_at(file, start, len) {
            Ok(t) => t,
            // Unix-only positioned reads, or a file shorter than it said: read whole.
            Err(_) => return Ok(None),
        };
        if !tail.ends_with(END) {
            return Ok(None);
        }
        if let Some(key) = rfind(&tail, INDEX_KEY) {
            let value = &tail[key + INDEX_KEY.len()..tail.len() - 3];
            let Ok(index) = serde_json::from_slice::<SnapshotIndex>(value) else {
                return Ok(None);
            };
            let key_at = start + key as u64;
            return Ok(follows(&index.spaces, key_at).then_some(index.spaces));
        }
        if start == 0 {
            return Ok(None);
        }
        window = window.saturating_mul(4);
    }
}

/// Whether the ranges are in order, one separator apart, the last ending where `spaces` does.
fn follows(spaces: &[IndexedSpace], key_at: u64) -> bool {
    let Some(last) = spaces.last() else {
        return false;
    };
    spaces.iter().all(|s| s.at[0] < s.at[1])
        && spaces
            .windows(2)
            .all(|w| w[0].at[1].checked_add(BETWEEN.len() as u64) == Some(w[1].at[0]))
        && last.at[1] == key_at
}

/// The head (every field before `spaces`), from the bytes before the first space's entry.
fn parse_head(head: &[u8]) -> Option<Snapshot> {
    let open = head.strip_suffix(b"[\n    ")?;
    if !open.ends_with(b"\"spaces\": ") {
        return None;
    }
    let mut text = Vec::with_capacity(open.len() + 4);
    text.extend_from_slice(open);
    text.extend_from_slice(b"[]\n}");
    let head: Snapshot = serde_json::from_slice(&text).ok()?;
    head.index.is_none().then_some(head)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// The digest check of [`super::format::verify`], streamed: the head from memory with the
/// digest and signature put back to their placeholders, the rest read in 1 MiB chunks, every
/// byte UTF-8 as a whole read requires.
fn verify(
    path: &Path,
    file: &std::fs::File,
    len: u64,
    head: &[u8],
    digest: &str,
    signature: Option<&str>,
) -> Result<(), LoadError> {
    use sha2::Digest;
    let tampered = || LoadError::Tampered(path.to_path_buf());
    let Some(mut hasher) = super::format::hash_head(head, digest, signature) else {
        return Err(tampered());
    };
    if std::str::from_utf8(head).is_err() {
        return Err(not_utf8(path));
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0usize;
    let mut at = head.len() as u64;
    while at < len {
        let n = (len - at).min((buf.len() - carry) as u64) as usize;
        read_exact_at(file, &mut buf[carry..carry + n], at)
            .map_err(|e| LoadError::Io(path.to_path_buf(), e))?;
        hasher.update(&buf[carry..carry + n]);
        at += n as u64;
        // A character may straddle two chunks: its first bytes wait for the next.
        let filled = carry + n;
        carry = match std::str::from_utf8(&buf[..filled]) {
            Ok(_) => 0,
            Err(e) if e.error_len().is_none() => filled - e.valid_up_to(),
            Err(_) => return Err(not_utf8(path)),
        };
        buf.copy_within(filled - carry..filled, 0);
    }
    if carry != 0 {
        return Err(not_utf8(path));
    }
    // The file may have grown since its size was read: what is beyond was not hashed.
    let mut probe = [0u8; 1];
    if read_exact_at(file, &mut probe, len).is_ok() {
        return Err(tampered());
    }
    if super::format::finish(hasher) == digest {
        Ok(())
    } else {
        Err(tampered())
    }
}

fn not_utf8(path: &Path) -> LoadError {
    LoadError::Unparsable(path.to_path_buf(), "it is not UTF-8 text".to_owned())
}
