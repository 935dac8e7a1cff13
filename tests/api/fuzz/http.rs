//! The HTTP property: whatever a stranger sends a running app — any `?page=` or
//! `?after=`, any slug, any comment form, a query string of any length on a cached
//! page — the answer is a 2xx, 3xx or 4xx, never a 5xx. Few cases ([`HTTP_CASES`]):
//! each is a request.

use axum::http::header::CONTENT_TYPE;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::config;
use super::inputs::{Raw, comment_body, list_query, percent_encoded, text};
use crate::helpers::{SMALL, spawn_app};

/// Cases of the HTTP property unless `PROPTEST_CASES` says otherwise.
const HTTP_CASES: u32 = 64;

/// What a stranger can send the running app: list pages with any `page`/`after`, post
/// and tag pages at any slug, comment forms with anything in them.
#[derive(Clone, Debug)]
enum Visit {
    List {
        prefix: &'static str,
        query: String,
    },
    Tag {
        slug: String,
        query: String,
    },
    Post {
        slug: String,
    },
    Comment {
        prefix: &'static str,
        slug: Option<String>,
        body: Raw,
    },
    /// A cached page (the list, a tag, a post) with a query of `length` copies of
    /// `filler`: past what once made the footer's hole too large (with `&` escaped to
    /// five bytes) and near the longest URI `http` takes.
    LongQuery {
        page: usize,
        filler: char,
        length: usize,
    },
}

fn visit() -> impl Strategy<Value = Visit> {
    let prefix = prop_oneof![Just(""), Just("/naive")];
    let segment = prop_oneof![
        Just("rust".to_owned()),
        "[a-z0-9-]{1,20}",
        text(20)
            .prop_map(|t| url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()),
        proptest::collection::vec(any::<u8>(), 1..20).prop_map(|b| percent_encoded(&b)),
    ];
    prop_oneof![
        1 => (prefix.clone(), list_query())
            .prop_map(|(prefix, query)| Visit::List { prefix, query }),
        1 => (segment.clone(), list_query()).prop_map(|(slug, query)| Visit::Tag { slug, query }),
        1 => segment.clone().prop_map(|slug| Visit::Post { slug }),
        2 => (prefix, proptest::option::of(segment), comment_body())
            .prop_map(|(prefix, slug, body)| Visit::Comment { prefix, slug, body }),
        1 => (0..3usize, prop_oneof![Just('&'), Just('a'), Just('=')], 0..65_000usize)
            .prop_map(|(page, filler, length)| Visit::LongQuery { page, filler, length }),
    ]
}

#[test]
fn strangers_get_a_2xx_3xx_or_4xx_from_the_running_app_never_a_5xx() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (app, post_slug) = runtime.block_on(async {
        let app = spawn_app().await;
        app.seed(SMALL).await;
        let slug = app.first_published().await.slug;
        (app, slug)
    });
    let mut runner = TestRunner::new(config(HTTP_CASES));
    let result = runner.run(&visit(), |visit| {
        let request = match &visit {
            Visit::List { prefix, query } => {
                app.client.get(format!("{}{prefix}/?{query}", app.address))
            }
            Visit::Tag { slug, query } => app
                .client
                .get(format!("{}/tags/{slug}?{query}", app.address)),
            Visit::Post { slug } => app.client.get(format!("{}/posts/{slug}", app.address)),
            Visit::LongQuery {
                page,
                filler,
                length,
            } => {
                let cached = [
                    "/".to_owned(),
                    "/tags/rust".to_owned(),
                    format!("/posts/{post_slug}"),
                ];
                let query = filler.to_string().repeat(*length);
                app.client
                    .get(format!("{}{}?x={query}", app.address, cached[*page]))
                    .header("accept-encoding", "gzip, deflate, br, zstd")
            }
            Visit::Comment { prefix, slug, body } => app
                .client
                .post(format!(
                    "{}{prefix}/posts/{}/comments",
                    app.address,
                    slug.as_deref().unwrap_or(&post_slug)
                ))
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.0.clone()),
        };
        let status = runtime
            .block_on(request.send())
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .status();
        prop_assert!(!status.is_server_error(), "{} for {:?}", status, visit);
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
