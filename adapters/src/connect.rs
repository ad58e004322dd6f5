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

/// Runs one operation against `server` within [`OPERATION_TIMEOUT`]; past it, the operation
/// is reported as an (indefinite) timeout.
pub async fn timed<R, T: std::fmt::Debug + std::fmt::Display>(
    server: &str,
    future: impl Future<Output = Result<R, crate::StoreError<T>>>,
) -> Result<R, crate::StoreError<T>> {
    within(OPERATION_TIMEOUT, future, || {
        crate::StoreError::Timeout(format!("no answer from {server} in {OPERATION_TIMEOUT:?}"))
    })
    .await
}

/// The URL with its password (in the user part or a `password` parameter) hidden, for
/// messages and results.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a URL: hide everything between `://` and `@`, where credentials would be.
        return match (url.find("://"), url.rfind('@')) {
            (Some(start), Some(at)) if at > start => {
                format!("{}://***{}", &url[..start], &url[at..])
            }
            _ => url.to_owned(),
        };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let hidden = k.eq_ignore_ascii_case("password");
            (
                k.into_owned(),
                if hidden {
                    "***".to_owned()
                } else {
                    v.into_owned()
                },
            )
        })
        .collect();
    if !pairs.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
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

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact("postgres://h/db?user=u&password=secret"),
            "postgres://h/db?user=u&password=***"
        );
        assert_eq!(redact("redis://h:6379"), "redis://h:6379");
        assert_eq!(redact("weird://u:secret@[bad"), "weird://***@[bad");
    }
}
