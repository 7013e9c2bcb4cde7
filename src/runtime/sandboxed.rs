//! One short-lived container for `cagebox exec` and the package-manager
//! wrappers: create, bring loopback up if asked, start, wait with a
//! wall-clock limit and an output cap, read the cgroup's usage, delete.
//!
//! Kills from the watchdog and the output cap go through a pidfd, so a
//! recycled pid can never be hit (the init may be reaped at any moment).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use libcontainer::oci_spec::runtime::Spec;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;

use super::usage::{self, Usage};
use super::{Runtime, RuntimeError, console, foreground, query, validate_id};
use crate::cli::oci::CreateOpts;

#[derive(Debug, Clone, Default)]
pub struct SandboxOpts {
    pub timeout: Option<Duration>,
    pub loopback: bool,
    /// Bytes of stdout+stderr passed through before the command is killed.
    pub output_cap: Option<u64>,
    /// Keep the last STDERR_TAIL bytes of stderr (the evidence a denial
    /// leaves: "Read-only file system", "Permission denied").
    pub keep_stderr_tail: bool,
    /// Return with the stopped container not deleted (the caller deletes
    /// it later: sandbox/deferred.rs).
    pub defer_delete: bool,
}

/// How much of stderr `keep_stderr_tail` keeps.
pub const STDERR_TAIL: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub timed_out: bool,
    pub output_exceeded: bool,
    pub usage: Usage,
    /// The end of stderr, with `keep_stderr_tail` (else empty).
    pub stderr_tail: Vec<u8>,
}

/// A pidfd: signals through it reach the process it was opened for, or
/// nobody (ESRCH) once that process is gone, never a recycled pid.
#[derive(Clone)]
struct PidFd(Arc<OwnedFd>);

impl PidFd {
    fn open(pid: Pid) -> Result<Self, RuntimeError> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
        if fd < 0 {
            return Err(RuntimeError::Invalid(format!(
                "pidfd_open {pid}: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: the kernel just returned this fd to us; nobody else owns it.
        Ok(PidFd(Arc::new(unsafe {
            OwnedFd::from_raw_fd(fd as RawFd)
        })))
    }

    /// Waits (up to `limit`) until the process has exited. For the init of
    /// a pid namespace that means every process in it is gone.
    fn wait_exit(&self, limit: Duration) {
        use std::os::fd::AsFd;
        let mut fds = [nix::poll::PollFd::new(
            self.0.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(limit.as_millis()).unwrap_or(u16::MAX);
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
    }

    fn kill(&self) {
        // SAFETY: pidfd_send_signal on a pidfd we own, no siginfo, no flags.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            );
        }
    }
}

struct Watchdog {
    cancel: mpsc::Sender<()>,
    fired: std::thread::JoinHandle<bool>,
}

impl Watchdog {
    fn start(pidfd: PidFd, limit: Duration) -> Self {
        let (cancel, rx) = mpsc::channel::<()>();
        let fired = std::thread::spawn(move || match rx.recv_timeout(limit) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Killing the init of a pid namespace kills every process in it.
                pidfd.kill();
                true
            }
            _ => false,
        });
        Watchdog { cancel, fired }
    }

    fn finish(self) -> bool {
        let _ = self.cancel.send(());
        self.fired.join().unwrap_or(false)
    }
}

/// stdout and stderr of the container redirected through pipes, copied to
/// the real ones by two threads that count bytes.
struct Capture {
    saved: [OwnedFd; 2],
    readers: Vec<OwnedFd>,
    writers: Vec<OwnedFd>,
}

fn io_err(what: &str, e: nix::errno::Errno) -> RuntimeError {
    RuntimeError::Invalid(format!("{what}: {e}"))
}

impl Capture {
    /// Points fds 1 and 2 at fresh pipes; the container inherits them at create.
    fn install() -> Result<Self, RuntimeError> {
        let mut saved = vec![];
        let mut readers = vec![];
        let mut writers = vec![];
        for fd in [1, 2] {
            let orig = nix::unistd::dup(fd).map_err(|e| io_err("dup", e))?;
            // SAFETY: dup just returned this fd; we own it.
            saved.push(unsafe { OwnedFd::from_raw_fd(orig) });
            let (r, w) =
                nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| io_err("pipe", e))?;
            nix::unistd::dup2(w.as_raw_fd(), fd).map_err(|e| io_err("dup2", e))?;
            readers.push(r);
            writers.push(w);
        }
        let saved: [OwnedFd; 2] = saved
            .try_into()
            .map_err(|_| RuntimeError::Invalid("stdio capture".into()))?;
        Ok(Capture {
            saved,
            readers,
            writers,
        })
    }

    /// Gives cagebox its own stdout/stderr back (the container keeps the pipes).
    fn restore(&mut self) {
        for (i, fd) in [1, 2].into_iter().enumerate() {
            let _ = nix::unistd::dup2(self.saved[i].as_raw_fd(), fd);
        }
        self.writers.clear();
    }

    /// Copies until every writer is gone; past `cap` bytes kills the init
    /// and discards the rest (so writers never block).
    /// The stderr thread returns the last STDERR_TAIL bytes it saw.
    fn pump(
        self,
        cap: u64,
        pidfd: PidFd,
    ) -> (Vec<std::thread::JoinHandle<Vec<u8>>>, Arc<AtomicBool>) {
        let total = Arc::new(AtomicU64::new(0));
        let exceeded = Arc::new(AtomicBool::new(false));
        let mut threads = vec![];
        for (i, (r, out)) in self.readers.into_iter().zip(self.saved).enumerate() {
            let (total, exceeded, pidfd) = (total.clone(), exceeded.clone(), pidfd.clone());
            let keep_tail = i == 1;
            threads.push(std::thread::spawn(move || {
                let mut tail: Vec<u8> = Vec::new();
                let mut r = File::from(r);
                let mut out = File::from(out);
                let mut buf = [0u8; 16384];
                loop {
                    let n = match r.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    if keep_tail {
                        tail.extend_from_slice(&buf[..n]);
                        if tail.len() > STDERR_TAIL {
                            tail.drain(..tail.len() - STDERR_TAIL);
                        }
                    }
                    let before = total.fetch_add(n as u64, Ordering::SeqCst);
                    let room = cap.saturating_sub(before).min(n as u64) as usize;
                    if room > 0 {
                        let _ = out.write_all(&buf[..room]);
                    }
                    // Any byte past the cap ends the command. Stop reading
                    // until it is gone, so a writer blocked on the full pipe
                    // cannot go on while the kill lands; then drain.
                    if room < n {
                        if !exceeded.swap(true, Ordering::SeqCst) {
                            pidfd.kill();
                        }
                        pidfd.wait_exit(Duration::from_secs(10));
                    }
                }
                tail
            }));
        }
        (threads, exceeded)
    }
}

/// Brings `lo` up inside the network namespace of `pid` (a new network
/// namespace starts with loopback down). Done from a short-lived thread:
/// setns(CLONE_NEWNET) changes only the calling thread.
fn loopback_up(pid: Pid) -> Result<(), RuntimeError> {
    let ns = File::open(format!("/proc/{pid}/ns/net"))
        .map_err(|e| RuntimeError::Invalid(format!("network namespace of {pid}: {e}")))?;
    let result = std::thread::scope(|s| {
        s.spawn(|| -> Result<(), String> {
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("setns: {e}"))?;
            let sock = nix::sys::socket::socket(
                nix::sys::socket::AddressFamily::Inet,
                nix::sys::socket::SockType::Datagram,
                nix::sys::socket::SockFlag::SOCK_CLOEXEC,
                None,
            )
            .map_err(|e| format!("socket: {e}"))?;
            // SAFETY: ifreq is plain old data; all-zero is a valid value.
            let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
            for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
                *dst = *src as libc::c_char;
            }
            // SAFETY: SIOCGIFFLAGS reads into the ifreq we pass, which outlives the call.
            if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) } < 0 {
                return Err(format!(
                    "SIOCGIFFLAGS lo: {}",
                    std::io::Error::last_os_error()
                ));
            }
            // SAFETY: the union member written by SIOCGIFFLAGS is ifru_flags.
            unsafe { ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
            // SAFETY: SIOCSIFFLAGS reads the ifreq we pass.
            if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) } < 0 {
                return Err(format!(
                    "SIOCSIFFLAGS lo: {}",
                    std::io::Error::last_os_error()
                ));
            }
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err("thread panicked".into()))
    });
    result.map_err(|e| RuntimeError::Invalid(format!("cannot bring loopback up: {e}")))
}

/// Whether the container gets a new pid namespace of its own (not one
/// joined by path), whose init it is.
fn owns_pid_namespace(spec: &Spec) -> bool {
    use libcontainer::oci_spec::runtime::LinuxNamespaceType;
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Pid && n.path().is_none())
        })
}

/// Waits for init, forwarding signals (like foreground `run`), keeping the
/// exit/signal distinction.
fn wait_status(init: Pid, set: &nix::sys::signal::SigSet) -> Result<Exit, RuntimeError> {
    Ok(match foreground::wait_status_forwarding(init, set)? {
        WaitStatus::Signaled(_, sig, _) => Exit::Signal(sig as i32),
        WaitStatus::Exited(_, code) => Exit::Code(code),
        other => Exit::Code(foreground::exit_code(other).unwrap_or(1)),
    })
}

impl Runtime {
    /// Runs the container described by `spec` (whose bundle is `bundle`) to
    /// completion and deletes it. Fails with nothing left behind.
    pub fn run_sandboxed(
        &self,
        id: &str,
        bundle: &Path,
        spec: &Spec,
        o: &SandboxOpts,
    ) -> Result<Outcome, RuntimeError> {
        validate_id(id)?;
        // Phase times in the debug log (`--debug`), for docs/benchmarks.md.
        let t0 = std::time::Instant::now();
        let set = foreground::block_signals()?;
        let terminal = spec.process().as_ref().and_then(|p| p.terminal()) == Some(true);
        let console = if terminal {
            self.ensure_root()?;
            Some(console::Listener::new(&self.root, id)?)
        } else {
            None
        };
        let opts = CreateOpts {
            bundle: bundle.to_path_buf(),
            console_socket: console.as_ref().map(|l| l.path().to_path_buf()),
            pid_file: None,
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
        };
        let mut capture = match (o.output_cap.is_some() || o.keep_stderr_tail, terminal) {
            (true, false) => Some(Capture::install()?),
            _ => None,
        };
        let created = self.create_from(id, &opts, console.is_some(), bundle, spec);
        if let Some(c) = capture.as_mut() {
            c.restore();
        }
        let mut c = created?;
        let fail = |e: RuntimeError| {
            let _ = self.delete(id, true);
            e
        };
        let master = match &console {
            Some(l) => Some(l.receive().map_err(|e| fail(e.into()))?),
            None => None,
        };
        let pid = c
            .pid()
            .ok_or_else(|| fail(RuntimeError::Invalid("container has no init pid".into())))?;
        if o.loopback {
            loopback_up(pid).map_err(fail)?;
        }
        let pidfd = PidFd::open(pid).map_err(fail)?;
        c.start().map_err(|e| fail(e.into()))?;
        tracing::debug!("sandbox: created and started in {:?}", t0.elapsed());
        let watchdog = o.timeout.map(|t| Watchdog::start(pidfd.clone(), t));
        let pumps = capture.map(|cap| cap.pump(o.output_cap.unwrap_or(u64::MAX), pidfd.clone()));
        let exit = match master {
            Some(m) => console::proxy(m, pid, &set).map(|code| {
                if code > 128 {
                    Exit::Signal(code - 128)
                } else {
                    Exit::Code(code)
                }
            })?,
            None => wait_status(pid, &set)?,
        };
        let timed_out = watchdog.map(Watchdog::finish).unwrap_or(false);
        tracing::debug!("sandbox: init reaped at {:?}", t0.elapsed());
        // Without a pid namespace of its own, processes can outlive the init:
        // kill what is left in the cgroup. With one, the init has just been
        // reaped, and the kernel reaps a namespace's init only after every
        // other process in it is gone (zap_pid_ns_processes), so there is
        // nothing to kill and the freeze/thaw is skipped. Either way delete's
        // rmdir of the cgroups falls back to libcontainer's killing delete if
        // any cgroup is still populated.
        if !owns_pid_namespace(spec)
            && let Ok(c) = self.load(id)
        {
            let _ = query::signal_all(&c, Signal::SIGKILL);
        }
        let mut stderr_tail = vec![];
        let output_exceeded = match pumps {
            Some((threads, exceeded)) => {
                for t in threads {
                    stderr_tail.extend(t.join().unwrap_or_default());
                }
                exceeded.load(Ordering::SeqCst)
            }
            None => false,
        };
        let cgroup: PathBuf = c
            .spec()
            .map(|s| s.cgroup_path)
            .unwrap_or_else(|_| PathBuf::from(format!("/{id}")));
        let usage = usage::read_usage(&cgroup);
        tracing::debug!("sandbox: usage read at {:?}", t0.elapsed());
        if !o.defer_delete {
            self.delete(id, true)?;
            tracing::debug!("sandbox: deleted at {:?}", t0.elapsed());
        }
        Ok(Outcome {
            exit,
            timed_out,
            output_exceeded,
            usage,
            stderr_tail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcontainer::oci_spec::runtime::{
        LinuxBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, SpecBuilder,
    };

    fn spec(ns: &[(LinuxNamespaceType, Option<&str>)]) -> Spec {
        let namespaces = ns
            .iter()
            .map(|(t, p)| {
                let b = LinuxNamespaceBuilder::default().typ(*t);
                match p {
                    Some(p) => b.path(PathBuf::from(p)),
                    None => b,
                }
                .build()
                .unwrap()
            })
            .collect::<Vec<_>>();
        SpecBuilder::default()
            .linux(
                LinuxBuilder::default()
                    .namespaces(namespaces)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn only_a_new_pid_namespace_counts() {
        use LinuxNamespaceType::{Mount, Network, Pid};
        assert!(owns_pid_namespace(&spec(&[(Mount, None), (Pid, None)])));
        assert!(!owns_pid_namespace(&spec(&[
            (Mount, None),
            (Network, None)
        ])));
        assert!(!owns_pid_namespace(&spec(&[(Pid, Some("/proc/1/ns/pid"))])));
        let mut no_linux = spec(&[]);
        no_linux.set_linux(None);
        assert!(!owns_pid_namespace(&no_linux));
    }
}
