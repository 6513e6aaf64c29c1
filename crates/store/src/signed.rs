//! Records as their signed manifests state them.
//!
//! The catalog is an index, never evidence: it *finds* a record, and this module is where the
//! record is then *vouched for*. [`Archive::read_signed_capture`] reads the manifest file the
//! record's id names, parses it, checks that it is that record's, and checks its signature
//! against the archive key; every command that states a fact about a capture, or writes bytes
//! a capture describes, takes the fact or the hashes from the [`SignedCapture`] it returns, and
//! a catalog row that says something else is reported as damage
//! ([`SignedCapture::catalog_disagreement`]).

use exhibit_core::citation::CarriedHashes;
use exhibit_core::{CaptureManifest, ProvisionManifest, RecordId, RecordKind, Sha256Digest};
use exhibit_sign::history::KeyHistory;

use crate::{Archive, CaptureRow, Match, StoreError, VersionRow};

/// A capture's manifest as the archive holds it, with its signature checked.
#[derive(Clone, Debug)]
pub struct SignedCapture {
    /// The catalog row that found it (its id is the manifest's own).
    pub row: CaptureRow,
    /// The parsed manifest.
    pub manifest: CaptureManifest,
    /// The manifest's exact bytes.
    pub bytes: Vec<u8>,
    /// Whether the archive key vouches for it.
    pub signature: Signature,
}

/// What the archive key says of a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// A valid Ed25519 signature by the archive key, which the manifest names as its signer.
    Valid,
    /// The signature does not verify with the archive key (the reason).
    Invalid(String),
    /// The signature verifies, but the manifest names another signer (that fingerprint).
    OtherSigner(String),
}

impl Signature {
    /// What the archive's keys say of manifest `bytes` with signature `sig`, whose `signer`
    /// field names `signer`: it must be a key of the archive's history, and its signature.
    pub fn check(keys: &KeyHistory, bytes: &[u8], sig: &[u8], signer: &str) -> Signature {
        match keys.era_of(signer) {
            Some(era) => match era.key.verify(bytes, sig) {
                Err(e) => Signature::Invalid(e.to_string()),
                Ok(()) => Signature::Valid,
            },
            None => match keys.current().key.verify(bytes, sig) {
                Err(e) => Signature::Invalid(e.to_string()),
                Ok(()) => Signature::OtherSigner(signer.to_owned()),
            },
        }
    }

    /// What is wrong with the signature, in words (with the archive's keys it was checked
    /// against), or `None` when it is valid: the one wording every report uses.
    pub fn problem(&self, keys: &KeyHistory) -> Option<String> {
        match self {
            Signature::Valid => None,
            Signature::Invalid(e) => Some(format!(
                "the manifest's signature does not verify with the archive key ({e})"
            )),
            Signature::OtherSigner(s) => Some(format!(
                "the manifest names signer {}, not a key of the archive (now {})",
                exhibit_core::inert(s),
                keys.current().fingerprint
            )),
        }
    }
}

impl StoreError {
    /// The error for record `id`, whose catalog entry says it has `what` while its signed
    /// manifest does not.
    pub fn catalog_damaged(id: &RecordId, what: &str) -> StoreError {
        StoreError::Corrupt {
            what: id.to_string(),
            message: format!(
                "the catalog says it has {what}, but its signed manifest does not: the catalog is \
             damaged (`exhibit fsck`, then `exhibit reindex` rebuilds it from the signed files)"
            ),
        }
    }
}

impl SignedCapture {
    /// Exit-1 error unless the archive key vouches for the manifest.
    pub fn require_valid(self, public: &KeyHistory) -> Result<SignedCapture, StoreError> {
        match self.signature.problem(public) {
            None => Ok(self),
            Some(problem) => Err(StoreError::Corrupt {
                what: self.row.id.to_string(),
                message: format!("{problem}; nothing it says is shown"),
            }),
        }
    }

    /// The first fact the catalog row states that the signed manifest does not, if any: a
    /// command that shows a row must not pass on what the catalog alone says.
    pub fn catalog_disagreement(&self) -> Option<&'static str> {
        let (row, m) = (&self.row, &self.manifest);
        let content = m.content.as_ref();
        let text = m.text.as_ref();
        [
            ("document", row.document_id == m.document.id),
            ("URL", row.url == m.document.url),
            (
                "version",
                row.version_id.as_ref() == m.version.as_ref().map(|v| &v.id),
            ),
            ("outcome", row.ok == m.is_success()),
            ("capture time", row.captured_at == m.captured_at),
            ("method", row.method == m.method.as_str()),
            (
                "HTTP status",
                row.status == m.http.as_ref().and_then(|h| h.status),
            ),
            ("error", row.error == m.error),
            ("content sha256", row.sha256 == content.map(|c| c.sha256)),
            ("content blake3", row.blake3 == content.map(|c| c.blake3)),
            ("content size", row.size == content.map(|c| c.size)),
            (
                "media type",
                row.media_type.as_deref() == content.map(|c| c.media_type.as_str()),
            ),
            ("text sha256", row.text_sha256 == text.map(|t| t.sha256)),
            ("text blake3", row.text_blake3 == text.map(|t| t.blake3)),
            ("text size", row.text_size == text.map(|t| t.size)),
        ]
        .into_iter()
        .find_map(|(field, same)| (!same).then_some(field))
    }

    /// Exit-1 error unless the catalog row states only what the signed manifest says.
    pub fn require_catalog_agrees(&self) -> Result<(), StoreError> {
        match self.catalog_disagreement() {
            None => Ok(()),
            Some(field) => Err(StoreError::Corrupt {
                what: self.row.id.to_string(),
                message: format!(
                    "the catalog's {field} differs from the signed manifest's: the catalog is \
                     damaged (`exhibit fsck`, then `exhibit reindex` rebuilds it from the signed files)"
                ),
            }),
        }
    }

    /// Whether the signed manifest carries `hash` (full hex) as its `field` (a [`Match`] field:
    /// `content sha256`, `text sha256` or `manifest sha256`; see
    /// [`exhibit_core::citation::CarriedHashes`]).
    pub fn carries_hash(&self, field: &str, hash: &str) -> bool {
        CarriedHashes::of_capture(&self.manifest, Sha256Digest::of(&self.bytes))
            .named(field)
            .is_some_and(|h| h.to_hex() == hash)
    }

    /// Whether this manifest opens version `version` of document `document`.
    pub fn opens_version(&self, version: &RecordId, document: &RecordId) -> bool {
        let m = &self.manifest;
        m.document.id == *document
            && m.version
                .as_ref()
                .is_some_and(|l| l.id == *version && l.opened_by.is_none())
    }

    /// Whether this manifest opens version `v` as the catalog row describes it: also with
    /// `v`'s text hash, so that a text read by that hash is the signed text.
    pub fn opens(&self, v: &VersionRow) -> bool {
        self.opens_version(&v.id, &v.document_id)
            && self.manifest.text.as_ref().map(|t| t.sha256) == v.text_sha256
    }
}

impl Archive {
    /// Capture `number`'s manifest, read from the file its id names and parsed; it must be that
    /// capture's (else [`StoreError::Corrupt`]). Its [`Signature`] is checked with `public`
    /// but not required: see [`Archive::signed_capture`].
    pub fn read_signed_capture(
        &self,
        number: u64,
        public: &KeyHistory,
    ) -> Result<SignedCapture, StoreError> {
        let row = self.capture(number)?;
        let (bytes, sig) = self.read_manifest(&row)?;
        let manifest = CaptureManifest::parse(&bytes).map_err(|e| StoreError::Corrupt {
            what: row.manifest_path.clone(),
            message: e.to_string(),
        })?;
        if manifest.id != row.id {
            return Err(StoreError::Corrupt {
                what: row.id.to_string(),
                message: format!(
                    "its manifest file holds the manifest of {}: the archive is damaged",
                    manifest.id
                ),
            });
        }
        let signature = Signature::check(public, &bytes, &sig, &manifest.signer);
        Ok(SignedCapture {
            row,
            manifest,
            bytes,
            signature,
        })
    }

    /// [`Archive::read_signed_capture`], requiring a valid signature by the archive key.
    pub fn signed_capture(
        &self,
        number: u64,
        public: &KeyHistory,
    ) -> Result<SignedCapture, StoreError> {
        self.read_signed_capture(number, public)?
            .require_valid(public)
    }

    /// The signed capture that opened version `v`; its manifest must open `v` (so that a text
    /// read by `v`'s hash is the signed text).
    pub fn signed_opening(
        &self,
        v: &VersionRow,
        public: &KeyHistory,
    ) -> Result<SignedCapture, StoreError> {
        let c = self.signed_capture(v.opened_by.number(), public)?;
        if !c.opens(v) {
            return Err(StoreError::catalog_damaged(
                &c.row.id,
                &format!(
                    "opened {} of {} with text sha256 {}",
                    v.id,
                    v.document_id,
                    v.text_sha256
                        .map_or_else(|| "(none)".into(), |h| h.to_hex())
                ),
            ));
        }
        Ok(c)
    }

    /// The signed capture a look-up match found; for a hash match its signed manifest must
    /// carry the hash.
    pub fn signed_match(
        &self,
        m: &Match,
        public: &KeyHistory,
    ) -> Result<SignedCapture, StoreError> {
        let signed = self.signed_capture(m.id.number(), public)?;
        if m.field != "id" && !signed.carries_hash(m.field, &m.hash) {
            return Err(StoreError::catalog_damaged(
                &m.id,
                &format!("{} {}", m.field, m.hash),
            ));
        }
        Ok(signed)
    }

    /// The signed capture whose content a record id stands for: a capture itself, a version's
    /// opening capture, a document's current version's, a provision's pinned capture; each
    /// link is checked against the signed manifests, never taken from the catalog alone, and
    /// the hashes to read are the signed manifest's (a catalog row's are not consulted).
    pub fn signed_capture_of(
        &self,
        id: &RecordId,
        public: &KeyHistory,
    ) -> Result<SignedCapture, StoreError> {
        match id.kind() {
            RecordKind::Capture => self.signed_capture(id.number(), public),
            RecordKind::Version | RecordKind::Document => {
                let v = if id.kind() == RecordKind::Version {
                    self.version(id.number())?
                } else {
                    let d = self.document(&id.to_string())?;
                    let v = d.current_version.ok_or_else(|| {
                        StoreError::NotFound(format!("{}: no successful capture yet", d.id))
                    })?;
                    self.version(v.number())?
                };
                let c = self.signed_capture(v.opened_by.number(), public)?;
                let document = if id.kind() == RecordKind::Document {
                    id
                } else {
                    &v.document_id
                };
                if !c.opens_version(&v.id, document) {
                    return Err(StoreError::catalog_damaged(
                        &c.row.id,
                        &format!("opened {} of document {document}", v.id),
                    ));
                }
                Ok(c)
            }
            RecordKind::Provision => {
                let p = self.provision(id.number())?;
                let (bytes, sig) = self.read_provision_manifest(&p)?;
                let manifest =
                    ProvisionManifest::parse(&bytes).map_err(|e| StoreError::Corrupt {
                        what: id.to_string(),
                        message: e.to_string(),
                    })?;
                if &manifest.id != id
                    || Signature::check(public, &bytes, &sig, &manifest.signer) != Signature::Valid
                {
                    return Err(StoreError::Corrupt {
                        what: id.to_string(),
                        message: "the provision's manifest is not signed by the archive key".into(),
                    });
                }
                let c = self.signed_capture(manifest.capture.id.number(), public)?;
                // The pin alone (`check_opening_pin`): what is read for a provision is its
                // pinned capture's content; the quoted parts are a citation's to check.
                if c.manifest.id != manifest.capture.id
                    || manifest
                        .check_opening_pin(&Sha256Digest::of(&c.bytes))
                        .is_err()
                {
                    return Err(StoreError::catalog_damaged(
                        &c.row.id,
                        &format!("the manifest {id} pins"),
                    ));
                }
                Ok(c)
            }
            RecordKind::Reextraction => Err(StoreError::BadQuery(format!(
                "{id}: a re-extraction record has no content of its own; name a capture or version"
            ))),
        }
    }
}

/// A version as the signed manifests of its document's captures state it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedVersion {
    /// The capture that opened it.
    pub opened_by: RecordId,
    /// Its opening capture's claimed time.
    pub first_seen: String,
    /// The latest claimed time of a capture that saw it.
    pub last_seen: String,
    /// Captures that saw it.
    pub captures: u64,
}

/// A document's record as its captures' signed manifests state it: walked from the latest
/// capture back along the `previous_capture` hash chain (FORMAT §9), every manifest's
/// signature checked and every link's hash matched, so that no fact comes from the catalog.
#[derive(Clone, Debug)]
pub struct SignedTimeline {
    /// The latest capture (its manifest states the document's URL, entity and title).
    pub latest: SignedCapture,
    /// The earliest capture's claimed time.
    pub first_captured_at: String,
    /// Captures, failed ones included.
    pub captures: u64,
    /// Failed captures.
    pub failed_captures: u64,
    /// The version of the latest successful capture.
    pub current_version: Option<RecordId>,
    /// Versions by id.
    pub versions: std::collections::BTreeMap<RecordId, SignedVersion>,
}

impl Archive {
    /// Walks document `d`'s captures from its latest (the one place the catalog is consulted)
    /// back along the signed `previous_capture` chain; see [`SignedTimeline`]. A broken link,
    /// an invalid signature or a manifest of another document is [`StoreError::Corrupt`].
    pub fn signed_timeline(
        &self,
        d: &crate::DocumentRow,
        public: &KeyHistory,
    ) -> Result<Option<SignedTimeline>, StoreError> {
        let Some(last) = &d.last_capture else {
            return Ok(None);
        };
        let broken = |id: &RecordId, message: String| StoreError::Corrupt {
            what: id.to_string(),
            message,
        };
        let latest = self.signed_capture(last.number(), public)?;
        let mut versions = std::collections::BTreeMap::<RecordId, SignedVersion>::new();
        let (mut captures, mut failed_captures) = (0u64, 0u64);
        let mut current_version = None;
        let mut first_captured_at = String::new();
        let mut next = Some((latest.row.id.clone(), None::<Sha256Digest>));
        while let Some((id, pinned)) = next.take() {
            let c = if id == latest.row.id {
                latest.clone()
            } else {
                self.signed_capture(id.number(), public)?
            };
            let m = &c.manifest;
            if let Some(pin) = pinned
                && Sha256Digest::of(&c.bytes) != pin
            {
                return Err(broken(
                    &id,
                    "its manifest is not the one the next capture's previous_capture pins: \
                     the chain is broken"
                        .into(),
                ));
            }
            if m.document.id != d.id {
                return Err(broken(&id, format!("its manifest is of {}", m.document.id)));
            }
            captures += 1;
            if !m.is_success() {
                failed_captures += 1;
            }
            if let Some(v) = &m.version {
                current_version.get_or_insert_with(|| v.id.clone());
                let opened_by = v.opened_by.as_ref().map_or(&m.id, |o| &o.id);
                let entry = versions
                    .entry(v.id.clone())
                    .or_insert_with(|| SignedVersion {
                        opened_by: opened_by.clone(),
                        first_seen: m.captured_at.clone(),
                        last_seen: m.captured_at.clone(),
                        captures: 0,
                    });
                entry.captures += 1;
                // Walking backwards: the opening capture comes last and sets first_seen.
                if v.opened_by.is_none() {
                    entry.first_seen = m.captured_at.clone();
                }
                if m.captured_at > entry.last_seen {
                    entry.last_seen = m.captured_at.clone();
                }
            }
            first_captured_at = m.captured_at.clone();
            next = match &m.previous_capture {
                Some(link) if link.id.number() < id.number() => {
                    Some((link.id.clone(), Some(link.manifest_sha256)))
                }
                Some(link) => {
                    return Err(broken(
                        &id,
                        format!("its previous capture {} is not an earlier one", link.id),
                    ));
                }
                None => None,
            };
        }
        Ok(Some(SignedTimeline {
            latest,
            first_captured_at,
            captures,
            failed_captures,
            current_version,
            versions,
        }))
    }
}

impl SignedTimeline {
    /// The first fact the catalog states about the document (its row, counts and version
    /// rows) that the signed timeline does not, if any.
    pub fn catalog_disagreement(
        &self,
        d: &crate::DocumentRow,
        counts: &crate::DocumentCounts,
        versions: &[VersionRow],
    ) -> Option<String> {
        let m = &self.latest.manifest.document;
        let document = [
            ("URL", d.url == m.url),
            ("entity", d.entity == m.entity),
            ("title", d.title == m.title),
            ("first capture time", d.created_at == self.first_captured_at),
            ("current version", d.current_version == self.current_version),
            (
                "capture count",
                counts.captures == self.captures && counts.failed_captures == self.failed_captures,
            ),
            (
                "version count",
                counts.versions == self.versions.len() as u64,
            ),
        ];
        if let Some((field, _)) = document.iter().find(|(_, same)| !same) {
            return Some(format!("{}'s {field}", d.id));
        }
        for v in versions {
            let same = self.versions.get(&v.id).is_some_and(|s| {
                s.opened_by == v.opened_by
                    && s.first_seen == v.first_seen
                    && s.last_seen == v.last_seen
                    && s.captures == v.captures
            });
            if !same {
                return Some(format!(
                    "{} (opened by, first or last seen, captures)",
                    v.id
                ));
            }
        }
        None
    }
}

impl Archive {
    /// Exit-1 error unless everything the catalog states about document `d` — its URL, entity,
    /// title, first capture, current version, counts and every version's first and last seen
    /// and capture count — is what its signed timeline states ([`Archive::signed_timeline`]).
    /// Commands that show a document call this before they show it.
    pub fn require_document_agrees(
        &self,
        d: &crate::DocumentRow,
        public: &KeyHistory,
    ) -> Result<(), StoreError> {
        self.require_agrees(d, None, public)
    }

    /// [`Archive::require_document_agrees`] for a row of `exhibit documents`, whose latest
    /// capture time and outcome and current version's first sighting are checked too.
    pub fn require_summary_agrees(
        &self,
        s: &crate::DocumentSummary,
        public: &KeyHistory,
    ) -> Result<(), StoreError> {
        self.require_agrees(&s.document, Some(s), public)
    }

    fn require_agrees(
        &self,
        d: &crate::DocumentRow,
        summary: Option<&crate::DocumentSummary>,
        public: &KeyHistory,
    ) -> Result<(), StoreError> {
        let counts = self.document_counts(&d.id)?;
        let versions = self.versions(&d.id)?;
        let timeline = self.signed_timeline(d, public)?;
        let disagreement = match &timeline {
            Some(t) => t.catalog_disagreement(d, &counts, &versions).or_else(|| {
                let s = summary?;
                let latest = &t.latest.manifest;
                let since = t
                    .current_version
                    .as_ref()
                    .and_then(|v| t.versions.get(v))
                    .map(|v| &v.first_seen);
                let same = s.last_captured_at.as_ref() == Some(&latest.captured_at)
                    && s.last_capture_ok == Some(latest.is_success())
                    && s.current_since.as_ref() == since
                    && s.versions == counts.versions
                    && s.captures == counts.captures;
                (!same).then(|| format!("{}'s latest capture or current version", d.id))
            }),
            None if counts.captures == 0 && versions.is_empty() => None,
            None => Some(format!("{}'s latest capture", d.id)),
        };
        match disagreement {
            None => Ok(()),
            Some(what) => Err(StoreError::Corrupt {
                what: d.id.to_string(),
                message: format!(
                    "the catalog's {what} differs from what the signed manifests of its \
                     captures state: the catalog is damaged (`exhibit fsck`, then `exhibit \
                     reindex` rebuilds it from the signed files)"
                ),
            }),
        }
    }
}
