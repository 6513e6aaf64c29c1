//! Names inside a bundle.

use exhibit_core::manifest::{NamedObject, ObjectRole};
use exhibit_core::{RecordId, Sha256Digest};

/// The BagIt declaration file.
pub const BAGIT_TXT: &str = "bagit.txt";
/// The bag metadata file.
pub const BAG_INFO_TXT: &str = "bag-info.txt";
/// The payload manifest (`sha256sum` format).
pub const MANIFEST: &str = "manifest-sha256.txt";
/// The tag manifest (`sha256sum` format).
pub const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
/// The seal: raw Ed25519 signature over the tag manifest.
pub const SEAL: &str = "tagmanifest-sha256.txt.sig";
/// The stock-tools recipe.
pub const VERIFY_TXT: &str = "VERIFY.txt";
/// The citation records.
pub const CITATION_TXT: &str = "exhibit/citation.txt";
/// The evidence report, as PDF (docs/FORMAT.md §16): rebuilt and compared by the verifier.
pub const REPORT_PDF: &str = "exhibit/report.pdf";
/// The evidence report, as HTML.
pub const REPORT_HTML: &str = "exhibit/report.html";
/// The signed checkpoint note that every record's log proof refers to (stamped by the tokens).
pub const CHECKPOINT: &str = "exhibit/checkpoint";
/// The checkpoint note with the witnesses' cosignature lines appended (C2SP tlog-cosignature):
/// a signed note that begins with the exact bytes of [`CHECKPOINT`].
pub const COSIGNED_CHECKPOINT: &str = "exhibit/checkpoint.cosigned";
/// The directory of the archive's key history in a bag: the files of `keys/history/`.
pub const KEY_HISTORY_DIR: &str = "exhibit/keys/history/";
/// The directory of earlier checkpoints that prove records existed before a key's compromise
/// (docs/FORMAT.md §11.2): `exhibit/anchors/<size>/`.
pub const ANCHORS_DIR: &str = "exhibit/anchors/";
/// The directory of the checkpoint's copies stamped by further TSAs.
pub const TIMESTAMPS_DIR: &str = "exhibit/timestamps/";
/// The exact text of `bagit.txt`.
pub const BAGIT_TXT_CONTENT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// The file extension used for captured bytes of a media type.
pub fn extension(media_type: &str) -> &'static str {
    match media_type {
        "text/html" => "html",
        "application/xhtml+xml" => "xhtml",
        "text/plain" => "txt",
        "text/markdown" | "text/x-markdown" => "md",
        "text/csv" => "csv",
        "application/pdf" => "pdf",
        "application/json" => "json",
        "application/xml" | "text/xml" => "xml",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "bin",
    }
}

/// Quotes a value for a POSIX shell: as it is when it holds only safe characters
/// (letters, digits, `._-:/=+@`), else in single quotes with any `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-:/=+@".contains(&b))
    {
        return value.to_owned();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// Where the `n`-th (from 0) RFC 3161 token over the checkpoint goes, and the file it stamps
/// beside it: the first as `exhibit/checkpoint.tsr` beside [`CHECKPOINT`]; each further one, from
/// the TSA named `tsa`, as `exhibit/timestamps/<tsa>/checkpoint.tsr` beside a byte-identical
/// copy of the checkpoint, so that every token `F.tsr` sits beside the exact file `F` it stamps.
pub fn timestamp_paths(n: usize, tsa: &str) -> (String, String) {
    let data = if n == 0 {
        CHECKPOINT.to_owned()
    } else {
        format!("{TIMESTAMPS_DIR}{tsa}/checkpoint")
    };
    let token = format!("{data}.tsr");
    (data, token)
}

/// The files of the anchor checkpoint of tree size `size`: the signed checkpoint note, one
/// RFC 3161 token over it, and the consistency proof from it to [`CHECKPOINT`] (one standard
/// base64 hash per line, RFC 6962 order).
pub fn anchor_paths(size: u64) -> [String; 3] {
    let dir = format!("{ANCHORS_DIR}{size}/");
    [
        format!("{dir}checkpoint"),
        format!("{dir}checkpoint.tsr"),
        format!("{dir}consistency"),
    ]
}

/// The tree size of an anchor directory a bag path lies in (`exhibit/anchors/<size>/…`), when
/// the size is written in canonical decimal.
pub fn anchor_size(path: &str) -> Option<u64> {
    let (size, _) = path.strip_prefix(ANCHORS_DIR)?.split_once('/')?;
    let n: u64 = size.parse().ok()?;
    (n.to_string() == size).then_some(n)
}

/// Whether a bag path is a place a time-stamp token or a stamped checkpoint copy may be.
pub fn is_timestamp_path(path: &str) -> bool {
    path == CHECKPOINT
        || path == "exhibit/checkpoint.tsr"
        || path.strip_prefix(TIMESTAMPS_DIR).is_some_and(|rest| {
            rest.split_once('/').is_some_and(|(tsa, file)| {
                !tsa.is_empty()
                    && tsa.len() <= 64
                    && !tsa.starts_with(['.', '-'])
                    && tsa
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                    && (file == "checkpoint" || file == "checkpoint.tsr")
            })
        })
}

/// The payload files a reader keeps in memory, by kind (FORMAT §11.3): what a verifier reads to
/// check a provision or rebuild the report. Each kind has a budget of its own, filled in path
/// order, so that no kind starves another; past its budget a file is only hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// An extracted text (`data/text/`).
    Text,
    /// A certificate (`data/certificates/`).
    Certificate,
    /// A browser screenshot (`data/browser/*.png`).
    Screenshot,
    /// An HTTP response as received (`data/responses/`), re-read as HTTP by the verifier.
    Response,
}

impl Kept {
    /// The kind of a payload path a reader keeps, if it keeps it.
    pub fn of(path: &str) -> Option<Kept> {
        if path.starts_with("data/text/") {
            Some(Kept::Text)
        } else if path.starts_with("data/certificates/") {
            Some(Kept::Certificate)
        } else if path.starts_with("data/browser/") && path.ends_with(".png") {
            Some(Kept::Screenshot)
        } else if path.starts_with("data/responses/") {
            Some(Kept::Response)
        } else {
            None
        }
    }

    /// The most bytes of this kind a reader keeps: 64 MiB of texts, 4 MiB of certificates,
    /// 8 MiB of screenshots, 32 MiB of responses.
    pub const fn budget(self) -> u64 {
        match self {
            Kept::Text => 64 << 20,
            Kept::Certificate => 4 << 20,
            Kept::Screenshot => 8 << 20,
            Kept::Response => 32 << 20,
        }
    }
}

/// What a reader has kept so far: the one rule `read_bundle` and `view` both follow.
#[derive(Clone, Debug, Default)]
pub struct KeptSoFar {
    text: u64,
    certificates: u64,
    screenshots: u64,
    responses: u64,
}

impl KeptSoFar {
    /// Whether the file at `path` of `size` bytes is kept, counting it if it is.
    pub fn admit(&mut self, path: &str, size: u64) -> bool {
        let Some(kind) = Kept::of(path) else {
            return false;
        };
        let used = match kind {
            Kept::Text => &mut self.text,
            Kept::Certificate => &mut self.certificates,
            Kept::Screenshot => &mut self.screenshots,
            Kept::Response => &mut self.responses,
        };
        if used.saturating_add(size) > kind.budget() {
            return false;
        }
        *used += size;
        true
    }
}

/// `data/content/<sha256>.<ext>`.
pub fn content_path(sha256: &Sha256Digest, media_type: &str) -> String {
    format!("data/content/{sha256}.{}", extension(media_type))
}

/// `data/text/<sha256>.txt`.
pub fn text_path(sha256: &Sha256Digest) -> String {
    format!("data/text/{sha256}.txt")
}

/// `data/certificates/<sha256>.der`: a certificate of a capture's TLS record (a handshake's
/// chain or an added trust root), DER as stored.
pub fn certificate_path(sha256: &Sha256Digest) -> String {
    format!("data/certificates/{sha256}.der")
}

/// Where a bundle keeps an object a capture manifest names: the one mapping from
/// [`ObjectRole`] to payload path, used by the writer and the verifier.
pub fn object_path(object: &NamedObject<'_>) -> String {
    match object.role {
        ObjectRole::Content { media_type } => content_path(&object.sha256, media_type),
        ObjectRole::Text => text_path(&object.sha256),
        ObjectRole::Certificate => certificate_path(&object.sha256),
        ObjectRole::Dom => format!("data/browser/{}.html", object.sha256),
        ObjectRole::Screenshot => format!("data/browser/{}.png", object.sha256),
        ObjectRole::Pdf => format!("data/browser/{}.pdf", object.sha256),
        ObjectRole::Resource { media_type } => format!(
            "data/resources/{}.{}",
            object.sha256,
            extension(media_type.unwrap_or("application/octet-stream"))
        ),
        ObjectRole::Response => format!("data/responses/{}.http", object.sha256),
    }
}

/// `exhibit/manifests/<id>.json`.
pub fn manifest_path(id: &RecordId) -> String {
    format!("exhibit/manifests/{id}.json")
}

/// `exhibit/proofs/<id>.tlog-proof`: the C2SP tlog-proof of the manifest's log inclusion.
pub fn proof_path(id: &RecordId) -> String {
    format!("exhibit/proofs/{id}.tlog-proof")
}

/// `exhibit/keys/<fingerprint>.pem`, the fingerprint written file-name-safe: `SHA256-` and the
/// base64 digits with `+` as `-` and `/` as `_` (the URL-safe base64 alphabet).
pub fn key_path(fingerprint: &str) -> String {
    format!("exhibit/keys/{}.pem", key_file_stem(fingerprint))
}

/// The file-name-safe form of a fingerprint (see [`key_path`]).
pub fn key_file_stem(fingerprint: &str) -> String {
    fingerprint
        .replacen("SHA256:", "SHA256-", 1)
        .replace('+', "-")
        .replace('/', "_")
}

/// A bag name made from an output file name: `evidence.tar.zst` → `evidence`. Keeps ASCII
/// letters, digits, `.`, `_` and `-` (others become `-`), at most 64 characters, never starting
/// or ending with `.` or `-`.
pub fn bag_name_for(file_name: &str) -> String {
    let stem = file_name
        .strip_suffix(".tar.zst")
        .or_else(|| file_name.strip_suffix(".tzst"))
        .unwrap_or(file_name);
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    // No leading dot or dash: the name must not be hidden or read as a command-line option.
    name = name.trim_matches(|c| c == '.' || c == '-').to_owned();
    if name.is_empty() {
        "exhibit-bundle".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_neutralises_everything() {
        assert_eq!(shell_quote("evidence.tar.zst"), "evidence.tar.zst");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("Jane's $(x)"), "'Jane'\\''s $(x)'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn names_are_safe() {
        assert_eq!(bag_name_for("evidence.tar.zst"), "evidence");
        assert_eq!(bag_name_for("../../x y.tar.zst"), "x-y");
        assert_eq!(bag_name_for("-rf.tar.zst"), "rf");
        assert_eq!(bag_name_for(".tar.zst"), "exhibit-bundle");
        assert_eq!(key_path("SHA256:ab+c/d"), "exhibit/keys/SHA256-ab-c_d.pem");
    }
}
