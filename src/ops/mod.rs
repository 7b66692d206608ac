//! Offline operations on a data dir (stopped or crashed) that return reports for the CLI to
//! print: inspect, get/scan rendering, verify, repair, compact.

pub mod render;
pub mod verify;
