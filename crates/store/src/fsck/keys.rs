//! The archive's keys: the public key loads, and the private key (when the archive has it) is
//! readable by its owner only and matches the public key.
//!
//! Not for verifying signatures: the record and checkpoint checks do that with the key loaded
//! here.

use std::io;

use super::Checker;
use crate::fsutil::Links;
use crate::layout::PUBLIC_KEY;
use crate::{Archive, StoreError};

impl<'a> Checker<'a> {
    pub(super) fn keys(&mut self) {
        match crate::key_history::read_keys(self.root, &self.archive.config.origin) {
            Ok(k) => {
                if k.stale_public_key {
                    self.fail(
                        "keys",
                        PUBLIC_KEY,
                        format!(
                            "is a retired key, not the current key {}: a rotation stopped \
                             after its statement; `exhibit key rotate --finish` completes it",
                            k.history.current().fingerprint
                        ),
                    );
                }
                self.public = Some(k.history);
            }
            Err(e) => self.fail(
                "keys",
                PUBLIC_KEY,
                format!("cannot load the archive's keys: {e}; signatures not checked"),
            ),
        }
        self.private_key();
    }

    /// The private key, when the archive has it (a copy checked elsewhere may not): readable
    /// by its owner only, and the key of `keys/signing.pub.pem` — a key that is not would sign
    /// records that never verify.
    pub(super) fn private_key(&mut self) {
        let archive: &'a Archive = self.archive;
        let path = archive.config.key_path(self.root);
        let shown = path
            .strip_prefix(self.root)
            .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
        // The mode from `stat`, which needs no permission to read the file: an auditor
        // running fsck as another user still sees a key others can read.
        let links = archive.key_links();
        let meta = match links {
            Links::Refuse => std::fs::symlink_metadata(&path),
            Links::Follow => std::fs::metadata(&path),
        };
        match meta {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Ok(m) if m.is_file() => {
                use std::os::unix::fs::PermissionsExt;
                let mode = m.permissions().mode() & 0o7777;
                if mode & 0o077 != 0 {
                    let e = exhibit_sign::KeyError::InsecurePermissions {
                        path: path.clone(),
                        mode,
                    };
                    self.fail("keys", shown, e.to_string());
                    return;
                }
            }
            // Anything else is reported by the load below.
            _ => {}
        }
        match crate::archive::load_private_key(&path, links) {
            Ok(key) => {
                if let Some(public) = self.public.as_ref().map(|h| &h.current().key)
                    && key.public_key() != *public
                {
                    let message = format!(
                        "does not match {PUBLIC_KEY}: its public key is {}, the archive's is {}; \
                         records it signed would never verify",
                        key.public_key().fingerprint(),
                        public.fingerprint()
                    );
                    self.fail("keys", shown, message);
                }
            }
            // Not ours to read (fsck run by another user): the match cannot be checked.
            Err(StoreError::Key(exhibit_sign::KeyError::Read { error, .. }))
                if matches!(
                    error.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied
                ) => {}
            Err(StoreError::Key(e @ exhibit_sign::KeyError::InsecurePermissions { .. })) => {
                self.fail("keys", shown, e.to_string())
            }
            Err(e) => self.fail("keys", shown, format!("cannot load the private key: {e}")),
        }
    }

    /// Each key statement names the tree it hands over (`log_size`, `log_root`): that tree must
    /// be this log's (a statement bound to another history is not this archive's handover).
    pub(super) fn key_statements_vs_log(&mut self) {
        let Some(keys) = &self.public else { return };
        let mut wrong = Vec::new();
        for s in keys.statements() {
            if !self.log_known || s.log_size > self.log_size {
                continue;
            }
            match self.catalog_root(s.log_size) {
                Ok(root) if root == s.log_root.0 => {}
                Ok(_) => wrong.push((
                    s.sequence,
                    format!(
                        "names the root of the log at size {}, but the log's root there differs: \
                         it hands over another history",
                        s.log_size
                    ),
                )),
                Err(e) => wrong.push((s.sequence, format!("cannot compute the log's root: {e}"))),
            }
        }
        for (n, message) in wrong {
            let rel = format!(
                "{}/{}",
                crate::layout::KEY_HISTORY_DIR,
                exhibit_core::key_statement::statement_file(n)
            );
            self.fail("keys", rel, message);
        }
    }
}
