//! `exhibit-verify`: verifies an exhibit evidence bundle offline.
//!
//! Exit status: 0 verified with a pinned key; 1 something does not match; 2 the input could
//! not be read or is malformed; 3 every check passed but no trusted key was given.
//!
//! Also the command-line conventions, generated from the same clap definitions:
//! `exhibit-verify completions SHELL` (clap_complete) and `exhibit-verify man [--out DIR]`
//! (clap_mangen). A bundle whose file name is one of those words is given as `./man`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use exhibit_verify::citation::read_citations;
use exhibit_verify::{Options, TrustedKey, answer_bundle};

/// Verify an exhibit evidence bundle (.tar.zst), or a WACZ package that carries one, offline,
/// trusting only the keys you pin.
#[derive(Parser, Debug)]
#[command(
    name = "exhibit-verify",
    version,
    about,
    after_help = EXIT_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
struct Cli {
    /// Generate a completion script or the man page instead of verifying.
    #[command(subcommand)]
    command: Option<Command>,
    /// The bundle file (.tar.zst), or a WACZ package made by `exhibit export --wacz`.
    #[arg(required = true)]
    bundle: Option<PathBuf>,
    /// A trusted signer: an SPKI PEM public key file, or a fingerprint (SHA256:…). Repeatable.
    #[arg(long = "key", value_name = "PEM|FINGERPRINT")]
    keys: Vec<String>,
    /// Check a citation record from a filing (a file, or - for stdin) against the bundle.
    /// Without --key its Signed-By line pins the signer; with --key it must name one of those
    /// keys.
    #[arg(long, value_name = "FILE|-")]
    citation: Option<String>,
    /// Say whether the bundle holds a record with this SHA-256 (8 to 64 hex digits).
    #[arg(long, value_name = "PREFIX")]
    hash: Option<String>,
    /// Check the bundle's RFC 3161 timestamps against these trusted TSA CA certificates (a PEM
    /// bundle; repeatable). Without it, timestamps are reported but not checked.
    #[arg(long = "tsa-ca", value_name = "PEM")]
    tsa_ca: Vec<PathBuf>,
    /// A witness whose cosignature on the bundle's checkpoint is required: its vkey
    /// (`name+id+base64`, as `exhibit witness key` prints it). Repeatable.
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned (default: all of them).
    #[arg(long = "witness-quorum", value_name = "K", requires = "witnesses")]
    witness_quorum: Option<usize>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// What `exhibit-verify` does besides verifying a bundle.
#[derive(Subcommand, Debug)]
enum Command {
    /// Print a shell completion script for exhibit-verify (bash, zsh, fish, elvish or
    /// powershell).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print exhibit-verify's man page (exhibit-verify.1), or with --out write it and one page
    /// per subcommand into a directory.
    Man {
        /// Write exhibit-verify.1 and a page per subcommand into this directory (created if
        /// missing) instead of printing exhibit-verify.1.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

const EXIT_HELP: &str = "Exit status: 0 verified (every check passed, every signer pinned); \
1 something does not match (a citation field differs or states a fact no field checks, a cited \
record or hash is not in the bundle, a signer is not a --key, a timestamp does not chain to \
--tsa-ca, fewer --witness cosignatures than the quorum); 2 the input could not be read or is malformed (a citation that cannot be parsed); \
3 every check passed but no signer is pinned (no --key, and no Signed-By in the citation). \
With --key only those keys are trusted: a citation's Signed-By never adds one.";

fn main() -> ExitCode {
    let cli = match Cli::try_parse().map_err(unexpected_word) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let bundle = match (cli.command, cli.bundle) {
        (Some(Command::Completions { shell }), _) => {
            return write_stdout(&completion_script(shell));
        }
        (Some(Command::Man { out }), _) => return man(out.as_deref()),
        (None, Some(bundle)) => bundle,
        (None, None) => return fail("no bundle given (see --help)"),
    };
    let mut options = Options::default();
    for k in &cli.keys {
        match TrustedKey::from_arg(k) {
            Ok(t) => options.trusted.push(t),
            Err(e) => return fail(&e.to_string()),
        }
    }
    match exhibit_verify::load_tsa_anchors(&cli.tsa_ca) {
        Ok(a) => options.tsa_anchors = a,
        Err(e) => return fail(&e.to_string()),
    }
    match exhibit_verify::WitnessPolicy::from_args(&cli.witnesses, cli.witness_quorum) {
        Ok(w) => options.witnesses = w,
        Err(e) => return fail(&e.to_string()),
    }
    let citations = match cli.citation.as_deref().map(read_citations).transpose() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let prefix = match cli
        .hash
        .as_deref()
        .map(exhibit_core::HashPrefix::parse)
        .transpose()
    {
        Ok(p) => p,
        Err(e) => return fail(&format!("--hash: {e}")),
    };
    let answer = match answer_bundle(&bundle, options, citations, prefix) {
        Ok(a) => a,
        Err(e) => return fail(&e.to_string()),
    };
    if cli.json {
        match serde_json::to_string(&answer.to_json()) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(&format!("output: {e}")),
        }
    } else {
        print!("{}", answer.render());
    }
    ExitCode::from(answer.verdict.exit_code())
}

/// Clap reports any word left over after the bundle (`exhibit-verify a b`) as a subcommand
/// that "cannot be used with '<BUNDLE>'" (`args_conflicts_with_subcommands`); a word that is
/// no subcommand at all is reported as what it is, an unexpected argument. Other errors, and a
/// real subcommand given with a bundle, pass through unchanged.
fn unexpected_word(e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::ArgumentConflict {
        return e;
    }
    let Some(ContextValue::String(word)) = e.get(ContextKind::InvalidSubcommand) else {
        return e;
    };
    let mut cmd = Cli::command();
    if cmd.find_subcommand(word).is_some() {
        return e;
    }
    let usage = cmd.render_usage();
    let mut unexpected = clap::Error::new(ErrorKind::UnknownArgument).with_cmd(&cmd);
    unexpected.insert(ContextKind::InvalidArg, ContextValue::String(word.clone()));
    unexpected.insert(ContextKind::Usage, ContextValue::StyledStr(usage));
    unexpected
}

fn fail(message: &str) -> ExitCode {
    // The message may quote an entry name or a line from the bundle: one line, made inert.
    eprintln!(
        "exhibit-verify: error: {}",
        exhibit_core::inert(&message.replace(['\n', '\r'], " "))
    );
    ExitCode::from(2)
}

/// Writes `bytes` to stdout (exit 0), or fails with exit 2.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("output: {e}")),
    }
}

/// The completion script for `shell`.
fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "exhibit-verify", &mut out);
    out
}

/// The exhibit-verify command with its subcommands' names completed
/// (`exhibit-verify-completions`), as the man pages name them.
fn built_command() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// Every page: `cmd`'s, then each visible subcommand's (depth first), as (file name, roff).
fn man_pages(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render(&mut page)?;
    pages.push((man.get_filename(), page));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, pages)?;
    }
    Ok(())
}

/// `exhibit-verify man [--out DIR]`: exhibit-verify.1 on stdout, or every page written into
/// DIR (each path written is printed).
fn man(out: Option<&Path>) -> ExitCode {
    let cmd = built_command();
    let Some(dir) = out else {
        let mut page = Vec::new();
        return match clap_mangen::Man::new(cmd).render(&mut page) {
            Ok(()) => write_stdout(&page),
            Err(e) => fail(&format!("man page: {e}")),
        };
    };
    let mut pages = Vec::new();
    if let Err(e) = man_pages(&cmd, &mut pages) {
        return fail(&format!("man page: {e}"));
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(&format!("{}: {e}", dir.display()));
    }
    let mut written = String::new();
    for (name, page) in &pages {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, page) {
            return fail(&format!("{}: {e}", path.display()));
        }
        written.push_str(&format!("Wrote {}\n", path.display()));
    }
    write_stdout(exhibit_core::inert::inert_text(&written).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHELLS: [clap_complete::Shell; 5] = [
        clap_complete::Shell::Bash,
        clap_complete::Shell::Zsh,
        clap_complete::Shell::Fish,
        clap_complete::Shell::Elvish,
        clap_complete::Shell::PowerShell,
    ];

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("exhibit-verify").chain(args.iter().copied()))
    }

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completions_mention_every_flag_and_subcommand_in_every_shell() {
        for shell in SHELLS {
            let script = String::from_utf8(completion_script(shell)).expect("UTF-8 script");
            for word in [
                "--key",
                "--citation",
                "--hash",
                "--tsa-ca",
                "--json",
                "--help",
                "--version",
                "completions",
                "man",
                "--out",
            ] {
                // Fish names a flag without its dashes (`-l key`).
                let name = word.trim_start_matches("--");
                assert!(script.contains(name), "{shell}: no {word}");
                if shell != clap_complete::Shell::Fish {
                    assert!(script.contains(word), "{shell}: no {word}");
                }
            }
        }
    }

    #[test]
    fn man_pages_render_for_exhibit_verify_and_each_subcommand() {
        let mut pages = Vec::new();
        man_pages(&built_command(), &mut pages).expect("pages render");
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "exhibit-verify.1",
                "exhibit-verify-completions.1",
                "exhibit-verify-man.1"
            ]
        );
        let top = String::from_utf8(pages[0].1.clone()).expect("UTF-8 page");
        assert!(top.contains(".TH exhibit-verify 1"), "{top:.200}");
        for word in ["tsa\\-ca", "citation", "Exit status"] {
            assert!(top.contains(word), "no {word} in {top}");
        }
    }

    #[test]
    fn a_bundle_and_its_flags_still_parse_as_before() {
        let cli = parse(&["b.tar.zst", "--key", "SHA256:x", "--json"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.bundle.as_deref(), Some(Path::new("b.tar.zst")));
        assert_eq!(cli.keys, ["SHA256:x"]);
        assert!(cli.json);
        let cli = parse(&["--citation", "-", "--hash", "abcdef12", "./man"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.bundle.as_deref(), Some(Path::new("./man")));
        assert_eq!(cli.citation.as_deref(), Some("-"));
        // A flag value that names a subcommand is a value.
        let cli = parse(&["b.tar.zst", "--key", "man"]).expect("parses");
        assert_eq!(cli.keys, ["man"]);
        // No bundle is still an error (exit 2), as are a subcommand mixed with a bundle and a
        // verification flag given to a subcommand.
        for args in [
            &[][..],
            &["--json"],
            &["b.tar.zst", "man"],
            &["man", "--key", "SHA256:x"],
            &["completions"],
            &["completions", "tcsh"],
        ] {
            let e = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert!(e.use_stderr(), "{args:?}");
        }
    }

    #[test]
    fn a_second_bundle_is_an_unexpected_argument_and_a_subcommand_a_conflict() {
        use clap::error::ErrorKind;
        for args in [
            &["a", "b"][..],
            &["a", "--key", "k", "b"],
            &["--json", "a", "b"],
        ] {
            let e = parse(args)
                .map_err(unexpected_word)
                .err()
                .unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(e.kind(), ErrorKind::UnknownArgument, "{args:?}");
            assert!(e.use_stderr());
            let shown = e.to_string();
            assert!(shown.contains("unexpected argument 'b' found"), "{shown}");
            assert!(!shown.contains("subcommand"), "{shown}");
        }
        let e = parse(&["a", "man"])
            .map_err(unexpected_word)
            .expect_err("a bundle and a subcommand conflict");
        assert_eq!(e.kind(), ErrorKind::ArgumentConflict);
        assert!(e.to_string().contains("the subcommand 'man'"), "{e}");
    }

    #[test]
    fn the_subcommands_parse() {
        let cli = parse(&["completions", "bash"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::Completions {
                shell: clap_complete::Shell::Bash
            })
        ));
        let cli = parse(&["man", "--out", "dir"]).expect("parses");
        assert!(
            matches!(cli.command, Some(Command::Man { out: Some(ref d) }) if d == Path::new("dir"))
        );
        assert!(matches!(
            parse(&["man"]).expect("parses").command,
            Some(Command::Man { out: None })
        ));
    }
}
