//! WARC 1.1 (ISO 28500:2017) for exhibit (docs/FORMAT.md §17): the record format (`record`) and
//! how a capture and its signed record map onto WARC records (`map`), reading WARCs (`read`), a
//! recorded HTTP response (`response`) and WACZ packages (`wacz`).
//!
//! Hand-written because the record format is small and exactly specified, and because the
//! output must be byte-for-byte deterministic (record ids derived from content, fixed header
//! order, gzip members without timestamps); no Rust WARC crate promises that.
//!
//! Not for choosing records or reading the archive (`exhibit-ops`).

pub mod map;
pub mod read;
pub mod record;
pub mod response;
pub mod wacz;

pub use record::{Compression, Record, RecordType, WarcWriter};
