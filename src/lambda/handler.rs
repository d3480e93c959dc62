//! One invocation: route the trigger to runs of the set(s) it concerns. Each run is the same
//! level-triggered reconcile as the CLI's, plus what only the Lambda does: the set comes from S3
//! (whole generations only), a lease keeps runs of one set apart, status goes back to S3, and
//! rolled-back content backs off instead of being redeployed on every tick.
//!
//! No request is lost: a run that finds the lease held records what it was asked for in
//! `PREFIX/pending` (ECS's word on a service included) and tries the lease once more; the holder
//! runs again, before and after giving the lease back, while a new generation or a recorded
//! request is there.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tracing::{info, warn};

use super::{Config, EcsEvent, Trigger, decode};
use crate::aws::{AwsError, Clients, call_error};
use crate::manifest::Kind;
use crate::plan::TAG_SET;
use crate::reconcile::RunOptions;
use crate::reconcile::run::{self, Deep, Desired};
use crate::store::status::{self, RunRecord, ServiceEvent};
use crate::store::{self, Generation, SetLocation, lease, now_rfc3339, pending};

/// Built once per cold start, borrowed by every invocation.
pub struct Ctx {
    pub clients: Clients,
    pub config: Config,
}

use crate::reconcile::run::Scope as Target;
/// A failure worth a retry of the whole invocation (throttling, an AWS outage). Everything else
/// is recorded in the set's status and acknowledged: a retry would fail the same way.
pub use crate::reconcile::run::Transient;

/// Short, renewed by a heartbeat while the run lasts: a run that died frees its set within it.
const LEASE_TTL: Duration = lease::TTL;

/// Time kept back from the invocation's deadline for what follows the last step: writing status,
/// giving the lease back, answering.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// Runs of one set in one invocation at most: the first, and reruns for what was asked while it
/// held the lease. What is still asked for after them stays recorded for the next run.
const MAX_PASSES: usize = 3;

/// What a run is asked to do.
struct Ask {
    trigger: String,
    apply: bool,
    target: Target,
    /// ECS's word on services, written into status under the lease.
    events: Vec<ServiceEvent>,
    /// No step starts after this (the invocation's deadline less [`DEADLINE_MARGIN`]).
    deadline: Option<Instant>,
}

impl Ask {
    fn new(trigger: &str, apply: bool, target: Target) -> Ask {
        Ask {
            trigger: trigger.to_string(),
            apply,
            target,
            events: vec![],
            deadline: DEADLINE.try_with(|d| *d).ok().flatten(),
        }
    }
}

tokio::task_local! {
    /// The invocation's deadline for steps, set by [`handle_until`] for the runs it makes.
    static DEADLINE: Option<Instant>;
}

pub async fn handle(ctx: &Ctx, event: Value, request_id: &str) -> Result<Value, Transient> {
    handle_until(ctx, event, request_id, None).await
}

/// [`handle`] with the invocation's deadline (the Lambda context's, in ms since the epoch): no
/// step starts within [`DEADLINE_MARGIN`] of it; the steps left are recorded as not started.
pub async fn handle_until(
    ctx: &Ctx,
    event: Value,
    request_id: &str,
    deadline_ms: Option<u64>,
) -> Result<Value, Transient> {
    let deadline = deadline_ms.filter(|ms| *ms > 0).map(|ms| {
        let at = std::time::UNIX_EPOCH + Duration::from_millis(ms);
        let left = at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        Instant::now() + left.saturating_sub(DEADLINE_MARGIN)
    });
    DEADLINE.scope(deadline, Box::pin(route(ctx, event, request_id))).await
}

async fn route(ctx: &Ctx, event: Value, request_id: &str) -> Result<Value, Transient> {
    let trigger = decode(&event, &ctx.config);
    info!(trigger = trigger.name(), "event");
    let apply = !ctx.config.observe;
    match trigger {
        Trigger::Ignored(why) => {
            info!(why, "ignored");
            Ok(json!({"ignored": why}))
        }
        Trigger::Synced { set } => run_set(ctx, &set, Ask::new("sync", apply, Target::All), request_id).await,
        Trigger::Invoke { apply: wanted, set } => {
            let name = if wanted { "invoke-apply" } else { "invoke-plan" };
            run_set(ctx, &ctx.config.location(&set), Ask::new(name, wanted && apply, Target::All), request_id).await
        }
        Trigger::Schedule { sets } => {
            each_set(ctx, &sets, request_id, || Ask::new("schedule", apply, Target::All)).await
        }
        Trigger::Ecs(e) => ecs_event(ctx, e, request_id).await,
        Trigger::CloudTrail { event_source, event_name, principal, detail } => {
            info!(event_name, principal, "write by someone else");
            each_set(ctx, &ctx.config.sets, request_id, || {
                let target = Target::Touched { source: event_source.clone(), detail: detail.clone() };
                Ask::new("cloudtrail", apply, target)
            })
            .await
        }
    }
}

/// Run each set on its own: one set's failure does not skip the others. A transient failure of
/// any is returned after all have run (the retry runs them all again: every run is idempotent).
async fn each_set(ctx: &Ctx, sets: &[String], request_id: &str, ask: impl Fn() -> Ask) -> Result<Value, Transient> {
    let mut runs = Vec::new();
    let mut failed = Vec::new();
    for set in sets {
        let loc = ctx.config.location(set);
        match run_set(ctx, &loc, ask(), request_id).await {
            Ok(answer) => runs.push(answer),
            Err(e) => {
                warn!(set = %loc, error = %e.message, "set not reconciled; the others go on");
                failed.push(format!("{loc}: {}", e.message));
            }
        }
    }
    if failed.is_empty() { Ok(json!({"runs": runs})) } else { Err(Transient::new(failed.join("; "))) }
}

/// The set that owns a service, from its `ecs-reconciler:set` tag.
async fn owning_set(ctx: &Ctx, e: &EcsEvent) -> Result<Option<String>, Transient> {
    let out = ctx
        .clients
        .ecs
        .describe_services()
        .cluster(&e.cluster_arn)
        .services(&e.service)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .map_err(call_error("DescribeServices", format!("Service/{}", e.service)))
        .map_err(Transient::from)?;
    Ok(out
        .services()
        .iter()
        .flat_map(|s| s.tags())
        .find(|t| t.key() == Some(TAG_SET))
        .and_then(|t| t.value().map(str::to_string)))
}

/// A targeted reconcile of the service; what ECS said about it goes into status under the lease.
async fn ecs_event(ctx: &Ctx, e: EcsEvent, request_id: &str) -> Result<Value, Transient> {
    let Some(prefix) = owning_set(ctx, &e).await? else {
        return Ok(json!({"ignored": format!("service {} is not managed by a set", e.service)}));
    };
    let only = BTreeSet::from([(Kind::Service, e.service.clone())]);
    let mut ask = Ask::new("ecs-event", !ctx.config.observe, Target::Only(only));
    ask.events.extend(e.service_event());
    run_set(ctx, &ctx.config.location(&prefix), ask, request_id).await
}

fn transient(e: AwsError) -> Transient {
    Transient::from(e)
}

/// One set: take the lease, run, and run again while anything was asked for meanwhile (a new
/// `generation.json`, or a request another run recorded in `PREFIX/pending` because this one
/// held the lease). Every run that writes the set's status holds the lease, so ECS's word on a
/// service and a failure hold are never overwritten by a concurrent run.
async fn run_set(ctx: &Ctx, loc: &SetLocation, mut ask: Ask, request_id: &str) -> Result<Value, Transient> {
    let clients = &ctx.clients;
    let mut passes: Vec<(Value, Option<Generation>)> = Vec::new();
    loop {
        let lease = match lease::acquire(clients, loc, request_id, LEASE_TTL).await.map_err(transient)? {
            Ok(l) => l,
            Err(lease::Held(held)) if passes.is_empty() => match defer(ctx, loc, &mut ask, request_id, held).await? {
                Ok(l) => l,
                Err(deferred) => return Ok(deferred),
            },
            // Asked for again after this invocation's runs, and another run has the lease: that
            // run checks after its own.
            Err(lease::Held(_)) => break,
        };
        let held = hold_and_run(ctx, loc, &mut ask, &mut passes).await;
        if let Err(e) = lease::release(clients, lease).await {
            warn!(set = %loc, error = %e, "lease not released; it expires by itself");
        }
        held?;
        // A request that landed between the last check and the release.
        let applied = passes.last().and_then(|(_, g)| g.clone());
        if passes.len() >= MAX_PASSES || !asked_again(clients, loc, applied.as_ref()).await {
            break;
        }
        ask = Ask::new("rerun", ask.apply, Target::All);
    }
    if passes.len() >= MAX_PASSES && pending::peek(clients, loc).await.is_ok_and(|p| !p.is_empty()) {
        warn!(set = %loc, "still asked for after {MAX_PASSES} runs; left recorded for the next run");
    }
    let (mut answer, _) = passes.pop().unwrap_or_else(|| (json!({"set": loc.prefix}), None));
    if !passes.is_empty() {
        answer["earlier"] = passes.into_iter().map(|(p, _)| p["run"].clone()).collect();
    }
    Ok(answer)
}

/// Another run holds the lease: record the request for it, then try the lease once more (the
/// holder may have given it back before the request landed). `Ok(Err(answer))`: deferred.
async fn defer(
    ctx: &Ctx,
    loc: &SetLocation,
    ask: &mut Ask,
    request_id: &str,
    held: lease::LeaseBody,
) -> Result<Result<lease::Lease, Value>, Transient> {
    let clients = &ctx.clients;
    info!(set = %loc, holder = held.owner, "another run holds the lease; recording the request for it");
    let request = pending::Request {
        trigger: ask.trigger.clone(),
        request_id: request_id.to_string(),
        requested_at: now_rfc3339(),
        generation: current_generation(clients, loc).await.map(|g| g.commit).unwrap_or_default(),
        holder: held.owner.clone(),
        // Recorded: whoever runs next writes them, this invocation included.
        events: std::mem::take(&mut ask.events),
    };
    pending::add(clients, loc, request).await.map_err(transient)?;
    Ok(match lease::acquire(clients, loc, request_id, LEASE_TTL).await.map_err(transient)? {
        Ok(l) => Ok(l),
        Err(lease::Held(held)) => Err(json!({
            "set": loc.prefix,
            "deferred": {
                "holder": held.owner,
                "until": status::epoch_rfc3339(held.expires_at),
                "recordedIn": loc.key("pending"),
            },
        })),
    })
}

/// Under the lease: run, and run again while a new generation or a recorded request is there.
async fn hold_and_run(
    ctx: &Ctx,
    loc: &SetLocation,
    ask: &mut Ask,
    passes: &mut Vec<(Value, Option<Generation>)>,
) -> Result<(), Transient> {
    let clients = &ctx.clients;
    loop {
        let taken = pending::take(clients, loc).await.map_err(transient)?;
        if !taken.is_empty() {
            info!(set = %loc, requests = taken.requests.len(), "also running for requests recorded while the lease was held");
            ask.target = Target::All;
            ask.events.extend(taken.events().cloned());
        }
        let pass = run_once(ctx, loc, ask).await?;
        let applied = pass.1.clone();
        passes.push(pass);
        if passes.len() >= MAX_PASSES || !asked_again(clients, loc, applied.as_ref()).await {
            return Ok(());
        }
        *ask = Ask::new("rerun", ask.apply, Target::All);
    }
}

/// `generation.json` as it is now (`None`: absent or unreadable).
async fn current_generation(clients: &Clients, loc: &SetLocation) -> Option<Generation> {
    let (bytes, _) = store::get(clients, &loc.bucket, &loc.key("generation.json")).await.ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// Whether the set was asked for again since `applied` was read: a new generation, or a request
/// recorded in `PREFIX/pending`. When that cannot be read: no (the next event or tick comes).
async fn asked_again(clients: &Clients, loc: &SetLocation, applied: Option<&Generation>) -> bool {
    let recorded = pending::peek(clients, loc).await.is_ok_and(|p| !p.is_empty());
    recorded || current_generation(clients, loc).await.as_ref() != applied
}

/// One run of one set, under its lease (`reconcile::run`, as the CLI's `apply`): the run's
/// record and detail (errors that a retry cannot fix are in it) and the generation it read.
async fn run_once(ctx: &Ctx, loc: &SetLocation, ask: &Ask) -> Result<(Value, Option<Generation>), Transient> {
    // Every Nth scheduled tick, and a write by someone else to a task definition or to ECS tags,
    // read every task definition (what a service's binding tag cannot prove).
    let deep = match &ask.target {
        _ if ask.trigger == "schedule" => Deep::EveryNthTick(Config::deep_every()),
        Target::Touched { source, detail } => {
            let name = detail.get("eventName").and_then(Value::as_str).unwrap_or_default();
            if source.starts_with("ecs")
                && (name.contains("TaskDefinition") || matches!(name, "TagResource" | "UntagResource"))
            {
                Deep::Yes
            } else {
                Deep::No
            }
        }
        _ => Deep::No,
    };
    let request = run::Request {
        trigger: ask.trigger.clone(),
        apply: ask.apply,
        scope: ask.target.clone(),
        deep,
        events: ask.events.clone(),
        opts: RunOptions {
            prune: ctx.config.prune,
            replace: ctx.config.replace,
            deadline: ask.deadline,
            ..Default::default()
        },
    };
    let report = run::run(&ctx.clients, Some(loc), Desired::Stored, request, &mut |_| {}).await?;
    let generation = match report.generation {
        Some(g) => Some(g),
        None => current_generation(&ctx.clients, loc).await,
    };
    let mut out = json!({"set": loc.prefix, "run": report.record});
    if let Some(plan) = report.plan {
        out["detail"] = json!({"plan": plan, "results": report.results});
    }
    Ok((out, generation))
}

/// The runs an answer reports: one for most events, several for a schedule.
pub fn runs_in(answer: &Value) -> Vec<(String, RunRecord)> {
    let one =
        |a: &Value| Some((a.get("set")?.as_str()?.to_string(), serde_json::from_value(a.get("run")?.clone()).ok()?));
    match answer.get("runs").and_then(Value::as_array) {
        Some(runs) => runs.iter().filter_map(one).collect(),
        None => one(answer).into_iter().collect(),
    }
}

/// One CloudWatch embedded-metric-format line: CloudWatch turns it into metrics by itself.
pub fn metrics_line(set: &str, r: &RunRecord) -> String {
    json!({
        "_aws": {
            "Timestamp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
            "CloudWatchMetrics": [{
                "Namespace": "ecs-reconciler",
                "Dimensions": [["Set"]],
                "Metrics": [
                    {"Name": "Changes", "Unit": "Count"},
                    {"Name": "Drift", "Unit": "Count"},
                    {"Name": "Errors", "Unit": "Count"},
                    {"Name": "AwsCalls", "Unit": "Count"},
                    {"Name": "Duration", "Unit": "Milliseconds"}
                ]
            }]
        },
        "Set": set,
        "Trigger": r.trigger,
        "Changes": r.changes,
        "Drift": r.drift,
        "Errors": r.errors.len(),
        "AwsCalls": r.aws_calls_total,
        "Duration": r.duration_ms as u64,
    })
    .to_string()
}
