//! Bulk updates: change rows by loading and saving each, or with one statement.

use chrono::Utc;

use super::measure::{Fetched, Outcome, Workbench, measure, rolled_back};
use super::{Comparison, Pattern, Place, Side};
use crate::error::AppError;
use crate::views::admin::{naive, optimized};

pub static PATTERN: Pattern = Pattern {
    slug: "bulk-updates",
    title: "Bulk updates",
    django: "`QuerySet.update()` — `Post.objects.filter(status='draft').update(status='published')` — instead of `save()` in a loop",
    rails: Some("`update_all`"),
    problem: "Publishing every draft by loading and saving each one sends 1 + 2N statements (each post, then its tags' counters), a commit per post.",
    setup: "Both sides publish the same drafts inside a transaction the lab rolls back, which hides the naive side's commit per row; the bench measures it with its commits.",
    why: "One `UPDATE … WHERE … RETURNING id` lets the database find and change the rows itself — no row travels to Rust and back, only ids — and one more statement adjusts every affected tag's counter: two round trips and one commit, whatever N.",
    when_not: "When each row needs logic the database cannot express (calling a service per row), or when the application must run per-row hooks (ActiveModelBehavior) that a bulk statement skips.",
    shows_on: &[Place {
        view: "admin actions",
        path: "/admin/publish-drafts",
        folder: "src/views/admin",
    }],
    naive: Side {
        summary: "load the rows, save each and adjust its tags' counters: 1 + 2N statements, a commit each",
        code: &[
            code!("src/views/admin/naive.rs", "publish_drafts"),
            code!("src/counters.rs", "published_changed"),
        ],
    },
    optimized: Side {
        summary: "one `UPDATE … WHERE … RETURNING id`, then one `UPDATE` of the tags' counters (archive and tag likewise, tag as `INSERT … SELECT`)",
        code: &[
            code!("src/views/admin/optimized.rs", "publish_drafts"),
            code!("src/views/admin/optimized.rs", "changed_ids"),
            code!("src/counters.rs", "published_changed"),
        ],
    },
    tests: &["tests/api/admin.rs"],
    benches: &[Comparison {
        what: "bulk update: publish drafts (rows)",
        bench: "bulk_update",
        naive: "publish-naive",
        optimized: "publish-optimized",
        headline: Some("1000"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    Ok(Outcome {
        naive: measure(|| async {
            let changed = rolled_back(db, async |txn| {
                Ok(naive::publish_drafts(txn, Utc::now()).await?)
            })
            .await?;
            Ok(Fetched::rows(changed as usize))
        })
        .await?,
        optimized: measure(|| async {
            let changed = rolled_back(db, async |txn| {
                Ok(optimized::publish_drafts(txn, Utc::now()).await?)
            })
            .await?;
            Ok(Fetched::rows(changed as usize))
        })
        .await?,
    })
}
