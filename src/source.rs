//! Source files and spans.
//!
//! Every blamable node carries a compact [`Span`] (file id + byte range); spans become line and
//! column only when rendered. Files are loaded in a deterministic order (sorted by path), so the
//! snapshot does not depend on the order in which the file system lists them.
//!
//! Loading knows nothing of diagnostics: a file that cannot be decoded is reported as an
//! [`Undecodable`], and `diagnostic` turns it into `E0004`/`E0005` (the dependency runs from
//! `diagnostic` to `source`, never back).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest policy file accepted, in bytes; larger files get `E0005` instead of being parsed.
pub const MAX_FILE_BYTES: usize = 128 * 1024 * 1024;

/// Index of a file in a [`SourceSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
///
/// The contract: `start <= end`, both byte offsets on `char` boundaries of that file's text
/// (or of a query line). Offsets are `u32`: a policy file is at most [`MAX_FILE_BYTES`], well
/// below `u32::MAX` (checked at compile time), so a span of a loaded file is exact; `new`
/// saturates rather than wraps for longer in-memory text, which then points at its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

const _: () = assert!(MAX_FILE_BYTES < u32::MAX as usize);

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        debug_assert!(start <= end, "span {start}..{end}");
        let narrow = |offset: usize| u32::try_from(offset).unwrap_or(u32::MAX);
        Span {
            source,
            start: narrow(start),
            end: narrow(end),
        }
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// One loaded policy file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as a user would open it from the current directory; lossy UTF-8, for display
    /// only (write to [`SourceFile::path`]).
    pub name: String,
    /// The path relative to the policy root, with `/` separators; used for the source digest so
    /// that it does not depend on where the policy was checked out.
    pub relative: String,
    /// The file the text was read from, exactly as the file system names it: the path itself,
    /// or the canonical target of a symbolic link. `fmt` writes here. For in-memory files and
    /// files read from git, the name.
    pub path: PathBuf,
    pub text: Arc<str>,
    pub lines: LineIndex,
    /// The file could not be decoded (too large, not UTF-8): it is reported, not compiled.
    pub undecodable: bool,
}

impl SourceFile {
    /// Whether [`SourceFile::path`] still holds exactly the loaded text, read again by the
    /// loader's rules (opened without blocking, a regular file, at most one byte more than the
    /// text is read). `fmt` asks this just before replacing the file.
    pub fn unchanged_on_disk(&self) -> std::io::Result<bool> {
        let file = open_for_reading(&self.path)?;
        if !file.metadata()?.is_file() {
            return Ok(false);
        }
        let expected = self.text.as_bytes();
        let mut bytes = Vec::with_capacity(expected.len());
        file.take(expected.len() as u64 + 1)
            .read_to_end(&mut bytes)?;
        Ok(bytes == expected)
    }
}

/// All files of one policy, in path order.
#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    files: Vec<SourceFile>,
}

/// Why a policy path could not be read at all (exit code 2, not a diagnostic).
#[derive(Debug)]
pub enum LoadError {
    Missing(PathBuf),
    Io(PathBuf, std::io::Error),
    Empty(PathBuf),
    NotCharter(PathBuf),
    /// A named pipe, socket or device: never opened for reading (a pipe would block forever, a
    /// device never ends). The second field says which.
    NotRegular(PathBuf, &'static str),
    /// A symbolic link that is not followed.
    Link(PathBuf, LinkProblem),
    /// The file was replaced between the check of its type and the read.
    Replaced(PathBuf),
}

/// Why a symbolic link is not followed.
#[derive(Debug)]
pub enum LinkProblem {
    /// It points to nothing.
    Broken,
    /// It leads outside the policy root (shown as given).
    Outside(PathBuf),
    /// It leads to a directory, a pipe, a device or a socket.
    NotRegular,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Missing(p) => write!(f, "`{}` does not exist", p.display()),
            LoadError::Io(p, e) => write!(f, "cannot read `{}`: {e}", p.display()),
            LoadError::Empty(p) => {
                write!(f, "no `.charter` files found in `{}`", p.display())
            }
            LoadError::NotCharter(p) => {
                write!(f, "`{}` is not a `.charter` file", p.display())
            }
            LoadError::NotRegular(p, kind) => {
                write!(f, "`{}` is {kind}, not a regular file", p.display())
            }
            // The target is not named: it is the link's name that the user can act on, and a
            // link's target may be anything.
            LoadError::Link(p, LinkProblem::Broken) => {
                write!(f, "`{}` is a broken symbolic link", p.display())
            }
            LoadError::Link(p, LinkProblem::Outside(root)) => write!(
                f,
                "`{}` is a symbolic link that leads outside `{}`; only links to files inside \
                 the policy directory are followed",
                p.display(),
                root.display()
            ),
            LoadError::Link(p, LinkProblem::NotRegular) => write!(
                f,
                "`{}` is a symbolic link to something that is not a regular file",
                p.display()
            ),
            LoadError::Replaced(p) => {
                write!(f, "`{}` was replaced while it was being read", p.display())
            }
        }
    }
}

/// What reading one policy file gave: its bytes, or, over the size limit, only its size (when
/// known: a file that grows while it is read is cut off at the limit).
#[derive(Debug)]
pub enum FileContents {
    Bytes(Vec<u8>),
    TooLarge(Option<u64>),
}

impl SourceSet {
    /// Adds an in-memory file (tests, fuzzing, generated input).
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let name = name.into();
        let text: Arc<str> = text.into();
        let id = SourceId(self.files.len() as u32);
        self.files.push(SourceFile {
            relative: name.clone(),
            path: PathBuf::from(&name),
            name,
            lines: LineIndex::new(&text),
            text,
            undecodable: false,
        });
        id
    }

    /// Adds a file read by the caller (from a git revision, say), decoded by the same rules as
    /// [`SourceSet::load`]: an oversized or non-UTF-8 file is added as undecodable, and what
    /// keeps it from being decoded is returned.
    pub fn add_contents(
        &mut self,
        name: String,
        relative: String,
        path: PathBuf,
        contents: FileContents,
        max_file_bytes: usize,
    ) -> Option<Undecodable> {
        let (text, problem) = match contents {
            FileContents::Bytes(bytes) => decode(bytes, max_file_bytes),
            FileContents::TooLarge(len) => (
                String::new(),
                Some(DecodeProblem::TooLarge {
                    len,
                    limit: max_file_bytes,
                }),
            ),
        };
        let id = SourceId(self.files.len() as u32);
        self.files.push(SourceFile {
            name,
            relative,
            path,
            lines: LineIndex::new(&text),
            text: text.into(),
            undecodable: problem.is_some(),
        });
        problem.map(|problem| Undecodable { file: id, problem })
    }

    /// Adds a file as loaded before (the language server keeps each file between versions);
    /// its id is the next one, whatever it was before.
    pub fn push(&mut self, file: SourceFile) -> SourceId {
        let id = SourceId(self.files.len() as u32);
        self.files.push(file);
        id
    }

    pub fn get(&self, id: SourceId) -> &SourceFile {
        // INVARIANT: SourceIds are only minted by `add`, indexes into `files`.
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        let text = &self.get(span.source).text;
        text.get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// Loads a `.charter` file, or every `.charter` file under a directory (skipping hidden
    /// files and folders), sorted by path.
    ///
    /// Only regular files are read. A pipe, socket or device is refused without being opened
    /// for reading, and a symbolic link is followed only to a regular file inside the policy
    /// root (the directory, or a single file's folder): a policy under review cannot make the
    /// compiler read, and quote in a diagnostic, a file from elsewhere. Files that are too
    /// large or not UTF-8 are still added (as empty text) and returned as [`Undecodable`]s
    /// (diagnostics `E0004`/`E0005`), so that one bad file does not hide the problems of the
    /// others.
    pub fn load(path: &Path) -> Result<(SourceSet, Vec<Undecodable>), LoadError> {
        SourceSet::load_with_limit(path, MAX_FILE_BYTES)
    }

    /// [`SourceSet::load`] with another file-size limit (tests, embedding).
    pub fn load_with_limit(
        path: &Path,
        max_file_bytes: usize,
    ) -> Result<(SourceSet, Vec<Undecodable>), LoadError> {
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::Missing(path.to_path_buf()),
            _ => LoadError::Io(path.to_path_buf(), e),
        })?;
        let (root, mut paths) = if meta.is_dir() {
            let mut found = Vec::new();
            collect_charter_files(path, &mut found)?;
            if found.is_empty() {
                return Err(LoadError::Empty(path.to_path_buf()));
            }
            (path.to_path_buf(), found)
        } else {
            if path.extension().is_none_or(|e| e != "charter") {
                return Err(LoadError::NotCharter(path.to_path_buf()));
            }
            let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (root, vec![path.to_path_buf()])
        };
        paths.sort();
        let root = Root::new(root)?;

        let mut set = SourceSet::default();
        let mut undecodable = Vec::new();
        let checked = paths
            .iter()
            .map(|p| check_policy_file(p, &root))
            .collect::<Result<Vec<_>, _>>()?;
        for c in distinct(&checked).into_iter().map(|i| &checked[i]) {
            let contents = read_checked(c, max_file_bytes)?;
            let relative = c
                .path
                .strip_prefix(&root.given)
                .unwrap_or(&c.path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let name = display_path(&c.path);
            undecodable.extend(set.add_contents(
                name,
                relative,
                c.target.clone(),
                contents,
                max_file_bytes,
            ));
        }
        Ok((set, undecodable))
    }
}

/// The policy root: as given (for relative names and messages) and canonical (to tell whether
/// a symbolic link stays inside it).
struct Root {
    given: PathBuf,
    canonical: PathBuf,
}

impl Root {
    fn new(given: PathBuf) -> Result<Root, LoadError> {
        let dir = if given.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &given
        };
        let canonical = std::fs::canonicalize(dir).map_err(|e| LoadError::Io(dir.into(), e))?;
        Ok(Root { given, canonical })
    }

    fn shown(&self) -> PathBuf {
        if self.given.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            self.given.clone()
        }
    }
}

/// A policy file whose type has been checked, not yet opened.
struct Checked {
    /// The path as walked (or given).
    path: PathBuf,
    /// The file to read: `path`, or the canonical target of a link.
    target: PathBuf,
    meta: std::fs::Metadata,
    link: bool,
}

/// Checks one policy file by the rules of [`SourceSet::load`], without opening it.
fn check_policy_file(p: &Path, root: &Root) -> Result<Checked, LoadError> {
    let io = |e| LoadError::Io(p.to_path_buf(), e);
    // The type is checked before the file is opened: opening a pipe for reading blocks until a
    // writer comes, and a device such as /dev/zero never ends.
    let own = std::fs::symlink_metadata(p).map_err(io)?;
    if own.file_type().is_symlink() {
        let target = match std::fs::canonicalize(p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LoadError::Link(p.to_path_buf(), LinkProblem::Broken));
            }
            Err(e) => return Err(io(e)),
        };
        if !target.starts_with(&root.canonical) {
            return Err(LoadError::Link(
                p.to_path_buf(),
                LinkProblem::Outside(root.shown()),
            ));
        }
        let meta = std::fs::metadata(&target).map_err(io)?;
        if !meta.is_file() {
            return Err(LoadError::Link(p.to_path_buf(), LinkProblem::NotRegular));
        }
        Ok(Checked {
            path: p.to_path_buf(),
            target,
            meta,
            link: true,
        })
    } else if own.is_file() {
        Ok(Checked {
            path: p.to_path_buf(),
            target: p.to_path_buf(),
            meta: own,
            link: false,
        })
    } else {
        Err(LoadError::NotRegular(p.to_path_buf(), kind_of(&own)))
    }
}

/// The indexes of `checked` to load: the same file reached twice (a link to a file that is also
/// loaded, a hard link) is loaded once, since its declarations would otherwise all be
/// duplicates; under its own name when it is loaded directly, else under the first link's.
fn distinct(checked: &[Checked]) -> Vec<usize> {
    let mut chosen: std::collections::HashMap<FileKey, usize> = Default::default();
    for (i, c) in checked.iter().enumerate() {
        let slot = chosen.entry(file_key(c)).or_insert(i);
        if checked[*slot].link && !c.link {
            *slot = i;
        }
    }
    let mut keep: Vec<usize> = chosen.into_values().collect();
    keep.sort_unstable();
    keep
}

/// What identifies a file: device and inode on unix, else its canonical path.
#[cfg(unix)]
type FileKey = (u64, u64);
#[cfg(not(unix))]
type FileKey = PathBuf;

fn file_key(c: &Checked) -> FileKey {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (c.meta.dev(), c.meta.ino())
    }
    #[cfg(not(unix))]
    {
        std::fs::canonicalize(&c.target).unwrap_or_else(|_| c.target.clone())
    }
}

/// Reads a checked file: at most the size limit, and only if it is still the file checked.
fn read_checked(c: &Checked, max_file_bytes: usize) -> Result<FileContents, LoadError> {
    let io = |e| LoadError::Io(c.path.clone(), e);
    // Between the check and the open the entry may have been replaced: the open does not block
    // (on unix), and the opened file must be the one that was checked.
    let file = open_for_reading(&c.target).map_err(io)?;
    let opened = file.metadata().map_err(io)?;
    if !opened.is_file() || !same_file(&opened, &c.meta) {
        return Err(LoadError::Replaced(c.path.clone()));
    }
    // An oversized file is not read at all: its size alone is reported.
    if opened.len() > max_file_bytes as u64 {
        return Ok(FileContents::TooLarge(Some(opened.len())));
    }
    // The limit counts the bytes actually read, not the size the file system reports (which a
    // growing file or a kernel file such as /proc's does not keep).
    read_limited(file, max_file_bytes).map_err(io)
}

/// At most `limit` bytes of `reader`, or `TooLarge` when there are more.
fn read_limited(reader: impl Read, limit: usize) -> std::io::Result<FileContents> {
    let mut bytes = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(if bytes.len() > limit {
        FileContents::TooLarge(None)
    } else {
        FileContents::Bytes(bytes)
    })
}

/// Opens a file for reading; on unix without blocking, so that a pipe put in the place of a
/// checked file cannot hang the command (reads of a regular file ignore the flag).
pub(crate) fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, O_NONBLOCK);
    options.open(path)
}

/// `O_NONBLOCK`, spelled out to keep `libc` out of the dependency list. Where its value is not
/// listed here, no flag is passed, and the check of the opened file's type still refuses
/// anything but a regular file (only the open itself could then block, in a lost race).
#[cfg(unix)]
const O_NONBLOCK: i32 = if cfg!(all(
    any(target_os = "linux", target_os = "android"),
    not(any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))
)) {
    0o4000
} else if cfg!(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
)) {
    0x4
} else {
    0
};

/// Whether two metadata describe the same file (device and inode on unix).
pub(crate) fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// What a non-regular file is, in words.
pub(crate) fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a named pipe";
        } else if t.is_socket() {
            return "a socket";
        } else if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// A loaded file that cannot be compiled: it is in the [`SourceSet`] (with empty or lossy text,
/// marked [`SourceFile::undecodable`]) and becomes diagnostic `E0004` or `E0005`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    pub file: SourceId,
    pub problem: DecodeProblem,
}

/// Why a file's bytes are not policy text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeProblem {
    /// Over the size limit; `len` is `None` when the file grew past the limit while it was
    /// read.
    TooLarge { len: Option<u64>, limit: usize },
    /// Not UTF-8; `offset` is the first invalid byte.
    NotUtf8 { offset: usize },
}

/// Text of a file, or the problem that keeps it from being compiled.
fn decode(bytes: Vec<u8>, max_file_bytes: usize) -> (String, Option<DecodeProblem>) {
    if bytes.len() > max_file_bytes {
        return (
            String::new(),
            Some(DecodeProblem::TooLarge {
                len: Some(bytes.len() as u64),
                limit: max_file_bytes,
            }),
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            // Kept only for showing the problem; an undecodable file is never parsed. Offsets
            // up to the first invalid byte are the same in the lossy text.
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            (text, Some(DecodeProblem::NotUtf8 { offset }))
        }
    }
}

/// Whether a name is hidden: it starts with `.`. Hidden files and folders are not loaded.
pub fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// Whether a file name is that of a policy file (`*.charter`).
pub fn is_charter_name(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "charter")
}

fn collect_charter_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    // Iterative walk: directory depth is user-controlled.
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| LoadError::Io(dir.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| LoadError::Io(dir.clone(), e))?;
            if is_hidden(&entry.file_name()) {
                continue;
            }
            let path = entry.path();
            // `file_type` does not follow symlinks: a symlinked directory cannot loop the walk.
            // Anything else named `*.charter` (a link, a pipe, a device) is collected so that
            // it is refused by name rather than silently skipped.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if is_charter_name(&path) {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// A path as the user would type it: relative to the current directory when it is below it.
fn display_path(path: &Path) -> String {
    let shown = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf());
    let s = shown.to_string_lossy().into_owned();
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}

/// Byte offsets of line starts, for turning offsets into 1-based line and column.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// Every [`CHECKPOINT`] bytes inside a line: (byte offset, characters since the line's
    /// start), so that a column in a very long line costs at most that many characters to
    /// count, not the line's length (thousands of diagnostics on one 10 MB line).
    checkpoints: Vec<(u32, u32)>,
    /// Byte offsets of the characters outside the Basic Multilingual Plane (two UTF-16 code
    /// units each; an editor's columns count those), so that a UTF-16 column costs what a
    /// character column does. Empty for almost every policy.
    astral: Vec<u32>,
}

/// Bytes between column checkpoints.
const CHECKPOINT: usize = 4096;

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let mut checkpoints = Vec::new();
        let mut astral = Vec::new();
        let (mut line_start, mut column, mut next) = (0usize, 0u32, CHECKPOINT);
        for (i, c) in text.char_indices() {
            if c.len_utf16() == 2 {
                astral.push(i as u32);
            }
            if i >= next {
                if i > line_start {
                    checkpoints.push((i as u32, column));
                }
                next = i + CHECKPOINT;
            }
            if c == '\n' {
                starts.push(i as u32 + 1);
                line_start = i + 1;
                column = 0;
            } else {
                column += 1;
            }
        }
        LineIndex {
            starts,
            checkpoints,
            astral,
        }
    }

    /// The 0-based column of a byte offset in UTF-16 code units (the Language Server
    /// Protocol's default), at the cost of [`LineIndex::line_col`].
    pub fn utf16_column(&self, text: &str, offset: u32) -> usize {
        let (line, column) = self.line_col(text, offset);
        let start = self.starts[line - 1];
        let before = |at: u32| self.astral.partition_point(|&a| a < at);
        column - 1 + before(offset) - before(start)
    }

    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: u32) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    /// The byte offset where 0-based line `line` starts (the text's length past the last).
    pub fn line_start(&self, line: usize, text_len: usize) -> usize {
        self.starts.get(line).map_or(text_len, |&s| s as usize)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, text: &str, offset: u32) -> (usize, usize) {
        let line = self.line_of(offset);
        let mut start = self.starts[line] as usize;
        let end = (offset as usize).min(text.len());
        let mut before = 0usize;
        // The last checkpoint of this line at or before the offset.
        let k = self
            .checkpoints
            .partition_point(|&(at, _)| at as usize <= end);
        if let Some(&(at, col)) = k.checked_sub(1).and_then(|k| self.checkpoints.get(k))
            && at as usize >= start
        {
            start = at as usize;
            before = col as usize;
        }
        let column = before
            + text
                .get(start..end)
                .map_or(end.saturating_sub(start), |s| s.chars().count())
            + 1;
        (line + 1, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_a_long_line_agree_with_counting_from_its_start() {
        let text: String = (0..3000)
            .map(|i| if i % 7 == 0 { "é" } else { "ab" })
            .collect::<String>()
            + "\nxy"
            + &"ü".repeat(5000);
        let idx = LineIndex::new(&text);
        for offset in (0..text.len())
            .filter(|&o| text.is_char_boundary(o))
            .step_by(37)
        {
            let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let expected = (
                text[..offset].matches('\n').count() + 1,
                text[line_start..offset].chars().count() + 1,
            );
            assert_eq!(idx.line_col(&text, offset as u32), expected, "{offset}");
        }
    }

    #[test]
    fn utf16_columns_count_characters_outside_the_bmp_twice() {
        let text = "a😀b\n😀😀c";
        let idx = LineIndex::new(text);
        for offset in (0..=text.len()).filter(|&o| text.is_char_boundary(o)) {
            let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let expected: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
            assert_eq!(idx.utf16_column(text, offset as u32), expected, "{offset}");
        }
    }

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        let text = "ab\nçd\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        assert_eq!(idx.line_col(text, 5), (2, 2));
        assert_eq!(idx.line_col(text, 7), (3, 1));
    }

    #[test]
    fn the_size_limit_counts_the_bytes_read() {
        // An endless reader stands for /dev/zero or a file that keeps growing: reading stops
        // one byte past the limit.
        let contents = read_limited(std::io::repeat(0), 1024).unwrap();
        assert!(matches!(contents, FileContents::TooLarge(None)));
        let contents = read_limited(&b"space a {}"[..], 10).unwrap();
        assert!(matches!(contents, FileContents::Bytes(b) if b == b"space a {}"));
    }

    #[test]
    fn invalid_utf8_reports_the_first_bad_byte() {
        let (text, problem) = decode(b"space a {\xff}".to_vec(), MAX_FILE_BYTES);
        assert_eq!(text, "space a {\u{FFFD}}");
        assert!(matches!(
            problem,
            Some(DecodeProblem::NotUtf8 { offset: 9 })
        ));
    }
}
