//! The parts of a run that are not added: subjects, servers, conformance verdicts,
//! consistency runs and what was skipped. Conformance and consistency run on one shard
//! (shard 0 unless asked otherwise); they are taken from the shards that ran them.

use super::{Shard, relocated};
use statebench_suites::results::{
    CheckResult, CheckStatus, ConsistencyRun, ServerInfo, Skipped, SubjectInfo,
};

/// Every subject of the shards, once, with every disproof any shard found.
pub(super) fn subjects(shards: &[Shard]) -> Vec<SubjectInfo> {
    let mut out: Vec<SubjectInfo> = Vec::new();
    for s in shards.iter().flat_map(|s| &s.results.subjects) {
        match out.iter_mut().find(|o| o.name == s.name) {
            Some(o) => {
                for d in &s.disproved {
                    if !o.disproved.contains(d) {
                        o.disproved.push(d.clone());
                    }
                }
            }
            None => out.push(s.clone()),
        }
    }
    out
}

/// Every shard's conformance verdicts, each check of a subject once: a failure on any shard
/// (`--shard-checks all`) stands, naming the shard; else the lowest shard's verdict.
pub(super) fn conformance(shards: &[Shard]) -> Vec<CheckResult> {
    let mut out: Vec<CheckResult> = Vec::new();
    for shard in shards {
        for c in &shard.results.conformance {
            let seen = out
                .iter_mut()
                .find(|o| o.subject == c.subject && o.check == c.check);
            match seen {
                None => out.push(c.clone()),
                Some(o) if c.status == CheckStatus::Fail && o.status != CheckStatus::Fail => {
                    *o = c.clone();
                    o.detail = format!("shard {}: {}", shard.index, c.detail);
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// Every shard's consistency runs, their history files where the merge copies them.
pub(super) fn consistency(shards: &[Shard]) -> Vec<ConsistencyRun> {
    shards
        .iter()
        .flat_map(|s| {
            s.results.consistency.iter().map(|run| ConsistencyRun {
                histories: run
                    .histories
                    .iter()
                    .map(|h| relocated(s.index, h))
                    .collect(),
                ..run.clone()
            })
        })
        .collect()
}

/// Suites a shard leaves to another (conformance and consistency run once): skipped there,
/// run elsewhere, so not skipped in the merged run.
const ONCE: [&str; 2] = ["conformance", "consistency"];

/// What every shard skipped (with the lowest shard's reason), and warnings for what only
/// some shards skipped of the suites every shard runs.
pub(super) fn skipped(shards: &[Shard]) -> (Vec<Skipped>, Vec<String>) {
    let mut out: Vec<Skipped> = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
    for skip in shards.iter().flat_map(|s| &s.results.skipped) {
        let key = (skip.name.as_str(), skip.suite.as_deref());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let same = |k: &Skipped| k.name == skip.name && k.suite == skip.suite;
        let by: Vec<String> = shards
            .iter()
            .filter(|s| s.results.skipped.iter().any(same))
            .map(|s| s.index.to_string())
            .collect();
        if by.len() == shards.len() {
            out.push(skip.clone());
        } else if !key.1.is_some_and(|suite| ONCE.contains(&suite)) {
            let suite = key.1.map(|s| format!(" ({s})")).unwrap_or_default();
            warnings.push(format!(
                "shard {} skipped `{}`{suite}, which other shards ran: {}",
                by.join(", "),
                skip.name,
                skip.reason
            ));
        }
    }
    (out, warnings)
}

/// The servers of every shard, once each (by backend and URL), and a warning where shards
/// saw different versions of one.
pub(super) fn servers(shards: &[Shard]) -> (Vec<ServerInfo>, Vec<String>) {
    let mut out: Vec<(u32, ServerInfo)> = Vec::new();
    let mut warnings = Vec::new();
    for (index, server) in shards
        .iter()
        .flat_map(|s| s.results.servers.iter().map(move |v| (s.index, v)))
    {
        match out
            .iter()
            .find(|(_, o)| o.backend == server.backend && o.url == server.url)
        {
            Some((first, o)) if o.version != server.version => warnings.push(format!(
                "{} at {} answered as {} to shard {first} but as {} to shard {index}",
                server.backend,
                server.url,
                o.version.as_deref().unwrap_or("(no version)"),
                server.version.as_deref().unwrap_or("(no version)"),
            )),
            Some(_) => {}
            None => out.push((index, server.clone())),
        }
    }
    // Different servers of one backend (each agent its own) of different versions.
    for (i, (a_index, a)) in out.iter().enumerate() {
        for (b_index, b) in &out[i + 1..] {
            if a.backend == b.backend && a.version != b.version {
                warnings.push(format!(
                    "the shards' {} servers differ in version: {} (shard {a_index}) and {} \
                     (shard {b_index})",
                    a.backend,
                    a.version.as_deref().unwrap_or("(no version)"),
                    b.version.as_deref().unwrap_or("(no version)"),
                ));
            }
        }
    }
    (out.into_iter().map(|(_, s)| s).collect(), warnings)
}
