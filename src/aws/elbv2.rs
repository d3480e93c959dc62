//! ELBv2 adapter: target groups and load balancers (with listeners and rules), observed in manifest shape and changed step by step.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use super::{AwsError, Clients, Created, Ids, Target, call_error};
use crate::manifest::spec::NumberString;
use crate::manifest::spec::load_balancer::{Action, LoadBalancerSpec, RuleCondition, SubnetMapping};
use crate::manifest::spec::target_group::{Matcher, TargetGroupSpec};
use crate::manifest::{Kind, ManifestSet, Spec};
use crate::plan::{Action as PlanAction, Elbv2Call, Live, Observed, TAG_NAME, TAG_SET};

/// The largest page `DescribeTargetGroups`, `DescribeLoadBalancers`, `DescribeListeners` and
/// `DescribeRules` return (their `PageSize` maximum; DescribeRules' default page is smaller).
const PAGE_SIZE: i32 = 400;
/// The most ARNs one `DescribeTags` call accepts.
const TAGS_PER_CALL: usize = 20;
/// Concurrent per-resource describe calls during an observe.
const CONCURRENCY: usize = 8;

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

    // Which listed resources are the set's by name, and which ARNs need their tags read. A target
    // group may also carry a name a create-before-destroy replacement generated (`web-3f2a1c`):
    // those are candidates, the set's by their tags.
    let tg_candidates: Vec<(&str, &str, &types::TargetGroup)> = target_groups
        .iter()
        .filter_map(|tg| {
            let aws_name = tg.target_group_name()?;
            let arn = tg.target_group_arn()?;
            let name = tg_specs
                .keys()
                .copied()
                .find(|n| *n == aws_name || crate::plan::replace::is_generated(Kind::TargetGroup, n, aws_name))?;
            Some((name, arn, tg))
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
        tg_candidates
            .iter()
            .map(|(_, arn, _)| arn.to_string())
            .chain(matched_lbs.iter().map(|(_, arn, _)| arn.to_string()))
            .collect()
    };
    let tags = describe_tags(clients, &tag_arns).await?;
    let tags_of = |arn: &str| tags.get(arn).cloned().unwrap_or_default();
    let (matched_tgs, superseded) = generations(set, &tg_candidates, &tags, &desired_tg_names(desired));
    for (name, arn, tg) in superseded {
        let mut live = Live::new(Kind::TargetGroup, name, arn);
        live.tags = tags_of(arn);
        live.spec = target_group_live_spec(tg, None);
        live.aws_name = tg.target_group_name().filter(|n| *n != name).map(str::to_string);
        let mut load_balancers: Vec<String> = tg.load_balancer_arns().to_vec();
        load_balancers.dedup();
        // Drain-aware: targets still registered (ECS deregisters an old deployment's tasks after
        // the deregistration delay) keep it.
        let targets = registered_targets(clients, arn).await?;
        let used_by = if targets > 0 { vec![format!("{targets} registered target(s) draining")] } else { vec![] };
        observed.superseded.push(crate::plan::Superseded { live, used_by, load_balancers });
    }

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
                live.aws_name = tg.target_group_name().filter(|n| *n != name).map(str::to_string);
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

/// The AWS name each target group manifest would get from a replacement now.
fn desired_tg_names(desired: &ManifestSet) -> BTreeMap<String, String> {
    desired
        .of_kind(Kind::TargetGroup)
        .map(|r| (r.name().to_string(), crate::plan::replace::generated_name(r)))
        .collect()
}

type Candidate<'a> = (&'a str, &'a str, &'a types::TargetGroup);

/// Of the target groups that may be a manifest's, the current generation of each (the one under
/// the name a replacement generates for the manifest as it is now, else the one under the
/// manifest's own name, else any the set owns under a generated name) and the superseded ones
/// (the others the set owns with that `ecs-reconciler:name`). A generated name counts only with
/// the set's tags; a group under the manifest's own name counts whoever owns it (the plan
/// refuses or adopts it).
fn generations<'a>(
    set: &str,
    candidates: &[Candidate<'a>],
    tags: &BTreeMap<String, BTreeMap<String, String>>,
    generated: &BTreeMap<String, String>,
) -> (Vec<Candidate<'a>>, Vec<Candidate<'a>>) {
    let ours = |name: &str, arn: &str| {
        tags.get(arn).is_some_and(|t| {
            t.get(TAG_SET).map(String::as_str) == Some(set) && t.get(TAG_NAME).map(String::as_str) == Some(name)
        })
    };
    let (mut current, mut superseded) = (Vec::new(), Vec::new());
    let names: std::collections::BTreeSet<&str> = candidates.iter().map(|c| c.0).collect();
    for name in names {
        let mine: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.0 == name)
            .filter(|(n, arn, tg)| tg.target_group_name() == Some(n) || ours(n, arn))
            .collect();
        let aws = |c: &&Candidate| c.2.target_group_name().unwrap_or_default().to_string();
        let pick = mine
            .iter()
            .position(|c| generated.get(name) == Some(&aws(c)))
            .or_else(|| mine.iter().position(|c| aws(c) == name))
            .or_else(|| (!mine.is_empty()).then_some(0));
        for (i, c) in mine.iter().enumerate() {
            if Some(i) == pick {
                current.push(**c);
            } else if ours(c.0, c.1) {
                superseded.push(**c);
            }
        }
    }
    (current, superseded)
}

/// How many targets are registered in the target group (any state, draining included).
async fn registered_targets(clients: &Clients, arn: &str) -> Result<usize, AwsError> {
    tracing::debug!(target_group = arn, "DescribeTargetHealth");
    let out = clients
        .elbv2
        .describe_target_health()
        .target_group_arn(arn)
        .send()
        .await
        .map_err(call_error("DescribeTargetHealth", arn.to_string()))?;
    Ok(out.target_health_descriptions().len())
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
            .page_size(PAGE_SIZE)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(call_error("DescribeListeners", resource.clone()))?;
        let mut listeners: Vec<types::Listener> =
            pages.into_iter().flat_map(|p| p.listeners.unwrap_or_default()).collect();
        let rules =
            futures::future::try_join_all(listeners.iter().map(|l| listener_rules(clients, &resource, l))).await?;
        // DescribeListeners reports only the default certificate; where the manifest gives more,
        // read them all (one call per such listener, none otherwise).
        for l in &mut listeners {
            let wanted = spec.listeners.iter().find(|m| m.port == l.port()).map_or(0, |m| m.certificates.len());
            if wanted > 1
                && let Some(arn) = l.listener_arn().map(str::to_string)
            {
                l.certificates = Some(listener_certificates(clients, &resource, &arn).await?);
            }
        }
        Ok::<_, AwsError>(listeners.into_iter().zip(rules).collect::<Vec<_>>())
    };
    let (attributes, listeners) = futures::try_join!(attributes, listeners)?;
    let mut live = Live::new(Kind::LoadBalancer, name, arn);
    live.spec = load_balancer_live_spec(lb, attributes.as_ref(), Some(&listeners), !spec.subnet_mappings.is_empty());
    live.parts = listener_parts(&listeners);
    Ok(live)
}

/// Every certificate of a listener, the default first (DescribeListenerCertificates lists the
/// default too, with `IsDefault`).
async fn listener_certificates(
    clients: &Clients,
    resource: &str,
    listener_arn: &str,
) -> Result<Vec<types::Certificate>, AwsError> {
    tracing::debug!(listener = listener_arn, "DescribeListenerCertificates");
    let pages: Vec<_> = clients
        .elbv2
        .describe_listener_certificates()
        .listener_arn(listener_arn)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(call_error("DescribeListenerCertificates", resource))?;
    let mut certs: Vec<types::Certificate> =
        pages.into_iter().flat_map(|p| p.certificates.unwrap_or_default()).collect();
    certs.sort_by_key(|c| c.is_default() != Some(true));
    Ok(certs)
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
        .page_size(PAGE_SIZE)
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

fn sdk_subnet_mapping(m: &SubnetMapping, ids: &Ids) -> Result<types::SubnetMapping, AwsError> {
    Ok(types::SubnetMapping::builder()
        .set_subnet_id(m.subnet_id.as_deref().map(|s| ids.subnet(s)).transpose()?)
        .set_allocation_id(m.allocation_id.clone())
        .set_private_ipv4_address(m.private_ipv4_address.clone())
        .set_ipv6_address(m.ipv6_address.clone())
        .build())
}

// ---------------------------------------------------------------------------------------------
// Apply: one action, one call
// ---------------------------------------------------------------------------------------------

fn certificates_of(action: &PlanAction) -> Result<Option<Vec<types::Certificate>>, String> {
    let arns: Option<Vec<String>> = action.param("certificates")?;
    Ok(arns.map(|a| a.into_iter().map(|arn| types::Certificate::builder().certificate_arn(arn).build()).collect()))
}

fn actions_of(action: &PlanAction, key: &str, ids: &Ids) -> Result<Option<Vec<types::Action>>, AwsError> {
    let resource = key.to_string();
    let Some(list) = action.param::<Vec<Action>>(key).map_err(|e| AwsError::unresolved(&resource, e))? else {
        return Ok(None);
    };
    let resolved = list.iter().map(|a| resolve_action(a, ids)).collect::<Result<Vec<_>, _>>()?;
    Ok(Some(resolved.iter().map(sdk_action).collect()))
}

fn conditions_of(action: &PlanAction) -> Result<Option<Vec<types::RuleCondition>>, String> {
    Ok(action.param::<Vec<RuleCondition>>("conditions")?.map(|c| c.iter().map(sdk_condition).collect()))
}

fn tags_of(action: &PlanAction, key: Option<&str>) -> Result<Vec<types::Tag>, String> {
    let tags: BTreeMap<String, String> = match key {
        Some(k) => action.param(k)?.unwrap_or_default(),
        None => serde_json::from_value(action.params.clone()).map_err(|e| e.to_string())?,
    };
    Ok(sdk_tags(&tags))
}

fn attributes_param(action: &PlanAction) -> Result<BTreeMap<String, String>, String> {
    Ok(action.param("attributes")?.unwrap_or_default())
}

/// The set a create's tags name as owner.
fn owner_of(action: &PlanAction) -> String {
    action
        .param::<BTreeMap<String, String>>("tags")
        .ok()
        .flatten()
        .and_then(|t| t.get(TAG_SET).cloned())
        .unwrap_or_default()
}

/// The ARN of the target group or load balancer of this name that the set owns (by its tags).
async fn find_owned(clients: &Clients, kind: Kind, name: &str, set: &str) -> Result<Option<String>, AwsError> {
    let arns: Vec<String> = if kind == Kind::TargetGroup {
        match clients.elbv2.describe_target_groups().names(name).send().await {
            Ok(out) => out.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_string)).collect(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_target_group_not_found_exception()) => vec![],
            Err(e) => return Err(call_error("DescribeTargetGroups", format!("{kind}/{name}"))(e)),
        }
    } else {
        match clients.elbv2.describe_load_balancers().names(name).send().await {
            Ok(out) => out.load_balancers().iter().filter_map(|l| l.load_balancer_arn().map(str::to_string)).collect(),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_load_balancer_not_found_exception()) => vec![],
            Err(e) => return Err(call_error("DescribeLoadBalancers", format!("{kind}/{name}"))(e)),
        }
    };
    if arns.is_empty() {
        return Ok(None);
    }
    let tags = describe_tags(clients, &arns).await?;
    Ok(arns.into_iter().find(|a| tags.get(a).and_then(|t| t.get(TAG_SET)).is_some_and(|s| s == set)))
}

/// The ARN of the load balancer's listener on `port`.
async fn find_listener(clients: &Clients, lb: &str, port: Option<i32>) -> Result<Option<String>, AwsError> {
    let out = clients
        .elbv2
        .describe_listeners()
        .load_balancer_arn(lb)
        .send()
        .await
        .map_err(call_error("DescribeListeners", lb.to_string()))?;
    Ok(out.listeners().iter().find(|l| l.port() == port).and_then(|l| l.listener_arn()).map(str::to_string))
}

/// The ARN of the listener's rule with this priority.
async fn find_rule(clients: &Clients, listener: &str, priority: &str) -> Result<Option<String>, AwsError> {
    let out = clients
        .elbv2
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .map_err(call_error("DescribeRules", listener.to_string()))?;
    Ok(out.rules().iter().find(|r| r.priority() == Some(priority)).and_then(|r| r.rule_arn()).map(str::to_string))
}

/// Run one planned ELBv2 action.
pub async fn execute(
    clients: &Clients,
    call: Elbv2Call,
    target: &Target<'_>,
    action: &PlanAction,
    ids: &Ids,
) -> Result<Created, AwsError> {
    let resource = target.resource();
    let p = |e: String| AwsError::unresolved(&resource, e);
    let elb = &clients.elbv2;
    let op = call.operation();
    tracing::debug!(%resource, call = op, summary = %action.summary, "ELBv2");
    let hc_port = |a: &PlanAction| a.param::<NumberString>("healthCheckPort").map(|v| v.map(|n| n.0));
    match call {
        Elbv2Call::CreateTargetGroup => {
            let vpc = action.param::<String>("vpc").map_err(p)?.map(|v| ids.vpc(&v)).transpose()?;
            // A create-before-destroy replacement names a generated AWS name.
            let aws_name = action.param::<String>("name").map_err(p)?.unwrap_or_else(|| target.name.to_string());
            let request = elb
                .create_target_group()
                .name(&aws_name)
                .set_protocol(
                    action.param::<String>("protocol").map_err(p)?.map(|v| types::ProtocolEnum::from(v.as_str())),
                )
                .set_protocol_version(action.param("protocolVersion").map_err(p)?)
                .set_port(action.param("port").map_err(p)?)
                .set_vpc_id(vpc)
                .set_target_type(
                    action.param::<String>("targetType").map_err(p)?.map(|v| types::TargetTypeEnum::from(v.as_str())),
                )
                .set_ip_address_type(
                    action
                        .param::<String>("ipAddressType")
                        .map_err(p)?
                        .map(|v| types::TargetGroupIpAddressTypeEnum::from(v.as_str())),
                )
                .set_health_check_protocol(
                    action
                        .param::<String>("healthCheckProtocol")
                        .map_err(p)?
                        .map(|v| types::ProtocolEnum::from(v.as_str())),
                )
                .set_health_check_port(hc_port(action).map_err(p)?)
                .set_health_check_enabled(action.param("healthCheckEnabled").map_err(p)?)
                .set_health_check_path(action.param("healthCheckPath").map_err(p)?)
                .set_health_check_interval_seconds(action.param("healthCheckIntervalSeconds").map_err(p)?)
                .set_health_check_timeout_seconds(action.param("healthCheckTimeoutSeconds").map_err(p)?)
                .set_healthy_threshold_count(action.param("healthyThresholdCount").map_err(p)?)
                .set_unhealthy_threshold_count(action.param("unhealthyThresholdCount").map_err(p)?)
                .set_matcher(action.param::<Matcher>("matcher").map_err(p)?.as_ref().map(sdk_matcher))
                .set_tags(Some(tags_of(action, Some("tags")).map_err(p)?));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let out = req.send().await.map_err(call_error(op, &resource))?;
                    let arn = out.target_groups().first().and_then(|tg| tg.target_group_arn());
                    arn.map(str::to_string)
                        .ok_or_else(|| AwsError::unresolved(&resource, "CreateTargetGroup returned no ARN"))
                }
            };
            let set = owner_of(action);
            let arn = super::create_or_find(send, || find_owned(clients, Kind::TargetGroup, &aws_name, &set)).await?;
            Ok(Created::Resource(arn))
        }
        Elbv2Call::ModifyTargetGroup => {
            elb.modify_target_group()
                .target_group_arn(target.id()?)
                .set_health_check_protocol(
                    action
                        .param::<String>("healthCheckProtocol")
                        .map_err(p)?
                        .map(|v| types::ProtocolEnum::from(v.as_str())),
                )
                .set_health_check_port(hc_port(action).map_err(p)?)
                .set_health_check_enabled(action.param("healthCheckEnabled").map_err(p)?)
                .set_health_check_path(action.param("healthCheckPath").map_err(p)?)
                .set_health_check_interval_seconds(action.param("healthCheckIntervalSeconds").map_err(p)?)
                .set_health_check_timeout_seconds(action.param("healthCheckTimeoutSeconds").map_err(p)?)
                .set_healthy_threshold_count(action.param("healthyThresholdCount").map_err(p)?)
                .set_unhealthy_threshold_count(action.param("unhealthyThresholdCount").map_err(p)?)
                .set_matcher(action.param::<Matcher>("matcher").map_err(p)?.as_ref().map(sdk_matcher))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::ModifyTargetGroupAttributes => {
            elb.modify_target_group_attributes()
                .target_group_arn(target.id()?)
                .set_attributes(Some(target_group_attributes_of(&attributes_param(action).map_err(p)?)))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::DeleteTargetGroup => {
            let id: String = action.param("id").map_err(p)?.unwrap_or_default();
            elb.delete_target_group().target_group_arn(id).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::CreateLoadBalancer => {
            let subnets: Vec<String> = action.param("subnets").map_err(p)?.unwrap_or_default();
            let subnets = subnets.iter().map(|s| ids.subnet(s)).collect::<Result<Vec<_>, _>>()?;
            let mappings: Vec<SubnetMapping> = action.param("subnetMappings").map_err(p)?.unwrap_or_default();
            let mappings = mappings.iter().map(|m| sdk_subnet_mapping(m, ids)).collect::<Result<Vec<_>, _>>()?;
            let groups: Vec<String> = action.param("securityGroups").map_err(p)?.unwrap_or_default();
            let groups = groups.iter().map(|g| ids.resolve(Kind::SecurityGroup, g)).collect::<Result<Vec<_>, _>>()?;
            let request = elb
                .create_load_balancer()
                .name(target.name)
                .set_type(
                    action.param::<String>("type").map_err(p)?.map(|v| types::LoadBalancerTypeEnum::from(v.as_str())),
                )
                .set_scheme(
                    action
                        .param::<String>("scheme")
                        .map_err(p)?
                        .map(|v| types::LoadBalancerSchemeEnum::from(v.as_str())),
                )
                .set_subnets(non_empty(subnets))
                .set_subnet_mappings(non_empty(mappings))
                .set_security_groups(non_empty(groups))
                .set_ip_address_type(
                    action.param::<String>("ipAddressType").map_err(p)?.map(|v| types::IpAddressType::from(v.as_str())),
                )
                .set_tags(Some(tags_of(action, Some("tags")).map_err(p)?));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let out = req.send().await.map_err(call_error(op, &resource))?;
                    let arn = out.load_balancers().first().and_then(|lb| lb.load_balancer_arn());
                    arn.map(str::to_string)
                        .ok_or_else(|| AwsError::unresolved(&resource, "CreateLoadBalancer returned no ARN"))
                }
            };
            let set = owner_of(action);
            let arn =
                super::create_or_find(send, || find_owned(clients, Kind::LoadBalancer, target.name, &set)).await?;
            Ok(Created::Resource(arn))
        }
        Elbv2Call::SetSecurityGroups => {
            let groups: Vec<String> = action.param("securityGroups").map_err(p)?.unwrap_or_default();
            let groups = groups.iter().map(|g| ids.resolve(Kind::SecurityGroup, g)).collect::<Result<Vec<_>, _>>()?;
            elb.set_security_groups()
                .load_balancer_arn(target.id()?)
                .set_security_groups(Some(groups))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::SetSubnets => {
            let subnets: Vec<String> = action.param("subnets").map_err(p)?.unwrap_or_default();
            let subnets = subnets.iter().map(|s| ids.subnet(s)).collect::<Result<Vec<_>, _>>()?;
            let mappings: Vec<SubnetMapping> = action.param("subnetMappings").map_err(p)?.unwrap_or_default();
            let mappings = mappings.iter().map(|m| sdk_subnet_mapping(m, ids)).collect::<Result<Vec<_>, _>>()?;
            elb.set_subnets()
                .load_balancer_arn(target.id()?)
                .set_subnets(non_empty(subnets))
                .set_subnet_mappings(non_empty(mappings))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::SetIpAddressType => {
            let t: String = action.param("ipAddressType").map_err(p)?.unwrap_or_default();
            elb.set_ip_address_type()
                .load_balancer_arn(target.id()?)
                .ip_address_type(types::IpAddressType::from(t.as_str()))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::ModifyLoadBalancerAttributes => {
            elb.modify_load_balancer_attributes()
                .load_balancer_arn(target.id()?)
                .set_attributes(Some(load_balancer_attributes_of(&attributes_param(action).map_err(p)?)))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::DeleteLoadBalancer => {
            let id: String = action.param("id").map_err(p)?.unwrap_or_default();
            elb.delete_load_balancer().load_balancer_arn(id).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::CreateListener => {
            let request = elb
                .create_listener()
                .load_balancer_arn(target.id()?)
                .set_port(action.param("port").map_err(p)?)
                .set_protocol(
                    action.param::<String>("protocol").map_err(p)?.map(|v| types::ProtocolEnum::from(v.as_str())),
                )
                .set_ssl_policy(action.param("sslPolicy").map_err(p)?)
                .set_certificates(certificates_of(action).map_err(p)?)
                .set_alpn_policy(action.param("alpnPolicy").map_err(p)?)
                .set_default_actions(actions_of(action, "defaultActions", ids)?)
                .set_tags(Some(tags_of(action, Some("tags")).map_err(p)?));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let out = req.send().await.map_err(call_error(op, &resource))?;
                    let arn = out.listeners().first().and_then(|l| l.listener_arn());
                    arn.map(str::to_string)
                        .ok_or_else(|| AwsError::unresolved(&resource, "CreateListener returned no ARN"))
                }
            };
            let lb = target.id()?.to_string();
            let port: Option<i32> = action.param("port").map_err(p)?;
            let find = || find_listener(clients, &lb, port);
            let arn = super::create_or_find(send, find).await?;
            Ok(Created::Part(action.part.clone().unwrap_or_default(), arn))
        }
        Elbv2Call::ModifyListener => {
            elb.modify_listener()
                .listener_arn(target.part(action)?)
                .set_port(action.param("port").map_err(p)?)
                .set_protocol(
                    action.param::<String>("protocol").map_err(p)?.map(|v| types::ProtocolEnum::from(v.as_str())),
                )
                .set_ssl_policy(action.param("sslPolicy").map_err(p)?)
                .set_certificates(certificates_of(action).map_err(p)?)
                .set_alpn_policy(action.param("alpnPolicy").map_err(p)?)
                .set_default_actions(actions_of(action, "defaultActions", ids)?)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::DeleteListener => {
            elb.delete_listener().listener_arn(target.part(action)?).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::AddListenerCertificates => {
            elb.add_listener_certificates()
                .listener_arn(target.part(action)?)
                .set_certificates(certificates_of(action).map_err(p)?)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::RemoveListenerCertificates => {
            elb.remove_listener_certificates()
                .listener_arn(target.part(action)?)
                .set_certificates(certificates_of(action).map_err(p)?)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::CreateRule => {
            let priority = action.param::<NumberString>("priority").map_err(p)?.map(|n| n.0).unwrap_or_default();
            let priority_n: i32 = priority.parse().map_err(|_| p(format!("rule priority `{priority}`")))?;
            let request = elb
                .create_rule()
                .listener_arn(target.part(action)?)
                .priority(priority_n)
                .set_conditions(conditions_of(action).map_err(p)?.or(Some(vec![])))
                .set_actions(actions_of(action, "actions", ids)?)
                .set_tags(Some(tags_of(action, Some("tags")).map_err(p)?));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let out = req.send().await.map_err(call_error(op, &resource))?;
                    Ok(out.rules().first().and_then(|r| r.rule_arn()).unwrap_or_default().to_string())
                }
            };
            let listener = target.part(action)?.to_string();
            let arn = super::create_or_find(send, || find_rule(clients, &listener, &priority)).await?;
            let port = action.part.as_deref().and_then(|l| l.strip_prefix("listener:")).unwrap_or("0");
            Ok(Created::Part(format!("rule:{port}:{priority}"), arn))
        }
        Elbv2Call::ModifyRule => {
            elb.modify_rule()
                .rule_arn(target.part(action)?)
                .set_conditions(conditions_of(action).map_err(p)?)
                .set_actions(actions_of(action, "actions", ids)?)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::DeleteRule => {
            elb.delete_rule().rule_arn(target.part(action)?).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Elbv2Call::AddTags => {
            elb.add_tags()
                .resource_arns(target.id()?)
                .set_tags(Some(tags_of(action, None).map_err(p)?))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";

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
