//! Terraform: `aws_ecs_task_definition` resources (placeholder until the reader lands).

use std::path::Path;

use super::{Collected, ConvertOptions, ImportError};

pub(super) fn convert(
    _file: &Path,
    _text: &str,
    _options: &ConvertOptions,
    _out: &mut Collected,
) -> Result<(), ImportError> {
    Ok(())
}
