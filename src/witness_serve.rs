//! `exhibit witness serve` and `exhibit witness key`: running a witness (the service is
//! `exhibit_witness`; this module reads the arguments and prints).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use exhibit_sign::note::VerifierKey;
use exhibit_witness::state::Identity;
use exhibit_witness::{Server, StateError, Witness, check_listen};
use serde_json::json;

use crate::cli::WitnessServeArgs;
use crate::output::json_line;
use crate::{EXIT_OK, Failure};

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::of_error(e.is_bad_input(), e)
    }
}

/// `exhibit witness serve`: runs until interrupted.
///
/// Prints one line when it is ready, `<witness vkey> http://<address bound>` (the submission
/// prefix to give `exhibit witness add`), then one line on stderr per request.
pub fn serve(args: WitnessServeArgs) -> Result<u8, Failure> {
    let addrs = check_listen(&args.listen, args.public).map_err(Failure::bad_input)?;
    let mut logs = Vec::with_capacity(args.logs.len());
    for vkey in &args.logs {
        let key = VerifierKey::parse(vkey).map_err(|e| {
            Failure::bad_input(format!(
                "--log {:?}: {e} (expected a log's note verifier key, as `exhibit log key` \
                 prints it)",
                exhibit_core::manifest::shorten(vkey, 80)
            ))
        })?;
        logs.push(key);
    }
    let witness = Witness::open(&args.dir, args.name.as_deref(), &logs)?;
    let server = Server::bind(&addrs, witness)
        .map_err(|e| Failure {
            code: crate::EXIT_FAILED,
            message: format!("cannot listen on {}: {e}", args.listen),
        })?
        .with_log(Arc::new(|line: &str| {
            crate::output::eprint_line(&format!("exhibit witness: {line}"));
        }));
    let bound = server.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{} http://{bound}", server.witness().cosigner_key())?;
        out.flush()?;
    }
    server.run()?;
    Ok(EXIT_OK)
}

/// `exhibit witness key --dir DIR [--name NAME]`: prints the witness's vkey.
pub fn key(dir: &Path, name: Option<&str>, json: bool) -> Result<u8, Failure> {
    let identity = Identity::open(dir, name)?;
    let vkey = identity.cosigner.to_string();
    if json {
        json_line(&json!({ "vkey": vkey, "name": identity.name }))?;
    } else {
        writeln!(crate::output::text_stdout(), "{vkey}")?;
    }
    Ok(EXIT_OK)
}
