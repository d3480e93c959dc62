//! `LoadBalancer.spec`: an ELBv2 CreateLoadBalancer request in camelCase, plus `attributes` and `listeners` with their rules.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{NumberString, Reference, Tag};
use super::target_group::{AttributeValue, deserialize_attributes};
use crate::manifest::Kind;

/// The body of a `LoadBalancer` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancerSpec {
    /// The type of load balancer: `application` (default), `network` or `gateway`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// `internet-facing` (default) or `internal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// The subnets, one per Availability Zone: `subnet-...` IDs or the value of their Name tag; use this or subnetMappings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<String>,
    /// The subnets with Elastic IPs or private addresses (network load balancers); use this or subnets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnet_mappings: Vec<SubnetMapping>,
    /// The security groups of the load balancer: `SecurityGroup` names of this set or `sg-...` IDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    /// `ipv4` (default), `dualstack` or `dualstack-without-public-ipv4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address_type: Option<String>,
    /// Metadata applied to the load balancer, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Load balancer attributes, e.g. `idle_timeout.timeout_seconds: 60`, `deletion_protection.enabled: true`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "deserialize_attributes")]
    #[schemars(with = "BTreeMap<String, AttributeValue>")]
    pub attributes: BTreeMap<String, String>,
    /// The listeners of the load balancer, each a CreateListener request with its rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
}

impl LoadBalancerSpec {
    /// Every field that may name another resource of the set, literal ARNs and IDs included.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        for (i, sg) in self.security_groups.iter().enumerate() {
            refs.push(Reference::new(format!("spec.securityGroups[{i}]"), Kind::SecurityGroup, sg));
        }
        for (l, listener) in self.listeners.iter().enumerate() {
            let prefix = format!("spec.listeners[{l}]");
            action_references(&format!("{prefix}.defaultActions"), &listener.default_actions, &mut refs);
            for (r, rule) in listener.rules.iter().enumerate() {
                action_references(&format!("{prefix}.rules[{r}].actions"), &rule.actions, &mut refs);
            }
        }
        refs
    }
}

/// Pushes the target group references of `actions`, found at `path` (`spec.listeners[0].defaultActions`).
fn action_references(path: &str, actions: &[Action], refs: &mut Vec<Reference>) {
    for (a, action) in actions.iter().enumerate() {
        if let Some(tg) = &action.target_group {
            refs.push(Reference::new(format!("{path}[{a}].targetGroup"), Kind::TargetGroup, tg));
        }
        let tuples = action.forward_config.iter().flat_map(|f| f.target_groups.iter());
        for (t, tuple) in tuples.enumerate() {
            if let Some(tg) = &tuple.target_group {
                refs.push(Reference::new(
                    format!("{path}[{a}].forwardConfig.targetGroups[{t}].targetGroup"),
                    Kind::TargetGroup,
                    tg,
                ));
            }
        }
    }
}

/// A subnet of the load balancer with its optional fixed addresses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubnetMapping {
    /// The subnet: a `subnet-...` ID or the value of its Name tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// The allocation ID of the Elastic IP of an internet-facing network load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_id: Option<String>,
    /// A private IPv4 address from the subnet for an internal network load balancer.
    #[serde(rename = "privateIPv4Address", default, skip_serializing_if = "Option::is_none")]
    pub private_ipv4_address: Option<String>,
    /// An IPv6 address from the subnet (network load balancers).
    #[serde(rename = "iPv6Address", default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address: Option<String>,
}

/// A listener of the load balancer: a CreateListener request with its rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    /// The port the load balancer listens on (not for gateway load balancers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The protocol of client connections: ALB `HTTP` or `HTTPS`; NLB `TCP`, `TLS`, `UDP`, `TCP_UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The TLS security policy of an HTTPS or TLS listener, e.g. `ELBSecurityPolicy-TLS13-1-2-2021-06`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_policy: Option<String>,
    /// The server certificates of an HTTPS or TLS listener: the first is the default, the others are added for SNI (AddListenerCertificates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// The ALPN policy of a TLS listener: `HTTP1Only`, `HTTP2Only`, `HTTP2Optional`, `HTTP2Preferred` or `None`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn_policy: Vec<String>,
    /// What the listener does with requests that match no rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_actions: Vec<Action>,
    /// Metadata applied to the listener, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// The listener rules (ALB), each with a priority, conditions and actions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

/// A server certificate of a listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certificate {
    /// The ARN of the ACM or IAM certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
}

/// A listener or rule action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Action {
    /// The action: `forward`, `redirect` or `fixed-response`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// The order in which actions run, lowest first (1 to 50000); required with several actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i32>,
    /// The target group to forward to: a `TargetGroup` name of this set (or an ARN); use this, targetGroupArn or forwardConfig.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// The ARN of a target group not managed by this set to forward to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// Forwarding to one or more weighted target groups, with optional stickiness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_config: Option<ForwardConfig>,
    /// The redirect of a `redirect` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_config: Option<RedirectConfig>,
    /// The response of a `fixed-response` action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_response_config: Option<FixedResponseConfig>,
}

/// Forwarding to weighted target groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForwardConfig {
    /// The target groups to forward to, with their weights (at most 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<TargetGroupTuple>,
    /// Whether a client stays on the same target group, and for how long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_stickiness_config: Option<TargetGroupStickinessConfig>,
}

/// A weighted target group of a forward action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetGroupTuple {
    /// The target group: a `TargetGroup` name of this set (or an ARN); use this or targetGroupArn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// The ARN of a target group not managed by this set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// The share of requests sent to this target group (0 to 999).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// Target group stickiness of a forward action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetGroupStickinessConfig {
    /// Whether target group stickiness is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Seconds a client is kept on the same target group (1 to 604800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i32>,
}

/// A redirect; each part keeps its original value unless given (`#{host}`, `#{path}`, ... may be reused).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedirectConfig {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The port, 1 to 65535, or `#{port}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<NumberString>,
    /// The hostname, which may reuse `#{host}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The absolute path starting with `/`, which may reuse `#{path}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The query string without the leading `?`, which may reuse `#{query}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `HTTP_301` (permanent) or `HTTP_302` (temporary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
}

/// A fixed response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixedResponseConfig {
    /// The body of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_body: Option<String>,
    /// The HTTP status code, `2XX`, `4XX` or `5XX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<NumberString>,
    /// `text/plain`, `text/css`, `text/html`, `application/javascript` or `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// A listener rule: a CreateRule request without the listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// The priority of the rule, unique per listener; lower is evaluated first (1 to 50000).
    pub priority: i32,
    /// The conditions a request must all meet for the actions to run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RuleCondition>,
    /// What the rule does with a matching request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Metadata applied to the rule, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// A condition of a listener rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleCondition {
    /// The condition: `host-header`, `path-pattern`, `http-header`, `query-string`, `http-request-method` or `source-ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The values of a `host-header` or `path-pattern` condition (short form of the matching *Config).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The host names to match, with `*` and `?` wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_header_config: Option<ValuesConfig>,
    /// The paths to match, with `*` and `?` wildcards, case-sensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_pattern_config: Option<ValuesConfig>,
    /// An HTTP header and the values to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header_config: Option<HttpHeaderConfig>,
    /// The query string key/value pairs to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_config: Option<QueryStringConfig>,
    /// The HTTP request methods to match, e.g. `GET`, `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_request_method_config: Option<ValuesConfig>,
    /// The source IP CIDR blocks to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip_config: Option<ValuesConfig>,
}

/// A list of values to match (host header, path pattern, request method or source IP).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValuesConfig {
    /// The values; the condition matches when any one of them matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// An HTTP header condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpHeaderConfig {
    /// The name of the HTTP header to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_header_name: Option<String>,
    /// The header values to match, with `*` and `?` wildcards, case-insensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A query string condition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryStringConfig {
    /// The key/value pairs to match; a pair without a key matches any key with that value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<QueryStringKeyValue>,
}

/// A query string key/value pair to match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryStringKeyValue {
    /// The query string key; absent matches any key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The query string value, with `*` and `?` wildcards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_name_every_linked_resource_with_its_path() {
        let spec: LoadBalancerSpec = serde_json::from_value(json!({
            "type": "application",
            "subnets": ["public-a", "subnet-0b"],
            "securityGroups": ["alb-sg", "sg-0123456789abcdef0"],
            "attributes": {"idle_timeout.timeout_seconds": 60},
            "listeners": [
                {
                    "port": 80, "protocol": "HTTP",
                    "defaultActions": [{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": 443, "statusCode": "HTTP_301"}}]
                },
                {
                    "port": 443, "protocol": "HTTPS",
                    "certificates": [{"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"}],
                    "defaultActions": [{"type": "forward", "targetGroup": "web"}],
                    "rules": [{
                        "priority": 10,
                        "conditions": [{"field": "path-pattern", "values": ["/api/*"]}],
                        "actions": [{"type": "forward", "forwardConfig": {"targetGroups": [
                            {"targetGroup": "api-blue", "weight": 90},
                            {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"},
                            {"targetGroup": "api-green", "weight": 10}
                        ]}}]
                    }]
                }
            ]
        }))
        .unwrap();
        assert_eq!(spec.attributes["idle_timeout.timeout_seconds"], "60");
        assert_eq!(
            spec.references(),
            vec![
                Reference::new("spec.securityGroups[0]", Kind::SecurityGroup, "alb-sg"),
                Reference::new("spec.securityGroups[1]", Kind::SecurityGroup, "sg-0123456789abcdef0"),
                Reference::new("spec.listeners[1].defaultActions[0].targetGroup", Kind::TargetGroup, "web"),
                Reference::new(
                    "spec.listeners[1].rules[0].actions[0].forwardConfig.targetGroups[0].targetGroup",
                    Kind::TargetGroup,
                    "api-blue"
                ),
                Reference::new(
                    "spec.listeners[1].rules[0].actions[0].forwardConfig.targetGroups[2].targetGroup",
                    Kind::TargetGroup,
                    "api-green"
                ),
            ]
        );
    }
}
