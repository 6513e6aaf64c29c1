//! `/records/ID`: a capture, version or provision with its evidence panel. Every mark on the
//! panel is a check made while the page is served — the signature over the signed manifest,
//! the log inclusion under the latest signed checkpoint, the stored bytes hashed against the
//! manifest, timestamps and cosignatures — by the same code `exhibit verify` runs
//! (`exhibit_ops::audit::verify_record`). Nothing is remembered between requests.

use exhibit_core::citation::{self, HashForm};
use exhibit_core::manifest::CaptureManifest;
use exhibit_core::{RecordId, RecordKind, Sha256Digest};
use exhibit_http::Response;
use exhibit_sign::cosignature::{CosignerKey, verify_cosignature_line};
use exhibit_store::{Archive, CaptureRow, SignedCapture};
use exhibit_verify::citation::{Candidate, Integrity};
use maud::{Markup, html};

use crate::format::{diff_href, document_link, record_link, time};
use crate::{Ctx, PageError, page};

/// How much of the extracted text the page shows (all of it is a download).
const TEXT_PREVIEW_BYTES: usize = 64 * 1024;

/// One mark of the evidence panel.
struct Mark {
    /// `stored`, `hash`, `signature`, `log`, `time`, `witness`, `quote`.
    kind: &'static str,
    /// `Some(true)`: held; `Some(false)`: failed; `None`: nothing to check.
    ok: Option<bool>,
    /// The line shown.
    text: String,
}

impl Mark {
    fn new(kind: &'static str, ok: Option<bool>, text: impl Into<String>) -> Mark {
        Mark {
            kind,
            ok,
            text: text.into(),
        }
    }

    fn render(&self) -> Markup {
        let (class, sign) = match self.ok {
            Some(true) => ("check ok", "✓"),
            Some(false) => ("check fail", "✗"),
            None => ("check none", "–"),
        };
        html! { li class=(class) data-check=(self.kind) { span.mark { (sign) } " " (self.text) } }
    }
}

/// The record's page.
pub fn page(ctx: &Ctx, id: &RecordId) -> Result<Response, PageError> {
    let a = &ctx.archive;
    // The catalog finds the capture the record rests on (404 when there is none)…
    let capture_number = match id.kind() {
        RecordKind::Capture => id.number(),
        RecordKind::Version => a.version(id.number())?.opened_by.number(),
        RecordKind::Provision => a.provision(id.number())?.capture_id.number(),
        _ => {
            return Err(PageError::bad_request(format!(
                "{id} is not a capture, version or provision"
            )));
        }
    };
    let row = a.capture(capture_number)?;
    // …and everything shown about it comes from its signed manifest, checked now.
    let signed = a.read_signed_capture(capture_number, &ctx.keys);
    let candidate = exhibit_ops::audit::verify_record(a, &ctx.keys, id, false);
    let body = match (&signed, &candidate) {
        (Ok(signed), Ok(candidate)) => evidence(ctx, id, signed, candidate)?,
        (Err(e), _) => unreadable(id, &row, &ctx.message(&e.to_string())),
        (_, Err(e)) => unreadable(id, &row, &ctx.message(&e.to_string())),
    };
    let title = match id.kind() {
        RecordKind::Version => format!("Version {id}"),
        RecordKind::Provision => format!("Provision {id}"),
        _ => format!("Capture {id}"),
    };
    Ok(page::page(&ctx.origin, &title, body))
}

/// A record whose signed manifest could not be read: nothing from the catalog is vouched for.
fn unreadable(id: &RecordId, row: &CaptureRow, why: &str) -> Markup {
    html! {
        section #evidence .failed {
            h2 { "Evidence" }
            p.verdict.fail { "This record could not be read as evidence." }
            ul.checks {
                (Mark::new("signature", Some(false), format!("Signature NOT valid: {why}")).render())
            }
            p {
                "The catalog lists " (id) " for " code.url { (row.url) }
                ", but its signed manifest does not back it. Run "
                code { "exhibit fsck" } " on the archive."
            }
        }
    }
}

/// The page of a record whose manifest was read and checked.
fn evidence(
    ctx: &Ctx,
    id: &RecordId,
    signed: &SignedCapture,
    candidate: &Candidate,
) -> Result<Markup, PageError> {
    let a = &ctx.archive;
    let m = &signed.manifest;
    let facts = &candidate.facts;
    let marks = marks(ctx, m, candidate, signed.row.log_index)?;
    let all_ok = marks.iter().all(|k| k.ok != Some(false));
    let citation = citation::render(facts, HashForm::Full);
    let version = m.version.as_ref();
    let previous_version = match version {
        Some(v) => a
            .version(v.id.number())
            .ok()
            .and_then(|row| a.previous_version(&row).ok().flatten()),
        None => None,
    };
    let is_html = m.content.as_ref().is_some_and(|c| is_html(&c.media_type));
    let files_of = match id.kind() {
        RecordKind::Provision => &m.id,
        _ => id,
    };
    let quote = if id.kind() == RecordKind::Provision {
        let prow = a.provision(id.number())?;
        let (bytes, _) = a.read_provision_manifest(&prow)?;
        exhibit_core::ProvisionManifest::parse(&bytes)
            .ok()
            .map(|p| p.quote.text)
    } else {
        None
    };
    Ok(html! {
        section #evidence class=(if all_ok { "verified" } else { "failed" }) {
            h2 { "Evidence" }
            @if all_ok {
                p.verdict.ok { "Every check below held when this page was served." }
            } @else {
                p.verdict.fail { "A check below FAILED when this page was served: do not rely on this record." }
            }
            ul.checks { @for k in &marks { (k.render()) } }
            dl.facts {
                dt { "Record" } dd { (id) }
                dt { "Source URL" } dd { code.url { (facts.url) } }
                dt { "Captured" } dd { (time(&m.captured_at)) " " span.note { "(claimed by the signer)" } }
                @if let Some(status) = facts.http_status { dt { "HTTP status" } dd { (status) } }
                @if let Some(e) = &facts.error { dt { "Failure" } dd { (e) } }
                @if let Some(c) = &m.content {
                    dt { "SHA-256" } dd { code #sha256 .hash { (c.sha256) } }
                    dt { "Size" } dd { (c.size) " bytes, " (c.media_type) }
                }
                @if let Some(t) = &m.text { dt { "Text SHA-256" } dd { code.hash { (t.sha256) } } }
                dt { "Manifest SHA-256" } dd { code.hash { (Sha256Digest::of(&signed.bytes)) } }
                dt { "Signed by" } dd { code { (m.signer) } }
                dt { "Log position" } dd { "leaf " (signed.row.log_index) }
                @if let Some(cp) = a.latest_checkpoint()? {
                    dt { "Checkpoint" } dd { "size " (cp.size) ", root " code.hash { (hex::encode(cp.root)) } }
                }
            }
            @if let Some(q) = &quote {
                h3 { "Quoted passage" }
                blockquote #quote { (q) }
            }
            h3 { "Citation record" }
            pre #citation { (citation) }
            button.copy type="button" data-copy="citation" hidden { "Copy citation" }
            h3 { "Downloads" }
            ul.downloads {
                @if m.content.is_some() {
                    li { a data-download="content" href={ "/records/" (files_of) "/content" } { "Exact bytes as captured" } }
                }
                @if m.text.is_some() {
                    li { a data-download="text" href={ "/records/" (files_of) "/text" } { "Extracted text" } }
                }
                @if m.browser.as_ref().is_some_and(|b| b.screenshot.is_some()) {
                    li { a data-download="screenshot" href={ "/records/" (files_of) "/screenshot.png" } { "Screenshot (PNG)" } }
                }
                li { a data-download="bundle" href={ "/records/" (id) "/bundle.tar.zst" } { "Signed evidence bundle" } " (BagIt, .tar.zst: check it with " code { "exhibit-verify" } ")" }
                li { a data-download="report" href={ "/records/" (id) "/report.pdf" } { "Evidence report (PDF)" } " (the report the bundle carries, where " code { "exhibit-verify" } " rebuilds and checks it)" }
            }
        }
        section #context {
            h2 { "In its document" }
            dl.facts {
                dt { "Document" } dd {
                    (document_link(&m.document.id))
                    @if let Some(t) = &m.document.title { " " (t) }
                    @if let Some(e) = &m.document.entity { " — " (e) }
                }
                @if let Some(v) = version {
                    dt { "Version" } dd {
                        (record_link(&v.id))
                        @if let Some(p) = &previous_version {
                            " — " a href=(diff_href(&p.id, &v.id)) { "what changed since " (p.id) }
                        }
                    }
                }
                @if let Some(p) = &m.previous_capture {
                    dt { "Previous capture" } dd { (record_link(&p.id)) }
                }
            }
        }
        @if is_html {
            section #captured {
                h2 { "The captured page" }
                p.note { "Shown sandboxed: its scripts do not run and it loads nothing from the network, so it may look incomplete. The exact bytes are the download above." }
                iframe sandbox="" src={ "/records/" (files_of) "/view" } title="The captured page, sandboxed" {}
            }
        }
        @if let Some(t) = &m.text {
            @if let Ok(text) = a.read_text(&t.sha256) {
                details #text {
                    summary { "Extracted text" }
                    pre { (preview(&text)) }
                }
            }
        }
    })
}

/// The panel's marks, in the order a reader checks them.
fn marks(
    ctx: &Ctx,
    m: &CaptureManifest,
    candidate: &Candidate,
    log_index: u64,
) -> Result<Vec<Mark>, PageError> {
    let a = &ctx.archive;
    let find = |what: &str| candidate.integrity.iter().find(|i| i.what == what);
    let mut marks = Vec::new();
    match &m.content {
        Some(c) => {
            let stored = a.objects().contains(&c.sha256);
            marks.push(Mark::new(
                "stored",
                Some(stored),
                if stored {
                    "Snapshot stored"
                } else {
                    "Snapshot NOT stored in this archive"
                },
            ));
            marks.push(match find("Stored bytes") {
                Some(Integrity {
                    ok: true, detail, ..
                }) => Mark::new("hash", Some(true), format!("Hash verified: {detail}")),
                Some(Integrity { detail, .. }) => Mark::new(
                    "hash",
                    Some(false),
                    format!("Content hash NOT verified: {}", ctx.message(detail)),
                ),
                None => Mark::new(
                    "hash",
                    Some(false),
                    "Content hash NOT verified: not checked",
                ),
            });
        }
        None => {
            marks.push(Mark::new(
                "stored",
                None,
                "A failed capture stores no bytes",
            ));
            marks.push(Mark::new("hash", None, "No content hash to verify"));
        }
    }
    let check = |kind, what, ok_text: &str, fail_text: &str| match find(what) {
        Some(i) if i.ok => Mark::new(kind, Some(true), format!("{ok_text}: {}", i.detail)),
        Some(i) => Mark::new(
            kind,
            Some(false),
            format!("{fail_text}: {}", ctx.message(&i.detail)),
        ),
        None => Mark::new(kind, Some(false), format!("{fail_text}: not checked")),
    };
    marks.push(check(
        "signature",
        "Signature",
        "Signature valid",
        "Signature NOT valid",
    ));
    marks.push(check(
        "log",
        "Log inclusion",
        "In the log",
        "Log inclusion NOT verified",
    ));
    if find("Quoted passage").is_some() {
        marks.push(check(
            "quote",
            "Quoted passage",
            "Quoted passage verified",
            "Quoted passage NOT verified",
        ));
    }
    marks.push(time_mark(a, candidate, log_index)?);
    marks.extend(witness_marks(ctx, log_index)?);
    Ok(marks)
}

/// The timestamp mark: the trusted time bound when a configured TSA's token covers the
/// record, else what tokens exist.
fn time_mark(a: &Archive, candidate: &Candidate, log_index: u64) -> Result<Mark, PageError> {
    if let Some(i) = candidate.integrity.iter().find(|i| i.what == "Time order") {
        let text = if i.ok {
            format!("Timestamped: {}", i.detail)
        } else {
            format!(
                "Timestamp NOT consistent: {}",
                exhibit_core::inert(&i.detail)
            )
        };
        return Ok(Mark::new("time", Some(i.ok), text));
    }
    Ok(
        match a.earliest_timestamped_checkpoint(log_index + 1, &[])? {
            Some(cp) => {
                let stamps = a.timestamps(cp.size)?;
                let names: Vec<String> = stamps
                    .iter()
                    .map(|s| format!("{} at {}", s.tsa, s.gen_time))
                    .collect();
                Mark::new(
                    "time",
                    None,
                    format!(
                        "Checkpoint of size {} has tokens ({}), but no TSA with a configured CA vouches for them",
                        cp.size,
                        names.join(", ")
                    ),
                )
            }
            None => Mark::new("time", None, "No timestamp covers this record yet"),
        },
    )
}

/// One mark per configured witness: its cosignature on the latest checkpoint, verified with its
/// key.
fn witness_marks(ctx: &Ctx, log_index: u64) -> Result<Vec<Mark>, PageError> {
    let a = &ctx.archive;
    let witnesses = &a.config().witness;
    let Some(cp) = a.latest_checkpoint()? else {
        return Ok(Vec::new());
    };
    if cp.size <= log_index {
        return Ok(Vec::new());
    }
    let mut marks = Vec::new();
    for w in witnesses {
        let mark = match (
            a.cosignature(cp.size, &w.name)?,
            CosignerKey::parse(&w.vkey),
        ) {
            (None, _) => Mark::new(
                "witness",
                None,
                format!("Not cosigned by witness {} yet", w.name),
            ),
            (Some(_), Err(e)) => Mark::new(
                "witness",
                Some(false),
                format!("Witness {}: its configured key does not parse: {e}", w.name),
            ),
            (Some(c), Ok(key)) => match verify_cosignature_line(&cp.note, &c.line, &key) {
                Ok(_) => Mark::new(
                    "witness",
                    Some(true),
                    format!(
                        "Cosigned by witness {} (checkpoint of size {})",
                        w.name, cp.size
                    ),
                ),
                Err(e) => Mark::new(
                    "witness",
                    Some(false),
                    format!("Cosignature of witness {} NOT valid: {e}", w.name),
                ),
            },
        };
        marks.push(mark);
    }
    if witnesses.is_empty() {
        marks.push(Mark::new(
            "witness",
            None,
            "No witness is configured for this archive",
        ));
    }
    Ok(marks)
}

/// Whether a media type is HTML (shown in the sandboxed frame).
pub fn is_html(media_type: &str) -> bool {
    let base = media_type.split(';').next().unwrap_or("").trim();
    base.eq_ignore_ascii_case("text/html") || base.eq_ignore_ascii_case("application/xhtml+xml")
}

/// The start of a text, cut at a character boundary.
fn preview(text: &str) -> String {
    if text.len() <= TEXT_PREVIEW_BYTES {
        return text.to_owned();
    }
    let mut end = TEXT_PREVIEW_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… (the whole text is the download above)", &text[..end])
}
