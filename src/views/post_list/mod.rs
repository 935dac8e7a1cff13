//! The post list: published posts, 20 a page, newest first (`GET /`, `GET /naive/`).
//!
//! The tag page shows the same entries, so it reuses this view's page model, its
//! `summarize` step (naive and optimized) and its ordering.

pub mod naive;
pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use super::pagination::{PageNumber, PageWindow};
use super::sidebar::{self, Fragment};
use super::{Footer, Variant};
use crate::entities::{post, tag};
use crate::error::AppError;
use crate::state::AppState;

/// One entry of a list page: everything the page shows about a post, nothing more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostSummary {
    pub id: i32,
    pub title: String,
    pub slug: String,
    pub excerpt: String,
    pub author_name: String,
    pub published_at: Option<DateTime<Utc>>,
    pub tags: Vec<TagLink>,
    pub comment_count: u64,
}

impl PostSummary {
    pub fn published_on(&self) -> String {
        super::human_date(self.published_at)
    }

    pub fn published_iso(&self) -> String {
        super::iso_date(self.published_at)
    }
}

/// A tag as pages link to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagLink {
    pub name: String,
    pub slug: String,
}

impl From<tag::Model> for TagLink {
    fn from(tag: tag::Model) -> Self {
        TagLink {
            name: tag.name,
            slug: tag.slug,
        }
    }
}

/// What both loaders return and the template renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostListPage {
    pub posts: Vec<PostSummary>,
    pub page: PageNumber,
    /// Known by fetching one row more than the page shows (see `pagination`).
    pub has_next: bool,
}

impl PostListPage {
    /// Past the last page there is nothing to show; only page 1 may be empty
    /// (a blog, or a tag, with no posts yet).
    pub fn found(self) -> Result<Self, AppError> {
        if self.posts.is_empty() && self.page != PageNumber::FIRST {
            return Err(AppError::NotFound(format!(
                "Page {} is past the last page of posts.",
                self.page
            )));
        }
        Ok(self)
    }
}

/// Published posts, newest first, ties broken by id so pages never overlap. Both
/// variants filter and order the same way; the index
/// `(status, published_at DESC, id DESC)` serves exactly this.
pub fn published_newest_first<Q: QueryFilter + QueryOrder>(query: Q) -> Q {
    query
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .order_by_desc(post::Column::Id)
}

#[derive(Template, WebTemplate)]
#[template(path = "post_list.html")]
pub struct PostListTemplate {
    /// Relative path back to this variant's home; see `templates/base.html`.
    pub root: &'static str,
    pub page: PostListPage,
    pub sidebar: Fragment,
    pub footer: Footer,
}

/// The list is its variant's home: links start here.
const ROOT: &str = "./";

pub async fn optimized(
    State(state): State<AppState>,
    page: PageNumber,
    uri: Uri,
) -> Result<PostListTemplate, AppError> {
    let page = optimized::load_page(&state.db, PageWindow::new(page))
        .await?
        .found()?;
    let sidebar = sidebar::cached::load(&state.cache, &state.db, ROOT).await?;
    Ok(render(page, sidebar, Variant::Optimized, &uri))
}

pub async fn naive(
    State(state): State<AppState>,
    page: PageNumber,
    uri: Uri,
) -> Result<PostListTemplate, AppError> {
    let page = naive::load_page(&state.db, PageWindow::new(page))
        .await?
        .found()?;
    let sidebar = sidebar::naive(&state.db, ROOT).await?;
    Ok(render(page, sidebar, Variant::Naive, &uri))
}

fn render(page: PostListPage, sidebar: Fragment, variant: Variant, uri: &Uri) -> PostListTemplate {
    PostListTemplate {
        root: ROOT,
        page,
        sidebar,
        footer: Footer::capture(variant, uri),
    }
}
