//! `spawn_app`: the real application, its own database, a random port.

use std::sync::atomic::{AtomicU32, Ordering};

use indicatif::ProgressBar;
use perfblog::app::startup::Application;
use perfblog::base::config::{
    AdminToken, CacheSettings, CommentRate, Config, ConnectionTimeouts, DatabaseUrl, Inspection,
    MailSettings, NaiveRoutes, PageCacheSettings, PerfRecording, RetryPolicy, SmtpUrl,
    StandbySettings, WorkerSettings,
};
use perfblog::base::entities::post;
use perfblog::services::cache::{FragmentCache, PageCache};
use perfblog::services::seed::{self, DatasetSize, Existing, SeedReport};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Statement,
};

pub struct TestApp {
    pub address: String,
    pub db: DatabaseConnection,
    pub client: reqwest::Client,
    /// Where mail goes when the app has no SMTP server: one `.eml` file per message.
    pub mail_dir: std::path::PathBuf,
    /// The app's fragment cache, for its counters.
    pub cache: FragmentCache,
    /// The app's page cache, for its counters.
    pub pages: PageCache,
    pub cache_settings: CacheSettings,
    pub database_url: String,
    /// The lab's gate, which a test can hold as a running experiment would.
    pub lab_gate: perfblog::lab::LabGate,
    /// The optimized post page's pending views.
    pub views: perfblog::services::cache::ViewTally,
    /// The naive twins' gate, which a test can fill as a crowd would.
    pub naive_gate: perfblog::views::naive_gate::NaiveGate,
    /// Dropped (a PostgreSQL test database removed) with the app that created it.
    _database: Option<TestDatabase>,
    _mail_dir: tempfile::TempDir,
}

/// How a test wants its app: where mail goes, whether an outbox worker runs, and
/// which cache (default: Redis at `TEST_REDIS_URL` if set, else in process).
pub struct TestOptions {
    pub smtp_url: Option<String>,
    /// `SMTP_CA_FILE`: a certificate authority the SMTP server's certificate chains to.
    pub smtp_ca_file: Option<std::path::PathBuf>,
    pub worker: Option<WorkerSettings>,
    pub cache: Option<CacheSettings>,
    /// Tests post many comments from one address: by default the limit is out of reach.
    pub comment_rate: CommentRate,
    /// On, as in production, unless a test asks otherwise.
    pub page_cache: PageCacheSettings,
    /// How often the app writes pending views itself: by default never within a
    /// test, which flushes by hand (`TestApp::flush_views`) to be deterministic.
    pub view_flush: std::time::Duration,
    /// The most addresses one sitemap file lists (the protocol's 50,000 by default).
    pub sitemap_urls: u64,
    /// The largest NDJSON import taken, in bytes (`IMPORT_MAX_MB`'s default).
    pub import_max_bytes: u64,
    /// Long enough that no side of a lab comparison is stopped on a loaded machine,
    /// unless a test asks for a short limit.
    pub lab_side_limit: std::time::Duration,
    /// By default as many naive requests at once as any test sends.
    pub naive: NaiveRoutes,
    pub connections: ConnectionTimeouts,
    /// The N+1 detector logging, as in production, and the SQL panel off.
    pub inspection: Inspection,
    /// Every request recorded, in a history of 500.
    pub perf: PerfRecording,
    /// No repeat allowed.
    pub n_plus_one_allow: Vec<String>,
    /// No standby: every read from the primary.
    pub standbys: StandbySettings,
}

impl Default for TestOptions {
    fn default() -> Self {
        let plenty = std::num::NonZeroU32::new(100_000).expect("non-zero");
        Self {
            smtp_url: None,
            smtp_ca_file: None,
            worker: Some(fast_worker()),
            cache: None,
            comment_rate: CommentRate {
                per_minute: plenty,
                burst: plenty,
                ..CommentRate::default()
            },
            page_cache: PageCacheSettings::default(),
            view_flush: std::time::Duration::from_secs(3600),
            sitemap_urls: perfblog::base::config::SITEMAP_URLS_PER_FILE,
            import_max_bytes: perfblog::base::config::DEFAULT_IMPORT_MAX_MB * 1_000_000,
            lab_side_limit: std::time::Duration::from_secs(120),
            naive: NaiveRoutes {
                in_flight: 64,
                wait: std::time::Duration::from_secs(30),
                ..NaiveRoutes::default()
            },
            connections: ConnectionTimeouts::default(),
            inspection: Inspection::default(),
            perf: PerfRecording::default(),
            n_plus_one_allow: Vec::new(),
            standbys: StandbySettings::default(),
        }
    }
}

impl TestOptions {
    /// With `PAGE_CACHE=off`: every optimized page is rendered, so a test can watch
    /// what rendering costs (its statements, the fragment cache) on every request.
    pub fn rendering_every_page() -> Self {
        Self {
            page_cache: PageCacheSettings {
                enabled: false,
                ..PageCacheSettings::default()
            },
            ..Self::default()
        }
    }
}

/// A test app with `PAGE_CACHE=off` (see [`TestOptions::rendering_every_page`]).
pub async fn spawn_app_rendering_every_page() -> TestApp {
    spawn_app_with(TestOptions::rendering_every_page()).await
}

/// Statements the naive sidebar runs on every naive page: its estimate of what it will
/// hold (the memory budget's), then tags, published posts, post-tag links, comments.
pub const NAIVE_SIDEBAR_QUERIES: u32 = 1 + 4;

/// The cache a test app uses unless it asks for another: Redis when `TEST_REDIS_URL`
/// is set (under a namespace of its own, so tests running at once never share keys),
/// in process otherwise.
pub fn default_cache() -> CacheSettings {
    match std::env::var("TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => CacheSettings::Redis {
            url,
            namespace: format!("perfblog-test-{:016x}", rand::random::<u64>()),
        },
        _ => CacheSettings::Memory,
    }
}

/// A worker tuned for tests: quick polls, short leases, retries in milliseconds.
pub fn fast_worker() -> WorkerSettings {
    WorkerSettings {
        batch: 10,
        lease: std::time::Duration::from_millis(800),
        poll_interval: std::time::Duration::from_millis(25),
        retry: RetryPolicy {
            max_attempts: 100,
            base_delay: std::time::Duration::from_millis(20),
            max_delay: std::time::Duration::from_millis(200),
        },
    }
}

/// Starts perfblog against a database of its own and returns once it listens.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(TestOptions::default()).await
}

pub async fn spawn_app_with(options: TestOptions) -> TestApp {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    launch(&url, Some(database), options).await
}

/// The app on a database the test brings (its own PostgreSQL server, say).
pub async fn spawn_app_on(database_url: &str, options: TestOptions) -> TestApp {
    launch(database_url, None, options).await
}

impl TestApp {
    /// A second instance of the app on this one's database and cache (a replica
    /// behind the same load balancer), with no worker of its own.
    pub async fn spawn_replica(&self) -> TestApp {
        self.spawn_replica_with(TestOptions::default()).await
    }

    /// A replica as [`TestApp::spawn_replica`], with `options` for the rest.
    pub async fn spawn_replica_with(&self, options: TestOptions) -> TestApp {
        let options = TestOptions {
            worker: None,
            cache: Some(self.cache_settings.clone()),
            ..options
        };
        launch(&self.database_url, None, options).await
    }
}

/// The request recorder's spans, as the binary installs them (`main.rs`), once per
/// test process: without them a recorded request's waterfall has statements only.
/// Warnings and errors go to the test's captured output, so a test that fails shows
/// what the app logged (why a response was a 500, why an email was not delivered).
/// A test that captures logs (`CapturedLogs`) replaces it on its own thread.
fn record_spans() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let warnings = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_test_writer()
            .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
        let subscriber = tracing_subscriber::registry()
            .with(perfblog::base::instrument::trace::SpanRecorder::layer())
            .with(warnings);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

async fn launch(
    database_url: &str,
    database: Option<TestDatabase>,
    options: TestOptions,
) -> TestApp {
    record_spans();
    let cache_settings = options.cache.unwrap_or_else(default_cache);
    let mail_dir = tempfile::tempdir().expect("a mail folder");
    let config = Config {
        database: DatabaseUrl::parse(database_url).expect("test database URL parses"),
        standbys: options.standbys,
        admin_token: Some(AdminToken::parse(ADMIN_TOKEN).expect("valid token")),
        mail: match options.smtp_url {
            Some(url) => MailSettings::Smtp {
                server: SmtpUrl::parse(&url).expect("a test SMTP URL"),
                ca_file: options.smtp_ca_file,
            },
            None => MailSettings::Folder(mail_dir.path().to_owned()),
        },
        public_url: Some("http://blog.test".to_owned()),
        worker: options.worker,
        cache: cache_settings.clone(),
        page_cache: options.page_cache,
        comment_rate: options.comment_rate,
        repository_url: None,
        lab_wait: LAB_WAIT,
        lab_side_limit: options.lab_side_limit,
        view_flush: options.view_flush,
        sitemap_urls: options.sitemap_urls,
        import_max_bytes: options.import_max_bytes,
        connections: options.connections,
        naive: options.naive,
        inspection: options.inspection,
        perf: options.perf,
        n_plus_one_allow: options.n_plus_one_allow,
        log_format: perfblog::base::config::LogFormat::Text,
    };
    let listen = "127.0.0.1:0".parse().expect("address parses");
    // The whole suite starting apps at once on two cores can keep a new SQLite file's
    // first connection past the pool's acquire timeout (1.5 s): one more try.
    let app = match Application::build(&config, listen).await {
        Ok(app) => app,
        Err(_) => Application::build(&config, listen)
            .await
            .expect("the application starts"),
    };
    let address = app.url();
    let db = app.db().clone();
    let cache = app.state().site.cache.clone();
    let pages = app.state().site.pages.clone();
    let lab_gate = app.state().lab.gate.clone();
    let views = app.state().site.views.clone();
    let naive_gate = app.state().naive.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client builds"),
        mail_dir: mail_dir.path().to_owned(),
        cache,
        pages,
        cache_settings,
        database_url: database_url.to_owned(),
        lab_gate,
        views,
        naive_gate,
        _database: database,
        _mail_dir: mail_dir,
    }
}

/// How long a test's lab visitor waits for a busy lab: long enough for any experiment
/// on the test dataset ahead of it, short enough for the busy-lab test to be quick.
pub const LAB_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The admin token every test app is configured with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A dataset small enough for a test, shaped like the standard one.
pub const SMALL: DatasetSize = DatasetSize {
    users: 6,
    tags: 8,
    posts: 30,
    comments_per_post: 3,
};

impl TestApp {
    /// Seeds, then invalidates the cache as every write in the app does.
    pub async fn seed(&self, size: DatasetSize) -> SeedReport {
        let report = seed::seed(&self.db, size, Existing::Refuse, &ProgressBar::hidden())
            .await
            .expect("seeding succeeds");
        self.cache.invalidate().await;
        report
    }

    /// Writes the optimized post page's pending views to the database now.
    pub async fn flush_views(&self) {
        self.views.flush(&self.db).await.expect("views are written");
    }

    /// The post's stored `view_count`.
    pub async fn views_of(&self, post_id: i32) -> i32 {
        post::Entity::find_by_id(post_id)
            .one(&self.db)
            .await
            .expect("query runs")
            .expect("the post")
            .view_count
    }

    pub async fn set_views(&self, post_id: i32, views: i32) {
        post::Entity::update(post::ActiveModel {
            id: sea_orm::ActiveValue::Set(post_id),
            view_count: sea_orm::ActiveValue::Set(views),
            ..Default::default()
        })
        .exec(&self.db)
        .await
        .expect("views are set");
    }

    /// `n` requests for the same page, all in flight at once; each must answer 200.
    pub async fn get_concurrently(&self, path: &str, n: usize) {
        let requests = (0..n).map(|_| {
            let request = self.client.get(format!("{}{path}", self.address)).send();
            tokio::spawn(request)
        });
        for request in requests.collect::<Vec<_>>() {
            let response = request.await.expect("task runs").expect("answered");
            assert_eq!(response.status(), 200);
        }
    }

    /// The published post with the lowest id: a post every seeded dataset has.
    pub async fn first_published(&self) -> post::Model {
        post::Entity::find()
            .filter(post::Column::Status.eq(post::Status::Published))
            .order_by_asc(post::Column::Id)
            .one(&self.db)
            .await
            .expect("query runs")
            .expect("a published post")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request is answered")
    }

    /// POST a form to `path` with the admin token as basic-auth password.
    pub async fn admin_post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .basic_auth("admin", Some(ADMIN_TOKEN))
            .form(form)
            .send()
            .await
            .expect("request is answered");
        Page::read(response).await
    }

    /// POST a JSON body to `path` with the admin token as a bearer token.
    pub async fn admin_post_json(&self, path: &str, body: impl Into<reqwest::Body>) -> Page {
        self.admin_post_body(path, "application/json", body).await
    }

    /// POST `body` as `content_type` to `path` with the admin token as a bearer token.
    pub async fn admin_post_body(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Page {
        let response = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request is answered");
        Page::read(response).await
    }

    /// GET `path` and return the status, the `X-Query-Count` header and the body.
    pub async fn get_page(&self, path: &str) -> Page {
        Page::read(self.get(path).await).await
    }
}

impl Page {
    pub async fn read(response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let query_count = response
            .headers()
            .get("x-query-count")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        let every = |name: &str| -> Vec<String> {
            response
                .headers()
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .map(str::to_owned)
                .collect()
        };
        let timings = every("server-timing");
        let n_plus_one = every("x-n-plus-one");
        let findings = every("x-perf-findings");
        let body = response.text().await.expect("body is text");
        Page {
            status,
            query_count,
            n_plus_one,
            findings,
            server_timing: timings.first().cloned(),
            timings,
            body,
        }
    }

    /// The number an admin action's result page reports.
    pub fn rows_changed(&self) -> u64 {
        let start = self
            .body
            .find("<output id=\"rows-changed\">")
            .unwrap_or_else(|| panic!("a result page: {}", self.body))
            + "<output id=\"rows-changed\">".len();
        let end = start + self.body[start..].find('<').expect("closing tag");
        self.body[start..end].parse().expect("a number")
    }
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub query_count: Option<u32>,
    /// The first `Server-Timing` value: the whole request's.
    pub server_timing: Option<String>,
    /// Every `Server-Timing` value: the request's, then one per part of the page.
    pub timings: Vec<String>,
    /// Every `X-N-Plus-One` value: one per statement shape the request repeated.
    pub n_plus_one: Vec<String>,
    /// Every `X-Perf-Findings` value: slow parts and statements, then N+1 suspects.
    pub findings: Vec<String>,
    pub body: String,
}

impl Page {
    /// What the fragment cache answered for `kind` (`"sidebar"`), from its own
    /// `Server-Timing` entry `cache.sidebar;desc="hit"`; `None` if it was not asked.
    pub fn cache_lookup(&self, kind: &str) -> Option<&str> {
        let prefix = format!("cache.{kind};desc=\"");
        self.timings
            .iter()
            .find_map(|timing| timing.strip_prefix(&prefix)?.strip_suffix('"'))
    }

    /// The HTML above the footer: what the naive and optimized variants must agree on
    /// byte for byte (the footer names the variant and its query count), lists aside:
    /// see [`Page::content`].
    pub fn without_footer(&self) -> &str {
        above_footer(&self.body)
    }
}

/// The HTML of a page above its footer (see [`Page::without_footer`]).
pub fn above_footer(html: &str) -> &str {
    html.split("<footer class=\"stats\">")
        .next()
        .unwrap_or(html)
}

impl Page {
    /// The HTML above the footer without the pager's links: what twin list pages agree
    /// on (the naive twin links older posts by page number, the optimized page by
    /// cursor).
    pub fn content(&self) -> String {
        let html = self.without_footer();
        let pager = html.find("<nav class=\"pager\">");
        let end = pager.and_then(|start| html[start..].find("</nav>").map(|end| start + end));
        match (pager, end) {
            (Some(start), Some(end)) => format!("{}{}", &html[..start], &html[end..]),
            _ => html.to_owned(),
        }
    }
}

impl TestApp {
    /// GET the optimized `path` and its naive twin under `/naive`.
    pub async fn get_both(&self, path: &str) -> (Page, Page) {
        let optimized = self.get_page(path).await;
        let naive = self.get_page(&format!("/naive{path}")).await;
        (optimized, naive)
    }

    /// Adds `count` comments to `post_id`, one minute apart, newest last.
    pub async fn add_comments(&self, post_id: i32, count: usize) {
        use perfblog::base::entities::comment;
        use sea_orm::{ActiveValue::Set, EntityTrait};
        let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
        let comments = (0..count).map(|i| comment::ActiveModel {
            post_id: Set(post_id),
            author_id: Set(1 + (i % 3) as i32),
            body: Set(format!("Comment number {i} <b>on</b> post {post_id}")),
            created_at: Set(start + chrono::TimeDelta::minutes(i as i64)),
            ..Default::default()
        });
        comment::Entity::insert_many(comments)
            .exec_without_returning(&self.db)
            .await
            .expect("comments are inserted");
        // As every write that adds comments does (see `perfblog::services::db::counters`).
        sea_orm::ConnectionTrait::execute_unprepared(
            &self.db,
            &format!(
                "UPDATE posts SET comment_count = comment_count + {count} WHERE id = {post_id}"
            ),
        )
        .await
        .expect("the post's comment count follows");
        self.cache.invalidate().await;
    }
}

/// Every post and post-tag row, in id order: what "the database is unchanged" and
/// "both variants left the same state" compare.
pub async fn snapshot(
    db: &DatabaseConnection,
) -> (
    Vec<perfblog::base::entities::post::Model>,
    Vec<perfblog::base::entities::post_tag::Model>,
) {
    use perfblog::base::entities::{post, post_tag};
    use sea_orm::{EntityTrait, QueryOrder};
    let posts = post::Entity::find()
        .order_by_asc(post::Column::Id)
        .all(db)
        .await
        .expect("posts load");
    let post_tags = post_tag::Entity::find()
        .order_by_asc(post_tag::Column::PostId)
        .order_by_asc(post_tag::Column::TagId)
        .all(db)
        .await
        .expect("post tags load");
    (posts, post_tags)
}

/// Text as askama writes it into HTML: `&`, `<`, `>`, `"` and `'` escaped. The dataset's
/// text contains all five, so pages that show it are also escaping tests.
pub fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// A database that exists for one test: a SQLite file in a temporary directory, or a
/// PostgreSQL database created on the server `TEST_DATABASE_URL` points at and dropped
/// when the test ends.
///
/// SQLite tests use a file rather than `sqlite::memory:` so they exercise exactly what
/// `cargo run` uses (WAL, a pool of connections); an in-memory database is either one
/// per connection or shared-cache with table-level locks, which behaves differently.
pub struct TestDatabase {
    pub url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    pub async fn create() -> Self {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(server_url) if !server_url.is_empty() => Self::postgres(server_url).await,
            _ => Self::sqlite(),
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}/perfblog.sqlite?mode=rwc", dir.path().display());
        Self {
            url,
            kind: Kind::Sqlite(dir),
        }
    }

    async fn postgres(server_url: String) -> Self {
        let name = format!(
            "perfblog_test_{}_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let server = Database::connect(&server_url)
            .await
            .expect("TEST_DATABASE_URL accepts connections");
        server
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("test database is created");
        server.close().await.ok();
        let mut url = url::Url::parse(&server_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            kind: Kind::Postgres { server_url, name },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Kind::Postgres { server_url, name } = &self.kind else {
            return;
        };
        let (server_url, name) = (server_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on a future; a thread
        // with its own small runtime can. FORCE closes the app's pooled connections.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime for cleanup");
            runtime.block_on(async {
                if let Ok(server) = Database::connect(&server_url).await {
                    // The test's database, and those the lab made beside it
                    // (`{name}_one_transaction`, …).
                    let mut names = vec![name.clone()];
                    let beside = Statement::from_string(
                        server.get_database_backend(),
                        format!(
                            "SELECT datname FROM pg_database WHERE starts_with(datname, '{name}_')"
                        ),
                    );
                    if let Ok(rows) = server.query_all_raw(beside).await {
                        names.extend(rows.iter().filter_map(|row| row.try_get_by_index(0).ok()));
                    }
                    for name in names {
                        let _ = server
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                    let _ = server.close().await;
                }
            });
        });
        let _ = dropped.join();
    }
}

/// What this test's own code logs (INFO and up), for tests whose promise is a log
/// line. Installed for the current thread: use it from a current-thread runtime (the
/// `#[tokio::test]` default), where every task the test spawns runs on that thread.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Starts capturing; capture stops when the guard is dropped.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// How many captured lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.count_with_all(&[needle])
    }

    /// How many captured lines contain every one of `needles`.
    pub fn count_with_all(&self, needles: &[&str]) -> usize {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .count()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// GET `path` with `Accept-Encoding: accept` (and `If-None-Match: etag`, if given): the
/// status, the headers and the raw body, still encoded.
pub async fn fetch(
    app: &TestApp,
    path: &str,
    accept: &str,
    etag: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = app
        .client
        .get(format!("{}{path}", app.address))
        .header("accept-encoding", accept);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.expect("answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("a body").to_vec();
    (status, headers, body)
}

/// A response header's value, if it is there and is text.
pub fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

pub fn gunzip(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

pub fn unbrotli(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    brotli::Decompressor::new(body, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}
