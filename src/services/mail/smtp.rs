//! One SMTP conversation per message: lettre's client over a socket we open ourselves,
//! encrypted as `SMTP_URL` says — not at all (Mailpit, a relay on this machine),
//! STARTTLS, or TLS from the first byte — and logged in after encryption, never before.
//!
//! Why our own socket: lettre's `AsyncSmtpTransport` writes a message and its final
//! `.` in two writes on a socket with Nagle's algorithm on; the second write then waits
//! for the server's delayed ACK — 40 ms on Linux, for every email (what that cost the
//! naive comment and the worker: docs/measurement-log.md, "SMTP with and without
//! TCP_NODELAY"). Connecting ourselves with `TCP_NODELAY` and handing lettre the socket
//! removes that wait, with or without TLS.
//!
//! TLS is rustls with the *ring* provider and the Mozilla roots compiled in
//! (webpki-roots): nothing to install at run time, no certificate store to mount in the
//! image, and the cheapest of rustls's providers to build (docs/crates.md).

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use secrecy::ExposeSecret;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::base::config::{SmtpSecurity, SmtpUrl};

/// How long one SMTP conversation may take before it counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// An SMTP server and how to reach it safely; built once, used for every message.
#[derive(Clone)]
pub struct SmtpServer {
    url: SmtpUrl,
    encryption: Encryption,
}

#[derive(Clone)]
enum Encryption {
    None,
    StartTls(TlsParameters),
    Tls(TlsConnector, ServerName<'static>),
}

impl SmtpServer {
    /// Reads `ca_file` (if any) now, so a missing or malformed file stops start-up
    /// rather than the first email.
    pub fn new(url: SmtpUrl, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let extra_roots = match ca_file {
            Some(path) if url.security == SmtpSecurity::Plain => anyhow::bail!(
                "SMTP_CA_FILE {} is set, but SMTP_URL asks for no TLS: use smtps:// or \
                 ?tls=required, or unset SMTP_CA_FILE",
                path.display()
            ),
            Some(path) => certificate_authorities(path)?,
            None => Vec::new(),
        };
        let encryption = match url.security {
            SmtpSecurity::Plain => Encryption::None,
            SmtpSecurity::StartTls => Encryption::StartTls(starttls(&url.host, &extra_roots)?),
            SmtpSecurity::Tls => {
                let name = ServerName::try_from(url.host.clone())
                    .with_context(|| format!("SMTP_URL's host `{}` is not a name", url.host))?;
                Encryption::Tls(implicit_tls(extra_roots)?, name)
            }
        };
        Ok(Self { url, encryption })
    }

    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), String> {
        tokio::time::timeout(SMTP_TIMEOUT, self.converse(envelope, bytes))
            .await
            .map_err(|_| format!("{} did not answer within {SMTP_TIMEOUT:?}", self.url))?
            .map_err(|problem| format!("{}: {problem}", self.url))
    }

    async fn converse(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), String> {
        let client = ClientId::default();
        let mut smtp = AsyncSmtpConnection::connect_with_transport(self.connect().await?, &client)
            .await
            .map_err(|e| e.to_string())?;
        if let Encryption::StartTls(parameters) = &self.encryption {
            if !smtp.can_starttls() {
                smtp.abort().await;
                return Err("the server does not offer STARTTLS, which `tls=required` \
                            asks for: nothing was sent"
                    .to_owned());
            }
            smtp.starttls(parameters.clone(), &client)
                .await
                .map_err(|e| format!("STARTTLS: {e}"))?;
        }
        if let Some(login) = &self.url.login {
            let credentials = Credentials::new(
                login.user.clone(),
                login.password.expose_secret().to_owned(),
            );
            smtp.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| format!("login as {}: {e}", login.user))?;
        }
        smtp.send(envelope, bytes)
            .await
            .map_err(|e| e.to_string())?;
        // The message is accepted; a failed goodbye changes nothing.
        let _ = smtp.quit().await;
        Ok(())
    }

    async fn connect(&self) -> Result<Box<dyn AsyncTokioStream>, String> {
        let stream = TcpStream::connect((self.url.host.as_str(), self.url.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(match &self.encryption {
            Encryption::Tls(connector, name) => Box::new(Encrypted(
                connector
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?,
            )),
            Encryption::None | Encryption::StartTls(_) => Box::new(stream),
        })
    }
}

/// The certificates in a PEM file; a file with none is refused.
fn certificate_authorities(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|found| found.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("SMTP_CA_FILE {}: not a PEM file", path.display()))?;
    anyhow::ensure!(
        !certificates.is_empty(),
        "SMTP_CA_FILE {} holds no certificate",
        path.display()
    );
    Ok(certificates)
}

/// lettre's STARTTLS: the roots built in (webpki-roots) and the extra ones.
fn starttls(host: &str, extra_roots: &[CertificateDer<'static>]) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_owned());
    for root in extra_roots {
        builder = builder.add_root_certificate(Certificate::from_der(root.to_vec())?);
    }
    Ok(builder.build_rustls()?)
}

/// Implicit TLS, with the same roots as [`starttls`].
fn implicit_tls(extra_roots: Vec<CertificateDer<'static>>) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for root in extra_roots {
        roots.add(root)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A TLS stream lettre can talk through (its stream trait also asks for the peer).
#[derive(Debug)]
struct Encrypted(TlsStream<TcpStream>);

impl AsyncTokioStream for Encrypted {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for Encrypted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Encrypted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str, ca_file: Option<&Path>) -> anyhow::Result<SmtpServer> {
        SmtpServer::new(SmtpUrl::parse(url).expect("a URL"), ca_file)
    }

    #[test]
    fn a_ca_file_is_refused_with_a_url_that_asks_for_no_tls_or_without_a_certificate() {
        let dir = tempfile::tempdir().expect("a folder");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("written");
        let plain = server("smtp://relay.example.com:25", Some(&empty))
            .err()
            .expect("refused");
        assert!(plain.to_string().contains("asks for no TLS"), "{plain:#}");
        let none = server("smtps://u:p@smtp.example.com", Some(&empty))
            .err()
            .expect("refused");
        assert!(
            none.to_string().contains("holds no certificate"),
            "{none:#}"
        );
        let missing = dir.path().join("missing.pem");
        let gone = server("smtps://u:p@smtp.example.com", Some(&missing))
            .err()
            .expect("refused");
        assert!(format!("{gone:#}").contains("missing.pem"), "{gone:#}");
        assert!(server("smtps://u:p@smtp.example.com", None).is_ok());
    }
}
