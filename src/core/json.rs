//! The finished trace as JSON, built in one pass.
//!
//! Names and attributes live on the JS side; for JSON they arrive as one
//! UTF-16 string (`text`) and a list of numbers (`meta`) that says how to cut
//! it, in one of two formats.
//!
//! The plain format ([`decode`], `finishJson`), per segment in the table's
//! creation order:
//!
//! ```text
//! nameLength, attributeCount, then per attribute: keyLength, kind, value
//! ```
//!
//! The keyed format ([`decode_keyed`], `finishJsonKeyed`) sends each
//! attribute key once: the keys' texts start `text`, their lengths end
//! `meta` (from index `keyAt`), and an attribute names its key by its index
//! in that list:
//!
//! ```text
//! keyCount, keyAt,
//! then per segment: nameLength, attributeCount,
//!                   then per attribute: keyIndex, kind, value
//! then, at meta[keyAt..]: keyLength * keyCount
//! ```
//!
//! Numbers past `keyAt + keyCount` are ignored, as are numbers past the
//! last segment in the plain format.
//!
//! `kind` is 0 for a string (`value` is its length in `text`), 1 for a number
//! (`value` is the number), 2 for a boolean (`value` is 0 or 1). Lengths are
//! in UTF-16 code units; strings follow one another in `text` in the order
//! the numbers name them. Strings are escaped as `JSON.stringify` does,
//! lone surrogates included, so that `JSON.parse` gives back the very
//! strings the JS side holds. Both formats give the same JSON.

use super::ids::push_hex;
use super::num::{push_f64, write_f64, ROOM as NUM_ROOM};
use super::trace::Trace;

/// An attribute value, borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(&'a [u16]),
    Num(f64),
    Bool(bool),
}

/// Names and attributes of one segment, borrowed from the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct SegText<'a> {
    pub name: &'a [u16],
    pub attributes: Vec<(&'a [u16], Value<'a>)>,
}

/// Where a segment's texts and numbers are in a checked payload.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct SegAt {
    /// Its name: `text[name..text_at]`.
    name: usize,
    /// Index in `meta` of its first attribute.
    meta_at: usize,
    /// Index in `text` just past its name.
    text_at: usize,
    attributes: usize,
    /// UTF-16 units in its name, keys and string values.
    units: usize,
}

/// The lists a [`Texts`] keeps, reusable from one payload to the next
/// ([`Texts::into_buf`]), so that a warm decode allocates nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextsBuf {
    /// The keyed format's keys: where each is in the whole text.
    keys: Vec<(usize, usize)>,
    /// The keyed format's keys as JSON, `"key":`, one after another, and
    /// where each ends.
    key_json: Vec<u8>,
    key_ends: Vec<usize>,
    segments: Vec<SegAt>,
}

/// The names and attributes of a transaction's segments, in creation order:
/// a payload that [`decode`] or [`decode_keyed`] checked, and where each
/// segment starts in it (attributes are read again when written, so nothing
/// is allocated per attribute).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts<'a> {
    /// The segments' part of the payload.
    meta: &'a [f64],
    text: &'a [u16],
    /// The whole text (the keyed format's keys are at its start).
    all_text: &'a [u16],
    keyed: bool,
    keys_ascii: bool,
    buf: TextsBuf,
}

/// The attributes of one segment of a checked payload, in order.
pub struct Attributes<'t, 'a> {
    texts: &'t Texts<'a>,
    meta_at: usize,
    text_at: usize,
    left: usize,
}

/// One attribute: its key, the key's index in a keyed payload's list (or
/// `usize::MAX`), its value.
pub type Attribute<'a> = (&'a [u16], usize, Value<'a>);

impl<'a> Iterator for Attributes<'_, 'a> {
    type Item = Attribute<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let t = self.texts;
        let (meta, text) = (t.meta, t.text);
        let m = self.meta_at;
        let (key, index) = if t.keyed {
            let index = meta.get(m).copied().unwrap_or(0.0) as usize;
            let key = t
                .buf
                .keys
                .get(index)
                .and_then(|&(at, len)| t.all_text.get(at..at + len));
            (key, index)
        } else {
            let len = meta.get(m).copied().unwrap_or(0.0) as usize;
            let key = text.get(self.text_at..self.text_at + len);
            self.text_at += len;
            (key, usize::MAX)
        };
        let kind = meta.get(m + 1).copied().unwrap_or(0.0);
        let v = meta.get(m + 2).copied().unwrap_or(0.0);
        self.meta_at += 3;
        let value = if kind == 0.0 {
            let len = v as usize;
            let s = text.get(self.text_at..self.text_at + len).unwrap_or(&[]);
            self.text_at += len;
            Value::Str(s)
        } else if kind == 1.0 {
            Value::Num(v)
        } else {
            Value::Bool(v != 0.0)
        };
        Some((key.unwrap_or(&[]), index, value))
    }
}

impl<'a> Texts<'a> {
    pub fn len(&self) -> usize {
        self.buf.segments.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.segments.is_empty()
    }

    /// The lists, for the next decode.
    pub fn into_buf(self) -> TextsBuf {
        self.buf
    }

    /// The name of segment `i` (in creation order); empty when there is none.
    #[inline]
    pub fn name(&self, i: usize) -> &'a [u16] {
        self.buf
            .segments
            .get(i)
            .and_then(|s| self.text.get(s.name..s.text_at))
            .unwrap_or(&[])
    }

    /// The attributes of segment `i`, in order; none when there is no segment `i`.
    #[inline]
    pub fn attributes(&self, i: usize) -> Attributes<'_, 'a> {
        let at = self.buf.segments.get(i).copied().unwrap_or_default();
        Attributes {
            texts: self,
            meta_at: at.meta_at,
            text_at: at.text_at,
            left: at.attributes,
        }
    }

    /// The JSON of key `index` of a keyed payload, `"key":`.
    #[inline]
    fn key_json(&self, index: usize) -> Option<&[u8]> {
        let end = *self.buf.key_ends.get(index)?;
        let start = if index == 0 {
            0
        } else {
            self.buf.key_ends[index - 1]
        };
        self.buf.key_json.get(start..end)
    }

    /// Segment `i` as owned lists (for tests and debugging).
    pub fn segment(&self, i: usize) -> Option<SegText<'a>> {
        self.buf.segments.get(i)?;
        Some(SegText {
            name: self.name(i),
            attributes: self.attributes(i).map(|(k, _, v)| (k, v)).collect(),
        })
    }
}

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad trace payload: {}", self.0)
    }
}

impl std::error::Error for PayloadError {}

/// Reads `meta` and cuts `text` in order, refusing anything malformed.
struct Reader<'m, 'a> {
    meta: &'m [f64],
    at: usize,
    text: &'a [u16],
    pos: usize,
}

/// Errors are built out of line, so that the checks inline small.
#[cold]
#[inline(never)]
fn payload_error(why: std::fmt::Arguments<'_>) -> PayloadError {
    PayloadError(why.to_string())
}

/// True when `v` is a whole number in `0..=max` (`max` below 2^53).
#[inline(always)]
fn whole_up_to(v: f64, max: f64) -> bool {
    // `as` saturates and maps NaN to 0, so the round trip fails for NaN,
    // fractions and anything out of range.
    v >= 0.0 && v <= max && (v as i64) as f64 == v
}

impl<'m, 'a> Reader<'m, 'a> {
    #[inline(always)]
    fn number(&mut self, what: &str) -> Result<f64, PayloadError> {
        match self.meta.get(self.at) {
            Some(&v) => {
                self.at += 1;
                Ok(v)
            }
            None => Err(payload_error(format_args!("meta ends before {what}"))),
        }
    }

    /// A whole number in `0..=max`: `what` names it when missing, `name`
    /// when out of range.
    #[inline(always)]
    fn count(&mut self, what: &str, name: &str, max: f64) -> Result<usize, PayloadError> {
        let n = self.number(what)?;
        if !whole_up_to(n, max) {
            return Err(payload_error(format_args!("{name} {n}")));
        }
        Ok(n as usize)
    }

    #[inline(always)]
    fn take(&mut self, len: f64) -> Result<&'a [u16], PayloadError> {
        let left = self.text.len() - self.pos;
        // Whole and not negative (every f64 from 2^52 up is whole); a whole
        // length past the text is "text ends early", however large.
        let whole = if len >= 4_503_599_627_370_496.0 {
            len.is_finite()
        } else {
            whole_up_to(len, 4_503_599_627_370_496.0)
        };
        if !whole {
            return Err(payload_error(format_args!("length {len}")));
        }
        if len > (left as i64) as f64 {
            return Err(payload_error(format_args!("text ends early")));
        }
        let end = self.pos + len as usize;
        let s = &self.text[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    #[inline(always)]
    fn value(&mut self) -> Result<Value<'a>, PayloadError> {
        let kind = self.number("a kind")?;
        let v = self.number("a value")?;
        if kind == 0.0 {
            Ok(Value::Str(self.take(v)?))
        } else if kind == 1.0 {
            Ok(Value::Num(v))
        } else if kind == 2.0 {
            Ok(Value::Bool(v != 0.0))
        } else {
            Err(payload_error(format_args!("kind {kind}")))
        }
    }
}

/// Largest attribute count a segment may claim.
const MAX_ATTRIBUTES: f64 = 65536.0;
/// Largest key count a keyed payload may claim.
const MAX_KEYS: f64 = 16_777_216.0;

/// Checks `meta` and `text` (the plain format) for `count` segments.
pub fn decode<'a>(
    meta: &'a [f64],
    text: &'a [u16],
    count: usize,
) -> Result<Texts<'a>, PayloadError> {
    decode_into(meta, text, count, TextsBuf::default())
}

/// [`decode`], reusing `buf`'s lists.
pub fn decode_into<'a>(
    meta: &'a [f64],
    text: &'a [u16],
    count: usize,
    buf: TextsBuf,
) -> Result<Texts<'a>, PayloadError> {
    decode_with(meta, text, text, count, false, buf)
}

/// Checks `meta` and `text` (the keyed format) for `count` segments.
pub fn decode_keyed<'a>(
    meta: &'a [f64],
    text: &'a [u16],
    count: usize,
) -> Result<Texts<'a>, PayloadError> {
    decode_keyed_into(meta, text, count, TextsBuf::default())
}

/// [`decode_keyed`], reusing `buf`'s lists.
pub fn decode_keyed_into<'a>(
    meta: &'a [f64],
    text: &'a [u16],
    count: usize,
    mut buf: TextsBuf,
) -> Result<Texts<'a>, PayloadError> {
    let mut r = Reader {
        meta,
        at: 0,
        text,
        pos: 0,
    };
    let n = r.count("a key count", "key count", MAX_KEYS)?;
    let key_at = r.count(
        "the key lengths' index",
        "key lengths' index",
        9_007_199_254_740_991.0,
    )?;
    if key_at < 2 || key_at > meta.len() || meta.len() - key_at < n {
        return Err(payload_error(format_args!(
            "{n} key lengths at {key_at} in a meta of {}",
            meta.len()
        )));
    }
    buf.keys.clear();
    buf.key_json.clear();
    buf.key_ends.clear();
    r.at = key_at;
    let mut keys_ascii = true;
    for _ in 0..n {
        let len = r.number("a key length")?;
        let at = r.pos;
        let key = r.take(len)?;
        buf.keys.push((at, key.len()));
        keys_ascii &= push_str(&mut buf.key_json, key);
        buf.key_json.push(b':');
        buf.key_ends.push(buf.key_json.len());
    }
    let mut texts = decode_with(&meta[2..key_at], &text[r.pos..], text, count, true, buf)?;
    texts.keys_ascii = keys_ascii;
    Ok(texts)
}

fn decode_with<'a>(
    meta: &'a [f64],
    text: &'a [u16],
    all_text: &'a [u16],
    count: usize,
    keyed: bool,
    mut buf: TextsBuf,
) -> Result<Texts<'a>, PayloadError> {
    let mut r = Reader {
        meta,
        at: 0,
        text,
        pos: 0,
    };
    // Each segment takes at least two numbers of meta.
    buf.segments.clear();
    buf.segments.reserve(count.min(meta.len() / 2 + 1));
    let keys = &buf.keys;
    for _ in 0..count {
        let len = r.number("a name length")?;
        let name = r.pos;
        r.take(len)?;
        let n = r.count("an attribute count", "attribute count", MAX_ATTRIBUTES)?;
        let (meta_at, text_at) = (r.at, r.pos);
        let mut key_units = 0;
        for _ in 0..n {
            if keyed {
                let k = r.number("a key index")?;
                match keys.get(k as usize) {
                    Some(&(_, len)) if whole_up_to(k, MAX_KEYS) => key_units += len,
                    _ => return Err(payload_error(format_args!("key index {k}"))),
                }
            } else {
                let len = r.number("a key length")?;
                r.take(len)?;
            }
            r.value()?;
        }
        buf.segments.push(SegAt {
            name,
            meta_at,
            text_at,
            attributes: n,
            units: (text_at - name) + key_units + (r.pos - text_at),
        });
    }
    Ok(Texts {
        meta,
        text,
        all_text,
        keyed,
        keys_ascii: true,
        buf,
    })
}

/// Two hex digits per byte value.
const HEX_PAIRS: &[u8; 512] = b"000102030405060708090a0b0c0d0e0f\
101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\
303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f\
505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f\
707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f\
909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf\
b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf\
d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef\
f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/// Appends `v` as 16 lowercase hex digits.
#[inline]
pub fn push_hex64(out: &mut Vec<u8>, v: u64) {
    let mut b = [0u8; 16];
    for (i, pair) in b.chunks_exact_mut(2).enumerate() {
        let byte = (v >> (56 - 8 * i)) as u8 as usize;
        pair.copy_from_slice(&HEX_PAIRS[2 * byte..2 * byte + 2]);
    }
    out.extend_from_slice(&b);
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
/// Most bytes one UTF-16 unit of a string can take (`\uXXXX`).
const PER_UNIT: usize = 6;
/// Most bytes an attribute takes besides its key's and value's units.
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

    #[inline(always)]
    fn hex64(&mut self, v: u64) {
        let b = &mut self.buf[self.pos..self.pos + 16];
        for (i, pair) in b.chunks_exact_mut(2).enumerate() {
            let byte = (v >> (56 - 8 * i)) as u8 as usize;
            pair.copy_from_slice(&HEX_PAIRS[2 * byte..2 * byte + 2]);
        }
        self.pos += 16;
    }

    /// A number as [`push_num`] writes it (needs 32 bytes of room: it
    /// writes at most 30 and uses the scratch [`Writer::room`] keeps past
    /// the room; takes more itself for the rare number that prints longer).
    #[inline]
    pub(crate) fn num(&mut self, v: f64) {
        let written = match self.buf.get_mut(self.pos..self.pos + NUM_ROOM) {
            Some(dst) => write_f64(dst, v),
            None => None,
        };
        match written {
            Some(n) => self.pos += n,
            None => self.long_num(v),
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

    /// A string as [`push_str`] writes it (needs `2 + PER_UNIT * len` bytes
    /// of room). Returns false when it wrote a byte outside ASCII.
    #[inline]
    pub(crate) fn str(&mut self, s: &[u16]) -> bool {
        // One pass: copy every unit as a byte and note whether any needed
        // more (no branch per unit, so that it vectorises); most strings
        // need no escape and are ASCII.
        let dst = &mut self.buf[self.pos..self.pos + s.len() + 2];
        dst[0] = b'"';
        let mut bad = false;
        for (d, &u) in dst[1..].iter_mut().zip(s) {
            *d = u as u8;
            bad |= !plain(u);
        }
        dst[s.len() + 1] = b'"';
        if !bad {
            self.pos += s.len() + 2;
            true
        } else {
            let mut v = Vec::with_capacity(2 + PER_UNIT * s.len());
            let ascii = push_str(&mut v, s);
            self.lit(&v);
            ascii
        }
    }
}

/// Where the names and attributes of a trace's segments come from, by
/// segment in the table's creation order (the order of `Row::index`): a
/// checked payload ([`Texts`]) or the store's own arrays
/// (`core::strings::ArenaTexts`). Each writes what [`push_str`] and
/// [`push_num`] would, so both give the same JSON.
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
    /// False when something written without a check (a payload's key
    /// list) is not all ASCII.
    fn ascii(&self) -> bool {
        true
    }
}

impl Source for Texts<'_> {
    #[inline]
    fn room(&self, i: usize) -> usize {
        self.buf
            .segments
            .get(i)
            .map_or(0, |s| PER_UNIT * s.units + PER_ATTRIBUTE * s.attributes)
    }

    #[inline]
    fn write_name(&self, w: &mut Writer<'_>, i: usize) -> bool {
        w.str(self.name(i))
    }

    #[inline]
    fn write_attributes(&self, w: &mut Writer<'_>, i: usize) -> bool {
        let mut ascii = true;
        for (k, (key, index, value)) in self.attributes(i).enumerate() {
            if k > 0 {
                w.byte(b',');
            }
            match self.key_json(index) {
                Some(json) => w.lit(json),
                None => {
                    ascii &= w.str(key);
                    w.byte(b':');
                }
            }
            match value {
                Value::Str(s) => ascii &= w.str(s),
                Value::Num(v) => w.num(v),
                Value::Bool(true) => w.lit(b"true"),
                Value::Bool(false) => w.lit(b"false"),
            }
        }
        ascii
    }

    fn ascii(&self) -> bool {
        self.keys_ascii
    }
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
    w.num(trace.duration);
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
        w.num(row.start);
        w.lit(b",\"duration\":");
        let from = w.pos;
        w.num(row.duration);
        let to = w.pos;
        w.lit(b",\"exclusive\":");
        if row.exclusive.to_bits() == row.duration.to_bits() && to - from <= 32 {
            // (Room: num left 32 bytes past `to` at least.)
            // A leaf's exclusive time is its duration: copy the digits.
            w.buf.copy_within(from..from + 32, w.pos);
            w.pos += to - from;
        } else {
            w.num(row.exclusive);
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
    (w.pos, ascii && texts.ascii())
}
