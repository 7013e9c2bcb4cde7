//! `tmpcopyup`: a tmpfs mount that starts with the image's content.
//!
//! podman's `--read-only` (and `--tmpfs`) asks for tmpfs mounts with the
//! runc/crun extension option `tmpcopyup`, which libcontainer does not know.
//! cagebox strips the option and adds a createContainer hook, which runs in
//! the container's mount namespace after libcontainer mounted the tmpfs and
//! before pivot_root. The hook is cagebox itself (`cagebox copyup FD ROOTFS
//! DEST`): FD is a directory the parent opened on the image before the tmpfs
//! hid it; DEST is the mount destination, which the hook resolves again
//! inside ROOTFS. Both resolutions use RESOLVE_IN_ROOT: the hook runs in a
//! mount namespace that still shows the host's files, so a symlink in the
//! image (`/tmp -> /etc`) followed naively would make it overwrite the host's
//! /etc. The hook also refuses a destination that is not a tmpfs, creates
//! every entry new (O_EXCL, never following a symlink), and works below the
//! resolved directory's fd only. The FD is not CLOEXEC so the hook inherits
//! it; libcontainer marks every extra fd CLOEXEC before the container's own
//! process starts, so the container never sees it.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::{HookBuilder, HooksBuilder, Mount, Spec};
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};

const OPTION: &str = "tmpcopyup";

#[derive(Debug, thiserror::Error)]
pub enum CopyupError {
    #[error("tmpcopyup {dest}: {msg}")]
    Source { dest: String, msg: String },
    #[error("tmpcopyup: {0}")]
    Hook(String),
    #[error("copyup {path}: {source}")]
    Copy {
        path: String,
        source: std::io::Error,
    },
}

/// True when a mount asks for copy-up.
pub fn wants_copyup(m: &Mount) -> bool {
    m.typ().as_deref() == Some("tmpfs") && m.options().iter().flatten().any(|o| o == OPTION)
}

/// Removes the option from every mount; returns the destinations (pure).
pub fn strip(mounts: &mut [Mount]) -> Vec<PathBuf> {
    let mut dests = Vec::new();
    for m in mounts.iter_mut().filter(|m| wants_copyup(m)) {
        let opts: Vec<String> = m
            .options()
            .iter()
            .flatten()
            .filter(|o| *o != OPTION)
            .cloned()
            .collect();
        m.set_options(Some(opts));
        dests.push(m.destination().clone());
    }
    dests
}

/// Opens each destination inside the image (before any tmpfs covers it).
/// A destination the image does not have has nothing to copy.
pub fn open_sources(
    rootfs: &Path,
    dests: &[PathBuf],
) -> Result<Vec<(OwnedFd, PathBuf)>, CopyupError> {
    let root = open_root(rootfs)?;
    let mut out = Vec::new();
    for dest in dests {
        // No O_CLOEXEC: the createContainer hook must inherit it.
        match open_in_root(&root, dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY) {
            Ok(fd) => out.push((fd, dest.clone())),
            Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => {
                return Err(CopyupError::Source {
                    dest: dest.display().to_string(),
                    msg: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}

fn open_root(rootfs: &Path) -> Result<OwnedFd, CopyupError> {
    let fd = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| CopyupError::Source {
        dest: rootfs.display().to_string(),
        msg: e.to_string(),
    })?;
    // SAFETY: `open` just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `path` as if `root` were `/`: symlinks (absolute or `..`) cannot
/// leave the rootfs, and /proc magic links are refused.
fn open_in_root(root: &OwnedFd, path: &Path, flags: OFlag) -> Result<OwnedFd, nix::errno::Errno> {
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(std::os::fd::AsRawFd::as_raw_fd(root), path, how)?;
    // SAFETY: `openat2` just returned this descriptor; we own it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Prepends one createContainer hook per source to the spec.
pub fn add_hooks(
    spec: &mut Spec,
    rootfs: &Path,
    sources: &[(OwnedFd, PathBuf)],
) -> Result<(), CopyupError> {
    let exe = std::env::current_exe().map_err(|e| CopyupError::Hook(e.to_string()))?;
    let mut hooks = spec
        .hooks()
        .clone()
        .unwrap_or_else(|| HooksBuilder::default().build().unwrap_or_default());
    let mut create = Vec::new();
    for (fd, dest) in sources {
        let hook = HookBuilder::default()
            .path(exe.clone())
            .args(vec![
                "cagebox".to_string(),
                "copyup".to_string(),
                std::os::fd::AsRawFd::as_raw_fd(fd).to_string(),
                rootfs.display().to_string(),
                dest.display().to_string(),
            ])
            .build()
            .map_err(|e| CopyupError::Hook(e.to_string()))?;
        create.push(hook);
    }
    create.extend(hooks.create_container().clone().unwrap_or_default());
    hooks.set_create_container(Some(create));
    spec.set_hooks(Some(hooks));
    Ok(())
}

/// The hook: copies the tree behind `fd` into the tmpfs at `dest` inside
/// `rootfs`, keeping modes, owners and symlinks (copied, never followed).
pub fn run(fd: RawFd, rootfs: &Path, dest: &Path) -> Result<(), CopyupError> {
    let root = open_root(rootfs)?;
    let target = open_in_root(
        &root,
        dest,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
    )
    .map_err(|e| CopyupError::Source {
        dest: dest.display().to_string(),
        msg: e.to_string(),
    })?;
    let fs_type = nix::sys::statfs::fstatfs(&target).map_err(|e| CopyupError::Source {
        dest: dest.display().to_string(),
        msg: e.to_string(),
    })?;
    if fs_type.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
        return Err(CopyupError::Source {
            dest: dest.display().to_string(),
            msg: "is not a tmpfs inside the rootfs; refusing to copy".into(),
        });
    }
    let src = PathBuf::from(format!("/proc/self/fd/{fd}"));
    let dst = PathBuf::from(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&target)
    ));
    let meta = fs::metadata(&src).map_err(io_err(&src))?;
    copy_tree(&src, &dst)?;
    set_owner_mode(&dst, &meta)
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> CopyupError + '_ {
    move |source| CopyupError::Copy {
        path: path.display().to_string(),
        source,
    }
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), CopyupError> {
    for entry in fs::read_dir(src).map_err(io_err(src))? {
        let entry = entry.map_err(io_err(src))?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        let meta = fs::symlink_metadata(&from).map_err(io_err(&from))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            fs::create_dir(&to).map_err(io_err(&to))?;
            copy_tree(&from, &to)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&from).map_err(io_err(&from))?;
            std::os::unix::fs::symlink(&target, &to).map_err(io_err(&to))?;
            std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid()))
                .map_err(io_err(&to))?;
            continue;
        } else if ft.is_file() {
            let mut input = fs::File::open(&from).map_err(io_err(&from))?;
            // create_new: O_EXCL, so an existing entry (or a symlink planted
            // there) is never written through.
            let mut output = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&to)
                .map_err(io_err(&to))?;
            std::io::copy(&mut input, &mut output).map_err(io_err(&to))?;
        } else {
            // Devices, fifos and sockets in a tmp dir of an image are not
            // content; crun skips them as well.
            continue;
        }
        set_owner_mode(&to, &meta)?;
    }
    Ok(())
}

fn set_owner_mode(path: &Path, meta: &fs::Metadata) -> Result<(), CopyupError> {
    std::os::unix::fs::lchown(path, Some(meta.uid()), Some(meta.gid())).map_err(io_err(path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() & 0o7777))
        .map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcontainer::oci_spec::runtime::MountBuilder;

    #[test]
    fn strip_removes_only_tmpcopyup_from_tmpfs() {
        let mut mounts = vec![
            MountBuilder::default()
                .destination("/tmp")
                .typ("tmpfs")
                .options(vec!["rw".into(), "tmpcopyup".into(), "size=1m".into()])
                .build()
                .unwrap(),
            MountBuilder::default()
                .destination("/data")
                .typ("bind")
                .options(vec!["rbind".into()])
                .build()
                .unwrap(),
        ];
        assert_eq!(strip(&mut mounts), vec![PathBuf::from("/tmp")]);
        assert_eq!(
            mounts[0].options().as_ref().unwrap(),
            &vec!["rw".to_string(), "size=1m".to_string()]
        );
        assert!(!wants_copyup(&mounts[0]));
    }

    #[test]
    fn copies_a_tree_with_symlinks_without_following_them() {
        let base = std::env::temp_dir().join(format!("cagebox-copyup-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let rootfs = base.join("rootfs");
        fs::create_dir_all(rootfs.join("tmp/sub")).unwrap();
        fs::write(rootfs.join("tmp/sub/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/shadow", rootfs.join("tmp/link")).unwrap();
        // A symlinked destination must resolve inside the rootfs.
        std::os::unix::fs::symlink("/etc", rootfs.join("evil")).unwrap();
        fs::create_dir_all(rootfs.join("etc")).unwrap();
        let srcs = open_sources(
            &rootfs,
            &[
                PathBuf::from("/tmp"),
                PathBuf::from("/evil"),
                PathBuf::from("/none"),
            ],
        )
        .unwrap();
        assert_eq!(srcs.len(), 2);
        let fd0 = std::os::fd::AsRawFd::as_raw_fd(&srcs[0].0);
        let dst = base.join("dst");
        fs::create_dir(&dst).unwrap();
        copy_tree(Path::new(&format!("/proc/self/fd/{fd0}")), &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("sub/f")).unwrap(), "x");
        assert_eq!(
            fs::read_link(dst.join("link")).unwrap(),
            PathBuf::from("/etc/shadow")
        );
        // The source of /evil is the rootfs's own (empty) etc, not the host's.
        let fd1 = std::os::fd::AsRawFd::as_raw_fd(&srcs[1].0);
        assert_eq!(
            fs::read_dir(format!("/proc/self/fd/{fd1}"))
                .unwrap()
                .count(),
            0
        );
        // Not a tmpfs: refused (the real copy is exercised in integration/).
        let e = run(fd0, &rootfs, Path::new("/tmp")).unwrap_err();
        assert!(e.to_string().contains("not a tmpfs"), "{e}");
        // A destination symlinked to a host path resolves inside the rootfs.
        let host_side = base.join("host-side");
        fs::create_dir(&host_side).unwrap();
        std::os::unix::fs::symlink(&host_side, rootfs.join("escape")).unwrap();
        let e = run(fd0, &rootfs, Path::new("/escape")).unwrap_err();
        assert!(e.to_string().contains("/escape"), "{e}");
        assert_eq!(
            fs::read_dir(&host_side).unwrap().count(),
            0,
            "wrote outside the rootfs"
        );
        fs::remove_dir_all(&base).unwrap();
    }
}
