//! Walking the `-f` paths: files as given, directories recursively.

use std::path::{Path, PathBuf};

use crate::translate::bundle::{Error, ErrorKind, Origin};

/// Files to read for the given paths: files as given, directories walked recursively for
/// `.yaml`, `.yml` and `.json`, each directory's files sorted so the order is deterministic.
pub fn files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        walk(p, true, &mut out, &mut errors);
    }
    (out, errors)
}

fn walk(path: &Path, explicit: bool, out: &mut Vec<PathBuf>, errors: &mut Vec<Error>) {
    let origin = Origin::file(path, 0);
    match std::fs::metadata(path) {
        Err(e) => errors.push(Error::new(
            &origin,
            "(file)",
            "(file)",
            ErrorKind::Read,
            e.to_string(),
        )),
        Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
            Err(e) => errors.push(Error::new(
                &origin,
                "(directory)",
                "(directory)",
                ErrorKind::Read,
                e.to_string(),
            )),
            Ok(entries) => {
                let mut children: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                children.sort();
                for c in children {
                    walk(&c, false, out, errors);
                }
            }
        },
        Ok(_) => {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if explicit || matches!(ext, "yaml" | "yml" | "json") {
                out.push(path.to_owned());
            }
        }
    }
}
