//! An SMTP server with TLS on, as hosted providers run one: the in-process sink's
//! conversation (`perfblog::services::mail::sink::converse`, mailin's protocol) behind
//! rustls, with a certificate authority made for the test run (rcgen), which the app
//! trusts through `SMTP_CA_FILE`. It asks for a login, and it keeps what it was sent,
//! and every line a client sent before its connection was encrypted.

use std::io;
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use mailin::{AuthMechanism, SessionBuilder};
use perfblog::services::mail::sink::{self, Behaviour, Received, Recorder};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tempfile::TempDir;

/// How the server expects TLS to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain greeting, `STARTTLS` offered (port 587's way).
    StartTls,
    /// TLS from the first byte (port 465's way).
    Implicit,
}

pub struct TlsSink {
    pub port: u16,
    /// The test run's certificate authority (PEM), for `SMTP_CA_FILE`.
    pub ca_file: PathBuf,
    received: Arc<Mutex<Received>>,
    before_tls: Arc<Mutex<Vec<String>>>,
    _dir: TempDir,
}

impl TlsSink {
    /// Serves on a free port of 127.0.0.1 with a certificate for `localhost`, on
    /// threads of its own.
    pub fn start(tls: Tls) -> Self {
        let dir = TempDir::new().expect("a temporary folder");
        let ca_file = dir.path().join("test-ca.pem");
        let config = certificate_for_localhost(&ca_file);
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let received = Arc::new(Mutex::new(Received::default()));
        let before_tls = Arc::new(Mutex::new(Vec::new()));
        let (shared, lines) = (received.clone(), before_tls.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, received, lines) = (config.clone(), shared.clone(), lines.clone());
                std::thread::spawn(move || serve(stream, tls, config, received, lines));
            }
        });
        Self {
            port,
            ca_file,
            received,
            before_tls,
            _dir: dir,
        }
    }

    pub fn received(&self) -> MutexGuard<'_, Received> {
        sink::lock(&self.received)
    }

    /// Every line a client sent before its connection was encrypted.
    pub fn before_tls(&self) -> Vec<String> {
        self.before_tls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// A certificate authority, written to `ca_file`, and a certificate for `localhost`
/// it signed, served with its key.
fn certificate_for_localhost(ca_file: &std::path::Path) -> Arc<ServerConfig> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a CA key"))
        .expect("a CA");
    std::fs::write(ca_file, ca.as_ref().pem()).expect("the CA file is written");
    let key = KeyPair::generate().expect("a server key");
    let certificate = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server parameters")
        .signed_by(&key, &ca)
        .expect("a server certificate");
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(certificate.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .expect("a server configuration");
    Arc::new(config)
}

fn serve(
    mut stream: TcpStream,
    tls: Tls,
    config: Arc<ServerConfig>,
    received: Arc<Mutex<Received>>,
    before_tls: Arc<Mutex<Vec<String>>>,
) -> io::Result<()> {
    let mut builder = SessionBuilder::new("tls-sink.localhost");
    builder
        .enable_auth(AuthMechanism::Plain)
        .enable_auth(AuthMechanism::Login);
    if tls == Tls::StartTls {
        builder.enable_start_tls();
    }
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut session = builder.build(client, Recorder::new(received, Behaviour::Accept));
    let stream = match tls {
        Tls::Implicit => stream,
        Tls::StartTls => {
            sink::reply(&mut stream, &session.greeting())?;
            let mut note = |line: &[u8]| {
                let line = String::from_utf8_lossy(line).trim_end().to_owned();
                before_tls
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(line);
            };
            match sink::converse(stream, &mut session, &mut note)? {
                Some(stream) => stream,
                None => return Ok(()),
            }
        }
    };
    let connection = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut encrypted = StreamOwned::new(connection, stream);
    session.tls_active();
    if tls == Tls::Implicit {
        sink::reply(&mut encrypted, &session.greeting())?;
    }
    sink::converse(encrypted, &mut session, &mut |_| {})?;
    Ok(())
}
