//! C2SP signed notes: the shared vectors (the spec example and Go's `sumdb/note` example),
//! tampering, garbage input, and interoperability with `openssl pkeyutl`.

mod common;

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{have, run, s};
use exhibit_sign::note::{
    ALG_ED25519, NoteError, SignedNote, VerifierKey, key_hash, sign_note, verifier_key,
};
use exhibit_sign::{PublicKey, SigningKey};

fn load_cases() -> Option<Vec<serde_json::Value>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/signed-note/notes.json");
    let Ok(text) = fs::read_to_string(&path) else {
        eprintln!("SKIP: {} is absent", path.display());
        return None;
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    Some(json["cases"].as_array().unwrap().clone())
}

/// Parse Go's `PRIVATE+KEY+name+hash+base64(0x01 || seed)` into a name and a signing key
/// (via a PKCS#8 v1 PEM built from the seed).
fn parse_go_skey(skey: &str) -> (String, u32, SigningKey) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(parts.len(), 5, "{skey}");
    assert_eq!(&parts[..2], ["PRIVATE", "KEY"]);
    let name = parts[2].to_owned();
    let hash = u32::from_str_radix(parts[3], 16).unwrap();
    let raw = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(raw[0], ALG_ED25519);
    assert_eq!(raw.len(), 33);
    (name, hash, key_from_seed(&raw[1..]))
}

fn key_from_seed(seed: &[u8]) -> SigningKey {
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(seed);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(der)
    );
    SigningKey::from_pkcs8_pem(&pem).unwrap()
}

#[test]
fn shared_vectors() {
    let Some(cases) = load_cases() else { return };
    assert!(cases.len() >= 3);
    let mut valid = 0;
    let mut invalid = 0;
    let mut reproduced = 0;
    for case in &cases {
        let vkey = VerifierKey::parse(case["vkey"].as_str().unwrap()).unwrap();
        let note_text = case["note"].as_str().unwrap();
        let note = SignedNote::parse(note_text).unwrap();
        assert_eq!(note.text, case["text"].as_str().unwrap());
        let result = note.verify(&vkey.name, &vkey.key);
        if case["valid"].as_bool().unwrap() {
            result.unwrap();
            valid += 1;
        } else {
            assert!(
                matches!(result, Err(NoteError::SignatureInvalid { .. })),
                "{result:?}"
            );
            invalid += 1;
        }
        // Our verifier key string for the parsed key is the vector's, byte for byte.
        assert_eq!(
            verifier_key(&vkey.name, &vkey.key),
            case["vkey"].as_str().unwrap()
        );
        if let Some(skey) = case.get("skey").and_then(|v| v.as_str()) {
            let (name, hash, key) = parse_go_skey(skey);
            assert_eq!(name, vkey.name);
            assert_eq!(hash, vkey.hash);
            assert_eq!(key.public_key(), vkey.key);
            assert_eq!(key_hash(&name, &key.public_key()), hash);
            let ours = sign_note(case["text"].as_str().unwrap(), &name, &key).unwrap();
            assert_eq!(ours, note_text);
            reproduced += 1;
        }
    }
    assert!(valid >= 2 && invalid >= 1 && reproduced >= 1);
}

/// The example of the spec (the Quasimodo note) parses, with its blank line inside the text.
#[test]
fn spec_example_with_blank_line_in_text() {
    let note = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let parsed = SignedNote::parse(note).unwrap();
    assert_eq!(
        parsed.text,
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(parsed.signatures.len(), 1);
    assert_eq!(parsed.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(parsed.signatures[0].signature.len(), 64);
}

const CHECKPOINT: &str =
    "example.com/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn round_trip_and_multiple_signers() {
    let log = SigningKey::generate().unwrap();
    let witness = SigningKey::generate().unwrap();
    let note = sign_note(CHECKPOINT, "example.com/log", &log).unwrap();
    // Append a cosignature line by another key over the same text.
    let cosigned = sign_note(CHECKPOINT, "witness.example", &witness).unwrap();
    let cosig_line = cosigned.rsplit_once("\n\n").unwrap().1;
    let both = format!("{note}{cosig_line}");
    let parsed = SignedNote::parse(&both).unwrap();
    assert_eq!(parsed.text, CHECKPOINT);
    assert_eq!(parsed.signatures.len(), 2);
    parsed.verify("example.com/log", &log.public_key()).unwrap();
    parsed
        .verify("witness.example", &witness.public_key())
        .unwrap();

    // Re-serialising the parsed signature reproduces the line.
    let sig = &parsed.signatures[0];
    let mut raw = sig.hash.to_be_bytes().to_vec();
    raw.extend_from_slice(&sig.signature);
    assert_eq!(
        format!("{}\n— {} {}\n", parsed.text, sig.name, STANDARD.encode(raw)),
        note
    );

    // Verifier key round trip.
    let vkey = verifier_key("example.com/log", &log.public_key());
    let parsed_vkey = VerifierKey::parse(&vkey).unwrap();
    assert_eq!(parsed_vkey.name, "example.com/log");
    assert_eq!(parsed_vkey.key, log.public_key());
    assert_eq!(parsed_vkey.to_string(), vkey);
    assert_eq!(
        VerifierKey::new("example.com/log", log.public_key()).unwrap(),
        parsed_vkey
    );
}

#[test]
fn tampering_is_detected() {
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    let name = "example.com/log";
    let note = sign_note(CHECKPOINT, name, &key).unwrap();
    let (text, line) = note.rsplit_once("\n\n").unwrap();
    let b64 = line.trim_end().rsplit_once(' ').unwrap().1;
    let raw = STANDARD.decode(b64).unwrap();

    // Altered text.
    let altered = note.replacen("20852163", "20852164", 1);
    let err = SignedNote::parse(&altered)
        .unwrap()
        .verify(name, &public)
        .unwrap_err();
    assert!(matches!(err, NoteError::SignatureInvalid { .. }), "{err}");

    // Every byte of the signature, one bit flipped.
    for i in 4..raw.len() {
        let mut bad = raw.clone();
        bad[i] ^= 0x01;
        let n = format!("{text}\n\n— {name} {}\n", STANDARD.encode(&bad));
        let err = SignedNote::parse(&n)
            .unwrap()
            .verify(name, &public)
            .unwrap_err();
        assert!(
            matches!(err, NoteError::SignatureInvalid { .. }),
            "{i}: {err}"
        );
    }

    // Altered key hash: the line is now from an unknown key, so the signature is missing.
    let mut bad = raw.clone();
    bad[0] ^= 0x80;
    let n = format!("{text}\n\n— {name} {}\n", STANDARD.encode(&bad));
    let err = SignedNote::parse(&n)
        .unwrap()
        .verify(name, &public)
        .unwrap_err();
    assert!(matches!(err, NoteError::SignatureMissing { .. }), "{err}");

    // Altered name: likewise.
    let n = note.replacen("— example.com/log ", "— example.com/lag ", 1);
    let err = SignedNote::parse(&n)
        .unwrap()
        .verify(name, &public)
        .unwrap_err();
    assert!(matches!(err, NoteError::SignatureMissing { .. }), "{err}");

    // Verifying under another name with the same key: missing (the hash differs too).
    let err = SignedNote::parse(&note)
        .unwrap()
        .verify("example.com/other", &public)
        .unwrap_err();
    assert!(matches!(err, NoteError::SignatureMissing { .. }), "{err}");

    // Truncated signature with the right hash: wrong length.
    let n = format!("{text}\n\n— {name} {}\n", STANDARD.encode(&raw[..40]));
    let err = SignedNote::parse(&n)
        .unwrap()
        .verify(name, &public)
        .unwrap_err();
    assert!(
        matches!(err, NoteError::SignatureLength { len: 36, .. }),
        "{err}"
    );
}

#[test]
fn wrong_key_and_missing_signature() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let note = sign_note(CHECKPOINT, "example.com/log", &key).unwrap();
    let parsed = SignedNote::parse(&note).unwrap();
    let err = parsed
        .verify("example.com/log", &other.public_key())
        .unwrap_err();
    assert!(matches!(err, NoteError::SignatureMissing { .. }), "{err}");
    assert!(err.to_string().contains("example.com/log"), "{err}");

    // A different key forged to carry the right name and key hash still fails to verify.
    let hash = key_hash("example.com/log", &key.public_key());
    let forged = other.sign(CHECKPOINT.as_bytes());
    let mut raw = hash.to_be_bytes().to_vec();
    raw.extend_from_slice(forged.as_bytes());
    let n = format!("{CHECKPOINT}\n— example.com/log {}\n", STANDARD.encode(raw));
    let err = SignedNote::parse(&n)
        .unwrap()
        .verify("example.com/log", &key.public_key())
        .unwrap_err();
    assert!(matches!(err, NoteError::SignatureInvalid { .. }), "{err}");

    // A note with only an unknown key's signature: parsed, kept, but missing for ours.
    let unknown = sign_note(CHECKPOINT, "someone.else", &other).unwrap();
    let parsed = SignedNote::parse(&unknown).unwrap();
    assert_eq!(parsed.signatures.len(), 1);
    assert!(matches!(
        parsed.verify("example.com/log", &key.public_key()),
        Err(NoteError::SignatureMissing { .. })
    ));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let mut inputs: Vec<String> = vec![
        String::new(),
        "\n".into(),
        "\n\n".into(),
        "\n\n\n".into(),
        "—".into(),
        "\n\n—".into(),
        "\n\n— \n".into(),
        "\n\n— — —\n".into(),
        "x\n\n— n ====\n".into(),
        "x\n\n— n =\n".into(),
        "x\n\n— n A\n".into(),
        "x\n\n— n AAAAAAA\n".into(),
        "x\n\n— n AAAAAA=A\n".into(),
        "x\n\n— n\u{a0}m AAAAAAAA\n".into(),
        "x\u{0}\n\n— n AAAAAAAA\n".into(),
        "\u{2014}\u{2014}\n\n\u{2014}".into(),
        "\u{feff}x\n\n— n AAAAAAAA\n".into(),
    ];
    // Truncations of a real note at every char boundary.
    let key = SigningKey::generate().unwrap();
    let note = sign_note(CHECKPOINT, "example.com/log", &key).unwrap();
    for (i, _) in note.char_indices() {
        inputs.push(note[..i].to_owned());
    }
    for input in &inputs {
        if let Ok(parsed) = SignedNote::parse(input) {
            // Whatever parses must still not verify for our key.
            assert!(parsed.verify("example.com/log", &key.public_key()).is_err());
        }
        let _ = VerifierKey::parse(input);
    }
    // Deterministic pseudo-random strings of note-ish tokens.
    const TOKENS: [&str; 11] = [
        "\n",
        " ",
        "\u{2014}",
        "+",
        "A",
        "=",
        "/",
        "x",
        "\n\n",
        "\u{2014} n ",
        "AAAAAAAA",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for len in 0..300 {
        let mut text = String::new();
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(TOKENS[(state % TOKENS.len() as u64) as usize]);
        }
        let _ = SignedNote::parse(&text);
        let _ = VerifierKey::parse(&text);
    }
}

#[test]
fn interop_openssl_verifies_note_signature() {
    if !have("openssl", "interop_openssl_verifies_note_signature") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let key_path = dir.path().join("key.pem");
    key.write_new(&key_path).unwrap();
    let key = SigningKey::load(&key_path).unwrap();
    let pub_path = dir.path().join("pub.pem");
    fs::write(&pub_path, key.public_key().to_spki_pem()).unwrap();

    let note = sign_note(CHECKPOINT, "example.com/log", &key).unwrap();
    let (_, line) = note.rsplit_once("\n\n").unwrap();
    let b64 = line.trim_end().rsplit_once(' ').unwrap().1;
    let raw = STANDARD.decode(b64).unwrap();
    assert_eq!(raw.len(), 68);
    let text_path = dir.path().join("text");
    let sig_path = dir.path().join("sig");
    fs::write(&text_path, SignedNote::parse(&note).unwrap().text).unwrap();
    fs::write(&sig_path, &raw[4..]).unwrap();

    let verify = |text: &Path| {
        run(
            "openssl",
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                s(&pub_path),
                "-rawin",
                "-in",
                s(text),
                "-sigfile",
                s(&sig_path),
            ],
        )
    };
    let out = verify(&text_path);
    assert!(
        out.status.success(),
        "openssl rejected the note signature: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // And openssl rejects it over altered text.
    let altered = dir.path().join("altered");
    fs::write(&altered, CHECKPOINT.replace("20852163", "20852164")).unwrap();
    assert!(!verify(&altered).status.success());

    // Conversely, an openssl signature over the text, wrapped in a note line, verifies.
    let osig_path = dir.path().join("osig");
    let out = run(
        "openssl",
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            s(&key_path),
            "-rawin",
            "-in",
            s(&text_path),
            "-out",
            s(&osig_path),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut raw = key_hash("example.com/log", &key.public_key())
        .to_be_bytes()
        .to_vec();
    raw.extend_from_slice(&fs::read(&osig_path).unwrap());
    let n = format!("{CHECKPOINT}\n— example.com/log {}\n", STANDARD.encode(raw));
    assert_eq!(
        n, note,
        "Ed25519 is deterministic, so openssl's note equals ours"
    );
    SignedNote::parse(&n)
        .unwrap()
        .verify("example.com/log", &PublicKey::load_pem(&pub_path).unwrap())
        .unwrap();
}
