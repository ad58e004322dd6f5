//! The GitHub Actions templates in ci/github/ are consistent with the CLI: every
//! `statebench` command they run is a subcommand, the gate fails on a regression (exit 3),
//! comments and uploads whatever happened, and has the permissions it needs.

use clap::CommandFactory;
use serde_yaml::Value;
use std::path::Path;

const GATE: &str = "statebench-gate.yml";
const NIGHTLY: &str = "statebench-nightly.yml";

fn template(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ci/github")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"))
}

/// Every step of every job, with its job's name.
fn steps(workflow: &Value) -> Vec<(String, &Value)> {
    let jobs = workflow["jobs"].as_mapping().expect("jobs");
    jobs.iter()
        .flat_map(|(name, job)| {
            let name = name.as_str().unwrap_or_default().to_owned();
            let steps = job["steps"].as_sequence().expect("steps");
            steps.iter().map(move |s| (name.clone(), s))
        })
        .collect()
}

fn text<'a>(step: &'a Value, field: &str) -> &'a str {
    step[field].as_str().unwrap_or_default()
}

/// Where a word starts a command in a shell line: first, or after an operator.
fn starts_command(previous: Option<&&str>) -> bool {
    match previous {
        None => true,
        Some(p) => ["&&", "||", "|", ";", "then", "do", "!", "time"].contains(p),
    }
}

/// The subcommands of every `statebench` command in `script` (its `run:`), in order.
fn subcommands(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            // `id=$(statebench list)`: a command substitution starts a command.
            let substituted = word.contains("$(");
            let program = word.rsplit("$(").next().unwrap_or(word);
            let is_statebench = program == "statebench" || program.ends_with("/statebench");
            let first = substituted || starts_command(i.checked_sub(1).map(|p| &words[p]));
            if is_statebench && first {
                let sub = words.get(i + 1).copied().unwrap_or_default();
                found.push(sub.trim_end_matches([')', ';', '"']).to_owned());
            }
        }
    }
    found
}

fn known_subcommands() -> Vec<String> {
    statebench::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect()
}

#[test]
fn every_statebench_command_the_templates_run_is_a_subcommand() {
    let known = known_subcommands();
    for (name, expected) in [
        (GATE, &["ab", "run", "compare"][..]),
        (NIGHTLY, &["run", "site"]),
    ] {
        let workflow = template(name);
        let used: Vec<String> = steps(&workflow)
            .iter()
            .flat_map(|(_, s)| subcommands(text(s, "run")))
            .collect();
        assert_eq!(used, expected, "{name}: the statebench commands it runs");
        for sub in &used {
            assert!(
                known.contains(sub),
                "{name} runs `statebench {sub}`, which is not a subcommand (known: {known:?})"
            );
        }
    }
}

#[test]
fn the_shell_line_parser_finds_commands_and_only_commands() {
    let script = "cargo install --git x statebench\nstatebench ab --out statebench-ab $F\n\
                  x && ./target/release/statebench run --trials 5\nid=$(statebench list)";
    assert_eq!(subcommands(script), ["ab", "run", "list"]);
}

#[test]
fn the_gate_fails_the_check_on_a_regression_and_still_comments_and_uploads() {
    let workflow = template(GATE);
    let steps = steps(&workflow);
    for job in ["ab", "compare"] {
        let job_steps: Vec<&Value> = steps
            .iter()
            .filter(|(j, _)| j == job)
            .map(|(_, s)| *s)
            .collect();
        let deciding = job_steps
            .iter()
            .position(|s| {
                let sub = subcommands(text(s, "run"));
                sub.iter().any(|c| c == "ab" || c == "compare")
            })
            .unwrap_or_else(|| panic!("{job}: no step runs statebench ab or compare"));
        let step = job_steps[deciding];
        let script = text(step, "run");
        // Exit 3 must fail the step (and so the job): nothing may swallow it.
        for swallow in ["|| true", "set +e", "|| exit 0", "; true"] {
            assert!(!script.contains(swallow), "{job}: `{swallow}` hides exit 3");
        }
        assert_ne!(step["continue-on-error"].as_bool(), Some(true), "{job}");
        let later = &job_steps[deciding + 1..];
        let uses = |s: &&&Value, action: &str| text(s, "uses").starts_with(action);
        let upload = later
            .iter()
            .find(|s| uses(s, "actions/upload-artifact@"))
            .unwrap_or_else(|| panic!("{job}: no artifact upload after the comparison"));
        let comment = later
            .iter()
            .find(|s| uses(s, "actions/github-script@") || text(s, "run").contains("gh pr comment"))
            .unwrap_or_else(|| panic!("{job}: no pull-request comment after the comparison"));
        for (what, s) in [("upload", upload), ("comment", comment)] {
            assert!(
                text(s, "if").contains("always()"),
                "{job}: the {what} must run after a regression too (if: always())"
            );
        }
    }
}

#[test]
fn the_gate_runs_on_pull_requests_and_may_comment_on_them() {
    let workflow = template(GATE);
    assert_eq!(
        workflow["permissions"]["pull-requests"].as_str(),
        Some("write")
    );
    assert!(
        workflow["on"].get("pull_request").is_some(),
        "{GATE} runs on pull requests"
    );
}

#[test]
fn the_nightly_runs_on_a_schedule_keeps_its_history_and_publishes_pages() {
    let workflow = template(NIGHTLY);
    assert!(workflow["on"]["schedule"].is_sequence(), "a schedule");
    let permissions = &workflow["permissions"];
    assert_eq!(permissions["pages"].as_str(), Some("write"));
    assert_eq!(permissions["id-token"].as_str(), Some("write"));
    let uses: Vec<&str> = steps(&workflow)
        .iter()
        .map(|(_, s)| text(s, "uses"))
        .filter(|u| !u.is_empty())
        .collect();
    for action in [
        "actions/upload-artifact@",
        "actions/upload-pages-artifact@",
        "actions/deploy-pages@",
    ] {
        assert!(
            uses.iter().any(|u| u.starts_with(action)),
            "{NIGHTLY} uses {action}"
        );
    }
    let runs: Vec<String> = steps(&workflow)
        .iter()
        .map(|(_, s)| text(s, "run").to_owned())
        .collect();
    assert!(
        runs.iter().any(|r| r.contains("statebench run --trials 5")),
        "{NIGHTLY} runs five trials"
    );
}

/// Every `statebench` command line of `script`, as words, up to the end of its command.
fn command_lines(script: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in script.lines() {
        // A command substitution inside an argument is one word to statebench.
        let mut line = line.to_owned();
        while let Some(start) = line.find("$(") {
            let end = line[start..]
                .find(')')
                .map_or(line.len(), |e| start + e + 1);
            line.replace_range(start..end, "SUBSTITUTED");
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            let is_statebench = *word == "statebench" || word.ends_with("/statebench");
            if is_statebench && starts_command(i.checked_sub(1).map(|p| &words[p])) {
                let command = words[i..]
                    .iter()
                    .take_while(|w| !["&&", "||", "|", ";", ">", "2>"].contains(w))
                    // The user's own flags, empty in the template.
                    .filter(|w| !w.starts_with("$RUN_FLAGS"))
                    .map(|w| w.trim_matches('"').to_owned())
                    .collect();
                found.push(command);
            }
        }
    }
    found
}

#[test]
fn every_statebench_command_in_the_templates_parses_with_its_flags() {
    use clap::Parser;
    for name in [GATE, NIGHTLY] {
        let workflow = template(name);
        let lines: Vec<Vec<String>> = steps(&workflow)
            .iter()
            .flat_map(|(_, s)| command_lines(text(s, "run")))
            .collect();
        assert!(!lines.is_empty(), "{name}: no statebench command");
        for words in lines {
            if let Err(e) = statebench::cli::Cli::try_parse_from(&words) {
                panic!("{name}: `{}` does not parse: {e}", words.join(" "));
            }
        }
    }
}
