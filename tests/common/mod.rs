//! Test support: a real `moto_server` (the AWS emulator) on a free 127.0.0.1 port, one per test.
//!
//! Each test that calls [`Moto::start`] gets its own server process, so state never leaks between
//! tests; the server is killed when the handle drops. The server comes from the project's `.venv`
//! (`make test` installs it), or from `$MOTO_SERVER`.

#![allow(dead_code)]

pub mod stack;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, retry::RetryConfig};

pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Start a fresh emulator and wait until it answers.
    pub fn start() -> Moto {
        Self::start_with(&[])
    }

    /// `start` with extra environment for the emulator (e.g. `MOTO_ECS_SERVICE_RUNNING`).
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let server = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server"));
        assert!(server.exists(), "{} not found: run `make test` (it installs moto into .venv)", server.display());
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
                .envs(env.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn moto_server");
            let mut moto = Moto { child, port };
            if moto.wait_ready(Duration::from_secs(30)) {
                return moto;
            }
            // Lost the port to another process between probe and bind: try another.
            let _ = moto.child.kill();
        }
        panic!("moto_server did not start");
    }

    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && http_status(self.port, "GET", "/moto-api/") == Some(200)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// An SDK config pointing at this emulator, with test credentials and no retries (moto answers
    /// unimplemented calls with a 500 that would otherwise be retried).
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "tests",
            )))
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A minimal HTTP/1.0 request to the emulator's control API, returning the status code.
pub fn http_status(port: u16, method: &str, path: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

/// The emulator's IAM enforcement on (`"0"`: no unauthenticated calls left) or off (`"inf"`).
pub fn set_iam_enforcement(moto: &Moto, body: &str) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", moto.port)).expect("connect to moto");
    write!(s, "POST /moto-api/reset-auth HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    assert!(buf.split_whitespace().nth(1) == Some("200"), "reset-auth {body}: {buf}");
}

/// A raw JSON-protocol call to the emulator (for services the product has no SDK client for,
/// such as ACM). moto does not check signatures.
pub fn json_call(port: u16, target: &str, body: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    let service = target.split('.').next().unwrap_or_default();
    let scope = match service {
        "CertificateManager" => "acm",
        other => other,
    };
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{scope}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let json = buf.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{target}: {e}: {buf}"))
}

/// The network the example set refers to, made the way a platform team has it: a VPC named
/// `main`, public and private subnets in two zones, and an ACM certificate for the HTTPS listener.
pub struct Network {
    pub vpc: String,
    pub subnets: std::collections::BTreeMap<String, String>,
    pub certificate_arn: String,
}

pub async fn create_network(moto: &Moto, ec2: &aws_sdk_ec2::Client) -> Network {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let named = |kind: ResourceType, name: &str| {
        TagSpecification::builder().resource_type(kind).tags(Tag::builder().key("Name").value(name).build()).build()
    };
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(named(ResourceType::Vpc, "main"))
        .send()
        .await
        .expect("CreateVpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .unwrap();
    let mut subnets = std::collections::BTreeMap::new();
    for (i, (name, az)) in [
        ("public-a", "us-east-1a"),
        ("public-b", "us-east-1b"),
        ("private-a", "us-east-1a"),
        ("private-b", "us-east-1b"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.20.{i}.0/24"))
            .availability_zone(az)
            .tag_specifications(named(ResourceType::Subnet, name))
            .send()
            .await
            .expect("CreateSubnet")
            .subnet
            .and_then(|s| s.subnet_id)
            .unwrap();
        subnets.insert(name.to_string(), id);
    }
    let cert = json_call(moto.port, "CertificateManager.RequestCertificate", r#"{"DomainName": "web.example.com"}"#);
    Network { vpc, subnets, certificate_arn: cert["CertificateArn"].as_str().unwrap().to_string() }
}

/// A copy of `desired/` in a fresh folder named `name` (the set's name), with the example's
/// certificate ARN replaced by one the emulator issued. Returns the folder.
/// The Lambda handler's context for one set in `bucket`, with the emulator's credentials and the
/// function's defaults (apply, no prune, no function name).
#[allow(dead_code)]
pub fn lambda_ctx(moto: &Moto, bucket: &str, set: &str) -> ecs_reconciler::lambda::handler::Ctx {
    ecs_reconciler::lambda::handler::Ctx {
        clients: ecs_reconciler::aws::Clients::new(&moto.sdk_config()),
        config: ecs_reconciler::lambda::Config {
            bucket: bucket.into(),
            sets: vec![set.into()],
            observe: false,
            prune: false,
            replace: Default::default(),
            function_name: None,
        },
    }
}

pub fn example_set(name: &str, network: &Network) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("ecs-reconciler-test").tempdir().unwrap();
    let set = dir.path().join(name);
    std::fs::create_dir(&set).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("desired");
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "arn:aws:acm:us-east-1:123456789012:certificate/0d4c1c8e-5d2a-4a7e-9a55-3f0a9f6c1b2d",
            &network.certificate_arn,
        );
        std::fs::write(set.join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

/// The standard AWS environment a user sets to point a program at this emulator, isolated from
/// any profile or config file of the machine's, with retries off and colour off.
pub fn aws_env<'a>(cmd: &'a mut Command, moto: &Moto) -> &'a mut Command {
    cmd.env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
}

/// Run the `ecs-reconciler` binary against this emulator, as a user would with the standard
/// AWS environment. Returns (exit code, stdout, stderr).
// Cargo sets CARGO_BIN_EXE_* for integration tests and benches only; the demo example shares
// this module but never calls `cli`.
#[allow(clippy::option_env_unwrap)]
pub fn cli(moto: &Moto, args: &[&str]) -> (i32, String, String) {
    let bin = option_env!("CARGO_BIN_EXE_ecs-reconciler")
        .expect("cli() is for integration tests, which cargo builds the binary for");
    let out = aws_env(Command::new(bin).args(args), moto).output().expect("run ecs-reconciler");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// `cli` with `--output json`, parsed; panics with the output when it is not JSON.
pub fn cli_json(moto: &Moto, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--output", "json"]);
    let (code, out, err) = cli(moto, &all);
    let v = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}); exit {code}\nstdout:\n{out}\nstderr:\n{err}"));
    (code, v)
}

/// The AWS-shaped proxy (`tests/awslike/proxy.py`) in front of a [`Moto`]: it forwards every
/// request, rewrites moto's answers to the reads the reconciler makes so they look like AWS's
/// (per `../shared/AWS-FACTS.md`), and injects faults on request (see tests/README.md).
///
/// It derefs to a [`Moto`] handle on the proxy's own process and port, so every helper that takes
/// a `&Moto` (`sdk_config`, `endpoint`, `cli`, `cli_json`, `aws_env`, `json_call`,
/// `create_network`) works through the proxy unchanged. The proxy is killed on drop; the emulator
/// behind it lives as long as its own handle.
pub struct AwsLike {
    proxy: Moto,
}

impl std::ops::Deref for AwsLike {
    type Target = Moto;
    fn deref(&self) -> &Moto {
        &self.proxy
    }
}

impl AwsLike {
    /// Start the proxy in front of `moto` and wait until it forwards.
    pub fn start(moto: &Moto) -> AwsLike {
        Self::start_with(moto, &[])
    }

    /// `start` with extra proxy flags, e.g. `["--seed", "7", "--fault", "throttle:ecs.ListClusters"]`.
    pub fn start_with(moto: &Moto, args: &[&str]) -> AwsLike {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python =
            std::env::var_os("AWSLIKE_PYTHON").map(PathBuf::from).unwrap_or_else(|| root.join(".venv/bin/python"));
        assert!(python.exists(), "{} not found: run `make test` (it creates .venv)", python.display());
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&python)
                .arg(root.join("tests/awslike/proxy.py"))
                .args(["--upstream", &moto.endpoint(), "--port", &port.to_string()])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn tests/awslike/proxy.py");
            // `/moto-api/` answers through the proxy only once it listens and reaches the emulator.
            let mut proxy = Moto { child, port };
            if proxy.wait_ready(Duration::from_secs(30)) {
                return AwsLike { proxy };
            }
            let _ = proxy.child.kill();
        }
        panic!("the awslike proxy did not start");
    }

    /// `GET /__proxy/stats`: requests per operation (`ecs.DescribeServices`), faults injected per
    /// operation and kind, responses reshaped per operation.
    pub fn stats(&self) -> serde_json::Value {
        self.control("GET", "/__proxy/stats", "")
    }

    /// `POST /__proxy/faults` with `{"seed": .., "faults": [..]}`: replaces the fault rules.
    pub fn set_faults(&self, spec: serde_json::Value) -> serde_json::Value {
        self.control("POST", "/__proxy/faults", &spec.to_string())
    }

    /// A call to the proxy's control API, answered in JSON.
    pub fn control(&self, method: &str, path: &str, body: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the proxy");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n", body.len());
        s.write_all(head.as_bytes()).and_then(|_| s.write_all(body.as_bytes())).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        let (_, json) = answer.split_once("\r\n\r\n").unwrap_or_default();
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{method} {path}: {e}: {answer}"))
    }
}

/// The service-linked roles `doctor` looks for, by the names AWS gives them (moto's
/// CreateServiceLinkedRole names the Application Auto Scaling one differently, so they are made
/// with CreateRole under AWS's path): `(role, service)`.
pub const SERVICE_LINKED_ROLES: [(&str, &str); 3] = [
    ("AWSServiceRoleForECS", "ecs.amazonaws.com"),
    ("AWSServiceRoleForElasticLoadBalancing", "elasticloadbalancing.amazonaws.com"),
    ("AWSServiceRoleForApplicationAutoScaling_ECSService", "ecs.application-autoscaling.amazonaws.com"),
];

pub async fn create_service_linked_role(iam: &aws_sdk_iam::Client, role: &str, service: &str) {
    let trust = format!(
        r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"Service": "{service}"}}, "Action": "sts:AssumeRole"}}]}}"#
    );
    iam.create_role()
        .role_name(role)
        .path(format!("/aws-service-role/{service}/"))
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateRole {role}: {e:?}"));
}

/// A trail in `region` with its bucket, logging CloudTrail's default (every management event)
/// unless selectors are put afterwards; not started. Returns a client for its region.
pub async fn create_trail(moto: &Moto, region: &str, name: &str, multi_region: bool) -> aws_sdk_cloudtrail::Client {
    let config =
        aws_sdk_cloudtrail::config::Builder::from(&moto.sdk_config()).region(Region::new(region.to_string())).build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config()).force_path_style(true).build(),
    );
    let bucket = format!("{name}-logs");
    s3.create_bucket().bucket(&bucket).send().await.expect("CreateBucket for the trail");
    let trail = aws_sdk_cloudtrail::Client::from_conf(config);
    trail
        .create_trail()
        .name(name)
        .s3_bucket_name(&bucket)
        .is_multi_region_trail(multi_region)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateTrail {name}: {e:?}"));
    trail
}

/// Replace a trail's selectors with one basic selector of management events.
pub async fn put_management_selector(
    trail: &aws_sdk_cloudtrail::Client,
    name: &str,
    events: aws_sdk_cloudtrail::types::ReadWriteType,
) {
    let selector = aws_sdk_cloudtrail::types::EventSelector::builder()
        .read_write_type(events)
        .include_management_events(true)
        .build();
    trail.put_event_selectors().trail_name(name).event_selectors(selector).send().await.expect("PutEventSelectors");
}

/// What `doctor` needs of the account: a trail logging write management events in us-east-1, and
/// the service-linked roles.
pub async fn account_preconditions(moto: &Moto) {
    let trail = create_trail(moto, "us-east-1", "writes", false).await;
    put_management_selector(&trail, "writes", aws_sdk_cloudtrail::types::ReadWriteType::WriteOnly).await;
    trail.start_logging().name("writes").send().await.expect("StartLogging");
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    for (role, service) in SERVICE_LINKED_ROLES {
        create_service_linked_role(&iam, role, service).await;
    }
}
