//! Normalise, then diff. Desired specs (from manifests) and live specs (from adapters) are put in
//! one form before they are compared: AWS's defaults written out on both sides, sets sorted,
//! references as manifest names, subnets and VPCs as IDs, units and spellings made one. Each rule
//! has a table test below; a rule missing here shows up as endless drift.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::model::Observed;
use crate::manifest::Kind;
use crate::manifest::validate::{cpu_units, memory_mib};

/// What normalisation needs to know beyond the spec itself.
pub struct Ctx<'a> {
    pub observed: &'a Observed,
    /// Task-definition family → the revision label a service should run (`web:7`, or
    /// `web:(new)` when this run registers it).
    pub revisions: &'a BTreeMap<String, String>,
    /// [`Observed::name_of`] as a map (`Observed::names`), built once per plan: a plan of 1,000
    /// services looks up thousands of references. `None`: scan `observed`.
    pub names: Option<&'a BTreeMap<(Kind, String), String>>,
}

/// The desired spec of a manifest in comparable form. Tags are compared separately.
pub fn desired(kind: Kind, mut spec: Value, ctx: &Ctx) -> Value {
    remove(&mut spec, "tags");
    match kind {
        Kind::SecurityGroup => security_group(&mut spec, ctx, Side::Desired),
        Kind::TargetGroup => target_group(&mut spec, ctx, Side::Desired),
        Kind::LoadBalancer => load_balancer(&mut spec, ctx, Side::Desired),
        Kind::TaskDefinition => task_definition(&mut spec),
        Kind::Cluster => cluster(&mut spec),
        Kind::Service => service(&mut spec, ctx, Side::Desired),
        Kind::LogGroup => log_group(&mut spec),
        Kind::ScalableTarget => scalable_target(&mut spec, ctx, Side::Desired),
    }
    spec
}

/// A live spec (adapter output) in the same form as [`desired`].
pub fn live(kind: Kind, mut spec: Value, ctx: &Ctx) -> Value {
    remove(&mut spec, "tags");
    match kind {
        Kind::SecurityGroup => security_group(&mut spec, ctx, Side::Live),
        Kind::TargetGroup => target_group(&mut spec, ctx, Side::Live),
        Kind::LoadBalancer => load_balancer(&mut spec, ctx, Side::Live),
        Kind::TaskDefinition => task_definition(&mut spec),
        Kind::Cluster => cluster(&mut spec),
        Kind::Service => service(&mut spec, ctx, Side::Live),
        Kind::LogGroup => log_group(&mut spec),
        Kind::ScalableTarget => scalable_target(&mut spec, ctx, Side::Live),
    }
    spec
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Desired,
    Live,
}

// ---- small tools -------------------------------------------------------------------------------

fn obj(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

fn remove(v: &mut Value, key: &str) -> Option<Value> {
    obj(v).and_then(|o| o.remove(key))
}

/// Set `key` to `default` when absent.
fn default(v: &mut Value, key: &str, default: Value) {
    if let Some(o) = obj(v) {
        o.entry(key.to_string()).or_insert(default);
    }
}

fn each<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.get_mut(key).and_then(Value::as_array_mut).into_iter().flatten()
}

fn sort_strings(v: &mut Value, key: &str) {
    if let Some(Value::Array(a)) = v.get_mut(key) {
        a.sort_by_key(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string()));
    }
}

/// Sort a list of objects by a key made from some of their fields.
fn sort_by(v: &mut Value, key: &str, fields: &[&str]) {
    if let Some(Value::Array(a)) = v.get_mut(key) {
        a.sort_by_key(|x| fields.iter().map(|f| x.get(*f).map(canonical).unwrap_or_default()).collect::<Vec<_>>());
    }
}

fn canonical(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => format!("{:>12}", n.to_string()),
        other => other.to_string(),
    }
}

/// A listener's port or a rule's priority as the key the plan finds it by (`80`, `"10"` → `"80"`,
/// `"10"`; `"0"` when absent).
pub(super) fn key(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => "0".into(),
    }
}

/// Numbers AWS carries as strings (and the reverse) compared as one: `"80"` and `80` → `"80"`.
fn as_string(v: &mut Value, key: &str) {
    if let Some(o) = obj(v)
        && let Some(x) = o.get_mut(key)
    {
        if let Value::Number(n) = x {
            *x = Value::String(n.to_string());
        } else if let Value::Bool(b) = x {
            *x = Value::String(b.to_string());
        }
    }
}

/// A reference field: names stay names; an ARN/ID that belongs to a resource of the set becomes
/// its name, so a desired `web` and a live `arn:...:targetgroup/web/...` compare equal.
fn reference(v: &mut Value, kind: Kind, ctx: &Ctx) {
    if let Value::String(s) = v {
        let name = match ctx.names {
            Some(names) => names.get(&(kind, s.clone())).cloned(),
            None => ctx.observed.name_of(kind, s).map(str::to_string),
        };
        if let Some(name) = name {
            *s = name;
        }
    }
}

fn reference_at(v: &mut Value, key: &str, kind: Kind, ctx: &Ctx) {
    if let Some(x) = v.get_mut(key) {
        reference(x, kind, ctx);
    }
}

fn references_in_list(v: &mut Value, key: &str, kind: Kind, ctx: &Ctx) {
    for x in each(v, key) {
        reference(x, kind, ctx);
    }
    sort_strings(v, key);
}

fn subnets(v: &mut Value, key: &str, ctx: &Ctx, side: Side) {
    if side == Side::Desired {
        for x in each(v, key) {
            if let Some(id) = x.as_str().and_then(|s| ctx.observed.subnet_id(s)) {
                *x = Value::String(id);
            }
        }
    }
    sort_strings(v, key);
}

fn vpc(v: &mut Value, ctx: &Ctx, side: Side) {
    if side == Side::Desired
        && let Some(x) = v.get_mut("vpc")
        && let Some(id) = x.as_str().and_then(|s| ctx.observed.vpc_id(s))
    {
        *x = Value::String(id);
    }
}

// ---- the kinds ---------------------------------------------------------------------------------

fn cluster(spec: &mut Value) {
    // Settings are compared by name, and only those the manifest names: an unset
    // `containerInsights` takes the account's default (PutAccountSettingDefault), which the
    // reconciler cannot know and must not undo (AWS-FACTS [F:cluster-ci]).
    sort_by(spec, "settings", &["name"]);
    sort_strings(spec, "capacityProviders");
    for s in each(spec, "defaultCapacityProviderStrategy") {
        // CapacityProviderStrategyItem: "base ... If no value is specified, the default value of
        // 0 is used"; weight likewise (ECS API reference); live reads carry `base: 0` [F:cluster].
        default(s, "base", json!(0));
        default(s, "weight", json!(0));
    }
    sort_by(spec, "defaultCapacityProviderStrategy", &["capacityProvider"]);
}

/// Task definitions: what AWS fills into a registered revision, filled into the manifest too.
fn task_definition(spec: &mut Value) {
    remove(spec, "family");
    default(spec, "networkMode", json!("bridge"));
    let awsvpc = spec["networkMode"] == "awsvpc";
    for key in ["cpu", "memory"] {
        let normal = spec.get(key).map(|v| match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => {
                let units = if key == "cpu" { cpu_units(s) } else { memory_mib(s) };
                units.map(|u| u.to_string()).unwrap_or_else(|| s.clone())
            }
            other => other.to_string(),
        });
        if let (Some(n), Some(o)) = (normal, obj(spec)) {
            o.insert(key.into(), Value::String(n));
        }
    }
    sort_strings(spec, "requiresCompatibilities");
    for c in each(spec, "containerDefinitions") {
        default(c, "essential", json!(true));
        default(c, "cpu", json!(0));
        for p in each(c, "portMappings") {
            default(p, "protocol", json!("tcp"));
            let container_port = p.get("containerPort").cloned().unwrap_or(json!(0));
            default(p, "hostPort", if awsvpc { container_port } else { json!(0) });
        }
        sort_by(c, "environment", &["name"]);
        sort_by(c, "secrets", &["name"]);
        // AWS reports empty lists for these; an absent list in a manifest means the same.
        for key in ["environment", "mountPoints", "volumesFrom", "systemControls", "portMappings"] {
            if c.get(key).and_then(Value::as_array).is_some_and(Vec::is_empty) {
                remove(c, key);
            }
        }
    }
    for key in ["volumes", "placementConstraints"] {
        if spec.get(key).and_then(Value::as_array).is_some_and(Vec::is_empty) {
            remove(spec, key);
        }
    }
}

fn service(spec: &mut Value, ctx: &Ctx, side: Side) {
    // The cluster is part of a service's identity: it is how the service was found.
    remove(spec, "cluster");
    if let Some(Value::String(td)) = spec.get_mut("taskDefinition") {
        *td = match side {
            // `family` or `family:rev` → the revision this run settles on.
            Side::Desired => {
                let family = td.split(':').next().unwrap_or(td).to_string();
                if td.starts_with("arn:") {
                    revision_label(td)
                } else {
                    ctx.revisions.get(&family).cloned().unwrap_or_else(|| td.clone())
                }
            }
            Side::Live => revision_label(td),
        };
    }
    let daemon = spec["schedulingStrategy"] == "DAEMON";
    default(spec, "schedulingStrategy", json!("REPLICA"));
    default(spec, "deploymentConfiguration", json!({}));
    if let Some(d) = spec.get_mut("deploymentConfiguration") {
        default(d, "maximumPercent", json!(if daemon { 100 } else { 200 }));
        default(d, "minimumHealthyPercent", json!(if daemon { 0 } else { 100 }));
        default(d, "deploymentCircuitBreaker", json!({"enable": false, "rollback": false}));
    }
    // A role given by name comes back as its ARN (AWS-FACTS [F:svc-role], create-service
    // Example 4): compare the name with its path, `arn:aws:iam::1:role/path/name` → `path/name`.
    if let Some(Value::String(role)) = spec.get_mut("role")
        && let Some((_, name)) = role.split_once(":role/")
    {
        *role = name.to_string();
    }
    default(spec, "propagateTags", json!("NONE"));
    default(spec, "enableECSManagedTags", json!(false));
    default(spec, "enableExecuteCommand", json!(false));
    default(spec, "healthCheckGracePeriodSeconds", json!(0));
    default(spec, "deploymentController", json!({"type": "ECS"}));
    if let Some(a) = spec.pointer_mut("/networkConfiguration/awsvpcConfiguration") {
        default(a, "assignPublicIp", json!("DISABLED"));
        subnets(a, "subnets", ctx, side);
        references_in_list(a, "securityGroups", Kind::SecurityGroup, ctx);
    }
    for lb in each(spec, "loadBalancers") {
        if let Some(arn) = remove(lb, "targetGroupArn")
            && let Some(o) = obj(lb)
        {
            o.insert("targetGroup".into(), arn);
        }
        reference_at(lb, "targetGroup", Kind::TargetGroup, ctx);
        if let Some(a) = lb.get_mut("advancedConfiguration") {
            advanced_configuration(a, ctx);
        }
    }
    sort_by(spec, "loadBalancers", &["targetGroup", "containerName", "containerPort"]);
    if let Some(d) = spec.get_mut("deploymentConfiguration") {
        deployment_strategy(d);
    }
    sort_by(spec, "placementStrategy", &["type", "field"]);
    sort_by(spec, "capacityProviderStrategy", &["capacityProvider"]);
    for s in each(spec, "capacityProviderStrategy") {
        default(s, "base", json!(0));
        default(s, "weight", json!(0));
    }
}

/// A blue/green pair's settings: the alternate target group by name (`alternateTargetGroupArn`
/// as AWS reports it → `alternateTargetGroup`), and each listener rule as where it is in a load
/// balancer of the set (`{loadBalancer, port, priority}`, a listener without `priority`) when
/// the set has it; other ARNs stay ARNs.
fn advanced_configuration(a: &mut Value, ctx: &Ctx) {
    if let Some(arn) = remove(a, "alternateTargetGroupArn")
        && let Some(o) = obj(a)
    {
        o.entry("alternateTargetGroup".to_string()).or_insert(arn);
    }
    reference_at(a, "alternateTargetGroup", Kind::TargetGroup, ctx);
    for key in ["productionListenerRule", "testListenerRule"] {
        if let Some(rule) = a.get_mut(key)
            && let Some(arn) = rule.as_str()
            && let Some(at) = listener_rule_of(arn, ctx)
        {
            *rule = at;
        }
    }
}

/// Where a listener rule's (or listener's) ARN is in the observed load balancers of the set.
fn listener_rule_of(arn: &str, ctx: &Ctx) -> Option<Value> {
    let (load_balancer, part) = ctx.observed.part_of(Kind::LoadBalancer, arn)?;
    let mut at = part.split(':');
    match (at.next()?, at.next()?.parse::<i64>().ok()?, at.next()) {
        ("listener", port, None) => Some(json!({"loadBalancer": load_balancer, "port": port})),
        ("rule", port, Some(priority)) => {
            Some(json!({"loadBalancer": load_balancer, "port": port, "priority": priority.parse::<i64>().ok()?}))
        }
        _ => None,
    }
}

/// Deployment strategies (ECS API reference, DeploymentConfiguration): `strategy` ROLLING when
/// absent (DescribeServices returns it [F:svc-deploy]); a traffic-shifting strategy's lifecycle
/// hooks are a list the manifest owns (none listed: none wanted), and the linear and canary
/// percentages are decimals (`10` and `10.0` are one value).
fn deployment_strategy(d: &mut Value) {
    default(d, "strategy", json!("ROLLING"));
    if matches!(d["strategy"].as_str(), Some("BLUE_GREEN" | "LINEAR" | "CANARY")) {
        default(d, "lifecycleHooks", json!([]));
    }
    for h in each(d, "lifecycleHooks") {
        // DeploymentLifecycleHook: "If not specified, the default value is AWS_LAMBDA".
        default(h, "targetType", json!("AWS_LAMBDA"));
        sort_strings(h, "lifecycleStages");
    }
    for (config, key) in [("linearConfiguration", "stepPercent"), ("canaryConfiguration", "canaryPercent")] {
        if let Some(c) = d.get_mut(config)
            && let Some(n) = c.get(key).and_then(Value::as_f64)
        {
            c[key] = json!(n);
        }
    }
}

/// ECS owns which target group of a blue/green pair is primary: a deployment swaps them. When
/// the live service has the desired pair the other way round, the desired side takes the live
/// order, so the swap is no difference and an UpdateService sent for another field keeps it
/// (ECS developer guide, blue/green deployments: after the deployment the alternate target
/// group becomes the production one).
pub fn orient_blue_green_pairs(desired: &mut Value, live: &Value) {
    let pair = |lb: &Value| {
        let alternate = lb.pointer("/advancedConfiguration/alternateTargetGroup")?.clone();
        Some((lb.get("targetGroup")?.clone(), alternate))
    };
    let live_pairs: Vec<(Value, Value)> =
        live.get("loadBalancers").and_then(Value::as_array).into_iter().flatten().filter_map(pair).collect();
    for lb in each(desired, "loadBalancers") {
        let Some((primary, alternate)) = pair(lb) else { continue };
        if live_pairs.contains(&(alternate.clone(), primary.clone())) {
            lb["targetGroup"] = alternate;
            lb["advancedConfiguration"]["alternateTargetGroup"] = primary;
        }
    }
}

/// ECS owns the forward action of a blue/green pair's listener rules (`parts`: `rule:443:10`,
/// or `listener:443` for a network load balancer's listener, each with the pair's target
/// groups): a deployment rewrites it to a weighted forward over both groups and moves the weights
/// (ECS developer guide, blue/green deployments: "traffic is gradually shifted ... by adjusting
/// the weights of the target groups in the listener rules"). Where both sides forward only to
/// the pair, the desired side takes the live forward action, so a traffic shift is no
/// difference and a ModifyRule sent for another field keeps it. A forward to any other group is
/// still drift.
pub fn take_ecs_forwards(
    desired: &mut Value,
    live: &Value,
    parts: &BTreeMap<String, std::collections::BTreeSet<String>>,
) {
    fn actions_at<'v>(spec: &'v mut Value, part: &str) -> Option<&'v mut Value> {
        let mut at = part.split(':');
        let (kind, port, priority) = (at.next()?, at.next()?, at.next());
        let listener = spec.get_mut("listeners")?.as_array_mut()?.iter_mut().find(|l| key(&l["port"]) == port)?;
        match (kind, priority) {
            ("listener", None) => listener.get_mut("defaultActions"),
            ("rule", Some(p)) => listener
                .get_mut("rules")?
                .as_array_mut()?
                .iter_mut()
                .find(|r| key(&r["priority"]) == p)?
                .get_mut("actions"),
            _ => None,
        }
    }
    let groups = |actions: &Value| -> Vec<String> {
        actions
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["type"] == "forward")
            .flat_map(|a| {
                let plain = a.get("targetGroup").into_iter();
                let weighted = each_ref(a.pointer("/forwardConfig/targetGroups")).filter_map(|t| t.get("targetGroup"));
                plain.chain(weighted).filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>()
            })
            .collect()
    };
    let mut live = live.clone();
    for (part, pair) in parts {
        let Some(live_actions) = actions_at(&mut live, part).map(|a| a.clone()) else { continue };
        let Some(actions) = actions_at(desired, part) else { continue };
        let (want, have) = (groups(actions), groups(&live_actions));
        if want.is_empty() || have.is_empty() || !want.iter().chain(&have).all(|g| pair.contains(g)) {
            continue;
        }
        let Some(forward) = live_actions.as_array().into_iter().flatten().find(|a| a["type"] == "forward") else {
            continue;
        };
        for a in actions.as_array_mut().into_iter().flatten().filter(|a| a["type"] == "forward") {
            *a = forward.clone();
        }
    }
}

fn each_ref(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// Log groups (CloudWatch Logs API reference, CreateLogGroup): "If you omit this parameter [logGroupClass],
/// the default of STANDARD is used"; "by default the log events in the log group do not expire",
/// and DescribeLogGroups reports `retentionInDays` only when a policy is set: an absent retention
/// is written as `null` on both sides, so a retention set by hand on a group whose manifest
/// names none is drift (DeleteRetentionPolicy). `kmsKeyId` is compared only when named.
fn log_group(spec: &mut Value) {
    default(spec, "logGroupClass", json!("STANDARD"));
    default(spec, "retentionInDays", Value::Null);
}

/// Scalable targets (Application Auto Scaling API reference): SuspendedState's three flags are
/// false unless set ("false" is RegisterScalableTarget's default); TargetTrackingScalingPolicyConfiguration
/// `disableScaleIn` "The default value is false"; StepScalingPolicyConfiguration
/// `metricAggregationType` "If the aggregation type is null, the value is treated as Average";
/// PutScheduledAction `timezone` "If a time zone is not provided, UTC is used by default".
/// Policies and scheduled actions are sets by name, and the target's: one the manifest does not
/// list is drift (none listed: none wanted). An `ALBRequestCountPerTarget` metric's live
/// `resourceLabel` (`app/LB/ID/targetgroup/TG/ID`) is its target group's name when the set has it.
fn scalable_target(spec: &mut Value, ctx: &Ctx, side: Side) {
    default(spec, "suspendedState", json!({}));
    if let Some(s) = spec.get_mut("suspendedState") {
        for flag in ["dynamicScalingInSuspended", "dynamicScalingOutSuspended", "scheduledScalingSuspended"] {
            default(s, flag, json!(false));
        }
    }
    default(spec, "scalingPolicies", json!([]));
    default(spec, "scheduledActions", json!([]));
    for p in each(spec, "scalingPolicies") {
        if let Some(t) = p.get_mut("targetTrackingScalingPolicyConfiguration") {
            default(t, "disableScaleIn", json!(false));
            if let Some(n) = t.get("targetValue").and_then(Value::as_f64) {
                t["targetValue"] = json!(n);
            }
            if side == Side::Live
                && let Some(m) = t.get_mut("predefinedMetricSpecification")
                && let Some(label) = m.get("resourceLabel").and_then(Value::as_str).map(str::to_string)
                && let Some(name) = target_group_of_label(&label, ctx)
                && let Some(o) = obj(m)
            {
                o.remove("resourceLabel");
                o.insert("targetGroup".into(), json!(name));
            }
        }
        if let Some(st) = p.get_mut("stepScalingPolicyConfiguration") {
            default(st, "metricAggregationType", json!("Average"));
            for a in each(st, "stepAdjustments") {
                for bound in ["metricIntervalLowerBound", "metricIntervalUpperBound"] {
                    if let Some(n) = a.get(bound).and_then(Value::as_f64) {
                        a[bound] = json!(n);
                    }
                }
            }
        }
    }
    sort_by(spec, "scalingPolicies", &["policyName"]);
    for a in each(spec, "scheduledActions") {
        default(a, "timezone", json!("UTC"));
    }
    sort_by(spec, "scheduledActions", &["scheduledActionName"]);
}

/// The manifest name of the target group a resource label ends in (`.../targetgroup/web/abc`).
fn target_group_of_label(label: &str, ctx: &Ctx) -> Option<String> {
    let (_, tg) = label.split_once("/targetgroup/")?;
    let suffix = format!(":targetgroup/{tg}");
    ctx.observed.live.values().find(|l| l.kind == Kind::TargetGroup && l.id.ends_with(&suffix)).map(|l| l.name.clone())
}

/// `arn:aws:ecs:r:a:task-definition/web:7` → `web:7`.
pub fn revision_label(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

const HEALTH_CHECK_FIELDS: [(&str, &str); 8] = [
    ("enabled", "healthCheckEnabled"),
    ("protocol", "healthCheckProtocol"),
    ("port", "healthCheckPort"),
    ("path", "healthCheckPath"),
    ("intervalSeconds", "healthCheckIntervalSeconds"),
    ("timeoutSeconds", "healthCheckTimeoutSeconds"),
    ("healthyThresholdCount", "healthyThresholdCount"),
    ("unhealthyThresholdCount", "unhealthyThresholdCount"),
];

/// The `healthCheck:` block of a TargetGroup manifest, as the flat fields the API uses.
pub fn flatten_health_check(spec: &mut Value) {
    if let Some(Value::Object(hc)) = remove(spec, "healthCheck") {
        let o = obj(spec).expect("a spec is a mapping");
        for (short, flat) in HEALTH_CHECK_FIELDS {
            if let Some(v) = hc.get(short) {
                o.entry(flat.to_string()).or_insert_with(|| v.clone());
            }
        }
        if let Some(m) = hc.get("matcher") {
            o.entry("matcher".to_string()).or_insert_with(|| m.clone());
        }
    }
}

fn target_group(spec: &mut Value, ctx: &Ctx, side: Side) {
    flatten_health_check(spec);
    vpc(spec, ctx, side);
    as_string(spec, "healthCheckPort");
    if let Some(m) = spec.get_mut("matcher") {
        as_string(m, "httpCode");
        as_string(m, "grpcCode");
    }
    if let Some(Value::Object(attrs)) = spec.get_mut("attributes") {
        for v in attrs.values_mut() {
            if !v.is_string() {
                *v = Value::String(v.to_string());
            }
        }
    }
    target_group_defaults(spec);
}

/// AWS's defaults for a new target group, by protocol, protocol version and target type
/// (ELBv2 API reference, CreateTargetGroup: each HealthCheck* parameter's "default is" text;
/// live reads in AWS-FACTS [F:tg], [F:tg-grpc], [F:tg-nlb-http]). Each is a row of the
/// normalisation table test. A default compared here is sent by ModifyTargetGroup when the live
/// value drifts from it.
fn target_group_defaults(spec: &mut Value) {
    // Lambda targets: health checks off by default and no VPC, port or protocol; compare only
    // what the manifest names.
    if spec["targetType"] == "lambda" {
        return;
    }
    default(spec, "targetType", json!("instance"));
    default(spec, "ipAddressType", json!("ipv4"));
    let protocol = spec["protocol"].as_str().unwrap_or("HTTP").to_string();
    let http = matches!(protocol.as_str(), "HTTP" | "HTTPS");
    if http {
        // "ProtocolVersion ... The default is HTTP1."
        default(spec, "protocolVersion", json!("HTTP1"));
    }
    let geneve = protocol == "GENEVE";
    // "HealthCheckProtocol ... For Application Load Balancers, the default is HTTP. For Network
    // Load Balancers and Gateway Load Balancers, the default is TCP"; a TCP target group of
    // `alb` targets checks with HTTP ([F:tg] HuntAlbTg).
    let alb_targets = spec["targetType"] == "alb";
    let check_default = if http {
        protocol.as_str()
    } else if alb_targets {
        "HTTP"
    } else {
        "TCP"
    };
    default(spec, "healthCheckEnabled", json!(true));
    default(spec, "healthCheckProtocol", json!(check_default));
    let check = spec["healthCheckProtocol"].as_str().unwrap_or("TCP").to_string();
    let http_check = matches!(check.as_str(), "HTTP" | "HTTPS");
    // "HealthCheckPort ... If the protocol is GENEVE, the default is port 80", else traffic-port.
    default(spec, "healthCheckPort", json!(if geneve { "80" } else { "traffic-port" }));
    let grpc = spec["protocolVersion"] == "GRPC";
    if http_check {
        // "HealthCheckPath ... [HTTP1 or HTTP2] The default is /. [GRPC] The default is
        // /AWS.ALB/healthcheck."
        default(spec, "healthCheckPath", json!(if grpc { "/AWS.ALB/healthcheck" } else { "/" }));
        // Matcher: ALB 200, gRPC 12; an HTTP check of a network load balancer's target group
        // answers 200-399 ([F:tg], [F:tg-nlb-http]).
        let matcher = if grpc {
            json!({"grpcCode": "12"})
        } else if http {
            json!({"httpCode": "200"})
        } else {
            json!({"httpCode": "200-399"})
        };
        default(spec, "matcher", matcher);
    }
    // "HealthCheckIntervalSeconds ... If the target group protocol is GENEVE, the default is 10
    // seconds. Otherwise, the default is 30 seconds."
    default(spec, "healthCheckIntervalSeconds", json!(if geneve { 10 } else { 30 }));
    // Timeout: live reads are the source here, because the API text ("For target groups with a
    // protocol of HTTP, the default is 6 seconds. For ... TCP, TLS or HTTPS, the default is 10
    // seconds. For ... GENEVE, the default is 5 seconds") describes health checks of network load
    // balancer target groups: an ALB's HTTP/HTTPS target group reads 5 ([F:tg], five live
    // groups), a TCP-family one 10, and one with an HTTP check (or `alb` targets) 6 ([F:tg]
    // HuntAlbTg, [F:tg-nlb-http]).
    let timeout = if http || geneve {
        5
    } else if check == "HTTP" {
        6
    } else {
        10
    };
    default(spec, "healthCheckTimeoutSeconds", json!(timeout));
    // "HealthyThresholdCount ... the default is 5"; "UnhealthyThresholdCount ... the default is 2".
    default(spec, "healthyThresholdCount", json!(5));
    default(spec, "unhealthyThresholdCount", json!(2));
}

fn action(a: &mut Value, ctx: &Ctx) {
    if let Some(arn) = remove(a, "targetGroupArn")
        && let Some(o) = obj(a)
    {
        o.entry("targetGroup".to_string()).or_insert(arn);
    }
    reference_at(a, "targetGroup", Kind::TargetGroup, ctx);
    // AWS answers a plain forward with a one-group forwardConfig too: the same thing.
    if let Some(fc) = a.get_mut("forwardConfig") {
        for tg in each(fc, "targetGroups") {
            if let Some(arn) = remove(tg, "targetGroupArn")
                && let Some(o) = obj(tg)
            {
                o.entry("targetGroup".to_string()).or_insert(arn);
            }
            reference_at(tg, "targetGroup", Kind::TargetGroup, ctx);
        }
        let groups = fc.get("targetGroups").and_then(Value::as_array).cloned().unwrap_or_default();
        let sticky = fc.pointer("/targetGroupStickinessConfig/enabled") == Some(&json!(true));
        if groups.len() == 1 && !sticky {
            let tg = groups[0].get("targetGroup").cloned();
            remove(a, "forwardConfig");
            if let (Some(tg), Some(o)) = (tg, obj(a)) {
                o.entry("targetGroup".to_string()).or_insert(tg);
            }
        }
    }
    remove(a, "order");
    for key in ["redirectConfig", "fixedResponseConfig"] {
        if let Some(c) = a.get_mut(key) {
            as_string(c, "port");
            as_string(c, "statusCode");
        }
    }
    if let Some(c) = a.get_mut("redirectConfig") {
        for (k, d) in [
            ("protocol", "#{protocol}"),
            ("port", "#{port}"),
            ("host", "#{host}"),
            ("path", "/#{path}"),
            ("query", "#{query}"),
        ] {
            default(c, k, json!(d));
        }
    }
}

fn load_balancer(spec: &mut Value, ctx: &Ctx, side: Side) {
    default(spec, "type", json!("application"));
    default(spec, "scheme", json!("internet-facing"));
    default(spec, "ipAddressType", json!("ipv4"));
    subnets(spec, "subnets", ctx, side);
    references_in_list(spec, "securityGroups", Kind::SecurityGroup, ctx);
    if let Some(Value::Object(attrs)) = spec.get_mut("attributes") {
        for v in attrs.values_mut() {
            if !v.is_string() {
                *v = Value::String(v.to_string());
            }
        }
    }
    for l in each(spec, "listeners") {
        remove(l, "tags");
        // A listener's certificates as ARNs: the first is the default (DescribeListeners
        // returns only it; DescribeListenerCertificates the rest), the others are a set.
        if let Some(Value::Array(certs)) = l.get_mut("certificates") {
            let mut arns: Vec<Value> =
                certs.iter().map(|c| c.get("certificateArn").cloned().unwrap_or_else(|| c.clone())).collect();
            if arns.len() > 1 {
                arns[1..].sort_by_key(canonical);
            }
            *certs = arns;
        }
        for a in each(l, "defaultActions") {
            action(a, ctx);
        }
        sort_by(l, "defaultActions", &["type"]);
        if l.get("rules").is_none() {
            // No rules in the manifest means none but the default rule.
            if let Some(o) = obj(l) {
                o.insert("rules".into(), json!([]));
            }
        }
        for r in each(l, "rules") {
            remove(r, "tags");
            as_string(r, "priority");
            for a in each(r, "actions") {
                action(a, ctx);
            }
        }
        sort_by(l, "rules", &["priority"]);
    }
    sort_by(spec, "listeners", &["port"]);
}

/// Rule sources and protocols in one spelling; ports only where the protocol has them.
fn sg_rule(r: &mut Value, ctx: &Ctx, side: Side) {
    if let Some(p) = r.get_mut("protocol") {
        let s = canonical(p).trim().to_ascii_lowercase();
        *p = Value::String(match s.as_str() {
            "all" | "-1" => "-1".into(),
            "6" => "tcp".into(),
            "17" => "udp".into(),
            "1" => "icmp".into(),
            "58" => "icmpv6".into(),
            _ => s,
        });
    }
    // Rule descriptions are labels, not access: they are kept (sent with a new rule, and with a
    // revoke as AWS has them) but are not part of a rule's identity, and the plan never counts a
    // description-only difference as drift.
    let _ = side;
    let icmp = matches!(r["protocol"].as_str(), Some("icmp" | "icmpv6"));
    // Only these protocols have ports; AWS allows every port for the others.
    if !matches!(r["protocol"].as_str(), Some("tcp" | "udp" | "icmp" | "icmpv6")) {
        remove(r, "fromPort");
        remove(r, "toPort");
    } else if r.get("toPort").is_none() && r.get("fromPort").is_some() {
        // For ICMP, fromPort is the type and toPort the code, -1 for every code (EC2 API
        // reference, IpPermission: "If you specify all ICMP/ICMPv6 types, you must specify all
        // codes"; a type without a code means all its codes). For TCP and UDP a single port.
        let to = if icmp { json!(-1) } else { r["fromPort"].clone() };
        default(r, "toPort", to);
    }
    reference_at(r, "securityGroup", Kind::SecurityGroup, ctx);
}

fn security_group(spec: &mut Value, ctx: &Ctx, side: Side) {
    vpc(spec, ctx, side);
    if side == Side::Desired {
        // A manifest without `egress` keeps AWS's default: everything out.
        default(spec, "egress", json!([{"protocol": "-1", "cidr": "0.0.0.0/0"}]));
    }
    default(spec, "ingress", json!([]));
    default(spec, "egress", json!([]));
    for key in ["ingress", "egress"] {
        for r in each(spec, key) {
            sg_rule(r, ctx, side);
        }
        sort_by(spec, key, &["protocol", "fromPort", "toPort", "cidr", "ipv6Cidr", "prefixList", "securityGroup"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with<'a>(observed: &'a Observed, revisions: &'a BTreeMap<String, String>) -> Ctx<'a> {
        Ctx { observed, revisions, names: None }
    }

    fn observed() -> Observed {
        use super::super::model::Live;
        let mut o = Observed::default();
        for (kind, name, id) in [
            (Kind::SecurityGroup, "web-alb", "sg-0a"),
            (Kind::SecurityGroup, "web-tasks", "sg-0b"),
            (Kind::TargetGroup, "web", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc"),
            (Kind::Cluster, "main", "arn:aws:ecs:us-east-1:1:cluster/main"),
        ] {
            o.live.insert((kind, name.into()), Live::new(kind, name, id));
        }
        o.subnets.insert("private-a".into(), "subnet-a".into());
        o.subnets.insert("private-b".into(), "subnet-b".into());
        o.vpcs.insert("main".into(), "vpc-1".into());
        o
    }

    /// Each row: kind, desired (manifest) spec, live (adapter) spec; both must normalise equal.
    #[test]
    fn aws_defaults_and_spellings_are_not_drift() {
        let o = observed();
        let revisions = BTreeMap::from([("web".to_string(), "web:7".to_string())]);
        let ctx = ctx_with(&o, &revisions);
        let rows: Vec<(&str, Kind, Value, Value)> = vec![
            (
                "cluster: an unnamed containerInsights follows the account's default [F:cluster-ci]",
                Kind::Cluster,
                json!({}),
                json!({"settings": [{"name": "containerInsights", "value": "enhanced"}]}),
            ),
            (
                "cluster: capacity providers are a set",
                Kind::Cluster,
                json!({"capacityProviders": ["FARGATE_SPOT", "FARGATE"]}),
                json!({"capacityProviders": ["FARGATE", "FARGATE_SPOT"], "settings": [{"name": "containerInsights", "value": "disabled"}]}),
            ),
            (
                "task: cpu as number, vCPU or string; memory in GB",
                Kind::TaskDefinition,
                json!({"cpu": 256, "memory": "1 GB", "containerDefinitions": [{"name": "a", "image": "i"}]}),
                json!({"cpu": "256", "memory": "1024", "networkMode": "bridge", "containerDefinitions": [{"name": "a", "image": "i", "cpu": 0, "essential": true, "environment": [], "mountPoints": [], "volumesFrom": []}]}),
            ),
            (
                "task: port protocol tcp and awsvpc hostPort",
                Kind::TaskDefinition,
                json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "portMappings": [{"containerPort": 3000}]}]}),
                json!({"networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "cpu": 0, "essential": true, "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}]}]}),
            ),
            (
                "task: environment is a set by name",
                Kind::TaskDefinition,
                json!({"containerDefinitions": [{"name": "a", "image": "i", "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}]}),
                json!({"networkMode": "bridge", "containerDefinitions": [{"name": "a", "image": "i", "cpu": 0, "essential": true, "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}),
            ),
            (
                "service: deployment defaults, names for ARNs, subnet names for IDs",
                Kind::Service,
                json!({"cluster": "main", "taskDefinition": "web", "desiredCount": 2,
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["private-b", "private-a"], "securityGroups": ["web-tasks"]}},
                    "loadBalancers": [{"targetGroup": "web", "containerName": "web", "containerPort": 3000}]}),
                json!({"cluster": "arn:aws:ecs:us-east-1:1:cluster/main", "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:7", "desiredCount": 2,
                    "schedulingStrategy": "REPLICA", "propagateTags": "NONE", "enableECSManagedTags": false, "enableExecuteCommand": false,
                    "healthCheckGracePeriodSeconds": 0, "deploymentController": {"type": "ECS"},
                    "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100, "deploymentCircuitBreaker": {"enable": false, "rollback": false}},
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-0b"], "assignPublicIp": "DISABLED"}},
                    "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc", "containerName": "web", "containerPort": 3000}]}),
            ),
            (
                "target group: healthCheck block and defaults",
                Kind::TargetGroup,
                json!({"protocol": "HTTP", "port": 3000, "vpc": "main", "targetType": "ip", "healthCheck": {"path": "/healthz", "matcher": {"httpCode": 200}},
                    "attributes": {"deregistration_delay.timeout_seconds": 30}}),
                json!({"protocol": "HTTP", "port": 3000, "vpc": "vpc-1", "targetType": "ip", "ipAddressType": "ipv4", "protocolVersion": "HTTP1",
                    "healthCheckEnabled": true, "healthCheckProtocol": "HTTP", "healthCheckPort": "traffic-port", "healthCheckPath": "/healthz",
                    "healthCheckIntervalSeconds": 30, "healthCheckTimeoutSeconds": 5, "healthyThresholdCount": 5, "unhealthyThresholdCount": 2,
                    "matcher": {"httpCode": "200"}, "attributes": {"deregistration_delay.timeout_seconds": "30"}}),
            ),
            (
                "load balancer: plain forward equals AWS's one-group forwardConfig; no rules",
                Kind::LoadBalancer,
                json!({"subnets": ["private-a", "private-b"], "securityGroups": ["web-alb"],
                    "listeners": [{"port": 80, "protocol": "HTTP", "defaultActions": [{"type": "forward", "targetGroup": "web"}]}]}),
                json!({"type": "application", "scheme": "internet-facing", "ipAddressType": "ipv4", "subnets": ["subnet-b", "subnet-a"], "securityGroups": ["sg-0a"],
                    "listeners": [{"port": 80, "protocol": "HTTP", "defaultActions": [{"type": "forward", "order": 1,
                        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc",
                        "forwardConfig": {"targetGroups": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc", "weight": 1}],
                            "targetGroupStickinessConfig": {"enabled": false}}}]}]}),
            ),
            (
                "target group, GENEVE: port 80, interval 10, timeout 5 (CreateTargetGroup; [F:tg] GeneveInstTg)",
                Kind::TargetGroup,
                json!({"protocol": "GENEVE", "port": 6081, "vpc": "vpc-1"}),
                json!({"protocol": "GENEVE", "port": 6081, "vpc": "vpc-1", "targetType": "instance", "ipAddressType": "ipv4",
                    "healthCheckEnabled": true, "healthCheckProtocol": "TCP", "healthCheckPort": "80",
                    "healthCheckIntervalSeconds": 10, "healthCheckTimeoutSeconds": 5, "healthyThresholdCount": 5, "unhealthyThresholdCount": 2}),
            ),
            (
                "target group, gRPC: path /AWS.ALB/healthcheck, matcher gRPC 12 ([F:tg-grpc])",
                Kind::TargetGroup,
                json!({"protocol": "HTTP", "protocolVersion": "GRPC", "port": 50051, "vpc": "vpc-1", "targetType": "ip"}),
                json!({"protocol": "HTTP", "protocolVersion": "GRPC", "port": 50051, "vpc": "vpc-1", "targetType": "ip", "ipAddressType": "ipv4",
                    "healthCheckEnabled": true, "healthCheckProtocol": "HTTP", "healthCheckPort": "traffic-port", "healthCheckPath": "/AWS.ALB/healthcheck",
                    "healthCheckIntervalSeconds": 30, "healthCheckTimeoutSeconds": 5, "healthyThresholdCount": 5, "unhealthyThresholdCount": 2,
                    "matcher": {"grpcCode": "12"}}),
            ),
            (
                "target group, NLB TCP: TCP check, timeout 10, no path or matcher ([F:tg])",
                Kind::TargetGroup,
                json!({"protocol": "TCP", "port": 80, "vpc": "vpc-1", "targetType": "ip"}),
                json!({"protocol": "TCP", "port": 80, "vpc": "vpc-1", "targetType": "ip", "ipAddressType": "ipv4",
                    "healthCheckEnabled": true, "healthCheckProtocol": "TCP", "healthCheckPort": "traffic-port",
                    "healthCheckIntervalSeconds": 30, "healthCheckTimeoutSeconds": 10, "healthyThresholdCount": 5, "unhealthyThresholdCount": 2}),
            ),
            (
                "target group, NLB with an HTTP check: timeout 6, path /, matcher 200-399 ([F:tg-nlb-http])",
                Kind::TargetGroup,
                json!({"protocol": "TCP", "port": 80, "vpc": "vpc-1", "targetType": "ip", "healthCheckProtocol": "HTTP"}),
                json!({"protocol": "TCP", "port": 80, "vpc": "vpc-1", "targetType": "ip", "ipAddressType": "ipv4",
                    "healthCheckEnabled": true, "healthCheckProtocol": "HTTP", "healthCheckPort": "traffic-port", "healthCheckPath": "/",
                    "healthCheckIntervalSeconds": 30, "healthCheckTimeoutSeconds": 6, "healthyThresholdCount": 5, "unhealthyThresholdCount": 2,
                    "matcher": {"httpCode": "200-399"}}),
            ),
            (
                "target group, TCP of alb targets: HTTP check, timeout 6, matcher 200-399 ([F:tg] HuntAlbTg)",
                Kind::TargetGroup,
                json!({"protocol": "TCP", "port": 80, "vpc": "vpc-1", "targetType": "alb"}),
                json!({"protocol": "TCP", "port": 80, "vpc": "vpc-1", "targetType": "alb", "ipAddressType": "ipv4",
                    "healthCheckEnabled": true, "healthCheckProtocol": "HTTP", "healthCheckPort": "traffic-port", "healthCheckPath": "/",
                    "healthCheckIntervalSeconds": 30, "healthCheckTimeoutSeconds": 6, "healthyThresholdCount": 5, "unhealthyThresholdCount": 2,
                    "matcher": {"httpCode": "200-399"}}),
            ),
            (
                "service: a role by name is the ARN AWS reports ([F:svc-role])",
                Kind::Service,
                json!({"role": "ecsServiceRole", "desiredCount": 1}),
                json!({"role": "arn:aws:iam::123456789012:role/ecsServiceRole", "desiredCount": 1}),
            ),
            (
                "security group: an ICMP type without a code is every code (EC2 IpPermission)",
                Kind::SecurityGroup,
                json!({"vpc": "vpc-1", "description": "d", "ingress": [{"protocol": "icmp", "fromPort": 8, "cidr": "10.0.0.0/8"}]}),
                json!({"vpc": "vpc-1", "description": "d", "ingress": [{"protocol": "icmp", "fromPort": 8, "toPort": -1, "cidr": "10.0.0.0/8"}],
                    "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}]}),
            ),
            (
                "listener: the default certificate first, the others a set",
                Kind::LoadBalancer,
                json!({"listeners": [{"port": 443, "protocol": "HTTPS", "certificates": [{"certificateArn": "a"}, {"certificateArn": "c"}, {"certificateArn": "b"}]}]}),
                json!({"type": "application", "scheme": "internet-facing", "ipAddressType": "ipv4",
                    "listeners": [{"port": 443, "protocol": "HTTPS", "certificates": [{"certificateArn": "a"}, {"certificateArn": "b"}, {"certificateArn": "c"}], "rules": []}]}),
            ),
            (
                "log group: class STANDARD, no retention = never expire (CreateLogGroup, DescribeLogGroups)",
                Kind::LogGroup,
                json!({}),
                json!({"logGroupClass": "STANDARD"}),
            ),
            (
                "log group: retention and key as named",
                Kind::LogGroup,
                json!({"retentionInDays": 30, "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k"}),
                json!({"retentionInDays": 30, "kmsKeyId": "arn:aws:kms:us-east-1:1:key/k", "logGroupClass": "STANDARD"}),
            ),
            (
                "scalable target: suspended state false, disableScaleIn false, timezone UTC, ALB label as the target group",
                Kind::ScalableTarget,
                json!({"service": "web", "minCapacity": 2, "maxCapacity": 10,
                    "scalingPolicies": [
                        {"policyName": "req", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {"targetValue": 100,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ALBRequestCountPerTarget", "targetGroup": "web"}}},
                        {"policyName": "cpu", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {"targetValue": 60,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}},
                        {"policyName": "step", "policyType": "StepScaling", "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity",
                            "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}}],
                    "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 20 * * ? *)", "scalableTargetAction": {"minCapacity": 1}}]}),
                json!({"service": "web", "minCapacity": 2, "maxCapacity": 10,
                    "suspendedState": {"dynamicScalingInSuspended": false, "dynamicScalingOutSuspended": false, "scheduledScalingSuspended": false},
                    "scalingPolicies": [
                        {"policyName": "cpu", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {"targetValue": 60.0, "disableScaleIn": false,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}},
                        {"policyName": "req", "policyType": "TargetTrackingScaling", "targetTrackingScalingPolicyConfiguration": {"targetValue": 100.0,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ALBRequestCountPerTarget", "resourceLabel": "app/web/123/targetgroup/web/abc"}}},
                        {"policyName": "step", "policyType": "StepScaling", "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity", "metricAggregationType": "Average",
                            "stepAdjustments": [{"metricIntervalLowerBound": 0.0, "scalingAdjustment": 1}]}}],
                    "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 20 * * ? *)", "timezone": "UTC", "scalableTargetAction": {"minCapacity": 1}}]}),
            ),
            (
                "security group: default egress, `all` is -1, rule order, source names",
                Kind::SecurityGroup,
                json!({"vpc": "main", "description": "d", "ingress": [
                    {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "0.0.0.0/0"},
                    {"protocol": "tcp", "fromPort": 80, "cidr": "0.0.0.0/0"},
                    {"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroup": "web-alb"}]}),
                json!({"vpc": "vpc-1", "description": "d", "ingress": [
                    {"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroup": "sg-0a"},
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0"},
                    {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "0.0.0.0/0"}],
                    "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}]}),
            ),
        ];
        for (what, kind, d, l) in rows {
            let (d, l) = (desired(kind, d, &ctx), live(kind, l, &ctx));
            let mut changes = Vec::new();
            super::super::diff::diff(&d, Some(&l), "", &mut changes);
            assert!(changes.is_empty(), "{what}: {changes:#?}\ndesired {d:#}\nlive {l:#}");
        }
    }

    /// Each row: a real difference that must survive normalisation, and the path it shows at.
    #[test]
    fn real_differences_survive() {
        let o = observed();
        let revisions = BTreeMap::from([("web".to_string(), "web:(new)".to_string())]);
        let ctx = ctx_with(&o, &revisions);
        let rows: Vec<(Kind, Value, Value, &str)> = vec![
            (
                Kind::Service,
                json!({"taskDefinition": "web", "desiredCount": 2}),
                json!({"taskDefinition": "arn:aws:ecs:r:1:task-definition/web:7", "desiredCount": 2}),
                "taskDefinition",
            ),
            (
                Kind::Service,
                json!({"taskDefinition": "web:7", "desiredCount": 2}),
                json!({"taskDefinition": "arn:aws:ecs:r:1:task-definition/web:7", "desiredCount": 0}),
                "desiredCount",
            ),
            (
                Kind::Service,
                json!({"deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}}),
                json!({}),
                "deploymentConfiguration.deploymentCircuitBreaker.enable",
            ),
            (Kind::Service, json!({}), json!({"enableExecuteCommand": true}), "enableExecuteCommand"),
            (
                Kind::TargetGroup,
                json!({"protocol": "HTTP", "healthCheck": {"path": "/healthz"}}),
                json!({"protocol": "HTTP", "healthCheckPath": "/"}),
                "healthCheckPath",
            ),
            (
                Kind::TargetGroup,
                json!({"protocol": "HTTP"}),
                json!({"protocol": "HTTP", "healthCheckPath": "/status"}),
                "healthCheckPath",
            ),
            (
                Kind::SecurityGroup,
                json!({"ingress": [{"protocol": "tcp", "fromPort": 80, "cidr": "0.0.0.0/0"}]}),
                json!({"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "0.0.0.0/0"}]}),
                "ingress[tcp/80 from 0.0.0.0/0]",
            ),
            (Kind::SecurityGroup, json!({}), json!({"egress": []}), "egress[all from 0.0.0.0/0]"),
            (
                Kind::TargetGroup,
                json!({"protocol": "TCP", "port": 80}),
                json!({"protocol": "TCP", "port": 80, "healthCheckTimeoutSeconds": 6}),
                "healthCheckTimeoutSeconds",
            ),
            (
                Kind::Cluster,
                json!({"settings": [{"name": "containerInsights", "value": "enabled"}]}),
                json!({"settings": [{"name": "containerInsights", "value": "disabled"}]}),
                "settings[containerInsights].value",
            ),
            (Kind::Service, json!({"role": "ecsServiceRole"}), json!({"role": "arn:aws:iam::1:role/other"}), "role"),
            (
                Kind::TaskDefinition,
                json!({"containerDefinitions": [{"name": "a", "image": "i:2"}]}),
                json!({"containerDefinitions": [{"name": "a", "image": "i:1"}]}),
                "containerDefinitions[a].image",
            ),
            (Kind::LogGroup, json!({}), json!({"retentionInDays": 7}), "retentionInDays"),
            (Kind::LogGroup, json!({"logGroupClass": "INFREQUENT_ACCESS"}), json!({}), "logGroupClass"),
            (
                Kind::ScalableTarget,
                json!({"minCapacity": 2, "scalingPolicies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling"}]}),
                json!({"minCapacity": 2, "scalingPolicies": []}),
                "scalingPolicies[cpu]",
            ),
            (
                Kind::ScalableTarget,
                json!({"minCapacity": 2}),
                json!({"minCapacity": 2, "scalingPolicies": [{"policyName": "by-hand", "policyType": "StepScaling"}]}),
                "scalingPolicies[by-hand]",
            ),
            (Kind::ScalableTarget, json!({"maxCapacity": 10}), json!({"maxCapacity": 4}), "maxCapacity"),
            (
                Kind::LoadBalancer,
                json!({"listeners": [{"port": 80, "defaultActions": []}, {"port": 443, "defaultActions": []}]}),
                json!({"listeners": [{"port": 443, "defaultActions": []}]}),
                "listeners[80]",
            ),
        ];
        for (kind, d, l, path) in rows {
            let (d, l) = (desired(kind, d, &ctx), live(kind, l, &ctx));
            let mut changes = Vec::new();
            super::super::diff::diff(&d, Some(&l), "", &mut changes);
            assert!(changes.iter().any(|c| c.path == path), "{kind} {path}: {changes:#?}");
        }
    }
}
