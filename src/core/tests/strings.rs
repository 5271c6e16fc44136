//! The string table and the arena reader: the JSON of the texts they hold.

use super::json::{Plain, A};
use crate::core::json::{trace_json, write_trace_json};
use crate::core::layout::MAX_STRINGS;
use crate::core::strings::{free_read, read_arena_into, Arena, ArenaTexts, Strings};
use crate::core::trace::{Row, Time, Trace};

fn u16s(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

/// A table with `texts` at ids 0, 1, ...
fn table(texts: &[&str]) -> Strings {
    let mut t = Strings::new();
    let mut edits = Vec::new();
    let mut text = Vec::new();
    for (id, s) in texts.iter().enumerate() {
        let u = u16s(s);
        edits.extend([id as f64, u.len() as f64]);
        text.extend(u);
    }
    t.apply(&edits, &text).expect("edits");
    t
}

fn json_of(t: &Strings, id: usize) -> Option<String> {
    t.get(id)
        .map(|(json, _)| String::from_utf8(json.to_vec()).expect("utf-8"))
}

#[test]
fn apply_sets_escapes_and_removes() {
    let mut t = table(&["a", "q\"\n", "é", "\u{1F600}"]);
    assert_eq!(t.len(), 4);
    assert_eq!(json_of(&t, 0).as_deref(), Some("\"a\""));
    assert_eq!(json_of(&t, 1).as_deref(), Some("\"q\\\"\\n\""));
    assert_eq!(json_of(&t, 2).as_deref(), Some("\"é\""));
    assert!(t.get(0).is_some_and(|(_, ascii)| ascii));
    assert!(t.get(2).is_some_and(|(_, ascii)| !ascii));
    // A lone surrogate is escaped, as JSON.stringify does.
    t.apply(&[2.0, 1.0], &[0xd800]).expect("edit");
    assert_eq!(json_of(&t, 2).as_deref(), Some("\"\\ud800\""));
    // Remove, and removing again or an absent id does nothing.
    t.apply(&[1.0, -1.0, 1.0, -1.0, 99.0, -1.0], &[])
        .expect("edit");
    assert_eq!(t.len(), 3);
    assert!(t.get(1).is_none());
    // A remove and a set of the same id apply in order.
    t.apply(&[0.0, -1.0, 0.0, 1.0], &u16s("zextra"))
        .expect("edit");
    assert_eq!(json_of(&t, 0).as_deref(), Some("\"z\""));
}

#[test]
fn heap_bytes_follows_the_literals_and_the_lists() {
    let mut t = Strings::new();
    assert_eq!(t.heap_bytes(), 0);
    // 200 units: a 202-byte literal, padded to 208.
    t.apply(&[0.0, 200.0], &u16s(&"x".repeat(200)))
        .expect("set");
    let lists = t.heap_bytes() - 208;
    assert!(lists > 0 && lists <= 128, "the lists take {lists} bytes");
    // Setting an id again counts its new literal only: 3 bytes, padded to 16.
    t.apply(&[0.0, 1.0], &u16s("y")).expect("set");
    assert_eq!(t.heap_bytes(), lists + 16);
    // A thousand more, then every one removed: back to about nothing.
    let mut edits = Vec::new();
    let mut text = Vec::new();
    for id in 1..=1000 {
        let u = u16s(&format!("{id:0>100}"));
        edits.extend([id as f64, u.len() as f64]);
        text.extend(u);
    }
    t.apply(&edits, &text).expect("set");
    assert!(t.heap_bytes() >= 16 + 1000 * 112, "{}", t.heap_bytes());
    let removes: Vec<f64> = (0..=1000).flat_map(|id| [id as f64, -1.0]).collect();
    t.apply(&removes, &[]).expect("remove");
    assert!(t.is_empty());
    assert!(t.heap_bytes() < 1000, "{} bytes left", t.heap_bytes());
}

#[test]
fn apply_refuses_bad_edits_and_changes_nothing() {
    let before = table(&["a", "b"]);
    let cases: &[(&[f64], &str, &str)] = &[
        (&[0.0], "", "3 numbers, not pairs"),
        (&[-1.0, 0.0], "", "id -1"),
        (&[0.5, 0.0], "", "id 0.5"),
        (&[MAX_STRINGS as f64, 0.0], "", "id 16777216"),
        (&[f64::NAN, 0.0], "", "id NaN"),
        (&[0.0, -2.0], "", "length -2"),
        (&[0.0, 1.5], "ab", "length 1.5"),
        (&[0.0, f64::INFINITY], "", "length inf"),
        (&[0.0, 1.0, 1.0, 2.0], "ab", "text ends early"),
    ];
    for (edits, text, why) in cases {
        let mut t = before.clone();
        // A valid edit first: it must not be applied either.
        let mut all = vec![0.0, -1.0];
        all.extend_from_slice(edits);
        let e = t.apply(&all, &u16s(text)).expect_err(why);
        assert_eq!(e.to_string(), format!("bad string edits: {why}"));
        assert_eq!(t, before, "{why}: the table changed");
    }
}

#[test]
fn removing_the_last_ids_trims_the_table() {
    let mut t = table(&["a"; 100]);
    let edits: Vec<f64> = (1..100).flat_map(|id| [id as f64, -1.0]).collect();
    t.apply(&edits, &[]).expect("edits");
    assert_eq!(t.len(), 1);
    // Setting a high id again still works.
    t.apply(&[50.0, 1.0], &u16s("x")).expect("edit");
    assert_eq!(json_of(&t, 50).as_deref(), Some("\"x\""));
}

/// Store arrays for segments in slots 0.. of a table of `cap` slots: per
/// segment a name id and attributes (key id, kind, value).
struct Arrays {
    side: Vec<i32>,
    arena: Vec<i32>,
    values: Vec<f64>,
}

/// An attribute: key id, kind, value.
type Attr = (i32, i32, f64);

fn arrays(cap: usize, segs: &[(i32, &[Attr])]) -> Arrays {
    let size = 1 + segs.iter().map(|s| s.1.len()).sum::<usize>();
    let mut a = Arrays {
        side: vec![-1; cap],
        arena: vec![0; 2 * size],
        values: vec![0.0; size],
    };
    a.side.extend(std::iter::repeat_n(0, cap));
    let mut e = 1;
    for (s, (name, attrs)) in segs.iter().enumerate() {
        a.side[s] = *name;
        let mut prev = 0;
        for &(key, kind, value) in attrs.iter() {
            a.arena[e] = (key << 2) | kind;
            a.values[e] = value;
            if prev == 0 {
                a.side[cap + s] = e as i32;
            } else {
                a.arena[size + prev] = e as i32;
            }
            prev = e;
            e += 1;
        }
    }
    a
}

fn view<'a>(a: &'a Arrays, strings: &'a Strings) -> Arena<'a> {
    Arena {
        side: &a.side,
        arena: &a.arena,
        values: &a.values,
        strings,
    }
}

fn row(index: usize, parent_row: Option<usize>, id: u64) -> Row {
    Row {
        index,
        parent_row,
        start: Time::from_ms(0.25 * index as f64),
        duration: Time::from_ms(1.5),
        exclusive: Time::from_ms(0.75),
        truncated: index == 2,
        id,
    }
}

#[test]
fn the_arena_gives_the_json_of_its_texts() {
    // ids: 0 "GET /x", 1 "db \"q\"", 2 "sql", 3 "SELECT\n1", 4 "n", 5 "ok", 6 "é€😀"
    let strings = table(&["GET /x", "db \"q\"", "sql", "SELECT\n1", "n", "ok", "é€😀"]);
    let a = arrays(
        8,
        &[
            (0, &[(4, 1, 200.0), (5, 2, 1.0), (4, 1, f64::NAN)]),
            (1, &[(2, 0, 3.0), (6, 0, 6.0)]),
            (6, &[]),
            (0, &[(5, 2, 0.0), (4, 1, -0.5)]),
        ],
    );
    let arena = view(&a, &strings);
    let mut segs = Vec::new();
    read_arena_into(&arena, 8, &[0, 1, 2, 3], &mut segs).expect("arena");
    let texts = ArenaTexts { arena, segs: &segs };
    // The same texts, escaped when written instead of when set.
    let plain = Plain::default()
        .seg(
            "GET /x",
            &[
                ("n", A::N(200.0)),
                ("ok", A::B(true)),
                ("n", A::N(f64::NAN)),
            ],
        )
        .seg(
            "db \"q\"",
            &[("sql", A::S("SELECT\n1")), ("é€😀", A::S("é€😀"))],
        )
        .seg("é€😀", &[])
        .seg("GET /x", &[("ok", A::B(false)), ("n", A::N(-0.5))]);
    let trace = Trace {
        trace_id: 7,
        start: 1.5,
        duration: Time::from_ms(3.0),
        dropped: 1,
        rows: vec![
            row(0, None, 1),
            row(2, Some(0), 2),
            row(1, Some(0), 3),
            row(3, Some(2), 4),
        ],
    };
    let got = trace_json(&trace, &texts, 1000.0);
    assert_eq!(got, trace_json(&trace, &plain, 1000.0));
    assert!(got.contains(r#""attributes":{"sql":"SELECT\n1","é€😀":"é€😀"}"#));
    assert!(got.contains(r#""attributes":{"n":200,"ok":true,"n":null}"#));
    // Not ASCII: "é€😀" is a name, a key and a value.
    let mut out = Vec::new();
    let (n, ascii) = write_trace_json(&mut out, &trace, &texts, 1000.0);
    assert!(!ascii);
    assert_eq!(&out[..n], got.as_bytes());
    // The first and the last segment alone are ASCII.
    let ascii_trace = Trace {
        rows: vec![row(0, None, 1), row(3, Some(0), 4)],
        ..trace
    };
    let (n, ascii) = write_trace_json(&mut out, &ascii_trace, &texts, 1000.0);
    assert!(ascii);
    assert_eq!(
        &out[..n],
        trace_json(&ascii_trace, &plain, 1000.0).as_bytes()
    );
}

/// The free list of `a` (entry 0's next, then each entry's), at most
/// `limit` entries.
fn free_list(a: &Arrays, limit: usize) -> Vec<i32> {
    let size = a.values.len();
    let mut out = Vec::new();
    let mut e = a.arena[size];
    while e != 0 && out.len() < limit {
        out.push(e);
        e = a.arena[size + e as usize];
    }
    out
}

#[test]
fn free_read_clears_the_slots_and_lists_their_entries_in_order() {
    let strings = table(&["a", "b", "c"]);
    let cap = 8;
    // Slots 0, 1, 2, 3, 4: entries 1-3, none, 4-5, 6, 7.
    let mut a = arrays(
        cap,
        &[
            (0, &[(1, 0, 2.0), (2, 1, 1.0), (0, 2, 1.0)]),
            (1, &[]),
            (2, &[(1, 1, 3.0), (2, 1, 4.0)]),
            (0, &[(1, 2, 0.0)]),
            (1, &[(2, 2, 1.0)]),
        ],
    );
    let size = a.values.len();
    // Slot 4 freed already: entry 7 is the free list; 6 entries in use.
    a.side[4] = -1;
    a.side[cap + 4] = 0;
    a.arena[size] = 7;
    a.arena[0] = 6;
    let mut segs = Vec::new();
    // Free slots 2 and 0 (in that order), leave 1 and 3.
    let slots = [2, 0];
    read_arena_into(&view(&a, &strings), cap, &slots, &mut segs).expect("arena");
    let freed = free_read(&mut a.side, &mut a.arena, cap, &slots, &segs);
    assert_eq!(freed, 5);
    assert_eq!(a.arena[0], 1, "one entry still in use");
    for s in slots {
        assert_eq!((a.side[s], a.side[cap + s]), (-1, 0), "slot {s}");
    }
    assert_eq!((a.side[3], a.side[cap + 3]), (0, 6), "slot 3 untouched");
    assert_eq!((a.side[1], a.side[cap + 1]), (1, 0), "slot 1 untouched");
    // The last slot's entries first, each list in its own order, then what
    // was free before.
    assert_eq!(free_list(&a, 10), [1, 2, 3, 4, 5, 7]);
    // A slot with no attributes and an empty free list.
    let mut b = arrays(cap, &[(1, &[])]);
    let size = b.values.len();
    read_arena_into(&view(&b, &strings), cap, &[0], &mut segs).expect("arena");
    assert_eq!(free_read(&mut b.side, &mut b.arena, cap, &[0], &segs), 0);
    assert_eq!(
        (b.side[0], b.side[cap], b.arena[size], b.arena[0]),
        (-1, 0, 0, 0)
    );
}

#[test]
fn read_arena_refuses_what_does_not_fit() {
    let strings = table(&["a", "b"]);
    let good = || arrays(4, &[(0, &[(1, 0, 0.0), (0, 1, 2.5)])]);
    let check = |a: &Arrays, cap: usize, why: &str| {
        let mut segs = Vec::new();
        let e = read_arena_into(&view(a, &strings), cap, &[0], &mut segs).expect_err(why);
        assert_eq!(e.to_string(), format!("bad store arrays: {why}"));
    };
    check(&good(), 8, "side arrays hold 8 numbers, need 16");
    let mut a = good();
    a.arena.pop();
    check(&a, 4, "arena holds 5 numbers, needs 6");
    let mut a = good();
    a.side[0] = 2;
    check(&a, 4, "slot 0 names string 2, not in the table");
    let mut a = good();
    a.side[0] = -1;
    check(&a, 4, "slot 0 names string -1, not in the table");
    let mut a = good();
    a.side[4] = 3;
    check(&a, 4, "slot 0 lists entry 3");
    let mut a = good();
    a.side[4] = -5;
    check(&a, 4, "slot 0 lists entry -5");
    let mut a = good();
    a.arena[3 + 2] = 2; // entry 2 points at itself
    check(&a, 4, "the attribute list of slot 0 does not end");
    let mut a = good();
    a.arena[1] = 3;
    check(&a, 4, "entry 1 has kind 3");
    let mut a = good();
    a.arena[1] = 9 << 2;
    check(&a, 4, "entry 1 names string 9, not in the table");
    let mut a = good();
    a.values[1] = 0.5;
    check(&a, 4, "entry 1 names string 0.5, not in the table");
    let mut a = good();
    a.values[1] = f64::NAN;
    check(&a, 4, "entry 1 names string NaN, not in the table");
    let mut a = good();
    a.arena[1] = -4;
    check(&a, 4, "entry 1 names string -1, not in the table");
}
