//! Findings about a manifest set: where (file:line:column), what (kind/name, field), and what to
//! write instead.

use serde::Serialize;

use super::Kind;
use super::source::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The set is rejected whole.
    Error,
    /// A known trap from ECS practice; the set is still applied.
    Warning,
    /// Information only, e.g. read-only fields that were ignored.
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One finding. `code` is a stable rule name (`unknown-field`, `fargate-size`, ...) that tools and
/// tests can match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub file: String,
    pub line: usize,
    pub column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, code: &'static str, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            code,
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            kind: None,
            name: None,
            field: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn error(code: &'static str, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, code, file, pos, message)
    }

    pub fn warning(code: &'static str, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, code, file, pos, message)
    }

    pub fn note(code: &'static str, file: &str, pos: Pos, message: impl Into<String>) -> Self {
        Self::new(Severity::Note, code, file, pos, message)
    }

    pub fn with_resource(mut self, kind: Kind, name: &str) -> Self {
        self.kind = Some(kind);
        if !name.is_empty() {
            self.name = Some(name.to_string());
        }
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        if !field.is_empty() {
            self.field = Some(field);
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl Diagnostic {
    /// What follows the location and severity: `Kind/name field: message`, then the help line.
    pub fn body(&self) -> String {
        let mut s = String::new();
        match (&self.kind, &self.name) {
            (Some(k), Some(n)) => s.push_str(&format!("{k}/{n} ")),
            (Some(k), None) => s.push_str(&format!("{k} ")),
            _ => {}
        }
        if let Some(field) = &self.field {
            s.push_str(&format!("{field}: "));
        }
        s.push_str(&self.message);
        if let Some(help) = &self.help {
            s.push_str(&format!("\n  help: {help}"));
        }
        s
    }
}

impl std::fmt::Display for Diagnostic {
    /// `file:line:col: error[code]: Kind/name field: message`, then `  help: ...` on its own line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file,
            self.line,
            self.column,
            self.severity.as_str(),
            self.code,
            self.body()
        )
    }
}

/// The closest candidate to `word`, when one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["image", "name", "portMappings", "essential"];
        assert_eq!(did_you_mean("imagee", fields), Some("image"));
        assert_eq!(did_you_mean("portmapping", fields), Some("portMappings"));
        assert_eq!(did_you_mean("completelyDifferent", fields), None);
    }

    #[test]
    fn renders_location_resource_field_and_help() {
        let d = Diagnostic::error(
            "unknown-field",
            "desired/web.yaml",
            Pos { line: 12, column: 7 },
            "unknown field `imagee`",
        )
        .with_resource(Kind::TaskDefinition, "web")
        .with_field("spec.containerDefinitions[0].imagee")
        .with_help("did you mean `image`?");
        assert_eq!(
            d.to_string(),
            "desired/web.yaml:12:7: error[unknown-field]: TaskDefinition/web spec.containerDefinitions[0].imagee: \
             unknown field `imagee`\n  help: did you mean `image`?"
        );
    }
}
