//! WARC files: `exhibit_warc::read` the way `exhibit import` and the WACZ check use it —
//! every record, its block digest, the HTTP head of a response, the payload digest over the
//! bytes as transmitted and de-chunked; and the input itself as a recorded HTTP response
//! (`exhibit_warc::response`, as captures keep and verifiers read them).
//!
//! Properties: never panics; memory stays within the reader's limits; records tile the file
//! (each starts where the one before it ended, its gzip member included).
#![no_main]

use exhibit_warc::read::{Limits, ReadError, check_payload_digest, read_records};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = exhibit_warc::response::read_response(&mut &data[..]) {
        assert!(
            r.dechunked_len <= data.len() as u64,
            "a body longer than the input"
        );
    }
    let limits = Limits::default();
    let mut next = 0u64;
    let _ = read_records(
        data,
        limits.clone(),
        |head, block| {
            let _ = check_payload_digest(head, block, &limits);
            Ok::<(), ReadError>(())
        },
        |done| {
            // Records of one gzip member share its offset and the last of them carries its
            // length (the others 0): each starts where the one before it ended.
            assert_eq!(
                done.head.offset, next,
                "a gap or an overlap before this record"
            );
            next += done.length;
            assert!(
                next <= data.len() as u64,
                "a record past the end of the input"
            );
            Ok(())
        },
    );
});
