//! Session keyring isolation (runc's default; `--no-new-keyring` turns it off).
//!
//! Without a new session keyring every container shares the caller's, so keys
//! one container adds are visible to the next. cagebox joins a fresh,
//! anonymous-per-container session keyring in its own process just before it
//! creates the container; the container's processes inherit it. Doing it here,
//! outside the container, means a seccomp profile that denies keyctl (as
//! Docker's and podman's do) cannot get in the way.

use nix::errno::Errno;

const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;

#[derive(Debug, thiserror::Error)]
#[error("cannot join a new session keyring: {0}")]
pub struct KeyringError(Errno);

/// Joins a new session keyring named `_ses.<id>`. Kernels without keyrings
/// (ENOSYS) and user namespaces that may not create one (EACCES/EPERM) are
/// tolerated like runc does: there is no shared keyring to isolate from then.
pub fn join_new_session(id: &str) -> Result<(), KeyringError> {
    let Ok(name) = std::ffi::CString::new(format!("_ses.{id}")) else {
        return Err(KeyringError(Errno::EINVAL));
    };
    // SAFETY: keyctl(KEYCTL_JOIN_SESSION_KEYRING, name) reads a NUL-terminated
    // string that outlives the call and touches no other memory of ours.
    let rc = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if rc >= 0 {
        return Ok(());
    }
    match Errno::last() {
        Errno::ENOSYS | Errno::EACCES | Errno::EPERM => {
            tracing::warn!("session keyring not isolated: {}", Errno::last());
            Ok(())
        }
        e => Err(KeyringError(e)),
    }
}
