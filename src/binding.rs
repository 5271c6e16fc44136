//! The N-API surface: thin functions over `core`, each one crossing per call
//! of bulk work. `lib/store/` is the only intended caller; every function
//! still checks what it is given, so a wrong call is a JS exception, never a
//! crash (`catch_unwind` turns even a panic into one).
//!
//! The store's buffer is a JS `Float64Array`. Rust borrows it only for the
//! duration of one synchronous call, during which no JS runs, and refuses
//! two arguments that overlap, so a mutable borrow is never aliased.

use std::collections::HashMap;

use napi::bindgen_prelude::{Float64ArraySlice, Utf16String};
use napi::{Error, Result, Status};
use napi_derive::napi;

use crate::core::ids::{push_hex, with_thread_ids};
use crate::core::json::{decode, trace_json};
use crate::core::layout::{
    self, LEAK_HANDLE, LEAK_ROOT, LEAK_ROW, LEAK_START, MAX_HANDLE, OUT_COUNT, OUT_DROPPED,
    OUT_DURATION, OUT_HEADER, OUT_ROW, OUT_START, ROW_DURATION, ROW_EXCLUSIVE, ROW_PARENT,
    ROW_SLOT, ROW_START, ROW_TRUNCATED,
};
use crate::core::table::{self, Table, TableError};
use crate::core::trace::{assemble, EarlyIds};

fn to_js(e: TableError) -> Error {
    let status = match e {
        TableError::BadBuffer(_) => Status::InvalidArg,
        _ => Status::GenericFailure,
    };
    Error::new(status, e.to_string())
}

/// Borrows the contents of a typed array mutably.
fn slice_mut<'a>(a: &'a mut Float64ArraySlice<'_>) -> &'a mut [f64] {
    // SAFETY: the slice lives only for this synchronous call, while no JS
    // runs; the caller checks that no other argument overlaps it.
    unsafe { a.as_mut() }
}

/// True when two typed arrays share no memory.
fn disjoint(a: &[f64], b: &[f64]) -> bool {
    let (a0, b0) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let (a1, b1) = (a0 + std::mem::size_of_val(a), b0 + std::mem::size_of_val(b));
    a.is_empty() || b.is_empty() || a1 <= b0 || b1 <= a0
}

fn overlap_error(what: &str) -> Error {
    Error::new(
        Status::InvalidArg,
        format!("{what} must not share memory with the store buffer"),
    )
}

/// The layout constants, which the JS side reads instead of repeating them.
#[napi(catch_unwind)]
pub fn layout() -> HashMap<String, f64> {
    layout::describe()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Lays out an empty store of `capacity` slots in `m`, with the handle
/// counter at a random point.
#[napi(catch_unwind)]
pub fn init_store(mut m: Float64ArraySlice, capacity: u32) -> Result<()> {
    let next = with_thread_ids(|ids| ids.below(MAX_HANDLE));
    table::init(slice_mut(&mut m), capacity as usize, next).map_err(to_js)
}

/// Fills the reserve stack up to `want` handles; returns how many it holds.
/// Fewer than asked means the store must grow first.
#[napi(catch_unwind)]
pub fn reserve(mut m: Float64ArraySlice, want: u32) -> Result<u32> {
    let mut t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    Ok(t.reserve(want as usize) as u32)
}

/// Copies the store in `old` into `new`, a larger buffer it lays out.
#[napi(catch_unwind)]
pub fn grow(mut old: Float64ArraySlice, mut new: Float64ArraySlice) -> Result<()> {
    if !disjoint(&old, &new) {
        return Err(overlap_error("the new buffer"));
    }
    let len = new.len();
    let capacity = (len.saturating_sub(layout::HEADER_LEN)) / layout::COLUMNS;
    if layout::buffer_len(capacity) != len {
        return Err(Error::new(
            Status::InvalidArg,
            format!("a buffer of length {len} fits no capacity"),
        ));
    }
    let t = Table::new(slice_mut(&mut old)).map_err(to_js)?;
    t.grow_into(slice_mut(&mut new), capacity).map_err(to_js)
}

/// Ends the transaction that `handle` belongs to at `end` and frees its
/// records. Writes into `out` the header and the rows whose offsets
/// `layout` defines (`OUT_*`, `ROW_*`), segments in trace order. Returns the ids as one hex string (the trace id's 32 digits,
/// then 16 per row), or `null` when `handle` is not active.
#[napi(catch_unwind)]
pub fn finish(
    mut m: Float64ArraySlice,
    handle: f64,
    end: f64,
    mut out: Float64ArraySlice,
) -> Result<Option<String>> {
    if !disjoint(&m, &out) {
        return Err(overlap_error("the output array"));
    }
    let mut t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    let taken = match t.take_transaction(handle).map_err(to_js)? {
        Some(taken) => taken,
        None => return Ok(None),
    };
    let trace = with_thread_ids(|ids| assemble(&taken.segments, end, taken.dropped, ids));
    let out = slice_mut(&mut out);
    let need = OUT_HEADER + OUT_ROW * trace.rows.len();
    if out.len() < need {
        return Err(Error::new(
            Status::InvalidArg,
            format!("output array holds {}, needs {need}", out.len()),
        ));
    }
    out[OUT_COUNT] = trace.rows.len() as f64;
    out[OUT_DROPPED] = trace.dropped as f64;
    out[OUT_START] = trace.start;
    out[OUT_DURATION] = trace.duration;
    let mut ids: Vec<u8> = Vec::with_capacity(32 + 16 * trace.rows.len());
    push_hex(&mut ids, trace.trace_id, 32);
    for (k, row) in trace.rows.iter().enumerate() {
        let o = OUT_HEADER + OUT_ROW * k;
        out[o + ROW_SLOT] = taken.slots[row.index] as f64;
        out[o + ROW_PARENT] = row.parent_row.map_or(-1.0, |p| p as f64);
        out[o + ROW_START] = row.start;
        out[o + ROW_DURATION] = row.duration;
        out[o + ROW_EXCLUSIVE] = row.exclusive;
        out[o + ROW_TRUNCATED] = if row.truncated { 1.0 } else { 0.0 };
        push_hex(&mut ids, row.id as u128, 16);
    }
    String::from_utf8(ids)
        .map(Some)
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}

/// Like `finish`, but returns the whole trace as JSON. `meta` and `text`
/// carry the names and attributes in creation order (see `core::json`).
/// `ids`, when given, holds ids handed out before the end: the trace id's 32
/// hex digits, then 16 per segment in creation order, all zeros where Rust
/// is to draw one.
#[napi(catch_unwind)]
pub fn finish_json(
    mut m: Float64ArraySlice,
    handle: f64,
    end: f64,
    time_origin: f64,
    meta: Float64ArraySlice,
    text: Utf16String,
    ids: Option<String>,
) -> Result<Option<String>> {
    if !disjoint(&m, &meta) {
        return Err(overlap_error("the payload array"));
    }
    let mut t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    if !t.is_active(handle) {
        return Ok(None);
    }
    // Read the payload before anything is freed, so a bad payload leaves the
    // transaction in place.
    let count = t.transaction_len(handle).map_err(to_js)?;
    let texts =
        decode(&meta, &text, count).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
    let early = match &ids {
        Some(ids) => Some(
            EarlyIds::parse(ids.as_bytes(), count)
                .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?,
        ),
        None => None,
    };
    let taken = match t.take_transaction(handle).map_err(to_js)? {
        Some(taken) => taken,
        None => return Ok(None),
    };
    let mut trace = with_thread_ids(|ids| assemble(&taken.segments, end, taken.dropped, ids));
    if let Some(early) = early {
        early.apply(&mut trace);
    }
    Ok(Some(trace_json(&trace, &texts, time_origin)))
}

/// Live counts read off every slot of the store.
#[napi(object)]
pub struct Scan {
    pub live_transactions: f64,
    pub live_segments: f64,
    pub reserved: f64,
    pub capacity: f64,
}

/// Counts the live records by reading every slot (not the counters).
#[napi(catch_unwind)]
pub fn scan(mut m: Float64ArraySlice) -> Result<Scan> {
    let t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    let s = t.scan();
    Ok(Scan {
        live_transactions: s.live_transactions as f64,
        live_segments: s.live_segments as f64,
        reserved: s.reserved as f64,
        capacity: s.capacity as f64,
    })
}

/// Writes the records that look leaked at `now` into `out` as rows of
/// `LEAK_ROW` numbers (`LEAK_*` in `layout`), oldest first, as many as fit; returns how many.
#[napi(catch_unwind)]
pub fn leaks(
    mut m: Float64ArraySlice,
    now: f64,
    segment_ms: f64,
    transaction_ms: f64,
    mut out: Float64ArraySlice,
) -> Result<u32> {
    if !disjoint(&m, &out) {
        return Err(overlap_error("the output array"));
    }
    let t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    let out = slice_mut(&mut out);
    let found = t.leaks(now, segment_ms, transaction_ms, out.len() / LEAK_ROW);
    for (k, leak) in found.iter().enumerate() {
        let o = LEAK_ROW * k;
        out[o + LEAK_HANDLE] = leak.handle as f64;
        out[o + LEAK_ROOT] = leak.root as f64;
        out[o + LEAK_START] = leak.start;
    }
    Ok(found.len() as u32)
}

/// Lists every broken invariant of the store (empty when sound).
#[napi(catch_unwind)]
pub fn check(mut m: Float64ArraySlice) -> Result<Vec<String>> {
    let t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    Ok(t.check())
}

/// Panics on purpose, so that a test can show a panic surfaces as a JS
/// exception rather than an abort.
#[napi(catch_unwind, js_name = "_panicForTest")]
pub fn panic_for_test() {
    panic!("deliberate panic for the test suite");
}
