//! `exec`: a new process inside a running container.
//!
//! libcontainer's tenant builder, given only arguments, starts the process as
//! uid 0 without the container's capabilities, rlimits or terminal setting.
//! cagebox therefore always hands it a complete process.json built the way
//! runc builds one (the container's process, overridden by the flags), and
//! re-applies the container's seccomp filter in the executor.

use std::fs;
use std::path::PathBuf;

use libcontainer::container::ContainerStatus;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::oci_spec::runtime::{Capability, LinuxCapabilities, Process, Spec};
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::wait::waitpid;

use super::executor::CageExecutor;
use super::seccomp::{self, Compiled};
use super::{Runtime, RuntimeError, chain, console, foreground};
use crate::cli::oci::Exec;

impl Runtime {
    pub fn exec(&self, e: &Exec) -> Result<i32, RuntimeError> {
        let c = self.load(&e.id)?;
        match c.status() {
            ContainerStatus::Created | ContainerStatus::Running => {}
            ContainerStatus::Paused if e.ignore_paused => {}
            ContainerStatus::Paused => {
                return Err(RuntimeError::Status(
                    "cannot exec in a paused container (use --ignore-paused)".into(),
                ));
            }
            ContainerStatus::Stopped | ContainerStatus::Creating => {
                return Err(RuntimeError::Status(
                    "cannot exec in a stopped container".into(),
                ));
            }
        }
        let config = c.bundle().join("config.json");
        let spec = Spec::load(&config).map_err(|err| RuntimeError::Bundle {
            path: c.bundle().display().to_string(),
            msg: format!("config.json: {}", chain(&err)),
        })?;
        let process = match &e.process {
            Some(path) => read_process(path)?,
            None => process_from_flags(&spec, e)?,
        };
        let process = self.narrow_joiner(c.bundle(), &spec, process)?;
        if process.args().as_ref().is_none_or(|a| a.is_empty()) {
            return Err(RuntimeError::Invalid(
                "exec needs a command (arguments or --process)".into(),
            ));
        }
        // The process file lives in the container's state dir, removed with it.
        let tmp = c.root.join(format!("exec-{}.json", std::process::id()));
        let text = serde_json::to_string(&process)
            .map_err(|err| RuntimeError::Invalid(err.to_string()))?;
        fs::write(&tmp, text)
            .map_err(|err| RuntimeError::Invalid(format!("{}: {err}", tmp.display())))?;

        let set = if e.detach {
            None
        } else {
            Some(foreground::block_signals()?)
        };
        let executor = CageExecutor {
            bpf: self.tenant_filter(c.bundle(), super::TENANT_FILTER)?,
            tenant_seccomp: spec.linux().as_ref().and_then(|l| l.seccomp().clone()),
            policy_bpf: self.tenant_filter(c.bundle(), super::POLICY_FILTER)?,
            // From the container's spec: the tenant spec has no annotations.
            stack_bpf: super::stack_filters(&spec)?,
            // libcontainer's tenant spec has no annotations: pass the
            // container's Landlock rules, or a joiner would escape them.
            tenant_landlock: super::landlock::from_spec(&spec)
                .map_err(|err| RuntimeError::Invalid(err.to_string()))?,
        };
        // A terminal without a console socket: cagebox provides the pty.
        let console =
            if set.is_some() && e.console_socket.is_none() && process.terminal() == Some(true) {
                Some(console::Listener::new(&self.root, &e.id)?)
            } else {
                None
            };
        let socket = match &console {
            Some(l) => Some(l.path().to_path_buf()),
            None => e.console_socket.clone(),
        };
        let built = ContainerBuilder::new(e.id.clone(), SyscallType::default())
            .with_executor(executor)
            .with_root_path(&self.root)
            .and_then(|b| b.with_pid_file(e.pid_file.as_ref()))
            .map(|b| {
                b.with_console_socket(socket.as_ref())
                    .with_preserved_fds(e.preserve_fds)
                    .as_tenant()
                    // libcontainer accepts a console socket only when "detached".
                    .with_detach(e.detach || console.is_some())
                    .with_process(Some(&tmp))
                    .with_ignore_paused(e.ignore_paused)
                    .with_sub_cgroup(e.cgroup.clone())
                    .build()
            });
        let _ = fs::remove_file(&tmp);
        let pid = built??;
        let Some(set) = set else { return Ok(0) };
        let waited = match console {
            Some(l) => l
                .receive()
                .and_then(|m| console::proxy(m, pid, &set))
                .map_err(RuntimeError::from),
            None => foreground::wait_and_forward(pid, &set).map_err(RuntimeError::from),
        };
        match waited {
            Ok(code) => Ok(code),
            Err(err) => {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = waitpid(pid, None);
                Err(err)
            }
        }
    }
}

impl Runtime {
    /// A process joining a container a policy narrowed gets no more than
    /// the container's own process (only our private bundles are trusted
    /// to say a container was narrowed).
    fn narrow_joiner(
        &self,
        bundle: &std::path::Path,
        spec: &Spec,
        process: Process,
    ) -> Result<Process, RuntimeError> {
        use crate::spec::narrow::{NARROWED_ANNOTATION, narrow_exec};
        let narrowed = bundle.starts_with(self.root.join(".bundles"))
            && spec
                .annotations()
                .as_ref()
                .is_some_and(|a| a.contains_key(NARROWED_ANNOTATION));
        match (narrowed, spec.process()) {
            (true, Some(own)) => {
                narrow_exec(&process, own).map_err(|e| RuntimeError::Invalid(e.to_string()))
            }
            _ => Ok(process),
        }
    }

    /// The precompiled filter of a container that took the fast seccomp
    /// path. Only our own private bundles are trusted for it.
    fn tenant_filter(
        &self,
        bundle: &std::path::Path,
        name: &str,
    ) -> Result<Option<Compiled>, RuntimeError> {
        if !bundle.starts_with(self.root.join(".bundles")) {
            return Ok(None);
        }
        let path = bundle.join(name);
        match fs::read(&path) {
            Ok(bytes) => seccomp::decode_any(&bytes).map(Some).ok_or_else(|| {
                RuntimeError::Invalid(format!("{}: corrupt seccomp filter", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RuntimeError::Invalid(format!("{}: {e}", path.display()))),
        }
    }
}

fn read_process(path: &PathBuf) -> Result<Process, RuntimeError> {
    let text = fs::read_to_string(path)
        .map_err(|err| RuntimeError::Invalid(format!("--process {}: {err}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|err| RuntimeError::Invalid(format!("--process {}: {err}", path.display())))
}

/// runc's exec: the container's process with args, env, cwd, tty, user,
/// capabilities and no_new_privs taken from the flags.
fn process_from_flags(spec: &Spec, e: &Exec) -> Result<Process, RuntimeError> {
    let mut p = spec.process().clone().unwrap_or_default();
    if e.command.is_empty() {
        return Err(RuntimeError::Invalid("exec needs a command".into()));
    }
    p.set_args(Some(e.command.clone()));
    p.set_terminal(Some(e.tty));
    let mut env = p.env().clone().unwrap_or_default();
    for kv in &e.env {
        let key = kv.split('=').next().unwrap_or_default();
        env.retain(|old| old.split('=').next() != Some(key));
        env.push(kv.clone());
    }
    p.set_env(Some(env));
    if let Some(cwd) = &e.cwd {
        if !cwd.is_absolute() {
            return Err(RuntimeError::Invalid(format!(
                "--cwd {}: must be an absolute path",
                cwd.display()
            )));
        }
        p.set_cwd(cwd.clone());
    }
    let mut user = p.user().clone();
    if let Some(u) = &e.user {
        let (uid, gid) = parse_user(u)?;
        user.set_uid(uid);
        if let Some(g) = gid {
            user.set_gid(g);
        }
    }
    if !e.additional_gids.is_empty() {
        let mut gids = user.additional_gids().clone().unwrap_or_default();
        gids.extend(&e.additional_gids);
        user.set_additional_gids(Some(gids));
    }
    p.set_user(user);
    if !e.cap.is_empty() {
        p.set_capabilities(Some(add_caps(p.capabilities().clone(), &e.cap)?));
    }
    if e.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(profile) = &e.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    Ok(p)
}

fn parse_user(u: &str) -> Result<(u32, Option<u32>), RuntimeError> {
    let bad = || RuntimeError::Invalid(format!("--user {u:?}: expected UID[:GID] (numbers)"));
    let (uid, gid) = match u.split_once(':') {
        Some((a, b)) => (a, Some(b)),
        None => (u, None),
    };
    let uid = uid.parse().map_err(|_| bad())?;
    let gid = match gid {
        Some(g) => Some(g.parse().map_err(|_| bad())?),
        None => None,
    };
    Ok((uid, gid))
}

fn add_caps(
    caps: Option<LinuxCapabilities>,
    add: &[String],
) -> Result<LinuxCapabilities, RuntimeError> {
    let mut caps = caps.unwrap_or_default();
    for name in add {
        let upper = name.to_ascii_uppercase();
        let full = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        let cap: Capability = serde_json::from_value(serde_json::Value::String(full.clone()))
            .map_err(|_| RuntimeError::Invalid(format!("--cap {name:?}: unknown capability")))?;
        let mut b = caps.bounding().clone().unwrap_or_default();
        b.insert(cap);
        caps.set_bounding(Some(b));
        let mut ef = caps.effective().clone().unwrap_or_default();
        ef.insert(cap);
        caps.set_effective(Some(ef));
        let mut pe = caps.permitted().clone().unwrap_or_default();
        pe.insert(cap);
        caps.set_permitted(Some(pe));
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_like_runc() {
        assert_eq!(parse_user("65534").unwrap(), (65534, None));
        assert_eq!(parse_user("1:2").unwrap(), (1, Some(2)));
        assert!(parse_user("nobody").is_err());
        assert!(parse_user("1:x").is_err());
    }

    #[test]
    fn caps_are_added_to_three_sets() {
        let c = add_caps(None, &["net_admin".into()]).unwrap();
        for set in [c.bounding(), c.effective(), c.permitted()] {
            assert!(set.as_ref().unwrap().contains(&Capability::NetAdmin));
        }
        assert!(add_caps(None, &["CAP_NOPE".into()]).is_err());
    }
}
