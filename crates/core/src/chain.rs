//! The chain rules of docs/FORMAT.md §9: how a document's captures link to each other and when
//! a capture opens a new version.
//!
//! [`DocumentChain`] is a document's place in its two chains (§9.2): its latest capture, which
//! the next capture's `previous_capture` pins, and its current version, which the next
//! successful capture either confirms (`unchanged`, pinning the opening capture) or replaces
//! (`new`, pinning the current version through its opening capture's manifest). The same type
//! serves the three places that apply the rules:
//!
//! - the writer decides a new capture's links ([`DocumentChain::links_for`]);
//! - `reindex` and `fsck` check a recorded manifest against them ([`DocumentChain::check`]) and
//!   move on ([`DocumentChain::follow`]).
//!
//! What this module is not: it does no I/O and knows no SQL. The caller loads the state (from
//! the catalog, or by walking the manifests in commit order), keeps it, and turns each
//! [`ChainViolation`] into its own message. Document identity (§9.1) is URL normalisation,
//! in [`crate::url`].

use std::fmt::Debug;

use crate::manifest::{CaptureManifest, Change, ContentInfo, RecordLink, TextInfo, VersionLink};
use crate::{RecordId, Sha256Digest};

/// The version key of a capture (§9.3 step 1): `text.sha256` if it has a text, else
/// `content.sha256`; `None` when it has neither (a successful capture always has content).
pub fn version_key(text: Option<&TextInfo>, content: Option<&ContentInfo>) -> Option<Sha256Digest> {
    match (text, content) {
        (Some(t), _) => Some(t.sha256),
        (None, Some(c)) => Some(c.sha256),
        (None, None) => None,
    }
}

/// How well a chain state knows the SHA-256 of a manifest that a later link must pin.
///
/// The writer and `reindex` always know it ([`Sha256Digest`]); a checker reading a damaged
/// catalog (`fsck`) may not (`Option<Sha256Digest>`), and an unknown hash admits any pin, so
/// that one damaged row does not also fail the links that point at it.
pub trait KnownHash: Clone + PartialEq + Debug {
    /// Whether a link pinning `pinned` agrees with this hash.
    fn admits(&self, pinned: &Sha256Digest) -> bool;
}

impl KnownHash for Sha256Digest {
    fn admits(&self, pinned: &Sha256Digest) -> bool {
        self == pinned
    }
}

impl KnownHash for Option<Sha256Digest> {
    fn admits(&self, pinned: &Sha256Digest) -> bool {
        self.is_none_or(|h| h == *pinned)
    }
}

/// A record a later link must point to: its id and its manifest's SHA-256 (as far as known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin<H = Sha256Digest> {
    /// The record the link must name.
    pub id: RecordId,
    /// The manifest hash the link must pin.
    pub manifest_sha256: H,
}

impl<H: KnownHash> Pin<H> {
    /// Whether `link` names this record and pins its manifest.
    pub fn admits(&self, link: &RecordLink) -> bool {
        link.id == self.id && self.manifest_sha256.admits(&link.manifest_sha256)
    }
}

impl Pin<Sha256Digest> {
    /// The link that pins this record.
    pub fn link(&self) -> RecordLink {
        RecordLink {
            id: self.id.clone(),
            manifest_sha256: self.manifest_sha256,
        }
    }
}

/// A document's current version (§9.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentVersion<H = Sha256Digest> {
    /// The version id.
    pub id: RecordId,
    /// Its version key (`versions.key_sha256`; after a re-extraction, the last run's key,
    /// §3.9), when known. Only the writer needs it: an unknown key never equals a capture's.
    pub key: Option<Sha256Digest>,
    /// The capture that opened it, pinned by that capture's manifest.
    pub opened_by: Pin<H>,
}

impl<H: Clone> CurrentVersion<H> {
    /// What a `new` version's `previous` must be: this version, pinned by the manifest of the
    /// capture that opened it (§9.2).
    pub fn as_previous(&self) -> Pin<H> {
        Pin {
            id: self.id.clone(),
            manifest_sha256: self.opened_by.manifest_sha256.clone(),
        }
    }
}

/// A document's place in its two chains (§9.2): its latest capture and its current version.
/// A new document has neither ([`Default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentChain<H = Sha256Digest> {
    /// The document's latest capture in commit order, successful or failed: what the next
    /// capture's `previous_capture` must pin.
    pub last_capture: Option<Pin<H>>,
    /// The document's current version. Failures never change it.
    pub current: Option<CurrentVersion<H>>,
}

impl<H> Default for DocumentChain<H> {
    fn default() -> Self {
        DocumentChain {
            last_capture: None,
            current: None,
        }
    }
}

/// The links the writer puts in a new capture manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureLinks {
    /// `previous_capture`: the document's latest capture, or `None` for its first.
    pub previous_capture: Option<RecordLink>,
    /// `version`: `None` for a failure.
    pub version: Option<VersionLink>,
}

/// A way a recorded capture manifest breaks the chain rules, with what the chain expected.
/// Callers word it; the order of [`DocumentChain::check`]'s answer is the order of the
/// fields in the manifest (`previous_capture`, then `version`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainViolation<H = Sha256Digest> {
    /// `previous_capture` does not pin the document's latest capture (`None`: it has none).
    PreviousCapture {
        /// What the manifest says.
        found: Option<RecordLink>,
        /// What it should say.
        expected: Option<Pin<H>>,
    },
    /// A `new` version's `previous` does not pin the document's current version through the
    /// manifest of its opening capture (`None`: the document has no version yet).
    VersionPrevious {
        /// The version the manifest opens.
        version: RecordId,
        /// What the manifest says.
        found: Option<RecordLink>,
        /// What it should say.
        expected: Option<Pin<H>>,
    },
    /// An `unchanged` capture does not confirm the document's current version through the
    /// capture that opened it.
    Unchanged {
        /// The version the manifest confirms.
        version: RecordId,
        /// Its `opened_by`.
        opened_by: Option<RecordLink>,
        /// The document's current version (`None`: it has none).
        current: Option<CurrentVersion<H>>,
    },
}

impl DocumentChain<Sha256Digest> {
    /// Decides the links of the document's next capture (§9.2, §9.3): `key` is its version key
    /// ([`version_key`]) for a successful capture, `None` for a failure. When the capture
    /// opens a new version, `new_version` is called once to allocate the version's id.
    pub fn links_for<E>(
        &self,
        key: Option<Sha256Digest>,
        new_version: impl FnOnce() -> Result<RecordId, E>,
    ) -> Result<CaptureLinks, E> {
        let previous_capture = self.last_capture.as_ref().map(Pin::link);
        let version = match key {
            None => None,
            Some(key) => Some(match &self.current {
                // Compared with the current version only: text A → B → A is three versions.
                Some(cur) if cur.key == Some(key) => VersionLink {
                    id: cur.id.clone(),
                    change: Change::Unchanged,
                    previous: None,
                    opened_by: Some(cur.opened_by.link()),
                },
                current => VersionLink {
                    id: new_version()?,
                    change: Change::New,
                    previous: current.as_ref().map(|c| c.as_previous().link()),
                    opened_by: None,
                },
            }),
        };
        Ok(CaptureLinks {
            previous_capture,
            version,
        })
    }
}

impl<H: KnownHash> DocumentChain<H> {
    /// How the recorded capture manifest `m`, the document's next in commit order, breaks the
    /// chain rules; empty when it follows them. (Whether `version` is present at all, and its
    /// `previous`/`opened_by` shape, is the manifest's own consistency rule, §3.5.)
    pub fn check(&self, m: &CaptureManifest) -> Vec<ChainViolation<H>> {
        let mut wrong = Vec::new();
        let follows = match (&m.previous_capture, &self.last_capture) {
            (None, None) => true,
            (Some(l), Some(p)) => p.admits(l),
            _ => false,
        };
        if !follows {
            wrong.push(ChainViolation::PreviousCapture {
                found: m.previous_capture.clone(),
                expected: self.last_capture.clone(),
            });
        }
        if let Some(v) = &m.version {
            match v.change {
                Change::New => {
                    let expected = self.current.as_ref().map(CurrentVersion::as_previous);
                    let follows = match (&v.previous, &expected) {
                        (None, None) => true,
                        (Some(l), Some(p)) => p.admits(l),
                        _ => false,
                    };
                    if !follows {
                        wrong.push(ChainViolation::VersionPrevious {
                            version: v.id.clone(),
                            found: v.previous.clone(),
                            expected,
                        });
                    }
                }
                Change::Unchanged => {
                    let confirms = self.current.as_ref().is_some_and(|c| {
                        c.id == v.id && v.opened_by.as_ref().is_some_and(|l| c.opened_by.admits(l))
                    });
                    if !confirms {
                        wrong.push(ChainViolation::Unchanged {
                            version: v.id.clone(),
                            opened_by: v.opened_by.clone(),
                            current: self.current.clone(),
                        });
                    }
                }
            }
        }
        wrong
    }

    /// Moves the chain past the capture manifest `m`, whose manifest hash is `manifest_sha256`:
    /// it becomes the latest capture, and when it opens a version, that version (with key
    /// `key`, see [`version_key`]) becomes current. Failures and `unchanged` captures leave
    /// the current version as it is.
    pub fn follow(&mut self, m: &CaptureManifest, manifest_sha256: H, key: Option<Sha256Digest>) {
        let this = Pin {
            id: m.id.clone(),
            manifest_sha256,
        };
        if let Some(v) = &m.version
            && v.change == Change::New
        {
            self.current = Some(CurrentVersion {
                id: v.id.clone(),
                key,
                opened_by: this.clone(),
            });
        }
        self.last_capture = Some(this);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{DocumentRef, Extractor, HttpExchange, ManifestType, Method, TextInfo};
    use crate::{IdPrefix, RecordKind};

    fn id(kind: RecordKind, n: u64) -> RecordId {
        RecordId::new(&IdPrefix::new("EX").unwrap(), kind, n)
    }

    fn sha(b: u8) -> Sha256Digest {
        Sha256Digest([b; 32])
    }

    fn text(b: u8) -> TextInfo {
        TextInfo {
            sha256: sha(b),
            blake3: crate::Blake3Digest([b; 32]),
            size: 1,
            charset: "utf-8".into(),
            extractor: Extractor {
                name: "plain".into(),
                version: "1".into(),
                rules: None,
            },
        }
    }

    /// A capture manifest of document 1 with the links `links` decided.
    fn manifest(n: u64, links: &CaptureLinks, text_byte: Option<u8>) -> CaptureManifest {
        CaptureManifest {
            manifest_type: if links.version.is_some() {
                ManifestType::Capture
            } else {
                ManifestType::CaptureFailure
            },
            origin: "o".into(),
            id: id(RecordKind::Capture, n),
            document: DocumentRef {
                id: id(RecordKind::Document, 1),
                url: "https://e.example/".into(),
                entity: None,
                title: None,
            },
            captured_at: "2026-01-01T00:00:00Z".into(),
            method: Method::Http,
            http: Some(HttpExchange {
                request_url: "https://e.example/".into(),
                final_url: "https://e.example/".into(),
                redirects: Vec::new(),
                status: None,
                headers: Default::default(),
                connections: None,
                trust_roots: None,
            }),
            file: None,
            content: None,
            text: text_byte.map(text),
            text_omitted: None,
            version: links.version.clone(),
            previous_capture: links.previous_capture.clone(),
            error: text_byte.is_none().then(|| "refused".into()),
            signer: "s".into(),
            browser: None,
            warc: None,
        }
    }

    /// Writes captures with the given texts (`None`: a failure) the way the writer does,
    /// checking each against the chain as reindex does; returns the manifests.
    fn write(texts: &[Option<u8>]) -> Vec<CaptureManifest> {
        let mut chain = DocumentChain::default();
        let mut versions = 0;
        let mut out = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let key = t.map(sha);
            let links = chain
                .links_for(key, || {
                    versions += 1;
                    Ok::<_, ()>(id(RecordKind::Version, versions))
                })
                .unwrap();
            let m = manifest(i as u64 + 1, &links, *t);
            assert_eq!(chain.check(&m), Vec::new(), "capture {}", i + 1);
            chain.follow(&m, sha(100 + i as u8), key);
            out.push(m);
        }
        out
    }

    #[test]
    fn new_unchanged_and_failures_follow_section_9() {
        let ms = write(&[Some(1), Some(1), None, Some(2), Some(1)]);
        let v = |i: usize| ms[i].version.clone().unwrap();
        assert_eq!(ms[0].previous_capture, None);
        assert_eq!((v(0).change, v(0).previous.clone()), (Change::New, None));
        // Unchanged: same version, pinned through its opening capture.
        assert_eq!(v(1).change, Change::Unchanged);
        assert_eq!(v(1).id, v(0).id);
        assert_eq!(
            v(1).opened_by,
            Some(RecordLink {
                id: id(RecordKind::Capture, 1),
                manifest_sha256: sha(100)
            })
        );
        // A failure is in the capture chain only.
        assert_eq!(ms[2].version, None);
        assert_eq!(
            ms[2].previous_capture.as_ref().unwrap().manifest_sha256,
            sha(101)
        );
        assert_eq!(
            ms[3].previous_capture.as_ref().unwrap().id,
            id(RecordKind::Capture, 3)
        );
        // A change opens version 2 whose previous is version 1, pinned by capture 1's manifest.
        assert_eq!(v(3).change, Change::New);
        assert_eq!(v(3).id, id(RecordKind::Version, 2));
        assert_eq!(
            v(3).previous,
            Some(RecordLink {
                id: id(RecordKind::Version, 1),
                manifest_sha256: sha(100)
            })
        );
        // A → B → A is three versions: compared with the current version only.
        assert_eq!(
            (v(4).change, v(4).id.clone()),
            (Change::New, id(RecordKind::Version, 3))
        );
    }

    #[test]
    fn violations_name_what_the_chain_expected() {
        let ms = write(&[Some(1), Some(1)]);
        let mut chain = DocumentChain::default();
        chain.follow(&ms[0], sha(100), Some(sha(1)));
        // A wrong pin of the previous capture and of the opening capture.
        let mut bad = ms[1].clone();
        let wrong = RecordLink {
            id: id(RecordKind::Capture, 1),
            manifest_sha256: sha(7),
        };
        bad.previous_capture = Some(wrong.clone());
        bad.version.as_mut().unwrap().opened_by = Some(wrong.clone());
        let found = chain.check(&bad);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0],
            ChainViolation::PreviousCapture {
                found: Some(wrong.clone()),
                expected: chain.last_capture.clone()
            }
        );
        assert!(matches!(
            &found[1],
            ChainViolation::Unchanged {
                current: Some(_),
                ..
            }
        ));
        // The first capture of a document that has one already; a new version without previous.
        let mut first = ms[0].clone();
        first.id = id(RecordKind::Capture, 3);
        first.version.as_mut().unwrap().id = id(RecordKind::Version, 2);
        assert_eq!(
            chain.check(&first),
            vec![
                ChainViolation::PreviousCapture {
                    found: None,
                    expected: chain.last_capture.clone()
                },
                ChainViolation::VersionPrevious {
                    version: id(RecordKind::Version, 2),
                    found: None,
                    expected: Some(Pin {
                        id: id(RecordKind::Version, 1),
                        manifest_sha256: sha(100)
                    })
                }
            ]
        );
        // Unchanged with no version yet.
        let empty = DocumentChain::<Sha256Digest>::default();
        assert!(matches!(
            &empty.check(&ms[1])[1],
            ChainViolation::Unchanged { current: None, .. }
        ));
    }

    #[test]
    fn an_unknown_hash_admits_any_pin_but_not_another_record() {
        let ms = write(&[Some(1), Some(1)]);
        let mut chain = DocumentChain::<Option<Sha256Digest>>::default();
        chain.follow(&ms[0], None, None);
        assert_eq!(chain.check(&ms[1]), Vec::new());
        let mut other = ms[1].clone();
        other.previous_capture.as_mut().unwrap().id = id(RecordKind::Capture, 9);
        assert_eq!(chain.check(&other).len(), 1);
    }

    #[test]
    fn the_version_key_is_the_text_hash_else_the_content_hash() {
        let content = ContentInfo {
            sha256: sha(2),
            blake3: crate::Blake3Digest([2; 32]),
            size: 1,
            media_type: "text/plain".into(),
        };
        assert_eq!(version_key(Some(&text(1)), Some(&content)), Some(sha(1)));
        assert_eq!(version_key(None, Some(&content)), Some(sha(2)));
        assert_eq!(version_key(None, None), None);
    }
}
