//! `exhibit serve`: the archive as web pages and feeds (the pages are `exhibit_web`, the HTTP
//! server `exhibit_http`; this module reads the arguments, prints the URL and runs them), with
//! change notifications delivered in the background and, for an archive in a bucket, what
//! other hosts committed fetched every `--refresh` seconds.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use exhibit_http::{Server, check_listen};
use exhibit_store::remote::{Access, Session};
use exhibit_web::Site;

use crate::cli::ServeArgs;
use crate::{EXIT_OK, Failure};

/// How often pending notifications are delivered while serving.
const DELIVER_EVERY: Duration = Duration::from_secs(30);

/// `exhibit serve`: runs until interrupted.
///
/// Prints one line when it is ready, `exhibit serve: http://<address>/ (<origin>; Ctrl-C
/// stops)`, then one line on stderr per request.
pub fn serve(root: &Path, args: ServeArgs) -> Result<u8, Failure> {
    let addrs = check_listen(&args.listen, args.public).map_err(Failure::bad_input)?;
    let site = Site::new(root)?;
    let config = exhibit_store::Archive::open(root)?.config().clone();
    let (origin, in_bucket) = (config.origin, config.store.is_some());
    let server = Server::bind(&addrs, Arc::new(site))
        .map_err(|e| Failure {
            code: crate::EXIT_FAILED,
            message: format!("cannot listen on {}: {e}", args.listen),
        })?
        .with_thread_name("serve-conn")
        .with_log(Arc::new(|line: &str| {
            crate::output::eprint_line(&format!("exhibit serve: {line}"));
        }));
    let bound = server.local_addr()?;
    if in_bucket && args.refresh > 0 {
        refresh_in_background(root, Duration::from_secs(args.refresh));
    }
    if !args.no_notify {
        crate::notify::spawn_delivery(root.to_path_buf(), DELIVER_EVERY);
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "exhibit serve: http://{bound}/ ({}; Ctrl-C stops)",
            exhibit_core::inert(&origin)
        )?;
        out.flush()?;
    }
    server.run()?;
    Ok(EXIT_OK)
}

/// Fetches what other hosts committed to the bucket every `every`, for as long as the process
/// runs; a failure is a warning and the next round tries again.
fn refresh_in_background(root: &Path, every: Duration) {
    let root = root.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("serve-refresh".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                match Session::start(&root, Access::Read) {
                    Ok(None) => {}
                    Ok(Some(session)) => {
                        if let Err(e) = session.finish() {
                            crate::output::eprint_line(&format!("exhibit serve: refresh: {e}"));
                        }
                    }
                    Err(e) => crate::output::eprint_line(&format!("exhibit serve: refresh: {e}")),
                }
            }
        });
    if let Err(e) = spawned {
        crate::output::eprint_line(&format!(
            "exhibit serve: cannot start fetching from the bucket: {e}"
        ));
    }
}
