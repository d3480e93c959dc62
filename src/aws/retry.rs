//! How hard the reconciler tries each AWS call, configured once where the clients are built:
//! the SDK's standard retry mode (exponential back-off with jitter, a retry quota), more
//! attempts for reads than for writes, and a timeout per attempt and per call so a stalled
//! answer cannot hold a run.
//!
//! Not adaptive mode: its client-side rate limiter, measured through the fault proxy, held a
//! 100-call apply with 7 throttled calls for 112 s instead of 1 s (it drops the send rate to
//! well under one call a second after a throttle, and a run is a short burst).

use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

/// Attempts for a write (create, update, delete, tag): a resend after a lost reply is
/// recognised by the adapters, but each one still costs a round trip of "already exists".
pub const WRITE_ATTEMPTS: u32 = 5;
/// Attempts for a read (Describe, List, Get): safe to repeat, and one read that gives up leaves
/// its resources Unknown for the whole run.
pub const READ_ATTEMPTS: u32 = 10;
/// One attempt (connect, send, answer) may take this long.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// One call, all attempts and back-off included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(90);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The product's retry policy for writes; reads get [`READ_ATTEMPTS`] (see [`ReadAttempts`]).
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(WRITE_ATTEMPTS)
}

/// Timeouts per attempt and per call: [`ATTEMPT_TIMEOUT`] and [`CALL_TIMEOUT`], or
/// `ECS_RECONCILER_ATTEMPT_TIMEOUT` / `ECS_RECONCILER_CALL_TIMEOUT` in seconds.
pub fn timeout_config() -> TimeoutConfig {
    timeout_config_from(|k| std::env::var(k).ok())
}

fn timeout_config_from(var: impl Fn(&str) -> Option<String>) -> TimeoutConfig {
    let secs = |k: &str, default: Duration| {
        var(k).and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| *s > 0.0).map_or(default, Duration::from_secs_f64)
    };
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(secs("ECS_RECONCILER_ATTEMPT_TIMEOUT", ATTEMPT_TIMEOUT))
        .operation_timeout(secs("ECS_RECONCILER_CALL_TIMEOUT", CALL_TIMEOUT))
        .build()
}

/// The attempts a read gets, given the client's (write) setting: at least [`READ_ATTEMPTS`],
/// unless retries are off altogether (one attempt), which stays off.
pub fn read_attempts(configured: u32) -> u32 {
    if configured <= 1 { configured } else { configured.max(READ_ATTEMPTS) }
}

/// Creates that AWS does not repeat safely (a resend after a lost answer may make a second load
/// balancer, listener or revision, or wipe a cluster's tags): the SDK sends them once, and the
/// adapter retries them itself after looking for what the lost attempt made
/// ([`super::create_or_find`]).
pub const CREATES_RETRIED_BY_ADAPTERS: &[&str] = &[
    "CreateSecurityGroup",
    "CreateTargetGroup",
    "CreateLoadBalancer",
    "CreateListener",
    "CreateRule",
    "RegisterTaskDefinition",
    "CreateCluster",
    "CreateService",
    "CreateLogGroup",
];

/// Gives read operations more attempts than the client's retry config (which is the writes').
/// The retry strategy reads its config from the operation's config bag on every attempt, so a
/// per-operation layer put there before the first attempt decides.
#[derive(Debug)]
pub(crate) struct ReadAttempts;

impl Intercept for ReadAttempts {
    fn name(&self) -> &'static str {
        "ReadAttempts"
    }

    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(m) = cfg.load::<Metadata>() else { return Ok(()) };
        let once = CREATES_RETRIED_BY_ADAPTERS.contains(&m.name());
        if super::calls::is_write(m.name()) && !once {
            return Ok(());
        }
        if let Some(rc) = cfg.load::<RetryConfig>() {
            let attempts = if once { 1 } else { read_attempts(rc.max_attempts()) };
            if attempts != rc.max_attempts() {
                let rc = rc.clone().with_max_attempts(attempts);
                cfg.interceptor_state().store_put(rc);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_get_more_attempts_unless_retries_are_off() {
        assert_eq!(read_attempts(1), 1, "retries off stays off");
        assert_eq!(read_attempts(WRITE_ATTEMPTS), READ_ATTEMPTS);
        assert_eq!(read_attempts(12), 12);
        const { assert!(READ_ATTEMPTS > WRITE_ATTEMPTS) };
    }

    #[test]
    fn timeouts_default_and_follow_the_environment() {
        let t = timeout_config_from(|_| None);
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(CALL_TIMEOUT));
        assert_eq!(t.connect_timeout(), Some(CONNECT_TIMEOUT));
        let t = timeout_config_from(|k| (k == "ECS_RECONCILER_ATTEMPT_TIMEOUT").then(|| "1.5".to_string()));
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(1500)));
        let t = timeout_config_from(|_| Some("nonsense".into()));
        assert_eq!(t.operation_timeout(), Some(CALL_TIMEOUT));
    }

    #[test]
    fn writes_retry_in_standard_mode() {
        let r = retry_config();
        assert_eq!(r.mode(), aws_smithy_types::retry::RetryMode::Standard);
        assert_eq!(r.max_attempts(), WRITE_ATTEMPTS);
    }
}
