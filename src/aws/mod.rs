//! The edge to AWS: SDK clients built once per process, one adapter per service that observes
//! live state in manifest shape and executes plan steps. Adapters never decide what to change.

pub mod autoscaling;
pub mod calls;
pub mod ec2;
pub mod ecs;
pub mod ecs_convert;
pub mod elbv2;
pub mod logs;
pub mod retry;
pub mod sdk_json;

use aws_config::{BehaviorVersion, SdkConfig};

pub use calls::CallCounter;
use calls::CountingInterceptor;

/// Every AWS client the reconciler uses, built once and borrowed by each run, with one call
/// counter shared by all of them.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub s3: aws_sdk_s3::Client,
    pub calls: CallCounter,
}

impl Clients {
    /// Clients from the standard AWS environment: `AWS_REGION`, `AWS_PROFILE`, credentials, and
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`) for an emulator. Retries and
    /// timeouts are the product's ([`retry`]) unless `AWS_MAX_ATTEMPTS` or `AWS_RETRY_MODE` say
    /// otherwise.
    pub async fn from_env() -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(retry::timeout_config());
        if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() && std::env::var_os("AWS_RETRY_MODE").is_none() {
            loader = loader.retry_config(retry::retry_config());
        }
        Self::new(&loader.load().await)
    }

    /// Clients from a config as given; reads get more attempts than its retry config's
    /// ([`retry::read_attempts`]).
    pub fn new(config: &SdkConfig) -> Self {
        let calls = CallCounter::default();
        let counting = || CountingInterceptor(calls.clone());
        let mut s3 = aws_sdk_s3::config::Builder::from(config).interceptor(counting()).interceptor(retry::ReadAttempts);
        if config.endpoint_url().is_some() {
            // A custom endpoint (an emulator, a VPC endpoint by IP) has no per-bucket DNS names.
            s3 = s3.force_path_style(true);
        }
        Clients {
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(config)
                    .interceptor(counting())
                    .interceptor(retry::ReadAttempts)
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(config)
                    .interceptor(counting())
                    .interceptor(retry::ReadAttempts)
                    .build(),
            ),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(config)
                    .interceptor(counting())
                    .interceptor(retry::ReadAttempts)
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf(
                aws_sdk_cloudwatchlogs::config::Builder::from(config)
                    .interceptor(counting())
                    .interceptor(retry::ReadAttempts)
                    .build(),
            ),
            autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(
                aws_sdk_applicationautoscaling::config::Builder::from(config)
                    .interceptor(counting())
                    .interceptor(retry::ReadAttempts)
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            calls,
        }
    }
}

use std::collections::BTreeMap;
use std::sync::RwLock;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::manifest::Kind;
use crate::plan::Observed;

/// A failed AWS call or a step that cannot be built, naming the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{operation} {resource}: {message}")]
    Call {
        operation: &'static str,
        resource: String,
        /// The AWS error code, e.g. `ResourceInUse`, `InvalidParameterException`.
        code: Option<String>,
        message: String,
        /// Throttling, 5xx and network faults: the next run will likely succeed.
        transient: bool,
        /// The SDK's error, for the chain a CLI error prints (`Caused by:`).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("{resource}: {message}")]
    Unresolved { resource: String, message: String },
}

impl AwsError {
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Call { code, .. } => code.as_deref(),
            AwsError::Unresolved { .. } => None,
        }
    }

    pub fn is_transient(&self) -> bool {
        matches!(self, AwsError::Call { transient: true, .. })
    }

    pub fn unresolved(resource: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError::Unresolved { resource: resource.into(), message: message.into() }
    }
}

/// Wrap an SDK error: `.map_err(call_error("CreateService", "Service/web"))`.
pub fn call_error<E>(
    operation: &'static str,
    resource: impl Into<String>,
) -> impl FnOnce(SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let resource = resource.into();
    move |err| {
        let transient =
            matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_))
                || err.raw_response().is_some_and(|r| r.status().is_server_error() || r.status().as_u16() == 429);
        let (code, message) = match err.as_service_error() {
            Some(e) => (e.code().map(str::to_string), e.message().unwrap_or("no message").to_string()),
            None => (None, transport_message(&err)),
        };
        let transient =
            transient || code.as_deref().is_some_and(|c| c.contains("Throttl") || c == "RequestLimitExceeded");
        AwsError::Call { operation, resource, code, message, transient, source: Some(Box::new(err)) }
    }
}

/// An answer that says the resource a create asked for is already there (a resend after a lost
/// answer, or a create whose answer timed out).
pub fn is_duplicate(e: &AwsError) -> bool {
    match e {
        AwsError::Call { code: Some(c), message, .. } => {
            matches!(
                c.as_str(),
                "DuplicateTargetGroupName"
                    | "DuplicateLoadBalancerName"
                    | "DuplicateListener"
                    | "PriorityInUse"
                    | "InvalidGroup.Duplicate"
                    | "ResourceAlreadyExists"
                    | "ResourceAlreadyExistsException"
            ) || (c == "InvalidParameterException" && message.contains("idempotent"))
        }
        _ => false,
    }
}

fn is_throttle(e: &AwsError) -> bool {
    e.code().is_some_and(|c| c.contains("Throttl") || c == "RequestLimitExceeded" || c == "SlowDown")
}

/// A create AWS may not repeat safely, made idempotent: sent (the SDK sends it once, see
/// [`retry::CREATES_RETRIED_BY_ADAPTERS`]); when the answer says it already exists, or the answer
/// was lost (a reset, a timeout, a 5xx: it may have happened), `find` looks for it, and what it
/// finds carrying the set's tags (creates tag at creation) is taken as created; other transient
/// failures are sent again up to [`retry::WRITE_ATTEMPTS`] in all. A throttled send was refused
/// before anything happened, so it is as safe to repeat as a read: up to [`retry::READ_ATTEMPTS`]
/// throttled sends (a 50-service apply at 30 % throttling makes ~200 creates; at 5 attempts one
/// of them would give up in most runs), with exponential back-off and jitter up to 20 s.
pub(crate) async fn create_or_find<T, S, SF, F, FF>(send: S, find: F) -> Result<T, AwsError>
where
    S: Fn() -> SF,
    SF: std::future::Future<Output = Result<T, AwsError>>,
    F: Fn() -> FF,
    FF: std::future::Future<Output = Result<Option<T>, AwsError>>,
{
    create_or_find_with(send, find, |attempt| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let jitter = u64::from(nanos % 100);
        std::time::Duration::from_millis((100u64 << attempt.min(8)).min(20_000) + jitter)
    })
    .await
}

async fn create_or_find_with<T, S, SF, F, FF>(
    send: S,
    find: F,
    backoff: impl Fn(u32) -> std::time::Duration,
) -> Result<T, AwsError>
where
    S: Fn() -> SF,
    SF: std::future::Future<Output = Result<T, AwsError>>,
    F: Fn() -> FF,
    FF: std::future::Future<Output = Result<Option<T>, AwsError>>,
{
    let (mut attempt, mut throttled) = (0, 0);
    loop {
        let e = match send().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        attempt += 1;
        if is_duplicate(&e) {
            tracing::info!(error = %e, "already exists: looking for our own");
            return find().await?.ok_or(e);
        }
        if !e.is_transient() {
            return Err(e);
        }
        if is_throttle(&e) {
            throttled += 1;
            if throttled >= retry::READ_ATTEMPTS {
                return Err(e);
            }
        } else {
            if let Some(v) = find().await? {
                tracing::info!(error = %e, "the create's answer was lost, but it was made: found it");
                return Ok(v);
            }
            if attempt - throttled >= retry::WRITE_ATTEMPTS {
                return Err(e);
            }
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// A short account of an error that is not an AWS service error: the HTTP status when there was
/// a response (an unparseable body says nothing useful, and may be a whole HTML page), else the
/// error chain (timeouts, connection failures).
fn transport_message<E: std::error::Error + 'static>(err: &SdkError<E, HttpResponse>) -> String {
    match err.raw_response() {
        Some(r) => format!("HTTP {} with a response that is not an AWS error", r.status().as_u16()),
        None => aws_smithy_types::error::display::DisplayErrorContext(err).to_string(),
    }
}

/// What an executed action made that later actions refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Nothing,
    /// The step's resource: its ARN or ID.
    Resource(String),
    /// A part of it (`listener:443`, `rule:80:10`) and its ARN.
    Part(String, String),
}

/// The resource (and part) an action runs against, with the IDs known when it runs.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub kind: Kind,
    pub name: &'a str,
    /// Its ARN or ID: observed, or created by an earlier action of the step.
    pub id: Option<String>,
    /// The ARN of the action's part, when it names one that exists.
    pub part: Option<String>,
}

impl Target<'_> {
    pub fn resource(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    pub fn id(&self) -> Result<&str, AwsError> {
        self.id.as_deref().ok_or_else(|| AwsError::unresolved(self.resource(), "does not exist (yet)"))
    }

    pub fn part(&self, action: &crate::plan::Action) -> Result<&str, AwsError> {
        self.part.as_deref().ok_or_else(|| {
            AwsError::unresolved(self.resource(), format!("no ARN known for {}", action.part.as_deref().unwrap_or("?")))
        })
    }
}

/// Run one planned action: exactly one SDK call, chosen by the action's call. Adapters only
/// translate; every decision was made by the plan.
pub async fn execute(
    clients: &Clients,
    target: &Target<'_>,
    action: &crate::plan::Action,
    ids: &Ids,
) -> Result<Created, AwsError> {
    use crate::plan::Call;
    match action.call {
        Call::Ecs(c) => ecs::execute(clients, c, target, action, ids).await,
        Call::Elbv2(c) => elbv2::execute(clients, c, target, action, ids).await,
        Call::Ec2(c) => ec2::execute(clients, c, target, action, ids).await,
        Call::Logs(c) => logs::execute(clients, c, target, action).await,
        Call::AutoScaling(c) => autoscaling::execute(clients, c, target, action, ids).await,
    }
}

/// IDs and ARNs by manifest name, as observed and as created during an apply, so a step can
/// resolve the references of a resource created by an earlier step of the same run.
#[derive(Debug, Default)]
pub struct Ids {
    ids: RwLock<BTreeMap<(Kind, String), String>>,
    /// Parts of resources (`listener:443`, `rule:80:10`) → ARN.
    parts: RwLock<BTreeMap<(Kind, String, String), String>>,
    vpcs: BTreeMap<String, String>,
    subnets: BTreeMap<String, String>,
}

impl Ids {
    pub fn from_observed(observed: &Observed) -> Self {
        let parts = observed
            .live
            .values()
            .flat_map(|l| l.parts.iter().map(move |(k, v)| ((l.kind, l.name.clone(), k.clone()), v.clone())))
            .collect();
        Ids {
            // Orphans too: a rule that references a group leaving the set is revoked by its ID.
            ids: RwLock::new(
                observed
                    .orphans
                    .iter()
                    .map(|l| ((l.kind, l.name.clone()), l.id.clone()))
                    .chain(observed.live.iter().map(|(k, l)| (k.clone(), l.id.clone())))
                    // A superseded generation by its step's name (`web@web`), for the calls that
                    // clear it before it is deleted.
                    .chain(observed.superseded.iter().map(|s| {
                        let name = crate::plan::replace::superseded_name(
                            &s.live.name,
                            &crate::plan::replace::generation(&s.live),
                        );
                        ((s.live.kind, name), s.live.id.clone())
                    }))
                    .collect(),
            ),
            parts: RwLock::new(parts),
            vpcs: observed.vpcs.clone(),
            subnets: observed.subnets.clone(),
        }
    }

    pub fn set_part(&self, kind: Kind, name: &str, part: &str, arn: impl Into<String>) {
        self.parts.write().expect("ids poisoned").insert((kind, name.to_string(), part.to_string()), arn.into());
    }

    pub fn part(&self, kind: Kind, name: &str, part: &str) -> Option<String> {
        self.parts.read().expect("ids poisoned").get(&(kind, name.to_string(), part.to_string())).cloned()
    }

    pub fn set(&self, kind: Kind, name: &str, id: impl Into<String>) {
        self.ids.write().expect("ids poisoned").insert((kind, name.to_string()), id.into());
    }

    pub fn remove(&self, kind: Kind, name: &str) {
        self.ids.write().expect("ids poisoned").remove(&(kind, name.to_string()));
    }

    pub fn get(&self, kind: Kind, name: &str) -> Option<String> {
        self.ids.read().expect("ids poisoned").get(&(kind, name.to_string())).cloned()
    }

    /// A reference as written in a manifest → the ARN/ID to send to AWS.
    pub fn resolve(&self, kind: Kind, reference: &str) -> Result<String, AwsError> {
        // `family:revision` names one revision, as ECS takes it.
        if kind.is_literal_id(reference) || (kind == Kind::TaskDefinition && reference.contains(':')) {
            return Ok(reference.to_string());
        }
        self.get(kind, reference).ok_or_else(|| {
            AwsError::unresolved(
                format!("{kind}/{reference}"),
                "does not exist yet (its own step failed or has not run)",
            )
        })
    }

    pub fn vpc(&self, vpc: &str) -> Result<String, AwsError> {
        if vpc.starts_with("vpc-") {
            return Ok(vpc.to_string());
        }
        self.vpcs
            .get(vpc)
            .cloned()
            .ok_or_else(|| AwsError::unresolved(format!("vpc {vpc}"), "no VPC has this Name tag"))
    }

    pub fn subnet(&self, subnet: &str) -> Result<String, AwsError> {
        if subnet.starts_with("subnet-") {
            return Ok(subnet.to_string());
        }
        self.subnets
            .get(subnet)
            .cloned()
            .ok_or_else(|| AwsError::unresolved(format!("subnet {subnet}"), "no subnet has this Name tag"))
    }
}

/// The ownership tags every resource the set creates carries, plus the manifest's own tags.
pub fn owned_tags(set: &str, name: &str, tags: &[crate::manifest::spec::Tag]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    out.insert(crate::plan::TAG_SET.to_string(), set.to_string());
    out.insert(crate::plan::TAG_NAME.to_string(), name.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn err(code: &str, transient: bool) -> AwsError {
        AwsError::Call {
            operation: "CreateTargetGroup",
            resource: "TargetGroup/web".into(),
            code: (!code.is_empty()).then(|| code.to_string()),
            message: "m".into(),
            transient,
            source: None,
        }
    }

    /// A create whose answer was lost (or that says it already exists) is looked up; a throttled
    /// one is sent again without a lookup; anything else fails at once.
    #[tokio::test]
    async fn creates_recover_their_own_resource() {
        /// The errors the sends answer in turn (then success), what a lookup finds, the outcome,
        /// how many sends and how many lookups.
        type Case<'a> = (Vec<AwsError>, Option<&'a str>, Result<&'a str, Option<&'a str>>, u32, u32);
        let cases: Vec<Case> = vec![
            (vec![], None, Ok("new"), 1, 0),
            (vec![err("DuplicateTargetGroupName", false)], Some("mine"), Ok("mine"), 1, 1),
            (vec![err("DuplicateTargetGroupName", false)], None, Err(Some("DuplicateTargetGroupName")), 1, 1),
            (vec![err("", true)], Some("mine"), Ok("mine"), 1, 1),
            (vec![err("", true)], None, Ok("new"), 2, 1),
            (vec![err("Throttling", true), err("Throttling", true)], Some("mine"), Ok("new"), 3, 0),
            (
                (0..retry::READ_ATTEMPTS).map(|_| err("Throttling", true)).collect(),
                None,
                Err(Some("Throttling")),
                retry::READ_ATTEMPTS,
                0,
            ),
            (
                (0..retry::READ_ATTEMPTS - 1).map(|_| err("Throttling", true)).collect(),
                None,
                Ok("new"),
                retry::READ_ATTEMPTS,
                0,
            ),
            ((0..retry::WRITE_ATTEMPTS).map(|_| err("", true)).collect(), None, Err(None), retry::WRITE_ATTEMPTS, 5),
            (vec![err("ValidationError", false)], Some("mine"), Err(Some("ValidationError")), 1, 0),
        ];
        for (i, (errors, found, want, sends, finds)) in cases.into_iter().enumerate() {
            let (n_send, n_find) = (AtomicU32::new(0), AtomicU32::new(0));
            let errors = std::sync::Mutex::new(errors.into_iter());
            let got = create_or_find_with(
                || {
                    n_send.fetch_add(1, Ordering::Relaxed);
                    let e = errors.lock().unwrap().next();
                    async move { e.map_or(Ok("new".to_string()), Err) }
                },
                || {
                    n_find.fetch_add(1, Ordering::Relaxed);
                    async move { Ok(found.map(str::to_string)) }
                },
                |_| std::time::Duration::ZERO,
            )
            .await;
            let got = got.as_deref().map_err(|e| e.code());
            assert_eq!(got, want.as_ref().map(|s| *s).map_err(|c| *c), "case {i}");
            assert_eq!((n_send.into_inner(), n_find.into_inner()), (sends, finds), "case {i}: sends, finds");
        }
    }

    /// The transient/permanent decision that drives retries (the next run, the Lambda's retry of
    /// an invocation): every way an SDK call fails, classified, and the SDK's error kept as the
    /// cause.
    #[test]
    fn failures_are_classified_and_keep_their_cause() {
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_types::body::SdkBody;
        use aws_smithy_types::error::ErrorMetadata;
        type E = SdkError<GetObjectError, HttpResponse>;
        let service = |status: u16, code: &str| -> E {
            let meta = ErrorMetadata::builder().code(code).message("m").build();
            let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
            SdkError::service_error(GetObjectError::generic(meta), raw)
        };
        let cases: Vec<(&str, E, bool)> = vec![
            ("timeout", SdkError::timeout_error("attempt timed out"), true),
            ("reset", SdkError::dispatch_failure(ConnectorError::io("connection reset".into())), true),
            (
                "cut-off reply",
                SdkError::response_error("eof", HttpResponse::new(200.try_into().unwrap(), SdkBody::empty())),
                true,
            ),
            ("throttled (ECS, ELBv2)", service(400, "ThrottlingException"), true),
            ("throttled (EC2)", service(503, "RequestLimitExceeded"), true),
            ("throttled (S3)", service(503, "SlowDown"), true),
            ("too many requests", service(429, "TooManyRequestsException"), true),
            ("server error", service(500, "InternalFailure"), true),
            ("unavailable", service(503, "ServiceUnavailable"), true),
            ("invalid parameter", service(400, "InvalidParameterException"), false),
            ("access denied", service(403, "AccessDenied"), false),
            ("not found", service(400, "ServiceNotFoundException"), false),
            ("in use", service(400, "ResourceInUse"), false),
            ("precondition", service(412, "PreconditionFailed"), false),
        ];
        for (what, e, transient) in cases {
            let got = call_error("GetObject", "s3://b/k")(e);
            assert_eq!(got.is_transient(), transient, "{what}: {got}");
            assert!(std::error::Error::source(&got).is_some(), "{what}: the SDK's error is kept as the cause");
        }
        assert!(!AwsError::unresolved("Service/web", "no such cluster").is_transient());
    }
}
