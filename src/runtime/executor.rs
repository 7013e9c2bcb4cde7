//! The last code that runs inside the container before the user's program.
//!
//! libcontainer calls `validate`, then `setup_envs`, waits for `start`, then
//! calls `exec`. By then namespaces, mounts, pivot_root, uid/gid, capabilities
//! and (for init processes) the spec's seccomp filter are in place.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

use super::seccomp::{self, Compiled};
use nix::fcntl::{OFlag, open};
use nix::sys::signal::{SigSet, SigmaskHow, sigprocmask};
use nix::sys::stat::{Mode, SFlag, fstat};

/// Annotation (set by `cagebox exec`'s specs) asking for a small init as
/// pid 1 with the command as its child.
pub const INIT_ANNOTATION: &str = "io.cagebox.init";

fn wants_init(spec: &Spec) -> bool {
    spec.annotations()
        .as_ref()
        .and_then(|a| a.get(INIT_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// Forks: the child returns and execs the command; this process stays as
/// pid 1, forwards every signal to the child (SIGINT and SIGQUIT to every
/// process of the sandbox, as a terminal does to its foreground job), reaps
/// orphans, and exits with the child's status (128+N when a signal ended
/// it). Runs after Landlock and seccomp are in place, so both processes are
/// confined; it needs only fork, rt_sigtimedwait, wait4, kill, getpid and
/// exit, which every profile allows (a filter refusing getpid only narrows
/// SIGINT to the command).
fn run_init() {
    let all = SigSet::all();
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None);
    // SAFETY: the container's init is single-threaded here (libcontainer's
    // init process, just before exec), so fork is sound.
    let child = match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            // Ignored dispositions survive execve: a sandbox started from a
            // background job would otherwise run its command deaf to SIGINT.
            for sig in nix::sys::signal::Signal::iterator() {
                if !matches!(
                    sig,
                    nix::sys::signal::Signal::SIGKILL | nix::sys::signal::Signal::SIGSTOP
                ) {
                    // SAFETY: SIG_DFL installs no handler code.
                    let _ = unsafe {
                        nix::sys::signal::signal(sig, nix::sys::signal::SigHandler::SigDfl)
                    };
                }
            }
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
            return;
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            // libcontainer clones this init with CLONE_PARENT, so its parent
            // is the cagebox that runs the sandbox: if that cagebox dies
            // (SIGKILL, OOM), the init dies too, and with a pid namespace
            // every process of the sandbox with it, instead of running on
            // unsupervised, past its timeout.
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            child
        }
        // Without a child there is no init to be: exec the command directly.
        Err(_) => {
            let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
            return;
        }
    };
    loop {
        match wait_signal(&all) {
            Ok((libc::SIGCHLD, _)) => {
                if let Some(code) = reap(child.as_raw(), libc::WNOHANG) {
                    // SAFETY: _exit ends this process; nothing runs after it.
                    unsafe { libc::_exit(code) }
                }
            }
            // Sent by the kernel: the terminal's line discipline (Ctrl-C,
            // Ctrl-\, a resize, a hangup), which signalled the whole
            // foreground process group, the command included, already.
            Ok((_, true)) => {}
            // Ctrl-C and Ctrl-\ reach a terminal's whole foreground job.
            // A shell running a command waits for that command before it
            // acts on SIGINT (dash, bash), so the command's shell alone
            // would let `sh -c 'sleep 30; ...'` run on for 30 s. As the pid
            // namespace's init, kill(-1) reaches every other process of the
            // sandbox, and only those; without a namespace of its own (not
            // pid 1), only the command.
            Ok((sig @ (libc::SIGINT | libc::SIGQUIT), _))
                if nix::unistd::getpid().as_raw() == 1 =>
            {
                forward(-1, sig);
            }
            // Any other, realtime signals included, by number.
            Ok((sig, _)) => forward(child.as_raw(), sig),
            // A policy whose filter denies rt_sigtimedwait: no forwarding,
            // but still wait for the command instead of spinning.
            Err(_) => {
                let code = reap(child.as_raw(), 0).unwrap_or(126);
                // SAFETY: _exit ends this process; nothing runs after it.
                unsafe { libc::_exit(code) }
            }
        }
    }
}

/// Reaps children (orphans of the sandbox too) with waitpid `flags` until
/// `child` has exited; its status as a shell gives it (128+N for signal
/// N), or None while it runs. By number: nix's `waitpid` fails on a death
/// by a realtime signal, after the kernel has reaped the child, so the
/// init would wait for it forever.
fn reap(child: libc::pid_t, flags: libc::c_int) -> Option<i32> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes the status into our local.
        let pid = unsafe { libc::waitpid(-1, &mut status, flags) };
        if pid < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINTR {
            continue;
        }
        if pid <= 0 {
            return None;
        }
        if pid == child {
            if libc::WIFEXITED(status) {
                return Some(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                return Some(128 + libc::WTERMSIG(status));
            }
        }
    }
}

/// kill(2) by number: nix's `Signal` has no realtime signals.
fn forward(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    let _ = unsafe { libc::kill(pid, sig) };
}

/// The number of the next signal of `set` (all blocked), and whether the
/// kernel sent it (`SI_KERNEL`: a terminal's line discipline) rather than
/// a process.
fn wait_signal(set: &SigSet) -> Result<(libc::c_int, bool), nix::errno::Errno> {
    // SAFETY: siginfo_t is plain data; zeroed is a valid value to be
    // overwritten by the kernel.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let n = loop {
        // SAFETY: sigwaitinfo reads the set and writes into `info`, both
        // valid for the call; the signals are blocked, as it requires.
        let n = unsafe { libc::sigwaitinfo(set.as_ref(), &mut info) };
        // Interrupted by a stop and continue (SIGSTOP, the freezer): wait
        // again, as glibc's sigwait does.
        match nix::errno::Errno::result(n) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => break r?,
        }
    };
    Ok((n, info.si_code == libc::SI_KERNEL))
}

#[derive(Clone, Default)]
pub struct CageExecutor {
    /// A filter compiled by cagebox (seccomp.rs), installed as the last step
    /// before execve.
    pub bpf: Option<Compiled>,
    /// For processes joining a running container (exec): the container's
    /// seccomp filter. libcontainer's tenant path builds a fresh spec without
    /// it, so without this an exec'd process would escape the filter.
    pub tenant_seccomp: Option<LinuxSeccomp>,
    /// The filter of a policy named by the `io.cagebox.policy` annotation,
    /// stacked on the spec's own (the kernel evaluates both; the strictest
    /// result wins). Installed before `bpf`, which then only needs the
    /// policy filter to allow seccomp(2) (every preset does).
    pub policy_bpf: Option<Compiled>,
    /// Deny rules with no exact form in the profile (seccomp_stack.rs),
    /// compiled with seccompiler; each a default-allow filter of its own.
    /// Installed first of the seccomp filters, so the ones after need them
    /// to allow seccomp(2), which the spec layer guarantees.
    pub stack_bpf: Vec<Compiled>,
    /// For processes joining a running container: its Landlock rules
    /// (the tenant spec libcontainer builds carries no annotations).
    pub tenant_landlock: Option<super::landlock::LandlockRules>,
}

impl Executor for CageExecutor {
    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        let process = spec.process().as_ref().ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("spec has no process".into())
        })?;
        let args = process.args().as_deref().unwrap_or_default();
        let Some(arg0) = args.first() else {
            return Err(ExecutorValidationError::ArgValidationError(
                "process.args must not be empty".into(),
            ));
        };
        let path_var = process
            .env()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        resolve_executable(arg0, path_var)
            .map(|_| ())
            .map_err(ExecutorValidationError::ArgValidationError)
    }

    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        fix_dev_null_stdio();
        // `cagebox run` blocks signals to forward them; the mask survives
        // execve, so the container's process must start with an empty one.
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
        // Landlock first: its paths resolve in the container's own root, and
        // it comes before every seccomp filter so no filter need allow the
        // landlock_* syscalls or the opens of the rule paths.
        let landlock_rules = match super::landlock::from_spec(spec)
            .map_err(|e| ExecutorError::Other(e.to_string()))?
        {
            Some(r) => Some(r),
            None => self.tenant_landlock.clone(),
        };
        if let Some(rules) = &landlock_rules {
            use super::landlock::Enforcement;
            match super::landlock::apply(rules) {
                Ok(Enforcement::Full) => {}
                // Only reachable with best_effort (policy degrade = "warn").
                Ok(e @ (Enforcement::Partial | Enforcement::None)) => {
                    tracing::warn!("landlock: best effort: {e:?} enforcement on this kernel");
                }
                Err(e) => return Err(ExecutorError::Other(e.to_string())),
            }
        }
        if let Some(seccomp) = &self.tenant_seccomp {
            apply_tenant_seccomp(seccomp)?;
        }
        // no_new_privs once, before any filter: a stacked rule may deny
        // the prctl/capget this needs.
        if !self.stack_bpf.is_empty() || self.policy_bpf.is_some() || self.bpf.is_some() {
            ensure_filter_allowed()?;
        }
        for c in &self.stack_bpf {
            seccomp::install(c).map_err(|e| {
                ExecutorError::Other(format!("cannot install the stacked seccomp filter: {e}"))
            })?;
        }
        if let Some(c) = &self.policy_bpf {
            seccomp::install(c).map_err(|e| {
                ExecutorError::Other(format!("cannot install the policy's seccomp filter: {e}"))
            })?;
        }
        // Last: after this only execve runs, so the profile need not allow
        // anything cagebox itself does.
        if let Some(c) = &self.bpf {
            seccomp::install(c).map_err(|e| {
                ExecutorError::Other(format!("cannot install the seccomp filter: {e}"))
            })?;
        }
        let args = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().as_ref())
            .ok_or(ExecutorError::InvalidArg)?;
        let cargs: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| ExecutorError::InvalidArg)?;
        let Some(arg0) = cargs.first() else {
            return Err(ExecutorError::InvalidArg);
        };
        if wants_init(spec) {
            run_init();
        }
        let err = nix::unistd::execvp(arg0, &cargs)
            .err()
            .unwrap_or(nix::errno::Errno::UnknownErrno);
        // validate() caught the common failures before start; what remains
        // (a noexec mount, a Landlock exec rule) happens after start, when
        // libcontainer can no longer report it. Say it on stderr and exit
        // like a shell: 127 not found, 126 not executable.
        let text = exec_error_text(&args[0], err);
        let _ = nix::unistd::write(std::io::stderr(), format!("cagebox: {text}\n").as_bytes());
        let code = if err == nix::errno::Errno::ENOENT {
            127
        } else {
            126
        };
        // SAFETY: _exit ends this (forked, single-threaded) process at once;
        // nothing of cagebox's runs after it.
        unsafe { libc::_exit(code) }
    }
}

/// runc's wording, which podman and containerd match on: "no such file or
/// directory" / "executable file not found" become exit 127, "permission
/// denied" 126.
fn exec_error_text(arg0: &str, err: nix::errno::Errno) -> String {
    match err {
        nix::errno::Errno::ENOENT => {
            format!("exec: \"{arg0}\": stat {arg0}: no such file or directory")
        }
        nix::errno::Errno::EACCES => format!("exec: \"{arg0}\": permission denied"),
        other => format!("exec: \"{arg0}\": {}", other.desc().to_lowercase()),
    }
}

/// Resolves `arg0` like execvp would, giving runc's error texts.
pub fn resolve_executable(arg0: &str, path_var: &str) -> Result<PathBuf, String> {
    if arg0.contains('/') {
        let p = Path::new(arg0);
        return match p.metadata() {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(p.to_path_buf()),
            Ok(_) => Err(format!("exec: \"{arg0}\": permission denied")),
            Err(_) => Err(format!(
                "exec: \"{arg0}\": stat {arg0}: no such file or directory"
            )),
        };
    }
    let mut found_non_exec = false;
    for dir in path_var.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(arg0);
        if let Ok(m) = candidate.metadata() {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
            found_non_exec = true;
        }
    }
    if found_non_exec {
        Err(format!("exec: \"{arg0}\": permission denied"))
    } else {
        Err(format!(
            "exec: \"{arg0}\": executable file not found in $PATH: no such file or directory"
        ))
    }
}

/// libcontainer re-points stdio that is /dev/null at the container's
/// /dev/null, but opens it read-only, so a program writing to a stdout that
/// was /dev/null gets EBADF (`npm ci > /dev/null` fails). Reopen read-write.
fn fix_dev_null_stdio() {
    let Ok(null) = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty()) else {
        return;
    };
    let Ok(null_stat) = fstat(null) else {
        let _ = nix::unistd::close(null);
        return;
    };
    for fd in 0..3 {
        let Ok(st) = fstat(fd) else { continue };
        let is_char = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR;
        if is_char && st.st_rdev == null_stat.st_rdev {
            let _ = nix::unistd::dup2(null, fd);
        }
    }
    let _ = nix::unistd::close(null);
}

/// Installs the container's seccomp filter on a process joining it. By now
/// capabilities are dropped, so the kernel only accepts a filter from a task
/// with no_new_privs (or CAP_SYS_ADMIN): set it, which is stricter than runc
/// for containers that run without no_new_privs.
fn apply_tenant_seccomp(seccomp: &LinuxSeccomp) -> Result<(), ExecutorError> {
    if libcontainer::seccomp::is_notify(seccomp) {
        return Err(ExecutorError::Other(
            "exec into a container whose seccomp profile uses SCMP_ACT_NOTIFY is not supported"
                .into(),
        ));
    }
    ensure_filter_allowed()?;
    libcontainer::seccomp::initialize_seccomp(seccomp).map_err(|e| {
        ExecutorError::Other(format!("cannot apply the container's seccomp filter: {e}"))
    })?;
    Ok(())
}

/// The kernel takes a filter only from a task with no_new_privs or
/// CAP_SYS_ADMIN. Init processes on the fast path have no_new_privs already;
/// processes joining a container may not, and get it (stricter than runc).
fn ensure_filter_allowed() -> Result<(), ExecutorError> {
    let has_sys_admin = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_ADMIN,
    )
    .unwrap_or(false);
    if !has_sys_admin {
        nix::sys::prctl::set_no_new_privs().map_err(|e| {
            ExecutorError::Other(format!("cannot set no_new_privs for seccomp: {e}"))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_absolute_path_is_enoent() {
        let e = resolve_executable("/nonexistent/x", "/bin").unwrap_err();
        assert!(e.contains("no such file or directory"), "{e}");
    }

    #[test]
    fn missing_in_path_is_not_found() {
        let e = resolve_executable("surely-not-a-command", "/bin:/usr/bin").unwrap_err();
        assert!(e.contains("executable file not found in $PATH"), "{e}");
        assert!(e.contains("no such file or directory"), "{e}");
    }

    #[test]
    fn directory_is_permission_denied() {
        let e = resolve_executable("/tmp", "/bin").unwrap_err();
        assert!(e.contains("permission denied"), "{e}");
    }

    #[test]
    fn finds_sh_in_path() {
        let p = resolve_executable("sh", "/nonexistent:/bin:/usr/bin").unwrap();
        assert!(p.ends_with("sh"));
    }
}
