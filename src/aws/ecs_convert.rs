//! Conversions between the manifest types and the ECS SDK types, both ways.
//!
//! Manifest → SDK: request parts for RegisterTaskDefinition, CreateService/UpdateService and
//! CreateCluster/UpdateCluster, setting only what the manifest sets. SDK → manifest: the live
//! state of a described task definition, service or cluster as JSON in the manifest's shape
//! (camelCase, our serde field names), leaving out read-only fields and whatever AWS returns as
//! absent. Everything here is pure: no AWS calls.

use std::collections::BTreeMap;

use aws_sdk_ecs::error::BuildError;
use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types as ecs;
use serde_json::Value;

use super::{AwsError, Ids};
use crate::manifest::Kind;
use crate::manifest::spec::NameValue;
use crate::manifest::spec::cluster as cl;
use crate::manifest::spec::service as sv;
use crate::manifest::spec::task_definition as td;

// ---- small tools -------------------------------------------------------------------------------

/// An SDK builder error as an [`AwsError`] about `resource`.
fn built(resource: &str) -> impl FnOnce(BuildError) -> AwsError + '_ {
    move |err| AwsError::unresolved(resource, err.to_string())
}

/// A converted list, or `None` (leave unset) for an empty one.
fn each<T, U>(v: &[T], f: impl FnMut(&T) -> U) -> Option<Vec<U>> {
    (!v.is_empty()).then(|| v.iter().map(f).collect())
}

// ---- task definitions: manifest → SDK ----------------------------------------------------------

/// A manifest value as the SDK structure of the same name, through the SDK's codec: the
/// manifest's field names are the API's.
fn sdk<T, S: serde::Serialize>(
    resource: &str,
    value: &S,
    deserialize: fn(
        &mut dyn aws_smithy_schema::serde::ShapeDeserializer,
    ) -> Result<T, aws_smithy_schema::serde::SerdeError>,
) -> Result<T, AwsError> {
    let json = serde_json::to_value(value).map_err(|e| AwsError::unresolved(resource, e.to_string()))?;
    super::sdk_json::from_json(&json, deserialize).map_err(|e| AwsError::unresolved(resource, e))
}

/// One container of a manifest as an SDK container definition, setting only what it sets.
pub fn container_definition(c: &td::ContainerDefinition) -> Result<ecs::ContainerDefinition, AwsError> {
    let resource = format!("container {}", c.name);
    if let Some(cpu) = c.cpu.filter(|cpu| i32::try_from(*cpu).is_err()) {
        return Err(AwsError::unresolved(&resource, format!("cpu {cpu} is out of range")));
    }
    sdk(&resource, c, ecs::ContainerDefinition::deserialize)
}

/// A RegisterTaskDefinition request for `family` with every field of the spec and `tags`; the
/// caller sends it.
pub fn register_task_definition(
    client: &aws_sdk_ecs::Client,
    family: &str,
    spec: &td::TaskDefinitionSpec,
    tags: &BTreeMap<String, String>,
) -> Result<RegisterTaskDefinitionFluentBuilder, AwsError> {
    let resource = format!("{}/{family}", Kind::TaskDefinition);
    let containers = spec.container_definitions.iter().map(container_definition).collect::<Result<Vec<_>, _>>()?;
    let volumes = (!spec.volumes.is_empty())
        .then(|| {
            spec.volumes.iter().map(|v| sdk(&resource, v, ecs::Volume::deserialize)).collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let proxy = spec
        .proxy_configuration
        .as_ref()
        .map(|p| sdk(&resource, p, ecs::ProxyConfiguration::deserialize))
        .transpose()?;
    Ok(client
        .register_task_definition()
        .family(family)
        .set_task_role_arn(spec.task_role_arn.clone())
        .set_execution_role_arn(spec.execution_role_arn.clone())
        .set_network_mode(spec.network_mode.as_deref().map(ecs::NetworkMode::from))
        .set_container_definitions(Some(containers))
        .set_volumes(volumes)
        .set_placement_constraints(each(&spec.placement_constraints, |p| {
            ecs::TaskDefinitionPlacementConstraint::builder()
                .set_type(p.r#type.as_deref().map(ecs::TaskDefinitionPlacementConstraintType::from))
                .set_expression(p.expression.clone())
                .build()
        }))
        .set_requires_compatibilities(each(&spec.requires_compatibilities, |c| ecs::Compatibility::from(c.as_str())))
        .set_cpu(spec.cpu.as_ref().map(|n| n.as_str().to_string()))
        .set_memory(spec.memory.as_ref().map(|n| n.as_str().to_string()))
        .set_tags((!tags.is_empty()).then(|| self::tags(tags)))
        .set_pid_mode(spec.pid_mode.as_deref().map(ecs::PidMode::from))
        .set_ipc_mode(spec.ipc_mode.as_deref().map(ecs::IpcMode::from))
        .set_proxy_configuration(proxy)
        .set_ephemeral_storage(
            spec.ephemeral_storage
                .as_ref()
                .map(|e| ecs::EphemeralStorage::builder().size_in_gib(e.size_in_gib).build()),
        )
        .set_runtime_platform(spec.runtime_platform.as_ref().map(|r| {
            ecs::RuntimePlatform::builder()
                .set_cpu_architecture(r.cpu_architecture.as_deref().map(ecs::CpuArchitecture::from))
                .set_operating_system_family(r.operating_system_family.as_deref().map(ecs::OsFamily::from))
                .build()
        }))
        .set_enable_fault_injection(spec.enable_fault_injection))
}

// ---- SDK → manifest: the SDK's schema-based codec ----------------------------------------------

/// A registered revision in the manifest's shape, without `family` and the read-only fields
/// (ARN, revision, status, ...).
pub fn task_definition_json(t: &ecs::TaskDefinition) -> Value {
    super::sdk_json::manifest_json(Kind::TaskDefinition, t, &[])
}

/// A described service in the manifest's shape (`clusterArn` → `cluster`, `roleArn` → `role`).
pub fn service_json(s: &ecs::Service) -> Value {
    super::sdk_json::manifest_json(Kind::Service, s, &[("clusterArn", "cluster"), ("roleArn", "role")])
}

/// A described cluster in the manifest's shape.
pub fn cluster_json(c: &ecs::Cluster) -> Value {
    super::sdk_json::manifest_json(Kind::Cluster, c, &[])
}

// ---- services and clusters: manifest → SDK -----------------------------------------------------

/// The service's load balancers, target groups named in the set resolved to their ARNs.
pub fn load_balancers(spec: &sv::ServiceSpec, ids: &Ids) -> Result<Vec<ecs::LoadBalancer>, AwsError> {
    spec.load_balancers
        .iter()
        .map(|lb| {
            let target_group_arn = match &lb.target_group {
                Some(name) => Some(ids.resolve(Kind::TargetGroup, name)?),
                None => lb.target_group_arn.clone(),
            };
            Ok(ecs::LoadBalancer::builder()
                .set_target_group_arn(target_group_arn)
                .set_load_balancer_name(lb.load_balancer_name.clone())
                .set_container_name(lb.container_name.clone())
                .set_container_port(lb.container_port)
                .set_advanced_configuration(
                    lb.advanced_configuration.as_ref().map(|a| advanced_configuration(a, ids)).transpose()?,
                )
                .build())
        })
        .collect()
}

/// A blue/green pair's alternate target group and listener rules, resolved to their ARNs.
fn advanced_configuration(a: &sv::AdvancedConfiguration, ids: &Ids) -> Result<ecs::AdvancedConfiguration, AwsError> {
    let alternate = match &a.alternate_target_group {
        Some(name) => Some(ids.resolve(Kind::TargetGroup, name)?),
        None => a.alternate_target_group_arn.clone(),
    };
    Ok(ecs::AdvancedConfiguration::builder()
        .set_alternate_target_group_arn(alternate)
        .production_listener_rule(listener_rule(&a.production_listener_rule, ids)?)
        .set_test_listener_rule(a.test_listener_rule.as_ref().map(|r| listener_rule(r, ids)).transpose()?)
        .role_arn(&a.role_arn)
        .build())
}

/// A listener rule (or listener) as its ARN: given, or the part of a load balancer of the set.
fn listener_rule(rule: &sv::ListenerRule, ids: &Ids) -> Result<String, AwsError> {
    match rule {
        sv::ListenerRule::Arn(arn) => Ok(arn.clone()),
        sv::ListenerRule::In(r) => ids.part(Kind::LoadBalancer, &r.load_balancer, &r.part()).ok_or_else(|| {
            AwsError::unresolved(
                format!("{}/{}", Kind::LoadBalancer, r.load_balancer),
                format!("has no {} yet", r.part().replace(':', " ")),
            )
        }),
    }
}

/// The service's awsvpc configuration, subnet Name tags and security groups named in the set
/// resolved to IDs.
pub fn network_configuration(spec: &sv::ServiceSpec, ids: &Ids) -> Result<Option<ecs::NetworkConfiguration>, AwsError> {
    let Some(network) = &spec.network_configuration else {
        return Ok(None);
    };
    let awsvpc = match &network.awsvpc_configuration {
        None => None,
        Some(a) => {
            let subnets = a.subnets.iter().map(|s| ids.subnet(s)).collect::<Result<Vec<_>, _>>()?;
            let security_groups =
                a.security_groups.iter().map(|g| ids.resolve(Kind::SecurityGroup, g)).collect::<Result<Vec<_>, _>>()?;
            Some(
                ecs::AwsVpcConfiguration::builder()
                    .set_subnets(Some(subnets))
                    .set_security_groups((!security_groups.is_empty()).then_some(security_groups))
                    .set_assign_public_ip(a.assign_public_ip.as_deref().map(ecs::AssignPublicIp::from))
                    .build()
                    .map_err(built("networkConfiguration.awsvpcConfiguration"))?,
            )
        }
    };
    Ok(Some(ecs::NetworkConfiguration::builder().set_awsvpc_configuration(awsvpc).build()))
}

pub fn deployment_configuration(d: &sv::DeploymentConfiguration) -> ecs::DeploymentConfiguration {
    ecs::DeploymentConfiguration::builder()
        .set_deployment_circuit_breaker(
            d.deployment_circuit_breaker
                .as_ref()
                .map(|b| ecs::DeploymentCircuitBreaker::builder().enable(b.enable).rollback(b.rollback).build()),
        )
        .set_maximum_percent(d.maximum_percent)
        .set_minimum_healthy_percent(d.minimum_healthy_percent)
        .set_alarms(d.alarms.as_ref().map(|a| {
            ecs::DeploymentAlarms::builder()
                .set_alarm_names(Some(a.alarm_names.clone()))
                .enable(a.enable)
                .rollback(a.rollback)
                .build()
                .expect("DeploymentAlarms: all three required fields are set")
        }))
        .set_strategy(d.strategy.as_deref().map(ecs::DeploymentStrategy::from))
        .set_bake_time_in_minutes(d.bake_time_in_minutes)
        // Sent as a list whenever the strategy shifts traffic, so that removing the last hook
        // from the manifest clears it: an absent list is "leave as is" to UpdateService.
        .set_lifecycle_hooks(
            (!d.lifecycle_hooks.is_empty() || shifts_traffic(d.strategy.as_deref()))
                .then(|| d.lifecycle_hooks.iter().map(lifecycle_hook).collect()),
        )
        .set_linear_configuration(d.linear_configuration.as_ref().map(|l| {
            ecs::LinearConfiguration::builder()
                .set_step_percent(l.step_percent)
                .set_step_bake_time_in_minutes(l.step_bake_time_in_minutes)
                .build()
        }))
        .set_canary_configuration(d.canary_configuration.as_ref().map(|c| {
            ecs::CanaryConfiguration::builder()
                .set_canary_percent(c.canary_percent)
                .set_canary_bake_time_in_minutes(c.canary_bake_time_in_minutes)
                .build()
        }))
        .build()
}

/// The strategies that move traffic between a blue/green pair (everything but `ROLLING`).
pub fn shifts_traffic(strategy: Option<&str>) -> bool {
    matches!(strategy, Some("BLUE_GREEN" | "LINEAR" | "CANARY"))
}

fn lifecycle_hook(h: &sv::LifecycleHook) -> ecs::DeploymentLifecycleHook {
    ecs::DeploymentLifecycleHook::builder()
        .set_target_type(h.target_type.as_deref().map(ecs::DeploymentLifecycleHookTargetType::from))
        .set_hook_target_arn(h.hook_target_arn.clone())
        .set_role_arn(h.role_arn.clone())
        .set_lifecycle_stages(Some(
            h.lifecycle_stages.iter().map(|s| ecs::DeploymentLifecycleHookStage::from(s.as_str())).collect(),
        ))
        .set_hook_details(h.hook_details.as_ref().map(super::sdk_json::document))
        .set_timeout_configuration(h.timeout_configuration.as_ref().map(|t| {
            ecs::DeploymentLifecycleHookTimeoutConfiguration::builder()
                .set_timeout_in_minutes(t.timeout_in_minutes)
                .set_action(t.action.as_deref().map(ecs::DeploymentLifecycleHookAction::from))
                .build()
        }))
        .build()
}

pub fn capacity_provider_strategy(
    items: &[cl::CapacityProviderStrategyItem],
) -> Result<Vec<ecs::CapacityProviderStrategyItem>, AwsError> {
    items
        .iter()
        .map(|i| {
            ecs::CapacityProviderStrategyItem::builder()
                .capacity_provider(&i.capacity_provider)
                .set_weight(i.weight)
                .set_base(i.base)
                .build()
                .map_err(built(&format!("capacityProviderStrategy {}", i.capacity_provider)))
        })
        .collect()
}

/// Service placement constraints (`memberOf`, `distinctInstance`).
pub fn placement_constraints(items: &[td::PlacementConstraint]) -> Vec<ecs::PlacementConstraint> {
    items
        .iter()
        .map(|p| {
            ecs::PlacementConstraint::builder()
                .set_type(p.r#type.as_deref().map(ecs::PlacementConstraintType::from))
                .set_expression(p.expression.clone())
                .build()
        })
        .collect()
}

pub fn placement_strategy(items: &[sv::PlacementStrategy]) -> Vec<ecs::PlacementStrategy> {
    items
        .iter()
        .map(|p| {
            ecs::PlacementStrategy::builder()
                .set_type(p.r#type.as_deref().map(ecs::PlacementStrategyType::from))
                .set_field(p.field.clone())
                .build()
        })
        .collect()
}

pub fn service_registries(items: &[sv::ServiceRegistry]) -> Vec<ecs::ServiceRegistry> {
    items
        .iter()
        .map(|r| {
            ecs::ServiceRegistry::builder()
                .set_registry_arn(r.registry_arn.clone())
                .set_port(r.port)
                .set_container_name(r.container_name.clone())
                .set_container_port(r.container_port)
                .build()
        })
        .collect()
}

pub fn deployment_controller(d: &sv::DeploymentController) -> Result<ecs::DeploymentController, AwsError> {
    ecs::DeploymentController::builder()
        .r#type(ecs::DeploymentControllerType::from(d.r#type.as_str()))
        .build()
        .map_err(built("deploymentController"))
}

pub fn cluster_settings(settings: &[NameValue]) -> Vec<ecs::ClusterSetting> {
    settings
        .iter()
        .map(|s| {
            ecs::ClusterSetting::builder()
                .name(ecs::ClusterSettingName::from(s.name.as_str()))
                .set_value(s.value.clone())
                .build()
        })
        .collect()
}

pub fn cluster_configuration(c: &cl::ClusterConfiguration) -> ecs::ClusterConfiguration {
    ecs::ClusterConfiguration::builder()
        .set_execute_command_configuration(c.execute_command_configuration.as_ref().map(|e| {
            ecs::ExecuteCommandConfiguration::builder()
                .set_kms_key_id(e.kms_key_id.clone())
                .set_logging(e.logging.as_deref().map(ecs::ExecuteCommandLogging::from))
                .set_log_configuration(e.log_configuration.as_ref().map(|l| {
                    ecs::ExecuteCommandLogConfiguration::builder()
                        .set_cloud_watch_log_group_name(l.cloud_watch_log_group_name.clone())
                        .set_cloud_watch_encryption_enabled(l.cloud_watch_encryption_enabled)
                        .set_s3_bucket_name(l.s3_bucket_name.clone())
                        .set_s3_encryption_enabled(l.s3_encryption_enabled)
                        .set_s3_key_prefix(l.s3_key_prefix.clone())
                        .build()
                }))
                .build()
        }))
        .set_managed_storage_configuration(c.managed_storage_configuration.as_ref().map(|m| {
            ecs::ManagedStorageConfiguration::builder()
                .set_kms_key_id(m.kms_key_id.clone())
                .set_fargate_ephemeral_storage_kms_key_id(m.fargate_ephemeral_storage_kms_key_id.clone())
                .build()
        }))
        .build()
}

/// The cluster's default Service Connect namespace, for CreateCluster/UpdateCluster.
pub fn service_connect_defaults(
    d: Option<&cl::ServiceConnectDefaults>,
) -> Result<Option<ecs::ClusterServiceConnectDefaultsRequest>, AwsError> {
    d.map(|d| {
        ecs::ClusterServiceConnectDefaultsRequest::builder()
            .namespace(&d.namespace)
            .build()
            .map_err(built("serviceConnectDefaults"))
    })
    .transpose()
}

pub fn tags(map: &BTreeMap<String, String>) -> Vec<ecs::Tag> {
    map.iter().map(|(k, v)| ecs::Tag::builder().key(k).value(v).build()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::spec::TaskDefinitionSpec;
    use serde_json::json;

    fn manifest() -> Value {
        json!({
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "taskRoleArn": "arn:aws:iam::123456789012:role/web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "ephemeralStorage": {"sizeInGiB": 30},
            "volumes": [{"name": "scratch", "host": {}}],
            "containerDefinitions": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "cpu": 128,
                    "memory": 256,
                    "essential": true,
                    "portMappings": [
                        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp", "name": "http", "appProtocol": "http"}
                    ],
                    "environment": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "PORT", "value": "8080"}
                    ],
                    "secrets": [
                        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"}
                    ],
                    "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp/scratch", "readOnly": false}],
                    "dependsOn": [{"containerName": "log-router", "condition": "START"}],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": "/ecs/web",
                            "awslogs-region": "eu-west-1",
                            "awslogs-stream-prefix": "web"
                        }
                    },
                    "healthCheck": {
                        "command": ["CMD-SHELL", "curl -f http://localhost:8080/ || exit 1"],
                        "interval": 30,
                        "retries": 3
                    },
                    "linuxParameters": {"initProcessEnabled": true},
                    "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
                    "dockerLabels": {"team": "web"},
                    "readonlyRootFilesystem": true,
                    "stopTimeout": 30,
                    "user": "1000:1000"
                },
                {
                    "name": "log-router",
                    "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
                    "cpu": 0,
                    "memoryReservation": 50,
                    "essential": false,
                    "portMappings": [{"containerPort": 2020, "protocol": "udp"}],
                    "environment": [{"name": "FLB_LOG_LEVEL", "value": "warn"}],
                    "secrets": [{"name": "TOKEN", "valueFrom": "/web/token"}],
                    "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
                    "logConfiguration": {
                        "logDriver": "awsfirelens",
                        "options": {"Name": "cloudwatch"},
                        "secretOptions": [{"name": "apikey", "valueFrom": "/web/apikey"}]
                    },
                    "entryPoint": ["/entrypoint.sh"],
                    "command": ["--verbose"],
                    "workingDirectory": "/fluent-bit"
                }
            ]
        })
    }

    #[test]
    fn task_definition_round_trips_through_the_sdk_types() {
        let manifest = manifest();
        let spec: TaskDefinitionSpec = serde_json::from_value(manifest.clone()).unwrap();
        let containers =
            spec.container_definitions.iter().map(container_definition).collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(containers[0].cpu, 128);
        assert_eq!(containers[0].log_configuration.as_ref().unwrap().log_driver, ecs::LogDriver::Awslogs);
        assert!(containers[1].links.is_none(), "empty lists stay unset");
        let volumes = Some(
            spec.volumes.iter().map(|v| sdk("t", v, ecs::Volume::deserialize)).collect::<Result<Vec<_>, _>>().unwrap(),
        );
        let td = ecs::TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3")
            .family("web")
            .revision(3)
            .status(ecs::TaskDefinitionStatus::Active)
            .compatibilities(ecs::Compatibility::Ec2)
            .compatibilities(ecs::Compatibility::Fargate)
            .set_container_definitions(Some(containers))
            .set_volumes(volumes)
            .execution_role_arn("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
            .task_role_arn("arn:aws:iam::123456789012:role/web")
            .network_mode(ecs::NetworkMode::Awsvpc)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .runtime_platform(
                ecs::RuntimePlatform::builder()
                    .cpu_architecture(ecs::CpuArchitecture::Arm64)
                    .operating_system_family(ecs::OsFamily::Linux)
                    .build(),
            )
            .ephemeral_storage(ecs::EphemeralStorage::builder().size_in_gib(30).build())
            .build();
        let live = task_definition_json(&td);
        assert_eq!(live, manifest);
        // And the live JSON is a valid manifest spec again.
        let again: TaskDefinitionSpec = serde_json::from_value(live).unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn register_task_definition_sets_every_task_level_field() {
        let spec: TaskDefinitionSpec = serde_json::from_value(manifest()).unwrap();
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
            .region(aws_sdk_ecs::config::Region::new("eu-west-1"))
            .build();
        let client = aws_sdk_ecs::Client::from_conf(config);
        let tags = BTreeMap::from([("team".to_string(), "web".to_string())]);
        let request = register_task_definition(&client, "web", &spec, &tags).unwrap();
        assert_eq!(request.get_family().as_deref(), Some("web"));
        assert_eq!(request.get_cpu().as_deref(), Some("256"));
        assert_eq!(request.get_network_mode(), &Some(ecs::NetworkMode::Awsvpc));
        assert_eq!(request.get_container_definitions().as_ref().unwrap().len(), 2);
        assert_eq!(request.get_tags().as_ref().unwrap()[0].key.as_deref(), Some("team"));
        assert_eq!(request.get_ephemeral_storage().as_ref().unwrap().size_in_gib, 30);
    }

    #[test]
    fn container_cpu_out_of_range_is_an_error() {
        let c: td::ContainerDefinition = serde_json::from_value(json!({
            "name": "web", "image": "nginx", "cpu": 4_294_967_296i64
        }))
        .unwrap();
        let err = container_definition(&c).unwrap_err().to_string();
        assert!(err.contains("container web") && err.contains("cpu"), "{err}");
    }

    #[test]
    fn service_json_is_in_manifest_shape() {
        let service = ecs::Service::builder()
            .service_arn("arn:aws:ecs:eu-west-1:123456789012:service/main/web")
            .service_name("web")
            .cluster_arn("arn:aws:ecs:eu-west-1:123456789012:cluster/main")
            .task_definition("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3")
            .desired_count(2)
            .running_count(2)
            .status("ACTIVE")
            .launch_type(ecs::LaunchType::Fargate)
            .platform_version("LATEST")
            .load_balancers(
                ecs::LoadBalancer::builder()
                    .target_group_arn("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/abc")
                    .container_name("web")
                    .container_port(8080)
                    .build(),
            )
            .deployment_configuration(
                ecs::DeploymentConfiguration::builder()
                    .maximum_percent(200)
                    .minimum_healthy_percent(100)
                    .deployment_circuit_breaker(
                        ecs::DeploymentCircuitBreaker::builder().enable(true).rollback(true).build(),
                    )
                    .alarms(
                        ecs::DeploymentAlarms::builder()
                            .alarm_names("web-5xx")
                            .enable(true)
                            .rollback(false)
                            .build()
                            .unwrap(),
                    )
                    .strategy(ecs::DeploymentStrategy::Rolling)
                    .build(),
            )
            .network_configuration(
                ecs::NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        ecs::AwsVpcConfiguration::builder()
                            .subnets("subnet-0abc")
                            .subnets("subnet-0def")
                            .security_groups("sg-0123456789abcdef0")
                            .assign_public_ip(ecs::AssignPublicIp::Disabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .health_check_grace_period_seconds(60)
            .scheduling_strategy(ecs::SchedulingStrategy::Replica)
            .deployment_controller(
                ecs::DeploymentController::builder().r#type(ecs::DeploymentControllerType::Ecs).build().unwrap(),
            )
            .propagate_tags(ecs::PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .build();
        assert_eq!(
            service_json(&service),
            json!({
                "cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/main",
                "taskDefinition": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3",
                "desiredCount": 2,
                "launchType": "FARGATE",
                "platformVersion": "LATEST",
                "loadBalancers": [{
                    "targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/abc",
                    "containerName": "web",
                    "containerPort": 8080
                }],
                "deploymentConfiguration": {
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                    "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                    "alarms": {"alarmNames": ["web-5xx"], "enable": true, "rollback": false},
                    "strategy": "ROLLING"
                },
                "networkConfiguration": {"awsvpcConfiguration": {
                    "subnets": ["subnet-0abc", "subnet-0def"],
                    "securityGroups": ["sg-0123456789abcdef0"],
                    "assignPublicIp": "DISABLED"
                }},
                "healthCheckGracePeriodSeconds": 60,
                "schedulingStrategy": "REPLICA",
                "deploymentController": {"type": "ECS"},
                "propagateTags": "SERVICE",
                "enableECSManagedTags": true,
                "enableExecuteCommand": false
            })
        );
        // The live JSON deserializes as a manifest spec.
        let spec: sv::ServiceSpec = serde_json::from_value(service_json(&service)).unwrap();
        assert_eq!(spec.desired_count, Some(2));
    }

    #[test]
    fn service_parts_resolve_references_by_name() {
        let spec: sv::ServiceSpec = serde_json::from_value(json!({
            "cluster": "main",
            "taskDefinition": "web",
            "loadBalancers": [
                {"targetGroup": "web-tg", "containerName": "web", "containerPort": 8080},
                {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1"}
            ],
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-0abc"],
                "securityGroups": ["web-sg", "sg-0123456789abcdef0"],
                "assignPublicIp": "ENABLED"
            }},
            "deploymentConfiguration": {
                "maximumPercent": 150,
                "deploymentCircuitBreaker": {"enable": true, "rollback": false},
                "alarms": {"alarmNames": ["a"], "enable": true, "rollback": true},
                "bakeTimeInMinutes": 5
            },
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 3}]
        }))
        .unwrap();
        let ids = Ids::default();
        let err = load_balancers(&spec, &ids).unwrap_err().to_string();
        assert!(err.contains("TargetGroup/web-tg"), "{err}");
        ids.set(Kind::TargetGroup, "web-tg", "arn:tg/web-tg");
        ids.set(Kind::SecurityGroup, "web-sg", "sg-0aaa");
        let lbs = load_balancers(&spec, &ids).unwrap();
        assert_eq!(lbs[0].target_group_arn.as_deref(), Some("arn:tg/web-tg"));
        assert_eq!(lbs[0].container_port, Some(8080));
        assert_eq!(
            lbs[1].target_group_arn.as_deref(),
            Some("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/x/1")
        );
        let network = network_configuration(&spec, &ids).unwrap().unwrap();
        let awsvpc = network.awsvpc_configuration.unwrap();
        assert_eq!(awsvpc.subnets, ["subnet-0abc"]);
        assert_eq!(awsvpc.security_groups.unwrap(), ["sg-0aaa", "sg-0123456789abcdef0"]);
        assert_eq!(awsvpc.assign_public_ip, Some(ecs::AssignPublicIp::Enabled));
        let d = deployment_configuration(spec.deployment_configuration.as_ref().unwrap());
        assert_eq!(d.maximum_percent, Some(150));
        assert_eq!(d.minimum_healthy_percent, None);
        assert!(d.deployment_circuit_breaker.unwrap().enable);
        assert_eq!(d.alarms.unwrap().alarm_names, ["a"]);
        assert_eq!(d.bake_time_in_minutes, Some(5));
        let cps = capacity_provider_strategy(&spec.capacity_provider_strategy).unwrap();
        assert_eq!((cps[0].weight, cps[0].base), (3, 0));
    }

    #[test]
    fn cluster_json_is_in_manifest_shape() {
        let cluster = ecs::Cluster::builder()
            .cluster_arn("arn:aws:ecs:eu-west-1:123456789012:cluster/main")
            .cluster_name("main")
            .status("ACTIVE")
            .settings(
                ecs::ClusterSetting::builder()
                    .name(ecs::ClusterSettingName::ContainerInsights)
                    .value("enabled")
                    .build(),
            )
            .capacity_providers("FARGATE")
            .capacity_providers("FARGATE_SPOT")
            .default_capacity_provider_strategy(
                ecs::CapacityProviderStrategyItem::builder().capacity_provider("FARGATE").weight(1).build().unwrap(),
            )
            .configuration(cluster_configuration(&cl::ClusterConfiguration {
                execute_command_configuration: Some(cl::ExecuteCommandConfiguration {
                    kms_key_id: None,
                    logging: Some("OVERRIDE".into()),
                    log_configuration: Some(cl::ExecuteCommandLogConfiguration {
                        cloud_watch_log_group_name: Some("/ecs/exec".into()),
                        ..Default::default()
                    }),
                }),
                managed_storage_configuration: None,
            }))
            .service_connect_defaults(
                ecs::ClusterServiceConnectDefaults::builder()
                    .namespace("arn:aws:servicediscovery:eu-west-1:1:namespace/ns-1")
                    .build(),
            )
            .build();
        let live = cluster_json(&cluster);
        assert_eq!(
            live,
            json!({
                "settings": [{"name": "containerInsights", "value": "enabled"}],
                "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
                "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
                "configuration": {"executeCommandConfiguration": {
                    "logging": "OVERRIDE",
                    "logConfiguration": {
                        "cloudWatchLogGroupName": "/ecs/exec",
                        "cloudWatchEncryptionEnabled": false,
                        "s3EncryptionEnabled": false
                    }
                }},
                "serviceConnectDefaults": {"namespace": "arn:aws:servicediscovery:eu-west-1:1:namespace/ns-1"}
            })
        );
        let _: cl::ClusterSpec = serde_json::from_value(live).unwrap();
        assert_eq!(
            cluster_settings(&[NameValue { name: "containerInsights".into(), value: Some("enhanced".into()) }])[0].name,
            Some(ecs::ClusterSettingName::ContainerInsights)
        );
    }
}
