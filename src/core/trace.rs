//! Assembling a finished trace: closing open segments, ordering, durations
//! and exclusive times.

use super::ids::Ids;

/// One segment as the table holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegIn {
    /// Start time, ms.
    pub start: f64,
    /// End time, ms; NaN while open.
    pub end: f64,
    /// Index of the parent in the same input slice; `None` for the root,
    /// which is always index 0.
    pub parent: Option<usize>,
}

/// A trace's offset or duration: ms rounded to the microsecond, ties up,
/// held as the whole microseconds, so that the JSON prints them (a short
/// path) and the ms ([`Time::ms`]) are computed only for the objects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Time {
    /// The whole microseconds; [`Time::OFF_GRID`] where `given * 1000` is
    /// not below 2^53 in size (or not a number), where doubles are about
    /// that coarse already.
    pub us: i64,
    /// The time as it was given, ms, before rounding.
    pub given: f64,
}

impl Time {
    /// `us` of a time too large for the microsecond grid, or not a number.
    pub const OFF_GRID: i64 = i64::MIN;

    /// `v` ms rounded to the nearest microsecond, ties up. The pure-JS
    /// backend does the same operations, so the two agree to the bit.
    #[inline(always)]
    pub fn from_ms(v: f64) -> Time {
        let y = v * 1000.0;
        if y.is_nan() || y.abs() >= 9_007_199_254_740_992.0 {
            return Time {
                us: Time::OFF_GRID,
                given: v,
            };
        }
        // y's truncation, moved to the nearest integer, ties up: the
        // fraction `y - t` is exact, and in (-1, 1).
        let t = y as i64;
        let r = y - t as f64;
        let us = t + i64::from(r >= 0.5) - i64::from(r < -0.5);
        Time { us, given: v }
    }

    /// The ms: the double nearest `us / 1000`, `+0` for zero; off the grid,
    /// the time as it was given.
    #[inline]
    pub fn ms(&self) -> f64 {
        if self.us == Time::OFF_GRID {
            self.given
        } else {
            self.us as f64 / 1000.0
        }
    }
}

/// One segment of the finished trace, in output order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Index of the segment in the input slice.
    pub index: usize,
    /// Row of the parent; `None` for the root.
    pub parent_row: Option<usize>,
    /// Offset of the start from the transaction's start.
    pub start: Time,
    pub duration: Time,
    /// `duration` minus the union of the direct children's intervals, each
    /// clipped to this segment's own interval (before rounding).
    pub exclusive: Time,
    /// The segment was still open when its transaction ended.
    pub truncated: bool,
    pub id: u64,
}

/// A finished trace, without names and attributes (the JS side holds those).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub trace_id: u128,
    /// The root's start time, ms on the caller's clock (not rounded).
    pub start: f64,
    /// The root's duration.
    pub duration: Time,
    pub dropped: u64,
    /// Root first, then the others by start time (ties: creation order).
    pub rows: Vec<Row>,
}

/// Space [`assemble_into`] reuses from one call to the next.
#[derive(Debug, Default)]
pub struct AssembleScratch {
    ends: Vec<f64>,
    first_child: Vec<usize>,
    next_sibling: Vec<usize>,
    exclusive: Vec<f64>,
    spans: Vec<(f64, f64)>,
    order: Vec<usize>,
    row_of: Vec<usize>,
}

/// Closes and orders `segs` (root at index 0) for a transaction ending at
/// `end`. The root, if open, is closed at `end` without being marked
/// truncated; any other open segment is closed at `end` and marked
/// truncated. An end before a start counts as the start.
pub fn assemble(segs: &[SegIn], end: f64, dropped: u64, ids: &mut Ids) -> Trace {
    let mut trace = Trace {
        trace_id: 0,
        start: 0.0,
        duration: Time::from_ms(0.0),
        dropped: 0,
        rows: Vec::new(),
    };
    assemble_into(
        segs,
        end,
        dropped,
        ids,
        &mut AssembleScratch::default(),
        &mut trace,
    );
    trace
}

/// [`assemble`] into `out`, reusing its rows' space and `scratch`'s.
pub fn assemble_into(
    segs: &[SegIn],
    end: f64,
    dropped: u64,
    ids: &mut Ids,
    scratch: &mut AssembleScratch,
    out: &mut Trace,
) {
    let n = segs.len();
    out.dropped = dropped;
    out.rows.clear();
    if n == 0 {
        out.trace_id = ids.trace_id();
        out.start = 0.0;
        out.duration = Time::from_ms(0.0);
        return;
    }
    let AssembleScratch {
        ends,
        first_child,
        next_sibling,
        exclusive,
        spans,
        order,
        row_of,
    } = scratch;
    // Closed intervals, in input order.
    ends.clear();
    ends.extend(segs.iter().map(|s| {
        let e = if s.end.is_nan() { end } else { s.end };
        if e < s.start {
            s.start
        } else {
            e
        }
    }));

    // Direct children's intervals, grouped by parent.
    first_child.clear();
    first_child.resize(n, usize::MAX);
    next_sibling.clear();
    next_sibling.resize(n, usize::MAX);
    for i in (1..n).rev() {
        if let Some(p) = segs[i].parent {
            if p < n {
                next_sibling[i] = first_child[p];
                first_child[p] = i;
            }
        }
    }
    exclusive.clear();
    exclusive.resize(n, 0.0);
    for i in 0..n {
        let (lo, hi) = (segs[i].start, ends[i]);
        spans.clear();
        let mut c = first_child[i];
        while c != usize::MAX {
            let a = segs[c].start.max(lo);
            let b = ends[c].min(hi);
            if b > a {
                spans.push((a, b));
            }
            c = next_sibling[c];
        }
        exclusive[i] = (hi - lo) - covered(spans);
        if exclusive[i] < 0.0 {
            exclusive[i] = 0.0;
        }
    }

    // Output order: root, then by start, then creation order.
    order.clear();
    order.extend(0..n);
    // `+ 0.0` turns -0 into 0, so that the two tie (total_cmp alone orders
    // -0 first); total_cmp keeps the sort a total order whatever the input,
    // and the index breaks every tie, so an unstable sort (which allocates
    // nothing) gives the one order.
    order[1..].sort_unstable_by(|&a, &b| {
        (segs[a].start + 0.0)
            .total_cmp(&(segs[b].start + 0.0))
            .then(a.cmp(&b))
    });
    row_of.clear();
    row_of.resize(n, 0);
    for (row, &i) in order.iter().enumerate() {
        row_of[i] = row;
    }
    let t0 = segs[0].start;
    out.rows.extend(order.iter().map(|&i| Row {
        index: i,
        parent_row: segs[i].parent.filter(|&p| p < n).map(|p| row_of[p]),
        start: Time::from_ms(segs[i].start - t0),
        duration: Time::from_ms(ends[i] - segs[i].start),
        exclusive: Time::from_ms(exclusive[i]),
        truncated: segs[i].end.is_nan() && i != 0,
        id: ids.span_id(),
    }));
    out.trace_id = ids.trace_id();
    out.start = t0;
    out.duration = Time::from_ms(ends[0] - t0);
}

/// Length of the union of `spans`.
fn covered(spans: &mut [(f64, f64)]) -> f64 {
    if spans.is_empty() {
        return 0.0;
    }
    // Unstable (it allocates nothing): spans that start together merge into
    // one whatever their order, so the sum is the same.
    spans.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let (mut a, mut b) = spans[0];
    for &(x, y) in &spans[1..] {
        if x > b {
            total += b - a;
            a = x;
            b = y;
        } else if y > b {
            b = y;
        }
    }
    total + (b - a)
}

/// Ids handed out before a transaction ended, to be kept in its trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlyIds {
    pub trace_id: Option<u128>,
    /// By input index (creation order).
    pub span_ids: Vec<Option<u64>>,
}

impl EarlyIds {
    /// Reads `32 + 16 * count` hex digits: the trace id, then one span id
    /// per segment in creation order; all zeros stand for "none".
    pub fn parse(hex: &[u8], count: usize) -> Result<EarlyIds, String> {
        if hex.len() != 32 + 16 * count {
            return Err(format!(
                "early ids: {} hex digits for {count} segments, expected {}",
                hex.len(),
                32 + 16 * count
            ));
        }
        let trace_id = parse_hex(&hex[..32]).ok_or("early ids: bad trace id")?;
        let mut span_ids = Vec::with_capacity(count);
        for chunk in hex[32..].chunks(16) {
            let id = parse_hex(chunk).ok_or("early ids: bad span id")?;
            span_ids.push((id != 0).then_some(id as u64));
        }
        Ok(EarlyIds {
            trace_id: (trace_id != 0).then_some(trace_id),
            span_ids,
        })
    }

    /// Puts the ids into `trace`, whose rows index the same input.
    pub fn apply(&self, trace: &mut Trace) {
        if let Some(id) = self.trace_id {
            trace.trace_id = id;
        }
        for row in &mut trace.rows {
            if let Some(Some(id)) = self.span_ids.get(row.index) {
                row.id = *id;
            }
        }
    }
}

/// Parses up to 32 hex digits.
fn parse_hex(digits: &[u8]) -> Option<u128> {
    if digits.is_empty() || digits.len() > 32 {
        return None;
    }
    let mut v: u128 = 0;
    for &d in digits {
        let x = (d as char).to_digit(16)?;
        v = (v << 4) | x as u128;
    }
    Some(v)
}
