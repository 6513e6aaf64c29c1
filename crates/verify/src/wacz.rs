//! Verifying a WACZ package made by `exhibit export --wacz` (docs/FORMAT.md §18): the evidence
//! bundle inside (`exhibit/bundle.tar.zst`) is verified as any bundle (checks 1–14), then the
//! package around it (check 15), so that nothing a replay tool shows from the package is
//! something the bundle does not vouch for:
//!
//! - (a) the package holds exactly the files exhibit writes, each once, with safe names;
//! - (b) every file but the two descriptions has the size and SHA-256 `datapackage.json` lists;
//! - (c) `datapackage-digest.json` holds the SHA-256 of `datapackage.json`, signed by the key
//!   that sealed the bundle (Ed25519) and by the P-384 key of WACZ's anonymous signing;
//! - (d) every WARC record but the opening `warcinfo` carries bytes the bundle seals (a
//!   captured object, a manifest, a signature, a proof, the checkpoint, a token), with true
//!   digests;
//! - (e) the index and the page list are exactly what the WARC's records make;
//! - (f) each file under `exhibit/` is byte for byte the bundle's file of that name.
//!
//! Not for reading the bundle itself (`exhibit_bundle::read_bundle`) or the WARC format
//! (`exhibit_warc::read`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use exhibit_bundle::ReadBag;
use exhibit_warc::record::sha256_label;
use exhibit_warc::response::ResponseFacts;
use exhibit_warc::wacz::{self, Indexed, Replay};
use sha2::{Digest as _, Sha256};

use crate::checks::verify_bag_with;
use crate::error::VerifyError;
use crate::options::Options;
use crate::report::{Checks, Report};

/// The first bytes of a zip file (a local file header).
pub(crate) const ZIP_MAGIC: &[u8; 4] = b"PK\x03\x04";

/// Most entries a package may have.
const MAX_ENTRIES: usize = 100_000;
/// Largest `datapackage.json` read.
const MAX_DATAPACKAGE: u64 = 16 << 20;
/// Largest `datapackage-digest.json` read.
const MAX_DIGEST: u64 = 1 << 20;
/// Most WARC records indexed.
const MAX_RECORDS: usize = 1_000_000;

type Zip = zip::ZipArchive<BufReader<File>>;

fn malformed(shown: &str, reason: impl std::fmt::Display) -> VerifyError {
    VerifyError::Malformed(format!("{shown}: not an exhibit WACZ package: {reason}"))
}

/// Reads and verifies the WACZ package `file` (shown as `shown`); returns the report and the
/// bundle's bag.
pub(crate) fn verify_wacz(
    shown: &str,
    file: File,
    options: &Options,
) -> Result<(Report, ReadBag), VerifyError> {
    let mut file = file;
    let declared = declared_entries(&mut file).map_err(|e| malformed(shown, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| malformed(shown, format!("unreadable zip ({e})")))?;
    let names = entry_names(&mut zip, declared).map_err(|e| malformed(shown, e))?;
    if !names.contains_key(wacz::BUNDLE_PATH) {
        return Err(malformed(shown, format!("no {}", wacz::BUNDLE_PATH)));
    }
    let bag = {
        let entry = zip
            .by_name(wacz::BUNDLE_PATH)
            .map_err(|e| malformed(shown, format!("{}: {e}", wacz::BUNDLE_PATH)))?;
        exhibit_bundle::read_bundle(entry, &options.limits).map_err(|source| VerifyError::Read {
            path: format!("{shown}: {}", wacz::BUNDLE_PATH),
            source,
        })?
    };
    let mut package = |c: &mut Checks, sealer: Option<(&str, &exhibit_sign::PublicKey)>| {
        check_package(c, &mut zip, &names, &bag, sealer);
    };
    let mut report = verify_bag_with(&bag, options, &mut package)?;
    report.bundle = format!("{shown}: {}", wacz::BUNDLE_PATH);
    if report.verdict != crate::report::Verdict::Mismatch
        && let Some(fp) = &report.sealed_by
    {
        report.proven.push(format!(
            "the WACZ package around the bundle holds only what the bundle seals or what its WARC \
             makes (index, pages), every file listed with its SHA-256 in datapackage.json, whose \
             digest {fp} signed"
        ));
    }
    Ok((report, bag))
}

/// Every entry's name and index, checked: unique, relative, no `.`/`..`, no backslash or
/// control character, no directory entries, not encrypted.
fn entry_names(zip: &mut Zip, declared: u64) -> Result<BTreeMap<String, usize>, String> {
    if zip.len() > MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} entries"));
    }
    // Readers disagree on which of two same-named entries is "the" file (the zip crate keeps
    // one of them under the name): refuse a directory that declares more entries than names.
    if declared != zip.len() as u64 {
        return Err(format!(
            "the central directory declares {declared} entries but holds {} distinct names \
             (an entry name appears twice)",
            zip.len()
        ));
    }
    let mut names = BTreeMap::new();
    for i in 0..zip.len() {
        let f = zip.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
        let name = f
            .name()
            .map_err(|e| format!("entry {i}: name is not readable ({e})"))?
            .into_owned();
        let safe = !name.is_empty()
            && name.len() <= 1024
            && !name.starts_with('/')
            && !name.ends_with('/')
            && !name.contains('\\')
            && !name.chars().any(char::is_control)
            && name
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != "..");
        if !safe {
            return Err(format!(
                "entry {:?}: unsafe name",
                exhibit_core::Inert(&name)
            ));
        }
        if f.encrypted() {
            return Err(format!("entry {name}: encrypted"));
        }
        if names.insert(name.clone(), i).is_some() {
            return Err(format!("entry {name}: appears twice"));
        }
    }
    Ok(names)
}

/// The number of entries the end-of-central-directory record declares (its ZIP64 form when
/// the classic one says 0xFFFF), read from the end of the file.
fn declared_entries(file: &mut File) -> Result<u64, String> {
    use std::io::{Seek, SeekFrom};
    let fail = |e: std::io::Error| format!("reading the end of central directory: {e}");
    let len = file.seek(SeekFrom::End(0)).map_err(fail)?;
    // The record is 22 bytes plus a comment of at most 65535.
    let tail_len = len.min(22 + 65_535);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(fail)?;
    let mut tail = vec![0u8; tail_len as usize];
    file.read_exact(&mut tail).map_err(fail)?;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or("no end of central directory record")?;
    let count = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    if count != u16::MAX {
        file.rewind().map_err(fail)?;
        return Ok(u64::from(count));
    }
    // ZIP64: the locator just before the record gives the ZIP64 record's offset.
    let locator = at
        .checked_sub(20)
        .filter(|&l| tail[l..].starts_with(b"PK\x06\x07"))
        .ok_or("no ZIP64 end of central directory locator")?;
    let mut off = [0u8; 8];
    off.copy_from_slice(&tail[locator + 8..locator + 16]);
    file.seek(SeekFrom::Start(u64::from_le_bytes(off)))
        .map_err(fail)?;
    let mut record = [0u8; 56];
    file.read_exact(&mut record).map_err(fail)?;
    file.rewind().map_err(fail)?;
    if !record.starts_with(b"PK\x06\x06") {
        return Err("no ZIP64 end of central directory record".to_owned());
    }
    let mut n = [0u8; 8];
    n.copy_from_slice(&record[32..40]);
    Ok(u64::from_le_bytes(n))
}

/// Reads entry `name`, refusing one larger than `limit` bytes.
fn read_entry(zip: &mut Zip, name: &str, limit: u64) -> Result<Vec<u8>, String> {
    let entry = zip.by_name(name).map_err(|e| e.to_string())?;
    if entry.size() > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    let mut out = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    if out.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(out)
}

/// The size and SHA-256 of entry `name`, read through.
fn hash_entry(zip: &mut Zip, name: &str) -> Result<(u64, [u8; 32]), String> {
    let mut entry = zip.by_name(name).map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = entry.read(&mut buf).map_err(|e| e.to_string())?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, h.finalize().into()))
}

/// Check 15, the package (see the module's list).
fn check_package(
    c: &mut Checks,
    zip: &mut Zip,
    names: &BTreeMap<String, usize>,
    bag: &ReadBag,
    sealer: Option<(&str, &exhibit_sign::PublicKey)>,
) {
    // (a) exactly the files exhibit writes.
    let mut expected: BTreeMap<String, Option<[u8; 32]>> = BTreeMap::new();
    for p in [
        wacz::WARC_PATH,
        wacz::INDEX_PATH,
        wacz::PAGES_PATH,
        wacz::DATAPACKAGE,
        wacz::DIGEST,
        wacz::BUNDLE_PATH,
    ] {
        expected.insert(p.to_owned(), None);
    }
    for (path, f) in &bag.files {
        if let Some(flat) = wacz::flat_name(path) {
            expected.insert(flat, Some(*f.sha256.as_bytes()));
        }
    }
    for name in names.keys() {
        c.check(
            expected.contains_key(name),
            name,
            "is a file exhibit's packages hold",
            "the WARC, its index and pages, the descriptions, or a file of the bundle",
            "a file the bundle does not name",
        );
    }
    for name in expected.keys() {
        if !names.contains_key(name) {
            c.fail(name, "is in the package", "present", "missing");
        }
    }

    // (b) every file as datapackage.json lists it.
    let dp_bytes = match read_entry(zip, wacz::DATAPACKAGE, MAX_DATAPACKAGE) {
        Ok(b) => b,
        Err(e) => return c.fail(wacz::DATAPACKAGE, "can be read", "a JSON file", e),
    };
    let dp: wacz::ReadDatapackage = match serde_json::from_slice(&dp_bytes) {
        Ok(d) => d,
        Err(e) => {
            return c.fail(
                wacz::DATAPACKAGE,
                "is a WACZ data package",
                "JSON",
                e.to_string(),
            );
        }
    };
    c.check(
        dp.wacz_version == wacz::WACZ_VERSION,
        wacz::DATAPACKAGE,
        "names the WACZ version",
        wacz::WACZ_VERSION,
        exhibit_core::Inert(&dp.wacz_version).to_string(),
    );
    let listed: BTreeMap<&str, &wacz::ReadResource> =
        dp.resources.iter().map(|r| (r.path.as_str(), r)).collect();
    c.check(
        listed.len() == dp.resources.len(),
        wacz::DATAPACKAGE,
        "lists each file once",
        dp.resources.len().to_string(),
        format!("{} distinct paths", listed.len()),
    );
    let mut sha_of: BTreeMap<String, [u8; 32]> = BTreeMap::new();
    for name in names.keys() {
        if name == wacz::DATAPACKAGE || name == wacz::DIGEST {
            continue;
        }
        let Some(r) = listed.get(name.as_str()) else {
            c.fail(
                name,
                "is listed in datapackage.json",
                "listed",
                "not listed",
            );
            continue;
        };
        match hash_entry(zip, name) {
            Ok((size, sha)) => {
                sha_of.insert(name.clone(), sha);
                let found = format!("{} ({size} bytes)", sha256_label(&sha));
                c.check(
                    r.hash == sha256_label(&sha) && r.bytes == size,
                    name,
                    "sha256 and size match datapackage.json",
                    format!("{} ({} bytes)", exhibit_core::Inert(&r.hash), r.bytes),
                    found,
                );
            }
            Err(e) => c.fail(name, "can be read", "a stored entry", e),
        }
    }
    for path in listed.keys() {
        if !names.contains_key(*path) {
            c.fail(
                path,
                "is in the package",
                "present (datapackage.json lists it)",
                "missing",
            );
        }
    }

    // (c) the digest and its two signatures.
    check_digest(c, zip, &dp_bytes, &dp.created, sealer);

    // (f) exhibit/ files are the bundle's.
    for (name, want) in &expected {
        let (Some(want), Some(got)) = (want, sha_of.get(name)) else {
            continue;
        };
        c.check(
            want == got,
            name,
            "is the bundle's file of that name",
            sha256_label(want),
            sha256_label(got),
        );
    }

    // (d) the WARC holds only sealed bytes; (e) the index and pages are what it makes.
    let sealed: BTreeSet<[u8; 32]> = bag.files.values().map(|f| *f.sha256.as_bytes()).collect();
    let Some(records) = check_warc(c, zip, &sealed) else {
        return;
    };
    for (path, rebuilt) in [
        (wacz::INDEX_PATH, wacz::index(&records)),
        (wacz::PAGES_PATH, wacz::pages(&records)),
    ] {
        let got = sha_of.get(path);
        let want: [u8; 32] = Sha256::digest(&rebuilt).into();
        c.check(
            got == Some(&want),
            path,
            "is what the WARC's records make (rebuilt and compared)",
            sha256_label(&want),
            got.map_or("missing".to_owned(), sha256_label),
        );
    }
}

/// (c): the digest file.
fn check_digest(
    c: &mut Checks,
    zip: &mut Zip,
    dp_bytes: &[u8],
    created: &str,
    sealer: Option<(&str, &exhibit_sign::PublicKey)>,
) {
    let subject = wacz::DIGEST;
    let d = match read_entry(zip, subject, MAX_DIGEST).and_then(|b| wacz::parse_digest_file(&b)) {
        Ok(d) => d,
        Err(e) => {
            return c.fail(
                subject,
                "is a WACZ digest file",
                "path, hash, signedData",
                e,
            );
        }
    };
    let hash = sha256_label(&Sha256::digest(dp_bytes).into());
    let shown = |s: &str| exhibit_core::Inert(s).to_string();
    let ok = c.check(
        d.path == wacz::DATAPACKAGE && d.hash == hash && d.signed_hash == hash,
        subject,
        "holds the SHA-256 of datapackage.json (and signs it)",
        hash.clone(),
        format!("{} {}", shown(&d.path), shown(&d.signed_hash)),
    );
    c.check(
        d.signed_created == created,
        subject,
        "signedData.created is datapackage.json's created",
        shown(created),
        shown(&d.signed_created),
    );
    if !ok {
        return;
    }
    let sigs = &d.signatures;
    match sealer {
        Some((fp, key)) => {
            let good = sigs.ed25519_key == fp
                && STANDARD
                    .decode(&sigs.ed25519_signature)
                    .is_ok_and(|s| key.verify(hash.as_bytes(), &s).is_ok());
            c.check(
                good,
                subject,
                "exhibitSignature: Ed25519 over the digest by the key that sealed the bundle",
                fp.to_owned(),
                format!(
                    "{} (a signature that does not verify)",
                    shown(&sigs.ed25519_key)
                ),
            );
        }
        None => c.fail(
            subject,
            "exhibitSignature: Ed25519 over the digest by the key that sealed the bundle",
            "a bundle sealed by one of its keys",
            "no seal verified",
        ),
    }
    let replay = STANDARD
        .decode(&sigs.replay_public_key)
        .ok()
        .zip(STANDARD.decode(&sigs.replay_signature).ok())
        .is_some_and(|(k, s)| {
            exhibit_sign::verify_replay_signature(&k, hash.as_bytes(), &s).is_ok()
        });
    c.check(
        replay,
        subject,
        "signedData: ECDSA P-384 over the digest by its publicKey (WACZ anonymous signing)",
        "a valid signature",
        "a signature that does not verify",
    );
}

/// (d): reads the WARC, checking every record; returns how the index sees its records, or
/// `None` when it could not be read.
fn check_warc(c: &mut Checks, zip: &mut Zip, sealed: &BTreeSet<[u8; 32]>) -> Option<Vec<Indexed>> {
    let subject = wacz::WARC_PATH;
    let entry = match zip.by_name(subject) {
        Ok(e) => e,
        Err(e) => {
            c.fail(subject, "can be read", "a stored entry", e.to_string());
            return None;
        }
    };
    let mut records: Vec<Indexed> = Vec::new();
    let mut failures: Vec<(String, String, String)> = Vec::new();
    // A response record's block, read as an HTTP response while it streams past.
    let response: std::cell::RefCell<Option<Result<ResponseFacts, String>>> = Default::default();
    let read = exhibit_warc::read::read_records(
        entry,
        exhibit_warc::read::Limits::default(),
        |head, block| {
            let facts = (head.kind() == Some("response"))
                .then(|| exhibit_warc::response::read_response(block));
            *response.borrow_mut() = facts;
            Ok::<(), exhibit_warc::read::ReadError>(())
        },
        |done| {
            if records.len() >= MAX_RECORDS {
                return Err(exhibit_warc::read::ReadError {
                    offset: done.head.offset,
                    problem: format!("more than {MAX_RECORDS} records"),
                });
            }
            let h = &done.head;
            let id = h.id().unwrap_or("").to_owned();
            let at = format!("record {} at byte {}", exhibit_core::Inert(&id), h.offset);
            let kind = h.kind().unwrap_or("").to_owned();
            if records.is_empty() {
                if kind != "warcinfo" {
                    failures.push((
                        at.clone(),
                        "is the opening warcinfo record".into(),
                        kind.clone(),
                    ));
                }
            } else if !sealed.contains(&done.block_sha256) {
                failures.push((
                    at.clone(),
                    "carries bytes the bundle seals".into(),
                    sha256_label(&done.block_sha256),
                ));
            }
            let checked = matches!(
                done.block_digest,
                exhibit_warc::read::Digest::Checked { .. }
            );
            if !checked {
                failures.push((
                    at.clone(),
                    "has a WARC-Block-Digest that was checked".into(),
                    "none".into(),
                ));
            }
            let content_type = h.get("Content-Type").unwrap_or("");
            let facts = response.borrow_mut().take();
            let payload_digest =
                exhibit_core::Inert(h.get("WARC-Payload-Digest").unwrap_or("none"));
            match (kind.as_str(), &facts) {
                ("resource", _) if payload_digest.0 != sha256_label(&done.block_sha256) => {
                    failures.push((
                        at.clone(),
                        "WARC-Payload-Digest is the block's SHA-256".into(),
                        payload_digest.to_string(),
                    ));
                }
                ("response", Some(Err(e))) => failures.push((
                    at.clone(),
                    "is one complete HTTP response".into(),
                    exhibit_core::Inert(e).to_string(),
                )),
                ("response", Some(Ok(f))) => {
                    if content_type != exhibit_warc::map::HTTP_RESPONSE_TYPE {
                        failures.push((
                            at.clone(),
                            format!("has Content-Type {}", exhibit_warc::map::HTTP_RESPONSE_TYPE),
                            exhibit_core::Inert(content_type).to_string(),
                        ));
                    }
                    if payload_digest.0 != sha256_label(&f.transmitted_sha256) {
                        failures.push((
                            at.clone(),
                            "WARC-Payload-Digest is the SHA-256 of the HTTP body".into(),
                            payload_digest.to_string(),
                        ));
                    }
                }
                _ => {}
            }
            let replay = Replay::of(
                &kind,
                content_type,
                done.block_sha256,
                facts.as_ref().and_then(|f| f.as_ref().ok()),
            );
            records.push(Indexed {
                offset: h.offset,
                length: done.length,
                kind,
                id,
                target: h.get("WARC-Target-URI").map(str::to_owned),
                date: h.get("WARC-Date").unwrap_or("").to_owned(),
                content_type: h.get("Content-Type").unwrap_or("").to_owned(),
                refers_to: h.get("WARC-Refers-To").map(str::to_owned),
                block_sha256: done.block_sha256,
                replay,
            });
            Ok(())
        },
    );
    if let Err(e) = read {
        c.fail(
            subject,
            "reads as a WARC",
            "well-formed records",
            e.to_string(),
        );
        return None;
    }
    let ok = failures.is_empty();
    for (at, what, found) in failures {
        c.fail(&format!("{subject} {at}"), &what, "yes", found);
    }
    if ok {
        c.pass(
            subject,
            "every record carries bytes the bundle seals, with true digests",
        );
    }
    Some(records)
}
