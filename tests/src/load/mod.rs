//! The load suite: scenarios that drive the real services over loopback and
//! report throughput, latency percentiles and errors, plus the correctness
//! invariants each scenario must keep (exact sell-out, no 5xx, no cross-store
//! data, every paid order's confirmation email delivered). Speed is reported, never asserted; invariants are.

pub mod client;
pub mod deliver;
pub mod fleet;
pub mod scenarios;
pub mod stats;
