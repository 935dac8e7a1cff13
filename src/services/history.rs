//! The request history behind `/_perf/requests`: the last requests (and background
//! tasks' batches) recorded, each with
//! its statements, spans and findings. In process by default; in Redis when
//! `REDIS_URL` is set, so every replica behind a load balancer writes to and reads
//! from the same history.
//!
//! Bounded both ways: at most `PERF_HISTORY` requests (the oldest goes first), each
//! holding at most a trace's budget of SQL text; in Redis each request also expires
//! after [`PerfRecording::ttl`]. Storing waits on nothing: in process it is a
//! push under a lock, to Redis a background write, at most [`MOST_WRITES_IN_FLIGHT`]
//! at once — past that, or while Redis is down, a request is counted as not stored.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::base::config::{CacheSettings, Inspection, PerfRecording, RecordPolicy};
use crate::base::instrument::findings::{Finding, Kind};
use crate::base::instrument::trace::{Timeline, Trace};
use crate::base::instrument::{QueryStats, RequestLog, TracedRun, tagged_task, traced_task};
use crate::services::redis_connection::lazy_redis;

/// Redis writes of recorded requests under way at once.
pub const MOST_WRITES_IN_FLIGHT: usize = 32;

/// A request as the history lists it: what it was and what it cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Its `X-Request-Id`.
    pub id: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub method: String,
    /// Path and query, as asked.
    pub path: String,
    /// The route's pattern, `/posts/{slug}`, or the task's name.
    pub route: String,
    pub status: u16,
    /// From the request's arrival to its body's last byte.
    pub total_us: u64,
    pub db_us: u64,
    pub statements: u32,
    /// Slow findings (parts and statements at or past `PERF_SLOW_MS`).
    pub slow: u32,
    /// N+1 suspects.
    pub n_plus_one: u32,
    /// Whether the body was streamed (its size not known when the head went out):
    /// its statements ran after the headers, and only the history counts them.
    pub streamed: bool,
    pub body_bytes: u64,
}

/// One finding, as the request reported it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFinding {
    /// `slow` or `n+1`.
    pub kind: String,
    pub text: String,
    /// The fix's name and its lab page: `/lab/indexes`.
    pub fix: String,
    pub lab: String,
}

/// A recorded request, whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestRecord {
    #[serde(flatten)]
    pub summary: Summary,
    pub findings: Vec<RecordedFinding>,
    pub timeline: Timeline,
}

/// A request (or a background task's run) that has finished, as the record needs it.
pub struct Finished<'a> {
    pub id: String,
    pub at: chrono::DateTime<chrono::Utc>,
    pub method: String,
    pub path: String,
    pub route: String,
    pub status: u16,
    pub streamed: bool,
    pub body_bytes: u64,
    pub log: Option<&'a RequestLog>,
    pub findings: &'a [Finding],
    pub trace: &'a Trace,
}

impl RequestRecord {
    pub fn of(finished: Finished<'_>) -> Self {
        let timeline = finished.trace.timeline();
        // A response the query log never saw (a timeout's 503, answered around it)
        // still has its statements in the timeline.
        let stats = finished
            .log
            .map(RequestLog::stats)
            .unwrap_or_else(|| QueryStats {
                statements: u32::try_from(timeline.statements.len()).unwrap_or(u32::MAX),
                db_time: timeline
                    .statements
                    .iter()
                    .map(|run| Duration::from_micros(run.duration_us))
                    .sum(),
                cache: None,
            });
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let count = |slow: bool| {
            let n = finished
                .findings
                .iter()
                .filter(|f| f.is_slow() == slow)
                .count();
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        Self {
            summary: Summary {
                id: finished.id,
                at: finished.at,
                method: finished.method,
                path: finished.path,
                route: finished.route,
                status: finished.status,
                total_us: micros(finished.trace.elapsed()),
                db_us: micros(stats.db_time),
                statements: stats.statements,
                slow: count(true),
                n_plus_one: count(false),
                streamed: finished.streamed,
                body_bytes: finished.body_bytes,
            },
            findings: finished.findings.iter().map(RecordedFinding::of).collect(),
            timeline,
        }
    }
}

impl RecordedFinding {
    fn of(finding: &Finding) -> Self {
        Self {
            kind: match finding.kind {
                Kind::NPlusOne => "n+1",
                Kind::SlowPart | Kind::SlowStatement => "slow",
            }
            .to_owned(),
            text: finding.describe(),
            fix: finding.fix.name.to_owned(),
            lab: format!("/lab/{}", finding.fix.lab),
        }
    }
}

/// Records a background task's batches in the history: the outbox worker's and the
/// view counts' flusher's. `None` under `PERF_RECORD=off`.
#[derive(Clone)]
pub struct TaskRecorder {
    /// None under `PERF_RECORD=off`: batches are neither traced nor kept, only their
    /// statements commented (`SQL_COMMENTS`).
    history: Option<History>,
    inspection: Inspection,
    /// `N_PLUS_ONE_ALLOW`, as the requests' detector has it.
    allowed: Arc<[String]>,
}

impl TaskRecorder {
    pub fn new(history: &History, inspection: Inspection, allowed: Arc<[String]>) -> Self {
        Self {
            history: (history.policy != RecordPolicy::Off).then(|| history.clone()),
            inspection,
            allowed,
        }
    }
}

/// Runs one batch of the task `name`, traced, and keeps it when `outcome` says it did
/// something — `Some(failed)` — rather than find nothing to do (`None`: a worker's
/// empty claim, a flush with no views).
pub async fn record_batch<F: Future>(
    recorder: Option<&TaskRecorder>,
    name: &'static str,
    batch: F,
    outcome: impl FnOnce(&F::Output) -> Option<bool>,
) -> F::Output {
    let Some(recorder) = recorder else {
        return batch.await;
    };
    let Some(history) = &recorder.history else {
        return tagged_task(name, recorder.inspection, batch).await;
    };
    let (output, run) = traced_task(name, recorder.inspection, &recorder.allowed, batch).await;
    if let Some(failed) = outcome(&output) {
        history.add_task(name, &run, failed);
    }
    output
}

/// Redis could not be asked.
#[derive(Debug)]
pub struct HistoryUnavailable;

/// What recording has cost so far, for the history's own page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecorderCost {
    pub recorded: u64,
    /// Time spent turning finished requests into records and storing them.
    pub spent: Duration,
    /// Requests recorded but not stored (Redis down, or too many writes at once).
    pub not_stored: u64,
}

impl RecorderCost {
    /// The mean cost of one record, in microseconds.
    pub fn mean_us(&self) -> f64 {
        if self.recorded == 0 {
            0.0
        } else {
            self.spent.as_secs_f64() * 1e6 / self.recorded as f64
        }
    }
}

#[derive(Clone)]
pub struct History {
    kept: Arc<Kept>,
    keep: usize,
    policy: RecordPolicy,
    recorded: Arc<AtomicU64>,
    spent_ns: Arc<AtomicU64>,
    not_stored: Arc<AtomicU64>,
    /// The background tasks whose findings were logged.
    warned_tasks: Arc<Mutex<std::collections::HashSet<&'static str>>>,
}

enum Kept {
    Memory(Mutex<VecDeque<Arc<RequestRecord>>>),
    Redis(RedisHistory),
}

struct RedisHistory {
    manager: ConnectionManager,
    /// A list of [`Summary`] JSON, newest first, trimmed to `keep`.
    list_key: String,
    /// `{prefix}{id}`: the whole record, expiring after `ttl`.
    record_prefix: String,
    ttl: Duration,
    writes: Arc<Semaphore>,
}

impl History {
    /// In Redis when the cache is (under its namespace), in process otherwise.
    pub fn new(settings: &PerfRecording, cache: &CacheSettings) -> anyhow::Result<Self> {
        let kept = match cache {
            CacheSettings::Memory => Kept::Memory(Mutex::new(VecDeque::new())),
            CacheSettings::Redis { url, namespace } => Kept::Redis(RedisHistory {
                manager: lazy_redis(url, Duration::from_millis(500), "the history")?,
                list_key: format!("{namespace}:perf:requests"),
                record_prefix: format!("{namespace}:perf:request:"),
                ttl: settings.ttl,
                writes: Arc::new(Semaphore::new(MOST_WRITES_IN_FLIGHT)),
            }),
        };
        Ok(Self {
            kept: Arc::new(kept),
            keep: settings.keep,
            policy: settings.record,
            recorded: Arc::default(),
            spent_ns: Arc::default(),
            not_stored: Arc::default(),
            warned_tasks: Arc::default(),
        })
    }

    /// Whether a traced request (or task run) that ended with `status` and `findings`
    /// is kept, as `PERF_RECORD` says.
    pub fn keeps(&self, status: u16, findings: &[Finding]) -> bool {
        match self.policy {
            RecordPolicy::Off => false,
            RecordPolicy::Errors => status >= 500,
            RecordPolicy::Slow => status >= 500 || !findings.is_empty(),
            RecordPolicy::Sample(_) | RecordPolicy::All => true,
        }
    }

    /// Which requests it keeps (`PERF_RECORD`).
    pub fn policy(&self) -> RecordPolicy {
        self.policy
    }

    /// Whether replicas sharing Redis share this history.
    pub fn is_shared(&self) -> bool {
        matches!(*self.kept, Kept::Redis(_))
    }

    /// Keeps `record`, dropping the oldest past the limit; `spent` is what making it
    /// cost. Never waits: a Redis write goes on in the background.
    pub fn add(&self, record: RequestRecord, spent: Duration) {
        self.recorded.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        match &*self.kept {
            Kept::Memory(records) => {
                if let Ok(mut records) = records.lock() {
                    records.push_front(Arc::new(record));
                    records.truncate(self.keep);
                }
            }
            Kept::Redis(redis) => self.write_to_redis(redis, record),
        }
        let spent = spent + started.elapsed();
        self.spent_ns.fetch_add(
            u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn write_to_redis(&self, redis: &RedisHistory, record: RequestRecord) {
        let (Ok(permit), Ok(runtime)) = (
            redis.writes.clone().try_acquire_owned(),
            tokio::runtime::Handle::try_current(),
        ) else {
            self.not_stored.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let (Ok(summary), Ok(whole)) = (
            serde_json::to_string(&record.summary),
            serde_json::to_string(&record),
        ) else {
            self.not_stored.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut connection = redis.manager.clone();
        let list_key = redis.list_key.clone();
        let record_key = format!("{}{}", redis.record_prefix, record.summary.id);
        let record_prefix = redis.record_prefix.clone();
        let ttl = redis.ttl.as_secs().max(1);
        let keep = isize::try_from(self.keep).unwrap_or(isize::MAX) - 1;
        let not_stored = self.not_stored.clone();
        runtime.spawn(async move {
            // The records that fall off the list are deleted with it: the history holds
            // at most `keep` of them, whatever the rate of requests.
            let written: redis::RedisResult<Vec<String>> = redis::pipe()
                .atomic()
                .set_ex(&record_key, whole, ttl)
                .ignore()
                .lpush(&list_key, summary)
                .ignore()
                .lrange(&list_key, keep + 1, -1)
                .ltrim(&list_key, 0, keep)
                .ignore()
                .expire(&list_key, i64::try_from(ttl).unwrap_or(i64::MAX))
                .ignore()
                .query_async::<(Vec<String>,)>(&mut connection)
                .await
                .map(|(fallen,)| fallen);
            match written {
                Ok(fallen) => {
                    let keys: Vec<String> = fallen
                        .iter()
                        .filter_map(|json| serde_json::from_str::<Summary>(json).ok())
                        .map(|summary| format!("{record_prefix}{}", summary.id))
                        .collect();
                    if !keys.is_empty() {
                        let _: redis::RedisResult<()> = redis::cmd("DEL")
                            .arg(&keys)
                            .query_async(&mut connection)
                            .await;
                    }
                }
                Err(_) => {
                    not_stored.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }

    /// The requests kept, newest first.
    pub async fn recent(&self) -> Result<Vec<Summary>, HistoryUnavailable> {
        match &*self.kept {
            Kept::Memory(records) => Ok(records
                .lock()
                .map(|records| records.iter().map(|r| r.summary.clone()).collect())
                .unwrap_or_default()),
            Kept::Redis(redis) => {
                let mut connection = redis.manager.clone();
                let listed: Vec<String> = redis::cmd("LRANGE")
                    .arg(&redis.list_key)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut connection)
                    .await
                    .map_err(|_| HistoryUnavailable)?;
                Ok(listed
                    .iter()
                    .filter_map(|json| serde_json::from_str(json).ok())
                    .collect())
            }
        }
    }

    /// The request `id`, whole, if it is still kept.
    pub async fn get(&self, id: &str) -> Result<Option<RequestRecord>, HistoryUnavailable> {
        match &*self.kept {
            Kept::Memory(records) => Ok(records.lock().ok().and_then(|records| {
                records
                    .iter()
                    .find(|record| record.summary.id == id)
                    .map(|record| (**record).clone())
            })),
            Kept::Redis(redis) => {
                let mut connection = redis.manager.clone();
                let stored: Option<String> = redis::cmd("GET")
                    .arg(format!("{}{id}", redis.record_prefix))
                    .query_async(&mut connection)
                    .await
                    .map_err(|_| HistoryUnavailable)?;
                Ok(stored.and_then(|json| serde_json::from_str(&json).ok()))
            }
        }
    }

    /// Keeps a background task's run (an outbox batch, a flush of view counts) as a
    /// request to the route `TASK {name}`, so the history covers what no request ran;
    /// warns once per task when it had a finding.
    pub fn add_task(&self, name: &'static str, run: &TracedRun, failed: bool) {
        let started = std::time::Instant::now();
        let findings = run.log.findings();
        let status = if failed { 500 } else { 200 };
        if !findings.is_empty()
            && self
                .warned_tasks
                .lock()
                .is_ok_and(|mut warned| warned.insert(name))
        {
            for finding in &findings {
                tracing::warn!(task = name, finding = %finding.describe(), fix = %finding.fix.name, "a background task's finding");
            }
        }
        if !self.keeps(status, &findings) {
            return;
        }
        let record = RequestRecord::of(Finished {
            id: format!("{:016x}", rand::random::<u64>()),
            at: chrono::Utc::now()
                - chrono::Duration::from_std(run.trace.elapsed()).unwrap_or_default(),
            method: "TASK".to_owned(),
            path: name.to_owned(),
            route: name.to_owned(),
            status,
            streamed: false,
            body_bytes: 0,
            log: Some(&run.log),
            findings: &findings,
            trace: &run.trace,
        });
        self.add(record, started.elapsed());
    }

    /// What recording has cost this process so far.
    pub fn cost(&self) -> RecorderCost {
        RecorderCost {
            recorded: self.recorded.load(Ordering::Relaxed),
            spent: Duration::from_nanos(self.spent_ns.load(Ordering::Relaxed)),
            not_stored: self.not_stored.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: usize) -> RequestRecord {
        RequestRecord {
            summary: Summary {
                id: format!("r{id}"),
                at: chrono::Utc::now(),
                method: "GET".to_owned(),
                path: "/".to_owned(),
                route: "GET /".to_owned(),
                status: 200,
                total_us: 1,
                db_us: 1,
                statements: 1,
                slow: 0,
                n_plus_one: 0,
                streamed: false,
                body_bytes: 1,
            },
            findings: Vec::new(),
            timeline: Timeline::default(),
        }
    }

    #[tokio::test]
    async fn with_redis_down_a_request_is_counted_as_not_stored_and_reading_says_unavailable() {
        let nowhere = CacheSettings::Redis {
            url: "redis://127.0.0.1:1".to_owned(),
            namespace: "perfblog-nowhere".to_owned(),
        };
        let history = History::new(&PerfRecording::default(), &nowhere).unwrap();
        history.add(record(1), Duration::ZERO);
        for _ in 0..100 {
            if history.cost().not_stored == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(history.cost().not_stored, 1);
        assert!(history.recent().await.is_err());
        assert!(history.get("r1").await.is_err());
    }

    #[tokio::test]
    async fn an_in_process_history_keeps_the_newest_requests_up_to_its_limit() {
        let settings = PerfRecording {
            keep: 10,
            ..PerfRecording::default()
        };
        let history = History::new(&settings, &CacheSettings::Memory).unwrap();
        for id in 0..25 {
            history.add(record(id), Duration::ZERO);
        }
        let recent = history.recent().await.unwrap();
        assert_eq!(recent.len(), 10);
        assert_eq!(recent[0].id, "r24");
        assert!(history.get("r15").await.unwrap().is_some());
        assert!(history.get("r14").await.unwrap().is_none());
        assert_eq!(history.cost().recorded, 25);
    }
}
