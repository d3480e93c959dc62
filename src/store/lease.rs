//! The per-set lease (`PREFIX/lock`): at most one run applies to a set at a time, whoever runs
//! it (the Lambda, the CLI's `apply`). Taken with S3 conditional writes (If-None-Match to create,
//! If-Match to take over an expired one or to renew), so two runs that start together cannot
//! both win. It is short ([`TTL`]) and renewed by a heartbeat while its run lasts, so a run that
//! died frees the set within about a minute.
//!
//! Every lease carries its run's own id: when a conditional write fails or its answer is lost
//! (the SDK resends it, and the resend finds the object changed — by itself), the lock is read
//! back, and a lock with this run's id is this run's.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::{SetLocation, get, now_epoch};
use crate::aws::{AwsError, Clients, call_error};

/// How long a lease lasts without renewal.
pub const TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseBody {
    /// Who holds it (the Lambda request id, or `cli@host`).
    pub owner: String,
    /// Seconds since the epoch after which anyone may take it.
    pub expires_at: i64,
    /// The holding run's own id, unique per acquisition.
    #[serde(default)]
    pub run: String,
}

/// A held lease, renewed in the background until given back with [`release`] (or dropped).
#[derive(Debug)]
pub struct Lease {
    pub key: String,
    pub bucket: String,
    etag: Arc<Mutex<String>>,
    pub body: LeaseBody,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
    }
}

/// Why the lease was not taken: another live run holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held(pub LeaseBody);

pub(super) fn precondition_failed(code: Option<&str>) -> bool {
    matches!(code, Some("PreconditionFailed") | Some("ConditionalRequestConflict"))
}

/// A run id no other acquisition has: time, process and a per-process counter, hashed.
fn new_run_id(owner: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(owner.as_bytes());
    h.write_u32(std::process::id());
    h.write_u64(N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    format!("{:016x}", h.finish())
}

enum Cond<'a> {
    Absent,
    Etag(&'a str),
}

/// A conditional PUT of the lock. `Ok(Some(etag))`: written (or found written by this very run
/// after an error or a lost answer); `Ok(None)`: the condition failed for someone else's lock.
async fn put(
    clients: &Clients,
    bucket: &str,
    key: &str,
    body: &LeaseBody,
    cond: Cond<'_>,
) -> Result<Option<String>, AwsError> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut cond_etag = match cond {
        Cond::Absent => None,
        Cond::Etag(e) => Some(e.to_string()),
    };
    for _ in 0..3 {
        let req = clients.s3.put_object().bucket(bucket).key(key).body(bytes.clone().into());
        let req = match &cond_etag {
            None => req.if_none_match("*"),
            Some(e) => req.if_match(e),
        };
        let err = match req.send().await {
            Ok(out) => return Ok(Some(out.e_tag().unwrap_or_default().to_string())),
            Err(e) => call_error("PutObject", format!("s3://{bucket}/{key}"))(e),
        };
        if !precondition_failed(err.code()) && !err.is_transient() {
            return Err(err);
        }
        // A precondition failure may be our own earlier attempt (its answer lost, the SDK
        // resent); a transient failure may have written all the same. The lock says which.
        let Some((current, etag)) = get(clients, bucket, key).await? else {
            return if precondition_failed(err.code()) { Ok(None) } else { Err(err) };
        };
        let held: Option<LeaseBody> = serde_json::from_slice(&current).ok();
        match held {
            Some(h) if !body.run.is_empty() && h.run == body.run => {
                if &h == body {
                    info!(key, run = body.run, "the lock is this run's own write (its answer was lost)");
                    return Ok(etag);
                }
                // Ours, written by another of this run's writes (a renewal): write over it.
                cond_etag = etag;
            }
            _ if precondition_failed(err.code()) => return Ok(None),
            _ => return Err(err),
        }
    }
    Err(AwsError::unresolved(format!("s3://{bucket}/{key}"), "the lock kept changing while it was written"))
}

/// Try to take the lease for `ttl`. `Ok(Err(Held))` when another unexpired run has it. A taken
/// lease is renewed every third of `ttl` until released.
pub async fn acquire(
    clients: &Clients,
    loc: &SetLocation,
    owner: &str,
    ttl: Duration,
) -> Result<Result<Lease, Held>, AwsError> {
    let key = loc.key("lock");
    let run = new_run_id(owner);
    for _ in 0..3 {
        let body =
            LeaseBody { owner: owner.to_string(), expires_at: now_epoch() + ttl.as_secs() as i64, run: run.clone() };
        // First: create it if nobody has.
        if let Some(etag) = put(clients, &loc.bucket, &key, &body, Cond::Absent).await? {
            info!(set = %loc, owner, run, "lease taken");
            return Ok(Ok(Lease::held(clients, key, &loc.bucket, etag, body, ttl)));
        }
        // It exists: ours to take only if it has expired, and only if nobody took it meanwhile.
        let Some((current, etag)) = get(clients, &loc.bucket, &key).await? else { continue };
        let held: LeaseBody = serde_json::from_slice(&current).unwrap_or(LeaseBody {
            owner: "unknown".into(),
            expires_at: 0,
            run: String::new(),
        });
        if held.expires_at > now_epoch() {
            return Ok(Err(Held(held)));
        }
        match put(clients, &loc.bucket, &key, &body, Cond::Etag(&etag.unwrap_or_default())).await? {
            Some(etag) => {
                info!(set = %loc, owner, run, previous = held.owner, "expired lease taken over");
                return Ok(Ok(Lease::held(clients, key, &loc.bucket, etag, body, ttl)));
            }
            None => {
                // Someone else took it over first: theirs now, if it reads so.
                if let Some((current, _)) = get(clients, &loc.bucket, &key).await?
                    && let Ok(b) = serde_json::from_slice::<LeaseBody>(&current)
                    && b.expires_at > now_epoch()
                {
                    return Ok(Err(Held(b)));
                }
            }
        }
    }
    Err(AwsError::unresolved(format!("{loc}/lock"), "the lock kept changing while it was being taken"))
}

impl Lease {
    fn held(clients: &Clients, key: String, bucket: &str, etag: String, body: LeaseBody, ttl: Duration) -> Lease {
        let etag = Arc::new(Mutex::new(etag));
        let heartbeat =
            tokio::spawn(heartbeat(clients.clone(), bucket.to_string(), key.clone(), etag.clone(), body.clone(), ttl));
        Lease { key, bucket: bucket.to_string(), etag, body, heartbeat: Some(heartbeat) }
    }

    fn etag(&self) -> String {
        self.etag.lock().expect("lease etag poisoned").clone()
    }
}

/// Renew the lease every third of its TTL while the run lasts; stop when it is no longer ours.
async fn heartbeat(
    clients: Clients,
    bucket: String,
    key: String,
    etag: Arc<Mutex<String>>,
    mut body: LeaseBody,
    ttl: Duration,
) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        body.expires_at = now_epoch() + ttl.as_secs() as i64;
        let current = etag.lock().expect("lease etag poisoned").clone();
        match put(&clients, &bucket, &key, &body, Cond::Etag(&current)).await {
            Ok(Some(new)) => *etag.lock().expect("lease etag poisoned") = new,
            Ok(None) => {
                warn!(key, "the lease was taken over (not renewed in time?); no longer renewing it");
                return;
            }
            Err(e) => warn!(key, error = %e, "lease not renewed; trying again"),
        }
    }
}

/// Give the lease back: mark it expired, only if it is still ours (If-Match).
pub async fn release(clients: &Clients, mut lease: Lease) -> Result<(), AwsError> {
    if let Some(h) = lease.heartbeat.take() {
        h.abort();
        let _ = h.await;
    }
    let body = LeaseBody { expires_at: 0, ..lease.body.clone() };
    // `None`: someone took it over after it expired; not ours to give back.
    put(clients, &lease.bucket, &lease.key, &body, Cond::Etag(&lease.etag())).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_differ_and_old_locks_still_read() {
        assert_ne!(new_run_id("a"), new_run_id("a"));
        let old: LeaseBody = serde_json::from_str(r#"{"owner":"req-1","expiresAt":5}"#).unwrap();
        assert_eq!(old.run, "");
    }
}
