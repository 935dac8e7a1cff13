//! Offloaded email: talk to the mail server inside the request, or queue the message
//! in the same transaction as the comment.

use super::measure::{Fetched, Outcome, Workbench, measure, rolled_back};
use super::{Comparison, Pattern, Place, Side};
use crate::error::AppError;
use crate::views::comments::{CommentTarget, NewComment, naive, optimized};
use crate::views::slug::Slug;
use chrono::Utc;

pub static PATTERN: Pattern = Pattern {
    slug: "offloaded-email",
    title: "Offloaded email",
    django: "a Celery task queued with `transaction.on_commit(lambda: notify.delay(comment.pk))` instead of `send_mail()` in the view (the outbox here also survives a crash between the commit and the queueing)",
    rails: Some("`deliver_later` (Active Job)"),
    problem: "Sending the notification inside the request makes every comment wait for the mail server — and fail with it.",
    setup: "Both sides add the same comment to the newest post inside a transaction the lab rolls back. The naive side's email goes to the lab's own SMTP server, in this process, which accepts each message after 50 ms and sends nothing on.",
    why: "The comment and its email are written in one transaction (an outbox row) and the request answers at once; a worker delivers, retries and never loses a message. The request's time no longer depends on the mail server's.",
    when_not: "When the user must know the email went out before the page answers — then the wait is the feature.",
    shows_on: &[Place {
        view: "comment form",
        path: "/posts/{slug}/comments",
        folder: "src/views/comments",
    }],
    naive: Side {
        summary: "insert, then the SMTP conversation, then answer",
        code: &[
            code!("src/views/comments/naive.rs", "add"),
            code!("src/views/comments/mod.rs", "insert_comment"),
            code!("src/mail/mod.rs", "SmtpServer::send"),
        ],
    },
    optimized: Side {
        summary: "comment + outbox row in one transaction, answer; a worker delivers (`src/mail/`)",
        code: &[
            code!("src/views/comments/optimized.rs", "add"),
            code!("src/views/comments/mod.rs", "insert_comment"),
            code!("src/mail/outbox.rs", "enqueue"),
        ],
    },
    tests: &["tests/api/comments.rs"],
    benches: &[Comparison {
        what: "offloaded email: comment (SMTP delay, ms)",
        bench: "offloaded_email",
        naive: "post-naive",
        optimized: "post-optimized",
        headline: Some("50"),
    }],
    experiment: |bench| Box::pin(run(bench)),
};

async fn run(bench: &Workbench) -> Result<Outcome, AppError> {
    let db = &bench.db;
    let mailer = bench.mail_server().await?;
    let target = &newest_target(bench).await?;
    let comment = &NewComment {
        name: "Lab visitor".to_owned(),
        email: "lab@example.com".to_owned(),
        body: "A comment the lab writes and rolls back.".to_owned(),
    };
    const URL: &str = "http://lab.localhost";
    Ok(Outcome {
        naive: measure(|| async {
            rolled_back(db, async |txn| {
                naive::add(txn, mailer, target, comment, URL, Utc::now()).await
            })
            .await?;
            Ok(Fetched::rows(1))
        })
        .await?,
        optimized: measure(|| async {
            rolled_back(db, async |txn| {
                Ok(optimized::add(txn, target, comment, URL, Utc::now()).await?)
            })
            .await?;
            Ok(Fetched::rows(2))
        })
        .await?,
    })
}

async fn newest_target(bench: &Workbench) -> Result<CommentTarget, AppError> {
    let (_, slug) = bench.newest_post().await?;
    let slug = Slug::parse(&slug).map_err(AppError::Unprocessable)?;
    CommentTarget::find(&bench.db, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound("The newest post disappeared; try again.".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::measure::SMTP_DELAY;

    #[test]
    fn the_page_states_the_delay_the_lab_uses() {
        let stated = format!("after {} ms", SMTP_DELAY.as_millis());
        assert!(PATTERN.setup.contains(&stated), "{}", PATTERN.setup);
    }
}
