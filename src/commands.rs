//! One function per subcommand: call the libraries, print the result.

use std::io::Write;
use std::path::{Path, PathBuf};

use exhibit_core::{Inert, RecordId, RecordKind};
use exhibit_sign::{PublicKey, SigningKey};
use exhibit_store::{Archive, InitOptions, Signature, SignedCapture};
use serde_json::json;

use crate::cli::{
    CatArgs, CiteArgs, Cli, Command, DocumentCommand, InitArgs, KeyCommand, ListArgs, VerifyArgs,
};
use crate::output::{self, json_line};
use crate::{EXIT_FAILED, EXIT_OK, Failure};
use crate::{bundle, capture, changes, cite, conventions, fsck, log, reindex, rules, tsa, witness};

/// Runs the parsed command; returns the exit status. On an archive in an S3 bucket, the command
/// runs in a session (`exhibit_store::remote::Session`): the local copy is brought up to the
/// bucket first, and a command that writes holds the bucket's write lease until it ends.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let session = match crate::bucket::access(&cli.command) {
        Some(access) => exhibit_store::remote::Session::start(&cli.archive, access)?,
        None => None,
    };
    let outcome = dispatch(cli);
    match session {
        Some(s) => {
            let finished = s.finish();
            let code = outcome?;
            finished?;
            Ok(code)
        }
        None => outcome,
    }
}

fn dispatch(cli: Cli) -> Result<u8, Failure> {
    let json = cli.json;
    match cli.command {
        Command::Init(args) => init(&cli.archive, args, json),
        Command::Key(KeyCommand::Generate { out }) => key_generate(&out, json),
        Command::Key(KeyCommand::Show { path }) => key_show(&cli.archive, path, json),
        Command::Key(KeyCommand::Rotate {
            new_key,
            finish,
            root_key,
        }) => crate::keys::rotate(&cli.archive, new_key, finish, root_key, json),
        Command::Key(KeyCommand::Revoke {
            compromised_since,
            key,
            new_key,
            root_key,
        }) => crate::keys::revoke(
            &cli.archive,
            &compromised_since,
            (key, new_key, root_key),
            json,
        ),
        Command::Key(KeyCommand::History) => crate::keys::history(&cli.archive, json),
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
        Command::Bundle(args) => bundle::bundle(&cli.archive, args, json),
        Command::Report(args) => bundle::report(&cli.archive, args, json),
        Command::Export(args) => bundle::export(&cli.archive, args, json),
        Command::Import(args) => crate::import::import(&cli.archive, args, json),
        Command::Verify(args) => verify(&cli.archive, args, json),
        Command::Log(cmd) => log::log(&cli.archive, cmd, json),
        Command::Tsa(cmd) => tsa::tsa(&cli.archive, cmd, json),
        Command::Witness(cmd) => witness::witness(&cli.archive, cmd, json),
        Command::Fsck(args) => fsck::fsck(&cli.archive, args, json),
        Command::Reindex => reindex::reindex(&cli.archive, json),
        Command::Serve(args) => crate::serve::serve(&cli.archive, args),
        Command::Notify(cmd) => crate::notify::notify(&cli.archive, cmd, json),
        Command::Completions(args) => conventions::completions(args),
        Command::Man(args) => conventions::man(args, json),
    }
}

fn init(root: &Path, args: InitArgs, json: bool) -> Result<u8, Failure> {
    if args.store.is_some() {
        return crate::bucket::init(root, args, json);
    }
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
                .map(exhibit_ops::timestamps::read_ca_bundle)
                .transpose()?,
            root_key: args.root_key,
            store: None,
        },
    )?;
    let config = archive.config();
    let public = archive.keys()?;
    let key_path = config.key_path(archive.root());
    if json {
        json_line(&json!({
            "archive": archive.root(),
            "origin": config.origin,
            "prefix": config.prefix,
            "key": key_path,
            "public_key": archive.public_key_path(),
            "fingerprint": public.current().fingerprint,
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
        writeln!(out, "  fingerprint  {}", public.current().fingerprint)?;
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
            let public = archive.keys()?.current().key.clone();
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
        let public = archive.keys()?;
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
            let public = archive.keys()?;
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
    let public = archive.keys()?;
    // The first capture whose signed manifest carries the hash asked for, and the others that
    // do too; a catalog row claiming a hash its manifest does not carry is named and skipped.
    let shown = exhibit_ops::records::choose_capture(archive, &public, group, &mut |f| {
        output::eprint_line(&format!("exhibit: warning: {f}"))
    })?;
    let manifest_sha256 = shown.manifest_sha256;
    let same_hash = shown.same_hash;
    let SignedCapture {
        row,
        manifest,
        bytes,
        signature,
        ..
    } = shown.signed;
    let valid = signature == Signature::Valid;
    if json {
        let value: serde_json::Value = if valid {
            serde_json::from_slice(&bytes).unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        let certificates: Vec<_> = if valid {
            let refs: Vec<exhibit_core::connection::ObjectRef> = manifest
                .objects()
                .iter()
                .filter(|o| o.role == exhibit_core::manifest::ObjectRole::Certificate)
                .map(|o| exhibit_core::connection::ObjectRef {
                    sha256: o.sha256,
                    blake3: o.blake3,
                    size: o.size,
                })
                .collect();
            exhibit_ops::tls::describe_certificates(archive, &refs)
        } else {
            Vec::new()
        };
        json_line(&json!({
            "capture": row,
            "certificates": certificates,
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
    if let Some(w) = &manifest.warc {
        writeln!(
            o,
            "From       {} (SHA-256 {}, {} bytes)",
            Inert(&w.file_name),
            w.file_sha256,
            w.file_size
        )?;
        writeln!(
            o,
            "Record     {} {} at byte {}",
            Inert(&w.record_type),
            Inert(&w.record_id),
            w.offset
        )?;
        writeln!(o, "Target     {}", Inert(&w.target_uri))?;
        writeln!(
            o,
            "WARC date  {} (the WARC writer's claim, not exhibit's)",
            Inert(&w.warc_date)
        )?;
    }
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
        output::connections(archive, h, &mut o)?;
    }
    if let Some(b) = &manifest.browser {
        output::browser(b, &mut o)?;
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
        row.manifest_path, manifest_sha256
    )?;
    if !same_hash.is_empty() {
        writeln!(o, "Same hash  also in {}", same_hash.join(", "))?;
    }
    Ok(EXIT_OK)
}

fn cat(root: &Path, args: CatArgs) -> Result<u8, Failure> {
    let archive = Archive::open(root)?;
    let public = archive.keys()?;
    if args.tls_chain {
        let pem = exhibit_ops::tls::chain_pem(&archive, &args.query, &public)?;
        let mut out = std::io::stdout().lock();
        out.write_all(pem.as_bytes())?;
        out.flush()?;
        return Ok(EXIT_OK);
    }
    use exhibit_ops::records::Rendering;
    let rendering = [
        (args.screenshot, Rendering::Screenshot),
        (args.pdf, Rendering::Pdf),
        (args.dom, Rendering::Dom),
    ]
    .into_iter()
    .find_map(|(asked, r)| asked.then_some(r));
    let object = match rendering {
        Some(r) => exhibit_ops::records::rendering_for(&archive, &args.query, r, &public)?,
        None => exhibit_ops::records::object_for(&archive, &args.query, args.text, &public)?,
    };
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
    options.witnesses =
        exhibit_verify::WitnessPolicy::from_args(&args.witnesses, args.witness_quorum)
            .map_err(|e| Failure::bad_input(e.to_string()))?;
    let Some(bundle) = &args.bundle else {
        if !args.tsa_ca.is_empty() || !args.witnesses.is_empty() {
            return Err(Failure::bad_input(
                "--tsa-ca and --witness check a bundle's timestamps and cosignatures: give the bundle too",
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
        let public = archive.keys()?.current().key.clone();
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
