//! "Would this policy allow X?" answered from the policy alone, naming the
//! rule that decided: the library behind `cagebox policy check`.
//!
//! The answer follows the same rules the spec builder turns into mounts:
//! the deepest path rule covering a path decides (at equal depth the
//! stricter one), then Landlock lists narrow further.

use std::path::{Path, PathBuf};

use super::model::{Layer, NetworkMode, PathRule};
use crate::spec::build::{Context, SpecError, expand};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The rule that decided, as the policy spells it.
    pub rule: String,
    pub why: Option<String>,
}

impl Decision {
    fn new(allowed: bool, rule: String, why: Option<String>) -> Self {
        Decision { allowed, rule, why }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    ReadWrite,
    ReadOnly,
    NoExec,
    Hidden,
}

fn kind_key(k: Kind) -> &'static str {
    match k {
        Kind::ReadWrite => "filesystem.read_write",
        Kind::ReadOnly => "filesystem.read_only",
        Kind::NoExec => "filesystem.no_exec",
        Kind::Hidden => "filesystem.hidden",
    }
}

/// The deepest matching rule (stricter kind on ties).
fn deciding_rule(
    policy: &Layer,
    ctx: &Context,
    path: &Path,
) -> Result<Option<(Kind, PathRule)>, SpecError> {
    let fs = policy.filesystem.clone().unwrap_or_default();
    let mut best: Option<(usize, Kind, PathRule)> = None;
    for (list, kind) in [
        (&fs.read_write, Kind::ReadWrite),
        (&fs.read_only, Kind::ReadOnly),
        (&fs.no_exec, Kind::NoExec),
        (&fs.hidden, Kind::Hidden),
    ] {
        for r in list.iter().flatten() {
            let p = expand(&r.path, kind_key(kind), ctx)?;
            if path.starts_with(&p) {
                let depth = p.components().count();
                let better = best
                    .as_ref()
                    .is_none_or(|(d, k, _)| (depth, kind) > (*d, *k));
                if better {
                    best = Some((depth, kind, r.clone()));
                }
            }
        }
    }
    Ok(best.map(|(_, k, r)| (k, r)))
}

fn landlock_list(policy: &Layer, access: Access) -> Option<(&'static str, Vec<PathRule>)> {
    let l = policy.landlock.as_ref()?;
    match access {
        Access::Read => l.read.clone().map(|v| ("landlock.read", v)),
        Access::Write => l.write.clone().map(|v| ("landlock.write", v)),
        Access::Exec => l.exec.clone().map(|v| ("landlock.exec", v)),
    }
}

/// May a sandboxed process read, write or execute `path`?
pub fn check_filesystem_access(
    policy: &Layer,
    ctx: &Context,
    path: &Path,
    access: Access,
) -> Result<Decision, SpecError> {
    let path: PathBuf = path.components().collect();
    let fs = policy.filesystem.clone().unwrap_or_default();
    let rule = deciding_rule(policy, ctx, &path)?;
    let fs_decision = match (&rule, access) {
        (Some((Kind::Hidden, r)), _) => Decision::new(false, format!("filesystem.hidden = {:?}", r.path), r.why.clone()),
        (Some((Kind::NoExec, r)), Access::Exec) => Decision::new(false, format!("filesystem.no_exec = {:?}", r.path), r.why.clone()),
        (Some((Kind::ReadWrite, r)), Access::Write) => Decision::new(true, format!("filesystem.read_write = {:?}", r.path), r.why.clone()),
        (Some((k, r)), Access::Write) => Decision::new(false, format!("{} = {:?}", kind_key(*k), r.path), r.why.clone()),
        (Some((k, r)), _) => Decision::new(true, format!("{} = {:?}", kind_key(*k), r.path), r.why.clone()),
        (None, _) if path.starts_with("/tmp") && fs.private_tmp != Some(false) => Decision::new(
            access != Access::Read || path == Path::new("/tmp"),
            "filesystem.private_tmp = true".into(),
            Some("/tmp is an empty private tmpfs: the host's files there are not visible, writes stay in the sandbox".into()),
        ),
        (None, Access::Write) => Decision::new(false, "filesystem.root = \"host\" (read-only)".into(), None),
        (None, _) => Decision::new(true, "filesystem.root = \"host\" (read-only)".into(), None),
    };
    if !fs_decision.allowed {
        return Ok(fs_decision);
    }
    if let Some((key, list)) = landlock_list(policy, access) {
        for r in &list {
            let p = expand(&r.path, key, ctx)?;
            if path.starts_with(&p) {
                return Ok(Decision::new(
                    true,
                    format!("{key} = {:?}", r.path),
                    r.why.clone(),
                ));
            }
        }
        return Ok(Decision::new(false, format!("{key} (not listed)"), None));
    }
    Ok(fs_decision)
}

/// May a sandboxed process connect to `host:port`?
pub fn check_network_access(policy: &Layer, host: &str, _port: u16) -> Decision {
    let mode = policy
        .network
        .as_ref()
        .and_then(|n| n.mode)
        .unwrap_or(NetworkMode::None);
    let blocked = policy
        .seccomp
        .as_ref()
        .and_then(|s| s.block_network)
        .unwrap_or(mode == NetworkMode::None);
    let local = matches!(host, "localhost" | "::1") || host.starts_with("127.");
    match mode {
        NetworkMode::None => Decision::new(
            false,
            "network.mode = \"none\"".into(),
            Some("no network interfaces, not even loopback".into()),
        ),
        _ if blocked => Decision::new(
            false,
            "seccomp.block_network = true".into(),
            Some("only AF_UNIX sockets can be created".into()),
        ),
        NetworkMode::Loopback if local => Decision::new(
            true,
            "network.mode = \"loopback\"".into(),
            Some(
                "the sandbox's own loopback: the host's 127.0.0.1 services are not reachable"
                    .into(),
            ),
        ),
        NetworkMode::Loopback => Decision::new(
            false,
            "network.mode = \"loopback\"".into(),
            Some("only the sandbox's own loopback".into()),
        ),
        NetworkMode::Host => Decision::new(true, "network.mode = \"host\"".into(), None),
    }
}

/// May a sandboxed process execute `path`?
pub fn check_process_execution(
    policy: &Layer,
    ctx: &Context,
    path: &Path,
) -> Result<Decision, SpecError> {
    check_filesystem_access(policy, ctx, path, Access::Exec)
}
