//! One post: its body, author and tags, and its latest 50 comments with their
//! authors' names (`GET /posts/{slug}`).

pub mod naive;
pub mod optimized;
pub mod write_behind;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::cached_page::{self, PageRequest};
use super::sidebar::{self, Fragment};
use crate::base::error::AppError;
use crate::base::instrument::component;
use crate::base::slug::Slug;
use crate::base::variant::Variant;
use crate::services::cache::Missing;
use crate::services::cache::page::{Rendered, Served};
use crate::services::db::standbys::{Reader, Server};
use crate::services::http::crawlers::Visitor;
use crate::views::footer::Footer;
use crate::views::site::Site;
use crate::views::site::TagLink;

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

/// "1 view", "42 views".
pub fn views_label(count: i32) -> String {
    match count {
        1 => "1 view".to_owned(),
        n => format!("{n} views"),
    }
}

impl PostDetail {
    pub fn published_on(&self) -> String {
        crate::views::site::human_date(self.published_at)
    }

    pub fn published_iso(&self) -> String {
        crate::views::site::iso_date(self.published_at)
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
        crate::views::site::human_date(Some(self.created_at))
    }

    pub fn created_iso(&self) -> String {
        crate::views::site::iso_date(Some(self.created_at))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "post_detail.html")]
pub struct PostDetailTemplate {
    pub root: &'static str,
    pub post: PostDetail,
    pub sidebar: Fragment,
    /// Rendered for the page cache: the view count is a hole, filled per request.
    pub views_hole: bool,
    pub footer: Footer,
}

impl PostDetailTemplate {
    /// "42 views".
    pub fn views(&self) -> String {
        views_label(self.post.view_count)
    }
}

/// `/posts/{slug}` is one level below its variant's home.
const ROOT: &str = "../";

/// `GET /posts/{slug}` and `GET /naive/posts/{slug}`: loads the post, counts the
/// view, adds the sidebar — three parts, each named in the footer. The optimized page
/// goes through the page cache, and counts the view on every GET, hit or miss: the
/// naive page by read-add-write, the optimized one into the write-behind tally. A HEAD
/// and a crawler's visit show the count without adding to it, and so does a
/// revalidation of the cached page that is answered `304`. (The naive twin's `304`s
/// still count: the conditional layer decides them after the page is made.)
#[tracing::instrument(
    level = "debug",
    name = "handler",
    skip_all,
    fields(label = "post page")
)]
pub async fn page(
    State(site): State<Site>,
    variant: Variant,
    slug: Slug,
    method: Method,
    visitor: Visitor,
    request: PageRequest,
) -> Result<Response, AppError> {
    // A HEAD asks about the page without reading it, and a crawler is no reader: no view.
    let viewed = method != Method::HEAD && visitor == Visitor::Reader;
    if cached_page::uses_page_cache(&site, variant) {
        return cached(&site, &slug, &request, viewed).await;
    }
    let (mut post, read_from) = component(
        "post",
        cached_page::rendered(&site, variant, &request, |reader| {
            load_from(&site, reader, variant, &slug)
        }),
    )
    .await?;
    if read_from != Server::Primary {
        // A standby's count may lack the views the last flush wrote: the primary's.
        post.view_count = write_behind::stored_views(&site.db, post.id).await?;
    }
    post.view_count = component("view counter", async {
        match (variant, viewed) {
            (Variant::Naive, true) => naive::count_view(&site.db, post.id).await,
            (Variant::Naive, false) => Ok(post.view_count),
            (Variant::Optimized, true) => {
                Ok(write_behind::count_loaded_view(&site.views, post.id, post.view_count).await)
            }
            (Variant::Optimized, false) => {
                Ok(write_behind::loaded_views(&site.views, post.id, post.view_count).await)
            }
        }
    })
    .await?;
    let sidebar = sidebar::for_page(&site, variant, ROOT).await?;
    let html = cached_page::render_traced(&PostDetailTemplate {
        root: ROOT,
        post,
        sidebar,
        views_hole: false,
        footer: Footer::capture(variant, &request.uri),
    })?;
    Ok(axum::response::Html(html).into_response())
}

/// The optimized post page from the page cache: the page with two holes, then the view
/// counted into the tally — no statement: the count is the one at render plus the
/// tally's views since — and put in the first hole.
/// A stale page (the database is down) still counts its view into the tally, and
/// shows its count at render plus the views since where the tally can tell.
async fn cached(
    site: &Site,
    slug: &Slug,
    request: &PageRequest,
    viewed: bool,
) -> Result<Response, AppError> {
    let variant = Variant::Optimized;
    let (page, served) = site
        .pages
        .get_or_render(&format!("post:{slug}"), || async {
            let epoch = site.views.flush_epoch();
            // After the epoch: a flush the epoch counts is on the server read.
            let (post, _) = component(
                "post",
                cached_page::rendered(site, variant, request, |reader| {
                    load_from(site, reader, variant, slug)
                }),
            )
            .await?;
            let subject =
                write_behind::subject_at_render(&site.views, post.id, post.view_count, epoch).await;
            let html = cached_page::render_traced(&PostDetailTemplate {
                root: ROOT,
                post,
                sidebar: sidebar::for_page(site, variant, ROOT).await?,
                views_hole: true,
                footer: Footer::hole(variant),
            })?;
            Ok(Rendered {
                html,
                subject: Some(subject),
            })
        })
        .await?;
    // A revalidation answered `304` shows nothing: no view either.
    let viewed = viewed && !cached_page::is_revalidated(&page, request);
    let views = match (page.subject, served) {
        // Not a view (a HEAD, a crawler): the count as it stands, without one more.
        (Some(subject), _) if !viewed => {
            Some(write_behind::cached_views(&site.views, subject).await)
        }
        (Some(subject), Served::Stale) => {
            Some(write_behind::count_stale_view(&site.views, subject).await)
        }
        (Some(subject), _) => Some(
            component(
                "view counter",
                write_behind::count_cached_view(&site.db, &site.views, subject),
            )
            .await?,
        ),
        (None, _) => None,
    };
    cached_page::respond(&page, served, request, variant, views.map(views_label))
}

/// The post, read from `reader`, and the server it was first asked of; or a 404.
async fn load_from(
    site: &Site,
    reader: Reader,
    variant: Variant,
    slug: &Slug,
) -> Result<(PostDetail, Server), AppError> {
    let post = load(site, &reader, variant, slug).await?;
    Ok((post, reader.server()))
}

/// The post, read from `reader`, or a 404. The optimized page also remembers a slug
/// that names no post, so a crawler asking for the same dead link over and over is
/// answered from the cache; the next write forgets the answer, so a post published
/// later shows. The answer is kept under the generation read before the post was
/// looked for, so a post published meanwhile is never hidden; and a standby's "no such
/// post" is checked on the primary first: it may not have replayed the publish yet.
async fn load(
    site: &Site,
    reader: &Reader,
    variant: Variant,
    slug: &Slug,
) -> Result<PostDetail, AppError> {
    let found = match variant {
        Variant::Naive => naive::load(reader.db(), slug).await?,
        Variant::Optimized => {
            let key = format!("missing-post:{slug}");
            let generation = match site.cache.missing(&key).await {
                Missing::Remembered => return Err(not_found(slug)),
                Missing::Unknown { generation } => generation,
            };
            let mut found = optimized::load(reader.db(), slug).await?;
            if found.is_none() && reader.server() != Server::Primary {
                found = optimized::load(&site.db, slug).await?;
            }
            if let (None, Some(generation)) = (&found, generation) {
                site.cache.remember_missing(&key, generation).await;
            }
            found
        }
    };
    found.ok_or_else(|| not_found(slug))
}

fn not_found(slug: &Slug) -> AppError {
    AppError::NotFound(format!("No published post has the slug `{slug}`."))
}
