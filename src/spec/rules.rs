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
                if take_unconditional_allow(&mut syscalls, name) {
                    match r.args.as_slice() {
                        [] => {}
                        [a] => {
                            let Some(c) = complement(a.op) else {
                                return Err(SpecError::Invalid {
                                    key,
                                    msg: format!(
                                        "{name}: a masked_eq deny on an allowed syscall has no exact seccomp form"
                                    ),
                                });
                            };
                            syscalls.push(json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": [arg_json(a.index, c, a.value, a.value_two)]}));
                        }
                        _ => {
                            return Err(SpecError::Invalid {
                                key,
                                msg: format!(
                                    "{name}: a deny rule with several argument conditions on a syscall the profile allows has no exact seccomp form; split it into one rule per condition"
                                ),
                            });
                        }
                    }
                }
            }
        }
        syscalls.push(entry);
    }
    v["syscalls"] = Value::Array(syscalls);
    *profile = serde_json::from_value(v).map_err(|e| SpecError::Build(e.to_string()))?;
    Ok(())
}

/// Removes `name` from rules that allow it without conditions; true if any did.
fn take_unconditional_allow(syscalls: &mut Vec<Value>, name: &str) -> bool {
    let mut found = false;
    for s in syscalls.iter_mut() {
        let unconditional = s["args"].as_array().is_none_or(|a| a.is_empty());
        if s["action"] != "SCMP_ACT_ALLOW" || !unconditional {
            continue;
        }
        if let Some(names) = s["names"].as_array_mut() {
            let before = names.len();
            names.retain(|n| n != name);
            found |= names.len() != before;
        }
    }
    syscalls.retain(|s| s["names"].as_array().is_none_or(|n| !n.is_empty()));
    found
}
