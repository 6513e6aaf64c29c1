//! The end-to-end tests of the `exhibit` binary: one test harness, `integration` (linked once,
//! not once per area), with one module per area. Each area's own doc comment says what it covers.
//!
//! Run everything with `cargo test --test integration`, one area with
//! `cargo test --test integration fsck::`, one test with its full path
//! (`cargo test --test integration fsck::some_test -- --exact`).
//!
//! Not for unit tests of a library crate (they live in that crate) nor for shared helpers
//! (those are in `common/`, used as `crate::common::*`). Put a new test in the area it checks;
//! a new area is a new file here and a `mod` line below.

// Shared helpers: the HTTP server on loopback, the binaries, temp archives, a local TSA.
mod common;

// Archive identity, look-ups by hash, output hygiene.
mod archive_integrity;
// `capture --list FILE --jobs N`.
mod batch_capture;
// `exhibit bundle` and both verifiers on honest bundles.
mod bundle;
// Hostile and mutated bundles through both verifiers.
mod bundle_adversarial;
// Browser captures in headless Chromium through exhibit's proxy (SKIP without Chromium).
mod capture_browser;
// Capturing files and stdin.
mod capture_files;
// Capturing over real HTTP from 127.0.0.1.
mod capture_http;
// Capturing over real HTTPS from 127.0.0.1 with a private PKI: TLS provenance.
mod capture_tls;
// `exhibit cite` and `exhibit verify --citation`.
mod citation;
// `completions` and `man` of both binaries, and their usage errors.
mod cli_conventions;
// Several capture processes writing into one archive.
mod concurrency;
// Real policy snapshots from `../shared/corpus` (skips without it).
mod corpus;
// Write commands killed with SIGKILL at random moments.
mod crash;
// Delta objects (FORMAT.md §6).
mod delta;
// `exhibit fsck [--full] [--json]`.
mod fsck;
// `history`, `documents` and `diff`.
mod history_diff;
// `exhibit init` and `exhibit key`.
mod init_and_keys;
// Key rotation and revocation: the key history through both verifiers.
mod key_history;
// The tamper-evident log checked from outside.
mod log;
// Change notifications: signed POSTs to webhooks on loopback, outages, retries.
mod notify;
// `exhibit reindex`: the catalog rebuilt from the signed records.
mod reindex;
// `exhibit report` and the report in every bundle: readable, reproducible, checked.
mod report;
// Extraction rules per document and re-extraction.
mod rules;
// Archives in an S3 bucket (SeaweedFS and moto on loopback): round trips, hosts joining,
// two writers racing, faults between exhibit and the bucket; checked with boto3.
mod s3_archive;
// The S3 client (exhibit-s3) against SeaweedFS and moto on loopback, checked with boto3.
mod s3_client;
mod serve;
// RFC 3161 timestamps against a real TSA on loopback.
mod timestamp;
// `exhibit export --warc`, checked by warcio, indexed by cdxj-indexer, replayed by pywb.
mod warc;
// `exhibit export --wacz`: packages checked by wacz validate, Python cryptography, openssl and
// exhibit-verify, and changed ones refused.
mod wacz;
// `exhibit import FILE.warc[.gz]`: wget's WARCs, round trips, codings undone, refusals, hostile files.
mod warc_import;
mod witness_serve;
// Witnesses from the archive's side: cosigning after each checkpoint, retries, forks refused,
// bundles checked with `exhibit-verify --witness`.
mod witness;
