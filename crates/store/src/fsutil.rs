//! Crash-safe file writing: temporary file in the target directory, fsync, rename, fsync dir.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::StoreError;

/// Permissions for archive files that are not secret (manifests, objects, public keys,
/// configuration): readable by all, as evidence is meant to be checked by others.
pub fn public_file_permissions() -> std::fs::Permissions {
    // exhibit targets Unix: key files are guarded by Unix permission bits too.
    use std::os::unix::fs::PermissionsExt;
    std::fs::Permissions::from_mode(0o644)
}

/// The directory holding `path`: its parent, or `.` for a bare file name.
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory so that renames and creations inside it are durable.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Creates `dir` and its parents; returns whether anything was created.
pub fn ensure_dir(dir: &Path) -> Result<bool, StoreError> {
    Ok(!create_dirs(dir)?.is_empty())
}

/// Creates `dir` and any missing parents and returns the directories whose entries changed
/// (the parent of every directory created), which must be fsynced for the new directories to be
/// durable.
pub fn create_dirs(dir: &Path) -> Result<Vec<std::path::PathBuf>, StoreError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    if missing.is_empty() {
        return Ok(missing);
    }
    std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    Ok(missing
        .iter()
        .map(|d| parent_dir(d).to_path_buf())
        .collect())
}

/// Whether [`sync_filesystem`] can make a group of unsynced writes durable at once (Linux's
/// `syncfs`). Elsewhere every file is fsynced as it is written.
pub const GROUP_SYNC: bool = cfg!(target_os = "linux");

/// Flushes every dirty file, directory entry and journal of the filesystem holding `path` to
/// stable storage (Linux `syncfs(2)`): one call makes durable all the unsynced writes and
/// renames made before it, instead of one fsync per file. Elsewhere it fsyncs `path` only, and
/// callers rely on per-file fsyncs ([`GROUP_SYNC`] is false).
pub fn sync_filesystem(path: &Path) -> Result<(), StoreError> {
    let dir = File::open(path).map_err(|e| StoreError::io(path, e))?;
    #[cfg(target_os = "linux")]
    {
        rustix::fs::syncfs(&dir).map_err(|e| StoreError::io(path, e.into()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        dir.sync_all().map_err(|e| StoreError::io(path, e))
    }
}

/// Creates `path` (never replacing a file: an existing one is an `AlreadyExists` error) and
/// writes `bytes` to it, without fsyncs and without a temporary file: for files that nothing
/// names until the caller has made them durable with [`sync_filesystem`] and then committed
/// a record naming them (a batch's manifests and signatures). A rename would not make such a
/// file any safer: unsynced, it may be missing, empty or cut short after a crash either way,
/// and that is what readers and `fsck --repair` already expect of an uncommitted file
/// (docs/FORMAT.md §8). A failed write removes the file; a killed process may leave a part.
pub fn write_new_unsynced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    if let Err(e) = file.write_all(bytes) {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(StoreError::io(path, e));
    }
    Ok(())
}

/// A fsynced temporary file holding `bytes`, in the directory of `path`.
fn synced_temp(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, StoreError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(public_file_permissions())
        .tempfile_in(dir)
        .map_err(|e| StoreError::io(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| StoreError::io(tmp.path(), e))?;
    Ok(tmp)
}

/// Writes `bytes` to `path` atomically: a reader sees the old file or the complete new one,
/// never a part. The file's data is fsynced before the rename; the directory entry is durable
/// only after [`sync_dir`] on the parent, which the caller may defer to group fsyncs.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    synced_temp(path, bytes)?
        .persist(path)
        .map_err(|e| StoreError::io(path, e.error))?;
    Ok(())
}

/// Like [`write_atomic`], but fails if `path` already exists (it is never replaced).
pub fn write_atomic_new(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    synced_temp(path, bytes)?
        .persist_noclobber(path)
        .map_err(|e| StoreError::io(path, e.error))?;
    Ok(())
}

/// Creates `path` crash-safely from what `fill` writes: a temporary file in the same directory,
/// flushed, fsynced, then linked into place (never replacing an existing file) and the
/// directory fsynced. If `fill` fails, nothing is left behind.
pub fn create_file_with<T, E: From<StoreError>>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<T, E>,
) -> Result<T, E> {
    let dir = parent_dir(path);
    if path.exists() {
        return Err(StoreError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; not replacing it",
            ),
        )
        .into());
    }
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(public_file_permissions())
        .tempfile_in(dir)
        .map_err(|e| StoreError::io(dir, e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 17, tmp);
    let value = fill(&mut out)?;
    let tmp = out
        .into_inner()
        .map_err(|e| StoreError::io(path, e.into_error()))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| StoreError::io(tmp.path(), e))?;
    tmp.persist_noclobber(path)
        .map_err(|e| StoreError::io(path, e.error))?;
    sync_dir(dir)?;
    Ok(value)
}

/// Like [`write_atomic`], then fsyncs the directory at once.
pub fn write_atomic_durable(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomic(path, bytes)?;
    sync_dir(parent_dir(path))
}

/// Opens a file for reading, refusing anything larger than `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| StoreError::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(StoreError::Corrupt {
            what: path.display().to_string(),
            message: format!("larger than the {limit}-byte limit"),
        });
    }
    Ok(buf)
}
