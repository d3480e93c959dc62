//! One reconcile run: load → validate → observe → plan → apply → summary. Level-triggered: it
//! reads the whole desired set and the live state every time and never asks why it was called.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;
use tracing::{Instrument, info, info_span, warn};

use crate::aws::{self, AwsError, Clients, Created, Ids, Target};
use crate::manifest::{Kind, ManifestSet};
use crate::plan::{
    self, Action, AutoScalingCall, Call, Ec2Call, EcsCall, Elbv2Call, LogsCall, Observed, Op, Plan, PlanOptions, Step,
};

pub mod run;

/// How many independent steps run at once within a phase.
const CONCURRENCY: usize = 8;

/// The message of a step not started because the run's deadline passed.
pub const DEADLINE_PASSED: &str = "not started: the run's deadline passed; the next run does it";

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Delete owned resources whose manifests left the set.
    pub prune: bool,
    /// Read every task definition, even those a service's binding tag proves unchanged.
    pub deep: bool,
    /// Allow a prune that deletes every resource the set owns (an empty or truncated set).
    pub force: bool,
    /// Which replacements run: none, only create-before-destroy ones that keep serving (the
    /// default), or also those that take a service down (`--allow-replace`, `REPLACE=all`).
    pub replace: ReplacePolicy,
    /// Test-only budget of AWS write calls: none starts once this many have been made (a run
    /// killed between two calls, as a Lambda timeout would). `None`: no limit.
    pub step_limit: Option<usize>,
    /// Services whose rolled-back content is backing off: service name → hold. A step that
    /// would deploy the held content again before the hold ends is skipped.
    pub holds: BTreeMap<String, crate::store::status::Hold>,
    /// Apply only the steps of these resources (a targeted repair); `None`: all.
    pub only: Option<std::collections::BTreeSet<(Kind, String)>>,
    /// No step starts after this instant (the Lambda's remaining time, the CLI's `--deadline`);
    /// the steps left are reported as skipped and done by the next run.
    pub deadline: Option<Instant>,
}

/// Which replacements a run may make (`REPLACE=none|safe|all`, the CLI's `--allow-replace`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplacePolicy {
    /// No replacement runs; each is reported as waiting for approval.
    None,
    /// Only replacements that create the new resource before destroying the old and keep
    /// serving (target groups, security groups).
    #[default]
    Safe,
    /// Disruptive replacements too (a load balancer's scheme or type, a service).
    All,
}

impl std::str::FromStr for ReplacePolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "none" => Ok(ReplacePolicy::None),
            "safe" | "" => Ok(ReplacePolicy::Safe),
            "all" => Ok(ReplacePolicy::All),
            other => Err(format!("REPLACE={other}: use `none`, `safe` or `all`")),
        }
    }
}

/// Why a run could not even plan.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the manifest set is invalid ({0} error(s)); nothing was applied")]
    Invalid(usize),
    #[error(
        "refusing to prune: the plan deletes all {0} resource(s) the set owns and keeps none (an empty or truncated set?); \
         run with --force if that is what you want"
    )]
    PruneEverything(usize),
}

impl RunError {
    /// Neither gets better by trying again: a read that fails leaves its resources `Unknown`
    /// rather than failing the run ([`observe`]).
    pub fn is_transient(&self) -> bool {
        false
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

/// Read live state for everything the set names (and, with prune, everything it owns). A read
/// that still fails after its retries leaves the resources it concerns `Unknown` (an adapter
/// that marks none itself: every resource of its kinds); the rest is observed as usual.
pub async fn observe(clients: &Clients, set: &str, desired: &ManifestSet, prune: bool) -> Observed {
    observe_with(clients, set, desired, prune, false).await
}

/// [`observe`]; `deep` reads every task definition (`plan --deep`, the Lambda's `DEEP_EVERY`).
pub async fn observe_with(clients: &Clients, set: &str, desired: &ManifestSet, prune: bool, deep: bool) -> Observed {
    let hashes: BTreeMap<String, String> =
        desired.of_kind(Kind::TaskDefinition).map(|r| (r.name().to_string(), plan::task_definition_hash(r))).collect();
    let (mut ec2, mut elbv2, mut ecs, mut logs, mut scaling) =
        (Observed::default(), Observed::default(), Observed::default(), Observed::default(), Observed::default());
    // The services are independent: observe them at once. Scalable targets are owned through
    // their services, so they are read once the services are.
    let (r_ec2, r_elbv2, r_logs, r_ecs) = tokio::join!(
        aws::ec2::observe(clients, set, desired, prune, &mut ec2),
        aws::elbv2::observe(clients, set, desired, prune, &mut elbv2),
        aws::logs::observe(clients, set, desired, prune, &mut logs),
        async {
            let r = aws::ecs::observe(clients, set, desired, &hashes, prune, deep, &mut ecs).await;
            let s = if desired.of_kind(Kind::ScalableTarget).next().is_some() || prune {
                aws::autoscaling::observe(clients, set, desired, prune, &ecs, &mut scaling).await
            } else {
                Ok(())
            };
            (r, s)
        },
    );
    let (r_ecs, r_scaling) = r_ecs;
    let mut observed = Observed::default();
    for (result, part, kinds) in [
        (r_ec2, ec2, &[Kind::SecurityGroup][..]),
        (r_elbv2, elbv2, &[Kind::TargetGroup, Kind::LoadBalancer][..]),
        (r_logs, logs, &[Kind::LogGroup][..]),
        (r_ecs, ecs, &[Kind::TaskDefinition, Kind::Cluster, Kind::Service][..]),
        (r_scaling, scaling, &[Kind::ScalableTarget][..]),
    ] {
        let failed = result.err();
        if let Some(e) = &failed {
            warn!(error = %e, "a read failed: its resources are unknown this run");
        }
        for kind in kinds.iter().copied() {
            for r in desired.of_kind(kind) {
                let key = (kind, r.name().to_string());
                if let Some(e) = &failed {
                    observed.unknown.entry(key.clone()).or_insert_with(|| e.to_string());
                }
            }
        }
        if failed.is_some() && kinds.contains(&Kind::SecurityGroup) {
            // The VPC and subnet names are read with the groups: without them nothing that names a
            // VPC or subnet can be compared.
            for kind in [Kind::TargetGroup, Kind::LoadBalancer, Kind::Service] {
                for r in desired.of_kind(kind) {
                    observed
                        .unknown
                        .entry((kind, r.name().to_string()))
                        .or_insert_with(|| "the VPC and subnet names could not be read".into());
                }
            }
        }
        if failed.is_some() {
            // Orphans of a failed adapter may be incomplete: none of its kinds is pruned.
            observed.orphans.retain(|o| !kinds.contains(&o.kind));
            observed.unknown.extend(part.unknown);
            continue;
        }
        observed.live.extend(part.live);
        observed.orphans.extend(part.orphans);
        observed.superseded.extend(part.superseded);
        observed.in_use.extend(part.in_use);
        observed.task_definition_matches.extend(part.task_definition_matches);
        observed.unknown.extend(part.unknown);
        if kinds.contains(&Kind::SecurityGroup) {
            observed.vpcs = part.vpcs;
            observed.subnets = part.subnets;
        }
    }
    observed
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
    let observed =
        observe_with(clients, set, desired, opts.prune, opts.deep).instrument(info_span!("observe", set)).await;
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
    // Kept: resources of the set that stay (not an orphan retained by its deletion policy).
    let kept = plan
        .steps
        .iter()
        .filter(|s| s.op != Op::Delete && s.op != Op::Create && desired.get(s.kind, &s.name).is_some())
        .count();
    if opts.prune && deletes > 0 && kept == 0 && !opts.force {
        return Err(RunError::PruneEverything(deletes));
    }
    let ids = Ids::from_observed(observed);
    // Services run the revision the plan settled on: a reused one, or the one registered below.
    for (family, arn) in &observed.task_definition_matches {
        ids.set(Kind::TaskDefinition, family, arn);
    }
    let mut results = Vec::new();
    let ctx = StepCtx { clients, desired, ids: &ids, opts, started: std::sync::atomic::AtomicUsize::new(0) };

    let wanted = |s: &&Step| opts.only.as_ref().is_none_or(|only| only.contains(&(s.kind, s.name.clone())));
    for kind in Kind::ALL {
        let steps: Vec<&Step> =
            plan.steps.iter().filter(|s| s.kind == kind && s.op != Op::Delete).filter(wanted).collect();
        if kind == Kind::SecurityGroup {
            // Groups may reference each other: every group exists before any rule is written.
            let created = run_phase(&steps, |s| ctx.run(s, group_phase(s).0)).await;
            let ok: Vec<&Step> = steps
                .iter()
                .copied()
                .filter(|s| {
                    !created.iter().any(|r| r.name == s.name && r.outcome != Outcome::Applied && r.op != Op::NoOp)
                })
                .collect();
            let rules = run_phase(&ok, |s| ctx.run(s, group_phase(s).1)).await;
            results.extend(merge(created, rules));
        } else {
            results.extend(run_phase(&steps, |s| ctx.run(s, &s.actions)).await);
        }
    }
    let deletes: Vec<&Step> = plan.steps.iter().filter(|s| s.op == Op::Delete).filter(wanted).collect();
    for kind in Kind::ALL.into_iter().rev() {
        let phase: Vec<&Step> = deletes.iter().copied().filter(|s| s.kind == kind).collect();
        results.extend(run_phase(&phase, |s| ctx.run(s, &s.actions)).await);
    }
    results.retain(|r| r.op != Op::NoOp);
    Ok(results)
}

/// A security group step's actions in two phases: up to creating the group, then its rules and
/// tags.
fn group_phase(s: &Step) -> (&[Action], &[Action]) {
    let at = s.actions.iter().position(|a| a.call == Call::Ec2(Ec2Call::CreateSecurityGroup)).map_or(0, |i| i + 1);
    s.actions.split_at(at)
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
    desired: &'a ManifestSet,
    ids: &'a Ids,
    opts: &'a RunOptions,
    /// Actions started so far (for [`RunOptions::step_limit`]).
    started: std::sync::atomic::AtomicUsize,
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
    /// Refused steps and replacements without permission are not attempted, nor any step once
    /// the run's deadline has passed.
    fn gate(&self, s: &Step) -> Option<(Outcome, Option<String>)> {
        if s.op != Op::NoOp && self.opts.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some((Outcome::Skipped, Some(DEADLINE_PASSED.to_string())));
        }
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
            Op::Unknown => Some((Outcome::Skipped, s.reason.clone())),
            Op::Refuse => Some((Outcome::Skipped, s.reason.clone())),
            Op::Replace if self.opts.replace == ReplacePolicy::None => Some((
                Outcome::Skipped,
                Some(format!(
                    "replacement needed ({}); replacements are off (REPLACE=none)",
                    s.reason.as_deref().unwrap_or("immutable field changed")
                )),
            )),
            Op::Replace if s.disruptive && self.opts.replace != ReplacePolicy::All => Some((
                Outcome::Skipped,
                Some(format!(
                    "disruptive replacement needed ({}); run with --allow-replace (Lambda: REPLACE=all)",
                    s.reason.as_deref().unwrap_or("immutable field changed")
                )),
            )),
            // A delete that waits (for what, the reason says): a later run finishes it.
            Op::Delete if s.actions.is_empty() => Some((Outcome::Skipped, s.reason.clone())),
            _ => None,
        }
    }

    /// The test-only budget of AWS writes: once spent, no further action starts (the run
    /// "dies" between two calls).
    fn over_budget(&self) -> bool {
        self.opts
            .step_limit
            .is_some_and(|limit| self.started.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= limit)
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

    /// Run the step's actions in order, exactly as planned; the first failure ends the step.
    async fn run(&self, s: &Step, actions: &[Action]) -> (Outcome, Option<String>) {
        if let Some(g) = self.gate(s) {
            return g;
        }
        for action in actions {
            if self.over_budget() {
                return (Outcome::Skipped, Some(DEADLINE_PASSED.to_string()));
            }
            let target = Target {
                kind: s.kind,
                name: &s.name,
                id: self.ids.get(s.kind, &s.name),
                part: action.part.as_deref().and_then(|p| self.ids.part(s.kind, &s.name, p)),
            };
            match aws::execute(self.clients, &target, action, self.ids).await {
                Ok(Created::Resource(id)) => self.ids.set(s.kind, &s.name, id),
                Ok(Created::Part(part, arn)) => self.ids.set_part(s.kind, &s.name, &part, arn),
                Ok(Created::Nothing) if is_delete(action.call) => self.ids.remove(s.kind, &s.name),
                Ok(Created::Nothing) => {}
                Err(e) if s.op == Op::Replace && action.call == Call::Ecs(EcsCall::CreateService) => {
                    return done(Err(AwsError::unresolved(
                        s.id(),
                        format!(
                            "deleted the old service; the new one is created by a later run once the old has drained ({e})"
                        ),
                    )));
                }
                Err(e) => return done(Err(e)),
            }
        }
        (Outcome::Applied, None)
    }
}

fn is_delete(call: Call) -> bool {
    matches!(
        call,
        Call::Ecs(EcsCall::DeleteService | EcsCall::DeleteCluster | EcsCall::DeregisterTaskDefinition)
            | Call::Elbv2(Elbv2Call::DeleteLoadBalancer | Elbv2Call::DeleteTargetGroup)
            | Call::Ec2(Ec2Call::DeleteSecurityGroup)
            | Call::Logs(LogsCall::DeleteLogGroup)
            | Call::AutoScaling(AutoScalingCall::DeregisterScalableTarget)
    )
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
    /// Attempts the SDK retried (throttling, 5xx, resets, timeouts), by this process so far.
    pub aws_retries: u64,
    pub duration_ms: u128,
}

impl Summary {
    pub fn new(plan: &Plan, mode: &'static str, results: Vec<StepResult>, clients: &Clients, started: Instant) -> Self {
        let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
        let calls = clients.calls.snapshot();
        Summary {
            set: plan.set.clone(),
            mode,
            changes: plan.steps.iter().filter(|s| !matches!(s.op, Op::NoOp | Op::Unknown)).count(),
            applied: count(Outcome::Applied),
            failed: count(Outcome::Failed),
            skipped: count(Outcome::Skipped),
            aws_calls_total: calls.values().sum(),
            aws_writes_total: clients.calls.writes().values().sum(),
            aws_calls: calls,
            aws_retries: clients.calls.retries(),
            results,
            duration_ms: started.elapsed().as_millis(),
        }
    }
}
