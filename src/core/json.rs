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
        if !(0.0..=65536.0).contains(&n) {
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

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` does.
pub fn push_str(out: &mut String, s: &[u16]) {
    out.push('"');
    for r in char::decode_utf16(s.iter().copied()) {
        match r {
            Ok('"') => out.push_str("\\\""),
            Ok('\\') => out.push_str("\\\\"),
            Ok('\n') => out.push_str("\\n"),
            Ok('\r') => out.push_str("\\r"),
            Ok('\t') => out.push_str("\\t"),
            Ok('\u{8}') => out.push_str("\\b"),
            Ok('\u{c}') => out.push_str("\\f"),
            Ok(c) if (c as u32) < 0x20 => push_unit_escape(out, c as u16),
            Ok(c) => out.push(c),
            Err(e) => push_unit_escape(out, e.unpaired_surrogate()),
        }
    }
    out.push('"');
}

fn push_unit_escape(out: &mut String, unit: u16) {
    out.push_str("\\u");
    push_hex(out, unit as u128, 4);
}

/// Appends a number as JSON. Rust prints the shortest decimal that reads
/// back as the same `f64`, so `JSON.parse` recovers the exact value;
/// non-finite numbers, which JSON cannot hold, become `null`.
pub fn push_num(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str("null");
    }
}

/// The whole trace as JSON. `texts` is in the table's creation order (the
/// order of `Row::index`); `time_origin` turns the root's start into epoch
/// milliseconds.
pub fn trace_json(trace: &Trace, texts: &[SegText<'_>], time_origin: f64) -> String {
    let mut out = String::with_capacity(128 + trace.rows.len() * 160);
    out.push_str("{\"traceId\":\"");
    push_hex(&mut out, trace.trace_id, 32);
    out.push_str("\",\"name\":");
    match texts.first() {
        Some(t) => push_str(&mut out, t.name),
        None => out.push_str("\"\""),
    }
    out.push_str(",\"startTime\":");
    push_num(&mut out, time_origin + trace.start);
    out.push_str(",\"duration\":");
    push_num(&mut out, trace.duration);
    out.push_str(",\"segmentCount\":");
    push_num(&mut out, trace.rows.len() as f64);
    out.push_str(",\"droppedSegments\":");
    push_num(&mut out, trace.dropped as f64);
    out.push_str(",\"segments\":[");
    for (k, row) in trace.rows.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":\"");
        push_hex(&mut out, row.id as u128, 16);
        out.push_str("\",\"parentId\":");
        match row.parent_row {
            Some(p) => {
                out.push('"');
                push_hex(&mut out, trace.rows[p].id as u128, 16);
                out.push('"');
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"name\":");
        let text = texts.get(row.index);
        push_str(&mut out, text.map_or(&[][..], |t| t.name));
        out.push_str(",\"start\":");
        push_num(&mut out, row.start);
        out.push_str(",\"duration\":");
        push_num(&mut out, row.duration);
        out.push_str(",\"exclusive\":");
        push_num(&mut out, row.exclusive);
        out.push_str(",\"attributes\":{");
        if let Some(t) = text {
            for (i, (key, value)) in t.attributes.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_str(&mut out, key);
                out.push(':');
                match value {
                    Value::Str(s) => push_str(&mut out, s),
                    Value::Num(v) => push_num(&mut out, *v),
                    Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                }
            }
        }
        out.push_str("},\"truncated\":");
        out.push_str(if row.truncated { "true" } else { "false" });
        out.push('}');
    }
    out.push_str("]}");
    out
}
