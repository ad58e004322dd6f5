//! Valkey, the open-source fork of Redis that managed caches run: the Redis protocol and
//! settings, its own program and image.

use super::super::backend::Facts;
use super::redis::RedisFamily;
use rustix::process::Signal;

/// Valkey.
pub const VALKEY: RedisFamily = RedisFamily {
    facts: Facts {
        name: "valkey",
        image: "valkey/valkey:8.1",
        container_port: 6379,
        container_program: &["valkey-server"],
        schemes: &["redis"],
        stop_signal: Signal::TERM,
    },
    program: "valkey-server",
};
