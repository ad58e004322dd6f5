//! `http`: any service that speaks the HTTP state contract (DESIGN.md): `GET` and `PUT` on
//! `{base}/state/{key}`, versions as `ETag`s, compare-and-set by `If-Match`, create-only by
//! `If-None-Match: *`, `412` on conflict. Any 5xx or transport error is indefinite.

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ETAG, HeaderMap, IF_MATCH, IF_NONE_MATCH};
use url::Url;

/// What `http` is and promises, in front of a store described by `behind` when known.
pub fn descriptor(base: &Url, behind: Option<&Descriptor>) -> Descriptor {
    let (backend, kill_durable) = match behind {
        Some(d) => (
            format!("HTTP service over {}", d.backend),
            d.capabilities.kill_durable.clone(),
        ),
        None => (
            "HTTP service".to_owned(),
            Capability::unsupported("unknown: the service's store decides"),
        ),
    };
    let mut settings = behind.map(|d| d.settings.clone()).unwrap_or_default();
    settings.insert("base_url".into(), redact(base.as_str()));
    Descriptor {
        adapter: "http".into(),
        technique: Technique::Service,
        backend,
        capabilities: Capabilities::state_store(
            Capability::Supported,
            Capability::Supported,
            kill_durable,
        ),
        settings,
    }
}

/// A client of the HTTP state contract.
pub struct Http {
    client: reqwest::Client,
    base: Url,
    descriptor: Descriptor,
}

impl Http {
    /// A client of the service at `base` (`http://host:port/prefix`); `behind` describes the
    /// service's store when the harness knows it. Checks that the service answers.
    pub async fn connect(base: &str, behind: Option<&Descriptor>) -> Result<Self, ConnectError> {
        let base = Url::parse(base)
            .map_err(|e| ConnectError::Invalid(format!("HTTP URL `{}`: {e}", redact(base))))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ConnectError::Invalid(format!(
                "HTTP URL `{}`: expected http://host:port",
                redact(base.as_str())
            )));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(OPERATION_TIMEOUT)
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| ConnectError::Invalid(e.to_string()))?;
        let store = Self {
            client,
            descriptor: descriptor(&base, behind),
            base,
        };
        let probe = store.url("statebench-probe");
        match store.client.get(probe).send().await {
            Ok(r) if r.status().is_success() || r.status() == StatusCode::NOT_FOUND => Ok(store),
            Ok(r) => Err(ConnectError::Unusable(format!(
                "GET /state/… answered {}",
                r.status()
            ))),
            Err(e) => Err(ConnectError::Unreachable(e.to_string())),
        }
    }

    /// `{base}/state/{key}`, the key escaped as one path segment.
    fn url(&self, key: &str) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("checked: a base URL")
            .pop_if_empty()
            .extend(["state", key]);
        url
    }
}

impl Adapter for Http {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// The version in an `ETag` header: a quoted (or weak) decimal number.
fn etag(headers: &HeaderMap) -> Option<Version> {
    let text = headers.get(ETAG)?.to_str().ok()?;
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
        .map(Version::from_raw)
}

fn transport(e: reqwest::Error) -> StateError {
    if e.is_timeout() {
        StoreError::Timeout(e.to_string())
    } else {
        StoreError::Unavailable(e.to_string())
    }
}

/// Any answer the contract does not name: a client error (4xx) means the request was
/// refused as sent, anything else leaves its effect unknown.
fn unexpected(status: StatusCode, what: &str) -> StateError {
    if status.is_client_error() {
        StoreError::Fatal(format!("{what} answered {status}"))
    } else {
        StoreError::Unavailable(format!("{what} answered {status}: the effect is unknown"))
    }
}

#[async_trait]
impl StateStore for Http {
    async fn get(&self, key: &str) -> Result<Option<Versioned>, StateError> {
        let response = self
            .client
            .get(self.url(key))
            .send()
            .await
            .map_err(transport)?;
        match response.status() {
            StatusCode::OK => {
                let version = etag(response.headers()).ok_or_else(|| {
                    StoreError::Fatal("GET answered 200 without a numeric ETag".into())
                })?;
                let value = response.bytes().await.map_err(transport)?;
                Ok(Some(Versioned { value, version }))
            }
            StatusCode::NOT_FOUND => Ok(None),
            status => Err(unexpected(status, "GET")),
        }
    }

    async fn put(&self, key: &str, value: Bytes, expect: Expect) -> Result<Version, StateError> {
        let request = self.client.put(self.url(key)).body(value);
        let request = match expect {
            Expect::Any => request,
            Expect::Absent => request.header(IF_NONE_MATCH, "*"),
            Expect::Version(v) => request.header(IF_MATCH, format!("\"{v}\"")),
        };
        let response = request.send().await.map_err(transport)?;
        match response.status() {
            // The write happened, but without its version the caller cannot go on from it.
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => {
                etag(response.headers()).ok_or_else(|| {
                    StoreError::Unavailable("PUT succeeded without a numeric ETag".into())
                })
            }
            StatusCode::PRECONDITION_FAILED => Err(StoreError::Conflict {
                actual: etag(response.headers()),
            }),
            status => Err(unexpected(status, "PUT")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn etags_are_quoted_or_weak_numbers() {
        let mut headers = HeaderMap::new();
        headers.insert(ETAG, HeaderValue::from_static("\"42\""));
        assert_eq!(etag(&headers), Some(Version::from_raw(42)));
        headers.insert(ETAG, HeaderValue::from_static("W/\"7\""));
        assert_eq!(etag(&headers), Some(Version::from_raw(7)));
        headers.insert(ETAG, HeaderValue::from_static("\"abc\""));
        assert_eq!(etag(&headers), None);
    }

    #[tokio::test]
    async fn keys_are_one_escaped_path_segment_and_bad_urls_are_refused() {
        let bad = Http::connect("not a url", None).await.err();
        assert!(matches!(bad, Some(ConnectError::Invalid(_))), "{bad:?}");
        let silent = Http::connect("http://127.0.0.1:1/api", None).await.err();
        assert!(
            matches!(silent, Some(ConnectError::Unreachable(_))),
            "{silent:?}"
        );
        let base = Url::parse("http://h/api/").unwrap();
        let store = Http {
            client: reqwest::Client::new(),
            descriptor: descriptor(&base, None),
            base,
        };
        assert_eq!(
            store.url("a/b c?%").as_str(),
            "http://h/api/state/a%2Fb%20c%3F%25"
        );
    }
}
