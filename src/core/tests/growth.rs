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
    // Seven eighths of the slots: the load bound, exactly.
    assert_eq!(roots.len(), MIN_CAPACITY / 8 * 7);
    assert_eq!(roots.len(), max_occupied(MIN_CAPACITY));
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

// ---------------------------------------------------------------- shrinking

fn shrink(m: &mut [f64], new_cap: usize) -> Option<Vec<f64>> {
    let mut new = vec![0.0; buffer_len(new_cap)];
    let done = table(m).shrink_into(&mut new, new_cap).expect("shrink");
    if !done {
        assert!(
            new.iter().all(|&v| v == 0.0),
            "a refused shrink wrote into the new buffer"
        );
    }
    done.then_some(new)
}

/// A table of `cap` slots with `n` transactions of one segment each, made one
/// after another (so their handles are consecutive counter values).
fn consecutive(cap: usize, next: u32, n: usize) -> (Vec<f64>, Vec<u32>) {
    let mut m = buf(cap, next);
    let mut t = table(&mut m);
    let mut live = Vec::new();
    for i in 0..n {
        let root = t.start_transaction(i as f64).unwrap();
        let seg = t
            .start_segment(root as f64, i as f64 + 0.5, 10)
            .unwrap()
            .unwrap();
        t.end_segment(seg as f64, i as f64 + 0.75);
        live.extend([root, seg]);
    }
    (m, live)
}

#[test]
fn shrinking_keeps_every_record_under_the_same_handle() {
    // 4096 slots, 100 live and the reserve: all fit in 1024 (counter values
    // in a row, across the wrap at MAX_HANDLE).
    let (mut old, live) = consecutive(4096, MAX_HANDLE - 60, 50);
    assert_sound(&mut old);
    let old_scan = table(&mut old).scan();
    let mut new = shrink(&mut old, MIN_CAPACITY).expect("they fit");
    assert_eq!(new.len(), buffer_len(MIN_CAPACITY));
    assert_eq!(new[H_CAPACITY], MIN_CAPACITY as f64);
    for i in (0..HEADER_LEN).filter(|&i| i != H_CAPACITY) {
        assert_eq!(new[i].to_bits(), old[i].to_bits(), "header field {i}");
    }
    for &h in &live {
        assert_eq!(record(&new, h), record(&old, h), "record of {h}");
    }
    for h in stack(&old) {
        let s = h as usize & (MIN_CAPACITY - 1);
        assert_eq!(new[at(MIN_CAPACITY, C_HANDLE, s)], h);
        assert_eq!(new[at(MIN_CAPACITY, C_ROOT, s)], RESERVED);
    }
    assert_sound(&mut new);
    let t = table(&mut new);
    let s = t.scan();
    assert_eq!(
        (s.live_transactions, s.live_segments, s.reserved, s.capacity),
        (
            old_scan.live_transactions,
            old_scan.live_segments,
            old_scan.reserved,
            1024
        )
    );
    for &h in &live {
        assert!(t.is_active(h as f64), "{h}");
    }
}

#[test]
fn a_shrunk_table_behaves_like_the_old_one() {
    let (mut old, live) = consecutive(8192, 12_345, 40);
    let mut new = shrink(&mut old, 2048).expect("they fit");
    let mut a = table(&mut old);
    let mut b = table(&mut new);
    for i in 0..600 {
        // Past the reserve: new handles come from the counter in both.
        let x = a.start_transaction(i as f64).unwrap();
        let y = b.start_transaction(i as f64).unwrap();
        assert_eq!(x, y);
        assert!(a.take_transaction(x as f64).unwrap().is_some());
        assert!(b.take_transaction(y as f64).unwrap().is_some());
    }
    for &h in &live {
        let x = a.take_transaction(h as f64).unwrap();
        let y = b.take_transaction(h as f64).unwrap();
        assert_eq!(
            format!("{:?}", x.map(|t| t.segments)),
            format!("{:?}", y.map(|t| t.segments))
        );
    }
    assert!(b.check().is_empty(), "{:?}", b.check());
    assert_eq!(a.counters(), b.counters());
}

#[test]
fn shrinking_is_refused_when_two_handles_would_share_a_slot() {
    // 1100 in a row at 4096 slots; keep the first and the 1025th, which
    // share a slot at 1024 slots but not at 2048.
    let (mut m, live) = consecutive(4096, 0, 550);
    let (first, twin) = (live[0], live[1024]);
    assert_eq!(first & 1023, twin & 1023);
    for &h in &live {
        if h != first
            && h != twin
            && live
                .iter()
                .position(|&x| x == h)
                .is_some_and(|i| i % 2 == 0)
        {
            assert!(table(&mut m).take_transaction(h as f64).unwrap().is_some());
        }
    }
    // The two roots (and the segments made with them) are all that is live.
    let scan = table(&mut m).scan();
    assert_eq!(scan.live_transactions, 2);
    assert!(shrink(&mut m, MIN_CAPACITY).is_none());
    let mut two = shrink(&mut m, 2048).expect("they fit at 2048");
    assert_sound(&mut two);
    assert!(table(&mut two).is_active(first as f64) && table(&mut two).is_active(twin as f64));
}

#[test]
fn shrinking_is_refused_when_more_than_seven_eighths_would_be_occupied() {
    // 768 live with consecutive handles, so no two share a slot at 1024
    // slots, and the reserve stack empty (768 pops: three whole batches).
    let (mut m, _) = consecutive(4096, 3, 384);
    assert_eq!((m[H_OCCUPIED], m[H_RESERVED]), (768.0, 0.0));
    // 768 live + 128 reserved = 896, seven eighths of 1024: they fit.
    assert_eq!(table(&mut m).reserve(128), 128);
    assert_eq!(m[H_OCCUPIED], (MIN_CAPACITY / 8 * 7) as f64);
    let mut fits = shrink(&mut m, MIN_CAPACITY).expect("896 fit in 1024");
    assert_sound(&mut fits);
    // One more reserved handle, 897 > 896: refused, at 1024 only.
    assert_eq!(table(&mut m).reserve(129), 129);
    assert_eq!(m[H_OCCUPIED], 897.0);
    assert!(shrink(&mut m, MIN_CAPACITY).is_none());
    assert!(shrink(&mut m, 2048).is_some());
}

#[test]
fn shrinking_to_a_bad_size_is_an_error() {
    let (mut m, _) = consecutive(2048, 3, 5);
    let t = table(&mut m);
    let cases: [(usize, usize); 4] = [
        (4096, buffer_len(4096)),
        (1024, buffer_len(1024) + 1),
        (1536, buffer_len(1536)),
        (512, buffer_len(512)),
    ];
    for (cap, len) in cases {
        let mut new = vec![0.0; len];
        let r = t.shrink_into(&mut new, cap);
        assert!(
            matches!(r, Err(TableError::BadBuffer(_))),
            "{cap} {len}: {r:?}"
        );
    }
}

/// Grow and shrink in turn under load: no handle is ever issued twice, every
/// stale handle stays inactive, and the table stays sound.
#[test]
fn no_handle_repeats_across_growing_and_shrinking() {
    let mut rng = Ids::with_seed(77);
    let mut m = buf(MIN_CAPACITY, MAX_HANDLE - 3000);
    let mut issued = std::collections::HashSet::new();
    let mut live: Vec<u32> = Vec::new();
    let mut stale: Vec<u32> = Vec::new();
    let mut shrunk = 0;
    for round in 0..400 {
        // A burst up, then down.
        let target = if round % 20 < 10 { 1500 } else { 20 };
        for _ in 0..200 {
            if live.len() < target {
                let r = table(&mut m).start_transaction(round as f64);
                let h = match r {
                    Ok(h) => h,
                    Err(TableError::Full) => {
                        let cap = cap_of(&m);
                        m = grow(&mut m, cap * 2);
                        table(&mut m).start_transaction(round as f64).unwrap()
                    }
                    Err(e) => panic!("{e}"),
                };
                assert!(issued.insert(h), "handle {h} issued twice");
                live.push(h);
            } else if !live.is_empty() {
                let i = rng.below(live.len() as u32 - 1) as usize;
                let h = live.swap_remove(i);
                assert!(table(&mut m).take_transaction(h as f64).unwrap().is_some());
                stale.push(h);
            }
        }
        // Shrink by half when at most an eighth is occupied.
        let cap = cap_of(&m);
        if cap > MIN_CAPACITY && 8.0 * m[H_OCCUPIED] < cap as f64 {
            if let Some(small) = shrink(&mut m, cap / 2) {
                m = small;
                shrunk += 1;
            }
        }
        assert_sound(&mut m);
        let t = table(&mut m);
        for &h in &live {
            assert!(t.is_active(h as f64), "live {h}");
        }
        for &h in stale.iter().rev().take(3000) {
            assert!(!t.is_active(h as f64), "stale {h}");
        }
    }
    assert!(shrunk >= 10, "only {shrunk} shrinks");
}
