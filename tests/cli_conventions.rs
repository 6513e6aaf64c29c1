//! The command-line conventions of both binaries, `exhibit` and `exhibit-verify`, run for real:
//! `completions SHELL` (every shell clap_complete knows; bash's script is valid bash), `man` on
//! stdout and `man --out DIR` (pages that `man -l` renders), and the usage errors (exit 2).
//! Not for what the pages or scripts say in detail (the binaries' unit tests check that against
//! the clap definitions) nor for any command that touches an archive.

use std::path::Path;
use std::process::Output;

use crate::common::*;

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

/// Runs `exhibit` with `args` and no archive (none of these commands opens one).
fn exhibit_bare(args: &[&str]) -> Output {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("exhibit"))
        .args(args)
        .env_remove("EXHIBIT_ARCHIVE")
        .output()
        .expect("run exhibit")
}

/// One of the two binaries, and what its conventions must show.
struct Binary {
    /// Its name.
    name: &'static str,
    /// Runs it with arguments.
    run: fn(&[&str]) -> Output,
    /// Words every completion script must mention: a subcommand and flags, without dashes
    /// (fish writes `-l json`).
    words: [&'static str; 3],
    /// Pages `man --out` must write: the top page, then a subcommand's.
    pages: &'static [&'static str],
}

fn binaries() -> [Binary; 2] {
    [
        Binary {
            name: "exhibit",
            run: exhibit_bare,
            words: ["capture", "bundle", "archive"],
            pages: &[
                "exhibit.1",
                "exhibit-capture.1",
                "exhibit-log-prove.1",
                "exhibit-completions.1",
            ],
        },
        Binary {
            name: "exhibit-verify",
            run: exhibit_verify,
            words: ["man", "citation", "tsa-ca"],
            pages: &[
                "exhibit-verify.1",
                "exhibit-verify-completions.1",
                "exhibit-verify-man.1",
            ],
        },
    ]
}

#[test]
fn completions_for_every_shell_name_subcommands_and_flags() {
    for Binary {
        name, run, words, ..
    } in binaries()
    {
        for shell in SHELLS {
            let out = run(&["completions", shell]);
            assert_eq!(
                code(&out),
                0,
                "{name} completions {shell}: {}",
                stderr(&out)
            );
            let script = stdout(&out);
            assert!(
                script.contains(name),
                "{name} {shell}: does not name {name}"
            );
            for word in words {
                assert!(script.contains(word), "{name} {shell}: no {word}");
            }
        }
    }
}

#[test]
fn completions_for_an_unknown_shell_are_a_usage_error() {
    for Binary { name, run, .. } in binaries() {
        let out = run(&["completions", "nope"]);
        assert_eq!(code(&out), 2, "{name}: {}", all_output(&out));
        assert!(out.stdout.is_empty(), "{name}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("invalid value 'nope'"),
            "{name}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn bash_completion_scripts_are_valid_bash() {
    if !have("bash") {
        return;
    }
    for Binary { name, run, .. } in binaries() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join(format!("{name}.bash"));
        std::fs::write(&script, ok_bytes(&run(&["completions", "bash"]))).unwrap();
        let check = std::process::Command::new("bash")
            .arg("-n")
            .arg(&script)
            .output()
            .expect("run bash -n");
        assert!(
            check.status.success(),
            "{name}: bash -n fails: {}",
            stderr(&check)
        );
    }
}

#[test]
fn man_prints_the_top_page() {
    for Binary { name, run, .. } in binaries() {
        let page = ok(&run(&["man"]));
        assert!(
            page.contains(&format!(".TH {name} 1")),
            "{name}: {page:.300}"
        );
    }
}

#[test]
fn man_out_writes_a_page_per_command_that_man_renders() {
    let have_man = have("man");
    for Binary {
        name, run, pages, ..
    } in binaries()
    {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("man1");
        let said = ok(&run(&["man", "--out", out_dir.to_str().unwrap()]));
        for page in pages {
            let path = out_dir.join(page);
            assert!(path.is_file(), "{name}: no {page} in {said}");
            assert!(
                said.contains(page),
                "{name}: does not say it wrote {page}: {said}"
            );
        }
        if have_man {
            // The second page is a subcommand's (exhibit-capture.1, exhibit-verify-completions.1).
            for page in [pages[0], pages[1]] {
                render_with_man(&out_dir.join(page));
            }
        }
    }
}

/// Renders a page file with the system's `man -l`, which must succeed and show its name.
fn render_with_man(page: &Path) {
    let out = std::process::Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .expect("run man");
    let stem = page.file_stem().unwrap().to_str().unwrap();
    assert!(
        out.status.success(),
        "man -l {}: {}",
        page.display(),
        all_output(&out)
    );
    let shown = stdout(&out);
    assert!(
        shown.contains("NAME") && shown.contains(stem),
        "man -l {}: {shown:.400}",
        page.display()
    );
}

#[test]
fn a_second_bundle_for_exhibit_verify_is_an_unexpected_argument() {
    let out = exhibit_verify(&["a.tar.zst", "b.tar.zst"]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    let err = stderr(&out);
    assert!(
        err.contains("unexpected argument 'b.tar.zst' found"),
        "{err}"
    );
    assert!(!err.contains("subcommand"), "{err}");
    // A real subcommand after a bundle is still refused as one.
    let out = exhibit_verify(&["a.tar.zst", "man"]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(
        stderr(&out).contains("the subcommand 'man' cannot be used with"),
        "{}",
        stderr(&out)
    );
}
