//! The post list: published posts, 20 a page, newest first (`GET /`, `GET /naive/`).
//!
//! Each side is two steps:
//!
//! - `page_rows`, which posts and which columns: whole rows (naive) or only the
//!   columns a list entry shows (optimized) — column projection;
//! - `summarize`, what each entry shows besides: the author, tags and comment count
//!   asked for per post (naive) or for the whole page at once (optimized) — eager
//!   loading — with the comment count read from `posts.comment_count` on the
//!   optimized side, the denormalized counter every write keeps
//!   (`optimized::summarize_counting` is the step between: eager loading alone).
//!
//! The tag page shows the same entries, so it reuses this view's page model, its
//! `summarize` steps and its ordering.

pub mod naive;
pub mod optimized;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use super::cached_page::{self, PageRequest};
use super::cursor::Cursor;
use super::pagination::{PageWindow, Position};
use super::sidebar::{self, Fragment};
use crate::base::entities::post;
use crate::base::error::AppError;
use crate::base::instrument::component;
use crate::base::variant::Variant;
use crate::services::db::standbys::Reader;
use crate::views::footer::Footer;
use crate::views::site::Site;
use crate::views::site::TagLink;

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
        crate::views::site::human_date(self.published_at)
    }

    pub fn published_iso(&self) -> String {
        crate::views::site::iso_date(self.published_at)
    }
}

/// What both loaders return and the template renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostListPage {
    pub posts: Vec<PostSummary>,
    /// Where the page starts: a page number, or after a cursor (optimized pages only).
    pub position: Position,
    /// Known by fetching one row more than the page shows (see `pagination`).
    pub has_next: bool,
}

impl PostListPage {
    /// Past the last page there is nothing to show; only page 1 may be empty
    /// (a blog, or a tag, with no posts yet).
    pub fn found(self) -> Result<Self, AppError> {
        if self.posts.is_empty() && self.position != Position::FIRST {
            return Err(AppError::NotFound(match self.position {
                Position::Page(number) => format!("Page {number} is past the last page of posts."),
                Position::After(_) => "There are no posts older than this position.".to_owned(),
            }));
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

/// The links under a list to the neighbouring pages, each variant its own way: the
/// naive twin by page number (`OFFSET`), the optimized pages by cursor (keyset) for
/// older posts. A keyset page does not know its number, so its way back is to the
/// newest posts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pager {
    pub newer: Option<PagerLink>,
    /// `?page=N+1` or `?after=CURSOR`.
    pub older: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PagerLink {
    pub href: String,
    pub label: &'static str,
}

impl Pager {
    pub fn new(variant: Variant, page: &PostListPage) -> Pager {
        let newer = match page.position {
            Position::Page(number) => number.previous().map(|newer| PagerLink {
                href: format!("?page={newer}"),
                label: "← Newer posts",
            }),
            Position::After(_) => Some(PagerLink {
                href: "?page=1".to_owned(),
                label: "← Newest posts",
            }),
        };
        let older = match variant {
            Variant::Naive => page
                .position
                .page_number()
                .map(|n| format!("?page={}", n.next())),
            Variant::Optimized => page
                .posts
                .last()
                .and_then(|last| Cursor::after(last.published_at, last.id))
                .map(|cursor| format!("?after={cursor}")),
        };
        Pager {
            newer,
            older: older.filter(|_| page.has_next),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "post_list.html")]
pub struct PostListTemplate {
    /// Relative path back to this variant's home; see `templates/base.html`.
    pub root: &'static str,
    pub page: PostListPage,
    pub pager: Pager,
    pub sidebar: Fragment,
    pub footer: Footer,
}

/// The list is its variant's home: links start here.
const ROOT: &str = "./";

/// `GET /` and `GET /naive/`: the optimized list through the page cache.
#[tracing::instrument(
    level = "debug",
    name = "handler",
    skip_all,
    fields(label = "post list")
)]
pub async fn page(
    State(site): State<Site>,
    variant: Variant,
    page: Position,
    request: PageRequest,
) -> Result<Response, AppError> {
    let page = for_variant(variant, page)?;
    let key = format!("list:{page}");
    cached_page::serve(&site, variant, &key, &request, |hole, reader| {
        render(&site, reader, variant, page, hole, &request.uri)
    })
    .await
}

/// The list page, rendered: its posts (read from `reader`), its sidebar, its footer
/// (or the footer's hole).
pub async fn render(
    site: &Site,
    reader: Reader,
    variant: Variant,
    page: Position,
    footer_hole: bool,
    uri: &Uri,
) -> Result<PostListTemplate, AppError> {
    let window = PageWindow::at(page);
    let page = component("post list", async {
        match variant {
            Variant::Naive => naive::load_page(reader.db(), window).await,
            Variant::Optimized => optimized::load_page(reader.db(), window).await,
        }
    })
    .await?
    .found()?;
    let sidebar = sidebar::for_page(site, variant, ROOT).await?;
    Ok(PostListTemplate {
        root: ROOT,
        pager: Pager::new(variant, &page),
        page,
        sidebar,
        footer: Footer::for_page(footer_hole, variant, uri),
    })
}

/// The naive twin pages by number only: a cursor is the optimized pages' idea.
pub fn for_variant(variant: Variant, position: Position) -> Result<Position, AppError> {
    match (variant, position) {
        (Variant::Naive, Position::After(_)) => Err(AppError::BadRequest(
            "The naive twin pages by number: use `?page=N` (`after` is the optimized pages' cursor).".to_owned(),
        )),
        (_, position) => Ok(position),
    }
}
