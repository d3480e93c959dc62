//! Where a set comes from and where its status goes: one S3 prefix per set.
//!
//! ```text
//! PREFIX/manifests/...               the files, as in git
//! PREFIX/generation.json             written last by `sync`: {commit, syncedAt, files: {path: sha256}}
//! PREFIX/status/summary.json         the last run, and every resource's condition
//! PREFIX/status/<Kind>/<name>.json   one resource's condition
//! PREFIX/lock                        the lease, taken with a conditional write
//! PREFIX/pending                     runs asked for while the lease was held
//! ```

pub mod lease;
pub mod pending;
pub mod rollback;
pub mod status;
pub mod sync;

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::aws::{AwsError, Clients, call_error};
use crate::manifest::ManifestSet;

/// `s3://BUCKET/PREFIX`: one set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SetLocation {
    pub bucket: String,
    /// No leading or trailing slash; also the set's name.
    pub prefix: String,
}

impl SetLocation {
    pub fn new(bucket: impl Into<String>, prefix: impl AsRef<str>) -> Self {
        SetLocation { bucket: bucket.into(), prefix: prefix.as_ref().trim_matches('/').to_string() }
    }

    /// Parse `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        (!bucket.is_empty() && !prefix.is_empty()).then(|| SetLocation::new(bucket, prefix))
    }

    /// The set's name, as tagged on everything it owns.
    pub fn name(&self) -> &str {
        &self.prefix
    }

    pub fn key(&self, rest: &str) -> String {
        format!("{}/{rest}", self.prefix)
    }

    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

impl std::fmt::Display for SetLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// `generation.json`: which files make up the set, by content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Generation {
    pub commit: String,
    pub synced_at: String,
    /// Path below `manifests/` → lowercase hex sha256 of the file.
    pub files: BTreeMap<String, String>,
}

/// Why a set could not be read from S3. Nothing is applied in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("{url}: no generation.json (nothing synced yet?)")]
    NoGeneration { url: String },
    #[error("{url}/generation.json is not valid: {message}")]
    BadGeneration { url: String, message: String },
    #[error("{url}/manifests/{path} is listed in generation.json but missing (a sync in progress?)")]
    MissingFile { url: String, path: String },
    #[error("{url}/manifests/{path} has sha256 {got}, generation.json says {want} (a sync in progress?)")]
    HashMismatch { url: String, path: String, want: String, got: String },
}

impl StoreError {
    /// A half-uploaded set settles by itself: worth another try; a broken generation is not.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Aws(e) => e.is_transient(),
            StoreError::MissingFile { .. } | StoreError::HashMismatch { .. } => true,
            StoreError::NoGeneration { .. } | StoreError::BadGeneration { .. } => false,
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Read an object; `None` when it does not exist.
pub async fn get(clients: &Clients, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, Option<String>)>, AwsError> {
    match clients.s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag().map(str::to_string);
            let body = out.body.collect().await.map_err(|e| AwsError::Call {
                operation: "GetObject",
                resource: format!("s3://{bucket}/{key}"),
                code: None,
                message: e.to_string(),
                transient: true,
                source: Some(Box::new(e)),
            })?;
            Ok(Some((body.into_bytes().to_vec(), etag)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(call_error("GetObject", format!("s3://{bucket}/{key}"))(e)),
    }
}

/// Read exactly the generation's files and check every hash; a set whose files do not match
/// what `generation.json` lists is never applied.
pub async fn load(clients: &Clients, loc: &SetLocation) -> Result<(Generation, ManifestSet), StoreError> {
    let url = loc.url();
    let Some((body, _)) = get(clients, &loc.bucket, &loc.key("generation.json")).await? else {
        return Err(StoreError::NoGeneration { url });
    };
    let generation: Generation = serde_json::from_slice(&body)
        .map_err(|e| StoreError::BadGeneration { url: url.clone(), message: e.to_string() })?;
    let texts: Vec<(String, String)> = futures::stream::iter(generation.files.iter())
        .map(|(path, want)| {
            let url = url.clone();
            async move {
                let key = loc.key(&format!("manifests/{path}"));
                let Some((bytes, _)) = get(clients, &loc.bucket, &key).await? else {
                    return Err(StoreError::MissingFile { url, path: path.clone() });
                };
                let got = sha256_hex(&bytes);
                if &got != want {
                    return Err(StoreError::HashMismatch { url, path: path.clone(), want: want.clone(), got });
                }
                let text = String::from_utf8(bytes).map_err(|_| StoreError::BadGeneration {
                    url: url.clone(),
                    message: format!("{path} is not UTF-8"),
                })?;
                Ok((format!("{url}/manifests/{path}"), text))
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    Ok((generation, ManifestSet::from_texts(texts)))
}

/// Now, as RFC 3339.
pub fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Now, in seconds since the epoch.
pub fn now_epoch() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_locations() {
        let l = SetLocation::parse("s3://manifests/teams/web/").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("manifests", "teams/web"));
        assert_eq!(l.key("generation.json"), "teams/web/generation.json");
        assert_eq!(SetLocation::parse("s3://bucket"), None, "a set needs a prefix");
        assert_eq!(SetLocation::parse("bucket/x"), None);
    }
}
