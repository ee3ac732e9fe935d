//! One opcode step, as `load_*` in CPython's `Modules/_pickle.c` performs it: stack and memo
//! moves, containers, BUILD; calls are handed to `calls.rs`.

use super::*;

pub(super) fn invalid_int(line: &[u8]) -> String {
    format!(
        "invalid literal for int() with base 0: {:?}",
        String::from_utf8_lossy(line)
    )
}

/// Operand bytes as text, invalid UTF-8 replaced (`String::from_utf8_lossy`), in one
/// allocation: valid text (nearly all) is copied straight into the `Rc`.
pub(super) fn starts_pickle(b: u8) -> bool {
    b == 0x80
        || matches!(
            b,
            b'(' | b'c' | b']' | b'}' | b')' | b'N' | b'I' | b'S' | b'V' | b'l' | b'd' | b'i'
        )
}

pub(super) fn le_signed(bytes: &[u8]) -> i128 {
    let mut v: i128 = 0;
    for (i, b) in bytes.iter().enumerate() {
        v |= i128::from(*b) << (8 * i);
    }
    let bits = 8 * bytes.len();
    if bits > 0 && bits < 128 && bytes.last().is_some_and(|b| b & 0x80 != 0) {
        v -= 1i128 << bits;
    }
    v
}

impl Vm<'_> {
    pub(super) fn pop(&self, st: &mut State) -> R<V> {
        if st.stack.len() <= st.fence() {
            return parse("unpickling stack underflow");
        }
        st.stack
            .pop()
            .ok_or_else(|| Stop::Parse("unpickling stack underflow".into()))
    }

    pub(super) fn pop_mark(&self, st: &mut State) -> R<Vec<V>> {
        let mark = self.pop_mark_at(st)?;
        Ok(st.stack.split_off(mark))
    }

    /// Pops the last mark and returns where the items above it start.
    pub(super) fn pop_mark_at(&self, st: &mut State) -> R<usize> {
        let Some(mark) = st.marks.pop() else {
            return parse("could not find MARK");
        };
        if mark > st.stack.len() {
            return parse("could not find MARK");
        }
        Ok(mark)
    }

    pub(super) fn top(&self, st: &State) -> R<V> {
        if st.stack.len() <= st.fence() {
            return parse("unpickling stack underflow");
        }
        st.stack
            .last()
            .cloned()
            .ok_or_else(|| Stop::Parse("unpickling stack underflow".into()))
    }

    pub(super) fn new_node(&self, st: &mut State, n: Node) -> V {
        if st.nodes.len() >= MAX_NODES {
            return V::Opaque;
        }
        st.nodes.push(n);
        V::Node((st.nodes.len() - 1) as u32)
    }

    pub(super) fn str_value(&self, data: Option<Vec<u8>>, end: u64, len: u64) -> V {
        match data {
            Some(d) => V::Str(Text::from_utf8_lossy(&d)),
            None => V::Big(end.saturating_sub(len), len),
        }
    }

    /// One opcode. The ones a model pickle is mostly made of (small ints, memo stores and
    /// reads, short strings, marks, constants) are stepped here, in the caller's loop; the rest
    /// in `step_other`, out of line.
    #[inline]
    pub(super) fn step<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        op: Op,
        offset: u64,
        keep: u64,
    ) -> R<()> {
        match op {
            Op::BinInt1 => {
                let [b] = input.array::<1>()?;
                st.stack.push(V::Int(i128::from(b)));
            }
            Op::BinPut => {
                let idx = u64::from(input.array::<1>()?[0]);
                self.memo_put(st, idx)?;
            }
            Op::Memoize => {
                let v = self.top(st)?;
                // _Unpickler_MemoPut: MEMOIZE stores at memo_len, the number of entries set.
                let idx = st.memo.len() as u64;
                st.memo.insert(idx, v);
            }
            Op::BinGet => {
                let idx = u64::from(input.array::<1>()?[0]);
                self.floor_index = idx;
                self.memo_get(st, idx)?;
            }
            Op::ShortBinUnicode => {
                let n = u64::from(input.array::<1>()?[0]);
                let v = match input.payload_map(n, keep, Text::from_utf8_lossy)? {
                    Some(s) => V::Str(s),
                    None => V::Big(input.position().saturating_sub(n), n),
                };
                st.stack.push(v);
            }
            Op::Mark => st.marks.push(st.stack.len()),
            Op::None => st.stack.push(V::None),
            Op::NewTrue | Op::NewFalse => st.stack.push(V::Bool),
            _ => return self.step_other(input, st, op, offset, keep),
        }
        Ok(())
    }

    /// PUT, BINPUT, LONG_BINPUT: the stack's top stored under `idx`.
    fn memo_put(&mut self, st: &mut State, idx: u64) -> R<()> {
        let v = self.top(st)?;
        self.floor_index = idx;
        st.memo.insert(idx, v);
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    #[inline(never)]
    fn step_other<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        op: Op,
        offset: u64,
        keep: u64,
    ) -> R<()> {
        match op {
            Op::Proto => {
                let [p] = input.array::<1>()?;
                if p > 5 {
                    return parse(format!("unsupported pickle protocol: {p}"));
                }
                if st.saw_proto {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "PROTO",
                        format!("a second PROTO opcode at byte {offset}: no pickler writes one"),
                        offset,
                    );
                } else if !st.stack.is_empty() || !st.memo.is_empty() {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "PROTO",
                        format!("PROTO at byte {offset} after other opcodes"),
                        offset,
                    );
                }
                st.saw_proto = true;
                st.proto = p;
            }
            Op::Frame => {
                let n = u64::from_le_bytes(input.array::<8>()?);
                if st.frame_end.is_some_and(|end| offset < end) {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "FRAME",
                        format!("a FRAME opcode at byte {offset} inside the previous frame"),
                        offset,
                    );
                }
                st.frame_end = input.position().checked_add(n);
            }
            Op::Stop => {}
            Op::Pop => {
                if st.marks.last() == Some(&st.stack.len()) && st.stack.len() <= st.fence() {
                    st.marks.pop();
                } else {
                    self.pop(st)?;
                }
            }
            Op::PopMark => {
                self.pop_mark(st)?;
            }
            Op::Dup => {
                let v = self.top(st)?;
                st.stack.push(v);
            }
            Op::Int => {
                let line = input.line("stringnl")?.unwrap_or_default();
                // Protocol 0 writes booleans as INT 01/00; other text goes through C strtol
                // with base 0, then int(text, 0) (`load_int` in _pickle.c).
                let v = match pyint::load_int(&line) {
                    pyint::IntOperand::Bool => V::Bool,
                    pyint::IntOperand::Int(i) => int_value(i),
                    pyint::IntOperand::Invalid => return parse(invalid_int(&line)),
                };
                st.stack.push(v);
            }
            Op::Long => {
                let line = input.line("stringnl")?.unwrap_or_default();
                let v = pyint::load_long(&line).ok_or_else(|| Stop::Parse(invalid_int(&line)))?;
                st.stack.push(int_value(v));
            }
            Op::Float => {
                input.line("stringnl")?;
                st.stack.push(V::Float);
            }
            Op::BinFloat => {
                input.array::<8>()?;
                st.stack.push(V::Float);
            }
            Op::BinInt => st
                .stack
                .push(V::Int(i128::from(i32::from_le_bytes(input.array::<4>()?)))),
            Op::BinInt2 => st
                .stack
                .push(V::Int(i128::from(u16::from_le_bytes(input.array::<2>()?)))),
            Op::Long1 | Op::Long4 => {
                let n = if op == Op::Long1 {
                    u64::from(input.array::<1>()?[0])
                } else {
                    let n = i32::from_le_bytes(input.array::<4>()?);
                    if n < 0 {
                        return parse("LONG pickle has negative byte count");
                    }
                    n as u64
                };
                if n <= 16 {
                    let bytes = input.exact(n as usize)?;
                    st.stack.push(V::Int(le_signed(&bytes)));
                } else {
                    input.skip(n)?;
                    st.stack.push(V::BigInt);
                }
            }
            Op::String => {
                let line = input.line("stringnl")?;
                let v = match line {
                    None => V::Big(input.position(), 0),
                    Some(line) => {
                        let raw = unquote_string(&line).ok_or_else(|| {
                            Stop::Parse("the STRING opcode argument must be quoted".into())
                        })?;
                        V::Str(Text::from_utf8_lossy(&raw))
                    }
                };
                st.stack.push(v);
            }
            Op::BinString | Op::ShortBinString => {
                let n = if op == Op::ShortBinString {
                    u64::from(input.array::<1>()?[0])
                } else {
                    let n = i32::from_le_bytes(input.array::<4>()?);
                    if n < 0 {
                        return parse("BINSTRING pickle has negative byte count");
                    }
                    n as u64
                };
                let data = input.payload(n, keep)?;
                let v = self.str_value(data, input.position(), n);
                st.stack.push(v);
            }
            Op::Unicode => {
                let v = match input.line("unicodestringnl")? {
                    Some(line) => V::Str(Text::new(&raw_unicode_escape(&line))),
                    None => V::Big(input.position(), 0),
                };
                st.stack.push(v);
            }
            Op::BinUnicode | Op::BinUnicode8 => {
                let n = match op {
                    Op::BinUnicode => u64::from(u32::from_le_bytes(input.array::<4>()?)),
                    _ => u64::from_le_bytes(input.array::<8>()?),
                };
                let data = input.payload_map(n, keep, Text::from_utf8_lossy)?;
                let v = match data {
                    Some(s) => V::Str(s),
                    None => V::Big(input.position().saturating_sub(n), n),
                };
                st.stack.push(v);
            }
            Op::ShortBinBytes | Op::BinBytes | Op::BinBytes8 | Op::ByteArray8 => {
                let n = match op {
                    Op::ShortBinBytes => u64::from(input.array::<1>()?[0]),
                    Op::BinBytes => u64::from(u32::from_le_bytes(input.array::<4>()?)),
                    _ => u64::from_le_bytes(input.array::<8>()?),
                };
                let data = input.payload_map(n, keep, |b| Rc::<[u8]>::from(b))?;
                let v = match data {
                    Some(b) => V::Bytes(b),
                    None => V::Big(input.position().saturating_sub(n), n),
                };
                st.stack.push(v);
            }
            Op::NextBuffer => st.stack.push(V::Buffer),
            Op::ReadonlyBuffer => {
                self.top(st)?;
            }
            Op::EmptyTuple => st.stack.push(V::Tuple(Rc::from(Vec::new()))),
            Op::Tuple => {
                // Straight from the stack into the tuple (one allocation), capped; a cut tuple
                // ends with `Opaque` in place of the items it lost, so that no check clears it.
                let mark = self.pop_mark_at(st)?;
                let cut = st.stack.len().saturating_sub(mark) > MAX_ITEMS;
                let kept = st.stack.drain(mark..).take(MAX_ITEMS);
                let items: Rc<[V]> = if cut {
                    kept.chain(std::iter::once(V::Opaque)).collect()
                } else {
                    kept.collect()
                };
                st.stack.push(V::Tuple(items));
            }
            Op::Tuple1 | Op::Tuple2 | Op::Tuple3 => {
                let n = match op {
                    Op::Tuple1 => 1,
                    Op::Tuple2 => 2,
                    _ => 3,
                };
                if st.stack.len() < st.fence() + n {
                    return parse("unpickling stack underflow");
                }
                let items: Rc<[V]> = st.stack.drain(st.stack.len() - n..).collect();
                st.stack.push(V::Tuple(items));
            }
            Op::EmptyList => {
                let v = self.new_node(st, Node::List(Vec::new()));
                st.stack.push(v);
            }
            Op::List => {
                let items = self.pop_mark(st)?;
                let cut = items.len() > MAX_ITEMS;
                let v = self.new_node(st, Node::List(cap_items(items)));
                if let (true, V::Node(id)) = (cut, &v) {
                    st.truncated.insert(*id);
                }
                st.stack.push(v);
            }
            Op::EmptyDict => {
                let v = self.new_node(st, Node::Dict(Vec::new()));
                st.stack.push(v);
            }
            Op::Dict => {
                let items = self.pop_mark(st)?;
                if items.len() % 2 != 0 {
                    return parse("odd number of items for DICT");
                }
                let keyed = state_items(&items);
                let cut = items.len() / 2 > MAX_ITEMS;
                let v = self.new_node(st, Node::Dict(pairs(items)));
                if let V::Node(id) = v {
                    self.record_keyed(st, id, keyed, offset);
                    if cut {
                        st.dicts_cut.insert(id);
                    }
                }
                st.stack.push(v);
            }
            Op::EmptySet => {
                let v = self.new_node(st, Node::Set(Vec::new()));
                st.stack.push(v);
            }
            Op::FrozenSet => {
                let items = self.pop_mark(st)?;
                let cut = items.len() > MAX_ITEMS;
                let v = self.new_node(st, Node::Set(cap_items(items)));
                if let (true, V::Node(id)) = (cut, &v) {
                    st.truncated.insert(*id);
                }
                st.stack.push(v);
            }
            Op::Append => {
                let from = self.items_above(st, 1)?;
                self.add_items(st, from, offset, "APPEND")?;
            }
            Op::Appends | Op::AddItems => {
                let from = self.pop_mark_at(st)?;
                self.add_items(st, from, offset, op.name())?;
            }
            Op::SetItem => {
                let from = self.items_above(st, 2)?;
                self.set_items(st, from, offset)?;
            }
            Op::SetItems => {
                let from = self.pop_mark_at(st)?;
                if st.stack.len().saturating_sub(from) % 2 != 0 {
                    return parse("odd number of items for SETITEMS");
                }
                self.set_items(st, from, offset)?;
            }
            Op::Get => {
                let line = input.line("stringnl")?.unwrap_or_default();
                // int(text, 10), as load_get reads it (`1_0` is 10).
                let idx = match pyint::memo_index(&line) {
                    Some(pyint::PyInt::Small(i)) => u64::try_from(i).unwrap_or(u64::MAX),
                    Some(pyint::PyInt::Big) => u64::MAX,
                    None => return parse("invalid GET index"),
                };
                self.floor_index = idx;
                self.memo_get(st, idx)?;
            }
            Op::LongBinGet => {
                let idx = u64::from(u32::from_le_bytes(input.array::<4>()?));
                self.floor_index = idx;
                self.memo_get(st, idx)?;
            }
            Op::Put => {
                let line = input.line("stringnl")?.unwrap_or_default();
                let idx = match pyint::memo_index(&line) {
                    Some(pyint::PyInt::Small(i)) if i < 0 => {
                        return parse("negative PUT argument");
                    }
                    Some(pyint::PyInt::Small(i)) => u64::try_from(i).unwrap_or(u64::MAX),
                    Some(pyint::PyInt::Big) => u64::MAX,
                    None => return parse("invalid PUT index"),
                };
                self.memo_put(st, idx)?;
            }
            Op::LongBinPut => {
                let idx = u64::from(u32::from_le_bytes(input.array::<4>()?));
                self.memo_put(st, idx)?;
            }
            // Stepped by `step` before it hands the other opcodes here.
            Op::BinInt1
            | Op::BinPut
            | Op::Memoize
            | Op::BinGet
            | Op::ShortBinUnicode
            | Op::Mark
            | Op::None
            | Op::NewTrue
            | Op::NewFalse => return self.step(input, st, op, offset, keep),
            Op::Global => {
                let module = input.line("stringnl")?.unwrap_or_default();
                let name = input.line("stringnl")?.unwrap_or_default();
                let id = self.import(
                    &String::from_utf8_lossy(&module),
                    &String::from_utf8_lossy(&name),
                    st.proto,
                    offset,
                );
                self.floor_import = Some(id);
                st.stack.push(V::Global(id));
            }
            Op::StackGlobal => {
                let name = self.pop(st)?;
                let module = self.pop(st)?;
                if self.floor.is_some() {
                    let text = |v: &V| match v {
                        V::Str(t) => Some(t.clone()),
                        _ => None,
                    };
                    self.floor_popped = [text(&module), text(&name)];
                }
                match (&module, &name) {
                    (V::Str(m), V::Str(n)) => {
                        let id = self.import(m, n, st.proto.max(4), offset);
                        self.floor_import = Some(id);
                        st.stack.push(V::Global(id));
                    }
                    (V::Node(_) | V::Opaque | V::Big(..) | V::Global(_) | V::PersId, _)
                    | (_, V::Node(_) | V::Opaque | V::Big(..) | V::Global(_) | V::PersId) => {
                        let m = describe(&module);
                        let n = describe(&name);
                        self.finding_with(
                            "pickle.computed-import",
                            Severity::Critical,
                            "unknown",
                            "unknown",
                            Some(format!(
                                "STACK_GLOBAL imports a name computed at load time (module {m}, name {n})"
                            )),
                            "the module or name given to STACK_GLOBAL is not a string constant, so \
                             what gets imported is only decided when the file is loaded"
                                .into(),
                            offset,
                        );
                        st.stack.push(V::Opaque);
                    }
                    _ => return parse("STACK_GLOBAL requires str"),
                }
            }
            Op::Inst => {
                let module = input.line("stringnl")?.unwrap_or_default();
                let name = input.line("stringnl")?.unwrap_or_default();
                let args = self.pop_mark(st)?;
                let id = self.import(
                    &String::from_utf8_lossy(&module),
                    &String::from_utf8_lossy(&name),
                    st.proto,
                    offset,
                );
                self.floor_import = Some(id);
                let v = self.call(
                    st,
                    CallKind::Inst,
                    V::Global(id),
                    V::Tuple(Rc::from(args)),
                    offset,
                );
                st.stack.push(v);
            }
            Op::Obj => {
                let mut items = self.pop_mark(st)?;
                if items.is_empty() {
                    return parse("unpickling stack underflow");
                }
                let cls = items.remove(0);
                let v = self.call(st, CallKind::Obj, cls, V::Tuple(Rc::from(items)), offset);
                st.stack.push(v);
            }
            Op::Reduce => {
                let args = self.pop(st)?;
                let callable = self.pop(st)?;
                let v = self.call(st, CallKind::Reduce, callable, args, offset);
                st.stack.push(v);
            }
            Op::NewObj => {
                let args = self.pop(st)?;
                let cls = self.pop(st)?;
                let v = self.call(st, CallKind::NewObj, cls, args, offset);
                st.stack.push(v);
            }
            Op::NewObjEx => {
                let _kwargs = self.pop(st)?;
                let args = self.pop(st)?;
                let cls = self.pop(st)?;
                let v = self.call(st, CallKind::NewObjEx, cls, args, offset);
                st.stack.push(v);
            }
            Op::Build => {
                let state = self.pop(st)?;
                let obj = self.top(st)?;
                self.build(input, st, obj, state, offset)?;
            }
            Op::PersId => {
                input.line("stringnl")?;
                st.stack.push(V::PersId);
            }
            Op::BinPersId => {
                self.pop(st)?;
                st.stack.push(V::PersId);
            }
            Op::Ext1 | Op::Ext2 | Op::Ext4 => {
                let code = match op {
                    Op::Ext1 => i64::from(input.array::<1>()?[0]),
                    Op::Ext2 => i64::from(u16::from_le_bytes(input.array::<2>()?)),
                    _ => i64::from(i32::from_le_bytes(input.array::<4>()?)),
                };
                match self.ext_registry.get(&code).cloned() {
                    Some((m, n)) => {
                        self.finding(
                            "pickle.extension-code",
                            Severity::Critical,
                            &m,
                            &n,
                            format!(
                                "{} code {code} resolves to {m}.{n}, registered inside the stream by copyreg.add_extension",
                                op.name()
                            ),
                            offset,
                        );
                        let id = self.import(&m, &n, 4, offset);
                        st.stack.push(V::Global(id));
                    }
                    // EXT opcodes exist from protocol 2, and every pickler that writes one
                    // writes PROTO first; bytes that merely contain 0x82-0x84 (a msgpack map
                    // header) and no PROTO are not a pickle using the registry, and the
                    // unpickler raises at an unregistered code.
                    None if !st.saw_proto => st.stack.push(V::Opaque),
                    None => {
                        self.finding_with(
                            "pickle.extension-code",
                            Severity::Critical,
                            "copyreg",
                            &format!("extension code {code}"),
                            Some(format!(
                                "{} refers to extension code {code}, which nothing in the file registers",
                                op.name()
                            )),
                            "the default extension registry is empty; the code only resolves if \
                             something registered it before loading, and then it imports a global \
                             without naming it"
                                .into(),
                            offset,
                        );
                        st.stack.push(V::Opaque);
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn memo_get(&mut self, st: &mut State, idx: u64) -> R<()> {
        match st.memo.get(idx) {
            Some(v) => {
                let v = v.clone();
                st.stack.push(v);
                Ok(())
            }
            None => parse(format!("Memo value not found at index {idx}")),
        }
    }

    /// Where the last `n` items start, for the opcodes that pop them and then look at the
    /// value under them: all `n + 1` must lie above the innermost mark.
    pub(super) fn items_above(&self, st: &State, n: usize) -> R<usize> {
        match st.stack.len().checked_sub(n) {
            Some(from) if from > st.fence() => Ok(from),
            _ => parse("unpickling stack underflow"),
        }
    }

    /// The value under `st.stack[from..]`, once those items are off the stack: the target of
    /// APPEND(S), ADDITEMS and SETITEM(S).
    pub(super) fn target_below(&self, st: &State, from: usize) -> R<V> {
        match from.checked_sub(1) {
            Some(at) if from > st.fence() => st
                .stack
                .get(at)
                .cloned()
                .ok_or_else(|| Stop::Parse("unpickling stack underflow".into())),
            _ => parse("unpickling stack underflow"),
        }
    }

    /// APPEND(S) and ADDITEMS: the items `st.stack[from..]` go into the list or set under
    /// them, moved off the stack without an intermediate vector.
    pub(super) fn add_items(
        &mut self,
        st: &mut State,
        from: usize,
        offset: u64,
        op: &str,
    ) -> R<()> {
        let target = self.target_below(st, from)?;
        self.check_planted_method(st, &target, op, offset);
        let method = if op == "ADDITEMS" {
            "add"
        } else {
            "append or extend"
        };
        self.check_method_on_unknown(st, &target, op, method, offset);
        let State {
            stack,
            nodes,
            truncated,
            ..
        } = st;
        match &target {
            V::Node(id) => {
                if let Some(Node::List(v) | Node::Set(v)) = nodes.get_mut(*id as usize) {
                    let room = MAX_ITEMS.saturating_sub(v.len());
                    if stack.len().saturating_sub(from) > room {
                        truncated.insert(*id);
                    }
                    v.extend(stack.drain(from..).take(room));
                }
            }
            V::Global(_) => {
                self.method_on_import(&target, op, op, "append/extend/add", offset);
            }
            _ => {}
        }
        st.stack.truncate(from);
        Ok(())
    }

    /// An opcode that calls a method (`method`) of an imported class, function or module
    /// itself, not of an instance: it rewrites state every later user of that object shares.
    fn method_on_import(&mut self, target: &V, op: &str, ops: &str, method: &str, offset: u64) {
        let (m, n) = self
            .import_of(target)
            .map(|i| (i.module.clone(), i.name.clone()))
            .unwrap_or_default();
        self.finding_with(
            "pickle.build-on-callable",
            Severity::Critical,
            &m,
            &n,
            Some(format!("{op} on {m}.{n}, a class, function or module")),
            format!("{ops} calls {method} on the imported object {m}.{n} itself"),
            offset,
        );
    }

    /// SETITEM(S): the key/value pairs `st.stack[from..]` go into the dict under them.
    pub(super) fn set_items(&mut self, st: &mut State, from: usize, offset: u64) -> R<()> {
        let target = self.target_below(st, from)?;
        self.check_method_on_unknown(st, &target, "SETITEM", "__setitem__", offset);
        if let V::Node(id) = target {
            let keyed = state_items(st.stack.get(from..).unwrap_or_default());
            self.record_keyed(st, id, keyed, offset);
        }
        let State {
            stack,
            nodes,
            dicts_cut,
            ..
        } = st;
        match &target {
            V::Node(id) => {
                if let Some(Node::Dict(v)) = nodes.get_mut(*id as usize) {
                    let mut items = stack.drain(from..);
                    let room = MAX_ITEMS.saturating_sub(v.len());
                    v.reserve((items.len() / 2).min(room));
                    while let (Some(k), Some(val)) = (items.next(), items.next()) {
                        if v.len() < MAX_ITEMS {
                            v.push((k, val));
                        } else {
                            dicts_cut.insert(*id);
                        }
                    }
                }
            }
            V::Global(_) => {
                self.method_on_import(&target, "SETITEM", "SETITEM(S)", "__setitem__", offset);
            }
            _ => {}
        }
        st.stack.truncate(from);
        Ok(())
    }

    pub(super) fn build<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        obj: V,
        state: V,
        offset: u64,
    ) -> R<()> {
        let [setstate, append, extend, add] = self.state_plants(st, &state);
        if let Some(planted) = setstate {
            let what = self.name_value(st, &planted);
            self.planted_finding(
                "BUILD",
                format!(
                    "BUILD sets __setstate__ to {what} on the object it builds; a later BUILD on \
                     it calls that with data from the file"
                ),
                format!(
                    "the unpickler looks __setstate__ up on the object, so {what} is called \
                     without a REDUCE"
                ),
                offset,
            );
        }
        let methods = [("append", append), ("extend", extend), ("add", add)];
        match &obj {
            V::Global(_) => {
                let (m, n) = self
                    .import_of(&obj)
                    .map(|i| (i.module.clone(), i.name.clone()))
                    .unwrap_or_default();
                let attrs = self.state_keys(st, &state);
                self.finding_with(
                    "pickle.build-on-callable",
                    Severity::Critical,
                    &m,
                    &n,
                    Some(format!(
                        "BUILD sets attributes{} on {m}.{n}, a class, function or module",
                        if attrs.is_empty() { String::new() } else { format!(" ({attrs})") }
                    )),
                    "BUILD on an imported object (not a new instance) rewrites shared state such as \
                     __code__, __globals__ or module attributes that later code uses"
                        .into(),
                    offset,
                );
            }
            V::Node(node) => {
                self.check_method_on_unknown(
                    st,
                    &obj,
                    "BUILD",
                    "__setstate__ (or __setattr__)",
                    offset,
                );
                self.check_build_guard(st, &obj, &state, offset);
                self.record_planted(st, *node, methods, offset);
                let id = *node as usize;
                let callee = match st.nodes.get_mut(id) {
                    Some(Node::Obj {
                        callee, state: s, ..
                    }) => {
                        *s = Some(state.clone());
                        Some(callee.clone())
                    }
                    _ => None,
                };
                if let Some(callee) = callee {
                    self.note_external_file(st, &callee, &state, offset);
                    let is_wrapper = self.import_of(&callee).is_some_and(|i| {
                        super::super::joblib::is_array_wrapper(&i.resolved_module, &i.resolved_name)
                    });
                    if is_wrapper && self.joblib_arrays {
                        self.out.joblib_data = true;
                        self.skip_joblib_array(input, st, &state, offset)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
