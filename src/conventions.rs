//! The command-line conventions generated from the clap definitions in [`crate::cli`]:
//! `exhibit completions SHELL` (clap_complete) and `exhibit man [--out DIR]` (clap_mangen).
//! Nothing here touches an archive.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::output::json_line;
use crate::{EXIT_OK, Failure};

/// The completion script for `shell`.
fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "exhibit", &mut out);
    out
}

/// `exhibit completions SHELL`: the script on stdout (e.g. `exhibit completions bash >
/// /etc/bash_completion.d/exhibit`).
pub fn completions(args: CompletionsArgs) -> Result<u8, Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(&completion_script(args.shell))?;
    out.flush()?;
    Ok(EXIT_OK)
}

/// The exhibit command with every subcommand's name completed (`exhibit-log-prove`), as the
/// man pages name them.
fn built_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Renders the man page of `cmd`.
fn man_page(cmd: clap::Command) -> Result<Vec<u8>, Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| Failure::from(std::io::Error::other(e)))?;
    Ok(page)
}

/// Every page: `cmd`'s, then each visible subcommand's (depth first), as (file name, roff).
fn man_pages(cmd: &clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> Result<(), Failure> {
    let name = clap_mangen::Man::new(cmd.clone()).get_filename();
    pages.push((name, man_page(cmd.clone())?));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, pages)?;
    }
    Ok(())
}

/// `exhibit man [--out DIR]`: exhibit.1 on stdout, or every page written into DIR.
pub fn man(args: ManArgs, json: bool) -> Result<u8, Failure> {
    let cmd = built_command();
    let Some(dir) = args.out else {
        let mut out = std::io::stdout().lock();
        out.write_all(&man_page(cmd)?)?;
        out.flush()?;
        return Ok(EXIT_OK);
    };
    let mut pages = Vec::new();
    man_pages(&cmd, &mut pages)?;
    std::fs::create_dir_all(&dir).map_err(|e| write_error(&dir, e))?;
    let mut written: Vec<PathBuf> = Vec::with_capacity(pages.len());
    for (name, page) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, page).map_err(|e| write_error(&path, e))?;
        written.push(path);
    }
    if json {
        json_line(&json!({ "man_pages": written }))?;
    } else {
        let mut o = crate::output::text_stdout();
        for p in &written {
            writeln!(o, "Wrote {}", p.display())?;
        }
    }
    Ok(EXIT_OK)
}

fn write_error(path: &Path, e: std::io::Error) -> Failure {
    Failure {
        code: crate::EXIT_FAILED,
        message: format!("{}: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The visible subcommands of exhibit, top level.
    fn subcommands() -> Vec<String> {
        Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_owned())
            .collect()
    }

    #[test]
    fn completions_name_every_subcommand_in_every_shell() {
        let names = subcommands();
        assert!(names.len() > 15, "{names:?}");
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
            clap_complete::Shell::Elvish,
            clap_complete::Shell::PowerShell,
        ] {
            let script = String::from_utf8(completion_script(shell)).expect("UTF-8 script");
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell}: no {name}");
            }
        }
        let bash = String::from_utf8(completion_script(clap_complete::Shell::Bash)).unwrap();
        assert!(bash.contains("--archive") && bash.contains("--json"));
    }

    #[test]
    fn man_pages_render_for_exhibit_and_every_subcommand() {
        let mut pages = Vec::new();
        man_pages(&built_command(), &mut pages).expect("pages render");
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "exhibit.1");
        for expected in [
            "exhibit-capture.1",
            "exhibit-log-prove.1",
            "exhibit-key-generate.1",
        ] {
            assert!(names.contains(&expected), "{names:?}");
        }
        for sub in subcommands() {
            assert!(
                names.contains(&format!("exhibit-{sub}.1").as_str()),
                "{sub}"
            );
        }
        let top = String::from_utf8(pages[0].1.clone()).unwrap();
        assert!(top.starts_with(".ie"), "{top:.80}");
        assert!(top.contains(".TH exhibit 1"), "{top:.200}");
        assert!(top.contains("capture"));
    }
}
