//! The AWS calls a plan will make, as data: each step carries its actions, decided here in
//! `plan/`, and an adapter turns each action into exactly one SDK call. What `plan` prints and
//! `--output json` lists is what `apply` runs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One enum per AWS service, each variant one API operation; `Call` names the service too.
macro_rules! calls {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, [$($op:ident),* $(,)?]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($op),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$op),*];
            pub const PREFIX: &'static str = $prefix;

            pub fn operation(self) -> &'static str {
                match self { $($name::$op => stringify!($op)),* }
            }
        }
    };
}

calls!(
    /// Amazon ECS operations the reconciler writes with.
    EcsCall,
    "ecs",
    [
        CreateCluster,
        UpdateClusterSettings,
        UpdateCluster,
        PutClusterCapacityProviders,
        DeleteCluster,
        RegisterTaskDefinition,
        DeregisterTaskDefinition,
        CreateService,
        UpdateService,
        DeleteService,
        TagResource,
    ]
);

calls!(
    /// Elastic Load Balancing v2 operations the reconciler writes with.
    Elbv2Call,
    "elbv2",
    [
        CreateTargetGroup,
        ModifyTargetGroup,
        ModifyTargetGroupAttributes,
        DeleteTargetGroup,
        CreateLoadBalancer,
        SetSecurityGroups,
        SetSubnets,
        SetIpAddressType,
        ModifyLoadBalancerAttributes,
        DeleteLoadBalancer,
        CreateListener,
        ModifyListener,
        DeleteListener,
        AddListenerCertificates,
        RemoveListenerCertificates,
        CreateRule,
        ModifyRule,
        DeleteRule,
        AddTags,
    ]
);

calls!(
    /// Amazon EC2 operations the reconciler writes with.
    Ec2Call,
    "ec2",
    [
        CreateSecurityGroup,
        AuthorizeSecurityGroupIngress,
        AuthorizeSecurityGroupEgress,
        RevokeSecurityGroupIngress,
        RevokeSecurityGroupEgress,
        CreateTags,
        DeleteSecurityGroup,
    ]
);

calls!(
    /// CloudWatch Logs operations the reconciler writes with.
    LogsCall,
    "logs",
    [
        CreateLogGroup,
        PutRetentionPolicy,
        DeleteRetentionPolicy,
        AssociateKmsKey,
        TagResource,
        DeleteLogGroup,
    ]
);

calls!(
    /// Application Auto Scaling operations the reconciler writes with.
    AutoScalingCall,
    "application-autoscaling",
    [
        RegisterScalableTarget,
        PutScalingPolicy,
        DeleteScalingPolicy,
        PutScheduledAction,
        DeleteScheduledAction,
        DeregisterScalableTarget,
    ]
);

/// One AWS API operation, written `ecs:UpdateService`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    Ecs(EcsCall),
    Elbv2(Elbv2Call),
    Ec2(Ec2Call),
    Logs(LogsCall),
    AutoScaling(AutoScalingCall),
}

impl Call {
    /// Every call, for tables and tests.
    pub fn all() -> impl Iterator<Item = Call> {
        EcsCall::ALL
            .iter()
            .map(|c| Call::Ecs(*c))
            .chain(Elbv2Call::ALL.iter().map(|c| Call::Elbv2(*c)))
            .chain(Ec2Call::ALL.iter().map(|c| Call::Ec2(*c)))
            .chain(LogsCall::ALL.iter().map(|c| Call::Logs(*c)))
            .chain(AutoScalingCall::ALL.iter().map(|c| Call::AutoScaling(*c)))
    }

    pub fn operation(self) -> &'static str {
        match self {
            Call::Ecs(c) => c.operation(),
            Call::Elbv2(c) => c.operation(),
            Call::Ec2(c) => c.operation(),
            Call::Logs(c) => c.operation(),
            Call::AutoScaling(c) => c.operation(),
        }
    }

    pub fn service(self) -> &'static str {
        match self {
            Call::Ecs(_) => EcsCall::PREFIX,
            Call::Elbv2(_) => Elbv2Call::PREFIX,
            Call::Ec2(_) => Ec2Call::PREFIX,
            Call::Logs(_) => LogsCall::PREFIX,
            Call::AutoScaling(_) => AutoScalingCall::PREFIX,
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.service(), self.operation())
    }
}

impl FromStr for Call {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Call::all().find(|c| c.to_string() == s).ok_or_else(|| format!("unknown call `{s}`"))
    }
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl From<EcsCall> for Call {
    fn from(c: EcsCall) -> Self {
        Call::Ecs(c)
    }
}

impl From<Elbv2Call> for Call {
    fn from(c: Elbv2Call) -> Self {
        Call::Elbv2(c)
    }
}

impl From<Ec2Call> for Call {
    fn from(c: Ec2Call) -> Self {
        Call::Ec2(c)
    }
}

impl From<LogsCall> for Call {
    fn from(c: LogsCall) -> Self {
        Call::Logs(c)
    }
}

impl From<AutoScalingCall> for Call {
    fn from(c: AutoScalingCall) -> Self {
        Call::AutoScaling(c)
    }
}

/// One AWS call of a step, with every parameter it sends.
///
/// `params` uses the API's field names (camelCase, as the manifests do). References to resources
/// of the set stay names (`targetGroup: web`, `securityGroups: [web-alb]`): the adapter looks the
/// ID up when it runs, because a resource created earlier in the same run has no ID at plan
/// time. That lookup is the only thing an adapter adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub call: Call,
    /// The part of the step's resource the call acts on when it is not the resource itself:
    /// `listener:443`, `rule:80:10` (a listener by port, a rule by listener port and priority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// What a person reviews, one line: `ingress tcp/22 from 0.0.0.0/0`, `listener 443`.
    pub summary: String,
    pub params: Value,
}

impl Action {
    pub fn new(call: impl Into<Call>, summary: impl Into<String>, params: Value) -> Self {
        Action { call: call.into(), part: None, summary: summary.into(), params }
    }

    pub fn on(mut self, part: impl Into<String>) -> Self {
        self.part = Some(part.into());
        self
    }

    /// A parameter, typed: `action.param::<Vec<String>>("securityGroups")`.
    pub fn param<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, String> {
        match self.params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                serde_json::from_value(v.clone()).map(Some).map_err(|e| format!("{} parameter `{key}`: {e}", self.call))
            }
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.params.get(key).is_some_and(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_read_and_write_as_service_colon_operation() {
        for call in Call::all() {
            let s = call.to_string();
            assert_eq!(s.parse::<Call>(), Ok(call));
            assert_eq!(serde_json::to_value(call).unwrap(), Value::String(s));
        }
        assert_eq!(Call::Ecs(EcsCall::UpdateService).to_string(), "ecs:UpdateService");
        assert!("ecs:Nope".parse::<Call>().is_err());
    }
}
