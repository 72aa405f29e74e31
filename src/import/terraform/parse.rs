//! Reading one `.tf` file: its top-level blocks, parsed with hcl-rs, each with its line. A
//! file nested deeper than [`MAX_NESTING`] is refused before parsing, so neither the parser
//! nor the evaluator can overflow the stack.
//!
//! Depends on nothing of the importer but its error type and limits; `tree` builds the modules
//! from what this file parses.

use std::path::Path;

use hcl::Block;
use hcl::edit::Span;

use super::limits::MAX_NESTING;
use crate::import::{ImportError, error};

/// One parsed `.tf` file: its top-level blocks with their line numbers.
pub(in crate::import) struct TfFile {
    /// The file's top-level blocks, each with the line it starts on.
    pub(super) blocks: Vec<(Block, usize)>,
}

/// Parses one `.tf` file; a syntax error names its line and column.
pub(in crate::import) fn parse(file: &Path, text: &str) -> Result<TfFile, ImportError> {
    if let Some(line) = too_deep(text) {
        return Err(error(
            file,
            None,
            format!(
                "brackets nested more than {MAX_NESTING} deep at line {line} (the limit MAX_NESTING); not parsed"
            ),
        ));
    }
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

/// The line where brackets, braces and parentheses first nest deeper than [`MAX_NESTING`].
pub(super) fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(line);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
    }
    None
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

    #[test]
    fn ten_thousand_nested_brackets_are_refused_as_a_limit_not_a_stack_overflow() {
        let text = format!(
            "locals {{\n  x = {}1{}\n}}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let err = parse(Path::new("deep.tf"), &text).err().unwrap();
        assert!(err.message.contains("MAX_NESTING"), "{err}");
        assert!(err.message.contains("line 2"), "{err}");
    }
}
