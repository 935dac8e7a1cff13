//! Start-up in one place: connect, migrate, bind, route, serve.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::middleware;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::trace::TraceLayer;

use crate::cache::FragmentCache;
use crate::config::{AdminToken, Config};
use crate::mail::Mailer;
use crate::mail::worker::{Worker, WorkerSettings};
use crate::state::AppState;
use crate::{db, error, instrument, views};

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

    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    /// Whether no `ADMIN_TOKEN` was configured and one was made up for this run.
    pub fn admin_token_generated(&self) -> bool {
        self.admin_token_generated
    }

    /// Serves (and runs the outbox worker, unless configured not to) until Ctrl-C,
    /// then lets in-flight requests and the worker's current batch finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let outbox_wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let worker = self.worker.map(|settings| {
            let worker = Worker::new(
                self.db.clone(),
                self.mailer.clone(),
                settings,
                outbox_wake.clone(),
            );
            tokio::spawn(worker.run(stopped))
        });
        let router = router(AppState {
            db: self.db,
            admin_token: self.admin_token,
            mailer: self.mailer,
            outbox_wake,
            public_url: self.public_url,
            cache: self.cache,
        });
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the server stopped with an error");
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
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
    let _ = tokio::signal::ctrl_c().await;
    let _ = stop.send(true);
    running.await.context("the worker task failed")
}

/// Every route, with the middleware that counts queries and logs failures.
pub fn router(state: AppState) -> Router {
    views::routes(&state)
        .fallback(error::not_found)
        .layer(middleware::from_fn(instrument::count_request_queries))
        .route("/static/style.css", get(stylesheet))
        .layer(middleware::from_fn(error::log_server_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The stylesheet is compiled into the binary, so the app runs from any directory
/// and from a bare container image.
async fn stylesheet() -> impl axum::response::IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../static/style.css"),
    )
}
