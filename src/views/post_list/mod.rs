//! The post list: published posts, 20 a page, newest first (`GET /`).

pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::pagination::PageNumber;
use super::{Footer, Variant};
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
    /// "3 Feb 2025", or nothing for a post that was never published.
    pub fn published_on(&self) -> String {
        self.published_at
            .map(|at| at.format("%-d %b %Y").to_string())
            .unwrap_or_default()
    }

    /// Machine-readable date for `<time datetime=…>`.
    pub fn published_iso(&self) -> String {
        self.published_at
            .map(|at| at.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }
}

/// A tag as pages link to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagLink {
    pub name: String,
    pub slug: String,
}

/// What both loaders return and the template renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostListPage {
    pub posts: Vec<PostSummary>,
    pub page: PageNumber,
    /// Known by fetching one row more than the page shows: no `COUNT(*)` per page view.
    pub has_next: bool,
}

impl PostListPage {
    /// Past the last page there is nothing to show; only page 1 may be empty
    /// (a blog with no posts yet).
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

#[derive(Template, WebTemplate)]
#[template(path = "post_list.html")]
pub struct PostListTemplate {
    /// Relative path back to this variant's home; see `templates/base.html`.
    pub root: &'static str,
    pub page: PostListPage,
    pub footer: Footer,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(optimized_list))
}

async fn optimized_list(
    State(state): State<AppState>,
    page: PageNumber,
) -> Result<PostListTemplate, AppError> {
    let page = optimized::load_page(&state.db, page).await?.found()?;
    Ok(PostListTemplate {
        root: "./",
        page,
        footer: Footer::capture(Variant::Optimized),
    })
}
