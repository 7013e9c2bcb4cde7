//! Seccomp deny rules that have no exact OCI form, kept for a filter of
//! their own.
//!
//! A policy's deny rule goes into the spec's `linux.seccomp` whenever the
//! profile's allow rules can be narrowed to exclude exactly what it denies
//! (rules.rs). When they cannot (a `masked_eq` deny beside an allow, two
//! conditions on one argument, a deny with several conditions on an allowed
//! syscall), the rule is kept here instead and carried in the spec's
//! `io.cagebox.seccomp.stack` annotation. cagebox's executor compiles it
//! with seccompiler into a second filter, default allow, installed just
//! before the spec's own filter. The kernel runs every installed filter and
//! takes the strictest answer, so the deny holds exactly, whatever the
//! profile allows.
//!
//! Only a runtime that reads the annotation enforces it: a spec with one is
//! cagebox's (like its Landlock annotation).

use serde::{Deserialize, Serialize};

use crate::policy::model::ArgFilter;

pub const ANNOTATION: &str = "io.cagebox.seccomp.stack";

/// What a stacked rule does to a call it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackAction {
    /// Fail with this errno.
    Errno(u32),
    /// Kill the process (SIGSYS).
    Kill,
    /// Allow and log (the other filters still decide).
    Log,
}

/// A deny rule: `names` matched when every condition in `args` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StackRule {
    pub names: Vec<String>,
    pub action: StackAction,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgFilter>,
}

/// The annotation's value.
pub fn to_annotation(rules: &[StackRule]) -> Result<String, serde_json::Error> {
    serde_json::to_string(rules)
}

/// The stacked rules of `spec` (none without the annotation). A value that
/// does not parse is an error: the rules it meant must not be dropped.
pub fn from_annotations(
    annotations: Option<&std::collections::HashMap<String, String>>,
) -> Result<Vec<StackRule>, String> {
    let Some(text) = annotations.and_then(|a| a.get(ANNOTATION)) else {
        return Ok(vec![]);
    };
    let rules: Vec<StackRule> =
        serde_json::from_str(text).map_err(|e| format!("annotation {ANNOTATION}: {e}"))?;
    for (i, r) in rules.iter().enumerate() {
        if r.names.is_empty() {
            return Err(format!(
                "annotation {ANNOTATION}: rule {i} names no syscall"
            ));
        }
        if let Some(a) = r.args.iter().find(|a| a.index > 5) {
            return Err(format!(
                "annotation {ANNOTATION}: rule {i}: argument index {} (0..=5)",
                a.index
            ));
        }
    }
    Ok(rules)
}

/// Appends `more` to the annotation in `annotations` (narrowing a spec
/// that already has stacked rules keeps them).
pub fn merge_into(
    annotations: &mut std::collections::HashMap<String, String>,
    more: &[StackRule],
) -> Result<(), String> {
    if more.is_empty() {
        return Ok(());
    }
    let mut all = from_annotations(Some(annotations))?;
    all.extend_from_slice(more);
    let text = to_annotation(&all).map_err(|e| e.to_string())?;
    annotations.insert(ANNOTATION.into(), text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::ArgOp;
    use std::collections::HashMap;

    fn rule() -> StackRule {
        StackRule {
            names: vec!["socket".into()],
            action: StackAction::Errno(1),
            args: vec![ArgFilter {
                index: 0,
                op: ArgOp::MaskedEq,
                value: 0xff,
                value_two: Some(2),
            }],
        }
    }

    #[test]
    fn annotation_round_trips_and_merges() {
        let mut a = HashMap::new();
        assert_eq!(from_annotations(Some(&a)).unwrap(), vec![]);
        merge_into(&mut a, &[rule()]).unwrap();
        merge_into(&mut a, &[rule()]).unwrap();
        assert_eq!(from_annotations(Some(&a)).unwrap(), vec![rule(), rule()]);
        assert!(a[ANNOTATION].contains("\"errno\":1"), "{}", a[ANNOTATION]);
    }

    #[test]
    fn a_bad_annotation_is_an_error_not_nothing() {
        let mut a = HashMap::new();
        a.insert(ANNOTATION.to_string(), "[{\"names\":[\"x\"]}]".to_string());
        assert!(from_annotations(Some(&a)).is_err());
        a.insert(
            ANNOTATION.to_string(),
            "[{\"names\":[\"x\"],\"action\":\"kill\",\"args\":[{\"index\":6,\"op\":\"eq\",\"value\":1}]}]"
                .to_string(),
        );
        let e = from_annotations(Some(&a)).unwrap_err();
        assert!(e.contains("index 6"), "{e}");
    }
}
