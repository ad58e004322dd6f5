//! Redis, and the servers that speak its protocol and take its settings (Valkey): an
//! append-only file synced every second and no RDB snapshots, or nothing kept.

use super::super::backend::{Facts, Kind, Native, Persistence, owned};
use super::super::native;
use async_trait::async_trait;
use rustix::process::Signal;

/// A server of the Redis family: its facts and its program.
pub struct RedisFamily {
    /// Name, image, port, schemes.
    pub facts: Facts,
    /// The server program, in the image and installed.
    pub program: &'static str,
}

/// Redis.
pub const REDIS: RedisFamily = RedisFamily {
    facts: Facts {
        name: "redis",
        image: "redis:8.0",
        container_port: 6379,
        container_program: &["redis-server"],
        schemes: &["redis"],
        stop_signal: Signal::TERM,
    },
    program: "redis-server",
};

#[async_trait]
impl Kind for RedisFamily {
    fn facts(&self) -> &Facts {
        &self.facts
    }

    fn server_args(&self, persistence: Persistence) -> Result<Vec<String>, String> {
        Ok(owned(match persistence {
            Persistence::Durable => &[
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            Persistence::Off => &["--appendonly", "no", "--save", ""],
        }))
    }

    fn native(&self) -> Result<Native, String> {
        let bin = native::find(&[self.program], Vec::new())?;
        let args = owned(&[
            "--port",
            "{port}",
            "--bind",
            "127.0.0.1",
            "--dir",
            "{dir}/data",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
        ]);
        Ok(Native {
            program: bin.join(self.program),
            setup: None,
            args,
            user: None,
        })
    }

    async fn probe(&self, url: &str) -> Result<String, String> {
        statebench_adapters::redis_conn::Redis::connect(url, 1)
            .await
            .map(|redis| redis.version)
            .map_err(|e| e.to_string())
    }
}
