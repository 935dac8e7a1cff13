//! `POST /admin/import`: a JSON array of posts (or one per line, NDJSON), inserted all
//! or nothing.
//!
//! Both variants parse and validate the same way — three queries however many rows:
//! the authors, the tags and the slugs already taken — and reject the whole import with
//! a 422 naming the row and the field if any row is wrong. They differ only in how the
//! valid rows are written: one `INSERT` per row (`naive.rs`) or multi-row `INSERT`s in
//! batches (`optimized.rs`), each in one transaction.
//!
//! ```sh
//! curl -u admin:$ADMIN_TOKEN -H 'content-type: application/json' \
//!   -d '[{"title": "Hello", "body": "…", "author_email": "user1@example.com", "tags": ["rust"]}]' \
//!   http://127.0.0.1:3000/admin/import
//! ```

pub mod naive;
pub mod optimized;
pub mod rows;
pub mod validate;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use sea_orm::DbErr;
use serde::Serialize;

use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::views::site::{Site, twins};
pub use rows::{ImportRow, ImportStatus, NewPost, parse};
pub use validate::validate;

/// Larger imports are refused with a 413: split them.
pub const IMPORT_MAX_BYTES: usize = 5 * 1024 * 1024;
/// More rows than this are refused with a 422.
pub const IMPORT_MAX_ROWS: usize = 10_000;

pub fn routes() -> Router<Site> {
    twins("/admin/import", post(import)).layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES))
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
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportReport>, JsonError> {
    let now = Utc::now();
    let posts = validate(&site.db, parse(&headers, body)?, now).await?;
    let imported = match variant {
        Variant::Naive => naive::insert(&site.db, &posts, now).await?,
        Variant::Optimized => optimized::insert(&site.db, &posts, now).await?,
    };
    site.cache.invalidate().await;
    Ok(Json(ImportReport { imported }))
}
