//! Built-in seccomp profiles (pure data, embedded in the binary: users'
//! machines have no /usr/share/containers).
//!
//! `Default` is podman's profile (containers-common as shipped with podman
//! 4.3.1, /usr/share/containers/seccomp.json) evaluated the way podman
//! evaluates it for a container with no capabilities on amd64:
//! - entries with `includes.caps` are skipped, entries with `excludes.caps`
//!   apply, `includes.arches` is honoured for amd64/x32/x86 only;
//! - its explicit `SCMP_ACT_ERRNO` (EPERM) entries are left out: anything not
//!   allowed gets the caller's default action, so `kill` really kills;
//! - that profile allows `clone`, `clone3`, `unshare`, `mount` and `setns`
//!   unconditionally (its `setns` EPERM entry is shadowed by the earlier
//!   allow), and so does `Default`; `Strict` is where namespaces are refused;
//! - its argument rules are kept: `personality` with five values only, and
//!   `socket` refusing NETLINK_AUDIT with EINVAL (the no-CAP_AUDIT_WRITE case).
//!
//! `Strict` is `Default` minus what package scripts never need and exploits
//! use ([`strict_removed`]), with `clone` refused namespace flags and
//! `socket` narrowed to four families ([`strict_narrowed`]).
//!
//! Argument values follow runc: for SCMP_CMP_MASKED_EQ `value` is the mask
//! and `valueTwo` the datum (see `runtime::seccomp::swap_masked_eq`).
//!
//! libseccomp facts the rules here are shaped by (2.5.4, `src/db.c`,
//! `src/syscalls.c`):
//! - a syscall with an unconditional rule ignores every later rule for it,
//!   and a later unconditional rule erases earlier conditional ones: argument
//!   rules next to an unconditional allow are silently dead;
//! - two rules with the same conditions and different actions fail to compile;
//! - a rule equal to the default action is refused (cagebox and libcontainer
//!   skip it), so rules equal to the default are not emitted at all;
//! - on 32-bit x86 a `socket` rule is also added to `socketcall(SYS_SOCKET)`,
//!   its arg0 condition replaced by the sub-call number (the family is behind
//!   a pointer), so allowing `socket(AF_UNIX)` lets `socketcall` create any
//!   socket, and refusing `socket(!AF_UNIX)` next to it fails to compile.

use libcontainer::oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompOperator, LinuxSyscall,
};

/// A built-in profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// podman's profile for a container without capabilities.
    Default,
    /// `Default` without debugging, mount, namespace, keyring and other
    /// syscalls that package scripts do not use.
    Strict,
}

/// podman's unconditional allowlist (no capabilities, amd64). `socket` and
/// `personality` are not here: they only have argument rules.
#[rustfmt::skip]
const DEFAULT_ALLOW: &[&str] = &[
    // Files and directories: lookup, metadata, creation, removal
    "access", "chdir", "chmod", "chown", "chown32", "creat", "faccessat", "faccessat2", "fchdir",
    "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fstat", "fstat64", "fstatat64",
    "fstatfs", "fstatfs64", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
    "getdents64", "lchown", "lchown32", "link", "linkat", "lstat", "lstat64", "mkdir", "mkdirat",
    "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat", "openat2", "readdir",
    "readlink", "readlinkat", "rename", "renameat", "renameat2", "rmdir", "stat", "stat64",
    "statfs", "statfs64", "statx", "symlink", "symlinkat", "truncate", "truncate64", "umask",
    "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
    // Extended attributes
    "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr", "listxattr",
    "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
    // Reading, writing and managing file descriptors
    "_llseek", "close", "close_range", "copy_file_range", "dup", "dup2", "dup3", "fadvise64",
    "fadvise64_64", "fallocate", "fcntl", "fcntl64", "fdatasync", "flock", "fsync", "ioctl",
    "lseek", "pipe", "pipe2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2",
    "read", "readahead", "readv", "sendfile", "sendfile64", "splice", "sync", "sync_file_range",
    "syncfs", "tee", "write", "writev",
    // Waiting for events: poll/select/epoll, eventfd, signalfd, timerfd, inotify
    "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
    "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "poll", "ppoll",
    "ppoll_time64", "pselect6", "pselect6_time64", "select", "signalfd", "signalfd4", "timerfd",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64",
    // Linux AIO (not io_uring)
    "io_cancel", "io_destroy", "io_getevents", "io_setup", "io_submit",
    // Memory
    "brk", "get_mempolicy", "madvise", "mbind", "membarrier", "memfd_create", "memfd_secret",
    "mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync",
    "munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "remap_file_pages", "set_mempolicy",
    // Processes and threads: create, exec, wait, exit, thread state
    "clone", "clone3", "execve", "execveat", "exit", "exit_group", "fork", "futex", "futex_time64",
    "get_robust_list", "get_thread_area", "getpgid", "getpgrp", "getpid", "getppid", "getsid",
    "gettid", "prctl", "restart_syscall", "rseq", "set_robust_list", "set_thread_area",
    "set_tid_address", "setpgid", "setsid", "vfork", "wait4", "waitid", "waitpid",
    // Other processes: pidfds, tracing, cross-process memory
    "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "process_mrelease", "process_vm_readv",
    "process_vm_writev", "ptrace",
    // Scheduling and priorities
    "getcpu", "getpriority", "ioprio_get", "ioprio_set", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
    "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "setpriority",
    // Credentials and capabilities (the kernel still checks CAP_SETUID etc.)
    "capget", "capset", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "getresgid", "getresgid32", "getresuid", "getresuid32", "getuid",
    "getuid32", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
    // Self-sandboxing: seccomp and Landlock
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
    // Signals
    "alarm", "kill", "pause", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
    "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo", "sigaction", "sigaltstack", "signal", "sigpending", "sigprocmask",
    "sigreturn", "sigsuspend", "tgkill", "tkill",
    // Clocks, sleeps and timers (setting the clock is not here)
    "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
    "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "getitimer",
    "gettimeofday", "nanosleep", "setitimer", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "times",
    // Limits, usage and system information
    "getrandom", "getrlimit", "getrusage", "prlimit64", "setrlimit", "sysinfo", "syslog",
    "ugetrlimit", "uname",
    // Sockets (socket() itself is argument-filtered below)
    "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
    "sendto", "setsockopt", "shutdown", "socketcall", "socketpair",
    // System V IPC and POSIX message queues
    "ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
    "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt",
    "shmget",
    // Mounts and namespaces: podman allows them, the kernel wants CAP_SYS_ADMIN
    // (which a new user namespace grants)
    "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount", "open_tree",
    "pivot_root", "setns", "umount", "umount2", "unshare",
    // Keyrings
    "keyctl",
    // Miscellaneous: reboot (needs CAP_SYS_BOOT; in a PID namespace it ends the
    // namespace), syscall (MIPS indirect syscall)
    "reboot", "syscall",
    // x86 only (podman: includes.arches amd64/x32/x86)
    "arch_prctl", "modify_ldt",
];

/// personality(2) values podman allows: PER_LINUX, UNAME26, PER_LINUX32,
/// UNAME26|PER_LINUX32 and 0xffffffff (query the current persona).
const PERSONALITY_ALLOWED: &[u64] = &[0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// Syscalls `Strict` no longer allows, each with why.
#[rustfmt::skip]
const STRICT_REMOVED: &[(&str, &str)] = &[
    // Other processes
    ("ptrace", "reads and rewrites other processes; debuggers only"),
    ("process_vm_readv", "reads another process's memory"),
    ("process_vm_writev", "writes another process's memory"),
    ("pidfd_getfd", "steals file descriptors from another process"),
    ("process_mrelease", "reaps a dying process's memory; for OOM killers"),
    // Mounts (all need the user namespace Strict refuses)
    ("mount", "remounting or covering files is a runtime's job"),
    ("umount", "unmounting can expose what a mount hides"),
    ("umount2", "unmounting can expose what a mount hides"),
    ("fsopen", "new mount API"),
    ("fsconfig", "new mount API; a frequent kernel bug site"),
    ("fsmount", "new mount API"),
    ("fspick", "new mount API (remount)"),
    ("move_mount", "new mount API"),
    ("open_tree", "new mount API (copies mount trees)"),
    ("mount_setattr", "new mount API (changes mount flags)"),
    ("pivot_root", "changes the root; only container runtimes need it"),
    // Namespaces
    ("unshare", "user namespaces open root-only kernel code to everyone"),
    ("setns", "joins the namespaces of other processes"),
    ("clone3", "its flags are in memory seccomp cannot read; ENOSYS makes glibc use clone"),
    // Kernel state and information
    ("keyctl", "kernel keyrings: state outside the sandbox, frequent CVEs"),
    ("name_to_handle_at", "file handles are half of an open_by_handle_at escape"),
    ("syslog", "the kernel log leaks kernel addresses and host events"),
    ("reboot", "ends the PID namespace (the host, with CAP_SYS_BOOT)"),
    // Legacy interfaces with an exploit record
    ("personality", "can turn off ASLR or make data executable"),
    ("modify_ldt", "16-bit segments for Wine/DOSEMU; used by kernel exploits"),
    ("remap_file_pages", "deprecated, emulated since Linux 4.0; no current user"),
    ("fanotify_mark", "useless without fanotify_init, which neither preset allows"),
];

/// Syscalls `Strict` still allows, but only with some arguments.
#[rustfmt::skip]
const STRICT_NARROWED: &[(&str, &str)] = &[
    ("clone", "no CLONE_NEW* flags, so no namespaces; fork and threads work"),
    ("socket", "AF_UNIX, AF_INET, AF_INET6, AF_NETLINK only: other families \
        (AF_PACKET, AF_ALG, AF_VSOCK, RDS, TIPC...) are where socket bugs cluster, \
        and AF_VSOCK bypasses network namespaces"),
];

const AF_UNIX: u64 = libc::AF_UNIX as u64;
const AF_INET: u64 = libc::AF_INET as u64;
const AF_INET6: u64 = libc::AF_INET6 as u64;
const AF_NETLINK: u64 = libc::AF_NETLINK as u64;
const NETLINK_AUDIT: u64 = libc::NETLINK_AUDIT as u64;
/// The highest address family Linux knows (AF_MAX - 1 on 6.x kernels).
const LAST_FAMILY: u64 = 45;
/// CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER
/// | CLONE_NEWPID | CLONE_NEWNET (Docker's clone rule uses the same mask).
const CLONE_NAMESPACES: u64 = 0x7E02_0000;
/// Syscalls that can create sockets without socket(2): io_uring's
/// IORING_OP_SOCKET (Linux 5.19).
const IO_URING: &[&str] = &["io_uring_setup", "io_uring_enter", "io_uring_register"];

use LinuxSeccompAction::{ScmpActAllow as ALLOW, ScmpActErrno as ERRNO};
use LinuxSeccompOperator::{
    ScmpCmpEq as EQ, ScmpCmpGt as GT, ScmpCmpMaskedEq as MASKED_EQ, ScmpCmpNe as NE,
};

/// The profile for `preset`; syscalls not listed fail with `errno` (errnoRet) when
/// `kill` is false, or kill the process (SCMP_ACT_KILL_PROCESS) when `kill` is true.
pub fn profile(preset: Preset, errno: u32, kill: bool) -> LinuxSeccomp {
    let mut s = LinuxSeccomp::default();
    if kill {
        s.set_default_action(LinuxSeccompAction::ScmpActKillProcess);
        s.set_default_errno_ret(None);
    } else {
        s.set_default_action(ERRNO);
        s.set_default_errno_ret(Some(errno));
    }
    s.set_architectures(Some(architectures()));
    let rules = match preset {
        Preset::Default => default_rules(),
        Preset::Strict => strict_rules(),
    };
    // The argument builder cannot fail (every field has a default); if it
    // ever did, no rules at all denies everything: stricter, never weaker.
    set_rules(&mut s, rules.unwrap_or_default());
    s
}

/// For network = "none": socket() and socketpair() succeed only for AF_UNIX;
/// every other family fails with `errno`. Works on any OCI profile: existing
/// `socket`/`socketpair` rules are narrowed to AF_UNIX (never widened: what
/// the profile did for AF_UNIX it still does), `socketcall` (32-bit x86,
/// which cannot be filtered by family) and io_uring (IORING_OP_SOCKET) are
/// refused. Apply it last: rules added afterwards can undo it.
pub fn block_network(profile: &mut LinuxSeccomp, errno: u32) {
    let default = effect(profile.default_action(), profile.default_errno_ret());
    let mut rules = Vec::new();
    let (mut socket, mut socketpair) = (Vec::new(), Vec::new());
    for r in profile.syscalls().iter().flatten() {
        let mut rest = Vec::new();
        for name in r.names() {
            match name.as_str() {
                "socket" => socket.push(renamed(r, "socket")),
                "socketpair" => socketpair.push(renamed(r, "socketpair")),
                n if n == "socketcall" || IO_URING.contains(&n) => {}
                _ => rest.push(name.clone()),
            }
        }
        if !rest.is_empty() {
            let mut kept = r.clone();
            kept.set_names(rest);
            rules.push(kept);
        }
    }
    // Unconditional, and before the socket rules: on 32-bit x86 it erases
    // the socketcall(SYS_*) chains of the rules above and makes libseccomp
    // drop those the AF_UNIX rules below would add with their family check
    // stripped. It must differ from the default action, or it is skipped and
    // those chains come back; any errno denies as well.
    let socketcall_errno = if default != effect(ERRNO, Some(errno)) {
        errno
    } else if errno != libc::EPERM as u32 {
        libc::EPERM as u32
    } else {
        libc::EACCES as u32
    };
    rules.push(rule(&["socketcall"], ERRNO, Some(socketcall_errno), vec![]));
    match unix_sockets(&socket, &socketpair, errno) {
        Some(narrowed) => rules.extend(narrowed),
        // Cannot happen (see `profile`); refusing every socket fails closed.
        None => rules.push(rule(&["socket", "socketpair"], ERRNO, Some(errno), vec![])),
    }
    rules.push(rule(IO_URING, ERRNO, Some(errno), vec![]));
    set_rules(profile, rules);
}

/// The existing rules narrowed to AF_UNIX, then the refusal of the rest.
fn unix_sockets(
    socket: &[LinuxSyscall],
    socketpair: &[LinuxSyscall],
    errno: u32,
) -> Option<Vec<LinuxSyscall>> {
    let mut out = Vec::new();
    for (name, existing) in [("socket", socket), ("socketpair", socketpair)] {
        for r in existing {
            out.extend(unix_only(r)?);
        }
        out.push(rule(
            &[name],
            ERRNO,
            Some(errno),
            vec![arg(0, NE, AF_UNIX)?],
        ));
    }
    Some(out)
}

/// true if libseccomp knows this syscall name on x86_64 (use libseccomp::ScmpSyscall::from_name)
///
/// Resolved for the native architecture; a name that exists only on another
/// architecture (`_llseek` on x86_64) is known, a misspelt one is not.
pub fn known_syscall(name: &str) -> bool {
    libseccomp::ScmpSyscall::from_name(name).is_ok()
}

/// What Strict removes from Default, each with a one-line reason (for docs/explain output).
pub fn strict_removed() -> &'static [(&'static str, &'static str)] {
    STRICT_REMOVED
}

/// What Strict still allows but only with some arguments, each with a
/// one-line reason (for docs/explain output).
pub fn strict_narrowed() -> &'static [(&'static str, &'static str)] {
    STRICT_NARROWED
}

/// podman's archMap entry for the architecture cagebox was built for.
fn architectures() -> Vec<Arch> {
    if cfg!(target_arch = "x86_64") {
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    } else if cfg!(target_arch = "aarch64") {
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    } else {
        // Native only: other ABIs hit libseccomp's bad-arch action (kill).
        Vec::new()
    }
}

fn default_rules() -> Option<Vec<LinuxSyscall>> {
    let mut rules = vec![rule(DEFAULT_ALLOW, ALLOW, None, vec![])];
    for v in PERSONALITY_ALLOWED {
        rules.push(rule(&["personality"], ALLOW, None, vec![arg(0, EQ, *v)?]));
    }
    // podman without CAP_AUDIT_WRITE: NETLINK_AUDIT sockets fail as if the
    // kernel had no audit, every other socket is allowed. podman writes the
    // allow as `arg2 != NETLINK_AUDIT` or `arg0 != AF_NETLINK`; here it is
    // one rule per family (and one for values past the last family), the
    // same set, so a policy's deny rule on socket's family can be combined
    // with it exactly (spec/rules.rs: libseccomp takes one comparison per
    // argument and lets an overlapping allow win).
    let audit = vec![arg(0, EQ, AF_NETLINK)?, arg(2, EQ, NETLINK_AUDIT)?];
    rules.push(rule(&["socket"], ERRNO, Some(libc::EINVAL as u32), audit));
    rules.push(rule(
        &["socket"],
        ALLOW,
        None,
        vec![arg(0, EQ, AF_NETLINK)?, arg(2, NE, NETLINK_AUDIT)?],
    ));
    for family in 0..=LAST_FAMILY {
        if family != AF_NETLINK {
            rules.push(rule(&["socket"], ALLOW, None, vec![arg(0, EQ, family)?]));
        }
    }
    rules.push(rule(
        &["socket"],
        ALLOW,
        None,
        vec![arg(0, GT, LAST_FAMILY)?],
    ));
    Some(rules)
}

fn strict_rules() -> Option<Vec<LinuxSyscall>> {
    let allow: Vec<&str> = DEFAULT_ALLOW
        .iter()
        .copied()
        .filter(|n| *n != "clone" && !STRICT_REMOVED.iter().any(|(r, _)| r == n))
        .collect();
    let no_namespaces = arg2(0, MASKED_EQ, CLONE_NAMESPACES, Some(0))?;
    let mut rules = vec![
        rule(&allow, ALLOW, None, vec![]),
        rule(&["clone"], ALLOW, None, vec![no_namespaces]),
        rule(&["clone3"], ERRNO, Some(libc::ENOSYS as u32), vec![]),
    ];
    for family in [AF_UNIX, AF_INET, AF_INET6] {
        rules.push(rule(&["socket"], ALLOW, None, vec![arg(0, EQ, family)?]));
    }
    let netlink = vec![arg(0, EQ, AF_NETLINK)?, arg(2, NE, NETLINK_AUDIT)?];
    rules.push(rule(&["socket"], ALLOW, None, netlink));
    Some(rules)
}

/// Installs `rules` minus those equal to the default action (see module docs).
fn set_rules(s: &mut LinuxSeccomp, mut rules: Vec<LinuxSyscall>) {
    let default = effect(s.default_action(), s.default_errno_ret());
    rules.retain(|r| effect(r.action(), r.errno_ret()) != default);
    s.set_syscalls(Some(rules));
}

/// What the kernel is told to do: libseccomp, runc, libcontainer and cagebox
/// read a missing errno as EPERM and SCMP_ACT_KILL as KILL_THREAD.
fn effect(action: LinuxSeccompAction, errno: Option<u32>) -> (LinuxSeccompAction, Option<u32>) {
    use LinuxSeccompAction as A;
    match action {
        A::ScmpActKill | A::ScmpActKillThread => (A::ScmpActKillThread, None),
        A::ScmpActErrno | A::ScmpActTrace => (action, Some(errno.unwrap_or(libc::EPERM as u32))),
        A::ScmpActKillProcess
        | A::ScmpActTrap
        | A::ScmpActNotify
        | A::ScmpActLog
        | A::ScmpActAllow => (action, None),
    }
}

/// `r` narrowed to calls whose arg0 (the family) is AF_UNIX; empty if it
/// never matches AF_UNIX. Several conditions on one argument are separate
/// rules (runc and libcontainer), so each is narrowed on its own.
fn unix_only(r: &LinuxSyscall) -> Option<Vec<LinuxSyscall>> {
    let args = r.args().clone().unwrap_or_default();
    let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
    indexes.sort_unstable();
    indexes.dedup();
    let alternatives = if indexes.len() == args.len() {
        vec![args]
    } else {
        args.iter().map(|a| vec![*a]).collect()
    };
    let mut out = Vec::new();
    for mut alt in alternatives {
        if alt.iter().any(|a| a.index() == 0 && !admits(a, AF_UNIX)) {
            continue;
        }
        alt.retain(|a| a.index() != 0);
        alt.insert(0, arg(0, EQ, AF_UNIX)?);
        let mut narrowed = r.clone();
        narrowed.set_args(Some(alt));
        out.push(narrowed);
    }
    Some(out)
}

/// Whether the condition holds for argument value `v` (unsigned, 64-bit, as
/// libseccomp compares).
fn admits(a: &LinuxSeccompArg, v: u64) -> bool {
    use LinuxSeccompOperator as O;
    match a.op() {
        O::ScmpCmpNe => v != a.value(),
        O::ScmpCmpLt => v < a.value(),
        O::ScmpCmpLe => v <= a.value(),
        O::ScmpCmpEq => v == a.value(),
        O::ScmpCmpGe => v >= a.value(),
        O::ScmpCmpGt => v > a.value(),
        O::ScmpCmpMaskedEq => v & a.value() == a.value_two().unwrap_or(0),
    }
}

fn renamed(r: &LinuxSyscall, name: &str) -> LinuxSyscall {
    let mut one = r.clone();
    one.set_names(vec![name.to_string()]);
    one
}

fn arg(index: usize, op: LinuxSeccompOperator, value: u64) -> Option<LinuxSeccompArg> {
    arg2(index, op, value, None)
}

fn arg2(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> Option<LinuxSeccompArg> {
    let b = LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value);
    match value_two {
        Some(v) => b.value_two(v),
        None => b,
    }
    .build()
    .ok()
}

fn rule(
    names: &[&str],
    action: LinuxSeccompAction,
    errno: Option<u32>,
    args: Vec<LinuxSeccompArg>,
) -> LinuxSyscall {
    let mut r = LinuxSyscall::default();
    r.set_names(names.iter().map(|n| n.to_string()).collect());
    r.set_action(action);
    r.set_errno_ret(errno);
    r.set_args((!args.is_empty()).then_some(args));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::seccomp::{self, Compiled};
    use nix::sys::signal::Signal;
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::{ForkResult, fork};
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Default errno of the profiles under test, and block_network's: values
    /// no syscall returns by itself, so a match proves the filter answered.
    const DENY: u32 = 999;
    const NET: u32 = 998;

    fn names(p: &LinuxSeccomp) -> BTreeSet<String> {
        p.syscalls()
            .iter()
            .flatten()
            .flat_map(|r| r.names().clone())
            .collect()
    }

    /// Names with an ALLOW rule, with or without conditions.
    fn allowed(p: &LinuxSeccomp, name: &str) -> bool {
        p.syscalls()
            .iter()
            .flatten()
            .any(|r| r.action() == ALLOW && r.names().iter().any(|n| n == name))
    }

    fn unconditional(r: &LinuxSyscall) -> bool {
        r.args().as_ref().is_none_or(|a| a.is_empty())
    }

    /// Compiles with libseccomp exactly as the runtime does.
    fn compile(p: &LinuxSeccomp) -> Compiled {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("cagebox-presets-{}-{n}", std::process::id()));
        let compiled = seccomp::cached(&root, p);
        let _ = std::fs::remove_dir_all(&root);
        compiled.unwrap_or_else(|e| panic!("{e}"))
    }

    fn blocked(preset: Preset) -> LinuxSeccomp {
        let mut p = profile(preset, DENY, false);
        block_network(&mut p, NET);
        p
    }

    /// Runs `checks` in a child under the compiled `p`; its exit status
    /// names the first failed check (0: all passed).
    fn run_filtered(p: &LinuxSeccomp, checks: fn() -> i32) -> WaitStatus {
        let c = compile(p);
        // SAFETY: the child makes raw syscalls only (no allocation, no locks
        // another thread might hold) and leaves through _exit.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                // SAFETY: constant arguments; no_new_privs comes before the
                // filter because an unprivileged install requires it.
                let code = if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                    100
                } else if seccomp::install(&c).is_err() {
                    101
                } else {
                    checks()
                };
                // SAFETY: ends the child without running the test harness's
                // destructors or atexit handlers.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => waitpid(child, None).unwrap(),
        }
    }

    fn errno() -> u32 {
        nix::errno::Errno::last_raw() as u32
    }

    /// -1 with `want` as errno.
    fn fails(rc: libc::c_long, want: u32) -> bool {
        rc == -1 && errno() == want
    }

    fn socket(family: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> libc::c_long {
        // SAFETY: socket(2) takes no pointers; a descriptor it returns is closed.
        let fd = unsafe { libc::socket(family, ty, proto) };
        if fd >= 0 {
            // SAFETY: `fd` was just returned to us.
            unsafe { libc::close(fd) };
        }
        fd as libc::c_long
    }

    fn socketpair(family: libc::c_int) -> libc::c_long {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors the kernel writes.
        let rc = unsafe { libc::socketpair(family, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
        rc as libc::c_long
    }

    fn syscall3(nr: libc::c_long, a: libc::c_ulong, b: libc::c_ulong, c: libc::c_ulong) -> i64 {
        // SAFETY: used only with syscalls whose pointer arguments are null.
        unsafe { libc::syscall(nr, a, b, c) }
    }

    #[test]
    fn default_is_podmans_allowlist() {
        let p = profile(Preset::Default, DENY, false);
        let all = names(&p);
        assert_eq!(
            all.len(),
            DEFAULT_ALLOW.len() + 2,
            "plus socket, personality"
        );
        assert!(all.len() > 300, "{}", all.len());
        assert_eq!(
            BTreeSet::from_iter(DEFAULT_ALLOW).len(),
            DEFAULT_ALLOW.len(),
            "duplicates"
        );
        for n in [
            "ptrace",
            "clone",
            "clone3",
            "unshare",
            "execve",
            "openat",
            "arch_prctl",
        ] {
            assert!(allowed(&p, n), "{n}");
        }
        for n in [
            "bpf",
            "chroot",
            "kexec_load",
            "open_by_handle_at",
            "io_uring_setup",
            "acct",
        ] {
            assert!(!all.contains(n), "{n}");
        }
        let personality = p
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| r.names() == &["personality"]);
        assert!(personality.clone().all(|r| !unconditional(r)));
        assert_eq!(personality.count(), PERSONALITY_ALLOWED.len());
        assert_eq!(p.default_action(), ERRNO);
        assert_eq!(p.default_errno_ret(), Some(DENY));
    }

    #[test]
    fn strict_removes_what_it_says() {
        let (d, s) = (
            profile(Preset::Default, DENY, false),
            profile(Preset::Strict, DENY, false),
        );
        assert!(allowed(&d, "ptrace") && !allowed(&s, "ptrace"));
        for (name, why) in strict_removed() {
            assert!(allowed(&d, name), "{name} is not in Default");
            assert!(!allowed(&s, name), "{name} is still in Strict");
            assert!(!why.is_empty() && known_syscall(name), "{name}");
        }
        for (name, _) in strict_narrowed() {
            let rules = s
                .syscalls()
                .iter()
                .flatten()
                .filter(|r| r.names().contains(&name.to_string()));
            assert!(
                rules.clone().count() > 0 && rules.clone().all(|r| !unconditional(r)),
                "{name}"
            );
        }
        let removed: BTreeSet<_> = strict_removed().iter().map(|(n, _)| *n).collect();
        assert_eq!(removed.len(), strict_removed().len(), "duplicates");
        assert_eq!(
            names(&s).len(),
            names(&d).len() - removed.len() + 1,
            "clone3 stays as ENOSYS"
        );
        // clone in runc's OCI form: value is the mask, valueTwo the datum.
        let json = serde_json::to_string(&s).unwrap();
        let clone = r#"{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}"#;
        assert!(json.contains(clone), "{json}");
    }

    #[test]
    fn known_syscall_uses_libseccomps_table() {
        for n in ["ptrace", "openat", "clone3", "io_uring_setup", "_llseek"] {
            assert!(known_syscall(n), "{n}");
        }
        for n in ["", "no_such_syscall", "PTRACE", "open at", "ptrace\0"] {
            assert!(!known_syscall(n), "{n:?}");
        }
        let unknown: Vec<_> = DEFAULT_ALLOW.iter().filter(|n| !known_syscall(n)).collect();
        assert!(unknown.is_empty(), "libseccomp does not know {unknown:?}");
    }

    #[test]
    fn every_variant_compiles_with_libseccomp() {
        for preset in [Preset::Default, Preset::Strict] {
            for kill in [false, true] {
                for errno in [libc::EPERM as u32, libc::ENOSYS as u32, libc::EINVAL as u32] {
                    let mut p = profile(preset, errno, kill);
                    compile(&p);
                    for net in [errno, libc::EAFNOSUPPORT as u32] {
                        block_network(&mut p, net);
                        compile(&p);
                    }
                }
            }
        }
    }

    #[test]
    fn no_rule_repeats_the_default_action() {
        // errno 38 makes Strict's clone3 rule and 22 Default's audit rule
        // redundant; libseccomp would refuse them.
        for (preset, errno) in [
            (Preset::Strict, libc::ENOSYS),
            (Preset::Default, libc::EINVAL),
        ] {
            let mut p = profile(preset, errno as u32, false);
            block_network(&mut p, errno as u32);
            let default = effect(p.default_action(), p.default_errno_ret());
            let rules = p.syscalls().clone().unwrap();
            assert!(
                rules
                    .iter()
                    .all(|r| effect(r.action(), r.errno_ret()) != default)
            );
            let socketcall = rules.iter().find(|r| r.names() == &["socketcall"]).unwrap();
            assert_eq!(socketcall.errno_ret(), Some(libc::EPERM as u32));
        }
    }

    /// An arbitrary OCI profile in the style of Docker's and older podman's:
    /// everything socket-related allowed unconditionally.
    fn permissive() -> LinuxSeccomp {
        let mut p = profile(Preset::Default, DENY, false);
        let mut rules = p.syscalls().clone().unwrap();
        let socket = [
            "socket",
            "socketpair",
            "socketcall",
            "io_uring_setup",
            "io_uring_enter",
        ];
        rules.insert(0, rule(&socket, ALLOW, None, vec![]));
        p.set_syscalls(Some(rules));
        p
    }

    #[test]
    fn block_network_leaves_no_unconditional_socket_allow() {
        let mut allow_all = profile(Preset::Default, DENY, false);
        allow_all.set_default_action(ALLOW);
        allow_all.set_default_errno_ret(None);
        for mut p in [
            blocked(Preset::Default),
            blocked(Preset::Strict),
            permissive(),
            allow_all,
        ] {
            block_network(&mut p, NET);
            let again = {
                let mut q = p.clone();
                block_network(&mut q, NET);
                q
            };
            assert_eq!(again, p, "idempotent");
            for r in p.syscalls().iter().flatten() {
                let socket = r.names().iter().any(|n| n == "socket" || n == "socketpair");
                if socket && r.action() == ALLOW {
                    let args = r.args().clone().unwrap_or_default();
                    assert!(
                        args.iter()
                            .any(|a| a.index() == 0 && a.op() == EQ && a.value() == AF_UNIX)
                    );
                    assert!(
                        args.iter().all(|a| a.index() != 0 || a.value() == AF_UNIX),
                        "{r:?}"
                    );
                }
                let never = [
                    "socketcall",
                    "io_uring_setup",
                    "io_uring_enter",
                    "io_uring_register",
                ];
                assert!(
                    r.action() != ALLOW || !r.names().iter().any(|n| never.contains(&n.as_str()))
                );
            }
            compile(&p);
        }
    }

    #[test]
    fn unix_only_narrows_without_widening() {
        let ne16 = arg(0, NE, AF_NETLINK).unwrap();
        let eq2 = arg(0, EQ, AF_INET).unwrap();
        let ne9 = arg(2, NE, NETLINK_AUDIT).unwrap();
        let masked = arg2(0, MASKED_EQ, 0xff, Some(1)).unwrap();
        let eq1 = arg(0, EQ, AF_UNIX).unwrap();
        let r = |args: Vec<LinuxSeccompArg>| rule(&["socket"], ALLOW, None, args);
        let narrowed = |args| unix_only(&r(args)).unwrap();
        assert_eq!(narrowed(vec![]), vec![r(vec![eq1])]);
        assert_eq!(narrowed(vec![ne16, ne9]), vec![r(vec![eq1, ne9])]);
        assert_eq!(narrowed(vec![eq2]), vec![]);
        assert_eq!(narrowed(vec![masked]), vec![r(vec![eq1])]);
        // Two conditions on arg0 are two rules (OR): only ne16 keeps AF_UNIX.
        assert_eq!(narrowed(vec![ne16, eq2]), vec![r(vec![eq1])]);
    }

    fn default_checks() -> i32 {
        let audit = (libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT);
        if socket(libc::AF_INET, libc::SOCK_STREAM, 0) < 0 {
            1
        } else if !fails(socket(audit.0, audit.1, audit.2), libc::EINVAL as u32) {
            2
        } else if socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE) < 0 {
            3
        } else if syscall3(libc::SYS_personality, 0xffff_ffff, 0, 0) < 0 {
            4
        } else if !fails(syscall3(libc::SYS_personality, 0x0040000, 0, 0), DENY) {
            5 // ADDR_NO_RANDOMIZE
        } else if !fails(syscall3(libc::SYS_io_uring_setup, 1, 0, 0), DENY) {
            6
        } else {
            0
        }
    }

    #[test]
    fn default_filter_behaves_like_podmans() {
        let status = run_filtered(&profile(Preset::Default, DENY, false), default_checks);
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    }

    fn strict_blocked_checks() -> i32 {
        let newuser = (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_ulong;
        if !fails(socket(libc::AF_INET, libc::SOCK_STREAM, 0), NET) {
            1
        } else if !fails(socket(libc::AF_INET6, libc::SOCK_DGRAM, 0), NET) {
            2
        } else if socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) < 0 || socketpair(libc::AF_UNIX) != 0
        {
            3
        } else if !fails(socketpair(libc::AF_INET), NET) {
            4
        } else if !fails(
            syscall3(libc::SYS_ptrace, libc::PTRACE_TRACEME as _, 0, 0),
            DENY,
        ) {
            5
        } else if !fails(
            syscall3(libc::SYS_unshare, libc::CLONE_NEWUSER as _, 0, 0),
            DENY,
        ) {
            6
        } else if !fails(syscall3(libc::SYS_clone3, 0, 0, 0), libc::ENOSYS as u32) {
            7
        } else if !fails(syscall3(libc::SYS_personality, 0xffff_ffff, 0, 0), DENY) {
            8
        } else if !fails(syscall3(libc::SYS_io_uring_setup, 1, 0, 0), NET) {
            9
        } else {
            match syscall3(libc::SYS_clone, newuser, 0, 0) {
                // SAFETY: in the unexpected grandchild: leave at once.
                0 => unsafe { libc::_exit(0) },
                -1 if errno() == DENY => fork_still_works(),
                _ => 10,
            }
        }
    }

    /// Plain fork (clone without namespace flags) passes Strict's clone rule.
    fn fork_still_works() -> i32 {
        // SAFETY: the child is single-threaded; the grandchild exits at once.
        match unsafe { libc::fork() } {
            // SAFETY: leaves the grandchild without running anything else.
            0 => unsafe { libc::_exit(42) },
            pid if pid > 0 => {
                let mut status = 0;
                // SAFETY: `status` is a valid out-pointer.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 42 {
                    0
                } else {
                    11
                }
            }
            _ => 12,
        }
    }

    #[test]
    fn strict_blocked_filter_denies_in_a_child() {
        let status = run_filtered(&blocked(Preset::Strict), strict_blocked_checks);
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    }

    fn inet_socket() -> i32 {
        (socket(libc::AF_INET, libc::SOCK_STREAM, 0) >= 0) as i32
    }

    #[test]
    fn block_network_overrides_an_unconditional_socket_allow() {
        let p = permissive();
        assert!(matches!(
            run_filtered(&p, inet_socket),
            WaitStatus::Exited(_, 1)
        ));
        let mut p = permissive();
        block_network(&mut p, NET);
        let status = run_filtered(&p, strict_blocked_checks_net_only);
        assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    }

    fn strict_blocked_checks_net_only() -> i32 {
        if !fails(socket(libc::AF_INET, libc::SOCK_STREAM, 0), NET) {
            1
        } else if socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0) < 0 {
            2
        } else if !fails(syscall3(libc::SYS_io_uring_setup, 1, 0, 0), NET) {
            3
        } else {
            0
        }
    }

    /// Why block_network rewrites instead of adding a rule. After an
    /// unconditional allow, libseccomp drops the argument rule; before it,
    /// the rule's 32-bit x86 copy (socketcall, family check replaced by
    /// arg0 == SYS_SOCKET) collides with the allow's copy and compiling fails.
    #[test]
    fn libseccomp_shadows_argument_rules_next_to_an_unconditional_allow() {
        let deny_inet = rule(
            &["socket"],
            ERRNO,
            Some(NET),
            vec![arg(0, NE, AF_UNIX).unwrap()],
        );
        let with = |before: bool| {
            let mut p = permissive();
            let mut rules = p.syscalls().clone().unwrap();
            if before {
                rules.insert(0, deny_inet.clone());
            } else {
                rules.push(deny_inet.clone());
            }
            p.set_syscalls(Some(rules));
            p
        };
        let status = run_filtered(&with(false), inet_socket);
        assert!(matches!(status, WaitStatus::Exited(_, 1)), "{status:?}");
        let root = std::env::temp_dir().join(format!("cagebox-presets-{}-x", std::process::id()));
        let err = seccomp::cached(&root, &with(true)).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&root);
        assert!(err.contains("socket"), "{err}");
    }

    fn ptrace_kills() -> i32 {
        syscall3(libc::SYS_ptrace, libc::PTRACE_TRACEME as _, 0, 0);
        0
    }

    #[test]
    fn kill_mode_kills() {
        let status = run_filtered(&profile(Preset::Strict, DENY, true), ptrace_kills);
        assert!(
            matches!(status, WaitStatus::Signaled(_, Signal::SIGSYS, _)),
            "{status:?}"
        );
    }

    /// 32-bit x86 processes: the IA-32 syscall entry, reached with int 0x80
    /// from this 64-bit test, is filtered with SCMP_ARCH_X86's rules.
    #[cfg(target_arch = "x86_64")]
    mod ia32 {
        use super::*;

        const GETPID: u32 = 20;
        const SOCKETCALL: u32 = 102;
        const SOCKET: u32 = 359;
        const SYS_SOCKET: u32 = 1;

        fn int80(nr: u32, a: u32, b: u32, c: u32) -> i32 {
            let ret: u64;
            // SAFETY: one IA-32 syscall; the kernel reads eax/ebx/ecx/edx,
            // returns in eax and clobbers r8-r11. rbx cannot be an asm
            // operand, so it is swapped in and restored around the call.
            unsafe {
                std::arch::asm!(
                    "xchg rbx, {a}",
                    "int 0x80",
                    "xchg rbx, {a}",
                    a = inout(reg) u64::from(a) => _,
                    inlateout("rax") u64::from(nr) => ret,
                    in("rcx") u64::from(b),
                    in("rdx") u64::from(c),
                    out("r8") _, out("r9") _, out("r10") _, out("r11") _,
                );
            }
            ret as u32 as i32
        }

        /// socketcall(SYS_SOCKET, {AF_INET, SOCK_STREAM, 0}).
        fn socketcall_inet() -> i32 {
            // SAFETY: a fresh anonymous page below 2 GiB, so that a 32-bit
            // pointer reaches the argument block written into it.
            let page = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                    -1,
                    0,
                )
            };
            if page == libc::MAP_FAILED {
                return 0;
            }
            let args = page.cast::<u32>();
            // SAFETY: three u32 inside the page mapped above.
            unsafe {
                args.write(libc::AF_INET as u32);
                args.add(1).write(libc::SOCK_STREAM as u32);
                args.add(2).write(0);
            }
            int80(SOCKETCALL, SYS_SOCKET, page as usize as u32, 0)
        }

        fn checks() -> i32 {
            let (inet, unix, stream) = (libc::AF_INET as u32, libc::AF_UNIX as u32, 1);
            if socketcall_inet() != -(NET as i32) {
                1
            } else if int80(SOCKET, inet, stream, 0) != -(NET as i32) {
                2
            } else if int80(SOCKET, unix, stream, 0) < 0 {
                3
            } else {
                0
            }
        }

        fn inet_via_socketcall() -> i32 {
            (socketcall_inet() >= 0) as i32
        }

        fn ia32_emulation() -> bool {
            // SAFETY: the child makes one raw syscall and leaves through _exit.
            match unsafe { fork() }.unwrap() {
                ForkResult::Child => {
                    let ok = int80(GETPID, 0, 0, 0) > 0;
                    // SAFETY: as in run_filtered.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
                }
                ForkResult::Parent { child } => {
                    matches!(waitpid(child, None).unwrap(), WaitStatus::Exited(_, 0))
                }
            }
        }

        #[test]
        fn socketcall_cannot_bypass_block_network() {
            if !ia32_emulation() {
                eprintln!("skip: this kernel has no IA-32 emulation (int 0x80)");
                return;
            }
            let status = run_filtered(&blocked(Preset::Strict), checks);
            assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
            // Without the socketcall rule (and with the default doing the
            // refusing), the AF_UNIX-only rule's socketcall copy lets any
            // family through.
            let mut naive = blocked(Preset::Strict);
            let mut rules = naive.syscalls().clone().unwrap();
            rules.retain(|r| r.names() != &["socketcall"] && r.action() != ERRNO);
            naive.set_syscalls(Some(rules));
            let status = run_filtered(&naive, inet_via_socketcall);
            assert!(matches!(status, WaitStatus::Exited(_, 1)), "{status:?}");
        }
    }
}
