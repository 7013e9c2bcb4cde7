//! The policy's own seccomp rules, added to a profile in OCI form.
//!
//! A deny rule for a syscall the profile allows unconditionally must take
//! that allowance away, or the allow would still match: the syscall leaves
//! the unconditional allow rules, the deny rule is added, and for a rule
//! with one argument condition the complement (`ne` for `eq`, ...) is
//! allowed again. A deny rule with no exact OCI form for a syscall (several
//! conditions on an allowed syscall: the complement of an AND is an OR; a
//! `masked_eq` deny beside an allow; two conditions on one argument) is not
//! approximated: for that syscall it is returned as a stacked rule
//! (seccomp_stack.rs), a filter of its own that the kernel runs beside the
//! profile, strictest answer winning.

use libcontainer::oci_spec::runtime::LinuxSeccomp;
use serde_json::{Value, json};

use super::build::SpecError;
use super::seccomp_stack::{StackAction, StackRule};
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
/// Returns the deny rules (per syscall) that have no exact form in the
/// profile, to be stacked as a filter of their own.
pub fn add(
    profile: &mut LinuxSeccomp,
    rules: &[SyscallRule],
    default_errno: u32,
) -> Result<Vec<StackRule>, SpecError> {
    let mut v = serde_json::to_value(&*profile).map_err(|e| SpecError::Build(e.to_string()))?;
    let mut syscalls: Vec<Value> = v["syscalls"].as_array().cloned().unwrap_or_default();
    let mut stacked = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let key = format!("seccomp.rules[{i}]");
        let errno = match &r.errno {
            Some(e) => crate::policy::errno_value(e).ok_or_else(|| SpecError::Invalid {
                key: format!("{key}.errno"),
                msg: format!("unknown errno {e:?}"),
            })?,
            None => default_errno,
        };
        if let Some(a) = r.args.iter().find(|a| a.index > 5) {
            return Err(SpecError::Invalid {
                key: format!("{key}.args"),
                msg: format!("argument index {} (syscalls have arguments 0..=5)", a.index),
            });
        }
        let args: Vec<Value> = r
            .args
            .iter()
            .map(|a| arg_json(a.index, a.op, a.value, a.value_two))
            .collect();
        let mut names = r.syscalls.clone();
        let stack_action = match r.action {
            RuleAction::Allow => None,
            RuleAction::Errno => Some(StackAction::Errno(errno)),
            RuleAction::Kill => Some(StackAction::Kill),
            RuleAction::Log => Some(StackAction::Log),
        };
        if let Some(action) = stack_action {
            let mut inexact = Vec::new();
            for name in &r.syscalls {
                // On a copy: a syscall without an exact form keeps the
                // profile's allow rules as they are.
                let mut narrowed = syscalls.clone();
                match narrow_allows(&mut narrowed, name, &r.args) {
                    Ok(()) => syscalls = narrowed,
                    Err(_) => inexact.push(name.clone()),
                }
            }
            if !inexact.is_empty() {
                if let Some(s) = inexact.iter().find(|n| n.as_str() == "seccomp") {
                    return Err(SpecError::Invalid {
                        key,
                        msg: format!(
                            "{s}: this deny has no exact form in the profile, and a stacked filter that denies seccomp(2) would stop the profile's own filter from being installed; deny it without conditions"
                        ),
                    });
                }
                names.retain(|n| !inexact.contains(n));
                stacked.push(StackRule {
                    names: inexact,
                    action,
                    args: r.args.clone(),
                });
            }
        }
        if names.is_empty() {
            continue;
        }
        let mut entry = json!({"names": names, "action": action_name(r.action), "args": args});
        if r.action == RuleAction::Errno {
            entry["errnoRet"] = json!(errno);
        }
        syscalls.push(entry);
    }
    v["syscalls"] = Value::Array(syscalls);
    *profile = serde_json::from_value(v).map_err(|e| SpecError::Build(e.to_string()))?;
    Ok(stacked)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::ArgFilter;
    use crate::spec::seccomp_presets::{Preset, profile};

    fn rule(name: &str, args: Vec<ArgFilter>) -> SyscallRule {
        SyscallRule {
            syscalls: vec![name.into(), "swapoff".into()],
            action: RuleAction::Errno,
            errno: None,
            args,
            why: None,
        }
    }

    fn entries_for(p: &LinuxSeccomp, name: &str) -> Vec<Value> {
        let v = serde_json::to_value(p).unwrap();
        v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["names"].as_array().unwrap().iter().any(|n| n == name))
            .cloned()
            .collect()
    }

    #[test]
    fn a_deny_without_an_exact_form_is_stacked_and_leaves_the_profile_alone() {
        let mut p = profile(Preset::Default, 1, false);
        let before = entries_for(&p, "kill");
        let two = vec![
            ArgFilter {
                index: 0,
                op: ArgOp::Eq,
                value: 1,
                value_two: None,
            },
            ArgFilter {
                index: 1,
                op: ArgOp::Eq,
                value: 0,
                value_two: None,
            },
        ];
        let stacked = add(&mut p, &[rule("kill", two.clone())], 1).unwrap();
        assert_eq!(
            stacked,
            vec![StackRule {
                names: vec!["kill".into()],
                action: StackAction::Errno(1),
                args: two,
            }]
        );
        assert_eq!(
            entries_for(&p, "kill"),
            before,
            "kill's allow rules unchanged"
        );
        // swapoff, in the same rule, has an exact form (the profile does
        // not allow it): the rule is in the profile for it.
        let swapoff = entries_for(&p, "swapoff");
        assert!(
            swapoff
                .iter()
                .any(|e| e["action"] == "SCMP_ACT_ERRNO" && e["names"] == json!(["swapoff"])),
            "{swapoff:?}"
        );
    }

    #[test]
    fn an_exact_deny_is_not_stacked() {
        let mut p = profile(Preset::Default, 1, false);
        let one = vec![ArgFilter {
            index: 1,
            op: ArgOp::Eq,
            value: 9,
            value_two: None,
        }];
        assert!(add(&mut p, &[rule("kill", one)], 1).unwrap().is_empty());
    }

    #[test]
    fn a_stacked_deny_of_seccomp_itself_is_refused() {
        let mut p = profile(Preset::Default, 1, false);
        let masked = vec![ArgFilter {
            index: 0,
            op: ArgOp::MaskedEq,
            value: 1,
            value_two: Some(1),
        }];
        let e = add(&mut p, &[rule("seccomp", masked)], 1).unwrap_err();
        assert!(e.to_string().contains("seccomp"), "{e}");
    }
}
