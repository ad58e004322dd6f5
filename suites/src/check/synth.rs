//! Synthetic histories of a correct register, for benchmarks and tests of the checkers: a
//! discrete-event simulation of concurrent clients whose operations take effect at a random
//! instant between their invoke and their completion, so the history is linearizable and has
//! real overlap.

use crate::history::{Entry, Key, Kind, Process};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// The shape of a synthetic history.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    /// Operations in all.
    pub ops: usize,
    /// Keys they spread over (uniformly).
    pub keys: usize,
    /// Concurrent clients; each runs one operation at a time.
    pub processes: usize,
    /// The share of writes and cas that end `info` (their effect kept or dropped at random).
    pub indefinite: f64,
    /// Seeds everything.
    pub seed: u64,
}

struct Pending {
    process: usize,
    key: usize,
    f: &'static str,
    argument: Value,
    invoke: u64,
    effect: u64,
    complete: u64,
    indefinite: bool,
}

/// A linearizable history of `shape.ops` register operations (`read`, `write` of unique
/// values, `cas` from the value the client last read).
pub fn register_history(shape: Shape) -> Vec<Entry> {
    let mut rng = SmallRng::seed_from_u64(shape.seed);
    let mut registers: Vec<Value> = vec![Value::Null; shape.keys.max(1)];
    let mut last_read: Vec<Value> = vec![Value::Null; shape.processes];
    let mut clock: Vec<u64> = (0..shape.processes as u64).collect();
    let mut pending: Vec<Pending> = Vec::new();
    let mut entries = Vec::with_capacity(2 * shape.ops);
    for n in 0..shape.ops {
        let process = n % shape.processes;
        let invoke = clock[process] + rng.random_range(1..50);
        let complete = invoke + rng.random_range(1..400);
        let key = rng.random_range(0..registers.len());
        let roll: f64 = rng.random();
        let (f, argument) = if roll < 0.5 {
            ("read", Value::Null)
        } else if roll < 0.75 {
            ("write", json!(n))
        } else {
            ("cas", json!([last_read[process].clone(), n]))
        };
        let indefinite = f != "read" && rng.random_bool(shape.indefinite);
        pending.push(Pending {
            process,
            key,
            f,
            argument,
            invoke,
            effect: rng.random_range(invoke..complete),
            complete,
            indefinite,
        });
        clock[process] = complete;
    }
    // Apply effects in the order of their instants.
    pending.sort_by_key(|p| p.effect);
    for p in &pending {
        let key = Some(Key::Text(format!("k{}", p.key)));
        let entry = |kind, time, value: Value| Entry {
            index: None,
            time: Some(time),
            process: Process::Number(p.process as u64),
            kind,
            f: p.f.to_owned(),
            key: key.clone(),
            value,
            version: None,
            error: None,
        };
        entries.push(entry(Kind::Invoke, p.invoke, p.argument.clone()));
        let register = &mut registers[p.key];
        let applies = !p.indefinite || rng.random_bool(0.5);
        let (kind, value) = match p.f {
            "read" => {
                last_read[p.process] = register.clone();
                (Kind::Ok, register.clone())
            }
            "write" => {
                if applies {
                    *register = p.argument.clone();
                }
                (Kind::Ok, p.argument.clone())
            }
            _ => {
                if *register == p.argument[0] {
                    if applies {
                        *register = p.argument[1].clone();
                    }
                    (Kind::Ok, p.argument.clone())
                } else {
                    (Kind::Fail, p.argument.clone())
                }
            }
        };
        let kind = if p.indefinite { Kind::Info } else { kind };
        entries.push(entry(kind, p.complete, value));
    }
    entries.sort_by_key(|e| e.time);
    for (i, e) in entries.iter_mut().enumerate() {
        e.index = Some(i as u64);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Budget, Validity, register};
    use crate::history::pair;

    fn check(entries: Vec<Entry>) -> Validity {
        let numbered: Vec<(usize, Entry)> = entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| (i + 1, e))
            .collect();
        register::check(&pair(&numbered).unwrap(), Budget::default())
            .unwrap()
            .validity
    }

    #[test]
    fn synthetic_histories_are_linearizable_and_a_tampered_one_is_not() {
        for seed in 0..20 {
            let shape = Shape {
                ops: 2_000,
                keys: 5,
                processes: 8,
                indefinite: 0.02,
                seed,
            };
            let entries = register_history(shape);
            assert_eq!(check(entries.clone()), Validity::Valid, "seed {seed}");
            // A read that returns a value written much later cannot be linearized.
            let mut tampered = entries;
            let late = tampered
                .iter()
                .rev()
                .find(|e| e.f == "write" && e.kind == Kind::Ok)
                .unwrap()
                .value
                .clone();
            let key = tampered
                .iter()
                .rev()
                .find(|e| e.f == "write" && e.kind == Kind::Ok)
                .unwrap()
                .key
                .clone();
            let early_read = tampered
                .iter_mut()
                .find(|e| e.f == "read" && e.kind == Kind::Ok && e.key == key)
                .unwrap();
            early_read.value = late;
            assert_eq!(check(tampered), Validity::Invalid, "seed {seed}");
        }
    }
}
