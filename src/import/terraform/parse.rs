//! Reading one `.tf` file: its top-level blocks, parsed with hcl-rs, each with its line.
//!
//! Depends on nothing of the importer but its error type; `evaluate` builds the module from
//! what this file parses.

use std::path::Path;

use hcl::Block;
use hcl::edit::Span;

use crate::import::{ImportError, error};

/// One parsed `.tf` file: its top-level blocks with their line numbers.
pub(in crate::import) struct TfFile {
    /// The file's top-level blocks, each with the line it starts on.
    pub(super) blocks: Vec<(Block, usize)>,
}

/// Parses one `.tf` file; a syntax error names its line and column.
pub(in crate::import) fn parse(file: &Path, text: &str) -> Result<TfFile, ImportError> {
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        error(
            file,
            None,
            format!(
                "invalid HCL at line {} column {}: {}",
                e.location().line(),
                e.location().column(),
                e.message()
            ),
        )
    })?;
    let mut blocks = Vec::new();
    for structure in body.into_iter() {
        if let hcl::edit::structure::Structure::Block(b) = structure {
            let line = b.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            blocks.push((Block::from(b), line));
        }
    }
    Ok(TfFile { blocks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_the_line() {
        let err = parse(Path::new("x.tf"), "resource \"a\" \"b\" {\n  x = \n}\n")
            .err()
            .unwrap();
        assert!(err.message.contains("invalid HCL at line"), "{err}");
    }
}
