//! One file per backend, each a [`Kind`](super::backend::Kind): everything the harness
//! knows about that server.

pub mod kurrentdb;
pub mod nats;
pub mod postgres;
pub mod redis;
pub mod valkey;

use super::backend::Persistence;

/// Server arguments of a backend that is only offered durable: none for `durable`, a refusal
/// naming the backend for `off`.
pub fn durable_only(name: &str, persistence: Persistence) -> Result<Vec<String>, String> {
    match persistence {
        Persistence::Durable => Ok(Vec::new()),
        Persistence::Off => Err(format!(
            "{name}: persistence `off` is not offered (it is for postgres, redis and valkey)"
        )),
    }
}
