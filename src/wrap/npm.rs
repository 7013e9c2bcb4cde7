//! `cagebox npm|pnpm ARGS`: the real package manager runs on the host (it
//! needs the registry and the user's cache), with its `script-shell` set to
//! a `cagebox-sh` link in a private session directory, so each lifecycle
//! script it decides to run becomes its own container (script.rs). The
//! manager's own gates (npm's allowScripts, `--ignore-scripts`, pnpm's
//! onlyBuiltDependencies) still decide *whether* a script runs; cagebox
//! decides what it can do.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use super::record::{Record, Summary, WrapReport, read_records};
use super::{
    AUDIT_ENV, MANAGER_ENV, POLICY_ENV, PRESET_ENV, PROJECT_ENV, ROOT_ENV, SCRIPT_SHELL,
    SESSION_ENV, SESSION_RECORDS, WrapError, io,
};

/// Options shared by the wrappers (`cagebox npm|pnpm|cargo [OPTIONS] ARGS`).
#[derive(Debug, Clone, Default)]
pub struct WrapOpts {
    pub policy: Option<PathBuf>,
    pub preset: Option<String>,
    pub report: Option<PathBuf>,
    pub audit_log: Option<PathBuf>,
    pub root: PathBuf,
}

/// The session directory, removed on drop.
pub(crate) struct SessionDir(pub PathBuf);

impl SessionDir {
    pub(crate) fn new() -> Result<Self, WrapError> {
        // Those of wrappers killed outright (SIGKILL) are removed first.
        crate::sandbox::stale::sweep_sessions(&std::env::temp_dir());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("cagebox-wrap-{}-{nanos:08x}", std::process::id()));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io(format!("session directory {}", dir.display()), e))?;
        Ok(SessionDir(dir))
    }
}

impl Drop for SessionDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Prints each record appended to `file` as it arrives, until `done`.
fn tail_records(file: PathBuf, done: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut offset = 0u64;
        let mut pending = String::new();
        let mut finished = false;
        loop {
            if let Ok(mut f) = fs::File::open(&file)
                && f.seek(SeekFrom::Start(offset)).is_ok()
            {
                let mut chunk = String::new();
                if let Ok(n) = f.read_to_string(&mut chunk) {
                    offset += n as u64;
                    pending.push_str(&chunk);
                }
            }
            // Only whole lines: a record is written with one write(2).
            while let Some(i) = pending.find('\n') {
                let line: String = pending.drain(..=i).collect();
                for r in read_records(&line) {
                    for l in r.lines() {
                        eprintln!("{l}");
                    }
                }
            }
            if finished {
                break;
            }
            // Polls every 100 ms, and wakes at once when the manager has
            // exited (the sender is dropped) for a last read: a sleep here
            // made every run up to 100 ms longer.
            finished = !matches!(
                done.recv_timeout(Duration::from_millis(100)),
                Err(mpsc::RecvTimeoutError::Timeout)
            );
        }
    })
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// While the package manager runs, Ctrl-C reaches it (same process group)
/// and it decides; cagebox waits to print the summary and clean up. A
/// handler rather than SIG_IGN: handlers are reset at exec, so the manager
/// still gets the default disposition.
fn wait_through_interrupts() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(ignore_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTERM] {
        // SAFETY: the handler does nothing, so it is async-signal-safe.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// Resolves the project's policy once before anything runs, so a bad
/// policy fails with its file, key and value instead of failing every script.
fn check_policy(opts: &WrapOpts, project: &Path, preset: &str) -> Result<(), WrapError> {
    let req = crate::sandbox::Request {
        policy_file: opts.policy.clone(),
        preset: Some(preset.to_string()),
        project: Some(project.to_path_buf()),
        ..Default::default()
    };
    crate::sandbox::resolve(&req, project)?;
    Ok(())
}

/// The exit code of a finished child, 128+N for a signal (like a shell).
pub(crate) fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// Whether the package.json in the current directory has a script `name`
/// (what `pnpm NAME` runs); unreadable counts as no.
fn project_has_script(name: &str) -> bool {
    fs::read_to_string("package.json")
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("scripts").and_then(|s| s.get(name)).is_some())
}

/// Runs `manager ARGS` with every lifecycle script sandboxed; returns the
/// manager's exit code.
pub fn run(manager: &str, opts: &WrapOpts, args: &[String]) -> Result<i32, WrapError> {
    // Refused before anything runs: command lines on which the manager
    // would run code outside the script-shell hook (guard.rs).
    let refusal = super::guard::script_shell_override(args).or_else(|| {
        (manager == "pnpm")
            .then(|| super::guard::pnpm_refusal(args, &project_has_script))
            .flatten()
    });
    if let Some(r) = refusal {
        return Err(WrapError::Invalid(format!(
            "cagebox {manager} {}: {}, so cagebox cannot sandbox it; nothing was run ({})",
            r.word, r.why, r.instead
        )));
    }
    let cwd = std::env::current_dir().map_err(|e| io("current directory", e))?;
    let project = fs::canonicalize(&cwd).map_err(|e| io(cwd.display().to_string(), e))?;
    let preset = opts.preset.clone().unwrap_or_else(|| "npm-scripts".into());
    check_policy(opts, &project, &preset)?;
    crate::sandbox::require_root(manager)?;
    let session = SessionDir::new()?;
    let exe = std::env::current_exe().map_err(|e| io("cagebox binary", e))?;
    let shell = session.0.join(SCRIPT_SHELL);
    std::os::unix::fs::symlink(&exe, &shell).map_err(|e| io(shell.display().to_string(), e))?;
    let records_file = session.0.join(SESSION_RECORDS);
    let audit = opts
        .audit_log
        .clone()
        .unwrap_or_else(super::default_audit_log);
    let mut cmd = Command::new(manager);
    cmd.args(args)
        .env("npm_config_script_shell", &shell)
        .env(SESSION_ENV, &session.0)
        .env(PROJECT_ENV, &project)
        .env(PRESET_ENV, &preset)
        .env(AUDIT_ENV, &audit)
        .env(ROOT_ENV, &opts.root)
        .env(MANAGER_ENV, manager);
    if let Some(p) = &opts.policy {
        let p = fs::canonicalize(p).map_err(|e| io(format!("--policy {}", p.display()), e))?;
        cmd.env(POLICY_ENV, p);
    }
    // One parse of a large lockfile for the session instead of one per
    // script (lockindex.rs). Best effort: without it, each script's shell
    // reads the lockfile itself and gets the same answer.
    cmd.env_remove(super::lockindex::KEY_ENV);
    if let Ok(key) = super::lockindex::new_key() {
        match super::lockindex::build(&session.0, &project.join("package-lock.json"), &key) {
            Ok(true) => {
                cmd.env(super::lockindex::KEY_ENV, key);
            }
            Ok(false) => {}
            Err(e) => tracing::debug!("no lockfile index: {e}"),
        }
    }
    // Scripts start their containers one after another for as long as the
    // manager runs: keep cgroup migrations fast meanwhile (runtime/warmup.rs).
    // Forked before the tail thread exists; dropped after the manager exits.
    let keeper = session
        .0
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(crate::runtime::warmup::keep);
    let (done, done_rx) = mpsc::channel::<()>();
    let tail = tail_records(records_file.clone(), done_rx);
    wait_through_interrupts();
    let status = cmd.status();
    // Every script's shell and the child it left to delete its container
    // (sandbox/deferred.rs) gone before this returns, also those the
    // manager did not wait for; their records make the report.
    let rt = crate::runtime::Runtime::new(opts.root.clone());
    if !crate::sandbox::deferred::wait_session(&session.0, &rt) {
        eprintln!(
            "cagebox: warning: scripts of this {manager} run were still running {} s after {manager} exited; left running",
            crate::sandbox::deferred::WAIT.as_secs()
        );
    }
    drop(keeper);
    drop(done);
    let _ = tail.join();
    let status = status.map_err(|e| {
        io(
            format!("{manager} (is it installed and on PATH? cagebox runs the real {manager})"),
            e,
        )
    })?;
    let code = exit_code(status);
    let records: Vec<Record> = fs::read_to_string(&records_file)
        .map(|t| read_records(&t))
        .unwrap_or_default();
    let summary = Summary::of(&records);
    eprintln!("{}", summary.line());
    if let Some(path) = &opts.report {
        WrapReport {
            manager,
            args,
            exit_code: code,
            summary,
            scripts: &records,
        }
        .write(path)?;
    }
    Ok(code)
}
