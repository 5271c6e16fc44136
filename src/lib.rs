//! segment-context: a Node.js addon that stores transactions and segments
//! behind small integer handles and assembles finished traces.
//!
//! `core` is plain Rust, tested with `cargo test`; `binding` is the thin
//! N-API surface that `lib/store/` calls.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod binding;
pub mod core;
