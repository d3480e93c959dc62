//! `rollback`: put an earlier generation of a set back, from the bucket's object versions, so a
//! bad commit can be undone without git access.
//!
//! The generation is found among the versions of `PREFIX/generation.json` (by its S3 VersionId,
//! or by the git commit it recorded), each file it lists among the versions of
//! `PREFIX/manifests/<path>` (by the sha256 it recorded), the files are validated as a set, and
//! then written exactly as `sync` writes a set: changed files, `generation.json` last (which
//! starts a run), files that left deleted. Nothing is written unless every step before the sync
//! succeeded, and nothing at all when the set already has that content.
//!
//! The generation written records the old commit followed by [`ROLLBACK_SUFFIX`], e.g.
//! `3f2a9c1… (rollback)`: status shows which commit's content is live, and the bucket's history
//! shows that it got there by a rollback rather than by a push.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::sync::{SyncReport, sync};
use super::{Generation, SetLocation, sha256_hex};
use crate::aws::{AwsError, Clients, call_error};
use crate::manifest::{Diagnostic, ManifestSet};

/// Appended to the old commit in the `generation.json` a rollback writes.
pub const ROLLBACK_SUFFIX: &str = " (rollback)";

/// The shortest commit prefix `--to` accepts (as `git` abbreviates); shorter only matches exactly.
pub const MIN_COMMIT_PREFIX: usize = 7;

/// How many object versions are fetched at once while searching.
const CONCURRENCY: usize = 8;

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackReport {
    /// The sync that wrote the old generation back; its `commit` is the label written.
    #[serde(flatten)]
    pub sync: SyncReport,
    /// The S3 VersionId of the `generation.json` restored.
    pub version_id: String,
    /// The commit that generation recorded (without any earlier rollback's suffix).
    pub restored_commit: String,
    /// When that generation was synced.
    pub restored_synced_at: String,
    /// Path below `manifests/` → the VersionId its content came from.
    pub file_versions: BTreeMap<String, String>,
}

/// Why a rollback wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error(
        "{url}: no version of generation.json has VersionId `{to}` or records commit `{to}`{hint} \
         (searched {searched} version(s) of {url}/generation.json, newest first); nothing was written"
    )]
    NotFound { url: String, to: String, searched: usize, hint: &'static str },
    #[error("{url}/generation.json version {version_id} is not valid: {message}; nothing was written")]
    BadGeneration { url: String, version_id: String, message: String },
    #[error(
        "{url}/manifests/{path}: none of its {searched} version(s) has sha256 {sha256}, which generation \
         {commit} lists (deleted, or expired by a lifecycle rule?); nothing was written"
    )]
    ContentGone { url: String, path: String, sha256: String, searched: usize, commit: String },
    #[error("{url}/manifests/{path} version {version_id} is not UTF-8; nothing was written")]
    NotUtf8 { url: String, path: String, version_id: String },
    #[error("generation {commit} ({url}/generation.json version {version_id}) is invalid ({} error(s)); nothing was written", diagnostics.len())]
    Invalid { url: String, commit: String, version_id: String, diagnostics: Vec<Diagnostic> },
}

/// One version of `generation.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundGeneration {
    pub version_id: String,
    pub generation: Generation,
}

/// The commit a generation records, without a rollback's suffix.
pub fn base_commit(recorded: &str) -> &str {
    recorded.strip_suffix(ROLLBACK_SUFFIX).unwrap_or(recorded)
}

/// Whether `to` names the commit `recorded`: equal, or a prefix of at least
/// [`MIN_COMMIT_PREFIX`] characters (case-insensitive, as hex).
pub fn commit_matches(recorded: &str, to: &str) -> bool {
    let recorded = base_commit(recorded);
    recorded == to
        || (to.len() >= MIN_COMMIT_PREFIX && recorded.get(..to.len()).is_some_and(|p| p.eq_ignore_ascii_case(to)))
}

/// The VersionIds of exactly `key`, newest first (every page).
async fn versions_of(clients: &Clients, bucket: &str, key: &str) -> Result<Vec<String>, AwsError> {
    let mut found = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page = clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await
            .map_err(call_error("ListObjectVersions", format!("s3://{bucket}/{key}")))?;
        for v in page.versions() {
            // The prefix also matches longer keys (`web.yaml.bak`).
            if v.key() == Some(key)
                && let Some(id) = v.version_id()
            {
                found.push((v.last_modified().map(|t| (t.secs(), t.subsec_nanos())), id.to_string()));
            }
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
        if page.is_truncated() != Some(true) || (key_marker.is_none() && version_marker.is_none()) {
            break;
        }
    }
    // S3 lists a key's versions newest first; a stable sort keeps that order for equal times.
    found.sort_by_key(|v| std::cmp::Reverse(v.0));
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

async fn get_version(clients: &Clients, bucket: &str, key: &str, version_id: &str) -> Result<Vec<u8>, AwsError> {
    let resource = format!("s3://{bucket}/{key}?versionId={version_id}");
    let out = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version_id)
        .send()
        .await
        .map_err(call_error("GetObject", resource.clone()))?;
    let body = out.body.collect().await.map_err(|e| AwsError::Call {
        operation: "GetObject",
        resource,
        code: None,
        message: e.to_string(),
        transient: true,
        source: Some(Box::new(e)),
    })?;
    Ok(body.into_bytes().to_vec())
}

/// The generation `to` names: a VersionId of `generation.json`, or else the newest version whose
/// recorded commit matches (see [`commit_matches`]).
pub async fn find_generation(clients: &Clients, loc: &SetLocation, to: &str) -> Result<FoundGeneration, RollbackError> {
    let url = loc.url();
    let key = loc.key("generation.json");
    let versions = versions_of(clients, &loc.bucket, &key).await?;
    let parse = |version_id: &str, bytes: &[u8]| {
        serde_json::from_slice::<Generation>(bytes).map_err(|e| RollbackError::BadGeneration {
            url: url.clone(),
            version_id: version_id.to_string(),
            message: e.to_string(),
        })
    };
    if let Some(id) = versions.iter().find(|id| id.as_str() == to) {
        let bytes = get_version(clients, &loc.bucket, &key, id).await?;
        return Ok(FoundGeneration { version_id: id.clone(), generation: parse(id, &bytes)? });
    }
    // Newest first, a few at a time, stopping at the first match.
    for chunk in versions.chunks(CONCURRENCY) {
        let bodies =
            futures::future::try_join_all(chunk.iter().map(|id| get_version(clients, &loc.bucket, &key, id))).await?;
        for (id, bytes) in chunk.iter().zip(bodies) {
            // A version that is not a generation cannot be the one asked for.
            let Ok(generation) = parse(id, &bytes) else { continue };
            if commit_matches(&generation.commit, to) {
                return Ok(FoundGeneration { version_id: id.clone(), generation });
            }
        }
    }
    let hint = if to.len() < MIN_COMMIT_PREFIX { " (a commit prefix needs at least 7 characters)" } else { "" };
    Err(RollbackError::NotFound { url, to: to.to_string(), searched: versions.len(), hint })
}

/// Every file the generation lists, from the version of `manifests/<path>` whose content has the
/// recorded sha256 (newest first): path → (content, VersionId).
pub async fn restore_files(
    clients: &Clients,
    loc: &SetLocation,
    generation: &Generation,
) -> Result<BTreeMap<String, (Vec<u8>, String)>, RollbackError> {
    futures::stream::iter(generation.files.iter())
        .map(|(path, want)| async move {
            let key = loc.key(&format!("manifests/{path}"));
            let versions = versions_of(clients, &loc.bucket, &key).await?;
            for id in &versions {
                let bytes = get_version(clients, &loc.bucket, &key, id).await?;
                if &sha256_hex(&bytes) == want {
                    return Ok((path.clone(), (bytes, id.clone())));
                }
            }
            Err(RollbackError::ContentGone {
                url: loc.url(),
                path: path.clone(),
                sha256: want.clone(),
                searched: versions.len(),
                commit: generation.commit.clone(),
            })
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await
}

/// Find the generation `to` names, restore its files, validate them as a set, and sync them
/// back with the commit `<old commit> (rollback)`. Writes nothing on any error, and nothing when
/// the set's current content is already that generation's.
pub async fn rollback(clients: &Clients, loc: &SetLocation, to: &str) -> Result<RollbackReport, RollbackError> {
    let url = loc.url();
    let FoundGeneration { version_id, generation } = find_generation(clients, loc, to).await?;
    let restored = restore_files(clients, loc, &generation).await?;
    let mut texts = Vec::with_capacity(restored.len());
    for (path, (bytes, file_version)) in &restored {
        let text = std::str::from_utf8(bytes).map_err(|_| RollbackError::NotUtf8 {
            url: url.clone(),
            path: path.clone(),
            version_id: file_version.clone(),
        })?;
        texts.push((format!("{url}/manifests/{path}"), text));
    }
    let set = ManifestSet::from_texts(texts);
    if !set.is_valid() {
        return Err(RollbackError::Invalid {
            url,
            commit: generation.commit.clone(),
            version_id,
            diagnostics: set.errors().cloned().collect(),
        });
    }
    let restored_commit = base_commit(&generation.commit).to_string();
    let label = format!("{restored_commit}{ROLLBACK_SUFFIX}");
    let files: BTreeMap<String, Vec<u8>> = restored.iter().map(|(p, (b, _))| (p.clone(), b.clone())).collect();
    let report = sync(clients, loc, &files, &label).await?;
    Ok(RollbackReport {
        sync: report,
        version_id,
        restored_commit,
        restored_synced_at: generation.synced_at,
        file_versions: restored.into_iter().map(|(p, (_, v))| (p, v)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_match_in_full_or_by_a_prefix_of_seven() {
        let sha = "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";
        assert!(commit_matches(sha, sha));
        assert!(commit_matches(sha, "3f2a9c1"));
        assert!(commit_matches(sha, "3F2A9C1D"));
        assert!(!commit_matches(sha, "3f2a9c"), "six characters are too few for a prefix");
        assert!(!commit_matches(sha, "3f2a9c2"));
        assert!(commit_matches("abc123", "abc123"), "a short label matches exactly");
        assert!(commit_matches(&format!("{sha}{ROLLBACK_SUFFIX}"), "3f2a9c1"), "a rollback records the same commit");
        assert!(commit_matches(&format!("{sha}{ROLLBACK_SUFFIX}"), sha));
        assert!(!commit_matches("3f2a9c1", "3f2a9c1d8e7b"), "longer than the recorded commit");
    }
}
