//! What adapters share about connecting: the error a failed connection gives, and the
//! time limits every adapter applies.

use std::time::Duration;

/// How long an adapter waits to reach its server before it gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one operation may take before it is reported as an (indefinite) timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an adapter could not be set up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The address or settings are wrong; trying again will not help.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The server did not answer, or refused.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered but is not usable (missing feature, setup failed).
    #[error("the server is not usable: {0}")]
    Unusable(String),
}

/// Runs `future` within `limit`, turning the deadline into `on_timeout`.
pub async fn within<T, E>(
    limit: Duration,
    future: impl Future<Output = Result<T, E>>,
    on_timeout: impl FnOnce() -> E,
) -> Result<T, E> {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| Err(on_timeout()))
}
