//! A document's extraction rules (`document rules`): checking and setting them under the
//! document's lock, and the re-extraction record a `reextract --dry-run` previews. Not for
//! extracting texts again (`exhibit-capture`'s `Capturer::plan_reextraction`) nor for storing
//! rules (`exhibit-store`'s `rules`); rendering stays in the `exhibit` binary.

use exhibit_core::manifest::ExtractionRules;
use exhibit_core::reextraction::{ReextractionManifest, ReextractionType};
use exhibit_core::{IdPrefix, RecordId, RecordKind};
use exhibit_store::{Archive, DocumentRow, ReextractionDraft, RulesChange};

use crate::OpsError;

/// A change of a document's rules asked for.
#[derive(Debug, Clone)]
pub enum RulesEdit {
    /// Back to the built-in extraction (`document rules --clear`).
    Clear,
    /// These rules from now on (`document rules --select/--remove`).
    Set(ExtractionRules),
}

impl RulesEdit {
    /// The rules the edit sets, and how the history will say they were set.
    fn into_rules(self) -> (ExtractionRules, &'static str) {
        match self {
            RulesEdit::Clear => (ExtractionRules::default(), "document rules --clear"),
            RulesEdit::Set(rules) => (rules, "document rules"),
        }
    }
}

/// A document's rules after [`edit`].
#[derive(Debug, Clone)]
pub struct DocumentRules {
    /// The document.
    pub document: DocumentRow,
    /// Whether an edit was asked for.
    pub edited: bool,
    /// Whether the edit changed the rules (false when they were already these).
    pub changed: bool,
    /// The rules now in force (empty: the built-in extraction).
    pub current: ExtractionRules,
    /// Every change of the document's rules, oldest first.
    pub history: Vec<RulesChange>,
}

/// Applies `edit` (if any) to the rules of `document` (an id or URL) and returns them with
/// their history. New rules are checked first (bad input when a selector is unusable); the
/// change is made under the document's lock, so a capture of the document in flight finishes
/// with the rules it started with.
pub fn edit(
    archive: &mut Archive,
    document: &str,
    edit: Option<RulesEdit>,
) -> Result<DocumentRules, OpsError> {
    let doc = archive.document(document)?;
    if let Some(RulesEdit::Set(rules)) = &edit {
        exhibit_text::check_rules(rules).map_err(OpsError::bad_input)?;
    }
    let edited = edit.is_some();
    let changed = match edit {
        Some(edit) => {
            let (rules, how) = edit.into_rules();
            let _lock = archive.lock_document(&doc.url)?;
            archive.set_rules(&doc.id, &rules, how, chrono::Utc::now())?
        }
        None => false,
    };
    let current = archive.rules_of(&doc.id)?.unwrap_or_default();
    let history = archive.rules_history(&doc.id)?;
    Ok(DocumentRules {
        document: doc,
        edited,
        changed,
        current,
        history,
    })
}

/// The re-extraction record `draft` would become, unsigned and unnumbered (origin and signer
/// empty, number 0): what `reextract --dry-run` shows. `document` is the document re-extracted
/// (its prefix numbers the record).
pub fn preview(
    document: &RecordId,
    draft: ReextractionDraft,
) -> Result<ReextractionManifest, OpsError> {
    let prefix =
        IdPrefix::new(document.prefix()).map_err(|e| OpsError::bad_input(e.to_string()))?;
    Ok(ReextractionManifest {
        manifest_type: ReextractionType::V1,
        origin: String::new(),
        id: RecordId::new(&prefix, RecordKind::Reextraction, 0),
        document: draft.document,
        extractor: draft.extractor,
        captures: draft.captures,
        versions: draft.versions,
        created_at: exhibit_core::time::format_rfc3339_seconds(draft.created_at),
        signer: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use exhibit_core::manifest::{DocumentRef, Extractor};

    #[test]
    fn a_preview_is_unsigned_unnumbered_and_dated_by_its_draft() {
        let prefix = IdPrefix::default();
        let document = RecordId::new(&prefix, RecordKind::Document, 3);
        let created_at = chrono::DateTime::from_timestamp(1_780_000_000, 0).expect("a time");
        let draft = ReextractionDraft {
            document: DocumentRef {
                id: document.clone(),
                url: "https://example.org/privacy".into(),
                entity: None,
                title: None,
            },
            extractor: Extractor {
                name: "exhibit-text".into(),
                version: "1".into(),
                rules: None,
            },
            captures: Vec::new(),
            versions: Vec::new(),
            current_key: None,
            created_at,
        };
        let preview = preview(&document, draft).expect("a preview");
        assert_eq!(
            preview.id,
            RecordId::new(&prefix, RecordKind::Reextraction, 0)
        );
        assert!(preview.origin.is_empty() && preview.signer.is_empty());
        assert_eq!(preview.document.id, document);
        assert_eq!(
            preview.created_at,
            exhibit_core::time::format_rfc3339_seconds(created_at)
        );
    }
}
