//! Unit tests of the object store: storing, deltas, reading back verified.

use super::*;

fn lines(n: usize, edit: &str) -> Vec<u8> {
    delta::sample_policy(n, edit).into_bytes()
}

/// Temporary files left in `dir`.
fn temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .count()
}

#[test]
fn a_hint_from_an_earlier_process_makes_a_delta_and_a_bad_hint_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let base = lines(300, "");
    let edited = lines(300, "A new clause.\n");
    let other = lines(300, "Another clause.\n");
    let earlier = ObjectStore::new(dir.path().to_path_buf());
    let v1 = earlier.put(&base).unwrap().sha256;
    let v2 = earlier.put(&edited).unwrap().sha256;
    assert_eq!(earlier.reference_of(&v2).unwrap(), Some(v1));

    // A later process knows nothing of them: without a hint, a full object.
    let later = ObjectStore::new(dir.path().to_path_buf());
    let mut w = later.writer().unwrap();
    w.write_all(&other).unwrap();
    // Hinting the delta v2 uses its reference v1.
    w.hint_reference(v2);
    let v3 = w.finish().unwrap().sha256;
    assert_eq!(later.reference_of(&v3).unwrap(), Some(v1));
    assert_eq!(later.read_verified(&v3, 1 << 20).unwrap(), other);

    // A hint that names nothing, or something dissimilar, leaves a full object.
    let fresh = ObjectStore::new(dir.path().to_path_buf());
    let mut w = fresh.writer().unwrap();
    w.write_all(&b"completely different text of some length\n".repeat(100))
        .unwrap();
    w.hint_reference(Sha256Digest::of(b"nothing"));
    let lone = w.finish().unwrap().sha256;
    assert_eq!(fresh.reference_of(&lone).unwrap(), None);
    let mut w = fresh.writer().unwrap();
    w.write_all(&b"yet another text, unlike the policy at all\n".repeat(100))
        .unwrap();
    w.hint_reference(v1);
    let lone = w.finish().unwrap().sha256;
    assert_eq!(fresh.reference_of(&lone).unwrap(), None);
}

#[test]
fn a_full_object_replaces_a_delta_and_nothing_replaces_a_full_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let base = lines(300, "");
    let edited = lines(300, "A new clause.\n");
    let reference = store.put(&base).unwrap().sha256;
    let x = store.put(&edited).unwrap().sha256;
    let dest = store.path_of(&x);
    assert_eq!(
        delta::parse_start(&read_start(&dest).unwrap()),
        Start::Delta(reference)
    );
    // A delta never replaces what is there.
    let temp = |data: &[u8]| {
        let mut tmp = store.temp_file().unwrap();
        tmp.write_all(data).unwrap();
        tmp.into_temp_path()
    };
    let other_delta = compress_delta(&edited, &reference, &base).unwrap();
    let before = std::fs::read(&dest).unwrap();
    store.install(temp(&other_delta), &dest, true).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), before);
    // A full object replaces a delta one…
    let full = compress_small(&edited).unwrap();
    store.install(temp(&full), &dest, false).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), full);
    // …and is never replaced, not even by a delta of the same bytes.
    store.install(temp(&other_delta), &dest, true).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), full);
    assert_eq!(store.read_verified(&x, 1 << 20).unwrap(), edited);
    // No temporary file is left behind.
    assert_eq!(temp_files(dir.path()), 0);
}

/// FORMAT §6: a reference is a full object of 1 KiB to 1 MiB that does not start with the
/// zstd dictionary magic, and readers check it: a forged delta against anything else is
/// refused with a one-line error naming the reference.
#[test]
fn a_reference_too_small_or_with_the_dictionary_magic_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let small = b"a short reference, well under a kilobyte\n".repeat(4);
    let small_sha = store.put(&small).unwrap().sha256;
    let edited = lines(300, "A new clause.\n");
    let sha = Sha256Digest::of(&edited);
    let forged = compress_delta(&edited, &small_sha, &small).unwrap();
    std::fs::create_dir_all(store.path_of(&sha).parent().unwrap()).unwrap();
    std::fs::write(store.path_of(&sha), forged).unwrap();
    let err = store.read_verified(&sha, 1 << 20).unwrap_err().to_string();
    assert!(
        err.contains(&format!("reference object {small_sha}")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let mut magic = vec![0x37, 0xA4, 0x30, 0xEC];
    magic.extend_from_slice(&lines(100, ""));
    let magic_sha = store.put(&magic).unwrap().sha256;
    assert!(store.read_reference(&magic_sha).is_err());
    assert!(
        store
            .read_reference(&store.put(&lines(100, "")).unwrap().sha256)
            .is_ok()
    );
}

/// FORMAT §6: an object of more than 1 MiB is always full — also a text that is a delta
/// document of exactly 1 MiB plus a final newline.
#[test]
fn an_extended_delta_over_the_limit_is_stored_full() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let mut base = lines(30_000, "");
    base.truncate(delta::MAX_DELTA_OBJECT);
    let mut edited = lines(30_000, "A new clause.\n");
    edited.truncate(delta::MAX_DELTA_OBJECT);
    store.put(&base).unwrap();
    let doc = store.put(&edited).unwrap().sha256;
    assert!(
        store.reference_of(&doc).unwrap().is_some(),
        "a delta document"
    );
    let text = store.put_extended(&doc, &edited, b"\n").unwrap();
    assert_eq!(text.size, delta::MAX_DELTA_OBJECT as u64 + 1);
    assert_eq!(store.reference_of(&text.sha256).unwrap(), None);
    let mut expected = edited.clone();
    expected.push(b'\n');
    assert_eq!(
        store.read_verified(&text.sha256, 1 << 21).unwrap(),
        expected
    );
}

/// A large object (here ≈600 KiB) against a similar reference: the delta is a fraction of a
/// full object (with level 1's 512 KiB window it was no smaller), and reads back.
#[test]
fn a_large_delta_is_much_smaller_than_a_full_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let base = lines(15_000, "");
    let edited = lines(15_000, "A new clause.\n");
    assert!(base.len() > 600_000 && base.len() < delta::MAX_DELTA_OBJECT);
    let reference = store.put(&base).unwrap().sha256;
    let x = store.put(&edited).unwrap().sha256;
    assert_eq!(store.reference_of(&x).unwrap(), Some(reference));
    let delta_len = std::fs::metadata(store.path_of(&x)).unwrap().len() as usize;
    let full_len = compress_small(&edited).unwrap().len();
    assert!(delta_len * 4 < full_len, "{delta_len} vs {full_len}");
    assert_eq!(store.read_verified(&x, 1 << 21).unwrap(), edited);
}

#[test]
fn put_dedupes_and_reads_back_verified() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let data: Vec<u8> = b"privacy policy ".repeat(10_000);
    let a = store.put(&data).unwrap();
    assert!(a.added);
    assert_eq!(a.sha256, Sha256Digest::of(&data));
    assert_eq!(a.size, data.len() as u64);
    let b = store.put(&data).unwrap();
    assert!(!b.added);
    store.sync_dirty_dirs().unwrap();
    assert_eq!(store.read_verified(&a.sha256, 1 << 30).unwrap(), data);
    assert!(store.read_verified(&a.sha256, 10).is_err());
    // Only the object remains: no temporary files.
    let shard = store.path_of(&a.sha256).parent().unwrap().to_path_buf();
    assert_eq!(std::fs::read_dir(&shard).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Small and large objects, plain and grouped (staged, then published), and a text stored
/// as its document's frame plus a frame for the final newline: each reads back verified,
/// with exhibit's reader and with the stock `zstd -dc` when it is installed.
#[test]
fn every_way_of_storing_reads_back_the_same_bytes() {
    for grouped in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let store = ObjectStore::new(dir.path().to_path_buf());
        if grouped && !store.group_durability() {
            continue;
        }
        let small = b"Terms of service.\n\nSection 1.".to_vec();
        let large: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let mut objects = Vec::new();
        for data in [&small, &large] {
            let a = store.put(data).unwrap();
            assert!(
                store
                    .put(data)
                    .is_ok_and(|b| !b.added && b.sha256 == a.sha256)
            );
            let text = store.put_extended(&a.sha256, data, b"\n").unwrap();
            let mut expected = data.clone();
            expected.push(b'\n');
            assert_eq!(text.sha256, Sha256Digest::of(&expected));
            assert_eq!(text.size, expected.len() as u64);
            objects.push((a.sha256, data.clone()));
            objects.push((text.sha256, expected));
        }
        if grouped {
            assert!(!store.contains(&objects[0].0), "staged, not yet visible");
            store.publish_staged().unwrap();
        }
        store.sync_dirty_dirs().unwrap();
        for (sha, data) in &objects {
            assert_eq!(&store.read_verified(sha, 1 << 30).unwrap(), data);
            if std::process::Command::new("zstd")
                .arg("--version")
                .output()
                .is_ok()
            {
                let out = std::process::Command::new("zstd")
                    .arg("-dc")
                    .arg(store.path_of(sha))
                    .output()
                    .unwrap();
                assert!(out.status.success());
                assert_eq!(&out.stdout, data, "zstd -dc of {sha}");
            }
        }
        assert_eq!(temp_files(dir.path()), 0, "grouped={grouped}");
    }
}

#[test]
fn damaged_object_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let a = store.put(b"original bytes").unwrap();
    let other = zstd::encode_all(&b"forged bytes!!"[..], 3).unwrap();
    std::fs::write(store.path_of(&a.sha256), other).unwrap();
    let err = store.read_verified(&a.sha256, 1 << 20).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
}

/// The one decoder (FORMAT §6): full objects, delta objects and a delta text of two frames,
/// through small buffers; a reference decoded as an object is kept, so the delta objects after
/// it do not read it again.
#[test]
fn one_decoder_reads_every_kind_of_object_and_a_reference_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let base = lines(300, "");
    let edited = lines(300, "A new clause.\n");
    let other = lines(300, "Another clause.\n");
    let reference = store.put(&base).unwrap().sha256;
    let a = store.put(&edited).unwrap().sha256;
    let b = store.put(&other).unwrap().sha256;
    assert_eq!(store.reference_of(&a).unwrap(), Some(reference));
    assert_eq!(store.reference_of(&b).unwrap(), Some(reference));
    let text = store.put_extended(&a, &edited, b"\n").unwrap();
    assert_eq!(store.reference_of(&text.sha256).unwrap(), Some(reference));
    let mut with_newline = edited.clone();
    with_newline.push(b'\n');

    let mut decoder = ObjectDecoder::new(1 << 10, 1 << 20).unwrap();
    let mut check = |sha: &Sha256Digest, bytes: &[u8]| {
        let mut out = Vec::new();
        let cap = bytes.len() as u64 + 1;
        let d = decoder
            .decode(&store, sha, cap, &mut |chunk| {
                out.extend_from_slice(chunk);
                Ok(())
            })
            .unwrap();
        assert_eq!(
            (d.sha256, d.size, d.capped),
            (*sha, bytes.len() as u64, false)
        );
        assert_eq!(d.blake3, Blake3Digest::of(bytes));
        assert_eq!(out, bytes);
    };
    check(&reference, &base);
    // Kept from that pass: the delta objects decode without reading the reference again.
    std::fs::remove_file(store.path_of(&reference)).unwrap();
    check(&a, &edited);
    check(&b, &other);
    check(&text.sha256, &with_newline);
    // A store read (a decoder of its own) must read the reference, which is now missing.
    let err = store.read_verified(&a, 1 << 20).unwrap_err().to_string();
    assert!(
        err.contains(&format!("its reference object {reference}: missing")),
        "{err}"
    );
}

/// Decoding stops at the cap: a damaged object may decode to far more than it should.
#[test]
fn the_decoder_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let data = lines(300, "");
    let sha = store.put(&data).unwrap().sha256;
    let mut decoder = ObjectDecoder::new(1 << 10, 0).unwrap();
    let d = decoder.decode(&store, &sha, 100, &mut |_| Ok(())).unwrap();
    assert_eq!((d.size, d.capped), (100, true));
    let err = store.read_verified(&sha, 99).unwrap_err().to_string();
    assert!(err.contains("limit"), "{err}");
}

/// `open` reads what the decoder decodes, in small reads, for full and delta objects alike; a
/// file cut inside its frame ends in an error, never in silently fewer bytes.
#[test]
fn open_reads_full_and_delta_objects_and_fails_on_a_cut_frame() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let base = lines(300, "");
    let edited = lines(300, "A new clause.\n");
    let reference = store.put(&base).unwrap().sha256;
    let delta = store.put(&edited).unwrap().sha256;
    assert_eq!(store.reference_of(&delta).unwrap(), Some(reference));
    for (sha, bytes) in [(reference, &base), (delta, &edited)] {
        let mut reader = store.open(&sha).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match reader.read(&mut buf).unwrap() {
                0 => break,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
        assert_eq!(&out, bytes);
    }
    let path = store.path_of(&reference);
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
    let mut out = Vec::new();
    let err = store
        .open(&reference)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert_eq!(err.to_string(), "incomplete frame");
    let err = store
        .read_verified(&reference, 1 << 20)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot decompress: incomplete frame"), "{err}");
}

/// A decoder whose last object failed inside a frame (a delta object cut short) decodes the
/// next one, against another reference, as a fresh decoder would.
#[test]
fn the_decoder_recovers_from_an_object_cut_inside_its_frame() {
    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::new(dir.path().to_path_buf());
    let base = lines(300, "");
    let other_base: Vec<u8> = (0..300)
        .flat_map(|i| format!("Another policy, paragraph {i}, unlike the first.\n").into_bytes())
        .collect();
    let r1 = store.put(&base).unwrap().sha256;
    let r2 = store.put(&other_base).unwrap().sha256;
    let edited = lines(300, "A new clause.\n");
    let mut other_edited = other_base.clone();
    other_edited.extend_from_slice(b"A last paragraph.\n");
    let cut = store.put(&edited).unwrap().sha256;
    let fine = store.put(&other_edited).unwrap().sha256;
    assert_eq!(store.reference_of(&cut).unwrap(), Some(r1));
    assert_eq!(store.reference_of(&fine).unwrap(), Some(r2));
    let path = store.path_of(&cut);
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
    let mut decoder = ObjectDecoder::new(1 << 10, 1 << 20).unwrap();
    let err = decoder.decode(&store, &cut, u64::MAX, &mut |_| Ok(()));
    assert!(matches!(err, Err(DecodeError::CutShort { .. })), "{err:?}");
    let d = decoder
        .decode(&store, &fine, u64::MAX, &mut |_| Ok(()))
        .unwrap();
    assert_eq!((d.sha256, d.size), (fine, other_edited.len() as u64));
}
