//! Content-addressed object store: `objects/ab/<sha256>.zst`, one zstd frame per object.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use exhibit_core::{Blake3Digest, DualHasher, Sha256Digest};

use crate::StoreError;
use crate::fsutil;

/// zstd level for stored objects: level 3 is zstd's own default, the usual speed/size balance.
pub const ZSTD_LEVEL: i32 = 3;

/// An object that is durably stored (its directory entry becomes durable with the next
/// [`ObjectStore::sync_dirty_dirs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    /// SHA-256 of the uncompressed bytes: the object's name.
    pub sha256: Sha256Digest,
    /// BLAKE3 of the uncompressed bytes.
    pub blake3: Blake3Digest,
    /// Uncompressed length.
    pub size: u64,
    /// Whether this write added the object (false: identical bytes were already stored).
    pub added: bool,
}

/// The `objects/` directory of an archive.
#[derive(Debug)]
pub struct ObjectStore {
    dir: PathBuf,
    dirty: Mutex<BTreeSet<PathBuf>>,
}

impl ObjectStore {
    /// The store rooted at `dir` (`<archive>/objects`).
    pub fn new(dir: PathBuf) -> Self {
        ObjectStore {
            dir,
            dirty: Mutex::new(BTreeSet::new()),
        }
    }

    /// Where the object with this digest lives.
    pub fn path_of(&self, sha256: &Sha256Digest) -> PathBuf {
        let hex = sha256.to_hex();
        self.dir.join(&hex[..2]).join(format!("{hex}.zst"))
    }

    /// Whether the object is present.
    pub fn contains(&self, sha256: &Sha256Digest) -> bool {
        self.path_of(sha256).is_file()
    }

    /// Starts writing a new object: feed it bytes, then [`ObjectWriter::finish`].
    pub fn writer(&self) -> Result<ObjectWriter<'_>, StoreError> {
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".zst")
            .permissions(fsutil::public_file_permissions())
            .tempfile_in(&self.dir)
            .map_err(|e| StoreError::io(&self.dir, e))?;
        let file = BufWriter::with_capacity(1 << 17, tmp);
        let mut encoder = zstd::stream::write::Encoder::new(file, ZSTD_LEVEL)
            .map_err(|e| StoreError::io(&self.dir, e))?;
        encoder
            .include_checksum(true)
            .map_err(|e| StoreError::io(&self.dir, e))?;
        Ok(ObjectWriter {
            store: self,
            hasher: DualHasher::new(),
            encoder,
        })
    }

    /// Stores a byte slice.
    pub fn put(&self, bytes: &[u8]) -> Result<StoredObject, StoreError> {
        let mut w = self.writer()?;
        w.write_all(bytes)
            .map_err(|e| StoreError::io(&self.dir, e))?;
        w.finish()
    }

    /// Opens an object for reading its uncompressed bytes.
    pub fn open(&self, sha256: &Sha256Digest) -> Result<impl Read + use<>, StoreError> {
        let path = self.path_of(sha256);
        let file = File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        zstd::stream::read::Decoder::new(file).map_err(|e| StoreError::io(&path, e))
    }

    /// Copies an object's bytes to `out`, checking them against the SHA-256 they are named by
    /// and the expected BLAKE3 when given. The bytes are written as they are read; a mismatch is
    /// reported after the last byte.
    pub fn copy_verified(
        &self,
        sha256: &Sha256Digest,
        blake3: Option<&Blake3Digest>,
        out: &mut dyn Write,
    ) -> Result<u64, StoreError> {
        let path = self.path_of(sha256);
        let mut reader = self.open(sha256)?;
        let mut hasher = DualHasher::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(StoreError::Corrupt {
                        what: path.display().to_string(),
                        message: format!("cannot decompress: {e}"),
                    });
                }
            };
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n])
                .map_err(|e| StoreError::io("<output>", e))?;
        }
        let (s, b, n) = hasher.finish();
        if s != *sha256 || blake3.is_some_and(|want| *want != b) {
            return Err(StoreError::Corrupt {
                what: path.display().to_string(),
                message: format!(
                    "content hashes to sha256 {s}, not {sha256}: the object is damaged"
                ),
            });
        }
        Ok(n)
    }

    /// Reads a whole object into memory (for small objects such as texts), verified.
    pub fn read_verified(&self, sha256: &Sha256Digest, limit: u64) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        let mut limited = LimitedVec {
            buf: &mut out,
            limit,
        };
        self.copy_verified(sha256, None, &mut limited)?;
        Ok(out)
    }

    /// Fsyncs every directory an object was added to since the last call.
    pub fn sync_dirty_dirs(&self) -> Result<(), StoreError> {
        let dirs = std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|p| p.into_inner()));
        for dir in dirs {
            fsutil::sync_dir(&dir)?;
        }
        Ok(())
    }

    fn mark_dirty(&self, dir: PathBuf) {
        self.dirty
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir);
    }
}

struct LimitedVec<'a> {
    buf: &'a mut Vec<u8>,
    limit: u64,
}

impl Write for LimitedVec<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if (self.buf.len() + data.len()) as u64 > self.limit {
            return Err(io::Error::other(format!(
                "object larger than the {}-byte limit",
                self.limit
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streams bytes into a new object: hashes (SHA-256 and BLAKE3) and compresses as it goes, so
/// memory stays bounded whatever the size.
pub struct ObjectWriter<'a> {
    store: &'a ObjectStore,
    hasher: DualHasher,
    encoder: zstd::stream::write::Encoder<'static, BufWriter<tempfile::NamedTempFile>>,
}

impl ObjectWriter<'_> {
    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// Completes the object: flushes, fsyncs and renames it into place (or discards it when the
    /// same bytes are already stored).
    pub fn finish(self) -> Result<StoredObject, StoreError> {
        let dir = &self.store.dir;
        let (sha256, blake3, size) = self.hasher.finish();
        let tmp = self
            .encoder
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
            .map_err(|e| StoreError::io(dir, e))?;
        let dest = self.store.path_of(&sha256);
        let shard = dest.parent().unwrap_or(dir).to_path_buf();
        if dest.is_file() {
            // Identical bytes are stored once; the temporary file is removed on drop. The
            // existing object may come from a writer that crashed before fsyncing its
            // directory, so the directory is fsynced with this batch all the same.
            self.store.mark_dirty(shard);
            return Ok(StoredObject {
                sha256,
                blake3,
                size,
                added: false,
            });
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        for changed in fsutil::create_dirs(&shard)? {
            self.store.mark_dirty(changed);
        }
        tmp.persist(&dest)
            .map_err(|e| StoreError::io(&dest, e.error))?;
        self.store.mark_dirty(shard);
        Ok(StoredObject {
            sha256,
            blake3,
            size,
            added: true,
        })
    }
}

impl Write for ObjectWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.encoder.write(data)?;
        self.hasher.update(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

/// The directory that holds objects, under an archive root.
pub fn objects_dir(root: &Path) -> PathBuf {
    root.join("objects")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_dedupes_and_reads_back_verified() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path().to_path_buf());
        let data: Vec<u8> = b"privacy policy ".repeat(10_000);
        let a = store.put(&data).unwrap();
        assert!(a.added);
        assert_eq!(a.sha256, Sha256Digest::of(&data));
        assert_eq!(a.size, data.len() as u64);
        let b = store.put(&data).unwrap();
        assert!(!b.added);
        store.sync_dirty_dirs().unwrap();
        assert_eq!(store.read_verified(&a.sha256, 1 << 30).unwrap(), data);
        assert!(store.read_verified(&a.sha256, 10).is_err());
        // Only the object remains: no temporary files.
        let shard = store.path_of(&a.sha256).parent().unwrap().to_path_buf();
        assert_eq!(std::fs::read_dir(&shard).unwrap().count(), 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn damaged_object_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path().to_path_buf());
        let a = store.put(b"original bytes").unwrap();
        let other = zstd::encode_all(&b"forged bytes!!"[..], 3).unwrap();
        std::fs::write(store.path_of(&a.sha256), other).unwrap();
        let err = store.read_verified(&a.sha256, 1 << 20).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
