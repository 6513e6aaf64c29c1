//! Adversarial evidence bundles, end to end, through both verifiers (`exhibit-verify BUNDLE` and
//! `exhibit verify BUNDLE`):
//!
//! 1. the tamper matrix: one byte changed in one file of each kind of a real bundle → exit 1, and
//!    the report names the file; forgeries, extra and missing files, wrong keys;
//! 2. the hostile-tar matrix: traversal, absolute paths, links, devices, duplicates, two bags,
//!    bombs, truncation, non-zstd, non-tar, bad paths → exit 2, one line on stderr, nothing written;
//! 3. memory sanity for bombs that compress to almost nothing (peak RSS, when `/usr/bin/time` is
//!    there);
//! 4. one view of a bundle: entries that tar readers give no data hiding a replacement file
//!    (issue 17, finding 1), and a differential test of the reader against GNU tar and Python's
//!    `tarfile` on a few hundred mutated bundles.
//!
//! Tests whose comment says "regression" failed against an earlier state of the reader (commit
//! a95b992) and pass since d32bf11; they pin the fix.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;

// ---------------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------------

/// The main binary.
fn exhibit_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_exhibit"))
}

/// The standalone verifier (built by `cargo test --workspace`: its own crate tests it).
fn verifier_bin() -> PathBuf {
    crate::common::verify_bin()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    /// `exhibit-verify BUNDLE`
    Standalone,
    /// `exhibit verify BUNDLE` (no archive: the cwd holds none)
    Main,
}

const TOOLS: [Tool; 2] = [Tool::Standalone, Tool::Main];

impl Tool {
    fn error_prefix(self) -> &'static str {
        match self {
            Tool::Standalone => "exhibit-verify: error: ",
            Tool::Main => "exhibit: error: ",
        }
    }
}

/// Runs a verifier on `bundle` with each `--key`, in `cwd`.
fn verify_in(tool: Tool, bundle: &Path, keys: &[&str], cwd: &Path) -> Output {
    let mut cmd = match tool {
        Tool::Standalone => assert_cmd::Command::new(verifier_bin()),
        Tool::Main => {
            let mut c = assert_cmd::Command::new(exhibit_bin());
            c.arg("verify");
            c
        }
    };
    cmd.arg(bundle);
    for k in keys {
        cmd.arg("--key").arg(k);
    }
    cmd.current_dir(cwd)
        .env_remove("EXHIBIT_ARCHIVE")
        .timeout(Duration::from_secs(600));
    cmd.output().expect("run the verifier")
}

/// Runs a verifier in a fresh empty directory, which it must leave empty.
fn verify(tool: Tool, bundle: &Path, keys: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    let out = verify_in(tool, bundle, keys, cwd.path());
    assert_empty_dir(cwd.path(), &format!("{tool:?} verifier's cwd"));
    out
}

/// The report's `FAIL` lines.
fn fail_lines(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.trim_start().starts_with("FAIL  "))
        .map(str::to_owned)
        .collect()
}

/// The subject of a report `FAIL` line (`  FAIL  <subject>: <what>: expected …`).
fn subject(line: &str) -> &str {
    let rest = line.trim_start().trim_start_matches("FAIL").trim_start();
    rest.split_once(": ").map_or(rest, |(s, _)| s)
}

fn assert_empty_dir(dir: &Path, what: &str) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "{what} {} is not empty: {left:?}",
        dir.display()
    );
}

// ---------------------------------------------------------------------------------------------
// A real bundle, made once
// ---------------------------------------------------------------------------------------------

struct Base {
    _dir: tempfile::TempDir,
    archive: PathBuf,
    /// The bundle's bytes (3 records: two HTML captures of one document and a plain-text one).
    bundle: Vec<u8>,
    /// The archive's public key file and fingerprint.
    pub_pem: PathBuf,
    fingerprint: String,
    /// Another key, which signed nothing.
    other_key: PathBuf,
    other_pub_pem: PathBuf,
    other_fingerprint: String,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        // In cargo's scratch directory for integration tests rather than /tmp: a static is never
        // dropped, so this directory outlives the run. Those of runs over an hour old go.
        let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for old in std::fs::read_dir(scratch).into_iter().flatten().flatten() {
            let stale = old
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            if stale
                && old
                    .file_name()
                    .to_string_lossy()
                    .starts_with("bundle_adversarial-")
            {
                let _ = std::fs::remove_dir_all(old.path());
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("bundle_adversarial-")
            .tempdir_in(scratch)
            .unwrap();
        let archive = dir.path().join("archive");
        ok(&exhibit(&archive, &["init", "--origin", "test.example"]));
        let (f1, f2, f3) = (
            fixture("policy-v1.html"),
            fixture("policy-v2.html"),
            fixture("terms.txt"),
        );
        ok(&exhibit(
            &archive,
            &[
                "capture",
                f1.to_str().unwrap(),
                f2.to_str().unwrap(),
                "--url",
                "https://example.com/privacy",
            ],
        ));
        ok(&exhibit(
            &archive,
            &[
                "capture",
                f3.to_str().unwrap(),
                "--url",
                "https://example.com/terms",
            ],
        ));
        let out = dir.path().join("bundle.tar.zst");
        ok(&exhibit(
            &archive,
            &[
                "bundle",
                "EX-D-000001",
                "EX-C-000003",
                "--out",
                out.to_str().unwrap(),
            ],
        ));
        let shown = json_lines(&exhibit(&archive, &["--json", "key", "show"]));
        let fingerprint = shown[0]["fingerprint"].as_str().unwrap().to_owned();
        let other_key = dir.path().join("other.pem");
        let generated = json_lines(&exhibit(
            &archive,
            &[
                "--json",
                "key",
                "generate",
                "--out",
                other_key.to_str().unwrap(),
            ],
        ));
        let other_fingerprint = generated[0]["fingerprint"].as_str().unwrap().to_owned();
        let other_pub_pem = dir.path().join("other.pub.pem");
        assert!(other_pub_pem.is_file());
        assert_ne!(fingerprint, other_fingerprint);
        Base {
            bundle: std::fs::read(&out).unwrap(),
            pub_pem: archive.join("keys/signing.pub.pem"),
            archive,
            fingerprint,
            other_key,
            other_pub_pem,
            other_fingerprint,
            _dir: dir,
        }
    })
}

fn pub_pem() -> &'static str {
    base().pub_pem.to_str().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Reading and re-packing tar.zst
// ---------------------------------------------------------------------------------------------

/// One tar entry: its header and data (followed by `zeros` more bytes of value `fill`, streamed,
/// for bombs).
#[derive(Clone)]
struct Entry {
    header: tar::Header,
    data: Vec<u8>,
    zeros: u64,
    fill: u8,
    /// Write the header exactly as it is (size included); otherwise the size is set from the data.
    raw: bool,
}

impl Entry {
    fn path(&self) -> String {
        String::from_utf8_lossy(&self.header.path_bytes()).into_owned()
    }

    /// The path inside the bag.
    fn rel(&self) -> String {
        let p = self.path();
        p.split_once('/').map(|(_, r)| r.to_owned()).unwrap_or(p)
    }
}

const MTIME: u64 = 1_700_000_000;

/// A regular file entry as the bundle writer makes them (ustar, 0644, root, fixed mtime).
fn file_entry(path: &str, data: &[u8]) -> Entry {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).unwrap();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_cksum();
    Entry {
        header: h,
        data: data.to_vec(),
        zeros: 0,
        fill: 0,
        raw: false,
    }
}

/// An entry with a hand-written header: any name bytes (the `tar` crate's `set_path` refuses
/// `..` and absolute paths), any type, any link name, the size given.
fn raw_entry(path: &[u8], kind: tar::EntryType, size: u64, link: &[u8]) -> Entry {
    let mut h = tar::Header::new_ustar();
    {
        let u = h.as_ustar_mut().unwrap();
        assert!(path.len() <= u.name.len() && link.len() <= u.linkname.len());
        u.name = [0; 100];
        u.name[..path.len()].copy_from_slice(path);
        u.linkname = [0; 100];
        u.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_cksum();
    Entry {
        header: h,
        data: Vec::new(),
        zeros: 0,
        fill: 0,
        raw: true,
    }
}

/// A regular file of `n` zero bytes, streamed when packed.
fn zeros_entry(path: &str, n: u64) -> Entry {
    let mut e = file_entry(path, b"");
    e.zeros = n;
    e
}

/// A pax extended header (`x`) carrying `records`.
fn pax_entry(records: &[(&str, &str)]) -> Entry {
    let mut body = Vec::new();
    for (k, v) in records {
        // "<len> <key>=<value>\n", where <len> counts the whole record, itself included.
        let rest = format!(" {k}={v}\n");
        let mut len = rest.len() + 1;
        while format!("{len}{rest}").len() != len {
            len += 1;
        }
        body.extend_from_slice(format!("{len}{rest}").as_bytes());
    }
    let mut e = raw_entry(
        b"PaxHeaders/x",
        tar::EntryType::XHeader,
        body.len() as u64,
        b"",
    );
    e.data = body;
    e
}

/// Reads a bundle's tar.zst into its entries, in order.
fn unpack(bundle: &[u8]) -> Vec<Entry> {
    let decoder = zstd::stream::read::Decoder::new(bundle).unwrap();
    let mut archive = tar::Archive::new(decoder);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push(Entry {
            header,
            data,
            zeros: 0,
            fill: 0,
            raw: false,
        });
    }
    out
}

/// Writes `entries` as a zstd-compressed tar (as the bundle writer does: level 3, checksum) into
/// `w`, streaming any filler data.
fn pack_into<W: Write>(w: W, entries: &[Entry]) -> W {
    let mut encoder = zstd::stream::write::Encoder::new(w, 3).unwrap();
    encoder.include_checksum(true).unwrap();
    let mut tar = tar::Builder::new(encoder);
    for e in entries {
        let mut h = e.header.clone();
        if !e.raw {
            h.set_size(e.data.len() as u64 + e.zeros);
            h.set_cksum();
        }
        let data = (&e.data[..]).chain(std::io::repeat(e.fill).take(e.zeros));
        tar.append(&h, data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn pack(entries: &[Entry]) -> Vec<u8> {
    pack_into(Vec::new(), entries)
}

/// The base bundle's entries.
fn base_entries() -> Vec<Entry> {
    unpack(&base().bundle)
}

/// The bag's name (the top directory).
fn bag_name(entries: &[Entry]) -> String {
    entries[0].path().split('/').next().unwrap().to_owned()
}

/// Index of the first entry whose bag-relative path satisfies `pred`.
fn find(entries: &[Entry], pred: impl Fn(&str) -> bool) -> usize {
    entries
        .iter()
        .position(|e| pred(&e.rel()))
        .expect("no such entry in the bundle")
}

fn by_rel(entries: &[Entry], rel: &str) -> usize {
    find(entries, |r| r == rel)
}

/// Writes bundle bytes into a fresh directory; returns (dir, path).
fn write_bundle(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar.zst");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Rewrites the hash on the line of a `sha256sum`-format manifest that lists `path`.
fn set_listed_hash(manifest: &[u8], path: &str, hash: &str) -> Vec<u8> {
    let text = std::str::from_utf8(manifest).unwrap();
    let mut found = false;
    let mut out = String::new();
    for line in text.lines() {
        match line.split_once("  ") {
            Some((_, p)) if p == path => {
                found = true;
                out.push_str(&format!("{hash}  {p}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert!(found, "{path} is not listed");
    out.into_bytes()
}

/// Keeps the tag manifest true to the (changed) file at `idx` — what a forger would do.
fn relist_tag(entries: &mut [Entry], idx: usize) {
    let rel = entries[idx].rel();
    let hash = sha256_hex(&entries[idx].data);
    let t = by_rel(entries, "tagmanifest-sha256.txt");
    entries[t].data = set_listed_hash(&entries[t].data, &rel, &hash);
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unbase64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {:?}", c as char),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let mut v = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            v |= u32::from(*d) << (18 - 6 * i);
        }
        out.extend_from_slice(&v.to_be_bytes()[1..chunk.len()]);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// One-byte mutations
// ---------------------------------------------------------------------------------------------

fn xor_last(d: &mut [u8]) {
    *d.last_mut().unwrap() ^= 0x01;
}

/// Replaces the hex digit at `i` with another hex digit.
fn bump_hex_at(d: &mut [u8], i: usize) {
    let c = d[i];
    assert!(c.is_ascii_hexdigit(), "{:?} is not a hex digit", c as char);
    d[i] = if c == b'0' { b'1' } else { b'0' };
}

/// Bumps the first hex digit after the first occurrence of `needle`.
fn bump_hex_after(d: &mut [u8], needle: &str) {
    let at = d
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle:?} not found"));
    bump_hex_at(d, at + needle.len());
}

/// Swaps the case of the first ASCII letter.
fn flip_first_letter(d: &mut [u8]) {
    let i = d.iter().position(u8::is_ascii_alphabetic).unwrap();
    d[i] ^= 0x20;
}

/// Replaces one base64 digit in a PEM public key's body.
fn change_base64_digit(d: &mut [u8]) {
    let text = std::str::from_utf8(d).unwrap();
    let body = text.find("-----\n").unwrap() + "-----\n".len();
    // 16 digits of DER prefix (`MCowBQYDK2VwAyEA`), then the key itself: change a key digit.
    let i = body + 24;
    d[i] = if d[i] == b'A' { b'B' } else { b'A' };
}

// ---------------------------------------------------------------------------------------------
// 0. The base bundle and the re-packer are sound
// ---------------------------------------------------------------------------------------------

#[test]
fn the_base_bundle_verifies_and_repacking_it_changes_nothing() {
    let b = base();
    let entries = base_entries();
    // 3 records, each with content and text.
    let count = |prefix: &str| {
        entries
            .iter()
            .filter(|e| e.rel().starts_with(prefix))
            .count()
    };
    assert_eq!(count("data/content/"), 3);
    assert_eq!(count("data/text/"), 3);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.rel().starts_with("exhibit/manifests/") && e.rel().ends_with(".json"))
            .count(),
        3
    );
    let repacked = pack(&entries);
    let tar_of = |b: &[u8]| zstd::decode_all(b).unwrap();
    assert_eq!(
        tar_of(&repacked),
        tar_of(&b.bundle),
        "re-packing an unchanged bundle must give the same tar"
    );
    let (_d, path) = write_bundle(&repacked);
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        assert_eq!(code(&out), 0, "{tool:?}: {}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).contains("VERIFIED"), "{}", stdout(&out));
        assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    }
    println!("[base] right key: exit 0 (both verifiers)");
}

#[test]
fn verifying_a_valid_bundle_writes_nothing() {
    let (dir, path) = write_bundle(&base().bundle);
    for tool in TOOLS {
        for keys in [vec![], vec![pub_pem()]] {
            // `verify` asserts that the cwd stays empty.
            let out = verify(tool, &path, &keys);
            assert!([0, 3].contains(&code(&out)), "{}", stderr(&out));
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("bundle.tar.zst")]);
}

/// A bag made with stock tools (GNU tar: directory entries, real owners and mtimes) is still a
/// valid bundle.
#[test]
fn a_bundle_repacked_with_stock_tar_still_verifies() {
    if !have("tar") || !have("zstd") {
        return;
    }
    let (dir, path) = write_bundle(&base().bundle);
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = std::process::Command::new("tar")
        .arg("--zstd")
        .arg("-xf")
        .arg(&path)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    let again = dir.path().join("again.tar.zst");
    let st = std::process::Command::new("tar")
        .arg("--zstd")
        .arg("-cf")
        .arg(&again)
        .arg("-C")
        .arg(&x)
        .arg(bag_name(&base_entries()))
        .status()
        .unwrap();
    assert!(st.success());
    for tool in TOOLS {
        let out = verify(tool, &again, &[pub_pem()]);
        assert_eq!(code(&out), 0, "{tool:?}: {}{}", stdout(&out), stderr(&out));
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Tamper matrix
// ---------------------------------------------------------------------------------------------

/// Changes one file of the base bundle (the first whose bag path satisfies `select`), re-packs,
/// and checks both verifiers: exit 1, and a FAIL line naming the file.
fn tamper(case: &str, select: impl Fn(&str) -> bool, mutate: impl Fn(&mut [u8])) {
    let mut entries = base_entries();
    let i = find(&entries, select);
    let rel = entries[i].rel();
    let before = entries[i].data.clone();
    mutate(&mut entries[i].data);
    assert_eq!(entries[i].data.len(), before.len(), "{case}: size changed");
    let changed = before
        .iter()
        .zip(&entries[i].data)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(changed, 1, "{case}: exactly one byte must change");
    let (_d, path) = write_bundle(&pack(&entries));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        let fails = fail_lines(&out);
        // The report names the file as the subject of a failed check; the tag manifest is not
        // itself a subject (it is what the others are checked against), so there the failed
        // checks must cite it and the seal must fail.
        let named: Vec<&String> = if rel == "tagmanifest-sha256.txt" {
            fails.iter().filter(|l| l.contains(&rel)).collect()
        } else {
            fails.iter().filter(|l| subject(l) == rel).collect()
        };
        println!(
            "[tamper {case}] {tool:?}: exit {}; {} FAIL line(s), e.g. {:?}",
            code(&out),
            fails.len(),
            named.first()
        );
        assert_eq!(
            code(&out),
            1,
            "{case} ({rel}), {tool:?}:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            !named.is_empty(),
            "{case}, {tool:?}: no FAIL line names {rel}:\n{}",
            stdout(&out)
        );
        if rel == "tagmanifest-sha256.txt" {
            assert!(
                fails
                    .iter()
                    .any(|l| subject(l) == "tagmanifest-sha256.txt.sig"),
                "{fails:#?}"
            );
        }
        assert!(
            stdout(&out).contains("FAILED:"),
            "{case}, {tool:?}: {}",
            stdout(&out)
        );
        assert!(!stdout(&out).contains("VERIFIED"), "{}", stdout(&out));
        assert!(stderr(&out).is_empty(), "{case}: {}", stderr(&out));
    }
}

#[test]
fn tamper_html_content() {
    tamper(
        "data/content/*.html",
        |r| r.starts_with("data/content/") && r.ends_with(".html"),
        xor_last,
    );
}

#[test]
fn tamper_plain_text_content() {
    tamper(
        "data/content/*.txt",
        |r| r.starts_with("data/content/") && r.ends_with(".txt"),
        xor_last,
    );
}

#[test]
fn tamper_extracted_text() {
    tamper("data/text/*.txt", |r| r.starts_with("data/text/"), xor_last);
}

#[test]
fn tamper_signed_manifest_hash_digit() {
    tamper(
        "exhibit/manifests/*.json (a hash digit)",
        |r| r.starts_with("exhibit/manifests/") && r.ends_with(".json"),
        |d| {
            bump_hex_after(d, "\"sha256\":\"");
            // Still valid JSON.
            serde_json::from_slice::<serde_json::Value>(d).unwrap();
        },
    );
}

#[test]
fn tamper_manifest_signature() {
    tamper(
        "exhibit/manifests/*.json.sig",
        |r| r.starts_with("exhibit/manifests/") && r.ends_with(".json.sig"),
        xor_last,
    );
}

#[test]
fn tamper_public_key_base64_digit() {
    // Whether or not the changed key still parses (as some other key, or not at all), the key
    // file no longer matches the tag manifest, its name, the seal or the signatures: exit 1.
    tamper(
        "exhibit/keys/*.pem (a base64 digit)",
        |r| r.starts_with("exhibit/keys/"),
        change_base64_digit,
    );
}

#[test]
fn tamper_log_proof_index() {
    tamper(
        "exhibit/proofs/*.tlog-proof (the leaf index)",
        |r| r.starts_with("exhibit/proofs/") && r.ends_with(".tlog-proof"),
        |d| bump_hex_after(d, "index "),
    );
}

#[test]
fn tamper_bag_info() {
    tamper("bag-info.txt", |r| r == "bag-info.txt", flip_first_letter);
}

#[test]
fn tamper_bagit_declaration() {
    tamper("bagit.txt", |r| r == "bagit.txt", flip_first_letter);
}

#[test]
fn tamper_payload_manifest_hex_digit() {
    tamper(
        "manifest-sha256.txt (a hex digit)",
        |r| r == "manifest-sha256.txt",
        |d| bump_hex_at(d, 0),
    );
}

#[test]
fn tamper_tag_manifest_hex_digit() {
    tamper(
        "tagmanifest-sha256.txt (a hex digit)",
        |r| r == "tagmanifest-sha256.txt",
        |d| bump_hex_at(d, 0),
    );
}

#[test]
fn tamper_seal() {
    tamper(
        "tagmanifest-sha256.txt.sig",
        |r| r == "tagmanifest-sha256.txt.sig",
        xor_last,
    );
}

#[test]
fn tamper_citation() {
    tamper(
        "exhibit/citation.txt (a hash digit)",
        |r| r == "exhibit/citation.txt",
        |d| bump_hex_after(d, "SHA-256: "),
    );
}

#[test]
fn tamper_verify_txt() {
    tamper("VERIFY.txt", |r| r == "VERIFY.txt", flip_first_letter);
}

/// A consistent forgery of the payload: new content bytes, `manifest-sha256.txt` and
/// `tagmanifest-sha256.txt` updated to match, the old seal kept.
#[test]
fn forged_content_with_updated_manifests_but_the_old_seal_fails() {
    let mut entries = base_entries();
    let i = find(&entries, |r| {
        r.starts_with("data/content/") && r.ends_with(".html")
    });
    let rel = entries[i].rel();
    xor_last(&mut entries[i].data);
    let m = by_rel(&entries, "manifest-sha256.txt");
    entries[m].data = set_listed_hash(&entries[m].data, &rel, &sha256_hex(&entries[i].data));
    relist_tag(&mut entries, m);
    let (_d, path) = write_bundle(&pack(&entries));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        let fails = fail_lines(&out);
        println!(
            "[forgery, old seal] {tool:?}: exit {}; {fails:#?}",
            code(&out)
        );
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        // The seal no longer verifies …
        assert!(
            fails
                .iter()
                .any(|l| l.contains("tagmanifest-sha256.txt.sig") && l.contains("seal")),
            "{fails:#?}"
        );
        // … and the signed capture manifest does not describe the new bytes.
        assert!(
            fails
                .iter()
                .any(|l| l.contains(&rel) && l.contains("signed manifest")),
            "{fails:#?}"
        );
        // The forger kept the BagIt manifests consistent: those checks pass.
        assert!(
            !fails
                .iter()
                .any(|l| l.contains("matches manifest-sha256.txt")
                    || l.contains("matches tagmanifest-sha256.txt")),
            "{fails:#?}"
        );
    }
    // The JSON report says the same.
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::new(verifier_bin());
    let out = cmd
        .arg(&path)
        .arg("--key")
        .arg(pub_pem())
        .arg("--json")
        .current_dir(cwd.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "mismatch");
    assert!(report["sealed_by"].is_null(), "{report}");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["outcome"] == "fail" && c["subject"] == rel.as_str()),
        "{report}"
    );
    assert_empty_dir(cwd.path(), "cwd");
}

/// A full forgery by someone with their own key: they change what a record claims (its URL),
/// re-sign that manifest, forge a log of their own holding it (a one-leaf tree under a checkpoint
/// they sign), add their public key, recompute the tag manifest and re-seal. Every check inside
/// the bundle passes — only pinning catches it, which is the point of `--key`.
#[test]
fn forgery_mixing_another_keys_log_is_caught_pinned_or_not() {
    // A record re-signed with another key, with its own (forged, one-leaf) log proof, next to
    // genuine records and resealed: the bundle now shows two different logs. Whatever keys are
    // pinned, that is a mismatch (one bundle, one checkpoint), so it is caught even unpinned.
    if !have("openssl") {
        return;
    }
    let b = base();
    let (_d, path) = forge_with_other_key(true);
    let pins: [Vec<&str>; 5] = [
        vec![],
        vec![pub_pem()],
        vec![&b.fingerprint],
        vec![b.other_pub_pem.to_str().unwrap()],
        vec![pub_pem(), b.other_pub_pem.to_str().unwrap()],
    ];
    for tool in TOOLS {
        for keys in &pins {
            let out = verify(tool, &path, keys);
            println!(
                "[forgery, resealed] {tool:?} keys {keys:?}: exit {}",
                code(&out)
            );
            assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
            let fails = fail_lines(&out);
            assert!(
                fails.iter().any(|l| l.contains("one signed checkpoint")),
                "{fails:#?}"
            );
        }
        // The report still names the forger's key among the signers.
        let out = verify(tool, &path, &[]);
        assert!(
            stdout(&out).contains(&b.other_fingerprint),
            "{}",
            stdout(&out)
        );
    }
}

/// The same forgery without a forged log proof: the record's proof (from the genuine log) does
/// not match the re-signed manifest, which fails even with no key pinned.
#[test]
fn forgery_resealed_with_another_key_but_the_old_log_proof_fails_unpinned() {
    if !have("openssl") {
        return;
    }
    let (_d, path) = forge_with_other_key(false);
    for tool in TOOLS {
        let out = verify(tool, &path, &[]);
        let fails = fail_lines(&out);
        println!(
            "[forgery, resealed, old log proof] {tool:?} no key: exit {}; {fails:#?}",
            code(&out)
        );
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert!(
            fails.iter().any(|l| l.contains("EX-C-000001")),
            "{fails:#?}"
        );
    }
}

/// Forges EX-C-000001 with the other key (see above); with `forge_proof`, its log proof too.
fn forge_with_other_key(forge_proof: bool) -> (tempfile::TempDir, PathBuf) {
    let b = base();
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    let work = tempfile::tempdir().unwrap();
    let sign = |bytes: &[u8]| -> Vec<u8> {
        let msg = work.path().join("msg");
        let sig = work.path().join("sig");
        std::fs::write(&msg, bytes).unwrap();
        let st = std::process::Command::new("openssl")
            .args(["pkeyutl", "-sign", "-rawin", "-inkey"])
            .arg(&b.other_key)
            .arg("-in")
            .arg(&msg)
            .arg("-out")
            .arg(&sig)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::read(&sig).unwrap()
    };
    // Forge EX-C-000001's URL and signer, keeping the JSON canonical (same-length edits).
    let m = by_rel(&entries, "exhibit/manifests/EX-C-000001.json");
    let text = String::from_utf8(entries[m].data.clone()).unwrap();
    let forged = text
        .replace("https://example.com/privacy", "https://example.com/privacx")
        .replace(&b.fingerprint, &b.other_fingerprint);
    assert_ne!(forged, text);
    entries[m].data = forged.into_bytes();
    let s = by_rel(&entries, "exhibit/manifests/EX-C-000001.json.sig");
    entries[s].data = sign(&entries[m].data);
    // A C2SP tlog-proof for it: index 0 of a one-leaf log, whose root is the leaf hash
    // SHA-256(0x00 || manifest), under a checkpoint signed note by the forger's key.
    let proof = entries
        .iter()
        .position(|e| e.rel() == "exhibit/proofs/EX-C-000001.tlog-proof")
        .filter(|_| forge_proof);
    if let Some(p) = proof {
        let origin = "test.example";
        let mut leaf = vec![0u8];
        leaf.extend_from_slice(&entries[m].data);
        let root = hex::decode(sha256_hex(&leaf)).unwrap();
        let body = format!("{origin}\n1\n{}\n", base64(&root));
        let pem = std::fs::read_to_string(&b.other_pub_pem).unwrap();
        let der = unbase64(
            &pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        );
        let raw_key = &der[der.len() - 32..];
        let mut kh = format!("{origin}\n").into_bytes();
        kh.push(0x01);
        kh.extend_from_slice(raw_key);
        let mut sig = hex::decode(&sha256_hex(&kh)[..8]).unwrap();
        sig.extend_from_slice(&sign(body.as_bytes()));
        let note = format!("{body}\n\u{2014} {origin} {}\n", base64(&sig));
        entries[p].data = format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{note}").into_bytes();
    }
    // Add the forger's key, named by its fingerprint.
    let stem = b
        .other_fingerprint
        .replacen("SHA256:", "SHA256-", 1)
        .replace('+', "-")
        .replace('/', "_");
    let key_pem = std::fs::read(&b.other_pub_pem).unwrap();
    entries.push(file_entry(
        &format!("{bag}/exhibit/keys/{stem}.pem"),
        &key_pem,
    ));
    // Recompute the tag manifest over every tag file, and re-seal it.
    let t = by_rel(&entries, "tagmanifest-sha256.txt");
    let mut tags: Vec<(String, String)> = entries
        .iter()
        .filter(|e| {
            let r = e.rel();
            !r.starts_with("data/")
                && r != "tagmanifest-sha256.txt"
                && r != "tagmanifest-sha256.txt.sig"
        })
        .map(|e| (e.rel(), sha256_hex(&e.data)))
        .collect();
    tags.sort();
    entries[t].data = tags
        .iter()
        .map(|(p, h)| format!("{h}  {p}\n"))
        .collect::<String>()
        .into_bytes();
    let seal = by_rel(&entries, "tagmanifest-sha256.txt.sig");
    entries[seal].data = sign(&entries[t].data);
    write_bundle(&pack(&entries))
}

#[test]
fn an_unlisted_extra_payload_file_fails() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.push(file_entry(
        &format!("{bag}/data/content/extra.html"),
        b"<p>planted</p>\n",
    ));
    let (_d, path) = write_bundle(&pack(&entries));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        let fails = fail_lines(&out);
        println!("[extra unlisted] {tool:?}: exit {}; {fails:#?}", code(&out));
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert!(
            fails
                .iter()
                .any(|l| l.contains("data/content/extra.html") && l.contains("not listed")),
            "{fails:#?}"
        );
    }
}

/// An extra payload file listed in `manifest-sha256.txt` (Payload-Oxum and the tag manifest
/// updated too), the seal kept: no signed capture manifest describes it, and the seal fails.
#[test]
fn a_listed_extra_payload_file_fails() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    let planted = b"<p>planted</p>\n";
    entries.push(file_entry(
        &format!("{bag}/data/content/extra.html"),
        planted,
    ));
    let m = by_rel(&entries, "manifest-sha256.txt");
    let mut listed = entries[m].data.clone();
    listed.extend_from_slice(
        format!("{}  data/content/extra.html\n", sha256_hex(planted)).as_bytes(),
    );
    entries[m].data = listed;
    relist_tag(&mut entries, m);
    // Payload-Oxum: <bytes>.<files>
    let info = by_rel(&entries, "bag-info.txt");
    let text = String::from_utf8(entries[info].data.clone()).unwrap();
    let oxum = text
        .lines()
        .find_map(|l| l.strip_prefix("Payload-Oxum: "))
        .unwrap()
        .to_owned();
    let (bytes, files) = oxum.split_once('.').unwrap();
    let new_oxum = format!(
        "{}.{}",
        bytes.parse::<u64>().unwrap() + planted.len() as u64,
        files.parse::<u64>().unwrap() + 1
    );
    entries[info].data = text
        .replace(
            &format!("Payload-Oxum: {oxum}"),
            &format!("Payload-Oxum: {new_oxum}"),
        )
        .into_bytes();
    relist_tag(&mut entries, info);
    let (_d, path) = write_bundle(&pack(&entries));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        let fails = fail_lines(&out);
        println!("[extra listed] {tool:?}: exit {}; {fails:#?}", code(&out));
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert!(
            fails.iter().any(|l| l.contains("data/content/extra.html")
                && l.contains("described by a signed manifest")),
            "{fails:#?}"
        );
        assert!(
            fails
                .iter()
                .any(|l| l.contains("tagmanifest-sha256.txt.sig")),
            "{fails:#?}"
        );
        assert!(
            !fails.iter().any(|l| l.contains("Payload-Oxum")),
            "{fails:#?}"
        );
    }
}

#[test]
fn an_unlisted_extra_tag_file_fails() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.push(file_entry(
        &format!("{bag}/exhibit/notes.txt"),
        b"trust me\n",
    ));
    let (_d, path) = write_bundle(&pack(&entries));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        let fails = fail_lines(&out);
        println!("[extra tag file] {tool:?}: exit {}; {fails:#?}", code(&out));
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert!(
            fails
                .iter()
                .any(|l| l.contains("exhibit/notes.txt") && l.contains("seal")),
            "{fails:#?}"
        );
    }
}

/// Removing a file: exit 1 (and the report names it) when the bag is still recognisably an
/// exhibit bundle; exit 2 when a file every bundle must have is gone (`bagit.txt`, the two
/// manifests, the seal — checks.rs `require`), since then it is not an exhibit bundle at all.
#[test]
fn removed_files() {
    let cases: &[(&str, i32)] = &[
        ("data/content/*.html", 1),
        ("data/content/*.txt", 1),
        ("data/text/*", 1),
        ("exhibit/manifests/EX-C-000001.json", 1),
        ("exhibit/manifests/EX-C-000001.json.sig", 1),
        ("exhibit/keys/*", 1),
        ("exhibit/proofs/EX-C-000001.tlog-proof", 1),
        ("exhibit/citation.txt", 1),
        ("VERIFY.txt", 1),
        ("bag-info.txt", 1),
        ("bagit.txt", 2),
        ("manifest-sha256.txt", 2),
        ("tagmanifest-sha256.txt", 2),
        ("tagmanifest-sha256.txt.sig", 2),
    ];
    let mut wrong = Vec::new();
    for &(pattern, want) in cases {
        let mut entries = base_entries();
        let i = find(&entries, |r| match pattern.split_once('*') {
            Some((pre, suf)) => r.starts_with(pre) && r.ends_with(suf),
            None => r == pattern,
        });
        let rel = entries[i].rel();
        entries.remove(i);
        let (_d, path) = write_bundle(&pack(&entries));
        for tool in TOOLS {
            let out = verify(tool, &path, &[pub_pem()]);
            let got = code(&out);
            let named = if got == 2 {
                let e = stderr(&out);
                e.lines().count() == 1
                    && e.starts_with(tool.error_prefix())
                    && e.contains(&rel)
                    && out.stdout.is_empty()
            } else {
                fail_lines(&out).iter().any(|l| l.contains(&rel))
            };
            println!(
                "[removed {rel}] {tool:?}: exit {got}; {}",
                if got == 2 {
                    stderr(&out).trim().to_owned()
                } else {
                    format!("{:?}", fail_lines(&out).first())
                }
            );
            if got != want || !named {
                wrong.push(format!(
                    "removed {rel}, {tool:?}: exit {got} (want {want}), named: {named}\n{}{}",
                    stdout(&out),
                    stderr(&out)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n---\n"));
}

#[test]
fn keys_right_wrong_and_none() {
    let b = base();
    let (_d, path) = write_bundle(&b.bundle);
    let other_pub = b.other_pub_pem.to_str().unwrap();
    let cases: &[(&str, Vec<&str>, i32)] = &[
        ("right key file", vec![pub_pem()], 0),
        ("right fingerprint", vec![&b.fingerprint], 0),
        ("no key", vec![], 3),
        ("another key file", vec![other_pub], 1),
        ("another fingerprint", vec![&b.other_fingerprint], 1),
        ("another and the right key", vec![other_pub, pub_pem()], 0),
    ];
    for (case, keys, want) in cases {
        for tool in TOOLS {
            let out = verify(tool, &path, keys);
            println!("[keys: {case}] {tool:?}: exit {}", code(&out));
            assert_eq!(
                code(&out),
                *want,
                "{case}, {tool:?}:\n{}{}",
                stdout(&out),
                stderr(&out)
            );
            match want {
                0 => assert!(stdout(&out).contains("VERIFIED")),
                3 => {
                    // Prints the fingerprint and how to pin it.
                    assert!(stdout(&out).contains(&format!("--key {}", b.fingerprint)));
                }
                _ => {
                    let fails = fail_lines(&out);
                    assert!(
                        fails
                            .iter()
                            .any(|l| l.contains(&b.fingerprint) && l.contains("pinned")),
                        "{fails:#?}"
                    );
                    assert!(stdout(&out).contains(&b.other_fingerprint));
                }
            }
        }
    }
    // Unusable --key arguments are bad input (2), never a silent downgrade to "unpinned".
    let missing = b.archive.join("no-such.pem");
    for bad in ["SHA256:not-a-fingerprint", missing.to_str().unwrap()] {
        for tool in TOOLS {
            let out = verify(tool, &path, &[bad]);
            println!(
                "[keys: bad --key {bad}] {tool:?}: exit {}; {}",
                code(&out),
                stderr(&out).trim()
            );
            assert_eq!(code(&out), 2, "{}", stderr(&out));
            assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        }
    }
}

/// `exhibit verify` inside the archive that made the bundle trusts the archive's own key.
#[test]
fn main_binary_trusts_its_own_archive_key() {
    let b = base();
    let (_d, path) = write_bundle(&b.bundle);
    let out = exhibit(&b.archive, &["verify", path.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let mut entries = base_entries();
    let i = find(&entries, |r| r.starts_with("data/text/"));
    xor_last(&mut entries[i].data);
    let (_d2, path) = write_bundle(&pack(&entries));
    let out = exhibit(&b.archive, &["verify", path.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// 2. Hostile-tar matrix
// ---------------------------------------------------------------------------------------------

/// A name no other test or run uses, for escape targets.
fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "escape-{tag}-{}-{}.txt",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Checks a hostile bundle with both verifiers: exit 2, nothing on stdout, exactly one line on
/// stderr (under 4 KiB) with the tool's error prefix and every one of `hints` (`a|b`: either),
/// no file written in the cwd or beside the bundle, and none of `escapes` created in /tmp or next
/// to the cwd or the bundle.
fn hostile(case: &str, bytes: &[u8], hints: &[&str], escapes: &[&str]) {
    let (dir, path) = write_bundle(bytes);
    let mut wrong = Vec::new();
    for tool in TOOLS {
        let cwd = tempfile::tempdir().unwrap();
        let out = verify_in(tool, &path, &[pub_pem()], cwd.path());
        let err = stderr(&out);
        println!(
            "[hostile {case}] {tool:?}: exit {}; stderr ({} bytes) {:?}",
            code(&out),
            err.len(),
            err.trim_end().chars().take(300).collect::<String>()
        );
        if code(&out) != 2 {
            wrong.push(format!("{tool:?}: exit {} (want 2)", code(&out)));
        }
        if !out.stdout.is_empty() {
            wrong.push(format!("{tool:?}: stdout is not empty:\n{}", stdout(&out)));
        }
        if err.lines().count() != 1 || !err.ends_with('\n') {
            wrong.push(format!("{tool:?}: stderr is not exactly one line: {err:?}"));
        }
        if !err.starts_with(tool.error_prefix()) {
            wrong.push(format!(
                "{tool:?}: stderr does not start with {:?}: {err:?}",
                tool.error_prefix()
            ));
        }
        for h in hints {
            // `a|b`: either will do.
            let lower = err.to_lowercase();
            if !h.split('|').any(|alt| lower.contains(&alt.to_lowercase())) {
                wrong.push(format!("{tool:?}: stderr lacks {h:?}: {err:?}"));
            }
        }
        if err.len() > 4096 {
            wrong.push(format!(
                "{tool:?}: {} bytes on stderr; one line should be short",
                err.len()
            ));
        }
        if err.contains('\u{1b}') {
            wrong.push(format!("{tool:?}: raw ESC byte on stderr: {err:?}"));
        }
        let left: Vec<_> = std::fs::read_dir(cwd.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        if !left.is_empty() {
            wrong.push(format!("{tool:?}: wrote into its cwd: {left:?}"));
        }
        for name in escapes {
            for place in [
                Path::new("/tmp"),
                dir.path().parent().unwrap(),
                cwd.path().parent().unwrap(),
                cwd.path(),
                dir.path(),
            ] {
                let p = place.join(name);
                if p.exists() {
                    let _ = std::fs::remove_file(&p);
                    wrong.push(format!("{tool:?}: created {}", p.display()));
                }
            }
        }
    }
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    if beside != vec![std::ffi::OsString::from("bundle.tar.zst")] {
        wrong.push(format!("files beside the bundle: {beside:?}"));
    }
    assert!(wrong.is_empty(), "hostile {case}:\n{}", wrong.join("\n"));
}

/// The base bundle with `extra` inserted after its first entry.
fn with_entry(extra: Entry) -> Vec<u8> {
    let mut entries = base_entries();
    entries.insert(1, extra);
    pack(&entries)
}

fn with_file(path: &[u8], data: &[u8]) -> Vec<u8> {
    let mut e = raw_entry(path, tar::EntryType::Regular, data.len() as u64, b"");
    e.data = data.to_vec();
    with_entry(e)
}

#[test]
fn hostile_path_traversal() {
    let bag = bag_name(&base_entries());
    let name = unique("dotdot");
    let bytes = with_file(format!("{bag}/../../{name}").as_bytes(), b"escaped\n");
    hostile(
        "bag/../../escape",
        &bytes,
        &["unsafe entry", ".."],
        &[&name],
    );
}

#[test]
fn hostile_absolute_path() {
    let name = unique("abs");
    let bytes = with_file(format!("/tmp/{name}").as_bytes(), b"escaped\n");
    hostile(
        "/tmp/escape",
        &bytes,
        &["unsafe entry", "absolute"],
        &[&name],
    );
}

#[test]
fn hostile_symlink() {
    let bag = bag_name(&base_entries());
    let name = unique("symlink");
    let e = raw_entry(
        format!("{bag}/data/content/{name}").as_bytes(),
        tar::EntryType::Symlink,
        0,
        b"/etc/passwd",
    );
    hostile(
        "symlink",
        &with_entry(e),
        &["unsafe entry", "symbolic link"],
        &[&name],
    );
}

#[test]
fn hostile_hard_link() {
    let bag = bag_name(&base_entries());
    let name = unique("hardlink");
    let e = raw_entry(
        format!("{bag}/data/content/{name}").as_bytes(),
        tar::EntryType::Link,
        0,
        format!("{bag}/bagit.txt").as_bytes(),
    );
    hostile(
        "hard link",
        &with_entry(e),
        &["unsafe entry", "hard link"],
        &[&name],
    );
}

#[test]
fn hostile_character_device() {
    let bag = bag_name(&base_entries());
    let e = raw_entry(
        format!("{bag}/data/null").as_bytes(),
        tar::EntryType::Char,
        0,
        b"",
    );
    hostile(
        "character device",
        &with_entry(e),
        &["unsafe entry", "device"],
        &[],
    );
}

#[test]
fn hostile_block_device() {
    let bag = bag_name(&base_entries());
    let e = raw_entry(
        format!("{bag}/data/sda").as_bytes(),
        tar::EntryType::Block,
        0,
        b"",
    );
    hostile(
        "block device",
        &with_entry(e),
        &["unsafe entry", "device"],
        &[],
    );
}

#[test]
fn hostile_fifo() {
    let bag = bag_name(&base_entries());
    let e = raw_entry(
        format!("{bag}/data/pipe").as_bytes(),
        tar::EntryType::Fifo,
        0,
        b"",
    );
    hostile("fifo", &with_entry(e), &["unsafe entry", "pipe"], &[]);
}

#[test]
fn hostile_duplicate_entry() {
    let mut entries = base_entries();
    let i = by_rel(&entries, "bagit.txt");
    let dup = entries[i].clone();
    entries.push(dup);
    hostile(
        "duplicate bagit.txt",
        &pack(&entries),
        &["unsafe entry", "duplicate"],
        &[],
    );
}

/// The same path twice with different bytes: a reader keeping the first, another the last.
#[test]
fn hostile_duplicate_payload_with_other_bytes() {
    let mut entries = base_entries();
    let i = find(&entries, |r| r.starts_with("data/content/"));
    let mut dup = entries[i].clone();
    xor_last(&mut dup.data);
    entries.insert(i + 1, dup);
    hostile(
        "duplicate payload, other bytes",
        &pack(&entries),
        &["unsafe entry", "duplicate"],
        &[],
    );
}

#[test]
fn hostile_two_bags() {
    let mut entries = base_entries();
    entries.push(file_entry(
        "other-bag/bagit.txt",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
    ));
    hostile(
        "two top-level directories",
        &pack(&entries),
        &["more than one"],
        &[],
    );
}

#[test]
fn hostile_file_at_the_top_level() {
    let e = {
        let mut e = raw_entry(b"bagit.txt", tar::EntryType::Regular, 4, b"");
        e.data = b"bag\n".to_vec();
        e
    };
    hostile(
        "a file where the bag directory should be",
        &pack(&[e]),
        &["unsafe entry", "bag directory"],
        &[],
    );
}

#[test]
fn hostile_empty_tar() {
    hostile("empty tar", &pack(&[]), &["no files"], &[]);
}

#[test]
fn hostile_empty_file() {
    hostile("empty file (0 bytes)", b"", &[], &[]);
}

#[test]
fn hostile_only_a_directory() {
    let e = raw_entry(b"bag/", tar::EntryType::Directory, 0, b"");
    hostile(
        "a bag directory and nothing else",
        &pack(&[e]),
        &["no files"],
        &[],
    );
}

#[test]
fn hostile_tag_file_over_16_mib() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.insert(
        1,
        zeros_entry(&format!("{bag}/exhibit/bomb.bin"), (16 << 20) + 1),
    );
    let bytes = pack(&entries);
    assert!(bytes.len() < 1 << 20, "zeros compress: {}", bytes.len());
    hostile(
        "tag file of 16 MiB + 1",
        &bytes,
        &["limit", "exhibit/bomb.bin"],
        &[],
    );
}

/// Exactly at the limit, a tag file is read (and then fails the seal: exit 1).
#[test]
fn tag_file_of_exactly_16_mib_is_read_and_fails_the_checks() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.insert(1, zeros_entry(&format!("{bag}/exhibit/big.bin"), 16 << 20));
    let (_d, path) = write_bundle(&pack(&entries));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        println!("[tag file of exactly 16 MiB] {tool:?}: exit {}", code(&out));
        assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
        assert!(
            fail_lines(&out)
                .iter()
                .any(|l| l.contains("exhibit/big.bin")),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn hostile_truncated_at_half() {
    let b = &base().bundle;
    hostile("cut at half", &b[..b.len() / 2], &["truncated"], &[]);
}

/// Cut by more than the zstd frame checksum (4 bytes): the last block is incomplete.
#[test]
fn hostile_truncated_by_eight_bytes() {
    let b = &base().bundle;
    hostile("cut by 8 bytes", &b[..b.len() - 8], &["truncated"], &[]);
}

/// Regression: cutting 1–4 bytes removes (part of) the zstd frame's content checksum only. A
/// reader that stops pulling from the decoder at the tar's end-of-archive block never finishes
/// the frame and misses the cut (a95b992: exit 0 with a key), while `zstd -d` and
/// `tar --zstd -x` (VERIFY.txt's stock-tool path) fail on it ("premature end").
#[test]
fn hostile_truncated_by_one_byte() {
    let b = &base().bundle;
    hostile("cut by 1 byte", &b[..b.len() - 1], &["truncated"], &[]);
}

/// Regression (same cause): bytes after the end of the zstd frame were never read, so a bundle
/// with trailing garbage verified (a95b992: exit 0), though `zstd -d` rejects it ("unsupported
/// format") and so does `tar --zstd -x`. Whatever rides along is covered by no manifest or seal.
#[test]
fn hostile_trailing_garbage_after_the_frame() {
    let mut b = base().bundle.clone();
    b.extend_from_slice(b"trailing bytes no manifest covers\n");
    hostile("trailing garbage", &b, &["corrupt"], &[]);
}

/// An entry hidden after the tar's end-of-archive blocks (inside the zstd frame): no tar reader
/// that stops at the end marker sees it, so nothing may follow the marker but zero padding.
#[test]
fn hostile_entry_hidden_after_the_end_of_the_tar() {
    let entries = base_entries();
    let bag = bag_name(&entries);
    let mut tar = zstd::decode_all(&pack(&entries)[..]).unwrap();
    let hidden = zstd::decode_all(
        &pack(&[file_entry(
            &format!("{bag}/data/hidden.html"),
            b"<p>hidden</p>",
        )])[..],
    )
    .unwrap();
    tar.extend_from_slice(&hidden);
    let bytes = zstd::encode_all(&tar[..], 3).unwrap();
    hostile(
        "entry after end-of-archive",
        &bytes,
        &["after the end"],
        &[],
    );
}

/// Zero padding after the end-of-archive blocks is normal (GNU tar pads to 10 KiB records), but
/// not without bound.
#[test]
fn padding_after_the_end_of_the_tar() {
    let tar = zstd::decode_all(&base().bundle[..]).unwrap();
    let padded = |n: usize| {
        let mut t = tar.clone();
        t.resize(t.len() + n, 0);
        zstd::encode_all(&t[..], 3).unwrap()
    };
    let (_d, path) = write_bundle(&padded(10 * 1024));
    for tool in TOOLS {
        let out = verify(tool, &path, &[pub_pem()]);
        println!("[10 KiB of zero padding] {tool:?}: exit {}", code(&out));
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    }
    hostile(
        "64 MiB of zero padding",
        &padded(64 << 20),
        &["padding"],
        &[],
    );
}

#[test]
fn hostile_not_zstd() {
    // An uncompressed tar of the real bag.
    let tar = zstd::decode_all(&base().bundle[..]).unwrap();
    hostile("plain tar, not zstd", &tar, &["corrupt"], &[]);
    hostile(
        "text, not zstd",
        b"hello, I am not a bundle\n",
        &["corrupt"],
        &[],
    );
}

#[test]
fn hostile_zstd_but_not_tar() {
    let short = zstd::encode_all(&b"this is not a tar archive\n"[..], 3).unwrap();
    hostile("zstd of a short text", &short, &["corrupt"], &[]);
    let long = zstd::encode_all(&[b'x'; 4096][..], 3).unwrap();
    hostile("zstd of 4 KiB of text", &long, &["corrupt"], &[]);
}

#[test]
fn hostile_zstd_window_over_the_limit() {
    // A frame that asks for a 1 GiB window: the decoder must refuse, not allocate it.
    let tar = zstd::decode_all(&base().bundle[..]).unwrap();
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.window_log(30).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(&tar).unwrap();
    let bytes = enc.finish().unwrap();
    hostile("zstd window 2^30", &bytes, &["corrupt"], &[]);
}

#[test]
fn hostile_non_utf8_path() {
    let bag = bag_name(&base_entries());
    let mut path = format!("{bag}/data/content/").into_bytes();
    path.extend_from_slice(b"\xff\xfe.html");
    hostile(
        "non-UTF-8 path",
        &with_file(&path, b"x"),
        &["unsafe entry", "UTF-8"],
        &[],
    );
}

#[test]
fn hostile_backslash_path() {
    let bag = bag_name(&base_entries());
    let name = unique("backslash");
    let path = format!("{bag}\\..\\..\\{name}");
    hostile(
        "backslash path",
        &with_file(path.as_bytes(), b"x"),
        &["unsafe entry", "backslash"],
        &[&name],
    );
}

#[test]
fn hostile_control_characters_in_path() {
    let bag = bag_name(&base_entries());
    // A newline and a terminal escape sequence: the message must stay one line and inert.
    let path = format!("{bag}/data/a\nFAKE LINE\x1b[2J.html");
    hostile(
        "control characters in path",
        &with_file(path.as_bytes(), b"x"),
        &["unsafe entry", "control"],
        &[],
    );
}

#[test]
fn hostile_path_longer_than_1024_bytes() {
    let bag = bag_name(&base_entries());
    let long = format!("{bag}/data/{}.html", "a".repeat(2000));
    hostile(
        "path of 2000+ bytes (GNU long name)",
        &with_long_name(long.as_bytes()),
        &["unsafe entry", "longer than|extension header"],
        &[],
    );
}

/// Regression: a95b992 read GNU long names and quoted an over-long path whole in its error, so
/// a 1 MiB name put 1 MiB on stderr (a 200 MiB one, 400 MiB: every NUL escaped as `\0`). The
/// message must stay short.
#[test]
fn hostile_long_path_is_not_echoed_whole() {
    let bag = bag_name(&base_entries());
    let long = format!("{bag}/data/{}.html", "a".repeat(1 << 20));
    hostile(
        "path of 1 MiB (GNU long name)",
        &with_long_name(long.as_bytes()),
        &["unsafe entry", "longer than|extension header"],
        &[],
    );
}

/// A GNU long-name (`L`) entry carrying `name` (NUL-terminated), for the entry that follows.
fn gnu_long_name(name: Vec<u8>) -> Entry {
    let mut data = name;
    data.push(0);
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(MTIME);
    h.set_cksum();
    Entry {
        header: h,
        data,
        zeros: 0,
        fill: 0,
        raw: true,
    }
}

/// The base bundle plus one file whose name, given by a GNU long-name entry, is `name`.
fn with_long_name(name: &[u8]) -> Vec<u8> {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.insert(1, gnu_long_name(name.to_vec()));
    let mut f = raw_entry(
        format!("{bag}/data/short.html").as_bytes(),
        tar::EntryType::Regular,
        1,
        b"",
    );
    f.data = b"x".to_vec();
    entries.insert(2, f);
    pack(&entries)
}

/// A pax header that renames a harmless-looking entry to a traversal path.
#[test]
fn hostile_pax_path_traversal() {
    let bag = bag_name(&base_entries());
    let name = unique("pax");
    let target = format!("{bag}/../../{name}");
    let mut entries = base_entries();
    entries.insert(1, pax_entry(&[("path", &target)]));
    let mut f = raw_entry(
        format!("{bag}/data/innocent.txt").as_bytes(),
        tar::EntryType::Regular,
        8,
        b"",
    );
    f.data = b"escaped\n".to_vec();
    entries.insert(2, f);
    hostile(
        "pax path=bag/../../escape",
        &pack(&entries),
        &["unsafe entry", "..|extension header"],
        &[&name],
    );
}

#[test]
fn hostile_unreadable_inputs() {
    let dir = tempfile::tempdir().unwrap();
    for (case, path) in [
        ("no such file", dir.path().join("missing.tar.zst")),
        ("a directory", dir.path().to_path_buf()),
    ] {
        for tool in TOOLS {
            let out = verify(tool, &path, &[pub_pem()]);
            println!(
                "[unreadable: {case}] {tool:?}: exit {}; {}",
                code(&out),
                stderr(&out).trim()
            );
            assert_eq!(code(&out), 2, "{}", stderr(&out));
            assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
            assert!(stderr(&out).starts_with(tool.error_prefix()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Memory sanity for bombs that compress to almost nothing (no timing assertions)
// ---------------------------------------------------------------------------------------------

const MIB: u64 = 1 << 20;
/// Peak RSS allowed while reading a bomb.
const MAX_RSS_KB: u64 = 200 * 1024;

/// What a verifier run did, its output sent to files (a hostile bundle can make it print a lot).
struct Measured {
    code: i32,
    stdout: String,
    stderr_len: u64,
    stderr_lines: usize,
    /// The first 4 KiB of stderr.
    stderr_head: String,
    /// Peak RSS in KiB, when `/usr/bin/time` could measure it.
    rss_kb: Option<u64>,
}

/// Runs a verifier (under `/usr/bin/time -v` when it is there) in an empty cwd, with stdout and
/// stderr sent to files.
fn run_measured(tool: Tool, bundle: &Path) -> Measured {
    let time = Path::new("/usr/bin/time");
    let files = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let (out_path, err_path, report) = (
        files.path().join("stdout"),
        files.path().join("stderr"),
        files.path().join("time"),
    );
    let bin = match tool {
        Tool::Standalone => verifier_bin(),
        Tool::Main => exhibit_bin(),
    };
    let mut cmd = if time.is_file() {
        let mut c = std::process::Command::new(time);
        c.arg("-o").arg(&report).arg("-v").arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    if tool == Tool::Main {
        cmd.arg("verify");
    }
    let status = cmd
        .arg(bundle)
        .arg("--key")
        .arg(pub_pem())
        .current_dir(cwd.path())
        .env_remove("EXHIBIT_ARCHIVE")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    assert_empty_dir(cwd.path(), "cwd");
    let mut head = Vec::new();
    std::fs::File::open(&err_path)
        .unwrap()
        .take(4096)
        .read_to_end(&mut head)
        .unwrap();
    let mut stderr_lines = 0;
    let mut f = std::io::BufReader::new(std::fs::File::open(&err_path).unwrap());
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        stderr_lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
    let rss_kb = std::fs::read_to_string(&report).ok().and_then(|r| {
        r.lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    if rss_kb.is_none() {
        eprintln!("SKIP: /usr/bin/time -v is not available; peak memory is not measured");
    }
    let mut stdout = String::new();
    std::fs::File::open(&out_path)
        .unwrap()
        .take(1 << 20)
        .read_to_string(&mut stdout)
        .unwrap();
    Measured {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr_len: std::fs::metadata(&err_path).unwrap().len(),
        stderr_lines,
        stderr_head: String::from_utf8_lossy(&head).into_owned(),
        rss_kb,
    }
}

/// Runs both verifiers on a bomb: the exit code must be one of `codes`, stderr one line (when
/// the exit is 2) and peak RSS under [`MAX_RSS_KB`]. Returns the runs for further checks.
fn bomb(case: &str, bundle: &Path, codes: &[i32]) -> Vec<Measured> {
    let size = std::fs::metadata(bundle).unwrap().len();
    let mut runs = Vec::new();
    let mut wrong = Vec::new();
    for tool in TOOLS {
        let m = run_measured(tool, bundle);
        println!(
            "[memory {case} ({size} bytes compressed)] {tool:?}: exit {}; peak RSS {}; \
             stderr {} bytes: {:?}",
            m.code,
            m.rss_kb
                .map_or("not measured".to_owned(), |kb| format!("{} MiB", kb / 1024)),
            m.stderr_len,
            m.stderr_head.chars().take(240).collect::<String>()
        );
        if !codes.contains(&m.code) {
            wrong.push(format!("{tool:?}: exit {} (want one of {codes:?})", m.code));
        }
        if m.code == 2 && m.stderr_lines != 1 {
            wrong.push(format!("{tool:?}: {} lines on stderr", m.stderr_lines));
        }
        if let Some(kb) = m.rss_kb
            && kb >= MAX_RSS_KB
        {
            wrong.push(format!(
                "{tool:?}: peak RSS {} MiB, over {} MiB",
                kb / 1024,
                MAX_RSS_KB / 1024
            ));
        }
        runs.push(m);
    }
    assert!(wrong.is_empty(), "{case}:\n{}", wrong.join("\n"));
    runs
}

fn write_bundle_file(entries: &[Entry]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar.zst");
    let file = std::fs::File::create(&path).unwrap();
    pack_into(std::io::BufWriter::new(file), entries)
        .into_inner()
        .unwrap()
        .sync_all()
        .unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(
        size < MIB,
        "zeros compress to almost nothing, not {size} bytes"
    );
    (dir, path)
}

/// A 200 MiB zero-filled payload file no manifest lists: it is hashed as it streams, never
/// held, and reported as unexplained (exit 1).
#[test]
fn memory_200_mib_payload_is_streamed_and_reported() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.push(zeros_entry(&format!("{bag}/data/zeros.bin"), 200 * MIB));
    let (_d, path) = write_bundle_file(&entries);
    for m in bomb("200 MiB payload", &path, &[1]) {
        assert!(
            m.stdout.lines().any(|l| subject(l) == "data/zeros.bin"
                && l.trim_start().starts_with("FAIL  ")
                && l.contains("not listed")),
            "{}",
            m.stdout
        );
    }
}

/// A tag file far over the 16 MiB limit is refused from its header, before it is read.
#[test]
fn memory_tag_bomb_is_refused_at_the_limit() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.insert(
        1,
        zeros_entry(&format!("{bag}/exhibit/bomb.bin"), 200 * MIB),
    );
    let (_d, path) = write_bundle_file(&entries);
    for m in bomb("200 MiB tag file", &path, &[2]) {
        assert!(m.stderr_head.contains("limit"), "{}", m.stderr_head);
        assert!(
            m.stderr_head.contains("exhibit/bomb.bin"),
            "{}",
            m.stderr_head
        );
    }
}

/// Regression: the size limits are checked against the ustar header's size field, but the `tar`
/// crate takes the size from a preceding pax `size=` record when there is one. At a95b992 a tag
/// file whose header said 0 bytes and whose pax record said 300 MiB passed the 16 MiB check and
/// was read into memory whole (exit 2 only afterwards, peak RSS ~306 MiB). Pax headers are now
/// refused before they are believed.
#[test]
fn memory_pax_size_tag_bomb_is_refused() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    let n = 300 * MIB;
    let mut tag = raw_entry(
        format!("{bag}/exhibit/pax-bomb.bin").as_bytes(),
        tar::EntryType::Regular,
        0,
        b"",
    );
    tag.zeros = n;
    entries.insert(1, pax_entry(&[("size", &n.to_string())]));
    entries.insert(2, tag);
    let (_d, path) = write_bundle_file(&entries);
    for m in bomb("pax size=300 MiB tag file", &path, &[2]) {
        assert!(
            m.stderr_head.contains("limit") || m.stderr_head.contains("extension header"),
            "the bomb was read, not refused: {}",
            m.stderr_head
        );
    }
}

/// Regression: unless entries are read raw, the `tar` crate reads a GNU long-name entry (`L`)
/// into memory whole before read_bundle sees any path. At a95b992 a 64 MiB long name cost ~360 MiB
/// peak RSS (the name, then copies of it for an error message quoting it whole) however small
/// max_path_bytes (1024) is.
#[test]
fn memory_gnu_long_name_bomb_is_refused() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    // A name of 64 MiB of `a`, streamed (pack sets the header's size).
    let mut ln = gnu_long_name(Vec::new());
    ln.data.clear();
    ln.fill = b'a';
    ln.zeros = 64 * MIB;
    ln.raw = false;
    entries.insert(1, ln);
    let mut f = raw_entry(
        format!("{bag}/data/x.html").as_bytes(),
        tar::EntryType::Regular,
        1,
        b"",
    );
    f.data = b"x".to_vec();
    entries.insert(2, f);
    let (_d, path) = write_bundle_file(&entries);
    for m in bomb("GNU long name of 64 MiB", &path, &[2]) {
        assert!(m.stderr_len < 4096, "{} bytes on stderr", m.stderr_len);
    }
}

/// Regression (same cause): at a95b992 a 300 MiB pax extended header was read into memory whole
/// by the `tar` crate (peak RSS ~435 MiB); its garbage records were then ignored and the entry it
/// precedes read as if nothing had happened (exit 1).
#[test]
fn memory_pax_header_bomb_is_refused() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    let n = 300 * MIB;
    let mut pax = raw_entry(b"PaxHeaders/x", tar::EntryType::XHeader, n, b"");
    pax.zeros = n;
    entries.insert(1, pax);
    let mut f = raw_entry(
        format!("{bag}/data/x.html").as_bytes(),
        tar::EntryType::Regular,
        1,
        b"",
    );
    f.data = b"x".to_vec();
    entries.insert(2, f);
    let (_d, path) = write_bundle_file(&entries);
    bomb("pax header of 300 MiB", &path, &[2]);
}

/// The zstd window the reader allows (2^27) is what the decoder may allocate: a frame using all
/// of it, over a 200 MiB payload, still verifies within bounded memory (exit 1: the payload is
/// unexplained).
#[test]
fn memory_largest_allowed_zstd_window() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    entries.push(zeros_entry(&format!("{bag}/data/zeros.bin"), 200 * MIB));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar.zst");
    let mut enc =
        zstd::stream::write::Encoder::new(std::fs::File::create(&path).unwrap(), 3).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.include_checksum(true).unwrap();
    let mut tar = tar::Builder::new(enc);
    for e in &entries {
        let mut h = e.header.clone();
        h.set_size(e.data.len() as u64 + e.zeros);
        h.set_cksum();
        tar.append(
            &h,
            (&e.data[..]).chain(std::io::repeat(e.fill).take(e.zeros)),
        )
        .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    bomb("200 MiB payload, 2^27 zstd window", &path, &[1]);
}

/// Tag files are kept in memory up to `max_tag_total_bytes` (256 MiB) by design, so a bundle of
/// a few KiB can make the reader hold ~256 MiB before it refuses the 17th 16 MiB tag file. This
/// documents that bound (it is over the 200 MB used above): peak RSS must stay under the tag
/// total plus the zstd window (2^27) plus 64 MiB.
#[test]
fn memory_tag_files_are_bounded_in_total() {
    // Tag files a verifier parses are kept in memory, up to 64 MiB in all: 17 of 16 MiB under
    // such names are refused at the limit.
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    for i in 0..17 {
        entries.insert(
            1,
            zeros_entry(
                &format!("{bag}/exhibit/proofs/pad-{i:02}.tlog-proof"),
                16 * MIB,
            ),
        );
    }
    let (_d, path) = write_bundle_file(&entries);
    for tool in TOOLS {
        let m = run_measured(tool, &path);
        println!(
            "[memory 17 parsed tag files of 16 MiB] {tool:?}: exit {}; peak RSS {}; {:?}",
            m.code,
            m.rss_kb
                .map_or("not measured".to_owned(), |kb| format!("{} MiB", kb / 1024)),
            m.stderr_head.trim()
        );
        assert_eq!(m.code, 2, "{}", m.stderr_head);
        assert_eq!(m.stderr_lines, 1);
        assert!(m.stderr_head.contains("in total"), "{}", m.stderr_head);
        if let Some(kb) = m.rss_kb {
            assert!(kb < (64 + 128 + 64) * 1024, "peak RSS {} MiB", kb / 1024);
        }
    }
    // Other tag files are only hashed: many large ones cost no memory, and as they are not
    // covered by the seal the bundle is a mismatch.
    let mut entries = base_entries();
    for i in 0..17 {
        entries.insert(
            1,
            zeros_entry(&format!("{bag}/exhibit/pad-{i:02}.bin"), 16 * MIB),
        );
    }
    let (_d, path) = write_bundle_file(&entries);
    for tool in TOOLS {
        let m = run_measured(tool, &path);
        println!(
            "[memory 17 unparsed tag files of 16 MiB] {tool:?}: exit {}; peak RSS {}",
            m.code,
            m.rss_kb
                .map_or("not measured".to_owned(), |kb| format!("{} MiB", kb / 1024)),
        );
        assert_eq!(m.code, 1);
        if let Some(kb) = m.rss_kb {
            assert!(kb < 64 * 1024, "peak RSS {} MiB", kb / 1024);
        }
    }
}

/// More than 100 000 entries (empty files, a few KiB compressed) are refused.
#[test]
fn hostile_too_many_entries() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    for i in 0..100_001 {
        entries.push(file_entry(&format!("{bag}/data/many/{i}"), b""));
    }
    let (_d, path) = write_bundle_file(&entries);
    for m in bomb("100 001 empty files", &path, &[2]) {
        assert!(m.stderr_head.contains("entries"), "{}", m.stderr_head);
    }
}

// ---------------------------------------------------------------------------------------------
// 4. One view of a bundle: what the reader verifies is what `tar -x` and Python extract
// ---------------------------------------------------------------------------------------------

/// A tar header block for `path` (all in the name field), type `flag`, size field `size`, as a
/// hand-written ustar header with a correct checksum.
fn raw_header(path: &[u8], flag: u8, size: u64) -> [u8; 512] {
    let mut e = raw_entry(path, tar::EntryType::new(flag), size, b"");
    e.header.set_cksum();
    let mut block = [0u8; 512];
    block.copy_from_slice(e.header.as_bytes());
    block
}

/// `header` followed by `data` padded with zeros to whole blocks: one tar entry, as bytes.
fn raw_tar_entry(header: &[u8; 512], data: &[u8]) -> Vec<u8> {
    let mut out = header.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// The uncompressed tar of the base bundle, without its end-of-archive blocks, and the bag
/// path of its first `data/content/*.html` file with that file's bytes.
fn base_tar_body() -> (Vec<u8>, String, Vec<u8>) {
    let entries = base_entries();
    let i = find(&entries, |r| {
        r.starts_with("data/content/") && r.ends_with(".html")
    });
    let mut tar = zstd::decode_all(&base().bundle[..]).unwrap();
    assert!(tar.ends_with(&[0u8; 1024]));
    tar.truncate(tar.len() - 1024);
    assert!(
        tar.iter().rev().take(512).any(|&b| b != 0),
        "one end block only"
    );
    (tar, entries[i].path(), entries[i].data.clone())
}

/// The attack of issue 17, finding 1: after the genuine entries, a directory entry whose size
/// field is N, followed by N bytes that are a complete entry for an existing
/// `data/content/<sha>.html` with other bytes.
fn directory_hiding_an_entry(flag: u8) -> (Vec<u8>, String, Vec<u8>) {
    let (mut tar, target, genuine) = base_tar_body();
    let bag = target.split('/').next().unwrap().to_owned();
    let mut forged = genuine.clone();
    forged.extend_from_slice(b"<p>The attacker's version.</p>\n");
    let hidden = raw_tar_entry(
        &raw_header(target.as_bytes(), b'0', forged.len() as u64),
        &forged,
    );
    let carrier = raw_header(
        format!("{bag}/data/x/").as_bytes(),
        flag,
        hidden.len() as u64,
    );
    tar.extend_from_slice(&raw_tar_entry(&carrier, &hidden));
    tar.extend_from_slice(&[0u8; 1024]);
    (zstd::encode_all(&tar[..], 3).unwrap(), target, forged)
}

/// Regression (issue 17, finding 1): a directory entry (type `5`) carrying N bytes of "data"
/// that are a complete entry replacing a captured file. The `tar` crate (which the reader used
/// before) skipped the N bytes, so both verifiers said VERIFIED (exit 0 with the right key)
/// while `tar --zstd -xf` and Python's `tarfile`, which give a directory no data, extracted the
/// attacker's bytes over the genuine file.
#[test]
fn hostile_directory_entry_carrying_a_hidden_replacement() {
    let (bytes, target, forged) = directory_hiding_an_entry(b'5');
    // What stock tar makes of it (the attack is real): the forged bytes.
    if have("tar") && have("zstd") {
        let (dir, path) = write_bundle(&bytes);
        let x = dir.path().join("x");
        std::fs::create_dir(&x).unwrap();
        untar(&path, &x);
        assert_eq!(std::fs::read(x.join(&target)).unwrap(), forged);
    }
    hostile(
        "directory entry hiding a replacement file",
        &bytes,
        &["unsafe entry", "directory entry carrying"],
        &[],
    );
    // The same carrier under every other type that tar readers give no data.
    for (flag, hint) in [
        (b'1', "hard link"),
        (b'2', "symbolic link"),
        (b'3', "device"),
        (b'4', "device"),
        (b'6', "pipe"),
    ] {
        let (bytes, _, _) = directory_hiding_an_entry(flag);
        hostile(
            &format!("type {:?} entry hiding a replacement file", flag as char),
            &bytes,
            &["unsafe entry", hint],
            &[],
        );
    }
}

/// Regression (issue 17, finding 1, the bomb half): a directory's "data" was skipped without
/// being counted, so gigabytes of it passed every size limit (exit 0). Now a directory with
/// data is refused from its header, before any of it is read.
#[test]
fn memory_directory_data_bomb_is_refused() {
    let mut entries = base_entries();
    let bag = bag_name(&entries);
    let mut d = raw_entry(
        format!("{bag}/data/d/").as_bytes(),
        tar::EntryType::Directory,
        256 * MIB,
        b"",
    );
    d.zeros = 256 * MIB;
    entries.push(d);
    let (_d, path) = write_bundle_file(&entries);
    for m in bomb("directory carrying 256 MiB", &path, &[2]) {
        assert!(m.stderr_head.contains("directory"), "{}", m.stderr_head);
    }
}

/// A deterministic generator (SplitMix64): the differential test's cases are the same on every
/// run, and a failure names its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

/// Byte offsets of the header blocks of a tar (the base bundle's, possibly mutated already), up
/// to its first zero block or a header whose size is not plain octal.
fn header_offsets(tar: &[u8]) -> Vec<usize> {
    let mut at = 0;
    let mut out = Vec::new();
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        out.push(at);
        let Some(size) = std::str::from_utf8(&tar[at + 124..at + 135])
            .ok()
            .and_then(|s| u64::from_str_radix(s, 8).ok())
        else {
            break;
        };
        at += 512 + (size as usize).div_ceil(512) * 512;
    }
    out
}

/// Recomputes a header's checksum (unsigned sum, `%06o\0 `, as tar writes it).
fn reseal(block: &mut [u8]) {
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block[..512].iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// Writes `v` into an octal field the way tar does: zero-padded digits and a NUL.
fn put_octal(field: &mut [u8], v: u64) {
    let w = field.len() - 1;
    field.copy_from_slice(format!("{v:0w$o}\0").as_bytes());
}

/// The data size of the entry whose header is at `at`.
fn size_at(tar: &[u8], at: usize) -> usize {
    std::str::from_utf8(&tar[at + 124..at + 135])
        .ok()
        .and_then(|s| u64::from_str_radix(s, 8).ok())
        .unwrap_or(0) as usize
}

/// One mutation of a tar (the base bundle's, possibly mutated already): the tar changed in
/// place, and what was done.
fn mutate(tar: &mut Vec<u8>, rng: &mut Rng) -> String {
    let offsets = header_offsets(tar);
    if offsets.is_empty() {
        return "nothing to mutate".into();
    }
    let at = offsets[rng.below(offsets.len())];
    // The end of the last entry's data, or of the stream when an earlier mutation cut it.
    let end = offsets
        .last()
        .map(|&o| o + 512 + size_at(tar, o).div_ceil(512) * 512)
        .unwrap_or(0)
        .min(tar.len());
    let boundary = |rng: &mut Rng| -> usize {
        let mut b = offsets.clone();
        b.push(end);
        b[rng.below(b.len())]
    };
    let name = String::from_utf8_lossy(&tar[at..at + 100])
        .trim_end_matches('\0')
        .to_owned();
    let bag = name.split('/').next().unwrap_or("bag").to_owned();
    let reseal_it = rng.below(8) != 0;
    let what = match rng.below(19) {
        0 => {
            let flag = rng.pick(&[
                b'0', 0, b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'x', b'g', b'L', b'K', b'S',
                b'D', b'M', b'N', b'V', b'A', b'Z',
            ]);
            tar[at + 156] = flag;
            format!("typeflag {:?} on {name}", flag as char)
        }
        1 => {
            let size = size_at(tar, at) as u64;
            let v = match rng.below(6) {
                0 => size + 1,
                1 => size.saturating_sub(1),
                2 => 0,
                3 => size + 512,
                4 => size * 2,
                _ => rng.below(4096) as u64,
            };
            put_octal(&mut tar[at + 124..at + 136], v);
            format!("size {v} on {name}")
        }
        2 => {
            let size = size_at(tar, at) as u64;
            let field: Vec<u8> = match rng.below(7) {
                0 => format!(" {size:010o}\0").into_bytes(),
                1 => format!("\0{size:010o}\0").into_bytes(),
                2 => {
                    let mut g = vec![0x80u8, 0, 0, 0];
                    g.extend_from_slice(&size.to_be_bytes());
                    g
                }
                3 => format!("{size:012o}").into_bytes(),
                4 => format!("0o{size:09o}\0").into_bytes(),
                5 => format!("{size:010o} 1").into_bytes(),
                _ => format!("{size:o}\0           ").into_bytes()[..12].to_vec(),
            };
            tar[at + 124..at + 136].copy_from_slice(&field);
            format!("size field {:?} on {name}", String::from_utf8_lossy(&field))
        }
        3 => {
            // Checksum forms; resealing would undo them.
            let sum: u32 = tar[at..at + 512]
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    if (148..156).contains(&i) {
                        32
                    } else {
                        u32::from(b)
                    }
                })
                .sum();
            let field = match rng.below(5) {
                0 => format!("{sum:07o}\0"),
                1 => format!(" {sum:06o}\0"),
                2 => format!("{sum:06o}  "),
                3 => format!("{:06o}\0 ", sum + 1),
                _ => format!("{sum:o}\0\0\0\0\0\0\0")[..8].to_owned(),
            };
            tar[at + 148..at + 156].copy_from_slice(field.as_bytes());
            return format!("checksum field {field:?} on {name}");
        }
        4 => {
            let (magic, version): (&[u8; 6], &[u8; 2]) = rng.pick(&[
                (&[0u8; 6], &[0u8; 2]),
                (b"ustar ", b" \0"),
                (b"ustar\0", b"  "),
                (b"ustar ", b"00"),
                (b"ustar\0", b"01"),
            ]);
            tar[at + 257..at + 263].copy_from_slice(magic);
            tar[at + 263..at + 265].copy_from_slice(version);
            format!("magic {magic:?} version {version:?} on {name}")
        }
        5 => {
            let n = name.len();
            match rng.below(5) {
                0 => {
                    let cut = 1 + rng.below(n.max(2) - 1);
                    tar[at + cut] = 0;
                    format!("NUL at {cut} in the name {name}")
                }
                1 if n < 99 => {
                    tar[at + n + 1] = b'x';
                    format!("a byte after the NUL of the name {name}")
                }
                2 => {
                    let mut long = name.clone().into_bytes();
                    long.resize(100, b'a');
                    tar[at..at + 100].copy_from_slice(&long);
                    format!("a 100-byte name without NUL from {name}")
                }
                3 if n < 99 => {
                    tar[at + n] = b'/';
                    format!("a trailing slash on {name}")
                }
                _ => match name.rfind('/') {
                    Some(slash) => {
                        // Move the directories into the prefix field: the same path.
                        let (dir, base) = (&name[..slash], &name[slash + 1..]);
                        tar[at..at + 100].fill(0);
                        tar[at..at + base.len()].copy_from_slice(base.as_bytes());
                        tar[at + 345..at + 500].fill(0);
                        tar[at + 345..at + 345 + dir.len()].copy_from_slice(dir.as_bytes());
                        format!("{name} split into prefix and name")
                    }
                    None => "no slash".into(),
                },
            }
        }
        6 => {
            let link = rng.pick(&[&b"/etc/passwd"[..], b"x", b"../../x"]);
            tar[at + 157..at + 257].fill(0);
            tar[at + 157..at + 157 + link.len()].copy_from_slice(link);
            format!("link name {:?} on {name}", String::from_utf8_lossy(link))
        }
        7 => {
            // The attack: an entry of a type that carries no data for tar readers, whose size
            // covers a complete entry replacing an existing file.
            let flag = rng.pick(&[
                b'5', b'1', b'2', b'3', b'4', b'6', b'7', 0, b'x', b'g', b'L', b'K', b'S', b'V',
            ]);
            let victim = offsets[rng.below(offsets.len())];
            let vname = String::from_utf8_lossy(&tar[victim..victim + 100])
                .trim_end_matches('\0')
                .to_owned();
            let hidden = raw_tar_entry(&raw_header(vname.as_bytes(), b'0', 9), b"replaced\n");
            let carrier = raw_header(
                format!("{bag}/data/carrier{}/", rng.below(100)).as_bytes(),
                flag,
                hidden.len() as u64,
            );
            let b = boundary(rng);
            let e = raw_tar_entry(&carrier, &hidden);
            tar.splice(b..b, e);
            return format!(
                "type {:?} entry hiding a replacement of {vname} at byte {b}",
                flag as char
            );
        }
        8 => {
            let (entry, what) = match rng.below(5) {
                0 => (
                    raw_tar_entry(
                        &raw_header(format!("{bag}/data/extra.html").as_bytes(), b'0', 6),
                        b"extra\n",
                    ),
                    "an extra file",
                ),
                1 => (
                    raw_tar_entry(&raw_header(format!("{bag}/data/").as_bytes(), b'5', 0), b""),
                    "a directory entry data/",
                ),
                2 => (
                    raw_tar_entry(
                        &raw_header(format!("{bag}/exhibit").as_bytes(), b'5', 0),
                        b"",
                    ),
                    "a directory entry exhibit (no slash)",
                ),
                3 => (
                    raw_tar_entry(&raw_header(format!("{name}/").as_bytes(), b'5', 0), b""),
                    "a directory entry at a file's path",
                ),
                _ => (
                    raw_tar_entry(
                        &raw_header(format!("{name}/inner.txt").as_bytes(), b'0', 3),
                        b"in\n",
                    ),
                    "a file under a file's path",
                ),
            };
            let b = boundary(rng);
            tar.splice(b..b, entry);
            return format!("{what} at byte {b}");
        }
        9 => {
            let b = boundary(rng);
            match rng.below(5) {
                0 => {
                    tar.splice(b..b, [0u8; 512]);
                    format!("a lone zero block at byte {b}")
                }
                1 => {
                    tar.splice(b..b, [0u8; 1024]);
                    format!("two zero blocks at byte {b}")
                }
                2 => {
                    tar.truncate(end + 512);
                    "one end block only".into()
                }
                3 => {
                    tar.truncate(end);
                    "no end blocks".into()
                }
                _ => {
                    tar.resize(tar.len() + 10240, 0);
                    "10 KiB of zero padding".into()
                }
            }
        }
        10 => {
            let size = size_at(tar, at).min(tar.len().saturating_sub(at + 512));
            if size == 0 {
                return format!("empty {name}");
            }
            let i = at + 512 + rng.below(size);
            tar[i] ^= 1 << rng.below(8);
            return format!("a data byte of {name} changed");
        }
        11 => {
            let size = size_at(tar, at);
            if size.is_multiple_of(512) || at + 512 + size >= tar.len() {
                return format!("no padding after {name}");
            }
            tar[at + 512 + size] = b'!';
            return format!("non-zero padding after {name}");
        }
        12 => {
            let (field, start, end) = rng.pick(&[
                ("mode", 100, 108),
                ("uid", 108, 116),
                ("gid", 116, 124),
                ("mtime", 136, 148),
                ("devmajor", 329, 337),
                ("uname", 265, 297),
            ]);
            let f = &mut tar[at + start..at + end];
            match rng.below(5) {
                0 => f[0] = b' ',
                1 => f[0] = 0x80,
                2 => f[0] = b'9',
                3 => {
                    let n = f.len();
                    f.copy_from_slice(&format!("{:0w$o}\0", 0o4755, w = n - 1).as_bytes()[..n]);
                }
                _ => f.fill(b'7'),
            }
            format!("{field} field changed on {name}")
        }
        13 => {
            let size = size_at(tar, at);
            let stop = (at + 512 + size.div_ceil(512) * 512).min(tar.len());
            let mut dup = tar[at..stop].to_vec();
            if dup.len() > 512 {
                dup[512] ^= 1;
            }
            let b = boundary(rng);
            tar.splice(b..b, dup);
            return format!("{name} again (other bytes) at byte {b}");
        }
        14 => {
            let pax_path = format!("{bag}/data/pax.html");
            let (k, v) = rng.pick(&[("path", pax_path.as_str()), ("size", "3")]);
            let rest = format!(" {k}={v}\n");
            let mut len = rest.len() + 1;
            while format!("{len}{rest}").len() != len {
                len += 1;
            }
            let body = format!("{len}{rest}");
            let pax = raw_tar_entry(
                &raw_header(b"PaxHeaders/x", b'x', body.len() as u64),
                body.as_bytes(),
            );
            tar.splice(at..at, pax);
            return format!("pax {k}= before {name}");
        }
        15 => {
            tar[at + 257..at + 263].copy_from_slice(b"ustar ");
            tar[at + 263..at + 265].copy_from_slice(b" \0");
            if rng.below(2) == 0 {
                let t = format!("{:011o}\0", 1_700_000_000u64);
                tar[at + 345..at + 357].copy_from_slice(t.as_bytes());
                format!("GNU header with an atime on {name}")
            } else {
                format!("GNU header on {name}")
            }
        }
        16 => {
            let cut = rng.below(tar.len());
            tar.truncate(cut);
            return format!("cut at byte {cut}");
        }
        17 => {
            let rel = rng.pick(&[
                "data/content/x.html/",
                "bagit.txt/",
                "data//y.html",
                "./data/z.html",
            ]);
            let entry = raw_tar_entry(
                &raw_header(format!("{bag}/{rel}").as_bytes(), b'0', 2),
                b"z\n",
            );
            let b = boundary(rng);
            tar.splice(b..b, entry);
            return format!("a file {rel:?} at byte {b}");
        }
        _ => {
            // A genuine file's name put into the prefix field of another entry's header.
            tar[at + 345..at + 500].fill(0);
            tar[at + 345..at + 345 + bag.len()].copy_from_slice(bag.as_bytes());
            format!("prefix {bag:?} added to {name}")
        }
    };
    if reseal_it {
        reseal(&mut tar[at..at + 512]);
        what
    } else {
        format!("{what} (checksum not updated)")
    }
}

/// Extracted files: path → SHA-256 hex.
type Files = std::collections::BTreeMap<String, String>;

/// The regular files under `root` as (path relative to it → SHA-256 hex); anything other than a
/// file or directory (a link, a FIFO) as a path with a `<not a regular file>` marker, so that it
/// cannot compare equal.
fn extracted_files(root: &Path) -> Files {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.insert(rel, sha256_hex(&std::fs::read(e.path()).unwrap()));
            } else {
                out.insert(rel, "<not a regular file>".into());
            }
        }
    }
    out
}

const PYTHON_EXTRACT: &str = r#"
import sys, tarfile
with tarfile.open(sys.argv[1], "r:") as tf:
    if hasattr(tarfile, "data_filter"):
        tf.extractall(sys.argv[2], filter="data")
    else:
        tf.extractall(sys.argv[2])
"#;

/// What GNU tar (`tar --zstd -xf`) and Python's `tarfile` (`extractall`) make of `bundle`:
/// (tool, its files or why it failed).
fn stock_extractions(bundle: &[u8]) -> Vec<(&'static str, Result<Files, String>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.tar.zst");
    std::fs::write(&file, bundle).unwrap();
    let plain = dir.path().join("b.tar");
    std::fs::write(&plain, zstd::decode_all(bundle).unwrap()).unwrap();
    let mut out = Vec::new();
    for (tool, cmd) in [
        ("GNU tar", {
            let mut c = std::process::Command::new("tar");
            c.arg("--zstd").arg("-xf").arg(&file).arg("-C");
            c
        }),
        ("Python tarfile", {
            let mut c = std::process::Command::new("python3");
            c.arg("-c").arg(PYTHON_EXTRACT).arg(&plain);
            c
        }),
    ] {
        let x = tempfile::tempdir_in(dir.path()).unwrap();
        let mut cmd = cmd;
        let run = cmd.arg(x.path()).output().unwrap();
        out.push((
            tool,
            if run.status.success() {
                Ok(extracted_files(x.path()))
            } else {
                Err(String::from_utf8_lossy(&run.stderr).trim().to_owned())
            },
        ));
    }
    out
}

/// The differential test of the class "one view of a bundle": from the genuine bundle, a few
/// hundred deterministic mutations of the tar (header fields, hidden and appended entries, zero
/// blocks, padding, truncation), each recompressed; for every one that `read_bundle` accepts,
/// GNU tar and Python's `tarfile` must extract exactly the files, with exactly the bytes, that
/// the reader hashed, and succeed doing it. (Inputs the reader refuses are exit 2: nothing is
/// claimed about them.)
#[test]
fn differential_the_reader_sees_what_tar_and_python_extract() {
    if !have("tar") || !have("zstd") || !have("python3") {
        return;
    }
    let genuine = zstd::decode_all(&base().bundle[..]).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = vec![("the genuine bundle".into(), genuine.clone())];
    for flag in [b'5', b'1', b'2', b'6'] {
        let (bytes, target, _) = directory_hiding_an_entry(flag);
        cases.push((
            format!(
                "type {:?} entry hiding a replacement of {target}",
                flag as char
            ),
            zstd::decode_all(&bytes[..]).unwrap(),
        ));
    }
    let mut rng = Rng(17);
    for _ in 0..320 {
        let mut tar = genuine.clone();
        let mut what = Vec::new();
        for _ in 0..1 + rng.below(2) {
            what.push(mutate(&mut tar, &mut rng));
        }
        cases.push((what.join("; "), tar));
    }
    let mut accepted = 0;
    let mut wrong = Vec::new();
    for (n, (what, tar)) in cases.iter().enumerate() {
        let bundle = zstd::encode_all(&tar[..], 1).unwrap();
        let bag = match exhibit_bundle::read_bundle(&bundle[..], &exhibit_bundle::Limits::default())
        {
            Ok(bag) => bag,
            Err(e) => {
                let msg = e.to_string();
                if msg.contains('\n') {
                    wrong.push(format!("case {n} ({what}): a multi-line error: {msg:?}"));
                }
                continue;
            }
        };
        accepted += 1;
        let read: Files = bag
            .files
            .iter()
            .map(|(rel, f)| (format!("{}/{rel}", bag.name), f.sha256.to_hex()))
            .collect();
        for (tool, got) in stock_extractions(&bundle) {
            match got {
                Err(e) => wrong.push(format!(
                    "case {n} ({what}): the reader accepts it, {tool} fails: {e}"
                )),
                Ok(files) if files != read => {
                    let differ: Vec<_> = read
                        .keys()
                        .chain(files.keys())
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .filter(|k| read.get(*k) != files.get(*k))
                        .collect();
                    wrong.push(format!(
                        "case {n} ({what}): {tool} extracts other files or bytes than the \
                         reader verified: {differ:?}"
                    ));
                }
                Ok(_) => {}
            }
        }
    }
    println!(
        "[differential] {} cases, {accepted} accepted by the reader and extracted by GNU tar and \
         Python tarfile, {} disagreements",
        cases.len(),
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The comparison was made on a real share of the cases, not vacuously.
    assert!(accepted >= 30, "only {accepted} cases accepted");
}
