//! The calls of a `LogGroup` step (CloudWatch Logs), from the normalised desired spec and the
//! plan's changes: what `actions.rs` does for the other kinds.

use serde_json::{Map, Value, json};

use super::action::{Action, LogsCall as Logs};
use super::actions::{Input, resource_tags, tags_action};
use super::model::{Change, Live};

/// CreateLogGroup with what the manifest names (the class is fixed from here on), then its
/// retention: a new group keeps its events forever until PutRetentionPolicy.
pub fn create(i: &Input) -> Vec<Action> {
    let name = i.r.name();
    let mut params = Map::new();
    params.insert("logGroupName".into(), json!(name));
    let manifest = serde_json::to_value(&i.r.spec).unwrap_or_default();
    for k in ["kmsKeyId", "logGroupClass"] {
        if let Some(v) = manifest.get(k) {
            params.insert(k.into(), v.clone());
        }
    }
    params.insert("tags".into(), json!(resource_tags(i.set, i.r)));
    let mut out = vec![Action::new(Logs::CreateLogGroup, format!("log group {name}"), Value::Object(params))];
    if let Some(days) = i.desired.get("retentionInDays").filter(|v| !v.is_null()) {
        out.push(retention(days));
    }
    out
}

fn retention(days: &Value) -> Action {
    Action::new(Logs::PutRetentionPolicy, format!("retention {days} days"), json!({"retentionInDays": days}))
}

/// Retention set or removed (never expire), a key associated, tags repaired.
pub fn update(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let mut out = Vec::new();
    for c in changes {
        match (c.path.as_str(), &c.after) {
            ("retentionInDays", Some(Value::Null) | None) => {
                out.push(Action::new(Logs::DeleteRetentionPolicy, "retention: never expire", json!({})));
            }
            ("retentionInDays", Some(days)) => out.push(retention(days)),
            ("kmsKeyId", Some(key)) if !key.is_null() => {
                out.push(Action::new(
                    Logs::AssociateKmsKey,
                    format!("kms key {}", key.as_str().unwrap_or("?")),
                    json!({"kmsKeyId": key}),
                ));
            }
            _ => {}
        }
    }
    out.extend(tags_action(i, changes, Logs::TagResource));
    out
}

/// DeleteLogGroup: its events go with it (prune reaches here only with `deletionPolicy: Delete`).
pub fn delete(live: &Live) -> Action {
    Action::new(
        Logs::DeleteLogGroup,
        format!("log group {} and every event in it", live.name),
        json!({"logGroupName": live.name}),
    )
}
