//! A small Chrome DevTools Protocol client over `--remote-debugging-pipe`: JSON messages, each
//! terminated by a NUL byte, written to the browser's descriptor 3 and read from its
//! descriptor 4.
//!
//! One reader thread splits and parses what the browser writes and routes it: a response to
//! the caller waiting for its `id`, an event to the queue of its session (flattened sessions:
//! `sessionId` on the message) or, for browser-level events, to every browser subscriber that
//! asked for that method. One writer thread writes commands, so that a caller never blocks on a
//! full pipe: every call waits for its response with its own deadline and gives up when it
//! passes. The reader never panics on what it reads: malformed JSON is counted and skipped, and
//! a message larger than [`MAX_MESSAGE`] is skipped and counted as malformed too (a call whose
//! answer it was times out). When the pipe closes, every pending and later call fails at once.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

/// The largest message the browser may send (bytes before the NUL). A full-page PNG at the
/// default 16,384-pixel height cap is rarely above 30 MB, 40 MB in base64; 128 MiB leaves room
/// for a noisy one without letting a runaway message take the machine's memory.
pub(crate) const MAX_MESSAGE: usize = 128 << 20;

/// How many events a subscriber's queue holds; later ones are dropped (and counted) until the
/// subscriber reads some.
const EVENT_QUEUE: usize = 4096;

/// Why a call failed.
#[derive(Debug, Clone)]
pub(crate) enum CdpError {
    /// No response within the call's deadline (the call is forgotten; a late response is
    /// dropped).
    Timeout {
        /// The method called.
        method: String,
        /// The deadline.
        after: Duration,
    },
    /// The connection is over (the browser exited, closed the pipe or sent something too
    /// large).
    Closed(String),
    /// The browser answered with an error.
    Protocol {
        /// The method called.
        method: String,
        /// The protocol's error code.
        code: i64,
        /// The protocol's error message.
        message: String,
    },
}

impl std::fmt::Display for CdpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CdpError::Timeout { method, after } => {
                write!(f, "{method}: no answer from the browser within {after:?}")
            }
            CdpError::Closed(reason) => write!(f, "the browser connection is closed: {reason}"),
            CdpError::Protocol {
                method,
                code,
                message,
            } => write!(f, "{method}: {message} ({code})"),
        }
    }
}

/// An event from the browser.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// The session it belongs to (`None`: the browser session).
    pub(crate) session: Option<String>,
    /// The method, e.g. `Page.loadEventFired`.
    pub(crate) method: String,
    /// Its parameters (`null` when absent).
    pub(crate) params: Value,
}

/// A command the reader thread sends by itself in answer to an event, without waiting for the
/// response (e.g. dismissing a JavaScript dialog the moment it opens, whoever is listening).
#[derive(Debug)]
pub(crate) struct Reply {
    /// The session to send it on (`None`: the browser session).
    pub(crate) session: Option<String>,
    /// The method.
    pub(crate) method: &'static str,
    /// Its parameters.
    pub(crate) params: Value,
}

/// Decides, on the reader thread, whether an event gets an immediate [`Reply`].
pub(crate) type Responder = fn(&Event) -> Option<Reply>;

/// A subscriber to browser-level events.
struct BrowserSubscriber {
    methods: &'static [&'static str],
    queue: SyncSender<Event>,
}

/// What the reader thread and the callers share.
#[derive(Default)]
struct Shared {
    next_id: u64,
    pending: HashMap<u64, (String, Sender<Result<Value, CdpError>>)>,
    sessions: HashMap<String, SyncSender<Event>>,
    browser: Vec<BrowserSubscriber>,
    closed: Option<String>,
    dropped_events: u64,
    malformed: u64,
}

/// A connection to one browser.
pub(crate) struct Connection {
    shared: Arc<Mutex<Shared>>,
    out: Sender<Vec<u8>>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Frames a command: its JSON and the terminating NUL.
fn frame(id: u64, session: Option<&str>, method: &str, params: Value) -> Vec<u8> {
    let mut message = json!({ "id": id, "method": method, "params": params });
    if let Some(session) = session {
        message["sessionId"] = Value::from(session);
    }
    let mut bytes = message.to_string().into_bytes();
    bytes.push(0);
    bytes
}

impl Connection {
    /// Starts the reader and writer threads on the browser's pipe: `input` is what the browser
    /// writes (its descriptor 4), `output` what it reads (its descriptor 3). The threads end
    /// when the browser closes its end (the reader) and when the connection and the reader are
    /// gone (the writer).
    pub(crate) fn start(
        input: impl Read + Send + 'static,
        output: impl Write + Send + 'static,
        responder: Responder,
    ) -> std::io::Result<Connection> {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (out, commands) = mpsc::channel::<Vec<u8>>();
        let writer_shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("cdp-writer".into())
            .spawn(move || write_loop(output, &commands, &writer_shared))?;
        let reader_shared = Arc::clone(&shared);
        let reader_out = out.clone();
        thread::Builder::new()
            .name("cdp-reader".into())
            .spawn(move || read_loop(input, &reader_shared, &reader_out, responder))?;
        Ok(Connection { shared, out })
    }

    /// Calls `method` (on `session`, or the browser session) and waits at most `timeout` for
    /// the result.
    pub(crate) fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        let (answer, response) = mpsc::channel();
        let id = {
            let mut shared = lock(&self.shared);
            if let Some(reason) = &shared.closed {
                return Err(CdpError::Closed(reason.clone()));
            }
            shared.next_id += 1;
            let id = shared.next_id;
            shared.pending.insert(id, (method.to_owned(), answer));
            id
        };
        if self.out.send(frame(id, session, method, params)).is_err() {
            lock(&self.shared).pending.remove(&id);
            return Err(self.closed_error());
        }
        match response.recv_timeout(timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.shared).pending.remove(&id);
                Err(CdpError::Timeout {
                    method: method.to_owned(),
                    after: timeout,
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.closed_error()),
        }
    }

    /// Sends `method` without waiting for (or keeping) the response.
    pub(crate) fn notify(&self, session: Option<&str>, method: &str, params: Value) {
        let id = {
            let mut shared = lock(&self.shared);
            if shared.closed.is_some() {
                return;
            }
            shared.next_id += 1;
            shared.next_id
        };
        let _ = self.out.send(frame(id, session, method, params));
    }

    /// The queue of `session`'s events, from now on (replacing any earlier subscription).
    pub(crate) fn subscribe_session(&self, session: &str) -> Receiver<Event> {
        let (queue, events) = mpsc::sync_channel(EVENT_QUEUE);
        let mut shared = lock(&self.shared);
        if shared.closed.is_none() {
            shared.sessions.insert(session.to_owned(), queue);
        }
        events
    }

    /// Stops queueing `session`'s events.
    pub(crate) fn unsubscribe_session(&self, session: &str) {
        lock(&self.shared).sessions.remove(session);
    }

    /// A queue of the browser-level events named in `methods`, from now on (it ends when the
    /// receiver is dropped).
    pub(crate) fn subscribe_browser(&self, methods: &'static [&'static str]) -> Receiver<Event> {
        let (queue, events) = mpsc::sync_channel(EVENT_QUEUE);
        let mut shared = lock(&self.shared);
        if shared.closed.is_none() {
            shared.browser.push(BrowserSubscriber { methods, queue });
        }
        events
    }

    /// Why the connection is closed, if it is.
    pub(crate) fn closed(&self) -> Option<String> {
        lock(&self.shared).closed.clone()
    }

    /// How many events were dropped because a queue was full, and how many messages were not
    /// JSON.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> (u64, u64) {
        let shared = lock(&self.shared);
        (shared.dropped_events, shared.malformed)
    }

    fn closed_error(&self) -> CdpError {
        CdpError::Closed(
            self.closed()
                .unwrap_or_else(|| "the browser connection ended".to_owned()),
        )
    }
}

/// Marks the connection closed and fails every pending call.
fn close(shared: &Mutex<Shared>, reason: String) {
    let mut shared = lock(shared);
    if shared.closed.is_none() {
        shared.closed = Some(reason.clone());
    }
    for (_, (_, answer)) in shared.pending.drain() {
        let _ = answer.send(Err(CdpError::Closed(reason.clone())));
    }
    shared.sessions.clear();
    shared.browser.clear();
}

fn write_loop(mut output: impl Write, commands: &Receiver<Vec<u8>>, shared: &Mutex<Shared>) {
    while let Ok(bytes) = commands.recv() {
        if let Err(e) = output.write_all(&bytes).and_then(|()| output.flush()) {
            close(shared, format!("writing to the browser failed: {e}"));
            return;
        }
    }
}

fn read_loop(
    mut input: impl Read,
    shared: &Mutex<Shared>,
    out: &Sender<Vec<u8>>,
    responder: Responder,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut message: Vec<u8> = Vec::new();
    // Inside a message larger than MAX_MESSAGE: its bytes are skipped up to its NUL, and it is
    // counted as malformed. A page can make one (a huge console.log or alert text); it must not
    // end the connection every other tab shares. A call whose answer it was times out.
    let mut discarding = false;
    let reason = 'read: loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break "the browser closed the pipe".to_owned(),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => break format!("reading from the browser failed: {e}"),
        };
        let mut chunk = &buffer[..n];
        while let Some(end) = chunk.iter().position(|&b| b == 0) {
            if discarding || message.len() + end > MAX_MESSAGE {
                lock(shared).malformed += 1;
                discarding = false;
            } else {
                message.extend_from_slice(&chunk[..end]);
                dispatch(&message, shared, out, responder);
            }
            chunk = &chunk[end + 1..];
            if message.capacity() > 1 << 20 {
                message = Vec::new();
            } else {
                message.clear();
            }
        }
        if discarding || message.len() + chunk.len() > MAX_MESSAGE {
            discarding = true;
            message = Vec::new();
            continue 'read;
        }
        message.extend_from_slice(chunk);
    };
    close(shared, reason);
}

/// Routes one message.
fn dispatch(bytes: &[u8], shared: &Mutex<Shared>, out: &Sender<Vec<u8>>, responder: Responder) {
    let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(bytes) else {
        lock(shared).malformed += 1;
        return;
    };
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let Some((method, answer)) = lock(shared).pending.remove(&id) else {
            return; // a late answer to a call that gave up, or to a notification
        };
        let result = match message.remove("error") {
            Some(error) => Err(CdpError::Protocol {
                method,
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
                    .to_owned(),
            }),
            None => Ok(message.remove("result").unwrap_or(Value::Null)),
        };
        let _ = answer.send(result);
        return;
    }
    let Some(Value::String(method)) = message.remove("method") else {
        lock(shared).malformed += 1;
        return;
    };
    let event = Event {
        session: match message.remove("sessionId") {
            Some(Value::String(session)) => Some(session),
            _ => None,
        },
        method,
        params: message.remove("params").unwrap_or(Value::Null),
    };
    if let Some(reply) = responder(&event) {
        let mut shared = lock(shared);
        shared.next_id += 1;
        let id = shared.next_id;
        drop(shared);
        let _ = out.send(frame(
            id,
            reply.session.as_deref(),
            reply.method,
            reply.params,
        ));
    }
    let mut shared = lock(shared);
    let shared = &mut *shared;
    match &event.session {
        Some(session) => {
            let full = match shared
                .sessions
                .get(session)
                .map(|q| q.try_send(event.clone()))
            {
                None | Some(Ok(())) => false,
                Some(Err(TrySendError::Full(_))) => true,
                Some(Err(TrySendError::Disconnected(_))) => {
                    shared.sessions.remove(session);
                    false
                }
            };
            if full {
                shared.dropped_events += 1;
            }
        }
        None => {
            let mut dropped = 0;
            shared.browser.retain(|subscriber| {
                if !subscriber.methods.contains(&event.method.as_str()) {
                    return true;
                }
                match subscriber.queue.try_send(event.clone()) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_)) => {
                        dropped += 1;
                        true
                    }
                    Err(TrySendError::Disconnected(_)) => false,
                }
            });
            shared.dropped_events += dropped;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn no_reply(_: &Event) -> Option<Reply> {
        None
    }

    /// A writer that discards everything.
    struct Sink;
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn malformed_input_does_not_panic_and_closes_on_eof() {
        let input: Vec<u8> = b"not json\0{\"id\":\"x\"}\0[1,2]\0{\"method\":5}\0\xff\xfe\0{\"id\":99,\"result\":{}}\0{\"method\":\"A.b\",\"sessionId\":\"s\"}\0trailing".to_vec();
        let connection = Connection::start(Cursor::new(input), Sink, no_reply).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while connection.closed().is_none() && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert!(connection.closed().is_some());
        assert!(connection.dropped().1 >= 4);
        let error = connection
            .call(
                None,
                "Browser.getVersion",
                json!({}),
                Duration::from_secs(1),
            )
            .unwrap_err();
        assert!(matches!(error, CdpError::Closed(_)), "{error}");
    }

    #[test]
    fn an_oversized_message_is_skipped_and_the_connection_lives_on() {
        // Endless bytes with no NUL: one message that never ends. It is skipped, not kept (no
        // memory grows), and the connection stays open; a call times out instead of failing.
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    // Then the pipe closes.
                    return Ok(0);
                }
                let n = (b.len() as u64).min(self.0) as usize;
                b[..n].fill(b'a');
                self.0 -= n as u64;
                Ok(n)
            }
        }
        let connection =
            Connection::start(Endless(MAX_MESSAGE as u64 + (1 << 20)), Sink, no_reply).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while connection.closed().is_none() && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        // It ended only because the pipe closed, not because of the size.
        let reason = connection.closed().unwrap();
        assert!(reason.contains("closed the pipe"), "{reason}");
    }
}
