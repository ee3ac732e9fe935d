//! joblib arrays: the raw bytes joblib writes after a `NumpyArrayWrapper`, read as joblib reads
//! them, and the side files of the older wrappers.

use super::*;

/// joblib's pre-0.10 wrappers of arrays kept in files beside the pickle.
pub(super) fn is_external_wrapper(imp: &Import) -> bool {
    matches!(&*imp.resolved_name, "NDArrayWrapper" | "ZNDArrayWrapper")
        && (imp.resolved_module.ends_with("numpy_pickle")
            || imp.resolved_module.ends_with("numpy_pickle_compat"))
}

pub(super) enum DtypeSize {
    Object,
    Bytes(u64),
}

/// Size of one element of a `numpy.dtype(...)` node built by the pickle: the type string's
/// size, or for void/structured dtypes the `elsize` of its BUILD state (index 5).
pub(super) fn dtype_itemsize(nodes: &[Node], v: &V) -> Option<DtypeSize> {
    dtype_itemsize_depth(nodes, v, 0)
}

pub(super) fn dtype_itemsize_depth(nodes: &[Node], v: &V, depth: u32) -> Option<DtypeSize> {
    if depth > 32 {
        return None;
    }
    let V::Node(id) = v else { return None };
    let Node::Obj { args, state, .. } = nodes.get(*id as usize)? else {
        return None;
    };
    let items = tuple_items(args);
    let V::Str(typestr) = items.first()? else {
        return None;
    };
    let t = typestr.trim_start_matches(['<', '>', '=', '|']);
    let kind = t.chars().next()?;
    let digits: String = t
        .chars()
        .skip(1)
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().unwrap_or(0);
    let elsize = state.as_ref().and_then(|s| match s {
        V::Tuple(t) => match t.get(5) {
            Some(V::Int(i)) if *i > 0 => u64::try_from(*i).ok(),
            _ => None,
        },
        _ => None,
    });
    // NPY_ITEM_REFCOUNT in the state's flags (index 7), or a field whose dtype holds objects:
    // joblib then pickles the array as a nested stream.
    let flags_object = state.as_ref().is_some_and(|s| match s {
        V::Tuple(t) => matches!(t.get(7), Some(V::Int(f)) if f & 1 == 1),
        _ => false,
    });
    let field_object = state.as_ref().is_some_and(|s| match s {
        V::Tuple(t) => match t.get(4) {
            Some(V::Node(f)) => match nodes.get(*f as usize) {
                Some(Node::Dict(fields)) => fields.iter().any(|(_, v)| {
                    tuple_items(v).first().is_some_and(|d| {
                        matches!(
                            dtype_itemsize_depth(nodes, d, depth + 1),
                            Some(DtypeSize::Object)
                        )
                    })
                }),
                _ => false,
            },
            _ => false,
        },
        _ => false,
    });
    if flags_object || field_object {
        return Some(DtypeSize::Object);
    }
    match kind {
        'O' => Some(DtypeSize::Object),
        'U' => Some(DtypeSize::Bytes(elsize.unwrap_or(n.saturating_mul(4)))),
        'V' | 'S' | 'a' => Some(DtypeSize::Bytes(elsize.unwrap_or(n))),
        'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' | '?' => {
            Some(DtypeSize::Bytes(elsize.unwrap_or(if kind == '?' {
                1
            } else {
                n
            })))
        }
        _ => elsize.map(DtypeSize::Bytes),
    }
}

impl Vm<'_> {
    /// joblib's pre-0.10 `NDArrayWrapper` / `ZNDArrayWrapper` make `joblib.load` read the
    /// file their state names, beside the pickle, with `numpy.load(allow_pickle=True)`: that
    /// file is part of what loading this one runs.
    pub(super) fn note_external_file(&mut self, st: &State, callee: &V, state: &V, offset: u64) {
        let Some(imp) = self.import_of(callee) else {
            return;
        };
        if !is_external_wrapper(imp) {
            return;
        }
        let Some(Node::Dict(items)) = (match state {
            V::Node(id) => st.nodes.get(*id as usize),
            _ => None,
        }) else {
            return;
        };
        let name = items.iter().find_map(|(k, v)| match (k, v) {
            (V::Str(k), V::Str(v)) if k.as_ref() == "filename" => Some(v.to_string()),
            _ => None,
        });
        let _ = offset;
        if let Some(name) = name {
            self.push_external_file(offset, name);
        }
    }

    pub(super) fn push_external_file(&mut self, offset: u64, name: String) {
        if self.out.external_files.len() < 1024
            && !self.out.external_files.iter().any(|(_, n)| *n == name)
        {
            self.out.external_files.push((offset, name));
        }
    }

    /// joblib writes each numpy array's bytes into the stream right after the BUILD of its
    /// `NumpyArrayWrapper` (joblib/numpy_pickle.py `write_array`): an alignment pad (when the
    /// state has `numpy_array_alignment_bytes`), then the raw data, or for object arrays a whole
    /// pickle. Skip the data and scan the inner pickle, so the walk continues after it.
    pub(super) fn skip_joblib_array<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        state: &V,
        offset: u64,
    ) -> R<()> {
        let Some(Node::Dict(items)) = (match state {
            V::Node(id) => st.nodes.get(*id as usize),
            _ => None,
        }) else {
            return parse("joblib NumpyArrayWrapper without a state dict");
        };
        let get = |key: &str| {
            items.iter().find_map(|(k, v)| match k {
                V::Str(s) if s.as_ref() == key => Some(v.clone()),
                _ => None,
            })
        };
        // joblib reads the padding only when the key holds a value (`None` means none).
        let aligned = get("numpy_array_alignment_bytes").is_some_and(|v| !matches!(v, V::None));
        let shape = get("shape");
        let dtype = get("dtype");
        let count = match &shape {
            Some(V::Tuple(dims)) => {
                let mut c: u128 = 1;
                for d in dims.iter() {
                    match d {
                        V::Int(i) if *i >= 0 => c = c.saturating_mul(*i as u128),
                        _ => return parse("joblib array shape is not a tuple of sizes"),
                    }
                }
                c
            }
            _ => return parse("joblib array without a shape"),
        };
        let itemsize = match &dtype {
            Some(v) => dtype_itemsize(&st.nodes, v),
            None => None,
        };
        match itemsize {
            Some(DtypeSize::Object) => {
                // An inner pickle (protocol 2) with the objects; scanned with a fresh memo.
                if self.depth >= self.settings.limits.max_nesting_depth {
                    return Err(Stop::Limit(LimitHit {
                        limit: "max_nesting_depth",
                        detail: "joblib object arrays nested too deep".into(),
                    }));
                }
                self.depth += 1;
                let r = self.run_pickle(input);
                self.depth -= 1;
                r.map(|_| ())
            }
            Some(DtypeSize::Bytes(size)) => {
                if aligned {
                    let [pad] = input.array::<1>()?;
                    input.skip(u64::from(pad))?;
                }
                let total = count.saturating_mul(u128::from(size));
                let total = u64::try_from(total)
                    .map_err(|_| Stop::Parse("joblib array larger than any file".into()))?;
                input.skip(total).map_err(|e| {
                    Stop::Parse(format!(
                        "{e} (inside the joblib array written at byte {offset})"
                    ))
                })
            }
            None => parse("joblib array with a dtype that cannot be sized"),
        }
    }
}
