//! Status in S3, Kubernetes-style: every resource has one condition (Synced, Drifted,
//! Progressing, Degraded, Failed) with a reason, the generation (git commit) it was judged
//! against, and when it last changed. `status/summary.json` keeps the last runs and every
//! resource's condition; `status/<Kind>/<name>.json` is written only when it changed.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use super::{SetLocation, get, now_rfc3339};
use crate::aws::{AwsError, Clients, call_error};
use crate::manifest::Kind;
use crate::plan::{Op, Plan};
use crate::reconcile::{Outcome, StepResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// Live state matches the manifest.
    Synced,
    /// Live state differs and was not (or could not be) changed: observe mode, a replacement
    /// waiting for approval.
    Drifted,
    /// A change was applied and is rolling out.
    Progressing,
    /// ECS reports the service unhealthy: a failed deployment or a circuit-breaker rollback.
    Degraded,
    /// The reconciler could not apply the manifest: an AWS error, or a resource it may not own.
    Failed,
    /// Its live state could not be read this run (or that of something it depends on).
    Unknown,
}

/// Back-off for content ECS rolled back: the same content is not deployed again before `until`
/// unless the manifest changes (a different `hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    /// Content hash of the task definition that failed.
    pub hash: String,
    /// Seconds since the epoch.
    pub until: i64,
    pub attempts: u32,
}

impl Hold {
    /// 10 minutes, doubling with every failed attempt, at most a day.
    pub fn after_failure(hash: &str, previous: Option<&Hold>, now: i64) -> Hold {
        let attempts = previous.filter(|h| h.hash == hash).map_or(0, |h| h.attempts) + 1;
        let delay = (600i64 << (attempts - 1).min(10)).min(86_400);
        Hold { hash: hash.to_string(), until: now + delay, attempts }
    }
}

/// What ECS said about a service, as far as its condition goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Report {
    /// `SERVICE_DEPLOYMENT_FAILED`: the circuit breaker rolled back; the content goes on hold.
    DeploymentFailed,
    /// `SERVICE_DEPLOYMENT_COMPLETED`, `SERVICE_STEADY_STATE`.
    Steady,
    /// A service action of type WARN or ERROR (`SERVICE_TASK_START_IMPAIRED`, ...).
    Unhealthy,
}

/// One ECS event about a service, written into status by the lease holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub service: String,
    pub report: Report,
    /// ECS's `eventName`.
    pub event_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    pub kind: Kind,
    pub name: String,
    pub condition: Condition,
    /// One word a tool can match on (`Applied`, `UpToDate`, `NotOwned`, `DeploymentFailed`, ...).
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The git commit of the manifests this was judged against.
    pub generation: String,
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
}

/// One run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub trigger: String,
    pub generation: String,
    pub mode: String,
    pub started_at: String,
    pub finished_at: String,
    /// Resources whose live state differed from the manifests.
    pub drift: usize,
    /// Changes applied.
    pub changes: usize,
    pub errors: Vec<String>,
    pub aws_calls: BTreeMap<String, u64>,
    pub aws_calls_total: u64,
    pub duration_ms: u128,
}

/// `status/summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The newest first; at most [`RUNS_KEPT`].
    pub runs: Vec<RunRecord>,
    /// Scheduled runs so far: every `DEEP_EVERY`th reads every task definition.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub scheduled_ticks: u64,
    /// `Kind/name` → status.
    pub resources: BTreeMap<String, ResourceStatus>,
}

pub const RUNS_KEPT: usize = 20;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Summary {
    pub fn hold(&self, kind: Kind, name: &str) -> Option<&Hold> {
        self.resources.get(&format!("{kind}/{name}")).and_then(|r| r.hold.as_ref())
    }

    pub fn record(&mut self, run: RunRecord) {
        self.runs.insert(0, run);
        self.runs.truncate(RUNS_KEPT);
    }

    /// Set a resource's condition; its transition time moves only when the condition does.
    pub fn set(
        &mut self,
        kind: Kind,
        name: &str,
        condition: Condition,
        reason: &str,
        message: Option<String>,
        generation: &str,
    ) {
        let key = format!("{kind}/{name}");
        let previous = self.resources.get(&key);
        let since = match previous {
            Some(p) if p.condition == condition => p.last_transition_time.clone(),
            _ => now_rfc3339(),
        };
        let hold = previous.and_then(|p| p.hold.clone());
        self.resources.insert(
            key,
            ResourceStatus {
                kind,
                name: name.to_string(),
                condition,
                reason: reason.to_string(),
                message,
                generation: generation.to_string(),
                last_transition_time: since,
                hold,
            },
        );
    }

    /// ECS's word on a service. `content` is the hash of the task definition the set deploys to
    /// it (what a failed deployment puts on hold); `now` in seconds since the epoch.
    pub fn apply_service_event(&mut self, e: &ServiceEvent, content: Option<&str>, now: i64) {
        let key = format!("{}/{}", Kind::Service, e.service);
        let generation = self.resources.get(&key).map(|r| r.generation.clone()).unwrap_or_default();
        match e.report {
            Report::DeploymentFailed => {
                self.set(
                    Kind::Service,
                    &e.service,
                    Condition::Degraded,
                    "DeploymentFailed",
                    e.reason.clone(),
                    &generation,
                );
                if let (Some(hash), Some(r)) = (content, self.resources.get_mut(&key)) {
                    r.hold = Some(Hold::after_failure(hash, r.hold.as_ref(), now));
                }
            }
            // A hold outlasts ECS's steady state (it is steady on the rolled-back revision).
            Report::Steady if self.hold(Kind::Service, &e.service).is_some_and(|h| h.until > now) => {}
            Report::Steady => {
                self.set(Kind::Service, &e.service, Condition::Synced, "SteadyState", e.reason.clone(), &generation)
            }
            Report::Unhealthy => {
                self.set(Kind::Service, &e.service, Condition::Degraded, &e.event_name, e.reason.clone(), &generation)
            }
        }
    }

    /// Conditions after a run: from the plan (what differed) and the results (what happened).
    pub fn apply_run(&mut self, plan: &Plan, results: &[StepResult], observe_only: bool, generation: &str) {
        for step in &plan.steps {
            let result = results.iter().find(|r| r.kind == step.kind && r.name == step.name);
            let (condition, reason, message) = match (step.op, result.map(|r| (r.outcome, r.message.clone()))) {
                (Op::NoOp, _) => (Condition::Synced, "UpToDate", step.reason.clone()),
                (Op::Delete, Some((Outcome::Applied, _))) => {
                    self.resources.remove(&format!("{}/{}", step.kind, step.name));
                    continue;
                }
                // A delete that waits for its users to go (a superseded generation): a later run
                // finishes it.
                (Op::Delete, Some((Outcome::Skipped, m))) if step.actions.is_empty() => {
                    (Condition::Progressing, "Deleting", m)
                }
                // Created the new generation and moved the users; the old is deleted later.
                (Op::Replace, Some((Outcome::Applied, _))) if !step.disruptive => {
                    (Condition::Progressing, "Replacing", step.reason.clone())
                }
                (Op::Refuse, _) => (Condition::Failed, "NotOwned", step.reason.clone()),
                (Op::Unknown, _) => (Condition::Unknown, "ReadFailed", step.reason.clone()),
                (_, None) if observe_only => (Condition::Drifted, "Drift", Some(changed_fields(step))),
                (_, Some((Outcome::Applied, _))) if step.kind == Kind::Service => {
                    (Condition::Progressing, "Applied", Some(changed_fields(step)))
                }
                (_, Some((Outcome::Applied, _))) => (Condition::Synced, "Applied", Some(changed_fields(step))),
                (_, Some((Outcome::Failed, m))) => (Condition::Failed, "ApplyFailed", m),
                (_, Some((Outcome::Skipped, m))) => (Condition::Drifted, "NotApplied", m),
                (_, None) => (Condition::Drifted, "Drift", Some(changed_fields(step))),
            };
            // A service that ECS found unhealthy stays Degraded (its content on hold after a failed
            // deployment) until ECS says it is steady or a new rollout starts (a changed manifest,
            // or the hold ran out). Only ECS events make a service Degraded.
            let key = format!("{}/{}", step.kind, step.name);
            let degraded = self.resources.get(&key).is_some_and(|r| r.condition == Condition::Degraded);
            let rolled_out = result.is_some_and(|r| r.outcome == Outcome::Applied) && step.touches("taskDefinition");
            if degraded && !rolled_out {
                continue;
            }
            self.set(step.kind, &step.name, condition, reason, message, generation);
            if degraded && let Some(r) = self.resources.get_mut(&key) {
                r.hold = None;
            }
        }
    }
}

fn changed_fields(step: &crate::plan::Step) -> String {
    let fields: Vec<&str> = step.changes.iter().map(|c| c.path.as_str()).collect();
    if fields.is_empty() {
        step.op.as_str().to_string()
    } else {
        format!("{}: {}", step.op.as_str(), fields.join(", "))
    }
}

/// Seconds since the epoch as RFC 3339.
pub fn epoch_rfc3339(secs: i64) -> String {
    aws_smithy_types::DateTime::from_secs(secs).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default()
}

/// The status as a table: every resource's condition, then the last runs.
pub fn render(loc: &SetLocation, summary: &Summary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if summary.runs.is_empty() && summary.resources.is_empty() {
        let _ = writeln!(out, "{loc}: no run has reported yet");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<32} {:<12} {:<18} {:<10} {:>5}  MESSAGE",
        "RESOURCE", "CONDITION", "REASON", "GENERATION", "AGE"
    );
    for (id, r) in &summary.resources {
        let generation: String = r.generation.chars().take(10).collect();
        let message = r.message.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "{id:<32} {:<12} {:<18} {generation:<10} {:>5}  {message}",
            format!("{:?}", r.condition),
            r.reason,
            age(&r.last_transition_time)
        );
    }
    let _ = writeln!(out, "\nLAST RUNS");
    for run in summary.runs.iter().take(5) {
        let outcome = if run.errors.is_empty() {
            "ok".to_string()
        } else {
            format!("{} error(s): {}", run.errors.len(), run.errors[0])
        };
        let _ = writeln!(
            out,
            "{:>5} ago  {:<13} {:<8} generation {:<10} {} change(s), {} drifted, {} AWS calls  {outcome}",
            age(&run.finished_at),
            run.trigger,
            run.mode,
            run.generation.chars().take(10).collect::<String>(),
            run.changes,
            run.drift,
            run.aws_calls_total
        );
    }
    out
}

fn age(rfc3339: &str) -> String {
    let Ok(t) = aws_smithy_types::DateTime::from_str(rfc3339, aws_smithy_types::date_time::Format::DateTime) else {
        return "?".into();
    };
    let secs = (super::now_epoch() - t.secs()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Someone wrote something else there: its holds and history are unknown, so no run goes on
    /// as if there were none.
    #[error(
        "{url} is not a status this version can read ({source}); nothing was applied. \
         Delete it to start a new history (failure holds and run records in it are lost)"
    )]
    Unparsable {
        url: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StatusError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StatusError::Aws(e) if e.is_transient())
    }
}

/// The set's status; empty when none was written yet.
pub async fn read(clients: &Clients, loc: &SetLocation) -> Result<Summary, StatusError> {
    let key = loc.key("status/summary.json");
    match get(clients, &loc.bucket, &key).await? {
        None => Ok(Summary::default()),
        Some((bytes, _)) => serde_json::from_slice(&bytes)
            .map_err(|source| StatusError::Unparsable { url: format!("s3://{}/{key}", loc.bucket), source }),
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Write the summary, and every per-resource object whose content changed (compared by ETag,
/// the MD5 of the content for SSE-S3 objects); delete those of resources that left.
pub async fn write(clients: &Clients, loc: &SetLocation, summary: &Summary) -> Result<(), AwsError> {
    let prefix = loc.key("status/");
    let mut existing: BTreeMap<String, String> = BTreeMap::new();
    let mut pages = clients.s3.list_objects_v2().bucket(&loc.bucket).prefix(&prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(call_error("ListObjectsV2", format!("{loc}/status/")))?;
        for o in page.contents() {
            if let (Some(k), Some(e)) = (o.key(), o.e_tag()) {
                existing.insert(k.to_string(), e.trim_matches('"').to_string());
            }
        }
    }
    for (id, status) in &summary.resources {
        let key = loc.key(&format!("status/{id}.json"));
        let body = serde_json::to_vec_pretty(status).unwrap_or_default();
        if existing.remove(&key).as_deref() == Some(md5_hex(&body).as_str()) {
            continue;
        }
        put(clients, &loc.bucket, &key, body).await?;
    }
    let summary_key = loc.key("status/summary.json");
    existing.remove(&summary_key);
    for stale in existing.keys() {
        clients
            .s3
            .delete_object()
            .bucket(&loc.bucket)
            .key(stale)
            .send()
            .await
            .map_err(call_error("DeleteObject", format!("s3://{}/{stale}", loc.bucket)))?;
    }
    put(clients, &loc.bucket, &summary_key, serde_json::to_vec_pretty(summary).unwrap_or_default()).await
}

async fn put(clients: &Clients, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into())
        .send()
        .await
        .map_err(call_error("PutObject", format!("s3://{bucket}/{key}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_off_doubling_from_ten_minutes_to_a_day() {
        let h1 = Hold::after_failure("abc", None, 0);
        assert_eq!((h1.until, h1.attempts), (600, 1));
        let h2 = Hold::after_failure("abc", Some(&h1), 0);
        assert_eq!((h2.until, h2.attempts), (1200, 2));
        let mut h = h2;
        for _ in 0..20 {
            h = Hold::after_failure("abc", Some(&h), 0);
        }
        assert_eq!(h.until, 86_400);
        // New content starts over.
        assert_eq!(Hold::after_failure("def", Some(&h), 0).attempts, 1);
    }

    #[test]
    fn transition_time_moves_only_when_the_condition_does() {
        let mut s = Summary::default();
        s.set(Kind::Service, "web", Condition::Synced, "UpToDate", None, "c1");
        let t = s.resources["Service/web"].last_transition_time.clone();
        s.resources.get_mut("Service/web").unwrap().last_transition_time = "2000-01-01T00:00:00Z".into();
        s.set(Kind::Service, "web", Condition::Synced, "UpToDate", None, "c2");
        assert_eq!(s.resources["Service/web"].last_transition_time, "2000-01-01T00:00:00Z");
        s.set(Kind::Service, "web", Condition::Degraded, "DeploymentFailed", None, "c2");
        assert_ne!(s.resources["Service/web"].last_transition_time, "2000-01-01T00:00:00Z");
        assert!(!t.is_empty());
    }
}
