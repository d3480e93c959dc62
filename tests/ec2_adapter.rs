//! The EC2 adapter against the emulator: VPC and subnet names resolve, security groups are
//! created with rules that reference each other, drift in rules is repaired in as few calls as
//! AWS allows (none when nothing changed), and with prune owned groups that left the set show up
//! as orphans.

mod common;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification, UserIdGroupPair};
use ecs_reconciler::aws::{Clients, ec2};
use ecs_reconciler::manifest::{Kind, ManifestSet};
use ecs_reconciler::plan::{Live, Observed, Plan, TAG_NAME, TAG_SET};
use ecs_reconciler::reconcile::{self, Outcome, RunOptions};
use serde_json::{Value, json};

const SET: &str = "prod";

/// Two groups that reference each other: the ALB takes HTTP and HTTPS from anywhere and talks only
/// to the tasks; the tasks take 3000 from the ALB and keep AWS's default egress. A target group
/// and a load balancer name the VPC and the subnets by their Name tags.
const WEB: &str = r#"
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: web-alb}
spec:
  vpc: main
  description: Public HTTP and HTTPS to the web ALB
  ingress:
    - {protocol: tcp, fromPort: 80, toPort: 80, cidr: 0.0.0.0/0, description: HTTP}
    - {protocol: tcp, fromPort: 443, toPort: 443, cidr: 0.0.0.0/0, description: HTTPS}
  egress:
    - {protocol: tcp, fromPort: 3000, toPort: 3000, securityGroup: web-tasks, description: to the tasks}
  tags:
    - {key: team, value: web}
---
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: web-tasks}
spec:
  vpc: main
  description: Web tasks, reachable only from the ALB
  ingress:
    - {protocol: tcp, fromPort: 3000, toPort: 3000, securityGroup: web-alb, description: from the ALB}
---
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata: {name: web}
spec:
  protocol: HTTP
  port: 3000
  vpc: main
  targetType: ip
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {name: web}
spec:
  type: application
  scheme: internal
  subnets: [private-a, private-b]
  securityGroups: [web-alb]
  listeners:
    - port: 80
      protocol: HTTP
      defaultActions: [{type: forward, targetGroup: web}]
"#;

struct Network {
    vpc: String,
    subnets: [String; 2],
}

fn name_tag(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder().resource_type(resource).tags(Tag::builder().key("Name").value(name).build()).build()
}

/// A VPC named `main` with subnets `private-a` and `private-b`, as a network team would leave it.
async fn network(clients: &Clients) -> Network {
    let vpc = clients
        .ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, "main"))
        .send()
        .await
        .expect("CreateVpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("vpc id");
    let mut subnets = Vec::new();
    for (name, cidr, az) in [("private-a", "10.20.1.0/24", "us-east-1a"), ("private-b", "10.20.2.0/24", "us-east-1b")] {
        let id = clients
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .tag_specifications(name_tag(ResourceType::Subnet, name))
            .send()
            .await
            .expect("CreateSubnet")
            .subnet
            .and_then(|s| s.subnet_id)
            .expect("subnet id");
        subnets.push(id);
    }
    Network { vpc, subnets: [subnets[0].clone(), subnets[1].clone()] }
}

fn manifests(yaml: &str) -> ManifestSet {
    let set = ManifestSet::from_texts([("t.yaml", yaml)]);
    assert!(set.is_valid(), "{:#?}", set.errors().collect::<Vec<_>>());
    set
}

async fn observe(clients: &Clients, set: &ManifestSet, prune: bool) -> Observed {
    let mut observed = Observed::default();
    ec2::observe(clients, SET, set, prune, &mut observed).await.expect("observe");
    observed
}

/// Plan and apply the set as `apply` does (every group is created before any rule, since groups
/// reference each other); every step must succeed.
async fn apply_all(clients: &Clients, set: &ManifestSet, prune: bool) -> Plan {
    let opts = RunOptions { prune, ..RunOptions::default() };
    let (observed, plan) = reconcile::plan_set(clients, SET, set, &opts).await.expect("plan");
    let results = reconcile::apply(clients, set, &observed, &plan, &opts).await.expect("apply");
    assert!(results.iter().all(|r| r.outcome == Outcome::Applied), "{results:#?}");
    plan
}

fn group<'a>(observed: &'a Observed, name: &str) -> &'a Live {
    observed
        .get(Kind::SecurityGroup, name)
        .unwrap_or_else(|| panic!("SecurityGroup/{name} not observed: {observed:#?}"))
}

/// Rules of one direction as a sorted list, to compare regardless of the order AWS returns.
fn rules(live: &Live, direction: &str) -> Vec<Value> {
    let mut rules = live.spec[direction].as_array().cloned().unwrap_or_default();
    rules.sort_by_key(|r| r.to_string());
    rules
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|r| r.to_string());
    v
}

#[tokio::test]
async fn names_resolve_and_groups_that_reference_each_other_read_back_as_written() {
    let moto = common::Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let net = network(&clients).await;
    let set = manifests(WEB);

    // Before anything exists: names resolve in one call each, the groups are absent.
    clients.calls.reset();
    let before = observe(&clients, &set, false).await;
    assert_eq!(before.vpcs.get("main"), Some(&net.vpc));
    assert_eq!(before.subnets.get("private-a"), Some(&net.subnets[0]));
    assert_eq!(before.subnets.get("private-b"), Some(&net.subnets[1]));
    assert!(before.live.is_empty(), "{:#?}", before.live);
    let calls = clients.calls.snapshot();
    assert_eq!(calls.get("EC2:DescribeVpcs"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("EC2:DescribeSubnets"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("EC2:DescribeSecurityGroups"), Some(&1), "{calls:?}");
    assert_eq!(clients.calls.total(), 3, "{calls:?}");

    apply_all(&clients, &set, false).await;

    let after = observe(&clients, &set, false).await;
    let alb = group(&after, "web-alb");
    let tasks = group(&after, "web-tasks");
    assert!(alb.id.starts_with("sg-") && tasks.id.starts_with("sg-"));
    assert_eq!(alb.spec["vpc"], json!(net.vpc));
    assert_eq!(tasks.spec["vpc"], json!(net.vpc));
    assert_eq!(alb.spec["description"], json!("Public HTTP and HTTPS to the web ALB"));
    assert_eq!(
        rules(alb, "ingress"),
        sorted(vec![
            json!({"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0", "description": "HTTP"}),
            json!({"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "0.0.0.0/0", "description": "HTTPS"}),
        ])
    );
    assert_eq!(
        rules(alb, "egress"),
        vec![
            json!({"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroup": tasks.id, "description": "to the tasks"})
        ]
    );
    assert_eq!(
        rules(tasks, "ingress"),
        vec![
            json!({"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroup": alb.id, "description": "from the ALB"})
        ]
    );
    // No egress in the manifest: AWS's default stays.
    assert_eq!(rules(tasks, "egress"), vec![json!({"protocol": "-1", "cidr": "0.0.0.0/0"})]);
    for (live, name) in [(alb, "web-alb"), (tasks, "web-tasks")] {
        assert_eq!(live.tags.get(TAG_SET).map(String::as_str), Some(SET));
        assert_eq!(live.tags.get(TAG_NAME).map(String::as_str), Some(name));
    }
    assert_eq!(alb.tags.get("team").map(String::as_str), Some("web"));

    // A second VPC with the same Name: the lookup refuses to guess.
    clients
        .ec2
        .create_vpc()
        .cidr_block("10.30.0.0/16")
        .tag_specifications(name_tag(ResourceType::Vpc, "main"))
        .send()
        .await
        .expect("CreateVpc");
    let mut observed = Observed::default();
    let err =
        ec2::observe(&clients, SET, &set, false, &mut observed).await.expect_err("an ambiguous Name must not resolve");
    assert!(err.to_string().contains("ambiguous"), "{err}");
}

#[tokio::test]
async fn rule_drift_is_repaired_exactly_and_a_second_sync_writes_nothing() {
    let moto = common::Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    net_and_apply(&clients).await;
    let set = manifests(WEB);
    let synced = observe(&clients, &set, false).await;
    let alb = group(&synced, "web-alb").clone();

    // Someone removes HTTP and opens SSH by hand.
    clients
        .ec2
        .revoke_security_group_ingress()
        .group_id(&alb.id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(80)
                .to_port(80)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .expect("out-of-band RevokeSecurityGroupIngress");
    clients
        .ec2
        .authorize_security_group_ingress()
        .group_id(&alb.id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("203.0.113.0/24").build())
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&group(&synced, "web-tasks").id).build())
                .build(),
        )
        .send()
        .await
        .expect("out-of-band AuthorizeSecurityGroupIngress");

    let drifted = observe(&clients, &set, false).await;
    assert_ne!(rules(group(&drifted, "web-alb"), "ingress"), rules(&alb, "ingress"));

    // One authorize (HTTP) and then one revoke (both extra rules) repair it; egress is untouched.
    clients.calls.reset();
    let plan = apply_all(&clients, &set, false).await;
    let step = plan.steps.iter().find(|s| s.name == "web-alb").expect("web-alb step");
    let calls: Vec<String> = step.actions.iter().map(|a| a.call.to_string()).collect();
    assert_eq!(calls, ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"], "authorize first");
    let text = anstream::adapter::strip_str(&ecs_reconciler::plan::render::text(&plan, false)).to_string();
    assert!(text.contains("- ingress tcp/22 from 203.0.113.0/24\n"), "{text}");
    assert!(text.contains("+ ingress tcp/80 from 0.0.0.0/0\n"), "{text}");
    let writes = clients.calls.writes();
    assert_eq!(
        writes.into_iter().collect::<Vec<_>>(),
        vec![("EC2:AuthorizeSecurityGroupIngress".to_string(), 1), ("EC2:RevokeSecurityGroupIngress".to_string(), 1),]
    );

    let repaired = observe(&clients, &set, false).await;
    for name in ["web-alb", "web-tasks"] {
        assert_eq!(rules(group(&repaired, name), "ingress"), rules(group(&synced, name), "ingress"), "{name} ingress");
        assert_eq!(rules(group(&repaired, name), "egress"), rules(group(&synced, name), "egress"), "{name} egress");
    }

    // Converged: the next plan is empty and applying it makes no write call.
    clients.calls.reset();
    let plan = apply_all(&clients, &set, false).await;
    assert!(!plan.has_changes(), "{plan:#?}");
    assert!(clients.calls.writes().is_empty(), "{:?}", clients.calls.writes());
}

async fn net_and_apply(clients: &Clients) {
    network(clients).await;
    let set = manifests(WEB);
    apply_all(clients, &set, false).await;
}

#[tokio::test]
async fn with_prune_owned_groups_that_left_the_set_are_orphans() {
    let moto = common::Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    net_and_apply(&clients).await;

    // Later the set keeps only web-tasks (with a new tag); web-alb left it. A group of another
    // set and an untagged group of the same VPC are none of our business.
    let remaining = manifests(
        r#"
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata: {name: web-tasks}
spec:
  vpc: main
  description: Web tasks, reachable only from the ALB
  tags: [{key: cost-center, value: "42"}]
"#,
    );
    let vpc = observe(&clients, &remaining, false).await.vpcs["main"].clone();
    for (name, tags) in [("other-set", vec![(TAG_SET, "staging"), (TAG_NAME, "other-set")]), ("hand-made", vec![])] {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::SecurityGroup);
        for (k, v) in tags {
            spec = spec.tags(Tag::builder().key(k).value(v).build());
        }
        let mut req = clients.ec2.create_security_group().group_name(name).description(name).vpc_id(&vpc);
        if name != "hand-made" {
            req = req.tag_specifications(spec.build());
        }
        req.send().await.expect("CreateSecurityGroup");
    }

    // Without prune nothing is looked for.
    clients.calls.reset();
    let observed = observe(&clients, &remaining, false).await;
    assert!(observed.orphans.is_empty());
    assert_eq!(clients.calls.snapshot().get("EC2:DescribeSecurityGroups"), Some(&1));

    // With prune: one more call, and exactly the group that left the set.
    clients.calls.reset();
    let observed = observe(&clients, &remaining, true).await;
    assert_eq!(clients.calls.snapshot().get("EC2:DescribeSecurityGroups"), Some(&2));
    let names: Vec<&str> = observed.orphans.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["web-alb"], "{:#?}", observed.orphans);
    let orphan = &observed.orphans[0];
    assert_eq!(orphan.kind, Kind::SecurityGroup);
    assert!(orphan.id.starts_with("sg-"));
    assert_eq!(orphan.spec["vpc"], json!(vpc));
    assert_eq!(orphan.spec["ingress"].as_array().map(Vec::len), Some(2), "{}", orphan.spec);

    // The kept group gets its new tag (existing tags stay), then the orphan can go: first the
    // kept group's rule that references it, then the group itself, by the next run (after the
    // load balancer the set also left, which stood on it: that run waits for it).
    clients.calls.reset();
    let opts = RunOptions { prune: true, ..RunOptions::default() };
    let (observed, plan) = reconcile::plan_set(&clients, SET, &remaining, &opts).await.expect("plan");
    let results = reconcile::apply(&clients, &remaining, &observed, &plan, &opts).await.expect("apply");
    let waiting: Vec<_> = results.iter().filter(|r| r.outcome != Outcome::Applied).collect();
    assert_eq!(waiting.len(), 1, "{results:#?}");
    assert_eq!(waiting[0].message.as_deref(), Some("waits until nothing uses it: LoadBalancer/web"));
    apply_all(&clients, &remaining, true).await;
    assert_eq!(
        clients.calls.writes().into_iter().filter(|(op, _)| op.starts_with("EC2:")).collect::<Vec<_>>(),
        vec![
            ("EC2:CreateTags".to_string(), 1),
            ("EC2:DeleteSecurityGroup".to_string(), 1),
            ("EC2:RevokeSecurityGroupIngress".to_string(), 1),
        ]
    );

    let after = observe(&clients, &remaining, true).await;
    assert!(after.orphans.is_empty(), "{:#?}", after.orphans);
    let tasks = group(&after, "web-tasks");
    assert_eq!(tasks.tags.get("cost-center").map(String::as_str), Some("42"));
    assert_eq!(tasks.tags.get(TAG_SET).map(String::as_str), Some(SET));
    assert!(rules(tasks, "ingress").is_empty());
    let gone = clients
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values("web-alb").build())
        .send()
        .await
        .expect("DescribeSecurityGroups");
    assert!(gone.security_groups().is_empty());
}
