//! A document's versions as the signed manifests state them: its timeline, each version with
//! the size of the change from the one before ([`crate::measure`]), and a version's text for
//! comparing. Versions are read a page at a time and texts a pair at a time, so a long history
//! needs no more memory than its two largest consecutive texts. Not for rendering the
//! timeline.

use exhibit_core::{RecordId, Sha256Digest};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, DocumentRow, VersionRow};
use serde::Serialize;

use crate::OpsError;
use crate::measure::{change_size, count_words};

/// Versions are read from the catalog this many at a time.
const VERSION_PAGE: u64 = 256;

/// How a version differs from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The document's first version.
    First,
    /// Both texts were compared.
    Text,
    /// A side has no text: only the content hashes tell the versions apart.
    Content,
}

/// The version before an entry, as the timeline keeps it.
#[derive(Debug, Clone)]
pub struct PreviousVersion {
    /// Its id.
    pub id: RecordId,
    /// SHA-256 of the bytes its opening capture stored.
    pub content_sha256: Option<Sha256Digest>,
}

/// One version of a document's timeline (serialised as `history --json` has it).
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// The version.
    pub id: RecordId,
    /// When it was first captured.
    pub first_seen: String,
    /// When it was last captured.
    pub last_seen: String,
    /// How many captures confirm it.
    pub captures: u64,
    /// The capture that opened it.
    pub opened_by: RecordId,
    /// SHA-256 of its extracted text.
    pub text_sha256: Option<Sha256Digest>,
    /// SHA-256 of the bytes the opening capture stored.
    pub content_sha256: Option<Sha256Digest>,
    /// The media type of those bytes.
    pub media_type: Option<String>,
    /// Words in this version's text (null without text).
    pub words: Option<u64>,
    /// `first`, `text` (both texts compared) or `content` (a side has no text: only the
    /// content hashes tell the versions apart).
    pub change: ChangeKind,
    /// Words added since the previous version (texts compared only).
    pub words_added: Option<u64>,
    /// Words removed since the previous version.
    pub words_removed: Option<u64>,
    /// Lines added since the previous version.
    pub lines_added: Option<u64>,
    /// Lines removed since the previous version.
    pub lines_removed: Option<u64>,
    /// The version before it.
    #[serde(skip)]
    pub previous: Option<PreviousVersion>,
}

/// Walks the versions of document `d`, oldest first, handing each entry to `on_entry` as it is
/// computed. Content hashes and texts are the opening captures' signed manifests'. Returns the
/// latest pair of consecutive versions whose texts were compared.
pub fn walk<E: From<OpsError>>(
    archive: &Archive,
    d: &DocumentRow,
    public: &KeyHistory,
    mut on_entry: impl FnMut(&HistoryEntry) -> Result<(), E>,
) -> Result<Option<(RecordId, RecordId)>, E> {
    let ops = |e: exhibit_store::StoreError| E::from(OpsError::from(e));
    let mut previous: Option<(PreviousVersion, Option<String>)> = None;
    let mut latest_change: Option<(RecordId, RecordId)> = None;
    let mut after = 0;
    loop {
        let page = archive
            .versions_page(&d.id, after, VERSION_PAGE)
            .map_err(ops)?;
        let Some(last) = page.last() else { break };
        after = last.id.number();
        for v in page {
            // Content hash and text as the opening capture's signed manifest has them.
            let signed = archive.signed_opening(&v, public).map_err(ops)?;
            let content = signed.manifest.content.as_ref();
            let content_sha256 = content.map(|c| c.sha256);
            let media_type = content.map(|c| c.media_type.clone());
            let text = match &v.text_sha256 {
                Some(sha) => Some(archive.read_text(sha).map_err(ops)?),
                None => None,
            };
            let words = text.as_deref().map(count_words);
            let (change, size) = match (&previous, &text) {
                (None, _) => (ChangeKind::First, None),
                (Some((_, Some(a))), Some(b)) => (ChangeKind::Text, Some(change_size(a, b))),
                (Some(_), _) => (ChangeKind::Content, None),
            };
            let this = PreviousVersion {
                id: v.id.clone(),
                content_sha256,
            };
            let entry = HistoryEntry {
                id: v.id,
                first_seen: v.first_seen,
                last_seen: v.last_seen,
                captures: v.captures,
                opened_by: v.opened_by,
                text_sha256: v.text_sha256,
                content_sha256,
                media_type,
                words,
                change,
                words_added: size.map(|s| s.words_added),
                words_removed: size.map(|s| s.words_removed),
                lines_added: size.map(|s| s.lines_added),
                lines_removed: size.map(|s| s.lines_removed),
                previous: previous.take().map(|(p, _)| p),
            };
            on_entry(&entry)?;
            if let (Some(p), ChangeKind::Text) = (&entry.previous, change) {
                latest_change = Some((p.id.clone(), entry.id.clone()));
            }
            previous = Some((this, text));
        }
    }
    Ok(latest_change)
}

/// Why a version has no text to compare.
pub struct NoText {
    /// The version.
    pub version: RecordId,
    /// The media type its opening capture recorded.
    pub media_type: Option<String>,
    /// Its opening capture.
    pub opened_by: RecordId,
}

/// A version's extracted text, or why there is none. The text hash is checked against the
/// opening capture's signed manifest first (an error if the catalog disagrees), and the text's
/// bytes against that hash.
pub fn version_text(
    archive: &Archive,
    v: &VersionRow,
    public: &KeyHistory,
) -> Result<Result<String, NoText>, OpsError> {
    archive.signed_opening(v, public)?;
    match &v.text_sha256 {
        Some(sha) => Ok(Ok(archive.read_text(sha)?)),
        None => {
            let opening = archive.capture(v.opened_by.number())?;
            Ok(Err(NoText {
                version: v.id.clone(),
                media_type: opening.media_type,
                opened_by: v.opened_by.clone(),
            }))
        }
    }
}
