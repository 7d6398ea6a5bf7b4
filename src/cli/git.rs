//! `REV:PATH` for `charter diff`: the `.charter` files of PATH at a git revision, read through
//! `git` by the working-tree loader's rules (names, hidden files, links inside the root, the
//! size limit), then compiled.
//!
//! This is command-line plumbing, not a loader of the library: it runs a program, and the only
//! command that reads git is `diff`. What it shares with `source` (the name rules, the size
//! limit, decoding, link problems) it calls there.

use std::io::Write;
use std::path::Path;

use charter::diagnostic;
use charter::source::SourceSet;

use super::output::{fail, print_errors};

/// Reads the `.charter` files of PATH at revision REV by the working-tree loader's rules and
/// compiles them. PATH is read as git reads it: from the repository root, or from the current
/// directory when it starts with `./` or `../` (git resolves `REV:./PATH` itself).
pub(crate) fn load(rev: &str, path: &str) -> Result<charter::snapshot::Snapshot, u8> {
    use charter::source::{FileContents, LoadError, MAX_FILE_BYTES, is_charter_name, is_hidden};
    let spec = format!("{rev}:{path}");
    let cannot = |cause: String| fail(format_args!("cannot read `{spec}` from git: {cause}"));
    if rev.starts_with('-') {
        // Not a revision but an option to git.
        return Err(fail(format_args!("`{rev}` is not a git revision")));
    }
    // The repository first: outside one, that is the cause, not the revision.
    git(&["rev-parse", "--git-dir"], None).map_err(cannot)?;
    git(
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
        None,
    )
    .map_err(|_| fail(format_args!("unknown git revision `{rev}`")))?;
    // git reads a bare `.` or `..` as a name in the root tree; they can only mean the folder.
    let path = match path {
        "." => "./",
        ".." => "../",
        p => p,
    };
    let object = format!("{rev}:{path}");
    let kind = git(&["cat-file", "-t", &object], None).map_err(cannot)?;
    // A single file is loaded from its folder's listing, which is also the root its links may
    // not leave, as on the file system.
    let (tree, single) = if kind.trim_ascii() == b"tree" {
        (object, None)
    } else {
        let (dir, file) = match path.rsplit_once('/') {
            Some((dir, file)) => (format!("{dir}/"), file),
            None => (String::new(), path),
        };
        if !is_charter_name(Path::new(file)) {
            return Err(fail(LoadError::NotCharter(spec.into())));
        }
        (format!("{rev}:{dir}"), Some(file.as_bytes()))
    };
    // `--full-tree`: below the repository root, ls-tree would list only what lies under the
    // current directory. `-z`: names exactly as stored, without quoting.
    let listing = git(
        &["ls-tree", "-r", "-t", "-z", "--long", "--full-tree", &tree],
        None,
    )
    .map_err(cannot)?;
    let entries = git_entries(&listing);
    let by_name: std::collections::HashMap<&[u8], &GitEntry> =
        entries.iter().map(|e| (e.name.as_slice(), e)).collect();

    // The root as the user would write it: names are shown below it, as git would name them.
    let shown_root = tree.trim_end_matches('/').to_owned();
    let shown = |name: &[u8]| match single {
        Some(_) => spec.clone(),
        None if shown_root.ends_with(':') => {
            format!("{shown_root}{}", String::from_utf8_lossy(name))
        }
        None => format!("{shown_root}/{}", String::from_utf8_lossy(name)),
    };
    let selected: Vec<&GitEntry> = entries
        .iter()
        .filter(|e| matches!(e.kind, GitKind::File | GitKind::Link))
        .filter(|e| match single {
            Some(file) => e.name == file,
            None => {
                let p = git_path(&e.name);
                is_charter_name(&p) && !p.components().any(|c| is_hidden(c.as_os_str()))
            }
        })
        .collect();
    if selected.is_empty() {
        return Err(fail(format_args!("no `.charter` files found in `{spec}`")));
    }

    let link_oids: Vec<&str> = entries
        .iter()
        .filter(|e| e.kind == GitKind::Link)
        .map(|e| e.oid.as_str())
        .collect();
    let link_targets = git_blobs(&link_oids).map_err(cannot)?;
    let links: std::collections::HashMap<&[u8], Vec<u8>> = entries
        .iter()
        .filter(|e| e.kind == GitKind::Link)
        .map(|e| e.name.as_slice())
        .zip(link_targets)
        .collect();
    // Each selected name and the file it reads; as on the file system, a file reached twice is
    // read once, under its own name when it is selected itself.
    let mut chosen: std::collections::BTreeMap<Vec<u8>, (&[u8], bool)> = Default::default();
    for e in &selected {
        let (target, link) = match e.kind {
            GitKind::Link => match git_follow(&by_name, &links, &e.name, &shown_root) {
                Ok(target) => (target, true),
                Err(problem) => return Err(fail(LoadError::Link(shown(&e.name).into(), problem))),
            },
            _ => (e.name.clone(), false),
        };
        let slot = chosen.entry(target).or_insert((&e.name, link));
        if slot.1 && !link {
            *slot = (&e.name, false);
        }
    }
    let mut files: Vec<(&[u8], &GitEntry)> = chosen
        .iter()
        .filter_map(|(target, (name, _))| Some((*name, *by_name.get(target.as_slice())?)))
        .collect();
    // In path order, as the working-tree loader sorts.
    files.sort_by_cached_key(|(name, _)| git_path(name));

    // Oversized blobs are not fetched, as oversized files are not read.
    let fits = |e: &GitEntry| e.size.is_none_or(|s| s <= MAX_FILE_BYTES as u64);
    let wanted: Vec<&str> = files
        .iter()
        .filter(|(_, e)| fits(e))
        .map(|(_, e)| e.oid.as_str())
        .collect();
    let mut blobs = git_blobs(&wanted).map_err(cannot)?.into_iter();
    let mut sources = SourceSet::default();
    let mut problems = Vec::new();
    for (name, entry) in files {
        let contents = match entry.size {
            Some(size) if !fits(entry) => FileContents::TooLarge(Some(size)),
            _ => FileContents::Bytes(blobs.next().unwrap_or_default()),
        };
        let relative = match single {
            Some(file) => String::from_utf8_lossy(file).into_owned(),
            None => String::from_utf8_lossy(name).into_owned(),
        };
        let shown = shown(name);
        problems.extend(sources.add_contents(
            shown.clone(),
            relative,
            shown.into(),
            contents,
            MAX_FILE_BYTES,
        ));
    }
    let mut compiled = charter::compile_loaded(&sources, problems);
    // Sorted already; warnings do not keep a version from being compared.
    let mut errors = std::mem::take(&mut compiled.diagnostics);
    errors.retain(|d| d.severity == diagnostic::Severity::Error);
    if !errors.is_empty() {
        print_errors(&sources, &errors);
        return Err(fail(format_args!(
            "the policy at `{spec}` has errors, so it cannot be compared"
        )));
    }
    Ok(charter::build(&sources, &compiled))
}

/// Runs git with `args` (and `input` on its standard input); on failure, the cause: the first
/// line git printed, without its `fatal: ` prefix (never the command line).
fn git(args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    use std::process::{Command, Stdio};
    let spawned = Command::new("git")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = spawned.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "`git` is not installed or not on PATH; it is needed to read `REV:PATH`".to_owned()
        } else {
            format!("cannot run git: {e}")
        }
    })?;
    // Fed from a thread: git answers while it reads, and a full output pipe would otherwise
    // stop both sides.
    let feeder = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || {
            // A write error shows as git's own failure below.
            let _ = stdin.write_all(&input);
        })),
        _ => None,
    };
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let first = said.lines().map(str::trim).find(|l| !l.is_empty());
        let first = first.unwrap_or("git failed");
        let cause = ["fatal: ", "error: "]
            .iter()
            .find_map(|p| first.strip_prefix(p))
            .unwrap_or(first);
        return Err(cause.to_owned());
    }
    Ok(out.stdout)
}

/// One entry of `git ls-tree -r -t -z --long`: a name relative to the listed tree, in bytes.
struct GitEntry {
    kind: GitKind,
    oid: String,
    size: Option<u64>,
    name: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GitKind {
    File,
    Link,
    Tree,
    /// A submodule: its files are not in this repository.
    Commit,
}

/// Parses NUL-separated `ls-tree --long` output (`MODE TYPE OID SIZE\tNAME`, names unquoted).
fn git_entries(listing: &[u8]) -> Vec<GitEntry> {
    let mut entries = Vec::new();
    for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = record.iter().position(|b| *b == b'\t') else {
            continue;
        };
        let meta = String::from_utf8_lossy(&record[..tab]);
        let mut fields = meta.split_ascii_whitespace();
        let (Some(mode), Some(_), Some(oid), size) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let kind = match mode {
            "120000" => GitKind::Link,
            "040000" => GitKind::Tree,
            "160000" => GitKind::Commit,
            _ => GitKind::File,
        };
        entries.push(GitEntry {
            kind,
            oid: oid.to_owned(),
            size: size.and_then(|s| s.parse().ok()),
            name: record[tab + 1..].to_vec(),
        });
    }
    entries
}

/// The contents of blobs, by object id, in order: one `git cat-file --batch`, so that no file
/// name reaches git's command line (a name starting with `-`, or holding quotes or newlines,
/// is just data here).
fn git_blobs(oids: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let input: String = oids.iter().map(|o| format!("{o}\n")).collect();
    let out = git(&["cat-file", "--batch"], Some(input.into_bytes()))?;
    // Each answer: `OID TYPE SIZE\n`, SIZE bytes, `\n`.
    let mut rest = out.as_slice();
    let mut blobs = Vec::with_capacity(oids.len());
    for oid in oids {
        let broken = || format!("unexpected answer from `git cat-file` for object {oid}");
        let end = rest.iter().position(|b| *b == b'\n').ok_or_else(broken)?;
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(broken)?;
        let body = rest.get(end + 1..end + 1 + size).ok_or_else(broken)?;
        blobs.push(body.to_vec());
        rest = rest.get(end + 2 + size..).unwrap_or_default();
    }
    Ok(blobs)
}

/// A name from git as a path (exact bytes on unix), for the loader's name rules.
fn git_path(name: &[u8]) -> std::path::PathBuf {
    #[cfg(unix)]
    {
        std::path::PathBuf::from(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name),
        )
    }
    #[cfg(not(unix))]
    {
        std::path::PathBuf::from(String::from_utf8_lossy(name).into_owned())
    }
}

/// Follows a symbolic link of the listed tree as the working-tree loader does: to a regular
/// file inside the tree (the policy root, shown as `root`), or not at all. `links` holds every
/// link's target.
fn git_follow(
    entries: &std::collections::HashMap<&[u8], &GitEntry>,
    links: &std::collections::HashMap<&[u8], Vec<u8>>,
    link: &[u8],
    root: &str,
) -> Result<Vec<u8>, charter::source::LinkProblem> {
    use charter::source::LinkProblem;
    let outside = || LinkProblem::Outside(root.into());
    let mut resolved: Vec<&[u8]> = link.split(|b| *b == b'/').collect();
    resolved.pop();
    let mut pending: std::collections::VecDeque<&[u8]> = links
        .get(link)
        .map(|t| t.as_slice())
        .unwrap_or_default()
        .split(|b| *b == b'/')
        .collect();
    if links.get(link).is_some_and(|t| t.starts_with(b"/")) {
        // An absolute target names a file of the machine, not of the revision.
        return Err(outside());
    }
    let mut hops = 1;
    let mut last = None;
    while let Some(part) = pending.pop_front() {
        match part {
            b"" | b"." => continue,
            b".." => {
                if resolved.pop().is_none() {
                    return Err(outside());
                }
                last = None;
                continue;
            }
            _ => resolved.push(part),
        }
        let name = resolved.join(&b'/');
        let Some(entry) = entries.get(name.as_slice()) else {
            return Err(LinkProblem::Broken);
        };
        match entry.kind {
            GitKind::Link => {
                hops += 1;
                // The kernel's bound (ELOOP): a cycle of links is a broken link.
                let target = links.get(name.as_slice()).filter(|_| hops <= 40);
                let Some(target) = target else {
                    return Err(LinkProblem::Broken);
                };
                if target.starts_with(b"/") {
                    return Err(outside());
                }
                resolved.pop();
                for part in target.split(|b| *b == b'/').rev() {
                    pending.push_front(part);
                }
                last = None;
            }
            GitKind::File if pending.iter().any(|p| !p.is_empty() && *p != b".") => {
                return Err(LinkProblem::Broken);
            }
            kind => last = Some((name, kind)),
        }
    }
    match last {
        Some((name, GitKind::File)) => Ok(name),
        _ => Err(LinkProblem::NotRegular),
    }
}
