//! Writing an object's bytes only after all of them are checked: `exhibit cat`.
//!
//! [`ObjectStore::copy_verified`] writes as it reads and reports a mismatch after the last
//! byte, which is right for hashing into a sink and wrong for a command whose output a person
//! redirects into a file and files as evidence. [`ObjectStore::write_checked`] decodes once,
//! checks SHA-256, BLAKE3 and size against what a signed manifest states, and only then writes
//! those very bytes: from memory, or from an unlinked temporary file for large objects.
//!
//! Why a copy rather than decoding twice: the bytes written are exactly the bytes checked, even
//! if the object file is replaced or rewritten in between (by a writer, or by someone with write
//! access to the archive); memory stays bounded by [`IN_MEMORY`].

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt as _;

use exhibit_core::{Blake3Digest, Sha256Digest};

use crate::{ObjectStore, StoreError};

/// Objects up to this size are checked in memory; larger ones are decoded into an unlinked
/// temporary file first.
pub const IN_MEMORY: u64 = 16 << 20;

/// Where the bytes wait until they are checked.
enum Spool {
    Memory(Vec<u8>),
    File(File),
}

impl ObjectStore {
    /// Decodes object `sha256`, checks that it is exactly `size` bytes with that SHA-256 and
    /// `blake3` (the facts a signed manifest states), and only then writes it to `out`. Nothing
    /// reaches `out` unless every byte checked out.
    pub fn write_checked(
        &self,
        sha256: &Sha256Digest,
        blake3: &Blake3Digest,
        size: u64,
        out: &mut dyn Write,
    ) -> Result<(), StoreError> {
        let path = self.path_of(sha256);
        let damaged = |why: String| StoreError::Corrupt {
            what: path.display().to_string(),
            message: format!("{why}; nothing was written"),
        };
        let mut spool = if size <= IN_MEMORY {
            Spool::Memory(Vec::with_capacity(size as usize))
        } else {
            Spool::File(temp_file()?)
        };
        let (got_sha, got_blake, got_size) = self
            .decode_each(sha256, size, |chunk| match &mut spool {
                Spool::Memory(v) => {
                    v.extend_from_slice(chunk);
                    Ok(())
                }
                Spool::File(f) => f
                    .write_all(chunk)
                    .map_err(|e| StoreError::io(std::env::temp_dir(), e)),
            })
            .map_err(|e| match e {
                StoreError::Corrupt { what, message } => StoreError::Corrupt {
                    what,
                    message: format!("{message}; nothing was written"),
                },
                e => e,
            })?;
        if got_size != size || got_sha != *sha256 || got_blake != *blake3 {
            let shown = if got_size > size {
                format!("more than {size}")
            } else {
                got_size.to_string()
            };
            return Err(damaged(format!(
                "decodes to {shown} bytes with sha256 {got_sha}, but the signed manifest says \
                 {size} bytes with sha256 {sha256} (and its BLAKE3): the object is damaged"
            )));
        }
        let output = |e| StoreError::io("<output>", e);
        match spool {
            Spool::Memory(v) => out.write_all(&v).map_err(output)?,
            Spool::File(mut f) => {
                f.rewind()
                    .map_err(|e| StoreError::io(std::env::temp_dir(), e))?;
                // Exactly the checked bytes: the file is ours alone (created 0600, unlinked).
                io::copy(&mut f.take(size), out).map_err(output)?;
            }
        }
        Ok(())
    }
}

/// A new temporary file (mode 0600) in the system's temporary directory, already unlinked, so
/// that no one else can open it and nothing is left behind.
fn temp_file() -> Result<File, StoreError> {
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..16u32 {
        let path = dir.join(format!(
            ".exhibit-cat-{}-{nanos:x}-{attempt}",
            std::process::id()
        ));
        // create_new (O_EXCL) never follows a link planted at the name.
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path).map_err(|e| StoreError::io(&path, e))?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(StoreError::io(&path, e)),
        }
    }
    Err(StoreError::io(
        dir,
        last.unwrap_or_else(|| io::Error::other("no free temporary name")),
    ))
}
