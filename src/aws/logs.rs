//! The CloudWatch Logs adapter: observes log groups in manifest shape and executes their plan
//! steps. What to change is decided by the plan, not here.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tracing::debug;

use super::{AwsError, Clients, Created, Target, call_error};
use crate::manifest::{Kind, ManifestSet};
use crate::plan::{Action, Live, LogsCall, Observed, TAG_NAME, TAG_SET};

/// DescribeLogGroups takes at most 50 `logGroupIdentifiers` (and answers 50 a page).
const GROUPS_PER_CALL: usize = 50;

/// Observe the set's log groups by name (50 a call), each with its tags; with `prune`, every
/// log group of the account, to find the set's that left it (a tag read per group: CloudWatch
/// Logs lists no tags with the groups).
pub async fn observe(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    prune: bool,
    observed: &mut Observed,
) -> Result<(), AwsError> {
    let names: Vec<String> = desired.of_kind(Kind::LogGroup).map(|r| r.name().to_string()).collect();
    for chunk in names.chunks(GROUPS_PER_CALL) {
        for mut live in describe(clients, Some(chunk)).await? {
            if !chunk.contains(&live.name) {
                continue;
            }
            live.tags = tags(clients, &live).await?;
            observed.live.insert((Kind::LogGroup, live.name.clone()), live);
        }
    }
    if prune {
        for mut live in describe(clients, None).await? {
            if desired.get(Kind::LogGroup, &live.name).is_some() {
                continue;
            }
            live.tags = tags(clients, &live).await?;
            if live.tags.get(TAG_SET).map(String::as_str) == Some(set) {
                if let Some(name) = live.tags.get(TAG_NAME).filter(|n| **n != live.name) {
                    debug!(group = %live.name, manifest = %name, "an owned log group under another name");
                }
                observed.orphans.push(live);
            }
        }
    }
    Ok(())
}

/// The log groups with these names (`None`: every log group), every page.
async fn describe(clients: &Clients, names: Option<&[String]>) -> Result<Vec<Live>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        debug!(count = names.map_or(0, <[String]>::len), "logs:DescribeLogGroups");
        let resp = clients
            .logs
            .describe_log_groups()
            .set_log_group_identifiers(names.map(<[String]>::to_vec))
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(call_error("DescribeLogGroups", format!("{} log group(s)", names.map_or(0, <[String]>::len))))?;
        for g in resp.log_groups() {
            let Some(name) = g.log_group_name() else { continue };
            // `arn` ends in `:*`; `logGroupArn` is the one TagResource takes.
            let arn = g
                .log_group_arn()
                .map(str::to_string)
                .unwrap_or_else(|| g.arn().unwrap_or_default().trim_end_matches(":*").to_string());
            let mut live = Live::new(Kind::LogGroup, name, arn);
            let mut spec = Map::new();
            if let Some(days) = g.retention_in_days() {
                spec.insert("retentionInDays".into(), json!(days));
            }
            if let Some(key) = g.kms_key_id() {
                spec.insert("kmsKeyId".into(), json!(key));
            }
            if let Some(class) = g.log_group_class() {
                spec.insert("logGroupClass".into(), json!(class.as_str()));
            }
            live.spec = Value::Object(spec);
            out.push(live);
        }
        token = resp.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

async fn tags(clients: &Clients, live: &Live) -> Result<BTreeMap<String, String>, AwsError> {
    let resp = clients
        .logs
        .list_tags_for_resource()
        .resource_arn(&live.id)
        .send()
        .await
        .map_err(call_error("ListTagsForResource", format!("LogGroup/{}", live.name)))?;
    Ok(resp.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
}

fn tags_param(action: &Action, key: Option<&str>) -> Result<std::collections::HashMap<String, String>, String> {
    match key {
        Some(k) => Ok(action.param(k)?.unwrap_or_default()),
        None => serde_json::from_value(action.params.clone()).map_err(|e| e.to_string()),
    }
}

/// Run one planned CloudWatch Logs action.
pub async fn execute(
    clients: &Clients,
    call: LogsCall,
    target: &Target<'_>,
    action: &Action,
) -> Result<Created, AwsError> {
    let resource = target.resource();
    let p = |e: String| AwsError::unresolved(&resource, e);
    let logs = &clients.logs;
    let op = call.operation();
    let name = target.name;
    debug!(%resource, call = op, summary = %action.summary, "CloudWatch Logs");
    match call {
        LogsCall::CreateLogGroup => {
            let given = tags_param(action, Some("tags")).map_err(p)?;
            let request = logs
                .create_log_group()
                .log_group_name(name)
                .set_kms_key_id(action.param("kmsKeyId").map_err(p)?)
                .set_log_group_class(action.param::<String>("logGroupClass").map_err(p)?.map(|c| c.as_str().into()))
                .set_tags(Some(given.clone()));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move { req.send().await.map(|_| ()).map_err(call_error(op, &resource)) }
            };
            // A group created by an attempt whose answer was lost carries the set's tag.
            let set = given.get(TAG_SET).cloned();
            let find = || async {
                for live in describe(clients, Some(&[name.to_string()])).await? {
                    if live.name == name && tags(clients, &live).await?.get(TAG_SET) == set.as_ref() {
                        return Ok(Some(()));
                    }
                }
                Ok(None)
            };
            super::create_or_find(send, find).await?;
            Ok(Created::Nothing)
        }
        LogsCall::PutRetentionPolicy => {
            let days: i32 = action.param("retentionInDays").map_err(p)?.unwrap_or_default();
            logs.put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        LogsCall::DeleteRetentionPolicy => {
            logs.delete_retention_policy().log_group_name(name).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        LogsCall::AssociateKmsKey => {
            let key: String = action.param("kmsKeyId").map_err(p)?.unwrap_or_default();
            logs.associate_kms_key()
                .log_group_name(name)
                .kms_key_id(key)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        LogsCall::TagResource => {
            logs.tag_resource()
                .resource_arn(target.id()?)
                .set_tags(Some(tags_param(action, None).map_err(p)?))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        LogsCall::DeleteLogGroup => {
            let group: String = action.param("logGroupName").map_err(p)?.unwrap_or_else(|| name.to_string());
            logs.delete_log_group().log_group_name(group).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
    }
}
