//! A PostgreSQL of the test's own — `initdb` into a temporary folder, `pg_ctl` on a
//! free port — which the test can stop and start again under a running app; and a hot
//! standby of it, streaming its changes and applying them a set delay late, for the
//! tests of reading from a replica.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::smtp_sink::free_port;

pub struct OwnPostgres {
    port: u16,
    bin: PathBuf,
    data: PathBuf,
    /// Removed (with the cluster in it) when the server is dropped.
    _folder: tempfile::TempDir,
}

impl OwnPostgres {
    /// `None` where PostgreSQL's server binaries are not installed, unless
    /// `PERFBLOG_REQUIRE_OWN_POSTGRES` is set (CI sets it): then it fails the test.
    pub fn start() -> Option<Self> {
        let required = std::env::var_os("PERFBLOG_REQUIRE_OWN_POSTGRES").is_some();
        let Some(bin) = server_binaries() else {
            assert!(
                !required,
                "initdb and pg_ctl are needed (PERFBLOG_REQUIRE_OWN_POSTGRES is set)"
            );
            eprintln!("skipped: PostgreSQL's initdb and pg_ctl are not installed");
            return None;
        };
        let server = OwnPostgres::in_a_new_folder(bin);
        run(server
            .command("initdb")
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&server.data));
        server.resume();
        Some(server)
    }

    /// A hot standby of this server on a port of its own: a base backup
    /// (`pg_basebackup -R`, which writes the settings that make it stream from here),
    /// applying each commit `apply_delay` after the primary made it, so a test can see
    /// it lag. Stopped and removed when dropped (drop it before its primary).
    pub fn standby(&self, apply_delay: Duration) -> OwnPostgres {
        let standby = OwnPostgres::in_a_new_folder(self.bin.clone());
        run(self
            .command("pg_basebackup")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync", "-D"])
            .arg(&standby.data));
        // Appended to the file pg_basebackup wrote (its owner stays `postgres`).
        let mut settings = std::fs::OpenOptions::new()
            .append(true)
            .open(standby.data.join("postgresql.auto.conf"))
            .expect("the standby's settings file");
        writeln!(
            settings,
            "recovery_min_apply_delay = '{}ms'",
            apply_delay.as_millis()
        )
        .expect("the apply delay is written");
        standby.resume();
        standby
    }

    /// A server yet to be made, in a temporary folder of its own, on a free port.
    fn in_a_new_folder(bin: PathBuf) -> OwnPostgres {
        let folder = tempfile::tempdir().expect("a folder for the cluster");
        let server = OwnPostgres {
            port: free_port(),
            bin,
            data: folder.path().join("data"),
            _folder: folder,
        };
        // PostgreSQL refuses to run as root: run it as `postgres`, who must own the folder.
        if running_as_root() {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(server._folder.path()));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, as a crash or a pulled cable would.
    pub fn stop(&self) {
        run(self
            .command("pg_ctl")
            .args(["-m", "immediate", "-w", "stop", "-D"])
            .arg(&self.data));
    }

    /// Starts it again on the same port and waits until it accepts connections, with
    /// `pg_stat_statements` loaded (a test creates the extension if it reads it), and
    /// without autovacuum: nothing commits that the test did not ask for.
    pub fn resume(&self) {
        let preload = if self.has_pg_stat_statements() {
            " -c shared_preload_libraries=pg_stat_statements"
        } else {
            ""
        };
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c autovacuum=off{preload}",
            self.port,
            self.data.display()
        );
        run(self
            .command("pg_ctl")
            .args(["-w", "-t", "30", "-o", &options, "-l"])
            .arg(self.data.join("server.log"))
            .arg("-D")
            .arg(&self.data)
            .arg("start"));
    }

    /// Whether the `pg_stat_statements` module is installed beside the server (it comes
    /// with PostgreSQL's contrib): without it, the server starts without it.
    pub fn has_pg_stat_statements(&self) -> bool {
        self.bin
            .parent()
            .is_some_and(|root| root.join("lib/pg_stat_statements.so").is_file())
    }

    /// `program` beside `initdb`, or beside the file `initdb` links to: a `PATH` may
    /// link the two it needs (as here: `/usr/local/bin`) and not the others.
    fn program(&self, program: &str) -> PathBuf {
        let beside = self.bin.join(program);
        if beside.is_file() {
            return beside;
        }
        std::fs::canonicalize(self.bin.join("initdb"))
            .ok()
            .and_then(|initdb| initdb.parent().map(|dir| dir.join(program)))
            .filter(|real| real.is_file())
            .unwrap_or(beside)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.program(program);
        let mut command = if running_as_root() {
            let mut as_postgres = Command::new("runuser");
            as_postgres.args(["-u", "postgres", "--"]).arg(path);
            as_postgres
        } else {
            Command::new(path)
        };
        command.stdout(Stdio::null()).stderr(Stdio::piped());
        command
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-m", "immediate", "-w", "stop", "-D"])
            .arg(&self.data)
            .status();
    }
}

/// The folder holding `initdb` and `pg_ctl`: on the `PATH`, or Debian's versioned one.
fn server_binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| versions.flatten().map(|v| v.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    on_path
        .into_iter()
        .chain(debian)
        .find(|dir| has(dir, "initdb") && has(dir, "pg_ctl"))
}

fn has(dir: &Path, program: &str) -> bool {
    dir.join(program).is_file()
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn run(command: &mut Command) {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
