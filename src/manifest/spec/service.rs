//! `Service.spec`: an ECS CreateService request without `serviceName` and `clientToken`, with references by name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::cluster::CapacityProviderStrategyItem;
use super::common::{Reference, Tag};
use super::task_definition::PlacementConstraint;
use crate::manifest::Kind;

/// The body of a `Service` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceSpec {
    /// The cluster the service runs in: a `Cluster` name of this set or a cluster ARN.
    pub cluster: String,
    /// The task definition to run: a `TaskDefinition` name of this set, a `family:revision` or an ARN.
    pub task_definition: String,
    /// The load balancer target groups the service registers its tasks with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
    /// The Cloud Map service discovery registries the service registers its tasks with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_registries: Vec<ServiceRegistry>,
    /// The number of tasks to keep running (not with the `DAEMON` scheduling strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    /// The infrastructure the tasks run on: `EC2`, `FARGATE`, `EXTERNAL` or `MANAGED_INSTANCES`; exclusive with capacityProviderStrategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// The capacity providers the tasks are spread over; exclusive with launchType.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    /// The Fargate platform version, e.g. `LATEST` or `1.4.0` (Fargate only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// The IAM role that lets ECS call the load balancer for you (only without awsvpc; usually the service-linked role is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// How many tasks run during a deployment and when it is rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// Constraints on where tasks are placed (EC2 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_constraints: Vec<PlacementConstraint>,
    /// Rules that decide on which instances tasks are placed (EC2 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_strategy: Vec<PlacementStrategy>,
    /// The VPC subnets and security groups of awsvpc tasks (required with awsvpc network mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    /// Seconds during which failing load balancer health checks of a new task are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i32>,
    /// `REPLICA` (keep desiredCount tasks) or `DAEMON` (one task per instance, EC2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling_strategy: Option<String>,
    /// Who deploys new task definitions: `ECS` (rolling, default), `CODE_DEPLOY` or `EXTERNAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_controller: Option<DeploymentController>,
    /// Metadata applied to the service, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Whether ECS adds its managed tags (`aws:ecs:clusterName`, ...) to the service's tasks.
    #[serde(rename = "enableECSManagedTags", default, skip_serializing_if = "Option::is_none")]
    pub enable_ecs_managed_tags: Option<bool>,
    /// Where the tasks' tags are copied from: `TASK_DEFINITION`, `SERVICE` or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<String>,
    /// Whether `ecs execute-command` is allowed into the service's tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// Whether ECS rebalances tasks across Availability Zones: `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<String>,
}

impl ServiceSpec {
    /// Every field that may name another resource of the set, literal ARNs and IDs included.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = vec![
            Reference::new("spec.cluster", Kind::Cluster, &self.cluster),
            Reference::new("spec.taskDefinition", Kind::TaskDefinition, &self.task_definition),
        ];
        for (i, lb) in self.load_balancers.iter().enumerate() {
            if let Some(tg) = &lb.target_group {
                refs.push(Reference::new(format!("spec.loadBalancers[{i}].targetGroup"), Kind::TargetGroup, tg));
            }
            if let Some(a) = &lb.advanced_configuration {
                let at = format!("spec.loadBalancers[{i}].advancedConfiguration");
                if let Some(tg) = &a.alternate_target_group {
                    refs.push(Reference::new(format!("{at}.alternateTargetGroup"), Kind::TargetGroup, tg));
                }
                for (field, rule) in [
                    ("productionListenerRule", Some(&a.production_listener_rule)),
                    ("testListenerRule", a.test_listener_rule.as_ref()),
                ] {
                    if let Some(ListenerRule::In(r)) = rule {
                        refs.push(Reference::new(
                            format!("{at}.{field}.loadBalancer"),
                            Kind::LoadBalancer,
                            &r.load_balancer,
                        ));
                    }
                }
            }
        }
        if let Some(vpc) = self.network_configuration.as_ref().and_then(|n| n.awsvpc_configuration.as_ref()) {
            for (i, sg) in vpc.security_groups.iter().enumerate() {
                refs.push(Reference::new(
                    format!("spec.networkConfiguration.awsvpcConfiguration.securityGroups[{i}]"),
                    Kind::SecurityGroup,
                    sg,
                ));
            }
        }
        refs
    }
}

/// A load balancer target group the service's tasks are registered with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadBalancer {
    /// The target group, by its `TargetGroup` name in this set (or an ARN); use this or targetGroupArn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// The ARN of a target group not managed by this set; use this or targetGroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    /// The name of a Classic Load Balancer (instead of a target group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    /// The container (a `containerDefinitions[].name`) that receives the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// The container port (a `portMappings[].containerPort` of that container) that receives the traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
    /// Blue/green, linear and canary deployments (`deploymentConfiguration.strategy`): the second
    /// target group and the listener rules ECS shifts traffic between the two with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<AdvancedConfiguration>,
}

/// The load balancer settings of an ECS-native blue/green (or linear, canary) deployment. During
/// a deployment ECS registers the new tasks with the alternate target group, moves the listener
/// rules' weights, and at the end swaps which group of the pair is primary: from then on the
/// weights and the pair's order belong to ECS and are neither compared nor sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvancedConfiguration {
    /// The second target group: a `TargetGroup` name of this set (or an ARN); use this or alternateTargetGroupArn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_target_group: Option<String>,
    /// The ARN of a second target group not managed by this set; use this or alternateTargetGroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_target_group_arn: Option<String>,
    /// The rule (application load balancer) or listener (network load balancer) that carries production traffic.
    pub production_listener_rule: ListenerRule,
    /// The rule or listener that carries test traffic to the new tasks before production moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_rule: Option<ListenerRule>,
    /// The IAM role ECS assumes to call Elastic Load Balancing during a deployment.
    pub role_arn: String,
}

/// A listener rule or listener: its ARN, or where it is in a `LoadBalancer` of this set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a listener rule ARN, or `{loadBalancer, port, priority}` naming a rule of a LoadBalancer of the set"
)]
pub enum ListenerRule {
    /// The ARN of a rule (`...:listener-rule/...`) or listener (`...:listener/...`).
    Arn(String),
    /// A rule (or, without priority, a listener) of a `LoadBalancer` of the set.
    In(ListenerRuleRef),
}

/// A rule of a `LoadBalancer` of the set by its listener's port and its priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerRuleRef {
    /// The `LoadBalancer` of this set.
    pub load_balancer: String,
    /// The port of its listener.
    pub port: i32,
    /// The priority of the rule in that listener; leave it out to name the listener itself (network load balancers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

impl ListenerRuleRef {
    /// The key of the rule (`rule:443:10`) or listener (`listener:443`) among its load
    /// balancer's parts (`Live::parts`, `Ids::part`).
    pub fn part(&self) -> String {
        match self.priority {
            Some(p) => format!("rule:{}:{p}", self.port),
            None => format!("listener:{}", self.port),
        }
    }
}

/// A Cloud Map service discovery registry of the service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceRegistry {
    /// The ARN of the Cloud Map service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_arn: Option<String>,
    /// The port used when the Cloud Map service uses SRV records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// The container whose address is registered (bridge or host network mode with SRV records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// The container port registered (bridge or host network mode with SRV records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
}

/// How a deployment replaces tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentConfiguration {
    /// Stops a deployment whose tasks cannot reach a steady state, and optionally rolls it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// The upper limit of running or pending tasks during a deployment, in percent of desiredCount (200 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    /// The lower limit of healthy running tasks during a deployment, in percent of desiredCount (100 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    /// CloudWatch alarms that fail the deployment, and optionally roll it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
    /// The deployment strategy of the ECS controller: `ROLLING` (default), `BLUE_GREEN`, `LINEAR` or `CANARY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// Minutes both old and new tasks keep running after the production traffic has moved (0–1440; required with `BLUE_GREEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<i32>,
    /// Lambda functions or pauses run at stages of a blue/green, linear or canary deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_hooks: Vec<LifecycleHook>,
    /// The steps of a `LINEAR` deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_configuration: Option<LinearConfiguration>,
    /// The canary step of a `CANARY` deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_configuration: Option<CanaryConfiguration>,
}

/// A deployment lifecycle hook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LifecycleHook {
    /// `AWS_LAMBDA` (default: invoke hookTargetArn) or `PAUSE` (wait for ContinueServiceDeployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    /// The Lambda function's ARN (required for `AWS_LAMBDA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_target_arn: Option<String>,
    /// The IAM role ECS assumes to invoke the function (required for `AWS_LAMBDA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The stages the hook runs at: `RECONCILE_SERVICE`, `PRE_SCALE_UP`, `POST_SCALE_UP`, `TEST_TRAFFIC_SHIFT`, `POST_TEST_TRAFFIC_SHIFT`, `PRE_PRODUCTION_TRAFFIC_SHIFT`, `PRODUCTION_TRAFFIC_SHIFT`, `POST_PRODUCTION_TRAFFIC_SHIFT`.
    pub lifecycle_stages: Vec<String>,
    /// Parameters ECS passes to the function on each invocation (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<serde_json::Value>,
    /// How long ECS waits for the hook, and what it does then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_configuration: Option<HookTimeout>,
}

/// How long ECS waits for a lifecycle hook.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HookTimeout {
    /// Minutes to wait (default 1440).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_minutes: Option<i32>,
    /// `ROLLBACK` (default) or `CONTINUE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// The steps of a linear deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinearConfiguration {
    /// Percent of production traffic moved each step: a multiple of 0.1 from 3.0 to 100.0 (default 10.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_percent: Option<f64>,
    /// Minutes between steps, 0–1440 (default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_bake_time_in_minutes: Option<i32>,
}

/// The canary step of a canary deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CanaryConfiguration {
    /// Percent of production traffic moved first: a multiple of 0.1 from 0.1 to 100.0 (default 5.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_percent: Option<f64>,
    /// Minutes before the rest moves, 0–1440 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_bake_time_in_minutes: Option<i32>,
}

/// The deployment circuit breaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentCircuitBreaker {
    /// Whether the circuit breaker stops a failing deployment.
    pub enable: bool,
    /// Whether a stopped deployment is rolled back to the last completed one.
    pub rollback: bool,
}

/// CloudWatch alarms watched during a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentAlarms {
    /// The names of the CloudWatch alarms that fail the deployment when in ALARM.
    pub alarm_names: Vec<String>,
    /// Whether the alarms are used to fail deployments.
    pub enable: bool,
    /// Whether a failed deployment is rolled back to the last completed one.
    pub rollback: bool,
}

/// A task placement strategy rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementStrategy {
    /// The strategy: `random`, `spread` or `binpack`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// What to spread over (`instanceId`, `attribute:ecs.availability-zone`, ...) or pack by (`cpu`, `memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The network configuration of the service's tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfiguration {
    /// The VPC subnets and security groups of awsvpc tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

/// The subnets and security groups of awsvpc tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsVpcConfiguration {
    /// The subnets the tasks are placed in (at most 16): `subnet-...` IDs or the value of their Name tag.
    pub subnets: Vec<String>,
    /// The security groups of the tasks (at most 5): `SecurityGroup` names of this set or `sg-...` IDs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    /// Whether the tasks get a public IP address: `ENABLED` or `DISABLED` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<String>,
}

/// The deployment controller of the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentController {
    /// The controller: `ECS` (default), `CODE_DEPLOY` or `EXTERNAL`.
    #[serde(rename = "type")]
    pub r#type: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_name_every_linked_resource_with_its_path() {
        let spec: ServiceSpec = serde_json::from_value(json!({
            "cluster": "main",
            "taskDefinition": "web",
            "desiredCount": 2,
            "loadBalancers": [
                {"targetGroup": "web-tg", "containerName": "web", "containerPort": 8080},
                {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1"},
                {"targetGroup": "admin-tg", "containerName": "web", "containerPort": 9090}
            ],
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": ["subnet-0abc", "private-b"],
                "securityGroups": ["web-sg", "sg-0123456789abcdef0"]
            }}
        }))
        .unwrap();
        assert_eq!(
            spec.references(),
            vec![
                Reference::new("spec.cluster", Kind::Cluster, "main"),
                Reference::new("spec.taskDefinition", Kind::TaskDefinition, "web"),
                Reference::new("spec.loadBalancers[0].targetGroup", Kind::TargetGroup, "web-tg"),
                Reference::new("spec.loadBalancers[2].targetGroup", Kind::TargetGroup, "admin-tg"),
                Reference::new(
                    "spec.networkConfiguration.awsvpcConfiguration.securityGroups[0]",
                    Kind::SecurityGroup,
                    "web-sg"
                ),
                Reference::new(
                    "spec.networkConfiguration.awsvpcConfiguration.securityGroups[1]",
                    Kind::SecurityGroup,
                    "sg-0123456789abcdef0"
                ),
            ]
        );
    }
}
