//! cagebox entry point: parse, dispatch, map errors to exit codes.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Parser;

use cagebox::cli::Cli;
use cagebox::cli::oci::OciCommand;
use cagebox::logging::Logger;
use cagebox::oci;
use cagebox::runtime::Runtime;
use cagebox::sandbox;

mod tools;

/// `cagebox exec [POLICY FLAGS] -- CMD`: exit codes follow timeout(1) and
/// podman (124 timeout, 125 cagebox failed, else the command's).
fn sandbox_main() -> ExitCode {
    use cagebox::cli::sandbox::{SandboxCli, SandboxCommand};
    let cli = SandboxCli::parse();
    let logger = match Logger::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cagebox: {e}");
            return ExitCode::from(sandbox::EXIT_CAGEBOX as u8);
        }
    };
    let SandboxCommand::Exec(e) = cli.command;
    let run = || -> Result<i32> {
        let layer = e.layer().map_err(anyhow::Error::msg)?;
        let package_id = match &e.package {
            Some(p) => Some(
                p.parse::<cagebox::policy::PackageId>()
                    .map_err(|m| anyhow::anyhow!("--package {m}"))?,
            ),
            None => None,
        };
        let req = sandbox::Request {
            policy_file: e.policy.policy.clone(),
            preset: e.policy.preset.clone(),
            project: e.policy.project.clone(),
            package: e.package_dir.clone(),
            package_id,
            cli: Some(layer),
            args: e.command.clone(),
            report: e.report.clone(),
            keep_stderr_tail: false,
            defer_cleanup: false,
            offline_env: vec![],
        };
        Ok(sandbox::exec(&Runtime::new(cli.root.clone()), &req)?)
    };
    match run() {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(err) => {
            logger.fatal(&format!("{err}"));
            ExitCode::from(sandbox::EXIT_CAGEBOX as u8)
        }
    }
}

/// `cagebox npm|pnpm|cargo [OPTIONS] ARGS`: the package manager's exit
/// code, 125 when cagebox itself fails.
fn wrap_main(argv: &[String]) -> ExitCode {
    use cagebox::cli::wrap::WrapCli;
    use cagebox::wrap::npm::WrapOpts;
    let manager = argv[1].clone();
    let cli = match WrapCli::try_parse_from(
        std::iter::once(format!("cagebox {manager}")).chain(argv[2..].iter().cloned()),
    ) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let opts = WrapOpts {
        policy: cli.policy,
        preset: cli.preset,
        report: cli.report,
        audit_log: cli.audit_log,
        root: cli.root,
    };
    let result = match manager.as_str() {
        "cargo" => cagebox::wrap::cargo::run(&opts, &cli.args),
        m => cagebox::wrap::npm::run(m, &opts, &cli.args),
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("cagebox: {e}");
            ExitCode::from(sandbox::EXIT_CAGEBOX as u8)
        }
    }
}

/// `cagebox-sh -c SCRIPT` (the package manager's script shell): the
/// script's exit code, 125 when cagebox itself fails.
fn script_shell_main(argv: &[String]) -> ExitCode {
    match cagebox::wrap::script::main(argv) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("cagebox: {e}");
            ExitCode::from(sandbox::EXIT_CAGEBOX as u8)
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv
        .first()
        .is_some_and(|a| cagebox::wrap::is_script_shell(a))
    {
        return script_shell_main(&argv);
    }
    if cagebox::cli::wrap::is_wrap(&argv) {
        return wrap_main(&argv);
    }
    if cagebox::cli::sandbox::is_sandbox_exec(&argv) {
        return sandbox_main();
    }
    let cli = Cli::parse();
    let logger = match Logger::init(cli.log.as_deref(), cli.log_format, cli.debug) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cagebox: {e}");
            return ExitCode::from(1);
        }
    };
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            // RuntimeError's Display already carries the useful part of its
            // sources; `{e}` avoids printing the chain twice.
            logger.fatal(&format!("{e}"));
            ExitCode::from(1)
        }
    }
}

/// Runs one command; returns the exit code on success (the container's own
/// for foreground `run` and `exec`).
fn dispatch(cli: Cli) -> Result<i32> {
    if cli.systemd_cgroup {
        bail!(
            "--systemd-cgroup: the systemd cgroup driver is not supported by this build \
             of cagebox; use the cgroupfs driver (podman: cgroup_manager = \"cgroupfs\", \
             containerd: SystemdCgroup = false)"
        );
    }
    let rt = Runtime::new(cli.root).with_enforced_policy(cli.enforce_policy);
    match cli.command {
        OciCommand::Create(c) => {
            rt.create(&c.id, &c.opts, true)?;
        }
        OciCommand::Start(a) => rt.start(&a.id)?,
        OciCommand::Run(r) => return Ok(rt.run(&r.id, &r.opts, r.detach, r.keep)?),
        OciCommand::Exec(e) => return Ok(rt.exec(&e)?),
        OciCommand::Kill(k) => rt.kill(&k.id, &k.signal, k.all)?,
        OciCommand::Delete(d) => rt.delete(&d.id, d.force)?,
        OciCommand::State(a) => println!("{}", rt.state(&a.id)?),
        OciCommand::List(l) => print!("{}", rt.list(l.format, l.quiet)?),
        OciCommand::Ps(p) => print!("{}", rt.ps(&p.id, p.format, &p.ps_args)?),
        OciCommand::Pause(a) => rt.pause(&a.id)?,
        OciCommand::Resume(a) => rt.resume(&a.id)?,
        OciCommand::Events(e) => rt.events(&e.id, &e.interval, e.stats)?,
        OciCommand::Update(u) => rt.update(&u)?,
        OciCommand::Features => println!("{}", oci::features_json()?),
        OciCommand::Spec(s) if s.policy.policy.is_some() || s.policy.preset.is_some() => {
            let req = sandbox::Request {
                policy_file: s.policy.policy.clone(),
                preset: s.policy.preset.clone(),
                project: s.policy.project.clone(),
                args: if s.command.is_empty() {
                    vec!["sh".into()]
                } else {
                    s.command.clone()
                },
                ..Default::default()
            };
            println!("{}", tools::spec_json(&req)?);
        }
        OciCommand::Spec(s) => oci::write_default_spec(&s.bundle, s.rootless)?,
        OciCommand::Policy(p) => return tools::policy(p),
        OciCommand::Doctor(d) => return tools::doctor(&d),
        OciCommand::Copyup(c) => cagebox::runtime::copyup::run(c.fd, &c.rootfs, &c.dest)?,
    }
    Ok(0)
}
