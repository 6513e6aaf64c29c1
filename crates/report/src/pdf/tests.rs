//! Tests of the PDF renderer. Those that read the PDF back use poppler's `pdftotext`,
//! `pdfinfo`, `pdfdetach` and `qpdf`, and are skipped (with a message) where those are missing.
//! Set `EXHIBIT_PDF_OUT=/some/dir` to keep the rendered files for a look.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::fonts::{FaceId, Fonts};
use super::{date_time, render};
use crate::doc::{Attachment, Block, Document, Field, Line, Mark, Span};

const HASH_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const HASH_B: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const RECORD: &str = "EX-C-000042";

/// An RGB PNG `w × h`: horizontal bands of changing colour, a dark line every 100 rows.
fn png(w: u32, h: u32) -> Vec<u8> {
    encode(w, h, false)
}

/// An RGB PNG `w × h`: bands as [`png`] makes, or, `noisy`, with every fourth row random (a
/// screenshot much harder to compress than most).
fn encode(w: u32, h: u32, noisy: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for y in 0..h {
        for x in 0..w {
            let band = (y / 250) as u8;
            if noisy && y % 4 == 0 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                data.extend(&seed.to_le_bytes()[..3]);
            } else if y % 100 == 0 {
                data.extend([30, 30, 30]);
            } else {
                data.extend([
                    band.wrapping_mul(37),
                    (x * 255 / w) as u8,
                    200u8.wrapping_sub(band.wrapping_mul(23)),
                ]);
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&data)
        .unwrap();
    out
}

fn image(w: u32, h: u32, caption: &str) -> Block {
    Block::Image {
        png: png(w, h),
        width: w,
        height: h,
        caption: caption.to_string(),
    }
}

fn doc(blocks: Vec<Block>) -> Document {
    Document {
        title: "Evidence report for the terms page".to_string(),
        report_id: "EX-R-20240101-0001".to_string(),
        generated_unix: 1_704_112_496, // 2024-01-01T12:34:56Z
        attachment: Attachment {
            name: "exhibit-report.json".to_string(),
            media_type: "application/json".to_string(),
            description: "The report's facts, machine-readable".to_string(),
            bytes: br#"{"report":"EX-R-20240101-0001"}"#.to_vec(),
        },
        blocks,
    }
}

/// A document with every kind of block and the awkward characters.
fn sample() -> Document {
    let url = format!("https://example.com/{}", "a1b2c3d4/".repeat(333));
    let mut broken = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0".to_vec();
    broken.extend(b"garbage that is not a valid PNG stream at all");
    let mut pre = vec![
        Line {
            text: "unchanged first line".into(),
            mark: Mark::Plain,
        },
        Line {
            text: "removed:\tthe old wording".into(),
            mark: Mark::Removed,
        },
        Line {
            text: "added:\tthe new wording".into(),
            mark: Mark::Added,
        },
        Line {
            text: "\u{2026} 40 unchanged lines \u{2026}".into(),
            mark: Mark::Elided,
        },
        Line {
            text: format!("long {}", "0123456789".repeat(40)),
            mark: Mark::Added,
        },
        Line {
            text: "bell\u{0007} rlo\u{202e} nihongo \u{65E5}\u{672C}\u{8A9E}".into(),
            mark: Mark::Plain,
        },
    ];
    pre.extend((0..60).map(|i| Line {
        text: format!("line {i} of the page text"),
        mark: Mark::Plain,
    }));
    doc(vec![
        Block::Paragraph(vec![
            Span::regular("This report describes the capture "),
            Span::mono(RECORD),
            Span::regular(" whose content has SHA-256 "),
            Span::mono(HASH_A),
            Span::bold(". Bold emphasis,"),
            Span::regular(
                " and awkward text: \u{65E5}\u{672C}\u{8A9E}, \u{202e}reversed, bell\u{0007}, tab\there, emoji \u{1F600}\u{FE0F}, a\u{200B}b.",
            ),
        ]),
        Block::Heading {
            level: 1,
            text: "1. The capture".into(),
        },
        Block::Fields(vec![
            Field::mono("Record", RECORD),
            Field::mono("SHA-256", HASH_A),
            Field::mono("Previous SHA-256", HASH_B),
            Field::mono("URL", url),
            Field::text(
                "A label long enough to wrap onto a second line",
                "Captured with the browser, then checked.",
            ),
            Field {
                label: "Mixed".into(),
                value: vec![
                    Span::regular("hash "),
                    Span::mono(HASH_B),
                    Span::regular(" then more words to wrap around the column"),
                ],
            },
        ]),
        Block::Heading {
            level: 2,
            text: "1.1 What was seen".into(),
        },
        Block::List(vec![
            vec![Span::regular(
                "A first item, long enough that it wraps onto a second line of the list, to show the hanging indent of list items.",
            )],
            vec![Span::regular("A second item with "), Span::mono(HASH_B)],
        ]),
        Block::Heading {
            level: 3,
            text: "1.1.1 The text".into(),
        },
        Block::Preformatted(pre),
        Block::Heading {
            level: 1,
            text: "2. The screenshot".into(),
        },
        image(
            800,
            6000,
            "The whole page as the browser rendered it (800 \u{00D7} 6000 pixels).",
        ),
        image(16, 16, "A small image, not scaled up."),
        image(
            120,
            12_000,
            "A narrow, very tall image: more than six pages.",
        ),
        Block::Image {
            png: broken,
            width: 16,
            height: 16,
            caption: "A damaged image.".into(),
        },
        Block::Heading {
            level: 1,
            text: "3. Signatures".into(),
        },
        Block::Paragraph(vec![Span::regular("Signed by the examiner:")]),
        Block::Blank("Signature and date".into()),
    ])
}

/// Runs `program` with `args`; `None` (after saying so) when it is not installed.
fn run(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program).args(args).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(e) => {
            eprintln!("skipping the {program} check: {e}");
            None
        }
    }
}

/// Writes `pdf` to a temporary directory (or `$EXHIBIT_PDF_OUT`) as `name`.
fn keep(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let dir = std::env::var_os("EXHIBIT_PDF_OUT").map_or(dir.to_path_buf(), Into::into);
    let path = dir.join(name);
    std::fs::write(&path, pdf).unwrap();
    path.to_str().unwrap().to_string()
}

fn page_count(path: &str) -> Option<usize> {
    let info = run("pdfinfo", &[path])?;
    let line = info.lines().find(|l| l.starts_with("Pages:"))?;
    line["Pages:".len()..].trim().parse().ok()
}

#[test]
fn every_block_renders_deterministically_and_reads_back() {
    let doc = sample();
    let start = Instant::now();
    let pdf = render(&doc).unwrap();
    eprintln!("sample: {} bytes in {:?}", pdf.len(), start.elapsed());
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        pdf,
        render(&doc).unwrap(),
        "the same document gives the same bytes"
    );
    assert_eq!(pdf, render(&doc.clone()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = keep(dir.path(), "sample.pdf", &pdf);
    // The screenshot's pixels are in the file once, however many pages show it.
    let count = |needle: &[u8]| pdf.windows(needle.len()).filter(|w| *w == needle).count();
    let images = count(b"/Subtype /Image") + count(b"/Subtype/Image");
    assert_eq!(images, 3, "three decodable images, each embedded once");

    run("qpdf", &["--check", &path]);
    let Some(text) = run("pdftotext", &["-layout", &path, "-"]) else {
        return;
    };
    for needle in [
        HASH_A,
        HASH_B,
        RECORD,
        "EX-R-20240101-0001",
        "Evidence report for the terms page",
    ] {
        assert!(
            text.lines().any(|l| l.contains(needle)),
            "{needle} whole on a line:\n{text}"
        );
    }
    let pages = page_count(&path).unwrap();
    // Title and first paragraph; the capture (fields, list, text: 3 pages); six pages of
    // screenshot (its end, the small image on the sixth); six pages of the tall image, the
    // note and the damaged one on the last of them; the signatures.
    assert_eq!(pages, 17, "{text}");
    assert!(text.contains(&format!("Page 1 of {pages}")), "{text}");
    assert!(text.contains(&format!("Page {pages} of {pages}")));
    assert_eq!(
        text.matches("EX-R-20240101-0001").count(),
        pages,
        "the report id in every footer"
    );
    // Every piece of the long URL is there, in order, broken only at line ends.
    let url = format!("https://example.com/{}", "a1b2c3d4/".repeat(333));
    let mut joined = String::new();
    for line in text.lines().skip_while(|l| !l.contains("https://")) {
        let piece = line.trim().trim_start_matches("URL").trim();
        if !piece
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/.".contains(c))
            || piece.is_empty()
        {
            break;
        }
        joined.push_str(piece);
    }
    assert_eq!(joined, url, "{text}");
    for needle in [
        "- removed:",
        "+ added:",
        "the old wording",
        "the new wording",
        "40 unchanged lines",
        "\u{FFFD}\u{FFFD}\u{FFFD}, \u{FFFD}reversed, bell\u{FFFD}, tab here",
        "(image could not be decoded:",
        "The image continues beyond what is shown here",
        "A small image, not scaled up.",
        "Signature and date",
        "1.1.1 The text",
    ] {
        assert!(text.contains(needle), "{needle:?} in:\n{text}");
    }
    assert!(!text.contains('\u{202e}') && !text.contains('\u{7}') && !text.contains('\u{200B}'));

    if let Some(info) = run("pdfinfo", &[&path]) {
        assert!(
            info.contains("Title:           Evidence report for the terms page"),
            "{info}"
        );
        assert!(
            info.contains("Page size:       595.276 x 841.89 pts (A4)"),
            "{info}"
        );
        assert!(info.contains("CreationDate:"), "{info}");
    }
    if let Some(meta) = run("pdfinfo", &["-isodates", &path]) {
        assert!(meta.contains("2024-01-01T12:34:56"), "{meta}");
    }
    if let Some(list) = run("pdfdetach", &["-list", &path]) {
        assert!(
            list.contains("1 embedded files") && list.contains("exhibit-report.json"),
            "{list}"
        );
        let out = dir.path().join("attached.json");
        run(
            "pdfdetach",
            &["-save", "1", "-o", out.to_str().unwrap(), &path],
        );
        assert_eq!(std::fs::read(out).unwrap(), doc.attachment.bytes);
    }
    if let Some(fonts) = run("pdffonts", &[&path]) {
        assert_eq!(
            fonts.matches(" yes yes ").count(),
            fonts.lines().count() - 2,
            "all embedded, subset:\n{fonts}"
        );
    }
}

#[test]
fn the_same_document_elsewhere_differs_only_where_it_differs() {
    let a = render(&doc(vec![Block::Paragraph(vec![Span::regular("one")])])).unwrap();
    let mut other = doc(vec![Block::Paragraph(vec![Span::regular("one")])]);
    other.generated_unix += 1;
    let b = render(&other).unwrap();
    assert_ne!(a, b, "the creation date is in the file");
    assert_eq!(b, render(&other).unwrap());
}

#[test]
fn awkward_documents_render() {
    let mut empty = doc(Vec::new());
    empty.title.clear();
    empty.report_id.clear();
    empty.attachment.name.clear();
    empty.attachment.media_type = "not a media type".into();
    render(&empty).unwrap();

    let hostile = "\u{0}\u{1b}[31m\r\n\u{202e}\u{2066}\u{FEFF}\u{E0041}\u{10FFFF}\u{FFFF}";
    let huge_header =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x7f\xff\xff\xff\x7f\xff\xff\xff\x08\x02\0\0\0".to_vec();
    let d = Document {
        title: hostile.repeat(50),
        report_id: hostile.into(),
        generated_unix: i64::MIN,
        blocks: vec![
            Block::Heading {
                level: 0,
                text: hostile.into(),
            },
            Block::Heading {
                level: 9,
                text: "x".repeat(5000),
            },
            Block::Heading {
                level: 1,
                text: String::new(),
            },
            Block::Paragraph(vec![]),
            Block::Paragraph(vec![Span::regular(""), Span::mono(""), Span::bold(hostile)]),
            Block::Paragraph(vec![Span::regular("W".repeat(3000))]),
            Block::Fields(vec![Field::text("", ""), Field::mono(hostile, "\n\n\n")]),
            Block::List(vec![vec![], vec![Span::regular(hostile)]]),
            Block::Preformatted(vec![]),
            Block::Preformatted(vec![Line {
                text: "\t\r\n\r\u{0}".into(),
                mark: Mark::Removed,
            }]),
            Block::Image {
                png: Vec::new(),
                width: 0,
                height: 0,
                caption: hostile.into(),
            },
            Block::Image {
                png: huge_header,
                width: 1,
                height: 1,
                caption: String::new(),
            },
            Block::Image {
                png: png(1, 3000),
                width: 1,
                height: 3000,
                caption: String::new(),
            },
            Block::Blank(String::new()),
        ],
        ..doc(Vec::new())
    };
    let pdf = render(&d).unwrap();
    assert_eq!(pdf, render(&d).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = keep(dir.path(), "awkward.pdf", &pdf);
    run("qpdf", &["--check", &path]);
    if let Some(text) = run("pdftotext", &["-layout", &path, "-"]) {
        assert!(
            text.contains("(image could not be decoded: not a PNG file)"),
            "{text}"
        );
        assert!(text.contains("is more than the report shows"), "{text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{0}'),
            "{text}"
        );
    }
}

#[test]
fn characters_without_glyphs_or_meaning_are_replaced() {
    let fonts = Fonts::load().unwrap();
    let sans = fonts.face(FaceId::Sans);
    let mono = fonts.face(FaceId::Mono);
    assert_eq!(sans.show('a'), Some('a'));
    assert_eq!(sans.show('\u{7}'), Some('\u{FFFD}'));
    assert_eq!(sans.show('\u{202e}'), Some('\u{FFFD}'));
    assert_eq!(sans.show('\u{65E5}'), Some('\u{FFFD}'));
    assert_eq!(sans.show('\u{FE0F}'), None);
    assert_eq!(mono.show('\u{1F600}'), Some('\u{FFFD}'));
    // 64 monospace characters at 8.5pt fit the value column of fields (357pt).
    let w = mono.width(HASH_A, 8.5);
    assert!(w > 300.0 && w < 340.0, "{w}");
}

#[test]
fn creation_dates_are_utc_calendar_dates() {
    let show = |t| format!("{:?}", date_time(t));
    assert!(show(0).contains("year: 1970, month: Some(1), day: Some(1), hour: Some(0)"));
    assert!(show(1_704_112_496).contains("year: 2024, month: Some(1), day: Some(1), hour: Some(12), minute: Some(34), second: Some(56)"));
    assert!(show(951_782_400).contains("year: 2000, month: Some(2), day: Some(29)"));
    assert!(show(i64::MIN).contains("year: 0, month: Some(1), day: Some(1)"));
    assert!(show(i64::MAX).contains("year: 9999, month: Some(12), day: Some(31), hour: Some(23)"));
}

#[test]
fn a_megabyte_of_text_and_a_tall_screenshot() {
    let text: String = (0..14_000)
        .map(|i| {
            format!(
                "{i:>6} Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n"
            )
        })
        .collect();
    assert!(text.len() >= 1_000_000);
    let lines = text
        .lines()
        .map(|l| Line {
            text: l.to_string(),
            mark: Mark::Plain,
        })
        .collect();
    let d = doc(vec![Block::Preformatted(lines)]);
    let start = Instant::now();
    let pdf = render(&d).unwrap();
    let took = start.elapsed();
    let dir = tempfile::tempdir().unwrap();
    let path = keep(dir.path(), "megabyte.pdf", &pdf);
    eprintln!(
        "1 MB of text: {} bytes, {:?} pages, in {took:?}",
        pdf.len(),
        page_count(&path)
    );
    if let Some(out) = run(
        "pdftotext",
        &["-layout", "-f", "150", "-l", "150", &path, "-"],
    ) {
        assert!(out.contains("Lorem ipsum"), "{out}");
    }

    let shot = encode(1280, 8000, true);
    let d = doc(vec![Block::Image {
        png: shot.clone(),
        width: 1280,
        height: 8000,
        caption: "Screenshot".into(),
    }]);
    let start = Instant::now();
    let pdf = render(&d).unwrap();
    let took = start.elapsed();
    let path = keep(dir.path(), "screenshot.pdf", &pdf);
    eprintln!(
        "1280 x 8000 screenshot (PNG {} bytes): {} bytes, {:?} pages, in {took:?}",
        shot.len(),
        pdf.len(),
        page_count(&path)
    );
}
