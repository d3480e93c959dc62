//! The `ecs-reconciler` command line: argument parsing, and one module per command.

mod doctor;
mod plan;
mod schema;
mod sync;
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
    /// Show what `apply` would change: create / update (field by field) / replace / delete.
    ///
    /// Reads the account given by the standard AWS environment (AWS_REGION, AWS_PROFILE,
    /// AWS_ENDPOINT_URL, ...); changes nothing.
    Plan {
        #[command(flatten)]
        set: SetArgs,
        /// Also plan deleting owned resources whose manifests left the set.
        #[arg(long)]
        prune: bool,
        /// Read every task definition, also those a service's binding tag proves unchanged
        /// (finds a revision deregistered under a running service).
        #[arg(long)]
        deep: bool,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
        /// Exit 0 when there is nothing to change, 2 when there is, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also list unchanged resources.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Plan, then change AWS to match the set.
    Apply {
        #[command(flatten)]
        set: SetArgs,
        /// Delete owned resources whose manifests left the set.
        #[arg(long)]
        prune: bool,
        /// With --prune: allow deleting every resource the set owns.
        #[arg(long)]
        force: bool,
        /// Allow disruptive replacements too (a load balancer's scheme or type, a service):
        /// without it only create-before-destroy replacements that keep serving run.
        #[arg(long)]
        allow_replace: bool,
        /// Test only: stop after this many AWS write calls, as a run killed between two calls.
        #[arg(long, hide = true, value_name = "N")]
        step_limit: Option<usize>,
        /// Wait until the services this run changed are steady (all tasks running, one
        /// deployment); exit 1 if a rollout fails or the timeout passes.
        #[arg(long)]
        wait: bool,
        /// How long `--wait` waits, in seconds.
        #[arg(long, default_value_t = 600, value_name = "SECONDS")]
        timeout: u64,
        /// Start no step after this many seconds from the start (the unfinished steps are listed
        /// as skipped; the next apply does them). Each AWS call also has its own timeouts.
        #[arg(long, value_name = "SECONDS")]
        deadline: Option<u64>,
        /// Take the set's lease in this bucket prefix (s3://BUCKET/PREFIX) while applying a
        /// local folder, so no other CLI or Lambda applies the set at the same time. A set
        /// read from S3 always takes its own lease.
        #[arg(long, value_name = "s3://BUCKET/PREFIX")]
        lease: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Validate a set, then upload it to S3: changed files, then generation.json (which starts a
    /// run); nothing is written when nothing changed.
    Sync {
        /// The manifest folder.
        path: PathBuf,
        /// Where the set lives: s3://BUCKET/PREFIX.
        url: String,
        /// The git commit to record; by default `git rev-parse HEAD` of PATH.
        #[arg(long)]
        commit: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Show the set's last runs and every resource's condition, as the Lambda recorded them.
    Status {
        /// s3://BUCKET/PREFIX
        url: String,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Put an earlier generation back from the bucket's object versions (undo a bad commit
    /// without git).
    ///
    /// Its files are found by their recorded sha256, validated, and written like a sync
    /// (generation.json last, which starts a run), with the commit recorded as
    /// `<old commit> (rollback)`. Needs a versioned bucket (template.yaml's is). Nothing is written when the generation or
    /// any of its files cannot be found, when they are invalid, or when the set already has that
    /// content.
    Rollback {
        /// s3://BUCKET/PREFIX
        url: String,
        /// A git commit recorded in an earlier generation.json (full, or a prefix of at least 7
        /// characters; the newest match wins), or an S3 VersionId of PREFIX/generation.json.
        #[arg(long, value_name = "COMMIT|VERSION")]
        to: String,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Check what the account and a set need, with your own credentials: a CloudTrail trail
    /// logging write management events, the service-linked roles, and for a set the bucket's
    /// EventBridge notifications, generation.json, the lease and the last run.
    ///
    /// Each check prints OK, MISSING or SKIPPED with what to do. Exits 1 when a required check
    /// (the service-linked roles of ECS and Elastic Load Balancing, the set's generation.json) is
    /// missing or could not be made.
    Doctor {
        /// s3://BUCKET/PREFIX: also check this set.
        url: Option<String>,
        /// The function's name (the stack's FunctionName output), for the commands it prints.
        #[arg(long, value_name = "NAME")]
        function: Option<String>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Print the JSON Schema of the manifests (for yaml-language-server and other editors).
    Schema,
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The manifest folder.
    #[arg(long, default_value = "desired")]
    desired: PathBuf,
    /// The set's name, written on everything it owns (tag `ecs-reconciler:set`); defaults to the
    /// folder's name.
    #[arg(long)]
    set: Option<String>,
}

impl SetArgs {
    fn source(self) -> plan::Source {
        plan::Source { desired: self.desired, set: self.set }
    }
}

/// Run a parsed command line; the exit code is the command's verdict.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Validate { paths, output, strict } => validate::run(&paths, output, strict),
        Command::Schema => schema::run(),
        Command::Doctor { url, function, output } => {
            runtime()?.block_on(doctor::run(url.as_deref(), function.as_deref(), output))
        }
        Command::Sync { path, url, commit, output } => runtime()?.block_on(sync::sync(&path, &url, commit, output)),
        Command::Status { url, output } => runtime()?.block_on(sync::status(&url, output)),
        Command::Rollback { url, to, output } => runtime()?.block_on(sync::rollback(&url, &to, output)),
        Command::Plan { set, prune, deep, output, detailed_exitcode, verbose } => {
            let opts = crate::reconcile::RunOptions { prune, deep, ..Default::default() };
            runtime()?.block_on(plan::plan(set.source(), opts, output, detailed_exitcode, verbose))
        }
        Command::Apply { set, prune, force, allow_replace, step_limit, wait, timeout, deadline, lease, output } => {
            let deadline = deadline.map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
            let replace = if allow_replace {
                crate::reconcile::ReplacePolicy::All
            } else {
                crate::reconcile::ReplacePolicy::Safe
            };
            let opts =
                crate::reconcile::RunOptions { prune, force, replace, step_limit, deadline, ..Default::default() };
            let wait = wait.then(|| std::time::Duration::from_secs(timeout));
            runtime()?.block_on(plan::apply(set.source(), opts, wait, lease, output))
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}
