//! A pattern's prose, from Markdown to HTML, on the server (no script runs on the
//! page). The text is the repository's own (`docs/patterns/*.md`), so its HTML —
//! the figure placeholders' comments — passes through.
//!
//! Its links are written for the repository (`eager-loading.md`,
//! `../../src/views/batch.rs`); on the lab they lead to the lab's own pages — another
//! pattern's lab page, a source file the lab shows — and a link to anything the lab does
//! not serve (the other docs, the tests) is left as its text rather than sent to a 404.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// `markdown` as HTML blocks: paragraphs, lists, code.
pub fn html(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    let mut unlinked = Vec::new();
    let events =
        Parser::new_ext(markdown, Options::ENABLE_TABLES).filter_map(|event| match event {
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let on_the_lab = lab_href(&dest_url);
                unlinked.push(on_the_lab.is_none());
                on_the_lab.map(|dest_url| {
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url: CowStr::from(dest_url),
                        title,
                        id,
                    })
                })
            }
            Event::End(TagEnd::Link) => {
                (!unlinked.pop().unwrap_or(false)).then_some(Event::End(TagEnd::Link))
            }
            other => Some(other),
        });
    html::push_html(&mut out, events);
    out
}

/// Where a link of the repository's docs leads on the lab, if the lab serves it.
fn lab_href(dest: &str) -> Option<String> {
    if dest.starts_with("http://") || dest.starts_with("https://") || dest.starts_with('#') {
        return Some(dest.to_owned());
    }
    let (path, fragment) = dest.split_once('#').map_or((dest, ""), |(p, f)| (p, f));
    let fragment = if fragment.is_empty() {
        String::new()
    } else {
        format!("#{fragment}")
    };
    if let Some(slug) = path.strip_suffix(".md")
        && !slug.contains('/')
    {
        return super::catalog()
            .find(slug)
            .map(|pattern| format!("/lab/{}{fragment}", pattern.slug));
    }
    let file = path.strip_prefix("../../")?;
    super::source_view::shown(file).map(|(file, _)| format!("/lab/source/{file}{fragment}"))
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

    #[test]
    fn links_lead_to_the_labs_own_pages_or_are_left_as_text() {
        assert_eq!(
            inline("[eager loading](eager-loading.md#the-setup)"),
            "<a href=\"/lab/eager-loading#the-setup\">eager loading</a>"
        );
        assert_eq!(
            inline("[`authors_of`](../../src/views/batch.rs)"),
            "<a href=\"/lab/source/src/views/batch.rs\"><code>authors_of</code></a>"
        );
        assert_eq!(inline("[measured](../measurement-log.md#x)"), "measured");
        assert_eq!(inline("[tests](../../tests/api/exists.rs)"), "tests");
        assert_eq!(inline("[no pattern](no-such-pattern.md)"), "no pattern");
        assert_eq!(
            inline("[Django](https://docs.djangoproject.com/)"),
            "<a href=\"https://docs.djangoproject.com/\">Django</a>"
        );
    }
}
