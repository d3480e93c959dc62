//! `ScalableTarget.spec`: Application Auto Scaling for one service of the set — the
//! RegisterScalableTarget request (namespace `ecs`, dimension `ecs:service:DesiredCount`, the
//! resource ID from the service's name and cluster), with the target's PutScalingPolicy and
//! PutScheduledAction requests in the API's shapes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::Reference;
use crate::manifest::Kind;

/// The body of a `ScalableTarget` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalableTargetSpec {
    /// The Service of the set whose desired count this target scales, by name.
    pub service: String,
    /// The fewest tasks the service scales in to.
    pub min_capacity: i32,
    /// The most tasks the service scales out to.
    pub max_capacity: i32,
    /// Scaling activities to suspend: `dynamicScalingInSuspended`, `dynamicScalingOutSuspended`,
    /// `scheduledScalingSuspended` (all false when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_state: Option<SuspendedState>,
    /// The target's scaling policies (PutScalingPolicy), each by its `policyName`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling_policies: Vec<ScalingPolicy>,
    /// The target's scheduled actions (PutScheduledAction), each by its `scheduledActionName`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_actions: Vec<ScheduledAction>,
}

impl ScalableTargetSpec {
    /// Application Auto Scaling's resource ID of an ECS service (RegisterScalableTarget,
    /// ResourceId: "ECS service - The resource type is service and the unique identifier is the
    /// cluster name and service name. Example: service/my-cluster/my-service").
    pub fn resource_id(cluster: &str, service: &str) -> String {
        let cluster = cluster.rsplit('/').next().unwrap_or(cluster);
        format!("service/{cluster}/{service}")
    }

    /// The service it scales, and each target group an `ALBRequestCountPerTarget` metric names.
    pub fn references(&self) -> Vec<Reference> {
        let mut out = vec![Reference::new("spec.service", Kind::Service, &self.service)];
        for (i, p) in self.scaling_policies.iter().enumerate() {
            if let Some(tg) = p
                .target_tracking_scaling_policy_configuration
                .as_ref()
                .and_then(|t| t.predefined_metric_specification.as_ref())
                .and_then(|m| m.target_group.as_deref())
            {
                let path = format!(
                    "spec.scalingPolicies[{i}].targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.targetGroup"
                );
                out.push(Reference::new(path, Kind::TargetGroup, tg));
            }
        }
        out
    }
}

/// Which scaling activities are suspended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuspendedState {
    /// Scale-in by target tracking and step scaling policies is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_in_suspended: Option<bool>,
    /// Scale-out by target tracking and step scaling policies is suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_out_suspended: Option<bool>,
    /// Scheduled actions are suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_scaling_suspended: Option<bool>,
}

/// A PutScalingPolicy request without the target's namespace, resource and dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingPolicy {
    /// The policy's name, unique per target.
    pub policy_name: String,
    /// `TargetTrackingScaling` or `StepScaling`.
    pub policy_type: String,
    /// For `TargetTrackingScaling`: the metric and the value to keep it at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking_scaling_policy_configuration: Option<TargetTrackingConfiguration>,
    /// For `StepScaling`: the adjustments by how far a CloudWatch alarm's metric is past its
    /// threshold (the alarm itself is made outside the set and names the policy's ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_scaling_policy_configuration: Option<StepScalingConfiguration>,
}

/// TargetTrackingScalingPolicyConfiguration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetTrackingConfiguration {
    /// The value to keep the metric at, e.g. 60 (percent CPU).
    pub target_value: f64,
    /// A metric Application Auto Scaling knows for ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetric>,
    /// A CloudWatch metric of your own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<CustomizedMetric>,
    /// Seconds after a scale-out before another scale-out (300 when absent, for ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i32>,
    /// Seconds after a scale-in before another scale-in (300 when absent, for ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i32>,
    /// Whether the policy never scales in (false when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

/// PredefinedMetricSpecification; the resource label of `ALBRequestCountPerTarget` is given as
/// the target group's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PredefinedMetric {
    /// `ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization` or `ALBRequestCountPerTarget`.
    pub predefined_metric_type: String,
    /// For `ALBRequestCountPerTarget`: the TargetGroup of the set whose requests per target are
    /// tracked (the API's `resourceLabel`, made from it and its load balancer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// For `ALBRequestCountPerTarget`, instead of `targetGroup`: the label as AWS writes it,
    /// `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

/// CustomizedMetricSpecification (one metric; metric math is not supported here).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomizedMetric {
    pub metric_name: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MetricDimension>,
    /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum`.
    pub statistic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A CloudWatch metric dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricDimension {
    pub name: String,
    pub value: String,
}

/// StepScalingPolicyConfiguration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepScalingConfiguration {
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`.
    pub adjustment_type: String,
    /// The steps, by the metric's distance from the alarm's threshold.
    pub step_adjustments: Vec<StepAdjustment>,
    /// For `PercentChangeInCapacity`: the least number of tasks to add or remove.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i32>,
    /// Seconds to wait after a scaling activity before another can start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<i32>,
    /// `Average` (when absent), `Minimum` or `Maximum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
}

/// StepAdjustment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepAdjustment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i32,
}

/// A PutScheduledAction request without the target's namespace, resource and dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduledAction {
    /// The action's name, unique per target.
    pub scheduled_action_name: String,
    /// `at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)` or `cron(fields)`.
    pub schedule: String,
    /// The time zone of `schedule` and the start and end times, e.g. `Europe/Berlin` (UTC when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// When the action starts, RFC 3339 (`2026-12-24T18:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the action ends, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// The new minimum and maximum capacity.
    pub scalable_target_action: ScalableTargetAction,
}

/// ScalableTargetAction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalableTargetAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<i32>,
}
