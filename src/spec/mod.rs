//! Policy -> OCI runtime spec. Pure: no I/O; everything about the host comes
//! in through `build::Context`.

pub mod build;
pub mod env;
pub mod narrow;
pub mod rules;
pub mod seccomp_presets;
pub mod seccomp_stack;
