//! `ecs-reconciler doctor [s3://BUCKET/PREFIX]`: what the account (and a set) must have for the
//! function to do what the README promises, checked with the caller's credentials. Like
//! ecspresso's `verify`: named checks, each OK, MISSING or SKIPPED with what to do.
//!
//! Facts are read first (each check's AWS calls), then judged by plain functions (unit-tested
//! below), then printed by one renderer. A check is *required* when something fails without it
//! (a create, every run of the set); the others only make the function slower to react (it
//! waits for the set's schedule). Exit 1 when a required check is MISSING or could not be made.
//!
//! This is CLI code, never run by the function: its calls (`cloudtrail:DescribeTrails`,
//! `cloudtrail:GetEventSelectors`, `cloudtrail:GetTrailStatus`, `iam:GetRole`,
//! `s3:GetBucketNotification`, `s3:GetObject`) are not in the function's role.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use anyhow::Context;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType};
use serde::Serialize;

use super::Output;
use crate::aws::{AwsError, Clients, call_error};
use crate::store::lease::LeaseBody;
use crate::store::pending::Pending;
use crate::store::status::{Condition, Summary, epoch_rfc3339};
use crate::store::{Generation, SetLocation, get, now_epoch};

/// The event sources of the write calls the CloudTrail rules of `template.yaml` match.
const WRITE_SOURCES: [&str; 3] = ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "ec2.amazonaws.com"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "MISSING")]
    Missing,
    #[serde(rename = "SKIPPED")]
    Skipped,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Missing => "MISSING",
            State::Skipped => "SKIPPED",
        }
    }
}

/// One named check and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable, for tools: `cloudtrail`, `role:ecs`, `bucket-events`, ...
    pub name: String,
    pub title: String,
    pub state: State,
    /// Something fails without it (not only waits for the schedule).
    pub required: bool,
    /// What was found.
    pub detail: String,
    /// What works and what does not without it (MISSING only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub without: Option<String>,
    /// What to do: the command to run or the template parameter to set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Why the check could not be made (SKIPPED because a call failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    fn new(name: impl Into<String>, title: impl Into<String>, required: bool) -> Self {
        Check {
            name: name.into(),
            title: title.into(),
            state: State::Ok,
            required,
            detail: String::new(),
            without: None,
            fix: None,
            error: None,
        }
    }

    fn ok(mut self, detail: impl Into<String>) -> Self {
        self.state = State::Ok;
        self.detail = detail.into();
        self
    }

    fn missing(mut self, detail: impl Into<String>, without: impl Into<String>, fix: impl Into<String>) -> Self {
        self.state = State::Missing;
        self.detail = detail.into();
        self.without = Some(without.into());
        self.fix = Some(fix.into());
        self
    }

    fn skipped(mut self, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        self.state = State::Skipped;
        self.detail = detail.into();
        self.fix = Some(fix.into());
        self
    }

    /// Could not be made: an AWS call failed (no permission, no network).
    fn failed(self, error: &AwsError, needs: &str) -> Self {
        let mut c =
            self.skipped("could not check", format!("doctor needs {needs}: run it again once that call succeeds"));
        c.error = Some(error.to_string());
        c
    }

    /// Whether this check makes `doctor` exit 1.
    pub fn fails(&self) -> bool {
        self.required && (self.state == State::Missing || self.error.is_some())
    }
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
    /// No required check is MISSING or failed.
    pub ok: bool,
    pub checks: Vec<Check>,
}

pub async fn run(url: Option<&str>, function: Option<&str>, output: Output) -> anyhow::Result<ExitCode> {
    let loc =
        url.map(|u| SetLocation::parse(u).with_context(|| format!("`{u}` is not s3://BUCKET/PREFIX"))).transpose()?;
    let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let report = doctor(&config, loc.as_ref(), function).await;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => write!(anstream::stdout().lock(), "{}", render(&report))?,
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Make every check against the account `config` names.
pub async fn doctor(config: &SdkConfig, loc: Option<&SetLocation>, function: Option<&str>) -> Report {
    let region = config.region().map(|r| r.to_string());
    let iam = aws_sdk_iam::Client::new(config);
    let clients = Clients::new(config);
    let (trail, roles, set) = futures::join!(
        trail_check(config, region.as_deref()),
        futures::future::join_all(ROLES.iter().map(|r| role_check(&iam, r))),
        async {
            match loc {
                Some(loc) => set_checks(&clients, loc, function).await,
                None => Vec::new(),
            }
        },
    );
    let mut checks = vec![trail];
    checks.extend(roles);
    checks.extend(set);
    checks.push(concurrency_check(function));
    Report { region, set: loc.map(SetLocation::url), ok: !checks.iter().any(Check::fails), checks }
}

// ---------------------------------------------------------------------------------------------
// CloudTrail: a trail that logs write management events in this region
// ---------------------------------------------------------------------------------------------

/// One trail that applies to the region, as read.
#[derive(Debug, Clone)]
struct TrailFacts {
    name: String,
    home_region: String,
    multi_region: bool,
    logging: Result<bool, String>,
    /// The [`WRITE_SOURCES`] whose write management events its selectors log.
    writes: Result<BTreeSet<&'static str>, String>,
}

const TRAIL_WITHOUT: &str = "the CloudTrail rules never fire: a change made by hand is repaired at the set's next \
     schedule tick instead of within seconds (everything else works)";

async fn trail_check(config: &SdkConfig, region: Option<&str>) -> Check {
    let check = Check::new("cloudtrail", "CloudTrail trail logging write management events", false);
    let Some(region) = region else {
        return check.skipped("no region", "set AWS_REGION (or the profile's region) to the stack's region");
    };
    let check = Check { title: format!("CloudTrail trail logging write management events in {region}"), ..check };
    let client = aws_sdk_cloudtrail::Client::new(config);
    let trails = match client.describe_trails().include_shadow_trails(true).send().await {
        Ok(out) => out.trail_list,
        Err(e) => return check.failed(&call_error("DescribeTrails", region)(e), "cloudtrail:DescribeTrails"),
    };
    let mut facts = Vec::new();
    for t in trails.unwrap_or_default() {
        let home = t.home_region().unwrap_or(region).to_string();
        let multi_region = t.is_multi_region_trail().unwrap_or(false);
        if home != region && !multi_region {
            continue;
        }
        let id = t.trail_arn().or(t.name()).unwrap_or_default().to_string();
        let name = t.name().unwrap_or(&id).to_string();
        // A multi-region trail of another region is a shadow here: asked in its home region.
        let home_client = (home != region).then(|| {
            aws_sdk_cloudtrail::Client::from_conf(
                aws_sdk_cloudtrail::config::Builder::from(config).region(aws_config::Region::new(home.clone())).build(),
            )
        });
        let client = home_client.as_ref().unwrap_or(&client);
        let logging = match client.get_trail_status().name(&id).send().await {
            Ok(s) => Ok(s.is_logging().unwrap_or(false)),
            Err(e) => Err(call_error("GetTrailStatus", &name)(e).to_string()),
        };
        let writes = match client.get_event_selectors().trail_name(&id).send().await {
            Ok(s) => Ok(logged_write_sources(s.event_selectors(), s.advanced_event_selectors())),
            Err(e) => Err(call_error("GetEventSelectors", &name)(e).to_string()),
        };
        facts.push(TrailFacts { name, home_region: home, multi_region, logging, writes });
    }
    judge_trails(check, region, &facts)
}

fn judge_trails(check: Check, region: &str, trails: &[TrailFacts]) -> Check {
    let create = "deploy the stack with CreateTrail=true (a single-region trail of write management events)";
    if trails.is_empty() {
        return check.missing(format!("no trail logs events in {region}"), TRAIL_WITHOUT, create);
    }
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    let mut notes = Vec::new();
    let mut fixes = Vec::new();
    let mut errors = Vec::new();
    for t in trails {
        let scope = if t.multi_region { "multi-region".to_string() } else { t.home_region.clone() };
        let logging = match &t.logging {
            Ok(true) => "logging",
            Ok(false) => {
                fixes.push(format!("aws cloudtrail start-logging --name {}", t.name));
                "not logging"
            }
            Err(e) => {
                errors.push(e.clone());
                "logging unknown"
            }
        };
        let writes = match &t.writes {
            Ok(w) if w.len() == WRITE_SOURCES.len() => "logs write management events".to_string(),
            Ok(w) if w.is_empty() => "its selectors log no write management events".to_string(),
            Ok(w) => format!(
                "logs write management events of {} only",
                w.iter().map(|s| s.trim_end_matches(".amazonaws.com")).collect::<Vec<_>>().join(", ")
            ),
            Err(e) => {
                errors.push(e.clone());
                "selectors unknown".to_string()
            }
        };
        notes.push(format!("`{}` ({scope}): {logging}, {writes}", t.name));
        if let (Ok(true), Ok(w)) = (&t.logging, &t.writes) {
            covered.extend(w.iter().copied());
        }
    }
    let detail = notes.join("; ");
    if covered.len() == WRITE_SOURCES.len() {
        return check.ok(detail);
    }
    if !errors.is_empty() {
        let mut c = check.skipped(
            detail,
            "doctor needs cloudtrail:GetTrailStatus and cloudtrail:GetEventSelectors: run it again once those calls \
             succeed",
        );
        c.error = Some(errors.join("; "));
        return c;
    }
    if covered.is_empty() && fixes.is_empty() {
        fixes.push(format!(
            "add a management-events selector with write events to a trail (aws cloudtrail put-event-selectors \
             replaces its selectors), or {create}"
        ));
    } else if !covered.is_empty() {
        let lost: Vec<&str> = WRITE_SOURCES.iter().copied().filter(|s| !covered.contains(s)).collect();
        fixes.push(format!("log the write management events of {} too, or {create}", lost.join(", ")));
    }
    check.missing(detail, TRAIL_WITHOUT, fixes.join("; or "))
}

/// Which of [`WRITE_SOURCES`] a trail's selectors log write management events of. A trail
/// answers with basic selectors or advanced ones, never both; with neither (the emulator's answer
/// for a trail created without selectors) it has CloudTrail's default: every management event.
fn logged_write_sources(basic: &[EventSelector], advanced: &[AdvancedEventSelector]) -> BTreeSet<&'static str> {
    if basic.is_empty() && advanced.is_empty() {
        return WRITE_SOURCES.into_iter().collect();
    }
    let mut out = BTreeSet::new();
    for s in basic {
        let writes = !matches!(s.read_write_type(), Some(ReadWriteType::ReadOnly));
        if writes && s.include_management_events().unwrap_or(true) {
            let excluded = s.exclude_management_event_sources();
            out.extend(WRITE_SOURCES.iter().copied().filter(|src| !excluded.iter().any(|x| x == src)));
        }
    }
    for s in advanced {
        let fields = s.field_selectors();
        let admits =
            |field: &str, value: &str| fields.iter().filter(|f| f.field() == field).all(|f| field_admits(f, value));
        // An advanced selector without eventCategory is a data-event selector on AWS: not ours.
        let management = fields.iter().any(|f| f.field() == "eventCategory") && admits("eventCategory", "Management");
        if management && admits("readOnly", "false") {
            out.extend(WRITE_SOURCES.iter().copied().filter(|src| admits("eventSource", src)));
        }
    }
    out
}

/// Whether one field selector lets `value` through: every operator given must hold (a value
/// list of a positive operator is any-of; of a negative one, none-of).
fn field_admits(f: &AdvancedFieldSelector, value: &str) -> bool {
    let any = |list: &[String], pred: &dyn Fn(&str) -> bool| list.is_empty() || list.iter().any(|x| pred(x));
    let none = |list: &[String], pred: &dyn Fn(&str) -> bool| !list.iter().any(|x| pred(x));
    any(f.equals(), &|x| x == value)
        && any(f.starts_with(), &|x| value.starts_with(x))
        && any(f.ends_with(), &|x| value.ends_with(x))
        && none(f.not_equals(), &|x| x == value)
        && none(f.not_starts_with(), &|x| value.starts_with(x))
        && none(f.not_ends_with(), &|x| value.ends_with(x))
}

// ---------------------------------------------------------------------------------------------
// Service-linked roles
// ---------------------------------------------------------------------------------------------

/// A service-linked role some service of the stack needs.
#[derive(Debug)]
struct ServiceRole {
    key: &'static str,
    role: &'static str,
    service: &'static str,
    what: &'static str,
    required: bool,
    without: &'static str,
}

const ROLES: [ServiceRole; 3] = [
    ServiceRole {
        key: "role:ecs",
        role: "AWSServiceRoleForECS",
        service: "ecs.amazonaws.com",
        what: "ECS",
        required: true,
        without: "in an account that never used ECS, the first create of a cluster or service fails (Failed in \
                  status): the function's role may not create roles",
    },
    ServiceRole {
        key: "role:elasticloadbalancing",
        role: "AWSServiceRoleForElasticLoadBalancing",
        service: "elasticloadbalancing.amazonaws.com",
        what: "Elastic Load Balancing",
        required: true,
        without: "in an account that never used Elastic Load Balancing, the first create of a load balancer fails \
                  (Failed in status)",
    },
    ServiceRole {
        key: "role:application-autoscaling",
        role: "AWSServiceRoleForApplicationAutoScaling_ECSService",
        service: "ecs.application-autoscaling.amazonaws.com",
        what: "Application Auto Scaling (ECS services)",
        required: false,
        without: "needed only if services autoscale: the function's role (template.yaml) creates it with the \
                  first ScalableTarget; a role that may not cannot register one",
    },
];

async fn role_check(iam: &aws_sdk_iam::Client, r: &ServiceRole) -> Check {
    let check = Check::new(r.key, format!("service-linked role of {}", r.what), r.required);
    let fix = || format!("aws iam create-service-linked-role --aws-service-name {}", r.service);
    match iam.get_role().role_name(r.role).send().await {
        Ok(_) => check.ok(format!("{} exists", r.role)),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => {
            check.missing(format!("{} does not exist", r.role), r.without, fix())
        }
        Err(e) => check.failed(&call_error("GetRole", r.role)(e), "iam:GetRole"),
    }
}

// ---------------------------------------------------------------------------------------------
// The set: bucket notifications, generation.json, lease, last run
// ---------------------------------------------------------------------------------------------

async fn set_checks(clients: &Clients, loc: &SetLocation, function: Option<&str>) -> Vec<Check> {
    let (events, generation, lease, last) = futures::join!(
        bucket_events_check(clients, loc),
        read_json::<Generation>(clients, loc, "generation.json"),
        async {
            let lock = read_json::<LeaseBody>(clients, loc, "lock").await;
            let pending = read_json::<Pending>(clients, loc, "pending").await;
            (lock, pending)
        },
        read_json::<Summary>(clients, loc, "status/summary.json"),
    );
    let (lock, pending) = lease;
    let commit = match &generation {
        Ok(Some(Ok(g))) => Some(g.commit.clone()),
        _ => None,
    };
    vec![
        events,
        judge_generation(loc, generation),
        judge_lease(loc, lock, pending, now_epoch()),
        judge_last_run(loc, last, commit.as_deref(), function),
    ]
}

async fn bucket_events_check(clients: &Clients, loc: &SetLocation) -> Check {
    let check = Check::new("bucket-events", format!("EventBridge notifications of s3://{}", loc.bucket), false);
    match clients.s3.get_bucket_notification_configuration().bucket(&loc.bucket).send().await {
        Ok(out) => judge_bucket_events(check, loc, out.event_bridge_configuration().is_some()),
        Err(e) => check.failed(
            &call_error("GetBucketNotificationConfiguration", format!("s3://{}", loc.bucket))(e),
            "s3:GetBucketNotification",
        ),
    }
}

fn judge_bucket_events(check: Check, loc: &SetLocation, on: bool) -> Check {
    if on {
        return check.ok("on: a sync's generation.json starts a run");
    }
    check.missing(
        "off",
        "a sync starts no run: the set is applied at its next schedule tick",
        format!(
            "the template's bucket has them on; for this one: aws s3api put-bucket-notification-configuration \
             --bucket {} --notification-configuration '{{\"EventBridgeConfiguration\": {{}}}}' (it replaces the \
             bucket's other notifications: put them in the document too)",
            loc.bucket
        ),
    )
}

/// An object of the set: `None` when absent, `Some(Err)` when it is not what the code writes.
type Read<T> = Result<Option<Result<T, String>>, AwsError>;

async fn read_json<T: serde::de::DeserializeOwned>(clients: &Clients, loc: &SetLocation, key: &str) -> Read<T> {
    Ok(get(clients, &loc.bucket, &loc.key(key))
        .await?
        .map(|(bytes, _)| serde_json::from_slice(&bytes).map_err(|e| e.to_string())))
}

fn judge_generation(loc: &SetLocation, read: Read<Generation>) -> Check {
    let check = Check::new("generation", format!("generation.json of {loc}"), true);
    let sync = format!("ecs-reconciler sync desired/ {loc}");
    let without = "every run of the set applies nothing (its status records `no generation.json`)";
    match read {
        Err(e) => check.failed(&e, "s3:GetObject (and s3:ListBucket) on the bucket"),
        Ok(None) => check.missing("not there: nothing synced yet", without, sync),
        Ok(Some(Err(e))) => check.missing(format!("not valid: {e}"), without, sync),
        Ok(Some(Ok(g))) => {
            check.ok(format!("commit {}, synced {}, {} file(s)", short(&g.commit), g.synced_at, g.files.len()))
        }
    }
}

fn judge_lease(loc: &SetLocation, lock: Read<LeaseBody>, pending: Read<Pending>, now: i64) -> Check {
    let check = Check::new("lease", format!("lease of {loc}"), false);
    let mut detail = match lock {
        Err(e) => return check.failed(&e, "s3:GetObject on the bucket"),
        Ok(None) => "free (never taken)".to_string(),
        Ok(Some(Err(e))) => format!("unreadable ({e}): the next run takes it over"),
        Ok(Some(Ok(l))) if l.expires_at > now => format!(
            "held by {} until {} ({} s more): a run is in progress",
            l.owner,
            epoch_rfc3339(l.expires_at),
            l.expires_at - now
        ),
        Ok(Some(Ok(l))) if l.expires_at == 0 => format!("free (last held by {})", l.owner),
        Ok(Some(Ok(l))) => format!("free (last held by {}, expired {})", l.owner, epoch_rfc3339(l.expires_at)),
    };
    if let Ok(Some(Ok(p))) = pending
        && !p.is_empty()
    {
        detail.push_str(&format!("; {} request(s) wait in {loc}/pending for the holder", p.requests.len()));
    }
    check.ok(detail)
}

fn judge_last_run(loc: &SetLocation, read: Read<Summary>, current: Option<&str>, function: Option<&str>) -> Check {
    let check = Check::new("last-run", format!("last run of {loc}"), false);
    let none = || {
        check.clone().missing(
            "no run recorded for this set",
            "nothing is wrong yet if the stack was just deployed; otherwise the function is not running this set",
            format!(
                "check that `{}` is in the stack's Sets parameter and read the function's logs; to start a run: aws \
                 lambda invoke --function-name {} --cli-binary-format raw-in-base64-out --payload \
                 '{{\"action\": \"apply\", \"set\": \"{}\"}}' out.json",
                loc.prefix,
                function.unwrap_or("FUNCTION"),
                loc.prefix
            ),
        )
    };
    let summary = match read {
        Err(e) => return check.failed(&e, "s3:GetObject on the bucket"),
        Ok(None) => return none(),
        Ok(Some(Err(e))) => return check.ok(format!("unreadable ({e}): the next run rewrites it")),
        Ok(Some(Ok(s))) => s,
    };
    let Some(run) = summary.runs.first() else { return none() };
    let mut detail = format!(
        "{} ({}), generation {}: {} change(s), {} drifted, {} error(s)",
        run.finished_at,
        run.trigger,
        short(&run.generation),
        run.changes,
        run.drift,
        run.errors.len()
    );
    if let Some(first) = run.errors.first() {
        detail.push_str(&format!(" (first: {first})"));
    }
    if let Some(current) = current
        && current != run.generation
    {
        detail.push_str(&format!("; generation {} not applied yet", short(current)));
    }
    let unhealthy = summary.resources.values().filter(|r| r.condition != Condition::Synced).count();
    if unhealthy > 0 {
        detail.push_str(&format!("; {unhealthy} resource(s) not Synced (ecs-reconciler status {loc})"));
    }
    check.ok(detail)
}

/// A commit as people read it.
fn short(commit: &str) -> &str {
    let hex = commit.len() >= 12 && commit.bytes().all(|b| b.is_ascii_hexdigit());
    if hex { &commit[..7] } else { commit }
}

// ---------------------------------------------------------------------------------------------
// The function's reserved concurrency
// ---------------------------------------------------------------------------------------------

/// Not read: a Lambda client would cost this binary minutes of build for one optional setting
/// that `sam deploy` already refuses when it cannot be met. The check says how to look.
fn concurrency_check(function: Option<&str>) -> Check {
    let f = function.unwrap_or("FUNCTION");
    Check::new("reserved-concurrency", "the function's reserved concurrency", false).skipped(
        "doctor does not read Lambda settings; unset (the template's default) is fine, 0 stops the function",
        format!(
            "aws lambda get-function-concurrency --function-name {f} (FunctionName in the stack's outputs); aws \
             lambda get-account-settings shows the account's UnreservedConcurrentExecutions, which must stay at \
             least 100"
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------

fn style(c: &Check) -> Style {
    let colour = match c.state {
        State::Ok => AnsiColor::Green,
        State::Missing if c.required => AnsiColor::Red,
        State::Missing => AnsiColor::Yellow,
        State::Skipped => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(colour.into())).bold()
}

/// One line a check (`STATE  title: detail`), then what works without it and what to do.
pub fn render(report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for c in &report.checks {
        let s = style(c);
        let optional = if c.state == State::Missing && !c.required { " (optional)" } else { "" };
        let _ = writeln!(
            out,
            "{}{:<8}{} {}: {}{optional}",
            s.render(),
            c.state.as_str(),
            s.render_reset(),
            c.title,
            c.detail
        );
        if let Some(e) = &c.error {
            let _ = writeln!(out, "         error: {e}");
        }
        if let Some(w) = &c.without {
            let _ = writeln!(out, "         without it: {w}");
        }
        if let Some(f) = &c.fix {
            let _ = writeln!(out, "         {}: {f}", if c.state == State::Missing { "fix" } else { "to check" });
        }
    }
    let count = |st: State| report.checks.iter().filter(|c| c.state == st).count();
    let failing = report.checks.iter().filter(|c| c.fails()).count();
    let verdict = if report.ok {
        "nothing required is missing".to_string()
    } else {
        format!("{failing} required check(s) failed")
    };
    let _ = writeln!(
        out,
        "{} OK, {} MISSING, {} SKIPPED: {verdict}",
        count(State::Ok),
        count(State::Missing),
        count(State::Skipped)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> aws_sdk_cloudtrail::types::builders::AdvancedFieldSelectorBuilder {
        AdvancedFieldSelector::builder().field(name)
    }

    fn advanced(fields: Vec<AdvancedFieldSelector>) -> AdvancedEventSelector {
        AdvancedEventSelector::builder().set_field_selectors(Some(fields)).build().unwrap()
    }

    fn management() -> AdvancedFieldSelector {
        field("eventCategory").equals("Management").build().unwrap()
    }

    fn all() -> BTreeSet<&'static str> {
        WRITE_SOURCES.into_iter().collect()
    }

    #[test]
    fn basic_selectors() {
        let sel = |rw: Option<ReadWriteType>, mgmt: Option<bool>| {
            EventSelector::builder().set_read_write_type(rw).set_include_management_events(mgmt).build()
        };
        let cases = [
            (vec![sel(Some(ReadWriteType::All), Some(true))], all()),
            (vec![sel(Some(ReadWriteType::WriteOnly), Some(true))], all()),
            (vec![sel(None, None)], all()),
            (vec![sel(Some(ReadWriteType::ReadOnly), Some(true))], BTreeSet::new()),
            (vec![sel(Some(ReadWriteType::All), Some(false))], BTreeSet::new()),
            (vec![sel(Some(ReadWriteType::ReadOnly), Some(true)), sel(Some(ReadWriteType::WriteOnly), None)], all()),
        ];
        for (selectors, want) in cases {
            assert_eq!(logged_write_sources(&selectors, &[]), want, "{selectors:?}");
        }
        assert_eq!(logged_write_sources(&[], &[]), all(), "no selectors: CloudTrail's default, all management events");
    }

    #[test]
    fn advanced_selectors() {
        let read_only = |v: &str| field("readOnly").equals(v).build().unwrap();
        let cases = [
            (vec![management()], all()),
            (vec![management(), read_only("false")], all()),
            (vec![management(), read_only("true")], BTreeSet::new()),
            (vec![management(), field("readOnly").not_equals("true").build().unwrap()], all()),
            (
                vec![management(), field("eventSource").not_equals("ec2.amazonaws.com").build().unwrap()],
                ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com"].into_iter().collect(),
            ),
            (vec![field("eventCategory").equals("Data").build().unwrap()], BTreeSet::new()),
            // No eventCategory: a data-event selector.
            (vec![read_only("false")], BTreeSet::new()),
        ];
        for (fields, want) in cases {
            let selectors = [advanced(fields)];
            assert_eq!(logged_write_sources(&[], &selectors), want, "{selectors:?}");
        }
        // Selectors are any-of: a read-only one and a write one together log writes.
        let both = [advanced(vec![management(), read_only("true")]), advanced(vec![management(), read_only("false")])];
        assert_eq!(logged_write_sources(&[], &both), all());
    }

    #[test]
    fn field_operators() {
        let f = field("eventSource").starts_with("ec").not_ends_with("2.amazonaws.com").build().unwrap();
        assert!(field_admits(&f, "ecs.amazonaws.com"));
        assert!(!field_admits(&f, "ec2.amazonaws.com"));
        assert!(!field_admits(&f, "elasticloadbalancing.amazonaws.com"));
        let f = field("eventSource").equals("a").equals("b").build().unwrap();
        assert!(field_admits(&f, "b") && !field_admits(&f, "c"));
    }

    fn trail(logging: Result<bool, String>, writes: Result<BTreeSet<&'static str>, String>) -> TrailFacts {
        TrailFacts { name: "t".into(), home_region: "us-east-1".into(), multi_region: false, logging, writes }
    }

    fn judge(trails: &[TrailFacts]) -> Check {
        judge_trails(Check::new("cloudtrail", "trail", false), "us-east-1", trails)
    }

    #[test]
    fn trails_judged() {
        assert_eq!(judge(&[]).state, State::Missing);
        assert!(judge(&[]).fix.unwrap().contains("CreateTrail=true"));
        assert_eq!(judge(&[trail(Ok(true), Ok(all()))]).state, State::Ok);
        let stopped = judge(&[trail(Ok(false), Ok(all()))]);
        assert_eq!(stopped.state, State::Missing);
        assert!(stopped.fix.unwrap().starts_with("aws cloudtrail start-logging --name t"));
        assert_eq!(judge(&[trail(Ok(true), Ok(BTreeSet::new()))]).state, State::Missing);
        let partial = judge(&[trail(Ok(true), Ok(["ecs.amazonaws.com"].into_iter().collect()))]);
        assert_eq!(partial.state, State::Missing);
        assert!(partial.fix.unwrap().contains("ec2.amazonaws.com"), "names the sources not logged");
        // Two trails together cover every source.
        let ecs = trail(Ok(true), Ok(["ecs.amazonaws.com"].into_iter().collect()));
        let rest =
            trail(Ok(true), Ok(["elasticloadbalancing.amazonaws.com", "ec2.amazonaws.com"].into_iter().collect()));
        assert_eq!(judge(&[ecs, rest]).state, State::Ok);
        // A trail that could not be read, and no other that covers: could not check.
        let unknown = judge(&[trail(Err("AccessDenied".into()), Ok(all()))]);
        assert_eq!((unknown.state, unknown.error.is_some()), (State::Skipped, true));
        // The trail is not required: missing, it does not fail doctor.
        assert!(!judge(&[]).fails());
    }

    #[test]
    fn bucket_events_judged() {
        let loc = SetLocation::new("b", "prod");
        let check = || Check::new("bucket-events", "n", false);
        assert_eq!(judge_bucket_events(check(), &loc, true).state, State::Ok);
        let off = judge_bucket_events(check(), &loc, false);
        assert_eq!(off.state, State::Missing);
        assert!(!off.fails(), "a sync then waits for the schedule: not required");
    }

    #[test]
    fn lease_judged() {
        let loc = SetLocation::new("b", "prod");
        let body =
            |owner: &str, expires_at| Ok(Some(Ok(LeaseBody { owner: owner.into(), expires_at, run: String::new() })));
        let detail = |lock, pending| judge_lease(&loc, lock, pending, 1000).detail;
        assert_eq!(detail(Ok(None), Ok(None)), "free (never taken)");
        assert_eq!(detail(body("req-1", 0), Ok(None)), "free (last held by req-1)");
        assert!(detail(body("req-1", 900), Ok(None)).starts_with("free (last held by req-1, expired 1970-"));
        let held = detail(body("req-2", 1300), Ok(None));
        assert!(held.starts_with("held by req-2 until 1970-01-01T00:21:40Z (300 s more)"), "{held}");
        let waiting = Pending {
            requests: vec![
                serde_json::from_str(r#"{"trigger": "sync", "requestId": "r", "requestedAt": "2026-12-02T07:00:00Z"}"#)
                    .unwrap(),
            ],
        };
        assert!(
            detail(body("req-2", 1300), Ok(Some(Ok(waiting))))
                .ends_with("1 request(s) wait in s3://b/prod/pending for the holder")
        );
    }

    #[test]
    fn short_commits() {
        assert_eq!(short("3f2a9c1d0e4b5a6978877665544332211aabbccd"), "3f2a9c1");
        assert_eq!(short("c0ffee1"), "c0ffee1");
        assert_eq!(short("3f2a9c1 (rollback)"), "3f2a9c1 (rollback)");
    }
}
