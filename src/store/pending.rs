//! Runs asked for while another run held the set's lease (`PREFIX/pending`), so that no event is
//! lost: a run that finds the lease held records what it was asked for here (with ECS's word on
//! a service, which only the lease holder may write into status), and the holder, before and
//! after it gives the lease back, runs again while anything is recorded. Every write is
//! conditional (If-None-Match / If-Match), so two runs that record at once both land.

use serde::{Deserialize, Serialize};

use super::lease::precondition_failed;
use super::{SetLocation, get};
use crate::aws::{AwsError, Clients, call_error};
use crate::store::status::ServiceEvent;

/// What one run was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// `sync`, `schedule`, `ecs-event`, ...
    pub trigger: String,
    pub request_id: String,
    pub requested_at: String,
    /// The commit of `generation.json` when it was asked (empty when none could be read).
    #[serde(default)]
    pub generation: String,
    /// Who held the lease.
    #[serde(default)]
    pub holder: String,
    /// What ECS said about a service, to be written into status under the lease.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ServiceEvent>,
}

/// `PREFIX/pending`: empty once a lease holder has taken it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub requests: Vec<Request>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub fn events(&self) -> impl Iterator<Item = &ServiceEvent> {
        self.requests.iter().flat_map(|r| &r.events)
    }
}

/// Compare-and-swap attempts before giving up (each loses only to another writer that won).
const ATTEMPTS: usize = 8;

/// Requests kept at most: a burst is one rerun however long it is; only ECS's words matter.
const KEPT: usize = 50;

async fn read(clients: &Clients, loc: &SetLocation) -> Result<(Pending, Option<String>), AwsError> {
    Ok(match get(clients, &loc.bucket, &loc.key("pending")).await? {
        Some((bytes, etag)) => (serde_json::from_slice(&bytes).unwrap_or_default(), etag),
        None => (Pending::default(), None),
    })
}

/// Put `pending` if the object is still at `etag` (`None`: still absent). `Ok(false)`: another
/// writer came first.
async fn put_if(clients: &Clients, loc: &SetLocation, pending: &Pending, etag: Option<&str>) -> Result<bool, AwsError> {
    let put = clients
        .s3
        .put_object()
        .bucket(&loc.bucket)
        .key(loc.key("pending"))
        .content_type("application/json")
        .body(serde_json::to_vec(pending).unwrap_or_default().into());
    let put = match etag {
        Some(e) => put.if_match(e),
        None => put.if_none_match("*"),
    };
    match put.send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = call_error("PutObject", format!("{loc}/pending"))(e);
            if precondition_failed(err.code()) { Ok(false) } else { Err(err) }
        }
    }
}

/// Record a request for the lease holder to run.
pub async fn add(clients: &Clients, loc: &SetLocation, request: Request) -> Result<(), AwsError> {
    for _ in 0..ATTEMPTS {
        let (mut pending, etag) = read(clients, loc).await?;
        pending.requests.push(request.clone());
        // Keep every request that carries ECS's word, and the newest of the rest.
        while pending.requests.len() > KEPT {
            match pending.requests.iter().position(|r| r.events.is_empty()) {
                Some(i) => pending.requests.remove(i),
                None => pending.requests.remove(0),
            };
        }
        if put_if(clients, loc, &pending, etag.as_deref()).await? {
            return Ok(());
        }
    }
    Err(AwsError::unresolved(format!("{loc}/pending"), "too many concurrent writers; not recorded"))
}

/// Take everything recorded (leaving it empty): for the lease holder, before a run.
pub async fn take(clients: &Clients, loc: &SetLocation) -> Result<Pending, AwsError> {
    for _ in 0..ATTEMPTS {
        let (pending, etag) = read(clients, loc).await?;
        if pending.is_empty() {
            return Ok(pending);
        }
        if put_if(clients, loc, &Pending::default(), etag.as_deref()).await? {
            return Ok(pending);
        }
    }
    Err(AwsError::unresolved(format!("{loc}/pending"), "too many concurrent writers; not taken"))
}

/// What is recorded, without taking it.
pub async fn peek(clients: &Clients, loc: &SetLocation) -> Result<Pending, AwsError> {
    Ok(read(clients, loc).await?.0)
}
