//! The policy tools behind `spec --policy`, `policy ...` and `doctor`.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use cagebox::cli::sandbox::{Doctor, PolicyCommand, PolicyTarget};
use cagebox::policy::check::{self, Access, Decision};
use cagebox::policy::{self, Resolved};
use cagebox::sandbox::{self, Invocation, Request, enforce};
use cagebox::sys::features;

fn request(t: &PolicyTarget) -> Request {
    Request {
        policy_file: t.file.clone(),
        preset: t.preset.clone(),
        project: t.project.clone(),
        args: vec!["sh".into()],
        ..Default::default()
    }
}

fn resolved(req: &Request) -> Result<(Invocation, Resolved)> {
    let inv = Invocation::current(req)?;
    let r = sandbox::resolve(req, &inv.project)?;
    Ok((inv, r))
}

/// The config.json a policy becomes, with `rootfs` as the (relative) root.
pub fn spec_json(req: &Request) -> Result<String> {
    let (inv, r) = resolved(req)?;
    for n in &r.notes {
        eprintln!("cagebox: warning: {n}");
    }
    let built = sandbox::build_spec(req, &inv, &r, PathBuf::from("rootfs"))?;
    // Through a Value: its maps are sorted, so the output is stable (the
    // spec's annotations are a HashMap).
    let value = serde_json::to_value(&built.spec)?;
    Ok(serde_json::to_string_pretty(&value)?)
}

fn print_decision(d: &Decision) -> i32 {
    println!(
        "{}: {}{}",
        if d.allowed { "allow" } else { "deny" },
        d.rule,
        d.why
            .as_ref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default()
    );
    if d.allowed { 0 } else { 1 }
}

pub fn policy(cmd: PolicyCommand) -> Result<i32> {
    match cmd {
        PolicyCommand::Presets => {
            for (name, about, _) in policy::PRESETS {
                println!("{name:<12} {about}");
            }
        }
        PolicyCommand::Show { name } => print!("{}", policy::preset_text(&name)?),
        PolicyCommand::Explain(t) => {
            let (_, r) = resolved(&request(&t))?;
            print!("{}", policy::explain::explain(&r.policy, &r.notes));
        }
        PolicyCommand::Check(c) => {
            let req = request(&c.target);
            let (inv, r) = resolved(&req)?;
            let host = sandbox::host::RealHost;
            let ctx = inv.context(vec![], PathBuf::from("rootfs"), None, &host);
            let d = if let Some(p) = &c.read {
                check::check_filesystem_access(&r.policy, &ctx, &abs(p)?, Access::Read)?
            } else if let Some(p) = &c.write {
                check::check_filesystem_access(&r.policy, &ctx, &abs(p)?, Access::Write)?
            } else if let Some(p) = &c.exec {
                check::check_process_execution(&r.policy, &ctx, &abs(p)?)?
            } else if let Some(hp) = &c.connect {
                let (h, p) = hp
                    .rsplit_once(':')
                    .with_context(|| format!("--connect {hp:?}: expected HOST:PORT"))?;
                let port: u16 = p
                    .parse()
                    .with_context(|| format!("--connect {hp:?}: bad port"))?;
                check::check_network_access(&r.policy, h.trim_matches(['[', ']']), port)
            } else {
                bail!("policy check: give one of --read, --write, --exec, --connect");
            };
            return Ok(print_decision(&d));
        }
    }
    Ok(0)
}

fn abs(p: &std::path::Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(p))
}

pub fn doctor(d: &Doctor) -> Result<i32> {
    let f = features::detect();
    let clauses = if d.policy.is_some() || d.preset.is_some() {
        let req = Request {
            policy_file: d.policy.clone(),
            preset: d.preset.clone(),
            ..Default::default()
        };
        let (_, r) = resolved(&req)?;
        Some(enforce::clauses(&r.policy, &f))
    } else {
        None
    };
    if d.json {
        let v = serde_json::json!({"kernel": f, "policy": clauses});
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", features::render_text(&f));
        if let Some(cs) = &clauses {
            println!("\npolicy clauses:");
            for c in cs {
                let (word, why) = match &c.status {
                    enforce::Status::Enforced => ("enforced", String::new()),
                    enforce::Status::Degraded { reason } => ("degraded", format!(" ({reason})")),
                    enforce::Status::Refused { reason } => ("refused", format!(" ({reason})")),
                };
                println!("  {:<22} {word}{why}", c.key);
            }
        }
    }
    let refused = clauses
        .iter()
        .flatten()
        .any(|c| matches!(c.status, enforce::Status::Refused { .. }));
    Ok(if refused { 1 } else { 0 })
}
