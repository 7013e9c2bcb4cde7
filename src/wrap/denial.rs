//! What a denied script attempted, read from the end of its stderr, and the
//! rule that denied it: the kernel only returns an errno, so the evidence is
//! the error message the script printed ("sh: can't create /x: Read-only
//! file system", node's "EACCES: permission denied, open '/x'"). The rule is
//! then asked of the policy (`check_filesystem_access`), so the answer is
//! the one the sandbox enforced, not a guess.

use std::path::Path;

use super::record::Denial;
use crate::policy::Layer;
use crate::policy::check::{Access, check_filesystem_access, check_network_access};
use crate::spec::build::Context;

/// At most this many denials per script (one per distinct line).
const MAX_DENIALS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    ReadOnly,
    Permission,
    Missing,
    Network,
    /// A name lookup that failed: without the host's network no name
    /// server is reachable (npm's `getaddrinfo EAI_AGAIN registry.npmjs.org`).
    Resolve,
    Fork,
    Ptrace,
}

fn kind_of(line: &str) -> Option<Kind> {
    let l = line.to_ascii_lowercase();
    let net = [
        "connect",
        "socket",
        "econnrefused",
        "enetunreach",
        "getaddrinfo",
        "eai_again",
    ];
    if l.contains("ptrace") && (l.contains("not permitted") || l.contains("eperm")) {
        return Some(Kind::Ptrace);
    }
    if l.contains("eai_again")
        || l.contains("temporary failure in name resolution")
        || l.contains("could not resolve host")
    {
        return Some(Kind::Resolve);
    }
    if l.contains("network is unreachable")
        || l.contains("enetunreach")
        || l.contains("address family not supported")
        || ((l.contains("operation not permitted") || l.contains("eperm"))
            && net.iter().any(|n| l.contains(n)))
        || (l.contains("connection refused") || l.contains("econnrefused"))
    {
        return Some(Kind::Network);
    }
    if l.contains("read-only file system") || l.contains("erofs") {
        return Some(Kind::ReadOnly);
    }
    if l.contains("resource temporarily unavailable") && l.contains("fork")
        || l.contains("can't fork")
        || l.contains("cannot fork")
    {
        return Some(Kind::Fork);
    }
    if l.contains("permission denied") || l.contains("eacces") {
        return Some(Kind::Permission);
    }
    if l.contains("no such file or directory") || l.contains("enoent") {
        return Some(Kind::Missing);
    }
    None
}

/// The path a message is about: its first absolute path, without quotes and
/// trailing punctuation, unless that is the program's name in front of the
/// message (`/bin/sh: can't create /x: Read-only file system`, as a shell
/// run by its full path prints it) and another path follows.
fn path_in(line: &str) -> Option<String> {
    // coreutils quotes with ‘…’ in UTF-8 locales, node with '…'.
    let mut paths = line
        .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '‘' | '’' | '“' | '”'))
        .filter(|w| w.starts_with('/') && w.len() > 1);
    let first = paths.next()?;
    let target = match paths.next() {
        Some(next) if first.ends_with(':') => next,
        _ => first,
    };
    Some(
        target
            .trim_end_matches([':', ',', ')', '.', ';'])
            .to_string(),
    )
}

/// The name a failed lookup was for: the word after `EAI_AGAIN` (node,
/// npm), after `resolve host:` (curl), else none.
fn host_in(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| {
            let a = w[0].to_ascii_lowercase();
            a.ends_with("eai_again") || a == "host:"
        })
        .map(|w| {
            w[1].trim_matches(['\'', '"', ',', ':', ';', '.'])
                .to_string()
        })
        .filter(|h| !h.is_empty())
}

/// Where a per-package setting goes in cagebox.toml.
fn table(package: &str) -> String {
    format!("[packages.{package:?}]")
}

/// The `[widen]` line a grant needs, in the package's own table.
fn widen_of(package: &str, key: &str) -> String {
    format!(" plus [packages.{package:?}.widen] {key:?} = \"<why>\"")
}

pub(crate) fn widen_hint(package: &str, key: &str) -> String {
    widen_of(package, key)
}

fn fs_denial(
    policy: &Layer,
    ctx: &Context,
    package: &str,
    line: &str,
    path: Option<String>,
    access: Access,
) -> Option<Denial> {
    let p = path?;
    let decision = check_filesystem_access(policy, ctx, Path::new(&p), access).ok()?;
    // An allowed path failed for another reason (a missing file, a real
    // permission bit): not the sandbox's doing.
    if decision.allowed {
        return None;
    }
    let (name, key) = match access {
        Access::Read => ("read", "filesystem.read_only"),
        Access::Write => ("write", "filesystem.read_write"),
        Access::Exec => ("exec", "filesystem.read_only"),
    };
    // read_only is not a grant (no widen needed); read_write is.
    let widen = if access == Access::Write {
        widen_of(package, key)
    } else {
        String::new()
    };
    Some(Denial {
        evidence: line.trim().chars().take(300).collect(),
        path: Some(p.clone()),
        access: name.into(),
        rule: decision.rule,
        allow: format!("in cagebox.toml, {} {key} = [{p:?}]{widen}", table(package)),
    })
}

/// The denials visible in `stderr` for a script of `package` run under `policy`.
pub fn find(policy: &Layer, ctx: &Context, package: &str, stderr: &[u8]) -> Vec<Denial> {
    let text = String::from_utf8_lossy(stderr);
    let mut out: Vec<Denial> = vec![];
    for line in text.lines() {
        if out.len() >= MAX_DENIALS {
            break;
        }
        let Some(kind) = kind_of(line) else { continue };
        let evidence: String = line.trim().chars().take(300).collect();
        let d = match kind {
            Kind::ReadOnly => fs_denial(policy, ctx, package, line, path_in(line), Access::Write),
            Kind::Permission | Kind::Missing => {
                // A hidden path reads as missing or unreadable; a write to a
                // read-only path can read as EACCES under Landlock.
                let p = path_in(line);
                fs_denial(policy, ctx, package, line, p.clone(), Access::Read)
                    .or_else(|| fs_denial(policy, ctx, package, line, p, Access::Write))
            }
            Kind::Network => {
                let d = check_network_access(policy, "127.0.0.1", 0);
                (!d.allowed).then(|| Denial {
                    evidence,
                    path: None,
                    access: "connect".into(),
                    rule: d.rule,
                    allow: format!(
                        "in cagebox.toml, {} network.mode = \"loopback\" (or \"host\"){}",
                        table(package),
                        widen_of(package, "network.mode")
                    ),
                })
            }
            Kind::Resolve => {
                let host = host_in(line);
                let d =
                    check_network_access(policy, host.as_deref().unwrap_or("a name server"), 53);
                (!d.allowed).then(|| Denial {
                    evidence,
                    path: None,
                    access: "resolve".into(),
                    rule: d.rule,
                    allow: format!(
                        "in cagebox.toml, {} network.mode = \"host\"{} (or fetch it on the host, before the install)",
                        table(package),
                        widen_of(package, "network.mode")
                    ),
                })
            }
            Kind::Fork => Some(Denial {
                evidence,
                path: None,
                access: "fork".into(),
                rule: format!(
                    "limits.pids = {}",
                    policy
                        .limits
                        .as_ref()
                        .and_then(|l| l.pids)
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "(unset)".into())
                ),
                allow: format!(
                    "in cagebox.toml, {} limits.pids = <more>{}",
                    table(package),
                    widen_of(package, "limits.pids")
                ),
            }),
            Kind::Ptrace => Some(Denial {
                evidence,
                path: None,
                access: "ptrace".into(),
                rule: "namespaces.pid = true and process.capabilities = [] (no SYS_PTRACE)".into(),
                allow: "not allowed for package scripts".into(),
            }),
        };
        if let Some(d) = d
            && !out.iter().any(|o| o.evidence == d.evidence)
        {
            out.push(d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_messages() {
        assert_eq!(
            path_in("sh: can't create /root/.bashrc: Read-only file system").as_deref(),
            Some("/root/.bashrc")
        );
        assert_eq!(
            path_in("Error: EROFS: read-only file system, open '/var/tmp/x/marker'").as_deref(),
            Some("/var/tmp/x/marker")
        );
        assert_eq!(
            path_in("mkdir: cannot create directory ‘/var/tmp/o/m’: Read-only file system")
                .as_deref(),
            Some("/var/tmp/o/m")
        );
        // The program's name in front, then the path the message is about.
        assert_eq!(
            path_in("/bin/sh: can't create /var/tmp/o/marker: Read-only file system").as_deref(),
            Some("/var/tmp/o/marker")
        );
        assert_eq!(
            path_in("npm error /bin/sh: 1: cannot create /root/x: Read-only file system")
                .as_deref(),
            Some("/root/x")
        );
        // Only a program name: nothing else to name.
        assert_eq!(
            path_in("/bin/sh: can't fork: Resource temporarily unavailable").as_deref(),
            Some("/bin/sh")
        );
        assert_eq!(path_in("no path here"), None);
    }

    struct NoHost;
    impl crate::spec::build::HostView for NoHost {
        fn kind(&self, _: &Path) -> Option<crate::spec::build::PathKind> {
            None
        }
        fn top_level(&self) -> Vec<(String, crate::spec::build::PathKind)> {
            vec![]
        }
        fn link(&self, _: &Path) -> Option<std::path::PathBuf> {
            None
        }
    }

    fn with_network(mode: crate::policy::model::NetworkMode) -> Layer {
        Layer {
            network: Some(crate::policy::model::Network {
                mode: Some(mode),
                allow: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn failed_lookups_are_denials_only_without_the_host_network() {
        use crate::policy::model::NetworkMode;
        let ctx = Context {
            project: "/p".into(),
            package: "/p".into(),
            home: "/h".into(),
            uid: 0,
            gid: 0,
            env: vec![],
            args: vec![],
            terminal: false,
            rootfs: "/r".into(),
            nofile_hard: 1024,
            seccomp_profile: None,
            host: &NoHost,
        };
        let err = b"npm error request to https://registry.npmjs.org/@esbuild%2flinux-x64 failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org\n";
        for (mode, rule) in [
            (NetworkMode::None, "network.mode = \"none\""),
            (NetworkMode::Loopback, "network.mode = \"loopback\""),
        ] {
            let d = find(&with_network(mode), &ctx, "esbuild", err);
            assert_eq!(d.len(), 1, "{mode:?}: {d:?}");
            assert_eq!(d[0].access, "resolve");
            assert_eq!(d[0].rule, rule);
            assert!(
                d[0].allow.contains("network.mode = \"host\""),
                "{}",
                d[0].allow
            );
            assert!(d[0].evidence.contains("EAI_AGAIN registry.npmjs.org"));
        }
        // With the host's network the failure is the resolver's, not ours.
        assert!(find(&with_network(NetworkMode::Host), &ctx, "esbuild", err).is_empty());
    }

    #[test]
    fn hosts_from_messages() {
        assert_eq!(
            host_in("Error: getaddrinfo EAI_AGAIN registry.npmjs.org").as_deref(),
            Some("registry.npmjs.org")
        );
        assert_eq!(
            host_in("curl: (6) Could not resolve host: example.com").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_in("getaddrinfo EAI_AGAIN"), None);
    }

    #[test]
    fn kinds() {
        assert_eq!(
            kind_of("touch: /x: Read-only file system"),
            Some(Kind::ReadOnly)
        );
        assert_eq!(
            kind_of("Error: connect EPERM 127.0.0.1:4000"),
            Some(Kind::Network)
        );
        assert_eq!(
            kind_of("nc: socket: Operation not permitted"),
            Some(Kind::Network)
        );
        assert_eq!(
            kind_of("sh: can't fork: Resource temporarily unavailable"),
            Some(Kind::Fork)
        );
        assert_eq!(
            kind_of("cat: can't open '/home/u/.ssh/id_rsa': No such file or directory"),
            Some(Kind::Missing)
        );
        assert_eq!(
            kind_of(
                "npm error request to https://registry.npmjs.org/x failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org"
            ),
            Some(Kind::Resolve)
        );
        assert_eq!(
            kind_of("curl: (6) Could not resolve host: example.com"),
            Some(Kind::Resolve)
        );
        assert_eq!(kind_of("all fine"), None);
    }
}
