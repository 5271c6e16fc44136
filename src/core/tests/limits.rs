//! The per-transaction segment limit and parents that are not active.

use super::{bits, buf, fixture, get, table};
use crate::core::layout::*;

#[test]
fn the_limit_counts_the_root_and_drops_are_counted_twice() {
    let mut m = buf(MIN_CAPACITY, 4242);
    let mut t = table(&mut m);
    let root = t.start_transaction(0.0).unwrap();
    let a = t.start_segment(root as f64, 1.0, 3).unwrap().unwrap();
    let b = t.start_segment(a as f64, 2.0, 3).unwrap().unwrap();
    // Three segments, root included: the limit is reached.
    assert_eq!(t.start_segment(root as f64, 3.0, 3), Ok(None));
    assert_eq!(t.start_segment(b as f64, 3.0, 3), Ok(None));
    assert_eq!(t.start_segment(a as f64, 3.0, 3), Ok(None));
    assert_eq!(t.transaction_len(root as f64), Ok(3));
    let scan = t.scan();
    assert_eq!((scan.live_transactions, scan.live_segments), (1, 3));
    let occupied = m_occupied(&t);
    // A drop reserves nothing.
    assert_eq!(t.start_segment(root as f64, 3.0, 3), Ok(None));
    assert_eq!(m_occupied(&t), occupied);
    assert_eq!(t.counters(), [1.0, 3.0, 1.0, 3.0, 4.0]);
    assert_eq!(m[H_DROPPED], 4.0);
    assert_eq!(get(&m, C_DROPPED, root), 4.0);
    let mut t = table(&mut m);
    let taken = t.take_transaction(b as f64).unwrap().unwrap();
    assert_eq!(taken.dropped, 4);
    assert_eq!(taken.segments.len(), 3);
    // The header keeps the total after the transaction is gone.
    assert_eq!(t.counters()[4], 4.0);
    assert!(t.check().is_empty());
}

fn m_occupied(t: &crate::core::table::Table<'_>) -> u64 {
    let s = t.scan();
    s.live_segments + s.reserved
}

#[test]
fn drops_are_per_transaction() {
    let mut m = buf(MIN_CAPACITY, 0);
    let mut t = table(&mut m);
    let x = t.start_transaction(0.0).unwrap();
    let y = t.start_transaction(0.0).unwrap();
    let z = t.start_transaction(0.0).unwrap();
    for _ in 0..5 {
        assert_eq!(t.start_segment(x as f64, 1.0, 1), Ok(None));
    }
    assert!(t.start_segment(y as f64, 1.0, 2).unwrap().is_some());
    for _ in 0..2 {
        assert_eq!(t.start_segment(y as f64, 1.0, 2), Ok(None));
    }
    // A larger limit on a later call lets the transaction grow again.
    assert!(t.start_segment(y as f64, 1.0, 3).unwrap().is_some());
    assert_eq!(t.counters()[4], 7.0);
    let tx = t.take_transaction(x as f64).unwrap().unwrap();
    let ty = t.take_transaction(y as f64).unwrap().unwrap();
    let tz = t.take_transaction(z as f64).unwrap().unwrap();
    assert_eq!((tx.dropped, ty.dropped, tz.dropped), (5, 2, 0));
    assert_eq!(
        (tx.segments.len(), ty.segments.len(), tz.segments.len()),
        (1, 3, 1)
    );
    assert_eq!(t.counters()[4], 7.0);
}

#[test]
fn a_limit_of_zero_or_one_drops_every_segment() {
    let mut m = buf(MIN_CAPACITY, 0);
    let mut t = table(&mut m);
    let x = t.start_transaction(0.0).unwrap();
    assert_eq!(t.start_segment(x as f64, 1.0, 1), Ok(None));
    assert_eq!(t.start_segment(x as f64, 1.0, 0), Ok(None));
    assert_eq!(t.transaction_len(x as f64), Ok(1));
    assert_eq!(t.counters()[4], 2.0);
}

#[test]
fn a_parent_that_is_not_active_gives_none_and_is_not_a_drop() {
    let mut f = fixture();
    // A reserved handle (the top of the stack) is not active.
    let reserved = f.m[H_RESERVE + f.m[H_RESERVED] as usize - 1];
    assert_eq!(get(&f.m, C_ROOT, reserved as u32), RESERVED);
    let taken_root = f.c;
    assert!(table(&mut f.m)
        .take_transaction(taken_root as f64)
        .unwrap()
        .is_some());
    let before = bits(&f.m);
    let mut t = table(&mut f.m);
    for p in [
        reserved,
        taken_root as f64,
        f64::NAN,
        -1.0,
        2.5,
        (1u64 << 30) as f64,
        (f.a[0] ^ 1024) as f64,
    ] {
        assert_eq!(t.start_segment(p, 1.0, 100), Ok(None), "{p}");
    }
    assert!(bits(&f.m) == before, "a refused parent changed the buffer");
}

#[test]
fn segments_record_parent_start_and_list_order() {
    let mut f = fixture();
    let [a0, a1, a2, a3] = f.a;
    let m = &f.m;
    assert_eq!(get(m, C_ROOT, a2), a0 as f64);
    assert_eq!(get(m, C_PARENT, a2), a1 as f64);
    assert_eq!(get(m, C_PARENT, a0), NONE);
    assert_eq!(get(m, C_START, a3), 1.5);
    assert_eq!(get(m, C_NEXT, a0), a1 as f64);
    assert_eq!(get(m, C_NEXT, a1), a2 as f64);
    assert_eq!(get(m, C_NEXT, a2), a3 as f64);
    assert_eq!(get(m, C_NEXT, a3), NONE);
    assert_eq!(get(m, C_TAIL, a0), a3 as f64);
    assert_eq!(get(m, C_COUNT, a0), 4.0);
    assert_eq!(get(m, C_END, a1), 4.0);
    assert!(get(m, C_END, a3).is_nan());
    let t = table(&mut f.m);
    assert_eq!(t.counters(), [3.0, 7.0, 3.0, 7.0, 0.0]);
}

#[test]
fn only_the_first_end_counts_and_an_early_end_is_the_start() {
    let mut m = buf(MIN_CAPACITY, 0);
    let mut t = table(&mut m);
    let r = t.start_transaction(10.0).unwrap();
    let s = t.start_segment(r as f64, 12.25, 10).unwrap().unwrap();
    t.end_segment(s as f64, 11.0);
    t.end_segment(s as f64, 20.0);
    t.end_segment(r as f64, 30.5);
    t.end_segment(r as f64, 31.0);
    assert_eq!(get(&m, C_END, s), 12.25);
    assert_eq!(get(&m, C_END, r), 30.5);
}
