//! The ECS adapter: observes clusters, task definitions and services in manifest shape, and
//! executes their plan steps. What to change is decided by the plan, not here.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{ClusterField, ServiceField, SortOrder, TaskDefinitionField, TaskDefinitionStatus};
use futures::StreamExt;
use serde_json::Value;
use tracing::debug;

use super::ecs_convert as convert;
use super::{AwsError, Clients, Created, Ids, Target, call_error};
use crate::manifest::spec::cluster::{CapacityProviderStrategyItem, ClusterConfiguration, ServiceConnectDefaults};
use crate::manifest::spec::{ClusterSpec, NameValue, ServiceSpec, TaskDefinitionSpec};
use crate::manifest::{Kind, ManifestSet, Spec};
use crate::plan::normalize::revision_label;
use crate::plan::{Action, EcsCall, Live, Observed, TAG_HASH, TAG_MOVED_FROM, TAG_NAME, TAG_SET, TAG_TD};

/// DescribeClusters takes at most 100 names, DescribeServices 10.
const CLUSTERS_PER_CALL: usize = 100;
const SERVICES_PER_CALL: usize = 10;
/// How many older ACTIVE revisions are searched for one registered from the desired content.
const REVISIONS_SEARCHED: i32 = 10;
/// Independent reads in flight at once.
const CONCURRENCY: usize = 8;

fn ecs_tags(tags: Option<&[aws_sdk_ecs::types::Tag]>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .iter()
        .filter_map(|t| Some((t.key.clone()?, t.value.clone().unwrap_or_default())))
        .collect()
}

/// The cluster name in a reference: `main`, or the last part of a cluster ARN.
fn cluster_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// Observe everything the set names: clusters, services, and for each task-definition family
/// the revision the set's content lives in.
///
/// A no-op observe reads no task definition: when the reconciler points a service at a revision
/// it tags the service with that revision and its content hash ([`TAG_TD`], `family:rev@hash`),
/// and a revision is immutable, so a service of the set that still runs the tagged revision with
/// the desired hash proves the family unchanged at no extra call (DescribeServices returns the
/// tags). A family is read (DescribeTaskDefinition, more only on change) when no service proves
/// it: a service runs another revision, the tag is missing or names another hash, no service
/// uses the family, or `deep` asks for every family to be read. What the shortcut cannot see is a
/// revision deregistered under a running service (ECS keeps running and scaling it); `deep` does.
pub async fn observe(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    hashes: &BTreeMap<String, String>,
    prune: bool,
    deep: bool,
    observed: &mut Observed,
) -> Result<(), AwsError> {
    // Clusters: the set's own and those its services name.
    let mut clusters: Vec<String> = desired.of_kind(Kind::Cluster).map(|r| r.name().to_string()).collect();
    for r in desired.of_kind(Kind::Service) {
        if let Spec::Service(s) = &r.spec
            && !clusters.contains(&s.cluster)
        {
            clusters.push(s.cluster.clone());
        }
    }
    let mut cluster_arns: BTreeMap<String, String> = BTreeMap::new();
    let described = match describe_clusters(clients, &clusters).await {
        Ok(d) => d,
        Err(e) => {
            // Without the clusters, neither they nor their services can be compared.
            for c in &clusters {
                observed.unknown.insert((Kind::Cluster, c.clone()), e.to_string());
            }
            for r in desired.of_kind(Kind::Service) {
                let why = format!("its cluster could not be read: {e}");
                observed.unknown.insert((Kind::Service, r.name().to_string()), why);
            }
            vec![]
        }
    };
    for live in described {
        cluster_arns.insert(live.name.clone(), live.id.clone());
        if desired.get(Kind::Cluster, &live.name).is_some() {
            observed.live.insert((Kind::Cluster, live.name.clone()), live);
        }
    }

    // Services, by cluster, ten names a call; the chunks are independent and read concurrently.
    // A chunk whose read fails leaves its services unknown.
    let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in desired.of_kind(Kind::Service) {
        if let Spec::Service(s) = &r.spec {
            by_cluster.entry(cluster_name(&s.cluster).to_string()).or_default().push(r.name().to_string());
        }
    }
    let chunks: Vec<(&String, &[String])> = by_cluster
        .iter()
        .filter_map(|(cluster, names)| Some((cluster_arns.get(cluster)?, names)))
        .flat_map(|(arn, names)| names.chunks(SERVICES_PER_CALL).map(move |c| (arn, c)))
        .collect();
    type Chunk<'a> = (&'a [String], Result<Vec<Live>, AwsError>);
    let services: Vec<Chunk> = futures::stream::iter(chunks)
        .map(|(arn, chunk)| async move { (chunk, describe_services(clients, arn, chunk).await) })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (chunk, found) in services {
        match found {
            Ok(found) => {
                for live in found {
                    observed.live.insert((Kind::Service, live.name.clone()), live);
                }
            }
            Err(e) => {
                for name in chunk {
                    observed.unknown.insert((Kind::Service, name.clone()), e.to_string());
                }
            }
        }
    }

    observe_moves(clients, set, desired, &cluster_arns, observed).await;

    // Task definitions: proven by a service's binding tag, else one call per family (there is
    // no batch describe), more only on change; the families are independent and read concurrently.
    // A family whose reads fail is unknown; the others are observed.
    let mut to_read = Vec::new();
    for r in desired.of_kind(Kind::TaskDefinition) {
        let family = r.name();
        match hashes.get(family).filter(|_| !deep).and_then(|h| bound_revision(set, desired, observed, family, h)) {
            Some(live) => {
                debug!(family, revision = %revision_label(&live.id), "task definition proven by a service's binding tag");
                observed.task_definition_matches.insert(family.to_string(), live.id.clone());
                observed.live.insert((Kind::TaskDefinition, family.to_string()), live);
            }
            None => to_read.push(family.to_string()),
        }
    }
    type Family = (String, Result<Option<(Live, Option<String>)>, AwsError>);
    let families: Vec<Family> = futures::stream::iter(to_read)
        .map(|family| async move {
            let found = observe_family(clients, set, &family, hashes.get(&family)).await;
            (family, found)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for (family, found) in families {
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                observed.unknown.insert((Kind::TaskDefinition, family), e.to_string());
                continue;
            }
        };
        if let Some((latest, matching)) = found {
            if let Some(arn) = matching {
                observed.task_definition_matches.insert(family.clone(), arn);
            }
            observed.live.insert((Kind::TaskDefinition, family), latest);
        }
    }

    if prune {
        observe_orphans(clients, set, desired, observed).await?;
    }
    Ok(())
}

/// Services the manifests moved to another cluster. The set's service of the same name in the
/// cluster it left is superseded: deleted once the new one serves (a later run), so nothing owned
/// is left behind. Where to look costs nothing on a no-op: a service created by a move carries
/// the cluster it left in [`TAG_MOVED_FROM`] (emptied when the move is done); a service not found
/// in its cluster (a create) is looked for in the other clusters the set owns or names (one
/// ListClusters, one DescribeClusters, ten names a DescribeServices). A search that fails leaves
/// those services unknown this run, so none is created twice.
async fn observe_moves(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    cluster_arns: &BTreeMap<String, String>,
    observed: &mut Observed,
) {
    // (cluster to look in) → names; and each name's own cluster.
    let mut look: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut own: BTreeMap<String, String> = BTreeMap::new();
    let mut missing = Vec::new();
    for r in desired.of_kind(Kind::Service) {
        let Spec::Service(s) = &r.spec else { continue };
        let (name, cluster) = (r.name().to_string(), cluster_name(&s.cluster).to_string());
        own.insert(name.clone(), cluster.clone());
        match observed.get(Kind::Service, &name) {
            Some(live) => {
                if let Some(from) = live.tags.get(TAG_MOVED_FROM).filter(|f| !f.is_empty() && **f != cluster) {
                    look.entry(from.clone()).or_default().push(name);
                }
            }
            None if !observed.unknown.contains_key(&(Kind::Service, name.clone())) => missing.push(name),
            None => {}
        }
    }
    if !missing.is_empty() {
        match other_clusters(clients, set, cluster_arns).await {
            Ok(clusters) => {
                for c in clusters {
                    let names: Vec<String> = missing.iter().filter(|n| own[*n] != cluster_name(&c)).cloned().collect();
                    look.entry(cluster_name(&c).to_string()).or_default().extend(names);
                }
            }
            Err(e) => {
                for name in missing {
                    let why = format!("could not look for it in the set's other clusters: {e}");
                    observed.unknown.insert((Kind::Service, name), why);
                }
                return;
            }
        }
    }
    for (cluster, names) in look {
        let found = match describe_services(clients, &cluster, &names).await {
            Ok(f) => f,
            Err(e) => {
                for name in names {
                    observed.unknown.insert((Kind::Service, name), format!("its earlier cluster {cluster}: {e}"));
                }
                continue;
            }
        };
        for old in found {
            if old.tags.get(TAG_SET).map(String::as_str) != Some(set)
                || old.tags.get(TAG_NAME).is_some_and(|n| *n != old.name)
            {
                continue;
            }
            // The new one serves when its rollout is steady (all tasks running, one deployment).
            let new_cluster = own.get(&old.name).and_then(|c| cluster_arns.get(c)).cloned();
            let used_by = match (observed.get(Kind::Service, &old.name), new_cluster) {
                (Some(_), Some(arn)) => match rollouts(clients, &arn, std::slice::from_ref(&old.name)).await {
                    Ok(r) if r.iter().all(Rollout::is_steady) => vec![],
                    Ok(r) => r
                        .iter()
                        .map(|r| {
                            format!(
                                "Service/{} in cluster {} ({}/{} running)",
                                r.name,
                                cluster_name(&arn),
                                r.running,
                                r.desired
                            )
                        })
                        .collect(),
                    Err(e) => vec![format!("Service/{} in cluster {} (not read: {e})", old.name, cluster_name(&arn))],
                },
                _ => vec![format!("Service/{} is not created in its new cluster yet", old.name)],
            };
            observed.superseded.push(crate::plan::Superseded { live: old, used_by, load_balancers: vec![] });
        }
    }
}

/// Every cluster of the account, by ARN (ListClusters, 100 a page).
async fn list_clusters(clients: &Clients) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut pages = clients.ecs.list_clusters().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        arns.extend(page.map_err(call_error("ListClusters", "account"))?.cluster_arns().iter().cloned());
    }
    Ok(arns)
}

/// The clusters besides the set's own that the set owns (by tag), as ARNs.
async fn other_clusters(
    clients: &Clients,
    set: &str,
    cluster_arns: &BTreeMap<String, String>,
) -> Result<Vec<String>, AwsError> {
    let arns = list_clusters(clients).await?;
    let known: Vec<&String> = cluster_arns.values().collect();
    let unknown: Vec<String> = arns.iter().filter(|a| !known.contains(a)).cloned().collect();
    let owned = describe_clusters(clients, &unknown).await?;
    Ok(owned
        .into_iter()
        .filter(|c| c.tags.get(TAG_SET).map(String::as_str) == Some(set))
        .map(|c| c.id)
        .chain(cluster_arns.values().cloned())
        .collect())
}

/// The revision of `family` a service of the set proves to hold content `hash`: the service is
/// the set's, runs revision `family:N`, and its binding tag says `family:N@hash`. Returned as the
/// family's live state: that revision, with the tags the reconciler registered it with.
fn bound_revision(set: &str, desired: &ManifestSet, observed: &Observed, family: &str, hash: &str) -> Option<Live> {
    desired.of_kind(Kind::Service).find_map(|r| {
        let Spec::Service(s) = &r.spec else { return None };
        if s.task_definition != family {
            return None;
        }
        let live = observed.get(Kind::Service, r.name())?;
        if live.tags.get(TAG_SET).map(String::as_str) != Some(set) {
            return None;
        }
        let running = live.spec.get("taskDefinition")?.as_str()?;
        let label = revision_label(running);
        let (bound, bound_hash) = live.tags.get(TAG_TD)?.split_once('@')?;
        let same_family = label.split(':').next() == Some(family);
        if !(same_family && bound == label && bound_hash == hash && running.starts_with("arn:")) {
            return None;
        }
        let mut td = Live::new(Kind::TaskDefinition, family, running);
        td.tags = BTreeMap::from([
            (TAG_SET.to_string(), set.to_string()),
            (TAG_NAME.to_string(), family.to_string()),
            (TAG_HASH.to_string(), hash.to_string()),
        ]);
        Some(td)
    })
}

async fn describe_clusters(clients: &Clients, names: &[String]) -> Result<Vec<Live>, AwsError> {
    let mut out = Vec::new();
    for chunk in names.chunks(CLUSTERS_PER_CALL) {
        debug!(count = chunk.len(), "ecs:DescribeClusters");
        let resp = clients
            .ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .include(ClusterField::Configurations)
            .send()
            .await
            .map_err(call_error("DescribeClusters", format!("{} cluster(s)", chunk.len())))?;
        for c in resp.clusters() {
            if c.status() != Some("ACTIVE") {
                continue;
            }
            let (Some(name), Some(arn)) = (c.cluster_name(), c.cluster_arn()) else {
                continue;
            };
            let mut live = Live::new(Kind::Cluster, name, arn);
            live.tags = ecs_tags(Some(c.tags()));
            live.spec = convert::cluster_json(c);
            out.push(live);
        }
    }
    Ok(out)
}

/// The newest ACTIVE revision of a family and its content-hash tag; `None` when the family has no
/// ACTIVE revision.
async fn describe_task_definition(clients: &Clients, family: &str) -> Result<Option<(Live, Option<String>)>, AwsError> {
    debug!(family, "ecs:DescribeTaskDefinition");
    let resp =
        clients.ecs.describe_task_definition().task_definition(family).include(TaskDefinitionField::Tags).send().await;
    let resp = match resp {
        Ok(r) => r,
        // ECS answers ClientException for a family it does not know (or with no ACTIVE revision).
        Err(e) if e.as_service_error().is_some_and(|s| s.is_client_exception()) => {
            return Ok(None);
        }
        Err(e) => {
            return Err(call_error("DescribeTaskDefinition", format!("TaskDefinition/{family}"))(e));
        }
    };
    let Some(td) = resp.task_definition() else {
        return Ok(None);
    };
    if td.status().map(|s| s.as_str()) != Some("ACTIVE") {
        return Ok(None);
    }
    let mut live = Live::new(Kind::TaskDefinition, family, td.task_definition_arn().unwrap_or_default());
    live.tags = ecs_tags(Some(resp.tags()));
    live.spec = convert::task_definition_json(td);
    let hash = live.tags.get(TAG_HASH).cloned();
    Ok(Some((live, hash)))
}

/// The newest ACTIVE revision of a family, and the ARN of an ACTIVE revision registered from
/// content with hash `want`. When the newest revision is not the set's (someone registered one
/// since), the family is still the set's if one of its recent revisions is: the newest's
/// ownership tags are then taken from that one.
async fn observe_family(
    clients: &Clients,
    set: &str,
    family: &str,
    want: Option<&String>,
) -> Result<Option<(Live, Option<String>)>, AwsError> {
    let Some((mut latest, latest_hash)) = describe_task_definition(clients, family).await? else { return Ok(None) };
    let owned = latest.tags.get(TAG_SET).map(String::as_str) == Some(set);
    if owned && want.is_some() && latest_hash.as_ref() == want {
        let arn = latest.id.clone();
        return Ok(Some((latest, Some(arn))));
    }
    let (matching, owner_tags) = search_revisions(clients, set, family, &latest.id, want.map(String::as_str)).await?;
    if !owned && let Some(tags) = owner_tags {
        latest.tags = tags;
    }
    let matching = matching.or_else(|| (want.is_some() && latest_hash.as_ref() == want).then(|| latest.id.clone()));
    Ok(Some((latest, matching)))
}

/// Search the recent ACTIVE revisions (newest first, at most [`REVISIONS_SEARCHED`]) for one
/// with content hash `want`, and for one tagged as the set's (its tags are returned).
async fn search_revisions(
    clients: &Clients,
    set: &str,
    family: &str,
    latest: &str,
    want: Option<&str>,
) -> Result<(Option<String>, Option<BTreeMap<String, String>>), AwsError> {
    debug!(family, "ecs:ListTaskDefinitions");
    let resp = clients
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(REVISIONS_SEARCHED)
        .send()
        .await
        .map_err(call_error("ListTaskDefinitions", format!("TaskDefinition/{family}")))?;
    let (mut matching, mut owner_tags) = (None, None);
    for arn in resp.task_definition_arns() {
        // familyPrefix is a prefix: `web` also lists `web-api`.
        let label = crate::plan::normalize::revision_label(arn);
        if arn == latest || label.split(':').next() != Some(family) {
            continue;
        }
        let r = clients
            .ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(call_error("DescribeTaskDefinition", format!("TaskDefinition/{label}")))?;
        let tags = ecs_tags(Some(r.tags()));
        if tags.get(TAG_SET).map(String::as_str) != Some(set) {
            continue;
        }
        if matching.is_none() && want.is_some() && tags.get(TAG_HASH).map(String::as_str) == want {
            matching = Some(arn.clone());
        }
        if owner_tags.is_none() {
            owner_tags = Some(tags);
        }
        if matching.is_some() || want.is_none() {
            break;
        }
    }
    Ok((matching, owner_tags))
}

async fn describe_services(clients: &Clients, cluster_arn: &str, names: &[String]) -> Result<Vec<Live>, AwsError> {
    Ok(describe_services_draining(clients, cluster_arn, names).await?.0)
}

/// [`describe_services`], and the names of those still DRAINING (deleted, tasks stopping).
async fn describe_services_draining(
    clients: &Clients,
    cluster_arn: &str,
    names: &[String],
) -> Result<(Vec<Live>, Vec<String>), AwsError> {
    let mut out = Vec::new();
    let mut draining = Vec::new();
    for chunk in names.chunks(SERVICES_PER_CALL) {
        debug!(cluster = cluster_arn, count = chunk.len(), "ecs:DescribeServices");
        let resp = clients
            .ecs
            .describe_services()
            .cluster(cluster_arn)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(call_error(
                "DescribeServices",
                format!("{} service(s) in {}", chunk.len(), cluster_name(cluster_arn)),
            ))?;
        for s in resp.services() {
            // A deleted service stays visible as INACTIVE (and DRAINING while it stops).
            if s.status() == Some("DRAINING") {
                draining.push(format!("service {} (DRAINING)", s.service_name().unwrap_or("?")));
            }
            if matches!(s.status(), Some("INACTIVE") | Some("DRAINING")) {
                continue;
            }
            let (Some(name), Some(arn)) = (s.service_name(), s.service_arn()) else {
                continue;
            };
            let mut live = Live::new(Kind::Service, name, arn);
            live.tags = ecs_tags(Some(s.tags()));
            live.spec = convert::service_json(s);
            if let Some(Value::Object(o)) = Some(&mut live.spec) {
                o.entry("cluster".to_string()).or_insert_with(|| Value::String(cluster_arn.to_string()));
            }
            out.push(live);
        }
    }
    Ok((out, draining))
}

/// Owned resources whose manifests left the set: clusters and services tagged with the set, and
/// task-definition families whose newest revision is.
async fn observe_orphans(
    clients: &Clients,
    set: &str,
    desired: &ManifestSet,
    observed: &mut Observed,
) -> Result<(), AwsError> {
    let owned = |tags: &BTreeMap<String, String>| tags.get(TAG_SET).map(String::as_str) == Some(set);
    // What `observe` already described is not described again.
    let known: std::collections::BTreeSet<String> = observed.live.values().map(|l| l.id.clone()).collect();
    let arns = list_clusters(clients).await?;
    let unknown: Vec<String> = arns.iter().filter(|a| !known.contains(*a)).cloned().collect();
    for c in describe_clusters(clients, &unknown).await? {
        let name = c.tags.get(TAG_NAME).cloned().unwrap_or_else(|| c.name.clone());
        if owned(&c.tags) && desired.get(Kind::Cluster, &name).is_none() {
            observed.orphans.push(c);
        }
    }
    for cluster in &arns {
        let mut names = Vec::new();
        let mut pages = clients.ecs.list_services().cluster(cluster).max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(call_error("ListServices", format!("Cluster/{}", cluster_name(cluster))))?;
            names.extend(page.service_arns().iter().filter(|a| !known.contains(*a)).cloned());
        }
        let (services, draining) = describe_services_draining(clients, cluster, &names).await?;
        if !draining.is_empty() {
            observed.in_use.insert(cluster.clone(), draining);
        }
        for s in services {
            if owned(&s.tags) && desired.get(Kind::Service, &s.name).is_none() {
                observed.orphans.push(s);
            }
        }
    }
    let mut families = Vec::new();
    let mut pages = clients
        .ecs
        .list_task_definition_families()
        .status(aws_sdk_ecs::types::TaskDefinitionFamilyStatus::Active)
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        families.extend(page.map_err(call_error("ListTaskDefinitionFamilies", "account"))?.families().iter().cloned());
    }
    for family in families.iter().filter(|f| desired.get(Kind::TaskDefinition, f).is_none()) {
        if let Some((live, _)) = describe_task_definition(clients, family).await?
            && owned(&live.tags)
        {
            observed.orphans.push(live);
        }
    }
    Ok(())
}

// ---- apply: one action, one call --------------------------------------------------------------

/// The params of a create or update as a `ServiceSpec` (fields the action does not carry stay
/// unset); `has` tells which it carries.
fn service_spec(action: &Action) -> Result<ServiceSpec, String> {
    let mut v = action.params.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["forceNewDeployment", "serviceName", "tags"] {
            o.remove(k);
        }
        o.entry("cluster").or_insert(Value::String(String::new()));
        o.entry("taskDefinition").or_insert(Value::String(String::new()));
        if o.get("cluster").is_some_and(Value::is_null) {
            o.insert("cluster".into(), Value::String(String::new()));
        }
    }
    serde_json::from_value(v).map_err(|e| format!("{}: {e}", action.call))
}

fn tags_param(action: &Action, key: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    match key {
        Some(k) => Ok(action.param(k)?.unwrap_or_default()),
        None => serde_json::from_value(action.params.clone()).map_err(|e| e.to_string()),
    }
}

/// The set a create's tags name as owner.
fn owner(action: &Action) -> String {
    tags_param(action, Some("tags")).ok().and_then(|t| t.get(TAG_SET).cloned()).unwrap_or_default()
}

/// CreateService's `clientToken`: the same for the same set, cluster, service and content, so a
/// resend after a lost answer is recognised by ECS (at most 36 ASCII characters).
fn client_token(cluster: &str, name: &str, task_definition: &str, params: &Value) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{cluster}\n{name}\n{task_definition}\n{params}"));
    hex::encode(&digest[..16])
}

/// A service's binding tag names the revision it runs; `family:(new)@hash` is the revision this
/// run registered (the plan cannot know its number), looked up like the service's own
/// `taskDefinition` reference.
fn bound(mut tags: BTreeMap<String, String>, ids: &Ids) -> Result<BTreeMap<String, String>, AwsError> {
    if let Some(v) = tags.get_mut(TAG_TD)
        && let Some((family, hash)) = v.split_once('@').and_then(|(l, h)| Some((l.strip_suffix(":(new)")?, h)))
    {
        *v = format!("{}@{hash}", revision_label(&ids.resolve(Kind::TaskDefinition, family)?));
    }
    Ok(tags)
}

/// Run one planned ECS action.
pub async fn execute(
    clients: &Clients,
    call: EcsCall,
    target: &Target<'_>,
    action: &Action,
    ids: &Ids,
) -> Result<Created, AwsError> {
    let resource = target.resource();
    let p = |e: String| AwsError::unresolved(&resource, e);
    let ecs = &clients.ecs;
    let op = call.operation();
    debug!(%resource, call = op, summary = %action.summary, "ECS");
    match call {
        EcsCall::CreateCluster => {
            let spec: ClusterSpec = {
                let mut v = action.params.clone();
                if let Some(o) = v.as_object_mut() {
                    o.remove("clusterName");
                    o.remove("tags");
                }
                serde_json::from_value(v).map_err(|e| p(e.to_string()))?
            };
            let request = ecs
                .create_cluster()
                .cluster_name(target.name)
                .set_settings(non_empty(convert::cluster_settings(&spec.settings)))
                .set_capacity_providers(non_empty(spec.capacity_providers.clone()))
                .set_default_capacity_provider_strategy(non_empty(convert::capacity_provider_strategy(
                    &spec.default_capacity_provider_strategy,
                )?))
                .set_configuration(spec.configuration.as_ref().map(convert::cluster_configuration))
                .set_service_connect_defaults(convert::service_connect_defaults(
                    spec.service_connect_defaults.as_ref(),
                )?)
                .set_tags(Some(convert::tags(&tags_param(action, Some("tags")).map_err(p)?)));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let resp = req.send().await.map_err(call_error(op, &resource))?;
                    Ok(resp.cluster().and_then(|c| c.cluster_arn()).unwrap_or_default().to_string())
                }
            };
            let set = owner(action);
            let find = || async {
                let found = describe_clusters(clients, &[target.name.to_string()]).await?;
                Ok(found.into_iter().find(|c| c.tags.get(TAG_SET) == Some(&set)).map(|c| c.id))
            };
            Ok(Created::Resource(super::create_or_find(send, find).await?))
        }
        EcsCall::UpdateClusterSettings => {
            let settings: Vec<NameValue> = action.param("settings").map_err(p)?.unwrap_or_default();
            ecs.update_cluster_settings()
                .cluster(target.id()?)
                .set_settings(Some(convert::cluster_settings(&settings)))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        EcsCall::UpdateCluster => {
            let configuration: Option<ClusterConfiguration> = action.param("configuration").map_err(p)?;
            let defaults: Option<ServiceConnectDefaults> = action.param("serviceConnectDefaults").map_err(p)?;
            ecs.update_cluster()
                .cluster(target.id()?)
                .set_configuration(configuration.as_ref().map(convert::cluster_configuration))
                .set_service_connect_defaults(convert::service_connect_defaults(defaults.as_ref())?)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        EcsCall::PutClusterCapacityProviders => {
            let providers: Vec<String> = action.param("capacityProviders").map_err(p)?.unwrap_or_default();
            let strategy: Vec<CapacityProviderStrategyItem> =
                action.param("defaultCapacityProviderStrategy").map_err(p)?.unwrap_or_default();
            ecs.put_cluster_capacity_providers()
                .cluster(target.id()?)
                .set_capacity_providers(Some(providers))
                .set_default_capacity_provider_strategy(Some(convert::capacity_provider_strategy(&strategy)?))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        EcsCall::DeleteCluster => {
            let id: String = action.param("id").map_err(p)?.unwrap_or_default();
            ecs.delete_cluster().cluster(id).send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        EcsCall::RegisterTaskDefinition => {
            let tags = tags_param(action, Some("tags")).map_err(p)?;
            let mut v = action.params.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("tags");
            }
            let spec: TaskDefinitionSpec = serde_json::from_value(v).map_err(|e| p(e.to_string()))?;
            let request = convert::register_task_definition(ecs, target.name, &spec, &tags)?;
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let resp = req.send().await.map_err(call_error(op, &resource))?;
                    Ok(resp.task_definition().and_then(|t| t.task_definition_arn()).unwrap_or_default().to_string())
                }
            };
            // A revision registered by an attempt whose answer was lost carries this content's hash.
            let (set, hash) = (tags.get(TAG_SET).cloned().unwrap_or_default(), tags.get(TAG_HASH).cloned());
            let find = || async {
                let Some(hash) = &hash else { return Ok(None) };
                let (found, _) = search_revisions(clients, &set, target.name, "", Some(hash)).await?;
                Ok(found)
            };
            Ok(Created::Resource(super::create_or_find(send, find).await?))
        }
        EcsCall::DeregisterTaskDefinition => {
            // Every ACTIVE revision of the family: listed here, one deregister call each (the
            // plan names the family; the revisions are what AWS lists at that moment).
            let family: String = action.param("family").map_err(p)?.unwrap_or_default();
            let mut arns = Vec::new();
            let mut pages = ecs
                .list_task_definitions()
                .family_prefix(&family)
                .status(TaskDefinitionStatus::Active)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                arns.extend(
                    page.map_err(call_error("ListTaskDefinitions", &resource))?.task_definition_arns().iter().cloned(),
                );
            }
            for arn in arns.iter().filter(|a| revision_label(a).split(':').next() == Some(family.as_str())) {
                ecs.deregister_task_definition()
                    .task_definition(arn)
                    .send()
                    .await
                    .map_err(call_error(op, &resource))?;
            }
            Ok(Created::Nothing)
        }
        EcsCall::CreateService => {
            let spec = service_spec(action).map_err(p)?;
            let cluster = ids.resolve(Kind::Cluster, &spec.cluster)?;
            let task_definition = ids.resolve(Kind::TaskDefinition, &spec.task_definition)?;
            let token = client_token(&cluster, target.name, &task_definition, &action.params);
            let request = ecs
                .create_service()
                .client_token(token)
                .cluster(&cluster)
                .service_name(target.name)
                .task_definition(task_definition)
                .set_desired_count(spec.desired_count)
                .set_launch_type(spec.launch_type.as_deref().map(Into::into))
                .set_capacity_provider_strategy(non_empty(convert::capacity_provider_strategy(
                    &spec.capacity_provider_strategy,
                )?))
                .set_platform_version(spec.platform_version.clone())
                .set_role(spec.role.clone())
                .set_load_balancers(non_empty(convert::load_balancers(&spec, ids)?))
                .set_service_registries(non_empty(convert::service_registries(&spec.service_registries)))
                .set_network_configuration(convert::network_configuration(&spec, ids)?)
                .set_deployment_configuration(
                    spec.deployment_configuration.as_ref().map(convert::deployment_configuration),
                )
                .set_placement_constraints(non_empty(convert::placement_constraints(&spec.placement_constraints)))
                .set_placement_strategy(non_empty(convert::placement_strategy(&spec.placement_strategy)))
                .set_health_check_grace_period_seconds(spec.health_check_grace_period_seconds)
                .set_scheduling_strategy(spec.scheduling_strategy.as_deref().map(Into::into))
                .set_deployment_controller(
                    spec.deployment_controller.as_ref().map(convert::deployment_controller).transpose()?,
                )
                .set_enable_ecs_managed_tags(spec.enable_ecs_managed_tags)
                .set_propagate_tags(spec.propagate_tags.as_deref().map(Into::into))
                .set_enable_execute_command(spec.enable_execute_command)
                .set_availability_zone_rebalancing(spec.availability_zone_rebalancing.as_deref().map(Into::into))
                .set_tags(Some(convert::tags(&bound(tags_param(action, Some("tags")).map_err(p)?, ids)?)));
            let send = || {
                let req = request.clone();
                let resource = resource.clone();
                async move {
                    let resp = req.send().await.map_err(call_error(op, &resource))?;
                    Ok(resp.service().and_then(|s| s.service_arn()).unwrap_or_default().to_string())
                }
            };
            let set = owner(action);
            let find = || async {
                let found = describe_services(clients, &cluster, &[target.name.to_string()]).await?;
                Ok(found.into_iter().find(|s| s.tags.get(TAG_SET) == Some(&set)).map(|s| s.id))
            };
            Ok(Created::Resource(super::create_or_find(send, find).await?))
        }
        EcsCall::UpdateService => {
            let spec = service_spec(action).map_err(p)?;
            let has = |k: &str| action.has(k);
            let cluster = if spec.cluster.is_empty() { target.name.to_string() } else { spec.cluster.clone() };
            let mut u = ecs.update_service().cluster(cluster).service(target.name);
            if has("taskDefinition") {
                u = u.task_definition(ids.resolve(Kind::TaskDefinition, &spec.task_definition)?);
            }
            if has("desiredCount") {
                u = u.set_desired_count(spec.desired_count);
            }
            if has("capacityProviderStrategy") {
                u = u.set_capacity_provider_strategy(Some(convert::capacity_provider_strategy(
                    &spec.capacity_provider_strategy,
                )?));
            }
            if has("forceNewDeployment") {
                u = u.force_new_deployment(action.param::<bool>("forceNewDeployment").map_err(p)?.unwrap_or(false));
            }
            if has("deploymentConfiguration") {
                let d = spec.deployment_configuration.clone().unwrap_or_default();
                u = u.deployment_configuration(convert::deployment_configuration(&d));
            }
            if has("networkConfiguration") {
                u = u.set_network_configuration(convert::network_configuration(&spec, ids)?);
            }
            if has("loadBalancers") {
                u = u.set_load_balancers(Some(convert::load_balancers(&spec, ids)?));
            }
            if has("placementConstraints") {
                u = u.set_placement_constraints(Some(convert::placement_constraints(&spec.placement_constraints)));
            }
            if has("placementStrategy") {
                u = u.set_placement_strategy(Some(convert::placement_strategy(&spec.placement_strategy)));
            }
            if has("platformVersion") {
                u = u.set_platform_version(spec.platform_version.clone());
            }
            if has("healthCheckGracePeriodSeconds") {
                u = u.set_health_check_grace_period_seconds(spec.health_check_grace_period_seconds);
            }
            if has("enableExecuteCommand") {
                u = u.set_enable_execute_command(spec.enable_execute_command);
            }
            if has("enableECSManagedTags") {
                u = u.set_enable_ecs_managed_tags(spec.enable_ecs_managed_tags);
            }
            if has("propagateTags") {
                u = u.set_propagate_tags(spec.propagate_tags.as_deref().map(Into::into));
            }
            if has("serviceRegistries") {
                u = u.set_service_registries(Some(convert::service_registries(&spec.service_registries)));
            }
            if has("availabilityZoneRebalancing") {
                u = u.set_availability_zone_rebalancing(spec.availability_zone_rebalancing.as_deref().map(Into::into));
            }
            u.send().await.map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        EcsCall::DeleteService => {
            let id: String = action.param("id").map_err(p)?.unwrap_or_default();
            let cluster: String = action.param("cluster").map_err(p)?.unwrap_or_default();
            let force = action.param::<bool>("force").map_err(p)?.unwrap_or(false);
            ecs.delete_service()
                .cluster(cluster)
                .service(id)
                .force(force)
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
        EcsCall::TagResource => {
            ecs.tag_resource()
                .resource_arn(target.id()?)
                .set_tags(Some(convert::tags(&bound(tags_param(action, None).map_err(p)?, ids)?)))
                .send()
                .await
                .map_err(call_error(op, &resource))?;
            Ok(Created::Nothing)
        }
    }
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Where a service's rollout stands, for `--wait` and status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rollout {
    pub name: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    /// Deployments still in flight (1 when steady).
    pub deployments: usize,
    /// The primary deployment's rolloutState (`IN_PROGRESS`, `COMPLETED`, `FAILED`), when ECS
    /// reports one.
    pub state: Option<String>,
    pub reason: Option<String>,
    /// A blue/green, linear or canary service's service deployment in flight, when there is
    /// one (ListServiceDeployments, DescribeServiceDeployments).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<ServiceDeployment>,
}

/// Where a traffic-shifting deployment stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServiceDeployment {
    /// `PENDING`, `IN_PROGRESS`, `ROLLBACK_IN_PROGRESS`, ..., [`NO_DEPLOYMENT`] when none is in
    /// flight, or `UNKNOWN` when it could not be read.
    pub status: String,
    /// `PRE_SCALE_UP`, `TEST_TRAFFIC_SHIFT`, `PRODUCTION_TRAFFIC_SHIFT`, `BAKE_TIME`, ...
    pub stage: Option<String>,
    pub reason: Option<String>,
}

impl std::fmt::Display for ServiceDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(stage) = &self.stage {
            write!(f, " at {stage}")?;
        }
        Ok(())
    }
}

/// A traffic-shifting service with no service deployment in flight.
pub const NO_DEPLOYMENT: &str = "NONE";

/// The service deployment statuses that are not final (ECS API reference, ServiceDeployment
/// `status`).
const IN_FLIGHT: [&str; 5] = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"];

impl Rollout {
    /// Steady: one deployment, all desired tasks running, and not a failed rollout. A
    /// blue/green service runs both revisions until its bake time is over: it is steady when no
    /// service deployment is in flight.
    pub fn is_steady(&self) -> bool {
        let settled = match self.deployment.as_ref().map(|d| d.status.as_str()) {
            Some(NO_DEPLOYMENT) => true,
            Some("UNKNOWN") | None => self.deployments <= 1,
            Some(_) => false,
        };
        settled && self.running == self.desired && self.state.as_deref() != Some("FAILED")
    }

    pub fn has_failed(&self) -> bool {
        self.state.as_deref() == Some("FAILED")
    }
}

/// The service deployment in flight of a traffic-shifting service: one ListServiceDeployments
/// (only the statuses that are not final) and, when there is one, one DescribeServiceDeployments
/// for its lifecycle stage. A read that fails (an older role without the permission; the
/// emulator, which lacks both calls) is `UNKNOWN` with the reason, not an error of the wait.
async fn service_deployment(clients: &Clients, cluster: &str, service: &str) -> Option<ServiceDeployment> {
    use aws_sdk_ecs::types::ServiceDeploymentStatus;
    let unknown =
        |e: AwsError| ServiceDeployment { status: "UNKNOWN".into(), stage: None, reason: Some(e.to_string()) };
    let resource = format!("service {service} in {}", cluster_name(cluster));
    let listed = clients
        .ecs
        .list_service_deployments()
        .cluster(cluster)
        .service(service)
        .set_status(Some(IN_FLIGHT.iter().map(|s| ServiceDeploymentStatus::from(*s)).collect()))
        .send()
        .await
        .map_err(call_error("ListServiceDeployments", &resource));
    let briefs = match listed {
        Ok(r) => r.service_deployments().to_vec(),
        Err(e) => return Some(unknown(e)),
    };
    let Some(brief) = briefs.iter().max_by_key(|b| b.created_at().map(|t| t.secs())) else {
        return Some(ServiceDeployment { status: NO_DEPLOYMENT.into(), stage: None, reason: None });
    };
    let status = brief.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "UNKNOWN".into());
    let described = clients
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(brief.service_deployment_arn().map(|a| vec![a.to_string()]))
        .send()
        .await
        .map_err(call_error("DescribeServiceDeployments", &resource));
    let detail = described.ok().and_then(|r| r.service_deployments().first().cloned());
    Some(ServiceDeployment {
        status,
        stage: detail.as_ref().and_then(|d| d.lifecycle_stage()).map(|s| s.as_str().to_string()),
        reason: detail
            .and_then(|d| d.status_reason().map(str::to_string))
            .or(brief.status_reason().map(str::to_string)),
    })
}

/// The rollouts of some services of one cluster, ten a call.
pub async fn rollouts(clients: &Clients, cluster: &str, names: &[String]) -> Result<Vec<Rollout>, AwsError> {
    let mut out = Vec::new();
    for chunk in names.chunks(SERVICES_PER_CALL) {
        let resp =
            clients.ecs.describe_services().cluster(cluster).set_services(Some(chunk.to_vec())).send().await.map_err(
                call_error("DescribeServices", format!("{} service(s) in {}", chunk.len(), cluster_name(cluster))),
            )?;
        for s in resp.services() {
            let primary = s.deployments().iter().find(|d| d.status() == Some("PRIMARY"));
            let strategy = s.deployment_configuration().and_then(|d| d.strategy()).map(|x| x.as_str());
            let deployment = match convert::shifts_traffic(strategy) {
                true => service_deployment(clients, cluster, s.service_name().unwrap_or_default()).await,
                false => None,
            };
            out.push(Rollout {
                name: s.service_name().unwrap_or_default().to_string(),
                desired: s.desired_count(),
                running: s.running_count(),
                pending: s.pending_count(),
                deployments: s.deployments().len(),
                state: primary.and_then(|d| d.rollout_state()).map(|r| r.as_str().to_string()),
                reason: primary.and_then(|d| d.rollout_state_reason()).map(str::to_string),
                deployment,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod rollout_tests {
    use super::*;

    fn rollout(deployments: usize, running: i32, deployment: Option<&str>) -> Rollout {
        Rollout {
            name: "web".into(),
            desired: 2,
            running,
            pending: 0,
            deployments,
            state: None,
            reason: None,
            deployment: deployment.map(|s| ServiceDeployment { status: s.into(), stage: None, reason: None }),
        }
    }

    /// A blue/green service keeps two deployments through its bake time: its service deployment
    /// says when it is done; a rolling one (or one whose deployment could not be read) is done
    /// at one deployment.
    #[test]
    fn a_traffic_shifting_service_is_steady_when_no_service_deployment_is_in_flight() {
        assert!(rollout(1, 2, None).is_steady());
        assert!(!rollout(2, 2, None).is_steady());
        assert!(rollout(2, 2, Some(NO_DEPLOYMENT)).is_steady());
        assert!(!rollout(1, 2, Some("IN_PROGRESS")).is_steady());
        assert!(!rollout(1, 2, Some("ROLLBACK_IN_PROGRESS")).is_steady());
        assert!(rollout(1, 2, Some("UNKNOWN")).is_steady());
        assert!(!rollout(2, 2, Some("UNKNOWN")).is_steady());
        assert!(!rollout(1, 1, Some(NO_DEPLOYMENT)).is_steady(), "tasks still missing");
    }
}
