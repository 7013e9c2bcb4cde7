//! Feature detection over fixture hosts: a pure v2 machine, a legacy v1
//! machine and this workplace's hybrid machine, plus one run on the real
//! kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::features::{
    CgroupMode, Host, KernelFeatures, Knob, Support, detect, detect_knobs_with, detect_with,
    render_text,
};

/// This machine's /proc/self/mountinfo (hybrid: v1 controllers, cgroup2 at
/// unified with only hugetlb).
const HYBRID_MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334192k,nr_inodes=3083548,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683584k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
45 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs none rw
";

/// A Debian 12 desktop/server with systemd: pure cgroup v2.
const V2_MOUNTINFO: &str = "\
22 29 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 29 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 29 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=8123456k,nr_inodes=2030864,mode=755,inode64
25 24 0:23 / /dev/pts rw,nosuid,noexec,relatime shared:3 - devpts devpts rw,gid=5,mode=620,ptmxmode=000
26 29 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1631412k,mode=755,inode64
29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
27 22 0:6 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:8 - securityfs securityfs rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
31 22 0:27 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
32 22 0:28 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:11 - bpf bpf rw,mode=700
40 26 0:35 / /run/user/1000 rw,nosuid,nodev,relatime shared:240 - tmpfs tmpfs rw,size=1631408k,nr_inodes=407852,mode=700,uid=1000,gid=1000,inode64
";

/// A legacy host (systemd booted with cgroup v1 only, 4.19 kernel).
const V1_MOUNTINFO: &str = "\
18 24 0:17 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
19 24 0:4 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
26 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
27 26 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,name=systemd
30 26 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
31 26 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
32 26 0:28 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,blkio
33 26 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,pids
34 26 0:30 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,freezer
35 26 0:31 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,net_cls,net_prio
36 26 0:32 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,devices
";

#[derive(Default)]
struct FakeHost {
    files: BTreeMap<PathBuf, String>,
    dirs: BTreeSet<PathBuf>,
    kernel: String,
    landlock: Option<u32>,
}

impl FakeHost {
    /// procfs basics every fixture machine shares.
    fn new(kernel: &str, landlock: Option<u32>) -> Self {
        FakeHost {
            kernel: kernel.to_owned(),
            landlock,
            ..FakeHost::default()
        }
        .file(
            "/proc/self/status",
            "Name:\tcat\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n",
        )
        .file(
            "/proc/sys/kernel/seccomp/actions_avail",
            "kill_process kill_thread trap errno user_notif trace log allow\n",
        )
        .file("/proc/sys/user/max_user_namespaces", "63311\n")
        .file("/proc/self/ns/cgroup", "")
    }

    fn file(mut self, path: &str, content: &str) -> Self {
        let p = PathBuf::from(path);
        self.dirs
            .extend(p.ancestors().skip(1).map(Path::to_path_buf));
        self.files.insert(p, content.to_owned());
        self
    }

    /// Empty files `names` in `dir`.
    fn files(self, dir: &str, names: &[&str]) -> Self {
        names
            .iter()
            .fold(self, |h, n| h.file(&format!("{dir}/{n}"), ""))
    }

    fn without(mut self, path: &str) -> Self {
        self.files.remove(Path::new(path));
        self
    }
}

impl Host for FakeHost {
    fn read(&self, path: &Path) -> Option<String> {
        self.files.get(path).cloned()
    }
    fn exists(&self, path: &Path) -> bool {
        self.files.contains_key(path) || self.dirs.contains(path)
    }
    fn child_dirs(&self, path: &Path) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .filter(|d| d.parent() == Some(path))
            .cloned()
            .collect()
    }
    fn kernel_release(&self) -> String {
        self.kernel.clone()
    }
    fn landlock_abi(&self) -> Option<u32> {
        self.landlock
    }
}

/// This machine, as far as detection reads it.
fn hybrid_host() -> FakeHost {
    let cg = "/sys/fs/cgroup";
    let mut h = FakeHost::new("6.18.44-fc-v1045", Some(7))
        .file("/proc/self/mountinfo", HYBRID_MOUNTINFO)
        .file(&format!("{cg}/unified/cgroup.controllers"), "hugetlb\n")
        .files(&format!("{cg}/unified"), &["cgroup.procs", "io.pressure"])
        .files(
            &format!("{cg}/memory"),
            &["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
        )
        .files(&format!("{cg}/cpu"), &["cpu.cfs_quota_us", "cpu.shares"])
        .files(
            &format!("{cg}/blkio"),
            &[
                "blkio.throttle.read_bps_device",
                "blkio.bfq.io_service_bytes",
            ],
        )
        .files(&format!("{cg}/pids"), &["cgroup.procs"])
        .files(&format!("{cg}/freezer"), &["cgroup.procs"]);
    for dev in ["loop0", "vda", "zram0"] {
        let sched = if dev == "vda" {
            "none [mq-deadline] kyber bfq\n"
        } else {
            "[none] mq-deadline kyber bfq\n"
        };
        h = h.file(&format!("/sys/block/{dev}/queue/scheduler"), sched);
    }
    h
}

fn v2_host() -> FakeHost {
    let cg = "/sys/fs/cgroup";
    let mut h = FakeHost::new("6.1.0-18-amd64", Some(2))
        .file("/proc/self/mountinfo", V2_MOUNTINFO)
        .file("/sys/module/apparmor/parameters/enabled", "Y\n")
        .file(
            &format!("{cg}/cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n",
        )
        .file(&format!("{cg}/io.cost.qos"), "")
        .file("/sys/block/nvme0n1/queue/scheduler", "[none] mq-deadline\n");
    for child in ["init.scope", "system.slice", "user.slice"] {
        h = h.files(
            &format!("{cg}/{child}"),
            &[
                "cgroup.procs",
                "cgroup.freeze",
                "memory.max",
                "memory.swap.max",
                "cpu.weight",
                "cpu.max",
                "io.stat",
                "io.max",
            ],
        );
    }
    h
}

fn v1_host() -> FakeHost {
    let cg = "/sys/fs/cgroup";
    FakeHost::new("4.19.0-25-amd64", None)
        .file("/proc/self/mountinfo", V1_MOUNTINFO)
        .file("/sys/module/apparmor/parameters/enabled", "Y\n")
        // Debian's 4.19 boots with swap accounting off: no memsw files.
        .files(&format!("{cg}/memory"), &["memory.limit_in_bytes"])
        .files(
            &format!("{cg}/cpu,cpuacct"),
            &["cpu.cfs_quota_us", "cpu.shares"],
        )
        .files(
            &format!("{cg}/blkio"),
            &["blkio.weight", "blkio.throttle.read_bps_device"],
        )
        .files(&format!("{cg}/pids"), &["cgroup.procs"])
        .files(&format!("{cg}/freezer"), &["cgroup.procs"])
        .file("/sys/block/sda/queue/scheduler", "noop deadline [cfq]\n")
}

fn no_reason(f: &KernelFeatures, k: Knob) -> String {
    match f.supports(k) {
        Support::No(why) => why,
        Support::Yes => panic!("{k} should be unsupported"),
    }
}

fn unsupported(f: &KernelFeatures) -> Vec<Knob> {
    Knob::ALL
        .into_iter()
        .filter(|k| !f.supports(*k).is_yes())
        .collect()
}

#[test]
fn hybrid_machine_fixture() {
    let f = detect_with(&hybrid_host());
    assert_eq!(f.cgroup, CgroupMode::Hybrid);
    assert_eq!(
        f.v1_controllers,
        [
            "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"
        ]
    );
    assert_eq!(f.v2_controllers, ["hugetlb"]);
    assert!(f.seccomp && f.user_namespaces && !f.apparmor && !f.selinux);
    assert_eq!(f.landlock_abi, Some(7));
    // bfq is loaded (listed) but no queue runs it: the weight is not enforced.
    assert_eq!(unsupported(&f), [Knob::IoWeight]);
    assert!(no_reason(&f, Knob::IoWeight).contains("no block device has bfq"));

    let f = detect_with(&hybrid_host().file(
        "/sys/block/vda/queue/scheduler",
        "none mq-deadline kyber [bfq]\n",
    ));
    assert!(f.supports(Knob::IoWeight).is_yes());
}

#[test]
fn hybrid_ignores_controllers_only_in_cgroup2() {
    // systemd's hybrid layout with memory moved to cgroup2: libcontainer's
    // v1 manager would silently skip the memory limit.
    let text = HYBRID_MOUNTINFO.replace(
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n",
        "",
    );
    let h = hybrid_host().file("/proc/self/mountinfo", &text).file(
        "/sys/fs/cgroup/unified/cgroup.controllers",
        "memory hugetlb\n",
    );
    let f = detect_with(&h);
    assert_eq!(f.cgroup, CgroupMode::Hybrid);
    let why = no_reason(&f, Knob::Memory);
    assert!(why.contains("memory controller is not mounted"), "{why}");
    assert!(why.contains("only in the cgroup2 hierarchy"), "{why}");
    assert!(!f.supports(Knob::MemorySwap).is_yes());
}

#[test]
fn pure_v2_fixture() {
    let f = detect_with(&v2_host());
    assert_eq!(f.cgroup, CgroupMode::V2);
    assert!(f.v1_controllers.is_empty());
    assert_eq!(f.v2_controllers.len(), 8);
    assert!(f.apparmor);
    // ABI 2 (Linux 6.1) has no truncate right; NVMe without bfq or iocost
    // cannot enforce io weights.
    assert_eq!(unsupported(&f), [Knob::IoWeight, Knob::LandlockTruncate]);
    assert!(no_reason(&f, Knob::IoWeight).contains("blk-iocost"));
    assert!(no_reason(&f, Knob::LandlockTruncate).contains("ABI 2"));

    let iocost = v2_host().file("/sys/fs/cgroup/io.cost.qos", "259:0 enable=1 ctrl=auto rpct=0.00 rlat=250000 wpct=0.00 wlat=250000 min=1.00 max=10000.00\n");
    assert!(detect_with(&iocost).supports(Knob::IoWeight).is_yes());
}

#[test]
fn v2_missing_controllers_and_swapaccount_off() {
    let mut h = v2_host().file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu memory\n");
    for child in ["init.scope", "system.slice", "user.slice"] {
        h = h.without(&format!("/sys/fs/cgroup/{child}/memory.swap.max"));
    }
    let f = detect_with(&h);
    assert!(no_reason(&f, Knob::Pids).contains("pids not in /sys/fs/cgroup/cgroup.controllers"));
    assert!(no_reason(&f, Knob::IoBandwidth).contains("io not in"));
    assert!(no_reason(&f, Knob::MemorySwap).contains("swapaccount=0"));
    assert!(f.supports(Knob::Memory).is_yes());
}

#[test]
fn v2_without_children_falls_back() {
    // A fresh cgroup namespace root: no child cgroups to look into.
    let h = FakeHost::new("5.1.0", Some(1))
        .file("/proc/self/mountinfo", V2_MOUNTINFO)
        .file("/sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n");
    let f = detect_with(&h);
    assert!(f.supports(Knob::MemorySwap).is_yes());
    assert!(f.supports(Knob::CpuQuota).is_yes());
    assert!(no_reason(&f, Knob::Freezer).contains("older than 5.2"));
    let f = detect_with(&FakeHost {
        kernel: "5.10.0".into(),
        ..h
    });
    assert!(f.supports(Knob::Freezer).is_yes());
}

#[test]
fn legacy_v1_fixture() {
    let f = detect_with(&v1_host());
    assert_eq!(f.cgroup, CgroupMode::V1);
    assert!(f.v2_controllers.is_empty());
    assert!(f.v1_controllers.contains(&"net_prio".to_owned()));
    assert!(!f.v1_controllers.iter().any(|c| c.contains("systemd")));
    assert_eq!(
        unsupported(&f),
        [Knob::MemorySwap, Knob::Landlock, Knob::LandlockTruncate]
    );
    assert_eq!(
        no_reason(&f, Knob::MemorySwap),
        "cgroup v1 memory.memsw.limit_in_bytes missing at /sys/fs/cgroup/memory (swapaccount=0 or CONFIG_MEMCG_SWAP off)"
    );
}

#[test]
fn kernel_without_much() {
    let h = FakeHost::new("3.10.0", None)
        .file(
            "/proc/self/mountinfo",
            "19 24 0:4 / /proc rw - proc proc rw\n",
        )
        .file("/proc/self/status", "Name:\tcat\n")
        .file("/proc/sys/user/max_user_namespaces", "0\n")
        .without("/proc/self/ns/cgroup");
    let f = detect_with(&h);
    assert_eq!(unsupported(&f), Knob::ALL);
    assert!(no_reason(&f, Knob::Memory).contains("nothing is mounted at /sys/fs/cgroup"));
    assert!(!f.seccomp);
}

#[test]
fn names_and_serialisation() {
    for k in Knob::ALL {
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!("\"{}\"", k.name())
        );
    }
    assert_eq!(
        serde_json::to_string(&CgroupMode::Hybrid).unwrap(),
        "\"hybrid\""
    );
    let f = detect_with(&hybrid_host());
    let v = serde_json::to_value(&f).unwrap();
    assert_eq!(v["cgroup"], "hybrid");
    assert_eq!(v["knobs"][0], serde_json::json!(["memory", "Yes"]));
    let hand_built = KernelFeatures {
        knobs: Vec::new(),
        ..f
    };
    assert!(no_reason(&hand_built, Knob::Pids).contains("not probed"));
}

#[test]
fn render_text_one_line_per_item() {
    let text = render_text(&detect_with(&hybrid_host()));
    assert_eq!(text.lines().count(), 7 + Knob::ALL.len());
    let line = |label: &str| {
        text.lines()
            .find(|l| l.split("  ").next() == Some(label))
            .map(|l| l[label.len()..].trim().to_owned())
    };
    assert_eq!(
        line("cgroup").as_deref(),
        Some("hybrid (v1: cpu,cpuacct,cpuset,memory,devices,freezer,blkio,pids; v2: hugetlb)")
    );
    assert_eq!(line("landlock").as_deref(), Some("ABI 7"));
    assert_eq!(line("knob memory").as_deref(), Some("yes"));
    assert!(line("knob io_weight").is_some_and(|v| v.starts_with("no: ")));
}

#[test]
fn detect_on_this_machine() {
    if !Path::new("/sys/fs/cgroup/unified").exists() {
        println!("skip: /sys/fs/cgroup/unified does not exist (not the hybrid CI machine)");
        return;
    }
    let f = detect();
    print!("{}", render_text(&f));
    assert_eq!(f.cgroup, CgroupMode::Hybrid);
    assert!(f.v1_controllers.contains(&"memory".to_owned()));
    assert!(
        f.landlock_abi.is_some_and(|abi| abi >= 1),
        "{:?}",
        f.landlock_abi
    );
    assert!(f.supports(Knob::Memory).is_yes());
    assert!(f.seccomp);
}

#[test]
fn deciding_only_the_knobs_a_policy_uses_gives_the_same_answers() {
    let iocost = v2_host().file("/sys/fs/cgroup/io.cost.qos", "259:0 enable=1 ctrl=auto\n");
    for host in [hybrid_host(), v2_host(), v1_host(), iocost] {
        let all = detect_with(&host);
        for knob in Knob::ALL {
            let one = detect_knobs_with(&host, &[knob]);
            assert_eq!(one.supports(knob), all.supports(knob), "{knob}");
            for other in Knob::ALL.iter().filter(|k| **k != knob) {
                assert_eq!(
                    one.supports(*other),
                    Support::No(format!("{other} was not probed")),
                    "{other} asked only {knob}"
                );
            }
        }
    }
}
