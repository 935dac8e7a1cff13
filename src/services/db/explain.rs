//! How the database runs a statement: its query plan. On PostgreSQL `EXPLAIN ANALYZE`,
//! which runs the statement and reports each step's rows (and the whole statement's
//! time: per-step timing is off, it costs more than some steps); on SQLite
//! `EXPLAIN QUERY PLAN`, which names each step (a `SCAN` reads a whole table, a
//! `SEARCH` seeks an index) but counts nothing.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// A statement's plan, one step per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub lines: Vec<String>,
}

impl Plan {
    /// Whether a step reads every row of `table`: a `Seq Scan` on PostgreSQL, a `SCAN`
    /// without an index on SQLite.
    pub fn scans_whole(&self, table: &str) -> bool {
        let postgres = format!("Seq Scan on {table}");
        let sqlite = format!("SCAN {table}");
        let ends_the_name = |rest: &str| rest.chars().next().is_none_or(|c| c == ' ');
        self.lines.iter().any(|line| {
            let step = line.trim_start_matches(|c: char| !c.is_alphabetic());
            let seq_scan = step
                .find(&postgres)
                .is_some_and(|at| ends_the_name(&step[at + postgres.len()..]));
            let sqlite_scan = step
                .strip_prefix(&sqlite)
                .is_some_and(|rest| ends_the_name(rest) && !rest.contains(" USING "));
            seq_scan || sqlite_scan
        })
    }

    /// Whether a step sorts every row it is given, rather than reading them in order
    /// from an index: PostgreSQL's `Sort`, SQLite's `USE TEMP B-TREE FOR ORDER BY`. A
    /// partial sort — PostgreSQL's `Incremental Sort`, SQLite's `… FOR LAST TERM OF
    /// ORDER BY` — orders only rows that tie on the index's columns, as they come in
    /// the index's order, and stops at a `LIMIT`: it is not one.
    pub fn sorts_every_row(&self) -> bool {
        self.lines.iter().any(|line| {
            let step = line.trim_start_matches(|c: char| !c.is_alphabetic());
            let postgres = step
                .strip_prefix("Sort")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(" ("));
            postgres || step == "USE TEMP B-TREE FOR ORDER BY"
        })
    }

    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// The plan of `statement`, which runs it on PostgreSQL (inside a transaction that is
/// rolled back, a write changes nothing).
pub async fn explain(db: &impl ConnectionTrait, statement: &Statement) -> Result<Plan, DbErr> {
    let backend = db.get_database_backend();
    let prefix = match backend {
        DbBackend::Postgres => "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ",
        _ => "EXPLAIN QUERY PLAN ",
    };
    let explained = Statement {
        sql: format!("{prefix}{}", statement.sql),
        ..statement.clone()
    };
    let rows = db.query_all_raw(explained).await?;
    let lines = rows
        .iter()
        .map(|row| match backend {
            DbBackend::Postgres => row.try_get_by_index::<String>(0),
            // id, parent, notused, detail: the step is the detail, indented by depth.
            _ => row.try_get::<String>("", "detail"),
        })
        .collect::<Result<_, _>>()?;
    Ok(Plan { lines })
}

#[cfg(test)]
mod tests {
    use super::Plan;

    fn plan(lines: &[&str]) -> Plan {
        Plan {
            lines: lines.iter().map(|line| (*line).to_owned()).collect(),
        }
    }

    #[test]
    fn a_whole_table_read_is_told_from_an_index_seek() {
        assert!(plan(&["Limit", "  ->  Seq Scan on comments"]).scans_whole("comments"));
        assert!(plan(&["SCAN comments"]).scans_whole("comments"));
        assert!(!plan(&["SEARCH comments USING INDEX idx (post_id=?)"]).scans_whole("comments"));
        assert!(!plan(&["SCAN posts USING INDEX idx_posts_status"]).scans_whole("posts"));
        assert!(!plan(&["  ->  Index Scan using posts_pkey on posts"]).scans_whole("posts"));
        assert!(!plan(&["Seq Scan on post_tags"]).scans_whole("posts"));
        assert!(!plan(&["SCAN post_tags"]).scans_whole("posts"));
        assert!(plan(&["  ->  Parallel Seq Scan on posts"]).scans_whole("posts"));
    }

    #[test]
    fn a_full_sort_is_told_from_rows_read_in_order() {
        assert!(plan(&["Limit", "  ->  Sort (actual rows=21 loops=1)"]).sorts_every_row());
        let seek = "SEARCH post_tags USING INDEX i (tag_id=?)";
        assert!(plan(&[seek, "USE TEMP B-TREE FOR ORDER BY"]).sorts_every_row());
        assert!(!plan(&["  ->  Incremental Sort (actual rows=21 loops=1)"]).sorts_every_row());
        assert!(!plan(&[seek, "USE TEMP B-TREE FOR LAST TERM OF ORDER BY"]).sorts_every_row());
        assert!(!plan(&["Limit", "  ->  Index Scan using idx on post_tags"]).sorts_every_row());
        assert!(!plan(&["USE TEMP B-TREE FOR GROUP BY"]).sorts_every_row());
        assert!(!plan(&["        Sort Key: posts.published_at DESC"]).sorts_every_row());
    }
}
