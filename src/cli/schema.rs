//! `ecs-reconciler schema`: the manifests' JSON Schema on stdout.

use std::io::Write;
use std::process::ExitCode;

use crate::manifest::schema::manifest_schema;

pub fn run() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &manifest_schema())?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
