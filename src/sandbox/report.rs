//! The JSON report of one sandboxed run and its one-line summary.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Request;
use super::enforce::Clause;
use crate::policy::Resolved;
use crate::runtime::sandboxed::{Exit, Outcome};
use crate::runtime::usage::Usage;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub command: Vec<String>,
    /// sha256 of the merged policy (TOML), so reports of the same policy match.
    pub policy_digest: String,
    pub policy_layers: Vec<String>,
    pub exit_code: i32,
    pub signal: Option<i32>,
    /// exit, signal, oom, timeout, pids, cpu_time, file_size, output
    pub reason: &'static str,
    pub wall_ms: u64,
    #[serde(flatten)]
    pub usage: Usage,
    pub degraded: Vec<Clause>,
    pub notes: Vec<String>,
    /// Keys the layers widened on purpose, with their reasons (`why`).
    pub widened: std::collections::BTreeMap<String, String>,
}

pub fn digest(resolved: &Resolved) -> String {
    let text = toml::to_string(&resolved.policy).unwrap_or_default();
    let d = Sha256::digest(text.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl Report {
    pub fn new(
        req: &Request,
        resolved: &Resolved,
        o: &Outcome,
        wall: Duration,
        degraded: &[Clause],
    ) -> Self {
        let (exit_code, reason) = super::classify(o);
        Report {
            command: req.args.clone(),
            policy_digest: digest(resolved),
            policy_layers: resolved.origin.clone(),
            exit_code,
            signal: match o.exit {
                Exit::Signal(s) => Some(s),
                Exit::Code(_) => None,
            },
            reason,
            wall_ms: wall.as_millis() as u64,
            usage: o.usage.clone(),
            degraded: degraded.to_vec(),
            notes: resolved.notes.clone(),
            widened: resolved.policy.widen.clone(),
        }
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }

    /// `cagebox: sh -c ...: killed (oom), exit 137, 1.2s, cpu 0.4s+0.1s, peak 512M, 3 pids, policy 1a2b3c4d`
    pub fn summary_line(&self) -> String {
        let cmd = self.command.join(" ");
        let cmd: String = if cmd.chars().count() > 60 {
            cmd.chars().take(57).collect::<String>() + "..."
        } else {
            cmd
        };
        let what = match self.reason {
            "exit" => "exited".to_string(),
            r => format!("killed ({r})"),
        };
        let mut parts = vec![format!("cagebox: {cmd}: {what}, exit {}", self.exit_code)];
        parts.push(format!("{:.1}s", self.wall_ms as f64 / 1000.0));
        if let (Some(u), Some(s)) = (self.usage.cpu_user_ms, self.usage.cpu_system_ms) {
            parts.push(format!(
                "cpu {:.1}s+{:.1}s",
                u as f64 / 1000.0,
                s as f64 / 1000.0
            ));
        }
        if let Some(m) = self.usage.peak_memory_bytes {
            parts.push(format!("peak {}M", m >> 20));
        }
        if let Some(p) = self.usage.peak_pids {
            parts.push(format!("{p} pids"));
        }
        if !self.degraded.is_empty() {
            let keys: Vec<&str> = self.degraded.iter().map(|c| c.key).collect();
            parts.push(format!("not enforced: {}", keys.join(",")));
        }
        parts.push(format!(
            "policy {}",
            &self.policy_digest[..8.min(self.policy_digest.len())]
        ));
        parts.join(", ")
    }
}
