//! A long random run of table operations against a plain model.

use std::collections::HashMap;
use std::time::Instant;

use super::{cap_of, table, FORGED};
use crate::core::ids::Ids;
use crate::core::layout::*;
use crate::core::table::{init, TableError};

const OPS: usize = 200_000;
const MAX_SEGMENTS: u64 = 12;

/// One segment as the model knows it.
#[derive(Debug, Clone)]
struct Seg {
    handle: u32,
    parent: Option<usize>,
    start: f64,
    end: f64,
}

#[derive(Debug, Default)]
struct Model {
    /// Live transactions by root handle; segments in creation order.
    txns: HashMap<u32, (Vec<Seg>, u64)>,
    /// Root of each live handle.
    root_of: HashMap<u32, u32>,
    /// Roots in a Vec for uniform picks (swap-removed).
    roots: Vec<u32>,
    /// Handles of taken transactions (a bounded sample).
    stale: Vec<u32>,
    total_txn: u64,
    total_seg: u64,
    dropped: u64,
}

impl Model {
    fn live_segments(&self) -> usize {
        self.root_of.len()
    }
}

struct Run {
    m: Vec<f64>,
    model: Model,
    rng: Ids,
    clock: f64,
    grows: usize,
}

impl Run {
    fn pick(&mut self, n: usize) -> usize {
        self.rng.below(n as u32 - 1) as usize
    }

    /// Doubles the table; every live handle must stay active.
    fn grow(&mut self) {
        let cap = cap_of(&self.m);
        let mut new = vec![0.0; buffer_len(cap * 2)];
        table(&mut self.m).grow_into(&mut new, cap * 2).unwrap();
        self.m = new;
        self.grows += 1;
        self.verify();
    }

    fn start_txn(&mut self) {
        self.clock += 0.125;
        let h = loop {
            match table(&mut self.m).start_transaction(self.clock) {
                Ok(h) => break h,
                Err(TableError::Full) => self.grow(),
                Err(e) => panic!("{e}"),
            }
        };
        assert!(h <= MAX_HANDLE);
        assert!(
            !self.model.root_of.contains_key(&h),
            "{h} handed out while live"
        );
        let seg = Seg {
            handle: h,
            parent: None,
            start: self.clock,
            end: f64::NAN,
        };
        self.model.txns.insert(h, (vec![seg], 0));
        self.model.root_of.insert(h, h);
        self.model.roots.push(h);
        self.model.total_txn += 1;
        self.model.total_seg += 1;
    }

    fn start_seg(&mut self) {
        if self.model.roots.is_empty() {
            return;
        }
        let k = self.pick(self.model.roots.len());
        let root = self.model.roots[k];
        let len = self.model.txns[&root].0.len();
        let pi = self.pick(len);
        let parent = self.model.txns[&root].0[pi].handle;
        self.clock += 0.125;
        let got = loop {
            match table(&mut self.m).start_segment(parent as f64, self.clock, MAX_SEGMENTS) {
                Ok(r) => break r,
                Err(TableError::Full) => self.grow(),
                Err(e) => panic!("{e}"),
            }
        };
        let (segs, dropped) = self.model.txns.get_mut(&root).unwrap();
        if segs.len() as u64 >= MAX_SEGMENTS {
            assert_eq!(got, None, "segment past the limit");
            *dropped += 1;
            self.model.dropped += 1;
            return;
        }
        let h = got.expect("segment under an active parent");
        assert!(
            !self.model.root_of.contains_key(&h),
            "{h} handed out while live"
        );
        segs.push(Seg {
            handle: h,
            parent: Some(pi),
            start: self.clock,
            end: f64::NAN,
        });
        self.model.root_of.insert(h, root);
        self.model.total_seg += 1;
    }

    fn end_seg(&mut self) {
        if self.model.roots.is_empty() {
            return;
        }
        let k = self.pick(self.model.roots.len());
        let root = self.model.roots[k];
        let len = self.model.txns[&root].0.len();
        let i = self.pick(len);
        // Sometimes before the start.
        let end = self.clock - if self.rng.below(9) == 0 { 5.0 } else { 0.0 };
        let h = self.model.txns[&root].0[i].handle;
        table(&mut self.m).end_segment(h as f64, end);
        let seg = &mut self.model.txns.get_mut(&root).unwrap().0[i];
        if seg.end.is_nan() {
            seg.end = if end < seg.start { seg.start } else { end };
        }
    }

    fn take(&mut self) {
        if self.model.roots.is_empty() {
            return;
        }
        let k = self.pick(self.model.roots.len());
        let root = self.model.roots.swap_remove(k);
        let (segs, dropped) = self.model.txns.remove(&root).unwrap();
        // Through any member.
        let via = segs[self.pick(segs.len())].handle;
        let taken = table(&mut self.m)
            .take_transaction(via as f64)
            .unwrap()
            .expect("a live transaction");
        assert_eq!(taken.dropped, dropped);
        assert_eq!(taken.segments.len(), segs.len());
        let mask = cap_of(&self.m) - 1;
        for ((got, want), slot) in taken.segments.iter().zip(&segs).zip(&taken.slots) {
            assert_eq!(got.parent, want.parent);
            assert_eq!(got.start, want.start);
            assert_eq!(got.end.to_bits(), want.end.to_bits());
            assert_eq!(*slot, want.handle as usize & mask);
        }
        for s in &segs {
            self.model.root_of.remove(&s.handle);
        }
        if self.model.stale.len() < 4096 {
            self.model.stale.extend(segs.iter().map(|s| s.handle));
        } else {
            let i = self.pick(self.model.stale.len());
            self.model.stale[i] = via;
        }
    }

    /// Stale and forged handles are refused and change no count.
    fn poke(&mut self) {
        let v = if !self.model.stale.is_empty() && self.rng.below(1) == 0 {
            let k = self.pick(self.model.stale.len());
            self.model.stale[k] as f64
        } else {
            FORGED[self.pick(FORGED.len())]
        };
        let mut t = table(&mut self.m);
        let before = t.counters();
        assert!(!t.is_active(v), "{v} is active");
        assert_eq!(t.start_segment(v, self.clock, MAX_SEGMENTS), Ok(None));
        assert_eq!(t.take_transaction(v), Ok(None));
        t.end_segment(v, self.clock);
        assert_eq!(t.counters(), before);
    }

    fn verify(&mut self) {
        let model = &self.model;
        let t = table(&mut self.m);
        let problems = t.check();
        assert!(problems.is_empty(), "{problems:?}");
        let scan = t.scan();
        assert_eq!(scan.live_transactions, model.txns.len() as u64);
        assert_eq!(scan.live_segments, model.live_segments() as u64);
        assert_eq!(
            t.counters(),
            [
                model.txns.len() as f64,
                model.live_segments() as f64,
                model.total_txn as f64,
                model.total_seg as f64,
                model.dropped as f64,
            ]
        );
        for (&h, &root) in &model.root_of {
            assert!(t.is_active(h as f64), "{h}");
            assert_eq!(t.transaction_len(h as f64), Ok(model.txns[&root].0.len()));
        }
    }
}

#[test]
fn random_operations_match_the_model() {
    let t0 = Instant::now();
    let mut m = vec![0.0; buffer_len(MIN_CAPACITY)];
    // Start near the top of the range so that the counter wraps early.
    init(&mut m, MIN_CAPACITY, MAX_HANDLE - 3000).unwrap();
    let mut run = Run {
        m,
        model: Model::default(),
        rng: Ids::with_seed(0xC0FFEE),
        clock: 0.0,
        grows: 0,
    };
    let mut peak = 0;
    for op in 0..OPS {
        // The population drifts between a handful and a few hundred
        // transactions: the target moves every 20k operations.
        let target = [8, 300, 40, 600, 150][(op / 20_000) % 5];
        let live = run.model.txns.len();
        let r = run.rng.below(99);
        match r {
            0..=19 if live < target => run.start_txn(),
            0..=19 => run.take(),
            20..=54 => run.start_seg(),
            55..=79 => run.end_seg(),
            80..=94 if live > target / 2 => run.take(),
            80..=94 => run.start_txn(),
            _ => run.poke(),
        }
        peak = peak.max(run.model.live_segments());
        if op % 1000 == 999 {
            run.verify();
        }
    }
    run.verify();
    assert!(run.grows >= 2, "the run never grew the table twice");
    assert!(run.model.dropped > 0, "the run never hit the segment limit");
    while !run.model.roots.is_empty() {
        run.take();
    }
    run.verify();
    let t = table(&mut run.m);
    let scan = t.scan();
    assert_eq!((scan.live_transactions, scan.live_segments), (0, 0));
    let c = t.counters();
    assert_eq!((c[0], c[1]), (0.0, 0.0));
    assert_eq!(run.m[H_OCCUPIED], run.m[H_RESERVED]);
    eprintln!(
        "model: {OPS} ops, {} transactions, {} segments, peak {peak} live, {} grows to {}, {:?}",
        run.model.total_txn,
        run.model.total_seg,
        run.grows,
        cap_of(&run.m),
        t0.elapsed()
    );
}
