//! The floor under `exhibit capture --list`: what storing the objects alone costs, with none of
//! the rest (no manifests, signatures, catalog, log, locks or fsyncs).
//!
//! For each file of a list (one path per line), on `--jobs` threads (default 2): read it, store
//! its bytes as an object (SHA-256 + BLAKE3 + zstd level 3, §6 of docs/FORMAT.md), extract its
//! text with the real extractor and store that as a second object when it differs — exactly the
//! object work a capture does. Objects are staged and published once at the end (grouped
//! durability). Prints the wall-clock seconds on stdout.
//!
//! ```text
//! cargo run --release -p exhibit-capture --example object_floor -- LIST DIR [--bytes-only] [--jobs N]
//! ```
//!
//! `bench/compare.sh` runs it beside the ingest benchmark, so the ratio of the object work alone
//! to the stock pipeline is printed next to the ratio of the whole capture.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use exhibit_store::ObjectStore;
use exhibit_text as text;

fn main() -> ExitCode {
    match run() {
        Ok(seconds) => {
            println!("{seconds:.3}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("object_floor: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<f64, String> {
    let mut args = std::env::args().skip(1);
    let (mut list, mut dir, mut bytes_only, mut jobs) = (None, None, false, 2usize);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bytes-only" => bytes_only = true,
            "--jobs" => {
                jobs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--jobs needs a positive number")?;
            }
            _ if list.is_none() => list = Some(PathBuf::from(arg)),
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let usage = "usage: object_floor LIST DIR [--bytes-only] [--jobs N]";
    let list = list.ok_or(usage)?;
    let dir = dir.ok_or(usage)?;
    let paths = std::fs::read_to_string(&list).map_err(|e| format!("{}: {e}", list.display()))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let store = ObjectStore::new(dir);
    store.group_durability();
    let next = Mutex::new(paths.lines());
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    loop {
                        let path = match next.lock() {
                            Ok(mut lines) => lines.next(),
                            Err(_) => return Err("a worker panicked".into()),
                        };
                        let Some(path) = path else { return Ok(()) };
                        store_one(&store, path, bytes_only)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| "a worker panicked".to_owned())?)
    })?;
    store.publish_staged().map_err(|e| e.to_string())?;
    Ok(started.elapsed().as_secs_f64())
}

fn store_one(store: &ObjectStore, path: &str, bytes_only: bool) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    store.put(&bytes).map_err(|e| format!("{path}: {e}"))?;
    if bytes_only {
        return Ok(());
    }
    let media_type = text::sniff_media_type(&bytes, Some(path));
    if let Some(extracted) = text::extract(&bytes, &media_type, None)
        && extracted.text.as_bytes() != bytes
    {
        store
            .put(extracted.text.as_bytes())
            .map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}
