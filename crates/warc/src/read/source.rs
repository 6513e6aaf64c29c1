//! Where a reader is in a WARC file: plain, or gzip between or inside members, with the byte
//! offset of everything consumed (what error messages and CDXJ offsets name).

use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

use super::ReadError;

/// A reader that counts the bytes consumed.
pub(super) struct Counted<B> {
    pub(super) inner: B,
    pub(super) pos: u64,
}

impl<B> Counted<B> {
    pub(super) fn new(inner: B) -> Counted<B> {
        Counted { inner, pos: 0 }
    }
}

impl<B: BufRead> Read for Counted<B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<B: BufRead> BufRead for Counted<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.pos += amount as u64;
    }
}

pub(super) type File<R> = Counted<BufReader<R>>;

/// Where the reader is in the file.
pub(super) enum Src<R: Read> {
    /// Nothing read yet.
    Start(File<R>),
    /// A plain file.
    Plain(File<R>),
    /// A gzip file, between members.
    Between(File<R>),
    /// A gzip file, inside the member that starts at `start`, after `records` records.
    Member {
        data: Box<Counted<BufReader<GzDecoder<File<R>>>>>,
        start: u64,
        records: u64,
    },
    /// At the end, or after an error.
    Gone,
}

impl<R: Read> Src<R> {
    pub(super) fn is_gzip(&self) -> bool {
        matches!(self, Src::Member { .. } | Src::Between(_))
    }

    /// The current byte of the file (in a gzip member, the member's first byte).
    pub(super) fn at(&self) -> u64 {
        match self {
            Src::Start(f) | Src::Plain(f) | Src::Between(f) => f.pos,
            Src::Member { start, .. } => *start,
            Src::Gone => 0,
        }
    }

    /// The record data: the plain file, or the current member decompressed.
    pub(super) fn data(&mut self) -> Option<&mut dyn BufRead> {
        match self {
            Src::Plain(f) => Some(f),
            Src::Member { data, .. } => Some(data),
            _ => None,
        }
    }
}

/// `None` at the end of the file, else whether the next bytes start a gzip member.
pub(super) fn peek_gzip<B: BufRead>(file: &mut Counted<B>) -> Result<Option<bool>, ReadError> {
    let at = file.pos;
    let buf = file.fill_buf().map_err(|e| ReadError {
        offset: at,
        problem: e.to_string(),
    })?;
    Ok(match buf {
        [] => None,
        [0x1f] | [0x1f, 0x8b, ..] => Some(true),
        _ => Some(false),
    })
}

pub(super) fn io_problem(gz: bool, e: &io::Error) -> String {
    if gz { gzip_problem(e) } else { e.to_string() }
}

pub(super) fn gzip_problem(e: &io::Error) -> String {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        "truncated gzip member".to_owned()
    } else {
        format!("corrupt gzip member: {e}")
    }
}
