//! `GET /admin/export.ndjson`: every post — title, slug, excerpt, body, status, when it
//! was published, its author's email and its tags' slugs — one JSON object a line, in
//! the form `POST /admin/import` takes back (an [`ImportRow`]), oldest post first.
//!
//! The two variants write the same bytes, with the same lookups ([`write_lines`]). The
//! naive one (`naive.rs`) loads every post and builds the whole body before sending a
//! byte;
//! the optimized one (`optimized.rs`) reads [`optimized::BATCH`] posts at a time and
//! writes each batch as soon as it is read, so the server holds one batch however many
//! posts there are.
//!
//! ```sh
//! curl -u admin:$ADMIN_TOKEN --compressed http://127.0.0.1:3000/admin/export.ndjson > posts.ndjson
//! ```
//!
//! The import refuses bodies over 5 MB, so a whole export goes back in pieces; lines
//! stand alone, so `split -l 500 posts.ndjson part-` makes them.

pub mod gzip;
pub mod naive;
pub mod optimized;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_TYPE, VARY,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::{ConnectionTrait, DbErr};

use super::import::{ImportRow, ImportStatus};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::services::cache::precompressed::Encoding;
use crate::views::batch::{author_emails_of, tags_of};
use crate::views::site::{Site, twins};

pub fn routes() -> Router<Site> {
    twins("/admin/export.ndjson", get(export))
}

/// `GET /admin/export.ndjson` and its naive twin: gzipped when the client takes gzip
/// (see `gzip.rs`).
async fn export(
    State(site): State<Site>,
    variant: Variant,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let gzipped = Encoding::accepts_gzip(
        headers
            .get(ACCEPT_ENCODING)
            .and_then(|value| value.to_str().ok()),
    );
    let body = match variant {
        Variant::Naive => {
            let export = naive::export(&site.db, None).await?;
            if gzipped {
                Body::from(gzip::whole(&export).map_err(anyhow::Error::from)?)
            } else {
                Body::from(export)
            }
        }
        // Its statements run as the body is sent, after this handler has returned, so
        // `X-Query-Count` says 0 (as the sitemap's does).
        Variant::Optimized => {
            let batches = optimized::export(site.db.clone(), None);
            if gzipped {
                Body::from_stream(gzip::streamed(batches))
            } else {
                Body::from_stream(batches)
            }
        }
    };
    let mut response = (
        [
            (CONTENT_TYPE, "application/x-ndjson"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"perfblog-posts.ndjson\"",
            ),
            (CACHE_CONTROL, "no-store"),
            (VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response();
    if gzipped {
        // The compression layer leaves a response that has an encoding alone.
        response
            .headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// A batch of posts as lines of the export, appended to `out`: their authors' emails and
/// their tags asked for in one query each (two statements, however many posts; keep the
/// batch to [`optimized::BATCH`] so the `IN (…)` lists stay short). Both sides write
/// their lines with it, so the only idea between them is what they hold and when they
/// send it.
pub async fn write_lines(
    db: &impl ConnectionTrait,
    posts: Vec<post::Model>,
    out: &mut Vec<u8>,
) -> Result<(), DbErr> {
    if posts.is_empty() {
        return Ok(());
    }
    let author_ids: Vec<i32> = posts.iter().map(|post| post.author_id).collect();
    let post_ids: Vec<i32> = posts.iter().map(|post| post.id).collect();
    let emails = author_emails_of(db, &author_ids).await?;
    let mut tags = tags_of(db, &post_ids).await?;
    out.reserve(posts.iter().map(|post| post.body.len() + 512).sum());
    for post in posts {
        let email = emails
            .get(&post.author_id)
            .cloned()
            .ok_or_else(|| DbErr::RecordNotFound(format!("author of post {}", post.id)))?;
        let slugs = tags
            .remove(&post.id)
            .unwrap_or_default()
            .into_iter()
            .map(|tag| tag.slug)
            .collect();
        write_line(out, post, email, slugs)?;
    }
    Ok(())
}

/// One post as a line of the export: `post`'s columns, its author's email, and its
/// tags' slugs in the order given.
fn write_line(
    out: &mut Vec<u8>,
    post: post::Model,
    author_email: String,
    tags: Vec<String>,
) -> Result<(), DbErr> {
    let row = ImportRow {
        title: post.title,
        slug: Some(post.slug),
        excerpt: Some(post.excerpt),
        body: post.body,
        author_email,
        tags,
        status: ImportStatus::from(post.status),
        published_at: post.published_at,
    };
    serde_json::to_writer(&mut *out, &row).map_err(|error| DbErr::Json(error.to_string()))?;
    out.push(b'\n');
    Ok(())
}
