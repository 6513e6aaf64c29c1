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
    open_dir(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Opens a directory (`O_DIRECTORY`: a FIFO or file there is an error, never a hang), links
/// followed: for `fsync`, or to open the files below it with [`open_regular_at`].
pub fn open_dir(dir: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_DIRECTORY | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(dir)
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
    let dir = open_dir(path).map_err(|e| StoreError::io(path, e))?;
    #[cfg(target_os = "linux")]
    {
        nix::unistd::syncfs(&dir).map_err(|e| StoreError::io(path, e.into()))
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
        .prefix(crate::layout::TEMP_PREFIX)
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
        .prefix(crate::layout::TEMP_PREFIX)
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

/// Whether `path` is a regular file itself (not a link to one, not a FIFO): what an object,
/// manifest or checkpoint address must hold to count as present.
pub fn is_regular_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// Whether [`open_for_reading`] follows a symbolic link at the path's last component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// Refuse it (`O_NOFOLLOW`): for every file inside an archive, where exhibit never makes
    /// links, so a link there points somewhere nobody vouched for.
    Refuse,
    /// Follow it: for files the user names (a key given with `init --key`, say).
    Follow,
}

/// What kind of file `t` is, in English (`a FIFO`, `a socket`, …).
pub fn file_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Opens an archive file for reading — the one way every archive file (objects, manifests,
/// signatures, checkpoints, tokens, leaves, keys) is opened for reading. It never blocks and
/// never reads anything but a regular file: the file is opened with `O_NONBLOCK` (so a FIFO
/// does not wait for a writer) and, with [`Links::Refuse`], `O_NOFOLLOW`; then `fstat` on the
/// open descriptor must say it is a regular file. A FIFO, socket, device, directory or link is
/// an error saying what it is (`InvalidInput`), before a byte is read. (Directories on the way
/// may be links: an archive may keep `objects/` elsewhere.)
pub fn open_for_reading(path: &Path, links: Links) -> std::io::Result<File> {
    open_regular(path, links).map(|(file, _)| file)
}

/// [`open_for_reading`], with the metadata its `fstat` got (so that callers need not ask
/// again: a file's length sizes the buffer it is read into).
pub fn open_regular(path: &Path, links: Links) -> std::io::Result<(File, std::fs::Metadata)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC;
    if links == Links::Refuse {
        flags |= nix::libc::O_NOFOLLOW;
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(f) => f,
        // O_NOFOLLOW on a link: ELOOP (Linux, macOS); some systems say EMLINK or EFTYPE.
        Err(e) if links == Links::Refuse && is_link(path) => {
            let _ = e;
            return Err(not_regular("a symbolic link (not followed)"));
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(file_kind(meta.file_type())));
    }
    Ok((file, meta))
}

/// [`open_regular`] of `rel`, a path relative to the open directory `dir` (as
/// [`open_dir`] opens one): the same flags, checks and errors, but the kernel walks only
/// `rel`, not the directory's own path again (fsck opens thousands of files below one root).
pub fn open_regular_at(
    dir: &File,
    rel: &Path,
    links: Links,
) -> std::io::Result<(File, std::fs::Metadata)> {
    use nix::fcntl::OFlag;
    let mut flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    if links == Links::Refuse {
        flags |= OFlag::O_NOFOLLOW;
    }
    let file = match nix::fcntl::openat(dir, rel, flags, nix::sys::stat::Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(_) if links == Links::Refuse && is_link_at(dir, rel) => {
            return Err(not_regular("a symbolic link (not followed)"));
        }
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(file_kind(meta.file_type())));
    }
    Ok((file, meta))
}

/// [`is_link`] of `rel` below the open directory `dir`.
fn is_link_at(dir: &File, rel: &Path) -> bool {
    use nix::fcntl::AtFlags;
    use nix::sys::stat::{SFlag, fstatat};
    fstatat(dir, rel, AtFlags::AT_SYMLINK_NOFOLLOW)
        .is_ok_and(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK)
}

pub(crate) fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

pub(crate) fn not_regular(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("is {what}, not a regular file; not read"),
    )
}

/// Opens an existing archive file for writing in place (`log/leaves`), as
/// [`open_for_reading`] does: never through a link at its last component, never a FIFO,
/// socket or device. With `create`, a missing file is created (mode 0644).
pub fn open_for_writing(path: &Path, create: bool) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(_) if is_link(path) => return Err(not_regular("a symbolic link (not followed)")),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(file_kind(meta.file_type())));
    }
    Ok(file)
}

/// Reads a whole archive file of at most `limit` bytes through [`open_for_reading`] (links
/// refused): never blocks, never follows a link at the last component.
pub fn read_in_archive(path: &Path, limit: u64) -> Result<Vec<u8>, StoreError> {
    let (file, meta) = open_regular(path, Links::Refuse).map_err(|e| StoreError::io(path, e))?;
    read_file_limited(path, file, meta.len(), limit)
}

/// Reads `file` (of `len` bytes when it was opened) whole, refusing more than `limit` bytes.
fn read_file_limited(path: &Path, file: File, len: u64, limit: u64) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let len = len.min(limit);
    let mut buf = Vec::with_capacity(len as usize + 1);
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

/// Opens a file for reading, refusing anything larger than `limit` bytes. For files the user
/// names (links followed; a pipe such as `<(…)` is read); archive files are read with
/// [`read_in_archive`].
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, StoreError> {
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let len = file.metadata().map_or(0, |m| m.len());
    read_file_limited(path, file, len, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_for_reading_refuses_fifos_links_and_directories_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let file = dir.path().join("file");
        std::fs::write(&file, b"bytes").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let fifo_link = dir.path().join("fifo-link");
        std::os::unix::fs::symlink(&fifo, &fifo_link).unwrap();

        assert_eq!(read_in_archive(&file, 10).unwrap(), b"bytes");
        let refused = |path: &Path, links: Links, what: &str| {
            let e = open_for_reading(path, links).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().contains(what), "{e}");
        };
        refused(&fifo, Links::Refuse, "a FIFO");
        refused(&fifo, Links::Follow, "a FIFO");
        refused(&fifo_link, Links::Refuse, "a symbolic link");
        refused(&fifo_link, Links::Follow, "a FIFO");
        refused(&link, Links::Refuse, "a symbolic link");
        refused(dir.path(), Links::Refuse, "a directory");
        assert!(open_for_reading(&link, Links::Follow).is_ok());
        // The same, relative to an open directory.
        let root = open_dir(dir.path()).unwrap();
        let refused_at = |rel: &str, links: Links, what: &str| {
            let e = open_regular_at(&root, Path::new(rel), links).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().contains(what), "{e}");
        };
        refused_at("fifo", Links::Refuse, "a FIFO");
        refused_at("fifo", Links::Follow, "a FIFO");
        refused_at("fifo-link", Links::Refuse, "a symbolic link");
        refused_at("fifo-link", Links::Follow, "a FIFO");
        refused_at(".", Links::Refuse, "a directory");
        let (mut f, meta) = open_regular_at(&root, Path::new("file"), Links::Refuse).unwrap();
        assert_eq!(meta.len(), 5);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f, &mut s).unwrap();
        assert_eq!(s, "bytes");
        let e = open_regular_at(&root, Path::new("absent"), Links::Refuse).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        let e = read_in_archive(&fifo, 10).unwrap_err().to_string();
        assert!(e.contains("fifo") && e.contains("is a FIFO"), "{e}");
        // Writing and locking: the same refusals, never a wait for a reader.
        assert!(open_for_writing(&fifo, false).is_err());
        assert!(open_for_writing(&link, false).is_err());
        assert!(crate::locks::open_lock_file(&fifo).is_err());
        assert!(crate::locks::open_lock_file(&link).is_err());
        assert_eq!(std::fs::read(&file).unwrap(), b"bytes");
    }
}
