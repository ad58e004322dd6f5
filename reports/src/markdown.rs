//! `report.md`: fits a pull-request comment.

use crate::document::{Block, Table, build};
use statebench_suites::results::Results;

/// What a pull-request comment holds at most (GitHub refuses longer ones).
pub const LIMIT: usize = 60_000;

/// The report as Markdown, under [`LIMIT`] characters: long lists and tables are cut, with
/// a note of what was left out, until it fits.
pub fn render(results: &Results) -> String {
    fit(&build(results))
}

/// `blocks` as Markdown under [`LIMIT`] characters.
fn fit(blocks: &[Block]) -> String {
    for (items, rows) in [(usize::MAX, usize::MAX), (30, 60), (10, 20), (3, 8), (0, 0)] {
        let text = render_blocks(&trimmed(blocks, items, rows));
        if text.len() < LIMIT {
            return text;
        }
    }
    // Even with every folded section emptied it does not fit: cut it, and say so.
    let text = render_blocks(&trimmed(blocks, 0, 0));
    let mut end = LIMIT - 200;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n\n… cut to fit a pull-request comment; the whole report is in index.html and \
         results.json.\n",
        &text[..end]
    )
}

/// `blocks` with lists cut to `items` and tables to `rows` (0 empties folded sections).
fn trimmed(blocks: &[Block], items: usize, rows: usize) -> Vec<Block> {
    let more = |n: usize| format!("… and {n} more: see index.html or results.json");
    blocks
        .iter()
        .map(|block| match block {
            Block::List(list) if list.len() > items.max(1) => {
                let keep = items.max(1);
                let mut cut: Vec<String> = list[..keep].to_vec();
                cut.push(more(list.len() - keep));
                Block::List(cut)
            }
            Block::Table(table) if table.rows.len() > rows.max(4) => {
                let keep = rows.max(4);
                let mut cut = table.clone();
                cut.rows.truncate(keep);
                let mut note = vec![String::new(); table.headers.len()];
                note[0] = more(table.rows.len() - keep);
                cut.rows.push(note);
                Block::Table(cut)
            }
            Block::Details(summary, _) if items == 0 => Block::Details(
                summary.clone(),
                vec![Block::Paragraph("Left out to fit: see index.html.".into())],
            ),
            Block::Details(summary, inner) => {
                Block::Details(summary.clone(), trimmed(inner, items, rows))
            }
            other => other.clone(),
        })
        .collect()
}

fn render_blocks(blocks: &[Block]) -> String {
    let mut out = String::new();
    blocks_md(blocks, &mut out);
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn blocks_md(blocks: &[Block], out: &mut String) {
    let mut charts: Vec<&str> = Vec::new();
    for block in blocks {
        if let Block::Chart(chart) = block {
            charts.push(&chart.title);
            continue;
        }
        charts_md(&mut charts, out);
        match block {
            Block::Heading(level, text) => {
                *out += &format!("{} {text}\n\n", "#".repeat(usize::from(*level)));
            }
            Block::Paragraph(text) => *out += &format!("{text}\n\n"),
            Block::Alert(text) => *out += &format!("> [!CAUTION]\n> **{text}**\n\n"),
            Block::Warning(text, items) => {
                *out += &format!("> [!WARNING]\n> {text}\n");
                for item in items {
                    *out += &format!("> - {item}\n");
                }
                out.push('\n');
            }
            Block::List(items) => {
                for item in items {
                    *out += &format!("- {item}\n");
                }
                out.push('\n');
            }
            Block::Details(summary, inner) => {
                *out += &format!(
                    "<details><summary>{}</summary>\n\n",
                    summary.replace('<', "&lt;")
                );
                blocks_md(inner, out);
                *out += "</details>\n\n";
            }
            Block::Chart(_) => {}
            Block::Table(table) => table_md(table, out),
        }
    }
    charts_md(&mut charts, out);
}

/// Charts cannot travel in a comment: their titles, and where to see them.
fn charts_md(charts: &mut Vec<&str>, out: &mut String) {
    if !charts.is_empty() {
        *out += &format!("In index.html: {}.\n\n", charts.join("; "));
        charts.clear();
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn table_md(table: &Table, out: &mut String) {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    *out += &row(&table.headers);
    let rules: Vec<String> = table
        .numeric
        .iter()
        .map(|n| if *n { "---:" } else { "---" }.to_owned())
        .collect();
    *out += &format!("|{}|\n", rules.join("|"));
    for r in &table.rows {
        *out += &row(r);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big() -> Vec<Block> {
        let mut table = Table::new(&[("subject", false), ("ops", true)]);
        for i in 0..3_000 {
            table.rows.push(vec![format!("subject-{i}"), i.to_string()]);
        }
        vec![
            Block::Heading(1, "statebench: big".into()),
            Block::Paragraph("The answer first.".into()),
            Block::Table(table),
            Block::Details(
                "Evidence".into(),
                vec![Block::List(
                    (0..5_000)
                        .map(|i| format!("finding number {i}, with words"))
                        .collect(),
                )],
            ),
        ]
    }

    #[test]
    fn a_report_too_long_for_a_comment_is_cut_with_a_note_and_keeps_its_start() {
        let whole = render_blocks(&big());
        assert!(whole.len() > LIMIT, "the test needs an oversized report");
        let cut = fit(&big());
        assert!(cut.len() < LIMIT, "{} characters", cut.len());
        assert!(cut.starts_with("# statebench: big\n\nThe answer first."));
        assert!(cut.contains("… and 2940 more: see index.html or results.json"));
        assert!(cut.contains("<details><summary>Evidence</summary>"));
    }

    #[test]
    fn a_report_that_fits_is_left_whole() {
        let small = vec![
            Block::Heading(1, "t".into()),
            Block::List((0..50).map(|i| i.to_string()).collect()),
        ];
        assert_eq!(fit(&small), render_blocks(&small));
    }
}
