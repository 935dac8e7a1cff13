//! The server loop: accept, serve each connection with hyper, stop gracefully.
//!
//! `axum::serve` would do, except that it gives hyper no timer, and without one hyper
//! keeps a connection that sent half a request header (or nothing at all) open for as
//! long as the client likes: a few thousand such connections hold as many sockets and
//! tasks. Here every HTTP/1 connection has `ConnectionTimeouts::header_read` to
//! deliver a complete request head. hyper starts that clock whenever the connection
//! waits for a request — when it opens, and again after each response — so the same
//! limit closes a keep-alive connection left idle.
//!
//! hyper's clock does not cover a connection that sends nothing at all (hyper-util waits
//! for its first bytes to tell HTTP/1 from HTTP/2), nor an HTTP/2 one that sends its
//! preface and no request: every connection that has brought no request within the same
//! limit is closed. And at most `ConnectionTimeouts::most_open` are open at once: one
//! more is answered `503` and closed, rather than left to exhaust the process's files.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower_service::Service;

use crate::base::config::ConnectionTimeouts;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and
/// waits for the connections in progress to finish their requests. Handlers can read
/// the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: ConnectionTimeouts,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(timeouts.most_open));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // Shutdown first: asked to stop, the loop accepts nothing more.
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let asked = Arc::new(AtomicBool::new(false));
        let service = TowerToHyperService::new(WithPeer {
            app: app.clone(),
            peer,
            asked: asked.clone(),
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(serve_one(
            connection,
            asked,
            timeouts.header_read,
            peer,
            permit,
        ));
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Serves one `connection` to its end, or drops it — closing it — if it has `asked` no
/// request within `silent_for`. It holds one of the open connections' permits.
async fn serve_one<E: std::fmt::Display>(
    connection: impl Future<Output = Result<(), E>>,
    asked: Arc<AtomicBool>,
    silent_for: Duration,
    peer: SocketAddr,
    _open: tokio::sync::OwnedSemaphorePermit,
) {
    let mut connection = std::pin::pin!(connection);
    let ended = tokio::select! {
        ended = &mut connection => ended,
        () = tokio::time::sleep(silent_for) => {
            if !asked.load(Ordering::Relaxed) {
                return; // Dropped: closed without a word, as it said none.
            }
            connection.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%peer, %error, "connection closed with an error");
    }
}

/// What a connection past the limit is told before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
Content-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\nContent-Length: 53\r\n\r\n\
Too many connections are open; try again in a moment.";

/// Answers a connection past the limit `503` and closes it, giving the write a second.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(REFUSAL).await?;
        stream.shutdown().await
    })
    .await;
}

/// The router, with the peer's address put where axum's `ConnectInfo` looks for it;
/// notes that the connection has brought a request.
#[derive(Clone)]
struct WithPeer {
    app: Router,
    peer: SocketAddr,
    asked: Arc<AtomicBool>,
}

impl Service<Request<Incoming>> for WithPeer {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = <Router as Service<Request<Body>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        <Router as Service<Request<Body>>>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        self.asked.store(true, Ordering::Relaxed);
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.app.call(request)
    }
}
