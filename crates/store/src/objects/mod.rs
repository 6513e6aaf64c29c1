//! Content-addressed object store: `objects/ab/<sha256>.zst`, one zstd frame per object (or a
//! delta object: a reference header and a frame decoded against the reference, FORMAT §6).
//!
//! Writing (hashing, compressing, deltas, grouped durability) is here; reading goes through
//! the one streaming decoder (`decode.rs`), which `fsck --full` uses too.

mod decode;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use exhibit_core::{Blake3Digest, DualHasher, Sha256Digest};

use crate::StoreError;
use crate::delta::{self, References, Start};
use crate::{fsutil, layout, locks};

pub(crate) use decode::{DecodeError, ObjectDecoder};
use decode::{read_head, read_start};

/// zstd level for full objects. Level 1: about a third less CPU than zstd's default level 3 for
/// ≈5% more bytes per policy; most versions are delta objects anyway (docs/PERFORMANCE.md).
pub const ZSTD_LEVEL: i32 = 1;

/// Objects up to this size are gathered in memory and compressed in one call with a
/// compression context reused by the thread; larger ones are compressed as a stream. (Creating
/// a zstd context for every small object costs more than compressing it.) Both write the same
/// kind of frame: [`ZSTD_LEVEL`], checksum, no content size.
const SMALL_OBJECT: usize = 1 << 20;

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses `bytes` into one zstd frame with the thread's reusable context.
fn compress_small(bytes: &[u8]) -> io::Result<Vec<u8>> {
    use zstd::zstd_safe::CParameter;
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => c,
            None => {
                let mut c = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
                c.set_parameter(CParameter::ChecksumFlag(true))?;
                c.set_parameter(CParameter::ContentSizeFlag(false))?;
                slot.insert(c)
            }
        };
        compressor.compress(bytes)
    })
}

/// zstd level for delta objects (see `compress_delta`).
pub const DELTA_LEVEL: i32 = 1;

thread_local! {
    static DELTA_COMPRESSOR: std::cell::RefCell<Option<zstd::zstd_safe::CCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// A delta object (docs/FORMAT.md §6): the header naming `reference`, then one zstd frame of
/// `bytes` compressed with `reference_bytes` as a raw-content dictionary. zstd's one-shot
/// dictionary API loads the reference straight into the thread's reused context (no digested
/// dictionary is built); its frames carry the content size and no zstd checksum — the
/// object's SHA-256, checked on every read, is the check.
fn compress_delta(
    bytes: &[u8],
    reference: &Sha256Digest,
    reference_bytes: &[u8],
) -> io::Result<Vec<u8>> {
    let bound = zstd::zstd_safe::compress_bound(bytes.len());
    let mut frame = Vec::with_capacity(bound);
    let span = bytes.len() + reference_bytes.len();
    if span > WIDE_DELTA {
        // Level 1's hash table (and, past 512 KiB, its window) does not reach back over a large
        // reference to the part that matches: such a frame was no smaller than a full one. A
        // window spanning the reference and the object (at most 2 MiB, window log 21) and a
        // hash table sized to it do; a context of its own, as the reference is given as a
        // prefix for this one frame.
        use zstd::zstd_safe::CParameter;
        let window_log = (usize::BITS - (span - 1).leading_zeros()).max(10);
        let zerr = |code| io::Error::other(zstd::zstd_safe::get_error_name(code));
        let mut cctx = zstd::zstd_safe::CCtx::try_create()
            .ok_or_else(|| io::Error::other("cannot create a zstd context"))?;
        cctx.set_parameter(CParameter::CompressionLevel(DELTA_LEVEL))
            .map_err(zerr)?;
        cctx.set_parameter(CParameter::WindowLog(window_log))
            .map_err(zerr)?;
        cctx.set_parameter(CParameter::HashLog(window_log - 2))
            .map_err(zerr)?;
        cctx.ref_prefix(reference_bytes).map_err(zerr)?;
        cctx.compress2(&mut frame, bytes).map_err(zerr)?;
    } else {
        compress_delta_small(bytes, reference_bytes, &mut frame)?;
    }
    let mut out = Vec::with_capacity(delta::REFERENCE_HEADER + frame.len());
    out.extend_from_slice(&delta::header(reference));
    out.extend_from_slice(&frame);
    Ok(out)
}

/// Object and reference bytes beyond which a delta frame gets a window and hash table of their
/// size ([`compress_delta`]): level 1's no longer find the matching part of the reference.
const WIDE_DELTA: usize = 1 << 18;

/// A delta frame of a small object against its reference, with the thread's reused context.
fn compress_delta_small(
    bytes: &[u8],
    reference_bytes: &[u8],
    frame: &mut Vec<u8>,
) -> io::Result<()> {
    DELTA_COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let cctx = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(
                zstd::zstd_safe::CCtx::try_create()
                    .ok_or_else(|| io::Error::other("cannot create a zstd context"))?,
            ),
        };
        cctx.compress_using_dict(frame, bytes, reference_bytes, DELTA_LEVEL)
            .map_err(|code| io::Error::other(zstd::zstd_safe::get_error_name(code)))?;
        Ok(())
    })
}

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
///
/// Objects are written to a temporary file while being hashed and compressed, then renamed to
/// their content address. By default each is fsynced before the rename. In *grouped* mode
/// ([`ObjectStore::group_durability`], Linux), finished objects are *staged* instead: kept as
/// unsynced temporary files until [`ObjectStore::publish_staged`] makes all their data durable
/// with one `syncfs` and only then renames them into place — so a file at a content address
/// always holds its complete bytes, even after a crash, and identical bytes captured later can
/// safely be deduplicated against it.
#[derive(Debug)]
pub struct ObjectStore {
    dir: PathBuf,
    dirty: Mutex<BTreeSet<PathBuf>>,
    grouped: AtomicBool,
    staged: Mutex<Staged>,
    /// The archive's writers lock file ([`WRITERS_LOCK`]), when this store belongs to one.
    writers_lock: Option<PathBuf>,
    /// The shared lock on it, taken before the first object is written or deduplicated and
    /// held as long as the store lives.
    presence: Mutex<Option<File>>,
    /// Full objects that new objects may be delta-compressed against ([`crate::delta`]).
    references: Mutex<References>,
}

/// The writers lock file, relative to the archive root (defined in [`crate::layout`], taken
/// in [`crate::locks`]): every process that writes (or deduplicates against) objects holds a
/// *shared* lock on it from its first object until it exits. `exhibit fsck --repair` removes
/// orphan objects and temporary files in `objects/` only when it can take it *exclusively*
/// (docs/FORMAT.md §8).
pub use crate::layout::WRITERS_LOCK;

/// Objects written in grouped mode and not yet published.
#[derive(Debug, Default)]
struct Staged {
    /// Temporary file, destination, and whether it is a delta object (published after the
    /// full objects, so that no delta is ever in place before its reference).
    files: Vec<(tempfile::TempPath, PathBuf, bool)>,
    /// Name → index in `files`.
    names: std::collections::HashMap<Sha256Digest, usize>,
}

impl ObjectStore {
    /// The store rooted at `dir` (`<archive>/objects`).
    pub fn new(dir: PathBuf) -> Self {
        // Absolute once: temporary files in a relative directory cost a `getcwd` each.
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        ObjectStore {
            dir,
            dirty: Mutex::new(BTreeSet::new()),
            grouped: AtomicBool::new(false),
            staged: Mutex::new(Staged::default()),
            writers_lock: None,
            presence: Mutex::new(None),
            references: Mutex::new(References::default()),
        }
    }

    /// The store of the archive at `root`: like [`ObjectStore::new`], and it announces itself
    /// as a writer on the archive's [`WRITERS_LOCK`] before writing its first object.
    pub fn for_archive(root: &Path) -> Self {
        ObjectStore {
            writers_lock: Some(root.join(WRITERS_LOCK)),
            ..ObjectStore::new(objects_dir(root))
        }
    }

    /// Takes the shared writers lock once (waiting while `fsck --repair` holds it exclusively).
    fn announce_writer(&self) -> Result<(), StoreError> {
        let Some(path) = &self.writers_lock else {
            return Ok(());
        };
        let mut presence = self.presence.lock().unwrap_or_else(|p| p.into_inner());
        if presence.is_some() {
            return Ok(());
        }
        *presence = Some(locks::lock_writers_shared(path)?);
        Ok(())
    }

    /// Switches to grouped durability (see the type's documentation) where the platform allows
    /// it ([`fsutil::GROUP_SYNC`]); returns whether it is on. Whoever stores objects in this mode
    /// must call [`ObjectStore::publish_staged`] before recording anything that names them
    /// ([`crate::Batch::commit`] does).
    pub fn group_durability(&self) -> bool {
        if fsutil::GROUP_SYNC {
            self.grouped.store(true, Ordering::Relaxed);
        }
        self.is_grouped()
    }

    /// Whether grouped durability is on.
    pub fn is_grouped(&self) -> bool {
        self.grouped.load(Ordering::Relaxed)
    }

    /// Makes every staged object durable (one `syncfs`) and renames each to its content address
    /// (an address already taken holds the same bytes: the staged copy is dropped). The renames
    /// become durable with the caller's next [`fsutil::sync_filesystem`] or directory fsync.
    pub fn publish_staged(&self) -> Result<(), StoreError> {
        let staged = std::mem::take(&mut *self.staged.lock().unwrap_or_else(|p| p.into_inner()));
        if staged.files.is_empty() {
            return Ok(());
        }
        fsutil::sync_filesystem(&self.dir)?;
        // Full objects first: a delta's reference is a full object staged before it (or
        // published earlier), and renames reach the journal in order.
        let (full, deltas): (Vec<_>, Vec<_>) = staged.files.into_iter().partition(|f| !f.2);
        for (tmp, dest, is_delta) in full.into_iter().chain(deltas) {
            let shard = fsutil::parent_dir(&dest).to_path_buf();
            for changed in fsutil::create_dirs(&shard)? {
                self.mark_dirty(changed);
            }
            self.install(tmp, &dest, is_delta)?;
            self.mark_dirty(shard);
        }
        Ok(())
    }

    /// Renames a finished object file to its address without replacing what is there (the
    /// same bytes, published by an earlier batch or another process) — except that a full
    /// object replaces a delta object: a full object stands alone and may serve as a reference,
    /// and a delta object never replaces anything, so a reference stays a full object.
    /// Returns whether this file was put in place.
    fn install(
        &self,
        tmp: tempfile::TempPath,
        dest: &Path,
        is_delta: bool,
    ) -> Result<bool, StoreError> {
        match tmp.persist_noclobber(dest) {
            Ok(()) => Ok(true),
            Err(e) if fsutil::is_regular_file(dest) => {
                let existing = read_start(dest).map(|start| delta::parse_start(&start));
                if !is_delta && matches!(existing, Ok(Start::Delta(_))) {
                    e.path
                        .persist(dest)
                        .map_err(|e| StoreError::io(dest, e.error))?;
                    return Ok(true);
                }
                Ok(false)
            }
            Err(e) => Err(StoreError::io(dest, e.error)),
        }
    }

    /// Where the object with this digest lives.
    pub fn path_of(&self, sha256: &Sha256Digest) -> PathBuf {
        self.dir.join(layout::object_path_in_store(sha256))
    }

    /// Whether the object is present (published: staged objects are not).
    pub fn contains(&self, sha256: &Sha256Digest) -> bool {
        fsutil::is_regular_file(&self.path_of(sha256))
    }

    /// Starts writing a new object: feed it bytes, then [`ObjectWriter::finish`].
    pub fn writer(&self) -> Result<ObjectWriter<'_>, StoreError> {
        self.announce_writer()?;
        Ok(ObjectWriter {
            store: self,
            hasher: DualHasher::new(),
            sink: Sink::Small { buf: Vec::new() },
            hint: None,
        })
    }

    /// A new temporary file for an object, in `objects/`.
    fn temp_file(&self) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(layout::TEMP_PREFIX)
            .suffix(layout::OBJECT_TEMP_SUFFIX)
            .permissions(fsutil::public_file_permissions())
            .tempfile_in(&self.dir)
    }

    /// The references new objects may be compressed against (a poisoned lock only means a
    /// panic elsewhere; the index is still consistent enough to be a hint).
    fn references(&self) -> std::sync::MutexGuard<'_, References> {
        self.references.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads `hint` (or the reference it names, when it is a delta object) as a possible
    /// reference; whether anything new was loaded. Anything unreadable, damaged or ineligible
    /// is simply not used: the object is then stored on its own.
    fn consider_reference(&self, hint: &Sha256Digest) -> bool {
        let Ok(found) = self.reference_of(hint) else {
            return false;
        };
        let candidate = found.unwrap_or(*hint);
        if self.references().holds(&candidate) {
            return false;
        }
        let Ok(bytes) = self.read_reference(&candidate) else {
            return false;
        };
        if !delta::eligible(&bytes) {
            return false;
        }
        let sketch = delta::sketch(&bytes);
        self.references()
            .add_full(candidate, Arc::from(bytes), &sketch);
        true
    }

    /// Whether an object of this name is staged (grouped mode, not yet published).
    fn is_staged(&self, sha256: &Sha256Digest) -> bool {
        self.staged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .names
            .contains_key(sha256)
    }

    /// Stores `base_bytes ‖ suffix` — typically an extracted text that is a captured document
    /// plus a final newline — reusing the compressed frame of `base` (the object holding
    /// `base_bytes`, stored or staged) followed by one small frame for `suffix`, instead of
    /// compressing the same bytes twice. The object is hashed in full as usual; a zstd decoder
    /// reads concatenated frames as one stream (RFC 8878 §3.1), so readers see no difference.
    /// Falls back to a plain [`ObjectStore::put`] when `base` cannot be read.
    pub fn put_extended(
        &self,
        base: &Sha256Digest,
        base_bytes: &[u8],
        suffix: &[u8],
    ) -> Result<StoredObject, StoreError> {
        self.announce_writer()?;
        let mut hasher = DualHasher::new();
        hasher.update(base_bytes);
        hasher.update(suffix);
        let (sha256, blake3, size) = hasher.finish();
        let dest = self.path_of(&sha256);
        let exists = fsutil::is_regular_file(&dest);
        if exists || self.is_staged(&sha256) {
            if exists {
                self.mark_dirty(fsutil::parent_dir(&dest).to_path_buf());
            }
            return Ok(StoredObject {
                sha256,
                blake3,
                size,
                added: false,
            });
        }
        let base_file = {
            let staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
            match staged.names.get(base).and_then(|&i| staged.files.get(i)) {
                Some((tmp, _, _)) => fsutil::open_for_reading(tmp, fsutil::Links::Refuse).ok(),
                None => fsutil::open_for_reading(&self.path_of(base), fsutil::Links::Refuse).ok(),
            }
        };
        let whole = || {
            let mut bytes = Vec::with_capacity(base_bytes.len() + suffix.len());
            bytes.extend_from_slice(base_bytes);
            bytes.extend_from_slice(suffix);
            self.put(&bytes)
        };
        let Some(mut base_file) = base_file else {
            return whole();
        };
        // A delta base makes a delta text: its header and frame are copied, and the suffix's
        // own frame needs no dictionary (the reference applies to every frame, harmlessly).
        let frames = (|| -> io::Result<(tempfile::NamedTempFile, bool)> {
            let mut tmp = self.temp_file()?;
            let start = read_head(&mut base_file)?;
            let is_delta = matches!(delta::parse_start(&start), Start::Delta(_));
            tmp.write_all(&start)?;
            io::copy(&mut base_file, tmp.as_file_mut())?;
            tmp.write_all(&compress_small(suffix)?)?;
            Ok((tmp, is_delta))
        })()
        .map_err(|e| StoreError::io(&self.dir, e))?;
        if frames.1 && size > delta::MAX_DELTA_OBJECT as u64 {
            // An object of more than 1 MiB is always full (FORMAT §6).
            return whole();
        }
        self.place(frames.0, sha256, blake3, size, frames.1)
    }

    /// Puts a finished temporary object file in place under its name (the callers have just
    /// found no object of that name): staged in grouped mode, else fsynced and renamed without
    /// replacing an object that appeared meanwhile (see [`ObjectStore::install`]).
    fn place(
        &self,
        tmp: tempfile::NamedTempFile,
        sha256: Sha256Digest,
        blake3: Blake3Digest,
        size: u64,
        is_delta: bool,
    ) -> Result<StoredObject, StoreError> {
        let dest = self.path_of(&sha256);
        let shard = fsutil::parent_dir(&dest).to_path_buf();
        let stored = |added| StoredObject {
            sha256,
            blake3,
            size,
            added,
        };
        if self.is_staged(&sha256) {
            // Identical bytes are staged already (grouped mode).
            return Ok(stored(false));
        }
        if self.is_grouped() {
            let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
            let at = staged.files.len();
            staged.names.insert(sha256, at);
            staged.files.push((tmp.into_temp_path(), dest, is_delta));
            return Ok(stored(true));
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| StoreError::io(tmp.path(), e))?;
        for changed in fsutil::create_dirs(&shard)? {
            self.mark_dirty(changed);
        }
        let added = self.install(tmp.into_temp_path(), &dest, is_delta)?;
        self.mark_dirty(shard);
        Ok(stored(added))
    }

    /// Stores a byte slice.
    pub fn put(&self, bytes: &[u8]) -> Result<StoredObject, StoreError> {
        let mut w = self.writer()?;
        w.write_all(bytes)
            .map_err(|e| StoreError::io(&self.dir, e))?;
        w.finish()
    }

    /// Opens an object for reading its uncompressed bytes (a delta object is decoded with its
    /// reference, which is read into memory first), through the store's one decoder. The bytes
    /// are not checked: hash what is read, or use [`Self::copy_verified`].
    pub fn open(&self, sha256: &Sha256Digest) -> Result<impl Read + use<>, StoreError> {
        decode::ObjectReader::open(self, sha256)
    }

    /// The reference a delta object names, or `None` for a full object (reads only the first
    /// bytes of the file).
    pub fn reference_of(&self, sha256: &Sha256Digest) -> Result<Option<Sha256Digest>, StoreError> {
        let path = self.path_of(sha256);
        let start = read_start(&path).map_err(|e| StoreError::io(&path, e))?;
        match delta::parse_start(&start) {
            Start::Plain => Ok(None),
            Start::Delta(reference) => Ok(Some(reference)),
            Start::BadHeader(message) => Err(StoreError::Corrupt {
                what: path.display().to_string(),
                message,
            }),
        }
    }

    /// The bytes of a reference object: a full object (not itself a delta) that is
    /// [`delta::eligible`], verified against its name. A one-line error otherwise.
    pub fn read_reference(&self, sha256: &Sha256Digest) -> Result<Vec<u8>, String> {
        let mut decoder =
            ObjectDecoder::new(1 << 16, 0).map_err(|e| format!("cannot decompress: {e}"))?;
        let bytes = decoder.reference(self, sha256)?;
        // The decoder's cache holds the other count: dropped first, the bytes are not copied.
        drop(decoder);
        Ok(Arc::unwrap_or_clone(bytes))
    }

    /// Decodes object `sha256`, handing every chunk to `each` and hashing it, up to `max`
    /// bytes (one byte more is read, so a longer object shows as longer); returns the SHA-256,
    /// BLAKE3 and length of what was decoded. The one decoding loop of [`Self::copy_verified`]
    /// and [`Self::write_checked`], through the store's one decoder ([`ObjectDecoder`]).
    pub(crate) fn decode_each(
        &self,
        sha256: &Sha256Digest,
        max: u64,
        mut each: impl FnMut(&[u8]) -> Result<(), StoreError>,
    ) -> Result<(Sha256Digest, Blake3Digest, u64), StoreError> {
        let path = self.path_of(sha256);
        let mut decoder = ObjectDecoder::new(1 << 16, 0).map_err(|e| StoreError::io(&path, e))?;
        let decoded = decoder
            .decode(self, sha256, max.saturating_add(1), &mut each)
            .map_err(|e| e.into_store_error(&path))?;
        Ok((decoded.sha256, decoded.blake3, decoded.size))
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
        let (s, b, n) = self.decode_each(sha256, u64::MAX - 1, |chunk| {
            out.write_all(chunk)
                .map_err(|e| StoreError::io("<output>", e))
        })?;
        if s != *sha256 || blake3.is_some_and(|want| *want != b) {
            return Err(StoreError::Corrupt {
                what: self.path_of(sha256).display().to_string(),
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
        for dir in self.take_dirty_dirs() {
            fsutil::sync_dir(&dir)?;
        }
        Ok(())
    }

    /// The directories objects were added to since the last call (forgetting them).
    pub(crate) fn take_dirty_dirs(&self) -> BTreeSet<PathBuf> {
        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|p| p.into_inner()))
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

/// What a finished object adds to the store's [`References`].
enum Remember {
    /// A full object that later ones may be compressed against.
    Full { sketch: Vec<u64>, bytes: Arc<[u8]> },
    /// A delta object: what resembles it should use the same reference.
    Delta {
        sketch: Vec<u64>,
        reference: Sha256Digest,
    },
    /// Too small or too large to matter.
    Nothing,
}

/// Streams bytes into a new object: hashes (SHA-256 and BLAKE3) and compresses as it goes, so
/// memory stays bounded whatever the size (at most 1 MiB is gathered before streaming
/// compression starts).
pub struct ObjectWriter<'a> {
    store: &'a ObjectStore,
    hasher: DualHasher,
    sink: Sink,
    /// An object these bytes probably resemble (the document's previous version).
    hint: Option<Sha256Digest>,
}

enum Sink {
    /// Gathering a small object in memory (no file yet: identical bytes already stored need
    /// none).
    Small { buf: Vec<u8> },
    /// Compressing a large one as a stream.
    Stream(zstd::stream::write::Encoder<'static, BufWriter<tempfile::NamedTempFile>>),
    /// Only while switching.
    Empty,
}

impl Sink {
    /// Turns a gathered small object into a stream encoder (writing to a new temporary file)
    /// holding its bytes.
    fn into_stream(self, store: &ObjectStore) -> io::Result<Sink> {
        let Sink::Small { buf } = self else {
            return Ok(self);
        };
        let file = BufWriter::with_capacity(1 << 17, store.temp_file()?);
        let mut encoder = zstd::stream::write::Encoder::new(file, ZSTD_LEVEL)?;
        encoder.include_checksum(true)?;
        encoder.write_all(&buf)?;
        Ok(Sink::Stream(encoder))
    }

    /// The compressed temporary file, and what to remember of it as a possible reference.
    fn finish(
        self,
        store: &ObjectStore,
        hint: Option<&Sha256Digest>,
    ) -> io::Result<(tempfile::NamedTempFile, Remember)> {
        match self {
            Sink::Small { buf } => {
                let (data, remember) = if delta::eligible(&buf) {
                    let sketch = delta::sketch(&buf);
                    let mut chosen = store.references().choose(&sketch);
                    if chosen.is_none()
                        && let Some(hint) = hint
                        && store.consider_reference(hint)
                    {
                        chosen = store.references().choose(&sketch);
                    }
                    match chosen {
                        Some((reference, reference_bytes)) => (
                            compress_delta(&buf, &reference, &reference_bytes)?,
                            Remember::Delta { sketch, reference },
                        ),
                        None => (
                            compress_small(&buf)?,
                            Remember::Full {
                                sketch,
                                bytes: Arc::from(buf),
                            },
                        ),
                    }
                } else {
                    (compress_small(&buf)?, Remember::Nothing)
                };
                let mut tmp = store.temp_file()?;
                tmp.write_all(&data)?;
                Ok((tmp, remember))
            }
            Sink::Stream(encoder) => Ok((
                encoder.finish()?.into_inner().map_err(|e| e.into_error())?,
                Remember::Nothing,
            )),
            Sink::Empty => Err(io::Error::other("object writer used after a failure")),
        }
    }
}

impl ObjectWriter<'_> {
    /// Names an object these bytes probably resemble — typically the previous version of the
    /// same document, stored by an earlier process. If no object this process stored is
    /// similar, the hinted one (or its reference, when it is a delta) is read and, if it is
    /// similar enough, the new object is stored as a delta against it.
    pub fn hint_reference(&mut self, sha256: Sha256Digest) {
        self.hint = Some(sha256);
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// Completes the object: flushes, fsyncs and renames it into place (or discards it when the
    /// same bytes are already stored). In grouped mode the object is staged instead, and
    /// published by [`ObjectStore::publish_staged`].
    pub fn finish(self) -> Result<StoredObject, StoreError> {
        let dir = &self.store.dir;
        let (sha256, blake3, size) = self.hasher.finish();
        let dest = self.store.path_of(&sha256);
        let shard = dest.parent().unwrap_or(dir).to_path_buf();
        let small = matches!(self.sink, Sink::Small { .. });
        let exists = small && fsutil::is_regular_file(&dest);
        if exists || (small && self.store.is_staged(&sha256)) {
            // Identical bytes are stored (or staged) already: no file is written at all. The
            // existing object may come from a writer that crashed before fsyncing its
            // directory, so the directory is fsynced with this batch all the same.
            if exists {
                self.store.mark_dirty(shard);
            }
            return Ok(StoredObject {
                sha256,
                blake3,
                size,
                added: false,
            });
        }
        let (tmp, remember) = self
            .sink
            .finish(self.store, self.hint.as_ref())
            .map_err(|e| StoreError::io(dir, e))?;
        let is_delta = matches!(remember, Remember::Delta { .. });
        let stored = self.store.place(tmp, sha256, blake3, size, is_delta)?;
        if !stored.added {
            // The same bytes were placed meanwhile, perhaps as a delta: not a reference.
            return Ok(stored);
        }
        match remember {
            Remember::Full { sketch, bytes } => {
                self.store.references().add_full(sha256, bytes, &sketch);
            }
            Remember::Delta { sketch, reference } => {
                self.store.references().point(&sketch, reference);
            }
            Remember::Nothing => {}
        }
        Ok(stored)
    }
}

impl Write for ObjectWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if let Sink::Small { buf, .. } = &mut self.sink {
            if buf.len() + data.len() <= SMALL_OBJECT {
                buf.extend_from_slice(data);
                self.hasher.update(data);
                return Ok(data.len());
            }
            self.sink = std::mem::replace(&mut self.sink, Sink::Empty).into_stream(self.store)?;
        }
        let Sink::Stream(encoder) = &mut self.sink else {
            return Err(io::Error::other("object writer used after a failure"));
        };
        let n = encoder.write(data)?;
        self.hasher.update(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.sink {
            Sink::Stream(encoder) => encoder.flush(),
            _ => Ok(()),
        }
    }
}

/// The directory that holds objects, under an archive root.
pub fn objects_dir(root: &Path) -> PathBuf {
    root.join(layout::OBJECTS_DIR)
}

#[cfg(test)]
mod tests;
