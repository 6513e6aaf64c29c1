//! The sections after the records: integrity, provenance, chain of custody, how to verify,
//! limitations. (The declarations are in `texts`.)

use exhibit_bundle::layout;

use crate::doc::{Block, Field, Line, Mark, Span};
use crate::facts::{Facts, RecordFacts, SealFacts};
use crate::texts;

use super::{h, human, leaves, opt, p};

fn seal_fields(f: &mut Vec<Field>, s: &SealFacts, facts: &Facts) {
    f.push(Field::mono("Manifest file", &s.manifest_file));
    f.push(Field::mono("Manifest SHA-256", &s.manifest_sha256));
    f.push(Field::mono("Signed by", &s.signer));
    match (s.log_index, &facts.checkpoint) {
        (Some(i), Some(c)) => f.push(Field::text(
            "Log position",
            format!(
                "leaf {i} of the {} in checkpoint {}",
                leaves(c.size),
                c.root
            ),
        )),
        (Some(i), None) => f.push(Field::text("Log position", format!("leaf {i}"))),
        (None, _) => f.push(Field::text("Log position", "(no proof in this bundle)")),
    }
}

pub(super) fn integrity(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Integrity"));
    b.push(p(texts::INTEGRITY_INTRO));
    b.push(Block::Fields(
        texts::WHAT_PROVES
            .iter()
            .map(|(label, what)| Field::text(*label, *what))
            .collect(),
    ));
    for r in &facts.records {
        let mut f = Vec::new();
        match r {
            RecordFacts::Capture(c) => {
                b.push(h(2, format!("{} (capture)", c.id)));
                if let Some(content) = &c.content {
                    f.push(Field::mono("SHA-256", &content.sha256));
                    f.push(Field::mono("BLAKE3", &content.blake3));
                    f.push(Field::mono("Bytes file", &content.file));
                }
                if let Some(t) = &c.text {
                    f.push(Field::mono("Text SHA-256", &t.object.sha256));
                    f.push(Field::mono("Text BLAKE3", &t.object.blake3));
                }
                if let Some(browser) = &c.browser {
                    if let Some(s) = &browser.screenshot {
                        f.push(Field::mono("Screenshot SHA-256", &s.sha256));
                    }
                    f.push(Field::mono("DOM SHA-256", &browser.dom.sha256));
                    if let Some(pdf) = &browser.pdf {
                        f.push(Field::mono("Print SHA-256", &pdf.sha256));
                    }
                }
                seal_fields(&mut f, &c.seal, facts);
            }
            RecordFacts::Provision(pr) => {
                b.push(h(2, format!("{} (provision)", pr.id)));
                f.push(Field::mono("Passage SHA-256", &pr.quote_sha256));
                f.push(Field::mono("Text SHA-256", &pr.text_sha256));
                seal_fields(&mut f, &pr.seal, facts);
            }
        }
        b.push(Block::Fields(f));
    }
    b.push(h(2, "Checkpoint and timestamps"));
    let mut f = Vec::new();
    match &facts.checkpoint {
        Some(c) => {
            f.push(Field::text("Log", &c.origin));
            f.push(Field::text("Tree size", c.size.to_string()));
            f.push(Field::mono("Root hash", &c.root));
            f.push(Field::mono("Checkpoint SHA-256", &c.note_sha256));
        }
        None => f.push(Field::text(
            "Checkpoint",
            "(the records' proofs do not name one single checkpoint)",
        )),
    }
    for t in &facts.timestamps {
        f.push(Field::mono("Timestamp token", &t.file));
        f.push(Field::text("TSA (as it names itself)", &t.tsa));
        if let Some(sha) = &t.tsa_certificate_sha256 {
            f.push(Field::mono("TSA certificate SHA-256", sha));
        }
        f.push(Field::text(
            "TSA time",
            format!(
                "{}{}",
                t.gen_time,
                t.accuracy
                    .as_ref()
                    .map(|a| format!(" (accuracy {a})"))
                    .unwrap_or_default()
            ),
        ));
        f.push(Field::text(
            "Proves",
            format!(
                "once the token is checked against the TSA's CA certificate, obtained from the \
                 TSA itself (exhibit-verify --tsa-ca): every record above existed no later than \
                 {}. Before that check, nothing",
                human(&t.no_later_than)
            ),
        ));
    }
    if facts.timestamps.is_empty() {
        f.push(Field::text(
            "Timestamps",
            "none: the capture times rest on the signer's word alone",
        ));
    }
    b.push(Block::Fields(f));
}

pub(super) fn provenance(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Provenance"));
    b.push(p(texts::PROVENANCE_INTRO));
    for c in facts.captures() {
        b.push(h(2, format!("{} (capture)", c.id)));
        let mut f = Vec::new();
        if let Some(t) = &c.text {
            f.push(Field::text("Text extractor", &t.extractor));
        }
        if let Some(http) = &c.http {
            for (name, value) in &http.headers {
                f.push(Field {
                    label: format!("Header {name}"),
                    value: vec![Span::mono(value)],
                });
            }
        }
        if let Some(roots) = &c.trust_roots {
            f.push(Field::text("Trust roots", roots));
        }
        if let Some(browser) = &c.browser {
            f.push(Field::text("Browser", &browser.product));
            f.push(Field::mono("User agent", &browser.user_agent));
            f.push(Field::text("Recorded by", &browser.recorder));
            f.push(Field::text("Viewport", &browser.viewport));
            f.push(Field::text(
                "Sandboxed",
                if browser.sandboxed { "yes" } else { "no" },
            ));
            if !browser.flags.is_empty() {
                f.push(Field::mono("Browser flags", browser.flags.join(" ")));
            }
            if !browser.waited_for.is_empty() {
                f.push(Field::text("Waited for", browser.waited_for.join(", ")));
            }
            if let Some(t) = &browser.timed_out {
                f.push(Field::text("Wait ended early", t));
            }
            f.push(Field::text(
                "Resources",
                format!(
                    "{} response(s) recorded, {} left out",
                    browser.resources.0, browser.resources.1
                ),
            ));
        }
        if f.is_empty() && c.connections.is_empty() {
            f.push(Field::text("Recorded", "nothing beyond the captured bytes"));
        }
        b.push(Block::Fields(f));
        for conn in &c.connections {
            let mut f = vec![
                Field::mono("Connection to", &conn.url),
                Field::mono("Remote address", &conn.remote),
                Field::text("Connected at", human(&conn.connected_at)),
            ];
            match &conn.tls {
                Some(tls) => {
                    f.push(Field::mono("TLS server name", &tls.server_name));
                    f.push(Field::text(
                        "TLS",
                        format!(
                            "{}, {}; chain {} by the capturing machine",
                            opt(&tls.version),
                            opt(&tls.cipher_suite),
                            if tls.trusted {
                                "trusted"
                            } else {
                                "NOT trusted"
                            }
                        ),
                    ));
                    for (i, cert) in tls.chain.iter().enumerate() {
                        f.push(Field::text(
                            format!("Certificate {}", i + 1),
                            format!(
                                "{} (issued by {}; valid {} to {})",
                                cert.subject, cert.issuer, cert.not_before, cert.not_after
                            ),
                        ));
                        f.push(Field::mono("SHA-256", cert.sha256.to_hex()));
                    }
                }
                None => f.push(Field::text("TLS", "none (plain HTTP)")),
            }
            b.push(Block::Fields(f));
        }
    }
    b.push(Block::Fields(vec![
        Field::text("Report made by", &facts.generator),
        Field::text("Report layout", &facts.layout),
    ]));
}

pub(super) fn custody(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Chain of custody"));
    b.push(p(texts::CUSTODY_INTRO));
    for r in &facts.records {
        let (id, at, verb, seal) = match r {
            RecordFacts::Capture(c) => (&c.id, &c.captured_at, "Captured", &c.seal),
            RecordFacts::Provision(pr) => (&pr.id, &pr.created_at, "Recorded", &pr.seal),
        };
        b.push(h(2, id.clone()));
        let mut f = vec![Field::text(
            verb,
            format!(
                "{} (claimed by the signer); evidence: the signed manifest {}",
                human(at),
                seal.manifest_file
            ),
        )];
        if let (Some(i), Some(c)) = (seal.log_index, &facts.checkpoint) {
            f.push(Field::text(
                "Logged",
                format!(
                    "as leaf {i} of the log \"{}\"; evidence: the inclusion proof {} against the \
                     checkpoint of {}",
                    c.origin,
                    seal.manifest_file
                        .replace("exhibit/manifests/", "exhibit/proofs/")
                        .replace(".json", ".tlog-proof"),
                    leaves(c.size)
                ),
            ));
        }
        for t in &facts.timestamps {
            f.push(Field::text(
                "Timestamped",
                format!(
                    "by a TSA naming itself {}, at {}: no later than {} once checked against that \
                     TSA's CA certificate; evidence: the RFC 3161 token {}",
                    t.tsa,
                    human(&t.gen_time),
                    human(&t.no_later_than),
                    t.file
                ),
            ));
        }
        f.push(Field::text(
            "Bundled",
            "sealed with the signature tagmanifest-sha256.txt.sig over the list of every \
             file's SHA-256 (exhibit-verify names the sealing key)"
                .to_owned(),
        ));
        f.push(Field::text(
            "Reported",
            format!(
                "{} in this report, {}",
                human(&facts.generated_at),
                facts.id
            ),
        ));
        b.push(Block::Fields(f));
    }
}

/// The verification commands, written from the facts alone (never from a bag file the report
/// would then vouch for): the verifier, then the stock-tool steps for these very records.
pub(super) fn how_to_verify(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "How to verify this independently"));
    b.push(p(texts::VERIFY_INTRO));
    let key = facts.signers.first().cloned().unwrap_or_default();
    let cmd = |text: String| Line {
        text,
        mark: Mark::Plain,
    };
    let keys: String = facts
        .signers
        .iter()
        .map(|k| format!(" --key {k}"))
        .collect();
    b.push(Block::Preformatted(vec![cmd(format!(
        "$ exhibit-verify BUNDLE.tar.zst{keys}"
    ))]));
    b.push(p(texts::VERIFY_BY_HAND));
    let key_file = |fp: &str| layout::key_path(fp);
    let mut lines = vec![
        cmd("$ mkdir check && tar --zstd -xf BUNDLE.tar.zst -C check && cd check/*/".into()),
        cmd("$ sha256sum -c manifest-sha256.txt && sha256sum -c tagmanifest-sha256.txt".into()),
        cmd("$ bagit.py --validate .".into()),
        cmd(format!(
            "$ openssl pkeyutl -verify -pubin -inkey {} -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig",
            key_file(&key)
        )),
    ];
    for r in &facts.records {
        let seal = match r {
            RecordFacts::Capture(c) => &c.seal,
            RecordFacts::Provision(p) => &p.seal,
        };
        lines.push(cmd(format!(
            "$ openssl pkeyutl -verify -pubin -inkey {} -rawin -in {m} -sigfile {m}.sig",
            key_file(&seal.signer),
            m = seal.manifest_file
        )));
        lines.push(cmd(format!(
            "$ echo '{}  {}' | sha256sum -c -",
            seal.manifest_sha256, seal.manifest_file
        )));
        if let RecordFacts::Capture(c) = r {
            for object in c.content.iter().chain(c.text.as_ref().map(|t| &t.object)) {
                lines.push(cmd(format!(
                    "$ echo '{}  {}' | sha256sum -c -",
                    object.sha256, object.file
                )));
            }
        }
    }
    for t in &facts.timestamps {
        let stamped = t.file.strip_suffix(".tsr").unwrap_or(&t.file);
        lines.push(cmd(format!(
            "$ openssl ts -verify -data {stamped} -in {} -CAfile ../../tsa-ca.pem",
            t.file
        )));
    }
    b.push(Block::Preformatted(lines));
    b.push(p(texts::VERIFY_MORE));
}

/// What is and is not proven: the list `exhibit-verify` prints for a reader who has pinned
/// nothing yet (the report cannot know what its reader checked), then what pinning adds.
pub(super) fn limitations(b: &mut Vec<Block>, facts: &Facts) {
    b.push(h(1, "Limitations"));
    b.push(p(texts::LIMITATIONS_INTRO));
    let (proven, not_proven) = crate::limits::conclusions(&crate::limits::Established {
        signers: &facts.signers,
        all_pinned: false,
        keys_given: false,
        trusted_stamp: None,
        stamps: facts.timestamps.len(),
        tsa_anchors_given: false,
        imported: facts
            .records
            .iter()
            .any(|r| matches!(r, crate::facts::RecordFacts::Capture(c) if c.warc.is_some())),
        witnessed: None,
    });
    b.push(h(2, "Proven by the checks"));
    b.push(Block::List(
        proven.into_iter().map(|s| vec![Span::regular(s)]).collect(),
    ));
    b.push(h(2, "Not proven by them"));
    b.push(Block::List(
        not_proven
            .into_iter()
            .map(|s| vec![Span::regular(s)])
            .collect(),
    ));
    b.push(p(texts::LIMITATIONS_PINNING));
    if !facts.timestamps.is_empty() {
        b.push(p(texts::LIMITATIONS_TSA));
    }
    b.push(p(texts::LIMITATIONS_REPORT));
}
