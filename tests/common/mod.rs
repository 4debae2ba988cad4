//! Helpers shared by the integration tests of the root crate.

pub mod random;

use std::path::{Path, PathBuf};

#[allow(dead_code, reason = "not every test crate reads the corpus")]
/// The `.nesy` files in `dir` (relative to the repository root), sorted.
pub fn nesy_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "nesy"))
        .collect();
    files.sort();
    files
}
