//! Extraction rules (`select` / `remove`) and the default choice of what a page's text is
//! (main content, boilerplate dropping), one small document at a time.

use exhibit_core::manifest::ExtractionRules;
use exhibit_text::{EXTRACTOR_VERSION, check_rules, extract, extract_with};

fn html(src: &str) -> String {
    extract(src.as_bytes(), "text/html", None)
        .expect("html has text")
        .text
}

fn rules(select: &[&str], remove: &[&str]) -> ExtractionRules {
    ExtractionRules {
        select: select.iter().map(|s| (*s).to_owned()).collect(),
        remove: remove.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn ruled(src: &str, select: &[&str], remove: &[&str]) -> String {
    extract_with(src.as_bytes(), "text/html", None, &rules(select, remove))
        .expect("html has text")
        .text
}

#[test]
fn extractor_version_is_2() {
    // The default text changed (main content, boilerplate): text hashes changed with it.
    assert_eq!(EXTRACTOR_VERSION, "2");
}

// ---------------------------------------------------------------- select

const PAGE: &str = r#"<!doctype html><html><head><title>Terms</title></head><body>
    <header><a href="/">Home</a> <a href="/blog">Blog</a></header>
    <nav><ul><li>Products</li><li>Pricing</li></ul></nav>
    <div id="wrap">
      <div id="a"><h1>Terms of Service</h1><p>Effective 1 May.</p></div>
      <section id="b"><h2>1. Use</h2><p>Be nice.</p><div class="ad">Buy now!</div>
        <div id="inner"><p>Inner clause.</p></div></section>
    </div>
    <footer><p>© 2026 Example</p></footer>
    </body></html>"#;

#[test]
fn select_renders_only_the_match_as_if_it_were_the_body() {
    assert_eq!(
        ruled(PAGE, &["#a"], &[]),
        "# Terms of Service\n\nEffective 1 May.\n"
    );
    // Anything can be selected, boilerplate included: the rule is the user's choice.
    assert_eq!(ruled(PAGE, &["footer"], &[]), "© 2026 Example\n");
}

#[test]
fn select_is_a_union_in_document_order() {
    let want = "# Terms of Service\n\nEffective 1 May.\n\n## 1. Use\n\nBe nice.\n\nBuy now!\n\nInner clause.\n";
    assert_eq!(ruled(PAGE, &["#a", "#b"], &[]), want);
    // The order of the selectors does not matter.
    assert_eq!(ruled(PAGE, &["#b", "#a"], &[]), want);
    // One selector list matching several elements is the same union.
    assert_eq!(ruled(PAGE, &["#a, #b"], &[]), want);
}

#[test]
fn nested_matches_are_rendered_once() {
    assert_eq!(
        ruled(PAGE, &["#b", "#inner"], &[]),
        "## 1. Use\n\nBe nice.\n\nBuy now!\n\nInner clause.\n"
    );
    // Every div matches, nested ones included: each text still comes once.
    assert_eq!(
        ruled(
            "<div>a<div>b<div>c</div></div></div><div>d</div>",
            &["div"],
            &[]
        ),
        "a\nb\nc\n\nd\n"
    );
}

#[test]
fn select_matching_nothing_gives_empty_text() {
    let got = extract_with(
        PAGE.as_bytes(),
        "text/html",
        None,
        &rules(&["#no-such-element"], &[]),
    )
    .expect("html has text");
    assert_eq!(got.text, "");
    // The title is still reported.
    assert_eq!(got.title.as_deref(), Some("Terms"));
}

#[test]
fn select_does_not_apply_the_main_content_preference() {
    let src = r#"<div id="notice"><p>Summary outside main</p></div><main><p>Body</p></main>"#;
    assert_eq!(html(src), "Body\n");
    assert_eq!(ruled(src, &["#notice"], &[]), "Summary outside main\n");
    assert_eq!(
        ruled(src, &["#notice", "main"], &[]),
        "Summary outside main\n\nBody\n"
    );
}

#[test]
fn selected_list_items_and_cells_render_as_blocks() {
    let src = "<ol><li>one</li><li>two</li></ol><table><tr><td>c1</td><td>c2</td></tr></table>";
    assert_eq!(ruled(src, &["li"], &[]), "- one\n\n- two\n");
    assert_eq!(ruled(src, &["td"], &[]), "c1\n\nc2\n");
}

// ---------------------------------------------------------------- remove

#[test]
fn remove_inside_select() {
    assert_eq!(
        ruled(PAGE, &["#b"], &[".ad"]),
        "## 1. Use\n\nBe nice.\n\nInner clause.\n"
    );
    assert_eq!(
        ruled(PAGE, &["#b"], &[".ad", "#inner"]),
        "## 1. Use\n\nBe nice.\n"
    );
}

#[test]
fn remove_without_select_applies_on_top_of_the_default() {
    let default = html(PAGE);
    assert!(default.contains("Buy now!"), "{default}");
    let got = ruled(PAGE, &[], &[".ad"]);
    assert_eq!(got, default.replace("Buy now!\n\n", ""));
    // Inside <main> too.
    let src = r#"<main><p>Text</p><div class="cookie-banner">We use cookies</div></main>"#;
    assert_eq!(ruled(src, &[], &[".cookie-banner"]), "Text\n");
}

#[test]
fn a_selected_element_inside_a_removed_one_is_not_rendered() {
    assert_eq!(ruled(PAGE, &["#inner"], &["#b"]), "");
    assert_eq!(
        ruled(PAGE, &["#a", "#inner"], &["#b"]),
        "# Terms of Service\n\nEffective 1 May.\n"
    );
    // Removing the selected element itself.
    assert_eq!(ruled(PAGE, &["#a"], &["#a"]), "");
}

#[test]
fn selectors_see_the_whole_document() {
    // `body > footer` is matched against the page, not against the selection.
    let src = "<main><p>Text</p><footer>in main</footer></main><footer>page</footer>";
    assert_eq!(
        ruled(src, &["main"], &["body > footer"]),
        "Text\n\nin main\n"
    );
    assert_eq!(ruled(src, &["main"], &["main > footer"]), "Text\n");
}

#[test]
fn a_footer_removed_by_rule_and_script_changes_do_not_change_the_text() {
    // The issue's acceptance check: two captures differing only in script content and in a
    // generated footer that a --remove rule drops extract to the same text; a real change
    // does not.
    let page = |script: &str, footer: &str, clause: &str| {
        format!(
            r#"<html><head><script>var nonce = "{script}";</script></head><body><main>
            <h1>Privacy</h1><p>{clause}</p>
            <script type="application/ld+json">{{"@type":"WebPage","dateModified":"{script}"}}</script>
            <div class="generated">Page generated {footer}</div></main></body></html>"#
        )
    };
    let r = rules(&[], &[".generated"]);
    let text = |src: String| {
        extract_with(src.as_bytes(), "text/html", None, &r)
            .expect("html")
            .text
    };
    let first = text(page("abc", "2026-01-01 10:00", "We keep logs 30 days."));
    let second = text(page("xyz", "2026-01-02 11:30", "We keep logs 30 days."));
    let changed = text(page("xyz", "2026-01-02 11:30", "We keep logs 90 days."));
    assert_eq!(first, "# Privacy\n\nWe keep logs 30 days.\n");
    assert_eq!(first, second);
    assert_ne!(first, changed);
    // Without the rule, the footer is part of the text and the two captures differ.
    let plain = |src: String| {
        extract(src.as_bytes(), "text/html", None)
            .expect("html")
            .text
    };
    assert_ne!(
        plain(page("abc", "2026-01-01 10:00", "x")),
        plain(page("xyz", "2026-01-02 11:30", "x"))
    );
}

// ---------------------------------------------------------------- rules: edge cases

#[test]
fn invalid_selectors_match_nothing() {
    let bad = "p[";
    assert!(check_rules(&rules(&[bad], &[])).is_err());
    assert!(check_rules(&rules(&[], &[bad])).is_err());
    // A bad remove selector removes nothing.
    assert_eq!(ruled(PAGE, &["#a"], &[bad]), ruled(PAGE, &["#a"], &[]));
    // A bad select selector selects nothing; with a good one, the good one counts.
    assert_eq!(ruled(PAGE, &[bad], &[]), "");
    assert_eq!(ruled(PAGE, &[bad, "#a"], &[]), ruled(PAGE, &["#a"], &[]));
}

#[test]
fn empty_rules_are_the_default() {
    let got = extract_with(
        PAGE.as_bytes(),
        "text/html",
        None,
        &ExtractionRules::default(),
    );
    assert_eq!(got, extract(PAGE.as_bytes(), "text/html", None));
}

#[test]
fn plain_text_ignores_rules() {
    let src = b"<p>not html</p>\n";
    let got = extract_with(src, "text/plain", None, &rules(&["#none"], &["p"])).expect("text");
    assert_eq!(got.text, "<p>not html</p>\n");
}

#[test]
fn rules_apply_to_xhtml() {
    let src = br#"<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><body><nav>Menu</nav>
<div id="t"><h1>Terms</h1><p class="x">drop</p><p>keep</p></div></body></html>"#;
    let got =
        extract_with(src, "application/xhtml+xml", None, &rules(&["#t"], &[".x"])).expect("xhtml");
    assert_eq!(got.text, "# Terms\n\nkeep\n");
}

#[test]
fn rules_never_reveal_dropped_or_hidden_content() {
    let src = r#"<body><div id="t"><p>Visible</p>
        <script type="application/ld+json">{"@context":"https://schema.org"}</script>
        <div hidden id="h"><p>Hidden answer</p></div>
        <p style="display:none" id="d">Display none</p></div>
        <div style="display:none"><p id="deep">Inside hidden</p></div>
        <template id="tpl"><p>Template</p></template>
        <noscript id="ns">Enable JS</noscript></body>"#;
    assert_eq!(ruled(src, &["#t"], &[]), "Visible\n");
    for selector in [
        "script",
        "[type=\"application/ld+json\"]",
        "#h",
        "#d",
        "#deep",
        "#tpl",
        "#tpl p",
        "#ns",
        "head",
        "title",
    ] {
        assert_eq!(ruled(src, &[selector], &[]), "", "{selector}");
    }
}

#[test]
fn rules_are_deterministic() {
    let r = rules(&["#b", "#a", "section"], &["#inner", ".ad"]);
    let first = extract_with(PAGE.as_bytes(), "text/html", None, &r);
    for _ in 0..5 {
        assert_eq!(extract_with(PAGE.as_bytes(), "text/html", None, &r), first);
    }
    // Reordering or repeating selectors changes nothing.
    let shuffled = rules(&["section", "#a", "#b", "#a"], &[".ad", "#inner", ".ad"]);
    assert_eq!(
        extract_with(PAGE.as_bytes(), "text/html", None, &shuffled),
        first
    );
}

// ---------------------------------------------------------------- default: main content

#[test]
fn main_is_preferred() {
    let src = r#"<header><p>Site</p></header><nav>Menu</nav>
        <div role="dialog"><p>We use cookies</p><button>Accept</button></div>
        <main><h1>Policy</h1><p>Text</p></main>
        <aside>Related</aside><footer>Footer</footer>"#;
    assert_eq!(html(src), "# Policy\n\nText\n");
    let src =
        r#"<div class="top">Top bar</div><div role="main"><p>Text</p></div><div>Bottom</div>"#;
    assert_eq!(html(src), "Text\n");
}

#[test]
fn main_keeps_everything_inside_it() {
    // Navigation and asides inside <main> are the document's own (tables of contents, notes).
    let src = r##"<main><nav><a href="#s1">Section 1</a></nav><h1>Policy</h1>
        <aside><p>Note: applies in the EU.</p></aside><section><header><h2>S1</h2></header>
        <p>x</p><footer>End of section</footer></section></main>"##;
    assert_eq!(
        html(src),
        "Section 1\n\n# Policy\n\nNote: applies in the EU.\n\n## S1\n\nx\n\nEnd of section\n"
    );
}

#[test]
fn every_outermost_main_is_rendered_once_in_order() {
    assert_eq!(
        html(r#"<main><p>a</p><div role="main"><p>b</p></div></main><div>x</div><main>c</main>"#),
        "a\n\nb\n\nc\n"
    );
}

#[test]
fn hidden_or_empty_main_falls_back() {
    // A hidden <main> (an old template) is not the content.
    let src = r#"<main hidden>Old</main><nav>Menu</nav><article><p>Current</p></article>"#;
    assert_eq!(html(src), "Current\n");
    // A <main> without text (filled by scripts) falls back to the whole page.
    let src =
        r#"<header>Site</header><main><div id="app"></div></main><div><p>Server text</p></div>"#;
    assert_eq!(html(src), "Server text\n");
    // A <main> inside a template is not rendered content.
    let src = r#"<template><main>Template</main></template><p>Page</p>"#;
    assert_eq!(html(src), "Page\n");
}

#[test]
fn a_single_article_is_preferred() {
    let src = r#"<header>Site</header><nav>Menu</nav><div class="banner">Sale!</div>
        <article><header><h1>Terms</h1><p>Updated today</p></header><p>Body</p>
        <footer>Questions? Write to us.</footer></article><aside>Related</aside>"#;
    assert_eq!(
        html(src),
        "# Terms\n\nUpdated today\n\nBody\n\nQuestions? Write to us.\n"
    );
    // Articles nested inside it (comments) are part of it.
    let src = "<div>Top</div><article><p>Post</p><article>Comment</article></article>";
    assert_eq!(html(src), "Post\n\nComment\n");
}

#[test]
fn several_articles_render_the_page_without_boilerplate() {
    let src = r#"<header>Site</header><nav>Menu</nav><div class="intro">Our policies</div>
        <article><p>One</p></article><article><p>Two</p></article><footer>Footer</footer>"#;
    assert_eq!(html(src), "Our policies\n\nOne\n\nTwo\n");
}

// ---------------------------------------------------------------- default: boilerplate

#[test]
fn navigation_is_dropped_anywhere_outside_main() {
    let src = r#"<div><nav>Menu</nav><p>Text</p><div role="navigation">Breadcrumbs</div>
        <section><nav>Section menu</nav><p>More</p></section></div>"#;
    assert_eq!(html(src), "Text\n\nMore\n");
}

#[test]
fn page_level_header_and_footer_are_dropped() {
    // Direct children of body.
    assert_eq!(
        html("<body><header>Site</header><p>Text</p><footer>© Co</footer></body>"),
        "Text\n"
    );
    // Inside top-level wrappers.
    assert_eq!(
        html(
            r#"<div id="root"><div class="layout"><header><p>Site</p></header><div><p>Text</p></div>
            <footer><p>© Co</p></footer></div></div>"#
        ),
        "Text\n"
    );
    // ARIA landmarks with the same meaning.
    assert_eq!(
        html(r#"<div role="banner">Site</div><p>Text</p><div role="contentinfo">© Co</div>"#),
        "Text\n"
    );
}

#[test]
fn headers_and_footers_of_sections_are_kept() {
    let src = r#"<header>Site</header><section><header><h2>1. Scope</h2></header><p>x</p>
        <footer>Last revised 2026</footer></section>
        <div><blockquote><p>Quote</p><footer>— Author</footer></blockquote></div>"#;
    assert_eq!(
        html(src),
        "## 1. Scope\n\nx\n\nLast revised 2026\n\nQuote\n\n— Author\n"
    );
}

#[test]
fn asides_are_dropped_only_outside_content() {
    let src = r#"<aside>Sidebar</aside><div role="complementary">Ads</div>
        <section><p>x</p><aside>Note inside</aside></section>"#;
    assert_eq!(html(src), "x\n\nNote inside\n");
}

// ---------------------------------------------------------------- never in the text

#[test]
fn scripts_json_templates_and_hidden_never_reach_the_text() {
    let body = r##"<h1>Policy</h1>
        <script>window.__STATE__ = {"secret": true};</script>
        <script type="application/ld+json">{"@context":"https://schema.org","@type":"WebPage"}</script>
        <script type="application/json" id="__NEXT_DATA__">{"props":{"page":"/terms"}}</script>
        <script type="text/x-template"><p>Vue template</p></script>
        <style>.x { color: red }</style>
        <template><p>Template text</p></template>
        <noscript><p>Enable JavaScript</p></noscript>
        <div hidden><p>Hidden attribute</p></div>
        <div style="display: none"><p>Display none</p></div>
        <span style="visibility:hidden">Invisible</span>
        <span aria-hidden="true">★</span>
        <form><label>Email</label><input value="typed"><select><option>Choice</option></select>
        <textarea>Draft</textarea></form>
        <p>Clause <a href="/x">link<span class="sr-only"> (opens in a new window)</span></a>.</p>
        <a class="visually-hidden-focusable" href="#main">Skip to content</a>"##;
    let want = "# Policy\n\nEmail\n\nClause link.\n";
    // Wherever the content sits: in <main>, in a lone <article>, in a plain page, and selected.
    for src in [
        format!("<main>{body}</main>"),
        format!("<article>{body}</article>"),
        format!("<div>{body}</div>"),
    ] {
        assert_eq!(html(&src), want, "{src}");
        assert_eq!(ruled(&src, &["body"], &[]), want, "{src}");
        assert_eq!(ruled(&src, &["body > *"], &[]), want, "{src}");
    }
}

#[test]
fn default_extraction_is_deterministic() {
    for src in [PAGE, "<main>a</main>", "<article>x</article><nav>n</nav>"] {
        let first = extract(src.as_bytes(), "text/html", None);
        for _ in 0..3 {
            assert_eq!(extract(src.as_bytes(), "text/html", None), first);
        }
    }
}
