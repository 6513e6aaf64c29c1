//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// exhibit: signed, content-addressed captures of legal documents that anyone can verify offline.
#[derive(Parser, Debug)]
#[command(name = "exhibit", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The archive directory.
    #[arg(
        long,
        global = true,
        env = "EXHIBIT_ARCHIVE",
        default_value = "exhibit-archive"
    )]
    pub archive: PathBuf,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new archive (with a new Ed25519 signing key unless --key names one).
    Init(InitArgs),
    /// Generate or inspect Ed25519 keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Capture documents from URLs, files or stdin (-) into the archive.
    Capture(CaptureArgs),
    /// List captures, newest first.
    List(ListArgs),
    /// Show a record (a capture, version, document, provision or re-extraction id, or a hash
    /// prefix of 8+ hex digits); signatures are checked as they are shown.
    Show(QueryArgs),
    /// Write a capture's exact bytes (or with --text its extracted text) to stdout.
    Cat(CatArgs),
    /// A document's change timeline: each version, when first and last seen, how many
    /// captures confirm it, and how many words it added and removed.
    History(HistoryArgs),
    /// List tracked documents with their latest version, last capture and number of versions.
    Documents(DocumentsArgs),
    /// Show what changed between two versions' extracted texts (a unified diff).
    Diff(DiffArgs),
    /// A document's extraction rules: show them, or set or clear them.
    #[command(subcommand)]
    Document(DocumentCommand),
    /// Recompute a document's texts from the stored bytes (current rules and extractor) and
    /// record, in a new signed record, which versions merge or split. Nothing signed is rewritten.
    Reextract(ReextractArgs),
    /// Print the citation record of a capture, version or provision; with --quote, record a
    /// provision (a quoted clause of a version) and print its citation.
    Cite(CiteArgs),
    /// Write a signed evidence bundle (.tar.zst, a BagIt bag) of captures for a third party.
    Bundle(BundleArgs),
    /// Write the evidence report of records, a PDF (and with --html an HTML page) a court can
    /// read, each signed by the archive key (FILE.sig beside it); bundles carry the same report.
    Report(ReportArgs),
    /// Write records as a web archive: a WARC 1.1 file (FILE.warc.gz: one gzip member per
    /// record) with each capture's bytes and its signed manifest, signature and log proof.
    Export(ExportArgs),
    /// Import the captures of a WARC file (from wget, Browsertrix, ArchiveWeb.page, the Wayback
    /// Machine or exhibit): each HTTP 200 response and resource record becomes a signed capture
    /// (method warc-import) citing the file's SHA-256 and the record; digests are checked, a
    /// record that fails them is recorded as refused (exit 1); a malformed file imports nothing
    /// (exit 2).
    Import(ImportArgs),
    /// Verify a citation from a filing, a hash, a local file or an evidence bundle.
    Verify(VerifyArgs),
    /// The tamper-evident log: checkpoints, inclusion and consistency proofs, timestamps.
    #[command(subcommand)]
    Log(LogCommand),
    /// The RFC 3161 Time-Stamp Authorities that timestamp the log's checkpoints.
    #[command(subcommand)]
    Tsa(TsaCommand),
    /// Witnesses (C2SP tlog-witness) that cosign the log's checkpoints; or be one.
    #[command(subcommand)]
    Witness(WitnessCommand),
    /// Check the archive: the catalog against the signed manifests and the log; with --full
    /// also every object's bytes, every signature and the log's root (exit 1 on any problem).
    Fsck(FsckArgs),
    /// Rebuild the catalog (catalog.sqlite) from the signed manifests, the objects and the
    /// log alone, verifying every manifest and the log's signed checkpoints; the old catalog
    /// is kept as catalog.sqlite.bak-<time>. Exit 1, nothing replaced, on any failure or while
    /// another exhibit process has the archive open.
    Reindex,
    /// Serve the archive read-only as web pages (documents, timelines, records with their
    /// evidence checked as each page is served, diffs) and Atom feeds of changes, until
    /// interrupted.
    Serve(ServeArgs),
    /// Webhooks told of every new version (a JSON change notification signed with the
    /// archive key, POSTed after the capture; retried from an outbox, never failing a capture).
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Print a shell completion script for exhibit (bash, zsh, fish, elvish or powershell).
    Completions(CompletionsArgs),
    /// Print exhibit's man page (exhibit.1), or with --out write it and one page per
    /// subcommand (exhibit-capture.1, exhibit-log-prove.1, …) into a directory.
    Man(ManArgs),
}

/// `exhibit completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `exhibit man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write exhibit.1 and a page per subcommand into this directory (created if missing)
    /// instead of printing exhibit.1.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `exhibit fsck`.
#[derive(Args, Debug)]
pub struct FsckArgs {
    /// Also decompress every object and check its SHA-256, BLAKE3 and size, re-verify every
    /// signature, and recompute the log's root against the latest signed checkpoint.
    #[arg(long)]
    pub full: bool,
    /// First remove what interrupted writes left behind (orphan objects, manifests,
    /// checkpoints and tokens, temporary files, uncommitted leaves), printing each; nothing is
    /// removed if the archive has problems. Then check as usual.
    #[arg(long)]
    pub repair: bool,
}

/// `exhibit log …`.
#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Print the latest signed checkpoint (signing a new one first if the log grew since).
    Checkpoint,
    /// Print a C2SP tlog-proof (index, inclusion path, signed checkpoint) for a capture.
    Prove {
        /// A capture id or hash prefix.
        query: String,
    },
    /// Prove that today's log extends an old checkpoint (exit 1 if it does not).
    Consistency {
        /// A signed checkpoint file saved earlier (e.g. printed in a filing).
        old_checkpoint: PathBuf,
    },
    /// Print the log's note verifier key (name+hash+base64).
    Key,
    /// Ask every configured TSA that has not stamped the latest checkpoint for a token
    /// (retrying after an outage); exit 1 if one still fails.
    Timestamp,
    /// Send the latest checkpoint, with a consistency proof, to every configured witness that
    /// has not cosigned it (retrying after an outage); exit 1 if one still fails.
    Witness,
}

/// `exhibit bundle`.
#[derive(Args, Debug)]
pub struct BundleArgs {
    /// Captures, versions (all their captures), documents (all their captures, by id or URL)
    /// or hash prefixes.
    #[arg(required = true)]
    pub records: Vec<String>,
    /// The bundle file to create (e.g. evidence.tar.zst); an existing file is not replaced.
    #[arg(long)]
    pub out: PathBuf,
}

/// `exhibit report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Captures, versions, documents, provisions or hash prefixes, as for `exhibit bundle`.
    #[arg(required = true)]
    pub records: Vec<String>,
    /// The PDF to create (e.g. report.pdf), with its signature as report.pdf.sig; existing
    /// files are not replaced.
    #[arg(long, value_name = "FILE.pdf")]
    pub out: PathBuf,
    /// Also write the report as one self-contained HTML page (and FILE.html.sig).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
}

/// `exhibit export`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("format").required(true).args(["warc", "wacz"])))]
pub struct ExportArgs {
    /// Captures, versions, documents, provisions or hash prefixes, as for `exhibit bundle`.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub records: Vec<String>,
    /// Every document of the archive.
    #[arg(long)]
    pub all: bool,
    /// The WARC file to create (FILE.warc, or FILE.warc.gz compressed); an existing file is not
    /// replaced.
    #[arg(long, value_name = "FILE")]
    pub warc: Option<PathBuf>,
    /// The WACZ package to create (FILE.wacz): the WARC, its index and pages, and the evidence
    /// bundle of the same records, signed; an existing file is not replaced.
    #[arg(long, value_name = "FILE.wacz", conflicts_with = "warc")]
    pub wacz: Option<PathBuf>,
}

/// `exhibit import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The WARC file (FILE.warc, or FILE.warc.gz).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The publishing entity of every document imported.
    #[arg(long)]
    pub entity: Option<String>,
    /// The largest payload imported, in bytes (default: the archive's capture limit).
    #[arg(long, value_name = "BYTES")]
    pub max_size: Option<u64>,
}

/// `exhibit cite`.
#[derive(Args, Debug)]
pub struct CiteArgs {
    /// A capture, version, provision or document id (a document means its current version),
    /// a document URL, or a hash prefix.
    pub query: String,
    /// Record a provision: this passage of the version's extracted text (matched after
    /// whitespace normalisation; surrounding quotation marks and ellipses are ignored).
    #[arg(long, value_name = "TEXT")]
    pub quote: Option<String>,
    /// Which occurrence of the quote, when it appears more than once (1 = first).
    #[arg(long, value_name = "N", requires = "quote", value_parser = clap::value_parser!(u64).range(1..))]
    pub occurrence: Option<u64>,
    /// Print the SHA-256 as filings often do: 16 hex digits and "…".
    #[arg(long)]
    pub short: bool,
}

/// `exhibit verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// An evidence bundle (.tar.zst) or a WACZ package made by `export --wacz` to verify
    /// (alone, or against --citation or --hash).
    pub bundle: Option<PathBuf>,
    /// A citation record from a filing (a file, or - for stdin): find the record and check
    /// every field it states. Its Signed-By line pins the signer.
    #[arg(long, value_name = "FILE|-")]
    pub citation: Option<String>,
    /// List every record whose content, text, quote or manifest SHA-256 starts with PREFIX
    /// (8 to 64 hex digits), with its citation and verification.
    #[arg(long, value_name = "PREFIX")]
    pub hash: Option<String>,
    /// Hash a local file and say which capture it is.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// A trusted signer: an SPKI PEM public key file or a fingerprint (SHA256:…). Repeatable.
    /// For a bundle alone, the default is the archive's own key, when there is an archive.
    #[arg(long = "key", value_name = "PEM|FINGERPRINT")]
    pub keys: Vec<String>,
    /// Check the bundle's RFC 3161 timestamps against these trusted TSA CA certificates (a PEM
    /// bundle; repeatable). Without it, timestamps are reported but not checked.
    #[arg(long = "tsa-ca", value_name = "PEM")]
    pub tsa_ca: Vec<PathBuf>,
    /// A witness whose cosignature on the bundle's checkpoint is required: its vkey
    /// (`name+id+base64`, as `exhibit witness key` prints it). Repeatable.
    #[arg(long = "witness", value_name = "VKEY")]
    pub witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned (default: all of them).
    #[arg(long = "witness-quorum", value_name = "K", requires = "witnesses")]
    pub witness_quorum: Option<usize>,
}

/// `exhibit init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The archive's name, recorded in every manifest (e.g. archive.example.org).
    #[arg(long)]
    pub origin: Option<String>,
    /// The id prefix (EX gives EX-C-000001).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Sign with this existing PKCS#8 PEM private key (mode 0600) instead of generating one.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// An RFC 3161 Time-Stamp Authority (http or https URL) to timestamp every signed
    /// checkpoint. Repeatable: several independent TSAs.
    #[arg(long = "tsa", value_name = "URL")]
    pub tsa: Vec<String>,
    /// A PEM bundle of CA certificates that the TSAs' answers must chain to before a token is
    /// kept (copied into the archive).
    #[arg(long, value_name = "PEM", requires = "tsa")]
    pub tsa_ca: Option<PathBuf>,
    /// An offline root key (PKCS#8 PEM, e.g. from `exhibit key generate`): it certifies the
    /// signing key in the key history and can later sign a rotation when the signing key is
    /// lost (`key rotate --root-key`). Keep it off this machine; readers may pin it.
    #[arg(long, value_name = "FILE")]
    pub root_key: Option<PathBuf>,
    /// Keep the archive in an S3 bucket (s3://BUCKET/PREFIX): every file write-once, this
    /// directory a local copy. If the prefix already holds an archive, join it (give its
    /// signing key with --key). Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    /// (and AWS_SESSION_TOKEN) or the AWS profile.
    #[arg(long, value_name = "S3_URL", requires = "endpoint")]
    pub store: Option<String>,
    /// The S3 endpoint (http(s)://host[:port]) of --store.
    #[arg(long, value_name = "URL", requires = "store")]
    pub endpoint: Option<String>,
    /// The region requests to --store are signed for.
    #[arg(long, requires = "store", default_value = "us-east-1")]
    pub region: String,
    /// Set S3 Object Lock compliance retention on every object written (7y, 18m, 30d): no one
    /// can delete or overwrite them before it ends. The bucket must have Object Lock enabled.
    #[arg(long, value_name = "PERIOD", requires = "store")]
    pub retention: Option<String>,
}

/// `exhibit tsa …`.
#[derive(Subcommand, Debug)]
pub enum TsaCommand {
    /// Add a Time-Stamp Authority; later checkpoints are sent to it too.
    Add {
        /// The TSA's URL (http or https).
        url: String,
        /// A short name for it (default: made from the URL); names its token files.
        #[arg(long)]
        name: Option<String>,
        /// A PEM bundle of CA certificates that its answers must chain to (copied into the
        /// archive).
        #[arg(long, value_name = "PEM")]
        ca: Option<PathBuf>,
    },
    /// Stop asking a TSA (by name or URL); tokens it issued are kept.
    Remove {
        /// The TSA's name or URL.
        tsa: String,
    },
    /// List the configured TSAs and whether each has stamped the latest checkpoint.
    List,
}

/// `exhibit witness …`.
#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Add a witness; later checkpoints are sent to it too.
    Add {
        /// The witness's submission prefix (http or https; `/add-checkpoint` is appended).
        url: String,
        /// Its cosigner key (`name+id+base64`, signature type 0x04), as its operator publishes it.
        #[arg(long)]
        vkey: String,
        /// A short name for it (default: made from the URL); names its cosignature files.
        #[arg(long)]
        name: Option<String>,
    },
    /// Stop asking a witness (by name or URL); cosignatures it made are kept.
    Remove {
        /// The witness's name or URL.
        witness: String,
    },
    /// List the configured witnesses and whether each has cosigned the latest checkpoint.
    List,
    /// Run a witness (C2SP tlog-witness): cosign the checkpoints of the logs given, refusing
    /// any that is not consistent with what it cosigned before. Its key and state live in
    /// --dir; it runs until interrupted.
    Serve(WitnessServeArgs),
    /// Print the cosigner key (vkey) of the witness in --dir, making its key if it has none.
    Key {
        /// The witness's directory.
        #[arg(long)]
        dir: PathBuf,
        /// The witness's name (default: the name it was first given, else `exhibit-witness`).
        #[arg(long)]
        name: Option<String>,
    },
}

/// `exhibit witness serve`.
#[derive(Args, Debug)]
pub struct WitnessServeArgs {
    /// The address to listen on (loopback by default; any other needs --public).
    #[arg(long, default_value = "127.0.0.1:7380")]
    pub listen: String,
    /// Allow listening on an address that is not loopback.
    #[arg(long)]
    pub public: bool,
    /// The witness's directory: its key, its name and the latest cosigned size and root of
    /// each log.
    #[arg(long)]
    pub dir: PathBuf,
    /// The note verifier key (`exhibit log key`) of each log to witness.
    #[arg(long = "log", value_name = "VKEY", required = true)]
    pub logs: Vec<String>,
    /// The witness's name (default: the name it was first given, else `exhibit-witness`).
    #[arg(long)]
    pub name: Option<String>,
}

/// `exhibit serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The address to listen on (loopback by default; any other needs --public).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Allow listening on an address that is not loopback.
    #[arg(long)]
    pub public: bool,
    /// For an archive in a bucket: how often to fetch what other hosts committed, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub refresh: u64,
    /// Do not deliver pending change notifications while serving (`exhibit notify deliver`
    /// delivers them).
    #[arg(long)]
    pub no_notify: bool,
}

/// `exhibit notify …`.
#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// Add a webhook: every new version of a document committed from now on (not a document's
    /// first version) is POSTed to it as JSON, signed with the archive's key (docs/FORMAT.md
    /// "Change notifications").
    Add {
        /// The webhook's URL (http or https).
        url: String,
        /// The base URL of `exhibit serve` for this archive: notifications then link to the
        /// record, diff and document pages under it.
        #[arg(long, value_name = "URL")]
        links: Option<String>,
    },
    /// Stop notifying a webhook (by URL); what its outbox holds is dropped.
    Remove {
        /// The webhook's URL.
        url: String,
    },
    /// List the webhooks, how many notifications wait for each, and the oldest one's attempts.
    List,
    /// Deliver every notification waiting in the outbox now, whatever its retry time; exit 1
    /// if one is still not delivered.
    Deliver,
}

/// `exhibit key …`.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Write a new Ed25519 private key (PKCS#8 PEM, mode 0600) and its public key (.pub.pem).
    Generate {
        /// Where to write the private key; the public key goes beside it as NAME.pub.pem.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key's fingerprint (as `ssh-keygen -l` prints it), OpenSSH and SPKI PEM forms.
    Show {
        /// A private (PKCS#8) or public (SPKI) PEM file; default: the archive's key.
        path: Option<PathBuf>,
    },
    /// Rotate the archive's signing key: a new key signs from the log's current size on, by a
    /// statement in the key history signed by the old and the new key. Old records keep
    /// verifying with the old key.
    Rotate {
        /// Use this private key (PKCS#8 PEM, mode 0600) where it is; default: generate one at
        /// keys/signing-<n>-<hex>.pem.
        #[arg(long, value_name = "FILE")]
        new_key: Option<PathBuf>,
        /// Complete a rotation that stopped after its statement was written (with --new-key:
        /// point exhibit.toml at that key).
        #[arg(long, conflicts_with = "root_key")]
        finish: bool,
        /// Sign the rotation with the archive's root key (`init --root-key`) instead of the
        /// current key, which then need not be at hand.
        #[arg(long, value_name = "FILE")]
        root_key: Option<PathBuf>,
    },
    /// Record that a key is compromised from TIME on: records it signed verify only with
    /// proof (a trusted timestamp or a witness cosignature) that they existed before. Without
    /// --key, the current key is revoked, after rotating to a new one.
    Revoke {
        /// When the key stopped being safe (RFC 3339, e.g. 2026-12-01T00:00:00Z).
        #[arg(long, value_name = "TIME")]
        compromised_since: String,
        /// The fingerprint of a retired key to revoke; default: the current key.
        #[arg(long, value_name = "FINGERPRINT")]
        key: Option<String>,
        /// When revoking the current key, rotate to this private key (as `rotate --new-key`).
        #[arg(long, value_name = "FILE")]
        new_key: Option<PathBuf>,
        /// Sign with the archive's root key (`init --root-key`) instead of the current key.
        #[arg(long, value_name = "FILE")]
        root_key: Option<PathBuf>,
    },
    /// Show the archive's key history: which key signed which part of the log.
    History,
}

/// `exhibit capture`.
#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// What to capture: http(s) URLs, file paths, or - for stdin.
    #[arg(required_unless_present = "list")]
    pub sources: Vec<String>,
    /// Capture every source listed in FILE (- for stdin): one per line, optionally followed by
    /// tab-separated URL, ENTITY and TITLE; blank lines and lines starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    pub list: Option<PathBuf>,
    /// Prepare this many captures at once (fetching, hashing, compressing, extracting); one
    /// writer records them. Default: the number of CPUs with --list, else 1 (output in the
    /// order given).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,
    /// The document's URL (its identity); default: the source URL, or the file's file:// URL.
    #[arg(long, conflicts_with = "list")]
    pub url: Option<String>,
    /// Who publishes the document (e.g. "AI21 Labs").
    #[arg(long)]
    pub entity: Option<String>,
    /// The document's title (default: kept, or the HTML <title>).
    #[arg(long)]
    pub title: Option<String>,
    /// Extraction rule: keep only the parts matching this CSS selector (repeatable). Set on the
    /// document, it applies to this and every later capture until changed.
    #[arg(long, value_name = "CSS")]
    pub select: Vec<String>,
    /// Extraction rule: drop the parts matching this CSS selector (repeatable).
    #[arg(long, value_name = "CSS")]
    pub remove: Vec<String>,
    /// Seconds allowed to connect and between reads (default from exhibit.toml: 30).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: Option<u64>,
    /// Largest document kept, in bytes (default from exhibit.toml: 1073741824, 1 GiB).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=9_007_199_254_740_991))]
    pub max_size: Option<u64>,
    /// Load each URL in headless Chromium (EXHIBIT_CHROMIUM, or chromium on PATH) through
    /// exhibit's recording proxy: every response, the rendered DOM (text is extracted from it),
    /// a full-page screenshot and a PDF print are recorded.
    #[arg(long)]
    pub browser: bool,
    /// With --browser: also wait until an element matches this CSS selector (bounded by
    /// --timeout; a timeout is recorded, not fatal).
    #[arg(long, value_name = "CSS", requires = "browser")]
    pub wait_for: Option<String>,
    /// Also trust the CA certificates in this PEM file for HTTPS (repeatable; private CAs,
    /// tests). The bundled Mozilla roots stay trusted; each capture records the roots it used.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Vec<PathBuf>,
}

/// `exhibit list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// At most this many captures.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Only captures older than this capture id (for paging).
    #[arg(long, value_name = "CAPTURE-ID")]
    pub before: Option<String>,
    /// Only captures of this document (id or URL).
    #[arg(long)]
    pub document: Option<String>,
}

/// A record query.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// A record id (EX-C-000042) or a hash prefix (8 to 64 hex digits; a trailing … is fine).
    pub query: String,
}

/// `exhibit cat`.
#[derive(Args, Debug)]
pub struct CatArgs {
    /// A record id or a hash prefix.
    pub query: String,
    /// Print the extracted text instead of the captured bytes.
    #[arg(long, group = "rendering")]
    pub text: bool,
    /// Print the full-page screenshot of a browser capture (PNG).
    #[arg(long, group = "rendering")]
    pub screenshot: bool,
    /// Print the PDF print of a browser capture.
    #[arg(long, group = "rendering")]
    pub pdf: bool,
    /// Print the rendered DOM of a browser capture (HTML, UTF-8).
    #[arg(long, group = "rendering")]
    pub dom: bool,
    /// Print the certificate chain the server sent (PEM, leaf first) on the connection that
    /// carried the capture's last request, as the signed manifest records it.
    #[arg(long, group = "rendering")]
    pub tls_chain: bool,
}

/// `exhibit documents`.
#[derive(Args, Debug)]
pub struct DocumentsArgs {
    /// At most this many documents.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Only documents after this document id (for paging).
    #[arg(long, value_name = "DOCUMENT-ID")]
    pub after: Option<String>,
}

/// `exhibit diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The older version (a version, capture or provision id, or a hash prefix).
    pub from: String,
    /// The newer version.
    pub to: String,
    /// Compare word by word instead of line by line.
    #[arg(long)]
    pub word: bool,
    /// Only the size of the change: lines (or words) added and removed.
    #[arg(long)]
    pub stat: bool,
    /// Lines of context around each change.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub context: usize,
    /// Colour the output: auto (on a terminal), always or never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

/// `exhibit document …`.
#[derive(Subcommand, Debug)]
pub enum DocumentCommand {
    /// Show a document's extraction rules and their history, or change them.
    Rules(RulesArgs),
}

/// `exhibit document rules`.
#[derive(Args, Debug)]
pub struct RulesArgs {
    /// A document id or URL.
    pub document: String,
    /// Keep only the parts matching this CSS selector (repeatable; their union, in page order).
    #[arg(long, value_name = "CSS")]
    pub select: Vec<String>,
    /// Drop the parts matching this CSS selector (repeatable).
    #[arg(long, value_name = "CSS")]
    pub remove: Vec<String>,
    /// Remove all rules (back to the built-in extraction).
    #[arg(long, conflicts_with_all = ["select", "remove"])]
    pub clear: bool,
}

/// `exhibit reextract`.
#[derive(Args, Debug)]
pub struct ReextractArgs {
    /// A document id or URL.
    pub document: String,
    /// Only report what would change; record nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `exhibit history`.
#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// A document id or URL (or the id of one of its captures or versions).
    pub document: String,
}
