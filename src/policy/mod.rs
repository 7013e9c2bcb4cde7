//! The security policy: model, presets, layers, checks.
//!
//! A policy is a stack of layers: a preset (the base), then files (a policy
//! file, the project's `cagebox.toml`, per-package overrides), then CLI
//! flags. `resolve` merges them strictest-wins (merge.rs) into one `Layer`
//! that `spec::build` turns into an OCI spec.

pub mod check;
pub mod explain;
pub mod merge;
pub mod model;
pub mod units;

use std::path::Path;

pub use model::Layer;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {msg}")]
    Parse { file: String, msg: String },
    #[error("{file}: {key}: {msg}")]
    Invalid {
        file: String,
        key: String,
        msg: String,
    },
    #[error("{file}: {msg}")]
    Read { file: String, msg: String },
    #[error("unknown preset {0:?} (known: default, npm-scripts, cargo-build, run-file)")]
    UnknownPreset(String),
}

/// Presets shipped in the binary: name, one-line description, TOML text.
pub const PRESETS: &[(&str, &str, &str)] = &[
    (
        "default",
        "a command on the host's tools: project writable, home hidden, no network",
        include_str!("presets/default.toml"),
    ),
    (
        "npm-scripts",
        "one dependency's lifecycle script: only its package dir writable, strict seccomp",
        include_str!("presets/npm-scripts.toml"),
    ),
    (
        "cargo-build",
        "cargo build --offline: project writable, registry and toolchain read-only",
        include_str!("presets/cargo-build.toml"),
    ),
    (
        "run-file",
        "one untrusted program: nothing writable but /tmp, tight limits",
        include_str!("presets/run-file.toml"),
    ),
];

pub fn preset_text(name: &str) -> Result<&'static str, PolicyError> {
    PRESETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, t)| *t)
        .ok_or_else(|| PolicyError::UnknownPreset(name.into()))
}

pub fn preset(name: &str) -> Result<Layer, PolicyError> {
    parse(preset_text(name)?, &format!("preset {name}"))
}

/// Parses one layer. `file` names it in errors; toml's own message carries
/// the line, the column and the offending key.
pub fn parse(text: &str, file: &str) -> Result<Layer, PolicyError> {
    let layer: Layer = toml::from_str(text).map_err(|e| PolicyError::Parse {
        file: file.into(),
        msg: e.to_string().trim_end().to_string(),
    })?;
    validate_layer(&layer, file, true)?;
    Ok(layer)
}

pub fn load_file(path: &Path) -> Result<Layer, PolicyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
        file: file.clone(),
        msg: e.to_string(),
    })?;
    parse(&text, &file)
}

fn invalid(file: &str, key: &str, msg: String) -> PolicyError {
    PolicyError::Invalid {
        file: file.into(),
        key: key.into(),
        msg,
    }
}

/// Checks that need more than the types: the version, widen keys, values
/// with ranges, reserved knobs.
fn validate_layer(layer: &Layer, file: &str, top: bool) -> Result<(), PolicyError> {
    if top {
        match layer.version {
            Some(1) => {}
            Some(v) => {
                return Err(invalid(
                    file,
                    "version",
                    format!("{v} is not supported (only 1)"),
                ));
            }
            None => {
                return Err(invalid(
                    file,
                    "version",
                    "missing; add `version = 1`".into(),
                ));
            }
        }
    } else if layer.version.is_some() || !layer.packages.is_empty() || layer.extends.is_some() {
        return Err(invalid(
            file,
            "packages",
            "a package override cannot set version, extends or packages".into(),
        ));
    }
    if let Some(name) = &layer.extends {
        preset_text(name).map_err(|e| invalid(file, "extends", e.to_string()))?;
    }
    for (key, why) in &layer.widen {
        if !merge::WIDEN_KEYS.contains(&key.as_str()) {
            return Err(invalid(
                file,
                &format!("widen.{key}"),
                "not a key that can be widened".into(),
            ));
        }
        if why.trim().is_empty() {
            return Err(invalid(
                file,
                &format!("widen.{key}"),
                "needs a reason (non-empty string)".into(),
            ));
        }
    }
    if let Some(n) = &layer.network
        && n.allow.as_ref().is_some_and(|a| !a.is_empty())
    {
        return Err(invalid(
            file,
            "network.allow",
            "host:port allowlists are not supported yet; use mode = \"host\" with a widen".into(),
        ));
    }
    if let Some(l) = &layer.limits {
        validate_limits(l, file)?;
    }
    if let Some(s) = &layer.seccomp {
        validate_seccomp(s, file)?;
    }
    for (name, pkg) in &layer.packages {
        if name.is_empty() || name.ends_with('@') {
            return Err(invalid(
                file,
                &format!("packages.{name:?}"),
                "expected a package name, or NAME@VERSION".into(),
            ));
        }
        validate_layer(pkg, &format!("{file}: packages.{name:?}"), false)?;
    }
    Ok(())
}

fn validate_limits(l: &model::Limits, file: &str) -> Result<(), PolicyError> {
    if let Some(c) = l.cpus
        && !(c > 0.0 && c <= 1024.0)
    {
        return Err(invalid(
            file,
            "limits.cpus",
            format!("{c} must be > 0 and <= 1024"),
        ));
    }
    if let Some(w) = l.io_weight
        && !(10..=1000).contains(&w)
    {
        return Err(invalid(
            file,
            "limits.io_weight",
            format!("{w} must be 10..=1000"),
        ));
    }
    if l.pids == Some(0) {
        return Err(invalid(
            file,
            "limits.pids",
            "0 would not even allow the command itself".into(),
        ));
    }
    if let Some(m) = l.memory
        && m.0 < 4 << 20
    {
        return Err(invalid(
            file,
            "limits.memory",
            format!("{m} is below the 4M the kernel needs"),
        ));
    }
    if let (Some(m), Some(s)) = (l.memory, l.memory_swap)
        && s < m
    {
        return Err(invalid(
            file,
            "limits.memory_swap",
            format!("{s} is less than limits.memory ({m}); it is memory plus swap"),
        ));
    }
    if l.timeout.is_some_and(|t| t.0 == 0) {
        return Err(invalid(
            file,
            "limits.timeout",
            "must be more than 0".into(),
        ));
    }
    for (i, io) in l.io.iter().flatten().enumerate() {
        if parse_device(&io.device).is_none() {
            return Err(invalid(
                file,
                &format!("limits.io[{i}].device"),
                format!("{:?} is not MAJOR:MINOR", io.device),
            ));
        }
    }
    Ok(())
}

pub fn parse_device(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn validate_seccomp(s: &model::Seccomp, file: &str) -> Result<(), PolicyError> {
    if let Some(e) = &s.errno
        && errno_value(e).is_none()
    {
        return Err(invalid(
            file,
            "seccomp.errno",
            format!("unknown errno {e:?}"),
        ));
    }
    for (i, r) in s.rules.iter().flatten().enumerate() {
        if r.syscalls.is_empty() {
            return Err(invalid(
                file,
                &format!("seccomp.rules[{i}].syscalls"),
                "must not be empty".into(),
            ));
        }
        for name in &r.syscalls {
            if !crate::spec::seccomp_presets::known_syscall(name) {
                return Err(invalid(
                    file,
                    &format!("seccomp.rules[{i}].syscalls"),
                    format!("unknown syscall {name:?}"),
                ));
            }
        }
        if let Some(e) = &r.errno
            && errno_value(e).is_none()
        {
            return Err(invalid(
                file,
                &format!("seccomp.rules[{i}].errno"),
                format!("unknown errno {e:?}"),
            ));
        }
        for (j, a) in r.args.iter().enumerate() {
            if a.index > 5 {
                return Err(invalid(
                    file,
                    &format!("seccomp.rules[{i}].args[{j}].index"),
                    format!("{} is not a syscall argument (0..=5)", a.index),
                ));
            }
            if (a.op == model::ArgOp::MaskedEq) != a.value_two.is_some() {
                return Err(invalid(
                    file,
                    &format!("seccomp.rules[{i}].args[{j}].value_two"),
                    "is required with op = \"masked_eq\" and only then".into(),
                ));
            }
        }
    }
    Ok(())
}

/// errno by name ("EPERM") or number.
pub fn errno_value(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return (n > 0 && n < 4096).then_some(n);
    }
    use nix::errno::Errno;
    let all = [
        Errno::EPERM,
        Errno::ENOENT,
        Errno::EIO,
        Errno::E2BIG,
        Errno::EBADF,
        Errno::EAGAIN,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EFAULT,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::EINVAL,
        Errno::ENOSPC,
        Errno::EROFS,
        Errno::ENOSYS,
        Errno::ENOTSUP,
        Errno::EAFNOSUPPORT,
        Errno::EPROTONOSUPPORT,
        Errno::ENETUNREACH,
        Errno::ECONNREFUSED,
    ];
    all.iter()
        .find(|e| format!("{e:?}") == name.to_ascii_uppercase())
        .map(|e| *e as u32)
}

/// One layer with where it came from (for notes and errors).
pub struct Source {
    pub name: String,
    pub layer: Layer,
}

/// The merged policy and the notes about settings that had no effect.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub policy: Layer,
    pub notes: Vec<String>,
    /// preset + sources, for reports.
    pub origin: Vec<String>,
}

/// A package a command runs for (`cagebox exec --package NAME[@VERSION]`),
/// choosing the `[packages."NAME"]` and `[packages."NAME@VERSION"]` tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageId {
    pub name: String,
    pub version: Option<String>,
    /// False when the name may be the package's own claim (wrap/identity.rs):
    /// its tables then only narrow, their `[widen]` entries are not applied.
    pub trusted: bool,
}

impl std::str::FromStr for PackageId {
    type Err = String;
    /// `name`, `name@1.2.3`, `@scope/name@1.2.3` (a leading @ is a scope).
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, version) = match s[1.min(s.len())..].rfind('@') {
            Some(i) => (&s[..i + 1], Some(&s[i + 2..])),
            None => (s, None),
        };
        if name.is_empty() || version.is_some_and(str::is_empty) {
            return Err(format!("{s:?}: expected NAME or NAME@VERSION"));
        }
        Ok(PackageId {
            name: name.to_string(),
            version: version.map(str::to_string),
            trusted: true,
        })
    }
}

/// Merges `sources` over their base preset: `preset` if given, else the
/// first `extends` among the sources, else "default".
pub fn resolve(preset_name: Option<&str>, sources: Vec<Source>) -> Result<Resolved, PolicyError> {
    resolve_for(preset_name, sources, None)
}

/// `resolve`, with each source's overrides for `package` merged right after
/// that source: `[packages."NAME"]`, then `[packages."NAME@VERSION"]`
/// (strictest wins there too; a package table widens with its own [widen]).
pub fn resolve_for(
    preset_name: Option<&str>,
    sources: Vec<Source>,
    package: Option<&PackageId>,
) -> Result<Resolved, PolicyError> {
    let base_name = preset_name
        .map(str::to_string)
        .or_else(|| sources.iter().find_map(|s| s.layer.extends.clone()))
        .unwrap_or_else(|| "default".into());
    let mut policy = preset(&base_name)?;
    let mut notes = Vec::new();
    let mut origin = vec![format!("preset {base_name}")];
    for s in sources {
        if let Some(e) = &s.layer.extends
            && *e != base_name
        {
            notes.push(format!(
                "{}: extends = {e:?} ignored: the base preset is already {base_name:?} (only the first layer's extends, or --preset, chooses it)",
                s.name
            ));
        }
        let (merged, n) = merge::merge(&policy, &s.layer, &s.name);
        policy = merged;
        notes.extend(n);
        if let Some(p) = package {
            let mut keys = vec![p.name.clone()];
            if let Some(v) = &p.version {
                keys.push(format!("{}@{v}", p.name));
            }
            for key in keys {
                if let Some(over) = s.layer.packages.get(&key) {
                    let name = format!("{}: packages.{key:?}", s.name);
                    // An untrusted name could be an impostor's: it gets the
                    // table's narrowing (harmless) but none of its widenings.
                    let narrowed;
                    let over = if p.trusted || over.widen.is_empty() {
                        over
                    } else {
                        notes.push(format!(
                            "{name}: its [widen] entries are not applied: the package's name {:?} is not verified (not from the registry, the pnpm store path or the project's own dependencies)",
                            p.name
                        ));
                        narrowed = Layer {
                            widen: Default::default(),
                            ..over.clone()
                        };
                        &narrowed
                    };
                    let (merged, n) = merge::merge(&policy, over, &name);
                    policy = merged;
                    notes.extend(n);
                    origin.push(name);
                }
            }
        }
        origin.push(s.name);
    }
    // Overrides are applied; the merged policy does not carry them on.
    policy.packages.clear();
    policy.extends = Some(base_name);
    Ok(Resolved {
        policy,
        notes,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for (name, _, _) in PRESETS {
            preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("version = 1\n[limits]\nmemroy = \"1G\"\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml"), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("memroy"), "{e}");
    }

    #[test]
    fn wrong_type_and_bad_values() {
        let e = parse("version = 1\n[limits]\npids = \"many\"\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("pids"), "{e}");
        let e = parse("version = 1\n[limits]\nmemory = \"12Q\"\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("12Q"), "{e}");
        let e = parse("version = 1\n[limits]\ncpus = 0\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("limits.cpus"), "{e}");
        let e = parse("version = 1\n[network]\nmode = \"wifi\"\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("wifi"), "{e}");
        let e = parse("[limits]\npids = 3\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("version"), "{e}");
        let e = parse("version = 1\n[widen]\n\"limits.bogus\" = \"x\"\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("widen.limits.bogus"), "{e}");
        let e = parse(
            "version = 1\n[process]\ncapabilities = [\"CAP_FLY\"]\n",
            "p.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("CAP_FLY") && e.contains("line 3"), "{e}");
    }

    #[test]
    fn resolve_starts_from_extends() {
        let l = parse(
            "version = 1\nextends = \"run-file\"\n[limits]\npids = 10\n",
            "p",
        )
        .unwrap();
        let r = resolve(
            None,
            vec![Source {
                name: "p".into(),
                layer: l,
            }],
        )
        .unwrap();
        assert_eq!(r.policy.extends.as_deref(), Some("run-file"));
        assert_eq!(r.policy.limits.unwrap().pids, Some(10));
    }

    #[test]
    fn package_overrides_merge_after_their_file() {
        let l = parse(
            "version = 1\n[limits]\npids = 100\n\
             [packages.\"esbuild\".limits]\npids = 50\n\
             [packages.\"esbuild@0.19.0\".limits]\npids = 20\n\
             [packages.\"sharp\".widen]\n\"limits.memory\" = \"native build\"\n\
             [packages.\"sharp\".limits]\nmemory = \"16G\"\n",
            "cagebox.toml",
        )
        .unwrap();
        let run = |pkg: Option<&str>| {
            let id: Option<PackageId> = pkg.map(|p| p.parse().unwrap());
            let src = vec![Source {
                name: "cagebox.toml".into(),
                layer: l.clone(),
            }];
            resolve_for(None, src, id.as_ref())
                .unwrap()
                .policy
                .limits
                .unwrap()
        };
        assert_eq!(run(None).pids, Some(100));
        assert_eq!(run(Some("esbuild")).pids, Some(50));
        assert_eq!(run(Some("esbuild@0.19.0")).pids, Some(20));
        assert_eq!(run(Some("esbuild@0.20.0")).pids, Some(50));
        assert_eq!(run(Some("sharp")).memory, Some(units::Size(16 << 30)));
        assert_eq!(run(None).memory, Some(units::Size(4 << 30)));
        // An unverified name: the narrowing applies, the widening does not.
        let untrusted = |name: &str| {
            let id = PackageId {
                trusted: false,
                ..name.parse().unwrap()
            };
            let src = vec![Source {
                name: "cagebox.toml".into(),
                layer: l.clone(),
            }];
            resolve_for(None, src, Some(&id)).unwrap()
        };
        assert_eq!(untrusted("esbuild").policy.limits.unwrap().pids, Some(50));
        let r = untrusted("sharp");
        assert_eq!(r.policy.limits.unwrap().memory, Some(units::Size(4 << 30)));
        assert!(
            r.notes.iter().any(|n| n.contains("not verified")),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn package_ids() {
        let p: PackageId = "@scope/pkg@1.2.3".parse().unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_deref()),
            ("@scope/pkg", Some("1.2.3"))
        );
        let p: PackageId = "@scope/pkg".parse().unwrap();
        assert_eq!((p.name.as_str(), p.version), ("@scope/pkg", None));
        let p: PackageId = "left-pad".parse().unwrap();
        assert_eq!(p.version, None);
        assert!("x@".parse::<PackageId>().is_err());
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_value("EPERM"), Some(1));
        assert_eq!(errno_value("eafnosupport"), Some(97));
        assert_eq!(errno_value("38"), Some(38));
        assert_eq!(errno_value("ENOPE"), None);
    }
}
