//! The Lambda edge: which event arrived (decoded with the typed events of `aws_lambda_events`),
//! what it asks for, and the function's settings. Pure: no AWS calls here.

pub mod handler;

use aws_lambda_events::event::cloudwatch_events::cloudtrail::AWSAPICall;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use serde_json::Value;

use crate::store::SetLocation;
use crate::store::status::{Report, ServiceEvent};

/// The default of `DEEP_EVERY`: one scheduled run in 12 reads every task definition.
pub const DEEP_EVERY: u64 = 12;

/// Whether scheduled run number `tick` (1, 2, ...) is a deep one.
pub fn is_deep_tick(tick: u64, every: u64) -> bool {
    every > 0 && tick.is_multiple_of(every)
}

/// The function's settings, from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `BUCKET`: where the manifest sets live.
    pub bucket: String,
    /// `SETS` (comma-separated prefixes): the sets a scheduled event covers.
    pub sets: Vec<String>,
    /// `MODE=observe`: detect and report, change nothing.
    pub observe: bool,
    /// `PRUNE=true`: delete owned resources that left the set.
    pub prune: bool,
    /// `REPLACE=none|safe|all` (default `safe`): which replacements run unattended; `safe` only
    /// those that create the new resource first and keep serving.
    pub replace: crate::reconcile::ReplacePolicy,
    /// `AWS_LAMBDA_FUNCTION_NAME`: the function's own CloudTrail session name, to tell its own
    /// writes from others'.
    pub function_name: Option<String>,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let bucket = var("BUCKET").ok_or("BUCKET is not set: the bucket that holds the manifest sets")?;
        let sets: Vec<String> = var("SETS")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().trim_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let mode = var("MODE").unwrap_or_else(|| "apply".into());
        let observe = match mode.as_str() {
            "apply" => false,
            "observe" => true,
            other => return Err(format!("MODE={other}: use `apply` or `observe`")),
        };
        let prune = matches!(var("PRUNE").as_deref(), Some("true" | "1" | "yes"));
        let replace = var("REPLACE").unwrap_or_default().parse()?;
        Ok(Config { bucket, sets, observe, prune, replace, function_name: var("AWS_LAMBDA_FUNCTION_NAME") })
    }

    /// `DEEP_EVERY=N` (default 12; 0 never): every Nth scheduled run of a set reads every task
    /// definition, also those the services' binding tags prove unchanged (a revision
    /// deregistered under a running service is seen then). Read apart from [`Config`] so the
    /// struct stays as callers build it.
    pub fn deep_every() -> u64 {
        std::env::var("DEEP_EVERY").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEEP_EVERY)
    }

    pub fn location(&self, prefix: &str) -> SetLocation {
        SetLocation::new(&self.bucket, prefix)
    }
}

/// What an event asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A new `generation.json`: reconcile that set.
    Synced { set: SetLocation },
    /// The schedule: full drift check and repair of the sets it names (a rule per set sends
    /// `{"action": "schedule", "set": "PREFIX"}`), or of every set in `SETS` (a plain
    /// Scheduled Event).
    Schedule { sets: Vec<String> },
    /// An ECS event about a service: update its status, and a targeted reconcile of it.
    Ecs(EcsEvent),
    /// Someone else wrote to ECS, ELBv2 or EC2: a targeted repair of what they touched.
    CloudTrail { event_source: String, event_name: String, principal: String, detail: Value },
    /// `{"action": "plan" | "apply", "set": "..."}`.
    Invoke { apply: bool, set: String },
    /// Anything else: logged and acknowledged.
    Ignored(String),
}

impl Trigger {
    pub fn name(&self) -> &'static str {
        match self {
            Trigger::Synced { .. } => "sync",
            Trigger::Schedule { .. } => "schedule",
            Trigger::Ecs(_) => "ecs-event",
            Trigger::CloudTrail { .. } => "cloudtrail",
            Trigger::Invoke { apply: true, .. } => "invoke-apply",
            Trigger::Invoke { apply: false, .. } => "invoke-plan",
            Trigger::Ignored(_) => "ignored",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsEvent {
    pub detail_type: String,
    pub cluster_arn: String,
    /// The service's name (from its ARN, or a task's `service:NAME` group).
    pub service: String,
    /// `SERVICE_DEPLOYMENT_FAILED`, `SERVICE_STEADY_STATE`, ... (empty for task events).
    pub event_name: String,
    /// `INFO`, `WARN` or `ERROR` (empty for task events).
    pub event_type: String,
    pub reason: Option<String>,
}

impl EcsEvent {
    /// What the event says about the service's condition, by its type and name. INFO events
    /// other than a steady state (`SERVICE_DESIRED_COUNT_UPDATED`, `TASKSET_STEADY_STATE`,
    /// `CAPACITY_PROVIDER_STEADY_STATE`, a deployment in progress) say nothing; nor does ECS
    /// being throttled (an ERROR about the scheduler, not the service); task events neither.
    pub fn report(&self) -> Option<Report> {
        match (self.event_name.as_str(), self.event_type.as_str()) {
            ("SERVICE_DEPLOYMENT_FAILED", _) => Some(Report::DeploymentFailed),
            ("SERVICE_DEPLOYMENT_COMPLETED" | "SERVICE_STEADY_STATE", _) => Some(Report::Steady),
            ("ECS_OPERATION_THROTTLED" | "SERVICE_DISCOVERY_OPERATION_THROTTLED", _) => None,
            (_, "WARN" | "ERROR") if self.detail_type == "ECS Service Action" => Some(Report::Unhealthy),
            _ => None,
        }
    }

    /// The event as status records it, when it says anything about the service's condition.
    pub fn service_event(&self) -> Option<ServiceEvent> {
        Some(ServiceEvent {
            service: self.service.clone(),
            report: self.report()?,
            event_name: self.event_name.clone(),
            reason: self.reason.clone(),
        })
    }
}

/// Decide what an event asks for. Never fails: what is not understood is `Ignored`.
pub fn decode(event: &Value, config: &Config) -> Trigger {
    if let Some(action) = event.get("action").and_then(Value::as_str) {
        let set = event.get("set").and_then(Value::as_str).unwrap_or_default().trim_matches('/').to_string();
        if action == "schedule" {
            let mut sets: Vec<String> = event
                .get("sets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|s| s.trim_matches('/').to_string())
                .collect();
            if !set.is_empty() {
                sets.push(set);
            }
            sets.retain(|s| !s.is_empty());
            return if sets.is_empty() {
                Trigger::Ignored("a schedule needs \"set\" or \"sets\": the prefixes it covers".into())
            } else {
                Trigger::Schedule { sets }
            };
        }
        return match (action, set.is_empty()) {
            (_, true) => Trigger::Ignored("a direct invoke needs \"set\": the set's prefix".into()),
            ("plan", false) => Trigger::Invoke { apply: false, set },
            ("apply", false) => Trigger::Invoke { apply: true, set },
            (other, false) => Trigger::Ignored(format!("unknown action `{other}`: use plan or apply")),
        };
    }
    if event.get("Records").is_some() {
        return match serde_json::from_value::<S3Event>(event.clone()) {
            Ok(s3) => s3_trigger(&s3, config),
            Err(e) => Trigger::Ignored(format!("unreadable S3 notification: {e}")),
        };
    }
    if event.get("detail-type").is_none() {
        return Trigger::Ignored("not an S3, EventBridge or direct-invoke event".into());
    }
    let eb: EventBridgeEvent<Value> = match serde_json::from_value(event.clone()) {
        Ok(e) => e,
        Err(e) => return Trigger::Ignored(format!("unreadable EventBridge event: {e}")),
    };
    match (eb.source.as_str(), eb.detail_type.as_str()) {
        ("aws.events", "Scheduled Event") => Trigger::Schedule { sets: config.sets.clone() },
        ("aws.s3", "Object Created") => {
            let bucket = eb.detail.pointer("/bucket/name").and_then(Value::as_str).unwrap_or_default();
            let key = eb.detail.pointer("/object/key").and_then(Value::as_str).unwrap_or_default();
            generation_trigger(bucket, key, config)
        }
        ("aws.ecs", "ECS Deployment State Change" | "ECS Service Action" | "ECS Task State Change") => ecs_trigger(&eb),
        (_, "AWS API Call via CloudTrail") => match serde_json::from_value::<AWSAPICall>(eb.detail.clone()) {
            Ok(call) => cloudtrail_trigger(call, eb.detail, config),
            Err(e) => Trigger::Ignored(format!("unreadable CloudTrail event: {e}")),
        },
        (source, kind) => Trigger::Ignored(format!("{source} `{kind}` is not an event this function handles")),
    }
}

fn s3_trigger(s3: &S3Event, config: &Config) -> Trigger {
    for r in &s3.records {
        if !r.event_name.as_deref().unwrap_or_default().starts_with("ObjectCreated") {
            continue;
        }
        let (bucket, key) =
            (r.s3.bucket.name.as_deref().unwrap_or_default(), r.s3.object.key.as_deref().unwrap_or_default());
        // S3 notifications URL-encode keys (a space is `+`).
        let key = percent_decode(&key.replace('+', " "));
        if let t @ Trigger::Synced { .. } = generation_trigger(bucket, &key, config) {
            return t;
        }
    }
    Trigger::Ignored("no generation.json among the created objects".into())
}

fn generation_trigger(bucket: &str, key: &str, config: &Config) -> Trigger {
    // `PREFIX/status/<Kind>/generation.json` is a resource's status and
    // `PREFIX/manifests/.../generation.json` a manifest file, not a set's generation.
    let is_own_file = |prefix: &str| {
        let parts: Vec<&str> = prefix.split('/').collect();
        let status = parts.len() >= 3
            && parts[parts.len() - 2] == "status"
            && crate::manifest::Kind::parse(parts[parts.len() - 1]).is_some();
        status || parts.iter().skip(1).any(|p| *p == "manifests")
    };
    let prefix = key.strip_suffix("/generation.json").filter(|p| !is_own_file(p));
    match prefix {
        Some(prefix) if !prefix.is_empty() && bucket == config.bucket => {
            Trigger::Synced { set: SetLocation::new(bucket, prefix) }
        }
        Some(_) if bucket != config.bucket => {
            Trigger::Ignored(format!("bucket {bucket} is not this function's ({})", config.bucket))
        }
        _ => Trigger::Ignored(format!("{key} is not a set's generation.json")),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn ecs_trigger(eb: &EventBridgeEvent<Value>) -> Trigger {
    let d = &eb.detail;
    // Deployment events carry no `clusterArn`: the service's ARN names its cluster
    // (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME`).
    let service_arn = eb.resources.iter().flatten().find(|r| r.contains(":service/"));
    let cluster_of_service = service_arn.and_then(|arn| {
        let (head, path) = arn.split_once(":service/")?;
        let (cluster, _) = path.split_once('/')?;
        Some(format!("{head}:cluster/{cluster}"))
    });
    let cluster_arn = d.get("clusterArn").and_then(Value::as_str).map(str::to_string).or(cluster_of_service);
    let service = match eb.detail_type.as_str() {
        // Task events name their service in `group`: `service:web`.
        "ECS Task State Change" => {
            d.get("group").and_then(Value::as_str).and_then(|g| g.strip_prefix("service:")).map(str::to_string)
        }
        _ => service_arn.map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()),
    };
    let (Some(cluster_arn), Some(service)) = (cluster_arn, service) else {
        return Trigger::Ignored(format!("{} without a service (a standalone task?)", eb.detail_type));
    };
    Trigger::Ecs(EcsEvent {
        detail_type: eb.detail_type.clone(),
        cluster_arn,
        service,
        event_name: d.get("eventName").and_then(Value::as_str).unwrap_or_default().to_string(),
        event_type: d.get("eventType").and_then(Value::as_str).unwrap_or_default().to_string(),
        reason: d.get("reason").or_else(|| d.get("stoppedReason")).and_then(Value::as_str).map(str::to_string),
    })
}

fn cloudtrail_trigger(call: AWSAPICall, detail: Value, config: &Config) -> Trigger {
    let principal = call.user_identity.arn.clone().unwrap_or_default();
    let name = call.event_name.clone();
    if ["Describe", "List", "Get"].iter().any(|p| name.starts_with(p)) {
        return Trigger::Ignored(format!("{name} is a read"));
    }
    // The function's own writes come from the session named after it:
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION_NAME.
    if let Some(f) = &config.function_name
        && principal.contains(":assumed-role/")
        && principal.rsplit('/').next() == Some(f.as_str())
    {
        return Trigger::Ignored(format!("{name} was made by this function"));
    }
    if let Some(service) = aws_service_caller(&detail) {
        return Trigger::Ignored(format!("{name} was made by {service}, which owns what it changes: not drift"));
    }
    Trigger::CloudTrail { event_source: call.event_source, event_name: name, principal, detail }
}

/// The AWS services whose writes to the set's resources are theirs to make, by the principal a
/// CloudTrail record names as the caller (`userIdentity.invokedBy`, and the service name in
/// `sourceIPAddress` for calls an AWS service makes; CloudTrail User Guide, userIdentity element):
/// Application Auto Scaling setting a service's desired count (through its service-linked role
/// `AWSServiceRoleForApplicationAutoScaling_ECSService`, or a role it assumes), and ECS moving
/// listener-rule weights and target groups during a blue/green deployment (with the service's
/// infrastructure role). The template's rule leaves them out too.
pub const AWS_SERVICE_CALLERS: [&str; 3] =
    ["application-autoscaling.amazonaws.com", "ecs.application-autoscaling.amazonaws.com", "ecs.amazonaws.com"];

/// The role session names ECS uses with a blue/green service's infrastructure role.
const ECS_ELB_SESSIONS: [&str; 2] = ["ECSNetworkingWithELB", "ecs-service-scheduler"];

fn aws_service_caller(detail: &Value) -> Option<&'static str> {
    let named =
        |v: Option<&Value>| v.and_then(Value::as_str).and_then(|s| AWS_SERVICE_CALLERS.iter().find(|c| **c == s));
    let by_role = detail
        .pointer("/userIdentity/sessionContext/sessionIssuer/arn")
        .and_then(Value::as_str)
        .is_some_and(|a| a.contains(":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"));
    // ECS calls Elastic Load Balancing with the service's infrastructure role under the session
    // names `ECSNetworkingWithELB` (listeners, rules) and `ecs-service-scheduler` (targets) (ECS
    // developer guide, "Amazon ECS infrastructure IAM role for load balancers": "the CloudTrail
    // log roleSessionName will be ECSNetworkingWithELB or ecs-service-scheduler"); whether
    // `invokedBy` is set for them is not documented, so the session name counts on its own.
    let by_ecs_session = detail.pointer("/userIdentity/type").and_then(Value::as_str) == Some("AssumedRole")
        && detail
            .pointer("/userIdentity/arn")
            .and_then(Value::as_str)
            .and_then(|a| a.rsplit('/').next())
            .is_some_and(|session| ECS_ELB_SESSIONS.contains(&session));
    let caller = named(detail.pointer("/userIdentity/invokedBy")).or_else(|| named(detail.get("sourceIPAddress")));
    match caller {
        Some(c) if c.ends_with("application-autoscaling.amazonaws.com") => Some("Application Auto Scaling"),
        Some(_) => Some("ECS (a deployment)"),
        None if by_role => Some("Application Auto Scaling"),
        None if by_ecs_session => Some("ECS (a deployment)"),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_scheduled_run_is_deep_and_zero_means_never() {
        let deep: Vec<u64> = (1..=25).filter(|t| is_deep_tick(*t, 12)).collect();
        assert_eq!(deep, [12, 24]);
        assert!((1..=25).all(|t| !is_deep_tick(t, 0)));
        assert!((1..=3).all(|t| is_deep_tick(t, 1)));
    }

    fn config() -> Config {
        Config {
            bucket: "manifests".into(),
            sets: vec!["prod".into()],
            observe: false,
            prune: false,
            replace: Default::default(),
            function_name: Some("ecs-reconciler".into()),
        }
    }

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events").join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn every_event_kind_is_recognised() {
        let c = config();
        assert_eq!(
            decode(&fixture("s3-generation.json"), &c),
            Trigger::Synced { set: SetLocation::new("manifests", "teams/web") }
        );
        assert_eq!(
            decode(&fixture("eventbridge-s3-object-created.json"), &c),
            Trigger::Synced { set: SetLocation::new("manifests", "prod") }
        );
        assert_eq!(decode(&fixture("eventbridge-schedule.json"), &c), Trigger::Schedule { sets: vec!["prod".into()] });
        assert_eq!(
            decode(&serde_json::json!({"action": "schedule", "set": "teams/web/"}), &c),
            Trigger::Schedule { sets: vec!["teams/web".into()] }
        );
        // Deployment events carry no clusterArn: the service's ARN names the cluster.
        let Trigger::Ecs(e) = decode(&fixture("ecs-deployment-failed.json"), &c) else { panic!() };
        assert_eq!(e.report(), Some(Report::DeploymentFailed));
        assert_eq!(
            (e.service.as_str(), e.cluster_arn.as_str()),
            ("web", "arn:aws:ecs:us-east-1:123456789012:cluster/main")
        );
        let Trigger::Ecs(e) = decode(&fixture("ecs-task-stopped.json"), &c) else { panic!() };
        assert_eq!((e.service.as_str(), e.detail_type.as_str()), ("web", "ECS Task State Change"));
        let Trigger::Ecs(e) = decode(&fixture("ecs-service-action.json"), &c) else { panic!() };
        assert_eq!(e.event_name, "SERVICE_STEADY_STATE");
        assert_eq!(e.report(), Some(Report::Steady));
        let Trigger::CloudTrail { event_name, .. } = decode(&fixture("cloudtrail-update-service.json"), &c) else {
            panic!()
        };
        assert_eq!(event_name, "UpdateService");
        assert_eq!(
            decode(&serde_json::json!({"action": "plan", "set": "prod/"}), &c),
            Trigger::Invoke { apply: false, set: "prod".into() }
        );
    }

    /// By `eventType` first: INFO says nothing about the service's condition unless it is a
    /// steady state; WARN and ERROR service actions say it is unhealthy (ECS's own throttling aside).
    #[test]
    fn ecs_events_are_classified_by_type_and_name() {
        let c = config();
        for (file, want) in [
            ("ecs-service-action.json", Some(Report::Steady)),
            ("ecs-service-desired-count-updated.json", None),
            ("ecs-service-task-start-impaired.json", Some(Report::Unhealthy)),
            ("ecs-service-task-placement-failure.json", Some(Report::Unhealthy)),
            ("ecs-deployment-in-progress.json", None),
            ("ecs-deployment-completed.json", Some(Report::Steady)),
            ("ecs-deployment-failed.json", Some(Report::DeploymentFailed)),
            ("ecs-task-stopped.json", None),
        ] {
            let Trigger::Ecs(e) = decode(&fixture(file), &c) else { panic!("{file}: not an ECS trigger") };
            assert_eq!(e.report(), want, "{file}");
        }
        let mut throttled = fixture("ecs-service-task-placement-failure.json");
        throttled["detail"]["eventName"] = "ECS_OPERATION_THROTTLED".into();
        let Trigger::Ecs(e) = decode(&throttled, &c) else { panic!() };
        assert_eq!(e.report(), None);
        // A standalone task (the developer guide's example) names no service.
        assert!(matches!(decode(&fixture("ecs-task-running-other-cluster.json"), &c), Trigger::Ignored(_)));
    }

    #[test]
    fn only_a_generation_json_at_a_sets_root_is_a_sync() {
        let c = config();
        let key = |k: &str| {
            let mut e = fixture("eventbridge-s3-object-created.json");
            e["detail"]["object"]["key"] = k.into();
            decode(&e, &c)
        };
        assert_eq!(
            key("teams/web/generation.json"),
            Trigger::Synced { set: SetLocation::new("manifests", "teams/web") }
        );
        assert!(matches!(key("prod/status/Service/generation.json"), Trigger::Ignored(_)));
        assert!(matches!(key("prod/manifests/generation.json"), Trigger::Ignored(_)));
        assert!(matches!(key("generation.json"), Trigger::Ignored(_)));
    }

    /// Application Auto Scaling scaling a service out, and ECS shifting a blue/green
    /// deployment's listener rule, are theirs to do; the same calls by a person are drift.
    #[test]
    fn writes_by_autoscaling_and_by_ecs_during_a_deployment_are_not_drift() {
        let c = config();
        for (file, by) in [
            ("cloudtrail-update-service-autoscaling.json", "Application Auto Scaling"),
            ("cloudtrail-modify-rule-ecs-deployment.json", "ECS"),
        ] {
            match decode(&fixture(file), &c) {
                Trigger::Ignored(why) => assert!(why.contains(by), "{file}: {why}"),
                other => panic!("{file}: {other:?}"),
            }
            // ECS's infrastructure-role sessions are known by their names even where CloudTrail
            // names no invoking service.
            if by == "ECS" {
                let mut bare = fixture(file);
                bare["detail"]["userIdentity"].as_object_mut().unwrap().remove("invokedBy");
                bare["detail"]["sourceIPAddress"] = "198.51.100.7".into();
                assert!(matches!(decode(&bare, &c), Trigger::Ignored(_)), "{file} without invokedBy");
                bare["detail"]["userIdentity"]["arn"] =
                    "arn:aws:sts::123456789012:assumed-role/ecsInfrastructureRoleForLoadBalancers/alice".into();
                assert!(matches!(decode(&bare, &c), Trigger::CloudTrail { .. }), "{file}: another session of the role");
            }
            // The same call by a person is drift.
            let mut person = fixture(file);
            let d = &mut person["detail"];
            d["userIdentity"] = fixture("cloudtrail-update-service.json")["detail"]["userIdentity"].clone();
            d["sourceIPAddress"] = "203.0.113.10".into();
            assert!(matches!(decode(&person, &c), Trigger::CloudTrail { .. }), "{file} by a person");
        }
    }

    #[test]
    fn what_is_not_for_this_function_is_ignored_not_retried() {
        let c = config();
        let mut own = fixture("cloudtrail-update-service.json");
        own["detail"]["userIdentity"]["arn"] =
            "arn:aws:sts::123456789012:assumed-role/ecs-reconciler-role/ecs-reconciler".into();
        for (what, event) in [
            ("own write", own),
            ("other file", {
                let mut e = fixture("s3-generation.json");
                e["Records"][0]["s3"]["object"]["key"] = "teams/web/manifests/web.yaml".into();
                e
            }),
            ("other bucket", {
                let mut e = fixture("s3-generation.json");
                e["Records"][0]["s3"]["bucket"]["name"] = "someone-else".into();
                e
            }),
            ("unknown shape", serde_json::json!({"hello": "world"})),
            ("unknown action", serde_json::json!({"action": "destroy", "set": "prod"})),
        ] {
            assert!(matches!(decode(&event, &c), Trigger::Ignored(_)), "{what}");
        }
    }
}
