//! Rust source highlighted on the server (syntect), as `<span class="hl-…">`s the
//! stylesheet colours: no script runs in the browser (the CSP forbids any), and no
//! inline style is needed (the CSP forbids those too).

use std::sync::LazyLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// syntect's bundled grammars, loaded once, on first use.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// `source` as HTML: escaped, with its tokens in classed spans. Falls back to the
/// escaped text if the grammar cannot parse a line.
pub fn rust(source: &str) -> String {
    highlighted(source).unwrap_or_else(|| escaped(source))
}

fn highlighted(source: &str) -> Option<String> {
    let syntaxes = &*SYNTAXES;
    let rust = syntaxes.find_syntax_by_extension("rs")?;
    let mut html = ClassedHTMLGenerator::new_with_class_style(
        rust,
        syntaxes,
        ClassStyle::SpacedPrefixed { prefix: "hl-" },
    );
    for line in LinesWithEndings::from(source) {
        html.parse_html_for_line_which_includes_newline(line).ok()?;
    }
    Some(html.finalize())
}

fn escaped(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_comments_get_classes_and_text_stays_escaped() {
        let html = rust("/// Doc <b>\npub fn f() -> &'static str { \"a<b\" }\n");
        assert!(html.contains("hl-comment"), "{html}");
        assert!(
            html.contains("hl-storage") || html.contains("hl-keyword"),
            "{html}"
        );
        assert!(html.contains("hl-string"), "{html}");
        assert!(
            !html.contains("<b>") && html.contains("&lt;b&gt;"),
            "{html}"
        );
        assert!(!html.contains("style="), "no inline styles: {html}");
    }
}
