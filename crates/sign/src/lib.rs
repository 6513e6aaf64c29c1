//! Ed25519 keys, fingerprints, signatures and verification for `exhibit`.
//!
//! Everything here is chosen so that a third party can check our work with stock tools:
//!
//! - A private key is stored as a PKCS#8 `PRIVATE KEY` PEM file, exactly as
//!   `openssl genpkey -algorithm ed25519` writes it, with mode `0600`. [`SigningKey::load`]
//!   refuses a key that is readable by group or others, as OpenSSH does.
//! - A public key is stored as an SPKI `PUBLIC KEY` PEM file (`openssl pkey -pubout`).
//! - A [`Signature`] is the raw 64 bytes; a `.sig` file holds exactly those bytes, so
//!   `openssl pkeyutl -verify -pubin -inkey signer.pem -rawin -in m.json -sigfile m.json.sig`
//!   checks it.
//! - A [`Fingerprint`] is `SHA256:` followed by unpadded base64, identical to what
//!   `ssh-keygen -l -f key.pub` prints for the key's [`PublicKey::to_openssh`] line.
//! - [`PublicKey::verify`] accepts exactly the signatures OpenSSL accepts (the "ref10"
//!   rules: canonical `s`, canonical `R`, cofactorless equation).
//!
//! ```
//! use exhibit_sign::SigningKey;
//!
//! let key = SigningKey::generate()?;
//! let signature = key.sign(b"manifest bytes");
//! let public = key.public_key();
//! public.verify(b"manifest bytes", signature.as_bytes())?;
//! assert!(public.fingerprint().to_string().starts_with("SHA256:"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cosignature;
mod error;
mod fingerprint;
pub mod history;
mod key;
pub mod note;
mod replay;

pub use error::{FingerprintError, KeyError, SignatureError};
pub use fingerprint::Fingerprint;
pub use key::{MAX_KEY_FILE_SIZE, PublicKey, Signature, SigningKey};
pub use note::{NoteError, NoteSignature, SignedNote, VerifierKey};
pub use replay::{REPLAY_SIGNATURE_LEN, ReplayKey, verify_replay_signature};
/// Re-exported so callers can name the return type of [`SigningKey::to_pkcs8_pem`].
pub use zeroize::Zeroizing;
