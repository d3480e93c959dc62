//! Log groups and service autoscaling as a user meets them: the example set (with its LogGroup
//! `/ecs/web` and the web service's ScalableTarget) applied to the emulator, checked with the AWS
//! SDK, changed behind the reconciler's back, and pruned.

mod common;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use common::{Moto, cli_json, create_network, example_set};
use ecs_reconciler::aws::Clients;
use serde_json::Value;

struct World {
    moto: Moto,
    clients: Clients,
    _dir: tempfile::TempDir,
    set: std::path::PathBuf,
}

const SCHEDULED: &str = "  scheduledActions:
    - scheduledActionName: nightly
      schedule: cron(0 20 * * ? *)
      timezone: Europe/Berlin
      scalableTargetAction: { minCapacity: 2, maxCapacity: 4 }
";

impl World {
    async fn new() -> World {
        let moto = Moto::start();
        let clients = Clients::new(&moto.sdk_config());
        let network = create_network(&moto, &clients.ec2).await;
        let dir = example_set("shop", &network);
        let set = dir.path().join("shop");
        let w = World { moto, clients, _dir: dir, set };
        // The example's target with a scheduled action too.
        w.edit("web.yaml", "  scalingPolicies:\n", &format!("{SCHEDULED}  scalingPolicies:\n"));
        w
    }

    fn desired(&self) -> String {
        self.set.display().to_string()
    }

    fn apply(&self, extra: &[&str]) -> Value {
        let desired = self.desired();
        let mut args = vec!["apply", "--desired", &desired];
        args.extend(extra);
        let (code, v) = cli_json(&self.moto, &args);
        assert_eq!(code, 0, "apply failed: {v:#}");
        let failed: Vec<&Value> =
            v["summary"]["results"].as_array().unwrap().iter().filter(|r| r["outcome"] == "failed").collect();
        assert!(failed.is_empty(), "{failed:#?}");
        v
    }

    fn plan(&self, extra: &[&str]) -> (i32, Value) {
        let desired = self.desired();
        let mut args = vec!["plan", "--desired", &desired, "--detailed-exitcode"];
        args.extend(extra);
        cli_json(&self.moto, &args)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.set.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// Apply until the plan is empty: moto drops some CreateService fields (tests/README.md).
    fn converge(&self) {
        self.apply(&[]);
        self.apply(&[]);
        let (code, plan) = self.plan(&[]);
        assert_eq!(code, 0, "not converged: {:#?}", changed(&plan));
    }

    async fn retention(&self, name: &str) -> Option<i32> {
        let groups = self.clients.logs.describe_log_groups().log_group_name_prefix(name).send().await.unwrap();
        groups
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .expect("the log group")
            .retention_in_days()
    }

    async fn log_group_exists(&self, name: &str) -> bool {
        let groups = self.clients.logs.describe_log_groups().log_group_name_prefix(name).send().await.unwrap();
        groups.log_groups().iter().any(|g| g.log_group_name() == Some(name))
    }

    async fn target(&self) -> Option<(i32, i32)> {
        let t = self
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids("service/main/web")
            .send()
            .await
            .unwrap();
        t.scalable_targets().first().map(|t| (t.min_capacity(), t.max_capacity()))
    }

    async fn policies(&self) -> Vec<String> {
        let p = self
            .clients
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/main/web")
            .send()
            .await
            .unwrap();
        p.scaling_policies().iter().map(|p| p.policy_name().to_string()).collect()
    }

    async fn desired_count(&self) -> i32 {
        let s = self.clients.ecs.describe_services().cluster("main").services("web").send().await.unwrap();
        s.services()[0].desired_count()
    }
}

/// The steps of a plan that change something, as `Kind/name op [paths]`.
fn changed(plan: &Value) -> Vec<String> {
    plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"] != "no-op")
        .map(|s| {
            let paths: Vec<&str> =
                s["changes"].as_array().into_iter().flatten().filter_map(|c| c["path"].as_str()).collect();
            format!(
                "{}/{} {} {paths:?}",
                s["kind"].as_str().unwrap(),
                s["name"].as_str().unwrap(),
                s["op"].as_str().unwrap()
            )
        })
        .collect()
}

fn step<'a>(plan: &'a Value, kind: &str, name: &str) -> &'a Value {
    plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == kind && s["name"] == name)
        .unwrap_or_else(|| panic!("no step {kind}/{name}: {plan:#}"))
}

#[tokio::test]
async fn a_log_group_and_a_scalable_target_are_created_converge_and_are_repaired() {
    let w = World::new().await;
    // The log group comes before the task definition that logs to it, the target after its
    // service.
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 2);
    let order: Vec<String> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{}/{}", s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    let at = |id: &str| order.iter().position(|o| o == id).unwrap_or_else(|| panic!("{id} in {order:?}"));
    assert!(at("LogGroup//ecs/web") < at("TaskDefinition/web"), "{order:?}");
    assert!(at("Service/web") < at("ScalableTarget/web"), "{order:?}");

    w.converge();
    assert_eq!(w.retention("/ecs/web").await, Some(30));
    let tags = w
        .clients
        .logs
        .list_tags_for_resource()
        .resource_arn("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/web")
        .send()
        .await
        .unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags.get("ecs-reconciler:set").map(String::as_str), Some("shop"));
    assert_eq!(tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(w.target().await, Some((2, 10)));
    assert_eq!(w.policies().await, ["cpu60"]);
    let scheduled = w
        .clients
        .autoscaling
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id("service/main/web")
        .send()
        .await
        .unwrap();
    assert_eq!(scheduled.scheduled_actions().len(), 1);
    assert_eq!(scheduled.scheduled_actions()[0].schedule(), "cron(0 20 * * ? *)");

    // Behind the reconciler's back: what is ours to repair (the retention, max capacity, a
    // deleted policy) and what is not (the desired count Application Auto Scaling set, within
    // 2..10).
    w.clients.logs.put_retention_policy().log_group_name("/ecs/web").retention_in_days(7).send().await.unwrap();
    w.clients
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/main/web")
        .max_capacity(4)
        .send()
        .await
        .unwrap();
    w.clients
        .autoscaling
        .delete_scaling_policy()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/main/web")
        .policy_name("cpu60")
        .send()
        .await
        .unwrap();
    w.clients.ecs.update_service().cluster("main").service("web").desired_count(7).send().await.unwrap();

    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 2);
    let mut got = changed(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            "LogGroup//ecs/web update [\"retentionInDays\"]",
            "ScalableTarget/web update [\"maxCapacity\", \"scalingPolicies[cpu60]\"]",
        ],
        "{plan:#}"
    );
    let calls: Vec<&str> = step(&plan, "ScalableTarget", "web")["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["call"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy"]);
    w.apply(&[]);
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 0, "not repaired: {:?}", changed(&plan));
    assert_eq!(w.retention("/ecs/web").await, Some(30));
    assert_eq!(w.target().await, Some((2, 10)));
    assert_eq!(w.policies().await, ["cpu60"]);
    assert_eq!(w.desired_count().await, 7, "autoscaling's desired count is left alone");

    // Retention removed from the manifest: AWS's default, never expire.
    w.edit("web.yaml", "  retentionInDays: 30\n", "");
    let (_, plan) = w.plan(&[]);
    let calls: Vec<&str> = step(&plan, "LogGroup", "/ecs/web")["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["call"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["logs:DeleteRetentionPolicy"]);
    w.apply(&[]);
    assert_eq!(w.retention("/ecs/web").await, None);
    assert_eq!(w.plan(&[]).0, 0);
}

#[tokio::test]
async fn prune_keeps_a_retained_log_group_and_says_so_and_deregisters_the_target() {
    let w = World::new().await;
    // A second log group that may go: its policy is recorded on it.
    std::fs::write(
        w.set.join("scratch.yaml"),
        "apiVersion: ecs-reconciler/v1\nkind: LogGroup\nmetadata: {name: /ecs/scratch, deletionPolicy: Delete}\nspec: {retentionInDays: 1}\n",
    )
    .unwrap();
    w.converge();
    assert!(w.log_group_exists("/ecs/scratch").await);

    // Both log groups and the target leave the set.
    let web = std::fs::read_to_string(w.set.join("web.yaml")).unwrap();
    let kept: Vec<&str> =
        web.split("\n---\n").filter(|d| !d.contains("kind: LogGroup") && !d.contains("kind: ScalableTarget")).collect();
    std::fs::write(w.set.join("web.yaml"), kept.join("\n---\n")).unwrap();
    std::fs::remove_file(w.set.join("scratch.yaml")).unwrap();

    let (code, plan) = w.plan(&["--prune"]);
    assert_eq!(code, 2);
    let retained = step(&plan, "LogGroup", "/ecs/web");
    assert_eq!(retained["op"], "no-op", "{retained:#}");
    assert!(retained["reason"].as_str().unwrap().contains("retained"), "{retained:#}");
    assert_eq!(step(&plan, "LogGroup", "/ecs/scratch")["op"], "delete");
    let target = step(&plan, "ScalableTarget", "web");
    assert_eq!(target["op"], "delete");
    assert_eq!(target["actions"][0]["call"], "application-autoscaling:DeregisterScalableTarget");
    let (_, text, _) = common::cli(&w.moto, &["plan", "--desired", &w.desired(), "--prune"]);
    assert!(text.contains("LogGroup//ecs/web") && text.contains("retained"), "{text}");

    w.apply(&["--prune"]);
    assert!(w.log_group_exists("/ecs/web").await, "a Retain log group is kept");
    assert!(!w.log_group_exists("/ecs/scratch").await, "a Delete log group is deleted");
    assert_eq!(w.target().await, None, "the target is deregistered");
    // The retained group is no change: the next prune's plan is empty.
    let (code, plan) = w.plan(&["--prune"]);
    assert_eq!(code, 0, "{:?}", changed(&plan));
}
