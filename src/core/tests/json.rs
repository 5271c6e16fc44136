//! The payload decoder and the JSON writer.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::core::ids::Ids;
use crate::core::json::{
    decode, decode_keyed, push_num, push_str, trace_json, write_trace_json, PayloadError, SegText,
    Texts, Value,
};
use crate::core::trace::{Row, Trace};

fn u16s(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// Builds a payload the way `lib/store/payload.js` does.
#[derive(Default)]
struct Payload {
    meta: Vec<f64>,
    text: Vec<u16>,
}

#[derive(Clone, Copy)]
enum A<'a> {
    S(&'a str),
    N(f64),
    B(bool),
}

impl Payload {
    fn push_text(&mut self, s: &str) -> f64 {
        let u = u16s(s);
        self.text.extend_from_slice(&u);
        u.len() as f64
    }

    fn seg(mut self, name: &str, attrs: &[(&str, A<'_>)]) -> Self {
        let n = self.push_text(name);
        self.meta.push(n);
        self.meta.push(attrs.len() as f64);
        for (k, v) in attrs {
            let n = self.push_text(k);
            self.meta.push(n);
            match v {
                A::S(s) => {
                    self.meta.push(0.0);
                    let n = self.push_text(s);
                    self.meta.push(n);
                }
                A::N(x) => {
                    self.meta.push(1.0);
                    self.meta.push(*x);
                }
                A::B(b) => {
                    self.meta.push(2.0);
                    self.meta.push(if *b { 1.0 } else { 0.0 });
                }
            }
        }
        self
    }
}

// ---------------------------------------------------------------- decode

#[test]
fn decode_reads_names_and_attributes() {
    let p = Payload::default()
        .seg("GET /", &[("http.status", A::N(200.0)), ("ok", A::B(true))])
        .seg("", &[])
        .seg(
            "db",
            &[
                ("sql", A::S("SELECT 1")),
                ("", A::S("")),
                ("f", A::B(false)),
            ],
        );
    let texts = decode(&p.meta, &p.text, 3).unwrap();
    assert_eq!(texts.len(), 3);
    let out: Vec<SegText<'_>> = (0..3).map(|i| texts.segment(i).unwrap()).collect();
    assert_eq!(texts.segment(3), None);
    assert_eq!(out[0].name, &u16s("GET /")[..]);
    assert_eq!(out[0].attributes.len(), 2);
    assert_eq!(out[0].attributes[0].0, &u16s("http.status")[..]);
    assert_eq!(out[0].attributes[0].1, Value::Num(200.0));
    assert_eq!(out[0].attributes[1].1, Value::Bool(true));
    assert!(out[1].name.is_empty() && out[1].attributes.is_empty());
    let sql = u16s("SELECT 1");
    assert_eq!(out[2].attributes[0].1, Value::Str(&sql));
    assert_eq!(out[2].attributes[1], (&[][..], Value::Str(&[])));
    assert_eq!(out[2].attributes[2].1, Value::Bool(false));
    assert!(decode(&[], &[], 0).unwrap().is_empty());
}

fn rejects(meta: &[f64], text: &[u16], count: usize, what: &str) {
    let r = catch_unwind(AssertUnwindSafe(|| decode(meta, text, count)));
    match r {
        Ok(Err(PayloadError(_))) => {}
        Ok(Ok(v)) => panic!("{what}: accepted as {v:?}"),
        Err(_) => panic!("{what}: panicked"),
    }
}

#[test]
fn decode_rejects_short_meta() {
    let text = u16s("abcdef");
    rejects(&[], &text, 1, "empty meta");
    rejects(&[1.0], &text, 1, "no attribute count");
    rejects(&[1.0, 1.0], &text, 1, "no key length");
    rejects(&[1.0, 1.0, 1.0], &text, 1, "no kind");
    rejects(&[1.0, 1.0, 1.0, 1.0], &text, 1, "no value");
    rejects(&[1.0, 0.0], &text, 2, "second segment missing");
}

#[test]
fn decode_rejects_lengths_beyond_the_text() {
    let text = u16s("abc");
    assert!(decode(&[3.0, 0.0], &text, 1).is_ok());
    rejects(&[4.0, 0.0], &text, 1, "name");
    rejects(&[2.0, 1.0, 1.0, 0.0, 1.0], &text, 1, "string value");
    rejects(&[2.0, 1.0, 2.0, 1.0, 5.0], &text, 1, "key");
    rejects(&[2.0, 0.0, 2.0, 0.0], &text, 2, "second name");
    rejects(&[1e300, 0.0], &text, 1, "huge");
    rejects(&[(1u64 << 63) as f64, 0.0], &text, 1, "2^63");
}

#[test]
fn decode_rejects_bad_lengths() {
    let text = u16s("abcdef");
    for len in [
        -1.0,
        -0.5,
        1.5,
        0.25,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        rejects(&[len, 0.0], &text, 1, &format!("name length {len}"));
        rejects(
            &[1.0, 1.0, len, 1.0, 0.0],
            &text,
            1,
            &format!("key length {len}"),
        );
        rejects(
            &[1.0, 1.0, 1.0, 0.0, len],
            &text,
            1,
            &format!("value length {len}"),
        );
    }
}

#[test]
fn decode_rejects_bad_attribute_counts() {
    let text = u16s("abcdef");
    for n in [-1.0, 65537.0, f64::NAN, f64::INFINITY, 1e300] {
        rejects(&[1.0, n], &text, 1, &format!("attribute count {n}"));
    }
}

/// Lengths must be whole numbers (checked above); an attribute count of 1.5
/// is just as malformed and must not be read as 1.
#[test]
fn decode_rejects_a_fractional_attribute_count() {
    let text = u16s("abcdef");
    rejects(&[1.0, 1.5, 1.0, 1.0, 7.0], &text, 1, "attribute count 1.5");
    rejects(&[1.0, 0.5], &text, 1, "attribute count 0.5");
}

#[test]
fn decode_rejects_bad_kinds() {
    let text = u16s("abcdef");
    for kind in [
        3.0,
        -1.0,
        0.5,
        1.5,
        2.5,
        f64::NAN,
        f64::INFINITY,
        4294967296.0,
        256.0,
    ] {
        rejects(
            &[1.0, 1.0, 1.0, kind, 0.0],
            &text,
            1,
            &format!("kind {kind}"),
        );
    }
}

/// Random payloads: any answer is fine, a panic is not.
#[test]
fn decode_never_panics() {
    let palette = [
        0.0,
        1.0,
        2.0,
        3.0,
        4.0,
        -1.0,
        0.5,
        f64::NAN,
        f64::INFINITY,
        1e300,
        65536.0,
        -0.0,
        7.0,
    ];
    let mut rng = Ids::with_seed(99);
    let text = u16s("0123456789abcdef");
    let mut ok = 0;
    for _ in 0..20_000 {
        let len = rng.below(12) as usize;
        let meta: Vec<f64> = (0..len)
            .map(|_| {
                // Mostly small numbers, so that some payloads are valid.
                if rng.below(3) == 0 {
                    palette[rng.below(palette.len() as u32 - 1) as usize]
                } else {
                    rng.below(3) as f64
                }
            })
            .collect();
        let tlen = rng.below(text.len() as u32) as usize;
        let count = rng.below(3) as usize;
        let r = catch_unwind(AssertUnwindSafe(|| decode(&meta, &text[..tlen], count)));
        match r {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => {}
            Err(_) => panic!("decode panicked on meta {meta:?}, text {tlen}, count {count}"),
        }
    }
    assert!(
        ok > 100,
        "only {ok} valid payloads: the generator is too harsh"
    );
}

// ---------------------------------------------------------------- push_str

fn esc_units(units: &[u16]) -> String {
    let mut out = Vec::new();
    push_str(&mut out, units);
    String::from_utf8(out).expect("push_str wrote invalid UTF-8")
}

fn esc(s: &str) -> String {
    esc_units(&u16s(s))
}

#[test]
fn push_str_escapes_like_json_stringify() {
    // Expected strings are what Node's JSON.stringify prints.
    assert_eq!(esc(""), r#""""#);
    assert_eq!(esc("plain text"), r#""plain text""#);
    assert_eq!(esc("\""), r#""\"""#);
    assert_eq!(esc("\\"), r#""\\""#);
    assert_eq!(esc("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
    assert_eq!(
        esc("\u{0}\u{1}\u{b}\u{1b}\u{1f}\u{7f}"),
        "\"\\u0000\\u0001\\u000b\\u001b\\u001f\u{7f}\""
    );
    assert_eq!(esc("\u{2028}\u{2029}/"), "\"\u{2028}\u{2029}/\"");
    assert_eq!(esc("é😀"), "\"é😀\"");
    assert_eq!(esc("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
    // One character of each UTF-8 length, at the edges of each range.
    let edges = "\u{7f}\u{80}\u{7ff}\u{800}\u{d7ff}\u{e000}\u{fffd}\u{ffff}\u{10000}\u{10ffff}";
    assert_eq!(esc(edges), format!("\"{edges}\""));
}

#[test]
fn push_str_escapes_lone_surrogates_in_lowercase() {
    assert_eq!(esc_units(&[0xd800]), r#""\ud800""#);
    assert_eq!(esc_units(&[0xdc00]), r#""\udc00""#);
    assert_eq!(esc_units(&[0xdbff]), r#""\udbff""#);
    assert_eq!(esc_units(&[0xdfff]), r#""\udfff""#);
    assert_eq!(esc_units(&[0xd83d, 0x41]), r#""\ud83dA""#);
    assert_eq!(esc_units(&[0xde00, 0xd83d]), r#""\ude00\ud83d""#);
    assert_eq!(esc_units(&[0xd83d, 0xd83d, 0xde00]), "\"\\ud83d😀\"");
    assert_eq!(esc_units(&[0xd83d, 0xde00]), "\"😀\"");
    assert_eq!(esc_units(&[0x41, 0xdc00, 0x42]), r#""A\udc00B""#);
}

/// JSON.stringify's QuoteJSONString, written from the specification, for
/// every single code unit and every pair of a surrogate with a neighbour.
fn spec_quote(units: &[u16]) -> String {
    let mut out = String::from("\"");
    for r in char::decode_utf16(units.iter().copied()) {
        let unit_escape = |out: &mut String, u: u32| out.push_str(&format!("\\u{u:04x}"));
        match r {
            Ok(c) => match c as u32 {
                0x08 => out.push_str("\\b"),
                0x09 => out.push_str("\\t"),
                0x0a => out.push_str("\\n"),
                0x0c => out.push_str("\\f"),
                0x0d => out.push_str("\\r"),
                0x22 => out.push_str("\\\""),
                0x5c => out.push_str("\\\\"),
                u if u < 0x20 => unit_escape(&mut out, u),
                _ => out.push(c),
            },
            Err(e) => unit_escape(&mut out, e.unpaired_surrogate() as u32),
        }
    }
    out.push('"');
    out
}

#[test]
fn push_str_matches_the_specification_for_every_code_unit() {
    for u in 0..=0xffffu16 {
        assert_eq!(esc_units(&[u]), spec_quote(&[u]), "unit {u:04x}");
        assert_eq!(esc_units(&[0x41, u, 0x42]), spec_quote(&[0x41, u, 0x42]));
    }
    for hi in (0xd800..=0xdbffu16).step_by(7) {
        for lo in (0xdc00..=0xdfffu16).step_by(13) {
            let pair = [hi, lo];
            let got = esc_units(&pair);
            assert_eq!(got, spec_quote(&pair));
            assert_eq!(got.chars().count(), 3, "a valid pair is one raw character");
            assert_eq!(esc_units(&[lo, hi]), spec_quote(&[lo, hi]));
        }
    }
}

// ---------------------------------------------------------------- push_num

fn num(v: f64) -> String {
    let mut out = Vec::new();
    push_num(&mut out, v);
    String::from_utf8(out).expect("push_num wrote invalid UTF-8")
}

/// JSON's number grammar.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        if i == from {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let from = i;
        while b.get(i).is_some_and(|c| c.is_ascii_digit()) {
            i += 1;
        }
        if i == from {
            return false;
        }
    }
    i == b.len()
}

fn round_trips(v: f64) {
    let s = num(v);
    assert!(
        is_json_number(&s),
        "{v:e} printed as {s:?}, not a JSON number"
    );
    let back: f64 = s.parse().unwrap();
    assert_eq!(back.to_bits(), v.to_bits(), "{v:e} printed as {s}");
}

#[test]
fn push_num_prints_short_exact_numbers() {
    assert_eq!(num(0.0), "0");
    assert_eq!(num(-0.0), "-0");
    assert_eq!(num(1.0), "1");
    assert_eq!(num(0.1), "0.1");
    assert_eq!(num(0.1 + 0.2), "0.30000000000000004");
    assert_eq!(num(12.25), "12.25");
    assert_eq!(num(-1.5), "-1.5");
    assert_eq!(num(200.0), "200");
    assert_eq!(num(123456789.125), "123456789.125");
    assert_eq!(num(9007199254740992.0), "9007199254740992");
    assert_eq!(num(1e21), "1000000000000000000000");
    let tiny = num(5e-324);
    assert!(tiny.starts_with("0.000") && tiny.ends_with('5'), "{tiny}");
    for v in [
        0.1,
        1.0 / 3.0,
        2.0 / 3.0,
        1e21,
        1e-7,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        -0.0,
        9007199254740993.0,
        1234.5678,
        1e100,
        -2.5e-300,
    ] {
        round_trips(v);
    }
    let mut rng = Ids::with_seed(2024);
    let mut tried = 0;
    while tried < 20_000 {
        let v = f64::from_bits(rng.span_id());
        if v.is_finite() {
            round_trips(v);
            tried += 1;
        }
    }
}

#[test]
fn push_num_writes_null_for_non_finite() {
    assert_eq!(num(f64::NAN), "null");
    assert_eq!(num(f64::INFINITY), "null");
    assert_eq!(num(f64::NEG_INFINITY), "null");
    assert_eq!(num(-f64::NAN), "null");
    let mut out = b"[".to_vec();
    push_num(&mut out, 1.0);
    assert_eq!(out, b"[1", "push_num appends");
}

// ---------------------------------------------------------------- trace_json

fn row(index: usize, parent_row: Option<usize>, t: [f64; 3], truncated: bool, id: u64) -> Row {
    Row {
        index,
        parent_row,
        start: t[0],
        duration: t[1],
        exclusive: t[2],
        truncated,
        id,
    }
}

#[test]
fn trace_json_of_a_small_trace() {
    // Creation order: 0 root, 1 db, 2 cache, 3 row under db.
    let trace = Trace {
        trace_id: 0x0123_4567_89ab_cdef_0011_2233_4455_6677,
        start: 2.5,
        duration: 10.0,
        dropped: 3,
        rows: vec![
            row(0, None, [0.0, 10.0, 6.5], false, 0x1111_1111_1111_1111),
            row(2, Some(0), [0.5, 1.0, 1.0], false, 0xa),
            row(1, Some(0), [1.5, 2.5, 2.25], true, 0xfedc_ba98_7654_3210),
            row(3, Some(2), [1.75, 0.25, 0.25], false, 0x0000_00ff_0000_0001),
        ],
    };
    let p = Payload::default()
        .seg(
            "GET /x",
            &[
                ("http.status", A::N(200.0)),
                ("ok", A::B(true)),
                ("ratio", A::N(f64::NAN)),
            ],
        )
        .seg("db \"q\"", &[("sql", A::S("SELECT\n1"))])
        .seg("cache", &[])
        .seg("row", &[("n", A::N(-0.5)), ("hit", A::B(false))]);
    let texts = decode(&p.meta, &p.text, 4).unwrap();
    let got = trace_json(&trace, &texts, 1000.0);
    let want = concat!(
        r#"{"traceId":"0123456789abcdef0011223344556677","name":"GET /x","#,
        r#""startTime":1002.5,"duration":10,"segmentCount":4,"droppedSegments":3,"#,
        r#""segments":["#,
        r#"{"id":"1111111111111111","parentId":null,"name":"GET /x","start":0,"#,
        r#""duration":10,"exclusive":6.5,"#,
        r#""attributes":{"http.status":200,"ok":true,"ratio":null},"truncated":false},"#,
        r#"{"id":"000000000000000a","parentId":"1111111111111111","name":"cache","#,
        r#""start":0.5,"duration":1,"exclusive":1,"attributes":{},"truncated":false},"#,
        r#"{"id":"fedcba9876543210","parentId":"1111111111111111","name":"db \"q\"","#,
        r#""start":1.5,"duration":2.5,"exclusive":2.25,"#,
        r#""attributes":{"sql":"SELECT\n1"},"truncated":true},"#,
        r#"{"id":"000000ff00000001","parentId":"fedcba9876543210","name":"row","#,
        r#""start":1.75,"duration":0.25,"exclusive":0.25,"#,
        r#""attributes":{"n":-0.5,"hit":false},"truncated":false}"#,
        r#"]}"#,
    );
    assert_eq!(got, want);
}

#[test]
fn trace_json_without_texts() {
    let trace = Trace {
        trace_id: 1,
        start: 0.0,
        duration: 0.0,
        dropped: 0,
        rows: vec![row(0, None, [0.0, 0.0, 0.0], false, 2)],
    };
    assert_eq!(
        trace_json(&trace, &Texts::default(), 0.0),
        concat!(
            r#"{"traceId":"00000000000000000000000000000001","name":"","startTime":0,"#,
            r#""duration":0,"segmentCount":1,"droppedSegments":0,"segments":["#,
            r#"{"id":"0000000000000002","parentId":null,"name":"","start":0,"duration":0,"#,
            r#""exclusive":0,"attributes":{},"truncated":false}]}"#
        )
    );
}

/// Numbers that print long (`{}` never uses an exponent), in every place a
/// number goes, and in rows that need room for the rest after them.
#[test]
fn trace_json_writes_long_numbers_everywhere() {
    let long = [
        1e300,
        -1e300,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        0.5,
        f64::NAN,
    ];
    for &v in &long {
        let trace = Trace {
            trace_id: 7,
            start: v,
            duration: v,
            dropped: 0,
            rows: vec![
                row(0, None, [v, v, v], false, 1),
                row(1, Some(0), [v, v, 0.25], true, 2),
            ],
        };
        let p = Payload::default()
            .seg("root", &[("n", A::N(v)), ("m", A::N(v)), ("s", A::S("x"))])
            .seg(
                &"n".repeat(300),
                &[("n", A::N(v)), ("k".repeat(200).as_str(), A::N(v))],
            );
        let texts = decode(&p.meta, &p.text, 2).unwrap();
        let got = trace_json(&trace, &texts, v);
        let n = num(v);
        assert!(got.matches(&n).count() >= 8, "{v}: {got}");
        assert!(got.ends_with("}]}"), "{got}");
    }
}

// ---------------------------------------------------------------- keyed format

/// The keyed payload `lib/store/payload.js` would build for `p`'s segments:
/// keys listed once, in first use order.
fn keyed(segs: &[(&str, Vec<(&str, A<'_>)>)]) -> (Vec<f64>, Vec<u16>) {
    let mut keys: Vec<String> = Vec::new();
    let mut meta = vec![0.0, 0.0];
    let mut text: Vec<u16> = Vec::new();
    for (name, attrs) in segs {
        let u = u16s(name);
        meta.push(u.len() as f64);
        text.extend(&u);
        meta.push(attrs.len() as f64);
        for (k, v) in attrs {
            let i = keys.iter().position(|x| x == k).unwrap_or_else(|| {
                keys.push(k.to_string());
                keys.len() - 1
            });
            meta.push(i as f64);
            match v {
                A::S(s) => {
                    let u = u16s(s);
                    meta.extend([0.0, u.len() as f64]);
                    text.extend(&u);
                }
                A::N(x) => meta.extend([1.0, *x]),
                A::B(b) => meta.extend([2.0, if *b { 1.0 } else { 0.0 }]),
            }
        }
    }
    meta[0] = keys.len() as f64;
    meta[1] = meta.len() as f64;
    let mut all: Vec<u16> = Vec::new();
    for k in &keys {
        let u = u16s(k);
        meta.push(u.len() as f64);
        all.extend(u);
    }
    all.extend(text);
    (meta, all)
}

fn sample() -> Vec<(&'static str, Vec<(&'static str, A<'static>)>)> {
    vec![
        (
            "GET /x",
            vec![("http.status", A::N(200.0)), ("ok", A::B(true))],
        ),
        (
            "db \"q\"",
            vec![("sql", A::S("SELECT\n1")), ("ok", A::B(false))],
        ),
        ("cache", vec![]),
        (
            "caf\u{e9} \u{1f600}",
            vec![("k\u{e9}y", A::S("v\u{e9}")), ("http.status", A::N(-0.5))],
        ),
    ]
}

#[test]
fn the_keyed_format_reads_as_the_plain_one() {
    let segs = sample();
    let mut plain = Payload::default();
    for (name, attrs) in &segs {
        plain = plain.seg(name, attrs);
    }
    let (meta, text) = keyed(&segs);
    let a = decode(&plain.meta, &plain.text, segs.len()).unwrap();
    let b = decode_keyed(&meta, &text, segs.len()).unwrap();
    for i in 0..segs.len() {
        assert_eq!(a.segment(i), b.segment(i), "segment {i}");
    }
    // The same JSON, and it says whether it is ASCII.
    let trace = Trace {
        trace_id: 1,
        start: 0.5,
        duration: 3.0,
        dropped: 0,
        rows: (0..segs.len())
            .map(|i| {
                row(
                    i,
                    (i > 0).then_some(0),
                    [i as f64, 1.0, 0.5],
                    false,
                    i as u64 + 1,
                )
            })
            .collect(),
    };
    assert_eq!(trace_json(&trace, &a, 0.0), trace_json(&trace, &b, 0.0));
    let mut out = Vec::new();
    let (n, ascii) = write_trace_json(&mut out, &trace, &b, 0.0);
    assert!(!ascii, "the sample has non-ASCII names");
    assert_eq!(&out[..n], trace_json(&trace, &b, 0.0).as_bytes());
    let ascii_only: Vec<_> = segs[..3].to_vec();
    let (meta, text) = keyed(&ascii_only);
    let c = decode_keyed(&meta, &text, 3).unwrap();
    let short = Trace {
        rows: trace.rows[..3].to_vec(),
        ..trace.clone()
    };
    let (n, ascii) = write_trace_json(&mut out, &short, &c, 0.0);
    assert!(ascii);
    assert_eq!(&out[..n], trace_json(&short, &c, 0.0).as_bytes());
}

#[test]
fn the_keyed_format_refuses_bad_key_tables() {
    let (meta, text) = keyed(&sample());
    assert!(decode_keyed(&meta, &text, 4).is_ok());
    let bad = |f: &dyn Fn(&mut Vec<f64>)| {
        let mut m = meta.clone();
        f(&mut m);
        let r = catch_unwind(AssertUnwindSafe(|| decode_keyed(&m, &text, 4)));
        assert!(matches!(r, Ok(Err(PayloadError(_)))), "{m:?}: {r:?}");
    };
    let key_at = meta[1] as usize;
    bad(&|m| m[0] += 1.0); // more keys than lengths
    bad(&|m| m[0] = -1.0);
    bad(&|m| m[0] = 0.5);
    bad(&|m| m[1] = 1.0); // key lengths inside the header
    bad(&|m| m[1] = 1e9); // past the end
    bad(&|m| m[1] = f64::NAN);
    bad(&|m| m[key_at] = 1e6); // a key past the text
    bad(&|m| m[key_at] = -1.0);
    bad(&|m| m[5] = 99.0); // key index 99 of 4
    bad(&|m| m[5] = -1.0);
    bad(&|m| m[5] = 0.5);
    bad(&|m| m.truncate(key_at + 1)); // lengths cut short
    assert!(matches!(decode_keyed(&[], &[], 0), Err(PayloadError(_))));
    assert!(decode_keyed(&[0.0, 2.0], &[], 0).unwrap().is_empty());
}

/// Random keyed payloads: any answer is fine, a panic is not.
#[test]
fn decode_keyed_never_panics() {
    let (meta, text) = keyed(&sample());
    let mut rng = Ids::with_seed(5);
    for _ in 0..20_000 {
        let mut m = meta.clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(m.len() as u32 - 1) as usize;
            m[i] = [0.0, 1.0, 2.0, 3.0, -1.0, 0.5, f64::NAN, 1e300, 40.0][rng.below(8) as usize];
        }
        let tlen = rng.below(text.len() as u32) as usize;
        let count = rng.below(5) as usize;
        let r = catch_unwind(AssertUnwindSafe(|| {
            if let Ok(t) = decode_keyed(&m, &text[..tlen], count) {
                let trace = Trace {
                    trace_id: 1,
                    start: 0.0,
                    duration: 0.0,
                    dropped: 0,
                    rows: (0..count)
                        .map(|i| row(i, None, [0.0; 3], false, 1))
                        .collect(),
                };
                trace_json(&trace, &t, 0.0);
            }
        }));
        assert!(r.is_ok(), "panicked on {m:?}, text {tlen}, count {count}");
    }
}
