//! Source files and spans.
//!
//! Every blamable node carries a compact [`Span`] (file id + byte range); spans become line and
//! column only when rendered. Files are loaded in a deterministic order (sorted by path), so the
//! snapshot does not depend on the order in which the file system lists them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};

/// Largest policy file accepted, in bytes; larger files get `E0005` instead of being parsed.
pub const MAX_FILE_BYTES: usize = 128 * 1024 * 1024;

/// Index of a file in a [`SourceSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span {
            source,
            start: start as u32,
            end: end as u32,
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
    /// The path as a user would open it from the current directory.
    pub name: String,
    /// The path relative to the policy root, with `/` separators; used for the source digest so
    /// that it does not depend on where the policy was checked out.
    pub relative: String,
    pub text: Arc<str>,
    pub lines: LineIndex,
    /// The file could not be decoded (too large, not UTF-8): it is reported, not compiled.
    pub undecodable: bool,
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
        }
    }
}

impl SourceSet {
    /// Adds an in-memory file (tests, fuzzing, generated input).
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let name = name.into();
        let text: Arc<str> = text.into();
        let id = SourceId(self.files.len() as u32);
        self.files.push(SourceFile {
            relative: name.clone(),
            name,
            lines: LineIndex::new(&text),
            text,
            undecodable: false,
        });
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

    /// Loads a `.charter` file, or every `.charter` file under a directory, sorted by path.
    ///
    /// Files that are too large or not UTF-8 are still added (as empty text) and reported as
    /// diagnostics, so that one bad file does not hide the problems of the others.
    pub fn load(path: &Path) -> Result<(SourceSet, Vec<Diagnostic>), LoadError> {
        SourceSet::load_with_limit(path, MAX_FILE_BYTES)
    }

    /// [`SourceSet::load`] with another file-size limit (tests, embedding).
    pub fn load_with_limit(
        path: &Path,
        max_file_bytes: usize,
    ) -> Result<(SourceSet, Vec<Diagnostic>), LoadError> {
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

        let mut set = SourceSet::default();
        let mut diagnostics = Vec::new();
        for p in paths {
            // An oversized file is not read at all: its size alone is reported.
            let size = std::fs::metadata(&p).map(|m| m.len() as usize).unwrap_or(0);
            let bytes = if size > max_file_bytes {
                Vec::new()
            } else {
                std::fs::read(&p).map_err(|e| LoadError::Io(p.clone(), e))?
            };
            let name = display_path(&p);
            let relative = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let (text, problem) = if size > max_file_bytes {
                (
                    String::new(),
                    Some(DecodeProblem::TooLarge {
                        len: size,
                        limit: max_file_bytes,
                    }),
                )
            } else {
                decode(bytes, max_file_bytes)
            };
            let id = SourceId(set.files.len() as u32);
            set.files.push(SourceFile {
                name,
                relative,
                lines: LineIndex::new(&text),
                text: text.into(),
                undecodable: problem.is_some(),
            });
            if let Some(problem) = problem {
                diagnostics.push(problem.into_diagnostic(id));
            }
        }
        Ok((set, diagnostics))
    }
}

enum DecodeProblem {
    TooLarge { len: usize, limit: usize },
    NotUtf8 { offset: usize },
}

impl DecodeProblem {
    fn into_diagnostic(self, id: SourceId) -> Diagnostic {
        match self {
            DecodeProblem::TooLarge { len, limit } => Diagnostic::new(
                Code::FileTooLarge,
                format!("file is too large to compile ({len} bytes; the limit is {limit} bytes)"),
            )
            .with_label(Span::new(id, 0, 0), "this file")
            .with_help(
                "split the policy into several files: all files of a directory share one namespace",
            ),
            DecodeProblem::NotUtf8 { offset } => Diagnostic::new(
                Code::InvalidUtf8,
                format!("file is not valid UTF-8 (first invalid byte at offset {offset})"),
            )
            .with_label(
                Span::new(id, offset, offset + '\u{FFFD}'.len_utf8()),
                "invalid byte here",
            )
            .with_help("save the file as UTF-8"),
        }
    }
}

/// Text of a file, or the problem that keeps it from being compiled.
fn decode(bytes: Vec<u8>, max_file_bytes: usize) -> (String, Option<DecodeProblem>) {
    if bytes.len() > max_file_bytes {
        return (
            String::new(),
            Some(DecodeProblem::TooLarge {
                len: bytes.len(),
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

fn collect_charter_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    // Iterative walk: directory depth is user-controlled.
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| LoadError::Io(dir.clone(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| LoadError::Io(dir.clone(), e))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            // `file_type` does not follow symlinks: a symlinked directory cannot loop the walk.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && !hidden {
                pending.push(path);
            } else if !hidden && path.extension().is_some_and(|e| e == "charter") {
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
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, text: &str, offset: u32) -> (usize, usize) {
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line] as usize;
        let end = (offset as usize).min(text.len());
        let column = text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count())
            + 1;
        (line + 1, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn invalid_utf8_reports_the_first_bad_byte() {
        let (text, problem) = decode(b"space a {\xff}".to_vec(), MAX_FILE_BYTES);
        assert_eq!(text, "space a {\u{FFFD}}");
        assert!(matches!(
            problem,
            Some(DecodeProblem::NotUtf8 { offset: 9 })
        ));
    }
}
