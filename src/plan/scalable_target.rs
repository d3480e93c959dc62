//! The calls of a `ScalableTarget` step (Application Auto Scaling), from the normalised desired
//! spec and the plan's changes: what `actions.rs` does for the other kinds. Every call names the
//! target by its service's resource ID (`service/CLUSTER/SERVICE`, from the plan's input).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::action::{Action, AutoScalingCall as Aas};
use super::actions::{Input, resource_tags};
use super::contract::top;
use super::model::{Change, Live};

/// The service namespace and scalable dimension of every target the set registers.
pub const NAMESPACE: &str = "ecs";
pub const DIMENSION: &str = "ecs:service:DesiredCount";

fn resource_id(i: &Input) -> Value {
    json!(i.resource_id.unwrap_or_default())
}

/// RegisterScalableTarget (with the ownership tags), then each policy and scheduled action.
pub fn create(i: &Input) -> Vec<Action> {
    let id = resource_id(i);
    let mut params = Map::new();
    params.insert("resourceId".into(), id.clone());
    for k in ["minCapacity", "maxCapacity", "suspendedState"] {
        if let Some(v) = i.desired.get(k) {
            params.insert(k.into(), v.clone());
        }
    }
    params.insert("tags".into(), json!(resource_tags(i.set, i.r)));
    let mut out = vec![Action::new(
        Aas::RegisterScalableTarget,
        format!(
            "scalable target {} ({}..{} tasks)",
            id.as_str().unwrap_or("?"),
            i.desired["minCapacity"],
            i.desired["maxCapacity"]
        ),
        Value::Object(params),
    )];
    for p in i.desired["scalingPolicies"].as_array().into_iter().flatten() {
        out.push(put_policy(&id, p));
    }
    for a in i.desired["scheduledActions"].as_array().into_iter().flatten() {
        out.push(put_scheduled(&id, a));
    }
    out
}

fn put_policy(id: &Value, policy: &Value) -> Action {
    let mut params = policy.as_object().cloned().unwrap_or_default();
    params.insert("resourceId".into(), id.clone());
    Action::new(
        Aas::PutScalingPolicy,
        format!(
            "scaling policy {} ({})",
            policy["policyName"].as_str().unwrap_or("?"),
            policy["policyType"].as_str().unwrap_or("?")
        ),
        Value::Object(params),
    )
}

fn put_scheduled(id: &Value, action: &Value) -> Action {
    let mut params = action.as_object().cloned().unwrap_or_default();
    params.insert("resourceId".into(), id.clone());
    Action::new(
        Aas::PutScheduledAction,
        format!(
            "scheduled action {} {}",
            action["scheduledActionName"].as_str().unwrap_or("?"),
            action["schedule"].as_str().unwrap_or("")
        ),
        Value::Object(params),
    )
}

/// The names of the elements of `list` that a change touches: `scalingPolicies[cpu].x` → `cpu`.
fn touched<'a>(changes: &[&'a Change], list: &str) -> BTreeSet<&'a str> {
    let prefix = format!("{list}[");
    changes.iter().filter_map(|c| c.path.strip_prefix(prefix.as_str())?.split(']').next()).collect()
}

fn named<'a>(list: &'a Value, key: &str, name: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|v| v[key].as_str() == Some(name))
}

/// The changed capacity or suspended state re-registered; each changed policy or scheduled
/// action put again (a policy whose type changed is deleted first: PutScalingPolicy updates a
/// policy of the same type); each one the manifest does not list deleted.
pub fn update(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let id = resource_id(i);
    let mut out = Vec::new();
    let mut register = Map::new();
    for c in changes {
        let f = top(&c.path);
        if matches!(f, "minCapacity" | "maxCapacity" | "suspendedState")
            && let Some(v) = i.desired.get(f)
        {
            register.insert(f.to_string(), v.clone());
        }
    }
    if !register.is_empty() {
        let summary = format!("scalable target {}", register.keys().cloned().collect::<Vec<_>>().join(", "));
        register.insert("resourceId".into(), id.clone());
        out.push(Action::new(Aas::RegisterScalableTarget, summary, Value::Object(register)));
    }
    let live = i.live.map(|l| &l.spec);
    for name in touched(changes, "scalingPolicies") {
        let want = named(&i.desired["scalingPolicies"], "policyName", name);
        let had = live.and_then(|l| named(&l["scalingPolicies"], "policyName", name));
        let delete = || {
            Action::new(
                Aas::DeleteScalingPolicy,
                format!("delete scaling policy {name}"),
                json!({"resourceId": id, "policyName": name}),
            )
        };
        match (want, had) {
            (Some(w), Some(h)) if w["policyType"] != h["policyType"] => {
                out.push(delete());
                out.push(put_policy(&id, w));
            }
            (Some(w), _) => out.push(put_policy(&id, w)),
            (None, _) => out.push(delete()),
        }
    }
    for name in touched(changes, "scheduledActions") {
        match named(&i.desired["scheduledActions"], "scheduledActionName", name) {
            Some(w) => out.push(put_scheduled(&id, w)),
            None => out.push(Action::new(
                Aas::DeleteScheduledAction,
                format!("delete scheduled action {name}"),
                json!({"resourceId": id, "scheduledActionName": name}),
            )),
        }
    }
    out
}

/// DeregisterScalableTarget: "Deregistering a scalable target deletes the scaling policies and
/// the scheduled actions that are associated with it" (Application Auto Scaling API reference).
pub fn delete(live: &Live) -> Action {
    let policies = live.spec["scalingPolicies"].as_array().map_or(0, Vec::len);
    let scheduled = live.spec["scheduledActions"].as_array().map_or(0, Vec::len);
    Action::new(
        Aas::DeregisterScalableTarget,
        format!(
            "scalable target {} with its {policies} scaling policy(ies) and {scheduled} scheduled action(s)",
            live.id
        ),
        json!({"resourceId": live.id}),
    )
}
