//! A reader for CPython's `marshal` format, enough to see what a serialized function does
//! without running it: Keras Lambda layers store `marshal.dumps(fn.__code__)` (base64) in their
//! config, and `marshal.loads` + `FunctionType` is how Keras rebuilds them. This module decodes
//! the object tree (every type code of `Python/marshal.c`, with `FLAG_REF` back-references) and
//! the code-object layouts of CPython 3.0–3.7, 3.8–3.10 and 3.11–3.14, then summarizes a code
//! object (`CodeFacts`): the global and attribute names it uses, its string constants and the
//! names of nested functions. Judging whether those are dangerous is the caller's job
//! (`keras::lambda`).
//!
//! Everything is bounded: the nesting depth, every length against the bytes left, and the
//! summary walk visits each shared object once.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::rc::Rc;

/// A value decoded from marshal data.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    StopIteration,
    Ellipsis,
    Int(i64),
    /// A `long` too large for `i64`, kept as its digit count only.
    BigInt {
        digits: usize,
        negative: bool,
    },
    Float(f64),
    Complex(f64, f64),
    Bytes(Vec<u8>),
    Str(String),
    Tuple(Vec<Rc<Value>>),
    List(Vec<Rc<Value>>),
    Dict(Vec<(Rc<Value>, Rc<Value>)>),
    Set(Vec<Rc<Value>>),
    FrozenSet(Vec<Rc<Value>>),
    /// Python 3.14's slice constants.
    Slice(Rc<Value>, Rc<Value>, Rc<Value>),
    Code(Box<Code>),
}

/// The code-object layouts `marshal` has written, oldest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// 3.11 to 3.14: `co_localsplusnames`, `co_qualname`, `co_exceptiontable`.
    Py311,
    /// 3.8 to 3.10: `co_posonlyargcount` added, `co_nlocals` still written.
    Py38,
    /// 3.0 to 3.7.
    Py30,
}

impl Layout {
    pub fn describe(self) -> &'static str {
        match self {
            Layout::Py311 => "CPython 3.11+",
            Layout::Py38 => "CPython 3.8-3.10",
            Layout::Py30 => "CPython 3.0-3.7",
        }
    }
}

/// The parts of a code object a reviewer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub argcount: i32,
    pub flags: i32,
    pub bytecode_len: usize,
    pub consts: Vec<Rc<Value>>,
    /// `co_names`: globals, attributes and imported modules the code uses.
    pub names: Vec<String>,
    /// Argument and local variable names (`co_varnames` / `co_localsplusnames`).
    pub local_names: Vec<String>,
    pub filename: String,
    pub name: String,
    pub qualname: Option<String>,
    pub firstlineno: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarshalError {
    pub offset: usize,
    pub reason: String,
}

impl fmt::Display for MarshalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

impl std::error::Error for MarshalError {}

// Type codes from CPython's Python/marshal.c.
const TYPE_NULL: u8 = b'0';
const TYPE_NONE: u8 = b'N';
const TYPE_FALSE: u8 = b'F';
const TYPE_TRUE: u8 = b'T';
const TYPE_STOPITER: u8 = b'S';
const TYPE_ELLIPSIS: u8 = b'.';
const TYPE_INT: u8 = b'i';
/// Only written by Python 2 on 64-bit builds; read for leniency.
const TYPE_INT64: u8 = b'I';
const TYPE_FLOAT: u8 = b'f';
const TYPE_BINARY_FLOAT: u8 = b'g';
const TYPE_COMPLEX: u8 = b'x';
const TYPE_BINARY_COMPLEX: u8 = b'y';
const TYPE_LONG: u8 = b'l';
const TYPE_STRING: u8 = b's';
const TYPE_INTERNED: u8 = b't';
const TYPE_REF: u8 = b'r';
const TYPE_TUPLE: u8 = b'(';
const TYPE_LIST: u8 = b'[';
const TYPE_DICT: u8 = b'{';
const TYPE_CODE: u8 = b'c';
const TYPE_UNICODE: u8 = b'u';
const TYPE_SET: u8 = b'<';
const TYPE_FROZENSET: u8 = b'>';
const TYPE_ASCII: u8 = b'a';
const TYPE_ASCII_INTERNED: u8 = b'A';
const TYPE_SMALL_TUPLE: u8 = b')';
const TYPE_SHORT_ASCII: u8 = b'z';
const TYPE_SHORT_ASCII_INTERNED: u8 = b'Z';
const TYPE_SLICE: u8 = b':';
const FLAG_REF: u8 = 0x80;

/// CPython's own cap (`MAX_MARSHAL_STACK_DEPTH`).
const CPYTHON_MAX_DEPTH: u32 = 2000;

/// Decode one marshalled object, trying each code-object layout in turn (newest first) and
/// keeping the first that reads the whole input; `max_depth` bounds nesting.
pub fn loads(data: &[u8], max_depth: u32) -> Result<(Rc<Value>, Layout), MarshalError> {
    let mut first_error: Option<MarshalError> = None;
    let mut partial: Option<(Rc<Value>, Layout)> = None;
    for layout in [Layout::Py311, Layout::Py38, Layout::Py30] {
        let mut r = Reader {
            data,
            pos: 0,
            refs: Vec::new(),
            layout,
            max_depth: max_depth.min(CPYTHON_MAX_DEPTH),
            saw_code: false,
        };
        match r.object(0) {
            Ok(Some(v)) => {
                // marshal.loads ignores trailing bytes, so a layout that stops early is kept as
                // a fallback; one that reads everything wins.
                if r.pos == data.len() || !r.saw_code {
                    return Ok((v, layout));
                }
                if partial.is_none() {
                    partial = Some((v, layout));
                }
            }
            Ok(None) => {
                first_error.get_or_insert(MarshalError {
                    offset: 0,
                    reason: "bad marshal data (NULL object)".into(),
                });
            }
            Err(e) => {
                // The error of the layout that got furthest is the most telling.
                if first_error.as_ref().is_none_or(|f| e.offset > f.offset) {
                    first_error = Some(e);
                }
            }
        }
        if !r.saw_code {
            // Without a code object the layout made no difference.
            break;
        }
    }
    match (partial, first_error) {
        (Some(p), _) => Ok(p),
        (None, Some(e)) => Err(e),
        (None, None) => Err(MarshalError {
            offset: 0,
            reason: "bad marshal data (empty)".into(),
        }),
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// `FLAG_REF` slots; `None` while the object is still being read (CPython's placeholder).
    refs: Vec<Option<Rc<Value>>>,
    layout: Layout,
    max_depth: u32,
    saw_code: bool,
}

impl Reader<'_> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, MarshalError> {
        Err(MarshalError {
            offset: self.pos,
            reason: reason.into(),
        })
    }

    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], MarshalError> {
        let end = match self.pos.checked_add(n) {
            Some(e) if e <= self.data.len() => e,
            _ => return self.err("marshal data too short"),
        };
        let s = self.data.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, MarshalError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.err("EOF read where object expected"),
        }
    }

    fn long(&mut self) -> Result<i32, MarshalError> {
        let b = self.bytes(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(i32::from_le_bytes(a))
    }

    fn f64_le(&mut self) -> Result<f64, MarshalError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    /// A length field, checked against the bytes left: every element takes at least
    /// `min_each` bytes, so no allocation can exceed the input.
    fn length(&mut self, min_each: usize, what: &str) -> Result<usize, MarshalError> {
        let n = self.long()?;
        let n = match usize::try_from(n) {
            Ok(n) => n,
            Err(_) => return self.err(format!("bad marshal data ({what} size out of range)")),
        };
        if n.saturating_mul(min_each) > self.remaining() {
            return self.err(format!("bad marshal data ({what} size out of range)"));
        }
        Ok(n)
    }

    fn float_text(&mut self) -> Result<f64, MarshalError> {
        let n = usize::from(self.byte()?);
        let text = String::from_utf8_lossy(self.bytes(n)?).into_owned();
        match text.trim().parse::<f64>() {
            Ok(v) => Ok(v),
            Err(_) => match text.trim() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" | "-nan" => Ok(f64::NAN),
                _ => self.err("bad marshal data (float text)"),
            },
        }
    }

    fn str_body(&mut self, n: usize) -> Result<String, MarshalError> {
        Ok(String::from_utf8_lossy(self.bytes(n)?).into_owned())
    }

    /// `r_object`: one object, or `None` for TYPE_NULL (the dict terminator).
    fn object(&mut self, depth: u32) -> Result<Option<Rc<Value>>, MarshalError> {
        if depth > self.max_depth {
            return self.err(format!(
                "marshal data nested deeper than {} levels",
                self.max_depth
            ));
        }
        let code = self.byte()?;
        let flag = code & FLAG_REF != 0;
        let ty = code & !FLAG_REF;
        // Containers and code objects reserve their slot before their children are read,
        // scalars after; the order of slots is the same either way (marshal.c r_ref_reserve).
        let slot = if flag && ty != TYPE_REF {
            self.refs.push(None);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let value = match ty {
            TYPE_NULL => return Ok(None),
            TYPE_NONE => Value::None,
            TYPE_FALSE => Value::Bool(false),
            TYPE_TRUE => Value::Bool(true),
            TYPE_STOPITER => Value::StopIteration,
            TYPE_ELLIPSIS => Value::Ellipsis,
            TYPE_INT => Value::Int(i64::from(self.long()?)),
            TYPE_INT64 => {
                let b = self.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Int(i64::from_le_bytes(a))
            }
            TYPE_FLOAT => Value::Float(self.float_text()?),
            TYPE_BINARY_FLOAT => Value::Float(self.f64_le()?),
            TYPE_COMPLEX => {
                let re = self.float_text()?;
                Value::Complex(re, self.float_text()?)
            }
            TYPE_BINARY_COMPLEX => {
                let re = self.f64_le()?;
                Value::Complex(re, self.f64_le()?)
            }
            TYPE_LONG => self.long_value()?,
            TYPE_STRING => {
                let n = self.length(1, "bytes object")?;
                Value::Bytes(self.bytes(n)?.to_vec())
            }
            TYPE_INTERNED | TYPE_UNICODE | TYPE_ASCII | TYPE_ASCII_INTERNED => {
                let n = self.length(1, "string")?;
                Value::Str(self.str_body(n)?)
            }
            TYPE_SHORT_ASCII | TYPE_SHORT_ASCII_INTERNED => {
                let n = usize::from(self.byte()?);
                Value::Str(self.str_body(n)?)
            }
            TYPE_TUPLE => {
                let n = self.length(1, "tuple")?;
                Value::Tuple(self.items(n, depth, "tuple")?)
            }
            TYPE_SMALL_TUPLE => {
                let n = usize::from(self.byte()?);
                Value::Tuple(self.items(n, depth, "tuple")?)
            }
            TYPE_LIST => {
                let n = self.length(1, "list")?;
                Value::List(self.items(n, depth, "list")?)
            }
            TYPE_SET => {
                let n = self.length(1, "set")?;
                Value::Set(self.items(n, depth, "set")?)
            }
            TYPE_FROZENSET => {
                let n = self.length(1, "set")?;
                Value::FrozenSet(self.items(n, depth, "set")?)
            }
            TYPE_DICT => {
                // Pairs until a NULL key (or, as marshal.c reads it, a NULL value).
                let mut pairs = Vec::new();
                while let Some(k) = self.object(depth + 1)? {
                    let Some(v) = self.object(depth + 1)? else {
                        break;
                    };
                    pairs.push((k, v));
                }
                Value::Dict(pairs)
            }
            TYPE_SLICE => {
                let a = self.required(depth, "slice")?;
                let b = self.required(depth, "slice")?;
                let c = self.required(depth, "slice")?;
                Value::Slice(a, b, c)
            }
            TYPE_CODE => {
                self.saw_code = true;
                Value::Code(Box::new(self.code(depth)?))
            }
            TYPE_REF => {
                let at = self.pos;
                let n = self.long()?;
                let found = usize::try_from(n)
                    .ok()
                    .and_then(|i| self.refs.get(i))
                    .and_then(|r| r.clone());
                return match found {
                    Some(v) => Ok(Some(v)),
                    None => Err(MarshalError {
                        offset: at,
                        reason: "bad marshal data (invalid reference)".into(),
                    }),
                };
            }
            _ => return self.err("bad marshal data (unknown type code)"),
        };
        let rc = Rc::new(value);
        if let Some(slot) = slot.and_then(|i| self.refs.get_mut(i)) {
            *slot = Some(rc.clone());
        }
        Ok(Some(rc))
    }

    fn required(&mut self, depth: u32, what: &str) -> Result<Rc<Value>, MarshalError> {
        match self.object(depth + 1)? {
            Some(v) => Ok(v),
            None => self.err(format!("NULL object in marshal data for {what}")),
        }
    }

    fn items(&mut self, n: usize, depth: u32, what: &str) -> Result<Vec<Rc<Value>>, MarshalError> {
        let mut v = Vec::with_capacity(n.min(self.remaining()));
        for _ in 0..n {
            v.push(self.required(depth, what)?);
        }
        Ok(v)
    }

    /// TYPE_LONG: a signed digit count, then 15-bit digits, least significant first.
    fn long_value(&mut self) -> Result<Value, MarshalError> {
        let n = self.long()?;
        let negative = n < 0;
        let count = n.unsigned_abs() as usize;
        if count.saturating_mul(2) > self.remaining() {
            return self.err("bad marshal data (long size out of range)");
        }
        let mut acc: i128 = 0;
        let fits = count <= 8;
        for i in 0..count {
            let b = self.bytes(2)?;
            let d = u16::from_le_bytes([
                b.first().copied().unwrap_or(0),
                b.get(1).copied().unwrap_or(0),
            ]);
            if d > 0x7fff {
                return self.err("bad marshal data (digit out of range in long)");
            }
            if fits {
                acc |= i128::from(d) << (15 * i);
            }
        }
        if fits {
            let v = if negative { -acc } else { acc };
            if let Ok(v) = i64::try_from(v) {
                return Ok(Value::Int(v));
            }
        }
        Ok(Value::BigInt {
            digits: count,
            negative,
        })
    }

    fn str_of(&self, v: &Value) -> Option<String> {
        match v {
            Value::Str(s) => Some(s.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    fn string_field(&mut self, depth: u32, field: &str) -> Result<String, MarshalError> {
        let v = self.required(depth, "code object")?;
        match self.str_of(&v) {
            Some(s) => Ok(s),
            None => self.err(format!(
                "bad marshal data (code object {field} is not a string)"
            )),
        }
    }

    fn names_field(&mut self, depth: u32, field: &str) -> Result<Vec<String>, MarshalError> {
        let v = self.required(depth, "code object")?;
        match &*v {
            Value::Tuple(items) => Ok(items.iter().filter_map(|i| self.str_of(i)).collect()),
            _ => self.err(format!(
                "bad marshal data (code object {field} is not a tuple)"
            )),
        }
    }

    /// The fields `w_object` writes for a code object, in the order of the layout.
    fn code(&mut self, depth: u32) -> Result<Code, MarshalError> {
        let ints = match self.layout {
            Layout::Py311 => 5, // argcount, posonly, kwonly, stacksize, flags
            Layout::Py38 => 6,  // argcount, posonly, kwonly, nlocals, stacksize, flags
            Layout::Py30 => 5,  // argcount, kwonly, nlocals, stacksize, flags
        };
        let mut header = [0i32; 6];
        for h in header.iter_mut().take(ints) {
            *h = self.long()?;
        }
        let argcount = header.first().copied().unwrap_or(0);
        let flags = header.get(ints - 1).copied().unwrap_or(0);
        let code = self.required(depth, "code object")?;
        let bytecode_len = match &*code {
            Value::Bytes(b) => b.len(),
            _ => return self.err("bad marshal data (code object co_code is not bytes)"),
        };
        let consts = match &*self.required(depth, "code object")? {
            Value::Tuple(items) => items.clone(),
            _ => return self.err("bad marshal data (code object co_consts is not a tuple)"),
        };
        let names = self.names_field(depth, "co_names")?;
        let mut local_names;
        let filename;
        let name;
        let mut qualname = None;
        match self.layout {
            Layout::Py311 => {
                local_names = self.names_field(depth, "co_localsplusnames")?;
                let kinds = self.required(depth, "code object")?;
                if !matches!(&*kinds, Value::Bytes(_)) {
                    return self.err("bad marshal data (co_localspluskinds is not bytes)");
                }
                filename = self.string_field(depth, "co_filename")?;
                name = self.string_field(depth, "co_name")?;
                qualname = Some(self.string_field(depth, "co_qualname")?);
            }
            Layout::Py38 | Layout::Py30 => {
                local_names = self.names_field(depth, "co_varnames")?;
                local_names.extend(self.names_field(depth, "co_freevars")?);
                local_names.extend(self.names_field(depth, "co_cellvars")?);
                filename = self.string_field(depth, "co_filename")?;
                name = self.string_field(depth, "co_name")?;
            }
        }
        let firstlineno = self.long()?;
        // Line table (and, from 3.11, the exception table): bytes the reader does not need.
        let lines = self.required(depth, "code object")?;
        if !matches!(&*lines, Value::Bytes(_)) {
            return self.err("bad marshal data (code object line table is not bytes)");
        }
        if self.layout == Layout::Py311 {
            let table = self.required(depth, "code object")?;
            if !matches!(&*table, Value::Bytes(_)) {
                return self.err("bad marshal data (co_exceptiontable is not bytes)");
            }
        }
        Ok(Code {
            argcount,
            flags,
            bytecode_len,
            consts,
            names,
            local_names,
            filename,
            name,
            qualname,
            firstlineno,
        })
    }
}

/// What a code object (and every code object nested in its constants) refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeFacts {
    /// `co_names` of every code object: globals, attributes, imported modules.
    pub names: BTreeSet<String>,
    /// String constants, in the order met, without duplicates.
    pub strings: Vec<String>,
    /// Names of the nested functions, lambdas and comprehensions.
    pub functions: Vec<String>,
    /// Whether the walk stopped at the visit cap.
    pub truncated: bool,
}

/// Most objects the summary walk visits; shared objects count once.
const MAX_FACT_VISITS: usize = 100_000;

/// Summarize `v` (normally a code object).
pub fn code_facts(v: &Rc<Value>) -> CodeFacts {
    let mut facts = CodeFacts::default();
    let mut seen_strings = HashSet::new();
    let mut visited: HashSet<*const Value> = HashSet::new();
    let mut stack = vec![v.clone()];
    let mut top = true;
    while let Some(v) = stack.pop() {
        if !visited.insert(Rc::as_ptr(&v)) {
            continue;
        }
        if visited.len() > MAX_FACT_VISITS {
            facts.truncated = true;
            break;
        }
        match &*v {
            Value::Str(s) if seen_strings.insert(s.clone()) => facts.strings.push(s.clone()),
            Value::Bytes(b) => {
                let s = String::from_utf8_lossy(b).into_owned();
                if seen_strings.insert(s.clone()) {
                    facts.strings.push(s);
                }
            }
            Value::Tuple(items)
            | Value::List(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => stack.extend(items.iter().rev().cloned()),
            Value::Dict(pairs) => {
                for (k, val) in pairs.iter().rev() {
                    stack.push(val.clone());
                    stack.push(k.clone());
                }
            }
            Value::Slice(a, b, c) => stack.extend([c.clone(), b.clone(), a.clone()]),
            Value::Code(code) => {
                facts.names.extend(code.names.iter().cloned());
                if !top {
                    facts
                        .functions
                        .push(code.qualname.clone().unwrap_or_else(|| code.name.clone()));
                }
                stack.extend(code.consts.iter().rev().cloned());
            }
            _ => {}
        }
        top = false;
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/fixtures/marshal/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    const VERSIONS: [(&str, Layout); 8] = [
        ("py36", Layout::Py30),
        ("py37", Layout::Py30),
        ("py38", Layout::Py38),
        ("py39", Layout::Py38),
        ("py310", Layout::Py38),
        ("py311", Layout::Py311),
        ("py312", Layout::Py311),
        ("py313", Layout::Py311),
    ];

    #[test]
    fn os_system_lambda_names_are_read_for_every_python_version() {
        for (tag, layout) in VERSIONS {
            let data = fixture(&format!("{tag}_os_system_lambda.bin"));
            let (v, got) = loads(&data, 200).unwrap_or_else(|e| panic!("{tag}: {e}"));
            assert_eq!(got, layout, "{tag}");
            let Value::Code(code) = &*v else {
                panic!("{tag}: not a code object")
            };
            assert_eq!(code.name, "<lambda>", "{tag}");
            let facts = code_facts(&v);
            assert!(facts.names.contains("__import__"), "{tag}: {facts:?}");
            assert!(facts.names.contains("system"), "{tag}: {facts:?}");
            assert!(facts.strings.iter().any(|s| s == "os"), "{tag}: {facts:?}");
            assert!(
                facts.strings.iter().any(|s| s == "echo pwned"),
                "{tag}: {facts:?}"
            );
        }
    }

    #[test]
    fn harmless_lambda_uses_no_global_names() {
        for (tag, _) in VERSIONS {
            let data = fixture(&format!("{tag}_harmless_lambda.bin"));
            let (v, _) = loads(&data, 200).unwrap_or_else(|e| panic!("{tag}: {e}"));
            let facts = code_facts(&v);
            assert!(facts.names.is_empty(), "{tag}: {facts:?}");
            assert!(facts.functions.is_empty(), "{tag}: {facts:?}");
        }
    }

    #[test]
    fn nested_function_names_and_imports_are_collected() {
        for (tag, _) in VERSIONS {
            let data = fixture(&format!("{tag}_subprocess_def.bin"));
            let (v, _) = loads(&data, 200).unwrap_or_else(|e| panic!("{tag}: {e}"));
            let facts = code_facts(&v);
            assert!(facts.names.contains("subprocess"), "{tag}: {facts:?}");
            assert!(facts.names.contains("getoutput"), "{tag}: {facts:?}");
            assert!(
                facts.functions.iter().any(|f| f.ends_with('g')),
                "{tag}: {facts:?}"
            );
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let data = fixture("py311_subprocess_def.bin");
        for n in 0..data.len() {
            assert!(loads(&data[..n], 200).is_err(), "prefix of {n} bytes");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Ok((v, _)) = loads(&data, 64) {
                let _ = code_facts(&v);
            }
        }
    }

    #[test]
    fn flipped_bytes_in_real_code_never_panic() {
        for tag in ["py38", "py311", "py313"] {
            let good = fixture(&format!("{tag}_subprocess_def.bin"));
            for at in 0..good.len() {
                for x in [0x01u8, 0x80, 0xff] {
                    let mut v = good.clone();
                    v[at] ^= x;
                    if let Ok((val, _)) = loads(&v, 200) {
                        let _ = code_facts(&val);
                    }
                }
            }
        }
    }

    #[test]
    fn scalars_and_containers_decode() {
        // (1, 'ab', None, True, 2.5, b'x', [], {'k': 1}, frozenset())
        let data = b")\x09i\x01\x00\x00\x00z\x02abNTg\x00\x00\x00\x00\x00\x00\x04@s\x01\x00\x00\x00x[\x00\x00\x00\x00{z\x01ki\x01\x00\x00\x000>\x00\x00\x00\x00";
        let (v, _) = loads(data, 10).unwrap();
        let Value::Tuple(items) = &*v else { panic!() };
        assert_eq!(items.len(), 9);
        assert_eq!(*items[0], Value::Int(1));
        assert_eq!(*items[1], Value::Str("ab".into()));
        assert_eq!(*items[4], Value::Float(2.5));
        assert!(matches!(&*items[7], Value::Dict(p) if p.len() == 1));
    }

    #[test]
    fn references_resolve_to_the_flagged_object() {
        // ('os' with FLAG_REF, reference 0) -> ('os', 'os'); 0xfa is 'z' | FLAG_REF.
        let data = b")\x02\xfa\x02osr\x00\x00\x00\x00";
        let (v, _) = loads(data, 10).unwrap();
        let Value::Tuple(items) = &*v else { panic!() };
        assert_eq!(*items[1], Value::Str("os".into()));
    }

    #[test]
    fn a_reference_to_an_unfinished_object_is_rejected() {
        // A ref-flagged tuple that contains a reference to itself.
        let data = b"\xa9\x01r\x00\x00\x00\x00";
        let e = loads(data, 10).unwrap_err();
        assert_eq!(e.reason, "bad marshal data (invalid reference)");
    }

    #[test]
    fn nesting_past_the_limit_is_an_error() {
        let mut data = [b')', 1].repeat(50);
        data.push(b'N');
        let e = loads(&data, 20).unwrap_err();
        assert!(e.reason.contains("nested deeper than 20"), "{e}");
        assert!(loads(&data, 100).is_ok());
    }

    #[test]
    fn a_huge_declared_length_is_rejected_before_allocating() {
        let data = b"(\xff\xff\xff\x7f";
        let e = loads(data, 10).unwrap_err();
        assert_eq!(e.reason, "bad marshal data (tuple size out of range)");
    }

    #[test]
    fn big_longs_are_kept_as_digit_counts() {
        // 2**100: 7 digits of 15 bits.
        let mut data = vec![b'l', 7, 0, 0, 0];
        for d in [0u16, 0, 0, 0, 0, 0, 1024] {
            data.extend_from_slice(&d.to_le_bytes());
        }
        let (v, _) = loads(&data, 10).unwrap();
        assert_eq!(
            *v,
            Value::BigInt {
                digits: 7,
                negative: false
            }
        );
    }

    #[test]
    fn shared_objects_are_summarized_once() {
        // A tuple of 200 references to one tuple: the walk must not fan out.
        let mut data = vec![b'(', 201, 0, 0, 0];
        data.extend_from_slice(b"\xa9\x01z\x01s");
        for _ in 0..200 {
            data.extend_from_slice(b"r\x00\x00\x00\x00");
        }
        let (v, _) = loads(&data, 10).unwrap();
        let facts = code_facts(&v);
        assert_eq!(facts.strings, vec!["s".to_string()]);
    }
}
