//! Extraction rules per document, their history, and re-extraction records.
//!
//! The rules in force are named in every capture manifest (`text.extractor.rules`), so the
//! signed record says how each text was made. The catalog keeps the current rules and every
//! change (`document_rules`), so that later captures apply them.
//!
//! Reading the rules in force and recording a change is plain SQL in
//! `catalog::document_state` (the capture path in `batch.rs` uses it too); this file adds the
//! [`Archive`] methods around it and writes re-extraction records into a [`Batch`].

use chrono::{DateTime, Utc};
use exhibit_core::manifest::{DocumentRef, ExtractionRules, Extractor};
use exhibit_core::reextraction::{
    NewVersion, ReextractedCapture, ReextractionManifest, ReextractionType,
};
use exhibit_core::time::format_rfc3339_seconds;
use exhibit_core::{RecordId, RecordKind, Sha256Digest};
use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::batch::canonical_bytes;
use crate::catalog::document_state::{
    current_rules, previous_content_in, record_rules_change, rules_for_url_in,
};
use crate::catalog::{parse_catalog_digest, rows};
use crate::{Archive, Batch, StoreError};

/// One change of a document's rules.
#[derive(Debug, Clone, Serialize)]
pub struct RulesChange {
    /// The rules from then on (empty: none).
    pub rules: ExtractionRules,
    /// When they were set.
    pub set_at: String,
    /// How (`capture --select/--remove`, `document rules`, `document rules --clear`).
    pub how: String,
}

/// A re-extraction record as the catalog knows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReextractionRow {
    /// The record id.
    pub id: RecordId,
    /// Its document.
    pub document_id: RecordId,
    /// When it was recorded.
    pub created_at: String,
    /// SHA-256 of its manifest.
    pub manifest_sha256: Sha256Digest,
    /// Manifest path relative to the archive root.
    pub manifest_path: String,
    /// Its leaf in the log.
    pub log_index: u64,
}

impl Archive {
    /// The extraction rules of the document with this (normalised) URL; `None` when the
    /// document is new or has none.
    pub fn rules_for_url(&self, url: &str) -> Result<Option<ExtractionRules>, StoreError> {
        rules_for_url_in(&self.conn, url)
    }

    /// The content SHA-256 of the document `url`'s latest capture with content, if any (a
    /// reference hint for the new capture's object, docs/FORMAT.md §6).
    pub fn previous_content(&self, url: &str) -> Result<Option<Sha256Digest>, StoreError> {
        previous_content_in(&self.conn, url)
    }

    /// A document's current rules (`None`: none).
    pub fn rules_of(&self, document: &RecordId) -> Result<Option<ExtractionRules>, StoreError> {
        current_rules(&self.conn, document.number())
    }

    /// Every change of a document's rules, oldest first.
    pub fn rules_history(&self, document: &RecordId) -> Result<Vec<RulesChange>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rules, set_at, how FROM document_rules WHERE document = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([document.number() as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (json, set_at, how) = row?;
            let rules = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                what: "catalog document_rules".into(),
                message: e.to_string(),
            })?;
            out.push(RulesChange { rules, set_at, how });
        }
        Ok(out)
    }

    /// Sets a document's rules (one write transaction). Returns whether they changed.
    pub fn set_rules(
        &mut self,
        document: &RecordId,
        rules: &ExtractionRules,
        how: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = record_rules_change(
            &tx,
            document.number(),
            rules,
            &format_rfc3339_seconds(at),
            how,
        )?;
        tx.commit()?;
        Ok(changed)
    }

    /// A re-extraction record by number.
    pub fn reextraction(&self, number: u64) -> Result<ReextractionRow, StoreError> {
        self.conn
            .query_row(
                "SELECT num, document, created_at, manifest_sha256, manifest_path, log_index \
                 FROM reextractions WHERE num = ?1",
                [number as i64],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?
            .map(|(num, doc, created_at, sha, path, log_index)| {
                Ok(ReextractionRow {
                    id: self.id(RecordKind::Reextraction, num as u64),
                    document_id: self.id(RecordKind::Document, doc as u64),
                    created_at,
                    manifest_sha256: parse_catalog_digest(&sha)?,
                    manifest_path: path,
                    log_index: log_index as u64,
                })
            })
            .unwrap_or_else(|| {
                Err(StoreError::NotFound(format!(
                    "{}: no such re-extraction record",
                    self.id(RecordKind::Reextraction, number)
                )))
            })
    }

    /// The manifest bytes and signature of a re-extraction record, checked against the catalog.
    pub fn read_reextraction_manifest(
        &self,
        row: &ReextractionRow,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        self.read_signed(&row.id, &row.manifest_sha256)
    }
}

/// What a re-extraction found, before it is signed.
#[derive(Debug, Clone)]
pub struct ReextractionDraft {
    /// The document, as it is described now.
    pub document: DocumentRef,
    /// The extractor and rules used.
    pub extractor: Extractor,
    /// Every successful capture, in order.
    pub captures: Vec<ReextractedCapture>,
    /// The new grouping.
    pub versions: Vec<NewVersion>,
    /// For the current version: the key (new text hash) later captures are compared with.
    pub current_key: Option<(RecordId, Sha256Digest)>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A committed re-extraction record.
#[derive(Debug, Clone, Serialize)]
pub struct CommittedReextraction {
    /// Its id.
    pub id: RecordId,
    /// SHA-256 of its manifest.
    pub manifest_sha256: Sha256Digest,
    /// Its leaf in the log.
    pub log_index: u64,
}

impl Batch<'_> {
    /// Signs, logs and records a re-extraction; from then on the document's current version is
    /// compared with its re-extracted text (the record says so). Durable at commit.
    pub fn add_reextraction(
        &mut self,
        d: ReextractionDraft,
    ) -> Result<(ReextractionManifest, CommittedReextraction), StoreError> {
        let (_, id) = self.fresh_id(RecordKind::Reextraction)?;
        let manifest = ReextractionManifest {
            manifest_type: ReextractionType::V1,
            origin: self.origin.to_owned(),
            id: id.clone(),
            document: d.document,
            extractor: d.extractor,
            captures: d.captures,
            versions: d.versions,
            created_at: format_rfc3339_seconds(d.created_at),
            signer: self.signer.clone(),
        };
        let bytes = canonical_bytes(&id, manifest.to_canonical_bytes())?;
        let (manifest_sha256, rel, log_index) = self.write_signed(&id, &bytes)?;
        rows::insert_reextraction(&self.tx, &manifest, &manifest_sha256, &rel, log_index)?;
        if let Some((version, key)) = d.current_key {
            rows::set_version_key(&self.tx, version.number(), &key)?;
        }
        Ok((
            manifest,
            CommittedReextraction {
                id,
                manifest_sha256,
                log_index,
            },
        ))
    }
}
