//! Archives in an S3 bucket at the command line: which commands read and which write (each runs
//! in an `exhibit_store::remote::Session`), and `init --store`, which makes a new archive in a
//! bucket or joins the one already there.

use std::io::Write;
use std::path::Path;

use exhibit_store::config::StoreSettings;
use exhibit_store::remote::{Access, Identity, Remote};
use exhibit_store::{Archive, InitOptions};
use serde_json::json;

use crate::cli::{Command, InitArgs, KeyCommand, LogCommand, TsaCommand, WitnessCommand};
use crate::output::json_line;
use crate::{EXIT_OK, Failure};

/// What `command` does with an archive in a bucket: `None` for commands that do not touch its
/// records (key generation, completions, this host's TSA and witness settings, `init`, which
/// has its own path, and `reindex`, which pulls by itself).
pub fn access(command: &Command) -> Option<Access> {
    use Command::*;
    match command {
        Init(_) | Completions(_) | Man(_) | Reindex => None,
        Key(KeyCommand::Generate { .. }) => None,
        Key(KeyCommand::Show { .. } | KeyCommand::History) => Some(Access::Read),
        Key(KeyCommand::Rotate { .. } | KeyCommand::Revoke { .. }) => Some(Access::Write),
        Tsa(TsaCommand::Add { .. } | TsaCommand::Remove { .. }) => None,
        Tsa(TsaCommand::List) => Some(Access::Read),
        Witness(WitnessCommand::Serve(_)) => None,
        // Serving reads; it fetches from the bucket again every --refresh seconds by itself.
        Serve(_) => Some(Access::Read),
        // Webhooks are this host's settings and its outbox.
        Notify(_) => None,
        Witness(WitnessCommand::Add { .. } | WitnessCommand::Remove { .. }) => None,
        Witness(_) => Some(Access::Read),
        Log(LogCommand::Key) => Some(Access::Read),
        // Every other log command may sign a checkpoint of the log as it is.
        Log(_) => Some(Access::Write),
        List(_) | Show(_) | Cat(_) | History(_) | Documents(_) | Diff(_) | Verify(_) | Fsck(_) => {
            Some(Access::Read)
        }
        // Records, rules, provisions, and the checkpoints bundles, reports and citations sign.
        Capture(_) | Import(_) | Reextract(_) | Document(_) | Cite(_) | Bundle(_) | Report(_)
        | Export(_) => Some(Access::Write),
    }
}

/// `init --store`: a new archive in the bucket, or this host joining the archive there.
pub fn init(root: &Path, args: InitArgs, json: bool) -> Result<u8, Failure> {
    let (Some(url), Some(endpoint)) = (args.store.clone(), args.endpoint.clone()) else {
        return Err(Failure::bad_input("--store needs --endpoint"));
    };
    let settings = StoreSettings {
        url,
        endpoint,
        region: args.region.clone(),
        retention: args.retention.clone(),
    };
    let remote = Remote::connect(&settings)?;
    let existing = remote.identity()?;
    let joining = existing.is_some();
    let mut options = InitOptions {
        origin: args.origin.clone(),
        prefix: args.prefix.clone(),
        key: args.key.clone(),
        tsa: args.tsa.clone(),
        tsa_ca: args
            .tsa_ca
            .as_deref()
            .map(exhibit_ops::timestamps::read_ca_bundle)
            .transpose()?,
        root_key: args.root_key.clone(),
        store: Some(settings),
    };
    if let Some(id) = &existing {
        if args.key.is_none() {
            return Err(Failure::bad_input(format!(
                "{} already holds the archive {:?}: to join it, give its current signing key with --key",
                remote.url(),
                id.origin
            )));
        }
        if args.root_key.is_some() {
            return Err(Failure::bad_input(
                "--root-key makes a new archive; the archive in the bucket already has its key history",
            ));
        }
        for (what, given, theirs) in [
            ("origin", &args.origin, &id.origin),
            ("prefix", &args.prefix, &id.prefix),
        ] {
            if given.as_ref().is_some_and(|g| g != theirs) {
                return Err(Failure::bad_input(format!(
                    "--{what} {:?} differs from the {what} of the archive in {} ({theirs:?})",
                    given.as_deref().unwrap_or_default(),
                    remote.url()
                )));
            }
        }
        if args.retention.is_some() && args.retention != id.retention {
            return Err(Failure::bad_input(format!(
                "--retention {:?} differs from the retention of the archive in {} ({})",
                args.retention.as_deref().unwrap_or_default(),
                remote.url(),
                id.retention.as_deref().unwrap_or("none")
            )));
        }
        options.origin = Some(id.origin.clone());
        options.prefix = Some(id.prefix.clone());
        if let Some(store) = &mut options.store {
            store.retention = id.retention.clone();
        }
    }
    let archive = Archive::init(root, options)?;
    let config = archive.config().clone();
    let root = archive.root().to_path_buf();
    drop(archive);
    let outcome = if joining {
        exhibit_store::remote::pull(&root).map(|r| r.unwrap_or_default().records)
    } else {
        // Claimed first (write-once: of two hosts making an archive here at once, one wins),
        // then the key history of a root-key archive goes up with the first session.
        remote
            .claim(&Identity {
                format: config.format,
                origin: config.origin.clone(),
                prefix: config.prefix.clone(),
                retention: config.store.as_ref().and_then(|s| s.retention.clone()),
            })
            .and_then(
                |()| match exhibit_store::remote::Session::start(&root, Access::Write)? {
                    Some(s) => s.finish(),
                    None => Ok(()),
                },
            )
            .map(|()| 0)
    };
    let records = match outcome {
        Ok(n) => n,
        Err(e) => {
            // Nothing of this archive is anywhere else yet: the local directory goes.
            let _ = std::fs::remove_dir_all(&root);
            return Err(e.into());
        }
    };
    if json {
        json_line(&json!({
            "archive": root,
            "store": remote.url(),
            "joined": joining,
            "records": records,
            "origin": config.origin,
            "prefix": config.prefix,
        }))?;
    } else {
        let mut out = crate::output::text_stdout();
        let verb = if joining { "Joined" } else { "Initialised" };
        writeln!(
            out,
            "{verb} exhibit archive {} in {}",
            root.display(),
            remote.url()
        )?;
        writeln!(out, "  origin       {}", config.origin)?;
        writeln!(out, "  id prefix    {}", config.prefix)?;
        writeln!(out, "  signing key  {}", config.key_path(&root).display())?;
        if joining {
            writeln!(out, "  records      {records} (fetched from the bucket)")?;
        }
        if let Some(r) = &config.store.as_ref().and_then(|s| s.retention.clone()) {
            writeln!(out, "  retention    {r} (S3 Object Lock, compliance mode)")?;
        }
    }
    Ok(EXIT_OK)
}
