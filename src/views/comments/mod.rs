//! Adding a comment (`POST /posts/{slug}/comments`) and telling the post's author by
//! email. Both variants validate and store the comment the same way; they differ in
//! when the email is sent — inside the request (`naive.rs`) or after it, from the
//! outbox (`optimized.rs`).

pub mod naive;
pub mod optimized;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::response::Redirect;
use axum::routing::post;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, JoinType,
    QueryFilter, QuerySelect, RelationTrait,
};
use serde::Deserialize;

use super::form::FormInput;
use crate::base::entities::{comment, post, user};
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::base::variant::Variant;
use crate::services::db::counters;
use crate::services::mail::{self, CommentNotification};
use crate::views::site::Site;
use crate::views::site::twins;

/// Both comment routes, with bodies capped at [`MAX_FORM_BYTES`] (a 413 with a
/// message past it). The server puts its per-address rate limit in front of them.
pub fn routes(site: Site) -> Router {
    twins("/posts/{slug}/comments", post(add))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .with_state(site)
}

/// A comment form is a few kilobytes; anything much larger is not one.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Longer comments are refused (422): a comment box is not a place for essays.
pub const MAX_COMMENT_CHARS: usize = 5_000;
const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    pub name: String,
    pub email: String,
    pub body: String,
}

/// A comment that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewComment {
    pub name: String,
    pub email: String,
    pub body: String,
}

impl NewComment {
    pub fn parse(form: CommentForm) -> Result<Self, String> {
        let name = form.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(format!(
                "Your name must be 1 to {MAX_NAME_CHARS} characters."
            ));
        }
        if name.chars().any(char::is_control) {
            return Err("Your name must be on one line.".to_owned());
        }
        let email = form.email.trim();
        if email.len() > 254 || !mail::is_address(email) {
            return Err("That email address does not look right.".to_owned());
        }
        let body = form.body.trim();
        if body.is_empty() {
            return Err("The comment is empty.".to_owned());
        }
        if body.chars().count() > MAX_COMMENT_CHARS {
            return Err(format!(
                "The comment is longer than {MAX_COMMENT_CHARS} characters."
            ));
        }
        // PostgreSQL's text cannot hold NUL (the insert would fail: a 500), and no other
        // control character belongs in a comment either.
        if body
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(
                "The comment contains control characters; write text, tabs and line breaks only."
                    .to_owned(),
            );
        }
        Ok(Self {
            name: name.to_owned(),
            // ASCII only: Unicode lowercasing can turn a valid address into one that is
            // not (`İ` becomes `i` and a combining dot), which no email could reach.
            email: email.to_ascii_lowercase(),
            body: body.to_owned(),
        })
    }
}

/// The post being commented on, and whom to tell.
#[derive(Clone, Debug, FromQueryResult)]
pub struct CommentTarget {
    pub post_id: i32,
    pub slug: String,
    pub title: String,
    pub author_name: String,
    pub author_email: String,
}

impl CommentTarget {
    /// One query: the published post with this slug, its author joined.
    pub async fn find(db: &impl ConnectionTrait, slug: &Slug) -> Result<Option<Self>, DbErr> {
        post::Entity::find()
            .select_only()
            .column_as(post::Column::Id, "post_id")
            .columns([post::Column::Slug, post::Column::Title])
            .column_as(user::Column::Name, "author_name")
            .column_as(user::Column::Email, "author_email")
            .join(JoinType::InnerJoin, post::Relation::User.def())
            .filter(post::Column::Slug.eq(slug.as_str()))
            .filter(post::Column::Status.eq(post::Status::Published))
            .into_model()
            .one(db)
            .await
    }

    pub fn notification(&self, comment: &NewComment, public_url: &str) -> CommentNotification {
        CommentNotification {
            author_name: self.author_name.clone(),
            author_email: self.author_email.clone(),
            post_title: self.title.clone(),
            post_url: format!("{public_url}/posts/{}#comments", self.slug),
            commenter_name: comment.name.clone(),
            comment: comment.body.clone(),
        }
    }
}

/// Stores the comment under the commenter's user — the name typed at the address typed
/// (created on its first comment), so an address never lends a comment another
/// person's name — and adds it to the post's `comment_count`. Four statements,
/// to run in a transaction; both variants run exactly these.
pub async fn insert_comment(
    db: &impl ConnectionTrait,
    target: &CommentTarget,
    comment: &NewComment,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    user::Entity::insert(user::ActiveModel {
        name: Set(comment.name.clone()),
        email: Set(comment.email.clone()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([user::Column::Email, user::Column::Name])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let commenter_id: i32 = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Email.eq(comment.email.as_str()))
        .filter(user::Column::Name.eq(comment.name.as_str()))
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("user {}", comment.email)))?;
    comment::Entity::insert(comment::ActiveModel {
        post_id: Set(target.post_id),
        author_id: Set(commenter_id),
        body: Set(comment.body.clone()),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    counters::comment_added(db, target.post_id).await
}

/// `POST /posts/{slug}/comments` and its naive twin. The optimized variant stores
/// the comment and its email in one transaction and answers at once (the outbox
/// worker sends the email); the naive one sends the email before answering.
#[tracing::instrument(
    level = "debug",
    name = "handler",
    skip_all,
    fields(label = "add comment")
)]
pub async fn add(
    State(site): State<Site>,
    variant: Variant,
    slug: Slug,
    FormInput(form): FormInput<CommentForm>,
) -> Result<Redirect, AppError> {
    let target = CommentTarget::find(&site.db, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("No published post has the slug `{slug}`.")))?;
    let comment = NewComment::parse(form).map_err(AppError::Unprocessable)?;
    let (db, url, now) = (&site.db, site.public_url.as_str(), Utc::now());
    match variant {
        Variant::Naive => {
            let added = naive::add(db, &site.mailer, &target, &comment, url, now).await;
            // Stored even when the email failed: the sidebar's counts changed.
            site.cache.invalidate().await;
            added?;
        }
        Variant::Optimized => {
            optimized::add(db, &target, &comment, url, now).await?;
            site.cache.invalidate().await;
            site.outbox_wake.notify_one();
        }
    }
    Ok(Redirect::to(&format!(
        "{}/posts/{slug}#comments",
        variant.path_prefix()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, email: &str, body: &str) -> CommentForm {
        CommentForm {
            name: name.to_owned(),
            email: email.to_owned(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn accepts_a_plain_comment() {
        let comment = NewComment::parse(form(" Ada ", "Ada@Example.com", " Hi! ")).unwrap();
        assert_eq!(comment.name, "Ada");
        assert_eq!(comment.email, "ada@example.com");
        assert_eq!(comment.body, "Hi!");
    }

    #[test]
    fn the_stored_address_is_still_an_address() {
        let comment = NewComment::parse(form("Ada", "İLKAY@Example.com", "Hi")).unwrap();
        assert_eq!(comment.email, "İlkay@example.com");
        assert!(mail::is_address(&comment.email));
    }

    #[test]
    fn keeps_tabs_and_line_breaks_in_the_body() {
        let comment = NewComment::parse(form("Ada", "ada@example.com", "a\tb\r\n\nc")).unwrap();
        assert_eq!(comment.body, "a\tb\r\n\nc");
    }

    #[test]
    fn refuses_empty_long_multi_line_and_control_character_input() {
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        for (bad, says) in [
            (form("Ada", "ada@example.com", "   \n\t "), "empty"),
            (form("Ada", "ada@example.com", &long), "longer than"),
            (form("", "ada@example.com", "Hi"), "name"),
            (
                form("Ada\r\nBcc: x@y.z", "ada@example.com", "Hi"),
                "one line",
            ),
            (form("Ada", "ada@example.com\r\nBcc: x@y.z", "Hi"), "email"),
            (form("Ada", "not-an-address", "Hi"), "email"),
            (
                form("Ada", "ada@example.com", "Hi\0there"),
                "control characters",
            ),
            (
                form("Ada", "ada@example.com", "\u{1b}[31mred"),
                "control characters",
            ),
        ] {
            let message = NewComment::parse(bad).unwrap_err();
            assert!(message.contains(says), "{message}");
        }
    }
}
