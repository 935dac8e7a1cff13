//! An SMTP server in this process (mailin's protocol over TCP on loopback, a thread per
//! connection) that accepts and keeps what it is sent — nothing is relayed anywhere.
//! The lab's naive email side talks to it, so its cost is measured rather than
//! described; the tests and benches use it as the real SMTP server they talk to,
//! answering slowly or refusing on demand, and [`converse`] is also what their server
//! with TLS on runs.
//!
//! mailin is the protocol alone (a state machine that reads lines and answers them);
//! the sockets are ours, so no TLS stack is built in for a sink that never needs one.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use mailin::{Action, Handler, Response, Session, SessionBuilder, response};

use crate::base::config::{MailSettings, SmtpUrl};

/// Messages kept for [`SmtpSink::messages`]; older ones are dropped.
const KEEP: usize = 1000;

/// How long a connection may stay silent (or not read) before the sink hangs up.
const IDLE: Duration = Duration::from_secs(60);

/// The longest line the sink reads: SMTP's own limit is 1,000 bytes; a client sending
/// more without a line break is cut off rather than held in memory.
const MAX_LINE: u64 = 64 * 1024;

/// How the sink answers each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Accept,
    /// Accept, after this long.
    Slow(Duration),
    /// `550 Mailbox unavailable` for every recipient.
    Refuse,
}

/// What a sink was sent.
#[derive(Debug, Default)]
pub struct Received {
    /// The latest thousand messages, oldest first.
    pub messages: VecDeque<String>,
    /// `(user, password)` of each login (only a server that asks for one gets any).
    pub logins: Vec<(String, String)>,
}

/// Serves until it is dropped (see its `Drop`).
pub struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Received>>,
    /// Set when the sink is dropped: the accept loop ends and the port is freed.
    stopping: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
}

/// Keeps what one connection sends in the shared [`Received`].
pub struct Recorder {
    received: Arc<Mutex<Received>>,
    message: Vec<u8>,
    behaviour: Behaviour,
}

impl Recorder {
    pub fn new(received: Arc<Mutex<Received>>, behaviour: Behaviour) -> Self {
        Self {
            received,
            message: Vec::new(),
            behaviour,
        }
    }
}

/// The shared record, even if a connection's thread panicked while holding it.
pub fn lock(received: &Mutex<Received>) -> MutexGuard<'_, Received> {
    received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.message.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if let Behaviour::Slow(delay) = self.behaviour {
            // Each connection has a thread of its own: this wait is the mail server's,
            // not a tokio worker's.
            std::thread::sleep(delay);
        }
        let message = String::from_utf8_lossy(&self.message).into_owned();
        let mut received = lock(&self.received);
        if received.messages.len() == KEEP {
            received.messages.pop_front();
        }
        received.messages.push_back(message);
        response::OK
    }

    fn auth_plain(&mut self, _authorization: &str, user: &str, password: &str) -> Response {
        self.auth_login(user, password)
    }

    /// Every login is accepted: a test reads what was sent.
    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        lock(&self.received)
            .logins
            .push((user.to_owned(), password.to_owned()));
        response::AUTH_OK
    }
}

/// Writes one answer (the greeting, or a reply) to the client.
pub fn reply(stream: &mut impl Write, answer: &Response) -> io::Result<()> {
    stream.write_all(&answer.buffer()?)?;
    stream.flush()
}

/// One client's conversation over `stream`, after the greeting: each line read, shown to
/// `on_line`, answered by mailin's state machine. `None` when the client has left;
/// `Some(stream)` when it asked for `STARTTLS` and was told to go ahead, for the caller
/// to encrypt and go on with.
pub fn converse<S: Read + Write, H: Handler>(
    stream: S,
    session: &mut Session<H>,
    on_line: &mut dyn FnMut(&[u8]),
) -> io::Result<Option<S>> {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        if (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            // Longer than any SMTP line, or the client left mid-line.
            return Ok(None);
        }
        on_line(&line);
        let answer = session.process(&line);
        if answer.action != Action::NoReply {
            reply(reader.get_mut(), &answer)?;
        }
        match answer.action {
            Action::Close => return Ok(None),
            // The client waits for this answer before its handshake: nothing is buffered.
            Action::UpgradeTls => return Ok(Some(reader.into_inner())),
            Action::Reply | Action::NoReply => {}
        }
    }
}

/// The address mailin's machine is told about (it answers every client the same).
fn peer(stream: &TcpStream) -> IpAddr {
    stream
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |address| address.ip())
}

fn serve_plain(
    mut stream: TcpStream,
    received: Arc<Mutex<Received>>,
    behaviour: Behaviour,
) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_write_timeout(Some(IDLE))?;
    let mut session = SessionBuilder::new("sink.localhost")
        .build(peer(&stream), Recorder::new(received, behaviour));
    reply(&mut stream, &session.greeting())?;
    converse(stream, &mut session, &mut |_| {})?;
    Ok(())
}

impl SmtpSink {
    /// Serves on a free port of 127.0.0.1.
    pub fn start(behaviour: Behaviour) -> std::io::Result<Self> {
        Self::start_on(0, behaviour)
    }

    /// Serves on `port` (0: any free one) of 127.0.0.1, on threads of its own, until
    /// it is dropped.
    pub fn start_on(port: u16, behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Received::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (received.clone(), stopping.clone());
        let accepting = std::thread::Builder::new()
            .name(format!("smtp-sink-{port}"))
            .spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else {
                        // Out of file descriptors, say: wait rather than spin.
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    };
                    let received = shared.clone();
                    // A client the sink cannot serve (out of threads) is hung up on.
                    let _ = std::thread::Builder::new()
                        .name(format!("smtp-sink-{port}-client"))
                        .spawn(move || serve_plain(stream, received, behaviour));
                }
            })?;
        Ok(Self {
            port,
            received,
            stopping,
            accepting: Some(accepting),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Mail settings that send here.
    pub fn mail_settings(&self) -> MailSettings {
        MailSettings::Smtp {
            server: SmtpUrl::loopback(self.port),
            ca_file: None,
        }
    }

    /// `smtp://127.0.0.1:<port>`, as `SMTP_URL` takes it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far (the latest thousand), oldest first.
    pub fn messages(&self) -> Vec<String> {
        lock(&self.received).messages.iter().cloned().collect()
    }
}

/// A dropped sink stops accepting and frees its port, so a sink per lab visit does
/// not leave a thread and a port behind for the rest of the process. Connections in
/// progress end on their own threads (the client hangs up, or [`IDLE`] passes).
impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // The accept loop waits in `accept`: one connection of our own wakes it.
        let address = (Ipv4Addr::LOCALHOST, self.port).into();
        let woken = TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok();
        if let (true, Some(accepting)) = (woken, self.accepting.take()) {
            let _ = accepting.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_sink_frees_its_port() {
        let sink = SmtpSink::start(Behaviour::Accept).expect("starts");
        let address = (Ipv4Addr::LOCALHOST, sink.port()).into();
        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok());

        drop(sink);

        assert!(TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err());
    }
}
