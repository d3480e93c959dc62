//! Drift on every updatable field is repaired, generated from the field contract: for each field
//! the contract says AWS changes in place, someone changes it behind the reconciler's back (one
//! SDK call, made through the product's adapter as a stand-in for a person with the console),
//! `plan` shows exactly that field, `apply` makes exactly the calls the plan listed, and the next
//! `plan` is empty. It runs through the AWS-shaped proxy, so reads look like AWS's.
//!
//! A field of the contract without a case here must be listed in `NOT_COVERED` with the reason;
//! a new updatable field fails this test until it gets one or the other.

mod common;

use std::collections::BTreeSet;

use common::{AwsLike, Moto, create_network, example_set};
use ecs_reconciler::aws::{self, Clients, Target};
use ecs_reconciler::manifest::{Kind, ManifestSet};
use ecs_reconciler::plan::contract::{Field, contract, top};
use ecs_reconciler::plan::{Action, AutoScalingCall, Call, Ec2Call, EcsCall, Elbv2Call, LogsCall, Observed, Op, Plan};
use ecs_reconciler::reconcile::{self, Outcome, RunOptions};
use serde_json::{Value, json};

const SET: &str = "shop";

/// One out-of-band change: which resource, which call, its parameters, and the top-level field
/// the plan must show (and nothing else).
struct Case {
    kind: Kind,
    name: &'static str,
    call: Call,
    part: Option<&'static str>,
    params: Value,
    field: &'static str,
}

fn case(kind: Kind, name: &'static str, call: impl Into<Call>, params: Value, field: &'static str) -> Case {
    Case { kind, name, call: call.into(), part: None, params, field }
}

fn on(mut c: Case, part: &'static str) -> Case {
    c.part = Some(part);
    c
}

/// Updatable fields without a case, and why.
const NOT_COVERED: &[(Kind, &str, &str)] = &[
    (Kind::TargetGroup, "healthCheck", "the block is another spelling of the healthCheck* fields, each covered"),
    (Kind::TargetGroup, "tags", "the example target group names none; the ownership tags are covered on Service"),
    (Kind::LoadBalancer, "subnetMappings", "the example load balancer uses subnets"),
    (Kind::LoadBalancer, "tags", "the example load balancer names none; AddTags is covered on the target group path"),
    (
        Kind::LoadBalancer,
        "attributes",
        "the example load balancer names none (ModifyTargetGroupAttributes covers the shape)",
    ),
    (Kind::SecurityGroup, "tags", "the example groups name none; CreateTags is unit-tested in plan::actions"),
    (
        Kind::Cluster,
        "settings",
        "moto answers UpdateClusterSettings with HTTP 500 (unimplemented): cannot drift or repair it",
    ),
    (Kind::Cluster, "configuration", "the example cluster names none"),
    (Kind::Cluster, "serviceConnectDefaults", "the example cluster names none"),
    (Kind::Service, "serviceRegistries", "the example service names none"),
    (Kind::Service, "capacityProviderStrategy", "the example service uses launchType; unit-tested in plan::actions"),
    (Kind::Service, "platformVersion", "the example service names none"),
    (Kind::Service, "placementConstraints", "the example service names none"),
    (Kind::Service, "placementStrategy", "the example service names none"),
    (Kind::Service, "availabilityZoneRebalancing", "the example service names none"),
    (Kind::Service, "loadBalancers", "moto's UpdateService ignores loadBalancers: the drift cannot be made"),
    (
        Kind::Service,
        "desiredCount",
        "the example's services are scaled by Application Auto Scaling (web) or ignore it (worker); unit-tested in plan::engine",
    ),
    (Kind::LogGroup, "kmsKeyId", "moto does not implement AssociateKmsKey"),
];

fn cases(cluster_arn: &str, web_td: &str) -> Vec<Case> {
    use Kind::*;
    let tg = |params: Value, field| case(TargetGroup, "web", Elbv2Call::ModifyTargetGroup, params, field);
    let svc = |mut params: Value, field| {
        params["cluster"] = json!(cluster_arn);
        case(Service, "web", EcsCall::UpdateService, params, field)
    };
    vec![
        tg(json!({"healthCheckPath": "/other"}), "healthCheckPath"),
        tg(json!({"healthCheckIntervalSeconds": 25}), "healthCheckIntervalSeconds"),
        tg(json!({"healthCheckTimeoutSeconds": 9}), "healthCheckTimeoutSeconds"),
        tg(json!({"healthyThresholdCount": 6}), "healthyThresholdCount"),
        tg(json!({"unhealthyThresholdCount": 5}), "unhealthyThresholdCount"),
        tg(json!({"healthCheckPort": "8080"}), "healthCheckPort"),
        tg(json!({"healthCheckProtocol": "HTTPS"}), "healthCheckProtocol"),
        tg(json!({"healthCheckEnabled": false}), "healthCheckEnabled"),
        tg(json!({"matcher": {"httpCode": "202"}}), "matcher"),
        case(
            TargetGroup,
            "web",
            Elbv2Call::ModifyTargetGroupAttributes,
            json!({"attributes": {"deregistration_delay.timeout_seconds": "120"}}),
            "attributes",
        ),
        case(
            LoadBalancer,
            "web",
            Elbv2Call::SetSecurityGroups,
            json!({"securityGroups": ["web-tasks"]}),
            "securityGroups",
        ),
        case(LoadBalancer, "web", Elbv2Call::SetSubnets, json!({"subnets": ["private-a", "private-b"]}), "subnets"),
        case(LoadBalancer, "web", Elbv2Call::SetIpAddressType, json!({"ipAddressType": "dualstack"}), "ipAddressType"),
        on(case(LoadBalancer, "web", Elbv2Call::DeleteListener, json!({}), "listeners"), "listener:80"),
        on(
            case(
                LoadBalancer,
                "web",
                Elbv2Call::ModifyListener,
                json!({"sslPolicy": "ELBSecurityPolicy-2016-08"}),
                "listeners",
            ),
            "listener:443",
        ),
        on(
            case(
                LoadBalancer,
                "web",
                Elbv2Call::ModifyListener,
                json!({"defaultActions": [{"type": "fixed-response", "fixedResponseConfig": {"statusCode": "503"}}]}),
                "listeners",
            ),
            "listener:80",
        ),
        on(
            case(
                LoadBalancer,
                "web",
                Elbv2Call::CreateRule,
                json!({"priority": 5, "conditions": [{"field": "path-pattern", "values": ["/x/*"]}],
                       "actions": [{"type": "forward", "targetGroup": "web"}], "tags": {}}),
                "listeners",
            ),
            "listener:80",
        ),
        case(
            SecurityGroup,
            "web-alb",
            Ec2Call::AuthorizeSecurityGroupIngress,
            json!({"rules": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "0.0.0.0/0"}]}),
            "ingress",
        ),
        case(
            SecurityGroup,
            "web-alb",
            Ec2Call::RevokeSecurityGroupIngress,
            json!({"rules": [{"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0", "description": "HTTP"}]}),
            "ingress",
        ),
        case(
            SecurityGroup,
            "web-alb",
            Ec2Call::AuthorizeSecurityGroupEgress,
            json!({"rules": [{"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidr": "10.0.0.0/8"}]}),
            "egress",
        ),
        case(
            SecurityGroup,
            "web-tasks",
            Ec2Call::RevokeSecurityGroupEgress,
            json!({"rules": [{"protocol": "-1", "cidr": "0.0.0.0/0", "description": "image pulls, logs and AWS APIs"}]}),
            "egress",
        ),
        case(
            Cluster,
            "main",
            EcsCall::PutClusterCapacityProviders,
            json!({"capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}),
            "capacityProviders",
        ),
        case(
            Cluster,
            "main",
            EcsCall::PutClusterCapacityProviders,
            json!({"capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                   "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3}]}),
            "defaultCapacityProviderStrategy",
        ),
        case(Cluster, "main", EcsCall::TagResource, json!({"team": "someone-else"}), "tags"),
        svc(json!({"taskDefinition": web_td}), "taskDefinition"),
        svc(
            json!({"deploymentConfiguration": {"maximumPercent": 150, "minimumHealthyPercent": 50,
                   "deploymentCircuitBreaker": {"enable": false, "rollback": false}}}),
            "deploymentConfiguration",
        ),
        svc(json!({"healthCheckGracePeriodSeconds": 99}), "healthCheckGracePeriodSeconds"),
        svc(json!({"enableExecuteCommand": true}), "enableExecuteCommand"),
        svc(json!({"enableECSManagedTags": true}), "enableECSManagedTags"),
        svc(json!({"propagateTags": "TASK_DEFINITION"}), "propagateTags"),
        svc(
            json!({"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["public-a", "public-b"],
                   "securityGroups": ["web-tasks"], "assignPublicIp": "DISABLED"}}}),
            "networkConfiguration",
        ),
        case(Service, "web", EcsCall::TagResource, json!({"team": "someone-else"}), "tags"),
        case(LogGroup, "/ecs/web", LogsCall::PutRetentionPolicy, json!({"retentionInDays": 7}), "retentionInDays"),
        case(LogGroup, "/ecs/web", LogsCall::TagResource, json!({"team": "someone-else"}), "tags"),
        scaling(AutoScalingCall::RegisterScalableTarget, json!({"minCapacity": 3}), "minCapacity"),
        scaling(AutoScalingCall::RegisterScalableTarget, json!({"maxCapacity": 4}), "maxCapacity"),
        scaling(
            AutoScalingCall::RegisterScalableTarget,
            json!({"suspendedState": {"dynamicScalingInSuspended": true}}),
            "suspendedState",
        ),
        scaling(AutoScalingCall::DeleteScalingPolicy, json!({"policyName": "cpu60"}), "scalingPolicies"),
        scaling(
            AutoScalingCall::PutScheduledAction,
            json!({"scheduledActionName": "by-hand", "schedule": "rate(1 day)", "scalableTargetAction": {"maxCapacity": 3}}),
            "scheduledActions",
        ),
    ]
}

/// An out-of-band change of the web service's scalable target.
fn scaling(call: AutoScalingCall, mut params: Value, field: &'static str) -> Case {
    params["resourceId"] = json!("service/main/web");
    case(Kind::ScalableTarget, "web", call, params, field)
}

async fn plan(clients: &Clients, set: &ManifestSet) -> (Observed, Plan) {
    reconcile::plan_set(clients, SET, set, &RunOptions::default()).await.expect("plan")
}

/// Apply; every step must succeed.
async fn apply(clients: &Clients, set: &ManifestSet, observed: &Observed, plan: &Plan) {
    let results = reconcile::apply(clients, set, observed, plan, &RunOptions::default()).await.expect("apply");
    assert!(results.iter().all(|r| r.outcome == Outcome::Applied), "{results:#?}");
}

fn text(plan: &Plan) -> String {
    ecs_reconciler::plan::render::text(plan, false)
}

#[tokio::test]
async fn drift_on_every_updatable_field_is_shown_alone_and_repaired_with_the_planned_calls() {
    // Every updatable field of the contract has a case or a reason.
    let moto = Moto::start();
    let awslike = AwsLike::start(&moto);
    let clients = Clients::new(&awslike.sdk_config());
    let network = create_network(&awslike, &clients.ec2).await;
    let dir = example_set(SET, &network);
    let set = ManifestSet::load(&[dir.path().join(SET)]).expect("load");
    assert!(set.is_valid());

    // Converge first (through the proxy one apply suffices: AWS keeps what CreateService sent).
    let (observed, p) = plan(&clients, &set).await;
    apply(&clients, &set, &observed, &p).await;
    let (observed, p) = plan(&clients, &set).await;
    assert!(!p.has_changes(), "not converged after one apply:\n{}", text(&p));

    let cluster_arn = observed.get(Kind::Cluster, "main").expect("cluster").id.clone();
    let web_td = observed.get(Kind::TaskDefinition, "web").expect("td").id.clone();
    // Another revision of web, for the service to be pointed at by hand.
    let other_td = {
        let action = Action::new(
            EcsCall::RegisterTaskDefinition,
            "by hand",
            json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                   "containerDefinitions": [{"name": "web", "image": "web:old"}], "tags": {}}),
        );
        let target = Target { kind: Kind::TaskDefinition, name: "web", id: None, part: None };
        match aws::execute(&clients, &target, &action, &aws::Ids::default()).await.expect("register") {
            aws::Created::Resource(arn) => arn,
            other => panic!("{other:?}"),
        }
    };
    assert_ne!(other_td, web_td);

    let cases = cases(&cluster_arn, &other_td);
    let mut covered: BTreeSet<(Kind, &str)> = BTreeSet::new();
    for c in &cases {
        // The drift, made as someone else would.
        let (observed, _) = plan(&clients, &set).await;
        let live = observed.get(c.kind, c.name).unwrap_or_else(|| panic!("{}/{} not observed", c.kind, c.name));
        let ids = aws::Ids::from_observed(&observed);
        let target = Target {
            kind: c.kind,
            name: c.name,
            id: Some(live.id.clone()),
            part: c.part.map(|p| live.parts.get(p).cloned().unwrap_or_else(|| panic!("no {p}"))),
        };
        let mut action = Action::new(c.call, "out of band", c.params.clone());
        action.part = c.part.map(str::to_string);
        aws::execute(&clients, &target, &action, &ids)
            .await
            .unwrap_or_else(|e| panic!("{} {}/{}: {e}", c.call, c.kind, c.name));

        // The plan shows that field, on that resource only.
        let (observed, p) = plan(&clients, &set).await;
        let what = format!("{} {}/{} {}", c.call, c.kind, c.name, c.field);
        let changed: Vec<_> = p.steps.iter().filter(|s| s.op != Op::NoOp).collect();
        assert_eq!(changed.len(), 1, "{what}: one step changes:\n{}", text(&p));
        let step = changed[0];
        assert_eq!((step.kind, step.name.as_str(), step.op), (c.kind, c.name, Op::Update), "{what}:\n{}", text(&p));
        let fields: BTreeSet<&str> = step.changes.iter().map(|ch| top(&ch.path)).collect();
        let expected: BTreeSet<&str> = match c.field {
            // One PutClusterCapacityProviders call changes both lists.
            "capacityProviders" | "defaultCapacityProviderStrategy" => {
                fields.iter().copied().filter(|f| f.contains("apacityProvider")).collect()
            }
            f => [f].into(),
        };
        assert!(fields.contains(c.field) && fields == expected, "{what}: plan shows {fields:?}:\n{}", text(&p));

        // The apply makes exactly the writes the plan listed.
        let planned: Vec<String> =
            step.actions.iter().map(|a| format!("{}:{}", service(a.call), a.call.operation())).collect();
        assert!(!planned.is_empty(), "{what}: no actions");
        clients.calls.reset();
        apply(&clients, &set, &observed, &p).await;
        let mut made: Vec<String> =
            clients.calls.writes().into_iter().flat_map(|(op, n)| std::iter::repeat_n(op, n as usize)).collect();
        let mut want = planned.clone();
        made.sort();
        want.sort();
        assert_eq!(made, want, "{what}: the writes are the planned actions");

        // And the next plan is empty.
        let (_, p) = plan(&clients, &set).await;
        assert!(!p.has_changes(), "{what}: not repaired:\n{}", text(&p));
        covered.insert((c.kind, c.field));
    }

    let mut missing = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::TaskDefinition) {
        for (field, class) in contract(kind) {
            let updatable = matches!(class, Field::Update(_));
            let excused = NOT_COVERED.iter().any(|(k, f, _)| *k == kind && f == field);
            if updatable && !covered.contains(&(kind, *field)) && !excused {
                missing.push(format!("{kind}.{field}"));
            }
            assert!(
                !(excused && covered.contains(&(kind, *field))),
                "{kind}.{field} is covered: drop it from NOT_COVERED"
            );
        }
    }
    assert!(missing.is_empty(), "updatable fields with no drift case and no reason: {missing:?}");
    println!(
        "{} drift cases over {} fields; {} fields not covered (reasons in NOT_COVERED)",
        cases.len(),
        covered.len(),
        NOT_COVERED.len()
    );
}

/// The call counter's service names (`ECS`, `ELBv2`, `EC2`).
fn service(call: Call) -> &'static str {
    match call {
        Call::Ecs(_) => "ECS",
        Call::Elbv2(_) => "ELBv2",
        Call::Ec2(_) => "EC2",
        Call::Logs(_) => "Logs",
        Call::AutoScaling(_) => "ApplicationAutoScaling",
    }
}
