//! Text-format SavedModels (`saved_model.pbtxt`, which TensorFlow loads when there is no
//! `saved_model.pb`): the protobuf text format is read and the fields the scanner uses are
//! written back as wire format, so one decoder reads both. Fields outside that set are parsed
//! and dropped.

use super::proto::Kind;

/// What a named field of a message is: its number and how its value is encoded.
#[derive(Clone, Copy)]
enum Ty {
    Msg(Kind),
    Bytes,
    Varint,
    /// A `DataType` enum (`DT_STRING`) or its number.
    DataType,
}

fn field(kind: Kind, name: &str) -> Option<(u32, Ty)> {
    use Kind::*;
    Some(match (kind, name) {
        (SavedModel, "saved_model_schema_version") => (1, Ty::Varint),
        (SavedModel, "meta_graphs") => (2, Ty::Msg(MetaGraph)),
        (MetaGraph, "meta_info_def") => (1, Ty::Msg(MetaInfo)),
        (MetaGraph, "graph_def") => (2, Ty::Msg(Graph)),
        (MetaInfo, "meta_graph_version") => (1, Ty::Bytes),
        (MetaInfo, "stripped_op_list") => (2, Ty::Msg(OpList)),
        (MetaInfo, "tags") => (4, Ty::Bytes),
        (MetaInfo, "tensorflow_version") => (5, Ty::Bytes),
        (Graph, "node") => (1, Ty::Msg(Node)),
        (Graph, "library") => (2, Ty::Msg(Library)),
        (Node, "name") => (1, Ty::Bytes),
        (Node, "op") => (2, Ty::Bytes),
        (Node, "input") => (3, Ty::Bytes),
        (Node, "device") => (4, Ty::Bytes),
        (Node, "attr") => (5, Ty::Msg(AttrEntry)),
        (AttrEntry, "key") => (1, Ty::Bytes),
        (AttrEntry, "value") => (2, Ty::Msg(AttrValue)),
        (AttrValue, "list") => (1, Ty::Msg(ListValue)),
        (AttrValue, "s") => (2, Ty::Bytes),
        (AttrValue, "tensor") => (8, Ty::Msg(Tensor)),
        (AttrValue, "func") => (10, Ty::Msg(NameAttrList)),
        (ListValue, "s") => (2, Ty::Bytes),
        (Tensor, "dtype") => (1, Ty::DataType),
        (Tensor, "string_val") => (8, Ty::Bytes),
        (NameAttrList, "name") => (1, Ty::Bytes),
        (Library, "function") => (1, Ty::Msg(Function)),
        (Function, "signature") => (1, Ty::Msg(OpDef)),
        (Function, "node_def") => (3, Ty::Msg(Node)),
        (OpDef, "name") => (1, Ty::Bytes),
        (OpList, "op") => (1, Ty::Msg(OpDef)),
        _ => return None,
    })
}

/// Deepest nesting read.
const MAX_DEPTH: u32 = 64;

/// The wire-format bytes of the `SavedModel` written as text in `text`.
pub fn to_wire(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut p = P { s: text, i: 0 };
    let out = p.message(Kind::SavedModel, None, 0)?;
    Ok(out)
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'#' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    fn ident(&mut self) -> Option<&[u8]> {
        self.ws();
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+'))
        {
            self.i += 1;
        }
        (self.i > start).then(|| self.s.get(start..self.i).unwrap_or(&[]))
    }

    /// Fields up to `close` (or the end of the text for the top message).
    fn message(&mut self, kind: Kind, close: Option<u8>, depth: u32) -> Result<Vec<u8>, String> {
        if depth > MAX_DEPTH {
            return Err("text protobuf nested too deeply".into());
        }
        let mut out = Vec::new();
        loop {
            self.ws();
            match (self.peek(), close) {
                (None, None) => return Ok(out),
                (None, Some(_)) => return Err("unexpected end of text protobuf".into()),
                (Some(c), Some(cl)) if c == cl => {
                    self.i += 1;
                    return Ok(out);
                }
                (Some(b',' | b';'), _) => {
                    self.i += 1;
                    continue;
                }
                (Some(b'['), _) => {
                    // An extension or Any type URL: `[type.googleapis.com/x] { ... }`.
                    while self.peek().is_some_and(|c| c != b']') {
                        self.i += 1;
                    }
                    self.i += 1;
                    self.value(None, &mut out, depth)?;
                    continue;
                }
                _ => {}
            }
            let at = self.i;
            let name = self
                .ident()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .ok_or_else(|| format!("expected a field name at byte {at}"))?;
            let f = field(kind, &name);
            self.value(f, &mut out, depth)?;
        }
    }

    /// `: scalar`, `: [a, b]`, `{ ... }`, `: { ... }`, `< ... >`.
    fn value(&mut self, f: Option<(u32, Ty)>, out: &mut Vec<u8>, depth: u32) -> Result<(), String> {
        // Lists nest too (`[[[...`): bound them with the messages.
        if depth > MAX_DEPTH {
            return Err("text protobuf nested too deeply".into());
        }
        self.ws();
        if self.peek() == Some(b':') {
            self.i += 1;
            self.ws();
        }
        match self.peek() {
            Some(b'[') => {
                self.i += 1;
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        Some(b',') => self.i += 1,
                        None => return Err("unterminated list".into()),
                        _ => self.value(f, out, depth + 1)?,
                    }
                }
            }
            Some(open @ (b'{' | b'<')) => {
                self.i += 1;
                let close = if open == b'{' { b'}' } else { b'>' };
                let kind = match f {
                    Some((_, Ty::Msg(k))) => Some(k),
                    _ => None,
                };
                // An unknown message is parsed with a kind that knows no field.
                let body =
                    self.message(kind.unwrap_or(Kind::SavedObject), Some(close), depth + 1)?;
                if let (Some((num, Ty::Msg(_))), Some(_)) = (f, kind) {
                    put_key(out, num, 2);
                    put_varint(out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
                Ok(())
            }
            Some(b'"' | b'\'') => {
                let mut bytes = Vec::new();
                while matches!(self.peek(), Some(b'"' | b'\'')) {
                    bytes.extend(self.string()?);
                    self.ws();
                }
                if let Some((num, Ty::Bytes)) = f {
                    put_key(out, num, 2);
                    put_varint(out, bytes.len() as u64);
                    out.extend_from_slice(&bytes);
                }
                Ok(())
            }
            _ => {
                let at = self.i;
                let word = self
                    .ident()
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| format!("expected a value at byte {at}"))?;
                let n = match f {
                    Some((_, Ty::DataType)) => data_type(&word),
                    Some((_, Ty::Varint)) => std::str::from_utf8(&word)
                        .ok()
                        .and_then(|w| w.parse::<i64>().ok())
                        .map(|v| v as u64),
                    _ => None,
                };
                if let (Some((num, _)), Some(n)) = (f, n) {
                    put_key(out, num, 0);
                    put_varint(out, n);
                }
                Ok(())
            }
        }
    }

    /// One quoted string with C escapes.
    fn string(&mut self) -> Result<Vec<u8>, String> {
        let q = self.peek().ok_or("expected a string")?;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.i += 1;
            if c == q {
                return Ok(out);
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let e = self.peek().ok_or("unterminated escape")?;
            self.i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(0x0c),
                b'v' => out.push(0x0b),
                b'x' | b'X' => {
                    let mut v = 0u32;
                    let mut n = 0;
                    while n < 2 && self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                        v = v * 16
                            + (self.peek().unwrap_or(b'0') as char)
                                .to_digit(16)
                                .unwrap_or(0);
                        self.i += 1;
                        n += 1;
                    }
                    out.push(v as u8);
                }
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    let mut n = 1;
                    while n < 3 && self.peek().is_some_and(|c| (b'0'..=b'7').contains(&c)) {
                        v = v * 8 + u32::from(self.peek().unwrap_or(b'0') - b'0');
                        self.i += 1;
                        n += 1;
                    }
                    out.push(v as u8);
                }
                other => out.push(other),
            }
        }
    }
}

fn data_type(word: &[u8]) -> Option<u64> {
    if let Some(n) = std::str::from_utf8(word)
        .ok()
        .and_then(|w| w.parse::<u64>().ok())
    {
        return Some(n);
    }
    Some(match word {
        b"DT_FLOAT" => 1,
        b"DT_DOUBLE" => 2,
        b"DT_INT32" => 3,
        b"DT_UINT8" => 4,
        b"DT_INT16" => 5,
        b"DT_INT8" => 6,
        b"DT_STRING" => 7,
        b"DT_INT64" => 9,
        b"DT_BOOL" => 10,
        b"DT_RESOURCE" => 20,
        b"DT_VARIANT" => 21,
        _ => return None,
    })
}

fn put_key(out: &mut Vec<u8>, num: u32, wire: u8) {
    put_varint(out, (u64::from(num) << 3) | u64::from(wire));
}

fn put_varint(out: &mut Vec<u8>, v: u64) {
    crate::scanners::protowire::put_varint(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanners::savedmodel::proto::SavedModel;
    use prost::Message;

    #[test]
    fn text_format_is_read_into_the_same_messages() {
        let text = br#"
saved_model_schema_version: 1
meta_graphs {
  meta_info_def { tags: "serve" stripped_op_list { op { name: "WriteFile" } } }
  graph_def {
    node { name: "c" op: "Const"
      attr { key: "value" value { tensor { dtype: DT_STRING string_val: "/tmp/" "x\n" } } } }
    node { name: "w" op: "WriteFile" input: ["c", "d"] }
    versions { producer: 1 }   # an unknown message, dropped
    library { function { signature { name: "__inference_init_1" } node_def { name: "n" op: "StringJoin" } } }
  }
}
"#;
        let wire = to_wire(text).unwrap_or_default();
        let sm = SavedModel::decode(wire.as_slice()).unwrap_or_default();
        let mg = &sm.meta_graphs[0];
        let g = mg.graph_def.as_ref().unwrap();
        assert_eq!(g.node[1].op, b"WriteFile");
        assert_eq!(g.node[1].input, vec![b"c".to_vec(), b"d".to_vec()]);
        let t = g.node[0]
            .attr("value")
            .and_then(|a| a.tensor.as_ref())
            .unwrap();
        assert_eq!(t.string_val, vec![b"/tmp/x\n".to_vec()]);
        assert_eq!(t.dtype, 7);
        let f = &g.library.as_ref().unwrap().function[0];
        assert_eq!(f.node_def[0].op, b"StringJoin");
        assert!(to_wire(b"meta_graphs { graph_def { node {").is_err());
        assert!(to_wire("a {".repeat(200).as_bytes()).is_err());
        assert!(to_wire(format!("a: {}", "[".repeat(100_000)).as_bytes()).is_err());
    }
}
