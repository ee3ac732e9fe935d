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
