//! How an experiment measures a side: run it a few times inside a counting scope,
//! keep the statements and the SQL of the first run and every run's time. Writes run
//! in a transaction that is always rolled back ([`rolled_back`]), so an experiment
//! changes no data.
//!
//! How many times depends on what a run costs: up to [`MOST_RUNS`], but none that
//! would take the side past [`SIDE_BUDGET`] — a 1 ms side runs five times, a 100 ms
//! side three, a 265 ms or a 1.5 s side once — so a page costs about the sum of its
//! sides' first runs: under 1.1 s for every lab page on the standard dataset, 4-9 s for
//! aggregation at ten times it (`docs/lab.md`).

use std::future::Future;
use std::time::Duration;

use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::config::{DatabaseUrl, MailSettings};
use crate::entities::{post, tag};
use crate::error::AppError;
use crate::instrument;
use crate::mail::Mailer;
use crate::mail::sink::{Behaviour, SmtpSink};

/// The most runs of a side; the page shows their median, fastest and slowest.
pub const MOST_RUNS: usize = 5;

/// No further run that would take a side past this (judged by its last run; the
/// first run always happens): a side costs at most its first run or this budget.
pub const SIDE_BUDGET: Duration = Duration::from_millis(300);

/// How long the lab's SMTP server takes to accept a message (the email page says so).
pub const SMTP_DELAY: Duration = Duration::from_millis(50);

/// What experiments run against: the database (its pool, and its address, for the
/// experiment that opens connections of its own), and an SMTP server of the lab's own.
pub struct Workbench {
    pub db: DatabaseConnection,
    pub database_url: DatabaseUrl,
    mail_server: OnceCell<(SmtpSink, Mailer)>,
}

impl Workbench {
    pub fn new(db: DatabaseConnection, database_url: DatabaseUrl) -> Self {
        Self {
            db,
            database_url,
            mail_server: OnceCell::new(),
        }
    }

    /// A mailer for an SMTP server in this process that accepts every message after
    /// [`SMTP_DELAY`] and sends nothing on. Started on first use.
    pub async fn mail_server(&self) -> Result<&Mailer, AppError> {
        let (_, mailer) = self
            .mail_server
            .get_or_try_init(|| async {
                let sink = SmtpSink::start(Behaviour::Slow(SMTP_DELAY)).map_err(|error| {
                    anyhow::Error::new(error).context("starting the lab's SMTP server")
                })?;
                let mailer = Mailer::new(&MailSettings::Smtp(sink.url()))?;
                Ok::<_, AppError>((sink, mailer))
            })
            .await?;
        Ok(mailer)
    }

    /// The slug of the tag with the most published posts: the tag page the lab links.
    pub async fn busiest_tag_slug(&self) -> Result<String, AppError> {
        tag::Entity::find()
            .select_only()
            .column(tag::Column::Slug)
            .order_by_desc(tag::Column::PublishedPostCount)
            .into_tuple()
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound("The lab needs a tag; seed the database.".to_owned()))
    }

    /// The id and slug of the newest published post: the post experiments that act on
    /// one post act on.
    pub async fn newest_post(&self) -> Result<(i32, String), AppError> {
        newest_post(&self.db).await
    }
}

/// The id and slug of the newest published post in `db`.
pub async fn newest_post(db: &DatabaseConnection) -> Result<(i32, String), AppError> {
    post::Entity::find()
        .select_only()
        .columns([post::Column::Id, post::Column::Slug])
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_desc(post::Column::PublishedAt)
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound("The lab needs a published post; seed the database.".to_owned())
        })
}

/// Both sides of an experiment, measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub naive: Measured,
    pub optimized: Measured,
}

/// What one side brought back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Rows that came back from the database (or were changed, for writes).
    pub rows: Option<u64>,
    /// Bytes of column values that came back, where the experiment counts them.
    pub bytes: Option<u64>,
    /// The most bytes of output held in memory at once, where the experiment tracks it.
    pub held: Option<u64>,
    /// Of concurrent writes, how many the data kept, where the experiment races them.
    pub kept: Option<Kept>,
}

/// `kept` of `of` concurrent writes survived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    pub kept: u64,
    pub of: u64,
}

impl Fetched {
    pub fn rows(n: usize) -> Self {
        Self {
            rows: Some(n as u64),
            ..Self::default()
        }
    }
}

/// One side, measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Measured {
    pub statements: u32,
    /// Every run's time, fastest first (at least one).
    pub times: Vec<Duration>,
    /// Distinct SQL statements with how often each ran, in first-run order.
    pub sql: Vec<(usize, String)>,
    pub fetched: Fetched,
    /// How the database ran the side's statements, where the experiment asks.
    pub plan: Option<String>,
    /// A short sequence the experiment plays out live, step by step (the fragment
    /// cache's miss → hit → write → miss), where it has one.
    pub steps: Vec<Step>,
}

/// One step of a sequence played out live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub action: &'static str,
    /// What the step found: `hit`, `miss`, or what it did.
    pub outcome: &'static str,
    /// The cache generation the step read under.
    pub generation: Option<u64>,
    pub statements: u32,
}

impl Step {
    /// `hit`, `miss` or `write`: how the page colours the step.
    pub fn kind(&self) -> &'static str {
        match self.outcome {
            "hit" => "hit",
            "miss" => "miss",
            _ => "write",
        }
    }
}

impl Measured {
    pub fn median(&self) -> Duration {
        self.times
            .get(self.times.len() / 2)
            .copied()
            .unwrap_or_default()
    }

    pub fn fastest(&self) -> Duration {
        self.times.first().copied().unwrap_or_default()
    }

    pub fn slowest(&self) -> Duration {
        self.times.last().copied().unwrap_or_default()
    }

    pub fn runs(&self) -> usize {
        self.times.len()
    }
}

/// Runs `side` until [`MOST_RUNS`] runs or [`SIDE_BUDGET`] spent; keeps the SQL of
/// the first run.
pub async fn measure<F, Fut>(side: F) -> Result<Measured, AppError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Fetched, AppError>>,
{
    let began = Instant::now();
    let mut times = Vec::with_capacity(MOST_RUNS);
    let mut first = None;
    // Another run only if it fits: what was spent, plus what the last run took.
    let fits = |times: &[Duration]| {
        times
            .last()
            .is_none_or(|last| began.elapsed() + *last <= SIDE_BUDGET)
    };
    while times.len() < MOST_RUNS && fits(&times) {
        let started = Instant::now();
        let (fetched, stats, sql) = instrument::record_queries(side()).await;
        times.push(started.elapsed());
        let fetched = fetched?;
        first.get_or_insert((fetched, stats, sql));
    }
    times.sort();
    let (fetched, stats, sql) = first.unwrap_or_default();
    Ok(Measured {
        statements: stats.statements,
        times,
        sql: grouped(sql),
        fetched,
        plan: None,
        steps: Vec::new(),
    })
}

/// Runs `work` in a transaction and rolls it back, whatever `work` did — also when
/// `work` fails, and when the request is dropped midway (dropping an open transaction
/// rolls it back).
pub async fn rolled_back<T>(
    db: &DatabaseConnection,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let txn = crate::db::begin_write(db).await?;
    let done = work(&txn).await;
    txn.rollback().await?;
    done
}

/// Identical statements counted together, the way a debug toolbar shows them.
fn grouped(statements: Vec<String>) -> Vec<(usize, String)> {
    let mut groups: Vec<(usize, String)> = Vec::new();
    for sql in statements {
        match groups.iter_mut().find(|(_, seen)| *seen == sql) {
            Some((count, _)) => *count += 1,
            None => groups.push((1, sql)),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn a_side_taking(cost: Duration) -> Measured {
        measure(|| async move {
            tokio::time::sleep(cost).await;
            Ok(Fetched::default())
        })
        .await
        .unwrap_or_else(|_| unreachable!("the side cannot fail"))
    }

    #[tokio::test(start_paused = true)]
    async fn a_cheap_side_runs_five_times_and_an_expensive_one_once() {
        assert_eq!(a_side_taking(Duration::from_millis(1)).await.runs(), 5);
        assert_eq!(a_side_taking(Duration::from_millis(100)).await.runs(), 3);
        assert_eq!(a_side_taking(Duration::from_millis(265)).await.runs(), 1);
        assert_eq!(a_side_taking(Duration::from_millis(1500)).await.runs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn no_side_spends_more_than_its_first_run_or_its_budget() {
        for cost in [1, 10, 50, 100, 150, 299, 300, 301, 1000, 9000] {
            let cost = Duration::from_millis(cost);
            let runs = a_side_taking(cost).await.runs();
            let spent = cost * u32::try_from(runs).unwrap_or(u32::MAX);
            assert!(
                spent <= cost.max(SIDE_BUDGET),
                "{cost:?} a run: {runs} runs"
            );
        }
    }

    #[test]
    fn identical_statements_are_grouped_in_first_seen_order() {
        let groups = grouped(vec!["A".into(), "B".into(), "A".into(), "A".into()]);
        assert_eq!(groups, vec![(3, "A".to_owned()), (1, "B".to_owned())]);
    }
}
