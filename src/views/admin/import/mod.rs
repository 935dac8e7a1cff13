//! `POST /admin/import`: a JSON array of posts (or one per line, NDJSON), inserted all
//! or nothing.
//!
//! Both variants parse and validate the same way — three queries however many rows
//! (per 1,000 rows, for NDJSON): the authors, the tags and the slugs already taken —
//! and reject the whole import with a 422 naming the row and the field if any row is
//! wrong. They differ only in how the valid rows are written: one `INSERT` per row
//! (`naive.rs`) or multi-row `INSERT`s in batches (`optimized.rs`), in one transaction.
//!
//! A JSON array is read whole, so it is limited ([`ARRAY_MAX_BYTES`],
//! [`IMPORT_MAX_ROWS`]). NDJSON is read as it arrives, a batch of lines at a time
//! (`lines.rs`), each batch validated and kept in a temporary file until the body has
//! ended (`spool.rs`), then inserted from it: memory holds a batch, not the import, and
//! the limit is a setting (`IMPORT_MAX_MB`) — the export of the whole blog imports in
//! one request.
//!
//! ```sh
//! curl -u admin:$ADMIN_TOKEN -H 'content-type: application/json' \
//!   -d '[{"title": "Hello", "body": "…", "author_email": "user1@example.com", "tags": ["rust"]}]' \
//!   http://127.0.0.1:3000/admin/import
//! ```

pub mod lines;
pub mod naive;
pub mod optimized;
pub mod rows;
pub mod spool;
pub mod validate;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sea_orm::{DbErr, TransactionSession, TransactionTrait};
use serde::Serialize;

use crate::base::error::AppError;
use crate::base::instrument;
use crate::base::variant::Variant;
use crate::services::db;
use crate::views::site::{Site, twins};
pub use rows::{ImportRow, ImportStatus, NewPost, parse};
pub use validate::validate;

/// A JSON array larger than this is refused with a 413 (it is read whole): NDJSON
/// takes up to `IMPORT_MAX_MB`.
pub const ARRAY_MAX_BYTES: usize = 5 * 1024 * 1024;
/// A JSON array of more rows than this is refused with a 422.
pub const IMPORT_MAX_ROWS: usize = 10_000;

pub fn routes() -> Router<Site> {
    twins("/admin/import", post(import))
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub imported: u64,
}

/// Errors from the import are JSON, like its input: `{"error": "…"}`.
pub struct JsonError(AppError);

impl From<AppError> for JsonError {
    fn from(error: AppError) -> Self {
        JsonError(error)
    }
}

impl From<DbErr> for JsonError {
    fn from(error: DbErr) -> Self {
        // Another import may take a slug between our check and our insert: the unique
        // index catches it, and the client hears why.
        match error.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => JsonError(AppError::Conflict(
                "A post with one of these slugs was created meanwhile. Nothing was imported."
                    .to_owned(),
            )),
            _ => JsonError(AppError::from(error)),
        }
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.0.public_message() });
        let mut response = (self.0.status(), Json(body)).into_response();
        self.0.decorate(&mut response);
        response
    }
}

/// `POST /admin/import` and its naive twin.
async fn import(
    State(site): State<Site>,
    variant: Variant,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportReport>, JsonError> {
    let now = Utc::now();
    let imported = match rows::format(&headers)? {
        rows::Format::JsonArray => {
            let body = read_whole(body, ARRAY_MAX_BYTES).await?;
            let posts = validate(&site.db, parse(&headers, &body)?, now).await?;
            insert(&site.db, variant, &posts, now).await?
        }
        rows::Format::Ndjson => {
            // Batches repeat their statements on purpose — three to validate 1,000
            // rows, a few to insert them — so the N+1 detector is not shown them; the
            // naive variant's statement per row still is.
            let lines = lines::Lines::new(body, site.import_max_bytes);
            let mut spooled =
                instrument::deliberately(spool::receive(&site.db, lines, now)).await?;
            let txn = db::begin_write(&site.db).await?;
            // Each batch in this one transaction, not a savepoint of its own: past 64
            // subtransactions PostgreSQL checks every row's visibility the slow way.
            while let Some(posts) = spooled.next_batch().await? {
                match variant {
                    Variant::Naive => naive::insert(&txn, &posts, now).await?,
                    Variant::Optimized => {
                        instrument::deliberately(optimized::insert(&txn, &posts, now)).await?
                    }
                }
            }
            txn.commit().await.map_err(AppError::from)?;
            spooled.rows
        }
    };
    site.cache.invalidate().await;
    Ok(Json(ImportReport { imported }))
}

/// `posts` written the variant's way, in a transaction of their own (a savepoint
/// when `db` is one): all of them or none. Returns how many.
pub async fn insert(
    db: &impl TransactionTrait,
    variant: Variant,
    posts: &[NewPost],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let txn = db::begin_write(db).await?;
    match variant {
        Variant::Naive => naive::insert(&txn, posts, now).await?,
        Variant::Optimized => optimized::insert(&txn, posts, now).await?,
    }
    txn.commit().await?;
    Ok(posts.len() as u64)
}

/// The whole body, or a 413 once more than `max_bytes` have arrived.
async fn read_whole(body: Body, max_bytes: usize) -> Result<Bytes, AppError> {
    let mut stream = body.into_data_stream();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| AppError::BadRequest("The request body could not be read.".to_owned()))?;
        if bytes.len() + chunk.len() > max_bytes {
            return Err(AppError::PayloadTooLarge(rows::array_too_large()));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}
