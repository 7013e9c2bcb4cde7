//! `cagebox npm|pnpm|cargo [OPTIONS] ARGS...`: cagebox's options come
//! before the package manager's own arguments, which pass through untouched.

use std::path::PathBuf;

use clap::Parser;

/// The package managers cagebox wraps (the first argument).
pub const MANAGERS: &[&str] = &["npm", "pnpm", "cargo"];

/// True when argv is `cagebox npm|pnpm|cargo ...`.
pub fn is_wrap(args: &[String]) -> bool {
    args.get(1).is_some_and(|a| MANAGERS.contains(&a.as_str()))
}

#[derive(Debug, Parser)]
#[command(
    about = "Run a package manager with every install/build script in its own container",
    after_help = "cagebox's options go before the package manager's arguments: \
                  cagebox npm --report r.json ci"
)]
pub struct WrapCli {
    /// A policy file layered over the preset (the project's cagebox.toml is read too)
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// The base preset (npm/pnpm: npm-scripts, cargo: cargo-build)
    #[arg(long)]
    pub preset: Option<String>,
    /// Write a JSON report of every script run
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Append-only JSONL log of every script run
    /// (default: $XDG_STATE_HOME/cagebox/audit.jsonl or ~/.local/state/cagebox/audit.jsonl)
    #[arg(long)]
    pub audit_log: Option<PathBuf>,
    /// Directory for container state
    #[arg(long, default_value = super::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// The package manager's own arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub args: Vec<String>,
}
