//! Following module calls to their source: a local module (`source = "./x"` or `"../x"`,
//! relative to the file that calls it) is read from its directory — its `.tf` files, through
//! the same checks as `file()` — and the modules it calls in turn, up to
//! [`MAX_MODULE_DEPTH`]; a module from the Terraform Registry, git, http or a bucket is only
//! known after `terraform init` and is not followed, with the reason. Each directory is read
//! once, however many calls name it.
//!
//! Depends on `parse`, `files` and `limits`; `evaluate` builds the module tree from what this
//! file reads.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use hcl::Expression;

use super::files::{canonical_dir, read_inside};
use super::limits::{MAX_MODULE_DEPTH, MAX_MODULE_FILES};
use super::parse::{TfFile, parse};
use super::tree::attr;
use crate::import::ImportError;

/// The `.tf` files of one module directory.
pub(super) struct Dir {
    /// The directory, canonical.
    pub(super) path: PathBuf,
    /// Its `.tf` files, in name order.
    pub(super) files: Vec<(PathBuf, TfFile)>,
}

/// Every module directory the conversion's module calls lead to.
#[derive(Default)]
pub(in crate::import) struct Sources {
    pub(super) dirs: Vec<Dir>,
    /// (calling file, module name) → the directory, or why the call is not followed.
    calls: HashMap<(PathBuf, String), Result<usize, String>>,
}

/// A module call as written: its name and its `source`, or why the source cannot be read.
type CallSource = (String, Result<String, String>);

fn calls_of(tf: &TfFile) -> Vec<CallSource> {
    tf.blocks
        .iter()
        .filter(|(b, _)| b.identifier.as_str() == "module")
        .map(|(b, _)| {
            let name = super::tree::first_label(&b.labels).to_owned();
            let source = match attr(&b.body, "source") {
                Some(Expression::String(s)) => Ok(s.clone()),
                Some(_) => Err(format!(
                    "module \"{name}\": its source is not a literal string (Terraform requires one)"
                )),
                None => Err(format!("module \"{name}\" has no source")),
            };
            (name, source)
        })
        .collect()
}

/// Whether a module source is a local path, as Terraform tells them apart.
fn is_local(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

/// What a source that is not a local path is, in words.
fn remote_kind(source: &str) -> &'static str {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("git::")
        || lower.starts_with("git@")
        || lower.starts_with("github.com/")
        || lower.starts_with("bitbucket.org/")
    {
        "a git repository"
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        "an http archive"
    } else if lower.starts_with("s3::") || lower.starts_with("gcs::") {
        "a bucket archive"
    } else if lower.starts_with('/') {
        "an absolute path (Terraform reads local modules only as ./ or ../ paths)"
    } else {
        "a Terraform Registry module"
    }
}

impl Sources {
    /// Reads the local modules the `root` files call, and those they call. A module file that
    /// is not valid HCL is an error; a call that cannot be followed is remembered with its
    /// reason.
    pub(in crate::import) fn load(root: &[(&Path, &TfFile)]) -> (Sources, Vec<ImportError>) {
        let mut sources = Sources::default();
        let mut errors = Vec::new();
        let mut queue: VecDeque<(PathBuf, Vec<CallSource>, usize)> = root
            .iter()
            .map(|(path, tf)| (path.to_path_buf(), calls_of(tf), 1))
            .collect();
        while let Some((file, calls, depth)) = queue.pop_front() {
            for (name, source) in calls {
                let followed = source.and_then(|source| {
                    sources.follow(&file, &name, &source, depth, &mut queue, &mut errors)
                });
                sources.calls.insert((file.clone(), name), followed);
            }
        }
        (sources, errors)
    }

    fn follow(
        &mut self,
        file: &Path,
        name: &str,
        source: &str,
        depth: usize,
        queue: &mut VecDeque<(PathBuf, Vec<CallSource>, usize)>,
        errors: &mut Vec<ImportError>,
    ) -> Result<usize, String> {
        if !is_local(source) {
            return Err(format!(
                "module \"{name}\": source \"{source}\" is {}, downloaded by `terraform init`; not followed (convert the JSON of `terraform show -json` on a plan, which has the module's resources)",
                remote_kind(source)
            ));
        }
        if depth > MAX_MODULE_DEPTH {
            return Err(format!(
                "module \"{name}\": modules nested more than {MAX_MODULE_DEPTH} deep (MAX_MODULE_DEPTH); not followed"
            ));
        }
        let joined = file.parent().unwrap_or(Path::new(".")).join(source);
        let Some(dir) = canonical_dir(&joined) else {
            return Err(format!(
                "module \"{name}\": source \"{source}\": no directory {}; not followed (convert the module's directory with it, or `terraform show -json` on a plan)",
                joined.display()
            ));
        };
        if let Some(i) = self.dirs.iter().position(|d| d.path == dir) {
            return Ok(i);
        }
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("module \"{name}\": cannot read {}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "tf"))
            .collect();
        paths.sort();
        if paths.len() > MAX_MODULE_FILES {
            return Err(format!(
                "module \"{name}\": {} has more than {MAX_MODULE_FILES} .tf files (MAX_MODULE_FILES); not followed",
                dir.display()
            ));
        }
        let mut files = Vec::new();
        for path in paths {
            let text = read_inside(&path, std::slice::from_ref(&dir))
                .map_err(|why| format!("module \"{name}\": {why}"))?;
            match parse(&path, &text) {
                Ok(tf) => {
                    queue.push_back((path.clone(), calls_of(&tf), depth + 1));
                    files.push((path, tf));
                }
                Err(e) => errors.push(e),
            }
        }
        self.dirs.push(Dir { path: dir, files });
        Ok(self.dirs.len() - 1)
    }

    /// The directory the call `name` of `file` leads to, or why it is not followed.
    pub(super) fn resolve(&self, file: &Path, name: &str) -> Result<&Dir, String> {
        match self.calls.get(&(file.to_path_buf(), name.to_owned())) {
            Some(Ok(i)) => Ok(&self.dirs[*i]),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("module \"{name}\" was not read")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_told_apart_as_terraform_does() {
        assert!(is_local("./modules/ecs"));
        assert!(is_local("../../modules/service"));
        assert!(!is_local("terraform-aws-modules/ecs/aws//modules/service"));
        assert_eq!(
            remote_kind("terraform-aws-modules/ecs/aws"),
            "a Terraform Registry module"
        );
        assert_eq!(
            remote_kind("git::https://example.com/ecs.git?ref=v1"),
            "a git repository"
        );
        assert_eq!(remote_kind("github.com/org/ecs"), "a git repository");
        assert_eq!(
            remote_kind("https://example.com/ecs.zip"),
            "an http archive"
        );
    }
}
