//! Errors, split by what a caller (and a consistency checker) may conclude from them.

use std::fmt;

/// What a failed operation tells the caller about its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The operation certainly did not take effect (a conflict).
    Definite,
    /// The operation may or may not have taken effect (a timeout, a lost connection).
    Indefinite,
    /// Misconfiguration or bad input: retrying will not help.
    Fatal,
}

/// An error from a store; `T` is the token a conflict reports ([`Version`](crate::Version)
/// or [`Revision`](crate::Revision)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError<T: fmt::Debug + fmt::Display> {
    /// The expectation did not hold; nothing was written. `actual` is the current token when
    /// the backend reports it (`None`: absent, or not reported).
    #[error("conflict: expectation did not hold (actual: {})", show(.actual))]
    Conflict {
        /// The current version or revision, where the backend reports it.
        actual: Option<T>,
    },
    /// The backend could not be reached, or the connection broke after the request was sent.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// No answer in time.
    #[error("timeout: {0}")]
    Timeout(String),
    /// Misconfiguration or bad input.
    #[error("fatal: {0}")]
    Fatal(String),
}

fn show<T: fmt::Display>(token: &Option<T>) -> String {
    token
        .as_ref()
        .map_or_else(|| "none".to_owned(), ToString::to_string)
}

impl<T: fmt::Debug + fmt::Display> StoreError<T> {
    /// Whether the operation certainly failed, may have happened, or cannot work at all.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Conflict { .. } => ErrorKind::Definite,
            Self::Unavailable(_) | Self::Timeout(_) => ErrorKind::Indefinite,
            Self::Fatal(_) => ErrorKind::Fatal,
        }
    }
}

/// Errors of [`StateStore`](crate::StateStore) operations.
pub type StateError = StoreError<crate::Version>;
/// Errors of [`EventStore`](crate::EventStore) operations.
pub type EventError = StoreError<crate::Revision>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Version;

    #[test]
    fn kinds_follow_the_jepsen_rule() {
        let conflict = StateError::Conflict {
            actual: Some(Version::from_raw(3)),
        };
        assert_eq!(conflict.kind(), ErrorKind::Definite);
        assert_eq!(
            StateError::Timeout("t".into()).kind(),
            ErrorKind::Indefinite
        );
        assert_eq!(
            StateError::Unavailable("u".into()).kind(),
            ErrorKind::Indefinite
        );
        assert_eq!(StateError::Fatal("f".into()).kind(), ErrorKind::Fatal);
        assert_eq!(
            conflict.to_string(),
            "conflict: expectation did not hold (actual: 3)"
        );
    }
}
