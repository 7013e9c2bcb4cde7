//! Resource usage of a finished container, read from its cgroup before it is
//! deleted: peak memory, OOM kills, CPU time, peak pids, fork failures at the
//! pids limit. v1 and v2 keep these in different files; each value is
//! `None` when this kernel has no file for it (v1 has no pids peak).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub peak_memory_bytes: Option<u64>,
    pub oom_kills: u64,
    pub cpu_user_ms: Option<u64>,
    pub cpu_system_ms: Option<u64>,
    pub peak_pids: Option<u64>,
    /// Forks refused because the pids limit was reached.
    pub pids_limit_hits: u64,
}

/// `key value` lines (memory.events, memory.oom_control, cpu.stat, pids.events).
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

fn read(dir: &Path, file: &str) -> Option<String> {
    fs::read_to_string(dir.join(file)).ok()
}

fn num(dir: &Path, file: &str) -> Option<u64> {
    read(dir, file)?.trim().parse().ok()
}

/// Where each controller's directory for `cgroup_path` lives.
struct Dirs {
    v2: Option<PathBuf>,
    memory: Option<PathBuf>,
    cpuacct: Option<PathBuf>,
    pids: Option<PathBuf>,
}

fn dirs(cgroup_path: &Path) -> Dirs {
    let rel = cgroup_path.strip_prefix("/").unwrap_or(cgroup_path);
    let mut d = Dirs {
        v2: None,
        memory: None,
        cpuacct: None,
        pids: None,
    };
    let Some(layout) = crate::sys::features::current_cgroup_layout() else {
        return d;
    };
    let v1 = |c: &str| layout.v1_with(c).map(|m| m.join(rel));
    d.memory = v1("memory");
    d.cpuacct = v1("cpuacct");
    d.pids = v1("pids");
    d.v2 = layout
        .v2_mount
        .as_ref()
        .map(|m| m.join(rel))
        .filter(|dir| dir.join("cgroup.procs").exists() && dir.join("memory.events").exists());
    d
}

/// Usage of the container whose cgroup is `cgroup_path` (the spec's
/// cgroupsPath), on whichever hierarchy holds each controller.
pub fn read_usage(cgroup_path: &Path) -> Usage {
    let d = dirs(cgroup_path);
    let mut u = Usage::default();
    if let Some(v2) = &d.v2 {
        u.peak_memory_bytes = num(v2, "memory.peak");
        u.oom_kills = read(v2, "memory.events")
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(0);
        if let Some(stat) = read(v2, "cpu.stat") {
            u.cpu_user_ms = keyed(&stat, "user_usec").map(|x| x / 1000);
            u.cpu_system_ms = keyed(&stat, "system_usec").map(|x| x / 1000);
        }
        u.peak_pids = num(v2, "pids.peak");
        u.pids_limit_hits = read(v2, "pids.events")
            .and_then(|t| keyed(&t, "max"))
            .unwrap_or(0);
    }
    if let Some(m) = &d.memory {
        u.peak_memory_bytes = num(m, "memory.max_usage_in_bytes").or(u.peak_memory_bytes);
        u.oom_kills = read(m, "memory.oom_control")
            .and_then(|t| keyed(&t, "oom_kill"))
            .unwrap_or(u.oom_kills);
    }
    if let Some(c) = &d.cpuacct {
        // Nanoseconds; cpuacct.stat's ticks would need USER_HZ.
        if let (Some(us), Some(sy)) = (num(c, "cpuacct.usage_user"), num(c, "cpuacct.usage_sys")) {
            u.cpu_user_ms = Some(us / 1_000_000);
            u.cpu_system_ms = Some(sy / 1_000_000);
        }
    }
    if let Some(p) = &d.pids {
        u.pids_limit_hits = read(p, "pids.events")
            .and_then(|t| keyed(&t, "max"))
            .unwrap_or(u.pids_limit_hits);
        u.peak_pids = num(p, "pids.peak").or(u.peak_pids);
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_files() {
        let oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        assert_eq!(keyed(oom, "oom_kill"), Some(2));
        assert_eq!(keyed("max 17\n", "max"), Some(17));
        assert_eq!(keyed("usage_usec 10\nuser_usec 7\n", "user_usec"), Some(7));
        assert_eq!(keyed("low 0\n", "oom_kill"), None);
    }
}
