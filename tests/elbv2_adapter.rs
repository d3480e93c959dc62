//! The ELBv2 adapter against the emulator: a target group and an ALB created from manifests read
//! back in manifest shape with describe calls only, drift made by hand repaired by update, and
//! resources the set left behind found for prune.

mod common;

use std::collections::BTreeMap;

use ecs_reconciler::aws::{Clients, Ids, elbv2};
use ecs_reconciler::manifest::{Kind, ManifestSet};
use ecs_reconciler::plan::{Live, Observed, Plan, TAG_NAME, TAG_SET};
use ecs_reconciler::reconcile::{self, Outcome, RunOptions};
use serde_json::{Value, json};

const SET: &str = "demo";

/// A VPC with two subnets in different zones and a security group, made with the EC2 SDK.
struct Network {
    vpc: String,
    subnets: [String; 2],
    sg: String,
}

async fn network(clients: &Clients) -> Network {
    let vpc = clients
        .ec2
        .create_vpc()
        .cidr_block("10.10.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("vpc id");
    let mut subnets = Vec::new();
    for (cidr, zone) in [("10.10.1.0/24", "us-east-1a"), ("10.10.2.0/24", "us-east-1b")] {
        subnets.push(
            clients
                .ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr)
                .availability_zone(zone)
                .send()
                .await
                .expect("CreateSubnet")
                .subnet
                .and_then(|s| s.subnet_id)
                .expect("subnet id"),
        );
    }
    subnets.sort();
    let sg = clients
        .ec2
        .create_security_group()
        .group_name("web-alb")
        .description("web ALB")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id
        .expect("sg id");
    Network { vpc, subnets: [subnets[0].clone(), subnets[1].clone()], sg }
}

/// The web tier: a target group on port 3000 and an ALB with HTTP:80 forwarding to it (plus a
/// maintenance rule) and HTTP:8080 redirecting to 80.
fn manifests(net: &Network) -> ManifestSet {
    let yaml = format!(
        r#"
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata: {{ name: web }}
spec:
  protocol: HTTP
  port: 3000
  vpc: {vpc}
  targetType: ip
  healthCheck:
    path: /healthz
    intervalSeconds: 15
    matcher: {{ httpCode: "200" }}
  attributes:
    deregistration_delay.timeout_seconds: 30
  tags:
    - {{ key: team, value: web }}
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {{ name: web }}
spec:
  type: application
  scheme: internet-facing
  subnets: [{s1}, {s2}]
  securityGroups: [{sg}]
  attributes:
    idle_timeout.timeout_seconds: 120
  listeners:
    - port: 80
      protocol: HTTP
      defaultActions:
        - {{ type: forward, targetGroup: web }}
      rules:
        - priority: 10
          conditions:
            - {{ field: path-pattern, values: ["/maintenance/*"] }}
          actions:
            - type: fixed-response
              fixedResponseConfig: {{ statusCode: "503", contentType: text/plain, messageBody: down }}
    - port: 8080
      protocol: HTTP
      defaultActions:
        - type: redirect
          redirectConfig: {{ protocol: HTTP, port: "80", statusCode: HTTP_301 }}
"#,
        vpc = net.vpc,
        s1 = net.subnets[0],
        s2 = net.subnets[1],
        sg = net.sg,
    );
    let set = ManifestSet::from_texts([("t.yaml", yaml)]);
    assert!(set.is_valid(), "{:#?}", set.diagnostics);
    set
}

/// Plan and apply the set, as `apply` does; the IDs of what exists afterwards.
async fn create_all(clients: &Clients, set: &ManifestSet) -> Ids {
    apply_all(clients, set).await;
    Ids::from_observed(&observe(clients, set, false).await)
}

/// One plan and its apply; every step must succeed.
async fn apply_all(clients: &Clients, set: &ManifestSet) -> Plan {
    let opts = RunOptions::default();
    let (observed, plan) = reconcile::plan_set(clients, SET, set, &opts).await.expect("plan");
    let results = reconcile::apply(clients, set, &observed, &plan, &opts).await.expect("apply");
    assert!(results.iter().all(|r| r.outcome == Outcome::Applied), "{results:#?}");
    plan
}

async fn observe(clients: &Clients, set: &ManifestSet, prune: bool) -> Observed {
    let mut observed = Observed::default();
    elbv2::observe(clients, SET, set, prune, &mut observed).await.expect("observe");
    observed
}

fn live(observed: &Observed, kind: Kind) -> &Live {
    observed.get(kind, "web").unwrap_or_else(|| panic!("{kind}/web not observed: {:#?}", observed.live))
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn a_created_web_tier_reads_back_in_manifest_shape_with_describe_calls_only() {
    let moto = common::Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let net = network(&clients).await;
    let set = manifests(&net);
    let ids = create_all(&clients, &set).await;
    let tg_arn = ids.get(Kind::TargetGroup, "web").expect("tg arn");

    clients.calls.reset();
    let observed = observe(&clients, &set, false).await;
    assert_eq!(clients.calls.writes(), BTreeMap::new());
    assert_eq!(
        clients.calls.snapshot(),
        counts(&[
            ("ELBv2:DescribeTargetGroups", 1),
            ("ELBv2:DescribeLoadBalancers", 1),
            ("ELBv2:DescribeTags", 1),
            ("ELBv2:DescribeTargetGroupAttributes", 1),
            ("ELBv2:DescribeLoadBalancerAttributes", 1),
            ("ELBv2:DescribeListeners", 1),
            ("ELBv2:DescribeRules", 2),
        ])
    );

    let tg = live(&observed, Kind::TargetGroup);
    assert_eq!(tg.id, tg_arn);
    assert_eq!(tg.spec["protocol"], "HTTP");
    assert_eq!(tg.spec["port"], 3000);
    assert_eq!(tg.spec["vpc"], json!(net.vpc));
    assert_eq!(tg.spec["targetType"], "ip");
    assert_eq!(tg.spec["healthCheckPath"], "/healthz");
    assert_eq!(tg.spec["healthCheckIntervalSeconds"], 15);
    assert_eq!(tg.spec["matcher"], json!({"httpCode": "200"}));
    // Only the attributes the manifest names, as AWS's strings.
    assert_eq!(tg.spec["attributes"], json!({"deregistration_delay.timeout_seconds": "30"}));
    assert_eq!(tg.tags[TAG_SET], SET);
    assert_eq!(tg.tags[TAG_NAME], "web");
    assert_eq!(tg.tags["team"], "web");

    let lb = live(&observed, Kind::LoadBalancer);
    assert_eq!(Some(&lb.id), ids.get(Kind::LoadBalancer, "web").as_ref());
    assert_eq!(lb.spec["type"], "application");
    assert_eq!(lb.spec["scheme"], "internet-facing");
    assert_eq!(lb.spec["subnets"], json!(net.subnets));
    assert_eq!(lb.spec["securityGroups"], json!([net.sg]));
    assert_eq!(lb.spec["attributes"], json!({"idle_timeout.timeout_seconds": "120"}));
    assert_eq!(lb.tags[TAG_SET], SET);
    let listeners = lb.spec["listeners"].as_array().expect("listeners");
    assert_eq!(listeners.len(), 2, "{listeners:#?}");
    let http = &listeners[0];
    assert_eq!(http["port"], 80);
    assert_eq!(http["protocol"], "HTTP");
    let forward = &http["defaultActions"][0];
    assert_eq!(forward["type"], "forward");
    assert_eq!(forward["targetGroupArn"], json!(tg_arn));
    let rule = &http["rules"][0];
    assert_eq!(rule["priority"], 10);
    assert_eq!(rule["conditions"][0]["field"], "path-pattern");
    assert_eq!(rule["actions"][0]["type"], "fixed-response");
    assert_eq!(rule["actions"][0]["fixedResponseConfig"]["statusCode"], "503");
    assert_eq!(http["rules"].as_array().map(Vec::len), Some(1));
    let redirect = &listeners[1];
    assert_eq!(redirect["port"], 8080);
    assert_eq!(redirect["defaultActions"][0]["type"], "redirect");
    assert_eq!(redirect["defaultActions"][0]["redirectConfig"]["statusCode"], "HTTP_301");
    for part in ["listener:80", "listener:8080", "rule:80:10"] {
        assert!(lb.parts.contains_key(part), "{part} in {:?}", lb.parts);
    }
    assert!(observed.orphans.is_empty());
}

#[tokio::test]
async fn drift_made_out_of_band_is_seen_and_repaired_by_update() {
    let moto = common::Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let net = network(&clients).await;
    let set = manifests(&net);
    let ids = create_all(&clients, &set).await;
    let tg_arn = ids.get(Kind::TargetGroup, "web").expect("tg arn");
    let lb_arn = ids.get(Kind::LoadBalancer, "web").expect("lb arn");
    let before = observe(&clients, &set, false).await;

    // Someone edits the web tier by hand: another health check path, the `team` tag gone, the
    // HTTP:80 listener (and its rule) deleted, 8080 forwarding instead of redirecting, and a
    // listener on 9090 the manifests do not have.
    let elb = &clients.elbv2;
    elb.modify_target_group()
        .target_group_arn(&tg_arn)
        .health_check_path("/other")
        .send()
        .await
        .expect("ModifyTargetGroup");
    elb.remove_tags().resource_arns(&tg_arn).tag_keys("team").send().await.expect("RemoveTags");
    let parts = &live(&before, Kind::LoadBalancer).parts;
    elb.delete_listener().listener_arn(&parts["listener:80"]).send().await.expect("DeleteListener");
    let forward = aws_sdk_elasticloadbalancingv2::types::Action::builder()
        .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
        .target_group_arn(&tg_arn)
        .build();
    elb.modify_listener()
        .listener_arn(&parts["listener:8080"])
        .default_actions(forward.clone())
        .send()
        .await
        .expect("ModifyListener");
    elb.create_listener()
        .load_balancer_arn(&lb_arn)
        .port(9090)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .default_actions(forward)
        .send()
        .await
        .expect("CreateListener");

    let drifted = observe(&clients, &set, false).await;
    let tg = live(&drifted, Kind::TargetGroup);
    assert_eq!(tg.spec["healthCheckPath"], "/other");
    assert!(!tg.tags.contains_key("team"));
    let lb = live(&drifted, Kind::LoadBalancer);
    let ports: Vec<&Value> = lb.spec["listeners"].as_array().expect("listeners").iter().map(|l| &l["port"]).collect();
    assert_eq!(ports, [&json!(8080), &json!(9090)]);
    assert_eq!(lb.spec["listeners"][0]["defaultActions"][0]["type"], "forward");

    // Repair, as the plan's steps say: the health check path, the tag, and the listeners.
    clients.calls.reset();
    let plan = apply_all(&clients, &set).await;
    let planned: Vec<String> = plan.steps.iter().flat_map(|s| s.actions.iter().map(|a| a.call.to_string())).collect();
    assert_eq!(planned.len() as u64, clients.calls.writes().values().sum::<u64>(), "{planned:?}");
    assert_eq!(
        clients.calls.writes(),
        counts(&[
            ("ELBv2:ModifyTargetGroup", 1),
            ("ELBv2:AddTags", 1),
            ("ELBv2:DeleteListener", 1),
            ("ELBv2:ModifyListener", 1),
            ("ELBv2:CreateListener", 1),
            ("ELBv2:CreateRule", 1),
        ])
    );

    // Back to what was created: the same live state, ARNs of the new listener and rule aside.
    let after = observe(&clients, &set, false).await;
    let (tg_before, tg_after) = (live(&before, Kind::TargetGroup), live(&after, Kind::TargetGroup));
    assert_eq!(tg_after.spec, tg_before.spec);
    assert_eq!(tg_after.tags, tg_before.tags);
    let (lb_before, lb_after) = (live(&before, Kind::LoadBalancer), live(&after, Kind::LoadBalancer));
    assert_eq!(lb_after.spec, lb_before.spec);
    assert_eq!(lb_after.parts.keys().collect::<Vec<_>>(), lb_before.parts.keys().collect::<Vec<_>>());

    // Nothing differs any more: the next plan is empty and its apply makes no call at all.
    clients.calls.reset();
    let plan = apply_all(&clients, &set).await;
    assert!(!plan.has_changes(), "{}", ecs_reconciler::plan::render::text(&plan, false));
    assert_eq!(clients.calls.writes(), BTreeMap::new());
}

#[tokio::test]
async fn with_prune_resources_tagged_with_the_set_but_not_in_it_are_orphans() {
    let moto = common::Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let net = network(&clients).await;
    let set = manifests(&net);
    create_all(&clients, &set).await;

    let tag = |k: &str, v: &str| aws_sdk_elasticloadbalancingv2::types::Tag::builder().key(k).value(v).build();
    let elb = &clients.elbv2;
    // Left behind by this set (its manifest was removed), owned by another set, owned by nobody.
    for (name, tags) in [
        ("old-web", vec![tag(TAG_SET, SET), tag(TAG_NAME, "old-web")]),
        ("other-web", vec![tag(TAG_SET, "other"), tag(TAG_NAME, "web")]),
        ("manual", vec![]),
    ] {
        elb.create_load_balancer()
            .name(name)
            .set_subnets(Some(net.subnets.to_vec()))
            .security_groups(&net.sg)
            .set_tags(Some(tags).filter(|t| !t.is_empty()))
            .send()
            .await
            .expect("CreateLoadBalancer");
    }
    let mut tgs: Vec<(String, Vec<_>)> = vec![
        ("old-api".into(), vec![tag(TAG_SET, SET), tag(TAG_NAME, "old-api")]),
        ("other-api".into(), vec![tag(TAG_SET, "other"), tag(TAG_NAME, "api")]),
    ];
    // Enough target groups that the tags of all of them take more than one DescribeTags call.
    tgs.extend((0..20).map(|i| (format!("manual-{i}"), vec![])));
    for (name, tags) in tgs {
        elb.create_target_group()
            .name(name)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(80)
            .vpc_id(&net.vpc)
            .set_tags(Some(tags).filter(|t| !t.is_empty()))
            .send()
            .await
            .expect("CreateTargetGroup");
    }

    // 23 target groups and 4 load balancers: 27 ARNs, two DescribeTags calls.
    clients.calls.reset();
    let observed = observe(&clients, &set, true).await;
    assert_eq!(clients.calls.writes(), BTreeMap::new());
    assert_eq!(clients.calls.snapshot()["ELBv2:DescribeTags"], 2);
    let mut orphans: Vec<(Kind, &str, &str)> =
        observed.orphans.iter().map(|l| (l.kind, l.name.as_str(), l.tags[TAG_SET].as_str())).collect();
    orphans.sort();
    assert_eq!(orphans, [(Kind::TargetGroup, "old-api", SET), (Kind::LoadBalancer, "old-web", SET),]);
    for orphan in &observed.orphans {
        assert!(orphan.id.starts_with("arn:aws:elasticloadbalancing:"));
    }
    let old_web = observed.orphans.iter().find(|l| l.kind == Kind::LoadBalancer).expect("old-web");
    assert_eq!(old_web.spec["type"], "application");
    // The set's own resources are live, not orphans.
    assert_eq!(live(&observed, Kind::TargetGroup).tags[TAG_SET], SET);
    assert_eq!(live(&observed, Kind::LoadBalancer).tags[TAG_SET], SET);

    // Without prune nobody's tags but the set's own are read, and nothing is an orphan.
    clients.calls.reset();
    let observed = observe(&clients, &set, false).await;
    assert!(observed.orphans.is_empty());
    assert_eq!(clients.calls.snapshot()["ELBv2:DescribeTags"], 1);
}
