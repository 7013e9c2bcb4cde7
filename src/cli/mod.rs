//! Command-line definitions (clap derive). Parsing only: no effects here.

pub mod oci;
pub mod sandbox;
pub mod wrap;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Default state root. podman and conmon pass no `--root`, so this must stay
/// stable across versions.
pub const DEFAULT_ROOT: &str = "/run/cagebox";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "cagebox",
    version,
    about = "An OCI container runtime for running untrusted code",
    // runc prints a multi-line version; podman only checks the exit status.
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Directory for container state
    #[arg(long, global = true, default_value = DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Write log messages to this file (default: stderr)
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// Log format
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log debug messages
    #[arg(long, global = true)]
    pub debug: bool,
    /// Manage cgroups through systemd (not supported by this build)
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    /// Narrow every container created by this policy (a preset name or an
    /// absolute path to a policy file), merged strictest-wins with the
    /// bundle's io.cagebox.policy annotation; for clients that cannot set
    /// annotations (Docker's runtimeArgs)
    #[arg(long, global = true, value_name = "PRESET|/PATH.toml")]
    pub enforce_policy: Option<String>,
    /// Accepted for runc compatibility (auto|true|false); rootless mode is detected
    #[arg(long, hide = true)]
    pub rootless: Option<String>,
    /// Accepted for runc compatibility; checkpointing is not supported
    #[arg(long, hide = true)]
    pub criu: Option<String>,
    #[command(subcommand)]
    pub command: oci::OciCommand,
}
