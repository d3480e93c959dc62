//! One run's lifecycle, the same for the Lambda and the CLI's `apply`: with the set's store
//! given (its S3 location), read its status (ECS's word on services, failure holds, the tick
//! count), plan, apply, and record the run in the status again. The caller holds the set's lease
//! ([`crate::store::lease`]) for the whole run: every run that writes a status holds it, so a
//! concurrent run never overwrites a hold or ECS's word on a service.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::Value;
use tracing::{info, warn};

use super::{Outcome, RunError, RunOptions, StepResult};
use crate::aws::{AwsError, Clients};
use crate::manifest::{Kind, ManifestSet, Spec};
use crate::plan::{Observed, Op, Plan, task_definition_hash};
use crate::store::status::{self, RunRecord, ServiceEvent};
use crate::store::{self, Generation, SetLocation, now_epoch, now_rfc3339};

/// A failure worth retrying the whole run as it is (throttling, an AWS outage, a set still being
/// uploaded). Everything else is permanent: it is recorded in the run and acknowledged, because a
/// retry would fail the same way until something changes.
#[derive(Debug, thiserror::Error)]
#[error("transient failure, worth a retry: {message}")]
pub struct Transient {
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Transient {
    pub fn new(message: impl Into<String>) -> Self {
        Transient { message: message.into(), source: None }
    }
}

impl From<AwsError> for Transient {
    fn from(e: AwsError) -> Self {
        Transient { message: e.to_string(), source: Some(Box::new(e)) }
    }
}

/// Where the manifests come from.
pub enum Desired {
    /// The generation synced to the store (the Lambda; the CLI with `--desired s3://...`).
    Stored,
    /// Given: a local folder the CLI read, named `name`.
    Given { name: String, set: ManifestSet },
}

/// What a run applies to.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    /// Only these resources (an ECS event names a service).
    Only(BTreeSet<(Kind, String)>),
    /// Only the resources a CloudTrail event's text names (by ARN or ID, or a service by name).
    Touched {
        source: String,
        detail: Value,
    },
}

/// When every task definition is read, beyond what the services' binding tags prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deep {
    No,
    Yes,
    /// A scheduled tick: every Nth of them, counted in the status.
    EveryNthTick(u64),
}

/// What a run is asked to do.
pub struct Request {
    /// Why it runs (`sync`, `schedule`, `cli`, ...), recorded in the status.
    pub trigger: String,
    /// Apply, or only plan (and record drift).
    pub apply: bool,
    pub scope: Scope,
    pub deep: Deep,
    /// ECS's word on services, written into the status before planning (a failed deployment's
    /// hold applies to this very run).
    pub events: Vec<ServiceEvent>,
    /// prune, force, allow_replace, deadline; the holds come from the status.
    pub opts: RunOptions,
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    pub record: RunRecord,
    /// The plan (restricted to the run's scope) and the steps' results, when it got that far.
    pub plan: Option<Plan>,
    pub results: Vec<StepResult>,
    /// The generation the run read from the store.
    pub generation: Option<Generation>,
    /// The manifests it ran for, when they could be read.
    pub set: Option<ManifestSet>,
}

/// Run once: `show` sees the plan before anything is applied (the CLI prints it). With `store`,
/// its status is read first and written last; a status that cannot be read as one is an error
/// that ends the run before anything is applied (its holds are unknown), never taken as empty.
pub async fn run(
    clients: &Clients,
    store: Option<&SetLocation>,
    desired: Desired,
    req: Request,
    show: &mut (dyn FnMut(&Plan) + Send),
) -> Result<Report, Transient> {
    let started = Instant::now();
    let calls_before = clients.calls.snapshot();
    let mut record = RunRecord {
        trigger: req.trigger.clone(),
        generation: String::new(),
        mode: if req.apply { "apply" } else { "observe" }.to_string(),
        started_at: now_rfc3339(),
        finished_at: String::new(),
        drift: 0,
        changes: 0,
        errors: vec![],
        aws_calls: BTreeMap::new(),
        aws_calls_total: 0,
        duration_ms: 0,
    };
    let mut report = Report { record: record.clone(), plan: None, results: vec![], generation: None, set: None };
    let mut summary = match store {
        None => None,
        Some(loc) => match status::read(clients, loc).await {
            Ok(s) => Some(s),
            Err(e) if e.is_transient() => return Err(Transient { message: e.to_string(), source: Some(Box::new(e)) }),
            Err(e) => {
                warn!(set = %loc, error = %e, "status unreadable; nothing applied, nothing recorded");
                record.errors.push(e.to_string());
                report.record = close(record, clients, &calls_before, started);
                return Ok(report);
            }
        },
    };

    let (set_name, set) = match desired {
        Desired::Given { name, set } => {
            record.generation = "local".into();
            (name, set)
        }
        Desired::Stored => {
            let loc = store.expect("a stored set has a store");
            match store::load(clients, loc).await {
                Ok((generation, set)) => {
                    record.generation = generation.commit.clone();
                    report.generation = Some(generation);
                    (loc.name().to_string(), set)
                }
                Err(e) => {
                    warn!(set = %loc, error = %e, "set not read; nothing applied");
                    if let Some(s) = summary.as_mut() {
                        for ev in &req.events {
                            s.apply_service_event(ev, None, now_epoch());
                        }
                    }
                    record.errors.push(e.to_string());
                    return finish(clients, store, summary, record, report, &calls_before, started).await;
                }
            }
        }
    };
    if let Some(s) = summary.as_mut() {
        for ev in &req.events {
            s.apply_service_event(ev, deployed_content(&set, &ev.service).as_deref(), now_epoch());
        }
    }
    if !set.is_valid() {
        record.errors.extend(set.errors().map(ToString::to_string));
        report.set = Some(set);
        return finish(clients, store, summary, record, report, &calls_before, started).await;
    }

    let mut opts = req.opts;
    if let Some(s) = summary.as_mut() {
        opts.holds = s
            .resources
            .values()
            .filter(|r| r.kind == Kind::Service)
            .filter_map(|r| r.hold.clone().map(|h| (r.name.clone(), h)))
            .collect();
    }
    opts.deep |= match req.deep {
        Deep::No => false,
        Deep::Yes => true,
        Deep::EveryNthTick(n) => summary.as_mut().is_some_and(|s| {
            s.scheduled_ticks += 1;
            crate::lambda::is_deep_tick(s.scheduled_ticks, n)
        }),
    };
    let outcome = async {
        let (observed, mut plan) = super::plan_set(clients, &set_name, &set, &opts).await?;
        opts.only = match &req.scope {
            Scope::All => None,
            Scope::Only(only) => Some(only.clone()),
            Scope::Touched { source, detail } => Some(touched(&observed, source, detail)),
        };
        show(&plan);
        let results = if req.apply { super::apply(clients, &set, &observed, &plan, &opts).await? } else { vec![] };
        // Applied with the whole plan (the prune guard weighs all of it); reported in scope.
        if let Some(only) = &opts.only {
            plan.steps.retain(|s| only.contains(&(s.kind, s.name.clone())));
        }
        Ok::<_, RunError>((plan, results))
    }
    .await;
    match outcome {
        Ok((plan, results)) => {
            record.drift = plan.steps.iter().filter(|s| !matches!(s.op, Op::NoOp | Op::Unknown)).count();
            record.changes = results.iter().filter(|r| r.outcome == Outcome::Applied).count();
            record.errors.extend(
                results
                    .iter()
                    .filter(|r| r.outcome != Outcome::Applied)
                    .map(|r| format!("{}/{}: {}", r.kind, r.name, r.message.as_deref().unwrap_or("not applied"))),
            );
            if let Some(s) = summary.as_mut() {
                s.apply_run(&plan, &results, !req.apply, &record.generation);
            }
            report.plan = Some(plan);
            report.results = results;
        }
        Err(e) => record.errors.push(e.to_string()),
    }
    report.set = Some(set);
    finish(clients, store, summary, record, report, &calls_before, started).await
}

fn close(
    mut record: RunRecord,
    clients: &Clients,
    calls_before: &BTreeMap<String, u64>,
    started: Instant,
) -> RunRecord {
    record.finished_at = now_rfc3339();
    record.duration_ms = started.elapsed().as_millis();
    // The run's AWS calls, up to (not including) writing its own status.
    record.aws_calls = clients.calls.since(calls_before);
    record.aws_calls_total = record.aws_calls.values().sum();
    record
}

/// Record the run in the status (when there is a store) and report.
async fn finish(
    clients: &Clients,
    store: Option<&SetLocation>,
    summary: Option<status::Summary>,
    record: RunRecord,
    mut report: Report,
    calls_before: &BTreeMap<String, u64>,
    started: Instant,
) -> Result<Report, Transient> {
    let record = close(record, clients, calls_before, started);
    if let (Some(loc), Some(mut summary)) = (store, summary) {
        summary.record(record.clone());
        if let Err(e) = status::write(clients, loc, &summary).await {
            warn!(set = %loc, error = %e, "status not written");
        }
    }
    info!(changes = record.changes, drift = record.drift, errors = record.errors.len(), "run finished");
    report.record = record;
    Ok(report)
}

/// The hash of the task definition the set deploys to `service`: what a failed deployment of it
/// puts on hold.
fn deployed_content(set: &ManifestSet, service: &str) -> Option<String> {
    let r = set.get(Kind::Service, service)?;
    let Spec::Service(s) = &r.spec else { return None };
    set.get(Kind::TaskDefinition, &s.task_definition).map(task_definition_hash)
}

/// The resources whose live ARN or ID a CloudTrail event mentions (and, for ECS, a service named
/// in its request).
fn touched(observed: &Observed, source: &str, detail: &Value) -> BTreeSet<(Kind, String)> {
    let text = detail.to_string();
    let service = detail.pointer("/requestParameters/service").and_then(Value::as_str);
    observed
        .live
        .values()
        .filter(|l| {
            // An ELBv2 listener or rule ARN embeds its load balancer's id: `app/web/50dc6c...`.
            let suffix = l.id.split_once('/').map(|(_, s)| s).filter(|s| s.contains('/'));
            text.contains(&l.id)
                || suffix.is_some_and(|s| text.contains(s))
                || l.parts.values().any(|p| text.contains(p))
                || (source.starts_with("ecs")
                    && l.kind == Kind::Service
                    && service.is_some_and(|s| s == l.name || s == l.id))
        })
        .map(|l| (l.kind, l.name.clone()))
        .collect()
}
