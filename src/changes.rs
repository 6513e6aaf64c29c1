//! Change tracking: `history`, `documents` and `diff`.

use std::io::Write;
use std::path::Path;

use exhibit_store::Archive;
use serde_json::json;

use crate::cli::{DiffArgs, DocumentsArgs};
use crate::output::{self, json_line};
use crate::{EXIT_OK, Failure};

/// `exhibit history DOCUMENT`.
pub fn history(root: &Path, query: &str, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    history_of(&archive, query, json)
}

/// A document's change timeline.
pub fn history_of(archive: &Archive, query: &str, json: bool) -> Result<u8, Failure> {
    let d = archive.document(query)?;
    let versions = archive.versions(&d.id)?;
    if json {
        json_line(&json!({"document": d, "versions": versions}))?;
    } else {
        let mut o = std::io::stdout().lock();
        output::document_block(&d, &mut o)?;
        writeln!(o)?;
        if versions.is_empty() {
            writeln!(o, "No versions: no capture of this document succeeded yet.")?;
        } else {
            output::version_table(&versions, &mut o)?;
        }
    }
    Ok(EXIT_OK)
}

/// `exhibit documents`.
pub fn documents(root: &Path, args: DocumentsArgs, json: bool) -> Result<u8, Failure> {
    let _ = (root, args, json);
    Err(Failure::bad_input("exhibit documents: being written"))
}

/// `exhibit diff`.
pub fn diff(root: &Path, args: DiffArgs, json: bool) -> Result<u8, Failure> {
    let _ = (root, args, json);
    Err(Failure::bad_input("exhibit diff: being written"))
}
