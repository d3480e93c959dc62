//! The Application Auto Scaling adapter: observes the scalable targets of the set's services
//! (with their scaling policies and scheduled actions) in manifest shape, and executes their plan
//! steps. What to change is decided by the plan, not here.
//!
//! A target is owned through its service: Application Auto Scaling lists no tags with its
//! targets (ListTagsForResource is one call per target), and a target exists only for its
//! service, so the target of a service the set owns (or adopts) is the set's.

use std::collections::BTreeMap;

use aws_sdk_applicationautoscaling::types::{
    CustomizedMetricSpecification, MetricDimension, PredefinedMetricSpecification, ScalableDimension,
    ScalableTargetAction, ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration, SuspendedState,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value, json};
use tracing::debug;

use super::{AwsError, Clients, Created, Ids, Target, call_error};
use crate::manifest::spec::ScalableTargetSpec;
use crate::manifest::spec::scalable_target::{self as st, ScalingPolicy, ScheduledAction};
use crate::manifest::{Kind, ManifestSet, Spec};
use crate::plan::{Action, AutoScalingCall, Live, Observed, TAG_NAME, TAG_SET};

/// DescribeScalableTargets takes at most 50 resource IDs.
const TARGETS_PER_CALL: usize = 50;

fn namespace() -> ServiceNamespace {
    ServiceNamespace::Ecs
}

fn dimension() -> ScalableDimension {
    ScalableDimension::EcsServiceDesiredCount
}

/// Observe the targets of the set's services; with `prune`, also those of services the set owns
/// whose ScalableTarget left it. `services` is what the ECS adapter observed (live and orphans).
pub async fn observe(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    prune: bool,
    services: &Observed,
    observed: &mut Observed,
) -> Result<(), AwsError> {
    // resource ID → (manifest name, service name)
    let mut wanted: BTreeMap<String, (String, String)> = BTreeMap::new();
    for r in desired.of_kind(Kind::ScalableTarget) {
        let Spec::ScalableTarget(t) = &r.spec else { continue };
        if let Some(Spec::Service(svc)) = desired.get(Kind::Service, &t.service).map(|s| &s.spec) {
            wanted.insert(
                ScalableTargetSpec::resource_id(&svc.cluster, &t.service),
                (r.name().to_string(), t.service.clone()),
            );
        }
    }
    // A service moved to another cluster: its target in the cluster it left goes when the old
    // service does (deleting a service leaves its scalable target registered), read in the same
    // calls. Resource ID → (manifest name, what the old service waits for).
    let moved: BTreeMap<String, (String, Vec<String>)> = services
        .superseded
        .iter()
        .filter(|s| s.live.kind == Kind::Service)
        .filter_map(|s| {
            let (name, _) = wanted.values().find(|(_, service)| *service == s.live.name)?;
            let cluster = s.live.spec.get("cluster")?.as_str()?;
            Some((ScalableTargetSpec::resource_id(cluster, &s.live.name), (name.clone(), s.used_by.clone())))
        })
        .collect();
    let ids: Vec<String> = wanted.keys().chain(moved.keys()).cloned().collect();
    for chunk in ids.chunks(TARGETS_PER_CALL) {
        for (id, spec) in describe_targets(clients, Some(chunk)).await? {
            if let Some((name, used_by)) = moved.get(&id) {
                let mut live = Live::new(Kind::ScalableTarget, name, &id);
                live.spec = Value::Object(spec);
                live.tags =
                    BTreeMap::from([(TAG_SET.to_string(), set.to_string()), (TAG_NAME.to_string(), name.clone())]);
                let used_by = used_by.clone();
                observed.superseded.push(crate::plan::Superseded { live, used_by, load_balancers: vec![] });
                continue;
            }
            let Some((name, service)) = wanted.get(&id) else { continue };
            let mut live = Live::new(Kind::ScalableTarget, name, &id);
            live.spec = with_policies(clients, &id, spec, service).await?;
            let svc = desired.get(Kind::Service, service);
            let owned = services.get(Kind::Service, service).and_then(|l| l.tags.get(TAG_SET)).map(String::as_str)
                == Some(set)
                || svc.is_some_and(|s| s.metadata.adopt);
            if owned {
                live.tags =
                    BTreeMap::from([(TAG_SET.to_string(), set.to_string()), (TAG_NAME.to_string(), name.clone())]);
            } else if let Some(other) = services.get(Kind::Service, service) {
                live.tags = other.tags.clone();
            }
            observed.live.insert((Kind::ScalableTarget, name.clone()), live);
        }
    }
    if prune {
        // The targets of services the set owns, by resource ID: its services' and its orphans'.
        let owned: BTreeMap<String, String> = services
            .live
            .values()
            .chain(services.orphans.iter())
            .filter(|l| l.kind == Kind::Service && l.tags.get(TAG_SET).map(String::as_str) == Some(set))
            .filter_map(|l| {
                let cluster = l.spec.get("cluster")?.as_str()?;
                Some((ScalableTargetSpec::resource_id(cluster, &l.name), l.name.clone()))
            })
            .collect();
        for (id, spec) in describe_targets(clients, None).await? {
            let Some(service) = owned.get(&id).filter(|_| !wanted.contains_key(&id)) else { continue };
            let mut live = Live::new(Kind::ScalableTarget, service, &id);
            live.spec = with_policies(clients, &id, spec, service).await?;
            live.tags =
                BTreeMap::from([(TAG_SET.to_string(), set.to_string()), (TAG_NAME.to_string(), service.clone())]);
            observed.orphans.push(live);
        }
    }
    Ok(())
}

/// The ECS service targets with these resource IDs (`None`: all of them), every page, each as
/// (resource ID, its capacity and suspended state in manifest shape).
async fn describe_targets(
    clients: &Clients,
    ids: Option<&[String]>,
) -> Result<Vec<(String, Map<String, Value>)>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        debug!(count = ids.map_or(0, <[String]>::len), "application-autoscaling:DescribeScalableTargets");
        let resp = clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(namespace())
            .scalable_dimension(dimension())
            .set_resource_ids(ids.map(<[String]>::to_vec))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(call_error(
                "DescribeScalableTargets",
                format!("{} scalable target(s)", ids.map_or(0, <[String]>::len)),
            ))?;
        for t in resp.scalable_targets() {
            let mut spec = Map::new();
            spec.insert("minCapacity".into(), json!(t.min_capacity()));
            spec.insert("maxCapacity".into(), json!(t.max_capacity()));
            if let Some(s) = t.suspended_state() {
                let mut state = Map::new();
                for (k, v) in [
                    ("dynamicScalingInSuspended", s.dynamic_scaling_in_suspended()),
                    ("dynamicScalingOutSuspended", s.dynamic_scaling_out_suspended()),
                    ("scheduledScalingSuspended", s.scheduled_scaling_suspended()),
                ] {
                    if let Some(v) = v {
                        state.insert(k.into(), json!(v));
                    }
                }
                spec.insert("suspendedState".into(), Value::Object(state));
            }
            out.push((t.resource_id().to_string(), spec));
        }
        token = resp.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// A target's spec with its service, policies and scheduled actions.
async fn with_policies(
    clients: &Clients,
    id: &str,
    mut spec: Map<String, Value>,
    service: &str,
) -> Result<Value, AwsError> {
    spec.insert("service".into(), json!(service));
    let policies: Vec<Value> = clients
        .autoscaling
        .describe_scaling_policies()
        .service_namespace(namespace())
        .resource_id(id)
        .scalable_dimension(dimension())
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(call_error("DescribeScalingPolicies", id.to_string()))?
        .iter()
        .flat_map(|page| page.scaling_policies().iter().map(policy_json))
        .collect();
    let scheduled: Vec<Value> = clients
        .autoscaling
        .describe_scheduled_actions()
        .service_namespace(namespace())
        .resource_id(id)
        .scalable_dimension(dimension())
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(call_error("DescribeScheduledActions", id.to_string()))?
        .iter()
        .flat_map(|page| page.scheduled_actions().iter().map(scheduled_json))
        .collect();
    spec.insert("scalingPolicies".into(), Value::Array(policies));
    spec.insert("scheduledActions".into(), Value::Array(scheduled));
    Ok(Value::Object(spec))
}

/// Insert `v` at `k` when there is one.
fn put(o: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        o.insert(k.into(), v);
    }
}

fn policy_json(p: &aws_sdk_applicationautoscaling::types::ScalingPolicy) -> Value {
    let mut o = Map::new();
    o.insert("policyName".into(), json!(p.policy_name()));
    o.insert("policyType".into(), json!(p.policy_type().as_str()));
    if let Some(t) = p.target_tracking_scaling_policy_configuration() {
        let mut c = Map::new();
        c.insert("targetValue".into(), json!(t.target_value()));
        put(
            &mut c,
            "predefinedMetricSpecification",
            t.predefined_metric_specification().map(|m| {
                let mut x = Map::new();
                x.insert("predefinedMetricType".into(), json!(m.predefined_metric_type().as_str()));
                put(&mut x, "resourceLabel", m.resource_label().map(|l| json!(l)));
                Value::Object(x)
            }),
        );
        put(
            &mut c,
            "customizedMetricSpecification",
            t.customized_metric_specification().map(|m| {
                let mut x = Map::new();
                put(&mut x, "metricName", m.metric_name().map(|v| json!(v)));
                put(&mut x, "namespace", m.namespace().map(|v| json!(v)));
                if !m.dimensions().is_empty() {
                    let d: Vec<Value> =
                        m.dimensions().iter().map(|d| json!({"name": d.name(), "value": d.value()})).collect();
                    x.insert("dimensions".into(), Value::Array(d));
                }
                put(&mut x, "statistic", m.statistic().map(|v| json!(v.as_str())));
                put(&mut x, "unit", m.unit().map(|v| json!(v)));
                Value::Object(x)
            }),
        );
        put(&mut c, "scaleOutCooldown", t.scale_out_cooldown().map(|v| json!(v)));
        put(&mut c, "scaleInCooldown", t.scale_in_cooldown().map(|v| json!(v)));
        put(&mut c, "disableScaleIn", t.disable_scale_in().map(|v| json!(v)));
        o.insert("targetTrackingScalingPolicyConfiguration".into(), Value::Object(c));
    }
    if let Some(s) = p.step_scaling_policy_configuration() {
        let mut c = Map::new();
        put(&mut c, "adjustmentType", s.adjustment_type().map(|v| json!(v.as_str())));
        let steps: Vec<Value> = s
            .step_adjustments()
            .iter()
            .map(|a| {
                let mut x = Map::new();
                put(&mut x, "metricIntervalLowerBound", a.metric_interval_lower_bound().map(|v| json!(v)));
                put(&mut x, "metricIntervalUpperBound", a.metric_interval_upper_bound().map(|v| json!(v)));
                x.insert("scalingAdjustment".into(), json!(a.scaling_adjustment()));
                Value::Object(x)
            })
            .collect();
        c.insert("stepAdjustments".into(), Value::Array(steps));
        put(&mut c, "minAdjustmentMagnitude", s.min_adjustment_magnitude().map(|v| json!(v)));
        put(&mut c, "cooldown", s.cooldown().map(|v| json!(v)));
        put(&mut c, "metricAggregationType", s.metric_aggregation_type().map(|v| json!(v.as_str())));
        o.insert("stepScalingPolicyConfiguration".into(), Value::Object(c));
    }
    Value::Object(o)
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<Value> {
    t.and_then(|t| t.fmt(Format::DateTime).ok()).map(Value::String)
}

fn scheduled_json(a: &aws_sdk_applicationautoscaling::types::ScheduledAction) -> Value {
    let mut o = Map::new();
    o.insert("scheduledActionName".into(), json!(a.scheduled_action_name()));
    o.insert("schedule".into(), json!(a.schedule()));
    put(&mut o, "timezone", a.timezone().map(|v| json!(v)));
    put(&mut o, "startTime", time(a.start_time()));
    put(&mut o, "endTime", time(a.end_time()));
    let mut action = Map::new();
    if let Some(t) = a.scalable_target_action() {
        put(&mut action, "minCapacity", t.min_capacity().map(|v| json!(v)));
        put(&mut action, "maxCapacity", t.max_capacity().map(|v| json!(v)));
    }
    o.insert("scalableTargetAction".into(), Value::Object(action));
    Value::Object(o)
}

// ---- apply: one action, one call --------------------------------------------------------------

/// An action's params without `resourceId`, as a manifest type.
fn typed<T: serde::de::DeserializeOwned>(action: &Action) -> Result<T, String> {
    let mut v = action.params.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("resourceId");
    }
    serde_json::from_value(v).map_err(|e| format!("{}: {e}", action.call))
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>, resource: &str) -> Result<T, AwsError> {
    r.map_err(|e| AwsError::unresolved(resource, e.to_string()))
}

/// `app/LB/ID/targetgroup/TG/ID`, ALBRequestCountPerTarget's label (PredefinedMetricSpecification,
/// ResourceLabel), from the target group's ARN and that of the load balancer it is attached to,
/// read when the call runs: a group created this run has neither ARN at plan time.
async fn alb_label(clients: &Clients, ids: &Ids, target_group: &str, resource: &str) -> Result<String, AwsError> {
    let arn = ids.resolve(Kind::TargetGroup, target_group)?;
    let resp = clients
        .elbv2
        .describe_target_groups()
        .target_group_arns(&arn)
        .send()
        .await
        .map_err(call_error("DescribeTargetGroups", format!("TargetGroup/{target_group}")))?;
    let lb = resp.target_groups().first().and_then(|t| t.load_balancer_arns().first().cloned()).ok_or_else(|| {
        AwsError::unresolved(resource, format!("target group {target_group} is attached to no load balancer"))
    })?;
    let suffix = |a: &str, after: &str| a.split_once(after).map(|(_, s)| s.to_string());
    match (suffix(&lb, ":loadbalancer/"), suffix(&arn, ":targetgroup/")) {
        (Some(lb), Some(tg)) => Ok(format!("{lb}/targetgroup/{tg}")),
        _ => Err(AwsError::unresolved(resource, format!("unexpected ARNs {lb}, {arn}"))),
    }
}

async fn target_tracking(
    clients: &Clients,
    ids: &Ids,
    c: &st::TargetTrackingConfiguration,
    resource: &str,
) -> Result<TargetTrackingScalingPolicyConfiguration, AwsError> {
    let predefined = match &c.predefined_metric_specification {
        Some(m) => {
            let label = match (&m.target_group, &m.resource_label) {
                (Some(tg), _) => Some(alb_label(clients, ids, tg, resource).await?),
                (None, label) => label.clone(),
            };
            Some(built(
                PredefinedMetricSpecification::builder()
                    .predefined_metric_type(m.predefined_metric_type.as_str().into())
                    .set_resource_label(label)
                    .build(),
                resource,
            )?)
        }
        None => None,
    };
    let customized = match &c.customized_metric_specification {
        Some(m) => {
            let mut dims = Vec::new();
            for d in &m.dimensions {
                dims.push(built(MetricDimension::builder().name(&d.name).value(&d.value).build(), resource)?);
            }
            Some(
                CustomizedMetricSpecification::builder()
                    .metric_name(&m.metric_name)
                    .namespace(&m.namespace)
                    .set_dimensions(Some(dims))
                    .statistic(m.statistic.as_str().into())
                    .set_unit(m.unit.clone())
                    .build(),
            )
        }
        None => None,
    };
    built(
        TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(c.target_value)
            .set_predefined_metric_specification(predefined)
            .set_customized_metric_specification(customized)
            .set_scale_out_cooldown(c.scale_out_cooldown)
            .set_scale_in_cooldown(c.scale_in_cooldown)
            .set_disable_scale_in(c.disable_scale_in)
            .build(),
        resource,
    )
}

fn step_scaling(c: &st::StepScalingConfiguration, resource: &str) -> Result<StepScalingPolicyConfiguration, AwsError> {
    let mut steps = Vec::new();
    for a in &c.step_adjustments {
        steps.push(built(
            StepAdjustment::builder()
                .set_metric_interval_lower_bound(a.metric_interval_lower_bound)
                .set_metric_interval_upper_bound(a.metric_interval_upper_bound)
                .scaling_adjustment(a.scaling_adjustment)
                .build(),
            resource,
        )?);
    }
    Ok(StepScalingPolicyConfiguration::builder()
        .adjustment_type(c.adjustment_type.as_str().into())
        .set_step_adjustments(Some(steps))
        .set_min_adjustment_magnitude(c.min_adjustment_magnitude)
        .set_cooldown(c.cooldown)
        .set_metric_aggregation_type(c.metric_aggregation_type.as_deref().map(Into::into))
        .build())
}

fn date(s: Option<&String>, resource: &str) -> Result<Option<aws_smithy_types::DateTime>, AwsError> {
    s.map(|s| {
        aws_smithy_types::DateTime::from_str(s, Format::DateTime)
            .map_err(|e| AwsError::unresolved(resource, format!("time `{s}`: {e}")))
    })
    .transpose()
}

/// Run one planned Application Auto Scaling action.
pub async fn execute(
    clients: &Clients,
    call: AutoScalingCall,
    target: &Target<'_>,
    action: &Action,
    ids: &Ids,
) -> Result<Created, AwsError> {
    let resource = target.resource();
    let p = |e: String| AwsError::unresolved(&resource, e);
    let autoscaling = &clients.autoscaling;
    let op = call.operation();
    let id: String = action.param("resourceId").map_err(p)?.unwrap_or_default();
    if id.is_empty() {
        return Err(p(format!("{op}: no resource ID (its Service is not in the set?)")));
    }
    debug!(%resource, call = op, summary = %action.summary, "Application Auto Scaling");
    match call {
        AutoScalingCall::RegisterScalableTarget => {
            let suspended: Option<st::SuspendedState> = action.param("suspendedState").map_err(p)?;
            let tags: Option<std::collections::HashMap<String, String>> = action.param("tags").map_err(p)?;
            autoscaling
                .register_scalable_target()
                .service_namespace(namespace())
                .scalable_dimension(dimension())
                .resource_id(&id)
                .set_min_capacity(action.param("minCapacity").map_err(p)?)
                .set_max_capacity(action.param("maxCapacity").map_err(p)?)
                .set_suspended_state(suspended.map(|s| {
                    SuspendedState::builder()
                        .set_dynamic_scaling_in_suspended(s.dynamic_scaling_in_suspended)
                        .set_dynamic_scaling_out_suspended(s.dynamic_scaling_out_suspended)
                        .set_scheduled_scaling_suspended(s.scheduled_scaling_suspended)
                        .build()
                }))
                .set_tags(tags)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Resource(id))
        }
        AutoScalingCall::PutScalingPolicy => {
            let policy: ScalingPolicy = typed(action).map_err(p)?;
            let tracking = match &policy.target_tracking_scaling_policy_configuration {
                Some(c) => Some(target_tracking(clients, ids, c, &resource).await?),
                None => None,
            };
            let step =
                policy.step_scaling_policy_configuration.as_ref().map(|c| step_scaling(c, &resource)).transpose()?;
            autoscaling
                .put_scaling_policy()
                .service_namespace(namespace())
                .scalable_dimension(dimension())
                .resource_id(&id)
                .policy_name(&policy.policy_name)
                .policy_type(policy.policy_type.as_str().into())
                .set_target_tracking_scaling_policy_configuration(tracking)
                .set_step_scaling_policy_configuration(step)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        AutoScalingCall::DeleteScalingPolicy => {
            let name: String = action.param("policyName").map_err(p)?.unwrap_or_default();
            autoscaling
                .delete_scaling_policy()
                .service_namespace(namespace())
                .scalable_dimension(dimension())
                .resource_id(&id)
                .policy_name(name)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        AutoScalingCall::PutScheduledAction => {
            let a: ScheduledAction = typed(action).map_err(p)?;
            autoscaling
                .put_scheduled_action()
                .service_namespace(namespace())
                .scalable_dimension(dimension())
                .resource_id(&id)
                .scheduled_action_name(&a.scheduled_action_name)
                .schedule(&a.schedule)
                .set_timezone(a.timezone.clone())
                .set_start_time(date(a.start_time.as_ref(), &resource)?)
                .set_end_time(date(a.end_time.as_ref(), &resource)?)
                .scalable_target_action(
                    ScalableTargetAction::builder()
                        .set_min_capacity(a.scalable_target_action.min_capacity)
                        .set_max_capacity(a.scalable_target_action.max_capacity)
                        .build(),
                )
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        AutoScalingCall::DeleteScheduledAction => {
            let name: String = action.param("scheduledActionName").map_err(p)?.unwrap_or_default();
            autoscaling
                .delete_scheduled_action()
                .service_namespace(namespace())
                .scalable_dimension(dimension())
                .resource_id(&id)
                .scheduled_action_name(name)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        AutoScalingCall::DeregisterScalableTarget => {
            autoscaling
                .deregister_scalable_target()
                .service_namespace(namespace())
                .scalable_dimension(dimension())
                .resource_id(&id)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
    }
}
