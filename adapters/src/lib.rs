//! The statebench storage contract and its adapters.
//!
//! Two small object-safe traits describe the ways a stateless service keeps state:
//! [`StateStore`] (one versioned value per key) and [`EventStore`] (one append-only stream per
//! aggregate). Every error is [definite, indefinite or fatal](ErrorKind); every adapter
//! declares its [`Capabilities`] and the durability settings in force in its [`Descriptor`].
//!
//! Adapters live in one module each, with the same shape: the descriptor, the constructor,
//! then the trait implementations.
#![forbid(unsafe_code)]

pub mod broken;
pub mod cache_aside;
mod capability;
pub mod connect;
mod error;
mod event;
pub mod fault;
pub mod http;
pub mod jetstream;
pub mod kurrentdb;
pub mod layered;
pub mod memory;
pub mod noop;
mod pg;
pub mod pg_eventlog;
mod pg_wire;
mod pool;
pub mod postgres;
pub mod redis;
pub mod redis_conn;
mod resp;
mod state;
mod token;

pub use capability::{Adapter, Capabilities, Capability, Descriptor, Technique};
pub use error::{ErrorKind, EventError, StateError, StoreError};
pub use event::{
    Appended, EventData, EventStore, ExpectRevision, ReadFrom, RecordedEvent, Snapshot, Snapshots,
};
pub use layered::{Cached, Layered};
pub use state::{Expect, StateStore, Versioned};
pub use token::{Revision, Version};
