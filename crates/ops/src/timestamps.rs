//! Checking RFC 3161 material for the archive: a token against the checkpoint it stamps, and a
//! CA bundle given for a TSA. Not for asking TSAs (`exhibit-capture`'s `tsa`) nor for the
//! token format (`exhibit-timestamp`).

use std::path::Path;

use crate::OpsError;

/// Whether `response` (a DER `TimeStampResp`) is a token over exactly `data`: its imprint
/// only, so that a damaged token file is left out of a bundle. Its signature and chain are the
/// verifier's to judge (`trusted_time` is the archive's own trusted reading).
pub fn check_over(response: &[u8], data: &[u8]) -> Result<(), String> {
    exhibit_timestamp::Token::parse_response(response)
        .and_then(|t| t.check_message(data))
        .map_err(|e| e.to_string())
}

/// Reads a TSA CA bundle given on the command line and checks that it holds certificates.
pub fn read_ca_bundle(path: &Path) -> Result<Vec<u8>, OpsError> {
    let pem = exhibit_store::fsutil::read_limited(path, exhibit_store::config::MAX_CA_BYTES)
        .map_err(|e| OpsError::bad_input(format!("TSA CA bundle: {e}")))?;
    exhibit_timestamp::TrustAnchors::from_pem(&pem)
        .map_err(|e| OpsError::bad_input(format!("TSA CA bundle {}: {e}", path.display())))?;
    Ok(pem)
}

/// The time (Unix seconds) a trusted token over `note` says it existed by: trusted means
/// [`exhibit_timestamp::verify`] accepts it with the anchors of `ca_pem` (over the note's bytes,
/// its signature verifies and it chains to `ca_pem`).
pub(crate) fn trusted_time(ca_pem: &[u8], response: &[u8], note: &[u8]) -> Option<i64> {
    let anchors = exhibit_timestamp::TrustAnchors::from_pem(ca_pem).ok()?;
    exhibit_timestamp::verify(response, note, Some(&anchors))
        .ok()
        .map(|(token, _)| token.info().no_later_than_unix())
}
