//! Starts the kernel's wait for the first cgroup migration of a container
//! early, so it overlaps cagebox's own work instead of adding to it.
//!
//! Moving a process into a cgroup (a write to `cgroup.procs`) takes the
//! global `cgroup_threadgroup_rwsem` for writing, and the first writer after
//! a quiet period waits for a full RCU grace period (`rcu_sync_enter`):
//! ~10 ms on these machines, in every container start, inside libcgroups
//! (the intermediate process's `add_task`). For about one more grace period
//! after a writer is done, further writers do not wait.
//!
//! So `start` makes the container's own cgroup directory on one hierarchy
//! (the one libcgroups will use for it anyway) and forks a child that
//! writes itself into it and exits. The child waits out the grace period
//! while cagebox resolves the policy and builds the spec; when libcgroups
//! then moves the container's process, the wait is over. The directory is
//! the container's (same path, created with the same mode), so libcgroups
//! finds it and deletes it with the container; `finish` removes it if the
//! run failed before that, and reaps the child.
//!
//! Only a child of ours, only into a cgroup we created: nothing else on the
//! machine is touched. Any failure just means no overlap.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// The hierarchy whose directory for the container is made early: v1's
/// freezer (no accounting for the child to disturb), or the v2 root.
pub(crate) fn hierarchy() -> Option<PathBuf> {
    let root = Path::new(crate::sys::cgroupfs::CGROUP_ROOT);
    let freezer = root.join("freezer");
    if freezer.join("cgroup.procs").exists() {
        return Some(freezer);
    }
    root.join("cgroup.controllers")
        .exists()
        .then(|| root.to_path_buf())
}

/// `cgroups_path` below a hierarchy's root: only a plain absolute path
/// (not systemd's `slice:prefix:name`, not relative, no `.`/`..`).
fn relative(cgroups_path: &str) -> Option<&str> {
    let rel = cgroups_path.strip_prefix('/')?;
    if rel.is_empty()
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return None;
    }
    Some(rel)
}

/// Turns off the warm-up and the session keeper.
const NO_WARMUP: &str = "CAGEBOX_NO_CGROUP_WARMUP";

fn opted_out(vars: &[&str]) -> bool {
    vars.iter().any(|v| std::env::var_os(v).is_some())
}

pub struct Warmup {
    dir: PathBuf,
    child: Pid,
}

/// Starts the warm-up for a container whose cgroups path is `cgroups_path`
/// (absolute, as in the spec). None when it cannot be done here.
pub fn start(cgroups_path: &str) -> Option<Warmup> {
    // An opt-out, for measuring what the overlap saves (docs/benchmarks.md).
    if opted_out(&[NO_WARMUP]) {
        return None;
    }
    let dir = hierarchy()?.join(relative(cgroups_path)?);
    // SAFETY: the child only makes async-signal-safe calls (open, write,
    // _exit) on a C string made before the fork.
    let (dir, child) = unsafe {
        fork_into(dir, |procs| {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
        })
    }?;
    Some(Warmup { dir, child })
}

/// Makes the cgroup directory `dir` (a fresh one only: an existing one is
/// not ours to write into) and forks a child that runs `child` with the
/// path of its `cgroup.procs`. The directory and the child's pid, or None
/// (nothing left behind) when either step fails.
///
/// # Safety
/// `child` runs in the forked copy of a possibly multi-threaded process:
/// it may only make async-signal-safe calls on memory allocated before the
/// fork; the child `_exit`s when it returns.
unsafe fn fork_into(dir: PathBuf, child: impl FnOnce(&std::ffi::CStr)) -> Option<(PathBuf, Pid)> {
    fs::create_dir(&dir).ok()?;
    let Ok(procs) = std::ffi::CString::new(
        dir.join("cgroup.procs")
            .into_os_string()
            .into_encoded_bytes(),
    ) else {
        let _ = fs::remove_dir(&dir);
        return None;
    };
    // SAFETY: the caller's `child` keeps to async-signal-safe calls.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            child(&procs);
            // SAFETY: ends the forked child at once (async-signal-safe).
            unsafe { libc::_exit(0) }
        }
        Ok(ForkResult::Parent { child }) => Some((dir, child)),
        Err(_) => {
            let _ = fs::remove_dir(&dir);
            None
        }
    }
}

impl Drop for Warmup {
    /// Reaps the child and removes the directory if the container did not
    /// take it over (a run that failed early). Held until the container is
    /// created (or deleted); a directory still in use is left (rmdir
    /// refuses it).
    fn drop(&mut self) {
        // The child may already be reaped by the foreground wait loop.
        let _ = waitpid(self.child, Some(WaitPidFlag::__WALL));
        let _ = fs::remove_dir(&self.dir);
    }
}

/// How often the keeper moves itself: well inside the grace period or two
/// for which the kernel keeps migrations fast after the last one (~10 ms
/// here; measured: 5 ms halves the per-script cost, 20 ms saves less).
const KEEP_PERIOD_NS: libc::c_long = 5_000_000;

/// Keeps cgroup migrations fast for the length of a package-manager
/// session (`cagebox npm|pnpm`), whose scripts start their containers one
/// after another, each usually more than a grace period after the last:
/// without it every script's container pays the ~10-20 ms `rcu_sync_enter`
/// wait that `start` can only partly overlap.
///
/// A child process moves itself into a cgroup directory of its own (named
/// `name`, made here; `stale::sweep_sessions` removes those of a session
/// killed outright) every `KEEP_PERIOD_NS`, so `cgroup_threadgroup_rwsem`'s
/// `rcu_sync` never goes idle. This is what the cgroup mount option
/// `favordynmods` does for a whole machine ("reduce the latencies of
/// dynamic cgroup modifications such as task migrations ... at the cost of
/// making hot path operations such as forks and exits more expensive"),
/// here only while the session runs and without touching the host's mount.
/// Dropped (killed by pid, reaped, directory removed) when the session
/// ends; it dies with the session if that is killed outright
/// (PR_SET_PDEATHSIG). `CAGEBOX_NO_SESSION_KEEPER` (or
/// `CAGEBOX_NO_CGROUP_WARMUP`) turns it off.
pub struct Keeper {
    dir: PathBuf,
    child: Pid,
}

pub fn keep(name: &str) -> Option<Keeper> {
    // Opt-outs, for measuring what it saves (docs/benchmarks.md): this one
    // alone, or with the per-container warm-up.
    if opted_out(&["CAGEBOX_NO_SESSION_KEEPER", NO_WARMUP]) {
        return None;
    }
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let dir = hierarchy()?.join(name);
    let parent = nix::unistd::getpid().as_raw();
    let period = libc::timespec {
        tv_sec: 0,
        tv_nsec: KEEP_PERIOD_NS,
    };
    // SAFETY: the child only makes async-signal-safe calls (prctl, getppid,
    // open, write, nanosleep, _exit) on values made before the fork.
    let (dir, child) = unsafe {
        fork_into(dir, |procs| {
            // Die with the session; if it is already gone (it died before
            // prctl), stop now.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() != parent {
                return;
            }
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return;
            }
            while libc::write(fd, b"0".as_ptr().cast(), 1) == 1 {
                libc::nanosleep(&period, std::ptr::null_mut());
            }
        })
    }?;
    Some(Keeper { dir, child })
}

impl Drop for Keeper {
    fn drop(&mut self) {
        // Our own child, by pid; reaped before its directory is removed
        // (rmdir refuses a cgroup with a process in it).
        let _ = nix::sys::signal::kill(self.child, nix::sys::signal::Signal::SIGKILL);
        let _ = waitpid(self.child, None);
        let _ = fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_absolute_paths() {
        assert_eq!(relative("/cagebox-exec-1-ab"), Some("cagebox-exec-1-ab"));
        assert_eq!(relative("/a/b"), Some("a/b"));
        for bad in [
            "",
            "/",
            "a/b",
            "system.slice:docker:x",
            "/a/../b",
            "/a//b",
            "/.",
            "/a/",
        ] {
            assert_eq!(relative(bad), None, "{bad}");
        }
    }
}
