//! Small helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The drkit binary under test.
pub fn drkit() -> Command {
    Command::cargo_bin("drkit").expect("drkit binary is built for integration tests")
}

pub fn drkit_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("drkit")
}

/// WAL segments of a data dir, oldest first.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}
