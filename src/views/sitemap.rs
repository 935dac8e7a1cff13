//! What crawlers read. `GET /robots.txt`: what they may crawl, and where the sitemap
//! is. `GET /sitemap.xml`: every published post's address and when it last changed, for
//! search engines — streamed. The body is written 1,000 posts at a time, each batch
//! found by keyset (just after the last post of the batch before), so the server holds
//! one batch, not the whole list, however many posts there are; a client that goes
//! away stops the work, because the next batch is only read when the body is polled.
//!
//! A sitemap may list 50,000 addresses (the sitemaps.org protocol). Past that,
//! `/sitemap.xml` is a sitemap index naming numbered files, `/sitemaps/1.xml`, …, each
//! the published posts of one range of ids: a post stays in its file when others are
//! published, rather than every later post moving on to the next file.
//!
//! The batches run while the body is being sent, after the handler has returned, so
//! `X-Query-Count` (which counts the handler's) says only what ran before: the count
//! per range, and a numbered file's first batch.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::cursor::Cursor;
use super::pagination::{PageWindow, Position};
use super::post_list::optimized::keyset;
use super::post_list::published_newest_first;
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::services::cache::precompressed::Encoding;
use crate::services::http::assets::{A_DAY_THEN_REVALIDATE, Served};
use crate::views::site::Site;

/// Posts per batch: one statement each.
pub const BATCH: u64 = 1_000;

const XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const URLSET: &str = "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
const URLSET_END: &str = "</urlset>\n";
const INDEX: &str = "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
const INDEX_END: &str = "</sitemapindex>\n";

/// `GET /sitemap.xml`: the published posts' addresses when they fit one file, else an
/// index of the numbered files.
#[tracing::instrument(level = "debug", name = "handler", skip_all, fields(label = "sitemap"))]
pub async fn sitemap(State(site): State<Site>) -> Result<Response, AppError> {
    let files = numbered_files(&site).await?;
    if files.iter().map(|file| file.urls).sum::<i64>() > site.sitemap_urls as i64 {
        return Ok(index(&site, &files));
    }
    let batches = stream::unfold(Some(Position::FIRST), move |position| {
        let site = site.clone();
        async move {
            let position = position?;
            let read = newest_first_batch(&site, position).await;
            Some(streamed(
                read.map(|(xml, next)| (xml, next.map(Position::After))),
            ))
        }
    });
    Ok(urlset(batches))
}

/// `GET /sitemaps/{n}.xml`: the published posts of the `n`th range of ids, in id order.
#[tracing::instrument(level = "debug", name = "handler", skip_all, fields(label = "sitemap"))]
pub async fn numbered(
    State(site): State<Site>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    let missing = || AppError::NotFound(format!("There is no sitemap {file}."));
    let per_file = site.sitemap_urls.max(1) as i64;
    // Only the name the index gives (`7.xml`, not `07.xml` or `+7.xml`), and only a
    // range that can hold a post id (an `i32`): anything else is no sitemap, unread.
    let ids = file
        .strip_suffix(".xml")
        .and_then(|number| number.parse::<i64>().ok())
        .filter(|number| *number >= 1 && format!("{number}.xml") == file)
        .and_then(|number| {
            Some((
                (number - 1).checked_mul(per_file)? + 1,
                number.checked_mul(per_file)?,
            ))
        })
        .filter(|(first, _)| *first <= i64::from(i32::MAX))
        .ok_or_else(missing)?;
    // The first batch before the answer: a range with no published post is a 404.
    let (first, next) = id_range_batch(&site, ids.0 - 1, ids.1).await?;
    if first.is_empty() {
        return Err(missing());
    }
    let rest = stream::unfold(next, move |after| {
        let site = site.clone();
        async move { Some(streamed(id_range_batch(&site, after?, ids.1).await)) }
    });
    Ok(urlset(stream::once(async { Ok(first) }).chain(rest)))
}

/// A batch as the body streams it; a failed read ends the body (the client sees it cut
/// short) and is logged.
fn streamed<T>(read: Result<(Bytes, Option<T>), DbErr>) -> (Result<Bytes, DbErr>, Option<T>) {
    match read {
        Ok((xml, next)) => (Ok(xml), next),
        Err(error) => {
            tracing::error!(%error, "the sitemap stopped: a batch could not be read");
            (Err(error), None)
        }
    }
}

/// A `<urlset>` around `entries`, streamed.
fn urlset(
    entries: impl futures_util::Stream<Item = Result<Bytes, DbErr>> + Send + 'static,
) -> Response {
    let body = stream::once(async { Ok::<_, DbErr>(Bytes::from_static(URLSET.as_bytes())) })
        .chain(entries)
        .chain(stream::once(async {
            Ok(Bytes::from_static(URLSET_END.as_bytes()))
        }));
    xml(Body::from_stream(
        stream::once(async { Ok(Bytes::from_static(XML.as_bytes())) }).chain(body),
    ))
}

fn xml(body: Body) -> Response {
    ([(CONTENT_TYPE, "application/xml; charset=utf-8")], body).into_response()
}

/// One numbered sitemap: its number (from 1) and how many addresses it lists.
#[derive(Debug, sea_orm::FromQueryResult)]
struct NumberedFile {
    number: i64,
    urls: i64,
}

/// The numbered files that list something: published posts counted per range of ids,
/// one statement (the ids come from an index, not from the posts' rows).
async fn numbered_files(site: &Site) -> Result<Vec<NumberedFile>, DbErr> {
    let number = Expr::cust(format!(
        "CAST((id - 1) / {} + 1 AS BIGINT)",
        site.sitemap_urls.max(1)
    ));
    post::Entity::find()
        .select_only()
        .column_as(number.clone(), "number")
        .column_as(post::Column::Id.count(), "urls")
        .filter(post::Column::Status.eq(post::Status::Published))
        .group_by(number.clone())
        .order_by_asc(number)
        .into_model::<NumberedFile>()
        .all(&site.db)
        .await
}

/// The sitemap index: one `<sitemap>` per numbered file.
fn index(site: &Site, files: &[NumberedFile]) -> Response {
    let mut xml = format!("{XML}{INDEX}");
    for file in files {
        xml.push_str("<sitemap><loc>");
        xml.push_str(&escape(&format!(
            "{}/sitemaps/{}.xml",
            site.public_url, file.number
        )));
        xml.push_str("</loc></sitemap>\n");
    }
    xml.push_str(INDEX_END);
    self::xml(Body::from(xml))
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
const ENTRY_COLUMNS: [post::Column; 4] = [
    post::Column::Id,
    post::Column::Slug,
    post::Column::PublishedAt,
    post::Column::UpdatedAt,
];

/// The `<url>` entries of the batch at `position`, newest first, and where the next one
/// starts (none after a short batch).
async fn newest_first_batch(
    site: &Site,
    position: Position,
) -> Result<(Bytes, Option<Cursor>), DbErr> {
    let rows: Vec<Entry> = keyset(
        published_newest_first(post::Entity::find()),
        PageWindow::at(position),
    )
    .select_only()
    .columns(ENTRY_COLUMNS)
    .limit(BATCH)
    .into_tuple()
    .all(&site.db)
    .await?;
    let full = u64::try_from(rows.len()).unwrap_or(0) == BATCH;
    let next = rows
        .last()
        .filter(|_| full)
        .and_then(|(id, _, published_at, _)| Cursor::after(*published_at, *id));
    Ok((entries(site, &rows), next))
}

/// The `<url>` entries of the published posts with ids after `after`, up to `last`, in
/// id order, and the id the next batch starts after (none after a short batch).
async fn id_range_batch(site: &Site, after: i64, last: i64) -> Result<(Bytes, Option<i64>), DbErr> {
    let rows: Vec<Entry> = post::Entity::find()
        .select_only()
        .columns(ENTRY_COLUMNS)
        .filter(post::Column::Status.eq(post::Status::Published))
        .filter(post::Column::Id.gt(after))
        .filter(post::Column::Id.lte(last))
        .order_by_asc(post::Column::Id)
        .limit(BATCH)
        .into_tuple()
        .all(&site.db)
        .await?;
    let full = u64::try_from(rows.len()).unwrap_or(0) == BATCH;
    let next = rows.last().filter(|_| full).map(|(id, ..)| i64::from(*id));
    Ok((entries(site, &rows), next))
}

/// `<url>` entries: each post's address and when it last changed.
fn entries(site: &Site, rows: &[Entry]) -> Bytes {
    let mut xml = String::with_capacity(rows.len() * 120);
    for (_, slug, _, updated_at) in rows {
        xml.push_str("<url><loc>");
        xml.push_str(&escape(&format!("{}/posts/{slug}", site.public_url)));
        xml.push_str("</loc><lastmod>");
        xml.push_str(&updated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        xml.push_str("</lastmod></url>\n");
    }
    Bytes::from(xml)
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
