//! Counting AWS calls: an SDK interceptor that records every operation a client executes, so a
//! run can report what it cost, by operation, and a test can prove that a no-op run wrote nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls made, keyed `Service:Operation` (e.g. `ECS:DescribeServices`). Shared by all clients.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Attempts beyond the first of each call (the SDK's retries), in total.
    retries: Arc<std::sync::atomic::AtomicU64>,
}

impl CallCounter {
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("call counter poisoned").clone()
    }

    pub fn reset(&self) {
        self.counts.lock().expect("call counter poisoned").clear();
        self.retries.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Retry attempts made so far (every attempt after a call's first).
    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    /// Calls made since `before` (a [`snapshot`](Self::snapshot)), by operation: one run's share
    /// of a counter that lives as long as the process (a Lambda serves many runs).
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .map(|(op, n)| {
                let prior = before.get(&op).copied().unwrap_or(0);
                (op, n - prior)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Calls that change something: every operation that is not a Describe, List or Get.
    pub fn writes(&self) -> BTreeMap<String, u64> {
        self.snapshot().into_iter().filter(|(op, _)| is_write(op)).collect()
    }

    fn record(&self, service: &str, operation: &str) {
        let key = format!("{}:{operation}", short_service(service));
        *self.counts.lock().expect("call counter poisoned").entry(key).or_default() += 1;
    }
}

/// Whether `Service:Operation` changes state.
pub fn is_write(op: &str) -> bool {
    let name = op.rsplit(':').next().unwrap_or(op);
    !["Describe", "List", "Get", "Head"].iter().any(|p| name.starts_with(p))
}

fn short_service(service: &str) -> &str {
    match service {
        "Elastic Load Balancing v2" | "ElasticLoadBalancingv2" => "ELBv2",
        "CloudWatch Logs" | "cloudwatchlogs" => "Logs",
        "Application Auto Scaling" | "applicationautoscaling" => "ApplicationAutoScaling",
        s => s,
    }
}

#[derive(Debug)]
pub(crate) struct CountingInterceptor(pub CallCounter);

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "CountingInterceptor"
    }

    // Once per operation (not per retry attempt), after the operation's metadata is in the bag:
    // at `read_before_execution` a client-level interceptor does not see it yet.
    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.0.record(m.service(), m.name());
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt =
            cfg.load::<aws_smithy_runtime_api::client::retries::RequestAttempts>().map_or(1, |a| a.attempts());
        if attempt > 1 {
            self.0.retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_writes() {
        for op in [
            "ECS:DescribeServices",
            "EC2:DescribeSecurityGroups",
            "ELBv2:DescribeTags",
            "ECS:ListTaskDefinitions",
            "S3:GetObject",
            "S3:HeadObject",
        ] {
            assert!(!is_write(op), "{op}");
        }
        for op in [
            "ECS:UpdateService",
            "ECS:RegisterTaskDefinition",
            "ECS:TagResource",
            "EC2:AuthorizeSecurityGroupIngress",
            "S3:PutObject",
        ] {
            assert!(is_write(op), "{op}");
        }
    }
}
