//! A pattern's prose, from Markdown to HTML, on the server (no script runs on the
//! page). The text is the repository's own (`docs/patterns/*.md`), so its HTML —
//! the figure placeholders' comments — passes through.

use pulldown_cmark::{Options, Parser, html};

/// `markdown` as HTML blocks: paragraphs, lists, code.
pub fn html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    out
}

/// A line of `markdown` as inline HTML: its code spans, emphasis and links, without
/// the paragraph around them.
pub fn inline(markdown: &str) -> String {
    let block = html(markdown);
    let inner = block
        .trim_end()
        .strip_prefix("<p>")
        .and_then(|b| b.strip_suffix("</p>"));
    inner.map_or(block.clone(), str::to_owned)
}

/// The first paragraph of `markdown`, inline.
pub fn first_paragraph(markdown: &str) -> String {
    inline(markdown.split("\n\n").next().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code_and_html_is_escaped_in_them() {
        assert_eq!(
            inline("one `IN (…)` query, `a<b`"),
            "one <code>IN (…)</code> query, <code>a&lt;b</code>"
        );
        assert_eq!(first_paragraph("First.\n\nSecond."), "First.");
        assert!(html("- a\n- b").contains("<li>a</li>"));
    }
}
