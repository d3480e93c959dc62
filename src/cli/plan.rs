//! `ecs-reconciler plan` and `apply`: the reconcile engine against the account in the standard
//! AWS environment.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use anyhow::{Context, bail};
use serde_json::json;

use super::Output;
use crate::aws::Clients;
use crate::manifest::{Kind, ManifestSet, Spec};
use crate::plan::Op;
use crate::plan::render;
use crate::reconcile::run::{self, Desired};
use crate::reconcile::{self, Outcome, RunOptions, Summary};
use crate::store::{SetLocation, lease};
use crate::wait;

/// Where the desired set comes from and what it is called.
pub struct Source {
    pub desired: PathBuf,
    pub set: Option<String>,
}

impl Source {
    /// The set's S3 location when `--desired` is one (`s3://BUCKET/PREFIX`).
    fn location(&self) -> anyhow::Result<Option<SetLocation>> {
        let text = self.desired.to_string_lossy();
        if !text.starts_with("s3://") {
            return Ok(None);
        }
        match SetLocation::parse(&text) {
            Some(loc) => Ok(Some(loc)),
            None => bail!("{text}: give s3://BUCKET/PREFIX"),
        }
    }

    /// Load and validate the set (from a folder, or the generation synced to S3); print the
    /// findings on stderr when it is invalid.
    async fn load(&self, clients: &Clients) -> anyhow::Result<(String, ManifestSet)> {
        let set = match self.location()? {
            Some(loc) => {
                let (_, set) = crate::store::load(clients, &loc).await?;
                for d in set.diagnostics.iter().filter(|d| d.is_error()) {
                    eprintln!("{d}");
                }
                return Ok((self.set.clone().unwrap_or_else(|| loc.name().to_string()), set));
            }
            None => ManifestSet::load(std::slice::from_ref(&self.desired))?,
        };
        for d in set.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{d}");
        }
        Ok((self.set_name()?, set))
    }

    /// `--set`, or the folder's name.
    fn set_name(&self) -> anyhow::Result<String> {
        if let Some(s) = &self.set {
            return Ok(s.clone());
        }
        let abs =
            std::fs::canonicalize(&self.desired).with_context(|| format!("cannot read {}", self.desired.display()))?;
        let dir = if abs.is_dir() { abs.as_path() } else { abs.parent().unwrap_or(Path::new("/")) };
        Ok(dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "default".into()))
    }
}

pub async fn plan(
    src: Source,
    opts: RunOptions,
    output: Output,
    detailed_exitcode: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let clients = Clients::from_env().await;
    let (set_name, set) = src.load(&clients).await?;
    let (_, plan) = reconcile::plan_set(&clients, &set_name, &set, &opts).await?;
    let summary = Summary::new(&plan, "plan", vec![], &clients, started);
    match output {
        Output::Text => {
            let mut out = anstream::stdout().lock();
            write!(out, "{}", render::text(&plan, verbose))?;
            writeln!(out, "AWS calls: {} ({} writes).", summary.aws_calls_total, summary.aws_writes_total)?;
        }
        Output::Json => {
            let doc = json!({"plan": plan, "changes": plan.has_changes(), "aws_calls": summary.aws_calls, "aws_calls_total": summary.aws_calls_total});
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
    }
    Ok(match (detailed_exitcode, plan.has_changes()) {
        (true, true) => ExitCode::from(2),
        _ => ExitCode::SUCCESS,
    })
}

/// Who takes the lease: `cli@HOST:PID`.
fn lease_owner() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("cli@{host}:{}", std::process::id())
}

/// `apply` under the set's lease, through the same run as the Lambda's (`reconcile::run`): the
/// set's own lease and status when it is read from S3, `--lease`'s for a folder (the run is then
/// recorded in that location's status, and its failure holds apply); neither otherwise.
pub async fn apply(
    src: Source,
    opts: RunOptions,
    wait: Option<Duration>,
    lease: Option<String>,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let clients = Clients::from_env().await;
    let stored = src.location()?;
    let store = match (&lease, &stored) {
        (Some(_), Some(loc)) => bail!("--lease is for a folder; {loc} is applied under its own lease"),
        (Some(url), None) => {
            Some(SetLocation::parse(url).with_context(|| format!("--lease {url}: give s3://BUCKET/PREFIX"))?)
        }
        (None, loc) => loc.clone(),
    };
    let desired = match &stored {
        Some(_) => Desired::Stored,
        None => {
            let (name, set) = src.load(&clients).await?;
            if !set.is_valid() {
                return Err(reconcile::RunError::Invalid(set.errors().count()).into());
            }
            Desired::Given { name, set }
        }
    };
    let held = match &store {
        None => None,
        Some(loc) => match lease::acquire(&clients, loc, &lease_owner(), lease::TTL).await? {
            Ok(l) => Some(l),
            Err(lease::Held(b)) => {
                eprintln!(
                    "{loc}: the lease is held by {} until {}; nothing applied (try again once it is given back)",
                    b.owner,
                    crate::store::status::epoch_rfc3339(b.expires_at)
                );
                return Ok(ExitCode::FAILURE);
            }
        },
    };
    let request = run::Request {
        trigger: "cli".into(),
        apply: true,
        scope: run::Scope::All,
        deep: run::Deep::No,
        events: vec![],
        opts,
    };
    let mut show = |plan: &crate::plan::Plan| {
        if output == Output::Text {
            let mut out = anstream::stdout().lock();
            let _ = write!(out, "{}", render::text(plan, false));
        }
    };
    let report = run::run(&clients, store.as_ref(), desired, request, &mut show).await;
    if let Some(l) = held
        && let Err(e) = lease::release(&clients, l).await
    {
        eprintln!("warning: the lease was not given back ({e}); it expires by itself");
    }
    let report = report?;
    let Some(plan) = report.plan else {
        for e in &report.record.errors {
            eprintln!("{e}");
        }
        bail!("nothing was applied ({} error(s))", report.record.errors.len());
    };
    let summary = Summary::new(&plan, "apply", report.results, &clients, started);
    match output {
        Output::Text => {
            let mut out = anstream::stdout().lock();
            for r in &summary.results {
                let mark = match r.outcome {
                    Outcome::Applied => "ok",
                    Outcome::Failed => "FAILED",
                    Outcome::Skipped => "skipped",
                };
                writeln!(
                    out,
                    "{mark:>7} {} {}/{}{}",
                    r.op.as_str(),
                    r.kind,
                    r.name,
                    r.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
                )?;
            }
            writeln!(
                out,
                "Applied {} change(s), {} failed, {} skipped; AWS calls: {} ({} writes) in {:.1}s.",
                summary.applied,
                summary.failed,
                summary.skipped,
                summary.aws_calls_total,
                summary.aws_writes_total,
                summary.duration_ms as f64 / 1000.0
            )?;
        }
        Output::Json => println!("{}", serde_json::to_string_pretty(&json!({"plan": plan, "summary": summary}))?),
    }
    // A delete that waits for its users to go (a superseded generation, a cluster with draining
    // services, a group with network interfaces) is progress, not a failure: a later run (the
    // Lambda's schedule) finishes it, as Kubernetes finishes a deletion after its finalizers.
    let waiting = summary
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Skipped && r.op == Op::Delete)
        .filter(|r| plan.steps.iter().any(|s| s.kind == r.kind && s.name == r.name && s.actions.is_empty()))
        .count();
    if output == Output::Text && waiting > 0 {
        eprintln!("{waiting} delete(s) wait for what still uses them; a later run finishes them");
    }
    if summary.failed > 0 || summary.skipped > waiting {
        return Ok(ExitCode::FAILURE);
    }
    if let Some(timeout) = wait {
        let changed: Vec<&str> = summary
            .results
            .iter()
            .filter(|r| r.kind == Kind::Service && r.outcome == Outcome::Applied && r.op != Op::Delete)
            .map(|r| r.name.as_str())
            .collect();
        let set = report.set.as_ref().expect("a planned run has its set");
        if !wait_for(&clients, set, &changed, timeout).await? {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Follow the changed services' rollouts with a progress line on stderr. True when all are
/// steady.
async fn wait_for(clients: &Clients, set: &ManifestSet, services: &[&str], timeout: Duration) -> anyhow::Result<bool> {
    let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in services {
        if let Some(Spec::Service(s)) = set.get(Kind::Service, name).map(|r| &r.spec) {
            by_cluster.entry(s.cluster.clone()).or_default().push(name.to_string());
        }
    }
    if by_cluster.is_empty() {
        return Ok(true);
    }
    let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}")?);
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut last = String::new();
    let outcome = wait::wait_steady(clients, &by_cluster, timeout, Duration::from_secs(5), |all| {
        let line = all
            .iter()
            .map(|r| {
                let deploying = match &r.deployment {
                    Some(d) if !matches!(d.status.as_str(), "UNKNOWN" | crate::aws::ecs::NO_DEPLOYMENT) => {
                        format!(" (deployment {d})")
                    }
                    _ if r.deployments > 1 => " (deploying)".to_string(),
                    _ => String::new(),
                };
                format!("{} {}/{} running{deploying}", r.name, r.running, r.desired)
            })
            .collect::<Vec<_>>()
            .join(", ");
        if bar.is_hidden() && line != last {
            eprintln!("waiting: {line}");
        }
        bar.set_message(line.clone());
        last = line;
    })
    .await?;
    bar.finish_and_clear();
    Ok(match outcome {
        wait::WaitOutcome::Steady => {
            eprintln!("steady: {}", services.join(", "));
            true
        }
        wait::WaitOutcome::Failed(rs) => {
            for r in rs {
                eprintln!("rollout FAILED: Service/{}: {}", r.name, r.reason.as_deref().unwrap_or("no reason given"));
            }
            false
        }
        wait::WaitOutcome::TimedOut(rs) => {
            for r in rs {
                eprintln!(
                    "timed out after {}s: Service/{} has {}/{} running",
                    timeout.as_secs(),
                    r.name,
                    r.running,
                    r.desired
                );
            }
            false
        }
    })
}
