//! The pages' routes: every page and admin action, each served twice. The optimized
//! variant owns the plain path (it is what production would run) and its naive twin
//! lives under `/naive`; one handler serves both and reads its
//! [`Variant`](crate::base::variant::Variant) from the path. The comment routes are
//! separate ([`comments::routes`](crate::views::comments::routes)): start-up puts a rate limit in front of them.

use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::views::site::{Site, twins};
use crate::views::{admin, post_detail, post_list, sitemap, tag_page};

pub fn pages(site: Site) -> Router {
    let pages = Router::new()
        .route("/naive", get(naive_root))
        .merge(twins("/", get(post_list::page)))
        .merge(twins("/tags/{slug}", get(tag_page::page)))
        .merge(twins("/posts/{slug}", get(post_detail::page)))
        .route("/sitemap.xml", get(sitemap::sitemap))
        .route("/sitemaps/{file}", get(sitemap::numbered))
        .route("/robots.txt", get(sitemap::robots));
    pages.merge(admin::routes(&site)).with_state(site)
}

/// `/naive` is the naive list, at `/naive/`: the query goes along (`?page=3`).
async fn naive_root(uri: axum::http::Uri) -> Redirect {
    match uri.query() {
        Some(query) => Redirect::permanent(&format!("/naive/?{query}")),
        None => Redirect::permanent("/naive/"),
    }
}
