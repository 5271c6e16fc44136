//! The JSON writer: strings, numbers, and a whole trace written from a
//! [`Source`].

use crate::core::ids::Ids;
use crate::core::json::{
    push_num, push_str, trace_json, write_trace_json, Source, Writer, PER_ATTRIBUTE,
};
use crate::core::trace::{Row, Time, Trace};

fn u16s(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// An attribute value, as a test writes it.
#[derive(Clone, Copy, Debug)]
pub(super) enum A<'a> {
    S(&'a str),
    N(f64),
    B(bool),
}

/// A segment's name and attributes, as UTF-16, the way the store holds them.
type PlainSeg = (Vec<u16>, Vec<(Vec<u16>, PlainValue)>);

#[derive(Clone, Debug)]
enum PlainValue {
    S(Vec<u16>),
    N(f64),
    B(bool),
}

/// Names and attributes by segment in creation order, a [`Source`] of the
/// tests' own, without the string table: it escapes each string with
/// [`push_str`] when it writes it and each number with the writer's `num`,
/// asking for room as `core::strings::ArenaTexts` does. A segment it lacks
/// has the name `""` and no attributes.
#[derive(Default)]
pub(super) struct Plain {
    segs: Vec<PlainSeg>,
}

impl Plain {
    pub(super) fn seg(mut self, name: &str, attrs: &[(&str, A<'_>)]) -> Self {
        let attrs = attrs
            .iter()
            .map(|&(k, v)| {
                let v = match v {
                    A::S(s) => PlainValue::S(u16s(s)),
                    A::N(x) => PlainValue::N(x),
                    A::B(b) => PlainValue::B(b),
                };
                (u16s(k), v)
            })
            .collect();
        self.segs.push((u16s(name), attrs));
        self
    }
}

/// Writes `s` as [`push_str`] does (its room asked for); false when not ASCII.
fn write_str(w: &mut Writer<'_>, s: &[u16]) -> bool {
    let mut json = Vec::new();
    let ascii = push_str(&mut json, s);
    w.lit(&json);
    ascii
}

/// Bytes `s` may take as a JSON string: six per unit (`\uXXXX`), and the quotes.
fn str_room(s: &[u16]) -> usize {
    6 * s.len() + 2
}

impl Source for Plain {
    fn room(&self, i: usize) -> usize {
        self.segs.get(i).map_or(2, |(name, attrs)| {
            let strings: usize = attrs
                .iter()
                .map(|(k, v)| {
                    str_room(k)
                        + match v {
                            PlainValue::S(s) => str_room(s),
                            _ => 0,
                        }
                })
                .sum();
            str_room(name) + strings + PER_ATTRIBUTE * attrs.len()
        })
    }

    fn write_name(&self, w: &mut Writer<'_>, i: usize) -> bool {
        match self.segs.get(i) {
            Some((name, _)) => write_str(w, name),
            None => write_str(w, &[]),
        }
    }

    fn write_attributes(&self, w: &mut Writer<'_>, i: usize) -> bool {
        let Some((_, attrs)) = self.segs.get(i) else {
            return true;
        };
        let mut ascii = true;
        for (k, (key, value)) in attrs.iter().enumerate() {
            if k > 0 {
                w.byte(b',');
            }
            ascii &= write_str(w, key);
            w.byte(b':');
            match value {
                PlainValue::S(s) => ascii &= write_str(w, s),
                PlainValue::N(v) => w.num(*v),
                PlainValue::B(true) => w.lit(b"true"),
                PlainValue::B(false) => w.lit(b"false"),
            }
        }
        ascii
    }
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
        start: Time::from_ms(t[0]),
        duration: Time::from_ms(t[1]),
        exclusive: Time::from_ms(t[2]),
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
        duration: Time::from_ms(10.0),
        dropped: 3,
        rows: vec![
            row(0, None, [0.0, 10.0, 6.5], false, 0x1111_1111_1111_1111),
            row(2, Some(0), [0.5, 1.0, 1.0], false, 0xa),
            row(1, Some(0), [1.5, 2.5, 2.25], true, 0xfedc_ba98_7654_3210),
            row(3, Some(2), [1.75, 0.25, 0.25], false, 0x0000_00ff_0000_0001),
        ],
    };
    let texts = Plain::default()
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
        duration: Time::from_ms(0.0),
        dropped: 0,
        rows: vec![row(0, None, [0.0, 0.0, 0.0], false, 2)],
    };
    assert_eq!(
        trace_json(&trace, &Plain::default(), 0.0),
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
    // As given, not on the microsecond grid, so that each goes through
    // the number printer.
    let raw = |given: f64| Time {
        us: Time::OFF_GRID,
        given,
    };
    for &v in &long {
        let (r, q) = (raw(v), raw(0.25));
        let trace = Trace {
            trace_id: 7,
            start: v,
            duration: r,
            dropped: 0,
            rows: vec![
                Row {
                    start: r,
                    duration: r,
                    exclusive: r,
                    ..row(0, None, [0.0; 3], false, 1)
                },
                Row {
                    start: r,
                    duration: r,
                    exclusive: q,
                    ..row(1, Some(0), [0.0; 3], true, 2)
                },
            ],
        };
        let texts = Plain::default()
            .seg("root", &[("n", A::N(v)), ("m", A::N(v)), ("s", A::S("x"))])
            .seg(
                &"n".repeat(300),
                &[("n", A::N(v)), ("k".repeat(200).as_str(), A::N(v))],
            );
        let got = trace_json(&trace, &texts, v);
        let n = num(v);
        assert!(got.matches(&n).count() >= 8, "{v}: {got}");
        assert!(got.ends_with("}]}"), "{got}");
    }
}

/// `write_trace_json` writes what `trace_json` returns, and says whether
/// every byte is ASCII: names, keys and string values outside ASCII make it
/// false.
#[test]
fn write_trace_json_says_whether_it_is_ascii() {
    let segs: &[(&str, &[(&str, A<'_>)])] = &[
        (
            "GET /x",
            &[("http.status", A::N(200.0)), ("ok", A::B(true))],
        ),
        (
            "db \"q\"",
            &[("sql", A::S("SELECT\n1")), ("ok", A::B(false))],
        ),
        ("cache", &[]),
        ("caf\u{e9} \u{1f600}", &[("http.status", A::N(-0.5))]),
        ("k", &[("k\u{e9}y", A::B(true))]),
        ("v", &[("key", A::S("v\u{e9}"))]),
    ];
    let rows = |n: usize| -> Vec<Row> {
        (0..n)
            .map(|i| {
                row(
                    i,
                    (i > 0).then_some(0),
                    [i as f64, 1.0, 0.5],
                    false,
                    i as u64 + 1,
                )
            })
            .collect()
    };
    let trace = |rows: Vec<Row>| Trace {
        trace_id: 1,
        start: 0.5,
        duration: Time::from_ms(3.0),
        dropped: 0,
        rows,
    };
    let mut out = Vec::new();
    // The first three are ASCII; each of the others brings one non-ASCII
    // string: a name, a key, a string value.
    for (n, want) in [(3, true), (4, false)] {
        let texts = segs[..n]
            .iter()
            .fold(Plain::default(), |p, (name, attrs)| p.seg(name, attrs));
        let t = trace(rows(n));
        let (len, ascii) = write_trace_json(&mut out, &t, &texts, 0.0);
        assert_eq!(ascii, want, "{n} segments");
        assert_eq!(&out[..len], trace_json(&t, &texts, 0.0).as_bytes());
    }
    for extra in 4..6 {
        let texts = segs[..3]
            .iter()
            .chain(&segs[extra..extra + 1])
            .fold(Plain::default(), |p, (name, attrs)| p.seg(name, attrs));
        let t = trace(rows(4));
        let (len, ascii) = write_trace_json(&mut out, &t, &texts, 0.0);
        assert!(!ascii, "segment {extra}");
        assert_eq!(&out[..len], trace_json(&t, &texts, 0.0).as_bytes());
    }
}

#[test]
fn trace_json_writes_ids_as_lowercase_hex() {
    let mut rng = Ids::with_seed(11);
    for _ in 0..2000 {
        let (a, b) = (rng.span_id(), rng.span_id());
        // Single nibbles and all-ones halves too, not only random bits.
        let id = a >> (b % 64);
        let trace_id = ((a as u128) << 64) | b as u128;
        let trace = Trace {
            trace_id,
            start: 0.0,
            duration: Time::from_ms(0.0),
            dropped: 0,
            rows: vec![
                row(0, None, [0.0, 0.0, 0.0], false, id),
                row(1, Some(0), [0.0, 0.0, 0.0], false, !id),
            ],
        };
        let got = trace_json(&trace, &Plain::default(), 0.0);
        let want_ids = format!(r#"{{"id":"{id:016x}","parentId":null,"#);
        let want_child = format!(r#"{{"id":"{:016x}","parentId":"{id:016x}","#, !id);
        assert!(
            got.starts_with(&format!(r#"{{"traceId":"{trace_id:032x}","#)),
            "{got}"
        );
        assert!(got.contains(&want_ids), "{got}");
        assert!(got.contains(&want_child), "{got}");
    }
}

/// A trace's times, written from their whole microseconds, are what the
/// number printer writes for their ms: at every magnitude, below zero, and
/// past the grid's short path (10^12 ms) and the grid itself (2^53 µs).
#[test]
fn trace_json_writes_times_as_the_number_printer_does() {
    let mut rng = Ids::with_seed(5);
    for _ in 0..20_000 {
        let digits = 1 + (rng.span_id() % 19) as i32;
        let mut v = (rng.span_id() >> 11) as f64 * 2f64.powi(-53) * 10f64.powi(digits - 4);
        if rng.span_id().is_multiple_of(4) {
            v = -v;
        }
        let t = Time::from_ms(v);
        let trace = Trace {
            trace_id: 1,
            start: 0.0,
            duration: t,
            dropped: 0,
            rows: vec![Row {
                start: t,
                duration: t,
                exclusive: Time::from_ms(0.5),
                ..row(0, None, [0.0; 3], false, 1)
            }],
        };
        let got = trace_json(&trace, &Plain::default(), 0.0);
        let n = num(t.ms());
        for key in ["\"duration\":", "\"start\":"] {
            assert!(got.contains(&format!("{key}{n},")), "{v} ({t:?}): {got}");
        }
    }
}
