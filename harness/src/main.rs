//! `statebench`: run, list, report, site, check, compare, merge.

use anyhow::Context as _;
use clap::Parser;
use statebench::cli::{AbArgs, CheckArgs, Cli, Command, RunArgs, WorkloadCommand};
use statebench::options::RunOptions;
use statebench::progress::Bars;
use statebench::{listing, output, run, summary};
use statebench_suites::standing::Standing;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

/// Exit code after Ctrl-C, as shells report a SIGINT.
const INTERRUPTED: u8 = 130;
/// Exit code of a run in which a check failed, or of an invalid history.
const NONCONFORMING: u8 = 3;
/// Exit code of a check that could not decide.
const UNDECIDED: u8 = 4;
/// Exit code of a run in which an adapter named with `--adapters` could not be provided (its
/// server could not be started or reached, its URL was missing or malformed, or its probe
/// failed). The results are written, with the reasons.
const UNPROVIDED: u8 = 5;

fn main() -> ExitCode {
    // A panic that unwinds out of main must not leave servers behind. (Panics inside tasks
    // are caught by the runtime, and the run goes on with its servers.)
    let _on_panic = statebench::cleanup::OnPanic;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version go to stdout and succeed.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see statebench --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Run(args) => run_command(args),
        Command::Ab(args) => ab_command(args),
        Command::List => {
            print!("{}", listing::list());
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            path,
            format,
            stdout,
        } => report(&path, &format, stdout),
        Command::Site { runs, out } => site(&runs, &out),
        Command::Merge { runs, out } => merge(&runs, &out),
        Command::Workload {
            command: WorkloadCommand::Show { name },
        } => listing::workload_yaml(&name)
            .map(|yaml| {
                print!("{yaml}");
                ExitCode::SUCCESS
            })
            .map_err(anyhow::Error::msg),
        Command::Check(args) => check(args),
        Command::Compare(args) => statebench::compare::run(&args).map(ExitCode::from),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

fn run_command(args: RunArgs) -> anyhow::Result<ExitCode> {
    // Named adapters must run; the default set may skip what this machine cannot provide.
    let named = !args.adapters.is_empty();
    let options = RunOptions::from_args(args)?;
    output::prepare(&options.out)?;
    let runtime =
        statebench::options::runtime(options.threads).context("cannot start the async runtime")?;
    let cancel = CancellationToken::new();
    let results = runtime.block_on(async {
        let watcher = tokio::spawn(watch_ctrl_c(cancel.clone()));
        let results = run::execute(&options, &Bars::default(), &cancel, Some(&options.out)).await;
        watcher.abort();
        results
    });
    output::write_run(&options.out, &results)
        .with_context(|| format!("cannot write the results to {}", options.out.display()))?;
    if let Some(summary) = std::env::var_os(output::STEP_SUMMARY) {
        // A GitHub Actions job's summary page: the report, appended after what is there.
        output::append_step_summary(std::path::Path::new(&summary), &options.out)
            .with_context(|| format!("cannot append the report to ${}", output::STEP_SUMMARY))?;
    }
    print!("{}", summary::render(&results));
    let dir = options.out.display();
    println!(
        "report: {dir}/{} (also {dir}/{} and {dir}/{})",
        output::HTML,
        output::MARKDOWN,
        output::RESULTS
    );
    if results.interrupted {
        eprintln!("interrupted: the results hold what was measured before the stop");
        return Ok(ExitCode::from(INTERRUPTED));
    }
    Ok(ExitCode::from(findings(&results, named, "")))
}

/// Says every finding of a run on stderr (each line after `side`, when given) and returns
/// the most serious as an exit code: a broken promise, then an adapter that did not run at
/// all, then a check that could not decide.
fn findings(results: &statebench_suites::results::Results, named: bool, side: &str) -> u8 {
    let mut code = 0;
    let judged: Vec<_> = results
        .subjects
        .iter()
        .filter_map(|s| s.correctness.as_ref().map(|c| (s.name.as_str(), c)))
        .collect();
    let undecided: Vec<String> = judged
        .iter()
        .filter(|(_, c)| c.standing == Standing::Unknown)
        .map(|(name, c)| format!("{name} ({})", c.undecided.join(", ")))
        .collect();
    if !undecided.is_empty() {
        eprintln!(
            "{side}checks could not decide: {} (see the report)",
            undecided.join("; ")
        );
        code = UNDECIDED;
    }
    let unprovided = if named {
        run::unprovided(results)
    } else {
        Vec::new()
    };
    if !unprovided.is_empty() {
        eprintln!(
            "{side}error: cannot provide the adapters named with --adapters, so they did not \
             run: {} (the results and reports are written, with the reasons)",
            unprovided.join("; ")
        );
        code = UNPROVIDED;
    }
    let failed: Vec<String> = judged
        .iter()
        .filter(|(_, c)| c.standing == Standing::Fail)
        .map(|(name, c)| format!("{name} ({})", c.mark()))
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "{side}checks failed: {} (see the report)",
            failed.join("; ")
        );
        code = NONCONFORMING;
    }
    code
}

fn ab_command(args: AbArgs) -> anyhow::Result<ExitCode> {
    use statebench_reports::gate;
    let named = !args.run.adapters.is_empty();
    let gate = match &args.gate {
        Some(path) => gate::Gate::load(path)?,
        None => gate::Gate::default(),
    };
    let (out, sides) = statebench::ab::sides(&args)?;
    let runtime = statebench::options::runtime(sides[0].options.threads)
        .context("cannot start the async runtime")?;
    let cancel = CancellationToken::new();
    let results = runtime.block_on(async {
        let watcher = tokio::spawn(watch_ctrl_c(cancel.clone()));
        let results = run::execute_sides(&sides, &Bars::default(), &cancel).await;
        watcher.abort();
        results
    });
    for (side, results) in sides.iter().zip(&results) {
        let dir = side.run_dir.as_deref().unwrap_or(&out);
        output::write_run(dir, results)
            .with_context(|| format!("cannot write the results to {}", dir.display()))?;
    }
    let comparison = gate::compare(&results[0], &results[1], &gate);
    for w in &comparison.warnings {
        eprintln!("warning: {}: {}", w.kind, w.message);
    }
    let markdown = gate::markdown(&comparison);
    statebench::ab::write_comparison(&out, &markdown, &gate::json(&comparison))
        .with_context(|| format!("cannot write the comparison to {}", out.display()))?;
    if let Some(summary) = std::env::var_os(output::STEP_SUMMARY) {
        output::append_file(
            std::path::Path::new(&summary),
            &out.join(statebench::ab::COMPARE_MD),
        )
        .with_context(|| format!("cannot append the comparison to ${}", output::STEP_SUMMARY))?;
    }
    print!("{markdown}");
    let dir = out.display();
    println!(
        "comparison: {dir}/{} (and {dir}/{}); the sides' reports: {dir}/base/{html} and \
         {dir}/head/{html}",
        statebench::ab::COMPARE_MD,
        statebench::ab::COMPARE_JSON,
        html = output::HTML
    );
    if results.iter().any(|r| r.interrupted) {
        eprintln!("interrupted: the results hold what was measured before the stop");
        return Ok(ExitCode::from(INTERRUPTED));
    }
    // Each side's own findings are said; a check that fails on both sides is no regression,
    // so only the comparison and a side that could not run set the exit code.
    let mut unprovided = false;
    for (side, results) in sides.iter().zip(&results) {
        unprovided |= findings(results, named, &format!("{}: ", side.name)) == UNPROVIDED;
    }
    let code = comparison.exit_code(args.strict);
    Ok(match code {
        0 if unprovided => ExitCode::from(UNPROVIDED),
        code => ExitCode::from(u8::try_from(code).unwrap_or(1)),
    })
}

/// First Ctrl-C (or SIGTERM, SIGHUP): stop measuring and write what was measured. Second:
/// remove the servers statebench started and leave at once.
async fn watch_ctrl_c(cancel: CancellationToken) {
    let mut signals = Signals::new();
    if !signals.next().await {
        return;
    }
    eprintln!(
        "\ninterrupted: finishing in-flight operations and writing results (Ctrl-C again to quit now)"
    );
    cancel.cancel();
    if signals.next().await {
        eprintln!("quitting: removing the servers statebench started");
        statebench::cleanup::emergency();
        std::process::exit(i32::from(INTERRUPTED));
    }
}

/// SIGINT, SIGTERM and SIGHUP, as one stream of "stop" requests.
struct Signals {
    terminate: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Self {
            terminate: signal(SignalKind::terminate()).ok(),
            hangup: signal(SignalKind::hangup()).ok(),
        }
    }

    /// Waits for the next request; false when signals cannot be watched.
    async fn next(&mut self) -> bool {
        let terminate = async {
            match &mut self.terminate {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        let hangup = async {
            match &mut self.hangup {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            interrupt = tokio::signal::ctrl_c() => interrupt.is_ok(),
            _ = terminate => true,
            _ = hangup => true,
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    use statebench::check::{CheckOptions, run, seconds};
    use statebench_suites::check::{Budget, Model, Validity};
    let model = Model::parse(args.model.trim()).ok_or_else(|| {
        let known: Vec<&str> = Model::ALL.iter().map(|(_, n)| *n).collect();
        anyhow::anyhow!(
            "unknown model `{}` (known: {})",
            args.model,
            known.join(", ")
        )
    })?;
    let mut budget = Budget::default();
    if let Some(text) = &args.time_limit {
        budget.time = seconds(text).map_err(anyhow::Error::msg)?;
    }
    if let Some(mib) = args.memory_limit {
        anyhow::ensure!(mib > 0, "--memory-limit must be at least 1 MiB");
        budget.memory_bytes = mib.saturating_mul(1 << 20);
    }
    let options = CheckOptions {
        model,
        file: args.file,
        budget,
        json: args.json,
    };
    let checked = run(&options)?;
    print!("{}", checked.output);
    Ok(ExitCode::from(match checked.validity {
        Validity::Valid => 0,
        Validity::Invalid => NONCONFORMING,
        Validity::Unknown => UNDECIDED,
    }))
}

/// The formats `statebench report` writes: name, file, renderer.
type Renderer = fn(&statebench_suites::results::Results) -> String;
const FORMATS: [(&str, &str, Renderer); 4] = [
    ("html", output::HTML, statebench_reports::html::render),
    ("md", output::MARKDOWN, statebench_reports::markdown::render),
    ("csv", output::CSV, statebench_reports::csv::render),
    ("bmf", output::BMF, statebench_reports::bmf::render),
];

/// Renders the reports again from `path`: a run directory, or its results.json; the reports
/// go next to the results, or to standard output.
fn report(path: &std::path::Path, formats: &[String], stdout: bool) -> anyhow::Result<ExitCode> {
    let mut chosen = Vec::new();
    for name in formats {
        let name = name.trim();
        let Some(format) = FORMATS.iter().find(|(n, _, _)| *n == name) else {
            let known: Vec<&str> = FORMATS.iter().map(|(n, _, _)| *n).collect();
            anyhow::bail!("unknown format `{name}` (known: {})", known.join(", "));
        };
        if !chosen.iter().any(|(n, _, _)| n == &format.0) {
            chosen.push(*format);
        }
    }
    if chosen.is_empty() {
        if stdout {
            anyhow::bail!("--stdout prints one format; name it with --format");
        }
        chosen = vec![FORMATS[1], FORMATS[0]];
    }
    if stdout && chosen.len() != 1 {
        anyhow::bail!("--stdout prints one format, not {}", chosen.len());
    }
    let (dir, file) = output::run_paths(path);
    let results = statebench_reports::read(&file)?;
    if stdout {
        print!("{}", (chosen[0].2)(&results));
        return Ok(ExitCode::SUCCESS);
    }
    let mut written = Vec::new();
    for (_, name, render) in chosen {
        let target = dir.join(name);
        output::write_atomic(&target, &render(&results))
            .with_context(|| format!("cannot write {}", target.display()))?;
        written.push(target.display().to_string());
    }
    println!("report: {}", written.join(", "));
    Ok(ExitCode::SUCCESS)
}

/// Merges the shards `runs` into `out`; says each warning on stderr.
fn merge(runs: &[std::path::PathBuf], out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let merged = statebench::merge::run(runs, out)?;
    let merge = merged.merge.as_ref();
    for w in merge.iter().flat_map(|m| &m.warnings) {
        eprintln!("warning: {w}");
    }
    print!("{}", summary::render(&merged));
    let dir = out.display();
    println!(
        "merged {} shards: {dir}/{} (also {dir}/{} and {dir}/{})",
        merge.map_or(0, |m| m.shards.len()),
        output::HTML,
        output::MARKDOWN,
        output::RESULTS
    );
    // The merged run's findings decide, as a run's do: a check failed on any shard is a
    // failed check of the run (agents that exit 3 or 4 are still merged).
    Ok(ExitCode::from(findings(&merged, false, "")))
}

/// Builds a static site of the runs `paths` in `out`.
fn site(paths: &[std::path::PathBuf], out: &std::path::Path) -> anyhow::Result<ExitCode> {
    use statebench_reports::site;
    let same = |a: &std::path::Path, b: &std::path::Path| match (a.canonicalize(), b.canonicalize())
    {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for path in paths {
        anyhow::ensure!(
            path.exists(),
            "{} is not a run: there is no such directory",
            path.display()
        );
        let (dir, file) = output::run_paths(path);
        // A run named twice is published once.
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        if same(&dir, out) {
            anyhow::bail!(
                "--out {} is the run directory {}; choose another directory for the site",
                out.display(),
                path.display()
            );
        }
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{} is not a run: cannot read {}",
                path.display(),
                file.display()
            )
        })?;
        let results = statebench_reports::read(&file)
            .with_context(|| format!("{} is not a run", path.display()))?;
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "run".to_owned());
        found.push((name, results, text));
    }
    let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
    let runs: Vec<site::Run> = site::unique_names(&names)
        .into_iter()
        .zip(found)
        .map(|(name, (_, results, results_json))| site::Run {
            name,
            results,
            results_json,
        })
        .collect();
    let files = site::build(&runs);
    output::write_site(out, &files)
        .with_context(|| format!("cannot write the site to {}", out.display()))?;
    println!(
        "site: {}/index.html ({} run{}, {} files)",
        out.display(),
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}
