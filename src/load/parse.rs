//! Parsing one file's text into documents: JSON (one value or a stream) or multi-document
//! YAML.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::translate::bundle::{Error, ErrorKind, Origin};

/// One parsed document before recognition.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// The file it was read from.
    pub file: PathBuf,
    /// 1-based position of the document in the file (YAML streams skip empty documents).
    pub position: usize,
    /// The parsed value.
    pub value: Value,
}

/// Parses one file's text: JSON (one value or a stream of values) when the name ends in
/// `.json` or the text starts with `{`/`[`, otherwise multi-document YAML.
pub fn parse(file: &Path, text: &str) -> Result<Vec<Document>, Error> {
    let syntax = |message: String| {
        Error::new(
            &Origin::file(file, 0),
            "(file)",
            "(file)",
            ErrorKind::Syntax,
            message,
        )
    };
    let trimmed = text.trim_start();
    let is_json = file.extension().and_then(|e| e.to_str()) == Some("json")
        || trimmed.starts_with('{')
        || trimmed.starts_with('[');
    let values: Vec<Value> = if is_json {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| syntax(format!("not valid JSON: {e}")))?
    } else {
        serde_saphyr::from_multiple::<Value>(text)
            .map_err(|e| syntax(format!("not valid YAML: {e}")))?
    };
    Ok(values
        .into_iter()
        .filter(|v| !v.is_null())
        .enumerate()
        .map(|(i, value)| Document {
            file: file.to_owned(),
            position: i + 1,
            value,
        })
        .collect())
}
