//! `trace::assemble`: closing, ordering, durations and exclusive times.

use std::collections::HashSet;

use crate::core::ids::Ids;
use crate::core::trace::{assemble, Row, SegIn, Time, Trace};

const OPEN: f64 = f64::NAN;

fn seg(start: f64, end: f64, parent: Option<usize>) -> SegIn {
    SegIn { start, end, parent }
}

fn run(segs: &[SegIn], end: f64) -> Trace {
    assemble(segs, end, 0, &mut Ids::with_seed(1))
}

/// The row of input segment `index`.
fn row(t: &Trace, index: usize) -> Row {
    *t.rows.iter().find(|r| r.index == index).expect("row")
}

/// Exclusive time of input segment `index`.
fn excl(t: &Trace, index: usize) -> f64 {
    row(t, index).exclusive.ms()
}

#[test]
fn an_empty_transaction_has_no_rows() {
    let t = assemble(&[], 5.0, 3, &mut Ids::with_seed(1));
    assert!(t.rows.is_empty());
    assert_eq!(t.dropped, 3);
    assert_ne!(t.trace_id, 0);
}

#[test]
fn a_lone_root() {
    let t = assemble(&[seg(10.0, 12.25, None)], 99.0, 7, &mut Ids::with_seed(1));
    assert_eq!(t.start, 10.0);
    assert_eq!(t.duration.ms(), 2.25);
    assert_eq!(t.dropped, 7);
    assert_eq!(t.rows.len(), 1);
    let r = t.rows[0];
    assert_eq!((r.index, r.parent_row, r.truncated), (0, None, false));
    assert_eq!(
        (r.start.ms(), r.duration.ms(), r.exclusive.ms()),
        (0.0, 2.25, 2.25)
    );
}

#[test]
fn rows_are_root_first_then_by_start_then_creation_order() {
    let segs = [
        seg(10.0, 20.0, None),
        seg(12.25, 13.0, Some(0)), // 1
        seg(11.0, 12.0, Some(0)),  // 2
        seg(11.0, 11.5, Some(2)),  // 3: same start as 2, created later
        seg(10.5, 19.0, Some(0)),  // 4
        seg(9.0, 10.5, Some(0)),   // 5: starts before the root
        seg(11.0, 11.0, Some(4)),  // 6: same start again
    ];
    let t = run(&segs, 30.0);
    let order: Vec<usize> = t.rows.iter().map(|r| r.index).collect();
    assert_eq!(order, vec![0, 5, 4, 2, 3, 6, 1]);
    // parent_row points at the parent's row.
    for r in &t.rows {
        match segs[r.index].parent {
            None => assert_eq!(r.parent_row, None),
            Some(p) => assert_eq!(t.rows[r.parent_row.unwrap()].index, p),
        }
    }
    // Starts are offsets from the root's start.
    assert_eq!(row(&t, 5).start.ms(), -1.0);
    assert_eq!(row(&t, 1).start.ms(), 2.25);
    assert_eq!(t.start, 10.0);
    assert_eq!(t.duration.ms(), 10.0);
}

#[test]
fn open_segments_are_closed_at_the_end() {
    let segs = [
        seg(10.0, OPEN, None),
        seg(11.0, OPEN, Some(0)),
        seg(12.0, 13.0, Some(1)),
        seg(12.5, OPEN, Some(2)),
    ];
    let t = run(&segs, 20.5);
    assert_eq!(t.duration.ms(), 10.5);
    let root = row(&t, 0);
    assert_eq!((root.duration.ms(), root.truncated), (10.5, false));
    assert_eq!(
        (row(&t, 1).duration.ms(), row(&t, 1).truncated),
        (9.5, true)
    );
    assert_eq!(
        (row(&t, 2).duration.ms(), row(&t, 2).truncated),
        (1.0, false)
    );
    // An open grandchild outlives its closed parent: closed at the end too.
    assert_eq!(
        (row(&t, 3).duration.ms(), row(&t, 3).truncated),
        (8.0, true)
    );
}

#[test]
fn an_end_before_the_start_is_the_start() {
    let segs = [
        seg(10.0, 9.0, None),
        seg(12.0, 11.5, Some(0)),
        seg(15.0, OPEN, Some(0)),
    ];
    // The transaction "ends" at 14: before the open segment's start.
    let t = run(&segs, 14.0);
    assert_eq!(t.duration.ms(), 0.0);
    assert_eq!(row(&t, 0).duration.ms(), 0.0);
    assert_eq!(row(&t, 1).duration.ms(), 0.0);
    assert_eq!(row(&t, 2).duration.ms(), 0.0);
    assert!(row(&t, 2).truncated);
    assert!(!row(&t, 1).truncated);
    for r in &t.rows {
        assert_eq!(r.exclusive.ms(), 0.0);
    }
}

#[test]
fn exclusive_without_children_is_the_duration() {
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(2.0, 4.5, Some(0)),
            seg(5.0, 6.0, Some(1)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 2), 1.0);
}

#[test]
fn exclusive_with_one_child() {
    let t = run(&[seg(0.0, 10.0, None), seg(2.0, 4.5, Some(0))], 10.0);
    assert_eq!(excl(&t, 0), 7.5);
    assert_eq!(excl(&t, 1), 2.5);
}

#[test]
fn exclusive_with_overlapping_children() {
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(1.0, 4.0, Some(0)),
            seg(3.0, 6.0, Some(0)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 0), 5.0);
    // Touching intervals add up without a gap or a double count.
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(1.0, 3.0, Some(0)),
            seg(3.0, 5.5, Some(0)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 0), 5.5);
    // One child inside another.
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(1.0, 9.0, Some(0)),
            seg(2.0, 3.0, Some(0)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 0), 2.0);
}

#[test]
fn exclusive_with_children_created_out_of_start_order() {
    // c1 is created first but starts last; a grandchild of c1 sticks out of
    // c1 and must not count for the root.
    let segs = [
        seg(0.0, 12.25, None),
        seg(6.0, 8.0, Some(0)),  // c1
        seg(1.0, 2.0, Some(0)),  // c2, created after c1, starts before it
        seg(7.0, 9.0, Some(0)),  // c3, overlaps c1
        seg(6.5, 11.0, Some(1)), // grandchild under c1
        seg(1.5, 3.5, Some(0)),  // c4, overlaps c2
    ];
    let t = run(&segs, 20.0);
    // Children of the root cover [1, 3.5] and [6, 9]: 5.5.
    assert_eq!(excl(&t, 0), 12.25 - 5.5);
    // c1 [6, 8] with its child clipped to [6.5, 8].
    assert_eq!(excl(&t, 1), 0.5);
    assert_eq!(excl(&t, 4), 4.5);
}

#[test]
fn children_are_clipped_to_the_parent() {
    let segs = [
        seg(0.0, 20.0, None),
        seg(2.0, 6.0, Some(0)),
        seg(5.0, 7.5, Some(1)),   // extends past its parent: counts [5, 6]
        seg(1.0, 3.0, Some(1)),   // starts before its parent: counts [2, 3]
        seg(10.0, 12.0, Some(1)), // wholly after its parent: counts nothing
        seg(0.5, 1.5, Some(1)),   // wholly before its parent: counts nothing
    ];
    let t = run(&segs, 20.0);
    assert_eq!(excl(&t, 1), 2.0);
    // The root's only child is [2, 6].
    assert_eq!(excl(&t, 0), 16.0);
}

#[test]
fn a_child_past_the_end_of_the_root() {
    let t = run(&[seg(0.0, 10.0, None), seg(8.0, 12.25, Some(0))], 30.0);
    assert_eq!(excl(&t, 0), 8.0);
    assert_eq!(row(&t, 1).duration.ms(), 4.25);
    // An open child of an open root ends with the transaction.
    let t = run(&[seg(0.0, OPEN, None), seg(8.0, OPEN, Some(0))], 12.25);
    assert_eq!(excl(&t, 0), 8.0);
    assert_eq!(row(&t, 1).duration.ms(), 4.25);
}

#[test]
fn identical_intervals_count_once() {
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(2.0, 5.0, Some(0)),
            seg(2.0, 5.0, Some(0)),
            seg(2.0, 5.0, Some(0)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 0), 7.0);
    // Children covering the parent leave nothing, never a negative time.
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(0.0, 10.0, Some(0)),
            seg(-5.0, 15.0, Some(0)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 0), 0.0);
    // Zero-length children take nothing.
    let t = run(
        &[
            seg(0.0, 10.0, None),
            seg(3.0, 3.0, Some(0)),
            seg(4.0, 2.0, Some(0)),
        ],
        10.0,
    );
    assert_eq!(excl(&t, 0), 10.0);
}

#[test]
fn an_out_of_range_parent_index_does_not_panic() {
    let t = run(&[seg(0.0, 10.0, None), seg(1.0, 2.0, Some(9))], 10.0);
    assert_eq!(row(&t, 1).parent_row, None);
    assert_eq!(excl(&t, 0), 10.0);
}

#[test]
fn ids_are_distinct_non_zero_and_reproducible() {
    let segs: Vec<SegIn> = (0..50)
        .map(|i| seg(i as f64, OPEN, if i == 0 { None } else { Some(i / 2) }))
        .collect();
    let a = assemble(&segs, 100.0, 2, &mut Ids::with_seed(42));
    let b = assemble(&segs, 100.0, 2, &mut Ids::with_seed(42));
    let c = assemble(&segs, 100.0, 2, &mut Ids::with_seed(43));
    assert_eq!(a, b);
    assert_ne!(a.trace_id, c.trace_id);
    let ids: HashSet<u64> = a.rows.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 50);
    assert!(!ids.contains(&0));
    assert_ne!(a.trace_id, 0);
}

#[test]
fn assembles_what_the_table_hands_out() {
    use super::{buf, table};
    let mut m = buf(crate::core::layout::MIN_CAPACITY, 31);
    let mut tb = table(&mut m);
    let r = tb.start_transaction(100.0).unwrap();
    let a = tb.start_segment(r as f64, 100.5, 10).unwrap().unwrap();
    let b = tb.start_segment(a as f64, 101.0, 10).unwrap().unwrap();
    let c = tb.start_segment(r as f64, 100.25, 10).unwrap().unwrap();
    tb.end_segment(b as f64, 102.0);
    tb.end_segment(c as f64, 100.75);
    let _ = tb.start_segment(r as f64, 103.0, 4); // dropped
    let taken = tb.take_transaction(r as f64).unwrap().unwrap();
    let t = assemble(
        &taken.segments,
        110.0,
        taken.dropped,
        &mut Ids::with_seed(5),
    );
    assert_eq!(t.dropped, 1);
    assert_eq!(t.duration.ms(), 10.0);
    let order: Vec<usize> = t.rows.iter().map(|r| r.index).collect();
    assert_eq!(order, vec![0, 3, 1, 2]);
    assert_eq!(excl(&t, 0), 10.0 - 9.75); // a open until 110, c: [100.25, 110]
    assert_eq!(excl(&t, 1), 9.5 - 1.0);
    assert!(row(&t, 1).truncated && !row(&t, 2).truncated && !row(&t, 3).truncated);
}

#[test]
fn rounding_never_makes_exclusive_negative() {
    // Two children with a one-ulp gap: in f64 their lengths add up to more
    // than the parent's (by 7e-15).
    let (lo, hi) = (1.571943518097929, 44.408112703877634);
    let (m1, m2) = (3.1060194618033083, 3.106019461803309);
    assert!((hi - lo) - ((m1 - lo) + (hi - m2)) < 0.0, "the premise");
    let t = run(
        &[
            seg(lo, hi, None),
            seg(lo, m1, Some(0)),
            seg(m2, hi, Some(0)),
        ],
        hi,
    );
    assert_eq!(excl(&t, 0), 0.0);
}

/// Random trees on a quarter-millisecond grid, where every sum is exact,
/// against a reference that counts covered grid cells one by one.
#[test]
fn exclusive_matches_a_cell_counting_reference() {
    let mut rng = Ids::with_seed(77);
    for _ in 0..2000 {
        let n = 1 + rng.below(9) as usize;
        let end = rng.below(80) as f64 * 0.25;
        let segs: Vec<SegIn> = (0..n)
            .map(|i| {
                let start = rng.below(80) as f64 * 0.25;
                let stop = match rng.below(3) {
                    0 => OPEN,
                    _ => rng.below(80) as f64 * 0.25,
                };
                let parent = if i == 0 {
                    None
                } else {
                    Some(rng.below(i as u32 - 1) as usize)
                };
                seg(start, stop, parent)
            })
            .collect();
        let t = run(&segs, end);
        let close = |s: &SegIn| {
            let e = if s.end.is_nan() { end } else { s.end };
            (s.start, if e < s.start { s.start } else { e })
        };
        for i in 0..n {
            let (lo, hi) = close(&segs[i]);
            let mut free_cells = 0;
            let mut k = lo;
            while k < hi {
                let covered = (1..n).any(|c| {
                    let (a, b) = close(&segs[c]);
                    segs[c].parent == Some(i) && a <= k && k + 0.25 <= b
                });
                if !covered {
                    free_cells += 1;
                }
                k += 0.25;
            }
            let r = row(&t, i);
            assert_eq!(
                r.exclusive.ms(),
                free_cells as f64 * 0.25,
                "segment {i} of {segs:?}"
            );
            assert_eq!(r.duration.ms(), hi - lo);
            assert_eq!(r.start.ms(), segs[i].start - segs[0].start);
            assert_eq!(r.truncated, i != 0 && segs[i].end.is_nan());
        }
        // Row order: root, then non-decreasing starts, ties by index.
        for w in t.rows[1..].windows(2) {
            let (a, b) = (w[0].index, w[1].index);
            assert!((segs[a].start, a) < (segs[b].start, b));
        }
    }
}

#[test]
fn minus_zero_ties_with_zero() {
    let segs = [
        seg(0.0, 1.0, None),
        seg(0.0, 1.0, Some(0)),
        seg(-0.0, 1.0, Some(0)),
        seg(0.0, 1.0, Some(0)),
    ];
    let order: Vec<usize> = run(&segs, 1.0).rows.iter().map(|r| r.index).collect();
    assert_eq!(order, vec![0, 1, 2, 3]);
}

// ------------------------------------------------------------ early ids

#[test]
fn early_ids_parse_and_apply() {
    use crate::core::trace::EarlyIds;
    let hex = format!(
        "{}{}{}",
        "0123456789abcdef0123456789ABCDEF", "0000000000000000", "00000000000000ff"
    );
    let e = EarlyIds::parse(hex.as_bytes(), 2).expect("valid");
    assert_eq!(e.trace_id, Some(0x0123456789abcdef0123456789abcdef));
    assert_eq!(e.span_ids, vec![None, Some(0xff)]);

    let segs = [
        SegIn {
            start: 0.0,
            end: 4.0,
            parent: None,
        },
        SegIn {
            start: 1.0,
            end: 2.0,
            parent: Some(0),
        },
    ];
    let mut trace = assemble(&segs, 4.0, 0, &mut Ids::with_seed(3));
    let root_id = trace.rows[0].id;
    e.apply(&mut trace);
    assert_eq!(trace.trace_id, 0x0123456789abcdef0123456789abcdef);
    assert_eq!(trace.rows[0].id, root_id, "all zeros keeps the drawn id");
    assert_eq!(trace.rows[1].id, 0xff);

    let zeros = "0".repeat(32 + 16);
    let none = EarlyIds::parse(zeros.as_bytes(), 1).expect("zeros");
    assert_eq!(none.trace_id, None);
    assert_eq!(none.span_ids, vec![None]);
}

#[test]
fn early_ids_reject_bad_input() {
    use crate::core::trace::EarlyIds;
    assert!(EarlyIds::parse(b"", 0).is_err());
    assert!(EarlyIds::parse("0".repeat(32).as_bytes(), 1).is_err());
    assert!(EarlyIds::parse("g".repeat(32).as_bytes(), 0).is_err());
    assert!(EarlyIds::parse(
        format!("{}{}", "0".repeat(32), "-".repeat(16)).as_bytes(),
        1
    )
    .is_err());
    assert!(EarlyIds::parse("0".repeat(33).as_bytes(), 0).is_err());
}

#[test]
fn times_are_rounded_to_the_microsecond_ties_up() {
    let t = |v: f64| {
        let x = Time::from_ms(v);
        assert_eq!(x.given.to_bits(), v.to_bits());
        (x.ms(), x.us)
    };
    assert_eq!(t(1.2344999), (1.234, 1234));
    assert_eq!(t(1.2345001), (1.235, 1235));
    assert_eq!(t(-1.2345001), (-1.235, -1235));
    assert_eq!(t(-1.2344999), (-1.234, -1234));
    // Exact ties (v * 1000 is exactly k + 0.5) go up, below zero too.
    assert_eq!(t(0.0625), (0.063, 63));
    assert_eq!(t(-0.0625), (-0.062, -62));
    // Zero is +0 whatever its sign, and so is what rounds to it.
    for v in [0.0, -0.0, 0.0004, -0.0004] {
        let (ms, us) = t(v);
        assert_eq!((ms.to_bits(), us), (0, 0), "{v}");
    }
    // Where v * 1000 is 2^53 or more, or not a number: as it was.
    for v in [9.1e12, -9.1e12, 1e300, f64::MAX] {
        assert_eq!(t(v), (v, Time::OFF_GRID));
    }
    let (nan, us) = t(f64::NAN);
    assert!(nan.is_nan() && us == Time::OFF_GRID);
    assert_eq!(t(1e12), (1e12, 1_000_000_000_000_000));
    // Against the plain definition, floor(y + 1/2) taken exactly, on many
    // values of every sign and size.
    let mut rng = Ids::with_seed(9);
    for _ in 0..100_000 {
        let e = (rng.span_id() % 60) as i32 - 20;
        let mut v = (rng.span_id() >> 11) as f64 * 2f64.powi(e - 53);
        if rng.span_id().is_multiple_of(2) {
            v = -v;
        }
        let y = v * 1000.0;
        let f = y.floor();
        let want = if y - f >= 0.5 { f + 1.0 } else { f };
        assert_eq!(t(v).1, want as i64, "{v}");
    }
}
