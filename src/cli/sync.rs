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

pub async fn rollback(url: &str, to: &str, output: Output) -> anyhow::Result<ExitCode> {
    use crate::store::rollback::{RollbackError, rollback};
    let loc = location(url)?;
    let clients = Clients::from_env().await;
    let report = match rollback(&clients, &loc, to).await {
        Ok(r) => r,
        Err(e) => {
            if let RollbackError::Invalid { diagnostics, .. } = &e {
                for d in diagnostics {
                    eprintln!("{d}");
                }
            }
            return Err(e.into());
        }
    };
    if output == Output::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "{loc}: generation {} (synced {}, generation.json version {}), {} file(s)",
        report.restored_commit,
        report.restored_synced_at,
        report.version_id,
        report.file_versions.len()
    )?;
    let sync = &report.sync;
    for p in &sync.uploaded {
        writeln!(out, "restored {p} (version {})", report.file_versions[p])?;
    }
    for p in &sync.deleted {
        writeln!(out, "deleted  {p}")?;
    }
    if sync.generation_written {
        writeln!(
            out,
            "{loc}: generation `{}` written ({} restored, {} deleted, {} unchanged); the next run applies it",
            sync.commit,
            sync.uploaded.len(),
            sync.deleted.len(),
            sync.unchanged
        )?;
    } else {
        writeln!(out, "{loc}: already has that generation's content ({} files); nothing written", sync.unchanged)?;
    }
    Ok(ExitCode::SUCCESS)
}
