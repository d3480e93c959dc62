//! The services' task-definition binding tag (`ecs-reconciler:td` = `family:rev@hash`): a no-op
//! plan reads no task definition, and every way the tag can stop telling the truth still leads
//! to the right plan: the service pointed at another revision, the tag removed or edited, the
//! revision deregistered under the running service (seen by `--deep`). Through the AWS-shaped
//! proxy, on the example set.

mod common;

use std::collections::BTreeMap;

use common::{AwsLike, Moto, create_network, example_set};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::manifest::{Kind, ManifestSet};
use ecs_reconciler::plan::{Observed, Op, Plan, TAG_TD};
use ecs_reconciler::reconcile::{self, Outcome, RunOptions};

const SET: &str = "shop";

async fn plan_with(clients: &Clients, set: &ManifestSet, deep: bool) -> (Observed, Plan, BTreeMap<String, u64>) {
    let before = clients.calls.snapshot();
    let opts = RunOptions { deep, ..Default::default() };
    let (o, p) = reconcile::plan_set(clients, SET, set, &opts).await.expect("plan");
    (o, p, clients.calls.since(&before))
}

async fn apply(clients: &Clients, set: &ManifestSet, observed: &Observed, plan: &Plan) {
    let results = reconcile::apply(clients, set, observed, plan, &RunOptions::default()).await.expect("apply");
    assert!(results.iter().all(|r| r.outcome == Outcome::Applied), "{results:#?}");
}

fn text(plan: &Plan) -> String {
    ecs_reconciler::plan::render::text(plan, false)
}

fn td_reads(calls: &BTreeMap<String, u64>) -> u64 {
    calls.get("ECS:DescribeTaskDefinition").copied().unwrap_or(0)
}

/// The changed steps as `Kind/name op [fields]`.
fn changed(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| s.op != Op::NoOp)
        .map(|s| {
            let mut fields: Vec<&str> = s.changes.iter().map(|c| c.path.as_str()).collect();
            fields.dedup();
            format!("{}/{} {} {fields:?}", s.kind, s.name, s.op.as_str())
        })
        .collect()
}

/// Plan, apply, and check the next plan is a no-op that reads no task definition.
async fn repair(clients: &Clients, set: &ManifestSet, observed: &Observed, plan: &Plan) {
    apply(clients, set, observed, plan).await;
    let (_, p, calls) = plan_with(clients, set, false).await;
    assert!(!p.has_changes(), "not repaired:\n{}", text(&p));
    assert_eq!(td_reads(&calls), 0, "after the repair the binding proves the families again: {calls:?}");
}

#[tokio::test]
async fn the_binding_tag_spares_the_reads_and_every_way_it_goes_stale_still_plans_right() {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = Clients::new(&aws.sdk_config());
    let network = create_network(&aws, &clients.ec2).await;
    let dir = example_set(SET, &network);
    let set = ManifestSet::load(&[dir.path().join(SET)]).expect("load");
    assert!(set.is_valid());

    let (o, p, _) = plan_with(&clients, &set, false).await;
    apply(&clients, &set, &o, &p).await;
    clients.calls.reset();

    // A no-op plan: no task definition read, no write; a deep one reads each family once.
    let (o, p, calls) = plan_with(&clients, &set, false).await;
    assert!(!p.has_changes(), "{}", text(&p));
    assert_eq!(td_reads(&calls), 0, "{calls:?}");
    let (_, deep, deep_calls) = plan_with(&clients, &set, true).await;
    assert!(!deep.has_changes(), "{}", text(&deep));
    assert_eq!(td_reads(&deep_calls), 2, "{deep_calls:?}");
    assert!(clients.calls.writes().is_empty());

    let web = o.get(Kind::Service, "web").expect("web").clone();
    let cluster = web.spec["cluster"].as_str().unwrap().to_string();
    let web_td = o.get(Kind::TaskDefinition, "web").expect("td").id.clone();
    let binding = web.tags[TAG_TD].clone();
    assert!(binding.starts_with(&format!("{}@", web_td.rsplit('/').next().unwrap())), "{binding}");

    // 1. The service pointed at another revision by hand: the family is read, the service goes
    //    back; the binding (still true of the old revision) is not drift.
    let other = clients
        .ecs
        .register_task_definition()
        .family("web")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(aws_sdk_ecs::types::ContainerDefinition::builder().name("web").image("web:old").build())
        .send()
        .await
        .expect("register")
        .task_definition
        .and_then(|t| t.task_definition_arn)
        .unwrap();
    clients.ecs.update_service().cluster(&cluster).service("web").task_definition(&other).send().await.unwrap();
    let (o, p, calls) = plan_with(&clients, &set, false).await;
    assert_eq!(changed(&p), ["Service/web update [\"taskDefinition\"]"], "{}", text(&p));
    assert!(td_reads(&calls) >= 1, "web's family is read: {calls:?}");
    repair(&clients, &set, &o, &p).await;

    // 2. The tag removed, then edited: the family is read, nothing but the tag is planned.
    clients.ecs.untag_resource().resource_arn(&web.id).tag_keys(TAG_TD).send().await.unwrap();
    let (o, p, calls) = plan_with(&clients, &set, false).await;
    assert_eq!(changed(&p), [format!("Service/web update [\"tags.{TAG_TD}\"]")], "{}", text(&p));
    assert!(td_reads(&calls) >= 1, "{calls:?}");
    repair(&clients, &set, &o, &p).await;
    for wrong in [format!("{}@0000", web_td.rsplit('/').next().unwrap()), "web:999@whatever".to_string(), "junk".into()]
    {
        let tag = aws_sdk_ecs::types::Tag::builder().key(TAG_TD).value(&wrong).build();
        clients.ecs.tag_resource().resource_arn(&web.id).tags(tag).send().await.unwrap();
        let (o, p, calls) = plan_with(&clients, &set, false).await;
        assert_eq!(changed(&p), [format!("Service/web update [\"tags.{TAG_TD}\"]")], "{wrong}: {}", text(&p));
        assert_eq!(
            p.steps.iter().find(|s| s.name == "web" && s.kind == Kind::Service).unwrap().changes[0].after,
            Some(serde_json::json!(binding))
        );
        assert!(td_reads(&calls) >= 1, "{wrong}: {calls:?}");
        repair(&clients, &set, &o, &p).await;
    }

    // 3. The running revision deregistered (ECS keeps running and scaling it). The binding still
    //    tells its content, so a plain plan trusts it; `--deep` (and the Lambda's every-Nth tick)
    //    reads the family, finds no ACTIVE revision with the content, registers one and moves the
    //    service to it. (The hand-made revision goes too: a family whose only ACTIVE revision is
    //    someone else's is refused, not this test's point.)
    clients.ecs.deregister_task_definition().task_definition(&other).send().await.unwrap();
    clients.ecs.deregister_task_definition().task_definition(&web_td).send().await.unwrap();
    let (_, p, _) = plan_with(&clients, &set, false).await;
    assert!(!p.has_changes(), "the binding is trusted between deep reads:\n{}", text(&p));
    let (o, p, calls) = plan_with(&clients, &set, true).await;
    let td_step = p.steps.iter().find(|s| s.kind == Kind::TaskDefinition && s.name == "web").unwrap();
    assert!(matches!(td_step.op, Op::Update | Op::Create), "{}", text(&p));
    let svc = p.steps.iter().find(|s| s.kind == Kind::Service && s.name == "web").unwrap();
    let fields: Vec<&str> = svc.changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(fields, ["taskDefinition", &format!("tags.{TAG_TD}")], "{}", text(&p));
    assert_eq!(td_reads(&calls), 2, "deep: both families: {calls:?}");
    apply(&clients, &set, &o, &p).await;
    let (o, p, calls) = plan_with(&clients, &set, false).await;
    assert!(!p.has_changes(), "{}", text(&p));
    assert_eq!(td_reads(&calls), 0, "{calls:?}");
    let now = &o.get(Kind::Service, "web").unwrap().tags[TAG_TD];
    assert_ne!(now, &binding, "bound to the newly registered revision");
    assert!(!now.contains("(new)"), "the adapter filled in the revision: {now}");
}
