//! `exhibit export --wacz`: the planned records as a WACZ 1.1.1 package (FORMAT §18) — the
//! WARC of `export --warc`, its CDXJ index and page list for replay tools, the evidence bundle
//! of the same records and its signed files directly under `exhibit/`, `datapackage.json`
//! listing every file's SHA-256, and `datapackage-digest.json` signed twice over the same
//! digest: by the archive's Ed25519 key (authoritative) and by the P-384 key derived from it,
//! the way WACZ's anonymous signing does, so that ReplayWeb.page shows the package as signed.
//!
//! Built in a private temporary folder beside `out` and moved into place whole; never
//! replaces a file. Not for the package's names and derived files (`exhibit_warc::wacz`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use exhibit_core::time;
use exhibit_warc::Compression;
use exhibit_warc::record::sha256_label;
use exhibit_warc::wacz::{self, Description, Indexed, Replay, Resource, Signatures};
use sha2::{Digest as _, Sha256};

use crate::OpsError;
use crate::bundle::Plan;
use crate::export::{self, Exported};

/// The bundle's file name inside its temporary folder (and so the bag's name).
const BUNDLE_FILE: &str = "bundle.tar.zst";

/// A file of the package: bytes in hand, or a file of the temporary folder.
enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Source {
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        Ok(match self {
            Source::Bytes(b) => Box::new(&b[..]),
            Source::File(p) => Box::new(BufReader::new(File::open(p)?)),
        })
    }
}

fn io(what: &Path, e: impl std::fmt::Display) -> OpsError {
    OpsError::failed(format!("{}: {e}", what.display()))
}

/// Writes the records of `plan` as a WACZ package at `out`, dated `created`.
pub fn wacz(
    archive: &exhibit_store::Archive,
    plan: &Plan,
    out: &Path,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<Exported, OpsError> {
    let dir = exhibit_store::fsutil::parent_dir(out);
    let tmp = tempfile::Builder::new()
        .prefix(".exhibit-wacz-")
        .tempdir_in(dir)
        .map_err(|e| io(dir, e))?;
    let date = time::format_rfc3339_seconds(created);
    let software = concat!("exhibit ", env!("CARGO_PKG_VERSION"));

    // The evidence bundle, read back: its exhibit/ files go into the package as they are.
    let bundle = tmp.path().join(BUNDLE_FILE);
    crate::bundle::write(archive, plan, &bundle, BUNDLE_FILE.to_owned(), created)?;
    let bag = exhibit_bundle::read_bundle(
        BufReader::new(File::open(&bundle).map_err(|e| io(&bundle, e))?),
        &exhibit_bundle::Limits::default(),
    )
    .map_err(|e| io(&bundle, e))?;

    // The WARC, and where each record landed.
    let (planned, responses) = export::planned(archive, plan, created)?;
    let warc = tmp.path().join(wacz::WARC_NAME);
    let placed = {
        let mut w = BufWriter::new(File::create(&warc).map_err(|e| io(&warc, e))?);
        let placed = export::write(archive, &planned, &mut w, Compression::Gzip)
            .map_err(|e| io(&warc, e))?;
        w.flush().map_err(|e| io(&warc, e))?;
        placed
    };
    let indexed: Vec<Indexed> = planned
        .iter()
        .zip(&placed)
        .map(|(p, &(offset, length))| indexed(&p.record, offset, length, &responses))
        .collect();

    let mut files: Vec<(String, Source)> = vec![
        (wacz::WARC_PATH.to_owned(), Source::File(warc)),
        (
            wacz::INDEX_PATH.to_owned(),
            Source::Bytes(wacz::index(&indexed)),
        ),
        (
            wacz::PAGES_PATH.to_owned(),
            Source::Bytes(wacz::pages(&indexed)),
        ),
    ];
    let mut taken: std::collections::HashSet<String> =
        files.iter().map(|(p, _)| p.clone()).collect();
    for (path, file) in &bag.files {
        let Some(flat) = wacz::flat_name(path) else {
            continue;
        };
        let bytes = file
            .bytes
            .clone()
            .ok_or_else(|| OpsError::failed(format!("bundle file {path}: not read")))?;
        if !taken.insert(flat.clone()) || flat == wacz::BUNDLE_PATH {
            return Err(OpsError::failed(format!(
                "bundle file {path}: {flat} is taken in the package"
            )));
        }
        files.push((flat, Source::Bytes(bytes)));
    }
    files.push((wacz::BUNDLE_PATH.to_owned(), Source::File(bundle)));

    let mut resources = Vec::with_capacity(files.len());
    for (path, source) in &files {
        let (bytes, sha256) = hash(source).map_err(|e| OpsError::failed(format!("{path}: {e}")))?;
        resources.push(Resource {
            path: path.clone(),
            bytes,
            sha256,
        });
    }
    let records = plan.captures.len() + plan.provisions.len();
    let origin = &archive.config().origin;
    let title = format!("exhibit archive {origin}: {records} record(s)");
    let main = indexed.iter().find_map(|r| {
        let url = r.target.as_deref()?;
        (r.kind == "resource" && url.starts_with("http")).then_some((url, r.date.as_str()))
    });
    let datapackage = wacz::datapackage(
        &resources,
        &Description {
            created: &date,
            software,
            title: &title,
            main_page: main,
        },
    );
    let hash_label = sha256_label(&Sha256::digest(&datapackage).into());
    let key = plan.signing_key();
    let replay = key.replay_key();
    let signatures = Signatures {
        replay_signature: STANDARD.encode(replay.sign_sha256(hash_label.as_bytes())),
        replay_public_key: STANDARD.encode(replay.public_spki_der()),
        ed25519_signature: STANDARD.encode(key.sign(hash_label.as_bytes()).as_bytes()),
        ed25519_key: plan.checkpoint_signer(),
    };
    let digest = wacz::digest_file(&hash_label, &date, software, &signatures);
    files.push((wacz::DATAPACKAGE.to_owned(), Source::Bytes(datapackage)));
    files.push((wacz::DIGEST.to_owned(), Source::Bytes(digest)));

    let package = tmp.path().join("package.wacz");
    zip_up(&files, &package, created)?;
    exhibit_store::fsutil::create_file_with(out, |w| {
        let mut f = File::open(&package).map_err(|e| io(&package, e))?;
        std::io::copy(&mut f, w).map_err(|e| io(out, e))?;
        Ok::<(), OpsError>(())
    })?;
    Ok(Exported {
        records: planned.len(),
        exhibit_records: records,
    })
}

/// How the index and the page list see a record just written.
fn indexed(
    r: &exhibit_warc::Record,
    offset: u64,
    length: u64,
    responses: &exhibit_warc::map::Responses,
) -> Indexed {
    let response = responses.get(&exhibit_core::Sha256Digest(r.block_sha256));
    let field = |name: &str| {
        r.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    Indexed {
        offset,
        length,
        kind: r.kind.as_str().to_owned(),
        id: r.id.clone(),
        target: field("WARC-Target-URI"),
        date: r.date.clone(),
        content_type: r.content_type.clone(),
        refers_to: field("WARC-Refers-To"),
        block_sha256: r.block_sha256,
        replay: Replay::of(r.kind.as_str(), &r.content_type, r.block_sha256, response),
    }
}

fn hash(source: &Source) -> std::io::Result<(u64, [u8; 32])> {
    let (sha256, size) = crate::citation::hash_reader(&mut source.open()?)?;
    Ok((size, sha256.0))
}

/// The zip entries' time: `created` in the zip's local-time fields (UTC), no earlier than
/// 1980, the first time a zip can hold.
fn zip_time(created: chrono::DateTime<chrono::Utc>) -> zip::DateTime {
    use chrono::{Datelike as _, Timelike as _};
    let t = created.naive_utc();
    u16::try_from(t.year())
        .ok()
        .and_then(|y| {
            zip::DateTime::from_date_and_time(
                y,
                t.month() as u8,
                t.day() as u8,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
            )
            .ok()
        })
        .unwrap_or_default()
}

/// Writes `files` in order as stored (uncompressed) zip entries, as WACZ asks for its WARCs
/// and indexes; the same files and time give the same bytes.
fn zip_up(
    files: &[(String, Source)],
    out: &Path,
    created: chrono::DateTime<chrono::Utc>,
) -> Result<(), OpsError> {
    let file = File::create(out).map_err(|e| io(out, e))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let when = zip_time(created);
    for (path, source) in files {
        let mut r = source.open().map_err(|e| io(out, e))?;
        let big = match source {
            Source::Bytes(b) => b.len() as u64 >= u64::from(u32::MAX),
            Source::File(p) => {
                std::fs::metadata(p).map(|m| m.len()).unwrap_or(u64::MAX) >= u64::from(u32::MAX)
            }
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .last_modified_time(when)
            .unix_permissions(0o644)
            .large_file(big);
        zip.start_file(path.as_str(), options)
            .map_err(|e| io(out, e))?;
        std::io::copy(&mut r, &mut zip).map_err(|e| io(out, e))?;
    }
    // A scratch file: the package is made durable when it is copied into place.
    zip.finish()
        .and_then(|mut w| w.flush().map_err(Into::into))
        .map_err(|e| io(out, e))
}
