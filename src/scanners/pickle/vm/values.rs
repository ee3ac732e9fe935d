//! The values the VM puts on its stack and in its memo (`V`, `Text`), the nodes that containers
//! and call results become (`Node`), and the per-pickle state (stack, marks, memo, planted
//! methods).

use super::*;

#[derive(Debug, Clone)]
pub(super) enum V {
    None,
    Bool,
    Int(i128),
    BigInt,
    Float,
    Str(Text),
    Bytes(Rc<[u8]>),
    /// A string or bytes operand too large to keep: where it is in the stream and its length.
    Big(u64, u64),
    Global(u32),
    Node(u32),
    Tuple(Rc<[V]>),
    PersId,
    Buffer,
    /// Something the VM does not model (a node past the budget, an unresolved extension).
    Opaque,
}

/// Bytes of a `str` kept inline: the dict keys and attribute names that make up most strings
/// in a model pickle fit, so they cost no allocation (`V` stays 32 bytes).
pub(super) const INLINE_TEXT: usize = 22;

/// A Python `str` operand: inline when short, shared otherwise.
#[derive(Clone)]
pub(super) enum Text {
    Inline(u8, [u8; INLINE_TEXT]),
    Shared(Rc<str>),
}

impl Text {
    pub(super) fn new(s: &str) -> Text {
        let mut buf = [0u8; INLINE_TEXT];
        match (buf.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(dst), Ok(n)) => {
                dst.copy_from_slice(s.as_bytes());
                Text::Inline(n, buf)
            }
            _ => Text::Shared(Rc::from(s)),
        }
    }

    /// Python's decoding of the bytes: invalid UTF-8 becomes U+FFFD.
    pub(super) fn from_utf8_lossy(bytes: &[u8]) -> Text {
        // Short ASCII, nearly every string in a model pickle: no UTF-8 validation needed.
        if bytes.len() <= INLINE_TEXT && bytes.is_ascii() {
            let mut buf = [0u8; INLINE_TEXT];
            if let (Some(d), Ok(n)) = (buf.get_mut(..bytes.len()), u8::try_from(bytes.len())) {
                d.copy_from_slice(bytes);
                return Text::Inline(n, buf);
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Text::new(s),
            Err(_) => Text::new(&String::from_utf8_lossy(bytes)),
        }
    }

    pub(super) fn as_str(&self) -> &str {
        match self {
            // Always UTF-8: filled from a `str` or from ASCII bytes.
            Text::Inline(n, buf) => buf
                .get(..usize::from(*n))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Text::Shared(s) => s,
        }
    }

    /// Which of `STATE_KEYS` this string is, compared as bytes (no UTF-8 check: most strings
    /// are dict keys tested on every BUILD and SETITEM).
    pub(super) fn state_key(&self) -> Option<usize> {
        let bytes: &[u8] = match self {
            Text::Inline(n, buf) => buf.get(..usize::from(*n)).unwrap_or_default(),
            Text::Shared(s) => s.as_bytes(),
        };
        if !matches!(bytes.len(), 3 | 6 | 12) {
            return None;
        }
        STATE_KEYS.iter().position(|k| k.as_bytes() == bytes)
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug)]
pub(super) enum Node {
    List(Vec<V>),
    Dict(Vec<(V, V)>),
    Set(Vec<V>),
    Obj {
        callee: V,
        args: V,
        state: Option<V>,
    },
}

/// Per-pickle state: a fresh memo and stack for each pickle in the stream.
pub(super) struct State {
    pub(super) stack: Vec<V>,
    pub(super) marks: Vec<usize>,
    pub(super) memo: Memo<V>,
    pub(super) nodes: Vec<Node>,
    /// `append`, `extend` or `add` set on a node by a BUILD state: the last value for a node
    /// and name, which is what APPEND, APPENDS or ADDITEMS would call.
    pub(super) planted: HashMap<(u32, &'static str), V>,
    /// The last item stored under each of `STATE_KEYS` by SETITEM(S) into a node (a dict, or a
    /// dict subclass built by a call), whatever the container's item cap.
    pub(super) keyed: HashMap<(u32, &'static str), V>,
    /// Lists and sets that got more items than the VM keeps: what they hold is not all known.
    pub(super) truncated: HashSet<u32>,
    /// Dicts that got more items than the VM keeps (their keys are not all known).
    pub(super) dicts_cut: HashSet<u32>,
    pub(super) proto: u8,
    pub(super) saw_proto: bool,
    pub(super) frame_end: Option<u64>,
}

thread_local! {
    /// The state of this thread's last pickle, emptied (`State::recycle`).
    static SPARE: std::cell::Cell<Option<State>> = const { std::cell::Cell::new(None) };
}

/// Most planted-method records kept per pickle; past it a planted callable is reported when it
/// is planted, whether or not an opcode then calls it.
pub(super) const MAX_PLANTED: usize = 4096;

/// The per-pickle lists of `State` that `Vm::keep_or_report` bounds.
#[derive(Clone, Copy)]
pub(super) enum Tracked {
    Planted,
    Keyed,
}

/// The BUILD state keys that plant a method the unpickler calls.
pub(super) const STATE_KEYS: [&str; 4] = ["__setstate__", "append", "extend", "add"];

impl State {
    pub(super) fn new() -> State {
        // Sized for a typical model pickle, so that the first opcodes do not regrow them.
        State::with_room(
            Vec::with_capacity(32),
            Vec::with_capacity(8),
            Memo::with_capacity(64),
            Vec::new(),
        )
    }

    /// A fresh state whose stack, marks, memo and nodes are the given (empty) vectors; every
    /// other field starts anew, so nothing of an earlier pickle can carry over.
    fn with_room(stack: Vec<V>, marks: Vec<usize>, memo: Memo<V>, nodes: Vec<Node>) -> State {
        State {
            stack,
            marks,
            memo,
            nodes,
            planted: HashMap::new(),
            keyed: HashMap::new(),
            truncated: HashSet::new(),
            dicts_cut: HashSet::new(),
            proto: 0,
            saw_proto: false,
            frame_end: None,
        }
    }

    /// A state for the next pickle: this thread's last one, emptied, when there is one (its
    /// vectors keep their room, so a folder of small pickles does not allocate them per file).
    pub(super) fn reused() -> State {
        SPARE
            .try_with(|s| s.take())
            .ok()
            .flatten()
            .unwrap_or_else(State::new)
    }

    /// Keeps this state's vectors, emptied, for the thread's next pickle (everything else is
    /// dropped), unless they grew past what a typical pickle needs (a large one's room is given
    /// back).
    pub(super) fn recycle(self) {
        const KEEP: usize = 4096;
        let State {
            mut stack,
            mut marks,
            mut memo,
            mut nodes,
            ..
        } = self;
        if stack.capacity() > KEEP
            || marks.capacity() > KEEP
            || memo.capacity() > KEEP
            || nodes.capacity() > KEEP
        {
            return;
        }
        stack.clear();
        marks.clear();
        memo.clear();
        nodes.clear();
        let spare = State::with_room(stack, marks, memo, nodes);
        let _ = SPARE.try_with(|s| s.set(Some(spare)));
    }

    pub(super) fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }
}

/// A decimal INT/LONG operand: small ones kept, larger ones only known to be integers.
pub(super) fn int_value(i: pyint::PyInt) -> V {
    match i {
        pyint::PyInt::Small(v) => V::Int(v),
        pyint::PyInt::Big => V::BigInt,
    }
}

pub(super) fn call_name(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Reduce => "REDUCE",
        CallKind::NewObj => "NEWOBJ",
        CallKind::NewObjEx => "NEWOBJ_EX",
        CallKind::Obj => "OBJ",
        CallKind::Inst => "INST",
    }
}

pub(super) fn describe(v: &V) -> &'static str {
    match v {
        V::None => "None",
        V::Bool => "a bool",
        V::Int(_) | V::BigInt => "an int",
        V::Float => "a float",
        V::Str(_) => "a string",
        V::Bytes(_) => "bytes",
        V::Big(..) => "a large string or bytes",
        V::Global(_) => "an imported global",
        V::Node(_) => "the result of a call or a container",
        V::Tuple(_) => "a tuple",
        V::PersId => "a persistent id",
        V::Buffer => "an out-of-band buffer",
        V::Opaque => "a value computed at load time",
    }
}

pub(super) fn tuple_items(v: &V) -> &[V] {
    match v {
        V::Tuple(t) => t,
        _ => &[],
    }
}

pub(super) fn payload_bytes(v: &V) -> Option<Vec<u8>> {
    match v {
        V::Bytes(b) => Some(b.to_vec()),
        V::Str(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

pub(super) fn cap_items(mut items: Vec<V>) -> Vec<V> {
    items.truncate(MAX_ITEMS);
    items
}

pub(super) fn pairs(items: Vec<V>) -> Vec<(V, V)> {
    let mut out = Vec::with_capacity(items.len().min(MAX_ITEMS * 2) / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if out.len() < MAX_ITEMS {
            out.push((k, v));
        }
    }
    out
}

/// The items of flat key/value pairs (a DICT's, a SETITEMS's) stored under one of `STATE_KEYS`,
/// in order.
pub(super) fn state_items(flat: &[V]) -> Vec<(&'static str, V)> {
    let mut found = Vec::new();
    for pair in flat.chunks_exact(2) {
        if let [V::Str(k), v] = pair {
            if let Some(name) = k.state_key().and_then(|i| STATE_KEYS.get(i)) {
                found.push((*name, v.clone()));
            }
        }
    }
    found
}
