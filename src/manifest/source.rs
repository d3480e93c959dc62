//! YAML and JSON text to plain values, keeping where in the file every value and key stands.
//!
//! Both formats go through one YAML 1.2 parser (JSON is YAML 1.2), so a user gets the same
//! `file:line:column` errors whatever they write. Duplicate keys are a syntax error. `null` means
//! absent: null mapping entries are dropped here, so the typed layer never sees them.

use std::collections::HashMap;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Number, Value};

/// A 1-based line and column in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn from_marker(m: &saphyr::Marker) -> Self {
        Pos { line: m.line(), column: m.col() + 1 }
    }
}

/// Where the parts of one document stand: the value at each path (`spec.containerDefinitions[0]
/// .image`) and, for mapping entries, the key.
#[derive(Debug, Default, Clone)]
pub struct Positions {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

impl Positions {
    /// Position of the value at `path`, or of the nearest ancestor that has one.
    pub fn value(&self, path: &str) -> Pos {
        match self.values.get(path).filter(|pos| pos.line >= 1) {
            Some(pos) => *pos,
            // An unplaced value is pointed at by its key.
            None => self
                .keys
                .get(path)
                .copied()
                .filter(|pos| pos.line >= 1)
                .unwrap_or_else(|| self.nearest(path, &self.values)),
        }
    }

    /// Position of the key of the mapping entry at `path` (the value's when it has no key).
    pub fn key(&self, path: &str) -> Pos {
        self.keys.get(path).copied().filter(|pos| pos.line >= 1).unwrap_or_else(|| self.value(path))
    }

    fn nearest(&self, path: &str, map: &HashMap<String, Pos>) -> Pos {
        let mut p = path;
        loop {
            // A node the parser gave no place (line 0: e.g. a tagged scalar) is pointed at
            // through its nearest parent that has one.
            if let Some(pos) = map.get(p).filter(|pos| pos.line >= 1) {
                return *pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => {
                    let root = self.values.get("").copied().filter(|pos| pos.line >= 1);
                    return root.unwrap_or(Pos { line: 1, column: 1 });
                }
            }
        }
    }
}

/// One document of a file: its plain value and where its parts stand.
#[derive(Debug, Clone)]
pub struct SourceDoc {
    /// 0-based index of the document in its file.
    pub index: usize,
    pub value: Value,
    pub positions: Positions,
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parse every document of a YAML or JSON text. Empty documents (a lone `---`) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<SourceDoc>, SyntaxError> {
    let docs = MarkedYaml::load_from_str(text)
        .map_err(|e| SyntaxError { pos: Pos::from_marker(e.marker()), message: e.info().to_string() })?;
    let mut out = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        let mut positions = Positions::default();
        let value = convert(doc, String::new(), &mut positions)?;
        if value.is_null() {
            continue;
        }
        out.push(SourceDoc { index, value, positions });
    }
    Ok(out)
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_string() } else { format!("{parent}.{key}") }
}

fn convert(node: &MarkedYaml, path: String, pos: &mut Positions) -> Result<Value, SyntaxError> {
    let here = Pos::from_marker(&node.span.start);
    pos.values.insert(path.clone(), here);
    let value = match &node.data {
        YamlData::Value(s) => scalar(s),
        YamlData::Representation(text, _, _) => Value::String(text.to_string()),
        YamlData::Tagged(_, inner) => return convert(inner, path, pos),
        YamlData::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, format!("{path}[{i}]"), pos))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match &k.data {
                    YamlData::Value(Scalar::String(s)) => s.to_string(),
                    YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                    YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                    YamlData::Value(Scalar::FloatingPoint(f)) => f.to_string(),
                    _ => {
                        return Err(SyntaxError {
                            pos: Pos::from_marker(&k.span.start),
                            message: "a mapping key must be a plain string".into(),
                        });
                    }
                };
                let p = child_path(&path, &key);
                pos.keys.insert(p.clone(), Pos::from_marker(&k.span.start));
                let v = convert(v, p, pos)?;
                if !v.is_null() {
                    map.insert(key, v);
                }
            }
            Value::Object(map)
        }
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(SyntaxError { pos: here, message: "invalid value".into() });
        }
    };
    Ok(value)
}

fn scalar(s: &Scalar) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let docs = parse_documents("a: 1\nb:\n  - x: hello\n    y: [1, 2]\n").unwrap();
        let d = &docs[0];
        assert_eq!(d.value, json!({"a": 1, "b": [{"x": "hello", "y": [1, 2]}]}));
        assert_eq!(d.positions.key("b[0].y"), Pos { line: 4, column: 5 });
        assert_eq!(d.positions.value("b[0].x"), Pos { line: 3, column: 8 });
        // A path below a scalar falls back to the nearest ancestor.
        assert_eq!(d.positions.value("b[0].x.nope"), Pos { line: 3, column: 8 });
    }

    #[test]
    fn null_means_absent() {
        let docs = parse_documents("a: null\nb: ~\nc: 3\n").unwrap();
        assert_eq!(docs[0].value, json!({"c": 3}));
    }

    #[test]
    fn yaml_1_2_scalars_are_not_norwegian() {
        let docs = parse_documents("a: no\nb: yes\nc: true\nd: '80'\ne: 0.5\n").unwrap();
        assert_eq!(docs[0].value, json!({"a": "no", "b": "yes", "c": true, "d": "80", "e": 0.5}));
    }

    #[test]
    fn multi_document_files_skip_empty_documents() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].value, json!({"b": 2}));
        assert_eq!(docs[1].positions.value(""), Pos { line: 5, column: 1 });
    }

    #[test]
    fn json_is_read_with_positions() {
        let docs = parse_documents("{\n  \"kind\": \"Cluster\",\n  \"spec\": {\"x\": 1}\n}\n").unwrap();
        assert_eq!(docs[0].value, json!({"kind": "Cluster", "spec": {"x": 1}}));
        assert_eq!(docs[0].positions.key("spec"), Pos { line: 3, column: 3 });
    }

    #[test]
    fn duplicate_keys_are_a_syntax_error_with_a_position() {
        let err = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos.line, 3);
        assert!(err.message.contains("duplicate"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
        assert!(!err.message.is_empty());
    }
}
