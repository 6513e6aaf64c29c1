//! Re-extraction: the texts a document's stored bytes give under its current rules and the
//! current extractor, and how its captures would group into versions.

use exhibit_core::RecordId;
use exhibit_core::manifest::{DocumentRef, Extractor};
use exhibit_core::reextraction::{NewVersion, ReextractedCapture};
use exhibit_store::ReextractionDraft;
use exhibit_text as text;

use crate::{CaptureError, Capturer};

impl Capturer<'_> {
    /// Extracts every successful capture of `document` again from its stored bytes and groups
    /// the captures into versions by the new texts. With `store_texts`, the new texts are
    /// stored as objects (so `cat` can show them); otherwise nothing is written.
    pub fn plan_reextraction(
        &self,
        document: &RecordId,
        store_texts: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ReextractionDraft, CaptureError> {
        let archive = &*self.archive;
        let doc = archive.document(&document.to_string())?;
        let rules = archive.rules_of(&doc.id)?.unwrap_or_default();
        let mut rows = archive.captures(u64::MAX >> 1, None, Some(doc.id.number()))?;
        rows.reverse();
        let mut captures = Vec::new();
        let mut keys = Vec::new();
        for row in rows.iter().filter(|r| r.ok) {
            let (m, bytes, _) = archive.capture_manifest(row)?;
            let (Some(content), Some(version)) = (&m.content, &m.version) else {
                continue;
            };
            let new_text = if content.size <= self.settings.max_text_bytes
                && crate::has_text(&content.media_type)
            {
                let raw = archive
                    .objects()
                    .read_verified(&content.sha256, content.size)?;
                let charset = m
                    .http
                    .as_ref()
                    .and_then(|h| h.headers.get("content-type"))
                    .and_then(|ct| crate::acquire::split_content_type(Some(ct)).1);
                match text::extract_with(&raw, &content.media_type, charset.as_deref(), &rules) {
                    Some(e) if store_texts => {
                        Some(archive.objects().put(e.text.as_bytes())?.sha256)
                    }
                    Some(e) => Some(exhibit_core::Sha256Digest::of(e.text.as_bytes())),
                    None => None,
                }
            } else {
                None
            };
            keys.push(new_text.unwrap_or(content.sha256));
            captures.push(ReextractedCapture {
                id: m.id.clone(),
                manifest_sha256: exhibit_core::Sha256Digest::of(&bytes),
                old_version: version.id.clone(),
                old_text_sha256: m.text.as_ref().map(|t| t.sha256),
                new_text_sha256: new_text,
            });
        }
        let mut versions: Vec<NewVersion> = Vec::new();
        for (c, key) in captures.iter().zip(&keys) {
            match versions.last_mut() {
                Some(v) if v.key_sha256 == *key => {
                    v.last = c.id.clone();
                    v.captures += 1;
                    if v.old_versions.last() != Some(&c.old_version) {
                        v.old_versions.push(c.old_version.clone());
                    }
                }
                _ => versions.push(NewVersion {
                    key_sha256: *key,
                    first: c.id.clone(),
                    last: c.id.clone(),
                    captures: 1,
                    old_versions: vec![c.old_version.clone()],
                }),
            }
        }
        let current_key = match (&doc.current_version, keys.last()) {
            (Some(v), Some(k)) => Some((v.clone(), *k)),
            _ => None,
        };
        Ok(ReextractionDraft {
            document: DocumentRef {
                id: doc.id,
                url: doc.url,
                entity: doc.entity,
                title: doc.title,
            },
            extractor: Extractor {
                name: text::EXTRACTOR_NAME.to_owned(),
                version: text::EXTRACTOR_VERSION.to_owned(),
                rules: (!rules.is_empty()).then_some(rules),
            },
            captures,
            versions,
            current_key,
            created_at: now,
        })
    }

    /// Signs and records a re-extraction (one batch), then a checkpoint.
    pub fn record_reextraction(
        &mut self,
        draft: ReextractionDraft,
    ) -> Result<
        (
            exhibit_core::reextraction::ReextractionManifest,
            exhibit_store::CommittedReextraction,
        ),
        CaptureError,
    > {
        let key = &self.key;
        let mut batch = self.archive.begin(key)?;
        let out = batch.add_reextraction(draft)?;
        batch.commit()?;
        self.archive.sign_checkpoint(key)?;
        Ok(out)
    }
}
