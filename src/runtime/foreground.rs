//! Foreground `run`: wait for the container's init, forwarding signals.
//!
//! Signals are blocked *before* the container is created (see
//! `block_signals`), so neither a SIGCHLD from an init that exits at once nor
//! a SIGTERM sent while the container starts can be lost: both stay pending
//! until `wait_and_forward` collects them with sigwait. (libcontainer 0.7's
//! own loop blocks after start and can miss the SIGCHLD, hanging forever.)
//! The executor resets the mask inside the container before exec.

use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum ForegroundError {
    #[error("cannot block signals: {0}")]
    Block(Errno),
    #[error("waiting for signals failed: {0}")]
    Wait(Errno),
    #[error("container process {0} is not a child of cagebox")]
    NotChild(i32),
}

/// Blocks every signal that can be blocked and returns the set.
pub fn block_signals() -> Result<SigSet, ForegroundError> {
    let set = SigSet::all();
    set.thread_block().map_err(ForegroundError::Block)?;
    Ok(set)
}

/// Shell convention for the exit status of a process: its code, or 128+signal.
pub fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(128 + sig as i32),
        _ => None,
    }
}

/// Waits until `init` exits, forwarding every other signal to it. Returns
/// the shell-style exit code.
pub fn wait_and_forward(init: Pid, set: &SigSet) -> Result<i32, ForegroundError> {
    let status = wait_status_forwarding(init, set)?;
    exit_code(status).ok_or(ForegroundError::NotChild(init.as_raw()))
}

/// `wait_and_forward`, keeping whether init exited or was killed.
pub fn wait_status_forwarding(init: Pid, set: &SigSet) -> Result<WaitStatus, ForegroundError> {
    // The init may already have exited before we got here: reap first.
    if let Some(status) = reap_status(init)? {
        return Ok(status);
    }
    loop {
        let sig = set.wait().map_err(ForegroundError::Wait)?;
        match sig {
            Signal::SIGCHLD => {
                if let Some(status) = reap_status(init)? {
                    return Ok(status);
                }
            }
            // Go runtimes use SIGURG internally; runc does not forward it.
            Signal::SIGURG => {}
            other => {
                // The init may be gone already; its exit arrives as SIGCHLD.
                let _ = kill(init, other);
            }
        }
    }
}

/// Reaps exited children without blocking; returns init's exit code once it
/// has exited. Other children (re-parented orphans) are reaped and ignored.
pub fn reap(init: Pid) -> Result<Option<i32>, ForegroundError> {
    Ok(reap_status(init)?.and_then(exit_code))
}

/// `reap`, keeping whether init exited or was killed by a signal.
pub fn reap_status(init: Pid) -> Result<Option<WaitStatus>, ForegroundError> {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(status) => {
                if status.pid() == Some(init) && exit_code(status).is_some() {
                    return Ok(Some(status));
                }
            }
            // No children at all: the init was reaped elsewhere and its
            // status is unknown.
            Err(Errno::ECHILD) => return Err(ForegroundError::NotChild(init.as_raw())),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(ForegroundError::Wait(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_follows_shell_convention() {
        let pid = Pid::from_raw(1);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 3)), Some(3));
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            Some(137)
        );
        assert_eq!(exit_code(WaitStatus::StillAlive), None);
    }
}
