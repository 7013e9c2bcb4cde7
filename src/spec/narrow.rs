//! Narrowing a client's spec (podman, containerd, Docker) with a policy
//! named in the bundle's `io.cagebox.policy` annotation: a preset name or an
//! absolute path to a policy file on the host.
//!
//! The client owns the container's mounts, network and lifecycle, so only
//! what can be tightened without breaking its setup is applied, always in
//! the stricter direction (a policy never widens a client's spec):
//! - capabilities: every set intersected with the policy's list;
//! - noNewPrivileges: turned on when the policy has it;
//! - rlimits (open files, file size, CPU time, core dumps): the minimum;
//! - cgroup limits (memory, memory+swap, CPU quota and shares, pids, IO
//!   weight): the minimum;
//! - read-only root and the policy's absolute hidden paths (as maskedPaths);
//! - Landlock: the policy's rules (absolute paths only);
//! - seccomp: the policy's own filter, installed *in addition* to the
//!   client's (the kernel runs both; the strictest answer wins).
//!
//! Not applied (documented): timeout and output caps (the client decides
//! when a container ends), network mode and namespaces (the client made
//! them; the seccomp network block still applies), path variables.

use libcontainer::oci_spec::runtime::{LinuxSeccomp, Spec};
use serde_json::{Value, json};

use super::build::SpecError;
use crate::policy::model::{DegradeMode, Layer, NetworkMode, PathRule};
use crate::runtime::landlock::{self, LandlockRules};

pub const POLICY_ANNOTATION: &str = "io.cagebox.policy";

/// Set on a spec `narrow` produced: processes `exec`ed into the container
/// are then narrowed to the container's own process (`narrow_exec`).
pub const NARROWED_ANNOTATION: &str = "io.cagebox.narrowed";

#[derive(Debug)]
pub struct Narrowed {
    pub spec: Spec,
    /// The policy's filter, stacked on the spec's own.
    pub seccomp: Option<LinuxSeccomp>,
}

fn invalid(key: &str, msg: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        key: key.into(),
        msg: msg.into(),
    }
}

fn min_u64(v: &mut Value, new: u64) {
    match v.as_u64() {
        Some(old) if old <= new => {}
        _ => *v = json!(new),
    }
}

fn min_i64(v: &mut Value, new: i64) {
    match v.as_i64() {
        // -1 is "unlimited" in OCI cgroup values.
        Some(old) if old >= 0 && old <= new => {}
        _ => *v = json!(new),
    }
}

fn absolute_rules(
    list: &Option<Vec<PathRule>>,
    key: &str,
) -> Result<Option<Vec<std::path::PathBuf>>, SpecError> {
    let Some(list) = list else { return Ok(None) };
    list.iter()
        .map(|r| {
            if r.path.contains('{') || !r.path.starts_with('/') {
                Err(invalid(
                    key,
                    format!("{:?}: a policy applied through the {POLICY_ANNOTATION} annotation takes absolute paths only (no variables)", r.path),
                ))
            } else {
                Ok(std::path::PathBuf::from(&r.path))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

pub fn narrow(spec: &Spec, policy: &Layer) -> Result<Narrowed, SpecError> {
    let mut v = serde_json::to_value(spec).map_err(|e| SpecError::Build(e.to_string()))?;
    let p = policy.process.clone().unwrap_or_default();
    if let Some(caps) = &p.capabilities {
        let keep: Vec<String> = caps.iter().map(|c| c.oci_name()).collect();
        if let Some(sets) = v["process"]["capabilities"].as_object_mut() {
            for set in sets.values_mut() {
                if let Some(list) = set.as_array_mut() {
                    list.retain(|c| c.as_str().is_some_and(|c| keep.iter().any(|k| k == c)));
                }
            }
        }
    }
    if p.no_new_privileges != Some(false) {
        v["process"]["noNewPrivileges"] = json!(true);
    }
    let l = policy.limits.clone().unwrap_or_default();
    let rl = super::build::rlimit_list(&l);
    if !v["process"]["rlimits"].is_array() {
        v["process"]["rlimits"] = json!([]);
    }
    if let Some(list) = v["process"]["rlimits"].as_array_mut() {
        for (kind, soft, hard) in rl {
            match list.iter_mut().find(|r| r["type"] == kind) {
                Some(r) => {
                    min_u64(&mut r["soft"], soft);
                    min_u64(&mut r["hard"], hard);
                }
                None => list.push(json!({"type": kind, "soft": soft, "hard": hard})),
            }
        }
    }
    let res = &mut v["linux"]["resources"];
    if res.is_null() {
        *res = json!({});
    }
    if let Some(m) = l.memory {
        min_i64(&mut res["memory"]["limit"], m.0 as i64);
        min_i64(
            &mut res["memory"]["swap"],
            l.memory_swap.unwrap_or(m).max(m).0 as i64,
        );
        // memory+swap below memory is invalid for the kernel.
        let limit = res["memory"]["limit"].as_i64().unwrap_or(-1);
        if limit >= 0
            && res["memory"]["swap"]
                .as_i64()
                .is_some_and(|s| s >= 0 && s < limit)
        {
            res["memory"]["swap"] = json!(limit);
        }
    }
    if let Some(c) = l.cpus {
        let period = res["cpu"]["period"]
            .as_u64()
            .filter(|p| *p > 0)
            .unwrap_or(100_000);
        let quota = (c * period as f64).round() as i64;
        res["cpu"]["period"] = json!(period);
        min_i64(&mut res["cpu"]["quota"], quota);
    }
    if let Some(s) = l.cpu_shares {
        min_u64(&mut res["cpu"]["shares"], s);
    }
    if let Some(n) = l.pids {
        min_i64(&mut res["pids"]["limit"], n as i64);
    }
    if let Some(w) = l.io_weight {
        min_u64(&mut res["blockIO"]["weight"], u64::from(w));
    }
    let fs = policy.filesystem.clone().unwrap_or_default();
    if fs.root.as_deref().unwrap_or("host") == "host" {
        v["root"]["readonly"] = json!(true);
    }
    if let Some(hidden) = &fs.hidden {
        let extra: Vec<String> = hidden
            .iter()
            .filter(|r| r.path.starts_with('/') && !r.path.contains('{'))
            .map(|r| r.path.clone())
            .collect();
        if !v["linux"]["maskedPaths"].is_array() {
            v["linux"]["maskedPaths"] = json!([]);
        }
        if let Some(m) = v["linux"]["maskedPaths"].as_array_mut() {
            for e in extra {
                if !m.iter().any(|x| x == &json!(e)) {
                    m.push(json!(e));
                }
            }
        }
    }
    if let Some(ll) = &policy.landlock {
        let rules = LandlockRules {
            read: absolute_rules(&ll.read, "landlock.read")?,
            write: absolute_rules(&ll.write, "landlock.write")?,
            exec: absolute_rules(&ll.exec, "landlock.exec")?,
            create: absolute_rules(&ll.create, "landlock.create")?,
            remove: absolute_rules(&ll.remove, "landlock.remove")?,
            best_effort: policy.degrade.as_ref().and_then(|d| d.landlock)
                == Some(DegradeMode::Warn),
        };
        let text = landlock::to_annotation(&rules).map_err(|e| SpecError::Build(e.to_string()))?;
        if !v["annotations"].is_object() {
            v["annotations"] = json!({});
        }
        v["annotations"][landlock::ANNOTATION] = json!(text);
    }
    if !v["annotations"].is_object() {
        v["annotations"] = json!({});
    }
    v["annotations"][NARROWED_ANNOTATION] = json!("true");
    let (seccomp, stacked) = policy_filter(policy)?;
    let mut spec: Spec = serde_json::from_value(v).map_err(|e| SpecError::Build(e.to_string()))?;
    if !stacked.is_empty() {
        // Stacked beside the client's filter and the policy's (executor.rs).
        let mut a = spec.annotations().clone().unwrap_or_default();
        super::seccomp_stack::merge_into(&mut a, &stacked)
            .map_err(|e| invalid("seccomp.rules", e))?;
        spec.set_annotations(Some(a));
    }
    Ok(Narrowed { spec, seccomp })
}

/// An `exec`ed process of a narrowed container gets no more than the
/// container's own process: clients build process.json from their own
/// defaults (Docker's capability set), which would undo the policy.
/// Capabilities are intersected set by set, no_new_privileges kept on,
/// rlimits lowered to the container's.
pub fn narrow_exec(
    process: &libcontainer::oci_spec::runtime::Process,
    container: &libcontainer::oci_spec::runtime::Process,
) -> Result<libcontainer::oci_spec::runtime::Process, SpecError> {
    let err = |e: serde_json::Error| SpecError::Build(e.to_string());
    let mut v = serde_json::to_value(process).map_err(err)?;
    let c = serde_json::to_value(container).map_err(err)?;
    let empty = vec![];
    if let Some(sets) = v["capabilities"].as_object_mut() {
        for (name, set) in sets.iter_mut() {
            let allowed = c["capabilities"][name].as_array().unwrap_or(&empty);
            if let Some(list) = set.as_array_mut() {
                list.retain(|cap| allowed.contains(cap));
            }
        }
    }
    if c["noNewPrivileges"] == json!(true) {
        v["noNewPrivileges"] = json!(true);
    }
    if let Some(limits) = c["rlimits"].as_array() {
        if !v["rlimits"].is_array() {
            v["rlimits"] = json!([]);
        }
        if let Some(list) = v["rlimits"].as_array_mut() {
            for l in limits {
                let (Some(soft), Some(hard)) = (l["soft"].as_u64(), l["hard"].as_u64()) else {
                    continue;
                };
                match list.iter_mut().find(|r| r["type"] == l["type"]) {
                    Some(r) => {
                        min_u64(&mut r["soft"], soft);
                        min_u64(&mut r["hard"], hard);
                    }
                    None => list.push(l.clone()),
                }
            }
        }
    }
    serde_json::from_value(v).map_err(err)
}

type PolicyFilter = (Option<LinuxSeccomp>, Vec<super::seccomp_stack::StackRule>);

/// The policy's own seccomp filter (preset, network block, rules), and its
/// rules that need a stacked filter.
fn policy_filter(policy: &Layer) -> Result<PolicyFilter, SpecError> {
    let s = policy.seccomp.clone().unwrap_or_default();
    if s.profile.is_some() {
        return Err(invalid(
            "seccomp.profile",
            "a policy applied through the annotation cannot name a profile file; the client's spec carries its own",
        ));
    }
    let mode = policy
        .network
        .as_ref()
        .and_then(|n| n.mode)
        .unwrap_or(NetworkMode::None);
    super::build::policy_seccomp(&s, None, mode)
}
