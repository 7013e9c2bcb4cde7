//! The policy file's schema. Every table rejects unknown keys; every field is
//! optional so a layer (preset, project file, per-package override, CLI
//! flags) says only what it changes. `merge.rs` combines layers, strictest
//! value winning; the spec builder reads the result with the documented
//! defaults (`docs/policy.md`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::units::{Duration, Size};

/// One layer of policy, as written in a TOML file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Schema version; only 1 exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Preset this layer starts from (the base, before strictest-wins merging).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Keys this layer may make *less* strict, each with the reason
    /// (`"limits.memory" = "node-gyp builds of sharp need 3G"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub widen: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<Filesystem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Namespaces>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Process>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Seccomp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock: Option<Landlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degrade: Option<Degrade>,
    /// Per-package overrides (`[packages."esbuild"]`, `[packages."sharp@0.33.2"]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub packages: BTreeMap<String, Layer>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    /// "host": the host's root, read-only. Anything else: a rootfs directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_write: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_exec: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_tmp: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal_dev: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_proc: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Own network namespace, not even loopback up. Strictest.
    None,
    /// Own network namespace with `lo` up.
    Loopback,
    /// The host's network namespace.
    Host,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<NetworkMode>,
    /// Reserved for a host:port allowlist through a proxy; refused until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Namespaces {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub net: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_map: Option<Vec<IdMap>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid_map: Option<Vec<IdMap>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
    /// Variables passed from the caller's environment (globs: `LC_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Vec<String>>,
    /// Variables set (after pass; values may use {project} etc.).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<BTreeMap<String, String>>,
    /// Never passed, even if `pass` matches (added to the built-in secret list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scrub: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Capabilities kept (bounding, effective, permitted); all others dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<Capability>>,
    /// Ambient capabilities (must be among `capabilities`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambient: Option<Vec<Capability>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_new_privileges: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Env>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeccompPreset {
    /// No seccomp filter at all (needs an explicit widen).
    Unconfined,
    /// Close to podman's default profile.
    Default,
    /// Default minus what package scripts never need.
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DenyAction {
    /// The syscall fails with `errno`.
    Errno,
    /// The process is killed (SIGSYS).
    Kill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Allow,
    Errno,
    Kill,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArgFilter {
    pub index: u32,
    pub op: ArgOp,
    pub value: u64,
    /// For `masked_eq` only: the expected result, `(arg & value) == value_two`
    /// (`value` is the mask, as in OCI and runc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_two: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyscallRule {
    pub syscalls: Vec<String>,
    pub action: RuleAction,
    /// For action = "errno": the errno name (default EPERM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgFilter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Seccomp {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<SeccompPreset>,
    /// An OCI seccomp JSON file used instead of the preset. Its rules are
    /// kept as written; `block_network` and `rules` are still added to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What a syscall outside the profile gets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<DenyAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    /// socket()/socketpair() only for AF_UNIX. Default: on when network is "none".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_network: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<SyscallRule>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Landlock {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create: Option<Vec<PathRule>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove: Option<Vec<PathRule>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IoLimit {
    /// "MAJOR:MINOR" of a block device.
    pub device: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_bps: Option<Size>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_bps: Option<Size>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Size>,
    /// Memory plus swap (the OCI `memory.swap` value); equal to `memory` means no swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<Size>,
    /// CPU quota as a number of CPUs (1.5 = 150 ms per 100 ms period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// 10..=1000 (blkio.weight on v1, io.weight on v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io_weight: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io: Option<Vec<IoLimit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<Size>,
    /// Seconds of CPU time (RLIMIT_CPU: SIGXCPU, then SIGKILL one second later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_dumps: Option<bool>,
    /// Wall-clock limit: the container is killed and cagebox exits 124.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Cap on the bytes of stdout+stderr passed through; past it the
    /// command is killed (reason "output").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Size>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DegradeMode {
    /// Refuse to run when the kernel cannot enforce it. Strictest.
    Fail,
    /// Run without it, say so on stderr and in the report.
    Warn,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Degrade {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock: Option<DegradeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<DegradeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<DegradeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io: Option<DegradeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_namespace: Option<DegradeMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_namespace: Option<DegradeMode>,
}

/// A path, optionally with the reason it is there: `"/opt/x"` or
/// `{ path = "/opt/x", why = "toolchain" }`.
#[derive(Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path: String,
    pub why: Option<String>,
}

/// Notes and errors show the path as the policy spells it.
impl fmt::Debug for PathRule {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:?}", self.path)
    }
}

impl PathRule {
    pub fn new(path: &str) -> Self {
        PathRule {
            path: path.into(),
            why: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathRuleTable {
    path: String,
    why: Option<String>,
}

impl<'de> Deserialize<'de> for PathRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PathRule;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path string or a table { path = \"...\", why = \"...\" }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PathRule, E> {
                Ok(PathRule::new(s))
            }
            fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<PathRule, M::Error> {
                let t = PathRuleTable::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(PathRule {
                    path: t.path,
                    why: t.why,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for PathRule {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.why {
            None => s.serialize_str(&self.path),
            Some(why) => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("path", &self.path)?;
                m.serialize_entry("why", why)?;
                m.end()
            }
        }
    }
}

/// A capability name, checked when the file is read (`CAP_CHOWN` or `chown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capability(pub caps::Capability);

impl Capability {
    /// The OCI spelling: `CAP_CHOWN`.
    pub fn oci_name(&self) -> String {
        self.0.to_string()
    }
}

impl std::str::FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let upper = s.to_ascii_uppercase();
        let name = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        caps::Capability::from_str(&name)
            .map(Capability)
            .map_err(|_| format!("unknown capability {s:?}"))
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

impl Serialize for Capability {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.oci_name())
    }
}
