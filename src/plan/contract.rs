//! The field contract: for every field of every kind's spec, how a difference is brought back —
//! in place by named calls, by replacing the resource, or not at all (sent at creation only).
//! The action builders (`actions.rs`) dispatch through this table, and a test walks the JSON
//! Schema the spec types generate, so a field cannot be compared without a way to send it.

use super::action::{AutoScalingCall as Aas, Call, Ec2Call as Ec2, EcsCall as Ecs, Elbv2Call as Elb, LogsCall as Logs};
use crate::manifest::Kind;

/// How a changed field reaches AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Updated in place by these calls.
    Update(&'static [Call]),
    /// AWS cannot change it in place: the resource is replaced.
    Replace,
    /// Sent when the resource is created; a later difference is reported and never sent.
    CreateOnly(&'static str),
}

use Field::*;

const fn ecs(c: Ecs) -> Call {
    Call::Ecs(c)
}
const fn elb(c: Elb) -> Call {
    Call::Elbv2(c)
}
const fn ec2(c: Ec2) -> Call {
    Call::Ec2(c)
}
const fn logs(c: Logs) -> Call {
    Call::Logs(c)
}
const fn aas(c: Aas) -> Call {
    Call::AutoScaling(c)
}

const UPDATE_SERVICE: Field = Update(&[ecs(Ecs::UpdateService)]);
const MODIFY_TARGET_GROUP: Field = Update(&[elb(Elb::ModifyTargetGroup)]);
const NEW_REVISION: Field = Update(&[ecs(Ecs::RegisterTaskDefinition)]);

/// The top-level spec fields of a kind, each with its contract. Sources for what AWS can change
/// in place: the ECS API reference (UpdateService, UpdateCluster, UpdateClusterSettings,
/// PutClusterCapacityProviders), the ELBv2 API reference (ModifyTargetGroup, Set*,
/// Modify*Attributes, ModifyListener, ModifyRule) and the EC2 API reference (security groups).
pub fn contract(kind: Kind) -> &'static [(&'static str, Field)] {
    match kind {
        Kind::SecurityGroup => SECURITY_GROUP,
        Kind::TargetGroup => TARGET_GROUP,
        Kind::LoadBalancer => LOAD_BALANCER,
        Kind::TaskDefinition => TASK_DEFINITION,
        Kind::Cluster => CLUSTER,
        Kind::Service => SERVICE,
        Kind::LogGroup => LOG_GROUP,
        Kind::ScalableTarget => SCALABLE_TARGET,
    }
}

/// CloudWatch Logs API reference: PutRetentionPolicy / DeleteRetentionPolicy ("To set a log
/// group so that its log events do not expire"), AssociateKmsKey, TagResource;
/// CreateLogGroup: "The value of logGroupClass can't be changed after a log group is created".
const LOG_GROUP: &[(&str, Field)] = &[
    ("retentionInDays", Update(&[logs(Logs::PutRetentionPolicy), logs(Logs::DeleteRetentionPolicy)])),
    // Compared only when the manifest names a key (normalize.rs): a difference associates it.
    ("kmsKeyId", Update(&[logs(Logs::AssociateKmsKey)])),
    ("logGroupClass", Replace),
    ("tags", Update(&[logs(Logs::TagResource)])),
];

/// Application Auto Scaling API reference: RegisterScalableTarget also updates a registered
/// target ("If you call the RegisterScalableTarget API operation to create a scalable target ...
/// you can also use it to update"); PutScalingPolicy and PutScheduledAction create or update by
/// name.
const SCALABLE_TARGET: &[(&str, Field)] = &[
    // The target's identity is its service's resource ID: another service is another target.
    ("service", Replace),
    ("minCapacity", Update(&[aas(Aas::RegisterScalableTarget)])),
    ("maxCapacity", Update(&[aas(Aas::RegisterScalableTarget)])),
    ("suspendedState", Update(&[aas(Aas::RegisterScalableTarget)])),
    ("scalingPolicies", Update(&[aas(Aas::PutScalingPolicy), aas(Aas::DeleteScalingPolicy)])),
    ("scheduledActions", Update(&[aas(Aas::PutScheduledAction), aas(Aas::DeleteScheduledAction)])),
];

const SECURITY_GROUP: &[(&str, Field)] = &[
    // CreateSecurityGroup's GroupName, Description and VpcId are fixed for the group's life.
    ("vpc", Replace),
    ("description", Replace),
    ("ingress", Update(&[ec2(Ec2::AuthorizeSecurityGroupIngress), ec2(Ec2::RevokeSecurityGroupIngress)])),
    ("egress", Update(&[ec2(Ec2::AuthorizeSecurityGroupEgress), ec2(Ec2::RevokeSecurityGroupEgress)])),
    ("tags", Update(&[ec2(Ec2::CreateTags)])),
];

const TARGET_GROUP: &[(&str, Field)] = &[
    // ModifyTargetGroup takes only the health check settings.
    ("protocol", Replace),
    ("protocolVersion", Replace),
    ("port", Replace),
    ("vpc", Replace),
    ("targetType", Replace),
    ("ipAddressType", Replace),
    ("healthCheckProtocol", MODIFY_TARGET_GROUP),
    ("healthCheckPort", MODIFY_TARGET_GROUP),
    ("healthCheckEnabled", MODIFY_TARGET_GROUP),
    ("healthCheckPath", MODIFY_TARGET_GROUP),
    ("healthCheckIntervalSeconds", MODIFY_TARGET_GROUP),
    ("healthCheckTimeoutSeconds", MODIFY_TARGET_GROUP),
    ("healthyThresholdCount", MODIFY_TARGET_GROUP),
    ("unhealthyThresholdCount", MODIFY_TARGET_GROUP),
    ("matcher", MODIFY_TARGET_GROUP),
    ("healthCheck", MODIFY_TARGET_GROUP),
    ("tags", Update(&[elb(Elb::AddTags)])),
    ("attributes", Update(&[elb(Elb::ModifyTargetGroupAttributes)])),
];

const LOAD_BALANCER: &[(&str, Field)] = &[
    ("type", Replace),
    ("scheme", Replace),
    ("subnets", Update(&[elb(Elb::SetSubnets)])),
    ("subnetMappings", Update(&[elb(Elb::SetSubnets)])),
    // A network load balancer created without security groups cannot get any, and one
    // created with them cannot lose them all: the plan replaces it then (actions.rs).
    ("securityGroups", Update(&[elb(Elb::SetSecurityGroups)])),
    ("ipAddressType", Update(&[elb(Elb::SetIpAddressType)])),
    ("tags", Update(&[elb(Elb::AddTags)])),
    ("attributes", Update(&[elb(Elb::ModifyLoadBalancerAttributes)])),
    (
        "listeners",
        Update(&[
            elb(Elb::CreateListener),
            elb(Elb::ModifyListener),
            elb(Elb::DeleteListener),
            elb(Elb::AddListenerCertificates),
            elb(Elb::RemoveListenerCertificates),
            elb(Elb::CreateRule),
            elb(Elb::ModifyRule),
            elb(Elb::DeleteRule),
        ]),
    ),
];

/// A revision is immutable: any change registers a new one, which services then run.
const TASK_DEFINITION: &[(&str, Field)] = &[
    ("family", CreateOnly("the family is `metadata.name`; validate checks they agree")),
    ("taskRoleArn", NEW_REVISION),
    ("executionRoleArn", NEW_REVISION),
    ("networkMode", NEW_REVISION),
    ("containerDefinitions", NEW_REVISION),
    ("volumes", NEW_REVISION),
    ("placementConstraints", NEW_REVISION),
    ("requiresCompatibilities", NEW_REVISION),
    ("cpu", NEW_REVISION),
    ("memory", NEW_REVISION),
    ("tags", CreateOnly("a revision's tags are set when it is registered; a tag-only change registers nothing")),
    ("pidMode", NEW_REVISION),
    ("ipcMode", NEW_REVISION),
    ("proxyConfiguration", NEW_REVISION),
    ("ephemeralStorage", NEW_REVISION),
    ("runtimePlatform", NEW_REVISION),
    ("enableFaultInjection", NEW_REVISION),
];

const CLUSTER: &[(&str, Field)] = &[
    ("tags", Update(&[ecs(Ecs::TagResource)])),
    ("settings", Update(&[ecs(Ecs::UpdateClusterSettings)])),
    ("configuration", Update(&[ecs(Ecs::UpdateCluster)])),
    ("serviceConnectDefaults", Update(&[ecs(Ecs::UpdateCluster)])),
    // PutClusterCapacityProviders takes both lists, always together.
    ("capacityProviders", Update(&[ecs(Ecs::PutClusterCapacityProviders)])),
    ("defaultCapacityProviderStrategy", Update(&[ecs(Ecs::PutClusterCapacityProviders)])),
];

const SERVICE: &[(&str, Field)] = &[
    // How the service was found; moving a service to another cluster is a new service.
    ("cluster", Replace),
    ("taskDefinition", UPDATE_SERVICE),
    ("loadBalancers", UPDATE_SERVICE),
    ("serviceRegistries", UPDATE_SERVICE),
    ("desiredCount", UPDATE_SERVICE),
    // Launch type ↔ capacity provider strategy moves in place (UpdateService with the
    // strategy, or an empty one to go back, and forceNewDeployment); one launch type to
    // another cannot (actions.rs).
    ("launchType", Replace),
    ("capacityProviderStrategy", UPDATE_SERVICE),
    ("platformVersion", UPDATE_SERVICE),
    // UpdateService has no role parameter.
    ("role", Replace),
    ("deploymentConfiguration", UPDATE_SERVICE),
    ("placementConstraints", UPDATE_SERVICE),
    ("placementStrategy", UPDATE_SERVICE),
    ("networkConfiguration", UPDATE_SERVICE),
    ("healthCheckGracePeriodSeconds", UPDATE_SERVICE),
    ("schedulingStrategy", Replace),
    (
        "deploymentController",
        CreateOnly(
            "changing a service's deployment controller is a migration AWS documents as its own procedure; \
             the reconciler reports it and sends nothing",
        ),
    ),
    ("tags", Update(&[ecs(Ecs::TagResource)])),
    ("enableECSManagedTags", UPDATE_SERVICE),
    ("propagateTags", UPDATE_SERVICE),
    ("enableExecuteCommand", UPDATE_SERVICE),
    ("availabilityZoneRebalancing", UPDATE_SERVICE),
];

/// The contract of one top-level field.
pub fn field(kind: Kind, name: &str) -> Option<Field> {
    contract(kind).iter().find(|(f, _)| *f == name).map(|(_, c)| *c)
}

/// The top-level field a change path is under: `listeners[443].certificates` → `listeners`.
pub fn top(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// Services whose deployments another controller runs accept only some fields in UpdateService
/// (ECS API reference, UpdateService: "For services using the blue/green (CODE_DEPLOY) deployment
/// controller, only the desired count, deployment configuration, health check grace period, task
/// placement constraints and strategies, enable ECS managed tags option, and propagate tags can be
/// updated using this API"; for EXTERNAL: "the desired count, task placement constraints and
/// strategies, health check grace period, enable ECS managed tags option, and propagate tags").
pub fn service_fields_for_controller(controller: &str) -> Option<&'static [&'static str]> {
    match controller {
        "CODE_DEPLOY" => Some(&[
            "desiredCount",
            "deploymentConfiguration",
            "healthCheckGracePeriodSeconds",
            "placementConstraints",
            "placementStrategy",
            "enableECSManagedTags",
            "propagateTags",
        ]),
        "EXTERNAL" => Some(&[
            "desiredCount",
            "placementConstraints",
            "placementStrategy",
            "healthCheckGracePeriodSeconds",
            "enableECSManagedTags",
            "propagateTags",
        ]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::schema::spec_schema;

    /// Walks the JSON Schema each kind's spec type generates: every property has exactly one
    /// contract row, and every row names a real property. A new field fails here until someone
    /// decides how it reaches AWS.
    #[test]
    fn every_spec_field_of_every_kind_has_a_contract() {
        let mut total = 0;
        for kind in Kind::ALL {
            let schema = spec_schema(kind);
            let properties: Vec<&String> = schema["properties"].as_object().expect("spec properties").keys().collect();
            let rows = contract(kind);
            for p in &properties {
                let n = rows.iter().filter(|(f, _)| f == p).count();
                assert_eq!(n, 1, "{kind}.spec.{p} has {n} contract rows (wants exactly 1): add it to contract()");
            }
            for (f, _) in rows {
                assert!(properties.iter().any(|p| p == f), "{kind}: contract row `{f}` is no spec field");
            }
            total += properties.len();
        }
        assert!(total > 80, "walked only {total} fields");
    }

    #[test]
    fn every_update_row_names_calls_of_its_kinds_service() {
        for kind in Kind::ALL {
            let service = match kind {
                Kind::SecurityGroup => "ec2",
                Kind::TargetGroup | Kind::LoadBalancer => "elbv2",
                Kind::LogGroup => "logs",
                Kind::ScalableTarget => "application-autoscaling",
                _ => "ecs",
            };
            for (f, c) in contract(kind) {
                if let Update(calls) = c {
                    assert!(!calls.is_empty(), "{kind}.{f}");
                    assert!(calls.iter().all(|c| c.service() == service), "{kind}.{f}: {calls:?}");
                }
            }
        }
    }
}
