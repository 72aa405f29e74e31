//! Walking the `-f` paths: files as given, directories recursively.
//!
//! Only regular files are read: a device (`/dev/zero`), FIFO or socket is refused, given or
//! found, so reading can neither block nor run forever. A directory is entered once, however
//! many links lead to it (a symbolic link loop ends the walk there, reported), and no deeper
//! than [`MAX_DIRECTORY_DEPTH`] below the path given.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::parse::file_error;
use crate::translate::bundle::{Error, ErrorKind, Origin};

/// How many directories deep below a `-f` directory the walk goes; deeper ones are reported
/// as this limit and skipped.
pub const MAX_DIRECTORY_DEPTH: usize = 64;

/// Files to read for the given paths: files as given, directories walked recursively for
/// `.yaml`, `.yml` and `.json`, each directory's files sorted so the order is deterministic.
pub fn files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Error>) {
    let mut walk = Walk::default();
    for p in paths {
        walk.walk(p, 0);
    }
    (walk.out, walk.errors)
}

#[derive(Default)]
struct Walk {
    out: Vec<PathBuf>,
    errors: Vec<Error>,
    /// Directories entered, by canonical path.
    entered: HashSet<PathBuf>,
}

impl Walk {
    fn directory_error(&mut self, path: &Path, kind: ErrorKind, message: String) {
        self.errors.push(Error::new(
            &Origin::file(path, 0),
            "(directory)",
            "(directory)",
            kind,
            message,
        ));
    }

    fn walk(&mut self, path: &Path, depth: usize) {
        let explicit = depth == 0;
        let m = match std::fs::metadata(path) {
            Err(e) => {
                self.errors
                    .push(file_error(path, ErrorKind::Read, e.to_string()));
                return;
            }
            Ok(m) => m,
        };
        if m.is_dir() {
            self.directory(path, depth);
        } else if m.is_file() {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if explicit || matches!(ext, "yaml" | "yml" | "json") {
                self.out.push(path.to_owned());
            }
        } else {
            self.errors.push(file_error(
                path,
                ErrorKind::Read,
                "not a regular file (a device, FIFO or socket): only files and directories are read",
            ));
        }
    }

    fn directory(&mut self, path: &Path, depth: usize) {
        if depth > MAX_DIRECTORY_DEPTH {
            let message = format!(
                "limit MAX_DIRECTORY_DEPTH reached: more than {MAX_DIRECTORY_DEPTH} directories below the path given; not read"
            );
            self.directory_error(path, ErrorKind::Read, message);
            return;
        }
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        if !self.entered.insert(canonical.clone()) {
            if is_symlink(path) {
                let message = format!(
                    "a symbolic link to {}, which is read already (a link loop or a second path to it); not read again",
                    canonical.display()
                );
                self.directory_error(path, ErrorKind::Read, message);
            }
            return;
        }
        match std::fs::read_dir(path) {
            Err(e) => self.directory_error(path, ErrorKind::Read, e.to_string()),
            Ok(entries) => {
                let mut children: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                children.sort();
                for c in children {
                    self.walk(&c, depth + 1);
                }
            }
        }
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ecsplane-walk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_loop_is_walked_once_and_reported() {
        let dir = temp("loop");
        std::fs::create_dir(dir.join("a")).unwrap();
        std::fs::write(dir.join("a/x.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("a/back")).unwrap();
        let (files, errors) = files(std::slice::from_ref(&dir));
        assert_eq!(files, [dir.join("a/x.yaml")]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("read already"), "{}", errors[0]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_as_not_a_regular_file() {
        let (files, errors) = files(&[PathBuf::from("/dev/zero")]);
        assert!(files.is_empty());
        assert!(
            errors[0].message.contains("not a regular file"),
            "{}",
            errors[0]
        );
        assert_eq!(
            errors[0].to_string(),
            "/dev/zero: (file): cannot read: not a regular file (a device, FIFO or socket): only files and directories are read"
        );
    }

    #[test]
    fn directories_deeper_than_the_limit_are_reported() {
        let dir = temp("deep");
        let mut p = dir.clone();
        for i in 0..=MAX_DIRECTORY_DEPTH {
            p = p.join(format!("{}", i % 10));
        }
        std::fs::create_dir_all(&p).unwrap();
        let (_, errors) = files(std::slice::from_ref(&dir));
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("limit MAX_DIRECTORY_DEPTH reached")),
            "{errors:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
