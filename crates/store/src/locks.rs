//! Every file lock exhibit takes on an archive, and the one way each is taken.
//!
//! - **catalog** ([`CATALOG_LOCK`]): held *shared* by every process that has the catalog open,
//!   for as long as it is open; *exclusively*, without waiting, by `reindex` until the new
//!   catalog is in place.
//! - **writers** ([`WRITERS_LOCK`]): held *shared* by every process that writes or
//!   deduplicates objects, from its first object on; *exclusively*, without waiting, by
//!   `fsck --repair` while it removes orphan objects.
//! - **document** ([`DOCUMENTS_LOCK`], one byte per document; elsewhere than Linux a file per
//!   document): held *exclusively*, waiting, by a capture from acquisition to commit, and by
//!   `update_config` under the key [`CONFIGURATION_LOCK`].
//!
//! Whole-file locks are `flock(2)` locks taken through std's `File::lock`, `lock_shared` and
//! `try_lock`; per-document locks on Linux are open-file-description byte-range locks
//! (`F_OFD_SETLKW`) through `nix`, the one syscall crate of this module. Every lock dies with
//! the descriptor that holds it (and so with its process). What is locked and why is described
//! in docs/FORMAT.md §7.1 and §8.
//!
//! What this module is not for: the catalog's write lock, which is SQLite's own (`BEGIN
//! IMMEDIATE`); and lock file *names*, which are in [`crate::layout`].

use std::fs::File;
use std::path::{Path, PathBuf};

pub use crate::layout::{CATALOG_LOCK, DOCUMENTS_LOCK, WRITERS_LOCK};
use crate::{StoreError, fsutil, layout};

/// The key under which [`DocumentLocks::lock`] serialises edits of the archive's configuration
/// (`exhibit.toml`): no document URL looks like it.
pub const CONFIGURATION_LOCK: &str = "exhibit:configuration";

/// Opens (creating it if needed, mode 0644) a lock file for `flock`/`fcntl` locks, the way
/// every archive file is opened for writing ([`fsutil::open_for_writing`]): a FIFO or link
/// placed there makes this an error, never a hang.
pub fn open_lock_file(path: &Path) -> std::io::Result<File> {
    fsutil::open_for_writing(path, true)
}

/// Takes per-document capture locks: a capture holds its document's lock from acquisition to
/// commit, so that captures of one document, in any process or thread, are recorded in the
/// order they were acquired.
///
/// On Linux every document locks one byte of a single file, `locks/documents.lock`, at an
/// offset taken from the SHA-256 of its URL (an open-file-description lock, `F_OFD_SETLKW`:
/// it conflicts between threads and processes alike, waits, and is released when the lock is
/// dropped or the process dies) — so capturing a new document creates no file. Elsewhere each
/// document has its own `locks/<hash of the URL>.lock`, locked with `flock`.
#[derive(Clone, Debug)]
pub struct DocumentLocks {
    root: PathBuf,
}

/// A held document lock (see [`DocumentLocks`]); released when dropped.
#[derive(Debug)]
pub struct DocumentLock {
    _file: File,
}

impl DocumentLocks {
    /// The document locks of the archive at `root`.
    pub fn for_archive(root: &Path) -> DocumentLocks {
        DocumentLocks {
            root: root.to_path_buf(),
        }
    }

    /// Waits for and takes the lock of the document `url`.
    pub fn lock(&self, url: &str) -> Result<DocumentLock, StoreError> {
        let dir = self.root.join(layout::LOCKS_DIR);
        #[cfg(target_os = "linux")]
        {
            use nix::libc;
            let path = self.root.join(DOCUMENTS_LOCK);
            let file = match open_lock_file(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    fsutil::ensure_dir(&dir)?;
                    open_lock_file(&path).map_err(|e| StoreError::io(&path, e))?
                }
                Err(e) => return Err(StoreError::io(&path, e)),
            };
            let lock = libc::flock {
                l_type: libc::F_WRLCK as libc::c_short,
                l_whence: libc::SEEK_SET as libc::c_short,
                l_start: layout::document_lock_offset(url) as libc::off_t,
                l_len: 1,
                l_pid: 0,
            };
            loop {
                match nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_OFD_SETLKW(&lock)) {
                    Ok(_) => return Ok(DocumentLock { _file: file }),
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(StoreError::io(&path, e.into())),
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            fsutil::ensure_dir(&dir)?;
            let path = self.root.join(layout::document_lock_path(url));
            let file = open_lock_file(&path).map_err(|e| StoreError::io(&path, e))?;
            file.lock().map_err(|e| StoreError::io(&path, e))?;
            Ok(DocumentLock { _file: file })
        }
    }
}

/// Takes the shared catalog lock of the archive at `root`, waiting while `reindex` holds it
/// exclusively. On a read-only archive, where the lock file cannot be created, there is no
/// lock to take (nothing can then replace the catalog either): `None`.
pub(crate) fn lock_catalog_shared(root: &Path) -> Result<Option<File>, StoreError> {
    let path = root.join(CATALOG_LOCK);
    let read_only = |e: &std::io::Error| {
        matches!(
            e.kind(),
            std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
        )
    };
    let file = match fsutil::ensure_dir(fsutil::parent_dir(&path)) {
        Err(StoreError::Io { source, .. }) if read_only(&source) => None,
        Err(e) => return Err(e),
        Ok(_) => match open_lock_file(&path) {
            Ok(f) => Some(f),
            // An existing lock file can still be locked through a read-only descriptor.
            Err(e) if read_only(&e) => fsutil::open_for_reading(&path, fsutil::Links::Refuse).ok(),
            Err(e) => return Err(StoreError::io(&path, e)),
        },
    };
    let Some(file) = file else { return Ok(None) };
    file.lock_shared().map_err(|e| StoreError::io(&path, e))?;
    Ok(Some(file))
}

/// Takes [`CATALOG_LOCK`] exclusively without waiting: `None` when another process holds it
/// (every process that has the archive open holds it shared).
pub(crate) fn try_lock_catalog_exclusive(root: &Path) -> Result<Option<File>, StoreError> {
    try_lock_exclusive(&root.join(CATALOG_LOCK))
}

/// Takes the writers lock at `path` ([`WRITERS_LOCK`] of an archive) shared, waiting while
/// `fsck --repair` holds it exclusively.
pub(crate) fn lock_writers_shared(path: &Path) -> Result<File, StoreError> {
    fsutil::ensure_dir(fsutil::parent_dir(path))?;
    let file = open_lock_file(path).map_err(|e| StoreError::io(path, e))?;
    file.lock_shared().map_err(|e| StoreError::io(path, e))?;
    Ok(file)
}

/// Takes [`WRITERS_LOCK`] exclusively without waiting: `None` when another process is writing
/// objects (it holds the lock shared).
pub(crate) fn try_lock_writers_exclusive(root: &Path) -> Result<Option<File>, StoreError> {
    try_lock_exclusive(&root.join(WRITERS_LOCK))
}

/// Takes the lock file at `path` exclusively without waiting (creating it and its directory
/// if needed): `None` when another descriptor holds a lock on it.
fn try_lock_exclusive(path: &Path) -> Result<Option<File>, StoreError> {
    fsutil::ensure_dir(fsutil::parent_dir(path))?;
    let file = open_lock_file(path).map_err(|e| StoreError::io(path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(path, e)),
    }
}

/// Whether another process has the SQLite database at `catalog` open. Every SQLite connection
/// to a WAL database holds a shared POSIX lock on byte 128 of the `-shm` file (the "DMS" byte
/// of the unix VFS) for as long as it is open; `F_GETLK` reports a lock held by another
/// process. No `-shm` file (or one that cannot be opened) means no other connection.
#[cfg(target_os = "linux")]
pub(crate) fn catalog_open_elsewhere(catalog: &Path) -> Result<bool, StoreError> {
    use nix::libc;
    let shm = layout::sqlite_side_file(catalog, layout::SHM_SUFFIX);
    // Never through a link, never a FIFO (checked before, and again as it is opened).
    let file = match fsutil::open_for_writing(&shm, false) {
        Ok(f) => f,
        Err(_) => return Ok(false),
    };
    let mut lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 128,
        l_len: 1,
        l_pid: 0,
    };
    match nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_GETLK(&mut lock)) {
        Ok(_) => Ok(lock.l_type != libc::F_UNLCK as libc::c_short),
        Err(e) => Err(StoreError::io(&shm, e.into())),
    }
}

/// Whether another process has the SQLite database at `catalog` open: not known here (no
/// open-file-description locks), so `false`.
#[cfg(not(target_os = "linux"))]
pub(crate) fn catalog_open_elsewhere(_catalog: &Path) -> Result<bool, StoreError> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_exclusive_try_locks_fail_while_a_shared_lock_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let shared = lock_catalog_shared(root).unwrap().expect("a lock file");
        assert!(root.join(CATALOG_LOCK).is_file());
        assert!(try_lock_catalog_exclusive(root).unwrap().is_none());
        drop(shared);
        let exclusive = try_lock_catalog_exclusive(root).unwrap().expect("free");
        assert!(try_lock_catalog_exclusive(root).unwrap().is_none());
        drop(exclusive);

        let writer = lock_writers_shared(&root.join(WRITERS_LOCK)).unwrap();
        let second = lock_writers_shared(&root.join(WRITERS_LOCK)).unwrap();
        assert!(try_lock_writers_exclusive(root).unwrap().is_none());
        drop((writer, second));
        assert!(try_lock_writers_exclusive(root).unwrap().is_some());
    }

    #[test]
    fn locks_a_document_lock_excludes_the_same_document_only() {
        let dir = tempfile::tempdir().unwrap();
        let locks = DocumentLocks::for_archive(dir.path());
        let held = locks.lock("https://example.org/a").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let other = locks.clone();
        let waiter = std::thread::spawn(move || {
            // A different document: not blocked.
            drop(other.lock("https://example.org/b").unwrap());
            tx.send("b").unwrap();
            // The same document: waits until `held` is dropped.
            let again = other.lock("https://example.org/a").unwrap();
            tx.send("a").unwrap();
            drop(again);
        });
        assert_eq!(rx.recv().unwrap(), "b");
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "the same document's lock is held");
        drop(held);
        assert_eq!(rx.recv().unwrap(), "a");
        waiter.join().unwrap();
        #[cfg(target_os = "linux")]
        assert!(dir.path().join(DOCUMENTS_LOCK).is_file());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn locks_no_shm_file_means_no_other_connection() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = dir.path().join("catalog.sqlite");
        assert!(!catalog_open_elsewhere(&catalog).unwrap());
        // A lock held through this process's own descriptor is not another process's.
        let conn = rusqlite::Connection::open(&catalog).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert!(!catalog_open_elsewhere(&catalog).unwrap());
    }
}
