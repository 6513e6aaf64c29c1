//! Evidence bundles: the whole `exhibit-verify` path on arbitrary bytes, with the fuzz key
//! pinned: `read_bundle` (zstd, tar, path and limit checks), `verify_bag` (BagIt files, seal,
//! manifests, proofs, provisions, tokens), the citation and hash questions, and the report.
//!
//! Input that starts with the zstd magic number is read as a `.tar.zst`; anything else as a
//! raw tar, zstd-compressed here first, so the fuzzer can work on the tar structure directly.
//!
//! Properties: never panics; memory stays within the reader's limits (libFuzzer's
//! `-rss_limit_mb`); a bundle with a `Verified` verdict has no failed check, and its own
//! `citation.txt` matches it.
#![no_main]

use exhibit_bundle::{Limits, read_bundle};
use exhibit_core::HashPrefix;
use exhibit_fuzz::public_key;
use exhibit_verify::citation::{check_citation, overall, render_citation_reports};
use exhibit_verify::{TrustedKey, Verdict, bundle_candidates, bundle_hash_matches, verify_bag};
use libfuzzer_sys::fuzz_target;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

fuzz_target!(|data: &[u8]| {
    // The shipped limits, except the total size: a few KiB of zstd can claim gigabytes of
    // zeros, which is slow to hash but not a bug (the real limit is 64 GiB).
    let limits = Limits {
        max_total_bytes: 256 << 20,
        ..Limits::default()
    };
    let bag = if data.starts_with(&ZSTD_MAGIC) {
        read_bundle(data, &limits)
    } else {
        let Ok(compressed) = zstd::stream::encode_all(data, 1) else {
            return;
        };
        read_bundle(&compressed[..], &limits)
    };
    let Ok(bag) = bag else {
        return;
    };
    let trusted = vec![TrustedKey::Key(public_key())];
    let options = exhibit_verify::Options {
        trusted: trusted.clone(),
        ..Default::default()
    };
    // With a cosigned checkpoint, check 16 with a required witness too (never panics; a
    // bundle verified with it has no failed check).
    if bag
        .files
        .contains_key(exhibit_bundle::layout::COSIGNED_CHECKPOINT)
    {
        let witnessed = exhibit_verify::Options {
            trusted,
            witnesses: exhibit_verify::WitnessPolicy {
                keys: vec![
                    exhibit_sign::cosignature::CosignerKey::new(
                        "fuzz.example/witness",
                        public_key(),
                    )
                    .expect("a key name"),
                ],
                quorum: None,
            },
            ..Default::default()
        };
        if let Ok(r) = verify_bag(&bag, &witnessed) {
            let _ = r.render();
            if r.verdict == Verdict::Verified {
                assert_eq!(r.failures().count(), 0, "verified with failed checks");
            }
        }
    }
    let Ok(report) = verify_bag(&bag, &options) else {
        return;
    };
    let _ = report.render();
    let _ = serde_json::to_string(&report);
    if report.verdict == Verdict::Verified {
        assert_eq!(report.failures().count(), 0, "verified with failed checks");
    }

    // The bundle's own citation records, checked against it (`exhibit-verify --citation`).
    let candidates = bundle_candidates(&bag, &report);
    if let Some(text) = bag.tag("exhibit/citation.txt")
        && let Ok(text) = std::str::from_utf8(text)
        && let Ok(citations) = exhibit_core::citation::parse(text)
    {
        let pinned = vec![public_key().fingerprint().to_string()];
        let reports: Vec<_> = citations
            .iter()
            .take(exhibit_verify::citation::MAX_CITATIONS)
            .enumerate()
            .map(|(i, c)| check_citation(i + 1, c, &candidates, &pinned, "the bundle"))
            .collect();
        let _ = render_citation_reports("citation.txt", &reports);
        if report.verdict == Verdict::Verified {
            assert_eq!(
                overall(&reports),
                Verdict::Verified,
                "a verified bundle's own citation.txt does not match it:\n{}",
                render_citation_reports("citation.txt", &reports)
            );
        }
    }
    if let Ok(prefix) = HashPrefix::parse("00000000") {
        let _ = bundle_hash_matches(&bag, &prefix);
    }
});
