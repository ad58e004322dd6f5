//! `statebench-service`: the example service, over the in-process memory store or a
//! PostgreSQL state table.
//!
//! `statebench-service [--listen 127.0.0.1:8080] [--postgres postgres://…]`

use statebench_adapters::StateStore;
use statebench_adapters::memory::Memory;
use statebench_adapters::postgres::Postgres;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    let mut listen = "127.0.0.1:8080".to_owned();
    let mut postgres = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--listen", Some(value)) => listen = value,
            ("--postgres", Some(value)) => postgres = Some(value),
            _ => {
                eprintln!("usage: statebench-service [--listen ADDR] [--postgres URL]");
                return ExitCode::from(2);
            }
        }
    }
    let store: Arc<dyn StateStore> = match postgres {
        Some(url) => match Postgres::connect(&url).await {
            Ok(store) => Arc::new(store),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Arc::new(Memory::new()),
    };
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "statebench-service: serving {} on http://{listen}/state/",
        store.descriptor().backend
    );
    match statebench_service::serve(store, listener).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
