//! Start-up in one place: connect, migrate, bind, route, serve.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::middleware;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::trace::TraceLayer;

use crate::cache::FragmentCache;
use crate::config::{AdminToken, Config};
use crate::http::assets;
use crate::http::rate_limit::{CommentLimiter, CommentRate};
use crate::mail::Mailer;
use crate::mail::worker::{Worker, WorkerSettings};
use crate::ops::metrics::Metrics;
use crate::state::AppState;
use crate::{db, error, http, instrument, lab, ops, views};

/// A bound, migrated, ready-to-serve perfblog.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    db: DatabaseConnection,
    admin_token: AdminToken,
    admin_token_generated: bool,
    mailer: Mailer,
    public_url: String,
    worker: Option<WorkerSettings>,
    cache: FragmentCache,
    comment_rate: CommentRate,
    lab_gate: lab::LabGate,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds `bind`
    /// (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config, bind: SocketAddr) -> anyhow::Result<Self> {
        let db = db::connect(&config.database).await?;
        db::migrate(&db).await?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("could not listen on {bind}"))?;
        let address = listener
            .local_addr()
            .context("could not read the bound address")?;
        let admin_token_generated = config.admin_token.is_none();
        Ok(Self {
            listener,
            address,
            db,
            admin_token: config
                .admin_token
                .clone()
                .unwrap_or_else(AdminToken::generate),
            admin_token_generated,
            mailer: Mailer::new(&config.mail)?,
            public_url: config
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{address}")),
            worker: config.worker,
            cache: FragmentCache::new(&config.cache)?,
            comment_rate: config.comment_rate,
            lab_gate: lab::LabGate::new(config.lab_wait),
        })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn cache(&self) -> &FragmentCache {
        &self.cache
    }

    /// The lab's one-experiment-at-a-time gate (tests occupy it).
    pub fn lab_gate(&self) -> &lab::LabGate {
        &self.lab_gate
    }

    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    /// Whether no `ADMIN_TOKEN` was configured and one was made up for this run.
    pub fn admin_token_generated(&self) -> bool {
        self.admin_token_generated
    }

    /// Serves (and runs the outbox worker, unless configured not to) until Ctrl-C or
    /// SIGTERM, then stops accepting connections, lets in-flight requests finish, and
    /// lets the worker finish its batch without claiming another.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let outbox_wake = Arc::new(Notify::new());
        let metrics = Metrics::new(self.cache.clone());
        let (stop, stopped) = watch::channel(false);
        let worker = self.worker.map(|settings| {
            let worker = Worker::new(
                self.db.clone(),
                self.mailer.clone(),
                settings,
                outbox_wake.clone(),
            )
            .count_failures_in(metrics.send_failures());
            tokio::spawn(worker.run(stopped))
        });
        let router = router(AppState {
            db: self.db,
            admin_token: self.admin_token,
            mailer: self.mailer,
            outbox_wake,
            public_url: self.public_url,
            cache: self.cache,
            metrics,
            comment_limiter: CommentLimiter::new(self.comment_rate),
            lab_gate: self.lab_gate,
        });
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped with an error");
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
}

/// Ctrl-C, or SIGTERM (what `docker stop` and orchestrators send).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// `perfblog worker`: delivers the outbox until Ctrl-C, without serving pages. It
/// does not migrate (the server does); until the schema exists it waits and retries.
pub async fn run_worker_until_stopped(config: &Config) -> anyhow::Result<()> {
    let db = db::connect(&config.database).await?;
    let mailer = Mailer::new(&config.mail)?;
    let settings = config.worker.unwrap_or_default();
    let (stop, stopped) = watch::channel(false);
    let worker = Worker::new(db, mailer, settings, Arc::new(Notify::new()));
    let running = tokio::spawn(worker.run(stopped));
    shutdown_signal().await;
    let _ = stop.send(true);
    running.await.context("the worker task failed")
}

/// Every route, with the middleware that counts queries, records metrics, logs
/// failures, and the HTTP layer around all of it.
pub fn router(state: AppState) -> Router {
    let pages = views::routes(&state)
        .merge(lab::routes())
        .fallback(error::not_found)
        .layer(middleware::from_fn(instrument::count_request_queries));
    let app =
        pages
            .merge(ops::routes())
            .merge(assets::routes())
            .layer(middleware::from_fn_with_state(
                state.clone(),
                ops::metrics::record,
            ));
    http::around(app)
        .layer(middleware::from_fn(error::log_server_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
