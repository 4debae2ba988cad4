//! Helpers shared by the CLI tests.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]
#![allow(dead_code, reason = "each test file uses part of it")]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `nesy` run from the repository root, without colors.
pub fn nesy() -> Command {
    let mut cmd = Command::cargo_bin("nesy").unwrap();
    cmd.current_dir(repo()).arg("--color").arg("never");
    cmd
}

/// Runs `cmd`, which must succeed, and parses its standard output as JSON.
pub fn json_stdout(cmd: &mut Command) -> serde_json::Value {
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}
