//! `apply --wait`: follow the services a run touched until their rollouts are steady, fail, or
//! time runs out. The Lambda never waits (the next event follows a rollout up); people at a
//! terminal and CI jobs do.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aws::ecs::{Rollout, rollouts};
use crate::aws::{AwsError, Clients};

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Steady,
    /// A rollout failed (e.g. the deployment circuit breaker rolled it back).
    Failed(Vec<Rollout>),
    TimedOut(Vec<Rollout>),
}

/// Poll `services` (cluster ARN → service names) every `interval` until all are steady, one
/// fails, or `timeout` passes; `progress` sees every poll's state.
pub async fn wait_steady(
    clients: &Clients,
    services: &BTreeMap<String, Vec<String>>,
    timeout: Duration,
    interval: Duration,
    mut progress: impl FnMut(&[Rollout]),
) -> Result<WaitOutcome, AwsError> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut all = Vec::new();
        for (cluster, names) in services {
            all.extend(rollouts(clients, cluster, names).await?);
        }
        progress(&all);
        let failed: Vec<Rollout> = all.iter().filter(|r| r.has_failed()).cloned().collect();
        if !failed.is_empty() {
            return Ok(WaitOutcome::Failed(failed));
        }
        if all.iter().all(Rollout::is_steady) {
            return Ok(WaitOutcome::Steady);
        }
        if Instant::now() + interval > deadline {
            return Ok(WaitOutcome::TimedOut(all.into_iter().filter(|r| !r.is_steady()).collect()));
        }
        tokio::time::sleep(interval).await;
    }
}
