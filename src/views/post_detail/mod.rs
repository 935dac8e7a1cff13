//! One post: its body, author and tags, and its latest 50 comments with their
//! authors' names (`GET /posts/{slug}`).

pub mod naive;
pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;
use chrono::{DateTime, Utc};

use super::TagLink;
use super::sidebar::{self, Fragment};
use super::slug::Slug;
use super::{Footer, Site, Variant};
use crate::error::AppError;
use crate::instrument::component;

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
    /// Views counted so far, this one included once the handler has counted it.
    pub view_count: i32,
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
    pub sidebar: Fragment,
    pub footer: Footer,
}

/// `/posts/{slug}` is one level below its variant's home.
const ROOT: &str = "../";

/// `GET /posts/{slug}` and `GET /naive/posts/{slug}`: loads the post, counts the
/// view, adds the sidebar — three parts, each named in the footer.
pub async fn page(
    State(site): State<Site>,
    variant: Variant,
    slug: Slug,
    uri: Uri,
) -> Result<PostDetailTemplate, AppError> {
    let mut post = component("post", load(&site, variant, &slug)).await?;
    component("view counter", async {
        match variant {
            Variant::Naive => naive::count_view(&site.db, post.id).await,
            Variant::Optimized => optimized::count_view(&site.db, post.id).await,
        }
    })
    .await?;
    post.view_count += 1;
    let sidebar = sidebar::for_page(&site, variant, ROOT).await?;
    Ok(PostDetailTemplate {
        root: ROOT,
        post,
        sidebar,
        footer: Footer::capture(variant, &uri),
    })
}

/// The post, or a 404. The optimized page also remembers a slug that names no post,
/// so a crawler asking for the same dead link over and over is answered from the
/// cache; the next write forgets the answer, so a post published later shows.
async fn load(site: &Site, variant: Variant, slug: &Slug) -> Result<PostDetail, AppError> {
    let found = match variant {
        Variant::Naive => naive::load(&site.db, slug).await?,
        Variant::Optimized => {
            let missing = format!("missing-post:{slug}");
            if site.cache.knows_missing(&missing).await {
                return Err(not_found(slug));
            }
            let found = optimized::load(&site.db, slug).await?;
            if found.is_none() {
                site.cache.remember_missing(&missing).await;
            }
            found
        }
    };
    found.ok_or_else(|| not_found(slug))
}

fn not_found(slug: &Slug) -> AppError {
    AppError::NotFound(format!("No published post has the slug `{slug}`."))
}
