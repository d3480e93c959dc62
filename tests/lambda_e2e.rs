//! The real `bootstrap` binary, driven through a local Lambda Runtime API with real-shaped
//! events, against the emulator: what a deployed function does.

mod common;
#[path = "common/runtime_api.rs"]
mod runtime_api;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Moto, create_network, example_set};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::store::sha256_hex;
use runtime_api::RuntimeApi;
use serde_json::{Value, json};

const BUCKET: &str = "manifests";
const SET: &str = "prod";
const TIMEOUT: Duration = Duration::from_secs(60);

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `bootstrap` as Lambda would, with the template's environment.
fn start_function(moto: &Moto, api: &RuntimeApi) -> Function {
    start_function_via(moto, &moto.endpoint(), api)
}

/// `start_function` with its AWS calls sent to `endpoint` (a proxy in front of the emulator).
fn start_function_via(moto: &Moto, endpoint: &str, api: &RuntimeApi) -> Function {
    let child = common::aws_env(&mut Command::new(env!("CARGO_BIN_EXE_bootstrap")), moto)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
        .env("AWS_LAMBDA_FUNCTION_NAME", "ecs-reconciler")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ecs-reconciler")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("BUCKET", BUCKET)
        .env("SETS", SET)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bootstrap");
    Function(child)
}

/// Upload a folder as a set, the way `sync` does: the files, then `generation.json` last.
async fn upload(clients: &Clients, dir: &std::path::Path, commit: &str) {
    let mut files = serde_json::Map::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files.insert(name.clone(), json!(sha256_hex(&bytes)));
        put(clients, &format!("{SET}/manifests/{name}"), bytes).await;
    }
    let generation = json!({"commit": commit, "syncedAt": "2026-11-22T00:00:00Z", "files": files});
    put(clients, &format!("{SET}/generation.json"), generation.to_string().into_bytes()).await;
}

async fn put(clients: &Clients, key: &str, body: Vec<u8>) {
    clients.s3.put_object().bucket(BUCKET).key(key).body(body.into()).send().await.unwrap();
}

async fn status(clients: &Clients, what: &str) -> Value {
    let key = format!("{SET}/status/{what}.json");
    let out = clients.s3.get_object().bucket(BUCKET).key(&key).send().await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The EventBridge "Object Created" event S3 sends for this set's generation.json.
fn generation_event() -> Value {
    let mut e = fixture("eventbridge-s3-object-created.json");
    e["detail"]["bucket"]["name"] = json!(BUCKET);
    e["detail"]["object"]["key"] = json!(format!("{SET}/generation.json"));
    e
}

async fn service(clients: &Clients) -> aws_sdk_ecs::types::Service {
    clients.ecs.describe_services().cluster("main").services("web").send().await.unwrap().services.unwrap().remove(0)
}

struct World {
    moto: Moto,
    clients: Clients,
    api: RuntimeApi,
    _function: Function,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let moto = Moto::start();
        let clients = Clients::new(&moto.sdk_config());
        let network = create_network(&moto, &clients.ec2).await;
        clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        let dir = example_set(SET, &network);
        let api = RuntimeApi::start();
        let function = start_function(&moto, &api);
        World { moto, clients, api, _function: function, dir }
    }

    fn invoke(&self, event: &Value) -> Value {
        let (ok, answer) = self.api.invoke(event, TIMEOUT);
        assert!(ok, "the function failed: {answer:#}");
        answer
    }

    fn set_dir(&self) -> std::path::PathBuf {
        self.dir.path().join(SET)
    }
}

fn run_of(answer: &Value) -> &Value {
    if answer.get("runs").is_some() { &answer["runs"][0]["run"] } else { &answer["run"] }
}

#[tokio::test]
async fn a_synced_set_is_applied_kept_in_shape_and_reported_in_status() {
    let w = World::new().await;
    upload(&w.clients, &w.set_dir(), "c0ffee1").await;

    let first = w.invoke(&generation_event());
    assert_eq!(run_of(&first)["errors"], json!([]), "{first:#}");
    assert!(run_of(&first)["changes"].as_u64().unwrap() >= 9, "{first:#}");
    // moto drops some CreateService fields (tests/README.md): one scheduled tick settles them.
    w.invoke(&fixture("eventbridge-schedule.json"));
    let tick = w.invoke(&fixture("eventbridge-schedule.json"));
    assert_eq!(run_of(&tick)["changes"], 0, "{tick:#}");

    for what in ["Service/web", "TargetGroup/web", "LoadBalancer/web", "SecurityGroup/web-tasks", "Cluster/main"] {
        let s = status(&w.clients, what).await;
        assert_eq!(s["condition"], "Synced", "{what}: {s:#}");
        assert_eq!(s["generation"], "c0ffee1");
        assert!(s["lastTransitionTime"].as_str().is_some_and(|t| t.starts_with("20")), "{s:#}");
    }
    let summary = status(&w.clients, "summary").await;
    assert_eq!(summary["runs"][0]["trigger"], "schedule");
    assert_eq!(summary["runs"][2]["trigger"], "sync");

    // Behind the reconciler's back: the log group's retention shortened. The next tick repairs it.
    w.clients.logs.put_retention_policy().log_group_name("/ecs/web").retention_in_days(1).send().await.unwrap();
    let repair = w.invoke(&fixture("eventbridge-schedule.json"));
    assert_eq!(run_of(&repair)["changes"], 1, "{repair:#}");
    let groups = w.clients.logs.describe_log_groups().log_group_name_prefix("/ecs/web").send().await.unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));

    // Application Auto Scaling scales the service out (its UpdateService, as CloudTrail records
    // it): no run, and the count stays.
    w.clients.ecs.update_service().cluster("main").service("web").desired_count(4).send().await.unwrap();
    let scaled = w.invoke(&fixture("cloudtrail-update-service-autoscaling.json"));
    assert!(scaled["ignored"].as_str().is_some_and(|w| w.contains("Application Auto Scaling")), "{scaled:#}");
    let tick = w.invoke(&fixture("eventbridge-schedule.json"));
    assert_eq!(run_of(&tick)["changes"], 0, "a desired count autoscaling set is no drift: {tick:#}");
    assert_eq!(service(&w.clients).await.desired_count, 4);

    // A CloudTrail write by a person is repaired at once, and only what it touched.
    w.clients.ecs.update_service().cluster("main").service("web").enable_execute_command(true).send().await.unwrap();
    let mut trail = fixture("cloudtrail-update-service.json");
    trail["detail"]["requestParameters"] = json!({"cluster": "main", "service": "web", "enableExecuteCommand": true});
    let repaired = w.invoke(&trail);
    assert_eq!(run_of(&repaired)["changes"], 1, "{repaired:#}");
    assert!(!service(&w.clients).await.enable_execute_command);
}

#[tokio::test]
async fn a_rolled_back_deployment_is_degraded_and_not_redeployed_on_the_next_tick() {
    let w = World::new().await;
    upload(&w.clients, &w.set_dir(), "c0ffee1").await;
    w.invoke(&generation_event());
    w.invoke(&fixture("eventbridge-schedule.json"));
    let ours = service(&w.clients).await.task_definition.unwrap();

    // ECS's circuit breaker rolls the service back to an earlier revision and says so.
    let earlier = w
        .clients
        .ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("web").image("web:1.4.1").memory(512).build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    w.clients.ecs.update_service().cluster("main").service("web").task_definition(&earlier).send().await.unwrap();
    // As AWS sends it: no clusterArn; the service's ARN names the cluster.
    w.invoke(&fixture("ecs-deployment-failed.json"));

    let s = status(&w.clients, "Service/web").await;
    assert_eq!(s["condition"], "Degraded", "{s:#}");
    assert_eq!(s["reason"], "DeploymentFailed");
    assert_eq!(s["message"], "ECS deployment circuit breaker: tasks failed to start.");
    assert_eq!(s["hold"]["attempts"], 1);

    // The schedule does not put the failed content back...
    let tick = w.invoke(&fixture("eventbridge-schedule.json"));
    assert_eq!(service(&w.clients).await.task_definition.as_deref(), Some(earlier.as_str()), "{tick:#}");
    let calls = run_of(&tick)["awsCalls"].as_object().expect("the run reports its AWS calls");
    assert!(calls.contains_key("ECS:DescribeServices") && !calls.contains_key("ECS:UpdateService"), "{tick:#}");
    assert_eq!(status(&w.clients, "Service/web").await["condition"], "Degraded");

    // ...but a changed manifest is deployed at once.
    let web = w.set_dir().join("web.yaml");
    std::fs::write(&web, std::fs::read_to_string(&web).unwrap().replace("web:1.4.2", "web:1.4.3")).unwrap();
    upload(&w.clients, &w.set_dir(), "c0ffee2").await;
    let deployed = w.invoke(&generation_event());
    let now = service(&w.clients).await.task_definition.unwrap();
    assert_eq!(run_of(&deployed)["errors"], json!([]), "{deployed:#}");
    assert_ne!(now, earlier, "{deployed:#}");
    assert_ne!(now, ours);
}

#[tokio::test]
async fn a_half_uploaded_set_applies_nothing_and_says_why() {
    let w = World::new().await;
    upload(&w.clients, &w.set_dir(), "c0ffee1").await;
    // A file changed after generation.json was written (a sync cut short).
    put(&w.clients, &format!("{SET}/manifests/web.yaml"), b"# half a file".to_vec()).await;
    let answer = w.invoke(&generation_event());
    let errors = run_of(&answer)["errors"].as_array().unwrap().clone();
    assert!(errors.iter().any(|e| e.as_str().unwrap().contains("web.yaml has sha256")), "{answer:#}");
    assert_eq!(run_of(&answer)["changes"], 0);
    let clusters = w.clients.ecs.list_clusters().send().await.unwrap();
    assert!(clusters.cluster_arns().is_empty(), "nothing may be created from a half-uploaded set");
    let summary = status(&w.clients, "summary").await;
    assert!(summary["runs"][0]["errors"][0].as_str().unwrap().contains("a sync in progress?"), "{summary:#}");
}

#[tokio::test]
async fn two_runs_at_the_same_moment_apply_once() {
    let w = World::new().await;
    upload(&w.clients, &w.set_dir(), "c0ffee1").await;
    // A second function instance on the same Runtime API: Lambda runs two at once.
    let _second = start_function(&w.moto, &w.api);
    let api = w.api.clone();
    let other = std::thread::spawn(move || api.invoke(&generation_event(), TIMEOUT));
    let mine = w.api.invoke(&generation_event(), TIMEOUT);
    let theirs = other.join().unwrap();
    let answers = [mine.1, theirs.1];
    let applied: Vec<&Value> = answers.iter().filter(|a| run_of(a)["changes"].as_u64().unwrap_or(0) > 0).collect();
    assert_eq!(applied.len(), 1, "exactly one run applies: {answers:#?}");
    let lbs = w.clients.elbv2.describe_load_balancers().send().await.unwrap().load_balancers.unwrap_or_default();
    assert_eq!(lbs.len(), 1, "no duplicate load balancer");
    let tgs = w.clients.elbv2.describe_target_groups().send().await.unwrap().target_groups.unwrap_or_default();
    assert_eq!(tgs.len(), 1, "no duplicate target group");
}

/// A TCP proxy in front of the emulator that holds one function's AWS calls at a point the test
/// chooses: after the first request that contains `trigger`, the next request to start waits
/// until [`Gate::open`]. Responses are never held, so the request that armed it completes.
#[derive(Clone)]
struct Gate {
    addr: String,
    state: std::sync::Arc<(std::sync::Mutex<GateState>, std::sync::Condvar)>,
}

#[derive(Default)]
struct GateState {
    armed: bool,
    /// It closes once only.
    fired: bool,
    closed: bool,
    holding: usize,
}

impl Gate {
    fn start(upstream: u16, trigger: &'static str) -> Gate {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let gate = Gate { addr: format!("http://{}", listener.local_addr().unwrap()), state: Default::default() };
        let g = gate.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                let (mut from_server, mut to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_server, &mut to_client);
                    let _ = to_client.shutdown(std::net::Shutdown::Both);
                });
                let (mut from_client, mut to_server) = (client, server);
                let g = g.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from_client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let chunk = &buf[..n];
                        let starts_request = [&b"GET "[..], b"PUT ", b"POST ", b"HEAD ", b"DELETE "]
                            .iter()
                            .any(|m| chunk.starts_with(m));
                        if starts_request {
                            g.pass();
                        }
                        if to_server.write_all(chunk).is_err() {
                            break;
                        }
                        if String::from_utf8_lossy(chunk).contains(trigger) {
                            let mut s = g.state.0.lock().unwrap();
                            s.armed = !s.fired;
                        }
                    }
                    let _ = to_server.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        gate
    }

    /// A request starts: once armed, close, and wait while closed.
    fn pass(&self) {
        let (lock, cv) = &*self.state;
        let mut s = lock.lock().unwrap();
        if s.armed {
            (s.armed, s.fired, s.closed) = (false, true, true);
        }
        if s.closed {
            s.holding += 1;
            cv.notify_all();
            s = cv.wait_while(s, |s| s.closed).unwrap();
            s.holding -= 1;
        }
    }

    /// Wait until a request is being held.
    fn wait_holding(&self, timeout: Duration) {
        let (lock, cv) = &*self.state;
        let s = lock.lock().unwrap();
        let (s, _) = cv.wait_timeout_while(s, timeout, |s| s.holding == 0).unwrap();
        assert!(s.holding > 0, "the function never reached the gate");
    }

    fn open(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().closed = false;
        cv.notify_all();
    }
}

/// A sync made while another run holds the lease: the event's run records it and returns; the
/// holder finds it before giving the lease back and applies it. No further event is sent.
#[tokio::test]
async fn a_sync_made_while_another_run_holds_the_lease_is_applied_without_another_event() {
    let moto = Moto::start();
    let clients = Clients::new(&moto.sdk_config());
    let network = create_network(&moto, &clients.ec2).await;
    clients.s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let dir = example_set(SET, &network);
    let set_dir = dir.path().join(SET);
    upload(&clients, &set_dir, "c0ffee1").await;
    let api = RuntimeApi::start();

    // The first function's calls go through the gate: it holds the run just after its first
    // CreateService, with the lease taken and generation c0ffee1 read.
    let gate = Gate::start(moto.port, "CreateService");
    let _holder = start_function_via(&moto, &gate.addr, &api);
    let first = {
        let api = api.clone();
        std::thread::spawn(move || api.invoke(&generation_event(), TIMEOUT))
    };
    gate.wait_holding(TIMEOUT);
    let lock: Value = serde_json::from_slice(
        &clients
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(format!("{SET}/lock"))
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes(),
    )
    .unwrap();
    assert_eq!(lock["owner"], "req-1", "the first run holds the lease: {lock}");

    // Meanwhile a new commit is synced, and its event reaches a second instance.
    let web = set_dir.join("web.yaml");
    std::fs::write(&web, std::fs::read_to_string(&web).unwrap().replace("web:1.4.2", "web:1.4.3")).unwrap();
    upload(&clients, &set_dir, "c0ffee2").await;
    let _second = start_function(&moto, &api);
    let (ok, deferred) = api.invoke(&generation_event(), TIMEOUT);
    assert!(ok, "{deferred:#}");
    assert_eq!(deferred["deferred"]["holder"], "req-1", "the second run leaves it to the holder: {deferred:#}");
    let pending = status_object(&clients, "pending").await;
    assert_eq!(pending["requests"][0]["generation"], "c0ffee2", "{pending:#}");

    // The holder goes on, and before it gives the lease back runs again for c0ffee2.
    gate.open();
    let (ok, answer) = first.join().unwrap();
    assert!(ok, "{answer:#}");
    assert_eq!(answer["earlier"][0]["generation"], "c0ffee1", "{answer:#}");
    assert_eq!(answer["run"]["generation"], "c0ffee2", "{answer:#}");
    assert_eq!(answer["run"]["errors"], json!([]), "{answer:#}");
    let td = service(&clients).await.task_definition.unwrap();
    let image = clients
        .ecs
        .describe_task_definition()
        .task_definition(&td)
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .container_definitions()[0]
        .image()
        .map(str::to_string);
    assert!(image.as_deref().is_some_and(|i| i.ends_with("/web:1.4.3")), "c0ffee2 is not deployed: {image:?}");
    let summary = status(&clients, "summary").await;
    assert_eq!(summary["runs"][0]["generation"], "c0ffee2", "{summary:#}");
    assert_eq!(status_object(&clients, "pending").await["requests"], json!([]), "the request was taken");
    assert_eq!(status_object(&clients, "lock").await["expiresAt"], 0, "the lease was given back");
}

/// Any object of the set as JSON (`pending`, `lock`).
async fn status_object(clients: &Clients, key: &str) -> Value {
    let out = clients.s3.get_object().bucket(BUCKET).key(format!("{SET}/{key}")).send().await.unwrap();
    serde_json::from_slice(&out.body.collect().await.unwrap().into_bytes()).unwrap()
}

/// INFO service actions other than a steady state say nothing about the service's condition;
/// WARN and ERROR ones make it Degraded until ECS reports it steady again.
#[tokio::test]
async fn service_actions_change_status_by_their_event_type() {
    let w = World::new().await;
    upload(&w.clients, &w.set_dir(), "c0ffee1").await;
    w.invoke(&generation_event());
    // moto drops some CreateService fields (tests/README.md): one tick settles them, the next is a no-op.
    w.invoke(&fixture("eventbridge-schedule.json"));
    w.invoke(&fixture("eventbridge-schedule.json"));
    assert_eq!(status(&w.clients, "Service/web").await["condition"], "Synced");

    w.invoke(&fixture("ecs-service-desired-count-updated.json"));
    let s = status(&w.clients, "Service/web").await;
    assert_eq!(s["condition"], "Synced", "an INFO event is not Degraded: {s:#}");

    w.invoke(&fixture("ecs-service-task-start-impaired.json"));
    let s = status(&w.clients, "Service/web").await;
    assert_eq!((&s["condition"], &s["reason"]), (&json!("Degraded"), &json!("SERVICE_TASK_START_IMPAIRED")), "{s:#}");
    // A tick does not paper over what ECS said.
    w.invoke(&fixture("eventbridge-schedule.json"));
    assert_eq!(status(&w.clients, "Service/web").await["condition"], "Degraded");

    w.invoke(&fixture("ecs-service-action.json"));
    let s = status(&w.clients, "Service/web").await;
    assert_eq!(s["condition"], "Synced", "{s:#}");
}
