//! The only module that drives libcontainer: create, start, run, exec, kill,
//! delete and the queries, with runc's semantics and error texts.

pub mod cleanup;
pub mod console;
pub mod copyup;
pub mod executor;
pub mod foreground;
pub mod keyring;
pub mod landlock;
pub mod prepare;
pub mod query;
pub mod sandboxed;
pub mod seccomp;
pub mod seccomp_stack;
pub mod stats;
pub mod swap;
pub mod tenant;
pub mod usage;
pub mod warmup;

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::error::LibcontainerError;
use libcontainer::oci_spec::runtime::Spec;
use libcontainer::syscall::syscall::SyscallType;

use crate::cli::oci::CreateOpts;
use executor::CageExecutor;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("container \"{0}\" does not exist")]
    NotExist(String),
    #[error("container with id \"{0}\" already exists")]
    Exists(String),
    #[error("invalid container ID format: {0:?} ({1})")]
    InvalidId(String, &'static str),
    #[error("bundle {path}: {msg}")]
    Bundle { path: String, msg: String },
    #[error("{0}")]
    Prepare(#[from] prepare::PrepareError),
    #[error("{0}")]
    Keyring(#[from] keyring::KeyringError),
    #[error("{0}")]
    Seccomp(#[from] seccomp::SeccompError),
    #[error("{0}")]
    Copyup(#[from] copyup::CopyupError),
    #[error("{0}")]
    Console(#[from] console::ConsoleError),
    #[error("{0}")]
    Foreground(#[from] foreground::ForegroundError),
    #[error("state root {path}: {source}")]
    Root {
        path: String,
        source: std::io::Error,
    },
    /// A command that the container's status does not allow; runc's words.
    #[error("{0}")]
    Status(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{}", chain(.0))]
    Libcontainer(#[from] LibcontainerError),
}

/// libcontainer's errors hide the useful part (an exec failure's text) in
/// their sources; print the whole chain, deduplicated, like runc does.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// runc's lower-case status names (libcontainer displays them capitalized).
pub fn status_str(s: ContainerStatus) -> &'static str {
    match s {
        ContainerStatus::Creating => "creating",
        ContainerStatus::Created => "created",
        ContainerStatus::Running => "running",
        ContainerStatus::Stopped => "stopped",
        ContainerStatus::Paused => "paused",
    }
}

/// The precompiled filter inside a private bundle, for `exec`.
const TENANT_FILTER: &str = "seccomp.bpf";
/// The annotation policy's filter inside a private bundle, for `exec`.
const POLICY_FILTER: &str = "policy-seccomp.bpf";

/// The seccomp filters cagebox installs itself (executor.rs).
struct Filters {
    /// The spec's own, precompiled (fast path).
    spec: Option<seccomp::Compiled>,
    /// The annotation policy's, stacked on the spec's.
    policy: Option<seccomp::Compiled>,
    /// The spec's stacked rules (io.cagebox.seccomp.stack), compiled.
    stack: Vec<seccomp::Compiled>,
}

/// The filters for a spec's `io.cagebox.seccomp.stack` annotation.
pub(crate) fn stack_filters(spec: &Spec) -> Result<Vec<seccomp::Compiled>, RuntimeError> {
    let rules = crate::spec::seccomp_stack::from_annotations(spec.annotations().as_ref())
        .map_err(RuntimeError::Invalid)?;
    Ok(seccomp_stack::compile(&rules)?)
}

/// One policy layer named by an annotation or `--enforce-policy`: a preset
/// name, or an absolute path to a policy file.
fn named_layer(value: &str) -> Result<crate::policy::Source, crate::policy::PolicyError> {
    let layer = if value.starts_with('/') {
        crate::policy::load_file(Path::new(value))?
    } else {
        crate::policy::preset(value)?
    };
    Ok(crate::policy::Source {
        name: value.to_string(),
        layer,
    })
}

/// The spec narrowed by the policy its `io.cagebox.policy` annotation names
/// (a preset name, or an absolute path to a policy file) and by the
/// operator's `--enforce-policy`. With both, the two merge strictest-wins
/// over the enforced one, and the bundle's policy may not widen anything:
/// whoever writes the bundle must not loosen what the runtime's operator set.
fn policy_annotation(
    spec: &Spec,
    enforced: Option<&str>,
) -> Result<Option<crate::spec::narrow::Narrowed>, RuntimeError> {
    use crate::spec::narrow::{POLICY_ANNOTATION, narrow};
    let annotation = spec
        .annotations()
        .as_ref()
        .and_then(|a| a.get(POLICY_ANNOTATION));
    let bad_flag =
        |v: &str, msg: String| RuntimeError::Invalid(format!("--enforce-policy {v:?}: {msg}"));
    let bad_annotation = |v: &str, msg: String| {
        RuntimeError::Invalid(format!("annotation {POLICY_ANNOTATION}={v:?}: {msg}"))
    };
    let mut base = None;
    let mut sources = Vec::new();
    if let Some(v) = enforced {
        if v.starts_with('/') {
            sources.push(named_layer(v).map_err(|e| bad_flag(v, e.to_string()))?);
        } else {
            crate::policy::preset(v).map_err(|e| bad_flag(v, e.to_string()))?;
            base = Some(v);
        }
    }
    if let Some(v) = annotation {
        let source = named_layer(v).map_err(|e| bad_annotation(v, e.to_string()))?;
        if let (Some(flag), Some(key)) = (enforced, source.layer.widen.keys().next()) {
            return Err(bad_annotation(
                v,
                format!(
                    "widens {key:?}, but this runtime enforces the policy {flag:?} (--enforce-policy): a bundle may only narrow it"
                ),
            ));
        }
        if enforced.is_none() && !v.starts_with('/') {
            base = Some(v.as_str());
        } else {
            sources.push(source);
        }
    }
    if base.is_none() && sources.is_empty() {
        return Ok(None);
    }
    let what = |msg: String| match (enforced, annotation) {
        (Some(f), _) => bad_flag(f, msg),
        (None, Some(a)) => bad_annotation(a, msg),
        (None, None) => RuntimeError::Invalid(msg),
    };
    let resolved = crate::policy::resolve(base, sources).map_err(|e| what(e.to_string()))?;
    narrow(spec, &resolved.policy)
        .map(Some)
        .map_err(|e| what(e.to_string()))
}

/// Where container state lives; one directory per container.
pub struct Runtime {
    pub root: PathBuf,
    /// `--enforce-policy`: a policy every container this runtime creates is
    /// narrowed by, whatever its bundle says (Docker's `runtimeArgs`).
    pub enforced_policy: Option<String>,
}

/// runc's container id rule: letters, digits, `_ + - .`, not `.` or `..`.
pub fn validate_id(id: &str) -> Result<(), RuntimeError> {
    if id.is_empty() {
        return Err(RuntimeError::InvalidId(id.into(), "must not be empty"));
    }
    if id == "." || id == ".." {
        return Err(RuntimeError::InvalidId(id.into(), "must not be . or .."));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.'))
    {
        return Err(RuntimeError::InvalidId(
            id.into(),
            "only letters, digits and _ + - . are allowed",
        ));
    }
    Ok(())
}

impl Runtime {
    pub fn new(root: PathBuf) -> Self {
        Runtime {
            root,
            enforced_policy: None,
        }
    }

    /// This runtime, narrowing every container it creates by `policy`.
    pub fn with_enforced_policy(mut self, policy: Option<String>) -> Self {
        self.enforced_policy = policy;
        self
    }

    fn container_dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Private bundle copies live beside the state dirs, in a dot directory
    /// that `list` skips.
    fn private_bundle(&self, id: &str) -> PathBuf {
        self.root.join(".bundles").join(id)
    }

    fn ensure_root(&self) -> Result<(), RuntimeError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|source| RuntimeError::Root {
                path: self.root.display().to_string(),
                source,
            })
    }

    pub fn load(&self, id: &str) -> Result<Container, RuntimeError> {
        validate_id(id)?;
        let dir = self.container_dir(id);
        if !dir.join("state.json").exists() {
            return Err(RuntimeError::NotExist(id.into()));
        }
        Ok(Container::load(dir)?)
    }

    /// `create`: everything up to the user process, which then waits for
    /// `start`. On failure nothing is left: no state dir, private bundle,
    /// cgroup (libcontainer removes it) or process.
    pub fn create(
        &self,
        id: &str,
        opts: &CreateOpts,
        detach: bool,
    ) -> Result<Container, RuntimeError> {
        validate_id(id)?;
        let (bundle, spec) = load_bundle(&opts.bundle)?;
        self.create_from(id, opts, detach, &bundle, &spec)
    }

    /// `create` for a bundle already loaded (`run` reads it once).
    fn create_from(
        &self,
        id: &str,
        opts: &CreateOpts,
        detach: bool,
        bundle: &Path,
        spec: &Spec,
    ) -> Result<Container, RuntimeError> {
        // The kernel's wait for the container's first cgroup migration,
        // started before the work below (warmup.rs); a no-op when
        // `cagebox exec` started it already or the path is not a fresh,
        // absolute one.
        let cgroups_path = match spec
            .linux()
            .as_ref()
            .and_then(|l| l.cgroups_path().as_ref())
        {
            Some(p) => p.display().to_string(),
            None => prepare::default_cgroups_path(id),
        };
        // Dropped when create_from returns: reaps the child; the directory
        // stays when the container is in it.
        let _warm = warmup::start(&cgroups_path);
        let narrowed = policy_annotation(spec, self.enforced_policy.as_deref())?;
        let (spec, policy_seccomp) = match &narrowed {
            Some(n) => (&n.spec, n.seccomp.as_ref()),
            None => (spec, None),
        };
        check_runtime_hooks(spec)?;
        let fast_seccomp = seccomp::fast_path_eligible(spec);
        let prepared = prepare::prepare(spec, id, bundle, fast_seccomp, narrowed.is_some())?;
        self.ensure_root()?;
        let dir = self.container_dir(id);
        if dir.exists() {
            return Err(RuntimeError::Exists(id.into()));
        }
        let compiled = match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            Some(s) if fast_seccomp => Some(seccomp::cached(&self.root, s)?),
            _ => None,
        };
        let policy_compiled = match policy_seccomp {
            Some(s) => Some(seccomp::cached(&self.root, s)?),
            None => None,
        };
        let filters = Filters {
            spec: compiled,
            policy: policy_compiled,
            stack: stack_filters(spec)?,
        };
        let memory = spec
            .linux()
            .as_ref()
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| *r.memory());
        let result = self
            .build_init(id, opts, detach, bundle, prepared, filters)
            .and_then(|c| {
                let fixed = c
                    .spec()
                    .map_err(RuntimeError::from)
                    .and_then(|cfg| swap::enforce_no_swap(&cfg.cgroup_path, memory.as_ref()));
                if let Err(e) = fixed {
                    // The init exists and waits for start: remove it all.
                    let _ = self.delete(id, true);
                    return Err(e);
                }
                Ok(c)
            });
        match &result {
            // Another create of the same id won the race: its state is not ours.
            Err(RuntimeError::Exists(_))
            | Err(RuntimeError::Libcontainer(LibcontainerError::Exist)) => {}
            Err(_) => self.remove_leftovers(id),
            Ok(_) => {}
        }
        result
    }

    fn build_init(
        &self,
        id: &str,
        opts: &CreateOpts,
        detach: bool,
        bundle: &Path,
        prepared: prepare::Prepared,
        filters: Filters,
    ) -> Result<Container, RuntimeError> {
        // Held open until the container is created: the copy-up hooks read them.
        let mut copyup_sources = Vec::new();
        let run_bundle = match prepared.spec {
            Some(mut spec) => {
                if !prepared.copyup.is_empty() {
                    let rootfs = spec
                        .root()
                        .as_ref()
                        .map(|r| r.path().clone())
                        .unwrap_or_default();
                    copyup_sources = copyup::open_sources(&rootfs, &prepared.copyup)?;
                    copyup::add_hooks(&mut spec, &rootfs, &copyup_sources)?;
                }
                let dir = self.private_bundle(id);
                // A concurrent delete removes `.bundles` when it empties
                // (remove_private_bundle), possibly between these two
                // mkdirs: then make it again. Once `dir` exists in it, it
                // is not empty and stays.
                let mut made = Err(std::io::ErrorKind::NotFound.into());
                for _ in 0..8 {
                    made = fs::create_dir_all(self.root.join(".bundles"))
                        .and_then(|_| fs::create_dir(&dir));
                    if !matches!(&made, Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
                        break;
                    }
                }
                match made {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Err(RuntimeError::Exists(id.into()));
                    }
                    Err(e) => {
                        return Err(RuntimeError::Bundle {
                            path: dir.display().to_string(),
                            msg: e.to_string(),
                        });
                    }
                }
                spec.save(dir.join("config.json"))
                    .map_err(|e| RuntimeError::Invalid(chain(&e)))?;
                // For `exec`: processes joining the container get them too.
                if let Some(c) = &filters.spec {
                    seccomp::save(&dir.join(TENANT_FILTER), c)?;
                }
                if let Some(c) = &filters.policy {
                    seccomp::save(&dir.join(POLICY_FILTER), c)?;
                }
                dir
            }
            None => bundle.to_path_buf(),
        };
        if !opts.no_new_keyring {
            keyring::join_new_session(id)?;
        }
        let container = ContainerBuilder::new(id.to_string(), SyscallType::default())
            .with_executor(CageExecutor {
                bpf: filters.spec,
                tenant_seccomp: None,
                policy_bpf: filters.policy,
                stack_bpf: filters.stack,
                tenant_landlock: None,
            })
            .with_pid_file(opts.pid_file.as_ref())?
            .with_console_socket(opts.console_socket.as_ref())
            .with_root_path(&self.root)?
            .with_preserved_fds(opts.preserve_fds)
            .validate_id()?
            .as_init(&run_bundle)
            .with_systemd(false)
            .with_detach(detach)
            .with_no_pivot(opts.no_pivot)
            .build()?;
        drop(copyup_sources);
        Ok(container)
    }

    /// Removes what a failed create may have left. Only paths named after
    /// this id under our own state root are touched.
    fn remove_leftovers(&self, id: &str) {
        let _ = fs::remove_dir_all(self.container_dir(id));
        self.remove_private_bundle(id);
    }

    fn remove_private_bundle(&self, id: &str) {
        let dir = self.private_bundle(id);
        if dir.exists() {
            let _ = fs::remove_dir_all(&dir);
            // Only succeeds when no other container has a copy there.
            let _ = fs::remove_dir(self.root.join(".bundles"));
        }
    }

    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let mut c = self.load(id)?;
        match c.status() {
            ContainerStatus::Created => {}
            ContainerStatus::Stopped => {
                return Err(RuntimeError::Status(
                    "cannot start a container that has stopped".into(),
                ));
            }
            ContainerStatus::Running | ContainerStatus::Paused => {
                return Err(RuntimeError::Status(
                    "cannot start an already running container".into(),
                ));
            }
            ContainerStatus::Creating => {
                return Err(RuntimeError::Status(
                    "cannot start a container that is still being created".into(),
                ));
            }
        }
        c.start()?;
        Ok(())
    }

    /// Foreground or detached `run`. Returns the exit code for cagebox.
    pub fn run(
        &self,
        id: &str,
        opts: &CreateOpts,
        detach: bool,
        keep: bool,
    ) -> Result<i32, RuntimeError> {
        if detach {
            let mut c = self.create(id, opts, true)?;
            if let Err(e) = c.start() {
                let _ = self.delete(id, true);
                return Err(e.into());
            }
            return Ok(0);
        }
        validate_id(id)?;
        let (bundle, spec) = load_bundle(&opts.bundle)?;
        // Block before create so no signal or SIGCHLD is lost (foreground.rs).
        let set = foreground::block_signals()?;
        // A terminal without a console socket: cagebox provides the pty.
        let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
        let console = if opts.console_socket.is_none() && terminal {
            self.ensure_root()?;
            Some(console::Listener::new(&self.root, id)?)
        } else {
            None
        };
        let mut c = match &console {
            Some(l) => {
                let mut with_socket = opts.clone();
                with_socket.console_socket = Some(l.path().to_path_buf());
                // libcontainer accepts a console socket only when "detached".
                self.create_from(id, &with_socket, true, &bundle, &spec)?
            }
            None => self.create_from(id, opts, false, &bundle, &spec)?,
        };
        let master = match &console {
            Some(l) => match l.receive() {
                Ok(m) => Some(m),
                Err(e) => {
                    let _ = self.delete(id, true);
                    return Err(e.into());
                }
            },
            None => None,
        };
        if let Err(e) = c.start() {
            let _ = self.delete(id, true);
            return Err(e.into());
        }
        let Some(pid) = c.pid() else {
            let _ = self.delete(id, true);
            return Err(RuntimeError::Invalid("container has no init pid".into()));
        };
        let code = match master {
            Some(m) => console::proxy(m, pid, &set).map_err(RuntimeError::from),
            None => foreground::wait_and_forward(pid, &set).map_err(RuntimeError::from),
        };
        if !keep {
            self.delete(id, true)?;
        }
        code
    }

    /// Signals the init (or, with `all`, every process in the cgroup). Unlike
    /// libcontainer's kill this writes no state: a concurrent `run` that is
    /// reaping and deleting the same container must not race with it.
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<(), RuntimeError> {
        let sig = parse_signal(signal)?;
        let c = self.load(id)?;
        match c.status() {
            ContainerStatus::Created | ContainerStatus::Running | ContainerStatus::Paused => {}
            ContainerStatus::Stopped if all => {}
            ContainerStatus::Stopped | ContainerStatus::Creating => {
                return Err(RuntimeError::Status("container not running".into()));
            }
        }
        if all {
            return query::signal_all(&c, sig);
        }
        let Some(pid) = c.pid() else {
            return Err(RuntimeError::Status("container not running".into()));
        };
        match nix::sys::signal::kill(pid, sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(RuntimeError::Invalid(format!("kill {pid}: {e}"))),
        }
        // A frozen cgroup v1 task cannot die until thawed.
        if c.status() == ContainerStatus::Paused && sig == nix::sys::signal::Signal::SIGKILL {
            query::thaw(&c)?;
        }
        Ok(())
    }

    pub fn delete(&self, id: &str, force: bool) -> Result<(), RuntimeError> {
        let mut c = match self.load(id) {
            Ok(c) => c,
            Err(RuntimeError::NotExist(_)) if force => {
                self.remove_leftovers(id);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let live = matches!(
            c.status(),
            ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Creating
        );
        if live && !force {
            return Err(RuntimeError::Status(format!(
                "cannot delete container {id} that is not stopped: {}",
                status_str(c.status())
            )));
        }
        // Like runc, return only once the container's processes are gone, so
        // a caller that checks right after delete sees nothing left.
        let pids = if live {
            query::pids(&c).unwrap_or_default()
        } else {
            vec![]
        };
        if live || !cleanup::remove_stopped(&c)? {
            c.delete(force)?;
        }
        self.remove_private_bundle(id);
        query::wait_gone(&pids, std::time::Duration::from_secs(5));
        Ok(())
    }

    pub fn pause(&self, id: &str) -> Result<(), RuntimeError> {
        let mut c = self.load(id)?;
        if !matches!(
            c.status(),
            ContainerStatus::Running | ContainerStatus::Created
        ) {
            return Err(RuntimeError::Status("container not running".into()));
        }
        c.pause()?;
        Ok(())
    }

    pub fn resume(&self, id: &str) -> Result<(), RuntimeError> {
        let mut c = self.load(id)?;
        if c.status() != ContainerStatus::Paused {
            return Err(RuntimeError::Status("container not paused".into()));
        }
        c.resume()?;
        Ok(())
    }
}

/// The bundle's absolute path and its config.json, with errors naming both.
fn load_bundle(dir: &Path) -> Result<(PathBuf, Spec), RuntimeError> {
    let bundle = fs::canonicalize(dir).map_err(|e| RuntimeError::Bundle {
        path: dir.display().to_string(),
        msg: e.to_string(),
    })?;
    let spec = Spec::load(bundle.join("config.json")).map_err(|e| RuntimeError::Bundle {
        path: bundle.display().to_string(),
        msg: format!("config.json: {}", chain(&e)),
    })?;
    Ok((bundle, spec))
}

/// Hooks that run in the runtime's namespaces during create must exist: a
/// missing one is reported with its path before anything is created
/// (libcontainer's own error does not name it).
fn check_runtime_hooks(spec: &Spec) -> Result<(), RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)] // prestart is deprecated in OCI but still emitted by clients
    let sets = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
    ];
    for (kind, list) in sets {
        for (i, h) in list.iter().flatten().enumerate() {
            let path = h.path();
            let problem = match fs::metadata(path) {
                Err(e) => Some(e.to_string()),
                Ok(m) if !m.is_file() || m.permissions().mode() & 0o111 == 0 => {
                    Some("permission denied".into())
                }
                Ok(_) => None,
            };
            if let Some(p) = problem {
                return Err(RuntimeError::Invalid(format!(
                    "error running {kind} hook #{i}: {}: {p}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Signal names with or without SIG, any case, or numbers, like runc.
pub fn parse_signal(s: &str) -> Result<nix::sys::signal::Signal, RuntimeError> {
    use std::str::FromStr;
    let bad = || RuntimeError::Invalid(format!("unknown signal {s:?}"));
    if let Ok(n) = s.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    nix::sys::signal::Signal::from_str(&name).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc_rules() {
        assert!(validate_id("abc-1_2+3.4").is_ok());
        for bad in ["", ".", "..", "../x", "a/b", "a b", "ä"] {
            assert!(validate_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn signals_by_name_and_number() {
        for s in ["TERM", "SIGTERM", "term", "15"] {
            assert_eq!(
                parse_signal(s).unwrap(),
                nix::sys::signal::Signal::SIGTERM,
                "{s}"
            );
        }
        assert_eq!(
            parse_signal("9").unwrap(),
            nix::sys::signal::Signal::SIGKILL
        );
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("999").is_err());
    }
}
