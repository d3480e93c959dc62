//! `TargetGroup.spec`: an ELBv2 CreateTargetGroup request in camelCase, plus `attributes`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{NumberString, Reference, Tag};

/// The body of a `TargetGroup` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetGroupSpec {
    /// The protocol used to route traffic to the targets: `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`, `GENEVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The protocol version of HTTP/HTTPS targets: `HTTP1` (default), `HTTP2` or `GRPC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// The port the targets receive traffic on (ECS overrides it with each task's port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The VPC of the targets: a `vpc-...` ID or the value of its Name tag (not for `lambda` targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// The type of target: `instance` (default), `ip` (required for awsvpc tasks), `lambda` or `alb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    /// The IP address type of the targets: `ipv4` (default) or `ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    /// The protocol of health checks; defaults to the target group's protocol for HTTP/HTTPS, else TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_protocol: Option<String>,
    /// The port of health checks: `traffic-port` (default) or a port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_port: Option<NumberString>,
    /// Whether health checks are enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_enabled: Option<bool>,
    /// The destination of HTTP/HTTPS health checks (`/` when absent) or the gRPC method path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_path: Option<String>,
    /// Seconds between health checks of one target (5 to 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_interval_seconds: Option<i32>,
    /// Seconds without a response after which a health check fails (2 to 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_timeout_seconds: Option<i32>,
    /// Consecutive successful checks before an unhealthy target is healthy (2 to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold_count: Option<i32>,
    /// Consecutive failed checks before a target is unhealthy (2 to 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold_count: Option<i32>,
    /// The HTTP or gRPC codes that mean a healthy target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<Matcher>,
    /// The health check settings as one block; each field is the same as the `healthCheck*` field above, give one or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Metadata applied to the target group, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Target group attributes, e.g. `deregistration_delay.timeout_seconds: 30`, `stickiness.enabled: true`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "deserialize_attributes")]
    #[schemars(with = "BTreeMap<String, AttributeValue>")]
    pub attributes: BTreeMap<String, String>,
}

impl TargetGroupSpec {
    /// A target group names no other resource of the set (its VPC is looked up, not managed).
    pub fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}

/// The `healthCheck:` block, an alternative spelling of the `healthCheck*` fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    /// Whether health checks are enabled (healthCheckEnabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The protocol of health checks (healthCheckProtocol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The port of health checks, `traffic-port` or a number (healthCheckPort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<NumberString>,
    /// The destination of HTTP/HTTPS health checks (healthCheckPath).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Seconds between health checks of one target (healthCheckIntervalSeconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<i32>,
    /// Seconds without a response after which a check fails (healthCheckTimeoutSeconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Consecutive successful checks before a target is healthy (healthyThresholdCount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_threshold_count: Option<i32>,
    /// Consecutive failed checks before a target is unhealthy (unhealthyThresholdCount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_threshold_count: Option<i32>,
    /// The HTTP or gRPC codes that mean a healthy target (matcher).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matcher: Option<Matcher>,
}

/// The codes a healthy target answers health checks with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Matcher {
    /// HTTP codes, e.g. `200`, `200,202` or `200-299` (ALB: 200 to 499).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_code: Option<NumberString>,
    /// gRPC codes, e.g. `12` or `0-99` (0 to 99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_code: Option<NumberString>,
}

/// An ELBv2 attribute value. AWS carries every value as a string; `30` and `true` are accepted and kept as `"30"` and `"true"`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct AttributeValue(#[schemars(with = "ScalarSchema")] pub String);

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ScalarSchema {
    String(String),
    Number(f64),
    Bool(bool),
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AttributeValue(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(AttributeValue(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(AttributeValue(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(AttributeValue(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AttributeValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Deserializes an `attributes:` map whose values may be strings, numbers or booleans into strings.
pub fn deserialize_attributes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let map = BTreeMap::<String, AttributeValue>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attribute_numbers_and_bools_become_strings() {
        let spec: TargetGroupSpec = serde_json::from_value(json!({
            "attributes": {"deregistration_delay.timeout_seconds": 30, "stickiness.enabled": true, "stickiness.type": "lb_cookie"}
        }))
        .unwrap();
        assert_eq!(spec.attributes["deregistration_delay.timeout_seconds"], "30");
        assert_eq!(spec.attributes["stickiness.enabled"], "true");
        assert_eq!(spec.attributes["stickiness.type"], "lb_cookie");
    }
}
