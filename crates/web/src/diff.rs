//! `/diff?from=V&to=V`: what changed between two versions' extracted texts, inline or side by
//! side, by words or by lines. The texts are the signed versions' (checked against the opening
//! captures' manifests), compared by `exhibit_ops::measure`, the code behind `exhibit diff`.

use exhibit_http::Response;
use exhibit_ops::measure::{Hunk, HunkOptions, PieceTag, compare};
use maud::{Markup, html};

use crate::format::{record_link, time};
use crate::route::{DiffQuery, DiffUnit, DiffView};
use crate::{Ctx, PageError, page};

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The diff page.
pub fn page(ctx: &Ctx, q: &DiffQuery) -> Result<Response, PageError> {
    let a = &ctx.archive;
    let old = a.version(q.from.number())?;
    let new = a.version(q.to.number())?;
    if old.document_id != new.document_id {
        return Err(PageError::bad_request(format!(
            "{} and {} are versions of different documents ({} and {})",
            q.from, q.to, old.document_id, new.document_id
        )));
    }
    let text = |v| -> Result<Result<String, String>, PageError> {
        Ok(
            exhibit_ops::history::version_text(a, v, &ctx.keys)?.map_err(|n| {
                format!(
                    "{} has no extracted text ({}): only its content hash tells it apart",
                    n.version,
                    n.media_type.as_deref().unwrap_or("unknown media type")
                )
            }),
        )
    };
    let (old_text, new_text) = (text(&old)?, text(&new)?);
    let document = a.document_summary(&old.document_id)?.document;
    let link = |view: DiffView, unit: DiffUnit| {
        format!(
            "/diff?from={}&to={}&view={}&unit={}",
            q.from,
            q.to,
            if view == DiffView::Side {
                "side"
            } else {
                "inline"
            },
            if unit == DiffUnit::Lines {
                "lines"
            } else {
                "words"
            }
        )
    };
    let body = match (&old_text, &new_text) {
        (Ok(o), Ok(n)) => {
            let c = compare(
                o,
                n,
                Some(HunkOptions {
                    context: CONTEXT,
                    words: q.unit == DiffUnit::Words,
                }),
            );
            let hunks = c.hunks.unwrap_or_default();
            html! {
                p.summary {
                    span.added { "+" (c.size.words_added) " words" } " "
                    span.removed { "−" (c.size.words_removed) " words" } " "
                    "(" (c.size.lines_added) " lines added, " (c.size.lines_removed) " removed)"
                }
                @if hunks.is_empty() { p.empty { "The two texts are the same." } }
                (render(&hunks, q.view, q.unit))
            }
        }
        (o, n) => html! {
            @for why in [o.as_ref().err(), n.as_ref().err()].into_iter().flatten() {
                p.note { (why) }
            }
        },
    };
    let title = format!("{} → {}", q.from, q.to);
    let body = html! {
        dl.facts {
            dt { "Document" } dd { a href={ "/documents/" (document.id) } { (document.title.as_deref().unwrap_or(&document.url)) } }
            dt { "From" } dd { (record_link(&q.from)) ", first seen " (time(&old.first_seen)) }
            dt { "To" } dd { (record_link(&q.to)) ", first seen " (time(&new.first_seen)) }
        }
        nav.views {
            a class=(on(q.view == DiffView::Inline)) href=(link(DiffView::Inline, q.unit)) { "Inline" }
            a class=(on(q.view == DiffView::Side)) href=(link(DiffView::Side, q.unit)) { "Side by side" }
            " · "
            a class=(on(q.unit == DiffUnit::Words)) href=(link(q.view, DiffUnit::Words)) { "Words" }
            a class=(on(q.unit == DiffUnit::Lines)) href=(link(q.view, DiffUnit::Lines)) { "Lines" }
        }
        (body)
    };
    Ok(page::page(&ctx.origin, &title, body))
}

fn on(yes: bool) -> &'static str {
    if yes { "on" } else { "" }
}

/// The hunks as the view and unit ask.
fn render(hunks: &[Hunk], view: DiffView, unit: DiffUnit) -> Markup {
    let class = if view == DiffView::Side {
        "side"
    } else {
        "inline"
    };
    html! {
        div #diff class=(class) {
            @for h in hunks {
                section.hunk {
                    h3.where { "Lines " (h.old.0) "–" (h.old.0 + h.old.1.saturating_sub(1)) " → " (h.new.0) "–" (h.new.0 + h.new.1.saturating_sub(1)) }
                    @match (view, unit, &h.words) {
                        (DiffView::Inline, DiffUnit::Words, Some(words)) => pre { (pieces(words, true, true)) },
                        (DiffView::Side, DiffUnit::Words, Some(words)) => div.columns {
                            pre.old { (pieces(words, true, false)) }
                            pre.new { (pieces(words, false, true)) }
                        },
                        (DiffView::Side, _, _) => div.columns {
                            pre.old { (lines(h, true, false)) }
                            pre.new { (lines(h, false, true)) }
                        },
                        _ => pre { (lines(h, true, true)) },
                    }
                }
            }
        }
    }
}

/// Word pieces: equal text, removals in `<del>` (when `old`), additions in `<ins>` (when
/// `new`).
fn pieces(words: &[(PieceTag, String)], old: bool, new: bool) -> Markup {
    html! {
        @for (tag, text) in words {
            @match tag {
                PieceTag::Equal => (text),
                PieceTag::Delete => @if old { del { (text) } },
                PieceTag::Insert => @if new { ins { (text) } },
            }
        }
    }
}

/// Whole lines, likewise.
fn lines(h: &Hunk, old: bool, new: bool) -> Markup {
    html! {
        @for l in &h.lines {
            @match l.tag {
                PieceTag::Equal => { (l.text) "\n" },
                PieceTag::Delete => @if old { del { (l.text) "\n" } },
                PieceTag::Insert => @if new { ins { (l.text) "\n" } },
            }
        }
    }
}
