//! The `ecs-reconciler` CLI: parse arguments, run the command, map its verdict to the exit code.

use std::process::ExitCode;

use clap::Parser;
use ecs_reconciler::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
