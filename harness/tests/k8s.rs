//! The Kubernetes manifests of `ci/k8s`: every YAML document parses, and the agents' Indexed
//! Job and the merge Job that `ci/k8s/launch` renders agree with each other and with
//! `ci/images/build` on the image, the shard count, the index variable and the shard
//! directories on the shared volume.

use serde::Deserialize;
use serde_yaml::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const SHARDS: u64 = 3;
const START_AT: &str = "2026-01-01T00:00:00Z";
const RUN: &str = "manifest-test";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    serde_yaml::Deserializer::from_str(text)
        .map(Value::deserialize)
        .filter(|d| !matches!(d, Ok(Value::Null)))
        .collect()
}

fn stdout(command: &mut Command) -> String {
    let out = command.output().expect("the script runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The image `ci/images/build` builds for statebench, as it prints it.
fn built_image() -> String {
    let printed = stdout(Command::new(root().join("ci/images/build")).arg("--print"));
    printed
        .lines()
        .find_map(|l| l.strip_prefix("export STATEBENCH_IMAGE="))
        .expect("ci/images/build --print names STATEBENCH_IMAGE")
        .to_owned()
}

/// What `ci/k8s/launch --print` renders: the agents' Job, then the merge Job.
fn rendered() -> Vec<Value> {
    let text = stdout(
        Command::new(root().join("ci/k8s/launch"))
            .env_remove("STATEBENCH_IMAGE")
            .args(["--print", "--run", RUN, &SHARDS.to_string(), START_AT])
            .args(["--", "--adapters", "postgres,redis"]),
    );
    documents(&text).unwrap_or_else(|e| panic!("the rendered manifests: {e}\n{text}"))
}

fn field<'a>(value: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut at = value;
    for part in path.split('.') {
        at = match part.parse::<usize>() {
            Ok(i) => at.get(i),
            Err(_) => at.get(part),
        }
        .ok_or_else(|| format!("no {path} (at {part})"))?;
    }
    Ok(at)
}

fn text<'a>(value: &'a Value, path: &str) -> Result<&'a str, String> {
    field(value, path)?
        .as_str()
        .ok_or_else(|| format!("{path} is not a string"))
}

/// The only container of a Job.
fn container(job: &Value) -> Result<&Value, String> {
    let containers = field(job, "spec.template.spec.containers")?
        .as_sequence()
        .ok_or("containers is not a list")?;
    match containers.as_slice() {
        [one] => Ok(one),
        _ => Err(format!("{} containers, expected one", containers.len())),
    }
}

fn env<'a>(container: &'a Value, name: &str) -> Result<&'a str, String> {
    field(container, "env")?
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no env {name}"))
}

/// `$(NAME)` references expanded from the container's own environment, as Kubernetes does;
/// JOB_COMPLETION_INDEX, set by the Job controller, is left as it is.
fn expand(container: &Value, arg: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(i) = rest.find("$(") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(')').ok_or("unclosed $(")? + i;
        let name = &rest[i + 2..end];
        if name == "JOB_COMPLETION_INDEX" {
            out.push_str(&rest[i..=end]);
        } else {
            out.push_str(env(container, name)?);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of a command-line option (`--name VALUE` or `--name=VALUE`), expanded.
fn option(container: &Value, name: &str) -> Result<String, String> {
    let args: Vec<&str> = field(container, "args")?
        .as_sequence()
        .ok_or("args is not a list")?
        .iter()
        .map(|a| a.as_str().ok_or("an arg is not a string"))
        .collect::<Result<_, _>>()?;
    let prefix = format!("{name}=");
    let value = args.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix(&prefix)
            .or_else(|| (*a == name).then(|| args.get(i + 1).copied()).flatten())
    });
    expand(
        container,
        value.ok_or_else(|| format!("no {name} in args"))?,
    )
}

/// The persistent volume claim mounted at the directory that holds `path`.
fn claim_of(job: &Value, path: &str) -> Result<String, String> {
    let mounts = field(container(job)?, "volumeMounts")?
        .as_sequence()
        .ok_or("volumeMounts is not a list")?;
    let mount = mounts
        .iter()
        .find(|m| {
            m.get("mountPath")
                .and_then(Value::as_str)
                .is_some_and(|p| path.starts_with(&format!("{}/", p.trim_end_matches('/'))))
        })
        .ok_or_else(|| format!("no volume mounted above {path}"))?;
    let name = text(mount, "name")?;
    let volume = field(job, "spec.template.spec.volumes")?
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| format!("no volume {name}"))?;
    Ok(text(volume, "persistentVolumeClaim.claimName")?.to_owned())
}

fn count(value: &Value, path: &str) -> Result<u64, String> {
    field(value, path)?
        .as_u64()
        .ok_or_else(|| format!("{path} is not a number"))
}

/// Checks that the agents' Job and the merge Job describe one run of `shards` shards of
/// `image`: the errors found, empty when they agree.
fn disagreements(agents: &Value, merge: &Value, shards: u64, image: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let mut check = |what: &str, result: Result<(), String>| {
        if let Err(e) = result {
            errors.push(format!("{what}: {e}"));
        }
    };
    let equal = |found: String, want: String| {
        (found == want)
            .then_some(())
            .ok_or(format!("{found:?}, expected {want:?}"))
    };
    check(
        "agents kind",
        text(agents, "kind").and_then(|k| equal(k.into(), "Job".into())),
    );
    check(
        "agents completionMode",
        text(agents, "spec.completionMode").and_then(|m| equal(m.into(), "Indexed".into())),
    );
    for path in ["spec.completions", "spec.parallelism"] {
        check(
            path,
            count(agents, path).and_then(|n| equal(n.to_string(), shards.to_string())),
        );
    }
    let agent = container(agents);
    let merger = container(merge);
    let (agent, merger) = match (agent, merger) {
        (Ok(a), Ok(m)) => (a, m),
        (a, m) => {
            errors.extend(a.err().into_iter().chain(m.err()));
            return errors;
        }
    };
    for (who, c) in [("agents", agent), ("merge", merger)] {
        check(
            &format!("{who} image"),
            text(c, "image").and_then(|i| equal(i.into(), image.into())),
        );
    }
    // The agents' shard count: `--shards`, else the environment it reads.
    let agent_shards =
        option(agent, "--shards").or_else(|_| env(agent, "STATEBENCH_SHARDS").map(str::to_owned));
    check(
        "agents' shard count",
        agent_shards.and_then(|n| equal(n, shards.to_string())),
    );
    check(
        "agents --start-at",
        option(agent, "--start-at").and_then(|t| equal(t, START_AT.into())),
    );
    check(
        "agents --provision",
        option(agent, "--provision").and_then(|p| equal(p, "external".into())),
    );
    check(
        "agents --config on a mounted ConfigMap",
        option(agent, "--config").and_then(|path| {
            let mounted = field(agent, "volumeMounts")?
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|m| m.get("mountPath").and_then(Value::as_str))
                .any(|p| path.starts_with(&format!("{p}/")));
            mounted
                .then_some(())
                .ok_or(format!("{path} is not mounted"))
        }),
    );
    // Each agent writes DIR/shard-INDEX; the merge reads every DIR/shard-* of the same
    // volume, and counts them against its own shard count.
    let out = option(agent, "--out");
    let dir = out.as_ref().map_err(Clone::clone).and_then(|o| {
        o.strip_suffix("/shard-$(JOB_COMPLETION_INDEX)")
            .map(str::to_owned)
            .ok_or(format!(
                "--out {o} is not DIR/shard-$(JOB_COMPLETION_INDEX)"
            ))
    });
    check("agents --out", dir.clone().map(drop));
    let Ok(dir) = dir else { return errors };
    check(
        "merge STATEBENCH_SHARDS",
        env(merger, "STATEBENCH_SHARDS").and_then(|n| equal(n.into(), shards.to_string())),
    );
    check(
        "merge STATEBENCH_RESULTS",
        env(merger, "STATEBENCH_RESULTS").and_then(|d| equal(d.into(), dir.clone())),
    );
    check(
        "merge script",
        text(merger, "args.0").and_then(|script| {
            let wanted = [
                "\"$STATEBENCH_RESULTS\"/shard-*",
                "\"$#\" -ne \"$STATEBENCH_SHARDS\"",
                "statebench merge \"$@\"",
            ];
            match wanted.iter().find(|w| !script.contains(*w)) {
                None => Ok(()),
                Some(w) => Err(format!("does not say {w}")),
            }
        }),
    );
    check(
        "the shared volume",
        claim_of(agents, &dir).and_then(|a| claim_of(merge, &dir).and_then(|m| equal(m, a))),
    );
    errors
}

fn agents_and_merge(docs: &[Value]) -> (Value, Value) {
    let job = |component: &str| {
        docs.iter()
            .find(|d| {
                d.get("kind").and_then(Value::as_str) == Some("Job")
                    && d.get("metadata")
                        .and_then(|m| m.get("labels"))
                        .and_then(|l| l.get("app.kubernetes.io/component"))
                        .and_then(Value::as_str)
                        == Some(component)
            })
            .cloned()
            .unwrap_or_else(|| panic!("no {component} Job in {docs:?}"))
    };
    (job("agent"), job("merge"))
}

#[test]
fn every_yaml_document_in_ci_k8s_parses_as_a_kubernetes_object() {
    let dir = root().join("ci/k8s");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("ci/k8s") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let docs = documents(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for doc in &docs {
            for key in ["apiVersion", "kind", "metadata.name"] {
                assert!(has_text(doc, key), "{}: no {key}", path.display());
            }
        }
        seen += docs.len();
    }
    assert!(seen >= 4, "ci/k8s holds {seen} documents");
}

fn has_text(doc: &Value, key: &str) -> bool {
    text(doc, key).is_ok_and(|t| !t.is_empty())
}

#[test]
fn the_image_is_the_one_ci_images_build_tags_with_the_crate_version() {
    let image = built_image();
    assert_eq!(
        image,
        format!("statebench/statebench:{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_launched_agents_and_merge_agree_on_image_index_shards_and_directories() {
    let (agents, merge) = agents_and_merge(&rendered());
    let errors = disagreements(&agents, &merge, SHARDS, &built_image());
    assert!(errors.is_empty(), "{errors:#?}");
    let args = format!("{:?}", field(container(&agents).unwrap(), "args").unwrap());
    assert!(
        args.contains("--adapters") && args.contains("postgres,redis"),
        "the run options after -- are in the agents' args: {args}"
    );
}

/// A copy of `doc` with the value at `path` replaced.
fn set(doc: &Value, path: &str, to: Value) -> Value {
    let mut doc = doc.clone();
    let mut at = &mut doc;
    for part in path.split('.') {
        at = match part.parse::<usize>() {
            Ok(i) => &mut at[i],
            Err(_) => &mut at[part],
        };
    }
    *at = to;
    doc
}

/// A copy of a Job with its container's `name` variable set to `to`.
fn set_env(job: &Value, name: &str, to: &str) -> Value {
    let mut job = job.clone();
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_sequence_mut()
        .expect("env");
    let entry = env
        .iter_mut()
        .find(|e| e["name"].as_str() == Some(name))
        .expect("the variable");
    entry["value"] = to.into();
    job
}

/// A copy of a Job with its container's args that contain `needle` replaced by `to`.
fn set_arg(job: &Value, needle: &str, to: &str) -> Value {
    let mut job = job.clone();
    let args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence_mut()
        .expect("args");
    for arg in args.iter_mut() {
        if arg.as_str().is_some_and(|a| a.contains(needle)) {
            *arg = to.into();
        }
    }
    job
}

#[test]
fn the_check_fails_on_each_disagreement() {
    let (agents, merge) = agents_and_merge(&rendered());
    let image = built_image();
    let c = "spec.template.spec.containers.0";
    let claim = "spec.template.spec.volumes.0.persistentVolumeClaim.claimName";
    let broken = [
        (
            "parallelism",
            set(&agents, "spec.parallelism", 2.into()),
            merge.clone(),
        ),
        (
            "completions",
            set(&agents, "spec.completions", 4.into()),
            merge.clone(),
        ),
        (
            "mode",
            set(&agents, "spec.completionMode", "NonIndexed".into()),
            merge.clone(),
        ),
        (
            "agents' shards",
            set_env(&agents, "STATEBENCH_SHARDS", "4"),
            merge.clone(),
        ),
        (
            "merge's shards",
            agents.clone(),
            set_env(&merge, "STATEBENCH_SHARDS", "4"),
        ),
        (
            "image",
            set(&agents, &format!("{c}.image"), "x:1".into()),
            merge.clone(),
        ),
        (
            "merge image",
            agents.clone(),
            set(&merge, &format!("{c}.image"), "x:1".into()),
        ),
        (
            "no index",
            set_arg(&agents, "JOB_COMPLETION_INDEX", "/results/x"),
            merge.clone(),
        ),
        ("start", set_arg(&agents, "START_AT", "now"), merge.clone()),
        (
            "other dir",
            agents.clone(),
            set_env(&merge, "STATEBENCH_RESULTS", "/results/y"),
        ),
        (
            "other claim",
            agents.clone(),
            set(&merge, claim, "other".into()),
        ),
        (
            "script",
            agents.clone(),
            set_arg(&merge, "statebench merge", "statebench merge /r/*"),
        ),
    ];
    for (what, agents, merge) in broken {
        assert!(
            !disagreements(&agents, &merge, SHARDS, &image).is_empty(),
            "{what}: a broken manifest passed"
        );
    }
}
