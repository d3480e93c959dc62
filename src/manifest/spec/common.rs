//! Shapes shared by several kinds: tags, key/value pairs, numbers AWS spells as strings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A resource tag. ECS spells it `key`/`value`, ELBv2 and EC2 `Key`/`Value`; manifests use
/// camelCase throughout, so both are written `key`/`value` here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// `{name, value}` as in container `environment`, cluster `settings`, ...
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NameValue {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A number that the AWS API carries as a string (task `cpu` and `memory`): `256`, `"256"` and
/// `"0.25 vCPU"` are all accepted and kept as written, as a string.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct NumberString(#[schemars(with = "NumberOrStringSchema")] pub String);

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum NumberOrStringSchema {
    Number(u64),
    String(String),
}

impl<'de> Deserialize<'de> for NumberString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = NumberString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string such as \"256\" or \"1 vCPU\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(NumberString(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(NumberString(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(NumberString(v.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(NumberString(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl NumberString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One reference found in a spec: its path below the document root (as `spec.cluster`), the kind
/// it must name and the value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub path: String,
    pub kind: super::super::Kind,
    pub value: String,
}

impl Reference {
    pub fn new(path: impl Into<String>, kind: super::super::Kind, value: &str) -> Self {
        Self { path: path.into(), kind, value: value.to_string() }
    }
}
