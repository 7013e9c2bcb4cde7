//! Deleting a finished script's container after its shell has exited, so
//! the package manager starts the next script meanwhile.
//!
//! A script's shell (wrap/script.rs) has nothing left to tell once the
//! record is written: the container's init is reaped and its usage read.
//! What remains (its cgroups in every hierarchy, the state dir, bundle and
//! rootfs skeleton: ~3 ms) then only delayed the package manager, which
//! waits for the shell to exit. So the shell forks a child for it and exits.
//!
//! Nothing is left behind, and nothing is deleted twice at once:
//! - the child is marked in `<root>/.cleanup/<id>` (its pid) before it
//!   starts, and removes the mark when done; a later run's stale sweep
//!   (stale.rs) leaves a marked run whose child is alive alone;
//! - every script's shell holds its session's lock shared (`hold`) for
//!   its whole life, and the child keeps it; the wrapper (`cagebox
//!   npm|pnpm`) waits, before it returns, until it can take it exclusive
//!   (`wait_session`: no shell and no child of one left, also shells the
//!   manager did not wait for), then removes itself what a child that
//!   died (SIGKILL) left (`wait`);
//! - the child is in a session of its own, with stdio on /dev/null and no
//!   other fd: the manager's pipes close when the shell exits, and a
//!   Ctrl-C to the manager's process group does not interrupt it.
//!
//! Only where fork is safe (one thread); otherwise, and whenever anything
//! fails, the deletion happens in the shell as before (`finish`).

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::unistd::{ForkResult, fork};

use super::stale;
use crate::runtime::Runtime;

/// The marks' directory inside the state root (dot-named: `list` skips it).
const DIR: &str = ".cleanup";

/// How long the wrapper waits for its scripts' deletions (each takes
/// milliseconds; a stuck one is left to the next run's stale sweep).
pub const WAIT: Duration = Duration::from_secs(30);

/// A finished sandboxed run not yet deleted.
pub struct Pending {
    pub(crate) root: PathBuf,
    pub(crate) id: String,
}

fn mark_path(root: &Path, id: &str) -> PathBuf {
    root.join(DIR).join(id)
}

/// Whether `pid` is a live process (not gone, not a zombie waiting to be
/// reaped by whoever inherited it).
fn alive(pid: i32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // pid (comm) STATE ...: comm may hold spaces and parentheses.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .is_some_and(|s| s != 'Z' && s != 'X')
}

fn mark_pid(root: &Path, id: &str) -> Option<i32> {
    fs::read_to_string(mark_path(root, id))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether run `id` is being deleted by a live child of its shell.
pub(crate) fn cleaning(root: &Path, id: &str) -> bool {
    mark_pid(root, id).is_some_and(alive)
}

pub(crate) fn unmark(root: &Path, id: &str) {
    let _ = fs::remove_file(mark_path(root, id));
}

fn single_threaded() -> bool {
    fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1)
}

impl Pending {
    /// Deletes the run now, in this process.
    pub fn finish(self) {
        stale::remove_run(&Runtime::new(self.root.clone()), &self.id);
    }

    /// Deletes the run in a child that outlives this process; the child
    /// keeps `hold` (a session's `hold` lock) open until it is done.
    pub fn detach(self, hold: Option<&fs::File>) {
        let dir = self.root.join(DIR);
        let made = fs::DirBuilder::new().mode(0o700).create(&dir);
        if (made.is_err() && !dir.is_dir()) || !single_threaded() {
            return self.finish();
        }
        let Ok((ready_r, ready_w)) = nix::unistd::pipe() else {
            return self.finish();
        };
        // SAFETY: this process has one thread (checked just above; nothing
        // in between starts one), so the child may allocate and call
        // anything; it ends with _exit.
        match unsafe { fork() } {
            Err(_) => self.finish(),
            Ok(ForkResult::Child) => {
                drop(ready_w);
                // Start once the parent has written the mark (EOF: it
                // closed its end, or exited).
                let mut b = [0u8; 1];
                let _ = nix::unistd::read(std::os::fd::AsRawFd::as_raw_fd(&ready_r), &mut b);
                drop(ready_r);
                let _ = nix::unistd::setsid();
                detach_fds(hold.map(std::os::fd::AsRawFd::as_raw_fd));
                self.finish();
                // SAFETY: ends the child without running the parent's
                // atexit handlers or flushing its copied stdio buffers.
                unsafe { libc::_exit(0) }
            }
            Ok(ForkResult::Parent { child }) => {
                drop(ready_r);
                let mark = mark_path(&self.root, &self.id);
                let write = || fs::write(&mark, format!("{child}\n"));
                // The directory may have just been removed by a wrapper's
                // `wait` (it removes it when empty): make it again, once.
                let written = write().is_ok()
                    || (fs::DirBuilder::new().mode(0o700).create(&dir).is_ok() && write().is_ok());
                if !written {
                    // Without a mark a stale sweep could race the child;
                    // harmless (both delete the same stopped run), noted.
                    tracing::debug!("no cleanup mark for {}", self.id);
                }
                drop(ready_w);
            }
        }
    }
}

/// The child's stdio on /dev/null, every other fd closed but `keep` (as
/// fd 3), so it holds nothing of the package manager's (its pipes would
/// stay open).
fn detach_fds(keep: Option<i32>) {
    use std::os::fd::AsRawFd;
    let mut first_closed = 3u32;
    if let Some(k) = keep
        && nix::unistd::dup2(k, 3).is_ok()
    {
        first_closed = 4;
    }
    if let Ok(null) = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
        }
    }
    // SAFETY: plain syscall on fd numbers; nothing in this process uses
    // those fds afterwards (remove_run opens its own).
    unsafe {
        libc::syscall(libc::SYS_close_range, first_closed, u32::MAX, 0u32);
    }
}

/// The lock file in a wrapper's session directory that every script's
/// shell (and the child it leaves to delete its container) holds shared.
const HOLD: &str = "scripts.lock";

/// Taken by a script's shell for its whole life: the wrapper's
/// `wait_session` returns once no shell of its session and no child of
/// one is left, including shells the manager did not wait for (pnpm exits
/// on the first failed script while others still run). None if the lock
/// cannot be had (the wrapper is already past waiting).
pub fn hold(session: &Path) -> Option<fs::File> {
    use std::os::fd::AsRawFd;
    let f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(session.join(HOLD))
        .ok()?;
    // SAFETY: flock on an fd this function owns; no memory is involved.
    let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    (rc == 0).then_some(f)
}

/// Waits (at most `WAIT`) until no script's shell of the session in
/// `session` and no child of one holds its lock, then deletes what such a
/// child killed before it finished left in `rt`'s state root. False if
/// some were still running when the wait ended.
pub fn wait_session(session: &Path, rt: &Runtime) -> bool {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + WAIT;
    let mut done = false;
    if let Ok(f) = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(session.join(HOLD))
    {
        loop {
            // SAFETY: flock on an fd this function owns.
            if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                done = true;
                break;
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // The exclusive lock stays until the session directory is removed,
        // so a shell starting now (a straggler) runs unheld and deletes
        // its container itself.
        std::mem::forget(f);
    }
    wait(rt);
    done
}

/// Waits until no run in `rt`'s state root is being deleted by a live
/// child (at most `WAIT`), then deletes itself those whose child died.
pub fn wait(rt: &Runtime) {
    let dir = rt.root.join(DIR);
    let marks = || -> Vec<(String, Option<i32>)> {
        fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .map(|id| {
                        let pid = mark_pid(&rt.root, &id);
                        (id, pid)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + WAIT;
    while marks().iter().any(|(_, p)| p.is_some_and(alive)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    for (id, pid) in marks() {
        if !pid.is_some_and(alive) {
            stale::remove_run(rt, &id);
        }
    }
    let _ = fs::remove_dir(&dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_from_proc() {
        assert!(alive(std::process::id() as i32));
        assert!(!alive(i32::MAX));
        // A zombie (exited, not reaped yet) is not alive.
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let pid = c.id() as i32;
        let t0 = Instant::now();
        while alive(pid) && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!alive(pid), "an exited child counts as alive");
        c.wait().unwrap();
    }
}
