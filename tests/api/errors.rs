//! Bad input gets a 4xx with a message; failures get a 500 page with no internals.

use sea_orm::ConnectionTrait;

use crate::helpers::{SMALL, spawn_app};

#[tokio::test]
async fn a_page_number_that_is_not_one_or_more_is_a_400_that_says_why() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for bad in [
        "0",
        "-1",
        "abc",
        "99999999999999999999",
        "1.5",
        "",
        "%00",
        "1&page=2",
    ] {
        let page = app.get_page(&format!("/?page={bad}")).await;
        assert_eq!(page.status, 400, "?page={bad}");
        assert!(page.body.contains("`page`"), "?page={bad}: {}", page.body);
        assert!(page.body.contains("<p class=\"message\">"));
        assert!(
            !page.body.contains('\0'),
            "?page={bad}: no raw NUL in the page"
        );
    }
}

#[tokio::test]
async fn an_address_with_a_trailing_slash_redirects_to_the_one_without_keeping_the_query() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    for (asked, sent_to) in [
        (
            format!("/posts/{}/", post.slug),
            format!("/posts/{}", post.slug),
        ),
        (
            "/tags/rust/?page=2".to_owned(),
            "/tags/rust?page=2".to_owned(),
        ),
        ("/lab/".to_owned(), "/lab".to_owned()),
        ("/naive?page=2".to_owned(), "/naive/?page=2".to_owned()),
    ] {
        let response = app.get(&asked).await;
        assert_eq!(response.status(), 308, "{asked}");
        assert_eq!(response.headers()["location"], sent_to.as_str(), "{asked}");
    }
    for elsewhere in ["//example.com/", "//example.com//"] {
        let response = app.get(elsewhere).await;
        assert_eq!(
            response.status(),
            404,
            "{elsewhere}: never sent to another site"
        );
    }
}

#[tokio::test]
async fn a_page_past_the_last_is_a_404_that_says_why() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for path in ["/?page=3", "/?page=4294967295"] {
        let page = app.get_page(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("past the last page"), "{path}");
    }
}

#[tokio::test]
async fn an_unknown_address_is_a_404_page() {
    let app = spawn_app().await;

    let page = app.get_page("/no/such/page").await;

    assert_eq!(page.status, 404);
    assert!(page.body.contains("There is no page at this address."));
    assert_eq!(page.query_count, Some(0));
}

#[tokio::test]
async fn a_database_failure_is_a_500_page_that_shows_no_internals() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    app.db
        .execute_unprepared("DROP TABLE post_tags")
        .await
        .expect("table is dropped");

    let page = app.get_page("/").await;

    assert_eq!(page.status, 500);
    assert!(page.body.contains("Something went wrong on our side."));
    for internal in ["post_tags", "SELECT", "no such table", "does not exist"] {
        assert!(!page.body.contains(internal), "leaks {internal:?}");
    }
}

#[tokio::test]
async fn the_stylesheet_is_served_under_its_fingerprint_and_cached_for_a_year() {
    let app = spawn_app().await;
    let page = app.get_page("/").await.body;
    let start = page
        .find("href=\"/static/style.")
        .expect("a stylesheet link")
        + 6;
    let path = &page[start..start + page[start..].find('"').expect("closing quote")];

    let response = app.get(path).await;

    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let plain = app.get("/static/style.css").await;
    assert_eq!(
        plain.headers()["cache-control"],
        "no-cache",
        "the plain name (the static-files lesson's naive side) is revalidated every time"
    );
    assert_eq!(app.get("/static/style.0123.css").await.status(), 404);
}
