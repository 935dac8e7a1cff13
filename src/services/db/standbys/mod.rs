//! Reading from PostgreSQL's streaming standbys (`DATABASE_REPLICA_URLS`): which server
//! a page reads from, and how the app knows a standby already has what the page needs.
//!
//! A standby replays the primary's write-ahead log (WAL) a little late. Every position
//! in that log is a number, its LSN: the primary tells where its log ends
//! (`pg_current_wal_lsn()`), a standby how far it has replayed
//! (`pg_last_wal_replay_lsn()`). A standby that has replayed past the LSN of a write
//! shows that write — exactly, with no guess about how long replication takes.
//!
//! [`Reads`] picks a server for each read by one of three rules:
//! - [`Reads::after`]: the reader's own last write (its LSN, from a cookie) must be on
//!   the standby — read-your-writes, what the pages use when nothing caches them;
//! - [`Reads::current`]: everything the primary has must be on the standby — for what a
//!   cache keeps and serves to everyone (one statement on the primary asks where its
//!   log ends);
//! - [`Reads::round_robin`] and [`Reads::pinned`]: the plain router and the pinning
//!   router the read-replicas lessons compare it with.
//!
//! When no standby qualifies, the primary answers: it is never wrong, only busier.
//! Writes, transactions and the workers always use the primary (`Site::db`).
//!
//! [`Reads::watch`] asks each standby every [`CHECK_EVERY`] how far it has replayed,
//! and the primary where its log ends; a standby that does not answer, is not in
//! recovery, or lags more than `DATABASE_REPLICA_MAX_LAG` is left out until it
//! catches up. `/healthz` says `degraded` meanwhile.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::commented::Db;
use crate::base::instrument;

mod watcher;

pub use watcher::{CHECK_EVERY, CHECK_TIMEOUT};

/// How long the pinning router reads from the primary after a write: Rails'
/// `DatabaseSelector` default (`delay: 2.seconds`).
pub const PINNED_FOR: Duration = Duration::from_secs(2);

/// A position in PostgreSQL's write-ahead log (`pg_lsn`, written `16/B374D848`):
/// later writes have larger positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lsn(u64);

impl FromStr for Lsn {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (high, low) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a WAL position (e.g. 16/B374D848)"))?;
        let half = |part: &str| {
            u32::from_str_radix(part, 16)
                .map_err(|_| format!("`{text}` is not a WAL position (e.g. 16/B374D848)"))
        };
        Ok(Lsn((u64::from(half(high)?) << 32) | u64::from(half(low)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl Lsn {
    /// How many bytes of log lie between `earlier` and this position (0 if none).
    pub fn bytes_after(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Where the primary's log ends now: its write position, which is past every commit
/// already answered — with `synchronous_commit = on`, PostgreSQL's default, which
/// perfblog keeps: a commit is answered once its log is written and flushed. (The
/// insert position would also cover commits made with it off, but it points past the
/// header of a log page not yet begun: a standby that has replayed everything can look
/// a few bytes short of it until the next write.)
pub async fn primary_position(primary: &impl ConnectionTrait) -> Result<Lsn, DbErr> {
    let row = one_row(primary, "SELECT pg_current_wal_lsn()::text").await?;
    let end: String = row.try_get_by_index(0)?;
    end.parse().map_err(DbErr::Custom)
}

/// How far a standby has replayed the primary's log; an error for a server that is
/// not a standby (any more: a promoted one still reports its last replayed position).
pub async fn replayed_position(standby: &impl ConnectionTrait) -> Result<Lsn, DbErr> {
    let sql = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text";
    let row = one_row(standby, sql).await?;
    let in_recovery: bool = row.try_get_by_index(0)?;
    let replayed: Option<String> = row.try_get_by_index(1)?;
    match (in_recovery, replayed) {
        (true, Some(replayed)) => replayed.parse().map_err(DbErr::Custom),
        _ => Err(DbErr::Custom(
            "not a standby: it is not replaying a primary's log".to_owned(),
        )),
    }
}

/// The one row `sql` returns. Standbys are PostgreSQL's: so is the statement.
async fn one_row(db: &impl ConnectionTrait, sql: &str) -> Result<sea_orm::QueryResult, DbErr> {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("`{sql}` returned no row")))
}

/// Which server answered a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Primary,
    /// The standby at this place in `DATABASE_REPLICA_URLS`.
    Standby(usize),
}

/// The server a read goes to.
#[derive(Clone, Debug)]
pub struct Reader {
    db: Db,
    server: Server,
}

impl Reader {
    /// Statements for this read go here.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn server(&self) -> Server {
        self.server
    }
}

/// One standby: its pool and what the watcher last learned of it.
struct Standby {
    /// Host and port, as `/healthz` names it (no password).
    name: String,
    db: Db,
    look: Mutex<Look>,
}

/// What the last look at a standby found.
#[derive(Clone, Copy, Debug, Default)]
struct Look {
    /// Whether it answered, as a standby (in recovery).
    answered: bool,
    /// Replayed up to here, as last asked.
    replayed: Lsn,
    /// How far behind the primary it was at least (zero: it had the latest end seen).
    lag: Duration,
    /// Answered, and lags no more than the bound: reads may go to it.
    healthy: bool,
}

impl Standby {
    fn look(&self) -> Look {
        *self.look.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes what is known of it (a panic elsewhere while holding the lock left a
    /// whole `Look`: it is still read and written).
    fn update(&self, change: impl FnOnce(&mut Look)) {
        change(&mut self.look.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn replayed(&self) -> Lsn {
        self.look().replayed
    }

    fn is_healthy(&self) -> bool {
        self.look().healthy
    }

    /// Remembers a fresh answer of how far it has replayed, as it is: a standby made
    /// again from a new base backup starts from another position.
    fn saw_replayed(&self, replayed: Lsn) {
        self.update(|look| look.replayed = replayed);
    }

    /// Takes it out of reads until the watcher finds it well again.
    fn set_aside(&self) {
        self.update(|look| {
            look.answered = false;
            look.healthy = false;
        });
    }
}

/// What `/healthz` and the lab say about one standby.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StandbyHealth {
    pub name: String,
    pub status: StandbyStatus,
    /// How far behind the primary it was at least, at the last look (none while
    /// unavailable).
    pub lag_ms: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StandbyStatus {
    /// Serving reads.
    Ok,
    /// Answers, but cannot be shown to be within `DATABASE_REPLICA_MAX_LAG`.
    Lagging,
    /// Did not answer as a standby.
    Unavailable,
}

/// Reads by the page: the primary, and the standbys it may send them to.
#[derive(Clone)]
pub struct Reads {
    primary: Db,
    /// The watcher's own connection to the primary: a busy pool must not keep it from
    /// learning where the primary's log ends (and so take every standby out of reads).
    watching: Db,
    standbys: Arc<[Standby]>,
    /// Round robin: the next standby to try first.
    next: Arc<AtomicUsize>,
    max_lag: Duration,
    renders: Arc<RendersByServer>,
}

/// Pages rendered per server since start-up (`/metrics`).
#[derive(Debug, Default)]
struct RendersByServer {
    primary: AtomicU64,
    standby: AtomicU64,
}

impl fmt::Debug for Reads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reads")
            .field("standbys", &self.standbys.len())
            .field("max_lag", &self.max_lag)
            .finish_non_exhaustive()
    }
}

impl Reads {
    /// Every read from `primary`: no standby configured.
    pub fn primary_only(primary: Db) -> Self {
        Self::new(primary.clone(), primary, Vec::new(), Duration::ZERO)
    }

    /// Reads from `standbys` (name, pool) where they qualify, `primary` otherwise; the
    /// watcher asks the primary through `watching`. No standby is used before the
    /// watcher's first look.
    pub fn new(primary: Db, watching: Db, standbys: Vec<(String, Db)>, max_lag: Duration) -> Self {
        let standbys = standbys
            .into_iter()
            .map(|(name, db)| Standby {
                name,
                db,
                look: Mutex::default(),
            })
            .collect();
        Self {
            primary,
            watching,
            standbys,
            next: Arc::new(AtomicUsize::new(0)),
            max_lag,
            renders: Arc::default(),
        }
    }

    /// How far behind a standby may be and still serve reads.
    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }

    pub fn has_standbys(&self) -> bool {
        !self.standbys.is_empty()
    }

    /// The primary, for reads that must see everything (and for the naive pages).
    pub fn primary(&self) -> Reader {
        Reader {
            db: self.primary.clone(),
            server: Server::Primary,
        }
    }

    /// Read-your-writes: a healthy standby that has replayed `written` (the reader's
    /// last write; `None`: it wrote nothing lately), asking one standby afresh if none
    /// is known to have; else the primary.
    pub async fn after(&self, written: Option<Lsn>) -> Reader {
        let wanted = written.unwrap_or_default();
        if let Some(index) = self
            .healthy_in_turn()
            .find(|&i| self.standbys[i].replayed() >= wanted)
        {
            return self.standby(index);
        }
        if let Some(index) = self.healthy_in_turn().next()
            && self.has_replayed(index, wanted).await
        {
            return self.standby(index);
        }
        self.primary()
    }

    /// A read whose result a shared cache keeps: a healthy standby that has replayed
    /// everything the primary has now (one statement asks the primary), else the
    /// primary. A write that invalidated the cache before this call is in what it reads.
    /// An error when the primary cannot say: it is down, and the page with it.
    pub async fn current(&self) -> Result<Reader, DbErr> {
        if self.healthy_in_turn().next().is_none() {
            return Ok(self.primary());
        }
        // Each cache a page fills asks for itself (the page, then its sidebar on a miss
        // of its own): a repeat on purpose, which the N+1 detector is not shown.
        let now = instrument::deliberately(primary_position(&self.primary)).await?;
        let known = self
            .healthy_in_turn()
            .find(|&i| self.standbys[i].replayed() >= now);
        Ok(match known {
            Some(index) => self.standby(index),
            None => match self.healthy_in_turn().next() {
                Some(index) if self.has_replayed(index, now).await => self.standby(index),
                _ => self.primary(),
            },
        })
    }

    /// Takes the standby behind `reader` out of reads, after a read from it failed,
    /// until the watcher finds it well again (a no-op for the primary).
    pub fn set_aside(&self, reader: &Reader) {
        if let Server::Standby(index) = reader.server {
            tracing::warn!(standby = %self.standbys[index].name, "a read from a standby failed: its reads go to the primary");
            self.standbys[index].set_aside();
        }
    }

    /// The plain router (Django's `db_for_read` returning a replica): the next healthy
    /// standby, whatever it has replayed — a read right after the reader's own write
    /// can miss it. The primary only when no standby is healthy.
    pub fn round_robin(&self) -> Reader {
        match self.healthy_in_turn().next() {
            Some(index) => self.standby(index),
            None => self.primary(),
        }
    }

    /// The pinning router (Rails' `DatabaseSelector`, a Django router that pins after
    /// writes): the primary for [`PINNED_FOR`] after the reader's last write (`wrote`),
    /// the next healthy standby otherwise. The pin is a guess at the lag: too short and
    /// a slow standby still misses the write, too long and the primary serves reads a
    /// standby could have.
    pub fn pinned(&self, wrote: Option<Instant>) -> Reader {
        match wrote {
            Some(at) if at.elapsed() < PINNED_FOR => self.primary(),
            _ => self.round_robin(),
        }
    }

    /// What `/healthz` says of each standby.
    pub fn health(&self) -> Vec<StandbyHealth> {
        self.standbys
            .iter()
            .map(|standby| {
                let look = standby.look();
                let status = match (look.healthy, look.answered) {
                    (true, _) => StandbyStatus::Ok,
                    (false, true) => StandbyStatus::Lagging,
                    (false, false) => StandbyStatus::Unavailable,
                };
                StandbyHealth {
                    name: standby.name.clone(),
                    status,
                    lag_ms: look
                        .answered
                        .then(|| u64::try_from(look.lag.as_millis()).unwrap_or(u64::MAX)),
                }
            })
            .collect()
    }

    /// Pages rendered from the primary and from a standby since start-up.
    pub fn served(&self) -> (u64, u64) {
        (
            self.renders.primary.load(Ordering::Relaxed),
            self.renders.standby.load(Ordering::Relaxed),
        )
    }

    /// The healthy standbys' places, starting with the next in turn.
    fn healthy_in_turn(&self) -> impl Iterator<Item = usize> + '_ {
        let count = self.standbys.len();
        let first = if count == 0 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % count
        };
        (0..count)
            .map(move |offset| (first + offset) % count)
            .filter(|&index| self.standbys[index].is_healthy())
    }

    /// Asks standby `index` now whether it has replayed `wanted` (and remembers what
    /// it said).
    /// A standby that does not answer within [`CHECK_TIMEOUT`] is set aside: the
    /// read goes to the primary, and the next reads do not wait for it.
    async fn has_replayed(&self, index: usize, wanted: Lsn) -> bool {
        let standby = &self.standbys[index];
        // Asked again by each cache a page fills, as in `current`: not an N+1.
        let asked = instrument::deliberately(replayed_position(&standby.db));
        match tokio::time::timeout(CHECK_TIMEOUT, asked).await {
            Ok(Ok(replayed)) => {
                standby.saw_replayed(replayed);
                replayed >= wanted
            }
            Ok(Err(error)) => {
                tracing::warn!(standby = %standby.name, %error, "a standby could not say how far it has replayed");
                standby.set_aside();
                false
            }
            Err(_) => {
                tracing::warn!(standby = %standby.name, "a standby did not say in time how far it has replayed");
                standby.set_aside();
                false
            }
        }
    }

    fn standby(&self, index: usize) -> Reader {
        Reader {
            db: self.standbys[index].db.clone(),
            server: Server::Standby(index),
        }
    }

    /// Counts a page rendered from `server` (`/metrics`).
    pub fn count_page(&self, server: Server) {
        let counter = match server {
            Server::Primary => &self.renders.primary,
            Server::Standby(_) => &self.renders.standby,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads over `looks.len()` standbys that were last seen as `looks` say. Their pools
    /// connect nowhere: a fresh question to one fails, as to a standby that is down.
    fn reads_over(looks: &[Look]) -> Reads {
        let nowhere = || Db::new(sea_orm::DatabaseConnection::default());
        let names = looks.iter().enumerate();
        let reads = Reads::new(
            nowhere(),
            nowhere(),
            names
                .map(|(i, _)| (format!("standby-{i}"), nowhere()))
                .collect(),
            Duration::from_secs(5),
        );
        for (standby, look) in reads.standbys.iter().zip(looks) {
            *standby.look.lock().expect("not poisoned") = *look;
        }
        reads
    }

    fn healthy(replayed: u64) -> Look {
        Look {
            answered: true,
            replayed: Lsn(replayed),
            lag: Duration::ZERO,
            healthy: true,
        }
    }

    #[tokio::test]
    async fn a_reader_reads_a_standby_that_has_its_write_and_the_primary_otherwise() {
        let reads = reads_over(&[healthy(100)]);
        assert_eq!(reads.after(None).await.server(), Server::Standby(0));
        assert_eq!(
            reads.after(Some(Lsn(100))).await.server(),
            Server::Standby(0)
        );
        assert_eq!(reads.after(Some(Lsn(101))).await.server(), Server::Primary);
    }

    #[tokio::test]
    async fn a_standby_that_cannot_say_how_far_it_has_replayed_is_set_aside() {
        let reads = reads_over(&[healthy(100)]);
        // Not known to have 101: asked afresh, and its pool reaches nothing.
        assert_eq!(reads.after(Some(Lsn(101))).await.server(), Server::Primary);
        assert_eq!(reads.after(None).await.server(), Server::Primary);
        assert_eq!(reads.health()[0].status, StandbyStatus::Unavailable);
    }

    #[tokio::test]
    async fn a_standby_that_is_down_or_too_far_behind_reads_nothing() {
        let down = Look::default();
        let behind = Look {
            healthy: false,
            lag: Duration::from_secs(60),
            ..healthy(100)
        };
        let reads = reads_over(&[down, behind]);
        assert_eq!(reads.after(None).await.server(), Server::Primary);
        assert_eq!(reads.round_robin().server(), Server::Primary);
        let states: Vec<StandbyStatus> = reads.health().iter().map(|s| s.status).collect();
        assert_eq!(states, [StandbyStatus::Unavailable, StandbyStatus::Lagging]);
    }

    #[tokio::test]
    async fn reads_take_turns_over_the_healthy_standbys() {
        let reads = reads_over(&[healthy(100), Look::default(), healthy(100)]);
        let mut servers: Vec<Server> = Vec::new();
        for _ in 0..4 {
            servers.push(reads.after(None).await.server());
        }
        assert!(servers.contains(&Server::Standby(0)) && servers.contains(&Server::Standby(2)));
        assert!(!servers.contains(&Server::Standby(1)));
    }

    #[test]
    fn a_wal_position_reads_and_writes_as_postgres_does() {
        let lsn: Lsn = "16/B374D848".parse().expect("a position");
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!(lsn > "16/B374D847".parse().expect("a position"));
        assert!("0/0".parse::<Lsn>().is_ok());
        for bad in ["", "16", "16/", "x/1", "1/2/3", "100000000/0"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }
}
