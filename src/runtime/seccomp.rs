//! seccomp: compile an OCI profile once, install the filter just before exec.
//!
//! libcontainer compiles `linux.seccomp` with libseccomp inside every new
//! container, which costs 6-25 ms per start for a profile like podman's. When
//! the process has `noNewPrivileges: true` (cagebox's own policies always do),
//! the kernel accepts a filter from an unprivileged task, so cagebox compiles
//! the profile with the same libseccomp in the parent, caches the BPF under
//! the state root, hands libcontainer the spec without `linux.seccomp`, and the
//! executor installs the BPF as the very last step before execve (as late as
//! runc does for no_new_privs processes). Everything else (no_new_privs
//! unset, SCMP_ACT_NOTIFY, WAIT_KILLABLE_RECV) stays on libcontainer's path.
//!
//! Rule semantics are runc's, including SCMP_CMP_MASKED_EQ, where `value` is
//! the mask and `valueTwo` the datum. libcontainer 0.7 swaps the two (so
//! Docker's `clone` rule never matches); `swap_masked_eq` corrects specs that
//! take libcontainer's path.

use std::collections::HashSet;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use libcontainer::oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, Spec,
};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

const MAGIC: &[u8; 8] = b"CGBPF01\n";
const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const FLAG_TSYNC: u32 = 1;
const FLAG_LOG: u32 = 2;
const FLAG_SPEC_ALLOW: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("seccomp profile: {0}")]
    Compile(String),
    #[error("seccomp cache {path}: {source}")]
    Cache {
        path: String,
        source: std::io::Error,
    },
    #[error("seccomp cache {0}: corrupt")]
    Corrupt(String),
}

/// A compiled filter: classic BPF instructions plus seccomp(2) flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    pub bpf: Vec<u8>,
    pub flags: u32,
}

/// Whether the profile can take the compile-once path (see module docs).
pub fn fast_path_eligible(spec: &Spec) -> bool {
    let nnp = spec.process().as_ref().and_then(|p| p.no_new_privileges()) == Some(true);
    let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return false;
    };
    let waitkill = seccomp
        .flags()
        .iter()
        .flatten()
        .any(|f| matches!(f, LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv));
    nnp && !waitkill
        && seccomp.listener_path().is_none()
        && !libcontainer::seccomp::is_notify(seccomp)
        && seccomp.default_action() != LinuxSeccompAction::ScmpActNotify
}

/// Swaps `value`/`valueTwo` of SCMP_CMP_MASKED_EQ arguments so libcontainer
/// applies them with runc's meaning. Returns whether anything changed.
pub fn swap_masked_eq(seccomp: &mut LinuxSeccomp) -> bool {
    let mut changed = false;
    let Some(mut syscalls) = seccomp.syscalls().clone() else {
        return false;
    };
    for sc in syscalls.iter_mut() {
        let Some(mut args) = sc.args().clone() else {
            continue;
        };
        for a in args.iter_mut() {
            if a.op() == LinuxSeccompOperator::ScmpCmpMaskedEq
                && let Ok(swapped) = LinuxSeccompArgBuilder::default()
                    .index(a.index())
                    .op(a.op())
                    .value(a.value_two().unwrap_or(0))
                    .value_two(a.value())
                    .build()
            {
                *a = swapped;
                changed = true;
            }
        }
        sc.set_args(Some(args));
    }
    seccomp.set_syscalls(Some(syscalls));
    changed
}

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction, SeccompError> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => {
            ScmpAction::Trace(u16::try_from(errno).map_err(|_| {
                SeccompError::Compile(format!("SCMP_ACT_TRACE value {errno} out of range"))
            })?)
        }
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(SeccompError::Compile(
                "SCMP_ACT_NOTIFY cannot be precompiled".into(),
            ));
        }
    })
}

fn arch(a: Arch) -> ScmpArch {
    match a {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    }
}

/// runc's operand order: for MASKED_EQ `value` is the mask, `valueTwo` the datum.
fn compare(
    index: u32,
    op: LinuxSeccompOperator,
    value: u64,
    value_two: Option<u64>,
) -> ScmpArgCompare {
    let op2 = |o| ScmpArgCompare::new(index, o, value);
    match op {
        LinuxSeccompOperator::ScmpCmpNe => op2(ScmpCompareOp::NotEqual),
        LinuxSeccompOperator::ScmpCmpLt => op2(ScmpCompareOp::Less),
        LinuxSeccompOperator::ScmpCmpLe => op2(ScmpCompareOp::LessOrEqual),
        LinuxSeccompOperator::ScmpCmpEq => op2(ScmpCompareOp::Equal),
        LinuxSeccompOperator::ScmpCmpGe => op2(ScmpCompareOp::GreaterEqual),
        LinuxSeccompOperator::ScmpCmpGt => op2(ScmpCompareOp::Greater),
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpArgCompare::new(
            index,
            ScmpCompareOp::MaskedEqual(value),
            value_two.unwrap_or(0),
        ),
    }
}

fn err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> SeccompError + '_ {
    move |e| SeccompError::Compile(format!("{what}: {e}"))
}

fn build_context(s: &LinuxSeccomp) -> Result<(ScmpFilterContext, u32), SeccompError> {
    let default = action(s.default_action(), s.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(err("new filter"))?;
    let mut flags = 0;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                return Err(SeccompError::Compile(
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a notify listener".into(),
                ));
            }
        };
    }
    // A binary tree over the syscall numbers instead of libseccomp's default
    // linear chain: the kernel runs the filter for every syscall number when
    // it is loaded (to build its per-syscall action cache) and on every
    // uncached syscall, so a shorter path matters at both (docs/benchmarks.md).
    // Only speed: a libseccomp older than 2.5 without the attribute gets
    // the linear chain.
    let _ = ctx.set_ctl_optimize(OPTIMIZE);
    for a in s.architectures().iter().flatten() {
        ctx.add_arch(arch(*a)).map_err(err("add architecture"))?;
    }
    for sc in s.syscalls().iter().flatten() {
        let act = action(sc.action(), sc.errno_ret())?;
        // libseccomp refuses rules equal to the default; they change nothing.
        if act == default {
            continue;
        }
        for name in sc.names() {
            // Like runc: a name this libseccomp does not know (a syscall newer
            // than it) cannot be called through it either.
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                tracing::debug!("seccomp: unknown syscall {name}, skipped");
                continue;
            };
            let cmps: Vec<ScmpArgCompare> = sc
                .args()
                .iter()
                .flatten()
                .map(|a| compare(a.index() as u32, a.op(), a.value(), a.value_two()))
                .collect();
            let indexes: HashSet<usize> = sc.args().iter().flatten().map(|a| a.index()).collect();
            if cmps.is_empty() {
                ctx.add_rule(act, nr).map_err(err(name))?;
            } else if indexes.len() == cmps.len() {
                ctx.add_rule_conditional(act, nr, &cmps)
                    .map_err(err(name))?;
            } else {
                // Several conditions on one argument: one rule each (runc).
                for c in &cmps {
                    ctx.add_rule_conditional(act, nr, std::slice::from_ref(c))
                        .map_err(err(name))?;
                }
            }
        }
    }
    Ok((ctx, flags))
}

/// Compiles the profile with libseccomp and exports the BPF through `scratch`.
fn compile_into(s: &LinuxSeccomp, scratch: &mut fs::File) -> Result<Compiled, SeccompError> {
    let (ctx, flags) = build_context(s)?;
    ctx.export_bpf(&*scratch).map_err(err("export"))?;
    let io = |source| SeccompError::Cache {
        path: "scratch".into(),
        source,
    };
    scratch.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut bpf = Vec::new();
    scratch.read_to_end(&mut bpf).map_err(io)?;
    if bpf.is_empty() || bpf.len() % 8 != 0 {
        return Err(SeccompError::Compile(
            "libseccomp exported no program".into(),
        ));
    }
    Ok(Compiled { bpf, flags })
}

/// libseccomp's `SCMP_FLTATR_CTL_OPTIMIZE`: 2 = binary tree.
const OPTIMIZE: u32 = 2;

fn cache_key(profile_json: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    profile_json.hash(&mut h);
    OPTIMIZE.hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    v.hash(&mut h);
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Returns the compiled filter for `s`, from `<root>/.seccomp` when a
/// previous container compiled the same profile. The cache file embeds the
/// whole profile, compared byte for byte, so a hash collision can only cost
/// a recompile, never a wrong filter.
pub fn cached(root: &Path, s: &LinuxSeccomp) -> Result<Compiled, SeccompError> {
    let profile = serde_json::to_string(s).map_err(err("serialize"))?;
    let dir = root.join(".seccomp");
    let path = dir.join(format!("{}.bpf", cache_key(&profile)));
    if let Ok(bytes) = fs::read(&path)
        && let Some(c) = decode(&bytes, profile.as_bytes())
    {
        return Ok(c);
    }
    let io = |p: &PathBuf| {
        let p = p.display().to_string();
        move |source| SeccompError::Cache { path: p, source }
    };
    fs::create_dir_all(&dir).map_err(io(&dir))?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    let mut scratch = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io(&tmp))?;
    let compiled = compile_into(s, &mut scratch);
    drop(scratch);
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let written = fs::write(&tmp, encode(&compiled, profile.as_bytes()))
        .and_then(|_| fs::rename(&tmp, &path));
    if written.is_err() {
        // The cache is an optimisation: a failed write only costs time.
        let _ = fs::remove_file(&tmp);
    }
    Ok(compiled)
}

/// File layout: MAGIC, flags (u32 LE), profile length (u32 LE), profile, BPF.
pub fn encode(c: &Compiled, profile: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + profile.len() + c.bpf.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&c.flags.to_le_bytes());
    out.extend_from_slice(&(profile.len() as u32).to_le_bytes());
    out.extend_from_slice(profile);
    out.extend_from_slice(&c.bpf);
    out
}

/// Parses a cache or state file; `profile` None accepts any embedded profile.
pub fn decode_any(bytes: &[u8]) -> Option<Compiled> {
    decode_inner(bytes, None)
}

fn decode(bytes: &[u8], profile: &[u8]) -> Option<Compiled> {
    decode_inner(bytes, Some(profile))
}

fn decode_inner(bytes: &[u8], profile: Option<&[u8]>) -> Option<Compiled> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let flags = u32::from_le_bytes(rest.get(0..4)?.try_into().ok()?);
    let len = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?) as usize;
    let embedded = rest.get(8..8 + len)?;
    if profile.is_some_and(|p| p != embedded) {
        return None;
    }
    let bpf = rest.get(8 + len..)?.to_vec();
    if bpf.is_empty() || bpf.len() % 8 != 0 {
        return None;
    }
    Some(Compiled { bpf, flags })
}

/// Writes the filter where `exec` finds it for processes joining the container.
pub fn save(path: &Path, c: &Compiled) -> Result<(), SeccompError> {
    let mut f = fs::File::create(path).map_err(|source| SeccompError::Cache {
        path: path.display().to_string(),
        source,
    })?;
    f.write_all(&encode(c, b""))
        .map_err(|source| SeccompError::Cache {
            path: path.display().to_string(),
            source,
        })
}

/// Installs the filter on the calling thread. The caller must have set
/// no_new_privs (or hold CAP_SYS_ADMIN): the kernel refuses otherwise.
pub fn install(c: &Compiled) -> Result<(), nix::errno::Errno> {
    let len = u16::try_from(c.bpf.len() / 8).map_err(|_| nix::errno::Errno::E2BIG)?;
    let prog = libc::sock_fprog {
        len,
        filter: c.bpf.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `len` 8-byte sock_filter records inside
    // `c.bpf`, which outlives the call; the kernel copies the program.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            c.flags as libc::c_ulong,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libcontainer::oci_spec::runtime::{LinuxSeccompBuilder, LinuxSyscallBuilder};

    fn profile(op: LinuxSeccompOperator, value: u64, value_two: u64) -> LinuxSeccomp {
        LinuxSeccompBuilder::default()
            .default_action(LinuxSeccompAction::ScmpActAllow)
            .architectures(vec![Arch::ScmpArchX86_64])
            .syscalls(vec![
                LinuxSyscallBuilder::default()
                    .names(vec!["mkdir".to_string(), "no_such_syscall".to_string()])
                    .action(LinuxSeccompAction::ScmpActErrno)
                    .errno_ret(1u32)
                    .args(vec![
                        LinuxSeccompArgBuilder::default()
                            .index(1usize)
                            .op(op)
                            .value(value)
                            .value_two(value_two)
                            .build()
                            .unwrap(),
                    ])
                    .build()
                    .unwrap(),
            ])
            .build()
            .unwrap()
    }

    #[test]
    fn encode_decode_round_trip_checks_the_profile() {
        let c = Compiled {
            bpf: vec![1; 16],
            flags: FLAG_LOG,
        };
        let bytes = encode(&c, b"{p}");
        assert_eq!(decode(&bytes, b"{p}"), Some(c.clone()));
        assert_eq!(decode(&bytes, b"{q}"), None);
        assert_eq!(decode_any(&bytes), Some(c));
        assert_eq!(decode_any(b"garbage"), None);
    }

    #[test]
    fn compiles_and_caches_a_profile() {
        let root = std::env::temp_dir().join(format!("cagebox-seccomp-{}", std::process::id()));
        let s = profile(LinuxSeccompOperator::ScmpCmpEq, 0o700, 0);
        let first = cached(&root, &s).unwrap();
        assert!(first.bpf.len() >= 8 && first.bpf.len().is_multiple_of(8));
        let files: Vec<_> = fs::read_dir(root.join(".seccomp")).unwrap().collect();
        assert_eq!(files.len(), 1, "one cache file, no temp left");
        assert_eq!(cached(&root, &s).unwrap(), first);
        let other = cached(&root, &profile(LinuxSeccompOperator::ScmpCmpEq, 0o755, 0)).unwrap();
        assert_ne!(other.bpf, first.bpf);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn masked_eq_swap_is_an_involution() {
        let mut s = profile(LinuxSeccompOperator::ScmpCmpMaskedEq, 0x7E02_0000, 0);
        assert!(swap_masked_eq(&mut s));
        let a = &s.syscalls().as_ref().unwrap()[0].args().as_ref().unwrap()[0];
        assert_eq!((a.value(), a.value_two()), (0, Some(0x7E02_0000)));
        let mut eq = profile(LinuxSeccompOperator::ScmpCmpEq, 5, 0);
        assert!(!swap_masked_eq(&mut eq));
    }
}
