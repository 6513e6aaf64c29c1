//! `exhibit-verify`: verifies an exhibit evidence bundle offline.
//!
//! Exit status: 0 verified with a pinned key; 1 something does not match; 2 the input could
//! not be read or is malformed; 3 every check passed but no trusted key was given.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use exhibit_verify::citation::read_citations;
use exhibit_verify::{Options, TrustedKey, answer_bundle};

/// Verify an exhibit evidence bundle (.tar.zst) offline, trusting only the keys you pin.
#[derive(Parser, Debug)]
#[command(name = "exhibit-verify", version, about, after_help = EXIT_HELP)]
struct Cli {
    /// The bundle file.
    bundle: PathBuf,
    /// A trusted signer: an SPKI PEM public key file, or a fingerprint (SHA256:…). Repeatable.
    #[arg(long = "key", value_name = "PEM|FINGERPRINT")]
    keys: Vec<String>,
    /// Check a citation record from a filing (a file, or - for stdin) against the bundle.
    /// Without --key its Signed-By line pins the signer; with --key it must name one of those
    /// keys.
    #[arg(long, value_name = "FILE|-")]
    citation: Option<String>,
    /// Say whether the bundle holds a record with this SHA-256 (8 to 64 hex digits).
    #[arg(long, value_name = "PREFIX")]
    hash: Option<String>,
    /// Check the bundle's RFC 3161 timestamps against these trusted TSA CA certificates (a PEM
    /// bundle; repeatable). Without it, timestamps are reported but not checked.
    #[arg(long = "tsa-ca", value_name = "PEM")]
    tsa_ca: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

const EXIT_HELP: &str = "Exit status: 0 verified (every check passed, every signer pinned); \
1 something does not match (a citation field differs or states a fact no field checks, a cited \
record or hash is not in the bundle, a signer is not a --key, a timestamp does not chain to \
--tsa-ca); 2 the input could not be read or is malformed (a citation that cannot be parsed); \
3 every check passed but no signer is pinned (no --key, and no Signed-By in the citation). \
With --key only those keys are trusted: a citation's Signed-By never adds one.";

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut options = Options::default();
    for k in &cli.keys {
        match TrustedKey::from_arg(k) {
            Ok(t) => options.trusted.push(t),
            Err(e) => return fail(&e.to_string()),
        }
    }
    match exhibit_verify::load_tsa_anchors(&cli.tsa_ca) {
        Ok(a) => options.tsa_anchors = a,
        Err(e) => return fail(&e.to_string()),
    }
    let citations = match cli.citation.as_deref().map(read_citations).transpose() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let prefix = match cli
        .hash
        .as_deref()
        .map(exhibit_core::HashPrefix::parse)
        .transpose()
    {
        Ok(p) => p,
        Err(e) => return fail(&format!("--hash: {e}")),
    };
    let answer = match answer_bundle(&cli.bundle, options, citations, prefix) {
        Ok(a) => a,
        Err(e) => return fail(&e.to_string()),
    };
    if cli.json {
        match serde_json::to_string(&answer.to_json()) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(&format!("output: {e}")),
        }
    } else {
        print!("{}", answer.render());
    }
    ExitCode::from(answer.verdict.exit_code())
}

fn fail(message: &str) -> ExitCode {
    // The message may quote an entry name or a line from the bundle: one line, made inert.
    eprintln!(
        "exhibit-verify: error: {}",
        exhibit_core::inert(&message.replace(['\n', '\r'], " "))
    );
    ExitCode::from(2)
}
