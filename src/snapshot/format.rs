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

/// What goes in the `signature` field while the digest is computed: as wide as a signature.
pub const SIGNATURE_PLACEHOLDER: &str = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

/// Whether and how [`write_with`] signs.
pub enum Sign<'a> {
    /// No `signature` field.
    No,
    /// Sign the content digest with this key.
    With(&'a super::sign::SecretKey),
    /// Write this signature as it is (`verify --policy` rebuilds a signed file byte for byte).
    Copy(&'a super::SignatureEntry),
}

/// Writes an unsigned snapshot; see [`write_with`].
pub fn write<W: std::io::Write + std::io::Seek>(
    snapshot: &mut Snapshot,
    format: Format,
    out: &mut W,
) -> std::io::Result<()> {
    write_with(snapshot, format, out, Sign::No)
}

/// Writes a snapshot with its content digest, and signs it as `sign` says. The content digest
/// is SHA-256 over the written bytes with the digest itself replaced by [`PLACEHOLDER`] and the
/// signature (when there is one) by [`SIGNATURE_PLACEHOLDER`]: the bytes are hashed as they
/// stream out, and the digest and then the signature of the digest are written over their
/// placeholders. Sets `snapshot.content_digest` and `snapshot.signature`.
pub fn write_with<W: std::io::Write + std::io::Seek>(
    snapshot: &mut Snapshot,
    format: Format,
    out: &mut W,
    sign: Sign<'_>,
) -> std::io::Result<()> {
    let spaces = std::mem::take(&mut snapshot.spaces);
    let written = write_streamed(snapshot, spaces.iter(), format, out, sign);
    snapshot.spaces = spaces;
    written
}

/// A sequence serialised from an iterator as it is written: each item made, written and
/// dropped in turn, so a build never holds its whole snapshot (`emit::spaces`).
pub struct Streamed<I>(std::cell::Cell<Option<I>>);

impl<I> Streamed<I> {
    pub fn new(items: I) -> Streamed<I> {
        Streamed(std::cell::Cell::new(Some(items)))
    }
}

impl<I, T> serde::Serialize for Streamed<I>
where
    I: Iterator<Item = T>,
    T: serde::Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(items) => serializer.collect_seq(items),
            None => Err(serde::ser::Error::custom(
                "a streamed sequence is written once",
            )),
        }
    }
}

/// A snapshot as written: [`Snapshot`]'s fields, in its order and with its names, the spaces
/// given apart (a snapshot's own, or [`Streamed`] as they are emitted).
#[derive(serde::Serialize)]
struct Written<'a, S> {
    format_version: u32,
    compiler_version: &'a str,
    source_digest: &'a str,
    content_digest: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a super::SignatureEntry>,
    enterprises: &'a [super::EnterpriseEntry],
    spaces: S,
}

impl<'a> Written<'a, ()> {
    fn with<S>(self, spaces: S) -> Written<'a, S> {
        Written {
            format_version: self.format_version,
            compiler_version: self.compiler_version,
            source_digest: self.source_digest,
            content_digest: self.content_digest,
            signature: self.signature,
            enterprises: self.enterprises,
            spaces,
        }
    }
}

/// [`write_with`] of `head` (a snapshot whose own `spaces` are not written) with `spaces` in
/// their place, each written and dropped in turn: the same bytes as a snapshot holding them.
/// Sets `head.index` (JSON).
pub fn write_streamed<W, T>(
    head: &mut Snapshot,
    spaces: impl Iterator<Item = T>,
    format: Format,
    out: &mut W,
    sign: Sign<'_>,
) -> std::io::Result<()>
where
    W: std::io::Write + std::io::Seek,
    T: std::borrow::Borrow<super::SpaceEntry>,
{
    match format {
        Format::Json => {
            // One buffer, rendered into and given back in turn.
            let spare = std::cell::Cell::new(Vec::new());
            let rendered = spaces.map(|space| {
                let space = space.borrow();
                let mut buf = spare.take();
                render_space_entry(space, &mut buf)?;
                Ok((buf, super::IndexedSpace::of(space, [0, 0])))
            });
            write_rendered_json(head, rendered, |buf| spare.set(buf), out, sign)
        }
        Format::Yaml => write_body(head, out, sign, |out, written| {
            let spaces = Streamed::new(spaces.map(|s| StreamedEntry(s)));
            serde_yaml::to_writer(out, &written.with(spaces)).map_err(std::io::Error::other)
        }),
    }
}

/// A space entry, owned or borrowed, serialised as itself.
struct StreamedEntry<T>(T);

impl<T: std::borrow::Borrow<super::SpaceEntry>> serde::Serialize for StreamedEntry<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.borrow().serialize(serializer)
    }
}

/// Renders a space's entry into `buf` (cleared first) as it appears in a JSON snapshot:
/// serde_json's own pretty formatter, opened two levels in (the snapshot object, its `spaces`
/// list) on a sink, so the entry rendered alone has its bytes in the file.
pub fn render_space_entry<T: serde::Serialize>(
    entry: &T,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    render_at_depth(entry, 2, buf)
}

/// `value` in serde_json's pretty layout as it appears `depth` levels into a document.
fn render_at_depth<T: serde::Serialize>(
    value: &T,
    depth: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    use serde_json::ser::Formatter;
    let mut pretty = serde_json::ser::PrettyFormatter::new();
    for _ in 0..depth {
        pretty.begin_object(&mut std::io::sink())?;
    }
    buf.clear();
    let mut ser = serde_json::Serializer::with_formatter(&mut *buf, pretty);
    value.serialize(&mut ser).map_err(std::io::Error::other)
}

/// [`write_streamed`] in JSON of spaces already rendered ([`render_space_entry`]), in order,
/// each with its index entry (its place is filled in here): the same bytes. `entries` gets
/// each buffer back once it is written (for reuse). Sets `head.index`.
pub fn write_rendered_json<W: std::io::Write + std::io::Seek>(
    head: &mut Snapshot,
    entries: impl Iterator<Item = std::io::Result<(Vec<u8>, super::IndexedSpace)>>,
    mut written_back: impl FnMut(Vec<u8>),
    out: &mut W,
    sign: Sign<'_>,
) -> std::io::Result<()> {
    let mut index = Vec::new();
    write_body(head, out, sign, |out, written| {
        let empty: [(); 0] = [];
        let text =
            serde_json::to_vec_pretty(&written.with(empty)).map_err(std::io::Error::other)?;
        // INVARIANT: `spaces` is the last field written so far: the text ends with its empty
        // list.
        let open = text.strip_suffix(b"[]\n}").ok_or_else(|| {
            std::io::Error::other("the snapshot head does not end with its spaces")
        })?;
        out.write_all(open)?;
        let mut at = open.len() as u64;
        for entry in entries {
            let (entry, mut indexed) = entry?;
            let sep: &[u8] = if index.is_empty() {
                b"[\n    "
            } else {
                b",\n    "
            };
            out.write_all(sep)?;
            out.write_all(&entry)?;
            at += sep.len() as u64;
            indexed.at = [at, at + entry.len() as u64];
            at += entry.len() as u64;
            index.push(indexed);
            written_back(entry);
        }
        out.write_all(if index.is_empty() {
            b"[],\n  \"index\": "
        } else {
            b"\n  ],\n  \"index\": "
        })?;
        let whole = super::SnapshotIndex {
            spaces: std::mem::take(&mut index),
        };
        let mut buf = Vec::new();
        render_at_depth(&whole, 1, &mut buf)?;
        index = whole.spaces;
        out.write_all(&buf)?;
        out.write_all(b"\n}\n")
    })?;
    head.index = Some(super::SnapshotIndex { spaces: index });
    Ok(())
}

/// Writes a snapshot through `body` (given the head's fields, with the placeholders), hashing
/// what it writes, then puts the digest and the signature in place (see [`write_with`]).
fn write_body<W: std::io::Write + std::io::Seek>(
    head: &mut Snapshot,
    out: &mut W,
    sign: Sign<'_>,
    body: impl FnOnce(&mut dyn std::io::Write, Written<'_, ()>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::SeekFrom;
    let snapshot = head;
    let start = out.stream_position()?;
    snapshot.content_digest = PLACEHOLDER.to_owned();
    snapshot.signature = match &sign {
        Sign::No => None,
        Sign::With(key) => Some(super::SignatureEntry {
            key_id: key.public().key_id(),
            ed25519: SIGNATURE_PLACEHOLDER.to_owned(),
        }),
        Sign::Copy(entry) => {
            if entry.ed25519.len() != SIGNATURE_PLACEHOLDER.len() {
                return Err(std::io::Error::other("the signature is not 128 hex digits"));
            }
            Some(super::SignatureEntry {
                key_id: entry.key_id.clone(),
                ed25519: SIGNATURE_PLACEHOLDER.to_owned(),
            })
        }
    };
    let (hasher, head) = {
        // Buffered before the hasher: the serialisers write token by token, and SHA-256 takes
        // megabyte chunks far faster than a few bytes at a time.
        let mut tee = std::io::BufWriter::with_capacity(
            1 << 20,
            Tee {
                inner: &mut *out,
                hasher: Sha256::new(),
                head: Vec::new(),
            },
        );
        let written = Written {
            format_version: snapshot.format_version,
            compiler_version: &snapshot.compiler_version,
            source_digest: &snapshot.source_digest,
            content_digest: &snapshot.content_digest,
            signature: snapshot.signature.as_ref(),
            enterprises: &snapshot.enterprises,
            spaces: (),
        };
        body(&mut tee, written)?;
        let tee = tee.into_inner().map_err(|e| e.into_error())?;
        tee.inner.flush()?;
        (tee.hasher, tee.head)
    };
    // INVARIANT: `content_digest` is the fourth field, well inside the first 4 KiB.
    let offset = find(&head, PLACEHOLDER, 0)
        .ok_or_else(|| std::io::Error::other("no digest placeholder in the snapshot head"))?;
    let digest = hex(&hasher.finalize());
    out.seek(SeekFrom::Start(start + offset as u64))?;
    out.write_all(digest.as_bytes())?;
    let signature = match sign {
        Sign::No => None,
        Sign::With(key) => Some(key.sign_digest(&digest)),
        Sign::Copy(entry) => Some(entry.ed25519.clone()),
    };
    if let Some(value) = signature {
        // INVARIANT: `signature` is the fifth field, right after the digest, in the first 4 KiB.
        let at =
            find(&head, SIGNATURE_PLACEHOLDER, offset + PLACEHOLDER.len()).ok_or_else(|| {
                std::io::Error::other("no signature placeholder in the snapshot head")
            })?;
        out.seek(SeekFrom::Start(start + at as u64))?;
        out.write_all(value.as_bytes())?;
        if let Some(entry) = &mut snapshot.signature {
            entry.ed25519 = value;
        }
    }
    out.seek(SeekFrom::End(0))?;
    snapshot.content_digest = digest;
    Ok(())
}

fn find(haystack: &[u8], needle: &str, from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .map(|i| i + from)
}

/// Whether a snapshot's text matches the `content_digest` it holds (see [`write_with`]):
/// the digest's value, and the signature's when `signature` is given, are put back to their
/// placeholders and the text hashed.
pub fn verify(text: &str, content_digest: &str, signature: Option<&str>) -> bool {
    hash_head(text.as_bytes(), content_digest, signature)
        .is_some_and(|hasher| hex(&hasher.finalize()) == content_digest)
}

/// A hasher fed the first bytes of a snapshot (at least through its head's digest and
/// signature), the digest's value and the signature's put back to their placeholders; `None`
/// when they are not there, as no snapshot `build` wrote.
pub(super) fn hash_head(
    head: &[u8],
    content_digest: &str,
    signature: Option<&str>,
) -> Option<Sha256> {
    if content_digest.len() != PLACEHOLDER.len() || !content_digest.starts_with("sha256:") {
        return None;
    }
    let at = find(head, content_digest, 0)?;
    let mut hasher = Sha256::new();
    hasher.update(&head[..at]);
    hasher.update(PLACEHOLDER.as_bytes());
    let mut rest = at + content_digest.len();
    if let Some(sig) = signature {
        if sig.len() != SIGNATURE_PLACEHOLDER.len() {
            return None;
        }
        let s = find(head, sig, rest)?;
        hasher.update(&head[rest..s]);
        hasher.update(SIGNATURE_PLACEHOLDER.as_bytes());
        rest = s + sig.len();
    }
    hasher.update(&head[rest..]);
    Some(hasher)
}

/// `sha256:<hex>` of what a hasher was fed.
pub(super) fn finish(hasher: Sha256) -> String {
    hex(&hasher.finalize())
}

/// Renders a snapshot with its digest to a string (tests and small outputs; `build` streams to
/// a file).
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    render_with(snapshot, format, Sign::No)
}

/// [`render`], signed as `sign` says.
#[expect(
    clippy::expect_used,
    reason = "writing our own snapshot type to memory cannot fail, and serde writes UTF-8"
)]
pub fn render_with(snapshot: &Snapshot, format: Format, sign: Sign<'_>) -> String {
    let mut signed = snapshot.clone();
    let mut out = std::io::Cursor::new(Vec::new());
    // INVARIANT: writing to memory cannot fail (a copied signature has been validated to be
    // 128 hex digits), and serde output is UTF-8.
    write_with(&mut signed, format, &mut out, sign).expect("snapshot serialises");
    String::from_utf8(out.into_inner()).expect("serde output is UTF-8")
}

/// The deepest `[`/`{` nesting a snapshot file may have. Charter writes 3 levels in JSON (and
/// block style in YAML); the limit is checked by [`nesting_ok`] before any parser runs, because
/// serde_yaml's time grows with the square of flow nesting and it would run before the digest
/// check.
pub const MAX_NESTING: usize = 64;

/// Whether `text`'s `[`/`{` nesting stays within [`MAX_NESTING`], counted outside strings.
/// Linear, one pass, no allocation.
pub fn nesting_ok(text: &str, format: Format) -> bool {
    prescan(text, format).is_ok()
}

/// The pre-scan before serde runs: nesting (quadratic in serde_yaml's flow parser) and, in
/// YAML, anchors and aliases (each alias is a copy: a 1 MB string referenced 2,000 times took
/// 2 GB). charter writes neither, so a snapshot with them was not written by charter.
pub fn prescan(text: &str, format: Format) -> Result<(), String> {
    let (nesting, alias) = match format {
        Format::Json => (json_nesting_ok(text.as_bytes()), false),
        Format::Yaml => yaml_scan(text.as_bytes()),
    };
    if alias {
        Err("it uses YAML anchors or aliases, which charter never writes".to_owned())
    } else if !nesting {
        Err(format!("it is nested deeper than {MAX_NESTING} levels"))
    } else {
        Ok(())
    }
}

/// JSON: exact (strings are `"` with `\` escapes; nothing else hides a bracket).
fn json_nesting_ok(b: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' => match string_end(b, i, Format::Json) {
                Some(end) => i = end,
                None => return true,
            },
            _ => {}
        }
        i += 1;
    }
    true
}

/// YAML, as libyaml scans it: a bracket opens a collection, and a quote a string, only where a
/// node can start (at a line start, after `[`, `{`, `,`, after `- `, `? ` or `: `, and in flow
/// also right after `:`, or after an anchor or tag there); a quoted string counts only if it
/// closes on its line (otherwise its text is scanned too); `#` after a space is a comment.
/// A bracket inside a plain scalar (`name: Ward [3`) is text. Every way the scanner can be
/// wrong errs on the side of counting, except a bracket after another token on a line, where
/// libyaml itself stops at the first one (a parse error), after scanning at most its 1,024
/// characters of simple-key lookahead.
/// Returns (nesting within the limit, an anchor or alias seen).
fn yaml_scan(b: &[u8]) -> (bool, bool) {
    let blank = |c: Option<&u8>| matches!(c, None | Some(b' ' | b'\t' | b'\r' | b'\n'));
    let mut depth = 0usize;
    let mut node_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => node_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'#' if i == 0 || blank(b.get(i - 1)) => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' if node_start || depth > 0 => {
                depth += 1;
                if depth > MAX_NESTING {
                    return (false, false);
                }
                node_start = true;
            }
            // `&name` anchors a node and `*name` repeats it, where a node starts.
            b'&' | b'*' if node_start => return (true, true),
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                node_start = false;
            }
            b',' if depth > 0 => node_start = true,
            b':' if depth > 0 || blank(b.get(i + 1)) => node_start = true,
            b'-' | b'?' if node_start && blank(b.get(i + 1)) => node_start = true,
            b'!' if node_start => {
                // A tag: the node starts after it.
                while i < b.len() && !blank(b.get(i)) {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' if node_start => {
                node_start = false;
                if let Some(end) = string_end(b, i, Format::Yaml) {
                    i = end + 1;
                    continue;
                }
            }
            _ => node_start = false,
        }
        i += 1;
    }
    (true, false)
}

/// The index of the quote closing the string opened at `open`; in YAML, on the same line.
fn string_end(b: &[u8], open: usize, format: Format) -> Option<usize> {
    let quote = b[open];
    let mut i = open + 1;
    while i < b.len() {
        let c = b[i];
        if format == Format::Yaml && c == b'\n' {
            return None;
        }
        if quote == b'"' && c == b'\\' {
            // An escaped line break continues the string on the next line: not on this line.
            if format == Format::Yaml && matches!(b.get(i + 1), Some(b'\n' | b'\r')) {
                return None;
            }
            i += 2;
            continue;
        }
        if c == quote {
            // `''` inside a single-quoted YAML string is a quote.
            if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parses a snapshot written by [`render`], choosing the format by its first character (YAML is
/// a superset of JSON). Loading a file chooses by extension instead ([`parse_as`]).
pub fn parse(text: &str) -> Result<Snapshot, String> {
    if text.trim_start().starts_with('{') {
        parse_as(text, Format::Json)
    } else {
        parse_as(text, Format::Yaml)
    }
}

/// Parses a snapshot in a given format, after the nesting pre-scan.
pub fn parse_as(text: &str, format: Format) -> Result<Snapshot, String> {
    prescan(text, format)?;
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml::from_str(text).map_err(|e| e.to_string()),
    }
}

/// The largest snapshot file read, in bytes (1 GiB): checked from the file's metadata before
/// it is opened, and again while reading, which stops one byte past it.
pub const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// Why a snapshot file cannot be used (exit code 2).
#[derive(Debug)]
pub enum LoadError {
    Io(std::path::PathBuf, std::io::Error),
    /// Not `.json`, `.yaml` or `.yml`.
    UnknownFormat(std::path::PathBuf),
    /// A directory, pipe, socket or device: what it is.
    NotRegular(std::path::PathBuf, &'static str),
    TooLarge {
        path: std::path::PathBuf,
        limit: u64,
    },
    Unparsable(std::path::PathBuf, String),
    Version {
        path: std::path::PathBuf,
        found: u32,
    },
    Tampered(std::path::PathBuf),
    /// Parsed and matching its digest, but not a snapshot charter could have written.
    Invalid(std::path::PathBuf, super::validate::Invalid),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Io(p, e) => write!(f, "cannot read snapshot `{}`: {e}", p.display()),
            LoadError::UnknownFormat(p) => write!(
                f,
                "cannot tell the snapshot format of `{}`: use a `.json`, `.yaml` or `.yml` file",
                p.display()
            ),
            LoadError::NotRegular(p, kind) => write!(
                f,
                "cannot read snapshot `{}`: it is {kind}, not a regular file",
                p.display()
            ),
            LoadError::TooLarge { path, limit } => write!(
                f,
                "cannot read snapshot `{}`: it is larger than the limit of {limit} bytes",
                path.display()
            ),
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
            LoadError::Invalid(p, why) => write!(
                f,
                "snapshot `{}` is invalid: {why}; rebuild it from the policy",
                p.display()
            ),
        }
    }
}

/// A snapshot file's text: a regular file (checked before it is opened, so a pipe or a device
/// cannot hang or flood the command), at most `limit` bytes (by its size, and by the bytes
/// actually read), in UTF-8.
pub fn read_text(path: &std::path::Path, limit: u64) -> Result<String, LoadError> {
    use std::io::Read;
    let io = |e| LoadError::Io(path.to_path_buf(), e);
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(LoadError::NotRegular(
            path.to_path_buf(),
            crate::source::kind_of(&meta),
        ));
    }
    let too_large = || LoadError::TooLarge {
        path: path.to_path_buf(),
        limit,
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    let file = crate::source::open_for_reading(path).map_err(io)?;
    let opened = file.metadata().map_err(io)?;
    if !opened.is_file() || !crate::source::same_file(&opened, &meta) {
        return Err(LoadError::NotRegular(
            path.to_path_buf(),
            crate::source::kind_of(&opened),
        ));
    }
    let mut bytes = Vec::with_capacity(opened.len().min(limit) as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        LoadError::Unparsable(
            path.to_path_buf(),
            format!(
                "it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Reads a snapshot, refusing another format version, contents that no longer match their
/// digest (a hand-edited file), and anything [`super::validate::validate`] refuses.
pub fn load(path: &std::path::Path) -> Result<Snapshot, LoadError> {
    load_with_limit(path, MAX_SNAPSHOT_BYTES)
}

/// [`load`] with another size limit.
pub fn load_with_limit(path: &std::path::Path, limit: u64) -> Result<Snapshot, LoadError> {
    let format =
        Format::from_path(path).ok_or_else(|| LoadError::UnknownFormat(path.to_path_buf()))?;
    let text = read_text(path, limit)?;
    load_text(path, &text, format)
}

/// The checks of [`load`] on a snapshot's text.
pub fn load_text(
    path: &std::path::Path,
    text: &str,
    format: Format,
) -> Result<Snapshot, LoadError> {
    let unparsable = |e| LoadError::Unparsable(path.to_path_buf(), e);
    prescan(text, format).map_err(unparsable)?;
    // Read the version first, so that a snapshot of another shape is named as such.
    let version = match format {
        Format::Json => serde_json::from_str::<VersionOnly>(text).map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml::from_str::<VersionOnly>(text).map_err(|e| e.to_string()),
    }
    .map(|v| v.format_version)
    .map_err(unparsable)?;
    if version != super::FORMAT_VERSION {
        return Err(LoadError::Version {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let snapshot = parse_as(text, format).map_err(unparsable)?;
    let signature = snapshot.signature.as_ref().map(|s| s.ed25519.as_str());
    if !verify(text, &snapshot.content_digest, signature) {
        return Err(LoadError::Tampered(path.to_path_buf()));
    }
    super::validate::validate(&snapshot).map_err(|e| LoadError::Invalid(path.to_path_buf(), e))?;
    Ok(snapshot)
}

#[derive(serde::Deserialize)]
struct VersionOnly {
    format_version: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is written (through `Written`, spaces apart) is the snapshot's own serialisation
    /// (its derive), with the digest and signature it was given, in both formats.
    #[test]
    fn written_bytes_are_the_snapshots_serialisation() {
        let p = crate::synth::Params {
            spaces: 3,
            locations: 30,
            roles: 5,
            members: 20,
            seed: 3,
        };
        let mut sources = crate::source::SourceSet::default();
        for (name, text) in crate::synth::generate(&p) {
            sources.add(name, text);
        }
        let compiled = crate::compile(&sources);
        let key = crate::snapshot::sign::SecretKey::generate().unwrap();
        for format in [Format::Json, Format::Yaml] {
            for signed in [false, true] {
                if signed && format == Format::Yaml {
                    // The signature goes over a placeholder YAML quotes (all digits): the
                    // file keeps the quotes, a fresh serialisation of a hex string may not.
                    continue;
                }
                let mut snapshot = crate::build(&sources, &compiled);
                let sign = if signed { Sign::With(&key) } else { Sign::No };
                let mut out = std::io::Cursor::new(Vec::new());
                write_with(&mut snapshot, format, &mut out, sign).unwrap();
                let own = match format {
                    Format::Json => serde_json::to_string_pretty(&snapshot).unwrap() + "\n",
                    Format::Yaml => serde_yaml::to_string(&snapshot).unwrap(),
                };
                assert_eq!(String::from_utf8(out.into_inner()).unwrap(), own);
            }
        }
    }

    #[test]
    fn nesting_is_counted_outside_strings() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        for f in [Format::Json, Format::Yaml] {
            assert!(nesting_ok(&deep(64), f));
            assert!(!nesting_ok(&deep(65), f));
            assert!(!nesting_ok(&format!("x: {}", "{a: ".repeat(65)), f));
        }
        let many = |unit: &str| unit.repeat(70);
        // Brackets in strings do not count, and closing brackets in strings cannot hide depth.
        let open_in_string = format!("{{\"a\": \"{}\"}}", "[".repeat(70));
        assert!(nesting_ok(&open_in_string, Format::Json));
        assert!(!nesting_ok(&many(r#"["]","#), Format::Json));
        assert!(!nesting_ok(&many("[']',"), Format::Yaml));
        // YAML: flow after anchors and tags, JSON-style keys, and the JSON text of a snapshot.
        assert!(!nesting_ok(&format!("a: {}", many("&x [")), Format::Yaml));
        assert!(!nesting_ok(&format!("a: {}", many("!t [")), Format::Yaml));
        assert!(!nesting_ok(&many(r#"{"a":["#), Format::Yaml));
        assert!(!nesting_ok(&many("[a, "), Format::Yaml));
        assert!(!nesting_ok(&many("- ["), Format::Yaml));
        assert!(!nesting_ok(&format!("a: 'x\n{}", many("[")), Format::Yaml));
        assert!(!nesting_ok(
            &format!("a: \"x\\\n{}\"", many("[")),
            Format::Yaml
        ));
        // A quote inside a plain scalar opens nothing.
        assert!(!nesting_ok(
            &format!("a: it's\nb: {}", many("[")),
            Format::Yaml
        ));
        // Brackets inside plain scalars are text: a hundred `Ward [3` names are fine.
        assert!(nesting_ok(&"- name: Ward [3\n".repeat(100), Format::Yaml));
        assert!(nesting_ok(
            &"- name: 'Ward [3'\n  id: \"[x\"\n".repeat(100),
            Format::Yaml
        ));
        // A comment hides its line only.
        assert!(nesting_ok(&format!("a: 1 # {}\n", many("[")), Format::Yaml));
        assert!(!nesting_ok(
            &format!("a: 1 # x\nb: {}", many("[")),
            Format::Yaml
        ));
    }
}
