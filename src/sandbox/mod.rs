//! Run one command as a short-lived container: resolve the policy, build
//! the spec, write a private bundle, run it, report, and remove everything.
//!
//! Exit codes (like `timeout(1)` and podman): the command's own; 124 when
//! the wall-clock limit killed it; 128+signal when a signal did (137 for
//! the OOM killer, with reason "oom" in the report); 125 when cagebox
//! itself failed.

pub mod deferred;
pub mod enforce;
pub mod host;
pub mod report;
pub mod stale;

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};

use crate::policy::{self, Layer, PolicyError, Resolved, Source};
use crate::runtime::sandboxed::{Exit, SandboxOpts};
use crate::runtime::{Runtime, RuntimeError};
use crate::spec::build::{self, Built, Context, SpecError};
use report::Report;

pub const EXIT_TIMEOUT: i32 = 124;
pub const EXIT_CAGEBOX: i32 = 125;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("policy: {0}")]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    #[error("policy clause {key} cannot be enforced on this kernel: {reason}")]
    Refused { key: String, reason: String },
    #[error("{what}: {msg}")]
    Io { what: String, msg: String },
    #[error(
        "{0}: needs root: every sandbox is a container (namespaces, cgroups and mounts, which only root can make), and cagebox has no rootless mode yet; nothing was run"
    )]
    NeedsRoot(String),
}

/// Refuses to go on without root, before anything is made: run as another
/// user, libcontainer would fail halfway (a rootless container without a
/// user namespace mapping, or a cgroup directory it may not create). Called
/// after the policy is read, whose errors say more.
pub fn require_root(what: &str) -> Result<(), SandboxError> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(SandboxError::NeedsRoot(what.to_string()))
    }
}

fn io(what: impl Into<String>, e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Io {
        what: what.into(),
        msg: e.to_string(),
    }
}

/// Where the policy comes from and what runs.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub policy_file: Option<PathBuf>,
    pub preset: Option<String>,
    /// The project directory (default: the current directory).
    pub project: Option<PathBuf>,
    /// The package directory for per-package policies (default: project).
    pub package: Option<PathBuf>,
    /// Which `[packages."..."]` overrides apply.
    pub package_id: Option<policy::PackageId>,
    /// Flags given on the command line, as one layer.
    pub cli: Option<Layer>,
    pub args: Vec<String>,
    pub report: Option<PathBuf>,
    /// Keep the end of stderr in `Ran` (the package-manager wrappers look
    /// for denial evidence there); the summary line is then left to them.
    pub keep_stderr_tail: bool,
    /// Leave the finished container to be deleted later (`Ran::pending`,
    /// deferred.rs): the package-manager wrappers' script shells.
    pub defer_cleanup: bool,
    /// Set in the command's environment when the resolved policy leaves it
    /// without the host's network, unless the policy sets the same names:
    /// the package-manager wrappers tell a nested npm not to retry fetches
    /// that cannot succeed (`offline_env`).
    pub offline_env: Vec<(String, String)>,
}

/// One finished sandboxed run, for callers that report on their own.
pub struct Ran {
    pub report: Report,
    pub resolved: Resolved,
    pub invocation: Invocation,
    pub stderr_tail: Vec<u8>,
    /// With `Request::defer_cleanup`: the finished run, still to delete.
    pub pending: Option<deferred::Pending>,
}

/// Every layer for `req`, merged: preset, policy file, the project's
/// `cagebox.toml` (if any), command-line flags.
pub fn resolve(req: &Request, project: &Path) -> Result<Resolved, SandboxError> {
    let mut sources = vec![];
    if let Some(f) = &req.policy_file {
        sources.push(Source {
            name: f.display().to_string(),
            layer: policy::load_file(f)?,
        });
    }
    let project_file = project.join("cagebox.toml");
    if project_file.is_file() {
        sources.push(Source {
            name: project_file.display().to_string(),
            layer: policy::load_file(&project_file)?,
        });
    }
    if let Some(cli) = &req.cli {
        sources.push(Source {
            name: "command line".into(),
            layer: cli.clone(),
        });
    }
    Ok(policy::resolve_for(
        req.preset.as_deref(),
        sources,
        req.package_id.as_ref(),
    )?)
}

/// Adds `vars` to `policy`'s `process.env.set` when its network is not the
/// host's (mode "none" or "loopback", the default "none"); a name the
/// policy sets keeps its value.
fn offline_env(policy: &mut Layer, vars: &[(String, String)]) {
    let mode = policy.network.as_ref().and_then(|n| n.mode);
    if vars.is_empty() || mode == Some(policy::model::NetworkMode::Host) {
        return;
    }
    let set = policy
        .process
        .get_or_insert_with(Default::default)
        .env
        .get_or_insert_with(Default::default)
        .set
        .get_or_insert_with(Default::default);
    for (k, v) in vars {
        set.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

fn home_dir(uid: u32) -> PathBuf {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.dir)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn canonical(p: &Path, what: &str) -> Result<PathBuf, SandboxError> {
    fs::canonicalize(p).map_err(|e| io(format!("{what} {}", p.display()), e))
}

/// Reads `seccomp.profile` (the only file the spec needs from disk).
fn load_profile(policy: &Layer, project: &Path) -> Result<Option<LinuxSeccomp>, SandboxError> {
    let Some(path) = policy.seccomp.as_ref().and_then(|s| s.profile.clone()) else {
        return Ok(None);
    };
    let p = PathBuf::from(path.replace("{project}", &project.display().to_string()));
    let text =
        fs::read_to_string(&p).map_err(|e| io(format!("seccomp.profile {}", p.display()), e))?;
    let profile: LinuxSeccomp = serde_json::from_str(&text)
        .map_err(|e| io(format!("seccomp.profile {}", p.display()), e))?;
    Ok(Some(profile))
}

/// Everything `spec::build` needs to know about this invocation.
pub struct Invocation {
    pub project: PathBuf,
    pub package: PathBuf,
    pub home: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub terminal: bool,
    pub nofile_hard: u64,
}

impl Invocation {
    pub fn current(req: &Request) -> Result<Self, SandboxError> {
        let cwd = std::env::current_dir().map_err(|e| io("current directory", e))?;
        let project = canonical(req.project.as_deref().unwrap_or(&cwd), "project directory")?;
        let package = match &req.package {
            Some(p) => canonical(p, "package directory")?,
            None => project.clone(),
        };
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let nofile_hard =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map(|(_, h)| h)
                .unwrap_or(1024);
        Ok(Invocation {
            home: home_dir(uid),
            project,
            package,
            uid,
            gid,
            terminal: nix::unistd::isatty(0).unwrap_or(false)
                && nix::unistd::isatty(1).unwrap_or(false),
            nofile_hard,
        })
    }

    pub fn context<'a>(
        &self,
        args: Vec<String>,
        rootfs: PathBuf,
        seccomp_profile: Option<LinuxSeccomp>,
        host: &'a dyn build::HostView,
    ) -> Context<'a> {
        Context {
            project: self.project.clone(),
            package: self.package.clone(),
            home: self.home.clone(),
            uid: self.uid,
            gid: self.gid,
            env: std::env::vars().collect(),
            args,
            terminal: self.terminal,
            rootfs,
            nofile_hard: self.nofile_hard,
            seccomp_profile,
            host,
        }
    }
}

/// Where the rootfs skeleton (one empty mount point per top-level host
/// directory) and the private bundle directory are made: /dev/shm when it
/// is a tmpfs. Creating and removing those ~25 directories per run costs
/// ~55 ms on an ext4 state root and almost nothing on tmpfs, and a package
/// install runs one container per script; the bundle directory's mkdir,
/// config.json and rmdir cost another ~0.5-4 ms on ext4 (journal). Neither
/// holds anything the run needs to survive it. mkdir of a fresh name (never
/// an existing one) keeps other users of the shared directory out of them.
fn skeleton_base() -> Option<PathBuf> {
    let shm = Path::new("/dev/shm");
    let fs = nix::sys::statfs::statfs(shm).ok()?;
    (fs.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC).then(|| shm.to_path_buf())
}

/// The private bundle of one sandboxed run, removed on drop (also when the
/// run fails half-way).
struct Bundle {
    dir: PathBuf,
    rootfs: PathBuf,
}

impl Bundle {
    /// `mapped_root`: the container's root is another uid (user namespace),
    /// which must be able to reach the rootfs: it then lives in the system
    /// temp dir (0755) instead of under the state root (0700).
    fn new(root: &Path, id: &str, mapped_root: Option<(u32, u32)>) -> Result<Self, SandboxError> {
        let shm = skeleton_base();
        // The bundle directory is 0700: only its creator reads config.json.
        let dir = match &shm {
            Some(shm) => shm.join(format!("{id}.bundle")),
            None => {
                let base = root.join(".sandbox");
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&base)
                    .map_err(|e| io(format!("state root {}", base.display()), e))?;
                base.join(id)
            }
        };
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io(format!("bundle {}", dir.display()), e))?;
        let rootfs = match shm {
            Some(shm) => shm.join(format!("{id}.rootfs")),
            None if mapped_root.is_some() => std::env::temp_dir().join(format!("{id}.rootfs")),
            None => dir.join("rootfs"),
        };
        let b = Bundle { dir, rootfs };
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&b.rootfs)
            .map_err(|e| io(format!("rootfs {}", b.rootfs.display()), e))?;
        if let Some((uid, gid)) = mapped_root {
            // The mapped root creates the mount points in it.
            std::os::unix::fs::chown(&b.rootfs, Some(uid), Some(gid))
                .map_err(|e| io(format!("rootfs {}", b.rootfs.display()), e))?;
        }
        Ok(b)
    }

    fn rootfs(&self) -> PathBuf {
        self.rootfs.clone()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Only config.json and an empty rootfs dir with symlinks live here;
        // nothing is mounted on them outside the container's mount namespace.
        let _ = fs::remove_dir_all(&self.rootfs);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Builds the spec for `req` (what `cagebox spec --policy` prints).
pub fn build_spec(
    req: &Request,
    inv: &Invocation,
    resolved: &Resolved,
    rootfs: PathBuf,
) -> Result<Built, SandboxError> {
    let host = host::RealHost;
    let profile = load_profile(&resolved.policy, &inv.project)?;
    let ctx = inv.context(req.args.clone(), rootfs, profile, &host);
    Ok(build::build(&resolved.policy, &ctx)?)
}

fn unique_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("cagebox-exec-{}-{nanos:08x}", std::process::id())
}

/// Runs `req` and returns cagebox's exit code.
pub fn exec(rt: &Runtime, req: &Request) -> Result<i32, SandboxError> {
    run(rt, req).map(|r| r.report.exit_code)
}

/// Runs `req` to completion: the report (also written to `req.report`).
pub fn run(rt: &Runtime, req: &Request) -> Result<Ran, SandboxError> {
    let started = Instant::now();
    let id = unique_id();
    // The container gets the default cgroups path: start the kernel's wait
    // for its first cgroup migration now, before the policy work
    // (runtime/warmup.rs). Dropped when the run is over.
    let _warm = crate::runtime::warmup::start(&crate::runtime::prepare::default_cgroups_path(&id));
    let id = id.as_str();
    let mut inv = Invocation::current(req)?;
    let mut resolved = resolve(req, &inv.project)?;
    require_root("exec")?;
    offline_env(&mut resolved.policy, &req.offline_env);
    if inv.terminal
        && resolved
            .policy
            .limits
            .as_ref()
            .is_some_and(|l| l.output.is_some())
    {
        // The output cap counts bytes on pipes; a pty would bypass it.
        eprintln!(
            "cagebox: note: limits.output is set, so the command gets pipes instead of a terminal"
        );
        inv.terminal = false;
    }
    for n in &resolved.notes {
        eprintln!("cagebox: warning: {n}");
    }
    let knobs: Vec<_> = enforce::used_knobs(&resolved.policy)
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let features = crate::sys::features::detect_knobs(&knobs);
    let clauses = enforce::clauses(&resolved.policy, &features);
    let mut degraded = vec![];
    for c in &clauses {
        match &c.status {
            enforce::Status::Refused { reason } => {
                return Err(SandboxError::Refused {
                    key: c.key.into(),
                    reason: reason.clone(),
                });
            }
            enforce::Status::Degraded { reason } => {
                eprintln!(
                    "cagebox: warning: {} not enforced: {reason} (degrade = \"warn\")",
                    c.key
                );
                degraded.push(c.clone());
            }
            enforce::Status::Enforced => {}
        }
    }
    // Runs of a cagebox killed outright left their bundle, state and
    // cgroups: remove them now that the state root is in use again.
    stale::sweep(rt);
    // With a user namespace: the host uid/gid the container's root maps to.
    let mapped_root = resolved
        .policy
        .namespaces
        .as_ref()
        .filter(|n| n.user == Some(true))
        .map(|n| {
            let host = |m: &Option<Vec<crate::policy::model::IdMap>>, own: u32| {
                m.iter()
                    .flatten()
                    .find(|e| e.container == 0)
                    .map(|e| e.host)
                    .unwrap_or(own)
            };
            (host(&n.uid_map, inv.uid), host(&n.gid_map, inv.gid))
        });
    let bundle = Bundle::new(&rt.root, id, mapped_root)?;
    let built = build_spec(req, &inv, &resolved, bundle.rootfs())?;
    for (name, target) in &built.symlinks {
        std::os::unix::fs::symlink(target, bundle.rootfs().join(name))
            .map_err(|e| io(format!("rootfs symlink {name}"), e))?;
    }
    let spec = if degraded.is_empty() {
        built.spec
    } else {
        let mut spec_json = serde_json::to_value(&built.spec).map_err(|e| io("spec", e))?;
        enforce::strip_degraded(&mut spec_json, &degraded);
        serde_json::from_value::<Spec>(spec_json).map_err(|e| io("spec", e))?
    };
    let config = serde_json::to_vec_pretty(&spec).map_err(|e| io("spec", e))?;
    fs::write(bundle.dir.join("config.json"), config).map_err(|e| io("config.json", e))?;

    let limits = resolved.policy.limits.clone().unwrap_or_default();
    let opts = SandboxOpts {
        timeout: limits.timeout.map(|t| t.as_std()),
        loopback: built.loopback,
        output_cap: limits.output.map(|s| s.0),
        keep_stderr_tail: req.keep_stderr_tail,
        defer_delete: req.defer_cleanup,
    };
    let mut outcome = rt.run_sandboxed(id, &bundle.dir, &spec, &opts)?;
    // The sandbox's init (executor.rs) reports a command killed by signal N
    // as exit status 128+N.
    if let Exit::Code(c) = outcome.exit
        && (129..=128 + 64).contains(&c)
    {
        outcome.exit = Exit::Signal(c - 128);
    }
    let pending = if req.defer_cleanup {
        // Its bundle and rootfs skeleton go with the container, by name
        // (stale::remove_run), not here.
        std::mem::forget(bundle);
        Some(deferred::Pending {
            root: rt.root.clone(),
            id: id.to_string(),
        })
    } else {
        drop(bundle);
        None
    };
    let report = Report::new(req, &resolved, &outcome, started.elapsed(), &degraded);
    if let Some(path) = &req.report {
        report
            .write(path)
            .map_err(|e| io(format!("report {}", path.display()), e))?;
    }
    if !req.keep_stderr_tail && (report.reason != "exit" || !degraded.is_empty()) {
        eprintln!("{}", report.summary_line());
    }
    let stderr_tail = std::mem::take(&mut outcome.stderr_tail);
    Ok(Ran {
        report,
        resolved,
        invocation: inv,
        stderr_tail,
        pending,
    })
}

/// Maps an outcome to cagebox's exit code and the report's reason.
pub fn classify(o: &crate::runtime::sandboxed::Outcome) -> (i32, &'static str) {
    if o.timed_out {
        return (EXIT_TIMEOUT, "timeout");
    }
    if o.output_exceeded {
        return (128 + libc::SIGKILL, "output");
    }
    match o.exit {
        Exit::Signal(sig) if sig == libc::SIGKILL && o.usage.oom_kills > 0 => (137, "oom"),
        Exit::Signal(sig) if sig == libc::SIGXCPU => (128 + sig, "cpu_time"),
        Exit::Signal(sig) if sig == libc::SIGXFSZ => (128 + sig, "file_size"),
        Exit::Signal(sig) if sig == libc::SIGKILL && o.usage.pids_limit_hits > 0 => {
            (128 + sig, "pids")
        }
        Exit::Signal(sig) => (128 + sig, "signal"),
        // A shell reports its child's OOM kill as exit status 137.
        Exit::Code(c) if c != 0 && o.usage.oom_kills > 0 => (c, "oom"),
        Exit::Code(c) if c != 0 && o.usage.pids_limit_hits > 0 => (c, "pids"),
        Exit::Code(c) => (c, "exit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::{Env, Network, NetworkMode, Process};

    fn layer(mode: Option<NetworkMode>, set: &[(&str, &str)]) -> Layer {
        Layer {
            network: mode.map(|m| Network {
                mode: Some(m),
                allow: None,
            }),
            process: Some(Process {
                env: Some(Env {
                    set: Some(
                        set.iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn set_of(l: &Layer) -> Vec<(String, String)> {
        l.process
            .as_ref()
            .and_then(|p| p.env.as_ref())
            .and_then(|e| e.set.clone())
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    #[test]
    fn offline_env_only_without_the_host_network_and_never_over_the_policy() {
        let vars = vec![
            ("npm_config_fetch_retries".to_string(), "0".to_string()),
            ("B".to_string(), "new".to_string()),
        ];
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        for mode in [None, Some(NetworkMode::None), Some(NetworkMode::Loopback)] {
            let mut l = layer(mode, &[("B", "policy")]);
            offline_env(&mut l, &vars);
            assert_eq!(
                set_of(&l),
                vec![kv("B", "policy"), kv("npm_config_fetch_retries", "0")],
                "{mode:?}"
            );
        }
        let mut l = layer(Some(NetworkMode::Host), &[("B", "policy")]);
        offline_env(&mut l, &vars);
        assert_eq!(set_of(&l), vec![kv("B", "policy")]);
        // No process table at all: made.
        let mut l = Layer::default();
        offline_env(&mut l, &vars[..1]);
        assert_eq!(set_of(&l), vec![kv("npm_config_fetch_retries", "0")]);
    }
}
