//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): cosigns the checkpoints of the logs it
//! follows, refusing any that is not consistent with the latest checkpoint it cosigned for the
//! same log.
//!
//! - [`Witness`] decides on an `add-checkpoint` request body, without sockets: it checks the
//!   log's signature, the old size and the consistency proof against its state, persists the
//!   new checkpoint, then cosigns it ([`Witness::add_checkpoint`] → [`Response`], the type of
//!   `exhibit_http`). Requests for one log are serialised; other logs' proceed.
//! - [`state`] is its directory: key (`witness.pem`), name, and one small file per log.
//! - [`Server`] serves it over HTTP/1.1 (`POST /add-checkpoint`) with `exhibit_http`: a thread
//!   per connection, heads and bodies within limits and deadlines.
//!
//! ```no_run
//! use exhibit_witness::{Server, Witness, check_listen};
//! use exhibit_sign::note::VerifierKey;
//!
//! let log = VerifierKey::parse("example.com/log+3b2c1c9f+AQ…")?;
//! let witness = Witness::open("witness-dir".as_ref(), Some("witness.example/w1"), &[log])?;
//! let server = Server::bind(&check_listen("127.0.0.1:7380", false)?, witness)?;
//! println!("{} http://{}", server.witness().cosigner_key(), server.local_addr()?);
//! server.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod server;
pub mod state;
mod witness;

pub use exhibit_http::{
    IO_TIMEOUT, MAX_CONNECTIONS, MAX_HEAD_BYTES, REQUEST_DEADLINE, RequestLog, Response,
    StopHandle, check_listen,
};
pub use server::Server;
pub use state::{DEFAULT_NAME, StateError};
pub use witness::{Refusal, TEXT_CONTENT_TYPE, Witness, check_consistency};
