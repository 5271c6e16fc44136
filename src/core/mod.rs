//! The pure core of segment-context: the store's memory layout, its handle
//! table, trace assembly, ids and JSON. Nothing here knows about N-API; the
//! `binding` module is the only bridge, and `cargo test` exercises this core
//! directly.

pub mod ids;
pub mod json;
pub mod layout;
pub mod num;
pub mod strings;
pub mod table;
pub mod trace;

#[cfg(test)]
mod tests;
