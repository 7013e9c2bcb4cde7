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
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
fn tail_records(file: PathBuf, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut offset = 0u64;
        let mut pending = String::new();
        loop {
            let finished = done.load(Ordering::SeqCst);
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
            std::thread::sleep(Duration::from_millis(100));
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

/// pnpm commands that run lifecycle scripts without pnpm's `script-shell`
/// setting (checked with pnpm 9.15.9: `rebuild` runs dependencies' scripts,
/// `pack` and `publish` the project's prepack/prepare/postpack, all with
/// plain `sh`), so under cagebox they would run unsandboxed on the host.
/// `approve-builds` (pnpm 10) rebuilds what it approves.
const PNPM_UNSANDBOXABLE: &[&str] = &["rebuild", "rb", "pack", "publish", "approve-builds"];

/// pnpm commands that run scripts only through `script-shell`, or none:
/// the words after them are their arguments, not commands.
const PNPM_COMMANDS: &[&str] = &[
    "install",
    "i",
    "add",
    "update",
    "up",
    "upgrade",
    "remove",
    "rm",
    "uninstall",
    "un",
    "link",
    "ln",
    "unlink",
    "import",
    "install-test",
    "it",
    "dedupe",
    "fetch",
    "prune",
    "run",
    "run-script",
    "test",
    "t",
    "tst",
    "start",
    "stop",
    "restart",
    "exec",
    "dlx",
    "create",
    "list",
    "ls",
    "ll",
    "la",
    "why",
    "outdated",
    "audit",
    "licenses",
    "store",
    "root",
    "bin",
    "config",
    "c",
    "get",
    "set",
    "env",
    "init",
    "patch",
    "patch-commit",
    "patch-remove",
    "deploy",
    "doctor",
    "cat-file",
    "cat-index",
    "find-hash",
    "help",
];

/// The pnpm command in `args` that cagebox cannot sandbox, if any. The
/// command is the first word that is not an option; a word pnpm does not
/// know (an option's value, or a script name run as `pnpm NAME ARGS`) does
/// not end the search, so a misread option can only refuse, never let a
/// command through. `--ignore-scripts` runs no script at all.
pub fn pnpm_unsandboxable(args: &[String]) -> Option<&str> {
    if args.iter().any(|a| a == "--ignore-scripts") {
        return None;
    }
    let words = args
        .iter()
        .take_while(|a| *a != "--")
        .filter(|a| !a.starts_with('-'));
    for w in words {
        let w = w.as_str();
        if PNPM_UNSANDBOXABLE.contains(&w) {
            return Some(w);
        }
        if PNPM_COMMANDS.contains(&w) {
            return None;
        }
        // `recursive`, `multi`, `m` prefix the command; anything else is
        // skipped the same way.
    }
    None
}

/// Runs `manager ARGS` with every lifecycle script sandboxed; returns the
/// manager's exit code.
pub fn run(manager: &str, opts: &WrapOpts, args: &[String]) -> Result<i32, WrapError> {
    if manager == "pnpm"
        && let Some(cmd) = pnpm_unsandboxable(args)
    {
        let instead = match cmd {
            "pack" | "publish" => format!(
                "run the scripts first with `cagebox pnpm run SCRIPT`, then `pnpm {cmd} --ignore-scripts`"
            ),
            _ => "to re-run dependencies' scripts sandboxed: `cagebox pnpm install --force --config.side-effects-cache=false`".into(),
        };
        return Err(WrapError::Invalid(format!(
            "cagebox pnpm {cmd}: pnpm runs the scripts of `{cmd}` without its script-shell setting, so cagebox cannot sandbox them; nothing was run ({instead})"
        )));
    }
    let cwd = std::env::current_dir().map_err(|e| io("current directory", e))?;
    let project = fs::canonicalize(&cwd).map_err(|e| io(cwd.display().to_string(), e))?;
    let preset = opts.preset.clone().unwrap_or_else(|| "npm-scripts".into());
    check_policy(opts, &project, &preset)?;
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
    // Scripts start their containers one after another for as long as the
    // manager runs: keep cgroup migrations fast meanwhile (runtime/warmup.rs).
    // Forked before the tail thread exists; dropped after the manager exits.
    let keeper = session
        .0
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(crate::runtime::warmup::keep);
    let done = Arc::new(AtomicBool::new(false));
    let tail = tail_records(records_file.clone(), done.clone());
    wait_through_interrupts();
    let status = cmd.status();
    drop(keeper);
    done.store(true, Ordering::SeqCst);
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

#[cfg(test)]
mod tests {
    use super::pnpm_unsandboxable;

    fn check(line: &str) -> Option<String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        pnpm_unsandboxable(&args).map(str::to_string)
    }

    #[test]
    fn pnpm_commands_that_bypass_the_script_shell_are_found() {
        for (line, want) in [
            ("rebuild", Some("rebuild")),
            ("rb esbuild", Some("rb")),
            ("-r rebuild", Some("rebuild")),
            ("recursive rebuild", Some("rebuild")),
            ("--filter app pack", Some("pack")),
            ("-C sub publish --dry-run", Some("publish")),
            ("--unknown-option value rebuild", Some("rebuild")),
            ("approve-builds", Some("approve-builds")),
            ("pack --ignore-scripts", None),
            ("install", None),
            ("install --force", None),
            ("add pack", None),
            ("run pack", None),
            ("exec rebuild", None),
            ("build -- rebuild", None),
            ("", None),
        ] {
            assert_eq!(check(line).as_deref(), want, "{line}");
        }
    }
}
