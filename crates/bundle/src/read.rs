//! Reading a bundle safely: one streaming pass, nothing written anywhere, bounded memory.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use exhibit_core::{Blake3Digest, DualHasher, Sha256Digest};

use crate::error::ReadError;
use crate::ustar;

/// Limits on what [`read_bundle`] accepts. Anything past them is rejected, never truncated.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Most tar entries.
    pub max_entries: usize,
    /// Longest entry path, in bytes.
    pub max_path_bytes: usize,
    /// Largest single tag file (any file outside `data/`), kept in memory.
    pub max_tag_file_bytes: u64,
    /// Total of the tag files kept in memory (those a verifier parses; see [`BagFile::bytes`]).
    pub max_tag_total_bytes: u64,
    /// Total bytes of the uncompressed tar stream: every header block, file's data and padding
    /// (payload files are hashed, not kept).
    pub max_total_bytes: u64,
    /// zstd window log: bounds the decoder's memory to 2^N bytes.
    pub zstd_window_log_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 100_000,
            max_path_bytes: 1024,
            max_tag_file_bytes: 16 << 20,
            max_tag_total_bytes: 64 << 20,
            max_total_bytes: 64 << 30,
            zstd_window_log_max: 27,
        }
    }
}

/// One file of the bag.
#[derive(Clone, Debug)]
pub struct BagFile {
    /// Length in bytes.
    pub size: u64,
    /// SHA-256 of the bytes.
    pub sha256: Sha256Digest,
    /// BLAKE3 of the bytes.
    pub blake3: Blake3Digest,
    /// The bytes of the tag files a verifier parses (the BagIt files, `exhibit/manifests/`,
    /// `exhibit/keys/`, `exhibit/proofs/`, `exhibit/citation.txt`, the checkpoint and its
    /// time-stamp tokens) and of extracted texts up to
    /// each kind's budget ([`crate::layout::Kept`]); `None` for other files, which are only hashed.
    pub bytes: Option<Vec<u8>>,
}

/// A bag read from a bundle: its name and every file by path relative to the bag root.
#[derive(Clone, Debug)]
pub struct ReadBag {
    /// The bag's top directory name.
    pub name: String,
    /// Files by bag-relative path (`data/content/….html`, `bagit.txt`, …).
    pub files: BTreeMap<String, BagFile>,
}

impl ReadBag {
    /// The bytes of a tag file, if present.
    pub fn tag(&self, path: &str) -> Option<&[u8]> {
        if path.starts_with("data/") {
            return None;
        }
        self.files.get(path).and_then(|f| f.bytes.as_deref())
    }

    /// The bytes of a payload file a reader keeps (an extracted text, a screenshot, a
    /// certificate: [`crate::layout::Kept`]), if present and kept in memory.
    pub fn payload(&self, path: &str) -> Option<&[u8]> {
        crate::layout::Kept::of(path)?;
        self.files.get(path).and_then(|f| f.bytes.as_deref())
    }
}

fn unsafe_entry(entry: &str, reason: impl Into<String>) -> ReadError {
    ReadError::Unsafe {
        entry: entry.to_owned(),
        reason: reason.into(),
    }
}

/// Checks an entry path and splits it into (bag name, path inside the bag).
fn check_path(raw: &[u8], limits: &Limits) -> Result<(String, String), ReadError> {
    let shown = String::from_utf8_lossy(raw).into_owned();
    if raw.len() > limits.max_path_bytes {
        return Err(unsafe_entry(
            &shown,
            format!("path longer than {} bytes", limits.max_path_bytes),
        ));
    }
    let path = std::str::from_utf8(raw).map_err(|_| unsafe_entry(&shown, "path is not UTF-8"))?;
    if path.starts_with('/') {
        return Err(unsafe_entry(path, "absolute path"));
    }
    if path.contains('\\') || path.contains('\0') || path.chars().any(char::is_control) {
        return Err(unsafe_entry(path, "backslash or control character in path"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let mut parts = trimmed.split('/');
    let mut components = Vec::new();
    for part in parts.by_ref() {
        match part {
            "" => return Err(unsafe_entry(path, "empty path component")),
            "." | ".." => return Err(unsafe_entry(path, "`.` or `..` in path")),
            p => components.push(p),
        }
    }
    let Some((bag, rest)) = components.split_first() else {
        return Err(unsafe_entry(path, "empty path"));
    };
    Ok(((*bag).to_owned(), rest.join("/")))
}

/// Reads a `.tar.zst` bundle from `input`: checks every entry, hashes every file, keeps the
/// tag files, and returns the bag. The tar is read with the strict parser of `ustar.rs`, which
/// accepts only headers every common tar reader (GNU tar, Python's `tarfile`) reads the same
/// way: regular files, and directories without data (docs/FORMAT.md §11.3). Rejects (with a
/// one-line reason naming the entry) any other header — links, devices, FIFOs, pax and GNU
/// extensions, directories carrying data, lenient numbers, bad checksums, names tar would read
/// differently — absolute paths, `..`, duplicate entries, a path both a file and a directory,
/// more than one top-level directory, anything after the first zero block but zeros, anything
/// past `limits`, and truncated or corrupt streams.
///
/// Decompression runs on a second thread, a few chunks ahead of the tar parsing and hashing on
/// the calling thread, so that a verification uses two cores (memory stays bounded: at most
/// [`PIPELINE_CHUNKS`] chunks of [`PIPELINE_CHUNK_BYTES`] are in flight).
pub fn read_bundle(input: impl Read + Send, limits: &Limits) -> Result<ReadBag, ReadError> {
    let mut decoder = zstd::stream::read::Decoder::new(input)
        .map_err(|e| ReadError::Corrupt(format!("not a zstd stream: {e}")))?;
    decoder
        .window_log_max(limits.zstd_window_log_max)
        .map_err(|e| ReadError::Corrupt(format!("zstd: {e}")))?;
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPELINE_CHUNKS);
        scope.spawn(move || decompress_ahead(decoder, &tx));
        // Dropping the reader (on success or at the first error) ends the decompressing thread
        // at its next chunk.
        read_tar(ChunkReader::new(rx), limits)
    })
}

/// Uncompressed bytes per chunk handed from the decompressing thread to the reader.
pub const PIPELINE_CHUNK_BYTES: usize = 256 << 10;
/// Chunks the decompressing thread may run ahead of the reader.
pub const PIPELINE_CHUNKS: usize = 4;

type Chunk = std::io::Result<Vec<u8>>;

/// Reads `decoder` to its end in chunks sent to `tx`; stops at the first error (sent on) or
/// when the receiver is gone.
fn decompress_ahead(mut decoder: impl Read, tx: &std::sync::mpsc::SyncSender<Chunk>) {
    loop {
        let mut chunk = vec![0u8; PIPELINE_CHUNK_BYTES];
        let mut filled = 0;
        while filled < chunk.len() {
            match decoder.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if filled > 0 {
                        chunk.truncate(filled);
                        if tx.send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            return; // the end: the closed channel reads as end of stream
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
    }
}

/// The reading end of [`decompress_ahead`].
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<Chunk>,
    chunk: Vec<u8>,
    at: usize,
}

impl ChunkReader {
    fn new(rx: std::sync::mpsc::Receiver<Chunk>) -> Self {
        ChunkReader {
            rx,
            chunk: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads an uncompressed tar stream as [`read_bundle`] reads the decompressed bundle: the same
/// checks, limits and result. For tests and fuzzing of the tar layer; a verifier reads bundles
/// with [`read_bundle`].
pub fn read_tar_stream(tar: impl Read, limits: &Limits) -> Result<ReadBag, ReadError> {
    read_tar(tar, limits)
}

/// Reads exactly `buf.len()` bytes unless the stream ends first; returns how many were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// [`read_bundle`] after decompression: the tar stream, read header by header with the strict
/// parser of [`crate::ustar`] (see there for why it is not a tar library).
fn read_tar(mut input: impl Read, limits: &Limits) -> Result<ReadBag, ReadError> {
    let mut bag_name: Option<String> = None;
    let mut files: BTreeMap<String, BagFile> = BTreeMap::new();
    // Explicit directory entries, and every directory that a file's path implies.
    let mut explicit_dirs: BTreeSet<String> = BTreeSet::new();
    let mut implied_dirs: BTreeSet<String> = BTreeSet::new();
    let mut count = 0usize;
    // Every byte of the tar stream read so far: headers, data, padding.
    let mut consumed = 0u64;
    let mut tag_total = 0u64;
    let mut kept_so_far = crate::layout::KeptSoFar::default();
    let mut block = [0u8; ustar::BLOCK];
    let mut buf = vec![0u8; 1 << 16];
    let over_total = |what: &str| {
        ReadError::Limit(format!(
            "{what}: the bundle holds more than {} bytes (the limit)",
            limits.max_total_bytes
        ))
    };
    loop {
        let at = consumed;
        if at.saturating_add(ustar::BLOCK as u64) > limits.max_total_bytes {
            return Err(over_total(&format!("the header at byte {at}")));
        }
        let n = read_full(&mut input, &mut block)
            .map_err(|e| ReadError::Corrupt(format!("entry {} (at byte {at}): {e}", count + 1)))?;
        consumed += n as u64;
        if n == 0 && count == 0 {
            return Err(ReadError::Corrupt("not a tar stream: it is empty".into()));
        }
        if n < ustar::BLOCK {
            return Err(ReadError::Corrupt(format!(
                "the tar stream ends at byte {consumed}, without its end-of-archive blocks"
            )));
        }
        if block.iter().all(|&b| b == 0) {
            break;
        }
        count += 1;
        if count > limits.max_entries {
            return Err(ReadError::Limit(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let header = ustar::parse(&block).map_err(|r| {
            if r.corrupt {
                ReadError::Corrupt(format!(
                    "entry {count} (at byte {at}, name {:?}): {}",
                    r.name, r.reason
                ))
            } else {
                unsafe_entry(&r.name, r.reason)
            }
        })?;
        let shown = String::from_utf8_lossy(&header.path).into_owned();
        let (bag, rel) = check_path(&header.path, limits)?;
        match &bag_name {
            None => bag_name = Some(bag.clone()),
            Some(b) if *b != bag => {
                return Err(ReadError::NotABag(format!(
                    "more than one top-level directory ({b:?} and {bag:?}): a bundle holds one bag"
                )));
            }
            Some(_) => {}
        }
        // One tree, as an extractor builds it: no path is both a file and a directory, and no
        // file sits below a file.
        if let Some(file) = ancestors(&rel).find(|a| files.contains_key(*a)) {
            return Err(unsafe_entry(
                &shown,
                format!("inside {file:?}, which is a file"),
            ));
        }
        if header.kind == ustar::Kind::Directory {
            if files.contains_key(&rel) || !explicit_dirs.insert(rel.clone()) {
                return Err(unsafe_entry(&shown, "duplicate entry"));
            }
            continue;
        }
        if rel.is_empty() {
            return Err(unsafe_entry(
                &shown,
                "a file where the bag directory should be",
            ));
        }
        if files.contains_key(&rel) || explicit_dirs.contains(&rel) || implied_dirs.contains(&rel) {
            return Err(unsafe_entry(&shown, "duplicate entry"));
        }
        for a in ancestors(&rel) {
            implied_dirs.insert(a.to_owned());
        }
        let size = header.size;
        let padded = size + ustar::padding(size);
        if consumed.saturating_add(padded) > limits.max_total_bytes {
            return Err(over_total(&shown));
        }
        let is_tag = !rel.starts_with("data/");
        let keep_payload = !is_tag && kept_so_far.admit(&rel, size);
        let keep = (is_tag && is_parsed_tag_file(&rel)) || keep_payload;
        let mut kept = Vec::new();
        if is_tag && size > limits.max_tag_file_bytes {
            return Err(ReadError::Limit(format!(
                "{shown}: tag file of {size} bytes exceeds the {}-byte limit",
                limits.max_tag_file_bytes
            )));
        }
        if keep && !keep_payload {
            tag_total += size;
            if tag_total > limits.max_tag_total_bytes {
                return Err(ReadError::Limit(format!(
                    "tag files exceed {} bytes in total",
                    limits.max_tag_total_bytes
                )));
            }
            kept.reserve(size as usize);
        }
        let mut hasher = DualHasher::new();
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = read_full(&mut input, &mut buf[..want])
                .map_err(|e| ReadError::Corrupt(format!("{shown:?}: {e}")))?;
            if n == 0 {
                return Err(ReadError::Corrupt(format!(
                    "{shown:?}: {} bytes where the header says {size}",
                    size - left
                )));
            }
            hasher.update(&buf[..n]);
            if keep {
                kept.extend_from_slice(&buf[..n]);
            }
            left -= n as u64;
        }
        let pad = &mut buf[..ustar::padding(size) as usize];
        let got = read_full(&mut input, pad)
            .map_err(|e| ReadError::Corrupt(format!("{shown:?}: {e}")))?;
        if got < pad.len() {
            return Err(ReadError::Corrupt(format!(
                "{shown:?}: the stream ends in the padding after its data"
            )));
        }
        if pad.iter().any(|&b| b != 0) {
            return Err(unsafe_entry(
                &shown,
                "non-zero bytes in the padding after its data",
            ));
        }
        consumed += padded;
        let (sha256, blake3, _) = hasher.finish();
        files.insert(
            rel,
            BagFile {
                size,
                sha256,
                blake3,
                bytes: keep.then_some(kept),
            },
        );
    }
    // The first zero block ends the archive for every tar reader (GNU tar, Python's tarfile):
    // whatever follows is hidden from them, so only zeros may, and tar writes two zero blocks.
    let n = read_full(&mut input, &mut block)
        .map_err(|e| ReadError::Corrupt(format!("after the last entry: {e}")))?;
    if n < ustar::BLOCK || block.iter().any(|&b| b != 0) {
        return Err(ReadError::Corrupt(format!(
            "a lone zero block at byte {}: the end of a tar archive is two zero blocks, and \
             nothing but zeros may follow the first",
            consumed - ustar::BLOCK as u64
        )));
    }
    drain_after_end(input)?;
    let name = bag_name.ok_or_else(|| ReadError::NotABag("the tar holds no files".into()))?;
    if files.is_empty() {
        return Err(ReadError::NotABag(format!("bag {name:?} holds no files")));
    }
    Ok(ReadBag { name, files })
}

/// The directories above a bag path, nearest last: `a/b/c` → `a`, `a/b`.
fn ancestors(rel: &str) -> impl Iterator<Item = &str> {
    rel.match_indices('/').map(|(i, _)| &rel[..i])
}

/// Whether a tag file is one a verifier parses, and so is kept in memory.
fn is_parsed_tag_file(rel: &str) -> bool {
    use crate::layout::{
        BAG_INFO_TXT, BAGIT_TXT, CITATION_TXT, MANIFEST, REPORT_HTML, REPORT_PDF, SEAL,
        TAG_MANIFEST,
    };
    [
        BAGIT_TXT,
        BAG_INFO_TXT,
        MANIFEST,
        TAG_MANIFEST,
        SEAL,
        CITATION_TXT,
        REPORT_PDF,
        REPORT_HTML,
    ]
    .contains(&rel)
        || [
            "exhibit/manifests/",
            "exhibit/keys/",
            "exhibit/proofs/",
            crate::layout::ANCHORS_DIR,
        ]
        .iter()
        .any(|dir| rel.starts_with(dir))
        || crate::layout::is_timestamp_path(rel)
        || rel == crate::layout::COSIGNED_CHECKPOINT
}

/// Most zero bytes accepted after the tar's end-of-archive marker (tar pads archives with zero
/// blocks, GNU tar to 10 KiB records).
const MAX_TRAILING_ZEROS: u64 = 1 << 20;

/// Reads the stream after the last tar entry to its end: only zero padding may follow, and
/// reaching the end makes the zstd decoder check the frame's checksum and completeness, so a
/// truncated or extended bundle is refused.
fn drain_after_end(mut rest: impl Read) -> Result<(), ReadError> {
    let mut buf = vec![0u8; 1 << 16];
    let mut seen = 0u64;
    loop {
        let n = match rest.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Corrupt(format!("after the last entry: {e}"))),
        };
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(ReadError::Corrupt(
                "data after the end of the tar archive".into(),
            ));
        }
        seen += n as u64;
        if seen > MAX_TRAILING_ZEROS {
            return Err(ReadError::Limit(format!(
                "more than {MAX_TRAILING_ZEROS} bytes of padding after the tar archive"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar of `entries` (path, type, size field, data) as the writer's headers, the type and
    /// size changed where asked, then `end`.
    fn tar_of(entries: &[(&str, u8, &[u8])], end: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (path, flag, data) in entries {
            let mut h =
                ustar::file_header(path.trim_end_matches('/'), data.len() as u64, 0).unwrap();
            if path.ends_with('/') {
                h[path.len() - 1] = b'/';
            }
            h[156] = *flag;
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..156].copy_from_slice(format!("{sum:07o}\0").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            out.resize(out.len() + ustar::padding(data.len() as u64) as usize, 0);
        }
        out.extend_from_slice(end);
        out
    }

    const END: &[u8] = &[0; 1024];

    fn read(tar: &[u8]) -> Result<ReadBag, ReadError> {
        read_tar_stream(tar, &Limits::default())
    }

    #[test]
    fn a_plain_tar_is_read() {
        let bag = read(&tar_of(
            &[
                ("bag/", b'5', b""),
                ("bag/bagit.txt", b'0', b"x\n"),
                ("bag/data/", b'5', b""),
                ("bag/data/a.html", b'0', b""),
            ],
            END,
        ))
        .unwrap();
        assert_eq!(bag.name, "bag");
        assert_eq!(
            bag.files.keys().collect::<Vec<_>>(),
            ["bagit.txt", "data/a.html"]
        );
        assert_eq!(bag.tag("bagit.txt"), Some(&b"x\n"[..]));
    }

    #[test]
    fn the_end_of_the_archive_is_two_zero_blocks_and_zeros() {
        let files: &[(&str, u8, &[u8])] = &[("bag/a", b'0', b"a")];
        let mut padded = END.to_vec();
        padded.extend_from_slice(&[0; 10240 - 1024 + 7]);
        assert!(read(&tar_of(files, &padded)).is_ok());
        for (end, want) in [
            (&b""[..], "without its end-of-archive blocks"),
            (&[0; 512][..], "lone zero block"),
            (&[0; 700][..], "lone zero block"),
        ] {
            let e = read(&tar_of(files, end)).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        // An entry after a lone zero block, or after the end: hidden from tar readers.
        let hidden = tar_of(&[("bag/b", b'0', b"b")], END);
        for zeros in [512, 1024] {
            let mut end = vec![0; zeros];
            end.extend_from_slice(&hidden);
            let e = read(&tar_of(files, &end)).unwrap_err().to_string();
            assert!(
                e.contains("zero block") || e.contains("after the end"),
                "{e}"
            );
        }
        assert!(read(b"").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn one_tree_as_an_extractor_builds_it() {
        for (entries, want) in [
            (
                &[("bag/a", b'0', &b"1"[..]), ("bag/a/b", b'0', b"2")][..],
                "which is a file",
            ),
            (&[("bag/a", b'0', b"1"), ("bag/a/", b'5', b"")], "duplicate"),
            (
                &[("bag/a/b", b'0', b"1"), ("bag/a", b'0', b"2")],
                "duplicate",
            ),
            (&[("bag/d/", b'5', b""), ("bag/d", b'0', b"2")], "duplicate"),
            (&[("bag/d/", b'5', b""), ("bag/d/", b'5', b"")], "duplicate"),
            (&[("bag/a", b'0', b"1"), ("bag/a", b'0', b"1")], "duplicate"),
        ] {
            let e = read(&tar_of(entries, END)).unwrap_err().to_string();
            assert!(e.contains(want), "{entries:?}: {e}");
        }
        // A directory entry after the files inside it is fine.
        assert!(
            read(&tar_of(
                &[("bag/d/x", b'0', b"1"), ("bag/d/", b'5', b"")],
                END
            ))
            .is_ok()
        );
    }

    #[test]
    fn padding_after_data_is_zero() {
        let mut tar = tar_of(&[("bag/a", b'0', b"abc")], END);
        tar[512 + 3] = b'!';
        let e = read(&tar).unwrap_err().to_string();
        assert!(e.contains("padding"), "{e}");
        let tar = tar_of(&[("bag/a", b'0', b"abc")], END);
        let e = read(&tar[..512 + 100]).unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("bag/a"), "{e}");
    }

    #[test]
    fn every_byte_of_the_stream_counts_toward_the_total_limit() {
        // 200 empty files: no data at all, but 100 KiB of headers.
        let names: Vec<String> = (0..200).map(|i| format!("bag/{i}")).collect();
        let entries: Vec<(&str, u8, &[u8])> =
            names.iter().map(|n| (n.as_str(), b'0', &b""[..])).collect();
        let tar = tar_of(&entries, END);
        let limits = Limits {
            max_total_bytes: 100 * 512,
            ..Limits::default()
        };
        let e = read_tar_stream(&tar[..], &limits).unwrap_err();
        assert!(matches!(e, ReadError::Limit(_)), "{e}");
        assert!(read_tar_stream(&tar[..], &Limits::default()).is_ok());
        // Data and padding count too: 1 byte of data takes a 512-byte block.
        let tar = tar_of(&[("bag/a", b'0', b"x")], END);
        let limits = Limits {
            max_total_bytes: 1023,
            ..Limits::default()
        };
        assert!(matches!(
            read_tar_stream(&tar[..], &limits),
            Err(ReadError::Limit(_))
        ));
    }

    #[test]
    fn refusals_name_the_entry_on_one_line() {
        let mut tar = tar_of(&[("bag/data/x.html", b'5', b"")], END);
        tar[124..136].copy_from_slice(b"00000000012\0");
        tar[148..156].copy_from_slice(b"        ");
        let sum: u32 = tar[..512].iter().map(|&b| u32::from(b)).sum();
        tar[148..156].copy_from_slice(format!("{sum:07o}\0").as_bytes());
        let e = read(&tar).unwrap_err().to_string();
        assert!(
            e.contains("\"bag/data/x.html\"") && e.contains("directory"),
            "{e}"
        );
        let mut tar = tar_of(&[("bag/a\nb", b'0', b"")], END);
        tar[0] = b'\x1b';
        let e = read(&tar).unwrap_err().to_string();
        assert!(!e.contains('\n') && !e.contains('\x1b'), "{e:?}");
    }

    #[test]
    fn paths_are_checked() {
        let l = Limits::default();
        assert_eq!(
            check_path(b"bag/data/x.html", &l).unwrap(),
            ("bag".into(), "data/x.html".into())
        );
        assert_eq!(
            check_path(b"bag/", &l).unwrap(),
            ("bag".into(), String::new())
        );
        for bad in [
            &b"/etc/passwd"[..],
            b"bag/../x",
            b"bag/./x",
            b"bag//x",
            b"..",
            b"bag\\..\\x",
            b"bag/\xff",
            b"",
        ] {
            assert!(
                check_path(bad, &l).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
