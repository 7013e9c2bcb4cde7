//! cagebox: an OCI container runtime for running untrusted code.
//!
//! Layout: `cli` parses; `policy` is the policy model (parse, presets,
//! merge, checks); `spec` turns a policy into an OCI spec (pure); `sandbox`
//! runs one command as a short-lived container; `runtime` is the only module
//! that calls libcontainer; `sys` detects kernel features; `oci` holds the
//! static OCI documents; `logging` writes runc-compatible logs. `main.rs`
//! dispatches and maps errors to exit codes.

// Tests may unwrap: a panic there is a failed assertion.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod logging;
pub mod oci;
pub mod policy;
pub mod runtime;
pub mod sandbox;
pub mod spec;
pub mod sys;
pub mod wrap;
