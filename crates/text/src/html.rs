//! HTML to text.
//!
//! The document is parsed with html5ever (through `scraper`) exactly as a browser would build
//! its DOM, flattened in document order, then walked iteratively (no recursion) while the text
//! is appended to one `String`. The result is then passed through
//! [`normalize_text`](super::normalize_text).
//!
//! # What is rendered
//!
//! - **With extraction rules** ([`ExtractionRules`]): with `select` non-empty, only the elements
//!   matching one of its selectors, their union in document order, an element nested in another
//!   match rendered once as part of it, each rendered as if it were the whole body (blank lines
//!   between them). When nothing matches, the text is empty: the rule no longer fits the page,
//!   and an empty text (a new version) says so, where falling back to the whole page would
//!   silently track boilerplate. Then nothing matching a `remove` selector is rendered, wherever
//!   it is: a selected element inside a removed one is not rendered either. Selectors are matched
//!   against the whole parsed document (so `body > footer` means what it says), and an invalid
//!   selector matches nothing (callers validate rules with `check_rules`). Rules never make
//!   dropped or hidden content visible: a selected element inside a hidden one stays hidden.
//!   With `select`, the default choice below does not apply; `remove` alone applies on top of
//!   it.
//! - **By default** (no `select`), the main content when the page marks it: every outermost
//!   `<main>` / `role="main"` element (in document order), or else the page's only outermost
//!   `<article>`. Without either (or when that renders no text), the whole page without its
//!   boilerplate: `<nav>` and `role="navigation"` anywhere, and *page-level* `<header>`,
//!   `<footer>`, `<aside>` and `role="banner"` / `"contentinfo"` / `"complementary"`, that is
//!   those not inside sectioning content (`article`, `aside`, `nav`, `section`, `main`,
//!   `role="main"`) or a sectioning root (`blockquote`, `details`, `dialog`, `fieldset`,
//!   `figure`, `td`, `th`). A `<header>` inside an `<article>` stays, as does navigation inside
//!   `<main>` (on real pages it holds document text as often as menus).
//!
//! # Rules
//!
//! - **Dropped with their content:** `head` (the `<title>` is reported separately), `script`
//!   (including `application/ld+json` and other embedded JSON data), `style`, `noscript`,
//!   `template`, `svg`, `canvas`, `iframe`, `frame`, `frameset`, `noframes`, `object`, `embed`,
//!   `audio`, `video`, `map`, `img`, `picture`, form controls (`input`, `select`, `textarea`,
//!   `datalist`, `option`, `optgroup`, `output`, `progress`, `meter`), comments, processing
//!   instructions.
//! - **Hidden elements are dropped:** the `hidden` attribute (except `hidden="until-found"`, which
//!   is findable content), an inline style with `display:none` or `visibility:hidden`
//!   (`!important` and any spacing/case allowed), the conventional screen-reader-only classes
//!   (`sr-only`, `visually-hidden`, `visually-hidden-focusable`, `visuallyhidden`,
//!   `screen-reader-text`: "(opens in a new window)" after every link, live-region
//!   announcements, skip links), and `aria-hidden="true"` on an element *without block-level
//!   content* (icons, decorative glyphs). Two exceptions, both to avoid silently losing the
//!   document's text:
//!   - `aria-hidden="true"` on an element with block-level content is ignored: it is an
//!     accessibility hint, not a display rule, and on real pages it marks collapsed accordion
//!     panels (FAQ answers, policy sections) whose text is part of the document;
//!   - an element that contains `<main>`, `role="main"` or an `<h1>` is never dropped for being
//!     hidden: an open modal (a cookie banner) sets `aria-hidden="true"` on the rest of the page,
//!     and anti-flicker snippets hide the body until scripts run.
//! - **Kept, unlike a pure form-control filter would:** `<button>` text (accordion triggers
//!   carry section headings, and buttons are read as part of sentences) and `<form>` (rendered
//!   as a block; ASP.NET-style pages wrap the whole body in one form). Only the controls above
//!   are dropped.
//! - **Blocks separated by a blank line:** `p`, `h1`–`h6`, `blockquote`, `pre`, `table`, `tr`,
//!   top-level `ul`/`ol`/`menu`, `dl`, `figure`, `hr`, `address`, `details`, `fieldset`,
//!   `section`, `article`, `main`, `header`, `footer`, `nav`, `aside`, `hgroup`, `search`,
//!   `dialog`, `body`.
//! - **Blocks on their own line:** `div`, `li`, `dt`, `dd`, `td`, `th`, `caption`, `summary`,
//!   `figcaption`, `legend`, `center`, `form`, nested lists, `thead`/`tbody`/`tfoot`, and other
//!   block-level elements.
//! - `<br>` is a line break (two in a row give a blank line); inside a heading it is a space.
//! - Headings are prefixed `# ` … `###### ` and kept on one line (blocks inside a heading become
//!   spaces). List items are prefixed `- `, or `N. ` in an `<ol>` (counting from its `start`
//!   attribute), indented by two spaces per level of nesting (at most 8 levels).
//! - Everything else is inline: links keep only their text, images and their `alt` are dropped.
//!   Two links or buttons that directly follow each other (`<a>Skip to content</a><a>Skip to
//!   footer</a>`) are separated by a space.
//!   Runs of HTML whitespace (space, tab, LF, FF, CR) and U+00A0 NO-BREAK SPACE (so `&nbsp;`)
//!   collapse to one ASCII space, as a browser renders them; other Unicode spaces are kept.
//! - Inside `<pre>` (and the obsolete `<listing>`, `<xmp>`, `<plaintext>`), text is kept as
//!   is, line breaks and indentation included (no-break spaces still become spaces).
//! - A declarative shadow root (`<template shadowrootmode=…>`) is rendered in place, unlike other
//!   templates; `<slot>` fallback content is dropped.
//! - Character references (`&amp;`, `&eacute;`, `&#233;`, …) are decoded by the parser.
//! - The title is the text of the first HTML-namespace `<title>` (not an SVG `<title>`),
//!   whitespace collapsed, NFC; `None` when empty.

use std::collections::HashMap;

use exhibit_core::manifest::ExtractionRules;
use scraper::{Html, Node, Selector};

/// Result of rendering an HTML document, before normalisation.
pub(super) struct Rendered {
    /// Raw rendered text; still to be passed through `normalize_text`.
    pub text: String,
    /// The document title, already collapsed and NFC.
    pub title: Option<String>,
}

/// Render decoded HTML source to (not yet normalised) text, and find its title, applying a
/// document's extraction rules (see the module documentation).
pub(super) fn render(source: &str, rules: &ExtractionRules) -> Rendered {
    let source = super::guard::tame(source);
    let document = Html::parse_document(&source);
    let title = find_title(&document);
    let flat = Flat::new(&document);
    let marks = Marks::new(&flat);

    let mut skip = vec![false; flat.len()];
    let addresses = if rules.is_empty() {
        HashMap::new()
    } else {
        flat.addresses()
    };
    for index in matches(&document, &addresses, &rules.remove) {
        skip[index] = true;
    }

    let text = if !rules.select.is_empty() {
        let mut roots = vec![false; flat.len()];
        for index in matches(&document, &addresses, &rules.select) {
            roots[index] = true;
        }
        walk(&flat, &marks, &roots, &skip, source.len() / 4)
    } else {
        let scan = Scan::new(&flat, &marks);
        let mut text = String::new();
        // Prefer the main content: every <main> / role="main", else a lone <article>.
        let content = if !scan.mains.is_empty() {
            &scan.mains
        } else if scan.articles.len() == 1 {
            &scan.articles
        } else {
            &Vec::new()
        };
        if !content.is_empty() {
            let mut roots = vec![false; flat.len()];
            for &index in content {
                roots[index] = true;
            }
            text = walk(&flat, &marks, &roots, &skip, source.len() / 4);
        }
        if text.trim().is_empty() {
            // The whole page, without navigation and page-level header, footer and asides.
            let mut roots = vec![false; flat.len()];
            roots[0] = true;
            for &index in &scan.boilerplate {
                skip[index] = true;
            }
            text = walk(&flat, &marks, &roots, &skip, source.len() / 4);
        }
        text
    };
    Rendered { text, title }
}

/// The indices of the elements matching any of `selectors` (those that do not parse match
/// nothing; callers check rules with `check_rules` first).
fn matches(document: &Html, addresses: &HashMap<usize, usize>, selectors: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    for css in selectors {
        let Ok(selector) = Selector::parse(css) else {
            continue;
        };
        for element in document.select(&selector) {
            let node: &Node = std::ops::Deref::deref(&element).value();
            if let Some(&index) = addresses.get(&address(node)) {
                out.push(index);
            }
        }
    }
    out
}

/// A node's identity while the document is borrowed: its address in the tree's arena.
fn address(node: &Node) -> usize {
    std::ptr::from_ref(node).addr()
}

/// The document tree flattened in document order (pre-order): the subtree of node `i` is the
/// index range `i..end[i]`, its parent is `parent[i]`. Node 0 is the document.
struct Flat<'a> {
    node: Vec<&'a Node>,
    parent: Vec<usize>,
    end: Vec<usize>,
}

impl<'a> Flat<'a> {
    fn new(document: &'a Html) -> Self {
        let mut flat = Flat {
            node: Vec::new(),
            parent: Vec::new(),
            end: Vec::new(),
        };
        let root = document.tree.root();
        let mut node = root;
        // Indices of the open ancestors of `node`.
        let mut open: Vec<usize> = Vec::new();
        'walk: loop {
            let index = flat.node.len();
            flat.node.push(node.value());
            flat.parent.push(open.last().copied().unwrap_or(0));
            flat.end.push(index + 1);
            if let Some(child) = node.first_child() {
                open.push(index);
                node = child;
                continue 'walk;
            }
            loop {
                if open.is_empty() {
                    break 'walk;
                }
                if let Some(sibling) = node.next_sibling() {
                    node = sibling;
                    continue 'walk;
                }
                let (Some(parent), Some(closed)) = (node.parent(), open.pop()) else {
                    break 'walk;
                };
                flat.end[closed] = flat.node.len();
                node = parent;
            }
        }
        flat
    }

    fn len(&self) -> usize {
        self.node.len()
    }

    fn element(&self, index: usize) -> Option<&'a scraper::node::Element> {
        match self.node[index] {
            Node::Element(el) => Some(el),
            _ => None,
        }
    }

    /// Node address to index, for elements.
    fn addresses(&self) -> HashMap<usize, usize> {
        self.node
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n, Node::Element(_)))
            .map(|(i, n)| (address(n), i))
            .collect()
    }
}

/// Per-node facts derived from descendants (one reverse pass).
struct Marks {
    /// Ancestors of the main content (`<main>`, `role="main"`, `<h1>`): never treated as
    /// hidden. An open modal (cookie banner) commonly sets `aria-hidden="true"` on the rest of
    /// the page, and anti-flicker snippets hide the body until scripts run, yet that content is
    /// what the page publishes.
    protected: Vec<bool>,
    /// Elements with block-level content. `aria-hidden` drops only elements without (icons,
    /// decorative glyphs); on a block container it usually marks a collapsed accordion panel,
    /// whose text is part of the document.
    has_block: Vec<bool>,
}

impl Marks {
    fn new(flat: &Flat) -> Self {
        let mut protected = vec![false; flat.len()];
        let mut has_block = vec![false; flat.len()];
        // Children come after their parent in pre-order: a reverse pass sees them first.
        for index in (1..flat.len()).rev() {
            let parent = flat.parent[index];
            let (main, block) = match flat.element(index) {
                Some(el) => (is_main_content(el), is_block_level(element_role(el))),
                None => (false, false),
            };
            if protected[index] || main {
                protected[parent] = true;
            }
            if has_block[index] || block {
                has_block[parent] = true;
            }
        }
        Marks {
            protected,
            has_block,
        }
    }

    fn hidden(&self, index: usize, el: &scraper::node::Element) -> bool {
        !self.protected[index] && is_hidden(el, self.has_block[index])
    }
}

/// Where the main content is, and what is page boilerplate (one forward pass).
struct Scan {
    /// Outermost rendered `<main>` / `role="main"` elements, in document order.
    mains: Vec<usize>,
    /// Outermost rendered `<article>` elements.
    articles: Vec<usize>,
    /// Navigation, page-level `<header>` / `<footer>` (and `role="banner"` /
    /// `role="contentinfo"`), `<aside>` outside sectioning content.
    boilerplate: Vec<usize>,
}

impl Scan {
    fn new(flat: &Flat, marks: &Marks) -> Self {
        let mut scan = Scan {
            mains: Vec::new(),
            articles: Vec::new(),
            boilerplate: Vec::new(),
        };
        // Per node: not rendered (dropped or hidden, or inside such an element); inside
        // sectioning content; inside a main or article already found.
        let mut gone = vec![false; flat.len()];
        let mut sectioned = vec![false; flat.len()];
        let mut in_main = vec![false; flat.len()];
        let mut in_article = vec![false; flat.len()];
        for index in 1..flat.len() {
            let parent = flat.parent[index];
            let Some(el) = flat.element(index) else {
                continue;
            };
            let role = element_role(el);
            gone[index] = gone[parent] || role == Role::Drop || marks.hidden(index, el);
            sectioned[index] = sectioned[parent];
            in_main[index] = in_main[parent];
            in_article[index] = in_article[parent];
            if gone[index] {
                continue;
            }
            let html = &*el.name.ns == HTML_NS;
            let name = if html { el.name() } else { "" };
            let aria = |wanted: &str| has_role(el, wanted);
            if is_main_content(el) && name != "h1" && !in_main[index] {
                scan.mains.push(index);
                in_main[index] = true;
            }
            if name == "article" && !in_article[index] {
                scan.articles.push(index);
                in_article[index] = true;
            }
            let page_level = !sectioned[parent];
            if name == "nav"
                || aria("navigation")
                || (page_level
                    && (matches!(name, "header" | "footer" | "aside")
                        || aria("banner")
                        || aria("contentinfo")
                        || aria("complementary")))
            {
                scan.boilerplate.push(index);
            }
            if matches!(
                name,
                "article"
                    | "aside"
                    | "nav"
                    | "section"
                    | "main"
                    | "blockquote"
                    | "details"
                    | "dialog"
                    | "fieldset"
                    | "figure"
                    | "td"
                    | "th"
            ) || aria("main")
            {
                sectioned[index] = true;
            }
        }
        scan
    }
}

/// Renders the subtrees rooted at the nodes flagged in `roots` (outermost ones only, in
/// document order, separated by blank lines), never entering a node flagged in `skip`. Roots
/// inside dropped or hidden elements, or inside a skipped one, are not rendered.
fn walk(flat: &Flat, marks: &Marks, roots: &[bool], skip: &[bool], capacity: usize) -> String {
    let mut walker = Walker::with_capacity(capacity);
    // The root being rendered; before and between roots the walk only searches.
    let mut active: Option<usize> = None;
    // Nodes whose children are being walked, innermost last.
    let mut open: Vec<usize> = Vec::new();
    let mut index = 0;
    let leave = |walker: &mut Walker, active: &mut Option<usize>, closed: usize| {
        if *active == Some(closed) {
            walker.leave(flat.node[closed]);
            walker.block(2);
            *active = None;
        } else if active.is_some() {
            walker.leave(flat.node[closed]);
        }
    };
    while index < flat.len() {
        while let Some(&top) = open.last() {
            if flat.end[top] > index {
                break;
            }
            open.pop();
            leave(&mut walker, &mut active, top);
        }
        let node = flat.node[index];
        let descend = if skip[index] {
            false
        } else if active.is_some() {
            walker.enter(node, marks.protected[index], marks.has_block[index])
        } else if roots[index] {
            active = Some(index);
            let descend = walker.enter(node, marks.protected[index], marks.has_block[index]);
            if !descend {
                active = None;
            }
            descend
        } else {
            // Searching for a root: look inside everything that would be rendered.
            match node {
                Node::Document | Node::Fragment => true,
                Node::Element(el) => element_role(el) != Role::Drop && !marks.hidden(index, el),
                _ => false,
            }
        };
        if descend {
            open.push(index);
            index += 1;
        } else {
            index = flat.end[index];
        }
    }
    while let Some(top) = open.pop() {
        leave(&mut walker, &mut active, top);
    }
    walker.out
}

const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// The first HTML-namespace `<title>` element's text, collapsed; `None` if absent or empty.
fn find_title(document: &Html) -> Option<String> {
    let title = document.tree.root().descendants().find(|node| {
        matches!(node.value(), Node::Element(el) if el.name() == "title" && &*el.name.ns == HTML_NS)
    })?;
    // `<title>` is RCDATA: its children are text nodes only.
    let mut raw = String::new();
    for child in title.children() {
        if let Node::Text(t) = child.value() {
            raw.push_str(t);
        }
    }
    collapse_title(&raw)
}

/// Collapse whitespace (Unicode, including no-break space) to single spaces, trim, NFC.
fn collapse_title(raw: &str) -> Option<String> {
    let mut collapsed = String::with_capacity(raw.len());
    for word in raw.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    if collapsed.is_empty() {
        None
    } else {
        Some(super::nfc(&collapsed).into_owned())
    }
}

/// How an element affects the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Not rendered at all, content included.
    Drop,
    /// Rendered inline.
    Inline,
    /// A block: line breaks (1 = new line, 2 = blank line) before and after.
    Block(u8),
    /// `h1`..`h6`.
    Heading(u8),
    /// `ul`, `ol`, `menu`, `dir`.
    List { ordered: bool },
    /// `li`.
    ListItem,
    /// `pre`, `listing`, `xmp`, `plaintext`.
    Pre,
    /// `br`.
    Break,
    /// `a`, `button`: inline, but directly adjacent ones are separated by a space.
    Link,
}

fn role_of(name: &str) -> Role {
    match name {
        "head" | "script" | "style" | "noscript" | "template" | "svg" | "canvas" | "iframe"
        | "frame" | "frameset" | "noframes" | "object" | "embed" | "audio" | "video" | "map"
        | "input" | "select" | "textarea" | "datalist" | "option" | "optgroup" | "output"
        | "progress" | "meter" | "title" | "meta" | "link" | "base" | "param" | "source"
        | "track" | "img" | "picture" | "area" | "slot" => Role::Drop,
        "p" | "blockquote" | "table" | "tr" | "dl" | "figure" | "hr" | "address" | "details"
        | "fieldset" | "section" | "article" | "main" | "header" | "footer" | "nav" | "aside"
        | "hgroup" | "search" | "dialog" | "body" => Role::Block(2),
        "div" | "dt" | "dd" | "td" | "th" | "caption" | "summary" | "figcaption" | "legend"
        | "center" | "form" | "thead" | "tbody" | "tfoot" | "colgroup" | "html" => Role::Block(1),
        "h1" => Role::Heading(1),
        "h2" => Role::Heading(2),
        "h3" => Role::Heading(3),
        "h4" => Role::Heading(4),
        "h5" => Role::Heading(5),
        "h6" => Role::Heading(6),
        "ul" | "menu" | "dir" => Role::List { ordered: false },
        "ol" => Role::List { ordered: true },
        "li" => Role::ListItem,
        "pre" | "listing" | "xmp" | "plaintext" => Role::Pre,
        "br" => Role::Break,
        "a" | "button" => Role::Link,
        _ => Role::Inline,
    }
}

/// `<main>`, `role="main"` or `<h1>`: the content a page exists for.
fn is_main_content(el: &scraper::node::Element) -> bool {
    if &*el.name.ns != HTML_NS {
        return false;
    }
    matches!(el.name(), "main" | "h1") || has_role(el, "main")
}

/// Whether an HTML element's `role` attribute lists `wanted`.
fn has_role(el: &scraper::node::Element, wanted: &str) -> bool {
    &*el.name.ns == HTML_NS
        && el.attr("role").is_some_and(|r| {
            r.split_ascii_whitespace()
                .any(|t| t.eq_ignore_ascii_case(wanted))
        })
}

/// The role of an element, by namespace and name.
fn element_role(el: &scraper::node::Element) -> Role {
    if el.name() == "svg" {
        // Whatever its namespace, an <svg> is not text.
        Role::Drop
    } else if &*el.name.ns != HTML_NS {
        // MathML and other foreign content: text inline.
        Role::Inline
    } else if el.name() == "template"
        && (el.attr("shadowrootmode").is_some() || el.attr("shadowroot").is_some())
    {
        // Declarative shadow DOM: the template's content is rendered as part of the page.
        Role::Inline
    } else {
        role_of(el.name())
    }
}

/// Whether a role starts a new line.
fn is_block_level(role: Role) -> bool {
    !matches!(role, Role::Drop | Role::Inline | Role::Break | Role::Link)
}

/// Whether an element is hidden by its attributes. `aria-hidden="true"` counts only for an
/// element without block-level content.
fn is_hidden(el: &scraper::node::Element, has_block: bool) -> bool {
    el.attrs().any(|(name, value)| match name {
        "hidden" => !value.trim().eq_ignore_ascii_case("until-found"),
        "aria-hidden" => !has_block && value.trim().eq_ignore_ascii_case("true"),
        "style" => style_hides(value),
        "class" => value
            .split_ascii_whitespace()
            .any(|c| SCREEN_READER_ONLY.iter().any(|s| c.eq_ignore_ascii_case(s))),
        _ => false,
    })
}

/// Class names that conventionally hide an element visually, leaving it to screen readers.
const SCREEN_READER_ONLY: &[&str] = &[
    "sr-only",
    "visually-hidden",
    "visually-hidden-focusable",
    "visuallyhidden",
    "screen-reader-text",
];

/// Whether an inline style has a `display: none` or `visibility: hidden` declaration
/// (`!important` allowed, case-insensitive, any whitespace).
fn style_hides(style: &str) -> bool {
    style.split(';').any(|decl| {
        let Some((prop, value)) = decl.split_once(':') else {
            return false;
        };
        let prop = prop.trim();
        let value = value.trim();
        let value = match value.len().checked_sub("!important".len()) {
            Some(cut)
                if value.is_char_boundary(cut)
                    && value[cut..].eq_ignore_ascii_case("!important") =>
            {
                value[..cut].trim_end()
            }
            _ => value,
        };
        (prop.eq_ignore_ascii_case("display") && value.eq_ignore_ascii_case("none"))
            || (prop.eq_ignore_ascii_case("visibility") && value.eq_ignore_ascii_case("hidden"))
    })
}

/// Deeper lists are indented like this level (bounds the output of hostile nesting).
const MAX_LIST_INDENT: usize = 8;

/// An open list.
struct List {
    ordered: bool,
    next: i64,
}

/// The output builder.
struct Walker {
    out: String,
    /// Line breaks owed before the next text (0, 1 or 2).
    pending_breaks: u8,
    /// A space is owed before the next text on the same line.
    pending_space: bool,
    /// Marker (`- `, `3. `, `## `) owed at the start of the next line of text.
    prefix: String,
    /// Open lists, innermost last.
    lists: Vec<List>,
    /// Open headings.
    heading_depth: usize,
    /// Open `pre`-like elements.
    pre_depth: usize,
    /// A link or button just closed and no text followed yet.
    after_link: bool,
    /// Open elements whose walk was not cut short, innermost last, as roles (so `leave` undoes
    /// exactly what `enter` did).
    stack: Vec<Role>,
}

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0c' | '\r' | '\u{a0}')
}

impl Walker {
    fn with_capacity(capacity: usize) -> Self {
        Walker {
            out: String::with_capacity(capacity),
            pending_breaks: 0,
            pending_space: false,
            prefix: String::new(),
            lists: Vec::new(),
            heading_depth: 0,
            pre_depth: 0,
            after_link: false,
            stack: Vec::new(),
        }
    }

    /// Visit a node on the way down; returns whether to walk its children. A `protected`
    /// element (an ancestor of the main content) is not dropped for being hidden; `has_block`
    /// says whether the element has block-level content.
    fn enter(&mut self, node: &Node, protected: bool, has_block: bool) -> bool {
        match node {
            Node::Document | Node::Fragment => true,
            Node::Text(text) => {
                if self.pre_depth > 0 {
                    self.pre_text(text);
                } else {
                    self.inline_text(text);
                }
                false
            }
            Node::Element(el) => {
                let role = element_role(el);
                if role == Role::Drop || (!protected && is_hidden(el, has_block)) {
                    return false;
                }
                self.open(role, el);
                self.stack.push(role);
                true
            }
            Node::Doctype(_) | Node::Comment(_) | Node::ProcessingInstruction(_) => false,
        }
    }

    /// Leave a node whose children were walked.
    fn leave(&mut self, node: &Node) {
        if let Node::Element(_) = node
            && let Some(role) = self.stack.pop()
        {
            self.close(role);
        }
    }

    fn open(&mut self, role: Role, el: &scraper::node::Element) {
        match role {
            Role::Drop | Role::Inline => {}
            Role::Link => {
                if self.after_link {
                    self.pending_space = true;
                }
            }
            Role::Block(n) => self.block(n),
            Role::Heading(level) => {
                self.block(2);
                if self.heading_depth == 0 {
                    for _ in 0..level {
                        self.prefix.push('#');
                    }
                    self.prefix.push(' ');
                }
                self.heading_depth += 1;
            }
            Role::List { ordered } => {
                self.block(if self.lists.is_empty() { 2 } else { 1 });
                let start = if ordered {
                    el.attr("start")
                        .and_then(|s| s.trim().parse::<i64>().ok())
                        .unwrap_or(1)
                } else {
                    1
                };
                self.lists.push(List {
                    ordered,
                    next: start,
                });
            }
            Role::ListItem => {
                self.block(1);
                if self.heading_depth == 0 {
                    // An item that contained no text before this one loses its marker.
                    self.prefix.clear();
                    let depth = self.lists.len().saturating_sub(1).min(MAX_LIST_INDENT);
                    for _ in 0..depth {
                        self.prefix.push_str("  ");
                    }
                    match self.lists.last_mut() {
                        Some(list) if list.ordered => {
                            self.prefix.push_str(&list.next.to_string());
                            self.prefix.push_str(". ");
                            list.next = list.next.saturating_add(1);
                        }
                        _ => self.prefix.push_str("- "),
                    }
                }
            }
            Role::Pre => {
                self.block(2);
                self.pre_depth += 1;
            }
            Role::Break => {
                if self.heading_depth > 0 {
                    self.pending_space = true;
                } else if !self.out.is_empty() {
                    self.pending_breaks = (self.pending_breaks + 1).min(2);
                }
            }
        }
    }

    fn close(&mut self, role: Role) {
        match role {
            Role::Drop | Role::Inline | Role::Break => {}
            Role::Link => self.after_link = true,
            Role::Block(n) => self.block(n),
            Role::Heading(_) => {
                self.heading_depth = self.heading_depth.saturating_sub(1);
                if self.heading_depth == 0 {
                    // A heading without text must not lend its marker to the next line.
                    self.prefix.clear();
                }
                self.block(2);
            }
            Role::List { .. } => {
                self.lists.pop();
                self.block(if self.lists.is_empty() { 2 } else { 1 });
            }
            Role::ListItem => {
                if self.heading_depth == 0 {
                    self.prefix.clear();
                }
                self.block(1);
            }
            Role::Pre => {
                self.pre_depth = self.pre_depth.saturating_sub(1);
                self.block(2);
            }
        }
    }

    /// Owe `n` line breaks (a blank line for 2); inside a heading, a space instead.
    fn block(&mut self, n: u8) {
        if self.heading_depth > 0 {
            self.pending_space = true;
        } else {
            self.pending_breaks = self.pending_breaks.max(n);
        }
    }

    /// Pay owed line breaks.
    fn pay_breaks(&mut self) {
        if self.pending_breaks > 0 {
            if !self.out.is_empty() {
                let have = self
                    .out
                    .bytes()
                    .rev()
                    .take(2)
                    .take_while(|&b| b == b'\n')
                    .count();
                for _ in have..usize::from(self.pending_breaks) {
                    self.out.push('\n');
                }
            }
            self.pending_breaks = 0;
        }
    }

    /// Before text: pay owed line breaks and the line prefix, or an owed space.
    fn flush(&mut self) {
        self.pay_breaks();
        if self.out.is_empty() || self.out.ends_with('\n') {
            self.out.push_str(&self.prefix);
            self.prefix.clear();
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.after_link = false;
    }

    fn inline_text(&mut self, text: &str) {
        let mut first = true;
        for word in text.split(is_html_space) {
            if !first {
                self.pending_space = true;
            }
            first = false;
            if !word.is_empty() {
                self.flush();
                self.out.push_str(word);
            }
        }
    }

    fn pre_text(&mut self, text: &str) {
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                // Pay owed breaks first so this line break lands after them.
                self.pay_breaks();
                self.out.push('\n');
                self.pending_space = false;
            }
            if !line.is_empty() {
                self.flush();
                for (j, part) in line.split('\u{a0}').enumerate() {
                    if j > 0 {
                        self.out.push(' ');
                    }
                    self.out.push_str(part);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        super::super::normalize_text(&render(html, &ExtractionRules::default()).text)
    }

    #[test]
    fn style_parsing() {
        assert!(style_hides("display:none"));
        assert!(style_hides("color: red; DISPLAY : None ; "));
        assert!(style_hides("visibility:hidden !important"));
        assert!(style_hides("display: none!important"));
        assert!(!style_hides("display:block"));
        assert!(!style_hides("visibility: visible"));
        assert!(!style_hides("font-family: 'display:none'x"));
        assert!(!style_hides("é:é;;:"));
    }

    #[test]
    fn inline_and_blocks() {
        assert_eq!(text("<p>a <b>b</b>c</p><p>d</p>"), "a bc\n\nd\n");
        assert_eq!(text("<div>a</div><div>b</div>"), "a\nb\n");
        assert_eq!(text("a<br>b<br><br>c"), "a\nb\n\nc\n");
        assert_eq!(text("<h2>T<br>x</h2>y"), "## T x\n\ny\n");
        assert_eq!(text("<h1></h1><p>x</p>"), "x\n");
        assert_eq!(text("<ul><li></li><li>b</li></ul>"), "- b\n");
    }

    #[test]
    fn nested_lists() {
        assert_eq!(
            text("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>"),
            "- a\n  - b\n- c\n"
        );
        assert_eq!(
            text("<ol start=3><li>a</li><li><p>b</p></li></ol>"),
            "3. a\n\n4. b\n"
        );
    }

    #[test]
    fn flat_tree_ranges_and_parents() {
        let document = Html::parse_document("<p>a<b>b</b></p><div><i>c</i>d</div>");
        let flat = Flat::new(&document);
        assert!(matches!(flat.node[0], Node::Document));
        assert_eq!(flat.end[0], flat.len());
        let mut count = 0;
        for node in document.tree.root().descendants() {
            // Pre-order, as ego_tree's descendants.
            assert!(std::ptr::eq(node.value(), flat.node[count]));
            count += 1;
        }
        assert_eq!(count, flat.len());
        for i in 1..flat.len() {
            let p = flat.parent[i];
            assert!(p < i && i < flat.end[p] && flat.end[i] <= flat.end[p]);
        }
    }

    #[test]
    fn title_is_html_only() {
        let r = render(
            "<svg><title>icon</title></svg><p>x",
            &ExtractionRules::default(),
        );
        assert_eq!(r.title, None);
        let r = render("<title> A \n  B </title>", &ExtractionRules::default());
        assert_eq!(r.title.as_deref(), Some("A B"));
    }
}
