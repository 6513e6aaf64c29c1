//! The extraction rules of `exhibit_text`, one small document at a time.

use exhibit_text::{
    EXTRACTOR_NAME, EXTRACTOR_VERSION, Extracted, extract, normalize_text, sniff_media_type,
};

fn html(src: &str) -> String {
    extract(src.as_bytes(), "text/html", None)
        .expect("html has text")
        .text
}

fn html_bytes(src: &[u8], charset: Option<&str>) -> Extracted {
    extract(src, "text/html", charset).expect("html has text")
}

// ---------------------------------------------------------------- constants

#[test]
fn extractor_identity() {
    assert_eq!(EXTRACTOR_NAME, "exhibit-text");
    assert!(!EXTRACTOR_VERSION.is_empty());
}

// ---------------------------------------------------------------- what is dropped

#[test]
fn scripts_styles_and_friends_are_dropped() {
    let src = r#"<!doctype html><html><head>
        <meta charset="utf-8"><title>T</title><style>p { color: red }</style>
        <script>var x = function() { return 1; };</script>
        <link rel="stylesheet" href="x.css"></head>
        <body>
        <p>Visible</p>
        <script type="application/ld+json">{"@context":"https://schema.org","@type":"WebPage"}</script>
        <noscript>Please enable JavaScript</noscript>
        <template><p>template text</p></template>
        <svg><title>icon title</title><text>svg text</text></svg>
        <canvas>canvas fallback</canvas>
        <iframe src="x">iframe fallback</iframe>
        <object data="x">object fallback</object>
        <embed src="x">
        <video>video fallback</video>
        <!-- a comment -->
        <p>Also visible</p>
        </body></html>"#;
    assert_eq!(html(src), "Visible\n\nAlso visible\n");
}

#[test]
fn declarative_shadow_roots_are_rendered() {
    let src = r#"<policy-section><template shadowrootmode="open"><h2>Shadow heading</h2><slot>fallback</slot></template><p>Light text</p></policy-section>"#;
    assert_eq!(html(src), "## Shadow heading\n\nLight text\n");
}

#[test]
fn head_content_is_dropped_but_title_reported() {
    let got = html_bytes(
        b"<html><head><title>  Privacy \n Policy  </title><meta name=x content=y></head><body>Body</body></html>",
        None,
    );
    assert_eq!(got.text, "Body\n");
    assert_eq!(got.title.as_deref(), Some("Privacy Policy"));
}

#[test]
fn title_absent_or_empty_is_none() {
    assert_eq!(html_bytes(b"<p>x</p>", None).title, None);
    assert_eq!(html_bytes(b"<title> \n </title><p>x</p>", None).title, None);
    // An SVG <title> is not the document title.
    assert_eq!(
        html_bytes(b"<body><svg><title>Icon</title></svg>x</body>", None).title,
        None
    );
}

#[test]
fn title_is_nfc_and_entities_decoded() {
    let got = html_bytes("<title>Caf\u{65}\u{301} &amp; Co</title>".as_bytes(), None);
    assert_eq!(got.title.as_deref(), Some("Caf\u{e9} & Co"));
}

#[test]
fn form_controls_are_dropped_but_labels_and_buttons_kept() {
    let src = r#"<form action="/s"><label>Email</label> <input name="e" value="secret">
        <select><option>Option A</option></select><textarea>draft text</textarea>
        <button type="submit">Subscribe</button></form><p>After</p>"#;
    assert_eq!(html(src), "Email Subscribe\n\nAfter\n");
}

#[test]
fn hidden_attribute_is_dropped() {
    assert_eq!(
        html("<p>a</p><div hidden><p>secret</p></div><p>b</p>"),
        "a\n\nb\n"
    );
    assert_eq!(html("<p>a<span hidden>secret</span>b</p>"), "ab\n");
    // hidden="until-found" content is findable, hence part of the document.
    assert_eq!(
        html(r#"<p>a</p><div hidden="until-found"><p>found</p></div>"#),
        "a\n\nfound\n"
    );
}

#[test]
fn inline_display_none_and_visibility_hidden_are_dropped() {
    assert_eq!(
        html(
            r#"<p>a</p><div style="display:none">x</div><div style="color:red; DISPLAY : None !important">y</div><p>b</p>"#
        ),
        "a\n\nb\n"
    );
    assert_eq!(
        html(r#"<p>a <span style="visibility: hidden">x</span>b</p>"#),
        "a b\n"
    );
    assert_eq!(html(r#"<p style="display: block">shown</p>"#), "shown\n");
}

#[test]
fn aria_hidden_decorations_are_dropped() {
    assert_eq!(
        html(
            r#"<p>Next <span aria-hidden="true">›</span></p><a href="/"><i aria-hidden="TRUE">chevron_right</i>Home</a>"#
        ),
        "Next\n\nHome\n"
    );
    assert_eq!(
        html(r#"<p>a<span aria-hidden="false">b</span></p>"#),
        "ab\n"
    );
}

#[test]
fn aria_hidden_accordion_panels_are_kept() {
    // A collapsed accordion: the answer is part of the policy.
    let src = r#"<h2>FAQ</h2>
        <button aria-expanded="false" aria-controls="p1"><h3>Who owns outputs?</h3></button>
        <div id="p1" aria-hidden="true"><p>You do.</p></div>"#;
    assert_eq!(html(src), "## FAQ\n\n### Who owns outputs?\n\nYou do.\n");
}

#[test]
fn hidden_ancestors_of_main_content_are_kept() {
    // A cookie modal is open: the page behind it is aria-hidden (here with only inline content,
    // so only the main-content rule keeps it) or hidden by an anti-flicker style.
    let src = r#"<div role="dialog"><p>We use cookies</p></div>
        <div aria-hidden="true"><span><main>The terms</main></span></div>"#;
    // Only the main content is rendered, so the cookie dialog goes too (extractor 2).
    assert_eq!(html(src), "The terms\n");
    // Without <main>, the <h1> protects its hidden ancestors just the same.
    let src = r#"<div role="dialog"><p>We use cookies</p></div>
        <div aria-hidden="true"><span><h1>The terms</h1></span></div>"#;
    assert_eq!(html(src), "We use cookies\n\n# The terms\n");
    let src = r#"<body style="visibility:hidden"><div style="display:none">menu</div><h1>Policy</h1></body>"#;
    assert_eq!(html(src), "# Policy\n");
}

// ---------------------------------------------------------------- structure

#[test]
fn headings_become_markdown_lines() {
    let src =
        "<h1>One</h1><h2>Two</h2><h3>Three</h3><h4>Four</h4><h5>Five</h5><h6>Six</h6><p>text</p>";
    assert_eq!(
        html(src),
        "# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five\n\n###### Six\n\ntext\n"
    );
    // Headings stay on one line.
    assert_eq!(html("<h2>Part<br>one <div>x</div></h2>"), "## Part one x\n");
}

#[test]
fn lists() {
    assert_eq!(
        html("<p>Intro</p><ul><li>one</li><li>two <b>bold</b></li></ul><p>After</p>"),
        "Intro\n\n- one\n- two bold\n\nAfter\n"
    );
    assert_eq!(
        html("<ol><li>first</li><li>second</li></ol>"),
        "1. first\n2. second\n"
    );
    assert_eq!(
        html(r#"<ol start="7"><li>seventh</li></ol>"#),
        "7. seventh\n"
    );
    assert_eq!(
        html(
            "<ul><li>a<ul><li>a.1</li><li>a.2<ol><li>deep</li></ol></li></ul></li><li>b</li></ul>"
        ),
        "- a\n  - a.1\n  - a.2\n    1. deep\n- b\n"
    );
    assert_eq!(
        html("<dl><dt>Term</dt><dd>Definition</dd></dl>"),
        "Term\nDefinition\n"
    );
}

#[test]
fn table_cells_each_on_their_own_line() {
    let src = "<table><caption>Processors</caption><tr><th>Entity</th><th>Location</th></tr>\
               <tr><td>Andale, Inc.</td><td>United States</td></tr></table>";
    assert_eq!(
        html(src),
        "Processors\n\nEntity\nLocation\n\nAndale, Inc.\nUnited States\n"
    );
}

#[test]
fn paragraphs_blocks_and_breaks() {
    assert_eq!(html("<p>one</p><p>two</p>"), "one\n\ntwo\n");
    assert_eq!(html("<div>one</div><div>two</div>"), "one\ntwo\n");
    // (A page-level <footer> here would be dropped as boilerplate: see text_extraction_rules.rs.)
    assert_eq!(
        html("<section><h2>S</h2><p>x</p></section><address>f</address>"),
        "## S\n\nx\n\nf\n"
    );
    assert_eq!(
        html("<p>line one<br>line two<br><br>para</p>"),
        "line one\nline two\n\npara\n"
    );
    assert_eq!(html("<p>a</p><hr><p>b</p>"), "a\n\nb\n");
    assert_eq!(
        html("<blockquote>quoted</blockquote>after"),
        "quoted\n\nafter\n"
    );
}

#[test]
fn links_keep_only_their_text() {
    assert_eq!(
        html(r#"<p>See our <a href="https://example.com/cookies?x=1">Cookie Policy</a>.</p>"#),
        "See our Cookie Policy.\n"
    );
    // Adjacent links are separated.
    assert_eq!(
        html("<a href=#main>Skip to content</a><a href=#f>Skip to footer</a>"),
        "Skip to content Skip to footer\n"
    );
    // Images (and their alt text) are not text.
    assert_eq!(html(r#"<p>a <img src="x.png" alt="logo"> b</p>"#), "a b\n");
}

#[test]
fn inline_whitespace_is_collapsed() {
    assert_eq!(
        html("<p>  lots \n\t of   <em> space </em>  here </p>"),
        "lots of space here\n"
    );
    assert_eq!(html("<p>a<span>b</span>c</p>"), "abc\n");
}

#[test]
fn pre_keeps_its_lines() {
    let src = "<p>Code:</p><pre>\nfn main() {\n    println!(\"hi\");\n}\n</pre><p>after</p>";
    assert_eq!(
        html(src),
        "Code:\n\nfn main() {\n    println!(\"hi\");\n}\n\nafter\n"
    );
}

#[test]
fn entities_are_decoded_and_nbsp_becomes_a_space() {
    assert_eq!(
        html("<p>Terms&nbsp;&amp;&nbsp;Conditions &eacute;t&eacute; &#233; &#x2014; &lt;b&gt;</p>"),
        "Terms & Conditions \u{e9}t\u{e9} \u{e9} \u{2014} <b>\n"
    );
    // A run of no-break spaces collapses like ordinary spaces.
    assert_eq!(html("<p>a&nbsp;&nbsp;&nbsp;b&nbsp;</p>"), "a b\n");
}

#[test]
fn html_text_is_nfc() {
    assert_eq!(html("<p>caf\u{65}\u{301}</p>"), "caf\u{e9}\n");
    assert_eq!(html("<p>cafe&#x301;</p>"), "caf\u{e9}\n");
}

#[test]
fn empty_documents() {
    assert_eq!(html(""), "");
    assert_eq!(
        html("<html><head><title>x</title></head><body> </body></html>"),
        ""
    );
    assert_eq!(
        extract(b"", "text/plain", None).map(|e| e.text),
        Some(String::new())
    );
}

#[test]
fn xhtml_goes_through_the_html_path() {
    let src = br#"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>X</title></head>
<body><h1>Heading</h1><p>Para</p></body></html>"#;
    let got = extract(src, "application/xhtml+xml", None).expect("xhtml has text");
    assert_eq!(got.text, "# Heading\n\nPara\n");
    assert_eq!(got.title.as_deref(), Some("X"));
}

// ---------------------------------------------------------------- plain text

#[test]
fn plain_text_is_normalised() {
    let got = extract(
        b"  Title  \r\n\r\n\r\n\r\nBody line\t \rnext\r\n\r\n",
        "text/plain",
        None,
    )
    .expect("plain text");
    assert_eq!(got.text, "  Title\n\nBody line\nnext\n");
    assert_eq!(got.title, None);
    assert_eq!(got.charset, "UTF-8");
}

#[test]
fn markdown_and_other_text_types_are_plain_text() {
    for media in ["text/markdown", "text/x-markdown", "text/csv", "text/xml"] {
        let got = extract(b"# Heading\n\n<b>kept</b>\n", media, None).expect(media);
        assert_eq!(got.text, "# Heading\n\n<b>kept</b>\n", "{media}");
    }
}

#[test]
fn media_types_without_text() {
    for media in [
        "application/pdf",
        "application/octet-stream",
        "application/json",
        "application/xml",
        "image/png",
        "",
    ] {
        assert!(
            extract(b"%PDF-1.7 whatever", media, None).is_none(),
            "{media}"
        );
    }
}

#[test]
fn normalize_rules() {
    assert_eq!(normalize_text("a\r\nb\rc"), "a\nb\nc\n");
    assert_eq!(normalize_text("e\u{301}"), "\u{e9}\n");
    assert_eq!(
        normalize_text("trailing   \nspace\t\t\n"),
        "trailing\nspace\n"
    );
    assert_eq!(normalize_text("a\n\n\n\n\nb"), "a\n\nb\n");
    assert_eq!(normalize_text("\n\n\n  indented\n\n\n"), "  indented\n");
    assert_eq!(normalize_text("\n \n\t\n"), "");
    assert_eq!(normalize_text(""), "");
    assert_eq!(normalize_text("x"), "x\n");
}

// ---------------------------------------------------------------- decoding

#[test]
fn windows_1252_via_meta_charset() {
    // "Café – “quoted”" in windows-1252.
    let mut src = b"<html><head><meta charset=\"windows-1252\"><title>Caf\xe9</title></head><body><p>Caf\xe9 \x96 \x93quoted\x94</p>".to_vec();
    src.extend_from_slice(b"</body></html>");
    let got = html_bytes(&src, None);
    assert_eq!(got.charset, "windows-1252");
    assert_eq!(got.text, "Caf\u{e9} \u{2013} \u{201c}quoted\u{201d}\n");
    assert_eq!(got.title.as_deref(), Some("Caf\u{e9}"));
}

#[test]
fn meta_http_equiv_content_type() {
    let src = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"><p>Gr\xfc\xdfe</p>";
    let got = html_bytes(src, None);
    assert_eq!(got.charset, "windows-1252");
    assert_eq!(got.text, "Gr\u{fc}\u{df}e\n");
}

#[test]
fn content_type_charset_argument_beats_meta() {
    let src = b"<meta charset=\"utf-8\"><p>Gr\xfc\xdfe</p>";
    let got = html_bytes(src, Some("iso-8859-1"));
    assert_eq!(got.charset, "windows-1252");
    assert_eq!(got.text, "Gr\u{fc}\u{df}e\n");
    // Quoted and odd-cased labels work; unknown labels are ignored.
    assert_eq!(
        html_bytes(src, Some("\"ISO-8859-1\"")).charset,
        "windows-1252"
    );
    assert_eq!(
        html_bytes(b"<p>x</p>", Some("no-such-charset")).charset,
        "UTF-8"
    );
    // The charset argument applies to plain text too.
    let plain = extract(b"Gr\xfc\xdfe", "text/plain", Some("latin1")).expect("text");
    assert_eq!(plain.text, "Gr\u{fc}\u{df}e\n");
}

#[test]
fn bom_beats_everything() {
    let mut src = b"\xEF\xBB\xBF".to_vec();
    src.extend_from_slice("<meta charset=\"windows-1252\"><p>Caf\u{e9}</p>".as_bytes());
    let got = html_bytes(&src, Some("iso-8859-2"));
    assert_eq!(got.charset, "UTF-8");
    assert_eq!(got.text, "Caf\u{e9}\n");

    // UTF-16LE and UTF-16BE with BOM.
    let text = "<p>Caf\u{e9} \u{1F600}</p>";
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
        be.extend_from_slice(&unit.to_be_bytes());
    }
    let got = html_bytes(&le, None);
    assert_eq!(
        (got.charset, got.text.as_str()),
        ("UTF-16LE", "Caf\u{e9} \u{1F600}\n")
    );
    let got = html_bytes(&be, Some("utf-8"));
    assert_eq!(
        (got.charset, got.text.as_str()),
        ("UTF-16BE", "Caf\u{e9} \u{1F600}\n")
    );

    // Plain text with a BOM: the BOM is not part of the text.
    let got = extract(b"\xEF\xBB\xBFhello", "text/plain", None).expect("text");
    assert_eq!(got.text, "hello\n");
}

#[test]
fn undeclared_invalid_utf8_falls_back_to_windows_1252_and_keeps_every_byte() {
    let got = html_bytes(b"<p>caf\xe9 \xff bytes</p>", None);
    assert_eq!(got.charset, "windows-1252");
    assert_eq!(got.text, "caf\u{e9} \u{ff} bytes\n");
    // Two documents differing only in such bytes extract to different texts.
    let other = html_bytes(b"<p>caf\xe8 \xff bytes</p>", None);
    assert_ne!(got.text, other.text);
    // Valid UTF-8 stays UTF-8.
    let utf8 = html_bytes("<p>café</p>".as_bytes(), None);
    assert_eq!(utf8.charset, "UTF-8");
    // A declared charset is still obeyed, with replacement for bad sequences.
    let declared = html_bytes(b"<p>bad \xff</p>", Some("utf-8"));
    assert_eq!(declared.text, "bad \u{fffd}\n");
}

#[test]
fn meta_after_first_kilobyte_is_ignored() {
    let mut src = b"<!doctype html><p>".to_vec();
    src.extend_from_slice(&[b' '; 1200]);
    // Valid UTF-8 "é": honouring the late meta would garble it into "Ã©".
    src.extend_from_slice("<meta charset=windows-1252>é".as_bytes());
    let got = html_bytes(&src, None);
    assert_eq!(got.charset, "UTF-8");
    assert!(
        got.text.contains('é') && !got.text.contains('Ã'),
        "{:?}",
        got.text
    );
}

#[test]
fn replacement_encoding_labels_are_ignored() {
    // iso-2022-kr maps to the WHATWG "replacement" encoding, which would turn every document
    // into one U+FFFD and hide all changes.
    let got = html_bytes(b"<p>text</p>", Some("iso-2022-kr"));
    assert_eq!(got.charset, "UTF-8");
    assert_eq!(got.text, "text\n");
}

// ---------------------------------------------------------------- sniffing

#[test]
fn sniffing_html_content() {
    for src in [
        &b"<!DOCTYPE html><html>"[..],
        b"  \n\t<!doctype HTML>",
        b"<HTML lang=en>",
        b"<head><title>",
        b"\xEF\xBB\xBF<html>",
        b"<!-- comment --><p>",
        b"<body>",
    ] {
        assert_eq!(sniff_media_type(src, None), "text/html", "{src:?}");
    }
    // UTF-16LE with BOM.
    let mut le = vec![0xFF, 0xFE];
    for unit in "<!doctype html><p>x".encode_utf16() {
        le.extend_from_slice(&unit.to_le_bytes());
    }
    assert_eq!(sniff_media_type(&le, None), "text/html");
}

#[test]
fn sniffing_text_and_binary() {
    assert_eq!(sniff_media_type(b"Just some text.\n", None), "text/plain");
    assert_eq!(sniff_media_type("Caf\u{e9}".as_bytes(), None), "text/plain");
    assert_eq!(sniff_media_type(b"", None), "text/plain");
    assert_eq!(
        sniff_media_type(b"# Title\n", Some("terms.md")),
        "text/markdown"
    );
    assert_eq!(
        sniff_media_type(b"# Title\n", Some("TERMS.MARKDOWN")),
        "text/markdown"
    );
    assert_eq!(
        sniff_media_type(b"text\0with nul", None),
        "application/octet-stream"
    );
    assert_eq!(
        sniff_media_type(b"\xc3\x28\x80", None),
        "application/octet-stream"
    );
    assert_eq!(sniff_media_type(b"%PDF-1.7\n", None), "application/pdf");
    assert_eq!(
        sniff_media_type(b"\x89PNG\r\n\x1a\n....", None),
        "image/png"
    );
}

#[test]
fn sniffing_uses_the_file_name() {
    assert_eq!(
        sniff_media_type(b"anything", Some("policy.html")),
        "text/html"
    );
    assert_eq!(
        sniff_media_type(b"anything", Some("dir/policy.HTM")),
        "text/html"
    );
    assert_eq!(
        sniff_media_type(b"<html>", Some("policy.xhtml")),
        "application/xhtml+xml"
    );
    assert_eq!(
        sniff_media_type(b"not really", Some("policy.pdf")),
        "application/pdf"
    );
    assert_eq!(
        sniff_media_type(b"{}", Some("data.json")),
        "application/json"
    );
    // A .txt name is text even when not UTF-8; HTML content in a .txt is HTML.
    assert_eq!(
        sniff_media_type(b"Gr\xfc\xdfe", Some("notes.txt")),
        "text/plain"
    );
    assert_eq!(
        sniff_media_type(b"<!doctype html>", Some("saved.txt")),
        "text/html"
    );
    // Unknown extensions fall back to the content.
    assert_eq!(
        sniff_media_type(b"<html>", Some("page.unknownext")),
        "text/html"
    );
    assert_eq!(
        sniff_media_type(b"plain", Some("no_extension")),
        "text/plain"
    );
}
