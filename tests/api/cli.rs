//! The binary: subcommands explain themselves, bad configuration is named.

use std::collections::BTreeMap;
use std::process::Command;

fn perfblog() -> Command {
    Command::new(env!("CARGO_BIN_EXE_perfblog"))
}

#[test]
fn help_lists_the_subcommands() {
    let output = perfblog().arg("--help").output().expect("perfblog runs");

    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for subcommand in ["serve", "migrate", "seed"] {
        assert!(help.contains(subcommand), "{help}");
    }
}

#[test]
fn seed_help_explains_the_size_flags() {
    let output = perfblog()
        .args(["seed", "--help"])
        .output()
        .expect("perfblog runs");

    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--posts",
        "--users",
        "--tags",
        "--comments-per-post",
        "--reset",
    ] {
        assert!(help.contains(flag), "{help}");
    }
}

#[test]
fn a_malformed_database_url_stops_start_up_with_its_name_and_the_problem() {
    let output = perfblog()
        .arg("migrate")
        .env("DATABASE_URL", "mysql://root@localhost/blog")
        .output()
        .expect("perfblog runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL cannot be used"), "{stderr}");
    assert!(stderr.contains("`mysql` is not supported"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_malformed_bind_address_is_rejected_by_name() {
    let output = perfblog()
        .args(["serve", "--bind", "localhost"])
        .output()
        .expect("perfblog runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--bind"), "{stderr}");
}

#[test]
fn a_malformed_bind_without_a_subcommand_stops_start_up_with_its_name() {
    // Were BIND ignored, the server would start and fail on this database instead.
    let output = perfblog()
        .env("BIND", "localhost")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/perfblog")
        .env("DATABASE_ACQUIRE_TIMEOUT", "0.1")
        .output()
        .expect("perfblog runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BIND cannot be used"), "{stderr}");
    assert!(stderr.contains("`localhost` is not an address"), "{stderr}");
}

#[test]
fn a_variable_set_to_nothing_counts_as_unset() {
    let output = perfblog()
        .arg("migrate")
        .env("DATABASE_URL", "sqlite::memory:")
        .env("PAGE_CACHE", " ")
        .env("SMTP_URL", "")
        .output()
        .expect("perfblog runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
}

/// Every setting perfblog reads, by its variable.
const SETTINGS: [&str; 31] = [
    "DATABASE_URL",
    "DATABASE_MAX_CONNECTIONS",
    "DATABASE_ACQUIRE_TIMEOUT",
    "DATABASE_REPLICA_URLS",
    "DATABASE_REPLICA_MAX_LAG",
    "BIND",
    "ADMIN_TOKEN",
    "SMTP_URL",
    "SMTP_CA_FILE",
    "MAIL_DIR",
    "PUBLIC_URL",
    "REDIS_URL",
    "PAGE_CACHE",
    "TRUSTED_PROXIES",
    "HEADER_READ_TIMEOUT",
    "MAX_CONNECTIONS",
    "LAB_SIDE_LIMIT_MS",
    "REPOSITORY_URL",
    "NAIVE_ROUTES",
    "NAIVE_MEMORY_BUDGET",
    "IMPORT_MAX_MB",
    "NAIVE_CONCURRENCY",
    "N_PLUS_ONE",
    "N_PLUS_ONE_THRESHOLD",
    "N_PLUS_ONE_ALLOW",
    "PERF_SLOW_MS",
    "PERF_RECORD",
    "PERF_HISTORY",
    "SQL_COMMENTS",
    "PERFBLOG_INSPECT",
    "LOG_FORMAT",
];

/// `perfblog <args> --help`, with nothing in the environment.
fn help(args: &[&str]) -> String {
    let output = perfblog()
        .args(args)
        .arg("--help")
        .env_clear()
        .output()
        .expect("perfblog runs");
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The settings a help text lists: each one's variable, and its default if it has one.
fn settings_in(help: &str) -> BTreeMap<String, Option<String>> {
    let between = |text: &str, start: &str, end: char| {
        let rest = &text[text.find(start)? + start.len()..];
        Some(rest[..rest.find(end)?].to_owned())
    };
    help.split("\n      --")
        .skip(1)
        .filter_map(|option| {
            let variable = between(option, "[env: ", ']')?;
            let variable = variable.trim_end_matches('=').to_owned();
            Some((variable, between(option, "[default: ", ']')))
        })
        .collect()
}

#[test]
fn serve_help_lists_every_setting_with_its_variable() {
    let expected: Vec<&str> = {
        let mut names = SETTINGS.to_vec();
        names.sort_unstable();
        names
    };
    for args in [&["serve"][..], &[]] {
        let listed = settings_in(&help(args));
        assert_eq!(listed.keys().collect::<Vec<_>>(), expected, "{args:?}");
    }
}

/// The settings table of `docs/operations.md`: each variable, and its default when the
/// default cell starts with one in code (`` `on` ``); otherwise it has none.
fn settings_table() -> BTreeMap<String, Option<String>> {
    let guide = include_str!("../../docs/operations.md");
    let table = guide
        .split("<!-- settings:start -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- settings:end -->").next())
        .expect("docs/operations.md marks its settings table");
    table
        .lines()
        .filter_map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let variable = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            let default = cells
                .get(1)?
                .strip_prefix('`')
                .and_then(|cell| cell.split('`').next());
            Some((variable.to_owned(), default.map(str::to_owned)))
        })
        .collect()
}

#[test]
fn the_settings_table_of_the_operations_guide_matches_help() {
    assert_eq!(settings_table(), settings_in(&help(&["serve"])));
}

#[test]
fn seeding_zero_users_is_refused_before_touching_the_database() {
    let output = perfblog()
        .args(["seed", "--users", "0"])
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("perfblog runs");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at least one user"), "{stderr}");
}

/// A release of the server on a fresh SQLite file, with `env` set, serving on a free
/// port: the process, its standard output's lines after the one that says where it
/// serves, and that address.
struct Server {
    process: std::process::Child,
    /// The line that said where it serves.
    serving: String,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    address: String,
    _dir: tempfile::TempDir,
}

fn serve(env: &[(&str, &str)]) -> Server {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut process = perfblog()
        .args(["serve", "--bind", "127.0.0.1:0", "--no-seed"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/blog.sqlite?mode=rwc", dir.path().display()),
        )
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("ADMIN_TOKEN", "sigterm-test-token-0123")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("perfblog starts");
    let stdout = process.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let serving = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("perfblog is serving"))
        .expect("it says where it serves");
    let address = serving
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '"', ' ']).next())
        .expect("an address")
        .to_owned();
    Server {
        process,
        serving,
        lines,
        address,
        _dir: dir,
    }
}

/// `GET path` over a connection of its own, read to the end: the raw answer.
fn get_raw(address: &str, path: &str) -> String {
    use std::io::{Read, Write};

    let mut connection = std::net::TcpStream::connect(address).expect("it listens");
    connection
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("request sent");
    let mut answer = String::new();
    connection.read_to_string(&mut answer).expect("answer read");
    answer
}

/// Sends SIGTERM and waits up to 10 s for the process to exit: its exit status.
fn terminate(server: &mut Server) -> std::process::ExitStatus {
    let terminated = Command::new("kill")
        .args(["-TERM", &server.process.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = server.process.try_wait().expect("waitable") {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "it stops within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn sigterm_lets_the_server_finish_and_exit_cleanly() {
    let mut server = serve(&[]);
    let answer = get_raw(&server.address, "/healthz");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = terminate(&mut server);
    assert!(status.success(), "a clean exit: {status:?}");
}

#[test]
fn sigterm_does_not_wait_for_a_connection_that_sent_only_an_http2_preface() {
    use std::io::Write;
    // Long enough that the idle limit cannot be what closes it within the 10 s allowed.
    let mut server = serve(&[("HEADER_READ_TIMEOUT", "60")]);
    let mut silent = std::net::TcpStream::connect(&server.address).expect("connects");
    silent
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .expect("the preface and an empty SETTINGS frame are sent");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let status = terminate(&mut server);
    assert!(status.success(), "a clean exit: {status:?}");
}

#[test]
fn under_log_format_json_every_line_is_an_object_and_each_request_has_one() {
    let mut server = serve(&[("LOG_FORMAT", "json")]);
    let answer = get_raw(&server.address, "/healthz");
    let request_id = answer
        .lines()
        .find_map(|line| line.strip_prefix("x-request-id: "))
        .expect("an X-Request-Id")
        .trim()
        .to_owned();
    assert!(terminate(&mut server).success());
    let lines: Vec<String> = std::iter::once(server.serving.clone())
        .chain(server.lines.by_ref().map_while(Result::ok))
        .collect();
    let logged: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access = logged
        .iter()
        .find(|line| line["target"] == "perfblog::access")
        .unwrap_or_else(|| panic!("an access line in {lines:#?}"));
    assert_eq!(access["request_id"], request_id.as_str(), "{access}");
    assert_eq!(access["method"], "GET", "{access}");
    assert_eq!(access["route"], "/healthz", "{access}");
    assert_eq!(access["status"], 200, "{access}");
    assert!(access["latency_ms"].as_f64().is_some(), "{access}");
    assert!(
        lines.iter().all(|line| !line.contains('\u{1b}')),
        "no colour codes when the output is not a terminal"
    );
}

/// The server's peak resident memory so far, in bytes (Linux's `VmHWM`).
fn peak_memory(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.process.id()))
        .expect("the server's status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line");
    kib * 1024
}

/// As big as the export of ten times the standard dataset in rows — 100,000 posts, at
/// the short end of its 2–8 KB bodies — sent as it is made, in one request, to a server
/// process of its own: the import holds a batch at a time, not the body.
#[test]
fn a_100000_post_export_imports_in_one_request_with_the_server_under_256_mb() {
    use std::io::{Read, Write};

    let mut server = serve(&[]);
    let url = format!(
        "sqlite://{}/blog.sqlite?mode=rwc",
        server._dir.path().display()
    );
    let seeded = perfblog()
        .args(["seed", "--posts", "0", "--users", "2000", "--tags", "200"])
        .env("DATABASE_URL", &url)
        .output()
        .expect("perfblog seeds");
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let before = peak_memory(&server);

    let mut connection = std::net::TcpStream::connect(&server.address).expect("it listens");
    connection
        .write_all(
            b"POST /admin/import HTTP/1.1\r\nHost: test\r\n\
              Authorization: Bearer sigterm-test-token-0123\r\n\
              Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\
              Connection: close\r\n\r\n",
        )
        .expect("the head is sent");
    let body = "Bytes on the wire, one line a post. ".repeat(56);
    let mut sent = 0;
    for batch in 0..100 {
        let mut chunk = String::with_capacity(1_000 * (body.len() + 120));
        for i in batch * 1_000..(batch + 1) * 1_000 {
            let line = serde_json::json!({
                "title": format!("Scale post {i}"),
                "body": body,
                "author_email": format!("user{}@example.com", i % 2_000 + 1),
                "tags": ["rust", "sql"],
                "status": "published",
            });
            chunk.push_str(&line.to_string());
            chunk.push('\n');
        }
        sent += chunk.len();
        write!(connection, "{:x}\r\n{chunk}\r\n", chunk.len()).expect("a chunk is sent");
    }
    connection.write_all(b"0\r\n\r\n").expect("the end is sent");
    let mut answer = String::new();
    connection.read_to_string(&mut answer).expect("an answer");

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#"{"imported":100000}"#), "{answer}");
    let peak = peak_memory(&server);
    eprintln!(
        "imported {} MB: server peak RSS {} MB, {} MB before",
        sent >> 20,
        peak >> 20,
        before >> 20
    );
    assert!(sent > 200_000_000, "{sent} bytes sent");
    assert!(
        peak < 256 * 1024 * 1024,
        "peak RSS {} MB (before the import {} MB) for {} MB sent",
        peak >> 20,
        before >> 20,
        sent >> 20
    );
    assert!(terminate(&mut server).success());
}
