//! One invocation: route the trigger to runs of the set(s) it concerns. Each run is the same
//! level-triggered reconcile as the CLI's, plus what only the Lambda does: the set comes from S3
//! (whole generations only), a lease keeps runs of one set apart, status goes back to S3, and
//! rolled-back content backs off instead of being redeployed on every tick.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tracing::{info, warn};

use super::{Config, EcsEvent, Trigger, decode};
use crate::aws::{Clients, call_error};
use crate::manifest::{Kind, Spec};
use crate::plan::{Observed, Op, TAG_SET, task_definition_hash};
use crate::reconcile::{self, Outcome, RunOptions};
use crate::store::status::{self, Condition, Hold, RunRecord};
use crate::store::{self, SetLocation, lease, now_epoch, now_rfc3339};

/// Built once per cold start, borrowed by every invocation.
pub struct Ctx {
    pub clients: Clients,
    pub config: Config,
}

/// A failure worth a retry of the whole invocation (throttling, an AWS outage). Everything else
/// is recorded in the set's status and acknowledged: a retry would fail the same way.
#[derive(Debug, thiserror::Error)]
#[error("transient failure, worth a retry: {0}")]
pub struct Transient(pub String);

/// What a run applies to.
enum Target {
    All,
    /// Only these resources (an ECS event names a service).
    Only(BTreeSet<(Kind, String)>),
    /// Only the resources a CloudTrail event's text names (by ARN or ID, or a service by name).
    Touched {
        source: String,
        detail: Value,
    },
}

/// The lease outlives the Lambda's 15-minute limit, so a run that died frees its set after it.
const LEASE_TTL: Duration = Duration::from_secs(15 * 60);

pub async fn handle(ctx: &Ctx, event: Value, request_id: &str) -> Result<Value, Transient> {
    let trigger = decode(&event, &ctx.config);
    info!(trigger = trigger.name(), "event");
    match trigger {
        Trigger::Ignored(why) => {
            info!(why, "ignored");
            Ok(json!({"ignored": why}))
        }
        Trigger::Synced { set } => run_set(ctx, &set, "sync", !ctx.config.observe, Target::All, request_id).await,
        Trigger::Invoke { apply, set } => {
            let name = if apply { "invoke-apply" } else { "invoke-plan" };
            run_set(ctx, &ctx.config.location(&set), name, apply && !ctx.config.observe, Target::All, request_id).await
        }
        Trigger::Schedule => {
            let mut runs = Vec::new();
            for set in &ctx.config.sets {
                runs.push(
                    run_set(ctx, &ctx.config.location(set), "schedule", !ctx.config.observe, Target::All, request_id)
                        .await?,
                );
            }
            Ok(json!({"runs": runs}))
        }
        Trigger::Ecs(e) => ecs_event(ctx, e, request_id).await,
        Trigger::CloudTrail { event_source, event_name, principal, detail } => {
            info!(event_name, principal, "write by someone else");
            let mut runs = Vec::new();
            for set in &ctx.config.sets {
                let target = Target::Touched { source: event_source.clone(), detail: detail.clone() };
                runs.push(
                    run_set(ctx, &ctx.config.location(set), "cloudtrail", !ctx.config.observe, target, request_id)
                        .await?,
                );
            }
            Ok(json!({"runs": runs}))
        }
    }
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
        .map_err(|err| Transient(err.to_string()))?;
    Ok(out
        .services()
        .iter()
        .flat_map(|s| s.tags())
        .find(|t| t.key() == Some(TAG_SET))
        .and_then(|t| t.value().map(str::to_string)))
}

async fn ecs_event(ctx: &Ctx, e: EcsEvent, request_id: &str) -> Result<Value, Transient> {
    let Some(prefix) = owning_set(ctx, &e).await? else {
        return Ok(json!({"ignored": format!("service {} is not managed by a set", e.service)}));
    };
    let loc = ctx.config.location(&prefix);
    if e.deployment_failed() || e.deployment_completed() || e.detail_type == "ECS Service Action" {
        record_ecs_status(ctx, &loc, &e).await?;
    }
    let only = BTreeSet::from([(Kind::Service, e.service.clone())]);
    run_set(ctx, &loc, "ecs-event", !ctx.config.observe, Target::Only(only), request_id).await
}

/// A failed deployment marks the service Degraded and puts its content on hold; a completed
/// one (without a hold) marks it Synced.
async fn record_ecs_status(ctx: &Ctx, loc: &SetLocation, e: &EcsEvent) -> Result<(), Transient> {
    let clients = &ctx.clients;
    let mut summary = status::read(clients, loc).await.map_err(|err| Transient(err.to_string()))?;
    let key = format!("Service/{}", e.service);
    let generation = summary.resources.get(&key).map(|r| r.generation.clone()).unwrap_or_default();
    if e.deployment_failed() {
        let hash = match store::load(clients, loc).await {
            Ok((_, set)) => set
                .get(Kind::Service, &e.service)
                .and_then(|r| {
                    if let Spec::Service(s) = &r.spec {
                        set.get(Kind::TaskDefinition, &s.task_definition)
                    } else {
                        None
                    }
                })
                .map(task_definition_hash),
            Err(err) => {
                warn!(error = %err, "cannot read the set to put the failed content on hold");
                None
            }
        };
        summary.set(Kind::Service, &e.service, Condition::Degraded, "DeploymentFailed", e.reason.clone(), &generation);
        if let (Some(hash), Some(r)) = (hash, summary.resources.get_mut(&key)) {
            r.hold = Some(Hold::after_failure(&hash, r.hold.as_ref(), now_epoch()));
        }
    } else {
        let held = summary.hold(Kind::Service, &e.service).is_some_and(|h| h.until > now_epoch());
        if held {
            return Ok(());
        }
        let (condition, reason) = if e.deployment_completed() {
            (Condition::Synced, "SteadyState")
        } else {
            (Condition::Degraded, e.event_name.as_str())
        };
        summary.set(Kind::Service, &e.service, condition, reason, e.reason.clone(), &generation);
    }
    status::write(clients, loc, &summary).await.map_err(|err| Transient(err.to_string()))
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

/// One run of one set. Returns the run's summary; errors that a retry cannot fix are in it.
async fn run_set(
    ctx: &Ctx,
    loc: &SetLocation,
    trigger: &str,
    apply: bool,
    target: Target,
    request_id: &str,
) -> Result<Value, Transient> {
    let clients = &ctx.clients;
    let started = Instant::now();
    let started_at = now_rfc3339();
    let calls_before = clients.calls.snapshot();
    let mode = if apply { "apply" } else { "observe" };
    let mut summary = status::read(clients, loc).await.map_err(|e| Transient(e.to_string()))?;
    let mut record = RunRecord {
        trigger: trigger.to_string(),
        generation: String::new(),
        mode: mode.to_string(),
        started_at,
        finished_at: String::new(),
        drift: 0,
        changes: 0,
        errors: vec![],
        aws_calls: BTreeMap::new(),
        aws_calls_total: 0,
        duration_ms: 0,
    };

    let (generation, set) = match store::load(clients, loc).await {
        Ok(x) => x,
        Err(e) => {
            warn!(set = %loc, error = %e, "set not read; nothing applied");
            record.errors.push(e.to_string());
            return finish(ctx, loc, summary, record, started, &calls_before, None).await;
        }
    };
    record.generation = generation.commit.clone();
    if !set.is_valid() {
        record.errors.extend(set.errors().map(ToString::to_string));
        return finish(ctx, loc, summary, record, started, &calls_before, None).await;
    }

    let lease = if apply {
        match lease::acquire(clients, loc, request_id, LEASE_TTL).await {
            Ok(Ok(l)) => Some(l),
            Ok(Err(lease::Held(held))) => {
                info!(set = %loc, holder = held.owner, "another run holds the lease");
                return Ok(
                    json!({"set": loc.prefix, "skipped": format!("another run ({}) holds the lease until {}", held.owner, status::epoch_rfc3339(held.expires_at))}),
                );
            }
            Err(e) => return Err(Transient(e.to_string())),
        }
    } else {
        None
    };

    let holds = summary
        .resources
        .values()
        .filter(|r| r.kind == Kind::Service)
        .filter_map(|r| r.hold.clone().map(|h| (r.name.clone(), h)))
        .collect();
    let mut opts = RunOptions { prune: ctx.config.prune, holds, ..Default::default() };
    let outcome = async {
        let (observed, plan) = reconcile::plan_set(clients, loc.name(), &set, &opts).await?;
        opts.only = match &target {
            Target::All => None,
            Target::Only(only) => Some(only.clone()),
            Target::Touched { source, detail } => Some(touched(&observed, source, detail)),
        };
        let results = if apply { reconcile::apply(clients, &set, &observed, &plan, &opts).await? } else { vec![] };
        Ok::<_, reconcile::RunError>((plan, results))
    }
    .await;
    let result = match outcome {
        Ok((mut plan, results)) => {
            if let Some(only) = &opts.only {
                plan.steps.retain(|s| only.contains(&(s.kind, s.name.clone())));
            }
            record.drift = plan.steps.iter().filter(|s| s.op != Op::NoOp).count();
            record.changes = results.iter().filter(|r| r.outcome == Outcome::Applied).count();
            record.errors.extend(
                results
                    .iter()
                    .filter(|r| r.outcome != Outcome::Applied)
                    .map(|r| format!("{}/{}: {}", r.kind, r.name, r.message.as_deref().unwrap_or("not applied"))),
            );
            summary.apply_run(&plan, &results, !apply, &generation.commit);
            Some(json!({"plan": plan, "results": results}))
        }
        Err(e) if e.is_transient() => {
            if let Some(l) = lease {
                let _ = lease::release(clients, l).await;
            }
            return Err(Transient(e.to_string()));
        }
        Err(e) => {
            record.errors.push(e.to_string());
            None
        }
    };
    let out = finish(ctx, loc, summary, record, started, &calls_before, result).await;
    if let Some(l) = lease {
        if let Err(e) = lease::release(clients, l).await {
            warn!(set = %loc, error = %e, "lease not released; it expires by itself");
        }
    }
    out
}

/// Record the run in the set's status, print the run's metrics line, and answer.
async fn finish(
    ctx: &Ctx,
    loc: &SetLocation,
    mut summary: status::Summary,
    mut record: RunRecord,
    started: Instant,
    calls_before: &BTreeMap<String, u64>,
    detail: Option<Value>,
) -> Result<Value, Transient> {
    record.finished_at = now_rfc3339();
    record.duration_ms = started.elapsed().as_millis();
    // The run's AWS calls, up to (not including) writing its own status.
    record.aws_calls = ctx.clients.calls.since(calls_before);
    record.aws_calls_total = record.aws_calls.values().sum();
    summary.record(record.clone());
    if let Err(e) = status::write(&ctx.clients, loc, &summary).await {
        warn!(set = %loc, error = %e, "status not written");
    }
    info!(set = %loc, changes = record.changes, drift = record.drift, errors = record.errors.len(), "run finished");
    let mut out = json!({"set": loc.prefix, "run": record});
    if let Some(d) = detail {
        out["detail"] = d;
    }
    Ok(out)
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
