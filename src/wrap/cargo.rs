//! `cagebox cargo ARGS`: dependencies are fetched on the host (`cargo
//! fetch`: network, the user's registry credentials), then `cargo ARGS`
//! runs offline in one container (the cargo-build preset), so build scripts
//! and proc macros, which run inside that cargo and rustc, are sandboxed.

use std::collections::BTreeMap;
use std::process::Command;

use super::npm::{WrapOpts, exit_code};
use super::record::{Record, Summary, WrapReport, now_rfc3339};
use super::{WrapError, io};
use crate::policy::model::{Env, Filesystem, PathRule, Process};
use crate::runtime::Runtime;
use crate::sandbox::{self, Request};

/// Subcommands that build (and so run build scripts and proc macros).
const BUILDING: &[&str] = &[
    "build", "b", "check", "c", "test", "t", "run", "r", "clippy", "bench", "doc", "d", "install",
];

/// The layer every sandboxed cargo gets: offline (the fetch already ran)
/// and, when CARGO_TARGET_DIR points outside the project, that dir writable.
fn cargo_layer() -> crate::policy::Layer {
    let mut l = crate::policy::Layer {
        process: Some(Process {
            env: Some(Env {
                set: Some(BTreeMap::from([(
                    "CARGO_NET_OFFLINE".to_string(),
                    "true".to_string(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|t| !t.is_empty()) {
        l.filesystem = Some(Filesystem {
            read_write: Some(vec![PathRule::new(&t.to_string_lossy())]),
            ..Default::default()
        });
        l.widen.insert(
            "filesystem.read_write".into(),
            "CARGO_TARGET_DIR: cargo's output directory".into(),
        );
    }
    l
}

/// `cargo fetch` on the host, with the flags that change what is fetched.
fn fetch(args: &[String]) -> Result<i32, WrapError> {
    let mut cmd = Command::new("cargo");
    cmd.arg("fetch");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--locked" | "--frozen" => {
                cmd.arg(a);
            }
            "--manifest-path" | "--target" => {
                cmd.arg(a);
                if let Some(v) = it.next() {
                    cmd.arg(v);
                }
            }
            s if s.starts_with("--manifest-path=") || s.starts_with("--target=") => {
                cmd.arg(a);
            }
            "--" => break,
            _ => {}
        }
    }
    let status = cmd
        .status()
        .map_err(|e| io("cargo fetch (is cargo on PATH?)", e))?;
    Ok(exit_code(status))
}

/// The `[package]` name and version of the project's Cargo.toml (a
/// workspace root has none: its directory name then).
fn crate_name(project: &std::path::Path) -> (String, Option<String>) {
    let manifest = std::fs::read_to_string(project.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok());
    let package = manifest.as_ref().and_then(|m| m.get("package"));
    let field = |k: &str| {
        package
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let dir = project
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "(project)".into());
    (field("name").unwrap_or(dir), field("version"))
}

/// Runs `cargo ARGS`; returns cargo's exit code.
pub fn run(opts: &WrapOpts, args: &[String]) -> Result<i32, WrapError> {
    let sub = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .cloned()
        .unwrap_or_default();
    let offline = args.iter().any(|a| a == "--offline" || a == "--frozen");
    let cwd = std::env::current_dir().map_err(|e| io("current directory", e))?;
    let project = std::fs::canonicalize(&cwd).map_err(|e| io(cwd.display().to_string(), e))?;
    let mut argv = vec!["cargo".to_string()];
    argv.extend(args.iter().cloned());
    let req = Request {
        policy_file: opts.policy.clone(),
        preset: Some(opts.preset.clone().unwrap_or_else(|| "cargo-build".into())),
        project: Some(project.clone()),
        cli: Some(cargo_layer()),
        args: argv,
        keep_stderr_tail: true,
        defer_cleanup: false,
        ..Default::default()
    };
    // A bad policy, or no root, fails before the fetch: nothing runs.
    sandbox::resolve(&req, &project)?;
    sandbox::require_root("cargo")?;
    if BUILDING.contains(&sub.as_str()) && !offline {
        let code = fetch(args)?;
        if code != 0 {
            eprintln!("cagebox: cargo fetch failed (exit {code}); nothing was built");
            return Ok(code);
        }
    }
    let rt = Runtime::new(opts.root.clone());
    let ran = sandbox::run(&rt, &req)?;
    let (name, version) = crate_name(&project);
    let base = Record {
        time: now_rfc3339(),
        session: format!("cargo-{}", std::process::id()),
        manager: "cargo".into(),
        package: name.clone(),
        version,
        identity: "Cargo.toml".into(),
        phase: sub,
        script: args.join(" "),
        dir: project.display().to_string(),
        root_project: true,
        ..Default::default()
    };
    let record = super::script::outcome(&ran, &name, base);
    for l in record.lines() {
        eprintln!("{l}");
    }
    let audit = opts
        .audit_log
        .clone()
        .unwrap_or_else(super::default_audit_log);
    record.append_to(&audit)?;
    let code = record.exit_code;
    let records = [record];
    if let Some(path) = &opts.report {
        WrapReport {
            manager: "cargo",
            args,
            exit_code: code,
            summary: Summary::of(&records),
            scripts: &records,
        }
        .write(path)?;
    }
    Ok(code)
}
