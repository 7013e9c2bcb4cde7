//! Read-mostly commands: state, list, ps, events, update.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use libcgroups::common::{
    AnyCgroupManager, CgroupConfig, CgroupManager, ControllerOpt, FreezerState,
};
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};
use serde::Serialize;

use super::prepare::BUNDLE_ANNOTATION;
use super::{Runtime, RuntimeError, chain};
use crate::cli::oci::{OutputFormat, Update};

/// The OCI state document (runtime-spec "state"), as runc prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState {
    pub oci_version: String,
    pub id: String,
    pub status: String,
    pub pid: i32,
    pub bundle: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<HashMap<String, String>>,
}

fn oci_state(c: &Container) -> OciState {
    let mut annotations = c.state.annotations.clone();
    let bundle = annotations
        .as_mut()
        .and_then(|a| a.remove(BUNDLE_ANNOTATION))
        .map(PathBuf::from)
        .unwrap_or_else(|| c.bundle().clone());
    // A stopped container has no process; runc reports pid 0.
    let pid = match c.status() {
        ContainerStatus::Stopped => 0,
        _ => c.pid().map(|p| p.as_raw()).unwrap_or(0),
    };
    OciState {
        oci_version: c.state.oci_version.clone(),
        id: c.id().to_string(),
        status: super::status_str(c.status()).into(),
        pid,
        bundle,
        created: c
            .created()
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
            .unwrap_or_default(),
        owner: c
            .creator()
            .map(|o| o.to_string_lossy().into_owned())
            .unwrap_or_default(),
        annotations: annotations.filter(|a| !a.is_empty()),
    }
}

fn cgroup_manager(c: &Container) -> Result<AnyCgroupManager, RuntimeError> {
    let cfg = c.spec()?;
    libcgroups::common::create_cgroup_manager(CgroupConfig {
        cgroup_path: cfg.cgroup_path,
        systemd_cgroup: c.systemd(),
        container_name: c.id().to_string(),
    })
    .map_err(|e| RuntimeError::Invalid(format!("cgroup of \"{}\": {}", c.id(), chain(&e))))
}

/// Host pids of every process in the container's cgroup.
pub fn pids(c: &Container) -> Result<Vec<nix::unistd::Pid>, RuntimeError> {
    cgroup_manager(c)?
        .get_all_pids()
        .map_err(|e| RuntimeError::Invalid(chain(&e)))
}

/// `kill --all`: freeze (so nothing forks meanwhile), signal every process
/// in the cgroup, thaw.
pub fn signal_all(c: &Container, sig: nix::sys::signal::Signal) -> Result<(), RuntimeError> {
    let m = cgroup_manager(c)?;
    let frozen = m.freeze(FreezerState::Frozen).is_ok();
    let result = m
        .get_all_pids()
        .map_err(|e| RuntimeError::Invalid(chain(&e)))
        .map(|pids| {
            for pid in pids {
                // A process that already exited is what we wanted.
                let _ = nix::sys::signal::kill(pid, sig);
            }
        });
    // A paused container stays paused, except that SIGKILL needs a thaw to land.
    if frozen && (c.status() != ContainerStatus::Paused || sig == nix::sys::signal::Signal::SIGKILL)
    {
        let _ = m.freeze(FreezerState::Thawed);
    }
    result
}

pub fn thaw(c: &Container) -> Result<(), RuntimeError> {
    cgroup_manager(c)?
        .freeze(FreezerState::Thawed)
        .map_err(|e| RuntimeError::Invalid(chain(&e)))
}

/// Waits (bounded) until none of `pids` is a live process: each is gone or a
/// zombie, which holds no resources and whose parent reaps it.
pub fn wait_gone(pids: &[nix::unistd::Pid], limit: Duration) {
    let deadline = std::time::Instant::now() + limit;
    let alive = |p: &nix::unistd::Pid| {
        fs::read_to_string(format!("/proc/{p}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .is_some_and(|zombie| !zombie)
    };
    while pids.iter().any(alive) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn to_json<T: Serialize>(v: &T, pretty: bool) -> Result<String, RuntimeError> {
    let r = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    };
    r.map_err(|e| RuntimeError::Invalid(e.to_string()))
}

impl Runtime {
    pub fn state(&self, id: &str) -> Result<String, RuntimeError> {
        let c = self.load(id)?;
        to_json(&oci_state(&c), true)
    }

    pub fn list(&self, format: OutputFormat, quiet: bool) -> Result<String, RuntimeError> {
        let mut states = Vec::new();
        if let Ok(entries) = fs::read_dir(&self.root) {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
            names.sort();
            for name in names {
                // A container being deleted concurrently is simply skipped.
                if let Ok(c) = self.load(&name) {
                    states.push(oci_state(&c));
                }
            }
        }
        if quiet {
            return Ok(states.iter().map(|s| format!("{}\n", s.id)).collect());
        }
        match format {
            OutputFormat::Json => Ok(format!("{}\n", to_json(&states, false)?)),
            OutputFormat::Table => Ok(table(&states)),
        }
    }

    pub fn ps(
        &self,
        id: &str,
        format: OutputFormat,
        ps_args: &[String],
    ) -> Result<String, RuntimeError> {
        let c = self.load(id)?;
        let pids: Vec<i32> = cgroup_manager(&c)?
            .get_all_pids()
            .map_err(|e| RuntimeError::Invalid(chain(&e)))?
            .iter()
            .map(|p| p.as_raw())
            .collect();
        match format {
            OutputFormat::Json => Ok(format!("{}\n", to_json(&pids, false)?)),
            OutputFormat::Table => ps_table(&pids, ps_args),
        }
    }

    /// runc's event stream: one JSON object per line, `{"type":"stats",...}`.
    pub fn events(&self, id: &str, interval: &str, once: bool) -> Result<(), RuntimeError> {
        let interval = parse_duration(interval)?;
        let manager = cgroup_manager(&self.load(id)?)?;
        let mut out = std::io::stdout();
        loop {
            let status = self.load(id).map(|c| c.status()).ok();
            if !matches!(
                status,
                Some(ContainerStatus::Running | ContainerStatus::Paused)
            ) {
                return Err(RuntimeError::Status("container not running".into()));
            }
            let stats = manager
                .stats()
                .map_err(|e| RuntimeError::Invalid(chain(&e)))?;
            let event = serde_json::json!({
                "type": "stats",
                "id": id,
                "data": super::stats::runc_stats(&stats),
            });
            let _ = writeln!(out, "{event}");
            let _ = out.flush();
            if once {
                return Ok(());
            }
            std::thread::sleep(interval);
        }
    }

    pub fn update(&self, u: &Update) -> Result<(), RuntimeError> {
        let c = self.load(&u.id)?;
        let resources = update_resources(u)?;
        cgroup_manager(&c)?
            .apply(&ControllerOpt {
                resources: &resources,
                disable_oom_killer: false,
                oom_score_adj: None,
                freezer_state: None,
            })
            .map_err(|e| RuntimeError::Invalid(format!("update \"{}\": {}", u.id, chain(&e))))?;
        super::swap::enforce_no_swap(&c.spec()?.cgroup_path, resources.memory().as_ref())
    }
}

fn table(states: &[OciState]) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "PID".into(),
        "STATUS".into(),
        "BUNDLE".into(),
        "CREATED".into(),
        "OWNER".into(),
    ]];
    for s in states {
        rows.push([
            s.id.clone(),
            s.pid.to_string(),
            s.status.clone(),
            s.bundle.display().to_string(),
            s.created.clone(),
            s.owner.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(widths.iter())
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// runc's `ps` table: ps(1) output filtered to the container's pids.
fn ps_table(pids: &[i32], ps_args: &[String]) -> Result<String, RuntimeError> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let output = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| RuntimeError::Invalid(format!("ps: {e}")))?;
    if !output.status.success() {
        return Err(RuntimeError::Invalid(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let Some(pid_col) = header.split_whitespace().position(|h| h == "PID") else {
        return Err(RuntimeError::Invalid("ps output has no PID column".into()));
    };
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Go-style durations as runc accepts them: 5s, 500ms, 1m, 2h.
pub fn parse_duration(s: &str) -> Result<Duration, RuntimeError> {
    let bad = || RuntimeError::Invalid(format!("invalid duration {s:?} (use e.g. 5s, 500ms, 1m)"));
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ns" => n / 1e9,
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn update_resources(u: &Update) -> Result<LinuxResources, RuntimeError> {
    if let Some(path) = &u.resources {
        let text = if path.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            fs::read_to_string(path)
        }
        .map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())))?;
        return serde_json::from_str(&text)
            .map_err(|e| RuntimeError::Invalid(format!("{}: {e}", path.display())));
    }
    let err = |e: &dyn std::fmt::Display| RuntimeError::Invalid(e.to_string());
    let mut b = LinuxResourcesBuilder::default();
    if u.memory.is_some() || u.memory_swap.is_some() || u.memory_reservation.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(v) = u.memory {
            m = m.limit(v);
        }
        if let Some(v) = u.memory_swap {
            m = m.swap(v);
        }
        if let Some(v) = u.memory_reservation {
            m = m.reservation(v);
        }
        b = b.memory(m.build().map_err(|e| err(&e))?);
    }
    if u.cpu_quota.is_some()
        || u.cpu_period.is_some()
        || u.cpu_share.is_some()
        || u.cpuset_cpus.is_some()
        || u.cpuset_mems.is_some()
    {
        let mut cpu = LinuxCpuBuilder::default();
        if let Some(v) = u.cpu_quota {
            cpu = cpu.quota(v);
        }
        if let Some(v) = u.cpu_period {
            cpu = cpu.period(v);
        }
        if let Some(v) = u.cpu_share {
            cpu = cpu.shares(v);
        }
        if let Some(v) = &u.cpuset_cpus {
            cpu = cpu.cpus(v.clone());
        }
        if let Some(v) = &u.cpuset_mems {
            cpu = cpu.mems(v.clone());
        }
        b = b.cpu(cpu.build().map_err(|e| err(&e))?);
    }
    if let Some(v) = u.pids_limit {
        b = b.pids(
            LinuxPidsBuilder::default()
                .limit(v)
                .build()
                .map_err(|e| err(&e))?,
        );
    }
    b.build().map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn table_has_runc_header() {
        let t = table(&[]);
        assert_eq!(
            t.split_whitespace().collect::<Vec<_>>(),
            ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
        );
    }
}
