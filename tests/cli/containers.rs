//! Containers and format confusion: polyglots scanned as both formats, names that lie about
//! the content, duplicate zip members, nested archives.

use crate::common::{issues, scan_json, stored_zip};
use crate::exit_codes::{CLEAN, EVIL};

fn rules(r: &serde_json::Value) -> Vec<String> {
    issues(r)
        .iter()
        .map(|i| i["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn benign_pickle_with_a_malicious_zip_appended_is_scanned_as_both() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = CLEAN.to_vec();
    bytes.extend_from_slice(&stored_zip(&[("archive/data.pkl", EVIL)]));
    let p = dir.path().join("model.pt");
    std::fs::write(&p, bytes).unwrap();
    let run = scan_json(&p, &[]);
    let r = rules(&run.report);
    assert!(r.contains(&"archive.polyglot".to_string()), "{r:?}");
    assert!(r.contains(&"pickle.dangerous-global".to_string()), "{r:?}");
    let all = issues(&run.report);
    let sources: Vec<&str> = all.iter().filter_map(|i| i["source"].as_str()).collect();
    assert!(
        sources.contains(&"model.pt:archive/data.pkl"),
        "{sources:?}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_zip_named_safetensors_is_scanned_and_the_mismatch_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.safetensors");
    std::fs::write(&p, stored_zip(&[("archive/data.pkl", CLEAN)])).unwrap();
    let run = scan_json(&p, &[]);
    let mismatch: Vec<_> = issues(&run.report)
        .into_iter()
        .filter(|i| i["rule"] == "format.extension-mismatch")
        .collect();
    assert_eq!(mismatch.len(), 1, "{}", run.stdout);
    assert_eq!(mismatch[0]["severity"], "LOW");
    assert_eq!(
        run.report["summary"]["scanned"]["scanned_files"][0],
        "model.safetensors:archive/data.pkl"
    );
}

#[test]
fn both_copies_of_a_duplicate_member_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.pt");
    std::fs::write(
        &p,
        stored_zip(&[("archive/data.pkl", CLEAN), ("archive/data.pkl", EVIL)]),
    )
    .unwrap();
    let run = scan_json(&p, &[]);
    let r = rules(&run.report);
    assert!(r.contains(&"archive.zip-anomaly".to_string()), "{r:?}");
    assert!(r.contains(&"pickle.dangerous-global".to_string()), "{r:?}");
}

#[test]
fn zips_inside_zips_are_scanned_with_chained_sources() {
    let dir = tempfile::tempdir().unwrap();
    let inner = stored_zip(&[("data.pkl", EVIL)]);
    let outer = stored_zip(&[("inner.zip", &inner), ("clean.pkl", CLEAN)]);
    let p = dir.path().join("outer.zip");
    std::fs::write(&p, outer).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(
        run.report["issues"][0]["source"],
        "outer.zip:inner.zip:data.pkl"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn a_plain_pickle_of_tensors_with_an_embedded_zip_is_not_a_polyglot() {
    // Zip bytes inside a pickle (torch.storage._load_from_bytes) do not end the file.
    let dir = tempfile::tempdir().unwrap();
    let inner = stored_zip(&[("archive/data.pkl", CLEAN)]);
    let mut p = b"\x80\x02ctorch.storage\n_load_from_bytes\nB".to_vec();
    p.extend_from_slice(&(inner.len() as u32).to_le_bytes());
    p.extend_from_slice(&inner);
    p.extend_from_slice(b"\x85R.");
    let path = dir.path().join("t.pkl");
    std::fs::write(&path, p).unwrap();
    let run = scan_json(&path, &[]);
    assert!(issues(&run.report).is_empty(), "{}", run.stdout);
    assert_eq!(run.code, 0);
    assert!(
        run.report["summary"]["scanned"]["scanned_files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "t.pkl:nested[1]:archive/data.pkl"),
        "{}",
        run.stdout
    );
}
