//! Offloaded email: talk to the mail server inside the request, or queue the message
//! in the same transaction as the comment.

use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{Comparison, Facts, Lesson, Runs, Which};
use crate::base::error::AppError;
use crate::lab::workbench::{Workbench, newest_post};
use crate::services::mail::Mailer;
use crate::services::mail::sink::{Behaviour, SmtpSink};
use crate::services::seed::DatasetSize;
use crate::views::comments::{CommentTarget, NewComment, naive, optimized};

pub static LESSON: Lesson = Lesson {
    slug: "offloaded-email",
    comparisons: &[&COMMENT],
    backfire: None,
};

/// How long the lab's SMTP server takes to accept a message, unless a size says
/// otherwise (the benches also run 0 and 200 ms).
pub const SMTP_DELAY: Duration = Duration::from_millis(50);

/// A comment on the newest post, and an SMTP server in this process that accepts every
/// message after the delay and sends nothing on.
struct Comment {
    db: DatabaseConnection,
    target: CommentTarget,
    comment: NewComment,
    mailer: Mailer,
    _server: SmtpSink,
}

const PUBLIC_URL: &str = "http://lab.localhost";

static COMMENT: Comparison<Comment> = Comparison::either(
    "comment",
    |bench, delay| Box::pin(comment(bench, delay)),
    |bench, input, runs, which| Box::pin(add(bench, input, runs, which)),
)
.samples(10);

/// Adds the comment with `which` side's `add`: the SMTP conversation inside, or an
/// outbox row beside the comment (two rows).
async fn add(
    bench: &Workbench,
    c: &Comment,
    runs: &mut Runs,
    which: Which,
) -> Result<Facts, AppError> {
    let add = || {
        bench.write(&c.db, async move |db| match which {
            Which::Naive => {
                naive::add(db, &c.mailer, &c.target, &c.comment, PUBLIC_URL, Utc::now()).await
            }
            Which::Optimized => {
                Ok(optimized::add(db, &c.target, &c.comment, PUBLIC_URL, Utc::now()).await?)
            }
        })
    };
    runs.time(add).await?;
    Ok(Facts::rows(if which == Which::Naive { 1 } else { 2 }))
}

async fn comment(bench: &Workbench, delay_ms: Option<u64>) -> Result<Comment, AppError> {
    let a_hundred_posts = DatasetSize {
        posts: 100,
        comments_per_post: 0,
        ..DatasetSize::STANDARD
    };
    let db = bench
        .database_of_its_own("offloaded_email", a_hundred_posts)
        .await?;
    let (_, slug) = newest_post(&db).await?;
    let target = CommentTarget::find(&db, &slug)
        .await?
        .ok_or_else(|| AppError::NotFound("The newest post disappeared; try again.".to_owned()))?;
    let delay = delay_ms.map_or(SMTP_DELAY, Duration::from_millis);
    let server = SmtpSink::start(Behaviour::Slow(delay))
        .map_err(|error| anyhow::Error::new(error).context("starting the lab's SMTP server"))?;
    let mailer = Mailer::new(&server.mail_settings())?;
    let comment = NewComment {
        name: "Lab visitor".to_owned(),
        email: "lab@example.com".to_owned(),
        body: "A comment the lab writes and rolls back.".to_owned(),
    };
    Ok(Comment {
        db,
        target,
        comment,
        mailer,
        _server: server,
    })
}
