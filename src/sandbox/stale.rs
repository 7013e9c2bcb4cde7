//! Removes what sandboxed runs of a `cagebox exec` that was killed
//! outright (SIGKILL, the OOM killer) left behind: it had no chance to run
//! its cleanup, though its container died with it (PR_SET_PDEATHSIG in
//! executor.rs).
//!
//! Every sandboxed run is named `cagebox-exec-<pid>-<hex>`, `<pid>` being
//! the cagebox that ran it, and leaves by that name: the container's state
//! dir `<root>/<id>` and its cgroups, the private bundle
//! `/dev/shm/<id>.bundle` (or `<root>/.sandbox/<id>` when /dev/shm is not a
//! tmpfs) and the rootfs skeleton `/dev/shm/<id>.rootfs` (or in the temp
//! dir). A cagebox killed before its container existed leaves only the
//! cgroup directory its warm-up made (runtime/warmup.rs: freezer on v1, the
//! v2 root otherwise). A later `cagebox exec` removes the runs whose cagebox is gone:
//! the container through `delete --force` on its own state root, the rest
//! by name. A pid that is alive, even if reused by another program, is left
//! alone: removing too little is harmless, too much is not. So is a
//! finished run whose shell left a live child to delete it (deferred.rs).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::runtime::Runtime;

/// The pid in a sandbox id, if it is one.
fn owner(id: &str) -> Option<i32> {
    owner_with(id, "cagebox-exec-")
}

/// The pid in `<prefix><pid>-<hex>`.
fn owner_with(name: &str, prefix: &str) -> Option<i32> {
    let rest = name.strip_prefix(prefix)?;
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

/// The sandbox ids named in `dir` (entries `ID` + one of `suffixes`).
fn ids_in(dir: &Path, suffixes: &[&str], out: &mut BTreeSet<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with("cagebox-exec-") {
            continue;
        }
        for s in suffixes {
            if let Some(id) = name.strip_suffix(s)
                && owner(id).is_some()
            {
                out.insert(id.to_string());
            }
        }
    }
}

/// Removes `p` if it is a directory (not a symlink someone put there)
/// owned by this user: /dev/shm and the temp dir are shared.
fn remove_dir(p: &Path) {
    use std::os::unix::fs::MetadataExt;
    let euid = nix::unistd::geteuid().as_raw();
    if fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == euid) {
        let _ = fs::remove_dir_all(p);
    }
}

/// Removes the cgroup directory `p` if it is one of this user's and empty
/// (rmdir refuses a populated cgroup; cgroupfs has no files to unlink).
fn remove_empty_cgroup(p: &Path) {
    use std::os::unix::fs::MetadataExt;
    let euid = nix::unistd::geteuid().as_raw();
    if fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == euid) {
        let _ = fs::remove_dir(p);
    }
}

/// Removes the session directories `<dir>/cagebox-wrap-<pid>-<hex>` of
/// `cagebox npm|pnpm|cargo` runs whose cagebox is gone (wrap/npm.rs), and
/// the (empty) cgroup directory of the same name their keeper used
/// (runtime/warmup.rs `keep`).
pub fn sweep_sessions(dir: &Path) {
    sessions_in(dir, remove_dir);
    if let Some(h) = crate::runtime::warmup::hierarchy() {
        sessions_in(&h, remove_empty_cgroup);
    }
}

fn sessions_in(dir: &Path, remove: fn(&Path)) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| owner_with(n, "cagebox-wrap-")) else {
            continue;
        };
        if pid != std::process::id() as i32 && gone(pid) {
            remove(&e.path());
        }
    }
}

/// Cleans up after dead runs. Best effort: errors only mean the next run
/// tries again.
pub fn sweep(rt: &Runtime) {
    let shm = Path::new("/dev/shm");
    let sandbox = rt.root.join(".sandbox");
    let mut ids = BTreeSet::new();
    ids_in(&rt.root, &[""], &mut ids);
    ids_in(&sandbox, &[""], &mut ids);
    ids_in(shm, &[".bundle", ".rootfs"], &mut ids);
    let warm = crate::runtime::warmup::hierarchy();
    if let Some(h) = &warm {
        ids_in(h, &[""], &mut ids);
    }
    let me = std::process::id() as i32;
    for id in ids {
        let Some(pid) = owner(&id) else { continue };
        // A finished run whose cagebox has exited is still being deleted
        // by the child it left to do that (deferred.rs): leave it.
        if pid == me || !gone(pid) || super::deferred::cleaning(&rt.root, &id) {
            continue;
        }
        tracing::debug!("sandbox: removing {id}, left by a cagebox that is gone");
        remove_run(rt, &id);
    }
}

/// Removes everything the sandboxed run `id` leaves, by name: its
/// container (`delete --force`), bundle, rootfs skeleton, the warm-up's
/// cgroup directory and a deferred-cleanup marker.
pub(crate) fn remove_run(rt: &Runtime, id: &str) {
    let shm = Path::new("/dev/shm");
    if rt.root.join(id).exists() {
        let _ = rt.delete(id, true);
    }
    remove_dir(&shm.join(format!("{id}.rootfs")));
    remove_dir(&std::env::temp_dir().join(format!("{id}.rootfs")));
    remove_dir(&shm.join(format!("{id}.bundle")));
    remove_dir(&rt.root.join(".sandbox").join(id));
    // After delete: what is left is the warm-up's directory of a run
    // killed before its container existed.
    if let Some(h) = crate::runtime::warmup::hierarchy() {
        remove_empty_cgroup(&h.join(id));
    }
    super::deferred::unmark(&rt.root, id);
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
        assert_eq!(owner_with("cagebox-wrap-77-ff", "cagebox-wrap-"), Some(77));
        assert_eq!(owner_with("cagebox-wrap-77-ff", "cagebox-exec-"), None);
    }
}
