//! SDK values as JSON through the SDK's own schema-based codec: the ECS API is JSON, and its
//! member names are the manifests' field names, so a described shape reads into manifest shape
//! without a hand-written conversion per field.

use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec;
use aws_smithy_schema::serde::{SerdeError, SerializableStruct, ShapeDeserializer, ShapeSerializer};
use serde_json::Value;

fn codec() -> JsonCodec {
    // awsJson1_1 (ECS) uses member names, not jsonName traits.
    JsonCodec::new(JsonCodecSettings::builder().use_json_name(false).build())
}

/// A described SDK structure as JSON, member names as the API spells them.
pub fn to_json<T: SerializableStruct>(value: &T) -> Value {
    let mut ser = codec().create_serializer();
    match ser.write_struct(value.schema(), value) {
        Ok(()) => serde_json::from_slice(&ser.finish()).unwrap_or(Value::Null),
        Err(e) => {
            tracing::warn!(error = %e, "SDK value not serialisable");
            Value::Null
        }
    }
}

/// A described resource in manifest shape: its JSON, the members the API names differently from
/// the request renamed (`renames`: described → manifest), with only the fields its kind's spec
/// has (read-only fields such as `revision`, `status` or `registeredAt` dropped; tags are
/// observed on their own).
pub fn manifest_json<T: SerializableStruct>(kind: crate::manifest::Kind, value: &T, renames: &[(&str, &str)]) -> Value {
    let schema = crate::manifest::schema::spec_schema(kind);
    let mut v = to_json(value);
    if let (Some(o), Some(fields)) = (v.as_object_mut(), schema["properties"].as_object()) {
        for (from, to) in renames {
            if let Some(x) = o.remove(*from) {
                o.insert((*to).to_string(), x);
            }
        }
        o.retain(|k, _| fields.contains_key(k) && k != "family" && k != "tags");
    }
    v
}

/// A manifest value (API field names) as an SDK structure, through the same codec:
/// `from_json(&json, ecs::ContainerDefinition::deserialize)`.
pub fn from_json<T>(
    value: &Value,
    deserialize: fn(&mut dyn ShapeDeserializer) -> Result<T, SerdeError>,
) -> Result<T, String> {
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    let codec = codec();
    let mut de = codec.create_deserializer(&bytes);
    deserialize(&mut de).map_err(|e| e.to_string())
}

/// A JSON value as a Smithy document (a member of type `document`, e.g. a lifecycle hook's
/// `hookDetails`).
pub fn document(value: &Value) -> aws_smithy_types::Document {
    use aws_smithy_types::{Document, Number};
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Number::PosInt(u),
            (None, Some(i)) => Number::NegInt(i),
            _ => Number::Float(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(document).collect()),
        Value::Object(o) => Document::Object(o.iter().map(|(k, v)| (k.clone(), document(v))).collect()),
    }
}
