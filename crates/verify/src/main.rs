//! `exhibit-verify`: verifies an exhibit evidence bundle offline.
//!
//! Exit status: 0 verified with a pinned key; 1 something does not match; 2 the input could
//! not be read or is malformed; 3 every check passed but no trusted key was given.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use exhibit_verify::{Options, TrustedKey, verify_bundle};

/// Verify an exhibit evidence bundle (.tar.zst) offline, trusting only the keys you pin.
#[derive(Parser, Debug)]
#[command(name = "exhibit-verify", version, about, after_help = EXIT_HELP)]
struct Cli {
    /// The bundle file.
    bundle: PathBuf,
    /// A trusted signer: an SPKI PEM public key file, or a fingerprint (SHA256:…). Repeatable.
    #[arg(long = "key", value_name = "PEM|FINGERPRINT")]
    keys: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

const EXIT_HELP: &str = "Exit status: 0 verified (every check passed, every signer pinned); \
1 something does not match; 2 the input could not be read or is malformed; \
3 every check passed but no --key was given.";

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
    match verify_bundle(&cli.bundle, &options) {
        Ok(report) => {
            if cli.json {
                match serde_json::to_string(&report) {
                    Ok(s) => println!("{s}"),
                    Err(e) => return fail(&format!("output: {e}")),
                }
            } else {
                print!("{}", report.render());
            }
            ExitCode::from(report.verdict.exit_code())
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!(
        "exhibit-verify: error: {}",
        message.replace(['\n', '\r'], " ")
    );
    ExitCode::from(2)
}
