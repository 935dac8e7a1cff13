//! The tag page: published posts with one tag, 20 a page (`GET /tags/{slug}`).
//!
//! Its entries are the post list's, so both loaders reuse the post list's
//! `summarize`; only the first query — which posts — is this view's own.

pub mod naive;
pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;

use super::pagination::{PageNumber, PageWindow};
use super::post_list::{PostListPage, TagLink};
use super::sidebar::{self, Fragment};
use super::slug::Slug;
use super::{Footer, Variant};
use crate::error::AppError;
use crate::state::AppState;

/// What both loaders return: the tag and a page of its posts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagPage {
    pub tag: TagLink,
    pub page: PostListPage,
}

#[derive(Template, WebTemplate)]
#[template(path = "tag_page.html")]
pub struct TagPageTemplate {
    pub root: &'static str,
    pub tag: TagLink,
    pub page: PostListPage,
    pub sidebar: Fragment,
    pub footer: Footer,
}

/// `/tags/{slug}` is one level below its variant's home.
const ROOT: &str = "../";

pub async fn optimized(
    State(state): State<AppState>,
    slug: Slug,
    page: PageNumber,
    uri: Uri,
) -> Result<TagPageTemplate, AppError> {
    let tag_page = found(
        optimized::load_page(&state.db, &slug, PageWindow::new(page)).await?,
        &slug,
    )?;
    let sidebar = sidebar::cached::load(&state.cache, &state.db, ROOT).await?;
    Ok(render(tag_page, sidebar, Variant::Optimized, &uri))
}

pub async fn naive(
    State(state): State<AppState>,
    slug: Slug,
    page: PageNumber,
    uri: Uri,
) -> Result<TagPageTemplate, AppError> {
    let tag_page = found(
        naive::load_page(&state.db, &slug, PageWindow::new(page)).await?,
        &slug,
    )?;
    let sidebar = sidebar::naive(&state.db, ROOT).await?;
    Ok(render(tag_page, sidebar, Variant::Naive, &uri))
}

/// An unknown tag is a 404, and so is a page past its last.
fn found(tag_page: Option<TagPage>, slug: &Slug) -> Result<TagPage, AppError> {
    let TagPage { tag, page } =
        tag_page.ok_or_else(|| AppError::NotFound(format!("There is no tag `{slug}`.")))?;
    Ok(TagPage {
        tag,
        page: page.found()?,
    })
}

fn render(tag_page: TagPage, sidebar: Fragment, variant: Variant, uri: &Uri) -> TagPageTemplate {
    TagPageTemplate {
        root: ROOT,
        tag: tag_page.tag,
        page: tag_page.page,
        sidebar,
        footer: Footer::capture(variant, uri),
    }
}
