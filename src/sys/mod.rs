//! Kernel feature detection (what `cagebox doctor` reports) and small
//! syscall helpers.

pub mod cgroupfs;
pub mod features;
mod knobs;

#[cfg(test)]
mod features_tests;
