//! A policy in plain words: what a sandboxed command may and may not do.

use std::fmt::Write;

use super::model::{DegradeMode, Layer, NetworkMode, PathRule, SeccompPreset};
use crate::spec::env::ALWAYS_SCRUBBED;

fn rules(out: &mut String, title: &str, list: &Option<Vec<PathRule>>) {
    let Some(list) = list.as_ref().filter(|l| !l.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "  {title}:");
    for r in list {
        match &r.why {
            Some(w) => {
                let _ = writeln!(out, "    {}  ({w})", r.path);
            }
            None => {
                let _ = writeln!(out, "    {}", r.path);
            }
        }
    }
}

fn yes(b: Option<bool>, default: bool) -> bool {
    b.unwrap_or(default)
}

/// The explanation of a resolved policy. `notes` are the merge notes.
pub fn explain(p: &Layer, notes: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Policy (base preset: {})",
        p.extends.as_deref().unwrap_or("default")
    );
    let fs = p.filesystem.clone().unwrap_or_default();
    let _ = writeln!(o, "\nFiles");
    match fs.root.as_deref().unwrap_or("host") {
        "host" => {
            let _ = writeln!(
                o,
                "  The host's root is visible read-only: nothing can be written outside the paths below."
            );
        }
        r => {
            let _ = writeln!(o, "  The root is {r}, read-only.");
        }
    }
    rules(&mut o, "writable", &fs.read_write);
    rules(
        &mut o,
        "read-only (even inside writable paths)",
        &fs.read_only,
    );
    rules(&mut o, "not executable", &fs.no_exec);
    rules(
        &mut o,
        "hidden (an empty directory, or /dev/null for a file)",
        &fs.hidden,
    );
    if yes(fs.private_tmp, true) {
        let _ = writeln!(o, "  /tmp is private and empty; /run is private.");
    }
    if yes(fs.minimal_dev, true) {
        let _ = writeln!(
            o,
            "  /dev holds only null, zero, full, random, urandom, tty, pts, shm."
        );
    }
    if yes(fs.mask_proc, true) {
        let _ = writeln!(
            o,
            "  Sensitive /proc and /sys files are masked; /proc/sys is read-only."
        );
    }

    let _ = writeln!(o, "\nNetwork");
    let mode = p
        .network
        .as_ref()
        .and_then(|n| n.mode)
        .unwrap_or(NetworkMode::None);
    let s = p.seccomp.clone().unwrap_or_default();
    let block = s.block_network.unwrap_or(mode == NetworkMode::None);
    let _ = writeln!(
        o,
        "  {}",
        match mode {
            NetworkMode::None =>
                "None: a network namespace without interfaces (not even loopback up).",
            NetworkMode::Loopback =>
                "Loopback only: its own namespace with lo up; the host's 127.0.0.1 is not reachable.",
            NetworkMode::Host => "The host's network.",
        }
    );
    if block {
        let _ = writeln!(o, "  Only AF_UNIX sockets can be created (seccomp).");
    }

    let ns = p.namespaces.clone().unwrap_or_default();
    let _ = writeln!(o, "\nIsolation");
    let mut own = vec!["mount"];
    for (on, name) in [
        (yes(ns.pid, true), "pid (host processes are invisible)"),
        (mode != NetworkMode::Host, "network"),
        (yes(ns.ipc, true), "ipc"),
        (yes(ns.uts, true), "uts (hostname)"),
        (yes(ns.cgroup, true), "cgroup"),
        (yes(ns.user, false), "user"),
    ] {
        if on {
            own.push(name);
        }
    }
    let _ = writeln!(o, "  Own namespaces: {}.", own.join(", "));

    let pr = p.process.clone().unwrap_or_default();
    let _ = writeln!(o, "\nProcess");
    match (pr.uid, pr.gid) {
        (Some(u), Some(g)) => {
            let _ = writeln!(o, "  Runs as uid {u}, gid {g}.");
        }
        _ => {
            let _ = writeln!(o, "  Runs as the calling user.");
        }
    }
    let caps: Vec<String> = pr
        .capabilities
        .iter()
        .flatten()
        .map(|c| c.oci_name())
        .collect();
    if caps.is_empty() {
        let _ = writeln!(
            o,
            "  No capabilities (even as root: no chown of others' files, no mount, no raw sockets)."
        );
    } else {
        let _ = writeln!(
            o,
            "  Capabilities kept: {}; all others dropped.",
            caps.join(", ")
        );
    }
    if yes(pr.no_new_privileges, true) {
        let _ = writeln!(
            o,
            "  no_new_privileges: setuid programs cannot gain privileges."
        );
    }
    let env = pr.env.clone().unwrap_or_default();
    let _ = writeln!(
        o,
        "  Environment passed: {}.",
        env.pass.clone().unwrap_or_default().join(", ")
    );
    let _ = writeln!(
        o,
        "  Never passed (secrets): {}{}.",
        ALWAYS_SCRUBBED.join(", "),
        env.scrub
            .map(|s| format!(", {}", s.join(", ")))
            .unwrap_or_default()
    );
    if let Some(set) = &env.set {
        for (k, v) in set {
            let _ = writeln!(o, "  Set: {k}={v}");
        }
    }

    let _ = writeln!(o, "\nSystem calls");
    match (&s.profile, s.preset.unwrap_or(SeccompPreset::Default)) {
        (Some(path), _) => {
            let _ = writeln!(o, "  The OCI seccomp profile {path}, exactly.");
        }
        (None, SeccompPreset::Unconfined) => {
            let _ = writeln!(o, "  No seccomp filter.");
        }
        (None, SeccompPreset::Default) => {
            let _ = writeln!(
                o,
                "  The default profile (close to podman's for a container without capabilities): kernel modules, reboot, swap, clock setting, kexec, bpf, perf... are denied; mount, unshare and setns are allowed by the filter but need capabilities the process does not have (user namespaces excepted)."
            );
        }
        (None, SeccompPreset::Strict) => {
            let _ = writeln!(o, "  The strict profile: the default one without:");
            for (name, why) in crate::spec::seccomp_presets::strict_removed() {
                let _ = writeln!(o, "    {name}: {why}");
            }
        }
    }
    let deny = match s.action {
        Some(super::model::DenyAction::Kill) => "kill the process".to_string(),
        _ => format!("fail with {}", s.errno.as_deref().unwrap_or("EPERM")),
    };
    let _ = writeln!(o, "  Denied calls {deny}.");
    // Which rules need a filter of their own (no exact form beside the
    // profile's allow rules); unknown with a profile file, read elsewhere.
    let stacked: Vec<String> = match &s.profile {
        None => crate::spec::build::policy_seccomp(&s, None, mode)
            .map(|(_, st)| st.into_iter().flat_map(|r| r.names).collect())
            .unwrap_or_default(),
        Some(_) => vec![],
    };
    for r in s.rules.iter().flatten() {
        let args: Vec<String> = r
            .args
            .iter()
            .map(|a| format!("arg{} {:?} {}", a.index, a.op, a.value))
            .collect();
        let _ = writeln!(
            o,
            "  Rule: {:?} {}{}{}",
            r.action,
            r.syscalls.join(","),
            if args.is_empty() {
                String::new()
            } else {
                format!(" when {}", args.join(" and "))
            },
            r.why
                .as_ref()
                .map(|w| format!("  ({w})"))
                .unwrap_or_default()
        );
        let own: Vec<&str> = r
            .syscalls
            .iter()
            .filter(|n| stacked.contains(n))
            .map(String::as_str)
            .collect();
        if !own.is_empty() {
            let _ = writeln!(
                o,
                "    for {}: a filter of its own, stacked on the profile (no exact form beside its allow rules)",
                own.join(",")
            );
        }
    }

    if let Some(l) = &p.landlock {
        let _ = writeln!(
            o,
            "\nLandlock (kernel path rules, applied just before the command starts)"
        );
        for (name, list) in [
            ("read only beneath", &l.read),
            ("write only beneath", &l.write),
            ("execute only", &l.exec),
            ("create files only beneath", &l.create),
            ("remove files only beneath", &l.remove),
        ] {
            rules(&mut o, name, list);
        }
    }

    let l = p.limits.clone().unwrap_or_default();
    let _ = writeln!(o, "\nLimits");
    let mut any = false;
    let mut line = |s: String| {
        any = true;
        let _ = writeln!(o, "  {s}");
    };
    if let Some(m) = l.memory {
        line(format!(
            "memory {m} (memory+swap {}): the OOM killer ends it (exit 137)",
            l.memory_swap.unwrap_or(m)
        ));
    }
    if let Some(c) = l.cpus {
        line(format!("CPU quota {c} CPUs"));
    }
    if let Some(s) = l.cpu_shares {
        line(format!("CPU shares {s}"));
    }
    if let Some(pids) = l.pids {
        line(format!("{pids} processes/threads (fork fails beyond)"));
    }
    if let Some(w) = l.io_weight {
        line(format!("IO weight {w}"));
    }
    for io in l.io.iter().flatten() {
        line(format!(
            "IO on {}: read {:?} write {:?}",
            io.device,
            io.read_bps.map(|s| s.to_string()),
            io.write_bps.map(|s| s.to_string())
        ));
    }
    if let Some(n) = l.open_files {
        line(format!("{n} open files (EMFILE beyond)"));
    }
    if let Some(s) = l.file_size {
        line(format!("files up to {s} (SIGXFSZ/EFBIG beyond)"));
    }
    if let Some(t) = l.cpu_time {
        line(format!("{t} of CPU time (SIGXCPU, then SIGKILL)"));
    }
    if l.core_dumps != Some(true) {
        line("no core dumps".into());
    }
    if let Some(t) = l.timeout {
        line(format!("wall clock {t} (killed, exit 124)"));
    }
    if let Some(s) = l.output {
        line(format!("{s} of output (killed beyond)"));
    }
    if !any {
        let _ = writeln!(o, "  none");
    }

    let d = p.degrade.clone().unwrap_or_default();
    let warn: Vec<&str> = [
        ("landlock", d.landlock),
        ("seccomp", d.seccomp),
        ("memory_swap", d.memory_swap),
        ("io", d.io),
        ("cgroup_namespace", d.cgroup_namespace),
        ("user_namespace", d.user_namespace),
    ]
    .into_iter()
    .filter(|(_, m)| *m == Some(DegradeMode::Warn))
    .map(|(n, _)| n)
    .collect();
    let _ = writeln!(o, "\nWhen the kernel cannot enforce something");
    if warn.is_empty() {
        let _ = writeln!(o, "  cagebox refuses to run.");
    } else {
        let _ = writeln!(
            o,
            "  cagebox runs without it and says so for: {}; refuses for everything else.",
            warn.join(", ")
        );
    }
    if !p.widen.is_empty() {
        let _ = writeln!(o, "\nWidened on purpose");
        for (k, why) in &p.widen {
            let _ = writeln!(o, "  {k}: {why}");
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(o, "\nSettings that had no effect");
        for n in notes {
            let _ = writeln!(o, "  {n}");
        }
    }
    o
}
