//! Removes what sandboxed runs of a `cagebox exec` that was killed
//! outright (SIGKILL, the OOM killer) left behind: it had no chance to run
//! its cleanup, though its container died with it (PR_SET_PDEATHSIG in
//! executor.rs).
//!
//! Every sandboxed run has a private bundle `<root>/.sandbox/<id>`, where
//! the id is `cagebox-exec-<pid>-<hex>` and `<pid>` the cagebox that ran it.
//! A later `cagebox exec` with the same state root removes the runs whose
//! cagebox is gone: the container (state dir, cgroups, through `delete
//! --force`), the bundle, and the rootfs skeleton. A pid that is alive,
//! even if reused by another program, is left alone: removing too little
//! is harmless, too much is not.

use std::fs;
use std::path::Path;

use crate::runtime::Runtime;

/// The pid in a sandbox id, if it is one.
fn owner(id: &str) -> Option<i32> {
    let rest = id.strip_prefix("cagebox-exec-")?;
    let (pid, hex) = rest.split_once('-')?;
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    pid.parse().ok().filter(|p| *p > 0)
}

fn gone(pid: i32) -> bool {
    let pid = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(pid, None) == Err(nix::errno::Errno::ESRCH)
}

/// Cleans up after dead runs under `rt.root`. Best effort: errors only mean
/// the next run tries again.
pub fn sweep(rt: &Runtime) {
    let base = rt.root.join(".sandbox");
    let Ok(entries) = fs::read_dir(&base) else {
        return;
    };
    let me = std::process::id() as i32;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(id) = name.to_str() else { continue };
        let Some(pid) = owner(id) else { continue };
        if pid == me || !gone(pid) {
            continue;
        }
        tracing::debug!("sandbox: removing {id}, left by a cagebox that is gone");
        let _ = rt.delete(id, true);
        for skeleton in [
            Path::new("/dev/shm").join(format!("{id}.rootfs")),
            std::env::temp_dir().join(format!("{id}.rootfs")),
        ] {
            // Only a directory of ours: empty mount points and symlinks.
            if fs::symlink_metadata(&skeleton).is_ok_and(|m| m.is_dir()) {
                let _ = fs::remove_dir_all(&skeleton);
            }
        }
        let _ = fs::remove_dir_all(e.path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sandbox_ids_have_an_owner() {
        assert_eq!(owner("cagebox-exec-1234-0a1b2c3d"), Some(1234));
        assert_eq!(owner("cagebox-exec-1234-"), None);
        assert_eq!(owner("cagebox-exec-x-0a"), None);
        assert_eq!(owner("cagebox-exec-0-0a"), None);
        assert_eq!(owner("mycontainer"), None);
        assert_eq!(owner("cagebox-exec-12-zz"), None);
    }
}
