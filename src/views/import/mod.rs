//! `POST /admin/import`: a JSON array of posts, inserted all or nothing.
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

use std::collections::{HashMap, HashSet};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};

use super::slug::Slug;
use crate::entities::{post, tag, user};
use crate::error::AppError;
use crate::seed::slugify;
use crate::state::AppState;

/// Larger imports are refused with a 413: split them.
pub const IMPORT_MAX_BYTES: usize = 5 * 1024 * 1024;
/// More rows than this are refused with a 422.
pub const IMPORT_MAX_ROWS: usize = 10_000;
const MAX_TAGS_PER_POST: usize = 10;
const MAX_TITLE_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 200_000;
const EXCERPT_CHARS: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/import", post(import_optimized))
        .route("/naive/admin/import", post(import_naive))
        .layer(DefaultBodyLimit::max(IMPORT_MAX_BYTES))
}

/// One post as the import accepts it. Unknown fields are refused, not ignored, so a
/// typo (`"tag"` for `"tags"`) does not silently drop data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    pub title: String,
    /// Made from the title when absent.
    #[serde(default)]
    pub slug: Option<String>,
    /// The body's first 200 characters when absent.
    #[serde(default)]
    pub excerpt: Option<String>,
    pub body: String,
    /// An existing user's email.
    pub author_email: String,
    /// Slugs of existing tags.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub status: ImportStatus,
    /// Defaults to the time of the import for published and archived posts.
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    #[default]
    Draft,
    Published,
    Archived,
}

/// A row that passed validation: everything resolved to ids, ready to insert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPost {
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub body: String,
    pub author_id: i32,
    pub status: post::Status,
    pub published_at: Option<DateTime<Utc>>,
    pub tag_ids: Vec<i32>,
}

impl NewPost {
    pub fn active_model(&self, now: DateTime<Utc>) -> post::ActiveModel {
        post::ActiveModel {
            id: NotSet,
            author_id: Set(self.author_id),
            title: Set(self.title.clone()),
            slug: Set(self.slug.clone()),
            excerpt: Set(self.excerpt.clone()),
            body: Set(self.body.clone()),
            status: Set(self.status),
            published_at: Set(self.published_at),
            view_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub imported: u64,
}

fn row_error(row: usize, field: &str, problem: impl std::fmt::Display) -> AppError {
    AppError::Unprocessable(format!(
        "row {}, field `{field}`: {problem}. Nothing was imported.",
        row + 1
    ))
}

/// Checks every row, resolving authors and tags in three queries in all, and returns
/// the rows ready to insert — or the first problem, naming its row and field.
pub async fn validate(
    db: &impl ConnectionTrait,
    rows: Vec<ImportRow>,
    now: DateTime<Utc>,
) -> Result<Vec<NewPost>, AppError> {
    if rows.len() > IMPORT_MAX_ROWS {
        return Err(AppError::Unprocessable(format!(
            "{} rows is more than the {IMPORT_MAX_ROWS} one import takes; split it.",
            rows.len()
        )));
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut slugs = Vec::with_capacity(rows.len());
    let mut first_row_of_slug: HashMap<String, usize> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let title = row.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(row_error(
                index,
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters"),
            ));
        }
        if row.body.trim().is_empty() || row.body.chars().count() > MAX_BODY_CHARS {
            return Err(row_error(
                index,
                "body",
                format!("must be 1 to {MAX_BODY_CHARS} characters"),
            ));
        }
        if row.tags.len() > MAX_TAGS_PER_POST {
            return Err(row_error(
                index,
                "tags",
                format!("at most {MAX_TAGS_PER_POST} tags a post"),
            ));
        }
        let slug = match &row.slug {
            Some(raw) => Slug::parse(raw)
                .map_err(|rule| row_error(index, "slug", rule))?
                .to_string(),
            None => Slug::parse(&slugify(title))
                .map_err(|_| {
                    row_error(
                        index,
                        "title",
                        "needs a letter or digit to make a slug from",
                    )
                })?
                .to_string(),
        };
        if let Some(first) = first_row_of_slug.insert(slug.clone(), index) {
            return Err(row_error(
                index,
                "slug",
                format!("`{slug}` is also the slug of row {}", first + 1),
            ));
        }
        slugs.push(slug);
    }

    let emails: HashSet<&str> = rows.iter().map(|row| row.author_email.trim()).collect();
    let authors: HashMap<String, i32> = user::Entity::find()
        .select_only()
        .columns([user::Column::Email, user::Column::Id])
        .filter(user::Column::Email.is_in(emails))
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let tag_slugs: HashSet<&str> = rows
        .iter()
        .flat_map(|row| row.tags.iter().map(String::as_str))
        .collect();
    let tags: HashMap<String, i32> = tag::Entity::find()
        .select_only()
        .columns([tag::Column::Slug, tag::Column::Id])
        .filter(tag::Column::Slug.is_in(tag_slugs))
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let taken: HashSet<String> = post::Entity::find()
        .select_only()
        .column(post::Column::Slug)
        .filter(post::Column::Slug.is_in(slugs.iter().map(String::as_str)))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();

    let mut posts = Vec::with_capacity(rows.len());
    for (index, (row, slug)) in rows.into_iter().zip(slugs).enumerate() {
        if taken.contains(&slug) {
            return Err(row_error(
                index,
                "slug",
                format!("`{slug}` is already taken"),
            ));
        }
        let email = row.author_email.trim();
        let author_id = *authors.get(email).ok_or_else(|| {
            row_error(
                index,
                "author_email",
                format!("no user has the email `{email}`"),
            )
        })?;
        let mut tag_ids = Vec::with_capacity(row.tags.len());
        for tag in &row.tags {
            let id = *tags
                .get(tag.as_str())
                .ok_or_else(|| row_error(index, "tags", format!("there is no tag `{tag}`")))?;
            if !tag_ids.contains(&id) {
                tag_ids.push(id);
            }
        }
        let (status, published_at) = match row.status {
            ImportStatus::Draft => (post::Status::Draft, None),
            ImportStatus::Published => (
                post::Status::Published,
                Some(row.published_at.unwrap_or(now)),
            ),
            ImportStatus::Archived => (
                post::Status::Archived,
                Some(row.published_at.unwrap_or(now)),
            ),
        };
        let excerpt = row
            .excerpt
            .unwrap_or_else(|| row.body.chars().take(EXCERPT_CHARS).collect());
        posts.push(NewPost {
            title: row.title.trim().to_owned(),
            slug,
            excerpt,
            body: row.body,
            author_id,
            status,
            published_at,
            tag_ids,
        });
    }
    Ok(posts)
}

/// The body as rows: JSON, an array, each element an [`ImportRow`]. Errors say where.
pub fn parse(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<ImportRow>, AppError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if !is_json {
        // Also what keeps a cross-site HTML form from posting an import: forms cannot
        // send this content type.
        return Err(AppError::UnsupportedMediaType(
            "Send the posts as a JSON array with `Content-Type: application/json`.".to_owned(),
        ));
    }
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!(
                "The import is larger than {} MB; split it into several imports.",
                IMPORT_MAX_BYTES / (1024 * 1024)
            ))
        } else {
            AppError::BadRequest("The request body could not be read.".to_owned())
        }
    })?;
    let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() {
            return AppError::BadRequest(format!("The body is not valid JSON: {inner}."));
        }
        let mut row = None;
        let mut field = None;
        for segment in error.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } if row.is_none() => row = Some(*index),
                serde_path_to_error::Segment::Map { key } if field.is_none() => {
                    field = Some(key.clone())
                }
                _ => {}
            }
        }
        match (row, field) {
            (Some(row), Some(field)) => row_error(row, &field, inner),
            (Some(row), None) => {
                AppError::Unprocessable(format!("row {}: {inner}. Nothing was imported.", row + 1))
            }
            _ => {
                AppError::Unprocessable(format!("The body must be a JSON array of posts: {inner}."))
            }
        }
    })
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

async fn import_optimized(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportReport>, JsonError> {
    let now = Utc::now();
    let posts = validate(&state.db, parse(&headers, body)?, now).await?;
    let imported = optimized::insert(&state.db, &posts, now).await?;
    state.cache.invalidate().await;
    Ok(Json(ImportReport { imported }))
}

async fn import_naive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportReport>, JsonError> {
    let now = Utc::now();
    let posts = validate(&state.db, parse(&headers, body)?, now).await?;
    let imported = naive::insert(&state.db, &posts, now).await?;
    state.cache.invalidate().await;
    Ok(Json(ImportReport { imported }))
}
