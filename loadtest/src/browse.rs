//! The scenarios: what a simulated visitor does, over and over — a reader the list, a
//! post from it, one of that post's tags and the list's next page; a writer the list
//! and a comment on one of its posts, about every [`COMMENT_EVERY`] — with a
//! browser's headers, following the links the pages give, so the naive twins are
//! browsed through their own links.

use std::time::Duration;

use goose::goose::GooseMethod;
use goose::prelude::*;
use rand::seq::IndexedRandom;
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, HeaderMap, HeaderValue, USER_AGENT,
};

/// The comment limit lets an address post 10 a minute after a burst of 5: a writer
/// who comments every 10 s stays under it, so no comment is refused.
pub const COMMENT_EVERY: Duration = Duration::from_secs(10);

/// Which set of pages a run browses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pages {
    Optimized,
    Naive,
}

impl Pages {
    pub fn name(self) -> &'static str {
        match self {
            Pages::Optimized => "optimized",
            Pages::Naive => "naive",
        }
    }

    /// The list's address; every other page is reached by a link from it.
    fn root(self) -> &'static str {
        match self {
            Pages::Optimized => "/",
            Pages::Naive => "/naive/",
        }
    }
}

/// A visitor's place: where the last pages' links lead.
#[derive(Clone, Debug)]
struct Visit {
    root: &'static str,
    post: Option<String>,
    tag: Option<String>,
    older: Option<String>,
}

/// The two kinds of visitor: readers browse without pause; one visitor in sixteen
/// writes, reading the list and commenting on a post from it about every
/// [`COMMENT_EVERY`]. Commenting is a scenario of its own so that a reader's pass
/// through its pages always does the same work: goose's coordinated-omission
/// mitigation compares each pass with the average one.
pub fn scenarios(pages: Pages) -> Result<[Scenario; 2], GooseError> {
    let start = || match pages {
        Pages::Optimized => transaction!(start_optimized),
        Pages::Naive => transaction!(start_naive),
    };
    let read = scenario!("read")
        .set_weight(15)?
        .register_transaction(start().set_on_start().set_name("start"))
        .register_transaction(transaction!(list).set_name("list"))
        .register_transaction(transaction!(post).set_name("post"))
        .register_transaction(transaction!(tag).set_name("tag"))
        .register_transaction(transaction!(next_page).set_name("next page"));
    let write = scenario!("comment")
        .set_weight(1)?
        .set_wait_time(COMMENT_EVERY / 2, COMMENT_EVERY / 2)?
        .register_transaction(start().set_on_start().set_name("start"))
        .register_transaction(transaction!(list).set_name("list"))
        .register_transaction(transaction!(comment).set_name("comment"));
    Ok([read, write])
}

async fn start_optimized(user: &mut GooseUser) -> TransactionResult {
    start(user, Pages::Optimized).await
}

async fn start_naive(user: &mut GooseUser) -> TransactionResult {
    start(user, Pages::Naive).await
}

/// A browser's headers, and an address of its own: behind a proxy the server trusts
/// (`TRUSTED_PROXIES=1`) each visitor is limited as the visitor it is.
async fn start(user: &mut GooseUser, pages: Pages) -> TransactionResult {
    let mut headers = HeaderMap::new();
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    );
    headers.insert(
        ACCEPT_ENCODING,
        HeaderValue::from_static("gzip, deflate, br, zstd"),
    );
    headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en-GB,en;q=0.9"));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static("Mozilla/5.0 (X11; Linux x86_64) perfblog-loadtest"),
    );
    let visitor = user.weighted_users_index;
    let address = format!("10.77.{}.{}", visitor / 250 % 250, visitor % 250 + 1);
    if let Ok(address) = HeaderValue::from_str(&address) {
        headers.insert("x-forwarded-for", address);
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(60));
    user.set_client_builder(client).await?;
    user.set_session_data(Visit {
        root: pages.root(),
        post: None,
        tag: None,
        older: None,
    });
    Ok(())
}

/// Where this visitor is; `None` if its start failed (goose has counted that).
fn visit(user: &GooseUser) -> Option<Visit> {
    user.get_session_data::<Visit>().cloned()
}

/// GETs `path` under the request name `name` and returns the page, or `None` when it
/// was no page: a failure, or an error status (goose has counted either).
async fn page(
    user: &mut GooseUser,
    path: &str,
    name: &str,
) -> Result<Option<String>, Box<TransactionError>> {
    let goose = user.get_named(path, name).await?;
    let Ok(response) = goose.response else {
        return Ok(None);
    };
    if !response.status().is_success() {
        return Ok(None);
    }
    Ok(response.text().await.ok())
}

async fn list(user: &mut GooseUser) -> TransactionResult {
    let Some(mut visit) = visit(user) else {
        return Ok(());
    };
    let html = page(user, visit.root, "list").await?;
    let html = html.as_deref().unwrap_or_default();
    visit.post = pick(html, "<h2><a href=\"").map(|href| resolve(visit.root, &href));
    visit.older = first(html, "rel=\"next\" href=\"").map(|href| resolve(visit.root, &href));
    user.set_session_data(visit);
    Ok(())
}

async fn post(user: &mut GooseUser) -> TransactionResult {
    let Some(mut visit) = visit(user) else {
        return Ok(());
    };
    let Some(path) = visit.post.clone() else {
        return Ok(());
    };
    let html = page(user, &path, "post").await?.unwrap_or_default();
    let tags = html.split("<ul class=\"tags\">").nth(1).unwrap_or_default();
    visit.tag = pick(tags, "<a href=\"").map(|href| resolve(visit.root, &href));
    user.set_session_data(visit);
    Ok(())
}

async fn tag(user: &mut GooseUser) -> TransactionResult {
    if let Some(path) = visit(user).and_then(|visit| visit.tag) {
        page(user, &path, "tag").await?;
    }
    Ok(())
}

async fn next_page(user: &mut GooseUser) -> TransactionResult {
    if let Some(path) = visit(user).and_then(|visit| visit.older) {
        page(user, &path, "next page").await?;
    }
    Ok(())
}

/// A comment on a post from the list; the server answers with a redirect back to the
/// post, which is followed and read, as a browser would.
async fn comment(user: &mut GooseUser) -> TransactionResult {
    let Some(post) = visit(user).and_then(|visit| visit.post) else {
        return Ok(());
    };
    let visitor = user.weighted_users_index;
    let name = format!("Load tester {visitor}");
    let email = format!("load-{visitor}@example.com");
    let form = [
        ("name", name.as_str()),
        ("email", email.as_str()),
        ("body", "Read under load: a comment from the load test."),
    ];
    let path = format!("{post}/comments");
    let builder = user
        .get_request_builder(&GooseMethod::Post, &path)?
        .form(&form);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(path.as_str())
        .name("comment")
        .set_request_builder(builder)
        .build();
    if let Ok(response) = user.request(request).await?.response {
        let _ = response.bytes().await;
    }
    Ok(())
}

/// Every `href` that follows `marker` in `html`.
fn hrefs<'a>(html: &'a str, marker: &'a str) -> impl Iterator<Item = &'a str> {
    html.split(marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
}

fn first(html: &str, marker: &str) -> Option<String> {
    hrefs(html, marker).next().map(unescape)
}

/// One of the links after `marker`, at random: visitors do not all read the same post.
fn pick(html: &str, marker: &str) -> Option<String> {
    let links: Vec<&str> = hrefs(html, marker).collect();
    links.choose(&mut rand::rng()).map(|href| unescape(href))
}

fn unescape(href: &str) -> String {
    href.replace("&amp;", "&")
}

/// A page's link as a path: the pages link relative to the variant's root (`./`, `../`)
/// or with a query alone (`?after=…`).
fn resolve(root: &str, href: &str) -> String {
    if let Some(rest) = href.strip_prefix("./").or_else(|| href.strip_prefix("../")) {
        format!("{root}{rest}")
    } else if href.starts_with('?') {
        format!("{root}{href}")
    } else {
        href.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_against_the_variants_root() {
        assert_eq!(resolve("/naive/", "./posts/a"), "/naive/posts/a");
        assert_eq!(resolve("/naive/", "../tags/b"), "/naive/tags/b");
        assert_eq!(resolve("/", "?after=x"), "/?after=x");
        assert_eq!(resolve("/", "/lab"), "/lab");
    }

    #[test]
    fn the_first_link_after_a_marker_is_unescaped() {
        let html = r#"<a rel="next" href="?after=1&amp;x=2">Older</a>"#;
        assert_eq!(
            first(html, "rel=\"next\" href=\"").as_deref(),
            Some("?after=1&x=2")
        );
    }
}
