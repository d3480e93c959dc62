//! `make demo`: the main job, end to end, on a local AWS emulator. It validates `desired/`, starts moto on 127.0.0.1,
//! creates the network `desired/` refers to, syncs `desired/` to a bucket, runs the Lambda
//! handler for the resulting S3 event (the code path the deployed function runs), then changes
//! things behind the reconciler's back, runs the scheduled event, and shows the repair and the
//! status table. Nothing leaves this machine.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use anstyle::{AnsiColor, Style};
use aws_sdk_ec2::types::{IpPermission, IpRange};
use common::{Moto, create_network, example_set};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::lambda::Config;
use ecs_reconciler::lambda::handler::{Ctx, handle};
use ecs_reconciler::plan::{Plan, render};
use ecs_reconciler::store::sync::{local_files, sync};
use ecs_reconciler::store::{SetLocation, status};
use serde_json::{Value, json};

const BUCKET: &str = "ecs-reconciler-demo";
const SET: &str = "prod";

fn heading(text: &str) {
    let s = Style::new().fg_color(Some(AnsiColor::Cyan.into())).bold();
    anstream::println!("\n{}== {text}{}", s.render(), s.render_reset());
}

/// The plan and the outcome of a handler answer.
fn show(answer: &Value) {
    let answer = if answer.get("runs").is_some() { &answer["runs"][0] } else { answer };
    let run = &answer["run"];
    if let Ok(plan) = serde_json::from_value::<Plan>(answer["detail"]["plan"].clone()) {
        anstream::print!("{}", render::text(&plan, false));
    }
    for r in answer["detail"]["results"].as_array().into_iter().flatten() {
        let msg = r["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
        anstream::println!(
            "  {:<8} {} {}/{}{msg}",
            r["outcome"].as_str().unwrap_or(""),
            r["op"].as_str().unwrap_or(""),
            r["kind"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or("")
        );
    }
    anstream::println!(
        "run: trigger {}, {} change(s) applied, {} error(s), {} AWS calls, {} ms",
        run["trigger"],
        run["changes"],
        run["errors"].as_array().map_or(0, Vec::len),
        run["awsCallsTotal"],
        run["durationMs"]
    );
}

/// `ecs-reconciler validate desired/` as the CLI runs it (the same library entry point as the
/// binary, so the demo needs no second build of it), then the demo.
fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = ecs_reconciler::cli::Cli::parse_from(["ecs-reconciler", "validate", "desired/"]);
    match ecs_reconciler::cli::run(cli) {
        Ok(code) if code == std::process::ExitCode::SUCCESS => {}
        Ok(code) => return code,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime").block_on(demo());
    std::process::ExitCode::SUCCESS
}

async fn demo() {
    let started = Instant::now();
    heading("Starting the AWS emulator (moto) on 127.0.0.1");
    let moto = Moto::start();
    println!("moto at {}", moto.endpoint());
    let clients = Clients::new(&moto.sdk_config());

    heading("Creating the network the example set refers to (a platform team's VPC)");
    let network = create_network(&moto, &clients.ec2).await;
    println!("VPC `main` = {}; subnets {:?}", network.vpc, network.subnets);
    clients.s3.create_bucket().bucket(BUCKET).send().await.expect("create the demo bucket");

    heading(&format!("ecs-reconciler sync desired/ s3://{BUCKET}/{SET}"));
    let dir = example_set(SET, &network);
    let files = local_files(&dir.path().join(SET)).expect("read desired/");
    let loc = SetLocation::new(BUCKET, SET);
    let report = sync(&clients, &loc, &files, "demo-commit-1").await.expect("sync");
    println!("uploaded {:?}; generation.json written: {}", report.uploaded, report.generation_written);

    let ctx = Ctx {
        clients: Clients::new(&moto.sdk_config()),
        config: Config {
            bucket: BUCKET.into(),
            sets: vec![SET.into()],
            observe: false,
            prune: false,
            replace: Default::default(),
            function_name: Some("ecs-reconciler".into()),
        },
    };
    heading("S3 \"Object Created\" for generation.json → the Lambda handler plans and applies");
    let event = json!({
        "version": "0", "id": "demo-1", "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [format!("arn:aws:s3:::{BUCKET}")],
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": format!("{SET}/generation.json")}}
    });
    show(&handle(&ctx, event, "demo-sync").await.expect("handle the S3 event"));
    let schedule = json!({
        "version": "0", "id": "demo-2", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
        "time": "2026-11-22T00:05:00Z", "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/ecs-reconciler-schedule"],
        "detail": {}
    });
    // moto drops a few CreateService fields that AWS keeps (tests/README.md): one tick settles them.
    handle(&ctx, schedule.clone(), "demo-settle").await.expect("settle");

    heading("Behind the reconciler's back: web scaled to 0, SSH opened to the world on the ALB's group");
    clients.ecs.update_service().cluster("main").service("web").desired_count(0).send().await.expect("scale web to 0");
    let alb = clients
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("group-name").values("web-alb").build())
        .send()
        .await
        .expect("find web-alb")
        .security_groups()[0]
        .group_id()
        .unwrap_or_default()
        .to_string();
    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    clients
        .ec2
        .authorize_security_group_ingress()
        .group_id(&alb)
        .ip_permissions(ssh)
        .send()
        .await
        .expect("open port 22");
    println!("web desiredCount = 0; {alb} allows tcp/22 from 0.0.0.0/0");

    heading("EventBridge schedule → drift found and repaired");
    show(&handle(&ctx, schedule, "demo-schedule").await.expect("handle the schedule"));
    let web = clients.ecs.describe_services().cluster("main").services("web").send().await.expect("describe web");
    let ports: Vec<i32> = clients
        .ec2
        .describe_security_groups()
        .group_ids(&alb)
        .send()
        .await
        .expect("describe web-alb")
        .security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port)
        .collect();
    println!("now: web desiredCount = {}; web-alb ingress ports {ports:?}", web.services()[0].desired_count);

    heading(&format!("ecs-reconciler status s3://{BUCKET}/{SET}"));
    let summary = status::read(&clients, &loc).await.expect("read status");
    print!("{}", status::render(&loc, &summary));

    heading(&format!("Done in {:.1}s; stopping the emulator", started.elapsed().as_secs_f64()));
}
