//! Rendering a [`Document`] as one self-contained HTML file: inline CSS, images as `data:`
//! URIs, no script, and a Content-Security-Policy that forbids fetching anything, so opening
//! it makes no request. Every string is escaped; the facts travel in a hidden `<pre>` block.

use std::fmt::Write as _;

use base64::Engine;

use crate::ReportError;
use crate::doc::{Block, Document, Line, Mark, Span, Style};

/// The id of the element that carries the facts.
const FACTS_ID: &str = "exhibit-report-facts";

const STYLE: &str = "
body{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:11pt;line-height:1.45;max-width:50em;margin:2em auto;padding:0 1em;color:#111}
h1{font-size:1.6em;border-bottom:2px solid #333;padding-bottom:.2em;margin-top:2.5em}
h2{font-size:1.2em;margin-top:1.8em}h3{font-size:1em}
code,pre{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.85em}
code{overflow-wrap:anywhere}
table.fields{border-collapse:collapse;width:100%;margin:.6em 0}
table.fields th{text-align:left;vertical-align:top;width:11em;padding:.2em .8em .2em 0;color:#444;font-weight:bold}
table.fields td{vertical-align:top;padding:.2em 0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.6em;border:1px solid #ddd}
pre .add{background:#dfd;display:block}pre .del{background:#fdd;display:block}pre .gap{color:#777;font-style:italic;display:block}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #999}figcaption{font-size:.85em;color:#444;overflow-wrap:anywhere}
p.blank{margin:2em 0 .5em}p.blank span{display:inline-block;width:60%;border-bottom:1px solid #000;margin-left:.5em}
header{font-size:.85em;color:#555;border-bottom:1px solid #ccc}
@media print{h1{break-before:page}h1:first-of-type{break-before:auto}body{margin:0;max-width:none}}
";

/// Writes `doc` as HTML.
pub fn render(doc: &Document) -> Vec<u8> {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>{} · {}</header>\n<main>\n<h1>{}</h1>\n",
        esc(&doc.title),
        esc(&doc.report_id),
        esc(&doc.title),
        esc(&doc.report_id),
        esc(&doc.title),
    );
    for block in &doc.blocks {
        block_html(&mut s, block);
    }
    let _ = write!(
        s,
        "</main>\n<pre hidden id=\"{FACTS_ID}\" data-name=\"{}\" data-type=\"{}\">{}</pre>\n</body>\n</html>\n",
        esc(&doc.attachment.name),
        esc(&doc.attachment.media_type),
        esc(&String::from_utf8_lossy(&doc.attachment.bytes)),
    );
    s.into_bytes()
}

fn block_html(s: &mut String, block: &Block) {
    match block {
        Block::Heading { level, text } => {
            let l = (*level).clamp(1, 3);
            let _ = writeln!(s, "<h{l}>{}</h{l}>", esc(text));
        }
        Block::Paragraph(spans) => {
            let _ = writeln!(s, "<p>{}</p>", spans_html(spans));
        }
        Block::Fields(fields) => {
            s.push_str("<table class=\"fields\">\n");
            for f in fields {
                let _ = writeln!(
                    s,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(&f.label),
                    spans_html(&f.value)
                );
            }
            s.push_str("</table>\n");
        }
        Block::List(items) => {
            s.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(s, "<li>{}</li>", spans_html(item));
            }
            s.push_str("</ul>\n");
        }
        Block::Preformatted(lines) => {
            s.push_str("<pre>");
            for line in lines {
                line_html(s, line);
            }
            s.push_str("</pre>\n");
        }
        Block::Image {
            png,
            width,
            height,
            caption,
        } => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(png);
            let _ = writeln!(
                s,
                "<figure><img src=\"data:image/png;base64,{b64}\" width=\"{width}\" height=\"{height}\" alt=\"{}\" style=\"height:auto\"><figcaption>{}</figcaption></figure>",
                esc(caption),
                esc(caption)
            );
        }
        Block::Blank(label) => {
            let _ = writeln!(s, "<p class=\"blank\">{}:<span></span></p>", esc(label));
        }
    }
}

fn line_html(s: &mut String, line: &Line) {
    match line.mark {
        Mark::Plain => {
            s.push_str(&esc(&line.text));
            s.push('\n');
        }
        Mark::Added => {
            let _ = write!(s, "<span class=\"add\">+ {}</span>", esc(&line.text));
        }
        Mark::Removed => {
            let _ = write!(s, "<span class=\"del\">- {}</span>", esc(&line.text));
        }
        Mark::Elided => {
            let _ = write!(s, "<span class=\"gap\">{}</span>", esc(&line.text));
        }
    }
}

fn spans_html(spans: &[Span]) -> String {
    let mut s = String::new();
    for span in spans {
        match span.style {
            Style::Regular => s.push_str(&esc(&span.text)),
            Style::Bold => {
                let _ = write!(s, "<strong>{}</strong>", esc(&span.text));
            }
            Style::Mono => {
                let _ = write!(s, "<code>{}</code>", esc(&span.text));
            }
        }
    }
    s
}

/// Escapes text for HTML element content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The facts a report's HTML carries (the bytes of its hidden facts block), as written.
pub fn embedded_facts(html: &[u8]) -> Result<Vec<u8>, ReportError> {
    let text = std::str::from_utf8(html)
        .map_err(|_| ReportError::Embedded("the HTML report is not UTF-8".into()))?;
    let open = format!("<pre hidden id=\"{FACTS_ID}\"");
    let start = text
        .find(&open)
        .and_then(|i| text[i..].find('>').map(|j| i + j + 1))
        .ok_or_else(|| ReportError::Embedded("the HTML report carries no facts block".into()))?;
    let end = text[start..]
        .find("</pre>")
        .map(|j| start + j)
        .ok_or_else(|| {
            ReportError::Embedded("the HTML report's facts block is not closed".into())
        })?;
    Ok(text[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Attachment, Field};

    fn doc_with(hostile: &str) -> Document {
        Document {
            title: hostile.to_owned(),
            report_id: "R-1".into(),
            generated_unix: 0,
            attachment: Attachment {
                name: "exhibit-report.json".into(),
                media_type: "application/json".into(),
                description: String::new(),
                bytes: format!("{{\"title\":\"{hostile}\"}}").into_bytes(),
            },
            blocks: vec![
                Block::Paragraph(vec![Span::regular(hostile)]),
                Block::Fields(vec![Field::mono(hostile, hostile)]),
                Block::Preformatted(vec![Line {
                    text: hostile.to_owned(),
                    mark: Mark::Added,
                }]),
                Block::Blank(hostile.to_owned()),
            ],
        }
    }

    #[test]
    fn markup_from_a_capture_stays_text_and_the_facts_come_back_exactly() {
        let hostile =
            "</pre><script>alert('x')</script><img src=https://evil.example/ onerror=x>&amp;\"";
        let html = String::from_utf8(render(&doc_with(hostile))).unwrap();
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("<img src=https"), "{html}");
        assert_eq!(
            lower.matches("</pre>").count(),
            2,
            "one block, one facts element: {html}"
        );
        let facts = embedded_facts(html.as_bytes()).unwrap();
        assert_eq!(facts, format!("{{\"title\":\"{hostile}\"}}").into_bytes());
    }

    #[test]
    fn a_page_without_facts_is_an_error_naming_it() {
        let e = embedded_facts(b"<html><body>no facts</body></html>").unwrap_err();
        assert!(e.to_string().contains("no facts block"), "{e}");
        assert!(embedded_facts(&[0xff, 0xfe]).is_err());
    }
}
