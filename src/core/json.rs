//! The finished trace as JSON, built in one pass.
//!
//! Names and attributes live on the JS side; for JSON they arrive as one
//! UTF-16 string (`text`) and a list of numbers (`meta`) that says how to cut
//! it. Per segment, in the table's creation order:
//!
//! ```text
//! nameLength, attributeCount, then per attribute: keyLength, kind, value
//! ```
//!
//! `kind` is 0 for a string (`value` is its length in `text`), 1 for a number
//! (`value` is the number), 2 for a boolean (`value` is 0 or 1). Lengths are
//! in UTF-16 code units. Strings are escaped as `JSON.stringify` does,
//! lone surrogates included, so that `JSON.parse` gives back the very
//! strings the JS side holds.

use super::ids::push_hex;
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

/// Why a payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad trace payload: {}", self.0)
    }
}

impl std::error::Error for PayloadError {}

/// Cuts `text` by `meta` into `count` segments.
pub fn decode<'a>(
    meta: &[f64],
    text: &'a [u16],
    count: usize,
) -> Result<Vec<SegText<'a>>, PayloadError> {
    let mut m = meta.iter().copied();
    let mut pos = 0usize;
    let mut number = |what: &str| -> Result<f64, PayloadError> {
        m.next()
            .ok_or_else(|| PayloadError(format!("meta ends before {what}")))
    };
    let mut take = |len: f64| -> Result<&'a [u16], PayloadError> {
        if len.is_nan() || len < 0.0 || len.fract() != 0.0 {
            return Err(PayloadError(format!("length {len}")));
        }
        let end = pos
            .checked_add(len as usize)
            .filter(|&e| e <= text.len())
            .ok_or_else(|| PayloadError("text ends early".into()))?;
        let s = &text[pos..end];
        pos = end;
        Ok(s)
    };
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let name = take(number("a name length")?)?;
        let n = number("an attribute count")?;
        if !(0.0..=65536.0).contains(&n) || n.fract() != 0.0 {
            return Err(PayloadError(format!("attribute count {n}")));
        }
        let mut attributes = Vec::with_capacity(n as usize);
        for _ in 0..n as usize {
            let key = take(number("a key length")?)?;
            let kind = number("a kind")?;
            let v = number("a value")?;
            let value = match kind as u32 {
                0 if kind == 0.0 => Value::Str(take(v)?),
                1 if kind == 1.0 => Value::Num(v),
                2 if kind == 2.0 => Value::Bool(v != 0.0),
                _ => return Err(PayloadError(format!("kind {kind}"))),
            };
            attributes.push((key, value));
        }
        out.push(SegText { name, attributes });
    }
    Ok(out)
}

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` does:
/// `"` and `\`, the short escapes for control characters and `\u00xx` for
/// the others, lone surrogates as `\udxxx`, everything else as UTF-8.
pub fn push_str(out: &mut Vec<u8>, s: &[u16]) {
    out.push(b'"');
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
                out.extend_from_slice(&[0xc0 | (u >> 6) as u8, 0x80 | (u & 0x3f) as u8])
            }
            0xd800..=0xdbff if i < s.len() && (0xdc00..=0xdfff).contains(&s[i]) => {
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
            _ => out.extend_from_slice(&[
                0xe0 | (u >> 12) as u8,
                0x80 | ((u >> 6) & 0x3f) as u8,
                0x80 | (u & 0x3f) as u8,
            ]),
        }
    }
    out.push(b'"');
}

fn push_unit_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    push_hex(out, unit as u128, 4);
}

/// Appends a number as JSON. Rust prints the shortest decimal that reads
/// back as the same `f64` (never an exponent, `-0` for negative zero), so
/// `JSON.parse` recovers the exact value. Non-finite numbers, which JSON
/// cannot hold, become `null`. (Ryu was tried: on this machine it cost the
/// same 90-100 ns a number as std, so it did not earn a dependency.)
pub fn push_num(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if v.is_finite() {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{v}");
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The whole trace as JSON. `texts` is in the table's creation order (the
/// order of `Row::index`); `time_origin` turns the root's start into epoch
/// milliseconds.
pub fn trace_json(trace: &Trace, texts: &[SegText<'_>], time_origin: f64) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(256 + trace.rows.len() * 256);
    out.extend_from_slice(b"{\"traceId\":\"");
    push_hex(&mut out, trace.trace_id, 32);
    out.extend_from_slice(b"\",\"name\":");
    match texts.first() {
        Some(t) => push_str(&mut out, t.name),
        None => out.extend_from_slice(b"\"\""),
    }
    out.extend_from_slice(b",\"startTime\":");
    push_num(&mut out, time_origin + trace.start);
    out.extend_from_slice(b",\"duration\":");
    push_num(&mut out, trace.duration);
    out.extend_from_slice(b",\"segmentCount\":");
    push_num(&mut out, trace.rows.len() as f64);
    out.extend_from_slice(b",\"droppedSegments\":");
    push_num(&mut out, trace.dropped as f64);
    out.extend_from_slice(b",\"segments\":[");
    for (k, row) in trace.rows.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":\"");
        push_hex(&mut out, row.id as u128, 16);
        out.extend_from_slice(b"\",\"parentId\":");
        match row.parent_row {
            Some(p) => {
                out.push(b'"');
                push_hex(&mut out, trace.rows[p].id as u128, 16);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"name\":");
        let text = texts.get(row.index);
        push_str(&mut out, text.map_or(&[][..], |t| t.name));
        out.extend_from_slice(b",\"start\":");
        push_num(&mut out, row.start);
        out.extend_from_slice(b",\"duration\":");
        push_num(&mut out, row.duration);
        out.extend_from_slice(b",\"exclusive\":");
        push_num(&mut out, row.exclusive);
        out.extend_from_slice(b",\"attributes\":{");
        if let Some(t) = text {
            for (i, (key, value)) in t.attributes.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_str(&mut out, key);
                out.push(b':');
                match value {
                    Value::Str(s) => push_str(&mut out, s),
                    Value::Num(v) => push_num(&mut out, *v),
                    Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                }
            }
        }
        out.extend_from_slice(b"},\"truncated\":");
        out.extend_from_slice(if row.truncated { b"true" } else { b"false" });
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    // Only whole UTF-8 sequences were written, so this cannot fail; the
    // check costs far less than the rest and keeps this function safe.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
