//! Removing a stopped container without libcontainer's per-controller work
//! (`delete` of a stopped container: every foreground `run`, podman's and
//! containerd's `delete`).
//!
//! libcontainer's delete builds a cgroup v1 manager, which parses
//! /proc/self/mountinfo once per controller (a dozen times here), about 3 ms
//! of every `run`. For the common case (a stopped container, cgroupfs, no
//! Intel RDT) cagebox does the same steps in the same order from one parse:
//! remove the container's cgroup directory on every cgroup hierarchy, run the
//! poststop hooks, remove the state directory. Anything else, or any
//! directory that will not go, falls back to libcontainer's delete.

use std::fs;
use std::path::Path;
use std::time::Duration;

use libcontainer::container::{Container, ContainerStatus};

use super::{RuntimeError, chain};

/// rmdir with a short retry: a cgroup whose last task just exited can stay
/// busy for a moment. A cgroup that still has processes (a container without
/// its own pid namespace leaves its init's children behind) is not retried:
/// libcontainer's delete kills them.
fn rmdir_retry(dir: &Path) -> bool {
    for delay in [0u64, 2, 5, 10, 20, 50] {
        std::thread::sleep(Duration::from_millis(delay));
        match fs::remove_dir(dir) {
            Ok(()) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) => {
                let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                if !procs.trim().is_empty() {
                    return false;
                }
            }
        }
    }
    false
}

/// Returns Ok(true) when the container is gone, Ok(false) when the caller
/// must use libcontainer's delete instead (nothing irreversible was skipped:
/// libcontainer's delete handles an already partly removed container).
pub fn remove_stopped(c: &Container) -> Result<bool, RuntimeError> {
    if c.status() != ContainerStatus::Stopped || c.systemd() || c.intel_rdt_dir().is_some() {
        return Ok(false);
    }
    let Ok(cfg) = c.spec() else {
        return Ok(false);
    };
    let Ok(rel) = cfg.cgroup_path.strip_prefix("/") else {
        return Ok(false);
    };
    if rel.as_os_str().is_empty() {
        return Ok(false);
    }
    let Some(mounts) =
        crate::sys::features::current_cgroup_layout().and_then(|l| l.container_hierarchies())
    else {
        return Ok(false);
    };
    for m in mounts {
        let dir = m.join(rel);
        if dir.exists() && !rmdir_retry(&dir) {
            return Ok(false);
        }
    }
    if let Some(hooks) = cfg.hooks.as_ref() {
        libcontainer::hooks::run_hooks(hooks.poststop().as_ref(), Some(&c.state), None, None, None)
            .map_err(|e| RuntimeError::Invalid(format!("poststop hook: {}", chain(&e))))?;
    }
    fs::remove_dir_all(&c.root)
        .map_err(|e| RuntimeError::Invalid(format!("remove {}: {e}", c.root.display())))?;
    Ok(true)
}
