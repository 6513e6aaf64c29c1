//! The evidence report of an exhibit bundle (docs/FORMAT.md §16): its facts, read from the bag
//! alone (`facts`); composed into one [`doc::Document`] (`compose`, with the fixed wording in
//! `texts`); typeset as reproducible PDF (`pdf`) and HTML (`html`). The same bag and generation
//! time give byte-identical files, which is how `exhibit-verify` checks a report ([`check`]):
//! it rebuilds it from the bag and compares.
//!
//! Not for choosing records or writing bundles (`exhibit-ops`, `exhibit-bundle`) nor for
//! checking the records themselves (`exhibit-verify`'s checks 1 to 13).

pub mod certs;
pub mod compose;
pub mod diff;
pub mod doc;
pub mod facts;
pub mod html;
pub mod limits;
pub mod pdf;
pub mod texts;

use exhibit_bundle::ReadBag;
use exhibit_bundle::layout::{REPORT_HTML, REPORT_PDF};

pub use facts::Facts;

/// Why a report could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The bag does not hold what a report is made from.
    #[error("bag: {0}")]
    Bag(String),
    /// The facts could not be written.
    #[error("report facts: {0}")]
    Facts(String),
    /// A report's embedded facts could not be read.
    #[error("{0}")]
    Embedded(String),
    /// The PDF could not be typeset.
    #[error("PDF: {0}")]
    Pdf(String),
}

/// A report, made.
#[derive(Clone, Debug)]
pub struct Report {
    /// What it states.
    pub facts: Facts,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// The HTML.
    pub html: Vec<u8>,
}

impl Report {
    /// Its files as they go into a bag: ([`REPORT_PDF`], pdf), ([`REPORT_HTML`], html).
    pub fn bag_files(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            (REPORT_PDF.to_owned(), self.pdf.clone()),
            (REPORT_HTML.to_owned(), self.html.clone()),
        ]
    }
}

/// Makes the report of `bag`, generated now by this build at `generated_at` (RFC 3339,
/// seconds, UTC).
pub fn build(bag: &ReadBag, generated_at: &str) -> Result<Report, ReportError> {
    make(bag, generated_at, facts::GENERATOR)
}

/// Makes the report of `bag` as `generator` did at `generated_at`.
fn make(bag: &ReadBag, generated_at: &str, generator: &str) -> Result<Report, ReportError> {
    let facts = facts::from_bag(bag, generated_at, generator)?;
    let json = facts.to_json()?;
    let mut doc = compose::compose(&facts, bag, json);
    doc.make_inert();
    let html = html::render(&doc);
    let pdf = pdf::render(&doc).map_err(|e| ReportError::Pdf(e.to_string()))?;
    Ok(Report { facts, pdf, html })
}

/// What [`check`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// The bag has no report (bundles made before reports existed).
    Absent,
    /// Both report files are exactly what the bag's records make.
    Matches {
        /// The report id.
        id: String,
    },
    /// They are not: what differs, in one line.
    Differs(String),
}

/// Rebuilds the report a bag carries from the bag itself and compares it, byte for byte, with
/// the report files: the check that a report says what the records say, no more and no less.
/// The generation time and the generator's name are the things taken from the report (its
/// facts block); everything else is made from the records.
pub fn check(bag: &ReadBag) -> Checked {
    let pdf = bag.tag(REPORT_PDF);
    let html = bag.tag(REPORT_HTML);
    let (pdf, html) = match (pdf, html) {
        (None, None) => return Checked::Absent,
        (Some(p), Some(h)) => (p, h),
        (Some(_), None) => return Checked::Differs(format!("{REPORT_PDF} without {REPORT_HTML}")),
        (None, Some(_)) => return Checked::Differs(format!("{REPORT_HTML} without {REPORT_PDF}")),
    };
    let embedded = match html::embedded_facts(html).and_then(|bytes| {
        serde_json::from_slice::<Facts>(&bytes)
            .map_err(|e| ReportError::Embedded(format!("{REPORT_HTML}: its facts block: {e}")))
    }) {
        Ok(f) => f,
        Err(e) => return Checked::Differs(e.to_string()),
    };
    if embedded.layout != facts::LAYOUT {
        return Checked::Differs(format!(
            "the report is typeset in layout {:?}; this verifier rebuilds only {:?}",
            embedded.layout,
            facts::LAYOUT
        ));
    }
    if exhibit_core::time::parse_rfc3339_seconds(&embedded.generated_at).is_none() {
        return Checked::Differs(format!(
            "{REPORT_HTML}: generation time {:?} is not RFC 3339 UTC seconds",
            embedded.generated_at
        ));
    }
    if !facts::is_generator(&embedded.generator) {
        return Checked::Differs(format!(
            "{REPORT_HTML}: generator {:?} is not `exhibit VERSION`",
            exhibit_core::inert(&embedded.generator)
        ));
    }
    let rebuilt = match make(bag, &embedded.generated_at, &embedded.generator) {
        Ok(r) => r,
        Err(e) => return Checked::Differs(format!("the report cannot be rebuilt: {e}")),
    };
    if rebuilt.facts != embedded {
        // The id is a hash of the rest: compare without it, to name what differs.
        let unnamed = |f: &Facts| {
            let mut f = f.clone();
            f.id = String::new();
            serde_json::to_vec_pretty(&f).unwrap_or_default()
        };
        return Checked::Differs(format!(
            "{REPORT_HTML} states facts the records do not: {}",
            first_difference(&unnamed(&rebuilt.facts), &unnamed(&embedded))
        ));
    }
    for (path, made, held) in [
        (REPORT_HTML, &rebuilt.html, html),
        (REPORT_PDF, &rebuilt.pdf, pdf),
    ] {
        if made.as_slice() != held {
            return Checked::Differs(format!(
                "{path} is not the report the records make ({} bytes where {} were made, first \
                 difference at byte {})",
                held.len(),
                made.len(),
                made.iter().zip(held).take_while(|(a, b)| a == b).count()
            ));
        }
    }
    Checked::Matches {
        id: rebuilt.facts.id,
    }
}

/// The first line where two JSON texts differ: "expected …, found …".
fn first_difference(made: &[u8], held: &[u8]) -> String {
    let made = String::from_utf8_lossy(made);
    let held = String::from_utf8_lossy(held);
    for (a, b) in made.lines().zip(held.lines()) {
        if a != b {
            return format!(
                "the records make {}, the report says {}",
                exhibit_core::inert(a.trim()),
                exhibit_core::inert(b.trim())
            );
        }
    }
    "they differ in length".into()
}

#[cfg(test)]
mod tests {
    use super::doc::{Attachment, Block, Document, Field, Line, Mark, Span};

    /// A fixed document exercising every block.
    fn fixed() -> Document {
        Document {
            title: "Evidence report".into(),
            report_id: "R-00000000000000000000".into(),
            generated_unix: 1_777_529_721,
            attachment: Attachment {
                name: "exhibit-report.json".into(),
                media_type: "application/json".into(),
                description: "facts".into(),
                bytes: b"{}\n".to_vec(),
            },
            blocks: vec![
                Block::Paragraph(vec![Span::regular("A paragraph "), Span::bold("in bold")]),
                Block::Heading {
                    level: 1,
                    text: "Record EX-C-000001".into(),
                },
                Block::Fields(vec![
                    Field::mono("SHA-256", "a".repeat(64)),
                    Field::text(
                        "Captured at",
                        "2026-04-30 06:15:21 UTC (claimed by the signer)",
                    ),
                ]),
                Block::List(vec![vec![Span::regular("one")], vec![Span::mono("two")]]),
                Block::Preformatted(vec![
                    Line {
                        text: "same".into(),
                        mark: Mark::Plain,
                    },
                    Line {
                        text: "new".into(),
                        mark: Mark::Added,
                    },
                    Line {
                        text: "old".into(),
                        mark: Mark::Removed,
                    },
                    Line {
                        text: "… 3 unchanged lines …".into(),
                        mark: Mark::Elided,
                    },
                ]),
                Block::Blank("Signature".into()),
            ],
        }
    }

    /// The bytes a layout gives are part of the format: a verifier rebuilds reports made by
    /// earlier builds and compares them byte for byte (FORMAT §16.4). When this test fails, the
    /// typesetting changed: give the change a new [`super::facts::LAYOUT`] and keep setting the
    /// old one for reports that name it — or undo the change. (Pins the renderers; `compose`
    /// and `texts` changes are caught by the same rule, in review.)
    #[test]
    fn the_layout_is_pinned() {
        let doc = fixed();
        let pdf = super::pdf::render(&doc).unwrap();
        let html = super::html::render(&doc);
        assert_eq!(super::facts::LAYOUT, "exhibit-report-layout/1");
        assert_eq!(
            (
                exhibit_core::Sha256Digest::of(&pdf).to_hex(),
                exhibit_core::Sha256Digest::of(&html).to_hex()
            ),
            (
                "5796f164572c2f544147916632ad3d7bab644bdb38f789eac84d4761beef8dd0".to_owned(),
                "dc5c5ce5472f76f23a2a0ddd49e5d5d50e9252f18ef2ed4003a43fb2e40d9d6d".to_owned()
            ),
            "the report layout changed"
        );
    }
}
