//! Asking C2SP tlog-witnesses to cosign signed checkpoints (<https://c2sp.org/tlog-witness>).
//!
//! After a checkpoint is signed, each witness configured in `exhibit.toml` that has not cosigned
//! it is sent `add-checkpoint`: the size it last cosigned (the largest of its cosignature files;
//! 0 at first), the consistency proof from that size, and the checkpoint note. A `409` answer
//! tells the witness's real size, and the request is made once more with a proof from it. An
//! answer is kept only when it holds a `cosignature/v1` by the witness's configured key over
//! exactly this checkpoint, dated no later than a minute from now. (A witness whose size is
//! already the checkpoint's — its cosignature was lost here — is asked with that size and
//! cosigns again if the root is the same.) A witness that is down or
//! refuses never fails the command: [`cosign_latest`] (run by `exhibit log witness` and before
//! every capture) asks again, like a TSA.
//!
//! What a refusal means is said in words: a witness that has seen a larger tree, or another
//! root at this size, has seen a different history of this log — a fork, which is reported
//! as such.

use std::io::Read;
use std::time::Duration;

use exhibit_core::witness::{ADD_CHECKPOINT_PATH, AddCheckpoint, parse_size_body};
use exhibit_sign::cosignature::{CosignerKey, verify_cosignature_line};
use exhibit_store::config::WitnessEntry;
use exhibit_store::{Archive, SignedCheckpoint, StoredCosignature};

use crate::CaptureError;

/// The longest a witness is waited for after a command signed a checkpoint.
pub const COSIGN_BUDGET: Duration = Duration::from_secs(15);

/// The longest a retry before a capture waits for the witnesses.
pub const RETRY_BUDGET: Duration = Duration::from_secs(5);

/// How far in the future a cosignature's time may be (clock skew between the two machines).
pub const MAX_FUTURE_SKEW_SECS: u64 = 60;

/// The largest answer read from a witness.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// What happened with one witness for one checkpoint.
#[derive(Debug)]
pub enum WitnessOutcome {
    /// A new cosignature was checked and kept.
    Cosigned(StoredCosignature),
    /// The archive already held this witness's cosignature on the checkpoint.
    AlreadyHeld(StoredCosignature),
    /// No cosignature: why (one line).
    Failed(String),
}

/// One witness's outcome.
#[derive(Debug)]
pub struct WitnessReport {
    /// The witness's configured name.
    pub witness: String,
    /// Its URL.
    pub url: String,
    /// The checkpoint size asked about.
    pub size: u64,
    /// What happened.
    pub outcome: WitnessOutcome,
}

/// What one request got: a cosignature line, the witness's real size (409), or a refusal.
enum Answer {
    Line(String),
    Conflict(u64),
    Refused(String),
}

/// Asks every configured witness that has not cosigned `checkpoint` — all at once, each for at
/// most `budget` — and keeps each valid cosignature. Never fails because of a witness; only
/// archive errors are returned.
pub fn cosign_checkpoint(
    archive: &mut Archive,
    checkpoint: &SignedCheckpoint,
    budget: Duration,
) -> Result<Vec<WitnessReport>, CaptureError> {
    let witnesses = archive.config().witness.clone();
    if witnesses.is_empty() {
        return Ok(Vec::new());
    }
    let budget = budget
        .min(Duration::from_secs(archive.config().capture.timeout_secs))
        .max(Duration::from_secs(1));
    let agent = crate::asking::agent(budget, &archive.config().capture.user_agent);
    let size = checkpoint.size;
    // Each witness not yet done: the old size we believe it has, as the first request says.
    let mut outcomes: Vec<Option<WitnessOutcome>> = Vec::with_capacity(witnesses.len());
    let mut asking: Vec<(usize, u64)> = Vec::new();
    for (i, w) in witnesses.iter().enumerate() {
        if let Some(c) = archive.cosignature(size, &w.name)? {
            outcomes.push(Some(WitnessOutcome::AlreadyHeld(c)));
            continue;
        }
        outcomes.push(None);
        let old = archive.latest_cosigned(&w.name, size)?.unwrap_or(0);
        asking.push((i, old));
    }
    // Two rounds at most: the second for witnesses that answered 409 with their real size.
    for round in 0..2 {
        if asking.is_empty() {
            break;
        }
        let mut requests = Vec::with_capacity(asking.len());
        for &(i, old) in &asking {
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                archive.consistency_proof(old, size)?
            };
            let body = AddCheckpoint {
                old,
                proof,
                note: checkpoint.note.clone(),
            }
            .to_body();
            requests.push((i, body));
        }
        let asked: Vec<Option<&(usize, String)>> = requests.iter().map(Some).collect();
        let answers = crate::asking::in_parallel(&asked, |(i, body)| {
            ask(&agent, &witnesses[*i], body, &checkpoint.note, budget)
        });
        let mut again = Vec::new();
        for ((i, old), answer) in asking.iter().copied().zip(answers) {
            let answer = answer.unwrap_or_else(|| Err("not asked".into()));
            let w = &witnesses[i];
            outcomes[i] = Some(match answer {
                Ok(Answer::Line(line)) => {
                    WitnessOutcome::Cosigned(archive.record_cosignature(size, &w.name, &line)?)
                }
                Ok(Answer::Conflict(theirs)) if theirs > size => WitnessOutcome::Failed(format!(
                    "the witness has cosigned a larger tree ({theirs} leaves) of this log's origin than this log has ({size}): another history of the log (a fork), or another log under its name"
                )),
                // Its size again on the second try, or the size we sent: it holds another
                // tree of that size. (Its size equal to ours on the first try is asked again
                // with old = size: the same root is cosigned anew, another is a fork.)
                Ok(Answer::Conflict(theirs)) if theirs == old || round == 1 => {
                    WitnessOutcome::Failed(format!(
                        "the witness has cosigned another tree of {theirs} leaves: a different history of this log (a fork)"
                    ))
                }
                Ok(Answer::Conflict(theirs)) => {
                    again.push((i, theirs));
                    continue;
                }
                Ok(Answer::Refused(why)) | Err(why) => WitnessOutcome::Failed(why),
            });
        }
        asking = again;
    }
    let reports = witnesses
        .iter()
        .zip(outcomes)
        .map(|(w, outcome)| WitnessReport {
            witness: w.name.clone(),
            url: w.url.clone(),
            size,
            outcome: outcome.unwrap_or_else(|| WitnessOutcome::Failed("no answer".into())),
        })
        .collect();
    Ok(reports)
}

/// [`cosign_checkpoint`] for the latest signed checkpoint (nothing when none was signed): it
/// extends every earlier one, so its cosignature covers every record in the log.
pub fn cosign_latest(
    archive: &mut Archive,
    budget: Duration,
) -> Result<Vec<WitnessReport>, CaptureError> {
    match archive.latest_checkpoint()? {
        Some(cp) => cosign_checkpoint(archive, &cp, budget),
        None => Ok(Vec::new()),
    }
}

/// The `add-checkpoint` URL of a witness's submission prefix.
pub fn add_checkpoint_url(prefix: &str) -> String {
    format!("{}{ADD_CHECKPOINT_PATH}", prefix.trim_end_matches('/'))
}

/// Sends one request and reads the answer. Every error is one line.
fn ask(
    agent: &ureq::Agent,
    w: &WitnessEntry,
    body: &str,
    note: &str,
    budget: Duration,
) -> Result<Answer, String> {
    let key = w.key()?;
    let response = agent
        .post(&add_checkpoint_url(&w.url))
        .header("Content-Type", "text/plain; charset=utf-8")
        .send(body.as_bytes())
        .map_err(|e| match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", budget.as_secs()),
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused".into()
            }
            other => other.to_string(),
        })?;
    let status = response.status().as_u16();
    let mut answer = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(MAX_ANSWER_BYTES + 1)
        .read_to_end(&mut answer)
        .map_err(|e| format!("reading the answer: {e}"))?;
    if answer.len() as u64 > MAX_ANSWER_BYTES {
        return Err(format!("an answer larger than {MAX_ANSWER_BYTES} bytes"));
    }
    let said = || {
        let text = String::from_utf8_lossy(&answer);
        exhibit_core::Inert(text.lines().next().unwrap_or("").trim()).to_string()
    };
    Ok(match status {
        200 => Answer::Line(cosignature_line(&answer, note, &key)?),
        409 => match parse_size_body(&answer) {
            Some(size) => Answer::Conflict(size),
            None => Answer::Refused(format!(
                "HTTP 409 without a size: another root at this size (a fork): {}",
                said()
            )),
        },
        404 => Answer::Refused(format!(
            "HTTP 404: the witness does not follow this log's origin: {}",
            said()
        )),
        403 => Answer::Refused(format!(
            "HTTP 403: the witness does not trust the key that signed the checkpoint: {}",
            said()
        )),
        422 => Answer::Refused(format!(
            "HTTP 422: the witness found the checkpoint inconsistent with the tree it cosigned: {}",
            said()
        )),
        other => Answer::Refused(format!("HTTP {other}: {}", said())),
    })
}

/// The witness's cosignature line from a 200 answer: the first line by `key` (others are
/// ignored) that verifies over `note`'s checkpoint and is dated no later than
/// [`MAX_FUTURE_SKEW_SECS`] from now.
fn cosignature_line(answer: &[u8], note: &str, key: &CosignerKey) -> Result<String, String> {
    let text = std::str::from_utf8(answer).map_err(|_| "an answer that is not UTF-8".to_owned())?;
    let mine = |line: &&str| {
        let name = line
            .strip_prefix("\u{2014} ")
            .and_then(|r| r.split(' ').next());
        name == Some(key.name.as_str())
    };
    let lines: Vec<&str> = text.lines().filter(mine).collect();
    for line in &lines {
        // The line must be the key's (its key ID), not just its name.
        let Ok(time) = verify_cosignature_line(note, line, key) else {
            continue;
        };
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        if time > now + MAX_FUTURE_SKEW_SECS {
            return Err(format!(
                "a cosignature dated {} s in the future",
                time - now
            ));
        }
        return Ok(format!("{line}\n"));
    }
    Err(if lines.is_empty() {
        format!("HTTP 200 without a cosignature by {}", key)
    } else {
        format!(
            "HTTP 200 with a cosignature by {} that does not verify",
            key.name
        )
    })
}
