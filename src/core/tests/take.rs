//! Taking a transaction out: what comes out, what is freed, and corrupted
//! lists that must give `TableError::Corrupt` without panicking.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{assert_sound, bits, fixture, get, set, table};
use crate::core::layout::*;
use crate::core::table::{TableError, Taken};
use crate::core::trace::SegIn;

fn seg(start: f64, end: f64, parent: Option<usize>) -> SegIn {
    SegIn { start, end, parent }
}

fn same_segments(got: &[SegIn], want: &[SegIn]) {
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.parent, w.parent, "{got:?}");
        assert_eq!(g.start.to_bits(), w.start.to_bits(), "{got:?}");
        assert_eq!(g.end.to_bits(), w.end.to_bits(), "{got:?}");
    }
}

#[test]
fn take_returns_the_segments_in_creation_order() {
    let mut f = fixture();
    let mut t = table(&mut f.m);
    let a = t.take_transaction(f.a[0] as f64).unwrap().unwrap();
    let nan = f64::NAN;
    same_segments(
        &a.segments,
        &[
            seg(0.0, nan, None),
            seg(1.0, 4.0, Some(0)),
            seg(2.0, 3.0, Some(1)),
            seg(1.5, nan, Some(0)),
        ],
    );
    assert_eq!(a.dropped, 0);
    let b = t.take_transaction(f.b[1] as f64).unwrap().unwrap();
    same_segments(&b.segments, &[seg(0.5, nan, None), seg(1.25, nan, Some(0))]);
    let c = t.take_transaction(f.c as f64).unwrap().unwrap();
    same_segments(&c.segments, &[seg(2.5, 6.0, None)]);
}

/// Transactions of every shape the walk's parent lookup special-cases
/// (flat under the root, a chain, siblings under one parent) and random
/// ones, below and above the size at which it hashes: the parents come out
/// as they went in.
#[test]
fn take_finds_every_parent_in_small_and_large_transactions() {
    use crate::core::ids::Ids;
    let mut rng = Ids::with_seed(7);
    let mut m = super::buf(1024, 1);
    for n in [2usize, 10, 64, 65, 200] {
        for shape in 0..4 {
            let mut t = table(&mut m);
            let root = t.start_transaction(0.0).unwrap();
            let mut handles = vec![root];
            let mut want = vec![seg(0.0, f64::NAN, None)];
            for i in 1..n {
                let p = match shape {
                    0 => 0,
                    1 => i - 1,
                    2 => (i - 1) / 8 * 8,
                    _ => (rng.span_id() % i as u64) as usize,
                };
                let h = t
                    .start_segment(handles[p] as f64, i as f64, 1000)
                    .unwrap()
                    .expect("an active parent");
                handles.push(h);
                want.push(seg(i as f64, f64::NAN, Some(p)));
            }
            let got = t.take_transaction(root as f64).unwrap().unwrap();
            same_segments(&got.segments, &want);
        }
    }
}

#[test]
fn take_frees_everything() {
    let mut f = fixture();
    let all = f.all();
    let mut t = table(&mut f.m);
    let reserved = t.scan().reserved;
    // Through a leaf, a middle segment and a root.
    assert!(t.take_transaction(f.a[2] as f64).unwrap().is_some());
    assert!(t.check().is_empty(), "{:?}", t.check());
    assert!(t.take_transaction(f.b[1] as f64).unwrap().is_some());
    assert!(t.take_transaction(f.c as f64).unwrap().is_some());
    let scan = t.scan();
    assert_eq!((scan.live_transactions, scan.live_segments), (0, 0));
    assert_eq!(scan.reserved, reserved);
    assert_eq!(t.counters(), [0.0, 0.0, 3.0, 7.0, 0.0]);
    assert!(t.check().is_empty(), "{:?}", t.check());
    assert_eq!(f.m[H_OCCUPIED], reserved as f64);
    assert_eq!(f.m[H_RESERVED], reserved as f64);
    for h in all {
        assert_eq!(get(&f.m, C_HANDLE, h), FREE);
    }
    // Every slot is free except the reserved ones.
    let free = (0..MIN_CAPACITY)
        .filter(|&s| f.m[at(MIN_CAPACITY, C_HANDLE, s)] == FREE)
        .count();
    assert_eq!(free as u64, MIN_CAPACITY as u64 - reserved);
}

#[test]
fn taking_twice_gives_none() {
    let mut f = fixture();
    let mut t = table(&mut f.m);
    assert!(t.take_transaction(f.a[3] as f64).unwrap().is_some());
    for h in f.a {
        assert_eq!(t.take_transaction(h as f64), Ok(None));
    }
    assert!(t.check().is_empty());
    assert_eq!(t.counters()[0], 2.0);
}

/// Takes `h` from the corrupted buffer: must be `Corrupt`, must not panic,
/// must leave the buffer as it was. (Whether `check()` sees the same
/// corruption is tested in `check.rs`.)
fn assert_corrupt(m: &mut [f64], h: u32) {
    let before = bits(m);
    let r: Result<Result<Option<Taken>, TableError>, _> =
        catch_unwind(AssertUnwindSafe(|| table(m).take_transaction(h as f64)));
    match r {
        Ok(Err(TableError::Corrupt(_))) => {}
        Ok(other) => panic!("take_transaction({h}) gave {other:?}, not Corrupt"),
        Err(_) => panic!("take_transaction({h}) panicked on a corrupted buffer"),
    }
    assert!(bits(m) == before, "a failed take changed the buffer");
}

#[test]
fn a_next_cycle_is_corrupt() {
    let mut f = fixture();
    let [a0, a1, a2, _] = f.a;
    set(&mut f.m, C_NEXT, a2, a1 as f64);
    assert_corrupt(&mut f.m, a0);

    let mut f = fixture();
    set(&mut f.m, C_NEXT, f.a[3], f.a[0] as f64);
    assert_corrupt(&mut f.m, f.a[3]);

    let mut f = fixture();
    set(&mut f.m, C_NEXT, f.c, f.c as f64);
    assert_corrupt(&mut f.m, f.c);
}

#[test]
fn a_wrong_count_is_corrupt() {
    for count in [3.0, 5.0, 0.0, -1.0, f64::NAN, 1024.0] {
        let mut f = fixture();
        set(&mut f.m, C_COUNT, f.a[0], count);
        assert_corrupt(&mut f.m, f.a[1]);
    }
}

/// A count far beyond the capacity must be reported, not used to size an
/// allocation.
#[test]
fn a_huge_count_is_corrupt_not_a_panic() {
    let mut f = fixture();
    set(&mut f.m, C_COUNT, f.a[0], 1e30);
    assert_corrupt(&mut f.m, f.a[0]);
}

#[test]
fn a_list_that_leaves_its_transaction_is_corrupt() {
    // NEXT leads into another transaction.
    let mut f = fixture();
    set(&mut f.m, C_NEXT, f.a[1], f.b[1] as f64);
    assert_corrupt(&mut f.m, f.a[0]);
    // NEXT leads to a free slot's value, to a non-handle, to NaN.
    for v in [f.a[0] as f64 + 1024.0, 1.5, f64::NAN, 1e300, -5.0] {
        let mut f = fixture();
        set(&mut f.m, C_NEXT, f.a[3], v);
        assert_corrupt(&mut f.m, f.a[0]);
    }
}

#[test]
fn a_parent_that_comes_later_or_elsewhere_is_corrupt() {
    let mut f = fixture();
    let [_, a1, a2, a3] = f.a;
    set(&mut f.m, C_PARENT, a1, a2 as f64);
    assert_corrupt(&mut f.m, a3);

    let mut f = fixture();
    set(&mut f.m, C_PARENT, f.a[2], f.b[0] as f64);
    assert_corrupt(&mut f.m, f.a[0]);

    let mut f = fixture();
    set(&mut f.m, C_PARENT, f.a[2], 0.5);
    assert_corrupt(&mut f.m, f.a[0]);
}

#[test]
fn a_root_pointer_to_a_non_root_is_corrupt() {
    // a2 claims b1 (live, but not a root) as its root.
    let mut f = fixture();
    set(&mut f.m, C_ROOT, f.a[2], f.b[1] as f64);
    assert_corrupt(&mut f.m, f.a[2]);
    // The root's own ROOT points elsewhere.
    let mut f = fixture();
    set(&mut f.m, C_ROOT, f.a[0], f.b[0] as f64);
    assert_corrupt(&mut f.m, f.a[1]);
}

#[test]
fn a_sound_fixture_is_untouched_by_these_helpers() {
    // Guards the helpers above: on a sound table take works.
    let mut f = fixture();
    assert_sound(&mut f.m);
    assert!(table(&mut f.m)
        .take_transaction(f.a[0] as f64)
        .unwrap()
        .is_some());
}

#[test]
fn leaks_lists_old_transactions_and_open_segments() {
    use crate::core::layout::{buffer_len, MIN_CAPACITY};
    use crate::core::table::{init, Leak, Table};
    let mut m = vec![0.0; buffer_len(MIN_CAPACITY)];
    init(&mut m, MIN_CAPACITY, 100).expect("init");
    let mut t = Table::new(&mut m).expect("table");
    let old = t.start_transaction(0.0).expect("txn");
    let open = t
        .start_segment(old as f64, 10.0, 900)
        .expect("ok")
        .expect("seg");
    let closed = t
        .start_segment(old as f64, 5.0, 900)
        .expect("ok")
        .expect("seg");
    t.end_segment(closed as f64, 6.0);
    let young = t.start_transaction(900.0).expect("txn");
    assert_eq!(
        t.leaks(1000.0, 500.0, 500.0, 10),
        vec![
            Leak {
                handle: old,
                root: old,
                start: 0.0
            },
            Leak {
                handle: open,
                root: old,
                start: 10.0
            },
        ]
    );
    assert_eq!(t.leaks(1000.0, 500.0, 500.0, 1).len(), 1);
    assert_eq!(
        t.leaks(1000.0, 0.0, 0.0, 10).len(),
        3,
        "young counts at threshold 0"
    );
    t.take_transaction(old as f64).expect("take");
    t.take_transaction(young as f64).expect("take");
    assert!(t.leaks(1e9, 0.0, 0.0, 10).is_empty());
}
