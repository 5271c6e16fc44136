//! Unit tests of the pure core (`cargo test`).
//!
//! Tests reach into the buffer with the layout constants to read records and
//! to corrupt them on purpose; the helpers below are shared by the
//! submodules in `tests/`.

mod assemble;
mod check;
mod growth;
mod handles;
mod ids;
mod json;
mod limits;
mod model;
mod num;
mod perf;
mod strings;
mod take;

use super::layout::*;
use super::table::{init, Table};

/// A freshly laid out buffer of `cap` slots with the counter at `next`.
fn buf(cap: usize, next: u32) -> Vec<f64> {
    let mut m = vec![0.0; buffer_len(cap)];
    init(&mut m, cap, next).expect("init");
    m
}

/// Wraps `m`, which must be a valid store buffer.
fn table(m: &mut [f64]) -> Table<'_> {
    Table::new(m).expect("a store buffer")
}

fn cap_of(m: &[f64]) -> usize {
    m[H_CAPACITY] as usize
}

/// Column `column` of the slot of handle `h`.
fn get(m: &[f64], column: usize, h: u32) -> f64 {
    let c = cap_of(m);
    m[at(c, column, h as usize & (c - 1))]
}

/// Writes column `column` of the slot of handle `h`.
fn set(m: &mut [f64], column: usize, h: u32, v: f64) {
    let c = cap_of(m);
    m[at(c, column, h as usize & (c - 1))] = v;
}

/// The buffer as bit patterns, so that NaN fields compare equal.
fn bits(m: &[f64]) -> Vec<u64> {
    m.iter().map(|v| v.to_bits()).collect()
}

/// Panics with the list of problems unless `check()` is empty.
fn assert_sound(m: &mut [f64]) {
    let problems = table(m).check();
    assert!(problems.is_empty(), "check() found: {problems:?}");
}

/// Values that are never handles.
const FORGED: [f64; 10] = [
    f64::NAN,
    -1.0,
    1.5,
    (1u64 << 30) as f64,
    f64::INFINITY,
    f64::NEG_INFINITY,
    -0.5,
    1e300,
    -2.0,
    0.000_1,
];

/// A table with three interleaved transactions, used by several modules.
///
/// Creation order: a0, b0, a1, b1, a2, c0, a3, with
/// a1 and a3 under a0, a2 under a1, b1 under b0. The counter starts 100
/// values before `MAX_HANDLE`, so the first reserve wraps around zero.
struct Fixture {
    m: Vec<f64>,
    a: [u32; 4],
    b: [u32; 2],
    c: u32,
}

fn fixture() -> Fixture {
    let mut m = buf(MIN_CAPACITY, MAX_HANDLE - 100);
    let mut t = table(&mut m);
    let a0 = t.start_transaction(0.0).unwrap();
    let b0 = t.start_transaction(0.5).unwrap();
    let a1 = t.start_segment(a0 as f64, 1.0, 100).unwrap().unwrap();
    let b1 = t.start_segment(b0 as f64, 1.25, 100).unwrap().unwrap();
    let a2 = t.start_segment(a1 as f64, 2.0, 100).unwrap().unwrap();
    let c0 = t.start_transaction(2.5).unwrap();
    let a3 = t.start_segment(a0 as f64, 1.5, 100).unwrap().unwrap();
    t.end_segment(a2 as f64, 3.0);
    t.end_segment(a1 as f64, 4.0);
    t.end_segment(c0 as f64, 6.0);
    Fixture {
        m,
        a: [a0, a1, a2, a3],
        b: [b0, b1],
        c: c0,
    }
}

impl Fixture {
    fn all(&self) -> Vec<u32> {
        let mut v = self.a.to_vec();
        v.extend_from_slice(&self.b);
        v.push(self.c);
        v
    }
}

#[test]
fn fixture_is_sound() {
    let mut f = fixture();
    assert_sound(&mut f.m);
    let all = f.all();
    let t = table(&mut f.m);
    for h in all {
        assert!(t.is_active(h as f64), "{h}");
    }
    let s = t.scan();
    assert_eq!((s.live_transactions, s.live_segments), (3, 7));
    assert_eq!(s.reserved, 256 - 7);
}
