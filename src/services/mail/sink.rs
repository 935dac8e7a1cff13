//! An SMTP server in this process (mailin-embedded, over TCP on loopback) that
//! accepts and keeps what it is sent — nothing is relayed anywhere. The lab's naive
//! email side talks to it, so its cost is measured rather than described; the tests
//! and benches use it as the real SMTP server they talk to, answering slowly or
//! refusing on demand.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::{Handler, Response, Server, response};

/// Messages kept for [`SmtpSink::messages`]; older ones are dropped.
const KEEP: usize = 1000;

/// How the sink answers each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// Accept, after this long.
    Slow(Duration),
    /// `550 Mailbox unavailable` for every recipient.
    Refuse,
}

pub struct SmtpSink {
    port: u16,
    received: Arc<Mutex<VecDeque<String>>>,
}

#[derive(Clone)]
struct Recorder {
    received: Arc<Mutex<VecDeque<String>>>,
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
            // The server runs each connection on a thread of its own: this wait is
            // the mail server's, not a tokio worker's.
            std::thread::sleep(delay);
        }
        let message = String::from_utf8_lossy(&self.message).into_owned();
        let mut received = self
            .received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if received.len() == KEEP {
            received.pop_front();
        }
        received.push_back(message);
        response::OK
    }
}

impl SmtpSink {
    /// Serves on a free port of 127.0.0.1.
    pub fn start(behaviour: Behaviour) -> std::io::Result<Self> {
        Self::start_on(0, behaviour)
    }

    /// Serves on `port` (0: any free one) of 127.0.0.1, on threads of its own, for
    /// the rest of the process's life.
    pub fn start_on(port: u16, behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(VecDeque::new()));
        let recorder = Recorder {
            received: received.clone(),
            message: Vec::new(),
            behaviour,
        };
        std::thread::Builder::new()
            .name(format!("smtp-sink-{port}"))
            .spawn(move || {
                let mut server = Server::new(recorder);
                server
                    .with_name("sink.localhost")
                    .with_tcp_listener(listener);
                let _ = server.serve();
            })?;
        Ok(Self { port, received })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:<port>`, as `SMTP_URL` takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far (the latest thousand), oldest first.
    pub fn messages(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}
