//! The store's string table, and a transaction's names and attributes read
//! from the store's own arrays.
//!
//! The JS store interns every name, attribute key and string value it holds
//! and keeps only their ids, in typed arrays (`lib/store/segment-store.js`,
//! "Strings"). [`Strings`] holds the same strings by id, each already
//! escaped as a JSON string literal, so that finishing a transaction to JSON
//! copies bytes instead of reading, checking and escaping text: each string
//! crosses from JS once, when the store first sends its id
//! ([`Strings::apply`]).
//!
//! [`read_arena_into`] checks a transaction's part of the store's arrays (the
//! layout is docs/binding-contract.md's, "finishJsonStrings") against the
//! table, once, before anything is freed; [`ArenaTexts`] then writes from
//! them as the [`Source`] of `core::json::write_trace_json`.
//!
//! # Invariants
//! 1. `entries[id]` is `push_str` of the text `id` was set to (a JSON
//!    string literal, quotes included), then zeros up to a multiple of
//!    [`CHUNK`] bytes, so that it is copied in whole chunks; `None` where no
//!    string is set.
//! 2. `lens` has `entries`' length; `lens[id] & LEN` is the literal's length
//!    (at least 2, the quotes), 0 where `entries[id]` is `None`, and its
//!    `NOT_ASCII` bit is set iff a byte of the literal is not ASCII: a dense
//!    list that checking a transaction reads without touching the strings.
//! 3. `entries` never ends in `None` (removing the last id trims it), so its
//!    length is one past the largest id present. An id costs 20 bytes here
//!    whether set or not, so at most `20 * MAX_STRINGS` (320 MiB) for a
//!    table whose largest id is the last one allowed.
//! 4. `bytes` is the sum of the lengths of the `Some` entries' padded
//!    literals, so [`Strings::heap_bytes`] is known without a walk (the
//!    binding reports it to V8 as external memory).

use super::json::{push_str, Source, Writer, CHUNK, PER_ATTRIBUTE};
use super::layout::MAX_STRINGS;

/// The bit of a `lens` word that says its literal is not all ASCII.
const NOT_ASCII: u32 = 1 << 31;
/// The bits of a `lens` word that hold the literal's length.
const LEN: u32 = NOT_ASCII - 1;

/// Strings by id, escaped as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strings {
    /// By id, the padded literal (invariants 1 and 3).
    entries: Vec<Option<Box<[u8]>>>,
    /// By id, the literal's length and whether it is ASCII (invariant 2).
    lens: Vec<u32>,
    /// How many entries are `Some`.
    present: usize,
    /// The padded literals' bytes (invariant 4).
    bytes: usize,
}

/// Why [`Strings::apply`] refused its edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError(pub String);

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad string edits: {}", self.0)
    }
}

impl std::error::Error for EditError {}

/// A checked edit: set `id` to `text[at..at + len]`, or remove it (`len`
/// `None`).
struct Edit {
    id: usize,
    piece: Option<(usize, usize)>,
}

/// True when `v` is a whole number in `0..bound` (`bound` at most 2^53).
fn whole_below(v: f64, bound: f64) -> bool {
    // (A signed conversion, the one instruction: v is below 2^53.)
    v >= 0.0 && v < bound && (v as i64) as f64 == v
}

impl Strings {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The string of `id` as a JSON literal, quotes included, and whether
    /// it is all ASCII; `None` when no string is set.
    #[inline]
    pub fn get(&self, id: usize) -> Option<(&[u8], bool)> {
        let (padded, len, ascii) = self.padded(id)?;
        Some((&padded[..len], ascii))
    }

    /// [`Self::get`], with the literal's padding: the padded bytes, the
    /// literal's length, whether it is ASCII.
    #[inline]
    fn padded(&self, id: usize) -> Option<(&[u8], usize, bool)> {
        let word = *self.lens.get(id)?;
        let padded = self.entries.get(id)?.as_deref()?;
        let len = ((word & LEN) as usize).min(padded.len());
        Some((padded, len, word & NOT_ASCII == 0))
    }

    /// The length of `id`'s JSON literal, if one is set.
    #[inline]
    pub fn json_len(&self, id: usize) -> Option<usize> {
        match self.lens.get(id) {
            Some(&n) if n & LEN > 0 => Some((n & LEN) as usize),
            _ => None,
        }
    }

    /// How many strings are set.
    pub fn len(&self) -> usize {
        self.present
    }

    /// True when no string is set.
    pub fn is_empty(&self) -> bool {
        self.present == 0
    }

    /// The bytes the table holds on the heap: its literals and its two
    /// lists' allocations (the boxes' allocator overhead aside).
    pub fn heap_bytes(&self) -> usize {
        self.bytes
            + self.entries.capacity() * std::mem::size_of::<Option<Box<[u8]>>>()
            + self.lens.capacity() * std::mem::size_of::<u32>()
    }

    /// Applies `edits`, pairs `(id, length)`: a length `>= 0` sets `id` to
    /// the next `length` units of `text` (pieces follow one another from its
    /// start), `-1` removes `id`. Checks every pair before applying any, so
    /// an error leaves the table as it was. Text past the last piece is
    /// ignored.
    pub fn apply(&mut self, edits: &[f64], text: &[u16]) -> Result<(), EditError> {
        if !edits.len().is_multiple_of(2) {
            return Err(EditError(format!("{} numbers, not pairs", edits.len())));
        }
        let mut checked = Vec::with_capacity(edits.len() / 2);
        let mut pos = 0usize;
        for pair in edits.chunks_exact(2) {
            let (id, len) = (pair[0], pair[1]);
            if !whole_below(id, MAX_STRINGS as f64) {
                return Err(EditError(format!("id {id}")));
            }
            let piece = if len == -1.0 {
                None
            } else if whole_below(len, 9_007_199_254_740_992.0) {
                let left = (text.len() - pos) as f64;
                if len > left {
                    return Err(EditError("text ends early".to_string()));
                }
                let at = pos;
                pos += len as usize;
                Some((at, len as usize))
            } else {
                return Err(EditError(format!("length {len}")));
            };
            checked.push(Edit {
                id: id as usize,
                piece,
            });
        }
        for edit in checked {
            match edit.piece {
                Some((at, len)) => self.set(edit.id, &text[at..at + len]),
                None => self.remove(edit.id),
            }
        }
        Ok(())
    }

    /// Sets `id` (below [`MAX_STRINGS`]) to `text`.
    pub fn set(&mut self, id: usize, text: &[u16]) {
        let mut json = Vec::with_capacity(text.len() + 2 + CHUNK);
        let ascii = push_str(&mut json, text);
        let len = json.len();
        json.resize(len.div_ceil(CHUNK) * CHUNK, 0);
        if id >= self.entries.len() {
            self.entries.resize(id + 1, None);
            self.lens.resize(id + 1, 0);
        }
        // The store cuts every string to at most 2^20 bytes; a longer one
        // (from another caller) saturates, and `padded` clamps to the bytes
        // there are.
        let word = u32::try_from(len).map_or(LEN, |n| n.min(LEN));
        self.lens[id] = if ascii { word } else { word | NOT_ASCII };
        let slot = &mut self.entries[id];
        match slot {
            Some(old) => self.bytes -= old.len(),
            None => self.present += 1,
        }
        self.bytes += json.len();
        *slot = Some(json.into_boxed_slice());
    }

    /// Removes `id`, if set; gives back the space of a table that emptied
    /// to under a quarter of its length.
    pub fn remove(&mut self, id: usize) {
        let Some(slot) = self.entries.get_mut(id) else {
            return;
        };
        if let Some(old) = slot.take() {
            self.present -= 1;
            self.bytes -= old.len();
        }
        if let Some(n) = self.lens.get_mut(id) {
            *n = 0;
        }
        // Invariants 3 and 4.
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
            self.lens.pop();
        }
        if self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
            self.lens.shrink_to(self.entries.len() * 2);
        }
    }
}

/// Why a transaction's part of the store's arrays could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArenaError(pub String);

impl std::fmt::Display for ArenaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad store arrays: {}", self.0)
    }
}

impl std::error::Error for ArenaError {}

/// The store's arrays that hold names and attributes, as the binding was
/// given them (docs/binding-contract.md, "finishJsonStrings").
#[derive(Debug, Clone, Copy)]
pub struct Arena<'a> {
    /// `2 * capacity`: per slot its name's id, then per slot its first entry.
    pub side: &'a [i32],
    /// `2 * values.len()`: per entry its key word, then per entry the next.
    pub arena: &'a [i32],
    /// Per entry its number, boolean or string id.
    pub values: &'a [f64],
    pub strings: &'a Strings,
}

/// Where one segment's texts are, once checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArenaSeg {
    /// Its name's id.
    name: usize,
    /// Its first attribute entry, 0 for none.
    head: usize,
    /// Its last attribute entry, 0 for none.
    last: usize,
    /// Bytes its name, keys and string values take as JSON.
    bytes: usize,
    attributes: usize,
}

/// Most entries one attribute list may have.
const MAX_LIST: usize = 65_536;

/// Kinds of attribute values: the low two bits of an entry's key word.
const KIND_STRING: i32 = 0;
const KIND_NUMBER: i32 = 1;
const KIND_BOOLEAN: i32 = 2;

impl Arena<'_> {
    /// The JSON length of the string `id` names, or an error saying who
    /// named it.
    #[inline]
    fn string(&self, id: f64, who: std::fmt::Arguments<'_>) -> Result<usize, ArenaError> {
        let found = if whole_below(id, MAX_STRINGS as f64) {
            self.strings.json_len(id as usize)
        } else {
            None
        };
        found.ok_or_else(|| ArenaError(format!("{who} names string {id}, not in the table")))
    }

    /// [`Self::string`] for an id held as an integer (a name or a key),
    /// with no float conversion: the table holds ids below
    /// [`MAX_STRINGS`] only, so its own bound check is the whole check.
    #[inline]
    fn string_i32(&self, id: i32, who: std::fmt::Arguments<'_>) -> Result<usize, ArenaError> {
        let found = usize::try_from(id)
            .ok()
            .and_then(|i| self.strings.json_len(i));
        found.ok_or_else(|| ArenaError(format!("{who} names string {id}, not in the table")))
    }
}

/// Checks the names and attributes of the segments in `slots` (creation
/// order) in `arena` (whose table has capacity `capacity`), and records where
/// each segment's are in `segs`, reusing its space.
pub fn read_arena_into(
    arena: &Arena<'_>,
    capacity: usize,
    slots: &[usize],
    segs: &mut Vec<ArenaSeg>,
) -> Result<(), ArenaError> {
    let a = arena.values.len();
    if arena.side.len() != 2 * capacity {
        return Err(ArenaError(format!(
            "side arrays hold {} numbers, need {}",
            arena.side.len(),
            2 * capacity
        )));
    }
    if arena.arena.len() != 2 * a {
        return Err(ArenaError(format!(
            "arena holds {} numbers, needs {}",
            arena.arena.len(),
            2 * a
        )));
    }
    let (keys, next) = arena.arena.split_at(a);
    segs.clear();
    segs.reserve(slots.len());
    for &s in slots {
        // `slots` come from the table's walk: below its capacity.
        let name = arena.side.get(s).copied().unwrap_or(-1);
        let mut bytes = arena.string_i32(name, format_args!("slot {s}"))?;
        let head = arena.side.get(capacity + s).copied().unwrap_or(0);
        let mut e = head;
        let mut last = 0;
        let mut n = 0;
        while e != 0 {
            if e < 1 || e as usize >= a {
                return Err(ArenaError(format!("slot {s} lists entry {e}")));
            }
            if n == MAX_LIST {
                return Err(ArenaError(format!(
                    "the attribute list of slot {s} does not end"
                )));
            }
            let at = e as usize;
            let word = keys[at];
            let kind = word & 3;
            if kind > KIND_BOOLEAN {
                return Err(ArenaError(format!("entry {e} has kind {kind}")));
            }
            bytes += arena.string_i32(word >> 2, format_args!("entry {e}"))?;
            if kind == KIND_STRING {
                bytes += arena.string(arena.values[at], format_args!("entry {e}"))?;
            }
            n += 1;
            last = at;
            e = next[at];
        }
        segs.push(ArenaSeg {
            name: name as usize,
            head: head as usize,
            last,
            bytes,
            attributes: n,
        });
    }
    Ok(())
}

/// Frees the names and attributes of the segments in `slots`, which
/// [`read_arena_into`] checked and recorded in `segs` (the same slots, the
/// arrays unchanged since), in the store's arrays: each slot's name id
/// becomes -1 and its first entry 0, and its entries go, in list order, to
/// the front of the free list. Entry 0 is never an attribute: `arena[A]`
/// (its next) is the free list's first entry, 0 for none, and `arena[0]`
/// (its key word) the count of entries in use, which this lowers by the
/// entries freed (docs/binding-contract.md, "finishJsonStrings").
///
/// Nothing here can fail or index out of range once `read_arena_into`
/// has passed: every slot is below the capacity and every entry in
/// `1..A`. Returns how many entries it freed.
pub fn free_read(
    side: &mut [i32],
    arena: &mut [i32],
    capacity: usize,
    slots: &[usize],
    segs: &[ArenaSeg],
) -> usize {
    let a = arena.len() / 2;
    let (keys, next) = arena.split_at_mut(a);
    let mut freed = 0;
    for (&s, seg) in slots.iter().zip(segs) {
        if let Some(name) = side.get_mut(s) {
            *name = -1;
        }
        if let Some(head) = side.get_mut(capacity + s) {
            *head = 0;
        }
        if seg.attributes == 0 {
            continue;
        }
        let first = next.first().copied().unwrap_or(0);
        let Some(last) = next.get_mut(seg.last) else {
            continue;
        };
        *last = first;
        if let Some(front) = next.first_mut() {
            // In range: `head` came off a list, so it is in `1..A`.
            *front = seg.head as i32;
        }
        freed += seg.attributes;
    }
    if let Some(live) = keys.first_mut() {
        *live = live.saturating_sub(i32::try_from(freed).unwrap_or(i32::MAX));
    }
    freed
}

/// A transaction's names and attributes in the store's arrays, checked by
/// [`read_arena_into`] (`segs`, in creation order).
pub struct ArenaTexts<'a> {
    pub arena: Arena<'a>,
    pub segs: &'a [ArenaSeg],
}

impl ArenaTexts<'_> {
    /// Writes the string `id` (checked by [`read_arena_into`], so
    /// present); false when it is not all ASCII.
    #[inline]
    fn write(&self, w: &mut Writer<'_>, id: usize) -> bool {
        match self.arena.strings.padded(id) {
            Some((padded, len, ascii)) => {
                w.chunks(padded, len);
                ascii
            }
            None => {
                w.lit(b"\"\"");
                true
            }
        }
    }
}

impl Source for ArenaTexts<'_> {
    #[inline]
    fn room(&self, i: usize) -> usize {
        self.segs
            .get(i)
            .map_or(0, |s| s.bytes + PER_ATTRIBUTE * s.attributes)
    }

    #[inline]
    fn write_name(&self, w: &mut Writer<'_>, i: usize) -> bool {
        self.write(w, self.segs.get(i).map_or(usize::MAX, |s| s.name))
    }

    fn write_attributes(&self, w: &mut Writer<'_>, i: usize) -> bool {
        let Some(seg) = self.segs.get(i) else {
            return true;
        };
        let a = self.arena.values.len();
        let (keys, next) = self.arena.arena.split_at(a);
        let mut ascii = true;
        let mut e = seg.head;
        for k in 0..seg.attributes {
            if k > 0 {
                w.byte(b',');
            }
            // Checked by read_arena_into: `e` is in range.
            let word = keys.get(e).copied().unwrap_or(0);
            ascii &= self.write(w, (word >> 2) as usize);
            w.byte(b':');
            let v = self.arena.values.get(e).copied().unwrap_or(0.0);
            match word & 3 {
                KIND_STRING => ascii &= self.write(w, v as usize),
                KIND_NUMBER => w.num(v),
                _ if v != 0.0 => w.lit(b"true"),
                _ => w.lit(b"false"),
            }
            e = next.get(e).copied().unwrap_or(0) as usize;
        }
        ascii
    }
}
