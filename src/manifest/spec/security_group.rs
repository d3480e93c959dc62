//! `SecurityGroup.spec`: an EC2 security group with its ingress and egress rules, sources by name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Reference, Tag};
use crate::manifest::Kind;

/// The body of a `SecurityGroup` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityGroupSpec {
    /// The VPC of the security group: a `vpc-...` ID or the value of its Name tag.
    pub vpc: String,
    /// The description of the security group (up to 255 characters; cannot be changed after creation).
    pub description: String,
    /// The inbound rules; none means no inbound traffic is allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<SecurityGroupRule>,
    /// The outbound rules, each a destination and a port range. Left out, the group keeps the
    /// rule AWS gives every new group (all traffic to 0.0.0.0/0); `[]` means no outbound traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Vec<SecurityGroupRule>>,
    /// Metadata applied to the security group, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl SecurityGroupSpec {
    /// Every rule source or destination that may name a security group, literal `sg-` IDs included.
    pub fn references(&self) -> Vec<Reference> {
        let mut refs = Vec::new();
        for (direction, rules) in
            [("ingress", &self.ingress[..]), ("egress", self.egress.as_deref().unwrap_or_default())]
        {
            for (i, rule) in rules.iter().enumerate() {
                if let Some(sg) = &rule.security_group {
                    refs.push(Reference::new(format!("spec.{direction}[{i}].securityGroup"), Kind::SecurityGroup, sg));
                }
            }
        }
        refs
    }
}

/// One inbound or outbound rule: a protocol, a port range and exactly one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecurityGroupRule {
    /// The IP protocol: `tcp`, `udp`, `icmp`, `icmpv6`, a protocol number, or `-1`/`all` for every protocol.
    pub protocol: String,
    /// The first port of the range (tcp/udp), or the ICMP type (`-1` for all); absent for all protocols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_port: Option<i32>,
    /// The last port of the range (tcp/udp), or the ICMP code (`-1` for all); defaults to fromPort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_port: Option<i32>,
    /// The IPv4 peer as a CIDR block, e.g. `10.0.0.0/16` or `0.0.0.0/0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    /// The IPv6 peer as a CIDR block, e.g. `::/0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_cidr: Option<String>,
    /// The peer as a managed prefix list ID, `pl-...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_list: Option<String>,
    /// The peer security group: a `SecurityGroup` name of this set or an `sg-...` ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group: Option<String>,
    /// A description of the rule (up to 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}
