//! Surviving AWS under load and faults, through the fault-injecting AWS-shaped proxy
//! (`tests/awslike/proxy.py`): reads retried harder than writes, stalled calls ended by their
//! timeout, a run's deadline, one lease for every writer (recognising its own lost write), and
//! the example set converging under throttling, 5xx, resets and lost replies.

mod common;

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ecs::config::retry::RetryConfig;
use common::{AwsLike, Moto, aws_env, cli, cli_json, create_network, example_set, lambda_ctx};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::lambda::handler::handle_until;
use ecs_reconciler::store::{SetLocation, lease};
use serde_json::json;

/// A test SDK config with retries on (`attempts` for writes) and a short back-off.
fn retrying(config: SdkConfig, attempts: u32) -> SdkConfig {
    config
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .build()
}

async fn bucket(clients: &Clients) {
    clients.s3.create_bucket().bucket("manifests").send().await.unwrap();
}

async fn lock(clients: &Clients, prefix: &str) -> serde_json::Value {
    let out = clients.s3.get_object().bucket("manifests").key(format!("{prefix}/lock")).send().await.unwrap();
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}

// ---- retries and timeouts ---------------------------------------------------------------------

/// A read throttled more often than a write may be retried still succeeds; a write gives up
/// after its fewer attempts. Both are counted as retries.
#[tokio::test]
async fn a_throttled_read_is_retried_more_than_a_write() {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = Clients::new(&retrying(aws.sdk_config(), 3));
    aws.set_faults(json!({"faults": [
        {"kind": "throttle", "ops": ["ecs.ListClusters"], "count": 5},
        {"kind": "throttle", "ops": ["ecs.DeleteCluster"], "count": 5},
    ]}));
    clients.ecs.list_clusters().send().await.expect("a read throttled 5 times gets through on its 6th attempt");
    let e = clients.ecs.delete_cluster().cluster("c").send().await.unwrap_err();
    assert_eq!(aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e), Some("ThrottlingException"));
    let stats = aws.stats();
    assert_eq!(stats["requests"]["ecs.ListClusters"], 6, "{stats}");
    assert_eq!(stats["requests"]["ecs.DeleteCluster"], 3, "a write has the configured 3 attempts: {stats}");
    assert_eq!(clients.calls.retries(), 5 + 2);
    assert_eq!(clients.calls.snapshot()["ECS:ListClusters"], 1, "a call is counted once, however many attempts");
}

/// With retries off (as the other tests run), reads stay at one attempt.
#[tokio::test]
async fn retries_off_stay_off_for_reads() {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = Clients::new(&aws.sdk_config());
    aws.set_faults(json!({"faults": [{"kind": "throttle", "ops": ["ecs.ListClusters"], "count": 1}]}));
    assert!(clients.ecs.list_clusters().send().await.is_err());
    assert_eq!(aws.stats()["requests"]["ecs.ListClusters"], 1);
}

/// A call whose answer is held ends at the product's per-attempt timeout
/// (`ECS_RECONCILER_ATTEMPT_TIMEOUT`), not when the network gives the answer back.
#[tokio::test]
async fn a_stalled_call_ends_at_its_timeout() {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    // moto's first call to each service takes about a second (it loads lazily): not a stall.
    let warm = Clients::new(&aws.sdk_config());
    warm.ec2.describe_vpcs().send().await.unwrap();
    warm.ecs.list_clusters().send().await.unwrap();
    warm.elbv2.describe_load_balancers().send().await.unwrap();
    aws.set_faults(json!({"faults": [{"kind": "stall", "ops": ["ecs.DescribeClusters"], "seconds": 30}]}));
    let bin = env!("CARGO_BIN_EXE_ecs-reconciler");
    let started = Instant::now();
    let out = aws_env(std::process::Command::new(bin).args(["plan", "--desired", "desired"]), &aws)
        .env("ECS_RECONCILER_ATTEMPT_TIMEOUT", "2")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(elapsed < Duration::from_secs(15), "held for {elapsed:?}:\n{text}");
    assert!(text.contains("DescribeClusters") && text.contains("timeout"), "{text}");
}

/// Past its deadline, a run starts no step; each is reported as not started.
#[tokio::test]
async fn no_step_starts_after_the_deadline() {
    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let network = create_network(&moto, &clients.ec2).await;
    let dir = example_set("shop", &network);
    let desired = dir.path().join("shop").display().to_string();
    let (code, out) = cli_json(&moto, &["apply", "--desired", &desired, "--deadline", "0"]);
    assert_eq!(code, 1, "{out:#}");
    let results = out["summary"]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["outcome"], "skipped", "{r}");
        assert!(r["message"].as_str().unwrap().contains("deadline"), "{r}");
    }
    assert_eq!(out["summary"]["aws_writes_total"], 0, "{out:#}");
}

/// The Lambda's deadline comes from its context: a run with too little time left records every
/// step it did not start.
#[tokio::test]
async fn a_lambda_run_ends_before_its_deadline_with_the_unfinished_steps_recorded() {
    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    bucket(&clients).await;
    let network = create_network(&moto, &clients.ec2).await;
    let dir = example_set("prod", &network);
    let (code, _, err) =
        cli(&moto, &["sync", dir.path().join("prod").to_str().unwrap(), "s3://manifests/prod", "--commit", "c1"]);
    assert_eq!(code, 0, "{err}");
    let ctx = lambda_ctx(&moto, "manifests", "prod");
    // 5 s left: less than the margin kept for status and the lease.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let answer =
        handle_until(&ctx, json!({"action": "apply", "set": "prod"}), "req-1", Some(now_ms + 5000)).await.unwrap();
    let errors = answer["run"]["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{answer:#}");
    assert!(errors.iter().all(|e| e.as_str().unwrap().contains("deadline")), "{answer:#}");
    assert_eq!(answer["run"]["changes"], 0);
    assert_eq!(lock(&ctx.clients, "prod").await["expiresAt"], 0, "the lease was given back");
}

// ---- the lease --------------------------------------------------------------------------------

/// 8 CLI applies of one S3 set at once: one applies, the others say who holds the lease.
#[tokio::test]
async fn eight_cli_applies_at_once_one_applies() {
    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    bucket(&clients).await;
    let network = create_network(&moto, &clients.ec2).await;
    let dir = example_set("prod", &network);
    let (code, _, err) =
        cli(&moto, &["sync", dir.path().join("prod").to_str().unwrap(), "s3://manifests/prod", "--commit", "c1"]);
    assert_eq!(code, 0, "{err}");
    let bin = env!("CARGO_BIN_EXE_ecs-reconciler");
    let children: Vec<_> = (0..8)
        .map(|_| {
            aws_env(std::process::Command::new(bin).args(["apply", "--desired", "s3://manifests/prod"]), &moto)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let applied: Vec<_> = outs.iter().filter(|o| o.status.success()).collect();
    let refused: Vec<String> =
        outs.iter().filter(|o| !o.status.success()).map(|o| String::from_utf8_lossy(&o.stderr).to_string()).collect();
    assert_eq!(applied.len(), 1, "exactly one applies: {refused:#?}");
    assert_eq!(refused.len(), 7);
    for e in &refused {
        assert!(e.contains("the lease is held by cli@") && e.contains("nothing applied"), "{e}");
    }
    // Nothing registered twice.
    let tds = clients.ecs.list_task_definitions().send().await.unwrap();
    assert_eq!(tds.task_definition_arns().len(), 2, "{:?}", tds.task_definition_arns());
    assert_eq!(lock(&clients, "prod").await["expiresAt"], 0, "given back");
}

/// A lost answer to the lease's own PUT does not lock the set: the CLI (one attempt, so the
/// PUT fails) and the library (retries on, so the resend finds its own lock: 412) both read the
/// lock back and recognise their own.
#[tokio::test]
async fn a_lost_reply_to_the_lease_write_does_not_lock_the_set() {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = Clients::new(&aws.sdk_config());
    bucket(&clients).await;
    let network = create_network(&aws, &clients.ec2).await;
    let dir = example_set("shop", &network);
    let desired = dir.path().join("shop").display().to_string();

    aws.set_faults(json!({"faults": [{"kind": "lost", "ops": ["s3.PUT"], "count": 1}]}));
    let (code, out, err) = cli(&aws, &["apply", "--desired", &desired, "--lease", "s3://manifests/shop"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(aws.stats()["faults"]["s3.PUT"]["lost"], 1);
    assert_eq!(lock(&clients, "shop").await["expiresAt"], 0, "given back");

    // Retries on: the SDK resends the lost PUT, which finds the lock it wrote itself.
    let retrying = Clients::new(&retrying(aws.sdk_config(), 3));
    aws.set_faults(json!({"faults": [{"kind": "lost", "ops": ["s3.PUT"], "count": 1}]}));
    let loc = SetLocation::new("manifests", "other");
    let held = lease::acquire(&retrying, &loc, "me", lease::TTL).await.unwrap().expect("not locked out by itself");
    assert!(aws.stats()["requests"]["s3.PUT"].as_u64().unwrap() >= 2, "resent");
    // Another run sees it held, by whom.
    let Err(lease::Held(by)) = lease::acquire(&clients, &loc, "someone", lease::TTL).await.unwrap() else {
        panic!("two runs held the lease")
    };
    assert_eq!(by.owner, "me");
    lease::release(&retrying, held).await.unwrap();
    assert!(lease::acquire(&clients, &loc, "someone", lease::TTL).await.unwrap().is_ok(), "free once given back");
}

/// The heartbeat renews the lease while its run lasts.
#[tokio::test]
async fn the_lease_is_renewed_while_held() {
    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    bucket(&clients).await;
    let loc = SetLocation::new("manifests", "beat");
    let held = lease::acquire(&clients, &loc, "me", Duration::from_secs(3)).await.unwrap().unwrap();
    let first = lock(&clients, "beat").await["expiresAt"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = lock(&clients, "beat").await["expiresAt"].as_i64().unwrap();
    assert!(later > first, "renewed: {first} -> {later}");
    assert!(lease::acquire(&clients, &loc, "other", Duration::from_secs(3)).await.unwrap().is_err());
    lease::release(&clients, held).await.unwrap();
}

// ---- partial observation ----------------------------------------------------------------------

/// A read that fails after its retries (every DescribeTaskDefinition throttled, one attempt)
/// leaves the task definitions and the services that run them Unknown; the rest of the set is
/// applied. The next run, without faults, does the rest.
#[tokio::test]
async fn a_failed_read_leaves_only_its_resources_and_their_dependents_unknown() {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = Clients::new(&aws.sdk_config());
    let network = create_network(&aws, &clients.ec2).await;
    let dir = example_set("shop", &network);
    let desired = dir.path().join("shop").display().to_string();
    aws.set_faults(json!({"faults": [{"kind": "throttle", "ops": ["ecs.DescribeTaskDefinition"]}]}));
    let (code, out) = cli_json(&aws, &["apply", "--desired", &desired]);
    assert_eq!(code, 1, "not everything applied: {out:#}");
    let steps = out["plan"]["steps"].as_array().unwrap();
    let op = |kind: &str, name: &str| {
        steps.iter().find(|s| s["kind"] == kind && s["name"] == name).map(|s| s["op"].clone()).unwrap()
    };
    for (kind, name) in [("TaskDefinition", "web"), ("TaskDefinition", "worker"), ("Service", "web")] {
        assert_eq!(op(kind, name), "unknown", "{kind}/{name}");
    }
    for (kind, name) in
        [("SecurityGroup", "web-alb"), ("TargetGroup", "web"), ("LoadBalancer", "web"), ("Cluster", "main")]
    {
        assert_eq!(op(kind, name), "create", "{kind}/{name}");
    }
    let svc = steps.iter().find(|s| s["kind"] == "Service" && s["name"] == "web").unwrap();
    assert!(svc["reason"].as_str().unwrap().contains("depends on TaskDefinition/web"), "{svc}");
    let writes = out["summary"]["aws_calls"].as_object().unwrap();
    assert!(
        !writes.contains_key("ECS:RegisterTaskDefinition") && !writes.contains_key("ECS:CreateService"),
        "{writes:?}"
    );
    assert!(writes.contains_key("ELBv2:CreateLoadBalancer"), "{writes:?}");
    assert_eq!(out["summary"]["failed"], 0, "{out:#}");

    aws.set_faults(json!({"faults": []}));
    let (code, out) = cli_json(&aws, &["apply", "--desired", &desired]);
    assert_eq!(code, 0, "{out:#}");
    assert!(out["summary"]["aws_calls"]["ECS:CreateService"].as_u64() >= Some(1), "{out:#}");
}

// ---- the example set under faults -------------------------------------------------------------

/// The writes the example set's apply makes: lost replies are injected on these only.
const WRITES: &[&str] = &[
    "ecs.CreateCluster",
    "ecs.RegisterTaskDefinition",
    "ecs.CreateService",
    "ecs.UpdateService",
    "ecs.TagResource",
    "elbv2.CreateTargetGroup",
    "elbv2.ModifyTargetGroupAttributes",
    "elbv2.CreateLoadBalancer",
    "elbv2.ModifyLoadBalancerAttributes",
    "elbv2.CreateListener",
    "elbv2.CreateRule",
    "elbv2.AddTags",
    "ec2.CreateSecurityGroup",
    "ec2.AuthorizeSecurityGroupIngress",
    "ec2.AuthorizeSecurityGroupEgress",
    "ec2.RevokeSecurityGroupEgress",
    "ec2.CreateTags",
];

/// 20 % throttling, 5 % 5xx, 3 % resets on every ECS, ELBv2 and EC2 call; 5 % lost replies on
/// writes.
fn issue_faults(seed: u64) -> serde_json::Value {
    let all = json!(["ecs.*", "elbv2.*", "ec2.*"]);
    json!({"seed": seed, "faults": [
        {"kind": "lost", "ops": WRITES, "rate": 0.05},
        {"kind": "throttle", "ops": all, "rate": 0.2},
        {"kind": "error500", "ops": all, "rate": 0.025},
        {"kind": "error503", "ops": all, "rate": 0.025},
        {"kind": "reset", "ops": all, "rate": 0.03},
    ]})
}

/// What one convergence took (printed).
#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Converged {
    runs: usize,
    retries: u64,
    wall: Duration,
    faults: u64,
}

/// Apply the example set through the proxy (faults on during applies, off for the check) until
/// `plan` shows nothing to change; at most 5 runs. The CLI runs with the product's retry policy
/// (`AWS_MAX_ATTEMPTS` unset).
async fn converge(faults: Option<u64>) -> Converged {
    let moto = Moto::start();
    let aws = AwsLike::start(&moto);
    let clients = Clients::new(&aws.sdk_config());
    let network = create_network(&aws, &clients.ec2).await;
    let dir = example_set("shop", &network);
    let desired = dir.path().join("shop").display().to_string();
    let bin = env!("CARGO_BIN_EXE_ecs-reconciler");
    let started = Instant::now();
    let (mut runs, mut retries) = (0, 0);
    loop {
        runs += 1;
        if let Some(seed) = faults {
            aws.set_faults(issue_faults(seed * 1000 + runs as u64));
        }
        let out =
            aws_env(std::process::Command::new(bin).args(["apply", "--desired", &desired, "--output", "json"]), &aws)
                .env_remove("AWS_MAX_ATTEMPTS")
                .output()
                .unwrap();
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        retries += summary["summary"]["aws_retries"].as_u64().unwrap_or(0);
        aws.set_faults(json!({"faults": []}));
        let (code, _, _) = cli(&aws, &["plan", "--desired", &desired, "--detailed-exitcode"]);
        if code == 0 || runs >= 5 {
            break;
        }
    }
    let wall = started.elapsed();
    let stats = aws.stats();
    let faults_injected = stats["faults"]
        .as_object()
        .map(|m| m.values().flat_map(|k| k.as_object().unwrap().values()).filter_map(|n| n.as_u64()).sum())
        .unwrap_or(0);
    // No duplicates of any kind, no extra revisions.
    let lbs = clients.elbv2.describe_load_balancers().send().await.unwrap();
    assert_eq!(lbs.load_balancers().len(), 1, "one load balancer");
    let tgs = clients.elbv2.describe_target_groups().send().await.unwrap();
    assert_eq!(tgs.target_groups().len(), 1, "one target group");
    let listeners =
        clients.elbv2.describe_listeners().load_balancer_arn(lbs.load_balancers()[0].load_balancer_arn().unwrap());
    let listeners = listeners.send().await.unwrap();
    let mut ports: Vec<i32> = listeners.listeners().iter().filter_map(|l| l.port()).collect();
    ports.sort();
    assert_eq!(ports, [80, 443], "one listener per port");
    for l in listeners.listeners() {
        let rules = clients.elbv2.describe_rules().listener_arn(l.listener_arn().unwrap()).send().await.unwrap();
        let mut priorities: Vec<&str> = rules.rules().iter().filter_map(|r| r.priority()).collect();
        let n = priorities.len();
        priorities.dedup();
        assert_eq!(priorities.len(), n, "one rule per priority: {priorities:?}");
    }
    let tds = clients.ecs.list_task_definitions().send().await.unwrap();
    assert_eq!(tds.task_definition_arns().len(), 2, "one revision per family: {:?}", tds.task_definition_arns());
    let groups = clients.ec2.describe_security_groups().send().await.unwrap();
    let mut names: Vec<(&str, &str)> =
        groups.security_groups().iter().filter_map(|g| Some((g.vpc_id()?, g.group_name()?))).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "one group per name: {names:?}");
    let clusters = clients.ecs.list_clusters().send().await.unwrap();
    assert_eq!(clusters.cluster_arns().len(), 1);
    let services = clients.ecs.list_services().cluster(&clusters.cluster_arns()[0]).send().await.unwrap();
    assert_eq!(services.service_arns().len(), 2);
    Converged { runs, retries, wall, faults: faults_injected }
}

/// The example set converges under the issue's fault mix in no more runs than without faults for
/// at least 9 of 10 seeds, at most one more for all, with nothing duplicated (`FAULT_SEEDS=N`
/// runs N seeds instead of 10). Numbers in docs/BENCHMARKS.md.
#[tokio::test]
async fn the_example_set_converges_under_faults_as_without() {
    let baseline = converge(None).await;
    println!("no faults: {baseline:?}");
    let seeds: u64 = std::env::var("FAULT_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut more = 0;
    for seed in 1..=seeds {
        let c = converge(Some(seed)).await;
        println!("seed {seed}: {c:?}");
        assert!(c.runs <= baseline.runs + 1, "seed {seed}: {} runs, {} without faults", c.runs, baseline.runs);
        if c.runs > baseline.runs {
            more += 1;
        }
    }
    assert!(more * 10 <= seeds, "{more} of {seeds} seeds needed an extra run");
}
