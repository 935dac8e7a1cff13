//! The outbox worker's throughput: how long one worker takes to deliver a batch of
//! queued emails to an SMTP server that accepts at once (a real one, mailin-embedded,
//! on loopback). Queueing the batch is not timed. What a comment costs with and
//! without the outbox is the offloaded-email pattern's (`benches/lessons.rs`).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use perfblog::base::config::WorkerSettings;
use perfblog::lab::workbench::newest_post;
use perfblog::services::mail::Mailer;
use perfblog::services::mail::sink::{Behaviour, SmtpSink};
use perfblog::services::mail::worker::Worker;
use perfblog::services::seed::DatasetSize;
use perfblog::views::comments::{self, CommentTarget, NewComment};

const EMAILS_PER_RUN: usize = 200;

fn outbox_worker(c: &mut Criterion) {
    let runtime = support::runtime();
    let bench = support::standard_database(&runtime);
    let workbench = support::workbench(&runtime, &bench);
    let a_hundred_posts = DatasetSize {
        posts: 100,
        comments_per_post: 0,
        ..DatasetSize::STANDARD
    };
    let db = runtime
        .block_on(workbench.database_of_its_own("outbox_worker", a_hundred_posts))
        .expect("a database of its own");
    let db = &db;
    let target = runtime.block_on(async {
        let (_, slug) = newest_post(db).await.expect("a post");
        CommentTarget::find(db, &slug)
            .await
            .expect("query runs")
            .expect("published")
    });
    let comment = NewComment {
        name: "Grace Hopper".to_owned(),
        email: "grace@example.com".to_owned(),
        body: "A comment of ordinary length, a sentence or two.".to_owned(),
    };
    let (target, comment) = (&target, &comment);
    let sink = SmtpSink::start(Behaviour::Accept).expect("SMTP sink");
    let mailer = Mailer::new(&sink.mail_settings()).expect("mailer");
    let worker = Worker::new(
        db.clone(),
        mailer,
        WorkerSettings::default(),
        Arc::default(),
    );
    let worker = &worker;
    runtime.block_on(drain(worker));

    let mut group = c.benchmark_group(bench.group_name("outbox_worker"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(EMAILS_PER_RUN as u64));
    group.bench_function(BenchmarkId::new("worker-delivery", EMAILS_PER_RUN), |b| {
        b.to_async(&runtime).iter_custom(|iterations| async move {
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
    group.finish();
}

/// Delivers until nothing is due.
async fn drain(worker: &Worker) {
    while worker.deliver_due().await.expect("delivers") > 0 {}
}

criterion_group!(benches, outbox_worker);
criterion_main!(benches);
