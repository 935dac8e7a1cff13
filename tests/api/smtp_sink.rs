//! The real SMTP server the tests talk to — perfblog's own in-process sink
//! (`perfblog::services::mail::sink`, mailin's protocol over TCP) — and what the tests ask of it.

use std::net::TcpListener;
use std::time::{Duration, Instant};

pub use perfblog::services::mail::sink::{Behaviour, SmtpSink};

/// A sink answering as `behaviour`, on a free port (or on `port`).
pub fn start(behaviour: Behaviour) -> SmtpSink {
    SmtpSink::start(behaviour).expect("the SMTP sink starts")
}

pub fn start_on(port: u16, behaviour: Behaviour) -> SmtpSink {
    SmtpSink::start_on(port, behaviour).expect("the SMTP port is free")
}

/// A port nothing listens on (yet): an SMTP server that is down.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

pub fn url_on(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

/// Waits until at least `count` messages arrived (or `timeout` passed), then returns
/// all of them.
pub async fn wait_for(sink: &SmtpSink, count: usize, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    while sink.messages().len() < count && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sink.messages()
}

/// The value of `header` in a raw message (first occurrence, unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        if let Some((key, value)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            let mut value = value.trim().to_owned();
            while let Some(next) = lines
                .peek()
                .filter(|l| l.starts_with(' ') || l.starts_with('\t'))
            {
                value.push(' ');
                value.push_str(next.trim());
                lines.next();
            }
            return Some(value);
        }
    }
    None
}
