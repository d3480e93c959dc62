//! One reconcile run: load → validate → observe → plan → apply → summary. Level-triggered: it
//! reads the whole desired set and the live state every time and never asks why it was called.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use tracing::{Instrument, info, info_span, warn};

use crate::aws::{self, AwsError, Clients, Ids};
use crate::manifest::{Kind, ManifestSet, Resource};
use crate::plan::{self, Live, Observed, Op, Plan, PlanOptions, Step};

/// How many independent steps run at once within a phase.
const CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Delete owned resources whose manifests left the set.
    pub prune: bool,
    /// Allow a prune that deletes every resource the set owns (an empty or truncated set).
    pub force: bool,
    /// Allow replacements that take a running service down.
    pub allow_replace: bool,
    /// Services whose rolled-back content is backing off: service name → hold. A step that
    /// would deploy the held content again before the hold ends is skipped.
    pub holds: BTreeMap<String, crate::store::status::Hold>,
    /// Apply only the steps of these resources (a targeted repair); `None`: all.
    pub only: Option<std::collections::BTreeSet<(Kind, String)>>,
}

/// Why a run could not even plan.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the manifest set is invalid ({0} error(s)); nothing was applied")]
    Invalid(usize),
    #[error("observing live state failed: {0}")]
    Observe(#[source] AwsError),
    #[error(
        "refusing to prune: the plan deletes all {0} resource(s) the set owns and keeps none (an empty or truncated set?); \
         run with --force if that is what you want"
    )]
    PruneEverything(usize),
}

impl RunError {
    /// A transient failure is worth retrying as is; a permanent one waits for a change.
    pub fn is_transient(&self) -> bool {
        matches!(self, RunError::Observe(e) if e.is_transient())
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    pub kind: Kind,
    pub name: String,
    pub op: Op,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Applied,
    Failed,
    /// Not attempted: refused (ownership) or a replacement without `--allow-replace`.
    Skipped,
}

/// Read live state for everything the set names (and, with prune, everything it owns).
pub async fn observe(clients: &Clients, set: &str, desired: &ManifestSet, prune: bool) -> Result<Observed, AwsError> {
    let hashes: BTreeMap<String, String> =
        desired.of_kind(Kind::TaskDefinition).map(|r| (r.name().to_string(), plan::task_definition_hash(r))).collect();
    let (mut ec2, mut elbv2, mut ecs) = (Observed::default(), Observed::default(), Observed::default());
    // The three services are independent: observe them at once.
    tokio::try_join!(
        aws::ec2::observe(clients, set, desired, prune, &mut ec2),
        aws::elbv2::observe(clients, set, desired, prune, &mut elbv2),
        aws::ecs::observe(clients, set, desired, &hashes, prune, &mut ecs),
    )?;
    let mut observed = ec2;
    for other in [elbv2, ecs] {
        observed.live.extend(other.live);
        observed.orphans.extend(other.orphans);
        observed.task_definition_matches.extend(other.task_definition_matches);
    }
    Ok(observed)
}

/// Validate, observe and plan.
pub async fn plan_set(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    opts: &RunOptions,
) -> Result<(Observed, Plan), RunError> {
    if !desired.is_valid() {
        return Err(RunError::Invalid(desired.errors().count()));
    }
    let observed = observe(clients, set, desired, opts.prune)
        .instrument(info_span!("observe", set))
        .await
        .map_err(RunError::Observe)?;
    let plan = plan::plan(set, desired, &observed, &PlanOptions { prune: opts.prune });
    Ok((observed, plan))
}

/// Execute a plan, phase by phase in dependency order; within a phase, independent steps run
/// concurrently and one step's failure does not stop the others.
pub async fn apply(
    clients: &Clients,
    desired: &ManifestSet,
    observed: &Observed,
    plan: &Plan,
    opts: &RunOptions,
) -> Result<Vec<StepResult>, RunError> {
    let deletes = plan.count(Op::Delete);
    let kept = plan.steps.iter().filter(|s| s.op != Op::Delete && s.op != Op::Create).count();
    if opts.prune && deletes > 0 && kept == 0 && !opts.force {
        return Err(RunError::PruneEverything(deletes));
    }
    let set = plan.set.as_str();
    let ids = Ids::from_observed(observed);
    // Services run the revision the plan settled on: a reused one, or the one registered below.
    for (family, arn) in &observed.task_definition_matches {
        ids.set(Kind::TaskDefinition, family, arn);
    }
    let mut results = Vec::new();
    let ctx = StepCtx { clients, set, desired, observed, ids: &ids, opts };

    let wanted = |s: &&Step| opts.only.as_ref().is_none_or(|only| only.contains(&(s.kind, s.name.clone())));
    for kind in Kind::ALL {
        let steps: Vec<&Step> =
            plan.steps.iter().filter(|s| s.kind == kind && s.op != Op::Delete).filter(wanted).collect();
        if kind == Kind::SecurityGroup {
            // Groups may reference each other: create them all before any rule.
            let created = run_phase(&steps, |s| ctx.create_group(s)).await;
            let ok: Vec<&Step> = steps
                .iter()
                .copied()
                .filter(|s| {
                    !created.iter().any(|r| r.name == s.name && r.outcome != Outcome::Applied && r.op != Op::NoOp)
                })
                .collect();
            let rules = run_phase(&ok, |s| ctx.group_rules(s)).await;
            results.extend(merge(created, rules));
        } else {
            results.extend(run_phase(&steps, |s| ctx.step(s)).await);
        }
    }
    let deletes: Vec<&Step> = plan.steps.iter().filter(|s| s.op == Op::Delete).filter(wanted).collect();
    for kind in Kind::ALL.into_iter().rev() {
        let phase: Vec<&Step> = deletes.iter().copied().filter(|s| s.kind == kind).collect();
        results.extend(run_phase(&phase, |s| ctx.delete(s)).await);
    }
    results.retain(|r| r.op != Op::NoOp);
    Ok(results)
}

/// Security groups report one result per group though they run in two phases.
fn merge(first: Vec<StepResult>, second: Vec<StepResult>) -> Vec<StepResult> {
    let mut out: Vec<StepResult> = first.into_iter().filter(|r| r.outcome != Outcome::Applied).collect();
    for r in second {
        if !out.iter().any(|o| o.name == r.name) {
            out.push(r);
        }
    }
    out
}

async fn run_phase<'a, F, Fut>(steps: &[&'a Step], f: F) -> Vec<StepResult>
where
    F: Fn(&'a Step) -> Fut,
    Fut: std::future::Future<Output = (Outcome, Option<String>)>,
{
    futures::stream::iter(steps.iter().copied())
        .map(|s| {
            let fut = f(s);
            async move {
                let (outcome, message) =
                    fut.instrument(info_span!("step", resource = %s.id(), op = s.op.as_str())).await;
                match outcome {
                    Outcome::Failed => {
                        warn!(resource = %s.id(), message = message.as_deref().unwrap_or(""), "step failed")
                    }
                    Outcome::Applied => info!(resource = %s.id(), op = s.op.as_str(), "applied"),
                    Outcome::Skipped => {}
                }
                StepResult { kind: s.kind, name: s.name.clone(), op: s.op, outcome, message }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

struct StepCtx<'a> {
    clients: &'a Clients,
    set: &'a str,
    desired: &'a ManifestSet,
    observed: &'a Observed,
    ids: &'a Ids,
    opts: &'a RunOptions,
}

fn done(r: Result<(), AwsError>) -> (Outcome, Option<String>) {
    match r {
        Ok(()) => (Outcome::Applied, None),
        Err(e) => (
            Outcome::Failed,
            Some(format!("{e}{}", if e.is_transient() { " (transient: retried by the next run)" } else { "" })),
        ),
    }
}

impl StepCtx<'_> {
    fn resource(&self, s: &Step) -> &Resource {
        self.desired.get(s.kind, &s.name).expect("every non-delete step comes from a manifest")
    }

    fn live(&self, s: &Step) -> Option<&Live> {
        self.observed.get(s.kind, &s.name)
    }

    /// Refused steps and replacements without permission are not attempted.
    fn gate(&self, s: &Step) -> Option<(Outcome, Option<String>)> {
        if let Some(hold) = self.held(s) {
            return Some((
                Outcome::Skipped,
                Some(format!(
                    "ECS rolled this content back; not redeployed before {} (attempt {}) unless the manifest changes",
                    crate::store::status::epoch_rfc3339(hold.until),
                    hold.attempts
                )),
            ));
        }
        match s.op {
            Op::NoOp => Some((Outcome::Applied, None)),
            Op::Refuse => Some((Outcome::Skipped, s.reason.clone())),
            Op::Replace if !self.opts.allow_replace => Some((
                Outcome::Skipped,
                Some(format!(
                    "replacement needed ({}); run with --allow-replace",
                    s.reason.as_deref().unwrap_or("immutable field changed")
                )),
            )),
            _ => None,
        }
    }

    /// The hold that keeps this service step from redeploying content ECS rolled back.
    fn held(&self, s: &Step) -> Option<&crate::store::status::Hold> {
        if s.kind != Kind::Service || !s.touches("taskDefinition") {
            return None;
        }
        let hold = self.opts.holds.get(&s.name)?;
        let Some(crate::manifest::Spec::Service(svc)) = self.desired.get(Kind::Service, &s.name).map(|r| &r.spec)
        else {
            return None;
        };
        let td = self.desired.get(Kind::TaskDefinition, &svc.task_definition)?;
        (plan::task_definition_hash(td) == hold.hash && hold.until > crate::store::now_epoch()).then_some(hold)
    }

    async fn create_group(&self, s: &Step) -> (Outcome, Option<String>) {
        if let Some(g) = self.gate(s) {
            return g;
        }
        let r = self.resource(s);
        match s.op {
            Op::Create => done(aws::ec2::create_group(self.clients, self.set, r, self.ids).await.map(drop)),
            Op::Replace => {
                let Some(live) = self.live(s) else {
                    return (Outcome::Applied, None);
                };
                if let Err(e) = aws::ec2::delete_group(self.clients, live).await {
                    return done(Err(e));
                }
                self.ids.remove(s.kind, &s.name);
                done(aws::ec2::create_group(self.clients, self.set, r, self.ids).await.map(drop))
            }
            _ => (Outcome::Applied, None),
        }
    }

    async fn group_rules(&self, s: &Step) -> (Outcome, Option<String>) {
        if let Some(g) = self.gate(s) {
            return g;
        }
        let r = self.resource(s);
        let live = if matches!(s.op, Op::Create | Op::Replace) { None } else { self.live(s) };
        let mut result = aws::ec2::sync_rules(self.clients, r, live, self.ids).await;
        if let (Ok(()), Some(live)) = (&result, live) {
            if s.touches("tags") {
                result = aws::ec2::sync_tags(self.clients, self.set, r, live).await;
            }
        }
        done(result)
    }

    async fn step(&self, s: &Step) -> (Outcome, Option<String>) {
        if let Some(g) = self.gate(s) {
            return g;
        }
        let r = self.resource(s);
        let (c, set, ids) = (self.clients, self.set, self.ids);
        if s.op == Op::Replace {
            if let Some(live) = self.live(s) {
                if let Err(e) = self.delete_live(live).await {
                    return done(Err(e));
                }
                self.ids.remove(s.kind, &s.name);
            }
        }
        let create = matches!(s.op, Op::Create | Op::Replace);
        let live = self.live(s);
        let result = match (s.kind, create, live) {
            (Kind::TargetGroup, true, _) => aws::elbv2::create_target_group(c, set, r, ids).await.map(drop),
            (Kind::TargetGroup, false, Some(l)) => aws::elbv2::update_target_group(c, set, s, r, l, ids).await,
            (Kind::LoadBalancer, true, _) => aws::elbv2::create_load_balancer(c, set, r, ids).await.map(drop),
            (Kind::LoadBalancer, false, Some(l)) => aws::elbv2::update_load_balancer(c, set, s, r, l, ids).await,
            (Kind::TaskDefinition, _, _) => {
                aws::ecs::register_task_definition(c, set, r, &plan::task_definition_hash(r), ids).await.map(drop)
            }
            (Kind::Cluster, true, _) => aws::ecs::create_cluster(c, set, r, ids).await.map(drop),
            (Kind::Cluster, false, Some(l)) => aws::ecs::update_cluster(c, set, s, r, l).await,
            (Kind::Service, true, _) => match aws::ecs::create_service(c, set, r, ids).await {
                Err(e) if s.op == Op::Replace => Err(AwsError::unresolved(
                    s.id(),
                    format!(
                        "deleted the old service; the new one is created by a later run once the old has drained ({e})"
                    ),
                )),
                other => other.map(drop),
            },
            (Kind::Service, false, Some(l)) => aws::ecs::update_service(c, set, s, r, l, ids).await,
            (_, false, None) => Ok(()),
            (Kind::SecurityGroup, ..) => Ok(()),
        };
        done(result)
    }

    async fn delete_live(&self, live: &Live) -> Result<(), AwsError> {
        let c = self.clients;
        match live.kind {
            Kind::Service => aws::ecs::delete_service(c, live).await,
            Kind::Cluster => aws::ecs::delete_cluster(c, live).await,
            Kind::TaskDefinition => aws::ecs::deregister_family(c, live).await,
            Kind::LoadBalancer => aws::elbv2::delete_load_balancer(c, live).await,
            Kind::TargetGroup => aws::elbv2::delete_target_group(c, live).await,
            Kind::SecurityGroup => aws::ec2::delete_group(c, live).await,
        }
    }

    async fn delete(&self, s: &Step) -> (Outcome, Option<String>) {
        let Some(live) = self.observed.orphans.iter().find(|o| o.kind == s.kind && o.name == s.name) else {
            return (Outcome::Skipped, Some("no longer exists".into()));
        };
        done(self.delete_live(live).await)
    }
}

/// The run's summary: what changed, what failed, and what it cost.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub set: String,
    pub mode: &'static str,
    pub changes: usize,
    pub applied: usize,
    pub failed: usize,
    pub skipped: usize,
    pub results: Vec<StepResult>,
    /// AWS calls made, by `Service:Operation`.
    pub aws_calls: BTreeMap<String, u64>,
    pub aws_calls_total: u64,
    pub aws_writes_total: u64,
    pub duration_ms: u128,
}

impl Summary {
    pub fn new(plan: &Plan, mode: &'static str, results: Vec<StepResult>, clients: &Clients, started: Instant) -> Self {
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        let calls = clients.calls.snapshot();
        Summary {
            set: plan.set.clone(),
            mode,
            changes: plan.steps.iter().filter(|s| s.op != Op::NoOp).count(),
            applied: count(Outcome::Applied),
            failed: count(Outcome::Failed),
            skipped: count(Outcome::Skipped),
            aws_calls_total: calls.values().sum(),
            aws_writes_total: clients.calls.writes().values().sum(),
            aws_calls: calls,
            results,
            duration_ms: started.elapsed().as_millis(),
        }
    }
}
