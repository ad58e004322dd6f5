//! One proxied connection: a client socket, its upstream socket, and a pipe each way. A pipe
//! reads chunks as they come and writes each once the faults let it go, in arrival order, so
//! latency delays every chunk without slowing the stream behind it, and a stall holds bytes
//! without losing them.

use super::proxy::{Control, Shared};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How long a link waits for the upstream to accept.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most one read takes in.
const CHUNK_BYTES: usize = 16 * 1024;
/// Chunks held per direction (512 KiB) before the pipe stops reading and TCP pushes back.
const QUEUE_CHUNKS: usize = 32;

/// Bytes read from one side, and when; empty at end of stream.
struct Chunk {
    arrived: Instant,
    bytes: Vec<u8>,
}

/// How a link ended.
enum End {
    /// Both sides finished their streams.
    Closed,
    /// A socket failed: the other side is reset too, as a broken path would.
    Broken,
    /// [`Proxy::reset`](super::Proxy::reset) was called after the link was accepted.
    Reset,
}

/// Connects `client` to `upstream` and forwards both ways until both streams end, a socket
/// fails, or a reset later than `epoch` is ordered. Aborting the task closes both sockets.
pub(super) async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    epoch: u64,
) {
    let connecting = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)).await;
    let Ok(Ok(server)) = connecting else {
        Shared::count(&shared.upstream_errors, 1);
        let _ = client.set_zero_linger();
        return;
    };
    // The proxy must not add Nagle's delay to small requests.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client, server, end) = forward(client, server, &shared, epoch).await;
    match end {
        End::Closed => {}
        End::Broken => {
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
        End::Reset => {
            Shared::count(&shared.reset, 1);
            let _ = client.set_zero_linger();
        }
    }
}

/// Runs both pipes until the link ends; hands the sockets back to be closed as it ended.
async fn forward(
    mut client: TcpStream,
    mut server: TcpStream,
    shared: &Shared,
    epoch: u64,
) -> (TcpStream, TcpStream, End) {
    let mut control = shared.control.subscribe();
    let end = {
        let (client_in, client_out) = client.split();
        let (server_in, server_out) = server.split();
        let up = pipe(
            client_in,
            server_out,
            shared.control.subscribe(),
            &shared.to_upstream_bytes,
        );
        let down = pipe(
            server_in,
            client_out,
            shared.control.subscribe(),
            &shared.to_client_bytes,
        );
        tokio::select! {
            both = async { tokio::try_join!(up, down) } => match both {
                Ok(_) => End::Closed,
                Err(_) => End::Broken,
            },
            _ = control.wait_for(|c| c.resets != epoch) => End::Reset,
        }
    };
    (client, server, end)
}

/// Forwards one direction: reads into a queue while the writer drains it as the faults
/// allow, then passes the end of stream on.
async fn pipe(
    from: impl AsyncRead + Unpin,
    to: impl AsyncWrite + Unpin,
    control: watch::Receiver<Control>,
    delivered: &AtomicU64,
) -> io::Result<()> {
    let (queue, held) = mpsc::channel(QUEUE_CHUNKS);
    tokio::try_join!(read(from, queue), write(held, to, control, delivered))?;
    Ok(())
}

/// Reads chunks into `queue` until end of stream (sent on as an empty chunk). Bounded by
/// the stream: it ends at end of stream, on an error, or when its link ends.
async fn read(mut from: impl AsyncRead + Unpin, queue: mpsc::Sender<Chunk>) -> io::Result<()> {
    loop {
        let mut bytes = Vec::with_capacity(CHUNK_BYTES);
        let n = from.read_buf(&mut bytes).await?;
        let chunk = Chunk {
            arrived: Instant::now(),
            bytes,
        };
        if queue.send(chunk).await.is_err() || n == 0 {
            return Ok(());
        }
    }
}

/// Writes queued chunks in order, each once [`due`] lets it go; at end of stream, shuts the
/// write side down so the peer sees it.
async fn write(
    mut held: mpsc::Receiver<Chunk>,
    mut to: impl AsyncWrite + Unpin,
    mut control: watch::Receiver<Control>,
    delivered: &AtomicU64,
) -> io::Result<()> {
    while let Some(chunk) = held.recv().await {
        due(&mut control, chunk.arrived).await;
        if chunk.bytes.is_empty() {
            return to.shutdown().await;
        }
        to.write_all(&chunk.bytes).await?;
        Shared::count(delivered, chunk.bytes.len() as u64);
    }
    Ok(())
}

/// Waits until a chunk that arrived at `arrived` may go: no stall, and the latency in force
/// has passed since it arrived. A change of faults takes effect at once, also for a chunk
/// already waiting; each turn of the loop follows one change.
async fn due(control: &mut watch::Receiver<Control>, arrived: Instant) {
    loop {
        let faults = control.borrow_and_update().faults;
        let changed = if faults.stalled {
            control.changed().await
        } else {
            let at = arrived + faults.latency;
            if at <= Instant::now() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(at) => return,
                changed = control.changed() => changed,
            }
        };
        if changed.is_err() {
            return;
        }
    }
}
