//! `check()` finds corruption introduced by hand.

use super::{buf, fixture, set, table, Fixture};
use crate::core::layout::*;

/// Applies `corrupt` to a fresh fixture and expects a problem that contains
/// `needle`.
fn detects(what: &str, needle: &str, corrupt: impl FnOnce(&mut Fixture)) {
    let mut f = fixture();
    corrupt(&mut f);
    let problems = table(&mut f.m).check();
    assert!(
        problems.iter().any(|p| p.contains(needle)),
        "{what}: expected a problem mentioning {needle:?}, got {problems:?}"
    );
}

#[test]
fn sound_tables_have_no_problems() {
    let mut m = buf(MIN_CAPACITY, 0);
    assert_eq!(table(&mut m).check(), Vec::<String>::new());
    let mut f = fixture();
    assert_eq!(table(&mut f.m).check(), Vec::<String>::new());
}

#[test]
fn wrong_header_counters() {
    detects("live transactions", "liveTransactions", |f| {
        f.m[H_LIVE_TXN] += 1.0
    });
    detects("live segments", "liveSegments", |f| f.m[H_LIVE_SEG] -= 1.0);
    detects("reserved", "reserved", |f| f.m[H_RESERVED] += 1.0);
    detects("occupied", "occupied", |f| f.m[H_OCCUPIED] -= 1.0);
    detects("NaN counter", "liveSegments", |f| {
        f.m[H_LIVE_SEG] = f64::NAN
    });
}

#[test]
fn a_slot_holding_another_slots_handle() {
    // A free slot claims the handle of its neighbour.
    detects("free slot", "another slot", |f| {
        let s = (f.c as usize + 500) & (MIN_CAPACITY - 1);
        f.m[at(MIN_CAPACITY, C_HANDLE, s)] = (s + 1) as f64;
        f.m[at(MIN_CAPACITY, C_ROOT, s)] = RESERVED;
    });
    // A live slot's handle is changed to one of a different slot.
    detects("live slot", "another slot", |f| {
        set(&mut f.m, C_HANDLE, f.a[3], (f.a[3] ^ 1) as f64)
    });
    detects("NaN handle", "another slot", |f| {
        set(&mut f.m, C_HANDLE, f.b[1], f64::NAN)
    });
    detects("fractional handle", "another slot", |f| {
        set(&mut f.m, C_HANDLE, f.b[1], f.b[1] as f64 + 0.5)
    });
}

#[test]
fn a_parent_outside_the_transaction() {
    detects("other transaction", "outside its transaction", |f| {
        set(&mut f.m, C_PARENT, f.a[2], f.b[0] as f64)
    });
    detects("not a handle", "outside its transaction", |f| {
        set(&mut f.m, C_PARENT, f.a[2], -1.0)
    });
    detects("stale parent", "outside its transaction", |f| {
        let c = f.c;
        assert!(table(&mut f.m)
            .take_transaction(c as f64)
            .unwrap()
            .is_some());
        set(&mut f.m, C_PARENT, f.a[2], c as f64);
    });
    detects("root with a parent", "has parent", |f| {
        set(&mut f.m, C_PARENT, f.a[0], f.b[0] as f64)
    });
}

#[test]
fn broken_lists_and_roots() {
    detects("count", "counts", |f| set(&mut f.m, C_COUNT, f.a[0], 5.0));
    detects("tail", "tail says", |f| {
        set(&mut f.m, C_TAIL, f.a[0], f.a[2] as f64)
    });
    detects("foreign list", "is not in transaction", |f| {
        set(&mut f.m, C_NEXT, f.a[1], f.b[1] as f64)
    });
    detects("cycle", "lists more than", |f| {
        set(&mut f.m, C_NEXT, f.a[3], f.a[1] as f64)
    });
    detects("dead root", "no live root", |f| {
        set(&mut f.m, C_ROOT, f.a[1], f.a[0] as f64 + 1024.0)
    });
    detects("root is not a root", "no live root", |f| {
        set(&mut f.m, C_ROOT, f.b[1], f.a[1] as f64)
    });
    // a3 cut off its list, with the root's count and tail adjusted.
    detects("unlisted segment", "lists hold", |f| {
        set(&mut f.m, C_NEXT, f.a[2], NONE);
        set(&mut f.m, C_TAIL, f.a[0], f.a[2] as f64);
        set(&mut f.m, C_COUNT, f.a[0], 3.0);
    });
}

/// Marks free slots of the fixture reserved, header kept consistent, until
/// `occupied` slots are occupied.
fn occupy(f: &mut Fixture, occupied: usize) {
    let mut extra = 0.0;
    for s in 0..MIN_CAPACITY {
        if f.m[H_OCCUPIED] + extra >= occupied as f64 {
            break;
        }
        if f.m[at(MIN_CAPACITY, C_HANDLE, s)] == FREE {
            f.m[at(MIN_CAPACITY, C_HANDLE, s)] = s as f64;
            f.m[at(MIN_CAPACITY, C_ROOT, s)] = RESERVED;
            extra += 1.0;
        }
    }
    // Keep the header consistent, so only the load bound can be broken.
    f.m[H_OCCUPIED] += extra;
    f.m[H_RESERVED] += extra;
    assert_eq!(f.m[H_OCCUPIED], occupied as f64);
}

#[test]
fn more_than_seven_eighths_occupied() {
    // 896 of 1024, the bound itself, is sound; 897 is not.
    let mut f = fixture();
    occupy(&mut f, MIN_CAPACITY / 8 * 7);
    assert_eq!(table(&mut f.m).check(), Vec::<String>::new());
    detects("load", "seven eighths", |f| {
        occupy(f, MIN_CAPACITY / 8 * 7 + 1)
    });
}

/// Invariant 4 says a parent was created before its child, and
/// `take_transaction` rejects a buffer where it was not; `check()`, which
/// documents that it verifies invariants 1-6, must see it too.
#[test]
fn a_parent_created_after_its_child() {
    let mut f = fixture();
    let [_, a1, a2, _] = f.a;
    set(&mut f.m, C_PARENT, a1, a2 as f64); // a1 and a2 are each other's parent
    let mut t = table(&mut f.m);
    let problems = t.check();
    let taken = t.take_transaction(a1 as f64);
    assert!(
        matches!(taken, Err(crate::core::table::TableError::Corrupt(_))),
        "{taken:?}"
    );
    assert!(
        !problems.is_empty(),
        "take_transaction finds this buffer corrupt, check() finds nothing"
    );
}
