//! Planted methods: a BUILD state or SETITEM that stores a callable under a name the unpickler
//! will call (`__setstate__`, `append`, `extend`, `add`), and the opcodes that then call it.

use super::*;

impl Vm<'_> {
    /// A BUILD state that sets `append`, `extend` or `add` on a node: remembered, so that an
    /// APPEND, APPENDS or ADDITEMS on that node can tell it calls the planted value.
    pub(super) fn record_planted(
        &mut self,
        st: &mut State,
        node: u32,
        methods: [(&'static str, Option<V>); 3],
        offset: u64,
    ) {
        for (name, value) in methods {
            let Some(value) = value else {
                continue;
            };
            self.keep_or_report(st, Tracked::Planted, (node, name, value), "BUILD", offset, |what| {
                (
                    format!("BUILD sets {name} to {what} on the object it builds"),
                    format!(
                        "APPEND, APPENDS and ADDITEMS look {name} up on the object, so a later one \
                         calls {what}"
                    ),
                )
            });
        }
    }

    /// APPEND, APPENDS and ADDITEMS on anything but a list or set call the object's `append`,
    /// `extend` or `add`, looked up on the object: one a BUILD state planted is called here.
    pub(super) fn check_planted_method(&mut self, st: &State, target: &V, op: &str, offset: u64) {
        let V::Node(id) = target else {
            return;
        };
        // Lists and sets built by the stream are exact types: their methods are not looked up.
        if !matches!(st.nodes.get(*id as usize), Some(Node::Obj { .. })) {
            return;
        }
        let names: &[&str] = match op {
            "APPEND" => &["append"],
            "APPENDS" => &["extend", "append"],
            _ => &["add"],
        };
        for name in names {
            let Some(planted) = st.planted.get(&(*id, *name)) else {
                continue;
            };
            if self.callable_like(st, planted) {
                let what = self.name_value(st, planted);
                self.planted_finding(
                    op,
                    format!(
                        "{op} calls {name} on an object whose BUILD state set {name} to {what}"
                    ),
                    format!(
                        "the unpickler looks {name} up on the object, so {what} is called with \
                         items from the file"
                    ),
                    offset,
                );
                return;
            }
        }
    }

    /// Keeps `entry` in the list `which` names, up to `MAX_PLANTED` entries; past that a
    /// callable value is reported at once (`text` gives the finding's description and reason
    /// from the value's name), since what later uses it can no longer be followed.
    pub(super) fn keep_or_report(
        &mut self,
        st: &mut State,
        which: Tracked,
        entry: (u32, &'static str, V),
        op: &str,
        offset: u64,
        text: impl FnOnce(&str) -> (String, String),
    ) {
        let map = match which {
            Tracked::Planted => &mut st.planted,
            Tracked::Keyed => &mut st.keyed,
        };
        let (node, name, value) = entry;
        if map.len() < MAX_PLANTED || map.contains_key(&(node, name)) {
            // The last assignment wins, as on the object.
            map.insert((node, name), value);
        } else if self.callable_like(st, &value) {
            let (description, why) = text(&self.name_value(st, &value));
            self.planted_finding(op, description, why, offset);
        }
    }

    /// An imported global, a call's result or something computed: a value that can be called.
    pub(super) fn callable_like(&self, st: &State, v: &V) -> bool {
        match v {
            V::Global(_) | V::Opaque => true,
            V::Node(n) => matches!(st.nodes.get(*n as usize), Some(Node::Obj { .. })),
            _ => false,
        }
    }

    pub(super) fn name_value(&self, st: &State, v: &V) -> String {
        match self.import_of(v) {
            Some(i) => format!("{}.{}", i.resolved_module, i.resolved_name),
            None => self.describe_value(st, v),
        }
    }

    pub(super) fn planted_finding(
        &mut self,
        op: &str,
        description: String,
        why: String,
        offset: u64,
    ) {
        self.finding_with(
            "pickle.planted-method",
            Severity::Critical,
            "pickle",
            op,
            Some(description),
            why,
            offset,
        );
    }

    /// Items stored under a `STATE_KEYS` name into node `id` by DICT or SETITEM(S) (`state_items`):
    /// remembered whatever the node (a dict past its item cap, an `OrderedDict` built by a call),
    /// so that a BUILD using it as state sees them.
    pub(super) fn record_keyed(
        &mut self,
        st: &mut State,
        id: u32,
        found: Vec<(&'static str, V)>,
        offset: u64,
    ) {
        for (name, v) in found {
            self.keep_or_report(st, Tracked::Keyed, (id, name, v), "SETITEM", offset, |what| {
                (
                    format!("a mapping gets {name} = {what}, beyond what is tracked"),
                    format!(
                        "as a BUILD state it would make the unpickler call {what}; too many such \
                         items to follow"
                    ),
                )
            });
        }
    }

    /// What a BUILD state sets under each of `STATE_KEYS` (indexed as that list): from the state
    /// dict, or from both dicts of a `(state, slotstate)` pair (the slot state is applied last).
    /// A dict's items under those names are all in `st.keyed` (DICT and SETITEM(S) record them,
    /// past the item cap too); a mapping built by a call (`dict(pairs)`, `OrderedDict(pairs)`,
    /// `OrderedDict(a_dict)`) is read from its argument first, then from what was set into it.
    pub(super) fn state_plants(&self, st: &State, state: &V) -> [Option<V>; 4] {
        let mut out: [Option<V>; 4] = Default::default();
        let recorded = |out: &mut [Option<V>; 4], id: u32| {
            for (slot, name) in out.iter_mut().zip(STATE_KEYS) {
                if let Some(v) = st.keyed.get(&(id, name)) {
                    *slot = Some(v.clone());
                }
            }
        };
        let halves: &[V] = match state {
            V::Tuple(t) if t.len() == 2 => t,
            other => std::slice::from_ref(other),
        };
        for half in halves {
            let V::Node(id) = half else {
                continue;
            };
            if let Some(Node::Obj {
                args: V::Tuple(a), ..
            }) = st.nodes.get(*id as usize)
            {
                let pairs: &[V] = match a.first() {
                    Some(V::Tuple(t)) => t,
                    // Pairs past what the VM keeps: any of the names may be set.
                    Some(V::Node(n)) if st.truncated.contains(n) => &[V::Opaque],
                    Some(V::Node(n)) => match st.nodes.get(*n as usize) {
                        Some(Node::List(l)) => l,
                        _ => {
                            recorded(&mut out, *n);
                            &[]
                        }
                    },
                    _ => &[],
                };
                for pair in pairs {
                    match pair {
                        V::Tuple(kv) => {
                            if let [V::Str(k), v] = &kv[..] {
                                if let Some(slot) = k.state_key().and_then(|i| out.get_mut(i)) {
                                    *slot = Some(v.clone());
                                }
                            }
                        }
                        // What a cut tuple lost: any of the names may be set.
                        V::Opaque => {
                            if let Some(slot) = out.first_mut() {
                                *slot = Some(V::Opaque);
                            }
                        }
                        _ => {}
                    }
                }
            }
            recorded(&mut out, *id);
        }
        out
    }

    pub(super) fn state_keys(&self, st: &State, state: &V) -> String {
        let dict = match state {
            V::Node(id) => st.nodes.get(*id as usize),
            V::Tuple(t) => match t.first() {
                Some(V::Node(id)) => st.nodes.get(*id as usize),
                _ => None,
            },
            _ => None,
        };
        match dict {
            Some(Node::Dict(items)) => items
                .iter()
                .filter_map(|(k, _)| match k {
                    V::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .take(8)
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    }
}
