//! The witness's decision on an `add-checkpoint` request, without sockets: parse, check the
//! log's signature, check consistency with the latest cosigned checkpoint, persist, cosign.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use exhibit_core::checkpoint::Checkpoint;
use exhibit_core::manifest::shorten;
use exhibit_core::merkle::{empty_root, verify_consistency};
use exhibit_core::witness::{AddCheckpoint, SIZE_CONTENT_TYPE};
use exhibit_sign::SignedNote;
use exhibit_sign::cosignature::{CosignerKey, cosign};
use exhibit_sign::note::VerifierKey;

use exhibit_http::Response;

use crate::state::{Identity, LogState, StateError, lock_dir, read_log_state, write_log_state};

/// The media type of every answer but a 409 about the size (that of [`Response::text`]).
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Why a request is not cosigned. Each maps to exactly one status ([`Refusal::status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The body, the note or the checkpoint is malformed (400).
    Malformed(String),
    /// The old size is above the checkpoint's size (400).
    OldAboveSize {
        /// The old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The witness follows no log of this origin (404).
    UnknownOrigin(String),
    /// No signature by a key trusted for the origin verifies (403).
    NotSigned(String),
    /// The old size is not the size of the latest cosigned checkpoint (409, with that size).
    OldSizeMismatch {
        /// The size of the latest cosigned checkpoint (0 if none).
        latest: u64,
    },
    /// Same size as the latest cosigned checkpoint, another root: a fork (409).
    RootMismatch {
        /// The size of both.
        size: u64,
    },
    /// The consistency proof does not verify (422).
    BadProof(String),
    /// The witness's own state cannot be read or written (500).
    Internal(String),
}

impl Refusal {
    /// The HTTP status of the refusal: the one place each rule's status is written.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldAboveSize { .. } => 400,
            Refusal::NotSigned(_) => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::OldSizeMismatch { .. } | Refusal::RootMismatch { .. } => 409,
            Refusal::BadProof(_) => 422,
            Refusal::Internal(_) => 500,
        }
    }

    /// The answer: the latest size for a size mismatch (as the spec requires), else one line.
    pub fn response(&self) -> Response {
        let why = match self {
            Refusal::OldSizeMismatch { latest } => {
                return Response::new(self.status(), SIZE_CONTENT_TYPE, format!("{latest}\n"))
                    .with_summary(format!(
                        "old size mismatch: the latest cosigned size is {latest}"
                    ));
            }
            Refusal::Malformed(why) => format!("malformed request: {why}"),
            Refusal::OldAboveSize { old, size } => {
                format!("old size {old} is above the checkpoint's size {size}")
            }
            Refusal::UnknownOrigin(origin) => format!("unknown log origin {origin:?}"),
            Refusal::NotSigned(origin) => {
                format!("no valid signature by a key trusted for {origin:?}")
            }
            Refusal::RootMismatch { size } => format!(
                "the checkpoint's root differs from the one cosigned at size {size}: a fork"
            ),
            Refusal::BadProof(why) => format!("the consistency proof does not verify: {why}"),
            Refusal::Internal(why) => format!("witness state error: {why}"),
        };
        Response::text(self.status(), &why)
    }
}

/// Checks a checkpoint of `size` and `root` against the latest cosigned state (`None`: never
/// cosigned, that is size 0), given the request's old size and proof. Pure.
pub fn check_consistency(
    latest: Option<&LogState>,
    old: u64,
    proof: &[[u8; 32]],
    size: u64,
    root: &[u8; 32],
) -> Result<(), Refusal> {
    if old > size {
        return Err(Refusal::OldAboveSize { old, size });
    }
    let (latest_size, latest_root) = latest.map_or((0, empty_root()), |s| (s.size, s.root));
    if old != latest_size {
        return Err(Refusal::OldSizeMismatch {
            latest: latest_size,
        });
    }
    if old == size && *root != latest_root {
        return Err(Refusal::RootMismatch { size });
    }
    if old == 0 || old == size {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(Refusal::BadProof(format!(
                "a proof from size {old} to {size} must be empty, it has {} hashes",
                proof.len()
            )))
        };
    }
    verify_consistency(old, size, &latest_root, root, proof)
        .map_err(|e| Refusal::BadProof(e.to_string()))
}

/// A log the witness follows: its keys and the lock that serialises its requests.
#[derive(Debug)]
struct TrustedLog {
    keys: Vec<VerifierKey>,
    lock: Mutex<()>,
}

/// A witness: its identity, the logs it follows, and its directory of state.
#[derive(Debug)]
pub struct Witness {
    dir: PathBuf,
    identity: Identity,
    logs: HashMap<String, TrustedLog>,
    /// Held while the witness exists: one process per directory.
    _lock: File,
}

impl Witness {
    /// Opens the witness in `dir` (see [`Identity::open`] for `name`) following `logs`, each
    /// trusted for the origin that is its key name. Several keys may share an origin. Fails
    /// if another process holds the directory.
    pub fn open(dir: &Path, name: Option<&str>, logs: &[VerifierKey]) -> Result<Self, StateError> {
        let lock = lock_dir(dir)?;
        // A witness killed while writing leaves a temporary file; with the lock held, none is
        // a live writer's.
        crate::state::remove_leftovers(dir)?;
        let identity = Identity::open(dir, name)?;
        let mut map: HashMap<String, TrustedLog> = HashMap::new();
        for key in logs {
            let log = map.entry(key.name.clone()).or_insert_with(|| TrustedLog {
                keys: Vec::new(),
                lock: Mutex::new(()),
            });
            if !log.keys.contains(key) {
                log.keys.push(key.clone());
            }
        }
        Ok(Witness {
            dir: dir.to_path_buf(),
            identity,
            logs: map,
            _lock: lock,
        })
    }

    /// The witness's cosigner key; displayed, its vkey.
    pub fn cosigner_key(&self) -> &CosignerKey {
        &self.identity.cosigner
    }

    /// Answers an `add-checkpoint` request body, cosigning at the current time.
    pub fn add_checkpoint(&self, body: &[u8]) -> Response {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.add_checkpoint_at(body, now)
    }

    /// Answers an `add-checkpoint` request body, cosigning at `now` (UNIX seconds), or later
    /// if the log was cosigned later than that before (cosignature times never go back).
    pub fn add_checkpoint_at(&self, body: &[u8], now: u64) -> Response {
        match self.decide(body, now) {
            Ok(r) => r,
            Err(refusal) => refusal.response(),
        }
    }

    /// Checks everything, then persists and cosigns.
    fn decide(&self, body: &[u8], now: u64) -> Result<Response, Refusal> {
        let request = AddCheckpoint::parse(body).map_err(Refusal::Malformed)?;
        let note = SignedNote::parse(&request.note)
            .map_err(|e| Refusal::Malformed(format!("the checkpoint note: {e}")))?;
        let checkpoint = Checkpoint::parse(&note.text)
            .map_err(|e| Refusal::Malformed(format!("the checkpoint: {e}")))?;
        let origin = shorten(&checkpoint.origin, 120);
        let log = self
            .logs
            .get(&checkpoint.origin)
            .ok_or_else(|| Refusal::UnknownOrigin(origin.clone()))?;
        if !log
            .keys
            .iter()
            .any(|k| note.verify(&k.name, &k.key).is_ok())
        {
            return Err(Refusal::NotSigned(origin));
        }

        // From reading the state to persisting the new one, this log's requests wait.
        let _serialised = log.lock.lock().unwrap_or_else(|p| p.into_inner());
        let internal = |e: StateError| Refusal::Internal(e.to_string());
        let latest = read_log_state(&self.dir, &checkpoint.origin).map_err(internal)?;
        check_consistency(
            latest.as_ref(),
            request.old,
            &request.proof,
            checkpoint.size,
            &checkpoint.root,
        )?;
        let timestamp = now.max(latest.as_ref().map_or(0, |s| s.timestamp));
        let line = cosign(
            &note.text,
            &self.identity.name,
            &self.identity.key,
            timestamp,
        )
        .map_err(|e| Refusal::Internal(e.to_string()))?;
        let state = LogState {
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root: checkpoint.root,
            timestamp,
        };
        write_log_state(&self.dir, &state).map_err(internal)?;
        Ok(
            Response::new(200, TEXT_CONTENT_TYPE, line).with_summary(format!(
                "cosigned {origin:?} at size {} (from {})",
                checkpoint.size, request.old
            )),
        )
    }
}

#[cfg(test)]
mod tests {
    use exhibit_core::checkpoint::base64_encode;
    use exhibit_core::merkle::{MemoryTree, consistency_proof, leaf_hash};
    use exhibit_sign::SigningKey;
    use exhibit_sign::cosignature::verify_cosignature;
    use exhibit_sign::note::{sign_note, verifier_key};

    use super::*;
    use crate::state::log_state_path;

    const ORIGIN: &str = "example.com/log";

    /// The body of an answer, which the witness always gives as UTF-8 bytes.
    fn text_of(r: &Response) -> &str {
        match &r.body {
            exhibit_http::Body::Bytes(b) => std::str::from_utf8(b).unwrap(),
            exhibit_http::Body::Reader { .. } => panic!("a streamed answer: {r:?}"),
        }
    }

    struct Log {
        key: SigningKey,
        tree: MemoryTree,
    }

    impl Log {
        fn new() -> Log {
            Log {
                key: SigningKey::generate().unwrap(),
                tree: MemoryTree::new(),
            }
        }

        fn vkey(&self) -> VerifierKey {
            VerifierKey::parse(&verifier_key(ORIGIN, &self.key.public_key())).unwrap()
        }

        fn grow(&mut self, n: u64) {
            for _ in 0..n {
                let i = self.tree.size();
                self.tree.push(leaf_hash(format!("leaf {i}").as_bytes()));
            }
        }

        fn note(&self) -> String {
            let text = format!(
                "{ORIGIN}\n{}\n{}\n",
                self.tree.size(),
                base64_encode(&self.tree.root())
            );
            sign_note(&text, ORIGIN, &self.key).unwrap()
        }

        /// A request from `old` to the current size, with a real proof.
        fn body(&self, old: u64) -> Vec<u8> {
            let proof = if old == 0 {
                Vec::new()
            } else {
                consistency_proof(old, self.tree.size(), &self.tree).unwrap()
            };
            AddCheckpoint {
                old,
                proof,
                note: self.note(),
            }
            .to_body()
            .into_bytes()
        }
    }

    fn witness(dir: &Path, log: &Log) -> Witness {
        Witness::open(dir, Some("witness.example/w1"), &[log.vkey()]).unwrap()
    }

    #[test]
    fn cosigns_a_first_then_a_consistent_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new();
        log.grow(3);
        let w = witness(dir.path(), &log);
        let r = w.add_checkpoint_at(&log.body(0), 1_700_000_000);
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            text_of(&r).starts_with("\u{2014} witness.example/w1 "),
            "{r:?}"
        );
        let cosigned = SignedNote::parse(&format!("{}{}", log.note(), text_of(&r))).unwrap();
        assert_eq!(
            verify_cosignature(&cosigned, w.cosigner_key()).unwrap(),
            1_700_000_000
        );

        log.grow(5);
        let r = w.add_checkpoint_at(&log.body(3), 1_700_000_100);
        assert_eq!(r.status, 200, "{r:?}");
        // The same checkpoint again: cosigned again, no proof needed.
        let r = w.add_checkpoint_at(&log.body(8), 1_700_000_200);
        assert_eq!(r.status, 200, "{r:?}");
        let state = read_log_state(dir.path(), ORIGIN).unwrap().unwrap();
        assert_eq!((state.size, state.root), (8, log.tree.root()));
    }

    #[test]
    fn each_refusal_has_its_status_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new();
        log.grow(4);
        let w = witness(dir.path(), &log);
        assert_eq!(w.add_checkpoint_at(&log.body(0), 100).status, 200);
        let before = read_log_state(dir.path(), ORIGIN).unwrap();

        // A stale old size: 409 with the latest size, as text/x.tlog.size.
        log.grow(2);
        let r = w.add_checkpoint_at(&log.body(0), 200);
        assert_eq!(
            (r.status, r.content_type.as_str(), text_of(&r)),
            (409, SIZE_CONTENT_TYPE, "4\n")
        );
        let r = w.add_checkpoint_at(&log.body(5), 200);
        assert_eq!((r.status, text_of(&r)), (409, "4\n"));

        // A bad proof: 422.
        let mut request = AddCheckpoint::parse(&log.body(4)).unwrap();
        request.proof[0][0] ^= 1;
        let r = w.add_checkpoint_at(request.to_body().as_bytes(), 200);
        assert_eq!(r.status, 422, "{r:?}");
        request.proof.pop();
        assert_eq!(
            w.add_checkpoint_at(request.to_body().as_bytes(), 200)
                .status,
            422
        );

        // A fork at the cosigned size: 409 (not the size body).
        let mut fork = Log {
            key: log.key.clone(),
            tree: MemoryTree::new(),
        };
        for i in 0..4 {
            fork.tree.push(leaf_hash(format!("other {i}").as_bytes()));
        }
        let same_size = AddCheckpoint {
            old: 4,
            proof: vec![],
            note: fork.note(),
        };
        let r = w.add_checkpoint_at(same_size.to_body().as_bytes(), 200);
        assert_eq!(
            (r.status, r.content_type.as_str()),
            (409, TEXT_CONTENT_TYPE),
            "{r:?}"
        );
        // A fork that grew: its proof from the cosigned root cannot verify.
        fork.grow(3);
        let forked = AddCheckpoint {
            old: 4,
            proof: consistency_proof(4, 7, &fork.tree).unwrap(),
            note: fork.note(),
        };
        assert_eq!(
            w.add_checkpoint_at(forked.to_body().as_bytes(), 200).status,
            422
        );

        // old above size: 400; malformed: 400.
        let mut above = AddCheckpoint::parse(&log.body(4)).unwrap();
        above.old = 9;
        assert_eq!(
            w.add_checkpoint_at(above.to_body().as_bytes(), 200).status,
            400
        );
        for bad in [&b"old 1\n"[..], b"", b"old 0\n\nnot a note\n", b"\xff"] {
            let r = w.add_checkpoint_at(bad, 200);
            assert_eq!(r.status, 400, "{r:?}");
            assert_eq!(text_of(&r).matches('\n').count(), 1, "{r:?}");
        }
        let unsigned = AddCheckpoint {
            old: 4,
            proof: vec![],
            note: format!("{ORIGIN}\n4\n{}\n\n", base64_encode(&[0; 32])),
        };
        assert_eq!(
            w.add_checkpoint_at(unsigned.to_body().as_bytes(), 200)
                .status,
            400
        );

        // Signed by another key: 403. Another origin: 404.
        let stranger = Log {
            key: SigningKey::generate().unwrap(),
            tree: log.tree.clone(),
        };
        assert_eq!(w.add_checkpoint_at(&stranger.body(4), 200).status, 403);
        let text = format!("other.example/log\n1\n{}\n", base64_encode(&[1; 32]));
        let other = AddCheckpoint {
            old: 0,
            proof: vec![],
            note: sign_note(&text, "other.example/log", &log.key).unwrap(),
        };
        assert_eq!(
            w.add_checkpoint_at(other.to_body().as_bytes(), 200).status,
            404
        );

        assert_eq!(read_log_state(dir.path(), ORIGIN).unwrap(), before);
        // And the honest request still works from the old state.
        assert_eq!(w.add_checkpoint_at(&log.body(4), 300).status, 200);
    }

    #[test]
    fn the_first_request_needs_an_empty_proof_and_equal_sizes_equal_roots() {
        let mut log = Log::new();
        log.grow(2);
        let none: Option<&LogState> = None;
        let root = log.tree.root();
        assert_eq!(check_consistency(none, 0, &[], 2, &root), Ok(()));
        assert!(matches!(
            check_consistency(none, 0, &[[0; 32]], 2, &root),
            Err(Refusal::BadProof(_))
        ));
        assert_eq!(check_consistency(none, 0, &[], 0, &empty_root()), Ok(()));
        assert_eq!(
            check_consistency(none, 0, &[], 0, &root),
            Err(Refusal::RootMismatch { size: 0 })
        );
        let state = LogState {
            origin: ORIGIN.into(),
            size: 2,
            root,
            timestamp: 0,
        };
        assert!(matches!(
            check_consistency(Some(&state), 2, &[[0; 32]], 2, &root),
            Err(Refusal::BadProof(_))
        ));
        assert_eq!(
            check_consistency(Some(&state), 1, &[], 2, &root),
            Err(Refusal::OldSizeMismatch { latest: 2 })
        );
    }

    #[test]
    fn state_survives_a_restart_and_times_never_go_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new();
        log.grow(1);
        {
            let w = witness(dir.path(), &log);
            assert_eq!(w.add_checkpoint_at(&log.body(0), 5_000).status, 200);
            // One process per directory.
            assert!(matches!(
                Witness::open(dir.path(), None, &[log.vkey()]),
                Err(StateError::Busy { .. })
            ));
        }
        let w = witness(dir.path(), &log);
        log.grow(1);
        let r = w.add_checkpoint_at(&log.body(0), 6_000);
        assert_eq!((r.status, text_of(&r)), (409, "1\n"));
        // The clock went back: the cosignature keeps the later time.
        let r = w.add_checkpoint_at(&log.body(1), 4_000);
        assert_eq!(r.status, 200);
        let cosigned = SignedNote::parse(&format!("{}{}", log.note(), text_of(&r))).unwrap();
        assert_eq!(
            verify_cosignature(&cosigned, w.cosigner_key()).unwrap(),
            5_000
        );
    }

    #[test]
    fn damaged_state_refuses_with_500_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new();
        log.grow(2);
        let w = witness(dir.path(), &log);
        assert_eq!(w.add_checkpoint_at(&log.body(0), 1).status, 200);
        let path = log_state_path(dir.path(), ORIGIN);
        std::fs::write(&path, "garbage\n").unwrap();
        for old in [0, 2] {
            let r = w.add_checkpoint_at(&log.body(old), 2);
            assert_eq!(r.status, 500, "{r:?}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage\n");
    }

    #[test]
    fn several_keys_for_one_origin_and_unknown_signatures_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::new();
        log.grow(1);
        let old_key = Log::new();
        let w = Witness::open(dir.path(), None, &[old_key.vkey(), log.vkey()]).unwrap();
        // A note with an extra signature by an unknown key is fine.
        let extra = sign_note(
            &SignedNote::parse(&log.note()).unwrap().text,
            "x",
            &old_key.key,
        )
        .unwrap();
        let sig = extra.lines().last().unwrap();
        let note = format!("{}{sig}\n", log.note());
        let body = AddCheckpoint {
            old: 0,
            proof: vec![],
            note,
        };
        assert_eq!(
            w.add_checkpoint_at(body.to_body().as_bytes(), 1).status,
            200
        );
    }
}
