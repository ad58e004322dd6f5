//! Decoding Redis replies (RESP2) into redis-rs's [`Value`], for the connections of
//! [`crate::redis_conn`].
//!
//! redis-rs's own decoder is built from parser combinators and took a quarter of the client's
//! CPU per read in a 1-client run (callgrind: about 4,500 of 21,000 instructions per
//! operation). This one yields what redis-rs's parser yields for every reply a RESP2 server
//! sends (the tests hold it to that, on random replies cut at every byte), and hands error
//! replies to redis-rs, which alone can build its [`redis::ServerError`]s.

use redis::{RedisError, Value};
use std::io;

/// Arrays nested deeper than this are refused, as redis-rs refuses them.
const MAX_DEPTH: usize = 100;

/// Decodes the reply at the front of `buf`: `Ok(None)` while it is not whole, else the value
/// and the bytes it took. An error means the connection is out of step and must be closed.
pub fn decode(buf: &[u8]) -> Result<Option<(Value, usize)>, RedisError> {
    value(buf, 0, 0)
}

fn invalid(what: &str) -> RedisError {
    RedisError::from(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unreadable Redis reply: {what}"),
    ))
}

/// The end of the line starting at `from` (the index of its `\r`), if it is whole.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let cr = rest.iter().position(|&b| b == b'\r')?;
    // A `\r` not followed by `\n` inside a line is not RESP; wait for the `\n` when it has
    // not arrived yet.
    match rest.get(cr + 1) {
        None => None,
        Some(b'\n') => Some(from + cr),
        Some(_) => Some(usize::MAX),
    }
}

/// The whole line from `from`, as text, and where the next element starts.
fn line(buf: &[u8], from: usize) -> Result<Option<(&str, usize)>, RedisError> {
    match line_end(buf, from) {
        None => Ok(None),
        Some(usize::MAX) => Err(invalid("a line holds a lone carriage return")),
        Some(end) => std::str::from_utf8(&buf[from..end])
            .map(|text| Some((text, end + 2)))
            .map_err(|_| invalid("a line is not UTF-8")),
    }
}

fn integer(text: &str) -> Result<i64, RedisError> {
    text.trim()
        .parse()
        .map_err(|_| invalid("expected an integer"))
}

/// A bulk string's or an array's length: `None` for nil (any negative length, as redis-rs
/// reads it); a length this machine cannot address is an error.
fn length(n: i64) -> Result<Option<usize>, RedisError> {
    if n < 0 {
        return Ok(None);
    }
    usize::try_from(n)
        .map(Some)
        .map_err(|_| invalid("a length beyond this machine's memory"))
}

/// The value starting at `at`, nested `depth` arrays deep.
fn value(buf: &[u8], at: usize, depth: usize) -> Result<Option<(Value, usize)>, RedisError> {
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    if depth >= MAX_DEPTH {
        return Err(invalid("arrays nested too deep"));
    }
    let Some((text, next)) = line(buf, at + 1)? else {
        return Ok(None);
    };
    let value = match kind {
        b'+' if text == "OK" => Value::Okay,
        b'+' => Value::SimpleString(text.to_owned()),
        b':' => Value::Int(integer(text)?),
        b'-' => return error(buf, at, next),
        b'$' => {
            let Some(size) = length(integer(text)?)? else {
                return Ok(Some((Value::Nil, next)));
            };
            let end = next.checked_add(size).ok_or_else(|| invalid("size"))?;
            let Some(tail) = buf.get(end..end.checked_add(2).ok_or_else(|| invalid("size"))?)
            else {
                return Ok(None);
            };
            if tail != b"\r\n" {
                return Err(invalid("a bulk string does not end its line"));
            }
            return Ok(Some((Value::BulkString(buf[next..end].to_vec()), end + 2)));
        }
        b'*' => {
            let Some(length) = length(integer(text)?)? else {
                return Ok(Some((Value::Nil, next)));
            };
            // Never reserve more than the bytes at hand could hold (3 bytes an element at
            // least): a corrupt length must not allocate gigabytes.
            let mut items = Vec::with_capacity(length.min(buf.len().saturating_sub(next) / 3));
            let mut at = next;
            for _ in 0..length {
                let Some((item, end)) = value(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                items.push(item);
                at = end;
            }
            return Ok(Some((Value::Array(items), at)));
        }
        // RESP3's types: the connections never ask for RESP3 (no HELLO 3), so a server
        // sending them is out of step.
        other => return Err(invalid(&format!("unexpected type byte {other:#04x}"))),
    };
    Ok(Some((value, next)))
}

/// An error reply, decoded by redis-rs (which alone builds its `ServerError`s).
fn error(buf: &[u8], at: usize, next: usize) -> Result<Option<(Value, usize)>, RedisError> {
    let value = redis::parse_redis_value(&buf[at..next])?;
    Ok(Some((value, next)))
}

#[cfg(test)]
mod tests {
    use super::decode;
    use proptest::prelude::*;
    use redis::Value;

    /// RESP2 replies: what a server running RESP2 sends.
    fn reply() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            Just(b"+OK\r\n".to_vec()),
            "[a-zA-Z0-9 ]{0,12}".prop_map(|s| format!("+{s}\r\n").into_bytes()),
            any::<i64>().prop_map(|n| format!(":{n}\r\n").into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| {
                let mut out = format!("${}\r\n", bytes.len()).into_bytes();
                out.extend_from_slice(&bytes);
                out.extend_from_slice(b"\r\n");
                out
            }),
            Just(b"$-1\r\n".to_vec()),
            Just(b"*-1\r\n".to_vec()),
            Just(b"-ERR wrong number of arguments\r\n".to_vec()),
            Just(b"-NOSCRIPT No matching script. Please use EVAL.\r\n".to_vec()),
            Just(b"-WRONGTYPE Operation against a key holding the wrong kind\r\n".to_vec()),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            proptest::collection::vec(inner, 0..8).prop_map(|items| {
                let mut out = format!("*{}\r\n", items.len()).into_bytes();
                for item in items {
                    out.extend_from_slice(&item);
                }
                out
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every reply decodes to what redis-rs's parser makes of it, taking all its bytes,
        /// and every strict prefix of it is "not whole yet", never a wrong value.
        #[test]
        fn decodes_as_redis_rs_does(reply in reply(), trailing in proptest::collection::vec(any::<u8>(), 0..8)) {
            let expected = redis::parse_redis_value(&reply).expect("redis-rs reads it");
            let mut buf = reply.clone();
            buf.extend_from_slice(&trailing);
            let (value, used) = decode(&buf).expect("decodes").expect("whole");
            prop_assert_eq!(used, reply.len());
            prop_assert_eq!(format!("{value:?}"), format!("{expected:?}"));
            for cut in 0..reply.len() {
                let partial = decode(&reply[..cut]);
                prop_assert!(matches!(partial, Ok(None)), "prefix of {} bytes: {:?}", cut, partial);
            }
        }
    }

    #[test]
    fn what_the_adapters_read() {
        let hmget = b"*2\r\n$5\r\nhello\r\n$1\r\n7\r\n";
        assert_eq!(
            decode(hmget).unwrap(),
            Some((
                Value::Array(vec![
                    Value::BulkString(b"hello".to_vec()),
                    Value::BulkString(b"7".to_vec())
                ]),
                hmget.len()
            ))
        );
        let missing = b"*2\r\n$-1\r\n$-1\r\n";
        assert_eq!(
            decode(missing).unwrap(),
            Some((Value::Array(vec![Value::Nil, Value::Nil]), missing.len()))
        );
    }

    #[test]
    fn out_of_step_bytes_are_errors_not_values() {
        for bad in [
            &b"%1\r\n+a\r\n+b\r\n"[..],
            b"$3\r\nabcdef\r\n",
            b":12x\r\n",
            b"+a\rb\r\n",
            b"hello\r\n",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let mut deep = b"*1\r\n".repeat(150);
        deep.extend_from_slice(b":1\r\n");
        assert!(decode(&deep).is_err(), "150 nested arrays");
    }
}
