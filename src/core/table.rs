//! The handle table: a direct-mapped table of segment records keyed by handle,
//! laid over the shared buffer described in `layout.rs`.
//!
//! # Handles
//! A handle is an integer in `0..=MAX_HANDLE` (30 bits). The slot of handle
//! `h` is `h & (C - 1)`, where `C` is the capacity (a power of two). New
//! handles come from a sweep counter `next` that starts at a random point and
//! only moves forward (mod 2^30): to allocate, the counter skips every value
//! whose slot is occupied, takes the first whose slot is free, and moves past
//! it.
//!
//! # Invariants
//! 1. A slot `s` is free iff `HANDLE[s] == FREE`; otherwise `HANDLE[s] & (C-1) == s`.
//! 2. An occupied slot is either reserved (`ROOT[s] == RESERVED`, handed out
//!    through the reserve stack but not used yet) or live (`ROOT[s] >= 0`).
//! 3. A live slot's `ROOT` is the handle of a live root (`PARENT == NONE`,
//!    `ROOT == HANDLE`). Following `NEXT` from a root visits every live slot
//!    of its transaction once, in creation order, and ends at `TAIL`; the
//!    number visited is the root's `COUNT`.
//! 4. A non-root's `PARENT` is a live handle of the same transaction that was
//!    created before it.
//! 5. Occupied slots never exceed seven eighths of the capacity
//!    (`8 * OCCUPIED <= 7 * C`; the bound is `MAX_LOAD_EIGHTHS` and
//!    `max_occupied` in `layout.rs`), so an allocation finds a free slot
//!    within `C` steps of the counter.
//! 6. The header counters (`LIVE_*`, `OCCUPIED`, `RESERVED`) agree with the
//!    columns. [`Table::check`] verifies 1-6.
//!
//! # How far uniqueness goes
//! Every allocation takes a counter value not taken before, so no handle is
//! issued twice until the counter has gone once around the 2^30 values. Of
//! any `C` consecutive values, the ones the counter skips have distinct
//! slots, each held since before the counter reached the first of the `C`,
//! so by invariant 5 at most seven in eight are skipped: at least one slot
//! in eight is free, so at least one value in eight is an allocation, and
//! the counter goes around only after at least 2^27 allocations at the load
//! bound of seven eighths. Counted per slot, a slot receives only values
//! congruent to it modulo `C`, so it can be reused `2^30 / C` times before
//! any of its handles repeats: 2^20 reuses at the minimum capacity of 1024
//! slots, 2^16 at 16384 slots. A stale handle can only ever be mistaken for
//! a live one after that wrap, and only if the exact value is live again at
//! that moment.
//!
//! Growing doubles `C` and moves every record to `h & (2C-1)`: two live
//! handles never share that slot, because they would already have shared
//! `h & (C-1)`.
//!
//! # Shrinking
//! [`Table::shrink_into`] halves `C` (or more) once a burst has passed. Two
//! occupied slots can share `h & (C'-1)` in the smaller table, so it first
//! checks every occupied slot (live and reserved) and moves nothing unless
//! they all fit, each in its own slot, with invariant 5 holding at the
//! smaller size (`8 * OCCUPIED <= 7 * C'`); otherwise it reports that they do
//! not fit and the caller tries again later. Every record keeps its handle,
//! and the counter, the reserve stack and the header counters come along
//! unchanged, so invariants 1-6 hold in the smaller table. Uniqueness is
//! unaffected: it rests on the counter, which never moves back (a shrink
//! does not touch it), not on `C`. The per-slot count above changes with
//! `C`: after a shrink a slot receives the values congruent to it modulo the
//! smaller `C`, so it can be reused fewer times (`2^30 / C'`) before one of
//! its handles repeats, still never before the counter wraps. A stale
//! handle stays inactive after a shrink, because no live handle equals it.

use std::collections::HashMap;

use super::layout::*;
use super::trace::SegIn;

/// List indices of the handles walked so far, to find a segment's parent.
/// Small transactions check the likeliest places and then search the list
/// from its end (no hashing is cheaper); large ones use a map, so a wide
/// transaction is not quadratic. Kept between walks (see [`WalkScratch`]) so
/// that a walk allocates nothing once warm.
#[derive(Debug, Default)]
struct ParentIndex {
    handles: Vec<f64>,
    map: HashMap<u32, usize>,
    hashed: bool,
}

impl ParentIndex {
    const LINEAR_UP_TO: usize = 64;

    /// Empties the index for a walk of `n` segments.
    fn reset(&mut self, n: usize) {
        self.handles.clear();
        self.map.clear();
        self.hashed = n > Self::LINEAR_UP_TO;
        if self.hashed {
            self.map.reserve(n);
        }
    }

    fn push(&mut self, h: f64) {
        if self.hashed {
            self.map.insert(h as u32, self.handles.len());
        }
        self.handles.push(h);
    }

    /// The list index of `h`. `hint` is a likely index (the previous
    /// segment's parent): it and the root are checked first, since a
    /// segment's parent is usually its predecessor's (a sibling), the root
    /// (a flat transaction) or its predecessor (a nested call), and a search
    /// from the end would scan the whole list for the first two.
    fn find(&self, h: f64, hint: Option<usize>) -> Option<usize> {
        if !is_handle_value(h) {
            return None;
        }
        let hs = &self.handles;
        if let Some(i) = hint.filter(|&i| hs.get(i) == Some(&h)) {
            return Some(i);
        }
        if hs.first() == Some(&h) {
            return Some(0);
        }
        if self.hashed {
            self.map.get(&(h as u32)).copied()
        } else {
            hs.iter().rposition(|&p| p == h)
        }
    }
}

/// Space a walk reuses from one call to the next.
#[derive(Debug, Default)]
pub struct WalkScratch {
    parents: Vec<Option<usize>>,
    index: ParentIndex,
}

/// Why a call on the table failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// The buffer is not a store buffer of this layout (wrong length, magic
    /// or capacity).
    BadBuffer(String),
    /// The table is at its load bound (seven eighths of its slots
    /// occupied, invariant 5): grow it first.
    Full,
    /// The records contradict the invariants (only a caller that wrote the
    /// buffer by hand can get here).
    Corrupt(String),
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::BadBuffer(why) => write!(f, "not a segment store buffer: {why}"),
            TableError::Full => write!(f, "the segment store is full: grow it first"),
            TableError::Corrupt(why) => write!(f, "segment store is inconsistent: {why}"),
        }
    }
}

impl std::error::Error for TableError {}

/// Counts read off the columns, not off the header counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scan {
    pub live_transactions: u64,
    pub live_segments: u64,
    pub reserved: u64,
    pub capacity: u64,
}

/// A record found by [`Table::leaks`]; `handle == root` for a transaction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leak {
    pub handle: u32,
    pub root: u32,
    pub start: f64,
}

/// A transaction taken out of the table by [`Table::take_transaction`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Taken {
    /// Segments in creation order; the root first.
    pub segments: Vec<SegIn>,
    /// Slots the segments occupied, same order (for the JS side's own arrays).
    pub slots: Vec<usize>,
    pub dropped: u64,
}

/// True if `h` is a number a handle can have.
#[inline]
pub fn is_handle_value(h: f64) -> bool {
    // The round trip through u32 is exact for whole numbers in range (and
    // cheaper than `fract`, a call into libm on baseline x86-64).
    h >= 0.0 && h <= MAX_HANDLE as f64 && (h as i32) as f64 == h
}

/// Checks that `m` is a store buffer and returns its capacity.
pub fn capacity_of(m: &[f64]) -> Result<usize, TableError> {
    if m.len() < HEADER_LEN {
        return Err(TableError::BadBuffer(format!(
            "length {} is shorter than the header",
            m.len()
        )));
    }
    if m[H_MAGIC] != MAGIC {
        return Err(TableError::BadBuffer("wrong magic number".into()));
    }
    let c = m[H_CAPACITY];
    if !(c >= MIN_CAPACITY as f64 && c <= MAX_CAPACITY as f64) || c.fract() != 0.0 {
        return Err(TableError::BadBuffer(format!("capacity {c} out of range")));
    }
    let c = c as usize;
    if !c.is_power_of_two() || m.len() != buffer_len(c) {
        return Err(TableError::BadBuffer(format!(
            "capacity {c} does not match length {}",
            m.len()
        )));
    }
    Ok(c)
}

/// Lays out an empty table of `capacity` slots in `m`, with the sweep counter
/// at `next`.
pub fn init(m: &mut [f64], capacity: usize, next: u32) -> Result<(), TableError> {
    if !capacity.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
        return Err(TableError::BadBuffer(format!(
            "capacity {capacity} is not a power of two in range"
        )));
    }
    if m.len() != buffer_len(capacity) {
        return Err(TableError::BadBuffer(format!(
            "length {} does not fit capacity {capacity}",
            m.len()
        )));
    }
    m.fill(0.0);
    m[H_MAGIC] = MAGIC;
    m[H_CAPACITY] = capacity as f64;
    m[H_NEXT] = (next & MAX_HANDLE) as f64;
    for s in 0..capacity {
        m[at(capacity, C_HANDLE, s)] = FREE;
        m[at(capacity, C_ROOT, s)] = NONE;
        m[at(capacity, C_PARENT, s)] = NONE;
        m[at(capacity, C_NEXT, s)] = NONE;
        m[at(capacity, C_END, s)] = f64::NAN;
        m[at(capacity, C_TAIL, s)] = NONE;
    }
    Ok(())
}

/// A validated view of a store buffer.
pub struct Table<'a> {
    m: &'a mut [f64],
    cap: usize,
    mask: u32,
}

impl<'a> Table<'a> {
    /// Wraps `m` after checking that it is a store buffer.
    pub fn new(m: &'a mut [f64]) -> Result<Self, TableError> {
        let cap = capacity_of(m)?;
        Ok(Table {
            m,
            cap,
            mask: (cap - 1) as u32,
        })
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    #[inline]
    fn get(&self, column: usize, slot: usize) -> f64 {
        self.m[at(self.cap, column, slot)]
    }

    #[inline]
    fn set(&mut self, column: usize, slot: usize, v: f64) {
        self.m[at(self.cap, column, slot)] = v;
    }

    #[inline]
    fn slot(&self, h: u32) -> usize {
        (h & self.mask) as usize
    }

    fn header(&self, field: usize) -> f64 {
        self.m[field]
    }

    fn add(&mut self, field: usize, by: f64) {
        self.m[field] += by;
    }

    /// True while `h` is the handle of a segment whose transaction has not
    /// ended. Any value is accepted.
    pub fn is_active(&self, h: f64) -> bool {
        if !is_handle_value(h) {
            return false;
        }
        let s = self.slot(h as u32);
        self.get(C_HANDLE, s) == h && self.get(C_ROOT, s) >= 0.0
    }

    /// Takes one new handle from the sweep counter and marks its slot
    /// reserved. `None` when the load bound would be passed.
    fn alloc(&mut self) -> Option<u32> {
        // Saturating (NaN is 0), and no arithmetic on a corrupted count.
        let occupied = self.header(H_OCCUPIED) as usize;
        if occupied >= max_occupied(self.cap) {
            return None;
        }
        let mut h = (self.header(H_NEXT) as u32) & MAX_HANDLE;
        // Invariant 5 guarantees a free slot among any C consecutive values.
        for _ in 0..self.cap {
            if self.get(C_HANDLE, self.slot(h)) == FREE {
                break;
            }
            h = (h + 1) & MAX_HANDLE;
        }
        let s = self.slot(h);
        if self.get(C_HANDLE, s) != FREE {
            return None;
        }
        self.m[H_NEXT] = ((h + 1) & MAX_HANDLE) as f64;
        self.set(C_HANDLE, s, h as f64);
        self.set(C_ROOT, s, RESERVED);
        self.add(H_OCCUPIED, 1.0);
        Some(h)
    }

    /// Fills the reserve stack up to `want` handles (at most `RESERVE_MAX`).
    /// Returns how many it holds afterwards; fewer than asked means the
    /// table needs to grow.
    pub fn reserve(&mut self, want: usize) -> usize {
        let want = want.min(RESERVE_MAX);
        let mut n = self.header(H_RESERVED) as usize;
        while n < want {
            match self.alloc() {
                Some(h) => {
                    self.m[H_RESERVE + n] = h as f64;
                    n += 1;
                }
                None => break,
            }
        }
        self.m[H_RESERVED] = n as f64;
        n
    }

    /// Pops a reserved handle, reserving more if the stack is empty.
    fn pop_reserved(&mut self) -> Result<u32, TableError> {
        if self.header(H_RESERVED) < 1.0 && self.reserve(RESERVE_MAX) == 0 {
            return Err(TableError::Full);
        }
        let n = self.header(H_RESERVED) as usize - 1;
        self.m[H_RESERVED] = n as f64;
        Ok(self.m[H_RESERVE + n] as u32)
    }

    /// Copies every record into `new`, a buffer of larger capacity that this
    /// function lays out. The counters and the reserve stack come along.
    pub fn grow_into(&self, new: &mut [f64], new_capacity: usize) -> Result<(), TableError> {
        if new_capacity < self.cap {
            return Err(TableError::BadBuffer("cannot shrink a store".into()));
        }
        self.move_into(new, new_capacity)
    }

    /// Lays out `new` at `new_capacity` and moves every occupied slot there,
    /// to its handle's slot, with the header (capacity aside). For
    /// `grow_into` and `shrink_into`, which check first that they fit.
    fn move_into(&self, new: &mut [f64], new_capacity: usize) -> Result<(), TableError> {
        init(new, new_capacity, self.header(H_NEXT) as u32)?;
        new[..HEADER_LEN].copy_from_slice(&self.m[..HEADER_LEN]);
        new[H_CAPACITY] = new_capacity as f64;
        let new_mask = new_capacity - 1;
        for s in 0..self.cap {
            let h = self.get(C_HANDLE, s);
            if h == FREE {
                continue;
            }
            let t = (h as usize) & new_mask;
            for c in 0..COLUMNS {
                new[at(new_capacity, c, t)] = self.get(c, s);
            }
        }
        Ok(())
    }

    /// Moves every record into `new`, a buffer of smaller capacity
    /// `new_capacity` that this function lays out, if they fit (see the
    /// module's "Shrinking"): returns `Ok(false)`, with `new` untouched, when
    /// two occupied slots would share a slot there or more than seven
    /// eighths of it would be occupied (invariant 5).
    pub fn shrink_into(&self, new: &mut [f64], new_capacity: usize) -> Result<bool, TableError> {
        if new_capacity > self.cap {
            return Err(TableError::BadBuffer(
                "cannot shrink to a larger store".into(),
            ));
        }
        if !new_capacity.is_power_of_two() || !(MIN_CAPACITY..=MAX_CAPACITY).contains(&new_capacity)
        {
            return Err(TableError::BadBuffer(format!(
                "capacity {new_capacity} is not a power of two in range"
            )));
        }
        if new.len() != buffer_len(new_capacity) {
            return Err(TableError::BadBuffer(format!(
                "length {} does not fit capacity {new_capacity}",
                new.len()
            )));
        }
        let new_mask = new_capacity - 1;
        let mut occupied = 0usize;
        // One bit per slot of the smaller table: taken yet?
        let mut taken = vec![0u64; new_capacity.div_ceil(64)];
        for s in 0..self.cap {
            let h = self.get(C_HANDLE, s);
            if h == FREE {
                continue;
            }
            if !is_handle_value(h) {
                return Err(TableError::Corrupt(format!("slot {s} holds handle {h}")));
            }
            let t = (h as usize) & new_mask;
            let (word, bit) = (t / 64, 1u64 << (t % 64));
            occupied += 1;
            if taken[word] & bit != 0 || occupied > max_occupied(new_capacity) {
                return Ok(false);
            }
            taken[word] |= bit;
        }
        self.move_into(new, new_capacity)?;
        Ok(true)
    }

    /// Starts a transaction (reference implementation of the JS hot path).
    pub fn start_transaction(&mut self, start: f64) -> Result<u32, TableError> {
        let h = self.pop_reserved()?;
        let s = self.slot(h);
        let hf = h as f64;
        self.set(C_ROOT, s, hf);
        self.set(C_PARENT, s, NONE);
        self.set(C_NEXT, s, NONE);
        self.set(C_START, s, start);
        self.set(C_END, s, f64::NAN);
        self.set(C_COUNT, s, 1.0);
        self.set(C_DROPPED, s, 0.0);
        self.set(C_TAIL, s, hf);
        self.add(H_LIVE_TXN, 1.0);
        self.add(H_TOTAL_TXN, 1.0);
        self.add(H_LIVE_SEG, 1.0);
        self.add(H_TOTAL_SEG, 1.0);
        Ok(h)
    }

    /// Starts a segment under `parent` (reference implementation of the JS
    /// hot path). `Ok(None)` when the parent is not active or the
    /// transaction holds `max_segments` already (the drop is counted).
    pub fn start_segment(
        &mut self,
        parent: f64,
        start: f64,
        max_segments: u64,
    ) -> Result<Option<u32>, TableError> {
        if !self.is_active(parent) {
            return Ok(None);
        }
        let root = self.get(C_ROOT, self.slot(parent as u32));
        let rs = self.slot(root as u32);
        if self.get(C_COUNT, rs) >= max_segments as f64 {
            self.set(C_DROPPED, rs, self.get(C_DROPPED, rs) + 1.0);
            self.add(H_DROPPED, 1.0);
            return Ok(None);
        }
        let h = self.pop_reserved()?;
        let s = self.slot(h);
        self.set(C_ROOT, s, root);
        self.set(C_PARENT, s, parent);
        self.set(C_NEXT, s, NONE);
        self.set(C_START, s, start);
        self.set(C_END, s, f64::NAN);
        let tail = self.get(C_TAIL, rs);
        let ts = self.slot(tail as u32);
        self.set(C_NEXT, ts, h as f64);
        self.set(C_TAIL, rs, h as f64);
        self.set(C_COUNT, rs, self.get(C_COUNT, rs) + 1.0);
        self.add(H_LIVE_SEG, 1.0);
        self.add(H_TOTAL_SEG, 1.0);
        Ok(Some(h))
    }

    /// Ends a segment; the first end counts, and an end before the start is
    /// taken as the start.
    pub fn end_segment(&mut self, h: f64, end: f64) {
        if !self.is_active(h) {
            return;
        }
        let s = self.slot(h as u32);
        if self.get(C_END, s).is_nan() {
            let start = self.get(C_START, s);
            self.set(C_END, s, if end < start { start } else { end });
        }
    }

    /// How many segments the transaction of active handle `h` holds.
    pub fn transaction_len(&self, h: f64) -> Result<usize, TableError> {
        if !self.is_active(h) {
            return Err(TableError::Corrupt(format!("{h} is not active")));
        }
        let root = self.get(C_ROOT, self.slot(h as u32));
        let count = self.get(C_COUNT, self.slot(root as u32));
        if !(count >= 1.0 && count <= self.cap as f64) {
            return Err(TableError::Corrupt(format!(
                "transaction {root} counts {count}"
            )));
        }
        Ok(count as usize)
    }

    /// Follows the list of live root `root`: the slots of its segments in
    /// creation order, and for each the list index of its parent. Checks
    /// invariants 3 and 4 on the way; a broken one is `Corrupt`, and nothing
    /// is allocated before the count is known to be sane.
    fn walk(&self, root: f64) -> Result<(Vec<usize>, Vec<Option<usize>>), TableError> {
        let mut slots = Vec::new();
        let mut scratch = WalkScratch::default();
        self.walk_into(root, &mut slots, &mut scratch)?;
        Ok((slots, scratch.parents))
    }

    /// [`Self::walk`] into `slots` and `scratch.parents`, reusing their space.
    fn walk_into(
        &self,
        root: f64,
        slots: &mut Vec<usize>,
        scratch: &mut WalkScratch,
    ) -> Result<(), TableError> {
        let rs = self.slot(root as u32);
        let count = self.get(C_COUNT, rs);
        if !(count >= 1.0 && count <= self.cap as f64) || count.fract() != 0.0 {
            return Err(TableError::Corrupt(format!(
                "transaction {root} counts {count}"
            )));
        }
        let n = count as usize;
        slots.clear();
        slots.reserve(n);
        let parents = &mut scratch.parents;
        parents.clear();
        parents.reserve(n);
        let index = &mut scratch.index;
        index.reset(n);
        let mut cur = root;
        while cur != NONE {
            if slots.len() >= n || !is_handle_value(cur) {
                return Err(TableError::Corrupt(format!(
                    "transaction {root} lists more than its {n} segments"
                )));
            }
            let s = self.slot(cur as u32);
            if self.get(C_HANDLE, s) != cur || self.get(C_ROOT, s) != root {
                return Err(TableError::Corrupt(format!(
                    "segment {cur} is not in transaction {root}"
                )));
            }
            let parent = self.get(C_PARENT, s);
            let parent_index = if slots.is_empty() {
                if parent != NONE {
                    return Err(TableError::Corrupt(format!(
                        "root {root} has parent {parent}"
                    )));
                }
                None
            } else {
                // Invariant 4: the parent was created, so listed, before.
                match index.find(parent, parents.last().copied().flatten()) {
                    Some(i) => Some(i),
                    None => {
                        return Err(TableError::Corrupt(format!(
                            "parent {parent} of {cur} precedes it nowhere"
                        )))
                    }
                }
            };
            index.push(cur);
            slots.push(s);
            parents.push(parent_index);
            cur = self.get(C_NEXT, s);
        }
        if slots.len() != n {
            return Err(TableError::Corrupt(format!(
                "transaction {root} lists {} segments, counts {count}",
                slots.len()
            )));
        }
        if self.get(C_TAIL, rs) != self.get(C_HANDLE, slots[n - 1]) {
            return Err(TableError::Corrupt(format!(
                "transaction {root} ends at {}, tail says {}",
                self.get(C_HANDLE, slots[n - 1]),
                self.get(C_TAIL, rs)
            )));
        }
        Ok(())
    }

    /// Removes the transaction that `h` belongs to and returns its segments.
    /// `Ok(None)` when `h` is not active.
    pub fn take_transaction(&mut self, h: f64) -> Result<Option<Taken>, TableError> {
        let mut taken = Taken::default();
        let found = self.take_transaction_into(h, &mut taken, &mut WalkScratch::default())?;
        Ok(found.then_some(taken))
    }

    /// [`Self::take_transaction`] into `out`, reusing its space and
    /// `scratch`'s; `Ok(false)` (and `out` unspecified) when `h` is not active.
    pub fn take_transaction_into(
        &mut self,
        h: f64,
        out: &mut Taken,
        scratch: &mut WalkScratch,
    ) -> Result<bool, TableError> {
        let Some(root) = self.live_root(h)? else {
            return Ok(false);
        };
        let rs = self.slot(root as u32);
        out.dropped = self.get(C_DROPPED, rs) as u64;
        self.walk_into(root, &mut out.slots, scratch)?;
        self.free_walked(out, scratch);
        Ok(true)
    }

    /// The root of active handle `h`'s transaction; `None` when `h` is not
    /// active, an error when its root is not live (a corrupted table).
    fn live_root(&self, h: f64) -> Result<Option<f64>, TableError> {
        if !self.is_active(h) {
            return Ok(None);
        }
        let root = self.get(C_ROOT, self.slot(h as u32));
        if !self.is_active(root) {
            return Err(TableError::Corrupt(format!(
                "root {root} of {h} is not live"
            )));
        }
        Ok(Some(root))
    }

    /// The slots of the transaction of active handle `h`, in creation order,
    /// into `slots`, checked as [`Self::take_transaction_into`] checks them;
    /// nothing is freed. `Ok(false)` when `h` is not active.
    pub fn transaction_slots_into(
        &self,
        h: f64,
        slots: &mut Vec<usize>,
        scratch: &mut WalkScratch,
    ) -> Result<bool, TableError> {
        let Some(root) = self.live_root(h)? else {
            return Ok(false);
        };
        self.walk_into(root, slots, scratch)?;
        Ok(true)
    }

    /// [`Self::take_transaction_into`] for a transaction whose slots
    /// [`Self::transaction_slots_into`] just put in `out.slots` and
    /// `scratch`, the table unchanged since: the walk is not repeated. When
    /// `out.slots` is not that transaction's walk (its first slot is not the
    /// root's, or its length not the count), it walks again.
    pub fn take_walked(
        &mut self,
        h: f64,
        out: &mut Taken,
        scratch: &mut WalkScratch,
    ) -> Result<bool, TableError> {
        if !self.is_active(h) {
            return Ok(false);
        }
        let root = self.get(C_ROOT, self.slot(h as u32));
        let rs = self.slot(root as u32);
        let walked = self.is_active(root)
            && out.slots.first() == Some(&rs)
            && scratch.parents.len() == out.slots.len()
            && self.get(C_COUNT, rs) == out.slots.len() as f64;
        if !walked {
            return self.take_transaction_into(h, out, scratch);
        }
        out.dropped = self.get(C_DROPPED, rs) as u64;
        self.free_walked(out, scratch);
        Ok(true)
    }

    /// Frees the transaction just walked into `out.slots` and
    /// `scratch.parents`, recording its segments in `out.segments`.
    fn free_walked(&mut self, out: &mut Taken, scratch: &WalkScratch) {
        out.segments.clear();
        out.segments.extend(
            out.slots
                .iter()
                .zip(&scratch.parents)
                .map(|(&s, &parent)| SegIn {
                    start: self.get(C_START, s),
                    end: self.get(C_END, s),
                    parent,
                }),
        );
        for &s in &out.slots {
            self.set(C_HANDLE, s, FREE);
            self.set(C_ROOT, s, NONE);
        }
        let n = out.slots.len() as f64;
        self.add(H_LIVE_TXN, -1.0);
        self.add(H_LIVE_SEG, -n);
        self.add(H_OCCUPIED, -n);
    }

    /// Counts live records by reading every slot.
    pub fn scan(&self) -> Scan {
        let mut out = Scan {
            capacity: self.cap as u64,
            ..Scan::default()
        };
        for s in 0..self.cap {
            let h = self.get(C_HANDLE, s);
            if h == FREE {
                continue;
            }
            let root = self.get(C_ROOT, s);
            if root == RESERVED {
                out.reserved += 1;
            } else {
                out.live_segments += 1;
                if root == h {
                    out.live_transactions += 1;
                }
            }
        }
        out
    }

    /// Records that look leaked at time `now`: transactions started more than
    /// `transaction_ms` ago and still live, and segments of live transactions
    /// started more than `segment_ms` ago and still open. At most `limit`,
    /// oldest first (ties: by handle).
    pub fn leaks(&self, now: f64, segment_ms: f64, transaction_ms: f64, limit: usize) -> Vec<Leak> {
        let mut out = Vec::new();
        for s in 0..self.cap {
            let h = self.get(C_HANDLE, s);
            let root = self.get(C_ROOT, s);
            if h == FREE || root < 0.0 {
                continue;
            }
            let start = self.get(C_START, s);
            let age = now - start;
            let leak = if root == h {
                age > transaction_ms
            } else {
                age > segment_ms && self.get(C_END, s).is_nan()
            };
            if leak {
                out.push(Leak {
                    handle: h as u32,
                    root: root as u32,
                    start,
                });
            }
        }
        out.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.handle.cmp(&b.handle)));
        out.truncate(limit);
        out
    }

    /// Lists every broken invariant (empty when the table is sound).
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let scan = self.scan();
        let mut listed = 0u64;
        for s in 0..self.cap {
            let h = self.get(C_HANDLE, s);
            if h == FREE {
                continue;
            }
            if !is_handle_value(h) || self.slot(h as u32) != s {
                problems.push(format!("slot {s} holds handle {h} of another slot"));
                continue;
            }
            let root = self.get(C_ROOT, s);
            if root == RESERVED {
                continue;
            }
            if root < 0.0
                || !self.is_active(root)
                || self.get(C_ROOT, self.slot(root as u32)) != root
            {
                problems.push(format!("segment {h} has no live root ({root})"));
                continue;
            }
            let parent = self.get(C_PARENT, s);
            if root == h {
                if parent != NONE {
                    problems.push(format!("root {h} has parent {parent}"));
                }
                // Invariants 3 and 4, as take_transaction relies on them.
                match self.walk(h) {
                    Ok((slots, _)) => listed += slots.len() as u64,
                    Err(e) => problems.push(e.to_string()),
                }
            } else if !self.is_active(parent) || self.get(C_ROOT, self.slot(parent as u32)) != root
            {
                problems.push(format!(
                    "segment {h} has parent {parent} outside its transaction"
                ));
            }
        }
        if listed != scan.live_segments {
            problems.push(format!(
                "lists hold {listed} segments, slots {}",
                scan.live_segments
            ));
        }
        let header = [
            ("liveTransactions", H_LIVE_TXN, scan.live_transactions),
            ("liveSegments", H_LIVE_SEG, scan.live_segments),
            ("reserved", H_RESERVED, scan.reserved),
            ("occupied", H_OCCUPIED, scan.live_segments + scan.reserved),
        ];
        for (name, field, counted) in header {
            if self.header(field) != counted as f64 {
                problems.push(format!(
                    "header {name} is {}, slots say {counted}",
                    self.header(field)
                ));
            }
        }
        if scan.live_segments + scan.reserved > max_occupied(self.cap) as u64 {
            problems.push("more than seven eighths of the slots are occupied".into());
        }
        problems
    }

    /// The header counters, in the order of `Stats`.
    pub fn counters(&self) -> [f64; 5] {
        [
            self.header(H_LIVE_TXN),
            self.header(H_LIVE_SEG),
            self.header(H_TOTAL_TXN),
            self.header(H_TOTAL_SEG),
            self.header(H_DROPPED),
        ]
    }
}
