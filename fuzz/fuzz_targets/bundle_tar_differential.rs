//! One view of a bundle: the bundle reader's tar layer (`read_tar_stream`, the strict ustar
//! parser with every path, tree and limit check of `read_bundle`) against a model of what GNU
//! tar and Python's `tarfile` extract (`exhibit_fuzz::reference_extract`).
//!
//! Input: an uncompressed tar (the seeds are a real bundle's tar, stock tar's repacks of it in
//! the GNU, ustar and pax formats, and the directory-hiding attack of issue 17).
//!
//! Property: whenever the reader accepts the input, each model extracts without error exactly
//! the files the reader read, with exactly the bytes it hashed: same paths, same SHA-256.
#![no_main]

use std::collections::BTreeMap;

use exhibit_bundle::{Limits, read_tar_stream};
use exhibit_core::Sha256Digest;
use exhibit_fuzz::{TarFlavor, reference_extract};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_total_bytes: 256 << 20,
        ..Limits::default()
    };
    let Ok(bag) = read_tar_stream(data, &limits) else {
        return;
    };
    let read: BTreeMap<Vec<u8>, Sha256Digest> = bag
        .files
        .iter()
        .map(|(rel, f)| (format!("{}/{rel}", bag.name).into_bytes(), f.sha256))
        .collect();
    for flavor in [TarFlavor::Gnu, TarFlavor::Python] {
        let extracted = match reference_extract(data, flavor) {
            Ok(files) => files,
            Err(e) => panic!("the reader accepts a tar that {flavor:?} does not extract: {e}"),
        };
        let extracted: BTreeMap<Vec<u8>, Sha256Digest> = extracted
            .iter()
            .map(|(path, bytes)| (path.clone(), Sha256Digest::of(bytes)))
            .collect();
        assert!(
            extracted == read,
            "{flavor:?} extracts other files or bytes than the reader read:\nreader: {:?}\n{flavor:?}: {:?}",
            read.keys()
                .map(|k| String::from_utf8_lossy(k))
                .collect::<Vec<_>>(),
            extracted
                .keys()
                .map(|k| String::from_utf8_lossy(k))
                .collect::<Vec<_>>(),
        );
    }
});
