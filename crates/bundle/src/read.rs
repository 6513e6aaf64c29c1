//! Reading a bundle safely: one streaming pass, nothing written anywhere, bounded memory.

use std::collections::BTreeMap;
use std::io::Read;

use exhibit_core::{Blake3Digest, DualHasher, Sha256Digest};

use crate::ReadError;

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
    /// Total uncompressed bytes of all files (payload files are hashed, not kept).
    pub max_total_bytes: u64,
    /// Extracted texts (`data/text/*.txt`) are kept in memory, for checking quoted provisions
    /// and excerpts, while their total stays within this; later ones are only hashed.
    pub max_text_kept_bytes: u64,
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
            max_text_kept_bytes: 64 << 20,
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
    /// [`Limits::max_text_kept_bytes`]; `None` for other files, which are only hashed.
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

    /// The bytes of an extracted text (`data/text/….txt`), if present and kept in memory.
    pub fn text(&self, path: &str) -> Option<&[u8]> {
        if !path.starts_with("data/text/") {
            return None;
        }
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
/// tag files, and returns the bag. Rejects (with a one-line reason) absolute paths, `..`,
/// links, devices and other non-regular entries, duplicate entries, more than one top-level
/// directory, anything past `limits`, and truncated or corrupt streams.
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

/// [`read_bundle`] after decompression: the tar stream.
fn read_tar(decoded: impl Read, limits: &Limits) -> Result<ReadBag, ReadError> {
    let mut archive = tar::Archive::new(decoded);
    // Raw: pax and GNU extension headers come through as entries (and are refused below)
    // instead of being read into memory whatever their size. Bundles are plain ustar.
    let entries = archive
        .entries()
        .map_err(|e| ReadError::Corrupt(format!("not a tar stream: {e}")))?
        .raw(true);
    let mut bag_name: Option<String> = None;
    let mut files: BTreeMap<String, BagFile> = BTreeMap::new();
    let mut dirs: BTreeMap<String, ()> = BTreeMap::new();
    let mut count = 0usize;
    let mut total = 0u64;
    let mut tag_total = 0u64;
    let mut text_kept = 0u64;
    let mut buf = vec![0u8; 1 << 16];
    for entry in entries {
        let mut entry = entry.map_err(|e| ReadError::Corrupt(e.to_string()))?;
        count += 1;
        if count > limits.max_entries {
            return Err(ReadError::Limit(format!(
                "more than {} entries",
                limits.max_entries
            )));
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XHeader
                | tar::EntryType::XGlobalHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            // Refused before their contents (a path, a size) are read or believed.
            return Err(unsafe_entry(
                &shown,
                "pax or GNU extension header (bundles are plain ustar)",
            ));
        }
        let (bag, rel) = check_path(&raw, limits)?;
        match &bag_name {
            None => bag_name = Some(bag.clone()),
            Some(b) if *b != bag => {
                return Err(ReadError::NotABag(format!(
                    "more than one top-level directory ({b:?} and {bag:?}): a bundle holds one bag"
                )));
            }
            Some(_) => {}
        }
        match kind {
            tar::EntryType::Directory => {
                if files.contains_key(&rel) || dirs.insert(rel.clone(), ()).is_some() {
                    return Err(unsafe_entry(&shown, "duplicate entry"));
                }
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink => return Err(unsafe_entry(&shown, "symbolic link")),
            tar::EntryType::Link => return Err(unsafe_entry(&shown, "hard link")),
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(unsafe_entry(&shown, "device file"));
            }
            tar::EntryType::Fifo => return Err(unsafe_entry(&shown, "named pipe")),
            other => {
                return Err(unsafe_entry(
                    &shown,
                    format!("unsupported entry type {:?}", other.as_byte() as char),
                ));
            }
        }
        if rel.is_empty() {
            return Err(unsafe_entry(
                &shown,
                "a file where the bag directory should be",
            ));
        }
        if files.contains_key(&rel) || dirs.contains_key(&rel) {
            return Err(unsafe_entry(&shown, "duplicate entry"));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| ReadError::Corrupt(e.to_string()))?;
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(ReadError::Limit(format!(
                "{shown}: the bundle holds more than {} bytes (the limit)",
                limits.max_total_bytes
            )));
        }
        let is_tag = !rel.starts_with("data/");
        let keep_text = rel.starts_with("data/text/")
            && text_kept.saturating_add(size) <= limits.max_text_kept_bytes;
        if keep_text {
            text_kept += size;
        }
        let keep = (is_tag && is_parsed_tag_file(&rel)) || keep_text;
        let mut kept = Vec::new();
        if is_tag && size > limits.max_tag_file_bytes {
            return Err(ReadError::Limit(format!(
                "{shown}: tag file of {size} bytes exceeds the {}-byte limit",
                limits.max_tag_file_bytes
            )));
        }
        if keep && !keep_text {
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
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Corrupt(format!("{shown}: {e}"))),
            };
            hasher.update(&buf[..n]);
            if keep {
                kept.extend_from_slice(&buf[..n]);
            }
        }
        let (sha256, blake3, n) = hasher.finish();
        if n != size {
            return Err(ReadError::Corrupt(format!(
                "{shown}: {n} bytes where the header says {size}"
            )));
        }
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
    drain_after_end(archive.into_inner())?;
    let name = bag_name.ok_or_else(|| ReadError::NotABag("the tar holds no files".into()))?;
    if files.is_empty() {
        return Err(ReadError::NotABag(format!("bag {name:?} holds no files")));
    }
    Ok(ReadBag { name, files })
}

/// Whether a tag file is one a verifier parses, and so is kept in memory.
fn is_parsed_tag_file(rel: &str) -> bool {
    use crate::layout::{BAG_INFO_TXT, BAGIT_TXT, CITATION_TXT, MANIFEST, SEAL, TAG_MANIFEST};
    [
        BAGIT_TXT,
        BAG_INFO_TXT,
        MANIFEST,
        TAG_MANIFEST,
        SEAL,
        CITATION_TXT,
    ]
    .contains(&rel)
        || ["exhibit/manifests/", "exhibit/keys/", "exhibit/proofs/"]
            .iter()
            .any(|dir| rel.starts_with(dir))
        || crate::layout::is_timestamp_path(rel)
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
