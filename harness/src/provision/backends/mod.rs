//! One file per backend, each a [`Kind`](super::backend::Kind): everything the harness
//! knows about that server.

pub mod kurrentdb;
pub mod nats;
pub mod postgres;
pub mod redis;
pub mod valkey;
