//! ELBv2 adapter: target groups and load balancers (with listeners and rules), observed in manifest shape and changed step by step.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use super::{AwsError, Clients, Ids, call_error, owned_tags};
use crate::manifest::spec::load_balancer::{
    Action, Certificate, Listener, LoadBalancerSpec, Rule, RuleCondition, SubnetMapping,
};
use crate::manifest::spec::target_group::{HealthCheck, Matcher, TargetGroupSpec};
use crate::manifest::{Kind, ManifestSet, Resource, Spec};
use crate::plan::{Live, Observed, Step, TAG_NAME, TAG_SET};

/// The largest page `DescribeTargetGroups` and `DescribeLoadBalancers` return.
const PAGE_SIZE: i32 = 400;
/// The most ARNs one `DescribeTags` call accepts.
const TAGS_PER_CALL: usize = 20;
/// Concurrent per-resource describe calls during an observe.
const CONCURRENCY: usize = 8;

/// The change paths (flat names, as the plan writes them) that `ModifyTargetGroup` repairs.
const HEALTH_CHECK_PATHS: [&str; 10] = [
    "healthCheck",
    "healthCheckProtocol",
    "healthCheckPort",
    "healthCheckEnabled",
    "healthCheckPath",
    "healthCheckIntervalSeconds",
    "healthCheckTimeoutSeconds",
    "healthyThresholdCount",
    "unhealthyThresholdCount",
    "matcher",
];

// ---------------------------------------------------------------------------------------------
// Observe
// ---------------------------------------------------------------------------------------------

/// Read the set's target groups and load balancers (by manifest name) into `observed.live`, and,
/// with `prune`, the ones tagged as the set's whose manifests left it into `observed.orphans`.
///
/// Cost: one paginated list per kind (never by name: AWS fails the whole call when one name is
/// missing), one `DescribeTags` per 20 ARNs, attributes only where the manifest names some, one
/// `DescribeListeners` per load balancer and one `DescribeRules` per HTTP/HTTPS listener.
pub async fn observe(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    prune: bool,
    observed: &mut Observed,
) -> Result<(), AwsError> {
    let tg_specs: BTreeMap<&str, &TargetGroupSpec> = desired
        .resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::TargetGroup(s) => Some((r.name(), s)),
            _ => None,
        })
        .collect();
    let lb_specs: BTreeMap<&str, &LoadBalancerSpec> = desired
        .resources
        .iter()
        .filter_map(|r| match &r.spec {
            Spec::LoadBalancer(s) => Some((r.name(), s)),
            _ => None,
        })
        .collect();

    let target_groups = if prune || !tg_specs.is_empty() { list_target_groups(clients).await? } else { Vec::new() };
    let load_balancers = if prune || !lb_specs.is_empty() { list_load_balancers(clients).await? } else { Vec::new() };

    // Which listed resources are the set's by name, and which ARNs need their tags read.
    let matched_tgs: Vec<(&str, &str, &types::TargetGroup)> = target_groups
        .iter()
        .filter_map(|tg| {
            let name = tg.target_group_name()?;
            let arn = tg.target_group_arn()?;
            tg_specs.contains_key(name).then_some((name, arn, tg))
        })
        .collect();
    let matched_lbs: Vec<(&str, &str, &types::LoadBalancer)> = load_balancers
        .iter()
        .filter_map(|lb| {
            let name = lb.load_balancer_name()?;
            let arn = lb.load_balancer_arn()?;
            lb_specs.contains_key(name).then_some((name, arn, lb))
        })
        .collect();
    let tag_arns: Vec<String> = if prune {
        target_groups
            .iter()
            .filter_map(|t| t.target_group_arn())
            .chain(load_balancers.iter().filter_map(|l| l.load_balancer_arn()))
            .map(str::to_string)
            .collect()
    } else {
        matched_tgs
            .iter()
            .map(|(_, arn, _)| arn.to_string())
            .chain(matched_lbs.iter().map(|(_, arn, _)| arn.to_string()))
            .collect()
    };
    let tags = describe_tags(clients, &tag_arns).await?;
    let tags_of = |arn: &str| tags.get(arn).cloned().unwrap_or_default();

    // Target groups: attributes only where the manifest names some.
    let tg_lives: Vec<Live> = futures::stream::iter(matched_tgs.iter())
        .map(|&(name, arn, tg)| {
            let spec = tg_specs[name];
            let tags = tags_of(arn);
            async move {
                let attributes = if spec.attributes.is_empty() {
                    None
                } else {
                    Some(target_group_attributes(clients, name, arn, &spec.attributes).await?)
                };
                let mut live = Live::new(Kind::TargetGroup, name, arn);
                live.tags = tags;
                live.spec = target_group_live_spec(tg, attributes.as_ref());
                Ok::<_, AwsError>(live)
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;

    // Load balancers: attributes where named, listeners, and the rules of HTTP/HTTPS listeners.
    let lb_lives: Vec<Live> = futures::stream::iter(matched_lbs.iter())
        .map(|&(name, arn, lb)| {
            let spec = lb_specs[name];
            let tags = tags_of(arn);
            async move {
                let mut live = observe_load_balancer(clients, name, arn, lb, spec).await?;
                live.tags = tags;
                Ok::<_, AwsError>(live)
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;

    for live in tg_lives.into_iter().chain(lb_lives) {
        observed.live.insert((live.kind, live.name.clone()), live);
    }

    if prune {
        for tg in &target_groups {
            let (Some(name), Some(arn)) = (tg.target_group_name(), tg.target_group_arn()) else {
                continue;
            };
            if let Some(mut live) = orphan(set, Kind::TargetGroup, name, arn, &tags, &tg_specs) {
                live.spec = target_group_live_spec(tg, None);
                observed.orphans.push(live);
            }
        }
        for lb in &load_balancers {
            let (Some(name), Some(arn)) = (lb.load_balancer_name(), lb.load_balancer_arn()) else {
                continue;
            };
            if let Some(mut live) = orphan(set, Kind::LoadBalancer, name, arn, &tags, &lb_specs) {
                live.spec = load_balancer_live_spec(lb, None, None, false);
                observed.orphans.push(live);
            }
        }
    }
    Ok(())
}

/// A resource tagged as the set's whose `ecs-reconciler:name` is no manifest of its kind.
fn orphan<S>(
    set: &str,
    kind: Kind,
    aws_name: &str,
    arn: &str,
    tags: &BTreeMap<String, BTreeMap<String, String>>,
    manifests: &BTreeMap<&str, S>,
) -> Option<Live> {
    if manifests.contains_key(aws_name) {
        return None;
    }
    let tags = tags.get(arn)?;
    if tags.get(TAG_SET).map(String::as_str) != Some(set) {
        return None;
    }
    let name = tags.get(TAG_NAME).map(String::as_str).unwrap_or(aws_name);
    if manifests.contains_key(name) {
        return None;
    }
    let mut live = Live::new(kind, name, arn);
    live.tags = tags.clone();
    Some(live)
}

async fn list_target_groups(clients: &Clients) -> Result<Vec<types::TargetGroup>, AwsError> {
    tracing::debug!("DescribeTargetGroups (paginated)");
    let pages = clients
        .elbv2
        .describe_target_groups()
        .page_size(PAGE_SIZE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(call_error("DescribeTargetGroups", "TargetGroup/*"))?;
    Ok(pages.into_iter().flat_map(|p| p.target_groups.unwrap_or_default()).collect())
}

async fn list_load_balancers(clients: &Clients) -> Result<Vec<types::LoadBalancer>, AwsError> {
    tracing::debug!("DescribeLoadBalancers (paginated)");
    let pages = clients
        .elbv2
        .describe_load_balancers()
        .page_size(PAGE_SIZE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(call_error("DescribeLoadBalancers", "LoadBalancer/*"))?;
    Ok(pages.into_iter().flat_map(|p| p.load_balancers.unwrap_or_default()).collect())
}

/// Tags by ARN, 20 ARNs a call (target groups and load balancers may share a call).
async fn describe_tags(
    clients: &Clients,
    arns: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let outputs: Vec<_> = futures::stream::iter(arns.chunks(TAGS_PER_CALL))
        .map(|chunk| async move {
            tracing::debug!(arns = chunk.len(), "DescribeTags");
            clients
                .elbv2
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(call_error("DescribeTags", format!("{} target groups and load balancers", chunk.len())))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = BTreeMap::new();
    for description in outputs.iter().flat_map(|o| o.tag_descriptions()) {
        let Some(arn) = description.resource_arn() else {
            continue;
        };
        let tags = description
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect();
        out.insert(arn.to_string(), tags);
    }
    Ok(out)
}

/// The live values of the attributes the manifest names.
async fn target_group_attributes(
    clients: &Clients,
    name: &str,
    arn: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AwsError> {
    tracing::debug!(target_group = name, "DescribeTargetGroupAttributes");
    let out = clients
        .elbv2
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(call_error("DescribeTargetGroupAttributes", format!("TargetGroup/{name}")))?;
    Ok(wanted_attributes(out.attributes().iter().map(|a| (a.key(), a.value())), wanted))
}

/// Of the attributes AWS returned, those the manifest names (the rest are AWS's to keep).
fn wanted_attributes<'a>(
    attributes: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>,
    wanted: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    attributes
        .filter_map(|(k, v)| Some((k?, v.unwrap_or(""))))
        .filter(|(k, _)| wanted.contains_key(*k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn load_balancer_attributes(
    clients: &Clients,
    name: &str,
    arn: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, AwsError> {
    tracing::debug!(load_balancer = name, "DescribeLoadBalancerAttributes");
    let out = clients
        .elbv2
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .map_err(call_error("DescribeLoadBalancerAttributes", format!("LoadBalancer/{name}")))?;
    Ok(wanted_attributes(out.attributes().iter().map(|a| (a.key(), a.value())), wanted))
}

async fn observe_load_balancer(
    clients: &Clients,
    name: &str,
    arn: &str,
    lb: &types::LoadBalancer,
    spec: &LoadBalancerSpec,
) -> Result<Live, AwsError> {
    let resource = format!("LoadBalancer/{name}");
    let attributes = async {
        if spec.attributes.is_empty() {
            Ok(None)
        } else {
            load_balancer_attributes(clients, name, arn, &spec.attributes).await.map(Some)
        }
    };
    let listeners = async {
        tracing::debug!(load_balancer = name, "DescribeListeners");
        let pages = clients
            .elbv2
            .describe_listeners()
            .load_balancer_arn(arn)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(call_error("DescribeListeners", resource.clone()))?;
        let listeners: Vec<types::Listener> = pages.into_iter().flat_map(|p| p.listeners.unwrap_or_default()).collect();
        let rules =
            futures::future::try_join_all(listeners.iter().map(|l| listener_rules(clients, &resource, l))).await?;
        Ok::<_, AwsError>(listeners.into_iter().zip(rules).collect::<Vec<_>>())
    };
    let (attributes, listeners) = futures::try_join!(attributes, listeners)?;
    let mut live = Live::new(Kind::LoadBalancer, name, arn);
    live.spec = load_balancer_live_spec(lb, attributes.as_ref(), Some(&listeners), !spec.subnet_mappings.is_empty());
    live.parts = listener_parts(&listeners);
    Ok(live)
}

/// The non-default rules of an HTTP/HTTPS listener (other listeners have none).
async fn listener_rules(
    clients: &Clients,
    resource: &str,
    listener: &types::Listener,
) -> Result<Vec<types::Rule>, AwsError> {
    let has_rules = matches!(listener.protocol(), Some(types::ProtocolEnum::Http | types::ProtocolEnum::Https));
    let Some(arn) = listener.listener_arn().filter(|_| has_rules) else {
        return Ok(Vec::new());
    };
    tracing::debug!(listener = arn, "DescribeRules");
    let pages = clients
        .elbv2
        .describe_rules()
        .listener_arn(arn)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(call_error("DescribeRules", resource))?;
    Ok(pages.into_iter().flat_map(|p| p.rules.unwrap_or_default()).filter(|r| r.is_default() != Some(true)).collect())
}

// ---------------------------------------------------------------------------------------------
// Live state in manifest shape (pure)
// ---------------------------------------------------------------------------------------------

/// An object of the fields that are present.
fn obj<'a>(fields: impl IntoIterator<Item = (&'a str, Option<Value>)>) -> Value {
    Value::Object(fields.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect::<Map<_, _>>())
}

fn string(v: Option<&str>) -> Option<Value> {
    v.map(Value::from)
}

fn strings(v: Option<&Vec<String>>) -> Option<Value> {
    v.filter(|v| !v.is_empty()).map(|v| Value::from(v.clone()))
}

fn target_group_live_spec(tg: &types::TargetGroup, attributes: Option<&BTreeMap<String, String>>) -> Value {
    obj([
        ("protocol", string(tg.protocol().map(|p| p.as_str()))),
        ("protocolVersion", string(tg.protocol_version())),
        ("port", tg.port().map(Value::from)),
        ("vpc", string(tg.vpc_id())),
        ("targetType", string(tg.target_type().map(|t| t.as_str()))),
        ("ipAddressType", string(tg.ip_address_type().map(|t| t.as_str()))),
        ("healthCheckProtocol", string(tg.health_check_protocol().map(|p| p.as_str()))),
        ("healthCheckPort", string(tg.health_check_port())),
        ("healthCheckEnabled", tg.health_check_enabled().map(Value::from)),
        ("healthCheckPath", string(tg.health_check_path())),
        ("healthCheckIntervalSeconds", tg.health_check_interval_seconds().map(Value::from)),
        ("healthCheckTimeoutSeconds", tg.health_check_timeout_seconds().map(Value::from)),
        ("healthyThresholdCount", tg.healthy_threshold_count().map(Value::from)),
        ("unhealthyThresholdCount", tg.unhealthy_threshold_count().map(Value::from)),
        (
            "matcher",
            tg.matcher().map(|m| obj([("httpCode", string(m.http_code())), ("grpcCode", string(m.grpc_code()))])),
        ),
        ("attributes", attributes.map(|a| Value::from_iter(a.clone()))),
    ])
}

fn load_balancer_live_spec(
    lb: &types::LoadBalancer,
    attributes: Option<&BTreeMap<String, String>>,
    listeners: Option<&[(types::Listener, Vec<types::Rule>)]>,
    with_mappings: bool,
) -> Value {
    let zones = lb.availability_zones.as_ref();
    let subnets = zones.map(|zones| {
        let mut ids: Vec<&str> = zones.iter().filter_map(|z| z.subnet_id()).collect();
        ids.sort_unstable();
        Value::from(ids)
    });
    let mappings = zones.filter(|_| with_mappings).map(|zones| {
        let mut mappings: Vec<(&str, Value)> = zones
            .iter()
            .filter_map(|z| {
                let address = z.load_balancer_addresses().first();
                let mapping = obj([
                    ("subnetId", string(z.subnet_id())),
                    ("allocationId", string(address.and_then(|a| a.allocation_id()))),
                    ("privateIPv4Address", string(address.and_then(|a| a.private_ipv4_address()))),
                    ("iPv6Address", string(address.and_then(|a| a.ipv6_address()))),
                ]);
                Some((z.subnet_id()?, mapping))
            })
            .collect();
        mappings.sort_by(|a, b| a.0.cmp(b.0));
        Value::from_iter(mappings.into_iter().map(|(_, m)| m))
    });
    let security_groups = lb.security_groups.as_ref().map(|sgs| {
        let mut sgs = sgs.clone();
        sgs.sort_unstable();
        Value::from(sgs)
    });
    obj([
        ("type", string(lb.r#type().map(|t| t.as_str()))),
        ("scheme", string(lb.scheme().map(|s| s.as_str()))),
        ("subnets", subnets),
        ("subnetMappings", mappings),
        ("securityGroups", security_groups),
        ("ipAddressType", string(lb.ip_address_type().map(|t| t.as_str()))),
        ("attributes", attributes.map(|a| Value::from_iter(a.clone()))),
        (
            "listeners",
            listeners.map(|listeners| {
                let mut sorted: Vec<&(types::Listener, Vec<types::Rule>)> = listeners.iter().collect();
                sorted.sort_by_key(|(l, _)| l.port().unwrap_or(0));
                Value::from_iter(sorted.into_iter().map(|(l, rules)| listener_json(l, rules)))
            }),
        ),
    ])
}

/// `listener:<port>` → listener ARN and `rule:<port>:<priority>` → rule ARN.
fn listener_parts(listeners: &[(types::Listener, Vec<types::Rule>)]) -> BTreeMap<String, String> {
    let mut parts = BTreeMap::new();
    for (listener, rules) in listeners {
        let port = listener.port().unwrap_or(0);
        if let Some(arn) = listener.listener_arn() {
            parts.insert(format!("listener:{port}"), arn.to_string());
        }
        for rule in rules {
            if let (Some(priority), Some(arn)) = (rule.priority(), rule.rule_arn()) {
                parts.insert(format!("rule:{port}:{priority}"), arn.to_string());
            }
        }
    }
    parts
}

fn listener_json(l: &types::Listener, rules: &[types::Rule]) -> Value {
    let mut rules: Vec<&types::Rule> = rules.iter().collect();
    rules.sort_by_key(|r| priority_number(r.priority()).unwrap_or(i64::MAX));
    obj([
        ("port", l.port().map(Value::from)),
        ("protocol", string(l.protocol().map(|p| p.as_str()))),
        ("sslPolicy", string(l.ssl_policy())),
        (
            "certificates",
            l.certificates
                .as_ref()
                .filter(|c| !c.is_empty())
                .map(|c| Value::from_iter(c.iter().map(|c| obj([("certificateArn", string(c.certificate_arn()))])))),
        ),
        ("alpnPolicy", strings(l.alpn_policy.as_ref())),
        ("defaultActions", Some(Value::from_iter(l.default_actions().iter().map(action_json)))),
        ("rules", Some(Value::from_iter(rules.into_iter().map(rule_json)))),
    ])
}

fn priority_number(priority: Option<&str>) -> Option<i64> {
    priority?.parse().ok()
}

fn rule_json(r: &types::Rule) -> Value {
    let priority = match priority_number(r.priority()) {
        Some(n) => Some(Value::from(n)),
        None => string(r.priority()),
    };
    obj([
        ("priority", priority),
        ("conditions", Some(Value::from_iter(r.conditions().iter().map(condition_json)))),
        ("actions", Some(Value::from_iter(r.actions().iter().map(action_json)))),
    ])
}

fn action_json(a: &types::Action) -> Value {
    obj([
        ("type", string(a.r#type().map(|t| t.as_str()))),
        ("order", a.order().map(Value::from)),
        ("targetGroupArn", string(a.target_group_arn())),
        (
            "forwardConfig",
            a.forward_config().map(|f| {
                obj([
                    (
                        "targetGroups",
                        f.target_groups.as_ref().map(|tgs| {
                            Value::from_iter(tgs.iter().map(|t| {
                                obj([
                                    ("targetGroupArn", string(t.target_group_arn())),
                                    ("weight", t.weight().map(Value::from)),
                                ])
                            }))
                        }),
                    ),
                    (
                        "targetGroupStickinessConfig",
                        f.target_group_stickiness_config().map(|s| {
                            obj([
                                ("enabled", s.enabled().map(Value::from)),
                                ("durationSeconds", s.duration_seconds().map(Value::from)),
                            ])
                        }),
                    ),
                ])
            }),
        ),
        (
            "redirectConfig",
            a.redirect_config().map(|r| {
                obj([
                    ("protocol", string(r.protocol())),
                    ("port", string(r.port())),
                    ("host", string(r.host())),
                    ("path", string(r.path())),
                    ("query", string(r.query())),
                    ("statusCode", string(r.status_code().map(|s| s.as_str()))),
                ])
            }),
        ),
        (
            "fixedResponseConfig",
            a.fixed_response_config().map(|f| {
                obj([
                    ("messageBody", string(f.message_body())),
                    ("statusCode", string(f.status_code())),
                    ("contentType", string(f.content_type())),
                ])
            }),
        ),
    ])
}

fn condition_json(c: &types::RuleCondition) -> Value {
    let values = |v: Option<&Vec<String>>| obj([("values", strings(v))]);
    obj([
        ("field", string(c.field())),
        ("values", strings(c.values.as_ref())),
        ("hostHeaderConfig", c.host_header_config().map(|h| values(h.values.as_ref()))),
        ("pathPatternConfig", c.path_pattern_config().map(|p| values(p.values.as_ref()))),
        (
            "httpHeaderConfig",
            c.http_header_config().map(|h| {
                obj([("httpHeaderName", string(h.http_header_name())), ("values", strings(h.values.as_ref()))])
            }),
        ),
        (
            "queryStringConfig",
            c.query_string_config().map(|q| {
                obj([(
                    "values",
                    q.values.as_ref().filter(|v| !v.is_empty()).map(|v| {
                        Value::from_iter(
                            v.iter().map(|kv| obj([("key", string(kv.key())), ("value", string(kv.value()))])),
                        )
                    }),
                )])
            }),
        ),
        ("httpRequestMethodConfig", c.http_request_method_config().map(|h| values(h.values.as_ref()))),
        ("sourceIpConfig", c.source_ip_config().map(|s| values(s.values.as_ref()))),
    ])
}

// ---------------------------------------------------------------------------------------------
// Manifest → SDK (pure)
// ---------------------------------------------------------------------------------------------

fn target_group_spec(r: &Resource) -> Result<&TargetGroupSpec, AwsError> {
    match &r.spec {
        Spec::TargetGroup(s) => Ok(s),
        _ => Err(AwsError::unresolved(r.id(), "is not a TargetGroup")),
    }
}

fn load_balancer_spec(r: &Resource) -> Result<&LoadBalancerSpec, AwsError> {
    match &r.spec {
        Spec::LoadBalancer(s) => Ok(s),
        _ => Err(AwsError::unresolved(r.id(), "is not a LoadBalancer")),
    }
}

/// The health check as one block: each flat `healthCheck*` field, else the `healthCheck:` block's.
fn health_check(spec: &TargetGroupSpec) -> HealthCheck {
    let block = spec.health_check.clone().unwrap_or_default();
    HealthCheck {
        enabled: spec.health_check_enabled.or(block.enabled),
        protocol: spec.health_check_protocol.clone().or(block.protocol),
        port: spec.health_check_port.clone().or(block.port),
        path: spec.health_check_path.clone().or(block.path),
        interval_seconds: spec.health_check_interval_seconds.or(block.interval_seconds),
        timeout_seconds: spec.health_check_timeout_seconds.or(block.timeout_seconds),
        healthy_threshold_count: spec.healthy_threshold_count.or(block.healthy_threshold_count),
        unhealthy_threshold_count: spec.unhealthy_threshold_count.or(block.unhealthy_threshold_count),
        matcher: spec.matcher.clone().or(block.matcher),
    }
}

fn sdk_matcher(m: &Matcher) -> types::Matcher {
    types::Matcher::builder()
        .set_http_code(m.http_code.as_ref().map(|c| c.0.clone()))
        .set_grpc_code(m.grpc_code.as_ref().map(|c| c.0.clone()))
        .build()
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<types::Tag> {
    tags.iter().map(|(k, v)| types::Tag::builder().key(k).value(v).build()).collect()
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn target_group_attributes_of(attributes: &BTreeMap<String, String>) -> Vec<types::TargetGroupAttribute> {
    attributes.iter().map(|(k, v)| types::TargetGroupAttribute::builder().key(k).value(v).build()).collect()
}

fn load_balancer_attributes_of(attributes: &BTreeMap<String, String>) -> Vec<types::LoadBalancerAttribute> {
    attributes.iter().map(|(k, v)| types::LoadBalancerAttribute::builder().key(k).value(v).build()).collect()
}

/// The action with every `targetGroup` name replaced by its `targetGroupArn`.
fn resolve_action(action: &Action, ids: &Ids) -> Result<Action, AwsError> {
    let mut a = action.clone();
    if let Some(tg) = a.target_group.take() {
        a.target_group_arn = Some(ids.resolve(Kind::TargetGroup, &tg)?);
    }
    if let Some(forward) = &mut a.forward_config {
        for tuple in &mut forward.target_groups {
            if let Some(tg) = tuple.target_group.take() {
                tuple.target_group_arn = Some(ids.resolve(Kind::TargetGroup, &tg)?);
            }
        }
    }
    Ok(a)
}

/// The listener with every target group reference of its actions and rules resolved to an ARN.
fn resolve_listener(listener: &Listener, ids: &Ids) -> Result<Listener, AwsError> {
    let mut l = listener.clone();
    l.default_actions = l.default_actions.iter().map(|a| resolve_action(a, ids)).collect::<Result<_, _>>()?;
    for rule in &mut l.rules {
        rule.actions = rule.actions.iter().map(|a| resolve_action(a, ids)).collect::<Result<_, _>>()?;
    }
    Ok(l)
}

/// An SDK action from a resolved manifest action.
fn sdk_action(a: &Action) -> types::Action {
    types::Action::builder()
        .r#type(types::ActionTypeEnum::from(a.r#type.as_str()))
        .set_order(a.order)
        .set_target_group_arn(a.target_group_arn.clone())
        .set_forward_config(a.forward_config.as_ref().map(|f| {
            types::ForwardActionConfig::builder()
                .set_target_groups(non_empty(
                    f.target_groups
                        .iter()
                        .map(|t| {
                            types::TargetGroupTuple::builder()
                                .set_target_group_arn(t.target_group_arn.clone())
                                .set_weight(t.weight)
                                .build()
                        })
                        .collect(),
                ))
                .set_target_group_stickiness_config(f.target_group_stickiness_config.as_ref().map(|s| {
                    types::TargetGroupStickinessConfig::builder()
                        .set_enabled(s.enabled)
                        .set_duration_seconds(s.duration_seconds)
                        .build()
                }))
                .build()
        }))
        .set_redirect_config(a.redirect_config.as_ref().map(|r| {
            types::RedirectActionConfig::builder()
                .set_protocol(r.protocol.clone())
                .set_port(r.port.as_ref().map(|p| p.0.clone()))
                .set_host(r.host.clone())
                .set_path(r.path.clone())
                .set_query(r.query.clone())
                .set_status_code(r.status_code.as_deref().map(types::RedirectActionStatusCodeEnum::from))
                .build()
        }))
        .set_fixed_response_config(a.fixed_response_config.as_ref().map(|f| {
            types::FixedResponseActionConfig::builder()
                .set_message_body(f.message_body.clone())
                .set_status_code(f.status_code.as_ref().map(|s| s.0.clone()))
                .set_content_type(f.content_type.clone())
                .build()
        }))
        .build()
}

fn sdk_condition(c: &RuleCondition) -> types::RuleCondition {
    types::RuleCondition::builder()
        .set_field(c.field.clone())
        .set_values(non_empty(c.values.clone()))
        .set_host_header_config(
            c.host_header_config
                .as_ref()
                .map(|h| types::HostHeaderConditionConfig::builder().set_values(Some(h.values.clone())).build()),
        )
        .set_path_pattern_config(
            c.path_pattern_config
                .as_ref()
                .map(|p| types::PathPatternConditionConfig::builder().set_values(Some(p.values.clone())).build()),
        )
        .set_http_header_config(c.http_header_config.as_ref().map(|h| {
            types::HttpHeaderConditionConfig::builder()
                .set_http_header_name(h.http_header_name.clone())
                .set_values(Some(h.values.clone()))
                .build()
        }))
        .set_query_string_config(c.query_string_config.as_ref().map(|q| {
            types::QueryStringConditionConfig::builder()
                .set_values(Some(
                    q.values
                        .iter()
                        .map(|kv| {
                            types::QueryStringKeyValuePair::builder()
                                .set_key(kv.key.clone())
                                .set_value(kv.value.clone())
                                .build()
                        })
                        .collect(),
                ))
                .build()
        }))
        .set_http_request_method_config(
            c.http_request_method_config
                .as_ref()
                .map(|h| types::HttpRequestMethodConditionConfig::builder().set_values(Some(h.values.clone())).build()),
        )
        .set_source_ip_config(
            c.source_ip_config
                .as_ref()
                .map(|s| types::SourceIpConditionConfig::builder().set_values(Some(s.values.clone())).build()),
        )
        .build()
}

fn sdk_certificates(certificates: &[Certificate]) -> Option<Vec<types::Certificate>> {
    non_empty(
        certificates
            .iter()
            .map(|c| types::Certificate::builder().set_certificate_arn(c.certificate_arn.clone()).build())
            .collect(),
    )
}

fn sdk_subnet_mapping(m: &SubnetMapping, ids: &Ids) -> Result<types::SubnetMapping, AwsError> {
    Ok(types::SubnetMapping::builder()
        .set_subnet_id(m.subnet_id.as_deref().map(|s| ids.subnet(s)).transpose()?)
        .set_allocation_id(m.allocation_id.clone())
        .set_private_ipv4_address(m.private_ipv4_address.clone())
        .set_ipv6_address(m.ipv6_address.clone())
        .build())
}

// ---------------------------------------------------------------------------------------------
// Listener comparison (pure)
// ---------------------------------------------------------------------------------------------

/// Whether `live` has every field `desired` gives, with the same value: objects by the desired
/// keys only (AWS fills in defaults such as an action's `order` or a forward's `forwardConfig`),
/// lists element by element, scalars exactly.
fn covers(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| l.get(k).is_some_and(|lv| covers(dv, lv))),
        (Value::Array(d), Value::Array(l)) => d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| covers(dv, lv)),
        (d, l) => d == l,
    }
}

/// Whether a live listener (manifest shape, as observed) differs from the resolved manifest
/// listener in anything `ModifyListener` sets (rules and tags aside).
pub fn listener_differs(desired: &Listener, live: &Value) -> bool {
    let mut d = serde_json::to_value(desired).unwrap_or(Value::Null);
    if let Some(o) = d.as_object_mut() {
        o.remove("rules");
        o.remove("tags");
    }
    !covers(&d, live)
}

/// Whether a live rule differs from the resolved manifest rule in its conditions or actions.
pub fn rule_differs(desired: &Rule, live: &Value) -> bool {
    let mut d = serde_json::to_value(desired).unwrap_or(Value::Null);
    if let Some(o) = d.as_object_mut() {
        o.remove("tags");
        // An absent list is an empty one to ModifyRule.
        o.entry("conditions").or_insert_with(|| Value::Array(vec![]));
        o.entry("actions").or_insert_with(|| Value::Array(vec![]));
    }
    let mut l = live.clone();
    if let Some(o) = l.as_object_mut() {
        o.entry("conditions").or_insert_with(|| Value::Array(vec![]));
        o.entry("actions").or_insert_with(|| Value::Array(vec![]));
    }
    !covers(&d, &l)
}

/// One listener or rule call that brings the live listeners to the manifest's.
#[derive(Debug, PartialEq)]
enum ListenerOp<'a> {
    DeleteRule { arn: String },
    DeleteListener { arn: String },
    ModifyListener { arn: String, listener: &'a Listener },
    ModifyRule { arn: String, rule: &'a Rule },
    CreateListener { listener: &'a Listener },
    CreateRule { listener_arn: String, rule: &'a Rule },
}

/// The calls, in the order they run (deletes first, so a freed port or priority can be reused),
/// that turn the live listeners (from `live.spec.listeners`, ARNs from `live.parts`) into the
/// resolved manifest listeners. Listeners are matched by port, rules by priority.
fn plan_listeners<'a>(desired: &'a [Listener], live: &Live) -> Result<Vec<ListenerOp<'a>>, AwsError> {
    let part = |key: String| {
        live.parts.get(&key).cloned().ok_or_else(|| {
            AwsError::unresolved(format!("{}/{}", live.kind, live.name), format!("no ARN observed for {key}"))
        })
    };
    let port_of = |v: &Value| v.get("port").and_then(Value::as_i64).unwrap_or(0);
    let live_listeners: BTreeMap<i64, &Value> = live
        .spec
        .get("listeners")
        .and_then(Value::as_array)
        .map(|ls| ls.iter().map(|l| (port_of(l), l)).collect())
        .unwrap_or_default();
    let wanted: BTreeMap<i64, &Listener> = desired.iter().map(|l| (i64::from(l.port.unwrap_or(0)), l)).collect();

    let (mut delete_rules, mut delete_listeners, mut modify_listeners) = (vec![], vec![], vec![]);
    let (mut modify_rules, mut create_listeners, mut create_rules) = (vec![], vec![], vec![]);
    for port in live_listeners.keys().filter(|p| !wanted.contains_key(p)) {
        delete_listeners.push(ListenerOp::DeleteListener { arn: part(format!("listener:{port}"))? });
    }
    for (port, &listener) in &wanted {
        let Some(&live_listener) = live_listeners.get(port) else {
            create_listeners.push(ListenerOp::CreateListener { listener });
            continue;
        };
        let arn = part(format!("listener:{port}"))?;
        if listener_differs(listener, live_listener) {
            modify_listeners.push(ListenerOp::ModifyListener { arn: arn.clone(), listener });
        }
        let live_rules: BTreeMap<i64, &Value> = live_listener
            .get("rules")
            .and_then(Value::as_array)
            .map(|rs| rs.iter().filter_map(|r| Some((r.get("priority")?.as_i64()?, r))).collect())
            .unwrap_or_default();
        let wanted_rules: BTreeMap<i64, &Rule> = listener.rules.iter().map(|r| (i64::from(r.priority), r)).collect();
        for priority in live_rules.keys().filter(|p| !wanted_rules.contains_key(p)) {
            delete_rules.push(ListenerOp::DeleteRule { arn: part(format!("rule:{port}:{priority}"))? });
        }
        for (priority, &rule) in &wanted_rules {
            match live_rules.get(priority) {
                None => create_rules.push(ListenerOp::CreateRule { listener_arn: arn.clone(), rule }),
                Some(&live_rule) if rule_differs(rule, live_rule) => {
                    modify_rules.push(ListenerOp::ModifyRule { arn: part(format!("rule:{port}:{priority}"))?, rule })
                }
                Some(_) => {}
            }
        }
    }
    Ok([delete_rules, delete_listeners, modify_listeners, modify_rules, create_listeners, create_rules]
        .into_iter()
        .flatten()
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------------

/// CreateTargetGroup with every manifest field and the ownership tags, then its attributes.
pub async fn create_target_group(clients: &Clients, set: &str, r: &Resource, ids: &Ids) -> Result<String, AwsError> {
    let spec = target_group_spec(r)?;
    let name = r.name();
    let resource = r.id();
    let hc = health_check(spec);
    let vpc = spec.vpc.as_deref().map(|v| ids.vpc(v)).transpose()?;
    tracing::debug!(target_group = name, "CreateTargetGroup");
    let out = clients
        .elbv2
        .create_target_group()
        .name(name)
        .set_protocol(spec.protocol.as_deref().map(types::ProtocolEnum::from))
        .set_protocol_version(spec.protocol_version.clone())
        .set_port(spec.port)
        .set_vpc_id(vpc)
        .set_target_type(spec.target_type.as_deref().map(types::TargetTypeEnum::from))
        .set_ip_address_type(spec.ip_address_type.as_deref().map(types::TargetGroupIpAddressTypeEnum::from))
        .set_health_check_protocol(hc.protocol.as_deref().map(types::ProtocolEnum::from))
        .set_health_check_port(hc.port.map(|p| p.0))
        .set_health_check_enabled(hc.enabled)
        .set_health_check_path(hc.path)
        .set_health_check_interval_seconds(hc.interval_seconds)
        .set_health_check_timeout_seconds(hc.timeout_seconds)
        .set_healthy_threshold_count(hc.healthy_threshold_count)
        .set_unhealthy_threshold_count(hc.unhealthy_threshold_count)
        .set_matcher(hc.matcher.as_ref().map(sdk_matcher))
        .set_tags(Some(sdk_tags(&owned_tags(set, name, &spec.tags))))
        .send()
        .await
        .map_err(call_error("CreateTargetGroup", &resource))?;
    let arn = out
        .target_groups()
        .first()
        .and_then(|tg| tg.target_group_arn())
        .ok_or_else(|| AwsError::unresolved(&resource, "CreateTargetGroup returned no ARN"))?
        .to_string();
    ids.set(Kind::TargetGroup, name, &arn);
    if !spec.attributes.is_empty() {
        modify_target_group_attributes(clients, &resource, &arn, &spec.attributes).await?;
    }
    Ok(arn)
}

async fn modify_target_group_attributes(
    clients: &Clients,
    resource: &str,
    arn: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    tracing::debug!(resource, "ModifyTargetGroupAttributes");
    clients
        .elbv2
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .set_attributes(Some(target_group_attributes_of(attributes)))
        .send()
        .await
        .map_err(call_error("ModifyTargetGroupAttributes", resource))?;
    Ok(())
}

async fn modify_load_balancer_attributes(
    clients: &Clients,
    resource: &str,
    arn: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    tracing::debug!(resource, "ModifyLoadBalancerAttributes");
    clients
        .elbv2
        .modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .set_attributes(Some(load_balancer_attributes_of(attributes)))
        .send()
        .await
        .map_err(call_error("ModifyLoadBalancerAttributes", resource))?;
    Ok(())
}

/// One AddTags with the wanted tags that are missing or different on the resource; none when all
/// are there. Tags are never removed (other tools may own them).
async fn add_missing_tags(
    clients: &Clients,
    resource: &str,
    arn: &str,
    wanted: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    let missing: BTreeMap<String, String> =
        wanted.iter().filter(|(k, v)| live.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    if missing.is_empty() {
        return Ok(());
    }
    tracing::debug!(resource, tags = missing.len(), "AddTags");
    clients
        .elbv2
        .add_tags()
        .resource_arns(arn)
        .set_tags(Some(sdk_tags(&missing)))
        .send()
        .await
        .map_err(call_error("AddTags", resource))?;
    Ok(())
}

/// Repair what the step says changed: the health check (one ModifyTargetGroup), the attributes,
/// missing tags. Protocol, port, VPC and target type cannot change in place (the plan replaces).
pub async fn update_target_group(
    clients: &Clients,
    set: &str,
    step: &Step,
    r: &Resource,
    live: &Live,
    _ids: &Ids,
) -> Result<(), AwsError> {
    let spec = target_group_spec(r)?;
    let resource = r.id();
    let hc = health_check(spec);
    if HEALTH_CHECK_PATHS.iter().any(|p| step.touches(p)) && hc != HealthCheck::default() {
        tracing::debug!(target_group = r.name(), "ModifyTargetGroup");
        clients
            .elbv2
            .modify_target_group()
            .target_group_arn(&live.id)
            .set_health_check_protocol(hc.protocol.as_deref().map(types::ProtocolEnum::from))
            .set_health_check_port(hc.port.map(|p| p.0))
            .set_health_check_enabled(hc.enabled)
            .set_health_check_path(hc.path)
            .set_health_check_interval_seconds(hc.interval_seconds)
            .set_health_check_timeout_seconds(hc.timeout_seconds)
            .set_healthy_threshold_count(hc.healthy_threshold_count)
            .set_unhealthy_threshold_count(hc.unhealthy_threshold_count)
            .set_matcher(hc.matcher.as_ref().map(sdk_matcher))
            .send()
            .await
            .map_err(call_error("ModifyTargetGroup", &resource))?;
    }
    if step.touches("attributes") && !spec.attributes.is_empty() {
        modify_target_group_attributes(clients, &resource, &live.id, &spec.attributes).await?;
    }
    add_missing_tags(clients, &resource, &live.id, &owned_tags(set, r.name(), &spec.tags), &live.tags).await
}

pub async fn delete_target_group(clients: &Clients, live: &Live) -> Result<(), AwsError> {
    tracing::debug!(target_group = live.name, "DeleteTargetGroup");
    clients
        .elbv2
        .delete_target_group()
        .target_group_arn(&live.id)
        .send()
        .await
        .map_err(call_error("DeleteTargetGroup", format!("{}/{}", live.kind, live.name)))?;
    Ok(())
}

/// CreateLoadBalancer with the ownership tags, its attributes, then every listener with its rules.
/// References are resolved before the first call, so an unresolved one creates nothing.
pub async fn create_load_balancer(clients: &Clients, set: &str, r: &Resource, ids: &Ids) -> Result<String, AwsError> {
    let spec = load_balancer_spec(r)?;
    let name = r.name();
    let resource = r.id();
    let subnets = spec.subnets.iter().map(|s| ids.subnet(s)).collect::<Result<Vec<_>, _>>()?;
    let mappings = spec.subnet_mappings.iter().map(|m| sdk_subnet_mapping(m, ids)).collect::<Result<Vec<_>, _>>()?;
    let security_groups =
        spec.security_groups.iter().map(|sg| ids.resolve(Kind::SecurityGroup, sg)).collect::<Result<Vec<_>, _>>()?;
    let listeners = spec.listeners.iter().map(|l| resolve_listener(l, ids)).collect::<Result<Vec<_>, _>>()?;
    tracing::debug!(load_balancer = name, "CreateLoadBalancer");
    let out = clients
        .elbv2
        .create_load_balancer()
        .name(name)
        .set_type(spec.r#type.as_deref().map(types::LoadBalancerTypeEnum::from))
        .set_scheme(spec.scheme.as_deref().map(types::LoadBalancerSchemeEnum::from))
        .set_subnets(non_empty(subnets))
        .set_subnet_mappings(non_empty(mappings))
        .set_security_groups(non_empty(security_groups))
        .set_ip_address_type(spec.ip_address_type.as_deref().map(types::IpAddressType::from))
        .set_tags(Some(sdk_tags(&owned_tags(set, name, &spec.tags))))
        .send()
        .await
        .map_err(call_error("CreateLoadBalancer", &resource))?;
    let arn = out
        .load_balancers()
        .first()
        .and_then(|lb| lb.load_balancer_arn())
        .ok_or_else(|| AwsError::unresolved(&resource, "CreateLoadBalancer returned no ARN"))?
        .to_string();
    ids.set(Kind::LoadBalancer, name, &arn);
    if !spec.attributes.is_empty() {
        modify_load_balancer_attributes(clients, &resource, &arn, &spec.attributes).await?;
    }
    for listener in &listeners {
        create_listener(clients, set, name, &arn, listener).await?;
    }
    Ok(arn)
}

/// CreateListener for a resolved manifest listener, then CreateRule for each of its rules.
async fn create_listener(
    clients: &Clients,
    set: &str,
    name: &str,
    lb_arn: &str,
    l: &Listener,
) -> Result<String, AwsError> {
    let resource = format!("LoadBalancer/{name}");
    tracing::debug!(load_balancer = name, port = l.port, "CreateListener");
    let out = clients
        .elbv2
        .create_listener()
        .load_balancer_arn(lb_arn)
        .set_port(l.port)
        .set_protocol(l.protocol.as_deref().map(types::ProtocolEnum::from))
        .set_ssl_policy(l.ssl_policy.clone())
        .set_certificates(sdk_certificates(&l.certificates))
        .set_alpn_policy(non_empty(l.alpn_policy.clone()))
        .set_default_actions(Some(l.default_actions.iter().map(sdk_action).collect()))
        .set_tags(Some(sdk_tags(&owned_tags(set, name, &l.tags))))
        .send()
        .await
        .map_err(call_error("CreateListener", &resource))?;
    let arn = out
        .listeners()
        .first()
        .and_then(|l| l.listener_arn())
        .ok_or_else(|| AwsError::unresolved(&resource, "CreateListener returned no ARN"))?
        .to_string();
    for rule in &l.rules {
        create_rule(clients, set, name, &arn, rule).await?;
    }
    Ok(arn)
}

async fn create_rule(
    clients: &Clients,
    set: &str,
    name: &str,
    listener_arn: &str,
    rule: &Rule,
) -> Result<(), AwsError> {
    tracing::debug!(load_balancer = name, priority = rule.priority, "CreateRule");
    clients
        .elbv2
        .create_rule()
        .listener_arn(listener_arn)
        .priority(rule.priority)
        .set_conditions(Some(rule.conditions.iter().map(sdk_condition).collect()))
        .set_actions(Some(rule.actions.iter().map(sdk_action).collect()))
        .set_tags(Some(sdk_tags(&owned_tags(set, name, &rule.tags))))
        .send()
        .await
        .map_err(call_error("CreateRule", format!("LoadBalancer/{name}")))?;
    Ok(())
}

/// Repair what the step says changed: security groups, subnets, IP address type, attributes,
/// missing tags; and when `listeners` changed, the listeners by port and their rules by
/// priority, each call only for a listener or rule that differs from the manifest.
pub async fn update_load_balancer(
    clients: &Clients,
    set: &str,
    step: &Step,
    r: &Resource,
    live: &Live,
    ids: &Ids,
) -> Result<(), AwsError> {
    let spec = load_balancer_spec(r)?;
    let name = r.name();
    let resource = r.id();
    let arn = live.id.as_str();
    // Resolve everything first: an unresolved reference changes nothing.
    let listeners = if step.touches("listeners") {
        Some(spec.listeners.iter().map(|l| resolve_listener(l, ids)).collect::<Result<Vec<_>, _>>()?)
    } else {
        None
    };
    let ops = match &listeners {
        Some(listeners) => plan_listeners(listeners, live)?,
        None => Vec::new(),
    };

    if step.touches("securityGroups") {
        let security_groups = spec
            .security_groups
            .iter()
            .map(|sg| ids.resolve(Kind::SecurityGroup, sg))
            .collect::<Result<Vec<_>, _>>()?;
        tracing::debug!(load_balancer = name, "SetSecurityGroups");
        clients
            .elbv2
            .set_security_groups()
            .load_balancer_arn(arn)
            .set_security_groups(Some(security_groups))
            .send()
            .await
            .map_err(call_error("SetSecurityGroups", &resource))?;
    }
    if step.touches("subnets") || step.touches("subnetMappings") {
        let subnets = spec.subnets.iter().map(|s| ids.subnet(s)).collect::<Result<Vec<_>, _>>()?;
        let mappings =
            spec.subnet_mappings.iter().map(|m| sdk_subnet_mapping(m, ids)).collect::<Result<Vec<_>, _>>()?;
        tracing::debug!(load_balancer = name, "SetSubnets");
        clients
            .elbv2
            .set_subnets()
            .load_balancer_arn(arn)
            .set_subnets(non_empty(subnets))
            .set_subnet_mappings(non_empty(mappings))
            .send()
            .await
            .map_err(call_error("SetSubnets", &resource))?;
    }
    if step.touches("ipAddressType")
        && let Some(ip_address_type) = &spec.ip_address_type
    {
        tracing::debug!(load_balancer = name, "SetIpAddressType");
        clients
            .elbv2
            .set_ip_address_type()
            .load_balancer_arn(arn)
            .ip_address_type(types::IpAddressType::from(ip_address_type.as_str()))
            .send()
            .await
            .map_err(call_error("SetIpAddressType", &resource))?;
    }
    if step.touches("attributes") && !spec.attributes.is_empty() {
        modify_load_balancer_attributes(clients, &resource, arn, &spec.attributes).await?;
    }
    add_missing_tags(clients, &resource, arn, &owned_tags(set, name, &spec.tags), &live.tags).await?;

    for op in ops {
        match op {
            ListenerOp::DeleteRule { arn } => {
                tracing::debug!(load_balancer = name, rule = arn, "DeleteRule");
                clients.elbv2.delete_rule().rule_arn(arn).send().await.map_err(call_error("DeleteRule", &resource))?;
            }
            ListenerOp::DeleteListener { arn } => {
                tracing::debug!(load_balancer = name, listener = arn, "DeleteListener");
                clients
                    .elbv2
                    .delete_listener()
                    .listener_arn(arn)
                    .send()
                    .await
                    .map_err(call_error("DeleteListener", &resource))?;
            }
            ListenerOp::ModifyListener { arn, listener: l } => {
                tracing::debug!(load_balancer = name, port = l.port, "ModifyListener");
                clients
                    .elbv2
                    .modify_listener()
                    .listener_arn(arn)
                    .set_port(l.port)
                    .set_protocol(l.protocol.as_deref().map(types::ProtocolEnum::from))
                    .set_ssl_policy(l.ssl_policy.clone())
                    .set_certificates(sdk_certificates(&l.certificates))
                    .set_alpn_policy(non_empty(l.alpn_policy.clone()))
                    .set_default_actions(Some(l.default_actions.iter().map(sdk_action).collect()))
                    .send()
                    .await
                    .map_err(call_error("ModifyListener", &resource))?;
            }
            ListenerOp::ModifyRule { arn, rule } => {
                tracing::debug!(load_balancer = name, priority = rule.priority, "ModifyRule");
                clients
                    .elbv2
                    .modify_rule()
                    .rule_arn(arn)
                    .set_conditions(Some(rule.conditions.iter().map(sdk_condition).collect()))
                    .set_actions(Some(rule.actions.iter().map(sdk_action).collect()))
                    .send()
                    .await
                    .map_err(call_error("ModifyRule", &resource))?;
            }
            ListenerOp::CreateListener { listener } => {
                create_listener(clients, set, name, arn, listener).await?;
            }
            ListenerOp::CreateRule { listener_arn, rule } => {
                create_rule(clients, set, name, &listener_arn, rule).await?;
            }
        }
    }
    Ok(())
}

/// DeleteLoadBalancer; AWS deletes its listeners and rules with it.
pub async fn delete_load_balancer(clients: &Clients, live: &Live) -> Result<(), AwsError> {
    tracing::debug!(load_balancer = live.name, "DeleteLoadBalancer");
    clients
        .elbv2
        .delete_load_balancer()
        .load_balancer_arn(&live.id)
        .send()
        .await
        .map_err(call_error("DeleteLoadBalancer", format!("{}/{}", live.kind, live.name)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";
    const TG2: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/2";

    fn listener(v: Value) -> Listener {
        serde_json::from_value(v).unwrap()
    }

    /// An observed listener as AWS describes a plain forward: both TargetGroupArn and a
    /// ForwardConfig, an order, a stickiness default.
    fn live_forward(tg: &str) -> Value {
        json!({
            "type": "forward", "order": 1, "targetGroupArn": tg,
            "forwardConfig": {
                "targetGroups": [{"targetGroupArn": tg, "weight": 1}],
                "targetGroupStickinessConfig": {"enabled": false}
            }
        })
    }

    #[test]
    fn a_listener_equal_but_for_aws_defaults_does_not_differ() {
        let desired = listener(json!({
            "port": 80, "protocol": "HTTP",
            "defaultActions": [{"type": "forward", "targetGroupArn": TG}],
            "tags": [{"key": "team", "value": "web"}],
            "rules": [{"priority": 1, "actions": [{"type": "forward", "targetGroupArn": TG}]}]
        }));
        let live = json!({
            "port": 80, "protocol": "HTTP",
            "defaultActions": [live_forward(TG)],
            "rules": []
        });
        assert!(!listener_differs(&desired, &live));
    }

    #[test]
    fn a_listener_forwarding_elsewhere_or_with_another_protocol_differs() {
        let desired = listener(json!({
            "port": 80, "protocol": "HTTP",
            "defaultActions": [{"type": "forward", "targetGroupArn": TG}]
        }));
        let elsewhere = json!({"port": 80, "protocol": "HTTP", "defaultActions": [live_forward(TG2)]});
        assert!(listener_differs(&desired, &elsewhere));
        let https = json!({"port": 80, "protocol": "HTTPS", "defaultActions": [live_forward(TG)]});
        assert!(listener_differs(&desired, &https));
        let two_actions = json!({
            "port": 80, "protocol": "HTTP",
            "defaultActions": [live_forward(TG), {"type": "fixed-response", "order": 2}]
        });
        assert!(listener_differs(&desired, &two_actions));
    }

    #[test]
    fn listeners_are_matched_by_port_and_rules_by_priority() {
        let desired = vec![
            listener(json!({
                "port": 80, "protocol": "HTTP",
                "defaultActions": [{"type": "forward", "targetGroupArn": TG}],
                "rules": [
                    {"priority": 10, "conditions": [{"field": "path-pattern", "values": ["/api/*"]}],
                     "actions": [{"type": "forward", "targetGroupArn": TG2}]},
                    {"priority": 20, "conditions": [{"field": "path-pattern", "values": ["/b/*"]}],
                     "actions": [{"type": "forward", "targetGroupArn": TG2}]},
                    {"priority": 30, "conditions": [{"field": "path-pattern", "values": ["/c/*"]}],
                     "actions": [{"type": "forward", "targetGroupArn": TG}]}
                ]
            })),
            listener(json!({
                "port": 8080, "protocol": "HTTP",
                "defaultActions": [{"type": "forward", "targetGroupArn": TG}]
            })),
        ];
        let mut live = Live::new(Kind::LoadBalancer, "web", "arn:lb");
        live.spec = json!({"listeners": [
            {"port": 80, "protocol": "HTTP", "defaultActions": [live_forward(TG)], "rules": [
                {"priority": 10, "conditions": [{"field": "path-pattern", "values": ["/api/*"],
                  "pathPatternConfig": {"values": ["/api/*"]}}], "actions": [live_forward(TG2)]},
                {"priority": 20, "conditions": [{"field": "path-pattern", "values": ["/old/*"]}],
                 "actions": [live_forward(TG2)]},
                {"priority": 40, "conditions": [], "actions": [live_forward(TG)]}
            ]},
            {"port": 443, "protocol": "HTTP", "defaultActions": [live_forward(TG)], "rules": []}
        ]});
        for (k, v) in [
            ("listener:80", "arn:l80"),
            ("listener:443", "arn:l443"),
            ("rule:80:10", "arn:r10"),
            ("rule:80:20", "arn:r20"),
            ("rule:80:40", "arn:r40"),
        ] {
            live.parts.insert(k.into(), v.into());
        }
        let ops = plan_listeners(&desired, &live).unwrap();
        assert_eq!(
            ops,
            vec![
                ListenerOp::DeleteRule { arn: "arn:r40".into() },
                ListenerOp::DeleteListener { arn: "arn:l443".into() },
                ListenerOp::ModifyRule { arn: "arn:r20".into(), rule: &desired[0].rules[1] },
                ListenerOp::CreateListener { listener: &desired[1] },
                ListenerOp::CreateRule { listener_arn: "arn:l80".into(), rule: &desired[0].rules[2] },
            ]
        );
    }

    #[test]
    fn matching_listeners_need_no_call() {
        let desired = vec![listener(json!({
            "port": 80, "protocol": "HTTP",
            "defaultActions": [{"type": "forward", "targetGroupArn": TG}]
        }))];
        let mut live = Live::new(Kind::LoadBalancer, "web", "arn:lb");
        live.spec = json!({"listeners": [
            {"port": 80, "protocol": "HTTP", "defaultActions": [live_forward(TG)], "rules": []}
        ]});
        live.parts.insert("listener:80".into(), "arn:l80".into());
        assert_eq!(plan_listeners(&desired, &live).unwrap(), vec![]);
    }

    #[test]
    fn the_health_check_block_fills_the_flat_fields() {
        let spec: TargetGroupSpec = serde_json::from_value(json!({
            "healthCheckPath": "/flat",
            "healthCheck": {"path": "/block", "intervalSeconds": 15, "matcher": {"httpCode": "200"}}
        }))
        .unwrap();
        let hc = health_check(&spec);
        assert_eq!(hc.path.as_deref(), Some("/flat"));
        assert_eq!(hc.interval_seconds, Some(15));
        assert_eq!(hc.matcher.and_then(|m| m.http_code).map(|c| c.0).as_deref(), Some("200"));
    }

    #[test]
    fn a_described_target_group_reads_in_manifest_shape() {
        let tg = types::TargetGroup::builder()
            .target_group_arn(TG)
            .target_group_name("web")
            .protocol(types::ProtocolEnum::Http)
            .port(3000)
            .vpc_id("vpc-1")
            .target_type(types::TargetTypeEnum::Ip)
            .health_check_path("/healthz")
            .matcher(types::Matcher::builder().http_code("200").build())
            .build();
        let attributes = BTreeMap::from([("deregistration_delay.timeout_seconds".into(), "30".into())]);
        assert_eq!(
            target_group_live_spec(&tg, Some(&attributes)),
            json!({
                "protocol": "HTTP", "port": 3000, "vpc": "vpc-1", "targetType": "ip",
                "healthCheckPath": "/healthz", "matcher": {"httpCode": "200"},
                "attributes": {"deregistration_delay.timeout_seconds": "30"}
            })
        );
    }
}
