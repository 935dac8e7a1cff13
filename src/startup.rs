//! Start-up in one place: connect, migrate, bind, route, serve.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::middleware;
use axum::routing::get;
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::{AdminToken, Backend, Config, DatabaseUrl};
use crate::state::AppState;
use crate::{error, instrument, views};

/// A bound, migrated, ready-to-serve perfblog.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    db: DatabaseConnection,
    admin_token: AdminToken,
    admin_token_generated: bool,
}

impl Application {
    /// Connects to the database, applies pending migrations and binds `bind`
    /// (port 0 picks a free port, as the tests do).
    pub async fn build(config: &Config, bind: SocketAddr) -> anyhow::Result<Self> {
        let db = connect_database(&config.database).await?;
        migrate(&db).await?;
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

    pub fn admin_token(&self) -> &AdminToken {
        &self.admin_token
    }

    /// Whether no `ADMIN_TOKEN` was configured and one was made up for this run.
    pub fn admin_token_generated(&self) -> bool {
        self.admin_token_generated
    }

    /// Serves until Ctrl-C, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let router = router(AppState {
            db: self.db,
            admin_token: self.admin_token,
        });
        axum::serve(self.listener, router)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the server stopped with an error")
    }
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

/// Opens a pool on `url` with query counting attached.
pub async fn connect_database(url: &DatabaseUrl) -> anyhow::Result<DatabaseConnection> {
    let sqlite_dir = url
        .sqlite_file()
        .and_then(|file| std::path::Path::new(file).parent())
        .filter(|dir| !dir.as_os_str().is_empty());
    if let Some(dir) = sqlite_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the directory {}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url.as_str());
    options
        // sqlx would log every statement at INFO; the query counter reports them instead.
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10));
    match url.backend() {
        Backend::Sqlite => {
            options.max_connections(8).map_sqlx_sqlite_opts(|sqlite| {
                // WAL lets readers run while a writer commits; NORMAL sync is safe with WAL.
                sqlite
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
            });
        }
        Backend::Postgres => {
            options.max_connections(20);
        }
    }
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("could not connect to the database at {}", url.redacted()))?;
    instrument::attach(&mut db);
    Ok(db)
}

/// Applies pending migrations (a no-op when the schema is current).
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("could not apply the database migrations")
}
