//! Checks 1 to 3: the bag as BagIt sees it — its declaration, its payload manifest (every
//! payload file listed, present and byte for byte what is listed, and the Payload-Oxum), and
//! its tag manifest (every tag file listed, so the seal covers it).
//!
//! Not for what the files mean: the keys, the seal and the signed records are checked after
//! these (see the other files of `checks`).

use std::collections::BTreeMap;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{
    BAG_INFO_TXT, BAGIT_TXT, BAGIT_TXT_CONTENT, MANIFEST, SEAL, TAG_MANIFEST,
};
use exhibit_core::Sha256Digest;

use crate::report::Checks;

/// Check 1, the declaration: it proves that `bagit.txt` declares BagIt 1.0 in UTF-8, byte for
/// byte as exhibit writes it.
pub(super) fn check_declaration(c: &mut Checks, bagit: &[u8]) {
    c.check(
        bagit == BAGIT_TXT_CONTENT.as_bytes(),
        BAGIT_TXT,
        "declares BagIt 1.0, UTF-8",
        format!("{BAGIT_TXT_CONTENT:?}"),
        format!("{:?}", String::from_utf8_lossy(bagit)),
    );
}

/// Check 2, the payload: it proves that every file `manifest-sha256.txt` lists is under
/// `data/`, present and has the listed SHA-256; that every file under `data/` is listed (no
/// unexplained file); and that `bag-info.txt`'s Payload-Oxum is the payload's total size and
/// file count.
pub(super) fn check_payload(c: &mut Checks, bag: &ReadBag, manifest_txt: &[u8]) {
    let payload = parse_manifest(MANIFEST, manifest_txt, c);
    check_listed(
        c,
        bag,
        MANIFEST,
        &payload,
        |p| p.starts_with("data/"),
        ("lists only payload files", "a path under data/"),
    );
    let mut oxum = (0u64, 0u64);
    for (path, f) in bag.files.iter().filter(|(p, _)| p.starts_with("data/")) {
        oxum.0 += f.size;
        oxum.1 += 1;
        if !payload.contains_key(path) {
            c.fail(
                path,
                "is listed in manifest-sha256.txt",
                "listed",
                "not listed (an unexplained file)",
            );
        }
    }
    match bag.tag(BAG_INFO_TXT) {
        Some(info) => {
            let info = String::from_utf8_lossy(info);
            let claimed = info
                .lines()
                .find_map(|l| l.strip_prefix("Payload-Oxum:"))
                .map(str::trim)
                .unwrap_or("(none)");
            let actual = format!("{}.{}", oxum.0, oxum.1);
            c.check(
                claimed == actual,
                BAG_INFO_TXT,
                "Payload-Oxum matches the payload",
                actual,
                claimed.to_owned(),
            );
        }
        None => c.fail(BAG_INFO_TXT, "is present", "the file", "missing"),
    }
}

/// Check 3, the tag files: it proves that every file `tagmanifest-sha256.txt` lists is a tag
/// file, present and has the listed SHA-256, and that every tag file but the tag manifest and
/// the seal is listed, so the seal (a signature over the tag manifest) covers it.
pub(super) fn check_tag_files(c: &mut Checks, bag: &ReadBag, tag_manifest: &[u8]) {
    let tags = parse_manifest(TAG_MANIFEST, tag_manifest, c);
    check_listed(
        c,
        bag,
        TAG_MANIFEST,
        &tags,
        |p| !p.starts_with("data/") && p != TAG_MANIFEST && p != SEAL,
        ("lists only tag files", "a tag file"),
    );
    for path in bag.files.keys() {
        if !path.starts_with("data/")
            && path != TAG_MANIFEST
            && path != SEAL
            && !tags.contains_key(path)
        {
            c.fail(
                path,
                "is covered by the seal (listed in tagmanifest-sha256.txt)",
                "listed",
                "not listed",
            );
        }
    }
}

/// Parses a `sha256sum`-format manifest: `<64 hex>  <path>` (or `<hex> *<path>`) per line.
/// Malformed lines are reported as failed checks and skipped.
fn parse_manifest(name: &str, bytes: &[u8], checks: &mut Checks) -> BTreeMap<String, Sha256Digest> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::str::from_utf8(bytes) else {
        checks.fail(name, "is UTF-8 text", "UTF-8", "invalid UTF-8");
        return out;
    };
    for (n, line) in text.lines().enumerate() {
        let parsed = line
            .split_once("  ")
            .or_else(|| line.split_once(" *"))
            .and_then(|(h, p)| Some((h.parse::<Sha256Digest>().ok()?, p)));
        match parsed {
            Some((h, p)) if !p.is_empty() => {
                if out.insert(p.to_owned(), h).is_some() {
                    checks.fail(
                        name,
                        &format!("line {}", n + 1),
                        "each path listed once",
                        format!("{p} listed twice"),
                    );
                }
            }
            _ => checks.fail(
                name,
                &format!("line {}", n + 1),
                "`<sha256>  <path>`",
                format!("{:?}", line.chars().take(80).collect::<String>()),
            ),
        }
    }
    out
}

/// Checks every file a BagIt manifest (`name`) lists: it belongs in that manifest (`belongs`,
/// else `misplaced` = (what, expected) is reported), it is present, and it has the listed hash.
fn check_listed(
    c: &mut Checks,
    bag: &ReadBag,
    name: &str,
    listed: &BTreeMap<String, Sha256Digest>,
    belongs: impl Fn(&str) -> bool,
    misplaced: (&str, &str),
) {
    for (path, want) in listed {
        match bag.files.get(path) {
            _ if !belongs(path) => c.fail(name, misplaced.0, misplaced.1, path.clone()),
            Some(f) => {
                c.check(
                    f.sha256 == *want,
                    path,
                    &format!("sha256 matches {name}"),
                    want.to_hex(),
                    f.sha256.to_hex(),
                );
            }
            None => c.fail(
                path,
                &format!("is present (listed in {name})"),
                "the file",
                "missing",
            ),
        }
    }
}
