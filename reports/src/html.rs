//! `index.html`: one self-contained page that works offline.

use crate::document::{Block, Table, build};
use statebench_suites::results::Results;

/// Readable from 800 px to 1920 px: text in a measure, wide tables scrolling inside their
/// own box, numbers never split from their units, charts scaled to the width; and on paper.
const STYLE: &str = "*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;\
max-width:84rem;margin:1.5rem auto;padding:0 1rem;color:#1b1f24}\
h1{font-size:1.6rem;margin:.2rem 0 .8rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}\
p,li{max-width:60rem}.scroll{overflow-x:auto;margin:.5rem 0 1.5rem;max-width:100%}\
table{border-collapse:collapse;font-variant-numeric:tabular-nums}\
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;vertical-align:top}\
th{background:#f6f8fa;text-align:left;white-space:nowrap}td.n{text-align:right;white-space:nowrap}\
tr:nth-child(even) td{background:#fafbfc}\
.warning{border-left:4px solid #d29922;background:#fff8c5;padding:.5rem 1rem;margin:1rem 0}\
.warning ul{margin:.3rem 0 0}.warning p{margin:0;font-weight:600}\
.alert{border:2px solid #cf222e;background:#ffebe9;color:#82071e;padding:.75rem 1rem;\
font-weight:600;font-size:1.05rem;margin:1rem 0}\
code{background:#eff1f3;padding:0 .2rem;border-radius:3px}\
td.fail{background:#ffebe9!important;color:#82071e;font-weight:700}\
td.pass{background:#dafbe1!important}td.unknown{background:#fff1c2!important}\
td.seen{background:#f3e8ff!important}\
.fail{color:#82071e;font-weight:700}nav{margin:.5rem 0;font-size:.95rem}\
figure{margin:1rem 0 2rem;max-width:60rem}figure svg{width:100%;height:auto;display:block}\
figcaption{font-size:.9rem;color:#57606a;margin-top:.3rem}\
details{margin:.2rem 0}summary{cursor:pointer}details>:not(summary){margin-left:1rem}\
@media (max-width:900px){body{font-size:14px;margin:.8rem auto}}\
@media print{body{max-width:none;margin:0;font-size:11px}.scroll{overflow:visible}\
details>*{display:block}figure,table,.alert,.warning{break-inside:avoid}\
a{color:inherit;text-decoration:none}}";

/// The report as one HTML page.
pub fn render(results: &Results) -> String {
    render_with(results, "")
}

/// The report as one HTML page, with `top` (HTML, written as is) first in its body: a
/// published site's links back to its index.
pub fn render_with(results: &Results, top: &str) -> String {
    let blocks = build(results);
    let title = blocks.iter().find_map(|b| match b {
        Block::Heading(1, t) => Some(t.clone()),
        _ => None,
    });
    let mut body = top.to_owned();
    blocks_html(&blocks, &mut body);
    page(title.as_deref().unwrap_or("statebench"), &body)
}

/// A self-contained page in the reports' style: `title` is text, `body` is HTML written as
/// is.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

fn blocks_html(blocks: &[Block], out: &mut String) {
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                *out += &format!("<h{level}>{}</h{level}>\n", inline(text));
            }
            Block::Paragraph(text) => *out += &format!("<p>{}</p>\n", inline(text)),
            Block::Alert(text) => {
                *out += &format!(
                    "<div class=\"alert\" role=\"alert\">{}</div>\n",
                    inline(text)
                )
            }
            Block::Warning(text, items) => {
                *out += &format!("<div class=\"warning\">\n<p>{}</p>\n", inline(text));
                list_html(items, out);
                *out += "</div>\n";
            }
            Block::List(items) => list_html(items, out),
            Block::Details(summary, inner) => {
                *out += &format!("<details>\n<summary>{}</summary>\n", inline(summary));
                blocks_html(inner, out);
                *out += "</details>\n";
            }
            Block::Chart(chart) => {
                *out += &format!(
                    "<figure>\n<h3>{}</h3>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
                    inline(&chart.title),
                    labelled(&chart.svg, &chart.title),
                    inline(&chart.caption)
                );
            }
            Block::Table(table) => table_html(table, out),
        }
    }
}

/// The chart's title as its accessible name.
fn labelled(svg: &str, title: &str) -> String {
    svg.replacen(
        "<svg role=\"img\"",
        &format!("<svg role=\"img\" aria-label=\"{}\"", escape(title)),
        1,
    )
}

fn list_html(items: &[String], out: &mut String) {
    if items.is_empty() {
        return;
    }
    *out += "<ul>\n";
    for item in items {
        *out += &format!("<li>{}</li>\n", inline(item));
    }
    *out += "</ul>\n";
}

/// Text made safe in HTML text and attribute values.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes text and turns `code spans` into `<code>`.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        let part = escape(part);
        if i % 2 == 1 {
            out += &format!("<code>{part}</code>")
        } else {
            out += &part
        }
    }
    out
}

fn table_html(table: &Table, out: &mut String) {
    *out += "<div class=\"scroll\"><table>\n<thead><tr>";
    for h in &table.headers {
        *out += &format!("<th>{}</th>", escape(h));
    }
    *out += "</tr></thead>\n<tbody>\n";
    for row in &table.rows {
        *out += "<tr>";
        for (cell, numeric) in row.iter().zip(&table.numeric) {
            // A broken promise must be impossible to miss; a property seen broken but not
            // promised is marked more quietly.
            let class = if cell.contains("FAIL") || cell.contains("DISPROVED") {
                " class=\"fail\""
            } else if cell.contains("not promised") {
                " class=\"seen\""
            } else if cell.starts_with("undecided") || cell == "unknown" {
                " class=\"unknown\""
            } else if cell == "pass" || cell.starts_with("pass (") || cell.starts_with("valid") {
                " class=\"pass\""
            } else if *numeric {
                " class=\"n\""
            } else {
                ""
            };
            *out += &format!("<td{class}>{}</td>", inline(cell));
        }
        *out += "</tr>\n";
    }
    *out += "</tbody>\n</table></div>\n";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_code_spans_are_marked() {
        assert_eq!(
            inline("a <b> & `c<d>` e"),
            "a &lt;b&gt; &amp; <code>c&lt;d&gt;</code> e"
        );
    }
}
