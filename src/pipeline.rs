//! The library's entry points from a path: a policy loaded and compiled (with the loader's
//! problems as diagnostics), its snapshot built, and what a query runs on opened (a snapshot
//! file, checked and optionally signature-checked, or a policy compiled to one in memory).
//!
//! These are what the command line and the tests call; they hold no logic of their own beyond
//! putting the stages together, so that loading, compiling and building are done one way.
//! `query::Index::from_path` is [`open_snapshot`] indexed.

use std::path::{Path, PathBuf};

use crate::Compiled;
use crate::diagnostic::{self, Diagnostic};
use crate::ir::SpaceId;
use crate::snapshot::Snapshot;
use crate::snapshot::format::{self, Format};
use crate::snapshot::sign::{self, PublicKey, Unsigned};
use crate::source::{self, LoadError, SourceSet, Undecodable};

/// Loads a policy path ([`SourceSet::load`]) and compiles it; the diagnostics include the
/// files that could not be decoded (`E0004`, `E0005`), sorted with the others.
pub fn load_and_compile(path: &Path) -> Result<(SourceSet, Compiled), LoadError> {
    load_and_compile_with_limit(path, source::MAX_FILE_BYTES)
}

/// [`load_and_compile`] with another file-size limit (tests, embedding).
pub fn load_and_compile_with_limit(
    path: &Path,
    max_file_bytes: usize,
) -> Result<(SourceSet, Compiled), LoadError> {
    let (sources, undecodable) = SourceSet::load_with_limit(path, max_file_bytes)?;
    let compiled = compile_loaded(&sources, undecodable);
    Ok((sources, compiled))
}

/// [`crate::compile`] of files loaded by the caller (from a git revision, say), with the
/// diagnostics of the files that could not be decoded merged in and sorted.
pub fn compile_loaded(sources: &SourceSet, undecodable: Vec<Undecodable>) -> Compiled {
    let mut diagnostics: Vec<Diagnostic> = undecodable.into_iter().map(Diagnostic::from).collect();
    let mut compiled = crate::compile(sources);
    diagnostics.append(&mut compiled.diagnostics);
    diagnostic::sort(&mut diagnostics);
    compiled.diagnostics = diagnostics;
    compiled
}

/// The snapshot of a compiled policy ([`crate::emit::emit`]). The caller decides whether its
/// diagnostics allow building it.
pub fn build(sources: &SourceSet, compiled: &Compiled) -> Snapshot {
    crate::emit::emit(&compiled.ir, sources)
}

/// Writes the snapshot of a compiled policy ([`build`], then `snapshot::format::write_with`)
/// without holding it whole: each space's entry is emitted as it is written and dropped after,
/// so a build's peak memory is the IR's plus one space's entry. The bytes are those of
/// writing [`build`]'s snapshot.
pub fn write_snapshot<W: std::io::Write + std::io::Seek>(
    sources: &SourceSet,
    compiled: &Compiled,
    format: Format,
    out: &mut W,
    sign: crate::snapshot::format::Sign<'_>,
) -> std::io::Result<()> {
    use crate::snapshot::format::write_streamed;
    let ir = &compiled.ir;
    let mut head = crate::emit::head(ir, sources);
    // With more than one thread to compile on (`RAYON_NUM_THREADS`), a JSON snapshot's
    // spaces are rendered beside this thread; YAML (not the build's hot path) streams here.
    if format == Format::Json && crate::pool().is_some_and(|p| p.current_num_threads() > 1) {
        return write_json_rendered(ir, &mut head, out, sign);
    }
    write_streamed(&mut head, crate::emit::spaces(ir), format, out, sign)
}

/// A space's entry rendered, with its index entry.
type Rendered = (Vec<u8>, crate::snapshot::IndexedSpace);

/// A JSON snapshot from two threads rendering alternate spaces (each space emitted and
/// serialised into a buffer of its thread's, reused once written) while this one writes and
/// hashes them in order.
pub(crate) fn write_json_rendered<W: std::io::Write + std::io::Seek>(
    ir: &crate::ir::Ir,
    head: &mut Snapshot,
    out: &mut W,
    sign: crate::snapshot::format::Sign<'_>,
) -> std::io::Result<()> {
    use crate::snapshot::IndexedSpace;
    use crate::snapshot::format::{render_space_entry, write_rendered_json};
    use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
    const RENDERERS: usize = 2;
    let n = ir.spaces.len();
    std::thread::scope(|scope| {
        let mut rendered: Vec<Receiver<std::io::Result<Rendered>>> = Vec::new();
        let mut returns: Vec<SyncSender<Vec<u8>>> = Vec::new();
        for k in 0..RENDERERS {
            let (entries, received) = sync_channel(1);
            let (give_back, buffers) = sync_channel::<Vec<u8>>(2);
            let renderer = std::thread::Builder::new()
                .name("charter-emit".to_owned())
                .stack_size(64 * 1024 * 1024)
                .spawn_scoped(scope, move || {
                    for i in (k..n).step_by(RENDERERS) {
                        let mut buf = buffers.try_recv().unwrap_or_default();
                        let entry = crate::emit::space_entry(ir, SpaceId(i as u32));
                        let result = render_space_entry(&entry, &mut buf)
                            .map(|()| (buf, IndexedSpace::of(&entry, [0, 0])));
                        drop(entry);
                        if entries.send(result).is_err() {
                            return;
                        }
                    }
                });
            if renderer.is_err() {
                return Err(std::io::Error::other(
                    "cannot start a thread to render the snapshot",
                ));
            }
            rendered.push(received);
            returns.push(give_back);
        }
        let in_order = (0..n).map(|i| {
            rendered[i % RENDERERS]
                .recv()
                .unwrap_or_else(|_| Err(std::io::Error::other("a snapshot renderer stopped")))
        });
        let mut next_back = 0usize;
        let give_back = |buf: Vec<u8>| {
            let _ = returns[next_back % RENDERERS].try_send(buf);
            next_back += 1;
        };
        write_rendered_json(head, in_order, give_back, out, sign)
    })
}

/// Whether a path names a snapshot: by its extension, whatever the file is (a pipe named
/// `s.json` is refused as a snapshot, unopened, not compiled as a policy); a directory is a
/// policy.
pub fn is_snapshot_path(path: &Path) -> bool {
    !path.is_dir() && Format::from_path(path).is_some()
}

/// Why there is no snapshot to query at a path.
#[derive(Debug)]
pub enum OpenError {
    /// The public key file cannot be read (the message names it).
    Key(String),
    Snapshot(format::LoadError),
    NotSigned(NotSigned),
    /// A public key was given for a policy, which has no signature to check.
    KeyForPolicy {
        key: PathBuf,
        policy: PathBuf,
    },
    Policy(LoadError),
    /// The policy has errors: they are here, sorted, for the caller to show.
    Errors {
        policy: PathBuf,
        sources: SourceSet,
        diagnostics: Vec<Diagnostic>,
    },
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Key(message) => f.write_str(message),
            OpenError::Snapshot(e) => e.fmt(f),
            OpenError::NotSigned(e) => e.fmt(f),
            OpenError::KeyForPolicy { key, policy } => write!(
                f,
                "`--verify-key {}` checks a snapshot's signature, and `{}` is a policy, not a snapshot",
                key.display(),
                policy.display()
            ),
            OpenError::Policy(e) => e.fmt(f),
            OpenError::Errors { policy, .. } => write!(
                f,
                "`{}` has errors, so it cannot be queried: fix them (`charter check`) first",
                policy.display()
            ),
        }
    }
}

/// A snapshot not signed by the public key it was checked against.
#[derive(Debug)]
pub struct NotSigned {
    pub snapshot: PathBuf,
    /// The public key file.
    pub key: PathBuf,
    /// The id of the key in that file.
    pub key_id: String,
    pub why: Unsigned,
}

impl std::fmt::Display for NotSigned {
    /// Why not, in one line naming both files.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (p, k) = (self.snapshot.display(), self.key.display());
        match &self.why {
            Unsigned::Missing => write!(
                f,
                "snapshot `{p}` is not signed, and `--verify-key {k}` requires its signature: build it with `--sign`"
            ),
            Unsigned::OtherKey(id) => write!(
                f,
                "snapshot `{p}` is signed by key `{id}`, not by `{k}` (key `{}`)",
                self.key_id
            ),
            Unsigned::BadSignature => write!(
                f,
                "snapshot `{p}` names the key of `{k}`, but its signature does not verify: it was not signed by that key"
            ),
        }
    }
}

/// Whether `public` (read from the file `key`) signed `snapshot` (read from `path`).
pub fn signed_by(
    path: &Path,
    snapshot: &Snapshot,
    public: &PublicKey,
    key: &Path,
) -> Result<(), NotSigned> {
    sign::check(snapshot, public).map_err(|why| NotSigned {
        snapshot: path.to_path_buf(),
        key: key.to_path_buf(),
        key_id: public.key_id(),
        why,
    })
}

/// Loads and validates a snapshot file ([`format::load`]) and, given a public key file,
/// refuses it unless that key signed it. The key is read first.
pub fn load_snapshot(path: &Path, verify_key: Option<&Path>) -> Result<Snapshot, OpenError> {
    load_snapshot_with(path, verify_key, true)
}

/// [`load_snapshot`], through the index of a JSON snapshot ([`read_by_index`]) or as text.
fn load_snapshot_with(
    path: &Path,
    verify_key: Option<&Path>,
    by_index: bool,
) -> Result<Snapshot, OpenError> {
    let public = verify_key
        .map(sign::load_public)
        .transpose()
        .map_err(OpenError::Key)?;
    let by_index = match by_index {
        true => read_by_index(path).map_err(OpenError::Snapshot)?,
        false => None,
    };
    let snapshot = match by_index {
        Some(snapshot) => snapshot,
        None => format::load(path).map_err(OpenError::Snapshot)?,
    };
    if let (Some(public), Some(key)) = (public, verify_key) {
        signed_by(path, &snapshot, &public, key).map_err(OpenError::NotSigned)?;
    }
    Ok(snapshot)
}

/// `ask` answered on the index of `path` ([`crate::query::Index::from_path`]). Of a JSON
/// snapshot only what the answer needs is read ([`crate::snapshot::lazy`]): its head and
/// index, then the spaces `ask` looked at, asked again with each until it looks at none it does
/// not have, while the whole file is hashed beside it (the answer is returned only once the
/// digest matches). Any other path, or a snapshot that is not as `build` writes it, is read
/// whole. `ask` may run more than once: it should only compute its answer.
pub fn with_index<R>(
    path: &Path,
    verify_key: Option<&Path>,
    mut ask: impl FnMut(&crate::query::Index) -> R,
) -> Result<R, OpenError> {
    if is_snapshot_path(path) && Format::from_path(path) == Some(Format::Json) {
        let public = verify_key
            .map(sign::load_public)
            .transpose()
            .map_err(OpenError::Key)?;
        let opened = crate::snapshot::lazy::open(path, format::MAX_SNAPSHOT_BYTES)
            .map_err(OpenError::Snapshot)?;
        if let Ok(mut partial) = opened {
            let signed = match (&public, verify_key) {
                (Some(public), Some(key)) => signed_by(path, &partial.snapshot, public, key),
                _ => Ok(()),
            };
            let answer = signed
                .map_err(OpenError::NotSigned)
                .and_then(|()| answer_in_part(path, &mut partial, &mut ask));
            // The digest decides first, as it does for a whole read.
            if partial.verified().map_err(OpenError::Snapshot)? {
                match answer {
                    Ok(Some(answer)) => return Ok(answer),
                    Ok(None) => {}
                    Err(e) => return Err(e),
                }
            }
            // Not as `build` writes it: read as text, not through the index again.
            let snapshot = load_snapshot_with(path, verify_key, false)?;
            return Ok(ask(&crate::query::Index::new(snapshot)));
        }
    }
    let index = crate::query::Index::from_path(path, verify_key)?;
    Ok(ask(&index))
}

/// [`with_index`] on a snapshot read in part; `None` when it is to be read whole.
fn answer_in_part<R>(
    path: &Path,
    partial: &mut crate::snapshot::lazy::Partial,
    ask: &mut impl FnMut(&crate::query::Index) -> R,
) -> Result<Option<R>, OpenError> {
    // A few rounds (a space, its upstream, the enterprise's spaces), then all the rest: a
    // chain of links read one by one would rebuild the index once per space.
    const ROUNDS: usize = 4;
    for round in 0.. {
        let snapshot = std::mem::take(&mut partial.snapshot);
        let read = partial.read.clone();
        if let Err(e) = crate::snapshot::validate::validate_partial(&snapshot, |i| read[i]) {
            return Err(OpenError::Snapshot(format::LoadError::Invalid(
                path.to_path_buf(),
                e,
            )));
        }
        let index = crate::query::Index::new_partial(snapshot, read);
        let answer = ask(&index);
        let mut asked = index.asked_unread();
        partial.snapshot = index.into_parts().0;
        if asked.is_empty() {
            return Ok(Some(answer));
        }
        if round == 0 {
            // The first space looked at is the one the question names; what the answer made of
            // its shell looked at next (everywhere, for a member it did not find) is not worth
            // reading until the answer has the space itself.
            asked.truncate(1);
        } else if round + 1 >= ROUNDS {
            asked = (0..partial.read.len() as u32).collect();
        }
        if partial.read(&asked).is_err() {
            return Ok(None);
        }
    }
    Ok(None)
}

/// A JSON snapshot read whole through its index ([`crate::snapshot::lazy`]): its spaces parsed
/// on the compile pool's threads while another hashes the file, then validated; `None` when it
/// is not as `build` writes it (read it as text then, [`format::load`]).
pub fn read_by_index(path: &Path) -> Result<Option<Snapshot>, format::LoadError> {
    if Format::from_path(path) != Some(Format::Json) {
        return Ok(None);
    }
    let Ok(mut partial) = crate::snapshot::lazy::open(path, format::MAX_SNAPSHOT_BYTES)? else {
        return Ok(None);
    };
    let all: Vec<u32> = (0..partial.read.len() as u32).collect();
    let read = partial.read(&all);
    // The digest decides first, as it does for a read of the text.
    if !partial.verified()? || read.is_err() {
        return Ok(None);
    }
    let snapshot = partial.into_snapshot();
    crate::snapshot::validate::validate(&snapshot)
        .map_err(|e| format::LoadError::Invalid(path.to_path_buf(), e))?;
    Ok(Some(snapshot))
}

/// What a query runs on: the snapshot at `path` ([`load_snapshot`]), or the policy there
/// compiled and built in memory, if it has no errors. With a public key, the path must be a
/// snapshot signed by it.
pub fn open_snapshot(path: &Path, verify_key: Option<&Path>) -> Result<Snapshot, OpenError> {
    if is_snapshot_path(path) {
        return load_snapshot(path, verify_key);
    }
    if let Some(key) = verify_key {
        return Err(OpenError::KeyForPolicy {
            key: key.to_path_buf(),
            policy: path.to_path_buf(),
        });
    }
    let (sources, compiled) = load_and_compile(path).map_err(OpenError::Policy)?;
    if diagnostic::counts(&compiled.diagnostics).0 > 0 {
        return Err(OpenError::Errors {
            policy: path.to_path_buf(),
            sources,
            diagnostics: compiled.diagnostics,
        });
    }
    Ok(build(&sources, &compiled))
}
