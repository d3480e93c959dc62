//! Replacements on the emulator: an immutable field of the example set changes, the new resource
//! is created first under a generated name, its users move to it, and the old one goes once
//! nothing uses it, across runs, also when a run dies between any two of its calls.

mod common;

use common::{Moto, cli_json, create_network, example_set};
use ecs_reconciler::aws::Clients;
use serde_json::Value;

struct World {
    moto: Moto,
    clients: Clients,
    dir: tempfile::TempDir,
    desired: String,
}

impl World {
    /// The example set applied and settled (moto drops some CreateService fields: one more
    /// apply sets them, see tests/README.md).
    async fn applied() -> World {
        Self::applied_with(&[]).await
    }

    /// [`applied`] with extra environment for the emulator.
    async fn applied_with(env: &[(&str, &str)]) -> World {
        let moto = Moto::start_with(env);
        let clients = Clients::new(&moto.sdk_config());
        let network = create_network(&moto, &clients.ec2).await;
        let dir = example_set("shop", &network);
        let desired = dir.path().join("shop").display().to_string();
        let w = World { moto, clients, dir, desired };
        w.apply(&[]);
        w.apply(&[]);
        assert_eq!(w.plan().0, 0, "settled: {:#}", w.plan().1);
        w
    }

    /// The example set applied, then a second cluster `blue` added and the web service moved
    /// to it. Services read all their tasks running once created (moto counts none otherwise).
    async fn web_moving_to_blue() -> World {
        let w = World::applied_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]).await;
        let path = w.dir.path().join("shop/cluster.yaml");
        let cluster = std::fs::read_to_string(&path).unwrap();
        std::fs::write(path, cluster.replace("name: main", "name: blue") + "---\n" + &cluster).unwrap();
        w.edit("web.yaml", "  cluster: main\n", "  cluster: blue\n");
        w
    }

    fn apply(&self, extra: &[&str]) -> Value {
        let mut args = vec!["apply", "--desired", &self.desired];
        args.extend(extra);
        let (code, v) = cli_json(&self.moto, &args);
        assert!(code == 0 || code == 1, "apply crashed: {v:#}");
        v
    }

    fn plan(&self) -> (i32, Value) {
        cli_json(&self.moto, &["plan", "--desired", &self.desired, "--detailed-exitcode"])
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.path().join("shop").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    /// Every target group the set owns for the manifest `web`: (AWS name, ARN, port).
    async fn web_target_groups(&self) -> Vec<(String, String, i32)> {
        let tgs = self.clients.elbv2.describe_target_groups().send().await.unwrap().target_groups.unwrap_or_default();
        let mut out = Vec::new();
        for tg in tgs {
            let arn = tg.target_group_arn.clone().unwrap();
            let tags = self.clients.elbv2.describe_tags().resource_arns(&arn).send().await.unwrap();
            let tags = tags.tag_descriptions()[0].tags().to_vec();
            let tag = |k: &str| tags.iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
            if tag("ecs-reconciler:set").as_deref() == Some("shop")
                && tag("ecs-reconciler:name").as_deref() == Some("web")
            {
                out.push((tg.target_group_name.clone().unwrap(), arn, tg.port.unwrap_or_default()));
            }
        }
        out.sort();
        out
    }

    /// The target group ARNs the load balancer's listeners forward to, and the service's.
    async fn users_of_web(&self) -> (Vec<String>, Vec<String>) {
        let lb =
            self.clients.elbv2.describe_load_balancers().names("web").send().await.unwrap().load_balancers.unwrap();
        let listeners = self
            .clients
            .elbv2
            .describe_listeners()
            .load_balancer_arn(lb[0].load_balancer_arn.clone().unwrap())
            .send()
            .await
            .unwrap()
            .listeners
            .unwrap();
        let mut forwards: Vec<String> =
            listeners.iter().filter_map(|l| l.default_actions()[0].target_group_arn.clone()).collect();
        forwards.sort();
        let svc = self.clients.ecs.describe_services().cluster("main").services("web").send().await.unwrap();
        let svc = svc.services().iter().find(|s| s.status.as_deref() == Some("ACTIVE")).unwrap().clone();
        let service = svc.load_balancers().iter().filter_map(|l| l.target_group_arn.clone()).collect();
        (forwards, service)
    }
}

fn step<'a>(plan: &'a Value, kind: &str, name: &str) -> Option<&'a Value> {
    plan["plan"]["steps"].as_array().unwrap().iter().find(|s| s["kind"] == kind && s["name"] == name)
}

fn calls(summary: &Value, call: &str) -> u64 {
    summary["summary"]["aws_calls"][call].as_u64().unwrap_or(0)
}

/// The immutable change every test here makes: the target group's port.
const PORT_FROM: &str = "port: 3000\n  vpc: main";
const PORT_TO: &str = "port: 8080\n  vpc: main";

/// The security-group change the tests here make: `web-tasks`'s description, fixed for its life.
const DESCRIPTION_FROM: &str = "description: Web tasks, reachable only from the web ALB";
const DESCRIPTION_TO: &str = "description: Web tasks behind the ALB";

#[tokio::test]
async fn a_target_group_port_change_creates_before_destroying_and_never_deletes_one_in_use() {
    let w = World::applied().await;
    let old = w.web_target_groups().await;
    assert_eq!(old.len(), 1);
    let (old_name, old_arn, _) = old[0].clone();
    assert_eq!(old_name, "web");
    w.edit("web.yaml", PORT_FROM, PORT_TO);

    // The plan: replace under a generated name, the listeners and the service move.
    let (code, plan) = w.plan();
    assert_eq!(code, 2);
    let tg = step(&plan, "TargetGroup", "web").unwrap();
    assert_eq!(tg["op"], "replace", "{tg:#}");
    assert!(tg.get("disruptive").is_none(), "create before destroy is not disruptive: {tg:#}");
    let new_name = tg["actions"][0]["params"]["name"].as_str().unwrap().to_string();
    assert!(new_name.starts_with("web-") && new_name.len() == 10, "{new_name}");
    assert!(tg["reason"].as_str().unwrap().contains(&format!("creates `{new_name}` first")), "{tg:#}");
    let lb = step(&plan, "LoadBalancer", "web").unwrap();
    let lb_calls: Vec<&str> = lb["actions"].as_array().unwrap().iter().map(|a| a["call"].as_str().unwrap()).collect();
    assert_eq!(lb_calls, ["elbv2:ModifyListener", "elbv2:ModifyListener"], "{lb:#}");
    let svc = step(&plan, "Service", "web").unwrap();
    assert_eq!(svc["actions"][0]["call"], "ecs:UpdateService", "{svc:#}");
    assert!(svc["actions"][0]["params"].get("loadBalancers").is_some(), "{svc:#}");

    // Run 1: the new one exists, every user forwards to it, the old one is still there.
    let run1 = w.apply(&[]);
    assert_eq!(run1["summary"]["failed"], 0, "{run1:#}");
    assert_eq!(calls(&run1, "ELBv2:DeleteTargetGroup"), 0, "never a delete while a listener uses it");
    let both = w.web_target_groups().await;
    assert_eq!(both.len(), 2, "{both:?}");
    let (_, new_arn, new_port) = both.iter().find(|t| t.0 == new_name).cloned().unwrap();
    assert_eq!(new_port, 8080);
    let (forwards, service) = w.users_of_web().await;
    assert_eq!(forwards, [new_arn.clone(), new_arn.clone()]);
    assert_eq!(service, std::slice::from_ref(&new_arn));

    // Run 2: the old one, unused, goes; the plan shows it under both names first.
    let (code, plan) = w.plan();
    assert_eq!(code, 2);
    let old_step = step(&plan, "TargetGroup", "web@web").unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(old_step["op"], "delete");
    assert_eq!(old_step["actions"][0]["call"], "elbv2:DeleteTargetGroup", "{old_step:#}");
    assert_eq!(old_step["actions"][0]["params"]["id"], old_arn.as_str());
    let run2 = w.apply(&[]);
    assert_eq!(run2["summary"]["failed"], 0, "{run2:#}");
    assert_eq!(calls(&run2, "ELBv2:DeleteTargetGroup"), 1);
    let left = w.web_target_groups().await;
    assert_eq!(left.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), [new_name.as_str()]);

    // Converged: nothing to do, and the no-op step names the AWS name.
    let (code, plan) = w.plan();
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(step(&plan, "TargetGroup", "web").unwrap()["reason"], format!("AWS name `{new_name}`"));
}

/// A run that dies after every single write: each next run carries on from what AWS shows, and
/// across all of them every write of the replacement is made exactly once.
/// Runs `apply --step-limit 1` (the run stops after its first write, as a killed Lambda would)
/// until the plan is empty, checking `each_run` after every run; returns the runs and the writes
/// made, by call.
async fn killed_walk<F, Fut>(w: &World, mut each_run: F) -> (u32, std::collections::BTreeMap<String, u64>)
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut totals = std::collections::BTreeMap::<String, u64>::new();
    let mut runs = 0;
    loop {
        let (code, _) = w.plan();
        if code == 0 {
            return (runs, totals);
        }
        runs += 1;
        assert!(runs <= 30, "does not converge");
        let summary = w.apply(&["--step-limit", "1"]);
        assert_eq!(summary["summary"]["failed"], 0, "run {runs}: {summary:#}");
        let writes = summary["summary"]["aws_writes_total"].as_u64().unwrap();
        assert!(writes <= 1, "run {runs} made {writes} writes");
        for (call, n) in summary["summary"]["aws_calls"].as_object().unwrap() {
            if !["Describe", "List", "Get"].iter().any(|p| call.split(':').nth(1).unwrap().starts_with(p)) {
                *totals.entry(call.clone()).or_default() += n.as_u64().unwrap();
            }
        }
        each_run(runs).await;
    }
}

fn writes(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn a_replacement_killed_after_every_call_is_completed_with_nothing_duplicated_or_leaked() {
    let w = World::applied().await;
    w.edit("web.yaml", PORT_FROM, PORT_TO);
    let (runs, totals) = killed_walk(&w, |run| {
        let w = &w;
        async move {
            let generations = w.web_target_groups().await;
            assert!(generations.len() <= 2, "run {run}: {generations:?}");
        }
    })
    .await;
    let left = w.web_target_groups().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].2, 8080);
    let (forwards, service) = w.users_of_web().await;
    assert_eq!(forwards, [left[0].1.clone(), left[0].1.clone()]);
    assert_eq!(service, [left[0].1.clone()]);
    let want = writes(&[
        ("ELBv2:CreateTargetGroup", 1),
        ("ELBv2:ModifyTargetGroupAttributes", 1),
        ("ELBv2:ModifyListener", 2),
        ("ECS:UpdateService", 1),
        ("ELBv2:DeleteTargetGroup", 1),
    ]);
    assert_eq!(totals, want, "every write once, in {runs} runs");
}

/// The security-group replacement killed after every write: each write once, one group left,
/// every user on it.
#[tokio::test]
async fn a_security_group_replacement_killed_after_every_call_is_completed_with_nothing_duplicated() {
    let w = World::applied().await;
    w.edit("security-groups.yaml", DESCRIPTION_FROM, DESCRIPTION_TO);
    let (runs, totals) = killed_walk(&w, |run| {
        let w = &w;
        async move {
            let generations = owned_groups(&w.clients, "web-tasks").await;
            assert!(generations.len() <= 2, "run {run}: {generations:?}");
        }
    })
    .await;
    let left = owned_groups(&w.clients, "web-tasks").await;
    assert_eq!(left.len(), 1, "{left:?}");
    let (_, service, named) = group_users(&w).await;
    assert_eq!(service, [left[0].1.clone()]);
    assert_eq!(named, [left[0].1.clone()]);
    let want = writes(&[
        ("EC2:CreateSecurityGroup", 1),
        ("EC2:AuthorizeSecurityGroupIngress", 1),
        ("EC2:AuthorizeSecurityGroupEgress", 1),
        ("EC2:RevokeSecurityGroupEgress", 1),
        ("ECS:UpdateService", 1),
        ("EC2:DeleteSecurityGroup", 1),
    ]);
    assert_eq!(totals, want, "every write once, in {runs} runs");
}

/// The service move killed after every write: each write once, one service left.
#[tokio::test]
async fn a_service_move_killed_after_every_call_is_completed_with_nothing_duplicated() {
    let w = World::web_moving_to_blue().await;
    let (runs, totals) = killed_walk(&w, |_| async {}).await;
    assert!(service_in(&w.clients, "main", "web").await.is_none());
    assert!(service_in(&w.clients, "blue", "web").await.is_some());
    assert!(!scalable_target_exists(&w.clients, "service/main/web").await);
    // UpdateService: moto drops CreateService's deploymentConfiguration (tests/README.md);
    // TagResource: the move marked done.
    let want = writes(&[
        ("ECS:CreateCluster", 1),
        ("ECS:CreateService", 1),
        ("ECS:UpdateService", 1),
        ("ApplicationAutoScaling:RegisterScalableTarget", 1),
        ("ApplicationAutoScaling:PutScalingPolicy", 1),
        ("ApplicationAutoScaling:DeregisterScalableTarget", 1),
        ("ECS:DeleteService", 1),
        ("ECS:TagResource", 1),
    ]);
    assert_eq!(totals, want, "every write once, in {runs} runs");
}

/// Every security group the set owns for the manifest `name`: (group name, ID, VPC).
async fn owned_groups(clients: &Clients, name: &str) -> Vec<(String, String, String)> {
    let f = |k: &str, v: &str| aws_sdk_ec2::types::Filter::builder().name(k).values(v).build();
    let out = clients
        .ec2
        .describe_security_groups()
        .filters(f("tag:ecs-reconciler:set", "shop"))
        .filters(f("tag:ecs-reconciler:name", name))
        .send()
        .await
        .unwrap();
    let mut groups: Vec<(String, String, String)> = out
        .security_groups()
        .iter()
        .map(|g| {
            (
                g.group_name().unwrap_or_default().to_string(),
                g.group_id().unwrap_or_default().to_string(),
                g.vpc_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    groups.sort();
    groups
}

/// The groups other resources use: the load balancer's, the service's, and the groups the
/// rules of `web-alb`'s current generation name.
async fn group_users(w: &World) -> (Vec<String>, Vec<String>, Vec<String>) {
    let lb = w.clients.elbv2.describe_load_balancers().names("web").send().await.unwrap().load_balancers.unwrap();
    let svc = w.clients.ecs.describe_services().cluster("main").services("web").send().await.unwrap();
    let svc = svc.services().iter().find(|s| s.status.as_deref() == Some("ACTIVE")).unwrap().clone();
    let service = svc.network_configuration.unwrap().awsvpc_configuration.unwrap().security_groups.unwrap_or_default();
    let alb = owned_groups(&w.clients, "web-alb").await;
    let g = w.clients.ec2.describe_security_groups().group_ids(&alb[0].1).send().await.unwrap();
    let named: Vec<String> = g.security_groups()[0]
        .ip_permissions_egress()
        .iter()
        .flat_map(|p| p.user_id_group_pairs().iter().filter_map(|u| u.group_id().map(str::to_string)))
        .collect();
    (lb[0].security_groups().to_vec(), service, named)
}

/// A security group's description is immutable: a new group under a generated name, the
/// service and the other group's rule moved to it, the old one deleted by a later run once no
/// rule names it; nothing owned left behind.
#[tokio::test]
async fn a_security_group_description_change_creates_before_destroying_and_moves_every_user() {
    let w = World::applied().await;
    let old = owned_groups(&w.clients, "web-tasks").await;
    assert_eq!(old.len(), 1);
    w.edit("security-groups.yaml", DESCRIPTION_FROM, DESCRIPTION_TO);

    let (code, plan) = w.plan();
    assert_eq!(code, 2);
    let sg = step(&plan, "SecurityGroup", "web-tasks").unwrap();
    assert_eq!(sg["op"], "replace", "{sg:#}");
    assert!(sg.get("disruptive").is_none(), "{sg:#}");
    let new_name = sg["actions"][0]["params"]["groupName"].as_str().unwrap().to_string();
    assert!(new_name.starts_with("web-tasks-") && new_name.len() == "web-tasks-".len() + 6, "{new_name}");
    let alb = step(&plan, "SecurityGroup", "web-alb").unwrap();
    let alb_calls: Vec<&str> = alb["actions"].as_array().unwrap().iter().map(|a| a["call"].as_str().unwrap()).collect();
    assert_eq!(alb_calls, ["ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"], "{alb:#}");
    let svc = step(&plan, "Service", "web").unwrap();
    assert!(svc["actions"][0]["params"].get("networkConfiguration").is_some(), "{svc:#}");

    let run1 = w.apply(&[]);
    assert_eq!(run1["summary"]["failed"], 0, "{run1:#}");
    assert_eq!(calls(&run1, "EC2:DeleteSecurityGroup"), 0, "the old group is still named by rules this run");
    let both = owned_groups(&w.clients, "web-tasks").await;
    assert_eq!(both.len(), 2, "{both:?}");
    let new_id = both.iter().find(|g| g.0 == new_name).unwrap().1.clone();
    let (_, service, named) = group_users(&w).await;
    assert_eq!(service, std::slice::from_ref(&new_id));
    assert_eq!(named, std::slice::from_ref(&new_id), "web-alb's egress names the new group only");

    let (code, plan) = w.plan();
    assert_eq!(code, 2);
    let gone = step(&plan, "SecurityGroup", "web-tasks@web-tasks").unwrap_or_else(|| panic!("{plan:#}"));
    let gone_calls: Vec<&str> =
        gone["actions"].as_array().unwrap().iter().map(|a| a["call"].as_str().unwrap()).collect();
    assert_eq!(gone_calls, ["ec2:DeleteSecurityGroup"], "{gone:#}");
    let run2 = w.apply(&[]);
    assert_eq!(run2["summary"]["failed"], 0, "{run2:#}");
    let left = owned_groups(&w.clients, "web-tasks").await;
    assert_eq!(left.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), [new_name.as_str()]);
    let (code, plan) = w.plan();
    assert_eq!(code, 0, "{plan:#}");
}

/// A group moved to another VPC: created there, the one left in the old VPC found by its tags
/// and deleted; nothing owned left behind.
#[tokio::test]
async fn a_security_group_moved_to_another_vpc_leaves_nothing_behind() {
    let w = World::applied().await;
    let other =
        w.clients.ec2.create_vpc().cidr_block("10.30.0.0/16").send().await.unwrap().vpc.unwrap().vpc_id.unwrap();
    let batch = "apiVersion: ecs-reconciler/v1\nkind: SecurityGroup\nmetadata: {name: batch}\nspec:\n  vpc: main\n  description: batch jobs\n";
    std::fs::write(w.dir.path().join("shop/batch.yaml"), batch).unwrap();
    w.apply(&[]);
    let before = owned_groups(&w.clients, "batch").await;
    assert_eq!(before.len(), 1);
    w.edit("batch.yaml", "vpc: main", &format!("vpc: {other}"));
    let (code, plan) = w.plan();
    assert_eq!(code, 2);
    assert_eq!(step(&plan, "SecurityGroup", "batch").unwrap()["op"], "create", "{plan:#}");
    let old = step(&plan, "SecurityGroup", "batch@batch").unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(old["actions"][0]["params"]["id"], before[0].1.as_str());
    let run = w.apply(&[]);
    assert_eq!(run["summary"]["failed"], 0, "{run:#}");
    let after = owned_groups(&w.clients, "batch").await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].2, other);
    assert_eq!(w.plan().0, 0);
}

/// Pruning the whole example set completes across runs in dependency order: services first, the
/// cluster once none is left, the load balancer, then the security groups once nothing uses
/// them (each first revoking its rule naming the other); every wait reported as it happens.
#[tokio::test]
async fn pruning_the_example_set_completes_across_runs_in_order() {
    let w = World::applied().await;
    let shop = w.dir.path().join("shop");
    for f in ["cluster.yaml", "security-groups.yaml", "web.yaml", "worker.yaml"] {
        std::fs::remove_file(shop.join(f)).unwrap();
    }
    let keep = "apiVersion: ecs-reconciler/v1\nkind: SecurityGroup\nmetadata: {name: keep}\nspec:\n  vpc: main\n  description: kept\n";
    std::fs::write(shop.join("keep.yaml"), keep).unwrap();
    w.apply(&[]);
    let mut deleted_by_run: Vec<Vec<String>> = Vec::new();
    let mut waiting_by_run: Vec<Vec<String>> = Vec::new();
    loop {
        let (code, _) = cli_json(&w.moto, &["plan", "--desired", &w.desired, "--prune", "--detailed-exitcode"]);
        if code == 0 {
            break;
        }
        assert!(deleted_by_run.len() < 8, "does not converge: {deleted_by_run:?} {waiting_by_run:?}");
        let run = w.apply(&["--prune"]);
        assert_eq!(run["summary"]["failed"], 0, "{run:#}");
        let results = run["summary"]["results"].as_array().unwrap();
        let of = |outcome: &str| -> Vec<String> {
            let mut v: Vec<String> = results
                .iter()
                .filter(|r| r["op"] == "delete" && r["outcome"] == outcome)
                .map(|r| format!("{}/{}", r["kind"].as_str().unwrap(), r["name"].as_str().unwrap()))
                .collect();
            v.sort();
            v
        };
        for r in results.iter().filter(|r| r["outcome"] == "skipped") {
            assert!(r["message"].as_str().unwrap().starts_with("waits until"), "{r:#}");
        }
        deleted_by_run.push(of("applied"));
        waiting_by_run.push(of("skipped"));
    }
    let position = |id: &str| deleted_by_run.iter().position(|d| d.iter().any(|x| x == id)).unwrap_or(usize::MAX);
    for id in ["Service/web", "Service/worker", "Cluster/main", "LoadBalancer/web", "SecurityGroup/web-alb"] {
        assert_ne!(position(id), usize::MAX, "{id} deleted: {deleted_by_run:?}");
    }
    assert!(position("Service/web") < position("Cluster/main"), "{deleted_by_run:?}");
    assert!(position("LoadBalancer/web") < position("SecurityGroup/web-alb"), "{deleted_by_run:?}");
    assert!(waiting_by_run[0].contains(&"Cluster/main".to_string()), "{waiting_by_run:?}");
    assert!(waiting_by_run[0].contains(&"SecurityGroup/web-alb".to_string()), "{waiting_by_run:?}");
    // Nothing owned is left but the kept group.
    let left: Vec<_> = owned_groups(&w.clients, "web-alb")
        .await
        .into_iter()
        .chain(owned_groups(&w.clients, "web-tasks").await)
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let clusters = w.clients.ecs.describe_clusters().clusters("main").send().await.unwrap();
    assert!(clusters.clusters().iter().all(|c| c.status() != Some("ACTIVE")), "{clusters:?}");
}

/// The ECS service of `cluster` named `name` that is not INACTIVE, if any.
async fn service_in(clients: &Clients, cluster: &str, name: &str) -> Option<aws_sdk_ecs::types::Service> {
    let resp = clients
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .ok()?;
    resp.services().iter().find(|s| s.status() != Some("INACTIVE")).cloned()
}

async fn scalable_target_exists(clients: &Clients, resource_id: &str) -> bool {
    use aws_sdk_applicationautoscaling::types::ServiceNamespace;
    let t = clients
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(resource_id)
        .send()
        .await
        .unwrap();
    !t.scalable_targets().is_empty()
}

/// A service whose manifest moves it to another cluster is created there first; the set's
/// service in the cluster it left (and its scalable target) is deleted by the first run that
/// sees the new one serving, and nothing owned stays behind.
#[tokio::test]
async fn a_service_moved_to_another_cluster_is_created_there_and_the_old_one_goes_once_it_serves() {
    let w = World::web_moving_to_blue().await;

    let (code, plan) = w.plan();
    assert_eq!(code, 2, "{plan:#}");
    let new = step(&plan, "Service", "web").unwrap();
    assert_eq!(new["op"], "create");
    assert!(new["reason"].as_str().unwrap().starts_with("moved from cluster `main`"), "{new:#}");
    let old = step(&plan, "Service", "web@main").expect("the old service's step");
    assert_eq!(old["op"], "delete");
    assert_eq!(old["actions"].as_array().map_or(0, Vec::len), 0, "waits: {old:#}");

    // First run: the new service and its target exist; the old one still serves. A delete that
    // waits is progress: the apply exits 0.
    let (code, run) = cli_json(&w.moto, &["apply", "--desired", &w.desired]);
    assert_eq!(code, 0, "{run:#}");
    assert!(service_in(&w.clients, "blue", "web").await.is_some());
    assert!(service_in(&w.clients, "main", "web").await.is_some(), "the old one stays until the new one serves");
    assert!(scalable_target_exists(&w.clients, "service/blue/web").await);
    let tags = service_in(&w.clients, "blue", "web").await.unwrap().tags().to_vec();
    assert!(tags.iter().any(|t| t.key() == Some("ecs-reconciler:moved-from") && t.value() == Some("main")), "{tags:?}");

    // The next runs see it serving: the old service and its target go, and the move is marked done.
    let (_, plan) = w.plan();
    let old = step(&plan, "Service", "web@main").expect("the old service's step");
    let calls: Vec<&str> =
        old["actions"].as_array().into_iter().flatten().map(|a| a["call"].as_str().unwrap()).collect();
    assert_eq!(calls, ["ecs:DeleteService"], "{old:#}");
    w.apply(&[]);
    assert!(service_in(&w.clients, "main", "web").await.is_none(), "the old service is deleted");
    assert!(!scalable_target_exists(&w.clients, "service/main/web").await, "and its scalable target");
    w.apply(&[]);
    let (code, plan) = w.plan();
    assert_eq!(code, 0, "converged: {plan:#}");
    let tags = service_in(&w.clients, "blue", "web").await.unwrap().tags().to_vec();
    assert!(tags.iter().any(|t| t.key() == Some("ecs-reconciler:moved-from") && t.value() == Some("")), "{tags:?}");
    // Nothing owned is left in the cluster it left, and the worker stays there.
    let left = w.clients.ecs.list_services().cluster("main").send().await.unwrap();
    let left: Vec<&str> = left.service_arns().iter().map(|a| a.rsplit('/').next().unwrap()).collect();
    let active = futures_names(&w.clients, "main", &left).await;
    assert_eq!(active, ["worker"]);
}

/// The names among `names` of the services of `cluster` that are not INACTIVE.
async fn futures_names(clients: &Clients, cluster: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        if service_in(clients, cluster, n).await.is_some() {
            out.push(n.to_string());
        }
    }
    out.sort();
    out
}

/// A load balancer's scheme cannot change in place, and its name is its identity to its users'
/// DNS: a disruptive replacement (delete, then create under the same name) that the plan says is
/// disruptive, that a run without `--allow-replace` leaves alone, and that one with it carries
/// out: the new load balancer with its listeners forwarding to the same target group, and then
/// an empty plan.
#[tokio::test]
async fn a_load_balancer_scheme_change_is_a_disruptive_replacement_run_only_when_allowed() {
    let w = World::applied().await;
    let lb = |w: &World| {
        let elbv2 = w.clients.elbv2.clone();
        async move { elbv2.describe_load_balancers().names("web").send().await.unwrap().load_balancers.unwrap() }
    };
    let before = lb(&w).await;
    w.edit("web.yaml", "scheme: internet-facing", "scheme: internal");

    let (code, plan) = w.plan();
    assert_eq!(code, 2);
    let s = step(&plan, "LoadBalancer", "web").unwrap();
    assert_eq!(s["op"], "replace", "{s:#}");
    assert_eq!(s["disruptive"], true, "{s:#}");
    assert!(s["reason"].as_str().unwrap().contains("scheme"), "{s:#}");

    // Not allowed: nothing is deleted, and the run says why.
    let run = w.apply(&[]);
    assert_eq!(calls(&run, "ELBv2:DeleteLoadBalancer"), 0, "{run:#}");
    let skipped = run["summary"]["results"].as_array().unwrap().iter().find(|r| r["kind"] == "LoadBalancer").unwrap();
    assert_eq!(skipped["outcome"], "skipped", "{skipped:#}");
    assert!(skipped["message"].as_str().unwrap().contains("--allow-replace"), "{skipped:#}");
    assert_eq!(lb(&w).await[0].load_balancer_arn, before[0].load_balancer_arn);

    // Allowed: replaced under the same name, its listeners back on the same target group.
    let run = w.apply(&["--allow-replace"]);
    assert_eq!(run["summary"]["failed"], 0, "{run:#}");
    let after = lb(&w).await;
    assert_ne!(after[0].load_balancer_arn, before[0].load_balancer_arn);
    assert_eq!(after[0].scheme.as_ref().map(|s| s.as_str()), Some("internal"));
    let (forwards, service) = w.users_of_web().await;
    assert_eq!(forwards.len(), 2, "both listeners again: {forwards:?}");
    assert!(forwards.iter().all(|f| service.contains(f)), "{forwards:?} {service:?}");
    let (code, plan) = w.plan();
    assert_eq!(code, 0, "{plan:#}");
}

/// A service's scheduling strategy cannot change in place and a service keeps its name: a
/// disruptive delete-then-create, run only with `--allow-replace`, and complete (the new
/// service created, the plan empty) within the runs that follow, whether or not the emulator
/// keeps the old one DRAINING.
#[tokio::test]
async fn a_service_scheduling_strategy_change_is_a_disruptive_replacement_run_only_when_allowed() {
    let w = World::applied().await;
    w.edit(
        "worker.yaml",
        "  desiredCount: 2\n  launchType: EC2\n  deploymentConfiguration:\n    maximumPercent: 200\n    minimumHealthyPercent: 50\n",
        "  launchType: EC2\n  schedulingStrategy: DAEMON\n",
    );
    let (code, plan) = w.plan();
    assert_eq!(code, 2, "{plan:#}");
    let s = step(&plan, "Service", "worker").unwrap();
    assert_eq!(s["op"], "replace", "{s:#}");
    assert_eq!(s["disruptive"], true, "{s:#}");
    let before = service_in(&w.clients, "main", "worker").await.unwrap().service_arn().unwrap().to_string();

    let run = w.apply(&[]);
    assert_eq!(calls(&run, "ECS:DeleteService"), 0, "not without --allow-replace: {run:#}");
    assert!(service_in(&w.clients, "main", "worker").await.is_some());

    let (mut runs, mut deletes, mut creates) = (0, 0, 0);
    while w.plan().0 != 0 {
        runs += 1;
        assert!(runs <= 4, "does not converge: {:#}", w.plan().1);
        let run = w.apply(&["--allow-replace"]);
        assert_eq!(run["summary"]["failed"], 0, "{run:#}");
        deletes += calls(&run, "ECS:DeleteService");
        creates += calls(&run, "ECS:CreateService");
    }
    assert_eq!((deletes, creates), (1, 1), "deleted once and created once, in {runs} runs");
    let after = service_in(&w.clients, "main", "worker").await.expect("the new service");
    assert_eq!(after.scheduling_strategy().map(|s| s.as_str()), Some("DAEMON"));
    assert_eq!(after.service_arn(), Some(before.as_str()), "the same name in the same cluster: the same ARN");
}
