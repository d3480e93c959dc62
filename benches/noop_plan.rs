//! Benchmark: a no-op `plan` (observe + plan, nothing to change) for N Fargate services, each
//! with its own task definition, target group and listener rule on one shared ALB, spread over
//! several clusters, against the moto emulator. Reports the AWS calls by operation beside the
//! floor the AWS batch limits allow, the median wall time beside a minimal reference that makes
//! only the floor's calls with the same SDK in the same run, and the peak memory of the CLI's
//! `plan` on the same set.
//!
//! `cargo bench --profile lambda --bench noop_plan -- 10 100 1000` (docs/BENCHMARKS.md). Not a
//! test: nothing here is timed against a threshold, and `cargo test`/`cargo nextest run` do not
//! build or run it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::stack::Shape;
use common::{Moto, create_network};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::manifest::ManifestSet;
use ecs_reconciler::plan::{self, Op, PlanOptions};
use ecs_reconciler::reconcile::{self, Outcome, RunOptions};

/// AWS batch limits for the reads a no-op observe needs.
const DESCRIBE_CLUSTERS_MAX: usize = 100;
const DESCRIBE_SERVICES_MAX: usize = 10;
/// DescribeTargetGroups, DescribeLoadBalancers, DescribeListeners, DescribeRules: `PageSize` ≤ 400.
const ELBV2_PAGE_MAX: usize = 400;
/// DescribeTags: at most 20 ARNs.
const DESCRIBE_TAGS_MAX: usize = 20;
/// Reads in flight at once, in the reference as in the adapters.
const CONCURRENCY: usize = 8;

impl Shape {
    /// With `--prune`, the fewest calls when the account holds only this set: the same reads, plus
    /// one listing of each kind's account-wide names at the largest page size (ListClusters 100,
    /// ListServices 100 per cluster, ListTaskDefinitionFamilies 100; the target groups and load
    /// balancers are listed anyway), one DescribeSecurityGroups by the set's tag, and nothing
    /// described twice.
    fn minimum_prune(&self) -> BTreeMap<String, u64> {
        let mut m = self.minimum();
        m.insert("ECS:ListClusters".into(), self.clusters.div_ceil(100) as u64);
        m.insert("ECS:ListServices".into(), self.per_cluster.iter().map(|n| n.div_ceil(100) as u64).sum());
        m.insert("ECS:ListTaskDefinitionFamilies".into(), self.services.div_ceil(100) as u64);
        *m.get_mut("EC2:DescribeSecurityGroups").unwrap() += 1;
        // Log groups and scalable targets that left the set: one listing each (50 a page), even
        // for a set that has none.
        m.insert("Logs:DescribeLogGroups".into(), 1);
        m.insert("ApplicationAutoScaling:DescribeScalableTargets".into(), 1);
        m
    }

    /// The fewest calls a no-op observe of this set can make, by operation (the floor):
    /// ⌈clusters/100⌉ DescribeClusters; Σ over clusters ⌈services/10⌉ DescribeServices (with
    /// tags, which carry each task definition's binding: no DescribeTaskDefinition);
    /// ⌈target groups/400⌉ DescribeTargetGroups; ⌈load balancers/400⌉ DescribeLoadBalancers;
    /// per load balancer ⌈listeners/400⌉ DescribeListeners; per HTTP(S) listener
    /// ⌈(rules + default)/400⌉ DescribeRules; ⌈(target groups + load balancers)/20⌉ DescribeTags
    /// (no other ELBv2 read returns the ownership tags); one filtered DescribeSecurityGroups,
    /// DescribeVpcs and DescribeSubnets (none of the last two when IDs are given).
    fn minimum(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        m.insert("ECS:DescribeClusters".into(), self.clusters.div_ceil(DESCRIBE_CLUSTERS_MAX) as u64);
        m.insert(
            "ECS:DescribeServices".into(),
            self.per_cluster.iter().map(|n| n.div_ceil(DESCRIBE_SERVICES_MAX) as u64).sum(),
        );
        m.insert("ELBv2:DescribeTargetGroups".into(), self.services.div_ceil(ELBV2_PAGE_MAX) as u64);
        m.insert("ELBv2:DescribeLoadBalancers".into(), 1);
        m.insert("ELBv2:DescribeListeners".into(), 1);
        m.insert("ELBv2:DescribeRules".into(), (self.services + 1).div_ceil(ELBV2_PAGE_MAX) as u64);
        m.insert("ELBv2:DescribeTags".into(), (self.services + 1).div_ceil(DESCRIBE_TAGS_MAX) as u64);
        // One filter each (up to 200 values): all group names, all VPC names, all subnet names.
        m.insert("EC2:DescribeSecurityGroups".into(), 1);
        m.insert("EC2:DescribeVpcs".into(), 1);
        m.insert("EC2:DescribeSubnets".into(), 1);
        m
    }
}

struct Row {
    shape: Shape,
    runs: usize,
    /// Wall time of each no-op `plan_set`, sorted.
    times: Vec<Duration>,
    calls: BTreeMap<String, u64>,
    /// One more run split into its two halves: observe (AWS reads) and the pure plan.
    observe: Duration,
    plan: Duration,
    /// The minimal reference (only the floor's calls, same SDK, same concurrency), sorted, and
    /// its calls of one run.
    reference: Vec<Duration>,
    reference_calls: BTreeMap<String, u64>,
    /// The CLI's `plan` on the same set, a fresh process: peak RSS (KiB) and wall time.
    cli_peak_kib: u64,
    cli_wall: Duration,
    /// CPU time (user + system) of this process per no-op run: the SDK and the plan engine.
    cpu: Duration,
    /// The same no-op plan with `--prune`: median wall time and calls of one run.
    prune_median: Duration,
    prune_calls: BTreeMap<String, u64>,
    /// Applies the set needed to converge on moto (1, or 2 when moto dropped CreateService fields).
    applies: usize,
    /// Setup: the first apply, the settling apply, and moto's start.
    setup: Duration,
}

impl Row {
    fn median(&self) -> Duration {
        self.times[self.times.len() / 2]
    }
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 { format!("{ms:.0} ms") } else { format!("{ms:.1} ms") }
}

fn short(op: &str) -> &str {
    op.split(':').nth(1).unwrap_or(op)
}

/// CPU time (user + system) of this process so far, from /proc/self/stat (Linux), if readable.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux platform Rust targets.
    Some(Duration::from_millis(ticks * 10))
}

/// Returns how many applies it took.
async fn apply_until_settled(clients: &Clients, set: &str, desired: &ManifestSet) -> usize {
    let opts = RunOptions::default();
    // The first apply creates everything; moto drops a few CreateService fields that AWS keeps
    // (tests/README.md), so a second apply may have to settle them; a third must not be needed.
    for attempt in 0..5 {
        let (observed, plan) = reconcile::plan_set(clients, set, desired, &opts).await.expect("plan");
        if !plan.has_changes() {
            return attempt;
        }
        if attempt > 0 {
            for s in plan.steps.iter().filter(|s| s.op != Op::NoOp).take(10) {
                let paths: Vec<&str> = s.changes.iter().map(|c| c.path.as_str()).collect();
                eprintln!("  settling {} {}: {paths:?}", s.op.as_str(), s.id());
            }
        }
        let results = reconcile::apply(clients, desired, &observed, &plan, &opts).await.expect("apply");
        let failed: Vec<_> = results.iter().filter(|r| r.outcome != Outcome::Applied).collect();
        // A loaded emulator (the SDK's retries are off here) may fail a few creates transiently:
        // the next apply makes them, as the next run would.
        let transient = |r: &&reconcile::StepResult| r.message.as_deref().is_some_and(|m| m.contains("transient"));
        assert!(failed.iter().all(transient), "apply of {set} did not fully apply: {failed:#?}");
        if !failed.is_empty() {
            eprintln!("  {} step(s) failed transiently; applying again", failed.len());
        }
    }
    let (_, plan) = reconcile::plan_set(clients, set, desired, &opts).await.expect("plan");
    let left: Vec<String> = plan.steps.iter().filter(|s| s.op != Op::NoOp).map(|s| s.id()).collect();
    panic!("{set} does not converge after five applies: {left:?}");
}

async fn measure(services: usize) -> Row {
    let shape = Shape::new(services);
    let set = format!("bench-{services}");
    let runs = if services >= 1000 { 3 } else { 5 };

    let started = Instant::now();
    // A fresh emulator per size: moto's state (and its list scans) grow with every resource.
    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    create_network(&moto, &clients.ec2).await;
    let desired = ManifestSet::from_texts(shape.manifests());
    assert!(desired.is_valid(), "generated set is invalid: {:#?}", desired.errors().collect::<Vec<_>>());
    let applies = apply_until_settled(&clients, &set, &desired).await;
    let setup = started.elapsed();

    let opts = RunOptions::default();
    let mut times = Vec::new();
    let mut calls: Option<BTreeMap<String, u64>> = None;
    let cpu_before = cpu_time();
    for _ in 0..runs {
        clients.calls.reset();
        let t = Instant::now();
        let (_, plan) = reconcile::plan_set(&clients, &set, &desired, &opts).await.expect("no-op plan");
        times.push(t.elapsed());
        assert!(!plan.has_changes(), "the no-op plan of {set} has changes");
        assert_eq!(plan.count(Op::NoOp), desired.resources.len(), "one no-op step per resource");
        let writes = clients.calls.writes();
        assert!(writes.is_empty(), "a no-op plan wrote: {writes:?}");
        let snapshot = clients.calls.snapshot();
        if let Some(first) = &calls {
            assert_eq!(first, &snapshot, "calls differ between identical runs");
        }
        calls = Some(snapshot);
    }
    let cpu = match (cpu_before, cpu_time()) {
        (Some(a), Some(b)) => (b - a) / runs as u32,
        _ => Duration::ZERO,
    };
    times.sort();

    // With --prune (the Lambda's PRUNE=true): the same, plus the scan for owned orphans.
    let prune_opts = RunOptions { prune: true, ..Default::default() };
    let mut prune_times = Vec::new();
    let mut prune_calls = BTreeMap::new();
    for _ in 0..runs {
        clients.calls.reset();
        let t = Instant::now();
        let (_, plan) = reconcile::plan_set(&clients, &set, &desired, &prune_opts).await.expect("no-op plan --prune");
        prune_times.push(t.elapsed());
        assert!(!plan.has_changes(), "the no-op plan --prune of {set} has changes");
        let writes = clients.calls.writes();
        assert!(writes.is_empty(), "a no-op plan --prune wrote: {writes:?}");
        prune_calls = clients.calls.snapshot();
    }
    prune_times.sort();

    // The same run in two halves, to show where the time goes.
    let t = Instant::now();
    let observed = reconcile::observe(&clients, &set, &desired, false).await;
    let observe = t.elapsed();
    let t = Instant::now();
    let p = plan::plan(&set, &desired, &observed, &PlanOptions { prune: false });
    let plan_time = t.elapsed();
    assert!(!p.has_changes());

    // The minimal reference, interleaved with our plan so both see the same load.
    let mut reference_times = Vec::new();
    let mut ours_again = Vec::new();
    let mut reference_calls = BTreeMap::new();
    for _ in 0..runs {
        clients.calls.reset();
        let t = Instant::now();
        reference(&clients, &shape).await;
        reference_times.push(t.elapsed());
        reference_calls = clients.calls.snapshot();
        let t = Instant::now();
        let (_, plan) = reconcile::plan_set(&clients, &set, &desired, &opts).await.expect("no-op plan");
        ours_again.push(t.elapsed());
        assert!(!plan.has_changes());
    }
    reference_times.sort();
    // Ours, measured beside the reference: the median of all runs.
    times.extend(ours_again);
    times.sort();

    let (cli_peak_kib, cli_wall) = cli_plan(&moto, &set, &shape);

    Row {
        shape,
        runs,
        times,
        calls: calls.expect("at least one run"),
        observe,
        plan: plan_time,
        reference: reference_times,
        reference_calls,
        cli_peak_kib,
        cli_wall,
        cpu,
        prune_median: prune_times[prune_times.len() / 2],
        prune_calls,
        applies,
        setup,
    }
}

/// The floor's calls and nothing else, with the same SDK clients and the same concurrency as the
/// adapters: what any no-op observe of this set must at least send and parse.
async fn reference(clients: &Clients, shape: &Shape) {
    use aws_sdk_ec2::types::Filter;
    use aws_sdk_ecs::types::{ClusterField, ServiceField};
    use futures::StreamExt;
    let ecs = async {
        let clusters: Vec<String> = (0..shape.clusters).map(|c| format!("bench-{c:02}")).collect();
        for chunk in clusters.chunks(DESCRIBE_CLUSTERS_MAX) {
            clients
                .ecs
                .describe_clusters()
                .set_clusters(Some(chunk.to_vec()))
                .include(ClusterField::Tags)
                .include(ClusterField::Settings)
                .include(ClusterField::Configurations)
                .send()
                .await
                .expect("DescribeClusters");
        }
        let mut chunks = Vec::new();
        for c in 0..shape.clusters {
            let names: Vec<String> =
                (0..shape.services).filter(|i| i % shape.clusters == c).map(|i| format!("svc-{i:03}")).collect();
            chunks.extend(names.chunks(DESCRIBE_SERVICES_MAX).map(|n| (format!("bench-{c:02}"), n.to_vec())));
        }
        futures::stream::iter(chunks)
            .map(|(cluster, names)| async move {
                clients
                    .ecs
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(names))
                    .include(ServiceField::Tags)
                    .send()
                    .await
                    .expect("DescribeServices")
            })
            .buffered(CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
    };
    let elbv2 = async {
        let tgs: Vec<_> = clients
            .elbv2
            .describe_target_groups()
            .page_size(ELBV2_PAGE_MAX as i32)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .expect("DescribeTargetGroups");
        let lbs: Vec<_> = clients
            .elbv2
            .describe_load_balancers()
            .page_size(ELBV2_PAGE_MAX as i32)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .expect("DescribeLoadBalancers");
        let lb_arns: Vec<String> = lbs
            .iter()
            .flat_map(|p| p.load_balancers())
            .filter_map(|l| l.load_balancer_arn().map(String::from))
            .collect();
        let arns: Vec<String> = tgs
            .iter()
            .flat_map(|p| p.target_groups())
            .filter_map(|t| t.target_group_arn().map(String::from))
            .chain(lb_arns.iter().cloned())
            .collect();
        let tags = futures::stream::iter(arns.chunks(DESCRIBE_TAGS_MAX).map(<[String]>::to_vec))
            .map(|chunk| async move {
                clients.elbv2.describe_tags().set_resource_arns(Some(chunk)).send().await.expect("DescribeTags")
            })
            .buffered(CONCURRENCY)
            .collect::<Vec<_>>();
        let listeners = async {
            for lb in &lb_arns {
                let pages: Vec<_> = clients
                    .elbv2
                    .describe_listeners()
                    .load_balancer_arn(lb)
                    .page_size(ELBV2_PAGE_MAX as i32)
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .expect("DescribeListeners");
                for l in pages.iter().flat_map(|p| p.listeners()) {
                    let _: Vec<_> = clients
                        .elbv2
                        .describe_rules()
                        .listener_arn(l.listener_arn().unwrap_or_default())
                        .page_size(ELBV2_PAGE_MAX as i32)
                        .into_paginator()
                        .send()
                        .try_collect()
                        .await
                        .expect("DescribeRules");
                }
            }
        };
        futures::join!(tags, listeners);
    };
    let ec2 = async {
        let name = |n: &str, v: &[&str]| {
            Filter::builder().name(n).set_values(Some(v.iter().map(|s| s.to_string()).collect())).build()
        };
        clients.ec2.describe_vpcs().filters(name("tag:Name", &["main"])).send().await.expect("DescribeVpcs");
        clients
            .ec2
            .describe_subnets()
            .filters(name("tag:Name", &["public-a", "public-b", "private-a", "private-b"]))
            .send()
            .await
            .expect("DescribeSubnets");
        clients
            .ec2
            .describe_security_groups()
            .filters(name("group-name", &["bench-tasks"]))
            .send()
            .await
            .expect("DescribeSecurityGroups");
    };
    futures::join!(ecs, elbv2, ec2);
}

/// The CLI's no-op `plan` on the same set, as a fresh process (`/usr/bin/time`): its peak RSS in
/// KiB and its wall time. (0, 0) when `/usr/bin/time` is missing.
fn cli_plan(moto: &Moto, set: &str, shape: &Shape) -> (u64, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in shape.manifests() {
        std::fs::write(dir.path().join(name), text).expect("write manifest");
    }
    let mut cmd = std::process::Command::new("/usr/bin/time");
    cmd.args(["-f", "%M"]).arg(env!("CARGO_BIN_EXE_ecs-reconciler"));
    cmd.args(["plan", "--output", "json", "--set", set, "--desired"]).arg(dir.path());
    common::aws_env(&mut cmd, moto);
    let t = Instant::now();
    let Ok(out) = cmd.output() else { return (0, Duration::ZERO) };
    let wall = t.elapsed();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(
        doc["changes"],
        serde_json::json!(false),
        "the CLI's plan has changes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = String::from_utf8_lossy(&out.stderr).lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    (peak, wall)
}

fn report(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| services | clusters | task defs | wall time (median) | AWS calls total | calls by operation | minimum by AWS batch limits |\n");
    out.push_str("|---:|---:|---:|---:|---:|---|---|\n");
    for r in rows {
        let min = r.shape.minimum();
        let by_op = |m: &BTreeMap<String, u64>| {
            m.iter().map(|(op, n)| format!("{} {n}", short(op))).collect::<Vec<_>>().join(", ")
        };
        let total: u64 = r.calls.values().sum();
        let min_total: u64 = min.values().sum();
        writeln!(
            out,
            "| {} | {} | {} | {} | {total} | {} | {min_total}: {} |",
            r.shape.services,
            r.shape.clusters,
            r.shape.services,
            ms(r.median()),
            by_op(&r.calls),
            by_op(&min),
        )
        .unwrap();
    }

    out.push_str("\nPer operation, ours / minimum (`+k` where ours exceeds it):\n\n");
    let mut ops: std::collections::BTreeSet<String> = rows.iter().flat_map(|r| r.calls.keys().cloned()).collect();
    ops.extend(rows.iter().flat_map(|r| r.shape.minimum().into_keys()));
    out.push_str("| operation |");
    for r in rows {
        write!(out, " {} services |", r.shape.services).unwrap();
    }
    out.push_str("\n|---|");
    for _ in rows {
        out.push_str("---:|");
    }
    out.push('\n');
    for op in &ops {
        write!(out, "| {op} |").unwrap();
        for r in rows {
            let ours = r.calls.get(op).copied().unwrap_or(0);
            let min = r.shape.minimum().get(op).copied().unwrap_or(0);
            let extra = if ours > min { format!(" (+{})", ours - min) } else { String::new() };
            write!(out, " {ours} / {min}{extra} |").unwrap();
        }
        out.push('\n');
    }

    out.push_str("\nWith `--prune` (also lists the account to find owned resources that left the set; nothing to delete here), ours / minimum:\n\n");
    let mut ops: std::collections::BTreeSet<String> = rows.iter().flat_map(|r| r.prune_calls.keys().cloned()).collect();
    ops.extend(rows.iter().flat_map(|r| r.shape.minimum_prune().into_keys()));
    out.push_str("| operation |");
    for r in rows {
        write!(out, " {} services |", r.shape.services).unwrap();
    }
    out.push_str("\n|---|");
    for _ in rows {
        out.push_str("---:|");
    }
    out.push('\n');
    for op in &ops {
        write!(out, "| {op} |").unwrap();
        for r in rows {
            let ours = r.prune_calls.get(op).copied().unwrap_or(0);
            let min = r.shape.minimum_prune().get(op).copied().unwrap_or(0);
            let extra = if ours > min { format!(" (+{})", ours - min) } else { String::new() };
            write!(out, " {ours} / {min}{extra} |").unwrap();
        }
        out.push('\n');
    }
    out.push_str("| **total** |");
    for r in rows {
        let ours: u64 = r.prune_calls.values().sum();
        let min: u64 = r.shape.minimum_prune().values().sum();
        write!(out, " **{ours} / {min}** |").unwrap();
    }
    out.push_str("\n| wall time (median) |");
    for r in rows {
        write!(out, " {} |", ms(r.prune_median)).unwrap();
    }
    out.push_str(
        "\n\nmoto answers ListClusters, ListServices and ListTaskDefinitionFamilies in one page whatever \
         their size: the List counts above are one per call site, where AWS pages them.\n",
    );

    out.push_str("\nWall time of the no-op plan against the minimal reference (only the floor's calls, same SDK, same concurrency, interleaved with ours), and the CLI's `plan` as a fresh process:\n\n");
    out.push_str("| services | runs | ours min / median / max | reference min / median / max | ratio of medians | reference calls | observe / pure plan (one run) | CPU of this process per run | CLI `plan`: wall, peak RSS | setup |\n");
    out.push_str("|---:|---:|---|---|---:|---:|---|---:|---|---:|\n");
    for r in rows {
        let reference = r.reference[r.reference.len() / 2];
        writeln!(
            out,
            "| {} | {} | {} / {} / {} | {} / {} / {} | {:.2} | {} | {} / {} | {} | {}, {:.1} MiB | {:.0} s, {} applies |",
            r.shape.services,
            r.times.len(),
            ms(r.times[0]),
            ms(r.median()),
            ms(*r.times.last().unwrap()),
            ms(r.reference[0]),
            ms(reference),
            ms(*r.reference.last().unwrap()),
            r.median().as_secs_f64() / reference.as_secs_f64(),
            r.reference_calls.values().sum::<u64>(),
            ms(r.observe),
            ms(r.plan),
            ms(r.cpu),
            ms(r.cli_wall),
            r.cli_peak_kib as f64 / 1024.0,
            r.setup.as_secs_f64(),
            r.applies,
        )
        .unwrap();
    }
    out
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks sizes, e.g. `-- 10 100`.
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10, 100, 1000] } else { sizes };
    let started = Instant::now();
    let load_before = loadavg();
    let mut rows = Vec::new();
    for n in sizes {
        eprintln!("noop_plan: {n} services ...");
        let row = measure(n).await;
        eprintln!(
            "noop_plan: {n} services: median {} over {} runs, {} calls (setup {:.1} s)",
            ms(row.median()),
            row.runs,
            row.calls.values().sum::<u64>(),
            row.setup.as_secs_f64()
        );
        rows.push(row);
    }
    println!("{}", report(&rows));
    println!(
        "Build profile: {}. {} CPU(s). Load average (1/5/15 min) at start: {}, at end: {}. Total bench time: {:.1} s.",
        if cfg!(debug_assertions) { "dev (unoptimised)" } else { "optimised" },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_before,
        loadavg(),
        started.elapsed().as_secs_f64()
    );
}
