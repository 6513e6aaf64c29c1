//! Builds a synthetic archive whose catalog holds N captures, for measuring look-ups at scale.
//!
//! ```text
//! cargo run --release -p exhibit-store --example synthetic_archive -- DIR N [SEED]
//! ```
//!
//! `DIR` is created with [`Archive::init`] (a real archive: key, config, schema), then the
//! catalog rows of N captures are inserted directly with SQL in one transaction. The catalog is
//! what this is about, so only a little is real on disk:
//!
//! * **Real:** every catalog table's rows (documents, versions, captures, provisions, counters),
//!   the Merkle log (`log_nodes`, `log/leaves`, one signed checkpoint over all leaves), and the
//!   text objects of the biggest document's versions, so that `exhibit history` on it runs for
//!   real (diffs included).
//! * **Absent:** the manifests (and their signatures) of every synthetic capture and provision,
//!   and every content object and every other text object. `exhibit fsck` reports all of them as
//!   missing; `show`/`verify` of a synthetic record find it through the catalog and then fail
//!   to read its manifest. To look up a record that is real end to end, capture a file on top
//!   (`bench/lookup.sh` does).
//!
//! The shape of the data does not depend on N except in size: documents are created as
//! captures go (about N/25 of them, each with 1 to 1,000 captures, most with a few), plus one
//! "heavy" document with `min(2000, N/5)` captures (a daily capture for five and a half years);
//! 3% of captures fail (half with an error body), 20% of successful captures open a new version,
//! half of the unchanged ones still have new bytes (HTML with a timestamp); one capture in 500
//! gets a provision. Capture times are spread over five years in commit order. All hashes are
//! random 64-hex values from a seeded generator, so a run is reproducible.
//!
//! Prints `key=value` lines on stdout (documents, captures, the heavy document's id and URL,
//! an existing content hash) for scripts.

use std::io::Write as _;
use std::path::PathBuf;

use exhibit_core::merkle::{self, MemoryTree, NodeSource as _};
use exhibit_core::{IdPrefix, RecordId, RecordKind, Sha256Digest};
use exhibit_store::{Archive, InitOptions, ObjectStore, layout};
use rusqlite::{Connection, params};

/// splitmix64: small, fast, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, n)`.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `[lo, hi]`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }
    fn hex(&mut self) -> String {
        Sha256Digest(self.bytes32()).to_hex()
    }
}

/// How many captures an ordinary document gets (mean ≈ 25, heavy tail up to 1,000).
fn captures_of_a_document(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..60 => rng.range(1, 10),
        60..90 => rng.range(11, 40),
        90..99 => rng.range(41, 150),
        _ => rng.range(151, 1000),
    }
}

struct Doc {
    num: u64,
    url: String,
    entity: String,
    title: String,
    created_at: String,
    current_version: Option<u64>,
    /// Text hash of the current version and content hash of the last successful capture.
    current_text: Option<(String, String, u64)>,
    last_content: Option<String>,
    last_capture: u64,
}

struct Version {
    num: u64,
    document: u64,
    text_sha256: String,
    opened_by: u64,
    opened_manifest_sha256: String,
    first_seen: String,
    last_seen: String,
    captures: u64,
}

const WORDS: &[&str] = &[
    "the",
    "service",
    "user",
    "agrees",
    "to",
    "terms",
    "data",
    "provider",
    "may",
    "shall",
    "content",
    "account",
    "liability",
    "privacy",
    "notice",
    "law",
    "any",
    "party",
    "rights",
    "access",
    "license",
    "termination",
    "without",
    "including",
    "limited",
    "reasonable",
    "use",
    "information",
    "third",
    "model",
    "output",
    "policy",
    "applicable",
    "consent",
    "request",
];

fn sentence(rng: &mut Rng) -> String {
    let n = rng.range(8, 24);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s.push('.');
    s
}

/// The heavy document's text: headed paragraphs, edited a little at each new version.
struct EvolvingText {
    paragraphs: Vec<String>,
}

impl EvolvingText {
    fn new(rng: &mut Rng) -> Self {
        let paragraphs = (0..30)
            .map(|_| {
                (0..rng.range(1, 3))
                    .map(|_| sentence(rng))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        EvolvingText { paragraphs }
    }
    fn edit(&mut self, rng: &mut Rng) {
        for _ in 0..rng.range(1, 3) {
            let i = rng.below(self.paragraphs.len() as u64) as usize;
            match rng.below(3) {
                0 => self.paragraphs[i] = sentence(rng),
                1 => self.paragraphs.insert(i, sentence(rng)),
                _ if self.paragraphs.len() > 10 => {
                    self.paragraphs.remove(i);
                }
                _ => self.paragraphs[i].push_str(&format!(" {}", sentence(rng))),
            }
        }
    }
    fn render(&self) -> String {
        let mut out = String::from("# Terms of Service\n\n");
        for (i, p) in self.paragraphs.iter().enumerate() {
            out.push_str(&format!("## {}. Section\n\n{p}\n\n", i + 1));
        }
        out
    }
}

fn usage() -> ! {
    eprintln!("usage: synthetic_archive DIR N [SEED]");
    std::process::exit(2);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(n)) = (args.first(), args.get(1)) else {
        usage()
    };
    let dir = PathBuf::from(dir);
    let n: u64 = n.parse().unwrap_or_else(|_| usage());
    let seed: u64 = args.get(2).map_or(Ok(42), |s| s.parse())?;
    let mut rng = Rng(seed);
    let started = std::time::Instant::now();

    let archive = Archive::init(
        &dir,
        InitOptions {
            origin: Some("synthetic.example".into()),
            ..InitOptions::default()
        },
    )?;
    let prefix = IdPrefix::new(&archive.config().prefix)?;
    // The bulk load needs the catalog to itself.
    drop(archive);
    let objects = ObjectStore::new(dir.join(layout::OBJECTS_DIR));
    let manifest_path =
        |kind: RecordKind, num: u64| layout::manifest_path(&RecordId::new(&prefix, kind, num));

    // Which document each capture slot belongs to, in commit order.
    let heavy = n.div_ceil(5).clamp(1, 2000);
    let mut plan: Vec<u64> = vec![heavy];
    let mut total = heavy;
    while total < n {
        let c = captures_of_a_document(&mut rng).min(n - total);
        plan.push(c);
        total += c;
    }
    let mut slots: Vec<u32> = Vec::with_capacity(n as usize);
    for (doc, &count) in plan.iter().enumerate() {
        slots.extend(std::iter::repeat_n(doc as u32, count as usize));
    }
    for i in (1..slots.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        slots.swap(i, j);
    }

    let mut conn = Connection::open(dir.join(layout::CATALOG_FILE))?;
    // A throw-away bulk load: no journal, no fsync. Archive::open sets WAL again.
    conn.pragma_update(None, "journal_mode", "OFF")?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    // Rows go in as they are generated (documents and versions last); checked at the end.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)?; // 256 MiB
    let tx = conn.transaction()?;

    let start = chrono::DateTime::parse_from_rfc3339("2021-01-01T00:00:00Z")?.to_utc();
    let span_secs: u64 = 5 * 365 * 86_400;
    let mut docs: Vec<Option<Doc>> = (0..plan.len()).map(|_| None).collect();
    let mut doc_order: Vec<usize> = Vec::new();
    let mut versions: Vec<Version> = Vec::new();
    let mut tree = MemoryTree::new();
    let mut heavy_rng = Rng(seed ^ 0x6865_6176_7900_0000);
    let mut heavy_text = EvolvingText::new(&mut heavy_rng);
    let mut provisions = 0u64;
    let mut probe_hash = None;
    {
        let mut insert_capture = tx.prepare(
            "INSERT INTO captures (num, document, version, ok, captured_at, method, status, \
             error, sha256, blake3, size, media_type, text_sha256, text_blake3, text_size, \
             manifest_sha256, manifest_path, log_index) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        let mut insert_provision = tx.prepare(
            "INSERT INTO provisions (num, document, version, capture, created_at, quote_sha256, \
             text_sha256, char_start, char_end, manifest_sha256, manifest_path, log_index) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for (i, &slot) in slots.iter().enumerate() {
            let num = i as u64 + 1;
            let at = exhibit_core::time::format_rfc3339_seconds(
                start + chrono::Duration::seconds((i as u64 * span_secs / n) as i64),
            );
            let doc = docs[slot as usize].get_or_insert_with(|| {
                doc_order.push(slot as usize);
                let dnum = doc_order.len() as u64;
                let site = rng.below((n / 500).max(4));
                Doc {
                    num: dnum,
                    url: format!("https://www.site{site}.example/legal/terms-{dnum}"),
                    entity: format!("Site {site} Ltd"),
                    title: format!("Terms of Service {dnum}"),
                    created_at: at.clone(),
                    current_version: None,
                    current_text: None,
                    last_content: None,
                    last_capture: 0,
                }
            });
            // The heavy document draws from its own generator, so that its history is the same
            // at every N and only the rest of the catalog grows.
            let is_heavy = slot == 0;
            let r = if is_heavy { &mut heavy_rng } else { &mut rng };
            let method = if r.chance(0.9) { "http" } else { "file" };
            let manifest_sha = r.hex();
            let log_index = tree.size();
            tree.push(merkle::leaf_hash(manifest_sha.as_bytes()));
            let ok = !r.chance(0.03);
            if ok {
                let media = match r.below(20) {
                    0..17 => "text/html",
                    17..19 => "application/pdf",
                    _ => "text/plain",
                };
                let new_version = doc.current_version.is_none() || r.chance(0.2);
                let (version, text) = if new_version {
                    let text = if is_heavy {
                        if doc.current_version.is_some() {
                            heavy_text.edit(r);
                        }
                        let o = objects.put(heavy_text.render().as_bytes())?;
                        (o.sha256.to_hex(), o.blake3.to_hex(), o.size)
                    } else {
                        (r.hex(), r.hex(), r.range(2_000, 60_000))
                    };
                    let vnum = versions.len() as u64 + 1;
                    versions.push(Version {
                        num: vnum,
                        document: doc.num,
                        text_sha256: text.0.clone(),
                        opened_by: num,
                        opened_manifest_sha256: manifest_sha.clone(),
                        first_seen: at.clone(),
                        last_seen: at.clone(),
                        captures: 1,
                    });
                    doc.current_version = Some(vnum);
                    doc.current_text = Some(text.clone());
                    (vnum, text)
                } else {
                    let vnum = doc.current_version.unwrap_or_default();
                    let v = &mut versions[vnum as usize - 1];
                    v.captures += 1;
                    v.last_seen = at.clone();
                    (vnum, doc.current_text.clone().unwrap_or_default())
                };
                let content = match (&doc.last_content, new_version || r.chance(0.5)) {
                    (Some(same), false) => same.clone(),
                    _ => r.hex(),
                };
                doc.last_content = Some(content.clone());
                probe_hash.get_or_insert_with(|| content.clone());
                insert_capture.execute(params![
                    num as i64,
                    doc.num as i64,
                    version as i64,
                    true,
                    at,
                    method,
                    (method == "http").then_some(200),
                    None::<String>,
                    content,
                    r.hex(),
                    r.range(5_000, 400_000) as i64,
                    media,
                    text.0,
                    text.1,
                    text.2 as i64,
                    manifest_sha,
                    manifest_path(RecordKind::Capture, num),
                    log_index as i64,
                ])?;
                if r.chance(0.002) {
                    provisions += 1;
                    let start = r.below(1_500);
                    let plog = tree.size();
                    let pman = r.hex();
                    tree.push(merkle::leaf_hash(pman.as_bytes()));
                    insert_provision.execute(params![
                        provisions as i64,
                        doc.num as i64,
                        version as i64,
                        num as i64,
                        at,
                        r.hex(),
                        text.0,
                        start as i64,
                        (start + r.range(50, 600)) as i64,
                        pman,
                        manifest_path(RecordKind::Provision, provisions),
                        plog as i64,
                    ])?;
                }
            } else {
                // A failure: half with an error body (a 503 page), half a timeout.
                let body = r.chance(0.5);
                insert_capture.execute(params![
                    num as i64,
                    doc.num as i64,
                    None::<i64>,
                    false,
                    at,
                    "http",
                    body.then_some(503),
                    if body {
                        "HTTP 503"
                    } else {
                        "timed out after 30 s"
                    },
                    body.then(|| r.hex()),
                    body.then(|| r.hex()),
                    body.then_some(1_024),
                    body.then_some("text/html"),
                    None::<String>,
                    None::<String>,
                    None::<i64>,
                    manifest_sha,
                    manifest_path(RecordKind::Capture, num),
                    log_index as i64,
                ])?;
            }
            doc.last_capture = num;
        }

        let mut insert_version = tx.prepare(
            "INSERT INTO versions (num, document, key_sha256, text_sha256, opened_by, \
             opened_manifest_sha256, first_seen, last_seen, captures) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for v in &versions {
            insert_version.execute(params![
                v.num as i64,
                v.document as i64,
                v.text_sha256,
                v.opened_by as i64,
                v.opened_manifest_sha256,
                v.first_seen,
                v.last_seen,
                v.captures as i64,
            ])?;
        }
        let mut insert_document = tx.prepare(
            "INSERT INTO documents (num, url, entity, title, created_at, current_version, \
             last_capture) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for &slot in &doc_order {
            let Some(d) = &docs[slot] else { continue };
            insert_document.execute(params![
                d.num as i64,
                d.url,
                d.entity,
                d.title,
                d.created_at,
                d.current_version.map(|v| v as i64),
                d.last_capture as i64,
            ])?;
        }
        // Every complete subtree of the log, as Batch::add would have left them.
        let mut insert_node =
            tx.prepare("INSERT INTO log_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?;
        let size = tree.size();
        let mut level = 0u8;
        while size >> level > 0 {
            for idx in 0..size >> level {
                let hash = tree.node(level, idx)?;
                insert_node.execute(params![level, idx as i64, &hash[..]])?;
            }
            level += 1;
        }
        let mut leaves =
            std::io::BufWriter::new(std::fs::File::create(dir.join(layout::LEAVES_FILE))?);
        for idx in 0..size {
            leaves.write_all(&tree.node(0, idx)?)?;
        }
        leaves.into_inner()?.sync_all()?;
        for (kind, last) in [
            ("D", doc_order.len() as u64),
            ("C", n),
            ("V", versions.len() as u64),
            ("P", provisions),
            ("L", size),
        ] {
            tx.execute(
                "UPDATE counters SET last = ?2 WHERE kind = ?1",
                params![kind, last as i64],
            )?;
        }
    }
    // As `reindex` leaves a catalog built in bulk: the search index merged.
    exhibit_store::optimize_search(&tx)?;
    tx.commit()?;
    let dangling: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })?;
    if dangling != 0 {
        return Err(format!("{dangling} rows break a foreign key").into());
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    drop(conn);
    objects.sync_dirty_dirs()?;

    // Reopen through the store, which also checks the schema, and sign a checkpoint over the
    // whole log (this reads the nodes just written: a wrong tree would fail here).
    let mut archive = Archive::open(&dir)?;
    let key = archive.signing_key()?;
    let cp = archive.sign_checkpoint(&key)?;

    let heavy_doc = docs[0].as_ref().map(|d| (d.num, d.url.clone()));
    let mut out = std::io::stdout().lock();
    writeln!(out, "archive={}", dir.display())?;
    writeln!(out, "captures={n}")?;
    writeln!(out, "documents={}", doc_order.len())?;
    writeln!(out, "versions={}", versions.len())?;
    writeln!(out, "provisions={provisions}")?;
    writeln!(out, "log_size={}", cp.size)?;
    if let Some((num, url)) = heavy_doc {
        writeln!(
            out,
            "biggest_document={}",
            archive.id(RecordKind::Document, num)
        )?;
        writeln!(out, "biggest_document_url={url}")?;
        writeln!(out, "biggest_document_captures={heavy}")?;
    }
    if let Some(h) = probe_hash {
        writeln!(out, "synthetic_content_sha256={h}")?;
    }
    writeln!(out, "seconds={:.1}", started.elapsed().as_secs_f64())?;
    Ok(())
}
