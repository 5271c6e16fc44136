//! Growing a table, and buffers that are not store buffers.

use super::{assert_sound, bits, buf, cap_of, table};
use crate::core::ids::Ids;
use crate::core::layout::*;
use crate::core::table::{capacity_of, Table, TableError};

/// A table of `cap` slots with `txns` transactions (a third of them taken
/// again), random trees, ends and drops. Returns the buffer and the live
/// handles.
fn loaded(cap: usize, next: u32, txns: usize, seed: u64) -> (Vec<f64>, Vec<u32>) {
    let mut rng = Ids::with_seed(seed);
    let mut m = buf(cap, next);
    let mut t = table(&mut m);
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut clock = 0.0;
    for _ in 0..txns {
        clock += 0.25;
        let root = t.start_transaction(clock).unwrap();
        let mut g = vec![root];
        for _ in 0..rng.below(6) {
            clock += 0.125;
            let parent = g[rng.below(g.len() as u32 - 1) as usize];
            if let Some(h) = t.start_segment(parent as f64, clock, 4).unwrap() {
                g.push(h);
            }
        }
        for &h in &g {
            if rng.below(1) == 0 {
                t.end_segment(h as f64, clock + 1.0);
            }
        }
        groups.push(g);
    }
    let mut live = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        if i % 3 == 1 {
            assert!(t.take_transaction(g[0] as f64).unwrap().is_some());
        } else {
            live.extend(g);
        }
    }
    (m, live)
}

/// The reserve stack, bottom first.
fn stack(m: &[f64]) -> Vec<f64> {
    m[H_RESERVE..H_RESERVE + m[H_RESERVED] as usize].to_vec()
}

fn record(m: &[f64], h: u32) -> Vec<u64> {
    let c = cap_of(m);
    (0..COLUMNS)
        .map(|col| m[at(c, col, h as usize & (c - 1))].to_bits())
        .collect()
}

fn grow(m: &mut [f64], new_cap: usize) -> Vec<f64> {
    let mut new = vec![0.0; buffer_len(new_cap)];
    table(m).grow_into(&mut new, new_cap).expect("grow");
    new
}

#[test]
fn growing_keeps_every_record_under_the_same_handle() {
    let (mut old, live) = loaded(MIN_CAPACITY, 0x0abc_d3f0, 120, 1);
    assert_sound(&mut old);
    // The test means something only if some handles change slot.
    assert!(live.iter().any(|h| h & 1024 != 0) && live.iter().any(|h| h & 1024 == 0));
    let old_scan = table(&mut old).scan();
    let mut new = grow(&mut old, 2048);

    assert_eq!(new.len(), buffer_len(2048));
    assert_eq!(new[H_CAPACITY], 2048.0);
    for i in (0..HEADER_LEN).filter(|&i| i != H_CAPACITY) {
        assert_eq!(new[i].to_bits(), old[i].to_bits(), "header field {i}");
    }
    for &h in &live {
        assert_eq!(record(&new, h), record(&old, h), "record of {h}");
        assert_eq!(new[at(2048, C_HANDLE, h as usize & 2047)], h as f64);
    }
    for h in stack(&old) {
        let h = h as u32;
        assert_eq!(new[at(2048, C_HANDLE, h as usize & 2047)], h as f64);
        assert_eq!(new[at(2048, C_ROOT, h as usize & 2047)], RESERVED);
    }
    assert_sound(&mut new);
    let t = table(&mut new);
    for &h in &live {
        assert!(t.is_active(h as f64), "{h}");
    }
    let new_scan = t.scan();
    assert_eq!(new_scan.capacity, 2048);
    assert_eq!(
        (
            new_scan.live_transactions,
            new_scan.live_segments,
            new_scan.reserved
        ),
        (
            old_scan.live_transactions,
            old_scan.live_segments,
            old_scan.reserved
        )
    );
    // Only the slots of live and reserved handles are occupied.
    let occupied = (0..2048)
        .filter(|&s| new[at(2048, C_HANDLE, s)] != FREE)
        .count() as u64;
    assert_eq!(occupied, old_scan.live_segments + old_scan.reserved);
}

#[test]
fn a_grown_table_behaves_like_the_old_one() {
    let (mut old, live) = loaded(MIN_CAPACITY, MAX_HANDLE - 40, 120, 2);
    let mut new = grow(&mut old, 4096);
    let mut a = table(&mut old);
    let mut b = table(&mut new);
    assert_eq!(a.counters(), b.counters());
    // Reserved handles come out of both in the same order and are usable
    // (two per round, so that only handles reserved before growing are used).
    let reserved = a.scan().reserved;
    assert!(reserved >= 2);
    for i in 0..reserved / 2 {
        let x = a.start_transaction(100.0 + i as f64).unwrap();
        let y = b.start_transaction(100.0 + i as f64).unwrap();
        assert_eq!(x, y);
        assert!(b.is_active(y as f64));
        let z = b.start_segment(y as f64, 200.0, 10).unwrap().unwrap();
        assert!(b.is_active(z as f64));
        assert_eq!(a.start_segment(x as f64, 200.0, 10).unwrap().unwrap(), z);
    }
    // Every old transaction comes out whole, with the same segments.
    for &h in &live {
        let x = a.take_transaction(h as f64).unwrap();
        let y = b.take_transaction(h as f64).unwrap();
        assert_eq!(x.is_some(), y.is_some());
        if let (Some(x), Some(y)) = (x, y) {
            assert_eq!(x.segments.len(), y.segments.len());
            for (p, q) in x.segments.iter().zip(&y.segments) {
                assert_eq!(p.parent, q.parent);
                assert_eq!(p.start.to_bits(), q.start.to_bits());
                assert_eq!(p.end.to_bits(), q.end.to_bits());
            }
            assert_eq!(x.dropped, y.dropped);
            for s in &y.slots {
                assert!(*s < 4096);
            }
        }
    }
    assert!(b.check().is_empty(), "{:?}", b.check());
    assert_eq!(a.counters(), b.counters());
}

#[test]
fn a_full_table_works_again_after_growing() {
    let mut m = buf(MIN_CAPACITY, 77);
    let mut t = table(&mut m);
    let mut roots = Vec::new();
    loop {
        match t.start_transaction(0.0) {
            Ok(h) => roots.push(h),
            Err(e) => {
                assert_eq!(e, TableError::Full);
                break;
            }
        }
    }
    assert_eq!(roots.len(), MIN_CAPACITY / 2);
    assert_eq!(
        t.start_segment(roots[0] as f64, 1.0, 10),
        Err(TableError::Full)
    );
    assert!(t.check().is_empty());
    let mut m = grow(&mut m, 2 * MIN_CAPACITY);
    let mut t = table(&mut m);
    let h = t.start_transaction(1.0).unwrap();
    let s = t.start_segment(roots[0] as f64, 1.0, 10).unwrap().unwrap();
    assert!(t.is_active(h as f64) && t.is_active(s as f64));
    for &r in &roots {
        assert!(t.is_active(r as f64));
    }
    assert!(t.check().is_empty(), "{:?}", t.check());
}

#[test]
fn growing_twice_and_to_the_same_size() {
    let (mut m, live) = loaded(MIN_CAPACITY, 999_999, 90, 3);
    let mut same = grow(&mut m, MIN_CAPACITY);
    // Growing to the same size copies the header and every occupied slot.
    assert!(bits(&same[..HEADER_LEN]) == bits(&m[..HEADER_LEN]));
    for s in 0..MIN_CAPACITY {
        let h = m[at(MIN_CAPACITY, C_HANDLE, s)];
        assert_eq!(same[at(MIN_CAPACITY, C_HANDLE, s)].to_bits(), h.to_bits());
        if h != FREE {
            assert_eq!(record(&same, h as u32), record(&m, h as u32));
        }
    }
    let mut m2 = grow(&mut same, 2048);
    let mut m4 = grow(&mut m2, 4096);
    assert_sound(&mut m4);
    let t = table(&mut m4);
    for &h in &live {
        assert!(t.is_active(h as f64));
    }
}

#[test]
fn shrinking_is_refused() {
    let (mut m, _) = loaded(MIN_CAPACITY, 5, 10, 4);
    let mut m = grow(&mut m, 2048);
    let mut small = vec![0.0; buffer_len(MIN_CAPACITY)];
    let r = table(&mut m).grow_into(&mut small, MIN_CAPACITY);
    assert!(matches!(r, Err(TableError::BadBuffer(_))), "{r:?}");
}

#[test]
fn growing_into_a_bad_buffer_is_refused() {
    let (mut m, _) = loaded(MIN_CAPACITY, 5, 10, 5);
    let t = table(&mut m);
    let cases: [(usize, usize); 4] = [
        (2048, buffer_len(2048) - 1),
        (2048, buffer_len(4096)),
        (3072, buffer_len(3072)),
        (MAX_CAPACITY * 2, HEADER_LEN),
    ];
    for (cap, len) in cases {
        let mut new = vec![0.0; len];
        let r = t.grow_into(&mut new, cap);
        assert!(
            matches!(r, Err(TableError::BadBuffer(_))),
            "{cap} {len}: {r:?}"
        );
    }
}

#[test]
fn bad_buffers_are_refused() {
    let good = buf(MIN_CAPACITY, 0);
    let bad = |m: &mut Vec<f64>| {
        assert!(matches!(capacity_of(m), Err(TableError::BadBuffer(_))));
        assert!(matches!(Table::new(m), Err(TableError::BadBuffer(_))));
    };
    // Wrong lengths.
    for len in [
        0,
        HEADER_LEN - 1,
        HEADER_LEN,
        good.len() - 1,
        good.len() + 1,
    ] {
        let mut m = good.clone();
        m.resize(len, 0.0);
        bad(&mut m);
    }
    // Wrong magic.
    let mut m = good.clone();
    m[H_MAGIC] = MAGIC + 1.0;
    bad(&mut m);
    let mut m = good.clone();
    m[H_MAGIC] = f64::NAN;
    bad(&mut m);
    // Capacities that are not powers of two in range, lengths matching.
    for cap in [1536usize, 1025, 512, 0] {
        let mut m = vec![0.0; buffer_len(cap)];
        m[H_MAGIC] = MAGIC;
        m[H_CAPACITY] = cap as f64;
        bad(&mut m);
    }
    // Capacity that does not match the length, fractional, NaN.
    for c in [2048.0, 1024.5, f64::NAN, -1024.0, f64::INFINITY] {
        let mut m = good.clone();
        m[H_CAPACITY] = c;
        bad(&mut m);
    }
    let mut m = good.clone();
    assert_eq!(capacity_of(&m), Ok(MIN_CAPACITY));
    assert!(Table::new(&mut m).is_ok());
}
