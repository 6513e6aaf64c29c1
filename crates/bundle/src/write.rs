//! Writing a bundle: deterministic, streaming.
//!
//! Not for what goes into one (see `contents`) nor for the text of VERIFY.txt (see
//! `verify_txt`).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use exhibit_core::citation::{self, HashForm, RecordFacts};
use exhibit_core::{AnyManifest, Blake3Digest, DualHasher, Sha256Digest};

use crate::contents::{Bundle, BundleRecord};
use crate::error::BundleError;
use crate::layout::{
    self, BAG_INFO_TXT, BAGIT_TXT, BAGIT_TXT_CONTENT, MANIFEST, SEAL, TAG_MANIFEST,
};
use crate::ustar;

/// Worker threads compressing a bundle (zstd's own; see [`write_bundle`]).
const COMPRESSION_WORKERS: u32 = 2;

/// What was written.
#[derive(Clone, Debug)]
pub struct WriteSummary {
    /// Number of entries in the tar.
    pub entries: usize,
    /// Payload bytes.
    pub payload_bytes: u64,
    /// Payload files.
    pub payload_files: usize,
    /// Fingerprint of the sealing key.
    pub sealed_by: String,
}

enum Source {
    Memory(Vec<u8>),
    Object {
        sha256: Sha256Digest,
        blake3: Blake3Digest,
        size: u64,
    },
}

/// A bag before its tag manifest and seal: the payload by path (described, not read) and every
/// tag file but the report, the tag manifest and the seal.
struct Assembled {
    payload: BTreeMap<String, Source>,
    tags: BTreeMap<String, Vec<u8>>,
    oxum_bytes: u64,
    seal_fp: String,
}

/// Lays out a bag's payload and tag files (everything the seal will cover but the report).
fn assemble(bundle: &Bundle<'_>) -> Result<Assembled, BundleError> {
    if bundle.records.is_empty() {
        return Err(BundleError::Invalid(
            "a bundle needs at least one record".into(),
        ));
    }
    let mut records = bundle.records.clone();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    records.dedup_by(|a, b| a.id == b.id);

    // Payload: each distinct object once.
    let mut payload: BTreeMap<String, Source> = BTreeMap::new();
    for r in records.iter().filter_map(BundleRecord::capture) {
        for object in r.objects() {
            payload.insert(
                layout::object_path(&object),
                Source::Object {
                    sha256: object.sha256,
                    blake3: object.blake3,
                    size: object.size,
                },
            );
        }
    }
    let mut manifest_txt = String::new();
    let mut oxum_bytes = 0u64;
    for (path, source) in &payload {
        if let Source::Object { sha256, size, .. } = source {
            manifest_txt.push_str(&format!("{sha256}  {path}\n"));
            oxum_bytes += size;
        }
    }

    // Tag files.
    let mut tags: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    tags.insert(BAGIT_TXT.into(), BAGIT_TXT_CONTENT.as_bytes().to_vec());
    let seal_fp = bundle.seal.public_key().fingerprint().to_string();
    let mut info = format!(
        "Bagging-Date: {}\nPayload-Oxum: {oxum_bytes}.{}\nSource-Organization: {}\n",
        bundle.created.format("%Y-%m-%d"),
        payload.len(),
        one_line(&bundle.origin)
    );
    for r in &records {
        info.push_str(&format!("External-Identifier: {}\n", r.id));
    }
    info.push_str(&format!(
        "External-Description: Evidence bundle of {} exhibit record(s); see VERIFY.txt\n",
        records.len()
    ));
    info.push_str(&format!("Exhibit-Signer: {seal_fp}\n"));
    info.push_str(concat!(
        "Bag-Software-Agent: exhibit/",
        env!("CARGO_PKG_VERSION"),
        "\n"
    ));
    tags.insert(BAG_INFO_TXT.into(), info.into_bytes());
    tags.insert(MANIFEST.into(), manifest_txt.into_bytes());
    let mut citations = String::new();
    for r in &records {
        if !citations.is_empty() {
            citations.push('\n');
        }
        let sha = Sha256Digest::of(&r.manifest_bytes);
        let facts = match &r.manifest {
            AnyManifest::Capture(m) => RecordFacts::of_capture(m, sha, r.log_index),
            AnyManifest::Provision(p) => {
                let opening = records
                    .iter()
                    .filter_map(BundleRecord::capture)
                    .find(|c| c.id == p.capture.id)
                    .ok_or_else(|| {
                        BundleError::Invalid(format!(
                            "provision {} needs its version's capture {} in the bundle",
                            p.id, p.capture.id
                        ))
                    })?;
                RecordFacts::of_provision(p, sha, r.log_index, opening)
            }
        };
        citations.push_str(&citation::render(&facts, HashForm::Full));
    }
    tags.insert(layout::CITATION_TXT.into(), citations.into_bytes());
    for r in &records {
        let path = layout::manifest_path(&r.id);
        tags.insert(format!("{path}.sig"), r.signature.clone());
        tags.insert(path, r.manifest_bytes.clone());
        if let Some(proof) = &r.tlog_proof {
            tags.insert(layout::proof_path(&r.id), proof.clone().into_bytes());
        }
    }
    if let Some(note) = &bundle.checkpoint {
        for (n, t) in bundle.timestamps.iter().enumerate() {
            let (data, token) = layout::timestamp_paths(n, &t.tsa);
            if !layout::is_timestamp_path(&token) {
                return Err(BundleError::Invalid(format!(
                    "TSA name {:?} cannot name a bundle path",
                    t.tsa
                )));
            }
            tags.insert(data, note.clone().into_bytes());
            tags.insert(token, t.response.clone());
        }
        tags.insert(layout::CHECKPOINT.into(), note.clone().into_bytes());
        if !bundle.cosignatures.is_empty() {
            let mut lines = bundle.cosignatures.clone();
            lines.sort();
            lines.dedup();
            if lines
                .iter()
                .any(|l| !l.starts_with("\u{2014} ") || !l.ends_with('\n'))
            {
                return Err(BundleError::Invalid(
                    "a cosignature is not one note signature line".into(),
                ));
            }
            let cosigned = format!("{note}{}", lines.concat());
            tags.insert(layout::COSIGNED_CHECKPOINT.into(), cosigned.into_bytes());
        }
    } else if !bundle.timestamps.is_empty() {
        return Err(BundleError::Invalid(
            "time-stamp tokens need the checkpoint they stamp".into(),
        ));
    }
    for (name, bytes) in &bundle.key_history {
        if !is_history_file_name(name) {
            return Err(BundleError::Invalid(format!(
                "{name:?} is not a key history file name"
            )));
        }
        tags.insert(format!("{}{name}", layout::KEY_HISTORY_DIR), bytes.clone());
    }
    for a in &bundle.anchors {
        let [note, token, consistency] = layout::anchor_paths(a.size);
        let proof: String = a
            .consistency
            .iter()
            .map(|h| format!("{}\n", exhibit_core::checkpoint::base64_encode(h)))
            .collect();
        tags.insert(note, a.checkpoint.clone().into_bytes());
        tags.insert(token, a.token.clone());
        tags.insert(consistency, proof.into_bytes());
    }
    let mut keys = bundle.public_keys.clone();
    keys.push(bundle.seal.public_key());
    for key in &keys {
        tags.insert(
            layout::key_path(&key.fingerprint().to_string()),
            key.to_spki_pem().into_bytes(),
        );
    }
    let verify_txt = crate::verify_txt::render(bundle, &records, &seal_fp);
    tags.insert(layout::VERIFY_TXT.into(), verify_txt.into_bytes());
    Ok(Assembled {
        payload,
        tags,
        oxum_bytes,
        seal_fp,
    })
}

/// Whether `name` is a key history file: digits, then `.json`, `.json.sig` or `.json.new.sig`.
fn is_history_file_name(name: &str) -> bool {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    digits >= 6 && matches!(&name[digits..], ".json" | ".json.sig" | ".json.new.sig")
}

/// The bag `bundle` describes as a reader would see it before the report is added: every tag
/// file with its bytes, every payload file with its digests, and the bytes of the payload
/// files a reader keeps ([`layout::Kept`]), read through `open_object` and checked
/// against their manifests. What the report is made from (`exhibit-report`), so that the
/// verifier, holding the finished bag, makes the same report.
pub fn view(
    bundle: &Bundle<'_>,
    open_object: &dyn Fn(&Sha256Digest) -> io::Result<Box<dyn Read>>,
) -> Result<crate::ReadBag, BundleError> {
    let assembled = assemble(bundle)?;
    let mut files = BTreeMap::new();
    for (path, bytes) in assembled.tags {
        let mut hasher = DualHasher::new();
        hasher.update(&bytes);
        let (sha256, blake3, size) = hasher.finish();
        files.insert(
            path,
            crate::BagFile {
                size,
                sha256,
                blake3,
                bytes: Some(bytes),
            },
        );
    }
    let mut kept = layout::KeptSoFar::default();
    for (path, source) in assembled.payload {
        let Source::Object {
            sha256,
            blake3,
            size,
        } = source
        else {
            continue;
        };
        let bytes = if kept.admit(&path, size) {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            copy_checked(open_object, &sha256, &blake3, size, &mut bytes)?;
            Some(bytes)
        } else {
            None
        };
        files.insert(
            path,
            crate::BagFile {
                size,
                sha256,
                blake3,
                bytes,
            },
        );
    }
    Ok(crate::ReadBag {
        name: bundle.name.clone(),
        files,
    })
}

/// Writes a bundle to `out`, streaming payload bytes from `open_object` (which opens an
/// archive object by SHA-256). Each object is checked against the size, SHA-256 and BLAKE3 its
/// manifest records while it is copied; a mismatch aborts with [`BundleError::Damaged`] (the
/// caller discards the partial output).
pub fn write_bundle(
    out: &mut dyn Write,
    bundle: &Bundle<'_>,
    open_object: &dyn Fn(&Sha256Digest) -> io::Result<Box<dyn Read>>,
) -> Result<WriteSummary, BundleError> {
    let Assembled {
        payload,
        mut tags,
        oxum_bytes,
        seal_fp,
    } = assemble(bundle)?;
    for (path, bytes) in bundle.report.iter().flatten() {
        if ![layout::REPORT_PDF, layout::REPORT_HTML].contains(&path.as_str()) {
            return Err(BundleError::Invalid(format!(
                "{path} is not a report file name"
            )));
        }
        tags.insert(path.clone(), bytes.clone());
    }

    let mut tag_manifest = String::new();
    for (path, bytes) in &tags {
        tag_manifest.push_str(&format!("{}  {path}\n", Sha256Digest::of(bytes)));
    }
    let seal = bundle.seal.sign(tag_manifest.as_bytes());
    tags.insert(TAG_MANIFEST.into(), tag_manifest.into_bytes());
    tags.insert(SEAL.into(), seal.as_bytes().to_vec());

    check_readable(&payload, &tags)?;

    // Everything, sorted by path.
    let mut entries: BTreeMap<String, Source> = payload;
    for (path, bytes) in tags {
        entries.insert(path, Source::Memory(bytes));
    }
    let mtime = bundle.created.timestamp().max(0) as u64;
    let mut encoder = zstd::stream::write::Encoder::new(out, 3)?;
    encoder.include_checksum(true)?;
    // Compress on other cores while this thread reads, checks and feeds the payload. zstd's
    // multi-threaded output depends on its parameters, not on the number of workers (at least
    // one), so bundles stay byte-for-byte reproducible on any machine.
    encoder.multithread(COMPRESSION_WORKERS)?;
    // The tar stream is written here, header by header (`ustar::file_header`), in exactly the
    // dialect `read_bundle` accepts: regular files, POSIX ustar, then two zero blocks.
    let mut payload_files = 0;
    let count = entries.len();
    for (path, source) in entries {
        let full = format!("{}/{path}", bundle.name);
        match source {
            Source::Memory(bytes) => {
                let size = bytes.len() as u64;
                encoder.write_all(
                    &ustar::file_header(&full, size, mtime).map_err(BundleError::Invalid)?,
                )?;
                encoder.write_all(&bytes)?;
                write_padding(&mut encoder, size)?;
            }
            Source::Object {
                sha256,
                blake3,
                size,
            } => {
                payload_files += 1;
                let header =
                    ustar::file_header(&full, size, mtime).map_err(BundleError::Invalid)?;
                encoder.write_all(&header)?;
                copy_checked(open_object, &sha256, &blake3, size, &mut encoder)?;
                write_padding(&mut encoder, size)?;
            }
        }
    }
    // End of archive: two zero blocks.
    encoder.write_all(&[0u8; 2 * ustar::BLOCK])?;
    encoder.finish()?.flush()?;
    Ok(WriteSummary {
        entries: count,
        payload_bytes: oxum_bytes,
        payload_files,
        sealed_by: seal_fp,
    })
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Zero bytes after `size` bytes of data, up to a whole tar block.
fn write_padding(out: &mut impl Write, size: u64) -> io::Result<()> {
    let pad = ustar::padding(size) as usize;
    out.write_all(&[0u8; ustar::BLOCK][..pad])
}

/// Copies the object `sha256` to `out`, checking its size and both digests on the way (one
/// pass); a mismatch is [`BundleError::Damaged`].
fn copy_checked(
    open_object: &dyn Fn(&Sha256Digest) -> io::Result<Box<dyn Read>>,
    sha256: &Sha256Digest,
    blake3: &Blake3Digest,
    size: u64,
    out: &mut dyn Write,
) -> Result<(), BundleError> {
    let reader = open_object(sha256).map_err(|source| BundleError::Object {
        sha256: sha256.to_hex(),
        source,
    })?;
    let mut checked = CheckedReader {
        inner: reader.take(size + 1),
        hasher: DualHasher::new(),
    };
    io::copy(&mut checked, out)?;
    let (s, b, n) = checked.hasher.finish();
    if n != size || s != *sha256 || b != *blake3 {
        return Err(BundleError::Damaged {
            sha256: sha256.to_hex(),
            message: format!("read {n} bytes hashing to sha256 {s}, expected {size} bytes"),
        });
    }
    Ok(())
}

/// Hashes what passes through, so the copy and the check are one pass.
struct CheckedReader<R> {
    inner: R,
    hasher: DualHasher,
}

impl<R: Read> Read for CheckedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Refuses, before a byte is written, a bundle that `read_bundle` would refuse for its size
/// ([`crate::Limits`], FORMAT §11.3): too many entries, a tag file or all tag files together
/// too large (browser captures have large manifests). Split the records over several bundles.
fn check_readable(
    payload: &BTreeMap<String, Source>,
    tags: &BTreeMap<String, Vec<u8>>,
) -> Result<(), BundleError> {
    let limits = crate::Limits::default();
    // Files, plus the directories an extractor creates (a generous count: one per file).
    let entries = 2 * (payload.len() + tags.len());
    if entries > limits.max_entries {
        return Err(BundleError::Invalid(format!(
            "{} files are more than a reader accepts in one bundle ({} entries): bundle fewer records",
            payload.len() + tags.len(),
            limits.max_entries / 2
        )));
    }
    let mut total = 0u64;
    for (path, bytes) in tags {
        let size = bytes.len() as u64;
        if size > limits.max_tag_file_bytes {
            return Err(BundleError::Invalid(format!(
                "{path} would be {size} bytes, more than the {}-byte limit a reader accepts",
                limits.max_tag_file_bytes
            )));
        }
        total += size;
    }
    if total > limits.max_tag_total_bytes {
        return Err(BundleError::Invalid(format!(
            "the manifests and tag files would be {total} bytes, more than the {} bytes a reader \
             accepts in one bundle: bundle fewer records",
            limits.max_tag_total_bytes
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_a_reader_would_refuse_is_never_written() {
        let payload = BTreeMap::new();
        let mut tags: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        tags.insert(
            "exhibit/manifests/EX-C-000001.json".into(),
            vec![b'{'; 1 << 20],
        );
        check_readable(&payload, &tags).unwrap();
        tags.insert("big".into(), vec![0; (16 << 20) + 1]);
        let e = check_readable(&payload, &tags).unwrap_err().to_string();
        assert!(e.contains("big would be"), "{e}");
        tags.remove("big");
        for i in 0..5 {
            tags.insert(format!("m{i}"), vec![0; 13 << 20]);
        }
        let e = check_readable(&payload, &tags).unwrap_err().to_string();
        assert!(e.contains("bundle fewer records"), "{e}");
    }
}
