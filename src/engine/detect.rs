//! Format detection: magic bytes first, the name second (case-insensitive). Detection looks at
//! the first and last bytes only; deciding whether the content is really valid is the scanner's
//! job. A pickle is recognised by dry-running the opcode reader over the head, so a pickle named
//! `.txt`, `.json` or with no extension is still found.

use crate::scanners::pickle::opcodes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Pickle,
    Zip,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    LzmaAlone,
    Zstd,
    Lz4,
    Zlib,
    /// joblib's z-file (joblib < 0.10 `compress=`): a `ZF` header, then a zlib stream.
    JoblibZfile,
    SevenZip,
    Numpy,
    Hdf5,
    Gguf,
    Safetensors,
    Onnx,
    SavedModel,
    Json,
    /// Universal Binary JSON: XGBoost's `.ubj` models.
    Ubjson,
    Unknown,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Pickle => "pickle",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::LzmaAlone => "lzma",
            Format::Zstd => "zstd",
            Format::Lz4 => "lz4",
            Format::Zlib => "zlib",
            Format::JoblibZfile => "joblib-zfile",
            Format::SevenZip => "7z",
            Format::Numpy => "numpy",
            Format::Hdf5 => "hdf5",
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
            Format::Onnx => "onnx",
            Format::SavedModel => "savedmodel",
            Format::Json => "json",
            Format::Ubjson => "ubjson",
            Format::Unknown => "unknown",
        }
    }

    pub fn is_compressed_stream(self) -> bool {
        matches!(
            self,
            Format::Gzip
                | Format::Bzip2
                | Format::Xz
                | Format::LzmaAlone
                | Format::Zstd
                | Format::Lz4
                | Format::Zlib
                | Format::JoblibZfile
        )
    }
}

/// Bytes of the head that detection (and the pickle dry run) looks at.
pub const HEAD_LEN: usize = 64 * 1024;
/// Bytes of the tail searched for a zip end-of-central-directory record.
pub const TAIL_LEN: usize = 65_536 + 22;

pub const ZIP_LOCAL: &[u8] = b"PK\x03\x04";
pub const ZIP_EOCD: &[u8] = b"PK\x05\x06";
pub const NPY_MAGIC: &[u8] = b"\x93NUMPY";
pub const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Lower-cased extension of the last path component ("pkl" for "model.PKL").
pub fn extension(name: &str) -> std::borrow::Cow<'_, str> {
    let leaf = file_name(name);
    // '.' is ASCII: its byte position is a character boundary (searched as bytes, as the
    // separators are: this runs for every scanner on every file).
    let dot = leaf.bytes().rposition(|b| b == b'.');
    match dot.map(|i| (leaf.get(..i), leaf.get(i + 1..))) {
        // Borrowed when already lower case, as nearly every name is: no allocation per call.
        Some((Some(stem), Some(ext))) if !stem.is_empty() => {
            if ext.bytes().any(|b| b.is_ascii_uppercase()) {
                ext.to_ascii_lowercase().into()
            } else {
                ext.into()
            }
        }
        _ => "".into(),
    }
}

/// The last component of `name` (after the last '/' or '\\').
pub fn file_name(name: &str) -> &str {
    match name.bytes().rposition(|b| b == b'/' || b == b'\\') {
        Some(i) => name.get(i + 1..).unwrap_or(name),
        None => name,
    }
}

/// What the content looks like, from magic bytes alone (`Unknown` if nothing matched).
pub fn sniff(head: &[u8], tail: &[u8], total_len: u64) -> Format {
    if head.starts_with(ZIP_LOCAL) || head.starts_with(b"PK\x05\x06") {
        return Format::Zip;
    }
    if head.starts_with(NPY_MAGIC) {
        return Format::Numpy;
    }
    if has_hdf5_signature(head) {
        return Format::Hdf5;
    }
    if head.starts_with(b"GGUF") {
        return Format::Gguf;
    }
    if head.starts_with(b"7z\xbc\xaf\x27\x1c") {
        return Format::SevenZip;
    }
    if head.starts_with(b"\x1f\x8b") {
        return Format::Gzip;
    }
    if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        return Format::Bzip2;
    }
    if head.starts_with(b"\xfd7zXZ\x00") {
        return Format::Xz;
    }
    if head.starts_with(b"\x28\xb5\x2f\xfd") {
        return Format::Zstd;
    }
    if head.starts_with(b"\x04\x22\x4d\x18") {
        return Format::Lz4;
    }
    if super::zfile::is_zfile(head) {
        return Format::JoblibZfile;
    }
    if is_tar_header(head) {
        return Format::Tar;
    }
    if is_safetensors(head, total_len) {
        return Format::Safetensors;
    }
    if crate::scanners::xgboost::looks_like_xgboost_ubj(head) {
        return Format::Ubjson;
    }
    if opcodes::looks_like_pickle_of(head, total_len) {
        return Format::Pickle;
    }
    // joblib's own compressed formats: zlib streams and lzma-alone (".lzma") streams.
    if is_zlib_header(head) {
        return Format::Zlib;
    }
    if head.starts_with(b"\x5d\x00\x00") && head.len() >= 13 {
        return Format::LzmaAlone;
    }
    if find_eocd(tail).is_some() {
        return Format::Zip;
    }
    if looks_like_json(head, total_len) {
        return Format::Json;
    }
    Format::Unknown
}

/// Format by name only, for content that has no magic (protobuf) or did not sniff.
pub fn by_extension(name: &str) -> Format {
    if file_name(name).eq_ignore_ascii_case("saved_model.pbtxt") {
        return Format::SavedModel;
    }
    let ext = extension(name);
    match &*ext {
        "pkl" | "pickle" | "joblib" | "dill" | "dat" | "data" | "bin" | "pt" | "pth" | "ckpt"
        | "sav" | "p" => Format::Pickle,
        "npy" => Format::Numpy,
        "npz" | "zip" | "keras" | "mar" => Format::Zip,
        "h5" | "hdf5" | "keras_h5" => Format::Hdf5,
        "gguf" => Format::Gguf,
        "safetensors" => Format::Safetensors,
        "onnx" => Format::Onnx,
        "pb" => Format::SavedModel,
        "json" => Format::Json,
        "ubj" => Format::Ubjson,
        "tar" => Format::Tar,
        "gz" | "tgz" => Format::Gzip,
        "bz2" => Format::Bzip2,
        "xz" => Format::Xz,
        "zst" => Format::Zstd,
        "lz4" => Format::Lz4,
        "7z" => Format::SevenZip,
        _ => Format::Unknown,
    }
}

/// Formats whose sniff is a guess from a few bytes (no magic number): a name that routes the
/// file elsewhere wins over them, and they stay only as an extra reading.
fn weak_sniff(f: Format) -> bool {
    matches!(
        f,
        Format::Pickle | Format::Json | Format::Zlib | Format::LzmaAlone
    )
}

/// Content first; the name only where the content has no magic of its own, and where the
/// name routes the file to a loader (a template, a SavedModel, a JSON config) over a content
/// guess that has no magic number either.
pub fn detect(name: &str, head: &[u8], tail: &[u8], total_len: u64) -> Format {
    detect_sniffed(name, sniff(head, tail, total_len))
}

/// `detect`, given what `sniff` said of the content.
pub fn detect_sniffed(name: &str, by_content: Format) -> Format {
    if weak_sniff(by_content) {
        if crate::scanners::template::is_template_name(&file_name(name).to_ascii_lowercase()) {
            // A Jinja template (`{{ ... }}`, `{% ... %}`) may start like JSON or like pickle
            // opcodes; its own scanner reads it by name.
            return Format::Unknown;
        }
        if let Some(f @ (Format::SavedModel | Format::Json)) = by_name_reading(name) {
            if f != by_content {
                return f;
            }
        }
    }
    if by_content != Format::Unknown {
        // A protobuf can look like anything; trust the extension for .pb/.onnx when the
        // content did not match a format with a real magic number.
        return by_content;
    }
    match by_extension(name) {
        // Protobuf and JSON have no magic; an extension is all there is.
        f @ (Format::Onnx | Format::SavedModel | Format::Json) => f,
        // Formats with a magic number whose content does not match: the scanner for the
        // named format says what is wrong (fail closed instead of a skip).
        f @ (Format::Safetensors | Format::Gguf | Format::Hdf5 | Format::Ubjson) => f,
        // A model extension on content that does not look like a pickle: still scan it as a
        // pickle, so a corrupt model is an error rather than a skip. The generic data
        // extensions (.data, .dat) are raw data just as often (ONNX external data).
        Format::Pickle if !matches!(&*extension(name), "data" | "dat") => Format::Pickle,
        Format::Numpy => Format::Pickle,
        _ => Format::Unknown,
    }
}

/// The format a loader that routes by file name opens this name as, where the name alone
/// decides it (whatever the first bytes are): TensorFlow's SavedModel files, Keras metadata,
/// chat templates, Hugging Face JSON configs.
pub fn by_name_reading(name: &str) -> Option<Format> {
    let leaf = file_name(name);
    let ext = extension(leaf);
    match &*ext {
        "pb" => Some(Format::SavedModel),
        "pbtxt" if leaf.eq_ignore_ascii_case("saved_model.pbtxt") => Some(Format::SavedModel),
        "json" => Some(Format::Json),
        "h5" | "hdf5" | "keras_h5" => Some(Format::Hdf5),
        "onnx" => Some(Format::Onnx),
        "gguf" => Some(Format::Gguf),
        "safetensors" => Some(Format::Safetensors),
        "npy" => Some(Format::Numpy),
        "ubj" => Some(Format::Ubjson),
        _ => None,
    }
}

pub fn has_hdf5_signature(head: &[u8]) -> bool {
    // The superblock may follow a user block of 512, 1024, 2048 ... bytes.
    [0usize, 512, 1024, 2048, 4096, 8192, 16384, 32768]
        .iter()
        .any(|&off| head.get(off..off + 8) == Some(HDF5_MAGIC))
}

fn is_tar_header(head: &[u8]) -> bool {
    let Some(block) = head.get(..512) else {
        return false;
    };
    if block.get(257..262) == Some(b"ustar") {
        return true;
    }
    // Old (v7) headers have no magic: check the header checksum (octal digits, then NUL or
    // space). The field is parsed first: most non-tar content fails there, before the sum.
    let Some(chk_field) = block.get(148..156) else {
        return false;
    };
    let digits = chk_field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| b != 0 && b != b' ');
    let mut stored: u32 = 0;
    let mut any = false;
    for &b in digits {
        if !(b'0'..=b'7').contains(&b) {
            return false;
        }
        stored = stored * 8 + u32::from(b - b'0');
        any = true;
    }
    if !any {
        return false;
    }
    // The checksum counts its own field as eight spaces.
    let all: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let field: u32 = chk_field.iter().map(|&b| u32::from(b)).sum();
    stored == all - field + 8 * u32::from(b' ') && block.first().is_some_and(|&b| b != 0)
}

fn is_safetensors(head: &[u8], total_len: u64) -> bool {
    let Some(len_bytes) = head.get(..8) else {
        return false;
    };
    let mut arr = [0u8; 8];
    arr.copy_from_slice(len_bytes);
    let n = u64::from_le_bytes(arr);
    n >= 2 && n.saturating_add(8) <= total_len && head.get(8) == Some(&b'{')
}

fn is_zlib_header(head: &[u8]) -> bool {
    match (head.first(), head.get(1)) {
        (Some(&cmf), Some(&flg)) => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
        }
        _ => false,
    }
}

/// `{` or `[` first, and text (no control bytes but whitespace) in the first KiB: random
/// binary that happens to start with a bracket is not JSON.
/// JSON is claimed only after a real parse when the whole file is at hand (an INI or TOML
/// file starts with `[section]`, a text file with `[` or `{`); for a larger file, the value
/// after the opening bracket must be one JSON allows.
fn looks_like_json(head: &[u8], total_len: u64) -> bool {
    let mut it = head.iter().skip_while(|b| b.is_ascii_whitespace());
    let first = it.next();
    let sample = head.get(..head.len().min(1024)).unwrap_or(head);
    let shaped = matches!(first, Some(b'{') | Some(b'['))
        && !sample.iter().any(|&b| b < 0x20 && !b.is_ascii_whitespace());
    if !shaped {
        return false;
    }
    if head.len() as u64 >= total_len {
        return serde_json::from_slice::<serde::de::IgnoredAny>(
            &crate::scanners::json::python_json_text(head),
        )
        .is_ok();
    }
    let next = it.find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') => matches!(next, Some(b'"') | Some(b'}')),
        _ => matches!(
            next,
            Some(b'"' | b'{' | b'[' | b']' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b'N' | b'I')
        ),
    }
}

/// Whether `tail` (the end of a file) ends with a complete end-of-central-directory record
/// (its comment reaching exactly the end): the mark of a real zip appended to something else,
/// as opposed to zip bytes embedded inside another format.
pub fn ends_with_eocd(tail: &[u8]) -> bool {
    let Some(at) = find_eocd(tail) else {
        return false;
    };
    let comment_len = tail.get(at + 20..at + 22).map_or(usize::MAX, |b| {
        usize::from(u16::from_le_bytes([
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]))
    });
    at.checked_add(22).and_then(|e| e.checked_add(comment_len)) == Some(tail.len())
}

/// Offset of the last end-of-central-directory record within `tail`.
pub fn find_eocd(tail: &[u8]) -> Option<usize> {
    // A record is 22 bytes long: its signature starts at most 22 bytes before the end. This
    // runs on every file without a magic number, so it is a vectorised search.
    let window = tail.get(..tail.len().checked_sub(18)?)?;
    let mut end = window.len();
    while let Some(i) = memchr::memrchr(b'P', window.get(..end)?) {
        if window.get(i..i.saturating_add(4)) == Some(ZIP_EOCD) {
            return Some(i);
        }
        end = i;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_claimed_only_when_it_parses() {
        let ini = b"[paths]\ntrain = null\n[system]\nseed = 0\n";
        assert_eq!(sniff(ini, ini, ini.len() as u64), Format::Unknown);
        assert_eq!(
            detect("config.cfg", ini, ini, ini.len() as u64),
            Format::Unknown
        );
        let text = b"[4] Remarks on the data\n";
        assert_eq!(sniff(text, text, text.len() as u64), Format::Unknown);
        let json = b"{\"a\": [1, NaN]}";
        assert_eq!(sniff(json, json, json.len() as u64), Format::Json);
        // A large file is judged by its first value.
        assert_eq!(sniff(b"[section]", b"", 1 << 20), Format::Unknown);
        assert_eq!(sniff(b"[{\"a\"", b"", 1 << 20), Format::Json);
    }

    #[test]
    fn extension_is_case_insensitive_and_ignores_dotfiles() {
        assert_eq!(extension("a/Model.PKL"), "pkl");
        assert!(matches!(
            extension("a/model.pkl"),
            std::borrow::Cow::Borrowed("pkl")
        ));
        assert_eq!(extension(".hidden"), "");
        assert_eq!(extension("archive/data/0"), "");
        // Windows separators, a dot in a folder name, the last dot of several, non-ASCII.
        assert_eq!(extension("dir.d\\sub.x\\Weights.Tar.GZ"), "gz");
        assert_eq!(extension("v1.2/readme"), "");
        assert_eq!(extension("dir/.bashrc"), "");
        assert_eq!(extension("dir/trailing."), "");
        assert_eq!(extension("modèle/ĉapô.pkl"), "pkl");
        assert_eq!(file_name("a/b\\c.pkl"), "c.pkl");
        assert_eq!(file_name("c.pkl"), "c.pkl");
        assert_eq!(file_name("dir/"), "");
    }

    #[test]
    fn protocol_2_pickle_is_detected_whatever_the_name() {
        let p = b"\x80\x02}q\x00.";
        assert_eq!(detect("notes.txt", p, p, p.len() as u64), Format::Pickle);
    }

    /// A pre-POSIX (v7) tar header: no `ustar` magic, only the checksum says it is one.
    fn v7_header(chk: impl Fn(u32) -> Vec<u8>) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..9].copy_from_slice(b"model.pkl");
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(b"00000000012\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let field = chk(sum);
        h[148..148 + field.len()].copy_from_slice(&field);
        h
    }

    #[test]
    fn a_v7_tar_header_is_recognised_by_its_checksum() {
        // As tar writes it (six digits, NUL, space), and space-padded as some old tars did.
        let h = v7_header(|s| format!("{s:06o}\0 ").into_bytes());
        assert!(is_tar_header(&h));
        let h = v7_header(|s| format!("  {s:o}\0").into_bytes());
        assert!(is_tar_header(&h));
        // One off, a non-octal digit, or no digits: not a tar header.
        let h = v7_header(|s| format!("{:06o}\0 ", s + 1).into_bytes());
        assert!(!is_tar_header(&h));
        let h = v7_header(|_| b"0001238\0".to_vec());
        assert!(!is_tar_header(&h));
        let h = v7_header(|_| b"\0       ".to_vec());
        assert!(!is_tar_header(&h));
        // A pickle of 512 bytes or more is not a tar header.
        let mut p = b"\x80\x02}q\x00(X\x04\x00\x00\x00name".to_vec();
        p.resize(600, b'N');
        assert!(!is_tar_header(&p));
    }

    #[test]
    fn eocd_search_finds_the_last_record_start() {
        // Against the plain search: every start position, signatures overlapping the end.
        let naive = |t: &[u8]| {
            if t.len() < 22 {
                return None;
            }
            (0..=t.len() - 22)
                .rev()
                .find(|&i| t.get(i..i + 4) == Some(ZIP_EOCD))
        };
        let mut t: Vec<u8> = Vec::new();
        for k in 0..64u8 {
            for len in 0..t.len() + 1 {
                let s = t.get(..len).unwrap_or_default();
                assert_eq!(find_eocd(s), naive(s), "len {len}");
            }
            match k % 5 {
                0 => t.extend_from_slice(ZIP_EOCD),
                1 => t.extend_from_slice(b"PK\x05"),
                2 => t.push(b'P'),
                _ => t.extend_from_slice(&[k; 7]),
            }
        }
    }

    #[test]
    fn zip_is_detected_by_local_header() {
        assert_eq!(sniff(b"PK\x03\x04rest", b"", 10), Format::Zip);
    }
}
