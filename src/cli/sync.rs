//! `ecs-reconciler sync` and `status`: the git side of the S3 layout.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::Output;
use crate::aws::Clients;
use crate::manifest::ManifestSet;
use crate::store::{SetLocation, status, sync};

fn location(url: &str) -> anyhow::Result<SetLocation> {
    SetLocation::parse(url).with_context(|| format!("`{url}` is not s3://BUCKET/PREFIX"))
}

/// The commit of the work tree `path` is in, when it is in one.
fn git_head(path: &Path) -> Option<String> {
    let out = std::process::Command::new("git").arg("-C").arg(path).args(["rev-parse", "HEAD"]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn sync(path: &Path, url: &str, commit: Option<String>, output: Output) -> anyhow::Result<ExitCode> {
    let loc = location(url)?;
    let set = ManifestSet::load(&[path.to_path_buf()])?;
    if !set.is_valid() {
        for d in set.errors() {
            eprintln!("{d}");
        }
        bail!("{} is invalid ({} error(s)): nothing was uploaded", path.display(), set.errors().count());
    }
    let commit = match commit.or_else(|| git_head(path)) {
        Some(c) => c,
        None => bail!("{} is not in a git work tree: give --commit", path.display()),
    };
    let files = sync::local_files(path)?;
    let clients = Clients::from_env().await;
    let report = sync::sync(&clients, &loc, &files, &commit).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            let mut out = anstream::stdout().lock();
            for p in &report.uploaded {
                writeln!(out, "uploaded {p}")?;
            }
            for p in &report.deleted {
                writeln!(out, "deleted  {p}")?;
            }
            if report.generation_written {
                writeln!(
                    out,
                    "{loc}: generation {commit} written ({} uploaded, {} deleted, {} unchanged)",
                    report.uploaded.len(),
                    report.deleted.len(),
                    report.unchanged
                )?;
            } else {
                writeln!(out, "{loc}: up to date ({} files unchanged); nothing written", report.unchanged)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn status(url: &str, output: Output) -> anyhow::Result<ExitCode> {
    let loc = location(url)?;
    let clients = Clients::from_env().await;
    let summary = status::read(&clients, &loc).await?;
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    write!(anstream::stdout().lock(), "{}", status::render(&loc, &summary))?;
    Ok(ExitCode::SUCCESS)
}
