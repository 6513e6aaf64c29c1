//! C2SP transparency-log text formats: checkpoint bodies (<https://c2sp.org/tlog-checkpoint>)
//! and inclusion proofs (<https://c2sp.org/tlog-proof>).
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index 3
//! gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
//! B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
//!
//! example.com/log
//! 5
//! sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=
//!
//! — example.com/log hI2DJw…
//! ```
//!
//! Everything here is pure text handling. The checkpoint inside a proof is a signed note
//! whose signatures are checked by `exhibit-sign`; this module only splits and parses it.

/// The first line of every tlog-proof.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The largest checkpoint or proof text accepted (1 MiB).
pub const MAX_TEXT_SIZE: usize = 1024 * 1024;

/// The most inclusion-proof hashes a [`TlogProof`] may carry (a tree of 2^64 leaves needs 64).
pub const MAX_PROOF_HASHES: usize = 64;

/// A C2SP tlog-checkpoint body: origin line, decimal tree size, base64 root hash, optional
/// extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (identity), non-empty.
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 Merkle tree root hash at `size`.
    pub root: [u8; 32],
    /// Opaque extension lines, each non-empty, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: each line followed by a newline. For a checkpoint that [`parse`]
    /// accepts, `parse(to_text())` gives it back.
    ///
    /// [`parse`]: Checkpoint::parse
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64::encode(&self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint body (the note text, ending in a newline), strictly: a non-empty
    /// origin, a tree size in decimal without leading zeros (except `0`), a base64 root of
    /// exactly 32 bytes, then any non-empty extension lines. No ASCII control characters other
    /// than newline; at most [`MAX_TEXT_SIZE`] bytes.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        check_text(text)?;
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NoFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let size = parse_decimal(size).ok_or_else(|| CheckpointError::InvalidTreeSize {
            value: crate::manifest::shorten(size, 40),
        })?;
        let root = lines.next().ok_or(CheckpointError::TooFewLines)?;
        let root = parse_hash(root).ok_or(CheckpointError::InvalidRootHash)?;
        let mut extensions = Vec::new();
        for (i, ext) in lines.enumerate() {
            if ext.is_empty() {
                return Err(CheckpointError::EmptyExtensionLine { line: i + 4 });
            }
            extensions.push(ext.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// A C2SP tlog-proof: optional extra data, the leaf index, the inclusion proof and the signed
/// checkpoint it is relative to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data. `Some` of an empty vector is written as no extra
    /// line, as the spec omits the line when there is no extra data.
    pub extra: Option<Vec<u8>>,
    /// The zero-based index of the entry in the log.
    pub index: u64,
    /// The RFC 6962 inclusion proof, from the leaf's sibling up to the root's child.
    pub proof: Vec<[u8; 32]>,
    /// The checkpoint, a signed note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// The proof's text: the header line, the `extra` line if there is extra data, the
    /// `index` line, one base64 hash per line, an empty line, and the checkpoint verbatim.
    pub fn to_text(&self) -> String {
        let mut out = format!("{PROOF_HEADER}\n");
        if let Some(extra) = self.extra.as_deref().filter(|e| !e.is_empty()) {
            out.push_str("extra ");
            out.push_str(&b64::encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for hash in &self.proof {
            out.push_str(&b64::encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a tlog-proof strictly: the exact header line; optionally `extra ` and non-empty
    /// canonical base64; `index ` and a decimal without leading zeros; at most
    /// [`MAX_PROOF_HASHES`] lines of base64 32-byte hashes; an empty line; then a checkpoint
    /// note whose body [`Checkpoint::parse`] accepts. At most [`MAX_TEXT_SIZE`] bytes, and no
    /// ASCII control characters other than newline.
    ///
    /// The checkpoint's signatures are not checked, nor is `index` compared with its tree
    /// size: that is the verifier's job.
    pub fn parse(text: &str) -> Result<TlogProof, CheckpointError> {
        check_text(text)?;
        let mut rest = text;
        let mut number = 0;
        let mut next_line = |what: &'static str| -> Result<(&str, usize), CheckpointError> {
            let (line, tail) = rest
                .split_once('\n')
                .ok_or(CheckpointError::ProofTruncated { expected: what })?;
            rest = tail;
            number += 1;
            Ok((line, number))
        };

        let (header, _) = next_line("the header line")?;
        if header != PROOF_HEADER {
            return Err(CheckpointError::BadProofHeader);
        }
        let (mut line, _) = next_line("the index line")?;
        let mut extra = None;
        if let Some(data) = line.strip_prefix("extra ") {
            let bytes = b64::decode(data).ok_or(CheckpointError::InvalidExtra)?;
            if bytes.is_empty() {
                return Err(CheckpointError::InvalidExtra);
            }
            extra = Some(bytes);
            line = next_line("the index line")?.0;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or(CheckpointError::MissingIndex)?;
        let index = parse_decimal(index).ok_or_else(|| CheckpointError::InvalidIndex {
            value: crate::manifest::shorten(index, 40),
        })?;

        let mut proof = Vec::new();
        loop {
            let (line, number) = next_line("an empty line before the checkpoint")?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(CheckpointError::TooManyProofHashes {
                    limit: MAX_PROOF_HASHES,
                });
            }
            proof.push(parse_hash(line).ok_or(CheckpointError::InvalidProofHash { line: number })?);
        }
        let checkpoint = rest;
        if checkpoint.is_empty() {
            return Err(CheckpointError::ProofTruncated {
                expected: "the checkpoint",
            });
        }
        let (body, _) = split_note(checkpoint)?;
        Checkpoint::parse(body)?;
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// The checkpoint body inside `checkpoint`: the note text before the blank line (parse it
    /// with [`Checkpoint::parse`]). A pure text split; signature verification happens in
    /// `exhibit-sign`.
    pub fn checkpoint_body(&self) -> Result<&str, CheckpointError> {
        split_note(&self.checkpoint).map(|(text, _)| text)
    }
}

/// Splits a signed note into (text, signature block). The text includes its final newline;
/// the signature block excludes the blank line and must be non-empty and end with a newline.
///
/// As the signed-note spec says, the split is at the *last* blank line (`"\n\n"`), so that a
/// note text containing blank lines is split the way its signature covers it. (For a valid
/// checkpoint, whose lines are all non-empty, the first and last blank line coincide.)
pub fn split_note(note: &str) -> Result<(&str, &str), CheckpointError> {
    let split = note.rfind("\n\n").ok_or(CheckpointError::NotASignedNote {
        reason: "no blank line before the signatures",
    })?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() {
        return Err(CheckpointError::NotASignedNote {
            reason: "no signature lines after the blank line",
        });
    }
    if !sigs.ends_with('\n') {
        return Err(CheckpointError::NotASignedNote {
            reason: "the last signature line does not end with a newline",
        });
    }
    Ok((text, sigs))
}

/// A checkpoint or tlog-proof that is not well-formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The text is larger than [`MAX_TEXT_SIZE`].
    #[error("text is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The text contains an ASCII control character other than newline.
    #[error("text contains the control character U+{code:04X} at byte {offset}")]
    ControlCharacter {
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        offset: usize,
    },
    /// The checkpoint body does not end with a newline.
    #[error("checkpoint does not end with a newline")]
    NoFinalNewline,
    /// The checkpoint's origin line is empty.
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    /// The checkpoint has fewer than three lines.
    #[error("checkpoint has fewer than three lines (origin, tree size, root hash)")]
    TooFewLines,
    /// The tree size is not a decimal number without leading zeros that fits in 64 bits.
    #[error("checkpoint tree size {value:?} is not a decimal number without leading zeros")]
    InvalidTreeSize {
        /// The line (shortened if long).
        value: String,
    },
    /// The root hash is not canonical base64 of 32 bytes.
    #[error("checkpoint root hash is not base64 of 32 bytes")]
    InvalidRootHash,
    /// An extension line is empty.
    #[error("checkpoint line {line} is an empty extension line")]
    EmptyExtensionLine {
        /// The 1-based line number.
        line: usize,
    },
    /// The first line of a proof is not `c2sp.org/tlog-proof@v1`.
    #[error("not a tlog-proof: the first line is not `{PROOF_HEADER}`")]
    BadProofHeader,
    /// The proof ends before a required part.
    #[error("tlog-proof ends before {expected}")]
    ProofTruncated {
        /// What was expected next.
        expected: &'static str,
    },
    /// The `extra` line is not non-empty canonical base64.
    #[error("tlog-proof `extra` line is not non-empty base64")]
    InvalidExtra,
    /// The line after the header (and `extra`) is not an `index` line.
    #[error("tlog-proof has no `index` line after the header")]
    MissingIndex,
    /// The index is not a decimal number without leading zeros that fits in 64 bits.
    #[error("tlog-proof index {value:?} is not a decimal number without leading zeros")]
    InvalidIndex {
        /// The value after `index ` (shortened if long).
        value: String,
    },
    /// A proof line is not canonical base64 of a 32-byte hash.
    #[error("tlog-proof line {line} is not a base64 SHA-256 hash")]
    InvalidProofHash {
        /// The 1-based line number.
        line: usize,
    },
    /// The proof has more hashes than [`MAX_PROOF_HASHES`].
    #[error("tlog-proof has more than {limit} inclusion proof hashes")]
    TooManyProofHashes {
        /// The limit.
        limit: usize,
    },
    /// The checkpoint is not a signed note (text, blank line, signature lines).
    #[error("checkpoint is not a signed note: {reason}")]
    NotASignedNote {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Size and control-character checks shared by both parsers.
fn check_text(text: &str) -> Result<(), CheckpointError> {
    if text.len() > MAX_TEXT_SIZE {
        return Err(CheckpointError::TooLarge {
            size: text.len(),
            limit: MAX_TEXT_SIZE,
        });
    }
    match text.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(CheckpointError::ControlCharacter {
            code: u32::from(text.as_bytes()[offset]),
            offset,
        }),
        None => Ok(()),
    }
}

/// ASCII decimal without leading zeros (except `0`), fitting in a u64.
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical = s == "0" || (!s.is_empty() && !s.starts_with('0'));
    if !canonical || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Canonical base64 of exactly 32 bytes.
fn parse_hash(s: &str) -> Option<[u8; 32]> {
    b64::decode(s)?.try_into().ok()
}

/// Strict standard-alphabet base64 with padding (RFC 4648 §4): exactly one accepted spelling
/// per byte string.
/// Standard base64 with padding (RFC 4648 §4), the encoding of hashes in checkpoints and proofs.
pub fn base64_encode(data: &[u8]) -> String {
    b64::encode(data)
}

/// Strict standard base64 with padding (one accepted spelling per byte string); `None` when
/// not.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    b64::decode(s)
}

mod b64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// Encode with `=` padding.
    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        ALPHABET.iter().position(|&a| a == c).map(|v| v as u32)
    }

    /// Decode, rejecting a length that is not a multiple of four, characters outside the
    /// alphabet, misplaced padding and non-zero trailing bits.
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let bytes = s.as_bytes();
        if !bytes.len().is_multiple_of(4) {
            return None;
        }
        let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
        let quads = bytes.len() / 4;
        for (q, quad) in bytes.chunks(4).enumerate() {
            let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
            if pad > 2 || (pad > 0 && q + 1 != quads) {
                return None;
            }
            let mut n = 0u32;
            for &c in &quad[..4 - pad] {
                n = (n << 6) | value(c)?;
            }
            n <<= 6 * pad as u32;
            let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            let keep = 3 - pad;
            // The bits below the kept bytes must be zero (canonical encoding).
            if decoded[keep..].iter().any(|&b| b != 0) {
                return None;
            }
            out.extend_from_slice(&decoded[..keep]);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT_B64: &str = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    const SIG_LINE: &str = "— example.com/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    fn root() -> [u8; 32] {
        b64::decode(ROOT_B64).unwrap().try_into().unwrap()
    }

    fn checkpoint(extensions: &[&str]) -> Checkpoint {
        Checkpoint {
            origin: "example.com/log".into(),
            size: 20852163,
            root: root(),
            extensions: extensions.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn note(c: &Checkpoint) -> String {
        format!("{}\n{SIG_LINE}", c.to_text())
    }

    #[test]
    fn base64_round_trip() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let enc = b64::encode(&data);
            assert!(enc.len().is_multiple_of(4));
            assert_eq!(b64::decode(&enc).unwrap(), data);
        }
        assert_eq!(b64::encode(b""), "");
        assert_eq!(b64::encode(b"f"), "Zg==");
        assert_eq!(b64::encode(b"fo"), "Zm8=");
        assert_eq!(b64::encode(b"foo"), "Zm9v");
        assert_eq!(b64::encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(b64::encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(b64::decode("Zm9vYg==").unwrap(), b"foob");
    }

    #[test]
    fn base64_rejections() {
        for bad in [
            "Zg",
            "Zg=",
            "Zm9",
            "Z===",
            "====",
            "Zg==Zg==",
            "Zm=v",
            "Zh==",
            "Zm9=",
            "Zm-v",
            "Zm_v",
            "Zm9v\n",
            " Zm9v",
            "Zm9v ",
            "Zm9vY",
            "Zm8=Zm8=",
            "\u{e9}Zm9",
        ] {
            assert_eq!(b64::decode(bad), None, "{bad:?}");
        }
        // Non-canonical trailing bits: "Zh==" and "Zm9=" differ from "Zg==" and "Zm8=".
        assert!(b64::decode("Zg==").is_some());
        assert!(b64::decode("Zm8=").is_some());
    }

    #[test]
    fn checkpoint_round_trips() {
        for exts in [&[][..], &["ext one", "— two"][..]] {
            let c = checkpoint(exts);
            let text = c.to_text();
            assert_eq!(Checkpoint::parse(&text).unwrap(), c);
        }
        let c = Checkpoint {
            origin: "o".into(),
            size: 0,
            root: [0; 32],
            extensions: vec![],
        };
        assert_eq!(
            c.to_text(),
            "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        );
        assert_eq!(Checkpoint::parse(&c.to_text()).unwrap(), c);
        let max = Checkpoint {
            size: u64::MAX,
            ..c
        };
        assert_eq!(Checkpoint::parse(&max.to_text()).unwrap(), max);
    }

    #[test]
    fn c2sp_checkpoint_example() {
        let example = format!(
            "example.com/behind-the-sofa\n20852163\n{ROOT_B64}\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
        );
        let (body, sigs) = split_note(&example).unwrap();
        assert!(sigs.starts_with("— example.com/behind-the-sofa "));
        let c = Checkpoint::parse(body).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(c.root, root());
        assert!(c.extensions.is_empty());
        assert_eq!(c.to_text(), body);
    }

    #[test]
    fn checkpoint_rejections() {
        let r = ROOT_B64;
        let short_root = b64::encode(&[7u8; 31]);
        let long_root = b64::encode(&[7u8; 33]);
        let cases: Vec<(String, CheckpointError)> = vec![
            (String::new(), CheckpointError::NoFinalNewline),
            (format!("o\n1\n{r}"), CheckpointError::NoFinalNewline),
            ("\n".into(), CheckpointError::EmptyOrigin),
            (format!("\n1\n{r}\n"), CheckpointError::EmptyOrigin),
            ("o\n".into(), CheckpointError::TooFewLines),
            ("o\n1\n".into(), CheckpointError::TooFewLines),
            (
                format!("o\n01\n{r}\n"),
                CheckpointError::InvalidTreeSize { value: "01".into() },
            ),
            (
                format!("o\n00\n{r}\n"),
                CheckpointError::InvalidTreeSize { value: "00".into() },
            ),
            (
                format!("o\n+1\n{r}\n"),
                CheckpointError::InvalidTreeSize { value: "+1".into() },
            ),
            (
                format!("o\n-1\n{r}\n"),
                CheckpointError::InvalidTreeSize { value: "-1".into() },
            ),
            (
                format!("o\n 1\n{r}\n"),
                CheckpointError::InvalidTreeSize { value: " 1".into() },
            ),
            (
                format!("o\n\n{r}\n"),
                CheckpointError::InvalidTreeSize { value: "".into() },
            ),
            (
                format!("o\n18446744073709551616\n{r}\n"),
                CheckpointError::InvalidTreeSize {
                    value: "18446744073709551616".into(),
                },
            ),
            (
                format!("o\n1\n{short_root}\n"),
                CheckpointError::InvalidRootHash,
            ),
            (
                format!("o\n1\n{long_root}\n"),
                CheckpointError::InvalidRootHash,
            ),
            (
                format!("o\n1\n{}\n", r.trim_end_matches('=')),
                CheckpointError::InvalidRootHash,
            ),
            (
                format!("o\n1\n{}!=\n", &r[..42]),
                CheckpointError::InvalidRootHash,
            ),
            (
                format!("o\n1\n{}J=\n", &r[..42]), // non-canonical trailing bits
                CheckpointError::InvalidRootHash,
            ),
            ("o\n1\n\n".into(), CheckpointError::InvalidRootHash),
            (
                format!("o\n1\n{r}\n\n"),
                CheckpointError::EmptyExtensionLine { line: 4 },
            ),
            (
                format!("o\n1\n{r}\next\n\nmore\n"),
                CheckpointError::EmptyExtensionLine { line: 5 },
            ),
            (
                format!("o\r\n1\n{r}\n"),
                CheckpointError::ControlCharacter {
                    code: 13,
                    offset: 1,
                },
            ),
        ];
        for (text, want) in cases {
            let got = Checkpoint::parse(&text).unwrap_err();
            assert_eq!(got, want, "{text:?}");
            assert!(!got.to_string().contains('\n'), "{got}");
        }
        let big = format!("{}\n1\n{r}\n", "o".repeat(MAX_TEXT_SIZE));
        assert!(matches!(
            Checkpoint::parse(&big),
            Err(CheckpointError::TooLarge { .. })
        ));
    }

    fn proof(extra: Option<Vec<u8>>, hashes: usize, exts: &[&str]) -> TlogProof {
        TlogProof {
            extra,
            index: 73894,
            proof: (0..hashes).map(|i| [i as u8; 32]).collect(),
            checkpoint: note(&checkpoint(exts)),
        }
    }

    #[test]
    fn proof_round_trips() {
        for p in [
            proof(None, 0, &[]),
            proof(None, 5, &[]),
            proof(Some(b"age-v1.2.1-darwin-arm64.tar.gz".to_vec()), 5, &[]),
            proof(Some(vec![0xff]), 1, &["ext"]),
            proof(None, MAX_PROOF_HASHES, &[]),
            TlogProof {
                index: 0,
                ..proof(None, 0, &[])
            },
        ] {
            let text = p.to_text();
            let parsed = TlogProof::parse(&text).unwrap();
            assert_eq!(parsed, p);
            assert_eq!(parsed.to_text(), text);
            let body = parsed.checkpoint_body().unwrap();
            assert_eq!(Checkpoint::parse(body).unwrap().root, root());
        }
        // Empty extra data is written as no extra line.
        let p = proof(Some(vec![]), 2, &[]);
        assert_eq!(TlogProof::parse(&p.to_text()).unwrap().extra, None);
    }

    #[test]
    fn c2sp_proof_example_structure() {
        let text = "c2sp.org/tlog-proof@v1\n\
            extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n\
            index 73894\n\
            gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\
            B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\
            EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n\
            RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n\
            AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n\
            \n\
            example.com/fancylog\n\
            109482\n\
            sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\
            \n\
            — example.com/fancylog hI2DJwAAAAA=\n\
            — witness1.example mJirIkljAAA=\n";
        let p = TlogProof::parse(text).unwrap();
        assert_eq!(
            p.extra.as_deref(),
            Some(&b"age-v1.2.1-darwin-arm64.tar.gz"[..])
        );
        assert_eq!(p.index, 73894);
        assert_eq!(p.proof.len(), 5);
        assert_eq!(
            b64::encode(&p.proof[0]),
            "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
        );
        let c = Checkpoint::parse(p.checkpoint_body().unwrap()).unwrap();
        assert_eq!(c.origin, "example.com/fancylog");
        assert_eq!(c.size, 109482);
        let (_, sigs) = split_note(&p.checkpoint).unwrap();
        assert_eq!(sigs.lines().count(), 2);
        assert_eq!(p.to_text(), text);
    }

    #[test]
    fn proof_rejections() {
        let good = proof(Some(vec![1, 2, 3]), 2, &[]).to_text();
        let cp = note(&checkpoint(&[]));
        let h = b64::encode(&[9u8; 32]);
        let cases: Vec<(String, CheckpointError)> = vec![
            (
                String::new(),
                CheckpointError::ProofTruncated {
                    expected: "the header line",
                },
            ),
            (
                good.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
                CheckpointError::BadProofHeader,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\n\n{cp}"),
                CheckpointError::MissingIndex,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\n{h}\n\n{cp}"),
                CheckpointError::MissingIndex,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nextra AQID\n{h}\n\n{cp}"),
                CheckpointError::MissingIndex,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 01\n\n{cp}"),
                CheckpointError::InvalidIndex { value: "01".into() },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex \n\n{cp}"),
                CheckpointError::InvalidIndex { value: "".into() },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex  1\n\n{cp}"),
                CheckpointError::InvalidIndex { value: " 1".into() },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex:1\n\n{cp}"),
                CheckpointError::MissingIndex,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nextra \nindex 1\n\n{cp}"),
                CheckpointError::InvalidExtra,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nextra AQI\nindex 1\n\n{cp}"),
                CheckpointError::InvalidExtra,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 1\nextra AQID\n\n{cp}"),
                CheckpointError::InvalidProofHash { line: 3 },
            ),
            (
                // The checkpoint straight after the proof, with no blank line.
                format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n{cp}"),
                CheckpointError::InvalidProofHash { line: 4 },
            ),
            (
                format!(
                    "c2sp.org/tlog-proof@v1\nindex 1\n{}\n\n{cp}",
                    b64::encode(&[9u8; 31])
                ),
                CheckpointError::InvalidProofHash { line: 3 },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n"),
                CheckpointError::ProofTruncated {
                    expected: "an empty line before the checkpoint",
                },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n\n"),
                CheckpointError::ProofTruncated {
                    expected: "the checkpoint",
                },
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex 1\n".into(),
                CheckpointError::ProofTruncated {
                    expected: "an empty line before the checkpoint",
                },
            ),
            (
                format!(
                    "c2sp.org/tlog-proof@v1\nindex 1\n\n{}",
                    checkpoint(&[]).to_text()
                ),
                CheckpointError::NotASignedNote {
                    reason: "no blank line before the signatures",
                },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 1\n\n\n{cp}"),
                CheckpointError::EmptyOrigin,
            ),
            (
                format!("c2sp.org/tlog-proof@v1\nindex 1\n\no\n01\n{ROOT_B64}\n\n{SIG_LINE}"),
                CheckpointError::InvalidTreeSize { value: "01".into() },
            ),
            (
                format!("c2sp.org/tlog-proof@v1\r\nindex 1\n\n{cp}"),
                CheckpointError::ControlCharacter {
                    code: 13,
                    offset: 22,
                },
            ),
        ];
        for (text, want) in cases {
            let got = TlogProof::parse(&text).unwrap_err();
            assert_eq!(got, want, "{text:?}");
            assert!(!got.to_string().contains('\n'), "{got}");
        }

        let too_many = proof(None, MAX_PROOF_HASHES + 1, &[]).to_text();
        assert_eq!(
            TlogProof::parse(&too_many),
            Err(CheckpointError::TooManyProofHashes {
                limit: MAX_PROOF_HASHES
            })
        );
        let big = TlogProof {
            extra: Some(vec![0; MAX_TEXT_SIZE]),
            ..proof(None, 0, &[])
        }
        .to_text();
        assert!(matches!(
            TlogProof::parse(&big),
            Err(CheckpointError::TooLarge { .. })
        ));
        assert!(TlogProof::parse(&good).is_ok());
    }

    #[test]
    fn split_note_rules() {
        assert_eq!(split_note("a\n\n— s\n").unwrap(), ("a\n", "— s\n"));
        // The last blank line separates text from signatures.
        assert_eq!(
            split_note("a\n\nb\n\n— s\n— t\n").unwrap(),
            ("a\n\nb\n", "— s\n— t\n")
        );
        for bad in ["", "a\n", "a\n\n", "a\n\n— s", "a\n— s\n"] {
            assert!(split_note(bad).is_err(), "{bad:?}");
        }
        let p = TlogProof {
            checkpoint: "no note here\n".into(),
            ..proof(None, 0, &[])
        };
        assert!(p.checkpoint_body().is_err());
    }

    #[test]
    fn garbage_does_not_panic() {
        let good = proof(Some(vec![5; 40]), 3, &["x"]).to_text();
        for (i, _) in good.char_indices() {
            let _ = TlogProof::parse(&good[..i]);
            let _ = Checkpoint::parse(&good[..i]);
            let _ = split_note(&good[..i]);
        }
        for s in [
            "\n",
            "\n\n",
            "=",
            "index 0\n",
            "c2sp.org/tlog-proof@v1\n\n\n\n",
        ] {
            let _ = TlogProof::parse(s);
            let _ = Checkpoint::parse(s);
        }
    }
}
