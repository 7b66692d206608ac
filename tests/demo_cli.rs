//! `drkit demo`, the README's first command: the whole story runs and proves itself.

use super::common::*;

#[test]
fn demo_recovers_every_acknowledged_write_and_restores_to_the_target_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let out = drkit()
        .args(["demo", "--records", "20000", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_exit(&out, 0, "demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("PASS: nothing acknowledged was lost"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("PASS: the restored dir is exactly the state at the target time"),
        "{}",
        text(&out)
    );
    assert!(
        stdout.contains("taken while an engine ran"),
        "{}",
        text(&out)
    );
    // Kept with --dir: the data dir, the repository and the restored dir, all usable.
    for d in ["demo", "demo-backups", "demo-restored"] {
        assert!(tmp.path().join(d).is_dir(), "{d}");
    }
    let out = drkit()
        .args(["backup", "verify", "--repo"])
        .arg(tmp.path().join("demo-backups"))
        .output()
        .unwrap();
    assert_exit(&out, 0, "the demo's backups verify");
}
