//! Reading WARC 1.0 and 1.1 files written by anyone (ISO 28500; warcio, wget, Heritrix,
//! Browsertrix, exhibit itself): record by record, streaming, on input that may be hostile.
//!
//! A file is plain, or gzip (one member per record as WARC 1.1 Annex D recommends, or one
//! member for the whole file, or anything between: a member may hold several whole records,
//! as warcio accepts; a record may not span members). Which one is told by the first bytes.
//! Nothing may come between records (nor after the last) but the next record: no stray
//! blank lines, no empty gzip members.
//!
//! Every record's header is bounded ([`Limits`]); its block is handed to the caller as a
//! stream of exactly Content-Length bytes, hashed on the way (SHA-256 always, and the
//! `WARC-Block-Digest` algorithm when it is one this reader knows), then checked against that
//! digest and for the CRLF CRLF that ends a record. Nothing is allocated by a size the file
//! claims, and memory does not grow with the file beyond a few dozen bytes per record (a
//! 16-byte hash of its id and its offset, to refuse duplicate ids). Header text is UTF-8, else read as ISO-8859-1 (as warcio does).
//!
//! HTTP messages inside blocks (status line and headers, chunked bodies, the payload digest)
//! are in [`http`]. Not for writing ([`crate::record`]), nor for seeking to a record by an
//! index: records are read in order from the start.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;
use sha2::{Digest as _, Sha256};

mod digest;
mod fields;
pub mod http;
mod source;

use digest::{Expected, Hasher, Parsed, parse_digest};
use fields::{Fault, Line, read_fields, read_line, shown, text};
use source::{Counted, Src, gzip_problem, io_problem, peek_gzip};

pub use http::{
    Dechunk, HttpHead, PayloadCheck, PayloadDigest, PayloadForm, Tap, TapRead,
    check_payload_digest, parse_http_head,
};

/// The longest `WARC-Record-ID` accepted, in bytes.
pub const MAX_ID_BYTES: usize = 1024;

/// Limits on what one record may claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest WARC header block (version line, fields and the empty line), in bytes;
    /// 64 KiB by default.
    pub max_header_bytes: usize,
    /// The most fields in one header (WARC or HTTP); 512 by default.
    pub max_fields: usize,
    /// The longest HTTP head (status line, headers and the empty line) in a block, in
    /// bytes; 64 KiB by default.
    pub max_http_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_bytes: 64 * 1024,
            max_fields: 512,
            max_http_header_bytes: 64 * 1024,
        }
    }
}

/// A record's WARC header as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    /// Where the record starts in the file; in a gzip file, the first byte of the gzip member
    /// it is in.
    pub offset: u64,
    /// Where the record starts in its gzip member's decompressed data: 0 for a record that
    /// begins its member, and always 0 in a plain file.
    pub offset_in_member: u64,
    /// The version line: `WARC/1.0` or `WARC/1.1`.
    pub version: String,
    /// The fields in file order: names as written, values with surrounding spaces and tabs
    /// trimmed and continuation lines joined with one space.
    pub fields: Vec<(String, String)>,
    /// The block's length (`Content-Length`).
    pub content_length: u64,
}

impl Head {
    /// The first field called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        first_field(&self.fields, name)
    }

    /// `WARC-Type`.
    pub fn kind(&self) -> Option<&str> {
        self.get("WARC-Type")
    }

    /// `WARC-Record-ID`.
    pub fn id(&self) -> Option<&str> {
        self.get("WARC-Record-ID")
    }
}

/// The value of the first of `fields` called `name` (case-insensitive, as WARC and HTTP field
/// names are).
pub(crate) fn first_field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What checking a digest field found (a mismatch is an error, not a value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Digest {
    /// The digest matched; `algorithm` is `sha1` or `sha256`.
    Checked {
        /// The algorithm checked.
        algorithm: &'static str,
    },
    /// The record has no such digest field.
    Absent,
    /// An algorithm this reader does not compute (its name as written), so not checked.
    Unknown(String),
}

/// What the reader learned about a record once its block was read to the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// The header.
    pub head: Head,
    /// The bytes the record occupies in the file from [`Head::offset`]: the record itself in
    /// a plain file; its whole gzip member for the member's last record, and 0 for the
    /// records before it in the same member. So `offset + length` of a record is always the
    /// `offset` of the next one.
    pub length: u64,
    /// The block's SHA-256.
    pub block_sha256: [u8; 32],
    /// The `WARC-Block-Digest` check.
    pub block_digest: Digest,
}

/// Why a file could not be read: where, and what is wrong, in one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {problem}")]
pub struct ReadError {
    /// The byte of the file where the problem is, when known exactly (in a plain file);
    /// else where the record, or its gzip member, starts.
    pub offset: u64,
    /// What is wrong.
    pub problem: String,
}

impl From<ReadError> for io::Error {
    fn from(e: ReadError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e.to_string())
    }
}

/// Reads every record of a WARC file, calling `each` with its header and a reader of exactly
/// its block (whatever `each` leaves unread is then read and hashed), then `done` with what
/// was learned once the block was checked. Returns the number of records. A problem in the
/// file stops the reading with a [`ReadError`] (converted into `E`); so does an error from a
/// callback, except that if the block reader failed it is the reader's error that is returned.
pub fn read_records<R: Read, E: From<ReadError>>(
    input: R,
    limits: Limits,
    mut each: impl FnMut(&Head, &mut dyn BufRead) -> Result<(), E>,
    mut done: impl FnMut(Done) -> Result<(), E>,
) -> Result<u64, E> {
    let mut reader = WarcReader::new(input, limits);
    let mut count = 0u64;
    while let Some(mut record) = reader.next_record()? {
        if let Err(e) = each(&record.head, &mut record.block) {
            return Err(record.block.fault().map_or(e, E::from));
        }
        done(record.finish()?)?;
        count += 1;
    }
    Ok(count)
}

/// Reads the records of a WARC file one after the other ([`WarcReader::next_record`]).
pub struct WarcReader<R: Read> {
    src: Src<R>,
    limits: Limits,
    /// The first 16 bytes of each id's SHA-256, and where the id was first seen.
    ids: HashMap<[u8; 16], u64>,
    current: Option<Current>,
    failed: bool,
    line: Vec<u8>,
}

/// A record being read: its header, and its block.
pub struct ReadRecord<'a, R: Read> {
    /// The header.
    pub head: Head,
    /// The block: exactly `head.content_length` bytes.
    pub block: BlockReader<'a, R>,
}

/// Reads one record's block, hashing what is read. Ends (reads 0) after Content-Length
/// bytes; fails if the file ends first.
pub struct BlockReader<'a, R: Read> {
    reader: &'a mut WarcReader<R>,
}

/// The state of the record whose block is being read.
struct Current {
    offset: u64,
    content_length: u64,
    left: u64,
    sha256: Sha256,
    check: Option<(Expected, Hasher)>,
    unknown: Option<String>,
    fault: Option<ReadError>,
}

impl<R: Read> WarcReader<R> {
    /// A reader of the WARC file `input` (plain or gzip, told by its first bytes).
    pub fn new(input: R, limits: Limits) -> WarcReader<R> {
        WarcReader {
            src: Src::Start(Counted::new(BufReader::with_capacity(64 * 1024, input))),
            limits,
            ids: HashMap::new(),
            current: None,
            failed: false,
            line: Vec::new(),
        }
    }

    /// The next record, or `None` at the end of the file. A record not finished
    /// ([`ReadRecord::finish`]) is finished first, its [`Done`] dropped but its checks made.
    /// After an error, every call fails.
    pub fn next_record(&mut self) -> Result<Option<ReadRecord<'_, R>>, ReadError> {
        if self.failed {
            return Err(fault_at(
                self.src.at(),
                "reading stopped at an earlier error",
            ));
        }
        if self.current.is_some() {
            self.finish_current()?;
        }
        match self.begin() {
            Ok(Some(head)) => Ok(Some(ReadRecord {
                head,
                block: BlockReader { reader: self },
            })),
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }

    /// Moves to the start of the next record and reads its header.
    fn begin(&mut self) -> Result<Option<Head>, ReadError> {
        loop {
            match std::mem::replace(&mut self.src, Src::Gone) {
                Src::Start(mut file) => match peek_gzip(&mut file)? {
                    None => return Ok(None),
                    Some(true) => self.src = Src::Between(file),
                    Some(false) => self.src = Src::Plain(file),
                },
                Src::Plain(mut file) => {
                    let at_end = peek_gzip(&mut file)?.is_none();
                    self.src = Src::Plain(file);
                    if at_end {
                        return Ok(None);
                    }
                    break;
                }
                Src::Between(mut file) => match peek_gzip(&mut file)? {
                    None => return Ok(None),
                    Some(false) => {
                        let first = file.fill_buf().unwrap_or_default();
                        let shown = shown(&first[..first.len().min(16)], 60);
                        return Err(fault_at(
                            file.pos,
                            format!("not a gzip member (starts with \"{shown}\")"),
                        ));
                    }
                    Some(true) => {
                        let start = file.pos;
                        let data = Box::new(Counted::new(BufReader::new(GzDecoder::new(file))));
                        self.src = Src::Member {
                            data,
                            start,
                            records: 0,
                        };
                    }
                },
                Src::Member {
                    mut data,
                    start,
                    records,
                } => {
                    let empty = data.fill_buf().map(|b| b.is_empty());
                    match empty {
                        Err(e) => return Err(fault_at(start, gzip_problem(&e))),
                        Ok(true) if records == 0 => {
                            return Err(fault_at(start, "gzip member holds no WARC record"));
                        }
                        Ok(true) => self.src = Src::Between(data.inner.into_inner().into_inner()),
                        Ok(false) => {
                            self.src = Src::Member {
                                data,
                                start,
                                records,
                            };
                            break;
                        }
                    }
                }
                Src::Gone => return Ok(None),
            }
        }
        self.read_head().map(Some)
    }

    /// Reads a record's header (the source is at its first byte, which exists).
    fn read_head(&mut self) -> Result<Head, ReadError> {
        let gz = self.src.is_gzip();
        let (offset, offset_in_member) = match &self.src {
            Src::Member { data, start, .. } => (*start, data.pos),
            other => (other.at(), 0),
        };
        let at = |rel: usize| if gz { offset } else { offset + rel as u64 };
        let ended = if gz {
            "gzip member ends"
        } else {
            "file truncated"
        };
        let Some(data) = self.src.data() else {
            return Err(fault_at(offset, "no data"));
        };
        let line = &mut self.line;
        let fail = |rel: usize, problem: String| ReadError {
            offset: at(rel),
            problem,
        };
        let io_fail = |e: io::Error| fail(0, io_problem(gz, &e));

        let version_len = match read_line(data, line, 64).map_err(io_fail)? {
            Line::Read(n) if line.as_slice() == b"WARC/1.0" || line.as_slice() == b"WARC/1.1" => n,
            _ => {
                let shown = shown(line, 60);
                return Err(fail(
                    0,
                    format!("not a WARC record (version line \"{shown}\")"),
                ));
            }
        };
        let version = text(line);
        let budget = self.limits.max_header_bytes.saturating_sub(version_len);
        let fields = match read_fields(data, line, budget, self.limits.max_fields) {
            Ok((fields, _)) => fields,
            Err((rel, fault)) => {
                let problem = match fault {
                    Fault::Io(e) => io_problem(gz, &e),
                    Fault::Eof => format!("header ends before its empty line ({ended})"),
                    Fault::TooLong => format!(
                        "header block longer than {} bytes",
                        self.limits.max_header_bytes
                    ),
                    Fault::TooMany => {
                        format!("more than {} header fields", self.limits.max_fields)
                    }
                    Fault::Bad(problem) => problem,
                };
                return Err(fail(version_len + rel, problem));
            }
        };
        let head = Head {
            offset,
            offset_in_member,
            version,
            fields,
            content_length: 0,
        };
        self.check_head(head)
    }

    /// Checks the fields every record needs and sets up the block's hashing.
    fn check_head(&mut self, mut head: Head) -> Result<Head, ReadError> {
        let offset = head.offset;
        let mut lengths = head
            .fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
            .map(|(_, v)| v.as_str());
        let Some(length) = lengths.next() else {
            return Err(fault_at(offset, "no Content-Length"));
        };
        if lengths.any(|other| other != length) {
            return Err(fault_at(offset, "two different Content-Length fields"));
        }
        head.content_length = match length.parse::<u64>() {
            Ok(n) if length.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => {
                let shown = shown(length.as_bytes(), 60);
                return Err(fault_at(
                    offset,
                    format!("Content-Length is not a number: \"{shown}\""),
                ));
            }
        };
        if let Some(id) = head.id() {
            if id.len() > MAX_ID_BYTES {
                let problem = format!("WARC-Record-ID longer than {MAX_ID_BYTES} bytes");
                return Err(fault_at(offset, problem));
            }
            let mut key = [0u8; 16];
            key.copy_from_slice(&Sha256::digest(id.as_bytes())[..16]);
            if let Some(first) = self.ids.insert(key, offset) {
                let shown = shown(id.as_bytes(), 100);
                let problem = format!("duplicate WARC-Record-ID {shown} (first at byte {first})");
                return Err(fault_at(offset, problem));
            }
        }
        let (check, unknown) = match head.get("WARC-Block-Digest") {
            None => (None, None),
            Some(label) => match parse_digest("WARC-Block-Digest", label) {
                Ok(Parsed::Known(e)) => {
                    let hasher = e.hasher();
                    (Some((e, hasher)), None)
                }
                Ok(Parsed::Unknown(algorithm)) => (None, Some(algorithm)),
                Err(problem) => return Err(fault_at(offset, problem)),
            },
        };
        self.current = Some(Current {
            offset,
            content_length: head.content_length,
            left: head.content_length,
            sha256: Sha256::new(),
            check,
            unknown,
            fault: None,
        });
        Ok(head)
    }

    /// Reads the rest of the current block and the CRLF CRLF after it, checks the digest.
    fn finish_current(&mut self) -> Result<(u64, [u8; 32], Digest), ReadError> {
        let result = self.finish_inner();
        self.current = None;
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn finish_inner(&mut self) -> Result<(u64, [u8; 32], Digest), ReadError> {
        let mut block = BlockReader { reader: self };
        loop {
            match block.fill_buf() {
                Ok([]) => break,
                Ok(buf) => {
                    let n = buf.len();
                    block.consume(n);
                }
                Err(_) => break,
            }
        }
        let gz = self.src.is_gzip();
        let at = self.src.at();
        let Some(cur) = self.current.take() else {
            return Err(fault_at(at, "no record is being read"));
        };
        if let Some(fault) = cur.fault {
            return Err(fault);
        }
        let Some(data) = self.src.data() else {
            return Err(fault_at(at, "no data"));
        };
        let mut end = [0u8; 4];
        let mut got = 0;
        while got < end.len() {
            let buf = data.fill_buf().map_err(|e| io_fault(at, gz, &e))?;
            if buf.is_empty() {
                break;
            }
            let n = buf.len().min(end.len() - got);
            end[got..got + n].copy_from_slice(&buf[..n]);
            data.consume(n);
            got += n;
        }
        if &end[..got] != b"\r\n\r\n" {
            return Err(fault_at(at, "block not followed by CRLF CRLF"));
        }
        let block_digest = match (cur.check, cur.unknown) {
            (Some((expected, hasher)), _) => {
                let computed = hasher.finish();
                if computed != expected.value {
                    let problem = format!(
                        "WARC-Block-Digest {} does not match the block ({} computed)",
                        shown(expected.label.as_bytes(), 120),
                        expected.show(&computed)
                    );
                    return Err(fault_at(cur.offset, problem));
                }
                Digest::Checked {
                    algorithm: expected.algorithm,
                }
            }
            (None, Some(algorithm)) => Digest::Unknown(algorithm),
            (None, None) => Digest::Absent,
        };
        let length = match std::mem::replace(&mut self.src, Src::Gone) {
            Src::Member {
                mut data,
                start,
                records,
            } => {
                let empty = data.fill_buf().map(|b| b.is_empty());
                match empty {
                    Err(e) => return Err(fault_at(start, gzip_problem(&e))),
                    Ok(true) => {
                        let file = data.inner.into_inner().into_inner();
                        let length = file.pos - start;
                        self.src = Src::Between(file);
                        length
                    }
                    Ok(false) => {
                        self.src = Src::Member {
                            data,
                            start,
                            records: records + 1,
                        };
                        0
                    }
                }
            }
            other => {
                let length = other.at().saturating_sub(cur.offset);
                self.src = other;
                length
            }
        };
        Ok((length, cur.sha256.finalize().into(), block_digest))
    }
}

fn fault_at(offset: u64, problem: impl Into<String>) -> ReadError {
    ReadError {
        offset,
        problem: problem.into(),
    }
}

fn io_fault(offset: u64, gz: bool, e: &io::Error) -> ReadError {
    fault_at(offset, io_problem(gz, e))
}

impl<R: Read> ReadRecord<'_, R> {
    /// Reads what is left of the block, checks it, and says what was found.
    pub fn finish(self) -> Result<Done, ReadError> {
        let (length, block_sha256, block_digest) = self.block.reader.finish_current()?;
        Ok(Done {
            head: self.head,
            length,
            block_sha256,
            block_digest,
        })
    }
}

impl<R: Read> BlockReader<'_, R> {
    /// The problem reading the block ran into, if it did.
    pub fn fault(&self) -> Option<ReadError> {
        self.reader.current.as_ref().and_then(|c| c.fault.clone())
    }
}

impl<R: Read> BufRead for BlockReader<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let r = &mut *self.reader;
        let Some(cur) = r.current.as_mut() else {
            return Ok(&[]);
        };
        if let Some(f) = &cur.fault {
            return Err(io::Error::new(io::ErrorKind::InvalidData, f.to_string()));
        }
        if cur.left == 0 {
            return Ok(&[]);
        }
        let (gz, at) = (r.src.is_gzip(), r.src.at());
        let Some(data) = r.src.data() else {
            return Ok(&[]);
        };
        let fault = match data.fill_buf() {
            Ok(buf) if !buf.is_empty() => {
                let n = buf
                    .len()
                    .min(usize::try_from(cur.left).unwrap_or(usize::MAX));
                return Ok(&buf[..n]);
            }
            Ok(_) => {
                let read = cur.content_length - cur.left;
                let why = if gz {
                    "gzip member ends"
                } else {
                    "file truncated"
                };
                let problem = format!(
                    "block ends after {read} of {} bytes ({why})",
                    cur.content_length
                );
                ReadError {
                    offset: at,
                    problem,
                }
            }
            Err(e) => io_fault(at, gz, &e),
        };
        let error = io::Error::new(io::ErrorKind::InvalidData, fault.to_string());
        cur.fault = Some(fault);
        Err(error)
    }

    fn consume(&mut self, amount: usize) {
        let r = &mut *self.reader;
        let (Some(cur), Some(data)) = (r.current.as_mut(), r.src.data()) else {
            return;
        };
        let Ok(buf) = data.fill_buf() else {
            return;
        };
        let n = amount
            .min(buf.len())
            .min(usize::try_from(cur.left).unwrap_or(usize::MAX));
        cur.sha256.update(&buf[..n]);
        if let Some((_, hasher)) = &mut cur.check {
            hasher.update(&buf[..n]);
        }
        data.consume(n);
        cur.left -= n as u64;
    }
}

impl<R: Read> Read for BlockReader<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use sha1::Sha1;

    use super::digest::base32_encode;
    use std::io::Write;

    use flate2::write::GzEncoder;

    use super::http::{PayloadCheck, PayloadForm, check_payload_digest};
    use super::*;
    use crate::record::{Compression, Record, RecordType, WarcWriter, record_id};

    fn record(key: &str, block: &[u8]) -> Record {
        Record {
            kind: RecordType::Resource,
            id: record_id(key),
            date: "2026-04-30T06:15:21Z".into(),
            content_type: "application/octet-stream".into(),
            fields: vec![("WARC-Target-URI".into(), format!("urn:test:{key}"))],
            length: block.len() as u64,
            block_sha256: Sha256::digest(block).into(),
        }
    }

    fn written(blocks: &[(&str, &[u8])], compression: Compression) -> Vec<u8> {
        let mut w = WarcWriter::new(Vec::new(), compression);
        for (key, block) in blocks {
            w.write(&record(key, block), &mut &block[..]).unwrap();
        }
        w.finish().unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// A plain record with these fields (one per line, without the version line).
    fn raw(fields: &[&str], block: &[u8]) -> Vec<u8> {
        let mut out = b"WARC/1.1\r\n".to_vec();
        for f in fields {
            out.extend_from_slice(f.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !fields.iter().any(|f| f.starts_with("Content-Length:")) {
            out.extend_from_slice(format!("Content-Length: {}\r\n", block.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Done>, ReadError> {
        read_with(bytes, Limits::default())
    }

    fn read_with(bytes: &[u8], limits: Limits) -> Result<Vec<Done>, ReadError> {
        let mut out = Vec::new();
        let each = |_: &Head, _: &mut dyn BufRead| Ok::<(), ReadError>(());
        read_records(bytes, limits, each, |d| {
            out.push(d);
            Ok(())
        })?;
        Ok(out)
    }

    fn error(bytes: &[u8]) -> String {
        match read_all(bytes) {
            Ok(done) => panic!("read {} records", done.len()),
            Err(e) => e.to_string(),
        }
    }

    fn big_block() -> Vec<u8> {
        (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn what_the_writer_writes_reads_back() {
        let big = big_block();
        let blocks: [(&str, &[u8]); 3] = [("a", b""), ("b", b"hello"), ("c", &big)];
        for compression in [Compression::None, Compression::Gzip] {
            let file = written(&blocks, compression);
            let mut seen = Vec::new();
            let each = |head: &Head, block: &mut dyn BufRead| {
                let mut bytes = Vec::new();
                // Read part of the big block only: the reader drains the rest.
                block.take(1000).read_to_end(&mut bytes)?;
                seen.push((head.kind().map(str::to_owned), bytes));
                Ok::<(), io::Error>(())
            };
            let mut done = Vec::new();
            let n = read_records(&file[..], Limits::default(), each, |d| {
                done.push(d);
                Ok::<(), io::Error>(())
            })
            .unwrap();
            assert_eq!(n, 3);
            let mut offset = 0;
            for (((key, block), d), (kind, bytes)) in blocks.iter().zip(&done).zip(&seen) {
                let r = record(key, block);
                assert_eq!(d.head.offset, offset);
                assert_eq!(d.head.offset_in_member, 0);
                assert_eq!(d.length, written(&[(key, block)], compression).len() as u64);
                assert_eq!(d.head.version, "WARC/1.1");
                assert_eq!(d.head.id(), Some(r.id.as_str()));
                assert_eq!(kind.as_deref(), Some("resource"));
                assert_eq!(d.head.get("warc-target-uri"), Some(r.fields[0].1.as_str()));
                assert_eq!(d.head.content_length, block.len() as u64);
                assert_eq!(d.block_sha256, r.block_sha256);
                assert_eq!(
                    d.block_digest,
                    Digest::Checked {
                        algorithm: "sha256"
                    }
                );
                assert_eq!(&bytes[..], &block[..block.len().min(1000)]);
                offset += d.length;
            }
            assert_eq!(offset, file.len() as u64);
        }
    }

    #[test]
    fn a_gzip_member_may_hold_several_records() {
        let big = big_block();
        let blocks: [(&str, &[u8]); 3] = [("a", b"x"), ("b", b"hello"), ("c", &big)];
        let plain = written(&blocks, Compression::None);
        let offsets: Vec<u64> = read_all(&plain)
            .unwrap()
            .iter()
            .map(|d| d.head.offset)
            .collect();
        // The whole file as one gzip stream.
        let whole = gz(&plain);
        let done = read_all(&whole).unwrap();
        let got: Vec<_> = done
            .iter()
            .map(|d| (d.head.offset, d.head.offset_in_member, d.length))
            .collect();
        let n = whole.len() as u64;
        assert_eq!(got, [(0, 0, 0), (0, offsets[1], 0), (0, offsets[2], n)]);
        // Two records in a first member, one in a second.
        let mut mixed = gz(&plain[..offsets[2] as usize]);
        let first = mixed.len() as u64;
        mixed.extend(gz(&plain[offsets[2] as usize..]));
        let done = read_all(&mixed).unwrap();
        let got: Vec<_> = done
            .iter()
            .map(|d| (d.head.offset, d.head.offset_in_member, d.length))
            .collect();
        let rest = mixed.len() as u64 - first;
        assert_eq!(got, [(0, 0, 0), (0, offsets[1], first), (first, 0, rest)]);
        assert!(
            done.iter()
                .zip(&blocks)
                .all(|(d, (_, b))| d.block_sha256 == <[u8; 32]>::from(Sha256::digest(b)))
        );
    }

    #[test]
    fn a_wrong_content_length_is_named() {
        let good = raw(&["WARC-Type: resource"], b"hello");
        let long = String::from_utf8(good.clone())
            .unwrap()
            .replace("Length: 5", "Length: 12");
        assert_eq!(
            error(long.as_bytes()),
            format!(
                "at byte {}: block ends after 9 of 12 bytes (file truncated)",
                long.len()
            )
        );
        assert!(
            error(&gz(long.as_bytes()))
                .ends_with("at byte 0: block ends after 9 of 12 bytes (gzip member ends)")
        );
        let short = String::from_utf8(good.clone())
            .unwrap()
            .replace("Length: 5", "Length: 3");
        assert_eq!(
            error(short.as_bytes()),
            format!(
                "at byte {}: block not followed by CRLF CRLF",
                good.len() - 6
            )
        );
        let missing = String::from_utf8(good)
            .unwrap()
            .replace("Content-Length: 5\r\n", "");
        assert!(error(missing.as_bytes()).ends_with("no Content-Length"));
        for bad in ["5x", "-5", "+5", "", "99999999999999999999999"] {
            let text = raw(&[&format!("Content-Length: {bad}")], b"");
            assert!(
                error(&text).contains("Content-Length is not a number"),
                "{bad}"
            );
        }
        assert!(
            error(&raw(&["Content-Length: 0", "content-length: 1"], b""))
                .ends_with("two different Content-Length fields")
        );
    }

    #[test]
    fn broken_gzip_is_named() {
        let file = written(&[("a", b"hello"), ("b", &big_block())], Compression::Gzip);
        let second = read_all(&file).unwrap()[1].head.offset;
        for cut in [file.len() - 4, file.len() - 100, second as usize + 30] {
            assert_eq!(
                error(&file[..cut]),
                format!("at byte {second}: truncated gzip member")
            );
        }
        let mut crc = file.clone();
        let at = crc.len() - 6;
        crc[at] ^= 1;
        assert!(error(&crc).starts_with(&format!("at byte {second}: corrupt gzip member")));
        let mut after = file.clone();
        after.extend_from_slice(b"WARC/1.1\r\n");
        assert_eq!(
            error(&after),
            format!(
                "at byte {}: not a gzip member (starts with \"WARC/1.1\\r\\n\")",
                file.len()
            )
        );
        assert_eq!(
            error(&gz(b"")),
            "at byte 0: gzip member holds no WARC record"
        );
    }

    #[test]
    fn a_lying_block_digest_is_refused() {
        let mut file = written(&[("a", b"hello")], Compression::None);
        let at = file.len() - 9;
        file[at] = b'j';
        let e = error(&file);
        assert!(
            e.starts_with("at byte 0: WARC-Block-Digest sha256:2cf24dba"),
            "{e}"
        );
        let jello = hex_of(&Sha256::digest(b"jello"));
        assert!(
            e.ends_with(&format!(
                "does not match the block (sha256:{jello} computed)"
            )),
            "{e}"
        );

        let sha1 = |b: &[u8]| Sha1::digest(b).to_vec();
        let other = base32_encode(&sha1(b"other"));
        let e = error(&raw(
            &[&format!("WARC-Block-Digest: sha1:{other}")],
            b"hello",
        ));
        let hello = base32_encode(&sha1(b"hello"));
        assert!(
            e.ends_with(&format!(
                "WARC-Block-Digest sha1:{other} does not match the block (sha1:{hello} computed)"
            )),
            "{e}"
        );
        let sha256_b32 = base32_encode(&Sha256::digest(b"hello"));
        for (label, algorithm) in [
            (format!("sha1:{}", hello.to_lowercase()), "sha1"),
            (format!("SHA1:{}", hex_of(&sha1(b"hello"))), "sha1"),
            (format!("sha256:{sha256_b32}"), "sha256"),
            (
                format!("sha256:{}", sha256_b32.trim_end_matches('=')),
                "sha256",
            ),
        ] {
            let done = read_all(&raw(&[&format!("WARC-Block-Digest: {label}")], b"hello")).unwrap();
            assert_eq!(
                done[0].block_digest,
                Digest::Checked { algorithm },
                "{label}"
            );
        }
        let done = read_all(&raw(&["WARC-Block-Digest: md5:XYZ"], b"hello")).unwrap();
        assert_eq!(done[0].block_digest, Digest::Unknown("md5".into()));
        assert!(
            error(&raw(&["WARC-Block-Digest: sha1:XYZ"], b""))
                .ends_with("is not a sha1 digest in hex or base32")
        );
        assert!(
            error(&raw(&["WARC-Block-Digest: XYZ"], b""))
                .ends_with("WARC-Block-Digest XYZ has no algorithm")
        );
    }

    fn hex_of(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn headers_are_bounded() {
        let long = format!("X-Long: {}", "a".repeat(1 << 20));
        assert_eq!(
            error(&raw(&[&long], b"")),
            "at byte 10: header block longer than 65536 bytes"
        );
        let many: Vec<String> = (0..100_000).map(|i| format!("X-{i}: v")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let at: usize = 10 + many[..512].iter().map(|f| f.len() + 2).sum::<usize>();
        let e = format!("at byte {at}: more than 512 header fields");
        assert_eq!(error(&raw(&many, b"")), e);
        let limits = Limits {
            max_fields: usize::MAX,
            ..Limits::default()
        };
        let e = read_with(&raw(&many, b""), limits).unwrap_err().to_string();
        assert!(e.ends_with(": header block longer than 65536 bytes"), "{e}");
        let folded = read_all(&raw(&["X-Folded: one", " two ", "\tthree"], b"")).unwrap();
        assert_eq!(folded[0].head.get("x-folded"), Some("one two three"));
        assert!(error(&raw(&[" lead"], b"")).ends_with("continuation line before any field"));
        assert!(
            error(&raw(&["no colon"], b"")).ends_with("header line without a colon: \"no colon\"")
        );
        assert!(error(&raw(&["Bad Name: x"], b"")).ends_with("bad field name \"Bad Name\""));
        let latin1 = read_all(&raw(&["X-Latin: caf\u{e9}"], b"")).unwrap();
        assert_eq!(latin1[0].head.get("X-Latin"), Some("caf\u{e9}"));
        let id = format!("WARC-Record-ID: <{}>", "i".repeat(1100));
        assert!(error(&raw(&[&id], b"")).ends_with("WARC-Record-ID longer than 1024 bytes"));
    }

    #[test]
    fn duplicates_garbage_and_empty_files() {
        let one = raw(&["WARC-Record-ID: <urn:x>"], b"a");
        let two = [one.clone(), one.clone()].concat();
        assert_eq!(
            error(&two),
            format!(
                "at byte {}: duplicate WARC-Record-ID <urn:x> (first at byte 0)",
                one.len()
            )
        );
        let garbage = [one.clone(), b"garbage\r\n".repeat(10)].concat();
        assert_eq!(
            error(&garbage),
            format!(
                "at byte {}: not a WARC record (version line \"garbage\")",
                one.len()
            )
        );
        let crlf = [one.clone(), b"\r\n".to_vec()].concat();
        assert!(error(&crlf).ends_with("not a WARC record (version line \"\")"));
        let long = [one.clone(), vec![b'\x01'; 5000]].concat();
        assert!(error(&long).ends_with(&format!("(version line \"{}…\")", "\\x01".repeat(15))));
        let old = String::from_utf8(one.clone())
            .unwrap()
            .replace("WARC/1.1", "WARC/0.17");
        assert!(error(old.as_bytes()).ends_with("not a WARC record (version line \"WARC/0.17\")"));
        assert!(read_all(b"").unwrap().is_empty());
        assert_eq!(read_all(&one).unwrap()[0].head.version, "WARC/1.1");
        let v10 = String::from_utf8(one)
            .unwrap()
            .replace("WARC/1.1", "WARC/1.0");
        assert_eq!(
            read_all(v10.as_bytes()).unwrap()[0].head.version,
            "WARC/1.0"
        );
    }

    #[test]
    fn no_prefix_or_flipped_byte_makes_it_panic() {
        let blocks: [(&str, &[u8]); 2] = [("a", b"hello"), ("b", b"world!")];
        for compression in [Compression::None, Compression::Gzip] {
            let file = written(&blocks, compression);
            let ends: Vec<u64> = read_all(&file)
                .unwrap()
                .iter()
                .map(|d| d.head.offset + d.length)
                .collect();
            for cut in 0..file.len() {
                let result = read_all(&file[..cut]);
                assert_eq!(
                    result.is_ok(),
                    cut == 0 || ends.contains(&(cut as u64)),
                    "cut at {cut}"
                );
            }
            for at in 0..file.len() {
                for flip in [0x01, 0x20, 0x80] {
                    let mut bad = file.clone();
                    bad[at] ^= flip;
                    let _ = read_all(&bad);
                }
            }
        }
    }

    #[test]
    fn a_callback_error_gives_way_to_the_readers() {
        let file = raw(&[], b"hello");
        let cut = &file[..file.len() - 6];
        let each = |_: &Head, block: &mut dyn BufRead| {
            block.read_to_end(&mut Vec::new()).map_err(|_| ReadError {
                offset: 9,
                problem: "mine".into(),
            })?;
            Ok(())
        };
        let e: ReadError = read_records(cut, Limits::default(), each, |_| Ok(())).unwrap_err();
        assert!(
            e.problem.starts_with("block ends after 3 of 5 bytes"),
            "{e}"
        );
    }

    #[test]
    fn a_warcio_file_reads_and_its_digests_check() {
        let file = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests-data/warcio-sample.warc.gz"
        ));
        let mut payloads = Vec::new();
        let mut done = Vec::new();
        let each = |head: &Head, block: &mut dyn BufRead| {
            payloads.push(check_payload_digest(head, block, &Limits::default()));
            Ok::<(), ReadError>(())
        };
        read_records(&file[..], Limits::default(), each, |d| {
            done.push(d);
            Ok(())
        })
        .unwrap();
        // As `warcio index -f offset,length` gives them.
        let places: Vec<_> = done.iter().map(|d| (d.head.offset, d.length)).collect();
        assert_eq!(places, [(0, 283), (283, 352), (635, 351), (986, 243)]);
        let kinds: Vec<_> = done
            .iter()
            .map(|d| d.head.kind().unwrap_or_default())
            .collect();
        assert_eq!(kinds, ["warcinfo", "response", "response", "resource"]);
        assert!(
            done.iter()
                .all(|d| d.block_digest == Digest::Checked { algorithm: "sha1" })
        );
        let matched = |over| {
            Ok(PayloadCheck::Matched {
                algorithm: "sha1",
                over,
            })
        };
        // warcio digests the body as transmitted; the second response's digest was written
        // over the de-chunked body (as other tools do).
        assert_eq!(
            payloads,
            [
                Ok(PayloadCheck::Absent),
                matched(PayloadForm::AsTransmitted),
                matched(PayloadForm::Dechunked),
                matched(PayloadForm::AsTransmitted)
            ]
        );
    }
}
