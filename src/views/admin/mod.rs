//! Admin actions, naive and optimized: publish every draft, archive published posts
//! older than a date, tag every post whose title matches a search. Each action reports
//! how many rows it changed; `GET /admin` offers them as forms.
//!
//! Both variants change exactly the same rows; they differ in how many statements
//! they send to do it (see `naive.rs` and `optimized.rs`).
//!
//! The page also lists the emails the outbox gave up on, to requeue (`outbox.rs`).

pub mod auth;
pub mod export;
pub mod import;
pub mod naive;
pub mod one_transaction;
pub mod optimized;
pub mod outbox;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::middleware;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Deserialize;

use super::echo::shorten;
use super::form::FormInput;
use crate::base::entities::{post, tag};
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::base::variant::Variant;
use crate::views::footer::Footer;
use crate::views::site::Site;
use crate::views::site::twins;

/// Every admin route, naive twins included, behind the admin credentials.
pub fn routes(site: &Site) -> Router<Site> {
    Router::new()
        .route("/admin", get(page))
        .merge(twins("/admin/publish-drafts", post(publish_drafts)))
        .merge(twins("/admin/archive", post(archive)))
        .merge(twins("/admin/tag-posts", post(tag_posts)))
        .merge(import::routes())
        .merge(export::routes())
        .merge(outbox::routes())
        .route_layer(middleware::from_fn_with_state(
            site.admin_token.clone(),
            auth::require_admin,
        ))
}

/// "Archive published posts before this day": a date, today at the latest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveCutoff(DateTime<Utc>);

impl ArchiveCutoff {
    /// `raw` is `YYYY-MM-DD`; posts published before that day (UTC) are archived.
    pub fn parse(raw: &str, now: DateTime<Utc>) -> Result<Self, String> {
        let day = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
            format!(
                "`before` must be a date like 2025-01-31; `{}` is not.",
                shorten(raw)
            )
        })?;
        if day > now.date_naive() {
            return Err(format!(
                "`before` is {day}, which is in the future; nothing published after today can be archived."
            ));
        }
        Ok(Self(day.and_time(chrono::NaiveTime::MIN).and_utc()))
    }

    pub fn instant(self) -> DateTime<Utc> {
        self.0
    }
}

/// "Posts whose title contains …", case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TitleSearch(String);

impl TitleSearch {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.is_empty() || text.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "`title_contains` must be 1 to {} characters: the posts whose title contains it get the tag.",
                Self::MAX_LEN
            ));
        }
        Ok(Self(text.to_lowercase()))
    }

    /// `LOWER(title) LIKE '%text%'`, with `%`, `_` and `\` in the text matched literally.
    /// (`LOWER` is portable; PostgreSQL's `ILIKE` is not.)
    pub fn condition(&self) -> SimpleExpr {
        let mut pattern = String::from("%");
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        Expr::expr(Func::lower(Expr::col((post::Entity, post::Column::Title))))
            .like(LikeExpr::new(pattern).escape('\\'))
    }
}

/// The tag an admin named: it must exist (tags are not created by tagging).
pub async fn resolve_tag(db: &impl ConnectionTrait, raw: &str) -> Result<i32, AppError> {
    let unknown = || AppError::Unprocessable(format!("There is no tag `{}`.", shorten(raw)));
    let slug = Slug::parse(raw.trim()).map_err(|_| unknown())?;
    tag::Entity::find()
        .select_only()
        .column(tag::Column::Id)
        .filter(tag::Column::Slug.eq(slug.as_str()))
        .into_tuple::<i32>()
        .one(db)
        .await?
        .ok_or_else(unknown)
}

#[derive(Debug, Deserialize)]
pub struct ArchiveForm {
    pub before: String,
}

#[derive(Debug, Deserialize)]
pub struct TagPostsForm {
    pub tag: String,
    pub title_contains: String,
}

/// What an action did, as the result page shows it.
#[derive(Template, WebTemplate)]
#[template(path = "admin_result.html")]
pub struct ActionResultTemplate {
    pub root: &'static str,
    pub action: &'static str,
    pub rows_changed: u64,
    pub footer: Footer,
}

const PUBLISH: &str = "Publish every draft";
const ARCHIVE: &str = "Archive published posts before a date";
const TAG: &str = "Tag posts whose title matches";

/// `POST /admin/publish-drafts` and its naive twin.
async fn publish_drafts(
    State(site): State<Site>,
    variant: Variant,
    uri: Uri,
) -> Result<ActionResultTemplate, AppError> {
    let now = Utc::now();
    let changed = match variant {
        Variant::Naive => naive::publish_drafts(&site.db, now).await?,
        Variant::Optimized => optimized::publish_drafts(&site.db, now).await?,
    };
    report(&site, PUBLISH, changed, variant, &uri).await
}

/// `POST /admin/archive` and its naive twin.
async fn archive(
    State(site): State<Site>,
    variant: Variant,
    uri: Uri,
    FormInput(form): FormInput<ArchiveForm>,
) -> Result<ActionResultTemplate, AppError> {
    let now = Utc::now();
    let cutoff = ArchiveCutoff::parse(&form.before, now).map_err(AppError::Unprocessable)?;
    let changed = match variant {
        Variant::Naive => naive::archive_published_before(&site.db, cutoff, now).await?,
        Variant::Optimized => optimized::archive_published_before(&site.db, cutoff, now).await?,
    };
    report(&site, ARCHIVE, changed, variant, &uri).await
}

/// `POST /admin/tag-posts` and its naive twin.
async fn tag_posts(
    State(site): State<Site>,
    variant: Variant,
    uri: Uri,
    FormInput(form): FormInput<TagPostsForm>,
) -> Result<ActionResultTemplate, AppError> {
    let search = TitleSearch::parse(&form.title_contains).map_err(AppError::Unprocessable)?;
    let tag_id = resolve_tag(&site.db, &form.tag).await?;
    let changed = match variant {
        Variant::Naive => naive::tag_matching(&site.db, tag_id, &search).await?,
        Variant::Optimized => optimized::tag_matching(&site.db, tag_id, &search).await?,
    };
    report(&site, TAG, changed, variant, &uri).await
}

/// After a write: forget what the cache holds, and say how many rows changed.
async fn report(
    site: &Site,
    action: &'static str,
    rows_changed: u64,
    variant: Variant,
    uri: &Uri,
) -> Result<ActionResultTemplate, AppError> {
    site.cache.invalidate().await;
    Ok(ActionResultTemplate {
        root: match variant {
            Variant::Naive => "../../",
            Variant::Optimized => "../",
        },
        action,
        rows_changed,
        footer: Footer::capture(variant, uri).without_twin(),
    })
}

/// `GET /admin`: how many posts are in each state, the actions as forms, and the
/// emails the outbox gave up on.
#[derive(Template, WebTemplate)]
#[template(path = "admin.html")]
pub struct AdminTemplate {
    pub root: &'static str,
    pub counts: Vec<(String, i64)>,
    pub tags: Vec<(String, String)>,
    pub today: String,
    pub dead: outbox::DeadEmails,
    pub footer: Footer,
}

async fn page(State(site): State<Site>, uri: Uri) -> Result<AdminTemplate, AppError> {
    let counts: Vec<(post::Status, i64)> = post::Entity::find()
        .select_only()
        .column(post::Column::Status)
        .column_as(post::Column::Id.count(), "posts")
        .group_by(post::Column::Status)
        .into_tuple()
        .all(&site.db)
        .await?;
    let tags = tag::Entity::find()
        .select_only()
        .columns([tag::Column::Slug, tag::Column::Name])
        .into_tuple()
        .all(&site.db)
        .await?;
    let dead = outbox::DeadEmails::load(&site.db).await?;
    Ok(AdminTemplate {
        root: "./",
        counts: counts
            .into_iter()
            .map(|(status, count)| (format!("{status:?}").to_lowercase(), count))
            .collect(),
        tags,
        today: Utc::now().format("%Y-%m-%d").to_string(),
        dead,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noon(day: &str) -> DateTime<Utc> {
        format!("{day}T12:00:00Z").parse().unwrap()
    }

    #[test]
    fn a_cutoff_is_a_past_or_present_day() {
        let now = noon("2026-11-25");
        assert_eq!(
            ArchiveCutoff::parse("2026-11-25", now).unwrap().instant(),
            "2026-11-25T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(
            ArchiveCutoff::parse("2026-11-26", now)
                .unwrap_err()
                .contains("future")
        );
        for bad in ["", "yesterday", "2026-13-01", "25/11/2026"] {
            assert!(
                ArchiveCutoff::parse(bad, now)
                    .unwrap_err()
                    .contains("must be a date")
            );
        }
    }

    #[test]
    fn title_searches_are_bounded_and_lowercased() {
        assert!(TitleSearch::parse("   ").is_err());
        assert!(TitleSearch::parse(&"x".repeat(101)).is_err());
        assert_eq!(
            TitleSearch::parse(" Async ").unwrap(),
            TitleSearch("async".to_owned())
        );
    }
}
