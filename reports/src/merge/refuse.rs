//! What makes runs the shards of one run, and the refusal when they are not.

use super::{Input, Shard};

/// Why runs cannot be merged: they are not every shard of one run.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no runs to merge")]
    NoRuns,
    /// A run made without `--shard`.
    #[error(
        "{run} is not a shard: its results.json has no config.shard (it was run without \
         --shard I/N)"
    )]
    NotAShard {
        /// The run.
        run: String,
    },
    /// Shards of runs split differently.
    #[error(
        "{run} is a shard of {count} but {other} is a shard of {other_count}: not shards \
         of one run"
    )]
    CountsDiffer {
        /// The run that differs.
        run: String,
        /// Its shard count.
        count: u32,
        /// The first run.
        other: String,
        /// The first run's shard count.
        other_count: u32,
    },
    /// An index outside `0..count`.
    #[error("{run} is shard {index}/{count}, but indexes of {count} shards run from 0 to {}", count.saturating_sub(1))]
    OutOfRange {
        /// The run.
        run: String,
        /// Its index.
        index: u32,
        /// Its shard count.
        count: u32,
    },
    /// The same shard given twice.
    #[error("shard {index}/{count} is given twice: {first} and {second}")]
    Duplicate {
        /// The index.
        index: u32,
        /// The shard count.
        count: u32,
        /// The first run with it.
        first: String,
        /// The second.
        second: String,
    },
    /// Shards not given.
    #[error("shard {} of {count} missing: a merge needs every shard of the run", .missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))]
    Missing {
        /// Their indexes.
        missing: Vec<u32>,
        /// The shard count.
        count: u32,
    },
    /// Shards configured differently.
    #[error("{run} and {other} differ in their {what}: not shards of one run")]
    Differ {
        /// The run that differs.
        run: String,
        /// The first run.
        other: String,
        /// What differs: `seed`, `workload`, …
        what: &'static str,
    },
}

/// The inputs as shards ordered by index, or why they are not the shards of one run.
pub(super) fn checked(inputs: Vec<Input>) -> Result<Vec<Shard>, MergeError> {
    let mut shards = Vec::new();
    for input in inputs {
        let Some(shard) = input.results.config.shard.clone() else {
            return Err(MergeError::NotAShard { run: input.source });
        };
        shards.push((
            shard.count,
            Shard {
                index: shard.index,
                source: input.source,
                results: input.results,
            },
        ));
    }
    let Some((count, first)) = shards.first() else {
        return Err(MergeError::NoRuns);
    };
    let count = *count;
    for (c, s) in &shards {
        if *c != count {
            return Err(MergeError::CountsDiffer {
                run: s.source.clone(),
                count: *c,
                other: first.source.clone(),
                other_count: count,
            });
        }
        if s.index >= count {
            return Err(MergeError::OutOfRange {
                run: s.source.clone(),
                index: s.index,
                count,
            });
        }
        same_run(first, s)?;
    }
    let mut shards: Vec<Shard> = shards.into_iter().map(|(_, s)| s).collect();
    shards.sort_by_key(|s| s.index);
    for pair in shards.windows(2) {
        if pair[0].index == pair[1].index {
            return Err(MergeError::Duplicate {
                index: pair[0].index,
                count,
                first: pair[0].source.clone(),
                second: pair[1].source.clone(),
            });
        }
    }
    let missing: Vec<u32> = (0..count)
        .filter(|i| !shards.iter().any(|s| s.index == *i))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing { missing, count });
    }
    Ok(shards)
}

/// Refuses `s` when it was configured otherwise than `first`: another seed, workload,
/// adapters, suites, trials or injected faults make another run.
fn same_run(first: &Shard, s: &Shard) -> Result<(), MergeError> {
    let (a, b) = (&first.results.config, &s.results.config);
    let what = if a.seed != b.seed {
        "seed"
    } else if a.workload != b.workload || a.workload_source != b.workload_source {
        "workload"
    } else if a.adapters != b.adapters {
        "adapters"
    } else if a.suites != b.suites {
        "suites"
    } else if a.trials != b.trials {
        "trials (--trials)"
    } else if a.inject != b.inject {
        "injected faults (--inject)"
    } else {
        return Ok(());
    };
    Err(MergeError::Differ {
        run: s.source.clone(),
        other: first.source.clone(),
        what,
    })
}
