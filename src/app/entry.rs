//! The program's start: the log, the async runtime, the command line run on it, and
//! the exit status. Here in the library rather than in `main.rs`, so that its generic
//! code (the runtime's `block_on` over the whole program, the log's layers) is compiled
//! once, with the library, instead of again in the binary (docs/crates.md, "Build
//! times").

use crate::base::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Stack for the runtime's worker threads. A lab experiment runs inside a request and
/// polls its sides through a few hundred nested frames; in a debug build those frames
/// are large, and tokio's default 2 MiB overflowed. Stacks are reserved, not used:
/// untouched pages cost no memory.
const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Runs the program; what `main` returns.
pub fn main() -> std::process::ExitCode {
    let cli = crate::app::cli::Cli::from_args_and_env();
    // The log, and the request recorder's spans (each recorded request's waterfall):
    // the same spans, which `RUST_LOG=perfblog=debug` also shows in the log.
    tracing_subscriber::registry()
        .with(log_layer(cli.log_format()))
        .with(crate::base::instrument::trace::SpanRecorder::layer())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::app::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the chain of causes on one line, without a backtrace.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The log as `format` says, filtered by `RUST_LOG` or, without it, the app's
/// information and everyone's warnings — and, in JSON, one line per request
/// (`perfblog::access`), which text leaves out unless `RUST_LOG` asks for it.
fn log_layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let filter = |default: &str| {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    };
    // Colours for a terminal only: a container's log (docker compose) keeps no escape
    // codes for whatever reads it.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(terminal)
            .with_filter(filter(
                "perfblog=info,perfblog::access=warn,tower_http=warn,warn",
            ))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_filter(filter("perfblog=info,tower_http=warn,warn"))
            .boxed(),
    }
}
