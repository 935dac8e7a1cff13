//! What the import accepts: the body's shape ([`ImportRow`], read by [`parse`]) and
//! what validation makes of a row ([`NewPost`]).

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use serde::{Deserialize, Serialize};

use super::ARRAY_MAX_BYTES;
use crate::base::entities::post;
use crate::base::error::AppError;

/// One post as the import accepts it and the export (`GET /admin/export.ndjson`) writes
/// it. Unknown fields are refused, not ignored, so a typo (`"tag"` for `"tags"`) does
/// not silently drop data.
#[derive(Debug, Deserialize, Serialize, PartialEq, Eq)]
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

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    #[default]
    Draft,
    Published,
    Archived,
}

impl From<post::Status> for ImportStatus {
    fn from(status: post::Status) -> Self {
        match status {
            post::Status::Draft => Self::Draft,
            post::Status::Published => Self::Published,
            post::Status::Archived => Self::Archived,
        }
    }
}

/// A row that passed validation: everything resolved to ids, ready to insert (and to
/// keep in the import's file until it is; see `spool`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
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
            comment_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        }
    }
}

/// A 422 that names the row (1-based) and the field.
pub fn row_error(row: usize, field: &str, problem: impl std::fmt::Display) -> AppError {
    AppError::Unprocessable(format!(
        "row {}, field `{field}`: {problem}. Nothing was imported.",
        row + 1
    ))
}

/// Why a JSON array above [`ARRAY_MAX_BYTES`] is refused, and what to send instead.
pub fn array_too_large() -> String {
    format!(
        "A JSON array is read whole, up to {} MB: send a larger import one post per line (`Content-Type: application/x-ndjson`), which is read as it arrives.",
        ARRAY_MAX_BYTES / (1024 * 1024)
    )
}

/// How the posts are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: one array of posts.
    JsonArray,
    /// `application/x-ndjson`: one post per line, as `GET /admin/export.ndjson` writes.
    Ndjson,
}

/// The body's format, from its `Content-Type`; a 415 for any other.
pub fn format(headers: &HeaderMap) -> Result<Format, AppError> {
    // Also what keeps a cross-site HTML form from posting an import: forms cannot send
    // these content types.
    format_of(headers).ok_or_else(|| {
        AppError::UnsupportedMediaType(
            "Send the posts as a JSON array with `Content-Type: application/json`, or one per line with `Content-Type: application/x-ndjson`.".to_owned(),
        )
    })
}

fn format_of(headers: &HeaderMap) -> Option<Format> {
    let media_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())?
        .split(';')
        .next()?
        .trim()
        .to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Some(Format::JsonArray),
        "application/x-ndjson" => Some(Format::Ndjson),
        _ => None,
    }
}

/// A whole body as rows: a JSON array, or one JSON object per line, each an
/// [`ImportRow`]. Errors say where.
pub fn parse(headers: &HeaderMap, bytes: &[u8]) -> Result<Vec<ImportRow>, AppError> {
    match format(headers)? {
        Format::JsonArray => parse_array(bytes),
        Format::Ndjson => parse_lines(bytes),
    }
}

fn parse_array(bytes: &[u8]) -> Result<Vec<ImportRow>, AppError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
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

/// One post per non-blank line; row `n` is the `n`th post.
fn parse_lines(bytes: &[u8]) -> Result<Vec<ImportRow>, AppError> {
    bytes
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .enumerate()
        .map(|(row, line)| parse_line(row, line))
        .collect()
}

/// Row `row` (0-based) of an NDJSON import: one JSON object.
pub fn parse_line(row: usize, line: &[u8]) -> Result<ImportRow, AppError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(line);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() {
            return AppError::BadRequest(format!(
                "row {} is not valid JSON: {inner}. Nothing was imported.",
                row + 1
            ));
        }
        match error.path().iter().find_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            _ => None,
        }) {
            Some(field) => row_error(row, &field, inner),
            None => {
                AppError::Unprocessable(format!("row {}: {inner}. Nothing was imported.", row + 1))
            }
        }
    })
}
