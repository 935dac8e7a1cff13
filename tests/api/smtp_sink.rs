//! A real SMTP server for the tests (mailin-embedded, in-process, over TCP): it
//! records every message, and can answer slowly or refuse.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin_embedded::{Handler, Response, Server, response};

/// How the sink answers each message.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    Accept,
    /// Accept, after this long.
    Slow(Duration),
    /// `550 Mailbox unavailable` for every recipient.
    Refuse,
}

pub struct SmtpSink {
    pub port: u16,
    received: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone)]
struct Recorder {
    received: Arc<Mutex<Vec<String>>>,
    message: Vec<u8>,
    behaviour: Behaviour,
}

impl Handler for Recorder {
    fn rcpt(&mut self, _to: &str) -> Response {
        match self.behaviour {
            Behaviour::Refuse => response::NO_MAILBOX,
            _ => response::OK,
        }
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        self.message.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.message.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Behaviour::Slow(delay) = self.behaviour {
            std::thread::sleep(delay);
        }
        let message = String::from_utf8_lossy(&self.message).into_owned();
        self.received.lock().expect("not poisoned").push(message);
        response::OK
    }
}

/// A port nothing listens on (yet): an SMTP server that is down.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

impl SmtpSink {
    pub fn start(behaviour: Behaviour) -> Self {
        Self::start_on(0, behaviour)
    }

    /// Serves on `port` (0: any free one) on a thread of its own, for the rest of the
    /// test binary's life.
    pub fn start_on(port: u16, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the SMTP port is free");
        let port = listener.local_addr().expect("bound").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let recorder = Recorder {
            received: received.clone(),
            message: Vec::new(),
            behaviour,
        };
        std::thread::spawn(move || {
            let mut server = Server::new(recorder);
            server.with_name("sink.test").with_tcp_listener(listener);
            let _ = server.serve();
        });
        Self { port, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn url_on(port: u16) -> String {
        format!("smtp://127.0.0.1:{port}")
    }

    pub fn messages(&self) -> Vec<String> {
        self.received.lock().expect("not poisoned").clone()
    }

    /// Waits until at least `count` messages arrived (or `timeout` passed), then
    /// returns all of them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        while self.messages().len() < count && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.messages()
    }
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
