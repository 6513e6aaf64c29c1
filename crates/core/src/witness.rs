//! The C2SP tlog-witness `add-checkpoint` request (<https://c2sp.org/tlog-witness>): how a log
//! asks a witness to cosign a checkpoint, as the log writes it and the witness reads it.
//!
//! ```text
//! old 20852014
//! PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=      (a consistency proof from the old size,
//! jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=       zero to 63 lines)
//!
//! example.com/behind-the-sofa                        (the signed checkpoint note)
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPIC…
//! ```
//!
//! Pure text handling; the status codes a witness answers with are named here so that the
//! client and the server read them the same way.

use crate::checkpoint::base64_encode;

/// The path of the call under a witness's submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "/add-checkpoint";

/// The media type of a 409 answer's body: the witness's latest cosigned size and a newline.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// The most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// The largest request body a witness reads (a checkpoint with a few signatures is well under
/// a kilobyte; 63 proof lines are under 3 KiB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// An `add-checkpoint` request: the size the log believes the witness last cosigned, a
/// consistency proof from it, and the signed checkpoint note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The old size.
    pub old: u64,
    /// The RFC 6962 consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<[u8; 32]>,
    /// The signed checkpoint note, verbatim.
    pub note: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&base64_encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.note);
        out
    }

    /// Parses a request body strictly: `old N` (decimal, no leading zeros), at most
    /// [`MAX_PROOF_LINES`] lines of base64 32-byte hashes, an empty line, then the note (not
    /// parsed here). One line says what is wrong.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, String> {
        if body.len() > MAX_REQUEST_BYTES {
            return Err(format!("a body of more than {MAX_REQUEST_BYTES} bytes"));
        }
        let text = std::str::from_utf8(body).map_err(|_| "a body that is not UTF-8".to_owned())?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| "no old size line".to_owned())?;
        let old = first
            .strip_prefix("old ")
            .and_then(decimal)
            .ok_or_else(|| format!("an old size line {:?}", crate::manifest::shorten(first, 40)))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| "no empty line before the checkpoint".to_owned())?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(format!("more than {MAX_PROOF_LINES} proof lines"));
            }
            let hash = crate::checkpoint::base64_decode(line)
                .and_then(|h| <[u8; 32]>::try_from(h).ok())
                .ok_or_else(|| "a proof line that is not a base64 32-byte hash".to_owned())?;
            proof.push(hash);
        }
        if rest.is_empty() {
            return Err("no checkpoint".into());
        }
        Ok(AddCheckpoint {
            old,
            proof,
            note: rest.to_owned(),
        })
    }
}

/// ASCII decimal without leading zeros (except `0`).
fn decimal(s: &str) -> Option<u64> {
    let canonical = s == "0" || (!s.is_empty() && !s.starts_with('0'));
    (canonical && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses a 409 answer's body: the witness's latest cosigned size and a newline.
pub fn parse_size_body(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body)
        .ok()?
        .strip_suffix('\n')
        .and_then(decimal)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "example.com/log\n2\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— example.com/log AAAA\n";

    #[test]
    fn a_request_round_trips() {
        let r = AddCheckpoint {
            old: 1,
            proof: vec![[7; 32], [9; 32]],
            note: NOTE.into(),
        };
        let body = r.to_body();
        assert!(body.starts_with("old 1\nBwcH"), "{body}");
        assert_eq!(AddCheckpoint::parse(body.as_bytes()).unwrap(), r);
        let first = AddCheckpoint {
            old: 0,
            proof: vec![],
            note: NOTE.into(),
        };
        assert!(first.to_body().starts_with("old 0\n\nexample.com/log\n"));
        assert_eq!(
            AddCheckpoint::parse(first.to_body().as_bytes()).unwrap(),
            first
        );
    }

    #[test]
    fn malformed_requests_are_one_line_each() {
        let proof = base64_encode(&[1; 32]);
        for (body, problem) in [
            ("old 01\n\n".to_owned() + NOTE, "old size line"),
            ("old -1\n\n".to_owned() + NOTE, "old size line"),
            ("new 1\n\n".to_owned() + NOTE, "old size line"),
            (format!("old 1\n{proof}\n"), "no empty line"),
            (format!("old 1\nnot base64\n\n{NOTE}"), "proof line"),
            ("old 1\n\n".to_owned(), "no checkpoint"),
            (
                format!("old 1\n{}\n{NOTE}", format!("{proof}\n").repeat(64)),
                "more than 63",
            ),
        ] {
            let e = AddCheckpoint::parse(body.as_bytes()).unwrap_err();
            assert!(e.contains(problem), "{e:?} for {body:?}");
        }
        assert!(AddCheckpoint::parse(&[0xff, b'\n']).is_err());
        assert_eq!(parse_size_body(b"42\n"), Some(42));
        assert_eq!(parse_size_body(b"042\n"), None);
        assert_eq!(parse_size_body(b"42"), None);
    }
}
