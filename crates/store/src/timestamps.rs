//! RFC 3161 time-stamp tokens over signed checkpoints.
//!
//! A token is the TSA's DER `TimeStampResp`, kept exactly as received in
//! `log/checkpoints/<size>.checkpoint.<tsa>.tsr`, beside the checkpoint note it stamps, so that
//! `openssl ts -verify -data <size>.checkpoint -in <size>.checkpoint.<tsa>.tsr -CAfile CA`
//! checks it. The files are the truth; the catalog's `timestamps` table indexes them (which
//! checkpoint each TSA stamped, and when). This module stores and finds tokens; asking a TSA
//! and checking its answer happen in `exhibit-capture` and `exhibit-timestamp`.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use crate::config::Config;
use crate::log::SignedCheckpoint;
use crate::{Archive, StoreError, fsutil, layout};

/// The directory of TSA CA bundles copied into the archive (named in [`crate::layout`]).
pub use crate::layout::TSA_DIR;

/// The most bytes of a token file read back.
pub const MAX_TOKEN_BYTES: u64 = 256 * 1024;

/// `log/checkpoints/<size, 12 digits>.checkpoint.<tsa>.tsr` under the archive root `root_dir`
/// ([`layout::token_path`]).
pub fn token_path(root_dir: &Path, size: u64, tsa: &str) -> PathBuf {
    root_dir.join(layout::token_path(size, tsa))
}

/// A token the archive holds.
#[derive(Clone, Debug, Serialize)]
pub struct StoredTimestamp {
    /// The size of the checkpoint it stamps.
    pub size: u64,
    /// The TSA's name (as configured when the token was received).
    pub tsa: String,
    /// The token's genTime (RFC 3339, UTC).
    pub gen_time: String,
    /// The token file.
    pub path: PathBuf,
}

impl Archive {
    /// The signed checkpoint of a tree size, if one was issued.
    pub fn checkpoint(&self, size: u64) -> Result<Option<SignedCheckpoint>, StoreError> {
        self.checkpoint_where("size = ?1", size)
    }

    /// The earliest signed checkpoint that covers the first `min_size` leaves and has a token
    /// from at least one of the TSAs named in `tsas` (from any TSA when `tsas` is empty): the
    /// tightest "existed no later than" for those leaves.
    pub fn earliest_timestamped_checkpoint(
        &self,
        min_size: u64,
        tsas: &[String],
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT size, tsa FROM timestamps WHERE size >= ?1 ORDER BY size, tsa",
        )?;
        let mut rows = stmt.query([min_size as i64])?;
        while let Some(row) = rows.next()? {
            let size: i64 = row.get(0)?;
            let tsa: String = row.get(1)?;
            if tsas.is_empty() || tsas.contains(&tsa) {
                return self.checkpoint(size as u64);
            }
        }
        Ok(None)
    }

    fn checkpoint_where(
        &self,
        condition: &str,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!(
                    "SELECT size, root, note FROM checkpoints WHERE {condition} \
                     ORDER BY size LIMIT 1"
                ),
                [size as i64],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(size, root, note)| {
            let root = root.try_into().map_err(|_| StoreError::Corrupt {
                what: "catalog checkpoints".into(),
                message: format!("root of checkpoint {size} is not 32 bytes"),
            })?;
            Ok(SignedCheckpoint { size, root, note })
        })
        .transpose()
    }

    /// The largest checkpoint of at most `max_size` leaves that a TSA of `tsas` (any, when
    /// empty) stamped with a time before `before`, and that token. The catalog finds it; the
    /// caller checks the token (the catalog is an index).
    pub fn stamped_before(
        &self,
        max_size: u64,
        before: chrono::DateTime<chrono::Utc>,
        tsas: &[String],
    ) -> Result<Option<(SignedCheckpoint, StoredTimestamp)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT size, tsa, gen_time, file FROM timestamps WHERE size <= ?1 AND gen_time < ?2 \
             ORDER BY size DESC, tsa",
        )?;
        // The text comparison only narrows the scan (RFC 3339 UTC times sort as text, but for
        // fractions of a second in the same second); each candidate's time is parsed below.
        let before_text = exhibit_core::time::format_rfc3339_seconds(before);
        let mut rows = stmt.query(rusqlite::params![max_size as i64, before_text])?;
        while let Some(r) = rows.next()? {
            let stamp = StoredTimestamp {
                size: r.get::<_, i64>(0)? as u64,
                tsa: r.get(1)?,
                gen_time: r.get(2)?,
                path: self.root.join(r.get::<_, String>(3)?),
            };
            let in_time =
                chrono::DateTime::parse_from_rfc3339(&stamp.gen_time).is_ok_and(|t| t < before);
            if in_time && (tsas.is_empty() || tsas.contains(&stamp.tsa)) {
                return Ok(self.checkpoint(stamp.size)?.map(|cp| (cp, stamp)));
            }
        }
        Ok(None)
    }

    /// The tokens held for the checkpoint of `size`, by TSA name.
    pub fn timestamps(&self, size: u64) -> Result<Vec<StoredTimestamp>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT tsa, gen_time, file FROM timestamps WHERE size = ?1 ORDER BY tsa",
        )?;
        let rows = stmt.query_map([size as i64], |r| {
            Ok(StoredTimestamp {
                size,
                tsa: r.get(0)?,
                gen_time: r.get(1)?,
                path: self.root.join(r.get::<_, String>(2)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Reads a token file back (at most [`MAX_TOKEN_BYTES`]).
    pub fn read_timestamp(&self, stamp: &StoredTimestamp) -> Result<Vec<u8>, StoreError> {
        fsutil::read_in_archive(&stamp.path, MAX_TOKEN_BYTES)
    }

    /// Keeps a token that the caller has checked: the TSA `tsa`'s response over the note of the
    /// checkpoint of `size`, with its genTime. The file is written crash-safely before the
    /// catalog row; if a token of this TSA for this checkpoint is already held (another process
    /// got there first), that one is kept and returned.
    pub fn record_timestamp(
        &mut self,
        size: u64,
        tsa: &str,
        response: &[u8],
        gen_time: &str,
    ) -> Result<StoredTimestamp, StoreError> {
        let Some(checkpoint) = self.checkpoint(size)? else {
            return Err(StoreError::NotFound(format!(
                "no signed checkpoint of size {size}"
            )));
        };
        let rel = layout::token_path(size, tsa);
        let path = self.root.join(&rel);
        let mut gen_time = gen_time.to_owned();
        let mut ours = false;
        // The file is written inside the write transaction, so that `fsck --repair` (which
        // holds it while it removes token files the catalog does not list) never sees it
        // before its row.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !path.exists() {
            match fsutil::write_atomic_new(&path, response) {
                Ok(()) => {
                    fsutil::sync_dir(fsutil::parent_dir(&path))?;
                    ours = true;
                }
                // A concurrent process wrote it between the check and the rename.
                Err(_) if path.exists() => {}
                Err(e) => return Err(e),
            }
        }
        // The file is the truth: if another process (or a run that crashed before recording
        // it) left a token there, that one is kept, and the catalog gets *its* time.
        if !ours {
            let kept = fsutil::read_in_archive(&path, MAX_TOKEN_BYTES)?;
            if kept != response {
                match exhibit_timestamp::Token::parse_response(&kept)
                    .and_then(|t| t.check_message(checkpoint.note.as_bytes()).map(|()| t))
                {
                    Ok(t) => gen_time = t.info().gen_time.clone(),
                    Err(_) => {
                        // Not a token over this checkpoint (damaged): replace it with the good
                        // one.
                        fsutil::write_atomic_durable(&path, response)?;
                    }
                }
            }
        }
        tx.execute(
            "INSERT OR IGNORE INTO timestamps (size, tsa, gen_time, file) VALUES (?1, ?2, ?3, ?4)",
            params![size as i64, tsa, gen_time.as_str(), rel],
        )?;
        tx.commit()?;
        self.timestamps(size)?
            .into_iter()
            .find(|t| t.tsa == tsa)
            .ok_or_else(|| StoreError::Corrupt {
                what: "catalog timestamps".into(),
                message: format!("the token of {tsa} for checkpoint {size} was not recorded"),
            })
    }

    /// Changes the `[[tsa]]` and `[[witness]]` entries of `exhibit.toml` through `change` (which
    /// sees the current file), holding the archive's configuration lock so that concurrent edits
    /// are never lost, and writes the file back crash-safely. Only those tables are rewritten:
    /// comments and
    /// formatting elsewhere in the file are kept. The result is checked as [`Config::load`]
    /// would check it before anything is written.
    pub fn update_config(
        &mut self,
        change: impl FnOnce(&mut Config) -> Result<(), String>,
    ) -> Result<(), StoreError> {
        let path = self.root.join(layout::CONFIG_FILE);
        let _lock = self
            .document_locks()
            .lock(crate::locks::CONFIGURATION_LOCK)?;
        let mut config = Config::load(&self.root)?;
        change(&mut config).map_err(|message| StoreError::Config {
            path: path.clone(),
            message,
        })?;
        let bad = |message: String| StoreError::Config {
            path: path.clone(),
            message,
        };
        let text = String::from_utf8(fsutil::read_in_archive(&path, 1 << 20)?)
            .map_err(|_| bad("not UTF-8".into()))?;
        let mut doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| bad(e.message().to_owned()))?;
        let key = config
            .key
            .to_str()
            .ok_or_else(|| bad(format!("key {} is not UTF-8", config.key.display())))?;
        doc["key"] = toml_edit::value(key);
        if config.tsa.is_empty() {
            doc.remove("tsa");
        } else {
            let mut tables = toml_edit::ArrayOfTables::new();
            for t in &config.tsa {
                let mut table = toml_edit::Table::new();
                table["name"] = toml_edit::value(t.name.as_str());
                table["url"] = toml_edit::value(t.url.as_str());
                if let Some(ca) = &t.ca {
                    let ca = ca
                        .to_str()
                        .ok_or_else(|| bad(format!("tsa.ca {} is not UTF-8", ca.display())))?;
                    table["ca"] = toml_edit::value(ca);
                }
                tables.push(table);
            }
            doc["tsa"] = toml_edit::Item::ArrayOfTables(tables);
        }
        if config.witness.is_empty() {
            doc.remove("witness");
        } else {
            let mut tables = toml_edit::ArrayOfTables::new();
            for w in &config.witness {
                let mut table = toml_edit::Table::new();
                table["name"] = toml_edit::value(w.name.as_str());
                table["url"] = toml_edit::value(w.url.as_str());
                table["vkey"] = toml_edit::value(w.vkey.as_str());
                tables.push(table);
            }
            doc["witness"] = toml_edit::Item::ArrayOfTables(tables);
        }
        let text = doc.to_string();
        // Check what will be written, as Config::load would, so an invalid file is never written.
        let check: Config = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
        for t in &check.tsa {
            t.check().map_err(&bad)?;
        }
        for w in &check.witness {
            w.check().map_err(&bad)?;
        }
        if check != config {
            return Err(bad(
                "internal: the edited file does not read back as the intended configuration".into(),
            ));
        }
        fsutil::write_atomic_durable(&path, text.as_bytes())?;
        self.config = config;
        Ok(())
    }

    /// Copies a TSA CA bundle into the archive as `tsa/<name>.ca.pem`; returns that path,
    /// relative to the archive root, for the configuration.
    pub fn import_tsa_ca(&self, name: &str, pem: &[u8]) -> Result<PathBuf, StoreError> {
        let rel = PathBuf::from(layout::tsa_ca_path(name));
        let dirs = fsutil::create_dirs(&self.root.join(TSA_DIR))?;
        fsutil::write_atomic_durable(&self.root.join(&rel), pem)?;
        for d in dirs {
            fsutil::sync_dir(&d)?;
        }
        Ok(rel)
    }
}
