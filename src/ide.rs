//! What an editor asks of a policy while it is edited (`charter lsp`, docs/editor.md): the
//! diagnostics of the whole policy after each change, and, at a position, what the name there
//! is, means and is used by.
//!
//! A [`Workspace`] is one policy directory: its files as the loader reads them, with the texts
//! of the files open in the editor in their place. It keeps each file's parse and, after an
//! edit, parses again only the file that changed; resolution and the checks run on the whole
//! policy through [`crate::compile_declared`], the path `check` takes, so the editor shows what
//! `check` prints. An [`Analysis`] is one version of the policy: its sources, diagnostics and
//! IR, and on first use its symbol table ([`symbols`]) and query index.
//!
//! Offsets here are byte offsets into a file's text; the protocol's line/UTF-16 positions are
//! the language server's business.

pub mod complete;
pub mod fixes;
pub mod hover;
pub mod outline;
pub mod symbols;

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use crate::Compiled;
use crate::ast;
use crate::diagnostic::{self, Diagnostic};
use crate::query::Index;
use crate::source::{self, LineIndex, LoadError, SourceFile, SourceId, SourceSet, Undecodable};

/// One file's parse, and its own declarations resolved from it: what
/// [`crate::compile_declared`] takes for it (the tree stays for the symbol table).
#[derive(Debug)]
pub struct Parsed {
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
    pub declarations: crate::resolve::FileDeclarations,
}

/// A file of the workspace: as read from disk, or as the editor holds it.
struct Entry {
    file: SourceFile,
    /// Why the file cannot be compiled (too large, not UTF-8), as the loader found it.
    problem: Option<source::DecodeProblem>,
    /// The text is the editor's (a `didOpen`/`didChange`), not the disk's.
    open: bool,
    /// The last parse of this text, and the id it was parsed under (spans carry the id, so a
    /// parse is reused only under the same id).
    parsed: Option<(SourceId, Arc<Parsed>)>,
}

/// One policy directory, as the editor sees it.
pub struct Workspace {
    root: PathBuf,
    /// By path relative to the root: the loader's order (it sorts by path).
    entries: BTreeMap<PathBuf, Entry>,
    analysis: Option<Rc<Analysis>>,
}

/// One version of the policy, compiled.
pub struct Analysis {
    pub sources: SourceSet,
    /// By source id; `None` for a file that could not be decoded.
    pub parsed: Vec<Option<Arc<Parsed>>>,
    pub compiled: Compiled,
    symbols: OnceCell<symbols::Symbols>,
    index: OnceCell<Option<Index>>,
}

impl Workspace {
    /// The policy under `root` (a directory), read by the loader's rules.
    pub fn load(root: &Path) -> Result<Workspace, LoadError> {
        let mut ws = Workspace {
            root: root.to_path_buf(),
            entries: BTreeMap::new(),
            analysis: None,
        };
        ws.reload()?;
        Ok(ws)
    }

    /// An empty workspace at `root` (no file on disk yet: the editor's text is all there is).
    pub fn empty(root: &Path) -> Workspace {
        Workspace {
            root: root.to_path_buf(),
            entries: BTreeMap::new(),
            analysis: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads the files from disk again (files created, deleted or saved by another program),
    /// keeping the editor's texts of open files and every parse whose text did not change.
    pub fn reload(&mut self) -> Result<(), LoadError> {
        let loaded = match SourceSet::load(&self.root) {
            Ok(loaded) => Some(loaded),
            // A directory whose last policy file was deleted: only open files are left.
            Err(LoadError::Empty(_)) => None,
            Err(e) => return Err(e),
        };
        let mut old = std::mem::take(&mut self.entries);
        if let Some((sources, undecodable)) = loaded {
            let mut problems: Vec<Option<source::DecodeProblem>> = vec![None; sources.len()];
            for Undecodable { file, problem } in undecodable {
                problems[file.0 as usize] = Some(problem);
            }
            for ((_, file), problem) in sources.files().zip(problems) {
                let key = PathBuf::from(&file.relative);
                let previous = old.remove(&key);
                let entry = match previous {
                    Some(e) if e.open => e,
                    Some(e)
                        if e.problem.is_none() && problem.is_none() && e.file.text == file.text =>
                    {
                        e
                    }
                    _ => Entry {
                        file: file.clone(),
                        problem,
                        open: false,
                        parsed: None,
                    },
                };
                self.entries.insert(key, entry);
            }
        }
        // Open files not on disk (new, unsaved) stay.
        for (key, e) in old.into_iter().filter(|(_, e)| e.open) {
            self.entries.insert(key, e);
        }
        self.analysis = None;
        Ok(())
    }

    /// The relative path of `path` in this workspace, if it is a policy file under the root.
    pub fn relative(&self, path: &Path) -> Option<PathBuf> {
        if !source::is_charter_name(path) {
            return None;
        }
        if let Some((key, _)) = self.entries.iter().find(|(_, e)| e.file.path == path) {
            return Some(key.clone());
        }
        let relative = path.strip_prefix(&self.root).ok()?;
        (!relative.as_os_str().is_empty()).then(|| relative.to_path_buf())
    }

    /// Whether `path` is one of this workspace's files.
    pub fn holds(&self, path: &Path) -> bool {
        self.relative(path)
            .is_some_and(|r| self.entries.contains_key(&r))
    }

    /// The editor's text of `path` replaces the disk's (`didOpen`, `didChange`). Returns
    /// false when `path` is not a policy file under the root.
    pub fn set_text(&mut self, path: &Path, text: &str) -> bool {
        let Some(key) = self.relative(path) else {
            return false;
        };
        if let Some(e) = self.entries.get(&key)
            && e.open
            && e.problem.is_none()
            && *e.file.text == *text
        {
            return true;
        }
        let relative = key.to_string_lossy().replace('\\', "/");
        let text: Arc<str> = Arc::from(text);
        let file = SourceFile {
            name: path.to_string_lossy().into_owned(),
            relative,
            path: path.to_path_buf(),
            lines: LineIndex::new(&text),
            text,
            undecodable: false,
        };
        self.entries.insert(
            key,
            Entry {
                file,
                problem: None,
                open: true,
                parsed: None,
            },
        );
        self.analysis = None;
        true
    }

    /// The editor closed `path`: the disk's text counts again (or the file is gone, if it was
    /// never saved).
    pub fn close(&mut self, path: &Path) -> Result<(), LoadError> {
        if let Some(key) = self.relative(path)
            && let Some(e) = self.entries.get_mut(&key)
        {
            e.open = false;
        }
        self.reload()
    }

    /// The text of `path` as the workspace holds it.
    pub fn text(&self, path: &Path) -> Option<&Arc<str>> {
        let key = self.relative(path)?;
        self.entries.get(&key).map(|e| &e.file.text)
    }

    /// Every file's path, in source order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.entries.values().map(|e| e.file.path.as_path())
    }

    /// The policy compiled, as it is now: each file parsed again only if its text changed
    /// since its last parse (or its id moved).
    pub fn analysis(&mut self) -> Rc<Analysis> {
        if let Some(a) = &self.analysis {
            return a.clone();
        }
        let mut sources = SourceSet::default();
        let mut parsed = Vec::with_capacity(self.entries.len());
        let mut undecodable = Vec::new();
        for e in self.entries.values_mut() {
            let id = sources.push(e.file.clone());
            if let Some(problem) = &e.problem {
                undecodable.push(Undecodable {
                    file: id,
                    problem: problem.clone(),
                });
                parsed.push(None);
                continue;
            }
            let p = match &e.parsed {
                Some((at, p)) if *at == id => p.clone(),
                _ => {
                    let (ast, diagnostics) = crate::parse_file(id, &e.file.text);
                    let declarations = crate::resolve::declare(ast.clone());
                    let p = Arc::new(Parsed {
                        ast,
                        diagnostics,
                        declarations,
                    });
                    e.parsed = Some((id, p.clone()));
                    p
                }
            };
            parsed.push(Some(p));
        }
        let mut diagnostics: Vec<Diagnostic> =
            undecodable.into_iter().map(Diagnostic::from).collect();
        let mut compiled = crate::compile_declared(
            &sources,
            parsed
                .iter()
                .flatten()
                .map(|p| (p.declarations.clone(), p.diagnostics.clone())),
        );
        diagnostics.append(&mut compiled.diagnostics);
        diagnostic::sort(&mut diagnostics);
        compiled.diagnostics = diagnostics;
        let analysis = Rc::new(Analysis {
            sources,
            parsed,
            compiled,
            symbols: OnceCell::new(),
            index: OnceCell::new(),
        });
        self.analysis = Some(analysis.clone());
        analysis
    }
}

impl Analysis {
    /// The id of the file at `path`.
    pub fn file(&self, path: &Path) -> Option<SourceId> {
        self.sources
            .files()
            .find(|(_, f)| f.path == path)
            .map(|(id, _)| id)
    }

    /// Every name of the policy, where it is declared and where it is used (built on first use).
    pub fn symbols(&self) -> &symbols::Symbols {
        self.symbols.get_or_init(|| symbols::Symbols::new(self))
    }

    /// The query index of this version, when it has no errors (built on first use): what
    /// `charter query` would answer.
    pub fn index(&self) -> Option<&Index> {
        self.index
            .get_or_init(|| {
                (!self.compiled.has_errors())
                    .then(|| Index::new(crate::pipeline::build(&self.sources, &self.compiled)))
            })
            .as_ref()
    }

    /// The `test` blocks' assertions, decided (none when the policy has errors).
    pub fn assertions(&self) -> Vec<crate::testing::AssertionResult> {
        match self.index() {
            Some(index) => crate::testing::run(&self.compiled.ir.tests, index, &self.sources, None),
            None => Vec::new(),
        }
    }

    /// The text a span covers.
    pub fn slice(&self, span: crate::source::Span) -> &str {
        self.sources.slice(span)
    }
}

/// The policy directory a file belongs to: the highest directory, from the file's own up to
/// (at most) `boundary`, such that it and every directory below it on the way hold policy
/// files directly (the loader reads a directory's subdirectories too, and `policies/acme` and
/// `policies/national-health` are two policies, not one).
pub fn policy_root(file: &Path, boundary: Option<&Path>) -> PathBuf {
    let Some(mut root) = file.parent().map(Path::to_path_buf) else {
        return PathBuf::from(".");
    };
    let holds_policy_files = |dir: &Path| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                !source::is_hidden(&e.file_name())
                    && source::is_charter_name(&e.path())
                    && e.file_type().is_ok_and(|t| t.is_file())
            })
        })
    };
    while boundary.is_none_or(|b| root != b && root.starts_with(b)) {
        match root.parent() {
            Some(parent) if !parent.as_os_str().is_empty() && holds_policy_files(parent) => {
                root = parent.to_path_buf();
            }
            _ => break,
        }
    }
    root
}
