//! The script shell: the package manager runs `cagebox-sh -c SCRIPT` (its
//! `script-shell` setting) in the package's directory, and cagebox runs
//! `/bin/sh -c SCRIPT` there as a short-lived container whose policy the
//! package's identity chooses. The exit status goes back to the package
//! manager unchanged, so a denied script fails the install as a failing
//! script would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::identity::{self, Identity};
use super::record::{Record, now_rfc3339};
use super::{
    AUDIT_ENV, MANAGER_ENV, POLICY_ENV, PRESET_ENV, PROJECT_ENV, ROOT_ENV, SESSION_ENV,
    SESSION_RECORDS, WrapError, denial, io,
};
use crate::policy::PackageId;
use crate::policy::model::{Env, Process};
use crate::runtime::Runtime;
use crate::sandbox::{self, Ran, Request};

/// The session a script shell belongs to, from the environment the wrapper set.
struct Session {
    dir: PathBuf,
    project: PathBuf,
    policy: Option<PathBuf>,
    preset: String,
    audit: Option<PathBuf>,
    root: PathBuf,
    manager: String,
}

impl Session {
    fn from_env() -> Result<Self, WrapError> {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        let dir = var(SESSION_ENV).map(PathBuf::from).ok_or_else(|| {
            WrapError::Invalid(format!(
                "{SESSION_ENV} is not set: cagebox-sh is the script shell of `cagebox npm` and `cagebox pnpm`, not a shell of its own"
            ))
        })?;
        let project = var(PROJECT_ENV)
            .map(PathBuf::from)
            .ok_or_else(|| WrapError::Invalid(format!("{PROJECT_ENV} is not set")))?;
        Ok(Session {
            dir,
            project,
            policy: var(POLICY_ENV).map(PathBuf::from),
            preset: var(PRESET_ENV)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|| "npm-scripts".into()),
            audit: var(AUDIT_ENV).map(PathBuf::from),
            root: var(ROOT_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(crate::cli::DEFAULT_ROOT)),
            manager: var(MANAGER_ENV)
                .map(|m| m.to_string_lossy().into_owned())
                .unwrap_or_else(|| "npm".into()),
        })
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// npm's major version from its user agent (`npm/11.19.1 node/v20...`).
fn npm_major(user_agent: &str) -> Option<u32> {
    user_agent
        .strip_prefix("npm/")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Whether the project's package.json declares a dependency called `name`
/// (the user chose that name for what is installed under it).
fn declares(manifest: Option<&Value>, name: &str) -> bool {
    let Some(m) = manifest else { return false };
    [
        "dependencies",
        "devDependencies",
        "optionalDependencies",
        "peerDependencies",
    ]
    .iter()
    .any(|k| m.get(k).and_then(|d| d.get(name)).is_some())
}

/// Whether the project's `node_modules/NAME` is `dir` (npm installs there;
/// pnpm links it to its store path).
fn installed_at(project: &Path, name: &str, dir: &Path) -> bool {
    std::fs::canonicalize(project.join("node_modules").join(name)).is_ok_and(|p| p == dir)
}

/// Inside the container a nested `npm run` must not try to start another
/// container (no privileges there, and the session is not visible): its
/// scripts run with a plain shell, inside this sandbox.
///
/// node-gyp fetches Node's headers into ~/.cache/node-gyp on first use;
/// with HOME empty and no network that fails, so unless the caller chose a
/// nodedir, native builds get the headers installed next to `node`.
fn shell_layer() -> crate::policy::Layer {
    let mut set = BTreeMap::from([("npm_config_script_shell".to_string(), "/bin/sh".to_string())]);
    if std::env::var_os("npm_config_nodedir").is_none()
        && let Some(dir) = installed_node_headers()
    {
        set.insert("npm_config_nodedir".into(), dir.display().to_string());
    }
    crate::policy::Layer {
        process: Some(Process {
            env: Some(Env {
                set: Some(set),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// For a script without the host's network: a nested npm or pnpm (esbuild's
/// install.js falls back to `npm install` of its platform package, many
/// downloaders shell out to npm) would retry every fetch, npm's backoff
/// taking ~70 s before it gives up on what cannot succeed; with no retries
/// it fails at once, with the resolver's error (denial.rs reports it).
fn offline_env() -> Vec<(String, String)> {
    vec![("npm_config_fetch_retries".into(), "0".into())]
}

/// The prefix of the `node` on PATH when its headers are installed with it
/// (`PREFIX/bin/node` and `PREFIX/include/node/node_version.h`).
fn installed_node_headers() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let node = std::env::split_paths(&path)
        .map(|d| d.join("node"))
        .find(|n| n.is_file())?;
    let prefix = std::fs::canonicalize(node)
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    prefix
        .join("include/node/node_version.h")
        .is_file()
        .then_some(prefix)
}

/// `cagebox-sh -c SCRIPT`: returns the script's exit code.
pub fn main(args: &[String]) -> Result<i32, WrapError> {
    let script = match args {
        [_, c, script] if c == "-c" => script.clone(),
        _ => {
            return Err(WrapError::Invalid(format!(
                "cagebox-sh: expected `-c SCRIPT`, got {:?}",
                args.get(1..).unwrap_or_default()
            )));
        }
    };
    let session = Session::from_env()?;
    // Held until this shell, and the child it may leave to delete its
    // container, are done: the wrapper waits for it (sandbox/deferred.rs).
    let hold = sandbox::deferred::hold(&session.dir);
    let cwd = std::env::current_dir().map_err(|e| io("current directory", e))?;
    let dir = std::fs::canonicalize(&cwd).map_err(|e| io(cwd.display().to_string(), e))?;
    let project = std::fs::canonicalize(&session.project)
        .map_err(|e| io(session.project.display().to_string(), e))?;
    let manifest = read_json(&project.join("package.json"));
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // The wrapper's index of a large lockfile where it made one (and it
    // verifies), else the file itself: the same answer either way.
    let lock = super::lockindex::Lookup::new(
        project.join("package-lock.json"),
        Some(&session.dir),
        env(super::lockindex::KEY_ENV).as_deref(),
    );
    let registry = env("npm_config_registry").unwrap_or_else(|| identity::DEFAULT_REGISTRY.into());
    let direct =
        |name: &str| declares(manifest.as_ref(), name) && installed_at(&project, name, &dir);
    // npm 7+ exports its own resolution; npm 6 and pnpm export every
    // package.json field as npm_package_*, so there it is the package's claim.
    let own_resolution = session.manager == "npm"
        && env("npm_config_user_agent")
            .and_then(|ua| npm_major(&ua))
            .is_some_and(|m| m >= 7);
    let resolved = env("npm_package_resolved").filter(|_| own_resolution);
    let mut id = identity::identify(
        &project,
        &dir,
        &identity::Sources {
            lock: Some(&lock),
            resolved: resolved.as_deref(),
            registry: &registry,
        },
        &direct,
        env("npm_package_name").as_deref(),
        env("npm_package_version").as_deref(),
    );
    // npm exports the lockfile's integrity; pnpm does not.
    if id.integrity.is_none() && !id.root_project {
        id.integrity = env("npm_package_integrity");
    }
    let approval = if id.root_project {
        None
    } else {
        identity::approval(
            manifest.as_ref(),
            &id.name,
            id.version.as_deref(),
            env("npm_package_resolved").as_deref(),
        )
    };
    let phase = env("npm_lifecycle_event").unwrap_or_else(|| "script".into());
    let req = Request {
        policy_file: session.policy.clone(),
        preset: Some(session.preset.clone()),
        project: Some(project.clone()),
        package: Some(dir.clone()),
        package_id: Some(PackageId {
            name: id.name.clone(),
            version: id.version.clone(),
            trusted: id.trusted,
        }),
        cli: Some(shell_layer()),
        args: vec!["/bin/sh".into(), "-c".into(), script.clone()],
        report: None,
        keep_stderr_tail: true,
        defer_cleanup: true,
        offline_env: offline_env(),
    };
    let base = RecordBase {
        session: &session,
        id: &id,
        approval,
        phase,
        script,
        dir: &dir,
    };
    let rt = Runtime::new(session.root.clone());
    let (record, code, pending) = match sandbox::run(&rt, &req) {
        Ok(mut ran) => {
            let r = base.finished(&ran);
            (r, ran.report.exit_code, ran.pending.take())
        }
        Err(e) => {
            eprintln!("cagebox: {} {}: {e}", id.name, base.phase);
            (base.failed(&e.to_string()), sandbox::EXIT_CAGEBOX, None)
        }
    };
    // The audit log first: it must get every run, even one whose wrapper
    // is already gone (the package manager aborted without waiting).
    if let Some(audit) = &session.audit {
        record.append_to(audit)?;
    }
    let told = session.dir.is_dir()
        && record
            .append_existing_dir(&session.dir.join(SESSION_RECORDS))
            .is_ok();
    if !told {
        for l in record.lines() {
            eprintln!("{l}");
        }
    }
    // The container is stopped and reported: delete it in a child, so the
    // manager goes on to the next script now (sandbox/deferred.rs). Only
    // with a live session, whose wrapper waits for this shell's lock (held
    // by that child too) before it returns; otherwise here.
    // `CAGEBOX_NO_DEFERRED_CLEANUP=1`: here, for measuring what it saves
    // (docs/benchmarks.md).
    let inline = std::env::var_os("CAGEBOX_NO_DEFERRED_CLEANUP").is_some_and(|v| v == "1");
    if let Some(p) = pending {
        match &hold {
            Some(h) if told && !inline => p.detach(Some(h)),
            _ => p.finish(),
        }
    }
    Ok(code)
}

struct RecordBase<'a> {
    session: &'a Session,
    id: &'a Identity,
    approval: Option<String>,
    phase: String,
    script: String,
    dir: &'a Path,
}

impl RecordBase<'_> {
    fn record(&self) -> Record {
        Record {
            time: now_rfc3339(),
            session: self
                .session
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            manager: self.session.manager.clone(),
            package: self.id.name.clone(),
            version: self.id.version.clone(),
            integrity: self.id.integrity.clone(),
            identity: self.id.source.into(),
            claimed_name: self.id.claimed_name.clone(),
            phase: self.phase.clone(),
            script: self.script.clone(),
            dir: self.dir.display().to_string(),
            root_project: self.id.root_project,
            approval: self.approval.clone(),
            verdict: "failed".into(),
            exit_code: sandbox::EXIT_CAGEBOX,
            reason: "cagebox".into(),
            ..Default::default()
        }
    }

    /// cagebox itself failed (bad policy, refused knob): nothing ran.
    fn failed(&self, error: &str) -> Record {
        let mut r = self.record();
        r.reason = format!("cagebox: {error}");
        r
    }

    fn finished(&self, ran: &Ran) -> Record {
        outcome(ran, &self.id.name, self.record())
    }
}

/// `base` completed with how the sandboxed run `ran` of `package` ended:
/// verdict, denials (from its stderr), exit, policy and cgroup figures.
/// Shared by the script shell and `cagebox cargo`.
pub(crate) fn outcome(ran: &Ran, package: &str, base: Record) -> Record {
    let rep = &ran.report;
    let host = sandbox::host::RealHost;
    let ctx = ran
        .invocation
        .context(vec![], PathBuf::from("/"), None, &host);
    let mut denials = denial::find(&ran.resolved.policy, &ctx, package, &ran.stderr_tail);
    // A fork refused by the pids limit ends a fork bomb: reported as
    // killed (pids), with the fork denial as its detail.
    let killed = matches!(
        rep.reason,
        "timeout" | "oom" | "signal" | "output" | "cpu_time" | "file_size" | "pids"
    );
    if rep.reason == "pids" && !denials.iter().any(|d| d.access == "fork") {
        let limit = ran.resolved.policy.limits.as_ref().and_then(|l| l.pids);
        denials.push(super::record::Denial {
            evidence: format!(
                "{} fork(s) refused by the pids limit",
                rep.usage.pids_limit_hits
            ),
            path: None,
            access: "fork".into(),
            rule: format!(
                "limits.pids = {}",
                limit.map(|p| p.to_string()).unwrap_or_default()
            ),
            allow: format!(
                "in cagebox.toml, [packages.{package:?}] limits.pids = <more>{}",
                denial::widen_hint(package, "limits.pids")
            ),
        });
    }
    let verdict = if killed {
        "killed"
    } else if rep.exit_code == 0 {
        "ok"
    } else if !denials.is_empty() {
        "denied"
    } else {
        "failed"
    };
    let u = &rep.usage;
    Record {
        verdict: verdict.into(),
        exit_code: rep.exit_code,
        reason: rep.reason.into(),
        wall_ms: rep.wall_ms,
        policy_layers: rep.policy_layers.clone(),
        policy_digest: rep.policy_digest.clone(),
        widened: rep.widened.clone(),
        denials,
        peak_memory_bytes: u.peak_memory_bytes,
        oom_kills: u.oom_kills,
        cpu_user_ms: u.cpu_user_ms,
        cpu_system_ms: u.cpu_system_ms,
        peak_pids: u.peak_pids,
        pids_limit_hits: u.pids_limit_hits,
        ..base
    }
}
