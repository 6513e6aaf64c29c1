//! Keys, signatures, and their PEM files.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    self, DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
    ObjectIdentifier, spki,
};
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::{KeyError, SignatureError};
use crate::fingerprint::Fingerprint;

/// The largest key file [`SigningKey::load`] and [`PublicKey::load_pem`] will read (64 KiB).
/// Real Ed25519 PEM files are about 120 bytes; anything bigger is not a key.
pub const MAX_KEY_FILE_SIZE: u64 = 64 * 1024;

const PRIVATE_LABEL: &str = "PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";
const SSH_KEY_TYPE: &str = "ssh-ed25519";

/// An Ed25519 private key.
///
/// Stored as a PKCS#8 `PRIVATE KEY` PEM file, the format `openssl genpkey -algorithm ed25519`
/// writes. The secret is wiped from memory when the key is dropped, and `Debug` shows only the
/// public key's fingerprint.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// The ECDSA P-384 key derived from this key for WACZ's anonymous signature
    /// ([`crate::ReplayKey`]).
    pub fn replay_key(&self) -> crate::ReplayKey {
        crate::ReplayKey::derive(&Zeroizing::new(self.inner.to_bytes()))
    }

    /// Generate a new key from 32 bytes of operating-system randomness.
    pub fn generate() -> Result<SigningKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(SigningKey {
            inner: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// Parse a PKCS#8 `PRIVATE KEY` PEM holding an Ed25519 key. Both the v1 form that OpenSSL
    /// writes and the v2 form that also carries the public key are accepted; in the latter the
    /// public key must match the private one.
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, KeyError> {
        let invalid = |detail| KeyError::InvalidPrivateKey { path: None, detail };
        let block = pem_block(pem, PRIVATE_LABEL).map_err(invalid)?;
        let inner = ed25519_dalek::SigningKey::from_pkcs8_pem(block).map_err(|e| {
            invalid(match e {
                pkcs8::Error::PublicKey(spki::Error::OidUnknown { oid }) => wrong_algorithm(oid),
                other => one_line(&other),
            })
        })?;
        Ok(SigningKey { inner })
    }

    /// Encode as a PKCS#8 v1 `PRIVATE KEY` PEM, byte for byte what
    /// `openssl genpkey -algorithm ed25519` would write for this key. The string is wiped
    /// from memory when dropped.
    ///
    /// (Deliberately v1, without the public key: ed25519-dalek's own `to_pkcs8_pem` writes
    /// v2, which OpenSSL 3.0 refuses to load.)
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let keypair = KeypairBytes {
            secret_key: self.inner.to_bytes(),
            public_key: None,
        };
        // Encoding a fixed-size, already valid key cannot fail: no input reaches this.
        keypair
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding of a 32-byte Ed25519 key cannot fail")
    }

    /// Read a private key PEM file.
    ///
    /// On Unix, a file whose mode grants any permission to group or others is refused, as
    /// OpenSSH refuses such keys. At most [`MAX_KEY_FILE_SIZE`] bytes are read. Every error
    /// names the file.
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let bytes = read_key_file(path, true)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::InvalidPrivateKey {
            path: Some(path.to_path_buf()),
            detail: "the file is not text".into(),
        })?;
        SigningKey::from_pkcs8_pem(text).map_err(|e| e.at(path))
    }

    /// Write the key to a new PEM file at `path` with mode `0600`.
    ///
    /// Crash-safe: the PEM is written and synced to a temporary file (created `0600`) in the
    /// same directory, which is then linked into place only if nothing exists at `path`, and
    /// the directory is synced. An existing file is never overwritten
    /// ([`KeyError::AlreadyExists`]), and a partial key never appears at `path`.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let write_err = |error| KeyError::Write {
            path: path.to_path_buf(),
            error,
        };
        let exists = || KeyError::AlreadyExists {
            path: path.to_path_buf(),
        };
        // Early, friendly check; `persist_noclobber` below is what actually guarantees it.
        if path.symlink_metadata().is_ok() {
            return Err(exists());
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };

        let mut builder = tempfile::Builder::new();
        builder.prefix(".exhibit-key-").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o600));
        }
        let mut tmp = builder.tempfile_in(dir).map_err(write_err)?;
        tmp.write_all(self.to_pkcs8_pem().as_bytes())
            .map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        // On failure the temporary file is removed when the returned handle drops.
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                exists()
            } else {
                write_err(e.error)
            }
        })?;
        #[cfg(unix)]
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)?;
        Ok(())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// Sign `message` (pure Ed25519, RFC 8032; deterministic).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.inner.sign(message).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public_key().fingerprint())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key.
///
/// Stored as an SPKI `PUBLIC KEY` PEM file, the format `openssl pkey -pubout` writes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    /// Make a public key from its 32-byte compressed encoding. Fails if the bytes are not the
    /// encoding of a curve point, or encode a point of small order, which verifies forged
    /// signatures (FORMAT.md §4.2).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let inner = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| {
            KeyError::InvalidPublicKey {
                path: None,
                detail: "the 32 bytes are not an Ed25519 curve point".into(),
            }
        })?;
        PublicKey::checked(inner)
    }

    /// Refuses a point of small order (the identity and the other seven torsion points, in any
    /// encoding). With such a key `A`, the signature `R` = identity, `S` = 0 satisfies the
    /// verification equation for every message, so no signature by it proves anything. OpenSSL
    /// accepts these keys; exhibit deliberately does not (FORMAT.md §4.2).
    fn checked(inner: ed25519_dalek::VerifyingKey) -> Result<PublicKey, KeyError> {
        if inner.is_weak() {
            return Err(KeyError::InvalidPublicKey {
                path: None,
                detail: "the key is a point of small order, which verifies forged signatures; \
                         refused"
                    .into(),
            });
        }
        Ok(PublicKey { inner })
    }

    /// The 32-byte compressed encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.inner.as_bytes()
    }

    /// Parse an SPKI `PUBLIC KEY` PEM holding an Ed25519 key.
    pub fn from_spki_pem(pem: &str) -> Result<PublicKey, KeyError> {
        let invalid = |detail| KeyError::InvalidPublicKey { path: None, detail };
        let block = pem_block(pem, PUBLIC_LABEL).map_err(invalid)?;
        let inner = ed25519_dalek::VerifyingKey::from_public_key_pem(block).map_err(|e| {
            invalid(match e {
                spki::Error::OidUnknown { oid } => wrong_algorithm(oid),
                other => one_line(&other),
            })
        })?;
        PublicKey::checked(inner)
    }

    /// Encode as an SPKI `PUBLIC KEY` PEM, byte for byte what `openssl pkey -pubout` writes.
    pub fn to_spki_pem(&self) -> String {
        // Encoding a fixed-size, already valid key cannot fail: no input reaches this.
        self.inner
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding of a 32-byte Ed25519 key cannot fail")
    }

    /// Read an SPKI public key PEM file. At most [`MAX_KEY_FILE_SIZE`] bytes are read. Every
    /// error names the file.
    pub fn load_pem(path: &Path) -> Result<PublicKey, KeyError> {
        let bytes = read_key_file(path, false)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| KeyError::InvalidPublicKey {
            path: Some(path.to_path_buf()),
            detail: "the file is not text".into(),
        })?;
        PublicKey::from_spki_pem(text).map_err(|e| e.at(path))
    }

    /// The OpenSSH-compatible fingerprint (`SHA256:…`, as `ssh-keygen -l` prints it).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::from_digest(Sha256::digest(self.openssh_wire()).into())
    }

    /// The key as an OpenSSH public key line without a comment (`ssh-ed25519 AAAA…`), as it
    /// appears in `authorized_keys` or a `.pub` file.
    pub fn to_openssh(&self) -> String {
        format!("{SSH_KEY_TYPE} {}", STANDARD.encode(self.openssh_wire()))
    }

    /// SSH wire encoding: string "ssh-ed25519" ‖ string(key), each string being a
    /// big-endian u32 length followed by the bytes.
    fn openssh_wire(&self) -> Vec<u8> {
        let key = self.as_bytes();
        let mut wire = Vec::with_capacity(4 + SSH_KEY_TYPE.len() + 4 + key.len());
        for part in [SSH_KEY_TYPE.as_bytes(), key.as_slice()] {
            // Both parts are short constants, so the length always fits in a u32.
            wire.extend_from_slice(&(part.len() as u32).to_be_bytes());
            wire.extend_from_slice(part);
        }
        wire
    }

    /// Check a raw 64-byte signature over `message`.
    ///
    /// Uses the same rules as OpenSSL (and ed25519-dalek's `verify`, not `verify_strict`):
    /// `s` must be canonical, `R` must be canonically encoded, and the cofactorless equation
    /// must hold. A signature of the wrong length is an error of its own. The one deliberate
    /// difference from OpenSSL is in the key: a [`PublicKey`] is never of small order.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        let signature = Signature::try_from(signature)?;
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.inner
            .verify(message, &signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// A raw 64-byte Ed25519 signature (`R ‖ s`). A `.sig` file holds exactly these bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The 64 bytes, by value.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }

    /// The 64 bytes, by reference.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = SignatureError;

    /// Accepts exactly 64 bytes; anything else is [`SignatureError::Length`].
    fn try_from(bytes: &[u8]) -> Result<Signature, SignatureError> {
        let array: [u8; 64] = bytes
            .try_into()
            .map_err(|_| SignatureError::Length { len: bytes.len() })?;
        Ok(Signature(array))
    }
}

impl From<[u8; 64]> for Signature {
    fn from(bytes: [u8; 64]) -> Signature {
        Signature(bytes)
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Read a whole key file, refusing non-regular files, files over [`MAX_KEY_FILE_SIZE`] and,
/// for private keys on Unix, files with any group or other permission bit.
fn read_key_file(path: &Path, private: bool) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let read_err = |error| KeyError::Read {
        path: path.to_path_buf(),
        error,
    };
    let not_key = |reason: String| KeyError::NotAKeyFile {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(read_err)?;
    // Metadata of the opened file, not of the path, so a swap in between cannot fool us.
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(not_key("not a regular file".into()));
    }
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::InsecurePermissions {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = private;

    // Reserve the whole bound up front so the buffer never reallocates, leaving no stray
    // copies of a secret behind.
    let limit = MAX_KEY_FILE_SIZE + 1;
    let mut buf = Zeroizing::new(Vec::with_capacity(limit as usize));
    file.take(limit).read_to_end(&mut buf).map_err(read_err)?;
    if buf.len() as u64 > MAX_KEY_FILE_SIZE {
        return Err(not_key(format!(
            "larger than {} KiB, so not a key file",
            MAX_KEY_FILE_SIZE / 1024
        )));
    }
    Ok(buf)
}

/// Find the PEM block in `text` and check its label, returning the text from `-----BEGIN` on.
/// Explanatory text before the block is skipped, as OpenSSL does.
fn pem_block<'a>(text: &'a str, expected: &str) -> Result<&'a str, String> {
    if text.trim().is_empty() {
        return Err("the input is empty".into());
    }
    let Some(start) = text.find("-----BEGIN ") else {
        if text.trim_start().starts_with(SSH_KEY_TYPE) {
            return Err("found an OpenSSH public key line, not a PEM file".into());
        }
        return Err("no `-----BEGIN` line found".into());
    };
    let block = &text[start..];
    let first_line = block.lines().next().unwrap_or_default();
    let label = first_line
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.trim_end().strip_suffix("-----"))
        .ok_or_else(|| "malformed `-----BEGIN` line".to_string())?;
    if label == expected {
        return Ok(block);
    }
    Err(match label {
        "PUBLIC KEY" => "found a public key, expected a private key".into(),
        "PRIVATE KEY" => "found a private key, expected a public key".into(),
        "ENCRYPTED PRIVATE KEY" => "the key is encrypted; an unencrypted key is needed".into(),
        "OPENSSH PRIVATE KEY" => "found an OpenSSH-format private key".into(),
        other => {
            let shown: String = other.chars().take(40).collect();
            format!("found a {shown:?} PEM block, expected {expected:?}")
        }
    })
}

/// Say which algorithm a key is for, when it is not Ed25519.
fn wrong_algorithm(oid: ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.10045.2.1" => "EC",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.113" => "Ed448",
        _ => "an unsupported algorithm",
    };
    format!("the key is for {name} (OID {oid}), not Ed25519 (OID 1.3.101.112)")
}

/// Library errors are one line today; make sure they stay so in our messages.
fn one_line(e: &dyn fmt::Display) -> String {
    e.to_string().replace(['\r', '\n'], " ")
}
