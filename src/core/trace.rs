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

/// One segment of the finished trace, in output order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Index of the segment in the input slice.
    pub index: usize,
    /// Row of the parent; `None` for the root.
    pub parent_row: Option<usize>,
    /// Offset of the start from the transaction's start, ms.
    pub start: f64,
    pub duration: f64,
    /// `duration` minus the union of the direct children's intervals, each
    /// clipped to this segment's own interval.
    pub exclusive: f64,
    /// The segment was still open when its transaction ended.
    pub truncated: bool,
    pub id: u64,
}

/// A finished trace, without names and attributes (the JS side holds those).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub trace_id: u128,
    /// The root's start time, ms on the caller's clock.
    pub start: f64,
    pub duration: f64,
    pub dropped: u64,
    /// Root first, then the others by start time (ties: creation order).
    pub rows: Vec<Row>,
}

/// Closes and orders `segs` (root at index 0) for a transaction ending at
/// `end`. The root, if open, is closed at `end` without being marked
/// truncated; any other open segment is closed at `end` and marked
/// truncated. An end before a start counts as the start.
pub fn assemble(segs: &[SegIn], end: f64, dropped: u64, ids: &mut Ids) -> Trace {
    let n = segs.len();
    if n == 0 {
        return Trace {
            trace_id: ids.trace_id(),
            start: 0.0,
            duration: 0.0,
            dropped,
            rows: Vec::new(),
        };
    }
    // Closed intervals and truncation flags, in input order.
    let mut ends = Vec::with_capacity(n);
    let mut truncated = Vec::with_capacity(n);
    for (i, s) in segs.iter().enumerate() {
        let open = s.end.is_nan();
        let e = if open { end } else { s.end };
        ends.push(if e < s.start { s.start } else { e });
        truncated.push(open && i != 0);
    }

    // Direct children's intervals, grouped by parent.
    let mut first_child = vec![usize::MAX; n];
    let mut next_sibling = vec![usize::MAX; n];
    for i in (1..n).rev() {
        if let Some(p) = segs[i].parent {
            if p < n {
                next_sibling[i] = first_child[p];
                first_child[p] = i;
            }
        }
    }
    let mut exclusive = vec![0.0; n];
    let mut spans: Vec<(f64, f64)> = Vec::new();
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
        exclusive[i] = (hi - lo) - covered(&mut spans);
        if exclusive[i] < 0.0 {
            exclusive[i] = 0.0;
        }
    }

    // Output order: root, then by start, then creation order.
    let mut order: Vec<usize> = (1..n).collect();
    // `+ 0.0` turns -0 into 0, so that the two tie (total_cmp alone orders
    // -0 first); total_cmp keeps the sort a total order whatever the input.
    order.sort_by(|&a, &b| {
        (segs[a].start + 0.0)
            .total_cmp(&(segs[b].start + 0.0))
            .then(a.cmp(&b))
    });
    order.insert(0, 0);
    let mut row_of = vec![0usize; n];
    for (row, &i) in order.iter().enumerate() {
        row_of[i] = row;
    }
    let t0 = segs[0].start;
    let rows = order
        .iter()
        .map(|&i| Row {
            index: i,
            parent_row: segs[i].parent.filter(|&p| p < n).map(|p| row_of[p]),
            start: segs[i].start - t0,
            duration: ends[i] - segs[i].start,
            exclusive: exclusive[i],
            truncated: truncated[i],
            id: ids.span_id(),
        })
        .collect();
    Trace {
        trace_id: ids.trace_id(),
        start: t0,
        duration: ends[0] - t0,
        dropped,
        rows,
    }
}

/// Length of the union of `spans`.
fn covered(spans: &mut [(f64, f64)]) -> f64 {
    if spans.is_empty() {
        return 0.0;
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
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
