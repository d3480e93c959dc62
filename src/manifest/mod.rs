//! Manifests: parse a set of files into typed resources, with positions, and validate it offline.
//!
//! `load` never stops at the first bad document: it returns every resource it could read and
//! every diagnostic, so a user fixes a set in one pass. A set with any error is rejected whole.

pub mod diagnostic;
mod kind;
pub mod schema;
pub mod source;
pub mod spec;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use diagnostic::{Diagnostic, Severity};
pub use kind::{DeletionPolicy, Kind};
use source::{Positions, SourceDoc};
use spec::*;

/// The only `apiVersion` this release reads.
pub const API_VERSION: &str = "ecs-reconciler/v1";

/// The file extensions read from a folder.
pub const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// `metadata` of every document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    /// Unique per kind in the set; the AWS name (the ECS family for a TaskDefinition).
    pub name: String,
    /// Take over an existing resource of that name that the reconciler does not own yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
    /// Spec paths the reconciler leaves alone once the resource exists, e.g. `[desiredCount]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<String>,
    /// What prune does once the manifest leaves the set: `Delete`, or `Retain` (left in place).
    /// The default is `Retain` for a LogGroup (it holds data) and `Delete` for the other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
}

impl Metadata {
    /// The deletion policy in force for a resource of `kind`.
    pub fn deletion_policy(&self, kind: Kind) -> DeletionPolicy {
        self.deletion_policy.unwrap_or(kind.default_deletion_policy())
    }
}

/// The typed `spec` of a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Spec {
    SecurityGroup(SecurityGroupSpec),
    TargetGroup(TargetGroupSpec),
    LoadBalancer(LoadBalancerSpec),
    TaskDefinition(TaskDefinitionSpec),
    Cluster(ClusterSpec),
    Service(ServiceSpec),
    LogGroup(LogGroupSpec),
    ScalableTarget(ScalableTargetSpec),
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::SecurityGroup(_) => Kind::SecurityGroup,
            Spec::TargetGroup(_) => Kind::TargetGroup,
            Spec::LoadBalancer(_) => Kind::LoadBalancer,
            Spec::TaskDefinition(_) => Kind::TaskDefinition,
            Spec::Cluster(_) => Kind::Cluster,
            Spec::Service(_) => Kind::Service,
            Spec::LogGroup(_) => Kind::LogGroup,
            Spec::ScalableTarget(_) => Kind::ScalableTarget,
        }
    }

    /// Every field that may name another resource of the set.
    pub fn references(&self) -> Vec<spec::common::Reference> {
        match self {
            Spec::SecurityGroup(s) => s.references(),
            Spec::TargetGroup(s) => s.references(),
            Spec::LoadBalancer(s) => s.references(),
            Spec::TaskDefinition(s) => s.references(),
            Spec::Cluster(s) => s.references(),
            Spec::Service(s) => s.references(),
            Spec::LogGroup(s) => s.references(),
            Spec::ScalableTarget(s) => s.references(),
        }
    }
}

/// Where a document came from, to point diagnostics at it.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: String,
    /// 0-based index of the document in its file.
    pub document: usize,
    pub positions: Positions,
}

/// One valid document.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: Kind,
    pub metadata: Metadata,
    pub spec: Spec,
    pub origin: Arc<Origin>,
}

impl Resource {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// `Kind/name`, the way diagnostics and plans name a resource.
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.metadata.name)
    }

    /// A diagnostic about the field at `path` (e.g. `spec.cluster`) of this resource.
    pub fn diagnostic(
        &self,
        severity: Severity,
        code: &'static str,
        path: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::new(severity, code, &self.origin.file, self.origin.positions.value(path), message)
            .with_resource(self.kind, &self.metadata.name)
            .with_field(path)
    }
}

/// A loaded set: the resources that parsed, and every finding. `is_valid` is false when any
/// finding is an error; such a set must not be applied.
#[derive(Debug, Clone, Default)]
pub struct ManifestSet {
    pub resources: Vec<Resource>,
    pub diagnostics: Vec<Diagnostic>,
    /// The files read, as displayed in diagnostics.
    pub files: Vec<String>,
}

impl ManifestSet {
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }

    pub fn get(&self, kind: Kind, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.kind == kind && r.metadata.name == name)
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    /// Parse and validate in-memory files, `(display path, text)`, e.g. fetched from S3.
    pub fn from_texts<I, P, T>(files: I) -> ManifestSet
    where
        I: IntoIterator<Item = (P, T)>,
        P: Into<String>,
        T: AsRef<str>,
    {
        let mut set = ManifestSet::default();
        for (path, text) in files {
            let path = path.into();
            parse_file(&path, text.as_ref(), &mut set);
            set.files.push(path);
        }
        validate::validate(&mut set);
        set.diagnostics.sort_by(|a, b| {
            (a.file.as_str(), a.line, a.column, a.severity).cmp(&(b.file.as_str(), b.line, b.column, b.severity))
        });
        set
    }

    /// Read every `.yaml`, `.yml` and `.json` file under the given files and folders (sorted, so a
    /// run is repeatable), then parse and validate them as one set.
    pub fn load(paths: &[PathBuf]) -> Result<ManifestSet, LoadError> {
        let mut texts = Vec::new();
        for file in manifest_files(paths)? {
            let text =
                std::fs::read_to_string(&file).map_err(|source| LoadError::Read { path: file.clone(), source })?;
            texts.push((file.display().to_string(), text));
        }
        if texts.is_empty() {
            return Err(LoadError::Empty { paths: paths.to_vec() });
        }
        Ok(ManifestSet::from_texts(texts))
    }
}

/// Why a set could not be read at all (as opposed to read and found invalid).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no .yaml, .yml or .json files under {}", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Empty { paths: Vec<PathBuf> },
}

/// The manifest files under `paths`: a file named directly is read whatever its extension; a
/// folder is walked for the manifest extensions, hidden entries skipped.
pub fn manifest_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
        let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Read { path: dir.to_path_buf(), source })?;
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e)) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(LoadError::Read {
                path: p.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
        }
    }
    Ok(out)
}

fn parse_file(file: &str, text: &str, set: &mut ManifestSet) {
    let docs = match source::parse_documents(text) {
        Ok(docs) => docs,
        Err(e) => {
            set.diagnostics.push(
                Diagnostic::error("syntax", file, e.pos, format!("invalid YAML/JSON: {}", e.message))
                    .with_help("fix the syntax at this position; a file with a syntax error is not read at all"),
            );
            return;
        }
    };
    for doc in docs {
        if let Some(resource) = parse_document(file, doc, &mut set.diagnostics) {
            set.resources.push(resource);
        }
    }
}

const TOP_LEVEL_FIELDS: [&str; 4] = ["apiVersion", "kind", "metadata", "spec"];

/// Parse one document; every diagnostic it makes names the document's kind and name when those
/// can be read, even if other parts of the document are broken.
fn parse_document(file: &str, doc: SourceDoc, diags: &mut Vec<Diagnostic>) -> Option<Resource> {
    let start = diags.len();
    let kind = doc.value.get("kind").and_then(Value::as_str).and_then(Kind::parse);
    let name = doc.value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_string();
    let resource = parse_document_inner(file, doc, diags);
    if let Some(kind) = kind {
        for d in &mut diags[start..] {
            if d.kind.is_none() {
                d.kind = Some(kind);
                d.name = (!name.is_empty()).then(|| name.clone());
            }
        }
    }
    resource
}

fn parse_document_inner(file: &str, doc: SourceDoc, diags: &mut Vec<Diagnostic>) -> Option<Resource> {
    let SourceDoc { index, mut value, positions } = doc;
    let at = |path: &str| positions.value(path);
    let Some(obj) = value.as_object_mut() else {
        diags.push(
            Diagnostic::error("invalid-document", file, at(""), "a manifest document must be a mapping")
                .with_help("start the document with `apiVersion: ecs-reconciler/v1` and `kind:`"),
        );
        return None;
    };

    let mut ok = true;
    for key in obj.keys() {
        if !TOP_LEVEL_FIELDS.contains(&key.as_str()) {
            let mut d = Diagnostic::error("unknown-field", file, positions.key(key), format!("unknown field `{key}`"))
                .with_field(key.clone());
            d.help = Some(match diagnostic::did_you_mean(key, TOP_LEVEL_FIELDS) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "a document has only `apiVersion`, `kind`, `metadata` and `spec`".into(),
            });
            diags.push(d);
            ok = false;
        }
    }

    match obj.get("apiVersion") {
        Some(Value::String(v)) if v == API_VERSION => {}
        Some(v) => {
            diags.push(
                Diagnostic::error("api-version", file, at("apiVersion"), format!("unknown apiVersion {v}"))
                    .with_field("apiVersion")
                    .with_help(format!("write `apiVersion: {API_VERSION}`")),
            );
            ok = false;
        }
        None => {
            diags.push(
                Diagnostic::error("missing-field", file, at(""), "missing field `apiVersion`")
                    .with_help(format!("add `apiVersion: {API_VERSION}`")),
            );
            ok = false;
        }
    }

    let kind_names = Kind::ALL.map(Kind::as_str);
    let kind = match obj.get("kind") {
        Some(Value::String(k)) => match Kind::parse(k) {
            Some(kind) => Some(kind),
            None => {
                let help = match diagnostic::did_you_mean(k, kind_names) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("one of: {}", kind_names.join(", ")),
                };
                diags.push(
                    Diagnostic::error("unknown-kind", file, at("kind"), format!("unknown kind `{k}`"))
                        .with_field("kind")
                        .with_help(help),
                );
                None
            }
        },
        Some(other) => {
            diags.push(
                Diagnostic::error(
                    "invalid-type",
                    file,
                    at("kind"),
                    format!("`kind` must be a string, found {}", type_name(other)),
                )
                .with_field("kind")
                .with_help(format!("one of: {}", kind_names.join(", "))),
            );
            None
        }
        None => {
            diags.push(
                Diagnostic::error("missing-field", file, at(""), "missing field `kind`")
                    .with_help(format!("add `kind:` with one of: {}", kind_names.join(", "))),
            );
            None
        }
    };

    let metadata = match obj.remove("metadata") {
        Some(v) => typed::<Metadata>(v, "metadata", file, &positions, diags),
        None => {
            diags.push(
                Diagnostic::error("missing-field", file, at(""), "missing field `metadata`")
                    .with_help("add `metadata:` with `name:`"),
            );
            None
        }
    };
    let kind = kind?;

    let Some(mut spec_value) = obj.remove("spec") else {
        diags.push(
            Diagnostic::error("missing-field", file, at(""), "missing field `spec`")
                .with_help(format!("add the `spec:` of the {kind} (see `ecs-reconciler schema`)")),
        );
        return None;
    };

    if kind == Kind::TaskDefinition
        && let Some(spec) = spec_value.as_object_mut()
    {
        for field in TaskDefinitionSpec::READ_ONLY_FIELDS {
            if spec.remove(*field).is_some() {
                let path = format!("spec.{field}");
                diags.push(
                    Diagnostic::note(
                        "read-only-field",
                        file,
                        positions.key(&path),
                        format!("`{field}` is read-only and is ignored"),
                    )
                    .with_field(path),
                );
            }
        }
    }

    let spec = match kind {
        Kind::SecurityGroup => typed(spec_value, "spec", file, &positions, diags).map(Spec::SecurityGroup),
        Kind::TargetGroup => typed(spec_value, "spec", file, &positions, diags).map(Spec::TargetGroup),
        Kind::LoadBalancer => typed(spec_value, "spec", file, &positions, diags).map(Spec::LoadBalancer),
        Kind::TaskDefinition => typed(spec_value, "spec", file, &positions, diags).map(Spec::TaskDefinition),
        Kind::Cluster => typed(spec_value, "spec", file, &positions, diags).map(Spec::Cluster),
        Kind::Service => typed(spec_value, "spec", file, &positions, diags).map(Spec::Service),
        Kind::LogGroup => typed(spec_value, "spec", file, &positions, diags).map(Spec::LogGroup),
        Kind::ScalableTarget => typed(spec_value, "spec", file, &positions, diags).map(Spec::ScalableTarget),
    };
    let (metadata, spec) = (metadata?, spec?);
    if !ok {
        return None;
    }
    Some(Resource {
        kind,
        metadata,
        spec,
        origin: Arc::new(Origin { file: file.to_string(), document: index, positions }),
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Deserialize `value` (found at `prefix` in the document) into `T`, turning a serde error into a
/// diagnostic at the offending field.
fn typed<T: DeserializeOwned>(
    value: Value,
    prefix: &str,
    file: &str,
    positions: &Positions,
    diags: &mut Vec<Diagnostic>,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut path = prefix.to_string();
            for seg in e.path().iter() {
                match seg {
                    serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                    serde_path_to_error::Segment::Map { key } => path.push_str(&format!(".{key}")),
                    serde_path_to_error::Segment::Enum { variant } => path.push_str(&format!(".{variant}")),
                    serde_path_to_error::Segment::Unknown => {}
                }
            }
            diags.push(serde_diagnostic(&e.into_inner().to_string(), &path, file, positions));
            None
        }
    }
}

/// serde's messages are precise but terse; say them the way a manifest author thinks.
fn serde_diagnostic(message: &str, path: &str, file: &str, positions: &Positions) -> Diagnostic {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, rest) = rest.split_once('`').unwrap_or((rest, ""));
        let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        // serde_path_to_error's path already ends with the unknown field.
        let field_path =
            if path.ends_with(&format!(".{field}")) { path.to_string() } else { format!("{path}.{field}") };
        let help = match diagnostic::did_you_mean(field, expected.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if expected.is_empty() => "this block takes no fields".to_string(),
            None => format!("expected one of: {}", expected.join(", ")),
        };
        return Diagnostic::error(
            "unknown-field",
            file,
            positions.key(&field_path),
            format!("unknown field `{field}`"),
        )
        .with_field(field_path)
        .with_help(help);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return Diagnostic::error("missing-field", file, positions.value(path), format!("missing field `{field}`"))
            .with_field(path)
            .with_help(format!("add `{field}:` here"));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another type"));
        return Diagnostic::error(
            "invalid-type",
            file,
            positions.value(path),
            format!("expected {}, found {found}", friendly_type(expected)),
        )
        .with_field(path);
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        return Diagnostic::error("invalid-value", file, positions.value(path), rest.to_string()).with_field(path);
    }
    Diagnostic::error("invalid-value", file, positions.value(path), message.to_string()).with_field(path)
}

fn friendly_type(expected: &str) -> String {
    match expected {
        "i32" | "i64" | "u32" | "u64" | "u16" | "u8" => format!("a whole number ({expected})"),
        "a boolean" | "bool" => "`true` or `false`".into(),
        "a sequence" => "a list".into(),
        "a map" | "struct" => "a mapping".into(),
        s if s.starts_with("struct ") => "a mapping".into(),
        s => s.to_string(),
    }
}
