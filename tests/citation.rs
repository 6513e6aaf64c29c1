//! Citations end to end: `exhibit cite` (records and quoted provisions), `exhibit verify
//! --citation|--hash|--file` against the archive, `exhibit show` of a provision (clause
//! stability), provisions in bundles checked by `exhibit-verify` and by VERIFY.txt as written,
//! and `exhibit log prove` of a provision.
//!
//! Citations are pasted back the way filings mangle them: hashes cut to 16 digits and "…",
//! indentation, CRLF line endings, non-breaking spaces and prose around the record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

const PRIVACY: &str = "https://example.com/privacy";
const TRAINING: &str = "We do not use your content to train our models.";

/// The citation block from the original report, verbatim: a record of another archive.
const SEED: &str = "Citation Record
Entity: AI21 Labs
Document: AI21 Labs Privacy Policy
Record ID: CA-P-008134
Captured: 2026-04-30 06:15:21 UTC
SHA-256: 4abc7ff0d7779bee…
URL: https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/…
Accessed: May 13, 2026
";

/// An archive holding one capture of policy-v1.html as https://example.com/privacy.
fn one_capture() -> (tempfile::TempDir, PathBuf) {
    let (dir, archive) = new_archive();
    capture(&archive, "policy-v1.html", PRIVACY, Some("Example Corp"));
    (dir, archive)
}

fn capture(archive: &Path, fixture_name: &str, url: &str, entity: Option<&str>) -> String {
    let f = fixture(fixture_name);
    let mut args = vec!["capture", f.to_str().unwrap(), "--url", url];
    if let Some(e) = entity {
        args.extend(["--entity", e]);
    }
    ok(&exhibit(archive, &args))
}

/// Fails if the process panicked (an `unimplemented!` or an unwrap reached by input).
fn no_panic(out: &Output) {
    let all = all_output(out);
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "the process panicked:\n{all}"
    );
    assert!(
        out.status.code().is_some_and(|c| c != 101),
        "exit {:?}:\n{all}",
        out.status.code()
    );
}

/// The value of `Label: value` in a rendered citation.
fn field(citation: &str, label: &str) -> Option<String> {
    let prefix = format!("{label}: ");
    citation
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
}

fn write_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// `exhibit verify --citation FILE` (plus `extra` args).
fn verify_citation(archive: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["verify", "--citation", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = exhibit(archive, &args);
    no_panic(&out);
    out
}

/// `exhibit verify --citation -` with `text` on stdin.
fn verify_citation_stdin(archive: &Path, text: &str) -> Output {
    let out = exhibit_stdin(
        archive,
        &["verify", "--citation", "-"],
        Some(text.as_bytes()),
    );
    no_panic(&out);
    out
}

/// Whether the report has a line for `label` (its first words) saying DIFFERS.
fn reports_differs(report: &str, label: &str) -> bool {
    report.lines().any(|l| {
        let t = l.trim_start();
        t.strip_prefix(label).is_some_and(|rest| {
            rest.starts_with(char::is_whitespace) && {
                let rest = rest.trim_start();
                rest.starts_with("DIFFERS")
            }
        })
    })
}

/// A citation as it comes back out of a PDF: the SHA-256 cut to 16 hex digits and "…",
/// every line indented, CRLF line endings, non-breaking spaces after the colons and inside
/// the header, and prose before and after.
fn pdf_paste(citation: &str) -> String {
    let mut lines = Vec::new();
    for line in citation.lines() {
        let line = match line.strip_prefix("SHA-256: ") {
            Some(h) => format!("SHA-256: {}…", &h[..16]),
            None => line.to_owned(),
        };
        let line = line
            .replacen(": ", ":\u{a0}", 1)
            .replace("Citation Record", "Citation\u{a0}Record");
        lines.push(format!("    {line}"));
    }
    format!(
        "As the archived copy shows, the policy then read as follows.\r\n\r\n{}\r\n\r\nThe \
         defendant does not dispute the record above\r\n",
        lines.join("\r\n")
    )
}

/// Replaces the value of `label` in a citation (pasted or not).
fn replace_field(citation: &str, label: &str, value: &str) -> String {
    let lines: Vec<String> = citation
        .split_inclusive('\n')
        .map(|l| {
            let trimmed = l.trim_start();
            let indent = &l[..l.len() - trimmed.len()];
            for sep in [": ", ":\u{a0}"] {
                if trimmed.starts_with(&format!("{label}{sep}")) {
                    let ending = if l.ends_with("\r\n") {
                        "\r\n"
                    } else if l.ends_with('\n') {
                        "\n"
                    } else {
                        ""
                    };
                    return format!("{indent}{label}{sep}{value}{ending}");
                }
            }
            l.to_owned()
        })
        .collect();
    let out = lines.concat();
    assert_ne!(out, citation, "no {label} line to replace in {citation}");
    out
}

/// Removes the `label` line.
fn remove_field(citation: &str, label: &str) -> String {
    let out: String = citation
        .split_inclusive('\n')
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with(&format!("{label}: ")) || t.starts_with(&format!("{label}:\u{a0}")))
        })
        .collect();
    assert_ne!(out, citation, "no {label} line to remove");
    out
}

/// `YYYY-MM-DD HH:MM:SS UTC` moved by one second (back, when the seconds are 59, so that
/// only the seconds change).
fn one_second_off(captured: &str) -> String {
    let (date_time, zone) = captured.rsplit_once(' ').unwrap();
    assert_eq!(zone, "UTC", "{captured}");
    let (head, secs) = date_time.rsplit_once(':').unwrap();
    let s: u32 = secs
        .parse()
        .unwrap_or_else(|_| panic!("seconds in {captured}"));
    let s = if s == 59 { 58 } else { s + 1 };
    format!("{head}:{s:02} UTC")
}

fn is_hex(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// Checks the fixed shape of a citation.
fn assert_citation_shape(c: &str, archive: &Path) {
    assert!(c.starts_with("Citation Record\n"), "{c}");
    let captured = field(c, "Captured").unwrap_or_else(|| panic!("no Captured: {c}"));
    let b = captured.as_bytes();
    assert!(
        captured.len() == 23
            && captured.ends_with(" UTC")
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b' '
            && b[13] == b':'
            && b[16] == b':',
        "Captured is YYYY-MM-DD HH:MM:SS UTC: {captured:?}"
    );
    let accessed = field(c, "Accessed").unwrap_or_else(|| panic!("no Accessed: {c}"));
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (month, rest) = accessed.split_once(' ').unwrap_or(("", ""));
    let (day, year) = rest.split_once(", ").unwrap_or(("", ""));
    assert!(
        MONTHS.contains(&month)
            && day.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
            && !day.starts_with('0')
            && year.len() == 4
            && year.parse::<u32>().is_ok(),
        "Accessed is like April 30, 2026: {accessed:?}"
    );
    assert_eq!(
        field(c, "Signed-By").as_deref(),
        Some(fingerprint(archive).as_str()),
        "{c}"
    );
    let log = field(c, "Log Position").unwrap_or_else(|| panic!("no Log Position: {c}"));
    let (leaf, origin) = log
        .strip_prefix("leaf ")
        .and_then(|r| r.split_once(" in "))
        .unwrap_or_else(|| panic!("Log Position is `leaf N in ORIGIN`: {log:?}"));
    assert!(leaf.parse::<u64>().is_ok(), "{log:?}");
    assert_eq!(origin, "test.example", "{log:?}");
}

fn leaf_of(citation: &str) -> u64 {
    field(citation, "Log Position")
        .and_then(|l| l.strip_prefix("leaf ")?.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no log leaf in {citation}"))
}

// 1 ---------------------------------------------------------------------------------------

#[test]
fn the_seed_citation_of_another_archive_is_not_found_not_malformed() {
    let (dir, archive) = new_archive();
    capture(&archive, "policy-v1.html", PRIVACY, Some("Example Corp"));
    capture(&archive, "policy-v2.html", PRIVACY, Some("Example Corp"));
    capture(&archive, "terms.txt", "https://example.com/terms", None);
    let seed = write_file(dir.path(), "seed.txt", SEED);

    for out in [
        verify_citation(&archive, &seed, &[]),
        verify_citation_stdin(&archive, SEED),
    ] {
        assert_eq!(
            code(&out),
            1,
            "a well-formed citation of a record this archive lacks is exit 1:\n{}",
            all_output(&out)
        );
        let all = all_output(&out);
        assert!(
            all.contains("CA-P-008134") && all.contains("not in this archive"),
            "the report says the record is not in this archive:\n{all}"
        );
        assert!(!all.contains("VERIFIED:"), "{all}");
    }
}

// 2 ---------------------------------------------------------------------------------------

#[test]
fn a_capture_citation_pasted_from_a_pdf_verifies_and_each_wrong_field_is_named() {
    let (dir, archive) = one_capture();
    let cited = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    assert_citation_shape(&cited, &archive);
    let pasted = pdf_paste(&cited);
    assert!(pasted.contains('\u{a0}') && pasted.contains("\r\n") && pasted.contains("…"));

    // As pasted: from a file and from stdin.
    let f = write_file(dir.path(), "pasted.txt", &pasted);
    let out = verify_citation(&archive, &f, &[]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("VERIFIED"), "{}", stdout(&out));
    assert!(stdout(&out).contains("EX-C-000001"), "{}", stdout(&out));
    let out = verify_citation_stdin(&archive, &pasted);
    assert_eq!(code(&out), 0, "{}", all_output(&out));

    // The rendering itself verifies too.
    let plain = write_file(dir.path(), "plain.txt", &cited);
    assert_eq!(code(&verify_citation(&archive, &plain, &[])), 0);

    // Another URL: exit 1, and the URL line says DIFFERS.
    let wrong_url = write_file(
        dir.path(),
        "url.txt",
        &replace_field(&pasted, "URL", "https://example.org/privacy"),
    );
    let out = verify_citation(&archive, &wrong_url, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(reports_differs(&stdout(&out), "URL"), "{}", stdout(&out));
    assert!(
        !reports_differs(&stdout(&out), "Captured"),
        "{}",
        stdout(&out)
    );

    // Captured one second off: exit 1, naming Captured (and only it).
    let captured = field(&cited, "Captured").unwrap();
    let wrong_time = write_file(
        dir.path(),
        "time.txt",
        &replace_field(&pasted, "Captured", &one_second_off(&captured)),
    );
    let out = verify_citation(&archive, &wrong_time, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        reports_differs(&stdout(&out), "Captured"),
        "{}",
        stdout(&out)
    );
    assert!(!reports_differs(&stdout(&out), "URL"), "{}", stdout(&out));

    // Without Signed-By nothing pins the signer: exit 3, unless --key pins it.
    let unsigned = remove_field(&pasted, "Signed-By");
    let unsigned_file = write_file(dir.path(), "unsigned.txt", &unsigned);
    let out = verify_citation(&archive, &unsigned_file, &[]);
    assert_eq!(code(&out), 3, "{}", all_output(&out));
    assert!(
        stdout(&out).contains("--key"),
        "says how to pin: {}",
        stdout(&out)
    );
    let out = verify_citation_stdin(&archive, &unsigned);
    assert_eq!(code(&out), 3, "{}", all_output(&out));
    let public = archive.join("keys/signing.pub.pem");
    let out = verify_citation(
        &archive,
        &unsigned_file,
        &["--key", public.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    let out = verify_citation(&archive, &unsigned_file, &["--key", &fingerprint(&archive)]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));

    // A Signed-By of another key does not match the record.
    let other_key = dir.path().join("other.pem");
    ok(&exhibit(
        &archive,
        &["key", "generate", "--out", other_key.to_str().unwrap()],
    ));
    let other_fp = json_lines(&exhibit(
        &archive,
        &["--json", "key", "show", other_key.to_str().unwrap()],
    ))[0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong_signer = write_file(
        dir.path(),
        "signer.txt",
        &replace_field(&pasted, "Signed-By", &other_fp),
    );
    let out = verify_citation(&archive, &wrong_signer, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));

    // A mistyped Record ID whose hash identifies the capture: exit 1 and a suggestion.
    let typo = write_file(
        dir.path(),
        "typo.txt",
        &replace_field(&pasted, "Record ID", "EX-C-000099"),
    );
    let out = verify_citation(&archive, &typo, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        stdout(&out).contains("Did you mean EX-C-000001"),
        "{}",
        all_output(&out)
    );

    // A Record ID of another record that exists: that record differs, and the one the other
    // fields identify is suggested.
    capture(&archive, "terms.txt", "https://example.com/terms", None);
    let other_id = write_file(
        dir.path(),
        "other-id.txt",
        &replace_field(&pasted, "Record ID", "EX-C-000002"),
    );
    let out = verify_citation(&archive, &other_id, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        reports_differs(&stdout(&out), "SHA-256"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("Did you mean EX-C-000001"),
        "{}",
        all_output(&out)
    );

    // A hash prefix too short to identify anything is a malformed citation: exit 2.
    let short = write_file(
        dir.path(),
        "short.txt",
        &replace_field(
            &pasted,
            "SHA-256",
            &format!("{}…", &field(&cited, "SHA-256").unwrap()[..6]),
        ),
    );
    let out = verify_citation(&archive, &short, &[]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    let err = stderr(&out);
    assert!(
        err.contains("at least 8 hex digits"),
        "says at least 8 hex digits: {err}"
    );
    // So is prose without a single citation field.
    let out = verify_citation_stdin(&archive, "Nothing to see here.\n");
    assert_eq!(code(&out), 2, "{}", all_output(&out));

    // Every field matches, but the archive's stored copy of the bytes is damaged: exit 1, and
    // `cite` refuses to cite it.
    let sha = field(&cited, "SHA-256").unwrap();
    let object = archive.join(format!("objects/{}/{sha}.zst", &sha[..2]));
    assert!(object.is_file(), "{}", object.display());
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(
        &object,
        zstd::encode_all(&b"not the policy"[..], 3).unwrap(),
    )
    .unwrap();
    let out = verify_citation(&archive, &f, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stdout(&out).contains("FAILS"), "{}", stdout(&out));
    let out = exhibit(&archive, &["cite", "EX-C-000001"]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
}

// 3 ---------------------------------------------------------------------------------------

#[test]
fn cite_prints_full_short_and_json_forms() {
    let (_dir, archive) = one_capture();
    let bytes = std::fs::read(fixture("policy-v1.html")).unwrap();
    let sha = sha256_hex(&bytes);

    let full = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    assert_citation_shape(&full, &archive);
    assert_eq!(
        field(&full, "SHA-256").as_deref(),
        Some(sha.as_str()),
        "{full}"
    );
    assert!(is_hex(&sha) && sha.len() == 64);
    assert_eq!(field(&full, "Record ID").as_deref(), Some("EX-C-000001"));
    assert_eq!(field(&full, "Entity").as_deref(), Some("Example Corp"));
    assert_eq!(
        field(&full, "Document").as_deref(),
        Some("Example Corp Privacy Policy"),
        "the title from <title>: {full}"
    );
    assert_eq!(field(&full, "URL").as_deref(), Some(PRIVACY));
    assert_eq!(field(&full, "Document ID").as_deref(), Some("EX-D-000001"));
    assert_eq!(field(&full, "Version ID").as_deref(), Some("EX-V-000001"));
    assert_eq!(field(&full, "Excerpt"), None, "{full}");

    let short = ok(&exhibit(&archive, &["cite", "EX-C-000001", "--short"]));
    assert_eq!(
        field(&short, "SHA-256"),
        Some(format!("{}…", &sha[..16])),
        "{short}"
    );
    // Everything else is the same.
    let strip = |c: &str| -> Vec<String> {
        c.lines()
            .filter(|l| !l.starts_with("SHA-256:"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(strip(&full), strip(&short));

    let j = json_lines(&exhibit(&archive, &["--json", "cite", "EX-C-000001"]));
    assert_eq!(j.len(), 1);
    assert!(j[0].is_object());
    assert_eq!(j[0]["citation"].as_str(), Some(full.as_str()));

    // A version's citation names its opening capture and its text hash; a document is cited
    // as its current version.
    let v = ok(&exhibit(&archive, &["cite", "EX-V-000001"]));
    assert_citation_shape(&v, &archive);
    assert_eq!(field(&v, "Record ID").as_deref(), Some("EX-V-000001"));
    assert_eq!(field(&v, "Capture ID").as_deref(), Some("EX-C-000001"));
    assert_eq!(field(&v, "SHA-256").as_deref(), Some(sha.as_str()));
    let text = ok(&exhibit(&archive, &["cat", "--text", "EX-C-000001"]));
    assert_eq!(
        field(&v, "Text SHA-256"),
        Some(sha256_hex(text.as_bytes())),
        "{v}"
    );
    let d = ok(&exhibit(&archive, &["cite", "EX-D-000001"]));
    assert_eq!(d, v);

    capture(&archive, "policy-v2.html", PRIVACY, Some("Example Corp"));
    let d = ok(&exhibit(&archive, &["cite", "EX-D-000001"]));
    assert_eq!(
        field(&d, "Record ID").as_deref(),
        Some("EX-V-000002"),
        "{d}"
    );
    assert_eq!(
        field(&d, "Capture ID").as_deref(),
        Some("EX-C-000002"),
        "{d}"
    );
}

// 4 ---------------------------------------------------------------------------------------

#[test]
fn verify_hash_finds_refuses_and_rejects_prefixes() {
    let (dir, archive) = one_capture();
    let sha = sha256_hex(&std::fs::read(fixture("policy-v1.html")).unwrap());

    let out = exhibit(&archive, &["verify", "--hash", &sha[..16]]);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-C-000001"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&sha), "{}", stdout(&out));
    // With "…" as pasted from a filing.
    let out = exhibit(&archive, &["verify", "--hash", &format!("{}…", &sha[..16])]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));

    let out = exhibit(&archive, &["verify", "--hash", "0000000000000000"]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(!stdout(&out).contains("EX-C-000001"));

    let out = exhibit(&archive, &["verify", "--hash", &sha[..6]]);
    no_panic(&out);
    assert_eq!(code(&out), 2, "{}", all_output(&out));

    // Two captures whose SHA-256 share their first 8 hex digits (a birthday search over
    // 32 bits): the 8-digit prefix is ambiguous, exit 1; 64 digits pick one out.
    let (a, b) = colliding_prefix_pair();
    let (pa, pb) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    std::fs::write(&pa, &a).unwrap();
    std::fs::write(&pb, &b).unwrap();
    ok(&exhibit(
        &archive,
        &[
            "capture",
            pa.to_str().unwrap(),
            "--url",
            "https://example.com/a",
        ],
    ));
    ok(&exhibit(
        &archive,
        &[
            "capture",
            pb.to_str().unwrap(),
            "--url",
            "https://example.com/b",
        ],
    ));
    let (ha, hb) = (sha256_hex(&a), sha256_hex(&b));
    assert_eq!(ha[..8], hb[..8]);
    let out = exhibit(&archive, &["verify", "--hash", &ha[..8]]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "ambiguous prefix: {}", all_output(&out));
    assert!(stderr(&out).contains("ambiguous"), "{}", stderr(&out));
    let out = exhibit(&archive, &["verify", "--hash", &ha]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-C-000002"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("EX-C-000003"), "{}", stdout(&out));
}

/// Two different small texts whose SHA-256 begin with the same 8 hex digits.
fn colliding_prefix_pair() -> (Vec<u8>, Vec<u8>) {
    let mut seen: HashMap<[u8; 4], u64> = HashMap::new();
    let body = |n: u64| format!("Document number {n}\n").into_bytes();
    for n in 0u64.. {
        use sha2::Digest;
        let d = sha2::Sha256::digest(body(n));
        let key = [d[0], d[1], d[2], d[3]];
        if let Some(m) = seen.insert(key, n) {
            return (body(m), body(n));
        }
    }
    unreachable!()
}

// 5 ---------------------------------------------------------------------------------------

#[test]
fn verify_file_names_the_exact_capture_and_refuses_an_altered_copy() {
    let (dir, archive) = one_capture();
    let original = fixture("policy-v1.html");
    let out = exhibit(&archive, &["verify", "--file", original.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-C-000001"), "{}", stdout(&out));

    let mut bytes = std::fs::read(&original).unwrap();
    bytes.push(b'\n');
    let altered = dir.path().join("policy-v1-copy.html");
    std::fs::write(&altered, &bytes).unwrap();
    let out = exhibit(&archive, &["verify", "--file", altered.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(!stdout(&out).contains("EX-C-000001"), "{}", stdout(&out));
}

// 6 ---------------------------------------------------------------------------------------

/// Records the TRAINING sentence of policy-v1 as EX-P-000001 (with a line break where the
/// text has a space) and returns (its citation, the extracted text).
fn training_provision(archive: &Path) -> (String, String) {
    let text = ok(&exhibit(archive, &["cat", "--text", "EX-C-000001"]));
    assert_eq!(text.matches(TRAINING).count(), 1, "{text}");
    let quote = TRAINING.replacen("your content", "your\ncontent", 1);
    let out = exhibit(archive, &["cite", "EX-V-000001", "--quote", &quote]);
    no_panic(&out);
    let printed = ok(&out);
    assert!(
        printed.contains("Recorded provision EX-P-000001"),
        "{printed}"
    );
    let cited = ok(&exhibit(archive, &["cite", "EX-P-000001"]));
    assert!(
        printed.ends_with(&cited),
        "`cite --quote` prints the provision's citation:\n{printed}\n---\n{cited}"
    );
    (cited, text)
}

#[test]
fn provisions_are_recorded_cited_verified_and_tracked_across_versions() {
    let (dir, archive) = one_capture();
    let (cited, text) = training_provision(&archive);

    // The citation of the provision.
    assert_citation_shape(&cited, &archive);
    assert_eq!(
        field(&cited, "Record ID").as_deref(),
        Some("EX-P-000001"),
        "{cited}"
    );
    assert_eq!(
        field(&cited, "Capture ID").as_deref(),
        Some("EX-C-000001"),
        "{cited}"
    );
    assert_eq!(
        field(&cited, "Version ID").as_deref(),
        Some("EX-V-000001"),
        "{cited}"
    );
    assert_eq!(
        field(&cited, "Document ID").as_deref(),
        Some("EX-D-000001"),
        "{cited}"
    );
    assert_eq!(field(&cited, "URL").as_deref(), Some(PRIVACY), "{cited}");
    assert_eq!(
        field(&cited, "Text SHA-256"),
        Some(sha256_hex(text.as_bytes())),
        "{cited}"
    );
    let excerpt = field(&cited, "Excerpt").unwrap_or_else(|| panic!("no Excerpt: {cited}"));
    assert_eq!(excerpt, format!("“{TRAINING}”"), "{cited}");
    assert_eq!(
        field(&cited, "Excerpt SHA-256"),
        Some(sha256_hex(TRAINING.as_bytes())),
        "the passage exactly as in the text: {cited}"
    );

    // It verifies: as rendered, and as pasted from a PDF.
    let file = write_file(dir.path(), "p.txt", &cited);
    let out = verify_citation(&archive, &file, &[]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-P-000001"), "{}", stdout(&out));
    let pasted = write_file(dir.path(), "p-pasted.txt", &pdf_paste(&cited));
    let out = verify_citation(&archive, &pasted, &[]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));

    // An excerpt the text does not hold: exit 1 naming Excerpt.
    let forged = write_file(
        dir.path(),
        "forged.txt",
        &replace_field(
            &cited,
            "Excerpt",
            "“We sell your content to advertisers and train our models on it.”",
        ),
    );
    let out = verify_citation(&archive, &forged, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        reports_differs(&stdout(&out), "Excerpt"),
        "{}",
        stdout(&out)
    );

    // Surrounding curly quotation marks are not part of the quote; the passage is found.
    let out = exhibit(
        &archive,
        &[
            "cite",
            "EX-V-000001",
            "--quote",
            "“We collect the information you give us when you create an account.”",
        ],
    );
    no_panic(&out);
    let printed = ok(&out);
    assert!(printed.contains("Recorded provision EX-P-"), "{printed}");
    assert!(
        printed.contains(
            "Excerpt: “We collect the information you give us when you create an account.”"
        ),
        "{printed}"
    );

    // A quote in no version: exit 1, naming the closest passage.
    let out = exhibit(
        &archive,
        &[
            "cite",
            "EX-V-000001",
            "--quote",
            "We do not sell your content to train our models.",
        ],
    );
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stderr(&out).contains("closest"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("train our models"),
        "{}",
        stderr(&out)
    );

    // A passage the text holds twice: exit 2 asking for --occurrence; --occurrence 2 works.
    let repeated = "collect";
    assert_eq!(text.matches(repeated).count(), 2, "{text}");
    assert_eq!(text.to_lowercase().matches(repeated).count(), 2, "{text}");
    let out = exhibit(&archive, &["cite", "EX-V-000001", "--quote", repeated]);
    no_panic(&out);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(stderr(&out).contains("--occurrence"), "{}", stderr(&out));
    let out = exhibit(
        &archive,
        &[
            "cite",
            "EX-V-000001",
            "--quote",
            repeated,
            "--occurrence",
            "2",
        ],
    );
    no_panic(&out);
    let printed = ok(&out);
    let second = printed
        .split_whitespace()
        .skip_while(|w| *w != "provision")
        .nth(1)
        .unwrap_or_else(|| panic!("no provision id: {printed}"))
        .trim_end_matches([':', '.'])
        .to_owned();
    assert!(second.starts_with("EX-P-"), "{printed}");
    let out = exhibit(
        &archive,
        &[
            "cite",
            "EX-V-000001",
            "--quote",
            repeated,
            "--occurrence",
            "3",
        ],
    );
    no_panic(&out);
    assert_ne!(code(&out), 0, "{}", all_output(&out));

    // policy-v2 drops the training sentence but keeps "collect" twice.
    capture(&archive, "policy-v2.html", PRIVACY, Some("Example Corp"));
    let show = ok(&exhibit(&archive, &["show", "EX-P-000001"]));
    assert!(show.contains("Clause stability"), "{show}");
    let line = |v: &str| -> String {
        show.lines()
            .find(|l| l.trim_start().starts_with(v))
            .unwrap_or_else(|| panic!("no line for {v}: {show}"))
            .to_owned()
    };
    assert!(line("EX-V-000001").contains("present"), "{show}");
    assert!(line("EX-V-000002").contains("absent"), "{show}");
    let show2 = ok(&exhibit(&archive, &["show", &second]));
    assert!(show2.contains("Clause stability"), "{show2}");
    for v in ["EX-V-000001", "EX-V-000002"] {
        let l = show2
            .lines()
            .find(|l| l.trim_start().starts_with(v))
            .unwrap_or_else(|| panic!("no line for {v}: {show2}"));
        assert!(l.contains("present") && !l.contains("absent"), "{show2}");
    }

    // Quoting v2 for the removed sentence: not found there (exit 1), said to be in v1.
    let out = exhibit(&archive, &["cite", "EX-V-000002", "--quote", TRAINING]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stderr(&out).contains("closest"), "{}", stderr(&out));

    // The provision's citation still verifies after the document changed.
    let out = verify_citation(&archive, &file, &[]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
}

// 7 ---------------------------------------------------------------------------------------

#[test]
fn a_bundle_of_a_provision_verifies_with_its_citation_hash_and_verify_txt() {
    let (dir, archive) = one_capture();
    let (cited, _text) = training_provision(&archive);
    let capture_citation = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    let bundle = dir.path().join("b.tar.zst");
    ok(&exhibit(
        &archive,
        &["bundle", "EX-P-000001", "--out", bundle.to_str().unwrap()],
    ));
    let b = bundle.to_str().unwrap();
    let fp = fingerprint(&archive);

    let out = exhibit_verify(&[b, "--key", &fp]);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-P-000001"), "{}", stdout(&out));
    assert!(stdout(&out).contains("EX-C-000001"), "{}", stdout(&out));

    // The provision's citation pins the signer by its Signed-By.
    let pfile = write_file(dir.path(), "p.txt", &cited);
    let out = exhibit_verify(&[b, "--citation", pfile.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("VERIFIED"), "{}", stdout(&out));
    // And as pasted from a PDF, from stdin.
    let mut child = Command::new(verify_bin())
        .args([b, "--citation", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(pdf_paste(&cited).as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    // The capture the provision quotes is in the bundle too.
    let cfile = write_file(dir.path(), "c.txt", &capture_citation);
    let out = exhibit_verify(&[b, "--citation", cfile.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    // Without Signed-By and --key: exit 3.
    let unsigned = write_file(dir.path(), "u.txt", &remove_field(&cited, "Signed-By"));
    let out = exhibit_verify(&[b, "--citation", unsigned.to_str().unwrap()]);
    assert_eq!(code(&out), 3, "{}", all_output(&out));
    // A forged excerpt: exit 1 naming Excerpt.
    let forged = write_file(
        dir.path(),
        "f.txt",
        &replace_field(
            &cited,
            "Excerpt",
            "“We train our models on everything you write.”",
        ),
    );
    let out = exhibit_verify(&[b, "--citation", forged.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        reports_differs(&stdout(&out), "Excerpt"),
        "{}",
        stdout(&out)
    );
    // The seed citation names nothing in the bundle: exit 1.
    let seed = write_file(dir.path(), "seed.txt", SEED);
    let out = exhibit_verify(&[b, "--citation", seed.to_str().unwrap(), "--key", &fp]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));

    // Hashes held and not held.
    let sha = sha256_hex(&std::fs::read(fixture("policy-v1.html")).unwrap());
    let out = exhibit_verify(&[b, "--hash", &sha[..16], "--key", &fp]);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("HELD"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("NOT HELD"), "{}", stdout(&out));
    let quote_sha = sha256_hex(TRAINING.as_bytes());
    let out = exhibit_verify(&[b, "--hash", &quote_sha[..16], "--key", &fp]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-P-000001"), "{}", stdout(&out));
    let out = exhibit_verify(&[b, "--hash", "0000000000000000", "--key", &fp]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(stdout(&out).contains("NOT HELD"), "{}", stdout(&out));

    // VERIFY.txt's check of the quoted passage, run as written with the stock tools.
    if !(have("tar") && have("zstd") && have("sha256sum")) {
        return;
    }
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let bag = x.join("b");
    assert!(bag.is_dir(), "the bag directory is named after the bundle");
    let recipe = std::fs::read_to_string(bag.join("VERIFY.txt")).unwrap();
    let lines: Vec<&str> = recipe
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .filter(|l| l.starts_with("tail -c +") && l.contains("sha256sum"))
        .collect();
    assert_eq!(lines.len(), 1, "one passage check per provision: {recipe}");
    let line = lines[0];
    assert!(
        line.contains("data/text/") && line.contains("| head -c ") && line.contains(&quote_sha),
        "{line}"
    );
    let run = |dir: &Path| {
        Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let out = run(&bag);
    assert!(out.status.success(), "{line}: {}", all_output(&out));
    // The same line fails once the quoted words in the text are changed.
    let text_rel = line
        .split_whitespace()
        .find(|w| w.starts_with("data/text/"))
        .unwrap();
    let text_path = bag.join(text_rel);
    let t = std::fs::read_to_string(&text_path).unwrap();
    assert!(t.contains("do not use"), "{t}");
    std::fs::write(&text_path, t.replace("do not use", "do now use")).unwrap();
    let out = run(&bag);
    assert!(!out.status.success(), "{line} passed on a changed text");
}

/// A plain-text document with hard-wrapped lines and non-ASCII text before the passages.
const WRAPPED: &str = "Terms of Service

3. Licence. By using the Services, you grant us a
licence to use your content.

4. Caf\u{e9} \u{201c}rules\u{201d} apply. We don't sell it. By using the Services, you grant us a
licence to use your content.
";

#[test]
fn provisions_across_line_breaks_after_non_ascii_text_are_checked_by_bytes() {
    let (dir, archive) = new_archive();
    let doc = write_file(dir.path(), "terms-wrapped.txt", WRAPPED);
    ok(&exhibit(
        &archive,
        &[
            "capture",
            doc.to_str().unwrap(),
            "--url",
            "https://example.com/terms",
        ],
    ));
    let text = ok(&exhibit(&archive, &["cat", "--text", "EX-C-000001"]));
    assert!(text.contains("you grant us a\nlicence"), "{text}");

    // The sentence spans a line break and occurs twice; the second is after "Café “rules”".
    let quote = "you grant us a licence to use your content.";
    let out = exhibit(&archive, &["cite", "EX-V-000001", "--quote", quote]);
    no_panic(&out);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(stderr(&out).contains("--occurrence"), "{}", stderr(&out));
    let printed = ok(&exhibit(
        &archive,
        &["cite", "EX-V-000001", "--quote", quote, "--occurrence", "2"],
    ));
    assert!(
        printed.contains("Recorded provision EX-P-000001"),
        "{printed}"
    );
    let p1 = ok(&exhibit(&archive, &["cite", "EX-P-000001"]));
    assert_eq!(
        field(&p1, "Excerpt").as_deref(),
        Some("“you grant us a licence to use your content.”"),
        "one line, whitespace collapsed: {p1}"
    );
    assert_eq!(
        field(&p1, "Excerpt SHA-256"),
        Some(sha256_hex(b"you grant us a\nlicence to use your content.")),
        "the passage exactly as in the text: {p1}"
    );

    // A curly apostrophe in the quote matches the straight one in the text.
    let printed = ok(&exhibit(
        &archive,
        &["cite", "EX-V-000001", "--quote", "We don\u{2019}t sell it."],
    ));
    assert!(
        printed.contains("Recorded provision EX-P-000002"),
        "{printed}"
    );
    let p2 = ok(&exhibit(&archive, &["cite", "EX-P-000002"]));
    assert_eq!(
        field(&p2, "Excerpt SHA-256"),
        Some(sha256_hex(b"We don't sell it.")),
        "{p2}"
    );

    // Both citations in one file (each header starts a record) verify, and the excerpt as a
    // typesetter would print it (curly apostrophe) still matches.
    let both = format!("{p1}\n{}", p2.replace("don't", "don\u{2019}t"));
    let both_file = write_file(dir.path(), "both.txt", &both);
    let out = verify_citation(&archive, &both_file, &[]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    assert!(stdout(&out).contains("EX-P-000001") && stdout(&out).contains("EX-P-000002"));
    // One bad citation among them makes the whole answer 1.
    let with_seed = write_file(dir.path(), "with-seed.txt", &format!("{both}\n{SEED}"));
    let out = verify_citation(&archive, &with_seed, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));

    // In a bundle: exhibit-verify checks both, and VERIFY.txt's byte ranges are right even
    // though characters and bytes differ before the second passage.
    let bundle = dir.path().join("w.tar.zst");
    ok(&exhibit(
        &archive,
        &[
            "bundle",
            "EX-P-000001",
            "EX-P-000002",
            "--out",
            bundle.to_str().unwrap(),
        ],
    ));
    let out = exhibit_verify(&[
        bundle.to_str().unwrap(),
        "--citation",
        both_file.to_str().unwrap(),
    ]);
    no_panic(&out);
    assert_eq!(code(&out), 0, "{}", all_output(&out));
    if !(have("tar") && have("zstd") && have("sha256sum")) {
        return;
    }
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    untar(&bundle, &x);
    let bag = x.join("w");
    let recipe = std::fs::read_to_string(bag.join("VERIFY.txt")).unwrap();
    let lines: Vec<&str> = recipe
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .filter(|l| l.starts_with("tail -c +"))
        .collect();
    assert_eq!(lines.len(), 2, "{recipe}");
    for line in lines {
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(&bag)
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {}", all_output(&out));
    }
}

// 8 ---------------------------------------------------------------------------------------

#[test]
fn log_prove_proves_a_provision_at_its_cited_leaf() {
    let (dir, archive) = one_capture();
    let (cited, _) = training_provision(&archive);
    let out = exhibit(&archive, &["log", "prove", "EX-P-000001"]);
    no_panic(&out);
    let proof = ok(&out);
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\n"), "{proof}");
    let leaf = leaf_of(&cited);
    assert!(
        proof.contains(&format!("\nindex {leaf}\n")),
        "the citation's Log Position is the proof's index: {cited}\n{proof}"
    );
    assert!(proof.contains("test.example"), "{proof}");
    // The capture came first.
    let capture_leaf = leaf_of(&ok(&exhibit(&archive, &["cite", "EX-C-000001"])));
    assert!(
        capture_leaf < leaf,
        "capture leaf {capture_leaf}, provision leaf {leaf}"
    );

    let j = json_lines(&exhibit(
        &archive,
        &["--json", "log", "prove", "EX-P-000001"],
    ));
    assert_eq!(j[0]["id"], "EX-P-000001");
    assert_eq!(j[0]["index"].as_u64(), Some(leaf));

    // An independent RFC 9162 check of the proof against the provision's manifest bytes.
    if !have("python3") {
        return;
    }
    let proof_file = write_file(dir.path(), "p.tlog-proof", &proof);
    let tlog = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/tlog.py");
    let manifest = archive.join("manifests/P/000/EX-P-000001.json");
    assert!(manifest.is_file(), "{}", manifest.display());
    let py = Command::new("python3")
        .arg(&tlog)
        .arg("inclusion")
        .args([&proof_file, &manifest])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", all_output(&py));
    let other = archive.join("manifests/C/000/EX-C-000001.json");
    let py = Command::new("python3")
        .arg(&tlog)
        .arg("inclusion")
        .args([&proof_file, &other])
        .output()
        .unwrap();
    assert_eq!(py.status.code(), Some(1), "{}", all_output(&py));
}

// Review findings ----------------------------------------------------------------------------

/// A citation of a record without text that quotes an excerpt cannot be verified: the excerpt
/// is unchecked, which is not a match.
#[test]
fn an_excerpt_that_cannot_be_checked_is_not_verified() {
    let (dir, archive) = new_archive();
    let pdf = dir.path().join("doc.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n% not a real pdf, no text is extracted\n").unwrap();
    ok(&exhibit(
        &archive,
        &[
            "capture",
            pdf.to_str().unwrap(),
            "--url",
            "https://example.com/doc.pdf",
        ],
    ));
    let cited = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, &cited).unwrap();
    assert_eq!(
        code(&exhibit(
            &archive,
            &["verify", "--citation", plain.to_str().unwrap()]
        )),
        0
    );
    let quoted = dir.path().join("quoted.txt");
    std::fs::write(
        &quoted,
        format!("{cited}Excerpt: “We sell all your data to anyone who asks.”\n"),
    )
    .unwrap();
    let out = exhibit(
        &archive,
        &["verify", "--citation", quoted.to_str().unwrap()],
    );
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("Excerpt"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("VERIFIED:"), "{}", stdout(&out));
}

/// A URL cut before its host claims nothing, so it cannot match.
#[test]
fn a_cut_url_without_a_host_matches_nothing() {
    let (dir, archive) = new_archive();
    capture(&archive, "policy-v1.html", PRIVACY, Some("Example Corp"));
    let cited = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    let cut = cited.replace(&format!("URL: {PRIVACY}"), "URL: https://…");
    let f = write_file(dir.path(), "cut.txt", &cut);
    let out = verify_citation(&archive, &f, &[]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(reports_differs(&stdout(&out), "URL"), "{}", stdout(&out));
    let host = cited.replace(&format!("URL: {PRIVACY}"), "URL: https://example.com/pri…");
    let f = write_file(dir.path(), "host.txt", &host);
    assert_eq!(code(&verify_citation(&archive, &f, &[])), 0);
}

/// One input holds at most 100 citation records.
#[test]
fn too_many_citations_in_one_input_are_refused() {
    let (dir, archive) = new_archive();
    capture(&archive, "policy-v1.html", PRIVACY, Some("Example Corp"));
    let cited = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    let f = write_file(dir.path(), "many.txt", &format!("{cited}\n").repeat(101));
    let out = verify_citation(&archive, &f, &[]);
    assert_eq!(code(&out), 2, "{}", all_output(&out));
    assert!(stderr(&out).contains("at most 100"), "{}", stderr(&out));
    let f = write_file(dir.path(), "some.txt", &format!("{cited}\n").repeat(3));
    assert_eq!(code(&verify_citation(&archive, &f, &[])), 0);
}

// Issue 17: every field a citation can carry is checked, pins come from the user, the catalog
// is never evidence --------------------------------------------------------------------------

/// The verdict line of a verified citation (a bundle report has a VERIFIED line of its own).
const CITATION_VERIFIED: &str = "VERIFIED: every stated field";

/// An archive with one record of every kind a citation names, and a bundle of them all made by
/// `exhibit bundle`: a capture (EX-C-000001, which opens EX-V-000001), a provision quoting
/// that version (EX-P-000001), and a failed capture (an HTTP 404, with its error).
struct EveryKind {
    dir: tempfile::TempDir,
    archive: PathBuf,
    bundle: PathBuf,
    /// (kind, record id, its citation as `exhibit cite` prints it).
    records: Vec<(&'static str, String, String)>,
}

fn every_kind() -> EveryKind {
    let (dir, archive) = one_capture();
    let (provision, _) = training_provision(&archive);
    let server = Server::start(|_| Reply::status(404, "<h1>Not here</h1>"));
    let out = exhibit(&archive, &["capture", &server.url("/gone")]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "a failed capture: {}", all_output(&out));
    let failed = stderr(&out)
        .split("recorded as ")
        .nth(1)
        .and_then(|s| s.get(..11))
        .unwrap_or_else(|| panic!("no failed capture id: {}", stderr(&out)))
        .to_owned();
    let failed_citation = ok(&exhibit(&archive, &["cite", &failed]));
    assert!(
        field(&failed_citation, "Capture-Failed").is_some_and(|e| e.contains("404")),
        "{failed_citation}"
    );
    let bundle = dir.path().join("every.tar.zst");
    ok(&exhibit(
        &archive,
        &[
            "bundle",
            "EX-C-000001",
            &failed,
            "EX-P-000001",
            "--out",
            bundle.to_str().unwrap(),
        ],
    ));
    let records = vec![
        (
            "capture",
            "EX-C-000001".to_owned(),
            ok(&exhibit(&archive, &["cite", "EX-C-000001"])),
        ),
        ("failed capture", failed, failed_citation),
        (
            "version",
            "EX-V-000001".to_owned(),
            ok(&exhibit(&archive, &["cite", "EX-V-000001"])),
        ),
        ("provision", "EX-P-000001".to_owned(), provision),
    ];
    EveryKind {
        dir,
        archive,
        bundle,
        records,
    }
}

/// Both verifiers on one citation text: (`exhibit verify --citation` against the archive,
/// `exhibit-verify BUNDLE --citation`), each with `keys` as `--key` arguments.
fn both_verifiers(k: &EveryKind, name: &str, text: &str, keys: &[&str]) -> (Output, Output) {
    let f = write_file(k.dir.path(), name, text);
    let mut extra = Vec::new();
    for key in keys {
        extra.extend(["--key", *key]);
    }
    let archive = verify_citation(&k.archive, &f, &extra);
    let mut args = vec![
        k.bundle.to_str().unwrap(),
        "--citation",
        f.to_str().unwrap(),
    ];
    args.extend(&extra);
    let bundle = exhibit_verify(&args);
    no_panic(&bundle);
    (archive, bundle)
}

/// Sets `label`'s value: replaces the line when the citation has one, adds it otherwise.
fn set_field(citation: &str, label: &str, value: &str) -> String {
    if field(citation, label).is_some() {
        replace_field(citation, label, value)
    } else {
        format!("{citation}{label}: {value}\n")
    }
}

/// The same hex digits with the last one changed (an ellipsis kept).
fn flip_last_hex(h: &str) -> String {
    let body = h.trim_end_matches('…');
    let last = body.chars().last().unwrap();
    let other = if last == '0' { '1' } else { '0' };
    format!("{}{other}{}", &body[..body.len() - 1], &h[body.len()..])
}

/// The class test: a citation of every record kind, rendered by `exhibit cite`, with each
/// field changed in turn (replaced when the record states it, added when it does not), fails
/// in both verifiers with exit 1 — never 0, 2 or 3.
#[test]
fn every_changed_field_of_every_record_kind_fails_in_both_verifiers() {
    let k = every_kind();
    let other_hash = sha256_hex(b"no record has this hash");
    let mut runs = 0;
    for (kind, id, cited) in &k.records {
        // As rendered, the citation verifies in both (so a failure below is the change's).
        let (a, b) = both_verifiers(&k, "as-cited.txt", cited, &[]);
        assert_eq!(code(&a), 0, "{kind} as cited, archive:\n{}", all_output(&a));
        assert_eq!(code(&b), 0, "{kind} as cited, bundle:\n{}", all_output(&b));

        let prefix_kind = &id[..5]; // "EX-C-"
        let hash_or = |label: &str| {
            field(cited, label).map_or_else(|| other_hash.clone(), |h| flip_last_hex(&h))
        };
        let changes: Vec<(&str, String)> = vec![
            ("Entity", "Someone Else Inc".into()),
            ("Document", "Another Document Entirely".into()),
            ("Record ID", format!("{prefix_kind}000099")),
            (
                "Captured",
                one_second_off(&field(cited, "Captured").unwrap()),
            ),
            ("SHA-256", hash_or("SHA-256")),
            ("URL", "https://example.org/elsewhere".into()),
            ("Accessed", "January 1, 2001".into()),
            ("Document ID", "EX-D-000099".into()),
            ("Version ID", "EX-V-000099".into()),
            ("Capture ID", "EX-C-000099".into()),
            ("Provision ID", "EX-P-000099".into()),
            ("Text SHA-256", hash_or("Text SHA-256")),
            (
                "Excerpt",
                "“We sell everything you write to anyone who pays.”".into(),
            ),
            ("Excerpt SHA-256", hash_or("Excerpt SHA-256")),
            ("Manifest SHA-256", other_hash.clone()),
            (
                "Capture-Failed",
                if field(cited, "Capture-Failed").is_some() {
                    "HTTP 500 Internal Server Error".into()
                } else {
                    "HTTP 404 Not Found".into()
                },
            ),
            (
                "Signed-By",
                "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
            ),
            (
                "Log Position",
                format!("leaf {} in test.example", leaf_of(cited) + 7),
            ),
        ];
        for (label, value) in &changes {
            let changed = set_field(cited, label, value);
            let (a, b) = both_verifiers(&k, "changed.txt", &changed, &[]);
            for (which, out) in [("exhibit verify --citation", &a), ("exhibit-verify", &b)] {
                assert_eq!(
                    code(out),
                    1,
                    "{kind} {id} with {label}: {value}, {which}:\n{changed}\n{}",
                    all_output(out)
                );
                assert!(
                    !stdout(out).contains(CITATION_VERIFIED),
                    "{kind} {label}, {which}:\n{}",
                    stdout(out)
                );
            }
            runs += 1;
        }
    }
    assert_eq!(runs, 4 * 18);
}

/// Finding 2: `Capture-Failed` is checked — added to a successful capture's citation, or with
/// a failure's error changed, both verifiers exit 1 and name the field.
#[test]
fn a_capture_failed_line_is_checked_by_both_verifiers() {
    let k = every_kind();
    let (_, _, capture) = &k.records[0];
    let (_, _, failed) = &k.records[1];
    for (name, text) in [
        (
            "ok-said-failed.txt",
            format!("{capture}Capture-Failed: HTTP 404 Not Found\n"),
        ),
        (
            "other-error.txt",
            replace_field(failed, "Capture-Failed", "HTTP 410 Gone"),
        ),
    ] {
        let (a, b) = both_verifiers(&k, name, &text, &[]);
        for out in [&a, &b] {
            assert_eq!(code(out), 1, "{name}:\n{}", all_output(out));
            assert!(
                reports_differs(&stdout(out), "Capture-Failed"),
                "{name}:\n{}",
                stdout(out)
            );
        }
    }
}

/// Finding 3: with `--key`, only those keys are trusted; a citation's `Signed-By` naming
/// another key is a field that differs, never a second pin.
#[test]
fn a_citation_signed_by_never_widens_the_key_pin() {
    let (dir, archive) = one_capture();
    let real = fingerprint(&archive);
    // The attacker's archive: the same document, its own key.
    let (_dir2, attacker) = one_capture();
    let forged_citation = ok(&exhibit(&attacker, &["cite", "EX-C-000001"]));
    let attacker_fp = fingerprint(&attacker);
    assert_ne!(real, attacker_fp);
    let forged = dir.path().join("forged.tar.zst");
    ok(&exhibit(
        &attacker,
        &["bundle", "EX-C-000001", "--out", forged.to_str().unwrap()],
    ));
    let f = write_file(dir.path(), "c.txt", &forged_citation);
    let b = forged.to_str().unwrap();

    let out = exhibit_verify(&[b, "--key", &real]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    let out = exhibit_verify(&[b, "--key", &real, "--citation", f.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        !stdout(&out).contains(CITATION_VERIFIED),
        "{}",
        stdout(&out)
    );
    let out = exhibit(
        &archive,
        &[
            "verify",
            b,
            "--key",
            &real,
            "--citation",
            f.to_str().unwrap(),
        ],
    );
    no_panic(&out);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    // Without --key, the Signed-By pins (the filing is the independent channel).
    let out = exhibit_verify(&[b, "--citation", f.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", all_output(&out));

    // Against the archive: --key names another key than the record's signer, whom the
    // citation's Signed-By names: exit 1, and the Signed-By line says so.
    let genuine = ok(&exhibit(&archive, &["cite", "EX-C-000001"]));
    let g = write_file(dir.path(), "g.txt", &genuine);
    assert_eq!(code(&verify_citation(&archive, &g, &[])), 0);
    assert_eq!(code(&verify_citation(&archive, &g, &["--key", &real])), 0);
    let out = verify_citation(&archive, &g, &["--key", &attacker_fp]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
    assert!(
        reports_differs(&stdout(&out), "Signed-By"),
        "{}",
        stdout(&out)
    );
    // Without Signed-By, a --key of another key is a mismatch too, not "not pinned".
    let unsigned = write_file(dir.path(), "u.txt", &remove_field(&genuine, "Signed-By"));
    let out = verify_citation(&archive, &unsigned, &["--key", &attacker_fp]);
    assert_eq!(code(&out), 1, "{}", all_output(&out));
}

/// One exit code per meaning: a citation whose Record ID is a document id is well formed but
/// not true of any cited record — exit 1 from both verifiers.
#[test]
fn a_document_id_as_record_id_is_exit_1_in_both_verifiers() {
    let k = every_kind();
    let (_, _, cited) = &k.records[0];
    for (label, name) in [
        ("Record ID", "d-record.txt"),
        ("Capture ID", "d-capture.txt"),
    ] {
        let text = set_field(cited, label, "EX-D-000001");
        let (a, b) = both_verifiers(&k, name, &text, &[]);
        for out in [&a, &b] {
            assert_eq!(code(out), 1, "{label}:\n{}", all_output(out));
        }
        if label == "Record ID" {
            for out in [&a, &b] {
                assert!(stdout(out).contains("document"), "{}", stdout(out));
            }
        }
    }
}

/// A `SHA-256` line holding the text's or the manifest's hash is not a match for the content
/// hash: exit 1, and the report says which hash it is.
#[test]
fn a_sha256_field_matches_only_the_content_hash() {
    let k = every_kind();
    let (_, _, capture) = &k.records[0];
    let (_, _, version) = &k.records[2];
    let text_sha = field(version, "Text SHA-256").unwrap();
    let manifest = std::fs::read(k.archive.join("manifests/C/000/EX-C-000001.json")).unwrap();
    let manifest_sha = sha256_hex(&manifest);
    for (h, what) in [(&text_sha, "text"), (&manifest_sha, "manifest")] {
        for (name, text) in [
            ("with-id.txt", replace_field(capture, "SHA-256", h)),
            (
                "hash-only.txt",
                format!(
                    "SHA-256: {h}\nURL: {PRIVACY}\nSigned-By: {}\n",
                    fingerprint(&k.archive)
                ),
            ),
        ] {
            let (a, b) = both_verifiers(&k, name, &text, &[]);
            for out in [&a, &b] {
                assert_eq!(code(out), 1, "{what} {name}:\n{}", all_output(out));
                assert!(!stdout(out).contains(CITATION_VERIFIED), "{}", stdout(out));
            }
            if name == "with-id.txt" {
                for out in [&a, &b] {
                    assert!(
                        reports_differs(&stdout(out), "SHA-256") && stdout(out).contains(what),
                        "says which hash it is: {}",
                        stdout(out)
                    );
                }
            }
        }
    }
}

/// Lines that state a field under another spelling are checked as that field; any other
/// labelled line is listed as not checked and the citation cannot be verified (exit 1).
#[test]
fn other_spellings_are_checked_and_other_labelled_lines_are_listed() {
    let k = every_kind();
    let (_, _, cited) = &k.records[0];
    let sha = field(cited, "SHA-256").unwrap();
    let rename = |from: &str, to: &str, value: &str| -> String {
        let lines: Vec<String> = cited
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{from}: ")) {
                    format!("{to}: {value}")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        let out = format!("{}\n", lines.join("\n"));
        assert_ne!(out, *cited, "{from}");
        out
    };
    let captured = field(cited, "Captured").unwrap();
    let spellings = [
        (
            "Captured",
            "Captured on",
            "1999-01-01 00:00:00 UTC".to_owned(),
        ),
        (
            "Captured",
            "Captured at",
            "1999-01-01 00:00:00 UTC".to_owned(),
        ),
        ("Captured", "Date captured", one_second_off(&captured)),
        ("Captured", "Archived on", one_second_off(&captured)),
        ("SHA-256", "SHA256", flip_last_hex(&sha)),
        ("SHA-256", "Hash", flip_last_hex(&sha)),
        ("SHA-256", "SHA-256 hash", flip_last_hex(&sha)),
        ("Record ID", "Record", "EX-C-000099".to_owned()),
        ("Record ID", "Record number", "EX-C-000099".to_owned()),
        ("URL", "Original URL", "https://example.org/x".to_owned()),
        ("Capture-Failed", "Error", "HTTP 404 Not Found".to_owned()),
    ];
    for (from, to, value) in &spellings {
        let text = if *from == "Capture-Failed" {
            format!("{cited}{to}: {value}\n")
        } else {
            rename(from, to, value)
        };
        let (a, b) = both_verifiers(&k, "spelling.txt", &text, &[]);
        for out in [&a, &b] {
            assert_eq!(code(out), 1, "{to}: {value}\n{}", all_output(out));
            assert!(
                reports_differs(&stdout(out), from),
                "{to} is checked as {from}: {}",
                stdout(out)
            );
        }
        // The same spelling with the true value verifies.
        if *from != "Capture-Failed" && *from != "URL" {
            let true_value = field(cited, from).unwrap();
            let (a, b) = both_verifiers(&k, "spelling-ok.txt", &rename(from, to, &true_value), &[]);
            assert_eq!(code(&a), 0, "{to}: {}", all_output(&a));
            assert_eq!(code(&b), 0, "{to}: {}", all_output(&b));
        }
    }
    // A label that names no field, stating a date: listed, and not verified.
    let text = format!("{cited}Archive snapshot taken: 1999-01-01\n");
    let (a, b) = both_verifiers(&k, "unknown-claim.txt", &text, &[]);
    for out in [&a, &b] {
        assert_eq!(code(out), 1, "{}", all_output(out));
        let report = stdout(out);
        assert!(
            report.contains("Archive snapshot taken") && report.contains("not checked"),
            "{report}"
        );
    }
    // Another spelling beside the field's own line, contradicting it: not verified.
    let text = format!("{cited}Captured on: 1999-01-01 00:00:00 UTC\n");
    let (a, b) = both_verifiers(&k, "contradiction.txt", &text, &[]);
    for out in [&a, &b] {
        assert_eq!(code(out), 1, "{}", all_output(out));
        assert!(
            stdout(out).contains("contradicts the citation's Captured line"),
            "{}",
            stdout(out)
        );
    }
    // Fail-closed: any labelled line that names no field, prose included, is listed as not
    // checked and fails the verdict (remove it or state it as a field); the same words without
    // a label are harmless.
    let text = format!("{cited}Note: pasted from the exhibit list\n");
    let (a, b) = both_verifiers(&k, "note.txt", &text, &[]);
    for out in [&a, &b] {
        assert_eq!(code(out), 1, "{}", all_output(out));
        let report = stdout(out);
        assert!(
            report.lines().any(|l| l.contains("Note")
                && l.contains("not checked")
                && l.contains("remove it or state it as a field")),
            "{report}"
        );
    }
    let text = format!("{cited}Pasted from the exhibit list.\n");
    let (a, b) = both_verifiers(&k, "prose.txt", &text, &[]);
    for out in [&a, &b] {
        assert_eq!(code(out), 0, "{}", all_output(out));
    }
}

/// Finding 6 (verify --file, --hash): the catalog only finds candidates. A catalog row pointed
/// at another capture's hashes does not make a file "this capture's exact bytes".
#[test]
fn verify_file_and_hash_state_only_what_the_signed_manifest_says() {
    let (_dir, archive) = one_capture();
    capture(&archive, "policy-v2.html", PRIVACY, Some("Example Corp"));
    let v1 = sha256_hex(&std::fs::read(fixture("policy-v1.html")).unwrap());
    let v2 = sha256_hex(&std::fs::read(fixture("policy-v2.html")).unwrap());
    // EX-C-000001's row now claims policy-v2's bytes; EX-C-000002 loses its own.
    let db = rusqlite::Connection::open(archive.join("catalog.sqlite")).unwrap();
    db.execute(
        "UPDATE captures SET sha256 = ?1 WHERE num = 1",
        rusqlite::params![v2],
    )
    .unwrap();
    db.execute(
        "UPDATE captures SET sha256 = ?1 WHERE num = 2",
        rusqlite::params![v1],
    )
    .unwrap();
    drop(db);

    let v2_file = fixture("policy-v2.html");
    let out = exhibit(&archive, &["verify", "--file", v2_file.to_str().unwrap()]);
    no_panic(&out);
    let report = stdout(&out);
    let claims_c1 = report
        .split("\n\n")
        .any(|block| block.contains("EX-C-000001  (") && block.contains("exact bytes"));
    assert!(
        !claims_c1,
        "policy-v2 is not EX-C-000001's exact bytes:\n{}",
        all_output(&out)
    );
    assert_ne!(code(&out), 0, "{}", all_output(&out));

    let out = exhibit(&archive, &["verify", "--hash", &v2]);
    no_panic(&out);
    let report = stdout(&out);
    assert!(
        !report.contains(&format!("EX-C-000001  (content sha256 {v2})")),
        "{}",
        all_output(&out)
    );
    assert_ne!(code(&out), 0, "{}", all_output(&out));
}

/// Strings from a capture reach the terminal inert in citation reports: a title with escape
/// sequences is printed escaped by both verifiers and by `exhibit cite`.
#[test]
fn citation_reports_print_capture_strings_inert() {
    let (dir, archive) = new_archive();
    let page = write_file(
        dir.path(),
        "evil.html",
        "<html><head><title>Policy\u{1b}[2J\u{1b}[8m hidden</title></head><body><p>We keep \
         your data.</p></body></html>",
    );
    ok(&exhibit(
        &archive,
        &["capture", page.to_str().unwrap(), "--url", PRIVACY],
    ));
    let cited = exhibit(&archive, &["cite", "EX-C-000001"]);
    assert!(!stdout(&cited).contains('\u{1b}'), "{:?}", stdout(&cited));
    let text = format!(
        "{}Document: Other\u{1b}[1A title\n",
        remove_field(&stdout(&cited), "Document")
    );
    let f = write_file(dir.path(), "c.txt", &text);
    let bundle = dir.path().join("b.tar.zst");
    ok(&exhibit(
        &archive,
        &["bundle", "EX-C-000001", "--out", bundle.to_str().unwrap()],
    ));
    let a = verify_citation(&archive, &f, &[]);
    let b = exhibit_verify(&[bundle.to_str().unwrap(), "--citation", f.to_str().unwrap()]);
    for out in [&a, &b] {
        assert_eq!(code(out), 1, "{}", all_output(out));
        assert!(!stdout(out).contains('\u{1b}'), "{:?}", stdout(out));
        assert!(stdout(out).contains("\\u{1b}"), "{:?}", stdout(out));
    }
}

/// The weekday of `YYYY-MM-DD` (0 = Monday), by the days-from-civil algorithm.
fn weekday_of(date: &str) -> usize {
    let mut it = date.split('-').map(|p| p.parse::<i64>().unwrap());
    let (y, m, d) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468; // days since 1970-01-01, a Thursday
    (days + 3).rem_euclid(7) as usize
}

/// `YYYY-MM-DD HH:MM:SS UTC` as `Weekday, Month D, YYYY`, the weekday moved by `shift` days.
fn with_weekday(captured: &str, shift: usize) -> String {
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let date = captured.split(' ').next().unwrap();
    let parts: Vec<usize> = date.split('-').map(|p| p.parse().unwrap()).collect();
    format!(
        "{}, {} {}, {}",
        DAYS[(weekday_of(date) + shift) % 7],
        MONTHS[parts[1] - 1],
        parts[2],
        parts[0]
    )
}

/// Replaces the whole line that starts with `label: ` by `line` (or appends `line` when
/// `label` is empty).
fn replace_line(citation: &str, label: &str, line: &str) -> String {
    if label.is_empty() {
        return format!("{citation}{line}\n");
    }
    let prefix = format!("{label}: ");
    let mut found = false;
    let out: Vec<String> = citation
        .lines()
        .map(|l| {
            if !found && l.starts_with(&prefix) {
                found = true;
                line.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(found, "no {label} line in {citation}");
    format!("{}\n", out.join("\n"))
}

/// The red team's holes (issue 17, "every field a citation can carry is checked"): each row is
/// a citation of a real record that states something false — under a look-alike label, an
/// unknown label, another line shape, a number that is not whole, a URL with a user part, a
/// weekday the date does not have — and each must not verify in either verifier. Rows that
/// state the truth in those shapes still verify.
#[test]
fn labelled_lines_of_every_shape_and_strict_values_never_verify_a_false_citation() {
    let k = every_kind();
    let (_, _, capture) = &k.records[0];
    let (_, _, failed) = &k.records[1];
    let (_, _, version) = &k.records[2];
    let captured = field(capture, "Captured").unwrap();
    let leaf = leaf_of(version);
    let log = field(version, "Log Position").unwrap();
    let origin = log.split(" in ").nth(1).unwrap().to_owned();
    let url_tail = PRIVACY.strip_prefix("https://example.com").unwrap();
    // (name, citation, expected exit code of both verifiers)
    let rows: Vec<(&str, String, i32)> = vec![
        // 1. Look-alike labels (Cyrillic Е, о).
        (
            "cyrillic entity",
            replace_line(capture, "Entity", "\u{415}ntity: Evil Corp"),
            1,
        ),
        (
            "cyrillic document",
            replace_line(capture, "Document", "D\u{43e}cument: Cookie Policy"),
            1,
        ),
        (
            "cyrillic entity, dash",
            replace_line(capture, "Entity", "\u{415}ntity \u{2013} Evil Corp"),
            1,
        ),
        // 2. A failure stated of a successful capture, under other labels.
        (
            "failure on success",
            replace_line(capture, "", "Failure: HTTP 404 Not Found"),
            1,
        ),
        (
            "http status on success",
            replace_line(capture, "", "HTTP Status: 404 Not Found"),
            1,
        ),
        (
            "status on a failure",
            replace_line(failed, "", "Status: 200 OK"),
            1,
        ),
        (
            "wrong reason on a failure",
            replace_line(failed, "", "HTTP Status: 404 Gone"),
            1,
        ),
        // 3. Other line shapes of a field: parsed as the field, never dropped.
        (
            "numbered",
            replace_line(capture, "Entity", "1. Entity: Evil Corp"),
            1,
        ),
        (
            "numbered paren",
            replace_line(capture, "Entity", "2) Entity: Evil Corp"),
            1,
        ),
        (
            "bullet",
            replace_line(capture, "Entity", "\u{2022} Entity: Evil Corp"),
            1,
        ),
        (
            "table row",
            replace_line(capture, "Entity", "| Entity | Evil Corp |"),
            1,
        ),
        (
            "tab",
            replace_line(capture, "Entity", "Entity\tEvil Corp"),
            1,
        ),
        (
            "en dash",
            replace_line(capture, "Entity", "Entity \u{2013} Evil Corp"),
            1,
        ),
        (
            "em dash",
            replace_line(capture, "Entity", "Entity \u{2014} Evil Corp"),
            1,
        ),
        (
            "hyphen",
            replace_line(capture, "Entity", "Entity - Evil Corp"),
            1,
        ),
        (
            "double hyphen",
            replace_line(capture, "Entity", "Entity -- Evil Corp"),
            1,
        ),
        (
            "bare bar",
            replace_line(capture, "Entity", "Entity | Evil Corp"),
            1,
        ),
        (
            "label alone, value below",
            replace_line(capture, "Entity", "Entity\nEvil Corp"),
            1,
        ),
        (
            "dash at the end, value below",
            replace_line(capture, "Entity", "Entity \u{2013}\nEvil Corp"),
            1,
        ),
        // 4. Other labels: an alias is checked as its field, anything else fails.
        (
            "owner",
            replace_line(capture, "Entity", "Owner: Evil Corp"),
            1,
        ),
        (
            "position",
            replace_line(capture, "Log Position", "Position: leaf 7 in red.example"),
            1,
        ),
        (
            "unknown label",
            replace_line(capture, "", "Reviewed by: J. Smith"),
            1,
        ),
        // 5. A number is the whole token.
        (
            "leaf with a comma",
            replace_line(
                version,
                "Log Position",
                &format!("Log Position: leaf {leaf},000 in {origin}"),
            ),
            2,
        ),
        (
            "negative leaf",
            replace_line(
                version,
                "Log Position",
                &format!("Log Position: leaf -{leaf} in {origin}"),
            ),
            2,
        ),
        (
            "fractional leaf",
            replace_line(
                version,
                "Log Position",
                &format!("Log Position: leaf {leaf}.7 in {origin}"),
            ),
            2,
        ),
        // 6. A URL's user part, port and host are compared.
        (
            "url userinfo",
            replace_line(
                capture,
                "URL",
                &format!("URL: https://evil.example@example.com{url_tail}"),
            ),
            1,
        ),
        (
            "cut url userinfo",
            replace_line(capture, "URL", "URL: https://evil.example@example.com/pri…"),
            1,
        ),
        (
            "url backslash",
            replace_line(
                capture,
                "URL",
                &format!("URL: https://evil.example\\@example.com{url_tail}"),
            ),
            1,
        ),
        (
            "url other port",
            replace_line(
                capture,
                "URL",
                &format!("URL: https://example.com:80{url_tail}"),
            ),
            1,
        ),
        (
            "url numeric host",
            replace_line(capture, "URL", &format!("URL: http://2130706433{url_tail}")),
            1,
        ),
        // 7. A stated weekday agrees with the date.
        (
            "wrong weekday",
            replace_line(
                capture,
                "Captured",
                &format!("Captured: {}", with_weekday(&captured, 1)),
            ),
            2,
        ),
        // The truth in the same shapes still verifies.
        (
            "true numbered table tab dash",
            replace_line(
                &replace_line(
                    &replace_line(capture, "Entity", "1. Entity: Example Corp"),
                    "Document",
                    "| Document | Example Corp Privacy Policy |",
                ),
                "Record ID",
                "Record ID\tEX-C-000001",
            ),
            0,
        ),
        (
            "true owner and position",
            replace_line(
                &replace_line(capture, "Entity", "Owner \u{2014} Example Corp"),
                "Log Position",
                &format!("Position: {}", field(capture, "Log Position").unwrap()),
            ),
            0,
        ),
        (
            "true default port",
            replace_line(
                capture,
                "URL",
                &format!("URL: https://EXAMPLE.com:443{url_tail}"),
            ),
            0,
        ),
        (
            "true weekday",
            replace_line(
                capture,
                "Captured",
                &format!("Captured: {}", with_weekday(&captured, 0)),
            ),
            0,
        ),
        (
            "true status of a failure",
            replace_line(failed, "", "HTTP Status: 404 Not Found"),
            0,
        ),
        (
            "prose without a label",
            replace_line(
                capture,
                "",
                "The defendant does not dispute the record above.",
            ),
            0,
        ),
    ];
    let mut wrong = Vec::new();
    for (name, text, want) in &rows {
        let (a, b) = both_verifiers(&k, "row.txt", text, &[]);
        for (which, out) in [("exhibit verify --citation", &a), ("exhibit-verify", &b)] {
            if code(out) != *want || (*want != 0 && stdout(out).contains(CITATION_VERIFIED)) {
                wrong.push(format!(
                    "{name}, {which}: exit {} (want {want})\n{text}\n{}",
                    code(out),
                    all_output(out)
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} rows wrong:\n{}",
        wrong.len(),
        rows.len() * 2,
        wrong.join("\n---\n")
    );
}
