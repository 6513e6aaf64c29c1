//! Capturing many sources at once: parallel preparation, one writer, grouped commits.
//!
//! `jobs` worker threads take sources from a shared iterator (a list file is read as it is
//! consumed, so a list of millions of lines is never held in memory). Each worker takes the
//! document's capture lock, then acquires the bytes, hashes and compresses them into the
//! object store and extracts the text — everything but recording. The calling thread is the
//! only writer: it records each prepared capture in the open batch as soon as it arrives
//! (numbering, chain links, catalog rows and log leaf; in grouped mode a thread of the batch's
//! own signs and writes the manifests), and commits the batch
//! when it is due (one catalog transaction and, on Linux, two `syncfs` calls per batch instead
//! of fsyncs per file; see [`exhibit_store::ObjectStore`]), then releases its captures' locks
//! and reports them. A capture is reported only after the batch that holds it is durable; a
//! batch that fails before its commit is abandoned whole, and none of it is reported.
//!
//! A batch is committed when it holds `max_batch` captures, when its oldest capture has waited
//! `max_wait`, or when no prepared capture arrives for a moment — so a worker waiting for the
//! lock of a document whose earlier capture sits in the batch is never stuck for long.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use exhibit_store::{Batch, CommittedCapture, DocumentLock, PendingCapture};

use crate::{CaptureError, Capturer, DocumentMeta, PrepareEnv, Source, document_url};

/// One source to capture, with what is known about its document.
#[derive(Debug, Clone)]
pub struct BatchItem {
    /// The source.
    pub source: Source,
    /// Its document's URL, entity, title and rules.
    pub meta: DocumentMeta,
    /// Where it came from, for messages (`list.tsv:12`, or the argument).
    pub origin: String,
}

/// How to run a batch capture.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Worker threads preparing captures (at least 1).
    pub jobs: usize,
    /// The most captures committed in one transaction.
    pub max_batch: usize,
    /// The longest a prepared capture waits before its batch is committed.
    pub max_wait: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_batch: 512,
            max_wait: Duration::from_millis(500),
        }
    }
}

/// What the batch reports as it goes.
#[derive(Debug)]
pub enum BatchEvent<'e> {
    /// A capture is committed and durable.
    Committed(&'e CommittedCapture),
    /// A source could not be captured and nothing was recorded for it (a missing file, a
    /// malformed URL or list line): the user's error.
    Skipped {
        /// Where the source came from.
        origin: &'e str,
        /// Why.
        error: &'e CaptureError,
    },
}

/// Totals of a batch capture.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchSummary {
    /// Captures committed (successful and failed-capture records).
    pub committed: usize,
    /// Of those, failed-capture records (the server answered with an error, or not at all).
    pub failed: usize,
    /// Sources skipped as bad input (nothing recorded).
    pub skipped: usize,
    /// Transactions committed.
    pub transactions: usize,
}

/// After this long with no prepared capture arriving, the pending batch is committed.
const IDLE_COMMIT: Duration = Duration::from_millis(50);

type Prepared = (String, Result<(PendingCapture, DocumentLock), CaptureError>);

impl Capturer<'_> {
    /// Captures every item of `items` (read lazily; an `Err` item is reported as skipped) with
    /// `options.jobs` workers, committing in batches, and calls `on_event` for each committed
    /// or skipped source, in commit order. Stops at the first archive error, or when
    /// `on_event` fails (nothing is lost: every reported capture is committed).
    pub fn capture_all<I>(
        &mut self,
        items: I,
        options: &BatchOptions,
        on_event: &mut dyn FnMut(BatchEvent<'_>) -> Result<(), CaptureError>,
    ) -> Result<BatchSummary, CaptureError>
    where
        I: Iterator<Item = Result<BatchItem, (String, CaptureError)>> + Send,
    {
        let jobs = options.jobs.max(1);
        let max_batch = options.max_batch.max(1);
        let objects = self.archive.shared_objects();
        objects.group_durability();
        let locks = self.archive.document_locks();
        let readers = (0..jobs)
            .map(|_| self.archive.catalog_reader())
            .collect::<Result<Vec<_>, _>>()?;
        let http = self.http.clone();
        // One browser for the whole batch, a tab per capture in flight (started on first use,
        // closed when the batch ends).
        let browser = crate::browser::SharedBrowser::new(self.browser.clone().unwrap_or_default());
        let browser_for_all = self.browser.is_some();
        let settings = self.settings.clone();
        let cwd = std::env::current_dir().ok();
        let items = Mutex::new(items);
        let texts = crate::TextCache::default();
        let stop = AtomicBool::new(false);
        let mut summary = BatchSummary::default();
        // Room for two whole batches, so that workers keep preparing while the writer commits
        // (a commit's `syncfs` can take as long as preparing a batch; with room for one, the
        // workers were seen blocked on a full channel, a core idle). A prepared capture is
        // small: its bytes are already in the object store.
        let (tx, rx) = mpsc::sync_channel::<Prepared>(2 * max_batch);
        // Each prepared capture holds its document's lock (a descriptor) until its batch
        // commits: up to three batches' worth, the open one and a full channel.
        reserve_descriptors(3 * max_batch + jobs + 64);

        std::thread::scope(|scope| -> Result<(), CaptureError> {
            for reader in readers {
                let tx = tx.clone();
                let (items, stop, locks, cwd) = (&items, &stop, &locks, &cwd);
                let env = PrepareEnv {
                    objects: &objects,
                    http: &http,
                    settings: &settings,
                    browser: &browser,
                    browser_for_all,
                    texts: Some(&texts),
                };
                scope.spawn(move || {
                    yield_to_writer();
                    while !stop.load(Ordering::Relaxed) {
                        let next = items.lock().unwrap_or_else(|p| p.into_inner()).next();
                        let Some(next) = next else { break };
                        let message = match next {
                            Err((origin, e)) => (origin, Err(e)),
                            Ok(item) => {
                                let cwd = cwd.as_deref();
                                let result = prepare_locked(&env, &reader, locks, cwd, &item);
                                (item.origin, result)
                            }
                        };
                        if tx.send(message).is_err() {
                            break;
                        }
                    }
                    // Done: let the writer see it before this worker closes its connection.
                    drop(tx);
                    drop(reader);
                });
            }
            drop(tx);
            let result = self.write_loop(&rx, max_batch, options.max_wait, &mut summary, on_event);
            if result.is_err() {
                // Workers stop at their next item; dropping the receiver unblocks any sender.
                stop.store(true, Ordering::Relaxed);
            }
            drop(rx);
            result
        })?;
        Ok(summary)
    }

    /// The single writer: receives prepared captures and records each in the open batch as it
    /// arrives (opening one for the first), commits the batch when it is due, then releases its
    /// document locks and reports its captures. So when the workers finish, only the last
    /// commit is left to do.
    fn write_loop(
        &mut self,
        rx: &mpsc::Receiver<Prepared>,
        max_batch: usize,
        max_wait: Duration,
        summary: &mut BatchSummary,
        on_event: &mut dyn FnMut(BatchEvent<'_>) -> Result<(), CaptureError>,
    ) -> Result<(), CaptureError> {
        loop {
            // No batch is open: wait for the first prepared capture of the next one.
            let first = loop {
                match rx.recv() {
                    Ok((_, Ok(prepared))) => break prepared,
                    Ok((origin, Err(e))) => skip(origin, e, summary, on_event)?,
                    Err(_) => return Ok(()),
                }
            };
            let opened = Instant::now();
            let mut held = Vec::new();
            let mut batch = self.archive.begin(&self.key)?;
            let filled = fill_batch(
                &mut batch,
                &mut held,
                first,
                rx,
                max_batch,
                opened + max_wait,
                summary,
                on_event,
            );
            let finished = match filled {
                Ok(finished) => finished,
                Err(e) => {
                    // Nothing of this batch was reported: its files go with its transaction.
                    batch.abandon();
                    return Err(e);
                }
            };
            let done = batch.commit()?;
            summary.transactions += 1;
            // The batch is durable: later captures of these documents may proceed.
            drop(held);
            for c in &done {
                summary.committed += 1;
                if !c.ok {
                    summary.failed += 1;
                }
                on_event(BatchEvent::Committed(c))?;
            }
            if finished {
                return Ok(());
            }
        }
    }
}

/// Records `first` and every prepared capture that follows in `batch`, keeping their document
/// locks in `held`, until the batch is due: it holds `max_batch` captures, `deadline` has
/// passed, no capture arrived for [`IDLE_COMMIT`], or the workers are done (then `true`).
#[allow(clippy::too_many_arguments)]
fn fill_batch(
    batch: &mut Batch<'_>,
    held: &mut Vec<DocumentLock>,
    first: (PendingCapture, DocumentLock),
    rx: &mpsc::Receiver<Prepared>,
    max_batch: usize,
    deadline: Instant,
    summary: &mut BatchSummary,
    on_event: &mut dyn FnMut(BatchEvent<'_>) -> Result<(), CaptureError>,
) -> Result<bool, CaptureError> {
    let mut next = Some(first);
    let mut last_arrival = Instant::now();
    loop {
        if let Some((pending, lock)) = next.take() {
            batch.add(pending)?;
            held.push(lock);
            if held.len() >= max_batch {
                return Ok(false);
            }
        }
        let now = Instant::now();
        if now >= deadline || now.duration_since(last_arrival) >= IDLE_COMMIT {
            return Ok(false);
        }
        // Polled, not waited for: a receiver blocked in `recv` makes every worker's `send`
        // take the channel's waker lock and wake it, and the woken writer (at a higher
        // priority) preempted the worker inside that lock — a convoy that left one of two
        // cores idle for milliseconds at a time (docs/PERFORMANCE.md).
        match rx.try_recv() {
            Ok((_, Ok(prepared))) => {
                next = Some(prepared);
                last_arrival = Instant::now();
            }
            Ok((origin, Err(e))) => {
                skip(origin, e, summary, on_event)?;
                last_arrival = Instant::now();
            }
            Err(TryRecvError::Empty) => std::thread::sleep(POLL),
            Err(TryRecvError::Disconnected) => return Ok(true),
        }
    }
}

/// How long the writer sleeps when no prepared capture is waiting.
const POLL: Duration = Duration::from_micros(500);

/// Reports a source that failed as bad input, or whose browser failed, as skipped (nothing is
/// recorded for it; the others go on); any other error (the archive's) is returned.
fn skip(
    origin: String,
    error: CaptureError,
    summary: &mut BatchSummary,
    on_event: &mut dyn FnMut(BatchEvent<'_>) -> Result<(), CaptureError>,
) -> Result<(), CaptureError> {
    if !error.is_bad_input() && !matches!(error, CaptureError::Browser(_)) {
        return Err(error);
    }
    summary.skipped += 1;
    on_event(BatchEvent::Skipped {
        origin: &origin,
        error: &error,
    })
}

/// Makes room for about `count` open descriptors before the workers start (Linux): raises the
/// soft open-file limit towards `count` if the hard limit allows (the common soft limit of
/// 1,024 is less than a batch's worth of held document locks), and grows the descriptor table
/// now. Growing it while several threads share it waits for an RCU grace period each time it
/// doubles, on whichever thread opens the descriptor that does not fit — milliseconds each,
/// seen as workers blocked in `expand_files` in profiles. Best effort.
fn reserve_descriptors(count: usize) {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let wanted = count as u64;
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current.is_some_and(|soft| soft < wanted) {
            let raised = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
            let new = rustix::process::Rlimit {
                current: Some(raised),
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, new).is_ok() {
                limit.current = Some(raised);
            }
        }
        let highest = wanted.min(limit.current.unwrap_or(u64::MAX).saturating_sub(1));
        if let (Ok(highest), Ok(file)) = (i32::try_from(highest), std::fs::File::open("/dev/null"))
        {
            // The duplicate is closed at once; the table keeps its size.
            drop(rustix::io::fcntl_dupfd_cloexec(&file, highest));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = count;
}

/// Lowers the calling worker thread's scheduling priority a little (Linux: the nice value is
/// per thread). The single writer then runs as soon as a prepared capture is waiting instead of
/// sharing a core evenly with a worker: with more workers than spare cores, an even share let
/// the writer fall behind and finish a long backlog alone after the workers were done (≈0.15 s
/// of a 0.7 s ingest on two cores, docs/PERFORMANCE.md). Best effort: a failure changes nothing.
fn yield_to_writer() {
    #[cfg(target_os = "linux")]
    if let Ok(nice) = rustix::process::getpriority_process(None) {
        let _ = rustix::process::setpriority_process(None, (nice + WORKER_NICENESS).min(19));
    }
}

/// How much lower a worker's priority is than the writer's (nice steps).
#[cfg(target_os = "linux")]
const WORKER_NICENESS: i32 = 5;

/// Takes the document's lock, then prepares the capture (on a worker thread). A relative file
/// path is taken relative to `cwd`, the working directory when the batch started.
fn prepare_locked(
    env: &PrepareEnv<'_>,
    reader: &exhibit_store::CatalogReader,
    locks: &exhibit_store::DocumentLocks,
    cwd: Option<&std::path::Path>,
    item: &BatchItem,
) -> Result<(PendingCapture, DocumentLock), CaptureError> {
    let given = &item.source;
    // A relative file path is resolved against the working directory looked up once for the
    // whole batch, not once per file (and twice: for its URL and for its manifest).
    let absolute = match (given, cwd) {
        (Source::File(p), Some(cwd)) if p.is_relative() => {
            std::path::absolute(cwd.join(p)).ok().map(Source::File)
        }
        _ => None,
    };
    let source = absolute.as_ref().unwrap_or(given);
    let prepared = prepare_source(env, reader, locks, source, &item.meta);
    prepared.map_err(|e| match (e, given) {
        // Name the file as the user did.
        (CaptureError::File { reason, .. }, Source::File(p)) => CaptureError::File {
            path: p.clone(),
            reason,
        },
        (e, _) => e,
    })
}

/// Takes the lock of the document `source` holds, then prepares the capture.
fn prepare_source(
    env: &PrepareEnv<'_>,
    reader: &exhibit_store::CatalogReader,
    locks: &exhibit_store::DocumentLocks,
    source: &Source,
    meta: &DocumentMeta,
) -> Result<(PendingCapture, DocumentLock), CaptureError> {
    let url = document_url(source, meta)?;
    let lock = locks.lock(&url)?;
    let rules = match &meta.rules {
        Some(r) => r.clone(),
        None => reader.rules_for_url(&url)?.unwrap_or_default(),
    };
    let previous = reader.previous_content(&url)?;
    let pending = env.prepare(source, meta, url, &rules, previous.as_ref())?;
    Ok((pending, lock))
}

/// The longest line of a list file, in bytes.
pub const MAX_LIST_LINE: usize = 64 * 1024;

/// Reads a capture list lazily: one source per line, optionally followed by tab-separated
/// `URL`, `ENTITY` and `TITLE` (empty fields mean "not given"); blank lines and lines whose
/// first non-blank character is `#` are skipped. Fields not given on a line fall back to
/// `defaults` (entity, title). Each bad line is an `Err` naming `name:line`; reading stops at
/// the first I/O error (reported as one).
pub fn read_list<R: std::io::BufRead>(
    reader: R,
    name: &str,
    defaults: &DocumentMeta,
) -> ListItems<R> {
    ListItems {
        reader,
        name: name.to_owned(),
        defaults: defaults.clone(),
        line: 0,
        done: false,
    }
}

/// The iterator of [`read_list`].
pub struct ListItems<R> {
    reader: R,
    name: String,
    defaults: DocumentMeta,
    line: u64,
    done: bool,
}

impl<R: std::io::BufRead> Iterator for ListItems<R> {
    type Item = Result<BatchItem, (String, CaptureError)>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::io::{BufRead, Read};
        let mut buf = Vec::new();
        loop {
            if self.done {
                return None;
            }
            buf.clear();
            self.line += 1;
            let origin = format!("{}:{}", self.name, self.line);
            let read = (&mut self.reader)
                .take(MAX_LIST_LINE as u64 + 1)
                .read_until(b'\n', &mut buf);
            match read {
                Ok(0) => {
                    self.done = true;
                    return None;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    let error = CaptureError::BadSource(format!("{origin}: cannot read: {e}"));
                    return Some(Err((origin, error)));
                }
            }
            if buf.len() > MAX_LIST_LINE && !buf.ends_with(b"\n") {
                // Skip the rest of the over-long line.
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    match (&mut self.reader)
                        .take(MAX_LIST_LINE as u64)
                        .read_until(b'\n', &mut rest)
                    {
                        Ok(0) => break,
                        Ok(_) if rest.ends_with(b"\n") => break,
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                let error = CaptureError::BadSource(format!(
                    "{origin}: line longer than {MAX_LIST_LINE} bytes"
                ));
                return Some(Err((origin, error)));
            }
            let Ok(text) = std::str::from_utf8(&buf) else {
                let error = CaptureError::BadSource(format!("{origin}: not UTF-8"));
                return Some(Err((origin, error)));
            };
            let text = text.strip_suffix('\n').unwrap_or(text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            let trimmed = text.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            return Some(
                parse_list_line(text, &self.defaults)
                    .map(|(source, meta)| BatchItem {
                        source,
                        meta,
                        origin: origin.clone(),
                    })
                    .map_err(|e| {
                        let error = CaptureError::BadSource(format!("{origin}: {e}"));
                        (origin, error)
                    }),
            );
        }
    }
}

/// Parses `SOURCE[<TAB>URL[<TAB>ENTITY[<TAB>TITLE]]]`.
fn parse_list_line(line: &str, defaults: &DocumentMeta) -> Result<(Source, DocumentMeta), String> {
    let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
    if fields.len() > 4 {
        return Err(format!(
            "{} tab-separated fields; a line is SOURCE, URL, ENTITY, TITLE",
            fields.len()
        ));
    }
    let field = |i: usize| {
        fields
            .get(i)
            .copied()
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
    };
    let raw = field(0).ok_or("no source before the first tab")?;
    if raw.chars().any(char::is_control) {
        return Err("the source contains control characters".into());
    }
    let source = Source::parse(&raw).map_err(|e| e.to_string())?;
    if source == Source::Stdin {
        return Err("stdin (-) cannot be a source in a list".into());
    }
    let url = field(1);
    if let Some(u) = &url {
        exhibit_core::url::normalize_document_url(u).map_err(|e| format!("URL: {e}"))?;
    }
    let meta = DocumentMeta {
        url,
        entity: field(2).or_else(|| defaults.entity.clone()),
        title: field(3).or_else(|| defaults.title.clone()),
        rules: defaults.rules.clone(),
    };
    for (what, value) in [
        ("URL", &meta.url),
        ("entity", &meta.entity),
        ("title", &meta.title),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.len() > exhibit_core::manifest::MAX_RECORDED_STRING)
        {
            return Err(format!(
                "{what} longer than {} bytes",
                exhibit_core::manifest::MAX_RECORDED_STRING
            ));
        }
    }
    Ok((source, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<Result<BatchItem, String>> {
        let defaults = DocumentMeta {
            entity: Some("Default Corp".into()),
            ..DocumentMeta::default()
        };
        read_list(text.as_bytes(), "list.tsv", &defaults)
            .map(|r| r.map_err(|(_, e)| e.to_string()))
            .collect()
    }

    #[test]
    fn lines_fields_comments_and_errors() {
        let got = items(
            "# a comment\n\n  \nhttps://a.example/p\n  # indented comment\r\n\
             https://b.example/x\thttps://b.example/privacy\tB Inc\tB Privacy\r\n\
             /tmp/file.html\t\t\tOnly a title\n\
             -\n\
             https://c.example/\ta\tb\tc\td\n\
             https://d.example/\tnot a url\n\
             ftp://e.example/\n\
             last-without-newline.html",
        );
        assert_eq!(got.len(), 8, "{got:?}");
        let a = got[0].as_ref().unwrap();
        assert_eq!(a.origin, "list.tsv:4");
        assert_eq!(a.meta.entity.as_deref(), Some("Default Corp"));
        assert!(a.meta.url.is_none());
        let b = got[1].as_ref().unwrap();
        assert_eq!(b.origin, "list.tsv:6");
        assert_eq!(b.meta.url.as_deref(), Some("https://b.example/privacy"));
        assert_eq!(b.meta.entity.as_deref(), Some("B Inc"));
        assert_eq!(b.meta.title.as_deref(), Some("B Privacy"));
        let c = got[2].as_ref().unwrap();
        assert_eq!(c.meta.title.as_deref(), Some("Only a title"));
        assert_eq!(c.meta.entity.as_deref(), Some("Default Corp"));
        assert!(got[3].as_ref().unwrap_err().contains("list.tsv:8: stdin"));
        assert!(
            got[4]
                .as_ref()
                .unwrap_err()
                .contains("list.tsv:9: 5 tab-separated")
        );
        assert!(got[5].as_ref().unwrap_err().contains("list.tsv:10: URL"));
        assert!(got[6].as_ref().unwrap_err().contains("list.tsv:11"));
        assert_eq!(got[7].as_ref().unwrap().origin, "list.tsv:12");
    }

    #[test]
    fn hostile_lists_are_bounded_and_never_panic() {
        let long = format!("{}\nhttps://ok.example/\n", "x".repeat(3 * MAX_LIST_LINE));
        let got = items(&long);
        assert_eq!(got.len(), 2);
        assert!(got[0].as_ref().unwrap_err().contains("longer than"));
        assert!(got[1].is_ok());
        let bad = items("\u{0}\u{1}\t\t\t\n\u{7f}");
        assert!(bad.iter().all(|r| r.is_err()), "{bad:?}");
        let mut bytes = b"https://a.example/\n".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let defaults = DocumentMeta::default();
        let got: Vec<_> = read_list(&bytes[..], "l", &defaults).collect();
        assert!(got[0].is_ok());
        assert!(got[1].as_ref().is_err());
    }
}
