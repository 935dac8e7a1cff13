//! Validating an import in three steps: the rows' shapes (no database), one fetch of
//! everything the rows refer to (three queries however many rows), and resolving each
//! row against it (no database). The first problem stops the import, naming its row
//! and field. An import read a batch at a time is validated a batch at a time
//! ([`Seen`]): three queries per batch, and its slugs checked against every earlier
//! batch's.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::IMPORT_MAX_ROWS;
use super::rows::{ImportRow, ImportStatus, NewPost, row_error};
use crate::base::entities::{post, tag, user};
use crate::base::error::AppError;
use crate::base::slug::{Slug, slugify};
use crate::views::cursor::Cursor;

const MAX_TAGS_PER_POST: usize = 10;
const MAX_TITLE_CHARS: usize = 200;
const MAX_BODY_CHARS: usize = 200_000;
const EXCERPT_CHARS: usize = 200;

/// Checks every row of an import sent whole (a JSON array) and returns the rows ready
/// to insert, or the first problem.
pub async fn validate(
    db: &impl ConnectionTrait,
    rows: Vec<ImportRow>,
    now: DateTime<Utc>,
) -> Result<Vec<NewPost>, AppError> {
    check_row_count(rows.len())?;
    Seen::default().validate(db, rows, now).await
}

/// What can be checked without the database, for an import sent whole: sizes, and each
/// row's slug (given, or made from the title) — unique within the import. Returns the
/// slugs, row by row.
pub fn check_shapes(rows: &[ImportRow]) -> Result<Vec<String>, AppError> {
    check_row_count(rows.len())?;
    Seen::default().check_shapes(rows)
}

/// An import sent whole is held whole: it is refused above [`IMPORT_MAX_ROWS`].
fn check_row_count(rows: usize) -> Result<(), AppError> {
    if rows > IMPORT_MAX_ROWS {
        return Err(AppError::Unprocessable(format!(
            "{rows} rows is more than the {IMPORT_MAX_ROWS} a JSON array takes; send them one per line (`application/x-ndjson`), which has no such limit."
        )));
    }
    Ok(())
}

/// What an import has shown so far, across its batches: how many rows, and the row
/// each slug first appeared on — the one thing kept from every batch.
#[derive(Debug, Default)]
pub struct Seen {
    rows: usize,
    first_row_of_slug: HashMap<String, usize>,
}

impl Seen {
    /// Rows checked so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Checks the import's next batch of rows and returns them ready to insert, or the
    /// first problem, named by its row in the whole import.
    pub async fn validate(
        &mut self,
        db: &impl ConnectionTrait,
        rows: Vec<ImportRow>,
        now: DateTime<Utc>,
    ) -> Result<Vec<NewPost>, AppError> {
        let first_row = self.rows;
        let slugs = self.check_shapes(&rows)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let found = Lookups::fetch(db, &rows, &slugs).await?;
        resolve(rows, slugs, &found, now, first_row)
    }

    /// The next batch's sizes and slugs, each slug unique within the whole import.
    fn check_shapes(&mut self, rows: &[ImportRow]) -> Result<Vec<String>, AppError> {
        let mut slugs = Vec::with_capacity(rows.len());
        for row in rows {
            let index = self.rows;
            let slug = check_row(index, row)?;
            if let Some(first) = self.first_row_of_slug.insert(slug.clone(), index) {
                return Err(row_error(
                    index,
                    "slug",
                    format!("`{slug}` is also the slug of row {}", first + 1),
                ));
            }
            slugs.push(slug);
            self.rows += 1;
        }
        Ok(slugs)
    }
}

/// One row's sizes, and its slug.
fn check_row(index: usize, row: &ImportRow) -> Result<String, AppError> {
    let title = row.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        let rule = format!("must be 1 to {MAX_TITLE_CHARS} characters");
        return Err(row_error(index, "title", rule));
    }
    if row.body.trim().is_empty() || row.body.chars().count() > MAX_BODY_CHARS {
        let rule = format!("must be 1 to {MAX_BODY_CHARS} characters");
        return Err(row_error(index, "body", rule));
    }
    if row.tags.len() > MAX_TAGS_PER_POST {
        let rule = format!("at most {MAX_TAGS_PER_POST} tags a post");
        return Err(row_error(index, "tags", rule));
    }
    check_storable(index, row)?;
    if let Some(at) = row.published_at
        && !Cursor::can_name(at)
    {
        let rule = format!(
            "must be {}: the lists' page links cannot point past a post published outside those days",
            Cursor::RANGE
        );
        return Err(row_error(index, "published_at", rule));
    }
    let slug = match &row.slug {
        Some(raw) => Slug::parse(raw).map_err(|rule| row_error(index, "slug", rule))?,
        None => Slug::parse(&slugify(title)).map_err(|_| {
            row_error(
                index,
                "title",
                "needs a letter or digit to make a slug from",
            )
        })?,
    };
    Ok(slug.to_string())
}

/// PostgreSQL's text cannot hold NUL: a row with one would fail at the INSERT (or at
/// the lookup of its author or tags) with a 500. SQLite would store it. Either way it
/// is not text anyone meant to send.
fn check_storable(index: usize, row: &ImportRow) -> Result<(), AppError> {
    let texts = [
        ("title", Some(&row.title)),
        ("excerpt", row.excerpt.as_ref()),
        ("body", Some(&row.body)),
        ("author_email", Some(&row.author_email)),
    ];
    let tags = row.tags.iter().map(|tag| ("tags", Some(tag)));
    for (field, text) in texts.into_iter().chain(tags) {
        if text.is_some_and(|text| text.contains('\0')) {
            return Err(row_error(
                index,
                field,
                "contains a NUL character (\\u0000), which is not text",
            ));
        }
    }
    Ok(())
}

/// Everything the rows refer to, fetched once: authors by email, tags by slug, and
/// which of the rows' slugs are taken already.
#[derive(Debug, Default)]
pub struct Lookups {
    pub authors: HashMap<String, i32>,
    pub tags: HashMap<String, i32>,
    pub taken: HashSet<String>,
}

impl Lookups {
    /// Three queries, however many rows.
    pub async fn fetch(
        db: &impl ConnectionTrait,
        rows: &[ImportRow],
        slugs: &[String],
    ) -> Result<Self, DbErr> {
        let emails: HashSet<&str> = rows.iter().map(|row| row.author_email.trim()).collect();
        // An address's account is its first user: a commenter who typed the address
        // under another name is a later one, and never an author.
        let authors = user::Entity::find()
            .select_only()
            .column(user::Column::Email)
            .column_as(user::Column::Id.min(), "id")
            .filter(user::Column::Email.is_in(emails))
            .group_by(user::Column::Email)
            .into_tuple::<(String, i32)>()
            .all(db)
            .await?;
        let tag_slugs: HashSet<&str> = rows
            .iter()
            .flat_map(|row| row.tags.iter().map(String::as_str))
            .collect();
        let tags = tag::Entity::find()
            .select_only()
            .columns([tag::Column::Slug, tag::Column::Id])
            .filter(tag::Column::Slug.is_in(tag_slugs))
            .into_tuple::<(String, i32)>()
            .all(db)
            .await?;
        let taken = post::Entity::find()
            .select_only()
            .column(post::Column::Slug)
            .filter(post::Column::Slug.is_in(slugs.iter().map(String::as_str)))
            .into_tuple::<String>()
            .all(db)
            .await?;
        Ok(Self {
            authors: authors.into_iter().collect(),
            tags: tags.into_iter().collect(),
            taken: taken.into_iter().collect(),
        })
    }
}

/// Each row against what was found: its slug free, its author and tags existing. The
/// rows are the import's from `first_row` on.
pub fn resolve(
    rows: Vec<ImportRow>,
    slugs: Vec<String>,
    found: &Lookups,
    now: DateTime<Utc>,
    first_row: usize,
) -> Result<Vec<NewPost>, AppError> {
    rows.into_iter()
        .zip(slugs)
        .enumerate()
        .map(|(index, (row, slug))| resolve_row(first_row + index, row, slug, found, now))
        .collect()
}

fn resolve_row(
    index: usize,
    row: ImportRow,
    slug: String,
    found: &Lookups,
    now: DateTime<Utc>,
) -> Result<NewPost, AppError> {
    if found.taken.contains(&slug) {
        return Err(row_error(
            index,
            "slug",
            format!("`{slug}` is already taken"),
        ));
    }
    let email = row.author_email.trim();
    let author_id = *found.authors.get(email).ok_or_else(|| {
        row_error(
            index,
            "author_email",
            format!("no user has the email `{email}`"),
        )
    })?;
    let mut tag_ids = Vec::with_capacity(row.tags.len());
    for tag in &row.tags {
        let id = *found
            .tags
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
    Ok(NewPost {
        title: row.title.trim().to_owned(),
        slug,
        excerpt,
        body: row.body,
        author_id,
        status,
        published_at,
        tag_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(title: &str, slug: Option<&str>) -> ImportRow {
        serde_json::from_value(serde_json::json!({
            "title": title,
            "slug": slug,
            "body": "Some text.",
            "author_email": "ada@example.com",
            "tags": ["rust", "sql", "rust"],
            "status": "published",
        }))
        .unwrap()
    }

    fn message(error: AppError) -> String {
        error.public_message().to_owned()
    }

    #[test]
    fn shapes_give_each_row_a_slug_unique_within_the_import() {
        let slugs = check_shapes(&[row("Hello, World!", None), row("Other", Some("x-1"))]).unwrap();
        assert_eq!(slugs, ["hello-world", "x-1"]);

        let clash = check_shapes(&[row("A", Some("same")), row("B", Some("same"))]).unwrap_err();
        assert!(message(clash).contains("row 2, field `slug`: `same` is also the slug of row 1"));
        let no_slug = check_shapes(&[row("!!!", None)]).unwrap_err();
        assert!(message(no_slug).contains("row 1, field `title`"));
        let empty = check_shapes(&[row("   ", None)]).unwrap_err();
        assert!(message(empty).contains("must be 1 to 200 characters"));
    }

    #[test]
    fn resolving_names_the_row_and_field_of_the_first_unknown_reference() {
        let found = Lookups {
            authors: [("ada@example.com".to_owned(), 7)].into(),
            tags: [("rust".to_owned(), 1), ("sql".to_owned(), 2)].into(),
            taken: ["taken".to_owned()].into(),
        };
        let now = Utc::now();
        let posts = resolve(vec![row("A", None)], vec!["a".to_owned()], &found, now, 0).unwrap();
        assert_eq!(posts[0].author_id, 7);
        assert_eq!(posts[0].tag_ids, [1, 2], "a repeated tag is linked once");
        assert_eq!(posts[0].published_at, Some(now));

        let taken = resolve(
            vec![row("A", None)],
            vec!["taken".to_owned()],
            &found,
            now,
            0,
        );
        assert!(message(taken.unwrap_err()).contains("`taken` is already taken"));
        let stranger = Lookups {
            authors: HashMap::new(),
            ..Lookups::default()
        };
        let unknown = resolve(
            vec![row("A", None)],
            vec!["a".to_owned()],
            &stranger,
            now,
            0,
        );
        assert!(message(unknown.unwrap_err()).contains("row 1, field `author_email`"));
    }

    #[test]
    fn a_slug_is_checked_against_every_earlier_batch_and_rows_are_numbered_across_them() {
        let mut seen = Seen::default();
        assert_eq!(
            seen.check_shapes(&[row("A", None), row("B", None)])
                .unwrap(),
            ["a", "b"]
        );
        let again = seen.check_shapes(&[row("C", None), row("A again", Some("a"))]);
        assert!(
            message(again.unwrap_err())
                .contains("row 4, field `slug`: `a` is also the slug of row 1")
        );
        let mut seen = Seen::default();
        seen.check_shapes(&[row("A", None)]).unwrap();
        let empty = seen.check_shapes(&[row("  ", None)]).unwrap_err();
        assert!(message(empty).contains("row 2, field `title`"));
    }
}
