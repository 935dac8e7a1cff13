//! The binary: subcommands explain themselves, bad configuration is named.

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

    assert_eq!(output.status.code(), Some(1));
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

#[test]
fn sigterm_lets_the_server_finish_and_exit_cleanly() {
    use std::io::{BufRead, BufReader, Read, Write};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut server = perfblog()
        .args(["serve", "--bind", "127.0.0.1:0", "--no-seed"])
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/blog.sqlite?mode=rwc", dir.path().display()),
        )
        .env("MAIL_DIR", dir.path().join("mail"))
        .env("ADMIN_TOKEN", "sigterm-test-token-0123")
        .env_remove("REDIS_URL")
        .env_remove("SMTP_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("perfblog starts");
    let stdout = server.stdout.take().expect("stdout is piped");
    let serving = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("perfblog is serving"))
        .expect("it says where it serves");
    let address = serving
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("an address")
        .to_owned();

    let mut connection = std::net::TcpStream::connect(&address).expect("it listens");
    connection
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .expect("request sent");
    let mut answer = String::new();
    connection.read_to_string(&mut answer).expect("answer read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let terminated = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(terminated.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().expect("waitable") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "it stops within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "a clean exit: {status:?}");
}
