//! EC2 adapter: VPC and subnet Name lookups, security groups observed in manifest shape, and the
//! planned security-group actions, one call each.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup, Tag, TagSpecification,
    UserIdGroupPair,
};
use serde_json::{Map, Value};

use super::{AwsError, Clients, Created, Ids, Target, call_error};
use crate::manifest::spec::SecurityGroupSpec;
use crate::manifest::spec::security_group::SecurityGroupRule;
use crate::manifest::{Kind, ManifestSet, Resource, Spec};
use crate::plan::{Action, Ec2Call, Live, Observed, TAG_NAME, TAG_SET};

/// EC2 accepts at most this many values in one filter; longer lists are split (one call for any
/// realistic set).
const FILTER_VALUES: usize = 200;

/// The egress rule AWS gives every new security group in a VPC: all traffic to anywhere (IPv4).
const ALL_PROTOCOLS: &str = "-1";

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
        // Each manifest's name, and the names a create-before-destroy replacement generates for
        // it (`web-tasks-3f2a1c`: `?` matches one character in an EC2 filter value).
        let values: Vec<String> = names.iter().flat_map(|n| [n.to_string(), format!("{n}-??????")]).collect();
        let live = describe_groups(clients, "group-name", &values, set).await?;
        for (r, spec) in &groups {
            let vpc = observed.vpc_id(&spec.vpc);
            let ours =
                |g: &SecurityGroup| tag_value(g, TAG_SET) == Some(set) && tag_value(g, TAG_NAME) == Some(r.name());
            let generated = crate::plan::replace::generated_name(r);
            let all: Vec<&SecurityGroup> = live
                .iter()
                .filter(|g| {
                    g.group_name() == Some(r.name())
                        || g.group_name().is_some_and(|n| {
                            crate::plan::replace::is_generated(Kind::SecurityGroup, r.name(), n) && ours(g)
                        })
                })
                .collect();
            // The current generation: in the manifest's VPC, under the name a replacement
            // generates for the manifest as it is now, else its own name; the set's own first.
            let mut candidates: Vec<&SecurityGroup> =
                all.iter().copied().filter(|g| vpc.as_deref().is_none_or(|v| g.vpc_id() == Some(v))).collect();
            candidates.sort_by_key(|g| (!ours(g), g.group_name() != Some(generated.as_str())));
            let current = candidates.first().copied();
            if let Some(g) = current {
                observed.live.insert((Kind::SecurityGroup, r.name().to_string()), live_group(g, r.name()));
            }
            // The others the set owns for this manifest (an earlier generation, or the group in
            // the VPC the manifest moved away from) are superseded.
            for g in all.into_iter().filter(|g| ours(g) && Some(*g) != current) {
                let live = live_group(g, r.name());
                let used_by = network_interfaces(clients, &live.id).await?;
                observed.superseded.push(crate::plan::Superseded { live, used_by, load_balancers: vec![] });
            }
        }
    }

    if prune {
        let owned = describe_groups(clients, &format!("tag:{TAG_SET}"), &[set.to_string()], set).await?;
        for g in &owned {
            let name = tag_value(g, TAG_NAME).or(g.group_name()).unwrap_or_default();
            if !names.contains(name) {
                let live = live_group(g, name);
                let interfaces = network_interfaces(clients, &live.id).await?;
                if !interfaces.is_empty() {
                    observed.in_use.insert(live.id.clone(), interfaces);
                }
                observed.orphans.push(live);
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

/// The network interfaces that use the group (a load balancer's, a task's): AWS refuses to
/// delete a group while any does, and they linger for minutes after what made them is gone.
async fn network_interfaces(clients: &Clients, group: &str) -> Result<Vec<String>, AwsError> {
    tracing::debug!(group, "EC2 DescribeNetworkInterfaces");
    let out = clients
        .ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .map_err(call_error("DescribeNetworkInterfaces", format!("SecurityGroup {group}")))?;
    Ok(out
        .network_interfaces()
        .iter()
        .map(|n| format!("network interface {}", n.network_interface_id().unwrap_or("?")))
        .collect())
}

fn tag_value<'a>(g: &'a SecurityGroup, key: &str) -> Option<&'a str> {
    g.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// A live group in manifest shape: `{vpc, description, ingress, egress}`, one rule per source.
fn live_group(g: &SecurityGroup, name: &str) -> Live {
    let mut live = Live::new(Kind::SecurityGroup, name, g.group_id().unwrap_or_default());
    live.aws_name = g.group_name().filter(|n| *n != name).map(str::to_string);
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
// Apply: one action, one call
// ---------------------------------------------------------------------------------------------

fn ec2_tags(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// A rule written by a resend after a lost answer (authorize: `InvalidPermission.Duplicate`),
/// or already removed (revoke: `InvalidPermission.NotFound`), is done.
fn already_there(r: Result<(), AwsError>, code: &str) -> Result<(), AwsError> {
    match r {
        Err(e) if e.code() == Some(code) => {
            tracing::info!(error = %e, "already done");
            Ok(())
        }
        other => other,
    }
}

/// The ID of the group of this name in this VPC that the set owns (by its tags).
async fn find_group(clients: &Clients, name: &str, vpc: &str, set: &str) -> Result<Option<String>, AwsError> {
    let filter = |k: &str, v: &str| aws_sdk_ec2::types::Filter::builder().name(k).values(v).build();
    let out = clients
        .ec2
        .describe_security_groups()
        .filters(filter("group-name", name))
        .filters(filter("vpc-id", vpc))
        .send()
        .await
        .map_err(call_error("DescribeSecurityGroups", format!("SecurityGroup/{name}")))?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| g.tags().iter().any(|t| t.key() == Some(crate::plan::TAG_SET) && t.value() == Some(set)))
        .and_then(|g| g.group_id())
        .map(str::to_string))
}

/// Run one planned EC2 action against the target group (or create it).
pub async fn execute(
    clients: &Clients,
    call: Ec2Call,
    target: &Target<'_>,
    action: &Action,
    ids: &Ids,
) -> Result<Created, AwsError> {
    let resource = target.resource();
    let param = |e: String| AwsError::unresolved(&resource, e);
    let ec2 = &clients.ec2;
    let op = call.operation();
    tracing::debug!(%resource, call = op, summary = %action.summary, "EC2");
    match call {
        Ec2Call::CreateSecurityGroup => {
            let vpc: String = action.param("vpc").map_err(param)?.unwrap_or_default();
            let tags: BTreeMap<String, String> = action.param("tags").map_err(param)?.unwrap_or_default();
            let set = tags.get(crate::plan::TAG_SET).cloned().unwrap_or_default();
            let vpc = ids.vpc(&vpc)?;
            // A create-before-destroy replacement names a generated group name.
            let group_name =
                action.param::<String>("groupName").map_err(param)?.unwrap_or_else(|| target.name.to_string());
            let request = ec2
                .create_security_group()
                .group_name(&group_name)
                .description(action.param::<String>("description").map_err(param)?.unwrap_or_default())
                .vpc_id(&vpc)
                // Tagged at creation: a group whose reply was lost is still recognisably ours.
                .tag_specifications(
                    TagSpecification::builder()
                        .resource_type(ResourceType::SecurityGroup)
                        .set_tags(Some(ec2_tags(tags)))
                        .build(),
                );
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let out = req.send().await.map_err(call_error(op, &resource))?;
                    let id = out.group_id.unwrap_or_default();
                    if id.is_empty() {
                        return Err(AwsError::unresolved(resource, "CreateSecurityGroup returned no GroupId"));
                    }
                    Ok(id)
                }
            };
            let id = super::create_or_find(send, || find_group(clients, &group_name, &vpc, &set)).await?;
            Ok(Created::Resource(id))
        }
        Ec2Call::AuthorizeSecurityGroupIngress
        | Ec2Call::AuthorizeSecurityGroupEgress
        | Ec2Call::RevokeSecurityGroupIngress
        | Ec2Call::RevokeSecurityGroupEgress => {
            let group = target.id()?;
            let rules: Vec<SecurityGroupRule> = action.param("rules").map_err(param)?.unwrap_or_default();
            let permissions = Some(permissions(&rules, ids)?);
            match call {
                Ec2Call::AuthorizeSecurityGroupIngress => {
                    let r = ec2
                        .authorize_security_group_ingress()
                        .group_id(group)
                        .set_ip_permissions(permissions)
                        .send()
                        .await;
                    already_there(r.map(|_| ()).map_err(call_error(op, &resource)), "InvalidPermission.Duplicate")?;
                }
                Ec2Call::AuthorizeSecurityGroupEgress => {
                    let r = ec2
                        .authorize_security_group_egress()
                        .group_id(group)
                        .set_ip_permissions(permissions)
                        .send()
                        .await;
                    already_there(r.map(|_| ()).map_err(call_error(op, &resource)), "InvalidPermission.Duplicate")?;
                }
                Ec2Call::RevokeSecurityGroupIngress => {
                    let r = ec2
                        .revoke_security_group_ingress()
                        .group_id(group)
                        .set_ip_permissions(permissions)
                        .send()
                        .await;
                    already_there(r.map(|_| ()).map_err(call_error(op, &resource)), "InvalidPermission.NotFound")?;
                }
                _ => {
                    let r =
                        ec2.revoke_security_group_egress().group_id(group).set_ip_permissions(permissions).send().await;
                    already_there(r.map(|_| ()).map_err(call_error(op, &resource)), "InvalidPermission.NotFound")?;
                }
            }
            Ok(Created::Nothing)
        }
        Ec2Call::CreateTags => {
            let tags: BTreeMap<String, String> =
                serde_json::from_value(action.params.clone()).map_err(|e| param(e.to_string()))?;
            ec2.create_tags()
                .resources(target.id()?)
                .set_tags(Some(ec2_tags(tags)))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        Ec2Call::DeleteSecurityGroup => {
            let id: String = action.param("id").map_err(param)?.unwrap_or_default();
            ec2.delete_security_group().group_id(id).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
    }
}

/// Rules (one source each, as the plan writes them) as AWS IpPermissions: one per protocol and
/// port range, carrying all its sources. Security groups named by the set are resolved to IDs.
fn permissions(rules: &[SecurityGroupRule], ids: &Ids) -> Result<Vec<IpPermission>, AwsError> {
    type Traffic = (String, Option<i32>, Option<i32>);
    let mut grouped: BTreeMap<Traffic, Vec<&SecurityGroupRule>> = BTreeMap::new();
    for r in rules {
        grouped.entry((r.protocol.clone(), r.from_port, r.to_port)).or_default().push(r);
    }
    let mut out = Vec::new();
    for ((protocol, from, to), rules) in grouped {
        let mut p = IpPermission::builder().ip_protocol(protocol).set_from_port(from).set_to_port(to);
        for r in rules {
            let d = r.description.clone();
            if let Some(c) = &r.cidr {
                p = p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d.clone()).build());
            }
            if let Some(c) = &r.ipv6_cidr {
                p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d.clone()).build());
            }
            if let Some(id) = &r.prefix_list {
                p = p.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).set_description(d.clone()).build());
            }
            if let Some(g) = &r.security_group {
                let id = ids.resolve(Kind::SecurityGroup, g)?;
                p = p.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).set_description(d).build());
            }
        }
        out.push(p.build());
    }
    Ok(out)
}
