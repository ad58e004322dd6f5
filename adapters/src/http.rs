//! `http`: any service that speaks the HTTP state contract (DESIGN.md): `GET` and `PUT` on
//! `{base}/state/{key}`, versions as `ETag`s, compare-and-set by `If-Match`, create-only by
//! `If-None-Match: *`, `412` on conflict. Any 5xx or transport error is indefinite.
//!
//! ETags are opaque strings (RFC 9110 §8.8.3): `If-Match` always sends back exactly the ETag
//! the service gave. A [`Version`] must be greater than every earlier version of its key, so
//! an ETag becomes a version one of two ways (see [`Etags`]): a strong ETag that is a
//! canonical decimal number below 2⁶³ (`"42"`, what statebench-service sends) is that number,
//! trusted to grow as the service's versions do; any other ETag (`"a1b2"`, `W/"7"`) is given
//! a number by the adapter when it first sees it, so its order is the order the adapter first
//! saw the ETags in, which is the service's order except for versions first seen concurrently.

use crate::connect::{CONNECT_TIMEOUT, ConnectError, OPERATION_TIMEOUT, redact};
use crate::{
    Adapter, Capabilities, Capability, Descriptor, Expect, StateError, StateStore, StoreError,
    Technique, Version, Versioned,
};
use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use reqwest::StatusCode;
use reqwest::header::{ETAG, HeaderMap, IF_MATCH, IF_NONE_MATCH};
use std::collections::{HashMap, VecDeque};
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
    etags: Etags,
}

/// The base URL of a service, checked: `http://` or `https://` with a host.
pub fn base_url(text: &str) -> Result<Url, ConnectError> {
    let shown = redact(text);
    let base =
        Url::parse(text).map_err(|e| ConnectError::Invalid(format!("HTTP URL `{shown}`: {e}")))?;
    if base.cannot_be_a_base()
        || !matches!(base.scheme(), "http" | "https")
        || base.host_str().is_none_or(str::is_empty)
    {
        return Err(ConnectError::Invalid(format!(
            "HTTP URL `{shown}`: expected http://host:port or https://host:port"
        )));
    }
    Ok(base)
}

impl Http {
    /// A client of the service at `base` (`http://host:port/prefix`); `behind` describes the
    /// service's store when the harness knows it. Checks that the service speaks the
    /// contract: see [`Http::probe`].
    pub async fn connect(base: &str, behind: Option<&Descriptor>) -> Result<Self, ConnectError> {
        let base = base_url(base)?;
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
            etags: Etags::default(),
        };
        store.probe(&probe_key()).await?;
        Ok(store)
    }

    /// Writes a new `key` create-only (`If-None-Match: *`) and reads it back: the service
    /// must accept the write with an ETag, then answer `200` with the same body and the same
    /// ETag. Any web server that is not a service of the contract (one that answers `404` or
    /// `405` to everything, or that ignores the `PUT`) is refused, with what it answered.
    async fn probe(&self, key: &str) -> Result<(), ConnectError> {
        let refused = |what: String| {
            ConnectError::Unusable(format!(
                "{what}, so it does not speak the HTTP state contract \
                 (probe: a create-only PUT of the new key `{key}`, then a GET of it)"
            ))
        };
        let body = Bytes::from(format!("statebench probe {key}"));
        let url = self.url(key);
        let put = self
            .client
            .put(url.clone())
            .header(IF_NONE_MATCH, "*")
            .body(body.clone())
            .send()
            .await
            .map_err(unreachable)?;
        let status = put.status();
        if !matches!(
            status,
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT
        ) {
            return Err(refused(format!("PUT {url} answered {status}")));
        }
        let Some(written) = raw_etag(put.headers()) else {
            return Err(refused(format!(
                "PUT {url} answered {status} without an ETag"
            )));
        };
        let get = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(unreachable)?;
        let status = get.status();
        if status != StatusCode::OK {
            return Err(refused(format!(
                "PUT {url} succeeded, but a GET of it answered {status}"
            )));
        }
        let read = raw_etag(get.headers()).map(str::to_owned);
        let value = get.bytes().await.map_err(unreachable)?;
        if read.as_deref() != Some(written) {
            let read = read.map_or_else(|| "no ETag".to_owned(), |t| format!("ETag {t}"));
            return Err(refused(format!(
                "PUT {url} answered ETag {written}, but a GET of it answered {read}"
            )));
        }
        if value != body {
            return Err(refused(format!(
                "GET {url} answered {} bytes that are not the {} bytes written",
                value.len(),
                body.len()
            )));
        }
        Ok(())
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

    /// The version the `ETag` of `headers` stands for, for `key`.
    fn version(&self, key: &str, headers: &HeaderMap) -> Option<Version> {
        raw_etag(headers).map(|tag| self.etags.version(key, tag))
    }
}

/// A request of the probe that got no answer, with the causes (`Connection refused`) that
/// reqwest's own message leaves out.
fn unreachable(e: reqwest::Error) -> ConnectError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    ConnectError::Unreachable(text)
}

/// The key the start-up probe writes, new on every start:
/// `statebench-probe-{process id}-{nanoseconds since 1970}`. Workload keys all start with
/// `sb-` (`sb-{run tag}/{subject}/…`), so the probe key never collides with one. The
/// contract has no delete: each start leaves this one small key in the service's store.
fn probe_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("statebench-probe-{}-{nanos}", std::process::id())
}

impl Adapter for Http {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }
}

/// The `ETag` header as sent (surrounding whitespace trimmed), when it is one.
fn raw_etag(headers: &HeaderMap) -> Option<&str> {
    let text = headers.get(ETAG)?.to_str().ok()?.trim();
    (!text.is_empty()).then_some(text)
}

/// How many opaque ETags the adapter remembers per key: the ones it first saw most recently.
/// Enough for the hottest key under the highest concurrency a workload runs: a caller holds
/// a version only from its read to its write.
const REMEMBERED: usize = 32;

/// The versions the adapter gives opaque ETags start here, above every numeric ETag.
const ASSIGNED: u64 = 1 << 63;

/// ETags as [`Version`]s, and back.
///
/// A strong ETag that is a canonical decimal number below 2⁶³ is its number; `If-Match`
/// writes it back quoted, which gives the very same string, and nothing is remembered.
///
/// Any other ETag is opaque: the first time it is seen for a key it is given the next number
/// of one counter (from 2⁶³ up, shared by all keys), and the key remembers it, so that
/// `If-Match` sends back exactly the string received. The trade-off: a version must be
/// greater than every earlier version of its key, and for opaque ETags "earlier" can only
/// mean "first seen earlier". That is the service's order whenever one answer follows
/// another, but not for versions first seen concurrently: a slow `GET` that returns an
/// older ETag nobody here had seen after a `PUT` returned a newer one gives the older
/// version the greater number, and a checker that compares versions may then see them out
/// of order. A service that wants exact ordering sends numeric ETags.
///
/// Memory: per key touched, at most [`REMEMBERED`] ETags (about 40 bytes each plus the
/// ETag's length), and a key only holds as many as it had writes; the key space of a run's
/// workloads is bounded (keys per trial times the trials: the built-in ones touch at most
/// 10,000 keys per trial), and everything goes with the adapter at the end of its subject. An ETag seen again after it was forgotten gets a new,
/// greater number. A version forgotten cannot be sent back: a write expecting it is not sent
/// and fails as a conflict with no actual version (the adapter's answer, not the service's:
/// the write definitely did not happen, and since the key has had at least [`REMEMBERED`]
/// newer ETags the caller's version is out of date, so it retries as after any conflict).
#[derive(Default)]
struct Etags {
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// The number of the next opaque ETag, from [`ASSIGNED`] up.
    next: u64,
    /// Per key, its most recently first-seen opaque ETags with their numbers, oldest first.
    keys: HashMap<String, VecDeque<(Box<str>, u64)>>,
}

impl Etags {
    /// The version `etag` stands for, for `key`.
    fn version(&self, key: &str, etag: &str) -> Version {
        if let Some(n) = numeric(etag) {
            return Version::from_raw(n);
        }
        let mut seen = self.seen.lock();
        let seen = &mut *seen;
        if let Some(&(_, n)) = seen
            .keys
            .get(key)
            .and_then(|tags| tags.iter().find(|(t, _)| **t == *etag))
        {
            return Version::from_raw(n);
        }
        let n = ASSIGNED + seen.next;
        seen.next += 1;
        let tags = match seen.keys.get_mut(key) {
            Some(tags) => tags,
            None => seen.keys.entry(key.to_owned()).or_default(),
        };
        if tags.len() == REMEMBERED {
            tags.pop_front();
        }
        tags.push_back((etag.into(), n));
        Version::from_raw(n)
    }

    /// The ETag `version` stands for, for `key`; none once forgotten.
    fn etag(&self, key: &str, version: Version) -> Option<String> {
        let n = version.raw();
        if n < ASSIGNED {
            return Some(format!("\"{n}\""));
        }
        let seen = self.seen.lock();
        let tags = seen.keys.get(key)?;
        tags.iter()
            .find(|(_, v)| *v == n)
            .map(|(t, _)| t.to_string())
    }
}

/// The number of a strong ETag that is a canonical decimal number below [`ASSIGNED`]
/// (`"42"`; not `"042"`, `W/"42"` or `42`): exactly the ETags that quoting the number gives
/// back.
fn numeric(etag: &str) -> Option<u64> {
    let digits = etag.strip_prefix('"')?.strip_suffix('"')?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !canonical {
        return None;
    }
    digits.parse().ok().filter(|&n| n < ASSIGNED)
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
                let version = self
                    .version(key, response.headers())
                    .ok_or_else(|| StoreError::Fatal("GET answered 200 without an ETag".into()))?;
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
            Expect::Version(v) => match self.etags.etag(key, v) {
                Some(etag) => request.header(IF_MATCH, etag),
                // Forgotten: at least REMEMBERED other ETags of the key were first seen after
                // it, so it is out of date; not sent, and definitely not written.
                None => return Err(StoreError::Conflict { actual: None }),
            },
        };
        let response = request.send().await.map_err(transport)?;
        match response.status() {
            // The write happened, but without its version the caller cannot go on from it.
            StatusCode::OK | StatusCode::CREATED | StatusCode::NO_CONTENT => self
                .version(key, response.headers())
                .ok_or_else(|| StoreError::Unavailable("PUT succeeded without an ETag".into())),
            StatusCode::PRECONDITION_FAILED => Err(StoreError::Conflict {
                actual: self.version(key, response.headers()),
            }),
            status => Err(unexpected(status, "PUT")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn numeric_etags_are_their_number_and_remember_nothing() {
        let etags = Etags::default();
        for n in [0, 7, 42, ASSIGNED - 1] {
            let tag = format!("\"{n}\"");
            let v = etags.version("k", &tag);
            assert_eq!(v, Version::from_raw(n));
            assert_eq!(etags.etag("k", v), Some(tag));
        }
        assert!(etags.seen.lock().keys.is_empty());
    }

    #[test]
    fn opaque_etags_are_numbered_in_first_seen_order_and_sent_back_verbatim() {
        let etags = Etags::default();
        // Not canonical numbers: each would come back different if it were parsed.
        let tags = [
            "\"abc\"",
            "W/\"7\"",
            "\"007\"",
            "7",
            "\"9223372036854775808\"",
            "\"x y\"",
        ];
        let versions: Vec<Version> = tags.iter().map(|t| etags.version("k", t)).collect();
        assert!(versions[0].raw() >= ASSIGNED, "above every numeric ETag");
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        for (tag, v) in tags.iter().zip(&versions) {
            assert_eq!(etags.version("k", tag), *v, "seen again: the same version");
            assert_eq!(etags.etag("k", *v).as_deref(), Some(*tag));
        }
        // Per key: the same string on another key is another, later version.
        let other = etags.version("other", "\"abc\"");
        assert!(other > versions[5]);
        assert_eq!(etags.etag("k", other), None);
        assert_eq!(etags.etag("nothing", versions[0]), None);
    }

    #[test]
    fn only_the_latest_opaque_etags_of_a_key_are_remembered() {
        let etags = Etags::default();
        let first = etags.version("k", "\"t0\"");
        for i in 1..=REMEMBERED {
            etags.version("k", &format!("\"t{i}\""));
        }
        assert_eq!(etags.seen.lock().keys["k"].len(), REMEMBERED);
        assert_eq!(etags.etag("k", first), None, "forgotten");
        let again = etags.version("k", "\"t0\"");
        assert!(
            again > first,
            "seen again after it was forgotten: a new, greater version"
        );
        let last = etags.version("k", &format!("\"t{REMEMBERED}\""));
        assert_eq!(
            etags.etag("k", last).as_deref(),
            Some(format!("\"t{REMEMBERED}\"").as_str())
        );
    }

    #[test]
    fn base_urls_must_be_http_with_a_host() {
        for bad in [
            "",
            "not a url",
            "ftp://x",
            "http://",
            "mailto:a@b",
            "localhost:8080",
        ] {
            assert!(
                matches!(base_url(bad), Err(ConnectError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(base_url("https://svc:8443/api").is_ok());
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
            etags: Etags::default(),
        };
        assert_eq!(
            store.url("a/b c?%").as_str(),
            "http://h/api/state/a%2Fb%20c%3F%25"
        );
    }

    #[test]
    fn probe_keys_cannot_be_workload_keys() {
        let key = probe_key();
        assert!(key.starts_with("statebench-probe-") && !key.starts_with("sb-"));
        assert_ne!(key, probe_key(), "new on every start");
    }

    /// What a test server answers: the status line, headers and body of one request.
    type Answer = Box<dyn Fn(&Request) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync>;

    struct Request {
        method: String,
        path: String,
        headers: HashMap<String, String>,
        body: Vec<u8>,
    }

    /// A one-request-per-connection HTTP/1.1 server on loopback; returns its base URL.
    async fn server(answer: Answer) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let answer = answer.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let mut lines = head.lines();
                    let mut first = lines.next().unwrap_or_default().split(' ');
                    let (method, path) = (first.next().unwrap_or_default(), first.next());
                    let headers: HashMap<String, String> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    let length: usize = headers
                        .get("content-length")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let request = Request {
                        method: method.to_owned(),
                        path: path.unwrap_or_default().to_owned(),
                        headers,
                        body: buf[head_end..head_end + length].to_vec(),
                    };
                    let (status, headers, body) = answer(&request);
                    let mut out = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
                    for (k, v) in headers {
                        out += &format!("{k}: {v}\r\n");
                    }
                    out += &format!("content-length: {}\r\n\r\n", body.len());
                    let mut bytes = out.into_bytes();
                    bytes.extend_from_slice(&body);
                    let _ = socket.write_all(&bytes).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        base
    }

    /// The contract with opaque ETags (`"rev-…"`), kept in memory.
    fn opaque_service() -> Answer {
        // The last number given, and per path the value and its ETag.
        type Stored = (u64, HashMap<String, (Vec<u8>, String)>);
        let store: Mutex<Stored> = Mutex::default();
        Box::new(move |r| {
            let mut store = store.lock();
            let (next, keys) = &mut *store;
            let current = keys.get(&r.path).cloned();
            let tag = |t: &str| vec![("etag".to_owned(), t.to_owned())];
            match r.method.as_str() {
                "GET" => match current {
                    Some((value, etag)) => (200, tag(&etag), value),
                    None => (404, vec![], vec![]),
                },
                "PUT" => {
                    let ok = match (r.headers.get("if-match"), r.headers.get("if-none-match")) {
                        (Some(expected), _) => current.as_ref().is_some_and(|c| c.1 == *expected),
                        (None, Some(_)) => current.is_none(),
                        (None, None) => true,
                    };
                    if !ok {
                        let actual = current.map(|c| tag(&c.1)).unwrap_or_default();
                        return (412, actual, vec![]);
                    }
                    *next += 1;
                    // Opaque, and not in the order of the numbers: a hash-like string.
                    let etag = format!("\"rev-{:x}\"", next.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    keys.insert(r.path.clone(), (r.body.clone(), etag.clone()));
                    (200, tag(&etag), vec![])
                }
                _ => (405, vec![], vec![]),
            }
        })
    }

    #[tokio::test]
    async fn a_service_with_opaque_etags_is_usable() {
        let base = server(opaque_service()).await;
        let store = Http::connect(&base, None).await.expect("the probe passes");
        let v1 = store
            .put("k", Bytes::from("one"), Expect::Absent)
            .await
            .unwrap();
        let got = store.get("k").await.unwrap().unwrap();
        assert_eq!((got.value.as_ref(), got.version), (&b"one"[..], v1));
        let v2 = store
            .put("k", Bytes::from("two"), Expect::Version(v1))
            .await
            .expect("If-Match sent the ETag back exactly");
        assert!(v2 > v1);
        let stale = store.put("k", Bytes::from("x"), Expect::Version(v1)).await;
        assert_eq!(stale, Err(StoreError::Conflict { actual: Some(v2) }));
        let taken = store.put("k", Bytes::from("x"), Expect::Absent).await;
        assert_eq!(taken, Err(StoreError::Conflict { actual: Some(v2) }));
        // A version whose ETag is forgotten is not sent: a conflict, not a write.
        let old = Version::from_raw(ASSIGNED + 1_000_000);
        let forgotten = store.put("k", Bytes::from("x"), Expect::Version(old)).await;
        assert_eq!(forgotten, Err(StoreError::Conflict { actual: None }));
        assert_eq!(
            store.get("k").await.unwrap().unwrap().value.as_ref(),
            b"two"
        );
    }

    #[tokio::test]
    async fn web_servers_that_do_not_speak_the_contract_are_refused_with_what_they_said() {
        type Case = (Answer, &'static str);
        let cases: Vec<Case> = vec![
            (
                Box::new(|_| (404, vec![], b"not found".to_vec())),
                "answered 404",
            ),
            (
                Box::new(|_| (200, vec![], b"<html>".to_vec())),
                "without an ETag",
            ),
            (
                Box::new(|r| {
                    let tag = vec![("etag".to_owned(), "\"1\"".to_owned())];
                    match r.method.as_str() {
                        "PUT" => (201, tag, vec![]),
                        _ => (404, vec![], vec![]),
                    }
                }),
                "a GET of it answered 404",
            ),
            (
                Box::new(|r| {
                    let tag = format!("\"{}\"", r.method);
                    (200, vec![("etag".to_owned(), tag)], b"same".to_vec())
                }),
                "answered ETag \"PUT\", but a GET of it answered ETag \"GET\"",
            ),
            (
                Box::new(|_| {
                    let tag = vec![("etag".to_owned(), "\"1\"".to_owned())];
                    (200, tag, b"something else".to_vec())
                }),
                "bytes that are not the",
            ),
        ];
        for (answer, expected) in cases {
            let base = server(answer).await;
            let refused = Http::connect(&base, None).await.err();
            let Some(ConnectError::Unusable(why)) = refused else {
                panic!("{expected}: {refused:?}");
            };
            assert!(why.contains(expected), "`{why}` should say `{expected}`");
            assert!(
                why.contains("does not speak the HTTP state contract"),
                "{why}"
            );
        }
    }
}
