//! Pure parsers for the kernel text files that feature detection reads
//! (`/proc/self/mountinfo`, `cgroup.controllers`, `/proc/self/status`,
//! block-queue `scheduler`, ...). No I/O here: `features` reads, these
//! functions interpret, and unit tests feed them fixture strings.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use super::features::CgroupMode;

/// Where libcgroups 0.7 looks to decide the cgroup setup (its
/// `DEFAULT_CGROUP_ROOT`); it does not follow mounts elsewhere, so neither
/// may we when deciding what libcontainer will enforce.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// cgroup v1 controllers as they appear in a `cgroup` mount's super
/// options. Everything else there (`rw`, `name=systemd`, `noprefix`,
/// `xattr`, `clone_children`, `release_agent=...`) is not a controller.
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "debug",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// The v1 controllers libcgroups 0.7 manages: a container gets a directory
/// on each hierarchy that has one of them.
const LIBCGROUPS_V1: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "hugetlb",
    "memory",
    "pids",
    "perf_event",
    "blkio",
    "net_cls",
    "net_prio",
    "freezer",
];

/// One line of `/proc/self/mountinfo`, the fields detection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// Path inside the mounted filesystem that is mounted here (`/` unless
    /// a subtree is bind-mounted or a cgroup namespace hides the rest).
    pub root: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
    pub super_options: Vec<String>,
}

/// Parse mountinfo text; malformed lines are skipped, not fatal, because a
/// single odd line must not hide every cgroup mount.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_mountinfo_line).collect()
}

fn parse_mountinfo_line(line: &str) -> Option<MountEntry> {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    let fields: Vec<&str> = line.split_whitespace().collect();
    let sep = 6 + fields.get(6..)?.iter().position(|f| *f == "-")?;
    let fs_type = fields.get(sep + 1)?;
    let super_options = fields
        .get(sep + 3)
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    Some(MountEntry {
        root: String::from_utf8_lossy(&unescape_octal(fields.get(3)?)).into_owned(),
        mount_point: PathBuf::from(OsString::from_vec(unescape_octal(fields.get(4)?))),
        fs_type: (*fs_type).to_owned(),
        super_options,
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match octal {
            Some(byte) => {
                out.push(byte);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

/// One mounted cgroup v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    pub mount_point: PathBuf,
    /// Controllers bound to it; empty for named hierarchies (`name=systemd`).
    pub controllers: Vec<String>,
}

impl V1Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// How cgroups are mounted, as libcgroups 0.7 will see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLayout {
    pub mode: CgroupMode,
    /// Every `cgroup` (v1) mount, in mountinfo order.
    pub v1: Vec<V1Hierarchy>,
    /// The cgroup2 mount whose `cgroup.controllers` we report: the root in
    /// v2 mode, `unified` in hybrid mode, else the first cgroup2 mount.
    pub v2_mount: Option<PathBuf>,
    /// Set when libcgroups cannot detect the setup at all; every cgroup
    /// knob is then unenforceable, whatever is mounted elsewhere.
    pub problem: Option<String>,
}

/// Decide the cgroup mode the way libcgroups' `get_cgroup_setup` does
/// (cgroup2 at the root: v2; tmpfs at the root with cgroup2 at
/// `root/unified`: hybrid; tmpfs otherwise: v1), but from mountinfo. The
/// last mount at a path is the one visible there (later mounts cover
/// earlier ones).
pub fn cgroup_layout(mounts: &[MountEntry]) -> CgroupLayout {
    let root = Path::new(CGROUP_ROOT);
    let unified = root.join("unified");
    let fs_at = |p: &Path| {
        mounts
            .iter()
            .rev()
            .find(|m| m.mount_point == p)
            .map(|m| m.fs_type.as_str())
    };
    let (mode, problem) = match fs_at(root) {
        Some("cgroup2") => (CgroupMode::V2, None),
        Some("tmpfs") if fs_at(&unified) == Some("cgroup2") => (CgroupMode::Hybrid, None),
        Some("tmpfs") => (CgroupMode::V1, None),
        Some(other) => (
            CgroupMode::V1,
            Some(format!(
                "{CGROUP_ROOT} is a {other} mount; libcontainer only recognises tmpfs (v1, hybrid) or cgroup2 there"
            )),
        ),
        None => (
            CgroupMode::V1,
            Some(format!(
                "nothing is mounted at {CGROUP_ROOT}; libcontainer cannot detect the cgroup setup"
            )),
        ),
    };
    let v2_mount = match mode {
        CgroupMode::V2 => Some(root.to_path_buf()),
        CgroupMode::Hybrid => Some(unified),
        CgroupMode::V1 => mounts
            .iter()
            .find(|m| m.fs_type == "cgroup2")
            .map(|m| m.mount_point.clone()),
    };
    let v1 = mounts
        .iter()
        .filter(|m| m.fs_type == "cgroup")
        .map(|m| V1Hierarchy {
            mount_point: m.mount_point.clone(),
            controllers: m
                .super_options
                .iter()
                .filter(|o| V1_CONTROLLERS.contains(&o.as_str()))
                .cloned()
                .collect(),
        })
        .collect();
    CgroupLayout {
        mode,
        v1,
        v2_mount,
        problem,
    }
}

impl CgroupLayout {
    /// The hierarchies libcgroups puts a container in: on v1 and hybrid
    /// every v1 hierarchy with a controller it manages (not name=systemd,
    /// not the hybrid unified mount); on pure v2 the cgroup2 root. None
    /// when there is none (the caller must then not assume it removed
    /// anything).
    pub fn container_hierarchies(&self) -> Option<Vec<PathBuf>> {
        let v1: Vec<PathBuf> = self
            .v1
            .iter()
            .filter(|h| {
                h.controllers
                    .iter()
                    .any(|c| LIBCGROUPS_V1.contains(&c.as_str()))
            })
            .map(|h| h.mount_point.clone())
            .collect();
        if !v1.is_empty() {
            return Some(v1);
        }
        match (self.mode, &self.v2_mount) {
            (CgroupMode::V2, Some(root)) => Some(vec![root.clone()]),
            _ => None,
        }
    }

    /// The mount point of the first v1 hierarchy with `controller`.
    pub fn v1_with(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|h| h.has(controller))
            .map(|h| h.mount_point.as_path())
    }

    /// Controllers of all mounted v1 hierarchies, each once, mount order.
    pub fn v1_controllers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.v1.iter().flat_map(|h| h.controllers.iter()) {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    /// The root of the v1 hierarchy holding `controller`, as libcontainer
    /// 0.7 will find it. libcgroups does not look at mount options: it takes
    /// the first `cgroup` mount whose path ends in the controller's name
    /// (or `cpu,cpuacct`, `net_cls,net_prio`). A hierarchy mounted under
    /// another name is therefore silently skipped by libcontainer, so it
    /// counts as missing here.
    pub fn v1_root(&self, controller: &str) -> Result<&Path, String> {
        let Some(own) = self.v1.iter().find(|h| h.has(controller)) else {
            return Err(format!("cgroup v1 {controller} controller is not mounted"));
        };
        let names = libcontainer_mount_names(controller);
        let found = self
            .v1
            .iter()
            .find(|h| names.iter().any(|n| h.mount_point.ends_with(n)));
        match found {
            Some(h) if h.has(controller) => Ok(&h.mount_point),
            Some(h) => Err(format!(
                "libcontainer looks for the v1 {controller} hierarchy at {}, which holds [{}]",
                h.mount_point.display(),
                h.controllers.join(",")
            )),
            None => Err(format!(
                "cgroup v1 {controller} is mounted at {}, but libcontainer only finds it at a mount point named {}",
                own.mount_point.display(),
                names.join(" or ")
            )),
        }
    }
}

/// Mount-point names libcgroups 0.7 (`v1::util::get_subsystem_mount_point`)
/// accepts for a controller.
fn libcontainer_mount_names(controller: &str) -> Vec<String> {
    let alt: &[&str] = match controller {
        "cpu" => &["cpu,cpuacct", "cpu"],
        "cpuacct" => &["cpu,cpuacct", "cpuacct"],
        "net_cls" => &["net_cls,net_prio", "net_prio,net_cls", "net_cls"],
        "net_prio" => &["net_cls,net_prio", "net_prio,net_cls", "net_prio"],
        other => return vec![other.to_owned()],
    };
    alt.iter().map(|s| (*s).to_owned()).collect()
}

/// `cgroup.controllers` (and `actions_avail`): whitespace-separated words.
pub fn parse_words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// The kernel prints a `Seccomp:` line in `/proc/<pid>/status` only when
/// built with CONFIG_SECCOMP.
pub fn status_has_seccomp(status: &str) -> bool {
    status.lines().any(|l| l.starts_with("Seccomp:"))
}

/// `/proc/sys/user/max_user_namespaces` above zero.
pub fn user_namespaces_allowed(max_user_namespaces: &str) -> bool {
    max_user_namespaces
        .trim()
        .parse::<u64>()
        .is_ok_and(|n| n > 0)
}

/// `/sys/module/apparmor/parameters/enabled` is `Y` when AppArmor is on.
pub fn apparmor_enabled(text: &str) -> bool {
    text.trim() == "Y"
}

/// A block queue's `scheduler` file, e.g. `[none] mq-deadline kyber bfq`:
/// the active scheduler (bracketed) and all available ones.
pub fn parse_scheduler(text: &str) -> (Option<String>, Vec<String>) {
    let mut active = None;
    let mut all = Vec::new();
    for word in text.split_whitespace() {
        let name = word.trim_start_matches('[').trim_end_matches(']');
        if word.starts_with('[') {
            active = Some(name.to_owned());
        }
        all.push(name.to_owned());
    }
    (active, all)
}

/// The v2 root's `io.cost.qos` lists one line per configured device; blk-
/// iocost enforces `io.weight` only where a line says `enable=1`.
pub fn iocost_enabled(io_cost_qos: &str) -> bool {
    io_cost_qos
        .lines()
        .any(|l| l.split_whitespace().any(|w| w == "enable=1"))
}

/// `6.18.44-fc-v1045` -> (6, 18).
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_line_with_optional_fields_and_escapes() {
        let m = parse_mountinfo(
            "36 25 0:31 / /sys/fs/cgroup/my\\040dir rw,nosuid shared:9 master:2 - cgroup cgroup rw,memory\n\
             garbage line\n",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].mount_point, PathBuf::from("/sys/fs/cgroup/my dir"));
        assert_eq!(m[0].fs_type, "cgroup");
        assert_eq!(m[0].super_options, vec!["rw", "memory"]);
        assert_eq!(m[0].root, "/");
    }

    #[test]
    fn mode_follows_what_is_mounted_at_the_root() {
        let v2 = "26 23 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(cgroup_layout(&parse_mountinfo(v2)).mode, CgroupMode::V2);
        let v1 = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                  35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let l = cgroup_layout(&parse_mountinfo(v1));
        assert_eq!(
            (l.mode, l.v2_mount, l.problem),
            (CgroupMode::V1, None, None)
        );
        let none = "22 27 0:21 / /proc rw - proc proc rw\n";
        let l = cgroup_layout(&parse_mountinfo(none));
        assert!(l.problem.is_some_and(|p| p.contains("nothing is mounted")));
        // A later mount covers an earlier one at the same path.
        let covered = format!("{v2}40 26 0:40 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n");
        assert_eq!(
            cgroup_layout(&parse_mountinfo(&covered)).mode,
            CgroupMode::V1
        );
    }

    #[test]
    fn container_hierarchies_are_libcgroups_ones() {
        let hybrid = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                      32 31 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
                      33 31 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n\
                      34 31 0:31 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                      35 31 0:32 / /sys/fs/cgroup/misc rw - cgroup cgroup rw,misc\n\
                      36 31 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n";
        let l = cgroup_layout(&parse_mountinfo(hybrid));
        assert_eq!(
            l.container_hierarchies(),
            Some(vec![
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"),
                PathBuf::from("/sys/fs/cgroup/freezer")
            ])
        );
        assert_eq!(
            l.v1_with("cpuacct"),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(l.v1_with("memory"), None);
        let v2 = "26 23 0:25 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            cgroup_layout(&parse_mountinfo(v2)).container_hierarchies(),
            Some(vec![PathBuf::from("/sys/fs/cgroup")])
        );
        let nothing = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n";
        assert_eq!(
            cgroup_layout(&parse_mountinfo(nothing)).container_hierarchies(),
            None
        );
    }

    #[test]
    fn v1_root_mirrors_libcontainer_lookup() {
        let text = "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n\
                    32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                    33 31 0:30 / /sys/fs/cgroup/mem rw - cgroup cgroup rw,memory\n\
                    34 31 0:31 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,freezer\n\
                    35 31 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n";
        let l = cgroup_layout(&parse_mountinfo(text));
        assert_eq!(
            l.v1_controllers(),
            vec!["cpu", "cpuacct", "memory", "freezer"]
        );
        assert_eq!(
            l.v1_root("cpu").ok(),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert!(
            l.v1_root("memory")
                .is_err_and(|e| e.contains("mount point named memory"))
        );
        assert!(l.v1_root("pids").is_err_and(|e| e.contains("not mounted")));
        assert!(
            l.v1_root("freezer")
                .is_err_and(|e| e.contains("libcontainer only finds it"))
        );
    }

    #[test]
    fn small_parsers() {
        assert_eq!(
            parse_scheduler("[none] mq-deadline kyber bfq\n"),
            (
                Some("none".to_owned()),
                vec!["none", "mq-deadline", "kyber", "bfq"]
                    .into_iter()
                    .map(String::from)
                    .collect()
            )
        );
        assert_eq!(parse_scheduler("none\n").0, None);
        assert!(iocost_enabled("259:0 enable=1 ctrl=auto rpct=0.00\n"));
        assert!(!iocost_enabled("259:0 enable=0 ctrl=auto\n"));
        assert_eq!(kernel_version("6.18.44-fc-v1045"), Some((6, 18)));
        assert_eq!(kernel_version("5.2"), Some((5, 2)));
        assert_eq!(kernel_version("garbage"), None);
        assert!(user_namespaces_allowed("96363\n"));
        assert!(!user_namespaces_allowed("0\n"));
        assert!(!user_namespaces_allowed(""));
        assert!(apparmor_enabled("Y\n"));
        assert!(!apparmor_enabled("N\n"));
        assert!(status_has_seccomp(
            "Name:\tx\nSeccomp:\t0\nSeccomp_filters:\t0\n"
        ));
        assert!(!status_has_seccomp("Name:\tx\nNoNewPrivs:\t0\n"));
    }
}
