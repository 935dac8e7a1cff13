//! The README and `docs/*.md` link each other and the source: every relative link must
//! name a file that exists, and every `#anchor` a heading of its page (GitHub's slugs).
//! The README was split into pages that link across; this keeps the links from rotting.

use std::collections::HashSet;
use std::path::Path;

/// The text outside fenced code blocks, and outside inline code if `inline`.
fn prose(text: &str, inline: bool) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            let kept: String = if inline {
                line.split('`').step_by(2).collect::<Vec<_>>().join("")
            } else {
                line.to_owned()
            };
            out.push_str(&kept);
            out.push('\n');
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(page: &str) -> HashSet<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = HashSet::new();
    for line in prose(page, false).lines() {
        let Some(heading) = line.trim_start_matches('#').strip_prefix(' ') else {
            continue;
        };
        if !line.starts_with('#') {
            continue;
        }
        let slug = slug(heading);
        let n = seen.iter().filter(|s| **s == slug).count();
        out.insert(if n == 0 {
            slug.clone()
        } else {
            format!("{slug}-{n}")
        });
        seen.push(slug);
    }
    out
}

/// Every `](target)` of the page's prose.
fn targets(page: &str) -> Vec<String> {
    prose(page, true)
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_owned()))
        .collect()
}

#[test]
fn every_relative_link_and_anchor_of_the_readme_and_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let pages = crate::pages::markdown_files(&root).expect("the docs");
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("a page");
        for target in targets(&text) {
            if target.contains(':') {
                continue; // http:, https:, mailto:
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let dest = if path.is_empty() {
                page.clone()
            } else {
                page.parent().expect("a folder").join(path)
            };
            let ok = dest.exists()
                && (anchor.is_empty()
                    || std::fs::read_to_string(&dest)
                        .is_ok_and(|text| anchors(&text).contains(anchor)));
            if !ok {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(
        slug("Behind a proxy: whose address is limited"),
        "behind-a-proxy-whose-address-is-limited"
    );
    assert_eq!(
        slug("The page cache (per-view caching)"),
        "the-page-cache-per-view-caching"
    );
    let page = "# A\n```\n# not a heading\n```\n## A\n";
    assert_eq!(
        anchors(page),
        HashSet::from(["a".to_owned(), "a-1".to_owned()])
    );
    assert_eq!(targets("[x](a.md#b) `[y](no)`"), ["a.md#b"]);
}
