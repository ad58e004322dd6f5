//! How two runs differ beyond what they measured: the machine, the servers, the workload,
//! the tool, and subjects or steps on one side only. Shown, never failing the gate.

use serde::Serialize;
use statebench_suites::results::{Machine, Results, ServerInfo};

/// A difference between the runs that may explain a change, or hide one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// `machine`, `servers`, `subjects`, `steps`, `workload`, `tool` or `interrupted`.
    pub kind: String,
    /// What differs, base → head.
    pub message: String,
}

fn warning(kind: &str, message: String) -> Warning {
    Warning {
        kind: kind.to_owned(),
        message,
    }
}

/// Every difference found.
pub fn warnings(base: &Results, head: &Results) -> Vec<Warning> {
    let mut found = Vec::new();
    if let Some(m) = machine(&base.machine, &head.machine) {
        found.push(warning("machine", m));
    }
    found.extend(
        servers(&base.servers, &head.servers)
            .into_iter()
            .map(|m| warning("servers", m)),
    );
    found.extend(
        descriptors(base, head)
            .into_iter()
            .map(|m| warning("servers", m)),
    );
    found.extend(workload(base, head).map(|m| warning("workload", m)));
    found.extend(one_sided(base, head));
    found.extend(tool(base, head).map(|m| warning("tool", m)));
    for (side, r) in [("base", base), ("head", head)] {
        let cut = r.trials.iter().filter(|t| t.interrupted).count();
        if r.interrupted || cut > 0 {
            found.push(warning(
                "interrupted",
                format!("the {side} run was interrupted; {cut} interrupted trials left out"),
            ));
        }
    }
    found
}

/// `a → b` for every field of the machine that differs.
fn machine(b: &Machine, h: &Machine) -> Option<String> {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
    let memory = |v: Option<u64>| v.map_or("unknown".into(), crate::format::bytes);
    let fields = [
        (
            "os/arch",
            format!("{}/{}", b.os, b.arch),
            format!("{}/{}", h.os, h.arch),
        ),
        ("cpu", show(&b.cpu_model), show(&h.cpu_model)),
        (
            "logical cpus",
            b.logical_cpus.to_string(),
            h.logical_cpus.to_string(),
        ),
        ("memory", memory(b.memory_bytes), memory(h.memory_bytes)),
        ("kernel", show(&b.kernel), show(&h.kernel)),
    ];
    let differ: Vec<String> = fields
        .iter()
        .filter(|(_, x, y)| x != y)
        .map(|(name, x, y)| format!("{name} {x} → {y}"))
        .collect();
    (!differ.is_empty()).then(|| format!("the machines differ: {}", differ.join(", ")))
}

/// Servers provided differently, or on one side only, by backend.
fn servers(base: &[ServerInfo], head: &[ServerInfo]) -> Vec<String> {
    let mut found = Vec::new();
    let describe = |s: &ServerInfo| {
        let mut parts: Vec<String> = s.version.iter().cloned().collect();
        parts.push(s.provisioning.clone());
        parts.extend(s.image.clone());
        parts.extend(s.image_id.clone());
        parts.extend(s.binary.clone());
        parts.join(" ")
    };
    for b in base {
        match head.iter().find(|h| h.backend == b.backend) {
            None => found.push(format!("{}: only in base", b.backend)),
            Some(h) if describe(b) != describe(h) => {
                found.push(format!("{}: {} → {}", b.backend, describe(b), describe(h)))
            }
            Some(_) => {}
        }
    }
    for h in head
        .iter()
        .filter(|h| !base.iter().any(|b| b.backend == h.backend))
    {
        found.push(format!("{}: only in head", h.backend));
    }
    found
}

/// Subjects whose backend version or server settings differ.
fn descriptors(base: &Results, head: &Results) -> Vec<String> {
    let mut found = Vec::new();
    for b in &base.subjects {
        let Some(h) = head.subjects.iter().find(|h| h.name == b.name) else {
            continue;
        };
        let (bd, hd) = (&b.descriptor, &h.descriptor);
        if bd.backend != hd.backend {
            found.push(format!(
                "{}: backend {} → {}",
                b.name, bd.backend, hd.backend
            ));
        }
        if bd.settings != hd.settings {
            let keys = bd.settings.keys().chain(hd.settings.keys());
            let mut changed: Vec<String> = keys
                .filter(|k| bd.settings.get(*k) != hd.settings.get(*k))
                .map(|k| {
                    let v = |s: Option<&String>| s.cloned().unwrap_or_else(|| "unset".into());
                    format!("{k} {} → {}", v(bd.settings.get(k)), v(hd.settings.get(k)))
                })
                .collect();
            changed.dedup();
            found.push(format!("{}: settings {}", b.name, changed.join(", ")));
        }
        if b.provisioning != h.provisioning {
            found.push(format!(
                "{}: provided {} → {}",
                b.name, b.provisioning, h.provisioning
            ));
        }
    }
    found
}

/// The workload's fields that differ (steps are matched by slug, so a changed step list
/// shows up among the steps on one side only).
fn workload(base: &Results, head: &Results) -> Option<String> {
    let (b, h) = (&base.config, &head.config);
    let as_map = |w| match serde_json::to_value(w) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (bw, hw) = (as_map(&b.workload), as_map(&h.workload));
    let mut differ: Vec<String> = bw
        .keys()
        .chain(hw.keys().filter(|k| !bw.contains_key(*k)))
        .filter(|k| bw.get(*k) != hw.get(*k))
        .cloned()
        .collect();
    if b.workload_source != h.workload_source {
        differ.insert(
            0,
            format!("source {} → {}", b.workload_source, h.workload_source),
        );
    }
    (!differ.is_empty()).then(|| format!("the workloads differ in: {}", differ.join(", ")))
}

/// Subjects and steps measured on one side only.
fn one_sided(base: &Results, head: &Results) -> Vec<Warning> {
    let mut found = Vec::new();
    let names =
        |r: &Results| -> Vec<String> { r.subjects.iter().map(|s| s.name.clone()).collect() };
    let (bn, hn) = (names(base), names(head));
    for (side, these, others) in [("base", &bn, &hn), ("head", &hn, &bn)] {
        let only: Vec<&str> = these
            .iter()
            .filter(|n| !others.contains(n))
            .map(String::as_str)
            .collect();
        if !only.is_empty() {
            found.push(warning(
                "subjects",
                format!("only in {side}, not compared: {}", only.join(", ")),
            ));
        }
    }
    let keys = |r: &Results| {
        let mut k = Vec::new();
        for key in r.trials.iter().map(super::compare::key) {
            if !k.contains(&key) {
                k.push(key);
            }
        }
        k
    };
    let (bk, hk) = (keys(base), keys(head));
    for (side, these, others, other_subjects) in [("base", &bk, &hk, &hn), ("head", &hk, &bk, &bn)]
    {
        let only: Vec<String> = these
            .iter()
            .filter(|k| !others.contains(k) && other_subjects.contains(&k.0))
            .map(|(subject, workload, suite, step)| format!("{subject} {workload} {suite} {step}"))
            .collect::<Vec<String>>();
        if !only.is_empty() {
            found.push(warning(
                "steps",
                format!("steps only in {side}, not compared: {}", only.join(", ")),
            ));
        }
    }
    found
}

/// The tool's version and commit, when they differ (expected: it is what changed).
fn tool(base: &Results, head: &Results) -> Option<String> {
    let show = |r: &Results| match &r.tool.git_sha {
        Some(sha) => format!(
            "{} ({})",
            r.tool.version,
            sha.chars().take(12).collect::<String>()
        ),
        None => r.tool.version.clone(),
    };
    let (b, h) = (show(base), show(head));
    (b != h).then(|| format!("statebench {b} → {h}"))
}
