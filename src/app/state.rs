//! Everything the running app holds, built in one place — [`AppState::new`] — by the
//! server, the tests and the benches alike. Each part of the router takes only its
//! share: the pages a [`Site`], the lab a [`Lab`], operations an [`Ops`], the rate
//! limit its limiter.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::app::ops::Ops;
use crate::app::ops::metrics::Metrics;
use crate::app::perf::Recorder;
use crate::base::config::{CacheSettings, Config};
use crate::base::instrument::Detector;
use crate::lab::workbench::Workbench;
use crate::lab::{self, Lab};
use crate::services::history::History;
use crate::services::http::rate_limit::CommentLimiter;
use crate::views::naive_gate::NaiveGate;
use crate::views::site::Site;

#[derive(Clone)]
pub struct AppState {
    pub site: Site,
    pub lab: Lab,
    /// Request, cache and outbox metrics for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Comments per client address.
    pub comment_limiter: Arc<CommentLimiter>,
    /// How many naive twins run at once (or none).
    pub naive: NaiveGate,
    /// What each request's statements are checked for (N+1) and whether pages list them.
    pub detector: Detector,
    /// Which requests are kept in the request history, and the history.
    pub recorder: Recorder,
}

impl AppState {
    /// The state for `config` around the pages' `site` (`Site::new`): the lab on the
    /// same database through `lab_db` (a pool whose statements the database stops at
    /// the lab's limit, `db::connect_limited`), the metrics of the same caches.
    pub fn new(site: Site, lab_db: DatabaseConnection, config: &Config) -> anyhow::Result<Self> {
        let (cache, pages, reads) = (site.cache.clone(), site.pages.clone(), site.reads.clone());
        let redis = match &config.cache {
            CacheSettings::Redis { url, .. } => Some(url.clone()),
            CacheSettings::Memory => None,
        };
        let workbench = Workbench::new(lab_db, config.database.clone())
            .with_side_limit(config.lab_side_limit)
            .with_redis(redis)
            .with_reads(site.reads.clone())
            .with_naive_memory(site.naive_memory.clone());
        let recorder = Recorder::new(
            History::new(&config.perf, &config.cache)?,
            config.comment_rate.trusted_proxies > 0,
        );
        Ok(Self {
            site,
            lab: Lab {
                workbench: Arc::new(workbench),
                gate: lab::lab_gate(config.lab_wait),
                repository_url: config.repository_url.as_deref().map(Into::into),
                site_caches: lab::SiteCaches {
                    fragments: cache.clone(),
                    pages: pages.clone(),
                },
            },
            metrics: Metrics::new(cache, pages, reads),
            comment_limiter: CommentLimiter::new(config.comment_rate, &config.cache)?,
            naive: NaiveGate::new(config.naive),
            detector: Detector::new(config.inspection, &config.n_plus_one_allow),
            recorder,
        })
    }

    pub fn ops(&self) -> Ops {
        Ops {
            db: self.site.db.clone(),
            reads: self.site.reads.clone(),
            cache: self.site.cache.clone(),
            metrics: self.metrics.clone(),
        }
    }
}
