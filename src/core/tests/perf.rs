//! Micro-benchmarks of the finish path, ignored by default:
//! `cargo test --release perf -- --ignored --nocapture`.

use std::hint::black_box;
use std::time::Instant;

use super::{buf, table};
use crate::core::ids::Ids;
use crate::core::json::{decode, push_num, trace_json};
use crate::core::layout::MIN_CAPACITY;
use crate::core::trace::assemble;

const SQL: [&str; 3] = [
    "SELECT * FROM t0 WHERE id = $1",
    "SELECT * FROM t1 WHERE id = $1",
    "SELECT * FROM t2 WHERE id = $1",
];

/// The payload `lib/store/payload.js` would send for `n` segments.
fn payload(n: usize) -> (Vec<f64>, Vec<u16>) {
    let mut meta = Vec::new();
    let mut text: Vec<u16> = Vec::new();
    let push = |text: &mut Vec<u16>, s: &str| {
        let before = text.len();
        text.extend(s.encode_utf16());
        (text.len() - before) as f64
    };
    for i in 0..n {
        let name = format!("u{}.a", i % 10);
        meta.push(push(&mut text, &name));
        meta.push(3.0);
        meta.push(push(&mut text, "bench_s"));
        meta.push(0.0);
        meta.push(push(&mut text, SQL[i % 3]));
        meta.push(push(&mut text, "bench_n"));
        meta.push(1.0);
        meta.push((i * 7 + 1) as f64);
        meta.push(push(&mut text, "bench_b"));
        meta.push(2.0);
        meta.push((i & 1) as f64);
    }
    (meta, text)
}

fn fill(m: &mut [f64], n: usize, t0: f64) -> u32 {
    let mut t = table(m);
    let mut tt = t0;
    let root = t.start_transaction(tt).unwrap();
    let mut hs = vec![root];
    for i in 1..n {
        tt += 0.0123456789;
        let h = t
            .start_segment(hs[(i - 1) >> 1] as f64, tt, 1000)
            .unwrap()
            .unwrap();
        hs.push(h);
    }
    for &h in hs[1..].iter().rev() {
        tt += 0.001234567;
        t.end_segment(h as f64, tt);
    }
    root
}

fn per_segment(label: &str, n: usize, reps: usize, mut f: impl FnMut(usize)) {
    let mut best = f64::MAX;
    for _ in 0..15 {
        let a = Instant::now();
        for r in 0..reps {
            f(r);
        }
        let ns = a.elapsed().as_nanos() as f64 / (reps * n) as f64;
        best = best.min(ns);
    }
    println!("{label:>24} n={n:>3}: {best:7.1} ns/segment");
}

#[test]
#[ignore]
fn perf_finish_json() {
    for n in [10usize, 50] {
        let (meta, text) = payload(n);
        per_segment("decode", n, 2000, |_| {
            black_box(decode(black_box(&meta), &text, n).unwrap());
        });
        let mut m = buf(MIN_CAPACITY * 4, 7);
        per_segment("fill+take", n, 2000, |r| {
            let root = fill(&mut m, n, 1000.0 + r as f64);
            let mut t = table(&mut m);
            black_box(t.take_transaction(root as f64).unwrap());
        });
        per_segment("fill", n, 2000, |r| {
            let root = fill(&mut m, n, 1000.0 + r as f64);
            let mut t = table(&mut m);
            black_box(t.take_transaction(root as f64).unwrap());
        });
        let root = fill(&mut m, n, 1234.5678);
        let taken = table(&mut m)
            .take_transaction(root as f64)
            .unwrap()
            .unwrap();
        let mut ids = Ids::with_seed(1);
        per_segment("assemble", n, 2000, |_| {
            black_box(assemble(&taken.segments, 9999.123, 0, &mut ids));
        });
        let trace = assemble(&taken.segments, 9999.123, 0, &mut ids);
        let texts = decode(&meta, &text, n).unwrap();
        per_segment("trace_json", n, 2000, |_| {
            black_box(trace_json(&trace, &texts, 1.7e12 + 0.123));
        });
        let mut out = Vec::with_capacity(64);
        let nums: Vec<f64> = trace
            .rows
            .iter()
            .flat_map(|r| [r.start, r.duration, r.exclusive])
            .collect();
        per_segment("3 push_num", n, 2000, |_| {
            for &v in &nums {
                out.clear();
                push_num(&mut out, v);
                black_box(&out);
            }
        });
        per_segment("3 push_f64", n, 2000, |_| {
            for &v in &nums {
                out.clear();
                crate::core::num::push_f64(&mut out, v);
                black_box(&out);
            }
        });
        println!(
            "json: {}",
            &trace_json(&trace, &texts, 1.7e12 + 0.123)[..400]
        );
    }
}

#[test]
#[ignore]
fn perf_numbers() {
    let mut rng = crate::core::ids::Ids::with_seed(3);
    let mut t = 1234.5678;
    let mut vals = Vec::new();
    for i in 0..3000 {
        let a = (rng.span_id() % 100_000_000_000) as f64 / 1e6;
        t += 0.0123456789;
        vals.push(match i % 3 {
            0 => t - 1234.5678,
            1 => a - a * 0.5,
            _ => a,
        });
    }
    println!("sample: {:?}", &vals[..6]);
    let mut out = Vec::with_capacity(64);
    let only_fast = std::env::var("PERF_FAST").is_ok();
    for (label, f) in [
        (
            "std",
            (|o: &mut Vec<u8>, v: f64| {
                use std::io::Write;
                let _ = write!(o, "{v}");
            }) as fn(&mut Vec<u8>, f64),
        ),
        ("push_f64", crate::core::num::push_f64),
    ] {
        if only_fast && label == "std" {
            continue;
        }
        let mut best = f64::MAX;
        let rounds = std::env::var("PERF_ROUNDS").map_or(20, |r| r.parse().unwrap_or(20));
        for _ in 0..rounds {
            let a = Instant::now();
            for &v in &vals {
                out.clear();
                f(&mut out, v);
                black_box(&out);
            }
            best = best.min(a.elapsed().as_nanos() as f64 / vals.len() as f64);
        }
        println!("{label:>10}: {best:6.1} ns/number");
    }
}
