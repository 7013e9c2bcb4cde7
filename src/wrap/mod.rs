//! Package-manager integration: `cagebox npm|pnpm ARGS` (every lifecycle
//! script as its own container, through the manager's `script-shell`) and
//! `cagebox cargo ARGS` (fetch on the host, build in one container).
//!
//! The wrapper and the per-script shells are separate processes (the
//! package manager sits between them); they share a session directory whose
//! path travels in the environment (`SESSION_ENV` and friends). Each script
//! appends one JSON record to the session's `scripts.jsonl` and to the
//! append-only audit log; the wrapper prints them as they arrive and sums
//! them up at the end.

pub mod cargo;
pub mod denial;
pub mod guard;
pub mod identity;
pub mod lockindex;
pub mod npm;
pub mod record;
pub mod script;

use std::path::PathBuf;

use thiserror::Error;

/// Environment variables the wrapper sets for the script shells it makes
/// the package manager spawn. The container never sees them: they are not
/// on any preset's pass list.
pub const SESSION_ENV: &str = "CAGEBOX_WRAP_SESSION";
pub const PROJECT_ENV: &str = "CAGEBOX_WRAP_PROJECT";
pub const POLICY_ENV: &str = "CAGEBOX_WRAP_POLICY";
pub const PRESET_ENV: &str = "CAGEBOX_WRAP_PRESET";
pub const AUDIT_ENV: &str = "CAGEBOX_WRAP_AUDIT";
pub const ROOT_ENV: &str = "CAGEBOX_WRAP_ROOT";
pub const MANAGER_ENV: &str = "CAGEBOX_WRAP_MANAGER";

/// The name of the script-shell link in the session directory: cagebox run
/// under this name is a script shell (`cagebox-sh -c SCRIPT`).
pub const SCRIPT_SHELL: &str = "cagebox-sh";

/// The session's record file (one JSON line per script).
pub const SESSION_RECORDS: &str = "scripts.jsonl";

#[derive(Debug, Error)]
pub enum WrapError {
    #[error("{0}: {1}")]
    Io(String, #[source] std::io::Error),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sandbox(#[from] crate::sandbox::SandboxError),
}

pub(crate) fn io(what: impl Into<String>, e: std::io::Error) -> WrapError {
    WrapError::Io(what.into(), e)
}

/// The default audit log: `$XDG_STATE_HOME/cagebox/audit.jsonl`, else
/// `~/.local/state/cagebox/audit.jsonl`.
pub fn default_audit_log() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("cagebox/audit.jsonl");
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".local/state/cagebox/audit.jsonl")
}

/// True when cagebox runs as the script shell of a wrapped package manager.
pub fn is_script_shell(argv0: &str) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .is_some_and(|n| n == SCRIPT_SHELL)
}
