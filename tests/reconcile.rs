//! The reconcile engine as a user meets it: `ecs-reconciler plan` / `apply` against an AWS
//! account (the moto emulator), checked with the AWS SDK the way a user would check the console.

mod common;

use aws_sdk_ecs::types::ServiceField;
use common::{Moto, Network, cli, cli_json, create_network, example_set};
use ecs_reconciler::aws::Clients;
use serde_json::Value;

struct World {
    moto: Moto,
    clients: Clients,
    network: Network,
    dir: tempfile::TempDir,
    desired: String,
}

impl World {
    async fn new() -> World {
        Self::with(Moto::start()).await
    }

    async fn with(moto: Moto) -> World {
        let clients = Clients::new(&moto.sdk_config());
        let network = create_network(&moto, &clients.ec2).await;
        let dir = example_set("shop", &network);
        let desired = dir.path().join("shop").display().to_string();
        World { moto, clients, network, dir, desired }
    }

    fn apply(&self, extra: &[&str]) -> Value {
        let mut args = vec!["apply", "--desired", &self.desired];
        args.extend(extra);
        let (code, v) = cli_json(&self.moto, &args);
        assert_eq!(code, 0, "apply failed: {v:#}");
        v
    }

    fn plan(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["plan", "--desired", &self.desired, "--detailed-exitcode"];
        args.extend(extra);
        cli_json(&self.moto, &args)
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join("shop").join(file), text).unwrap();
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.path().join("shop").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(path, text.replace(from, to)).unwrap();
    }

    /// moto drops `deploymentConfiguration`, `healthCheckGracePeriodSeconds` and
    /// `enableExecuteCommand` and `placementStrategy` on CreateService (AWS keeps them): the plan after a first apply
    /// shows exactly those, and one more apply settles them. See tests/README.md.
    fn settle_moto_create_service(&self) {
        let (_, plan) = self.plan(&[]);
        for step in plan["plan"]["steps"].as_array().unwrap().iter().filter(|s| s["op"] != "no-op") {
            assert_eq!(step["kind"], "Service", "only services may differ after the first apply: {step:#}");
            for c in step["changes"].as_array().unwrap() {
                let top = c["path"].as_str().unwrap().split(['.', '[']).next().unwrap();
                assert!(
                    [
                        "deploymentConfiguration",
                        "healthCheckGracePeriodSeconds",
                        "enableExecuteCommand",
                        "placementStrategy"
                    ]
                    .contains(&top),
                    "unexpected drift after the first apply: {c:#}"
                );
            }
        }
        self.apply(&[]);
    }

    async fn service(&self, name: &str) -> aws_sdk_ecs::types::Service {
        let out = self
            .clients
            .ecs
            .describe_services()
            .cluster("main")
            .services(name)
            .include(ServiceField::Tags)
            .send()
            .await
            .unwrap();
        out.services
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.status.as_deref() == Some("ACTIVE"))
            .expect("service exists")
    }

    async fn target_group(&self, name: &str) -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
        let out = self.clients.elbv2.describe_target_groups().names(name).send().await.unwrap();
        out.target_groups.unwrap_or_default().remove(0)
    }

    async fn security_group(&self, name: &str) -> aws_sdk_ec2::types::SecurityGroup {
        let f = aws_sdk_ec2::types::Filter::builder().name("group-name").values(name).build();
        self.clients
            .ec2
            .describe_security_groups()
            .filters(f)
            .send()
            .await
            .unwrap()
            .security_groups
            .unwrap_or_default()
            .remove(0)
    }

    async fn revisions(&self, family: &str) -> usize {
        self.clients
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .send()
            .await
            .unwrap()
            .task_definition_arns
            .unwrap_or_default()
            .len()
    }
}

fn writes(summary: &Value) -> u64 {
    summary["summary"]["aws_writes_total"].as_u64().unwrap()
}

fn changed(plan: &Value) -> Vec<String> {
    plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"] != "no-op")
        .map(|s| {
            format!("{} {}/{}", s["op"].as_str().unwrap(), s["kind"].as_str().unwrap(), s["name"].as_str().unwrap())
        })
        .collect()
}

fn change_paths(plan: &Value, kind: &str, name: &str) -> Vec<String> {
    let step =
        plan["plan"]["steps"].as_array().unwrap().iter().find(|s| s["kind"] == kind && s["name"] == name).unwrap();
    step["changes"]
        .as_array()
        .map(|c| c.iter().map(|c| c["path"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn apply_creates_the_example_set_and_a_second_apply_writes_nothing() {
    let w = World::new().await;
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 2, "an empty account has changes to make");
    assert_eq!(changed(&plan).len(), 11, "{:?}", changed(&plan));

    let first = w.apply(&[]);
    assert_eq!(first["summary"]["failed"], 0, "{first:#}");
    w.settle_moto_create_service();

    // The account holds what the manifests say.
    let tg = w.target_group("web").await;
    assert_eq!(tg.port, Some(3000));
    assert_eq!(tg.target_type.as_ref().map(|t| t.as_str()), Some("ip"));
    assert_eq!(tg.health_check_path.as_deref(), Some("/healthz"));
    assert_eq!(tg.healthy_threshold_count, Some(2));
    assert_eq!(tg.vpc_id.as_deref(), Some(w.network.vpc.as_str()));

    let lb =
        w.clients.elbv2.describe_load_balancers().names("web").send().await.unwrap().load_balancers.unwrap().remove(0);
    assert_eq!(lb.scheme.as_ref().map(|s| s.as_str()), Some("internet-facing"));
    let listeners = w
        .clients
        .elbv2
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn.unwrap())
        .send()
        .await
        .unwrap()
        .listeners
        .unwrap();
    let mut ports: Vec<i32> = listeners.iter().filter_map(|l| l.port).collect();
    ports.sort();
    assert_eq!(ports, [80, 443]);
    for l in &listeners {
        assert_eq!(
            l.default_actions()[0].target_group_arn.as_deref(),
            tg.target_group_arn.as_deref(),
            "listener {:?} forwards to web",
            l.port
        );
    }

    let svc = w.service("web").await;
    assert_eq!(svc.desired_count, 2);
    assert_eq!(svc.launch_type.as_ref().map(|l| l.as_str()), Some("FARGATE"));
    let lbs = svc.load_balancers();
    assert_eq!(lbs[0].target_group_arn.as_deref(), tg.target_group_arn.as_deref());
    assert_eq!((lbs[0].container_name.as_deref(), lbs[0].container_port), (Some("web"), Some(3000)));
    let vpc = svc.network_configuration.as_ref().and_then(|n| n.awsvpc_configuration.as_ref()).unwrap();
    let mut subnets = vpc.subnets.clone();
    subnets.sort();
    let mut want = vec![w.network.subnets["private-a"].clone(), w.network.subnets["private-b"].clone()];
    want.sort();
    assert_eq!(subnets, want);
    assert_eq!(vpc.security_groups(), [w.security_group("web-tasks").await.group_id.unwrap()]);
    assert_eq!(vpc.assign_public_ip.as_ref().map(|a| a.as_str()), Some("DISABLED"));
    let dc = svc.deployment_configuration.as_ref().unwrap();
    assert_eq!((dc.maximum_percent, dc.minimum_healthy_percent), (Some(200), Some(100)));
    assert_eq!(dc.deployment_circuit_breaker.as_ref().map(|c| (c.enable, c.rollback)), Some((true, true)));
    let tags: Vec<(String, String)> =
        svc.tags().iter().map(|t| (t.key.clone().unwrap(), t.value.clone().unwrap())).collect();
    for want in [("ecs-reconciler:set", "shop"), ("ecs-reconciler:name", "web"), ("team", "web")] {
        assert!(tags.contains(&(want.0.into(), want.1.into())), "{want:?} in {tags:?}");
    }

    // Security groups: the tasks accept 3000 only from the ALB's group.
    let alb = w.security_group("web-alb").await.group_id.unwrap();
    let tasks = w.security_group("web-tasks").await;
    let perms = tasks.ip_permissions();
    assert_eq!(perms.len(), 1);
    assert_eq!((perms[0].from_port, perms[0].to_port), (Some(3000), Some(3000)));
    assert_eq!(perms[0].user_id_group_pairs()[0].group_id.as_deref(), Some(alb.as_str()));

    // Converged: nothing to plan, nothing written, no new revision.
    let revisions = w.revisions("web").await;
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 0, "plan after apply: {:?}", changed(&plan));
    let again = w.apply(&[]);
    assert_eq!(writes(&again), 0, "a no-op apply made write calls: {:#}", again["summary"]["aws_calls"]);
    assert_eq!(w.revisions("web").await, revisions);
}

#[tokio::test]
async fn out_of_band_changes_are_planned_and_undone() {
    let w = World::new().await;
    w.apply(&[]);
    w.settle_moto_create_service();
    let (ecs, elbv2, ec2) = (&w.clients.ecs, &w.clients.elbv2, &w.clients.ec2);
    let tg_arn = w.target_group("web").await.target_group_arn.unwrap();
    let alb_sg = w.security_group("web-alb").await.group_id.unwrap();
    let lb_arn = elbv2.describe_load_balancers().names("web").send().await.unwrap().load_balancers.unwrap()[0]
        .load_balancer_arn
        .clone()
        .unwrap();
    let svc = w.service("web").await;

    // Application Auto Scaling scales the service to 5 (within its 2..10: not drift); someone
    // changes the health check, swaps an SG rule, deletes the
    // HTTP listener, points the service at another task definition and removes a tag.
    ecs.update_service().cluster("main").service("web").desired_count(5).send().await.unwrap();
    elbv2.modify_target_group().target_group_arn(&tg_arn).health_check_path("/").send().await.unwrap();
    let rule = |port: i32| {
        aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port)
            .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()
    };
    ec2.revoke_security_group_ingress().group_id(&alb_sg).ip_permissions(rule(443)).send().await.unwrap();
    ec2.authorize_security_group_ingress().group_id(&alb_sg).ip_permissions(rule(22)).send().await.unwrap();
    let listeners = elbv2.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap().listeners.unwrap();
    let http = listeners.iter().find(|l| l.port == Some(80)).unwrap();
    elbv2.delete_listener().listener_arn(http.listener_arn.clone().unwrap()).send().await.unwrap();
    let other = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("web").image("nginx:latest").memory(512).build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    // moto stores taskDefinition exactly as passed: pass the full ARN (see tests/README.md).
    ecs.update_service().cluster("main").service("web").task_definition(&other).send().await.unwrap();
    ecs.untag_resource().resource_arn(svc.service_arn.clone().unwrap()).tag_keys("team").send().await.unwrap();

    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 2);
    let svc_paths = change_paths(&plan, "Service", "web");
    for p in ["taskDefinition", "tags.team"] {
        assert!(svc_paths.contains(&p.to_string()), "service drift {p} not in {svc_paths:?}");
    }
    assert!(!svc_paths.contains(&"desiredCount".to_string()), "autoscaling's desired count: {svc_paths:?}");
    assert!(change_paths(&plan, "TargetGroup", "web").contains(&"healthCheckPath".to_string()));
    assert!(change_paths(&plan, "SecurityGroup", "web-alb").iter().any(|p| p.starts_with("ingress")));
    assert!(change_paths(&plan, "LoadBalancer", "web").iter().any(|p| p.starts_with("listeners")));
    // The newest revision is not ours any more, but ours is still ACTIVE: it is reused, not
    // registered again.
    let revisions = w.revisions("web").await;

    let applied = w.apply(&[]);
    assert_eq!(applied["summary"]["failed"], 0, "{applied:#}");
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 0, "still drifting after apply: {:?}", changed(&plan));
    assert_eq!(w.revisions("web").await, revisions, "no new revision for unchanged content");

    let svc = w.service("web").await;
    assert_eq!(svc.desired_count, 5, "left to Application Auto Scaling");
    assert_ne!(svc.task_definition.as_deref(), Some(other.as_str()));
    assert_eq!(w.target_group("web").await.health_check_path.as_deref(), Some("/healthz"));
    let ports: Vec<i32> =
        w.security_group("web-alb").await.ip_permissions().iter().filter_map(|p| p.from_port).collect();
    assert!(ports.contains(&443) && !ports.contains(&22), "{ports:?}");
    let listeners = elbv2.describe_listeners().load_balancer_arn(&lb_arn).send().await.unwrap().listeners.unwrap();
    assert!(listeners.iter().any(|l| l.port == Some(80)));
}

#[tokio::test]
async fn a_changed_image_registers_one_revision_and_reverting_reuses_the_old_one() {
    let w = World::new().await;
    w.apply(&[]);
    w.settle_moto_create_service();
    let before = w.revisions("web").await;
    let old = w.service("web").await.task_definition.unwrap();

    w.edit("web.yaml", "web:1.4.2", "web:1.5.0");
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 2);
    assert!(change_paths(&plan, "TaskDefinition", "web").contains(&"containerDefinitions[web].image".to_string()));
    let applied = w.apply(&[]);
    assert_eq!(
        applied["summary"]["aws_calls"]["ECS:RegisterTaskDefinition"], 1,
        "{:#}",
        applied["summary"]["aws_calls"]
    );
    assert_eq!(w.revisions("web").await, before + 1);
    let new = w.service("web").await.task_definition.unwrap();
    assert_ne!(new, old);

    w.edit("web.yaml", "web:1.5.0", "web:1.4.2");
    let reverted = w.apply(&[]);
    assert!(
        reverted["summary"]["aws_calls"].get("ECS:RegisterTaskDefinition").is_none(),
        "{:#}",
        reverted["summary"]["aws_calls"]
    );
    assert_eq!(w.revisions("web").await, before + 1);
    assert_eq!(w.service("web").await.task_definition.unwrap(), old);
}

#[tokio::test]
async fn an_unowned_resource_is_refused_until_adopted() {
    let w = World::new().await;
    // A cluster named `main` made by hand, before the set existed.
    // (With the manifest's settings: moto does not implement UpdateClusterSettings, which AWS
    // would be asked for otherwise; see tests/README.md.)
    let insights =
        aws_sdk_ecs::types::ClusterSetting::builder().name("containerInsights".into()).value("enabled").build();
    w.clients.ecs.create_cluster().cluster_name("main").settings(insights).send().await.unwrap();
    let (code, out, _) = cli(&w.moto, &["apply", "--desired", &w.desired]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("! Cluster/main refuse: exists and is not managed by ecs-reconciler; set `adopt: true`"),
        "{out}"
    );
    let tags = w
        .clients
        .ecs
        .describe_clusters()
        .clusters("main")
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    assert!(tags.clusters()[0].tags().is_empty(), "a refused cluster is not touched");

    w.edit("cluster.yaml", "  name: main\n", "  name: main\n  adopt: true\n");
    let applied = w.apply(&[]);
    assert_eq!(applied["summary"]["failed"], 0, "{applied:#}");
    let c = w
        .clients
        .ecs
        .describe_clusters()
        .clusters("main")
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = c.clusters()[0].tags().iter().filter_map(|t| t.key()).collect();
    assert!(keys.contains(&"ecs-reconciler:set"), "{keys:?}");
}

#[tokio::test]
async fn prune_deletes_what_left_the_set_and_refuses_to_delete_everything() {
    let w = World::new().await;
    w.apply(&[]);
    // The worker leaves the set; so does a second target group added and removed.
    w.write(
        "extra.yaml",
        "apiVersion: ecs-reconciler/v1\nkind: TargetGroup\nmetadata:\n  name: spare\nspec:\n  protocol: HTTP\n  port: 8080\n  vpc: main\n  targetType: ip\n",
    );
    w.apply(&[]);
    std::fs::remove_file(w.dir.path().join("shop/extra.yaml")).unwrap();
    std::fs::remove_file(w.dir.path().join("shop/worker.yaml")).unwrap();

    // Without --prune nothing is deleted.
    let (_, plan) = w.plan(&[]);
    assert!(!changed(&plan).iter().any(|c| c.starts_with("delete")), "{:?}", changed(&plan));
    let (_, plan) = w.plan(&["--prune"]);
    let deletes: Vec<String> = changed(&plan).into_iter().filter(|c| c.starts_with("delete")).collect();
    assert_eq!(deletes, ["delete Service/worker", "delete TaskDefinition/worker", "delete TargetGroup/spare"]);
    let applied = w.apply(&["--prune"]);
    assert_eq!(applied["summary"]["failed"], 0, "{applied:#}");
    assert!(w.clients.elbv2.describe_target_groups().names("spare").send().await.is_err(), "spare is gone");
    let (_, plan) = w.plan(&["--prune"]);
    assert!(changed(&plan).iter().all(|c| !c.starts_with("delete")), "{:?}", changed(&plan));

    // An empty set would delete everything: refused without --force.
    for f in std::fs::read_dir(w.dir.path().join("shop")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    w.write("empty.yaml", "# nothing\n");
    let (code, out, err) = cli(&w.moto, &["apply", "--desired", &w.desired, "--prune"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("refusing to prune") || out.contains("refusing to prune"), "{out}{err}");
    assert!(w.service("web").await.service_arn.is_some());
}

#[tokio::test]
async fn apply_wait_follows_rollouts_to_steady_or_to_the_timeout() {
    // moto starts no tasks: the rollout never completes and --wait gives up at the timeout.
    let w = World::new().await;
    let (code, out, err) = cli(&w.moto, &["apply", "--desired", &w.desired, "--wait", "--timeout", "6"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("timed out after 6s: Service/web has 0/2 running"), "{err}");

    // With the emulator reporting two running tasks per service, both services are steady.
    let w = World::with(Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")])).await;
    // (Both example services want 2 tasks.)
    let (code, out, err) = cli(&w.moto, &["apply", "--desired", &w.desired, "--wait", "--timeout", "30"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("steady: "), "{err}");
}
