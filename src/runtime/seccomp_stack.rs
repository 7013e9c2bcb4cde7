//! Compiles a spec's stacked seccomp rules (spec/seccomp_stack.rs) with
//! seccompiler into filters the executor installs beside the spec's own.
//!
//! Each filter is default-allow and denies what its rules match: seccompiler
//! gives a filter one action for every match, so there is one filter per
//! distinct action (usually one). The kernel runs all installed filters and
//! returns the strictest result, so stacking can only take allowances away.
//!
//! Two things seccompiler's program does not cover are added in front of it,
//! on x86_64: x32 system calls (numbers with bit 30 set) arrive with the
//! x86_64 audit arch, and would slip past rules written for x86_64 numbers,
//! so every x32 call gets the filter's action; and calls through another
//! ABI (int 0x80) are killed by seccompiler's own arch check. A sandbox
//! whose policy needs a stacked filter therefore runs 64-bit code only.
//!
//! Compiling takes microseconds (a few dozen BPF instructions, no library
//! state), less than reading a cache file, so unlike the libseccomp
//! profile (seccomp.rs) the result is not cached.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use super::seccomp::{Compiled, SeccompError};
use crate::policy::model::{ArgFilter, ArgOp};
use crate::spec::seccomp_stack::{StackAction, StackRule};

/// BPF_LD (0x00) | BPF_W (0x00) | BPF_ABS (0x20), linux/bpf_common.h.
const BPF_LD_W_ABS: u16 = 0x20;
/// BPF_JMP (0x05) | BPF_JGE (0x30) | BPF_K (0x00).
const BPF_JMP_JGE_K: u16 = 0x35;
/// BPF_RET (0x06) | BPF_K (0x00).
const BPF_RET_K: u16 = 0x06;
/// `seccomp_data.nr`.
const NR_OFFSET: u32 = 0;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

fn err(e: impl std::fmt::Display) -> SeccompError {
    SeccompError::Compile(format!("stacked filter: {e}"))
}

fn target() -> Result<TargetArch, SeccompError> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(err)
}

fn action(a: StackAction) -> SeccompAction {
    match a {
        StackAction::Errno(n) => SeccompAction::Errno(n),
        StackAction::Kill => SeccompAction::KillProcess,
        StackAction::Log => SeccompAction::Log,
    }
}

/// One condition; None when it can never hold (a `masked_eq` datum with
/// bits outside the mask), so the rule it is in never matches.
fn condition(a: &ArgFilter) -> Result<Option<SeccompCondition>, SeccompError> {
    let index = u8::try_from(a.index).map_err(err)?;
    let (op, value) = match a.op {
        ArgOp::Eq => (SeccompCmpOp::Eq, a.value),
        ArgOp::Ne => (SeccompCmpOp::Ne, a.value),
        ArgOp::Lt => (SeccompCmpOp::Lt, a.value),
        ArgOp::Le => (SeccompCmpOp::Le, a.value),
        ArgOp::Gt => (SeccompCmpOp::Gt, a.value),
        ArgOp::Ge => (SeccompCmpOp::Ge, a.value),
        // OCI's (and the policy's) order: `value` is the mask.
        ArgOp::MaskedEq => {
            let datum = a.value_two.unwrap_or(0);
            if datum & !a.value != 0 {
                return Ok(None);
            }
            (SeccompCmpOp::MaskedEq(a.value), datum)
        }
    };
    // Whole 64-bit registers, as libseccomp compares the profile's rules.
    SeccompCondition::new(index, SeccompCmpArgLen::Qword, op, value)
        .map(Some)
        .map_err(err)
}

/// The native number of a syscall name; None for names this architecture
/// has no such call for (they cannot be made, so need no rule).
fn number(name: &str) -> Option<i64> {
    let nr = i32::from(libseccomp::ScmpSyscall::from_name(name).ok()?);
    (nr >= 0).then_some(i64::from(nr))
}

/// What to match per syscall number: None matches every call, Some(rules)
/// a call any of the rules (all conditions of one) matches.
type Chains = BTreeMap<i64, Option<Vec<SeccompRule>>>;

fn add_rule(chains: &mut Chains, r: &StackRule) -> Result<(), SeccompError> {
    let mut conds = Vec::with_capacity(r.args.len());
    for a in &r.args {
        match condition(a)? {
            Some(c) => conds.push(c),
            None => return Ok(()),
        }
    }
    for name in &r.names {
        let Some(nr) = number(name) else {
            tracing::debug!("seccomp stack: no syscall {name} on this architecture");
            continue;
        };
        let entry = chains.entry(nr).or_insert_with(|| Some(vec![]));
        match (entry.as_mut(), conds.is_empty()) {
            (None, _) => {}
            (Some(_), true) => *entry = None,
            (Some(list), false) => list.push(SeccompRule::new(conds.clone()).map_err(err)?),
        }
    }
    Ok(())
}

fn to_bytes(prog: &[sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * 8);
    for i in prog {
        out.extend_from_slice(&i.code.to_ne_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_ne_bytes());
    }
    out
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// The filters for `rules`, one per action, in a stable order.
pub fn compile(rules: &[StackRule]) -> Result<Vec<Compiled>, SeccompError> {
    let arch = target()?;
    let mut by_action: BTreeMap<StackAction, Chains> = BTreeMap::new();
    for r in rules {
        add_rule(by_action.entry(r.action).or_default(), r)?;
    }
    let mut out = Vec::new();
    for (act, chains) in by_action {
        if chains.is_empty() {
            continue;
        }
        let rules: BTreeMap<i64, Vec<SeccompRule>> = chains
            .into_iter()
            .map(|(nr, c)| (nr, c.unwrap_or_default()))
            .collect();
        let filter =
            SeccompFilter::new(rules, SeccompAction::Allow, action(act), arch).map_err(err)?;
        let body: BpfProgram = filter.try_into().map_err(err)?;
        let mut prog = Vec::with_capacity(body.len() + 3);
        if arch == TargetArch::x86_64 {
            // Before seccompiler's arch check, which passes x32 calls.
            prog.push(insn(BPF_LD_W_ABS, 0, 0, NR_OFFSET));
            prog.push(insn(BPF_JMP_JGE_K, 0, 1, X32_SYSCALL_BIT));
            prog.push(insn(BPF_RET_K, 0, 0, u32::from(action(act))));
        }
        prog.extend(body);
        out.push(Compiled {
            bpf: to_bytes(&prog),
            flags: 0,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(names: &[&str], action: StackAction, args: Vec<ArgFilter>) -> StackRule {
        StackRule {
            names: names.iter().map(|s| s.to_string()).collect(),
            action,
            args,
        }
    }

    fn arg(index: u32, op: ArgOp, value: u64, value_two: Option<u64>) -> ArgFilter {
        ArgFilter {
            index,
            op,
            value,
            value_two,
        }
    }

    #[test]
    fn one_filter_per_action() {
        let rules = vec![
            rule(&["mkdir"], StackAction::Errno(1), vec![]),
            rule(
                &["socket"],
                StackAction::Errno(1),
                vec![arg(0, ArgOp::MaskedEq, 0xff, Some(2))],
            ),
            rule(&["ptrace"], StackAction::Kill, vec![]),
        ];
        let f = compile(&rules).unwrap();
        assert_eq!(f.len(), 2);
        for c in &f {
            assert!(!c.bpf.is_empty() && c.bpf.len().is_multiple_of(8));
        }
    }

    #[test]
    fn a_masked_eq_that_cannot_hold_adds_nothing() {
        let r = rule(
            &["socket"],
            StackAction::Errno(1),
            vec![arg(0, ArgOp::MaskedEq, 0x0f, Some(0x10))],
        );
        assert!(compile(&[r]).unwrap().is_empty());
    }

    #[test]
    fn unconditional_wins_over_conditions_for_one_syscall() {
        let mut chains = Chains::new();
        add_rule(
            &mut chains,
            &rule(
                &["kill"],
                StackAction::Errno(1),
                vec![arg(1, ArgOp::Eq, 9, None)],
            ),
        )
        .unwrap();
        add_rule(&mut chains, &rule(&["kill"], StackAction::Errno(1), vec![])).unwrap();
        add_rule(
            &mut chains,
            &rule(
                &["kill"],
                StackAction::Errno(1),
                vec![arg(1, ArgOp::Eq, 15, None)],
            ),
        )
        .unwrap();
        let nr = number("kill").unwrap();
        assert!(chains[&nr].is_none());
    }

    #[test]
    fn names_this_architecture_lacks_are_skipped() {
        // socketcall exists only on 32-bit x86 (a pseudo number here).
        #[cfg(target_arch = "x86_64")]
        assert_eq!(number("socketcall"), None);
        assert!(number("openat").is_some());
    }
}
