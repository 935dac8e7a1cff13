//! Every link leads somewhere: a crawler starts where a visitor does — the list, a post,
//! a tag page, both twins, the lab and the admin page (with the token) — follows every
//! link it finds on this site, page after page, and fails on a 404, a 405 or a 5xx.

use std::collections::{BTreeSet, VecDeque};

use url::Url;

use crate::helpers::{ADMIN_TOKEN, SMALL, spawn_app};

/// More pages than the small dataset has: a crawl that reaches it is following a loop.
const MOST_PAGES: usize = 1_500;

/// The `href` values of a page, HTML entities in them undone.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

/// `href` as a path on this site (fragment dropped), or `None` for another site, a
/// `mailto:` or a link to the page itself.
fn on_this_site(page: &Url, href: &str) -> Option<String> {
    let mut target = page.join(href).ok()?;
    if target.origin() != page.origin() {
        return None;
    }
    target.set_fragment(None);
    let path = match target.query() {
        Some(query) => format!("{}?{query}", target.path()),
        None => target.path().to_owned(),
    };
    Some(path)
}

#[tokio::test]
async fn every_link_from_the_site_the_lab_and_the_admin_page_leads_to_a_page() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let starts = [
        "/".to_owned(),
        "/naive/".to_owned(),
        format!("/posts/{}", post.slug),
        "/tags/rust".to_owned(),
        "/lab".to_owned(),
        "/admin".to_owned(),
    ];
    let base = Url::parse(&app.address).expect("the app's address");

    let mut seen: BTreeSet<String> = starts.iter().cloned().collect();
    let mut queue: VecDeque<(String, String)> = starts
        .iter()
        .map(|start| (start.clone(), "(start)".to_owned()))
        .collect();
    let mut broken = Vec::new();
    while let Some((path, linked_from)) = queue.pop_front() {
        assert!(seen.len() < MOST_PAGES, "more than {MOST_PAGES} pages");
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .basic_auth("admin", Some(ADMIN_TOKEN))
            .send()
            .await
            .expect("request is answered");
        let status = response.status().as_u16();
        if status == 404 || status == 405 || status >= 500 {
            broken.push(format!("{status} {path} (linked from {linked_from})"));
            continue;
        }
        let page = base.join(&path).expect("a path on the site");
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .and_then(|location| on_this_site(&page, location));
        if let Some(target) = location
            && seen.insert(target.clone())
        {
            queue.push_back((target, format!("{path}, redirected")));
        }
        let is_html = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"));
        if !is_html {
            continue;
        }
        let body = response.text().await.expect("body is text");
        for href in hrefs(&body) {
            if let Some(target) = on_this_site(&page, &href)
                && seen.insert(target.clone())
            {
                queue.push_back((target, path.clone()));
            }
        }
    }
    assert!(seen.len() > 50, "only {} pages reached", seen.len());
    assert!(
        broken.is_empty(),
        "{} broken:\n{}",
        broken.len(),
        broken.join("\n")
    );
}
