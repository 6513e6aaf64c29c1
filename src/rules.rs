//! Extraction rules per document (`document rules`, `capture --select/--remove`) and
//! `reextract`.

use std::path::Path;

use crate::Failure;
use crate::cli::{ReextractArgs, RulesArgs};

/// `exhibit document rules`.
pub fn rules(root: &Path, args: RulesArgs, json: bool) -> Result<u8, Failure> {
    let _ = (root, args, json);
    Err(Failure::bad_input("exhibit document rules: being written"))
}

/// `exhibit reextract`.
pub fn reextract(root: &Path, args: ReextractArgs, json: bool) -> Result<u8, Failure> {
    let _ = (root, args, json);
    Err(Failure::bad_input("exhibit reextract: being written"))
}
