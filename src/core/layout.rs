//! The shared memory layout of a segment store.
//!
//! A store is one `Float64Array` owned by JavaScript. The hot path
//! (`lib/store/segment-store.js`) reads and writes it directly, with no crossing into Rust;
//! Rust borrows the same memory for the duration of one synchronous call to do
//! the bulk work (reserving handles, growing, finishing a transaction,
//! scanning). Every field is an `f64`: handles are integers below 2^30 and
//! counters stay below 2^53, so all of them are exact.
//!
//! ```text
//! [ header: HEADER_LEN ][ HANDLE: C ][ ROOT: C ][ PARENT: C ][ NEXT: C ]
//! [ START: C ][ END: C ][ COUNT: C ][ DROPPED: C ][ TAIL: C ]
//! ```
//!
//! `C` is the capacity, a power of two, at least [`MIN_CAPACITY`]. The columns
//! are "structure of arrays": column `k` of slot `s` is at
//! `HEADER_LEN + k * C + s`. The JS side reads every constant from
//! [`describe`] (through the binding's `layout()`) and writes none of its own;
//! the pure-JS backend keeps a copy, which a test compares with [`describe`].
//!
//! Two more layouts cross the boundary: the rows `finish` writes (a header
//! of [`OUT_HEADER`] numbers, then [`OUT_ROW`] per segment) and the rows
//! `leaks` writes ([`LEAK_ROW`] per record). Their field offsets live here
//! too, so that one file says what each number means.

/// Number that identifies a buffer laid out by this version of the layout.
pub const MAGIC: f64 = 0x5343_0001 as f64;

/// Handles are integers in `0..=MAX_HANDLE` (30 bits: V8 small integers).
pub const MAX_HANDLE: u32 = (1 << 30) - 1;

/// Smallest capacity, in slots.
pub const MIN_CAPACITY: usize = 1 << 10;

/// Largest capacity, in slots (2^24 slots: a 1.4 GiB buffer).
pub const MAX_CAPACITY: usize = 1 << 24;

/// How many reserved handles the header can hold at once.
pub const RESERVE_MAX: usize = 256;

/// The load bound, invariant 5 of `table.rs`, in eighths of the capacity:
/// occupied slots (live segments plus reserved handles) never exceed seven
/// eighths of the `C` slots, `8 * OCCUPIED <= 7 * C`, so at least one slot
/// in eight is free. `reserve` stops at it (the table must grow),
/// `shrink_into` refuses a smaller table that would pass it, and `check`
/// reports a table past it. [`max_occupied`] turns it into a slot count.
pub const MAX_LOAD_EIGHTHS: usize = 7;

/// The most slots a table of `capacity` slots may have occupied under the
/// load bound: `floor(MAX_LOAD_EIGHTHS * capacity / 8)`, so that
/// `occupied <= max_occupied(C)` is `8 * OCCUPIED <= 7 * C`.
pub const fn max_occupied(capacity: usize) -> usize {
    MAX_LOAD_EIGHTHS * capacity / 8
}

/// String ids (of the store's string table, `core::strings`) are whole
/// numbers below this: an attribute entry packs its key's id with a 2-bit
/// kind into one `i32`, `(id << 2) | kind`, which stays positive, and a
/// table whose largest id is the last one costs at most 320 MiB of index.
/// That is 16 times the most slots a table has: the store would run out
/// of memory for its strings well before it ran out of ids.
pub const MAX_STRINGS: usize = 1 << 24;

// Header fields.
pub const H_MAGIC: usize = 0;
pub const H_CAPACITY: usize = 1;
/// The sweep counter: the next handle value to try (see `table.rs`).
pub const H_NEXT: usize = 2;
pub const H_LIVE_TXN: usize = 3;
pub const H_LIVE_SEG: usize = 4;
pub const H_TOTAL_TXN: usize = 5;
pub const H_TOTAL_SEG: usize = 6;
pub const H_DROPPED: usize = 7;
/// How many handles sit in the reserve stack.
pub const H_RESERVED: usize = 8;
/// Occupied slots: live segments plus reserved handles.
pub const H_OCCUPIED: usize = 9;
/// First entry of the reserve stack (`RESERVE_MAX` entries).
pub const H_RESERVE: usize = 16;
pub const HEADER_LEN: usize = H_RESERVE + RESERVE_MAX;

// Column numbers.
/// The handle that occupies the slot, or [`FREE`].
pub const C_HANDLE: usize = 0;
/// The transaction's root handle; [`RESERVED`] for a reserved slot.
pub const C_ROOT: usize = 1;
/// The parent's handle; [`NONE`] for a root.
pub const C_PARENT: usize = 2;
/// The next segment of the same transaction, in creation order; [`NONE`] last.
pub const C_NEXT: usize = 3;
/// Start time (ms, `performance.now()` clock).
pub const C_START: usize = 4;
/// End time, or NaN while the segment is open.
pub const C_END: usize = 5;
/// Root only: segments recorded, the root included.
pub const C_COUNT: usize = 6;
/// Root only: segments dropped at the limit.
pub const C_DROPPED: usize = 7;
/// Root only: the last segment in creation order.
pub const C_TAIL: usize = 8;
pub const COLUMNS: usize = 9;

// The rows `finish` writes: a header, then one row per segment in trace
// order.
/// Header: segments in the trace.
pub const OUT_COUNT: usize = 0;
/// Header: segments dropped at the limit.
pub const OUT_DROPPED: usize = 1;
/// Header: the root's start time.
pub const OUT_START: usize = 2;
/// Header: the root's duration (ms rounded to the microsecond, as are the
/// rows' times: `core::trace::Time`).
pub const OUT_DURATION: usize = 3;
/// Length of the header.
pub const OUT_HEADER: usize = 4;
/// Row: the segment's slot (where its name and attributes sit on the JS side).
pub const ROW_SLOT: usize = 0;
/// Row: the parent's row number, or -1 for the root.
pub const ROW_PARENT: usize = 1;
/// Row: start, as an offset from the root's start, rounded to the
/// microsecond.
pub const ROW_START: usize = 2;
/// Row: duration.
pub const ROW_DURATION: usize = 3;
/// Row: exclusive time.
pub const ROW_EXCLUSIVE: usize = 4;
/// Row: 1 when the segment was still open at the transaction's end, else 0.
pub const ROW_TRUNCATED: usize = 5;
/// Length of a row.
pub const OUT_ROW: usize = 6;

// The rows `leaks` writes.
/// Leak row: the record's handle.
pub const LEAK_HANDLE: usize = 0;
/// Leak row: its transaction's root handle.
pub const LEAK_ROOT: usize = 1;
/// Leak row: its start time.
pub const LEAK_START: usize = 2;
/// Length of a leak row.
pub const LEAK_ROW: usize = 3;

/// Value of `C_HANDLE` for a free slot.
pub const FREE: f64 = -1.0;
/// Value of `C_ROOT` for a slot whose handle is reserved but not yet used.
pub const RESERVED: f64 = -2.0;
/// "No handle" in `C_PARENT` and `C_NEXT`.
pub const NONE: f64 = -1.0;

/// Length in `f64`s of a buffer of `capacity` slots.
pub const fn buffer_len(capacity: usize) -> usize {
    HEADER_LEN + COLUMNS * capacity
}

/// Index of column `column`, slot `slot`, in a buffer of `capacity` slots.
#[inline]
pub const fn at(capacity: usize, column: usize, slot: usize) -> usize {
    HEADER_LEN + column * capacity + slot
}

/// Every constant the JS side uses, as `(name, value)` pairs.
pub fn describe() -> Vec<(&'static str, f64)> {
    vec![
        ("MAGIC", MAGIC),
        ("MAX_HANDLE", MAX_HANDLE as f64),
        ("MIN_CAPACITY", MIN_CAPACITY as f64),
        ("MAX_CAPACITY", MAX_CAPACITY as f64),
        ("RESERVE_MAX", RESERVE_MAX as f64),
        ("MAX_LOAD_EIGHTHS", MAX_LOAD_EIGHTHS as f64),
        ("MAX_STRINGS", MAX_STRINGS as f64),
        ("H_MAGIC", H_MAGIC as f64),
        ("H_CAPACITY", H_CAPACITY as f64),
        ("H_NEXT", H_NEXT as f64),
        ("H_LIVE_TXN", H_LIVE_TXN as f64),
        ("H_LIVE_SEG", H_LIVE_SEG as f64),
        ("H_TOTAL_TXN", H_TOTAL_TXN as f64),
        ("H_TOTAL_SEG", H_TOTAL_SEG as f64),
        ("H_DROPPED", H_DROPPED as f64),
        ("H_RESERVED", H_RESERVED as f64),
        ("H_OCCUPIED", H_OCCUPIED as f64),
        ("H_RESERVE", H_RESERVE as f64),
        ("HEADER_LEN", HEADER_LEN as f64),
        ("C_HANDLE", C_HANDLE as f64),
        ("C_ROOT", C_ROOT as f64),
        ("C_PARENT", C_PARENT as f64),
        ("C_NEXT", C_NEXT as f64),
        ("C_START", C_START as f64),
        ("C_END", C_END as f64),
        ("C_COUNT", C_COUNT as f64),
        ("C_DROPPED", C_DROPPED as f64),
        ("C_TAIL", C_TAIL as f64),
        ("COLUMNS", COLUMNS as f64),
        ("FREE", FREE),
        ("RESERVED", RESERVED),
        ("NONE", NONE),
        ("OUT_COUNT", OUT_COUNT as f64),
        ("OUT_DROPPED", OUT_DROPPED as f64),
        ("OUT_START", OUT_START as f64),
        ("OUT_DURATION", OUT_DURATION as f64),
        ("OUT_HEADER", OUT_HEADER as f64),
        ("ROW_SLOT", ROW_SLOT as f64),
        ("ROW_PARENT", ROW_PARENT as f64),
        ("ROW_START", ROW_START as f64),
        ("ROW_DURATION", ROW_DURATION as f64),
        ("ROW_EXCLUSIVE", ROW_EXCLUSIVE as f64),
        ("ROW_TRUNCATED", ROW_TRUNCATED as f64),
        ("OUT_ROW", OUT_ROW as f64),
        ("LEAK_HANDLE", LEAK_HANDLE as f64),
        ("LEAK_ROOT", LEAK_ROOT as f64),
        ("LEAK_START", LEAK_START as f64),
        ("LEAK_ROW", LEAK_ROW as f64),
    ]
}
