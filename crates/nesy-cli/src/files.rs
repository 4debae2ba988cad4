//! Finding rule files and writing them safely.

use std::collections::HashSet;
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

/// The `.nesy` files below `dir`, depth first in name order. A directory
/// reached twice (a link back up, `d/up -> ..`) is walked once, and the
/// walk keeps its own stack (a deep tree cannot exhaust the thread's).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let sorted = |dir: &Path| -> std::io::Result<std::vec::IntoIter<PathBuf>> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        Ok(entries.into_iter())
    };
    let real = |dir: &Path| std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut seen: HashSet<PathBuf> = HashSet::from([real(dir)]);
    let mut stack = vec![sorted(dir)?];
    while let Some(entries) = stack.last_mut() {
        let Some(path) = entries.next() else {
            stack.pop();
            continue;
        };
        if path.is_dir() {
            if seen.insert(real(&path)) {
                stack.push(sorted(&path)?);
            }
        } else if path.extension().is_some_and(|e| e == RULE_EXTENSION) {
            out.push(path);
        }
    }
    Ok(())
}

/// Writes `text` to a temporary file beside `path`, then renames it over
/// `path`, so a crash never leaves a half-written rule file.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    write_atomically_with(path, |file| file.write_all(text.as_bytes()))
}

/// [`write_atomically`], the contents written by `write` as they come.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    // A link is followed: its target is rewritten, the link stays.
    let target = if path.is_symlink() {
        std::fs::canonicalize(path)?
    } else {
        path.to_path_buf()
    };
    let path = target.as_path();
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
        write(&mut file)?;
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
