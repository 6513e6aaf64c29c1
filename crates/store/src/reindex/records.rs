//! Reindex step 5 (docs/FORMAT.md §7.1): verifying one logged manifest and indexing it as
//! the write path recorded it — a capture by the chain rules (`exhibit_core::chain`), a
//! provision against the capture it quotes, a re-extraction against the captures it lists —
//! with every row written by `catalog::rows`.
//!
//! Not here: finding and placing the manifests, the log and its checkpoints, crash leftovers
//! and replacing the catalog (the parent module).

use exhibit_core::chain::{ChainViolation, version_key};
use exhibit_core::manifest::{CaptureManifest, Change, ExtractionRules, RecordLink};
use exhibit_core::merkle::{self, Hash};
use exhibit_core::provision::ProvisionManifest;
use exhibit_core::reextraction::ReextractionManifest;
use exhibit_core::{RecordId, RecordKind, Sha256Digest};
use rusqlite::{OptionalExtension, params};

use super::{Builder, KINDS, corrupt, kind_index};
use crate::catalog::rows;
use crate::{StoreError, fsutil};

impl Builder<'_> {
    /// Verifies one logged manifest (signature, canonical form, origin, signer, id, numbering)
    /// and indexes it.
    pub(super) fn index_manifest(
        &mut self,
        rel: &str,
        idx: u64,
        leaf: &Hash,
    ) -> Result<(), StoreError> {
        let path = self.root.join(rel);
        let kind_pos = kind_index(rel)?;
        let kind = KINDS[kind_pos];
        let id = self.id_of(&path, kind)?;
        let bytes = fsutil::read_in_archive(&path, crate::record_files::manifest_limit(kind))?;
        if merkle::leaf_hash(&bytes) != *leaf {
            return Err(corrupt(rel, "changed while reindexing"));
        }
        let sig = self
            .read_sig(&id)?
            .ok_or_else(|| corrupt(rel, "signature file (.json.sig) missing"))?;
        // The key that signs this leaf, by the key history: a retired key's signature at a
        // later position is not the archive's.
        let era = self.keys.key_for_leaf(idx);
        era.key.verify(&bytes, &sig).map_err(|_| {
            corrupt(
                rel,
                format!(
                    "signature does not verify with {}, the archive key that signs log leaf {idx}",
                    era.fingerprint
                ),
            )
        })?;
        let signer_of_leaf = era.fingerprint.clone();
        if id.number() <= self.last_num[kind_pos] {
            return Err(corrupt(
                rel,
                format!(
                    "log leaf {idx}: {id} comes after {} in the log (numbers follow commit order)",
                    RecordId::new(self.prefix, kind, self.last_num[kind_pos])
                ),
            ));
        }
        self.last_num[kind_pos] = id.number();
        let sha = Sha256Digest::of(&bytes);
        let bad = |e: &dyn std::fmt::Display| corrupt(rel, format!("not a valid manifest: {e}"));
        match kind {
            RecordKind::Capture => {
                let m = CaptureManifest::parse(&bytes).map_err(|e| bad(&e))?;
                self.check_header(rel, (&m.origin, &m.signer, &m.id), &id, &signer_of_leaf)?;
                self.index_capture(rel, &m, &sha, idx)
            }
            RecordKind::Provision => {
                let m = ProvisionManifest::parse(&bytes).map_err(|e| bad(&e))?;
                self.check_header(rel, (&m.origin, &m.signer, &m.id), &id, &signer_of_leaf)?;
                self.index_provision(rel, &m, &sha, idx)
            }
            _ => {
                let m = ReextractionManifest::parse(&bytes).map_err(|e| bad(&e))?;
                self.check_header(rel, (&m.origin, &m.signer, &m.id), &id, &signer_of_leaf)?;
                self.index_reextraction(rel, &m, &sha, idx)
            }
        }
    }

    fn check_header(
        &self,
        rel: &str,
        (origin, signer, inner): (&String, &String, &RecordId),
        id: &RecordId,
        signer_of_leaf: &str,
    ) -> Result<(), StoreError> {
        if origin != self.origin {
            return Err(corrupt(
                rel,
                format!("origin {origin:?} is not the archive's {:?}", self.origin),
            ));
        }
        if signer != signer_of_leaf {
            return Err(corrupt(
                rel,
                format!(
                    "signer {} is not the archive key {signer_of_leaf}",
                    exhibit_core::inert(signer)
                ),
            ));
        }
        if inner != id {
            return Err(corrupt(rel, format!("holds the manifest of {inner}")));
        }
        Ok(())
    }

    fn need_object(&self, rel: &str, sha: &Sha256Digest, what: &str) -> Result<(), StoreError> {
        if self.objects.contains(sha) {
            return Ok(());
        }
        Err(corrupt(
            rel,
            format!(
                "{what} object {} is missing",
                self.rel(&self.objects.path_of(sha))
            ),
        ))
    }

    fn remember_rules(
        &self,
        document: u64,
        rules: Option<&ExtractionRules>,
        at: &str,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(&rules.cloned().unwrap_or_default())
            .map_err(|e| corrupt("rules", e.to_string()))?;
        self.conn
            .prepare_cached(
                "INSERT INTO rules_seen (document, rules, at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (document) DO UPDATE SET rules = excluded.rules, at = excluded.at",
            )?
            .execute(params![document as i64, json, at])?;
        Ok(())
    }

    fn index_capture(
        &mut self,
        rel: &str,
        m: &CaptureManifest,
        sha: &Sha256Digest,
        idx: u64,
    ) -> Result<(), StoreError> {
        let doc_num = m.document.id.number() as i64;
        // The document: created by its first capture, its number fixed by it.
        let doc: Option<(String, Option<i64>, Option<i64>)> = self
            .conn
            .prepare_cached(
                "SELECT url, current_version, last_capture FROM documents WHERE num = ?1",
            )?
            .query_row([doc_num], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let (current_version, last_capture) = match doc {
            Some((url, cv, lc)) => {
                if url != m.document.url {
                    return Err(corrupt(
                        rel,
                        format!(
                            "{} is {url} in earlier manifests, not {}",
                            m.document.id, m.document.url
                        ),
                    ));
                }
                (cv, lc)
            }
            None => {
                rows::insert_document(self.conn, doc_num as u64, &m.document.url, &m.captured_at)
                    .map_err(|_| {
                    corrupt(
                        rel,
                        format!(
                            "{} is already document {}",
                            m.document.url,
                            self.document_of_url(&m.document.url)
                        ),
                    )
                })?;
                (None, None)
            }
        };
        // The chain rules (docs/FORMAT.md §9), as the write path applied them; a failure is
        // in the capture chain only, so its document's current version is not read.
        let chain = rows::document_chain(
            self.conn,
            self.prefix,
            last_capture.map(|n| n as u64),
            current_version
                .filter(|_| m.version.is_some())
                .map(|n| n as u64),
        )?;
        let mut violations = chain.check(m).into_iter().peekable();
        if let Some(ChainViolation::PreviousCapture { found, expected }) =
            violations.next_if(|v| matches!(v, ChainViolation::PreviousCapture { .. }))
        {
            return Err(corrupt(
                rel,
                format!(
                    "previous_capture is {} but the document's previous capture in the log is {}",
                    link(&found),
                    link(&expected.map(|p| p.link()))
                ),
            ));
        }
        for object in m.objects() {
            self.need_object(rel, &object.sha256, object.role.name())?;
        }
        if let Some(t) = &m.text {
            self.remember_rules(doc_num as u64, t.extractor.rules.as_ref(), &m.captured_at)?;
        }
        // The version chain.
        if let Some(v) = &m.version {
            let key = version_key(m.text.as_ref(), m.content.as_ref())
                .ok_or_else(|| corrupt(rel, "a capture without content"))?;
            match violations.next() {
                Some(ChainViolation::Unchanged {
                    version,
                    opened_by,
                    current,
                }) => {
                    return Err(corrupt(
                        rel,
                        format!(
                            "confirms {version} opened by {} but the document's current version \
                             in the log is {} opened by {}",
                            link(&opened_by),
                            current.as_ref().map_or("none".into(), |c| c.id.to_string()),
                            link(&current.map(|c| c.opened_by.link()))
                        ),
                    ));
                }
                Some(ChainViolation::VersionPrevious {
                    found, expected, ..
                }) => {
                    return Err(corrupt(
                        rel,
                        format!(
                            "version.previous is {} but the document's current version in \
                             the log is {}",
                            link(&found),
                            link(&expected.map(|p| p.link()))
                        ),
                    ));
                }
                _ => {}
            }
            rows::record_version(self.conn, m, &key, sha).map_err(|e| {
                if v.change == Change::New {
                    corrupt(rel, format!("{} was opened before", v.id))
                } else {
                    e.into()
                }
            })?;
        }
        rows::insert_capture(self.conn, m, sha, rel, idx)?;
        rows::update_document(self.conn, m)?;
        Ok(())
    }

    fn document_of_url(&self, url: &str) -> String {
        self.conn
            .query_row("SELECT num FROM documents WHERE url = ?1", [url], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| RecordId::new(self.prefix, RecordKind::Document, n as u64).to_string())
            .unwrap_or_else(|_| "another document".into())
    }

    fn capture_sha(&self, num: i64) -> Result<Sha256Digest, StoreError> {
        let s: String = self
            .conn
            .prepare_cached("SELECT manifest_sha256 FROM captures WHERE num = ?1")?
            .query_row([num], |r| r.get(0))?;
        crate::catalog::parse_catalog_digest(&s)
    }

    fn index_provision(
        &mut self,
        rel: &str,
        m: &ProvisionManifest,
        sha: &Sha256Digest,
        idx: u64,
    ) -> Result<(), StoreError> {
        // The opening-capture rule (FORMAT §3.8) has one definition, `check_opening`; here it
        // is applied to the capture manifest the log holds under the pinned id (indexed
        // earlier in this rebuild, so its catalog row names its verified file).
        let opening: Option<String> = self
            .conn
            .query_row(
                "SELECT manifest_path FROM captures WHERE num = ?1",
                [m.capture.id.number() as i64],
                |r| r.get(0),
            )
            .optional()?;
        let consistent = match opening {
            Some(opening_rel) => {
                let bytes = fsutil::read_in_archive(
                    &self.root.join(&opening_rel),
                    crate::record_files::manifest_limit(RecordKind::Capture),
                )?;
                CaptureManifest::parse(&bytes).is_ok_and(|opening| {
                    opening.id == m.capture.id
                        && m.check_opening(&Sha256Digest::of(&bytes), &opening).is_ok()
                })
            }
            None => false,
        };
        if !consistent {
            return Err(corrupt(
                rel,
                format!(
                    "quotes {} of {} through {}, which the log does not hold as such",
                    m.version,
                    m.document.id,
                    link(&Some(m.capture.clone()))
                ),
            ));
        }
        self.need_object(rel, &m.text.sha256, "text")?;
        rows::insert_provision(self.conn, m, sha, rel, idx)?;
        Ok(())
    }

    fn index_reextraction(
        &mut self,
        rel: &str,
        m: &ReextractionManifest,
        sha: &Sha256Digest,
        idx: u64,
    ) -> Result<(), StoreError> {
        let doc = m.document.id.number() as i64;
        let current: Option<Option<i64>> = self
            .conn
            .query_row(
                "SELECT current_version FROM documents WHERE num = ?1 AND url = ?2",
                params![doc, m.document.url],
                |r| r.get(0),
            )
            .optional()?;
        let Some(current) = current else {
            return Err(corrupt(
                rel,
                format!(
                    "re-extracts {} ({}), which no earlier capture in the log records",
                    m.document.id, m.document.url
                ),
            ));
        };
        for c in &m.captures {
            let known = self.capture_sha(c.id.number() as i64).ok();
            if known != Some(c.manifest_sha256) {
                return Err(corrupt(
                    rel,
                    format!("lists {} with a manifest the log does not hold", c.id),
                ));
            }
            if let Some(t) = &c.new_text_sha256 {
                self.need_object(rel, t, "re-extracted text")?;
            }
        }
        rows::insert_reextraction(self.conn, m, sha, rel, idx)?;
        // From then on the current version is compared with the last run's key (§3.9).
        if let (Some(version), Some(run)) = (current, m.versions.last()) {
            rows::set_version_key(self.conn, version as u64, &run.key_sha256)?;
        }
        self.remember_rules(doc as u64, m.extractor.rules.as_ref(), &m.created_at)?;
        Ok(())
    }
}

/// A link as messages show it: id and short manifest hash, or `none`.
fn link(l: &Option<RecordLink>) -> String {
    match l {
        Some(l) => format!("{} ({})", l.id, l.manifest_sha256.short(12)),
        None => "none".into(),
    }
}
