//! Which clauses of a policy this kernel can enforce. A clause the kernel
//! cannot enforce is refused, unless the policy's `[degrade]` table says
//! `warn` for its mechanism: then it is dropped from the spec, said on
//! stderr and recorded in the report. Nothing is dropped silently.

use serde::Serialize;
use serde_json::Value;

use crate::policy::model::{DegradeMode, Layer, SeccompPreset};
use crate::sys::features::{KernelFeatures, Knob, Support};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    Enforced,
    Degraded { reason: String },
    Refused { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clause {
    pub key: &'static str,
    pub knob: Knob,
    #[serde(flatten)]
    pub status: Status,
}

/// The degrade key that governs `knob` (None: it can never degrade).
fn degrade_key(knob: Knob) -> Option<&'static str> {
    match knob {
        Knob::MemorySwap => Some("degrade.memory_swap"),
        Knob::IoWeight | Knob::IoBandwidth => Some("degrade.io"),
        Knob::CgroupNamespace => Some("degrade.cgroup_namespace"),
        Knob::UserNamespace => Some("degrade.user_namespace"),
        Knob::Seccomp => Some("degrade.seccomp"),
        Knob::Landlock | Knob::LandlockTruncate => Some("degrade.landlock"),
        Knob::Memory | Knob::CpuQuota | Knob::CpuShares | Knob::Pids | Knob::Freezer => None,
    }
}

fn mode(policy: &Layer, knob: Knob) -> DegradeMode {
    let Some(d) = &policy.degrade else {
        return DegradeMode::Fail;
    };
    let m = match knob {
        Knob::MemorySwap => d.memory_swap,
        Knob::IoWeight | Knob::IoBandwidth => d.io,
        Knob::CgroupNamespace => d.cgroup_namespace,
        Knob::UserNamespace => d.user_namespace,
        Knob::Seccomp => d.seccomp,
        Knob::Landlock | Knob::LandlockTruncate => d.landlock,
        Knob::Memory | Knob::CpuQuota | Knob::CpuShares | Knob::Pids | Knob::Freezer => None,
    };
    m.unwrap_or(DegradeMode::Fail)
}

/// The kernel mechanisms `policy` relies on, with the key that asks for each.
pub fn used_knobs(policy: &Layer) -> Vec<(&'static str, Knob)> {
    let mut out = vec![];
    let l = policy.limits.clone().unwrap_or_default();
    if l.memory.is_some() {
        out.push(("limits.memory", Knob::Memory));
        // The spec always sets memory+swap with a memory limit (else the
        // container could swap past it).
        out.push(("limits.memory_swap", Knob::MemorySwap));
    }
    if l.cpus.is_some() {
        out.push(("limits.cpus", Knob::CpuQuota));
    }
    if l.cpu_shares.is_some() {
        out.push(("limits.cpu_shares", Knob::CpuShares));
    }
    if l.pids.is_some() {
        out.push(("limits.pids", Knob::Pids));
    }
    if l.io_weight.is_some() {
        out.push(("limits.io_weight", Knob::IoWeight));
    }
    if l.io.as_ref().is_some_and(|v| !v.is_empty()) {
        out.push(("limits.io", Knob::IoBandwidth));
    }
    let ns = policy.namespaces.clone().unwrap_or_default();
    if ns.cgroup != Some(false) {
        out.push(("namespaces.cgroup", Knob::CgroupNamespace));
    }
    if ns.user == Some(true) {
        out.push(("namespaces.user", Knob::UserNamespace));
    }
    let s = policy.seccomp.clone().unwrap_or_default();
    if s.preset != Some(SeccompPreset::Unconfined)
        || s.profile.is_some()
        || s.rules.is_some()
        || s.block_network == Some(true)
    {
        out.push(("seccomp", Knob::Seccomp));
    }
    if let Some(ll) = &policy.landlock {
        if ll.read.is_some()
            || ll.write.is_some()
            || ll.exec.is_some()
            || ll.create.is_some()
            || ll.remove.is_some()
        {
            out.push(("landlock", Knob::Landlock));
        }
        if ll.write.is_some() {
            out.push(("landlock.write", Knob::LandlockTruncate));
        }
    }
    out
}

pub fn clauses(policy: &Layer, f: &KernelFeatures) -> Vec<Clause> {
    used_knobs(policy)
        .into_iter()
        .map(|(key, knob)| {
            let status = match f.supports(knob) {
                Support::Yes => Status::Enforced,
                Support::No(why) => match (degrade_key(knob), mode(policy, knob)) {
                    (Some(_), DegradeMode::Warn) => Status::Degraded { reason: why },
                    (Some(dk), DegradeMode::Fail) => Status::Refused {
                        reason: format!("{why} (set {dk} = \"warn\" to run without it)"),
                    },
                    (None, _) => Status::Refused { reason: why },
                },
            };
            Clause { key, knob, status }
        })
        .collect()
}

/// Removes what degraded clauses ask for from the built spec (JSON form).
pub fn strip_degraded(spec: &mut Value, degraded: &[Clause]) {
    for c in degraded {
        let linux = &mut spec["linux"];
        match c.knob {
            Knob::MemorySwap => {
                if let Some(m) = linux["resources"]["memory"].as_object_mut() {
                    m.remove("swap");
                }
            }
            Knob::IoWeight => {
                if let Some(b) = linux["resources"]["blockIO"].as_object_mut() {
                    b.remove("weight");
                }
            }
            Knob::IoBandwidth => {
                if let Some(b) = linux["resources"]["blockIO"].as_object_mut() {
                    b.remove("throttleReadBpsDevice");
                    b.remove("throttleWriteBpsDevice");
                }
            }
            Knob::CgroupNamespace | Knob::UserNamespace => {
                let kind = if c.knob == Knob::UserNamespace {
                    "user"
                } else {
                    "cgroup"
                };
                if let Some(ns) = linux["namespaces"].as_array_mut() {
                    ns.retain(|n| n["type"] != kind);
                }
                if c.knob == Knob::UserNamespace
                    && let Some(l) = linux.as_object_mut()
                {
                    l.remove("uidMappings");
                    l.remove("gidMappings");
                }
            }
            Knob::Seccomp => {
                if let Some(l) = linux.as_object_mut() {
                    l.remove("seccomp");
                }
            }
            // The executor applies Landlock best-effort when degrading is
            // allowed (the rules carry best_effort); nothing to strip.
            Knob::Landlock | Knob::LandlockTruncate => {}
            Knob::Memory | Knob::CpuQuota | Knob::CpuShares | Knob::Pids | Knob::Freezer => {}
        }
    }
}
