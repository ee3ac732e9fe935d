//! GGUF structure reader (versions 1 to 3, little- and big-endian): header, metadata
//! key-values of every type (nested arrays included), tensor infos, alignment, and the checks
//! that every tensor's data lies inside the file, aligned and without overlap. It follows the
//! GGUF spec (ggml `docs/gguf.md`) and what `gguf.cpp` and the `gguf` Python reader accept:
//! v1 used 32-bit counts, string and array lengths and dimensions (v2 widened them to 64 bits,
//! v3 only added big-endian files, recognised as in `gguf.cpp` by a version whose low 16 bits
//! are zero). Tensor data is never read: only the header and metadata, through a buffered
//! positional reader, with every count and length checked against the bytes left before
//! anything is allocated. Deciding what the metadata means (chat templates) is `mod.rs`' job.

use std::io::{BufReader, Read};

use crate::engine::blob::{Blob, BlobReader};
use crate::error::ScanError;
use crate::limits::{Budget, LimitHit};

pub const FORMAT: &str = "gguf";
/// `GGUF_DEFAULT_ALIGNMENT`
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// The spec's limit on dimensions (`ggml` itself uses 4; the format leaves room for 8).
pub const MAX_DIMS: u32 = 8;
/// The spec: keys are at most 65535 bytes.
pub const MAX_KEY_LEN: u64 = 65_535;
/// Key-values kept in memory (real files have under a hundred; vocabularies are arrays).
pub const MAX_KV_COUNT: u64 = 65_536;
/// Tensor infos kept in memory (the largest mixture-of-experts files have a few thousand).
pub const MAX_TENSOR_COUNT: u64 = 262_144;

/// Metadata value types (`gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    pub fn from_u32(v: u32) -> Option<ValueType> {
        Some(match v {
            0 => ValueType::U8,
            1 => ValueType::I8,
            2 => ValueType::U16,
            3 => ValueType::I16,
            4 => ValueType::U32,
            5 => ValueType::I32,
            6 => ValueType::F32,
            7 => ValueType::Bool,
            8 => ValueType::String,
            9 => ValueType::Array,
            10 => ValueType::U64,
            11 => ValueType::I64,
            12 => ValueType::F64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ValueType::U8 => "uint8",
            ValueType::I8 => "int8",
            ValueType::U16 => "uint16",
            ValueType::I16 => "int16",
            ValueType::U32 => "uint32",
            ValueType::I32 => "int32",
            ValueType::F32 => "float32",
            ValueType::Bool => "bool",
            ValueType::String => "string",
            ValueType::Array => "array",
            ValueType::U64 => "uint64",
            ValueType::I64 => "int64",
            ValueType::F64 => "float64",
        }
    }

    /// Size of a fixed-size value.
    fn fixed_size(self) -> Option<u64> {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => Some(1),
            ValueType::U16 | ValueType::I16 => Some(2),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(4),
            ValueType::U64 | ValueType::I64 | ValueType::F64 => Some(8),
            ValueType::String | ValueType::Array => None,
        }
    }
}

/// A metadata value. Strings are kept only where the caller asked for them; arrays are only
/// summarised (element type, count).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str {
        /// Offset of the first byte of the string in the file.
        data_offset: u64,
        len: u64,
        /// The bytes, if they were kept.
        bytes: Option<Vec<u8>>,
    },
    Array {
        elem: ValueType,
        count: u64,
        /// Where each string element is (offset of its first byte, length), for the
        /// string arrays whose key `keep_string` selects (`tokenizer.ggml.tokens`).
        strings: Option<Vec<(u64, u64)>>,
    },
}

/// String elements of one array whose places are kept (a vocabulary is 32k to 260k tokens).
pub const MAX_KEPT_ARRAY_STRINGS: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub key_offset: u64,
    pub value_type: ValueType,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub info_offset: u64,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    /// Offset relative to the start of the data section.
    pub offset: u64,
    /// Bytes of data, when the type is known.
    pub nbytes: Option<u64>,
}

/// Something a conforming writer never produces, worth an issue but not fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub offset: u64,
    /// `duplicate-key`, `duplicate-tensor`, `overlapping-tensors`.
    pub kind: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GgufFile {
    pub version: u32,
    pub big_endian: bool,
    pub tensor_count: u64,
    pub kv_count: u64,
    pub kvs: Vec<KeyValue>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Start of the tensor data section (after the tensor infos, aligned).
    pub data_offset: Option<u64>,
    pub anomalies: Vec<Anomaly>,
    /// Bytes of the file that were read (header, metadata, tensor infos).
    pub bytes_read: u64,
}

/// What to keep and how far to go.
pub struct ReadOptions<'a> {
    /// Whether the string value of this (top-level) key should be kept in memory.
    pub keep_string: &'a dyn Fn(&str) -> bool,
    /// Longest string value kept.
    pub max_kept_string: u64,
    /// Nesting of arrays inside arrays.
    pub max_array_depth: u32,
    /// Bytes the metadata and tensor infos may span.
    pub max_metadata_bytes: u64,
    pub budget: &'a Budget,
}

/// Whatever could be read, and why reading stopped (if it did). A structure that was read
/// before an error (a chat template, say) is still worth analysing.
#[derive(Debug)]
pub struct Parsed {
    pub file: GgufFile,
    pub error: Option<ScanError>,
}

/// ggml tensor types: (id, name, block size, bytes per block), from `ggml.c`'s type traits
/// (the `gguf` package's `GGML_QUANT_SIZES`), including the repacked types that older files
/// still carry (Q4_0_4_4 ... IQ4_NL_8_8).
const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 40),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (31, "Q4_0_4_4", 32, 18),
    (32, "Q4_0_4_8", 32, 18),
    (33, "Q4_0_8_8", 32, 18),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (36, "IQ4_NL_4_4", 32, 18),
    (37, "IQ4_NL_4_8", 32, 18),
    (38, "IQ4_NL_8_8", 32, 18),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
];

pub fn ggml_type(id: u32) -> Option<(&'static str, u64, u64)> {
    GGML_TYPES
        .iter()
        .find(|t| t.0 == id)
        .map(|t| (t.1, t.2, t.3))
}

fn malformed(offset: u64, reason: impl Into<String>) -> ScanError {
    ScanError::malformed(FORMAT, Some(offset), reason)
}

struct Reader {
    inner: BufReader<BlobReader>,
    pos: u64,
    len: u64,
    big_endian: bool,
    v1: bool,
}

impl Reader {
    fn left(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn need(&self, n: u64, what: &str) -> Result<(), ScanError> {
        if self.left() < n {
            return Err(malformed(
                self.pos,
                format!(
                    "truncated file: {what} needs {n} bytes at offset {} but the file is {} bytes long",
                    self.pos, self.len
                ),
            ));
        }
        Ok(())
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ScanError> {
        self.need(N as u64, what)?;
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ScanError> {
        let [b] = self.array::<1>(what)?;
        Ok(b)
    }

    fn u16(&mut self, what: &str) -> Result<u16, ScanError> {
        let b = self.array::<2>(what)?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&mut self, what: &str) -> Result<u32, ScanError> {
        let b = self.array::<4>(what)?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&mut self, what: &str) -> Result<u64, ScanError> {
        let b = self.array::<8>(what)?;
        Ok(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A count or length: 32 bits in v1, 64 bits since v2.
    fn count(&mut self, what: &str) -> Result<u64, ScanError> {
        if self.v1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), ScanError> {
        self.need(n, what)?;
        let mut left = n;
        while left > 0 {
            let step = left.min(i64::MAX as u64);
            self.inner.seek_relative(step as i64)?;
            left -= step;
        }
        self.pos += n;
        Ok(())
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, ScanError> {
        self.need(n, what)?;
        let len =
            usize::try_from(n).map_err(|_| malformed(self.pos, format!("{what} too long")))?;
        let mut v = vec![0u8; len];
        self.inner.read_exact(&mut v)?;
        self.pos += n;
        Ok(v)
    }

    /// A length-prefixed string; the length is checked against the bytes left.
    fn string_header(&mut self, what: &str) -> Result<(u64, u64), ScanError> {
        let at = self.pos;
        let len = self.count(&format!("{what} length"))?;
        if len > self.left() {
            return Err(malformed(
                at,
                format!(
                    "{what} length {len} at offset {at} exceeds the {} bytes left in the file",
                    self.left()
                ),
            ));
        }
        Ok((at, len))
    }

    fn name_string(&mut self, what: &str, max: u64) -> Result<String, ScanError> {
        let (at, len) = self.string_header(what)?;
        if len > max {
            return Err(malformed(
                at,
                format!("{what} length {len} at offset {at} is over the {max}-byte limit"),
            ));
        }
        let b = self.bytes(len, what)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}

/// Reads the structure of a GGUF file.
pub fn read(blob: &Blob, opts: &ReadOptions<'_>) -> Parsed {
    let mut file = GgufFile {
        alignment: DEFAULT_ALIGNMENT,
        ..GgufFile::default()
    };
    let mut r = Reader {
        inner: BufReader::with_capacity(64 * 1024, blob.reader()),
        pos: 0,
        len: blob.len(),
        big_endian: false,
        v1: false,
    };
    let error = read_into(&mut r, &mut file, opts).err();
    file.bytes_read = r.pos;
    Parsed { file, error }
}

fn read_into(r: &mut Reader, file: &mut GgufFile, opts: &ReadOptions<'_>) -> Result<(), ScanError> {
    let magic = r.array::<4>("the magic")?;
    if &magic != b"GGUF" {
        let [a, b, c, d] = magic;
        return Err(malformed(
            0,
            format!(
                "not a GGUF file: the magic is {a:02x}{b:02x}{c:02x}{d:02x} instead of \"GGUF\""
            ),
        ));
    }
    let raw = r.u32("the version")?;
    let mut version = raw;
    // gguf.cpp: "(version & 0x0000FFFF) == 0" means the file was written with the other
    // byte order; the gguf writer can produce big-endian files.
    if raw & 0xFFFF == 0 && raw != 0 {
        r.big_endian = true;
        version = raw.swap_bytes();
    }
    file.big_endian = r.big_endian;
    file.version = version;
    match version {
        0 => return Err(malformed(4, "invalid GGUF version 0")),
        1..=3 => {}
        v => {
            return Err(ScanError::Unsupported(format!(
                "GGUF version {v} is newer than the versions this scanner reads (1 to 3)"
            )));
        }
    }
    r.v1 = version == 1;
    let tensor_count = r.count("the tensor count")?;
    let kv_count = r.count("the metadata key-value count")?;
    file.tensor_count = tensor_count;
    file.kv_count = kv_count;
    let header_end = r.pos;

    // Smallest possible entries: a key-value is a key length, a 1-byte key, a type and a
    // 1-byte value; a tensor info is a name length, a 1-byte name, n_dims, a type and an
    // offset. Counts the file cannot hold are rejected before anything is allocated.
    let width = if r.v1 { 4 } else { 8 };
    let min_kv = width + 1 + 4 + 1;
    let min_tensor = width + 1 + 4 + 4 + 8;
    let left = r.left();
    if kv_count > left / min_kv {
        return Err(malformed(
            header_end,
            format!(
                "metadata key-value count {kv_count} cannot fit in the {left} bytes after the header"
            ),
        ));
    }
    if tensor_count > left / min_tensor
        || kv_count.saturating_mul(min_kv) + tensor_count.saturating_mul(min_tensor) > left
    {
        return Err(malformed(
            header_end,
            format!("tensor count {tensor_count} cannot fit in the {left} bytes after the header"),
        ));
    }

    for (count, max, what) in [
        (kv_count, MAX_KV_COUNT, "metadata key-values"),
        (tensor_count, MAX_TENSOR_COUNT, "tensors"),
    ] {
        if count > max {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!("the GGUF file declares {count} {what}; at most {max} are read"),
            }));
        }
    }

    // ---- metadata ----
    let mut seen: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for i in 0..kv_count {
        if i % 4096 == 0 {
            opts.budget.check_time()?;
        }
        let key_offset = r.pos;
        let key = r.name_string("metadata key", MAX_KEY_LEN)?;
        let type_at = r.pos;
        let t = r.u32("a metadata value type")?;
        let value_type = ValueType::from_u32(t).ok_or_else(|| {
            malformed(
                type_at,
                format!("metadata key '{key}' has unknown value type {t}"),
            )
        })?;
        let value = read_value(r, &key, value_type, opts)?;
        if r.pos - header_end > opts.max_metadata_bytes {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!(
                    "GGUF metadata is larger than {} bytes; stopped at key '{key}'",
                    opts.max_metadata_bytes
                ),
            }));
        }
        match seen.get(&key) {
            Some(first) => file.anomalies.push(Anomaly {
                offset: key_offset,
                kind: "duplicate-key",
                message: format!(
                    "metadata key '{key}' appears more than once (offsets {first} and {key_offset}); llama.cpp and the gguf Python reader refuse such files, other readers keep either value"
                ),
            }),
            None => {
                seen.insert(key.clone(), key_offset);
            }
        }
        file.kvs.push(KeyValue {
            key,
            key_offset,
            value_type,
            value,
        });
    }

    // general.alignment: a uint32 power of two (gguf.cpp and the Python reader insist).
    if let Some(kv) = file.kvs.iter().find(|kv| kv.key == "general.alignment") {
        if kv.value_type != ValueType::U32 {
            return Err(malformed(
                kv.key_offset,
                format!(
                    "general.alignment must be a uint32, not {}",
                    kv.value_type.name()
                ),
            ));
        }
        let a = match kv.value {
            Value::Uint(a) => a,
            _ => 0,
        };
        if a == 0 || !a.is_power_of_two() {
            return Err(malformed(
                kv.key_offset,
                format!("general.alignment {a} is not a power of two"),
            ));
        }
        file.alignment = a;
    }

    // ---- tensor infos ----
    let mut names: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for i in 0..tensor_count {
        if i % 4096 == 0 {
            opts.budget.check_time()?;
        }
        let info_offset = r.pos;
        let name = r.name_string("tensor name", MAX_KEY_LEN)?;
        let dims_at = r.pos;
        let n_dims = r.u32("the tensor's number of dimensions")?;
        if n_dims > MAX_DIMS {
            return Err(malformed(
                dims_at,
                format!(
                    "tensor '{name}' has {n_dims} dimensions, more than the {MAX_DIMS} allowed"
                ),
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            dims.push(r.count("a tensor dimension")?);
        }
        let type_at = r.pos;
        let ggml_type_id = r.u32("the tensor type")?;
        let offset = r.u64("the tensor data offset")?;
        if r.pos - header_end > opts.max_metadata_bytes {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!(
                    "GGUF metadata is larger than {} bytes; stopped at tensor '{name}'",
                    opts.max_metadata_bytes
                ),
            }));
        }
        let nbytes = match ggml_type(ggml_type_id) {
            Some((tname, blck, size)) => {
                let elements = dims
                    .iter()
                    .try_fold(1u64, |acc, d| acc.checked_mul(*d))
                    .filter(|n| *n <= i64::MAX as u64)
                    .ok_or_else(|| {
                        malformed(
                            dims_at,
                            format!("tensor '{name}' has too many elements (dimensions {dims:?})"),
                        )
                    })?;
                let ne0 = dims.first().copied().unwrap_or(1);
                if ne0 % blck != 0 {
                    return Err(malformed(
                        type_at,
                        format!(
                            "tensor '{name}' of type {tname} has {ne0} elements per row, not a multiple of its block size {blck}"
                        ),
                    ));
                }
                Some((elements / blck).saturating_mul(size))
            }
            None => None,
        };
        match names.get(&name) {
            Some(first) => file.anomalies.push(Anomaly {
                offset: info_offset,
                kind: "duplicate-tensor",
                message: format!(
                    "tensor name '{name}' appears more than once (offsets {first} and {info_offset})"
                ),
            }),
            None => {
                names.insert(name.clone(), info_offset);
            }
        }
        file.tensors.push(TensorInfo {
            name,
            info_offset,
            dims,
            ggml_type: ggml_type_id,
            offset,
            nbytes,
        });
    }

    // ---- the data section ----
    if tensor_count == 0 {
        return Ok(());
    }
    let data_offset = r
        .pos
        .checked_next_multiple_of(file.alignment)
        .unwrap_or(u64::MAX);
    file.data_offset = Some(data_offset);
    if data_offset > r.len {
        return Err(malformed(
            r.pos,
            format!(
                "the tensor data section starts at offset {data_offset}, past the end of the file ({} bytes)",
                r.len
            ),
        ));
    }
    let mut ranges: Vec<(u64, u64, &str)> = Vec::new();
    for t in &file.tensors {
        if t.offset % file.alignment != 0 {
            return Err(malformed(
                t.info_offset,
                format!(
                    "tensor '{}' data offset {} is not a multiple of the alignment {}",
                    t.name, t.offset, file.alignment
                ),
            ));
        }
        let start = data_offset.saturating_add(t.offset);
        let end = start.saturating_add(t.nbytes.unwrap_or(0));
        if end > r.len || start > r.len {
            return Err(malformed(
                t.info_offset,
                format!(
                    "tensor '{}' data [{start}, {end}) extends past the end of the file ({} bytes)",
                    t.name, r.len
                ),
            ));
        }
        if end > start {
            ranges.push((start, end, t.name.as_str()));
        }
    }
    ranges.sort_unstable();
    let mut overlaps = Vec::new();
    let mut reach: Option<(u64, u64, &str)> = None;
    for (s, e, n) in ranges {
        if let Some((ps, pe, pn)) = reach {
            if s < pe {
                overlaps.push(Anomaly {
                    offset: data_offset,
                    kind: "overlapping-tensors",
                    message: format!(
                        "tensors '{pn}' [{ps}, {pe}) and '{n}' [{s}, {e}) share bytes of the file"
                    ),
                });
            }
            if e <= pe {
                continue;
            }
        }
        reach = Some((s, e, n));
    }
    file.anomalies.extend(overlaps);
    Ok(())
}

fn read_value(
    r: &mut Reader,
    key: &str,
    t: ValueType,
    opts: &ReadOptions<'_>,
) -> Result<Value, ScanError> {
    Ok(match t {
        ValueType::U8 => Value::Uint(u64::from(r.u8("a uint8 value")?)),
        ValueType::I8 => Value::Int(i64::from(r.u8("an int8 value")? as i8)),
        ValueType::U16 => Value::Uint(u64::from(r.u16("a uint16 value")?)),
        ValueType::I16 => Value::Int(i64::from(r.u16("an int16 value")? as i16)),
        ValueType::U32 => Value::Uint(u64::from(r.u32("a uint32 value")?)),
        ValueType::I32 => Value::Int(i64::from(r.u32("an int32 value")? as i32)),
        ValueType::F32 => Value::Float(f64::from(f32::from_bits(r.u32("a float32 value")?))),
        ValueType::U64 => Value::Uint(r.u64("a uint64 value")?),
        ValueType::I64 => Value::Int(r.u64("an int64 value")? as i64),
        ValueType::F64 => Value::Float(f64::from_bits(r.u64("a float64 value")?)),
        ValueType::Bool => Value::Bool(r.u8("a bool value")? != 0),
        ValueType::String => {
            let (_, len) = r.string_header(&format!("string value of '{key}'"))?;
            let data_offset = r.pos;
            let bytes = if (opts.keep_string)(key) && len <= opts.max_kept_string {
                Some(r.bytes(len, "a string value")?)
            } else {
                r.skip(len, "a string value")?;
                None
            };
            Value::Str {
                data_offset,
                len,
                bytes,
            }
        }
        ValueType::Array => {
            let mut strings = (opts.keep_string)(key).then(Vec::new);
            let (elem, count) = read_array(r, key, 1, opts, &mut strings)?;
            if elem != ValueType::String {
                strings = None;
            }
            Value::Array {
                elem,
                count,
                strings,
            }
        }
    })
}

/// Walks an array (element type, count, elements) without keeping its elements.
fn read_array(
    r: &mut Reader,
    key: &str,
    depth: u32,
    opts: &ReadOptions<'_>,
    strings: &mut Option<Vec<(u64, u64)>>,
) -> Result<(ValueType, u64), ScanError> {
    if depth > opts.max_array_depth {
        return Err(malformed(
            r.pos,
            format!(
                "metadata key '{key}' nests arrays deeper than {} levels",
                opts.max_array_depth
            ),
        ));
    }
    let type_at = r.pos;
    let t = r.u32("an array element type")?;
    let elem = ValueType::from_u32(t).ok_or_else(|| {
        malformed(
            type_at,
            format!("array in metadata key '{key}' has unknown element type {t}"),
        )
    })?;
    let count_at = r.pos;
    let count = r.count("an array length")?;
    let width = if r.v1 { 4 } else { 8 };
    let min_elem = match elem {
        ValueType::String => width,
        ValueType::Array => 4 + width,
        other => other.fixed_size().unwrap_or(1),
    };
    if count > r.left() / min_elem {
        return Err(malformed(
            count_at,
            format!(
                "array of {count} {} elements in metadata key '{key}' at offset {count_at} cannot fit in the {} bytes left",
                elem.name(),
                r.left()
            ),
        ));
    }
    if count > MAX_KEPT_ARRAY_STRINGS || elem != ValueType::String {
        *strings = None;
    }
    if let Some(s) = strings.as_mut() {
        // `count` was checked against the bytes left and the cap above.
        s.reserve(usize::try_from(count).unwrap_or(0));
    }
    match elem {
        ValueType::String => {
            for i in 0..count {
                if i % 65_536 == 0 {
                    opts.budget.check_time()?;
                }
                let (_, len) = r.string_header(&format!("string in the array '{key}'"))?;
                if let Some(s) = strings.as_mut() {
                    s.push((r.pos, len));
                }
                r.skip(len, "an array string")?;
            }
        }
        ValueType::Array => {
            for i in 0..count {
                if i % 65_536 == 0 {
                    opts.budget.check_time()?;
                }
                read_array(r, key, depth + 1, opts, &mut None)?;
            }
        }
        other => {
            let size = other.fixed_size().unwrap_or(1);
            r.skip(count.saturating_mul(size), "array elements")?;
        }
    }
    Ok((elem, count))
}
