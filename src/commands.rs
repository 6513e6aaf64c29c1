//! One function per subcommand: call the libraries, print the result.

use std::io::Write;
use std::path::{Path, PathBuf};

use exhibit_core::{CaptureManifest, Inert, RecordId, RecordKind};
use exhibit_sign::{PublicKey, SigningKey};
use exhibit_store::{Archive, InitOptions, Signature, SignedCapture, StoreError};
use serde_json::json;

use crate::cli::{
    BundleArgs, CatArgs, CiteArgs, Cli, Command, DocumentCommand, InitArgs, KeyCommand, ListArgs,
    LogCommand, VerifyArgs,
};
use crate::output::{self, json_line};
use crate::{EXIT_FAILED, EXIT_OK, Failure};
use crate::{capture, changes, cite, fsck, reindex, rules, tsa};

/// Runs the parsed command; returns the exit status.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let json = cli.json;
    match cli.command {
        Command::Init(args) => init(&cli.archive, args, json),
        Command::Key(KeyCommand::Generate { out }) => key_generate(&out, json),
        Command::Key(KeyCommand::Show { path }) => key_show(&cli.archive, path, json),
        Command::Capture(args) => capture::capture(&cli.archive, args, json),
        Command::List(args) => list(&cli.archive, args, json),
        Command::Show(args) => show(&cli.archive, &args.query, json),
        Command::Cat(args) => cat(&cli.archive, args),
        Command::History(args) => changes::history(&cli.archive, &args.document, json),
        Command::Documents(args) => changes::documents(&cli.archive, args, json),
        Command::Diff(args) => changes::diff(&cli.archive, args, json),
        Command::Document(DocumentCommand::Rules(args)) => rules::rules(&cli.archive, args, json),
        Command::Reextract(args) => rules::reextract(&cli.archive, args, json),
        Command::Cite(args) => cite_cmd(&cli.archive, args, json),
        Command::Bundle(args) => bundle(&cli.archive, args, json),
        Command::Verify(args) => verify(&cli.archive, args, json),
        Command::Log(cmd) => log(&cli.archive, cmd, json),
        Command::Tsa(cmd) => tsa::tsa(&cli.archive, cmd, json),
        Command::Fsck(args) => fsck::fsck(&cli.archive, args, json),
        Command::Reindex => reindex::reindex(&cli.archive, json),
    }
}

fn init(root: &Path, args: InitArgs, json: bool) -> Result<u8, Failure> {
    let archive = Archive::init(
        root,
        InitOptions {
            origin: args.origin,
            prefix: args.prefix,
            key: args.key,
            tsa: args.tsa,
            tsa_ca: args
                .tsa_ca
                .as_deref()
                .map(tsa::read_ca_bundle)
                .transpose()?,
        },
    )?;
    let config = archive.config();
    let public = archive.public_key()?;
    let key_path = config.key_path(archive.root());
    if json {
        json_line(&json!({
            "archive": archive.root(),
            "origin": config.origin,
            "prefix": config.prefix,
            "key": key_path,
            "public_key": archive.public_key_path(),
            "fingerprint": public.fingerprint().to_string(),
        }))?;
    } else {
        let mut out = crate::output::text_stdout();
        writeln!(
            out,
            "Initialised exhibit archive {}",
            archive.root().display()
        )?;
        writeln!(out, "  origin       {}", config.origin)?;
        writeln!(out, "  id prefix    {}", config.prefix)?;
        writeln!(out, "  signing key  {}", key_path.display())?;
        writeln!(
            out,
            "  public key   {}",
            archive.public_key_path().display()
        )?;
        writeln!(out, "  fingerprint  {}", public.fingerprint())?;
    }
    Ok(EXIT_OK)
}

/// `k.pem` → `k.pub.pem`; `k` → `k.pub.pem`.
fn public_path_for(private: &Path) -> PathBuf {
    let stem = private
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "key".into());
    private.with_file_name(format!("{stem}.pub.pem"))
}

fn key_generate(out: &Path, json: bool) -> Result<u8, Failure> {
    let key = SigningKey::generate()?;
    let public = key.public_key();
    let pub_path = public_path_for(out);
    if pub_path.exists() {
        return Err(Failure::bad_input(format!(
            "{} already exists; refusing to overwrite it",
            pub_path.display()
        )));
    }
    key.write_new(out)?;
    exhibit_store::fsutil::write_atomic_durable(&pub_path, public.to_spki_pem().as_bytes())?;
    if json {
        json_line(&json!({
            "private_key": out,
            "public_key": pub_path,
            "fingerprint": public.fingerprint().to_string(),
            "openssh": public.to_openssh(),
        }))?;
    } else {
        let mut o = crate::output::text_stdout();
        writeln!(o, "Wrote private key {} (mode 0600)", out.display())?;
        writeln!(o, "Wrote public key  {}", pub_path.display())?;
        writeln!(o, "Fingerprint       {}", public.fingerprint())?;
    }
    Ok(EXIT_OK)
}

fn key_show(root: &Path, path: Option<PathBuf>, json: bool) -> Result<u8, Failure> {
    let (public, path, origin) = match path {
        Some(path) => {
            let head = exhibit_store::fsutil::read_limited(&path, exhibit_sign::MAX_KEY_FILE_SIZE)
                .map_err(|e| Failure::bad_input(e.to_string()))?;
            let text = String::from_utf8_lossy(&head);
            let public = if text.contains("PRIVATE KEY") {
                SigningKey::load(&path)?.public_key()
            } else {
                PublicKey::load_pem(&path)?
            };
            (public, path, None)
        }
        None => {
            let archive = Archive::open(root)?;
            let path = archive.public_key_path();
            let public = archive.public_key()?;
            (public, path, Some(archive.config().origin.clone()))
        }
    };
    if json {
        json_line(&json!({
            "path": path,
            "fingerprint": public.fingerprint().to_string(),
            "openssh": public.to_openssh(),
            "public_key_pem": public.to_spki_pem(),
            "origin": origin,
        }))?;
    } else {
        let mut o = crate::output::text_stdout();
        writeln!(o, "Key          {}", path.display())?;
        writeln!(o, "Fingerprint  {}", public.fingerprint())?;
        writeln!(o, "OpenSSH      {}", public.to_openssh())?;
        if let Some(origin) = origin {
            writeln!(o, "Origin       {origin}")?;
        }
        write!(o, "{}", public.to_spki_pem())?;
    }
    Ok(EXIT_OK)
}

fn parse_capture_id(archive: &Archive, s: &str) -> Result<u64, Failure> {
    let id: RecordId = s
        .parse()
        .map_err(|e: exhibit_core::id::IdError| Failure::bad_input(e.to_string()))?;
    if id.kind() != RecordKind::Capture || id.prefix() != archive.prefix().as_str() {
        return Err(Failure::bad_input(format!(
            "{s}: not a capture id of this archive"
        )));
    }
    Ok(id.number())
}

fn list(root: &Path, args: ListArgs, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let before = args
        .before
        .as_deref()
        .map(|b| parse_capture_id(&archive, b))
        .transpose()?;
    let document = args
        .document
        .as_deref()
        .map(|d| archive.document(d).map(|d| d.id.number()))
        .transpose()?;
    // One more than asked for says whether there is a next page.
    let mut rows = archive.captures(args.limit.saturating_add(1), before, document)?;
    let more = rows.len() as u64 > args.limit;
    rows.truncate(args.limit.min(usize::MAX as u64) as usize);
    // Each row is stated only if its signed manifest says the same.
    if !rows.is_empty() {
        let public = archive.public_key()?;
        for r in &rows {
            archive
                .signed_capture(r.id.number(), &public)?
                .require_catalog_agrees()?;
        }
    }
    if json {
        for r in &rows {
            json_line(r)?;
        }
    } else if rows.is_empty() {
        writeln!(
            crate::output::text_stdout(),
            "No captures. Capture something with `exhibit capture URL`."
        )?;
    } else {
        output::capture_table(&rows)?;
        if more && let Some(last) = rows.last() {
            writeln!(
                crate::output::text_stdout(),
                "… more: exhibit list --before {}",
                last.id
            )?;
        }
    }
    Ok(EXIT_OK)
}

fn show(root: &Path, query: &str, json: bool) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let group = archive.resolve_hash_group(query)?;
    let m = &group[0];
    match m.id.kind() {
        RecordKind::Capture => {
            let captures: Vec<exhibit_store::Match> = group
                .iter()
                .filter(|m| m.id.kind() == RecordKind::Capture)
                .cloned()
                .collect();
            show_capture(&archive, &captures, json)
        }
        RecordKind::Version => {
            let v = archive.version(m.id.number())?;
            let public = archive.public_key()?;
            archive.signed_opening(&v, &public)?;
            let d = archive.document(&v.document_id.to_string())?;
            archive.require_document_agrees(&d, &public)?;
            if json {
                json_line(&json!({"version": v, "document": d}))?;
            } else {
                let mut o = crate::output::text_stdout();
                output::document_block(&d, &mut o)?;
                writeln!(o)?;
                output::version_table(std::slice::from_ref(&v), &mut o)?;
            }
            Ok(EXIT_OK)
        }
        RecordKind::Document => changes::history_of(&archive, &m.id.to_string(), json),
        RecordKind::Provision => cite::show_provision(&archive, &m.id, json),
        RecordKind::Reextraction => rules::show_reextraction(&archive, &m.id, json),
    }
}

fn cite_cmd(root: &Path, args: CiteArgs, json: bool) -> Result<u8, Failure> {
    match &args.quote {
        Some(q) => cite::cite_quote(root, &args.query, q, args.occurrence, args.short, json),
        None => cite::cite(root, &args.query, args.short, json),
    }
}

fn show_capture(
    archive: &Archive,
    group: &[exhibit_store::Match],
    json: bool,
) -> Result<u8, Failure> {
    let public = archive.public_key()?;
    // The first capture whose signed manifest carries the hash asked for, and the others that
    // do too; a catalog row claiming a hash its manifest does not carry is named and skipped.
    let mut chosen = None;
    let mut same_hash = Vec::new();
    for m in group {
        if chosen.is_none() {
            let signed = archive.read_signed_capture(m.id.number(), &public)?;
            if m.field == "id" || signed.carries_hash(m.field, &m.hash) {
                chosen = Some(signed);
                continue;
            }
            let f = StoreError::catalog_damaged(&m.id, &format!("{} {}", m.field, m.hash));
            output::eprint_line(&format!("exhibit: warning: {f}"));
            continue;
        }
        match archive.signed_match(m, &public) {
            Ok(o) => same_hash.push(o.row.id.to_string()),
            Err(f) => output::eprint_line(&format!("exhibit: warning: {f}")),
        }
    }
    let Some(signed) = chosen else {
        let first = &group[0];
        return Err(StoreError::catalog_damaged(
            &first.id,
            &format!("{} {}", first.field, first.hash),
        )
        .into());
    };
    let valid = signed.signature == Signature::Valid;
    if valid {
        signed.require_catalog_agrees()?;
    }
    let SignedCapture {
        row,
        manifest,
        bytes,
        signature,
        ..
    } = signed;
    if json {
        let value: serde_json::Value = if valid {
            serde_json::from_slice(&bytes).unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        json_line(&json!({
            "capture": row,
            "manifest": value,
            "signature_valid": valid,
            "same_hash_captures": same_hash,
            "manifest_path": archive.root().join(&row.manifest_path),
        }))?;
        return Ok(if valid { EXIT_OK } else { EXIT_FAILED });
    }
    let mut o = output::text_stdout();
    let kind = if manifest.is_success() {
        "Capture"
    } else {
        "FAILED capture"
    };
    writeln!(
        o,
        "{kind} {}  ({})",
        row.id,
        manifest.manifest_type.as_str()
    )?;
    if let Some(problem) = signature.problem(&public) {
        let sig_text = format!("INVALID: {problem}");
        writeln!(o, "Signature  {sig_text}")?;
        writeln!(
            o,
            "Manifest   {}  sha256 {}",
            row.manifest_path, row.manifest_sha256
        )?;
        writeln!(
            o,
            "Not shown: what an unsigned manifest says is no evidence of anything."
        )?;
        return Ok(EXIT_FAILED);
    }
    writeln!(
        o,
        "Document   {}  {}",
        manifest.document.id,
        Inert(&manifest.document.url)
    )?;
    if let Some(e) = &manifest.document.entity {
        writeln!(o, "Entity     {}", Inert(e))?;
    }
    if let Some(t) = &manifest.document.title {
        writeln!(o, "Title      {}", Inert(t))?;
    }
    writeln!(
        o,
        "Captured   {} (as claimed by the signer)",
        output::human_time(&manifest.captured_at)
    )?;
    writeln!(o, "Method     {}", manifest.method.as_str())?;
    if let Some(h) = &manifest.http {
        writeln!(o, "Requested  {}", Inert(&h.request_url))?;
        for r in &h.redirects {
            writeln!(
                o,
                "Redirect   {} {} -> {}",
                r.status,
                Inert(&r.url),
                Inert(&r.location)
            )?;
        }
        writeln!(
            o,
            "Response   {} {}",
            h.status.map_or("(none)".into(), |s| s.to_string()),
            Inert(&h.final_url)
        )?;
    }
    if let Some(f) = &manifest.file {
        writeln!(o, "File       {}", Inert(&f.path))?;
    }
    if let Some(e) = &manifest.error {
        writeln!(o, "Error      {}", Inert(e))?;
    }
    if let Some(c) = &manifest.content {
        writeln!(o, "SHA-256    {}", c.sha256)?;
        writeln!(o, "BLAKE3     {}", c.blake3)?;
        writeln!(o, "Size       {} bytes, {}", c.size, Inert(&c.media_type))?;
    }
    if let Some(t) = &manifest.text {
        writeln!(
            o,
            "Text       sha256 {}  {} bytes  ({} {}, from {})",
            t.sha256,
            t.size,
            Inert(&t.extractor.name),
            t.extractor.version,
            Inert(&t.charset)
        )?;
    }
    if let Some(reason) = &manifest.text_omitted {
        writeln!(o, "Text       none: {}", Inert(reason))?;
    }
    if let Some(v) = &manifest.version {
        let detail = match (&v.previous, &v.opened_by) {
            (Some(p), _) => format!("new (previous {})", p.id),
            (None, Some(o)) => format!("unchanged (opened by {})", o.id),
            (None, None) => "new (first version)".into(),
        };
        writeln!(o, "Version    {} {detail}", v.id)?;
    }
    writeln!(o, "Signer     {}", Inert(&manifest.signer))?;
    writeln!(o, "Signature  valid Ed25519 signature by the archive key")?;
    writeln!(
        o,
        "Manifest   {}  sha256 {}",
        row.manifest_path,
        exhibit_core::Sha256Digest::of(&bytes)
    )?;
    if !same_hash.is_empty() {
        writeln!(o, "Same hash  also in {}", same_hash.join(", "))?;
    }
    Ok(EXIT_OK)
}

/// The object `cat` writes, as a signed manifest describes it.
struct SignedObject {
    /// The capture whose manifest describes it.
    capture: RecordId,
    sha256: exhibit_core::Sha256Digest,
    blake3: exhibit_core::Blake3Digest,
    size: u64,
}

/// The content (or text) a signed manifest gives for `m`, which must carry `text`'s kind.
fn object_of(m: &SignedCapture, text: bool) -> Result<SignedObject, Failure> {
    let facts = if text {
        m.manifest
            .text
            .as_ref()
            .map(|t| (t.sha256, t.blake3, t.size))
    } else {
        m.manifest
            .content
            .as_ref()
            .map(|c| (c.sha256, c.blake3, c.size))
    };
    let (sha256, blake3, size) = facts.ok_or_else(|| Failure {
        code: EXIT_FAILED,
        message: format!(
            "{}: has no {}",
            m.row.id,
            if text { "extracted text" } else { "content" }
        ),
    })?;
    Ok(SignedObject {
        capture: m.row.id.clone(),
        sha256,
        blake3,
        size,
    })
}

/// Resolves a `cat` query to an object described by a signed manifest: the capture a record
/// id names (a version's opening capture, a document's current version's, a provision's), each
/// link checked against the signed manifests; or, for a hash prefix, a capture whose signed
/// manifest carries that content (or text) hash.
fn cat_object(
    archive: &Archive,
    query: &str,
    text: bool,
    public: &PublicKey,
) -> Result<SignedObject, Failure> {
    let matches = archive.resolve(query)?;
    let first = &matches[0];
    if first.field != "id" {
        // The catalog narrows the prefix to one hash; a signed manifest must carry it.
        let sha = archive.resolve_object(query, text)?;
        let hex = sha.to_hex();
        let field = if text {
            "text sha256"
        } else {
            "content sha256"
        };
        let mut refused = None;
        for m in matches
            .iter()
            .filter(|m| m.field == field && m.hash == hex && m.id.kind() == RecordKind::Capture)
        {
            match archive.signed_match(m, public) {
                Ok(signed) => return object_of(&signed, text),
                Err(f) => refused = Some(Failure::from(f)),
            }
        }
        return Err(refused.unwrap_or_else(|| Failure {
            code: EXIT_FAILED,
            message: format!("no signed capture has {field} {hex}"),
        }));
    }
    let signed = archive.signed_capture_of(&first.id, public)?;
    object_of(&signed, text)
}

fn cat(root: &Path, args: CatArgs) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let public = archive.public_key()?;
    let object = cat_object(&archive, &args.query, args.text, &public)?;
    let mut out = std::io::stdout().lock();
    archive
        .objects()
        .write_checked(&object.sha256, &object.blake3, object.size, &mut out)
        .map_err(|e| {
            let f = Failure::from(e);
            Failure {
                message: format!("{} (of {})", f.message, object.capture),
                ..f
            }
        })?;
    out.flush()?;
    Ok(EXIT_OK)
}

/// The bundle time: `SOURCE_DATE_EPOCH` (seconds) when set, for reproducible bundles; else now.
fn bundle_time() -> Result<chrono::DateTime<chrono::Utc>, Failure> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .filter(|t| t.timestamp() >= 0)
            .ok_or_else(|| {
                Failure::bad_input(format!(
                    "SOURCE_DATE_EPOCH={v:?} is not a non-negative number of seconds"
                ))
            }),
        Err(_) => Ok(chrono::Utc::now()),
    }
}

fn bundle(root: &Path, args: BundleArgs, json: bool) -> Result<u8, Failure> {
    let created = bundle_time()?;
    let file_name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Failure::bad_input(format!("--out {}: not a file name", args.out.display()))
        })?;
    let mut archive = Archive::open(root)?;
    let key = archive.signing_key()?;
    let public = archive.public_key()?;
    let mut rows = Vec::new();
    let mut provisions = Vec::new();
    for query in &args.records {
        // A provision brings the capture whose text it quotes.
        if !query.contains("://") {
            for m in archive.resolve_hash_group(query)? {
                if m.id.kind() == RecordKind::Provision {
                    provisions.push(archive.provision(m.id.number())?);
                }
            }
        }
        rows.extend(archive.select_captures(query)?);
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows.dedup_by(|a, b| a.id == b.id);
    provisions.sort_by(|a, b| a.id.cmp(&b.id));
    provisions.dedup_by(|a, b| a.id == b.id);
    // Every record's inclusion proof refers to one checkpoint that covers all of them: the
    // earliest timestamped one when there is one (the tightest "existed no later than"), else
    // the latest, signed now if the log grew since.
    let latest = archive.sign_checkpoint(&key)?;
    let needed = rows
        .iter()
        .map(|r| r.log_index)
        .chain(provisions.iter().map(|p| p.log_index))
        .max()
        .map_or(0, |i| i + 1);
    // Tokens of the TSAs configured now (one that was removed may not be trusted any more);
    // of any TSA when none is configured.
    let tsas: Vec<String> = archive
        .config()
        .tsa
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let checkpoint = archive
        .earliest_timestamped_checkpoint(needed, &tsas)?
        .unwrap_or(latest);
    let timestamps = bundle_timestamps(&archive, &checkpoint, &tsas)?;
    if timestamps.is_empty() && !archive.config().tsa.is_empty() {
        eprintln!(
            "exhibit: note: checkpoint {} is not timestamped yet, so the bundle carries no \
             timestamp (`exhibit log timestamp` asks the TSAs, then bundle again)",
            checkpoint.size
        );
    }
    let mut records = Vec::with_capacity(rows.len());
    for row in &rows {
        let (manifest_bytes, signature) = archive.read_manifest(row)?;
        let manifest = CaptureManifest::parse(&manifest_bytes).map_err(|e| Failure {
            code: EXIT_FAILED,
            message: format!("{}: {e}", row.manifest_path),
        })?;
        if manifest.signer != public.fingerprint().to_string() {
            return Err(Failure {
                code: EXIT_FAILED,
                message: format!(
                    "{}: signed by {}, which is not this archive's key {}",
                    row.id,
                    manifest.signer,
                    public.fingerprint()
                ),
            });
        }
        let proof = exhibit_core::checkpoint::TlogProof {
            extra: None,
            index: row.log_index,
            proof: archive.inclusion_proof(row.log_index, &checkpoint)?,
            checkpoint: checkpoint.note.clone(),
        };
        records.push(exhibit_bundle::BundleRecord {
            id: row.id.clone(),
            manifest_bytes,
            signature,
            manifest: exhibit_core::AnyManifest::Capture(manifest),
            tlog_proof: Some(proof.to_text()),
            log_index: Some(row.log_index),
        });
    }
    for row in &provisions {
        let (manifest_bytes, signature) = archive.read_provision_manifest(row)?;
        let manifest =
            exhibit_core::ProvisionManifest::parse(&manifest_bytes).map_err(|e| Failure {
                code: EXIT_FAILED,
                message: format!("{}: {e}", row.manifest_path),
            })?;
        let proof = exhibit_core::checkpoint::TlogProof {
            extra: None,
            index: row.log_index,
            proof: archive.inclusion_proof(row.log_index, &checkpoint)?,
            checkpoint: checkpoint.note.clone(),
        };
        records.push(exhibit_bundle::BundleRecord {
            id: row.id.clone(),
            manifest_bytes,
            signature,
            manifest: exhibit_core::AnyManifest::Provision(manifest),
            tlog_proof: Some(proof.to_text()),
            log_index: Some(row.log_index),
        });
    }
    let spec = exhibit_bundle::Bundle {
        name: exhibit_bundle::layout::bag_name_for(&file_name),
        origin: archive.config().origin.clone(),
        created,
        records,
        public_keys: vec![public],
        seal: &key,
        file_name,
        checkpoint: Some(checkpoint.note.clone()),
        timestamps,
    };
    let objects = archive.objects();
    let open = |sha: &exhibit_core::Sha256Digest| -> std::io::Result<Box<dyn std::io::Read>> {
        objects
            .open(sha)
            .map(|r| Box::new(r) as Box<dyn std::io::Read>)
            .map_err(std::io::Error::other)
    };
    let summary = exhibit_store::fsutil::create_file_with(&args.out, |w| {
        exhibit_bundle::write_bundle(w, &spec, &open).map_err(|e| Failure {
            code: EXIT_FAILED,
            message: e.to_string(),
        })
    })?;
    if json {
        json_line(&json!({
            "bundle": args.out,
            "records": spec.records.iter().map(|r| r.id.to_string()).collect::<Vec<_>>(),
            "payload_files": summary.payload_files,
            "payload_bytes": summary.payload_bytes,
            "sealed_by": summary.sealed_by,
        }))?;
    } else {
        let mut o = crate::output::text_stdout();
        writeln!(
            o,
            "Wrote {} ({} record(s), {} payload file(s), {} bytes), sealed by {}",
            args.out.display(),
            spec.records.len(),
            summary.payload_files,
            summary.payload_bytes,
            summary.sealed_by
        )?;
        writeln!(
            o,
            "Check it: exhibit-verify {} --key {}",
            exhibit_bundle::layout::shell_quote(&args.out.display().to_string()),
            summary.sealed_by
        )?;
    }
    Ok(EXIT_OK)
}

/// The tokens the archive holds over `checkpoint` from the TSAs in `tsas` (all when empty), each
/// re-checked against the note's bytes
/// (a damaged token file is left out, with a warning, rather than bundled).
fn bundle_timestamps(
    archive: &Archive,
    checkpoint: &exhibit_store::SignedCheckpoint,
    tsas: &[String],
) -> Result<Vec<exhibit_bundle::BundleTimestamp>, Failure> {
    let mut out = Vec::new();
    for stamp in archive.timestamps(checkpoint.size)? {
        if !tsas.is_empty() && !tsas.contains(&stamp.tsa) {
            continue;
        }
        let response = archive.read_timestamp(&stamp)?;
        let checked = exhibit_timestamp::Token::parse_response(&response)
            .and_then(|t| t.check_message(checkpoint.note.as_bytes()));
        match checked {
            Ok(()) => out.push(exhibit_bundle::BundleTimestamp {
                tsa: stamp.tsa,
                response,
            }),
            Err(e) => output::eprint_line(&format!(
                "exhibit: warning: {}: {e}; not bundled (the archive's copy is damaged)",
                stamp.path.display()
            )),
        }
    }
    Ok(out)
}

fn verify(root: &Path, args: VerifyArgs, json: bool) -> Result<u8, Failure> {
    if let Some(f) = cite::verify_mode_error(
        args.bundle.is_some(),
        args.citation.is_some(),
        args.hash.is_some(),
        args.file.is_some(),
    ) {
        return Err(f);
    }
    let mut options = exhibit_verify::Options::default();
    for k in &args.keys {
        options.trusted.push(
            exhibit_verify::TrustedKey::from_arg(k)
                .map_err(|e| Failure::bad_input(e.to_string()))?,
        );
    }
    options.tsa_anchors = exhibit_verify::load_tsa_anchors(&args.tsa_ca)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let Some(bundle) = &args.bundle else {
        if !args.tsa_ca.is_empty() {
            return Err(Failure::bad_input(
                "--tsa-ca checks the timestamps in a bundle: give the bundle too",
            ));
        }
        let keys: Vec<String> = options
            .trusted
            .iter()
            .map(|t| t.fingerprint().to_string())
            .collect();
        return match (&args.citation, &args.hash, &args.file) {
            (Some(c), _, _) => cite::verify_citation(root, c, &keys, json),
            (_, Some(h), _) => cite::verify_hash(root, h, json),
            (_, _, Some(f)) => cite::verify_file(root, f, json),
            _ => Err(Failure::bad_input("nothing to verify")),
        };
    };
    if options.trusted.is_empty() && args.citation.is_none() && root.join("exhibit.toml").is_file()
    {
        // A bundle alone, without --key: trust this archive's own key.
        let archive = Archive::open(root)?;
        let public = archive.public_key()?;
        options
            .trusted
            .push(exhibit_verify::TrustedKey::Key(public));
    }
    let citations = args
        .citation
        .as_deref()
        .map(exhibit_verify::citation::read_citations)
        .transpose()
        .map_err(Failure::bad_input)?;
    let prefix = args
        .hash
        .as_deref()
        .map(exhibit_core::HashPrefix::parse)
        .transpose()
        .map_err(|e| Failure::bad_input(format!("--hash: {e}")))?;
    let answer = exhibit_verify::answer_bundle(bundle, options, citations, prefix)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    if json {
        json_line(&answer.to_json())?;
    } else {
        write!(crate::output::text_stdout(), "{}", answer.render())?;
    }
    Ok(answer.verdict.exit_code())
}

fn log(root: &Path, cmd: LogCommand, json: bool) -> Result<u8, Failure> {
    let mut archive = Archive::open(root)?;
    let origin = archive.config().origin.clone();
    let public = archive.public_key()?;
    match cmd {
        LogCommand::Key => {
            let vkey = exhibit_sign::note::verifier_key(&origin, &public);
            if json {
                json_line(&json!({"verifier_key": vkey, "origin": origin}))?;
            } else {
                writeln!(crate::output::text_stdout(), "{vkey}")?;
            }
        }
        LogCommand::Checkpoint => {
            let size = archive.log_size()?;
            let latest = archive.latest_checkpoint()?;
            let checkpoint = match latest {
                Some(cp) if cp.size == size => cp,
                // The log grew since the last checkpoint (an interrupted command): sign one.
                _ => {
                    let key = archive.signing_key()?;
                    let cp = archive.sign_checkpoint(&key)?;
                    tsa::stamp_latest(&mut archive)?;
                    cp
                }
            };
            if json {
                json_line(&json!({
                    "origin": origin,
                    "size": checkpoint.size,
                    "root": exhibit_core::checkpoint::base64_encode(&checkpoint.root),
                    "note": checkpoint.note,
                }))?;
            } else {
                write!(crate::output::text_stdout(), "{}", checkpoint.note)?;
            }
        }
        LogCommand::Prove { query } => {
            let group = archive.resolve_hash_group(&query)?;
            let m = &group[0];
            let (id, log_index) = match m.id.kind() {
                RecordKind::Capture => {
                    let row = archive.capture(m.id.number())?;
                    (row.id, row.log_index)
                }
                RecordKind::Provision => {
                    let row = archive.provision(m.id.number())?;
                    (row.id, row.log_index)
                }
                RecordKind::Reextraction => {
                    let row = archive.reextraction(m.id.number())?;
                    (row.id, row.log_index)
                }
                _ => {
                    return Err(Failure::bad_input(format!(
                        "{}: log proofs are for captures, provisions and re-extractions (their manifests are the leaves)",
                        m.id
                    )));
                }
            };
            let checkpoint = match archive.latest_checkpoint()? {
                Some(cp) if cp.size > log_index => cp,
                _ => {
                    let key = archive.signing_key()?;
                    archive.sign_checkpoint(&key)?
                }
            };
            let proof = exhibit_core::checkpoint::TlogProof {
                extra: None,
                index: log_index,
                proof: archive.inclusion_proof(log_index, &checkpoint)?,
                checkpoint: checkpoint.note.clone(),
            };
            if json {
                json_line(&json!({
                    "id": id,
                    "index": log_index,
                    "tree_size": checkpoint.size,
                    "tlog_proof": proof.to_text(),
                }))?;
            } else {
                write!(crate::output::text_stdout(), "{}", proof.to_text())?;
            }
        }
        LogCommand::Timestamp => return tsa::log_timestamp(&mut archive, json),
        LogCommand::Consistency { old_checkpoint } => {
            return log_consistency(&mut archive, &origin, &public, &old_checkpoint, json);
        }
    }
    Ok(EXIT_OK)
}

fn log_consistency(
    archive: &mut Archive,
    origin: &str,
    public: &PublicKey,
    path: &Path,
    json: bool,
) -> Result<u8, Failure> {
    let shown = path.display();
    let bytes = exhibit_store::fsutil::read_limited(path, 1 << 20)
        .map_err(|e| Failure::bad_input(e.to_string()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::bad_input(format!("{shown}: not UTF-8 text")))?;
    let note = exhibit_sign::note::SignedNote::parse(&text)
        .map_err(|e| Failure::bad_input(format!("{shown}: {e}")))?;
    let old = exhibit_core::checkpoint::Checkpoint::parse(&note.text)
        .map_err(|e| Failure::bad_input(format!("{shown}: {e}")))?;
    let mismatch = |message: String| -> Result<u8, Failure> {
        Err(Failure {
            code: EXIT_FAILED,
            message: format!("{shown}: {message}"),
        })
    };
    if old.origin != origin {
        return mismatch(format!(
            "checkpoint of log {:?}, not of this archive ({origin:?})",
            old.origin
        ));
    }
    if let Err(e) = note.verify(origin, public) {
        return mismatch(format!(
            "not signed by this archive's key {}: {e}",
            public.fingerprint()
        ));
    }
    let key = archive.signing_key();
    let current = match (archive.latest_checkpoint()?, key) {
        (Some(cp), _) if cp.size == archive.log_size()? => cp,
        (_, Ok(key)) => archive.sign_checkpoint(&key)?,
        (Some(cp), Err(_)) => cp,
        (None, Err(e)) => return Err(e.into()),
    };
    if old.size > current.size {
        return mismatch(format!(
            "the checkpoint has {} leaves but the log has only {}: the log was truncated or rewritten",
            old.size, current.size
        ));
    }
    let ours = archive.log_root(old.size)?;
    if ours != old.root {
        return mismatch(format!(
            "the log's first {} leaves hash to {}, but the checkpoint says {}: history was rewritten",
            old.size,
            exhibit_core::checkpoint::base64_encode(&ours),
            exhibit_core::checkpoint::base64_encode(&old.root)
        ));
    }
    let proof = if old.size == 0 || old.size == current.size {
        Vec::new()
    } else {
        let proof = archive.consistency_proof(old.size, current.size)?;
        if let Err(e) = exhibit_core::merkle::verify_consistency(
            old.size,
            current.size,
            &old.root,
            &current.root,
            &proof,
        ) {
            return mismatch(format!("consistency proof does not verify: {e}"));
        }
        proof
    };
    let b64 = exhibit_core::checkpoint::base64_encode;
    if json {
        json_line(&json!({
            "consistent": true,
            "trivial": old.size == 0,
            "old_size": old.size,
            "old_root": b64(&old.root),
            "new_size": current.size,
            "new_root": b64(&current.root),
            "proof": proof.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "new_checkpoint": current.note,
        }))?;
    } else {
        let mut o = crate::output::text_stdout();
        if old.size == 0 {
            writeln!(
                o,
                "Trivially consistent: the checkpoint is of the empty log, which every log extends (no proof needed)."
            )?;
            return Ok(EXIT_OK);
        }
        writeln!(
            o,
            "Consistent: the log of {} leaves (root {}) extends the checkpoint of {} leaves (root {}).",
            current.size,
            b64(&current.root),
            old.size,
            b64(&old.root)
        )?;
        writeln!(o, "Consistency proof ({} hashes):", proof.len())?;
        for h in &proof {
            writeln!(o, "  {}", b64(h))?;
        }
    }
    Ok(EXIT_OK)
}
