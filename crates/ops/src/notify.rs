//! The change notification of a new version (`exhibit.change-notification/v1`, docs/FORMAT.md
//! "Change notifications"): what a webhook is told when a capture opens a new version of a
//! document, built from the archive's signed records and rendered as the RFC 8785 canonical
//! bytes that are signed and POSTed.
//!
//! Pure: the archive is only read, the time is the caller's, nothing is printed or sent. Which
//! webhooks there are, the outbox and delivery are `exhibit_capture::notify`'s; the change is
//! measured as everywhere else ([`crate::measure`]), over the texts [`crate::history`] reads.

use exhibit_core::{RecordId, Sha256Digest};
use exhibit_sign::history::KeyHistory;
use exhibit_store::{Archive, CommittedCapture, VersionRow};
use serde::Serialize;

use crate::OpsError;
use crate::measure::{Hunk, HunkOptions, PieceTag, compare};

/// The `type` of every notification of this schema.
pub const NOTIFICATION_TYPE: &str = "exhibit.change-notification/v1";

/// The most bytes of unified diff a notification carries; a longer diff is cut at a line
/// boundary and marked `truncated`.
pub const MAX_DIFF_BYTES: usize = 4096;

/// Lines of context around each change in the diff (as `diff -u`).
pub const DIFF_CONTEXT: usize = 3;

/// A change notification (serialised as its JSON form).
#[derive(Debug, Clone, Serialize)]
pub struct ChangeNotification {
    /// [`NOTIFICATION_TYPE`].
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The delivery id: the new version's id (receivers deduplicate on it).
    pub id: RecordId,
    /// The archive that sends it.
    pub archive: ArchiveInfo,
    /// The document, as the new capture's signed manifest names it.
    pub document: DocumentInfo,
    /// The version that was current before.
    pub old_version: VersionInfo,
    /// The version the capture opened.
    pub new_version: VersionInfo,
    /// The capture that opened the new version.
    pub capture: CaptureInfo,
    /// How much changed, and the diff.
    pub change: ChangeInfo,
    /// Pages of `exhibit serve` about it, for webhooks configured with a links base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// When the notification was made (RFC 3339 UTC, seconds).
    pub created_at: String,
}

/// `archive`: who sends the notification.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveInfo {
    /// The archive's origin (its log's name).
    pub origin: String,
    /// The fingerprint (`SHA256:…`) of the key that signs the notification: the archive's
    /// signing key when it was made.
    pub key: String,
}

/// `document`.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentInfo {
    /// The document id.
    pub id: RecordId,
    /// Its normalised URL.
    pub url: String,
    /// Its entity, if known.
    pub entity: Option<String>,
    /// Its title, if known.
    pub title: Option<String>,
}

/// `old_version` and `new_version`.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// The version id.
    pub id: RecordId,
    /// When it was first captured.
    pub first_seen: String,
    /// SHA-256 of the bytes its opening capture stored.
    pub content_sha256: Option<Sha256Digest>,
    /// SHA-256 of its extracted text (null for media without text).
    pub text_sha256: Option<Sha256Digest>,
}

/// `capture`: the capture that opened the new version.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureInfo {
    /// The capture id.
    pub id: RecordId,
    /// When it was captured.
    pub captured_at: String,
    /// SHA-256 of the captured bytes.
    pub sha256: Option<Sha256Digest>,
    /// SHA-256 of its signed manifest.
    pub manifest_sha256: Sha256Digest,
    /// The manifest's leaf index in the archive's log.
    pub log_index: u64,
}

/// `change`: measured as `exhibit history` and `exhibit diff` measure it; every field null
/// (and `truncated` false) when either version has no text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeInfo {
    /// Words added.
    pub words_added: Option<u64>,
    /// Words removed.
    pub words_removed: Option<u64>,
    /// Lines added.
    pub lines_added: Option<u64>,
    /// Lines removed.
    pub lines_removed: Option<u64>,
    /// A unified line diff of the two texts, at most [`MAX_DIFF_BYTES`] bytes.
    pub diff: Option<String>,
    /// Whether the diff was cut.
    pub truncated: bool,
}

/// `links`.
#[derive(Debug, Clone, Serialize)]
pub struct Links {
    /// `BASE/records/<capture id>`.
    pub record: String,
    /// `BASE/diff?from=<old version>&to=<new version>`.
    pub diff: String,
    /// `BASE/documents/<document id>`.
    pub document: String,
}

impl ChangeNotification {
    /// The notification of the version `c` opened, made at `created_at` and to be signed by
    /// the key with fingerprint `key`; `None` when `c` opened no new version of a document that
    /// had one before (a document's first version is not a change). Everything is read from
    /// the signed manifests (checked against `public`), not from the catalog alone.
    pub fn of_capture(
        archive: &Archive,
        public: &KeyHistory,
        c: &CommittedCapture,
        key: &str,
        created_at: &str,
    ) -> Result<Option<ChangeNotification>, OpsError> {
        let (Some(new_id), Some(old_id), true) = (&c.version_id, &c.previous_version_id, c.changed)
        else {
            return Ok(None);
        };
        let new = archive.version(new_id.number())?;
        let old = archive.version(old_id.number())?;
        Self::of_version(archive, public, &new, &old, key, created_at).map(Some)
    }

    /// The notification of version `new`, which replaced `old`: its document and its opening
    /// capture as their signed manifests state them.
    pub fn of_version(
        archive: &Archive,
        public: &KeyHistory,
        new: &VersionRow,
        old: &VersionRow,
        key: &str,
        created_at: &str,
    ) -> Result<ChangeNotification, OpsError> {
        let capture = archive.signed_opening(new, public)?;
        let document = &capture.manifest.document;
        if new.document_id != document.id || old.document_id != document.id {
            return Err(OpsError::failed(format!(
                "{} and {} are not both versions of {}: the catalog is damaged",
                old.id, new.id, document.id
            )));
        }
        let change = measure_change(archive, public, old, new)?;
        Ok(ChangeNotification {
            kind: NOTIFICATION_TYPE,
            id: new.id.clone(),
            archive: ArchiveInfo {
                origin: archive.config().origin.clone(),
                key: key.to_owned(),
            },
            document: DocumentInfo {
                id: document.id.clone(),
                url: document.url.clone(),
                entity: document.entity.clone(),
                title: document.title.clone(),
            },
            old_version: version_info(archive, public, old)?,
            new_version: version_info(archive, public, new)?,
            capture: CaptureInfo {
                id: capture.manifest.id.clone(),
                captured_at: capture.manifest.captured_at.clone(),
                sha256: capture.manifest.content.as_ref().map(|c| c.sha256),
                manifest_sha256: exhibit_core::Sha256Digest::of(&capture.bytes),
                log_index: capture.row.log_index,
            },
            change,
            links: None,
            created_at: created_at.to_owned(),
        })
    }

    /// Sets the links to the pages of `exhibit serve` at `base` (a trailing `/` is dropped);
    /// `None` leaves them out.
    pub fn set_links(&mut self, base: Option<&str>) {
        self.links = base.map(|base| {
            let base = base.trim_end_matches('/');
            Links {
                record: format!("{base}/records/{}", self.capture.id),
                diff: format!(
                    "{base}/diff?from={}&to={}",
                    self.old_version.id, self.new_version.id
                ),
                document: format!("{base}/documents/{}", self.document.id),
            }
        });
    }

    /// The RFC 8785 canonical bytes: the exact body that is signed and POSTed.
    pub fn body(&self) -> Result<Vec<u8>, OpsError> {
        exhibit_core::jcs::to_vec(self)
            .map_err(|e| OpsError::failed(format!("change notification {}: {e}", self.id)))
    }
}

/// A version as a notification states it: hashes from its opening capture's signed manifest.
fn version_info(
    archive: &Archive,
    public: &KeyHistory,
    v: &VersionRow,
) -> Result<VersionInfo, OpsError> {
    let opening = archive.signed_opening(v, public)?;
    Ok(VersionInfo {
        id: v.id.clone(),
        first_seen: v.first_seen.clone(),
        content_sha256: opening.manifest.content.as_ref().map(|c| c.sha256),
        text_sha256: v.text_sha256,
    })
}

/// The change from `old` to `new`: sizes and the capped diff, or all null when a side has no
/// text.
fn measure_change(
    archive: &Archive,
    public: &KeyHistory,
    old: &VersionRow,
    new: &VersionRow,
) -> Result<ChangeInfo, OpsError> {
    let texts = (
        crate::history::version_text(archive, old, public)?,
        crate::history::version_text(archive, new, public)?,
    );
    let (Ok(a), Ok(b)) = texts else {
        return Ok(ChangeInfo::default());
    };
    let comparison = compare(
        &a,
        &b,
        Some(HunkOptions {
            context: DIFF_CONTEXT,
            words: false,
        }),
    );
    let size = comparison.size;
    let hunks = comparison.hunks.unwrap_or_default();
    let (diff, truncated) = unified_diff(&old.id, &new.id, &hunks, MAX_DIFF_BYTES);
    Ok(ChangeInfo {
        words_added: Some(size.words_added),
        words_removed: Some(size.words_removed),
        lines_added: Some(size.lines_added),
        lines_removed: Some(size.lines_removed),
        diff: Some(diff),
        truncated,
    })
}

/// `hunks` as a unified diff (`--- old`, `+++ new`, `@@` lines, ` `/`-`/`+` lines, `\ No
/// newline at end of file`), whole lines only, at most `cap` bytes; and whether lines were
/// left out to keep to it.
pub fn unified_diff(old: &RecordId, new: &RecordId, hunks: &[Hunk], cap: usize) -> (String, bool) {
    let mut out = String::new();
    let mut push = |line: String| -> bool {
        if out.len() + line.len() > cap {
            return false;
        }
        out.push_str(&line);
        true
    };
    let range = |(start, len): (usize, usize)| match len {
        1 => start.to_string(),
        _ => format!("{start},{len}"),
    };
    if !push(format!("--- {old}\n")) || !push(format!("+++ {new}\n")) {
        return (out, true);
    }
    for h in hunks {
        if !push(format!("@@ -{} +{} @@\n", range(h.old), range(h.new))) {
            return (out, true);
        }
        for line in &h.lines {
            let sign = match line.tag {
                PieceTag::Equal => ' ',
                PieceTag::Delete => '-',
                PieceTag::Insert => '+',
            };
            if !push(format!("{sign}{}\n", line.text)) {
                return (out, true);
            }
            if !line.newline && !push("\\ No newline at end of file\n".to_owned()) {
                return (out, true);
            }
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use exhibit_core::{IdPrefix, RecordKind};

    fn v(n: u64) -> RecordId {
        RecordId::new(&IdPrefix::new("EX").unwrap(), RecordKind::Version, n)
    }

    fn hunks(old: &str, new: &str) -> Vec<Hunk> {
        compare(
            old,
            new,
            Some(HunkOptions {
                context: DIFF_CONTEXT,
                words: false,
            }),
        )
        .hunks
        .unwrap()
    }

    #[test]
    fn notify_diff_is_a_unified_diff() {
        let (diff, cut) = unified_diff(&v(1), &v(2), &hunks("a\nb\nc\n", "a\nB\nc"), 4096);
        assert!(!cut);
        assert_eq!(
            diff,
            "--- EX-V-000001\n+++ EX-V-000002\n@@ -1,3 +1,3 @@\n a\n-b\n-c\n+B\n+c\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn notify_diff_is_cut_at_a_line_boundary() {
        let old: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..2000).map(|i| format!("LINE {i}\n")).collect();
        let (diff, cut) = unified_diff(&v(1), &v(2), &hunks(&old, &new), MAX_DIFF_BYTES);
        assert!(cut);
        assert!(diff.len() <= MAX_DIFF_BYTES && diff.len() > MAX_DIFF_BYTES - 20);
        assert!(diff.ends_with('\n'));
        // Every line is whole.
        assert!(
            diff.lines()
                .skip(3)
                .all(|l| l.starts_with("-line ") || l.starts_with("+LINE "))
        );
    }
}
