//! The per-set lease (`PREFIX/lock`): at most one run applies to a set at a time. Taken with S3
//! conditional writes (If-None-Match to create, If-Match to take over an expired one), so two
//! runs that start together cannot both win; it expires, so a run that died frees it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::info;

use super::{SetLocation, get, now_epoch};
use crate::aws::{AwsError, Clients, call_error};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseBody {
    /// Who holds it (the Lambda request id, or `cli@host`).
    pub owner: String,
    /// Seconds since the epoch after which anyone may take it.
    pub expires_at: i64,
}

/// A held lease; give it back with [`release`].
#[derive(Debug, Clone)]
pub struct Lease {
    pub key: String,
    pub bucket: String,
    etag: String,
    pub body: LeaseBody,
}

/// Why the lease was not taken: another live run holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held(pub LeaseBody);

pub(super) fn precondition_failed(code: Option<&str>) -> bool {
    matches!(code, Some("PreconditionFailed") | Some("ConditionalRequestConflict"))
}

/// Try to take the lease for `ttl`. `Ok(Err(Held))` when another unexpired run has it.
pub async fn acquire(
    clients: &Clients,
    loc: &SetLocation,
    owner: &str,
    ttl: Duration,
) -> Result<Result<Lease, Held>, AwsError> {
    let key = loc.key("lock");
    let body = LeaseBody { owner: owner.to_string(), expires_at: now_epoch() + ttl.as_secs() as i64 };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    // First: create it if nobody has.
    let put = clients
        .s3
        .put_object()
        .bucket(&loc.bucket)
        .key(&key)
        .if_none_match("*")
        .body(bytes.clone().into())
        .send()
        .await;
    match put {
        Ok(out) => {
            info!(set = %loc, owner, "lease taken");
            return Ok(Ok(Lease {
                key,
                bucket: loc.bucket.clone(),
                etag: out.e_tag().unwrap_or_default().to_string(),
                body,
            }));
        }
        Err(e) => {
            let err = call_error("PutObject", format!("{loc}/lock"))(e);
            if !precondition_failed(err.code()) {
                return Err(err);
            }
        }
    }
    // It exists: ours to take only if it has expired, and only if nobody took it meanwhile.
    let Some((current, etag)) = get(clients, &loc.bucket, &key).await? else {
        return Box::pin(acquire(clients, loc, owner, ttl)).await;
    };
    let held: LeaseBody =
        serde_json::from_slice(&current).unwrap_or(LeaseBody { owner: "unknown".into(), expires_at: 0 });
    if held.expires_at > now_epoch() {
        return Ok(Err(Held(held)));
    }
    let put = clients
        .s3
        .put_object()
        .bucket(&loc.bucket)
        .key(&key)
        .if_match(etag.unwrap_or_default())
        .body(bytes.into())
        .send()
        .await;
    match put {
        Ok(out) => {
            info!(set = %loc, owner, previous = held.owner, "expired lease taken over");
            Ok(Ok(Lease { key, bucket: loc.bucket.clone(), etag: out.e_tag().unwrap_or_default().to_string(), body }))
        }
        Err(e) => {
            let err = call_error("PutObject", format!("{loc}/lock"))(e);
            if precondition_failed(err.code()) { Ok(Err(Held(held))) } else { Err(err) }
        }
    }
}

/// Give the lease back: mark it expired, only if it is still ours (If-Match).
pub async fn release(clients: &Clients, lease: Lease) -> Result<(), AwsError> {
    let body = LeaseBody { owner: lease.body.owner.clone(), expires_at: 0 };
    let r = clients
        .s3
        .put_object()
        .bucket(&lease.bucket)
        .key(&lease.key)
        .if_match(&lease.etag)
        .body(serde_json::to_vec(&body).unwrap_or_default().into())
        .send()
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = call_error("PutObject", format!("s3://{}/{}", lease.bucket, lease.key))(e);
            // Someone took it over after it expired: not ours to give back.
            if precondition_failed(err.code()) { Ok(()) } else { Err(err) }
        }
    }
}
