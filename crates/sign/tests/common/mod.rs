//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Is `tool` an executable on PATH? (Checked without running it: `ssh-keygen` with no
/// arguments would start generating a key.)
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// True if `tool` is available; otherwise prints why the test is skipped.
pub fn have(tool: &str, test: &str) -> bool {
    let ok = on_path(tool);
    if !ok {
        assert!(
            std::env::var_os("EXHIBIT_REQUIRE_TOOLS").is_none(),
            "{test}: `{tool}` is not on PATH, and EXHIBIT_REQUIRE_TOOLS is set (CI runs every check)"
        );
        eprintln!("SKIP {test}: `{tool}` is not on PATH");
    }
    ok
}

/// Run a command, returning its output (whatever the exit status).
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Run a command and require success; returns stdout.
pub fn run_ok(program: &str, args: &[&str]) -> Vec<u8> {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The shared test vector directory, `../shared/vectors` from the workspace root.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

#[cfg(unix)]
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
pub fn chmod(_path: &Path, _mode: u32) {}

/// An SPKI PEM for any 32 bytes, valid point or not (for feeding openssl).
pub fn spki_pem_for_raw(key: &[u8; 32]) -> String {
    use base64::Engine as _;
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    der.extend_from_slice(key);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}
