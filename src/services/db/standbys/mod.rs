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
//! - [`Reads::any_standby`]: no rule — the naive router the read-replicas lesson shows.
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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::commented::Db;

mod watcher;

pub use watcher::CHECK_EVERY;

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

/// Where the primary's log ends now.
pub async fn primary_position(primary: &impl ConnectionTrait) -> Result<Lsn, DbErr> {
    position(primary, "SELECT pg_current_wal_lsn()::text").await
}

/// How far a standby has replayed the primary's log.
pub async fn replayed_position(standby: &impl ConnectionTrait) -> Result<Lsn, DbErr> {
    position(standby, "SELECT pg_last_wal_replay_lsn()::text").await
}

/// Standbys are PostgreSQL's: the statement is PostgreSQL's.
async fn position(db: &impl ConnectionTrait, sql: &str) -> Result<Lsn, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .ok_or_else(|| DbErr::Custom(format!("`{sql}` returned no row")))?;
    let text: Option<String> = row.try_get_by_index(0)?;
    text.ok_or_else(|| DbErr::Custom(format!("`{sql}` returned NULL: not a standby?")))?
        .parse()
        .map_err(DbErr::Custom)
}

/// Which server answered a read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    Primary,
    /// The standby at this place in `DATABASE_REPLICA_URLS`.
    Standby(usize),
}

/// The server a read goes to, and whether what it reads is as current as the primary
/// was when the read was chosen (what a shared cache may keep).
#[derive(Clone, Debug)]
pub struct Reader {
    db: Db,
    server: Server,
    current: bool,
}

impl Reader {
    /// Statements for this read go here.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn server(&self) -> Server {
        self.server
    }

    /// Whether a cache may keep what was read: the primary, or a standby that had
    /// replayed everything the primary had when the read began.
    pub fn is_current(&self) -> bool {
        self.current
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
    /// How far behind the primary it was.
    lag: Duration,
    /// Answered, and lags no more than the bound: reads may go to it.
    healthy: bool,
}

impl Standby {
    fn look(&self) -> Look {
        self.look.lock().map(|look| *look).unwrap_or_default()
    }

    fn replayed(&self) -> Lsn {
        self.look().replayed
    }

    fn is_healthy(&self) -> bool {
        self.look().healthy
    }

    /// Remembers a fresh answer of how far it has replayed (positions only grow).
    fn saw_replayed(&self, replayed: Lsn) {
        if let Ok(mut look) = self.look.lock() {
            look.replayed = look.replayed.max(replayed);
        }
    }
}

/// What `/healthz` and the lab say about one standby.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StandbyHealth {
    pub name: String,
    /// `ok`, `lagging` (answers, but further behind than the bound) or `unavailable`.
    pub status: &'static str,
    /// How far behind the primary it was at the last look (none while unavailable).
    pub lag_ms: Option<u64>,
}

/// Reads by the page: the primary, and the standbys it may send them to.
#[derive(Clone)]
pub struct Reads {
    primary: Db,
    standbys: Arc<[Standby]>,
    /// Round robin: the next standby to try first.
    next: Arc<AtomicUsize>,
    max_lag: Duration,
    served: Arc<Served>,
}

/// Pages rendered per server since start-up (`/metrics`).
#[derive(Debug, Default)]
struct Served {
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
        Self::new(primary, Vec::new(), Duration::ZERO)
    }

    /// Reads from `standbys` (name, pool) where they qualify, `primary` otherwise. No
    /// standby is used before the watcher's first look.
    pub fn new(primary: Db, standbys: Vec<(String, Db)>, max_lag: Duration) -> Self {
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
            standbys,
            next: Arc::new(AtomicUsize::new(0)),
            max_lag,
            served: Arc::default(),
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
            current: true,
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
            return self.standby(index, false);
        }
        if let Some(index) = self.healthy_in_turn().next()
            && self.has_replayed(index, wanted).await
        {
            return self.standby(index, false);
        }
        self.primary()
    }

    /// A read whose result a shared cache keeps: a healthy standby that has replayed
    /// everything the primary has now (one statement asks the primary), else the
    /// primary. A write that invalidated the cache before this read is in what it reads.
    pub async fn current(&self) -> Reader {
        if self.healthy_in_turn().next().is_none() {
            return self.primary();
        }
        let Ok(now) = primary_position(&self.primary).await else {
            return self.primary();
        };
        match self
            .healthy_in_turn()
            .find(|&i| self.standbys[i].replayed() >= now)
        {
            Some(index) => self.standby(index, true),
            None => match self.healthy_in_turn().next() {
                Some(index) if self.has_replayed(index, now).await => self.standby(index, true),
                _ => self.primary(),
            },
        }
    }

    /// The next healthy standby, whatever it has replayed: the naive router's choice,
    /// which can miss the reader's own write. `None` when no standby is healthy.
    pub fn any_standby(&self) -> Option<Reader> {
        let index = self.healthy_in_turn().next()?;
        Some(self.standby(index, false))
    }

    /// What `/healthz` says of each standby.
    pub fn health(&self) -> Vec<StandbyHealth> {
        self.standbys
            .iter()
            .map(|standby| {
                let look = standby.look();
                let status = match (look.healthy, look.answered) {
                    (true, _) => "ok",
                    (false, true) => "lagging",
                    (false, false) => "unavailable",
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
            self.served.primary.load(Ordering::Relaxed),
            self.served.standby.load(Ordering::Relaxed),
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
    async fn has_replayed(&self, index: usize, wanted: Lsn) -> bool {
        let standby = &self.standbys[index];
        match replayed_position(&standby.db).await {
            Ok(replayed) => {
                standby.saw_replayed(replayed);
                replayed >= wanted
            }
            Err(_) => false,
        }
    }

    fn standby(&self, index: usize, current: bool) -> Reader {
        Reader {
            db: self.standbys[index].db.clone(),
            server: Server::Standby(index),
            current,
        }
    }

    /// Counts a page rendered from `server` (`/metrics`).
    pub fn count_page(&self, server: Server) {
        let counter = match server {
            Server::Primary => &self.served.primary,
            Server::Standby(_) => &self.served.standby,
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
        assert!(!reads.after(None).await.is_current());
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
        assert!(reads.any_standby().is_none());
        let states: Vec<&str> = reads.health().iter().map(|s| s.status).collect();
        assert_eq!(states, ["unavailable", "lagging"]);
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
