//! Scratch data: rows and databases that exist only while an experiment or a bench
//! needs them.
//!
//! A [`ScratchPost`] is a draft the lab's race counts views on: invisible on the site
//! (drafts are listed nowhere and count in no counter), deleted afterwards — and, if a
//! crash left one behind, at the next start ([`sweep_scratch_posts`]).
//! [`database`] makes a database of its own for a bench that writes, so the standard
//! dataset stays untouched.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QuerySelect,
};

use crate::base::config::{Backend, DatabaseUrl};
use crate::base::entities::{post, user};
use crate::base::error::AppError;

/// What scratch posts' slugs start with (start-up deletes any a crash left behind).
pub const SCRATCH_SLUG_PREFIX: &str = "lab-race-";

/// A draft post that exists only for an experiment, deleted afterwards — by
/// [`remove`], or, if the request is dropped midway, by its `Drop`.
///
/// [`remove`]: ScratchPost::remove
pub struct ScratchPost {
    db: DatabaseConnection,
    pub id: i32,
    /// The user it is written by.
    pub author_id: i32,
    removed: bool,
}

impl ScratchPost {
    pub async fn create(db: &DatabaseConnection) -> Result<Self, AppError> {
        let author: Option<i32> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .into_tuple()
            .one(db)
            .await?;
        let author = author.ok_or_else(|| {
            AppError::NotFound("The lab needs a user; seed the database.".to_owned())
        })?;
        let now = Utc::now();
        let inserted = post::ActiveModel {
            author_id: Set(author),
            title: Set("The lab's race".to_owned()),
            slug: Set(format!(
                "{SCRATCH_SLUG_PREFIX}{:016x}",
                rand::random::<u64>()
            )),
            excerpt: Set(String::new()),
            body: Set(String::new()),
            status: Set(post::Status::Draft),
            published_at: Set(None),
            view_count: Set(0),
            comment_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(Self {
            db: db.clone(),
            id: inserted.id,
            author_id: author,
            removed: false,
        })
    }

    pub async fn remove(mut self) -> Result<(), AppError> {
        post::Entity::delete_by_id(self.id).exec(&self.db).await?;
        self.removed = true;
        Ok(())
    }
}

impl Drop for ScratchPost {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // A dropped request cannot await: the deletion runs on its own.
        let (db, id) = (self.db.clone(), self.id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = post::Entity::delete_by_id(id).exec(&db).await;
            });
        }
    }
}

/// Deletes the scratch posts a crashed lab left behind (run at start-up).
pub async fn sweep_scratch_posts(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let swept = post::Entity::delete_many()
        .filter(post::Column::Slug.starts_with(SCRATCH_SLUG_PREFIX))
        .filter(post::Column::Status.eq(post::Status::Draft))
        .exec(db)
        .await?;
    Ok(swept.rows_affected)
}

/// A fresh, empty database named after `beside` and `name`: on SQLite a file next to
/// `beside`'s, on PostgreSQL `{database}_{name}` on the same server. Whatever was there
/// under that name is dropped first.
pub async fn database(beside: &DatabaseUrl, name: &str) -> anyhow::Result<DatabaseUrl> {
    let url = match beside.backend() {
        Backend::Sqlite => {
            let file = beside.sqlite_file().unwrap_or("perfblog.sqlite");
            let dir = std::path::Path::new(file)
                .parent()
                .map(|dir| dir.to_string_lossy().into_owned())
                .filter(|dir| !dir.is_empty())
                .unwrap_or_else(|| ".".to_owned());
            let file = format!("{dir}/scratch-{name}.sqlite");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
            format!("sqlite://{file}?mode=rwc")
        }
        Backend::Postgres => {
            let server = sea_orm::Database::connect(beside.as_str()).await?;
            let mut url = url::Url::parse(beside.as_str())?;
            let database = format!("{}_{name}", url.path().trim_start_matches('/'));
            for statement in [
                format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
                format!("CREATE DATABASE \"{database}\""),
            ] {
                server.execute_unprepared(&statement).await?;
            }
            url.set_path(&database);
            url.to_string()
        }
    };
    DatabaseUrl::parse(&url).map_err(anyhow::Error::msg)
}
