//! The one streaming decoder of stored objects (docs/FORMAT.md §6).
//!
//! An object file is one zstd frame, or several concatenated (a text stored as its document's
//! frame plus a frame of the extra bytes), or — a delta object — a reference header (a zstd
//! skippable frame naming the reference) followed by a frame compressed with the reference's
//! bytes as the dictionary. [`ObjectDecoder`] reads any of them in one streaming pass through two
//! reused buffers, handing every decoded chunk to the caller and hashing it (SHA-256, BLAKE3 and
//! length) on the way; a delta object's reference is read first (it is at most 1 MiB, verified
//! against its name, and cached up to a bound).
//!
//! Every read of the store goes through it ([`ObjectStore::decode_each`], and so `copy_verified`,
//! `read_verified` and `write_checked`; [`ObjectStore::read_reference`]) and so does
//! `fsck --full`, whose workers each keep one decoder (a zstd context per object costs more
//! than decompressing a small one). What went wrong is a [`DecodeError`]: each caller words it
//! its own way, from the same facts.
//!
//! Not for writing objects (compression, deltas against a reference): see the parent module.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use exhibit_core::{Blake3Digest, DualHasher, Sha256Digest};
use zstd::zstd_safe::{DCtx, InBuffer, OutBuffer, ResetDirective};

use super::ObjectStore;
use crate::StoreError;
use crate::delta::{self, Start};
use crate::fsutil;

/// What decoding an object produced: the digests and length of the bytes decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// SHA-256 of the bytes decoded.
    pub(crate) sha256: Sha256Digest,
    /// BLAKE3 of the bytes decoded.
    pub(crate) blake3: Blake3Digest,
    /// How many bytes were decoded.
    pub(crate) size: u64,
    /// Whether decoding stopped at the cap it was given: the object is at least `size` bytes and
    /// the digests are of that prefix.
    pub(crate) capped: bool,
}

/// Why an object could not be decoded.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The object file cannot be opened (`NotFound`: it is missing).
    Open(io::Error),
    /// Its first bytes cannot be read.
    ReadStart(io::Error),
    /// It starts with a malformed reference header.
    BadHeader(String),
    /// A full object was asked for ([`ObjectDecoder::reference`]) and this one is not.
    NotFull,
    /// A delta object whose reference cannot be used, and why (one line).
    Reference {
        /// The reference the header names.
        reference: Sha256Digest,
        /// What is wrong with it, as [`ObjectStore::read_reference`] says.
        why: String,
    },
    /// No zstd context could be made (or loaded with the reference).
    Context(io::Error),
    /// Reading the file failed after its first bytes.
    Read(io::Error),
    /// zstd refused the bytes, after `after` decoded bytes.
    Damaged {
        /// Bytes decoded before the failure.
        after: u64,
        /// zstd's error.
        error: io::Error,
    },
    /// The file ends inside a zstd frame, after `after` decoded bytes.
    CutShort {
        /// Bytes decoded before the end.
        after: u64,
    },
    /// The caller's handler of the decoded bytes failed.
    Sink(StoreError),
}

impl DecodeError {
    /// The store's wording: about the object file at `path`, as every [`ObjectStore`] read
    /// reports it (I/O errors as such, anything wrong with the bytes as [`StoreError::Corrupt`]).
    pub(crate) fn into_store_error(self, path: &Path) -> StoreError {
        let corrupt = |message: String| StoreError::Corrupt {
            what: path.display().to_string(),
            message,
        };
        match self {
            DecodeError::Open(e) | DecodeError::ReadStart(e) | DecodeError::Context(e) => {
                StoreError::io(path, e)
            }
            DecodeError::BadHeader(message) => corrupt(message),
            DecodeError::NotFull => corrupt(NOT_FULL.into()),
            DecodeError::Reference { reference, why } => {
                corrupt(format!("its reference object {reference}: {why}"))
            }
            DecodeError::Read(e) | DecodeError::Damaged { error: e, .. } => {
                corrupt(format!("cannot decompress: {e}"))
            }
            DecodeError::CutShort { .. } => corrupt(format!("cannot decompress: {INCOMPLETE}")),
            DecodeError::Sink(e) => e,
        }
    }

    /// The wording of [`ObjectStore::read_reference`]: why an object cannot serve as a
    /// reference (one line, without the object's name).
    fn reference_message(self) -> String {
        match self {
            DecodeError::Open(e) if e.kind() == io::ErrorKind::NotFound => "missing".into(),
            DecodeError::Open(e) => format!("cannot open: {e}"),
            DecodeError::ReadStart(e) => format!("cannot read: {e}"),
            DecodeError::NotFull | DecodeError::BadHeader(_) | DecodeError::Reference { .. } => {
                NOT_FULL.into()
            }
            DecodeError::Context(e)
            | DecodeError::Read(e)
            | DecodeError::Damaged { error: e, .. } => {
                format!("cannot decompress: {e}")
            }
            DecodeError::CutShort { .. } => format!("cannot decompress: {INCOMPLETE}"),
            DecodeError::Sink(e) => e.to_string(),
        }
    }
}

/// Why a delta object is no reference.
const NOT_FULL: &str = "is itself a delta object (a reference must be a full object)";
/// How zstd's streaming reader words a file that ends inside a frame.
const INCOMPLETE: &str = "incomplete frame";

/// A reusable decoder: a zstd context for full objects, one for delta objects (with the last
/// reference loaded as its dictionary), two buffers, and reference objects read so far.
pub(crate) struct ObjectDecoder {
    plain: DCtx<'static>,
    delta: DCtx<'static>,
    /// The reference whose bytes are loaded into `delta` as its dictionary.
    loaded: Option<Sha256Digest>,
    /// Reference objects read so far, oldest first in `order` (bounded by `cache_limit` bytes).
    references: HashMap<Sha256Digest, Arc<Vec<u8>>>,
    order: VecDeque<Sha256Digest>,
    reference_bytes: usize,
    cache_limit: usize,
    input: Vec<u8>,
    output: Vec<u8>,
    /// The store's directory, open, when objects are opened relative to it
    /// ([`ObjectDecoder::in_store_dir`]).
    dir: Option<File>,
}

impl ObjectDecoder {
    /// A decoder reading through two buffers of `buffer` bytes, keeping up to `cache_limit`
    /// bytes of reference objects between objects (0: only the current one). With a cache, a
    /// full object that may serve as a reference is kept as it is decoded, so that a delta
    /// object decoded after it does not read it a second time.
    pub(crate) fn new(buffer: usize, cache_limit: usize) -> io::Result<Self> {
        let context =
            || DCtx::try_create().ok_or_else(|| io::Error::other("cannot create a zstd context"));
        let buffer = buffer.max(delta::REFERENCE_HEADER);
        Ok(ObjectDecoder {
            plain: context()?,
            delta: context()?,
            loaded: None,
            references: HashMap::new(),
            order: VecDeque::new(),
            reference_bytes: 0,
            cache_limit,
            input: vec![0u8; buffer],
            output: vec![0u8; buffer],
            dir: None,
        })
    }

    /// Opens objects relative to `store`'s directory, opened once here (for as long as this
    /// decoder lives: a worker that opens thousands of objects walks their path once), rather
    /// than by their full path. If the directory cannot be opened, by their path as before (so
    /// that the errors say what is wrong with each object).
    pub(crate) fn in_store_dir(mut self, store: &ObjectStore) -> Self {
        self.dir = fsutil::open_dir(&store.dir).ok();
        self
    }

    /// Opens the file of object `sha256` of `store` for reading (never a link, FIFO or
    /// anything but a regular file: [`fsutil::open_for_reading`]).
    fn open_file(&self, store: &ObjectStore, sha256: &Sha256Digest) -> io::Result<File> {
        match &self.dir {
            Some(dir) => {
                let rel = crate::layout::object_path_in_store(sha256);
                fsutil::open_regular_at(dir, Path::new(&rel), fsutil::Links::Refuse)
                    .map(|(file, _)| file)
            }
            None => fsutil::open_for_reading(&store.path_of(sha256), fsutil::Links::Refuse),
        }
    }

    /// Decodes object `sha256` of `store`, streaming: every chunk of decoded bytes goes to
    /// `each` and into the hashes; stops after `cap` bytes (a damaged object may decode to far
    /// more than it should; `capped` then says so).
    pub(crate) fn decode(
        &mut self,
        store: &ObjectStore,
        sha256: &Sha256Digest,
        cap: u64,
        each: &mut dyn FnMut(&[u8]) -> Result<(), StoreError>,
    ) -> Result<Decoded, DecodeError> {
        let mut h = DualHasher::new();
        let opened = self.open_file(store, sha256);
        let (mut file, first, is_delta) = self.open_object(opened, Some(store))?;
        // A full object that may serve as a reference is kept, when there is a cache to keep it
        // in and the cap (a size plus one) allows one; sized from the cap, so that no byte is
        // copied twice.
        let limit = delta::MAX_DELTA_OBJECT;
        let mut keep = (!is_delta
            && self.cache_limit > 0
            && !self.references.contains_key(sha256)
            && (delta::MIN_DELTA_OBJECT as u64..=limit as u64 + 1).contains(&cap))
        .then(|| Vec::with_capacity(cap as usize));
        let capped = self.stream_object(&mut file, first, is_delta, cap, &mut |chunk| {
            h.update(chunk);
            if let Some(k) = keep.as_mut() {
                if k.len() + chunk.len() <= limit {
                    k.extend_from_slice(chunk);
                } else {
                    keep = None;
                }
            }
            each(chunk)
        })?;
        let (sha, blake3, size) = h.finish();
        if let Some(bytes) = keep
            && !capped
            && sha == *sha256
            && delta::eligible(&bytes)
        {
            // What `reference` would read: a full object, verified against its name, eligible.
            self.remember(sha, Arc::new(bytes));
        }
        Ok(Decoded {
            sha256: sha,
            blake3,
            size,
            capped,
        })
    }

    /// The bytes of the reference object `sha256`: a full object (not itself a delta) that is
    /// [`delta::eligible`], verified against its name; cached. `Err` is one line, as
    /// [`ObjectStore::read_reference`] words it.
    pub(crate) fn reference(
        &mut self,
        store: &ObjectStore,
        sha256: &Sha256Digest,
    ) -> Result<Arc<Vec<u8>>, String> {
        if let Some(bytes) = self.references.get(sha256) {
            return Ok(bytes.clone());
        }
        let limit = delta::MAX_DELTA_OBJECT;
        let mut bytes = Vec::new();
        let opened = self.open_file(store, sha256);
        let (_, capped) = self
            .decode_file(opened, None, limit as u64 + 1, &mut |chunk| {
                bytes.extend_from_slice(chunk);
                Ok(())
            })
            .map_err(DecodeError::reference_message)?;
        if capped || bytes.len() > limit {
            return Err(format!(
                "is larger than the {limit}-byte limit of a reference"
            ));
        }
        if Sha256Digest::of(&bytes) != *sha256 {
            return Err("is damaged (its bytes do not hash to its name)".into());
        }
        if !delta::eligible(&bytes) {
            return Err(format!(
                "cannot be a reference (under {} bytes, or it starts with the zstd dictionary magic)",
                delta::MIN_DELTA_OBJECT
            ));
        }
        let bytes = Arc::new(bytes);
        self.remember(*sha256, bytes.clone());
        Ok(bytes)
    }

    /// Caches a verified reference, forgetting the oldest ones past the cache's bound (the
    /// last one is always kept, whatever its size).
    fn remember(&mut self, sha256: Sha256Digest, bytes: Arc<Vec<u8>>) {
        while self.reference_bytes + bytes.len() > self.cache_limit
            && let Some(old) = self.order.pop_front()
        {
            if let Some(b) = self.references.remove(&old) {
                self.reference_bytes -= b.len();
            }
        }
        self.reference_bytes += bytes.len();
        self.order.push_back(sha256);
        self.references.insert(sha256, bytes);
    }

    /// Decodes the object file `opened`; `store` is where a delta object's reference is
    /// found (`None`: only a full object will do). Returns whether it was a delta object and
    /// whether decoding stopped at `cap`.
    fn decode_file(
        &mut self,
        opened: io::Result<File>,
        store: Option<&ObjectStore>,
        cap: u64,
        each: &mut dyn FnMut(&[u8]) -> Result<(), StoreError>,
    ) -> Result<(bool, bool), DecodeError> {
        let (mut file, first, is_delta) = self.open_object(opened, store)?;
        let capped = self.stream_object(&mut file, first, is_delta, cap, each)?;
        Ok((is_delta, capped))
    }

    /// Takes the object file just opened (`opened`, as [`fsutil::open_for_reading`] opens it)
    /// and reads its first bytes into the input buffer (how many, and whether it is a delta
    /// object, are returned); for a delta object, loads its reference as the delta context's
    /// dictionary (unless it is loaded already).
    fn open_object(
        &mut self,
        opened: io::Result<File>,
        store: Option<&ObjectStore>,
    ) -> Result<(File, usize, bool), DecodeError> {
        let mut file = opened.map_err(DecodeError::Open)?;
        let mut head = [0u8; delta::REFERENCE_HEADER];
        let first = read_full(&mut file, &mut head).map_err(DecodeError::ReadStart)?;
        let is_delta = match (delta::parse_start(&head[..first]), store) {
            (Start::Plain, _) => false,
            (_, None) => return Err(DecodeError::NotFull),
            (Start::BadHeader(message), Some(_)) => return Err(DecodeError::BadHeader(message)),
            (Start::Delta(reference), Some(store)) => {
                if self.loaded != Some(reference) {
                    // Reading the reference uses the buffers: the first bytes wait in `head`.
                    let bytes = self
                        .reference(store, &reference)
                        .map_err(|why| DecodeError::Reference { reference, why })?;
                    self.loaded = None;
                    // A dictionary is loaded between frames: a pass that failed mid-frame left
                    // the context inside one.
                    self.delta
                        .reset(ResetDirective::SessionOnly)
                        .and_then(|_| self.delta.load_dictionary(&bytes))
                        .map_err(|code| DecodeError::Context(zstd_error(code)))?;
                    self.loaded = Some(reference);
                }
                true
            }
        };
        // The first bytes (a reference header is a skippable frame) go through zstd too.
        self.input[..first].copy_from_slice(&head[..first]);
        Ok((file, first, is_delta))
    }

    /// Decodes an object opened by [`Self::open_object`] with the context of its kind, handing
    /// every chunk to `each`; whether decoding stopped at `cap` bytes.
    fn stream_object(
        &mut self,
        file: &mut File,
        first: usize,
        is_delta: bool,
        cap: u64,
        each: &mut dyn FnMut(&[u8]) -> Result<(), StoreError>,
    ) -> Result<bool, DecodeError> {
        let mut pass = self.begin(first, is_delta)?;
        loop {
            let step = self.step(&mut pass, file, is_delta, cap);
            if step.written > 0 {
                each(&self.output[..step.written]).map_err(DecodeError::Sink)?;
            }
            match step.after? {
                Next::More => {}
                Next::Done => return Ok(false),
                Next::Capped => return Ok(true),
            }
        }
    }

    /// Starts a pass over an opened object: a fresh frame in the context of its kind (which
    /// keeps its dictionary); the first `first` bytes are in the input buffer.
    fn begin(&mut self, first: usize, is_delta: bool) -> Result<Pass, DecodeError> {
        let dctx = if is_delta {
            &mut self.delta
        } else {
            &mut self.plain
        };
        dctx.reset(ResetDirective::SessionOnly)
            .map_err(|code| DecodeError::Context(zstd_error(code)))?;
        Ok(Pass {
            start: 0,
            end: first,
            eof: first == 0,
            size: 0,
        })
    }

    /// One round of the decoding loop: reads input when it is used up, runs zstd once (the
    /// bytes it wrote are `output[..written]`), and says what comes next. An object is one
    /// frame, or several concatenated (a text stored as its document's frame plus a frame of
    /// the extra bytes): whatever follows a frame must decode as further frames, or
    /// decompression fails.
    fn step(&mut self, pass: &mut Pass, file: &mut File, is_delta: bool, cap: u64) -> Step {
        let failed = |e| Step {
            written: 0,
            after: Err(e),
        };
        if pass.start == pass.end && !pass.eof {
            match read_retry(file, &mut self.input) {
                Ok(0) => pass.eof = true,
                Ok(n) => (pass.start, pass.end) = (0, n),
                Err(e) => return failed(DecodeError::Read(e)),
            }
        }
        let dctx = if is_delta {
            &mut self.delta
        } else {
            &mut self.plain
        };
        let room = (cap - pass.size).min(self.output.len() as u64) as usize;
        let mut input = InBuffer::around(&self.input[pass.start..pass.end]);
        let mut output = OutBuffer::around(&mut self.output[..room]);
        let hint = match dctx.decompress_stream(&mut output, &mut input) {
            Ok(hint) => hint,
            Err(code) => {
                return failed(DecodeError::Damaged {
                    after: pass.size,
                    error: zstd_error(code),
                });
            }
        };
        let (read, written) = (input.pos(), output.pos());
        pass.start += read;
        pass.size += written as u64;
        let after = if hint == 0 {
            // A frame is complete.
            if pass.start < pass.end {
                Ok(Next::More)
            } else {
                match read_retry(file, &mut self.input) {
                    Ok(0) => Ok(Next::Done),
                    Ok(n) => {
                        (pass.start, pass.end) = (0, n);
                        Ok(Next::More)
                    }
                    Err(e) => Err(DecodeError::Read(e)),
                }
            }
        } else if pass.size >= cap {
            Ok(Next::Capped)
        } else if pass.eof && read == 0 && written == 0 {
            Err(DecodeError::CutShort { after: pass.size })
        } else {
            Ok(Next::More)
        };
        Step { written, after }
    }
}

/// Where a decoding pass is: the unread part of the input buffer, whether the file is read to
/// its end, and how many bytes were decoded.
struct Pass {
    start: usize,
    end: usize,
    eof: bool,
    size: u64,
}

/// What one round of the decoding loop did.
struct Step {
    /// Decoded bytes now at the start of the output buffer.
    written: usize,
    /// What comes next (after those bytes are used).
    after: Result<Next, DecodeError>,
}

/// How a decoding pass goes on.
enum Next {
    /// More rounds.
    More,
    /// Every frame is decoded and the file ends.
    Done,
    /// The cap is reached.
    Capped,
}

/// A zstd error code as zstd's own streams word it.
fn zstd_error(code: usize) -> io::Error {
    io::Error::other(zstd::zstd_safe::get_error_name(code))
}

/// An object's bytes as a [`Read`]er ([`ObjectStore::open`]), through the one decoder. Errors
/// are I/O errors as zstd's streams report them (`incomplete frame` for a file that ends
/// inside a frame); nothing is verified (hash what is read, as `copy_verified` does).
pub(super) struct ObjectReader {
    decoder: ObjectDecoder,
    file: File,
    is_delta: bool,
    pass: Pass,
    /// Decoded bytes not yet handed out: `decoder.output[pos..len]`.
    pos: usize,
    len: usize,
    /// What ends the stream, once the bytes before it are handed out.
    end: Option<Result<(), DecodeError>>,
}

impl ObjectReader {
    /// Opens object `sha256` of `store` for reading (a delta object's reference is read first).
    pub(super) fn open(store: &ObjectStore, sha256: &Sha256Digest) -> Result<Self, StoreError> {
        let path = store.path_of(sha256);
        let mut decoder = ObjectDecoder::new(1 << 16, 0).map_err(|e| StoreError::io(&path, e))?;
        let opened = decoder
            .open_object(
                fsutil::open_for_reading(&path, fsutil::Links::Refuse),
                Some(store),
            )
            .and_then(|(file, first, is_delta)| {
                let pass = decoder.begin(first, is_delta)?;
                Ok((file, is_delta, pass))
            });
        let (file, is_delta, pass) = opened.map_err(|e| e.into_store_error(&path))?;
        Ok(ObjectReader {
            decoder,
            file,
            is_delta,
            pass,
            pos: 0,
            len: 0,
            end: None,
        })
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.len {
                let n = buf.len().min(self.len - self.pos);
                buf[..n].copy_from_slice(&self.decoder.output[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match self.end.take() {
                Some(Ok(())) => {
                    self.end = Some(Ok(()));
                    return Ok(0);
                }
                Some(Err(e)) => {
                    // Reported once; the stream then ends.
                    self.end = Some(Ok(()));
                    return Err(match e {
                        DecodeError::Read(e) | DecodeError::Damaged { error: e, .. } => e,
                        DecodeError::CutShort { .. } => {
                            io::Error::new(io::ErrorKind::UnexpectedEof, INCOMPLETE)
                        }
                        e => io::Error::other(format!("{e:?}")),
                    });
                }
                None => {}
            }
            let step = self
                .decoder
                .step(&mut self.pass, &mut self.file, self.is_delta, u64::MAX);
            (self.pos, self.len) = (0, step.written);
            match step.after {
                Ok(Next::More) => {}
                Ok(Next::Done | Next::Capped) => self.end = Some(Ok(())),
                Err(e) => self.end = Some(Err(e)),
            }
        }
    }
}

/// One `read`, retried when interrupted.
fn read_retry(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// Fills `buf` from `file` as far as the file goes; how many bytes were read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match read_retry(file, &mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The first bytes of an object file (up to a reference header's length).
pub(super) fn read_start(path: &Path) -> io::Result<Vec<u8>> {
    read_head(&mut fsutil::open_for_reading(path, fsutil::Links::Refuse)?)
}

/// The first bytes of an open object file (up to a reference header's length), leaving the
/// file positioned after them.
pub(super) fn read_head(file: &mut File) -> io::Result<Vec<u8>> {
    let mut start = vec![0u8; delta::REFERENCE_HEADER];
    let n = read_full(file, &mut start)?;
    start.truncate(n);
    Ok(start)
}
