//! The witness's directory: its key, its name, and the latest cosigned checkpoint of each log.
//!
//! ```text
//! DIR/witness.pem          the Ed25519 key (PKCS#8 PEM, mode 0600), made on first use
//! DIR/name                 the witness's name and a newline, fixed on first use
//! DIR/lock                 held (advisory lock) by the one process serving from DIR
//! DIR/logs/<hex SHA-256 of the origin>
//!                          origin, size, base64 root, last cosignature time: one per line
//! ```
//!
//! Every file is replaced crash-safely (a synced temporary file in the same directory, renamed
//! into place, the directory synced), and read back strictly: a damaged log file is an error,
//! never a log the witness has not seen (which would let a forked log be cosigned).

use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use exhibit_core::checkpoint::{base64_decode, base64_encode};
use exhibit_sign::cosignature::CosignerKey;
use exhibit_sign::{KeyError, SigningKey};
use sha2::{Digest as _, Sha256};

/// The witness's name when none was ever given.
pub const DEFAULT_NAME: &str = "exhibit-witness";

/// The largest state or name file read (they are under 200 bytes).
const MAX_STATE_FILE: u64 = 4096;

/// An error of the witness's directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file or directory could not be read, written or synced.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// A state or name file is not what the witness writes.
    #[error("{}: damaged: {reason}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `--name` differs from the name the witness was first given.
    #[error(
        "the witness in {} is named {stored:?}, not {given:?} (its name cannot change: \
         logs know it by name and key)",
        dir.display()
    )]
    NameMismatch {
        /// The witness's directory.
        dir: PathBuf,
        /// The name it has.
        stored: String,
        /// The name given now.
        given: String,
    },
    /// The name is not a valid key name.
    #[error("invalid witness name {name:?}: it must be non-empty with no spaces and no `+`")]
    InvalidName {
        /// The name (shortened).
        name: String,
    },
    /// The witness's key could not be read or written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Another process serves from the directory.
    #[error("{} is in use by another witness process", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
}

impl StateError {
    /// Whether the error is the user's to fix (a name, a key file) rather than a failure of
    /// the machine or damaged state.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StateError::NameMismatch { .. }
                | StateError::InvalidName { .. }
                | StateError::Key(_)
                | StateError::Busy { .. }
        )
    }
}

/// The witness's identity: its name and key.
#[derive(Debug)]
pub struct Identity {
    /// The name cosignatures are made under.
    pub name: String,
    /// The private key.
    pub key: SigningKey,
    /// The public cosigner key (the witness's vkey, when displayed).
    pub cosigner: CosignerKey,
}

impl Identity {
    /// Opens the identity of the witness in `dir`, making the directory, the key and the name
    /// file on first use. `name` must equal the stored name, if there is one; without a
    /// stored name it becomes the name (default [`DEFAULT_NAME`]).
    pub fn open(dir: &Path, name: Option<&str>) -> Result<Identity, StateError> {
        if let Some(given) = name {
            check_name(given)?;
        }
        make_dir(dir)?;
        let key = open_key(&dir.join("witness.pem"))?;
        let name = open_name(dir, name)?;
        let cosigner =
            CosignerKey::new(&name, key.public_key()).map_err(|_| StateError::InvalidName {
                name: exhibit_core::manifest::shorten(&name, 80),
            })?;
        Ok(Identity {
            name,
            key,
            cosigner,
        })
    }
}

/// Takes the advisory lock of `dir` (`DIR/lock`) for as long as the returned file is open, so
/// that two processes never serve from one directory.
pub fn lock_dir(dir: &Path) -> Result<File, StateError> {
    make_dir(dir)?;
    let path = dir.join("lock");
    let io_err = |error| StateError::Io {
        path: path.clone(),
        error,
    };
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(StateError::Busy { path }),
        Err(fs::TryLockError::Error(e)) => Err(io_err(e)),
    }
}

/// The latest checkpoint the witness cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    /// The log's origin.
    pub origin: String,
    /// The tree size of the checkpoint.
    pub size: u64,
    /// Its root hash.
    pub root: [u8; 32],
    /// The time (UNIX seconds) of the latest cosignature made for the log; the next is never
    /// earlier.
    pub timestamp: u64,
}

impl LogState {
    /// The file's text: origin, size, base64 root, timestamp, each with a newline.
    fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n",
            self.origin,
            self.size,
            base64_encode(&self.root),
            self.timestamp
        )
    }

    /// Parses the file's text, strictly, for the log `origin`.
    fn parse(text: &str, origin: &str) -> Result<LogState, String> {
        let body = text.strip_suffix('\n').ok_or("no final newline")?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [found, size, root, timestamp] = lines[..] else {
            return Err(format!("{} lines, not 4", lines.len()));
        };
        if found != origin {
            return Err("the origin line is not the log's".into());
        }
        let size = decimal(size).ok_or("the size line is not a decimal number")?;
        let root = base64_decode(root)
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .filter(|r| base64_encode(r) == root)
            .ok_or("the root line is not a base64 32-byte hash")?;
        let timestamp = decimal(timestamp).ok_or("the time line is not a decimal number")?;
        Ok(LogState {
            origin: origin.to_owned(),
            size,
            root,
            timestamp,
        })
    }
}

/// The state file of the log `origin` in `dir`.
pub fn log_state_path(dir: &Path, origin: &str) -> PathBuf {
    let digest = Sha256::digest(origin.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join("logs").join(hex)
}

/// Reads the state of the log `origin`: `None` if the witness never cosigned for it, an error
/// if the file cannot be read or is damaged.
pub fn read_log_state(dir: &Path, origin: &str) -> Result<Option<LogState>, StateError> {
    let path = log_state_path(dir, origin);
    let Some(text) = read_small(&path)? else {
        return Ok(None);
    };
    LogState::parse(&text, origin)
        .map(Some)
        .map_err(|reason| StateError::Damaged { path, reason })
}

/// Replaces the state of the log `state.origin`, crash-safely; on return it is on disk.
pub fn write_log_state(dir: &Path, state: &LogState) -> Result<(), StateError> {
    let logs = dir.join("logs");
    make_dir(&logs)?;
    let path = log_state_path(dir, &state.origin);
    replace_file(&path, state.to_text().as_bytes(), true)
}

/// The stored name, or `given` (default [`DEFAULT_NAME`]) stored as the name.
fn open_name(dir: &Path, given: Option<&str>) -> Result<String, StateError> {
    let path = dir.join("name");
    let stored = match read_small(&path)? {
        Some(text) => Some(parse_name(&path, &text)?),
        None => None,
    };
    if let Some(stored) = stored {
        return match given {
            Some(given) if given != stored => Err(StateError::NameMismatch {
                dir: dir.to_path_buf(),
                stored,
                given: given.to_owned(),
            }),
            _ => Ok(stored),
        };
    }
    let name = given.unwrap_or(DEFAULT_NAME);
    check_name(name)?;
    match replace_file(&path, format!("{name}\n").as_bytes(), false) {
        Ok(()) => Ok(name.to_owned()),
        // Another process named it first: its name stands, and must agree with ours.
        Err(StateError::Io { error, .. }) if error.kind() == io::ErrorKind::AlreadyExists => {
            open_name(dir, given)
        }
        Err(e) => Err(e),
    }
}

/// Parses the name file: one valid key name and a newline.
fn parse_name(path: &Path, text: &str) -> Result<String, StateError> {
    let name = text
        .strip_suffix('\n')
        .filter(|n| valid_name(n))
        .ok_or_else(|| StateError::Damaged {
            path: path.to_path_buf(),
            reason: "not one valid key name and a newline".into(),
        })?;
    Ok(name.to_owned())
}

/// Refuses a name that cannot be a note key name.
fn check_name(name: &str) -> Result<(), StateError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(StateError::InvalidName {
            name: exhibit_core::manifest::shorten(name, 80),
        })
    }
}

/// A note key name: non-empty, no whitespace or control character, no `+` (as
/// `exhibit_sign::note` requires).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
}

/// Loads the key at `path`, or makes it (mode 0600, crash-safely) if there is none.
fn open_key(path: &Path) -> Result<SigningKey, StateError> {
    if path.symlink_metadata().is_ok() {
        return Ok(SigningKey::load(path)?);
    }
    let key = SigningKey::generate()?;
    match key.write_new(path) {
        Ok(()) => Ok(key),
        // Another process made it first: use that one.
        Err(KeyError::AlreadyExists { .. }) => Ok(SigningKey::load(path)?),
        Err(e) => Err(e.into()),
    }
}

/// Creates `dir` (mode 0700 on Unix) and its parents if missing.
fn make_dir(dir: &Path) -> Result<(), StateError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|error| StateError::Io {
        path: dir.to_path_buf(),
        error,
    })
}

/// Reads a small file as UTF-8 text; `None` if it does not exist.
fn read_small(path: &Path) -> Result<Option<String>, StateError> {
    let io_err = |error| StateError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    let damaged = |reason: &str| StateError::Damaged {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    if bytes.len() as u64 > MAX_STATE_FILE {
        return Err(damaged("too large"));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| damaged("not UTF-8"))
}

/// The prefix and suffix of the temporary files [`replace_file`] makes.
const TEMP_PREFIX: &str = ".exhibit-witness-";
const TEMP_SUFFIX: &str = ".tmp";

/// Removes the temporary files a process killed while writing left in `dir` and its `logs/`
/// (never a state file: those are renamed into place whole). Call with the directory's lock
/// held, so that no live writer's file is removed.
pub fn remove_leftovers(dir: &Path) -> Result<(), StateError> {
    for d in [dir.to_path_buf(), dir.join("logs")] {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(StateError::Io { path: d, error }),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                let path = entry.path();
                fs::remove_file(&path).map_err(|error| StateError::Io { path, error })?;
            }
        }
    }
    Ok(())
}

/// Puts `data` at `path` crash-safely: a temporary file in the same directory, synced, renamed
/// into place (replacing what is there if `replace`, else failing with `AlreadyExists`), then
/// the directory synced.
fn replace_file(path: &Path, data: &[u8], replace: bool) -> Result<(), StateError> {
    let io_err = |error| StateError::Io {
        path: path.to_path_buf(),
        error,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(io_err)?;
    tmp.write_all(data).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    if replace {
        tmp.persist(path).map_err(|e| io_err(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| io_err(e.error))?;
    }
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|error| StateError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    Ok(())
}

/// ASCII decimal without leading zeros (except `0`).
fn decimal(s: &str) -> Option<u64> {
    let canonical = s == "0" || (!s.is_empty() && !s.starts_with('0'));
    if canonical && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(size: u64) -> LogState {
        LogState {
            origin: "example.com/log".into(),
            size,
            root: [size as u8; 32],
            timestamp: 1_700_000_000 + size,
        }
    }

    #[test]
    fn log_state_round_trips_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_log_state(dir.path(), "example.com/log").unwrap(), None);
        write_log_state(dir.path(), &state(3)).unwrap();
        write_log_state(dir.path(), &state(7)).unwrap();
        assert_eq!(
            read_log_state(dir.path(), "example.com/log").unwrap(),
            Some(state(7))
        );
        assert_eq!(
            read_log_state(dir.path(), "other.example/log").unwrap(),
            None
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("logs")).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_damaged_log_state_is_an_error_never_a_fresh_log() {
        let dir = tempfile::tempdir().unwrap();
        write_log_state(dir.path(), &state(3)).unwrap();
        let path = log_state_path(dir.path(), "example.com/log");
        let good = fs::read_to_string(&path).unwrap();
        for bad in [
            String::new(),
            good.replace("\n3\n", "\n03\n"),
            good.replace("\n3\n", "\n-3\n"),
            good.trim_end().to_owned(),
            good.replace("example.com/log", "example.com/other"),
            format!("{good}extra\n"),
            good.replacen('A', "!", 1).replacen("Aw", "!w", 1),
            "\u{fffd}".repeat(2000),
        ] {
            fs::write(&path, &bad).unwrap();
            let e = read_log_state(dir.path(), "example.com/log").unwrap_err();
            assert!(matches!(e, StateError::Damaged { .. }), "{e} for {bad:?}");
            assert!(!e.is_bad_input());
        }
        fs::write(&path, [0xff, b'\n']).unwrap();
        assert!(read_log_state(dir.path(), "example.com/log").is_err());
    }

    #[test]
    fn the_name_is_fixed_on_first_use_and_the_key_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("w");
        let first = Identity::open(&w, None).unwrap();
        assert_eq!(first.name, DEFAULT_NAME);
        let again = Identity::open(&w, Some(DEFAULT_NAME)).unwrap();
        assert_eq!(again.key.public_key(), first.key.public_key());
        let e = Identity::open(&w, Some("witness.example/w1")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(DEFAULT_NAME) && text.contains("witness.example/w1"),
            "{text}"
        );
        assert!(e.is_bad_input());

        let named = dir.path().join("named");
        let id = Identity::open(&named, Some("witness.example/w1")).unwrap();
        assert_eq!(Identity::open(&named, None).unwrap().name, id.name);
        assert!(id.cosigner.to_string().starts_with("witness.example/w1+"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(named.join("witness.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        for bad in ["", "a b", "a+b", "a\nb"] {
            let dir = tempfile::tempdir().unwrap();
            let e = Identity::open(dir.path(), Some(bad)).unwrap_err();
            assert!(matches!(e, StateError::InvalidName { .. }), "{e}");
        }
    }

    #[test]
    fn one_process_per_directory() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_dir(dir.path()).unwrap();
        assert!(matches!(lock_dir(dir.path()), Err(StateError::Busy { .. })));
        drop(held);
        lock_dir(dir.path()).unwrap();
    }
}
