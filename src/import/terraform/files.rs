//! Reading the files a Terraform configuration names — `file()`, `templatefile()`,
//! `data "template_file"` and the `.tf` files of followed modules — only inside the
//! directory tree they may come from: the path is canonicalised (no `..` or symlink leads
//! out), must be a regular file (no device, FIFO or socket), must not be under `/proc`, `/sys`
//! or `/dev`, and is read up to [`MAX_FILE_BYTES`].
//!
//! Depends on nothing of the importer but its limits.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::limits::MAX_FILE_BYTES;

/// Kernel and device trees: never read, whatever directory an input is in.
const FORBIDDEN: &[&str] = &["/proc", "/sys", "/dev"];

/// The canonical form of a directory, when it exists.
pub(super) fn canonical_dir(dir: &Path) -> Option<PathBuf> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).ok().filter(|d| d.is_dir())
}

/// The text of `path` when it is a regular file inside one of `roots` (canonical directories),
/// or why it is not read.
pub(super) fn read_inside(path: &Path, roots: &[PathBuf]) -> Result<String, String> {
    let shown = path.display();
    let real = std::fs::canonicalize(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if FORBIDDEN.iter().any(|f| real.starts_with(f)) {
        return Err(format!(
            "{shown} is under {}: never read",
            FORBIDDEN
                .iter()
                .find(|f| real.starts_with(f))
                .copied()
                .unwrap_or("/proc")
        ));
    }
    if !roots.iter().any(|r| real.starts_with(r)) {
        return Err(format!(
            "{shown} is outside the directory of the Terraform files ({}): not read",
            roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let meta = std::fs::metadata(&real).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file (a directory, device, FIFO or socket): not read"
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(&shown.to_string()));
    }
    let file = std::fs::File::open(&real).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(&shown.to_string()));
    }
    String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text: not read"))
}

fn too_big(shown: &str) -> String {
    format!(
        "{shown} is larger than the limit of {} MiB on a file read (MAX_FILE_BYTES)",
        MAX_FILE_BYTES / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("ecsplane-tf-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::canonicalize(d).unwrap()
    }

    #[test]
    fn files_inside_the_tree_are_read_and_nothing_outside_it() {
        let root = dir("inside");
        std::fs::create_dir_all(root.join("tasks")).unwrap();
        std::fs::write(root.join("tasks/app.json"), "[]").unwrap();
        let roots = [root.clone()];
        assert_eq!(
            read_inside(&root.join("tasks/app.json"), &roots).unwrap(),
            "[]"
        );
        assert_eq!(
            read_inside(&root.join("tasks/../tasks/app.json"), &roots).unwrap(),
            "[]"
        );
        let outside = dir("outside");
        std::fs::write(outside.join("secret"), "s3cr3t").unwrap();
        let escape = root
            .join("../")
            .join(outside.file_name().unwrap())
            .join("secret");
        let err = read_inside(&escape, &roots).unwrap_err();
        assert!(
            err.contains("is outside the directory of the Terraform files"),
            "{err}"
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.join("secret"), root.join("link")).unwrap();
            let err = read_inside(&root.join("link"), &roots).unwrap_err();
            assert!(err.contains("is outside the directory"), "{err}");
        }
    }

    #[test]
    fn proc_devices_and_fifos_are_never_read_even_from_the_root_directory() {
        let roots = [PathBuf::from("/")];
        for path in [
            "/proc/self/environ",
            "/dev/zero",
            "/dev/null",
            "/sys/kernel/mm",
        ] {
            if Path::new(path).exists() {
                let err = read_inside(Path::new(path), &roots).unwrap_err();
                assert!(err.contains("never read"), "{path}: {err}");
            }
        }
        let root = dir("fifo");
        let fifo = root.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_inside(&fifo, std::slice::from_ref(&root)).unwrap_err();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }

    #[test]
    fn a_file_above_the_limit_is_refused_naming_the_limit() {
        let root = dir("big");
        let big = root.join("big.json");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = read_inside(&big, &[root]).unwrap_err();
        assert!(err.contains("MAX_FILE_BYTES"), "{err}");
    }
}
