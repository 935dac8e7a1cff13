//! Atomic counters: add to a counter in Rust and write it back, or let the database
//! add.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QuerySelect,
};

use super::measure::{Fetched, Kept, Outcome, Workbench, measure, rolled_back};
use super::{Comparison, POST_PAGE, Pattern, Side};
use crate::entities::{post, user};
use crate::error::AppError;
use crate::views::post_detail::{naive, optimized};

/// Views each side's race sends at once.
pub const RACERS: u64 = 20;

pub static PATTERN: Pattern = Pattern {
    slug: "atomic-counters",
    title: "Atomic counters",
    django: "`filter(pk=post.pk).update(view_count=F('view_count') + 1)` instead of `post.view_count += 1; post.save()`",
    rails: Some("`increment_counter` / `update_counters`"),
    problem: "Reading a counter, adding one in Rust and writing it back loses updates when views arrive together.",
    setup: "Timing: both sides count one view of the newest post inside a transaction the lab rolls back. The race: a scratch draft post (deleted afterwards) takes 20 views at once from each side, and the page shows how many of the 20 it kept.",
    why: "SET view_count = view_count + 1 does the addition under the row's lock, so concurrent views queue instead of overwriting each other: 200 concurrent views count 200, where the naive counter keeps a handful. It is also one statement instead of two.",
    when_not: "Hot rows still serialise on their lock; at very high rates a counter is better batched (count in memory or Redis, flush periodically).",
    shows_on: &[POST_PAGE],
    naive: Side {
        summary: "read `view_count`, add 1 in Rust, write it back",
        code: &[code!("src/views/post_detail/naive.rs", "count_view")],
    },
    optimized: Side {
        summary: "`SET view_count = view_count + 1`",
        code: &[code!("src/views/post_detail/optimized.rs", "count_view")],
    },
    tests: &["tests/api/view_counter.rs"],
    benches: &[Comparison {
        what: "atomic counter: views in flight at once",
        bench: "atomic_counter",
        naive: "read-add-write",
        optimized: "increment",
        headline: Some("1"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let (id, _) = bench.newest_post().await?;
    let mut outcome = Outcome {
        naive: measure(|| async {
            rolled_back(db, async |txn| Ok(naive::count_view(txn, id).await?)).await?;
            Ok(Fetched::rows(1))
        })
        .await?,
        optimized: measure(|| async {
            rolled_back(db, async |txn| Ok(optimized::count_view(txn, id).await?)).await?;
            Ok(Fetched::rows(1))
        })
        .await?,
    };
    let scratch = ScratchPost::create(db).await?;
    let naive_race = race(db, scratch.id, async |db, id| {
        naive::count_view(db, id).await
    });
    outcome.naive.fetched.kept = Some(naive_race.await?);
    let atomic_race = race(db, scratch.id, async |db, id| {
        optimized::count_view(db, id).await
    });
    outcome.optimized.fetched.kept = Some(atomic_race.await?);
    scratch.remove().await?;
    Ok(outcome)
}

/// Sends [`RACERS`] views of `post_id` at once (futures of this one task, each on a
/// connection of its own from the pool) and reads how many the row kept.
pub async fn race(
    db: &DatabaseConnection,
    post_id: i32,
    count_view: impl AsyncFn(&DatabaseConnection, i32) -> Result<i32, DbErr>,
) -> Result<Kept, AppError> {
    post::Entity::update_many()
        .col_expr(post::Column::ViewCount, Expr::value(0))
        .filter(post::Column::Id.eq(post_id))
        .exec(db)
        .await?;
    let views = (0..RACERS).map(|_| count_view(db, post_id));
    for counted in futures_util::future::join_all(views).await {
        counted?;
    }
    let kept: Option<i32> = post::Entity::find_by_id(post_id)
        .select_only()
        .column(post::Column::ViewCount)
        .into_tuple()
        .one(db)
        .await?;
    Ok(Kept {
        kept: u64::try_from(kept.unwrap_or(0)).unwrap_or(0),
        of: RACERS,
    })
}

/// A draft post that exists only for a race: invisible on the site (drafts are listed
/// nowhere and count in no counter), and deleted afterwards — by [`remove`], or, if
/// the request is dropped midway, by its `Drop`.
///
/// [`remove`]: ScratchPost::remove
pub struct ScratchPost {
    db: DatabaseConnection,
    pub id: i32,
    removed: bool,
}

/// What scratch posts' slugs start with (start-up deletes any a crash left behind).
pub const SCRATCH_SLUG_PREFIX: &str = "lab-race-";

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
            removed: false,
        })
    }

    pub async fn remove(mut self) -> Result<(), AppError> {
        post::Entity::delete_by_id(self.id).exec(&self.db).await?;
        self.removed = true;
        Ok(())
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
