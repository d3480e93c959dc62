//! `LogGroup.spec`: a CloudWatch Logs CreateLogGroup request without `logGroupName` (that is
//! `metadata.name`), plus its retention (PutRetentionPolicy).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Reference, Tag};

/// The body of a `LogGroup` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogGroupSpec {
    /// Days to keep log events: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    /// 1096, 1827, 2192, 2557, 2922, 3288 or 3653. Absent: they never expire (AWS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i32>,
    /// The ARN of the (symmetric) KMS key that encrypts the log data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// `STANDARD` (the default), `INFREQUENT_ACCESS` or `DELIVERY`; fixed once the group exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group_class: Option<String>,
    /// Metadata applied to the log group, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl LogGroupSpec {
    /// The retention periods PutRetentionPolicy accepts (CloudWatch Logs API reference,
    /// PutRetentionPolicy: "Possible values are: 1, 3, 5, ... 3288, and 3653").
    pub const RETENTION_DAYS: [i32; 22] =
        [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    /// CreateLogGroup's `logGroupClass` values (LogGroupClass).
    pub const CLASSES: [&'static str; 3] = ["STANDARD", "INFREQUENT_ACCESS", "DELIVERY"];

    /// A log group names no other resource of the set.
    pub fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}
