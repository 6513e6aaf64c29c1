//! The `exhibit` command-line tool: argument parsing and output. The work is done by the
//! `exhibit-*` library crates.

mod bucket;
mod bundle;
mod capture;
mod changes;
mod cite;
mod cli;
mod commands;
mod conventions;
mod fsck;
mod import;
mod keys;
mod log;
mod notify;
mod output;
mod reindex;
mod rules;
mod serve;
mod tsa;
mod vouch;
mod witness;
mod witness_serve;

use std::process::ExitCode;

use clap::Parser;

/// Exit status: everything worked.
pub const EXIT_OK: u8 = 0;
/// Exit status: something did not match, was not found or could not be captured.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: the input could not be read or is malformed (including usage errors).
pub const EXIT_BAD_INPUT: u8 = 2;

/// An error that ends the command, with the exit status it maps to.
#[derive(Debug)]
pub struct Failure {
    /// The exit status.
    pub code: u8,
    /// One line saying what went wrong.
    pub message: String,
}

impl Failure {
    /// A bad-input failure (exit 2).
    pub fn bad_input(message: impl Into<String>) -> Self {
        Failure {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    /// The failure of a library error that says whether it is bad input: bad input is the
    /// user's to fix (2); a missing record, damaged data or a failure of the machine (disk,
    /// database) means the command could not do its job (1).
    fn of_error(bad_input: bool, error: impl std::fmt::Display) -> Self {
        Failure {
            code: if bad_input {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILED
            },
            message: error.to_string(),
        }
    }
}

impl From<exhibit_store::StoreError> for Failure {
    fn from(e: exhibit_store::StoreError) -> Self {
        Failure::of_error(e.is_bad_input(), e)
    }
}

impl From<exhibit_ops::OpsError> for Failure {
    fn from(e: exhibit_ops::OpsError) -> Self {
        match e {
            exhibit_ops::OpsError::Store(s) => s.into(),
            other => Failure::of_error(other.is_bad_input(), other),
        }
    }
}

impl From<exhibit_capture::CaptureError> for Failure {
    fn from(e: exhibit_capture::CaptureError) -> Self {
        match e {
            exhibit_capture::CaptureError::Store(s) => s.into(),
            other => Failure::of_error(other.is_bad_input(), other),
        }
    }
}

impl From<exhibit_sign::KeyError> for Failure {
    fn from(e: exhibit_sign::KeyError) -> Self {
        Failure::bad_input(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader went away (`exhibit list | head`): stop quietly, as Unix tools do.
            return Failure {
                code: EXIT_OK,
                message: String::new(),
            };
        }
        Failure {
            code: EXIT_FAILED,
            message: format!("writing output: {e}"),
        }
    }
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(f) if f.message.is_empty() => ExitCode::from(f.code),
        Err(f) => {
            // One line, whatever the error chain contained.
            // Made inert: an error can quote a URL, a title or a file name from a capture.
            let line = f.message.replace(['\n', '\r'], " ");
            eprintln!("exhibit: error: {}", exhibit_core::inert(&line));
            ExitCode::from(f.code)
        }
    }
}
