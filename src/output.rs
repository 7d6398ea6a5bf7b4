//! Writing output files atomically: a temporary file in the target's directory, fsynced, then
//! renamed over the target. A failure at any point leaves the old file (or no file) intact.

use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |w| w.write_all(contents))
}

/// Writes to `path` atomically what `fill` writes (buffered), so large outputs are streamed.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".charter-").suffix(".tmp");
    // tempfile creates private (0600) files; the output is an ordinary file: keep the
    // permissions of the file it replaces, or use the default (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(match std::fs::metadata(path) {
        Ok(meta) => meta.permissions(),
        Err(_) => std::os::unix::fs::PermissionsExt::from_mode(0o666),
    });
    let mut tmp = builder.tempfile_in(dir)?;
    {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        fill(&mut buffered)?;
        buffered.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
