//! Which policy knobs this kernel can enforce, given what `features`
//! probed. Each knob is decided by what libcontainer 0.7 will actually do:
//! in v1 *and hybrid* mode it drives only v1 hierarchies (libcgroups'
//! `create_cgroup_manager` picks the v1 manager for both) and silently
//! skips controllers it cannot find, so "mounted in cgroup2 only" is a No.

use std::path::{Path, PathBuf};

use super::cgroupfs::{CgroupLayout, kernel_version};
use super::features::{CgroupMode, Host, Knob, Support};

/// What the block layer can enforce for proportional I/O weights.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BlockFacts {
    /// Some queue lists bfq: its cgroup policy is then registered, so
    /// `blkio.bfq.weight`/`io.bfq.weight` exist in child cgroups, and
    /// libcontainer writes those instead of the generic weight file.
    pub bfq_registered: bool,
    /// Some queue runs bfq: a bfq weight is enforced there.
    pub bfq_active: bool,
    /// Some queue runs cfq (kernels before 5.0): enforces `blkio.weight`.
    pub cfq_active: bool,
    /// blk-iocost is on for some device (v2 `io.cost.qos` `enable=1`).
    pub iocost_enabled: bool,
    /// The v2 root has `io.cost.qos` at all (CONFIG_BLK_CGROUP_IOCOST).
    pub iocost_present: bool,
}

/// Everything a knob decision may look at.
pub(crate) struct Facts<'a> {
    pub host: &'a dyn Host,
    pub layout: &'a CgroupLayout,
    pub v2_controllers: &'a [String],
    pub kernel: &'a str,
    pub user_namespaces: bool,
    pub seccomp: bool,
    pub landlock_abi: Option<u32>,
    pub block: BlockFacts,
}

const BFQ_IDLE: &str = "no block device has bfq as its active scheduler \
     (/sys/block/*/queue/scheduler), so a weight would be written but not enforced";

pub(crate) fn decide(knob: Knob, f: &Facts) -> Support {
    match knob {
        // v1: memory.limit_in_bytes at the memory hierarchy root.
        // v2: "memory" in the root's cgroup.controllers.
        Knob::Memory => by_mode(
            f,
            || v1_file(f, "memory", "memory.limit_in_bytes", ""),
            || v2_controller(f, "memory"),
        ),
        // v1: memory.memsw.limit_in_bytes at the memory root (absent with
        // swapaccount=0). v2: memory.swap.max in an existing child cgroup
        // that has memory files; with no such child, the memory controller
        // alone (libcontainer's write of memory.swap.max then fails loudly
        // if the file is missing: still fail-closed).
        Knob::MemorySwap => by_mode(
            f,
            || {
                v1_file(
                    f,
                    "memory",
                    "memory.memsw.limit_in_bytes",
                    " (swapaccount=0 or CONFIG_MEMCG_SWAP off)",
                )
            },
            || v2_child_file(f, "memory", "memory.max", "memory.swap.max", None),
        ),
        // v1: cpu.cfs_quota_us at the cpu root (CONFIG_CFS_BANDWIDTH).
        // v2: "cpu" controller, and cpu.max in a child that has cpu files.
        Knob::CpuQuota => by_mode(
            f,
            || v1_file(f, "cpu", "cpu.cfs_quota_us", " (CONFIG_CFS_BANDWIDTH off)"),
            || v2_child_file(f, "cpu", "cpu.weight", "cpu.max", None),
        ),
        // v1: cpu.shares at the cpu root. v2: "cpu" controller (cpu.weight;
        // libcontainer converts shares to a weight).
        Knob::CpuShares => by_mode(
            f,
            || v1_file(f, "cpu", "cpu.shares", ""),
            || v2_controller(f, "cpu"),
        ),
        // v1: the pids hierarchy is mounted (its root has no pids.max).
        // v2: "pids" controller.
        Knob::Pids => by_mode(
            f,
            || v1_mounted(f, "pids", Some("pids")),
            || v2_controller(f, "pids"),
        ),
        // Weights are enforced only by a scheduler that honours them, so
        // this needs both the file libcontainer writes and such a scheduler.
        Knob::IoWeight => by_mode(f, || v1_io_weight(f), || v2_io_weight(f)),
        // v1: blkio.throttle.read_bps_device at the blkio root
        // (CONFIG_BLK_DEV_THROTTLING). v2: "io" controller, and io.max in
        // a child that has io files.
        Knob::IoBandwidth => by_mode(
            f,
            || {
                v1_file(
                    f,
                    "blkio",
                    "blkio.throttle.read_bps_device",
                    " (CONFIG_BLK_DEV_THROTTLING off)",
                )
            },
            || v2_child_file(f, "io", "io.stat", "io.max", None),
        ),
        // /proc/self/ns/cgroup exists (CONFIG_CGROUPS + kernel >= 4.6).
        Knob::CgroupNamespace => exists_or(f, "/proc/self/ns/cgroup", "no cgroup namespaces"),
        // /proc/sys/user/max_user_namespaces > 0.
        Knob::UserNamespace => yes_if(
            f.user_namespaces,
            "user namespaces disabled (/proc/sys/user/max_user_namespaces is 0 or missing)",
        ),
        // Seccomp line in /proc/self/status and a non-empty actions_avail.
        Knob::Seccomp => yes_if(
            f.seccomp,
            "no seccomp filter mode (no Seccomp line in /proc/self/status or no /proc/sys/kernel/seccomp/actions_avail)",
        ),
        // landlock_create_ruleset(VERSION) answered with an ABI >= 1.
        Knob::Landlock => landlock(f, 1, "Landlock"),
        // LANDLOCK_ACCESS_FS_TRUNCATE arrived with ABI 3 (Linux 6.2).
        Knob::LandlockTruncate => landlock(f, 3, "Landlock truncate control"),
        // v1: the freezer hierarchy is mounted (its root has no
        // freezer.state). v2: cgroup.freeze in an existing child cgroup;
        // with no child, kernel >= 5.2.
        Knob::Freezer => by_mode(
            f,
            || v1_mounted(f, "freezer", None),
            || v2_child_file(f, "", "cgroup.procs", "cgroup.freeze", Some((5, 2))),
        ),
    }
}

fn yes_if(ok: bool, why_not: &str) -> Support {
    if ok {
        Support::Yes
    } else {
        Support::No(why_not.to_owned())
    }
}

fn exists_or(f: &Facts, path: &str, why_not: &str) -> Support {
    yes_if(
        f.host.exists(Path::new(path)),
        &format!("{why_not} ({path} missing)"),
    )
}

fn landlock(f: &Facts, min_abi: u32, what: &str) -> Support {
    match f.landlock_abi {
        Some(abi) if abi >= min_abi => Support::Yes,
        Some(abi) => Support::No(format!(
            "{what} needs Landlock ABI {min_abi}, the kernel has ABI {abi}"
        )),
        None => Support::No(format!(
            "{what}: Landlock not available (not built in, or not in the lsm= boot list)"
        )),
    }
}

/// cgroup knobs: v1 checks in v1 and hybrid mode, v2 checks in v2 mode,
/// and nothing at all when libcgroups cannot detect the setup.
fn by_mode(f: &Facts, v1: impl FnOnce() -> Support, v2: impl FnOnce() -> Support) -> Support {
    if let Some(problem) = &f.layout.problem {
        return Support::No(problem.clone());
    }
    match f.layout.mode {
        CgroupMode::V1 | CgroupMode::Hybrid => v1(),
        CgroupMode::V2 => v2(),
    }
}

/// The v1 hierarchy root for `controller`, with a hint in hybrid mode when
/// the controller sits in the cgroup2 tree that libcontainer ignores.
fn v1_root(f: &Facts, controller: &str, v2_name: Option<&str>) -> Result<PathBuf, String> {
    f.layout
        .v1_root(controller)
        .map(Path::to_path_buf)
        .map_err(|e| match v2_name {
            Some(n) if f.layout.mode == CgroupMode::Hybrid && has(f.v2_controllers, n) => format!(
                "{e}; {n} is only in the cgroup2 hierarchy, which libcontainer does not use in hybrid mode"
            ),
            Some(_) | None => e,
        })
}

fn v2_name_of(v1_controller: &str) -> &str {
    match v1_controller {
        "blkio" => "io",
        other => other,
    }
}

fn v1_mounted(f: &Facts, controller: &str, v2_name: Option<&str>) -> Support {
    match v1_root(f, controller, v2_name) {
        Ok(_) => Support::Yes,
        Err(e) => Support::No(e),
    }
}

fn v1_file(f: &Facts, controller: &str, file: &str, hint: &str) -> Support {
    let root = match v1_root(f, controller, Some(v2_name_of(controller))) {
        Ok(r) => r,
        Err(e) => return Support::No(e),
    };
    yes_if(
        f.host.exists(&root.join(file)),
        &format!("cgroup v1 {file} missing at {}{hint}", root.display()),
    )
}

fn has(list: &[String], name: &str) -> bool {
    list.iter().any(|c| c == name)
}

fn v2_root<'a>(f: &'a Facts<'_>) -> Result<&'a Path, String> {
    f.layout
        .v2_mount
        .as_deref()
        .ok_or_else(|| "no cgroup2 mount".to_owned())
}

fn v2_controller(f: &Facts, controller: &str) -> Support {
    match v2_root(f) {
        Ok(root) => yes_if(
            has(f.v2_controllers, controller),
            &format!("{controller} not in {}/cgroup.controllers", root.display()),
        ),
        Err(e) => Support::No(e),
    }
}

/// A v2 interface file that only non-root cgroups have. Read-only, so we
/// look in the children that already exist: one showing `witness` (the
/// controller is enabled there) but not `file` proves the file is missing.
/// With no such child, fall back to the controller list, or for core files
/// (`controller` empty) to a minimum kernel version.
fn v2_child_file(
    f: &Facts,
    controller: &str,
    witness: &str,
    file: &str,
    min_kernel: Option<(u32, u32)>,
) -> Support {
    if !controller.is_empty()
        && let Support::No(why) = v2_controller(f, controller)
    {
        return Support::No(why);
    }
    let root = match v2_root(f) {
        Ok(r) => r,
        Err(e) => return Support::No(e),
    };
    let witnesses: Vec<PathBuf> = f
        .host
        .child_dirs(root)
        .into_iter()
        .filter(|d| f.host.exists(&d.join(witness)))
        .collect();
    if witnesses.iter().any(|d| f.host.exists(&d.join(file))) {
        return Support::Yes;
    }
    if let Some(d) = witnesses.first() {
        return Support::No(format!(
            "{file} missing in {} although {witness} is there{}",
            d.display(),
            if file == "memory.swap.max" {
                " (swapaccount=0?)"
            } else {
                ""
            }
        ));
    }
    match min_kernel {
        None => Support::Yes,
        Some(min) => yes_if(
            kernel_version(f.kernel).is_some_and(|v| v >= min),
            &format!(
                "no child cgroup shows {file} and kernel {} is older than {}.{}",
                f.kernel, min.0, min.1
            ),
        ),
    }
}

/// v1: libcontainer writes blkio.weight if the root has it (CFQ), else
/// blkio.bfq.weight (present in children when bfq is registered).
fn v1_io_weight(f: &Facts) -> Support {
    let root = match v1_root(f, "blkio", Some("io")) {
        Ok(r) => r,
        Err(e) => return Support::No(e),
    };
    if f.host.exists(&root.join("blkio.weight")) {
        return yes_if(
            f.block.cfq_active,
            "blkio.weight is the CFQ scheduler's, and no block device runs cfq",
        );
    }
    if f.block.bfq_registered {
        return yes_if(f.block.bfq_active, BFQ_IDLE);
    }
    Support::No(format!(
        "neither blkio.weight (CFQ, removed in 5.0) at {} nor bfq (blkio.bfq.weight) is available",
        root.display()
    ))
}

/// v2: libcontainer writes io.bfq.weight when it exists (bfq registered),
/// else io.weight, which only blk-iocost enforces.
fn v2_io_weight(f: &Facts) -> Support {
    if let Support::No(why) = v2_controller(f, "io") {
        return Support::No(why);
    }
    if f.block.bfq_registered {
        return yes_if(f.block.bfq_active, BFQ_IDLE);
    }
    if !f.block.iocost_present {
        return Support::No(
            "io.weight needs blk-iocost (no io.cost.qos at the cgroup2 root) or bfq (not loaded)"
                .to_owned(),
        );
    }
    yes_if(
        f.block.iocost_enabled,
        "io.weight is enforced only by blk-iocost, which is not enabled for any device (io.cost.qos has no enable=1); bfq is not loaded",
    )
}
