//! Witness cosignatures (C2SP tlog-cosignature) on signed checkpoints.
//!
//! A cosignature is one note signature line, kept exactly as the witness sent it in
//! `log/checkpoints/<size>.checkpoint.<witness>.cosig`, beside the checkpoint it cosigns, so
//! that `cat <size>.checkpoint <size>.checkpoint.*.cosig` is the cosigned checkpoint, a signed
//! note any C2SP verifier reads. The files are the only record (no catalog rows): a witness
//! vouches for the checkpoint, not for the archive's index. This module stores and finds them;
//! asking a witness and checking its answer happen in `exhibit-capture`.

use crate::{Archive, StoreError, fsutil, layout};

/// The most bytes of a cosignature file read back (a line is about 150 bytes).
pub const MAX_COSIGNATURE_BYTES: u64 = 4096;

/// How many of the latest signed checkpoints [`Archive::latest_cosigned`] looks at: a witness
/// that cosigned none of them is asked as if new, and its answer (409) says its size.
pub const COSIGNED_LOOKBACK: u32 = 64;

/// A cosignature the archive holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCosignature {
    /// The size of the checkpoint it cosigns.
    pub size: u64,
    /// The witness's configured name.
    pub witness: String,
    /// The signature line, with its final newline.
    pub line: String,
}

impl Archive {
    /// Keeps the cosignature `line` (checked by the caller against the witness's key and the
    /// checkpoint's note) of the witness `witness` on the checkpoint of `size`, crash-safely. A
    /// cosignature already held for that checkpoint and witness is kept, and returned.
    pub fn record_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
    ) -> Result<StoredCosignature, StoreError> {
        let path = self.root().join(layout::cosignature_path(size, witness));
        if !path.exists() {
            match fsutil::write_atomic_new(&path, line.as_bytes()) {
                Ok(()) => fsutil::sync_dir(fsutil::parent_dir(&path))?,
                // Another process got there first: its cosignature is as good.
                Err(_) if path.exists() => {}
                Err(e) => return Err(e),
            }
        }
        let kept = fsutil::read_in_archive(&path, MAX_COSIGNATURE_BYTES)?;
        Ok(StoredCosignature {
            size,
            witness: witness.to_owned(),
            line: String::from_utf8_lossy(&kept).into_owned(),
        })
    }

    /// Every cosignature file held, in name order (by size, then witness): what a witness
    /// cosigned, as stored, not checked.
    pub fn cosignatures(&self) -> Result<Vec<StoredCosignature>, StoreError> {
        let dir = self.root().join(layout::CHECKPOINT_DIR);
        let mut names: Vec<String> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(StoreError::io(&dir, e)),
        };
        names.sort();
        let mut out = Vec::new();
        for name in &names {
            let Some(layout::CheckpointDirFile::Cosignature(size, witness)) =
                layout::parse_checkpoint_dir_name(name)
            else {
                continue;
            };
            let bytes = fsutil::read_in_archive(&dir.join(name), MAX_COSIGNATURE_BYTES)?;
            out.push(StoredCosignature {
                size,
                witness: witness.to_owned(),
                line: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        Ok(out)
    }

    /// The cosignature of the witness `witness` on the checkpoint of `size`, if the archive
    /// holds one (one file read, no listing: asked after every signed checkpoint).
    pub fn cosignature(
        &self,
        size: u64,
        witness: &str,
    ) -> Result<Option<StoredCosignature>, StoreError> {
        let path = self.root().join(layout::cosignature_path(size, witness));
        if !path.exists() {
            return Ok(None);
        }
        let line = fsutil::read_in_archive(&path, MAX_COSIGNATURE_BYTES)?;
        Ok(Some(StoredCosignature {
            size,
            witness: witness.to_owned(),
            line: String::from_utf8_lossy(&line).into_owned(),
        }))
    }

    /// The largest checkpoint size below `below` that the witness `witness` cosigned here,
    /// among the [`COSIGNED_LOOKBACK`] latest signed checkpoints (one existence check each,
    /// newest first: usually the first is it).
    pub fn latest_cosigned(&self, witness: &str, below: u64) -> Result<Option<u64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT size FROM checkpoints WHERE size < ?1 ORDER BY size DESC LIMIT ?2",
        )?;
        let sizes = stmt.query_map(rusqlite::params![below as i64, COSIGNED_LOOKBACK], |r| {
            r.get::<_, i64>(0)
        })?;
        for size in sizes {
            let size = size? as u64;
            if self
                .root()
                .join(layout::cosignature_path(size, witness))
                .exists()
            {
                return Ok(Some(size));
            }
        }
        Ok(None)
    }
}
