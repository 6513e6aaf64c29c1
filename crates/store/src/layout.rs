//! The names of the archive directory (docs/FORMAT.md §5), written and read here only.
//!
//! Every file and directory exhibit puts in an archive has its name *formatted* by one function
//! of this module (an id, digest or size in, a path relative to the archive root out, always
//! with `/`) and, where a name is ever read back from a directory listing, *parsed* by its
//! mirror image (a relative path in, `Some` typed value out). A parser accepts exactly the
//! names its formatter writes: a name that is not byte for byte what the formatter would write
//! for the value it seems to hold (`..`, an extra dot, a missing or an extra leading zero,
//! upper-case hex, a file of another kind's directory, …) is `None`, so that callers never
//! act on a file that merely resembles one of the archive's.
//!
//! What this module is not for: opening, reading, locking or judging files (see [`crate::fsutil`],
//! [`crate::locks`] and `orphans.rs`); joining the archive root in front of a relative path is
//! the caller's `root.join(..)`. The names are part of the on-disk format: changing one here
//! changes the format.
//!
//! Modelled on transparency-dev/tessera's `api/layout` (one function per path, with its parser
//! beside it) and on this workspace's `exhibit_bundle::layout`.

use exhibit_core::{RecordId, RecordKind, Sha256Digest};

/// The configuration file, at the archive root.
pub const CONFIG_FILE: &str = "exhibit.toml";
/// The catalog (SQLite), at the archive root.
pub const CATALOG_FILE: &str = "catalog.sqlite";
/// The files SQLite keeps beside a database file `<db>`, by suffix: `<db>-journal` (the
/// rollback journal), `<db>-wal` (the write-ahead log) and `<db>-shm` (its shared-memory
/// index).
pub const CATALOG_SIDE_FILES: [&str; 3] = ["-journal", "-wal", "-shm"];
/// The suffix of SQLite's shared-memory index beside a WAL database (one of
/// [`CATALOG_SIDE_FILES`]).
pub const SHM_SUFFIX: &str = "-shm";

/// The directory of the archive's keys.
pub const KEYS_DIR: &str = "keys";
/// Where the generated private signing key goes.
pub const DEFAULT_KEY: &str = "keys/signing.pem";
/// The public key of the archive: the current signing key's.
pub const PUBLIC_KEY: &str = "keys/signing.pub.pem";
/// The key history: signed statements rotating and revoking keys (docs/FORMAT.md §2.1).
pub const KEY_HISTORY_DIR: &str = "keys/history";

/// Where `key rotate` writes the archive's `number`-th signing key (2 for the first rotation):
/// `keys/signing-<number>-<8 hex of SHA-256 of the public key>.pem`. Named by the key too, so
/// that a key left by a rotation that crashed before its statement never stands in the way of
/// the next one, and `key rotate --finish` finds the current key's file from the history alone.
pub fn rotated_key_path(number: usize, public_key: &[u8; 32]) -> String {
    format!(
        "{KEYS_DIR}/signing-{number}-{}.pem",
        Sha256Digest::of(public_key).short(8)
    )
}

/// The directory of content-addressed objects.
pub const OBJECTS_DIR: &str = "objects";
/// The directory of signed manifests (and of [`RETIRED_IDS`]).
pub const MANIFESTS_DIR: &str = "manifests";
/// The record of manifest numbers `fsck --repair` retired: one record id per line, sorted. The
/// numbers of removed orphan manifests stay used through the catalog's counters; this file keeps
/// them used when the catalog is rebuilt ([`crate::reindex`]).
pub const RETIRED_IDS: &str = "manifests/retired.txt";

/// The directory of the log.
pub const LOG_DIR: &str = "log";
/// The leaf hashes of the log, 32 bytes per leaf.
pub const LEAVES_FILE: &str = "log/leaves";
/// The latest signed checkpoint, as a file.
pub const LATEST_CHECKPOINT: &str = "log/checkpoint";
/// The directory of every signed checkpoint and of the time-stamp tokens over them.
pub const CHECKPOINT_DIR: &str = "log/checkpoints";
/// The largest tree size a checkpoint file name can hold (12 decimal digits).
pub const MAX_CHECKPOINT_FILE_SIZE: u64 = 999_999_999_999;

/// The directory of TSA CA bundles copied into the archive.
pub const TSA_DIR: &str = "tsa";
/// The CA bundle `init --tsa-ca` copies into the archive.
pub const INIT_TSA_CA: &str = "tsa/ca.pem";

/// The directory of lock files.
pub const LOCKS_DIR: &str = "locks";
/// Held shared by every process that has the catalog open, exclusively by `reindex`.
pub const CATALOG_LOCK: &str = "locks/catalog.lock";
/// Held shared by every process that writes (or deduplicates against) objects, exclusively by
/// `fsck --repair` when it removes orphan objects.
pub const WRITERS_LOCK: &str = "locks/writers.lock";
/// On Linux, every document's capture lock is one byte of this file.
pub const DOCUMENTS_LOCK: &str = "locks/documents.lock";

/// The start of every temporary file name exhibit writes in the archive: atomic writes
/// (`.tmp-*` beside their target), staged objects (`objects/.tmp-*.zst`), a catalog being
/// rebuilt (`.tmp-reindex-*.sqlite`).
pub const TEMP_PREFIX: &str = ".tmp-";
/// The end of a staged object's temporary file name.
pub const OBJECT_TEMP_SUFFIX: &str = ".zst";
/// The start of the temporary file name of a catalog being rebuilt by `reindex`.
pub const REINDEX_TEMP_PREFIX: &str = ".tmp-reindex-";
/// The end of the temporary file name of a catalog being rebuilt by `reindex`.
pub const REINDEX_TEMP_SUFFIX: &str = ".sqlite";
/// The start of the staging directory `init` assembles an archive in, beside it.
pub const INIT_STAGING_PREFIX: &str = ".exhibit-init-";
/// The start of a private key's temporary file (written by `exhibit-sign` beside the key).
pub const KEY_TEMP_PREFIX: &str = ".exhibit-key-";

/// Whether a directory entry's name is one of exhibit's temporary files (or directories):
/// `.tmp-*`, `.exhibit-key-*`, `.exhibit-init-*`. Readers ignore them; crashes can leave them.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX) || name.starts_with(".exhibit-")
}

/// `catalog.sqlite.bak-<stamp>` for the first backup of a `reindex` at `stamp` (UTC,
/// `YYYYMMDDTHHMMSSZ`), `catalog.sqlite.bak-<stamp>-<n>` for the `n`-th (`n` ≥ 2) within one
/// second.
pub fn catalog_backup_name(stamp: &str, n: u32) -> String {
    match n {
        0 | 1 => format!("{CATALOG_FILE}.bak-{stamp}"),
        _ => format!("{CATALOG_FILE}.bak-{stamp}-{n}"),
    }
}

/// The side file `suffix` (one of [`CATALOG_SIDE_FILES`]) of the SQLite database at `db`:
/// `db` with the suffix appended (`catalog.sqlite-wal`), byte for byte.
pub fn sqlite_side_file(db: &std::path::Path, suffix: &str) -> std::path::PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

// ---------------------------------------------------------------------------------------------
// Objects: objects/<h0h1>/<sha256>.zst

/// `<h0h1>/<sha256>.zst`: an object's path relative to the objects directory.
pub fn object_path_in_store(sha256: &Sha256Digest) -> String {
    let hex = sha256.to_hex();
    format!("{}/{hex}.zst", &hex[..2])
}

/// `objects/<h0h1>/<sha256>.zst`: where the object with this SHA-256 lives.
pub fn object_path(sha256: &Sha256Digest) -> String {
    format!("{OBJECTS_DIR}/{}", object_path_in_store(sha256))
}

/// Whether `name` is the name of a shard directory of `objects/`: two lower-case hex digits.
pub fn is_object_shard(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(is_lower_hex)
}

/// The SHA-256 an object path (as [`object_path`] writes it) names.
pub fn parse_object_path(rel: &str) -> Option<Sha256Digest> {
    let rest = rel.strip_prefix(OBJECTS_DIR)?.strip_prefix('/')?;
    let (shard, name) = rest.split_once('/')?;
    let hex = name.strip_suffix(".zst")?;
    if !is_object_shard(shard)
        || hex.len() != 64
        || !hex.bytes().all(is_lower_hex)
        || !hex.starts_with(shard)
    {
        return None;
    }
    hex.parse().ok()
}

fn is_lower_hex(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f')
}

// ---------------------------------------------------------------------------------------------
// Manifests: manifests/<K>/<nnn>/<ID>.json and .json.sig

/// Whether records of `kind` are signed manifests of their own (captures, provisions,
/// re-extractions; documents and versions are catalog rows).
pub fn has_manifest(kind: RecordKind) -> bool {
    kind.has_manifest()
}

/// `manifests/<K>`: the directory of the manifests of one kind (`K` its id letter).
pub fn manifest_kind_dir(kind: RecordKind) -> String {
    format!("{MANIFESTS_DIR}/{}", kind.letter())
}

/// `manifests/<K>/<nnn>`: the directory of a manifest, `nnn` = `floor(number / 1000)` with at
/// least three digits.
pub fn manifest_dir(id: &RecordId) -> String {
    format!("{}/{:03}", manifest_kind_dir(id.kind()), id.number() / 1000)
}

/// `manifests/<K>/<nnn>/<ID>.json`: where the signed manifest of `id` lives.
pub fn manifest_path(id: &RecordId) -> String {
    format!("{}/{id}.json", manifest_dir(id))
}

/// `manifests/<K>/<nnn>/<ID>.json.sig`: where the signature over that manifest lives.
pub fn signature_path(id: &RecordId) -> String {
    format!("{}.sig", manifest_path(id))
}

/// A file of `manifests/`, by what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestFile {
    /// `<ID>.json`: the signed manifest bytes.
    Manifest(RecordId),
    /// `<ID>.json.sig`: the raw signature over them.
    Signature(RecordId),
}

impl ManifestFile {
    /// The record the file belongs to.
    pub fn id(&self) -> &RecordId {
        match self {
            ManifestFile::Manifest(id) | ManifestFile::Signature(id) => id,
        }
    }

    /// The file's path, as [`manifest_path`] or [`signature_path`] writes it.
    pub fn path(&self) -> String {
        match self {
            ManifestFile::Manifest(id) => manifest_path(id),
            ManifestFile::Signature(id) => signature_path(id),
        }
    }
}

/// What a manifest or signature path (as [`manifest_path`] and [`signature_path`] write them)
/// names: only the canonical spelling of an id of a kind that has manifests, in its own kind's
/// directory and shard. The id's prefix is not checked against any archive's: callers do.
pub fn parse_manifest_path(rel: &str) -> Option<ManifestFile> {
    let name = rel.rsplit('/').next()?;
    let (stem, signature) = match name.strip_suffix(".json.sig") {
        Some(stem) => (stem, true),
        None => (name.strip_suffix(".json")?, false),
    };
    let id: RecordId = stem.parse().ok()?;
    let file = match signature {
        true => ManifestFile::Signature(id),
        false => ManifestFile::Manifest(id),
    };
    (has_manifest(file.id().kind()) && file.path() == rel).then_some(file)
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and tokens: log/checkpoints/<size>.checkpoint and <size>.checkpoint.<tsa>.tsr

/// `<size, 12 digits>.checkpoint`: a checkpoint file's name in [`CHECKPOINT_DIR`]. (A size
/// above [`MAX_CHECKPOINT_FILE_SIZE`] would need more digits than any reader accepts.)
pub fn checkpoint_file_name(size: u64) -> String {
    format!("{size:012}.checkpoint")
}

/// `log/checkpoints/<size, 12 digits>.checkpoint`: the signed checkpoint of a tree size.
pub fn checkpoint_path(size: u64) -> String {
    format!("{CHECKPOINT_DIR}/{}", checkpoint_file_name(size))
}

/// `<size, 12 digits>.checkpoint.<tsa>.tsr`: a token file's name in [`CHECKPOINT_DIR`].
pub fn token_file_name(size: u64, tsa: &str) -> String {
    format!("{}.{tsa}.tsr", checkpoint_file_name(size))
}

/// `log/checkpoints/<size, 12 digits>.checkpoint.<tsa>.tsr`: the RFC 3161 token of the TSA
/// named `tsa` over the checkpoint of a tree size, beside it.
pub fn token_path(size: u64, tsa: &str) -> String {
    format!("{CHECKPOINT_DIR}/{}", token_file_name(size, tsa))
}

/// `<size, 12 digits>.checkpoint.<witness>.cosig`: a cosignature file's name in
/// [`CHECKPOINT_DIR`].
pub fn cosignature_file_name(size: u64, witness: &str) -> String {
    format!("{}.{witness}.cosig", checkpoint_file_name(size))
}

/// `log/checkpoints/<size, 12 digits>.checkpoint.<witness>.cosig`: the cosignature line of the
/// witness named `witness` on the checkpoint of a tree size, beside it.
pub fn cosignature_path(size: u64, witness: &str) -> String {
    format!("{CHECKPOINT_DIR}/{}", cosignature_file_name(size, witness))
}

/// A token file's name, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenFile<'a> {
    /// The size of the checkpoint it stamps.
    pub size: u64,
    /// The TSA's name (a valid one: [`is_tsa_name`]).
    pub tsa: &'a str,
}

/// A file of [`CHECKPOINT_DIR`], by what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointDirFile<'a> {
    /// `<size>.checkpoint`: a signed checkpoint note.
    Checkpoint(u64),
    /// `<size>.checkpoint.<tsa>.tsr`: a time-stamp token over one.
    Token(TokenFile<'a>),
    /// `<size>.checkpoint.<witness>.cosig`: a witness's cosignature on one: the size and the
    /// witness's configured name.
    Cosignature(u64, &'a str),
}

/// What a file name in [`CHECKPOINT_DIR`] (as [`checkpoint_file_name`] and
/// [`token_file_name`] write them) names: exactly 12 ASCII digits, then `.checkpoint`, or
/// `.checkpoint.` + a valid TSA name + `.tsr`.
pub fn parse_checkpoint_dir_name(name: &str) -> Option<CheckpointDirFile<'_>> {
    let digits = name.get(..12)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let size = digits.parse().ok()?;
    let rest = name[12..].strip_prefix(".checkpoint")?;
    if rest.is_empty() {
        return Some(CheckpointDirFile::Checkpoint(size));
    }
    let rest = rest.strip_prefix('.')?;
    if let Some(witness) = rest.strip_suffix(".cosig") {
        return is_tsa_name(witness).then_some(CheckpointDirFile::Cosignature(size, witness));
    }
    let tsa = rest.strip_suffix(".tsr")?;
    is_tsa_name(tsa).then_some(CheckpointDirFile::Token(TokenFile { size, tsa }))
}

/// The size a checkpoint path (as [`checkpoint_path`] writes it) names.
pub fn parse_checkpoint_path(rel: &str) -> Option<u64> {
    match parse_checkpoint_dir_name(in_checkpoint_dir(rel)?)? {
        CheckpointDirFile::Checkpoint(size) => Some(size),
        _ => None,
    }
}

/// The size and TSA a token path (as [`token_path`] writes it) names.
pub fn parse_token_path(rel: &str) -> Option<TokenFile<'_>> {
    match parse_checkpoint_dir_name(in_checkpoint_dir(rel)?)? {
        CheckpointDirFile::Token(token) => Some(token),
        _ => None,
    }
}

/// The file name of `rel` when `rel` is directly in [`CHECKPOINT_DIR`].
fn in_checkpoint_dir(rel: &str) -> Option<&str> {
    let name = rel.strip_prefix(CHECKPOINT_DIR)?.strip_prefix('/')?;
    (!name.contains('/')).then_some(name)
}

// ---------------------------------------------------------------------------------------------
// TSAs: tsa/<name>.ca.pem

/// Whether `name` may name a TSA or a witness (and so its token or cosignature files): 1 to 64
/// ASCII letters, digits, `.` or `-`, not starting with `.` or `-` (docs/FORMAT.md §5,
/// `tsa.name`, `witness.name`).
pub fn is_tsa_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// `tsa/<name>.ca.pem`: where `tsa add --ca` copies the CA bundle of the TSA `name`.
pub fn tsa_ca_path(name: &str) -> String {
    format!("{TSA_DIR}/{name}.ca.pem")
}

/// The TSA name a CA bundle path (as [`tsa_ca_path`] writes it) names.
pub fn parse_tsa_ca_path(rel: &str) -> Option<&str> {
    let name = rel
        .strip_prefix(TSA_DIR)?
        .strip_prefix('/')?
        .strip_suffix(".ca.pem")?;
    is_tsa_name(name).then_some(name)
}

// ---------------------------------------------------------------------------------------------
// Locks: locks/<hash of the URL>.lock (where byte-range locks are not available)

/// The byte of [`DOCUMENTS_LOCK`] that is the capture lock of the document `url` (Linux): the
/// first 8 bytes of SHA-256(url), big-endian, shifted right by 2 (a positive file offset;
/// collisions between documents are negligible).
pub fn document_lock_offset(url: &str) -> u64 {
    let digest = Sha256Digest::of(url.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_bytes()[..8]);
    u64::from_be_bytes(first) >> 2
}

/// `locks/<first 32 hex digits of SHA-256(url)>.lock`: the capture lock file of the document
/// `url` where byte-range locks are not used (other than Linux).
pub fn document_lock_path(url: &str) -> String {
    let digest = Sha256Digest::of(url.as_bytes());
    format!("{LOCKS_DIR}/{}.lock", digest.short(32))
}

/// Whether `rel` is a per-document lock file path (as [`document_lock_path`] writes them).
pub fn is_document_lock_path(rel: &str) -> bool {
    rel.strip_prefix(LOCKS_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_suffix(".lock"))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(is_lower_hex))
}

// ---------------------------------------------------------------------------------------------
// Change notifications: notify/outbox/<webhook>/<version id>.json and .state (this host's own)

/// The directory of change notifications (docs/FORMAT.md "Change notifications"): this host's
/// own, never pushed to a bucket.
pub const NOTIFY_DIR: &str = "notify";
/// The outbox: one directory per webhook ([`outbox_dir`]).
pub const NOTIFY_OUTBOX_DIR: &str = "notify/outbox";
/// Held exclusively by whoever delivers the outbox's notifications, so that no two deliveries
/// of one archive run at once.
pub const NOTIFY_LOCK: &str = "notify/outbox.lock";
/// The end of a queued notification's file name: the exact body to POST.
const OUTBOX_BODY_SUFFIX: &str = ".json";
/// The end of its state file's name: signature, attempts, next attempt.
const OUTBOX_STATE_SUFFIX: &str = ".state";

/// The first 16 hex digits of SHA-256(`url`): the name of a webhook's outbox directory.
pub fn webhook_hash(url: &str) -> String {
    Sha256Digest::of(url.as_bytes()).short(16)
}

/// `notify/outbox/<first 16 hex of SHA-256(url)>`: the outbox of the webhook at `url`.
pub fn outbox_dir(url: &str) -> String {
    format!("{NOTIFY_OUTBOX_DIR}/{}", webhook_hash(url))
}

/// `<version id>.json`: the name of the notification of `version` in a webhook's outbox.
pub fn outbox_body_name(version: &RecordId) -> String {
    format!("{version}{OUTBOX_BODY_SUFFIX}")
}

/// `<version id>.state`: the name of that notification's state file.
pub fn outbox_state_name(version: &RecordId) -> String {
    format!("{version}{OUTBOX_STATE_SUFFIX}")
}

/// `notify/outbox/<webhook>/<version id>.json`: the queued notification of `version` for the
/// webhook at `url`.
pub fn outbox_body_path(url: &str, version: &RecordId) -> String {
    format!("{}/{}", outbox_dir(url), outbox_body_name(version))
}

/// `notify/outbox/<webhook>/<version id>.state`: its state file.
pub fn outbox_state_path(url: &str, version: &RecordId) -> String {
    format!("{}/{}", outbox_dir(url), outbox_state_name(version))
}

/// `notify/outbox/<webhook>/notified-through`: the highest version number whose notification,
/// if it is a change, was queued for the webhook at `url` (decimal, a newline). Versions above
/// it are queued by the next catch-up; only versions at or below it are delivered, so a
/// delivered notification is never queued again.
pub fn outbox_mark_path(url: &str) -> String {
    format!("{}/notified-through", outbox_dir(url))
}

/// The version a file name of a webhook's outbox (as [`outbox_body_name`] writes it) names;
/// `None` for a state file, a temporary file or anything else.
pub fn parse_outbox_body_name(name: &str) -> Option<RecordId> {
    let id: RecordId = name.strip_suffix(OUTBOX_BODY_SUFFIX)?.parse().ok()?;
    (id.kind() == RecordKind::Version && outbox_body_name(&id) == name).then_some(id)
}

// ---------------------------------------------------------------------------------------------
// The archive in an S3 bucket (docs/FORMAT.md §5.1): every file above keeps its path as the key
// under the archive's prefix; these are the bucket's own.

/// The archive's identity in the bucket (`exhibit.json`): format, origin and id prefix, written
/// once by the `init` that made the archive; a host joining the archive reads it.
pub const BUCKET_IDENTITY: &str = "exhibit.json";
/// The directory of the log's segments in the bucket: an object can not be appended to, so the
/// leaves of each push are one write-once segment named by the index of its first leaf.
pub const SEGMENTS_DIR: &str = "log/segments";
/// The write lease in the bucket: the one host that holds it writes (replaced only by
/// compare-and-swap).
pub const BUCKET_LEASE: &str = "locks/writer";
/// Held exclusively (on this host) by whoever brings the local copy of a bucket archive up to
/// date or writes to it.
pub const REMOTE_LOCK: &str = "locks/remote.lock";

/// `log/segments/<first leaf index, 12 digits>`: the segment whose first leaf is `start`.
pub fn segment_key(start: u64) -> String {
    format!("{SEGMENTS_DIR}/{start:012}")
}

/// The first leaf index a segment key (as [`segment_key`] writes it) names.
pub fn parse_segment_key(rel: &str) -> Option<u64> {
    let digits = rel.strip_prefix(SEGMENTS_DIR)?.strip_prefix('/')?;
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use exhibit_core::IdPrefix;

    fn id(prefix: &str, kind: RecordKind, n: u64) -> RecordId {
        RecordId::new(&IdPrefix::new(prefix).unwrap(), kind, n)
    }

    #[test]
    fn layout_fixed_names_are_those_of_format_md() {
        assert_eq!(CONFIG_FILE, "exhibit.toml");
        assert_eq!(CATALOG_FILE, "catalog.sqlite");
        assert_eq!(PUBLIC_KEY, "keys/signing.pub.pem");
        assert_eq!(DEFAULT_KEY, "keys/signing.pem");
        assert_eq!(LEAVES_FILE, "log/leaves");
        assert_eq!(LATEST_CHECKPOINT, "log/checkpoint");
        assert_eq!(CHECKPOINT_DIR, "log/checkpoints");
        assert_eq!(RETIRED_IDS, "manifests/retired.txt");
        assert_eq!(CATALOG_LOCK, "locks/catalog.lock");
        assert_eq!(WRITERS_LOCK, "locks/writers.lock");
        assert_eq!(DOCUMENTS_LOCK, "locks/documents.lock");
        assert_eq!(INIT_TSA_CA, "tsa/ca.pem");
        assert!(CATALOG_SIDE_FILES.contains(&SHM_SUFFIX));
        assert_eq!(
            sqlite_side_file(std::path::Path::new("/a/catalog.sqlite"), SHM_SUFFIX),
            std::path::Path::new("/a/catalog.sqlite-shm")
        );
        assert_eq!(
            catalog_backup_name("20260101T000000Z", 1),
            "catalog.sqlite.bak-20260101T000000Z"
        );
        assert_eq!(
            catalog_backup_name("20260101T000000Z", 3),
            "catalog.sqlite.bak-20260101T000000Z-3"
        );
    }

    #[test]
    fn layout_temp_names() {
        for name in [
            ".tmp-abc",
            ".tmp-reindex-x.sqlite",
            ".exhibit-key-1.tmp",
            ".exhibit-init-q",
        ] {
            assert!(is_temp_name(name), "{name}");
        }
        for name in ["tmp-abc", "x.tmp-", "catalog.sqlite", ".tmp", "..tmp-x"] {
            assert!(!is_temp_name(name), "{name}");
        }
    }

    #[test]
    fn layout_object_paths_round_trip() {
        for data in [&b""[..], b"a", b"exhibit"] {
            let sha = Sha256Digest::of(data);
            let rel = object_path(&sha);
            let hex = sha.to_hex();
            assert_eq!(rel, format!("objects/{}/{hex}.zst", &hex[..2]));
            assert_eq!(format!("objects/{}", object_path_in_store(&sha)), rel);
            assert_eq!(parse_object_path(&rel), Some(sha));
        }
    }

    #[test]
    fn layout_hostile_object_paths_are_refused() {
        let sha = Sha256Digest::of(b"x");
        let hex = sha.to_hex();
        let good = object_path(&sha);
        let bad = [
            format!("objects/{}/{}.zst", &hex[..2], hex.to_uppercase()),
            format!("objects/{}/{hex}.zst", hex[..2].to_uppercase()),
            format!(
                "objects/{}/{hex}.zst",
                if &hex[..2] == "00" { "01" } else { "00" }
            ),
            format!("objects/{}/{hex}.zst.zst", &hex[..2]),
            format!("objects/{}/{hex}", &hex[..2]),
            format!("objects/{}/{}.zst", &hex[..2], &hex[..63]),
            format!("objects/{}/{hex}0.zst", &hex[..2]),
            format!("objects/{}/../{hex}.zst", &hex[..2]),
            format!("objects/../objects/{}/{hex}.zst", &hex[..2]),
            format!("objects//{}/{hex}.zst", &hex[..2]),
            format!("/{good}"),
            format!("./{good}"),
            format!("{good}/"),
            format!("objects/{}/.tmp-{hex}.zst", &hex[..2]),
            format!("objects/{hex}.zst"),
            format!("other/{}/{hex}.zst", &hex[..2]),
            String::new(),
        ];
        for rel in bad {
            assert_eq!(parse_object_path(&rel), None, "{rel}");
        }
        assert!(is_object_shard("0a"));
        for shard in ["0A", "0", "0a0", "..", "g0", ""] {
            assert!(!is_object_shard(shard), "{shard}");
        }
    }

    #[test]
    fn layout_manifest_paths_round_trip() {
        let cases = [
            (
                id("EX", RecordKind::Capture, 42),
                "manifests/C/000/EX-C-000042.json",
            ),
            (
                id("EX", RecordKind::Capture, 1234),
                "manifests/C/001/EX-C-001234.json",
            ),
            (
                id("CA", RecordKind::Provision, 1_234_567),
                "manifests/P/1234/CA-P-1234567.json",
            ),
            (
                id("EX", RecordKind::Reextraction, 999),
                "manifests/R/000/EX-R-000999.json",
            ),
        ];
        for (id, rel) in cases {
            assert_eq!(manifest_path(&id), rel);
            assert_eq!(signature_path(&id), format!("{rel}.sig"));
            assert_eq!(manifest_dir(&id), rel[..rel.rfind('/').unwrap()]);
            assert_eq!(
                parse_manifest_path(rel),
                Some(ManifestFile::Manifest(id.clone()))
            );
            let sig = parse_manifest_path(&signature_path(&id)).unwrap();
            assert_eq!(sig, ManifestFile::Signature(id.clone()));
            assert_eq!(sig.id(), &id);
            assert_eq!(sig.path(), signature_path(&id));
        }
        let big = id("EX", RecordKind::Capture, u64::MAX);
        assert_eq!(
            parse_manifest_path(&manifest_path(&big)),
            Some(ManifestFile::Manifest(big))
        );
        assert_eq!(manifest_kind_dir(RecordKind::Provision), "manifests/P");
    }

    #[test]
    fn layout_hostile_manifest_paths_are_refused() {
        let bad = [
            // Not the canonical spelling of the id.
            "manifests/C/000/EX-C-0000042.json",
            "manifests/C/000/EX-C-42.json",
            "manifests/C/000/ex-C-000042.json",
            "manifests/C/000/EX-c-000042.json",
            "manifests/C/000/ EX-C-000042.json",
            "manifests/C/000/EX-C-000042 .json",
            "manifests/C/000/EX-C-+00042.json",
            "manifests/C/000/EX-C-000000.json",
            // Not its directory or shard.
            "manifests/c/000/EX-C-000042.json",
            "manifests/P/000/EX-C-000042.json",
            "manifests/C/00/EX-C-000042.json",
            "manifests/C/0000/EX-C-000042.json",
            "manifests/C/001/EX-C-000042.json",
            "manifests/C/000/../000/EX-C-000042.json",
            "manifests/C/EX-C-000042.json",
            "manifests/C/000/x/EX-C-000042.json",
            "/manifests/C/000/EX-C-000042.json",
            "./manifests/C/000/EX-C-000042.json",
            "objects/C/000/EX-C-000042.json",
            // Not a manifest or signature name.
            "manifests/C/000/EX-C-000042",
            "manifests/C/000/EX-C-000042.json.sig.sig",
            "manifests/C/000/EX-C-000042.json.json",
            "manifests/C/000/EX-C-000042.sig",
            "manifests/C/000/EX-C-000042.JSON",
            "manifests/C/000/.tmp-EX-C-000042.json",
            "manifests/C/000/EX-C-000042..json",
            "manifests/retired.txt",
            // Kinds without manifests.
            "manifests/D/000/EX-D-000042.json",
            "manifests/V/000/EX-V-000042.json",
            "",
        ];
        for rel in bad {
            assert_eq!(parse_manifest_path(rel), None, "{rel}");
        }
    }

    #[test]
    fn layout_checkpoint_and_token_paths_round_trip() {
        for size in [0, 1, 42, 1_000_000, MAX_CHECKPOINT_FILE_SIZE] {
            let rel = checkpoint_path(size);
            assert_eq!(rel, format!("log/checkpoints/{size:012}.checkpoint"));
            assert_eq!(parse_checkpoint_path(&rel), Some(size));
            assert_eq!(parse_token_path(&rel), None);
            for tsa in [
                "freetsa.org-tsr",
                "127.0.0.1-8318-tsr",
                "a",
                "A.b-C",
                "x.tsr",
            ] {
                let rel = token_path(size, tsa);
                assert_eq!(
                    rel,
                    format!("log/checkpoints/{size:012}.checkpoint.{tsa}.tsr")
                );
                assert_eq!(parse_token_path(&rel), Some(TokenFile { size, tsa }));
                assert_eq!(parse_checkpoint_path(&rel), None);
                assert_eq!(
                    parse_checkpoint_dir_name(&token_file_name(size, tsa)),
                    Some(CheckpointDirFile::Token(TokenFile { size, tsa }))
                );
            }
            assert_eq!(
                parse_checkpoint_dir_name(&checkpoint_file_name(size)),
                Some(CheckpointDirFile::Checkpoint(size))
            );
        }
        let long = "a".repeat(64);
        assert!(parse_token_path(&token_path(7, &long)).is_some());
    }

    #[test]
    fn layout_hostile_checkpoint_and_token_names_are_refused() {
        let too_long = "a".repeat(65);
        let bad = [
            // The size: exactly 12 ASCII digits.
            "00000000001.checkpoint".to_owned(),
            "0000000000001.checkpoint".to_owned(),
            "+00000000001.checkpoint".to_owned(),
            "-00000000001.checkpoint".to_owned(),
            " 00000000001.checkpoint".to_owned(),
            "00000000000a.checkpoint".to_owned(),
            "٠٠٠٠٠٠٠٠٠٠٠١.checkpoint".to_owned(),
            "1.checkpoint".to_owned(),
            ".checkpoint".to_owned(),
            // The suffix.
            "000000000001.checkpoint.".to_owned(),
            "000000000001.checkpoint.tsr".to_owned(),
            "000000000001.checkpoint..tsr".to_owned(),
            "000000000001.checkpoint.x.tsr.".to_owned(),
            "000000000001.checkpoint.x.TSR".to_owned(),
            "000000000001.checkpointx".to_owned(),
            "000000000001.Checkpoint".to_owned(),
            "000000000001..checkpoint".to_owned(),
            "000000000001.checkpoint.sig".to_owned(),
            "000000000001".to_owned(),
            // The TSA name.
            "000000000001.checkpoint..x.tsr".to_owned(),
            "000000000001.checkpoint.-x.tsr".to_owned(),
            "000000000001.checkpoint.a b.tsr".to_owned(),
            "000000000001.checkpoint.a_b.tsr".to_owned(),
            "000000000001.checkpoint.a/b.tsr".to_owned(),
            "000000000001.checkpoint.é.tsr".to_owned(),
            format!("000000000001.checkpoint.{too_long}.tsr"),
            ".tmp-000000000001.checkpoint".to_owned(),
            String::new(),
        ];
        for name in &bad {
            assert_eq!(parse_checkpoint_dir_name(name), None, "{name}");
            let rel = format!("log/checkpoints/{name}");
            assert_eq!(parse_checkpoint_path(&rel), None, "{rel}");
            assert_eq!(parse_token_path(&rel), None, "{rel}");
        }
        for rel in [
            "log/checkpoints/../checkpoints/000000000001.checkpoint",
            "log/checkpoints/x/000000000001.checkpoint",
            "log//checkpoints/000000000001.checkpoint",
            "log/checkpoints000000000001.checkpoint",
            "/log/checkpoints/000000000001.checkpoint",
            "log/000000000001.checkpoint",
            "log/checkpoint",
            "log/checkpoints/../000000000001.checkpoint.a.tsr",
        ] {
            assert_eq!(parse_checkpoint_path(rel), None, "{rel}");
            assert_eq!(parse_token_path(rel), None, "{rel}");
        }
    }

    #[test]
    fn layout_tsa_names_and_ca_paths() {
        for name in ["a", "freetsa.org-tsr", "A1.b-2", &"z".repeat(64)] {
            assert!(is_tsa_name(name), "{name}");
            assert_eq!(parse_tsa_ca_path(&tsa_ca_path(name)), Some(name));
        }
        assert_eq!(tsa_ca_path("bee"), "tsa/bee.ca.pem");
        for name in [
            "",
            ".a",
            "-a",
            "a b",
            "a/b",
            "a_b",
            "é",
            "..",
            &"z".repeat(65),
        ] {
            assert!(!is_tsa_name(name), "{name:?}");
        }
        for rel in [
            "tsa/.ca.pem",
            "tsa/../x.ca.pem",
            "tsa/a/b.ca.pem",
            "tsa/a.pem",
            "tsa/a.CA.pem",
            "/tsa/a.ca.pem",
            INIT_TSA_CA,
        ] {
            assert_eq!(parse_tsa_ca_path(rel), None, "{rel}");
        }
    }

    #[test]
    fn layout_outbox_names_round_trip_and_nothing_else_parses() {
        let url = "https://hooks.example/exhibit";
        let v = id("EX", RecordKind::Version, 42);
        let hash = webhook_hash(url);
        assert_eq!(hash.len(), 16);
        assert_eq!(NOTIFY_LOCK, "notify/outbox.lock");
        assert_eq!(
            outbox_body_path(url, &v),
            format!("notify/outbox/{hash}/EX-V-000042.json")
        );
        assert_eq!(
            outbox_state_path(url, &v),
            format!("notify/outbox/{hash}/EX-V-000042.state")
        );
        assert_eq!(
            parse_outbox_body_name(&outbox_body_name(&v)),
            Some(v.clone())
        );
        for bad in [
            "EX-V-000042.state",
            "EX-V-42.json",
            "EX-C-000042.json",
            ".tmp-EX-V-000042.json",
            "EX-V-000042.json.json",
            "EX-V-0000042.json",
        ] {
            assert_eq!(parse_outbox_body_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn layout_document_locks() {
        let url = "https://example.org/terms";
        let rel = document_lock_path(url);
        let digest = Sha256Digest::of(url.as_bytes());
        assert_eq!(rel, format!("locks/{}.lock", digest.short(32)));
        assert!(is_document_lock_path(&rel));
        let first = u64::from_be_bytes(digest.as_bytes()[..8].try_into().unwrap());
        assert_eq!(document_lock_offset(url), first >> 2);
        assert!(document_lock_offset(url) < 1 << 62);
        for rel in [
            "locks/catalog.lock",
            "locks/documents.lock",
            "locks/../x.lock",
            &rel.to_uppercase(),
            &rel.replace(".lock", ".lock.lock"),
        ] {
            assert!(!is_document_lock_path(rel), "{rel}");
        }
    }
}
