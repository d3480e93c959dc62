//! The `ecs-reconciler` command line: argument parsing, and one module per command.

mod schema;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "ecs-reconciler", version, about = "GitOps for Amazon ECS: plan and apply desired-state manifests", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people: one line a finding, coloured on a terminal.
    Text,
    /// For tools: one JSON document on stdout.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests offline: syntax, fields, references, and the known traps of ECS practice.
    ///
    /// Exits 0 when the set is valid (warnings are printed but do not fail it), 1 on any error.
    Validate {
        /// Files or folders to read (folders: every .yaml, .yml and .json below them).
        #[arg(default_value = "desired")]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Treat warnings as errors (exit 1 when there is any).
        #[arg(long)]
        strict: bool,
    },
    /// Print the JSON Schema of the manifests (for yaml-language-server and other editors).
    Schema,
}

/// Run a parsed command line; the exit code is the command's verdict.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate {
            paths,
            output,
            strict,
        } => validate::run(&paths, output, strict),
        Command::Schema => schema::run(),
    }
}
