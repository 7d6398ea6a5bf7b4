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
    /// The key of the ranges' fingerprints ([`Fingerprint`]), drawn for this read.
    key: u64,
    /// The fingerprint of the bytes each read space was parsed from.
    parsed: Vec<Option<u64>>,
    verified: Option<std::thread::JoinHandle<Result<Vec<u64>, Verdict>>>,
}

/// Why the digest thread did not vouch for the file.
enum Verdict {
    /// Refused as a whole read refuses it.
    Refused(LoadError),
    /// Not as `build` writes it between the ranges: the whole read decides.
    ReadWhole,
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
    let Some((index, tail)) = read_index(&file, len).map_err(io)? else {
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
    let key = Fingerprint::random_key().map_err(io)?;
    let verified = {
        let (file, path) = (Arc::clone(&file), path.to_path_buf());
        let ranges: Vec<[u64; 2]> = index.iter().map(|s| s.at).collect();
        std::thread::Builder::new()
            .name("charter-digest".to_owned())
            .spawn(move || {
                let expected = Expected {
                    head: &head,
                    digest: &digest,
                    signature: signature.as_deref(),
                    ranges: &ranges,
                    tail: &tail,
                    key,
                };
                verify(&path, &file, len, &expected)
            })
            .map_err(io)?
    };
    let mut snapshot = snapshot;
    snapshot.spaces = index.iter().map(IndexedSpace::shell).collect();
    Ok(Ok(Partial {
        path: path.to_path_buf(),
        file,
        read: vec![false; index.len()],
        parsed: vec![None; index.len()],
        snapshot,
        index,
        key,
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
        let (file, index, key) = (&*self.file, &self.index, self.key);
        let parse = |&s: &usize| parse_space(file, &index[s], key);
        let parsed: Vec<Result<(SpaceEntry, u64), ReadWhole>> = match crate::pool() {
            Some(pool) if todo.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| todo.par_iter().map(parse).collect())
            }
            _ => todo.iter().map(parse).collect(),
        };
        for (s, entry) in todo.into_iter().zip(parsed) {
            let (entry, fingerprint) = entry?;
            self.snapshot.spaces[s] = entry;
            self.parsed[s] = Some(fingerprint);
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

    /// Waits for the digest check: `Ok(true)` when the file's bytes are what `build` wrote and
    /// every space was parsed from the bytes hashed (the same fingerprint: a file rewritten
    /// while it was read is refused); `Ok(false)` when it is to be read whole instead.
    pub fn verified(&mut self) -> Result<bool, LoadError> {
        let Some(handle) = self.verified.take() else {
            return Ok(true);
        };
        let hashed = match handle.join() {
            Ok(Ok(hashed)) => hashed,
            Ok(Err(Verdict::ReadWhole)) => return Ok(false),
            Ok(Err(Verdict::Refused(e))) => return Err(e),
            Err(_) => {
                return Err(LoadError::Io(
                    self.path.clone(),
                    std::io::Error::other("the digest check stopped"),
                ));
            }
        };
        let same = self
            .parsed
            .iter()
            .zip(&hashed)
            .all(|(parsed, hashed)| parsed.is_none_or(|p| p == *hashed));
        if same && hashed.len() == self.parsed.len() {
            Ok(true)
        } else {
            Err(LoadError::Tampered(self.path.clone()))
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
fn parse_space(
    file: &std::fs::File,
    indexed: &IndexedSpace,
    key: u64,
) -> Result<(SpaceEntry, u64), ReadWhole> {
    let bytes = read_at(file, indexed.at[0], indexed.at[1]).map_err(|_| ReadWhole)?;
    let mut fingerprint = Fingerprint::new(key);
    fingerprint.update(&bytes);
    let text = std::str::from_utf8(&bytes).map_err(|_| ReadWhole)?;
    if !nesting_ok(text, super::format::Format::Json) {
        return Err(ReadWhole);
    }
    let entry: SpaceEntry = serde_json::from_str(text).map_err(|_| ReadWhole)?;
    if !indexed.describes(&entry) {
        return Err(ReadWhole);
    }
    Ok((entry, fingerprint.finish()))
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
/// With it, the bytes from the `index` key to the end, which the digest thread must find again.
fn read_index(file: &std::fs::File, len: u64) -> std::io::Result<Option<Index>> {
    const END: &[u8] = b"\n  }\n}\n";
    // An index entry is a few shell fields; a space's entry holds every permission of every
    // role. The index is well under a quarter of a file `build` wrote: no further search.
    let most = len / 4 + 64 * 1024;
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
            let tail = tail[key..].to_vec();
            return Ok(follows(&index.spaces, key_at).then_some((index.spaces, tail)));
        }
        if start == 0 || window >= most {
            return Ok(None);
        }
        window = window.saturating_mul(4).min(most);
    }
}

/// The index entries, and the file's bytes from the `index` key to its end.
type Index = (Vec<IndexedSpace>, Vec<u8>);

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
    // `build` writes `index` after the spaces only (a top-level key is the only text at this
    // indent after a line break: strings hold no raw line breaks).
    if !open.ends_with(b"\"spaces\": ") || rfind(open, b"\n  \"index\"").is_some() {
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

/// What the digest thread checks the file against.
struct Expected<'a> {
    /// The bytes before the first space, as parsed.
    head: &'a [u8],
    digest: &'a str,
    signature: Option<&'a str>,
    /// Each space's range, in order, one [`BETWEEN`] apart.
    ranges: &'a [[u64; 2]],
    /// The bytes from the `index` key to the end, as parsed.
    tail: &'a [u8],
    key: u64,
}

/// The digest check of [`super::format::verify`], streamed: the head from memory with the
/// digest and signature put back to their placeholders, then every space's range, the
/// separators between them and the tail, read in 1 MiB chunks. Every byte must be UTF-8 as a
/// whole read requires, the separators and the tail exactly what was parsed or `build` writes
/// (else the whole read decides), and the file no longer than it was. Returns each range's
/// fingerprint, to compare with the bytes the spaces were parsed from.
fn verify(
    path: &Path,
    file: &std::fs::File,
    len: u64,
    e: &Expected<'_>,
) -> Result<Vec<u64>, Verdict> {
    let refused = |error| Verdict::Refused(error);
    let tampered = || refused(LoadError::Tampered(path.to_path_buf()));
    let Some(mut hasher) = super::format::hash_head(e.head, e.digest, e.signature) else {
        return Err(tampered());
    };
    let mut utf8 = Utf8::default();
    utf8.feed(e.head).map_err(|()| refused(not_utf8(path)))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = e.head.len() as u64;
    // Streams [at, end) through `each` (after the hasher and the UTF-8 check).
    let mut stream = |at: &mut u64, end: u64, each: &mut dyn FnMut(&[u8])| -> Result<(), Verdict> {
        use sha2::Digest;
        while *at < end {
            let n = (end - *at).min(buf.len() as u64) as usize;
            read_exact_at(file, &mut buf[..n], *at)
                .map_err(|e| refused(LoadError::Io(path.to_path_buf(), e)))?;
            hasher.update(&buf[..n]);
            utf8.feed(&buf[..n]).map_err(|()| refused(not_utf8(path)))?;
            each(&buf[..n]);
            *at += n as u64;
        }
        Ok(())
    };
    let mut fingerprints = Vec::with_capacity(e.ranges.len());
    for (i, range) in e.ranges.iter().enumerate() {
        if i > 0 {
            let mut between = Vec::with_capacity(BETWEEN.len());
            stream(&mut at, range[0], &mut |b| between.extend_from_slice(b))?;
            if between != BETWEEN {
                return Err(Verdict::ReadWhole);
            }
        }
        if at != range[0] {
            return Err(Verdict::ReadWhole);
        }
        let mut fingerprint = Fingerprint::new(e.key);
        stream(&mut at, range[1], &mut |b| fingerprint.update(b))?;
        fingerprints.push(fingerprint.finish());
    }
    let mut tail = e.tail;
    let mut same = true;
    stream(&mut at, len, &mut |b| {
        same &= tail.starts_with(b);
        tail = tail.get(b.len()..).unwrap_or_default();
    })?;
    if !same || !tail.is_empty() {
        return Err(Verdict::ReadWhole);
    }
    if !utf8.done() {
        return Err(refused(not_utf8(path)));
    }
    // The file may have grown since its size was read: what is beyond was not hashed.
    let mut probe = [0u8; 1];
    if read_exact_at(file, &mut probe, len).is_ok() {
        return Err(tampered());
    }
    if super::format::finish(hasher) == e.digest {
        Ok(fingerprints)
    } else {
        Err(tampered())
    }
}

/// UTF-8 checked chunk by chunk: a character may straddle two chunks.
#[derive(Default)]
struct Utf8 {
    pending: Vec<u8>,
}

impl Utf8 {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), ()> {
        let mut start = 0;
        if let Some(&lead) = self.pending.first() {
            // The straddling character: as many bytes as its first one says.
            let need = match lead {
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF4 => 4,
                _ => return Err(()),
            };
            start = (need - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..start]);
            if self.pending.len() < need {
                return Ok(());
            }
            std::str::from_utf8(&self.pending).map_err(|_| ())?;
            self.pending.clear();
        }
        let rest = &bytes[start..];
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.pending.extend_from_slice(&rest[e.valid_up_to()..]);
                Ok(())
            }
            Err(_) => Err(()),
        }
    }

    fn done(&self) -> bool {
        self.pending.is_empty()
    }
}

/// A fingerprint of a byte string: a polynomial in a random key over the field of integers
/// modulo the prime 2^61 - 1, with one coefficient per 7 bytes and the length last. Words go
/// round four lanes (each a polynomial in key^4, the lanes then combined by powers of the
/// key), so that the multiplications do not wait on one another: the whole is still one
/// polynomial in the key whose coefficients are the words, each at its own power. Two different
/// strings of at most n words get the same fingerprint for at most n + 7 of the 2^61 - 2 keys,
/// whatever the strings, so bytes rewritten by someone who cannot see the key are caught.
struct Fingerprint {
    key: u64,
    key4: u64,
    lanes: [u64; 4],
    /// Words added so far (the next one's lane).
    words: u64,
    pending: [u8; GROUP],
    filled: usize,
    len: u64,
}

const MERSENNE_61: u64 = (1 << 61) - 1;
/// Bytes of one word, a coefficient below 2^56.
const WORD: usize = 7;
/// Four words, one per lane.
const GROUP: usize = 4 * WORD;

fn mul_mod(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    add_mod(p as u64 & MERSENNE_61, (p >> 61) as u64)
}

fn add_mod(a: u64, b: u64) -> u64 {
    let s = a + b;
    if s >= MERSENNE_61 { s - MERSENNE_61 } else { s }
}

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

impl Fingerprint {
    fn random_key() -> std::io::Result<u64> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(1 + u64::from_le_bytes(seed) % (MERSENNE_61 - 1))
    }

    fn new(key: u64) -> Fingerprint {
        let key2 = mul_mod(key, key);
        Fingerprint {
            key,
            key4: mul_mod(key2, key2),
            lanes: [0; 4],
            words: 0,
            pending: [0; GROUP],
            filled: 0,
            len: 0,
        }
    }

    fn add_word(&mut self, bytes: &[u8]) {
        let lane = (self.words % 4) as usize;
        self.lanes[lane] = add_mod(mul_mod(self.lanes[lane], self.key4), word(bytes));
        self.words += 1;
    }

    fn add_group(&mut self, group: &[u8]) {
        const LOW_56: u64 = (1 << 56) - 1;
        let Some(g) = group.first_chunk::<GROUP>() else {
            return;
        };
        // The four words by 8-byte loads (the last one's from a byte earlier, shifted).
        let at = |i: usize| {
            u64::from_le_bytes([
                g[i],
                g[i + 1],
                g[i + 2],
                g[i + 3],
                g[i + 4],
                g[i + 5],
                g[i + 6],
                g[i + 7],
            ])
        };
        let words = [
            at(0) & LOW_56,
            at(WORD) & LOW_56,
            at(2 * WORD) & LOW_56,
            at(3 * WORD - 1) >> 8,
        ];
        let k4 = self.key4;
        for (lane, w) in self.lanes.iter_mut().zip(words) {
            *lane = add_mod(mul_mod(*lane, k4), w);
        }
        self.words += 4;
    }

    fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        if self.filled > 0 {
            let take = bytes.len().min(GROUP - self.filled);
            self.pending[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled < GROUP {
                return;
            }
            let group = self.pending;
            self.add_group(&group);
            self.filled = 0;
        }
        let mut groups = bytes.chunks_exact(GROUP);
        for g in &mut groups {
            self.add_group(g);
        }
        let rest = groups.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    fn finish(mut self) -> u64 {
        // Groups start at word 0, so the words left continue the lanes in turn.
        let pending = self.pending;
        for w in pending[..self.filled].chunks(WORD) {
            self.add_word(w);
        }
        // Lane l's last word sits at the power 3 - l of the key, before the length.
        let k = self.key;
        let mut sum = 0;
        for lane in self.lanes {
            sum = add_mod(mul_mod(sum, k), lane);
        }
        // The length last: strings that differ only in trailing zero bytes differ here.
        add_mod(mul_mod(sum, k), self.len % MERSENNE_61)
    }
}

fn not_utf8(path: &Path) -> LoadError {
    LoadError::Unparsable(path.to_path_buf(), "it is not UTF-8 text".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A fingerprint does not depend on how its bytes are chunked, and changes with any
        /// byte and with the length.
        #[test]
        fn a_fingerprint_is_of_the_bytes_not_the_chunks(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            flip in any::<usize>(),
            key in 1..MERSENNE_61,
        ) {
            let whole = {
                let mut f = Fingerprint::new(key);
                f.update(&bytes);
                f.finish()
            };
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut f = Fingerprint::new(key);
            let mut from = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                f.update(&bytes[from..c]);
                from = c;
            }
            prop_assert_eq!(f.finish(), whole);
            let mut longer = bytes.clone();
            longer.push(0);
            let mut f = Fingerprint::new(key);
            f.update(&longer);
            prop_assert_ne!(f.finish(), whole);
            if !bytes.is_empty() {
                let mut changed = bytes.clone();
                changed[flip % bytes.len()] ^= 1 + (flip as u8 % 255);
                let mut f = Fingerprint::new(key);
                f.update(&changed);
                // A collision here has probability below 2^-54: a failure is a bug.
                prop_assert_ne!(f.finish(), whole);
            }
        }

        /// UTF-8 checked in chunks is UTF-8 checked whole.
        #[test]
        fn utf8_in_chunks_is_utf8_whole(
            text in "[a-zé€😀]{0,30}",
            cut_bytes in proptest::collection::vec(any::<u8>(), 0..3),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut bytes = text.into_bytes();
            for (i, b) in cut_bytes.iter().enumerate() {
                if !bytes.is_empty() {
                    let at = (i * 7 + *b as usize) % bytes.len();
                    bytes[at] = *b;
                }
            }
            let whole = std::str::from_utf8(&bytes).is_ok();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut check = Utf8::default();
            let mut from = 0;
            let mut ok = true;
            for c in cuts.into_iter().chain([bytes.len()]) {
                ok &= check.feed(&bytes[from..c]).is_ok();
                from = c;
            }
            prop_assert_eq!(ok && check.done(), whole);
        }
    }
}
