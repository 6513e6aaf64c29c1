//! The verification report: every check run and how it came out ([`Check`], collected in
//! order by `Checks`), what the records claim ([`RecordSummary`]), the timestamps found
//! ([`TimestampSummary`]), the verdict, and the human-readable rendering.
//!
//! Not for running checks: the numbered checks are in `checks`; this file imports nothing else
//! of the crate.

use std::fmt::Write as _;

use exhibit_core::Inert;
use serde::Serialize;

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// The check held.
    Pass,
    /// The check failed.
    Fail {
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
}

/// One check: what was checked, on what, and how it came out.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// The file or record checked (`data/content/….html`, `EX-C-000042`).
    pub subject: String,
    /// What was checked ("sha256 matches manifest-sha256.txt").
    pub what: String,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The checks run so far, in the order run: what every numbered check of `checks` appends to,
/// and what becomes [`Report::checks`].
#[derive(Debug, Default)]
pub(crate) struct Checks(Vec<Check>);

impl Checks {
    /// Records a check that held.
    pub(crate) fn pass(&mut self, subject: &str, what: &str) {
        self.0.push(Check {
            subject: subject.to_owned(),
            what: what.to_owned(),
            outcome: Outcome::Pass,
        });
    }

    /// Records a check that failed: what was expected, and what was found instead.
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

    /// Records a check that held if `ok`, failed otherwise; returns `ok`.
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

    /// Whether any check so far failed.
    pub(crate) fn any_failed(&self) -> bool {
        self.0.iter().any(|ch| ch.outcome != Outcome::Pass)
    }

    /// The checks, in the order run.
    pub(crate) fn into_vec(self) -> Vec<Check> {
        self.0
    }
}

/// What a record in the bundle claims (as verified).
#[derive(Clone, Debug, Serialize)]
pub struct RecordSummary {
    /// The record id.
    pub id: String,
    /// `exhibit.capture/v1` or `/v2`, `exhibit.capture-failure/v1` or `/v2`.
    pub manifest_type: String,
    /// Document URL.
    pub url: String,
    /// Entity, if recorded.
    pub entity: Option<String>,
    /// Title, if recorded.
    pub title: Option<String>,
    /// Capture time as claimed by the signer.
    pub captured_at: String,
    /// SHA-256 of the captured bytes.
    pub sha256: Option<String>,
    /// Size of the captured bytes.
    pub size: Option<u64>,
    /// Media type.
    pub media_type: Option<String>,
    /// The failure, for failed captures.
    pub error: Option<String>,
    /// The signer's fingerprint.
    pub signer: String,
    /// The manifest's leaf index in the archive's log, when its proof verified.
    pub log_index: Option<u64>,
    /// The size of the tree of the checkpoint that proof is against.
    pub tree_size: Option<u64>,
    /// That checkpoint's root hash (base64).
    pub checkpoint_root: Option<String>,
    /// The version the record belongs to (or, for a provision, quotes).
    pub version_id: Option<String>,
    /// For a provision: the quoted passage.
    pub excerpt: Option<String>,
    /// For a provision: where the passage is.
    pub quotes: Option<String>,
    /// For a capture imported from a WARC file: the file, the record and the WARC's date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

/// One witness and its cosignature on the bundle's checkpoint, as checked (check 16).
#[derive(Clone, Debug, Serialize)]
pub struct WitnessSummary {
    /// The witness's name.
    pub name: String,
    /// Its vkey when given with `--witness`; `name+<key ID>` for a cosignature by a witness not
    /// given.
    pub vkey: String,
    /// When it cosigned the checkpoint (RFC 3339, UTC), when a valid cosignature by a given
    /// witness is there.
    pub cosigned_at: Option<String>,
    /// Whether the reader gave this witness's key.
    pub given: bool,
}

/// One time-stamp token in the bundle, as checked.
#[derive(Clone, Debug, Serialize)]
pub struct TimestampSummary {
    /// The token file (`exhibit/checkpoint.tsr`).
    pub file: String,
    /// The file it stamps.
    pub stamps: String,
    /// The tree size of the checkpoint it stamps.
    pub tree_size: Option<u64>,
    /// The TSA's time (genTime, RFC 3339, UTC).
    pub gen_time: String,
    /// The accuracy the TSA states, if any ("±1 s").
    pub accuracy: Option<String>,
    /// What the token proves: the checkpoint existed no later than genTime plus the stated
    /// accuracy, rounded up to the second (RFC 3339, UTC).
    pub no_later_than: String,
    /// The same, as Unix seconds (for comparing tokens).
    #[serde(skip)]
    pub no_later_than_unix: i64,
    /// The signing certificate's subject.
    pub tsa: String,
    /// The trusted CA the signer chains to, when trust anchors were given and it does.
    pub trusted_by: Option<String>,
    /// Whether the token was checked against trusted TSA CA certificates at all.
    pub trust_checked: bool,
}

/// The overall verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed and every signer is pinned (exit 0).
    Verified,
    /// Something does not match (exit 1).
    Mismatch,
    /// Every check passed but no trusted key was given (exit 3).
    Unpinned,
}

impl Verdict {
    /// The exit status both command-line tools use.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Verified => 0,
            Verdict::Mismatch => 1,
            Verdict::Unpinned => 3,
        }
    }
}

/// Everything the verifier found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The bundle file.
    pub bundle: String,
    /// The bag name.
    pub bag: String,
    /// The verdict.
    pub verdict: Verdict,
    /// The id of the evidence report the bag carries, when check 14 found it to be exactly
    /// what the records make.
    pub report: Option<String>,
    /// Whether the bag carries a report that check 14 did not rebuild, because an earlier check
    /// failed (a report is made only from records that verify).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub report_not_rebuilt: bool,
    /// Every check, in the order run.
    pub checks: Vec<Check>,
    /// The records.
    pub records: Vec<RecordSummary>,
    /// Fingerprints of every key that signed something in the bundle.
    pub signers: Vec<String>,
    /// Fingerprint of the key that sealed the bag, if the seal verified.
    pub sealed_by: Option<String>,
    /// The pinned fingerprints the signers were compared with.
    pub pinned: Vec<String>,
    /// The RFC 3161 timestamps over the bundle's checkpoint that passed their checks.
    pub timestamps: Vec<TimestampSummary>,
    /// The witnesses given (`--witness`) and whether each cosigned the checkpoint, then the
    /// cosignatures by others, unchecked (check 16).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub witnesses: Vec<WitnessSummary>,
    /// What the checks prove.
    pub proven: Vec<String>,
    /// What they do not prove.
    pub not_proven: Vec<String>,
}

impl Report {
    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome != Outcome::Pass)
    }

    /// The human-readable report. Every string that came from the bundle (or its file name) is
    /// printed through [`exhibit_core::inert`], and the whole report through
    /// [`exhibit_core::inert::inert_text`] as well, so nothing in a bundle can move the cursor,
    /// hide a line or forge one.
    pub fn render(&self) -> String {
        exhibit_core::inert::inert_text(&self.render_lines()).into_owned()
    }

    fn render_lines(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Bundle  {}  (bag \"{}\")",
            Inert(&self.bundle),
            Inert(&self.bag)
        );
        let passed = self.checks.len() - self.failures().count();
        let _ = writeln!(s, "Checks  {passed} of {} passed", self.checks.len());
        for c in self.failures() {
            if let Outcome::Fail { expected, found } = &c.outcome {
                let _ = writeln!(
                    s,
                    "  FAIL  {}: {}: expected {}, found {}",
                    Inert(&c.subject),
                    Inert(&c.what),
                    Inert(expected),
                    Inert(found)
                );
            }
        }
        let _ = writeln!(s);
        for r in &self.records {
            let _ = writeln!(s, "Record  {}  ({})", Inert(&r.id), Inert(&r.manifest_type));
            if let Some(e) = &r.entity {
                let _ = writeln!(s, "  Entity    {}", Inert(e));
            }
            if let Some(t) = &r.title {
                let _ = writeln!(s, "  Document  {}", Inert(t));
            }
            let _ = writeln!(s, "  URL       {}", Inert(&r.url));
            let captured = exhibit_core::time::parse_rfc3339_seconds(&r.captured_at)
                .map_or_else(|| r.captured_at.clone(), exhibit_core::time::format_human);
            let _ = writeln!(
                s,
                "  {}  {} (as claimed by the signer)",
                if r.imported_from.is_some() {
                    "Imported"
                } else {
                    "Captured"
                },
                Inert(&captured)
            );
            if let Some(from) = &r.imported_from {
                let _ = writeln!(s, "  From      {}", Inert(from));
            }
            match (&r.sha256, r.size, &r.media_type) {
                (Some(h), Some(n), Some(t)) => {
                    let _ = writeln!(s, "  SHA-256   {}  ({n} bytes, {})", Inert(h), Inert(t));
                }
                (Some(h), _, _) => {
                    let _ = writeln!(s, "  SHA-256   {}", Inert(h));
                }
                _ => {}
            }
            if let Some(e) = &r.error {
                let _ = writeln!(s, "  FAILED CAPTURE: {}", Inert(e));
            }
            if let Some(x) = &r.excerpt {
                let _ = writeln!(
                    s,
                    "  Excerpt   “{}”",
                    Inert(&x.split_whitespace().collect::<Vec<_>>().join(" "))
                );
            }
            if let Some(q) = &r.quotes {
                let _ = writeln!(s, "  Quotes    {}", Inert(q));
            }
            let _ = writeln!(s, "  Signer    {}", Inert(&r.signer));
            if let (Some(i), Some(n)) = (r.log_index, r.tree_size) {
                let _ = writeln!(
                    s,
                    "  Log       leaf {i} of {n} (checkpoint root {})",
                    Inert(r.checkpoint_root.as_deref().unwrap_or("?"))
                );
            }
        }
        for t in &self.timestamps {
            let _ = writeln!(
                s,
                "Timestamp  {}  (over {})",
                Inert(&t.file),
                Inert(&t.stamps)
            );
            let human = |t: &str| {
                exhibit_core::time::parse_rfc3339_seconds(t)
                    .map_or_else(|| t.to_owned(), exhibit_core::time::format_human)
            };
            let _ = writeln!(
                s,
                "  Existed no later than  {}  (TSA time {}{})",
                Inert(&human(&t.no_later_than)),
                Inert(&human(&t.gen_time)),
                Inert(
                    &t.accuracy
                        .as_deref()
                        .map(|a| format!(", accuracy {a}"))
                        .unwrap_or_default()
                )
            );
            if let Some(n) = t.tree_size {
                let _ = writeln!(s, "  Covers    the log's first {n} leaves");
            }
            let _ = writeln!(s, "  TSA       {}", Inert(&t.tsa));
            match &t.trusted_by {
                Some(ca) => {
                    let _ = writeln!(s, "  Trust     chains to {} (--tsa-ca)", Inert(ca));
                }
                None => {
                    let _ = writeln!(
                        s,
                        "  Trust     NOT CHECKED: no trusted TSA CA given (--tsa-ca PEM)"
                    );
                }
            }
        }
        for w in &self.witnesses {
            let _ = writeln!(s, "Witness  {}", Inert(&w.name));
            let _ = writeln!(s, "  Key       {}", Inert(&w.vkey));
            match (&w.cosigned_at, w.given) {
                (Some(t), _) => {
                    let human = exhibit_core::time::parse_rfc3339_seconds(t)
                        .map_or_else(|| t.clone(), exhibit_core::time::format_human);
                    let _ = writeln!(
                        s,
                        "  Cosigned  {}: the largest tree of this log it had seen, consistent with all before",
                        Inert(&human)
                    );
                }
                (None, true) => {
                    let _ = writeln!(s, "  Cosigned  NO valid cosignature by this key");
                }
                (None, false) => {
                    let _ = writeln!(
                        s,
                        "  Cosigned  NOT CHECKED: its key was not given (--witness VKEY)"
                    );
                }
            }
        }
        if let Some(id) = &self.report {
            let _ = writeln!(
                s,
                "Report  {}  (exhibit/report.pdf, exhibit/report.html): rebuilt from the records, identical",
                Inert(id)
            );
        } else if self.report_not_rebuilt {
            let _ = writeln!(
                s,
                "Report  not rebuilt: an earlier check failed (a report is made only from records that verify)"
            );
        }
        let _ = writeln!(s);
        if self.verdict != Verdict::Mismatch {
            let _ = writeln!(s, "Proven:");
            for p in &self.proven {
                let _ = writeln!(s, "  - {}", Inert(p));
            }
        }
        let _ = writeln!(s, "Not proven:");
        for p in &self.not_proven {
            let _ = writeln!(s, "  - {}", Inert(p));
        }
        let _ = writeln!(s);
        match self.verdict {
            Verdict::Verified => {
                let linked = self.signers.iter().any(|k| !self.pinned.contains(k));
                let _ = writeln!(
                    s,
                    "VERIFIED: every check passed and every signature is by a pinned key{} ({}).",
                    if linked {
                        " or one the key history links to it"
                    } else {
                        ""
                    },
                    Inert(&self.signers.join(", "))
                );
            }
            Verdict::Unpinned => {
                let _ = writeln!(
                    s,
                    "NOT PINNED: every check passed, but no trusted key was given, so this shows only \
                     that the bundle is intact and signed by {}.",
                    Inert(&self.signers.join(", "))
                );
                let _ = writeln!(
                    s,
                    "Compare that fingerprint with one from an independent channel (the filing, the \
                     archive operator), then pin it: --key {}",
                    Inert(self.signers.first().map_or("SHA256:…", String::as_str))
                );
            }
            Verdict::Mismatch => {
                let _ = writeln!(
                    s,
                    "FAILED: {} check(s) did not pass; the bundle is not what it claims to be.",
                    self.failures().count()
                );
            }
        }
        s
    }
}
