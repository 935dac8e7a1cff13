//! Email to a real provider: STARTTLS (`smtp://…?tls=required`) or TLS from the first
//! byte (`smtps://`), the login sent only once the connection is encrypted, and nothing
//! sent at all to a server that cannot prove who it is or will not encrypt.

use std::time::{Duration, Instant};

use perfblog::base::entities::outbox_message::{self, Status};

use crate::comments::{outbox_rows, post_comment};
use crate::helpers::{SMALL, TestApp, TestOptions, spawn_app_with};
use crate::smtp_sink::{self, Behaviour};
use crate::smtp_tls::{Tls, TlsSink};

const WAIT: Duration = Duration::from_secs(10);

async fn app_mailing(smtp_url: String, ca_file: Option<std::path::PathBuf>) -> TestApp {
    let app = spawn_app_with(TestOptions {
        smtp_url: Some(smtp_url),
        smtp_ca_file: ca_file,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    let page = post_comment(&app, &format!("/posts/{slug}/comments"), "Encrypted?").await;
    assert_eq!(page.status, 303);
    app
}

/// The outbox's one message once the worker has sent it, or failed `attempts` times
/// (an attempt is counted when it starts; its error is written when it ends).
async fn outbox_after(app: &TestApp, attempts: i32) -> outbox_message::Model {
    let deadline = Instant::now() + WAIT;
    loop {
        let row = outbox_rows(app).await.remove(0);
        let failed = row.attempts >= attempts && row.last_error.is_some();
        if row.status == Status::Sent || failed || Instant::now() > deadline {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The email stayed in the outbox, for a certificate the app would not trust, and the
/// server got neither the login nor the message.
async fn refused_for_its_certificate(app: &TestApp, server: &TlsSink) {
    let row = outbox_after(app, 2).await;
    assert_eq!(row.status, Status::Pending, "kept, to be retried");
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("certificate"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
    let received = server.received();
    assert!(received.logins.is_empty() && received.messages.is_empty());
}

#[tokio::test]
async fn over_starttls_nothing_but_ehlo_and_starttls_is_sent_before_encryption_then_the_login_and_the_email()
 {
    let server = TlsSink::start(Tls::StartTls);
    let url = format!(
        "smtp://notify%40blog.test:s3cret@localhost:{}?tls=required",
        server.port
    );
    let app = app_mailing(url, Some(server.ca_file.clone())).await;

    let row = outbox_after(&app, 1).await;
    assert_eq!(row.status, Status::Sent, "{:?}", row.last_error);
    let received = server.received();
    assert_eq!(received.messages.len(), 1);
    assert!(received.messages[0].contains("New comment on"));
    assert_eq!(
        received.logins,
        [("notify@blog.test".to_owned(), "s3cret".to_owned())]
    );
    let before_tls = server.before_tls();
    let verbs: Vec<&str> = before_tls
        .iter()
        .map(|line| line.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(verbs, ["EHLO", "STARTTLS"], "{before_tls:?}");
}

#[tokio::test]
async fn over_smtps_the_connection_is_encrypted_from_the_first_byte_and_the_email_is_delivered() {
    let server = TlsSink::start(Tls::Implicit);
    let url = format!("smtps://notify:s3cret@localhost:{}", server.port);
    let app = app_mailing(url, Some(server.ca_file.clone())).await;

    let row = outbox_after(&app, 1).await;
    assert_eq!(row.status, Status::Sent, "{:?}", row.last_error);
    let received = server.received();
    assert_eq!(received.messages.len(), 1);
    assert_eq!(
        received.logins,
        [("notify".to_owned(), "s3cret".to_owned())]
    );
    assert!(server.before_tls().is_empty());
}

#[tokio::test]
async fn a_server_whose_certificate_chains_to_no_trusted_authority_gets_neither_the_login_nor_the_email()
 {
    let server = TlsSink::start(Tls::Implicit);
    let url = format!("smtps://notify:s3cret@localhost:{}", server.port);
    // No SMTP_CA_FILE: the test's authority is not among the public ones built in.
    let app = app_mailing(url, None).await;

    refused_for_its_certificate(&app, &server).await;
}

#[tokio::test]
async fn a_trusted_certificate_for_another_name_than_the_urls_host_gets_nothing() {
    let server = TlsSink::start(Tls::Implicit);
    // The certificate names `localhost`; the URL says 127.0.0.1.
    let url = format!("smtps://notify:s3cret@127.0.0.1:{}", server.port);
    let app = app_mailing(url, Some(server.ca_file.clone())).await;

    refused_for_its_certificate(&app, &server).await;
}

#[tokio::test]
async fn with_tls_required_a_server_that_offers_no_starttls_gets_nothing_and_the_outbox_keeps_the_email()
 {
    let plain = smtp_sink::start(Behaviour::Accept);
    let url = format!(
        "smtp://notify:s3cret@127.0.0.1:{}?tls=required",
        plain.port()
    );
    let app = app_mailing(url, None).await;

    let row = outbox_after(&app, 2).await;
    assert_eq!(row.status, Status::Pending, "kept, to be retried");
    let error = row.last_error.unwrap_or_default();
    assert!(error.contains("does not offer STARTTLS"), "{error}");
    assert!(plain.messages().is_empty());
}
