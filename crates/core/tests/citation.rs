//! Citation records: parsing what people paste out of PDFs, rendering, comparing; and finding
//! quoted passages in extracted text.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use exhibit_core::citation::{
    Citation, FieldStatus, HashForm, Precision, RecordFacts, compare, parse, render,
};
use exhibit_core::quote::{clean_quote, closest, find, match_form};
use exhibit_core::{IdPrefix, RecordId, RecordKind, Sha256Digest};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Every field a citation states, as strings, for table comparisons.
fn fields(c: &Citation) -> BTreeMap<&'static str, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            m.insert(k, v);
        }
    };
    put("record_id", c.record_id.as_ref().map(ToString::to_string));
    put(
        "document_id",
        c.document_id.as_ref().map(ToString::to_string),
    );
    put("version_id", c.version_id.as_ref().map(ToString::to_string));
    put("capture_id", c.capture_id.as_ref().map(ToString::to_string));
    put(
        "provision_id",
        c.provision_id.as_ref().map(ToString::to_string),
    );
    put("entity", c.entity.clone());
    put("title", c.title.clone());
    put(
        "url",
        c.url.as_ref().map(|u| {
            if u.truncated {
                format!("{} [truncated]", u.url)
            } else {
                u.url.clone()
            }
        }),
    );
    put(
        "captured",
        c.captured
            .as_ref()
            .map(|t| format!("{} {:?}", t.at.format("%Y-%m-%dT%H:%M:%SZ"), t.precision)),
    );
    put("accessed", c.accessed.map(|d| d.to_string()));
    put("sha256", c.sha256.as_ref().map(|p| p.as_str().to_owned()));
    put(
        "text_sha256",
        c.text_sha256.as_ref().map(|p| p.as_str().to_owned()),
    );
    put(
        "excerpt_sha256",
        c.excerpt_sha256.as_ref().map(|p| p.as_str().to_owned()),
    );
    put(
        "excerpt",
        c.excerpt.as_ref().map(|e| {
            format!(
                "{}{}{}",
                if e.truncated_start { "…" } else { "" },
                e.text,
                if e.truncated_end { "…" } else { "" }
            )
        }),
    );
    put("signer", c.signer.clone());
    put(
        "log",
        c.log_index.map(|i| match &c.log_origin {
            Some(o) => format!("{i} in {o}"),
            None => i.to_string(),
        }),
    );
    put(
        "warnings",
        (!c.warnings.is_empty()).then(|| c.warnings.len().to_string()),
    );
    m
}

const AI21: &str = "Citation Record
Entity: AI21 Labs
Document: AI21 Labs Privacy Policy
Record ID: CA-P-008134
Captured: 2026-04-30 06:15:21 UTC
SHA-256: 4abc7ff0d7779bee…
URL: https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/…
Accessed: May 13, 2026
";

const FULL: &str = "4abc7ff0d7779bee0123456789abcdef0123456789abcdef0123456789abcdef";
const FP: &str = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";

fn ai21() -> Vec<(&'static str, String)> {
    vec![
        ("entity", "AI21 Labs".into()),
        ("title", "AI21 Labs Privacy Policy".into()),
        ("record_id", "CA-P-008134".into()),
        ("captured", "2026-04-30T06:15:21Z Second".into()),
        ("sha256", "4abc7ff0d7779bee".into()),
        (
            "url",
            "https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/ [truncated]"
                .into(),
        ),
        ("accessed", "2026-05-13".into()),
    ]
}

/// The AI21 expectation with some fields replaced (an empty value removes the field).
fn ai21_with(changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut v = ai21();
    for (k, val) in changes {
        v.retain(|(key, _)| key != k);
        if !val.is_empty() {
            v.push((k, (*val).to_owned()));
        }
    }
    v
}

fn s(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

// ---------------------------------------------------------------------------------------------
// Parsing: messy real-world shapes

#[test]
fn parses_messy_pastes() {
    let crlf = AI21.replace('\n', "\r\n");
    let cr = AI21.replace('\n', "\r");
    let indented: String = AI21
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{}{l}\t \n", ["", "  ", "\t", "    \t"][i % 4]))
        .collect();
    let nbsp = AI21
        .replace(": ", ":\u{a0}")
        .replace("AI21 Labs", "AI21\u{a0}Labs");
    let prose = format!(
        "In support of the motion, plaintiffs rely on the following record.\n\n{AI21}\n\
         The record above was accessed by counsel; see Decl. ¶ 4.\nPage 12 of 40\n"
    );
    let reordered = "Citation Record\nURL: https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/…\n\
        Accessed: May 13, 2026\nSHA-256: 4abc7ff0d7779bee…\nCaptured: 2026-04-30 06:15:21 UTC\n\
        Record ID: CA-P-008134\nDocument: AI21 Labs Privacy Policy\nEntity: AI21 Labs\n";
    let lower = AI21
        .lines()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}:{v}\n", k.to_lowercase()),
            None => format!("{l}\n"),
        })
        .collect::<String>();
    let upper = AI21
        .lines()
        .map(|l| match l.split_once(':') {
            Some((k, v)) => format!("{}:{v}\n", k.to_uppercase()),
            None => format!("{}\n", l.to_uppercase()),
        })
        .collect::<String>();
    let dots = AI21.replace('…', "...");
    let no_ellipsis = AI21
        .replace("4abc7ff0d7779bee…", FULL)
        .replace("privacy-policy/…", "privacy-policy/");
    let wrapped = AI21.replace(
        "SHA-256: 4abc7ff0d7779bee…",
        &format!("SHA-256: {}\n{}", &FULL[..40], &FULL[40..]),
    );
    let wrapped_spaces = AI21.replace(
        "SHA-256: 4abc7ff0d7779bee…",
        "SHA-256: 4abc 7ff0 d777 9bee …",
    );
    let next_line = AI21
        .replace("Entity: ", "Entity:\n")
        .replace("SHA-256: ", "SHA-256:\n\n   ")
        .replace("Record ID: ", "Record ID:\n");
    let en_dash = AI21.replace("CA-P-008134", "CA–P–008134");
    let bom = format!("\u{FEFF}{AI21}");
    let zero_width = AI21
        .replace("SHA-256", "SHA\u{200B}-256")
        .replace("4abc7ff0", "4abc\u{200B}7ff0")
        .replace("AI21 Labs Privacy", "AI21 Labs\u{AD} Privacy");
    let fullwidth = AI21
        .replace("Entity:", "Entity：")
        .replace("URL:", "URL ：");
    let space_colon = AI21.replace(": ", " : ");
    let markdown = AI21
        .replace("Entity:", "**Entity:**")
        .replace("URL:", "- URL:")
        .replace("Citation Record", "## Citation Record");

    let excerpt_multi = "Citation Record\nRecord ID: EX-P-000007\n\
        Excerpt: “By using the Services,\n  you grant us a worldwide,\n\n royalty-free licence…”\n\
        Excerpt SHA-256: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
    let excerpt_from = "Citation Record\nEntity: AI21 Labs\nExcerpt from AI21 Labs's Privacy Policy:\n\
        \"We may share your information\nwith our affiliates.\"\nRecord ID: CA-P-008134\n";
    let two = format!(
        "{AI21}\nCitation Record\nEntity: Example Corp\nRecord ID: EX-C-000042\n\
         Captured: 2026-01-02T03:04:05Z\nSHA-256: {FULL}\n"
    );

    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, String, Vec<Vec<(&'static str, String)>>)> = vec![
        ("verbatim AI21 block", AI21.to_owned(), vec![ai21()]),
        ("CRLF", crlf, vec![ai21()]),
        ("CR only", cr, vec![ai21()]),
        ("indentation and trailing tabs", indented, vec![ai21()]),
        ("NBSPs", nbsp, vec![ai21()]),
        ("surrounding prose", prose, vec![ai21()]),
        ("reordered fields", reordered.to_owned(), vec![ai21()]),
        ("lower-case labels", lower, vec![ai21()]),
        (
            "upper-case labels and header",
            upper,
            vec![ai21()],
        ),
        ("three dots", dots, vec![ai21()]),
        (
            "no ellipsis",
            no_ellipsis,
            vec![ai21_with(&[
                ("sha256", FULL),
                (
                    "url",
                    "https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/",
                ),
            ])],
        ),
        (
            "hash wrapped onto the next line",
            wrapped,
            vec![ai21_with(&[("sha256", FULL)])],
        ),
        ("hash with spaces inside", wrapped_spaces, vec![ai21()]),
        ("values on the next line", next_line, vec![ai21()]),
        ("en-dash id", en_dash, vec![ai21()]),
        ("byte-order mark", bom, vec![ai21()]),
        ("zero-width characters", zero_width, vec![ai21()]),
        ("full-width colon", fullwidth, vec![ai21()]),
        ("space before colon", space_colon, vec![ai21()]),
        ("markdown", markdown, vec![ai21()]),
        (
            "RFC 3339 with offset",
            AI21.replace("2026-04-30 06:15:21 UTC", "2026-04-30T08:15:21+02:00"),
            vec![ai21()],
        ),
        (
            "RFC 3339 Z with fraction",
            AI21.replace("2026-04-30 06:15:21 UTC", "2026-04-30T06:15:21.987Z"),
            vec![ai21()],
        ),
        (
            "space-separated offset without colon",
            AI21.replace("2026-04-30 06:15:21 UTC", "2026-04-30 01:15:21 -0500"),
            vec![ai21()],
        ),
        (
            "GMT",
            AI21.replace("06:15:21 UTC", "06:15:21 GMT"),
            vec![ai21()],
        ),
        (
            "minute precision",
            AI21.replace("06:15:21 UTC", "06:15 UTC"),
            vec![ai21_with(&[("captured", "2026-04-30T06:15:00Z Minute")])],
        ),
        (
            "date only, month name",
            AI21.replace("2026-04-30 06:15:21 UTC", "April 30, 2026"),
            vec![ai21_with(&[("captured", "2026-04-30T00:00:00Z Day")])],
        ),
        (
            "date only, ISO",
            AI21.replace("2026-04-30 06:15:21 UTC", "2026-04-30"),
            vec![ai21_with(&[("captured", "2026-04-30T00:00:00Z Day")])],
        ),
        (
            "date only, day first",
            AI21.replace("2026-04-30 06:15:21 UTC", "30 April 2026"),
            vec![ai21_with(&[("captured", "2026-04-30T00:00:00Z Day")])],
        ),
        (
            "date only, abbreviated month",
            AI21.replace("2026-04-30 06:15:21 UTC", "Apr. 30, 2026"),
            vec![ai21_with(&[("captured", "2026-04-30T00:00:00Z Day")])],
        ),
        (
            "month name with 12-hour time",
            AI21.replace("2026-04-30 06:15:21 UTC", "April 30, 2026, 6:15:21 AM UTC"),
            vec![ai21()],
        ),
        (
            "month name with 24-hour time",
            AI21.replace("2026-04-30 06:15:21 UTC", "April 30, 2026 06:15:21 UTC"),
            vec![ai21()],
        ),
        (
            "no time zone",
            AI21.replace("06:15:21 UTC", "06:15:21"),
            vec![ai21_with(&[("warnings", "1")])],
        ),
        (
            "accessed with weekday",
            AI21.replace("May 13, 2026", "Wed, May 13, 2026"),
            vec![ai21()],
        ),
        (
            "accessed day first",
            AI21.replace("May 13, 2026", "13 May 2026"),
            vec![ai21()],
        ),
        (
            "accessed ISO",
            AI21.replace("May 13, 2026", "2026-05-13"),
            vec![ai21()],
        ),
        (
            "accessed without comma",
            AI21.replace("May 13, 2026", "May 13 2026"),
            vec![ai21()],
        ),
        (
            // Listed as not checked (see
            // `every_labelled_line_is_a_field_or_not_checked`), not silently a warning.
            "accessed unparseable is not a date",
            AI21.replace("May 13, 2026", "last Tuesday"),
            vec![ai21_with(&[("accessed", "")])],
        ),
        (
            "short hash warns",
            AI21.replace("4abc7ff0d7779bee…", "4abc7ff0d777…"),
            vec![ai21_with(&[("sha256", "4abc7ff0d777"), ("warnings", "1")])],
        ),
        (
            "hash with sha256: prefix, upper case, trailing dot",
            AI21.replace("4abc7ff0d7779bee…", "sha256:4ABC7FF0D7779BEE."),
            vec![ai21()],
        ),
        (
            "aliases",
            "Company: AI21 Labs\nPolicy: AI21 Labs Privacy Policy\nCitation ID: CA-P-008134\n\
             Retrieved: 2026-04-30 06:15:21 UTC\nChecksum: 4abc7ff0d7779bee...\n\
             Source URL: https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/...\n\
             Date Accessed: May 13, 2026\n"
                .to_owned(),
            vec![ai21()],
        ),
        (
            "underscored labels and other ids",
            "record_id: EX-V-000002\nDOCUMENT_ID: ex-d-1\nversion-id: EX-V-2\nCapture ID: EX-C-000003\n\
             Provision Id: EX-P-000004\nText SHA256: 0123456789abcdef…\n"
                .to_owned(),
            vec![s(&[
                ("record_id", "EX-V-000002"),
                ("document_id", "EX-D-000001"),
                ("version_id", "EX-V-000002"),
                ("capture_id", "EX-C-000003"),
                ("provision_id", "EX-P-000004"),
                ("text_sha256", "0123456789abcdef"),
            ])],
        ),
        (
            "signer and log positions",
            format!("Signed-By: {FP}\nLog Position: leaf 41 in exhibit/1a2b3c4d\n"),
            vec![s(&[("signer", FP), ("log", "41 in exhibit/1a2b3c4d")])],
        ),
        (
            "log position forms",
            "Log: #41\nCitation Record\nLog index: index 41 of archive.example.org\n\
             Citation Record\nLog leaf: 41 (log exhibit/abc)\n"
                .to_owned(),
            vec![
                s(&[("log", "41")]),
                s(&[("log", "41 in archive.example.org")]),
                s(&[("log", "41 in exhibit/abc")]),
            ],
        ),
        (
            "fingerprint with spaces (wrapped)",
            format!("Fingerprint: {} {}\n", &FP[..20], &FP[20..]),
            vec![s(&[("signer", FP)])],
        ),
        ("two records", two, {
            vec![
                ai21(),
                s(&[
                    ("entity", "Example Corp"),
                    ("record_id", "EX-C-000042"),
                    ("captured", "2026-01-02T03:04:05Z Second"),
                    ("sha256", FULL),
                ]),
            ]
        }),
        (
            "multi-line quoted excerpt",
            excerpt_multi.to_owned(),
            vec![s(&[
                ("record_id", "EX-P-000007"),
                (
                    "excerpt",
                    "By using the Services, you grant us a worldwide, royalty-free licence…",
                ),
                (
                    "excerpt_sha256",
                    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                ),
            ])],
        ),
        (
            "Excerpt from X's Policy label, value on next lines",
            excerpt_from.to_owned(),
            vec![s(&[
                ("entity", "AI21 Labs"),
                ("record_id", "CA-P-008134"),
                (
                    "excerpt",
                    "We may share your information with our affiliates.",
                ),
            ])],
        ),
        (
            "excerpt with leading ellipsis in guillemets",
            "Quote: « … les données »\n".to_owned(),
            vec![s(&[("excerpt", "…les données")])],
        ),
        (
            "prose between fields and unknown labels",
            "Citation Record\nEntity: AI21 Labs\nNote: this is not a field\nExhibit 4\n\
             Record ID: CA-P-008134\nPage: 3\n"
                .to_owned(),
            vec![s(&[("entity", "AI21 Labs"), ("record_id", "CA-P-008134")])],
        ),
        (
            "same field twice with the same value",
            format!("{AI21}Record ID: ca-p-8134\nCaptured: 2026-04-30T06:15:21Z\n"),
            vec![ai21()],
        ),
        (
            "header-only record is dropped",
            format!("Citation Record\nnothing here\n\n{AI21}Citation Record\n"),
            vec![ai21()],
        ),
        (
            "URL in angle brackets, no header",
            "URL: <https://example.org/terms>\n".to_owned(),
            vec![s(&[("url", "https://example.org/terms")])],
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (name, input, want) in cases {
        let got = parse(&input).unwrap_or_else(|e| panic!("{name}: {e}\n{input}"));
        let got: Vec<_> = got.iter().map(fields).collect();
        let want: Vec<BTreeMap<&str, String>> =
            want.into_iter().map(|w| w.into_iter().collect()).collect();
        assert_eq!(got, want, "case {name:?}:\n{input}");
    }
}

#[test]
fn the_ai21_block_parses_exactly() {
    let c = parse(AI21).unwrap();
    assert_eq!(c.len(), 1);
    let c = &c[0];
    assert_eq!(c.entity.as_deref(), Some("AI21 Labs"));
    assert_eq!(c.title.as_deref(), Some("AI21 Labs Privacy Policy"));
    assert_eq!(c.record_id.as_ref().unwrap().to_string(), "CA-P-008134");
    assert_eq!(c.record_id.as_ref().unwrap().kind(), RecordKind::Provision);
    let t = c.captured.as_ref().unwrap();
    assert_eq!(t.at.to_rfc3339(), "2026-04-30T06:15:21+00:00");
    assert_eq!(t.precision, Precision::Second);
    assert_eq!(t.text, "2026-04-30 06:15:21 UTC");
    assert_eq!(c.sha256.as_ref().unwrap().as_str(), "4abc7ff0d7779bee");
    let u = c.url.as_ref().unwrap();
    assert!(u.truncated);
    assert_eq!(
        u.url,
        "https://conductatlas.com/platform/ai21-labs/ai21-labs-privacy-policy/"
    );
    assert_eq!(c.accessed, NaiveDate::from_ymd_opt(2026, 5, 13));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn malformed_citations_are_errors_naming_the_field() {
    let big = format!(
        "Entity: x\n{}",
        "y".repeat(exhibit_core::citation::MAX_CITATION_BYTES)
    );
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "7-digit hash",
            "SHA-256: 4abc7ff…".into(),
            &["SHA-256", "at least 8 hex digits", "found 7"],
        ),
        (
            "non-hex hash",
            "SHA-256: 4abc7ffz0d7779bee".into(),
            &["SHA-256", "hex digit"],
        ),
        (
            "65-digit hash",
            format!("Hash: {FULL}0"),
            &["Hash", "64 hex digits"],
        ),
        (
            "bad id",
            "Record ID: EX-C-12x".into(),
            &["Record ID", "EX-C-12x"],
        ),
        (
            "bad id kind",
            "Version ID: EX-Q-000001".into(),
            &["Version ID", "kind"],
        ),
        (
            "bad fingerprint",
            "Signed-By: SHA256:abc".into(),
            &["Signed-By", "fingerprint"],
        ),
        (
            "unparseable Captured",
            "Captured: sometime last week".into(),
            &["Captured", "date"],
        ),
        (
            "impossible date",
            "Captured: 2026-02-30 06:15:21 UTC".into(),
            &["Captured"],
        ),
        (
            "conflicting duplicate",
            "Citation Record\nEntity: AI21 Labs\nEntity: Example Corp\n".into(),
            &["Entity", "twice"],
        ),
        (
            "conflicting duplicate hash",
            format!("SHA-256: 4abc7ff0d7779bee\nSHA-256: {}", &FULL[1..17]),
            &["SHA-256", "twice"],
        ),
        (
            "not a URL",
            "URL: conductatlas.com".into(),
            &["URL", "not a URL"],
        ),
        (
            "log without index",
            "Log Position: in exhibit/abc".into(),
            &["Log Position"],
        ),
        ("empty input", String::new(), &["no citation fields found"]),
        (
            "only prose",
            "This is a brief.\nIt cites nothing.\n".into(),
            &["no citation fields found"],
        ),
        (
            "only a header",
            "Citation Record\n\n".into(),
            &["no citation fields found"],
        ),
        ("oversized input", big, &["bytes", "limit"]),
    ];
    for (name, input, needles) in cases {
        let e = parse(&input).expect_err(name).to_string();
        assert!(e.starts_with("citation: "), "{name}: {e}");
        assert!(!e.contains('\n'), "{name}: {e}");
        for n in needles {
            assert!(e.contains(n), "{name}: {e:?} lacks {n:?}");
        }
    }
    // Hostile values are never echoed at length.
    let e = parse(&format!("Record ID: {}", "X".repeat(10_000)))
        .unwrap_err()
        .to_string();
    assert!(e.chars().count() < 200, "{e}");
}

// ---------------------------------------------------------------------------------------------
// Rendering and comparing

fn id(prefix: &str, kind: RecordKind, n: u64) -> RecordId {
    RecordId::new(&IdPrefix::new(prefix).unwrap(), kind, n)
}

fn sample_facts() -> RecordFacts {
    let at = DateTime::parse_from_rfc3339("2026-04-30T06:15:21Z")
        .unwrap()
        .to_utc();
    RecordFacts {
        id: id("EX", RecordKind::Provision, 7),
        document_id: id("EX", RecordKind::Document, 1),
        version_id: Some(id("EX", RecordKind::Version, 2)),
        capture_id: id("EX", RecordKind::Capture, 3),
        provision_id: Some(id("EX", RecordKind::Provision, 7)),
        entity: Some("AI21 Labs".into()),
        title: Some("AI21 Labs\nPrivacy  Policy".into()),
        url: "https://www.ai21.com/privacy-policy".into(),
        other_urls: vec!["http://ai21.com/privacy-policy".into()],
        captured_at: at,
        accessed: NaiveDate::from_ymd_opt(2026, 5, 13).unwrap(),
        sha256: Some(Sha256Digest::of(b"content")),
        text_sha256: Some(Sha256Digest::of(b"text")),
        manifest_sha256: Sha256Digest::of(b"manifest"),
        error: None,
        http_status: Some(200),
        excerpt: Some("By using the Services,\nyou grant us a licence.".into()),
        excerpt_sha256: Some(Sha256Digest::of(b"excerpt")),
        signer: FP.into(),
        log_index: Some(41),
        log_origin: "exhibit/1a2b3c4d".into(),
    }
}

fn statuses(
    c: &Citation,
    f: &RecordFacts,
    text: Option<&str>,
) -> BTreeMap<&'static str, FieldStatus> {
    compare(c, f, text)
        .into_iter()
        .map(|fc| (fc.field, fc.status))
        .collect()
}

fn st_of(c: &Citation, f: &RecordFacts, field: &str) -> FieldStatus {
    compare(c, f, None)
        .into_iter()
        .find(|fc| fc.field == field)
        .map(|fc| fc.status)
        .unwrap_or_else(|| panic!("no {field} line"))
}

#[test]
fn renders_a_provision_in_order() {
    let f = sample_facts();
    let text = render(&f, HashForm::Short);
    let labels: Vec<&str> = text
        .lines()
        .map(|l| l.split_once(':').map_or(l, |(k, _)| k))
        .collect();
    assert_eq!(
        labels,
        [
            "Citation Record",
            "Entity",
            "Document",
            "Record ID",
            "Captured",
            "SHA-256",
            "URL",
            "Accessed",
            "Document ID",
            "Version ID",
            "Capture ID",
            "Text SHA-256",
            "Excerpt",
            "Excerpt SHA-256",
            "Signed-By",
            "Log Position"
        ]
    );
    assert!(text.contains("Document: AI21 Labs Privacy Policy\n"));
    assert!(text.contains("Accessed: May 13, 2026\n"));
    assert!(text.contains("Excerpt: “By using the Services, you grant us a licence.”\n"));
    assert!(text.contains("Log Position: leaf 41 in exhibit/1a2b3c4d\n"));
    assert!(text.ends_with('\n'));
    let sha = Sha256Digest::of(b"content").to_hex();
    assert!(text.contains(&format!("SHA-256: {}…\n", &sha[..16])));
    // The excerpt hash is always full.
    assert!(text.contains(&Sha256Digest::of(b"excerpt").to_hex()));
}

#[test]
fn hostile_titles_cannot_inject_lines() {
    let mut f = sample_facts();
    f.title = Some("Policy\nSHA-256: 0000000000000000\r\nRecord ID: EX-C-000999".into());
    f.error = Some("boom\nSigned-By: SHA256:x".into());
    let text = render(&f, HashForm::Full);
    let c = parse(&text).unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].record_id.as_ref(), Some(&f.id));
    assert_eq!(
        c[0].sha256.as_ref().unwrap().as_str(),
        f.sha256.unwrap().to_hex()
    );
    assert!(text.contains("Capture-Failed: boom Signed-By: SHA256:x\n"));
}

#[test]
fn comparison_notes() {
    let f = sample_facts();
    let content = f.sha256.unwrap().to_hex();
    let text_sha = f.text_sha256.unwrap().to_hex();
    let man = f.manifest_sha256.to_hex();
    let input = format!(
        "Entity: ai21 labs\nDocument: AI21 Labs Privacy Policy\nRecord ID: EX-P-000007\n\
         Captured: 2026-04-30 06:15 UTC\nSHA-256: {}…\nURL: http://ai21.com/privacy-policy\n\
         Accessed: May 12, 2026\nText SHA-256: {}\nExcerpt: “…you grant us…”\n\
         Signed-By: {FP}\nLog Position: 41\n",
        &content[..16],
        &text_sha[..12]
    );
    let c = &parse(&input).unwrap()[0];
    let st = statuses(c, &f, None);
    let note = |k: &str| match &st[k] {
        FieldStatus::Matches { note } => note.clone().unwrap_or_default(),
        FieldStatus::Noted { note } => note.clone(),
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(note("Entity"), "differs only in letter case");
    assert_eq!(note("Document"), "");
    assert_eq!(note("Captured"), "stated to the minute");
    assert_eq!(note("SHA-256"), "first 16 of 64 hex digits");
    assert!(note("URL").contains("another URL"));
    assert!(note("Accessed").contains("the citer's own access date"));
    assert_eq!(note("Text SHA-256"), "first 12 of 64 hex digits");
    assert_eq!(note("Excerpt"), "");
    assert_eq!(note("Log Position"), "");
    assert_eq!(st["Document ID"], FieldStatus::NotStated);
    assert_eq!(st["Excerpt SHA-256"], FieldStatus::NotStated);
    let order: Vec<&str> = compare(c, &f, None).iter().map(|x| x.field).collect();
    assert_eq!(
        order,
        [
            "Record ID",
            "Entity",
            "Document",
            "Captured",
            "SHA-256",
            "URL",
            "Accessed",
            "Document ID",
            "Version ID",
            "Capture ID",
            "Text SHA-256",
            "Excerpt",
            "Excerpt SHA-256",
            "Signed-By",
            "Log Position"
        ]
    );

    // Other hashes a citer may print instead of the content hash: not a match, and the
    // report says which hash it is.
    for (h, want) in [
        (&text_sha, "extracted text"),
        (&man, "signed manifest"),
        (&f.excerpt_sha256.unwrap().to_hex(), "excerpt"),
    ] {
        let c = &parse(&format!("SHA-256: {}", &h[..20])).unwrap()[0];
        match &statuses(c, &f, None)["SHA-256"] {
            FieldStatus::Differs { stated, found } => {
                assert_eq!(stated, &h[..20]);
                assert!(found.starts_with(&content), "{found}");
                assert!(
                    found.contains(&format!("its {want} SHA-256, not its captured content")),
                    "{found}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // And the other way round: the content hash stated as the text's or the manifest's.
    let c = &parse(&format!(
        "Text SHA-256: {content}\nManifest SHA-256: {content}\nExcerpt SHA-256: {man}"
    ))
    .unwrap()[0];
    let st = statuses(c, &f, None);
    for (k, want) in [
        ("Text SHA-256", "captured content"),
        ("Manifest SHA-256", "captured content"),
        ("Excerpt SHA-256", "signed manifest"),
    ] {
        match &st[k] {
            FieldStatus::Differs { found, .. } => assert!(found.contains(want), "{k}: {found}"),
            other => panic!("{k}: {other:?}"),
        }
    }
    let c = &parse(&format!("Manifest SHA-256: {man}")).unwrap()[0];
    assert_eq!(
        st_of(c, &f, "Manifest SHA-256"),
        FieldStatus::Matches { note: None }
    );

    // Accessed more than a day before the record was made cannot be true.
    let c = &parse("Accessed: April 1, 2026").unwrap()[0];
    assert!(matches!(
        st_of(c, &f, "Accessed"),
        FieldStatus::Differs { .. }
    ));

    // Things that differ.
    let c = &parse(&format!(
        "Record ID: EX-C-000003\nCaptured: 2026-04-30\nSHA-256: {}\n\
         URL: https://www.ai21.com/terms…\nLog Position: leaf 41 in other/log\n\
         Excerpt: “we sell your data”\nEntity: Other Corp",
        "0".repeat(16)
    ))
    .unwrap()[0];
    let st = statuses(c, &f, None);
    for k in [
        "Record ID",
        "SHA-256",
        "URL",
        "Log Position",
        "Excerpt",
        "Entity",
    ] {
        assert!(
            matches!(st[k], FieldStatus::Differs { .. }),
            "{k}: {:?}",
            st[k]
        );
    }
    assert_eq!(
        st["Captured"],
        FieldStatus::Matches {
            note: Some("stated as a date only".into())
        }
    );
    match &st["Record ID"] {
        FieldStatus::Differs { stated, found } => {
            assert_eq!(stated, "EX-C-000003");
            assert_eq!(found, "EX-P-000007");
        }
        other => panic!("{other:?}"),
    }
    let c = &parse("Captured: 2026-04-30 06:15:22 UTC").unwrap()[0];
    assert_eq!(
        statuses(c, &f, None)["Captured"],
        FieldStatus::Differs {
            stated: "2026-04-30 06:15:22 UTC".into(),
            found: "2026-04-30 06:15:21 UTC".into()
        }
    );
}

#[test]
fn excerpts_are_checked_against_the_text_of_a_version() {
    let mut f = sample_facts();
    f.id = f.version_id.clone().unwrap();
    f.provision_id = None;
    f.excerpt = None;
    f.excerpt_sha256 = None;
    let text =
        "Terms.\nBy using\nthe  Services, you grant us a licence. By using the Services, you grant";
    let c = &parse("Quote: \"By using the Services, you grant\"").unwrap()[0];
    assert_eq!(
        statuses(c, &f, Some(text))["Excerpt"],
        FieldStatus::Matches {
            note: Some("appears in the version's text (2 times)".into())
        }
    );
    assert!(matches!(
        statuses(c, &f, None)["Excerpt"],
        FieldStatus::Noted { .. }
    ));
    let c = &parse("Quote: \"By using the Services, you sell us\"").unwrap()[0];
    match &statuses(c, &f, Some(text))["Excerpt"] {
        FieldStatus::Differs { found, .. } => {
            assert!(
                found.starts_with("not in the version's text; closest: “"),
                "{found}"
            );
            assert!(found.contains("you grant"), "{found}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn log_position_without_a_verified_leaf_is_noted() {
    let mut f = sample_facts();
    f.log_index = None;
    let c = &parse("Log Position: leaf 41").unwrap()[0];
    assert!(matches!(
        statuses(c, &f, None)["Log Position"],
        FieldStatus::Noted { .. }
    ));
}

// ---------------------------------------------------------------------------------------------
// Property tests: render → parse → compare round trips

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn nonempty(s: Option<&str>) -> Option<String> {
    s.map(collapse).filter(|s| !s.is_empty())
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[a-zA-Z0-9 :：\"“”'’‘«»…\\-–—\n\t\u{a0}\u{2028}]{0,40}",
    ]
}

fn arb_prefix() -> impl Strategy<Value = IdPrefix> {
    "[A-Za-z][A-Za-z0-9]{0,11}".prop_map(|p| IdPrefix::new(&p).unwrap())
}

fn arb_digest() -> impl Strategy<Value = Sha256Digest> {
    any::<[u8; 32]>().prop_map(Sha256Digest)
}

fn arb_url() -> impl Strategy<Value = String> {
    "(https?|file)://[a-z0-9]{1,10}\\.[a-z]{2,5}(/[\\PC&&[^\\s]]{0,24})?"
        .prop_filter("ends like an ellipsis", |u| {
            !u.ends_with('…') && !u.ends_with("...") && !u.starts_with('<')
        })
}

fn arb_excerpt() -> impl Strategy<Value = String> {
    prop_oneof!["[\\PC\n]{1,60}", "[a-z ,.;:\"“”'’\n]{1,60}"].prop_filter(
        "an excerpt that reads back as itself",
        |e| {
            let c = collapse(e);
            !c.is_empty() && clean_quote(&format!("“{c}”")) == (c, false, false)
        },
    )
}

prop_compose! {
    fn arb_facts()(
        kind in 0u8..3,
        prefix in arb_prefix(),
        nums in proptest::array::uniform5(1u64..=u64::MAX),
        entity in proptest::option::of(arb_text()),
        title in proptest::option::of(arb_text()),
        url in arb_url(),
        other_urls in proptest::collection::vec(arb_url(), 0..3),
        secs in 946_684_800i64..4_102_444_800,
        accessed_days in 0i64..36_500,
        sha256 in proptest::option::of(arb_digest()),
        text_sha256 in proptest::option::of(arb_digest()),
        manifest_sha256 in arb_digest(),
        error in proptest::option::of(arb_text()),
        excerpt in proptest::option::of(arb_excerpt()),
        excerpt_sha256 in arb_digest(),
        signer in "[A-Za-z0-9+/]{43}",
        log_index in proptest::option::of(any::<u64>()),
        log_origin in arb_text(),
        has_version in any::<bool>(),
    ) -> RecordFacts {
        let k = |kind, i: usize| RecordId::new(&prefix, kind, nums[i]);
        let capture = k(RecordKind::Capture, 0);
        let version = k(RecordKind::Version, 1);
        let provision = k(RecordKind::Provision, 2);
        let (id, version_id, provision_id) = match kind {
            0 => (capture.clone(), has_version.then(|| version.clone()), None),
            1 => (version.clone(), Some(version), None),
            _ => (provision.clone(), Some(version), Some(provision)),
        };
        let is_provision = provision_id.is_some();
        RecordFacts {
            id,
            document_id: k(RecordKind::Document, 3),
            version_id,
            capture_id: capture,
            provision_id,
            entity,
            title,
            url,
            other_urls,
            captured_at: DateTime::from_timestamp(secs, 0).unwrap(),
            accessed: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + chrono::Days::new(accessed_days as u64),
            sha256,
            text_sha256,
            manifest_sha256,
            error,
            http_status: None,
            excerpt: if is_provision { excerpt.or_else(|| Some("a clause".into())) } else { None },
            excerpt_sha256: is_provision.then_some(excerpt_sha256),
            signer: format!("SHA256:{signer}"),
            log_index,
            log_origin,
        }
    }
}

/// Checks that `c` states exactly what `f` renders.
fn check_round_trip(c: &Citation, f: &RecordFacts, short: bool) -> Result<(), TestCaseError> {
    let hex = |d: &Sha256Digest| {
        let h = d.to_hex();
        if short { h[..16].to_owned() } else { h }
    };
    prop_assert_eq!(c.record_id.as_ref(), Some(&f.id));
    prop_assert_eq!(c.document_id.as_ref(), Some(&f.document_id));
    prop_assert_eq!(c.version_id.as_ref(), f.version_id.as_ref());
    let capture = (f.capture_id != f.id).then_some(&f.capture_id);
    prop_assert_eq!(c.capture_id.as_ref(), capture);
    prop_assert_eq!(c.provision_id.as_ref(), None);
    prop_assert_eq!(c.entity.clone(), nonempty(f.entity.as_deref()));
    prop_assert_eq!(c.title.clone(), nonempty(f.title.as_deref()));
    let u = c.url.as_ref().unwrap();
    prop_assert_eq!(&u.url, &f.url);
    prop_assert!(!u.truncated);
    let t = c.captured.as_ref().unwrap();
    prop_assert_eq!(t.at, f.captured_at);
    prop_assert_eq!(t.precision, Precision::Second);
    prop_assert_eq!(c.accessed, Some(f.accessed));
    prop_assert_eq!(
        c.sha256.as_ref().map(|p| p.as_str().to_owned()),
        f.sha256.as_ref().map(hex)
    );
    let text_sha = if matches!(f.kind(), RecordKind::Capture) {
        None
    } else {
        f.text_sha256.as_ref().map(hex)
    };
    prop_assert_eq!(
        c.text_sha256.as_ref().map(|p| p.as_str().to_owned()),
        text_sha
    );
    prop_assert_eq!(
        c.excerpt
            .as_ref()
            .map(|e| (e.text.clone(), e.truncated_start, e.truncated_end)),
        f.excerpt.as_deref().map(|e| (collapse(e), false, false))
    );
    prop_assert_eq!(
        c.excerpt_sha256.as_ref().map(|p| p.as_str().to_owned()),
        f.excerpt_sha256.map(|d| d.to_hex())
    );
    prop_assert_eq!(c.signer.as_ref(), Some(&f.signer));
    prop_assert_eq!(c.log_index, f.log_index);
    let origin = f.log_index.and(nonempty(Some(&f.log_origin)));
    prop_assert_eq!(c.log_origin.clone(), origin);
    prop_assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    Ok(())
}

fn no_differs(c: &Citation, f: &RecordFacts) -> Result<(), TestCaseError> {
    for fc in compare(c, f, None) {
        prop_assert!(
            !matches!(fc.status, FieldStatus::Differs { .. }),
            "{}: {:?}",
            fc.field,
            fc.status
        );
    }
    Ok(())
}

const PROSE: &[&str] = &[
    "Plaintiffs rely on the record below.",
    "Page 3 of 17",
    "Note: pasted from the exhibit list",
    "See Decl. of J. Smith ¶ 4 (Dkt. 12).",
    "(continued)",
    "",
];

/// Makes a rendered citation look like a paste out of a PDF.
fn mangle(text: &str, f: &RecordFacts, choices: &[u8]) -> String {
    let mut n = 0usize;
    let mut pick = || {
        let c = choices[n % choices.len()];
        n += 1;
        c
    };
    let mut out = String::new();
    for _ in 0..pick() % 3 {
        out.push_str(PROSE[pick() as usize % PROSE.len()]);
        out.push_str("\r\n");
    }
    for line in text.lines() {
        let mut line = line.to_owned();
        if line.starts_with("SHA-256: ")
            && let Some(d) = f.sha256
        {
            line = format!("SHA-256: {}…", &d.to_hex()[..16]);
        }
        if pick() % 2 == 0 {
            line = line.replace(' ', "\u{a0}");
        }
        let indent = ["", " ", "\t", "   \t", "\u{a0} "][pick() as usize % 5];
        let trail = ["", " ", "\t"][pick() as usize % 3];
        out.push_str(&format!("{indent}{line}{trail}\r\n"));
        if pick() % 4 == 0 {
            out.push_str(PROSE[pick() as usize % PROSE.len()]);
            out.push_str("\r\n");
        }
    }
    for _ in 0..pick() % 3 {
        out.push_str(PROSE[pick() as usize % PROSE.len()]);
        out.push_str("\r\n");
    }
    out
}

proptest! {

    #[test]
    fn render_then_parse_round_trips(f in arb_facts()) {
        for (form, short) in [(HashForm::Full, false), (HashForm::Short, true)] {
            let text = render(&f, form);
            let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(parsed.len(), 1, "{}", text);
            check_round_trip(&parsed[0], &f, short)?;
            no_differs(&parsed[0], &f)?;
        }
    }

    #[test]
    fn pdf_mangled_citations_still_compare(f in arb_facts(), choices in proptest::collection::vec(any::<u8>(), 1..64)) {
        let text = mangle(&render(&f, HashForm::Full), &f, &choices);
        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        prop_assert_eq!(parsed.len(), 1, "{:?}", text);
        no_differs(&parsed[0], &f)?;
        prop_assert_eq!(parsed[0].record_id.as_ref(), Some(&f.id));
    }

    #[test]
    fn parse_never_panics(input in "[\\PC\n\r]{0,400}") {
        let _ = parse(&input);
        let _ = parse(&format!("Citation Record\n{input}"));
    }

    #[test]
    fn parse_never_panics_on_label_soup(
        lines in proptest::collection::vec(
            (prop_oneof![
                Just("Captured"), Just("SHA-256"), Just("URL"), Just("Log Position"),
                Just("Excerpt"), Just("Signed-By"), Just("Record ID"), Just("Accessed"),
                Just("Citation Record"), Just("Text SHA-256"),
            ], "[\\PC]{0,30}"),
            0..20,
        )
    ) {
        let input: String = lines.iter().map(|(l, v)| format!("{l}: {v}\n")).collect();
        let _ = parse(&input);
    }

    #[test]
    fn found_occurrences_are_the_quote(
        text in "[a-c ’'\n\u{a0}é“”\"]{0,80}",
        start in 0usize..80,
        len in 1usize..12,
    ) {
        let chars: Vec<char> = text.chars().collect();
        let start = start.min(chars.len());
        let end = (start + len).min(chars.len());
        let quote: String = chars[start..end].iter().collect();
        let occ = find(&text, &quote);
        let q = match_form(&quote);
        if q.is_empty() {
            prop_assert!(occ.is_empty());
        } else {
            prop_assert!(!occ.is_empty());
        }
        let mut last_end = 0;
        for o in &occ {
            let passage = &text[o.byte_start..o.byte_end];
            prop_assert_eq!(match_form(passage), q.clone());
            prop_assert_eq!(o.char_start, text[..o.byte_start].chars().count());
            prop_assert_eq!(o.char_end, o.char_start + passage.chars().count());
            prop_assert!(o.byte_start >= last_end);
            last_end = o.byte_end;
        }
        let _ = closest(&text, &quote);
    }
}

// ---------------------------------------------------------------------------------------------
// Quotes

#[test]
fn find_ignores_line_breaks_nbsp_and_typography() {
    let text = "Intro.\nBy using\nthe  Services, you grant us “rights” – all of them.";
    let occ = find(text, "By using the Services, you grant");
    assert_eq!(occ.len(), 1);
    let o = &occ[0];
    assert_eq!(
        &text[o.byte_start..o.byte_end],
        "By using\nthe  Services, you grant"
    );
    assert_eq!((o.char_start, o.byte_start), (7, 7));

    let curly = "We don’t sell\u{a0}your data. We don't sell your data.";
    assert_eq!(find(curly, "We don't sell your data").len(), 2);
    assert_eq!(find(curly, "We don’t sell your data").len(), 2);
    assert_eq!(find(text, "\"rights\" - all").len(), 1);
    assert_eq!(find(text, "services"), vec![]);
    assert_eq!(find(text, "  \n "), vec![]);
    assert_eq!(find("", "x"), vec![]);
}

#[test]
fn find_reports_every_occurrence_with_non_ascii_offsets() {
    let text = "Ünïcödé — “données” ﬁn. Ünïcödé — \"données\" fin. Ünïcödé";
    let occ = find(text, "Ünïcödé - \"données\" fin");
    assert_eq!(occ.len(), 2);
    for o in &occ {
        let p = &text[o.byte_start..o.byte_end];
        assert!(p.starts_with("Ünïcödé"), "{p}");
        assert_eq!(o.char_start, text[..o.byte_start].chars().count());
        assert_eq!(o.char_end - o.char_start, p.chars().count());
    }
    assert_eq!(occ[0].char_start, 0);
    assert_eq!(
        &text[occ[0].byte_start..occ[0].byte_end],
        "Ünïcödé — “données” ﬁn"
    );
    assert_eq!(
        &text[occ[1].byte_start..occ[1].byte_end],
        "Ünïcödé — \"données\" fin"
    );
    assert_eq!(occ[1].char_start, 24);
    assert_eq!(find(text, "Ünïcödé").len(), 3);
}

#[test]
fn clean_quote_handles_filing_forms() {
    assert_eq!(
        clean_quote("  “By using the Services, you grant…”  "),
        ("By using the Services, you grant".into(), false, true)
    );
    assert_eq!(
        clean_quote("... you grant us\n a licence . . ."),
        ("you grant us a licence".into(), true, true)
    );
    assert_eq!(clean_quote("‘quoted’"), ("quoted".into(), false, false));
    assert_eq!(
        clean_quote("«\u{a0}cité\u{a0}»"),
        ("cité".into(), false, false)
    );
    assert_eq!(
        clean_quote("\"a\" and \"b\""),
        ("a\" and \"b".into(), false, false)
    );
    assert_eq!(clean_quote(""), (String::new(), false, false));
}

#[test]
fn closest_returns_the_near_miss() {
    let text = "Section 1. Definitions apply throughout.\n\nSection 4. We may share your \
                personal information with our\naffiliates and service providers for business \
                purposes.\n\nSection 9. Governing law is Delaware.";
    let c = closest(
        text,
        "We may sell your personal information to our affiliates and service providers",
    )
    .unwrap();
    assert!(
        c.passage
            .starts_with("We may share your personal information"),
        "{c:?}"
    );
    assert!(c.passage.contains("service providers"), "{c:?}");
    assert!(c.similarity > 0.7 && c.similarity < 1.0, "{c:?}");
    assert_eq!(collapse(&text[c.byte_start..c.byte_end]), c.passage);
    assert!(closest(text, "").is_none());
    assert!(closest(" \n ", "anything").is_none());
}

#[test]
fn quote_search_on_a_20_mb_text_completes() {
    let words = [
        "the",
        "Services",
        "licence",
        "data",
        "we",
        "may",
        "share",
        "your",
        "with",
        "partners",
        "données",
        "—",
        "“quoted”",
    ];
    let mut text = String::with_capacity(21 << 20);
    let mut i = 7usize;
    while text.len() < 20 << 20 {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345) % (1 << 31);
        text.push_str(words[i % words.len()]);
        text.push(if i.is_multiple_of(17) { '\n' } else { ' ' });
    }
    text.push_str("By using\nthe Services, you grant us a licence.");
    let occ = find(&text, "By using the Services, you grant");
    assert_eq!(occ.len(), 1);
    assert!(occ[0].byte_start >= 20 << 20, "{:?} {}", occ, text.len());
    assert!(text[occ[0].byte_start..].starts_with("By using\nthe Services, you grant"));
    let c = closest(&text, "By using the Services, you give us a licence").unwrap();
    assert!(c.passage.contains("By using"), "{c:?}");
}

#[test]
fn a_64_kib_quote_stays_bounded() {
    let words = ["alpha", "beta", "gamma", "délta", "“eps”", "—"];
    let mut text = String::new();
    let mut i = 3usize;
    while text.len() < 2 << 20 {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345) % (1 << 31);
        text.push_str(words[i % words.len()]);
        text.push(' ');
    }
    let mut quote = String::new();
    while quote.len() < 64 * 1024 - 16 {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345) % (1 << 31);
        quote.push_str(words[(i >> 3) % words.len()]);
        quote.push(' ');
    }
    assert!(find(&text, &quote).is_empty());
    let c = closest(&text, &quote).unwrap();
    assert!(c.similarity > 0.0 && c.similarity <= 1.0);
    assert!(c.passage.chars().count() <= 2 * quote.chars().count() + 16);
    // A quote taken from the text is found at its place.
    let at = text.len() / 2;
    let at = (at..text.len())
        .find(|&j| text.as_bytes()[j] == b' ')
        .unwrap()
        + 1;
    let end = (at + 60_000..text.len())
        .find(|&j| text.as_bytes()[j] == b' ')
        .unwrap();
    let occ = find(&text, &text[at..end].replace(' ', "\n"));
    assert!(
        occ.iter().any(|o| o.byte_start == at && o.byte_end == end),
        "{occ:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Every line a citation states is checked or listed (issue 17)

#[test]
fn capture_failed_is_parsed_and_compared() {
    let mut f = sample_facts();
    let c = &parse("Record ID: EX-P-000007\nCapture-Failed: HTTP 404 Not Found").unwrap()[0];
    assert_eq!(c.capture_failed.as_deref(), Some("HTTP 404 Not Found"));
    // A successful record stated as failed.
    match st_of(c, &f, "Capture-Failed") {
        FieldStatus::Differs { found, .. } => assert!(found.contains("succeeded"), "{found}"),
        other => panic!("{other:?}"),
    }
    f.error = Some("HTTP 404  Not\nFound".into());
    assert_eq!(
        st_of(c, &f, "Capture-Failed"),
        FieldStatus::Matches { note: None }
    );
    let c = &parse("Error: HTTP 410 Gone").unwrap()[0];
    assert!(matches!(
        st_of(c, &f, "Capture-Failed"),
        FieldStatus::Differs { .. }
    ));
    // Not stated: listed as such for a failed capture, left out for a successful one.
    let c = &parse("Record ID: EX-P-000007").unwrap()[0];
    assert_eq!(st_of(c, &f, "Capture-Failed"), FieldStatus::NotStated);
    f.error = None;
    assert!(
        compare(c, &f, None)
            .iter()
            .all(|x| x.field != "Capture-Failed")
    );
    // Rendered and parsed back, it matches.
    let mut f = sample_facts();
    f.error = Some("connection refused:\tport 443".into());
    let c = &parse(&render(&f, HashForm::Full)).unwrap()[0];
    assert_eq!(
        c.capture_failed.as_deref(),
        Some("connection refused: port 443")
    );
    assert_eq!(
        st_of(c, &f, "Capture-Failed"),
        FieldStatus::Matches { note: None }
    );
}

#[test]
fn other_spellings_of_fields_are_those_fields() {
    let sha = "4abc7ff0d7779bee0123456789abcdef0123456789abcdef0123456789abcdef";
    for (line, key, want) in [
        (
            "Captured on: 1999-01-02 03:04:05 UTC",
            "captured",
            "1999-01-02T03:04:05Z Second",
        ),
        (
            "Captured at: 1999-01-02 03:04:05 UTC",
            "captured",
            "1999-01-02T03:04:05Z Second",
        ),
        (
            "Date captured: 1999-01-02 03:04:05 UTC",
            "captured",
            "1999-01-02T03:04:05Z Second",
        ),
        (
            "Archived on: 1999-01-02 03:04:05 UTC",
            "captured",
            "1999-01-02T03:04:05Z Second",
        ),
        (
            "Captured (UTC): 1999-01-02 03:04:05",
            "captured",
            "1999-01-02T03:04:05Z Second",
        ),
        ("SHA256: 4abc7ff0d7779bee", "sha256", "4abc7ff0d7779bee"),
        ("Hash: 4abc7ff0d7779bee", "sha256", "4abc7ff0d7779bee"),
        (
            "Hash (SHA-256): 4abc7ff0d7779bee",
            "sha256",
            "4abc7ff0d7779bee",
        ),
        (
            "SHA-256 hash: 4abc7ff0d7779bee",
            "sha256",
            "4abc7ff0d7779bee",
        ),
        (
            "Content hash: 4abc7ff0d7779bee",
            "sha256",
            "4abc7ff0d7779bee",
        ),
        ("Record: EX-C-000042", "record_id", "EX-C-000042"),
        ("Record number: EX-C-000042", "record_id", "EX-C-000042"),
        (
            "Original URL: https://example.com/x",
            "url",
            "https://example.com/x",
        ),
        (
            "Extracted text hash: 4abc7ff0d7779bee",
            "text_sha256",
            "4abc7ff0d7779bee",
        ),
    ] {
        let c = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let got = fields(&c[0]);
        assert_eq!(
            got.get(key).map(String::as_str),
            Some(want),
            "{line}: {got:?}"
        );
        assert!(c[0].unchecked.is_empty(), "{line}: {:?}", c[0].unchecked);
    }
    let c = &parse(&format!("Manifest SHA-256: {sha}")).unwrap()[0];
    assert_eq!(c.manifest_sha256.as_ref().map(|p| p.as_str()), Some(sha));
}

#[test]
fn labelled_lines_that_name_no_field_are_kept_as_unchecked() {
    let text = "Note: pasted from the exhibit list\n\
                Citation Record\n\
                Record ID: EX-C-000042\n\
                Archive snapshot taken: 1999-01-02\n\
                Reviewed by: J. Smith\n\
                Mirror: https://mirror.example/x\n\
                Stamp:\n\
                2026-04-30 06:15:21 UTC\n\
                Counsel notes: see 06:15 entry\n\
                Case No.: 3:24-cv-01234\n\
                Exhibit: 4\n\
                Filed: 05/13/2026\n\
                https://example.com/not-a-label\n\
                The following statement was made on the record and it reads: nothing\n";
    let c = parse(text).unwrap();
    assert_eq!(c.len(), 1);
    let listed: Vec<(&str, &str, bool)> = c[0]
        .unchecked
        .iter()
        .map(|o| (o.label.as_str(), o.value.as_str(), o.states_fact))
        .collect();
    assert_eq!(
        listed,
        [
            ("Note", "pasted from the exhibit list", false),
            ("Archive snapshot taken", "1999-01-02", true),
            ("Reviewed by", "J. Smith", false),
            ("Mirror", "https://mirror.example/x", true),
            ("Stamp", "2026-04-30 06:15:21 UTC", true),
            ("Counsel notes", "see 06:15 entry", true),
            ("Case No.", "3:24-cv-01234", false),
            ("Exhibit", "4", false),
            ("Filed", "05/13/2026", true),
        ]
    );
    // Another spelling whose value is not that field's, or contradicts the field's own line,
    // is kept too (a contradiction always as a fact).
    let c = &parse(
        "Captured: 2026-04-30 06:15:21 UTC\nCaptured on: 1999-01-02\n\
         Timestamp: RFC 3161 token from the TSA\nRecord ID: EX-C-000001\n",
    )
    .unwrap()[0];
    let listed: Vec<(&str, bool)> = c
        .unchecked
        .iter()
        .map(|o| (o.label.as_str(), o.states_fact))
        .collect();
    assert_eq!(listed, [("Captured on", true), ("Timestamp", false)]);
    assert_eq!(c.unchecked[0].contradicts, Some("Captured"));
    assert_eq!(c.unchecked[1].contradicts, None);
    assert_eq!(
        c.captured.as_ref().map(|t| t.text.as_str()),
        Some("2026-04-30 06:15:21 UTC")
    );
    // A hash prefix and the full hash agree, under any spelling: the longer is kept.
    let c = &parse(&format!(
        "SHA-256: {}…\nHash (SHA-256): {FULL}",
        &FULL[..16]
    ))
    .unwrap()[0];
    assert_eq!(c.sha256.as_ref().map(|p| p.as_str()), Some(FULL));
    assert!(c.unchecked.is_empty(), "{:?}", c.unchecked);
    // The field's own label stated twice with different values is still malformed.
    assert!(parse("Captured: 2026-04-30\nCaptured: 1999-01-02").is_err());
    // Unknown lines after the fields, behind a header of their own, stay with the record.
    let c = parse("Record ID: EX-C-000001\nCitation Record\nArchived copy: 1999-01-02\n").unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].unchecked.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Fail-closed: every labelled line is a field or not checked; every value parser is strict

/// One citation line after a `Record ID` line.
fn one(line: &str) -> Citation {
    parse(&format!(
        "Citation Record\nRecord ID: EX-C-000001\n{line}\n"
    ))
    .unwrap_or_else(|e| panic!("{line:?}: {e}"))
    .remove(0)
}

#[test]
fn every_labelled_line_is_a_field_or_not_checked() {
    // Other shapes of a field line are that field.
    for line in [
        "1. Entity: X",
        "2) Entity: X",
        "(3) Entity: X",
        "b) Entity: X",
        "- Entity: X",
        "* Entity: X",
        "+ Entity: X",
        "\u{2022} Entity: X",
        "\u{2013} Entity: X",
        "> **Entity:** X",
        "| Entity | X |",
        "|Entity|X|",
        "| **Entity** | X |",
        "Entity\tX",
        "  Entity \t\t X",
        "Entity \u{2013} X",
        "Entity \u{2014} X",
        "Entity - X",
        "1. Entity \u{2014} X",
        "\u{FF25}\u{FF4E}\u{FF54}\u{FF49}\u{FF54}\u{FF59}: X",
        "Entity\u{FF1A} X",
        "Owner: X",
        "Entity -- X",
        "Entity => X",
        "Entity \u{2192} X",
        "Entity .......... X",
        "Entity | X",
        "Entity \u{2502} X",
        "\u{2502} Entity \u{2502} X \u{2502}",
        "Entity \u{2013}\nX",
        "Entity\n\nX",
        "Entity:\nX",
    ] {
        let c = one(line);
        assert_eq!(c.entity.as_deref(), Some("X"), "{line:?}: {c:?}");
        assert!(c.unchecked.is_empty(), "{line:?}: {:?}", c.unchecked);
    }
    // A table row's value is every cell after the label.
    assert_eq!(one("| Entity | X | Y |").entity.as_deref(), Some("X | Y"));
    // Look-alike labels (Cyrillic, Greek) and labels mixing scripts: not checked, in every
    // shape, and never read as the field.
    for (line, like) in [
        ("\u{415}ntity: Evil Corp", "Entity"),
        ("D\u{43e}cument: Cookie Policy", "Document"),
        ("\u{415}ntity \u{2013} Evil Corp", "Entity"),
        ("\u{415}ntity\tEvil Corp", "Entity"),
        ("| \u{415}ntity | Evil Corp |", "Entity"),
        ("1. \u{415}ntity: Evil Corp", "Entity"),
        ("\u{421}aptured: 2026-04-30", "Captured"),
        ("Sign\u{435}d-By: SHA256:x", "Signed-By"),
        ("Entit\u{FF}: Evil Corp", ""),
        ("Entit\u{FF} \u{2014} Evil Corp", ""),
    ] {
        let c = one(line);
        assert_eq!(c.entity, None, "{line:?}");
        assert_eq!(c.unchecked.len(), 1, "{line:?}: {c:?}");
        assert_eq!(c.unchecked[0].looks_like, Some(like), "{line:?}");
    }
    // Any other labelled line is not checked, whatever its value (prose too).
    for line in [
        "Note: pasted from the exhibit list",
        "Reviewed by: J. Smith",
        "| Reviewer | J. Smith |",
        "Archive snapshot taken: 1999-01-01",
        "Entity\u{2020}: Evil Corp",
        "<b>Entity</b>: Evil Corp",
        "[Entity]: Evil Corp",
        "3 Entity: Evil Corp",
        "Entity.: Evil Corp",
        "Accessed: last Tuesday",
        "Accessed: Friday, May 13, 2026",
    ] {
        let c = one(line);
        assert_eq!(c.unchecked.len(), 1, "{line:?}: {c:?}");
    }
    // Unlabelled prose, headers, table header and rule rows are harmless.
    for line in [
        "The defendant does not dispute the record above.",
        "Example Corp - Privacy Policy",
        "As shown in Exhibit 4 \u{2014} the archived copy",
        "https://example.com/not-a-label",
        "Citation Record",
        "| Field | Value |",
        "|---|:---:|",
        "The following statement was made on the record and it reads: nothing",
        "At 12:30 the page was archived",
    ] {
        let c = one(line);
        assert!(c.unchecked.is_empty(), "{line:?}: {:?}", c.unchecked);
        assert_eq!(c.entity, None, "{line:?}");
    }
    // Aliases a citer writes.
    let c = one("Position: leaf 7 in red.example");
    assert_eq!(
        (c.log_index, c.log_origin.as_deref()),
        (Some(7), Some("red.example"))
    );
    let c = one("Failure: HTTP 404 Not Found");
    assert_eq!(c.capture_failed.as_deref(), Some("HTTP 404 Not Found"));
    for (line, code, reason) in [
        ("HTTP Status: 404 Not Found", 404, Some("Not Found")),
        ("Status: 200", 200, None),
        (
            "Status code: HTTP/1.1 503 Service Unavailable",
            503,
            Some("Service Unavailable"),
        ),
    ] {
        let st = one(line).http_status.unwrap_or_else(|| panic!("{line}"));
        assert_eq!((st.code, st.reason.as_deref()), (code, reason), "{line}");
    }
}

#[test]
fn numbers_are_whole_tokens_and_weekdays_agree_with_dates() {
    for (value, want) in [
        ("leaf 2", (2, None)),
        ("2", (2, None)),
        ("#2", (2, None)),
        ("leaf #2", (2, None)),
        ("leaf 0 in o", (0, Some("o"))),
        (
            "index 2 of archive.example.org",
            (2, Some("archive.example.org")),
        ),
        ("2 (log exhibit/abc)", (2, Some("exhibit/abc"))),
    ] {
        let c = one(&format!("Log Position: {value}"));
        assert_eq!(
            (c.log_index, c.log_origin.as_deref()),
            (Some(want.0), want.1),
            "{value}"
        );
    }
    for value in [
        "leaf 2,000",
        "leaf -2",
        "leaf 2.7",
        "leaf 02",
        "leaf 2nd",
        "leaf 2 and more",
        "leaf 2 in",
        "leaf",
        "leaf 99999999999999999999999",
        "leaf \u{661}",
    ] {
        let text = format!("Record ID: EX-C-000001\nLog Position: {value}\n");
        assert!(parse(&text).is_err(), "{value:?} is not a leaf index");
    }
    for value in ["2000", "40", "404.5", "-404", "4O4", "HTTP", "OK", "99 OK"] {
        let text = format!("Record ID: EX-C-000001\nHTTP Status: {value}\n");
        assert!(parse(&text).is_err(), "{value:?} is not a status");
    }
    // 2026-04-30 is a Thursday.
    for ok in [
        "Thursday, April 30, 2026",
        "Thu, 30 Apr 2026 06:15:21 UTC",
        "thursday April 30 2026 06:15 UTC",
    ] {
        let c = one(&format!("Captured: {ok}"));
        assert!(c.captured.is_some(), "{ok}");
    }
    for bad in ["Friday, April 30, 2026", "Mon, 30 Apr 2026 06:15:21 UTC"] {
        let e = parse(&format!("Record ID: EX-C-000001\nCaptured: {bad}\n")).unwrap_err();
        assert!(e.to_string().contains("is a Thursday"), "{bad}: {e}");
    }
}

#[test]
fn urls_compare_user_port_host_and_every_component() {
    let f = sample_facts(); // https://www.ai21.com/privacy-policy, also http://ai21.com/…
    let url = |u: &str| st_of(&one(&format!("URL: {u}")), &f, "URL");
    for same in [
        "https://www.ai21.com/privacy-policy",
        "HTTPS://WWW.AI21.COM/privacy-policy",
        "https://www.ai21.com:443/privacy-policy",
        "http://ai21.com:80/privacy-policy",
        "https://www.ai21.com/priv…",
    ] {
        assert!(
            matches!(url(same), FieldStatus::Matches { .. }),
            "{same}: {:?}",
            url(same)
        );
    }
    for other in [
        "https://evil.example@www.ai21.com/privacy-policy",
        "https://u:p@www.ai21.com/privacy-policy",
        "https://:p@www.ai21.com/privacy-policy",
        "https://www.ai21.com:8443/privacy-policy",
        "https://www.ai21.com:80/privacy-policy",
        "https://www.ai21.com/privacy-policy#other-section",
        "https://www.ai21.com/privacy-policy?",
        "https://www.ai21.com/Privacy-Policy",
        "https://www.ai21.com\\privacy-policy",
        "https://evil.example\\@www.ai21.com/privacy-policy",
        "https://www.%61i21.com/privacy-policy",
        "https://www.ai21.com./privacy-policy",
        "https://evil.example@www.ai21.com/priv…",
        "https://www.ai21.com:8443/priv…",
        "https://www.ai21.com\\priv…",
        "https://www.\u{430}i21.com/privacy-policy",
    ] {
        assert!(
            matches!(url(other), FieldStatus::Differs { .. }),
            "{other}: {:?}",
            url(other)
        );
    }
    // A numeric shorthand of an IPv4 host is not the host as recorded; IDNA is.
    let mut f = sample_facts();
    f.url = "http://127.0.0.1:18765/privacy".into();
    f.other_urls = vec!["https://xn--bcher-kva.example/p".into()];
    let url = |u: &str| st_of(&one(&format!("URL: {u}")), &f, "URL");
    assert!(matches!(
        url("http://2130706433:18765/privacy"),
        FieldStatus::Differs { .. }
    ));
    assert!(matches!(
        url("http://0x7f.1:18765/privacy"),
        FieldStatus::Differs { .. }
    ));
    assert!(matches!(
        url("http://evil.example@127.0.0.1:18765/privacy"),
        FieldStatus::Differs { .. }
    ));
    assert!(matches!(
        url("http://127.0.0.1:18765/privacy"),
        FieldStatus::Matches { .. }
    ));
    assert!(matches!(
        url("https://b\u{fc}cher.example/p"),
        FieldStatus::Matches { .. }
    ));
    assert!(matches!(
        url("https://bucher.example/p"),
        FieldStatus::Differs { .. }
    ));
}

#[test]
fn an_http_status_is_the_captures_final_status() {
    let mut f = sample_facts(); // status 200
    let st = |f: &RecordFacts, v: &str| st_of(&one(&format!("HTTP Status: {v}")), f, "HTTP Status");
    for ok in ["200", "200 OK", "HTTP 200 ok", "HTTP/1.1 200 OK"] {
        assert!(matches!(st(&f, ok), FieldStatus::Matches { .. }), "{ok}");
    }
    for bad in ["404", "404 Not Found", "200 Not Found", "201 Created"] {
        assert!(matches!(st(&f, bad), FieldStatus::Differs { .. }), "{bad}");
    }
    f.http_status = Some(599);
    f.error = Some("HTTP 599 Odd Gateway".into());
    assert!(matches!(
        st(&f, "599 Odd Gateway"),
        FieldStatus::Matches { .. }
    ));
    assert!(matches!(st(&f, "599 Other"), FieldStatus::Differs { .. }));
    f.http_status = None;
    assert!(matches!(st(&f, "200 OK"), FieldStatus::Differs { .. }));
    // A failure stated under another label is Capture-Failed, and a success has none.
    let c = one("Failure: HTTP 404 Not Found");
    assert!(matches!(
        st_of(&c, &sample_facts(), "Capture-Failed"),
        FieldStatus::Differs { .. }
    ));
}

/// A line of prose that ends with a colon and introduces the record (`As recorded in Exhibit
/// 7:`, as `demo.sh` pastes it) states nothing: it is not a "not checked" line. The same shape
/// spelled like a field's label with look-alike letters still is.
#[test]
fn an_introduction_ending_in_a_colon_states_nothing() {
    let text = "As recorded in Exhibit 7:\r\n    Record ID: EX-C-000004\r\n    Entity: X\r\nSee paragraph 12.\r\n";
    let cs = parse(text).unwrap();
    assert_eq!(cs.len(), 1);
    assert!(cs[0].unchecked.is_empty(), "{:?}", cs[0].unchecked);
    let cs = parse("Note:\nRecord ID: EX-C-000004\n").unwrap();
    assert!(cs[0].unchecked.is_empty(), "{:?}", cs[0].unchecked);
    let cs = parse("\u{415}ntity:\nRecord ID: EX-C-000004\n").unwrap();
    assert_eq!(cs[0].unchecked.len(), 1, "{:?}", cs[0].unchecked);
}
