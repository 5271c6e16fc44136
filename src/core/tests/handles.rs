//! Handles: range, slot mapping, the sweep counter, reuse and stale handles.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::{bits, buf, fixture, get, table, FORGED};
use crate::core::ids::Ids;
use crate::core::layout::*;
use crate::core::table::{init, is_handle_value, Table};

#[test]
fn handles_are_in_range_and_live_in_their_slot() {
    let mut ids = Ids::with_seed(7);
    for _ in 0..20 {
        let next = ids.below(MAX_HANDLE);
        let mut m = buf(MIN_CAPACITY, next);
        let mut t = table(&mut m);
        let mut live = Vec::new();
        for i in 0..40 {
            let h = t.start_transaction(i as f64).unwrap();
            live.push(h);
            let s = t.start_segment(h as f64, i as f64, 10).unwrap().unwrap();
            live.push(s);
        }
        for &h in &live {
            assert!(h <= MAX_HANDLE);
            assert_eq!(get(&m, C_HANDLE, h), h as f64);
            let slot = h as usize & (MIN_CAPACITY - 1);
            assert_eq!(m[at(MIN_CAPACITY, C_HANDLE, slot)], h as f64);
        }
        let distinct: HashSet<u32> = live.iter().copied().collect();
        assert_eq!(distinct.len(), live.len());
    }
}

#[test]
fn taken_slots_are_the_handle_masks() {
    let mut f = fixture();
    let mut t = table(&mut f.m);
    let taken = t.take_transaction(f.a[2] as f64).unwrap().unwrap();
    let want: Vec<usize> = f.a.iter().map(|&h| h as usize & 1023).collect();
    assert_eq!(taken.slots, want);
}

#[test]
fn the_sweep_takes_consecutive_values_from_the_counter() {
    let mut m = buf(MIN_CAPACITY, 1000);
    let mut t = table(&mut m);
    assert_eq!(t.reserve(5), 5);
    let stack: HashSet<u32> = (0..5).map(|i| m[H_RESERVE + i] as u32).collect();
    assert_eq!(stack, (1000..1005).collect());
    assert_eq!(m[H_NEXT], 1005.0);
    assert_eq!(m[H_OCCUPIED], 5.0);
    assert_eq!(m[H_RESERVED], 5.0);
    for h in 1000..1005u32 {
        assert_eq!(get(&m, C_HANDLE, h), h as f64);
        assert_eq!(get(&m, C_ROOT, h), RESERVED);
    }
    // Reserved handles are not active until used.
    let mut t = table(&mut m);
    for h in 1000..1005u32 {
        assert!(!t.is_active(h as f64));
    }
    let h = t.start_transaction(0.0).unwrap();
    assert!((1000..1005).contains(&h));
    assert!(t.is_active(h as f64));
    // Asking for fewer than held changes nothing.
    assert_eq!(t.reserve(2), 4);
    assert_eq!(t.reserve(10_000), RESERVE_MAX);
}

#[test]
fn the_sweep_skips_occupied_slots() {
    let mut m = buf(MIN_CAPACITY, 0);
    assert_eq!(table(&mut m).reserve(3), 3); // 0, 1, 2 in slots 0, 1, 2
    m[H_NEXT] = 1024.0; // slot 0 again
    assert_eq!(table(&mut m).reserve(4), 4);
    assert_eq!(m[H_RESERVE + 3], 1027.0);
    assert_eq!(m[H_NEXT], 1028.0);
}

#[test]
fn the_counter_wraps_at_max_handle() {
    let mut m = buf(MIN_CAPACITY, MAX_HANDLE - 1);
    assert_eq!(table(&mut m).reserve(4), 4);
    let got: Vec<f64> = m[H_RESERVE..H_RESERVE + 4].to_vec();
    assert_eq!(
        got,
        vec![(MAX_HANDLE - 1) as f64, MAX_HANDLE as f64, 0.0, 1.0]
    );
    assert_eq!(m[H_NEXT], 2.0);

    // Wrapping and skipping together: slot 0 is occupied by handle 0.
    let mut m = buf(MIN_CAPACITY, 0);
    assert_eq!(table(&mut m).reserve(1), 1);
    m[H_NEXT] = MAX_HANDLE as f64;
    assert_eq!(table(&mut m).reserve(3), 3);
    let got: Vec<f64> = m[H_RESERVE..H_RESERVE + 3].to_vec();
    assert_eq!(got, vec![0.0, MAX_HANDLE as f64, 1.0]);
    assert_eq!(m[H_NEXT], 2.0);
}

#[test]
fn init_masks_the_counter_to_thirty_bits() {
    let m = buf(MIN_CAPACITY, u32::MAX);
    assert_eq!(m[H_NEXT], MAX_HANDLE as f64);
    let m = buf(MIN_CAPACITY, 1 << 30);
    assert_eq!(m[H_NEXT], 0.0);
}

/// Plain churn, no counter tricks: a million start/take cycles never hand
/// out a handle twice, and every slot is reused many times.
#[test]
fn churn_never_repeats_a_handle() {
    const CYCLES: usize = 1 << 20;
    let t0 = Instant::now();
    let mut m = buf(MIN_CAPACITY, 123_456_789);
    let mut t = table(&mut m);
    let mut seen = HashSet::with_capacity(CYCLES);
    let mut per_slot: HashMap<usize, usize> = HashMap::new();
    for i in 0..CYCLES {
        let h = t.start_transaction(i as f64).unwrap();
        assert!(h <= MAX_HANDLE);
        assert!(seen.insert(h), "handle {h} issued twice (cycle {i})");
        *per_slot.entry(h as usize & 1023).or_default() += 1;
        let taken = t.take_transaction(h as f64).unwrap().unwrap();
        assert_eq!(taken.slots, vec![h as usize & 1023]);
    }
    assert_eq!(per_slot.len(), 1024);
    assert!(per_slot.values().all(|&n| n >= 1000), "{per_slot:?}");
    assert!(t.check().is_empty());
    eprintln!("churn: {CYCLES} cycles in {:?}", t0.elapsed());
}

/// One slot reused 2^20 times: the documented bound at capacity 1024. The
/// other slots stay free except for seven live transactions just before the
/// target slot; after each reuse the counter is moved forward onto them, so
/// the sweep must skip seven occupied slots to land on the target again.
/// The run starts near the top of the handle range, so the counter wraps
/// in the middle.
#[test]
fn one_slot_reused_two_to_the_twenty_times_gets_distinct_handles() {
    const C: u32 = MIN_CAPACITY as u32;
    const SLOT: u32 = 300;
    const SKIP: u32 = 7;
    let reuses: u32 = MAX_HANDLE / C + 1; // 2^20
    assert_eq!(reuses, 1 << 20);
    let t0 = Instant::now();
    let first = SLOT + (reuses - 12_345) * C;
    let mut m = buf(MIN_CAPACITY, first - SKIP);
    {
        let mut t = table(&mut m);
        assert_eq!(t.reserve(SKIP as usize), SKIP as usize);
        for i in 0..SKIP {
            t.start_transaction(i as f64).unwrap();
        }
        assert_eq!(t.scan().live_transactions, SKIP as u64);
    }
    assert_eq!(m[H_NEXT], first as f64);
    let mut seen = HashSet::with_capacity(reuses as usize);
    let mut prev = first;
    for i in 0..=reuses {
        let mut t = Table::new(&mut m).unwrap();
        assert_eq!(t.reserve(1), 1);
        let h = t.start_transaction(i as f64).unwrap();
        assert_eq!(h & (C - 1), SLOT, "reuse {i}: handle {h}");
        if i < reuses {
            assert!(seen.insert(h), "reuse {i}: handle {h} repeats");
        } else {
            // The documented limit: reuse 2^20 + 1 is where values repeat.
            assert_eq!(h, first);
        }
        assert!(t.take_transaction(h as f64).unwrap().is_some());
        assert!(!t.is_active(h as f64));
        if i > 0 {
            assert!(!t.is_active(prev as f64));
        }
        prev = h;
        m[H_NEXT] = (h.wrapping_add(C - SKIP) & MAX_HANDLE) as f64;
    }
    assert_eq!(seen.len(), 1 << 20);
    assert!(seen.contains(&SLOT) && seen.contains(&(MAX_HANDLE - (C - 1) + SLOT)));
    let t = table(&mut m);
    assert!(t.check().is_empty());
    assert_eq!(t.scan().live_transactions, SKIP as u64);
    eprintln!("one slot: {} reuses in {:?}", reuses + 1, t0.elapsed());
}

#[test]
fn stale_handles_are_not_active_after_take() {
    let mut f = fixture();
    let mut t = table(&mut f.m);
    let a = f.a;
    assert!(t.take_transaction(a[0] as f64).unwrap().is_some());
    for &h in &a {
        assert!(!t.is_active(h as f64), "{h}");
        assert_eq!(t.start_segment(h as f64, 9.0, 100), Ok(None));
        assert_eq!(t.take_transaction(h as f64), Ok(None));
        assert!(t.transaction_len(h as f64).is_err());
    }
    // The other transactions are untouched.
    for h in [f.b[0], f.b[1], f.c] {
        assert!(t.is_active(h as f64));
    }
    assert!(t.check().is_empty());
}

#[test]
fn a_stale_handle_stays_stale_when_its_slot_is_reused() {
    let mut m = buf(MIN_CAPACITY, 5);
    assert_eq!(table(&mut m).reserve(1), 1);
    let old = table(&mut m).start_transaction(0.0).unwrap();
    assert_eq!(old, 5);
    assert!(table(&mut m).take_transaction(5.0).unwrap().is_some());
    m[H_NEXT] = (5 + 1024) as f64;
    let mut t = table(&mut m);
    assert_eq!(t.reserve(1), 1);
    let new = t.start_transaction(1.0).unwrap();
    assert_eq!(new, 5 + 1024);
    assert!(t.is_active(new as f64));
    assert!(!t.is_active(old as f64));
    assert_eq!(t.start_segment(old as f64, 2.0, 10), Ok(None));
    assert_eq!(t.take_transaction(old as f64), Ok(None));
    t.end_segment(old as f64, 3.0);
    assert!(
        get(&m, C_END, new).is_nan(),
        "ending a stale handle ended its successor"
    );
    assert_eq!(get(&m, C_COUNT, new), 1.0);
}

#[test]
fn forged_values_are_never_active_and_change_nothing() {
    let mut f = fixture();
    let before = bits(&f.m);
    let mut t = table(&mut f.m);
    let live = f.a[0];
    // Values in range that are not the handle their slot holds.
    let wrong_slot_owner = [
        ((live + 1024) & MAX_HANDLE) as f64,
        live as f64 + 0.5,
        (live ^ (1 << 29)) as f64,
    ];
    for v in FORGED.iter().chain(&wrong_slot_owner) {
        assert!(!t.is_active(*v), "{v} is active");
        assert_eq!(t.start_segment(*v, 1.0, 100), Ok(None), "{v}");
        assert_eq!(t.take_transaction(*v), Ok(None), "{v}");
        assert!(t.transaction_len(*v).is_err(), "{v}");
        t.end_segment(*v, 1.0);
    }
    assert!(bits(&f.m) == before, "a forged value changed the buffer");
}

#[test]
fn is_handle_value_accepts_exactly_the_thirty_bit_integers() {
    for v in [0.0, 1.0, 1023.0, MAX_HANDLE as f64] {
        assert!(is_handle_value(v), "{v}");
    }
    for v in FORGED {
        assert!(!is_handle_value(v), "{v}");
    }
}

#[test]
fn init_rejects_bad_capacities_and_lengths() {
    let mut m = vec![0.0; buffer_len(MIN_CAPACITY)];
    assert!(init(&mut m, MIN_CAPACITY, 0).is_ok());
    for cap in [0, 1, 512, 1000, 1536, MAX_CAPACITY * 2] {
        let mut m = vec![0.0; HEADER_LEN];
        assert!(
            matches!(
                init(&mut m, cap, 0),
                Err(crate::core::table::TableError::BadBuffer(_))
            ),
            "{cap}"
        );
    }
    let mut m = vec![0.0; buffer_len(MIN_CAPACITY) - 1];
    assert!(matches!(
        init(&mut m, MIN_CAPACITY, 0),
        Err(crate::core::table::TableError::BadBuffer(_))
    ));
}
