//! What this kernel offers, and which policy knobs it can enforce.
//!
//! `detect()` only reads: mountinfo, procfs and sysfs files, and one
//! query-only landlock syscall. It never writes a cgroup file or creates a
//! cgroup, so `cagebox doctor` is safe on any host. All file access goes
//! through [`Host`] so tests run the same decisions over fixture files.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cgroupfs::{self, CgroupLayout};
use super::knobs::{self, BlockFacts, Facts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupMode {
    V1,
    V2,
    /// v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified.
    /// libcontainer then uses only the v1 hierarchies.
    Hybrid,
}

impl CgroupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::V1 => "v1",
            CgroupMode::V2 => "v2",
            CgroupMode::Hybrid => "hybrid",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelFeatures {
    /// uname release.
    pub kernel: String,
    pub cgroup: CgroupMode,
    /// Controllers of the mounted v1 hierarchies (named ones like
    /// `name=systemd` excluded).
    pub v1_controllers: Vec<String>,
    /// `cgroup.controllers` of the v2 root (the `unified` mount in hybrid mode).
    pub v2_controllers: Vec<String>,
    /// `/proc/sys/user/max_user_namespaces` > 0.
    pub user_namespaces: bool,
    /// Seccomp line in `/proc/self/status` and a non-empty `actions_avail`.
    pub seccomp: bool,
    /// `/proc/sys/kernel/seccomp/actions_avail`.
    pub seccomp_actions: Vec<String>,
    /// `landlock_create_ruleset(NULL, 0, VERSION)`; None if unavailable.
    pub landlock_abi: Option<u32>,
    /// `/sys/module/apparmor/parameters/enabled` is `Y`.
    pub apparmor: bool,
    /// `/sys/fs/selinux/enforce` exists.
    pub selinux: bool,
    /// The [`Knob`]s asked for (all of them for [`detect`]), in
    /// [`Knob::ALL`] order, decided at detection time.
    pub knobs: Vec<(Knob, Support)>,
}

/// A policy setting that needs kernel support to be enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Knob {
    Memory,
    MemorySwap,
    CpuQuota,
    CpuShares,
    Pids,
    IoWeight,
    IoBandwidth,
    CgroupNamespace,
    UserNamespace,
    Seccomp,
    Landlock,
    /// Landlock ABI >= 3.
    LandlockTruncate,
    Freezer,
}

impl Knob {
    pub const ALL: [Knob; 13] = [
        Knob::Memory,
        Knob::MemorySwap,
        Knob::CpuQuota,
        Knob::CpuShares,
        Knob::Pids,
        Knob::IoWeight,
        Knob::IoBandwidth,
        Knob::CgroupNamespace,
        Knob::UserNamespace,
        Knob::Seccomp,
        Knob::Landlock,
        Knob::LandlockTruncate,
        Knob::Freezer,
    ];

    /// The same name serde uses.
    pub fn name(self) -> &'static str {
        match self {
            Knob::Memory => "memory",
            Knob::MemorySwap => "memory_swap",
            Knob::CpuQuota => "cpu_quota",
            Knob::CpuShares => "cpu_shares",
            Knob::Pids => "pids",
            Knob::IoWeight => "io_weight",
            Knob::IoBandwidth => "io_bandwidth",
            Knob::CgroupNamespace => "cgroup_namespace",
            Knob::UserNamespace => "user_namespace",
            Knob::Seccomp => "seccomp",
            Knob::Landlock => "landlock",
            Knob::LandlockTruncate => "landlock_truncate",
            Knob::Freezer => "freezer",
        }
    }
}

impl fmt::Display for Knob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Support {
    Yes,
    /// Why not, precise enough to act on.
    No(String),
}

impl Support {
    pub fn is_yes(&self) -> bool {
        matches!(self, Support::Yes)
    }
}

impl fmt::Display for Support {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Support::Yes => f.write_str("yes"),
            Support::No(why) => write!(f, "no: {why}"),
        }
    }
}

impl KernelFeatures {
    /// Whether `knob` can be enforced. A knob missing from `knobs` (a
    /// hand-built value) is unsupported: fail closed.
    pub fn supports(&self, knob: Knob) -> Support {
        self.knobs
            .iter()
            .find(|(k, _)| *k == knob)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| Support::No(format!("{knob} was not probed")))
    }
}

/// Read-only view of the host; the seam that lets tests use fixtures.
pub trait Host {
    /// File contents, None if unreadable.
    fn read(&self, path: &Path) -> Option<String>;
    fn exists(&self, path: &Path) -> bool;
    /// Sub-directories of `path` (following symlinks), sorted.
    fn child_dirs(&self, path: &Path) -> Vec<PathBuf>;
    fn kernel_release(&self) -> String;
    fn landlock_abi(&self) -> Option<u32>;
}

/// The running system.
pub struct RealHost;

/// `LANDLOCK_CREATE_RULESET_VERSION` from <linux/landlock.h> (not in libc).
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;

impl Host for RealHost {
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn child_dirs(&self, path: &Path) -> Vec<PathBuf> {
        let Ok(rd) = std::fs::read_dir(path) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs
    }

    fn kernel_release(&self) -> String {
        let mut uts = std::mem::MaybeUninit::<libc::utsname>::zeroed();
        // SAFETY: uname only writes into the utsname we pass, which lives
        // for the whole call; the buffer is zeroed, so it is initialised
        // (and NUL-terminated) even where uname leaves bytes untouched.
        let (rc, uts) = unsafe { (libc::uname(uts.as_mut_ptr()), uts.assume_init()) };
        if rc != 0 {
            return self
                .read(Path::new("/proc/sys/kernel/osrelease"))
                .map(|s| s.trim().to_owned())
                .unwrap_or_else(|| "unknown".to_owned());
        }
        let bytes: Vec<u8> = uts
            .release
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| c.to_ne_bytes()[0])
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn landlock_abi(&self) -> Option<u32> {
        // SAFETY: with a NULL attribute pointer, size 0 and only the
        // VERSION flag, landlock_create_ruleset reads no memory and creates
        // no file descriptor: it returns the ABI version or -1 (ENOSYS if
        // not built in, EOPNOTSUPP if disabled at boot).
        let ret = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        u32::try_from(ret).ok().filter(|abi| *abi >= 1)
    }
}

/// How cgroups are mounted for this process (one read of
/// /proc/self/mountinfo); None if it cannot be read.
pub fn current_cgroup_layout() -> Option<cgroupfs::CgroupLayout> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    Some(cgroupfs::cgroup_layout(&cgroupfs::parse_mountinfo(&text)))
}

/// Probe the running kernel for every knob (`cagebox doctor`, `features`).
pub fn detect() -> KernelFeatures {
    detect_with(&RealHost)
}

/// Probe the running kernel, deciding only `knobs` (what a policy uses):
/// the others answer "not probed". The per-run path of `cagebox exec` and
/// of every package script, so it skips e.g. the block-device scan unless
/// an io knob is asked for.
pub fn detect_knobs(knobs: &[Knob]) -> KernelFeatures {
    detect_knobs_with(&RealHost, knobs)
}

/// Probe through `host` (tests pass a fixture host).
pub fn detect_with(host: &dyn Host) -> KernelFeatures {
    detect_knobs_with(host, &Knob::ALL)
}

/// [`detect_knobs`] through `host`.
pub fn detect_knobs_with(host: &dyn Host, wanted: &[Knob]) -> KernelFeatures {
    let read = |p: &str| host.read(Path::new(p)).unwrap_or_default();
    let mounts = cgroupfs::parse_mountinfo(&read("/proc/self/mountinfo"));
    let layout = cgroupfs::cgroup_layout(&mounts);
    let v2_controllers = layout
        .v2_mount
        .as_ref()
        .and_then(|m| host.read(&m.join("cgroup.controllers")))
        .map(|t| cgroupfs::parse_words(&t))
        .unwrap_or_default();
    let seccomp_actions = cgroupfs::parse_words(&read("/proc/sys/kernel/seccomp/actions_avail"));
    let mut features = KernelFeatures {
        kernel: host.kernel_release(),
        cgroup: layout.mode,
        v1_controllers: layout.v1_controllers(),
        v2_controllers,
        user_namespaces: cgroupfs::user_namespaces_allowed(&read(
            "/proc/sys/user/max_user_namespaces",
        )),
        seccomp: cgroupfs::status_has_seccomp(&read("/proc/self/status"))
            && !seccomp_actions.is_empty(),
        seccomp_actions,
        landlock_abi: host.landlock_abi(),
        apparmor: cgroupfs::apparmor_enabled(&read("/sys/module/apparmor/parameters/enabled")),
        selinux: host.exists(Path::new("/sys/fs/selinux/enforce")),
        knobs: Vec::new(),
    };
    let facts = Facts {
        host,
        layout: &layout,
        v2_controllers: &features.v2_controllers,
        kernel: &features.kernel,
        user_namespaces: features.user_namespaces,
        seccomp: features.seccomp,
        landlock_abi: features.landlock_abi,
        // Only the io knobs look at block devices (one read per device).
        block: if wanted
            .iter()
            .any(|k| matches!(k, Knob::IoWeight | Knob::IoBandwidth))
        {
            block_facts(host, &layout)
        } else {
            BlockFacts::default()
        },
    };
    let knobs = Knob::ALL
        .iter()
        .filter(|k| wanted.contains(k))
        .map(|k| (*k, knobs::decide(*k, &facts)))
        .collect();
    features.knobs = knobs;
    features
}

fn block_facts(host: &dyn Host, layout: &CgroupLayout) -> BlockFacts {
    let mut b = BlockFacts::default();
    for dev in host.child_dirs(Path::new("/sys/block")) {
        let Some(text) = host.read(&dev.join("queue/scheduler")) else {
            continue;
        };
        let (active, all) = cgroupfs::parse_scheduler(&text);
        b.bfq_registered |= all.iter().any(|s| s == "bfq");
        b.bfq_active |= active.as_deref() == Some("bfq");
        b.cfq_active |= active.as_deref() == Some("cfq");
    }
    // io.cost.qos exists only on the root of a cgroup2 tree.
    if let Some(qos) = layout
        .v2_mount
        .as_ref()
        .and_then(|m| host.read(&m.join("io.cost.qos")))
    {
        b.iocost_present = true;
        b.iocost_enabled = cgroupfs::iocost_enabled(&qos);
    }
    b
}

/// Human report for `cagebox doctor`: one line per item.
pub fn render_text(f: &KernelFeatures) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut parts = Vec::new();
    if !f.v1_controllers.is_empty() {
        parts.push(format!("v1: {}", f.v1_controllers.join(",")));
    }
    if !f.v2_controllers.is_empty() {
        parts.push(format!("v2: {}", f.v2_controllers.join(",")));
    }
    if parts.is_empty() {
        parts.push("no controllers".to_owned());
    }
    let seccomp = if f.seccomp {
        format!("yes ({})", f.seccomp_actions.join(" "))
    } else {
        "no".to_owned()
    };
    let landlock = match f.landlock_abi {
        Some(abi) => format!("ABI {abi}"),
        None => "no".to_owned(),
    };
    let items = vec![
        ("kernel", f.kernel.clone()),
        (
            "cgroup",
            format!("{} ({})", f.cgroup.as_str(), parts.join("; ")),
        ),
        ("user namespaces", yes_no(f.user_namespaces).to_owned()),
        ("seccomp", seccomp),
        ("landlock", landlock),
        ("apparmor", yes_no(f.apparmor).to_owned()),
        ("selinux", yes_no(f.selinux).to_owned()),
    ];
    let mut lines: Vec<(String, String)> =
        items.into_iter().map(|(l, v)| (l.to_owned(), v)).collect();
    lines.extend(
        Knob::ALL
            .iter()
            .map(|k| (format!("knob {k}"), f.supports(*k).to_string())),
    );
    let width = lines.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for (label, value) in lines {
        out.push_str(&format!("{label:<width$}{value}\n"));
    }
    out
}
