//! The finished trace as JSON, built in one pass.
//!
//! [`write_trace_json`] writes a trace (`core::trace`) with the names and
//! attributes of its segments taken from a [`Source`]: the store's own
//! arrays and string table (`core::strings::ArenaTexts`, what the binding's
//! `finishJsonStrings` reads), whose strings were escaped once, when they
//! were set, by [`push_str`]. Strings are escaped as `JSON.stringify` does,
//! lone surrogates included, so that `JSON.parse` gives back the very
//! strings the JS side holds; numbers are printed by [`push_num`] (the
//! shortest decimal that reads back, never an exponent). [`Writer`] keeps
//! room ahead in its buffer, so that each write is a copy of known size.

use super::ids::push_hex;
use super::num::{push_f64, write_f64, write_micros, write_u64, MICROS_MAX, ROOM as NUM_ROOM};
use super::trace::{Time, Trace};

/// The 8 lowercase hex digits of `x` as ASCII, the first digit in the
/// lowest byte: nibbles spread one to a byte, then each turned into its
/// digit, with no table and no branch.
#[inline(always)]
fn hex8(x: u32) -> u64 {
    let mut t = x as u64;
    // Nibble i (from the least significant) into byte i.
    t = (t | (t << 16)) & 0x0000_ffff_0000_ffff;
    t = (t | (t << 8)) & 0x00ff_00ff_00ff_00ff;
    t = (t | (t << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // 1 in each byte whose nibble is 10 or more, which goes to 'a'..='f'.
    let letters = ((t + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    let ascii = t + 0x3030_3030_3030_3030 + letters * (b'a' - b'0' - 10) as u64;
    // The most significant nibble first.
    ascii.swap_bytes()
}

/// True when `u` needs no escape and is ASCII: it is copied as one byte.
#[inline(always)]
fn plain(u: u16) -> bool {
    (0x20..=0x7f).contains(&u) && u != 0x22 && u != 0x5c
}

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` does:
/// `"` and `\`, the short escapes for control characters and `\u00xx` for
/// the others, lone surrogates as `\udxxx`, everything else as UTF-8.
/// Returns false when it wrote a byte outside ASCII.
#[inline]
pub fn push_str(out: &mut Vec<u8>, s: &[u16]) -> bool {
    out.push(b'"');
    // Without a branch per unit, so that it vectorises: most strings need
    // no escape and are ASCII, and are copied one byte per unit.
    let all_plain = s.iter().fold(true, |ok, &u| ok & plain(u));
    let ascii = if all_plain {
        out.extend(s.iter().map(|&u| u as u8));
        true
    } else {
        push_escaped(out, s)
    };
    out.push(b'"');
    ascii
}

#[cold]
fn push_escaped(out: &mut Vec<u8>, s: &[u16]) -> bool {
    let mut ascii = true;
    let mut i = 0;
    while i < s.len() {
        let u = s[i];
        i += 1;
        match u {
            0x22 => out.extend_from_slice(b"\\\""),
            0x5c => out.extend_from_slice(b"\\\\"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f => push_unit_escape(out, u),
            0x20..=0x7f => out.push(u as u8),
            0x80..=0x7ff => {
                ascii = false;
                out.extend_from_slice(&[0xc0 | (u >> 6) as u8, 0x80 | (u & 0x3f) as u8])
            }
            0xd800..=0xdbff if i < s.len() && (0xdc00..=0xdfff).contains(&s[i]) => {
                ascii = false;
                let c = 0x10000 + (((u as u32) - 0xd800) << 10) + ((s[i] as u32) - 0xdc00);
                i += 1;
                out.extend_from_slice(&[
                    0xf0 | (c >> 18) as u8,
                    0x80 | ((c >> 12) & 0x3f) as u8,
                    0x80 | ((c >> 6) & 0x3f) as u8,
                    0x80 | (c & 0x3f) as u8,
                ]);
            }
            0xd800..=0xdfff => push_unit_escape(out, u),
            _ => {
                ascii = false;
                out.extend_from_slice(&[
                    0xe0 | (u >> 12) as u8,
                    0x80 | ((u >> 6) & 0x3f) as u8,
                    0x80 | (u & 0x3f) as u8,
                ])
            }
        }
    }
    ascii
}

fn push_unit_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    push_hex(out, unit as u128, 4);
}

/// Appends a number as JSON: the shortest decimal that reads back as the
/// same `f64`, never an exponent, `-0` for negative zero, exactly as Rust's
/// `{}` prints it (`core::num`, which is about three times faster than
/// `{}`), so `JSON.parse` recovers the exact value. Non-finite numbers,
/// which JSON cannot hold, become `null`.
#[inline]
pub fn push_num(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        push_f64(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Bytes a segment's row can take besides its strings: the keys, ids,
/// numbers and punctuation, with room to spare.
pub(crate) const ROW_FIXED: usize = 320;
/// Strings kept for copying (`core::strings`) are padded to a multiple of
/// this many bytes, and [`Writer::chunks`] copies them this many at a time.
pub(crate) const CHUNK: usize = 16;
/// Most bytes an attribute takes besides its key's and value's strings.
pub(crate) const PER_ATTRIBUTE: usize = 48;

/// Writes at `pos` into a buffer kept at least `room` bytes past it, so
/// that each write is a bounds-checked copy of known size, never a growth.
/// The buffer's length is only raised (never cut back while writing): bytes
/// past `pos` are scratch.
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    pos: usize,
    /// The end of the room the last `room` call asked for.
    reserved_to: usize,
}

impl Writer<'_> {
    /// Makes sure `n` bytes can be written at `pos`, and [`NUM_ROOM`] more
    /// past them as scratch for [`Writer::num`]'s fixed-size copies.
    #[inline]
    pub(crate) fn room(&mut self, n: usize) {
        self.reserved_to = self.pos + n;
        let need = self.reserved_to + NUM_ROOM;
        if self.buf.len() < need {
            let want = need.max(2 * self.buf.len());
            self.buf.resize(want, 0);
        }
    }

    #[inline(always)]
    pub(crate) fn lit(&mut self, s: &[u8]) {
        self.buf[self.pos..self.pos + s.len()].copy_from_slice(s);
        self.pos += s.len();
    }

    /// The first `len` bytes of `padded` (a multiple of [`CHUNK`] bytes
    /// long, `len` at most its length), copied a chunk at a time when the
    /// buffer has room for every chunk: fixed-size copies instead of a call
    /// to `memcpy`. The bytes past `len` are scratch.
    #[inline(always)]
    pub(crate) fn chunks(&mut self, padded: &[u8], len: usize) {
        let end = self.pos + padded.len();
        if end <= self.buf.len() && len <= padded.len() {
            let dst = &mut self.buf[self.pos..end];
            for (d, s) in dst.chunks_exact_mut(CHUNK).zip(padded.chunks_exact(CHUNK)) {
                d.copy_from_slice(s);
            }
            self.pos += len;
        } else {
            self.lit(&padded[..len.min(padded.len())]);
        }
    }

    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    /// `v` as 16 lowercase hex digits.
    #[inline(always)]
    fn hex64(&mut self, v: u64) {
        let b = &mut self.buf[self.pos..self.pos + 16];
        b[..8].copy_from_slice(&hex8((v >> 32) as u32).to_le_bytes());
        b[8..].copy_from_slice(&hex8(v as u32).to_le_bytes());
        self.pos += 16;
    }

    /// A number as [`push_num`] writes it (needs 32 bytes of room: it
    /// writes at most 30 and uses the scratch [`Writer::room`] keeps past
    /// the room; takes more itself for the rare number that prints longer).
    #[inline(always)]
    pub(crate) fn num(&mut self, v: f64) {
        let Some(dst) = self.buf.get_mut(self.pos..self.pos + NUM_ROOM) else {
            return self.long_num(v);
        };
        // A whole number below 2^32 (a count, a size, a status: most
        // numeric attributes) here, inlined; `-0` (sign bit set) is not.
        let small = v as u32;
        if small as f64 == v && v.is_sign_positive() {
            self.pos += write_u64(dst, small as u64);
            return;
        }
        let written = write_f64(dst, v);
        match written {
            Some(n) => self.pos += n,
            None => self.long_num(v),
        }
    }

    /// A trace's time (an offset or a duration) as [`Writer::num`] writes
    /// its ms: from its whole microseconds, on the grid (the shortest
    /// decimal of the ms, `core::num::write_micros`); needs 32 bytes of room.
    #[inline(always)]
    pub(crate) fn time(&mut self, t: Time) {
        let us = t.us.unsigned_abs();
        match self.buf.get_mut(self.pos..self.pos + NUM_ROOM) {
            Some(dst) if t.us != Time::OFF_GRID && us < MICROS_MAX => {
                dst[0] = b'-';
                let sign = usize::from(t.us < 0);
                self.pos += write_micros(dst, sign, us);
            }
            _ => self.num(t.ms()),
        }
    }

    /// A number off [`write_f64`]'s fast path: non-finite, huge, tiny or a
    /// power of two, which `{}` may print with hundreds of digits.
    #[cold]
    fn long_num(&mut self, v: f64) {
        let mut tmp = Vec::new();
        push_num(&mut tmp, v);
        // Keep the room that was left for the rest, past these digits.
        let left = self.reserved_to.saturating_sub(self.pos);
        self.room(left + tmp.len());
        self.lit(&tmp);
    }
}

/// Where the names and attributes of a trace's segments come from, by
/// segment in the table's creation order (the order of `Row::index`): the
/// store's own arrays (`core::strings::ArenaTexts`), or a test's. What it
/// writes is what [`push_str`] and [`push_num`] would write.
pub trait Source {
    /// Bytes that segment `i`'s name and attributes may take as JSON (its
    /// row's fixed part, [`ROW_FIXED`], aside).
    fn room(&self, i: usize) -> usize;
    /// Writes segment `i`'s name as a JSON string (its room asked for);
    /// false when it wrote a byte outside ASCII.
    fn write_name(&self, w: &mut Writer<'_>, i: usize) -> bool;
    /// Writes segment `i`'s attributes as the members of a JSON object,
    /// `"key":value` separated by commas; false when it wrote a byte
    /// outside ASCII.
    fn write_attributes(&self, w: &mut Writer<'_>, i: usize) -> bool;
}

/// The whole trace as JSON. `texts` is in the table's creation order (the
/// order of `Row::index`); `time_origin` turns the root's start into epoch
/// milliseconds.
pub fn trace_json<S: Source>(trace: &Trace, texts: &S, time_origin: f64) -> String {
    let mut out = Vec::new();
    let n = write_trace_json(&mut out, trace, texts, time_origin).0;
    out.truncate(n);
    // Only whole UTF-8 sequences were written, so this cannot fail; the
    // check costs far less than the rest and keeps this function safe.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes the trace's JSON (UTF-8) at the start of `out`, whose length it
/// may raise and never lowers: the JSON is `out[..n]`, the rest scratch.
/// Returns `n`, and true when every byte is ASCII (so the bytes are also
/// Latin-1).
pub fn write_trace_json<S: Source>(
    out: &mut Vec<u8>,
    trace: &Trace,
    texts: &S,
    time_origin: f64,
) -> (usize, bool) {
    let mut w = Writer {
        buf: out,
        pos: 0,
        reserved_to: 0,
    };
    let mut ascii = true;
    w.room(ROW_FIXED + texts.room(0));
    w.lit(b"{\"traceId\":\"");
    w.hex64((trace.trace_id >> 64) as u64);
    w.hex64(trace.trace_id as u64);
    w.lit(b"\",\"name\":");
    ascii &= texts.write_name(&mut w, 0);
    w.lit(b",\"startTime\":");
    w.num(time_origin + trace.start);
    w.lit(b",\"duration\":");
    w.time(trace.duration);
    w.lit(b",\"segmentCount\":");
    w.num(trace.rows.len() as f64);
    w.lit(b",\"droppedSegments\":");
    w.num(trace.dropped as f64);
    w.lit(b",\"segments\":[");
    for (k, row) in trace.rows.iter().enumerate() {
        // Room for the whole row, so that no write below grows the buffer.
        w.room(ROW_FIXED + texts.room(row.index));
        w.lit(if k > 0 { b",{\"id\":\"" } else { b"{\"id\":\"" });
        w.hex64(row.id);
        match row.parent_row.and_then(|p| trace.rows.get(p)) {
            Some(parent) => {
                w.lit(b"\",\"parentId\":\"");
                w.hex64(parent.id);
                w.lit(b"\",\"name\":");
            }
            None => w.lit(b"\",\"parentId\":null,\"name\":"),
        }
        ascii &= texts.write_name(&mut w, row.index);
        w.lit(b",\"start\":");
        w.time(row.start);
        w.lit(b",\"duration\":");
        let from = w.pos;
        w.time(row.duration);
        let to = w.pos;
        w.lit(b",\"exclusive\":");
        if row.exclusive == row.duration && to - from <= 32 {
            // (Room: num left 32 bytes past `to` at least.)
            // A leaf's exclusive time is its duration: copy the digits.
            w.buf.copy_within(from..from + 32, w.pos);
            w.pos += to - from;
        } else {
            w.time(row.exclusive);
        }
        w.lit(b",\"attributes\":{");
        ascii &= texts.write_attributes(&mut w, row.index);
        w.lit(if row.truncated {
            b"},\"truncated\":true}"
        } else {
            b"},\"truncated\":false}"
        });
    }
    w.room(2);
    w.lit(b"]}");
    (w.pos, ascii)
}
