//! The limits of the Terraform importer: hostile input (a reference cycle, locals that double a
//! string forty times, `count = 1e9`, `file("/dev/zero")`) stops at one of these, reported as
//! the limit it hit, never as a crash, a hang or unbounded memory. Each is far above what a
//! Terraform configuration of ECS services needs; docs/import.md ("Limits") lists them.

/// Bytes of one file read: a `.tf` file of a followed module, or a file named by `file()`,
/// `templatefile()` or `data "template_file"`. ECS refuses task definitions above 64 KiB.
pub(in crate::import) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Bytes of one evaluated value (the text of a string, or the JSON size of a list or object):
/// a template, function or `for` expression whose result is larger is unresolved, with this
/// limit as its reason.
pub(in crate::import) const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// Nested references being evaluated at once (a local that uses a local that uses a variable
/// ...). Deeper chains are unresolved with this limit as reason, so no input overflows the
/// stack; real configurations chain a handful.
pub(in crate::import) const MAX_REFERENCE_DEPTH: usize = 48;

/// Brackets, braces and parentheses nested in one `.tf` file, checked before parsing so the
/// parser and the evaluator cannot overflow the stack.
pub(in crate::import) const MAX_NESTING: usize = 64;

/// Expressions evaluated in one conversion: loops in loops (`for` expressions, `%{ for }`,
/// `dynamic` blocks over `range(...)`) stop here, as unresolved with this limit as reason.
/// Every value is evaluated once, so real configurations take a few thousand.
pub(in crate::import) const MAX_EVALUATION_STEPS: usize = 1_000_000;

/// Instances of one resource or module block (`count`, `for_each`).
pub(in crate::import) const MAX_INSTANCES: usize = 512;

/// Modules followed from one conversion: calls of local modules (each instance counted) and
/// their nesting depth.
pub(in crate::import) const MAX_MODULES: usize = 256;

/// How deep local modules may call local modules.
pub(in crate::import) const MAX_MODULE_DEPTH: usize = 16;

/// `.tf` files read from the directory of one followed module.
pub(in crate::import) const MAX_MODULE_FILES: usize = 256;

/// Every limit with the name and the unit docs/import.md gives it, for the docs test.
#[cfg(test)]
pub(super) const ALL: &[(&str, u64)] = &[
    ("MAX_FILE_BYTES", MAX_FILE_BYTES),
    ("MAX_VALUE_BYTES", MAX_VALUE_BYTES as u64),
    ("MAX_REFERENCE_DEPTH", MAX_REFERENCE_DEPTH as u64),
    ("MAX_EVALUATION_STEPS", MAX_EVALUATION_STEPS as u64),
    ("MAX_NESTING", MAX_NESTING as u64),
    ("MAX_INSTANCES", MAX_INSTANCES as u64),
    ("MAX_MODULES", MAX_MODULES as u64),
    ("MAX_MODULE_DEPTH", MAX_MODULE_DEPTH as u64),
    ("MAX_MODULE_FILES", MAX_MODULE_FILES as u64),
];
