//! The data and the sites comparisons start from, beyond the workbench's own: posts to
//! import and drafts to publish (put back before each run of a bench, which keeps its
//! writes), and sites of the lab's own, asked for a page
//! as a browser asks.

use axum::body::{Bytes, to_bytes};
use axum::extract::State;
use axum::http::{Method, Uri};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::base::config::{AdminToken, CacheSettings, Config, MailSettings, PageCacheSettings};
use crate::base::entities::{post, tag, user};
use crate::base::error::AppError;
use crate::base::slug::Slug;
use crate::base::variant::Variant;
use crate::services::http::crawlers::Visitor;
use crate::views::admin::import::{self, ImportRow, ImportStatus, NewPost};
use crate::views::cached_page::PageRequest;
use crate::views::pagination::Position;
use crate::views::site::Site;
use crate::views::{post_detail, post_list};

/// What imported posts' slugs start with: a bench deletes them before each run.
const IMPORTED: &str = "imported-";

/// `count` posts by the first user with the first two tags, validated as the import
/// validates them.
pub async fn posts_to_import(
    db: &DatabaseConnection,
    count: u64,
) -> Result<Vec<NewPost>, AppError> {
    let email: Option<String> = user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .order_by_asc(user::Column::Id)
        .into_tuple()
        .one(db)
        .await?;
    let email = email.ok_or_else(|| AppError::NotFound("Seed the database first.".to_owned()))?;
    let tags: Vec<String> = tag::Entity::find()
        .select_only()
        .column(tag::Column::Slug)
        .order_by_asc(tag::Column::Id)
        .limit(2)
        .into_tuple()
        .all(db)
        .await?;
    let rows = (0..count).map(|i| ImportRow {
        title: format!("Imported post {i}"),
        slug: Some(format!("{IMPORTED}{i}")),
        excerpt: None,
        body: "A paragraph of imported text. ".repeat(100),
        author_email: email.clone(),
        tags: tags.clone(),
        status: ImportStatus::Published,
        published_at: None,
    });
    import::validate(db, rows.collect(), Utc::now()).await
}

/// The posts [`posts_to_import`] made, deleted.
pub async fn delete_imported(db: &DatabaseConnection) -> Result<(), AppError> {
    post::Entity::delete_many()
        .filter(post::Column::Slug.starts_with(IMPORTED))
        .exec(db)
        .await?;
    vacuum(db, "posts, post_tags").await
}

/// Every post published, then the first `count` back to drafts.
pub async fn make_drafts(db: &DatabaseConnection, count: u64) -> Result<(), AppError> {
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Published))
        .filter(post::Column::Status.ne(post::Status::Published))
        .exec(db)
        .await?;
    post::Entity::update_many()
        .col_expr(post::Column::Status, Expr::value(post::Status::Draft))
        .filter(post::Column::Id.lte(i32::try_from(count).unwrap_or(i32::MAX)))
        .exec(db)
        .await?;
    vacuum(db, "posts").await
}

/// On PostgreSQL, the dead rows a run left cleared, as autovacuum would between bursts,
/// so every run starts from the same table (dead index entries of the same keys would
/// otherwise pile up and slow every later run).
async fn vacuum(db: &DatabaseConnection, tables: &str) -> Result<(), AppError> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(&format!("VACUUM {tables}")).await?;
    }
    Ok(())
}

/// A site on `db` with caches of its own as `cache` says, whole pages cached or not:
/// the lab neither fills nor reads the site's caches.
pub fn site_of_its_own(
    db: &DatabaseConnection,
    cache: &CacheSettings,
    page_cache: bool,
) -> Result<Site, AppError> {
    let config = Config {
        cache: cache.clone(),
        page_cache: PageCacheSettings {
            enabled: page_cache,
            ..PageCacheSettings::default()
        },
        mail: MailSettings::Folder(std::env::temp_dir().join("perfblog-lab-mail")),
        ..Config::default()
    };
    Ok(Site::new(
        db.clone(),
        &config,
        AdminToken::generate(),
        "http://lab".to_owned(),
    )?)
}

/// The list's first page (`None`) or a post's page, as the optimized handler answers a
/// browser (`Accept-Encoding: gzip, deflate, br, zstd`), read to its last byte.
pub async fn page(site: &Site, post: Option<&Slug>) -> Result<Bytes, AppError> {
    let request = |path: &str| PageRequest {
        uri: path.parse::<Uri>().unwrap_or_default(),
        accept_encoding: Some("gzip, deflate, br, zstd".to_owned()),
        if_none_match: None,
        written: None,
    };
    let state = State(site.clone());
    let response = match post {
        None => post_list::page(state, Variant::Optimized, Position::FIRST, request("/")).await?,
        Some(slug) => {
            let path = format!("/posts/{slug}");
            post_detail::page(
                state,
                Variant::Optimized,
                slug.clone(),
                Method::GET,
                Visitor::Reader,
                request(&path),
            )
            .await?
        }
    };
    to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("reading a page: {error}")))
}

/// The `User-Agent` of the browser the lab's requests stand for: Chrome on Linux.
pub const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/131.0.0.0 Safari/537.36";

/// `request` through `router`, in process, read to its last byte.
pub async fn answered(
    router: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> Result<axum::http::Response<Bytes>, AppError> {
    use tower::ServiceExt;
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let (head, body) = response.into_parts();
    let body = to_bytes(body, usize::MAX)
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("reading a response: {error}")))?;
    Ok(axum::http::Response::from_parts(head, body))
}
