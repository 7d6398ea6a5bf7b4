//! Writing output files atomically: a temporary file in the target's directory, fsynced, then
//! renamed over the target. A failure at any point leaves the old file (or no file) intact.
//!
//! A symbolic link is written through: the file it leads to is replaced (the temporary file is
//! made next to it), and the link stays a link. Renaming over the link itself would turn it
//! into a regular file, silently detaching whatever else points at its target.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(contents))
}

/// Writes to `path` atomically what `fill` writes into the (temporary) file; `fill` may seek
/// and should buffer its own writes.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    replace(path, fill, || Ok(true)).map(|_| ())
}

/// Writes `contents` to `path` atomically if `unchanged` still answers yes once the new file is
/// complete and synced, just before the rename (the narrowest window there is without locks);
/// returns whether it wrote. `fmt` uses it so that an edit made while it ran is not lost.
pub fn write_atomic_if(
    path: &Path,
    contents: &[u8],
    unchanged: impl FnOnce() -> std::io::Result<bool>,
) -> std::io::Result<bool> {
    replace(path, |f| f.write_all(contents), unchanged)
}

fn replace(
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
    unchanged: impl FnOnce() -> std::io::Result<bool>,
) -> std::io::Result<bool> {
    let target = follow_links(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(meta) if !meta.is_file() => {
            // A directory, a device or a pipe cannot be replaced by renaming a file over it.
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".charter-").suffix(".tmp");
    // tempfile creates private (0600) files; the output is an ordinary file: keep the
    // permissions of the file it replaces, or use the default (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(match existing {
        Some(meta) => meta.permissions(),
        None => std::os::unix::fs::PermissionsExt::from_mode(0o666),
    });
    #[cfg(not(unix))]
    let _ = existing;
    let mut tmp = builder.tempfile_in(dir)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    if !unchanged()? {
        // Dropping the temporary file removes it.
        return Ok(false);
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(true)
}

/// The file `path` leads to after following symbolic links: `path` itself when it is not a
/// link, else the canonical target (or, for a link to a file not created yet, the path it
/// names).
fn follow_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // The same bound as the kernel's (ELOOP); a cycle of links cannot loop here.
    for hops in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                // A relative target is relative to the link's folder; `join` keeps an
                // absolute one as it is.
                current = match current.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
            }
            Ok(_) if hops == 0 => return Ok(current),
            Ok(_) => return std::fs::canonicalize(&current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_mid_way_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snapshot.json");
        std::fs::write(&path, "old contents").unwrap();
        let result = write_atomic_with(&path, |f| {
            f.write_all(b"half of the new")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(result.is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old contents");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "temporary file removed: {names:?}");
        write_atomic(&path, b"new contents").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new contents");
    }

    #[test]
    fn nothing_is_written_when_the_file_changed_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.charter");
        std::fs::write(&path, "edited by someone else").unwrap();
        let written = write_atomic_if(&path, b"formatted", || Ok(false)).unwrap();
        assert!(!written);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "edited by someone else"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_atomic_if(&path, b"formatted", || Ok(true)).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "formatted");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/snapshot.json");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("snapshot.json");
        std::os::unix::fs::symlink("real/snapshot.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        // The temporary file was made next to the target, and is gone.
        assert_eq!(
            std::fs::read_dir(dir.path().join("real")).unwrap().count(),
            1
        );
        // A link to a file not created yet creates it.
        let dangling = dir.path().join("later.json");
        std::os::unix::fs::symlink("real/later.json", &dangling).unwrap();
        write_atomic(&dangling, b"made").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("real/later.json")).unwrap(),
            "made"
        );
    }
}
