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
