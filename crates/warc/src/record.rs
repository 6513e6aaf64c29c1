//! One WARC record and how it is written: the version line, named fields in a fixed order,
//! the block, two CRLFs; each record its own gzip member when compressed (WARC 1.1 Annex D),
//! so that readers can seek to any record.

use std::io::{self, Read, Write};

use flate2::Compression as Level;
use flate2::GzBuilder;
use sha2::{Digest, Sha256};

/// The record types exhibit writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordType {
    /// `warcinfo`: about the file.
    Warcinfo,
    /// `resource`: a body, without the protocol's headers.
    Resource,
    /// `response`: a whole HTTP response as received (`application/http; msgtype=response`).
    Response,
    /// `metadata`: about another record.
    Metadata,
}

impl RecordType {
    /// The `WARC-Type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::Warcinfo => "warcinfo",
            RecordType::Resource => "resource",
            RecordType::Response => "response",
            RecordType::Metadata => "metadata",
        }
    }
}

/// A record to write: its type, its named fields (besides the ones every record has, which
/// the writer adds), and its block's length and SHA-256 (the block itself is streamed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `WARC-Type`.
    pub kind: RecordType,
    /// `WARC-Record-ID`, `<urn:uuid:…>` (see [`record_id`]).
    pub id: String,
    /// `WARC-Date`, RFC 3339 UTC seconds.
    pub date: String,
    /// `Content-Type` of the block.
    pub content_type: String,
    /// Further fields, in the order given (`WARC-Target-URI`, `WARC-Payload-Digest`, …). Values
    /// must be one line of printable text; the writer refuses anything else.
    pub fields: Vec<(String, String)>,
    /// The block's length in bytes.
    pub length: u64,
    /// The block's SHA-256 (written as `WARC-Block-Digest: sha256:<hex>`).
    pub block_sha256: [u8; 32],
}

/// Whether records are written plain (`.warc`) or as one gzip member each (`.warc.gz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain.
    None,
    /// One gzip member per record.
    Gzip,
}

impl Compression {
    /// The compression a file name asks for: gzip for `.gz`, none otherwise.
    pub fn for_file_name(name: &str) -> Compression {
        if name.ends_with(".gz") {
            Compression::Gzip
        } else {
            Compression::None
        }
    }
}

/// A deterministic record id: `<urn:uuid:…>` made from the SHA-256 of `key` (a UUID of version
/// 8, "custom", RFC 9562 §5.8), so that the same record always gets the same id.
pub fn record_id(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "<urn:uuid:{}-{}-{}-{}-{}>",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `sha256:<hex>`, the digest form exhibit writes (WARC 1.1 §5.8 allows any algorithm and
/// encoding; readers such as warcio decode base16).
pub fn sha256_label(digest: &[u8; 32]) -> String {
    let hex: String = digest.iter().map(|x| format!("{x:02x}")).collect();
    format!("sha256:{hex}")
}

/// Writes records to a stream.
pub struct WarcWriter<W: Write> {
    out: Counted<W>,
    compression: Compression,
}

/// A stream that counts what goes through it.
struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> WarcWriter<W> {
    /// A writer onto `out`.
    pub fn new(out: W, compression: Compression) -> WarcWriter<W> {
        WarcWriter {
            out: Counted {
                inner: out,
                written: 0,
            },
            compression,
        }
    }

    /// How many bytes have been written: where the next record starts (for `.warc.gz`, its
    /// gzip member), as a CDXJ index's `offset` gives it.
    pub fn offset(&self) -> u64 {
        self.out.written
    }

    /// Writes `record` with its block read from `block`, which must yield exactly
    /// `record.length` bytes hashing to `record.block_sha256` (else an error, and the output
    /// is to be discarded).
    pub fn write(&mut self, record: &Record, block: &mut dyn Read) -> io::Result<()> {
        let head = head(record)?;
        match self.compression {
            Compression::None => copy_record(&mut self.out, &head, record, block),
            Compression::Gzip => {
                // No file name, no time: the same record gives the same member.
                let mut gz = GzBuilder::new()
                    .mtime(0)
                    .write(&mut self.out, Level::new(6));
                copy_record(&mut gz, &head, record, block)?;
                gz.finish()?;
                Ok(())
            }
        }
    }

    /// The underlying stream, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out.inner)
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The record's header: version line, the named fields, the empty line.
fn head(r: &Record) -> io::Result<Vec<u8>> {
    let mut fields: Vec<(&str, String)> = vec![
        ("WARC-Type", r.kind.as_str().to_owned()),
        ("WARC-Record-ID", r.id.clone()),
        ("WARC-Date", r.date.clone()),
    ];
    for (name, value) in &r.fields {
        fields.push((name.as_str(), value.clone()));
    }
    fields.push(("WARC-Block-Digest", sha256_label(&r.block_sha256)));
    fields.push(("Content-Type", r.content_type.clone()));
    fields.push(("Content-Length", r.length.to_string()));
    let mut s = String::from("WARC/1.1\r\n");
    for (name, value) in fields {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(invalid(format!("WARC field name {name:?} is not a token")));
        }
        if value.chars().any(|c| c.is_control()) {
            return Err(invalid(format!(
                "WARC field {name}: value {value:?} holds a control character"
            )));
        }
        s.push_str(name);
        s.push_str(": ");
        s.push_str(&value);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    Ok(s.into_bytes())
}

/// Header, block (checked), and the two CRLFs that end a record.
fn copy_record(
    out: &mut dyn Write,
    head: &[u8],
    record: &Record,
    block: &mut dyn Read,
) -> io::Result<()> {
    out.write_all(head)?;
    let mut hasher = Sha256::new();
    let mut left = record.length;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = block.read(&mut buf[..want])?;
        if n == 0 {
            return Err(invalid(format!(
                "record {}: the block ended {left} bytes early",
                record.id
            )));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    if block.read(&mut buf[..1])? != 0 {
        return Err(invalid(format!(
            "record {}: the block is longer than {} bytes",
            record.id, record.length
        )));
    }
    if hasher.finalize().as_slice() != record.block_sha256 {
        return Err(invalid(format!(
            "record {}: the block does not hash to its digest",
            record.id
        )));
    }
    out.write_all(b"\r\n\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(block: &[u8]) -> Record {
        Record {
            kind: RecordType::Resource,
            id: record_id("test"),
            date: "2026-04-30T06:15:21Z".into(),
            content_type: "text/plain".into(),
            fields: vec![("WARC-Target-URI".into(), "https://example.com/".into())],
            length: block.len() as u64,
            block_sha256: Sha256::digest(block).into(),
        }
    }

    #[test]
    fn a_record_is_written_exactly_and_ids_are_stable_uuids() {
        let mut w = WarcWriter::new(Vec::new(), Compression::None);
        w.write(&record(b"hello"), &mut &b"hello"[..]).unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(out.starts_with("WARC/1.1\r\nWARC-Type: resource\r\nWARC-Record-ID: <urn:uuid:"));
        assert!(
            out.contains("\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n"),
            "{out}"
        );
        assert_eq!(record_id("x"), record_id("x"));
        assert_ne!(record_id("x"), record_id("y"));
        let id = record_id("x");
        assert_eq!(id.len(), "<urn:uuid:>".len() + 36);
        assert_eq!(&id[24..25], "8", "version 8: {id}");
    }

    #[test]
    fn a_block_that_is_not_what_the_record_says_is_refused() {
        let mut w = WarcWriter::new(Vec::new(), Compression::None);
        assert!(w.write(&record(b"hello"), &mut &b"hell"[..]).is_err());
        assert!(w.write(&record(b"hello"), &mut &b"hello!"[..]).is_err());
        assert!(w.write(&record(b"hello"), &mut &b"jello"[..]).is_err());
        let mut bad = record(b"hello");
        bad.fields
            .push(("X".into(), "a\r\nWARC-Type: forged".into()));
        assert!(w.write(&bad, &mut &b"hello"[..]).is_err());
    }

    #[test]
    fn gzip_members_are_deterministic() {
        let write = || {
            let mut w = WarcWriter::new(Vec::new(), Compression::Gzip);
            w.write(&record(b"hello"), &mut &b"hello"[..]).unwrap();
            w.finish().unwrap()
        };
        assert_eq!(write(), write());
    }
}
