//! Asking RFC 3161 Time-Stamp Authorities to timestamp signed checkpoints.
//!
//! After a checkpoint is signed, each TSA configured in `exhibit.toml` is sent a request over
//! the checkpoint note's exact bytes (SHA-256 imprint, random nonce, `certReq` true). An answer
//! is kept only when it is a granted token for this request whose signature and certificate
//! check out (and, when the TSA has a CA bundle configured, whose certificate chains to it).
//! A TSA that is down or answers garbage never fails the command: the checkpoint stays "not yet
//! timestamped" by that TSA, and [`timestamp_latest`] (run by `exhibit log timestamp` and at the
//! start of every capture) asks again.
//!
//! This module is an acquisition, like a capture: it asks a server over HTTP and keeps what
//! checks out in the archive. What a token must satisfy to be kept is not decided here but in
//! [`exhibit_timestamp::verify_answer`] (the RFC 3161 crate, which does no I/O, so the
//! standalone verifier that shares it needs no HTTP client).

use std::io::Read;
use std::time::Duration;

use exhibit_store::config::TsaEntry;
use exhibit_store::{Archive, SignedCheckpoint, StoredTimestamp};
use exhibit_timestamp::{MAX_RESPONSE_BYTES, Request, Token, TrustAnchors};

use crate::CaptureError;

/// The longest a TSA is waited for after a command signed a checkpoint: connecting, sending
/// and receiving the whole answer (TSAs are asked at the same time, so this bounds the delay).
pub const STAMP_BUDGET: Duration = Duration::from_secs(15);

/// The longest a retry before a capture waits for the TSAs (it must not hold up the capture:
/// the capture's own checkpoint is stamped at its end anyway).
pub const RETRY_BUDGET: Duration = Duration::from_secs(5);

/// What happened with one TSA for one checkpoint.
#[derive(Debug)]
pub enum TsaOutcome {
    /// A new token was checked and kept.
    Stamped(StoredTimestamp),
    /// The archive already held this TSA's token for the checkpoint.
    AlreadyHeld(StoredTimestamp),
    /// No token: why (one line).
    Failed(String),
}

/// One TSA's outcome.
#[derive(Debug)]
pub struct TsaReport {
    /// The TSA's configured name.
    pub tsa: String,
    /// Its URL.
    pub url: String,
    /// The checkpoint size asked about.
    pub size: u64,
    /// What happened.
    pub outcome: TsaOutcome,
}

/// Asks every configured TSA that has not yet stamped `checkpoint` for a token — all at once,
/// each for at most `budget` (and the archive's capture timeout) — and keeps each valid one.
/// Never fails because of a TSA; only archive errors are returned.
pub fn timestamp_checkpoint(
    archive: &mut Archive,
    checkpoint: &SignedCheckpoint,
    budget: Duration,
) -> Result<Vec<TsaReport>, CaptureError> {
    let tsas = archive.config().tsa.clone();
    if tsas.is_empty() {
        return Ok(Vec::new());
    }
    let held = archive.timestamps(checkpoint.size)?;
    let budget = budget
        .min(Duration::from_secs(archive.config().capture.timeout_secs))
        .max(Duration::from_secs(1));
    let agent = crate::asking::agent(budget, &archive.config().capture.user_agent);
    let root = archive.root().to_path_buf();
    let message = checkpoint.note.as_bytes();
    // Ask the TSAs that lack a token in parallel; record the answers afterwards, one by one.
    let asked: Vec<Option<&TsaEntry>> = tsas
        .iter()
        .map(|tsa| (!held.iter().any(|h| h.tsa == tsa.name)).then_some(tsa))
        .collect();
    let answers = crate::asking::in_parallel(&asked, |tsa| {
        request_token(&agent, &root, tsa, message, budget)
    });
    let mut reports = Vec::with_capacity(tsas.len());
    for (tsa, answer) in tsas.iter().zip(answers) {
        let outcome = match answer {
            None => match held.iter().find(|h| h.tsa == tsa.name) {
                Some(h) => TsaOutcome::AlreadyHeld(h.clone()),
                None => TsaOutcome::Failed("internal: no answer".into()),
            },
            Some(Ok(token)) => TsaOutcome::Stamped(archive.record_timestamp(
                checkpoint.size,
                &tsa.name,
                token.response_der(),
                &token.info().gen_time,
            )?),
            Some(Err(why)) => TsaOutcome::Failed(why),
        };
        reports.push(TsaReport {
            tsa: tsa.name.clone(),
            url: tsa.url.clone(),
            size: checkpoint.size,
            outcome,
        });
    }
    Ok(reports)
}

/// [`timestamp_checkpoint`] for the latest signed checkpoint (nothing when none was signed).
///
/// Only the latest checkpoint is asked for: it extends every earlier one, so one token over it
/// covers every record in the log, and a late token over an older checkpoint would state a
/// later time than the tokens it could replace.
pub fn timestamp_latest(
    archive: &mut Archive,
    budget: Duration,
) -> Result<Vec<TsaReport>, CaptureError> {
    match archive.latest_checkpoint()? {
        Some(cp) => timestamp_checkpoint(archive, &cp, budget),
        None => Ok(Vec::new()),
    }
}

/// Requests, fetches and checks one token over `message`. Every error is one line.
fn request_token(
    agent: &ureq::Agent,
    root: &std::path::Path,
    tsa: &TsaEntry,
    message: &[u8],
    budget: Duration,
) -> Result<Token, String> {
    let anchors = match tsa.read_ca(root) {
        Some(pem) => {
            let pem = pem.map_err(|e| format!("CA bundle: {e}"))?;
            Some(TrustAnchors::from_pem(&pem).map_err(|e| {
                format!(
                    "CA bundle {}: {e}",
                    tsa.ca_path(root).unwrap_or_default().display()
                )
            })?)
        }
        None => None,
    };
    let request = Request::new(message).map_err(|e| e.to_string())?;
    let response = agent
        .post(&tsa.url)
        .header("Content-Type", "application/timestamp-query")
        .header("Accept", "application/timestamp-reply")
        .send(&request.to_der()[..])
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", budget.as_secs()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".into()
            }
            other => other.to_string(),
        })?;
    let status = response.status();
    if status != 200 {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let mut body = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_RESPONSE_BYTES as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the answer: {e}"))?;
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(format!(
            "the answer is larger than {MAX_RESPONSE_BYTES} bytes"
        ));
    }
    exhibit_timestamp::verify_answer(&body, &request, message, anchors.as_ref())
        .map_err(|e| e.to_string())
}
