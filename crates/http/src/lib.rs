//! Just enough HTTP/1.1 for exhibit's small services (the witness, `exhibit serve`): no async
//! runtime, a thread per connection, and limits on everything a client controls.
//!
//! - A [`Server`] listens on a `TcpListener` and serves each connection on its own thread, at
//!   most [`MAX_CONNECTIONS`] at once (more are answered `503` with `Retry-After`), with
//!   keep-alive and `Expect: 100-continue`, until its [`StopHandle`] stops it.
//! - A [`Handler`] decides: [`Handler::accept`] sees each request [`Head`] before any body is
//!   read and says how large a body it takes (or answers at once, and the connection closes);
//!   [`Handler::handle`] answers the whole [`Request`] with a [`Response`].
//! - Request heads are parsed by httparse, strictly, within [`MAX_HEAD_BYTES`] (else `431`);
//!   bodies are read only by `Content-Length` (a `Transfer-Encoding` is `411`); a request must
//!   arrive within [`REQUEST_DEADLINE`] and each read or write within [`IO_TIMEOUT`].
//! - Every response says its length, `Cache-Control: no-store` and `Connection`; its body is
//!   bytes or streamed from a reader in bounded memory ([`Body`]); a `HEAD` request gets the
//!   headers of the `GET` answer and no body.
//! - Each request is one line in an optional [`RequestLog`]: the peer, the method and path, the
//!   status and [`Response::summary`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use exhibit_http::{Handler, Head, Request, Response, Server, check_listen};
//!
//! struct Hello;
//!
//! impl Handler for Hello {
//!     fn accept(&self, head: &Head) -> Result<usize, Response> {
//!         match head.method.as_str() {
//!             "GET" | "HEAD" => Ok(0),
//!             _ => Err(Response::text(405, "only GET").with_header("Allow", "GET, HEAD")),
//!         }
//!     }
//!
//!     fn handle(&self, request: &Request) -> Response {
//!         let name = request.query("name").unwrap_or_else(|| "world".into());
//!         Response::text(200, &format!("hello, {name}"))
//!     }
//! }
//!
//! let server = Server::bind(&check_listen("127.0.0.1:8080", false)?, Arc::new(Hello))?
//!     .with_log(Arc::new(|line: &str| eprintln!("{line}")));
//! println!("http://{}", server.local_addr()?);
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

mod conn;
mod message;
mod server;

pub use message::{Body, Head, Request, Response};
pub use server::{Handler, RequestLog, Server, StopHandle, check_listen};

/// The largest request head read (request line and headers); a larger one is answered `431`.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The longest wait for any one read or write, including the wait for the next request on a
/// kept-alive connection.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a request may take to arrive, head and body (against one trickled a byte at a
/// time).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// The most connections served at once; more are answered `503` and closed.
pub const MAX_CONNECTIONS: usize = 64;
