//! `cagebox exec [POLICY FLAGS] -- CMD...` (a command as a short-lived
//! container) and the policy tools (`policy`, `doctor`).
//!
//! `exec` is also the OCI command (`cagebox exec [FLAGS] ID CMD...`), which
//! podman, conmon and containerd call. The two are told apart before clap
//! runs: the sandbox form has `--` or a policy flag before any positional
//! argument; the OCI form starts with the container id.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::LogFormat;

/// OCI `exec` flags that take a value (their value is not the container id).
const OCI_EXEC_VALUE_FLAGS: &[&str] = &[
    "--console-socket",
    "--cwd",
    "--env",
    "-e",
    "--user",
    "-u",
    "--additional-gids",
    "-g",
    "--process",
    "-p",
    "--pid-file",
    "--process-label",
    "--apparmor",
    "--cap",
    "-c",
    "--preserve-fds",
    "--cgroup",
];

/// Flags only the sandbox form has.
const SANDBOX_FLAGS: &[&str] = &[
    "--policy",
    "--preset",
    "--project",
    "--memory",
    "--cpus",
    "--pids",
    "--timeout",
    "--network",
    "--ro",
    "--rw",
    "--report",
    "--package",
    "--package-dir",
];

const GLOBAL_VALUE_FLAGS: &[&str] = &["--root", "--log", "--log-format", "--rootless", "--criu"];

fn flag_name(arg: &str) -> &str {
    arg.split_once('=').map(|(f, _)| f).unwrap_or(arg)
}

/// True when `args` (the whole argv) is the sandbox form of `exec`.
pub fn is_sandbox_exec(args: &[String]) -> bool {
    let mut it = args.iter().skip(1);
    // Find the subcommand past the global flags.
    loop {
        match it.next() {
            Some(a) if a == "exec" => break,
            Some(a) if a.starts_with('-') => {
                if GLOBAL_VALUE_FLAGS.contains(&a.as_str()) {
                    it.next();
                }
            }
            _ => return false,
        }
    }
    while let Some(a) = it.next() {
        if a == "--" {
            return true;
        }
        if !a.starts_with('-') {
            return false;
        }
        let name = flag_name(a);
        if SANDBOX_FLAGS.contains(&name) {
            return true;
        }
        // Global flags may follow the subcommand too (`exec --root X --preset P`).
        let takes_value =
            OCI_EXEC_VALUE_FLAGS.contains(&name) || GLOBAL_VALUE_FLAGS.contains(&name);
        if takes_value && !a.contains('=') {
            it.next();
        }
    }
    false
}

#[derive(Debug, Parser)]
#[command(name = "cagebox", version, disable_help_subcommand = true)]
pub struct SandboxCli {
    #[arg(long, global = true, default_value = super::DEFAULT_ROOT)]
    pub root: PathBuf,
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Run CMD as a short-lived container under a policy (cagebox exec [FLAGS] -- CMD ARGS...)
    Exec(SandboxExec),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    None,
    Loopback,
    Host,
}

#[derive(Debug, Clone, Args)]
pub struct PolicyFlags {
    /// Policy file (TOML) layered over its preset
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Base preset (default, npm-scripts, cargo-build, run-file)
    #[arg(long)]
    pub preset: Option<String>,
    /// Project directory, writable under the default policy (default: current directory)
    #[arg(long)]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SandboxExec {
    #[command(flatten)]
    pub policy: PolicyFlags,
    /// Memory limit (e.g. 512M); also caps memory+swap
    #[arg(long)]
    pub memory: Option<String>,
    /// CPU quota as a number of CPUs (e.g. 1.5)
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Maximum number of processes and threads
    #[arg(long)]
    pub pids: Option<u64>,
    /// Wall-clock limit (e.g. 30s, 10m); exit code 124 when it fires
    #[arg(long)]
    pub timeout: Option<String>,
    /// Network: none, loopback (own namespace, lo up) or host
    #[arg(long, value_enum)]
    pub network: Option<NetworkArg>,
    /// Extra read-only path (repeatable)
    #[arg(long = "ro")]
    pub ro: Vec<String>,
    /// Extra writable path (repeatable)
    #[arg(long = "rw")]
    pub rw: Vec<String>,
    /// Set an environment variable in the container (KEY=VALUE, repeatable)
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Write a JSON report of the run to FILE
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The package the command runs for (NAME or NAME@VERSION): applies the
    /// policy files' [packages."NAME"] and [packages."NAME@VERSION"] tables
    #[arg(long)]
    pub package: Option<String>,
    /// The package's directory, for {package} (default: the project)
    #[arg(long)]
    pub package_dir: Option<PathBuf>,
    /// The command and its arguments (after --)
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// List the presets shipped in cagebox
    Presets,
    /// Print a preset's TOML
    Show { name: String },
    /// Say in plain words what a policy allows and denies
    Explain(PolicyTarget),
    /// Would the policy allow this access? Prints allow/deny and the deciding rule
    Check(PolicyCheck),
}

#[derive(Debug, Args)]
pub struct PolicyTarget {
    /// Policy file (omit with --preset to explain a preset)
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub preset: Option<String>,
    #[arg(long)]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PolicyCheck {
    #[command(flatten)]
    pub target: PolicyTarget,
    #[arg(long, group = "what")]
    pub read: Option<PathBuf>,
    #[arg(long, group = "what")]
    pub write: Option<PathBuf>,
    #[arg(long, group = "what")]
    pub exec: Option<PathBuf>,
    /// HOST:PORT
    #[arg(long, group = "what")]
    pub connect: Option<String>,
}

#[derive(Debug, Args)]
pub struct Doctor {
    /// Also say, for each clause of this policy, whether it is enforced
    #[arg(long)]
    pub policy: Option<PathBuf>,
    #[arg(long)]
    pub preset: Option<String>,
    /// JSON instead of text
    #[arg(long)]
    pub json: bool,
}

impl SandboxExec {
    /// The flags as a policy layer. A flag is an explicit request, so each
    /// one widens its key (reason: "command-line flag").
    pub fn layer(&self) -> Result<crate::policy::Layer, String> {
        use crate::policy::model::*;
        let mut l = crate::policy::Layer::default();
        let mut widen = |key: &str| {
            l.widen.insert(key.into(), "command-line flag".into());
        };
        let mut limits = Limits::default();
        if let Some(m) = &self.memory {
            let size: crate::policy::units::Size =
                m.parse().map_err(|e| format!("--memory: {e}"))?;
            limits.memory = Some(size);
            limits.memory_swap = Some(size);
            widen("limits.memory");
            widen("limits.memory_swap");
        }
        if let Some(c) = self.cpus {
            if !(c > 0.0 && c <= 1024.0) {
                return Err(format!("--cpus: {c} must be > 0 and <= 1024"));
            }
            limits.cpus = Some(c);
            widen("limits.cpus");
        }
        if let Some(p) = self.pids {
            if p == 0 {
                return Err("--pids: must be at least 1".into());
            }
            limits.pids = Some(p);
            widen("limits.pids");
        }
        if let Some(t) = &self.timeout {
            let d: crate::policy::units::Duration =
                t.parse().map_err(|e| format!("--timeout: {e}"))?;
            if d.0 == 0 {
                return Err("--timeout: must be more than 0".into());
            }
            limits.timeout = Some(d);
            widen("limits.timeout");
        }
        let mut fs = Filesystem::default();
        if !self.ro.is_empty() {
            fs.read_only = Some(self.ro.iter().map(|p| PathRule::new(p)).collect());
        }
        if !self.rw.is_empty() {
            fs.read_write = Some(self.rw.iter().map(|p| PathRule::new(p)).collect());
            widen("filesystem.read_write");
        }
        if let Some(n) = self.network {
            let mode = match n {
                NetworkArg::None => NetworkMode::None,
                NetworkArg::Loopback => NetworkMode::Loopback,
                NetworkArg::Host => NetworkMode::Host,
            };
            widen("network.mode");
            // Network blocking follows the mode unless a policy says otherwise.
            if mode != NetworkMode::None {
                widen("seccomp.block_network");
                l.seccomp = Some(Seccomp {
                    block_network: Some(false),
                    ..Default::default()
                });
            }
            l.network = Some(Network {
                mode: Some(mode),
                allow: None,
            });
        }
        if !self.env.is_empty() {
            let mut set = std::collections::BTreeMap::new();
            for kv in &self.env {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("--env {kv:?}: expected KEY=VALUE"))?;
                if k.is_empty() {
                    return Err(format!("--env {kv:?}: empty name"));
                }
                set.insert(k.to_string(), v.to_string());
            }
            l.process = Some(Process {
                env: Some(Env {
                    set: Some(set),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        if limits != Limits::default() {
            l.limits = Some(limits);
        }
        if fs != Filesystem::default() {
            l.filesystem = Some(fs);
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn tells_the_two_execs_apart() {
        for sandbox in [
            "cagebox exec -- ls",
            "cagebox exec --policy p.toml -- ls",
            "cagebox --root /x exec --memory 1G -- ls",
            "cagebox exec -e A=B --timeout=3s -- ls",
            "cagebox exec --root /x --preset npm-scripts -- ls",
        ] {
            assert!(is_sandbox_exec(&argv(sandbox)), "{sandbox}");
        }
        for oci in [
            "cagebox exec ctr ls",
            "cagebox exec --process /tmp/p.json --detach ctr",
            "cagebox --root /run/x exec -e A=B -t ctr sh -- -c x",
            "cagebox --log /l --log-format json exec --pid-file /p ctr",
            "cagebox run -b x -- y",
            "cagebox exec --root /x ctr ls",
        ] {
            assert!(!is_sandbox_exec(&argv(oci)), "{oci}");
        }
    }
}
