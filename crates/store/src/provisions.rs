//! Provisions: signed, logged records that a quoted passage is part of a version's text.

use chrono::{DateTime, Utc};
use exhibit_core::manifest::{CaptureManifest, RecordLink};
use exhibit_core::provision::{ProvisionManifest, ProvisionType, Quote, QuotedText};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_core::{RecordId, RecordKind, Sha256Digest, quote};
use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use crate::batch::canonical_bytes;
use crate::catalog::parse_digest;
use crate::layout::{manifest_path, signature_path};
use crate::{Archive, Batch, CaptureRow, StoreError, VersionRow, fsutil};

/// The largest extracted text read into memory to find or check a quote. Texts are at most
/// the capture's text retention limit (64 MiB by default), so this only guards against damage.
pub const MAX_TEXT_READ: u64 = 256 << 20;

/// A provision as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct ProvisionRow {
    /// The provision id.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// The version quoted.
    pub version_id: RecordId,
    /// The capture that opened that version.
    pub capture_id: RecordId,
    /// When the provision was recorded, RFC 3339.
    pub created_at: String,
    /// SHA-256 of the passage.
    pub quote_sha256: Sha256Digest,
    /// SHA-256 of the version's text.
    pub text_sha256: Sha256Digest,
    /// First character of the passage in the text.
    pub char_start: u64,
    /// One past its last character.
    pub char_end: u64,
    /// SHA-256 of the signed manifest.
    pub manifest_sha256: Sha256Digest,
    /// Manifest path relative to the archive root.
    pub manifest_path: String,
    /// The manifest's leaf index in the archive's log.
    pub log_index: u64,
}

/// Everything a provision manifest says except what the batch assigns (id, origin, signer).
#[derive(Debug, Clone)]
pub struct ProvisionDraft {
    /// The version's opening capture manifest (its document description is copied).
    pub opening: CaptureManifest,
    /// SHA-256 of that manifest's bytes.
    pub opening_sha256: Sha256Digest,
    /// The passage and its place in the text.
    pub quote: Quote,
    /// When the provision is recorded.
    pub created_at: DateTime<Utc>,
}

/// A provision that is part of a committed (or committing) batch.
#[derive(Debug, Clone, Serialize)]
pub struct CommittedProvision {
    /// The provision id.
    pub provision_id: RecordId,
    /// The version quoted.
    pub version_id: RecordId,
    /// The capture that opened it.
    pub capture_id: RecordId,
    /// The document.
    pub document_id: RecordId,
    /// The passage, as in the text.
    pub quote: String,
    /// SHA-256 of the passage.
    pub quote_sha256: Sha256Digest,
    /// Character range in the text.
    pub char_start: u64,
    /// One past the last character.
    pub char_end: u64,
    /// SHA-256 of the signed manifest.
    pub manifest_sha256: Sha256Digest,
    /// The manifest's leaf index in the log.
    pub log_index: u64,
}

/// Where a quote stands in one version of its document.
#[derive(Debug, Clone, Serialize)]
pub struct ClauseInVersion {
    /// The version.
    pub version: VersionRow,
    /// How many times the passage occurs in its text (after whitespace normalisation);
    /// `None` when the version has no extracted text.
    pub occurrences: Option<usize>,
}

/// Why a quote could not become a provision.
#[derive(Debug, Clone)]
pub enum QuoteProblem {
    /// The passage is in the text more than once; pick one with an occurrence number.
    Repeated(usize),
    /// The passage is not in the text; the closest passage, if any.
    NotFound(Option<quote::Closest>),
    /// The occurrence asked for does not exist.
    NoSuchOccurrence {
        /// Asked for.
        asked: u64,
        /// How many there are.
        found: usize,
    },
    /// Nothing is left of the quote once quotation marks, ellipses and spaces are removed.
    Empty,
}

impl Archive {
    fn provision_from_row(&self, r: &Row<'_>) -> rusqlite::Result<ProvisionRow> {
        let digest = |col: &str| -> rusqlite::Result<Sha256Digest> {
            Ok(parse_digest(r.get(col)?)?.unwrap_or(Sha256Digest([0; 32])))
        };
        Ok(ProvisionRow {
            id: self.id(RecordKind::Provision, r.get::<_, i64>("num")? as u64),
            document_id: self.id(RecordKind::Document, r.get::<_, i64>("document")? as u64),
            version_id: self.id(RecordKind::Version, r.get::<_, i64>("version")? as u64),
            capture_id: self.id(RecordKind::Capture, r.get::<_, i64>("capture")? as u64),
            created_at: r.get("created_at")?,
            quote_sha256: digest("quote_sha256")?,
            text_sha256: digest("text_sha256")?,
            char_start: r.get::<_, i64>("char_start")? as u64,
            char_end: r.get::<_, i64>("char_end")? as u64,
            manifest_sha256: digest("manifest_sha256")?,
            manifest_path: r.get("manifest_path")?,
            log_index: r.get::<_, i64>("log_index")? as u64,
        })
    }

    /// A provision by number.
    pub fn provision(&self, number: u64) -> Result<ProvisionRow, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM provisions WHERE num = ?1")?;
        stmt.query_row([number as i64], |r| self.provision_from_row(r))
            .optional()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "{}: no such provision",
                    self.id(RecordKind::Provision, number)
                ))
            })
    }

    /// The provisions quoting a version, oldest first.
    pub fn provisions_of_version(
        &self,
        version: &RecordId,
    ) -> Result<Vec<ProvisionRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM provisions WHERE version = ?1 ORDER BY num")?;
        let rows = stmt.query_map([version.number() as i64], |r| self.provision_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The manifest bytes and raw signature of a provision, checked against the catalog.
    pub fn read_provision_manifest(
        &self,
        row: &ProvisionRow,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        self.read_signed(&row.id, &row.manifest_sha256)
    }

    /// Reads a record's manifest (bounded) and signature from the path its id gives, checking
    /// the bytes against the SHA-256 the catalog recorded.
    pub(crate) fn read_signed(
        &self,
        id: &RecordId,
        want: &Sha256Digest,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        // The path follows from the id; the catalog's copy is not trusted to name a file.
        let path = self.root().join(manifest_path(id));
        let bytes = fsutil::read_in_archive(&path, crate::record_files::manifest_limit(id.kind()))?;
        if Sha256Digest::of(&bytes) != *want {
            return Err(StoreError::Corrupt {
                what: path.display().to_string(),
                message: "manifest bytes differ from the SHA-256 the catalog recorded".into(),
            });
        }
        let sig = fsutil::read_in_archive(&self.root().join(signature_path(id)), 64)?;
        Ok((bytes, sig))
    }

    /// The parsed manifest of a capture (bytes checked against the catalog).
    pub fn capture_manifest(
        &self,
        row: &CaptureRow,
    ) -> Result<(CaptureManifest, Vec<u8>, Vec<u8>), StoreError> {
        let (bytes, sig) = self.read_manifest(row)?;
        let m = CaptureManifest::parse(&bytes).map_err(|e| StoreError::Corrupt {
            what: row.manifest_path.clone(),
            message: e.to_string(),
        })?;
        Ok((m, bytes, sig))
    }

    /// The extracted text with this SHA-256, read and checked.
    pub fn read_text(&self, sha256: &Sha256Digest) -> Result<String, StoreError> {
        let bytes = self.objects().read_verified(sha256, MAX_TEXT_READ)?;
        String::from_utf8(bytes).map_err(|_| StoreError::Corrupt {
            what: format!("text {sha256}"),
            message: "extracted text is not UTF-8".into(),
        })
    }

    /// The version a query names: a version id, a capture id (its version), a document id or
    /// URL (its current version), a provision id (the version it quotes) or a hash prefix.
    pub fn resolve_version(&self, query: &str) -> Result<VersionRow, StoreError> {
        let q = query.trim();
        if q.contains("://") {
            let d = self.document(q)?;
            let v = d.current_version.ok_or_else(|| {
                StoreError::NotFound(format!("{}: no successful capture yet", d.id))
            })?;
            return self.version(v.number());
        }
        let group = self.resolve_hash_group(q)?;
        let first = &group[0];
        let number = match first.id.kind() {
            RecordKind::Version => first.id.number(),
            RecordKind::Capture => {
                let c = self.capture(first.id.number())?;
                c.version_id
                    .ok_or_else(|| {
                        StoreError::NotFound(format!("{}: a failed capture has no version", c.id))
                    })?
                    .number()
            }
            RecordKind::Provision => self.provision(first.id.number())?.version_id.number(),
            RecordKind::Document | RecordKind::Reextraction => {
                let d = self.document(&first.id.to_string())?;
                d.current_version
                    .ok_or_else(|| {
                        StoreError::NotFound(format!("{}: no successful capture yet", d.id))
                    })?
                    .number()
            }
        };
        self.version(number)
    }

    /// Prepares a provision quoting `quote_text` from a version: finds the passage in the
    /// version's text (after whitespace normalisation). `occurrence` (1-based) picks one of
    /// several. The outer error is a store failure; the inner one says why the quote does not
    /// make a provision.
    #[allow(clippy::type_complexity)]
    pub fn draft_provision(
        &self,
        version: &VersionRow,
        quote_text: &str,
        occurrence: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Result<ProvisionDraft, QuoteProblem>, StoreError> {
        let opening_row = self.capture(version.opened_by.number())?;
        let (opening, bytes, _) = self.capture_manifest(&opening_row)?;
        let text_info = opening.text.clone().ok_or_else(|| {
            StoreError::NotFound(format!(
                "{}: this version has no extracted text to quote from{}",
                version.id,
                opening
                    .text_omitted
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ))
        })?;
        let text = self.read_text(&text_info.sha256)?;
        let (cleaned, _, _) = quote::clean_quote(quote_text);
        if cleaned.is_empty() {
            return Ok(Err(QuoteProblem::Empty));
        }
        let found = quote::find(&text, &cleaned);
        let chosen = match (found.len(), occurrence) {
            (0, _) => return Ok(Err(QuoteProblem::NotFound(quote::closest(&text, &cleaned)))),
            (1, None) => 0,
            (n, None) => return Ok(Err(QuoteProblem::Repeated(n))),
            (n, Some(k)) if k == 0 || k > n as u64 => {
                return Ok(Err(QuoteProblem::NoSuchOccurrence { asked: k, found: n }));
            }
            (_, Some(k)) => (k - 1) as usize,
        };
        let o = &found[chosen];
        let passage = text[o.byte_start..o.byte_end].to_owned();
        Ok(Ok(ProvisionDraft {
            opening_sha256: Sha256Digest::of(&bytes),
            opening,
            quote: Quote {
                sha256: Sha256Digest::of(passage.as_bytes()),
                text: passage,
                char_start: o.char_start as u64,
                char_end: o.char_end as u64,
                byte_start: o.byte_start as u64,
                byte_end: o.byte_end as u64,
                occurrence: chosen as u64 + 1,
            },
            created_at: now,
        }))
    }

    /// Where a passage stands in every version of a document, oldest first: the clause's
    /// stability over time.
    pub fn clause_history(
        &self,
        document: &RecordId,
        passage: &str,
    ) -> Result<Vec<ClauseInVersion>, StoreError> {
        let mut out = Vec::new();
        for v in self.versions(document)? {
            let occurrences = match &v.text_sha256 {
                Some(sha) => Some(quote::find(&self.read_text(sha)?, passage).len()),
                None => None,
            };
            out.push(ClauseInVersion {
                version: v,
                occurrences,
            });
        }
        Ok(out)
    }
}

impl Batch<'_> {
    /// Numbers, signs, logs and records a provision; durable when the batch commits.
    pub fn add_provision(&mut self, d: ProvisionDraft) -> Result<CommittedProvision, StoreError> {
        let version = d
            .opening
            .version
            .as_ref()
            .ok_or_else(|| StoreError::Rejected {
                what: d.opening.id.to_string(),
                message: "a failed capture has no version to quote".into(),
            })?;
        let text = d
            .opening
            .text
            .as_ref()
            .ok_or_else(|| StoreError::Rejected {
                what: d.opening.id.to_string(),
                message: "the capture has no extracted text".into(),
            })?;
        let (_, id) = self.fresh_id(RecordKind::Provision)?;
        let created_at = format_rfc3339_seconds(d.created_at);
        let manifest = ProvisionManifest {
            manifest_type: ProvisionType::V1,
            origin: self.origin.to_owned(),
            id: id.clone(),
            document: d.opening.document.clone(),
            version: version.id.clone(),
            capture: RecordLink {
                id: d.opening.id.clone(),
                manifest_sha256: d.opening_sha256,
            },
            text: QuotedText {
                sha256: text.sha256,
                size: text.size,
            },
            quote: d.quote.clone(),
            created_at: created_at.clone(),
            signer: self.signer.clone(),
        };
        let bytes = canonical_bytes(&id, manifest.to_canonical_bytes())?;
        let (manifest_sha256, rel, log_index) = self.write_signed(&id, &bytes)?;
        crate::catalog::rows::insert_provision(
            &self.tx,
            &manifest,
            &manifest_sha256,
            &rel,
            log_index,
        )?;
        Ok(CommittedProvision {
            provision_id: id,
            version_id: manifest.version,
            capture_id: manifest.capture.id,
            document_id: manifest.document.id,
            quote: manifest.quote.text,
            quote_sha256: manifest.quote.sha256,
            char_start: manifest.quote.char_start,
            char_end: manifest.quote.char_end,
            manifest_sha256,
            log_index,
        })
    }
}
