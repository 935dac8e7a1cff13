//! The tag page: published posts with one tag, 20 a page (`GET /tags/{slug}`).
//!
//! Its entries are the post list's, so both loaders reuse the post list's
//! `summarize` steps; only the first queries — which tag, which posts — are this
//! view's own, and differ as the post list's `page_rows` do (whole rows or projected).

pub mod naive;
pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use super::cached_page::{self, PageRequest};
use super::pagination::{PageWindow, Position};
use super::post_list::{self, Pager, PostListPage};
use super::sidebar::{self, Fragment};
use crate::base::error::AppError;
use crate::base::instrument::component;
use crate::base::slug::Slug;
use crate::base::variant::Variant;
use crate::services::db::standbys::Reader;
use crate::views::footer::Footer;
use crate::views::site::Site;
use crate::views::site::TagLink;

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
    pub pager: Pager,
    pub sidebar: Fragment,
    pub footer: Footer,
}

/// `/tags/{slug}` is one level below its variant's home.
const ROOT: &str = "../";

/// `GET /tags/{slug}` and `GET /naive/tags/{slug}`.
#[tracing::instrument(
    level = "debug",
    name = "handler",
    skip_all,
    fields(label = "tag page")
)]
pub async fn page(
    State(site): State<Site>,
    variant: Variant,
    slug: Slug,
    page: Position,
    request: PageRequest,
) -> Result<Response, AppError> {
    let page = post_list::for_variant(variant, page)?;
    let key = format!("tag:{slug}:{page}");
    cached_page::serve(&site, variant, &key, &request, |hole, reader| {
        render(&site, reader, variant, &slug, page, hole, &request.uri)
    })
    .await
}

/// The tag page, read from `reader` and rendered, with its footer or the footer's hole.
pub async fn render(
    site: &Site,
    reader: Reader,
    variant: Variant,
    slug: &Slug,
    page: Position,
    footer_hole: bool,
    uri: &Uri,
) -> Result<TagPageTemplate, AppError> {
    let window = PageWindow::at(page);
    let tag_page = component("tag page", async {
        match variant {
            Variant::Naive => naive::load_page(reader.db(), slug, window).await,
            Variant::Optimized => optimized::load_page(reader.db(), slug, window).await,
        }
    })
    .await?;
    let TagPage { tag, page } = found(tag_page, slug)?;
    let sidebar = sidebar::for_page(site, variant, ROOT).await?;
    Ok(TagPageTemplate {
        root: ROOT,
        tag,
        pager: Pager::new(variant, &page),
        page,
        sidebar,
        footer: Footer::for_page(footer_hole, variant, uri),
    })
}

fn found(tag_page: Option<TagPage>, slug: &Slug) -> Result<TagPage, AppError> {
    let TagPage { tag, page } =
        tag_page.ok_or_else(|| AppError::NotFound(format!("There is no tag `{slug}`.")))?;
    Ok(TagPage {
        tag,
        page: page.found()?,
    })
}
