//! Policy + context -> OCI spec. A pure function: everything it needs about
//! the host (mount points, which paths are directories, the caller's
//! environment) comes in through `Context` and `HostView`, so golden tests
//! can pin the output.
//!
//! Mounts are data, applied by libcontainer in list order (bubblewrap's
//! SetupOp idea): the host's top-level directories first, recursively
//! read-only; then the system mounts; then the policy's own paths sorted by
//! depth, so a deeper rule always lands on top of a shallower one, and at
//! equal depth the stricter kind last (rw < ro < no_exec < hidden).

use std::path::{Component, Path, PathBuf};

use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};
use serde_json::{Value, json};

use crate::policy::model::{self, DegradeMode, Layer, NetworkMode, PathRule, SeccompPreset};
use crate::runtime::landlock::{self, LandlockRules};
use crate::spec::seccomp_stack::StackRule;
use crate::spec::{env, seccomp_presets};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{key}: {msg}")]
    Invalid { key: String, msg: String },
    #[error("cannot build the OCI spec: {0}")]
    Build(String),
}

fn invalid(key: &str, msg: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        key: key.into(),
        msg: msg.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathKind {
    Dir,
    File,
    Symlink,
}

/// What the builder may ask about the host.
pub trait HostView {
    fn kind(&self, path: &Path) -> Option<PathKind>;
    /// Entries of the host's `/`: name and kind (symlink targets via `link`).
    fn top_level(&self) -> Vec<(String, PathKind)>;
    fn link(&self, path: &Path) -> Option<PathBuf>;
}

pub struct Context<'a> {
    pub project: PathBuf,
    /// The package a script belongs to (npm); the project otherwise.
    pub package: PathBuf,
    pub home: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    pub terminal: bool,
    /// Empty directory that becomes `/` in host-root mode.
    pub rootfs: PathBuf,
    /// The caller's hard RLIMIT_NOFILE: a container cannot get more.
    pub nofile_hard: u64,
    /// `seccomp.profile`, already read (the builder does no I/O).
    pub seccomp_profile: Option<LinuxSeccomp>,
    pub host: &'a dyn HostView,
}

/// The spec and what the sandbox must do that a spec cannot say.
#[derive(Debug)]
pub struct Built {
    pub spec: Spec,
    /// Top-level symlinks of the host (`/bin -> usr/bin`) to recreate in the
    /// rootfs directory.
    pub symlinks: Vec<(String, PathBuf)>,
    /// Bring `lo` up in the new network namespace (network = "loopback").
    pub loopback: bool,
    pub landlock: Option<LandlockRules>,
}

/// Host top-level entries that get their own mounts instead of a bind.
const SYSTEM_TOP: &[&str] = &["proc", "sys", "dev", "run", "tmp"];

const MASKED_PROC: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
const READONLY_PROC: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Replaces `{project}`, `{package}`, `{home}`, `{tmp}` and checks the
/// result is a clean absolute path.
pub fn expand(value: &str, key: &str, ctx: &Context) -> Result<PathBuf, SpecError> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            return Err(invalid(key, format!("{value:?}: unclosed '{{'")));
        };
        let var = &rest[start + 1..start + len];
        let sub = match var {
            "project" => ctx.project.display().to_string(),
            "package" => ctx.package.display().to_string(),
            "home" => ctx.home.display().to_string(),
            "tmp" => "/tmp".to_string(),
            other => {
                return Err(invalid(
                    key,
                    format!(
                        "{value:?}: unknown variable {{{other}}} (known: project, package, home, tmp)"
                    ),
                ));
            }
        };
        out.push_str(&sub);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    let p = PathBuf::from(&out);
    if !p.is_absolute() {
        return Err(invalid(key, format!("{value:?} is not an absolute path")));
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(invalid(key, format!("{value:?} must not contain '..'")));
    }
    Ok(p.components().collect())
}

/// `{project}` etc. in a free-form value (env values): unknown braces stay.
fn expand_vars(v: &str, ctx: &Context) -> String {
    v.replace("{project}", &ctx.project.display().to_string())
        .replace("{package}", &ctx.package.display().to_string())
        .replace("{home}", &ctx.home.display().to_string())
        .replace("{tmp}", "/tmp")
}

fn expand_rules(
    rules: Option<&Vec<PathRule>>,
    key: &str,
    ctx: &Context,
) -> Result<Vec<PathBuf>, SpecError> {
    rules
        .into_iter()
        .flatten()
        .map(|r| expand(&r.path, key, ctx))
        .collect()
}

fn bind(dest: &Path, source: &Path, opts: &[&str]) -> Value {
    let mut o = vec!["rbind"];
    o.extend_from_slice(opts);
    json!({"destination": dest, "type": "bind", "source": source, "options": o})
}

/// The policy as an OCI spec for `ctx`.
pub fn build(policy: &Layer, ctx: &Context) -> Result<Built, SpecError> {
    let fs = policy.filesystem.clone().unwrap_or_default();
    let ns = policy.namespaces.clone().unwrap_or_default();
    let mode = policy
        .network
        .as_ref()
        .and_then(|n| n.mode)
        .unwrap_or(NetworkMode::None);
    check_namespaces(&ns, mode)?;

    if fs.minimal_dev == Some(false) {
        // The host's /dev cannot be bound: libcontainer 0.7 then fails to
        // create /dev/fd, /dev/stdin... over the existing ones (EEXIST).
        return Err(invalid(
            "filesystem.minimal_dev",
            "false is not supported by this build (libcontainer 0.7 cannot set up the host's /dev); remove it to run with the minimal /dev",
        ));
    }
    let host_root = fs.root.as_deref().unwrap_or("host") == "host";
    let (root_path, symlinks, mut mounts) = if host_root {
        let hidden = expand_rules(fs.hidden.as_ref(), "filesystem.hidden", ctx)?;
        let (m, s) = host_mounts(ctx, fs.private_tmp != Some(false), &hidden);
        (ctx.rootfs.clone(), s, m)
    } else {
        let r = fs.root.clone().unwrap_or_default();
        let p = expand(&r, "filesystem.root", ctx)?;
        if ctx.host.kind(&p) != Some(PathKind::Dir) {
            return Err(invalid(
                "filesystem.root",
                format!("{r:?} is not a directory"),
            ));
        }
        (p, vec![], vec![])
    };
    mounts.extend(system_mounts(&fs, &ns, host_root));
    let owner = policy
        .process
        .as_ref()
        .map(|p| (p.uid.unwrap_or(ctx.uid), p.gid.unwrap_or(ctx.gid)))
        .unwrap_or((ctx.uid, ctx.gid));
    let (user_mounts, masked_files) = policy_mounts(&fs, ctx, owner)?;
    mounts.extend(user_mounts);

    let mut masked: Vec<String> = vec![];
    let mut readonly: Vec<String> = vec![];
    if fs.mask_proc != Some(false) {
        masked.extend(MASKED_PROC.iter().map(|s| s.to_string()));
        readonly.extend(READONLY_PROC.iter().map(|s| s.to_string()));
    }
    masked.extend(masked_files.iter().map(|p| p.display().to_string()));

    let process = process(policy, ctx)?;
    let resources = resources(policy)?;
    let (seccomp, stacked) = seccomp(policy, ctx, mode)?;
    if !stacked.is_empty()
        && policy.process.as_ref().and_then(|p| p.no_new_privileges) == Some(false)
    {
        // The stacked filter is installed after capabilities are dropped,
        // which the kernel allows only with no_new_privs.
        return Err(invalid(
            "process.no_new_privileges",
            format!(
                "false, but seccomp.rules for {} need their own filter (no exact form in the profile), which needs no_new_privileges = true",
                stacked[0].names.join(", ")
            ),
        ));
    }
    let landlock = landlock_rules(policy, ctx)?;

    let mut namespaces = vec![json!({"type": "mount"})];
    for (on, kind) in [
        (ns.pid != Some(false), "pid"),
        (mode != NetworkMode::Host, "network"),
        (ns.ipc != Some(false), "ipc"),
        (ns.uts != Some(false), "uts"),
        (ns.cgroup != Some(false), "cgroup"),
        (ns.user == Some(true), "user"),
    ] {
        if on {
            namespaces.push(json!({"type": kind}));
        }
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "resources": resources,
        "maskedPaths": masked,
        "readonlyPaths": readonly,
    });
    if ns.user == Some(true) {
        let map = |m: &Option<Vec<model::IdMap>>, id: u32| -> Value {
            match m {
                Some(v) => json!(v.iter().map(|e| json!({"containerID": e.container, "hostID": e.host, "size": e.size})).collect::<Vec<_>>()),
                None => json!([{"containerID": id, "hostID": id, "size": 1}]),
            }
        };
        linux["uidMappings"] = map(&ns.uid_map, ctx.uid);
        linux["gidMappings"] = map(&ns.gid_map, ctx.gid);
    }
    if let Some(s) = &seccomp {
        linux["seccomp"] = serde_json::to_value(s).map_err(|e| SpecError::Build(e.to_string()))?;
    }
    let mut annotations = serde_json::Map::new();
    if let Some(l) = &landlock {
        let text = landlock::to_annotation(l).map_err(|e| SpecError::Build(e.to_string()))?;
        annotations.insert(landlock::ANNOTATION.into(), json!(text));
    }
    if !stacked.is_empty() {
        let text = super::seccomp_stack::to_annotation(&stacked)
            .map_err(|e| SpecError::Build(e.to_string()))?;
        annotations.insert(super::seccomp_stack::ANNOTATION.into(), json!(text));
    }
    // The command is not pid 1: a small init (executor.rs) forwards signals
    // and reaps, so SIGTERM, SIGXCPU and SIGXFSZ act on it as usual (the
    // kernel drops unhandled signals to a namespace's init).
    annotations.insert(
        crate::runtime::executor::INIT_ANNOTATION.into(),
        json!("true"),
    );
    annotations.insert(
        "io.cagebox.preset".into(),
        json!(policy.extends.clone().unwrap_or_default()),
    );
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": root_path, "readonly": true},
        "mounts": mounts,
        "linux": linux,
        "annotations": annotations,
    });
    if ns.uts != Some(false) {
        spec["hostname"] = json!("cagebox");
    }
    let spec: Spec = serde_json::from_value(spec).map_err(|e| SpecError::Build(e.to_string()))?;
    Ok(Built {
        spec,
        symlinks,
        loopback: mode == NetworkMode::Loopback,
        landlock,
    })
}

fn check_namespaces(ns: &model::Namespaces, mode: NetworkMode) -> Result<(), SpecError> {
    if ns.mount == Some(false) {
        return Err(invalid(
            "namespaces.mount",
            "false is not possible: the read-only root and every path rule need a mount namespace",
        ));
    }
    match (ns.net, mode) {
        (Some(false), NetworkMode::None | NetworkMode::Loopback) => Err(invalid(
            "namespaces.net",
            format!(
                "false contradicts network.mode = {} (which needs its own network namespace)",
                serde_json::to_string(&mode).unwrap_or_default()
            ),
        )),
        (Some(true), NetworkMode::Host) => Err(invalid(
            "namespaces.net",
            "true contradicts network.mode = \"host\"",
        )),
        _ => Ok(()),
    }
}

/// Every top-level directory of the host, recursively read-only, except the
/// ones that get their own mounts. `rro` (mount_setattr with AT_RECURSIVE)
/// also covers mounts below, such as a separate /home or /work.
/// A top-level directory that is hidden as a whole is not bound at all: its
/// empty mount point in the rootfs takes the hiding tmpfs (cheaper, and a
/// mapped root that cannot open the host's /root can still mount on it).
fn host_mounts(
    ctx: &Context,
    private_tmp: bool,
    hidden: &[PathBuf],
) -> (Vec<Value>, Vec<(String, PathBuf)>) {
    let mut mounts = vec![];
    let mut links = vec![];
    let mut top = ctx.host.top_level();
    top.sort();
    for (name, kind) in top {
        let path = Path::new("/").join(&name);
        let own_mount = (SYSTEM_TOP.contains(&name.as_str()) && (name != "tmp" || private_tmp))
            || hidden.contains(&path);
        match kind {
            PathKind::Dir if !own_mount => mounts.push(bind(&path, &path, &["rro", "rprivate"])),
            PathKind::Symlink => {
                if let Some(t) = ctx.host.link(&path) {
                    links.push((name, t));
                }
            }
            PathKind::Dir | PathKind::File => {}
        }
    }
    (mounts, links)
}

fn system_mounts(fs: &model::Filesystem, ns: &model::Namespaces, host_root: bool) -> Vec<Value> {
    let mut m = vec![];
    if ns.pid != Some(false) {
        m.push(json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}));
    } else {
        // Without a pid namespace a new procfs would show the same host
        // processes anyway; bind the host's, read-only.
        m.push(bind(
            Path::new("/proc"),
            Path::new("/proc"),
            &["rro", "rprivate"],
        ));
    }
    if fs.minimal_dev != Some(false) {
        m.push(json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}));
        m.push(json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}));
        m.push(json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}));
        if ns.ipc != Some(false) {
            m.push(json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}));
        }
    }
    if host_root {
        m.push(bind(
            Path::new("/sys"),
            Path::new("/sys"),
            &["rro", "rprivate", "rnosuid", "rnoexec", "rnodev"],
        ));
        m.push(json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]}));
    } else {
        m.push(json!({"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]}));
    }
    if fs.private_tmp != Some(false) {
        m.push(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]}));
    }
    m
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    ReadWrite,
    ReadOnly,
    NoExec,
    Hidden,
}

/// The policy's path rules as mounts (and hidden files as maskedPaths).
/// Is `p` writable by the rules above it: the deepest read_write,
/// read_only or hidden rule that contains it decides (no_exec rules do
/// not). Under a hidden directory the host's files are exposed read-only.
fn writable_by_rules(rules: &[(usize, Rule, PathBuf)], p: &Path) -> bool {
    rules
        .iter()
        .filter(|(_, r, q)| {
            matches!(r, Rule::ReadWrite | Rule::ReadOnly | Rule::Hidden) && p.starts_with(q)
        })
        .max_by_key(|(d, r, _)| (*d, *r))
        .is_some_and(|(_, r, _)| *r == Rule::ReadWrite)
}

/// `owner`: uid/gid the process runs as (hidden directories belong to it).
fn policy_mounts(
    fs: &model::Filesystem,
    ctx: &Context,
    owner: (u32, u32),
) -> Result<(Vec<Value>, Vec<PathBuf>), SpecError> {
    let mut rules: Vec<(usize, Rule, PathBuf)> = vec![];
    for (list, rule, key) in [
        (&fs.read_write, Rule::ReadWrite, "filesystem.read_write"),
        (&fs.read_only, Rule::ReadOnly, "filesystem.read_only"),
        (&fs.no_exec, Rule::NoExec, "filesystem.no_exec"),
        (&fs.hidden, Rule::Hidden, "filesystem.hidden"),
    ] {
        for p in expand_rules(list.as_ref(), key, ctx)? {
            if p == Path::new("/") {
                return Err(invalid(key, "\"/\" is too broad: name the directories"));
            }
            let kind = ctx.host.kind(&p);
            if rule == Rule::ReadWrite && kind.is_none() {
                return Err(invalid(key, format!("{} does not exist", p.display())));
            }
            // Nothing to make read-only, non-executable or hidden.
            if kind.is_none() {
                continue;
            }
            rules.push((p.components().count(), rule, p));
        }
    }
    rules.sort();
    rules.dedup();
    // Hiding the project itself would leave the command nowhere to work
    // (typically: run from $HOME, which every preset hides).
    for (_, r, p) in &rules {
        if *r == Rule::Hidden
            && rules
                .iter()
                .any(|(_, o, q)| *o == Rule::ReadWrite && q == p)
        {
            return Err(invalid(
                "filesystem.hidden",
                format!(
                    "{} is both writable (filesystem.read_write) and hidden; run from a project directory, not from a hidden one such as your home",
                    p.display()
                ),
            ));
        }
    }
    let mut mounts = vec![];
    let mut masked = vec![];
    for (_, rule, p) in &rules {
        let p = p.as_path();
        match rule {
            Rule::ReadWrite => mounts.push(bind(p, p, &["rw", "rprivate"])),
            Rule::ReadOnly => mounts.push(bind(p, p, &["rro", "rprivate"])),
            // A new bind mount would carry the host's rw flag: keep the
            // writability the enclosing rule gives (read-only unless a
            // read_write rule is the deepest one above it).
            Rule::NoExec if writable_by_rules(&rules, p) => {
                mounts.push(bind(p, p, &["rw", "rnoexec", "rnosuid", "rnodev", "rprivate"]))
            }
            Rule::NoExec => mounts.push(bind(p, p, &["rro", "rnoexec", "rnosuid", "rnodev", "rprivate"])),
            Rule::Hidden => match ctx.host.kind(p) {
                // An empty, writable, private directory: programs that
                // expect HOME to exist keep working, and see nothing.
                Some(PathKind::Dir) => mounts.push(json!({
                    "destination": p, "type": "tmpfs", "source": "tmpfs",
                    "options": ["nosuid", "nodev", "mode=700", format!("uid={}", owner.0), format!("gid={}", owner.1)],
                })),
                _ => masked.push(p.to_path_buf()),
            },
        }
    }
    Ok((mounts, masked))
}

fn process(policy: &Layer, ctx: &Context) -> Result<Value, SpecError> {
    let p = policy.process.clone().unwrap_or_default();
    let caps: Vec<String> = p
        .capabilities
        .iter()
        .flatten()
        .map(|c| c.oci_name())
        .collect();
    let ambient: Vec<String> = p.ambient.iter().flatten().map(|c| c.oci_name()).collect();
    if let Some(a) = ambient.iter().find(|a| !caps.contains(a)) {
        return Err(invalid(
            "process.ambient",
            format!("{a} is not in process.capabilities"),
        ));
    }
    let cwd = expand(p.cwd.as_deref().unwrap_or("{project}"), "process.cwd", ctx)?;
    let e = p.env.clone().unwrap_or_default();
    let set: Vec<(String, String)> = e
        .set
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, expand_vars(&v, ctx)))
        .collect();
    let env = env::build(
        &ctx.env,
        &e.pass.unwrap_or_default(),
        &e.scrub.unwrap_or_default(),
        &set,
    );
    let limits = policy.limits.clone().unwrap_or_default();
    if let Some(n) = limits.open_files
        && n > ctx.nofile_hard
    {
        return Err(invalid(
            "limits.open_files",
            format!(
                "{n} is above this session's hard limit ({}); cagebox cannot raise it",
                ctx.nofile_hard
            ),
        ));
    }
    let rlimits: Vec<Value> = rlimit_list(&limits)
        .into_iter()
        .map(|(kind, soft, hard)| json!({"type": kind, "soft": soft, "hard": hard}))
        .collect();
    Ok(json!({
        "terminal": ctx.terminal,
        "user": {"uid": p.uid.unwrap_or(ctx.uid), "gid": p.gid.unwrap_or(ctx.gid)},
        "args": ctx.args,
        "env": env,
        "cwd": cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "inheritable": ambient, "ambient": ambient},
        "rlimits": rlimits,
        "noNewPrivileges": p.no_new_privileges != Some(false),
    }))
}

/// The rlimits `limits` asks for: (OCI type, soft, hard). Shared by
/// `build` and by annotation narrowing (narrow.rs).
pub fn rlimit_list(l: &model::Limits) -> Vec<(&'static str, u64, u64)> {
    let mut out = vec![];
    if let Some(n) = l.open_files {
        out.push(("RLIMIT_NOFILE", n, n));
    }
    if let Some(s) = l.file_size {
        out.push(("RLIMIT_FSIZE", s.0, s.0));
    }
    if let Some(t) = l.cpu_time {
        // SIGXCPU at the soft limit, SIGKILL one second later.
        let s = t.secs_ceil().max(1);
        out.push(("RLIMIT_CPU", s, s + 1));
    }
    if l.core_dumps != Some(true) {
        out.push(("RLIMIT_CORE", 0, 0));
    }
    out
}

fn resources(policy: &Layer) -> Result<Value, SpecError> {
    let l = policy.limits.clone().unwrap_or_default();
    let mut r = json!({"devices": [{"allow": false, "access": "rwm"}]});
    let mut mem = serde_json::Map::new();
    if let Some(m) = l.memory {
        mem.insert("limit".into(), json!(m.0));
        // Without a swap value the kernel lets the container swap freely.
        // memory+swap below memory is invalid for the kernel; the stricter
        // valid value is "no swap" (equal to memory).
        mem.insert("swap".into(), json!(l.memory_swap.unwrap_or(m).max(m).0));
    } else if l.memory_swap.is_some() {
        return Err(invalid("limits.memory_swap", "needs limits.memory"));
    }
    if !mem.is_empty() {
        r["memory"] = Value::Object(mem);
    }
    let mut cpu = serde_json::Map::new();
    if let Some(c) = l.cpus {
        cpu.insert("period".into(), json!(100_000u64));
        cpu.insert("quota".into(), json!((c * 100_000.0).round() as i64));
    }
    if let Some(s) = l.cpu_shares {
        cpu.insert("shares".into(), json!(s));
    }
    if !cpu.is_empty() {
        r["cpu"] = Value::Object(cpu);
    }
    if let Some(p) = l.pids {
        r["pids"] = json!({"limit": p});
    }
    let mut bio = serde_json::Map::new();
    if let Some(w) = l.io_weight {
        bio.insert("weight".into(), json!(w));
    }
    let (mut rd, mut wr) = (vec![], vec![]);
    for io in l.io.iter().flatten() {
        let (major, minor) = crate::policy::parse_device(&io.device).ok_or_else(|| {
            invalid(
                "limits.io.device",
                format!("{:?} is not MAJOR:MINOR", io.device),
            )
        })?;
        if let Some(b) = io.read_bps {
            rd.push(json!({"major": major, "minor": minor, "rate": b.0}));
        }
        if let Some(b) = io.write_bps {
            wr.push(json!({"major": major, "minor": minor, "rate": b.0}));
        }
    }
    if !rd.is_empty() {
        bio.insert("throttleReadBpsDevice".into(), json!(rd));
    }
    if !wr.is_empty() {
        bio.insert("throttleWriteBpsDevice".into(), json!(wr));
    }
    if !bio.is_empty() {
        r["blockIO"] = Value::Object(bio);
    }
    Ok(r)
}

fn seccomp(
    policy: &Layer,
    ctx: &Context,
    mode: NetworkMode,
) -> Result<(Option<LinuxSeccomp>, Vec<StackRule>), SpecError> {
    let s = policy.seccomp.clone().unwrap_or_default();
    let loaded = match &s.profile {
        Some(path) => Some(ctx.seccomp_profile.clone().ok_or_else(|| {
            invalid("seccomp.profile", format!("{path}: profile was not loaded"))
        })?),
        None => None,
    };
    policy_seccomp(&s, loaded, mode)
}

/// The policy's seccomp filter: `loaded` (a `seccomp.profile` file) or the
/// preset, then the network block, then the policy's own rules; and the
/// deny rules that have no exact form in it, for a stacked filter
/// (seccomp_stack.rs). Shared by `build` and by annotation narrowing
/// (narrow.rs).
pub fn policy_seccomp(
    s: &model::Seccomp,
    loaded: Option<LinuxSeccomp>,
    mode: NetworkMode,
) -> Result<(Option<LinuxSeccomp>, Vec<StackRule>), SpecError> {
    let errno = crate::policy::errno_value(s.errno.as_deref().unwrap_or("EPERM"))
        .ok_or_else(|| invalid("seccomp.errno", format!("unknown errno {:?}", s.errno)))?;
    let kill = s.action == Some(model::DenyAction::Kill);
    let preset = |p| Some(seccomp_presets::profile(p, errno, kill));
    let mut profile = match (loaded, s.preset.unwrap_or(SeccompPreset::Default)) {
        (Some(p), _) => Some(p),
        (None, SeccompPreset::Unconfined) => None,
        (None, SeccompPreset::Default) => preset(seccomp_presets::Preset::Default),
        (None, SeccompPreset::Strict) => preset(seccomp_presets::Preset::Strict),
    };
    if s.block_network.unwrap_or(mode == NetworkMode::None) {
        let p = profile.get_or_insert_with(super::rules::allow_all);
        seccomp_presets::block_network(p, errno);
    }
    let mut stacked = vec![];
    if let Some(rules) = &s.rules {
        let p = profile.get_or_insert_with(super::rules::allow_all);
        stacked = super::rules::add(p, rules, errno)?;
    }
    Ok((profile, stacked))
}

fn landlock_rules(policy: &Layer, ctx: &Context) -> Result<Option<LandlockRules>, SpecError> {
    let Some(l) = &policy.landlock else {
        return Ok(None);
    };
    let list = |v: &Option<Vec<PathRule>>, key: &str| -> Result<Option<Vec<PathBuf>>, SpecError> {
        v.as_ref()
            .map(|_| expand_rules(v.as_ref(), key, ctx))
            .transpose()
    };
    let rules = LandlockRules {
        read: list(&l.read, "landlock.read")?,
        write: list(&l.write, "landlock.write")?,
        exec: list(&l.exec, "landlock.exec")?,
        create: list(&l.create, "landlock.create")?,
        remove: list(&l.remove, "landlock.remove")?,
        best_effort: policy.degrade.as_ref().and_then(|d| d.landlock) == Some(DegradeMode::Warn),
    };
    if rules.read.is_none()
        && rules.write.is_none()
        && rules.exec.is_none()
        && rules.create.is_none()
        && rules.remove.is_none()
    {
        return Ok(None);
    }
    Ok(Some(rules))
}
