//! The pickle memo: a map from memo ids to values, as `_Unpickler_MemoPut` keeps it. Picklers
//! number memo entries 0, 1, 2 ... (MEMOIZE, BINPUT, LONG_BINPUT in order), so ids are dense:
//! those are kept in a vector, with no hashing. Ids far from the others (attacker-chosen, up to
//! 2^64 with PUT) go to a hash map with the standard (DoS-resistant) hasher, so a hostile file
//! can neither make the vector huge nor the map slow. Every id lives in exactly one of the two.

use std::collections::HashMap;

/// How far past the end of the dense part an id may land and still extend it: picklers
/// write ids in order, so a gap this large is not a pickler's.
const DENSE_SLACK: u64 = 256;
/// Most slots of the dense part (empty slots included); larger ids are kept in the map.
const DENSE_MAX: u64 = 1 << 16;

#[derive(Debug)]
pub struct Memo<T> {
    dense: Vec<Option<T>>,
    sparse: HashMap<u64, T>,
    /// Number of ids set (`memo_len` in `_pickle.c`, which MEMOIZE uses as the next id).
    len: usize,
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo {
            dense: Vec::new(),
            sparse: HashMap::new(),
            len: 0,
        }
    }
}

impl<T> Memo<T> {
    /// An empty memo with room for ids `0..n` without regrowing.
    pub fn with_capacity(n: usize) -> Memo<T> {
        Memo {
            dense: Vec::with_capacity(n),
            ..Memo::default()
        }
    }

    /// Removes every id; the dense part keeps its room.
    pub fn clear(&mut self) {
        self.dense.clear();
        self.sparse = HashMap::new();
        self.len = 0;
    }

    /// Slots the dense part has room for.
    pub fn capacity(&self) -> usize {
        self.dense.capacity()
    }

    /// Number of ids set.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        let dense = usize::try_from(id)
            .ok()
            .and_then(|i| self.dense.get(i))
            .and_then(Option::as_ref);
        match dense {
            Some(v) => Some(v),
            None if self.sparse.is_empty() => None,
            None => self.sparse.get(&id),
        }
    }

    /// Set `id` to `v`, replacing what was there.
    pub fn insert(&mut self, id: u64, v: T) {
        let end = self.dense.len() as u64;
        if id == end && id < DENSE_MAX && self.sparse.is_empty() {
            // The pickler's case: the next id in order, nothing set out of order.
            self.dense.push(Some(v));
            self.len += 1;
            return;
        }
        let in_dense = id < end || (id < end.saturating_add(DENSE_SLACK) && id < DENSE_MAX);
        let slot = if in_dense {
            usize::try_from(id).ok().and_then(|i| {
                if i == self.dense.len() {
                    // The pickler's case: the next id in order.
                    self.dense.push(None);
                } else if i > self.dense.len() {
                    self.dense.resize_with(i.checked_add(1)?, || None);
                }
                self.dense.get_mut(i)
            })
        } else {
            None
        };
        match slot {
            Some(slot) => {
                if slot.replace(v).is_none() {
                    // An id set before the dense part reached it moves here; it was counted.
                    if self.sparse.is_empty() || self.sparse.remove(&id).is_none() {
                        self.len += 1;
                    }
                }
            }
            None => {
                if self.sparse.insert(id, v).is_none() {
                    self.len += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The memo against a plain map, over a sequence of inserts and lookups.
    fn check(ids: &[u64]) {
        let mut m = Memo::default();
        let mut want: HashMap<u64, usize> = HashMap::new();
        for (k, &id) in ids.iter().enumerate() {
            m.insert(id, k);
            want.insert(id, k);
            assert_eq!(m.len(), want.len(), "after inserting {id}");
            assert_eq!(m.is_empty(), want.is_empty());
            for &probe in ids
                .iter()
                .chain([0, 1, 255, 256, 65_535, 65_536, u64::MAX].iter())
            {
                assert_eq!(m.get(probe), want.get(&probe), "get {probe}");
            }
        }
    }

    #[test]
    fn dense_ids_in_order() {
        check(&(0..600).collect::<Vec<_>>());
    }

    #[test]
    fn overwrites_do_not_count_twice() {
        check(&[0, 1, 0, 1, 2, 2, 0]);
    }

    #[test]
    fn far_ids_go_to_the_map_and_move_when_the_vector_reaches_them() {
        // 300 is past the slack from an empty memo: the map holds it until the vector grows
        // over it (ids 0..=300 in order), then the vector does, counted once.
        let mut ids = vec![300, u64::MAX, 1 << 40, 70_000];
        ids.extend(0..=310);
        ids.extend([300, 65_535, 65_536, 65_534]);
        check(&ids);
    }

    #[test]
    fn the_vector_never_grows_past_its_cap() {
        let mut m = Memo::default();
        let mut id = 0u64;
        while id < 4 * DENSE_MAX {
            m.insert(id, ());
            id += DENSE_SLACK - 1;
        }
        assert!(m.dense.len() as u64 <= DENSE_MAX);
        assert_eq!(m.len(), (4 * DENSE_MAX).div_ceil(DENSE_SLACK - 1) as usize);
    }
}
