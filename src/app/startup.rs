//! Start-up in one place: migrate, connect, bind, route, serve.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::middleware;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tower_http::trace::TraceLayer;

use super::state::AppState;
use super::{ops, perf, routes};
use crate::base::config::{AdminToken, Config, ConnectionTimeouts, WorkerSettings};
use crate::base::{error, instrument};
use crate::lab;
use crate::services::db;
use crate::services::history::TaskRecorder;
use crate::services::http::spanned::Spanned;
use crate::services::http::{self, assets, crawlers, rate_limit};
use crate::services::mail::Mailer;
use crate::services::mail::worker::Worker;
use crate::views;
use crate::views::site::Site;

/// A bound, migrated, ready-to-serve perfblog.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    admin_token_generated: bool,
    worker: Option<WorkerSettings>,
    view_flush: Duration,
    connections: ConnectionTimeouts,
}

impl Application {
    /// Applies pending migrations, connects to the database and binds `bind`
    /// (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config, bind: SocketAddr) -> anyhow::Result<Self> {
        db::migrate(&config.database).await?;
        let db = db::connect(&config.database).await?;
        let reads = db::reads(&db, &config.database, &config.standbys).await?;
        let lab_db = db::connect_limited(&config.database, config.lab_side_limit).await?;
        db::scratch::sweep_scratch_posts(&db)
            .await
            .context("could not delete the lab's leftover scratch posts")?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("could not listen on {bind}"))?;
        let address = listener
            .local_addr()
            .context("could not read the bound address")?;
        let admin_token = config.admin_token.clone();
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        Ok(Self {
            listener,
            address,
            admin_token_generated: admin_token.is_none(),
            state: AppState::new(
                Site::new(
                    db,
                    config,
                    admin_token.unwrap_or_else(AdminToken::generate),
                    public_url,
                )?
                .reading_from(reads),
                lab_db,
                config,
            )?,
            worker: config.worker,
            view_flush: config.view_flush,
            connections: config.connections,
        })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What the app holds: its database, cache, lab gate… (tests read them).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The pool itself: what a test runs through it carries no SQL comment.
    pub fn db(&self) -> &DatabaseConnection {
        self.state.site.db.inner()
    }

    pub fn admin_token(&self) -> &AdminToken {
        &self.state.site.admin_token
    }

    /// Whether no `ADMIN_TOKEN` was configured and one was made up for this run.
    pub fn admin_token_generated(&self) -> bool {
        self.admin_token_generated
    }

    /// Serves (and runs the outbox worker, unless configured not to, and the view
    /// counts' flusher) until Ctrl-C or SIGTERM, then stops accepting connections, lets
    /// in-flight requests finish, lets the worker finish its batch without claiming
    /// another, and writes the views counted so far. A background task that panicked
    /// is logged and makes this an error.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let shutdown = shutdown_signal();
        let (stop, stopped) = watch::channel(false);
        let site = &self.state.site;
        let batches = Some(TaskRecorder::new(
            &self.state.recorder.history,
            self.state.detector.settings,
            self.state.detector.allowed.clone(),
        ));
        let worker = self.worker.map(|settings| {
            let worker = Worker::new(
                site.db.clone(),
                site.mailer.clone(),
                settings,
                site.outbox_wake.clone(),
            )
            .count_failures_in(self.state.metrics.send_failures())
            .record_batches_in(batches.clone());
            tokio::spawn(worker.run(stopped.clone()))
        });
        let flusher = tokio::spawn(site.views.clone().run(
            site.db.clone(),
            self.view_flush,
            stopped.clone(),
            batches,
        ));
        let standbys = tokio::spawn(site.reads.clone().watch(stopped.clone()));
        let trims = tokio::spawn(self.state.comment_limiter.clone().run_trims(stopped));
        http::serve::serve(
            self.listener,
            router(&self.state),
            self.connections,
            shutdown,
        )
        .await;
        let _ = stop.send(true);
        let mut tasks = Vec::from_iter(worker.map(|worker| ("the outbox worker", worker)));
        tasks.push(("the view counts' flusher", flusher));
        tasks.push(("the rate limit's trims", trims));
        tasks.push(("the standbys' watcher", standbys));
        join_background(tasks).await
    }
}

/// Waits for background tasks to finish. One that panicked is logged as an error and
/// makes this an error, so the process exits non-zero instead of hiding it.
async fn join_background(tasks: Vec<(&'static str, JoinHandle<()>)>) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for (task, handle) in tasks {
        if let Err(error) = handle.await {
            tracing::error!(task, %error, "a background task did not finish");
            failed.push(task);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} did not finish (see the log)", failed.join(" and "))
    }
}

/// Ctrl-C, or SIGTERM (what `docker stop` and orchestrators send).
/// The handlers are installed when this is called, not when it is first awaited: a
/// SIGTERM that arrives before the server loop first polls it still stops the server
/// gracefully instead of killing it.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    shutdown_on(async move {
        #[cfg(unix)]
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await;
    })
}

/// Waits for Ctrl-C or `terminate`, then says the server is shutting down.
async fn shutdown_on(terminate: impl Future<Output = ()>) {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
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
    let history = crate::services::history::History::new(&config.perf, &config.cache)?;
    let worker = Worker::new(db, mailer, settings, Arc::new(Notify::new())).record_batches_in(
        Some(TaskRecorder::new(
            &history,
            config.inspection,
            config.n_plus_one_allow.iter().cloned().collect(),
        )),
    );
    let running = tokio::spawn(worker.run(stopped));
    shutdown_signal().await;
    let _ = stop.send(true);
    join_background(vec![("the outbox worker", running)]).await
}

/// Every route, each part given its share of the state, with the middleware that
/// counts queries, records metrics, logs failures, and the HTTP layer around it all.
pub fn router(state: &AppState) -> Router {
    assets::precompress();
    let comments = views::comments::routes(state.site.clone()).route_layer(Spanned::new(
        "comment rate limit",
        middleware::from_fn_with_state(state.comment_limiter.clone(), rate_limit::limit_comments),
    ));
    let pages = routes::pages(state.site.clone())
        .merge(comments)
        .layer(middleware::from_fn_with_state(
            state.site.clone(),
            views::written::remember_writes,
        ))
        .merge(lab::routes(state.lab.clone()))
        .fallback(error::not_found)
        .layer(Spanned::new(
            "query count",
            middleware::from_fn_with_state(
                state.detector.clone(),
                instrument::count_request_queries,
            ),
        ))
        .layer(Spanned::new(
            "naive gate",
            middleware::from_fn_with_state(state.naive.clone(), views::naive_gate::ration),
        ))
        .layer(Spanned::new(
            "crawler check",
            middleware::from_fn_with_state(
                crawlers::is_crawler as crawlers::Recognizer,
                crawlers::tell_crawlers,
            ),
        ));
    let app = pages
        .merge(ops::routes(state.ops()))
        .merge(perf::routes(
            perf::Perf {
                recorder: state.recorder.clone(),
                db: state.site.db.inner().clone(),
            },
            state.site.admin_token.clone(),
        ))
        .merge(assets::routes())
        .layer(Spanned::new(
            "metrics",
            middleware::from_fn_with_state(state.metrics.clone(), ops::metrics::record),
        ));
    logging_failures_once(http::around(app)).layer(middleware::from_fn_with_state(
        state.recorder.clone(),
        perf::record_requests,
    ))
}

/// Each failure is logged once, by [`error::log_server_errors`], at the level its error
/// chose. tower-http's trace layer keeps its request spans but logs no failure itself:
/// by default it would log every 5xx again at error level — a database outage's 503
/// that the app logs as a warning, a gate's 503 that it does not log at all.
fn logging_failures_once(app: Router) -> Router {
    app.layer(Spanned::new(
        "failure log",
        middleware::from_fn(error::log_server_errors),
    ))
    .layer(
        TraceLayer::new_for_http()
            .make_span_with(request_span)
            .on_failure(()),
    )
}

/// The span each line logged in a request carries (tower-http's target and fields, so
/// filters that name tower-http still apply and the request recorder does not take it
/// for one of the app's own): every line repeats it, so its address is cut as every
/// logged address is.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        target: "tower_http::trace::make_span",
        "request",
        method = %request.method(),
        uri = %error::loggable_uri(request.uri()),
        version = ?request.version(),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;
    use crate::base::error::AppError;

    /// Everything logged while `run` runs, one line per event, at every level.
    async fn logs_of(run: impl Future<Output = ()>) -> String {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = written.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Writer(writer.clone()))
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);
        run.await;
        let written = written
            .lock()
            .map(|bytes| bytes.clone())
            .unwrap_or_default();
        String::from_utf8_lossy(&written).into_owned()
    }

    struct Writer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Writer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut written) = self.0.lock() {
                written.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines_at(logs: &str, level: &str) -> usize {
        logs.lines()
            .filter(|line| line.contains(&format!(" {level} ")))
            .count()
    }

    #[tokio::test]
    async fn each_failure_is_logged_once_at_the_level_its_error_chose() {
        let outage = || AppError::DatabaseUnavailable(anyhow::anyhow!("pool timed out"));
        let app = logging_failures_once(
            Router::new()
                .route(
                    "/bug",
                    get(|| async { AppError::Internal(anyhow::anyhow!("bug")) }),
                )
                .route("/outage", get(move || async move { outage() }))
                .route("/busy", get(|| async { AppError::Busy("full".to_owned()) }))
                .route(
                    "/timeout",
                    get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
                )
                .route(
                    "/missing",
                    get(|| async { AppError::NotFound("no".to_owned()) }),
                ),
        );
        for (path, errors, warnings) in [
            ("/bug", 1, 0),
            ("/outage", 0, 1),
            ("/busy", 0, 0),
            ("/timeout", 0, 1),
            ("/missing", 0, 0),
        ] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            let logs = logs_of(async {
                app.clone().oneshot(request).await.unwrap();
            })
            .await;
            assert_eq!(lines_at(&logs, "ERROR"), errors, "{path}:\n{logs}");
            assert_eq!(lines_at(&logs, "WARN"), warnings, "{path}:\n{logs}");
        }
    }

    #[tokio::test]
    async fn a_failure_under_a_long_url_is_logged_on_a_line_of_bounded_length() {
        let app = logging_failures_once(Router::new().route(
            "/bug",
            get(|| async { AppError::Internal(anyhow::anyhow!("bug")) }),
        ));
        let path = format!("/bug?x={}", "a".repeat(65_400));
        let request = Request::get(path.as_str()).body(Body::empty()).unwrap();
        let logs = logs_of(async {
            app.oneshot(request).await.unwrap();
        })
        .await;
        assert_eq!(lines_at(&logs, "ERROR"), 1, "{logs}");
        let longest = logs.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 1024, "a line of {longest} bytes");
        assert!(logs.contains("(65407 bytes)"), "{logs}");
    }

    #[tokio::test]
    async fn a_background_task_that_panicked_is_logged_and_is_an_error() {
        let mut outcome = None;
        let logs = logs_of(async {
            let panicked = tokio::spawn(async { panic!("the task broke") });
            let finished = tokio::spawn(async {});
            outcome = Some(
                join_background(vec![
                    ("the broken task", panicked),
                    ("the fine one", finished),
                ])
                .await,
            );
        })
        .await;
        let error = outcome.unwrap().unwrap_err().to_string();
        assert_eq!(error, "the broken task did not finish (see the log)");
        assert_eq!(lines_at(&logs, "ERROR"), 1, "{logs}");
        assert!(logs.contains("the task broke"), "{logs}");
    }
}
