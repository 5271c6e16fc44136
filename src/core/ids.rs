//! Random trace and span ids (W3C trace-context: 16 and 8 random bytes,
//! never all zeros).
//!
//! The generator is SplitMix64, seeded once per thread from the standard
//! library's per-process random hasher keys and the clock. Trace ids need to
//! be unique and unpredictable enough to not collide across processes; they
//! are not secrets, so a cryptographic generator is not needed.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Ids {
    state: u64,
}

impl Ids {
    /// A generator with a fixed seed, for tests.
    pub fn with_seed(seed: u64) -> Self {
        Ids { state: seed }
    }

    /// A generator seeded from the operating system's randomness (through
    /// `RandomState`) and the clock.
    pub fn from_entropy() -> Self {
        let mut h = RandomState::new().build_hasher();
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        h.write_usize(&h as *const _ as usize);
        Ids { state: h.finish() }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A non-zero 64-bit span id.
    pub fn span_id(&mut self) -> u64 {
        loop {
            let v = self.next();
            if v != 0 {
                return v;
            }
        }
    }

    /// A non-zero 128-bit trace id.
    pub fn trace_id(&mut self) -> u128 {
        loop {
            let v = ((self.next() as u128) << 64) | self.next() as u128;
            if v != 0 {
                return v;
            }
        }
    }

    /// A draw in `0..=max`, for seeding the handle counter.
    pub fn below(&mut self, max: u32) -> u32 {
        (self.next() % (max as u64 + 1)) as u32
    }
}

thread_local! {
    static THREAD_IDS: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's generator (one per thread, so worker threads
/// never share state).
pub fn with_thread_ids<R>(f: impl FnOnce(&mut Ids) -> R) -> R {
    THREAD_IDS.with(|cell| {
        let mut ids = match cell.get() {
            Some(state) => Ids::with_seed(state),
            None => Ids::from_entropy(),
        };
        let r = f(&mut ids);
        cell.set(Some(ids.state));
        r
    })
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `v` as `digits` lowercase hex digits, most significant first.
pub fn push_hex(out: &mut Vec<u8>, v: u128, digits: u32) {
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (i * 4)) & 0xf) as usize]);
    }
}
