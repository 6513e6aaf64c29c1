//! Extraction quality against the Open Terms Archive reference corpus.
//!
//! ```text
//! cargo run --release -p exhibit-text --example extraction_quality -- [CORPUS] [--rules FILE] [--dump DIR]
//! ```
//!
//! `CORPUS` defaults to `../shared/corpus` relative to the workspace root, `--rules` to
//! `bench/extraction-rules.toml`. When the corpus is absent the program says so and exits 0.
//!
//! Every `kind=html` row of `INDEX.tsv` names, in `snapshot_refs` (`version:<sha>`), the OTA
//! version commit that was extracted from that exact snapshot; the `kind=md` row with that
//! `commit` gives the reference Markdown. Each snapshot is extracted twice, without rules and
//! with the rules `bench/extraction-rules.toml` declares for its document (documents without
//! rules give the same text twice), and compared with the reference, word by word:
//!
//! - **words**: maximal runs of Unicode alphanumeric characters, case kept, so punctuation and
//!   Markdown syntax (`#`, `*`, `_`, `|`, `-`, `=`, `>`) vanish on both sides. From the reference,
//!   link targets (`[text](url)` keeps `text`), images (`![alt](src)`, alt included: we drop
//!   images too) and `<br>` tags are removed first.
//! - **recall** = LCS / reference words: how much of the reference we recover, in order;
//! - **extra** = (our words − LCS) / our words: how much of our text the reference does not have.
//!
//! The LCS is exact: an O(ND) Myers diff over word ids (after trimming the common prefix and
//! suffix) while the edit distance D stays under a bound, else a bit-parallel LCS
//! (Crochemore et al.), O(N·M/64) time and O(M/64) memory.
//!
//! **Version agreement**: within a document, two consecutive snapshots whose reference Markdown
//! is byte-identical are "the same version" for the reference; we *split* such a pair when our
//! texts differ (a spurious new version). Pairs whose references differ but our texts are equal
//! are *merged* (a missed change).

#[path = "../tests/support/markdown.rs"]
mod markdown;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use exhibit_core::Sha256Digest;
use exhibit_core::manifest::ExtractionRules;
use exhibit_text::{extract_with, normalize_text};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("extraction_quality: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    corpus: PathBuf,
    rules: PathBuf,
    dump: Option<PathBuf>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn parse_args() -> Result<Args, String> {
    let root = workspace_root();
    let mut args = Args {
        corpus: root.join("../shared/corpus"),
        rules: root.join("bench/extraction-rules.toml"),
        dump: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--rules" => args.rules = it.next().ok_or("--rules needs a file")?.into(),
            "--dump" => args.dump = Some(it.next().ok_or("--dump needs a directory")?.into()),
            "-h" | "--help" => {
                println!(
                    "usage: extraction_quality [CORPUS] [--rules FILE] [--dump DIR]\n\
                     CORPUS defaults to ../shared/corpus (relative to the workspace root)"
                );
                std::process::exit(0);
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            other => args.corpus = other.into(),
        }
    }
    Ok(args)
}

/// One html snapshot paired with its reference Markdown.
struct Pair {
    service: String,
    doc_type: String,
    date: String,
    html_path: String,
    md_path: String,
}

fn read_index(corpus: &Path) -> Result<Vec<Pair>, String> {
    let tsv = std::fs::read_to_string(corpus.join("INDEX.tsv"))
        .map_err(|e| format!("{}: {e}", corpus.join("INDEX.tsv").display()))?;
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or("INDEX.tsv is empty")?
        .split('\t')
        .collect();
    let rows: Vec<HashMap<&str, &str>> = lines
        .filter(|l| !l.is_empty())
        .map(|l| header.iter().copied().zip(l.split('\t')).collect())
        .collect();
    let md_by_commit: HashMap<&str, &str> = rows
        .iter()
        .filter(|r| r.get("kind") == Some(&"md"))
        .filter_map(|r| Some((*r.get("commit")?, *r.get("path")?)))
        .collect();
    let mut pairs = Vec::new();
    for r in rows.iter().filter(|r| r.get("kind") == Some(&"html")) {
        let field = |k: &str| r.get(k).copied().unwrap_or("").to_owned();
        let Some(md_path) = r
            .get("snapshot_refs")
            .and_then(|s| s.strip_prefix("version:"))
            .and_then(|sha| md_by_commit.get(sha))
        else {
            eprintln!("warning: no reference for {}", field("path"));
            continue;
        };
        pairs.push(Pair {
            service: field("service"),
            doc_type: field("document_type"),
            date: field("date"),
            html_path: field("path"),
            md_path: (*md_path).to_owned(),
        });
    }
    pairs.sort_by(|a, b| {
        (&a.service, &a.doc_type, &a.date).cmp(&(&b.service, &b.doc_type, &b.date))
    });
    Ok(pairs)
}

// ------------------------------------------------------------------------------------- rules

/// A `[[document]]` entry of the rules file.
#[derive(Default)]
struct RuleEntry {
    service: Option<String>,
    doc_type: Option<String>,
    path: Option<String>,
    rules: ExtractionRules,
}

impl RuleEntry {
    fn applies_to(&self, pair: &Pair) -> bool {
        if let Some(prefix) = &self.path {
            return pair.html_path.starts_with(prefix.as_str());
        }
        let eq = |want: &Option<String>, have: &str| {
            want.as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(have))
        };
        eq(&self.service, &pair.service) && eq(&self.doc_type, &pair.doc_type)
    }
}

/// A reference known to be wrong, listed as `[[reference_issue]]` in the rules file: left out
/// of the adjusted figures.
struct ReferenceIssue {
    path: String,
    reason: String,
}

/// The rules file: document rules and known reference issues.
#[derive(Default)]
struct RulesFile {
    documents: Vec<RuleEntry>,
    issues: Vec<ReferenceIssue>,
}

/// A TOML value of the subset the rules file uses.
enum Value {
    Str(String),
    List(Vec<String>),
}

impl Value {
    fn into_string(self, key: &str) -> Result<String, String> {
        match self {
            Value::Str(s) => Ok(s),
            Value::List(_) => Err(format!("`{key}` must be a string")),
        }
    }

    /// A list of strings; a single string is accepted for a one-selector list, as in OTA
    /// declarations.
    fn into_list(self) -> Vec<String> {
        match self {
            Value::Str(s) => vec![s],
            Value::List(l) => l,
        }
    }
}

/// Parses the rules file: `[[document]]` tables (keys `service`, `document`, `path`, `select`,
/// `remove`) and `[[reference_issue]]` tables (keys `path`, `reason`), in the small TOML subset
/// it uses: strings and arrays of strings (arrays may span lines), `#` comments. No TOML crate
/// is a dependency of this crate.
fn parse_rules(text: &str) -> Result<RulesFile, String> {
    let mut file = RulesFile::default();
    for (name, line, keys) in parse_tables(text)? {
        let at = |e: String| format!("rules file line {line}: {e}");
        match name.as_str() {
            "document" => {
                let mut entry = RuleEntry::default();
                for (key, value) in keys {
                    match key.as_str() {
                        "service" => entry.service = Some(value.into_string(&key).map_err(at)?),
                        "document" => {
                            entry.doc_type = Some(value.into_string(&key).map_err(at)?);
                        }
                        "path" => entry.path = Some(value.into_string(&key).map_err(at)?),
                        "select" => entry.rules.select = value.into_list(),
                        "remove" => entry.rules.remove = value.into_list(),
                        other => return Err(at(format!("unknown key {other:?}"))),
                    }
                }
                if entry.path.is_none() && (entry.service.is_none() || entry.doc_type.is_none()) {
                    return Err(at(
                        "a [[document]] needs `path` or both `service` and `document`".into(),
                    ));
                }
                exhibit_text::check_rules(&entry.rules).map_err(at)?;
                file.documents.push(entry);
            }
            "reference_issue" => {
                let (mut path, mut reason) = (None, None);
                for (key, value) in keys {
                    match key.as_str() {
                        "path" => path = Some(value.into_string(&key).map_err(at)?),
                        "reason" => reason = Some(value.into_string(&key).map_err(at)?),
                        other => return Err(at(format!("unknown key {other:?}"))),
                    }
                }
                let (Some(path), Some(reason)) = (path, reason) else {
                    return Err(at("a [[reference_issue]] needs `path` and `reason`".into()));
                };
                file.issues.push(ReferenceIssue { path, reason });
            }
            other => return Err(at(format!("unknown table [[{other}]]"))),
        }
    }
    Ok(file)
}

/// A table's name, first line and keys.
type Table = (String, usize, Vec<(String, Value)>);

fn parse_tables(text: &str) -> Result<Vec<Table>, String> {
    let mut tables: Vec<Table> = Vec::new();
    let mut p = TomlCursor {
        s: text.as_bytes(),
        i: 0,
        line: 1,
    };
    loop {
        p.skip_blank(true);
        if p.i >= p.s.len() {
            break;
        }
        if p.eat("[[") {
            let name = p.take_while(|c| c != b']' && c != b'\n').trim().to_owned();
            if !p.eat("]]") || name.is_empty() {
                return Err(p.err("expected [[table]]"));
            }
            tables.push((name, p.line, Vec::new()));
            continue;
        }
        let key = p
            .take_while(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            .to_owned();
        p.skip_blank(false);
        if key.is_empty() || !p.eat("=") {
            return Err(p.err("expected key = value"));
        }
        p.skip_blank(false);
        let value = if p.peek() == Some(b'[') {
            Value::List(p.string_array()?)
        } else {
            Value::Str(p.string()?)
        };
        let Some((_, _, keys)) = tables.last_mut() else {
            return Err(p.err("a key before the first [[table]]"));
        };
        if keys.iter().any(|(k, _)| *k == key) {
            return Err(p.err(&format!("duplicate key {key:?}")));
        }
        keys.push((key, value));
        p.skip_blank(false);
        if p.i < p.s.len() && !p.eat("\n") {
            return Err(p.err("expected end of line"));
        }
    }
    Ok(tables)
}

struct TomlCursor<'a> {
    s: &'a [u8],
    i: usize,
    line: usize,
}

impl TomlCursor<'_> {
    fn err(&self, what: &str) -> String {
        format!("rules file line {}: {what}", self.line)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.line += lit.bytes().filter(|&b| b == b'\n').count();
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    /// Skips spaces, tabs and comments; with `newlines`, line ends too.
    fn skip_blank(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' if newlines => {
                    self.i += 1;
                    self.line += 1;
                }
                b'#' => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// A basic (`"…"`, with escapes) or literal (`'…'`) string.
    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().ok_or_else(|| self.err("expected a string"))?;
        if quote != b'"' && quote != b'\'' {
            return Err(self.err("expected a string"));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
            self.i += 1;
            match c {
                b'\n' => return Err(self.err("unterminated string")),
                c if c == quote => break,
                b'\\' if quote == b'"' => {
                    let e = self.peek().ok_or_else(|| self.err("bad escape"))?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        _ => return Err(self.err("unsupported escape")),
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }

    fn string_array(&mut self) -> Result<Vec<String>, String> {
        if !self.eat("[") {
            return Err(self.err("expected an array"));
        }
        let mut out = Vec::new();
        loop {
            self.skip_blank(true);
            if self.eat("]") {
                return Ok(out);
            }
            out.push(self.string()?);
            self.skip_blank(true);
            if !self.eat(",") {
                self.skip_blank(true);
                if self.eat("]") {
                    return Ok(out);
                }
                return Err(self.err("expected , or ] in an array"));
            }
        }
    }
}

// ------------------------------------------------------------------------------------- words

/// Reference Markdown to plain text: drops link targets, images and `<br>` tags.
fn strip_markdown(md: &str) -> String {
    let mut out = markdown::strip_markdown_targets(md);
    for tag in ["<br>", "<br/>", "<br />", "<BR>"] {
        out = out.replace(tag, " ");
    }
    out
}

/// Words: maximal runs of alphanumeric characters, case kept.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Interns words as ids, so sequences compare as integers.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
}

impl Interner {
    fn seq(&mut self, text: &str) -> Vec<u32> {
        words(text)
            .map(|w| {
                let next = self.ids.len() as u32;
                *self.ids.entry(w.to_owned()).or_insert(next)
            })
            .collect()
    }
}

// --------------------------------------------------------------------------------------- LCS

/// Largest edit distance the Myers diff explores before switching to the bit-parallel LCS.
const MYERS_MAX_D: usize = 4096;

/// Length of a longest common subsequence of `a` and `b` (exact).
fn lcs_len(a: &[u32], b: &[u32]) -> usize {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let middle = match myers_distance(a, b, MYERS_MAX_D) {
        Some(d) => (a.len() + b.len() - d) / 2,
        None => bit_parallel_lcs(a, b),
    };
    prefix + suffix + middle
}

/// Myers' O(ND) greedy algorithm: the number of insertions plus deletions turning `a` into `b`,
/// or `None` when it exceeds `max_d`.
fn myers_distance(a: &[u32], b: &[u32], max_d: usize) -> Option<usize> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = (n + m) as usize;
    let bound = max.min(max_d) as isize;
    let offset = bound + 1;
    let mut v = vec![0isize; 2 * (bound as usize) + 3];
    for d in 0..=bound {
        let mut k = -d;
        while k <= d {
            let idx = (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[idx - 1] < v[idx + 1]) {
                v[idx + 1]
            } else {
                v[idx - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[idx] = x;
            if x >= n && y >= m {
                return Some(d as usize);
            }
            k += 2;
        }
    }
    None
}

/// Bit-parallel LCS length (Crochemore, Iliopoulos, Pinzon, Reid 2001):
/// `V' = (V + (V & M[c])) | (V & !M[c])`; the LCS is the number of zero bits of `V`.
fn bit_parallel_lcs(a: &[u32], b: &[u32]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let blocks = a.len().div_ceil(64);
    let mut positions: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, &w) in a.iter().enumerate() {
        positions.entry(w).or_default().push(i);
    }
    let mut v = vec![u64::MAX; blocks];
    let mut mask = vec![0u64; blocks];
    for w in b {
        let Some(pos) = positions.get(w) else {
            continue;
        };
        for &i in pos {
            mask[i / 64] |= 1 << (i % 64);
        }
        let mut carry = 0u64;
        for (vb, &mb) in v.iter_mut().zip(&mask) {
            let u = *vb & mb;
            let (s1, c1) = vb.overflowing_add(u);
            let (s2, c2) = s1.overflowing_add(carry);
            carry = u64::from(c1 || c2);
            *vb = s2 | (*vb & !mb);
        }
        for &i in pos {
            mask[i / 64] = 0;
        }
    }
    let ones: usize = v.iter().map(|x| x.count_ones() as usize).sum();
    let padding = blocks * 64 - a.len();
    a.len() - (ones - padding)
}

// ----------------------------------------------------------------------------------- scoring

#[derive(Default, Clone, Copy)]
struct Score {
    reference: usize,
    ours: usize,
    lcs: usize,
}

impl Score {
    fn add(&mut self, o: Score) {
        self.reference += o.reference;
        self.ours += o.ours;
        self.lcs += o.lcs;
    }

    fn recall(&self) -> f64 {
        ratio(self.lcs, self.reference)
    }

    fn extra(&self) -> f64 {
        ratio(self.ours - self.lcs, self.ours)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// One snapshot's results.
struct Row {
    plain: Score,
    ruled: Score,
    /// Against the adjusted reference (deduplicated); `None` when the reference is excluded.
    adjusted: Option<(Score, Score)>,
    plain_hash: Sha256Digest,
    ruled_hash: Sha256Digest,
    reference_hash: Sha256Digest,
    /// The reference's words (what the comparison sees), to tell markup-only changes apart.
    reference_words: Vec<u32>,
}

#[derive(Default)]
struct Agreement {
    same_pairs: usize,
    split: usize,
    different_pairs: usize,
    merged: usize,
    /// Merged pairs whose references have the same words (they differ only in link targets or
    /// Markdown markup, which our text does not keep).
    merged_markup_only: usize,
}

/// Whether a reference holds its text twice: OTA declarations with overlapping `select`
/// selectors concatenate each match, so the same paragraphs come twice. Detected when at least
/// 20 long lines (80+ characters) exist and 40% of them repeat an earlier one.
fn is_duplicated(md: &str) -> bool {
    let mut seen = std::collections::HashSet::new();
    let (mut long, mut repeated) = (0usize, 0usize);
    for line in md
        .lines()
        .map(str::trim)
        .filter(|l| l.chars().count() >= 80)
    {
        long += 1;
        if !seen.insert(line) {
            repeated += 1;
        }
    }
    long >= 20 && repeated * 5 >= long * 2
}

/// A reference with every paragraph (blank-line separated block) that repeats an earlier one
/// removed.
fn deduplicate(md: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::with_capacity(md.len());
    let normalized = normalize_text(md);
    for paragraph in normalized.split("\n\n") {
        if seen.insert(paragraph.trim()) {
            out.push_str(paragraph);
            out.push_str("\n\n");
        }
    }
    out
}

fn score(reference: &[u32], ours: &[u32]) -> Score {
    Score {
        reference: reference.len(),
        ours: ours.len(),
        lcs: lcs_len(reference, ours),
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    if !args.corpus.join("INDEX.tsv").is_file() {
        println!(
            "corpus not found at {} (INDEX.tsv missing): nothing to measure",
            args.corpus.display()
        );
        return Ok(());
    }
    let pairs = read_index(&args.corpus)?;
    let rules_file = match std::fs::read_to_string(&args.rules) {
        Ok(text) => parse_rules(&text)?,
        Err(e) => {
            eprintln!("note: no rules ({}: {e})", args.rules.display());
            RulesFile::default()
        }
    };
    let started = Instant::now();
    let mut interner = Interner::default();
    let mut rows = Vec::with_capacity(pairs.len());
    let none = ExtractionRules::default();
    let mut notes = Vec::new();
    println!(
        "per snapshot (words; recall and extra without rules, then with the document's rules):"
    );
    println!(
        "{:<58} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
        "snapshot", "ref", "ours", "recall", "extra", "ruled", "recall", "extra"
    );
    for pair in &pairs {
        let html = std::fs::read(args.corpus.join(&pair.html_path))
            .map_err(|e| format!("{}: {e}", pair.html_path))?;
        let md = std::fs::read_to_string(args.corpus.join(&pair.md_path))
            .map_err(|e| format!("{}: {e}", pair.md_path))?;
        let rules = rules_file
            .documents
            .iter()
            .find(|e| e.applies_to(pair))
            .map_or(&none, |e| &e.rules);
        let plain = extract_with(&html, "text/html", None, &none)
            .map(|e| e.text)
            .unwrap_or_default();
        let ruled = extract_with(&html, "text/html", None, rules)
            .map(|e| e.text)
            .unwrap_or_default();
        if let Some(dir) = &args.dump {
            let base = dir.join(pair.html_path.trim_end_matches(".html"));
            if let Some(parent) = base.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            for (suffix, text) in [("plain.txt", &plain), ("rules.txt", &ruled)] {
                std::fs::write(base.with_extension(suffix), text).map_err(|e| e.to_string())?;
            }
        }
        let reference = interner.seq(&strip_markdown(&md));
        let plain_words = interner.seq(&plain);
        let ruled_words = interner.seq(&ruled);
        let plain_score = score(&reference, &plain_words);
        let ruled_score = if rules.is_empty() {
            plain_score
        } else {
            score(&reference, &ruled_words)
        };
        let name = pair.html_path.trim_start_matches("html/");
        let mut flag = String::new();
        let adjusted = if let Some(issue) = rules_file
            .issues
            .iter()
            .find(|i| pair.html_path.starts_with(i.path.as_str()))
        {
            flag.push_str("  [reference excluded]");
            notes.push(format!("excluded {name}: {}", issue.reason));
            None
        } else if is_duplicated(&md) {
            flag.push_str("  [reference duplicated]");
            let dedup = interner.seq(&strip_markdown(&deduplicate(&md)));
            Some((score(&dedup, &plain_words), score(&dedup, &ruled_words)))
        } else {
            Some((plain_score, ruled_score))
        };
        println!(
            "{:<58} {:>6} {:>6} {:>6.3} {:>6.3} {:>6} {:>6.3} {:>6.3}{}{}",
            name,
            plain_score.reference,
            plain_score.ours,
            plain_score.recall(),
            plain_score.extra(),
            ruled_score.ours,
            ruled_score.recall(),
            ruled_score.extra(),
            if rules.is_empty() { "" } else { "  (rules)" },
            flag
        );
        rows.push(Row {
            plain: plain_score,
            ruled: ruled_score,
            adjusted,
            plain_hash: Sha256Digest::of(plain.as_bytes()),
            ruled_hash: Sha256Digest::of(ruled.as_bytes()),
            reference_hash: Sha256Digest::of(normalize_text(&md).as_bytes()),
            reference_words: reference,
        });
    }

    // Per document, word-weighted.
    println!();
    println!(
        "per document (word-weighted):     {:>14} {:>14}   {:>14} {:>14}",
        "no rules", "with rules", "adjusted: no", "with rules"
    );
    println!(
        "{:<44} {:>5} {:>6} {:>6} {:>6} {:>6}   {:>6} {:>6} {:>6} {:>6}",
        "document",
        "snaps",
        "recall",
        "extra",
        "recall",
        "extra",
        "recall",
        "extra",
        "recall",
        "extra"
    );
    let mut docs: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, p) in pairs.iter().enumerate() {
        docs.entry((&p.service, &p.doc_type)).or_default().push(i);
    }
    let mut all = [Score::default(); 4];
    let mut ruled_docs = [Score::default(); 2];
    let (mut agree_plain, mut agree_ruled) = (Agreement::default(), Agreement::default());
    let mut pair_notes = Vec::new();
    let mut documents_with_rules = 0;
    for ((service, doc_type), idx) in &docs {
        let mut sums = [Score::default(); 4];
        for &i in idx {
            sums[0].add(rows[i].plain);
            sums[1].add(rows[i].ruled);
            if let Some((p, r)) = rows[i].adjusted {
                sums[2].add(p);
                sums[3].add(r);
            }
        }
        let has_rules = rules_file
            .documents
            .iter()
            .any(|e| e.applies_to(&pairs[idx[0]]));
        if has_rules {
            documents_with_rules += 1;
            ruled_docs[0].add(sums[0]);
            ruled_docs[1].add(sums[1]);
        }
        for (total, s) in all.iter_mut().zip(&sums) {
            total.add(*s);
        }
        println!(
            "{:<44} {:>5} {:>6.3} {:>6.3} {:>6.3} {:>6.3}   {:>6.3} {:>6.3} {:>6.3} {:>6.3}{}",
            format!("{service} / {doc_type}"),
            idx.len(),
            sums[0].recall(),
            sums[0].extra(),
            sums[1].recall(),
            sums[1].extra(),
            sums[2].recall(),
            sums[2].extra(),
            sums[3].recall(),
            sums[3].extra(),
            if has_rules { "  (rules)" } else { "" }
        );
        for w in idx.windows(2) {
            let (a, b) = (&rows[w[0]], &rows[w[1]]);
            let same = a.reference_hash == b.reference_hash;
            for (agree, ha, hb, label) in [
                (&mut agree_plain, &a.plain_hash, &b.plain_hash, "no rules"),
                (&mut agree_ruled, &a.ruled_hash, &b.ruled_hash, "rules"),
            ] {
                let what = format!("{} -> {}", pairs[w[0]].html_path, pairs[w[1]].date);
                if same {
                    agree.same_pairs += 1;
                    if ha != hb {
                        agree.split += 1;
                        pair_notes.push(format!("split ({label}): {what}"));
                    }
                } else {
                    agree.different_pairs += 1;
                    if ha == hb {
                        agree.merged += 1;
                        let markup_only = a.reference_words == b.reference_words;
                        if markup_only {
                            agree.merged_markup_only += 1;
                        }
                        pair_notes.push(format!(
                            "merged ({label}): {what}{}",
                            if markup_only {
                                " (reference words equal: only link targets/markup differ)"
                            } else {
                                ""
                            }
                        ));
                    }
                }
            }
        }
    }
    println!();
    println!(
        "overall: {} snapshots of {} documents, {} reference words; word-weighted",
        rows.len(),
        docs.len(),
        all[0].reference
    );
    let line = |label: &str, s: &Score| {
        println!(
            "  {label:<34} recall {:.4}  extra {:.4}  ({} words extracted)",
            s.recall(),
            s.extra(),
            s.ours
        );
    };
    line("no rules:", &all[0]);
    line("with rules:", &all[1]);
    line("adjusted, no rules:", &all[2]);
    line("adjusted, with rules:", &all[3]);
    println!(
        "  (adjusted: duplicated references deduplicated, excluded references left out; {} words)",
        all[2].reference
    );
    line(
        &format!("{documents_with_rules} documents with rules, none:"),
        &ruled_docs[0],
    );
    line(
        &format!("{documents_with_rules} documents with rules, rules:"),
        &ruled_docs[1],
    );
    println!("version agreement (consecutive snapshots of a document):");
    for (label, a) in [("no rules", &agree_plain), ("with rules", &agree_ruled)] {
        println!(
            "  {label:<10}: {} same-reference pairs, {} split (spurious new versions); \
             {} different-reference pairs, {} merged ({} of them differ only in link targets/markup)",
            a.same_pairs, a.split, a.different_pairs, a.merged, a.merged_markup_only
        );
    }
    for line in pair_notes.iter().chain(&notes) {
        println!("  {line}");
    }
    println!("elapsed {:.2?}", started.elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_lcs(a: &[u32], b: &[u32]) -> usize {
        let mut prev = vec![0usize; b.len() + 1];
        for x in a {
            let mut cur = vec![0usize; b.len() + 1];
            for (j, y) in b.iter().enumerate() {
                cur[j + 1] = if x == y {
                    prev[j] + 1
                } else {
                    prev[j + 1].max(cur[j])
                };
            }
            prev = cur;
        }
        prev[b.len()]
    }

    #[test]
    fn lcs_algorithms_agree() {
        let mut seed = 0x1234_5678_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..300 {
            let la = (next() % 150) as usize;
            let lb = (next() % 150) as usize;
            let alpha = 1 + next() % 6;
            let a: Vec<u32> = (0..la).map(|_| (next() % alpha) as u32).collect();
            let b: Vec<u32> = (0..lb).map(|_| (next() % alpha) as u32).collect();
            let want = naive_lcs(&a, &b);
            assert_eq!(bit_parallel_lcs(&a, &b), want);
            let d = myers_distance(&a, &b, usize::MAX).expect("unbounded");
            assert_eq!((a.len() + b.len() - d) / 2, want);
            assert_eq!(lcs_len(&a, &b), want);
        }
    }

    #[test]
    fn markdown_is_stripped() {
        let md = "# [Title](#t)\n\n![logo](x.png) See [the *policy*](https://x.test/a_(b)) <br>ok";
        let stripped = strip_markdown(md);
        let w: Vec<&str> = words(&stripped).collect();
        assert_eq!(w, ["Title", "See", "the", "policy", "ok"]);
    }

    #[test]
    fn rules_file_parses() {
        let text = r##"
# comment
[[document]]
service = "Grok"   # trailing
document = 'Trackers Policy'
select = ["main", "#x .y"]
remove = [
  "nav", # why
  "footer",
]
[[document]]
path = "html/a/"
select = "article"
"##;
        let e = parse_rules(text).expect("parses").documents;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].rules.select, ["main", "#x .y"]);
        assert_eq!(e[0].rules.remove, ["nav", "footer"]);
        assert_eq!(e[1].rules.select, ["article"]);
        assert!(parse_rules("select = []").is_err());
        assert!(parse_rules("[[document]]\nservice = \"x\"\n").is_err());
        assert!(parse_rules("[[document]]\npath = \"x\"\nselect = [\"!!\"]\n").is_err());
    }
}
