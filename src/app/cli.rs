//! The command line: `serve` (the default), `migrate`, `seed` and `worker`.

use std::net::SocketAddr;

use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::app::startup::{self, Application};
use crate::base::config::{Config, LogFormat, Settings, blank_is_unset};
use crate::services::cache::FragmentCache;
use crate::services::db;
use crate::services::db::counters::{self, Drift};
use crate::services::seed::{self, DatasetSize, Existing, SeedReport};

#[derive(Debug, Parser)]
#[command(
    name = "perfblog",
    version,
    about = "A blog that serves every view twice, naive and optimized, so you can see and measure the difference.",
    long_about = "A blog that serves every view twice, naive and optimized, so you can see and \
                  measure the difference.\n\nWithout a subcommand it serves: it migrates the \
                  database, seeds the standard dataset if the database is empty, and listens \
                  on 127.0.0.1:3000.\n\nEvery setting below is a flag or an environment \
                  variable (the flag wins) and is accepted by every subcommand. RUST_LOG \
                  sets the log filter."
)]
pub struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, seed the standard dataset if the database is empty, and serve the blog.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill the database with the deterministic dataset (refuses if it already holds data).
    Seed(SeedArgs),
    /// Deliver queued emails from the outbox until stopped (run as many as you like).
    Worker,
    /// Recompute every denormalized counter (comments per post, published posts per
    /// tag) from a fresh count, and say how many had drifted.
    Recount,
}

#[derive(Debug, Default, Args)]
struct ServeArgs {
    /// Do not seed an empty database before serving.
    #[arg(long)]
    no_seed: bool,
    /// Do not deliver queued emails from this process (run `perfblog worker` instead).
    #[arg(long)]
    no_worker: bool,
}

#[derive(Debug, Args)]
struct SeedArgs {
    /// Number of users.
    #[arg(long, default_value_t = DatasetSize::STANDARD.users, value_parser = at_least_one)]
    users: usize,
    /// Number of tags (each post gets three of them).
    #[arg(long, default_value_t = DatasetSize::STANDARD.tags)]
    tags: usize,
    /// Number of posts (90 % published, 5 % drafts, 5 % archived).
    #[arg(long, default_value_t = DatasetSize::STANDARD.posts)]
    posts: usize,
    /// Average comments per post (each post gets between 0 and twice this many).
    #[arg(long, default_value_t = DatasetSize::STANDARD.comments_per_post)]
    comments_per_post: usize,
    /// Delete the existing data first (in the same transaction as the new data).
    #[arg(long, conflicts_with = "if_empty")]
    reset: bool,
    /// Seed only if the database holds no data; otherwise say so and succeed (for
    /// start-up scripts such as docker compose's).
    #[arg(long)]
    if_empty: bool,
}

fn at_least_one(raw: &str) -> Result<usize, String> {
    match raw.parse::<usize>() {
        Ok(0) => Err("at least one user is needed to write posts and comments".to_owned()),
        Ok(n) => Ok(n),
        Err(error) => Err(error.to_string()),
    }
}

impl Cli {
    /// The command line and the environment, parsed; on a usage error, the message and
    /// exit code 2. A variable set to nothing counts as unset.
    /// How the log is to be written: known before the log is set up.
    pub fn log_format(&self) -> crate::base::config::LogFormat {
        self.settings.log_format
    }

    pub fn from_args_and_env() -> Self {
        let matches = Self::command().mut_args(blank_is_unset).get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let bind = cli.settings.bind;
    let mut config = cli.settings.into_config();
    match cli.command {
        None => serve(&config, bind, ServeArgs::default()).await,
        Some(Command::Serve(args)) => {
            if args.no_worker {
                config.worker = None;
            }
            serve(&config, bind, args).await
        }
        Some(Command::Worker) => startup::run_worker_until_stopped(&config).await,
        Some(Command::Migrate) => {
            db::migrate(&config.database).await?;
            println!("Migrations applied to {}.", config.database.redacted());
            Ok(())
        }
        Some(Command::Seed(args)) => seed_command(&config, args).await,
        Some(Command::Recount) => recount_command(&config).await,
    }
}

/// `perfblog recount`: one statement per counter, in one transaction.
async fn recount_command(config: &Config) -> anyhow::Result<()> {
    db::migrate(&config.database).await?;
    let db = db::connect(&config.database).await?;
    let txn = db::begin_write(&db).await?;
    let drift = counters::recount(&txn)
        .await
        .context("could not recount the counters")?;
    txn.commit().await?;
    if drift != Drift::default() {
        // Pages cached with the drifted counts would show them until the next write.
        FragmentCache::new(&config.cache)?.invalidate().await;
    }
    println!(
        "Recounted: {} posts' comment counts and {} tags' published-post counts had drifted and were corrected.",
        drift.posts, drift.tags
    );
    Ok(())
}

/// `perfblog seed`: migrates, then writes the dataset (or says why not).
async fn seed_command(config: &Config, args: SeedArgs) -> anyhow::Result<()> {
    db::migrate(&config.database).await?;
    let db = db::connect(&config.database).await?;
    let size = DatasetSize {
        users: args.users,
        tags: args.tags,
        posts: args.posts,
        comments_per_post: args.comments_per_post,
    };
    let existing = if args.reset {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    if args.if_empty
        && seed::has_data(&db)
            .await
            .context("could not check whether the database holds data")?
    {
        announce(config, "The database already holds data; not seeding.");
        return Ok(());
    }
    let report = seed_with_progress(&db, size, existing).await?;
    // A running server's Redis cache still shows the old data: move it on.
    FragmentCache::new(&config.cache)?.invalidate().await;
    announce(config, &describe(&report, config.database.backend()));
    Ok(())
}

/// What the server (or `seed`, its one-shot job in compose) tells whoever started it: a
/// line of its own in text, a line of the log under `LOG_FORMAT=json`, where a reader
/// expects nothing else.
fn announce(config: &Config, text: &str) {
    match config.log_format {
        LogFormat::Text => println!("{text}"),
        LogFormat::Json => tracing::info!("{text}"),
    }
}

async fn serve(config: &Config, bind: SocketAddr, args: ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(config, bind).await?;
    let needs_seed = !args.no_seed
        && !seed::has_data(app.db())
            .await
            .context("could not check whether the database holds data")?;
    if needs_seed {
        announce(
            config,
            &format!(
                "First start: seeding the standard dataset into {} (once).",
                config.database.redacted()
            ),
        );
        let report = seed_with_progress(app.db(), DatasetSize::STANDARD, Existing::Refuse).await?;
        announce(config, &describe(&report, config.database.backend()));
    }
    let url = app.url();
    if app.admin_token_generated() {
        announce(
            config,
            &format!(
                "Admin token for {url}/admin (generated for this run; set ADMIN_TOKEN to keep one): {}",
                app.admin_token().expose()
            ),
        );
    }
    announce(
        config,
        &format!(
            "perfblog is serving {url}/  (the naive twin of every page is under {url}/naive/; \
             each pattern runs live, both sides, at {url}/lab)"
        ),
    );
    app.run_until_stopped().await
}

async fn seed_with_progress(
    db: &sea_orm::DatabaseConnection,
    size: DatasetSize,
    existing: Existing,
) -> anyhow::Result<SeedReport> {
    let progress = ProgressBar::new(size.posts as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} seeding [{bar:40}] {pos}/{len} posts · {elapsed} · {msg}",
    ) {
        progress.set_style(style.progress_chars("=> "));
    }
    progress.enable_steady_tick(std::time::Duration::from_millis(120));
    let report = seed::seed(db, size, existing, &progress).await;
    progress.finish_and_clear();
    Ok(report?)
}

fn describe(report: &SeedReport, backend: crate::base::config::Backend) -> String {
    format!(
        "Seeded {} users, {} tags, {} posts, {} post tags and {} comments on {backend} in {:.1} s.",
        report.users,
        report.tags,
        report.posts,
        report.post_tags,
        report.comments,
        report.elapsed.as_secs_f64()
    )
}
