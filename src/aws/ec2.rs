//! EC2 adapter: VPC and subnet Name lookups, and security groups observed in manifest shape, created, re-ruled, tagged and deleted.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup, Tag, TagSpecification,
    UserIdGroupPair,
};
use serde_json::{Map, Value};

use super::{AwsError, Clients, Ids, call_error, owned_tags};
use crate::manifest::spec::SecurityGroupSpec;
use crate::manifest::spec::security_group::SecurityGroupRule;
use crate::manifest::{Kind, ManifestSet, Resource, Spec};
use crate::plan::{Live, Observed, TAG_NAME, TAG_SET};

/// EC2 accepts at most this many values in one filter; longer lists are split (one call for any
/// realistic set).
const FILTER_VALUES: usize = 200;

/// The egress rule AWS gives every new security group in a VPC: all traffic to anywhere (IPv4).
const ALL_PROTOCOLS: &str = "-1";
const ANY_IPV4: &str = "0.0.0.0/0";
const ANY_IPV6: &str = "::/0";

// ---------------------------------------------------------------------------------------------
// Observe
// ---------------------------------------------------------------------------------------------

/// Resolve the VPC and subnet Name tags the set uses and read its security groups (and, with
/// `prune`, the groups tagged with the set whose manifests left it) into `observed`.
pub async fn observe(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    prune: bool,
    observed: &mut Observed,
) -> Result<(), AwsError> {
    let (vpc_names, subnet_names) = network_names(desired);
    if !vpc_names.is_empty() {
        observed.vpcs.extend(lookup_vpcs(clients, &vpc_names).await?);
    }
    if !subnet_names.is_empty() {
        observed.subnets.extend(lookup_subnets(clients, &subnet_names).await?);
    }

    let groups: Vec<(&Resource, &SecurityGroupSpec)> = desired
        .of_kind(Kind::SecurityGroup)
        .filter_map(|r| match &r.spec {
            Spec::SecurityGroup(spec) => Some((r, spec)),
            _ => None,
        })
        .collect();
    let names: BTreeSet<&str> = groups.iter().map(|(r, _)| r.name()).collect();

    if !names.is_empty() {
        let values: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let live = describe_groups(clients, "group-name", &values, set).await?;
        for (r, spec) in &groups {
            let vpc = observed.vpc_id(&spec.vpc);
            let mut candidates: Vec<&SecurityGroup> = live
                .iter()
                .filter(|g| g.group_name() == Some(r.name()))
                .filter(|g| vpc.as_deref().is_none_or(|v| g.vpc_id() == Some(v)))
                .collect();
            // Without a VPC to tell them apart, the group this set owns wins.
            candidates.sort_by_key(|g| tag_value(g, TAG_SET) != Some(set));
            if let Some(g) = candidates.first() {
                observed.live.insert((Kind::SecurityGroup, r.name().to_string()), live_group(g, r.name()));
            }
        }
    }

    if prune {
        let owned = describe_groups(clients, &format!("tag:{TAG_SET}"), &[set.to_string()], set).await?;
        for g in &owned {
            let name = tag_value(g, TAG_NAME).or(g.group_name()).unwrap_or_default();
            if !names.contains(name) {
                observed.orphans.push(live_group(g, name));
            }
        }
    }
    Ok(())
}

/// The VPC and subnet Name tags (not IDs) the set refers to.
fn network_names(desired: &ManifestSet) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut vpcs = BTreeSet::new();
    let mut subnets = BTreeSet::new();
    for r in &desired.resources {
        match &r.spec {
            Spec::SecurityGroup(s) => {
                vpcs.insert(s.vpc.clone());
            }
            Spec::TargetGroup(s) => vpcs.extend(s.vpc.clone()),
            Spec::LoadBalancer(s) => {
                subnets.extend(s.subnets.iter().cloned());
                subnets.extend(s.subnet_mappings.iter().filter_map(|m| m.subnet_id.clone()));
            }
            Spec::Service(s) => subnets.extend(
                s.network_configuration
                    .iter()
                    .filter_map(|n| n.awsvpc_configuration.as_ref())
                    .flat_map(|a| a.subnets.iter().cloned()),
            ),
            _ => {}
        }
    }
    vpcs.retain(|v| !v.starts_with("vpc-"));
    subnets.retain(|s| !s.starts_with("subnet-"));
    (vpcs, subnets)
}

fn name_filter(values: &[String]) -> Filter {
    Filter::builder().name("tag:Name").set_values(Some(values.to_vec())).build()
}

/// Name tag → ID, refusing a Name that more than one resource carries.
fn insert_unique(out: &mut BTreeMap<String, String>, what: &str, name: &str, id: &str) -> Result<(), AwsError> {
    match out.get(name) {
        Some(other) if other != id => Err(AwsError::unresolved(
            format!("{what} {name}"),
            format!("ambiguous: {other} and {id} both have this Name tag; give the {what} ID instead"),
        )),
        _ => {
            out.insert(name.to_string(), id.to_string());
            Ok(())
        }
    }
}

async fn lookup_vpcs(clients: &Clients, names: &BTreeSet<String>) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    let names: Vec<String> = names.iter().cloned().collect();
    for chunk in names.chunks(FILTER_VALUES) {
        let mut token = None;
        loop {
            tracing::debug!(names = ?chunk, "EC2 DescribeVpcs");
            let page = clients
                .ec2
                .describe_vpcs()
                .filters(name_filter(chunk))
                .set_next_token(token)
                .send()
                .await
                .map_err(call_error("DescribeVpcs", format!("vpc {}", chunk.join(","))))?;
            for vpc in page.vpcs() {
                let name = vpc.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value());
                if let (Some(name), Some(id)) = (name, vpc.vpc_id()) {
                    insert_unique(&mut out, "VPC", name, id)?;
                }
            }
            token = page.next_token;
            if token.as_deref().is_none_or(str::is_empty) {
                break;
            }
        }
    }
    Ok(out)
}

async fn lookup_subnets(clients: &Clients, names: &BTreeSet<String>) -> Result<BTreeMap<String, String>, AwsError> {
    let mut out = BTreeMap::new();
    let names: Vec<String> = names.iter().cloned().collect();
    for chunk in names.chunks(FILTER_VALUES) {
        let mut token = None;
        loop {
            tracing::debug!(names = ?chunk, "EC2 DescribeSubnets");
            let page = clients
                .ec2
                .describe_subnets()
                .filters(name_filter(chunk))
                .set_next_token(token)
                .send()
                .await
                .map_err(call_error("DescribeSubnets", format!("subnet {}", chunk.join(","))))?;
            for subnet in page.subnets() {
                let name = subnet.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value());
                if let (Some(name), Some(id)) = (name, subnet.subnet_id()) {
                    insert_unique(&mut out, "subnet", name, id)?;
                }
            }
            token = page.next_token;
            if token.as_deref().is_none_or(str::is_empty) {
                break;
            }
        }
    }
    Ok(out)
}

/// Every security group matching one filter (values split by the filter limit, pages followed).
async fn describe_groups(
    clients: &Clients,
    filter: &str,
    values: &[String],
    set: &str,
) -> Result<Vec<SecurityGroup>, AwsError> {
    let mut out = Vec::new();
    for chunk in values.chunks(FILTER_VALUES) {
        let mut token = None;
        loop {
            tracing::debug!(filter, values = ?chunk, "EC2 DescribeSecurityGroups");
            let page = clients
                .ec2
                .describe_security_groups()
                .filters(Filter::builder().name(filter).set_values(Some(chunk.to_vec())).build())
                .set_next_token(token)
                .send()
                .await
                .map_err(call_error("DescribeSecurityGroups", format!("SecurityGroups of set {set}")))?;
            out.extend(page.security_groups.unwrap_or_default());
            token = page.next_token;
            if token.as_deref().is_none_or(str::is_empty) {
                break;
            }
        }
    }
    Ok(out)
}

fn tag_value<'a>(g: &'a SecurityGroup, key: &str) -> Option<&'a str> {
    g.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// A live group in manifest shape: `{vpc, description, ingress, egress}`, one rule per source.
fn live_group(g: &SecurityGroup, name: &str) -> Live {
    let mut live = Live::new(Kind::SecurityGroup, name, g.group_id().unwrap_or_default());
    live.tags = g
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect();
    let mut spec = Map::new();
    spec.insert("vpc".into(), g.vpc_id().unwrap_or_default().into());
    spec.insert("description".into(), g.description().unwrap_or_default().into());
    spec.insert("ingress".into(), rules_json(g.ip_permissions()).into());
    spec.insert("egress".into(), rules_json(g.ip_permissions_egress()).into());
    live.spec = Value::Object(spec);
    live
}

/// AWS's IpPermissions, each expanded into one manifest rule per source.
fn rules_json(perms: &[IpPermission]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in perms {
        let mut base = Map::new();
        base.insert("protocol".into(), p.ip_protocol().unwrap_or(ALL_PROTOCOLS).into());
        if let Some(from) = p.from_port() {
            base.insert("fromPort".into(), from.into());
        }
        if let Some(to) = p.to_port() {
            base.insert("toPort".into(), to.into());
        }
        let mut push = |key: &str, value: Option<&str>, description: Option<&str>| {
            let Some(value) = value else { return };
            let mut rule = base.clone();
            rule.insert(key.into(), value.into());
            if let Some(d) = description.filter(|d| !d.is_empty()) {
                rule.insert("description".into(), d.into());
            }
            out.push(Value::Object(rule));
        };
        for r in p.ip_ranges() {
            push("cidr", r.cidr_ip(), r.description());
        }
        for r in p.ipv6_ranges() {
            push("ipv6Cidr", r.cidr_ipv6(), r.description());
        }
        for r in p.prefix_list_ids() {
            push("prefixList", r.prefix_list_id(), r.description());
        }
        for r in p.user_id_group_pairs() {
            push("securityGroup", r.group_id(), r.description());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------------

fn sg_spec(r: &Resource) -> Result<&SecurityGroupSpec, AwsError> {
    match &r.spec {
        Spec::SecurityGroup(spec) => Ok(spec),
        _ => Err(AwsError::unresolved(r.id(), "is not a SecurityGroup")),
    }
}

fn ec2_tags(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Create the group, tagged as owned, with AWS's default rules (no ingress, egress to anywhere);
/// `sync_rules` sets the rules once every group of the set exists.
pub async fn create_group(clients: &Clients, set: &str, r: &Resource, ids: &Ids) -> Result<String, AwsError> {
    let name = r.name();
    let resource = format!("SecurityGroup/{name}");
    let spec = sg_spec(r)?;
    let vpc = ids.vpc(&spec.vpc)?;
    tracing::debug!(%resource, %vpc, "EC2 CreateSecurityGroup");
    let out = clients
        .ec2
        .create_security_group()
        .group_name(name)
        .description(&spec.description)
        .vpc_id(vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(ec2_tags(owned_tags(set, name, &spec.tags))))
                .build(),
        )
        .send()
        .await
        .map_err(call_error("CreateSecurityGroup", resource.clone()))?;
    let id = out.group_id.unwrap_or_default();
    if id.is_empty() {
        return Err(AwsError::unresolved(resource, "CreateSecurityGroup returned no GroupId"));
    }
    ids.set(Kind::SecurityGroup, name, &id);
    Ok(id)
}

/// Make the group's ingress and egress exactly the manifest's: at most one revoke and one
/// authorize call per direction, revokes first, none when a direction already matches.
pub async fn sync_rules(clients: &Clients, r: &Resource, live: Option<&Live>, ids: &Ids) -> Result<(), AwsError> {
    let name = r.name();
    let resource = format!("SecurityGroup/{name}");
    let spec = sg_spec(r)?;
    let group_id = match live {
        Some(l) => l.id.clone(),
        None => ids.resolve(Kind::SecurityGroup, name)?,
    };
    let (live_ingress, live_egress) = match live {
        Some(l) => (live_rules(&l.spec, "ingress", &resource)?, live_rules(&l.spec, "egress", &resource)?),
        // Just created: AWS's defaults.
        None => (Vec::new(), vec![default_egress()]),
    };
    let resolve = |s: &str| ids.resolve(Kind::SecurityGroup, s);
    let ingress = diff_rules(&desired_rules(spec, Direction::Ingress, &live_ingress, &resolve)?, &live_ingress);
    let egress = diff_rules(&desired_rules(spec, Direction::Egress, &live_egress, &resolve)?, &live_egress);

    let ec2 = &clients.ec2;
    if !ingress.revoke.is_empty() {
        tracing::debug!(%resource, rules = ingress.revoke.len(), "EC2 RevokeSecurityGroupIngress");
        ec2.revoke_security_group_ingress()
            .group_id(&group_id)
            .set_ip_permissions(Some(permissions(&ingress.revoke)))
            .send()
            .await
            .map_err(call_error("RevokeSecurityGroupIngress", resource.clone()))?;
    }
    if !ingress.authorize.is_empty() {
        tracing::debug!(%resource, rules = ingress.authorize.len(), "EC2 AuthorizeSecurityGroupIngress");
        ec2.authorize_security_group_ingress()
            .group_id(&group_id)
            .set_ip_permissions(Some(permissions(&ingress.authorize)))
            .send()
            .await
            .map_err(call_error("AuthorizeSecurityGroupIngress", resource.clone()))?;
    }
    if !egress.revoke.is_empty() {
        tracing::debug!(%resource, rules = egress.revoke.len(), "EC2 RevokeSecurityGroupEgress");
        ec2.revoke_security_group_egress()
            .group_id(&group_id)
            .set_ip_permissions(Some(permissions(&egress.revoke)))
            .send()
            .await
            .map_err(call_error("RevokeSecurityGroupEgress", resource.clone()))?;
    }
    if !egress.authorize.is_empty() {
        tracing::debug!(%resource, rules = egress.authorize.len(), "EC2 AuthorizeSecurityGroupEgress");
        ec2.authorize_security_group_egress()
            .group_id(&group_id)
            .set_ip_permissions(Some(permissions(&egress.authorize)))
            .send()
            .await
            .map_err(call_error("AuthorizeSecurityGroupEgress", resource.clone()))?;
    }
    Ok(())
}

/// Add the owned tags (ownership and the manifest's) that are missing or differ on the live
/// group, in one call. Never removes a tag: other tools tag groups too.
pub async fn sync_tags(clients: &Clients, set: &str, r: &Resource, live: &Live) -> Result<(), AwsError> {
    let name = r.name();
    let spec = sg_spec(r)?;
    let missing: BTreeMap<String, String> =
        owned_tags(set, name, &spec.tags).into_iter().filter(|(k, v)| live.tags.get(k) != Some(v)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let resource = format!("SecurityGroup/{name}");
    tracing::debug!(%resource, tags = ?missing.keys().collect::<Vec<_>>(), "EC2 CreateTags");
    clients
        .ec2
        .create_tags()
        .resources(&live.id)
        .set_tags(Some(ec2_tags(missing)))
        .send()
        .await
        .map_err(call_error("CreateTags", resource))?;
    Ok(())
}

/// Delete the group by its ID.
pub async fn delete_group(clients: &Clients, live: &Live) -> Result<(), AwsError> {
    let resource = format!("SecurityGroup/{}", live.name);
    tracing::debug!(%resource, id = %live.id, "EC2 DeleteSecurityGroup");
    clients
        .ec2
        .delete_security_group()
        .group_id(&live.id)
        .send()
        .await
        .map_err(call_error("DeleteSecurityGroup", resource))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Rules as sets (pure)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

/// The peer of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Cidr(String),
    Ipv6Cidr(String),
    PrefixList(String),
    /// A security group ID.
    SecurityGroup(String),
}

/// What makes a rule itself: two rules with the same key are the same rule in AWS, whatever
/// their descriptions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RuleKey {
    /// Normalised: lowercase names for tcp/udp/icmp/icmpv6, `-1` for all protocols.
    protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    source: Source,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    key: RuleKey,
    description: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
struct RuleDiff {
    revoke: Vec<Rule>,
    authorize: Vec<Rule>,
}

fn default_egress() -> Rule {
    Rule {
        key: RuleKey {
            protocol: ALL_PROTOCOLS.into(),
            from_port: None,
            to_port: None,
            source: Source::Cidr(ANY_IPV4.into()),
        },
        description: None,
    }
}

/// `all`, `-1`, names in any case and the numbers of the named protocols, as AWS stores them.
fn normalize_protocol(protocol: &str) -> String {
    let p = protocol.trim().to_ascii_lowercase();
    match p.as_str() {
        "all" | "-1" => ALL_PROTOCOLS.into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmpv6".into(),
        _ => p,
    }
}

/// One manifest (or live) rule as normalised rules, one per source it names. Ports only count
/// for tcp, udp, icmp and icmpv6 (AWS allows every port for other protocols); `toPort` defaults
/// to `fromPort`.
fn normalize(
    rule: &SecurityGroupRule,
    resolve: &dyn Fn(&str) -> Result<String, AwsError>,
) -> Result<Vec<Rule>, AwsError> {
    let protocol = normalize_protocol(&rule.protocol);
    let (from_port, to_port) = match protocol.as_str() {
        "tcp" | "udp" | "icmp" | "icmpv6" => (rule.from_port, rule.to_port.or(rule.from_port)),
        _ => (None, None),
    };
    let mut sources = Vec::new();
    if let Some(c) = &rule.cidr {
        sources.push(Source::Cidr(c.clone()));
    }
    if let Some(c) = &rule.ipv6_cidr {
        sources.push(Source::Ipv6Cidr(c.to_ascii_lowercase()));
    }
    if let Some(p) = &rule.prefix_list {
        sources.push(Source::PrefixList(p.clone()));
    }
    if let Some(g) = &rule.security_group {
        sources.push(Source::SecurityGroup(resolve(g)?));
    }
    if sources.is_empty() {
        return Err(AwsError::unresolved(
            format!("rule {protocol}"),
            "has no source: give cidr, ipv6Cidr, prefixList or securityGroup",
        ));
    }
    Ok(sources
        .into_iter()
        .map(|source| Rule {
            key: RuleKey { protocol: protocol.clone(), from_port, to_port, source },
            description: rule.description.clone(),
        })
        .collect())
}

/// The rules of one direction of a live group's spec (as `observe` wrote it).
fn live_rules(spec: &Value, direction: &str, resource: &str) -> Result<Vec<Rule>, AwsError> {
    let Some(rules) = spec.get(direction) else {
        return Ok(Vec::new());
    };
    let rules: Vec<SecurityGroupRule> = serde_json::from_value(rules.clone())
        .map_err(|e| AwsError::unresolved(resource, format!("unreadable live {direction} rules: {e}")))?;
    let literal = |s: &str| Ok(s.to_string());
    let mut out = Vec::new();
    for r in &rules {
        out.extend(normalize(r, &literal)?);
    }
    Ok(out)
}

/// The manifest's rules of one direction. Without egress rules the group keeps AWS's default
/// egress (all traffic to 0.0.0.0/0, and to ::/0 where AWS added that too).
fn desired_rules(
    spec: &SecurityGroupSpec,
    direction: Direction,
    live: &[Rule],
    resolve: &dyn Fn(&str) -> Result<String, AwsError>,
) -> Result<Vec<Rule>, AwsError> {
    let rules = match direction {
        Direction::Ingress => &spec.ingress,
        Direction::Egress => &spec.egress,
    };
    if direction == Direction::Egress && rules.is_empty() {
        let mut out = vec![default_egress()];
        out.extend(
            live.iter()
                .filter(|r| r.key.protocol == ALL_PROTOCOLS && r.key.source == Source::Ipv6Cidr(ANY_IPV6.into()))
                .cloned(),
        );
        return Ok(out);
    }
    let mut out = Vec::new();
    for r in rules {
        out.extend(normalize(r, resolve)?);
    }
    Ok(out)
}

/// What to revoke (live, not desired) and authorize (desired, not live), comparing rules as sets
/// of keys: descriptions never make two rules different.
fn diff_rules(desired: &[Rule], live: &[Rule]) -> RuleDiff {
    let want: BTreeSet<&RuleKey> = desired.iter().map(|r| &r.key).collect();
    let have: BTreeSet<&RuleKey> = live.iter().map(|r| &r.key).collect();
    let mut diff = RuleDiff::default();
    let mut seen = BTreeSet::new();
    for r in live {
        if !want.contains(&r.key) && seen.insert(&r.key) {
            diff.revoke.push(r.clone());
        }
    }
    let mut seen = BTreeSet::new();
    for r in desired {
        if !have.contains(&r.key) && seen.insert(&r.key) {
            diff.authorize.push(r.clone());
        }
    }
    diff
}

/// What one IpPermission stands for: a protocol and a port range.
type Traffic<'a> = (&'a str, Option<i32>, Option<i32>);

/// Rules as AWS IpPermissions: one per (protocol, ports), carrying all its sources.
fn permissions(rules: &[Rule]) -> Vec<IpPermission> {
    let mut grouped: BTreeMap<Traffic, Vec<&Rule>> = BTreeMap::new();
    for r in rules {
        grouped.entry((r.key.protocol.as_str(), r.key.from_port, r.key.to_port)).or_default().push(r);
    }
    grouped
        .into_iter()
        .map(|((protocol, from, to), rules)| {
            let mut p = IpPermission::builder().ip_protocol(protocol).set_from_port(from).set_to_port(to);
            for r in rules {
                let d = r.description.clone();
                p = match &r.key.source {
                    Source::Cidr(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build()),
                    Source::Ipv6Cidr(c) => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build()),
                    Source::PrefixList(id) => {
                        p.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).set_description(d).build())
                    }
                    Source::SecurityGroup(id) => {
                        p.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).set_description(d).build())
                    }
                };
            }
            p.build()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> SecurityGroupSpec {
        serde_json::from_value(v).unwrap()
    }

    fn rules(v: Value) -> Vec<Rule> {
        live_rules(&json!({ "ingress": v }), "ingress", "SecurityGroup/t").unwrap()
    }

    fn by_name(s: &str) -> Result<String, AwsError> {
        Ok(match s {
            "alb" => "sg-0a1b".to_string(),
            other => other.to_string(),
        })
    }

    struct Case {
        what: &'static str,
        spec: Value,
        direction: Direction,
        live: Value,
        revoke: usize,
        authorize: usize,
    }

    #[test]
    fn rule_sets_compare_on_protocol_ports_and_source() {
        let cases = [
            Case {
                what: "descriptions do not make rules differ",
                spec: json!({"vpc": "main", "description": "d", "ingress": [
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0", "description": "HTTP"},
                    {"protocol": "tcp", "fromPort": 3000, "securityGroup": "alb"}
                ]}),
                direction: Direction::Ingress,
                live: json!([
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0"},
                    {"protocol": "tcp", "fromPort": 3000, "toPort": 3000, "securityGroup": "sg-0a1b", "description": "old"}
                ]),
                revoke: 0,
                authorize: 0,
            },
            Case {
                what: "all is -1, without ports",
                spec: json!({"vpc": "main", "description": "d", "egress": [
                    {"protocol": "all", "cidr": "0.0.0.0/0"},
                    {"protocol": "ALL", "fromPort": 0, "toPort": 65535, "ipv6Cidr": "::/0"}
                ]}),
                direction: Direction::Egress,
                live: json!([
                    {"protocol": "-1", "cidr": "0.0.0.0/0"},
                    {"protocol": "-1", "ipv6Cidr": "::/0"}
                ]),
                revoke: 0,
                authorize: 0,
            },
            Case {
                what: "no egress key keeps AWS's default egress",
                spec: json!({"vpc": "main", "description": "d"}),
                direction: Direction::Egress,
                live: json!([{"protocol": "-1", "cidr": "0.0.0.0/0"}]),
                revoke: 0,
                authorize: 0,
            },
            Case {
                what: "no egress key keeps the IPv6 default too, and restores a revoked default",
                spec: json!({"vpc": "main", "description": "d"}),
                direction: Direction::Egress,
                live: json!([{"protocol": "-1", "ipv6Cidr": "::/0"}]),
                revoke: 0,
                authorize: 1,
            },
            Case {
                what: "explicit egress replaces the default",
                spec: json!({"vpc": "main", "description": "d", "egress": [
                    {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "0.0.0.0/0"}
                ]}),
                direction: Direction::Egress,
                live: json!([{"protocol": "-1", "cidr": "0.0.0.0/0"}]),
                revoke: 1,
                authorize: 1,
            },
            Case {
                what: "a changed port is one revoke and one authorize",
                spec: json!({"vpc": "main", "description": "d", "ingress": [
                    {"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidr": "10.0.0.0/16"},
                    {"protocol": "udp", "fromPort": 53, "toPort": 53, "cidr": "10.0.0.0/16"}
                ]}),
                direction: Direction::Ingress,
                live: json!([
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "10.0.0.0/16"},
                    {"protocol": "udp", "fromPort": 53, "toPort": 53, "cidr": "10.0.0.0/16"}
                ]),
                revoke: 1,
                authorize: 1,
            },
            Case {
                what: "protocol numbers of named protocols are the names",
                spec: json!({"vpc": "main", "description": "d", "ingress": [
                    {"protocol": "6", "fromPort": 22, "toPort": 22, "prefixList": "pl-1"}
                ]}),
                direction: Direction::Ingress,
                live: json!([{"protocol": "tcp", "fromPort": 22, "toPort": 22, "prefixList": "pl-1"}]),
                revoke: 0,
                authorize: 0,
            },
            Case {
                what: "no ingress revokes every live ingress rule",
                spec: json!({"vpc": "main", "description": "d"}),
                direction: Direction::Ingress,
                live: json!([
                    {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "0.0.0.0/0"},
                    {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "10.0.0.0/8"}
                ]),
                revoke: 2,
                authorize: 0,
            },
        ];
        for c in cases {
            let live = rules(c.live);
            let desired = desired_rules(&spec(c.spec), c.direction, &live, &by_name).unwrap();
            let diff = diff_rules(&desired, &live);
            assert_eq!((diff.revoke.len(), diff.authorize.len()), (c.revoke, c.authorize), "{}: {diff:?}", c.what);
        }
    }

    #[test]
    fn a_changed_port_revokes_the_old_and_authorizes_the_new() {
        let live = rules(json!([{"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "10.0.0.0/16"}]));
        let s = spec(json!({"vpc": "main", "description": "d", "ingress": [
            {"protocol": "tcp", "fromPort": 8080, "cidr": "10.0.0.0/16", "description": "app"}
        ]}));
        let diff = diff_rules(&desired_rules(&s, Direction::Ingress, &live, &by_name).unwrap(), &live);
        assert_eq!(diff.revoke[0].key.from_port, Some(80));
        assert_eq!(diff.authorize[0].key.from_port, Some(8080));
        assert_eq!(diff.authorize[0].key.to_port, Some(8080));
        assert_eq!(diff.authorize[0].description.as_deref(), Some("app"));
    }

    #[test]
    fn permissions_group_sources_by_protocol_and_ports() {
        let rs = rules(json!([
            {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "10.0.0.0/8", "description": "a"},
            {"protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroup": "sg-1"},
            {"protocol": "-1", "ipv6Cidr": "::/0"}
        ]));
        let perms = permissions(&rs);
        assert_eq!(perms.len(), 2);
        let all = perms.iter().find(|p| p.ip_protocol() == Some("-1")).unwrap();
        assert_eq!((all.from_port(), all.to_port()), (None, None));
        assert_eq!(all.ipv6_ranges()[0].cidr_ipv6(), Some("::/0"));
        let tcp = perms.iter().find(|p| p.ip_protocol() == Some("tcp")).unwrap();
        assert_eq!(tcp.ip_ranges()[0].description(), Some("a"));
        assert_eq!(tcp.user_id_group_pairs()[0].group_id(), Some("sg-1"));
    }

    #[test]
    fn live_groups_read_back_in_manifest_shape() {
        let g = SecurityGroup::builder()
            .group_id("sg-1")
            .group_name("web")
            .vpc_id("vpc-1")
            .description("d")
            .tags(Tag::builder().key(TAG_SET).value("prod").build())
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(80)
                    .to_port(80)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").description("HTTP").build())
                    .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-2").build())
                    .build(),
            )
            .ip_permissions_egress(
                IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .build();
        let live = live_group(&g, "web");
        assert_eq!(live.id, "sg-1");
        assert_eq!(live.tags[TAG_SET], "prod");
        assert_eq!(
            live.spec,
            json!({
                "vpc": "vpc-1",
                "description": "d",
                "ingress": [
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0", "description": "HTTP"},
                    {"protocol": "tcp", "fromPort": 80, "toPort": 80, "securityGroup": "sg-2"}
                ],
                "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}]
            })
        );
    }
}
