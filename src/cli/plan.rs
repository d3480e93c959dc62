//! `ecs-reconciler plan` and `apply`: the reconcile engine against the account in the standard
//! AWS environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;

use super::Output;
use crate::aws::Clients;
use crate::manifest::ManifestSet;
use crate::plan::render;
use crate::reconcile::{self, Outcome, RunOptions, Summary};

/// Where the desired set comes from and what it is called.
pub struct Source {
    pub desired: PathBuf,
    pub set: Option<String>,
}

impl Source {
    /// Load and validate the set; print the findings on stderr when it is invalid.
    fn load(&self) -> anyhow::Result<(String, ManifestSet)> {
        if self.desired.to_string_lossy().starts_with("s3://") {
            bail!("reading the set from S3 is not supported by this release; give a local folder");
        }
        let set = ManifestSet::load(std::slice::from_ref(&self.desired))?;
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
    prune: bool,
    output: Output,
    detailed_exitcode: bool,
    verbose: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (set_name, set) = src.load()?;
    let clients = Clients::from_env().await;
    let opts = RunOptions { prune, ..Default::default() };
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

pub async fn apply(src: Source, opts: RunOptions, output: Output) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (set_name, set) = src.load()?;
    let clients = Clients::from_env().await;
    let (observed, plan) = reconcile::plan_set(&clients, &set_name, &set, &opts).await?;
    if output == Output::Text {
        let mut out = anstream::stdout().lock();
        write!(out, "{}", render::text(&plan, false))?;
    }
    let results = reconcile::apply(&clients, &set, &observed, &plan, &opts).await?;
    let summary = Summary::new(&plan, "apply", results, &clients, started);
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
    Ok(if summary.failed > 0 || summary.skipped > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
