//! The N-API surface: thin functions over `core`, each one crossing per call
//! of bulk work. `lib/store/` is the only intended caller; every function
//! still checks what it is given, so a wrong call is a JS exception, never a
//! crash (`catch_unwind` turns even a panic into one).
//!
//! The store's buffer is a JS `Float64Array`. Rust borrows it only for the
//! duration of one synchronous call, during which no JS runs, and refuses
//! two arguments that overlap, so a mutable borrow is never aliased.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr;

use napi::bindgen_prelude::{
    External, Float64ArraySlice, FromNapiValue, Int32ArraySlice, ToNapiValue, TypeName,
    ValidateNapiValue,
};
use napi::{check_status, sys, Env, Error, Result, Status, ValueType};
use napi_derive::napi;

use crate::core::ids::{push_hex, with_thread_ids};
use crate::core::json::{write_trace_json, Source};
use crate::core::layout::{
    self, LEAK_HANDLE, LEAK_ROOT, LEAK_ROW, LEAK_START, MAX_HANDLE, OUT_COUNT, OUT_DROPPED,
    OUT_DURATION, OUT_HEADER, OUT_ROW, OUT_START, ROW_DURATION, ROW_EXCLUSIVE, ROW_PARENT,
    ROW_SLOT, ROW_START, ROW_TRUNCATED,
};
use crate::core::strings::{free_read, read_arena_into, Arena, ArenaSeg, ArenaTexts, Strings};
use crate::core::table::{self, Table, TableError, Taken, WalkScratch};
use crate::core::trace::{assemble, assemble_into, AssembleScratch, EarlyIds, Time, Trace};

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

/// [`slice_mut`] for an `Int32Array`.
fn slice_mut_i32<'a>(a: &'a mut Int32ArraySlice<'_>) -> &'a mut [i32] {
    // SAFETY: as for `slice_mut`.
    unsafe { a.as_mut() }
}

/// True when two typed arrays share no memory.
fn disjoint<A, B>(a: &[A], b: &[B]) -> bool {
    let (a0, b0) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let (a1, b1) = (a0 + std::mem::size_of_val(a), b0 + std::mem::size_of_val(b));
    a.is_empty() || b.is_empty() || a1 <= b0 || b1 <= a0
}

fn overlap_error(what: &str) -> Error {
    overlap_error_with(what, "the store buffer")
}

fn overlap_error_with(what: &str, other: &str) -> Error {
    Error::new(
        Status::InvalidArg,
        format!("{what} must not share memory with {other}"),
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

/// Copies the store in `old` into `next`, a larger buffer it lays out.
#[napi(catch_unwind)]
pub fn grow(mut old: Float64ArraySlice, mut next: Float64ArraySlice) -> Result<()> {
    if !disjoint(&old, &next) {
        return Err(overlap_error("the new buffer"));
    }
    let capacity = capacity_for(next.len())?;
    let t = Table::new(slice_mut(&mut old)).map_err(to_js)?;
    t.grow_into(slice_mut(&mut next), capacity).map_err(to_js)
}

/// Copies the store in `old` into `next`, a smaller buffer it lays out, if
/// every occupied slot fits there in a slot of its own with at most seven
/// eighths of `next` occupied (the load bound, `layout::MAX_LOAD_EIGHTHS`);
/// returns whether it did. When it returns false, `next` is untouched and
/// `old` is still the store.
#[napi(catch_unwind)]
pub fn shrink(mut old: Float64ArraySlice, mut next: Float64ArraySlice) -> Result<bool> {
    if !disjoint(&old, &next) {
        return Err(overlap_error("the new buffer"));
    }
    let capacity = capacity_for(next.len())?;
    let t = Table::new(slice_mut(&mut old)).map_err(to_js)?;
    t.shrink_into(slice_mut(&mut next), capacity).map_err(to_js)
}

/// The capacity a buffer of `len` numbers has, or an error.
fn capacity_for(len: usize) -> Result<usize> {
    let capacity = (len.saturating_sub(layout::HEADER_LEN)) / layout::COLUMNS;
    if layout::buffer_len(capacity) != len {
        return Err(Error::new(
            Status::InvalidArg,
            format!("a buffer of length {len} fits no capacity"),
        ));
    }
    Ok(capacity)
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
    out[OUT_DURATION] = trace.duration.ms();
    let mut ids: Vec<u8> = Vec::with_capacity(32 + 16 * trace.rows.len());
    push_hex(&mut ids, trace.trace_id, 32);
    for (k, row) in trace.rows.iter().enumerate() {
        let o = OUT_HEADER + OUT_ROW * k;
        out[o + ROW_SLOT] = taken.slots[row.index] as f64;
        out[o + ROW_PARENT] = row.parent_row.map_or(-1.0, |p| p as f64);
        out[o + ROW_START] = row.start.ms();
        out[o + ROW_DURATION] = row.duration.ms();
        out[o + ROW_EXCLUSIVE] = row.exclusive.ms();
        out[o + ROW_TRUNCATED] = if row.truncated { 1.0 } else { 0.0 };
        push_hex(&mut ids, row.id as u128, 16);
    }
    String::from_utf8(ids)
        .map(Some)
        .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
}

thread_local! {
    /// The JSON of the last finish, reused so that a finish does not
    /// allocate (and fault in) a fresh buffer; its bytes are copied into the
    /// JS string or Buffer before the call returns.
    static JSON_OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Everything else a JSON finish needs, reused likewise.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    /// The text of the last `setStrings` (see [`TextIn`]).
    static TEXT_IN: RefCell<Vec<u16>> = const { RefCell::new(Vec::new()) };
}

/// A string argument copied as UTF-16 into this thread's `TEXT_IN`, whose
/// space is reused (napi-rs's `Utf16String` zero-fills a fresh `Vec` and
/// asks for the length first: about twice the time). Errors as
/// `Utf16String`'s.
pub struct TextIn;

impl TypeName for TextIn {
    fn type_name() -> &'static str {
        "String"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for TextIn {}

/// Most units of `TEXT_IN` kept between calls.
const KEEP_TEXT_UP_TO: usize = 1 << 19;

/// `napi_get_value_string_utf16` of `value` into `size` units at `buf`
/// (null and 0: only the length). Returns the units written, or the length.
///
/// # Safety
/// `buf` is null with `size` 0, or valid for writes of `size` units.
unsafe fn utf16_of(
    env: sys::napi_env,
    value: sys::napi_value,
    buf: *mut u16,
    size: usize,
) -> Result<usize> {
    let mut n = 0usize;
    // SAFETY: the caller's contract; N-API writes at most `size` units.
    check_status!(
        unsafe { sys::napi_get_value_string_utf16(env, value, buf, size, &mut n) },
        "Failed to convert napi `utf16 string` into rust type `String`"
    )?;
    Ok(n)
}

impl FromNapiValue for TextIn {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        TEXT_IN.with(|cell| {
            let mut buf = cell.borrow_mut();
            if buf.capacity() > KEEP_TEXT_UP_TO {
                *buf = Vec::new();
            }
            buf.clear();
            buf.reserve(4096);
            // One call when the text fits (N-API writes at most size - 1
            // units and a terminator), else a second with the length.
            let mut size = buf.capacity();
            // SAFETY: `buf` has room for `size` units.
            let mut written = unsafe { utf16_of(env, value, buf.as_mut_ptr(), size) }?;
            if written + 1 >= size {
                // SAFETY: null and 0 ask for the length only.
                let len = unsafe { utf16_of(env, value, ptr::null_mut(), 0) }?;
                buf.reserve(len + 1);
                size = buf.capacity();
                // SAFETY: `buf` now has room for `size` units.
                written = unsafe { utf16_of(env, value, buf.as_mut_ptr(), size) }?;
            }
            // SAFETY: N-API initialised the first `written` units (fewer
            // than `size`, the capacity).
            unsafe { buf.set_len(written.min(size.saturating_sub(1))) };
            Ok(TextIn)
        })
    }
}

/// The lists `finishJsonStrings` fills, kept from one call to the next.
#[derive(Default)]
struct Scratch {
    /// Where `finishJsonStrings` found each segment's texts.
    segs: Vec<ArenaSeg>,
    taken: Taken,
    walk: WalkScratch,
    assemble: AssembleScratch,
    trace: Option<Trace>,
}

/// Buffers above this size are given back after use rather than kept.
const KEEP_OUT_UP_TO: usize = 1 << 20;

/// The tail of `finishJsonStrings`, once the transaction is taken out:
/// orders it into the scratch trace, applies the ids handed out early, and
/// writes the JSON into this thread's `JSON_OUT`; its length and whether it
/// is ASCII.
fn assemble_and_write(
    taken: &Taken,
    trace: &mut Option<Trace>,
    scratch: &mut AssembleScratch,
    end: f64,
    early: Option<EarlyIds>,
    texts: &impl Source,
    time_origin: f64,
) -> (usize, bool) {
    let trace = trace.get_or_insert_with(|| Trace {
        trace_id: 0,
        start: 0.0,
        duration: Time::from_ms(0.0),
        dropped: 0,
        rows: Vec::new(),
    });
    with_thread_ids(|ids| assemble_into(&taken.segments, end, taken.dropped, ids, scratch, trace));
    if let Some(early) = early {
        early.apply(trace);
    }
    JSON_OUT.with(|cell| {
        let mut out = cell.borrow_mut();
        write_trace_json(&mut out, trace, texts, time_origin)
    })
}

/// What a JSON finish returns: the first `len` bytes of this thread's
/// `JSON_OUT`, as a JS string (Latin-1, a plain copy, when every byte is
/// ASCII, else decoded from UTF-8), or with `bytes` as a Node `Buffer`
/// holding a copy of the UTF-8.
pub struct JsonOut {
    len: usize,
    ascii: bool,
    bytes: bool,
}

impl ToNapiValue for JsonOut {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        JSON_OUT.with(|cell| {
            let mut out = cell.borrow_mut();
            let mut value = ptr::null_mut();
            let len = val.len.min(out.len());
            let data = out.as_ptr();
            // SAFETY: `data` points at `len` initialised bytes that live
            // until this closure ends; N-API copies them.
            let status = unsafe {
                if val.bytes {
                    sys::napi_create_buffer_copy(env, len, data.cast(), ptr::null_mut(), &mut value)
                } else if val.ascii {
                    sys::napi_create_string_latin1(env, data.cast(), len as isize, &mut value)
                } else {
                    sys::napi_create_string_utf8(env, data.cast(), len as isize, &mut value)
                }
            };
            // The buffer keeps its length (write_trace_json writes over it).
            if out.len() > KEEP_OUT_UP_TO {
                *out = Vec::new();
            }
            if status != sys::Status::napi_ok {
                return Err(Error::new(
                    Status::GenericFailure,
                    format!("could not hand the JSON to JS (napi status {status})"),
                ));
            }
            Ok(value)
        })
    }
}

/// A store's string table as JS holds it (in an `External`): the table
/// (`core::strings`), and how many of its heap bytes V8 has been told of
/// (`napi_adjust_external_memory`), so that the garbage collector counts
/// the strings in its heuristics (`process.memoryUsage().external` does
/// not show them), and a table the store dropped (it refills a fresh one
/// after many edits) is collected as soon as its size warrants.
///
/// # Invariant
/// `reported` is what this table has added to `env`'s external memory, in
/// total: the table's [`Strings::heap_bytes`] after the last `setStrings`.
/// Dropping the table (napi-rs's finalizer of the External, in `env`) takes
/// it back.
pub struct StringTable {
    strings: Strings,
    reported: i64,
    env: sys::napi_env,
}

impl StringTable {
    /// Reports to V8 the change in the table's heap bytes since the last
    /// report. A failed report is left for the next one to make up.
    fn report(&mut self) {
        let now = i64::try_from(self.strings.heap_bytes()).unwrap_or(i64::MAX);
        let change = now - self.reported;
        if change == 0 {
            return;
        }
        let mut total = 0;
        // SAFETY: `env` is the env the table was made in, and JS calls
        // `setStrings` synchronously on that env's thread.
        let status = unsafe { sys::napi_adjust_external_memory(self.env, change, &mut total) };
        if status == sys::Status::napi_ok {
            self.reported = now;
        }
    }
}

impl Drop for StringTable {
    fn drop(&mut self) {
        if self.reported == 0 {
            return;
        }
        let mut total = 0;
        // SAFETY: a table that has reported is held by an External that JS
        // has had, so only its finalizer drops it, on `env`'s thread while
        // `env` is alive (napi-rs's own finalizer adjusts the same way).
        unsafe { sys::napi_adjust_external_memory(self.env, -self.reported, &mut total) };
    }
}

/// A store's string table (`core::strings`): JS holds it as an `External`.
#[napi(catch_unwind, ts_return_type = "object")]
pub fn string_table(env: Env) -> External<StringTable> {
    External::new(StringTable {
        strings: Strings::new(),
        reported: 0,
        env: env.raw(),
    })
}

fn not_a_table() -> Error {
    Error::new(Status::InvalidArg, "not a string table")
}

/// A string table argument: the [`StringTable`] inside an `External` that
/// [`string_table`] made; any other value is refused.
pub struct TableIn(&'static mut StringTable);

impl TypeName for TableIn {
    fn type_name() -> &'static str {
        "External"
    }

    fn value_type() -> ValueType {
        ValueType::External
    }
}

impl ValidateNapiValue for TableIn {}

impl FromNapiValue for TableIn {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut kind = 0;
        // SAFETY: `value` is a value of this call's `env`.
        let status = unsafe { sys::napi_typeof(env, value, &mut kind) };
        if status != sys::Status::napi_ok || kind != sys::ValueType::napi_external {
            return Err(not_a_table());
        }
        let mut data = ptr::null_mut();
        // SAFETY: `value` is an external.
        let status = unsafe { sys::napi_get_value_external(env, value, &mut data) };
        if status != sys::Status::napi_ok || data.is_null() {
            return Err(not_a_table());
        }
        // SAFETY: an external's data made by napi-rs starts with the TypeId
        // it checks; the `StringTable` lives as long as the External, which JS
        // holds through this synchronous call, the only place it is used.
        match unsafe { External::<StringTable>::inner_from_raw_mut(data) } {
            Some(table) => Ok(TableIn(table)),
            None => Err(not_a_table()),
        }
    }
}

/// Applies `edits` to a store's string table: pairs `(id, length)`, each
/// setting `id` to the next `length` units of `text`, or removing it when
/// `length` is -1 (docs/binding-contract.md, "setStrings").
#[napi(catch_unwind)]
pub fn set_strings(
    table: TableIn,
    edits: Float64ArraySlice,
    #[napi(ts_arg_type = "string")] _text: TextIn,
) -> Result<()> {
    TEXT_IN.with(|cell| {
        let text = cell.borrow();
        table
            .0
            .strings
            .apply(&edits, &text)
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
    })?;
    table.0.report();
    Ok(())
}

/// Like `finish`, but returns the whole trace as JSON, with the names and
/// attributes read from the store's own arrays and its string table
/// (docs/binding-contract.md, "finishJsonStrings"). `ids`, when given,
/// holds ids handed out before the end: the trace id's 32 hex digits, then
/// 16 per segment in creation order, all zeros where Rust is to draw one.
/// With `bytes`, the JSON's UTF-8 comes back in a `Buffer` instead of a
/// string.
#[allow(clippy::too_many_arguments)]
#[napi(catch_unwind, ts_return_type = "string | Uint8Array | null")]
pub fn finish_json_strings(
    mut m: Float64ArraySlice,
    handle: f64,
    end: f64,
    time_origin: f64,
    mut side: Int32ArraySlice,
    mut arena: Int32ArraySlice,
    values: Float64ArraySlice,
    table: TableIn,
    ids: Option<String>,
    bytes: Option<bool>,
) -> Result<Option<JsonOut>> {
    if !disjoint(&m, &side) {
        return Err(overlap_error("the side arrays"));
    }
    if !disjoint(&m, &arena) {
        return Err(overlap_error("the attribute arena"));
    }
    if !disjoint(&m, &values) {
        return Err(overlap_error("the attribute values"));
    }
    // Written too, once the JSON is: each must not alias the other's reads.
    if !disjoint(&side, &arena) {
        return Err(overlap_error_with("the side arrays", "the attribute arena"));
    }
    if !disjoint(&side, &values) {
        return Err(overlap_error_with(
            "the side arrays",
            "the attribute values",
        ));
    }
    if !disjoint(&arena, &values) {
        return Err(overlap_error_with(
            "the attribute arena",
            "the attribute values",
        ));
    }
    let mut t = Table::new(slice_mut(&mut m)).map_err(to_js)?;
    let capacity = t.capacity();
    let written = SCRATCH.with(|cell| -> Result<Option<(usize, bool)>> {
        let mut guard = cell.borrow_mut();
        let sc = &mut *guard;
        let view = Arena {
            side: &side,
            arena: &arena,
            values: &values,
            strings: &table.0.strings,
        };
        // Read everything before anything is freed, so a bad call leaves
        // the transaction in place.
        if !t
            .transaction_slots_into(handle, &mut sc.taken.slots, &mut sc.walk)
            .map_err(to_js)?
        {
            return Ok(None);
        }
        read_arena_into(&view, capacity, &sc.taken.slots, &mut sc.segs)
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        let count = sc.taken.slots.len();
        let early = match ids.as_deref() {
            Some(ids) => Some(
                EarlyIds::parse(ids.as_bytes(), count)
                    .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?,
            ),
            None => None,
        };
        if !t
            .take_walked(handle, &mut sc.taken, &mut sc.walk)
            .map_err(to_js)?
        {
            return Ok(None);
        }
        let texts = ArenaTexts {
            arena: view,
            segs: &sc.segs,
        };
        let written = assemble_and_write(
            &sc.taken,
            &mut sc.trace,
            &mut sc.assemble,
            end,
            early,
            &texts,
            time_origin,
        );
        // The texts are written: free them in the store's arrays.
        free_read(
            slice_mut_i32(&mut side),
            slice_mut_i32(&mut arena),
            capacity,
            &sc.taken.slots,
            &sc.segs,
        );
        Ok(Some(written))
    })?;
    let bytes = bytes.unwrap_or(false);
    Ok(written.map(|(len, ascii)| JsonOut { len, ascii, bytes }))
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
