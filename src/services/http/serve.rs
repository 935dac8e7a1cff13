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
//! limit is closed. Nor does it cover an HTTP/2 connection idle after its requests
//! (hyper has no idle timeout for HTTP/2): once no request has been in progress on a
//! connection for the same limit, it is shut down gracefully — `GOAWAY`, then closed.
//! And at most `ConnectionTimeouts::most_open` are open at once: one more is answered
//! `503` and closed, rather than left to exhaust the process's files.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::{Builder, UpgradeableConnection};
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
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
    let (stop, stopped) = watch::channel(false);
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
        let activity = Arc::new(Activity::new());
        let service = TowerToHyperService::new(WithPeer {
            app: app.clone(),
            peer,
            activity: activity.clone(),
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let watch = Watch {
            activity,
            idle_for: timeouts.header_read,
            stopped: stopped.clone(),
        };
        tokio::spawn(serve_one(connection, watch, peer, permit));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends: all of them back, all are done.
    let all = u32::try_from(timeouts.most_open).unwrap_or(u32::MAX);
    let _ = open.acquire_many(all).await;
}

/// One client's connection, HTTP/1 or HTTP/2, served by hyper.
type Connection = UpgradeableConnection<
    'static,
    TokioIo<TcpStream>,
    TowerToHyperService<WithPeer>,
    TokioExecutor,
>;

/// What a connection's task watches besides the connection: its requests, the idle
/// limit, and the server's stop.
struct Watch {
    activity: Arc<Activity>,
    idle_for: Duration,
    stopped: watch::Receiver<bool>,
}

/// Serves one `connection` to its end. It is dropped — closed without a word — if it has
/// asked no request within the idle limit. Once no request has been in progress for
/// that long, or when the server stops, it is shut down gracefully (HTTP/2: `GOAWAY`)
/// and let finish what is in progress; past the same limit with nothing in progress —
/// a client that does not answer HTTP/2's closing PING — it is dropped. A request
/// whose response has not moved for the request timeout and the limit together (a
/// client that stopped reading) no longer counts as in progress. It holds one of the
/// open connections' permits.
async fn serve_one(
    connection: Connection,
    mut watch: Watch,
    peer: SocketAddr,
    _open: tokio::sync::OwnedSemaphorePermit,
) {
    let mut connection = std::pin::pin!(connection);
    let mut closing = false;
    let ended = loop {
        tokio::select! {
            ended = &mut connection => break ended,
            () = tokio::time::sleep_until(watch.activity.idle_until(watch.idle_for)) => {
                if watch.activity.idle_until(watch.idle_for) > Instant::now() {
                    continue; // A request came, or one is still in progress.
                }
                if closing || !watch.activity.asked() {
                    return;
                }
                closing = true;
                watch.activity.touch();
                connection.as_mut().graceful_shutdown();
            }
            _ = watch.stopped.changed(), if !closing => {
                if !watch.activity.asked() {
                    return;
                }
                closing = true;
                watch.activity.touch();
                connection.as_mut().graceful_shutdown();
            }
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%peer, %error, "connection closed with an error");
    }
}

/// A connection's requests: how many are in progress, whether there was ever one, and
/// when the last one began or ended.
struct Activity {
    in_progress: AtomicUsize,
    asked: AtomicBool,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_progress: AtomicUsize::new(0),
            asked: AtomicBool::new(false),
            last: Mutex::new(Instant::now()),
        }
    }

    fn asked(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }

    /// When the connection will have been idle for `limit`; with a request in progress,
    /// when that request will have been stalled.
    fn idle_until(&self, limit: Duration) -> Instant {
        let last = *self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if self.in_progress.load(Ordering::Acquire) > 0 {
            // Its response moves (every frame sent touches it), or its timeout answers
            // it — the import's, the longest, included: one that does neither for that
            // long is stalled.
            return last + super::IMPORT_TIMEOUT.max(super::REQUEST_TIMEOUT) + limit;
        }
        last + limit
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// A request begins: in progress until the guard is dropped with its response.
    fn begin(self: &Arc<Self>) -> InProgress {
        self.asked.store(true, Ordering::Relaxed);
        self.in_progress.fetch_add(1, Ordering::AcqRel);
        self.touch();
        InProgress(self.clone())
    }
}

/// A request in progress on a connection, until its response is sent; its end is the
/// connection's last activity.
struct InProgress(Arc<Activity>);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_progress.fetch_sub(1, Ordering::AcqRel);
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
/// counts the connection's requests in progress.
#[derive(Clone)]
struct WithPeer {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl Service<Request<Incoming>> for WithPeer {
    type Response = axum::http::Response<Tracked>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        <Router as Service<Request<Body>>>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        let in_progress = self.activity.begin();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self.app.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Tracked { body, in_progress }))
        })
    }
}

/// A response's body, which keeps its request in progress until it is sent (or
/// dropped): a streamed export is no idle connection.
struct Tracked {
    body: Body,
    in_progress: InProgress,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if frame.is_ready() {
            self.in_progress.0.touch();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(10);

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_idle_the_limit_after_its_last_request_ended() {
        let activity = Arc::new(Activity::new());
        assert!(!activity.asked());
        let request = activity.begin();
        tokio::time::advance(Duration::from_secs(3)).await;
        drop(request);
        let ended = Instant::now();
        assert!(activity.asked());
        assert_eq!(activity.idle_until(LIMIT), ended + LIMIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_progress_keeps_it_busy_until_its_response_stops_moving() {
        let activity = Arc::new(Activity::new());
        let _request = activity.begin();
        tokio::time::advance(Duration::from_secs(5)).await;
        // A frame of the response goes out.
        activity.touch();
        let moved = Instant::now();
        assert_eq!(
            activity.idle_until(LIMIT),
            moved + super::super::IMPORT_TIMEOUT.max(super::super::REQUEST_TIMEOUT) + LIMIT,
            "stalled only once it has not moved for the request timeout and the limit"
        );
    }
}
