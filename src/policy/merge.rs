//! Layer merging: the strictest value wins, unless the later layer lists the
//! key in its `[widen]` table with a reason. Every ignored widening becomes a
//! note, so a user sees why their setting had no effect.
//!
//! What "stricter" means, per kind of field:
//! - limits: the smaller number (absent = unlimited);
//! - protections (private_tmp, namespaces, no_new_privileges...): `true`;
//! - orders: network none < loopback < host; seccomp strict > default >
//!   unconfined; degrade fail > warn; kill > errno;
//! - deny lists (hidden, read_only, no_exec, env.scrub, seccomp deny rules):
//!   the union (a layer can only add);
//! - grant lists (read_write, capabilities, ambient, env.pass, Landlock
//!   lists): entries new in a later layer need a widen; for Landlock lists,
//!   absent means unrestricted, so a first list is a tightening.
//! - neutral (cwd, env.set, uid maps, filesystem.root): the later layer's.

use serde::Serialize;
use std::collections::BTreeMap;

use super::model::*;

/// Every key a `[widen]` table may name.
pub const WIDEN_KEYS: &[&str] = &[
    "filesystem.read_write",
    "filesystem.private_tmp",
    "filesystem.minimal_dev",
    "filesystem.mask_proc",
    "network.mode",
    "namespaces.pid",
    "namespaces.net",
    "namespaces.mount",
    "namespaces.uts",
    "namespaces.ipc",
    "namespaces.cgroup",
    "namespaces.user",
    "process.uid",
    "process.gid",
    "process.capabilities",
    "process.ambient",
    "process.no_new_privileges",
    "process.env.pass",
    "seccomp.preset",
    "seccomp.profile",
    "seccomp.action",
    "seccomp.block_network",
    "seccomp.rules",
    "landlock.read",
    "landlock.write",
    "landlock.exec",
    "landlock.create",
    "landlock.remove",
    "limits.memory",
    "limits.memory_swap",
    "limits.cpus",
    "limits.cpu_shares",
    "limits.pids",
    "limits.io_weight",
    "limits.open_files",
    "limits.file_size",
    "limits.cpu_time",
    "limits.core_dumps",
    "limits.timeout",
    "limits.output",
    "degrade.landlock",
    "degrade.seccomp",
    "degrade.memory_swap",
    "degrade.io",
    "degrade.cgroup_namespace",
    "degrade.user_namespace",
];

/// Values in notes, spelled as in the policy file (JSON/TOML form).
trait Show {
    fn show(&self) -> String;
}

impl<T: Serialize + ?Sized> Show for T {
    fn show(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "?".into())
    }
}

struct Merger<'a> {
    source: &'a str,
    widen: &'a BTreeMap<String, String>,
    notes: Vec<String>,
}

impl Merger<'_> {
    fn may_widen(&self, key: &str) -> bool {
        self.widen
            .get(key)
            .is_some_and(|why| !why.trim().is_empty())
    }

    fn ignored(&mut self, key: &str, wanted: &dyn Show, kept: &dyn Show) {
        let (wanted, kept) = (wanted.show(), kept.show());
        self.notes.push(format!(
            "{}: {key} = {wanted} ignored: less strict than {kept} from an earlier layer \
             (to allow it, add \"{key}\" = \"<why>\" to the [widen] table)",
            self.source
        ));
    }

    /// `strict` is the protective value of a boolean.
    fn flag(
        &mut self,
        key: &str,
        base: Option<bool>,
        over: Option<bool>,
        strict: bool,
    ) -> Option<bool> {
        match (base, over) {
            (Some(b), Some(o)) if b == strict && o != strict && !self.may_widen(key) => {
                self.ignored(key, &o, &b);
                Some(b)
            }
            (b, o) => o.or(b),
        }
    }

    /// Smaller is stricter; absent means unlimited.
    fn min<T: PartialOrd + Serialize + Copy>(
        &mut self,
        key: &str,
        base: Option<T>,
        over: Option<T>,
    ) -> Option<T> {
        match (base, over) {
            (Some(b), Some(o)) if o > b && !self.may_widen(key) => {
                self.ignored(key, &o, &b);
                Some(b)
            }
            (Some(b), None) => Some(b),
            (_, o) => o,
        }
    }

    /// Larger is stricter (orders where the strict end is the greatest).
    fn max<T: Ord + Serialize + Copy>(
        &mut self,
        key: &str,
        base: Option<T>,
        over: Option<T>,
    ) -> Option<T> {
        match (base, over) {
            (Some(b), Some(o)) if o < b && !self.may_widen(key) => {
                self.ignored(key, &o, &b);
                Some(b)
            }
            (b, o) => o.or(b),
        }
    }

    /// Grant lists: new entries need a widen. `absent_unrestricted` is true
    /// for allowlists where no list at all means "anything".
    fn grant<T: PartialEq + Clone + Serialize>(
        &mut self,
        key: &str,
        base: Option<Vec<T>>,
        over: Option<Vec<T>>,
        absent_unrestricted: bool,
    ) -> Option<Vec<T>> {
        let Some(over) = over else { return base };
        let Some(mut out) = base else {
            if absent_unrestricted {
                return Some(over);
            }
            return self.grant(key, Some(Vec::new()), Some(over), false);
        };
        let widen = self.may_widen(key);
        for item in over {
            if out.contains(&item) {
                continue;
            }
            if widen {
                out.push(item);
            } else {
                self.ignored(key, &item, &"the earlier list");
            }
        }
        Some(out)
    }
}

/// Deny lists only grow.
fn union<T: PartialEq>(base: Option<Vec<T>>, over: Option<Vec<T>>) -> Option<Vec<T>> {
    match (base, over) {
        (Some(mut b), Some(o)) => {
            for item in o {
                if !b.contains(&item) {
                    b.push(item);
                }
            }
            Some(b)
        }
        (b, o) => o.or(b),
    }
}

/// Merges `over` (read from `source`) onto `base`. Returns the merged layer
/// and the notes about ignored widenings.
pub fn merge(base: &Layer, over: &Layer, source: &str) -> (Layer, Vec<String>) {
    let mut m = Merger {
        source,
        widen: &over.widen,
        notes: Vec::new(),
    };
    let mut packages = base.packages.clone();
    packages.extend(over.packages.clone());
    let mut widen = base.widen.clone();
    widen.extend(over.widen.clone());
    let network = section(&base.network, &over.network, |b, o| Network {
        mode: m.min("network.mode", b.mode.or(Some(NetworkMode::None)), o.mode),
        allow: o.allow.or(b.allow),
    });
    // Absent, block_network and namespaces.net follow the merged network
    // mode; turning them off against that mode is a widening.
    let mode = network
        .as_ref()
        .and_then(|n| n.mode)
        .unwrap_or(NetworkMode::None);
    let out = Layer {
        version: over.version.or(base.version),
        extends: base.extends.clone().or(over.extends.clone()),
        widen,
        filesystem: section(&base.filesystem, &over.filesystem, |b, o| {
            filesystem(&mut m, b, o)
        }),
        network,
        namespaces: section(&base.namespaces, &over.namespaces, |b, o| {
            namespaces(&mut m, b, o, mode)
        }),
        process: section(&base.process, &over.process, |b, o| process(&mut m, b, o)),
        seccomp: section(&base.seccomp, &over.seccomp, |b, o| {
            seccomp(&mut m, b, o, mode)
        }),
        landlock: section(&base.landlock, &over.landlock, |b, o| Landlock {
            read: m.grant("landlock.read", b.read, o.read, true),
            write: m.grant("landlock.write", b.write, o.write, true),
            exec: m.grant("landlock.exec", b.exec, o.exec, true),
            create: m.grant("landlock.create", b.create, o.create, true),
            remove: m.grant("landlock.remove", b.remove, o.remove, true),
        }),
        limits: section(&base.limits, &over.limits, |b, o| limits(&mut m, b, o)),
        degrade: section(&base.degrade, &over.degrade, |b, o| Degrade {
            landlock: m.min(
                "degrade.landlock",
                b.landlock.or(Some(DegradeMode::Fail)),
                o.landlock,
            ),
            seccomp: m.min(
                "degrade.seccomp",
                b.seccomp.or(Some(DegradeMode::Fail)),
                o.seccomp,
            ),
            memory_swap: m.min(
                "degrade.memory_swap",
                b.memory_swap.or(Some(DegradeMode::Fail)),
                o.memory_swap,
            ),
            io: m.min("degrade.io", b.io.or(Some(DegradeMode::Fail)), o.io),
            cgroup_namespace: m.min(
                "degrade.cgroup_namespace",
                b.cgroup_namespace.or(Some(DegradeMode::Fail)),
                o.cgroup_namespace,
            ),
            user_namespace: m.min(
                "degrade.user_namespace",
                b.user_namespace.or(Some(DegradeMode::Fail)),
                o.user_namespace,
            ),
        }),
        packages,
    };
    (out, m.notes)
}

fn section<T: Clone + Default>(
    base: &Option<T>,
    over: &Option<T>,
    f: impl FnOnce(T, T) -> T,
) -> Option<T> {
    match (base, over) {
        (None, None) => None,
        (b, o) => Some(f(
            b.clone().unwrap_or_default(),
            o.clone().unwrap_or_default(),
        )),
    }
}

fn filesystem(m: &mut Merger, b: Filesystem, o: Filesystem) -> Filesystem {
    Filesystem {
        root: o.root.or(b.root),
        read_only: union(b.read_only, o.read_only),
        read_write: m.grant("filesystem.read_write", b.read_write, o.read_write, false),
        hidden: union(b.hidden, o.hidden),
        no_exec: union(b.no_exec, o.no_exec),
        private_tmp: m.flag(
            "filesystem.private_tmp",
            b.private_tmp.or(Some(true)),
            o.private_tmp,
            true,
        ),
        minimal_dev: m.flag(
            "filesystem.minimal_dev",
            b.minimal_dev.or(Some(true)),
            o.minimal_dev,
            true,
        ),
        mask_proc: m.flag(
            "filesystem.mask_proc",
            b.mask_proc.or(Some(true)),
            o.mask_proc,
            true,
        ),
    }
}

fn namespaces(m: &mut Merger, b: Namespaces, o: Namespaces, mode: NetworkMode) -> Namespaces {
    Namespaces {
        pid: m.flag("namespaces.pid", b.pid.or(Some(true)), o.pid, true),
        net: m
            .flag(
                "namespaces.net",
                b.net.or((mode != NetworkMode::Host).then_some(true)),
                o.net,
                true,
            )
            // Absent stays absent (the mode decides), unless a layer set it.
            .filter(|_| b.net.is_some() || o.net.is_some()),
        mount: m.flag("namespaces.mount", b.mount.or(Some(true)), o.mount, true),
        uts: m.flag("namespaces.uts", b.uts.or(Some(true)), o.uts, true),
        ipc: m.flag("namespaces.ipc", b.ipc.or(Some(true)), o.ipc, true),
        cgroup: m.flag("namespaces.cgroup", b.cgroup.or(Some(true)), o.cgroup, true),
        user: m.flag("namespaces.user", b.user, o.user, true),
        uid_map: o.uid_map.or(b.uid_map),
        gid_map: o.gid_map.or(b.gid_map),
    }
}

fn process(m: &mut Merger, b: Process, o: Process) -> Process {
    // Becoming root is a widening; any other identity change is neutral.
    let id = |m: &mut Merger, key: &str, b: Option<u32>, o: Option<u32>| match (b, o) {
        // Absent means "the calling user", who is not assumed to be root.
        (b, Some(0)) if b != Some(0) && !m.may_widen(key) => {
            m.ignored(
                key,
                &0,
                &b.map_or("the calling user".to_string(), |b| b.to_string()),
            );
            b
        }
        (b, o) => o.or(b),
    };
    let env = match (b.env, o.env) {
        (None, None) => None,
        (be, oe) => {
            let (be, oe) = (be.unwrap_or_default(), oe.unwrap_or_default());
            let set = match (be.set, oe.set) {
                (Some(mut s), Some(o)) => {
                    s.extend(o);
                    Some(s)
                }
                (s, o) => o.or(s),
            };
            Some(Env {
                pass: m.grant("process.env.pass", be.pass, oe.pass, false),
                set,
                scrub: union(be.scrub, oe.scrub),
            })
        }
    };
    Process {
        uid: id(m, "process.uid", b.uid, o.uid),
        gid: id(m, "process.gid", b.gid, o.gid),
        capabilities: m.grant(
            "process.capabilities",
            b.capabilities,
            o.capabilities,
            false,
        ),
        ambient: m.grant("process.ambient", b.ambient, o.ambient, false),
        no_new_privileges: m.flag(
            "process.no_new_privileges",
            b.no_new_privileges.or(Some(true)),
            o.no_new_privileges,
            true,
        ),
        cwd: o.cwd.or(b.cwd),
        env,
    }
}

fn seccomp(m: &mut Merger, b: Seccomp, o: Seccomp, mode: NetworkMode) -> Seccomp {
    // A custom profile replaces the preset: that can allow anything.
    let profile = match (&b.profile, o.profile) {
        (_, None) => b.profile.clone(),
        (_, Some(p))
            if b.preset == Some(SeccompPreset::Unconfined) || m.may_widen("seccomp.profile") =>
        {
            Some(p)
        }
        (_, Some(p)) => {
            m.ignored(
                "seccomp.profile",
                &p,
                &b.profile.as_deref().unwrap_or("the preset"),
            );
            b.profile.clone()
        }
    };
    // Deny rules only narrow; allow and log rules can open what the base denies.
    let mut rules = b.rules.unwrap_or_default();
    for r in o.rules.unwrap_or_default() {
        let opens = matches!(r.action, RuleAction::Allow | RuleAction::Log);
        if opens && !m.may_widen("seccomp.rules") {
            m.ignored("seccomp.rules", &r.syscalls, &"the earlier profile");
        } else if !rules.contains(&r) {
            rules.push(r);
        }
    }
    Seccomp {
        preset: m.max(
            "seccomp.preset",
            b.preset.or(Some(SeccompPreset::Default)),
            o.preset,
        ),
        profile,
        action: m.max(
            "seccomp.action",
            b.action.or(Some(DenyAction::Errno)),
            o.action,
        ),
        errno: o.errno.or(b.errno),
        block_network: m
            .flag(
                "seccomp.block_network",
                b.block_network
                    .or((mode == NetworkMode::None).then_some(true)),
                o.block_network,
                true,
            )
            .filter(|_| b.block_network.is_some() || o.block_network.is_some()),
        rules: (!rules.is_empty()).then_some(rules),
    }
}

fn limits(m: &mut Merger, b: Limits, o: Limits) -> Limits {
    Limits {
        memory: m.min("limits.memory", b.memory, o.memory),
        // A layer that sets memory alone means no swap beyond it.
        memory_swap: m.min(
            "limits.memory_swap",
            b.memory_swap,
            o.memory_swap.or(o.memory),
        ),
        cpus: m.min("limits.cpus", b.cpus, o.cpus),
        cpu_shares: m.min("limits.cpu_shares", b.cpu_shares, o.cpu_shares),
        pids: m.min("limits.pids", b.pids, o.pids),
        io_weight: m.min("limits.io_weight", b.io_weight, o.io_weight),
        io: union(b.io, o.io),
        open_files: m.min("limits.open_files", b.open_files, o.open_files),
        file_size: m.min("limits.file_size", b.file_size, o.file_size),
        cpu_time: m.min("limits.cpu_time", b.cpu_time, o.cpu_time),
        core_dumps: m.flag(
            "limits.core_dumps",
            b.core_dumps.or(Some(false)),
            o.core_dumps,
            false,
        ),
        timeout: m.min("limits.timeout", b.timeout, o.timeout),
        output: m.min("limits.output", b.output, o.output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::units::Size;

    fn layer(toml_text: &str) -> Layer {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn strictest_limit_wins_without_widen() {
        let base = layer("[limits]\nmemory = \"1G\"\npids = 100");
        let over = layer("[limits]\nmemory = \"4G\"\npids = 50");
        let (out, notes) = merge(&base, &over, "cagebox.toml");
        let l = out.limits.unwrap();
        assert_eq!(l.memory, Some(Size(1 << 30)));
        assert_eq!(l.pids, Some(50));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("limits.memory"), "{}", notes[0]);
    }

    #[test]
    fn widen_with_reason_is_honoured() {
        let base = layer("[limits]\nmemory = \"1G\"\n[network]\nmode = \"none\"");
        let over = layer(
            "[widen]\n\"limits.memory\" = \"sharp builds\"\n\"network.mode\" = \"fetch\"\n\
             [limits]\nmemory = \"4G\"\n[network]\nmode = \"host\"",
        );
        let (out, notes) = merge(&base, &over, "p");
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(out.limits.unwrap().memory, Some(Size(4 << 30)));
        assert_eq!(out.network.unwrap().mode, Some(NetworkMode::Host));
    }

    #[test]
    fn empty_reason_does_not_widen() {
        let base = layer("[network]\nmode = \"none\"");
        let over = layer("[widen]\n\"network.mode\" = \" \"\n[network]\nmode = \"host\"");
        let (out, notes) = merge(&base, &over, "p");
        assert_eq!(out.network.unwrap().mode, Some(NetworkMode::None));
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn deny_lists_grow_and_grants_need_widen() {
        let base = layer("[filesystem]\nhidden = [\"/a\"]\nread_write = [\"{project}\"]");
        let over = layer("[filesystem]\nhidden = [\"/b\"]\nread_write = [\"/etc\"]");
        let (out, notes) = merge(&base, &over, "p");
        let fs = out.filesystem.unwrap();
        assert_eq!(fs.hidden.unwrap().len(), 2);
        assert_eq!(fs.read_write.unwrap(), vec![PathRule::new("{project}")]);
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn first_landlock_list_tightens() {
        let base = layer("");
        let over = layer("[landlock]\nexec = [\"/usr/bin\"]");
        let (out, notes) = merge(&base, &over, "p");
        assert!(notes.is_empty());
        assert_eq!(out.landlock.unwrap().exec.unwrap().len(), 1);
    }

    #[test]
    fn protections_stay_on() {
        let base = layer("[process]\nno_new_privileges = true\nuid = 1000");
        let over = layer("[process]\nno_new_privileges = false\nuid = 0");
        let (out, notes) = merge(&base, &over, "p");
        let p = out.process.unwrap();
        assert_eq!(p.no_new_privileges, Some(true));
        assert_eq!(p.uid, Some(1000));
        assert_eq!(notes.len(), 2);
    }

    #[test]
    fn seccomp_allow_rules_need_widen_deny_rules_do_not() {
        let base = layer("[seccomp]\npreset = \"strict\"");
        let over = layer(
            "[seccomp]\npreset = \"default\"\n\
             [[seccomp.rules]]\nsyscalls = [\"ptrace\"]\naction = \"allow\"\n\
             [[seccomp.rules]]\nsyscalls = [\"chmod\"]\naction = \"errno\"",
        );
        let (out, notes) = merge(&base, &over, "p");
        let s = out.seccomp.unwrap();
        assert_eq!(s.preset, Some(SeccompPreset::Strict));
        assert_eq!(s.rules.unwrap().len(), 1);
        assert_eq!(notes.len(), 2);
    }
}
