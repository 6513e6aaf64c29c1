//! Following a key history: which key signed which part of the log, and which keys a reader
//! who pins one of them may trust (docs/FORMAT.md §2.1, docs/VERIFYING.md "Rotated keys").
//!
//! The archive, `fsck` and `exhibit-verify` all read a history through [`KeyHistory::follow`],
//! so one set of rules decides what a statement proves.

use chrono::{DateTime, Utc};
use exhibit_core::Sha256Digest;
use exhibit_core::key_statement::{KeyAction, KeyRef, KeyStatement, MAX_KEY_STATEMENTS};

use crate::PublicKey;

/// One statement as stored: its bytes and the signatures beside it.
#[derive(Clone, Copy, Debug)]
pub struct StoredStatement<'a> {
    /// Where it was read from (for messages), e.g. `keys/history/000001.json`.
    pub name: &'a str,
    /// The statement file's bytes.
    pub bytes: &'a [u8],
    /// `<n>.json.sig`: the signer's raw signature.
    pub signature: &'a [u8],
    /// `<n>.json.new.sig`: the new key's raw signature (rotations only).
    pub new_key_signature: Option<&'a [u8]>,
}

/// The span of the log one key signed.
#[derive(Clone, Debug)]
pub struct Era {
    /// The key.
    pub key: PublicKey,
    /// Its fingerprint, as written in manifests.
    pub fingerprint: String,
    /// The first leaf index it signs.
    pub first_leaf: u64,
    /// One past the last leaf index it signs; `None` for the current key.
    pub end_leaf: Option<u64>,
    /// From when on it is not trusted, if a statement revoked it.
    pub compromised_since: Option<DateTime<Utc>>,
    /// Whether the root key signed the statement that brought it in (the `root` statement
    /// for the first key of an archive with a root; a rotation the root signed).
    pub introduced_by_root: bool,
}

impl Era {
    /// Whether this key signs leaf `index`.
    pub fn signs_leaf(&self, index: u64) -> bool {
        index >= self.first_leaf && self.end_leaf.is_none_or(|end| index < end)
    }

    /// Whether this key signs the checkpoint of tree size `size`: sizes after its first leaf up
    /// to and including its last (the handover size is the retiring key's; size 0 the first).
    pub fn signs_checkpoint(&self, size: u64) -> bool {
        (size > self.first_leaf || self.first_leaf == 0)
            && self.end_leaf.is_none_or(|end| size <= end)
    }
}

/// A followed history: the eras in order (at least one) and the statements that made them.
#[derive(Clone, Debug)]
pub struct KeyHistory {
    eras: Vec<Era>,
    statements: Vec<KeyStatement>,
    /// SHA-256 of the last statement's bytes (what the next one names as previous).
    last_sha256: Option<Sha256Digest>,
    /// The offline root key and its fingerprint, when the history starts with a `root`
    /// statement.
    root: Option<(PublicKey, String)>,
}

/// Why a history cannot be followed. One line, naming the statement.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct HistoryError {
    /// The statement (its file name).
    pub name: String,
    /// What is wrong.
    pub problem: String,
}

impl KeyHistory {
    /// The history of an archive that never rotated: `key` signs everything.
    pub fn single(key: PublicKey) -> KeyHistory {
        KeyHistory {
            eras: vec![Era {
                fingerprint: key.fingerprint().to_string(),
                key,
                first_leaf: 0,
                end_leaf: None,
                compromised_since: None,
                introduced_by_root: false,
            }],
            statements: Vec::new(),
            last_sha256: None,
            root: None,
        }
    }

    /// Follows `statements` (in sequence order, at least one) of the archive `origin`: the
    /// first names the first key (an archive that never rotated has no statements and is
    /// [`KeyHistory::single`]). Every statement must be canonical, name the previous one by its
    /// SHA-256, keep the log size from going back, and carry valid signatures: a rotation by
    /// the retiring (then current) key or the root, and by the new key; a revocation by the
    /// current key or the root, of a key retired before it.
    pub fn follow(
        origin: &str,
        statements: &[StoredStatement<'_>],
    ) -> Result<KeyHistory, HistoryError> {
        let fail = |s: &StoredStatement<'_>, problem: String| HistoryError {
            name: s.name.to_owned(),
            problem,
        };
        if statements.len() > MAX_KEY_STATEMENTS {
            return Err(HistoryError {
                name: "key history".into(),
                problem: format!(
                    "holds {} statements, more than the {MAX_KEY_STATEMENTS} a reader follows",
                    statements.len()
                ),
            });
        }
        let mut history: Option<KeyHistory> = None;
        for (i, stored) in statements.iter().enumerate() {
            let s = KeyStatement::parse(stored.bytes)
                .map_err(|e| fail(stored, format!("not a key statement: {e}")))?;
            let key = decode_key(&s.key).map_err(|p| fail(stored, p))?;
            if history.is_none() && s.action == KeyAction::Root {
                // The root's statement brings in the first signing key.
                let first = s
                    .new_key
                    .as_ref()
                    .ok_or("names no first key".to_owned())
                    .and_then(decode_key)
                    .map_err(|p| fail(stored, p))?;
                history = Some(KeyHistory::single(first));
            }
            let h = history.get_or_insert_with(|| KeyHistory::single(key.clone()));
            h.apply(origin, i as u64 + 1, &s, &key, stored)
                .map_err(|p| fail(stored, p))?;
        }
        history.ok_or_else(|| HistoryError {
            name: "key history".into(),
            problem: "is empty".into(),
        })
    }

    fn apply(
        &mut self,
        origin: &str,
        sequence: u64,
        s: &KeyStatement,
        key: &PublicKey,
        stored: &StoredStatement<'_>,
    ) -> Result<(), String> {
        if s.origin != origin {
            return Err(format!(
                "is a statement of origin {:?}, not of this archive ({origin:?})",
                s.origin
            ));
        }
        if s.sequence != sequence {
            return Err(format!("has sequence {}, expected {sequence}", s.sequence));
        }
        if s.previous_sha256 != self.last_sha256 {
            return Err(
                "does not name the previous statement's SHA-256: the chain is broken".into(),
            );
        }
        let last_size = self.statements.last().map_or(0, |p| p.log_size);
        if s.log_size < last_size {
            return Err(format!(
                "is at log size {}, before the previous statement's {last_size}",
                s.log_size
            ));
        }
        let current = self.current().clone();
        match s.action {
            KeyAction::Rotate => {
                if key != &current.key {
                    return Err(format!(
                        "rotates away from {}, but the current key is {}",
                        s.key.fingerprint, current.fingerprint
                    ));
                }
                let new_ref = s.new_key.as_ref().ok_or("names no new key")?;
                let new = decode_key(new_ref)?;
                if self.eras.iter().any(|e| e.key == new) {
                    return Err(format!(
                        "rotates to {}, a key used before",
                        new_ref.fingerprint
                    ));
                }
                if s.log_size < current.first_leaf {
                    return Err("hands over before the retiring key's first leaf".into());
                }
                let by_root = self.signed_by_root(s, stored, "rotation")?;
                if !by_root {
                    signed_by(key, stored.bytes, stored.signature, "the retiring key")?;
                }
                let new_sig = stored
                    .new_key_signature
                    .ok_or("has no signature by the new key (.json.new.sig): a rotation is signed by both keys")?;
                signed_by(&new, stored.bytes, new_sig, "the new key")?;
                if let Some(last) = self.eras.last_mut() {
                    last.end_leaf = Some(s.log_size);
                }
                self.eras.push(Era {
                    fingerprint: new_ref.fingerprint.clone(),
                    key: new,
                    first_leaf: s.log_size,
                    end_leaf: None,
                    compromised_since: None,
                    introduced_by_root: by_root,
                });
            }
            KeyAction::Root => {
                if sequence != 1 {
                    return Err("a root statement may only be the first".into());
                }
                let first = decode_key(s.new_key.as_ref().ok_or("names no first key")?)?;
                if first != current.key || s.log_size != 0 {
                    return Err(
                        "the root's statement brings in the first key, at log size 0".into(),
                    );
                }
                signed_by(key, stored.bytes, stored.signature, "the root key")?;
                let first_sig = stored
                    .new_key_signature
                    .ok_or("has no signature by the first key (.json.new.sig)")?;
                signed_by(&first, stored.bytes, first_sig, "the first key")?;
                if let Some(era) = self.eras.first_mut() {
                    era.introduced_by_root = true;
                }
                self.root = Some((key.clone(), s.key.fingerprint.clone()));
            }
            KeyAction::Revoke => {
                if !self.signed_by_root(s, stored, "revocation")? {
                    if s.signer != current.fingerprint {
                        return Err(format!(
                            "is signed by {}, but a revocation is signed by the current key {}",
                            exhibit_core::inert(&s.signer),
                            current.fingerprint
                        ));
                    }
                    signed_by(
                        &current.key,
                        stored.bytes,
                        stored.signature,
                        "the current key",
                    )?;
                }
                let since = exhibit_core::time::parse_rfc3339_seconds(
                    s.compromised_since.as_deref().unwrap_or_default(),
                )
                .ok_or("has no valid compromised_since")?;
                let n = self.eras.len();
                let era = self.eras[..n - 1]
                    .iter_mut()
                    .find(|e| &e.key == key)
                    .ok_or_else(|| {
                        format!(
                            "revokes {}, which is not a retired key of this history",
                            s.key.fingerprint
                        )
                    })?;
                era.compromised_since = Some(era.compromised_since.map_or(since, |t| t.min(since)));
            }
        }
        self.last_sha256 = Some(Sha256Digest::of(stored.bytes));
        self.statements.push(s.clone());
        Ok(())
    }

    /// Whether statement `s` is signed by the archive's root key (`.sig` verifies with it); an
    /// error when it names the root as signer but the signature does not verify.
    fn signed_by_root(
        &self,
        s: &KeyStatement,
        stored: &StoredStatement<'_>,
        what: &str,
    ) -> Result<bool, String> {
        match &self.root {
            Some((root, fp)) if *fp == s.signer => {
                signed_by(root, stored.bytes, stored.signature, "the root key")?;
                Ok(true)
            }
            _ if s.action == KeyAction::Rotate && s.signer != s.key.fingerprint => Err(format!(
                "a {what} is signed by the retiring key or the archive's root key, not by {}",
                exhibit_core::inert(&s.signer)
            )),
            _ => Ok(false),
        }
    }

    /// The root key's fingerprint, when the archive has one.
    pub fn root_fingerprint(&self) -> Option<&str> {
        self.root.as_ref().map(|(_, fp)| fp.as_str())
    }

    /// The eras, oldest first.
    pub fn eras(&self) -> &[Era] {
        &self.eras
    }

    /// The statements followed, in order.
    pub fn statements(&self) -> &[KeyStatement] {
        &self.statements
    }

    /// The key that signs now.
    pub fn current(&self) -> &Era {
        // `follow` and `single` never make a history without an era.
        &self.eras[self.eras.len() - 1]
    }

    /// The era of the key with this fingerprint.
    pub fn era_of(&self, fingerprint: &str) -> Option<&Era> {
        self.eras.iter().find(|e| e.fingerprint == fingerprint)
    }

    /// The key that signs leaf `index`.
    pub fn key_for_leaf(&self, index: u64) -> &Era {
        self.eras
            .iter()
            .find(|e| e.signs_leaf(index))
            .unwrap_or_else(|| self.current())
    }

    /// The key that signs the checkpoint of size `size`.
    pub fn key_for_checkpoint(&self, size: u64) -> &Era {
        self.eras
            .iter()
            .find(|e| e.signs_checkpoint(size))
            .unwrap_or_else(|| self.current())
    }

    /// The era whose key made `signature` over `message`, if any (newest first: most records
    /// are recent).
    pub fn verify_any(&self, message: &[u8], signature: &[u8]) -> Option<&Era> {
        self.eras
            .iter()
            .rev()
            .find(|e| e.key.verify(message, signature).is_ok())
    }

    /// Verifies a signed checkpoint note of this archive: it must carry a valid signature, under
    /// `origin`, by the key that signs checkpoints of its size. Returns the checkpoint and that
    /// key's era, or why the note is not the archive's (one line).
    pub fn verify_checkpoint(
        &self,
        note: &str,
        origin: &str,
    ) -> Result<(exhibit_core::checkpoint::Checkpoint, &Era), String> {
        let parsed = crate::SignedNote::parse(note).map_err(|e| e.to_string())?;
        let cp =
            exhibit_core::checkpoint::Checkpoint::parse(&parsed.text).map_err(|e| e.to_string())?;
        if cp.origin != origin {
            return Err(format!(
                "a checkpoint of {:?}, not of {origin:?}",
                cp.origin
            ));
        }
        let era = self.key_for_checkpoint(cp.size);
        parsed.verify(origin, &era.key).map_err(|e| {
            format!(
                "not signed by this archive's key {} (the key for checkpoints of size {}): {e}",
                era.fingerprint, cp.size
            )
        })?;
        Ok((cp, era))
    }

    /// The eras a reader who pins the key `pinned` may trust: that key's and every earlier one
    /// (each rotation is signed by the later key too, so the pinned key vouches for its
    /// predecessors); later ones reached through rotations out of keys that were never revoked
    /// (a rotation signed by a compromised key could be the attacker's); and, when the archive
    /// has a root key (which the first key vouches for), every key the root brought in, and
    /// rotations onward from those. Pinning the root's fingerprint trusts what the root brought
    /// in. Empty when `pinned` is in neither.
    pub fn trusted_from(&self, pinned: &str) -> Vec<usize> {
        let n = self.eras.len();
        let mut trusted = vec![false; n];
        let root_pinned = self.root_fingerprint() == Some(pinned);
        match self.eras.iter().position(|e| e.fingerprint == pinned) {
            Some(p) => trusted[..=p].iter_mut().for_each(|t| *t = true),
            None if root_pinned => {}
            None => return Vec::new(),
        }
        let root_trusted = self.root.is_some();
        for i in 0..n {
            if root_trusted && self.eras[i].introduced_by_root {
                trusted[i] = true;
            }
            if i + 1 < n && trusted[i] && self.eras[i].compromised_since.is_none() {
                trusted[i + 1] = true;
            }
        }
        (0..n).filter(|&i| trusted[i]).collect()
    }
}

/// Checks that `signature` over a statement's `bytes` is `key`'s (`role` in the message:
/// "its signature by the retiring key SHA256:… is not valid").
fn signed_by(key: &PublicKey, bytes: &[u8], signature: &[u8], role: &str) -> Result<(), String> {
    key.verify(bytes, signature)
        .map_err(|_| format!("its signature by {role} {} is not valid", key.fingerprint()))
}

/// The public key a statement names, checked against the fingerprint it gives.
fn decode_key(r: &KeyRef) -> Result<PublicKey, String> {
    let bytes = r
        .key_bytes()
        .ok_or_else(|| format!("public_key of {} is not 64 hex digits", r.fingerprint))?;
    let key = PublicKey::from_bytes(&bytes)
        .map_err(|e| format!("public_key of {}: {e}", r.fingerprint))?;
    if key.fingerprint().to_string() != r.fingerprint {
        return Err(format!(
            "names fingerprint {}, but its public_key has fingerprint {}",
            r.fingerprint,
            key.fingerprint()
        ));
    }
    Ok(key)
}

/// The [`KeyRef`] of a public key.
pub fn key_ref(key: &PublicKey) -> KeyRef {
    KeyRef {
        fingerprint: key.fingerprint().to_string(),
        public_key: Sha256Digest(*key.as_bytes()).to_hex(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SigningKey;
    use exhibit_core::key_statement::KeyStatementType;

    const ORIGIN: &str = "archive.example";

    struct Files {
        bytes: Vec<u8>,
        sig: Vec<u8>,
        new_sig: Option<Vec<u8>>,
    }

    fn statement(
        seq: u64,
        previous: Option<&Files>,
        action: KeyAction,
        key: &SigningKey,
        other: &SigningKey,
        log_size: u64,
    ) -> KeyStatement {
        let (subject, signer, new_key, since) = match action {
            KeyAction::Rotate | KeyAction::Root => {
                (key, key, Some(key_ref(&other.public_key())), None)
            }
            KeyAction::Revoke => (other, key, None, Some("2026-06-01T00:00:00Z".to_owned())),
        };
        KeyStatement {
            statement_type: KeyStatementType::V1,
            origin: ORIGIN.into(),
            sequence: seq,
            previous_sha256: previous.map(|p| Sha256Digest::of(&p.bytes)),
            action,
            key: key_ref(&subject.public_key()),
            new_key,
            log_size,
            log_root: Sha256Digest([0; 32]),
            compromised_since: since,
            created_at: "2026-06-02T00:00:00Z".into(),
            signer: signer.public_key().fingerprint().to_string(),
        }
    }

    fn signed(s: &KeyStatement, by: &SigningKey, new: Option<&SigningKey>) -> Files {
        let bytes = s.to_canonical_bytes().unwrap();
        Files {
            sig: by.sign(&bytes).to_bytes().to_vec(),
            new_sig: new.map(|k| k.sign(&bytes).to_bytes().to_vec()),
            bytes,
        }
    }

    fn follow(files: &[Files]) -> Result<KeyHistory, HistoryError> {
        let stored: Vec<StoredStatement<'_>> = files
            .iter()
            .map(|f| StoredStatement {
                name: "s",
                bytes: &f.bytes,
                signature: &f.sig,
                new_key_signature: f.new_sig.as_deref(),
            })
            .collect();
        KeyHistory::follow(ORIGIN, &stored)
    }

    /// k1 → k2 at 3, k2 → k3 at 5, then k3 revokes k1.
    fn keys() -> [SigningKey; 3] {
        [0; 3].map(|_| SigningKey::generate().unwrap())
    }

    fn chain(k: &[SigningKey; 3]) -> Vec<Files> {
        let a = signed(
            &statement(1, None, KeyAction::Rotate, &k[0], &k[1], 3),
            &k[0],
            Some(&k[1]),
        );
        let b = signed(
            &statement(2, Some(&a), KeyAction::Rotate, &k[1], &k[2], 5),
            &k[1],
            Some(&k[2]),
        );
        let c = signed(
            &statement(3, Some(&b), KeyAction::Revoke, &k[2], &k[0], 5),
            &k[2],
            None,
        );
        vec![a, b, c]
    }

    #[test]
    fn a_valid_chain_gives_eras_and_trust() {
        let k = keys();
        let h = follow(&chain(&k)).unwrap();
        assert_eq!(h.eras().len(), 3);
        let fp = |i: usize| k[i].public_key().fingerprint().to_string();
        assert_eq!(h.current().fingerprint, fp(2));
        for (leaf, era) in [(0, 0), (2, 0), (3, 1), (4, 1), (5, 2), (99, 2)] {
            assert_eq!(h.key_for_leaf(leaf).fingerprint, fp(era), "leaf {leaf}");
        }
        for (size, era) in [(0, 0), (1, 0), (3, 0), (4, 1), (5, 1), (6, 2)] {
            assert_eq!(
                h.key_for_checkpoint(size).fingerprint,
                fp(era),
                "size {size}"
            );
        }
        assert!(h.eras()[0].compromised_since.is_some());
        // The pinned last key vouches for all; the pinned (revoked) first key for itself only.
        assert_eq!(h.trusted_from(&fp(2)), vec![0, 1, 2]);
        assert_eq!(h.trusted_from(&fp(1)), vec![0, 1, 2]);
        assert_eq!(h.trusted_from(&fp(0)), vec![0]);
        assert!(h.trusted_from("SHA256:unknown").is_empty());
    }

    #[test]
    fn broken_chains_are_refused_naming_the_problem() {
        let k = keys();
        type Change = Box<dyn Fn(&mut Vec<Files>)>;
        let cases: Vec<(&str, Change, &str)> = vec![
            (
                "no new-key signature",
                Box::new(|f| f[0].new_sig = None),
                "signed by both keys",
            ),
            (
                "new key's signature by the old key",
                Box::new(|f| f[0].new_sig = Some(f[0].sig.clone())),
                "by the new key",
            ),
            (
                "old key's signature by the new key",
                Box::new(|f| f[0].sig = f[0].new_sig.clone().unwrap()),
                "by the retiring key",
            ),
            (
                "a statement removed",
                Box::new(|f| {
                    f.remove(1);
                }),
                "sequence 3, expected 2",
            ),
            ("two swapped", Box::new(|f| f.swap(0, 1)), "sequence"),
            (
                "a byte changed",
                Box::new(|f| f[1].bytes[5] ^= 1),
                "key statement",
            ),
        ];
        for (what, change, expect) in cases {
            let mut files = chain(&k);
            change(&mut files);
            let err = follow(&files).expect_err(what).to_string();
            assert!(err.contains(expect), "{what}: {err}");
        }
    }

    #[test]
    fn a_revocation_must_come_from_the_current_key_and_name_a_retired_one() {
        let k = keys();
        let a = signed(
            &statement(1, None, KeyAction::Rotate, &k[0], &k[1], 3),
            &k[0],
            Some(&k[1]),
        );
        // Signed by the retired key.
        let bad = signed(
            &statement(2, Some(&a), KeyAction::Revoke, &k[0], &k[2], 3),
            &k[0],
            None,
        );
        assert!(
            follow(&[a, bad])
                .unwrap_err()
                .to_string()
                .contains("current key")
        );
        let a = signed(
            &statement(1, None, KeyAction::Rotate, &k[0], &k[1], 3),
            &k[0],
            Some(&k[1]),
        );
        // A key the history never had.
        let bad = signed(
            &statement(2, Some(&a), KeyAction::Revoke, &k[1], &k[2], 3),
            &k[1],
            None,
        );
        assert!(
            follow(&[a, bad])
                .unwrap_err()
                .to_string()
                .contains("not a retired key")
        );
    }

    #[test]
    fn a_root_brings_in_keys_a_revoked_key_could_not() {
        let k = keys();
        let root = SigningKey::generate().unwrap();
        let mut genesis = statement(1, None, KeyAction::Root, &root, &k[0], 0);
        genesis.key = key_ref(&root.public_key());
        genesis.new_key = Some(key_ref(&k[0].public_key()));
        let g = signed(&genesis, &root, Some(&k[0]));
        // k0 → k1 by k0; k1 revoked (by the root); k1 → k2 by the root (k1 was lost).
        let a = signed(
            &statement(2, Some(&g), KeyAction::Rotate, &k[0], &k[1], 3),
            &k[0],
            Some(&k[1]),
        );
        let mut rev = statement(3, Some(&a), KeyAction::Revoke, &k[1], &k[1], 3);
        rev.key = key_ref(&k[0].public_key());
        rev.signer = root.public_key().fingerprint().to_string();
        let r = signed(&rev, &root, None);
        let mut rot = statement(4, Some(&r), KeyAction::Rotate, &k[1], &k[2], 4);
        rot.signer = root.public_key().fingerprint().to_string();
        let b = signed(&rot, &root, Some(&k[2]));
        let h = follow(&[g, a, r, b]).unwrap();
        let root_fp = root.public_key().fingerprint().to_string();
        assert_eq!(h.root_fingerprint(), Some(root_fp.as_str()));
        assert!(h.eras()[0].compromised_since.is_some());
        // The revoked first key does not carry trust to k1, but the root carries it to k2.
        let fp0 = k[0].public_key().fingerprint().to_string();
        assert_eq!(h.trusted_from(&fp0), vec![0, 2]);
        assert_eq!(h.trusted_from(&root_fp), vec![0, 2]);
        let fp2 = k[2].public_key().fingerprint().to_string();
        assert_eq!(h.trusted_from(&fp2), vec![0, 1, 2]);
        // A rotation signed by a key that is neither the retiring key nor the root is refused.
        let g = signed(&genesis, &root, Some(&k[0]));
        let mut bad = statement(2, Some(&g), KeyAction::Rotate, &k[0], &k[1], 3);
        bad.signer = k[2].public_key().fingerprint().to_string();
        let bad = signed(&bad, &k[2], Some(&k[1]));
        let err = follow(&[g, bad]).unwrap_err().to_string();
        assert!(
            err.contains("retiring key or the archive's root key"),
            "{err}"
        );
    }
}
