//! Numbers as decimal text, fast, exactly as Rust's `{}` prints them.
//!
//! `{}` on an `f64` prints the shortest decimal that reads back as the same
//! number (the closest such decimal when several are shortest, the upper one
//! on an exact tie), never in exponent form, `-0` for negative zero. The
//! pure-JS backend copies that output byte for byte, so this module must not
//! differ from it by one digit: it handles the common cases itself and hands
//! every other number to `{}`. The tests compare the two on millions of
//! values (`cargo test --release num -- --ignored` for the long run).
//!
//! # The fast path
//! A finite `v` with `|v| < 2^53` that is an integer prints as one; one
//! below 10^12 that is the double nearest a decimal of three places (a
//! trace's times, rounded to the microsecond) prints as that decimal.
//! Otherwise, when `v` is normal and not a power of two, `|v| = m * 2^-s`
//! with `2^52 <= m < 2^53` and `s >= 1`, and the half-width of the interval
//! of reals that round to `v` is `2^-s / 2` on both sides. A decimal with `k`
//! digits after the point, `r * 10^-k`, reads back as `v` iff
//! `2 * |r * 2^s - m * 10^k| <= 10^k` (equality only when `m` is even:
//! IEEE ties go to the even mantissa, and `{}` counts the interval's ends in
//! exactly then). All of that is integer arithmetic in `u128`, so it is
//! exact. The nearest `k`-digit decimal is the only one that can read back
//! unless `10^k > 2^s`; the smallest `k` at which one reads back gives the
//! shortest decimal (fewer places means fewer significant digits at a fixed
//! magnitude), and reading back is monotone in `k` (a `k`-place decimal is
//! also a `k + 1`-place one). The first `k` with `10^k > 2^s`, `k_hi`,
//! always reads back, and most numbers (differences of clock readings, as a
//! trace holds) need `k_hi - 1` or `k_hi` places. For `s <= 63` (`|v|`
//! above about `2^-11`) one product `m * 10^(k_hi - 1)` settles it: below
//! `k_hi` places at most one decimal reads back, so the `k_hi - 1`-place
//! test decides between `k_hi` places and fewer, and fewer is that decimal
//! with its trailing zeros cut (`shortest64`). Below, the search tries
//! `k_hi - 1` and `k_hi - 2` and bisects. The path is taken while `k_hi` is
//! at most 27 (`|v|` above about `7e-12`), so that, computed as
//! `m * 5^k * 2^-(s-k)`, everything fits in a `u128`.
//!
//! The digits are then laid out with fixed-size copies, not loops: all 20
//! of the decimal's, zero-padded, made eight at a time with no division
//! (`eight_swar`) in a scratch array, from which the integer part (that of
//! `v`, at most 16 digits) and the `k` places go out in one 16-byte and one
//! 32-byte copy. So the output buffer must have 64 bytes of room
//! ([`ROOM`]), though the number is at most 30 bytes long.

/// The room [`write_f64`] needs in its output, for its fixed-size copies.
pub const ROOM: usize = 64;

const POW10: [u64; 20] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
    10_000_000_000_000_000_000,
];

const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes the 8 decimal digits of `x < 10^8`, zero-padded, at `buf[at..at + 8]`.
#[inline]
fn eight(x: u32, buf: &mut [u8], at: usize) {
    let (a, b) = (x / 10_000, x % 10_000);
    let (a1, a2, b1, b2) = (a / 100, a % 100, b / 100, b % 100);
    for (j, p) in [a1, a2, b1, b2].into_iter().enumerate() {
        let d = p as usize * 2;
        buf[at + 2 * j..at + 2 * j + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
}

/// Writes the decimal digits of `n` so that they end at `buf[end]`
/// (exclusive), zero-padded to at least `min` digits; returns where they
/// start. `buf` must hold `max(min, 20)` bytes before `end`.
#[inline(always)]
fn digits_to(n: u64, min: usize, buf: &mut [u8], end: usize) -> usize {
    let mut start = end;
    let mut n = n;
    // Eight digits at a time, each block's divisions independent of the
    // next block's.
    while n >= 100_000_000 {
        start -= 8;
        eight((n % 100_000_000) as u32, buf, start);
        n /= 100_000_000;
    }
    let mut n = n as u32;
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        start -= 2;
        buf[start..start + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        start -= 2;
        buf[start..start + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        start -= 1;
        buf[start] = b'0' + n as u8;
    }
    while end - start < min {
        start -= 1;
        buf[start] = b'0';
    }
    start
}

/// Appends the decimal digits of `n`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 24];
    let i = digits_to(n, 1, &mut buf, 24);
    out.extend_from_slice(&buf[i..]);
}

/// Writes the decimal digits of `n` at the start of `out` (which must hold
/// 20 bytes), and returns how many.
#[inline(always)]
pub fn write_u64(out: &mut [u8], n: u64) -> usize {
    let len = decimal_len(n);
    digits_to(n, len, out, len);
    len
}

/// 5^k for k in 0..=27 (5^27 < 2^63).
const POW5: [u64; 28] = {
    let mut t = [1u64; 28];
    let mut i = 1;
    while i < 28 {
        t[i] = t[i - 1] * 5;
        i += 1;
    }
    t
};

/// The most places the fast path takes.
const MAX_PLACES: usize = 27;

/// The nearest `k`-place decimal to `m * 2^-s`, as `r` of `r * 10^-k`, if it
/// reads back as that number; `k <= s`, `k <= MAX_PLACES`, `s > 63`.
///
/// With `10^k = 5^k * 2^k`, `m * 10^k * 2^-s = m * 5^k * 2^-(s - k)`, so
/// everything is in `u128` (`m * 5^k < 2^116`), and the test
/// `2 * |r * 2^s - m * 10^k| <= 10^k` reads, divided by `2^k`,
/// `2 * |r * 2^(s-k) - m * 5^k| <= 5^k`.
/// `nearest` for `s > 63`, through `5^k`.
#[inline]
fn nearest128(m: u64, s: u32, k: usize, even: bool) -> Option<u64> {
    let five = POW5[k] as u128;
    let p = m as u128 * five;
    let shift = s - k as u32;
    let q = (p >> shift) as u64;
    let rem = p & ((1u128 << shift) - 1);
    let unit = 1u128 << shift;
    // A tie between q and q + 1 goes up, as `{}` has it.
    let (r, d) = if 2 * rem >= unit {
        (q + 1, unit - rem)
    } else {
        (q, rem)
    };
    let twice = 2 * d;
    (twice < five || (twice == five && even)).then_some(r)
}

/// The shortest decimal places and digits of `m * 2^-s`, or `None` off the
/// fast path.
#[inline]
fn shortest(m: u64, s: u32) -> Option<(usize, u64)> {
    if s <= 63 {
        Some(shortest64(m, s))
    } else {
        shortest_by(m, s, nearest128)
    }
}

/// `shortest` for `1 <= s <= 63` (so `k_hi <= 19`), from one product.
///
/// `p = m * 10^(k_hi - 1)` is `v` at `k_hi - 1` places in units of `2^-s`:
/// `q = p >> s` and `f = p mod 2^s` are its integer and fractional parts,
/// and the interval of reals that round to `v` is `p` give or take
/// `10^(k_hi - 1) / 2` units, less than one decimal unit wide (as
/// `10^(k_hi - 1) < 2^s`). So at most one `k_hi - 1`-place decimal reads
/// back, `q` or `q + 1`, and it is the nearest; when one does, every shorter
/// decimal that reads back is it with trailing zeros cut, so cutting them
/// gives the shortest. When neither does, the `k_hi`-place nearest, which
/// always reads back, is `10 * q` plus `f * 10 / 2^s` rounded (a tie up, as
/// `{}` has it). Both are computed; one branch picks, and the cut loops only
/// for a decimal that ends in zeros.
#[inline(always)]
fn shortest64(m: u64, s: u32) -> (usize, u64) {
    // The smallest k with 10^k > 2^s: floor(s * log10(2)) + 1 (<= 19).
    let k_hi = ((s * 78_913) >> 18) as usize + 1;
    let ten = POW10[k_hi - 1];
    let p = m as u128 * ten as u128;
    let q = (p >> s) as u64;
    let unit = 1u64 << s;
    let f = (p as u64) & (unit - 1);
    // Reads back: 2 * distance < 10^(k_hi - 1), or equal when m is even.
    let even = m & 1 == 0;
    let within = |d: u64| {
        let twice = 2 * d as u128;
        twice < ten as u128 || (twice == ten as u128 && even)
    };
    let down = within(f);
    let up = within(unit - f);
    let long = 10 * q + ((f as u128 * 10 + (unit >> 1) as u128) >> s) as u64;
    if !(down | up) {
        return (k_hi, long);
    }
    let (mut r, mut k) = (q + u64::from(up), k_hi - 1);
    if r % 10 == 0 {
        // Eight, four, two, then one zero at a time (r < 2^53 has at most
        // 15 trailing zeros). v is no integer, so no cut reaches k = 0.
        while r % 100_000_000 == 0 && k > 8 {
            r /= 100_000_000;
            k -= 8;
        }
        for (zeros, pow) in [(4, 10_000), (2, 100), (1, 10)] {
            if r % pow == 0 && k > zeros {
                r /= pow;
                k -= zeros;
            }
        }
    }
    (k, r)
}

#[inline(always)]
fn shortest_by(
    m: u64,
    s: u32,
    nearest: impl Fn(u64, u32, usize, bool) -> Option<u64>,
) -> Option<(usize, u64)> {
    // The smallest k with 10^k > 2^s: floor(s * log10(2)) + 1.
    let k_hi = ((s * 78_913) >> 18) as usize + 1;
    if k_hi > MAX_PLACES || k_hi as u32 > s {
        return None;
    }
    let even = m & 1 == 0;
    if k_hi == 1 {
        return Some((1, nearest(m, s, 1, even)?));
    }
    // Most numbers need k_hi - 1 or k_hi places: try those first.
    let Some(at1) = nearest(m, s, k_hi - 1, even) else {
        return Some((k_hi, nearest(m, s, k_hi, even)?));
    };
    if k_hi == 2 {
        return Some((1, at1));
    }
    let Some(at2) = nearest(m, s, k_hi - 2, even) else {
        return Some((k_hi - 1, at1));
    };
    // Smallest k in 1..=k_hi - 2 that reads back; k_hi - 2 does.
    let (mut lo, mut hi, mut best) = (1usize, k_hi - 2, at2);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match nearest(m, s, mid, even) {
            Some(r) => {
                hi = mid;
                best = r;
            }
            None => lo = mid + 1,
        }
    }
    Some((hi, best))
}

/// How many decimal digits `n` has (1 for 0).
#[inline(always)]
fn decimal_len(n: u64) -> usize {
    // floor(log10(2^bits)) estimates it to within one.
    let bits = 64 - (n | 1).leading_zeros();
    let guess = ((bits * 1233) >> 12) as usize;
    (guess + usize::from(n >= POW10[guess])).max(1)
}

/// Writes a finite `v` exactly as `{}` prints it at the start of `out`
/// (which must hold 64 bytes: [`ROOM`]), and returns how many bytes it
/// wrote (at most 30); `None` (with `out` scribbled on) off the fast path.
#[inline]
pub fn write_f64(out: &mut [u8], v: f64) -> Option<usize> {
    let bits = v.to_bits();
    let a = v.abs();
    if !a.is_finite() || a >= 9_007_199_254_740_992.0 || out.len() < ROOM {
        return None;
    }
    let sign = (bits >> 63) as usize;
    out[0] = b'-';
    // Exact: a is below 2^53.
    if (a as i64) as f64 == a {
        return Some(sign + write_u64(&mut out[sign..], a as i64 as u64));
    }
    let exp = ((bits >> 52) & 0x7ff) as u32;
    let frac = bits & ((1u64 << 52) - 1);
    // Normal, not a power of two (whose interval is lopsided), and not an
    // integer, so 1 <= s.
    if exp == 0 || frac == 0 {
        return None;
    }
    // On the microsecond grid: three places at most.
    if let Some(n) = micros_of(a) {
        return Some(write_micros(out, sign, n));
    }
    let (m, s) = (frac | (1u64 << 52), 1075 - exp);
    let (k, r) = shortest(m, s)?;
    // r's 20 digits, zero-padded, end at tmp[DIGITS_END]; the zeros before
    // them are the leading zeros of a number with more places than r has
    // digits. The point goes k from the right. The integer part is v's (no
    // integer lies between v and a decimal that reads back as v: it would
    // read back as itself), so it has at most 16 digits.
    let mut tmp = [b'0'; 80];
    twenty(r, &mut tmp, DIGITS_END - 20);
    let n = decimal_len(r).max(k + 1);
    let point = DIGITS_END - k;
    let int_len = n - k;
    // The integer part, the point, then the k places: two fixed-size
    // copies, the second over the first's tail.
    let from = point - int_len;
    out[sign..sign + 16].copy_from_slice(&tmp[from..from + 16]);
    out[sign + int_len] = b'.';
    let at = sign + int_len + 1;
    out[at..at + 32].copy_from_slice(&tmp[point..point + 32]);
    Some(at + k)
}

/// The whole microseconds below which [`write_micros`] prints the shortest
/// decimal of the ms (`n / 1000` below 10^12, as [`micros_of`] explains).
pub const MICROS_MAX: u64 = 1_000_000_000_000_000;

/// `n` when `a` (positive, below 10^12) is the double nearest `n / 1000`,
/// `n >= 1`: on the microsecond grid, as a trace's offsets and durations
/// are (`core::trace` rounds them so). Below 10^12 two such decimals are
/// more than an ulp apart, so `n / 1000` is then the only decimal of three
/// places or fewer that reads back as `a`: the shortest, its trailing zeros
/// cut. `a = m 2^-s` is the double nearest `n / 1000` iff they are less
/// than half an ulp apart, `|1000 m - n 2^s| < 500` (a tie cannot happen:
/// `n / 1000` would be a dyadic rational of at most 53 bits), exact in a
/// u128 for `s <= 63` (which `n >= 1` implies). Not for a power of two,
/// whose interval is lopsided, nor a subnormal.
#[inline(always)]
pub fn micros_of(a: f64) -> Option<u64> {
    let bits = a.to_bits();
    let (exp, frac) = (((bits >> 52) & 0x7ff) as u32, bits & ((1u64 << 52) - 1));
    if !(a > 0.0 && a < 1e12) || exp == 0 || frac == 0 {
        return None;
    }
    let (m, s) = (frac | (1u64 << 52), 1075 - exp);
    let n = (a * 1000.0 + 0.5) as i64 as u64;
    let near = ((n as u128) << s.min(63)).abs_diff(m as u128 * 1000) < 500;
    (n != 0 && s <= 63 && near).then_some(n)
}

/// Writes `n / 1000` (`n <` [`MICROS_MAX`]) after the sign
/// `write_f64` put at `out[0]` (`sign` is 0 or 1): the integer part, the
/// point, and the three places with their trailing zeros cut (no point for
/// a multiple of 1000). `out` must hold `sign + 20` bytes. Returns the
/// length.
#[inline(always)]
pub fn write_micros(out: &mut [u8], sign: usize, n: u64) -> usize {
    let frac = n % 1000;
    if frac == 0 {
        let len = decimal_len(n / 1000);
        digits_to(n / 1000, len, out, sign + len);
        return sign + len;
    }
    let places = 3 - usize::from(frac.is_multiple_of(10)) - usize::from(frac.is_multiple_of(100));
    let int = n / 1000;
    let len = decimal_len(int);
    digits_to(int, len, out, sign + len);
    let at = sign + len;
    out[at] = b'.';
    out[at + 1] = b'0' + (frac / 100) as u8;
    let d = (frac % 100) as usize * 2;
    out[at + 2..at + 4].copy_from_slice(&PAIRS[d..d + 2]);
    at + 1 + places
}

/// Where `write_f64`'s 20 digits end in its 80-byte scratch: up to 27
/// places before it (zeros past the 20 digits), and the 32 bytes copied
/// from the point on after it.
const DIGITS_END: usize = 48;

/// The 8 decimal digits of `x < 10^8`, zero-padded, as ASCII bytes in a
/// `u64` whose first byte in memory (little-endian) is the first digit:
/// two digits at a time per lane, with no division but the first.
#[inline(always)]
fn eight_swar(x: u32) -> u64 {
    let x = x as u64;
    let abcd_efgh = (x / 10_000) | ((x % 10_000) << 32);
    // Per 32-bit lane (each below 10^4): /100 as *5243 >> 19.
    let ab_ef = ((abcd_efgh * 5_243) >> 19) & 0x0000_007f_0000_007f;
    let cd_gh = abcd_efgh - ab_ef * 100;
    let pairs = ab_ef | (cd_gh << 16);
    // Per 16-bit lane (each below 100): /10 as *103 >> 10.
    let tens = ((pairs * 103) >> 10) & 0x000f_000f_000f_000f;
    let units = pairs - tens * 10;
    (tens | (units << 8)) | 0x3030_3030_3030_3030
}

/// Writes the 20 decimal digits of `n`, zero-padded, at `buf[at..at + 20]`,
/// in three stores.
#[inline(always)]
fn twenty(n: u64, buf: &mut [u8], at: usize) {
    let lo = (n % 100_000_000) as u32;
    let rest = n / 100_000_000;
    let mid = (rest % 100_000_000) as u32;
    // Below 1845: n < 2^64.
    let hi = (rest / 100_000_000) as u32;
    buf[at..at + 4].copy_from_slice(&eight_swar(hi).to_le_bytes()[4..]);
    buf[at + 4..at + 12].copy_from_slice(&eight_swar(mid).to_le_bytes());
    buf[at + 12..at + 20].copy_from_slice(&eight_swar(lo).to_le_bytes());
}

/// Appends a finite `v` exactly as `{}` prints it.
pub fn push_f64(out: &mut Vec<u8>, v: f64) {
    let mut buf = [0u8; ROOM];
    match write_f64(&mut buf, v) {
        Some(n) => out.extend_from_slice(&buf[..n]),
        None => {
            use std::io::Write;
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v}");
        }
    }
}
