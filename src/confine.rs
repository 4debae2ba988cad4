//! Where rule files may read: `@import` and `@model` paths are checked
//! against a [`ReadPolicy`] before anything is opened, so a refused path
//! is never read, parsed or quoted.
//!
//! ```
//! use nesy::{Engine, ReadPolicy};
//! # let dir = tempfile::tempdir()?;
//! # let outside = tempfile::tempdir()?;
//! # std::fs::write(outside.path().join("secret.csv"), "a\nclassified\n")?;
//! let rules = format!("@import leak from {:?}.", outside.path().join("secret.csv"));
//! let refused = Engine::builder()
//!     .rules_text("r.nesy", &rules)
//!     .confine_to([dir.path()])
//!     .build()
//!     .unwrap_err()
//!     .to_string();
//! assert!(refused.contains("outside the directories"));
//! assert!(!refused.contains("classified"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::Error;
use nesy_lang::Location;
use std::path::{Component, Path, PathBuf};

/// Which files `@import` and `@model` may read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadPolicy {
    /// `None`: anywhere. Otherwise canonical directories.
    roots: Option<Vec<PathBuf>>,
}

impl ReadPolicy {
    /// Any file (what `nesy run` does for its user).
    pub fn anywhere() -> Self {
        ReadPolicy::default()
    }

    /// Only files below these directories (links resolved).
    pub fn within<P: AsRef<Path>>(dirs: impl IntoIterator<Item = P>) -> Self {
        ReadPolicy {
            roots: Some(dirs.into_iter().map(|d| resolve(d.as_ref())).collect()),
        }
    }

    /// The same policy, with more directories allowed (none added to a
    /// policy that allows anything).
    pub(crate) fn also<P: AsRef<Path>>(&self, dirs: impl IntoIterator<Item = P>) -> Self {
        match &self.roots {
            None => ReadPolicy::anywhere(),
            Some(roots) => ReadPolicy {
                roots: Some(
                    roots
                        .iter()
                        .cloned()
                        .chain(dirs.into_iter().map(|d| resolve(d.as_ref())))
                        .collect(),
                ),
            },
        }
    }

    /// Checks every `@import` file or store and `@model` path of a source
    /// whose relative paths resolve against `dir`.
    pub(crate) fn check_source(
        &self,
        checked: &nesy_lang::Checked,
        dir: &Path,
    ) -> Result<(), Error> {
        use nesy_lang::ast::{ImportSource, Item};
        if self.roots.is_none() {
            return Ok(());
        }
        for item in &checked.program.items {
            let (path, span) = match item {
                Item::Import(i) => match &i.source {
                    ImportSource::File(f) | ImportSource::Store(f) => (&f.value, i.span),
                    ImportSource::Sparql(_) => continue,
                },
                Item::Model(m) => (&m.path.value, m.span),
                _ => continue,
            };
            self.check(&dir.join(path), &checked.source.location(span.start))?;
        }
        Ok(())
    }

    /// The path to open for `path` (as written at `location`), or the
    /// refusal. Nothing is opened here; only the path is resolved.
    pub(crate) fn check(&self, path: &Path, location: &Location) -> Result<PathBuf, Error> {
        let Some(roots) = &self.roots else {
            return Ok(path.to_path_buf());
        };
        let resolved = resolve(path);
        if roots.iter().any(|root| resolved.starts_with(root)) {
            Ok(resolved)
        } else {
            Err(Error::Confined {
                location: location.clone(),
                path: path.display().to_string(),
            })
        }
    }
}

/// The absolute path with links and `..` resolved: the longest existing
/// ancestor canonicalized, the rest appended as written (normalized).
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut normal = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let mut existing = normal.clone();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(&existing) {
            let mut out = canonical;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return normal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_and_links_do_not_escape() {
        let root = tempfile::tempdir().unwrap();
        let inside = root.path().join("served");
        std::fs::create_dir(&inside).unwrap();
        let policy = ReadPolicy::within([&inside]);
        let x = Location::at("x.nesy", 1, 1);
        assert!(policy.check(&inside.join("a.csv"), &x).is_ok());
        assert!(policy.check(&inside.join("missing/dir/a.csv"), &x).is_ok());
        assert!(policy.check(&inside.join("../a.csv"), &x).is_err());
        assert!(policy.check(Path::new("/etc/passwd"), &x).is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc", inside.join("etc")).unwrap();
            assert!(policy.check(&inside.join("etc/passwd"), &x).is_err());
        }
    }
}
