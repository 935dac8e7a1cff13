//! What crawlers read. `GET /robots.txt`: what they may crawl, and where the sitemap
//! is. `GET /sitemap.xml`: every published post's address and when it last changed, for
//! search engines — streamed. The body is written 1,000 posts at a time, each batch
//! found by keyset (just after the last post of the batch before), so the server holds
//! one batch, not the whole list, however many posts there are; a client that goes
//! away stops the work, because the next batch is only read when the body is polled.
//!
//! Its statements run while the body is being sent, after the handler has returned,
//! so `X-Query-Count` (which counts the handler's) says 0.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use sea_orm::{DbErr, EntityTrait, QuerySelect};

use super::cursor::Cursor;
use super::pagination::{PageWindow, Position};
use super::post_list::optimized::keyset;
use super::post_list::published_newest_first;
use crate::base::entities::post;
use crate::services::cache::precompressed::Encoding;
use crate::services::http::assets::{A_DAY_THEN_REVALIDATE, Served};
use crate::views::site::Site;

/// Posts per batch: one statement each.
pub const BATCH: u64 = 1_000;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
const TAIL: &str = "</urlset>\n";

/// `GET /sitemap.xml`.
#[tracing::instrument(level = "debug", name = "handler", skip_all, fields(label = "sitemap"))]
pub async fn sitemap(State(site): State<Site>) -> Response {
    let batches = stream::unfold(Some(Position::FIRST), move |position| {
        let site = site.clone();
        async move {
            let position = position?;
            match batch(&site, position).await {
                Ok((xml, next)) => Some((Ok(xml), next.map(Position::After))),
                Err(error) => {
                    tracing::error!(%error, "the sitemap stopped: a batch could not be read");
                    Some((Err(error), None))
                }
            }
        }
    });
    let body = stream::once(async { Ok::<_, DbErr>(Bytes::from_static(HEAD.as_bytes())) })
        .chain(batches)
        .chain(stream::once(async {
            Ok(Bytes::from_static(TAIL.as_bytes()))
        }));
    (
        [(CONTENT_TYPE, "application/xml; charset=utf-8")],
        Body::from_stream(body),
    )
        .into_response()
}

/// Where crawlers are not welcome: the naive twins (slow on purpose, and the same
/// content again), the lab (each visit runs both sides of a pattern against the
/// database), and the admin's and operator's pages.
const DISALLOWED: [&str; 4] = ["/naive", "/lab", "/admin", "/_perf"];

/// `GET /robots.txt`: the paths above, and the sitemap's address. It can carry no hash
/// in its name, so it is cached for a day and then revalidated by its ETag.
pub async fn robots(State(site): State<Site>, request: HeaderMap) -> Response {
    let mut text = String::from("User-agent: *\n");
    for path in DISALLOWED {
        text.push_str(&format!("Disallow: {path}\n"));
    }
    text.push_str(&format!("\nSitemap: {}/sitemap.xml\n", site.public_url));
    let validator = format!(
        "robots.{:016x}",
        xxhash_rust::xxh3::xxh3_64(text.as_bytes())
    );
    let served = Served {
        content_type: "text/plain; charset=utf-8",
        validator: &validator,
        cache_control: A_DAY_THEN_REVALIDATE,
    };
    served.respond(Bytes::from(text), Encoding::Identity, &request)
}

/// A post as the sitemap needs it: id, slug, published and last changed.
type Entry = (i32, String, Option<DateTime<Utc>>, DateTime<Utc>);

/// The `<url>` entries of the batch at `position`, and where the next one starts (none
/// after a short batch).
async fn batch(site: &Site, position: Position) -> Result<(Bytes, Option<Cursor>), DbErr> {
    let rows: Vec<Entry> = keyset(
        published_newest_first(post::Entity::find()),
        PageWindow::at(position),
    )
    .select_only()
    .columns([
        post::Column::Id,
        post::Column::Slug,
        post::Column::PublishedAt,
        post::Column::UpdatedAt,
    ])
    .limit(BATCH)
    .into_tuple()
    .all(&site.db)
    .await?;
    let mut xml = String::with_capacity(rows.len() * 120);
    for (_, slug, _, updated_at) in &rows {
        xml.push_str("<url><loc>");
        xml.push_str(&escape(&format!("{}/posts/{slug}", site.public_url)));
        xml.push_str("</loc><lastmod>");
        xml.push_str(&updated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        xml.push_str("</lastmod></url>\n");
    }
    let full = u64::try_from(rows.len()).unwrap_or(0) == BATCH;
    let next = rows
        .last()
        .filter(|_| full)
        .and_then(|(id, _, published_at, _)| Cursor::after(*published_at, *id));
    Ok((Bytes::from(xml), next))
}

/// Text for XML: the five characters with a meaning there, escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_escaped_for_xml() {
        assert_eq!(
            super::escape("http://a.test/?x=1&y=<2>"),
            "http://a.test/?x=1&amp;y=&lt;2&gt;"
        );
    }
}
