//! A small stateless service in front of any [`StateStore`]: it serves the HTTP state
//! contract of DESIGN.md, so that statebench can measure a service end to end, with the
//! `http` adapter, in front of each backend.
//!
//! - `GET /state/{key}`: `200` with the value and `ETag: "<version>"`, or `404`.
//! - `PUT /state/{key}`: `If-Match: "<version>"` (compare-and-set), `If-None-Match: *`
//!   (create only) or neither (blind write); `201`/`200` with the new `ETag`, or `412`.
//! - Store errors: `503` (unavailable), `504` (timeout), `500` (fatal).
#![forbid(unsafe_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use statebench_adapters::{Expect, StateError, StateStore, StoreError, Version};
use std::net::SocketAddr;
use std::sync::Arc;

/// The routes of the contract over `store`.
pub fn router(store: Arc<dyn StateStore>) -> Router {
    Router::new()
        .route("/state/{key}", get(read).put(write))
        .with_state(store)
}

/// Serves `store` on `listener` until the task is dropped or aborted.
pub async fn serve(
    store: Arc<dyn StateStore>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    axum::serve(listener, router(store)).await
}

/// Serves `store` on a free loopback port in a background task; returns the base URL and
/// the task (abort it to stop serving).
pub async fn spawn(
    store: Arc<dyn StateStore>,
) -> std::io::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        // Serving ends only when the task is aborted; an I/O error ends it early, and the
        // client then sees the service as unavailable.
        let _ = serve(store, listener).await;
    });
    Ok((base, task))
}

/// A service running on a runtime of its own (a thread with its own tokio runtime), so that it
/// does not share the caller's runtime and worker threads; stops when dropped.
pub struct Dedicated {
    /// Where it serves: `http://127.0.0.1:<port>`.
    pub base: String,
    /// Worker threads of its runtime.
    pub threads: usize,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Dedicated {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // Already stopped if the receiver is gone.
            let _ = stop.send(());
        }
    }
}

type Making = std::pin::Pin<Box<dyn Future<Output = Result<Arc<dyn StateStore>, String>>>>;

/// Starts a thread running a tokio runtime of `threads` worker threads, makes the store there
/// with `make` (so that its connections, too, live on that runtime) and serves it on a free
/// loopback port; returns once it listens.
pub async fn spawn_dedicated(
    threads: usize,
    make: impl FnOnce() -> Making + Send + 'static,
) -> Result<Dedicated, String> {
    let threads = threads.max(1);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("statebench-service".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("statebench-service")
                .enable_all()
                .build();
            let runtime = match runtime {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("cannot build its runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let listening = async {
                    let store = make().await?;
                    let listener =
                        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                            .await
                            .map_err(|e| e.to_string())?;
                    let base = format!(
                        "http://{}",
                        listener.local_addr().map_err(|e| e.to_string())?
                    );
                    Ok::<_, String>((store, listener, base))
                };
                let (store, listener, base) = match listening.await {
                    Ok(up) => up,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(base));
                tokio::select! {
                    // An I/O error ends serving early; the client then sees the service as
                    // unavailable.
                    _ = serve(store, listener) => {}
                    _ = stop_rx => {}
                }
            });
        })
        .map_err(|e| format!("cannot start its thread: {e}"))?;
    let base = ready_rx
        .await
        .map_err(|_| "its thread ended before it listened".to_owned())??;
    Ok(Dedicated {
        base,
        threads,
        stop: Some(stop_tx),
    })
}

fn etag(version: Version) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a quoted number is a valid header")
}

fn failure(e: &StateError) -> Response {
    let status = match e {
        StoreError::Conflict { .. } => StatusCode::PRECONDITION_FAILED,
        StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        StoreError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        StoreError::Fatal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = (status, e.to_string()).into_response();
    if let StoreError::Conflict {
        actual: Some(actual),
    } = e
    {
        response.headers_mut().insert(ETAG, etag(*actual));
    }
    response
}

async fn read(State(store): State<Arc<dyn StateStore>>, Path(key): Path<String>) -> Response {
    match store.get(&key).await {
        Ok(Some(found)) => ([(ETAG, etag(found.version))], found.value).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => failure(&e),
    }
}

/// The expectation a request's conditional headers state.
fn expectation(headers: &HeaderMap) -> Result<Expect, String> {
    if let Some(value) = headers.get(IF_MATCH) {
        let text = value.to_str().map_err(|e| e.to_string())?;
        let version = text
            .trim()
            .trim_matches('"')
            .parse::<u64>()
            .map_err(|_| format!("If-Match must be a quoted version number, got {text}"))?;
        return Ok(Expect::Version(Version::from_raw(version)));
    }
    match headers.get(IF_NONE_MATCH).map(HeaderValue::as_bytes) {
        Some(b"*") => Ok(Expect::Absent),
        Some(_) => Err("If-None-Match supports only *".into()),
        None => Ok(Expect::Any),
    }
}

async fn write(
    State(store): State<Arc<dyn StateStore>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expect = match expectation(&headers) {
        Ok(expect) => expect,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    match store.put(&key, body, expect).await {
        Ok(version) => {
            let status = if expect == Expect::Absent {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, [(ETAG, etag(version))]).into_response()
        }
        Err(e) => failure(&e),
    }
}
