//! The AWS-shaped proxy (`tests/awslike/proxy.py`) in front of moto: resources created through it
//! with the AWS SDK read back with the values real AWS returns (`../shared/AWS-FACTS.md`, fact ids
//! in the test names' comments), and each fault kind it injects reaches the SDK as AWS's would.
//! Last, convergence: the example set, and manifests whose AWS defaults depend on protocol, target
//! type, account settings or spelling, applied through the proxy reach an empty plan.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerDefinition, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentStrategy, LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode,
    PlacementStrategy, PlacementStrategyType, PortMapping, ServiceField, SortOrder, ThresholdConfiguration,
    ThresholdType, TransportProtocol,
};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, Matcher, ProtocolEnum, RuleCondition, TargetGroupAttribute, TargetTypeEnum,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{AwsLike, Moto, cli, cli_json, create_network, example_set, json_call};
use serde_json::json;

const ACCOUNT: &str = "123456789012";

struct World {
    _moto: Moto,
    aws: AwsLike,
    ecs: aws_sdk_ecs::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    ec2: aws_sdk_ec2::Client,
}

impl World {
    fn new() -> World {
        Self::with(&[])
    }

    fn with(args: &[&str]) -> World {
        let moto = Moto::start();
        let aws = AwsLike::start_with(&moto, args);
        let config = aws.sdk_config();
        World {
            ecs: aws_sdk_ecs::Client::new(&config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            _moto: moto,
            aws,
        }
    }

    async fn default_vpc(&self) -> (String, Vec<String>) {
        let vpc = self.ec2.describe_vpcs().send().await.unwrap().vpcs.unwrap().remove(0).vpc_id.unwrap();
        let mut subnets: Vec<(String, String)> = self
            .ec2
            .describe_subnets()
            .send()
            .await
            .unwrap()
            .subnets
            .unwrap()
            .into_iter()
            .filter(|s| s.vpc_id.as_deref() == Some(&vpc))
            .map(|s| (s.availability_zone.unwrap(), s.subnet_id.unwrap()))
            .collect();
        subnets.sort();
        subnets.dedup_by(|a, b| a.0 == b.0);
        (vpc, subnets.into_iter().map(|s| s.1).collect())
    }

    async fn security_group(&self, name: &str, vpc: &str) -> String {
        self.ec2
            .create_security_group()
            .group_name(name)
            .description(name)
            .vpc_id(vpc)
            .send()
            .await
            .unwrap()
            .group_id
            .unwrap()
    }

    async fn service(&self, name: &str) -> aws_sdk_ecs::types::Service {
        let out = self
            .ecs
            .describe_services()
            .cluster("main")
            .services(name)
            .include(ServiceField::Tags)
            .send()
            .await
            .unwrap();
        out.services.unwrap().remove(0)
    }

    async fn target_group(&self, arn: &str) -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
        self.elbv2
            .describe_target_groups()
            .target_group_arns(arn)
            .send()
            .await
            .unwrap()
            .target_groups
            .unwrap()
            .remove(0)
    }

    async fn tg_attributes(&self, arn: &str) -> Vec<(String, String)> {
        let out = self.elbv2.describe_target_group_attributes().target_group_arn(arn).send().await.unwrap();
        out.attributes.unwrap().into_iter().map(|a| (a.key.unwrap(), a.value.unwrap())).collect()
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The deployment configuration AWS fills in [F:svc-deploy], with `max`/`min` as given.
fn filled_deployment(max: i32, min: i32, enable: bool, rollback: bool) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .maximum_percent(max)
        .minimum_healthy_percent(min)
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(enable)
                .rollback(rollback)
                .threshold_configuration(
                    ThresholdConfiguration::builder().r#type(ThresholdType::BoundedPercent).value(50).build().unwrap(),
                )
                .reset_on_healthy_task(true)
                .build(),
        )
        .strategy(DeploymentStrategy::Rolling)
        .bake_time_in_minutes(0)
        .build()
}

// ---- ECS -------------------------------------------------------------------------------------

async fn register_task_definitions(w: &World) {
    w.ecs
        .register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("0.25 vCPU")
        .memory("0.5 GB")
        .execution_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"))
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image(format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2"))
                .port_mappings(PortMapping::builder().container_port(3000).build())
                .log_configuration(
                    LogConfiguration::builder()
                        .log_driver(LogDriver::Awslogs)
                        .options("awslogs-group", "/ecs/web")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    w.ecs
        .register_task_definition()
        .family("worker")
        .network_mode(NetworkMode::Bridge)
        .container_definitions(
            ContainerDefinition::builder()
                .name("worker")
                .image("busybox")
                .memory(256)
                .port_mappings(PortMapping::builder().container_port(9090).host_port(0).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// [F:svc-deploy] [F:svc-hcgp] [F:svc-basic] [F:svc-role] [F:svc-azr]: an EC2 bridge-mode service
/// created with a role name and a partial deployment configuration.
#[tokio::test]
async fn an_ec2_service_reads_back_what_aws_keeps_and_fills() {
    let w = World::new();
    w.ecs.create_cluster().cluster_name("main").send().await.unwrap();
    register_task_definitions(&w).await;
    let spread = PlacementStrategy::builder()
        .r#type(PlacementStrategyType::Spread)
        .field("attribute:ecs.availability-zone")
        .build();
    w.ecs
        .create_service()
        .cluster("main")
        .service_name("worker")
        .task_definition("worker")
        .desired_count(2)
        .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
        .role("ecsServiceRole")
        .deployment_configuration(
            DeploymentConfiguration::builder().maximum_percent(200).minimum_healthy_percent(50).build(),
        )
        .placement_strategy(spread.clone())
        .send()
        .await
        .unwrap();

    let s = w.service("worker").await;
    // moto drops deploymentConfiguration and placementStrategy on CreateService; AWS keeps them
    // and fills the rest of the configuration.
    assert_eq!(s.deployment_configuration, Some(filled_deployment(200, 50, false, false)));
    assert_eq!(s.placement_strategy(), [spread]);
    assert_eq!(s.health_check_grace_period_seconds, Some(0));
    assert_eq!(s.network_configuration, None, "a bridge-mode service has no networkConfiguration");
    assert_eq!(s.role_arn.as_deref(), Some(format!("arn:aws:iam::{ACCOUNT}:role/ecsServiceRole").as_str()));
    assert_eq!(s.availability_zone_rebalancing.as_ref().map(|a| a.as_str()), Some("ENABLED"));
    assert_eq!(s.scheduling_strategy.as_ref().map(|x| x.as_str()), Some("REPLICA"));
    assert_eq!(s.deployment_controller.as_ref().map(|c| c.r#type.as_str()), Some("ECS"));
    assert_eq!(s.propagate_tags.as_ref().map(|p| p.as_str()), Some("NONE"));
    assert!(!s.enable_execute_command && !s.enable_ecs_managed_tags);
    assert!(s.placement_constraints.as_ref().is_some_and(|p| p.is_empty()));
    assert!(s.service_registries.as_ref().is_some_and(|p| p.is_empty()));
    assert_eq!(s.resource_management_type.as_ref().map(|r| r.as_str()), Some("CUSTOMER"));
    assert!(s.created_at.is_some() && s.created_by.is_some());
    assert_eq!(
        s.task_definition.as_deref(),
        Some(format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/worker:1").as_str())
    );

    // An update names only what changes: the rest stays as given.
    w.ecs
        .update_service()
        .cluster("main")
        .service("worker")
        .deployment_configuration(DeploymentConfiguration::builder().maximum_percent(150).build())
        .send()
        .await
        .unwrap();
    let s = w.service("worker").await;
    assert_eq!(s.deployment_configuration, Some(filled_deployment(150, 50, false, false)));
    assert!(w.aws.stats()["shaped"]["ecs.DescribeServices"].as_u64().unwrap() >= 2);
}

/// [F:svc-awsvpc] [F:svc-fargate] [F:svc-role] [F:svc-hcgp]: a Fargate awsvpc service.
#[tokio::test]
async fn a_fargate_service_reads_back_like_aws() {
    let w = World::new();
    let (vpc, subnets) = w.default_vpc().await;
    let sg = w.security_group("tasks", &vpc).await;
    w.ecs.create_cluster().cluster_name("main").send().await.unwrap();
    register_task_definitions(&w).await;
    w.ecs
        .create_service()
        .cluster("main")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(1)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .enable_execute_command(true)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .set_subnets(Some(subnets.clone()))
                        .security_groups(&sg)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let s = w.service("web").await;
    let vpc_config = s.network_configuration.as_ref().and_then(|n| n.awsvpc_configuration.as_ref()).unwrap();
    assert_eq!(vpc_config.assign_public_ip, Some(AssignPublicIp::Disabled));
    assert_eq!(vpc_config.security_groups(), [sg]);
    assert_eq!(
        s.role_arn.as_deref(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS").as_str())
    );
    assert_eq!((s.platform_version.as_deref(), s.platform_family.as_deref()), (Some("LATEST"), Some("Linux")));
    let d = &s.deployments()[0];
    assert_eq!((d.platform_version.as_deref(), d.platform_family.as_deref()), (Some("1.4.0"), Some("Linux")));
    assert!(s.enable_execute_command, "moto drops enableExecuteCommand on create; AWS keeps it");
    assert_eq!(s.deployment_configuration, Some(filled_deployment(200, 100, false, false)));
    assert_eq!(s.health_check_grace_period_seconds, Some(0));
}

/// [F:cluster] [F:td-container] [F:td-ports] [F:td-attrs] [F:td-units] [F:list-td]
#[tokio::test]
async fn clusters_and_task_definitions_read_back_like_aws() {
    let w = World::new();
    w.ecs.create_cluster().cluster_name("main").send().await.unwrap();
    w.ecs
        .create_cluster()
        .cluster_name("spot")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(
            CapacityProviderStrategyItem::builder().capacity_provider("FARGATE_SPOT").weight(2).build().unwrap(),
        )
        .send()
        .await
        .unwrap();
    let out = w
        .ecs
        .describe_clusters()
        .clusters("main")
        .clusters("spot")
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .unwrap();
    let clusters = out.clusters.unwrap();
    let main = &clusters[0];
    let settings: Vec<_> = main
        .settings()
        .iter()
        .map(|s| (s.name.clone().unwrap().as_str().to_string(), s.value.clone().unwrap()))
        .collect();
    assert_eq!(settings, pairs(&[("containerInsights", "disabled")]));
    assert_eq!(main.capacity_providers, Some(vec![]));
    assert_eq!(main.default_capacity_provider_strategy, Some(vec![]));
    assert_eq!(main.statistics, Some(vec![]));
    assert_eq!(main.tags, Some(vec![]));
    assert_eq!(clusters[1].default_capacity_provider_strategy()[0].base, 0, "an omitted base reads back 0");

    register_task_definitions(&w).await;
    let td = w.ecs.describe_task_definition().task_definition("web").send().await.unwrap().task_definition.unwrap();
    assert_eq!((td.cpu.as_deref(), td.memory.as_deref()), (Some("256"), Some("512")));
    let c = &td.container_definitions()[0];
    assert_eq!((c.cpu, c.essential), (0, Some(true)));
    assert_eq!(c.port_mappings()[0].protocol, Some(TransportProtocol::Tcp));
    assert_eq!(c.port_mappings()[0].host_port, Some(3000), "awsvpc: hostPort = containerPort");
    assert!(c.environment.as_ref().is_some_and(|e| e.is_empty()));
    assert!(c.mount_points.as_ref().is_some_and(|e| e.is_empty()));
    assert!(c.volumes_from.as_ref().is_some_and(|e| e.is_empty()));
    assert!(c.system_controls.as_ref().is_some_and(|e| e.is_empty()));
    let mut compat: Vec<_> = td.compatibilities().iter().map(|c| c.as_str().to_string()).collect();
    compat.sort();
    assert_eq!(compat, ["EC2", "FARGATE"]);
    let required: Vec<_> = td.requires_attributes().iter().map(|a| a.name.as_str()).collect();
    for want in [
        "ecs.capability.task-eni",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "ecs.capability.execution-role-awslogs",
        "com.amazonaws.ecs.capability.ecr-auth",
        "ecs.capability.execution-role-ecr-pull",
    ] {
        assert!(required.contains(&want), "{want} in {required:?}");
    }
    assert!(td.registered_at.is_some() && td.registered_by.is_some());
    assert!(td.volumes.as_ref().is_some_and(|v| v.is_empty()));

    // ListTaskDefinitions: sort and pages, as AWS.
    w.ecs
        .register_task_definition()
        .family("web")
        .container_definitions(ContainerDefinition::builder().name("web").image("busybox").memory(128).build())
        .send()
        .await
        .unwrap();
    let page =
        w.ecs.list_task_definitions().family_prefix("web").sort(SortOrder::Desc).max_results(1).send().await.unwrap();
    assert_eq!(page.task_definition_arns(), [format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:2")]);
    let next = w
        .ecs
        .list_task_definitions()
        .family_prefix("web")
        .sort(SortOrder::Desc)
        .max_results(1)
        .next_token(page.next_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.task_definition_arns(), [format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1")]);
    assert_eq!(next.next_token, None);
}

// ---- ELBv2 -----------------------------------------------------------------------------------

/// [F:tg] [F:tg-grpc] [F:tg-nlb-http] [F:tg-attrs]
#[tokio::test]
async fn target_groups_read_back_aws_defaults_by_protocol_and_target_type() {
    let w = World::new();
    let (vpc, _) = w.default_vpc().await;
    let create = |name: &str, protocol: ProtocolEnum| {
        w.elbv2
            .create_target_group()
            .name(name)
            .protocol(protocol)
            .port(3000)
            .vpc_id(&vpc)
            .target_type(TargetTypeEnum::Ip)
    };
    let arn = |out: aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupOutput| {
        out.target_groups.unwrap().remove(0).target_group_arn.unwrap()
    };
    let http = arn(create("http", ProtocolEnum::Http).health_check_path("/healthz").send().await.unwrap());
    let grpc = arn(create("grpc", ProtocolEnum::Http).protocol_version("GRPC").send().await.unwrap());
    let tcp = arn(create("tcp", ProtocolEnum::Tcp).send().await.unwrap());
    let tcp_http =
        arn(create("tcp-http", ProtocolEnum::Tcp).health_check_protocol(ProtocolEnum::Http).send().await.unwrap());

    let tg = w.target_group(&http).await;
    assert_eq!(tg.health_check_path.as_deref(), Some("/healthz"), "a value the create request set is kept");
    assert_eq!((tg.health_check_timeout_seconds, tg.health_check_interval_seconds), (Some(5), Some(30)));
    assert_eq!((tg.healthy_threshold_count, tg.unhealthy_threshold_count), (Some(5), Some(2)));
    assert_eq!(tg.matcher, Some(Matcher::builder().http_code("200").build()));
    assert_eq!(tg.protocol_version.as_deref(), Some("HTTP1"));

    let tg = w.target_group(&grpc).await;
    assert_eq!(tg.health_check_path.as_deref(), Some("/AWS.ALB/healthcheck"));
    assert_eq!(tg.matcher, Some(Matcher::builder().grpc_code("12").build()));

    let tg = w.target_group(&tcp).await;
    assert_eq!(tg.health_check_protocol, Some(ProtocolEnum::Tcp));
    assert_eq!(
        (tg.health_check_timeout_seconds, tg.health_check_path.as_deref(), tg.matcher.as_ref()),
        (Some(10), None, None)
    );

    let tg = w.target_group(&tcp_http).await;
    assert_eq!((tg.health_check_timeout_seconds, tg.health_check_path.as_deref()), (Some(6), Some("/")));
    assert_eq!(tg.matcher, Some(Matcher::builder().http_code("200-399").build()));

    // Attributes: AWS's full list, the modified value kept, no LB attribute (waf.*) in it.
    w.elbv2
        .modify_target_group_attributes()
        .target_group_arn(&http)
        .attributes(TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value("30").build())
        .send()
        .await
        .unwrap();
    let attrs = w.tg_attributes(&http).await;
    assert_eq!(
        attrs,
        pairs(&[
            ("deregistration_delay.timeout_seconds", "30"),
            ("stickiness.enabled", "false"),
            ("stickiness.type", "lb_cookie"),
            ("stickiness.lb_cookie.duration_seconds", "86400"),
            ("stickiness.app_cookie.cookie_name", ""),
            ("stickiness.app_cookie.duration_seconds", "86400"),
            ("slow_start.duration_seconds", "0"),
            ("load_balancing.algorithm.type", "round_robin"),
            ("load_balancing.algorithm.anomaly_mitigation", "off"),
            ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
            ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
            ("target_group_health.dns_failover.minimum_healthy_targets.percentage", "off"),
            ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"),
            ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off"),
        ])
    );
    let nlb = w.tg_attributes(&tcp).await;
    assert!(nlb.contains(&("stickiness.type".into(), "source_ip".into())), "{nlb:?}");
    assert!(nlb.contains(&("preserve_client_ip.enabled".into(), "false".into())), "TCP ip targets: {nlb:?}");
    assert!(!nlb.iter().any(|(k, _)| k.starts_with("waf.") || k.starts_with("slow_start")), "{nlb:?}");
}

/// [F:lb] [F:elb-zone] [F:lb-attrs] [F:listener] [F:rules] [F:tg]
#[tokio::test]
async fn load_balancers_listeners_and_rules_read_back_like_aws() {
    let w = World::new();
    let (vpc, subnets) = w.default_vpc().await;
    let sg = w.security_group("alb", &vpc).await;
    let lb = w
        .elbv2
        .create_load_balancer()
        .name("web")
        .set_subnets(Some(subnets[..2].to_vec()))
        .security_groups(&sg)
        .send()
        .await
        .unwrap()
        .load_balancers
        .unwrap()
        .remove(0)
        .load_balancer_arn
        .unwrap();
    let tg = w
        .elbv2
        .create_target_group()
        .name("web")
        .protocol(ProtocolEnum::Http)
        .port(3000)
        .vpc_id(&vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap()
        .target_groups
        .unwrap()
        .remove(0)
        .target_group_arn
        .unwrap();
    let forward = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&tg).build();
    let cert = json_call(w.aws.port, "CertificateManager.RequestCertificate", r#"{"DomainName": "web.example.com"}"#);
    let http = w
        .elbv2
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward.clone())
        .send()
        .await
        .unwrap()
        .listeners
        .unwrap()
        .remove(0)
        .listener_arn
        .unwrap();
    w.elbv2
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(cert["CertificateArn"].as_str().unwrap()).build())
        .default_actions(forward.clone())
        .send()
        .await
        .unwrap();
    w.elbv2
        .create_rule()
        .listener_arn(&http)
        .priority(10)
        .conditions(RuleCondition::builder().field("path-pattern").values("/api/*").build())
        .actions(forward)
        .send()
        .await
        .unwrap();

    let got = w
        .elbv2
        .describe_load_balancers()
        .load_balancer_arns(&lb)
        .send()
        .await
        .unwrap()
        .load_balancers
        .unwrap()
        .remove(0);
    assert_eq!(got.canonical_hosted_zone_id.as_deref(), Some("Z35SXDOTRQ7X7K"));
    assert_eq!(got.ip_address_type.as_ref().map(|t| t.as_str()), Some("ipv4"));
    assert!(got.availability_zones().iter().all(|z| z.load_balancer_addresses.as_ref().is_some_and(|a| a.is_empty())));

    w.elbv2
        .modify_load_balancer_attributes()
        .load_balancer_arn(&lb)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                .key("idle_timeout.timeout_seconds")
                .value("120")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let attrs: Vec<(String, String)> = w
        .elbv2
        .describe_load_balancer_attributes()
        .load_balancer_arn(&lb)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .into_iter()
        .map(|a| (a.key.unwrap(), a.value.unwrap()))
        .collect();
    assert_eq!(attrs.len(), 22, "{attrs:?}");
    assert!(attrs.contains(&("load_balancing.cross_zone.enabled".into(), "true".into())), "ALB default: {attrs:?}");
    assert!(attrs.contains(&("idle_timeout.timeout_seconds".into(), "120".into())), "modified value kept: {attrs:?}");
    assert!(attrs.contains(&("routing.http2.enabled".into(), "true".into())), "{attrs:?}");

    let listeners = w.elbv2.describe_listeners().load_balancer_arn(&lb).send().await.unwrap().listeners.unwrap();
    for l in &listeners {
        let action = &l.default_actions()[0];
        assert_eq!(action.order, Some(1));
        let fc = action.forward_config.as_ref().expect("forwardConfig beside targetGroupArn");
        assert_eq!(fc.target_groups()[0].target_group_arn.as_deref(), Some(tg.as_str()));
        assert_eq!(fc.target_groups()[0].weight, Some(1));
        assert_eq!(fc.target_group_stickiness_config.as_ref().and_then(|s| s.enabled), Some(false));
        match l.protocol {
            Some(ProtocolEnum::Http) => {
                assert_eq!(l.ssl_policy, None, "HTTP listeners have no SslPolicy");
                assert_eq!(l.mutual_authentication, None);
            }
            _ => {
                assert_eq!(l.ssl_policy.as_deref(), Some("ELBSecurityPolicy-2016-08"));
                assert_eq!(l.mutual_authentication.as_ref().and_then(|m| m.mode.as_deref()), Some("off"));
            }
        }
    }

    let rules = w.elbv2.describe_rules().listener_arn(&http).send().await.unwrap().rules.unwrap();
    let rule = rules.iter().find(|r| r.priority.as_deref() == Some("10")).unwrap();
    let cond = &rule.conditions()[0];
    assert_eq!(cond.values(), ["/api/*"]);
    assert_eq!(cond.path_pattern_config.as_ref().map(|p| p.values()), Some(&["/api/*".to_string()][..]));
    assert_eq!(rule.transforms, Some(vec![]));
    let default = rules.iter().find(|r| r.is_default == Some(true)).unwrap();
    assert_eq!((default.priority.as_deref(), default.conditions()), (Some("default"), &[][..]));

    // moto lists the load balancer once per listener and rule forwarding to the group; AWS once.
    assert_eq!(w.target_group(&tg).await.load_balancer_arns(), [lb]);
}

// ---- EC2 -------------------------------------------------------------------------------------

/// [F:sg]
#[tokio::test]
async fn security_groups_read_back_like_aws() {
    let w = World::new();
    let (vpc, _) = w.default_vpc().await;
    let alb = w.security_group("alb", &vpc).await;
    let tasks = w.security_group("tasks", &vpc).await;
    w.ec2
        .authorize_security_group_ingress()
        .group_id(&tasks)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3000)
                .to_port(3000)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&alb).description("from the ALB").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let sg =
        w.ec2.describe_security_groups().group_ids(&tasks).send().await.unwrap().security_groups.unwrap().remove(0);
    let egress = &sg.ip_permissions_egress()[0];
    assert_eq!(egress.ip_protocol.as_deref(), Some("-1"));
    assert_eq!((egress.from_port, egress.to_port), (None, None), "all-protocol egress has no ports");
    assert_eq!(egress.ip_ranges()[0].cidr_ip.as_deref(), Some("0.0.0.0/0"));
    assert!(egress.user_id_group_pairs.as_ref().is_some_and(|p| p.is_empty()));
    let pair = &sg.ip_permissions()[0].user_id_group_pairs()[0];
    assert_eq!((pair.user_id.as_deref(), pair.group_id.as_deref()), (Some(ACCOUNT), Some(alb.as_str())));
    assert_eq!(pair.description.as_deref(), Some("from the ALB"));
}

// ---- faults ----------------------------------------------------------------------------------

fn status<E, R>(err: &aws_sdk_ecs::error::SdkError<E, R>) -> Option<u16>
where
    R: HasStatus + std::fmt::Debug,
{
    err.raw_response().map(|r| r.status_code())
}

trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Throttling in each protocol's real shape: ECS JSON ThrottlingException 400, ELBv2 query XML
/// Throttling 400, EC2 RequestLimitExceeded 503 (sources in proxy.py `error_response`).
#[tokio::test]
async fn throttling_reaches_the_sdk_in_each_protocols_shape() {
    let w = World::new();
    w.aws.set_faults(json!({"faults": [
        {"kind": "throttle", "ops": ["ecs.ListClusters", "elbv2.DescribeLoadBalancers", "ec2.DescribeVpcs"]}
    ]}));
    let e = w.ecs.list_clusters().send().await.unwrap_err();
    assert_eq!((e.code(), e.message(), status(&e)), (Some("ThrottlingException"), Some("Rate exceeded"), Some(400)));
    let e = w.elbv2.describe_load_balancers().send().await.unwrap_err();
    assert_eq!((e.code(), e.message(), status(&e)), (Some("Throttling"), Some("Rate exceeded"), Some(400)));
    let e = w.ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!((e.code(), status(&e)), (Some("RequestLimitExceeded"), Some(503)));
    let stats = w.aws.stats();
    assert_eq!(stats["faults"]["ecs.ListClusters"]["throttle"], 1);
    assert_eq!(stats["faults_total"], 3);
    // Other operations pass.
    w.ecs.list_task_definition_families().send().await.unwrap();
}

/// 500 and 503 answers, each service's server error code.
#[tokio::test]
async fn server_errors_reach_the_sdk() {
    let w = World::new();
    w.aws.set_faults(json!({"faults": [
        {"kind": "error500", "ops": ["ecs.ListClusters"]},
        {"kind": "error503", "ops": ["elbv2.*"]},
    ]}));
    let e = w.ecs.list_clusters().send().await.unwrap_err();
    assert_eq!((e.code(), status(&e)), (Some("ServerException"), Some(500)));
    let e = w.elbv2.describe_target_groups().send().await.unwrap_err();
    assert_eq!((e.code(), status(&e)), (Some("ServiceUnavailable"), Some(503)));
}

/// A connection reset: the request never reaches moto.
#[tokio::test]
async fn a_connection_reset_is_a_dispatch_failure_and_nothing_is_written() {
    let w = World::new();
    w.aws.set_faults(json!({"faults": [{"kind": "reset", "ops": ["CreateCluster"], "count": 1}]}));
    let e = w.ecs.create_cluster().cluster_name("lost").send().await.unwrap_err();
    assert!(matches!(e, aws_sdk_ecs::error::SdkError::DispatchFailure(_)), "{e:?}");
    assert_eq!(w.ecs.list_clusters().send().await.unwrap().cluster_arns(), [] as [String; 0]);
    assert_eq!(w.aws.stats()["faults"]["ecs.CreateCluster"]["reset"], 1);
}

/// A lost reply: moto did the work, the caller never hears of it.
#[tokio::test]
async fn a_lost_reply_fails_the_call_but_the_write_took_effect() {
    let w = World::new();
    w.aws.set_faults(json!({"faults": [{"kind": "lost", "ops": ["ecs.CreateCluster"], "count": 1}]}));
    let e = w.ecs.create_cluster().cluster_name("made").send().await.unwrap_err();
    assert!(
        matches!(e, aws_sdk_ecs::error::SdkError::DispatchFailure(_) | aws_sdk_ecs::error::SdkError::ResponseError(_)),
        "{e:?}"
    );
    assert_eq!(
        w.ecs.list_clusters().send().await.unwrap().cluster_arns(),
        [format!("arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/made")]
    );
    assert_eq!(w.aws.stats()["faults"]["ecs.CreateCluster"]["lost"], 1);
}

/// A stall: the answer comes after N seconds; a client timeout gives up first.
#[tokio::test]
async fn a_stall_holds_the_answer() {
    let w = World::new();
    w.aws.set_faults(json!({"faults": [{"kind": "stall", "ops": ["ecs.ListClusters"], "seconds": 1.5, "count": 2}]}));
    let started = Instant::now();
    w.ecs.list_clusters().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500), "{:?}", started.elapsed());

    let impatient = w
        .aws
        .sdk_config()
        .to_builder()
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_millis(300)).build(),
        )
        .build();
    let e = aws_sdk_ecs::Client::new(&impatient).list_clusters().send().await.unwrap_err();
    assert!(matches!(e, aws_sdk_ecs::error::SdkError::TimeoutError(_)), "{e:?}");
    assert_eq!(w.aws.stats()["faults"]["ecs.ListClusters"]["stall"], 2);
}

/// A rate with a seed fires on the same requests each run; flags configure a run from the start.
#[tokio::test]
async fn faults_by_rate_repeat_with_the_seed_and_can_be_given_as_flags() {
    let w = World::with(&["--seed", "7", "--fault", "throttle:ecs.ListClusters:rate=0.5"]);
    let mut runs = Vec::new();
    for _ in 0..2 {
        let mut pattern = Vec::new();
        for _ in 0..16 {
            pattern.push(w.ecs.list_clusters().send().await.is_err());
        }
        runs.push(pattern);
        w.aws
            .set_faults(json!({"seed": 7, "faults": [{"kind": "throttle", "ops": ["ecs.ListClusters"], "rate": 0.5}]}));
    }
    assert_eq!(runs[0], runs[1], "same seed, same requests throttled");
    let throttled = runs[0].iter().filter(|t| **t).count();
    assert!((3..=13).contains(&throttled), "about half of 16: {throttled}");
    let stats = w.aws.stats();
    assert_eq!(stats["requests"]["ecs.ListClusters"], 32);
    assert_eq!(stats["faults"]["ecs.ListClusters"]["throttle"].as_u64().unwrap() as usize, 2 * throttled);
}

// ---- convergence -----------------------------------------------------------------------------

/// An emulator with the proxy in front, and the example set's network made through it.
async fn shaped_account() -> (Moto, AwsLike, ecs_reconciler::aws::Clients, common::Network) {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = ecs_reconciler::aws::Clients::new(&aws.sdk_config());
    let network = create_network(&aws, &clients.ec2).await;
    (moto, aws, clients, network)
}

/// `apply` the set, then `plan` it: the plan's exit code (`--detailed-exitcode`) and its text,
/// printed, with each field that does not converge as `Kind/name path: live -> desired`.
fn apply_then_plan(aws: &AwsLike, desired: &str) -> (i32, String) {
    let (code, applied) = cli_json(aws, &["apply", "--desired", desired]);
    assert_eq!(code, 0, "apply through the proxy failed: {applied:#}");
    assert_eq!(applied["summary"]["failed"], 0, "{applied:#}");
    let (_, text, _) = cli(aws, &["plan", "--desired", desired]);
    println!("plan through the AWS-shaped proxy:\n{text}");
    let (code, plan) = cli_json(aws, &["plan", "--desired", desired, "--detailed-exitcode"]);
    let mut drift = Vec::new();
    for step in plan["plan"]["steps"].as_array().unwrap().iter().filter(|s| s["op"] != "no-op") {
        for c in step["changes"].as_array().into_iter().flatten() {
            let side = |k: &str| c.get(k).cloned().unwrap_or_default();
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            let (kind, name, path) = (text(&step["kind"]), text(&step["name"]), text(&c["path"]));
            drift.push(format!("{kind}/{name} {path}: {} -> {}", side("before"), side("after")));
        }
    }
    println!("fields that do not converge:\n{}", drift.join("\n"));
    println!("reads the proxy reshaped: {}", aws.stats()["shaped"]);
    (code, text)
}

/// The example set applied through the proxy converges: `plan` shows no changes. On AWS the first
/// apply converges; this is the same claim against AWS-shaped reads.
#[tokio::test]
async fn the_example_set_converges_through_the_aws_shaped_proxy() {
    let (_moto, aws, _, network) = shaped_account().await;
    let dir = example_set("shop", &network);
    let (code, text) = apply_then_plan(&aws, &dir.path().join("shop").display().to_string());
    assert!(
        aws.stats()["shaped"]["ecs.DescribeServices"].as_u64() > Some(0),
        "the plan read services through the proxy"
    );
    assert_eq!(code, 0, "plan after one apply through the AWS-shaped proxy is not empty:\n{text}");
}

/// Manifests that declare fields whose AWS defaults depend on protocol, protocol version, target
/// type, account settings or spelling ([F:tg-grpc] [F:tg-nlb-http] [F:tg] alb and GENEVE targets,
/// [F:cluster-ci] an account default for Container Insights, [F:svc-role] a role by name), applied
/// through the proxy: `plan` must show no changes.
#[tokio::test]
async fn manifests_with_protocol_dependent_defaults_converge_through_the_aws_shaped_proxy() {
    let (_moto, aws, clients, _) = shaped_account().await;
    let insights = aws_sdk_ecs::types::SettingName::ContainerInsights;
    clients.ecs.put_account_setting_default().name(insights).value("enabled").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let head = "apiVersion: ecs-reconciler/v1\n";
    let target_group = |name: &str, spec: &str| {
        format!("{head}kind: TargetGroup\nmetadata:\n  name: {name}\nspec:\n  vpc: main\n{spec}")
    };
    let manifests = [
        format!("{head}kind: Cluster\nmetadata:\n  name: main\nspec: {{}}\n"),
        target_group("grpc", "  protocol: HTTP\n  protocolVersion: GRPC\n  port: 50051\n  targetType: ip\n"),
        target_group(
            "nlb-http",
            "  protocol: TCP\n  port: 3000\n  targetType: ip\n  healthCheck:\n    protocol: HTTP\n",
        ),
        target_group("to-alb", "  protocol: TCP\n  port: 80\n  targetType: alb\n"),
        target_group("geneve", "  protocol: GENEVE\n  port: 6081\n  targetType: ip\n"),
        format!(
            "{head}kind: TaskDefinition\nmetadata:\n  name: worker\nspec:\n  requiresCompatibilities: [EC2]\n  networkMode: bridge\n  \
             containerDefinitions:\n    - name: worker\n      image: busybox\n      memory: 128\n"
        ),
        format!(
            "{head}kind: Service\nmetadata:\n  name: worker\nspec:\n  cluster: main\n  taskDefinition: worker\n  desiredCount: 1\n  \
             launchType: EC2\n  role: ecsServiceRole\n"
        ),
    ];
    let set = dir.path().join("variants");
    std::fs::create_dir(&set).unwrap();
    std::fs::write(set.join("set.yaml"), manifests.join("---\n")).unwrap();
    let (code, text) = apply_then_plan(&aws, &set.display().to_string());
    assert_eq!(code, 0, "not converged:\n{text}");
}

/// The valid fixture corpus (pasted `describe-task-definition` output, ...) applied through the
/// proxy converges too.
#[tokio::test]
async fn the_valid_fixtures_converge_through_the_aws_shaped_proxy() {
    let (_moto, aws, _, _) = shaped_account().await;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid");
    let (code, text) = apply_then_plan(&aws, &src.display().to_string());
    assert_eq!(code, 0, "not converged:\n{text}");
}
