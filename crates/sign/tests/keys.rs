//! Round trips, known answers, key files and permissions, and malformed input.

mod common;

use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{chmod, have, run_ok, s};
use exhibit_sign::{
    Fingerprint, KeyError, MAX_KEY_FILE_SIZE, PublicKey, Signature, SignatureError, SigningKey,
};

// RFC 8032 §7.1, TEST 1.
const RFC_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC_SIG_EMPTY: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
// Cross-checked with `ssh-keygen -l` (OpenSSH 9.2).
const RFC_FINGERPRINT: &str = "SHA256:bbXpuKG6zhzdmnxq256TlqzFBzRl2f6OOg722cYNbU8";
const RFC_OPENSSH: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";

const PKCS8_V1_PREFIX: &str = "302e020100300506032b657004220420";
const SPKI_PREFIX: &str = "302a300506032b6570032100";

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn pem_der(text: &str) -> Vec<u8> {
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn rfc_key() -> SigningKey {
    let der = hex::decode(format!("{PKCS8_V1_PREFIX}{RFC_SEED}")).unwrap();
    SigningKey::from_pkcs8_pem(&pem("PRIVATE KEY", &der)).unwrap()
}

fn assert_one_line(msg: &str) {
    assert!(!msg.is_empty());
    assert!(
        !msg.contains('\n') && !msg.contains('\r'),
        "not one line: {msg:?}"
    );
}

#[test]
fn rfc8032_known_answer() {
    let key = rfc_key();
    let public = key.public_key();
    assert_eq!(hex::encode(public.as_bytes()), RFC_PUBLIC);
    let sig = key.sign(b"");
    assert_eq!(hex::encode(sig.as_bytes()), RFC_SIG_EMPTY);
    public.verify(b"", sig.as_bytes()).unwrap();
    assert_eq!(public.fingerprint().to_string(), RFC_FINGERPRINT);
    assert_eq!(public.to_openssh(), RFC_OPENSSH);
    assert_eq!(
        RFC_FINGERPRINT.parse::<Fingerprint>().unwrap(),
        public.fingerprint()
    );
}

#[test]
fn generate_pem_round_trip() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    assert_ne!(key.public_key(), other.public_key());

    let text = key.to_pkcs8_pem();
    assert!(
        text.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{}",
        &*text
    );
    assert!(text.ends_with("-----END PRIVATE KEY-----\n"));
    let der = pem_der(&text);
    assert_eq!(der.len(), 48, "PKCS#8 v1, as openssl writes it");
    assert_eq!(hex::encode(&der[..16]), PKCS8_V1_PREFIX);

    let back = SigningKey::from_pkcs8_pem(&text).unwrap();
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(back.sign(b"m"), key.sign(b"m"));

    let public = key.public_key();
    let spki = public.to_spki_pem();
    assert!(spki.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let der = pem_der(&spki);
    assert_eq!(hex::encode(&der[..12]), SPKI_PREFIX);
    assert_eq!(&der[12..], public.as_bytes());
    assert_eq!(PublicKey::from_spki_pem(&spki).unwrap(), public);
    assert_eq!(PublicKey::from_bytes(public.as_bytes()).unwrap(), public);
}

#[test]
fn pem_tolerates_openssl_style_surroundings() {
    let key = rfc_key();
    let text = key.to_pkcs8_pem();
    // Explanatory text before the block (OpenSSL skips it) and CRLF line endings.
    let with_text = format!("Key for tests\n{}", &*text);
    SigningKey::from_pkcs8_pem(&with_text).unwrap();
    let crlf = text.replace('\n', "\r\n");
    SigningKey::from_pkcs8_pem(&crlf).unwrap();
    let no_final_newline = text.trim_end();
    SigningKey::from_pkcs8_pem(no_final_newline).unwrap();
}

#[test]
fn pkcs8_v2_with_public_key_is_accepted_and_checked() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

    let seed: [u8; 32] = hex::decode(RFC_SEED).unwrap().try_into().unwrap();
    let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
    // ed25519-dalek writes v2 (OneAsymmetricKey, RFC 5958) including the public key.
    let v2 = dalek.to_pkcs8_pem(LineEnding::LF).unwrap();
    assert!(pem_der(&v2).len() > 48);
    let key = SigningKey::from_pkcs8_pem(&v2).unwrap();
    assert_eq!(hex::encode(key.public_key().as_bytes()), RFC_PUBLIC);

    // A v2 key whose embedded public key does not match the private key is refused.
    let mut der = pem_der(&v2);
    let last = der.len() - 1;
    der[last] ^= 1;
    let err = SigningKey::from_pkcs8_pem(&pem("PRIVATE KEY", &der)).unwrap_err();
    assert!(matches!(err, KeyError::InvalidPrivateKey { .. }), "{err}");
}

#[test]
fn sign_verify_and_tamper() {
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    let msg = b"{\"type\":\"exhibit.capture/v1\"}";
    let sig = key.sign(msg);
    public.verify(msg, sig.as_bytes()).unwrap();
    public.verify(msg, &sig.to_bytes()).unwrap();

    // Tampered message.
    assert_eq!(
        public.verify(b"{\"type\":\"exhibit.capture/v2\"}", sig.as_bytes()),
        Err(SignatureError::Invalid)
    );
    assert_eq!(
        public.verify(&msg[..msg.len() - 1], sig.as_bytes()),
        Err(SignatureError::Invalid)
    );
    // Every single-bit flip of the signature is rejected.
    for i in 0..64 {
        for bit in [0x01u8, 0x80] {
            let mut bad = sig.to_bytes();
            bad[i] ^= bit;
            assert_eq!(
                public.verify(msg, &bad),
                Err(SignatureError::Invalid),
                "byte {i} bit {bit:#x}"
            );
        }
    }
    // Another key's signature.
    let other = SigningKey::generate().unwrap();
    assert_eq!(
        public.verify(msg, other.sign(msg).as_bytes()),
        Err(SignatureError::Invalid)
    );
    assert_eq!(
        SignatureError::Invalid.to_string(),
        "signature does not verify"
    );
}

#[test]
fn wrong_length_signature() {
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    let sig = key.sign(b"m");
    for len in [0usize, 1, 63, 65, 128] {
        let mut bytes = sig.to_bytes().to_vec();
        bytes.resize(len, 0);
        let err = public.verify(b"m", &bytes).unwrap_err();
        assert_eq!(err, SignatureError::Length { len });
        assert_eq!(
            err.to_string(),
            format!("signature is {len} bytes, expected 64")
        );
        assert_eq!(
            Signature::try_from(bytes.as_slice()),
            Err(SignatureError::Length { len })
        );
    }
    assert_eq!(Signature::try_from(&sig.as_bytes()[..]).unwrap(), sig);
    assert_eq!(Signature::from(sig.to_bytes()), sig);
}

#[test]
fn debug_does_not_leak_the_secret() {
    let key = rfc_key();
    let dbg = format!("{key:?}");
    assert_eq!(
        dbg,
        format!("SigningKey {{ public: Fingerprint({RFC_FINGERPRINT}), .. }}")
    );
    assert!(!dbg.contains(RFC_SEED));
    assert_eq!(
        format!("{:?}", key.public_key()),
        format!("PublicKey({RFC_FINGERPRINT})")
    );
    assert_eq!(
        format!("{:?}", key.sign(b"")),
        format!("Signature({RFC_SIG_EMPTY})")
    );
}

#[test]
fn public_key_from_bytes_rejects_non_points() {
    // y = 2 is not the y-coordinate of any point on edwards25519.
    let mut bytes = [0u8; 32];
    bytes[0] = 2;
    let err = PublicKey::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, KeyError::InvalidPublicKey { path: None, .. }));
    assert_one_line(&err.to_string());
}

/// The eight points of small order (the identity, the point of order 2, two of order 4 and
/// four of order 8) as libsodium's blocklist encodes them, plus non-canonical encodings of the
/// identity and of the point of order 2 (y + p).
const SMALL_ORDER: [&str; 10] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000080",
];

#[test]
fn small_order_public_keys_are_refused() {
    // With A = identity, R = identity and S = 0 satisfy [S]B = R + [k]A for every message:
    // a key that "signs" everything. OpenSSL accepts it; we must not.
    let mut identity_sig = [0u8; 64];
    identity_sig[0] = 1;
    let mut decoded = 0;
    for hex_key in SMALL_ORDER {
        let bytes: [u8; 32] = hex::decode(hex_key).unwrap().try_into().unwrap();
        if ed25519_dalek::VerifyingKey::from_bytes(&bytes).is_err() {
            continue; // not even a point encoding: refused for that reason already
        }
        decoded += 1;
        let err = PublicKey::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(err, KeyError::InvalidPublicKey { path: None, .. }),
            "{hex_key}: {err:?}"
        );
        assert!(err.to_string().contains("small order"), "{err}");
        assert_one_line(&err.to_string());
        let der = hex::decode(format!("{SPKI_PREFIX}{hex_key}")).unwrap();
        let err = PublicKey::from_spki_pem(&pem("PUBLIC KEY", &der)).unwrap_err();
        assert!(err.to_string().contains("small order"), "{hex_key}: {err}");
    }
    assert!(decoded >= 8, "the torsion points decode ({decoded})");
    // The identity signature is what makes these keys dangerous: show it is real for the
    // unchecked dalek key, so this test is not vacuous.
    let weak = ed25519_dalek::VerifyingKey::from_bytes(&[
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ])
    .unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&identity_sig);
    use ed25519_dalek::Verifier as _;
    assert!(weak.verify(b"any message at all", &sig).is_ok());
    // An ordinary key is still accepted.
    PublicKey::from_bytes(&hex::decode(RFC_PUBLIC).unwrap().try_into().unwrap()).unwrap();
}

// ---- key files ----------------------------------------------------------------------------

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
#[test]
fn load_refuses_group_or_world_readable_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.pem");
    fs::write(&path, rfc_key().to_pkcs8_pem().as_bytes()).unwrap();
    for mode in [
        0o644,
        0o640,
        0o604,
        0o660,
        0o620,
        0o602,
        0o610,
        0o601,
        0o700 | 0o077,
    ] {
        chmod(&path, mode);
        let err = SigningKey::load(&path).unwrap_err();
        match &err {
            KeyError::InsecurePermissions { path: p, mode: m } => {
                assert_eq!(p, &path);
                assert_eq!(*m, mode);
            }
            other => panic!("mode {mode:o}: unexpected {other}"),
        }
        let p = path.display();
        assert_eq!(
            err.to_string(),
            format!(
                "key file {p} is readable by group or others (mode {mode:04o}); run `chmod 600 {p}`"
            )
        );
    }
    for mode in [0o600, 0o400] {
        chmod(&path, mode);
        let key = SigningKey::load(&path).unwrap();
        assert_eq!(hex::encode(key.public_key().as_bytes()), RFC_PUBLIC);
    }
    // Public keys may be world-readable.
    let pub_path = dir.path().join("k.pub.pem");
    fs::write(&pub_path, rfc_key().public_key().to_spki_pem()).unwrap();
    chmod(&pub_path, 0o644);
    assert_eq!(
        PublicKey::load_pem(&pub_path).unwrap(),
        rfc_key().public_key()
    );
}

#[test]
fn write_new_creates_0600_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signer.pem");
    let key = SigningKey::generate().unwrap();
    key.write_new(&path).unwrap();
    #[cfg(unix)]
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(fs::read_to_string(&path).unwrap(), *key.to_pkcs8_pem());
    assert_eq!(
        SigningKey::load(&path).unwrap().public_key(),
        key.public_key()
    );

    // A second write to the same path is refused and leaves the first key intact.
    let other = SigningKey::generate().unwrap();
    let err = other.write_new(&path).unwrap_err();
    assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "key file {} already exists; refusing to overwrite it",
            path.display()
        )
    );
    assert_eq!(
        SigningKey::load(&path).unwrap().public_key(),
        key.public_key()
    );

    // Nothing but the key is left in the directory (no temporary files).
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("signer.pem")]);
}

#[test]
fn concurrent_write_new_has_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.pem");
    let keys: Vec<SigningKey> = (0..8).map(|_| SigningKey::generate().unwrap()).collect();
    let results: Vec<Result<(), KeyError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = keys
            .iter()
            .map(|k| scope.spawn(|| k.write_new(&path)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<usize> = (0..keys.len()).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, KeyError::AlreadyExists { .. }), "{e}");
        }
    }
    let on_disk = SigningKey::load(&path).unwrap();
    assert_eq!(on_disk.public_key(), keys[winners[0]].public_key());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[cfg(unix)]
#[test]
fn write_new_refuses_a_dangling_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("link.pem");
    std::os::unix::fs::symlink(dir.path().join("elsewhere.pem"), &path).unwrap();
    let err = SigningKey::generate()
        .unwrap()
        .write_new(&path)
        .unwrap_err();
    assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err}");
    assert!(!dir.path().join("elsewhere.pem").exists());
}

#[test]
fn write_new_into_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/k.pem");
    let err = SigningKey::generate()
        .unwrap()
        .write_new(&path)
        .unwrap_err();
    assert!(matches!(err, KeyError::Write { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert_one_line(&msg);
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.pem");
    for err in [
        SigningKey::load(&missing).unwrap_err(),
        PublicKey::load_pem(&missing).map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(err, KeyError::Read { .. }), "{err}");
        assert!(err.to_string().contains(s(&missing)));
        assert_one_line(&err.to_string());
    }

    let err = SigningKey::load(dir.path()).unwrap_err();
    assert!(matches!(err, KeyError::NotAKeyFile { .. }), "{err}");
    assert!(err.to_string().contains("not a regular file"), "{err}");

    let big = dir.path().join("big.pem");
    fs::write(&big, vec![b'A'; MAX_KEY_FILE_SIZE as usize + 1]).unwrap();
    chmod(&big, 0o600);
    for err in [
        SigningKey::load(&big).unwrap_err(),
        PublicKey::load_pem(&big).map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(err, KeyError::NotAKeyFile { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("{}: larger than 64 KiB, so not a key file", big.display())
        );
    }

    let binary = dir.path().join("binary.pem");
    fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    chmod(&binary, 0o600);
    let err = SigningKey::load(&binary).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a PKCS#8 Ed25519 private key PEM (the file is not text)",
            binary.display()
        )
    );

    let garbage = dir.path().join("garbage.pem");
    fs::write(&garbage, "hello\n").unwrap();
    chmod(&garbage, 0o600);
    let err = SigningKey::load(&garbage).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a PKCS#8 Ed25519 private key PEM (no `-----BEGIN` line found)",
            garbage.display()
        )
    );
    let err = PublicKey::load_pem(&garbage).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not an SPKI Ed25519 public key PEM (no `-----BEGIN` line found)",
            garbage.display()
        )
    );
}

// ---- malformed input ----------------------------------------------------------------------

/// Texts that are not Ed25519 keys of either kind.
fn malformed_texts() -> Vec<(String, String)> {
    let key = rfc_key();
    let good = key.to_pkcs8_pem().to_string();
    let good_pub = key.public_key().to_spki_pem();
    let b64_line = good.lines().nth(1).unwrap().to_owned();
    let mut cases: Vec<(String, String)> = vec![
        ("empty".into(), String::new()),
        ("whitespace".into(), " \n\t\n".into()),
        ("garbage".into(), "not a key at all".into()),
        ("binary-ish".into(), "\u{0}\u{1}\u{2}\u{7f}".into()),
        ("begin only".into(), "-----BEGIN PRIVATE KEY-----\n".into()),
        ("begin unterminated".into(), "-----BEGIN PRIVATE KEY\n".into()),
        (
            "no end line".into(),
            format!("-----BEGIN PRIVATE KEY-----\n{b64_line}\n"),
        ),
        (
            "truncated base64".into(),
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                &b64_line[..b64_line.len() / 2]
            ),
        ),
        (
            "base64 missing last quad".into(),
            format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                &b64_line[..b64_line.len() - 4]
            ),
        ),
        (
            "bad base64 character".into(),
            good.replacen(&b64_line[..4], "!!!!", 1),
        ),
        ("mismatched end label".into(), good.replace("END PRIVATE KEY", "END PUBLIC KEY")),
        ("two blocks".into(), format!("{good}{good}")),
        ("trailing garbage".into(), format!("{good}junk")),
        (
            "public DER under PRIVATE label".into(),
            good_pub.replace("PUBLIC KEY", "PRIVATE KEY"),
        ),
        (
            "private DER under PUBLIC label".into(),
            good.replace("PRIVATE KEY", "PUBLIC KEY"),
        ),
        (
            "empty DER".into(),
            "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n".into(),
        ),
        (
            "OpenSSH private key".into(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n".into(),
        ),
        (
            "encrypted".into(),
            good.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
        ),
        (
            "long label".into(),
            format!("-----BEGIN {}-----\n", "X".repeat(10_000)),
        ),
        ("OpenSSH public line".into(), format!("{RFC_OPENSSH}\n")),
    ];
    // X25519 keys share the structure but not the OID (1.3.101.110).
    let mut x25519 = pem_der(&good);
    x25519[11] = 110;
    cases.push(("X25519 private key".into(), pem("PRIVATE KEY", &x25519)));
    let mut x25519_pub = pem_der(&good_pub);
    x25519_pub[8] = 110;
    cases.push(("X25519 public key".into(), pem("PUBLIC KEY", &x25519_pub)));
    cases
}

fn check_rejected(name: &str, text: &str) {
    let private = SigningKey::from_pkcs8_pem(text);
    let public = PublicKey::from_spki_pem(text);
    // "private DER under PUBLIC label" etc. must fail both ways; nothing here is a valid key
    // of either kind.
    let e1 = private
        .err()
        .unwrap_or_else(|| panic!("{name}: accepted as private key"));
    let e2 = public
        .err()
        .unwrap_or_else(|| panic!("{name}: accepted as public key"));
    assert!(
        matches!(e1, KeyError::InvalidPrivateKey { path: None, .. }),
        "{name}: {e1}"
    );
    assert!(
        matches!(e2, KeyError::InvalidPublicKey { path: None, .. }),
        "{name}: {e2}"
    );
    let (m1, m2) = (e1.to_string(), e2.to_string());
    assert!(
        m1.starts_with("not a PKCS#8 Ed25519 private key PEM ("),
        "{name}: {m1}"
    );
    assert!(
        m2.starts_with("not an SPKI Ed25519 public key PEM ("),
        "{name}: {m2}"
    );
    assert_one_line(&m1);
    assert_one_line(&m2);
    assert!(m1.len() < 300 && m2.len() < 300, "{name}: {m1} / {m2}");
    eprintln!("{name}:\n  {m1}\n  {m2}");
}

#[test]
fn malformed_pem_is_an_error_not_a_panic() {
    for (name, text) in malformed_texts() {
        check_rejected(&name, &text);
    }
}

#[test]
fn wrong_kind_of_key_says_so() {
    let key = rfc_key();
    let err = SigningKey::from_pkcs8_pem(&key.public_key().to_spki_pem()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a PKCS#8 Ed25519 private key PEM (found a public key, expected a private key)"
    );
    let err = PublicKey::from_spki_pem(&key.to_pkcs8_pem()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not an SPKI Ed25519 public key PEM (found a private key, expected a public key)"
    );
}

#[test]
fn mutated_der_never_panics() {
    let key = rfc_key();
    let docs = [
        ("PRIVATE KEY", pem_der(&key.to_pkcs8_pem())),
        ("PUBLIC KEY", pem_der(&key.public_key().to_spki_pem())),
    ];
    for (label, der) in &docs {
        // Every truncation.
        for len in 0..der.len() {
            let text = pem(label, &der[..len]);
            assert!(SigningKey::from_pkcs8_pem(&text).is_err());
            assert!(PublicKey::from_spki_pem(&text).is_err());
        }
        // Every byte replaced by a few interesting values.
        for i in 0..der.len() {
            for v in [0x00u8, 0x01, 0x7f, 0x80, 0x81, 0xff, der[i] ^ 0x20] {
                let mut d = der.clone();
                d[i] = v;
                let text = pem(label, &d);
                for msg in [
                    SigningKey::from_pkcs8_pem(&text)
                        .err()
                        .map(|e| e.to_string()),
                    PublicKey::from_spki_pem(&text).err().map(|e| e.to_string()),
                ]
                .into_iter()
                .flatten()
                {
                    assert_one_line(&msg);
                }
            }
        }
        // Extra bytes appended.
        let mut d = der.clone();
        d.push(0);
        assert!(SigningKey::from_pkcs8_pem(&pem(label, &d)).is_err());
        assert!(PublicKey::from_spki_pem(&pem(label, &d)).is_err());
    }
}

#[test]
fn other_algorithms_from_openssl_are_rejected() {
    if !have("openssl", "other_algorithms_from_openssl_are_rejected") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let algorithms: [(&str, &[&str]); 4] = [
        (
            "rsa",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        ),
        (
            "ec",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        ("x25519", &["-algorithm", "X25519"]),
        ("ed448", &["-algorithm", "ED448"]),
    ];
    for (name, args) in algorithms {
        let key_path = dir.path().join(format!("{name}.pem"));
        let mut all = vec!["genpkey"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-out", s(&key_path)]);
        run_ok("openssl", &all);
        let pub_path = dir.path().join(format!("{name}.pub.pem"));
        run_ok(
            "openssl",
            &["pkey", "-in", s(&key_path), "-pubout", "-out", s(&pub_path)],
        );
        let private = fs::read_to_string(&key_path).unwrap();
        let public = fs::read_to_string(&pub_path).unwrap();
        check_rejected(name, &private);
        check_rejected(name, &public);

        chmod(&key_path, 0o600);
        let err = SigningKey::load(&key_path).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "{}: not a PKCS#8 Ed25519 private key PEM (",
                key_path.display()
            )),
            "{msg}"
        );
        assert!(msg.to_lowercase().contains(name), "{msg}");
        let err = PublicKey::load_pem(&pub_path).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("{}: ", pub_path.display()))
        );
    }

    // Traditional (PKCS#1) RSA key: a different PEM label altogether.
    let rsa1 = dir.path().join("rsa1.pem");
    run_ok(
        "openssl",
        &[
            "pkey",
            "-in",
            s(&dir.path().join("rsa.pem")),
            "-traditional",
            "-out",
            s(&rsa1),
        ],
    );
    let text = fs::read_to_string(&rsa1).unwrap();
    assert!(text.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    check_rejected("rsa pkcs1", &text);
    let err = SigningKey::from_pkcs8_pem(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a PKCS#8 Ed25519 private key PEM (found a \"RSA PRIVATE KEY\" PEM block, expected \"PRIVATE KEY\")"
    );
}
