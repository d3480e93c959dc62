//! `sync`: copy a validated set to S3, the way the Lambda reads it: changed files first, files
//! that left deleted, `generation.json` last (its creation is what triggers a run). A set whose
//! content did not change writes nothing, and so triggers nothing.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{Generation, SetLocation, get, now_rfc3339, sha256_hex};
use crate::aws::{AwsError, Clients, call_error};
use crate::manifest::manifest_files;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub uploaded: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
    /// False when the content equals the set's current generation: nothing was written.
    pub generation_written: bool,
    pub commit: String,
}

/// The files of a local set, path below `root` (with `/`) → contents.
pub fn local_files(root: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    let files = manifest_files(&[root.to_path_buf()]).map_err(std::io::Error::other)?;
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        out.insert(rel, std::fs::read(&f)?);
    }
    Ok(out)
}

/// Upload `files` as the set's new generation.
pub async fn sync(
    clients: &Clients,
    loc: &SetLocation,
    files: &BTreeMap<String, Vec<u8>>,
    commit: &str,
) -> Result<SyncReport, AwsError> {
    let current: Option<Generation> = get(clients, &loc.bucket, &loc.key("generation.json"))
        .await?
        .and_then(|(b, _)| serde_json::from_slice(&b).ok());
    let hashes: BTreeMap<String, String> = files.iter().map(|(p, b)| (p.clone(), sha256_hex(b))).collect();
    let mut report = SyncReport { commit: commit.to_string(), ..Default::default() };
    let old = current.as_ref().map(|g| g.files.clone()).unwrap_or_default();
    if current.is_some() && old == hashes {
        report.unchanged = hashes.len();
        return Ok(report);
    }
    for (path, hash) in &hashes {
        if old.get(path) == Some(hash) {
            report.unchanged += 1;
            continue;
        }
        let key = loc.key(&format!("manifests/{path}"));
        clients
            .s3
            .put_object()
            .bucket(&loc.bucket)
            .key(&key)
            .body(files[path].clone().into())
            .send()
            .await
            .map_err(call_error("PutObject", format!("s3://{}/{key}", loc.bucket)))?;
        report.uploaded.push(path.clone());
    }
    let generation = Generation { commit: commit.to_string(), synced_at: now_rfc3339(), files: hashes.clone() };
    let key = loc.key("generation.json");
    clients
        .s3
        .put_object()
        .bucket(&loc.bucket)
        .key(&key)
        .content_type("application/json")
        .body(serde_json::to_vec_pretty(&generation).unwrap_or_default().into())
        .send()
        .await
        .map_err(call_error("PutObject", format!("s3://{}/{key}", loc.bucket)))?;
    report.generation_written = true;
    // Files that left go after the new generation is in place: a run started by the old
    // generation meanwhile still finds what it lists.
    for path in old.keys().filter(|p| !hashes.contains_key(*p)) {
        let key = loc.key(&format!("manifests/{path}"));
        clients
            .s3
            .delete_object()
            .bucket(&loc.bucket)
            .key(&key)
            .send()
            .await
            .map_err(call_error("DeleteObject", format!("s3://{}/{key}", loc.bucket)))?;
        report.deleted.push(path.clone());
    }
    Ok(report)
}
