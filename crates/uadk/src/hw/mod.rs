//! Device interfaces: what a driver writes into a queue and a device reads back. Both the
//! driver ([`crate::drv::hisi`]) and the software device ([`crate::model`]) speak these
//! formats, so they live below both.

pub mod lz77;
pub mod lz77_find;
pub mod zip;
