//! Opaque, totally ordered tokens: the version of a value and the revision of an event.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! opaque_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u64);

        impl $name {
            /// Wraps the backend's own token. Only adapters should build tokens.
            pub const fn from_raw(raw: u64) -> Self {
                Self(raw)
            }

            /// The backend's own token, for adapters to send back to their backend.
            pub const fn raw(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

opaque_token!(
    /// The version of one key's value. Ordered per key; nothing else may be assumed (not
    /// dense, not starting at any particular number).
    Version
);

opaque_token!(
    /// The revision of one event in its stream. Ordered per stream; dense (0, 1, 2, …) only
    /// where the adapter declares [`dense_revisions`](crate::Capabilities::dense_revisions).
    Revision
);
