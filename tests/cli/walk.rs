//! Input walking: symlinks inside the scanned folder are followed, symlinks out of it are
//! listed as skipped with the reason, and a Hugging Face cache snapshot (symlinks into the
//! model's `blobs/`) is scanned without false traversal reports.

use crate::common::{issues, scan_json};
use crate::exit_codes::{CLEAN, EVIL};
use std::os::unix::fs::symlink;

#[test]
fn hugging_face_cache_snapshots_are_scanned_through_their_blob_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("hub/models--org--tiny");
    std::fs::create_dir_all(model.join("blobs")).unwrap();
    std::fs::create_dir_all(model.join("snapshots/abc123")).unwrap();
    std::fs::write(model.join("blobs/1111"), EVIL).unwrap();
    std::fs::write(model.join("blobs/2222"), b"{\"model_type\": \"bert\"}").unwrap();
    symlink(
        "../../blobs/1111",
        model.join("snapshots/abc123/pytorch_model.bin"),
    )
    .unwrap();
    symlink(
        "../../blobs/2222",
        model.join("snapshots/abc123/config.json"),
    )
    .unwrap();
    let run = scan_json(&model.join("snapshots/abc123"), &["--show-skipped"]);
    assert_eq!(
        run.report["summary"]["skipped"]["total_skipped"], 0,
        "{}",
        run.stdout
    );
    assert_eq!(
        run.report["summary"]["scanned"]["scanned_files"],
        serde_json::json!(["config.json", "pytorch_model.bin"])
    );
    assert_eq!(issues(&run.report)[0]["source"], "pytorch_model.bin");
    assert_eq!(run.code, 1);
}

#[test]
fn symlinks_out_of_the_scanned_folder_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(outside.join("secret.pkl"), EVIL).unwrap();
    std::fs::write(root.join("model.pkl"), CLEAN).unwrap();
    symlink(outside.join("secret.pkl"), root.join("link.pkl")).unwrap();
    symlink(&outside, root.join("linkdir")).unwrap();
    let run = scan_json(&root, &["--show-skipped"]);
    let skipped = run.report["summary"]["skipped"]["skipped_files"]
        .as_array()
        .unwrap();
    assert_eq!(skipped.len(), 2, "{}", run.stdout);
    assert!(skipped.iter().all(|s| s["category"] == "SYMLINK"));
    assert!(
        skipped[0]["description"]
            .as_str()
            .unwrap()
            .contains("outside the scanned folder")
    );
    assert!(issues(&run.report).is_empty());
}

#[test]
fn symlink_loops_inside_the_folder_end() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join("a/m.pkl"), CLEAN).unwrap();
    symlink("..", root.join("a/up")).unwrap();
    let run = scan_json(&root, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// Make a FIFO with `mkfifo`; `None` (the test is skipped) where there is none.
fn mkfifo(path: &std::path::Path) -> Option<()> {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    match made {
        Ok(s) if s.success() => Some(()),
        _ => {
            eprintln!("skipped: mkfifo is not available");
            None
        }
    }
}

#[test]
fn a_fifo_given_with_p_is_skipped_with_its_kind_and_never_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("model.pkl");
    if mkfifo(&fifo).is_none() {
        return;
    }
    let out = crate::common::modelscan(dir.path())
        .args(["-p", "model.pkl", "-r", "json", "--show-skipped"])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    // Nothing was scanned (3), and the report says what the path is.
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = &r["summary"]["skipped"]["skipped_files"][0];
    assert_eq!(skipped["category"], "NOT_A_REGULAR_FILE", "{r:#}");
    assert_eq!(skipped["source"], "model.pkl");
    assert!(
        skipped["description"]
            .as_str()
            .unwrap()
            .contains("a FIFO (named pipe)"),
        "{skipped}"
    );
}

#[test]
fn fifos_and_devices_in_a_folder_are_listed_as_skipped_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    std::fs::create_dir(&case).unwrap();
    std::fs::write(case.join("clean.pkl"), CLEAN).unwrap();
    if mkfifo(&case.join("pipe.pkl")).is_none() {
        return;
    }
    // A symlink to the FIFO: inside the folder, so followed, and its target's kind decides.
    symlink(case.join("pipe.pkl"), case.join("link-to-pipe.pt")).unwrap();
    let run = scan_json(&case, &["--show-skipped"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let skipped = run.report["summary"]["skipped"]["skipped_files"]
        .as_array()
        .unwrap();
    let not_files: Vec<&str> = skipped
        .iter()
        .filter(|s| s["category"] == "NOT_A_REGULAR_FILE")
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(not_files, ["link-to-pipe.pt", "pipe.pkl"], "{skipped:#?}");
    assert_eq!(
        run.report["summary"]["scanned"]["scanned_files"],
        serde_json::json!(["clean.pkl"])
    );
    // A character device given with -p is not read either (reading /dev/zero never ends).
    if std::path::Path::new("/dev/zero").exists() {
        let run = scan_json(std::path::Path::new("/dev/zero"), &["--show-skipped"]);
        assert_eq!(run.code, 3, "{}", run.stdout);
        assert!(run.stdout.contains("a character device"), "{}", run.stdout);
    }
}
