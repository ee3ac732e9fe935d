//! Pickle opcodes.

pub fn looks_like_pickle(head: &[u8]) -> bool {
    head.first() == Some(&0x80)
}
