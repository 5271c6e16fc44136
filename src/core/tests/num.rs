//! The fast number printer against `{}`, which it must equal byte for byte.

use crate::core::ids::Ids;
use crate::core::num::{push_f64, push_u64};

fn fast(v: f64) -> String {
    let mut out = Vec::new();
    push_f64(&mut out, v);
    String::from_utf8(out).expect("push_f64 wrote invalid UTF-8")
}

fn same(v: f64) {
    assert_eq!(fast(v), format!("{v}"), "bits {:#x}", v.to_bits());
}

/// Numbers of the kinds a trace holds: times on the performance.now() clock
/// (whole nanoseconds over 1e6), their differences, and random bit patterns.
fn sweep(rng: &mut Ids, count: usize) {
    for _ in 0..count {
        let ns = (rng.span_id() % 100_000_000_000_000) as f64;
        let a = ns / 1e6;
        let b = (rng.span_id() % 100_000_000_000_000) as f64 / 1e6;
        same(a);
        same(a - b);
        same(-a);
        same(b - a + (rng.span_id() % 1000) as f64 / 7.0);
        let v = f64::from_bits(rng.span_id());
        if v.is_finite() {
            same(v);
        }
        // On the microsecond grid (a trace's times), at every magnitude up
        // to past its path's edge at 10^12, and the doubles either side.
        let us = (rng.span_id() % 10u64.pow(1 + (rng.span_id() % 17) as u32)) as f64 / 1000.0;
        for w in [
            us,
            f64::from_bits(us.to_bits() + 1),
            f64::from_bits(us.to_bits().saturating_sub(1)),
        ] {
            same(w);
            same(-w);
        }
        // Every magnitude the fast path takes, and past its edges.
        let e = (rng.span_id() % 90) as i32 - 30;
        same((rng.span_id() >> 11) as f64 * 2f64.powi(e - 53));
    }
}

#[test]
fn push_f64_equals_display_on_chosen_numbers() {
    for v in [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.2,
        0.1 + 0.2,
        0.5,
        0.25,
        1.5,
        2.0 / 3.0,
        1e-3,
        4.8828125e-4, // 2^-11, the fast path's edge
        4.8828126e-4,
        4.8828124e-4,
        1e-7,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740991.0,
        9007199254740992.0,
        9007199254740993.0,
        4503599627370495.5,
        4503599627370496.5,
        1e21,
        123456789.125,
        1234.5678,
        8764.555199999999,
        1700000001234.691,
        99.99999999999999,
        0.9999999999999999,
        9.999999999999998,
    ] {
        same(v);
        same(-v);
    }
}

#[test]
fn push_f64_equals_display_on_ties_and_powers_of_two() {
    let mut rng = Ids::with_seed(7);
    // t * 2^-j with t odd of every width: decimals that end in 5, the ties
    // between two shortest candidates among them.
    for j in 0..70 {
        for width in 1..=53u32 {
            for _ in 0..4 {
                let t = (rng.span_id() >> (64 - width)) | 1 | (1u64 << (width - 1));
                let v = t as f64 * 2f64.powi(-j);
                same(v);
                same(-v);
            }
        }
        same(2f64.powi(-j));
        same(3.0 * 2f64.powi(-j));
    }
}

/// Every layout the fixed-size copies make: integer parts of 1 to 16
/// digits, 1 to 27 places (past the 20 digits a `u64` holds, so with
/// leading zeros), either sign, and the smallest and largest numbers of
/// each binade near the fast path's edges.
#[test]
fn push_f64_equals_display_at_every_width_and_place() {
    let mut rng = Ids::with_seed(11);
    for int_len in 1..=16i32 {
        for places in 1..=27i32 {
            let whole = 10f64.powi(int_len - 1);
            let frac = 10f64.powi(-places);
            for v in [
                whole + frac,
                whole + 7.0 * frac,
                (whole - 1.0).max(0.0) + frac,
                frac,
                9.0 * frac,
                frac * (1.0 + (rng.span_id() % 1000) as f64 / 1000.0),
            ] {
                same(v);
                same(-v);
                same(f64::from_bits(v.to_bits() + 1));
                same(f64::from_bits(v.to_bits() - 1));
            }
        }
    }
    for e in -40..=53 {
        let p = 2f64.powi(e);
        for v in [
            f64::from_bits(p.to_bits() + 1),
            f64::from_bits(p.to_bits() - 1),
            p * 1.5,
        ] {
            same(v);
            same(-v);
        }
    }
}

#[test]
fn push_f64_equals_display_on_many_numbers() {
    sweep(&mut Ids::with_seed(2026), 60_000);
}

#[test]
#[ignore]
fn push_f64_equals_display_on_millions_of_numbers() {
    sweep(&mut Ids::with_seed(1), 20_000_000);
}

#[test]
fn push_u64_prints_every_width() {
    let mut out = Vec::new();
    let mut n = 1u64;
    for _ in 0..20 {
        for v in [n - 1, n, n + 1, n.wrapping_mul(7)] {
            out.clear();
            push_u64(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
        n = n.wrapping_mul(10);
    }
    out.clear();
    push_u64(&mut out, u64::MAX);
    assert_eq!(out, u64::MAX.to_string().as_bytes());
}
