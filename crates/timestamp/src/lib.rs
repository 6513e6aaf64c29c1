//! RFC 3161 time-stamp tokens for exhibit's signed checkpoints.
//!
//! * [`Request`] builds a `TimeStampReq` (SHA-256 imprint, random 64-bit nonce, `certReq`
//!   true) to POST to a TSA as `application/timestamp-query`.
//! * [`Token::parse_response`] reads the TSA's `TimeStampResp` (or a `.tsr` file as written by
//!   `openssl ts -reply`); [`Token::check_request`], [`Token::check_message`],
//!   [`Token::verify_signature`] and [`Token::verify_chain`] check it; [`verify`] does all of
//!   them but the request's, and [`verify_answer`] all of them for a TSA's fresh answer.
//!
//! This crate does no I/O: asking a TSA over HTTP and keeping its token in the archive are
//! `exhibit-capture`'s `tsa` module, so the standalone verifier that depends on this crate
//! carries no HTTP client.
//!
//! CMS and X.509 come from the RustCrypto `cms` and `x509-cert` crates. The TSP types
//! (`TimeStampReq`, `MessageImprint`, `TimeStampResp`, `PKIStatusInfo`, `TSTInfo`, `Accuracy`,
//! RFC 3161 §2.4) and the ESS signing-certificate attributes (RFC 2634, RFC 5035) are defined in
//! this crate with `der` derive, because `x509-tsp` is still built on the older `der` 0.7.
//!
//! Algorithms: ECDSA on P-256 and P-384, RSA PKCS#1 v1.5 and RSA-PSS (2048 bits or more), each
//! with SHA-256, SHA-384 or SHA-512, for both the token signature and the certificate
//! signatures. SHA-1 and MD5 signatures are refused. Imprints may be SHA-256/384/512.
//!
//! What is **not** checked: revocation (no CRL or OCSP: this is an offline verifier; a TSA key
//! compromised after genTime is not detected), certificate policies and name constraints (a
//! certificate in the path with any critical extension other than basicConstraints, keyUsage,
//! extendedKeyUsage, subjectAltName, subject/authority key identifiers and certificatePolicies
//! is rejected — except in the trust anchors themselves, which are taken as given, as RFC 5280
//! §6.1.1 takes a trust anchor's name and key), and the TSA's policy OID (reported in [`TokenInfo::policy`] for the caller
//! to judge). Validity periods are checked at the token's genTime, not at the present time.
//!
//! Differences from `openssl ts -verify` (OpenSSL 3.0), all deliberate: any certificate in the
//! bundle may be an anchor, an intermediate or the TSA's own certificate included (OpenSSL wants
//! a self-signed root unless `-partial_chain`); certificates are checked at genTime (OpenSSL:
//! now); the SignerInfo's signatureAlgorithm must be a supported algorithm consistent with the
//! key (OpenSSL ignores it for EC keys); RSA-PSS token signatures are verified (OpenSSL 3.0's
//! PKCS#7 code cannot). The signed attributes are verified in their DER (sorted) encoding, as
//! RFC 5652 requires them to be sent.
//!
//! Input is hostile: responses are capped at [`MAX_RESPONSE_BYTES`], a token may carry at most
//! [`MAX_CERTIFICATES`] certificates, and a path at most [`MAX_CHAIN_LENGTH`] certificates.

mod asn1;
mod crypto;
mod time;
mod verify;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::{Decode, Encode, EncodePem, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;

use crate::asn1::{TimeStampResp, TstInfo};
use crate::crypto::Hash;

/// The largest TSA response (or `.tsr` file) read: real tokens with a certificate chain are a
/// few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The most certificates a token may carry.
pub const MAX_CERTIFICATES: usize = 32;

/// The longest certificate path built, signer and anchor included.
pub const MAX_CHAIN_LENGTH: usize = 8;

/// The most certificates read from a trust-anchor PEM bundle.
pub const MAX_TRUST_ANCHORS: usize = 1000;

/// What can be wrong with a time-stamp request, response or token.
#[derive(Debug, thiserror::Error)]
pub enum TimestampError {
    /// Not a DER TimeStampResp / token of the expected shape.
    #[error("malformed time-stamp response: {0}")]
    Malformed(String),
    /// The TSA answered, but did not grant a token.
    #[error("the TSA refused: status {status}{}", .text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    NotGranted {
        /// PKIStatus.
        status: u32,
        /// PKIFreeText, if any.
        text: Option<String>,
    },
    /// The token's message imprint is not the hash of the data.
    #[error("the token stamps {found}, not the {algorithm} of this data ({expected})")]
    ImprintMismatch {
        /// Hash algorithm name.
        algorithm: String,
        /// Hex of the hash of the data.
        expected: String,
        /// Hex of the imprint in the token.
        found: String,
    },
    /// The token's nonce is not the request's.
    #[error("the token's nonce is not the one requested")]
    NonceMismatch,
    /// The CMS signature (or its signed attributes) does not verify.
    #[error("bad token signature: {0}")]
    BadSignature(String),
    /// The signing certificate is not a time-stamping certificate.
    #[error("the signing certificate is not a TSA certificate: {0}")]
    NotTimestampingCert(String),
    /// No chain from the signer to a trusted certificate.
    #[error("untrusted: {0}")]
    Untrusted(String),
    /// Randomness unavailable (for the nonce).
    #[error("no randomness for the nonce: {0}")]
    Random(String),
}

/// A time-stamp request for one message: SHA-256 imprint, random nonce, `certReq` true.
#[derive(Clone, Debug)]
pub struct Request {
    /// SHA-256 of the message.
    pub imprint: [u8; 32],
    /// The nonce as a positive big-endian integer (no leading zero bytes).
    pub nonce: Vec<u8>,
}

/// DER of AlgorithmIdentifier { sha256, NULL }, as `openssl ts -query -sha256` writes it.
const SHA256_ALGORITHM_DER: [u8; 15] = [
    0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
];

impl Request {
    /// A request for `message` with a fresh random 64-bit nonce (its top bit set).
    pub fn new(message: &[u8]) -> Result<Request, TimestampError> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| TimestampError::Random(e.to_string()))?;
        // Always a full 64-bit value (top bit set: 63 random bits), so the nonce's length never
        // depends on chance.
        random[0] |= 0x80;
        let nonce = random.to_vec();
        use sha2::Digest;
        Ok(Request {
            imprint: sha2::Sha256::digest(message).into(),
            nonce,
        })
    }

    /// The DER `TimeStampReq` to POST as `application/timestamp-query`: version 1,
    /// messageImprint { sha256 with NULL parameters, imprint }, nonce, certReq TRUE; no policy,
    /// no extensions. Byte for byte the layout `openssl ts -query -sha256 -cert` produces.
    pub fn to_der(&self) -> Vec<u8> {
        let mut imprint = SHA256_ALGORITHM_DER.to_vec();
        imprint.extend(tlv(0x04, &self.imprint));
        let mut nonce = asn1::strip_zeros(&self.nonce).to_vec();
        if nonce.first().is_none_or(|b| b & 0x80 != 0) {
            nonce.insert(0, 0);
        }
        let mut body = vec![0x02, 0x01, 0x01];
        body.extend(tlv(0x30, &imprint));
        body.extend(tlv(0x02, &nonce));
        body.extend([0x01, 0x01, 0xff]);
        tlv(0x30, &body)
    }
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let significant = asn1::strip_zeros(&bytes);
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// The accuracy a TSA states for its time.
///
/// Displayed as `±` seconds with the fraction trimmed of trailing zeros: "±1 s", "±0.5 s",
/// "±1.5001 s" (1 s 500 ms 100 µs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accuracy {
    /// Seconds.
    pub seconds: u64,
    /// Milliseconds (0–999).
    pub millis: u16,
    /// Microseconds (0–999).
    pub micros: u16,
}

impl std::fmt::Display for Accuracy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let micros = u32::from(self.millis) * 1000 + u32::from(self.micros);
        if micros == 0 {
            write!(f, "±{} s", self.seconds)
        } else {
            let fraction = format!("{micros:06}");
            write!(f, "±{}.{} s", self.seconds, fraction.trim_end_matches('0'))
        }
    }
}

/// What a token says (from its TSTInfo and its signer certificate).
#[derive(Clone, Debug)]
pub struct TokenInfo {
    /// genTime as RFC 3339 UTC, with the fraction if the token has one ("2026-11-23T01:02:03Z").
    pub gen_time: String,
    /// genTime as Unix seconds.
    pub gen_time_unix: i64,
    /// The stated accuracy, if any.
    pub accuracy: Option<Accuracy>,
    /// The serial number, hex.
    pub serial: String,
    /// The TSA policy OID, dotted.
    pub policy: String,
    /// The imprint's hash algorithm ("sha256", "sha384", "sha512").
    pub hash_algorithm: String,
    /// The imprint.
    pub imprint: Vec<u8>,
    /// The nonce, big-endian, if any.
    pub nonce: Option<Vec<u8>>,
    /// The TSA's name from TSTInfo, if given, as text.
    pub tsa_name: Option<String>,
    /// The signer certificate's subject (RFC 4514). When the token does not carry the signer's
    /// certificate: "(certificate not in token; issuer …, serial …)" or "(certificate not in
    /// token; key id …)".
    pub signer: String,
}

impl TokenInfo {
    /// What the token proves about the stamped data: it existed no later than genTime plus the
    /// stated accuracy, rounded up to the whole second (a fraction of genTime rounds up too),
    /// as Unix seconds.
    pub fn no_later_than_unix(&self) -> i64 {
        let slack = self.accuracy.map_or(0, |a| {
            let micros = u128::from(a.seconds) * 1_000_000
                + u128::from(a.millis) * 1_000
                + u128::from(a.micros);
            i64::try_from(micros.div_ceil(1_000_000)).unwrap_or(i64::MAX)
        });
        let fraction = i64::from(self.gen_time.contains('.'));
        self.gen_time_unix
            .saturating_add(slack)
            .saturating_add(fraction)
    }
}

/// Certificates trusted as time-stamping roots (a PEM bundle given by the user).
#[derive(Clone, Debug)]
pub struct TrustAnchors {
    certs: Vec<x509_cert::Certificate>,
}

impl TrustAnchors {
    /// Reads every certificate in a PEM bundle (at least one, at most
    /// [`MAX_TRUST_ANCHORS`]). Text outside the `-----BEGIN CERTIFICATE-----` blocks (such as
    /// the `subject=` lines `openssl x509` prints) is ignored; other PEM blocks are skipped.
    pub fn from_pem(pem: &[u8]) -> Result<TrustAnchors, TimestampError> {
        const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
        const END: &[u8] = b"-----END CERTIFICATE-----";
        let mut certs = Vec::new();
        let mut rest = pem;
        while let Some(start) = find(rest, BEGIN) {
            let after = rest.get(start..).unwrap_or_default();
            let end = find(after, END).ok_or_else(|| {
                TimestampError::Malformed(format!(
                    "certificate {} of the PEM bundle has no END line",
                    certs.len() + 1
                ))
            })?;
            let block = after.get(..end + END.len()).unwrap_or_default();
            rest = after.get(end + END.len()..).unwrap_or_default();
            if certs.len() == MAX_TRUST_ANCHORS {
                return Err(TimestampError::Malformed(format!(
                    "more than {MAX_TRUST_ANCHORS} certificates in the PEM bundle"
                )));
            }
            let cert = std::str::from_utf8(block)
                .ok()
                .and_then(|text| {
                    use der::DecodePem;
                    Certificate::from_pem(text).ok()
                })
                .ok_or_else(|| {
                    TimestampError::Malformed(format!(
                        "certificate {} of the PEM bundle is not a valid X.509 certificate",
                        certs.len() + 1
                    ))
                })?;
            certs.push(cert);
        }
        if certs.is_empty() {
            return Err(TimestampError::Malformed(
                "no certificate in the PEM bundle".into(),
            ));
        }
        Ok(TrustAnchors { certs })
    }

    /// The anchors' subjects (RFC 4514).
    pub fn subjects(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|c| c.tbs_certificate().subject().to_string())
            .collect()
    }

    /// How many certificates there are (at least one).
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Always false: a bundle holds at least one certificate.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How a token chained to an anchor.
#[derive(Clone, Debug)]
pub struct ChainInfo {
    /// The trust anchor's subject (RFC 4514).
    pub anchor: String,
    /// Certificates in the path, signer and anchor included.
    pub length: usize,
}

/// A parsed time-stamp response (status granted) holding a token.
#[derive(Clone, Debug)]
pub struct Token {
    bytes: Vec<u8>,
    info: TokenInfo,
    parsed: Box<Parsed>,
}

/// The decoded token.
#[derive(Clone, Debug)]
struct Parsed {
    /// The TimeStampToken (ContentInfo) DER, as in the response.
    token_der: Vec<u8>,
    /// The PKIStatus (0 or 1).
    status: u32,
    signed_data: SignedData,
    /// The eContent octets: the DER TSTInfo the message-digest attribute covers.
    tst_der: Vec<u8>,
    tst: TstInfo,
    /// The imprint hash algorithm.
    imprint_hash: Hash,
    /// The certificates carried by the token (X.509 ones only).
    certs: Vec<Certificate>,
    /// Index in `certs` of the signer's certificate.
    signer: Option<usize>,
    /// The SignerInfo's sid as text.
    signer_id: String,
}

fn malformed(what: impl std::fmt::Display) -> TimestampError {
    TimestampError::Malformed(what.to_string())
}

impl Token {
    /// Parses a DER `TimeStampResp` (what a TSA answers and what `.tsr` files hold). The status
    /// must be granted (0) or grantedWithMods (1), and the token a CMS SignedData over a
    /// TSTInfo. Checks structure only; see [`Token::verify_signature`].
    pub fn parse_response(bytes: &[u8]) -> Result<Token, TimestampError> {
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(malformed(format!(
                "{} bytes, more than the {MAX_RESPONSE_BYTES} accepted",
                bytes.len()
            )));
        }
        let resp = TimeStampResp::from_der(bytes)
            .map_err(|e| malformed(format!("not a DER TimeStampResp: {e}")))?;
        let status = resp
            .status
            .status
            .to_u32()
            .ok_or_else(|| malformed("PKIStatus out of range"))?;
        if status > 1 {
            let text = resp.status.status_string.map(|t| t.join("; "));
            return Err(TimestampError::NotGranted { status, text });
        }
        let token = resp
            .time_stamp_token
            .ok_or_else(|| malformed("status granted but no timeStampToken"))?;
        let token_der = token
            .to_der()
            .map_err(|e| malformed(format!("timeStampToken: {e}")))?;
        let content_info = ContentInfo::from_der(&token_der)
            .map_err(|e| malformed(format!("timeStampToken is not a CMS ContentInfo: {e}")))?;
        if content_info.content_type != asn1::ID_SIGNED_DATA {
            return Err(malformed(format!(
                "timeStampToken content type {} is not id-signedData",
                content_info.content_type
            )));
        }
        let signed_data = content_info
            .content
            .decode_as::<SignedData>()
            .map_err(|e| malformed(format!("not a CMS SignedData: {e}")))?;
        let eci = &signed_data.encap_content_info;
        if eci.econtent_type != asn1::ID_CT_TSTINFO {
            return Err(malformed(format!(
                "encapsulated content type {} is not id-ct-TSTInfo",
                eci.econtent_type
            )));
        }
        let econtent = eci
            .econtent
            .as_ref()
            .ok_or_else(|| malformed("the TSTInfo is not encapsulated (detached content)"))?;
        if econtent.tag() != Tag::OctetString {
            return Err(malformed("eContent is not an OCTET STRING"));
        }
        let tst_der = econtent.value().to_vec();
        let tst = TstInfo::from_der(&tst_der)
            .map_err(|e| malformed(format!("not a DER TSTInfo: {e}")))?;
        if tst.version != 1 {
            return Err(malformed(format!("TSTInfo version {}", tst.version)));
        }
        let imprint_hash = match Hash::from_alg(&tst.message_imprint.hash_algorithm) {
            Ok(h @ (Hash::Sha256 | Hash::Sha384 | Hash::Sha512)) => h,
            Ok(other) => {
                return Err(malformed(format!(
                    "unsupported imprint hash {}",
                    other.name()
                )));
            }
            Err(e) => return Err(malformed(format!("unsupported imprint hash {e}"))),
        };
        let imprint = tst.message_imprint.hashed_message.as_bytes();
        if imprint.len() != imprint_hash.len() {
            return Err(malformed(format!(
                "a {} imprint of {} bytes",
                imprint_hash.name(),
                imprint.len()
            )));
        }
        let signers = signed_data.signer_infos.0.len();
        if signers != 1 {
            return Err(malformed(format!(
                "{signers} SignerInfos; a time-stamp token has exactly one"
            )));
        }
        let mut certs = Vec::new();
        if let Some(set) = &signed_data.certificates {
            if set.0.len() > MAX_CERTIFICATES {
                return Err(malformed(format!(
                    "{} certificates in the token, more than {MAX_CERTIFICATES}",
                    set.0.len()
                )));
            }
            for choice in set.0.iter() {
                if let cms::cert::CertificateChoices::Certificate(c) = choice {
                    certs.push(c.clone());
                }
            }
        }
        let signer_info = signer_info(&signed_data)?;
        let signer = certs.iter().position(|c| identifies(&signer_info.sid, c));
        let (gen_time, gen_time_unix) = time::parse_gen_time(&tst.gen_time.0).map_err(malformed)?;
        let accuracy = match &tst.accuracy {
            None => None,
            Some(a) => {
                let millis = a.millis.unwrap_or(0);
                let micros = a.micros.unwrap_or(0);
                if millis > 999 || micros > 999 {
                    return Err(malformed("accuracy millis or micros out of 0..=999"));
                }
                Some(Accuracy {
                    seconds: a.seconds.unwrap_or(0),
                    millis,
                    micros,
                })
            }
        };
        let nonce = tst.nonce.as_ref().map(|n| {
            if n.is_negative() {
                n.0.clone()
            } else {
                n.magnitude().to_vec()
            }
        });
        let signer_id = match &signer_info.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => format!(
                "issuer {}, serial {}",
                ias.issuer,
                hex::encode(asn1::strip_zeros(ias.serial_number.as_bytes()))
            ),
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                format!("key id {}", hex::encode(ski.0.as_bytes()))
            }
        };
        let signer_text = match signer.and_then(|i| certs.get(i)) {
            Some(c) => c.tbs_certificate().subject().to_string(),
            None => format!("(certificate not in token; {signer_id})"),
        };
        let info = TokenInfo {
            gen_time,
            gen_time_unix,
            accuracy,
            serial: tst.serial_number.hex(),
            policy: tst.policy.to_string(),
            hash_algorithm: imprint_hash.name().to_string(),
            imprint: imprint.to_vec(),
            nonce,
            tsa_name: tst.tsa.as_ref().map(general_name_text),
            signer: signer_text,
        };
        Ok(Token {
            bytes: bytes.to_vec(),
            info,
            parsed: Box::new(Parsed {
                token_der,
                status,
                signed_data,
                tst_der,
                tst,
                imprint_hash,
                certs,
                signer,
                signer_id,
            }),
        })
    }

    /// The response bytes as given.
    pub fn response_der(&self) -> &[u8] {
        &self.bytes
    }

    /// The TimeStampToken alone (the CMS ContentInfo inside the response), DER.
    pub fn token_der(&self) -> &[u8] {
        &self.parsed.token_der
    }

    /// The DER TSTInfo (the signed content).
    pub fn tst_info_der(&self) -> &[u8] {
        &self.parsed.tst_der
    }

    /// The PKIStatus of the response: 0 (granted) or 1 (grantedWithMods).
    pub fn status(&self) -> u32 {
        self.parsed.status
    }

    /// What the token says.
    pub fn info(&self) -> &TokenInfo {
        &self.info
    }

    /// The signer's certificate as PEM, if the token carries it.
    pub fn signer_certificate_pem(&self) -> Option<String> {
        self.signer_certificate()
            .and_then(|c| c.to_pem(der::pem::LineEnding::LF).ok())
    }

    /// The signer's certificate as DER, if the token carries it.
    pub fn signer_certificate_der(&self) -> Option<Vec<u8>> {
        self.signer_certificate().and_then(|c| c.to_der().ok())
    }

    /// Every X.509 certificate the token carries, as PEM (in DER SET OF order, not
    /// necessarily the TSA's).
    pub fn certificates_pem(&self) -> Vec<String> {
        self.parsed
            .certs
            .iter()
            .filter_map(|c| c.to_pem(der::pem::LineEnding::LF).ok())
            .collect()
    }

    fn signer_certificate(&self) -> Option<&Certificate> {
        self.parsed.signer.and_then(|i| self.parsed.certs.get(i))
    }

    /// The token answers `request`: SHA-256 imprint equal and nonce equal.
    pub fn check_request(&self, request: &Request) -> Result<(), TimestampError> {
        let found = &self.info.imprint;
        if self.parsed.imprint_hash != Hash::Sha256 || found.as_slice() != request.imprint {
            return Err(TimestampError::ImprintMismatch {
                algorithm: Hash::Sha256.name().into(),
                expected: hex::encode(request.imprint),
                found: if self.parsed.imprint_hash == Hash::Sha256 {
                    hex::encode(found)
                } else {
                    format!("{}:{}", self.info.hash_algorithm, hex::encode(found))
                },
            });
        }
        match &self.parsed.tst.nonce {
            Some(n) if !n.is_negative() && n.magnitude() == asn1::strip_zeros(&request.nonce) => {
                Ok(())
            }
            _ => Err(TimestampError::NonceMismatch),
        }
    }

    /// The token's imprint is the hash (with the token's algorithm) of `message`.
    pub fn check_message(&self, message: &[u8]) -> Result<(), TimestampError> {
        let hash = self.parsed.imprint_hash;
        let expected = hash.digest(message);
        if expected != self.info.imprint {
            return Err(TimestampError::ImprintMismatch {
                algorithm: hash.name().into(),
                expected: hex::encode(expected),
                found: hex::encode(&self.info.imprint),
            });
        }
        Ok(())
    }

    /// The CMS signature: the signer certificate is in the token; the signed attributes hold
    /// content-type id-ct-TSTInfo, the message digest of the TSTInfo and an ESS
    /// signing-certificate(-v2) naming that certificate; the signature over them verifies; the
    /// certificate's extended key usage is exactly timeStamping, marked critical.
    pub fn verify_signature(&self) -> Result<(), TimestampError> {
        let cert = self.signer_certificate().ok_or_else(|| {
            TimestampError::BadSignature(format!(
                "the token does not carry the signer's certificate ({}); tokens must be \
                 requested with certReq, as Request does",
                self.parsed.signer_id
            ))
        })?;
        let si = signer_info(&self.parsed.signed_data)?;
        verify::check_tsa_certificate(cert)?;
        verify::check_signer_info(si, cert, &self.parsed.tst_der)
    }

    /// A certificate path from the signer to one of `anchors` (intermediates from the token),
    /// every signature valid, CA certificates marked CA, every certificate valid at genTime.
    ///
    /// The path ends at an anchor itself (the same certificate, byte for byte) or at a
    /// certificate an anchor issued (names match, signature verifies under the anchor's key);
    /// a certificate in the token that merely copies an anchor's subject and key is not an
    /// anchor. Issuing
    /// certificates, the anchor included, need basicConstraints cA (and keyCertSign when
    /// keyUsage is present); pathLenConstraint is honoured. Non-anchor certificates with an
    /// unsupported critical extension are refused. No revocation checking.
    pub fn verify_chain(&self, anchors: &TrustAnchors) -> Result<ChainInfo, TimestampError> {
        let cert = self.signer_certificate().ok_or_else(|| {
            TimestampError::Untrusted(format!(
                "the token does not carry the signer's certificate ({})",
                self.parsed.signer_id
            ))
        })?;
        verify::build_chain(
            cert,
            &self.parsed.certs,
            &anchors.certs,
            self.info.gen_time_unix,
        )
    }
}

/// The one SignerInfo (checked at parse).
fn signer_info(sd: &SignedData) -> Result<&SignerInfo, TimestampError> {
    match sd.signer_infos.0.as_slice() {
        [one] => Ok(one),
        _ => Err(malformed("a time-stamp token has exactly one SignerInfo")),
    }
}

/// `sid` names `cert`.
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            ias.issuer == *tbs.issuer() && ias.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => matches!(
            tbs.get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>(),
            Ok(Some((_, own))) if own == *ski
        ),
    }
}

/// A GeneralName as text: directoryName in RFC 4514, the others prefixed like OpenSSL does.
fn general_name_text(name: &GeneralName) -> String {
    match name {
        GeneralName::DirectoryName(n) => n.to_string(),
        GeneralName::DnsName(s) => format!("DNS:{}", s.as_str()),
        GeneralName::Rfc822Name(s) => format!("email:{}", s.as_str()),
        GeneralName::UniformResourceIdentifier(s) => format!("URI:{}", s.as_str()),
        GeneralName::IpAddress(ip) => match ip.as_bytes() {
            [a, b, c, d] => format!("IP:{a}.{b}.{c}.{d}"),
            b if b.len() == 16 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(b);
                format!("IP:{}", std::net::Ipv6Addr::from(octets))
            }
            b => format!("IP:{}", hex::encode(b)),
        },
        GeneralName::RegisteredId(oid) => format!("RID:{oid}"),
        GeneralName::OtherName(o) => format!("othername:{}", o.type_id),
        GeneralName::EdiPartyName(_) => "EdiPartyName".into(),
    }
}

/// Everything at once: parse, imprint of `message`, signature, and the chain if `anchors` is
/// given.
pub fn verify(
    response: &[u8],
    message: &[u8],
    anchors: Option<&TrustAnchors>,
) -> Result<(Token, Option<ChainInfo>), TimestampError> {
    let token = Token::parse_response(response)?;
    let chain = check_message_signature_chain(&token, message, anchors)?;
    Ok((token, chain))
}

/// What a TSA's fresh answer to `request` must be before it is kept: [`verify`]'s checks with
/// [`Token::check_request`] (imprint and nonce) before them, in the order parse, request,
/// imprint of `message`, signature, chain (when `anchors` is given). The HTTP exchange is the
/// caller's (`exhibit-capture`'s `tsa`): this crate does no I/O.
pub fn verify_answer(
    response: &[u8],
    request: &Request,
    message: &[u8],
    anchors: Option<&TrustAnchors>,
) -> Result<Token, TimestampError> {
    let token = Token::parse_response(response)?;
    token.check_request(request)?;
    check_message_signature_chain(&token, message, anchors)?;
    Ok(token)
}

/// The checks [`verify`] and [`verify_answer`] share, in their order.
fn check_message_signature_chain(
    token: &Token,
    message: &[u8],
    anchors: Option<&TrustAnchors>,
) -> Result<Option<ChainInfo>, TimestampError> {
    token.check_message(message)?;
    token.verify_signature()?;
    anchors.map(|a| token.verify_chain(a)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn1::TimeStampReq;

    #[test]
    fn request_der_decodes_as_a_time_stamp_req() {
        for nonce in [
            vec![0x01],
            vec![0x7f, 0xff],
            vec![0x80],
            vec![0xff; 8],
            vec![0, 0, 0x42],
        ] {
            let request = Request {
                imprint: [7; 32],
                nonce: nonce.clone(),
            };
            let der = request.to_der();
            let req = TimeStampReq::from_der(&der).expect("our own request decodes");
            assert_eq!(req.version, 1);
            assert!(req.cert_req);
            assert_eq!(req.req_policy, None);
            assert_eq!(req.extensions, None);
            assert_eq!(
                Hash::from_alg(&req.message_imprint.hash_algorithm),
                Ok(Hash::Sha256)
            );
            assert!(req.message_imprint.hash_algorithm.parameters.is_some());
            assert_eq!(req.message_imprint.hashed_message.as_bytes(), &[7; 32]);
            let n = req.nonce.as_ref().expect("nonce");
            assert!(!n.is_negative());
            assert_eq!(n.magnitude(), asn1::strip_zeros(&nonce));
            // The der crate encodes the same bytes.
            assert_eq!(req.to_der().ok(), Some(der));
        }
    }

    #[test]
    fn long_lengths() {
        assert_eq!(tlv(0x04, &[0; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 0x1234])[..4], [0x04, 0x82, 0x12, 0x34]);
    }
}
