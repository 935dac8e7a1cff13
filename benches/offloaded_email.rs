//! Offloaded email: what a comment POST costs when the SMTP server answers in 0, 50 and
//! 200 ms — the naive request holds the SMTP conversation, the optimized one writes an
//! outbox row — and how many emails a second one worker delivers to a fast server.
//!
//! The request is measured at the handler's work (validation done, no HTTP), against
//! a real SMTP server (mailin-embedded) on loopback and a scratch database.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use perfblog::config::{MailSettings, WorkerSettings};
use perfblog::mail::Mailer;
use perfblog::mail::sink::{Behaviour, SmtpSink};
use perfblog::mail::worker::Worker;
use perfblog::seed::DatasetSize;
use perfblog::views::comments::{self, CommentTarget, NewComment};
use perfblog::views::slug::Slug;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

const SMTP_DELAYS_MS: [u64; 3] = [0, 50, 200];
const EMAILS_PER_RUN: usize = 200;

fn comment() -> NewComment {
    NewComment {
        name: "Grace Hopper".to_owned(),
        email: "grace@example.com".to_owned(),
        body: "A comment of ordinary length, a sentence or two.".to_owned(),
    }
}

async fn a_target(db: &DatabaseConnection) -> CommentTarget {
    use perfblog::entities::post;
    let post = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_asc(post::Column::Id)
        .one(db)
        .await
        .expect("query runs")
        .expect("a post");
    let slug = Slug::parse(&post.slug).expect("valid slug");
    CommentTarget::find(db, &slug)
        .await
        .expect("query runs")
        .expect("published")
}

fn offloaded_email(c: &mut Criterion) {
    let runtime = support::runtime();
    let size = DatasetSize {
        posts: 100,
        comments_per_post: 0,
        ..DatasetSize::STANDARD
    };
    let bench = support::scratch_database(&runtime, "offloaded_email", size);
    let db = &bench.db;
    let target = runtime.block_on(a_target(db));
    let target = &target;
    let comment = comment();
    let comment = &comment;

    let mut group = c.benchmark_group(bench.group_name("offloaded_email"));
    group.sample_size(10);
    for delay in SMTP_DELAYS_MS {
        let sink =
            SmtpSink::start(Behaviour::Slow(Duration::from_millis(delay))).expect("SMTP sink");
        let mailer = Mailer::new(&MailSettings::Smtp(sink.url())).expect("mailer");
        let mailer = &mailer;
        group.bench_with_input(BenchmarkId::new("post-naive", delay), &delay, |b, _| {
            b.to_async(&runtime).iter(|| async move {
                comments::naive::add(db, mailer, target, comment, "http://bench", Utc::now())
                    .await
                    .expect("comment and email")
            });
        });
        group.bench_with_input(BenchmarkId::new("post-optimized", delay), &delay, |b, _| {
            b.to_async(&runtime).iter(|| async move {
                comments::optimized::add(db, target, comment, "http://bench", Utc::now())
                    .await
                    .expect("comment and outbox row")
            });
        });
    }

    worker_delivery(&mut group, &runtime, db, target, comment);
    group.finish();
}

/// Worker throughput: queue [`EMAILS_PER_RUN`] (not timed), deliver them all (timed).
fn worker_delivery(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    db: &DatabaseConnection,
    target: &CommentTarget,
    comment: &NewComment,
) {
    let sink = SmtpSink::start(Behaviour::Accept).expect("SMTP sink");
    let mailer = Mailer::new(&MailSettings::Smtp(sink.url())).expect("mailer");
    let worker = Worker::new(
        db.clone(),
        mailer,
        WorkerSettings::default(),
        Arc::default(),
    );
    let worker = &worker;
    runtime.block_on(drain(worker));
    group.throughput(Throughput::Elements(EMAILS_PER_RUN as u64));
    group.bench_function(BenchmarkId::new("worker-delivery", EMAILS_PER_RUN), |b| {
        b.to_async(runtime).iter_custom(|iterations| async move {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                for _ in 0..EMAILS_PER_RUN {
                    comments::optimized::add(db, target, comment, "http://bench", Utc::now())
                        .await
                        .expect("queued");
                }
                let started = Instant::now();
                drain(worker).await;
                spent += started.elapsed();
            }
            spent
        });
    });
}

/// Delivers until nothing is due.
async fn drain(worker: &Worker) {
    while worker.deliver_due().await.expect("delivers") > 0 {}
}

criterion_group!(benches, offloaded_email);
criterion_main!(benches);
