//! The checks, in order.

use std::collections::{BTreeMap, BTreeSet};

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{
    self, BAG_INFO_TXT, BAGIT_TXT, BAGIT_TXT_CONTENT, MANIFEST, SEAL, TAG_MANIFEST,
};
use exhibit_core::checkpoint::{Checkpoint, TlogProof, base64_encode};
use exhibit_core::merkle;
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::{AnyManifest, CaptureManifest, Sha256Digest};
use exhibit_sign::PublicKey;
use exhibit_sign::note::SignedNote;

use crate::report::{Check, Outcome, RecordSummary, Report, Verdict};
use crate::{TrustedKey, VerifyError};

pub(crate) struct Checks(Vec<Check>);

impl Checks {
    pub(crate) fn pass(&mut self, subject: &str, what: &str) {
        self.0.push(Check {
            subject: subject.to_owned(),
            what: what.to_owned(),
            outcome: Outcome::Pass,
        });
    }

    pub(crate) fn fail(
        &mut self,
        subject: &str,
        what: &str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        self.0.push(Check {
            subject: subject.to_owned(),
            what: what.to_owned(),
            outcome: Outcome::Fail {
                expected: expected.into(),
                found: found.into(),
            },
        });
    }

    pub(crate) fn check(
        &mut self,
        ok: bool,
        subject: &str,
        what: &str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> bool {
        if ok {
            self.pass(subject, what);
        } else {
            self.fail(subject, what, expected, found);
        }
        ok
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

fn require<'a>(bag: &'a ReadBag, path: &str) -> Result<&'a [u8], VerifyError> {
    bag.tag(path).ok_or_else(|| {
        VerifyError::Malformed(format!(
            "bag {:?} has no {path}: not an exhibit evidence bundle",
            bag.name
        ))
    })
}

/// Checks a bag read from a bundle. `trusted` are the pinned keys (may be empty).
pub fn verify_bag(
    bag: &ReadBag,
    trusted: &[TrustedKey],
    tsa_anchors: Option<&exhibit_timestamp::TrustAnchors>,
) -> Result<Report, VerifyError> {
    let bagit = require(bag, BAGIT_TXT)?;
    let manifest_txt = require(bag, MANIFEST)?;
    let tag_manifest = require(bag, TAG_MANIFEST)?;
    let seal = require(bag, SEAL)?;
    let mut c = Checks(Vec::new());

    // 1. The declaration.
    c.check(
        bagit == BAGIT_TXT_CONTENT.as_bytes(),
        BAGIT_TXT,
        "declares BagIt 1.0, UTF-8",
        format!("{BAGIT_TXT_CONTENT:?}"),
        format!("{:?}", String::from_utf8_lossy(bagit)),
    );

    // 2. Payload: every file listed matches; every data/ file is listed.
    let payload = parse_manifest(MANIFEST, manifest_txt, &mut c);
    check_listed(
        &mut c,
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

    // 3. Tag files: every one listed matches, and every one is listed (so the seal covers it).
    let tags = parse_manifest(TAG_MANIFEST, tag_manifest, &mut c);
    check_listed(
        &mut c,
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

    // 4. Keys: each key file parses and is named by its own fingerprint.
    let mut keys: BTreeMap<String, PublicKey> = BTreeMap::new();
    for (path, f) in bag
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("exhibit/keys/"))
    {
        let text = String::from_utf8_lossy(f.bytes.as_deref().unwrap_or_default()).into_owned();
        match PublicKey::from_spki_pem(&text) {
            Ok(k) => {
                let fp = k.fingerprint().to_string();
                if c.check(
                    layout::key_path(&fp) == *path,
                    path,
                    "is named by its fingerprint",
                    layout::key_path(&fp),
                    path.clone(),
                ) {
                    keys.insert(fp, k);
                }
            }
            Err(e) => c.fail(
                path,
                "is an Ed25519 SPKI PEM public key",
                "a public key",
                e.to_string(),
            ),
        }
    }

    // 5. The seal: the tag manifest is signed by one of the bundle's keys.
    let mut sealed_by = None;
    for (fp, k) in &keys {
        if k.verify(tag_manifest, seal).is_ok() {
            sealed_by = Some(fp.clone());
            break;
        }
    }
    match &sealed_by {
        Some(fp) => c.pass(SEAL, &format!("seal verifies (signed by {fp})")),
        None => c.fail(
            SEAL,
            "seal verifies with a key in exhibit/keys/",
            "an Ed25519 signature over tagmanifest-sha256.txt",
            "no key in the bundle verifies it",
        ),
    }

    // 6. Each signed manifest and the files it describes.
    let mut records = Vec::new();
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    let mut proofs_seen: BTreeSet<String> = BTreeSet::new();
    let mut checkpoints: BTreeSet<String> = BTreeSet::new();
    let mut indices: BTreeMap<u64, String> = BTreeMap::new();
    let mut signers: BTreeSet<String> = sealed_by.iter().cloned().collect();
    // Each record in a verified log position, with the time its signer claims for it.
    let mut claimed_times: Vec<(String, &'static str, String)> = Vec::new();
    let manifests: Vec<&String> = bag
        .files
        .keys()
        .filter(|p| p.starts_with("exhibit/manifests/") && p.ends_with(".json"))
        .collect();
    if manifests.is_empty() {
        return Err(VerifyError::Malformed(format!(
            "bag {:?} holds no exhibit/manifests/*.json: not an exhibit evidence bundle",
            bag.name
        )));
    }
    // Parse every manifest first: a provision is checked against its capture's manifest.
    let mut parsed: Vec<(&String, &[u8], AnyManifest)> = Vec::new();
    for path in manifests {
        let bytes = bag.tag(path).unwrap_or_default();
        match AnyManifest::parse(bytes) {
            Ok(m) => parsed.push((path, bytes, m)),
            Err(e) => c.fail(
                path,
                "is a valid, canonical exhibit manifest",
                "exhibit.capture/v1, exhibit.capture-failure/v1 or exhibit.provision/v1",
                e.to_string(),
            ),
        }
    }
    let captures: BTreeMap<String, &CaptureManifest> = parsed
        .iter()
        .filter_map(|(_, _, m)| match m {
            AnyManifest::Capture(m) => Some((m.id.to_string(), m)),
            AnyManifest::Provision(_) => None,
        })
        .collect();
    for (path, bytes, any) in &parsed {
        let (path, bytes) = (*path, *bytes);
        let record_id = any.id();
        let signer = any.signer().to_owned();
        let id = record_id.to_string();
        c.check(
            layout::manifest_path(record_id) == *path,
            path,
            "file name matches the record id",
            layout::manifest_path(record_id),
            path.clone(),
        );
        let sig_path = format!("{path}.sig");
        match (bag.tag(&sig_path), keys.get(&signer)) {
            (None, _) => c.fail(&id, "signature file present", sig_path, "missing"),
            (_, None) => c.fail(
                &id,
                "signer's key is in the bundle",
                layout::key_path(&signer),
                "missing",
            ),
            (Some(sig), Some(k)) => {
                let verdict = k.verify(bytes, sig);
                c.check(
                    verdict.is_ok(),
                    &id,
                    &format!("signature by {signer} verifies"),
                    "a valid Ed25519 signature over the manifest bytes",
                    verdict.err().map_or_else(String::new, |e| e.to_string()),
                );
                signers.insert(signer.clone());
            }
        }
        let log_position = match (bag.tag(&layout::proof_path(record_id)), keys.get(&signer)) {
            (None, _) => {
                c.fail(
                    &id,
                    "log inclusion proof present",
                    layout::proof_path(record_id),
                    "missing",
                );
                None
            }
            (Some(_), None) => None,
            (Some(proof), Some(key)) => match check_inclusion(proof, bytes, any.origin(), key) {
                Ok((index, size, root, note)) => {
                    checkpoints.insert(note);
                    if let Some(other) = indices.insert(index, id.clone()) {
                        c.fail(
                            &id,
                            "has its own log position",
                            format!("a leaf index other than {other}'s"),
                            format!("leaf {index}, as {other}"),
                        );
                    }
                    c.pass(&id, &format!("included in the log at index {index} of a signed checkpoint of size {size}"));
                    Some((index, size, root))
                }
                Err(e) => {
                    c.fail(
                        &layout::proof_path(record_id),
                        "proves inclusion in a checkpoint signed by the record's signer",
                        "a valid C2SP tlog-proof",
                        e,
                    );
                    None
                }
            },
        };
        proofs_seen.insert(layout::proof_path(record_id));
        if log_position.is_some() {
            claimed_times.push(match any {
                AnyManifest::Capture(m) => (id.clone(), "capture", m.captured_at.clone()),
                AnyManifest::Provision(p) => (id.clone(), "creation", p.created_at.clone()),
            });
        }
        let m = match any {
            AnyManifest::Capture(m) => m,
            AnyManifest::Provision(p) => {
                check_provision(&mut c, bag, p, &captures);
                let mut s = provision_summary(p, captures.get(&p.capture.id.to_string()).copied());
                if let Some((index, size, root)) = log_position {
                    s.log_index = Some(index);
                    s.tree_size = Some(size);
                    s.checkpoint_root = Some(root);
                }
                records.push(s);
                continue;
            }
        };
        for (what, sha, blake3, size, file) in m
            .content
            .iter()
            .map(|ci| {
                (
                    "content",
                    ci.sha256,
                    ci.blake3,
                    ci.size,
                    layout::content_path(&ci.sha256, &ci.media_type),
                )
            })
            .chain(m.text.iter().map(|t| {
                (
                    "text",
                    t.sha256,
                    t.blake3,
                    t.size,
                    layout::text_path(&t.sha256),
                )
            }))
        {
            referenced.insert(file.clone());
            match bag.files.get(&file) {
                None => c.fail(&id, &format!("{what} file present"), file, "missing"),
                Some(f) => {
                    let ok = f.sha256 == sha && f.blake3 == blake3 && f.size == size;
                    c.check(
                        ok,
                        &file,
                        &format!(
                            "{what} of {id}: sha256, blake3 and size match the signed manifest"
                        ),
                        format!("sha256 {sha}, {size} bytes"),
                        format!(
                            "sha256 {}, {} bytes{}",
                            f.sha256,
                            f.size,
                            if f.blake3 == blake3 {
                                ""
                            } else {
                                ", different blake3"
                            }
                        ),
                    );
                }
            }
        }
        let mut s = summary(m);
        if let Some((index, size, root)) = log_position {
            s.log_index = Some(index);
            s.tree_size = Some(size);
            s.checkpoint_root = Some(root);
        }
        records.push(s);
    }
    // Two checkpoints of one log in one bundle would either be redundant or, if they disagree,
    // prove a fork; exhibit bundles always carry exactly one.
    if checkpoints.len() > 1 {
        c.fail(
            "exhibit/proofs/",
            "all proofs refer to one signed checkpoint",
            "one checkpoint",
            format!("{} different checkpoints", checkpoints.len()),
        );
    }
    let timestamps = crate::timestamps::check_timestamps(&mut c, bag, &checkpoints, tsa_anchors);
    crate::timestamps::check_time_order(&mut c, &timestamps, &claimed_times);
    for path in bag
        .files
        .keys()
        .filter(|p| p.starts_with("exhibit/proofs/"))
    {
        if !proofs_seen.contains(path) {
            c.fail(
                path,
                "belongs to a record in the bundle",
                "a manifest with this id",
                "none",
            );
        }
    }
    for path in bag.files.keys().filter(|p| p.starts_with("data/")) {
        if !referenced.contains(path) {
            c.fail(
                path,
                "is described by a signed manifest",
                "a manifest naming it",
                "none",
            );
        }
    }

    // 7. Trust.
    let pinned: Vec<String> = trusted
        .iter()
        .map(|t| t.fingerprint().to_string())
        .collect();
    if !pinned.is_empty() {
        for s in &signers {
            c.check(
                pinned.contains(s),
                s,
                "is a pinned key",
                pinned.join(" or "),
                s.clone(),
            );
        }
    }
    let failed = c.0.iter().any(|ch| ch.outcome != Outcome::Pass);
    let verdict = if failed {
        Verdict::Mismatch
    } else if pinned.is_empty() {
        Verdict::Unpinned
    } else {
        Verdict::Verified
    };
    let mut proven = vec![
        "the bag is complete and every file is byte for byte what its manifests list".to_owned(),
        format!(
            "each record's manifest is signed by {} and describes exactly the bytes in data/",
            signers.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        "each manifest is a leaf, at the position its proof gives, of the log tree that one checkpoint signed by the same key describes".to_owned(),
    ];
    if verdict == Verdict::Verified {
        proven.push("every signing key is one you pinned".into());
    }
    let trusted_stamps: Vec<_> = timestamps
        .iter()
        .filter(|t| t.trusted_by.is_some())
        .collect();
    if let Some(first) = trusted_stamps.iter().min_by_key(|t| t.no_later_than_unix) {
        proven.push(format!(
            "every record in this bundle existed no later than {} (the RFC 3161 timestamp of {} over its checkpoint, by {}, whose certificate chains to the CA you trust, {}; the TSA's time plus its stated accuracy)",
            first.no_later_than,
            first.file,
            first.tsa,
            first.trusted_by.as_deref().unwrap_or_default()
        ));
    }
    let mut not_proven = vec![
        if trusted_stamps.is_empty() {
            "the capture times: they are the signer's claim (no trusted independent timestamp checked)".to_owned()
        } else {
            "the capture times themselves: they are the signer's claim; the timestamp only bounds them from above".to_owned()
        },
        "that others were shown the same log: compare the checkpoint with one kept independently (exhibit log consistency)"
            .to_owned(),
        "that the server sent the same bytes to everyone who asked".to_owned(),
    ];
    if !timestamps.is_empty() && tsa_anchors.is_none() {
        not_proven.push(format!(
            "the timestamp{}: present, but not checked against a TSA CA you trust (--tsa-ca PEM)",
            if timestamps.len() > 1 { "s" } else { "" }
        ));
    }
    if pinned.is_empty() {
        not_proven.insert(
            0,
            "who the signer is: no trusted key was given (--key)".into(),
        );
    }
    Ok(Report {
        bundle: String::new(),
        bag: bag.name.clone(),
        verdict,
        checks: c.0,
        records,
        signers: signers.into_iter().collect(),
        sealed_by,
        pinned,
        timestamps,
        proven,
        not_proven,
    })
}

/// Checks a tlog-proof for `manifest_bytes`: the checkpoint is a note signed by `key` under the
/// manifest's origin, and the inclusion path leads from the manifest's leaf hash to its root.
fn check_inclusion(
    proof: &[u8],
    manifest_bytes: &[u8],
    origin: &str,
    key: &PublicKey,
) -> Result<(u64, u64, String, String), String> {
    let text = std::str::from_utf8(proof).map_err(|_| "not UTF-8".to_owned())?;
    let proof = TlogProof::parse(text).map_err(|e| e.to_string())?;
    let note = SignedNote::parse(&proof.checkpoint).map_err(|e| format!("checkpoint: {e}"))?;
    note.verify(origin, key)
        .map_err(|e| format!("checkpoint signature: {e}"))?;
    let cp = Checkpoint::parse(&note.text).map_err(|e| format!("checkpoint: {e}"))?;
    if cp.origin != origin {
        return Err(format!(
            "checkpoint of log {:?}, but the manifest's origin is {origin:?}",
            cp.origin
        ));
    }
    let leaf = merkle::leaf_hash(manifest_bytes);
    merkle::verify_inclusion(&leaf, proof.index, cp.size, &proof.proof, &cp.root)
        .map_err(|e| format!("inclusion: {e}"))?;
    Ok((
        proof.index,
        cp.size,
        base64_encode(&cp.root),
        proof.checkpoint,
    ))
}

fn summary(m: &CaptureManifest) -> RecordSummary {
    RecordSummary {
        id: m.id.to_string(),
        manifest_type: m.manifest_type.as_str().to_owned(),
        url: m.document.url.clone(),
        entity: m.document.entity.clone(),
        title: m.document.title.clone(),
        captured_at: m.captured_at.clone(),
        sha256: m.content.as_ref().map(|c| c.sha256.to_hex()),
        size: m.content.as_ref().map(|c| c.size),
        media_type: m.content.as_ref().map(|c| c.media_type.clone()),
        error: m.error.clone(),
        signer: m.signer.clone(),
        log_index: None,
        tree_size: None,
        checkpoint_root: None,
        version_id: m.version.as_ref().map(|v| v.id.to_string()),
        excerpt: None,
        quotes: None,
    }
}

fn provision_summary(p: &ProvisionManifest, opening: Option<&CaptureManifest>) -> RecordSummary {
    RecordSummary {
        id: p.id.to_string(),
        manifest_type: p.manifest_type.as_str().to_owned(),
        url: p.document.url.clone(),
        entity: p.document.entity.clone(),
        title: p.document.title.clone(),
        captured_at: opening.map_or_else(|| p.created_at.clone(), |o| o.captured_at.clone()),
        sha256: opening.and_then(|o| o.content.as_ref().map(|c| c.sha256.to_hex())),
        size: None,
        media_type: None,
        error: None,
        signer: p.signer.clone(),
        log_index: None,
        tree_size: None,
        checkpoint_root: None,
        version_id: Some(p.version.to_string()),
        excerpt: Some(p.quote.text.clone()),
        quotes: Some(format!(
            "characters {}..{} of the text of {} (captured by {})",
            p.quote.char_start, p.quote.char_end, p.version, p.capture.id
        )),
    }
}

/// Checks a provision against the bundle: its version's capture is there (the very manifest
/// it pins), that capture's text is the one it quotes, and the passage is in that text at the
/// range it gives.
fn check_provision(
    c: &mut Checks,
    bag: &ReadBag,
    p: &ProvisionManifest,
    captures: &BTreeMap<String, &CaptureManifest>,
) {
    let id = p.id.to_string();
    let path = layout::manifest_path(&p.capture.id);
    let pinned = bag.files.get(&path).map(|f| f.sha256);
    if !c.check(
        pinned == Some(p.capture.manifest_sha256),
        &id,
        &format!("the capture it quotes ({}) is in the bundle", p.capture.id),
        format!("{path} with sha256 {}", p.capture.manifest_sha256),
        pinned.map_or("missing".into(), |h| format!("sha256 {h}")),
    ) {
        return;
    }
    let Some(capture) = captures.get(&p.capture.id.to_string()) else {
        return; // its manifest failed to parse, which is reported already
    };
    let text_ok = capture.text.as_ref().map(|t| (t.sha256, t.size))
        == Some((p.text.sha256, p.text.size))
        && capture.version.as_ref().map(|v| &v.id) == Some(&p.version)
        && capture.document == p.document;
    if !c.check(
        text_ok,
        &id,
        &format!("quotes the text, version and document of {}", p.capture.id),
        format!("text sha256 {}, version {}", p.text.sha256, p.version),
        format!(
            "text sha256 {}, version {}",
            capture
                .text
                .as_ref()
                .map_or("none".into(), |t| t.sha256.to_hex()),
            capture
                .version
                .as_ref()
                .map_or("none".into(), |v| v.id.to_string())
        ),
    ) {
        return;
    }
    let text_path = layout::text_path(&p.text.sha256);
    match bag.text(&text_path) {
        Some(text) => {
            let verdict = p.check_against(text);
            c.check(
                verdict.is_ok(),
                &id,
                &format!(
                    "the quoted passage is in {text_path} at characters {}..{}",
                    p.quote.char_start, p.quote.char_end
                ),
                "the passage, byte for byte",
                verdict.err().unwrap_or_default(),
            );
        }
        None => c.fail(
            &id,
            "the quoted text can be checked",
            format!("{text_path} in the bundle"),
            if bag.files.contains_key(&text_path) {
                "too large to hold in memory (see --help for limits)"
            } else {
                "missing"
            },
        ),
    }
}
