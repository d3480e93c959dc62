//! An ECS-native blue/green service as a user meets it: the example set plus
//! `examples/blue-green/shop.yaml` applied to the emulator, checked with the AWS SDK; then a
//! deployment's traffic shift made with the SDK as ECS makes it (the production and test rules
//! rewritten to weighted forwards that serve the other group), which is ECS's and left alone,
//! and changes by a person to the same rules, which are repaired without undoing the shift.

mod common;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, Rule, RuleCondition, TargetGroupTuple,
};
use common::{Moto, cli_json, create_network, example_set};
use ecs_reconciler::aws::Clients;
use serde_json::Value;

struct World {
    moto: Moto,
    clients: Clients,
    _dir: tempfile::TempDir,
    set: std::path::PathBuf,
}

impl World {
    async fn new() -> World {
        let moto = Moto::start();
        let clients = Clients::new(&moto.sdk_config());
        let network = create_network(&moto, &clients.ec2).await;
        let dir = example_set("shop", &network);
        let set = dir.path().join("shop");
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/blue-green/shop.yaml");
        std::fs::copy(example, set.join("shop.yaml")).unwrap();
        World { moto, clients, _dir: dir, set }
    }

    fn run(&self, command: &str) -> (i32, Value) {
        let desired = self.set.display().to_string();
        let mut args = vec![command, "--desired", &desired];
        if command == "plan" {
            args.push("--detailed-exitcode");
        }
        cli_json(&self.moto, &args)
    }

    fn apply(&self) -> Value {
        let (code, v) = self.run("apply");
        assert_eq!(code, 0, "apply failed: {v:#}");
        let failed: Vec<&Value> =
            v["summary"]["results"].as_array().unwrap().iter().filter(|r| r["outcome"] == "failed").collect();
        assert!(failed.is_empty(), "{failed:#?}");
        v
    }

    fn changes(&self) -> Vec<String> {
        let (_, plan) = self.run("plan");
        plan["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["op"] != "no-op")
            .flat_map(|s| {
                let at = format!("{}/{}", s["kind"].as_str().unwrap(), s["name"].as_str().unwrap());
                s["changes"].as_array().unwrap().iter().map(move |c| format!("{at} {}", c["path"].as_str().unwrap()))
            })
            .collect()
    }

    async fn target_group(&self, name: &str) -> String {
        let tgs = self.clients.elbv2.describe_target_groups().names(name).send().await.unwrap();
        tgs.target_groups()[0].target_group_arn().unwrap().to_string()
    }

    /// The rule with `priority` of the `shop` load balancer's listener on `port`.
    async fn rule(&self, port: i32, priority: &str) -> Rule {
        let lbs = self.clients.elbv2.describe_load_balancers().names("shop").send().await.unwrap();
        let lb = lbs.load_balancers()[0].load_balancer_arn().unwrap().to_string();
        let listeners = self.clients.elbv2.describe_listeners().load_balancer_arn(lb).send().await.unwrap();
        let listener = listeners.listeners().iter().find(|l| l.port() == Some(port)).unwrap();
        let rules =
            self.clients.elbv2.describe_rules().listener_arn(listener.listener_arn().unwrap()).send().await.unwrap();
        rules.rules().iter().find(|r| r.priority() == Some(priority)).unwrap().clone()
    }

    /// `(target group ARN, weight)` of a rule's forward action.
    fn weights(rule: &Rule) -> Vec<(String, i32)> {
        let forward = rule.actions().iter().find(|a| a.r#type() == Some(&ActionTypeEnum::Forward)).unwrap();
        match forward.forward_config() {
            Some(f) => f
                .target_groups()
                .iter()
                .map(|t| (t.target_group_arn().unwrap().to_string(), t.weight().unwrap_or(1)))
                .collect(),
            None => vec![(forward.target_group_arn().unwrap().to_string(), 1)],
        }
    }

    /// What ECS does at the end of a deployment: both rules forward to both groups, the
    /// production one serving `serving`.
    async fn shift_to(&self, serving: &str, other: &str) {
        let (serving, other) = (self.target_group(serving).await, self.target_group(other).await);
        for port in [80, 8080] {
            let rule = self.rule(port, "10").await;
            let tuple = |arn: &str, weight| TargetGroupTuple::builder().target_group_arn(arn).weight(weight).build();
            let forward = Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .forward_config(
                    ForwardActionConfig::builder()
                        .target_groups(tuple(&serving, 100))
                        .target_groups(tuple(&other, 0))
                        .build(),
                )
                .build();
            self.clients.elbv2.modify_rule().rule_arn(rule.rule_arn().unwrap()).actions(forward).send().await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blue_green_service_converges_and_its_traffic_shifts_are_ecs_s() {
    let w = World::new().await;
    w.apply();
    // moto drops CreateService's deploymentConfiguration (tests/README.md): the second run sends it.
    w.apply();
    assert_eq!(w.changes(), Vec::<String>::new(), "not converged");

    // The service as ECS has it: the pair and both rules by their ARNs, the strategy.
    let (blue, green) = (w.target_group("shop-blue").await, w.target_group("shop-green").await);
    let (production, test) = (w.rule(80, "10").await, w.rule(8080, "10").await);
    let services = w.clients.ecs.describe_services().cluster("main").services("shop").send().await.unwrap();
    let service = &services.services()[0];
    let lb = &service.load_balancers()[0];
    assert_eq!(lb.target_group_arn(), Some(blue.as_str()));
    let a = lb.advanced_configuration().expect("advancedConfiguration");
    assert_eq!(a.alternate_target_group_arn(), Some(green.as_str()));
    assert_eq!(a.production_listener_rule(), production.rule_arn());
    assert_eq!(a.test_listener_rule(), test.rule_arn());
    assert_eq!(a.role_arn(), Some("arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers"));
    let d = service.deployment_configuration().unwrap();
    assert_eq!(d.strategy().map(|s| s.as_str()), Some("BLUE_GREEN"));
    assert_eq!(d.bake_time_in_minutes(), Some(10));

    // A deployment moved production to green: ECS's, not drift.
    w.shift_to("shop-green", "shop-blue").await;
    assert_eq!(w.changes(), Vec::<String>::new(), "a traffic shift is not drift");

    // A person narrows the production rule's condition: repaired, and green keeps serving.
    w.clients
        .elbv2
        .modify_rule()
        .rule_arn(production.rule_arn().unwrap())
        .conditions(RuleCondition::builder().field("path-pattern").values("/old/*").build())
        .send()
        .await
        .unwrap();
    assert_eq!(w.changes(), ["LoadBalancer/shop listeners[80].rules[10].conditions[0].values"]);
    w.apply();
    let repaired = w.rule(80, "10").await;
    assert_eq!(repaired.conditions()[0].values(), ["/*"]);
    assert_eq!(World::weights(&repaired), [(green.clone(), 100), (blue.clone(), 0)], "the shift is kept");
    assert_eq!(w.changes(), Vec::<String>::new());

    // A person sends production traffic to a group outside the pair: that is drift, and the
    // manifest's forward comes back.
    let web = w.target_group("web").await;
    let elsewhere = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&web).build();
    w.clients.elbv2.modify_rule().rule_arn(production.rule_arn().unwrap()).actions(elsewhere).send().await.unwrap();
    assert_eq!(w.changes().len(), 1, "{:?}", w.changes());
    w.apply();
    assert_eq!(World::weights(&w.rule(80, "10").await), [(blue.clone(), 1)]);
    assert_eq!(w.changes(), Vec::<String>::new());
}
