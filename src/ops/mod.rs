//! Offline operations on a data dir (stopped or crashed) that return reports for the CLI to
//! print: inspect, get/scan rendering, verify, repair, compact.

pub mod compact;
pub mod inspect;
pub mod render;
pub mod repair;
pub mod verify;
