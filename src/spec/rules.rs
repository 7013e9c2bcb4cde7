//! The policy's own seccomp rules, added to a profile in OCI form.
//!
//! A deny rule for a syscall the profile allows unconditionally must take
//! that allowance away, or the allow would still match: the syscall leaves
//! the unconditional allow rules, the deny rule is added, and for a rule
//! with one argument condition the complement (`ne` for `eq`, ...) is
//! allowed again. A deny rule with several conditions on an allowed syscall
//! has no exact OCI form (the complement of an AND is an OR): refused, never
//! approximated.

use libcontainer::oci_spec::runtime::LinuxSeccomp;
use serde_json::{Value, json};

use super::build::SpecError;
use crate::policy::model::{ArgOp, RuleAction, SyscallRule};

const ARCHES: &[&str] = &["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];

/// A profile that allows everything, for policies with no preset but with
/// rules of their own (or network blocking).
pub fn allow_all() -> LinuxSeccomp {
    // Built from JSON so the field names are the OCI ones.
    serde_json::from_value(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ARCHES, "syscalls": []}),
    )
    .unwrap_or_default()
}

fn op_name(op: ArgOp) -> &'static str {
    match op {
        ArgOp::Eq => "SCMP_CMP_EQ",
        ArgOp::Ne => "SCMP_CMP_NE",
        ArgOp::Lt => "SCMP_CMP_LT",
        ArgOp::Le => "SCMP_CMP_LE",
        ArgOp::Gt => "SCMP_CMP_GT",
        ArgOp::Ge => "SCMP_CMP_GE",
        ArgOp::MaskedEq => "SCMP_CMP_MASKED_EQ",
    }
}

fn complement(op: ArgOp) -> Option<ArgOp> {
    match op {
        ArgOp::Eq => Some(ArgOp::Ne),
        ArgOp::Ne => Some(ArgOp::Eq),
        ArgOp::Lt => Some(ArgOp::Ge),
        ArgOp::Ge => Some(ArgOp::Lt),
        ArgOp::Le => Some(ArgOp::Gt),
        ArgOp::Gt => Some(ArgOp::Le),
        ArgOp::MaskedEq => None,
    }
}

fn action_name(a: RuleAction) -> &'static str {
    match a {
        RuleAction::Allow => "SCMP_ACT_ALLOW",
        RuleAction::Errno => "SCMP_ACT_ERRNO",
        RuleAction::Kill => "SCMP_ACT_KILL_PROCESS",
        RuleAction::Log => "SCMP_ACT_LOG",
    }
}

fn arg_json(index: u32, op: ArgOp, value: u64, value_two: Option<u64>) -> Value {
    json!({"index": index, "value": value, "valueTwo": value_two.unwrap_or(0), "op": op_name(op)})
}

/// Appends `rules` to `profile`; `default_errno` for errno rules without one.
pub fn add(
    profile: &mut LinuxSeccomp,
    rules: &[SyscallRule],
    default_errno: u32,
) -> Result<(), SpecError> {
    let mut v = serde_json::to_value(&*profile).map_err(|e| SpecError::Build(e.to_string()))?;
    let mut syscalls: Vec<Value> = v["syscalls"].as_array().cloned().unwrap_or_default();
    for (i, r) in rules.iter().enumerate() {
        let key = format!("seccomp.rules[{i}]");
        let errno = match &r.errno {
            Some(e) => crate::policy::errno_value(e).ok_or_else(|| SpecError::Invalid {
                key: format!("{key}.errno"),
                msg: format!("unknown errno {e:?}"),
            })?,
            None => default_errno,
        };
        let args: Vec<Value> = r
            .args
            .iter()
            .map(|a| arg_json(a.index, a.op, a.value, a.value_two))
            .collect();
        let mut entry = json!({"names": r.syscalls, "action": action_name(r.action), "args": args});
        if r.action == RuleAction::Errno {
            entry["errnoRet"] = json!(errno);
        }
        if r.action != RuleAction::Allow {
            for name in &r.syscalls {
                narrow_allows(&mut syscalls, name, &r.args).map_err(|msg| SpecError::Invalid {
                    key: key.clone(),
                    msg: format!("{name}: {msg}"),
                })?;
            }
        }
        syscalls.push(entry);
    }
    v["syscalls"] = Value::Array(syscalls);
    *profile = serde_json::from_value(v).map_err(|e| SpecError::Build(e.to_string()))?;
    Ok(())
}

/// Does the condition `op value (value_two)` hold for argument value `x`?
fn holds(op: ArgOp, value: u64, value_two: Option<u64>, x: u64) -> bool {
    match op {
        ArgOp::Eq => x == value,
        ArgOp::Ne => x != value,
        ArgOp::Lt => x < value,
        ArgOp::Le => x <= value,
        ArgOp::Gt => x > value,
        ArgOp::Ge => x >= value,
        ArgOp::MaskedEq => x & value == value_two.unwrap_or(0),
    }
}

fn op_from_name(s: &str) -> Option<ArgOp> {
    Some(match s {
        "SCMP_CMP_EQ" => ArgOp::Eq,
        "SCMP_CMP_NE" => ArgOp::Ne,
        "SCMP_CMP_LT" => ArgOp::Lt,
        "SCMP_CMP_LE" => ArgOp::Le,
        "SCMP_CMP_GT" => ArgOp::Gt,
        "SCMP_CMP_GE" => ArgOp::Ge,
        "SCMP_CMP_MASKED_EQ" => ArgOp::MaskedEq,
        _ => return None,
    })
}

/// Makes every allow rule for `name` exclude what the deny conditions
/// `deny` match, exactly, or explains why that has no seccomp form.
/// (libseccomp lets an overlapping allow win, and takes at most one
/// comparison per argument in a rule.)
fn narrow_allows(
    syscalls: &mut Vec<Value>,
    name: &str,
    deny: &[crate::policy::model::ArgFilter],
) -> Result<(), String> {
    let mut out: Vec<Value> = Vec::with_capacity(syscalls.len());
    for s in syscalls.drain(..) {
        let names: Vec<Value> = s["names"].as_array().cloned().unwrap_or_default();
        let allows_it = s["action"] == "SCMP_ACT_ALLOW" && names.iter().any(|n| n == name);
        if !allows_it {
            out.push(s);
            continue;
        }
        // Split `name` out of a shared rule so only its copy changes.
        let rest: Vec<Value> = names.into_iter().filter(|n| n != name).collect();
        if !rest.is_empty() {
            let mut other = s.clone();
            other["names"] = Value::Array(rest);
            out.push(other);
        }
        let mut mine = s;
        mine["names"] = json!([name]);
        let conds: Vec<Value> = mine["args"].as_array().cloned().unwrap_or_default();
        match deny {
            // An unconditional deny: the allow goes.
            [] => {}
            [d] => {
                let same: Vec<&Value> = conds
                    .iter()
                    .filter(|c| c["index"] == json!(d.index))
                    .collect();
                match same.as_slice() {
                    [] => {
                        let Some(c) = complement(d.op) else {
                            return Err(
                                "a masked_eq deny next to an allow rule has no exact seccomp form"
                                    .into(),
                            );
                        };
                        let mut args = conds.clone();
                        args.push(arg_json(d.index, c, d.value, d.value_two));
                        mine["args"] = Value::Array(args);
                        out.push(mine);
                    }
                    [c] if op_from_name(c["op"].as_str().unwrap_or("")) == Some(ArgOp::Eq) => {
                        // The allow is for one value: keep it unless the deny matches it.
                        let x = c["value"].as_u64().unwrap_or(0);
                        if !holds(d.op, d.value, d.value_two, x) {
                            out.push(mine);
                        }
                    }
                    // A deny of one value the allow's condition already
                    // excludes leaves the allow as it is.
                    [c] if d.op == ArgOp::Eq
                        && op_from_name(c["op"].as_str().unwrap_or("")).is_some_and(|op| {
                            !holds(
                                op,
                                c["value"].as_u64().unwrap_or(0),
                                c["valueTwo"].as_u64(),
                                d.value,
                            )
                        }) =>
                    {
                        out.push(mine);
                    }
                    _ => {
                        return Err(format!(
                            "the profile allows it under a condition on argument {} that cannot be combined exactly with this deny (libseccomp takes one comparison per argument); use seccomp.preset = \"strict\" or \"unconfined\" with this rule",
                            d.index
                        ));
                    }
                }
            }
            _ => {
                return Err("a deny rule with several argument conditions on a syscall the profile allows has no exact seccomp form; split it into one rule per condition".into());
            }
        }
    }
    *syscalls = out;
    Ok(())
}
