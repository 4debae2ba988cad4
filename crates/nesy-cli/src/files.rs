//! Finding rule files and writing them safely.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The extension of rule files.
const RULE_EXTENSION: &str = "nesy";

/// The files named, with directories expanded to the `.nesy` files below
/// them (sorted, so output is stable). A path that does not exist is an error.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = out.len();
            walk(path, &mut out)
                .map_err(|e| format!("cannot read directory `{}`: {e}", path.display()))?;
            if out.len() == before {
                return Err(format!(
                    "no .{RULE_EXTENSION} files in `{}`",
                    path.display()
                ));
            }
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            return Err(format!("`{}` does not exist", path.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == RULE_EXTENSION) {
            out.push(path);
        }
    }
    Ok(())
}

/// Writes `text` to a temporary file beside `path`, then renames it over
/// `path`, so a crash never leaves a half-written rule file.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.nesy-fmt.{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
