//! Cold start and peak memory of the Lambda binary on the example set: process start → first
//! event handled, through the local Lambda Runtime API, against the emulator. A measurement, not
//! a test: it prints numbers and asserts only that the run succeeded.
//!
//! `BOOTSTRAP=path` picks the binary (default: the `make lambda` build, else the dev build).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/runtime_api.rs"]
mod runtime_api;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Moto, create_network, example_set};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::store::sha256_hex;
use serde_json::json;

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().trim_end_matches(" kB").parse().unwrap_or(0)))
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let binary = std::env::var_os("BOOTSTRAP").map(PathBuf::from).unwrap_or_else(|| {
        let packaged = root.join("target/lambda/bootstrap");
        if packaged.exists() { packaged } else { PathBuf::from(env!("CARGO_BIN_EXE_bootstrap")) }
    });
    println!("binary: {} ({} bytes)", binary.display(), std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0));

    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let network = create_network(&moto, &clients.ec2).await;
    clients.s3.create_bucket().bucket("manifests").send().await.unwrap();
    let dir = example_set("prod", &network);
    let mut files = serde_json::Map::new();
    for entry in std::fs::read_dir(dir.path().join("prod")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files.insert(name.clone(), json!(sha256_hex(&bytes)));
        clients
            .s3
            .put_object()
            .bucket("manifests")
            .key(format!("prod/manifests/{name}"))
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }
    let generation = json!({"commit": "bench", "syncedAt": "2026-11-22T00:00:00Z", "files": files}).to_string();
    clients
        .s3
        .put_object()
        .bucket("manifests")
        .key("prod/generation.json")
        .body(generation.into_bytes().into())
        .send()
        .await
        .unwrap();
    let event = json!({
        "version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3", "account": "123456789012",
        "time": "2026-11-22T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"bucket": {"name": "manifests"}, "object": {"key": "prod/generation.json"}}
    });

    let mut rows = Vec::new();
    let mut ready_ms = Vec::new();
    let runs = std::iter::once(("first event (creates the example set)".to_string(), event.clone()))
        .chain((2..=6).map(|i| (format!("event {i}, fresh process (set already created)"), event.clone())));
    for (what, event) in runs {
        let api = runtime_api::RuntimeApi::start();
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", "ecs-reconciler")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ecs-reconciler")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("BUCKET", "manifests")
            .env("SETS", "prod")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (ok, answer) = api.invoke(&event, Duration::from_secs(120));
        let handled = started.elapsed();
        let ready = api.first_next().map(|t| t.duration_since(started)).unwrap_or_default();
        ready_ms.push(ready.as_secs_f64() * 1000.0);
        assert!(ok, "{answer:#}");
        let rss = peak_rss_kib(child.id());
        let _ = child.kill();
        let _ = child.wait();
        let run = &answer["run"];
        rows.push(format!(
            "| {what} | {:.1} ms | {} ms | {} ms | {:.1} MiB | {} | {} |",
            ready.as_secs_f64() * 1000.0,
            handled.as_millis(),
            run["durationMs"],
            rss as f64 / 1024.0,
            run["changes"],
            run["awsCallsTotal"]
        ));
    }
    println!(
        "\n| run (fresh process each) | process start → asks for the first event | process start → event handled | of which the reconcile run | peak RSS | changes | AWS calls |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!("{r}");
    }
    ready_ms.sort_by(f64::total_cmp);
    println!(
        "\nstart-up (process start → asks for the first event), {} fresh processes: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ready_ms.len(),
        ready_ms[0],
        ready_ms[ready_ms.len() / 2],
        ready_ms[ready_ms.len() - 1]
    );
}
