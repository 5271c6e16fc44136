//! Micro-benchmarks of the finish path, ignored by default:
//! `cargo test --release perf -- --ignored --nocapture`.

use std::hint::black_box;
use std::time::Instant;

use super::{buf, table};
use crate::core::ids::Ids;
use crate::core::json::{push_num, trace_json};
use crate::core::layout::MIN_CAPACITY;
use crate::core::strings::{read_arena_into, Arena, ArenaTexts, Strings};
use crate::core::trace::assemble;

const SQL: [&str; 3] = [
    "SELECT * FROM t0 WHERE id = $1",
    "SELECT * FROM t1 WHERE id = $1",
    "SELECT * FROM t2 WHERE id = $1",
];

/// What the store keeps for some segments, as `finishJsonStrings` reads it.
struct StoreArrays {
    strings: Strings,
    side: Vec<i32>,
    arena: Vec<i32>,
    values: Vec<f64>,
}

impl StoreArrays {
    fn view(&self) -> Arena<'_> {
        Arena {
            side: &self.side,
            arena: &self.arena,
            values: &self.values,
            strings: &self.strings,
        }
    }
}

/// What the store keeps for `n` segments in slots `0..n` of a table of `n`
/// slots: the string table, the side arrays, the attribute arena and values
/// (each segment with a string, a number and a boolean attribute).
fn store_arrays(n: usize) -> StoreArrays {
    let mut strings = Strings::new();
    let u = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    // ids: 0..10 the names, 10..13 the keys, 13..16 the SQL.
    for i in 0..10 {
        strings.set(i, &u(&format!("u{i}.a")));
    }
    for (i, key) in ["bench_s", "bench_n", "bench_b"].iter().enumerate() {
        strings.set(10 + i, &u(key));
    }
    for (i, sql) in SQL.iter().enumerate() {
        strings.set(13 + i, &u(sql));
    }
    let a = 1 + 3 * n;
    let mut side = vec![0; 2 * n];
    let mut arena = vec![0; 2 * a];
    let mut values = vec![0.0; a];
    for i in 0..n {
        side[i] = (i % 10) as i32;
        let e = 1 + 3 * i;
        side[n + i] = e as i32;
        let attrs = [
            (10, 0, (13 + i % 3) as f64),
            (11, 1, (i * 7 + 1) as f64),
            (12, 2, (i & 1) as f64),
        ];
        for (k, (key, kind, v)) in attrs.into_iter().enumerate() {
            arena[e + k] = (key << 2) | kind;
            values[e + k] = v;
            arena[a + e + k] = if k < 2 { (e + k + 1) as i32 } else { 0 };
        }
    }
    StoreArrays {
        strings,
        side,
        arena,
        values,
    }
}

/// The benchmark's store arrays are sound, and give the JSON of their texts.
#[test]
fn store_arrays_read_back() {
    let n = 12;
    let arrays = store_arrays(n);
    let view = arrays.view();
    let slots: Vec<usize> = (0..n).collect();
    let mut segs = Vec::new();
    read_arena_into(&view, n, &slots, &mut segs).unwrap();
    let mut m = buf(MIN_CAPACITY, 7);
    let root = fill(&mut m, n, 1000.0);
    let taken = table(&mut m)
        .take_transaction(root as f64)
        .unwrap()
        .unwrap();
    let trace = assemble(&taken.segments, 2000.0, 0, &mut Ids::with_seed(1));
    let texts = ArenaTexts {
        arena: view,
        segs: &segs,
    };
    let json = trace_json(&trace, &texts, 0.0);
    assert_eq!(json.matches(r#""bench_s":"SELECT * FROM t"#).count(), n);
    assert_eq!(json.matches(r#""name":"u9.a""#).count(), 1);
    assert!(json.contains(
        r#""attributes":{"bench_s":"SELECT * FROM t1 WHERE id = $1","bench_n":8,"bench_b":true}"#
    ));
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
        let arrays = store_arrays(n);
        let view = arrays.view();
        let slots: Vec<usize> = (0..n).collect();
        let mut segs = Vec::new();
        per_segment("read_arena", n, 2000, |_| {
            read_arena_into(black_box(&view), n, &slots, &mut segs).unwrap();
            black_box(&segs);
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
        read_arena_into(&view, n, &slots, &mut segs).unwrap();
        let texts = ArenaTexts {
            arena: view,
            segs: &segs,
        };
        per_segment("trace_json", n, 2000, |_| {
            black_box(trace_json(&trace, &texts, 1.7e12 + 0.123));
        });
        let mut out = Vec::with_capacity(64);
        let nums: Vec<f64> = trace
            .rows
            .iter()
            .flat_map(|r| [r.start.ms(), r.duration.ms(), r.exclusive.ms()])
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
        (
            "write_f64",
            // As `Writer::num` writes: in place, in a buffer with room.
            (|o: &mut Vec<u8>, v: f64| {
                o.resize(crate::core::num::ROOM, 0);
                let n = crate::core::num::write_f64(o, v).unwrap_or(0);
                o.truncate(n);
            }) as fn(&mut Vec<u8>, f64),
        ),
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
