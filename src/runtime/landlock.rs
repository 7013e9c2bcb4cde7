//! Landlock rules carried in the spec, applied by the executor before exec.
//!
//! OCI has no field for Landlock, so the rules travel as JSON in the
//! `io.cagebox.landlock` annotation; clients that do not know cagebox pass it
//! through untouched. The executor reads it inside the container (after
//! pivot_root, so paths are the container's) and restricts itself just before
//! the seccomp filter and execve; the domain is inherited by everything the
//! program starts and cannot be lifted.
//!
//! Kernel behaviour worth knowing when writing rules:
//! - Landlock checks access when a file is opened, not on descriptors that
//!   are already open: stdio inherited from the runtime keeps working, but a
//!   program that opens `/dev/null` for writing needs it in `write`.
//! - execve opens the program (and its ELF interpreter) for reading *and*
//!   executing: with `read` restricted, what is executed must be readable
//!   too, and so must the shared libraries it maps.
//! - A script's interpreter (`#!/bin/sh`) is executed as well and must be in
//!   `exec`; only the dynamic loader is added automatically (see
//!   [`dynamic_loaders`]).

use std::collections::BTreeSet;
use std::fs;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, make_bitflags,
};
use libcontainer::oci_spec::runtime::Spec;
use nix::errno::Errno;
use nix::sys::stat::{SFlag, fstat};
use serde::{Deserialize, Serialize};

/// The spec annotation that carries [`LandlockRules`] as JSON.
pub const ANNOTATION: &str = "io.cagebox.landlock";

/// The newest ABI whose rights cagebox has vetted. Rights are masked with it
/// so a crate update can never make cagebox handle (deny) a right nobody has
/// tested; the crate downgrades further at run time, to the kernel's ABI, only
/// in best-effort mode.
const TARGET_ABI: ABI = ABI::V5;

/// `LANDLOCK_CREATE_RULESET_VERSION` from linux/landlock.h (not in libc).
const CREATE_RULESET_VERSION: libc::c_uint = 1;

/// Which accesses Landlock restricts inside the container, and where they
/// remain allowed. Every list entry is an absolute path in the container; a
/// rule on a directory covers everything beneath it, a rule on a file covers
/// that file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandlockRules {
    /// Reading files and listing directories (ReadFile, ReadDir).
    /// Default: not restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Vec<PathBuf>>,
    /// Opening files for writing and truncating them (WriteFile, Truncate
    /// from ABI 3). Default: not restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<Vec<PathBuf>>,
    /// Executing files (Execute); the dynamic loader is added automatically.
    /// Default: not restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<PathBuf>>,
    /// Creating files, directories, links, fifos, sockets and device nodes
    /// (MakeReg, MakeDir, MakeSym, MakeFifo, MakeSock, MakeChar, MakeBlock),
    /// and moving or linking files between directories (Refer, ABI 2); only
    /// directories make sense here. Default: not restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<Vec<PathBuf>>,
    /// Unlinking files and removing directories (RemoveFile, RemoveDir);
    /// only directories make sense here. Default: not restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<Vec<PathBuf>>,
    /// false (default): every requested right must be enforced and every
    /// listed path must exist, or the exec fails (fail closed).
    /// true (policy `degrade = "warn"`): best effort on older kernels, and
    /// listed paths that do not exist are skipped (which only denies more).
    #[serde(default)]
    pub best_effort: bool,
}

/// How much of the requested restriction the kernel enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    /// Every requested right is enforced.
    Full,
    /// Best effort: the kernel lacks some of the requested rights.
    Partial,
    /// Best effort: the kernel has no (usable) Landlock; nothing is enforced.
    None,
}

#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    #[error("annotation {ANNOTATION}: {0}")]
    Annotation(String),
    #[error("landlock: {right} rule {}: not an absolute path", .path.display())]
    RelativePath { right: &'static str, path: PathBuf },
    #[error("landlock: {right} rule {}: {reason}", .path.display())]
    Path {
        right: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "landlock: {right} rights cannot be enforced on this kernel (Landlock ABI {abi}): {reason}"
    )]
    Unsupported {
        right: &'static str,
        abi: String,
        reason: String,
    },
    #[error("landlock: cannot create the ruleset: {0}")]
    Ruleset(String),
    #[error("landlock: cannot restrict the process: {0}")]
    Restrict(String),
}

/// The five categories of [`LandlockRules`], in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Exec,
    Create,
    Remove,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Read,
        Kind::Write,
        Kind::Exec,
        Kind::Create,
        Kind::Remove,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Exec => "exec",
            Kind::Create => "create",
            Kind::Remove => "remove",
        }
    }

    fn paths(self, rules: &LandlockRules) -> Option<&[PathBuf]> {
        match self {
            Kind::Read => rules.read.as_deref(),
            Kind::Write => rules.write.as_deref(),
            Kind::Exec => rules.exec.as_deref(),
            Kind::Create => rules.create.as_deref(),
            Kind::Remove => rules.remove.as_deref(),
        }
    }

    /// The rights this category makes the ruleset handle (deny by default).
    ///
    /// Restricting create or remove also handles Refer: moving or linking a
    /// file into another directory creates an entry there and removes one
    /// from its source, so a ruleset that restricted Make*/Remove* but left
    /// reparenting to the kernel's default could not say where it is allowed.
    fn handled(self) -> BitFlags<AccessFs> {
        let rights = match self {
            Kind::Read => make_bitflags!(AccessFs::{ReadFile | ReadDir}),
            Kind::Write => make_bitflags!(AccessFs::{WriteFile | Truncate}),
            Kind::Exec => make_bitflags!(AccessFs::{Execute}),
            Kind::Create => make_bitflags!(AccessFs::{
                MakeReg | MakeDir | MakeSym | MakeFifo | MakeSock | MakeChar | MakeBlock | Refer
            }),
            Kind::Remove => make_bitflags!(AccessFs::{RemoveFile | RemoveDir | Refer}),
        };
        rights & AccessFs::from_all(TARGET_ABI)
    }

    /// The rights a rule of this category grants beneath its path.
    ///
    /// Refer is granted with `create` only, never with `remove`: reparenting
    /// needs Refer on both the source and the destination directory, and the
    /// kernel still checks Make* at the destination, Remove* at the source,
    /// and that the moved file gains no right it lacked where it was. So
    /// reparenting stays within what the create rules allow, never more.
    fn granted(self) -> BitFlags<AccessFs> {
        match self {
            Kind::Remove => self.handled() & !AccessFs::Refer,
            Kind::Read | Kind::Write | Kind::Exec | Kind::Create => self.handled(),
        }
    }
}

/// The rights the kernel accepts on a rule whose path is not a directory.
fn file_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{ReadFile | WriteFile | Execute | Truncate})
}

impl LandlockRules {
    /// Checks what can be checked outside the container: every path is
    /// absolute (a relative one would depend on the process's cwd).
    pub fn validate(&self) -> Result<(), LandlockError> {
        for kind in Kind::ALL {
            for path in kind.paths(self).unwrap_or_default() {
                if !path.is_absolute() {
                    return Err(LandlockError::RelativePath {
                        right: kind.name(),
                        path: path.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// True when no category is restricted: nothing to apply.
    pub fn is_unrestricted(&self) -> bool {
        Kind::ALL.iter().all(|k| k.paths(self).is_none())
    }
}

/// The rules in the spec's annotation, if any.
pub fn from_spec(spec: &Spec) -> Result<Option<LandlockRules>, LandlockError> {
    let Some(text) = spec.annotations().as_ref().and_then(|a| a.get(ANNOTATION)) else {
        return Ok(None);
    };
    let rules: LandlockRules =
        serde_json::from_str(text).map_err(|e| LandlockError::Annotation(e.to_string()))?;
    rules.validate()?;
    Ok(Some(rules))
}

/// The annotation's value for `rules`.
pub fn to_annotation(rules: &LandlockRules) -> Result<String, LandlockError> {
    rules.validate()?;
    serde_json::to_string(rules).map_err(|e| LandlockError::Annotation(e.to_string()))
}

/// The kernel's Landlock ABI version, or None without (enabled) Landlock.
/// For reports and `doctor`; enforcement never branches on it except for the
/// Refer fix-up in [`refer_at_root`].
pub fn abi_version() -> Option<u32> {
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the
    // kernel reads and writes no memory; it only returns the ABI number (or
    // -1 with ENOSYS/EOPNOTSUPP).
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(v).ok().filter(|v| *v > 0)
}

/// Restricts the calling thread (and everything it later starts) to `rules`.
/// Call it last before execve, in the container, from a single thread.
pub fn apply(rules: &LandlockRules) -> Result<Enforcement, LandlockError> {
    let Some(ruleset) = prepare(rules)? else {
        // Nothing restricted: leave the process alone (no no_new_privs).
        return Ok(Enforcement::Full);
    };
    // restrict_self() sets no_new_privs first (the crate's default), and we
    // keep it: the kernel refuses landlock_restrict_self without it unless
    // the task has CAP_SYS_ADMIN, which containers drop, and it stops a
    // setuid program from running with privileges under a sandbox it does
    // not expect. Setuid binaries therefore do not elevate under Landlock.
    let status = ruleset
        .restrict_self()
        .map_err(|e| LandlockError::Restrict(e.to_string()))?;
    let enforcement = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::Full,
        RulesetStatus::PartiallyEnforced => Enforcement::Partial,
        RulesetStatus::NotEnforced => Enforcement::None,
    };
    // Hard-requirement mode already fails on any unsupported right; this
    // keeps the promise even if the crate's logic ever changes.
    if !rules.best_effort && enforcement != Enforcement::Full {
        return Err(LandlockError::Restrict(format!(
            "{enforcement:?} enforcement without best_effort"
        )));
    }
    Ok(enforcement)
}

/// One rule to add: the opened path and what it grants.
struct PathRule {
    right: &'static str,
    path: PathBuf,
    fd: PathFd,
    access: BitFlags<AccessFs>,
}

/// Builds the ruleset without touching the process: opens every path and
/// checks every right first, so a bad rule leaves the process unrestricted
/// and the exec fails with the rule's name.
fn prepare(rules: &LandlockRules) -> Result<Option<RulesetCreated>, LandlockError> {
    rules.validate()?;
    if rules.is_unrestricted() {
        return Ok(None);
    }
    let level = if rules.best_effort {
        CompatLevel::BestEffort
    } else {
        CompatLevel::HardRequirement
    };
    let path_rules = open_rules(rules)?;
    let abi = || abi_version().map_or_else(|| "unsupported".to_string(), |v| v.to_string());

    let mut ruleset = Ruleset::default().set_compatibility(level);
    for kind in Kind::ALL.into_iter().filter(|k| k.paths(rules).is_some()) {
        // One call per category so an unsupported right names its category.
        ruleset =
            ruleset
                .handle_access(kind.handled())
                .map_err(|e| LandlockError::Unsupported {
                    right: kind.name(),
                    abi: abi(),
                    reason: e.to_string(),
                })?;
    }
    let refer_at_root = refer_at_root(rules);
    if refer_at_root {
        ruleset =
            ruleset
                .handle_access(AccessFs::Refer)
                .map_err(|e| LandlockError::Unsupported {
                    right: "create",
                    abi: abi(),
                    reason: e.to_string(),
                })?;
    }
    let mut created = ruleset
        .create()
        .map_err(|e| LandlockError::Ruleset(e.to_string()))?;
    if refer_at_root {
        let root = Path::new("/");
        let fd = open_path("create", root)?;
        created = created
            .add_rule(PathBeneath::new(fd, AccessFs::Refer))
            .map_err(|e| rule_error("create", root, e))?;
    }
    for r in path_rules {
        created = created
            .add_rule(PathBeneath::new(r.fd, r.access))
            .map_err(|e| rule_error(r.right, &r.path, e))?;
    }
    Ok(Some(created))
}

/// Whether Refer is granted beneath `/`: when `create` is unrestricted,
/// creation is allowed everywhere, so reparenting is too (Kind::granted says
/// why that is safe).
///
/// This also fixes a kernel default: under any Landlock domain, moving or
/// linking a file into another directory fails with EXDEV unless Refer is
/// handled and granted, even when the ruleset handles no creation or removal
/// at all. With only read/write/exec restricted, the rules promise not to
/// restrict that, so Refer is handled too (when the kernel has it, ABI 2) and
/// granted at `/`. The kernel's own check still refuses any move that would
/// give the file a right it lacked where it was (say write, under a `write`
/// rule). ABI 1 always denies reparenting and has no Refer: nothing can be
/// done there, and being stricter is no degradation, so it is not an error.
fn refer_at_root(rules: &LandlockRules) -> bool {
    rules.create.is_none() && (rules.remove.is_some() || abi_version().is_some_and(|v| v >= 2))
}

fn rule_error(right: &'static str, path: &Path, e: impl std::fmt::Display) -> LandlockError {
    LandlockError::Path {
        right,
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Opens every listed path (and, for `exec`, the dynamic loaders) and works
/// out the rights each rule grants.
fn open_rules(rules: &LandlockRules) -> Result<Vec<PathRule>, LandlockError> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let Some(paths) = kind.paths(rules) else {
            continue;
        };
        let right = kind.name();
        for path in paths {
            let fd = match open_fd(path) {
                Ok(fd) => fd,
                // A missing path only means less is allowed: acceptable when
                // the policy asked for best effort, an error otherwise since
                // it usually is a mistake that would surface as EACCES later.
                Err(Errno::ENOENT | Errno::ENOTDIR) if rules.best_effort => continue,
                Err(e) => return Err(rule_error(right, path, e.desc().to_lowercase())),
            };
            let access = rule_access(right, path, &fd, kind.granted())?;
            out.push(PathRule {
                right,
                path: path.clone(),
                fd,
                access,
            });
        }
        if kind == Kind::Exec {
            for loader in dynamic_loaders() {
                let fd = open_path(right, &loader)?;
                out.push(PathRule {
                    right,
                    path: loader,
                    fd,
                    access: AccessFs::Execute.into(),
                });
            }
        }
    }
    Ok(out)
}

/// An O_PATH descriptor for `path`, following symlinks, with errors in the
/// form "landlock: read rule /x: no such file or directory".
fn open_path(right: &'static str, path: &Path) -> Result<PathFd, LandlockError> {
    open_fd(path).map_err(|e| rule_error(right, path, e.desc().to_lowercase()))
}

fn open_fd(path: &Path) -> Result<PathFd, Errno> {
    PathFd::new(path).map_err(|e| {
        std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<std::io::Error>())
            .and_then(std::io::Error::raw_os_error)
            .map_or(Errno::UnknownErrno, Errno::from_raw)
    })
}

/// The rights a rule grants on `fd`: on a non-directory only the file rights
/// exist (the kernel rejects the others with EINVAL, and the crate in
/// hard-requirement mode with an error), so a file in `create` or `remove`,
/// which only govern entries of directories, is a configuration error.
fn rule_access(
    right: &'static str,
    path: &Path,
    fd: &PathFd,
    granted: BitFlags<AccessFs>,
) -> Result<BitFlags<AccessFs>, LandlockError> {
    let st = fstat(fd.as_fd().as_raw_fd()).map_err(|e| rule_error(right, path, e.desc()))?;
    let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
    if is_dir {
        return Ok(granted);
    }
    let access = granted & file_rights();
    if access.is_empty() {
        return Err(rule_error(
            right,
            path,
            format!("not a directory ({right} rules name directories)"),
        ));
    }
    Ok(access)
}

/// The dynamic loaders in the container: `/lib*/ld-linux*` (glibc, e.g.
/// /lib64/ld-linux-x86-64.so.2, /lib/ld-linux-aarch64.so.1) and
/// `/lib*/ld-musl-*` (Alpine), canonicalised and deduplicated.
///
/// execve of a dynamic program also opens its PT_INTERP with FMODE_EXEC
/// (open_exec), and Landlock checks Execute on it; without the loader in the
/// allowlist every dynamic program would fail with EACCES. Shared libraries
/// need nothing: ld.so mmaps them with PROT_EXEC, which Landlock does not
/// check.
fn dynamic_loaders() -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let Ok(root) = fs::read_dir("/") else {
        return found;
    };
    for dir in root.flatten() {
        if !dir.file_name().as_bytes().starts_with(b"lib") {
            continue;
        }
        let Ok(entries) = fs::read_dir(dir.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.as_bytes();
            if !(name.starts_with(b"ld-linux") || name.starts_with(b"ld-musl-")) {
                continue;
            }
            if let Ok(p) = fs::canonicalize(e.path())
                && p.is_file()
            {
                found.insert(p);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::{ForkResult, fork};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static N: AtomicUsize = AtomicUsize::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("cagebox-landlock-{tag}-{}-{n}", std::process::id()));
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `f` in a forked child (Landlock restricts the calling thread for
    /// good, so never in the test process) and returns its exit code.
    fn in_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child only runs `f` (syscalls and allocation, which
        // glibc keeps usable after fork) and leaves with _exit: it never
        // returns into the test harness or touches its other threads' state.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(120);
                // SAFETY: ends the child at once, running none of the
                // harness's atexit handlers or destructors.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => match waitpid(child, None).unwrap() {
                WaitStatus::Exited(_, code) => code,
                other => panic!("child did not exit: {other:?}"),
            },
        }
    }

    /// 0 on success, the errno otherwise.
    fn errno<T>(r: std::io::Result<T>) -> i32 {
        match r {
            Ok(_) => 0,
            Err(e) => e.raw_os_error().unwrap_or(121),
        }
    }

    /// Applies `rules` in a child, then runs `check`; 122 if apply failed,
    /// 123 if not fully enforced.
    fn restricted(rules: &LandlockRules, check: impl FnOnce() -> i32) -> i32 {
        in_child(|| match apply(rules) {
            Ok(Enforcement::Full) => check(),
            Ok(Enforcement::Partial | Enforcement::None) => 123,
            Err(_) => 122,
        })
    }

    fn exec_code(path: &std::ffi::CStr) -> i32 {
        match nix::unistd::execv(path, &[path]) {
            Ok(never) => match never {},
            Err(e) => e as i32,
        }
    }

    fn paths(p: &[&str]) -> Option<Vec<PathBuf>> {
        Some(p.iter().map(PathBuf::from).collect())
    }

    /// The behavioural tests need Landlock with Truncate (ABI 3); this
    /// machine's kernel (6.18) has ABI 7. Elsewhere they say skip.
    fn landlock_or_skip(test: &str) -> bool {
        match abi_version() {
            Some(abi) if abi >= 3 => true,
            abi => {
                eprintln!("skip {test}: needs Landlock ABI >= 3, kernel has {abi:?}");
                false
            }
        }
    }

    #[test]
    fn round_trip() {
        let rules = LandlockRules {
            read: paths(&["/usr", "/etc/hostname"]),
            write: Some(vec![]),
            exec: paths(&["/usr/bin"]),
            create: paths(&["/tmp"]),
            remove: None,
            best_effort: true,
        };
        let text = to_annotation(&rules).unwrap();
        assert!(!text.contains("remove"), "{text}");
        let mut spec = Spec::default();
        spec.set_annotations(Some([(ANNOTATION.to_string(), text)].into()));
        assert_eq!(from_spec(&spec).unwrap(), Some(rules));
        assert_eq!(from_spec(&Spec::default()).unwrap(), None);
    }

    #[test]
    fn bad_annotations_are_errors_naming_it() {
        for (text, want) in [
            (r#"{"read":["/usr"],"wirte":[]}"#, "unknown field `wirte`"),
            (r#"{"read":"/usr"}"#, "invalid type"),
            ("{", "EOF"),
        ] {
            let mut spec = Spec::default();
            spec.set_annotations(Some([(ANNOTATION.to_string(), text.to_string())].into()));
            let e = from_spec(&spec).unwrap_err().to_string();
            assert!(e.starts_with("annotation io.cagebox.landlock: "), "{e}");
            assert!(e.contains(want), "{e}");
        }
        let rel = LandlockRules {
            write: paths(&["node_modules"]),
            ..Default::default()
        };
        let e = to_annotation(&rel).unwrap_err().to_string();
        assert_eq!(e, "landlock: write rule node_modules: not an absolute path");
    }

    #[test]
    fn rights_stay_within_the_vetted_abi() {
        for kind in Kind::ALL {
            let want = match kind {
                Kind::Read => 2,
                Kind::Write => 2,
                Kind::Exec => 1,
                Kind::Create => 8,
                Kind::Remove => 3,
            };
            assert_eq!(kind.handled().len(), want, "{kind:?}");
            assert!(AccessFs::from_all(TARGET_ABI).contains(kind.handled()));
        }
        assert!(!Kind::Remove.granted().contains(AccessFs::Refer));
        assert!(Kind::Create.granted().contains(AccessFs::Refer));
    }

    #[test]
    fn missing_path_fails_closed() {
        if !landlock_or_skip("missing_path_fails_closed") {
            return;
        }
        let mut rules = LandlockRules {
            read: paths(&["/usr", "/nonexistent-cagebox"]),
            ..Default::default()
        };
        // prepare() opens the paths without restricting this process.
        let e = prepare(&rules).unwrap_err().to_string();
        assert_eq!(
            e,
            "landlock: read rule /nonexistent-cagebox: no such file or directory"
        );
        assert_eq!(restricted(&rules, || 0), 122);
        // Best effort skips it; the rest is still enforced.
        rules.best_effort = true;
        assert!(prepare(&rules).unwrap().is_some());
        let code = restricted(&rules, || {
            if errno(fs::read("/etc/hostname")) != libc::EACCES {
                return 1;
            }
            errno(fs::read("/usr/bin/env"))
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn file_in_create_is_an_error() {
        let rules = LandlockRules {
            create: paths(&["/etc/hostname"]),
            best_effort: true,
            ..Default::default()
        };
        let e = prepare(&rules).unwrap_err().to_string();
        assert!(
            e.starts_with("landlock: create rule /etc/hostname: not a directory"),
            "{e}"
        );
    }

    #[test]
    fn read_restricted_to_usr() {
        if !landlock_or_skip("read_restricted_to_usr") {
            return;
        }
        let rules = LandlockRules {
            read: paths(&["/usr"]),
            ..Default::default()
        };
        assert_eq!(
            restricted(&rules, || errno(fs::read("/etc/hostname"))),
            libc::EACCES
        );
        assert_eq!(
            restricted(&rules, || errno(fs::read_dir("/etc"))),
            libc::EACCES
        );
        assert_eq!(restricted(&rules, || errno(fs::read("/usr/bin/env"))), 0);
    }

    #[test]
    fn exec_restricted_to_true_plus_loader() {
        if !landlock_or_skip("exec_restricted_to_true_plus_loader") {
            return;
        }
        let rules = LandlockRules {
            exec: paths(&["/usr/bin/true"]),
            ..Default::default()
        };
        assert!(!dynamic_loaders().is_empty(), "no /lib*/ld-linux* here");
        assert_eq!(restricted(&rules, || exec_code(c"/usr/bin/true")), 0);
        assert_eq!(
            restricted(&rules, || exec_code(c"/usr/bin/false")),
            libc::EACCES
        );
    }

    #[test]
    fn exec_also_needs_read_when_read_is_restricted() {
        if !landlock_or_skip("exec_also_needs_read_when_read_is_restricted") {
            return;
        }
        // Kernel behaviour the module docs describe: execve opens the
        // program for reading too.
        let rules = LandlockRules {
            read: paths(&["/etc"]),
            ..Default::default()
        };
        assert_eq!(
            restricted(&rules, || exec_code(c"/usr/bin/true")),
            libc::EACCES
        );
    }

    #[test]
    fn write_restricted_to_a_dir() {
        if !landlock_or_skip("write_restricted_to_a_dir") {
            return;
        }
        let allowed = TempDir::new("w-ok");
        let other = TempDir::new("w-no");
        let rules = LandlockRules {
            write: Some(vec![allowed.0.clone()]),
            ..Default::default()
        };
        let (a, o) = (allowed.0.join("f"), other.0.join("f"));
        assert_eq!(restricted(&rules, || errno(fs::write(&a, "x"))), 0);
        assert_eq!(fs::read_to_string(&a).unwrap(), "x");
        assert_eq!(
            restricted(&rules, || errno(fs::write(&o, "x"))),
            libc::EACCES
        );
    }

    #[test]
    fn create_restricted_to_a_dir_allows_moves_within_it() {
        if !landlock_or_skip("create_restricted_to_a_dir_allows_moves_within_it") {
            return;
        }
        let allowed = TempDir::new("c-ok");
        let other = TempDir::new("c-no");
        fs::write(allowed.0.join("f"), "x").unwrap();
        fs::create_dir(allowed.0.join("sub")).unwrap();
        let rules = LandlockRules {
            create: Some(vec![allowed.0.clone()]),
            ..Default::default()
        };
        let (a, o) = (&allowed.0, &other.0);
        assert_eq!(restricted(&rules, || errno(fs::create_dir(a.join("d")))), 0);
        assert_eq!(
            restricted(&rules, || errno(fs::create_dir(o.join("d")))),
            libc::EACCES
        );
        // Refer is granted where creation is: a move between two of its
        // directories works, a move out of it does not.
        let code = restricted(&rules, || errno(fs::rename(a.join("f"), a.join("sub/f"))));
        assert_eq!(code, 0);
        let code = restricted(&rules, || errno(fs::rename(a.join("sub/f"), o.join("f"))));
        assert_eq!(code, libc::EACCES);
    }

    #[test]
    fn moves_work_when_create_is_unrestricted_but_gain_no_rights() {
        if !landlock_or_skip("moves_work_when_create_is_unrestricted_but_gain_no_rights") {
            return;
        }
        let allowed = TempDir::new("m-ok");
        let other = TempDir::new("m-no");
        fs::create_dir(allowed.0.join("sub")).unwrap();
        fs::write(allowed.0.join("f"), "x").unwrap();
        fs::write(other.0.join("g"), "x").unwrap();
        let rules = LandlockRules {
            write: Some(vec![allowed.0.clone()]),
            ..Default::default()
        };
        let (a, o) = (&allowed.0, &other.0);
        // Without the Refer fix-up the kernel would say EXDEV here.
        let code = restricted(&rules, || errno(fs::rename(a.join("f"), a.join("sub/f"))));
        assert_eq!(code, 0);
        // Moving a file into the writable dir would give it write: refused.
        let code = restricted(&rules, || errno(fs::rename(o.join("g"), a.join("g"))));
        assert_eq!(code, libc::EXDEV);
    }

    #[test]
    fn nothing_restricted_is_a_no_op() {
        let rules = LandlockRules::default();
        assert!(prepare(&rules).unwrap().is_none());
        assert_eq!(apply(&rules).unwrap(), Enforcement::Full);
    }
}
