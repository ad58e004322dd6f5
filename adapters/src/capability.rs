//! What an adapter is and what it promises: declared, reported next to every result, and
//! verified by the conformance suite.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether an adapter offers one guarantee, and why not when it does not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum Capability {
    /// The adapter promises this; the conformance suite checks it.
    Supported,
    /// The adapter does not promise this, for the reason given.
    Unsupported(String),
}

impl Capability {
    /// A declared lack, with its reason.
    pub fn unsupported(reason: impl Into<String>) -> Self {
        Self::Unsupported(reason.into())
    }

    /// Whether the guarantee is promised.
    pub fn is_supported(&self) -> bool {
        matches!(self, Self::Supported)
    }
}

/// The guarantees an adapter declares (see DESIGN.md, "Capabilities").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Of N concurrent writes expecting the same version, exactly one succeeds.
    pub cas: Capability,
    /// A read after an acknowledged write sees that write or a later one.
    pub read_your_writes: Capability,
    /// Stream revisions are 0, 1, 2, … without gaps.
    pub dense_revisions: Capability,
    /// Acknowledged writes survive SIGKILL of the server.
    pub kill_durable: Capability,
    /// Several events appended in one call become visible all together or not at all.
    pub atomic_multi_event_append: Capability,
    /// Appending the same event ids again does not duplicate them.
    pub idempotent_append: Capability,
}

impl Capabilities {
    /// The capabilities of a state store: the event-only ones are declared unsupported.
    pub fn state_store(
        cas: Capability,
        read_your_writes: Capability,
        kill_durable: Capability,
    ) -> Self {
        let no_streams = || Capability::unsupported("a state store has no event streams");
        Self {
            cas,
            read_your_writes,
            dense_revisions: no_streams(),
            kill_durable,
            atomic_multi_event_append: no_streams(),
            idempotent_append: no_streams(),
        }
    }
}

/// The three techniques statebench compares, plus the harness's own references and test
/// stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Technique {
    /// The in-process reference every other adapter is compared against.
    Reference,
    /// Each entity is a row in a database.
    ExternalDataStore,
    /// The entity lives in a distributed cache used as the primary store.
    DistributedCache,
    /// A cache in front of a database that holds the truth.
    CacheAside,
    /// The entity is a stream of events.
    EventSourcing,
    /// A service of the user's, reached over HTTP.
    Service,
    /// Measures the harness itself; stores nothing.
    Diagnostic,
    /// Deliberately broken, to show that statebench's own checks catch what they claim to
    /// (see [`broken`](crate::broken)).
    Broken,
}

/// Anything that stores state for statebench: says what it is.
pub trait Adapter: Send + Sync {
    /// What this adapter is and what it promises.
    fn descriptor(&self) -> &Descriptor;
}

/// What an adapter is, what it promises, and the settings in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    /// The adapter's name as the CLI spells it (`memory`, `postgres`, …).
    pub adapter: String,
    /// The technique it stands for.
    pub technique: Technique,
    /// The backend it talks to and its version where known (`in-process`, `PostgreSQL 17.2`).
    pub backend: String,
    /// The guarantees it declares.
    pub capabilities: Capabilities,
    /// Durability and other server settings in force, by name (`fsync`, `appendfsync`, …).
    pub settings: BTreeMap<String, String>,
}
