//! The templates' ladder: a runtime engine parsing `sidebar.html` on every render, the
//! same engine parsing it once, and askama compiling it — three ways to the same bytes.

use perfblog::views::sidebar::runtime_template::{render_parsed_once, render_parsing_each_time};
use perfblog::views::sidebar::{PopularPost, Sidebar, TagCount, denormalized, render};

use crate::helpers::{SMALL, spawn_app};

/// The sidebar from each rung, for links that start at `root`.
fn three_renders(sidebar: &Sidebar, root: &str) -> [String; 3] {
    [
        render_parsing_each_time(sidebar, root),
        render_parsed_once(sidebar, root),
        render(sidebar, root),
    ]
    .map(|rendered| rendered.expect("rendered").0.to_string())
}

#[tokio::test]
async fn parsed_every_time_parsed_once_and_compiled_render_the_sites_sidebar_to_the_same_bytes() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let sidebar = denormalized::load(&app.db).await.expect("the sidebar");
    assert!(!sidebar.tags.is_empty() && !sidebar.popular.is_empty());
    for root in ["./", "../"] {
        let [each_time, once, compiled] = three_renders(&sidebar, root);
        assert_eq!(each_time, compiled, "{root}");
        assert_eq!(once, compiled, "{root}");
    }
}

#[test]
fn the_three_escape_every_character_html_gives_a_meaning_to_alike() {
    let hostile = "<b>Tom & \"Jerry\"</b> isn't a/b";
    let sidebar = Sidebar {
        tags: vec![TagCount {
            name: hostile.to_owned(),
            slug: "a/b".to_owned(),
            posts: 1,
        }],
        popular: vec![PopularPost {
            title: hostile.to_owned(),
            slug: "x&y".to_owned(),
            comments: 0,
        }],
    };
    let [each_time, once, compiled] = three_renders(&sidebar, "./");
    assert!(!compiled.contains("<b>"), "{compiled}");
    assert_eq!(each_time, compiled);
    assert_eq!(once, compiled);
}
