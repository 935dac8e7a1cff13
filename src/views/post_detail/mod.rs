//! One post: its body, author and tags, and its latest 50 comments with their
//! authors' names (`GET /posts/{slug}`).

pub mod naive;
pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;
use chrono::{DateTime, Utc};

use super::post_list::TagLink;
use super::slug::Slug;
use super::{Footer, Variant};
use crate::error::AppError;
use crate::state::AppState;

/// Comments shown under a post, newest first.
pub const LATEST_COMMENTS: u64 = 50;

/// What both loaders return and the template renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostDetail {
    pub id: i32,
    pub title: String,
    pub slug: String,
    pub body: String,
    pub author_name: String,
    pub published_at: Option<DateTime<Utc>>,
    pub tags: Vec<TagLink>,
    /// The latest [`LATEST_COMMENTS`], newest first.
    pub comments: Vec<CommentView>,
    /// All of the post's comments, shown or not.
    pub comment_count: u64,
}

impl PostDetail {
    pub fn published_on(&self) -> String {
        super::human_date(self.published_at)
    }

    pub fn published_iso(&self) -> String {
        super::iso_date(self.published_at)
    }

    /// The body is plain text; blank lines separate paragraphs.
    pub fn paragraphs(&self) -> impl Iterator<Item = &str> {
        self.body.split("\n\n").filter(|p| !p.trim().is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentView {
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl CommentView {
    pub fn created_on(&self) -> String {
        super::human_date(Some(self.created_at))
    }

    pub fn created_iso(&self) -> String {
        super::iso_date(Some(self.created_at))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "post_detail.html")]
pub struct PostDetailTemplate {
    pub root: &'static str,
    pub post: PostDetail,
    pub footer: Footer,
}

pub async fn optimized(
    State(state): State<AppState>,
    slug: Slug,
    uri: Uri,
) -> Result<PostDetailTemplate, AppError> {
    let post = optimized::load(&state.db, &slug).await?;
    render(post, &slug, Variant::Optimized, &uri)
}

pub async fn naive(
    State(state): State<AppState>,
    slug: Slug,
    uri: Uri,
) -> Result<PostDetailTemplate, AppError> {
    let post = naive::load(&state.db, &slug).await?;
    render(post, &slug, Variant::Naive, &uri)
}

fn render(
    post: Option<PostDetail>,
    slug: &Slug,
    variant: Variant,
    uri: &Uri,
) -> Result<PostDetailTemplate, AppError> {
    let post = post
        .ok_or_else(|| AppError::NotFound(format!("No published post has the slug `{slug}`.")))?;
    Ok(PostDetailTemplate {
        root: "../",
        post,
        footer: Footer::capture(variant, uri),
    })
}
